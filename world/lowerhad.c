/* What a world A recorded of its parent B (lowerhad.h): known-ctimes,
 * read here, and lower-had, read, noted and appended here. */
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
#include "diff.h"
#include "fsutil.h"
#include "layers.h"
#include "lowerhad.h"

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

void known_release(struct known_ctimes *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].path);
	free(k->v);
	*k = (struct known_ctimes){0};
}

int known_load(char *text, struct known_ctimes *k)
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
bool ctime_known(const struct known_ctimes *k, const char *path,
		 const struct timespec *c)
{
	struct known_ctime key = {(char *)path, *c};
	return k->n && bsearch(&key, k->v, k->n, sizeof(*k->v), cmp_known);
}

static int had_rank(char kind)
{
	return kind == 'O'   ? 0
	       : kind == 'E' ? 1
	       : kind == 'N' ? 2
			     : 3 + (kind == 'R');
}

static int cmp_had(const void *a, const void *b)
{
	const struct had_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : had_rank(x->kind) - had_rank(y->kind);
}

void had_release(struct had_list *h)
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
		if ((kind != 'E' && kind != 'N' && kind != 'O' && kind != 'X' &&
		     kind != 'R') ||
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
int had_load(int wdir, struct had_list *h)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_max(wdir, "lower-had", HAD_MAX, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	return had_parse(text, h);
}

/* Whether H holds exactly this line. */
bool had_has(const struct had_list *h, char kind, ino_t ino, const char *path)
{
	const struct had_entry *x = had_find(h, path);
	for (; x && x < h->v + h->n && !strcmp(x->path, path); x++)
		if (x->kind == kind && (kind != 'O' || x->ino == ino))
			return true;
	return false;
}

const struct had_entry *had_find(const struct had_list *h, const char *path)
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
	_cleanup_free_ char *copy = len ? strndup(lines, len) : NULL,
			    *buf = NULL;
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
	r = write_file_atomic(wdir, "lower-had", buf ? buf : "", len, 0600);
	/* What could not be noted told of the old parent too. */
	if (r >= 0 && unlinkat(wdir, LOWER_HAD_LOST, 0) < 0 && errno != ENOENT)
		r = -errno;
	return r;
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
	char *dir;		   /* the last directory looked at in B */
	int dir_fd;		   /* it, when B has it; else -1 */
	bool dir_same;		   /* it is unchanged since A's creation */
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
	/* A walk without the status of files: a device's number (is it a
	 * whiteout?) is looked up. */
	if (S_ISCHR(e->st.st_mode)) {
		if (fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (S_ISCHR(st.st_mode) && st.st_rdev == 0)
			return 0;
	}
	if (had_find(n->had, e->path))
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
	if (errno == ENOENT)
		return 0; /* gone meanwhile: nothing to note */
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

/* diff_note_lower() once, into A's directory WDIR. */
static int note_lower_at(struct world_store *s, const struct world_meta *a,
			 int wdir)
{
	struct had_list had = {0};
	struct known_ctimes known = {0};
	_cleanup_free_ char *text = NULL,
			    *tree_b = store_tree_path(s, a->parents[0]);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (!tree_b)
		return -ENOMEM;
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
		r = fs_walk(fd, prefix, 0, note_entry, NULL, &n);
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
	meta_release(&now);
	had_release(&had);
	known_release(&known);
	return r;
}

int diff_note_lower(struct world_store *s, const struct world_meta *a)
{
	if (a->n_parents != 1)
		return 0; /* its lower is no one world's tree */
	/* Held from the start: the lines go to this world, not to one made
	 * again under its name while the walk ran (had_append_at). */
	_cleanup_close_ int wdir =
		openat(s->worlds_fd, a->name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wdir < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A file of the running world gone while it was walked: again. */
	int r = -ENOENT;
	for (int i = 0; i < 3 && (r == -ENOENT || r == -ESTALE); i++)
		r = note_lower_at(s, a, wdir);
	/* Not noted (a full disk): said to every later diff, where it can
	 * be (diff_conflicts reads it; a rebase drops it with the lines). */
	if (r < 0)
		closep(&(int){openat(wdir, LOWER_HAD_LOST,
				     O_WRONLY | O_CREAT | O_CLOEXEC, 0600)});
	return r;
}
