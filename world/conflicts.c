/* The conflicts of a world A against its ancestor B (wdiff(8)): paths
 * that B changed after A was created, which a merge of A would overwrite,
 * and files that A changed in place and B deleted since, which a merge
 * would bring back. */
#include <dirent.h>
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
#include "crash.h"
#include "dbmerge.h"
#include "diff.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "lowerhad.h"
#include "pkglists.h"


/* A package database that both worlds changed: a merge combines it unless
 * one record changed differently on both sides (see dbmerge.h). */
static void resolve_database(struct world_store *s, const char *name, int fa,
			     int fb, struct world_change *c)
{
	static const char *const notes[] = {
		[DBMERGE_MERGED] = "merged record by record",
		[DBMERGE_DROP] = "a cache: dropped, rebuilt when needed",
		[DBMERGE_THEIRS] = "a backup or apt's planner log: the "
				   "world's version",
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
		bool log = act == DBMERGE_MERGED && dbmerge_log(c->path);
		c->note = strdup(log && c->kind == 'D'
					 ? "a log: kept, whoever deleted it"
				 : log ? "a log: the world's new lines "
					 "appended to it"
				       : notes[act]);
	} else if (r < 0) {
		c->note = why ? why : strdup(e.msg);
		why = NULL;
	}
	free(why);
}


static int cmp_ino(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
	return (x > y) - (x < y);
}

/* Modify/delete: a path that A changed and B deleted after A was
 * created.  B deleted it if the directory that held it in B changed since
 * (or is gone) and B had it when A was created: A's version is a copy-up
 * of B's file (an origin, on the file or in lower-had), and B holds that
 * file nowhere else (A renamed or linked it: then overlayfs shows A's
 * version with the inode number of B's); or A replaced it whole while B
 * had it (lower-had), or, where lower-had says nothing, while one of B's
 * packages held it (*pkg names it).  Where nothing tells, *unsure.  In
 * that order: the first test costs one look per directory, and spares the
 * others in the usual case. */

static int deleted_in_b(const struct diff_trees *t,
			const struct known_ctimes *known,
			const struct had_list *had, struct pkg_files *pkgs,
			const char *path, struct diff_dir_seen *seen, bool *deleted,
			bool *unsure, const char **pkg)
{
	*deleted = *unsure = false;
	*pkg = NULL;
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
		/* A ctime that a rolled-back merge of A left is A's own. */
		seen->changed = !y.exists ||
				(diff_after_creation(t->a, &y.st.st_ctim) &&
				 !ctime_known(known, seen->dir, &y.st.st_ctim));
		diff_side_release(&y);
	}
	if (!seen->changed)
		return 0;
	if ((r = diff_copied_up(diff_part_of(t->parts, path), path)) < 0)
		return r;
	const struct had_entry *h = had ? had_find(had, path) : NULL;
	if (h && h->kind == 'X')
		h = NULL; /* after A's creation: tells nothing of it */
	if (!r && h && h->kind == 'E') {
		*deleted = true;
		return 0;
	}
	if (!r && h && h->kind == 'N')
		return 0;
	if (!r && !h) {
		/* Nothing recorded: a file of a package of B's then was B's. */
		if ((r = pkg_of(t, pkgs, path, pkg)) < 0)
			return r;
		*deleted = *pkg != NULL;
		*unsure = !*deleted;
		return 0;
	}
	struct side x;
	if ((r = diff_side_load(t->parts, false, path, &x)) < 0)
		return r;
	/* Staging stripped the origin: the number overlayfs showed then. */
	ino_t ino = !r && h && h->kind == 'O' ? h->ino : x.st.st_ino;
	*deleted = x.exists &&
		   !(t->n_inos && bsearch(&ino, t->b_inos, t->n_inos,
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
	*changed = r >= 0 && y.exists &&
		   diff_after_creation(t->a, &y.st.st_ctim) &&
		   !ctime_known(known, path, &y.st.st_ctim);
	diff_side_release(&y);
	return r;
}

/* Whether B's PATH is another file or directory than the one A copied
 * up (diff_origin_differs), other than by pwapt's own undo: one that put
 * a saved tree back by a copy (the state on another file system) left
 * new inodes, with ctimes that A knows.  1 with *YES when it can tell, 0
 * where nothing tells, -errno. */
static int swapped(const struct diff_trees *t, const struct known_ctimes *known,
		   const char *path, bool *yes)
{
	bool differs = false;
	struct timespec c;
	int r = diff_origin_differs(t, path, &differs, &c);
	if (r > 0)
		*yes = differs && !ctime_known(known, path, &c);
	return r;
}

/* Whether B swapped, by a rename, a directory above PATH (a path A
 * changed or deleted) since A was created: the nearest one that A copied
 * up (overlayfs' origin) is another directory in B now.  A changes
 * nothing in a directory it has not copied up, so that one tells; the
 * paths below a swapped directory keep their ctimes, which tell nothing.
 * SEEN: the last directory judged.  *CHANGED untouched on failure. */
static int dir_swapped(const struct diff_trees *t,
		       const struct known_ctimes *known, const char *path,
		       struct diff_dir_seen *seen, bool *changed)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash > path ? (size_t)(slash - path) : 1;
	if (!seen->dir || strlen(seen->dir) != len ||
	    strncmp(seen->dir, path, len)) {
		_cleanup_free_ char *d = strndup(path, len);
		bool yes = false;
		int r = 0;
		if (!d)
			return -ENOMEM;
		/* Paths are absolute: each has a '/' up to B's top, which
		 * is never renamed. */
		while (r == 0 && strcmp(d, "/")) {
			r = swapped(t, known, d, &yes);
			char *sl = strrchr(d, '/');
			sl[sl == d] = '\0'; /* "/srv" becomes "/" */
		}
		if (r < 0)
			return r;
		free(seen->dir);
		if (!(seen->dir = strndup(path, len)))
			return -ENOMEM;
		seen->changed = yes;
	}
	*changed = seen->changed;
	return 0;
}

