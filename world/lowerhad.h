/* What a world A recorded of its parent B, for the conflicts of a merge
 * (conflicts.c; files in worlds/A/): known-ctimes, the ctimes that A's own
 * rolled-back merges left in B, and lower-had, what B held of the files A
 * replaced whole (diff_note_lower() and the rest in diff.h write it). */
#ifndef PWAPT_LOWERHAD_H
#define PWAPT_LOWERHAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* The ctimes a rolled-back merge of this world left (known-ctimes: lines
 * "sec nsec path"), sorted by path for a binary search. */
struct known_ctime {
	char *path;
	struct timespec c;
};

struct known_ctimes {
	struct known_ctime *v;
	size_t n;
};

/* Parses TEXT (known-ctimes, may be NULL) into K, in place.  0 or -ENOMEM. */
int known_load(char *text, struct known_ctimes *k);
void known_release(struct known_ctimes *k);
/* Whether K holds exactly ctime C for PATH: a change A's own merge made. */
bool ctime_known(const struct known_ctimes *k, const char *path,
		 const struct timespec *c);

/* What A's lower layer held at A's creation, for the files A replaced
 * whole (worlds/A/lower-had, see diff.h): one line each, "E path" (B had
 * it), "N path" (B had not), "O ino path" (A's version was a copy-up of
 * B's file INO, as overlayfs shows it, before a merge's staging took the
 * copy-up's xattrs away), "X path" (a directory of A's that B lacked
 * after A made it: all B has below it came later, and A, whose directory
 * hides it, never saw it), "R /" (A was rebased: the origins of its
 * copy-ups may name files of its old parent's layers, not B's).  Sorted
 * by path, the strongest line first. */
struct had_entry {
	char *path;
	char kind;
	ino_t ino;
};

struct had_list {
	struct had_entry *v;
	size_t n;
};

/* Reads worlds/A/lower-had (WDIR: A's directory) into H: 0 (nothing there
 * too), -EFBIG (too big to be read: it tells nothing), -errno. */
int had_load(int wdir, struct had_list *h);
void had_release(struct had_list *h);
/* The first line of PATH, or NULL. */
const struct had_entry *had_find(const struct had_list *h, const char *path);
/* Whether H holds exactly this line (INO counts for O lines only). */
bool had_has(const struct had_list *h, char kind, ino_t ino, const char *path);

/* In worlds/A/: what diff_note_lower() could not note (a full disk)
 * makes every path only lower-had could tell a conflict (diff_conflicts),
 * until a rebase drops what A noted of its old parent. */
#define LOWER_HAD_LOST "lower-had-lost"

#endif
