/* What the files of a merge share (private to them): the plan and its
 * journal (journal.c), the undo (undo.c; of databases, undo-db.c), the
 * last steps of a done merge and recovery (recover.c), planning and
 * applying (merge.c; directories taken away whole, merge-dirs.c), and
 * the operations of world.h (api-merge.c). */
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
 * merged copy in STATE/merge/staged/N (see dbmerge.h).  OP_MOVE: a
 * directory SRC renamed (merge-move.c): DST's own directory FROM renamed
 * to PATH, then given SRC's owner, mode and xattrs. */
enum op_kind { OP_DEL, OP_PUT, OP_DIR, OP_MRG, OP_MOVE };
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
	/* DST's file once saved (not journaled): what apply_op expects to
	 * find there, its device and ctime (zero: not known) */
	dev_t dev;
	struct timespec seen;
	/* OP_MOVE: the directory renamed to PATH, by the name DST gives it
	 * once the operations before this one are applied (journaled) */
	char *from;
	/* Where DST holds PATH before the merge, when it is not PATH: below
	 * a directory an OP_MOVE renames first, or an OP_MOVE's own
	 * origin.  What the save reads, and where a roll-back leaves it
	 * (journaled). */
	char *before;
	/* OP_MOVE: its origin directory as the plan saw it in DST (device,
	 * inode, ctime; journaled as "origin N DEV INO SEC NSEC"), checked
	 * before the rename: another directory there is DST's, never
	 * moved.  origin_known false: a journal of an older merge. */
	bool origin_known;
	dev_t origin_dev;
	ino_t origin_ino;
	struct timespec origin_ctime;
	/* A directory of DST that the operation moves away whole (had
	 * HAD_DIR, an OP_DEL or an OP_PUT over it): that directory as the
	 * plan saw it (device, inode, ctime; journaled as "ident N DEV INO
	 * SEC NSEC").  The save and the apply find it so, or stop: another
	 * directory there, or this one written in since, is DST's, never
	 * moved into the undo; a roll-back puts the saved one back over no
	 * other directory (undo.c).  ident_known false: a journal of an
	 * older merge. */
	bool ident_known;
	dev_t ident_dev;
	ino_t ident_ino;
	struct timespec ident_ctime;
};

/* Whether operation O moves DST's directory at its path away whole. */
static inline bool op_takes_dir(const struct op *o)
{
	return o->had == HAD_DIR && o->kind != OP_DIR && o->kind != OP_MOVE;
}

/* Whether a merge makes operation O's stage, ".pwapt-merge-I" beside its
 * path: a file put, or DST's directory set aside (save_tree()). */
static inline bool op_stages(const struct op *o)
{
	return o->kind == OP_PUT || o->kind == OP_MRG || op_takes_dir(o);
}

/* Whether undoing O puts a save of DST's back, through ".pwapt-restore-I"
 * beside its path (save_restore()): the undo of a merge that failed or was
 * cut short, or of a done one. */
static inline bool op_restores(const struct op *o)
{
	return o->had == HAD_FILE || op_takes_dir(o);
}

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
/* Removes the merge record NAME in DIRFD ("merge", "merges/DST") as no
 * merge at all at every step: its journal goes first.  0 when absent. */
int journal_remove_dir(int dirfd, const char *name);
/* Whether the merge record MDIR still has its undo (not sure: true). */
bool undo_exists(int mdir);
/* Writes P as DIRFD/journal, atomically, in phase "planned". */
int journal_write(int dirfd, const struct plan *p);
/* Reads DIRFD/journal into *P (released with plan_release), whatever its
 * size.  -ENOENT: no journal; -EBADMSG: damaged (no header, a line of
 * the plan missing, repeated or malformed, no end of the plan); *P is
 * untouched on failure.  A last line without its newline is an append
 * that a crash cut: ignored (the phase before it holds). */
int journal_read(int dirfd, struct plan *p);
/* What TREE holds at PATH: HAD_*, or -errno when it cannot tell (only
 * "nothing there" is HAD_NONE). */
