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
#include "pkglists.h"

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
		c->note = strdup(notes[act]);
	} else if (r < 0) {
		c->note = why ? why : strdup(e.msg);
		why = NULL;
	}
	free(why);
}

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

static int had_rank(char kind)
{
	return kind == 'O' ? 0 : kind == 'E' ? 1 : kind == 'N' ? 2 : 3 + (kind == 'R');
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

static const struct had_entry *had_find(const struct had_list *h,
					const char *path);

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
		if ((kind != 'E' && kind != 'N' && kind != 'O' &&
		     kind != 'X' && kind != 'R') ||
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

/* The most of lower-had that is read: unlocked hooks append to it, for
 * files a world made.  Past that it tells nothing (-EFBIG): the warning
 * path, never a reading of gigabytes. */
#define HAD_MAX ((size_t)128 << 20)

/* WDIR: the world's directory in the state. */
static int had_load(int wdir, struct had_list *h)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_max(wdir, "lower-had", HAD_MAX, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	return had_parse(text, h);
}

/* Whether H holds exactly this line. */
static bool had_has(const struct had_list *h, char kind, ino_t ino,
		    const char *path)
{
	const struct had_entry *x = had_find(h, path);
	for (; x && x < h->v + h->n && !strcmp(x->path, path); x++)
		if (x->kind == kind && (kind != 'O' || x->ino == ino))
			return true;
	return false;
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

/* Appends to the lower-had of world NAME, whose directory WDIR is (held
 * since before what LINES tells was looked at), those of LINES that it
 * does not hold yet (a merge tried again, two runs ending at once), and
 * only while NAME is still that directory: a world deleted and made again
 * under its name meanwhile gets none of them. */
static int had_append_at(struct world_store *s, const char *name, int wdir,
			 const char *lines, size_t len)
{
	struct had_list had = {0};
	_cleanup_free_ char *copy = len ? strndup(lines, len) : NULL, *buf = NULL;
	size_t n_buf = 0;
	if (!len)
		return 0;
	if (!copy)
		return -ENOMEM;
	int r = had_load(wdir, &had);
	if (r == -EFBIG)
		return 0; /* read as nothing known anyway */
	FILE *f = r < 0 ? NULL : open_memstream(&buf, &n_buf);
	if (r >= 0 && !f)
		r = -ENOMEM;
	for (char *line = copy, *nl; r >= 0 && (nl = strchr(line, '\n'));
	     line = nl + 1) {
		*nl = '\0';
		struct had_list one = {0};
		char *dup = NULL;
		if (asprintf(&dup, "%s\n", line) < 0 ||
		    (r = had_parse(dup, &one)) < 0) {
			r = r < 0 ? r : -ENOMEM;
		} else if (one.n && !had_has(&had, one.v[0].kind, one.v[0].ino,
					      one.v[0].path)) {
			fputs(line, f);
			fputc('\n', f);
		}
		free(dup);
		had_release(&one);
	}
	had_release(&had);
	if (f && fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0 || !n_buf)
		return r;
	struct stat held, now;
	if (fstat(wdir, &held) < 0)
		return -errno;
	if (fstatat(s->worlds_fd, name, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (held.st_dev != now.st_dev || held.st_ino != now.st_ino)
		return 0; /* another world of that name now */
	_cleanup_close_ int fd = openat(
		wdir, "lower-had",
		O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* deleted meanwhile */
	ssize_t n = write(fd, buf, n_buf);
	if (n < 0 || (size_t)n != n_buf)
		return n < 0 ? -errno : -EIO;
	return fsync(fd) < 0 ? -errno : 0;
}

int diff_had_forget_lower(struct world_store *s, const char *name)
{
	_cleanup_close_ int wdir =
		openat(s->worlds_fd, name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *text = NULL, *buf = NULL;
	size_t len = 0;
	if (wdir < 0)
		return errno == ENOENT ? 0 : -errno;
	int r = read_file_max(wdir, "lower-had", HAD_MAX, &text, NULL);
	/* Too big: read as nothing known anyway. */
	if (r < 0 && r != -ENOENT && r != -EFBIG)
		return r;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	/* O lines tell of A's own files; whole lines only, as had_parse. */
	for (char *line = r < 0 ? NULL : text, *nl;
	     line && (nl = strchr(line, '\n')); line = nl + 1)
		if (line[0] == 'O' && line[1] == ' ')
			fwrite(line, 1, (size_t)(nl - line) + 1, f);
	/* And that the origins of A's copy-ups may name files of its old
	 * parent's layers: none tells of B's own (conflicts-moved.c). */
	fputs("R /\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(wdir, "lower-had", buf ? buf : "", len, 0600);
}

int diff_had_append(struct world_store *s, const char *name, const char *lines,
		    size_t len)
{
	_cleanup_close_ int wdir =
		openat(s->worlds_fd, name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wdir < 0)
		return -errno;
	return had_append_at(s, name, wdir, lines, len);
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
	int dir_fd; /* it, when B has it; else -1 */
	bool dir_same; /* it is unchanged since A's creation */
	struct timespec dir_ctime; /* its ctime when looked at */
	FILE *out;
};

/* B's directory of PATH (its first LEN bytes) into N, once for siblings:
 * whether B has it, and whether B holds it as at A's creation. */
static int b_dir(struct noting *n, const char *path, size_t len)
{
	if (n->dir && strlen(n->dir) == len && !strncmp(n->dir, path, len))
		return 0;
	free(n->dir);
	closep(&n->dir_fd);
	n->dir_same = false;
	if (!(n->dir = strndup(path, len)))
		return -ENOMEM;
	int fd = open_beneath(n->fb, len > 1 ? n->dir + 1 : ".",
			      O_PATH | O_DIRECTORY);
	struct stat st;
	if (fd < 0)
		return diff_absent(fd) ? 0 : fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	n->dir_fd = fd;
	n->dir_ctime = st.st_ctim;
	/* Changed since: it cannot tell what was there then. */
	n->dir_same = !diff_after_creation(n->a, &st.st_ctim) ||
		      ctime_known(n->known, n->dir, &st.st_ctim);
	return 0;
}

static int note_entry(const struct fs_entry *e, void *data)
{
	struct noting *n = data;
	const char *slash = strrchr(e->path, '/');
	size_t len = slash > e->path ? (size_t)(slash - e->path) : 1;
	struct stat st;
	int r;
	if (S_ISDIR(e->st.st_mode)) {
		/* Nothing below a directory that B lacks now can have been
		 * B's then (B would have deleted the directory since, which
		 * changes the ctime of the one that held it): not one look
		 * below it. */
		if ((r = b_dir(n, e->path, len)) < 0)
			return r;
		if (n->dir_fd < 0)
			return 1;
		if (fstatat(n->dir_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return S_ISDIR(st.st_mode) ? 0 : 1;
		if (errno != ENOENT)
			return -errno;
		/* A made it, B lacks it now: whatever B puts there later,
		 * A never sees (hidden_since). */
		if (!had_has(n->had, 'X', 0, e->path)) {
			fputs("X ", n->out);
			path_escape(n->out, e->path);
			fputc('\n', n->out);
		}
		return 1;
	}
	if ((S_ISCHR(e->st.st_mode) && e->st.st_rdev == 0) ||
	    had_find(n->had, e->path))
		return 0;
	/* B's directory first: where it cannot tell, no xattr is read. */
	if ((r = b_dir(n, e->path, len)) < 0)
		return r;
	if (n->dir_fd < 0 || !n->dir_same)
		return 0;
	char proc[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", e->dirfd, e->name);
	if (lgetxattr(proc, "trusted.overlay.origin", NULL, 0) >= 0)
		return 0; /* a copy-up: it says so itself */
	if (errno != ENODATA && errno != ENOTSUP)
		return -errno;
	crash_point("lower-had-lookup");
	bool had = fstatat(n->dir_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!had && errno != ENOENT)
		return -errno;
	/* B (its own processes, a merge, the host) may change the directory
	 * at any time: only one unchanged until after the look tells what B
	 * had when A was created. */
	if (fstat(n->dir_fd, &st) < 0)
		return -errno;
	if (st.st_ctim.tv_sec != n->dir_ctime.tv_sec ||
	    st.st_ctim.tv_nsec != n->dir_ctime.tv_nsec) {
		n->dir_same = false;
		return 0;
	}
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
			    *tree_b = store_tree_path(s, a->parents[0]);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (!tree_b)
		return -ENOMEM;
	/* Held from the start: the lines go to this world, not to one made
	 * again under its name while the walk ran (had_append_at). */
	_cleanup_close_ int wdir =
		openat(s->worlds_fd, a->name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wdir < 0)
		return errno == ENOENT ? 0 : -errno;
	_cleanup_close_ int fb = open(tree_b, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fb < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A parent world that is not up shows an empty directory there:
	 * asked of what was opened, not of what the path names later. */
	if (!store_is_root(a->parents[0]) && is_mount_point_fd(fb) <= 0)
		return 0;
	(void)read_file_at(wdir, "known-ctimes", &text, NULL);
	FILE *out = open_memstream(&buf, &len);
	int r = !out ? -ENOMEM : known_load(text, &known);
	if (r >= 0 && (r = had_load(wdir, &had)) == -EFBIG) {
		/* Too big to be read: nothing more is worth noting. */
		if (out)
			fclose(out);
		known_release(&known);
		return 0;
	}
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
	/* Unlocked: a rebase may have given A another parent meanwhile,
	 * whose lower-had lines it dropped; these tell of the old one. */
	struct world_meta now = {0};
	if (r >= 0 && meta_load(s, a->name, &now, NULL) >= 0 &&
	    now.n_parents == 1 && !strcmp(now.parents[0], a->parents[0]))
		r = had_append_at(s, a->name, wdir, buf, len);
	/* Not noted (a full disk): said to every later diff, if it can be. */
	if (r < 0)
		closep(&(int){openat(wdir, "lower-had-lost",
				     O_WRONLY | O_CREAT | O_CLOEXEC, 0600)});
	meta_release(&now);
	had_release(&had);
	known_release(&known);
	return r;
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
		/* Now, what B still holds; unsure refuses if unnoted. */
		lost = diff_note_lower(t->s, t->a) < 0;
		_cleanup_close_ int wdir = openat(
			t->s->worlds_fd, t->name_a,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		lost = lost || (wdir >= 0 && (faccessat(wdir, "lower-had-lost",
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
