/* wmerge: apply a world's changes to an ancestor, as one journaled
 * transaction (DESIGN.md §4).
 *
 * The merge works in STATE/merge/: a journal (the plan, one operation a
 * line, and the phases reached) and undo/, where what DST held before is
 * kept: a hard link to each file that will be replaced or deleted, the whole
 * directory moved away when one is deleted or replaced, a .meta file with a
 * directory's old mode, owner and times.  Phases:
 *
 *   planned   the journal is written; DST is untouched
 *   prepared  every file to be replaced is saved; DST still untouched
 *   (apply)   each operation replaces one path atomically (rename)
 *   done      every change is durable (syncfs); SRC is then deleted
 *
 * A crash before "prepared" leaves DST as it was; between "prepared" and
 * "done" the next command rolls every operation back (each path returns
 * to its saved state, which is a no-op for those not yet applied); after
 * "done" it finishes the clean-up.  Every path in DST is reached from DST's
 * root by open_beneath(), never through a symbolic link, and nothing from
 * the world is executed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "dbmerge.h"
#include "error.h"
#include "lifecycle.h"
#include "fsutil.h"
#include "layers.h"
#include "links.h"
#include "merge.h"
#include "save.h"

/* OP_MRG: a package database that both sides changed, put from the
 * merged copy in STATE/merge/staged/N (see dbmerge.h). */
enum op_kind { OP_DEL, OP_PUT, OP_DIR, OP_MRG };
enum had { HAD_NONE, HAD_DIR, HAD_FILE };
static const char *const kind_names[] = {"del", "put", "dir", "mrg"};
static const char *const had_names[] = {"none", "dir", "file"};

struct op {
	enum op_kind kind;
	enum had had; /* what DST held at the path before the merge */
	char *path;   /* absolute, world-relative */
	/* DST changed the path after SRC was created (a conflict, forced,
	 * or a package database merged): a roll-back restores DST's own
	 * change, whose ctime SRC must not take for its own. */
	bool dst_changed;
	/* DST's file at the plan (not journaled; a directory's number may
	 * change in overlayfs, where it is the overlay's own) */
	ino_t ino;
};

struct plan {
	char *src, *dst;
	struct op *v;
	size_t n;
	int phase;	/* 0 planned, 1 prepared, 2 done */
	bool rollback;	/* a done merge being undone (pwapt rollback) */
	bool rebase;	/* worlds built on SRC move onto DST */
	uint64_t id;	/* the merge's number (0: journaled before ids) */
	char **rebased; /* the worlds built on SRC that move: NULL or
			   NULL-terminated */
	size_t applied; /* operations that may have changed DST */
};

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	free(p->src);
	free(p->dst);
	strvfreep(&p->rebased);
	*p = (struct plan){0};
}

static int journal_append(int dirfd, const char *text)
{
	_cleanup_close_ int fd =
		openat(dirfd, "journal", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		return -errno ? -errno : -EIO;
	return 0;
}

static int journal_write(int dirfd, const struct plan *p)
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
	fputs("phase planned\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(dirfd, "journal", buf, len, 0600);
}

static int journal_read(int dirfd, struct plan *p)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(dirfd, "journal", &text, NULL);
	if (r < 0)
		return r;
	*p = (struct plan){0};
	size_t n_rebased = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char a[16], b[16];
		size_t idx;
		int off = 0;
		if (!strncmp(line, "src ", 4))
			p->src = strdup(line + 4);
		else if (!strncmp(line, "dst ", 4))
			p->dst = strdup(line + 4);
		else if (!strcmp(line, "phase prepared"))
			p->phase = p->phase < 1 ? 1 : p->phase;
		else if (!strcmp(line, "phase done"))
			p->phase = 2;
		else if (!strcmp(line, "phase rollback"))
			p->rollback = true;
		else if (!strcmp(line, "rebase"))
			p->rebase = true;
		else if (!strncmp(line, "id ", 3))
			p->id = strtoull(line + 3, NULL, 10);
		else if (!strncmp(line, "rebased ", 8) &&
			 world_name_valid(line + 8)) {
			char **nv = realloc(p->rebased,
					    (n_rebased + 2) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->rebased = nv;
			nv[n_rebased + 1] = NULL;
			if (!(nv[n_rebased++] = strdup(line + 8)))
				return -ENOMEM;
		} else if (sscanf(line, "changed %zu", &idx) == 1 && idx < p->n)
			p->v[idx].dst_changed = true;
		else if (sscanf(line, "op %zu %15s %15s %n", &idx, a, b,
				&off) == 3 &&
			 off) {
			struct op *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->v = nv;
			struct op *o = &p->v[p->n++];
			*o = (struct op){0};
			o->kind = !strcmp(a, "del")   ? OP_DEL
				  : !strcmp(a, "put") ? OP_PUT
				  : !strcmp(a, "mrg") ? OP_MRG
						      : OP_DIR;
			o->had = !strcmp(b, "dir")    ? HAD_DIR
				 : !strcmp(b, "file") ? HAD_FILE
						      : HAD_NONE;
			if (!(o->path = path_unescape(line + off)))
				return -ENOMEM;
		}
	}
	if (!p->src || !p->dst || !world_name_valid(p->src) ||
	    !world_name_valid(p->dst)) {
		plan_release(p);
		return -EBADMSG;
	}
	p->applied = p->n;
	return 0;
}

/* The directory that holds PATH, beneath TREE; *base gets its last name. */
static int open_parent(int tree, const char *path, const char **base)
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

/* What TREE holds at PATH: HAD_*, or -errno when it cannot tell (only
 * "nothing there" is HAD_NONE). */
static int kind_of(int tree, const char *path, struct stat *st)
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

struct merge_ctx {
	struct world_store *s;
	int tree;      /* DST's tree */
	int src_tree;  /* SRC's tree as its processes see it */
	int src_upper; /* SRC's own layer of Root's own file system */
	int undo;
	int staged; /* merged package databases, by operation */
	bool force; /* conflicting records take SRC's side */
	int src_layer; /* SRC's own layer of Root's file system */
	struct link_names *names; /* its multiply-linked files, once needed */
	const struct world_diff *diff;
	/* Inodes of SRC already installed, so that hard links stay links. */
	struct linked {
		dev_t dev;
		ino_t ino;
		char *path;
	} * links;
	size_t n_links;
};

