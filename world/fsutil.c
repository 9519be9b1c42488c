#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "cleanup.h"
#include "fsutil.h"

/* SYNCS: 0 none, 1 the file before its rename, 2 the directory too. */
static int write_file_renamed(int dirfd, const char *name, const char *data,
			      size_t len, mode_t mode, int syncs)
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
	if ((syncs > 0 && fsync(fd) < 0) ||
	    renameat(dirfd, tmp, dirfd, name) < 0) {
		int r = -errno;
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	/* The rename is durable only once the directory is. */
	if (syncs > 1 && fsync(dirfd) < 0)
		return -errno;
	return 0;
}

int write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
		      mode_t mode)
{
	return write_file_renamed(dirfd, name, data, len, mode, 2);
}

int write_file_whole(int dirfd, const char *name, const char *data, size_t len,
		     mode_t mode)
{
	return write_file_renamed(dirfd, name, data, len, mode, 1);
}

int write_file_replace(int dirfd, const char *name, const char *data,
		       size_t len, mode_t mode)
{
	return write_file_renamed(dirfd, name, data, len, mode, 0);
}

/* What a file may grow by while it is read, and the most read of one
 * whose size says nothing (/proc). */
#define READ_SLACK ((size_t)1 << 24)

/* Reads FD to its end into *OUT (NUL-terminated), starting with room for
 * FIRST bytes; -EFBIG past MAX bytes. */
static int read_fd_bounded(int fd, size_t first, size_t max, char **out,
			   size_t *len)
{
	size_t cap = first < max ? first + 1 : max + 1, n = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			/* It grew while it was read: up to MAX. */
			if (cap > max)
				return -EFBIG;
			size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max)
		return -EFBIG;
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = steal_pointer(&buf);
	return 0;
}

/* Opens for reading what PATH (an O_PATH fd) is, looked at first: a
 * device node (a world's mknod, opened on the host, outside the world's
 * device cgroup: a watchdog, a tape that rewinds) or a FIFO is never
 * opened, only a regular file or, where ANY, a directory (-EINVAL for
 * the rest).  The fd or -errno; *ST its stat. */
static int reopen_safely(int path, bool any, int flags, struct stat *st)
{
	if (fstat(path, st) < 0)
		return -errno;
	if (S_ISLNK(st->st_mode))
		return -ELOOP; /* as an open with O_NOFOLLOW says */
	if (!S_ISREG(st->st_mode) && !(any && S_ISDIR(st->st_mode)))
		return -EINVAL;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path);
	int fd = open(proc, flags | O_CLOEXEC);
	/* It is there (held by PATH): no /proc is no absence. */
	return fd >= 0 ? fd : errno == ENOENT ? -EIO : -errno;
}

static int open_file_safely(int dirfd, const char *name, bool any,
			    struct stat *st)
{
	_cleanup_close_ int path =
		openat(dirfd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	return path < 0 ? -errno : reopen_safely(path, any, O_RDONLY, st);
}

int reopen_regular(int path, int flags)
{
	struct stat st;
	return reopen_safely(path, false, flags, &st);
}

int open_file_beneath(int dirfd, const char *rel)
{
	struct stat st;
	_cleanup_close_ int path = open_beneath(dirfd, rel, O_PATH);
	return path < 0 ? path : reopen_safely(path, false, O_RDONLY, &st);
}

int read_file_at(int dirfd, const char *name, char **out, size_t *len)
{
	struct stat st;
	_cleanup_close_ int fd = open_file_safely(dirfd, name, true, &st);
	if (fd < 0)
		return fd;
	/* The bound follows the file's size: state files (a merge's
	 * "after", a world's known-ctimes) hold a line per path. */
	size_t size =
		S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 0;
	if (size > SIZE_MAX / 2 - READ_SLACK)
		return -EFBIG;
	return read_fd_bounded(fd, size + 4096, size + READ_SLACK, out, len);
}

int read_file_max(int dirfd, const char *name, size_t max, char **out,
		  size_t *len)
{
	struct stat st;
	_cleanup_close_ int fd = open_file_safely(dirfd, name, false, &st);
	if (fd < 0)
		return fd;
	/* The size it claims decides before anything is allocated: a sparse
	 * file of many gigabytes costs nothing to make. */
	if (max >= SIZE_MAX / 2 || (uintmax_t)st.st_size > max)
		return -EFBIG;
	return read_fd_bounded(fd, (size_t)st.st_size, max, out, len);
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

/* ---- walking a tree ----
 *
 * fs_walk holds two descriptors whatever the depth: the directory it reads
 * and the one it started from.  It reads a directory's names whole, enters
 * a subdirectory by its name (O_NOFOLLOW) and comes back up through "..",
 * checking that ".." is the directory it left (the tree did not move under
 * it).  No path string ever reaches a system call, so neither depth nor
 * PATH_MAX limits it. */

struct walk_level {
	int fd; /* -1 until entered */
	char **names;
	size_t n, next;
	dev_t dev;
	ino_t ino;
	size_t path_len; /* of this directory's path in the walk's buffer */
	struct fs_entry self; /* this directory's entry in its parent */
	char *self_name;
};

static void walk_level_release(struct walk_level *l, int keep_fd)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->self_name);
	if (l->fd >= 0 && l->fd != keep_fd)
		close(l->fd);
	*l = (struct walk_level){.fd = -1};
}

