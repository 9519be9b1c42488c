/* wdiff's parts: the two trees compared path by path (diff.c), the
 * conflicts between them (conflicts.c), and what check-offs hold
 * (checkoff.c).  Private to libworld. */
#ifndef PWAPT_DIFF_H
#define PWAPT_DIFF_H

#include <stdbool.h>
#include <sys/stat.h>

#include "store.h"

/* One side of the comparison: a path's status in a tree, and an O_PATH fd
 * of it for reading its xattrs, link target and content.  BELOW_MOUNT: the
 * path lies on another mount than the file system it belongs to (below
 * /run after a world unmounted its own, below a mount point of Root that
 * no world sees): never merged. */
struct side {
	bool exists, below_mount;
	struct stat st;
	int fd;
	/* Of a load through a side_cache: its directory and name, from
	 * which diff_side_open() opens FD.  DIR is the cache's, valid until
	 * the next load through it; -1 otherwise. */
	int dir;
	const char *leaf;
};

/* The directory a side's loads looked up last: the paths of a diff come
 * sorted, and the names of one directory are looked up in it, one name
 * each, not from the top of the tree.  Its fd is the directory as it was
 * when the first of its names was looked up: a directory renamed away
 * meanwhile still answers for its old path until the diff leaves it (a
 * tree that changes while it is compared gives no one moment anyway). */
struct side_cache {
	const struct fs_part *part;
	bool b;	   /* of tree B, not A */
	char *dir; /* its path; NULL: none */
	int fd;	   /* -1: the tree has no such directory, or BELOW_MOUNT */
	bool below_mount;
};

/* Root's file systems as the two trees show them: a world's tree has one
 * overlay for each, Root's tree the file systems themselves. */
struct fs_part {
	const char *prefix; /* "" or "/var" */
	int fa, fb;	    /* its root in each tree, or -1: not there */
	/* The layers of A's stack that B's lacks, highest first; A_TOP:
	 * the first of them is A's top layer, its own. */
	int a_only[64];
	size_t n_a_only;
	bool a_top;
	/* The layers both stacks hold (all of them unless MANY_SHARED). */
	int shared[64];
	size_t n_shared;
	bool many_shared;
};

struct parts {
	struct fs_part v[32];
	size_t n;
};

/* The changes of world A against B (NULL: Root), named NAME_A and NAME_B,
 * as diff_layers() gives them, whose trees must be mounted and show their
 * layers as they are (diff_layers() makes them so first). */
int diff_worlds(struct world_store *s, const struct world_meta *a,
		const struct world_meta *b, const char *name_a,
		const char *name_b, struct world_diff *out,
		struct world_error *err);

/* The changes of world NAME against OTHER (NULL: NAME's first parent),
 * both brought back first if needed: diff_layers() of world.h, which merges
 * call too.  Released with diff_release(). */
int diff_layers(struct world_store *s, const char *name, const char *other,
		struct world_diff *out, struct world_error *err);
void diff_release(struct world_diff *d);
/* The paths a diff marks excluded: NULL-terminated, static. */
const char *const *diff_excluded_paths(void);
/* Whether PATH is left out of diffs and merges (excluded.c): a file of the
 * world's machinery, a path on an API file system, the journal of a tree's
 * own systemd. */
bool diff_is_excluded(const char *path);
/* Marks excluded (with a note) the changes of D at or below pwapt's state
 * directory when Root holds it (excluded.c). */
void diff_exclude_state(struct world_store *s, struct world_diff *d);
/* Marks excluded (with a note) the changes of D at or below one of the N
 * MOUNTS, mount points met in a walk, whose contents are never merged. */
void diff_exclude_mounts(struct world_diff *d, char *const *mounts, size_t n);

/* Checks off PATTERNS of world NAME, or with REMOVE takes them back
 * (checkoff_change() of world.h), and the patterns checked off in NAME
 * (checkoff_list()); checkoff.c. */
int checkoff_change(struct world_store *s, const char *name,
		    const char *const *patterns, size_t n, bool remove,
		    struct world_error *err);
/* The index of D's first change (D sorted by path) not before KEY: D->n
 * when there is none; checkoff.c, also for merge-move.c. */
size_t diff_lower_bound(const struct world_diff *d, const char *key);
int checkoff_list(struct world_store *s, const char *name, char ***out,
		  struct world_error *err);
/* The check-off patterns of world NAME (NULL when none), and whether one
 * of them covers PATH. */
char **checkoff_load(struct world_store *s, const char *name);
bool checkoff_matches(char *const *patterns, const char *path);

/* Whether PATH is DIR (LEN bytes) or lies below it, as strings. */
bool diff_below(const char *path, const char *dir, size_t len);
/* Whether an error opening a path means only that the tree has nothing
 * there: missing, or below something that is not a directory (a file, a
 * symbolic link, which is never followed). */
bool diff_absent(int r);
/* The file system of PATH: the part with the longest prefix of it. */
const struct fs_part *diff_part_of(const struct parts *p, const char *path);
/* Loads PATH of tree B (or A): never across a mount within its file
 * system.  Only "nothing there" is absence; any other error is returned. */
int diff_side_load(const struct parts *p, bool b, const char *path,
		   struct side *s);
void diff_side_release(struct side *s);
/* diff_side_load() through C (of that side only), where FD is opened
 * only by diff_side_open(). */
int diff_side_load_in(const struct parts *p, bool b, const char *path,
		      struct side_cache *c, struct side *s);
/* S's FD, for its content, target and xattrs, as a load would find it
 * now: a file gone since makes S absent, another one in its place S. */
