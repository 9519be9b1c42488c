/* What the files of a merge share (private to them): the plan and its
 * journal (journal.c), the undo (undo.c; of databases, undo-db.c), the
 * last steps of a done merge and recovery (recover.c), planning and
 * applying (merge.c), and the operations of world.h (api-merge.c). */
#ifndef PWAPT_MERGE_INTERNAL_H
#define PWAPT_MERGE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "dbmerge.h"
#include "diff.h"
#include "merge.h"

/* OP_MRG: a package database that both sides changed, put from the
 * merged copy in STATE/merge/staged/N (see dbmerge.h). */
enum op_kind { OP_DEL, OP_PUT, OP_DIR, OP_MRG };
enum had { HAD_NONE, HAD_DIR, HAD_FILE };

struct op {
	enum op_kind kind;
	enum had had; /* what DST held at the path before the merge */
	char *path;   /* absolute, world-relative */
	/* DST changed the path after SRC was created (a conflict, forced,
	 * or a package database merged): a roll-back restores DST's own
	 * change, whose ctime SRC must not take for its own. */
	bool dst_changed;
	/* DST's file at the plan (not journaled; a directory's number may
	 * change in overlayfs, where it is the overlay's own) */
	ino_t ino;
};

struct plan {
	char *src, *dst;
	struct op *v;
	size_t n;
	int phase;	/* 0 planned, 1 prepared, 2 done */
	bool rollback;	/* a done merge being undone (pwapt rollback) */
	bool rebase;	/* worlds built on SRC move onto DST */
	uint64_t id;	/* the merge's number (0: journaled before ids) */
	char **rebased; /* the worlds built on SRC that move: NULL or
			   NULL-terminated */
	size_t applied; /* operations that may have changed DST */
};

/* journal.c */
void journal_plan_release(struct plan *p);
/* Appends TEXT (whole lines) to DIRFD/journal, durably, having cut off a
 * last line that a crash tore (see journal_read). */
int journal_append(int dirfd, const char *text);
/* Writes P as DIRFD/journal, atomically, in phase "planned". */
int journal_write(int dirfd, const struct plan *p);
/* Reads DIRFD/journal into *P (released with plan_release), whatever its
 * size.  -ENOENT: no journal; -EBADMSG: damaged (no header, a line of
 * the plan missing, repeated or malformed, no end of the plan); *P is
 * untouched on failure.  A last line without its newline is an append
 * that a crash cut: ignored (the phase before it holds). */
int journal_read(int dirfd, struct plan *p);
/* The directory that holds PATH, beneath TREE; *base gets its last name. */
int journal_open_parent(int tree, const char *path, const char **base);

/* undo-db.c */
/* For each package or account database of P that DST changed since the
 * merge wrote it: DST's file with the merge's records undone
 * (dbmerge_undo()), in a memfd at *OUT[k], an array of P->n fds (-1 for
 * every other operation; undo_databases_release() it).  Reads DST only. */
int undo_databases(int mdir, int tree, const struct plan *p, int **out,
		   struct world_error *err);
void undo_databases_release(int *undone, size_t n);
/* Puts the records undone in UNDONE (from its start) at BASE in PARENT,
 * over DST's file there (whose owner and mode it keeps), durably, written
 * at TMP first. */
int undo_put_records(int parent, const char *base, const char *tmp,
		     int undone);

/* undo.c */
/* syncfs of every file system that operations of P wrote. */
int undo_sync_written(int tree, const struct plan *p);
/* Every path of P back to its saved state in MDIR/undo; a database for
 * which UNDONE (from undo_databases(); NULL: made here, and a database it
 * cannot undo goes back whole) has an fd gets those records instead. */
int undo_roll_back(struct world_store *s, int mdir, const struct plan *p,
		   int *undone, struct world_error *err);
/* A merge only planned (killed while saving): the saves of MDIR/undo that
 * are still DST's files lose their links, and the ctimes that this and
 * the links gave them join the last merge's own-ctimes (undo_keep_own).
 * The saves that are not DST's files stay, for the caller to remove. */
int undo_release_saves(struct world_store *s, int mdir, const struct plan *p);
/* MDIR/after: what the merged paths are like right after the merge;
 * MDIR/after-dirs: the ctimes of the directories they lie in. */