int journal_kind_of(int tree, const char *path, struct stat *st);
/* The same through C (merge-internal.h's parent_cache, below). */
struct parent_cache;
int journal_kind_in(struct parent_cache *c, const char *path, struct stat *st);
/* Adds O (its strings malloc'd, consumed also on failure) to P. */
int journal_plan_add(struct plan *p, struct op o);
/* The directory that holds PATH, beneath TREE; *base gets its last name. */
int journal_open_parent(int tree, const char *path, const char **base);
/* The directories that hold a run of paths, each opened once: a plan is
 * sorted by path, so its paths in one directory follow each other, and a
 * pass over them opens each directory once, not once a path. */
struct parent_cache {
	int tree;
	char *dir; /* what FD is, beneath TREE; NULL: none open */
	int fd;
	unsigned opened; /* how many directories it opened */
};
#define PARENT_CACHE_INIT(t) ((struct parent_cache){.tree = (t), .fd = -1})
/* As journal_open_parent(), but the descriptor is the cache's (the next
 * call or parent_cache_release() closes it).  A last name "." or ".." is
 * refused (EINVAL), an empty one is not there (ENOENT): *BASE is looked up
 * at the descriptor. */
int parent_cache_open(struct parent_cache *c, const char *path,
		      const char **base);
/* Closes the open directory; C may be used again, and the next path opens
 * its own. */
void parent_cache_release(struct parent_cache *c);
/* fstatat() of PATH beneath C's tree, no symbolic link followed: whether
 * it is there, its stat in *ST. */
bool parent_cache_stat(struct parent_cache *c, const char *path,
		       struct stat *st);
/* STATE/rolled-back/DST: the ids of the last ROLLED_BACK_KEEP merges into
 * DST that a roll-back undid, one a line, the newest last.  Only the last
 * merge into DST keeps a record (merges/DST): none kept does not tell
 * which merges were undone, this file does. */
#define ROLLED_BACK_DIR	 "rolled-back"
#define ROLLED_BACK_KEEP 64
/* Notes durably that merge ID into DST was rolled back: its undo
 * finished, before the journal of the roll-back goes (an active one is
 * finished by recovery, which notes it then).  0 when noted already. */
int journal_note_rolled_back(int state_fd, const char *dst, uint64_t id);
/* Whether merge ID into DST was noted as rolled back: 1, 0 (also when
 * nothing is noted: an older pwapt's roll-back), -errno. */
int journal_rolled_back(int state_fd, const char *dst, uint64_t id);
/* DST deleted: its notes of merges rolled back go too. */
void journal_forget_rolled_back(int state_fd, const char *dst);

/* undo-known.c */
/* Line "SEC NSEC PATH" on F: ST's ctime for PATH. */
void undo_put_ctime(FILE *f, const struct stat *st, const char *path);
/* Before the merge writes: the ctime of the directory that holds PATH in
 * TREE on F, unless *LAST (malloc'd, replaced) already names it. */
void undo_note_before_dir(FILE *f, int tree, const char *path, char **last);
/* Before the merge moves directory BASE in PARENT (PATH) away, as save
 * K in UNDO, to be copied back by a roll-back: the ctimes of all below it,
 * as UNDO/K.before (none when they cannot all be read). */
void undo_note_before_below(int undo, size_t k, int parent, const char *base,
			    const char *path);
/* Notes an undo makes as it goes ("BSEC BNSEC ASEC ANSEC PATH" lines), kept
 * in file NAME of the undo directory as well: an undo killed and run again
 * finds the notes of what it already put back, which it could not make
 * again (those saves are gone).  Flushed after each step: a kill inside a
 * step, after its write and before the flush, still loses that step's
 * note.  Without an undo directory (UNDO < 0), only in memory.  Durable
 * only where undo_log_sync() made them so: the others lost with a power
 * cut, a rollback refuses or a world sees a conflict, never a change
 * missed. */