/* The names in directory FD, whole, so that FD may be left and re-entered. */
static int read_names(int fd, struct walk_level *l)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		int r = -errno;
		close(dup_fd);
		return r;
	}
	_cleanup_closedir_ DIR *dir = d;
	rewinddir(dir);
	size_t cap = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(l->names, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			l->names = nv;
		}
		/* Its d_type first: a walk that needs no status of files
		 * spares a stat for each. */
		size_t len = strlen(de->d_name);
		if (!(l->names[l->n] = malloc(len + 2)))
			return -ENOMEM;
		l->names[l->n][0] = (char)de->d_type;
		memcpy(l->names[l->n] + 1, de->d_name, len + 1);
		l->n++;
	}
	return errno ? -errno : 0;
}

static void stat_from_statx(struct stat *st, const struct statx *sx)
{
	*st = (struct stat){
		.st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor),
		.st_ino = sx->stx_ino,
		.st_mode = sx->stx_mode,
		.st_nlink = sx->stx_nlink,
		.st_uid = sx->stx_uid,
		.st_gid = sx->stx_gid,
		.st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor),
		.st_size = (off_t)sx->stx_size,
		.st_blksize = sx->stx_blksize,
		.st_blocks = (blkcnt_t)sx->stx_blocks,
	};
	st->st_atim =
		(struct timespec){sx->stx_atime.tv_sec, sx->stx_atime.tv_nsec};
	st->st_mtim =
		(struct timespec){sx->stx_mtime.tv_sec, sx->stx_mtime.tv_nsec};
	st->st_ctim =
		(struct timespec){sx->stx_ctime.tv_sec, sx->stx_ctime.tv_nsec};
}

/* The status of NAME in DIRFD ("" for DIRFD itself) and whether it is the
 * root of a mount other than ROOT_MNT (a mount id; 0: compare devices with
 * ROOT_DEV instead, on kernels without STATX_MNT_ID). */