int diff_side_open(struct side *s);
void diff_side_cache_release(struct side_cache *c);
/* diff_side_load_in() of tree A, where a non-directory that A's own top
 * layer holds (a file the world wrote) is stat'ed in that layer with TOP,
 * not looked up through the overlay, which shows it unchanged: what that
 * costs, after the revalidation emptied the overlay's caches, is most of a
 * diff of many new files.  Only its ST_DEV and ST_INO are the layer's (the
 * overlay may show a copy-up's origin's number): use diff_side_load() for
 * those.  Its DIR is the overlay's, for diff_side_open().  Not with a
 * mount in A's tree but the trees' own (a file mounted on, which only the
 * tree shows): the caller's LAYER_OK says so. */
int diff_side_load_a(const struct parts *p, const char *path,
		     struct side_cache *c, struct side_cache *top,
		     bool layer_ok, struct side *s);
/* What differs between two existing versions of a path, opened by
 * diff_side_open(): WORLD_CHANGED_*, or -errno when they cannot be read
 * (diff-compare.c). */
int diff_compare(const struct side *a, const struct side *b);

/* What the conflicts of A against its ancestor B are judged from. */
struct diff_trees {
	struct world_store *s;
	const struct world_meta *a;
	const char *name_a, *name_b;
	int fa, fb; /* the two trees */
	const struct parts *parts;
	char *const *opaque; /* directories that a layer holds opaque */
	size_t n_opaque;
	ino_t *b_inos; /* B's inodes among the candidates (sorted here) */
	size_t n_inos;
};

/* Whether ctime C is after A's creation (the same clock tick counts as
 * before it, as wdiff judges). */
bool diff_after_creation(const struct world_meta *a, const struct timespec *c);

/* What a walk of B's directories saw last. */
struct diff_dir_seen {
	char *dir; /* the last directory looked at in B */
	bool changed;
};

/* conflicts-moved.c: paths that a rename of a directory of B's may have
 * put in place since A was created, which their own ctimes do not tell. */

/* Whether A's version of PATH is a copy-up from a layer that A shares
 * with B: overlayfs recorded its origin (trusted.overlay.origin) on the
 * highest of A's own layers that holds it, which no lower one of A's own
 * holds, and it is no renamed directory.  The file was then B's when A
 * changed it.  (A file that A replaced whole, by a rename over it as dpkg
 * and sed -i do, or a copy-up of a hard-linked file, carries no origin.)
 * 1, 0 or -errno. */
int diff_copied_up(const struct fs_part *part, const char *path);
/* Whether B's PATH is another file (or directory) than the one A's
 * version was copied up from, by its origin's file handle: B renamed it,
 * or a directory above it, into place since.  1 with *DIFFERS and B's
 * ctime of PATH in *B_CTIME when it can tell; 0 where nothing tells (no
 * copy-up, no handle overlayfs could write, B a world, whose overlay
 * gives none); -errno. */
int diff_origin_differs(const struct diff_trees *t, const char *path,
			bool *differs, struct timespec *b_ctime);
/* The same, against B's file at B_PATH instead of PATH (where A deleted
 * it: A's rename of B's file to PATH copied it up with that origin). */
int diff_origin_differs_from(const struct diff_trees *t, const char *path,
			     const char *b_path, bool *differs,
			     struct timespec *b_ctime);
/* Whether A's file at PATH is B's file at a path A deleted (A renamed it
 * there: no swap in B). */
bool diff_moved_by_a(const struct diff_trees *t, const struct world_diff *d,
		     const char *path);
/* Whether a directory above PATH is one A added (D sorted by strcmp). */
bool diff_below_added(const struct world_diff *d, const char *path);
/* The note of a conflict C below a directory that a layer holds opaque:
 * A never saw the path, check-off keeps it.  None over a note C has. */
void diff_explain_hidden(struct world_change *c, const struct diff_trees *t);

/* Marks the conflicts of D, A's changes against its ancestor B: paths B
 * changed after A was created, files A changed that B deleted since. */
int diff_conflicts(struct diff_trees *t, struct world_diff *d,
		   struct world_error *err);

/* Marks the conflicts of A's renamed directories (changes with
 * RENAMED_FROM) whose origin B renamed, deleted or changed since A was
 * created, after diff_conflicts() judged the rest: what a merge brings
 * there is no longer what A's processes saw, and no other change says so
 * where the origin is gone (neither tree has it).  0 or -errno. */
int diff_renamed_conflicts(const struct diff_trees *t, struct world_diff *d);

/* What A's lower held, for files of A's own layer with no copy-up origin
 * (A replaced them whole, by a rename over them as dpkg and sed -i do, or
 * made them): overlayfs keeps no trace of it, so it is recorded while B's
 * directory is still as at A's creation, in worlds/A/lower-had, which
 * diff_conflicts() reads.  Called after each run in A and by each diff;
 * a world with several parents has no one lower: nothing.  0 or -errno
 * (what was recorded stays). */
int diff_note_lower(struct world_store *s, const struct world_meta *a);
/* Appends LINES (LEN bytes, whole lines of lower-had: "O ino path" for a
 * copy-up whose origin a merge's staging is about to strip) to A's
 * lower-had, durably.  0 or -errno. */
int diff_had_append(struct world_store *s, const char *name, const char *lines,
		    size_t len);

/* World NAME's lower changes (a rebase onto another parent): its
 * lower-had keeps only the O lines (of its own files), atomically.  0 or
 * -errno. */
int diff_had_forget_lower(struct world_store *s, const char *name);

/* A directory of B that A deleted or replaced (by a file, a symbolic
 * link), with paths below it that the merge leaves as B has them (checked
 * off, excluded, on another mount): the directory stays, holding them,
 * marked checked off, and what A put in its place is not merged; the rest
 * below it is deleted path by path.  Returns 0 or -ENOMEM. */
int diff_hold_dirs(struct world_diff *d);

#endif
