/* The paths that two or more of a world's parents changed, and which of
 * them the world sees (layers_overlaps() in layers.h, world_overlaps in
 * world.h), within each of Root's file systems. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "strv.h"

/* ---- overlaps between parents ---- */

struct entry {
	char *path;
	size_t layer; /* index into the union of layers */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static int entries_add(struct entries *e, const char *path, size_t layer)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct entry *nv = realloc(e->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		e->v = nv;
		e->cap = cap;
	}
	if (!(e->v[e->n].path = strdup(path)))
		return -ENOMEM;
	e->v[e->n++].layer = layer;
	return 0;
}

struct layer_walk {
	struct entries *e;
	size_t layer;
};

/* Records every entry of a layer that hides what lies below it: files,
 * symlinks, special files, whiteouts and opaque directories.  Plain
 * directories merge with the layers below and hide nothing. */
static int record_hiding(const struct fs_entry *e, bool opaque, void *data)
{
	struct layer_walk *w = data;
	return !S_ISDIR(e->st.st_mode) || opaque
		       ? entries_add(w->e, e->path, w->layer)
		       : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->layer > y->layer) - (x->layer < y->layer);
}

static ssize_t index_of(char *const *v, const char *s)
{
	for (ssize_t i = 0; v[i]; i++)
		if (!strcmp(v[i], s))
			return i;
	return -1;
}

