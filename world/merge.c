/* wmerge: apply a world's changes to an ancestor, as one journaled
 * transaction (README, "Merges"; wmerge(8)).
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
 * the world is executed.
 *
 * This file plans the operations and applies them (merge_locked);
 * journal.c writes and reads the plan, undo.c rolls it back, recover.c
 * finishes or undoes an interrupted merge, api-merge.c holds the
 * operations of world.h (merge-internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "dbmerge.h"
#include "discard.h"
#include "error.h"
#include "lifecycle.h"
#include "fsutil.h"
#include "layers.h"
#include "links.h"
#include "merge-internal.h"
#include "save.h"

struct merge_ctx {
	struct world_store *s;
	int tree;      /* DST's tree */
	int src_tree;  /* SRC's tree as its processes see it */
	int src_upper; /* SRC's own layer of Root's own file system */
	int undo;
	int staged; /* merged package databases, by operation */
	bool force; /* conflicting records take SRC's side */
	int src_layer; /* SRC's own layer of Root's file system */
	/* The directories of SRC's layer that hold the paths applied one
	 * after the other (SRC is frozen).  Never DST's: DST may rename a
	 * directory while the merge runs, and a descriptor held from one
	 * path to the next would then write where DST moved it. */
	struct parent_cache layer_dirs;
	char **mounts; /* Root's other file systems (merge_on_other_fs) */
	struct link_names *names; /* its multiply-linked files, once needed */
	const struct world_diff *diff;
	/* The coarse clock just before the diff: what DST changed since
	 * has a ctime no older (merge_dir_unchanged_below()). */
	struct timespec diffed;
	const struct plan *plan; /* once it is applied */
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
			first = journal_open_parent(m->tree, m->links[i].path,
						    &b);
			if (first >= 0 &&
			    linkat(first, b, parent, stage, 0) == 0)
				return 0;
		}
	int r = save_copy_node(sfd, &st, parent, stage, false);
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
 * O(bytes).  Never a file whose layer inode lacks its data (metacopy), nor
 * one whose xattrs the link's clean-up would change in SRC's layer
 * (save_must_copy()).  Returns 1 when done, 0 when a copy is needed. */
