/* Redirected directories of a layer (see redirect.h).
 *
 * The rules are overlayfs' own (fs/overlayfs/namei.c,
 * ovl_get_redirect_xattr and ovl_check_redirect; overlayfs.rst, "Redirect
 * dir"): an absolute redirect is looked up from the root of the layers
 * below, a relative one
 * names the entry in the parent's lower directory in place of its own; a
 * value with an empty name, or a relative one with a '/', is invalid.
 * "." and ".." the kernel's lookup refuses; so do we, before any lookup,
 * and a path is only ever opened with open_beneath() below a layer's root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "redirect.h"

#define REDIRECT_XATTR "trusted.overlay.redirect"

static bool name_valid(const char *s, size_t len)
{
	return len && !(len == 1 && s[0] == '.') &&
	       !(len == 2 && s[0] == '.' && s[1] == '.');
}

bool redirect_valid(const char *v, size_t len)
{
	if (!len || len > PATH_MAX || memchr(v, '\0', len))
		return false;
	if (v[0] != '/')
		return !memchr(v, '/', len) && name_valid(v, len);
	for (size_t i = 1; i <= len;) {
		const char *s = v + i, *e = memchr(s, '/', len - i);
		size_t n = e ? (size_t)(e - s) : len - i;
		if (!name_valid(s, n))
			return false;
		i += n + 1;
	}
	return true;
}

int redirect_read(int dirfd, const char *name, char **out)
{
	char proc[64 + NAME_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
	char buf[PATH_MAX + 2];
	ssize_t n = lgetxattr(proc, REDIRECT_XATTR, buf, sizeof(buf));
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0
		       : errno == ERANGE		    ? -EINVAL
							    : -errno;
	if (!redirect_valid(buf, (size_t)n))
		return -EINVAL;
	char *v = strndup(buf, (size_t)n);
	if (!v)
		return -ENOMEM;
	*out = v;
	return 1;
}

/* Appends "/NAME" (N bytes) to the path *P (LEN bytes). */
static int append(char **p, size_t *len, const char *name, size_t n)
{
	char *np = realloc(*p, *len + n + 2);
	if (!np)
		return -ENOMEM;
	np[(*len)++] = '/';
	memcpy(np + *len, name, n);
	*len += n;
	np[*len] = '\0';
	*p = np;
	return 0;
}

int redirect_origin(int layer, const char *path, char **out)
{
	_cleanup_free_ char *lower = strdup(""), *walked = strdup("");
	size_t llen = 0, wlen = 0;
	if (!lower || !walked)
		return -ENOMEM;
	for (const char *s = path; *s;) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (!n)
			break;
		if (!name_valid(s, n))
			return -EINVAL;
		_cleanup_close_ int dir = open_beneath(
			layer, wlen ? walked + 1 : ".", O_PATH | O_DIRECTORY);
		if (dir < 0)
			return dir;
		_cleanup_free_ char *name = strndup(s, n), *v = NULL;
		if (!name)
			return -ENOMEM;
		int r = redirect_read(dir, name, &v);
		if (r < 0)
			return r;
		if (r > 0 && v[0] == '/') {
			free(lower);
			lower = steal_pointer(&v);
			llen = strlen(lower);
		} else { /* one name: in place of this one's own */
			const char *use = r > 0 ? v : name;
			if (append(&lower, &llen, use, strlen(use)) < 0)
				return -ENOMEM;
		}
		if (append(&walked, &wlen, s, n) < 0)
			return -ENOMEM;
		s += n;
	}
	if (!llen) {
		free(lower);
		lower = strdup("/");
		if (!lower)
			return -ENOMEM;
	}
	*out = steal_pointer(&lower);
	return 0;
}

int redirect_open_lower(const int *lowers, size_t n, const char *path)
{
	while (*path == '/')
		path++;
	for (size_t i = 0; i < n; i++) {
		int fd = open_beneath(lowers[i], *path ? path : ".",
				      O_PATH | O_DIRECTORY);
		if (fd >= 0)
			return fd;
		if (fd != -ENOENT && fd != -ENOTDIR)
			return fd;
	}
	return -ENOENT;
}
