/* Directories SRC renamed, merged by one rename in DST (see
 * merge-internal.h, "merge-move.c").
 *
 * A world mounted with redirect_dir=on records a renamed directory as a
 * directory at the new name whose lower contents are those of the origin
 * (redirect.h); the diff lists all it holds as added and the origin's as
 * deleted.  Where the origin is DST's own directory, untouched by DST since
 * SRC was created, the merge renames that directory (O(1), journaled as
 * OP_MOVE with its origin, undone by a rename back) and then applies what
 * the layer holds below the new name: the world's own changes there, each
 * an operation at its path once moved, saved from where DST holds it
 * before the merge.  A directory renamed again inside a moved one is a
 * move of its own, in the order of the plan: each move's origin is named
 * as DST names it once the moves before it are applied.  Anything this
 * cannot express (an opaque directory below, a conflict, a path DST
 * already has, a redirect that leads elsewhere) leaves the directory to
 * the plain plan: a copy of what the world's processes saw. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cleanup.h"
#include "crash.h"
#include "diff.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "merge-internal.h"
#include "redirect.h"
#include "save.h"

struct move {
	size_t change; /* the diff's 'A' of its directory */
	bool ok;
	struct op *ops; /* its OP_MOVE first, then those below it */
	size_t n;
	char **origins; /* DST's paths its OP_MOVEs take, before the merge */
	size_t n_origins;
};

struct merge_moves {
	const struct world_diff *d;
	unsigned char *how; /* per change: merge_moves_covers() */
	struct move *v;
	size_t n;
	/* The moves planned so far: DST's name of each origin then, and
	 * where it went. */
	char **done_from, **done_to;
	size_t n_done;
};

static void ops_free(struct op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ops[i].path);
		free(ops[i].from);
		free(ops[i].before);
	}
	free(ops);
}

void merge_moves_release(struct merge_moves *mv)
{
	if (!mv)
		return;
	for (size_t i = 0; i < mv->n; i++) {
		ops_free(mv->v[i].ops, mv->v[i].n);
		for (size_t k = 0; k < mv->v[i].n_origins; k++)
			free(mv->v[i].origins[k]);
		free(mv->v[i].origins);
	}
	for (size_t i = 0; i < mv->n_done; i++) {
		free(mv->done_from[i]);
		free(mv->done_to[i]);
	}
	free(mv->done_from);
	free(mv->done_to);
	free(mv->v);
	free(mv->how);
	free(mv);
}

int merge_moves_covers(const struct merge_moves *mv, size_t i)
{
	return mv->how[i];
}

/* Whether PATH is DIR or lies below it. */
static bool at_or_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (!path[n] || path[n] == '/');
}

/* Calls FN for each change of D at or below DIR; stops at FN's nonzero. */
static int each_at_or_below(const struct world_diff *d, const char *dir,
			    int (*fn)(const struct world_diff *d, size_t i,
				      void *data),
			    void *data)
{
	size_t i = diff_lower_bound(d, dir);
	if (i < d->n && !strcmp(d->v[i].path, dir)) {
		int r = fn(d, i, data);
		if (r)
			return r;
	}
	_cleanup_free_ char *key = NULL;
	if (asprintf(&key, "%s/", dir) < 0)
		return -ENOMEM;
	size_t len = strlen(key);
	for (i = diff_lower_bound(d, key);
	     i < d->n && !strncmp(d->v[i].path, key, len); i++) {
		int r = fn(d, i, data);
		if (r)
			return r;
	}
	return 0;
}

/* A change the move cannot take for granted: DST's own, or one the merge
 * leaves out. */
static int untouchable(const struct world_diff *d, size_t i, void *data)
{
	(void)data;
	const struct world_change *c = &d->v[i];
	return c->conflict || c->excluded || c->checked_off || c->merged ||
	       c->unsure;
}

static int mark_covered(const struct world_diff *d, size_t i, void *data)
{
	(void)d;
	unsigned char *how = data;
	if (!how[i])
		how[i] = 1;
	return 0;
}

