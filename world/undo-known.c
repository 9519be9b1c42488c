/* What the worlds that saw DST before a merge learn when the merge is
 * undone (rolled back, or its saves released): the ctimes that pwapt's own
 * writes left on DST's paths, content as before the merge, join their
 * known-ctimes, so that these writes are not taken for changes of DST.
 *
 * A world learns the ctime that an undo left on a path only where the
 * ctime the path had before the merge touched it was no change for that
 * world (at or before its creation, or already known to it): a change DST
 * made after the world was created, before the merge, or between the merge
 * and its undo, stays a change, and a conflict for a later merge.  So the
 * merge notes, before it writes anything, the ctimes DST's paths and
 * their directories have (undo/before, written by save_all), and those of
 * a directory it moves away whole to be copied back (undo/N.before).
 * Nor is a ctime learnt for a file that DST changed between the save and
 * the undo (an xattr, an append: same inode): the undo learns only where
 * the file's ctime just before its write is the one the save left
 * (undo/seen, written by save_all), else the one before the merge. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "fsutil.h"
#include "merge-internal.h"
#include "strv.h"

struct ctime_ent {
	char *path;
	struct timespec c;
};

static int cmp_ent(const void *a, const void *b)
{
	const struct ctime_ent *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c || (x->c.tv_sec == y->c.tv_sec && x->c.tv_nsec == y->c.tv_nsec))
		return c;
	return x->c.tv_sec != y->c.tv_sec
		       ? (x->c.tv_sec > y->c.tv_sec) - (x->c.tv_sec < y->c.tv_sec)
		       : (x->c.tv_nsec > y->c.tv_nsec) -
				 (x->c.tv_nsec < y->c.tv_nsec);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct ctime_ent *)a)->path,
		      ((const struct ctime_ent *)b)->path);
}

struct ctime_set {
	struct ctime_ent *v;
	size_t n, cap;
};

static void set_release(struct ctime_set *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	*m = (struct ctime_set){0};
}

/* Adds the lines "SEC NSEC PATH" of TEXT (malformed ones skipped). */
static int set_add_lines(struct ctime_set *m, const char *text)
{
	for (const char *l = text; l && *l;) {
		const char *nl = strchrnul(l, '\n');
		_cleanup_free_ char *line = strndup(l, (size_t)(nl - l));
		l = *nl ? nl + 1 : nl;
		long long sec;
		long nsec;
		int off = 0;
		if (!line)
			return -ENOMEM;
		if (sscanf(line, "%lld %ld %n", &sec, &nsec, &off) != 2 || !off)
			continue;
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 64;
			struct ctime_ent *nv = realloc(m->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			m->v = nv;
			m->cap = cap;
		}
		if (!(m->v[m->n].path = path_unescape(line + off)))
			return -ENOMEM;
		m->v[m->n++].c = (struct timespec){sec, nsec};
	}
	return 0;
}

static bool set_has(const struct ctime_set *m, const char *path,
		    const struct timespec *c)
{
	struct ctime_ent key = {(char *)path, *c};
	return m->n && bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_ent);
}

