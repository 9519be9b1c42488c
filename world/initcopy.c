/* The copy of pwapt-init that containers run (initcopy.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "initcopy.h"
#include "store.h"

/* Whether the state directory's copy of pwapt-init, open as FD with
 * status *ST, is as pwapt writes it: root's, mode 0555, one link, no xattr
 * (no capability). */
static bool init_copy_sound(int fd, const struct stat *st)
{
	return S_ISREG(st->st_mode) && (st->st_mode & 07777) == 0555 &&
	       st->st_uid == 0 && st->st_gid == 0 && st->st_nlink == 1 &&
	       flistxattr(fd, NULL, 0) == 0;
}

/* Whether the copy holds DATA (LEN bytes) and is sound; its status goes
 * to *ST.  A world that changed it gets it written anew. */
static bool init_copy_intact(struct world_store *s, const char *data,
			     size_t len, struct stat *st)
{
	_cleanup_close_ int fd = openat(s->state_fd, "pwapt-init",
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st) < 0 || !init_copy_sound(fd, st) ||
	    (size_t)st->st_size != len)
		return false;
	_cleanup_free_ char *now = malloc(len ? len : 1);
	size_t got = 0;
	while (now && got < len) {
		ssize_t n = pread(fd, now + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return now && !memcmp(now, data, len);
}

/* The stamp of the copy: the host's program (device, inode, size, mtime,
 * ctime) and the copy (inode, size, ctime) as they were when the copy was
 * last found to hold the program's bytes.  Any write, chmod, chown or
 * xattr of either file since changes a ctime, which no process can set
 * back (a world has no CAP_SYS_TIME, and ctime follows the clock). */
static void init_stamp(char *buf, size_t size, const struct stat *host,
		       const struct stat *copy)
{
	snprintf(buf, size,
		 "pwapt-init-stamp 1\nhost %ju %ju %jd %jd.%09ld %jd.%09ld\n"
		 "copy %ju %jd %jd.%09ld\n",
		 (uintmax_t)host->st_dev, (uintmax_t)host->st_ino,
		 (intmax_t)host->st_size, (intmax_t)host->st_mtim.tv_sec,
		 host->st_mtim.tv_nsec, (intmax_t)host->st_ctim.tv_sec,
		 host->st_ctim.tv_nsec, (uintmax_t)copy->st_ino,
		 (intmax_t)copy->st_size, (intmax_t)copy->st_ctim.tv_sec,
		 copy->st_ctim.tv_nsec);
}

#define INIT_STAMP "pwapt-init.stamp"

/* Whether the stamp vouches for the copy: both files as stamped, the copy
 * sound.  Then neither needs reading (750 KB, at every container start). */
static bool init_stamp_holds(struct world_store *s, const struct stat *host)
{
	_cleanup_free_ char *saved = NULL;
	if (read_file_at(s->state_fd, INIT_STAMP, &saved, NULL) < 0)
		return false;
	_cleanup_close_ int fd = openat(s->state_fd, "pwapt-init",
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat copy;
	if (fd < 0 || fstat(fd, &copy) < 0 || !init_copy_sound(fd, &copy))
		return false;
	char now[256];
	init_stamp(now, sizeof(now), host, &copy);
	return !strcmp(saved, now);
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* pwapt-init for the containers: a copy of the store's in the state
 * directory, whose path goes to *OUT (malloc'd).  A world is root in its
 * mount namespace and may remount its bind mount read-write: it then
 * changes the copy, never the host's program (a chmod, a setuid bit, file
 * capabilities), and the next container start finds the copy changed and
 * writes it afresh (a new inode renamed into place; a running container
 * keeps the one it started with).  The copy is compared byte by byte
 * only when its stamp (init_stamp) does not vouch for it. */
int initcopy_prepare(struct world_store *s, char **out,
		     struct world_error *err)
{
	struct stat host, after, copy;
	if (stat(s->init, &host) < 0)
		return werr_errno(err, errno,
				  "cannot read pwapt-init '%s' (set PWAPT_INIT "
				  "or reinstall pwapt)",
				  s->init);
	if (!init_stamp_holds(s, &host)) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		int r = read_file_at(AT_FDCWD, s->init, &data, &len);
		if (r < 0)
			return werr_errno(err, -r,
					  "cannot read pwapt-init '%s' (set "
					  "PWAPT_INIT or reinstall pwapt)",
					  s->init);
		if (!init_copy_intact(s, data, len, &copy)) {
			r = write_file_replace(s->state_fd, "pwapt-init", data,
					       len, 0555);
			if (r < 0)
				return werr_errno(err, -r,
						  "cannot copy pwapt-init into "
						  "%s",
						  s->state);
			if (fstatat(s->state_fd, "pwapt-init", &copy,
				    AT_SYMLINK_NOFOLLOW) < 0)
				copy.st_ino = 0;
		}
		/* Stamped only when the program did not change while it
		 * was read, and not within the last two seconds: a change
		 * in the same tick of the file system's clock would keep
		 * its ctime (as git's "racy" index entries). */
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		char stamp[256];
		if (copy.st_ino && stat(s->init, &after) == 0 &&
		    same_file_state(&host, &after) &&
		    (size_t)host.st_size == len &&
		    host.st_ctim.tv_sec + 2 < now.tv_sec) {
			init_stamp(stamp, sizeof(stamp), &host, &copy);
			/* Not synced: a stamp lost costs a comparison. */
			(void)write_file_replace(s->state_fd, INIT_STAMP, stamp,
						 strlen(stamp), 0600);
		} else {
			(void)unlinkat(s->state_fd, INIT_STAMP, 0);
		}
	}
	if (asprintf(out, "%s/pwapt-init", s->state) < 0)
		return werr(err, ENOMEM, "out of memory");
	return 0;
}
