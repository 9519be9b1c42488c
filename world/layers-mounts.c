/* Whether anything is mounted in a world's tree but its own overlays:
 * asked of the kernel with listmount(2) (Linux 6.8), which lists the mounts
 * on one mount, else read from the mount table (layers_mount_inside()),
 * whose whole text the kernel writes for every reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "fsutil.h"
#include "layers.h"
#include "strv.h"

/* Linux 6.8's, which Debian 12's headers lack. */
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#if !defined(__NR_listmount) && (defined(__x86_64__) || defined(__aarch64__))
#define __NR_listmount 458
#endif

struct mnt_req { /* struct mnt_id_req, its first version */
	uint32_t size, spare;
	uint64_t mnt_id, param;
};

/* The unique id of the mount FD is the root of: 0 when it is no mount's
 * root, -ENOSYS when the kernel has no such ids, or -errno. */
static int64_t mount_id(int fd)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		  STATX_MNT_ID_UNIQUE, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID_UNIQUE) ||
	    !(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -ENOSYS;
	if (!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return 0;
	return (int64_t)sx.stx_mnt_id;
}

/* Whether every mount on one of the N mounts IDS is one of them: 1, 0, or
 * -errno (-ENOSYS: no listmount). */
static int only_these(const uint64_t *ids, size_t n)
{
#ifdef __NR_listmount
	for (size_t i = 0; i < n; i++) {
		uint64_t on[64];
		struct mnt_req req = {.size = sizeof(req), .mnt_id = ids[i]};
		int r = crash_fail("listmount", ENOSYS);
		long got = r ? (errno = -r, -1)
			     : syscall(__NR_listmount, &req, on,
				       sizeof(on) / sizeof(*on), 0);
		if (got < 0)
			return -errno;
		if ((size_t)got == sizeof(on) / sizeof(*on))
			return 0; /* more than a world holds */
		for (long k = 0; k < got; k++) {
			bool ours = false;
			for (size_t j = 0; j < n && !ours; j++)
				ours = on[k] == ids[j];
			if (!ours)
				return 0;
		}
	}
	return 1;
#else
	(void)ids;
	(void)n;
	return -ENOSYS;
#endif
}

/* The same from the mount table: FDS mounts' roots, and no mount strictly
 * below tree FDS[0] but one at each of FDS[1..N-1]. */
static int only_these_in_table(const int *fds, size_t n)
{
	_cleanup_strv_ struct strv paths = {0};
	for (size_t i = 0; i < n; i++) {
		int m = is_mount_point_fd(fds[i]);
		if (m <= 0)
			return m;
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		ssize_t l = readlink(link, path, sizeof(path) - 1);
		if (l <= 0)
			return l < 0 ? -errno : -EINVAL;
		path[l] = '\0';
		if (strv_push(&paths, strdup(path)) < 0)
			return -ENOMEM;
	}
	int r = layers_mount_inside(paths.v[0], paths.v + 1);
	return r < 0 ? r : !r;
}

int layers_mounts_only(const int *fds, size_t n)
{
	_cleanup_free_ uint64_t *ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int64_t id = mount_id(fds[i]);
		if (id == -ENOSYS)
			return only_these_in_table(fds, n);
		if (id <= 0)
			return id < 0 ? (int)id : 0; /* no mount of its own */
		ids[i] = (uint64_t)id;
	}
	/* listmount refused (ENOSYS before 6.8, or a seccomp filter's
	 * EPERM): the table tells. */
	int r = only_these(ids, n);
	return r < 0 && r != -ENOMEM ? only_these_in_table(fds, n) : r;
}
