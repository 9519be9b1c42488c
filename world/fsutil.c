#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "cleanup.h"
#include "fsutil.h"

int write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
		      mode_t mode)
{
	char tmp[512];
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp%d", name, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;

	_cleanup_close_ int fd = openat(
		dirfd, tmp,
		O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			unlinkat(dirfd, tmp, 0);
			return r;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		int r = -errno;
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	/* The rename is durable only once the directory is. */
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}

int read_file_at(int dirfd, const char *name, char **out, size_t *len)
{
	_cleanup_close_ int fd =
		openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= (1u << 24))
				return -EFBIG;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = steal_pointer(&buf);
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int rm_rf_children(int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	_cleanup_closedir_ DIR *dir = d;
	int ret = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0) {
			if (errno != ENOENT && !ret)
				ret = -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev) {
				ret = ret ? ret : -EBUSY;
				continue;
			}
			int child = openat(dirfd(dir), de->d_name,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						   O_CLOEXEC);
			if (child < 0) {
				ret = ret ? ret : -errno;
				continue;
			}
			int r = rm_rf_children(child, dev);
			if (r < 0 && !ret)
				ret = r;
			if (unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR) <
				    0 &&
			    errno != ENOENT && !ret)
				ret = -errno;
		} else if (unlinkat(dirfd(dir), de->d_name, 0) < 0 &&
			   errno != ENOENT && !ret) {
			ret = -errno;
		}
	}
	if (errno && !ret)
		ret = -errno;
	return ret;
}

int rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	int fd = openat(dirfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = rm_rf_children(fd, st.st_dev);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

struct du_walk {
	void *seen; /* tsearch tree of inodes with several links */
	uint64_t bytes;
};

static int ino_cmp(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
	return x < y ? -1 : x > y;
}

static void du_account(struct du_walk *w, const struct stat *st)
{
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		ino_t *key = malloc(sizeof(*key));
		if (!key)
			return;
		*key = st->st_ino;
		ino_t **found = tsearch(key, &w->seen, ino_cmp);
		if (found && *found != key) {
			free(key);
			return;
		}
	}
	w->bytes += (uint64_t)st->st_blocks * 512;
}

static int du_dir(struct du_walk *w, int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	_cleanup_closedir_ DIR *dir = d;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			continue;
		du_account(w, &st);
		if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
			int child = openat(dirfd(dir), de->d_name,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						   O_CLOEXEC);
			if (child >= 0)
				du_dir(w, child, dev);
		}
	}
	return 0;
}

int disk_usage_at(int dirfd, const char *name, uint64_t *bytes)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	struct du_walk w = {0};
	du_account(&w, &st);
	if (S_ISDIR(st.st_mode)) {
		int fd =
			openat(dirfd, name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		du_dir(&w, fd, st.st_dev);
	}
	tdestroy(w.seen, free);
	*bytes = w.bytes;
	return 0;
}

int is_mount_point(const char *path)
{
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) <
	    0)
		return -errno;
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	/* Kernels without STATX_ATTR_MOUNT_ROOT: a mount usually changes
	 * the device; a bind mount of the same fs is missed here. */
	_cleanup_free_ char *parent = path_join(path, "..");
	struct stat a, b;
	if (!parent || stat(path, &a) < 0 || stat(parent, &b) < 0)
		return -errno;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static int open_beneath_walk(int dirfd, const char *rel, int flags)
{
	_cleanup_free_ char *copy = strdup(rel);
	if (!copy)
		return -ENOMEM;
	_cleanup_close_ int cur = openat(dirfd, ".", O_PATH | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	char *save = NULL;
	char *part = strtok_r(copy, "/", &save);
	while (part) {
		char *next = strtok_r(NULL, "/", &save);
		if (!strcmp(part, "..") || !strcmp(part, "."))
			return -EXDEV;
		int fd = openat(cur, part,
				(next ? O_PATH | O_DIRECTORY : flags) |
					O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOTDIR && next ? -ELOOP : -errno;
		closep(&cur);
		cur = fd;
		part = next;
	}
	return steal_fd(&cur);
}

int open_beneath(int dirfd, const char *rel, int flags)
{
	static int have_openat2 = -1;
	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	if (have_openat2 != 0) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
				   RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS) {
			have_openat2 = 1;
			return fd >= 0 ? (int)fd : -errno;
		}
		have_openat2 = 0;
	}
	return open_beneath_walk(dirfd, rel, flags);
}

void path_escape(FILE *f, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= ' ' || *c == '%' || *c == 0x7f)
			fprintf(f, "%%%02X", *c);
		else
			fputc(*c, f);
}

char *path_unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *w = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned v;
		/* Two hex digits, or the % stays: sscanf would take one
		 * digit, or a sign, and the skip would pass the end. */
		if (*s == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2]) &&
		    sscanf(s + 1, "%2X", &v) == 1) {
			*w++ = (char)v;
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return out;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	char *r = malloc(la + 1 + strlen(b) + 1);
	if (!r)
		return NULL;
	memcpy(r, a, la);
	if (la == 1 && a[0] == '/')
		la = 0;
	r[la] = '/';
	strcpy(r + la + 1, b);
	return r;
}

int copy_bytes(int from, int to)
{
	for (;;) {
		ssize_t n = copy_file_range(from, NULL, to, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS)
			return -errno;
		char buf[65536];
		ssize_t rd;
		while ((rd = read(from, buf, sizeof(buf))) > 0) {
			ssize_t wr = write(to, buf, (size_t)rd);
			if (wr != rd)
				return wr < 0 ? -errno : -ENOSPC;
		}
		return rd < 0 ? -errno : 0;
	}
}
