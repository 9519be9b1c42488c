/* Small file-system helpers shared by the parts of libworld.  All take a
 * directory fd first and resolve names beneath it; all return 0 or -errno. */
#ifndef PWAPT_FSUTIL_H
#define PWAPT_FSUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Writes DATA to NAME in DIRFD atomically: a temporary file beside it,
 * fsync, rename over NAME, fsync of the directory. */
int write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
		      mode_t mode);
/* The same without the fsync of the directory: after a power loss NAME
 * holds the old content or the new, whole, never a torn file; the caller
 * makes the rename durable (a later syncfs) before anything depends on
 * it. */
int write_file_whole(int dirfd, const char *name, const char *data, size_t len,
		     mode_t mode);
/* The same without the fsyncs: atomic for a killed process (NAME is the
 * old or the new content), not across a power loss until the caller makes
 * it durable (syncfs of the file system, for several files at once). */
int write_file_replace(int dirfd, const char *name, const char *data,
		       size_t len, mode_t mode);
/* Reads a whole file; *out is NUL-terminated and malloc'd.  A regular
 * file of any size (and up to 16 MiB more, grown while it is read); a file
 * whose size says nothing (/proc) up to 16 MiB; past that -EFBIG. */
int read_file_at(int dirfd, const char *name, char **out, size_t *len);
/* The same for a file that a world controls (a world's tree, a file that
 * unlocked hooks append to): a regular file of at most MAX bytes (none
 * bigger is read: its size decides first, its growth while it is read
 * too), -EFBIG past that, -EINVAL for another type; never blocks on a
 * FIFO. */
int read_file_max(int dirfd, const char *name, size_t max, char **out,
		  size_t *len);
/* mkdir -p of an absolute PATH. */
int mkdir_p(const char *path, mode_t mode);
/* One entry that fs_walk meets: NAME in directory DIRFD (both valid only
 * during the call), PATH the walk's PREFIX/.../NAME, ST its lstat.  A
 * MOUNT_POINT is a directory on another mount than the walk's start (its
 * mount id differs, a bind mount of the same file system too): never
 * entered. */
struct fs_entry {
	int dirfd;
	const char *name;
	const char *path;
	struct stat st;
	bool mount_point;
};
/* Walks the tree below directory DIRFD (not closed), parents before
 * children.  PRE sees every entry: a return > 0 keeps the walk out of a
 * directory, < 0 ends the walk with it.  POST (may be NULL) sees each
 * directory entered, after what lies below it.  ST is a directory's whole
 * status; of other entries only the type, unless FLAGS has FS_WALK_STAT.
 * Any depth and path length, with two descriptors of its own; never
 * follows a symlink, never enters another mount.  An error (a directory
 * that cannot be read; -ESTALE: the tree moved while it was walked) ends
 * the walk: nothing is skipped silently. */
enum { FS_WALK_STAT = 1u << 0 };
int fs_walk(int dirfd, const char *prefix, unsigned flags,
	    int (*pre)(const struct fs_entry *e, void *data),
	    int (*post)(const struct fs_entry *e, void *data), void *data);
/* Removes NAME in DIRFD and everything below it, never following symlinks
 * and never entering another mount: a mount point below NAME (a bind mount
 * of the same file system too) and all it holds stay, and the result is
 * -EBUSY; NAME itself a mount point is -EBUSY.  Any depth. */
int rm_rf_at(int dirfd, const char *name);
/* Disk usage (allocated bytes) of the tree NAME in DIRFD, hard links once,
 * mounts below it left out. */
int disk_usage_at(int dirfd, const char *name, uint64_t *bytes);
/* Whether PATH is a mount point (compares mount ids). */
int is_mount_point(const char *path);
/* The same of the directory FD is open on (O_PATH will do): what was
 * opened, not what a path names later. */
int is_mount_point_fd(int fd);
/* Opens REL (relative, no "..") beneath DIRFD without following any
 * symbolic link on the way or at the end: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or a walk one component at
 * a time with O_NOFOLLOW where the kernel has no openat2.  A symlink on the
 * way is -ELOOP; FLAGS as for openat (O_PATH to examine a symlink). */
int open_beneath(int dirfd, const char *rel, int flags);
/* open_beneath(O_RDONLY) of a regular file only, looked at before it is
 * opened: a world's FIFO or device node is never opened on the host (a
 * FIFO blocks, a watchdog arms), -EINVAL.  The fd or -errno. */
int open_file_beneath(int dirfd, const char *rel);
/* What PATH (an O_PATH fd, no symbolic link followed) is, opened with
 * FLAGS when it is a regular file: -ELOOP for a link, -EINVAL for the
 * rest, as open_file_beneath().  The fd or -errno. */
int reopen_regular(int path, int flags);
/* The same as open_beneath, and -EXDEV where REL crosses into another mount.  Both take
 * paths of any length (resolved a part at a time beyond PATH_MAX). */
int open_beneath_noxdev(int dirfd, const char *rel, int flags);
/* The status of NAME, one name, in directory DIRFD ("" for DIRFD itself),
 * never following a symbolic link; *MOUNT_ROOT: it is the root of another
 * mount.
 * -EOPNOTSUPP where the kernel cannot tell that (before 5.8). */
int stat_name_noxdev(int dirfd, const char *name, struct stat *st,
		     bool *mount_root);
/* Paths in line-oriented state files: bytes <= ' ', '%' and DEL as %XX. */
void path_escape(FILE *f, const char *path);
char *path_unescape(const char *escaped);
/* Copies the whole file FROM to the empty file TO: its data ranges only
 * (SEEK_DATA, SEEK_HOLE), so that holes stay holes, each by
 * copy_file_range (which may share blocks) or read and write. */
int copy_bytes(int from, int to);
/* Whether the regular files A and B hold the same bytes (read with pread:
 * their offsets stay); false on any error. */
bool same_bytes(int a, int b);
/* Joins A and B with one '/'; returns malloc'd string or NULL. */
char *path_join(const char *a, const char *b);

#endif