int undo_write_after(int mdir, int tree, const struct plan *p);
/* The ctimes of MDIR/after and after-dirs join the known-ctimes of the
 * worlds MOVED. */
int undo_share_after(struct world_store *s, int mdir, char *const *moved);
/* The paths of DST that changed since the merge, one a line: whose
 * ctime is neither the one of MDIR/after nor the last one of
 * MDIR/own-ctimes (see undo_keep_own). */
int undo_changed_since(int mdir, int tree, char **out);
/* Pwapt's own change of PATH in DST's tree, which left its content as it
 * was but its ctime changed from BEFORE's to AFTER's (a later merge linked
 * it into its undo, or that merge's roll-back removed the link or put the
 * saved file back): a line for undo_keep_own on F; none where the ctime
 * stayed. */
void undo_note_own(FILE *f, const char *path, const struct stat *before,
		   const struct stat *after);
/* Whether A and B are the same file with the same mode, owner, size and
 * mtime (ctime and link count aside). */
bool undo_same_file(const struct stat *a, const struct stat *b);
/* The notes of undo_note_own join merges/DST/own-ctimes (the last merge
 * into DST kept for an undo), durably, each only where its BEFORE ctime is
 * the one that record accepts for the path now: so a rollback of that
 * merge does not take pwapt's own ctimes for changes of DST.  To be called
 * after the changes: killed before, the rollback refuses (--force), never
 * misses a change of DST.  0 without a kept merge. */
int undo_keep_own(struct world_store *s, const char *dst, const char *notes);

/* recover.c */
/* The last merge into DST stays in merges/DST for an undo. */
int recover_keep_as_last(struct world_store *s, const char *dst);
/* Moves the worlds built on SRC onto DST; *moved gets their names. */
int recover_rebase_children(struct world_store *s, const char *src,
			    const char *dst, char ***moved,
			    struct world_error *err);
/* After SRC is gone: the rebased worlds mount their new stacks. */
void recover_restart_rebased(struct world_store *s, char **moved);

/* merge.c */
/* Appends to P the operations that merge the changes D of the tree
 * SRC_TREE into DST_TREE (directory fds): what DST has at each path now
 * (had, and a file's inode), and whether DST changed it too.  Excluded
 * and checked-off changes are left out, as is the deletion of what DST
 * does not have, or of what lies in a directory of DST whose deletion or
 * replacement moves it away whole; a package database that both changed
 * (or, FORCE, that conflicts) is merged (OP_MRG) or dropped (see
 * dbmerge_planned); an account database merged so takes its mate with it
 * (passwd and shadow, group and gshadow: dbmerge_partner()), added to P
 * when D does not hold it.  Returns 0 or -errno (P then holds what was
 * planned so far, for plan_release). */
int merge_plan(int dst_tree, int src_tree, bool force,
	       const struct world_diff *d, struct plan *p);
/* STATE/merge-frozen: the name of the world a merge froze, written before
 * it freezes SRC (before the diff) and removed once SRC is thawed or gone.
 * A merge killed before its journal was written leaves only this. */
#define MERGE_FROZEN_FILE "merge-frozen"
/* Writes STATE/merge-frozen naming SRC, durably: -errno. */
int recover_note_frozen(struct world_store *s, const char *src);
/* Thaws the world STATE/merge-frozen names, if it still exists, and
 * removes the file (kept when the thaw fails).  Only without a merge
 * journal: one left as prepared keeps SRC frozen until rolled back. */
void recover_thaw_frozen(struct world_store *s);
/* The merge itself, under DST's database locks and SRC's
 * (dbmerge_lock_source()), SRC frozen (world_merge()), from the diff on.
 * It leaves SRC frozen: deleted when merged, else world_merge() thaws it
 * unless a journal stays (STATE/merge, a roll-back that failed). */
int merge_locked(struct world_store *s, const char *src, const char *dst,
		 unsigned flags, struct dbmerge_locks *locks,
		 struct dbmerge_locks *src_locks, bool *again,
		 struct world_diff *conflicts, uint64_t *id,
		 struct world_error *err);

#endif