struct undo_log {
	FILE *f; /* the notes: TEXT once flushed */
	char *text;
	size_t len;
	size_t put; /* how much of TEXT the file has */
	int undo;
	int fd;
	const char *name;
	bool named; /* its directory synced since the file was made */
};
#define UNDO_LOG_INIT {.undo = -1, .fd = -1}
/* Opens L with the notes of UNDO/NAME that an earlier run left (a file it
 * cannot read: none, and it goes).  Fails only out of memory; release L
 * either way. */
int undo_log_open(struct undo_log *l, int undo, const char *name);
/* Appends what was noted since to the file; after each step of an undo. */
void undo_log_flush(struct undo_log *l);
/* Flushes L and makes its file durable (the file, then its directory):
 * once per batch of steps, where a power cut must not lose more notes
 * than a batch's. */
void undo_log_sync(struct undo_log *l);
/* The undo's two logs (notes for undo_keep_own and undo_known_share)... */
#define UNDO_OWN_LOG "own-log"
#define UNDO_KNOWN_LOG "known-log"
/* ...removed from UNDO once their notes are kept where they serve. */
void undo_logs_done(int undo);
/* Ends the notes: their text (malloc'd; NULL out of memory, or L never
 * opened); L's memory and fd are released, the file stays. */
char *undo_log_close(struct undo_log *l);
/* Releases L's memory and fd (L as UNDO_LOG_INIT after); the file stays. */
void undo_log_release(struct undo_log *l);

/* The ctimes an undo of a merge leaves on DST's paths, for the worlds that
 * saw DST before the merge (see undo-known.c). */
struct undo_known {
	struct ctime_set *before; /* UNDO/before and UNDO/K.before */
	struct ctime_set *dirs;	  /* undo_known_dirs_begin() */
	struct ctime_set *seen;	  /* UNDO/seen (undo_write_seen) */
	struct undo_log notes;	  /* UNDO/known-log */
};
#define UNDO_KNOWN_INIT {.notes = UNDO_LOG_INIT}
/* Reads the ctimes DST's paths had before merge P wrote (UNDO: the
 * merge's undo directory; a merge that noted none leaves each world to
 * see the undo's writes as changes). */
int undo_known_open(struct undo_known *k, int undo, const struct plan *p);
void undo_known_release(struct undo_known *k);
/* The undo wrote PATH, which has its content from before the merge, and
 * left it with status AFTER; LAST (NULL: not checked) is its status just
 * before that write.  Learnt only where LAST's ctime is the one the save
 * left (UNDO/seen, else the one before the merge): one that DST changed in
 * between (an xattr, an append) is not taken for pwapt's own. */
void undo_known_note(struct undo_known *k, const char *path,
		     const struct stat *last, const struct stat *after);
/* UNDO/seen: the ctime each saved file of P has once saved (op.seen); then
 * a syncfs of UNDO's file system makes it and UNDO/before (written just
 * before, without an fsync) durable at once.  Lost, or not written: nothing
 * learnt, conflicts, never one missed.  -errno when the syncfs fails (a
 * write-back error on UNDO's file system: the merge stops). */
int undo_write_seen(int undo, const struct plan *p);
/* The same for everything below directory BASE in PARENT (PATH), put back
 * whole. */
int undo_known_note_below(struct undo_known *k, int parent, const char *base,
			  const char *path);
/* Before the undo writes: the directories that hold the paths of P's
 * applied operations, as they are now (of a done merge, only those still
 * as the merge left them, MDIR/after-dirs); undo_known_dirs_end() notes
 * them as the undo leaves them. */
int undo_known_dirs_begin(struct undo_known *k, int mdir, int tree,
			  const struct plan *p);
void undo_known_dirs_end(struct undo_known *k, int tree);
/* Each world that saw DST before the merge (SRC, and the worlds built on
 * DST before it was done) learns the ctimes noted whose ctime before the
 * merge was no change for it: they join its known-ctimes.  Ends K's notes. */
int undo_known_share(struct world_store *s, int mdir, const struct plan *p,
		     struct undo_known *k);