static int stat_entry(int dirfd, const char *name, struct stat *st,
		      uint64_t *mnt_id, bool *mount_root)
{
	struct statx sx;
	int flags = AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH);
	if (statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_MNT_ID, &sx) <
	    0)
		return -errno;
	stat_from_statx(st, &sx);
	*mnt_id = sx.stx_mask & STATX_MNT_ID ? sx.stx_mnt_id : 0;
	*mount_root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
		      (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

int stat_name_noxdev(int dirfd, const char *name, struct stat *st,
		     bool *mount_root)
{
	struct statx sx;
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT |
		    (*name ? 0 : AT_EMPTY_PATH);
	if (statx(dirfd, name, flags, STATX_BASIC_STATS, &sx) < 0)
		return -errno;
	if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EOPNOTSUPP;
	stat_from_statx(st, &sx);
	*mount_root = sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
	return 0;
}

int fs_walk(int dirfd, const char *prefix, unsigned flags,
	    int (*pre)(const struct fs_entry *e, void *data),
	    int (*post)(const struct fs_entry *e, void *data), void *data)
{
	_cleanup_close_ int root =
		openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	struct stat rst;
	uint64_t root_mnt;
	bool ignored;
	int r = stat_entry(root, "", &rst, &root_mnt, &ignored);
	if (r < 0)
		return r;
	size_t path_cap = strlen(prefix) + 256, depth = 0, cap = 0;
	_cleanup_free_ char *path = malloc(path_cap);
	struct walk_level *lv = NULL;
	if (!path)
		return -ENOMEM;
	strcpy(path, prefix);

	/* Level 0 is the directory the walk starts from. */
	if (!(lv = calloc(1, sizeof(*lv))))
		return -ENOMEM;
	cap = 1;
	lv[0] = (struct walk_level){.fd = root,
				    .dev = rst.st_dev,
				    .ino = rst.st_ino,
				    .path_len = strlen(prefix)};
	r = read_names(root, &lv[0]);

	while (r >= 0) {
		struct walk_level *l = &lv[depth];
		if (l->next == l->n) {
			/* Done with this directory: back to its parent. */
			if (depth == 0)
				break;
			struct walk_level *up = &lv[depth - 1];
			int pfd = depth == 1 ? root
					     : openat(l->fd, "..",
						      O_RDONLY | O_DIRECTORY |
							      O_CLOEXEC);
			struct stat pst;
			if (pfd < 0) {
				r = -errno;
				break;
			}
			if (fstat(pfd, &pst) < 0 || pst.st_dev != up->dev ||
			    pst.st_ino != up->ino) {
				r = -ESTALE;
				if (pfd != root)
					close(pfd);
				break;
			}
			up->fd = pfd;
			struct fs_entry self = l->self;
			_cleanup_free_ char *self_name =
				steal_pointer(&l->self_name);
			walk_level_release(l, root);
			depth--;
			self.dirfd = pfd;
			self.name = self_name;
			self.path = path;
			if (post && (r = post(&self, data)) < 0)
				break;
			r = 0;
			path[up->path_len] = '\0';
			continue;
		}
		unsigned char type = (unsigned char)l->names[l->next][0];
		const char *name = l->names[l->next++] + 1;
		size_t nl = strlen(name);
		if (l->path_len + nl + 2 > path_cap) {
			path_cap = (l->path_len + nl + 2) * 2;
			char *np = realloc(path, path_cap);
			if (!np) {
				r = -ENOMEM;
				break;
			}
			path = np;
		}
		path[l->path_len] = '/';
		memcpy(path + l->path_len + 1, name, nl + 1);
		struct fs_entry e = {
			.dirfd = l->fd, .name = name, .path = path};
		uint64_t mnt = 0;
		bool mount_root = false;
		if (!(flags & FS_WALK_STAT) && type != DT_DIR &&
		    type != DT_UNKNOWN) {
			e.st.st_mode = DTTOIF(type);
		} else if ((r = stat_entry(l->fd, name, &e.st, &mnt,
					   &mount_root)) < 0) {
			if (r == -ENOENT) { /* gone meanwhile */
				r = 0;
				path[l->path_len] = '\0';
				continue;
			}
			break;
		}
		if (S_ISDIR(e.st.st_mode))
			e.mount_point = root_mnt ? mnt != root_mnt || mount_root
						 : e.st.st_dev != rst.st_dev ||
							   mount_root;
		if ((r = pre(&e, data)) < 0)
			break;
		if (r > 0 || !S_ISDIR(e.st.st_mode) || e.mount_point) {
			r = 0;
			path[l->path_len] = '\0';
			continue;
		}
		/* Into the subdirectory, if it is still the one met. */
		int cfd =
			openat(l->fd, name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat cst;
		if (cfd < 0) {
			r = -errno;
			break;
		}
		if (fstat(cfd, &cst) < 0 || cst.st_dev != e.st.st_dev ||
		    cst.st_ino != e.st.st_ino) {
			close(cfd);
			r = -ESTALE;
			break;
		}
		if (depth + 1 == cap) {
			struct walk_level *nv =
				realloc(lv, cap * 2 * sizeof(*nv));
			if (!nv) {
				close(cfd);
				r = -ENOMEM;
				break;
			}
			lv = nv;
			cap *= 2;
			l = &lv[depth];
		}
		struct walk_level *c = &lv[depth + 1];
		*c = (struct walk_level){.fd = cfd,
					 .dev = cst.st_dev,
					 .ino = cst.st_ino,
					 .path_len = l->path_len + 1 + nl,
					 .self = e,
					 .self_name = strdup(name)};
		depth++;
		if (!c->self_name) {
			r = -ENOMEM;
			break;
		}
		/* One directory open at a time: the parent is found again
		 * through "..". */
		if (l->fd != root)
			closep(&l->fd);
		l->fd = -1;
		r = read_names(cfd, c);
	}
	for (size_t i = 0; i <= depth && lv; i++)
		walk_level_release(&lv[i], root);
	free(lv);
	return r < 0 ? r : 0;
}

/* ---- rm -rf ---- */

struct rm_walk {
	int err; /* the first error; the walk goes on past it */
};

static void rm_note(struct rm_walk *w, int r)
{
	if (r < 0 && r != -ENOENT && !w->err)
		w->err = r;
}

static int rm_pre(const struct fs_entry *e, void *data)
{
	struct rm_walk *w = data;
	if (e->mount_point) {
		rm_note(w, -EBUSY); /* never into another mount */
		return 1;
	}
	if (!S_ISDIR(e->st.st_mode) && unlinkat(e->dirfd, e->name, 0) < 0)
		rm_note(w, -errno);
	return 0;
}

static int rm_post(const struct fs_entry *e, void *data)
{
	struct rm_walk *w = data;
	if (unlinkat(e->dirfd, e->name, AT_REMOVEDIR) < 0 && !w->err)
		rm_note(w, -errno);
	return 0;
}

int rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	uint64_t mnt, parent_mnt;
	bool mount_root, ignored;
	int r = stat_entry(dirfd, name, &st, &mnt, &mount_root);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno
								       : 0;
	struct stat pst;
	if ((r = stat_entry(dirfd, "", &pst, &parent_mnt, &ignored)) < 0)
		return r;
	if (mount_root ||
	    (mnt && parent_mnt ? mnt != parent_mnt : st.st_dev != pst.st_dev))
		return -EBUSY;
	_cleanup_close_ int fd = openat(
		dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct rm_walk w = {0};
	r = fs_walk(fd, "", 0, rm_pre, rm_post, &w);
	if (r < 0)
		return r;
	if (w.err)
		return w.err;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- du ---- */

struct du_walk {
	void *seen; /* tsearch tree of inodes with several links */
	uint64_t bytes;
};

static int ino_cmp(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
	return x < y ? -1 : x > y;
}

static int du_account(struct du_walk *w, const struct stat *st)
{
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		ino_t *key = malloc(sizeof(*key));
		if (!key)
			return -ENOMEM;
		*key = st->st_ino;
		ino_t **found = tsearch(key, &w->seen, ino_cmp);
		if (!found) {
			free(key);
			return -ENOMEM;
		}
		if (*found != key) {
			free(key);
			return 0;
		}
	}
	w->bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

static int du_pre(const struct fs_entry *e, void *data)
{
	int r = du_account(data, &e->st);
	return r < 0 ? r : e->mount_point;
}

int disk_usage_at(int dirfd, const char *name, uint64_t *bytes)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	struct du_walk w = {0};
	int r = du_account(&w, &st);
	if (r >= 0 && S_ISDIR(st.st_mode)) {
		int fd =
			openat(dirfd, name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = fd < 0 ? -errno
			   : fs_walk(fd, "", FS_WALK_STAT, du_pre, NULL, &w);
		if (fd >= 0)
			close(fd);
	}
	tdestroy(w.seen, free);
	if (r < 0)
		return r;
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

int is_mount_point_fd(int fd)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS, &sx) < 0)
		return -errno;
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstatat(fd, "..", &b, 0) < 0)
		return -errno;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static int mount_id_of(int fd, uint64_t *id, bool *mount_root)
{
	struct stat st;
	return stat_entry(fd, "", &st, id, mount_root);
}

/* Without openat2: one component at a time, O_NOFOLLOW, and with NO_XDEV
 * the mount id compared at each step. */
static int open_beneath_walk(int dirfd, const char *rel, int flags,
			     bool no_xdev)
{
	_cleanup_free_ char *copy = strdup(rel);
	if (!copy)
		return -ENOMEM;
	_cleanup_close_ int cur = openat(dirfd, ".", O_PATH | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	uint64_t start_mnt = 0, mnt;
	bool mount_root;
	int r;
	if (no_xdev && (r = mount_id_of(cur, &start_mnt, &mount_root)) < 0)
		return r;
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
		if (no_xdev && ((r = mount_id_of(cur, &mnt, &mount_root)) < 0 ||
				mount_root || (start_mnt && mnt != start_mnt)))
			return r < 0 ? r : -EXDEV;
		part = next;
	}
	return steal_fd(&cur);
}

static int open_beneath_short(int dirfd, const char *rel, int flags,
			      bool no_xdev)
{
	static int have_openat2 = -1;
	if (have_openat2 != 0) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
				   RESOLVE_NO_MAGICLINKS |
				   (no_xdev ? RESOLVE_NO_XDEV : 0),
		};
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS) {
			have_openat2 = 1;
			return fd >= 0 ? (int)fd : -errno;
		}
		have_openat2 = 0;
	}
	return open_beneath_walk(dirfd, rel, flags, no_xdev);
}