int undo_log_open(struct undo_log *l, int undo, const char *name)
{
	*l = (struct undo_log)UNDO_LOG_INIT;
	l->undo = undo;
	l->name = name;
	if (!(l->f = open_memstream(&l->text, &l->len)))
		return -ENOMEM;
	_cleanup_free_ char *old = NULL;
	size_t len = 0;
	int r = undo < 0 ? -ENOENT : read_file_at(undo, name, &old, &len);
	/* Unreadable (a directory there, an I/O error): no notes, never a
	 * failed undo; the file goes, for this run's notes. */
	if (r < 0 && r != -ENOENT)
		(void)unlinkat(undo, name, 0);
	/* Up to the last whole line before a NUL (a power cut's zeroes)
	 * or a kill's line cut short, which goes from the file, lest the
	 * next note be appended to it. */
	size_t end = old ? strnlen(old, len) : 0;
	const char *nl = end ? memrchr(old, '\n', end) : NULL;
	size_t keep = nl ? (size_t)(nl + 1 - old) : 0;
	if (keep && fwrite(old, 1, keep, l->f) != keep)
		return -ENOMEM;
	if (old && keep < len &&
	    ((l->fd = openat(undo, name, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0 ||
	     ftruncate(l->fd, (off_t)keep) < 0)) {
		/* Gone, and its notes written anew by the next flush. */
		(void)unlinkat(undo, name, 0);
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		keep = 0;
	}
	if (fflush(l->f) != 0)
		return -ENOMEM;
	l->put = keep;
	return 0;
}

void undo_log_flush(struct undo_log *l)
{
	if (!l->f || l->undo < 0 || fflush(l->f) != 0 || l->len == l->put)
		return;
	if (l->fd < 0)
		l->fd = openat(l->undo, l->name,
			       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	struct stat st;
	if (l->fd < 0 || fstat(l->fd, &st) < 0)
		return; /* the notes stay in memory, for this run */
	size_t start = l->put;
	while (l->put < l->len) {
		ssize_t w = write(l->fd, l->text + l->put, l->len - l->put);
		if (w <= 0) {
			/* No line cut short for the next append to join:
			 * this flush's lines go, to be written again. */
			if (ftruncate(l->fd, st.st_size) == 0)
				l->put = start;
			return;
		}
		l->put += (size_t)w;
	}
}

void undo_log_sync(struct undo_log *l)
{
	undo_log_flush(l);
	/* Where the log could not be written it stays in memory: nothing
	 * to make durable, and no error (the notes only spare conflicts). */
	if (l->fd < 0 || fdatasync(l->fd) < 0)
		return;
	/* Its name once: the appends after it are the file's data. */
	if (!l->named && fsync(l->undo) == 0)
		l->named = true;
}

void undo_logs_done(int undo)
{
	(void)unlinkat(undo, UNDO_OWN_LOG, 0);
	(void)unlinkat(undo, UNDO_KNOWN_LOG, 0);
}

char *undo_log_close(struct undo_log *l)
{
	char *text = NULL;
	if (l->f && fclose(l->f) == 0)
		text = steal_pointer(&l->text);
	l->f = NULL;
	undo_log_release(l);
	return text;
}

void undo_log_release(struct undo_log *l)
{
	if (l->f)
		fclose(l->f);
	free(l->text);
	if (l->fd >= 0)
		close(l->fd);
	*l = (struct undo_log)UNDO_LOG_INIT;
}

void undo_put_ctime(FILE *f, const struct stat *st, const char *path)
{
	fprintf(f, "%lld %ld ", (long long)st->st_ctim.tv_sec,
		st->st_ctim.tv_nsec);
	path_escape(f, path);
	fputc('\n', f);
}

static int put_entry(const struct fs_entry *e, void *data)
{
	undo_put_ctime(data, &e->st, e->path);
	return e->mount_point;
}

void undo_note_before_below(int undo, size_t k, int parent, const char *base,
			    const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	char name[48];
	snprintf(name, sizeof(name), "%zu.before", k);
	_cleanup_close_ int fd = openat(parent, base, O_RDONLY | O_DIRECTORY |
						      O_NOFOLLOW | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : open_memstream(&buf, &len);
	if (!f)
		return;
	int r = fs_walk(fd, path, FS_WALK_STAT, put_entry, NULL, f);
	/* None rather than a part: a path without its line is not learnt. */
	if (fclose(f) == 0 && r >= 0)
		(void)write_file_atomic(undo, name, buf, len, 0600);
}

void undo_note_before_dir(FILE *f, int tree, const char *path, char **last)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash && slash > path ? (size_t)(slash - path) : 1;
	if (*last && strlen(*last) == len && !strncmp(*last, path, len))
		return;
	free(*last);
	*last = strndup(path, len);
	_cleanup_close_ int fd = *last ? open_beneath(tree, *last, O_PATH) : -1;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		undo_put_ctime(f, &st, *last);
}

int undo_known_open(struct undo_known *k, int undo, const struct plan *p)
{
	*k = (struct undo_known)UNDO_KNOWN_INIT;
	struct ctime_set *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	k->before = b;
	int r = undo_log_open(&k->notes, undo, UNDO_KNOWN_LOG);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL, *seen = NULL;
	if (!(k->seen = calloc(1, sizeof(*k->seen))))
		return -ENOMEM;
	int rs = undo < 0 ? -ENOENT : read_file_at(undo, "seen", &seen, NULL);
	if ((rs < 0 && rs != -ENOENT) ||
	    (rs >= 0 && (rs = set_add_lines(k->seen, seen)) < 0))
		return rs;
	if (k->seen->n)
		qsort(k->seen->v, k->seen->n, sizeof(*k->seen->v), cmp_ent);
	r = undo < 0 ? -ENOENT : read_file_at(undo, "before", &text, NULL);
	if (r == -ENOENT)
		return 0; /* an older pwapt's merge: nothing learnt */
	if (r < 0 || (r = set_add_lines(b, text)) < 0)
		return r;
	for (size_t i = 0; i < p->n; i++) {
		char name[48];
		_cleanup_free_ char *below = NULL;
		if (p->v[i].had != HAD_DIR || p->v[i].kind == OP_DIR)
			continue;
		snprintf(name, sizeof(name), "%zu.before", i);
		r = read_file_at(undo, name, &below, NULL);
		if (r >= 0)
			r = set_add_lines(b, below);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	/* By path, then ctime: of a path noted twice (a directory that a
	 * later operation saw as its parent, after a save), the first. */
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), cmp_ent);
	return 0;
}

void undo_known_release(struct undo_known *k)
{
	if (k->seen)
		set_release(k->seen);
	free(k->seen);
	undo_log_release(&k->notes);
	if (k->before)
		set_release(k->before);
	free(k->before);
	if (k->dirs)
		set_release(k->dirs);
	free(k->dirs);
	*k = (struct undo_known)UNDO_KNOWN_INIT;
}

int undo_write_seen(int undo, const struct plan *p)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return syncfs(undo) < 0 ? -errno : 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->v[i];
		if (o->seen.tv_sec || o->seen.tv_nsec) {
			fprintf(f, "%lld %ld ", (long long)o->seen.tv_sec,
				o->seen.tv_nsec);
			path_escape(f, o->before ? o->before : o->path);
			fputc('\n', f);
		}
	}
	/* One syncfs for UNDO/seen and the links it describes, not an
	 * fsync of the file and of the directory. */
	if (fclose(f) == 0)
		(void)write_file_replace(undo, "seen", buf, len, 0600);
	/* A note that did not get written teaches nothing; but a write
	 * back error of the undo's file system fails the merge. */
	return syncfs(undo) < 0 ? -errno : 0;
}