/* Makes STAGE in PARENT a copy of SRC's version of PATH. */
static int stage_copy(struct merge_ctx *m, const char *path, int parent,
		      const char *stage)
{
	_cleanup_close_ int sfd = open_beneath(m->src_tree, path, O_PATH);
	struct stat st;
	if (sfd < 0 || fstat(sfd, &st) < 0)
		return sfd < 0 ? sfd : -errno;
	for (size_t i = 0; st.st_nlink > 1 && i < m->n_links; i++)
		if (m->links[i].dev == st.st_dev &&
		    m->links[i].ino == st.st_ino) {
			_cleanup_close_ int first = -1;
			const char *b;
			first = open_parent(m->tree, m->links[i].path, &b);
			if (first >= 0 &&
			    linkat(first, b, parent, stage, 0) == 0)
				return 0;
		}
	int r = copy_node(sfd, &st, parent, stage, false);
	if (r < 0)
		return r;
	if (st.st_nlink > 1) {
		struct linked *nv =
			realloc(m->links, (m->n_links + 1) * sizeof(*nv));
		if (nv) {
			m->links = nv;
			m->links[m->n_links++] = (struct linked){
				st.st_dev, st.st_ino, strdup(path)};
		}
	}
	return 0;
}

/* Makes STAGE a hard link to SRC's own copy of PATH when SRC's layer has
 * it and lies on DST's file system: a merge then costs O(files), not
 * O(bytes).  Returns 1 when done, 0 when a copy is needed. */
static int stage_link(struct merge_ctx *m, const char *path, int parent,
		      const char *stage)
{
	if (m->src_upper < 0)
		return 0;
	const char *b;
	_cleanup_close_ int up = open_parent(m->src_upper, path, &b);
	struct stat st;
	if (up < 0 || fstatat(up, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    S_ISDIR(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)))
		return 0;
	if (linkat(up, b, parent, stage, 0) < 0)
		return errno == EXDEV || errno == EPERM || errno == EMLINK
			       ? 0
			       : -errno;
	char to[FD_PATH_MAX];
	fd_path(to, sizeof(to), parent, stage);
	(void)copy_xattrs(NULL, to);
	return 1;
}

/* A new name in SRC of a file that SRC did not change (a hard link made
 * in SRC to DST's file: overlayfs copied the file up to link it) becomes
 * STAGE, a hard link to DST's own file, not a separate file.  Returns 1
 * when done, 0 when PATH is no such name. */