/* Whether PATH, a path of B's that A lacks below a directory that a layer
 * holds opaque, may be one that A never saw, so that a merge must not
 * delete it.  Its own ctime cannot tell: a directory renamed into place
 * (a rollback putting one back, an administrator's mv) keeps the ctimes
 * of everything below it.  What tells: a directory above it that B lacked
 * after A made it (an X line of lower-had, HAD), and the opaque
 * directory's ctime in B, after A's creation and not an undo's own
 * (KNOWN); a directory swapped above it, dir_swapped().  SEEN: the last
 * opaque directory judged.  *CHANGED untouched on failure. */
static int hidden_since(const struct diff_trees *t,
			const struct known_ctimes *known,
			const struct had_list *had, const char *path,
			struct diff_dir_seen *seen, bool *changed)
{
	bool yes = false;
	_cleanup_free_ char *d = strdup(path);
	if (!d)
		return -ENOMEM;
	for (char *slash = strrchr(d, '/'); had && !yes && slash > d;
	     slash = strrchr(d, '/')) {
		*slash = '\0';
		yes = had_has(had, 'X', 0, d);
	}
	for (size_t i = 0; i < t->n_opaque && !yes; i++) {
		const char *dir = t->opaque[i];
		size_t l = strlen(dir);
		if (!strcmp(dir, "/") || strncmp(path, dir, l) != 0 ||
		    path[l] != '/')
			continue;
		if (!seen->dir || strcmp(seen->dir, dir)) {
			struct side y;
			int r = diff_side_load(t->parts, true, dir, &y);
			if (r < 0)
				return r;
			free(seen->dir);
			seen->dir = strdup(dir);
			seen->changed =
				y.exists &&
				diff_after_creation(t->a, &y.st.st_ctim) &&
				!ctime_known(known, dir, &y.st.st_ctim);
			diff_side_release(&y);
			if (!seen->dir)
				return -ENOMEM;
		}
		yes = seen->changed;
	}
	*changed = yes;
	return 0;
}

/* The conflicts of a path A changed (M) or deleted (D) that B's ctime of
 * it does not show (changed_in_b): a directory renamed into place above
 * it, which brought B another file there.  C's note says so.  ORIGINS:
 * whether A's copy-up origins name B's own files (B is A's parent, and A
 * was never rebased). */