void undo_known_note(struct undo_known *k, const char *path,
		     const struct stat *last, const struct stat *after)
{
	struct ctime_ent key = {(char *)path, {0, 0}};
	/* Only pwapt wrote it since the save: its ctime is still the one the
	 * save left; anything else may be DST's change, to stay one. */
	const struct ctime_set *own =
		k->seen && k->seen->n &&
				bsearch(&key, k->seen->v, k->seen->n,
					sizeof(*k->seen->v), cmp_path)
			? k->seen
			: k->before;
	FILE *f = k->notes.f;
	if (last && f && !set_has(own, path, &last->st_ctim))
		return;
	const struct ctime_ent *b =
		f && k->before->n ? bsearch(&key, k->before->v,
					       k->before->n,
					       sizeof(*k->before->v), cmp_path)
				     : NULL;
	if (!b)
		return; /* what it had before is not known: nothing learnt */
	while (b > k->before->v && !strcmp(b[-1].path, path))
		b--;
	fprintf(f, "%lld %ld %lld %ld ", (long long)b->c.tv_sec, b->c.tv_nsec,
		(long long)after->st_ctim.tv_sec, after->st_ctim.tv_nsec);
	path_escape(f, path);
	fputc('\n', f);
}

static int note_entry(const struct fs_entry *e, void *data)
{
	undo_known_note(data, e->path, NULL, &e->st);
	return e->mount_point;
}

