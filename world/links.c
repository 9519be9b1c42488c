/* The names of the multiply-linked files of a layer (see links.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "links.h"

struct link_name {
	ino_t ino;
	char *path;
};

struct link_names {
	struct link_name *v;
	size_t n, cap;
	/* the names of the inode last asked for: room for all, so that an
	 * answer never fails */
	char **names;
};

static int add(struct link_names *ln, ino_t ino, const char *path)
{
	if (ln->n == ln->cap) {
		size_t nc = ln->cap ? ln->cap * 2 : 64;
		struct link_name *nv = reallocarray(ln->v, nc, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ln->v = nv;
		ln->cap = nc;
	}
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	ln->v[ln->n++] = (struct link_name){ino, copy};
	return 0;
}

static int note_linked(const struct fs_entry *e, void *data)
{
	if (e->mount_point)
		return 1; /* not the layer */
	if (S_ISREG(e->st.st_mode) && e->st.st_nlink > 1)
		return add(data, e->st.st_ino, e->path);
	return 0;
}

static int by_ino(const void *a, const void *b)
{
	const struct link_name *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int link_names_load(int layer, struct link_names **out)
{
	struct link_names *ln = calloc(1, sizeof(*ln));
	if (!ln)
		return -ENOMEM;
	int r = fs_walk(layer, "", FS_WALK_STAT, note_linked, NULL, ln);
	if (r < 0) {
		link_names_free(ln);
		return r;
	}
	if (ln->n)
		qsort(ln->v, ln->n, sizeof(*ln->v), by_ino);
	if (!(ln->names = calloc(ln->n + 1, sizeof(*ln->names)))) {
		link_names_free(ln);
		return -ENOMEM;
	}
	*out = ln;
	return 0;
}

char *const *link_names_of(struct link_names *ln, ino_t ino)
{
	struct link_name key = {.ino = ino};
	struct link_name *hit =
		bsearch(&key, ln->v, ln->n, sizeof(*ln->v), by_ino);
	if (!hit)
		return NULL;
	while (hit > ln->v && hit[-1].ino == ino)
		hit--;
	size_t n = 0;
	while (hit + n < ln->v + ln->n && hit[n].ino == ino)
		n++;
	for (size_t i = 0; i < n; i++)
		ln->names[i] = hit[i].path;
	ln->names[n] = NULL;
	return ln->names;
}

void link_names_free(struct link_names *ln)
{
	if (!ln)
		return;
	for (size_t i = 0; i < ln->n; i++)
		free(ln->v[i].path);
	free(ln->v);
	free(ln->names);
	free(ln);
}
