/* The conflicts of a world A against its ancestor B (wdiff(8)): paths
 * that B changed after A was created, which a merge of A would overwrite,
 * and files that A changed in place and B deleted since, which a merge
 * would bring back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbmerge.h"
#include "diff.h"
#include "error.h"
#include "fsutil.h"

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

static int cmp_known(const void *a, const void *b)
{
	const struct known_ctime *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return x->c.tv_sec != y->c.tv_sec
		       ? (x->c.tv_sec > y->c.tv_sec) -
				 (x->c.tv_sec < y->c.tv_sec)
		       : (x->c.tv_nsec > y->c.tv_nsec) -
				 (x->c.tv_nsec < y->c.tv_nsec);
}

static void known_release(struct known_ctimes *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].path);
	free(k->v);
	*k = (struct known_ctimes){0};
}

static int known_load(char *text, struct known_ctimes *k)
{
	size_t cap = 0;
	char *save = NULL;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		long long sec;
		long nsec;
		int off = 0;
		if (sscanf(line, "%lld %ld %n", &sec, &nsec, &off) != 2 || !off)
			continue;
		if (k->n == cap) {
			cap = cap ? cap * 2 : 256;
			struct known_ctime *nv =
				realloc(k->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			k->v = nv;
		}
		if (!(k->v[k->n].path = path_unescape(line + off)))
			return -ENOMEM;
		k->v[k->n++].c = (struct timespec){sec, nsec};
	}
	if (k->n)
		qsort(k->v, k->n, sizeof(*k->v), cmp_known);
	return 0;
}

/* Whether KNOWN holds exactly this ctime for PATH: then the change is the
 * merge's own saving and restoring, not DST's. */
static bool ctime_known(const struct known_ctimes *k, const char *path,
			const struct timespec *c)
{
	struct known_ctime key = {(char *)path, *c};
	return k->n && bsearch(&key, k->v, k->n, sizeof(*k->v), cmp_known);
}

/* A package database that both worlds changed: a merge combines it unless
 * one record changed differently on both sides (see dbmerge.h). */
static void resolve_database(struct world_store *s, const char *name, int fa,
			     int fb, struct world_change *c)
{
	static const char *const notes[] = {
		[DBMERGE_MERGED] = "merged record by record",
		[DBMERGE_DROP] = "a cache: dropped, rebuilt when needed",
		[DBMERGE_THEIRS] = "a backup: the world's version",
		[DBMERGE_DERIVED] = "ldconfig's cache: the world's version; "
				    "run ldconfig there after the merge",
	};
	enum dbmerge_action act = DBMERGE_NONE;
	struct world_error e = {0};
	char *why = NULL;
	int r = dbmerge_resolve(s, name, fa, fb, c->path, -1, false, &act, &why,
				&e);
	if (r >= 0 && act != DBMERGE_NONE) {
		c->conflict = false;
		c->merged = true;
		c->note = strdup(notes[act]);
	} else if (r < 0) {
		c->note = why ? why : strdup(e.msg);
		why = NULL;
	}
	free(why);
}

/* A path B has and A lacks, below a directory that A's layer holds as
 * opaque: overlayfs makes a directory opaque when it is renamed into place
 * (dpkg installs new directories so), and it then hides what B put there
 * later.  A never saw the path; saying so tells the conflict apart from a
 * deletion. */
static void explain_hidden(struct world_change *c, char *const *opaque,
			   size_t n_opaque, const char *name)
{
	for (size_t i = 0; i < n_opaque; i++) {
		const char *dir = opaque[i];
		size_t l = strlen(dir);
		if (strcmp(dir, "/") && strncmp(c->path, dir, l) == 0 &&
		    c->path[l] == '/') {
			if (asprintf(&c->note,
				     "%s's directory %s is opaque (overlayfs "
				     "makes a directory renamed into place so, "
				     "as dpkg's are): %s never saw this path; "
				     "check-off %s %s keeps it",
				     name, dir, name, name, c->path) < 0)
				c->note = NULL;
			return;
		}
	}
}

static int cmp_ino(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
	return (x > y) - (x < y);
}

/* Whether A's version of PATH is a copy-up from a layer that A shares
 * with B: overlayfs recorded its origin (trusted.overlay.origin) on the
 * highest of A's own layers that holds it, which no lower one of A's own
 * holds, and it is no renamed directory.  The file was then B's when A
 * changed it.  (A file that A replaced whole, by a rename over it as dpkg
 * and sed -i do, or a copy-up of a hard-linked file, carries no origin.) */
static int copied_up(const struct fs_part *part, const char *path)
{
	const char *rel = path + strlen(part->prefix);
	const char *slash = strrchr(rel, '/');
	_cleanup_free_ char *dir = slash && slash > rel
					   ? strndup(rel, (size_t)(slash - rel))
					   : strdup(".");
	const char *base = slash ? slash + 1 : rel;
	bool found = false;
	if (!dir)
		return -ENOMEM;
	for (size_t k = 0; k < part->n_a_only; k++) {
		_cleanup_close_ int parent = open_beneath(part->a_only[k], dir,
							  O_PATH | O_DIRECTORY);
		struct stat st;
		if (parent < 0) {
			if (diff_absent(parent))
				continue;
			return parent;
		}
		if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (found)
			return 0; /* the origin may be this layer's */
		found = true;
		char proc[PATH_MAX];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", parent,
			 base);
		if (lgetxattr(proc, "trusted.overlay.origin", NULL, 0) < 0)
			return errno == ENODATA || errno == ENOTSUP ? 0
								    : -errno;
		if (lgetxattr(proc, "trusted.overlay.redirect", NULL, 0) >= 0)
			return 0;
	}
	return found;
}