static int stage_unchanged_link(struct merge_ctx *m, const char *path,
				int parent, const char *stage)
{
	const char *b;
	_cleanup_close_ int up =
		m->src_layer < 0 ? -1 : open_parent(m->src_layer, path, &b);
	struct stat st;
	if (up < 0 || fstatat(up, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_nlink < 2)
		return 0;
	if (!m->names && link_names_load(m->src_layer, &m->names) < 0)
		return 0;
	for (char *const *q = link_names_of(m->names, st.st_ino); q && *q;
	     q++) {
		bool changed = !strcmp(*q, path);
		for (size_t i = 0; !changed && i < m->diff->n; i++)
			changed = !strcmp(m->diff->v[i].path, *q);
		const char *qb;
		_cleanup_close_ int qp =
			changed ? -1 : open_parent(m->tree, *q, &qb);
		struct stat qs;
		if (qp >= 0 && fstatat(qp, qb, &qs, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(qs.st_mode) && linkat(qp, qb, parent, stage, 0) == 0)
			return 1;
	}
	return 0;
}

/* Makes STAGE the merged database N (a link where the state directory
 * shares DST's file system, else a copy).  Returns 1 when done. */
static int stage_merged(struct merge_ctx *m, const char *n, int parent,
			const char *stage)
{
	if (linkat(m->staged, n, parent, stage, 0) == 0)
		return 1;
	if (errno != EXDEV && errno != EPERM)
		return -errno;
	_cleanup_close_ int fd = openat(m->staged, n, O_PATH | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	int r = copy_node(fd, &st, parent, stage, false);
	return r < 0 ? r : 1;
}

/* Writes the merged version of database PATH, operation I, into
 * STATE/merge/staged/I, with the owner and mode of SRC's version (of DST's
 * where SRC deleted it: shadow's stay private). */
static int stage_database(struct merge_ctx *m, const char *src, size_t i,
			  const char *path, struct world_error *err)
{
	char n[32];
	snprintf(n, sizeof(n), "%zu", i);
	_cleanup_close_ int out = openat(
		m->staged, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return werr_errno(err, errno, "cannot stage %s", path);
	enum dbmerge_action act;
	int r = dbmerge_resolve(m->s, src, m->src_tree, m->tree, path, out,
				m->force, &act, NULL, err);
	if (r < 0)
		return r;
	_cleanup_close_ int sfd = open_beneath(m->src_tree, path, O_PATH);
	if (sfd < 0)
		sfd = open_beneath(m->tree, path, O_PATH);
	struct stat st;
	if (sfd < 0 || fstat(sfd, &st) < 0)
		st = (struct stat){.st_mode = 0600};
	if (fchown(out, st.st_uid, st.st_gid) < 0 ||
	    fchmod(out, st.st_mode & 07777) < 0 || fsync(out) < 0)
		return werr_errno(err, errno, "cannot stage %s", path);
	return 0;
}

static int apply_op(struct merge_ctx *m, size_t i, const struct op *o)
{
	const char *base;
	_cleanup_close_ int parent = open_parent(m->tree, o->path, &base);
	if (parent < 0)
		return parent;
	char n[32], stage[64];
	snprintf(n, sizeof(n), "%zu", i);
	snprintf(stage, sizeof(stage), ".pwapt-merge-%zu", i);
	int r;
	struct stat now;
	int had = fstatat(parent, base, &now, AT_SYMLINK_NOFOLLOW) < 0 ? HAD_NONE
		  : S_ISDIR(now.st_mode)				 ? HAD_DIR
									 : HAD_FILE;
	if (had != (int)o->had || (had == HAD_FILE && now.st_ino != o->ino))
		return -ESTALE; /* DST changed it since the plan */

	if (o->had == HAD_DIR && o->kind != OP_DIR &&
	    (r = save_tree(parent, base, m->undo, n)) < 0)
		return r;
	if (o->kind == OP_DEL)
		return o->had == HAD_FILE && unlinkat(parent, base, 0) < 0
			       ? -errno
			       : 0;
	if (o->kind == OP_PUT || o->kind == OP_MRG) {
		(void)unlinkat(parent, stage, 0);
		r = o->kind == OP_MRG
			    ? stage_merged(m, n, parent, stage)
			    : stage_unchanged_link(m, o->path, parent, stage);
		if (r == 0)
			r = stage_link(m, o->path, parent, stage);
		if (r == 0)
			r = stage_copy(m, o->path, parent, stage);
		if (r < 0)
			return r;
		if (renameat2(parent, stage, parent, base,
			      o->had == HAD_NONE ? RENAME_NOREPLACE : 0) == 0)
			return 0;
		r = errno == EEXIST ? -ESTALE : -errno;
		(void)unlinkat(parent, stage, 0);
		return r;
	}
	/* OP_DIR */
	_cleanup_close_ int sfd = open_beneath(m->src_tree, o->path, O_PATH);
	struct stat st;
	if (sfd < 0 || fstat(sfd, &st) < 0)
		return sfd < 0 ? sfd : -errno;
	if (o->had == HAD_FILE && unlinkat(parent, base, 0) < 0)
		return -errno;
	if (o->had != HAD_DIR && mkdirat(parent, base, 0700) < 0)
		return errno == EEXIST && o->had == HAD_NONE ? -ESTALE : -errno;
	char from[FD_PATH_MAX], to[FD_PATH_MAX];
	fd_path(from, sizeof(from), sfd, NULL);
	fd_path(to, sizeof(to), parent, base);
	if ((r = set_owner_mode(parent, base, &st)) < 0)
		return r;
	return copy_xattrs(from, to); /* times: after the entries */
}

static char *tree_path(struct world_store *s, const char *name)
{
	return strcmp(name, WORLD_ROOT) ? world_path(s, name, "merged")
					: strdup(s->root);
}

/* Lines "sec nsec path" for FD (at PATH) and, for a directory restored
 * whole, everything below it. */
static void record_ctimes(FILE *f, int fd, const char *path, bool below)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	fprintf(f, "%lld %ld ", (long long)st.st_ctim.tv_sec,
		st.st_ctim.tv_nsec);
	path_escape(f, path);
	fputc('\n', f);
	if (!below || !S_ISDIR(st.st_mode))
		return;
	char proc[64];
	fd_path(proc, sizeof(proc), fd, NULL);
	_cleanup_closedir_ DIR *d = opendir(proc);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_close_ int child = openat(
			dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_free_ char *cp = NULL;
		if (child >= 0 && asprintf(&cp, "%s/%s", path, de->d_name) >= 0)
			record_ctimes(f, child, cp, true);
	}
}

/* Whether world NAME saw DST as it was before the merge that MDIR
 * describes: it is SRC, or built on DST before that merge was done (the
 * time "after" was written; no world is made while a merge runs). */
static bool saw_before(struct world_store *s, int mdir, const struct plan *p,
		       const char *name)
{
	if (!strcmp(name, p->src))
		return true;
	if (!strcmp(name, p->dst) || !store_is_ancestor(s, name, p->dst))
		return false;
	struct stat done;
	if (fstatat(mdir, "after", &done, 0) < 0)
		return true;
	struct world_meta m = {0};
	if (meta_load(s, name, &m, NULL) < 0)
		return false;
	bool before = m.created < done.st_mtim.tv_sec ||
		      (m.created == done.st_mtim.tv_sec &&
		       m.created_ns < done.st_mtim.tv_nsec);
	meta_release(&m);
	return before;
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
	for (size_t k = 0; k < p->n && r >= 0; k++)
		if (p->v[k].dst_changed &&
		    !(dirty[n] = parent_of(p->v[k].path)))
			r = -ENOMEM;
		else if (p->v[k].dst_changed)
			n++;
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
		_cleanup_close_ int fd =
			strcmp(dir, "/") ? open_beneath(tree, dir, O_PATH)
					 : openat(tree, ".", O_PATH | O_CLOEXEC);
		if (fd >= 0)
			record_ctimes(f, fd, dir, false);
	}
	for (size_t i = 0; i < n; i++)
		free(dirty[i]);
	free(dirty);
	return r;
}

/* Saving and restoring a file changes its ctime, which is how wdiff and
 * wmerge tell that DST changed a path after a world was created.  After a
 * roll-back, SRC and every world that saw DST as it was before the merge
 * (siblings of SRC, their children) remember the ctimes the merge and its
 * roll-back left (known-ctimes), so that they are not taken for changes
 * of DST. */
static int remember_ctimes(struct world_store *s, int mdir, int tree,
			   const struct plan *p)
{
	_cleanup_free_ char *lines = NULL;
	size_t n_lines = 0;
	FILE *f = open_memstream(&lines, &n_lines);
	if (!f)
		return -ENOMEM;
	for (size_t k = 0; k < p->n; k++) {
		if (p->v[k].had == HAD_NONE || p->v[k].dst_changed)
			continue;
		_cleanup_close_ int fd =
			open_beneath(tree, p->v[k].path, O_PATH);
		if (fd >= 0)
			record_ctimes(f, fd, p->v[k].path,
				      p->v[k].had == HAD_DIR);
	}
	int r = remember_parents(f, tree, p);
	if (fclose(f) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	_cleanup_strv_free_ char **names = NULL;
	r = store_world_names(s, &names);
	for (char **w = names; r >= 0 && w && *w; w++) {
		if (!saw_before(s, mdir, p, *w))
			continue;
		_cleanup_close_ int wdir =
			openat(s->worlds_fd, *w,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_free_ char *old = NULL, *buf = NULL;
		size_t len = 0;
		if (wdir < 0)
			return -errno;
		(void)read_file_at(wdir, "known-ctimes", &old, NULL);
		if (asprintf(&buf, "%s%s", old ? old : "", lines) < 0)
			return -ENOMEM;
		len = strlen(buf);
		r = write_file_atomic(wdir, "known-ctimes", buf, len, 0600);
	}
	return r;
}

/* Whether ST is SRC's version of PATH as a merge puts it (a hard link
 * or a copy with SRC's owner, mode, size and times); true when SRC's tree
 * cannot tell (SRC gone after a done merge). */
static bool is_srcs(int src_tree, const char *path, const struct stat *st)
{
	_cleanup_close_ int fd =
		src_tree < 0 ? -1 : open_beneath(src_tree, path, O_PATH);
	struct stat x;
	if (fd < 0 || fstat(fd, &x) < 0)
		return true;
	return x.st_mode == st->st_mode && x.st_uid == st->st_uid &&
	       x.st_gid == st->st_gid && x.st_size == st->st_size &&
	       x.st_rdev == st->st_rdev &&
	       x.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       x.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* What the merge put at BASE in PARENT for operation O, where DST had
 * nothing, goes; not what DST made there itself (another type, a file
 * that is not SRC's, or a directory that still has entries once the
 * operations below it are rolled back): a merge killed before it reached
 * O leaves what DST created there meanwhile. */
static int remove_merged(int parent, const char *base, const struct op *o,
			 int src_tree)
{
	struct stat st;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	bool dir = o->kind == OP_DIR;
	if (S_ISDIR(st.st_mode) != dir ||
	    (o->kind == OP_PUT && !is_srcs(src_tree, o->path, &st)))
		return 0;
	if (unlinkat(parent, base, dir ? AT_REMOVEDIR : 0) < 0 &&
	    errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	return 0;
}

/* syncfs of every file system that operations of P wrote: DST's tree may
 * span several (a separate /var or /boot). */
static int sync_written(int tree, const struct plan *p)
{
	dev_t done[32];
	size_t n_done = 0;
	struct stat st;
	if (fstat(tree, &st) < 0 || syncfs(tree) < 0)
		return -errno;
	done[n_done++] = st.st_dev;
	for (size_t k = 0; k < p->applied; k++) {
		const char *b;
		_cleanup_close_ int par = open_parent(tree, p->v[k].path, &b);
		if (par < 0 || fstat(par, &st) < 0)
			continue; /* gone: nothing to sync there */
		bool seen = false;
		for (size_t j = 0; j < n_done && !seen; j++)
			seen = done[j] == st.st_dev;
		if (seen)
			continue;
		_cleanup_close_ int fd =
			openat(par, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) < 0)
			return -errno;
		if (n_done < sizeof(done) / sizeof(done[0]))
			done[n_done++] = st.st_dev;
	}
	return 0;
}

/* Every path back to its saved state, last operation first.  An operation
 * not applied yet is left as it is by the same steps. */
static int roll_back(struct world_store *s, int mdir, const struct plan *p,
		     struct world_error *err)
{
	_cleanup_free_ char *tp = tree_path(s, p->dst);
	_cleanup_close_ int tree =
		tp ? open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int undo =
		openat(mdir, "undo", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *sp =
		world_exists(s, p->src) ? tree_path(s, p->src) : NULL;
	_cleanup_close_ int src_tree =
		sp ? open(sp, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (tree < 0 || undo < 0)
		return werr_errno(err, errno ? errno : ENOMEM,
				  "cannot roll back the merge of '%s' into "
				  "'%s'",
				  p->src, p->dst);
	for (size_t k = p->applied; k-- > 0;) {
		const struct op *o = &p->v[k];
		const char *base;
		_cleanup_close_ int parent = open_parent(tree, o->path, &base);
		if (parent < 0)
			continue; /* its directory is gone: rolled back above */
		char n[32], stage[64], tmp[64], meta[40];
		snprintf(n, sizeof(n), "%zu", k);
		snprintf(stage, sizeof(stage), ".pwapt-merge-%zu", k);
		snprintf(tmp, sizeof(tmp), ".pwapt-restore-%zu", k);
		snprintf(meta, sizeof(meta), "%zu.meta", k);
		(void)unlinkat(parent, stage, 0);
		/* Only a complete save replaces what DST has (save.h). */
		int r = 0;
		if (saved(undo, n))
			r = restore_saved(undo, n, parent, base, tmp);
		else if (o->had == HAD_NONE)
			r = remove_merged(parent, base, o, src_tree);
		if (r >= 0 && o->kind == OP_DIR && o->had == HAD_DIR)
			r = restore_dir_meta(undo, meta, parent, base);
		if (r < 0)
			return werr_errno(err, -r, "cannot restore %s in '%s'",
					  o->path, p->dst);
	}
	int r = sync_written(tree, p);
	if (r < 0)
		return werr_errno(err, -r, "cannot make the roll-back of the "
				  "merge of '%s' durable", p->src);
	r = remember_ctimes(s, mdir, tree, p);
	if (r < 0)
		return werr_errno(err, -r,
				  "cannot record the ctimes of the "
				  "rolled-back merge of '%s'",
				  p->src);
	return 0;
}

/* What the merged paths are like right after the merge ("after"): a
 * rollback refuses to undo a path that changed since. */
static int write_after(int mdir, int tree, const struct plan *p)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t k = 0; k < p->n; k++) {
		_cleanup_close_ int fd =
			open_beneath(tree, p->v[k].path, O_PATH);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0)
			fprintf(f, "%lld %ld ", (long long)st.st_ctim.tv_sec,
				st.st_ctim.tv_nsec);
		else
			fputs("- - ", f);
		path_escape(f, p->v[k].path);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(mdir, "after", buf, len, 0600);
}

/* Worlds moved onto DST by a rebase saw SRC's version of every merged
 * path: the ctimes the merge left in DST ("after") are not changes of DST
 * that they missed, so they join each world's known-ctimes. */
static int share_after(struct world_store *s, int mdir, char *const *moved)
{
	_cleanup_free_ char *after = NULL;
	if (!moved || !*moved)
		return 0;
	int r = read_file_at(mdir, "after", &after, NULL);
	if (r < 0)
		return r;
	for (char *const *w = moved; *w && r >= 0; w++) {
		_cleanup_free_ char *rel = path_join(*w, "known-ctimes");
		_cleanup_free_ char *old = NULL, *buf = NULL;
		if (!rel)
			return -ENOMEM;
		(void)read_file_at(s->worlds_fd, rel, &old, NULL);
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

/* The paths of DST that changed since the merge, one a line. */
static int changed_since(int mdir, int tree, char **out)
{
	_cleanup_free_ char *after = NULL, *buf = NULL;
	int r = read_file_at(mdir, "after", &after, NULL);
	if (r < 0)
		return r;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	char *save = NULL;
	for (char *line = strtok_r(after, "\n", &save); line;
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
		bool same = !strcmp(sec, "-")
				    ? !exists
				    : exists &&
					      st.st_ctim.tv_sec == atoll(sec) &&
					      st.st_ctim.tv_nsec == atol(nsec);
		/* Any apt command rebuilds apt's caches: restoring the old
		 * one loses nothing (apt checks it against its sources). */
		if (!same && dbmerge_planned(path) != DBMERGE_DROP)
			fprintf(f, "%s\n", path);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*out = steal_pointer(&buf);
	return 0;
}

/* Reads merges/DST, the record of the last merge into DST, into *P and
 * opens it as *LDIR. */
static int last_merge(struct world_store *s, const char *dst, int *ldir,
		      struct plan *p, struct world_error *err)
{
	if (!world_name_valid(dst))
		return werr(err, EINVAL, "invalid world name '%s'", dst);
	if (!world_exists(s, dst))
		return werr(err, ENOENT, "no world named '%s'", dst);
	_cleanup_free_ char *last = path_join("merges", dst);
	_cleanup_close_ int fd =
		last ? openat(s->state_fd, last,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		     : -1;
	if (fd < 0)
		return werr(err, ENOENT, "no merge into '%s' to roll back",
			    dst);
	int r = journal_read(fd, p);
	if (r < 0 || p->phase != 2) {
		if (r >= 0)
			plan_release(p);
		return werr(err, EBADMSG,
			    "the record of the last merge into "
			    "'%s' is damaged",
			    dst);
	}
	*ldir = steal_fd(&fd);
	return 0;
}

void world_merge_record_release(struct world_merge_record *m)
{
	free(m->src);
	free(m->dst);
	strvfreep(&m->rebased);
	*m = (struct world_merge_record){0};
}

int world_last_merge(struct world_store *s, const char *dst,
		     struct world_merge_record *out, struct world_error *err)
{
	_cleanup_close_ int ldir = -1;
	struct plan p;
	int r = last_merge(s, dst, &ldir, &p, err);
	if (r < 0)
		return r;
	struct world_merge_record m = {
		.id = p.id,
		.src = steal_pointer(&p.src),
		.dst = steal_pointer(&p.dst),
		.rebased = p.rebased ? steal_pointer(&p.rebased)
				     : calloc(1, sizeof(char *))};
	plan_release(&p);
	if (!m.rebased) {
		world_merge_record_release(&m);
		return werr(err, ENOMEM, "out of memory");
	}
	*out = m;
	return 0;
}

/* The worlds that merge P moved onto its DST and that still stand on it,
 * as "'A', 'B'" (*n of them); NULL when there are none. */
static char *still_rebased(struct world_store *s, const struct plan *p,
			   size_t *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*n = 0;
	for (char **w = p->rebased; f && w && *w; w++)
		if (world_exists(s, *w) && store_is_ancestor(s, *w, p->dst))
			fprintf(f, "%s'%s'", (*n)++ ? ", " : "", *w);
	if (!f || fclose(f) != 0 || !*n) {
		free(buf);
		return NULL;
	}
	return buf;
}

int world_rollback(struct world_store *s, const char *dst, uint64_t id,
		   bool force, char **changed, struct world_error *err)
{
	_cleanup_close_ int ldir = -1;
	struct plan p;
	int r = last_merge(s, dst, &ldir, &p, err);
	if (r == -ENOENT && id && world_exists(s, dst))
		return werr(err, ENOENT,
			    "cannot roll back merge %" PRIu64 " into '%s': no "
			    "merge into '%s' is kept (it was rolled back)",
			    id, dst, dst);
	if (r < 0)
		return r;
	_cleanup_free_ char *last = path_join("merges", dst);
	if (id && p.id != id) {
		r = werr(err, ESTALE,
			 "cannot roll back merge %" PRIu64 " into '%s': "
			 "merge %" PRIu64 " (of '%s') came after it, and only "
			 "the last merge into a world can be rolled back",
			 id, dst, p.id, p.src);
		plan_release(&p);
		return r;
	}
	if (strcmp(dst, WORLD_ROOT))
		r = lifecycle_ensure_running(s, dst, NULL, err);
	_cleanup_free_ char *tp = tree_path(s, dst);
	_cleanup_close_ int tree =
		tp ? open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (r >= 0 && tree < 0)
		r = werr_errno(err, errno, "cannot open the tree of '%s'", dst);
	/* Restoring DST's databases is writing them, as a merge does. */
	_cleanup_(dbmerge_unlock) struct dbmerge_locks locks =
		DBMERGE_LOCKS_INIT;
	if (r >= 0)
		r = dbmerge_lock(tree, dst, &locks, err);
	for (size_t i = 0; r >= 0 && i < p.n; i++) /* nothing decided yet */
		r = dbmerge_check_lock(tree, &locks, p.v[i].path, dst, err);
	_cleanup_free_ char *list = NULL;
	if (r >= 0 && !force && changed_since(ldir, tree, &list) < 0)
		r = werr(err, EBADMSG,
			 "cannot tell what changed in '%s' since the merge "
			 "(--force rolls back anyway)",
			 dst);
	if (r >= 0 && !force && *list) {
		size_t n = 0;
		for (char *c = list; *c; c++)
			n += *c == '\n';
		r = werr(err, EEXIST,
			 "cannot roll back the merge of '%s' into '%s': %zu "
			 "path%s changed since (--force rolls back anyway)",
			 p.src, dst, n, n == 1 ? "" : "s");
		if (changed)
			*changed = steal_pointer(&list);
	}
	/* Worlds the merge moved onto DST see SRC's changes through DST
	 * alone: undone, those would be gone from under them. */
	size_t n_busy = 0;
	_cleanup_free_ char *busy =
		r >= 0 ? still_rebased(s, &p, &n_busy) : NULL;
	if (busy)
		r = werr(err, EBUSY,
			 "cannot roll back merge %" PRIu64 " (of '%s' into "
			 "'%s'): %s %s built on '%s' (delete %s first)",
			 p.id, p.src, dst, busy, n_busy == 1 ? "was" : "were",
			 p.src, n_busy == 1 ? "it" : "them");
	if (r < 0) {
		plan_release(&p);
		return r;
	}
	/* The undo is a transaction too: journaled as the active merge, so
	 * that an interrupted one is finished by the next command. */
	(void)rm_rf_at(s->state_fd, "merge");
	if (renameat(s->state_fd, last, s->state_fd, "merge") < 0) {
		plan_release(&p);
		return werr_errno(err, errno, "cannot start the roll-back");
	}
	_cleanup_close_ int mdir = openat(s->state_fd, "merge",
					  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = mdir < 0 ? werr_errno(err, errno, "cannot open %s/merge", s->state)
	    : journal_append(mdir, "phase rollback\n") < 0
		    ? werr(err, EIO, "cannot write the merge journal")
		    : 0;
	crash_point("rollback-started");
	if (r >= 0)
		r = roll_back(s, mdir, &p, err);
	if (r >= 0 && rm_rf_at(s->state_fd, "merge") < 0)
		r = werr(err, EIO, "cannot remove %s/merge", s->state);
	if (r >= 0)
		(void)layers_refresh_all(s, NULL);
	plan_release(&p);
	return r;
}

/* The last merge into DST stays in merges/DST for an undo. */
static int keep_as_last(struct world_store *s, const char *dst)
{
	(void)mkdirat(s->state_fd, "merges", 0700);
	_cleanup_free_ char *last = path_join("merges", dst);
	if (!last)
		return -ENOMEM;
	(void)rm_rf_at(s->state_fd, last);
	if (renameat(s->state_fd, "merge", s->state_fd, last) < 0)
		return -errno;
	return 0;
}

/* Moves the worlds built on SRC onto DST, which now holds SRC's changes:
 * their containers stop, their trees are unmounted, and their metadata
 * names DST instead of SRC.  *moved gets their names; the caller brings
 * them back once SRC is gone.  Idempotent, for recovery. */
static int rebase_children(struct world_store *s, const char *src,
			   const char *dst, char ***moved,
			   struct world_error *err)
{
	int r = store_children(s, src, moved);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	for (char **w = *moved; *w && r >= 0; w++) {
		struct world_meta m = {0};
		if (meta_load(s, *w, &m, NULL) < 0)
			continue;
		_cleanup_free_ char *merged = world_path(s, *w, "merged");
		(void)container_stop(s, *w, 10);
		if (merged)
			(void)layers_unmount(merged);
		/* SRC's place in the order goes to DST, once. */
		bool has_dst = false;
		for (size_t i = 0; i < m.n_parents; i++)
			has_dst |= !strcmp(m.parents[i], dst);
		size_t k = 0;
		for (size_t i = 0; i < m.n_parents; i++) {
			if (!strcmp(m.parents[i], src)) {
				free(m.parents[i]);
				if (has_dst)
					continue;
				m.parents[i] = strdup(dst);
				has_dst = true;
			}
			m.parents[k++] = m.parents[i];
		}
		m.parents[k] = NULL;
		m.n_parents = k;
		r = meta_save(s, &m, err);
		meta_release(&m);
	}
	return r;
}

/* After SRC is gone: the rebased worlds mount their new stacks. */
static void restart_rebased(struct world_store *s, char **moved)
{
	for (char **w = moved; w && *w; w++)
		(void)lifecycle_ensure_running(s, *w, NULL, NULL);
}

int merge_recover(struct world_store *s, bool *recovered,
		  struct world_error *err)
{
	_cleanup_close_ int mdir =
		openat(s->state_fd, "merge", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mdir < 0)
		return 0;
	struct plan p;
	int r = journal_read(mdir, &p);
	if (r < 0) {
		/* No journal: the merge died while writing its plan. */
		if (r == -ENOENT)
			return rm_rf_at(s->state_fd, "merge") < 0
				       ? werr(err, EIO,
					      "cannot remove %s/merge",
					      s->state)
				       : 0;
		return werr_errno(err, -r,
				  "the merge journal %s/merge/journal "
				  "cannot be read",
				  s->state);
	}
	if (recovered)
		*recovered = true;
	if (p.phase == 2 && p.rollback) {
		/* An undo of a finished merge, interrupted: undo the rest. */
		if (strcmp(p.dst, WORLD_ROOT) && world_exists(s, p.dst))
			r = lifecycle_ensure_running(s, p.dst, NULL, err);
		if (r >= 0)
			r = roll_back(s, mdir, &p, err);
		if (r >= 0 && rm_rf_at(s->state_fd, "merge") < 0)
			r = werr(err, EIO, "cannot remove %s/merge", s->state);
	} else if (p.phase == 2) {
		/* Done: only the clean-up was left. */
		_cleanup_strv_free_ char **moved = NULL;
		if (p.rebase)
			r = rebase_children(s, p.src, p.dst, &moved, err);
		if (r >= 0 && world_exists(s, p.src)) {
			const char *name = p.src;
			(void)container_kill_frozen(s, name);
			r = world_delete(s, &name, 1, err);
		}
		if (r >= 0)
			restart_rebased(s, moved);
		_cleanup_free_ char *tp = tree_path(s, p.dst);
		_cleanup_close_ int tree =
			tp ? open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		_cleanup_close_ int wdir =
			openat(s->state_fd, "merge",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r >= 0 && tree >= 0 && wdir >= 0 &&
		    write_after(wdir, tree, &p) >= 0)
			(void)share_after(s, wdir, moved);
		if (r >= 0 && keep_as_last(s, p.dst) < 0)
			r = werr(err, EIO, "cannot keep the undo of the merge");
	} else {
		if (p.phase == 1 && strcmp(p.dst, WORLD_ROOT) &&
		    world_exists(s, p.dst))
			r = lifecycle_ensure_running(s, p.dst, NULL, err);
		/* SRC's tree tells the roll-back what the merge put where
		 * DST had nothing (after a reboot it is not mounted). */
		if (r >= 0 && p.phase == 1 && world_exists(s, p.src))
			(void)lifecycle_ensure_running(s, p.src, NULL, NULL);
		if (r >= 0 && p.phase == 1)
			r = roll_back(s, mdir, &p, err);
		if (r >= 0 && rm_rf_at(s->state_fd, "merge") < 0)
			r = werr(err, EIO, "cannot remove %s/merge", s->state);
		if (world_exists(s, p.src))
			(void)container_freeze(s, p.src, false);
	}
	if (r >= 0)
		(void)layers_refresh_all(s, NULL);
	plan_release(&p);
	return r;
}

static bool has_children(struct world_store *s, const char *name,
			 struct world_error *err)
{
	_cleanup_strv_free_ char **children = NULL;
	if (store_children(s, name, &children) < 0 || !children[0])
		return false;
	char names[512] = "";
	size_t len = 0, n = 0;
	for (char **c = children; *c; c++, n++)
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len,
						sizeof(names) - len, "%s'%s'",
						n ? ", " : "", *c);
	werr(err, EBUSY,
	     "cannot merge '%s': %s %s built on it (merge or delete %s first, "
	     "or --rebase)",
	     name, names, n == 1 ? "is" : "are", n == 1 ? "it" : "them");
	return true;
}

/* Takes the locks of DST's database tools (see dbmerge_lock()). */
static int lock_databases(struct world_store *s, const char *dst,
			  struct dbmerge_locks *l, struct world_error *err)
{
	int r = strcmp(dst, WORLD_ROOT)
			? lifecycle_ensure_running(s, dst, NULL, err)
			: 0;
	if (r < 0)
		return r;
	_cleanup_free_ char *tp = tree_path(s, dst);
	if (!tp)
		return werr(err, ENOMEM, "out of memory");
	_cleanup_close_ int tree = open(tp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tree < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  dst);
	return dbmerge_lock(tree, dst, l, err);
}

/* Whether dpkg in TREE left journal entries (var/lib/dpkg/updates/NNNN)
 * that it has not folded into its status file yet: dpkg was interrupted
 * there, and the status file alone does not say what is installed. */
static bool dpkg_journal_pending(int tree)
{
	int fd = open_beneath(tree, "var/lib/dpkg/updates",
			      O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return false;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] &&
		    strspn(de->d_name, "0123456789") == strlen(de->d_name))
			return true;
	return false;
}

/* Saves what DST has at each path that the merge replaces or deletes, or
 * a directory's metadata, and makes the saves durable.  A path that is no
 * longer the one planned (DST replaced or removed it since) stops the
 * merge, as the apply does. */
static int save_all(struct merge_ctx *m, const struct plan *p,
		    struct world_error *err)
{
	int r = 0;
	for (size_t i = 0; i < p->n && r >= 0; i++) {
		const struct op *o = &p->v[i];
		if (o->had == HAD_NONE)
			continue;
		const char *b;
		char n[32];
		snprintf(n, sizeof(n), "%zu", i);
		_cleanup_close_ int par = open_parent(m->tree, o->path, &b);
		struct stat st;
		r = par < 0 ? par
		    : fstatat(par, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
		    : S_ISDIR(st.st_mode) != (o->had == HAD_DIR) ||
				    (o->had == HAD_FILE && st.st_ino != o->ino)
			    ? -ESTALE
			    : 0;
		if (r >= 0 && o->had == HAD_FILE)
			r = save_path(par, b, m->undo, n);
		else if (r >= 0 && o->kind == OP_DIR)
			r = save_dir_meta(par, b, m->undo,
					  strcat(n, ".meta"));
		if (r == -ESTALE || r == -ENOENT)
			return werr(err, EEXIST,
				    "cannot merge into '%s': %s changed in "
				    "'%s' during the merge",
				    p->dst, o->path, p->dst);
		if (r < 0)
			return werr_errno(err, -r, "cannot save %s of '%s'",
					  o->path, p->dst);
	}
	_cleanup_close_ int fd = openat(m->undo, ".", O_RDONLY | O_DIRECTORY |
						      O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0 ||
	    (m->staged >= 0 && fsync(m->staged) < 0))
		return werr_errno(err, errno, "cannot save what '%s' had",
				  p->dst);
	return 0;
}

static int plan_ops(struct merge_ctx *m, const struct world_diff *d,
		    struct plan *p)
{
	const char *moved = NULL; /* a DST directory that moves away whole */
	size_t moved_len = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if (c->excluded || c->checked_off)
			continue;
		if (moved && !strncmp(c->path, moved, moved_len) &&
		    c->path[moved_len] == '/' && c->kind == 'D')
			continue; /* gone with its directory */
		struct stat xs, ys;
		int had = kind_of(m->tree, c->path, &ys);
		int src = kind_of(m->src_tree, c->path, &xs);
		if (had < 0 || src < 0)
			return had < 0 ? had : src;
		struct op o = {.had = had,
			       .dst_changed = c->conflict || c->merged,
			       .ino = had != HAD_NONE ? ys.st_ino : 0};
		/* A database both sides changed is merged record by record,
		 * never replaced whole: also when SRC deleted it (DST's new
		 * records stay) and, forced, when records conflict (those
		 * alone take SRC's side). */
		enum dbmerge_action db = c->merged || (m->force && c->conflict)
						 ? dbmerge_planned(c->path)
						 : DBMERGE_NONE;
		if (db == DBMERGE_DROP)
			o.kind = OP_DEL;
		else if (db == DBMERGE_MERGED)
			o.kind = OP_MRG;
		else if (c->kind == 'D')
			o.kind = OP_DEL;
		else
			o.kind = src == HAD_DIR ? OP_DIR : OP_PUT;
		if (o.kind == OP_DEL && had == HAD_NONE)
			continue;
		if (!(o.path = strdup(c->path)))
			return -ENOMEM;
		struct op *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
		if (!nv) {
			free(o.path);
			return -ENOMEM;
		}
		p->v = nv;
		p->v[p->n++] = o;
		if (had == HAD_DIR && o.kind != OP_DIR) {
			moved = p->v[p->n - 1].path;
			moved_len = strlen(moved);
		}
	}
	return 0;
}

/* The merge itself, under DST's database locks L, from the diff on.  With
 * *again set it stopped before writing anything: a lock file was missing,
 * and is now made and taken, and the diff must be made again under it.
 * *ID (may be NULL) gets the merge's id once it is done. */
static int merge_locked(struct world_store *s, const char *src, const char *dst,
			unsigned flags, struct dbmerge_locks *locks,
			bool *again, struct world_diff *conflicts,
			uint64_t *id, struct world_error *err);

int world_merge(struct world_store *s, const char *src, const char *dst,
		unsigned flags, struct world_diff *conflicts, uint64_t *id,
		struct world_error *err)
{
	if (!world_name_valid(src) || !world_name_valid(dst))
		return werr(err, EINVAL, "invalid world name '%s'",
			    world_name_valid(src) ? dst : src);
	if (!strcmp(src, WORLD_ROOT))
		return werr(err, EINVAL,
			    "Root cannot be merged: it is the "
			    "production world");
	if (!world_exists(s, src))
		return werr(err, ENOENT, "no world named '%s'", src);
	if (!world_exists(s, dst))
		return werr(err, ENOENT, "no world named '%s'", dst);
	if (!strcmp(src, dst) || !store_is_ancestor(s, src, dst))
		return werr(err, EINVAL,
			    "cannot merge '%s' into '%s': '%s' is not an "
			    "ancestor of '%s'",
			    src, dst, dst, src);
	if (!(flags & WORLD_MERGE_REBASE) && has_children(s, src, err))
		return -EBUSY;

	/* DST's databases stay as the diff finds them until the merge is
	 * done: their tools' locks first. */
	_cleanup_(dbmerge_unlock) struct dbmerge_locks locks =
		DBMERGE_LOCKS_INIT;
	bool again = true;
	int r = lock_databases(s, dst, &locks, err);
	while (r >= 0 && again) /* each round takes one lock file more */
		r = merge_locked(s, src, dst, flags, &locks, &again, conflicts,
				 id, err);
	return r;
}

static int merge_locked(struct world_store *s, const char *src, const char *dst,
			unsigned flags, struct dbmerge_locks *locks,
			bool *again, struct world_diff *conflicts,
			uint64_t *id, struct world_error *err)
{
	bool force = flags & WORLD_MERGE_FORCE;
	*again = false;
	struct world_diff d = {0};
	int r = world_diff(s, src, dst, &d, err);
	if (r < 0)
		return r;
	crash_point("merge-diffed");
	size_t n_conflicts = 0;
	for (size_t i = 0; i < d.n; i++)
		n_conflicts += d.v[i].conflict && !d.v[i].excluded &&
			       !d.v[i].checked_off;
	if (n_conflicts && !force) {
		if (conflicts)
			*conflicts = d;
		else
			world_diff_release(&d);
		return werr(
			err, EEXIST,
			"cannot merge '%s' into '%s': %zu path%s changed in "
			"'%s' after '%s' was created (--force overwrites)",
			src, dst, n_conflicts, n_conflicts == 1 ? "" : "s", dst,
			src);
	}

	struct merge_ctx m = {.s = s,
			      .tree = -1,
			      .src_tree = -1,
			      .src_upper = -1,
			      .undo = -1,
			      .staged = -1,
			      .force = force,
			      .src_layer = -1,
			      .diff = &d};
	struct plan p = {.src = strdup(src),
			 .dst = strdup(dst),
			 .rebase = flags & WORLD_MERGE_REBASE};
	_cleanup_close_ int mdir = -1;
	_cleanup_free_ char *tp = tree_path(s, dst), *sp = tree_path(s, src),
			    *up = world_path(s, src, "upper");
	if (!tp || !sp || !up || !p.src || !p.dst) {
		r = werr(err, ENOMEM, "out of memory");
		goto out;
	}
	m.tree = open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* syncfs */
	m.src_tree = open(sp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	m.src_layer = open(up, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Links from SRC's own layer only where it is SRC's whole view of
	 * the path: when DST is SRC's parent and SRC has no other parent. */
	struct world_meta sm = {0};
	if (meta_load(s, src, &sm, NULL) >= 0 && sm.n_parents == 1 &&
	    !strcmp(sm.parents[0], dst) && !strcmp(dst, WORLD_ROOT))
		m.src_upper = open(up, O_PATH | O_DIRECTORY | O_CLOEXEC);
	meta_release(&sm);
	if (m.tree < 0 || m.src_tree < 0) {
		r = werr_errno(err, errno,
			       "cannot open the trees of '%s' and "
			       "'%s'",
			       src, dst);
		goto out;
	}
	if ((r = plan_ops(&m, &d, &p)) < 0) {
		r = werr_errno(err, -r,
			       "cannot plan the merge of '%s' into '%s'", src,
			       dst);
		goto out;
	}
	for (size_t i = 0; i < p.n && r >= 0; i++) {
		r = dbmerge_check_lock(m.tree, locks, p.v[i].path, dst, err);
		*again |= r > 0;
	}
	if (r < 0 || *again)
		goto out;
	p.applied = p.n;
	for (size_t i = 0; i < p.n; i++)
		if (!strncmp(p.v[i].path, "/var/lib/dpkg/", 14)) {
			const char *broken =
				dpkg_journal_pending(m.src_tree) ? src
				: dpkg_journal_pending(m.tree)	 ? dst
								 : NULL;
			if (broken) {
				r = werr(err, EBUSY,
					 "cannot merge '%s' into '%s': dpkg "
					 "was interrupted in '%s' (run dpkg "
					 "--configure -a there first)",
					 src, dst, broken);
				goto out;
			}
			break;
		}
	/* The merge's id, and the worlds its rebase moves, which a
	 * roll-back must not pull the ground from under. */
	unsigned long serial = 0;
	if ((r = world_store_next_serial(s, "merge", &serial, err)) < 0)
		goto out;
	p.id = serial;
	if (p.rebase && (r = store_children(s, src, &p.rebased)) < 0) {
		r = werr_errno(err, -r, "cannot list worlds");
		goto out;
	}

	(void)rm_rf_at(s->state_fd, "merge");
	if (mkdirat(s->state_fd, "merge", 0700) < 0 ||
	    (mdir = openat(s->state_fd, "merge",
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdirat(mdir, "undo", 0700) < 0 ||
	    (m.undo = openat(mdir, "undo",
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = werr_errno(err, errno, "cannot create %s/merge", s->state);
		goto fail;
	}
	for (size_t i = 0; i < p.n && r >= 0; i++) {
		if (p.v[i].kind != OP_MRG)
			continue;
		if (m.staged < 0 &&
		    (mkdirat(mdir, "staged", 0700) < 0 ||
		     (m.staged = openat(mdir, "staged",
					O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
			     0)) {
			r = werr_errno(err, errno, "cannot create %s/merge",
				       s->state);
			break;
		}
		r = stage_database(&m, src, i, p.v[i].path, err);
	}
	if (r == -EEXIST && conflicts) { /* unresolved, even forced */
		*conflicts = d;
		d = (struct world_diff){0};
	}
	if (r < 0)
		goto fail;
	crash_point("merge-staged");
	if ((r = journal_write(mdir, &p)) < 0) {
		r = werr_errno(err, -r, "cannot write the merge journal");
		goto fail;
	}
	/* SRC is frozen while it is merged: what is merged is what it
	 * showed.  Only now, with a journal whose recovery thaws it. */
	(void)container_freeze(s, src, true);
	crash_point("merge-planned");

	/* Save what will be replaced: hard links, on DST's file system. */
	if ((r = save_all(&m, &p, err)) < 0)
		goto fail;
	if ((r = journal_append(mdir, "phase prepared\n")) < 0) {
		r = werr_errno(err, -r, "cannot write the merge journal");
		goto fail;
	}
	crash_point("merge-prepared");

	for (size_t i = 0; i < p.n; i++) {
		crash_point_n("merge-op", i);
		if ((r = apply_op(&m, i, &p.v[i])) < 0) {
			/* What DST changed meanwhile is DST's: not rolled
			 * back, never overwritten. */
			p.applied = r == -ESTALE ? i : i + 1;
			r = r == -ESTALE
				    ? werr(err, EEXIST,
					   "cannot merge '%s' into '%s': %s "
					   "changed in '%s' during the merge",
					   src, dst, p.v[i].path, dst)
				    : werr_errno(err, -r,
						 "cannot merge %s into '%s'",
						 p.v[i].path, dst);
			goto rollback;
		}
	}
	/* Directory times last: every entry made above changed them. */
	for (size_t i = p.n; i-- > 0;) {
		const struct op *o = &p.v[i];
		if (o->kind != OP_DIR)
			continue;
		_cleanup_close_ int sfd =
			open_beneath(m.src_tree, o->path, O_PATH);
		const char *b;
		_cleanup_close_ int par = open_parent(m.tree, o->path, &b);
		struct stat st;
		if (sfd >= 0 && par >= 0 && fstat(sfd, &st) == 0) {
			struct timespec ts[2] = {st.st_atim, st.st_mtim};
			(void)utimensat(par, b, ts, AT_SYMLINK_NOFOLLOW);
		}
	}
	crash_point("merge-applied");
	if ((r = sync_written(m.tree, &p)) < 0) {
		r = werr_errno(err, -r, "cannot make the merge durable");
		goto rollback;
	}
	if ((r = journal_append(mdir, "phase done\n")) < 0) {
		r = werr_errno(err, -r, "cannot write the merge journal");
		goto rollback;
	}
	crash_point("merge-done");
	/* Done: what only applying needed goes first, so that deleting SRC
	 * (liblxc, which opens files of its own) never runs short of
	 * descriptors where the merge itself did not. */
	closep(&m.src_tree);
	closep(&m.src_upper);
	closep(&m.src_layer);
	closep(&m.undo);
	closep(&m.staged);

	/* SRC is merged: it goes, and the worlds stacked on DST see the
	 * merged files from now on.  Killed frozen: a process thawed first
	 * would write into files that Root now shares with SRC's layer. */
	(void)container_kill_frozen(s, src);
	char **moved = NULL;
	r = p.rebase ? rebase_children(s, src, dst, &moved, err) : 0;
	if (r >= 0)
		r = world_discard_lazily(s, src, err);
	if (r >= 0)
		restart_rebased(s, moved);
	/* After SRC is gone: its layer shared the merged files' inodes, and
	 * their ctimes changed when it went. */
	if (r >= 0 && write_after(mdir, m.tree, &p) >= 0)
		(void)share_after(s, mdir, moved);
	strvfreep(&moved);
	if (r >= 0 && keep_as_last(s, dst) < 0)
		r = werr(err, EIO, "cannot keep the undo of the merge");
	if (r >= 0)
		r = layers_refresh_all(s, err);
	if (r >= 0 && id)
		*id = p.id;
	goto out;

rollback:;
	struct world_error ignored;
	(void)roll_back(s, mdir, &p, &ignored);
fail:
	(void)rm_rf_at(s->state_fd, "merge");
	(void)container_freeze(s, src, false);
out:
	for (size_t i = 0; i < m.n_links; i++)
		free(m.links[i].path);
	free(m.links);
	closep(&m.tree);
	closep(&m.src_tree);
	closep(&m.src_upper);
	closep(&m.src_layer);
	link_names_free(m.names);
	closep(&m.undo);
	closep(&m.staged);
	plan_release(&p);
	world_diff_release(&d);
	return r;
}