static int moved_in_b(const struct diff_trees *t, const struct world_diff *d,
		      const struct known_ctimes *known, const struct had_list *had,
		      bool origins, struct world_change *c,
		      struct diff_dir_seen seen[2], bool *yes)
{
	int r = 0;
	bool file = false, dir = false, hidden = false;
	if (origins && c->kind == 'M')
		r = swapped(t, known, c->path, &file);
	if (r >= 0 && file && diff_moved_by_a(t, d, c->path))
		file = false;
	if (r >= 0 && origins)
		r = dir_swapped(t, known, c->path, &seen[0], &dir);
	if (r >= 0 && c->kind == 'D')
		r = hidden_since(t, known, had, c->path, &seen[1], &hidden);
	if (r < 0)
		return r;
	if ((file || dir) && !c->note &&
	    asprintf(&c->note,
		     "%s's %s is not the one %s saw: %s renamed into place "
		     "since",
		     t->name_b, file ? "file" : "directory above it", t->name_a,
		     file ? "it or a directory above it was" : "it was") < 0)
		c->note = NULL;
	*yes = file || dir || hidden;
	return 0;
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

/* A's files with more than one name among D's changes, by inode: what
 * names the file an added hard link shares.  Built once, where the first
 * such path needs it. */
struct linked {
	dev_t dev;
	ino_t ino;
	const char *path; /* D's */
};

struct link_index {
	struct linked *v;
	size_t n;
	bool built;
};

static int cmp_linked(const void *a, const void *b)
{
	const struct linked *x = a, *y = b;
	return x->dev != y->dev ? (x->dev > y->dev) - (x->dev < y->dev)
				: (x->ino > y->ino) - (x->ino < y->ino);
}

static int link_index_build(const struct diff_trees *t,
			    const struct world_diff *d, struct link_index *l)
{
	l->built = true;
	for (size_t i = 0; i < d->n; i++) {
		struct side x;
		if (d->v[i].kind == 'D')
			continue;
		int r = diff_side_load(t->parts, false, d->v[i].path, &x);
		bool linked = r >= 0 && x.exists && S_ISREG(x.st.st_mode) &&
			      x.st.st_nlink > 1;
		struct linked e = {x.st.st_dev, x.st.st_ino, d->v[i].path};
		if (r >= 0)
			diff_side_release(&x);
		if (r < 0)
			return r;
		if (!linked)
			continue;
		struct linked *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->v[l->n++] = e;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_linked);
	return 0;
}

/* C, a path A added that B "deleted" (deleted_in_b(): a copy-up of a
 * file B no longer holds), where it is another name A gave a file of
 * B's: a hard link to a path of D that B still has, as another file (B
 * replaced it since).  Its note says so, not "deleted there": B never had
 * C's path.  Where B has neither name, which one B had is not known: the
 * note stays "deleted there". */
static int note_link(const struct diff_trees *t, const struct world_diff *d,
		     struct link_index *l, struct world_change *c)
{
	struct side x;
	int r = diff_side_load(t->parts, false, c->path, &x);
	if (r < 0)
		return r;
	struct linked key = {x.st.st_dev, x.st.st_ino, NULL};
	bool linked = x.exists && S_ISREG(x.st.st_mode) && x.st.st_nlink > 1;
	diff_side_release(&x);
	if (!linked || (!l->built && (r = link_index_build(t, d, l)) < 0))
		return r;
	struct linked *e =
		l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_linked)
		     : NULL;
	while (e && e > l->v && !cmp_linked(e - 1, &key))
		e--;
	for (; e && e < l->v + l->n && !cmp_linked(e, &key); e++) {
		if (!strcmp(e->path, c->path))
			continue;
		struct side y;
		if ((r = diff_side_load(t->parts, true, e->path, &y)) < 0)
			return r;
		bool has = y.exists;
		diff_side_release(&y);
		if (!has)
			continue;
		if (asprintf(&c->note,
			     "a hard link %s made to %s, which %s replaced "
			     "since",
			     t->name_a, e->path, t->name_b) < 0)
			c->note = NULL;
		return 0;
	}
	return 0;
}

/* A file A replaced whole (no copy-up says so) or made, in a directory
 * of B that changed since A was created, where nothing recorded whether B
 * had it then. */