/* undo-db.c */
/* For each package or account database of P that DST changed since the
 * merge wrote it: DST's file with the merge's records undone
 * (dbmerge_undo()), in a memfd at *OUT[k], an array of P->n fds (-1 for
 * every other operation; undo_databases_release() it).  Reads DST only. */
int undo_databases(int mdir, int tree, const struct plan *p, int **out,
		   struct world_error *err);
void undo_databases_release(int *undone, size_t n);
/* The records undone (UNDONE, of undo_databases()) kept as MDIR/records,
 * durably and whole, before any is put: a roll-back killed between two
 * databases (passwd and shadow) is finished by recovery with the same
 * records, decided for both files at once (undo_records_load()). */
int undo_records_keep(int mdir, int tree, const struct plan *p,
		      const int *undone);
/* Replaces in UNDONE (P->n fds) those that MDIR/records kept for a
 * database DST still has as it was when they were kept (one put since,
 * or changed, is decided afresh).  1 when MDIR/records exists, 0 when
 * not; -errno. */
int undo_records_load(int mdir, int tree, const struct plan *p, int *undone);
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
/* DST's file (or directory) that was NOW at an operation's path lost that
 * name, or moved into UNDO as save N: a line of UNDO/applied notes its
 * ctime change as pwapt's own for a roll-back (not durable: lost, a
 * rollback of the last merge refuses, never misses a change). */
void undo_note_applied(int undo, const char *n, const struct stat *now);
/* A merge only planned (killed while saving): the saves of MDIR/undo that
 * are still DST's files lose their links, and the ctimes that this and
 * the links gave them join the last merge's own-ctimes (undo_keep_own).
 * The saves that are not DST's files stay, for the caller to remove. */
int undo_release_saves(struct world_store *s, int mdir, const struct plan *p);
/* The ctime that line "SEC NSEC PATH" of TEXT (the last such line) gives
 * ESC (an escaped path), as "SEC NSEC" in OUT; false without one. */
bool undo_ctime_of(const char *text, const char *esc, char *out, size_t size);
/* MDIR/after-ids: what each merged path is once the merge applied it
 * (inode, mode, owner, size, mtime, ctime, links), before SRC goes and
 * before the journal says "done": undo_write_after() takes no ctime of a
 * change DST made after it for the merge's own.  Durable when DURABLE;
 * else the caller's syncfs of MDIR's file system makes it so before the
 * journal says "done" (nothing reads it before). */
int undo_write_ids(int mdir, int tree, const struct plan *p, bool durable);
/* Before SRC goes (which changes the ctimes of the files its layer
 * shares with DST): the operations whose path DST changed since
 * after-ids join MDIR/after-changed, durably, for undo_write_after(). */
int undo_judge_ids(int mdir, int tree, const struct plan *p);
/* MDIR/after: what the merged paths are like right after the merge;
 * MDIR/after-dirs: the ctimes of the directories they lie in; durable on
 * return (syncfs). */
int undo_write_after(int mdir, int tree, const struct plan *p);
/* The ctimes of MDIR/after and after-dirs join the known-ctimes of the
 * worlds MOVED. */
int undo_share_after(struct world_store *s, int mdir, char *const *moved);
/* The paths of DST that changed since the merge, each ended by a NUL (a
 * path may hold a newline), the list by an empty one: whose ctime is
 * neither the one of MDIR/after nor the last one of MDIR/own-ctimes (see
 * undo_keep_own); but the logs of merge P that UNDONE (undo_databases())
 * undoes line by line, keeping what DST wrote since. */
int undo_changed_since(int mdir, int tree, const struct plan *p,
		       const int *undone, char **out);
/* pwapt rollback --force, before the roll-back begins: each merged path
 * DST changed since (a file, a symbolic link, a node; not a directory,
 * not a database UNDONE record by record) keeps a hard link beside it
 * (a copy where the file system has none, made whole under another name
 * first), NAME.pwapt-rollback-N~, durable, said through store_warn() on S:
 * DST's version outlives the roll-back, and a kill before it leaves DST's files
 * where they were.  A kept name that already holds DST's version (the same
 * inode, or a copy of the same status and bytes: a run killed after it
 * kept it) is taken as kept.  A database of merge P that UNDONE
 * (undo_databases()) undoes record by record is not kept: DST's records
 * stay in it.  On an error, *FAILED names the path (free it; NULL when
 * out of memory), and WHY (WHY_LEN bytes) says what is in the way where
 * errno would not ("" otherwise). */
