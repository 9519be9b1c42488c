/* What a merge leaves for its roll-back: what the merged paths are like
 * right after it ("after", "after-shared", "after-dirs"), what the worlds
 * rebased onto DST learn from it, and which merged paths DST changed since. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "dbmerge.h"
#include "fsutil.h"
#include "merge-internal.h"
#include "save.h"
#include "strv.h"

/* Line "sec nsec path" for FD (at PATH). */
static int record_ctime(FILE *f, int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	undo_put_ctime(f, &st, path);
	return 0;
}

/* An open of a path that found nothing there (no such file, or not
 * beneath the tree as a path of directories any more): 0; another error
 * stays one. */
static int absent(int r)
{
	return r == -ENOENT || r == -ENOTDIR || r == -ELOOP ? 0 : r;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory of PATH, "/" for a path at the top; malloc'd. */
static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash > path ? strndup(path, (size_t)(slash - path))
				     : strdup("/");
}

/* The directories that hold the plan's paths: putting and removing
 * entries changed their ctimes too, which wdiff reads as DST's deletions
 * in them (a modify/delete conflict).  Not a directory where the plan met
 * a change of DST's own: a roll-back must not hide that one. */
static int remember_parents(FILE *f, int tree, const struct plan *p)
{
	size_t n = 0;
	char **dirty = calloc(p->n + 1, sizeof(*dirty));
	if (!dirty)
		return -ENOMEM;
	int r = 0;
	for (size_t k = 0; k < p->n && r >= 0; k++) {
		bool own = p->v[k].dst_changed;
		if (own && !(dirty[n] = parent_of(p->v[k].path)))
			r = -ENOMEM;
		else if (own)
			n++;
	}
	qsort(dirty, n, sizeof(*dirty), cmp_name);
	_cleanup_free_ char *last = NULL;
	for (size_t k = 0; k < p->n && r >= 0; k++) {
		char *dir = parent_of(p->v[k].path);
		if (!dir) {
			r = -ENOMEM;
			break;
		}
		if ((last && !strcmp(last, dir)) ||
		    (n && bsearch(&dir, dirty, n, sizeof(*dirty), cmp_name))) {
			free(dir);
			continue;
		}
		free(last);
		last = dir;
		_cleanup_close_ int fd = open_beneath(tree, dir, O_PATH);
		r = fd >= 0 ? record_ctime(f, fd, dir) : absent(fd);
	}
	for (size_t i = 0; i < n; i++)
		free(dirty[i]);
	free(dirty);
	return r;
}

/* A ctime no file has: the path reads as changed since the merge. */
#define CHANGED_MARK "0 0 "

int undo_write_ids(int mdir, int tree, const struct plan *p, bool durable)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	_cleanup_(parent_cache_release) struct parent_cache pc =
		PARENT_CACHE_INIT(tree);
	for (size_t k = 0; k < p->n; k++) {
		struct stat st;
		if (parent_cache_stat(&pc, p->v[k].path, &st))
			fprintf(f, "%llu %o %u %u %lld %lld %ld %lld %ld %llu ",
				(unsigned long long)st.st_ino, st.st_mode,
				st.st_uid, st.st_gid, (long long)st.st_size,
				(long long)st.st_mtim.tv_sec,
				st.st_mtim.tv_nsec,
				(long long)st.st_ctim.tv_sec,
				st.st_ctim.tv_nsec,
				(unsigned long long)st.st_nlink);
		else
			fputs("- ", f);
		path_escape(f, p->v[k].path);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return durable ? write_file_atomic(mdir, "after-ids", buf, len, 0600)
		       : write_file_replace(mdir, "after-ids", buf, len, 0600);
}

/* What a merged path is now against its line ID of after-ids: */
enum merged {
	MERGED_SAME,	 /* as the merge left it, or absent as it was */
	MERGED_UNLINKED, /* the same file but for fewer links and a new
			  * ctime: SRC's layer, which shared its inode, went
			  * (or DST changed only its xattrs meanwhile) */
	MERGED_CHANGED,	 /* DST's change (or a line that cannot be read) */
};

/* The device is not compared (an overlay mounted again has another), nor a
 * directory's inode number (on a world's overlay its own, not for good
 * where its layers lie on several file systems). */