static void note_unsure(struct world_change *c, const char *a, const char *b,
			bool lost)
{
	if (!c->note &&
	    asprintf(&c->note,
		     "%s replaced or made this file while %s's directory "
		     "changed after %s was created: pwapt cannot tell whether "
		     "%s had it then; if %s deleted it since, a merge brings "
		     "it back%s",
		     a, b, a, b, b,
		     lost ? " (unnoted: lower-had-lost)" : "") < 0)
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
	/* What A's lower held tells of B only where B is that lower. */
	struct had_list had = {0};
	bool had_ok =
		t->a->n_parents == 1 && !strcmp(t->a->parents[0], t->name_b);
	/* And the origins of A's copy-ups tell of B's files only there,
	 * unless A was rebased (an R line). */
	bool origins = had_ok, lost = false;
	if (had_ok) {
		/* Now, for a later merge, what B still holds as then; where
		 * that could not be noted, now or before, unsure refuses. */
		lost = diff_note_lower(t->s, t->a) < 0;
		_cleanup_close_ int wdir = openat(
			t->s->worlds_fd, t->name_a,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		lost = lost || (wdir >= 0 && (faccessat(wdir, LOWER_HAD_LOST,
							 F_OK, 0) == 0 ||
					      errno != ENOENT));
		r = wdir < 0 ? (errno == ENOENT ? 0 : -errno)
			     : had_load(wdir, &had);
		if (r == -EFBIG) { /* nothing known: the warning path */
			had_release(&had);
			origins = false;
			r = 0;
		}
		if (r < 0) {
			known_release(&known);
			return werr_errno(err, -r,
					  "cannot read what '%s' saw "
					  "of '%s'",
					  t->name_a, t->name_b);
		}
	}
	origins = origins && !had_has(&had, 'R', 0, "/");
	struct diff_dir_seen seen = {0}, moved[2] = {{0}};
	struct pkg_files pkgs = {0};
	struct link_index links = {0};
	const char *a_top = NULL; /* below it, B has nothing */
	for (size_t i = 0; i < d->n && r >= 0; i++) {
		struct world_change *c = &d->v[i];
		bool yes = false, unsure = false;
		const char *pkg = NULL;
		if (c->kind == 'A' &&
		    ((a_top && diff_below(c->path, a_top, strlen(a_top))) ||
		     diff_below_added(d, c->path))) {
			/* Below a path B lacks: if B deleted something
			 * there, it deleted that path, which says so. */
		} else if (c->kind == 'A') {
			a_top = c->path;
			/* B does not have it: did it delete it? */
			if (!c->excluded)
				r = deleted_in_b(
					t, &known, had_ok ? &had : NULL, &pkgs,
					c->path, &seen, &yes, &unsure, &pkg);
			if (yes && pkg &&
			    asprintf(&c->note,
				     "deleted there (a file of package %s "
				     "when %s was created), changed in %s",
				     pkg, t->name_a, t->name_a) < 0)
				c->note = NULL;
			if (r >= 0 && yes && !pkg && !c->note)
				r = note_link(t, d, &links, c);
			if (yes)
				note(c, "changed", t->name_a);
			if (unsure)
				note_unsure(c, t->name_a, t->name_b, lost);
			yes = yes || (unsure && lost);
			unsure = unsure && !lost;
		} else if (c->kind != 'A' &&
			   /* Both made the same change (the same package's
			    * files, the same download) at different times:
			    * nothing of B's is lost by taking A's. */
			   !(c->kind == 'M' &&
			     !(c->what & ~(unsigned)WORLD_CHANGED_TIMES))) {
			r = changed_in_b(t, &known, c->path, &yes);
			if (r >= 0 && !yes)
				r = moved_in_b(t, d, &known, had_ok ? &had : NULL,
					       origins, c, moved, &yes);
		}
		c->conflict = yes;
		c->unsure = unsure;
	}
	known_release(&known);
	had_release(&had);
	pkg_files_release(&pkgs);
	free(links.v);
	free(seen.dir);
	for (size_t i = 0; i < 2; i++)
		free(moved[i].dir);
	if (r < 0)
		return werr_errno(err, -r, "cannot compare '%s' with '%s'",
				  t->name_a, t->name_b);
	for (size_t i = 0; i < d->n; i++) {
		struct world_change *c = &d->v[i];
		if (c->conflict && dbmerge_known(c->path)) {
			resolve_database(t->s, t->name_a, t->fa, t->fb, c);
		} else if (c->conflict && c->kind == 'D') {
			diff_explain_hidden(c, t);
			note(c, "deleted", t->name_a);
		}
	}
	return 0;
}