int undo_keep_changed(const struct world_store *s, int mdir, int tree,
		      const struct plan *p, const int *undone, char **failed,
		      char *why, size_t why_len);
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
/* Operation I of P saved DST's file ST (as it was before the save) and
 * found it NOW after: notes in it the ctime that apply_op expects, the
 * link's own when the save is a hard link, else ST's; its other names
 * saved before get it too (the link changed their ctime). */
void undo_note_seen(struct plan *p, size_t i, const struct stat *st,
		    const struct stat *now);
/* Whether DST's file NOW at operation O's path changed in place since its
 * save (an append, a chmod, an xattr: a newer ctime), a change that
 * applying O would overwrite. */
bool undo_seen_changed(const struct op *o, const struct stat *now);
/* An O_PATH fd of DST's file at operation O's path when it has other
 * names, whose ctime applying O changes; else -1. */
int undo_hold_links(int tree, const struct op *o);
/* Operation I of P was applied: its file HELD (undo_hold_links) lost a
 * name, and the later operations on its other names expect its new ctime. */
void undo_seen_relink(struct plan *p, size_t i, int held);
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
/* The undo of P, a merge rolled back, finished: noted durably
 * (journal_note_rolled_back()), before its journal goes; with ERR set
 * when it cannot be (the journal stays for the next command). */
int recover_note_rolled_back(struct world_store *s, const struct plan *p,
			     struct world_error *err);
/* Moves the worlds built on SRC onto DST; *moved gets their names. */
int recover_rebase_children(struct world_store *s, const char *src,
			    const char *dst, char ***moved,
			    struct world_error *err);
/* After SRC is gone: the rebased worlds mount their new stacks. */
void recover_restart_rebased(struct world_store *s, char **moved);

/* merge-plan.c */
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
int merge_plan(int dst_tree, int src_tree, int src_layer,
	       char *const *mounts, bool force, const struct world_diff *d,
	       struct plan *p);

/* merge-move.c */
/* The directories SRC renamed that a merge moves whole (OP_MOVE): each
 * added directory of D with renamed_from whose origin is DST's own
 * directory there, unchanged by DST since SRC was created (no conflict at
 * or below it), whose path DST does not have, and whose layer LAYER (SRC's
 * own, SRC's lower stack being DST's tree: else -1, and none moves) shows
 * as a plain redirected directory: the operations for each, and the
 * changes of D they cover.  Released with merge_moves_release(). */
struct merge_moves;
int merge_moves_find(int dst_tree, int src_tree, int layer, char *const *mounts,
		     const struct world_diff *d, struct merge_moves **out);
/* Whether PATH ("/var/x") lies on one of Root's other file systems,
 * MOUNTS ("var"; NULL-terminated or NULL: the world's meta), the mount
 * point itself too: there SRC's own layer of Root's file system is not
 * what the world's processes see (another overlay is mounted over it in
 * the world's tree; one the world unmounted in its container leaves
 * what it wrote then in that layer), so nothing is linked, moved or
 * told from it; the merge copies what the world's tree shows. */
bool merge_on_other_fs(char *const *mounts, const char *path);
void merge_moves_release(struct merge_moves *mv);
/* Whether change I of D is done by a move: 0 no, 1 it is covered (left
 * out of the plan), 2 it is a move's own (merge_moves_plan() plans it). */
int merge_moves_covers(const struct merge_moves *mv, size_t i);
/* Appends to P the move of change I of D and the operations below it:
 * the layer's own changes, at their paths once moved. */
int merge_moves_plan(struct merge_moves *mv, size_t i, struct plan *p);
/* Applies OP_MOVE O of a merge into TREE from SRC_TREE (crash point
 * "merge-move" right after the rename).  -ESTALE when DST's directory is
 * no longer where it was, or PATH is taken. */