int undo_known_note_below(struct undo_known *k, int parent, const char *base,
			  const char *path)
{
	_cleanup_close_ int fd = openat(parent, base, O_RDONLY | O_DIRECTORY |
						      O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* Notes of a walk cut short are kept: each is of an entry the
	 * roll-back wrote, whose ctime it saw. */
	return fs_walk(fd, path, FS_WALK_STAT, note_entry, NULL, k);
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash > path ? strndup(path, (size_t)(slash - path))
				     : strdup("/");
}

/* Adds DIR (consumed) to D with its ctime now in TREE; of a merge DONE,
 * only a directory as the merge left it (AFTER), which DST did not write
 * in since.  With ANY, one not there now too: it is back by the end. */
static int dirs_add(struct ctime_set *d, char *dir, int tree, bool done,
		    const struct ctime_set *after, bool any)
{
	_cleanup_free_ char *owned = dir;
	_cleanup_close_ int fd = dir ? open_beneath(tree, dir, O_PATH) : -1;
	struct stat st = {0};
	if (!dir)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].path, dir))
			return 0;
	if ((fd < 0 || fstat(fd, &st) < 0) && !any)
		return 0;
	if (done && !set_has(after, dir, &st.st_ctim))
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct ctime_ent *nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n].path = steal_pointer(&owned);
	d->v[d->n++].c = st.st_ctim;
	return 0;
}

int undo_known_dirs_begin(struct undo_known *k, int mdir, int tree,
			  const struct plan *p)
{
	struct ctime_set *d = calloc(1, sizeof(*d));
	struct ctime_set after = {0};
	_cleanup_free_ char *text = NULL;
	if (!d)
		return -ENOMEM;
	k->dirs = d;
	int r = read_file_at(mdir, "after-dirs", &text, NULL);
	bool done = r >= 0;
	if (r >= 0)
		r = set_add_lines(&after, text);
	if (r == -ENOENT)
		r = 0;
	if (after.n)
		qsort(after.v, after.n, sizeof(*after.v), cmp_ent);
	for (size_t i = 0; r >= 0 && i < p->applied; i++) {
		const struct op *o = &p->v[i];
		r = dirs_add(d, parent_of(o->path), tree, done, &after, false);
		/* A merge not done: the directories its moves left and
		 * entered, by the names they have once moved back (the
		 * journal has no ctime of theirs as the merge left them). */
		_cleanup_free_ char *dir =
			r >= 0 && !done ? parent_of(o->path) : NULL;
		if (dir)
			r = dirs_add(d, merge_moves_unapplied(p, i, dir), tree,
				     false, NULL, true);
		if (r >= 0 && !done && o->kind == OP_MOVE && o->before)
			r = dirs_add(d, parent_of(o->before), tree, false, NULL,
				     true);
	}
	set_release(&after);
	return r;
}

void undo_known_dirs_end(struct undo_known *k, int tree)
{
	for (size_t i = 0; k->dirs && i < k->dirs->n; i++) {
		const char *dir = k->dirs->v[i].path;
		_cleanup_close_ int fd = open_beneath(tree, dir, O_PATH);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0)
			undo_known_note(k, dir, NULL, &st);
	}
}

/* Whether world NAME saw DST as it was before the merge that MDIR
 * describes: it is SRC, or built on DST before that merge was done (the
 * time "after" was written; no world is made while a merge runs).  Once
 * the merge is done SRC is gone: a world of its name is a later one. */
static bool saw_before(struct world_store *s, int mdir, const struct plan *p,
		       const char *name, struct world_meta *m)
{
	if (meta_load(s, name, m, NULL) < 0)
		return false;
	if (p->phase != 2 && !strcmp(name, p->src))
		return true;
	if (!strcmp(name, p->dst) || !store_is_ancestor(s, name, p->dst))
		return false;
	struct stat done;
	if (fstatat(mdir, "after", &done, 0) < 0)
		return true;
	return m->created < done.st_mtim.tv_sec ||
	       (m->created == done.st_mtim.tv_sec &&
		m->created_ns < done.st_mtim.tv_nsec);
}