static enum merged judge(const char *id, const char *path, bool exists,
			 const struct stat *now)
{
	unsigned long long ino, nlink;
	unsigned mode, uid, gid;
	long long size, msec, csec;
	long mnsec, cnsec;
	int off = 0;
	if (!id)
		return MERGED_CHANGED;
	if (id[0] == '-' && id[1] == ' ') {
		_cleanup_free_ char *was = path_unescape(id + 2);
		return was && !strcmp(was, path) && !exists ? MERGED_SAME
							    : MERGED_CHANGED;
	}
	if (sscanf(id, "%llu %o %u %u %lld %lld %ld %lld %ld %llu %n", &ino,
		   &mode, &uid, &gid, &size, &msec, &mnsec, &csec, &cnsec,
		   &nlink, &off) != 10 ||
	    !off || !exists)
		return MERGED_CHANGED;
	_cleanup_free_ char *was = path_unescape(id + off);
	bool dir = S_ISDIR(now->st_mode);
	if (!was || strcmp(was, path) || (!dir && now->st_ino != ino) ||
	    now->st_mode != mode || now->st_uid != uid || now->st_gid != gid ||
	    now->st_size != size || now->st_mtim.tv_sec != msec ||
	    now->st_mtim.tv_nsec != mnsec)
		return MERGED_CHANGED;
	if (now->st_ctim.tv_sec == csec && now->st_ctim.tv_nsec == cnsec)
		return MERGED_SAME;
	return !dir && now->st_nlink < nlink ? MERGED_UNLINKED : MERGED_CHANGED;
}

/* The next line of *TEXT (NULL past its end, or out of memory), malloc'd;
 * *TEXT moves past it. */
static char *next_line(const char **text)
{
	if (!*text || !**text)
		return NULL;
	size_t l = strcspn(*text, "\n");
	char *line = strndup(*text, l);
	*text += l + ((*text)[l] == '\n');
	return line;
}

/* The operations MDIR/after-changed names, as N+1 flags; NULL: no memory. */
static bool *read_changed(int mdir, size_t n)
{
	bool *marked = calloc(n + 1, sizeof(*marked));
	_cleanup_free_ char *text = NULL;
	if (marked && read_file_at(mdir, "after-changed", &text, NULL) >= 0)
		for (const char *l = text; *l;) {
			char *end;
			unsigned long long k = strtoull(l, &end, 10);
			if (end != l && k < n)
				marked[k] = true;
			const char *nl = strchrnul(end, '\n');
			l = *nl ? nl + 1 : nl;
		}
	return marked;
}

int undo_judge_ids(int mdir, int tree, const struct plan *p)
{
	_cleanup_free_ char *ids = NULL, *buf = NULL;
	int r = read_file_at(mdir, "after-ids", &ids, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	_cleanup_free_ bool *marked = read_changed(mdir, p->n);
	if (!marked)
		return -ENOMEM;
	size_t len = 0, added = 0;
	const char *id = ids;
	_cleanup_(parent_cache_release) struct parent_cache pc =
		PARENT_CACHE_INIT(tree);
	for (size_t k = 0; k < p->n; k++) {
		struct stat st;
		bool exists = parent_cache_stat(&pc, p->v[k].path, &st);
		_cleanup_free_ char *line = next_line(&id);
		if (!marked[k] &&
		    judge(line, p->v[k].path, exists, &st) == MERGED_CHANGED) {
			marked[k] = true;
			added++;
		}
	}
	if (!added)
		return 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t k = 0; k < p->n; k++)
		if (marked[k])
			fprintf(f, "%zu\n", k);
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(mdir, "after-changed", buf, len, 0600);
}

/* What the merged paths are like right after the merge ("after"): a
 * rollback refuses to undo a path that changed since.  Written after SRC
 * went, by the merge or by the recovery of one killed once done: a path
 * DST changed since the merge applied it (after-ids, after-changed) gets a
 * ctime that reads as changed, never the one DST's change gave it. */
