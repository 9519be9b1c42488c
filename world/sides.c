/* One side of wdiff's comparison: where a path of either tree lies, and
 * its status there, never across a mount (see diff.h).  Used by diff.c
 * and conflicts.c alike. */
#include <errno.h>
#include <fcntl.h>
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
	*s = (struct side){.fd = -1};
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
