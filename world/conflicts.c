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
#include "dbmerge.h"
#include "diff.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"

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

/* What A's lower layer held at A's creation, for the files A replaced
 * whole (worlds/A/lower-had, see diff.h): one line each, "E path" (B had
 * it), "N path" (B had not), "O ino path" (A's version was a copy-up of
 * B's file INO, as overlayfs shows it, before a merge's staging took the
 * copy-up's xattrs away).  Sorted by path, the strongest line first. */
struct had_entry {
	char *path;
	char kind;
	ino_t ino;
};

struct had_list {
	struct had_entry *v;
	size_t n;
};

static int had_rank(char kind)
{
	return kind == 'O' ? 0 : kind == 'E' ? 1 : 2;
}

static int cmp_had(const void *a, const void *b)
{
	const struct had_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : had_rank(x->kind) - had_rank(y->kind);
}

static void had_release(struct had_list *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].path);
	free(h->v);
	*h = (struct had_list){0};
}

/* Only whole lines count: an append cut short by a crash is no fact. */
static int had_parse(char *text, struct had_list *h)
{
	size_t cap = 0;
	for (char *line = text, *nl; line && (nl = strchr(line, '\n'));
	     line = nl + 1) {
		*nl = '\0';
		unsigned long long ino = 0;
		int off = 0;
		char kind = line[0];
		if ((kind != 'E' && kind != 'N' && kind != 'O') ||
		    line[1] != ' ')
			continue;
		if (kind == 'O') {
			if (sscanf(line + 2, "%llu %n", &ino, &off) != 1 ||
			    !off)
				continue;
		}
		const char *path = line + 2 + off;
		if (path[0] != '/')
			continue;
		if (h->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct had_entry *nv = realloc(h->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			h->v = nv;
		}
		if (!(h->v[h->n].path = path_unescape(path)))
			return -ENOMEM;
		h->v[h->n].kind = kind;
		h->v[h->n++].ino = (ino_t)ino;
	}
	if (h->n)
		qsort(h->v, h->n, sizeof(*h->v), cmp_had);
	return 0;
}

static int had_load(struct world_store *s, const char *name, struct had_list *h)
{
	_cleanup_free_ char *text = NULL, *rel = path_join(name, "lower-had");
	if (!rel)
		return -ENOMEM;
	int r = read_file_at(s->worlds_fd, rel, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	return had_parse(text, h);
}

static const struct had_entry *had_find(const struct had_list *h,
					const char *path)
{
	size_t lo = 0, hi = h->n;
	while (lo < hi) { /* the first line of PATH */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(h->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->n && !strcmp(h->v[lo].path, path) ? &h->v[lo] : NULL;
}

int diff_had_append(struct world_store *s, const char *name, const char *lines,
		    size_t len)
{
	_cleanup_free_ char *rel = path_join(name, "lower-had");
	if (!rel)
		return -ENOMEM;
	if (!len)
		return 0;
	_cleanup_close_ int fd = openat(
		s->worlds_fd, rel,
		O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, lines, len);
	if (n < 0 || (size_t)n != len)
		return n < 0 ? -errno : -EIO;
	return fsync(fd) < 0 ? -errno : 0;
}

/* One look at the files of A's own layer that a later merge could not
 * judge: those with no copy-up origin (A replaced them whole, or made
 * them), in a directory that B still holds as at A's creation. */
struct noting {
	int fb; /* B's tree */
	const struct world_meta *a;
	const struct had_list *had;
	const struct known_ctimes *known;
	char *dir;  /* the last directory looked at in B */
	int dir_fd; /* it, when unchanged since A's creation; else -1 */
	FILE *out;
};

static bool after_creation(const struct world_meta *a, const struct timespec *c)
{
	return c->tv_sec > a->created ||
	       (c->tv_sec == a->created && c->tv_nsec > a->created_ns);
}

static int note_entry(const struct fs_entry *e, void *data)
{
	struct noting *n = data;
	if (S_ISDIR(e->st.st_mode) ||
	    (S_ISCHR(e->st.st_mode) && e->st.st_rdev == 0) ||
	    had_find(n->had, e->path))
		return 0;
	char proc[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", e->dirfd, e->name);
	if (lgetxattr(proc, "trusted.overlay.origin", NULL, 0) >= 0)
		return 0; /* a copy-up: it says so itself */
	if (errno != ENODATA && errno != ENOTSUP)
		return -errno;
	const char *slash = strrchr(e->path, '/');
	size_t len = slash > e->path ? (size_t)(slash - e->path) : 1;
	if (!n->dir || strlen(n->dir) != len || strncmp(n->dir, e->path, len)) {
		free(n->dir);
		closep(&n->dir_fd);
		if (!(n->dir = strndup(e->path, len)))
			return -ENOMEM;
		int fd = open_beneath(n->fb, len > 1 ? n->dir + 1 : ".",
				      O_PATH | O_DIRECTORY);
		struct stat st;
		if (fd < 0)
			return diff_absent(fd) ? 0 : fd;
		if (fstat(fd, &st) < 0) {
			close(fd);
			return -errno;
		}
		if (after_creation(n->a, &st.st_ctim) &&
		    !ctime_known(n->known, n->dir, &st.st_ctim))
			close(fd); /* changed since: it cannot tell */
		else
			n->dir_fd = fd;
	}
	if (n->dir_fd < 0)
		return 0;
	struct stat st;
	bool had = fstatat(n->dir_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!had && errno != ENOENT)
		return -errno;
	fputs(had ? "E " : "N ", n->out);
	path_escape(n->out, e->path);
	fputc('\n', n->out);
	return 0;
}

int diff_note_lower(struct world_store *s, const struct world_meta *a)
{
	if (a->n_parents != 1)
		return 0; /* its lower is no one world's tree */
	struct had_list had = {0};
	struct known_ctimes known = {0};
	_cleanup_free_ char *text = NULL,
			    *krel = path_join(a->name, "known-ctimes"),
			    *tree_b = store_tree_path(s, a->parents[0]);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (!krel || !tree_b)
		return -ENOMEM;
	/* A parent world that is not up shows an empty directory there. */
	if (!store_is_root(a->parents[0]) && is_mount_point(tree_b) <= 0)
		return 0;
	(void)read_file_at(s->worlds_fd, krel, &text, NULL);
	_cleanup_close_ int fb = open(tree_b, O_PATH | O_DIRECTORY | O_CLOEXEC);
	FILE *out = open_memstream(&buf, &len);
	int r = fb < 0 ? -errno : !out ? -ENOMEM : known_load(text, &known);
	if (r >= 0)
		r = had_load(s, a->name, &had);
	struct noting n = {.fb = fb,
			   .a = a,
			   .had = &had,
			   .known = &known,
			   .dir_fd = -1,
			   .out = out};
	for (size_t i = 0; r >= 0 && i <= a->n_mounts; i++) {
		const char *rel = i ? a->mounts[i - 1] : "";
		_cleanup_free_ char *up = layers_dir(s, a->name, rel, "upper"),
				    *prefix = NULL;
		if (!up ||
		    asprintf(&prefix, "%s%s", *rel ? "/" : "", rel) < 0) {
			r = -ENOMEM;
			break;
		}
		_cleanup_close_ int fd = open(
			up, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = errno == ENOENT ? 0 : -errno;
			continue;
		}
		r = fs_walk(fd, prefix, FS_WALK_STAT, note_entry, NULL, &n);
	}
	free(n.dir);
	closep(&n.dir_fd);
	if (out && fclose(out) != 0 && r >= 0)
		r = -ENOMEM;
	if (r >= 0)
		r = diff_had_append(s, a->name, buf, len);
	had_release(&had);
	known_release(&known);
	return r;
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

/* The files that B's packages held when A was created: every line of
 * B's dpkg lists (var/lib/dpkg/info/P.list) that B has not changed
 * since, sorted, with P.  Read once, only when a file of A's is in
 * doubt: dpkg replaces its files whole, leaving no copy-up origin. */
struct pkg_file {
	char *path;
	const char *pkg; /* into names */
};

struct pkg_files {
	bool loaded;
	struct pkg_file *v;
	size_t n, cap;
	char **names;
	size_t n_names;
};

static void pkg_files_release(struct pkg_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i]);
	free(f->v);
	free(f->names);
	*f = (struct pkg_files){0};
}

static int cmp_pkg_file(const void *a, const void *b)
{
	return strcmp(((const struct pkg_file *)a)->path,
		      ((const struct pkg_file *)b)->path);
}

static int pkg_list_add(struct pkg_files *f, const char *pkg, char *text)
{
	char **nn = realloc(f->names, (f->n_names + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	f->names = nn;
	if (!(nn[f->n_names] = strdup(pkg)))
		return -ENOMEM;
	const char *name = nn[f->n_names++];
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] != '/' || !l[1])
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 1024;
			struct pkg_file *nv =
				realloc(f->v, f->cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			f->v = nv;
		}
		if (!(f->v[f->n].path = strdup(l)))
			return -ENOMEM;
		f->v[f->n++].pkg = name;
	}
	return 0;
}

static int pkg_files_load(const struct diff_trees *t, struct pkg_files *f)
{
	struct side y;
	f->loaded = true;
	int r = diff_side_load(t->parts, true, "/var/lib/dpkg/info", &y);
	if (r < 0 || !y.exists || !S_ISDIR(y.st.st_mode)) {
		diff_side_release(&y);
		return r;
	}
	int fd = openat(y.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	diff_side_release(&y);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	struct dirent *de;
	for (errno = 0; r >= 0 && (de = readdir(d)); errno = 0) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l <= 5 || strcmp(de->d_name + l - 5, ".list") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode) || after_creation(t->a, &st.st_ctim))
			continue; /* changed since: it tells nothing of then */
		_cleanup_free_ char *text = NULL,
				    *pkg = strndup(de->d_name, l - 5);
		if (!pkg)
			return -ENOMEM;
		if ((r = read_file_at(dirfd(d), de->d_name, &text, NULL)) < 0)
			r = r == -ENOENT ? 0 : r;
		else
			r = pkg_list_add(f, pkg, text);
	}
	if (r >= 0 && errno)
		r = -errno;
	if (r >= 0 && f->n)
		qsort(f->v, f->n, sizeof(*f->v), cmp_pkg_file);
	return r;
}

/* The package of B that held PATH when A was created, or NULL. */
static int pkg_of(const struct diff_trees *t, struct pkg_files *f,
		  const char *path, const char **pkg)
{
	*pkg = NULL;
	int r = f->loaded ? 0 : pkg_files_load(t, f);
	struct pkg_file key = {(char *)path, NULL}, *hit = NULL;
	if (r >= 0 && f->n)
		hit = bsearch(&key, f->v, f->n, sizeof(*f->v), cmp_pkg_file);
	if (hit)
		*pkg = hit->pkg;
	return r;
}

/* Modify/delete: a path that A changed and B deleted after A was
 * created.  B deleted it if the directory that held it in B changed since
 * (or is gone) and B had it when A was created: A's version is a copy-up
 * of B's file (an origin, on the file or in lower-had), and B holds that
 * file nowhere else (A renamed or linked it: then overlayfs shows A's
 * version with the inode number of B's); or A replaced it whole while B
 * had it (lower-had), or, where lower-had says nothing, while one of B's
 * packages held it (*pkg names it).  Where nothing tells, *unsure.  In
 * that order: the
 * first test costs one look per directory, and spares the others in the
 * usual case. */
struct dir_seen {
	char *dir; /* the last directory looked at in B */
	bool changed;
};

static int deleted_in_b(const struct diff_trees *t,
			const struct known_ctimes *known,
			const struct had_list *had, struct pkg_files *pkgs,
			const char *path, struct dir_seen *seen, bool *deleted,
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
				(after_creation(t->a, &y.st.st_ctim) &&
				 !ctime_known(known, seen->dir, &y.st.st_ctim));
		diff_side_release(&y);
	}
	if (!seen->changed)
		return 0;
	if ((r = copied_up(diff_part_of(t->parts, path), path)) < 0)
		return r;
	const struct had_entry *h = had ? had_find(had, path) : NULL;
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

/* A file A replaced whole (no copy-up says so) or made, in a directory
 * of B that changed since A was created, where nothing recorded whether B
 * had it then. */
static void note_unsure(struct world_change *c, const char *a, const char *b)
{
	if (!c->note &&
	    asprintf(&c->note,
		     "%s replaced or made this file while %s's directory "
		     "changed after %s was created: pwapt cannot tell whether "
		     "%s had it then; if %s deleted it since, a merge brings "
		     "it back",
		     a, b, a, b, b) < 0)
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
	if (had_ok) {
		/* Now, for a later merge, what B still holds as then. */
		(void)diff_note_lower(t->s, t->a);
		if ((r = had_load(t->s, t->name_a, &had)) < 0) {
			known_release(&known);
			return werr_errno(err, -r,
					  "cannot read what '%s' saw "
					  "of '%s'",
					  t->name_a, t->name_b);
		}
	}
	struct dir_seen seen = {0};
	struct pkg_files pkgs = {0};
	const char *a_top = NULL; /* below it, B has nothing */
	for (size_t i = 0; i < d->n && r >= 0; i++) {
		struct world_change *c = &d->v[i];
		bool yes = false, unsure = false;
		const char *pkg = NULL;
		if (c->kind == 'A' && a_top &&
		    diff_below(c->path, a_top, strlen(a_top))) {
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
			if (yes)
				note(c, "changed", t->name_a);
			if (unsure)
				note_unsure(c, t->name_a, t->name_b);
		} else if (c->kind != 'A' &&
			   /* Both made the same change (the same package's
			    * files, the same download) at different times:
			    * nothing of B's is lost by taking A's. */
			   !(c->kind == 'M' &&
			     !(c->what & ~(unsigned)WORLD_CHANGED_TIMES))) {
			r = changed_in_b(t, &known, c->path, &yes);
		}
		c->conflict = yes;
		c->unsure = unsure;
	}
	known_release(&known);
	had_release(&had);
	pkg_files_release(&pkgs);
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