int merge_move_apply(int tree, int src_tree, const struct op *o);
/* Where PATH (operation K's, named as once the operations before K are
 * applied) will be once the roll-back (TREE, UNMOVED as for
 * undo_roll_back()) has undone the moves of P before K that renamed a
 * directory above it too, the last first: beside DST's own at each
 * origin's name (ORIGIN.pwapt-rollback-N~) where DST took that name since,
 * at its merged name where the origin's directory is gone, else at the
 * origin's name.  Malloc'd; NULL when out of memory. */
char *merge_move_lands(int tree, const struct plan *p, const bool *unmoved,
		       size_t k, const char *path);
/* Undoes OP_MOVE O (operation K) in TREE, UNDO holding its saved
 * metadata: renamed back when applied (1); nothing when not (0).  APPLIED:
 * the merge was done, so O was applied: its directory missing is -ENOENT
 * (DST renamed or removed it; the caller keeps the saves), never "not
 * applied".  Where DST took the origin's name since, the directory goes
 * back beside it, as ORIGIN.pwapt-rollback-N~ (the first free N), said
 * through store_warn() on S (2): a recovery never stops on it.  Where the
 * directory that held the origin is gone since, it stays at PATH, its
 * metadata put back, said the same way (2).  -EEXIST when both names are
 * taken and PATH is not a directory. */
int merge_move_undo(const struct world_store *s, int tree, int undo, size_t k,
		    const struct op *o, bool applied);
/* Whether the move O did not happen: DST's directory is still at its
 * origin's name (the inode the plan saw; on a world DST mounted again, with
 * another device, the ctime the plan saw).  A merge killed before it
 * reached O, or a roll-back killed after it moved it back. */
bool merge_move_not_reached(int tree, const struct op *o);
/* Whether every move of P that a roll-back would undo can be: its
 * directory at its merged name, the origin's name free and its directory
 * there.  Else an error naming the path in the way (EEXIST) or the one
 * missing (ENOENT); checked before anything is undone. */
int merge_moves_undoable(int tree, const struct plan *p, const char *dst,
			 struct world_error *err);
/* DST's name before merge P of what is PATH once P's operations before
 * I are applied (malloc'd; NULL out of memory): the moves among them
 * undone, last first. */
char *merge_moves_unapplied(const struct plan *p, size_t i, const char *path);

/* merge-save.c */
/* Saves what DST (TREE) has at each path of P that the merge replaces or
 * deletes into UNDO, or a directory's metadata, and makes the saves (and
 * STAGED, unless -1) durable.  A path that is no longer the one planned
 * (DST replaced or removed it since) stops the merge, as the apply does:
 * -errno, with ERR filled. */
int merge_save_all(struct world_store *s, int tree, int undo, int staged,
		   struct plan *p, struct world_error *err);

/* merge-dirs.c */
/* Whether ST, what DST has at operation O's path now, is the directory
 * the plan saw there, unchanged (true where the plan noted none). */
bool merge_dir_as_planned(const struct op *o, const struct stat *st);
/* Whether everything below directory BASE in PARENT, which operation I of
 * P takes away whole, is as the diff saw it: 0, or -ESTALE where an
 * entry's ctime is no older than DIFFED (the coarse clock before the diff;
 * zero: not checked), a file with several names (a save's link changes
 * its ctime) and a directory a move applied before I renamed a directory
 * out of aside; -EBUSY where a mount point lies below. */
int merge_dir_unchanged_below(int parent, const char *base,
			      const struct plan *p, size_t i,
			      struct timespec diffed);
/* A merge that would make a name pwapt keeps for its own temporary files
 * in DST (".pwapt-merge-N", ".pwapt-restore-N", "NAME.pwapt-rollback-N~",
 * "pwapt-rollback-part-N~", and the older "NAME.pwapt-rollback-N"):
 * refused (-EINVAL, ERR says which): a merge or roll-back would take the
 * world's file for one of its own and remove it unsaved.  0 otherwise. */
