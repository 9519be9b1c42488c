/* The merge's plan and its journal (README, "Merges"): STATE/merge/journal
 * holds the plan, one operation a line, and the phases reached; a kept
 * STATE/merges/DST, the record of the last merge into DST, has the same
 * form.  Also where a plan's paths and worlds lie in a tree. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "merge-internal.h"

static const char *const kind_names[] = {"del", "put", "dir", "mrg", "mov"};
static const char *const had_names[] = {"none", "dir", "file"};

void journal_plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].path);
		free(p->v[i].from);
		free(p->v[i].before);
	}
	free(p->v);
	free(p->src);
	free(p->dst);
	strvfreep(&p->rebased);
	*p = (struct plan){0};
}

/* Cuts a last line without its newline (an append that a crash tore,
 * which journal_read() ignores) off FD, so that the next append is a line
 * of its own and not the end of that one.  A journal with no newline at
 * all is left as it is (journal_read() refuses it anyway). */
static int cut_torn_tail(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	char buf[256];
	for (off_t end = st.st_size; end > 0;) {
		size_t n = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
		ssize_t got = pread(fd, buf, n, end - (off_t)n);
		if (got != (ssize_t)n)
			return got < 0 ? -errno : -EIO;
		for (size_t i = n; i-- > 0;)
			if (buf[i] == '\n') {
				off_t keep = end - (off_t)n + (off_t)i + 1;
				if (keep == st.st_size)
					return 0;
				return ftruncate(fd, keep) < 0 ? -errno : 0;
			}
		end -= (off_t)n;
	}
	return 0;
}

int journal_append(int dirfd, const char *text)
{
	_cleanup_close_ int fd =
		openat(dirfd, "journal", O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = cut_torn_tail(fd);
	if (r < 0)
		return r;
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		return -errno ? -errno : -EIO;
	return 0;
}

int journal_write(int dirfd, const struct plan *p)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "pwapt-merge 1\nid %" PRIu64 "\nsrc %s\ndst %s\n%s", p->id,
		p->src, p->dst, p->rebase ? "rebase\n" : "");
	for (char **w = p->rebased; w && *w; w++)
		fprintf(f, "rebased %s\n", *w);
	for (size_t i = 0; i < p->n; i++) {
		fprintf(f, "op %zu %s %s ", i, kind_names[p->v[i].kind],
			had_names[p->v[i].had]);
		path_escape(f, p->v[i].path);
		fputc('\n', f);
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].dst_changed)
			fprintf(f, "changed %zu\n", i);
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].kind == OP_MOVE) {
			fprintf(f, "from %zu ", i);
			path_escape(f, p->v[i].from);
			fputc('\n', f);
		}
		if (p->v[i].before) {
			fprintf(f, "before %zu ", i);
			path_escape(f, p->v[i].before);
			fputc('\n', f);
		}
		if (p->v[i].kind == OP_MOVE && p->v[i].origin_known)
			fprintf(f, "origin %zu %llu %llu %lld %ld\n", i,
				(unsigned long long)p->v[i].origin_dev,
				(unsigned long long)p->v[i].origin_ino,
				(long long)p->v[i].origin_ctime.tv_sec,
				p->v[i].origin_ctime.tv_nsec);
		if (op_takes_dir(&p->v[i]) && p->v[i].ident_known)
			fprintf(f, "ident %zu %llu %llu %lld %ld\n", i,
				(unsigned long long)p->v[i].ident_dev,
				(unsigned long long)p->v[i].ident_ino,
				(long long)p->v[i].ident_ctime.tv_sec,
				p->v[i].ident_ctime.tv_nsec);
	}
	fputs("phase planned\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(dirfd, "journal", buf, len, 0600);
}