/* The first entry of E (sorted) at PATH or after it. */
static size_t lower_bound(const struct entries *e, const char *path)
{
	size_t lo = 0, hi = e->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(e->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The highest layer of STACK among the entries of E at the directories
 * above DIR, a copy of a path that this cuts short: each hides what lower
 * layers hold below it (a directory deleted, made anew, replaced by a
 * file).  *POS gets its place in STACK; -1 when there is none. */
static ssize_t hiding_above(const struct entries *e, char *dir,
			    char *const *stack, char *const *layers,
			    ssize_t *pos)
{
	ssize_t top = -1;
	*pos = -1;
	for (char *slash; (slash = strrchr(dir, '/')) && slash > dir;) {
		*slash = '\0';
		for (size_t k = lower_bound(e, dir);
		     k < e->n && !strcmp(e->v[k].path, dir); k++) {
			ssize_t p = index_of(stack, layers[e->v[k].layer]);
			if (p >= 0 && (*pos < 0 || p < *pos)) {
				*pos = p;
				top = (ssize_t)e->v[k].layer;
			}
		}
	}
	return top;
}

/* The parent of the N PARENTS whose tree decides PATH (the first that
 * has it, or hides it by a directory above it) when that is by hiding
 * it: then what the other parents TOP (their highest layer that has
 * PATH, or -1) hold there is lost to the world.  *WINNER gets that
 * parent, *HIDER the layer that hides it; 0 when none, -ENOMEM. */
static int hidden_by(const struct entries *e, const char *path, char ***stacks,
		     char *const *layers, size_t n, const ssize_t *top,
		     ssize_t *winner, ssize_t *hider)
{
	*winner = -1;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *dir = strdup(path);
		if (!dir)
			return -ENOMEM;
		ssize_t pos,
			own = top[i] < 0 ? -1
					 : index_of(stacks[i], layers[top[i]]);
		ssize_t h = hiding_above(e, dir, stacks[i], layers, &pos);
		if (h < 0 && own < 0)
			continue; /* the next parent decides */
		if (h >= 0 && (own < 0 || pos < own)) {
			*winner = (ssize_t)i;
			*hider = h;
		}
		return 0;
	}
	return 0;
}

/* Appends to *res the overlaps within Root's file system REL. */
static int overlaps_in(struct world_store *s, char *const *parents, size_t n,
		       const char *rel, struct world_overlaps *res,
		       struct world_error *err)
{
	struct entries e = {0};
	_cleanup_strv_free_ char **layers = NULL; /* union, Root excluded */
	char ***stacks = calloc(n, sizeof(*stacks));
	int r = stacks ? 0 : -ENOMEM;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = layers_stack(s, &parents[i], 1, rel, &stacks[i], err);
		if (r < 0)
			goto out;
		struct strv u = {steal_pointer(&layers), 0};
		while (u.v && u.v[u.n])
			u.n++;
		/* The last entry of a stack is Root, which overlaps nobody. */
		for (size_t k = 0; r >= 0 && stacks[i][k + 1]; k++)
			if (!strv_contains(u.v, stacks[i][k]))
				r = strv_push(&u, strdup(stacks[i][k]));
		layers = u.v;
	}
	for (size_t l = 0; r >= 0 && layers && layers[l]; l++) {
		int fd = open(layers[l],
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = werr_errno(err, errno, "cannot read layer %s",
				       layers[l]);
			goto out;
		}
		_cleanup_free_ char *prefix = NULL;
		if (asprintf(&prefix, "%s%s", *rel ? "/" : "", rel) < 0) {
			close(fd);
			r = -ENOMEM;
			goto out;
		}
		struct layer_walk w = {&e, l};
		r = layers_walk(fd, prefix, true, record_hiding, &w);
		close(fd);
		if (r < 0)
			r = werr_errno(err, -r, "cannot read layer %s",
				       layers[l]);
	}
	if (r < 0)
		goto out;
	if (e.n) /* e.v is NULL then, which qsort may not get */
		qsort(e.v, e.n, sizeof(*e.v), cmp_entry);

	for (size_t a = 0; a < e.n;) {
		size_t b = a;
		while (b < e.n && !strcmp(e.v[a].path, e.v[b].path))
			b++;
		/* For each parent: the highest layer of its stack that has
		 * this path.  Parents that got it from the same layer agree. */
		ssize_t top[n];
		size_t having = 0, distinct = 0;
		for (size_t i = 0; i < n; i++) {
			top[i] = -1;
			ssize_t best = -1;
			for (size_t k = a; k < b; k++) {
				ssize_t pos = index_of(stacks[i],
						       layers[e.v[k].layer]);
				if (pos >= 0 && (best < 0 || pos < best)) {
					best = pos;
					top[i] = (ssize_t)e.v[k].layer;
				}
			}
			if (top[i] < 0)
				continue;
			having++;
			bool seen = false;
			for (size_t j = 0; j < i; j++)
				seen |= top[j] == top[i];
			distinct += !seen;
		}
		/* The first parent that decides the path hides it by a
		 * directory above it: the others' versions are lost too. */
		ssize_t hider = -1, winner = -1;
		bool lost = false;
		if (!(having >= 2 && distinct >= 2) && having) {
			r = hidden_by(&e, e.v[a].path, stacks, layers, n, top,
				      &winner, &hider);
			if (r < 0)
				goto out;
			for (size_t i = 0; winner >= 0 && i < n; i++)
				lost |= top[i] >= 0 && top[i] != hider &&
					(ssize_t)i != winner;
		}
		if ((having >= 2 && distinct >= 2) || lost) {
			struct world_overlap *nv =
				realloc(res->v, (res->n + 1) * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				goto out;
			}
			res->v = nv;
			struct world_overlap *o = &res->v[res->n++];
			*o = (struct world_overlap){0};
			o->path = strdup(e.v[a].path);
			o->losers = calloc(n + 1, sizeof(char *));
			size_t nl = 0;
			ssize_t winner_top = lost ? hider : -1;
			if (lost)
				o->winner = strdup(parents[winner]);
			for (size_t i = 0; i < n; i++) {
				if (top[i] < 0)
					continue;
				if (winner_top < 0) {
					winner_top = top[i];
					o->winner = strdup(parents[i]);
				} else if (top[i] != winner_top &&
					   (ssize_t)i != winner) {
					o->losers[nl++] = strdup(parents[i]);
				}
			}
		}
		a = b;
	}
out:
	for (size_t i = 0; i < e.n; i++)
		free(e.v[i].path);
	free(e.v);
	for (size_t i = 0; stacks && i < n; i++)
		strvfreep(&stacks[i]);
	free(stacks);
	return r == -ENOMEM ? werr(err, ENOMEM, "out of memory") : r;
}

int layers_overlaps(struct world_store *s, char *const *parents, size_t n,
		    struct world_overlaps *out, struct world_error *err)
{
	struct world_overlaps res = {0};
	_cleanup_strv_free_ char **mounts = NULL;
	int r = layers_root_mounts(s, &mounts, err);
	if (r >= 0)
		r = overlaps_in(s, parents, n, "", &res, err);
	for (size_t i = 0; r >= 0 && mounts && mounts[i]; i++)
		r = overlaps_in(s, parents, n, mounts[i], &res, err);
	if (r < 0) {
		layers_overlaps_release(&res);
		return r;
	}
	if (out)
		*out = res;
	else
		layers_overlaps_release(&res);
	return 0;
}

void layers_overlaps_release(struct world_overlaps *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].path);
		free(o->v[i].winner);
		strvfreep(&o->v[i].losers);
	}
	free(o->v);
	*o = (struct world_overlaps){0};
}
