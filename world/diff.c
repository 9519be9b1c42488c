/* wdiff: the changes of one world against another.
 *
 * Only paths that some layer in one of the two stacks but not in the other
 * holds can differ between the two trees; everything else comes from layers
 * both share.  So the candidates are the entries of those layers (plus, below
 * a whiteout or an opaque directory, what the other tree has there), and
 * each candidate is compared in the two mounted trees.  A diff against the
 * parent walks the world's own layer: O(changed files), not O(tree). */
#include <errno.h>
#include <fcntl.h>
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
#include "lifecycle.h"
#include "redirect.h"
#include "warnings.h"

struct paths {
	char **v;
	size_t n, cap;
};

static int paths_add(struct paths *p, const char *path)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		char **nv = realloc(p->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = cap;
	}
	if (!(p->v[p->n] = strdup(path)))
		return -ENOMEM;
	p->n++;
	return 0;
}

static void paths_release(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (struct paths){0};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops repeated paths. */
static void paths_unique(struct paths *p)
{
	if (!p->n)
		return;
	qsort(p->v, p->n, sizeof(*p->v), cmp_str);
	size_t w = 1;
	for (size_t r = 1; r < p->n; r++) {
		if (!strcmp(p->v[r], p->v[w - 1]))
			free(p->v[r]);
		else
			p->v[w++] = p->v[r];
	}
	p->n = w;
}

static bool paths_has(const struct paths *sorted, const char *path)
{
	return sorted->n && bsearch(&path, sorted->v, sorted->n,
				    sizeof(*sorted->v), cmp_str);
}

/* The redirected directories of the layers walked (redirect.h): what
 * lies below one comes from its origin, which no candidate names. */
struct renames {
	struct paths all;      /* of either side's layers */
	struct paths to, from; /* of A's: path and origin, alike indexed */
	char *bad;	       /* the path of an invalid redirect */
};

struct tree_walk {
	struct paths *out, *opaque, *mounts;
	struct renames *ren;
};

/* Every entry, and apart the opaque directories, the redirected ones of a
 * layer and the mount points (whose contents are never walked, nor
 * merged). */
static int record_entry(const struct fs_entry *e, bool opaque, void *data)
{
	struct tree_walk *w = data;
	int r = paths_add(w->out, e->path);
	if (r >= 0 && opaque)
		r = paths_add(w->opaque, e->path);
	if (r >= 0 && e->mount_point)
		r = paths_add(w->mounts, e->path);
	if (r >= 0 && w->ren && S_ISDIR(e->st.st_mode)) {
		_cleanup_free_ char *v = NULL;
		r = redirect_read(e->dirfd, e->name, &v);
		if (r == -EINVAL && !w->ren->bad)
			w->ren->bad = strdup(e->path);
		if (r > 0)
			r = paths_add(&w->ren->all, e->path);
	}
	return r;
}

static int walk_tree(int fd, const char *prefix, struct paths *out,
		     struct paths *opaque, struct paths *mounts)
{
	struct tree_walk w = {out, opaque, mounts, NULL};
	return layers_walk(fd, prefix, opaque != NULL, record_entry, &w);
}

/* The same for a layer, noting its redirected directories in REN and,
 * with ORIGINS (A's layers), where each leads. */
static int walk_layer(int fd, const char *prefix, struct paths *out,
		      struct paths *opaque, struct paths *mounts,
		      struct renames *ren, bool origins)
{
	struct tree_walk w = {out, opaque, mounts, ren};
	size_t first = ren->all.n;
	int r = layers_walk(fd, prefix, true, record_entry, &w);
	for (size_t i = first; r >= 0 && origins && i < ren->all.n; i++) {
		_cleanup_free_ char *from = NULL;
		const char *path = ren->all.v[i] + strlen(prefix);
		r = redirect_origin(fd, *path ? path : "/", &from);
		if (r == -EINVAL && !ren->bad)
			ren->bad = strdup(ren->all.v[i]);
		if (r >= 0 && *prefix && strcmp(from, "/")) {
			char *full = NULL;
			r = asprintf(&full, "%s%s", prefix, from) < 0 ? -ENOMEM
								       : 0;
			free(from);
			from = full;
		}
		if (r >= 0 && (r = paths_add(&ren->to, ren->all.v[i])) >= 0)
			r = paths_add(&ren->from, from);
	}
	return r;
}

static void parts_release(struct parts *p)
{
	for (size_t i = 0; i < p->n; i++) {
		closep(&p->v[i].fa);
		closep(&p->v[i].fb);
		for (size_t k = 0; k < p->v[i].n_a_only; k++)
			closep(&p->v[i].a_only[k]);
		for (size_t k = 0; k < p->v[i].n_shared; k++)
			closep(&p->v[i].shared[k]);
		free((char *)p->v[i].prefix);
	}
	p->n = 0;
}

/* Adds what tree B (or A) holds below PATH (not PATH itself). */
static int add_subtree(const struct parts *p, bool b, const char *path,
		       struct paths *out, struct paths *mounts)
{
	const struct fs_part *part = diff_part_of(p, path);
	int root = b ? part->fb : part->fa;
	const char *rel = path + strlen(part->prefix);
	if (root < 0)
		return 0;
	_cleanup_close_ int fd = open_beneath_noxdev(root, *rel ? rel : ".",
						     O_RDONLY | O_DIRECTORY);
	if (fd < 0) /* not a directory there: nothing below */
		return diff_absent(fd) || fd == -EXDEV ? 0 : fd;
	return walk_tree(fd, strcmp(path, "/") ? path : "", out, NULL, mounts);
}

/* What a change weighs in wdiff --stat: a regular file's size. */
static uint64_t file_bytes(const struct side *s)
{
	return S_ISREG(s->st.st_mode) ? (uint64_t)s->st.st_size : 0;
}

struct changes {
	struct world_change *v;
	size_t n, cap;
};

/* Adds the change of *PATH, which it takes (NULL then) on success. */
static int change_add(struct changes *c, char kind, char **path, unsigned what,
		      const struct side *now)
{
	uint64_t bytes = file_bytes(now);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct world_change *nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	bool excluded = diff_is_excluded(*path);
	c->v[c->n++] = (struct world_change){.kind = kind,
					     .what = what,
					     .bytes = bytes,
					     .excluded = excluded,
					     .path = steal_pointer(path)};
	if (kind != 'D' && now->exists) {
		struct world_change *v = &c->v[c->n - 1];
		v->mode = now->st.st_mode;
		v->uid = now->st.st_uid;
		v->gid = now->st.st_gid;
		v->rdev = now->st.st_rdev;
	}
	return 0;
}

/* Whether C's paths are in order, each once: as the candidates came. */
static bool changes_sorted(const struct changes *c)
{
	for (size_t i = 1; i < c->n; i++)
		if (strcmp(c->v[i - 1].path, c->v[i].path) >= 0)
			return false;
	return true;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct world_change *)a)->path,
		      ((const struct world_change *)b)->path);
}