/* A path longer than the kernel takes in one call is resolved a part at
 * a time, each part below the directory the one before it opened. */
static int open_beneath_any(int dirfd, const char *rel, int flags, bool no_xdev)
{
	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	_cleanup_close_ int cur = -1;
	int at = dirfd;
	while (strlen(rel) >= PATH_MAX) {
		const char *cut = rel + PATH_MAX - 1;
		while (cut > rel && *cut != '/')
			cut--;
		if (cut == rel)
			return -ENAMETOOLONG; /* one name longer than that */
		_cleanup_free_ char *part = strndup(rel, (size_t)(cut - rel));
		if (!part)
			return -ENOMEM;
		int fd = open_beneath_short(at, part, O_PATH | O_DIRECTORY,
					    no_xdev);
		if (fd < 0)
			return fd == -ENOTDIR ? -ELOOP : fd;
		closep(&cur);
		at = cur = fd;
		for (rel = cut; *rel == '/'; rel++)
			;
	}
	return open_beneath_short(at, rel, flags, no_xdev);
}

int open_beneath(int dirfd, const char *rel, int flags)
{
	return open_beneath_any(dirfd, rel, flags, false);
}

int open_beneath_noxdev(int dirfd, const char *rel, int flags)
{
	return open_beneath_any(dirfd, rel, flags, true);
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
		/* Exactly two hex digits: "%2" at the end must not step past
		 * the NUL (sscanf's %2X takes one digit, a sign, "0x"). */
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

/* LEN bytes at OFF of FROM to the same place in TO. */
static int copy_range(int from, int to, off_t off, off_t len)
{
	off_t in = off, out = off;
	while (len > 0) {
		ssize_t n = copy_file_range(from, &in, to, &out, (size_t)len, 0);
		if (n == 0)
			return 0; /* FROM shrank meanwhile */
		if (n > 0) {
			len -= n;
			continue;
		}
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP)
			return -errno;
		char buf[65536];
		while (len > 0) {
			ssize_t rd = pread(from, buf,
					   len < (off_t)sizeof(buf) ? (size_t)len
								     : sizeof(buf),
					   in);
			if (rd <= 0)
				return rd < 0 ? -errno : 0;
			ssize_t wr = pwrite(to, buf, (size_t)rd, out);
			if (wr != rd)
				return wr < 0 ? -errno : -ENOSPC;
			in += rd, out += rd, len -= rd;
		}
	}
	return 0;
}

