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
#include "xattrat.h"

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

/* TOP at the directory of PATH's first LEN bytes in A's top layer of
 * PART: its fd -1 where that layer has none. */
static int cache_top_dir(const struct fs_part *part, const char *path,
			 size_t len, struct side_cache *top)
{
	if (top->dir && top->part == part && !strncmp(top->dir, path, len) &&
	    top->dir[len] == '\0')
		return 0;
	diff_side_cache_release(top);
	top->part = part;
	if (!(top->dir = strndup(path, len)))
		return -ENOMEM;
	const char *rel = top->dir + strlen(part->prefix);
	/* overlayfs sees no mount inside its layer: nor does this. */
	int fd = open_beneath_noxdev(part->a_only[0], *rel ? rel : ".",
				     O_PATH | O_DIRECTORY);
	if (fd >= 0)
		top->fd = fd;
	else if (!diff_absent(fd) && fd != -EXDEV) {
		diff_side_cache_release(top);
		return fd;
	}
	return 0;
}

/* Whether regular file NAME of directory DIR carries a record of
 * overlayfs' own (trusted.overlay.*, not one of a world's, which overlayfs
 * stores escaped as trusted.overlay.overlay.*): a metacopy record, whose
 * data lies below and which pwapt's mounts refuse, an xattr whiteout, a
 * copy-up's origin.  1, 0, or -ENOMEM. */
static int has_record(int dir, const char *name)
{
	char names[4096];
	ssize_t n = xattr_list_at(dir, name, names, sizeof(names));
	/* Unsupported: no record.  Not listed (too many names, a path too
	 * long, an error): as if it had one, to be met through the overlay. */
	if (n < 0)
		return n == -ENOTSUP ? 0 : n == -ENOMEM ? -ENOMEM : 1;
	for (const char *k = names; k < names + n; k += strlen(k) + 1)
		if (!strncmp(k, "trusted.overlay.", 16) &&
		    strncmp(k, "trusted.overlay.overlay.", 24))
			return 1;
	return 0;
}

/* Into S what A's top layer holds at NAME of TOP's directory where that is
 * what the overlay shows as it is: 1 then, else 0 (a directory, which
 * other layers may merge; a whiteout; a regular file with a record of
 * overlayfs' own; a mount point; nothing), or -errno. */
static int top_file(const struct side_cache *top, const char *name,
		    struct side *s)
{
	struct stat st;
	bool mount_root = false;
	if (top->fd < 0)
		return 0;
	int r = stat_name_noxdev(top->fd, name, &st, &mount_root);
	if (r == -ENOENT || r == -EOPNOTSUPP)
		return 0;
	if (r < 0)
		return r;
	if (mount_root || S_ISDIR(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && st.st_rdev == 0))
		return 0;
	if (S_ISREG(st.st_mode) && (r = has_record(top->fd, name)) != 0)
		return r < 0 ? r : 0;
	s->st = st;
	return 1;
}

static int load_in(const struct parts *p, bool b, const char *path,
		   struct side_cache *c, struct side_cache *top, struct side *s)
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
	size_t len = (size_t)(slash - path);
	int r = cache_dir(part, b, path, len, c);
	if (r < 0)
		return r;
	if (c->below_mount) {
		s->below_mount = true;
		return 0;
	}
	if (c->fd < 0)
		return 0;
	int in_top = 0;
	if (top && part->a_top && part->n_a_only &&
	    (in_top = cache_top_dir(part, path, len, top)) >= 0)
		in_top = top_file(top, slash + 1, s);
	if (in_top < 0)
		return in_top;
	bool mount_root = false;
	r = in_top ? 0
		   : stat_name_noxdev(c->fd, slash + 1, &s->st, &mount_root);
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

int diff_side_load_in(const struct parts *p, bool b, const char *path,
		      struct side_cache *c, struct side *s)
{
	return load_in(p, b, path, c, NULL, s);
}

int diff_side_load_a(const struct parts *p, const char *path,
		     struct side_cache *c, struct side_cache *top,
		     bool layer_ok, struct side *s)
{
	return load_in(p, false, path, c, layer_ok ? top : NULL, s);
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