/* Modify/delete: a path that A changed in place and B deleted after A
 * was created.  B deleted it if the directory that held it in B changed
 * since (or is gone), A's version is a copy-up of B's file, and B holds
 * that file nowhere else (A renamed or linked it: then overlayfs shows
 * A's version with the inode number of B's).  In that order: the first
 * test costs one look per directory, and spares the others in the usual
 * case. */
struct dir_seen {
	char *dir; /* the last directory looked at in B */
	bool changed;
};

static int deleted_in_b(const struct diff_trees *t,
			const struct known_ctimes *known, const char *path,
			struct dir_seen *seen, bool *deleted)
{
	*deleted = false;
	const char *slash = strrchr(path, '/');
	size_t len = slash > path ? (size_t)(slash - path) : 1;
	int r;
	/* Siblings come one after the other: their directory once. */
	if (!seen->dir || strlen(seen->dir) != len ||
	    strncmp(seen->dir, path, len)) {
		free(seen->dir);
		if (!(seen->dir = strndup(path, len)))
			return -ENOMEM;
		struct side y;
		if ((r = diff_side_load(t->parts, true, seen->dir, &y)) < 0)
			return r;
		const struct timespec *c = &y.st.st_ctim;
		/* A ctime that a rolled-back merge of A left is A's own. */
		seen->changed = !y.exists ||
				((c->tv_sec > t->a->created ||
				  (c->tv_sec == t->a->created &&
				   c->tv_nsec > t->a->created_ns)) &&
				 !ctime_known(known, seen->dir, c));
		diff_side_release(&y);
	}
	if (!seen->changed)
		return 0;
	if ((r = copied_up(diff_part_of(t->parts, path), path)) <= 0)
		return r;
	struct side x;
	if ((r = diff_side_load(t->parts, false, path, &x)) < 0)
		return r;
	*deleted = x.exists &&
		   !(t->n_inos && bsearch(&x.st.st_ino, t->b_inos, t->n_inos,
					  sizeof(*t->b_inos), cmp_ino));
	diff_side_release(&x);
	return 0;
}

/* Whether B changed PATH after A was created.  Judged by ctime, at the
 * resolution of the file systems' clock: a change in the same clock tick
 * as the creation is taken as before it (one tick earlier would flag every
 * file written just before wcreate); a ctime that a rolled-back merge of
 * A left is A's own. */
static int changed_in_b(const struct diff_trees *t,
			const struct known_ctimes *known, const char *path,
			bool *changed)
{
	struct side y;
	int r = diff_side_load(t->parts, true, path, &y);
	const struct timespec *c = &y.st.st_ctim;
	*changed = r >= 0 && y.exists &&
		   (c->tv_sec > t->a->created ||
		    (c->tv_sec == t->a->created &&
		     c->tv_nsec > t->a->created_ns)) &&
		   !ctime_known(known, path, c);
	diff_side_release(&y);
	return r;
}

/* NOTE (for a change with none yet): what the other side did; NAME: A. */
static void note(struct world_change *c, const char *what, const char *name)
{
	if (!c->note &&
	    asprintf(&c->note, "%s, %s in %s",
		     c->kind == 'A' ? "deleted there" : "changed there", what,
		     name) < 0)
		c->note = NULL;
}

int diff_conflicts(struct diff_trees *t, struct world_diff *d,
		   struct world_error *err)
{
	struct known_ctimes known = {0};
	_cleanup_free_ char *text = NULL,
			    *rel = path_join(t->name_a, "known-ctimes");
	if (rel)
		(void)read_file_at(t->s->worlds_fd, rel, &text, NULL);
	int r = known_load(text, &known);
	if (r < 0) {
		known_release(&known);
		return werr(err, ENOMEM, "out of memory");
	}
	if (t->n_inos)
		qsort(t->b_inos, t->n_inos, sizeof(*t->b_inos), cmp_ino);
	struct dir_seen seen = {0};
	const char *a_top = NULL; /* below it, B has nothing */
	for (size_t i = 0; i < d->n && r >= 0; i++) {
		struct world_change *c = &d->v[i];
		bool yes = false;
		if (c->kind == 'A' && a_top &&
		    diff_below(c->path, a_top, strlen(a_top))) {
			/* Below a path B lacks: if B deleted something
			 * there, it deleted that path, which says so. */
		} else if (c->kind == 'A') {
			a_top = c->path;
			/* B does not have it: did it delete it? */
			if (!c->excluded)
				r = deleted_in_b(t, &known, c->path, &seen, &yes);
			if (yes)
				note(c, "changed", t->name_a);
		} else if (c->kind != 'A' &&
			   /* Both made the same change (the same package's
			    * files, the same download) at different times:
			    * nothing of B's is lost by taking A's. */
			   !(c->kind == 'M' &&
			     !(c->what & ~(unsigned)WORLD_CHANGED_TIMES))) {
			r = changed_in_b(t, &known, c->path, &yes);
		}
		c->conflict = yes;
	}
	known_release(&known);
	free(seen.dir);
	if (r < 0)
		return werr_errno(err, -r, "cannot compare '%s' with '%s'",
				  t->name_a, t->name_b);
	for (size_t i = 0; i < d->n; i++) {
		struct world_change *c = &d->v[i];
		if (c->conflict && dbmerge_known(c->path)) {
			resolve_database(t->s, t->name_a, t->fa, t->fb, c);
		} else if (c->conflict && c->kind == 'D') {
			explain_hidden(c, t->opaque, t->n_opaque, t->name_a);
			note(c, "deleted", t->name_a);
		}
	}
	return 0;
}
