/* The names of the multiply-linked files of a layer (see links.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "links.h"

struct link_name {
	ino_t ino;
	char *path;
};

struct link_names {
	struct link_name *v;
	size_t n;
	char **names; /* the names of the inode last asked for */
};

static int add(struct link_names *ln, ino_t ino, const char *path)
{
	struct link_name *nv = realloc(ln->v, (ln->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ln->v = nv;
	if (!(nv[ln->n].path = strdup(path)))
		return -ENOMEM;
	nv[ln->n++].ino = ino;
	return 0;
}

static int walk(struct link_names *ln, int dirfd, dev_t dev, const char *path)
{
	int dup_fd = dup(dirfd);
	_cleanup_closedir_ DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -errno;
	}
	struct dirent *de;
	int r = 0;
	for (errno = 0; r >= 0 && (de = readdir(d)); errno = 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		_cleanup_free_ char *sub = NULL;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (st.st_dev != dev)
			continue; /* a mount point: not the layer */
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			return -ENOMEM;
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			r = add(ln, st.st_ino, sub);
		} else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int fd = openat(
				dirfd, de->d_name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = fd < 0 ? -errno : walk(ln, fd, dev, sub);
		}
	}
	return r < 0 ? r : errno ? -errno : 0;
}

static int by_ino(const void *a, const void *b)
{
	const struct link_name *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int link_names_load(int layer, struct link_names **out)
{
	struct link_names *ln = calloc(1, sizeof(*ln));
	_cleanup_close_ int fd =
		openat(layer, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (!ln)
		return -ENOMEM;
	int r = fd < 0 || fstat(fd, &st) < 0 ? -errno
					     : walk(ln, fd, st.st_dev, "");
	if (r < 0) {
		link_names_free(ln);
		return r;
	}
	if (ln->n)
		qsort(ln->v, ln->n, sizeof(*ln->v), by_ino);
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
	char **names = realloc(ln->names, (n + 1) * sizeof(*names));
	if (!names)
		return NULL;
	for (size_t i = 0; i < n; i++)
		names[i] = hit[i].path;
	names[n] = NULL;
	ln->names = names;
	return names;
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