/* The layers of world W's stack for Root's file system REL, highest
 * first, Root's last. */
/* Whether world W (NULL: Root) has a layer of its own for Root's file
 * system REL. */
static bool own_layer(const struct world_meta *w, const char *rel)
{
	bool own = w && !*rel;
	for (size_t i = 0; w && !own && i < w->n_mounts; i++)
		own = !strcmp(w->mounts[i], rel);
	return own;
}

static int stack_of(struct world_store *s, const struct world_meta *w,
		    const char *rel, char ***out, struct world_error *err)
{
	if (!w)
		return layers_stack(s, NULL, 0, rel, out, err);
	_cleanup_strv_free_ char **below = NULL;
	int r = layers_stack(s, w->parents, w->n_parents, rel, &below, err);
	if (r < 0)
		return r;
	bool own = own_layer(w, rel);
	size_t n = 0;
	while (below[n])
		n++;
	char **v = calloc(n + 2, sizeof(*v));
	if (!v)
		return werr(err, ENOMEM, "out of memory");
	size_t k = 0;
	if (own && !(v[k++] = layers_dir(s, w->name, rel, "upper"))) {
		free(v);
		return werr(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		v[k++] = steal_pointer(&below[i]);
	*out = v;
	return 0;
}

static bool strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

/* Opens Root's file system REL in tree FD (crossing into it: it is a
 * mount of Root's own, or a world's overlay of it); -1 when the tree has
 * nothing there. */
static int open_part(int fd, const char *rel, int *out)
{
	*out = open_beneath(fd, *rel ? rel : ".", O_PATH | O_DIRECTORY);
	if (*out >= 0 || diff_absent(*out)) {
		if (*out < 0)
			*out = -1;
		return 0;
	}
	return *out;
}

/* Candidates within Root's file system REL: the entries of the layers that
 * only one of the two stacks has.  PART gets the file system's roots in
 * both trees and A's own layers; TOP the opaque directories of the top
 * layer of A's tree where B lacks that layer. */
static int candidates_in(struct world_store *s, const struct world_meta *a,
			 const struct world_meta *b, const char *rel, int fa,
			 int fb, struct fs_part *part, struct paths *cand,
			 struct paths *opaque, struct paths *mounts,
			 struct renames *ren, struct paths *top,
			 struct world_error *err)
{
	_cleanup_strv_free_ char **sa = NULL, **sb = NULL;
	*part = (struct fs_part){.fa = -1, .fb = -1};
	int r = stack_of(s, a, rel, &sa, err);
	if (r >= 0)
		r = stack_of(s, b, rel, &sb, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *prefix = NULL;
	if (asprintf(&prefix, "%s%s", *rel ? "/" : "", rel) < 0)
		return werr(err, ENOMEM, "out of memory");
	if ((r = open_part(fa, rel, &part->fa)) < 0 ||
	    (r = open_part(fb, rel, &part->fb)) < 0)
		return werr_errno(err, -r, "cannot open %s in the trees",
				  *prefix ? prefix : "/");
	for (int side = 0; side < 2; side++) {
		char **mine = side ? sb : sa, **theirs = side ? sa : sb;
		for (char **l = mine; *l; l++) {
			if (strv_has(theirs, *l))
				continue;
			_cleanup_close_ int fd =
				open(*l, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			if (fd < 0)
				return werr_errno(err, errno,
						  "cannot read layer %s", *l);
			size_t first = opaque->n;
			if (layers_dir_opaque(fd) &&
			    (r = paths_add(opaque, *prefix ? prefix : "/")) < 0)
				return werr(err, -r, "out of memory");
			r = walk_layer(fd, prefix, cand, opaque, mounts, ren,
				       !side);
			if (r == -EINVAL && ren->bad)
				return werr(err, EINVAL,
					    "layer %s holds an invalid "
					    "redirect (trusted.overlay."
					    "redirect) at %s: a damaged or "
					    "crafted layer",
					    *l, ren->bad);
			for (size_t k = first;
			     r >= 0 && !side && l == sa && k < opaque->n; k++)
				r = paths_add(top, opaque->v[k]);
			if (r < 0)
				return werr_errno(err, -r,
						  "cannot read layer %s", *l);
			if (!side && part->n_a_only < sizeof(part->a_only) /
							      sizeof(int)) {
				part->a_top = part->a_top ||
					      (l == sa && own_layer(a, rel));
				part->a_only[part->n_a_only++] = steal_fd(&fd);
			}
		}
	}
	for (char **l = sa; *l; l++) {
		if (!strv_has(sb, *l))
			continue;
		if (part->n_shared == sizeof(part->shared) / sizeof(int)) {
			part->many_shared = true;
			break;
		}
		int fd =
			open(*l, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return werr_errno(err, errno, "cannot read layer %s",
					  *l);
		part->shared[part->n_shared++] = fd;
	}
	return 0;
}

/* Whether a layer of both stacks may hold directory PATH: what A shows
 * below it then comes from there too, not only from A's own layers,
 * whose entries are candidates already. */
static bool in_shared_layer(const struct parts *p, const char *path)
{
	const struct fs_part *part = diff_part_of(p, path);
	const char *rel = path + strlen(part->prefix);
	if (part->many_shared)
		return true;
	for (size_t k = 0; k < part->n_shared; k++) {
		_cleanup_close_ int fd =
			open_beneath(part->shared[k], *rel ? rel : ".",
				     O_PATH | O_DIRECTORY);
		if (fd >= 0)
			return true;
	}
	return false;
}

/* Whether nothing is mounted in tree FA but the overlays of Root's file
 * systems, PARTS' roots: a file mounted on there shows only in the tree
 * (diff_side_load_a()).  Unknown is no. */
static bool a_tree_unmounted(int fa, const struct parts *parts)
{
	int fds[sizeof(parts->v) / sizeof(*parts->v) + 1] = {fa};
	size_t n = 1;
	for (size_t i = 0; i < parts->n; i++)
		if (*parts->v[i].prefix && parts->v[i].fa >= 0)
			fds[n++] = parts->v[i].fa;
	return layers_mounts_only(fds, n) > 0;
}

/* The earliest creation among M and the worlds below it down to B (not
 * B, nor B's own ancestors) into STACK's created and trace_from, and into
 * CUT the name of the world whose trace_from it is (its trace_untold too):
 * their layers are in A's stack and not in B's, and a merge of A into B
 * carries their changes too, so B's changes since the oldest of them are
 * what it would overwrite, and B's reads since are what it may have
 * derived from the old files.  DEPTH bounds a damaged store's cycle. */
static void stack_created(struct world_store *s, const struct world_meta *m,
			  const char *name_b, int depth,
			  struct world_meta *stack,
			  char cut[WORLD_NAME_MAX + 1])
{
	/* Before created changes: a world made before trace_from was
	 * recorded has its created stand in (meta_trace_from()). */
	if (meta_trace_from(m) < meta_trace_from(stack)) {
		stack->trace_from = meta_trace_from(m);
		/* Only the cut's own: an access dropped after a later
		 * world's creation was seen after the cut already. */
		stack->trace_untold = m->trace_untold;
		snprintf(cut, WORLD_NAME_MAX + 1, "%s", m->name);
	}
	if (m->created < stack->created ||
	    (m->created == stack->created &&
	     m->created_ns < stack->created_ns)) {
		stack->created = m->created;
		stack->created_ns = m->created_ns;
	}
	for (size_t i = 0; depth < 64 && i < m->n_parents; i++) {
		const char *p = m->parents[i];
		struct world_meta pm = {0};
		if (store_is_root(p) || store_is_ancestor(s, name_b, p) ||
		    meta_load(s, p, &pm, NULL) < 0)
			continue;
		stack_created(s, &pm, name_b, depth + 1, stack, cut);
		meta_release(&pm);
	}
}

int diff_worlds(struct world_store *s, const struct world_meta *a,
		const struct world_meta *b, const char *name_a,
		const char *name_b, struct world_diff *out,
		struct world_error *err)
{
	struct paths cand = {0}, opaque = {0}, mounts = {0}, rels = {0};
	struct paths top_opaque = {0};
	struct renames ren = {0};
	struct changes ch = {0};
	struct parts parts = {0};
	ino_t *b_inos = NULL;
	size_t n_inos = 0;
	struct world_diff d = {0};
	_cleanup_free_ char *tree_a = store_tree_path(s, name_a),
			    *tree_b = store_tree_path(s, name_b);
	_cleanup_close_ int fa = -1, fb = -1;
	int r = 0;
	if (!tree_a || !tree_b) {
		r = werr(err, ENOMEM, "out of memory");
		goto out;
	}
	fa = open(tree_a, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fb = open(tree_b, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fa < 0 || fb < 0) {
		r = werr_errno(err, errno, "cannot open the trees to compare");
		goto out;
	}

	/* Root's file systems that either world has a layer for. */
	r = paths_add(&rels, "");
	for (size_t i = 0; r >= 0 && a && i < a->n_mounts; i++)
		r = paths_add(&rels, a->mounts[i]);
	for (size_t i = 0; r >= 0 && b && i < b->n_mounts; i++)
		r = paths_add(&rels, b->mounts[i]);
	if (r < 0) {
		r = werr(err, ENOMEM, "out of memory");
		goto out;
	}
	paths_unique(&rels);
	if (rels.n > sizeof(parts.v) / sizeof(*parts.v)) {
		r = werr(err, E2BIG, "too many file systems");
		goto out;
	}
	for (size_t i = 0; r >= 0 && i < rels.n; i++) {
		r = candidates_in(s, a, b, rels.v[i], fa, fb, &parts.v[i],
				  &cand, &opaque, &mounts, &ren, &top_opaque,
				  err);
		parts.n = i + 1;
		if (r >= 0 && *rels.v[i] &&
		    asprintf((char **)&parts.v[i].prefix, "/%s", rels.v[i]) < 0)
			r = werr(err, ENOMEM, "out of memory");
		else if (r >= 0 && !*rels.v[i] &&
			 !(parts.v[i].prefix = strdup("")))
			r = werr(err, ENOMEM, "out of memory");
	}
	if (r < 0)
		goto out;
	/* Below an opaque directory, what the other tree held is gone;
	 * below a redirected one, what its origin held is there too.  Below
	 * an opaque one of A's top layer, A shows that layer's entries,
	 * candidates already: not read again, through the overlay. */
	paths_unique(&top_opaque);
	for (size_t i = 0; i < opaque.n + ren.all.n && r >= 0; i++) {
		const char *dir = i < opaque.n ? opaque.v[i]
					       : ren.all.v[i - opaque.n];
		if (i >= opaque.n || !paths_has(&top_opaque, dir))
			r = add_subtree(&parts, false, dir, &cand, &mounts);
		if (r >= 0)
			r = add_subtree(&parts, true, dir, &cand, &mounts);
	}
	if (r < 0) {
		r = werr_errno(err, -r, "cannot read the trees");
		goto out;
	}
	paths_unique(&cand);

	struct paths gone = {0}; /* below a directory that B has, A not */
	struct paths kept = {0}; /* below a shared one that B deleted */
	const char *kept_top = NULL;
	/* Candidates are sorted: below a directory that B does not have,
	 * B has nothing, and a new tree of A costs one lookup in B. */
	const char *b_lacks = NULL;
	size_t b_lacks_len = 0, inos_cap = 0;
	const char *at = NULL; /* the candidate that could not be compared */
	struct side_cache ca = {.fd = -1}, cb = {.fd = -1}, ta = {.fd = -1};
	bool layer_ok = a && a_tree_unmounted(fa, &parts);
	for (size_t i = 0; i < cand.n && r >= 0; i++) {
		const char *p = at = cand.v[i];
		struct side x, y = {.fd = -1, .dir = -1};
		r = diff_side_load_a(&parts, p, &ca, &ta, layer_ok, &x);
		if (r >= 0 && (!b_lacks || strncmp(p, b_lacks, b_lacks_len) ||
			       p[b_lacks_len] != '/')) {
			r = diff_side_load_in(&parts, true, p, &cb, &y);
			b_lacks = y.exists || y.below_mount ? NULL : p;
			b_lacks_len = b_lacks ? strlen(p) : 0;
		}
		/* Read only where both have it: compare() reads them. */
		if (r >= 0 && x.exists && y.exists &&
		    (r = diff_side_open(&x)) >= 0)
			r = diff_side_open(&y);
		size_t first = ch.n;
		if (r < 0) {
			diff_side_release(&x);
			diff_side_release(&y);
			break;
		}
		if (x.below_mount || y.below_mount)
			/* On another mount in one of the trees: that is not
			 * the world's file system; it is never merged. */
			r = change_add(&ch, x.exists ? 'A' : 'D', &cand.v[i], 0,
				       &(struct side){0});
		else if (x.exists && !y.exists)
			r = change_add(&ch, 'A', &cand.v[i], 0, &x);
		else if (!x.exists && y.exists)
			r = change_add(&ch, 'D', &cand.v[i], 0, &y);
		else if (x.exists) {
			int what = diff_compare(&x, &y);
			if (what > 0)
				r = change_add(&ch, 'M', &cand.v[i],
					       (unsigned)what, &x);
			else if (what < 0)
				r = what;
		}
		if (r >= 0 && ch.n > first &&
		    (x.below_mount || y.below_mount)) {
			ch.v[first].excluded = true;
			if (asprintf(&ch.v[first].note,
				     "on another mount in '%s': never merged",
				     x.below_mount ? name_a : name_b) < 0)
				ch.v[first].note = NULL;
		}
		/* What B holds, by inode: a copy-up of A that B holds
		 * under some name is no file that B deleted. */
		if (r >= 0 && y.exists) {
			if (n_inos == inos_cap) {
				inos_cap = inos_cap ? inos_cap * 2 : 256;
				ino_t *nv =
					realloc(b_inos, inos_cap * sizeof(*nv));
				if (!nv)
					r = -ENOMEM;
				else
					b_inos = nv;
			}
			if (r >= 0)
				b_inos[n_inos++] = y.st.st_ino;
		}
		/* A directory of B that A deleted or replaced: all below
		 * it is deleted too, though no layer of A names it. */
		if (r >= 0 && y.exists && S_ISDIR(y.st.st_mode) &&
		    (!x.exists || !S_ISDIR(x.st.st_mode)))
			r = add_subtree(&parts, true, p, &gone, &mounts);
		/* And the other way: a directory of a layer both share that
		 * B deleted or replaced; what A has below it, no layer of
		 * A's own names (Root against a world, two siblings). */
		if (r >= 0 && x.exists && S_ISDIR(x.st.st_mode) &&
		    !y.below_mount && (!y.exists || !S_ISDIR(y.st.st_mode)) &&
		    !(kept_top && diff_below(p, kept_top, strlen(kept_top))) &&
		    in_shared_layer(&parts, p)) {
			kept_top = p;
			r = add_subtree(&parts, false, p, &kept, &mounts);
		}
		diff_side_release(&x);
		diff_side_release(&y);
	}
	at = r < 0 ? at : NULL;
	for (size_t i = 0; i < gone.n && r >= 0; i++) {
		struct side y;
		r = diff_side_load_in(&parts, true, gone.v[i], &cb, &y);
		if (r >= 0 && y.exists)
			r = change_add(&ch, 'D', &gone.v[i], 0, &y);
		diff_side_release(&y);
	}
	for (size_t i = 0; i < kept.n && r >= 0; i++) {
		struct side x;
		r = diff_side_load_in(&parts, false, kept.v[i], &ca, &x);
		if (r >= 0 && x.exists)
			r = change_add(&ch, 'A', &kept.v[i], 0, &x);
		diff_side_release(&x);
	}
	diff_side_cache_release(&ca);
	diff_side_cache_release(&cb);
	diff_side_cache_release(&ta);
	paths_release(&gone);
	paths_release(&kept);
	if (r < 0) {
		/* overlayfs refuses a file whose layer holds a record of an
		 * option its mount lacks (metacopy: README, "Security"). */
		r = werr_errno(err, -r, "cannot compare '%s' with '%s'%s%s%s",
			       name_a, name_b, at ? " at " : "", at ? at : "",
			       at && r == -EPERM
				       ? " (overlayfs refuses it: its layer "
					 "holds a record, such as metacopy, of "
					 "options pwapt does not mount with)"
				       : "");
		goto out;
	}
	/* Sorted, each path once: a path both under a deleted directory and
	 * a candidate was found twice. */
	if (!changes_sorted(&ch)) /* then ch.v is not NULL, as qsort wants */
		qsort(ch.v, ch.n, sizeof(*ch.v), cmp_change);
	size_t w = 0;
	for (size_t i = 0; i < ch.n; i++) {
		if (w && !strcmp(ch.v[w - 1].path, ch.v[i].path)) {
			free(ch.v[i].path);
			free(ch.v[i].note);
			free(ch.v[i].renamed_from);
			continue;
		}
		ch.v[w++] = ch.v[i];
	}
	ch.n = w;
	/* A directory of A's layers that is one of B's renamed. */
	for (size_t k = 0; k < ren.to.n && r >= 0; k++)
		for (size_t i = 0; i < ch.n; i++)
			if (ch.v[i].kind == 'A' &&
			    !strcmp(ch.v[i].path, ren.to.v[k]) &&
			    !ch.v[i].renamed_from &&
			    !(ch.v[i].renamed_from = strdup(ren.from.v[k])))
				r = werr(err, ENOMEM, "out of memory");
	if (r < 0)
		goto out;

	d = (struct world_diff){.v = ch.v, .n = ch.n, .other = strdup(name_b)};
	ch = (struct changes){0};
	paths_unique(&mounts);
	diff_exclude_mounts(&d, mounts.v, mounts.n);
	diff_exclude_state(s, &d);
	if (a) {
		/* Check-offs that cannot be read fail the diff: a merge
		 * would take every path. */
		_cleanup_strv_free_ char **co = NULL;
		if ((r = checkoff_list(s, name_a, &co, err)) < 0)
			goto out;
		for (size_t i = 0; i < d.n; i++)
			d.v[i].checked_off = checkoff_matches(co, d.v[i].path);
	}
	if (diff_hold_dirs(&d) < 0) {
		r = werr(err, ENOMEM, "out of memory");
		goto out;
	}
	if (a && store_is_ancestor(s, name_a, name_b)) {
		/* A merged past its parent: judged from the oldest world
		 * whose layer it carries. */
		struct world_meta stack = *a;
		char cut[WORLD_NAME_MAX + 1];
		snprintf(cut, sizeof(cut), "%s", a->name);
		stack_created(s, a, name_b, 0, &stack, cut);
		/* The world whose creation is the cut, for warnings.c's
		 * notes; A itself where B is its parent, the one case where
		 * conflicts.c's notes of A's lower use the name. */
		stack.name = cut;
		struct diff_trees t = {.s = s,
				       .a = &stack,
				       .name_a = name_a,
				       .name_b = name_b,
				       .fa = fa,
				       .fb = fb,
				       .parts = &parts,
				       .opaque = opaque.v,
				       .n_opaque = opaque.n,
				       .b_inos = b_inos,
				       .n_inos = n_inos};
		if ((r = diff_conflicts(&t, &d, err)) < 0)
			goto out;
		if ((r = diff_renamed_conflicts(&t, &d)) < 0) {
			r = werr_errno(err, -r, "cannot compare '%s' with '%s'",
				       name_a, name_b);
			goto out;
		}
		if (diff_warnings(s, &stack, name_a, name_b, fa, fb, &d) < 0) {
			r = werr(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	*out = d;
	d = (struct world_diff){0};
out:
	diff_release(&d);
	paths_release(&cand);
	paths_release(&opaque);
	paths_release(&top_opaque);
	paths_release(&mounts);
	paths_release(&rels);
	paths_release(&ren.all);
	paths_release(&ren.to);
	paths_release(&ren.from);
	free(ren.bad);
	parts_release(&parts);
	free(b_inos);
	for (size_t i = 0; i < ch.n; i++) {
		free(ch.v[i].path);
		free(ch.v[i].note);
		free(ch.v[i].renamed_from);
	}
	free(ch.v);
	return r < 0 ? r : 0;
}

void diff_release(struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].note);
		free(d->v[i].renamed_from);
	}
	free(d->v);
	free(d->other);
	diff_warnings_release(d);
	*d = (struct world_diff){0};
}

int diff_layers(struct world_store *s, const char *name, const char *other,
		struct world_diff *out, struct world_error *err)
{
	struct world_meta ma = {0}, mb = {0};
	bool root_a = !strcmp(name, WORLD_ROOT);
	int r = 0;
	if (!store_name_valid(name))
		return werr(err, EINVAL, "invalid world name '%s'", name);
	if (!root_a && (r = meta_load(s, name, &ma, err)) < 0)
		return r;
	if (!other) {
		if (root_a)
			return werr(err, EINVAL,
				    "Root has no parent: name the world to "
				    "compare it with");
		other = ma.parents[0];
	}
	bool root_b = !strcmp(other, WORLD_ROOT);
	if (!store_name_valid(other))
		r = werr(err, EINVAL, "invalid world name '%s'", other);
	else if (!strcmp(name, other))
		r = werr(err, EINVAL, "'%s' compared with itself", name);
	else if (!root_b)
		r = meta_load(s, other, &mb, err);
	/* Both trees must be mounted and show their layers as they are;
	 * their containers need not run. */
	if (r >= 0 && !root_a)
		r = lifecycle_mount(s, name, err);
	if (r >= 0 && !root_b)
		r = lifecycle_mount(s, other, err);
	if (r >= 0)
		r = diff_worlds(s, root_a ? NULL : &ma, root_b ? NULL : &mb,
				name, other, out, err);
	meta_release(&ma);
	meta_release(&mb);
	return r;
}