bool same_bytes(int a, int b)
{
	struct stat x, y;
	if (fstat(a, &x) < 0 || fstat(b, &y) < 0 || x.st_size != y.st_size)
		return false;
	char p[8192], q[8192];
	for (off_t off = 0; off < x.st_size;) {
		ssize_t n = pread(a, p, sizeof(p), off);
		if (n <= 0 || pread(b, q, (size_t)n, off) != n ||
		    memcmp(p, q, (size_t)n))
			return false;
		off += n;
	}
	return true;
}

int copy_bytes(int from, int to)
{
	struct stat st;
	if (fstat(from, &st) < 0)
		return -errno;
	/* Only the data: a hole stays a hole (SEEK_DATA and SEEK_HOLE; a
	 * file system without them reports all data). */
	off_t data = 0;
	for (;;) {
		data = lseek(from, data, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		off_t hole = data < 0 ? -1 : lseek(from, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {
			if (errno != EINVAL && errno != EOPNOTSUPP)
				return -errno;
			data = 0, hole = st.st_size; /* no SEEK_DATA */
		}
		int r = copy_range(from, to, data, hole - data);
		if (r < 0)
			return r;
		if (hole >= st.st_size)
			break;
		data = hole;
	}
	return ftruncate(to, st.st_size) < 0 ? -errno : 0;
}
