/* Small file-system helpers shared by the parts of libworld.  All take a
 * directory fd first and resolve names beneath it; all return 0 or -errno. */
#ifndef PWAPT_FSUTIL_H
#define PWAPT_FSUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Writes DATA to NAME in DIRFD atomically: a temporary file beside it,
 * fsync, rename over NAME, fsync of the directory. */
int write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
		      mode_t mode);
/* Reads a whole (small) file; *out is NUL-terminated and malloc'd. */
int read_file_at(int dirfd, const char *name, char **out, size_t *len);
/* mkdir -p of an absolute PATH. */
int mkdir_p(const char *path, mode_t mode);
/* Removes NAME in DIRFD and everything below it, never following symlinks
 * and never crossing into another mount (a mount point is an error). */
int rm_rf_at(int dirfd, const char *name);
/* Disk usage (allocated bytes) of the tree NAME in DIRFD, hard links once. */
int disk_usage_at(int dirfd, const char *name, uint64_t *bytes);
/* Whether PATH is a mount point (compares mount ids). */
int is_mount_point(const char *path);
/* Opens REL (relative, no "..") beneath DIRFD without following any
 * symbolic link on the way or at the end: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or a walk one component at
 * a time with O_NOFOLLOW where the kernel has no openat2.  A symlink on the
 * way is -ELOOP; FLAGS as for openat (O_PATH to examine a symlink). */
int open_beneath(int dirfd, const char *rel, int flags);
/* Paths in line-oriented state files: bytes <= ' ', '%' and DEL as %XX. */
void path_escape(FILE *f, const char *path);
char *path_unescape(const char *escaped);
/* Copies the whole file FROM to the empty file TO: its data ranges only
 * (SEEK_DATA, SEEK_HOLE), so that holes stay holes, each by
 * copy_file_range (which may share blocks) or read and write. */
int copy_bytes(int from, int to);
/* Joins A and B with one '/'; returns malloc'd string or NULL. */
char *path_join(const char *a, const char *b);

#endif