bool undo_exists(int mdir)
{
	return faccessat(mdir, "undo", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	       errno != ENOENT;
}

int journal_remove_dir(int dirfd, const char *name)
{
	_cleanup_close_ int d = openat(
		dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return errno == ENOENT ? 0 : rm_rf_at(dirfd, name);
	/* The journal first: a kill below leaves a record that reads as no
	 * merge at all (recovery removes it), never a journal whose undo is
	 * half gone, which no roll-back could finish.  No fsync: a
	 * journaling file system commits the unlink no later than the
	 * removals after it (and this is on wmerge's way). */
	if (unlinkat(d, "journal", 0) < 0 && errno != ENOENT)
		return -errno;
	int dup_fd = dup(d);
	_cleanup_closedir_ DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!dir) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	unsigned long n = 0;
	int r = 0;
	for (struct dirent *e; (e = readdir(dir));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		crash_point_n("merge-forget", n++);
		int q = rm_rf_at(d, e->d_name);
		if (q < 0 && !r)
			r = q;
	}
	if (r >= 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		r = -errno;
	return r;
}

/* The index of NAME among the N NAMES, or -1. */
static int name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

/* A decimal number, all of TEXT: -EBADMSG for anything else. */
static int parse_number(const char *text, uint64_t *out)
{
	if (!isdigit((unsigned char)*text))
		return -EBADMSG;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* Whether PATH can be a path of a plan: absolute, no empty, "." or ".."
 * component (a torn line may leave "" or half a name; that is caught by
 * the missing end of the plan, this by what a path never is). */
static bool op_path_valid(const char *path)
{
	if (path[0] != '/')
		return false;
	if (!path[1])
		return true;
	for (const char *c = path + 1;;) {
		size_t len = strcspn(c, "/");
		if (!len || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[len])
			return true;
		c += len + 1;
	}
}

/* "op N KIND HAD PATH": the next operation of P, which has room for it. */
static int parse_op(char *rest, struct plan *p)
{
	char *kind = strchr(rest, ' ');
	if (!kind)
		return -EBADMSG;
	*kind++ = '\0';
	char *had = strchr(kind, ' ');
	char *path = had ? strchr(had + 1, ' ') : NULL;
	if (!path)
		return -EBADMSG;
	*had++ = '\0';
	*path++ = '\0';
	uint64_t idx;
	int k = name_index(kind_names, 5, kind),
	    h = name_index(had_names, 3, had);
	if (parse_number(rest, &idx) < 0 || idx != p->n || k < 0 || h < 0)
		return -EBADMSG;
	char *u = path_unescape(path);
	if (!u)
		return -ENOMEM;
	if (!op_path_valid(u)) {
		free(u);
		return -EBADMSG;
	}
	p->v[p->n++] = (struct op){.kind = k, .had = h, .path = u};
	return 0;
}

struct journal_reader {
	size_t line; /* lines read so far */
	size_t cap;  /* room in p->v */
	size_t n_rebased;
	bool id, planned; /* "id" and "phase planned" met */
};

/* One line (a string: any NUL in it is damage, caught by the caller) of
 * the journal into P. */
static int parse_line(struct journal_reader *j, char *line, struct plan *p)
{
	if (j->line++ == 0)
		return strcmp(line, "pwapt-merge 1") ? -EBADMSG : 0;
	char *sp = strchr(line, ' ');
	const char *key = line, *arg = sp ? sp + 1 : "";
	if (sp)
		*sp = '\0';
	if (!strcmp(key, "phase")) {
		int ph = name_index((const char *const[]){"planned", "prepared",
							  "done", "rollback"},
				    4, arg);
		if (ph < 0 || (ph > 0 && !j->planned))
			return -EBADMSG;
		if (ph == 3)
			p->rollback = true;
		else if (ph > p->phase)
			p->phase = ph;
		j->planned = true;
		return 0;
	}
	/* The plan itself: all of it comes before "phase planned". */
	bool plan_key = !strcmp(key, "src") || !strcmp(key, "dst") ||
			!strcmp(key, "id") || !strcmp(key, "rebase") ||
			!strcmp(key, "rebased") || !strcmp(key, "op") ||
			!strcmp(key, "changed") || !strcmp(key, "from") ||
			!strcmp(key, "before") || !strcmp(key, "origin") ||
			!strcmp(key, "ident");
	if (plan_key && j->planned)
		return -EBADMSG;
	if (!strcmp(key, "src") || !strcmp(key, "dst")) {
		char **name = key[0] == 's' ? &p->src : &p->dst;
		if (*name || !store_name_valid(arg))
			return -EBADMSG;
		return (*name = strdup(arg)) ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "id")) {
		if (j->id)
			return -EBADMSG;
		j->id = true;
		return parse_number(arg, &p->id);
	}
	if (!strcmp(key, "rebase")) {
		p->rebase = true;
		return 0;
	}
	if (!strcmp(key, "rebased")) {
		if (!store_name_valid(arg))
			return -EBADMSG;
		for (size_t i = 0; i < j->n_rebased; i++)
			if (!strcmp(p->rebased[i], arg))
				return 0;
		char **nv =
			realloc(p->rebased, (j->n_rebased + 2) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->rebased = nv;
		nv[j->n_rebased] = NULL;
		if (!(nv[j->n_rebased] = strdup(arg)))
			return -ENOMEM;
		nv[++j->n_rebased] = NULL;
		return 0;
	}
	if (!strcmp(key, "changed")) {
		uint64_t idx;
		if (parse_number(arg, &idx) < 0 || idx >= p->n)
			return -EBADMSG;
		p->v[idx].dst_changed = true;
		return 0;
	}
	/* "from N PATH": an OP_MOVE's origin; "before N PATH" */
	if (!strcmp(key, "from") || !strcmp(key, "before")) {
		char *path = strchr(arg, ' ');
		uint64_t idx;
		if (!path)
			return -EBADMSG;
		*path++ = '\0';
		bool from = key[0] == 'f';
		if (parse_number(arg, &idx) < 0 || idx >= p->n ||
		    (from && p->v[idx].kind != OP_MOVE) ||
		    (from ? p->v[idx].from : p->v[idx].before))
			return -EBADMSG;
		char *u = path_unescape(path);
		if (!u)
			return -ENOMEM;
		if (!op_path_valid(u) || !strcmp(u, "/")) {
			free(u);
			return -EBADMSG;
		}
		*(from ? &p->v[idx].from : &p->v[idx].before) = u;
		return 0;
	}
	/* "origin N DEV INO SEC NSEC": an OP_MOVE's origin as planned;
	 * "ident N DEV INO SEC NSEC": the directory an operation takes away
	 * whole, as planned */
	if (!strcmp(key, "origin") || !strcmp(key, "ident")) {
		unsigned long long idx, dev, ino;
		long long sec;
		long nsec;
		int used = 0;
		bool origin = key[0] == 'o';
		if (sscanf(arg, "%llu %llu %llu %lld %ld%n", &idx, &dev, &ino,
			   &sec, &nsec, &used) != 5 ||
		    arg[used] || idx >= p->n || nsec < 0 ||
		    nsec >= 1000000000L)
			return -EBADMSG;
		struct op *o = &p->v[idx];
		if (origin ? o->kind != OP_MOVE || o->origin_known
			   : !op_takes_dir(o) || o->ident_known)
			return -EBADMSG;
		*(origin ? &o->origin_known : &o->ident_known) = true;
		*(origin ? &o->origin_dev : &o->ident_dev) = (dev_t)dev;
		*(origin ? &o->origin_ino : &o->ident_ino) = (ino_t)ino;
		*(origin ? &o->origin_ctime : &o->ident_ctime) =
			(struct timespec){(time_t)sec, nsec};
		return 0;
	}
	if (!strcmp(key, "op")) {
		if (p->n == j->cap) {
			size_t cap = j->cap ? j->cap * 2 : 64;
			struct op *nv = realloc(p->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->v = nv;
			j->cap = cap;
		}
		return parse_op((char *)arg, p);
	}
	return 0; /* a key of a later version: not ours to judge */
}

int journal_read(int dirfd, struct plan *p)
{
	int fd = openat(dirfd, "journal", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	struct plan q = {0};
	struct journal_reader j = {0};
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int r = 0;
	/* Read line by line: a merge of a whole upgrade has a journal of
	 * tens of megabytes.  A last line without its newline is an append
	 * torn by a crash: not there. */
	while (r >= 0 && (len = getline(&line, &size, f)) > 0 &&
	       line[len - 1] == '\n') {
		line[len - 1] = '\0';
		r = strlen(line) != (size_t)len - 1 ? -EBADMSG
						    : parse_line(&j, line, &q);
	}
	if (r >= 0 && ferror(f))
		r = -EIO;
	/* Whole: the header, both worlds and the plan's end. */
	if (r >= 0 && (!q.src || !q.dst || !j.planned))
		r = -EBADMSG;
	for (size_t i = 0; r >= 0 && i < q.n; i++)
		if (q.v[i].kind == OP_MOVE && !q.v[i].from)
			r = -EBADMSG; /* a move without its origin */
	if (r < 0) {
		journal_plan_release(&q);
		return r;
	}
	q.applied = q.n;
	*p = q;
	return 0;
}

/* What TREE holds at PATH: HAD_*, or -errno when it cannot tell (only
 * "nothing there" is HAD_NONE). */
int journal_kind_of(int tree, const char *path, struct stat *st)
{
	_cleanup_close_ int fd = open_beneath(tree, path, O_PATH);
	if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
		return HAD_NONE;
	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0)
		return -errno;
	return S_ISDIR(st->st_mode) ? HAD_DIR : HAD_FILE;
}

int journal_kind_in(struct parent_cache *c, const char *path, struct stat *st)
{
	if (!path[strspn(path, "/")])
		return journal_kind_of(c->tree, path, st);
	const char *b;
	int par = parent_cache_open(c, path, &b);
	if (par == -ENOENT || par == -ENOTDIR || par == -ELOOP)
		return HAD_NONE;
	if (par < 0)
		return par;
	if (fstatat(par, b, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ENOTDIR ? HAD_NONE : -errno;
	return S_ISDIR(st->st_mode) ? HAD_DIR : HAD_FILE;
}

int journal_plan_add(struct plan *p, struct op o)
{
	struct op *nv = o.path ? realloc(p->v, (p->n + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		free(o.path);
		free(o.from);
		free(o.before);
		return -ENOMEM;
	}
	p->v = nv;
	p->v[p->n++] = o;
	return 0;
}

/* The directory that holds PATH, beneath TREE; *base gets its last name. */
int journal_open_parent(int tree, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!slash || slash == path)
		return open_beneath(tree, ".", O_PATH | O_DIRECTORY);
	_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	return open_beneath(tree, dir, O_PATH | O_DIRECTORY);
}

int parent_cache_open(struct parent_cache *c, const char *path,
		      const char **base)
{
	const char *slash = strrchr(path, '/');
	const char *b = slash ? slash + 1 : path;
	if (!*b) /* as fstatat() finds nothing at "" */
		return -ENOENT;
	if (!strcmp(b, ".") || !strcmp(b, ".."))
		return -EINVAL;
	size_t len = slash && slash != path ? (size_t)(slash - path) : 0;
	*base = b;
	if (c->fd >= 0 && strlen(c->dir) == len && !strncmp(c->dir, path, len))
		return c->fd;
	parent_cache_release(c);
	char *dir = strndup(path, len);
	if (!dir)
		return -ENOMEM;
	int fd = open_beneath(c->tree, len ? dir : ".", O_PATH | O_DIRECTORY);
	if (fd < 0) {
		free(dir);
		return fd;
	}
	c->dir = dir;
	c->fd = fd;
	c->opened++;
	return fd;
}

void parent_cache_release(struct parent_cache *c)
{
	closep(&c->fd);
	free(c->dir);
	c->dir = NULL;
}

bool parent_cache_stat(struct parent_cache *c, const char *path,
		       struct stat *st)
{
	if (!path[strspn(path, "/")]) /* the tree itself */
		return fstat(c->tree, st) == 0;
	const char *b;
	int par = parent_cache_open(c, path, &b);
	return par >= 0 && fstatat(par, b, st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* STATE/rolled-back, opened; made (durably) when MAKE. */
static int rolled_back_dir(int state_fd, bool make)
{
	if (make && mkdirat(state_fd, ROLLED_BACK_DIR, 0700) == 0 &&
	    fsync(state_fd) < 0)
		return -errno;
	int fd = openat(state_fd, ROLLED_BACK_DIR,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The line after L, or its end. */
static const char *next_line(const char *l)
{
	const char *e = strchrnul(l, '\n');
	return *e ? e + 1 : e;
}

/* Whether line L is an id, a number and its newline (a torn or damaged
 * line is none), as *ID. */
static bool line_id(const char *l, uint64_t *id)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(l, &end, 10);
	*id = v;
	return isdigit((unsigned char)*l) && !errno && *end == '\n';
}

/* Of the ids in TEXT, one a line, *FOUND gets ID's line (none: NULL);
 * returns the start of its last KEEP - 1 lines, those kept when ID is
 * added. */
static const char *rolled_back_scan(const char *text, uint64_t id, size_t keep,
				    const char **found)
{
	size_t n = 0;
	uint64_t v;
	*found = NULL;
	for (const char *l = text; *l; l = next_line(l), n++)
		if (line_id(l, &v) && v == id)
			*found = l;
	const char *start = text;
	for (; n >= keep && *start; n--)
		start = next_line(start);
	return start;
}

int journal_note_rolled_back(int state_fd, const char *dst, uint64_t id)
{
	_cleanup_free_ char *old = NULL, *buf = NULL;
	/* A file a line beside merges/, not in it: a world's name may hold
	 * a dot, and merges/DST goes with each roll-back. */
	_cleanup_close_ int dir = rolled_back_dir(state_fd, true);
	if (dir < 0)
		return dir;
	int r = read_file_at(dir, dst, &old, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	const char *found = NULL;
	const char *kept =
		rolled_back_scan(old ? old : "", id, ROLLED_BACK_KEEP, &found);
	if (found)
		return 0; /* noted by a run killed before the journal went */
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	uint64_t v;
	for (const char *l = kept; *l; l = next_line(l))
		if (line_id(l, &v))
			fprintf(f, "%" PRIu64 "\n", v);
	fprintf(f, "%" PRIu64 "\n", id);
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(dir, dst, buf, len, 0600);
}

int journal_rolled_back(int state_fd, const char *dst, uint64_t id)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dir = rolled_back_dir(state_fd, false);
	int r = dir < 0 ? dir : read_file_at(dir, dst, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	const char *found = NULL;
	(void)rolled_back_scan(text, id, SIZE_MAX, &found);
	return found != NULL;
}

void journal_forget_rolled_back(int state_fd, const char *dst)
{
	_cleanup_close_ int dir = rolled_back_dir(state_fd, false);
	if (dir >= 0)
		(void)unlinkat(dir, dst, 0);
}