int merge_refuse_reserved(const struct op *o, const char *src, const char *dst,
			  struct world_error *err);
/* What DST (TREE) already has at a name that plan P uses for its
 * temporary files: an error (EEXIST) naming the first, WHAT first
 * ("cannot merge 'A' into 'Root'"), else 0.  Checked before anything is
 * written, so that such a name found later is the plan's own, which its
 * clean-up may remove.  MERGE: P about to be applied, where an operation
 * I that stages uses ".pwapt-merge-I" and one whose undo (should the
 * merge fail) restores uses ".pwapt-restore-I", both in the directory that
 * holds its path once the moves before it are applied (by its old name
 * before); a name that an operation before I deletes is free by then.
 * Else P done, to be rolled back: ".pwapt-restore-I" of each operation
 * whose undo restores, beside its path and its old name. */
int merge_refuse_temp_taken(int tree, const struct plan *p, bool merge,
			    const char *what, struct world_error *err);
/* Operation O of the merge of SRC into DST (TREE), when it takes DST's
 * directory away whole or renames it (an OP_MOVE's origin): an error
 * (EBUSY) naming the first mount point at or below that directory, else
 * 0.  No file of another file system is moved by a merge, nor moved into
 * its undo (whose clean-up would then meet it). */
int merge_dir_refuse_mount(int tree, const struct op *o, const char *src,
			   const char *dst, struct world_error *err);
/* The directories whose ctimes the rename of move O changes: the one it
 * leaves, the one it enters and the moved one (its ".."), as they are
 * just before (merge_move_dirs_stat(), before the apply) or just after. */
struct move_dirs {
	struct stat st[3];
	bool known[3];
};
void merge_move_dirs_stat(int tree, const struct op *o, bool after,
			  struct move_dirs *md);
/* Operation I of P, a move, was applied: a later operation that checks
 * one of those directories (an OP_MOVE's origin, a directory taken away
 * whole) and found it so just before the rename (BEFORE) learns its new
 * ctime, the merge's own change. */
void merge_dir_relearn(int tree, struct plan *p, size_t i,
		       const struct move_dirs *before);
/* BASE.pwapt-rollback-I~ in BUF, where a roll-back puts what DST has
 * since taken the name of: a backup's name, which what reads or runs a
 * whole directory of configuration skips (logrotate.d, grub.d, dnsmasq.d,
 * systemd's generators, run-parts, sudoers.d; not nginx's include of
 * sites-enabled, nor interfaces.d); of a BASE too long for that, only
 * its start (a name is at most NAME_MAX bytes), cut between two
 * characters where BASE is UTF-8; -ENAMETOOLONG when BUF is too small. */
int merge_aside_name(char *buf, size_t size, const char *base, unsigned i);
/* pwapt-rollback-part-J~ in BUF (at least NAME_MAX + 1 bytes): where
 * pwapt rollback --force copies a file it keeps, on a file system without
 * hard links, before it renames the whole copy to its name
 * (undo_keep_changed()); not a dot file, which logrotate would read
 * (its taboo patterns do not match a name starting with a dot). */
#define MERGE_PART_HEAD "pwapt-rollback-part-"
void merge_part_name(char *buf, size_t size, unsigned j);
/* The same, as pwapt named it before 2026-12-03: BASE.pwapt-rollback-I
 * (a journal of an older pwapt may have put a directory there). */
int merge_aside_name_before(char *buf, size_t size, const char *base,
			    unsigned i);
/* Puts the save of operation O (SAVE in UNDO) back beside what DST made
 * at BASE in PARENT since, as BASE.pwapt-rollback-N~ (the first free N),
 * said through store_warn() on S: a directory DST took the name of, or
 * (UNSURE, the name of SRC) a file that cannot be told from SRC's.  The
 * warning names O's path as LANDS, where the roll-back leaves it
 * (merge_move_lands()). */
int merge_put_beside(const struct world_store *s, int undo, const char *save,
		     int parent, const char *base, const char *tmp,
		     const struct op *o, const char *lands, const char *unsure);
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