static int stage_link(struct merge_ctx *m, const char *path, int parent,
		      const char *stage)
{
	if (m->src_upper < 0 || m->src_layer < 0 ||
	    merge_on_other_fs(m->mounts, path))
		return 0;
	const char *b; /* the same directory: both are SRC's layer */
	int up = parent_cache_open(&m->layer_dirs, path, &b);
	struct stat st;
	if (up < 0 || fstatat(up, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    S_ISDIR(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) ||
	    save_must_copy(up, b))
		return 0;
	if (linkat(up, b, parent, stage, 0) < 0)
		return errno == EXDEV || errno == EPERM || errno == EMLINK
			       ? 0
			       : -errno;
	char to[FD_PATH_MAX];
	save_fd_path(to, sizeof(to), parent, stage);
	(void)save_copy_xattrs(NULL, to);
	return 1;
}

/* Before stage_link() strips the overlay xattrs of SRC's own files
 * (Root never carries them): SRC's lower-had keeps, durably, which of
 * them were copy-ups, and the inode number overlayfs showed for each, so
 * that a merge rolled back and tried again still tells modify/delete. */
static int note_origins(struct merge_ctx *m, const struct plan *p,
			const char *src)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = m->src_upper < 0 ? NULL : open_memstream(&buf, &len);
	if (m->src_upper < 0)
		return 0;
	if (!f)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < p->n && r >= 0; i++) {
		const struct op *o = &p->v[i];
		const char *b;
		struct stat st;
		if (o->kind != OP_PUT || merge_on_other_fs(m->mounts, o->path))
			continue;
		int up = m->src_layer < 0 ? -1
					  : parent_cache_open(&m->layer_dirs,
							      o->path, &b);
		if (up < 0 || fstatat(up, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		char proc[FD_PATH_MAX];
		save_fd_path(proc, sizeof(proc), up, b);
		if (lgetxattr(proc, "trusted.overlay.origin", NULL, 0) < 0)
			continue;
		_cleanup_close_ int sfd =
			open_beneath(m->src_tree, o->path, O_PATH);
		if (sfd < 0 || fstat(sfd, &st) < 0)
			continue;
		fprintf(f, "O %llu ", (unsigned long long)st.st_ino);
		path_escape(f, o->path);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return diff_had_append(m->s, src, buf, len);
}

/* The directories the merge takes from DST (deleted, replaced, renamed
 * away): each world built on DST
 * (but SRC) sees DST lack them from now on, and one its processes make
 * there anew is opaque in its layer, hiding whatever DST puts below it
 * later (a roll-back of this merge putting DST's directory back).  Its
 * lower-had says so, durably, before DST changes ("X path", read by
 * hidden_since()): a merge of it then deletes nothing there unasked. */
static int note_dirs_gone(struct world_store *s, const struct plan *p,
			  const char *src, const char *dst)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->v[i];
		/* A directory SRC renamed leaves its old name, as DST has
		 * it before the merge. */
		const char *gone = op_takes_dir(o) ? o->path : NULL;
		if (o->kind == OP_MOVE)
			gone = o->before ? o->before : o->from;
		if (gone) {
			fputs("X ", f);
			path_escape(f, gone);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	_cleanup_strv_free_ char **worlds = NULL;
	int r = len ? store_children(s, dst, &worlds) : 0;
	for (char **w = worlds; r >= 0 && w && *w; w++) {
		struct world_meta wm = {0};
		/* Of a world with several parents, no one lower is DST's. */
		if (strcmp(*w, src) && meta_load(s, *w, &wm, NULL) >= 0 &&
		    wm.n_parents == 1)
			r = diff_had_append(s, *w, buf, len);
		meta_release(&wm);
		if (r == -ENOENT) /* deleted meanwhile */
			r = 0;
	}
	return r;
}

/* A new name in SRC of a file that SRC did not change (a hard link made
 * in SRC to DST's file: overlayfs copied the file up to link it) becomes
 * STAGE, a hard link to DST's own file, not a separate file.  Returns 1
 * when done, 0 when PATH is no such name. */
static int stage_unchanged_link(struct merge_ctx *m, const char *path,
				int parent, const char *stage)
{
	const char *b;
	int up = m->src_layer < 0 || merge_on_other_fs(m->mounts, path)
			 ? -1
			 : parent_cache_open(&m->layer_dirs, path, &b);
	struct stat st;
	if (up < 0 || fstatat(up, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_nlink < 2)
		return 0;
	if (!m->names) /* loaded with the plan where it has a put */
		return 0;
	for (char *const *q = link_names_of(m->names, st.st_ino); q && *q;
	     q++) {
		bool changed = !strcmp(*q, path);
		for (size_t i = 0; !changed && i < m->diff->n; i++)
			changed = !strcmp(m->diff->v[i].path, *q);
		const char *qb;
		_cleanup_close_ int qp =
			changed ? -1 : journal_open_parent(m->tree, *q, &qb);
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
	int r = save_copy_node(fd, &st, parent, stage, false);
	return r < 0 ? r : 1;
}

/* A copy of FROM as I.merged beside what a merge stages: the records the
 * merge writes, apart from DST's file, which DST may write in place. */
static int keep_merged_copy(struct merge_ctx *m, int from, size_t i,
			    const char *path, struct world_error *err)
{
	char kept[48];
	snprintf(kept, sizeof(kept), "%zu.merged", i);
	_cleanup_close_ int copy =
		openat(m->staged, kept,
		       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r = copy < 0 ? -errno : copy_bytes(from, copy);
	if (r >= 0 && fsync(copy) < 0)
		r = -errno;
	return r < 0 ? werr_errno(err, -r, "cannot stage %s", path) : 0;
}

/* A database that SRC alone changed (or apt's planner log) is put whole,
 * as any file; the copy of what it puts lets a forced roll-back undo its
 * records alone, should DST change the file after the merge
 * (dbmerge_undo()). */
static int keep_put_database(struct merge_ctx *m, size_t i, const char *path,
			     struct world_error *err)
{
	_cleanup_close_ int from = open_file_beneath(m->src_tree, path);
	if (from == -ENOENT || from == -EINVAL)
		return 0; /* no file's records to undo */
	if (from < 0)
		return werr_errno(err, -from, "cannot read %s of the source",
				  path);
	return keep_merged_copy(m, from, i, path, err);
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
	/* A copy of what the merge writes, apart from the staged file (which
	 * becomes DST's, and DST may write it in place): a forced roll-back
	 * tells by it which records DST changed since (dbmerge_undo()). */
	_cleanup_close_ int from =
		openat(m->staged, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (from < 0)
		return werr_errno(err, errno, "cannot stage %s", path);
	return keep_merged_copy(m, from, i, path, err);
}

static int apply_op(struct merge_ctx *m, size_t i, const struct op *o)
{
	if (o->kind == OP_MOVE)
		return merge_move_apply(m->tree, m->src_tree, o);
	const char *base;
	_cleanup_close_ int parent =
		journal_open_parent(m->tree, o->path, &base);
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
	if (had != (int)o->had || (had == HAD_FILE && now.st_ino != o->ino) ||
	    (had == HAD_FILE && undo_seen_changed(o, &now)) ||
	    (op_takes_dir(o) && !merge_dir_as_planned(o, &now)))
		return -ESTALE; /* DST changed it since the plan or its save */

	if (o->had == HAD_DIR && o->kind != OP_DIR) {
		/* To be copied back by a roll-back: what lies below gets new
		 * ctimes, learnt where they were no change (undo-known.c). */
		struct stat us;
		if (op_takes_dir(o) &&
		    (r = merge_dir_unchanged_below(parent, base, m->plan, i,
						   m->diffed)) < 0)
			return r;
		if (fstat(m->undo, &us) == 0 && us.st_dev != now.st_dev)
			undo_note_before_below(m->undo, i, parent, base,
					       o->path);
		if ((r = save_tree(parent, base, m->undo, n, stage)) < 0)
			return r == -EEXIST ? -ESTALE : r; /* see below */
		undo_note_applied(m->undo, n, &now);
	}
	if (o->kind == OP_DEL) {
		if (o->had == HAD_FILE && unlinkat(parent, base, 0) < 0)
			return -errno;
		if (o->had == HAD_FILE)
			undo_note_applied(m->undo, n, &now);
		return 0;
	}
	if (o->kind == OP_PUT || o->kind == OP_MRG) {
		r = o->kind == OP_MRG
			    ? stage_merged(m, n, parent, stage)
			    : stage_unchanged_link(m, o->path, parent, stage);
		if (r == 0)
			r = stage_link(m, o->path, parent, stage);
		if (r == 0)
			r = stage_copy(m, o->path, parent, stage);
		/* The stage's name was free at the plan: a file there now
		 * is DST's, made since.  Each way of making the stage fails
		 * on it (a link, O_EXCL, mkdir, a rename without replace),
		 * and the merge stops as for any change of DST meanwhile,
		 * leaving it: never taken for a stage, nor removed as one. */
		if (r < 0)
			return r == -EEXIST ? -ESTALE : r;
		if (renameat2(parent, stage, parent, base,
			      o->had == HAD_NONE ? RENAME_NOREPLACE : 0) == 0) {
			if (o->had == HAD_FILE)
				undo_note_applied(m->undo, n, &now);
			return 0;
		}
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
	if (o->had == HAD_FILE)
		undo_note_applied(m->undo, n, &now);
	if (o->had != HAD_DIR && mkdirat(parent, base, 0700) < 0)
		return errno == EEXIST && o->had == HAD_NONE ? -ESTALE : -errno;
	char from[FD_PATH_MAX], to[FD_PATH_MAX];
	save_fd_path(from, sizeof(from), sfd, NULL);
	save_fd_path(to, sizeof(to), parent, base);
	if ((r = save_set_owner_mode(parent, base, &st)) < 0)
		return r;
	return save_copy_xattrs(from, to); /* times: after the entries */
}

/* The merge itself, under DST's database locks L and SRC's SRC_LOCKS,
 * SRC frozen, from the diff on.  With *again set it stopped before
 * writing anything: a lock file of DST was missing, and is now made and
 * taken, and the diff must be made again under it.
 * *ID (may be NULL) gets the merge's id once it is done. */
int merge_locked(struct world_store *s, const char *src, const char *dst,
		 unsigned flags, struct dbmerge_locks *locks,
		 struct dbmerge_locks *src_locks, bool *again,
		 struct world_diff *conflicts,
		 uint64_t *id, struct world_error *err)
{
	bool force = flags & WORLD_MERGE_FORCE;
	*again = false;
	struct world_diff d = {0};
	struct timespec diffed = {0};
	(void)clock_gettime(CLOCK_REALTIME_COARSE, &diffed);
	int r = diff_layers(s, src, dst, &d, err);
	if (r < 0)
		return r;
	crash_point("merge-diffed");
	size_t n_conflicts = 0;
	for (size_t i = 0; i < d.n; i++)
		n_conflicts += d.v[i].conflict && !d.v[i].excluded &&
			       !d.v[i].checked_off;
	/* Derived files stop a merge; files in use in DST are said (the
	 * services that use them restart). */
	size_t n_derived = 0;
	for (size_t i = 0; i < d.n_warnings; i++)
		n_derived += d.warnings[i].kind == WORLD_WARN_DERIVED;
	if ((n_conflicts || n_derived) && !force) {
		if (conflicts)
			*conflicts = d;
		else
			diff_release(&d);
		if (!n_conflicts)
			return werr(err, EEXIST,
				    "cannot merge '%s' into '%s': %zu path%s "
				    "of '%s' read in '%s' to make other files "
				    "after '%s' was created (--force merges)",
				    src, dst, n_derived,
				    n_derived == 1 ? "" : "s", src, dst, src);
		return werr(
			err, EEXIST,
			"cannot merge '%s' into '%s': %zu path%s changed in "
			"'%s' after '%s' was created (--force overwrites)",
			src, dst, n_conflicts, n_conflicts == 1 ? "" : "s", dst,
			src);
	}

	struct merge_ctx m = {.s = s,
			      .layer_dirs = PARENT_CACHE_INIT(-1),
			      .tree = -1,
			      .src_tree = -1,
			      .src_upper = -1,
			      .undo = -1,
			      .staged = -1,
			      .force = force,
			      .src_layer = -1,
			      .diff = &d,
			      .diffed = diffed};
	struct plan p = {.src = strdup(src),
			 .dst = strdup(dst),
			 .rebase = flags & WORLD_MERGE_REBASE};
	_cleanup_close_ int mdir = -1;
	_cleanup_free_ char *tp = store_tree_path(s, dst), *sp = store_tree_path(s, src),
			    *up = store_world_path(s, src, "upper");
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
	bool parent = meta_load(s, src, &sm, NULL) >= 0 && sm.n_parents == 1 &&
		      !strcmp(sm.parents[0], dst);
	if (parent && !strcmp(dst, WORLD_ROOT))
		m.src_upper = open(up, O_PATH | O_DIRECTORY | O_CLOEXEC);
	m.mounts = steal_pointer(&sm.mounts);
	meta_release(&sm);
	/* A renamed directory moves whole where SRC's lower stack is DST's
	 * tree: the origin a redirect names is DST's own (merge-move.c). */
	int moves = parent ? m.src_layer : -1;
	m.layer_dirs.tree = m.src_layer;
	if (m.tree < 0 || m.src_tree < 0) {
		r = werr_errno(err, errno,
			       "cannot open the trees of '%s' and "
			       "'%s'",
			       src, dst);
		goto out;
	}
	if ((r = merge_plan(m.tree, m.src_tree, moves, m.mounts, force, &d,
			    &p)) < 0) {
		r = werr_errno(err, -r,
			       "cannot plan the merge of '%s' into '%s'", src,
			       dst);
		goto out;
	}
	/* A mount below a directory the merge takes away: refused before
	 * anything is written (and again as it is applied). */
	for (size_t i = 0; i < p.n && r >= 0; i++)
		if (op_takes_dir(&p.v[i]))
			r = merge_dir_refuse_mount(m.tree, &p.v[i], src, dst, err);
	/* pwapt's temporary names: a world's file of such a name would be
	 * taken for one (merge_refuse_reserved()). */
	for (size_t i = 0; i < p.n && r >= 0; i++)
		r = merge_refuse_reserved(&p.v[i], src, dst, err);
	/* And DST's own file of such a name, where this merge would use it:
	 * never taken for a stage, nor removed with one. */
	char what[2 * WORLD_NAME_MAX + 40];
	snprintf(what, sizeof(what), "cannot merge '%s' into '%s'", src, dst);
	if (r >= 0)
		r = merge_refuse_temp_taken(m.tree, &p, true, what, err);
	if (r < 0)
		goto out;
	/* SRC's hard links, from a walk of its layer: one that fails
	 * fails the merge here, before anything is written. */
	bool puts = false;
	for (size_t i = 0; i < p.n && !puts; i++)
		puts = p.v[i].kind == OP_PUT;
	if (puts && m.src_layer >= 0 &&
	    (r = link_names_load(m.src_layer, &m.names)) < 0) {
		r = werr_errno(err, -r, "cannot read the layer of '%s'", src);
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
			/* SRC's: checked under its locks (api-merge.c). */
			if (dbmerge_dpkg_interrupted(m.tree)) {
				r = werr(err, EBUSY,
					 "cannot merge '%s' into '%s': dpkg "
					 "was interrupted in '%s' (run dpkg "
					 "--configure -a there first)",
					 src, dst, dst);
				goto out;
			}
			break;
		}
	/* The merge's id, and the worlds its rebase moves, which a
	 * roll-back must not pull the ground from under. */
	unsigned long serial = 0;
	if ((r = store_next_serial_lazy(s, "merge", &serial, err)) < 0)
		goto out;
	p.id = serial;
	if (p.rebase && (r = store_children(s, src, &p.rebased)) < 0) {
		r = werr_errno(err, -r, "cannot list worlds");
		goto out;
	}

	(void)journal_remove_dir(s->state_fd, "merge");
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
		bool db_put = p.v[i].kind == OP_PUT &&
			      dbmerge_undoable(p.v[i].path);
		if (p.v[i].kind != OP_MRG && !db_put)
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
		r = db_put ? keep_put_database(&m, i, p.v[i].path, err)
			   : stage_database(&m, src, i, p.v[i].path, err);
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
	crash_point("merge-planned");

	/* Save what will be replaced: hard links, on DST's file system. */
	if ((r = merge_save_all(s, m.tree, m.undo, m.staged, &p, err)) < 0)
		goto fail;
	crash_point("merge-saved");
	if ((r = note_origins(&m, &p, src)) < 0) {
		r = werr_errno(err, -r, "cannot record the copy-ups of '%s'",
			       src);
		goto fail;
	}
	if ((r = note_dirs_gone(s, &p, src, dst)) < 0) {
		r = werr_errno(err, -r,
			       "cannot note for the worlds on '%s' what the "
			       "merge takes from it",
			       dst);
		goto fail;
	}
	/* What will move from SRC's layer into DST is on disk before
	 * anything depends on it (SRC is frozen: it stays so). */
	struct world_meta src_meta = {0};
	struct stat us;
	if ((r = meta_load(s, src, &src_meta, err)) >= 0)
		r = layers_sync_world_since(
			s, &src_meta, fstat(m.undo, &us) == 0 ? us.st_dev : 0,
			err); /* the undo's was synced, SRC frozen, by the saves
			       */
	meta_release(&src_meta);
	if (r < 0)
		goto fail;
	crash_point("merge-synced");
	if ((r = journal_append(mdir, "phase prepared\n")) < 0) {
		r = werr_errno(err, -r, "cannot write the merge journal");
		goto fail;
	}
	crash_point("merge-prepared");
	m.plan = &p;

	for (size_t i = 0; i < p.n; i++) {
		crash_point_n("merge-op", i);
		_cleanup_close_ int held = undo_hold_links(m.tree, &p.v[i]);
		if ((r = merge_dir_refuse_mount(m.tree, &p.v[i], src, dst,
						 err)) < 0) {
			p.applied = i;
			goto rollback;
		}
		struct move_dirs moved;
		if (p.v[i].kind == OP_MOVE)
			merge_move_dirs_stat(m.tree, &p.v[i], false, &moved);
		if ((r = crash_fail_n("merge-op", i, EIO)) >= 0 &&
		    (r = apply_op(&m, i, &p.v[i])) >= 0)
			undo_seen_relink(&p, i, held);
		if (r >= 0 && p.v[i].kind == OP_MOVE)
			merge_dir_relearn(m.tree, &p, i, &moved);
		if (r < 0) {
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
		if (o->kind != OP_DIR && o->kind != OP_MOVE)
			continue;
		_cleanup_close_ int sfd =
			open_beneath(m.src_tree, o->path, O_PATH);
		const char *b;
		_cleanup_close_ int par =
			journal_open_parent(m.tree, o->path, &b);
		struct stat st;
		if (sfd >= 0 && par >= 0 && fstat(sfd, &st) == 0) {
			struct timespec ts[2] = {st.st_atim, st.st_mtim};
			(void)utimensat(par, b, ts, AT_SYMLINK_NOFOLLOW);
		}
	}
	crash_point("merge-applied");
	/* The ids first: where the state shares DST's file system, the
	 * syncfs that makes the merge durable makes them so too. */
	struct stat ms, ts;
	bool shared = fstat(mdir, &ms) == 0 && fstat(m.tree, &ts) == 0 &&
		      ms.st_dev == ts.st_dev;
	if ((r = undo_write_ids(mdir, m.tree, &p, !shared)) < 0) {
		r = werr_errno(err, -r, "cannot write the undo of the merge");
		goto rollback;
	}
	if ((r = undo_sync_written(m.tree, &p)) < 0) {
		r = werr_errno(err, -r, "cannot make the merge durable");
		goto rollback;
	}
	if ((r = journal_append(mdir, "phase done\n")) < 0) {
		r = werr_errno(err, -r, "cannot write the merge journal");
		goto rollback;
	}
	crash_point("merge-done");
	/* What DST changed since it applied, judged before SRC goes. */
	(void)undo_judge_ids(mdir, m.tree, &p);
	/* Done: what only applying needed goes first, so that deleting SRC
	 * (liblxc, which opens files of its own) never runs short of
	 * descriptors where the merge itself did not. */
	parent_cache_release(&m.layer_dirs);
	closep(&m.src_tree);
	closep(&m.src_upper);
	closep(&m.src_layer);
	closep(&m.undo);
	closep(&m.staged);

	/* SRC is merged: it goes, and the worlds stacked on DST see the
	 * merged files from now on.  Killed frozen: a process thawed first
	 * would write into files that Root now shares with SRC's layer. */
	(void)container_kill_frozen(s, src);
	dbmerge_unlock(src_locks); /* its files go with SRC's tree */
	char **moved = NULL;
	r = p.rebase ? recover_rebase_children(s, src, dst, &moved, err) : 0;
	if (r >= 0)
		r = discard_lazily(s, src, err);
	if (r >= 0)
		recover_restart_rebased(s, moved);
	/* After SRC is gone: its layer shared the merged files' inodes, and
	 * their ctimes changed when it went. */
	if (r >= 0 && undo_write_after(mdir, m.tree, &p) >= 0)
		(void)undo_share_after(s, mdir, moved);
	strvfreep(&moved);
	if (r >= 0 && recover_keep_as_last(s, dst) < 0)
		r = werr(err, EIO, "cannot keep the undo of the merge");
	if (r >= 0)
		r = layers_refresh_above(s, dst, err);
	if (r >= 0 && id)
		*id = p.id;
	/* Merged, with what pwapt could not judge: the caller warns. */
	for (size_t i = 0; r >= 0 && conflicts && i < d.n; i++)
		if (d.v[i].unsure && !d.v[i].excluded && !d.v[i].checked_off) {
			*conflicts = d;
			d = (struct world_diff){0};
		}
	if (r >= 0 && conflicts && (d.n_warnings || d.trace_notes)) {
		*conflicts = d; /* and the warnings, forced or not */
		d = (struct world_diff){0};
	}
	goto out;

rollback:;
	struct world_error rb = {0};
	if (undo_roll_back(s, mdir, &p, NULL, &rb) < 0) {
		/* What DST had is still in the undo: the journal stays, as
		 * prepared, and the next pwapt command rolls back again.  SRC
		 * stays frozen until then: DST may share its files. */
		if (err) {
			size_t l = strlen(err->msg);
			snprintf(err->msg + l, sizeof(err->msg) - l,
				 "; rolling the merge back failed too (%s): "
				 "the next pwapt command tries again",
				 rb.msg);
		}
		goto out;
	}
fail:
	/* As if it never was: the saves still DST's files go, their ctimes
	 * pwapt's own for the last merge and other worlds (undo.c). */
	if (mdir >= 0 && p.n)
		(void)undo_release_saves(s, mdir, &p);
	/* world_merge() thaws SRC */
	(void)journal_remove_dir(s->state_fd, "merge");
out:
	for (size_t i = 0; i < m.n_links; i++)
		free(m.links[i].path);
	free(m.links);
	parent_cache_release(&m.layer_dirs);
	closep(&m.tree);
	closep(&m.src_tree);
	closep(&m.src_upper);
	closep(&m.src_layer);
	link_names_free(m.names);
	strvfreep(&m.mounts);
	closep(&m.undo);
	closep(&m.staged);
	journal_plan_release(&p);
	diff_release(&d);
	return r;
}
