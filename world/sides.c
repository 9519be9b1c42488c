/* One side of wdiff's comparison: where a path of either tree lies, and
 * its status there, never across a mount (see diff.h).  Used by diff.c
 * and conflicts.c alike. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "diff.h"
#include "fsutil.h"

bool diff_below(const char *path, const char *dir, size_t len)
{
	return !strncmp(path, dir, len) &&
	       (path[len] == '\0' || path[len] == '/');
}

/* Whether an error opening a path means only that the tree has nothing
 * there: missing, or below something that is not a directory (a file, a
 * symbolic link, which is never followed). */
bool diff_absent(int r)
{
	return r == -ENOENT || r == -ENOTDIR || r == -ELOOP;
}

void diff_side_release(struct side *s)
{
	closep(&s->fd);
}

/* The file system of PATH: the part with the longest prefix of it. */
const struct fs_part *diff_part_of(const struct parts *p, const char *path)
{
	const struct fs_part *best = &p->v[0];
	for (size_t i = 1; i < p->n; i++) {
		size_t l = strlen(p->v[i].prefix);
		if (diff_below(path, p->v[i].prefix, l) &&
		    l > strlen(best->prefix))
			best = &p->v[i];
	}
	return best;
}

/* Loads PATH of tree B (or A): never across a mount within its file
 * system.  Only "nothing there" is absence; any other error is returned. */
int diff_side_load(const struct parts *p, bool b, const char *path,
		   struct side *s)
{
	*s = (struct side){.fd = -1, .dir = -1};
	const struct fs_part *part = diff_part_of(p, path);
	int root = b ? part->fb : part->fa;
	const char *rel = path + strlen(part->prefix);
	if (root < 0)
		return 0;
	int fd = open_beneath_noxdev(root, *rel ? rel : ".", O_PATH);
	if (fd == -EXDEV) {
		s->below_mount = true;
		return 0;
	}
	if (fd < 0)
		return diff_absent(fd) ? 0 : fd;
	s->fd = fd;
	if (fstat(fd, &s->st) < 0)
		return -errno;
	s->exists = true;
	return 0;
}

void diff_side_cache_release(struct side_cache *c)
{
	closep(&c->fd);
	free(c->dir);
	*c = (struct side_cache){.fd = -1};
}

/* C at the directory of PATH's first LEN bytes in PART of tree B. */
static int cache_dir(const struct fs_part *part, bool b, const char *path,
		     size_t len, struct side_cache *c)
{
	if (c->dir && c->part == part && c->b == b &&
	    !strncmp(c->dir, path, len) && c->dir[len] == '\0')
		return 0;
	diff_side_cache_release(c);
	c->part = part;
	c->b = b;
	if (!(c->dir = strndup(path, len)))
		return -ENOMEM;
	const char *rel = c->dir + strlen(part->prefix);
	int fd = open_beneath_noxdev(b ? part->fb : part->fa, *rel ? rel : ".",
				     O_PATH | O_DIRECTORY);
	if (fd == -EXDEV)
		c->below_mount = true;
	else if (fd >= 0)
		c->fd = fd;
	else if (!diff_absent(fd)) {
		diff_side_cache_release(c);
		return fd;
	}
	return 0;
}

int diff_side_load_in(const struct parts *p, bool b, const char *path,
		      struct side_cache *c, struct side *s)
{
	*s = (struct side){.fd = -1, .dir = -1};
	const struct fs_part *part = diff_part_of(p, path);
	size_t plen = strlen(part->prefix);
	const char *slash = strrchr(path, '/');
	if ((b ? part->fb : part->fa) < 0)
		return 0;
	/* A file system's own root, or no plain name at the end. */
	if (!path[plen] || !slash || (size_t)(slash - path) < plen ||
	    !strcmp(slash, "/.") || !strcmp(slash, "/..") || !slash[1])
		return diff_side_load(p, b, path, s);
	int r = cache_dir(part, b, path, (size_t)(slash - path), c);
	if (r < 0)
		return r;
	if (c->below_mount) {
		s->below_mount = true;
		return 0;
	}
	if (c->fd < 0)
		return 0;
	bool mount_root = false;
	r = stat_name_noxdev(c->fd, slash + 1, &s->st, &mount_root);
	if (r == -EOPNOTSUPP)
		return diff_side_load(p, b, path, s);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (mount_root) {
		s->st = (struct stat){0};
		s->below_mount = true;
		return 0;
	}
	s->exists = true;
	s->dir = c->fd;
	s->leaf = slash + 1;
	return 0;
}

int diff_side_open(struct side *s)
{
	if (s->fd >= 0 || !s->exists)
		return 0;
	if (s->dir < 0 || !s->leaf)
		return -EBADF;
	int fd = openat(s->dir, s->leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) { /* gone since */
		s->exists = false;
		s->st = (struct stat){0};
		return 0;
	}
	if (fd < 0)
		return -errno;
	s->fd = fd;
	/* One statx: the file now, and whether it was mounted on since
	 * (then on another mount, never merged). */
	bool mount_root = false;
	int r = stat_name_noxdev(fd, "", &s->st, &mount_root);
	if (r == -EOPNOTSUPP) { /* a kernel before 5.8: as before */
		int m = is_mount_point_fd(fd);
		r = m < 0 ? m : fstat(fd, &s->st) < 0 ? -errno : 0;
		mount_root = m > 0;
	}
	if (r >= 0 && mount_root) {
		closep(&s->fd);
		s->exists = false;
		s->below_mount = true;
		s->st = (struct stat){0};
	}
	return r < 0 ? r : 0;
}