/* Whether ctime C of a path is no change of DST's for world M, who knew
 * KNOWN: at or before its creation (the same clock tick counts as
 * before, as wdiff judges), or a ctime it knows. */
static bool unchanged_for(const struct world_meta *m,
			  const struct ctime_set *known, const char *path,
			  const struct timespec *c)
{
	return c->tv_sec < m->created ||
	       (c->tv_sec == m->created && c->tv_nsec <= m->created_ns) ||
	       set_has(known, path, c);
}

/* The notes' "ASEC ANSEC PATH" lines whose before-ctime is no change for
 * M, into F. */
static int learnt(const struct world_meta *m, const struct ctime_set *known,
		  const char *notes, FILE *f)
{
	size_t n = 0;
	for (const char *l = notes; l && *l;) {
		const char *nl = strchrnul(l, '\n');
		_cleanup_free_ char *line = strndup(l, (size_t)(nl - l));
		l = *nl ? nl + 1 : nl;
		long long bs;
		long bn;
		int a = 0;
		if (!line)
			return -ENOMEM;
		if (sscanf(line, "%lld %ld %n", &bs, &bn, &a) != 2 || !a)
			continue;
		const char *rest = line + a, *sp = strchr(rest, ' ');
		sp = sp ? strchr(sp + 1, ' ') : NULL;
		if (!sp)
			continue;
		_cleanup_free_ char *path = path_unescape(sp + 1);
		struct timespec b = {bs, bn};
		if (!path)
			return -ENOMEM;
		long long as;
		long an;
		/* A note shared before (an undo run again): known. */
		if (sscanf(rest, "%lld %ld", &as, &an) == 2 &&
		    set_has(known, path, &(struct timespec){as, an}))
			continue;
		if (unchanged_for(m, known, path, &b)) {
			fprintf(f, "%s\n", rest);
			n++;
		}
	}
	return (int)(n > 0);
}

int undo_known_share(struct world_store *s, int mdir, const struct plan *p,
		     struct undo_known *k)
{
	if (!k->notes.f)
		return 0;
	_cleanup_free_ char *notes = undo_log_close(&k->notes);
	int r = notes ? 0 : -ENOMEM;
	/* Failing (a racing tree), the ctimes stay unknown: conflicts that
	 * check-off or --force settle, never a conflict missed. */
	if (crash_fail("ctime-record", ESTALE) < 0)
		return 0;
	if (r < 0 || !*notes)
		return r;
	_cleanup_strv_free_ char **names = NULL;
	r = store_world_names(s, &names);
	for (char **w = names; r >= 0 && w && *w; w++) {
		struct world_meta m = {0};
		if (!saw_before(s, mdir, p, *w, &m)) {
			meta_release(&m);
			continue;
		}
		_cleanup_close_ int wdir =
			openat(s->worlds_fd, *w,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_free_ char *old = NULL, *buf = NULL;
		size_t len = 0;
		struct ctime_set known = {0};
		FILE *f = NULL;
		r = wdir < 0 ? -errno : read_file_at(wdir, "known-ctimes", &old,
						     NULL);
		if (r == -ENOENT) /* only a missing file is none */
			r = 0;
		if (r >= 0)
			r = set_add_lines(&known, old);
		if (r >= 0 && known.n)
			qsort(known.v, known.n, sizeof(*known.v), cmp_ent);
		if (r >= 0 && !(f = open_memstream(&buf, &len)))
			r = -ENOMEM;
		if (r >= 0) {
			fputs(old ? old : "", f);
			r = learnt(&m, &known, notes, f);
		}
		if (f && fclose(f) != 0 && r >= 0)
			r = -ENOMEM;
		if (r > 0)
			r = write_file_atomic(wdir, "known-ctimes", buf, len,
					      0600);
		set_release(&known);
		meta_release(&m);
	}
	return r < 0 ? r : 0;
}
