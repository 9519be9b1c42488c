/* wdiff's comparison of one path's two versions (diff_compare(), diff.h):
 * type, mode, owner, content, symbolic link target, device number, times
 * and xattrs, as the world's processes see them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "diff.h"
#include "strv.h"
#include "world.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The xattrs of a file, NUL-separated names and values, sorted by name;
 * overlayfs' own are never part of a world's tree. */
static int xattrs_of(int fd, char **out, size_t *len)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	*out = NULL;
	*len = 0;
	/* Through the fd's /proc link, which lands on the file itself. */
	ssize_t n = listxattr(proc, NULL, 0);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	if (n == 0)
		return 0;
	_cleanup_free_ char *names = malloc((size_t)n);
	if (!names)
		return -ENOMEM;
	if ((n = listxattr(proc, names, (size_t)n)) < 0)
		return -errno;
	_cleanup_strv_ struct strv sorted = {0};
	int r = 0;
	for (char *k = names; r >= 0 && k < names + n; k += strlen(k) + 1)
		if (strncmp(k, "trusted.overlay.", 16) &&
		    strncmp(k, "user.overlay.", 13))
			r = strv_push(&sorted, strdup(k));
	if (sorted.n) /* the names of one file: each once */
		qsort(sorted.v, sorted.n, sizeof(*sorted.v), cmp_str);
	char *buf = NULL;
	size_t used = 0;
	for (size_t i = 0; r >= 0 && i < sorted.n; i++) {
		ssize_t vl = getxattr(proc, sorted.v[i], NULL, 0);
		if (vl < 0) {
			r = errno == ENODATA ? 0 : -errno; /* gone meanwhile */
			continue;
		}
		size_t kl = strlen(sorted.v[i]) + 1;
		char *nb = realloc(buf, used + kl + (size_t)vl + 1);
		if (!nb) {
			r = -ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf + used, sorted.v[i], kl);
		used += kl;
		vl = getxattr(proc, sorted.v[i], buf + used, (size_t)vl);
		if (vl < 0) {
			r = -errno;
			break;
		}
		used += (size_t)vl;
		buf[used++] = '\0';
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = used;
	return 0;
}

/* 1 when A and B hold the same xattrs, 0 when not, or -errno. */
static int same_xattrs(int a, int b)
{
	size_t la = 0, lb = 0;
	_cleanup_free_ char *xa = NULL, *xb = NULL;
	int r = xattrs_of(a, &xa, &la);
	if (r >= 0)
		r = xattrs_of(b, &xb, &lb);
	return r < 0 ? r : la == lb && (!la || !memcmp(xa, xb, la));
}

static int same_target(int a, int b)
{
	char ta[PATH_MAX], tb[PATH_MAX];
	ssize_t na = readlinkat(a, "", ta, sizeof(ta));
	ssize_t nb = na < 0 ? -1 : readlinkat(b, "", tb, sizeof(tb));
	if (na < 0 || nb < 0)
		return -errno;
	return na == nb && !memcmp(ta, tb, (size_t)na);
}

static int same_content(int a, int b)
{
	char pa[64], pb[64];
	snprintf(pa, sizeof(pa), "/proc/self/fd/%d", a);
	snprintf(pb, sizeof(pb), "/proc/self/fd/%d", b);
	_cleanup_close_ int fa = open(pa, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int fb = open(pb, O_RDONLY | O_CLOEXEC);
	if (fa < 0 || fb < 0)
		return -errno;
	char ba[65536], bb[65536];
	/* A page first: two versions of a file mostly differ early (an
	 * upgrade's), and a small read costs less to find it. */
	for (size_t chunk = 4096;; chunk = sizeof(ba)) {
		ssize_t na = read(fa, ba, chunk);
		ssize_t nb = read(fb, bb, chunk);
		if (na < 0 || nb < 0)
			return -errno;
		if (na != nb)
			return 0;
		if (na == 0)
			return 1;
		if (memcmp(ba, bb, (size_t)na))
			return 0;
	}
}

/* What differs between two existing versions of a path: WORLD_CHANGED_*,
 * or -errno when they cannot be read.
 * A regular file's content is compared byte by byte only when its size is
 * the same and its mtime is not (a copy-up keeps the mtime, a write sets
 * it).  The times of a directory are not a change (they follow its
 * entries); a symbolic link's are: dpkg sets them from the package, and
 * a link made again with the same target is new to the world's
 * processes (what `ls -l`, `find -newer` and rsync see). */
int diff_compare(const struct side *a, const struct side *b)
{
	int what = 0, r = 1;
	const struct stat *x = &a->st, *y = &b->st;
	if ((x->st_mode & S_IFMT) != (y->st_mode & S_IFMT))
		return WORLD_CHANGED_TYPE;
	if ((x->st_mode & 07777) != (y->st_mode & 07777))
		what |= WORLD_CHANGED_MODE;
	if (x->st_uid != y->st_uid || x->st_gid != y->st_gid)
		what |= WORLD_CHANGED_OWNER;
	bool mtime_differs = x->st_mtim.tv_sec != y->st_mtim.tv_sec ||
			     x->st_mtim.tv_nsec != y->st_mtim.tv_nsec;
	/* Same size and mtime say nothing of the bytes: a rebuilt package's
	 * file often keeps both (SOURCE_DATE_EPOCH, a fixed size), and dpkg
	 * installs it with the archive's mtime.  Equal sizes are read. */
	if (S_ISREG(x->st_mode)) {
		if (x->st_size != y->st_size ||
		    (r = same_content(a->fd, b->fd)) == 0)
			what |= WORLD_CHANGED_CONTENT;
	} else if (S_ISLNK(x->st_mode)) {
		if ((r = same_target(a->fd, b->fd)) == 0)
			what |= WORLD_CHANGED_TARGET;
	} else if (S_ISCHR(x->st_mode) || S_ISBLK(x->st_mode)) {
		if (x->st_rdev != y->st_rdev)
			what |= WORLD_CHANGED_DEVICE;
	}
	if (r < 0)
		return r;
	if (!S_ISDIR(x->st_mode) && mtime_differs)
		what |= WORLD_CHANGED_TIMES;
	if (!S_ISLNK(x->st_mode) && (r = same_xattrs(a->fd, b->fd)) == 0)
		what |= WORLD_CHANGED_XATTRS;
	return r < 0 ? r : what;
}