/* Whether D deletes ORIGIN (SRC has nothing there any more) and neither
 * it nor anything below it is a change the move cannot take. */
static bool origin_free(const struct world_diff *d, const char *origin)
{
	size_t i = diff_lower_bound(d, origin);
	return i < d->n && !strcmp(d->v[i].path, origin) &&
	       d->v[i].kind == 'D' &&
	       each_at_or_below(d, origin, untouchable, NULL) == 0;
}

struct walk {
	int dst, src, layer;
	struct move *m;
	size_t cap;
};

static int add_op(struct walk *w, struct op o)
{
	if (w->m->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct op *nv = realloc(w->m->ops, cap * sizeof(*nv));
		if (!nv) {
			free(o.path);
			free(o.before);
			return -ENOMEM;
		}
		w->m->ops = nv;
		w->cap = cap;
	}
	w->m->ops[w->m->n++] = o;
	return 0;
}

static int add_origin(struct move *m, const char *origin)
{
	char **nv = realloc(m->origins, (m->n_origins + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	m->origins = nv;
	if (!(nv[m->n_origins] = strdup(origin)))
		return -ENOMEM;
	m->n_origins++;
	return 0;
}

/* Where DST holds PATH once the moves above it are applied, as DST named
 * it before the merge: PATH's parent's origin and PATH's own name. */
static int origin_of_name(int layer, const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *parent = strndup(path, (size_t)(slash - path)),
			    *po = NULL;
	if (!parent)
		return -ENOMEM;
	int r = redirect_origin(layer, *parent ? parent : "/", &po);
	if (r < 0)
		return r;
	return asprintf(out, "%s/%s", strcmp(po, "/") ? po : "", slash + 1) <
			       0
		       ? -ENOMEM
		       : 0;
}

/* O's origin is ST, as the plan sees it. */
static void note_origin(struct op *o, const struct stat *st)
{
	o->origin_known = true;
	o->origin_dev = st->st_dev;
	o->origin_ino = st->st_ino;
	o->origin_ctime = st->st_ctim;
}

/* Whether DST's directory at PATH (as before the merge) holds a mount
 * point (or is one): a rename would take the mount along, out of where
 * DST's fstab and units put it, so the move is not made. */
static bool holds_mount(int dst, const char *path)
{
	_cleanup_close_ int fd = open_beneath(dst, path, O_PATH | O_DIRECTORY);
	char link[64], real[PATH_MAX];
	if (fd < 0)
		return true;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, sizeof(real) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(real) - 1)
		return true;
	real[n] = '\0';
	return layers_mount_below(real) != 0;
}

/* One entry of the layer below the moved directory: an operation at its
 * path.  -EXDEV: a record the move cannot express. */
static int walk_entry(const struct fs_entry *e, bool opaque, void *data)
{
	struct walk *w = data;
	struct stat xs, ys;
	int src = journal_kind_of(w->src, e->path, &xs);
	if (src < 0)
		return src;
	_cleanup_free_ char *before = NULL, *v = NULL;
	int r = redirect_origin(w->layer, e->path, &before);
	if (r < 0)
		return r == -EINVAL ? r : -EXDEV;
	int had = journal_kind_of(w->dst, before, &ys);
	if (had < 0)
		return had;
	/* Opaque: it hides what DST has there, which a move cannot say
	 * (overlayfs makes every directory new in a merged one opaque:
	 * where DST has nothing there, it hides nothing). */
	if (opaque && had != HAD_NONE)
		return -EXDEV;
	bool redirected = S_ISDIR(e->st.st_mode) &&
			  (r = redirect_read(e->dirfd, e->name, &v)) > 0;
	if (r < 0)
		return r;
	struct op o = {.had = had, .ino = had != HAD_NONE ? ys.st_ino : 0};
	if (redirected && src == HAD_DIR) {
		/* Renamed again: DST's origin moves once more, to a name
		 * DST does not have. */
		_cleanup_free_ char *here = NULL;
		if ((r = origin_of_name(w->layer, e->path, &here)) < 0)
			return r == -ENOMEM ? r : -EXDEV;
		if (had != HAD_DIR || journal_kind_of(w->dst, here, &ys) !=
					      HAD_NONE)
			return -EXDEV;
		if ((r = add_origin(w->m, before)) < 0)
			return r;
		o = (struct op){.kind = OP_MOVE, .had = HAD_NONE};
		note_origin(&o, &ys);
	} else if (src == HAD_NONE) {
		if (had == HAD_NONE)
			return 0;
		o.kind = OP_DEL;
	} else {
		o.kind = src == HAD_DIR ? OP_DIR : OP_PUT;
	}
	/* DST's directory it takes away whole, as the plan saw it at its old
	 * name (the move renames its parent, not it): a roll-back puts the
	 * save back over no directory DST made there since. */
	if ((o.ident_known = op_takes_dir(&o))) {
		o.ident_dev = ys.st_dev;
		o.ident_ino = ys.st_ino;
		o.ident_ctime = ys.st_ctim;
	}
	o.path = strdup(e->path);
	o.before = steal_pointer(&before);
	return o.path ? add_op(w, o) : (free(o.before), -ENOMEM);
}

/* The move of directory change I, whose origin is FROM: its operations
 * into M, or M left not ok where the move cannot be made. */
static int try_move(struct walk *w, const struct world_diff *d, size_t i,
		    struct move *m)
{
	const struct world_change *c = &d->v[i];
	struct stat st, ost;
	*m = (struct move){.change = i};
	w->m = m;
	w->cap = 0;
	if (untouchable(d, i, NULL) ||
	    each_at_or_below(d, c->path, untouchable, NULL) != 0 ||
	    journal_kind_of(w->dst, c->path, &st) != HAD_NONE ||
	    journal_kind_of(w->dst, c->renamed_from, &ost) != HAD_DIR ||
	    journal_kind_of(w->src, c->path, &st) != HAD_DIR)
		return 0;
	_cleanup_free_ char *origin = NULL;
	int r = redirect_origin(w->layer, c->path, &origin);
	if (r == -EINVAL)
		return r;
	/* The layer must lead where the diff says: the same origin. */
	if (r < 0 || strcmp(origin, c->renamed_from) ||
	    holds_mount(w->dst, origin))
		return 0;
	struct op o = {.kind = OP_MOVE,
		       .had = HAD_NONE,
		       .path = strdup(c->path),
		       .before = strdup(origin)};
	note_origin(&o, &ost);
	if (!o.path || !o.before) {
		free(o.path);
		free(o.before);
		return -ENOMEM;
	}
	if (add_op(w, o) < 0 || add_origin(m, origin) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd =
		open_beneath(w->layer, c->path + 1, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return 0;
	r = layers_walk(fd, c->path, true, walk_entry, w);
	if (r == -EXDEV)
		return 0;
	if (r < 0)
		return r;
	for (size_t k = 0; k < m->n_origins; k++)
		if (!origin_free(d, m->origins[k]))
			return 0;
	m->ok = true;
	return 0;
}

/* Whether PATH is the origin of a move that is made: its OP_DEL (the
 * whiteout the rename left) is that move's. */
static bool taken_by_move(const struct merge_moves *mv, const char *path)
{
	for (size_t i = 0; i < mv->n; i++)
		for (size_t k = 0; mv->v[i].ok && k < mv->v[i].n_origins; k++)
			if (!strcmp(mv->v[i].origins[k], path))
				return true;
	return false;
}

/* DST's name of PATH (as before the merge) once the moves planned so far
 * are applied. */
static char *as_moved(const struct merge_moves *mv, const char *path)
{
	char *cur = strdup(path);
	for (size_t i = 0; cur && i < mv->n_done; i++) {
		if (!at_or_below(cur, mv->done_from[i]))
			continue;
		char *next = NULL;
		if (asprintf(&next, "%s%s", mv->done_to[i],
			     cur + strlen(mv->done_from[i])) < 0)
			next = NULL;
		free(cur);
		cur = next;
	}
	return cur;
}

static int note_done(struct merge_moves *mv, const char *from, const char *to)
{
	char **f = realloc(mv->done_from, (mv->n_done + 1) * sizeof(*f));
	if (f)
		mv->done_from = f;
	char **t = f ? realloc(mv->done_to, (mv->n_done + 1) * sizeof(*t))
		     : NULL;
	if (!t)
		return -ENOMEM;
	mv->done_to = t;
	f[mv->n_done] = strdup(from);
	t[mv->n_done] = strdup(to);
	mv->n_done++;
	return f[mv->n_done - 1] && t[mv->n_done - 1] ? 0 : -ENOMEM;
}

/* Plays the moves in the plan's order: every operation below a move must
 * find DST's file at its path by then; a move where one would not is not
 * made.  1 when one was dropped (play again), 0 when all hold. */
static int rehearse(struct merge_moves *mv)
{
	for (size_t i = 0; i < mv->n_done; i++) {
		free(mv->done_from[i]);
		free(mv->done_to[i]);
	}
	mv->n_done = 0;
	for (size_t i = 0; i < mv->n; i++) {
		struct move *m = &mv->v[i];
		if (!m->ok)
			continue;
		for (size_t k = 0; k < m->n; k++) {
			const struct op *o = &m->ops[k];
			if (o->kind == OP_DEL && taken_by_move(mv, o->before))
				continue;
			_cleanup_free_ char *now = as_moved(mv, o->before);
			if (!now)
				return -ENOMEM;
			if (o->kind == OP_MOVE) {
				if (note_done(mv, now, o->path) < 0)
					return -ENOMEM;
			} else if (strcmp(now, o->path)) {
				m->ok = false;
				return 1;
			}
		}
	}
	return 0;
}

bool merge_on_other_fs(char *const *mounts, const char *path)
{
	for (char *const *m = mounts; m && *m; m++) {
		size_t l = strlen(*m);
		if (path[0] == '/' && !strncmp(path + 1, *m, l) &&
		    (path[1 + l] == '/' || path[1 + l] == '\0'))
			return true;
	}
	return false;
}

int merge_moves_find(int dst_tree, int src_tree, int layer, char *const *mounts,
		     const struct world_diff *d, struct merge_moves **out)
{
	struct merge_moves *mv = calloc(1, sizeof(*mv));
	if (!mv || !(mv->how = calloc(d->n ? d->n : 1, 1))) {
		free(mv);
		return -ENOMEM;
	}
	mv->d = d;
	struct walk w = {.dst = dst_tree, .src = src_tree, .layer = layer};
	const char *top = NULL; /* the last directory that may move */
	int r = 0;
	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if (c->kind != 'A' || !c->renamed_from ||
		    (top && at_or_below(c->path, top)) ||
		    merge_on_other_fs(mounts, c->path) ||
		    merge_on_other_fs(mounts, c->renamed_from))
			continue;
		top = c->path;
		struct move *nv = realloc(mv->v, (mv->n + 1) * sizeof(*nv));
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		mv->v = nv;
		r = try_move(&w, d, i, &mv->v[mv->n]);
		mv->n++;
	}
	while (r >= 0 && (r = rehearse(mv)) > 0)
		;
	for (size_t i = 0; r >= 0 && i < mv->n; i++) {
		struct move *m = &mv->v[i];
		if (!m->ok)
			continue;
		r = each_at_or_below(d, d->v[m->change].path, mark_covered,
				     mv->how);
		for (size_t k = 0; r >= 0 && k < m->n_origins; k++)
			r = each_at_or_below(d, m->origins[k], mark_covered,
					     mv->how);
		mv->how[m->change] = 2;
	}
	if (r < 0) {
		merge_moves_release(mv);
		return r;
	}
	/* Planned afresh, in the plan's order. */
	for (size_t i = 0; i < mv->n_done; i++) {
		free(mv->done_from[i]);
		free(mv->done_to[i]);
	}
	mv->n_done = 0;
	*out = mv;
	return 0;
}

int merge_moves_plan(struct merge_moves *mv, size_t i, struct plan *p)
{
	struct move *m = NULL;
	for (size_t k = 0; k < mv->n && !m; k++)
		if (mv->v[k].change == i && mv->v[k].ok)
			m = &mv->v[k];
	if (!m)
		return -EINVAL;
	for (size_t k = 0; k < m->n; k++) {
		const struct op *o = &m->ops[k];
		if (o->kind == OP_DEL && taken_by_move(mv, o->before))
			continue;
		struct op n = *o;
		n.path = strdup(o->path);
		n.before = strdup(o->before);
		n.from = o->kind == OP_MOVE ? as_moved(mv, o->before) : NULL;
		if (o->kind == OP_MOVE && n.from &&
		    note_done(mv, n.from, o->path) < 0) {
			free(n.from);
			n.from = NULL;
		}
		if (!n.before || (o->kind == OP_MOVE && !n.from)) {
			free(n.path);
			n.path = NULL;
		}
		if (journal_plan_add(p, n) < 0)
			return -ENOMEM;
	}
	return 0;
}

char *merge_moves_unapplied(const struct plan *p, size_t i, const char *path)
{
	char *cur = strdup(path);
	for (size_t k = i; cur && k-- > 0;) {
		const struct op *o = &p->v[k];
		if (o->kind != OP_MOVE || !o->from ||
		    !at_or_below(cur, o->path))
			continue;
		char *prev = NULL;
		if (asprintf(&prev, "%s%s", o->from, cur + strlen(o->path)) < 0)
			prev = NULL;
		free(cur);
		cur = prev;
	}
	return cur;
}

int merge_move_apply(int tree, int src_tree, const struct op *o)
{
	const char *fb, *tb;
	_cleanup_close_ int fp = journal_open_parent(tree, o->from, &fb);
	_cleanup_close_ int tp = journal_open_parent(tree, o->path, &tb);
	if (fp < 0 || tp < 0) {
		int r = fp < 0 ? fp : tp;
		return r == -ENOENT || r == -ENOTDIR ? -ESTALE : r;
	}
	struct stat st;
	if (fstatat(fp, fb, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode))
		return -ESTALE; /* DST's directory is not there any more */
	/* Another directory at the name, or DST's own changed: DST's. */
	if (o->origin_known &&
	    (st.st_dev != o->origin_dev || st.st_ino != o->origin_ino ||
	     st.st_ctim.tv_sec != o->origin_ctime.tv_sec ||
	     st.st_ctim.tv_nsec != o->origin_ctime.tv_nsec))
		return -ESTALE;
	_cleanup_close_ int sfd = open_beneath(src_tree, o->path, O_PATH);
	if (sfd < 0 || fstat(sfd, &st) < 0)
		return sfd < 0 ? sfd : -errno;
	if (renameat2(fp, fb, tp, tb, RENAME_NOREPLACE) < 0)
		return errno == EEXIST || errno == ENOENT ? -ESTALE : -errno;
	crash_point("merge-move");
	int r = save_set_owner_mode(tp, tb, &st);
	if (r < 0)
		return r;
	char from[FD_PATH_MAX], to[FD_PATH_MAX];
	save_fd_path(from, sizeof(from), sfd, NULL);
	save_fd_path(to, sizeof(to), tp, tb);
	return save_copy_xattrs(from, to); /* times: after the entries */
}

/* Whether NAME in FP is the directory that O moved. */
static bool is_moved_dir(int fp, const char *name, const struct op *o)
{
	struct stat st;
	return fstatat(fp, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode) && st.st_dev == o->origin_dev &&
	       st.st_ino == o->origin_ino;
}

/* Whether the directory that O moved is back at its origin's name (1) or
 * beside it, as NAME.pwapt-rollback-N~, or NAME.pwapt-rollback-N where
 * an older pwapt put it (2): the same inode as the plan saw there.  0
 * when it cannot tell (an older journal) or it is not. */
static int moved_back(int tree, const struct op *o)
{
	const char *fb;
	_cleanup_close_ int fp =
		o->origin_known ? journal_open_parent(tree, o->from, &fb) : -1;
	char name[NAME_MAX + 1], before[NAME_MAX + 1];
	if (fp < 0)
		return 0;
	if (is_moved_dir(fp, fb, o))
		return 1;
	/* Beside (the origin's own name may be free again: DST's directory
	 * there removed since). */
	for (unsigned i = 1; i <= 1000; i++) {
		if (merge_aside_name(name, sizeof(name), fb, i) < 0 ||
		    merge_aside_name_before(before, sizeof(before), fb, i) < 0)
			return 0;
		/* Every N: one before it may have been removed since. */
		if (is_moved_dir(fp, name, o) || is_moved_dir(fp, before, o))
			return 2;
	}
	return 0;
}

bool merge_move_not_reached(int tree, const struct op *o)
{
	const char *fb;
	struct stat st;
	struct statfs fs;
	_cleanup_close_ int fp =
		o->origin_known ? journal_open_parent(tree, o->from, &fb) : -1;
	if (fp < 0 || fstatat(fp, fb, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode) || fstatfs(fp, &fs) < 0)
		return false;
	if (st.st_dev == o->origin_dev && st.st_ino == o->origin_ino)
		return true;
	/* A world's overlay numbers its directories itself, not for good
	 * where its layers lie on several file systems, and has another
	 * device once mounted again: the ctime the plan saw, which the
	 * merge's rename would have changed. */
	return (fs.f_type == OVERLAYFS_SUPER_MAGIC ||
		st.st_dev != o->origin_dev) &&
	       st.st_ctim.tv_sec == o->origin_ctime.tv_sec &&
	       st.st_ctim.tv_nsec == o->origin_ctime.tv_nsec;
}

/* SHOWN with its first L bytes replaced by the LP bytes of PREFIX and
 * NAME (NULL: none); SHOWN is freed. */
static char *replace_head(char *shown, size_t l, const char *prefix, size_t lp,
			  const char *name)
{
	char *n = NULL;
	if (asprintf(&n, "%.*s%s%s", (int)lp, prefix, name ? name : "",
		     shown + l) < 0)
		n = NULL;
	free(shown);
	return n;
}

char *merge_move_lands(int tree, const struct plan *p, const bool *unmoved,
		       size_t k, const char *path)
{
	char *shown = strdup(path);
	/* The moves before K undone, innermost first, as the roll-back
	 * undoes them (merge_move_undo()): each maps SHOWN from its merged
	 * name back to its origin's, where the moves before it left it. */
	for (size_t j = k; shown && j-- > 0;) {
		const struct op *m = &p->v[j];
		size_t l = m->path ? strlen(m->path) : 0;
		if (m->kind != OP_MOVE || !m->from ||
		    strncmp(shown, m->path, l) || shown[l] != '/')
			continue;
		if (unmoved[j]) { /* at its origin's name already */
			shown = replace_head(shown, l, m->from, strlen(m->from),
					     NULL);
			continue;
		}
		const char *fb;
		_cleanup_close_ int fp =
			journal_open_parent(tree, m->from, &fb);
		struct stat st;
		if (fp == -ENOENT || fp == -ENOTDIR || fp == -ELOOP)
			continue; /* stays at its merged name */
		if (fp < 0 || fstatat(fp, fb, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			shown = replace_head(shown, l, m->from, strlen(m->from),
					     NULL);
			continue; /* back at its old name */
		}
		char aside[NAME_MAX + 1];
		for (unsigned i = 1; i <= 1000; i++)
			if (merge_aside_name(aside, sizeof(aside), fb, i) < 0 ||
			    (fstatat(fp, aside, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
			     errno == ENOENT))
				break;
		shown = replace_head(shown, l, m->from, (size_t)(fb - m->from),
				     aside);
	}
	return shown;
}

int merge_move_undo(const struct world_store *s, int tree, int undo, size_t k,
		    const struct op *o, bool applied)
{
	const char *fb, *tb;
	_cleanup_close_ int tp = journal_open_parent(tree, o->path, &tb);
	struct stat st;
	if (tp < 0 || fstatat(tp, tb, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (!applied)
			return 0; /* not applied: where it was */
		/* A roll-back killed after it moved the directory back. */
		int back = moved_back(tree, o);
		return back ? back : -ENOENT;
	}
	if (!S_ISDIR(st.st_mode))
		return -EEXIST;
	_cleanup_close_ int fp = journal_open_parent(tree, o->from, &fb);
	if (fp == -ENOENT || fp == -ENOTDIR || fp == -ELOOP) {
		/* The origin's directory is gone since: this one stays at
		 * its merged name, as it was before the merge. */
		char kept[40];
		snprintf(kept, sizeof(kept), "%zu.meta", k);
		store_warn(s,
			   "the directory that held %s is gone since the "
			   "merge: the directory the merge moved to %s stays "
			   "there",
			   o->from, o->path);
		int r = save_restore_dir_meta(undo, kept, tp, tb);
		return r < 0 ? r : 2;
	}
	if (fp < 0)
		return fp;
	char aside[NAME_MAX + 1];
	const char *to = fb;
	int r = renameat2(tp, tb, fp, fb, RENAME_NOREPLACE) < 0 ? -errno : 0;
	/* DST made another at the origin's name since: its own, kept; the
	 * merge's directory goes back beside it. */
	for (unsigned i = 1; r == -EEXIST && i <= 1000; i++) {
		if (merge_aside_name(aside, sizeof(aside), fb, i) < 0)
			return -ENAMETOOLONG;
		to = aside;
		r = renameat2(tp, tb, fp, aside, RENAME_NOREPLACE) < 0 ? -errno
								       : 0;
	}
	if (r < 0)
		return r;
	if (to != fb)
		store_warn(s,
			   "%s was taken since the merge: the directory the "
			   "merge moved to %s is back beside it, as %.*s%s",
			   o->from, o->path,
			   (int)(strrchr(o->from, '/') + 1 - o->from), o->from,
			   to);
	char meta[40];
	snprintf(meta, sizeof(meta), "%zu.meta", k);
	r = save_restore_dir_meta(undo, meta, fp, to);
	return r < 0 ? r : to == fb ? 1 : 2;
}

int merge_moves_undoable(int tree, const struct plan *p, const char *dst,
			 struct world_error *err)
{
	for (size_t k = p->applied; k-- > 0;) {
		const struct op *o = &p->v[k];
		if (o->kind != OP_MOVE || !o->from)
			continue;
		struct stat st;
		const char *b;
		_cleanup_close_ int tp = journal_open_parent(tree, o->path, &b);
		if (tp < 0 || fstatat(tp, b, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			return werr(err, ENOENT,
				    "cannot roll back the merge into '%s': "
				    "%s, the directory it moved from %s, is "
				    "not there any more (put it back first)",
				    dst, o->path, o->from);
		_cleanup_close_ int fp = journal_open_parent(tree, o->from, &b);
		if (fp < 0)
			return werr(err, ENOENT,
				    "cannot roll back the merge into '%s': "
				    "the directory of %s, where it moves %s "
				    "back, is not there any more",
				    dst, o->from, o->path);
		if (fstatat(fp, b, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return werr(err, EEXIST,
				    "cannot roll back the merge into '%s': "
				    "%s is in the way of %s, which goes back "
				    "there (move it aside first)",
				    dst, o->from, o->path);
	}
	return 0;
}