int undo_write_after(int mdir, int tree, const struct plan *p)
{
	_cleanup_free_ char *buf = NULL, *ids = NULL;
	size_t len = 0;
	int r = read_file_at(mdir, "after-ids", &ids, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	_cleanup_free_ bool *marked = read_changed(mdir, p->n);
	if (!marked)
		return -ENOMEM;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	const char *id = ids;
	_cleanup_(parent_cache_release) struct parent_cache pc =
		PARENT_CACHE_INIT(tree);
	for (size_t k = 0; k < p->n; k++) {
		struct stat st;
		bool exists = parent_cache_stat(&pc, p->v[k].path, &st);
		/* Without after-ids (a journal of an older pwapt): as is. */
		_cleanup_free_ char *line = next_line(&id);
		if (marked[k] || (ids && judge(line, p->v[k].path, exists,
					       &st) == MERGED_CHANGED))
			fputs(CHANGED_MARK, f);
		else if (exists)
			fprintf(f, "%lld %ld ", (long long)st.st_ctim.tv_sec,
				st.st_ctim.tv_nsec);
		else
			fputs("- - ", f);
		path_escape(f, p->v[k].path);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	/* What a rebased world saw: not a package database that the merge
	 * combined record by record (OP_MRG), whose result holds DST's own
	 * records too; the rebased world's next merge must combine its
	 * records with them, not put its copy over them. */
	_cleanup_free_ char *sbuf = NULL;
	size_t slen = 0;
	if (!(f = open_memstream(&sbuf, &slen)))
		return -ENOMEM;
	for (size_t k = 0, o = 0; k < p->n; k++) {
		const char *nl = strchrnul(buf + o, '\n');
		if (p->v[k].kind != OP_MRG)
			fprintf(f, "%.*s\n", (int)(nl - (buf + o)), buf + o);
		o = *nl ? (size_t)(nl - buf) + 1 : (size_t)(nl - buf);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	/* Three files made durable by one syncfs at the end, not six
	 * fsyncs: none is read before MDIR is kept as merges/DST, which
	 * follows, and recovery writes them anew until then. */
	r = write_file_replace(mdir, "after-shared", sbuf, slen, 0600);
	if (r < 0)
		return r;
	r = write_file_replace(mdir, "after", buf, len, 0600);
	if (r < 0)
		return r;
	/* The directories the merged paths lie in: the merge changed their
	 * ctimes too, and a rebased world saw what it put there. */
	_cleanup_free_ char *dbuf = NULL;
	size_t dlen = 0;
	if (!(f = open_memstream(&dbuf, &dlen)))
		return -ENOMEM;
	r = remember_parents(f, tree, p);
	if (fclose(f) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	r = write_file_replace(mdir, "after-dirs", dbuf, dlen, 0600);
	return r < 0 ? r : syncfs(mdir) < 0 ? -errno : 0;
}

/* MOVED and every world built on one of them, directly or not, once
 * each: the worlds that saw SRC's files. */
static int saw_src(struct world_store *s, char *const *moved, struct strv *out)
{
	for (char *const *w = moved; *w; w++)
		if (store_world_exists(s, *w) && !strv_contains(out->v, *w) &&
		    strv_push(out, strdup(*w)) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < out->n; i++) {
		_cleanup_strv_free_ char **children = NULL;
		int r = store_children(s, out->v[i], &children);
		if (r < 0)
			return r;
		for (char **c = children; c && *c; c++)
			if (!strv_contains(out->v, *c) &&
			    strv_push(out, strdup(*c)) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* Worlds moved onto DST by a rebase, and the worlds built on them, saw
 * SRC's version of every merged path but the databases merged record by
 * record: the ctimes the merge left in DST ("after-shared", and
 * "after-dirs" for the directories the merge wrote in) are not changes of
 * DST that they missed, so they join each world's known-ctimes. */
int undo_share_after(struct world_store *s, int mdir, char *const *rebased)
{
	_cleanup_free_ char *after = NULL;
	if (!rebased || !*rebased)
		return 0;
	_cleanup_strv_ struct strv all = {0};
	if (saw_src(s, rebased, &all) < 0)
		return -ENOMEM;
	char *const *moved = all.v;
	/* A merge journaled before after-shared was written: "after". */
	int r = read_file_at(mdir, "after-shared", &after, NULL);
	if (r == -ENOENT)
		r = read_file_at(mdir, "after", &after, NULL);
	if (r < 0)
		return r;
	_cleanup_free_ char *dirs = NULL;
	(void)read_file_at(mdir, "after-dirs", &dirs, NULL);
	for (char *const *w = moved; *w && r >= 0; w++) {
		_cleanup_free_ char *rel = path_join(*w, "known-ctimes");
		_cleanup_free_ char *old = NULL, *buf = NULL;
		if (!rel)
			return -ENOMEM;
		r = read_file_at(s->worlds_fd, rel, &old, NULL);
		if (r < 0 && r != -ENOENT)
			return r;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		if (!f)
			return -ENOMEM;
		if (old)
			fputs(old, f);
		/* Lines of paths the merge deleted ("- - path") say nothing
		 * about a ctime. */
		for (const char *l = after; *l;) {
			const char *nl = strchrnul(l, '\n');
			if (strncmp(l, "- ", 2))
				fprintf(f, "%.*s\n", (int)(nl - l), l);
			l = *nl ? nl + 1 : nl;
		}
		if (dirs)
			fputs(dirs, f);
		if (fclose(f) != 0)
			return -ENOMEM;
		_cleanup_close_ int wdir =
			openat(s->worlds_fd, *w,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = wdir < 0 ? -errno
			     : write_file_atomic(wdir, "known-ctimes", buf, len,
						 0600);
	}
	return r;
}

/* Calls FN for each merged path of DST that changed since the merge (see
 * undo_changed_since), with whether the merge had deleted it ("-" in
 * MDIR/after); stops at FN's first error. */
static int changed_walk(int mdir, int tree,
			int (*fn)(const char *path, bool deleted, void *arg),
			void *arg)
{
	_cleanup_free_ char *after = NULL, *own = NULL;
	int r = read_file_at(mdir, "after", &after, NULL);
	if (r < 0)
		return r;
	/* The ctimes pwapt itself gave merged paths since (undo_keep_own). */
	r = read_file_at(mdir, "own-ctimes", &own, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	r = 0;
	char *save = NULL;
	for (char *line = strtok_r(after, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char sec[32], nsec[32];
		int off = 0;
		if (sscanf(line, "%31s %31s %n", sec, nsec, &off) != 2 || !off)
			continue;
		_cleanup_free_ char *path = path_unescape(line + off);
		if (!path)
			continue;
		_cleanup_close_ int fd = open_beneath(tree, path, O_PATH);
		struct stat st;
		bool exists = fd >= 0 && fstat(fd, &st) == 0;
		bool deleted = !strcmp(sec, "-");
		bool same = deleted ? !exists
				    : exists &&
					      st.st_ctim.tv_sec == atoll(sec) &&
					      st.st_ctim.tv_nsec == atol(nsec);
		char acc[80], now[80];
		if (!same && exists &&
		    undo_ctime_of(own, line + off, acc, sizeof(acc))) {
			snprintf(now, sizeof(now), "%lld %ld",
				 (long long)st.st_ctim.tv_sec,
				 st.st_ctim.tv_nsec);
			same = !strcmp(acc, now);
		}
		/* Any apt command rebuilds apt's caches: restoring the old
		 * one loses nothing (apt checks it against its sources). */
		if (!same && dbmerge_planned(path) != DBMERGE_DROP)
			r = fn(path, deleted, arg);
	}
	return r;
}

/* Whether UNDONE (undo_databases()) undoes PATH of P record by record. */
static bool undone_by_records(const struct plan *p, const int *undone,
			      const char *path)
{
	for (size_t k = 0; p && undone && k < p->n; k++)
		if (undone[k] >= 0 && !strcmp(p->v[k].path, path))
			return true;
	return false;
}

struct changed_list {
	FILE *f;
	const struct plan *p;
	const int *undone;
};

/* A log the merge wrote, which DST's services wrote on since, is no
 * reason to refuse when it is undone line by line: the roll-back takes
 * out the merge's lines alone (dbmerge_undo()), without --force. */
static int list_changed(const char *path, bool deleted, void *arg)
{
	struct changed_list *l = arg;
	if (!deleted && dbmerge_log(path) &&
	    undone_by_records(l->p, l->undone, path))
		return 0;
	return fwrite(path, 1, strlen(path) + 1, l->f) == strlen(path) + 1
		       ? 0
		       : -ENOMEM;
}

int undo_changed_since(int mdir, int tree, const struct plan *p,
		       const int *undone, char **out)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	struct changed_list l = {.f = f, .p = p, .undone = undone};
	int r = changed_walk(mdir, tree, list_changed, &l);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	*out = steal_pointer(&buf);
	return 0;
}

struct aside {
	const struct world_store *s;
	int tree;
	unsigned n;
	char *failed;
	char *warned; /* the directory of the last leftover part named */
	char *why;    /* what is in the way, for undo_keep_changed()'s caller */
	size_t why_len;
	const struct plan *p; /* the merge, and its databases undone by */
	const int *undone;    /* records (undo_databases()) */
};

/* Whether NAME in PARENT (status X) is a copy of BASE there (status ST)
 * that a run killed after it kept it made: a regular file or symbolic
 * link of the same type, mode, owner, mtime and bytes (or target), with
 * one link (a copy pwapt made; not a name of another live file).  Its
 * extended attributes are not compared: a copy is kept where the file
 * system has no hard links, and such a one (vfat) has none.  Any doubt
 * says no: another copy is made then. */
static bool kept_copy(int parent, const char *name, const struct stat *x,
		      const char *base, const struct stat *st)
{
	if (x->st_nlink != 1 || x->st_mode != st->st_mode ||
	    x->st_uid != st->st_uid || x->st_gid != st->st_gid ||
	    x->st_size != st->st_size ||
	    x->st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    x->st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return false;
	if (S_ISLNK(st->st_mode)) {
		char a[PATH_MAX], b[PATH_MAX];
		ssize_t n = readlinkat(parent, name, a, sizeof(a));
		ssize_t m = readlinkat(parent, base, b, sizeof(b));
		return n >= 0 && n == m && !memcmp(a, b, (size_t)n);
	}
	if (!S_ISREG(st->st_mode))
		return false;
	/* Never blocked by a FIFO swapped in meanwhile: the files opened
	 * are the ones looked at. */
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	_cleanup_close_ int p = openat(parent, name, flags);
	_cleanup_close_ int q = openat(parent, base, flags);
	struct stat a, b;
	return p >= 0 && q >= 0 && fstat(p, &a) == 0 && fstat(q, &b) == 0 &&
	       a.st_ino == x->st_ino && a.st_dev == x->st_dev &&
	       b.st_ino == st->st_ino && b.st_dev == st->st_dev &&
	       same_bytes(p, q);
}

/* NAME in PARENT (DIR's path, for messages) a durable copy of BASE
 * (status ST), where the file system has no hard links: made as
 * pwapt-rollback-part-J~ (the first free J, merge_part_name()) and renamed
 * to NAME once whole, so that a kill or a full disk never leaves a part of
 * the file under the name that says it is the one kept.  A part that a
 * killed run left stays, said once a directory through store_warn():
 * pwapt removes no such name it did not make.  -EEXIST when NAME is
 * taken. */
static int keep_copy(struct aside *a, const char *dir, int parent,
		     const char *base, const struct stat *st, const char *name)
{
	char part[NAME_MAX + 1];
	struct stat x;
	if (fstatat(parent, name, &x, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST; /* no copy for a name taken */
	_cleanup_close_ int fd =
		openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = -EEXIST;
	for (unsigned j = 1; r == -EEXIST && j <= 1000; j++) {
		merge_part_name(part, sizeof(part), j);
		/* Looked at first: a name there now is not this run's to
		 * remove, whatever the copy below fails with. */
		if (fstatat(parent, part, &x, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return -errno;
			r = save_copy_node(fd, st, parent, part, true);
			continue;
		}
		if (!a->warned || strcmp(a->warned, dir)) {
			free(a->warned);
			a->warned = strdup(dir);
			store_warn(a->s,
				   "%s%s is there, perhaps left by a killed "
				   "pwapt rollback --force: check it, then "
				   "remove it",
				   dir, part);
		}
	}
	if (r == -EEXIST) { /* a thousand parts left: not NAME's fault */
		snprintf(a->why, a->why_len,
			 "pwapt-rollback-part-1~ to -1000~ are all there "
			 "beside it, left by killed runs of pwapt rollback "
			 "--force: check them, then remove them");
		return -EBUSY;
	}
	if (r == 0) {
		crash_point("rollback-aside-copy");
		if (renameat2(parent, part, parent, name, RENAME_NOREPLACE) < 0)
			r = -errno;
		/* A file system without RENAME_NOREPLACE (some network and
		 * FUSE ones): looked at, then renamed; nobody else makes
		 * these names, under the merge's lock. */
		if (r == -EINVAL || r == -ENOSYS) {
			if (fstatat(parent, name, &x, AT_SYMLINK_NOFOLLOW) == 0)
				r = -EEXIST;
			else if (errno != ENOENT)
				r = -errno;
			else
				r = renameat(parent, part, parent, name) < 0
					    ? -errno
					    : 0;
		}
	}
	if (r < 0) /* absent before, so this run's, never whole */
		unlinkat(parent, part, 0);
	return r;
}

/* DST's own version of PATH, changed since the merge, linked as
 * NAME.pwapt-rollback-N~ beside it (the first free N, or the one that
 * already is this file: a forced roll-back killed and run again): the
 * roll-back then replaces or removes PATH alone.  A directory stays (what
 * DST made in it keeps it from being removed), and so does a database the
 * roll-back undoes record by record, and a path the merge had deleted
 * (DST made it since: the save goes beside it). */
static int keep_aside(const char *path, bool deleted, void *arg)
{
	struct aside *a = arg;
	const char *base;
	struct stat st, x;
	if (deleted || (dbmerge_undoable(path) &&
			undone_by_records(a->p, a->undone, path)))
		return 0;
	_cleanup_close_ int parent = journal_open_parent(a->tree, path, &base);
	if (parent == -ENOENT || parent == -ENOTDIR || parent == -ELOOP)
		return 0; /* gone since: nothing of DST's there to keep */
	if (parent < 0)
		return parent;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode))
		return 0;
	char name[NAME_MAX + 1];
	for (unsigned i = 1;; i++) {
		if (i > 1000) {
			snprintf(a->why, a->why_len,
				 "%s.pwapt-rollback-1~ to -1000~ are all taken",
				 base);
			return -EEXIST;
		}
		if (merge_aside_name(name, sizeof(name), base, i) < 0)
			return -ENAMETOOLONG;
		if (fstatat(parent, name, &x, AT_SYMLINK_NOFOLLOW) == 0 &&
		    ((x.st_ino == st.st_ino && x.st_dev == st.st_dev) ||
		     kept_copy(parent, name, &x, base, &st)))
			break; /* kept by a run before */
		int r = crash_fail("rollback-aside-link", EPERM);
		if (!r && linkat(parent, base, parent, name, 0) < 0)
			r = -errno;
		/* A file system without hard links (vfat): a copy. */
		if (r == -EPERM || r == -EMLINK) {
			_cleanup_free_ char *dir =
				strndup(path, (size_t)(base - path));
			r = dir ? keep_copy(a, dir, parent, base, &st, name)
				: -ENOMEM;
		}
		if (r == 0)
			break;
		if (r != -EEXIST)
			return r;
	}
	_cleanup_close_ int dir =
		openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || fsync(dir) < 0)
		return -errno;
	store_warn(a->s, "%s changed since the merge: kept as %.*s%s", path,
		   (int)(base - path), path, name);
	crash_point_n("rollback-aside", a->n++);
	return 0;
}

/* keep_aside(), with the path it could not keep in *FAILED. */
static int keep_aside_named(const char *path, bool deleted, void *arg)
{
	struct aside *a = arg;
	int r = keep_aside(path, deleted, arg);
	if (r < 0)
		a->failed = strdup(path);
	return r;
}

int undo_keep_changed(const struct world_store *s, int mdir, int tree,
		      const struct plan *p, const int *undone, char **failed,
		      char *why, size_t why_len)
{
	struct aside a = {.s = s,
			  .tree = tree,
			  .why = why,
			  .why_len = why_len,
			  .p = p,
			  .undone = undone};
	if (why_len)
		why[0] = '\0';
	int r = changed_walk(mdir, tree, keep_aside_named, &a);
	free(a.warned);
	*failed = a.failed;
	return r;
}
