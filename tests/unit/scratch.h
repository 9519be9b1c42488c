/* A scratch directory and state store for the unit tests that build trees
 * and mount overlays (test-layers, test-diff, test-plan).  The process gets
 * a mount namespace of its own, private, so that no mount of a test shows
 * on the host or outlives it; the directory, made under /tmp, goes at exit
 * with whatever is still mounted below it. */
#ifndef PWAPT_TEST_SCRATCH_H
#define PWAPT_TEST_SCRATCH_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/fsutil.h"
#include "../../world/store.h"
#include "tap.h"

static char scratch[] = "/tmp/pwapt-unit.XXXXXX";
static struct world_store store = {
	.state_fd = -1, .worlds_fd = -1, .lock_fd = -1};

/* A path below the scratch directory (static buffers, a few at a time). */
static inline const char *sp(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	int n = snprintf(b, PATH_MAX, "%s/", scratch);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, (size_t)(PATH_MAX - n), fmt, ap);
	va_end(ap);
	return b;
}

static inline void die(const char *what)
{
	printf("# %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Unmounts everything at or below DIR, deepest first. */
static inline void unmount_below(const char *dir)
{
	for (int round = 0; round < 8; round++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096], best[PATH_MAX] = "";
		while (f && fgets(line, sizeof(line), f)) {
			char mp[PATH_MAX];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
				continue;
			size_t n = strlen(dir);
			if (!strncmp(mp, dir, n) && (mp[n] == '/' || !mp[n]) &&
			    strlen(mp) > strlen(best))
				snprintf(best, sizeof(best), "%s", mp);
		}
		if (f)
			fclose(f);
		if (!*best || umount2(best, MNT_DETACH) < 0)
			return;
		round = 0;
	}
}

static inline void store_release(void)
{
	if (store.state_fd >= 0)
		close(store.state_fd);
	if (store.worlds_fd >= 0)
		close(store.worlds_fd);
	free(store.root);
	free(store.state);
	free(store.worlds);
	store = (struct world_store){
		.state_fd = -1, .worlds_fd = -1, .lock_fd = -1};
}

static inline void scratch_cleanup(void)
{
	store_release();
	unmount_below(scratch);
	rm_rf_at(AT_FDCWD, scratch);
}

/* Makes the scratch directory in a private mount namespace; 0, or skips
 * the whole file (returns 1) when that cannot be (not root). */
static inline int scratch_init(void)
{
	if (geteuid() != 0) {
		tap_skip_all("needs root (mounts, trusted xattrs, mknod)");
		return 1;
	}
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("private mount namespace");
	if (!mkdtemp(scratch))
		die("mkdtemp");
	atexit(scratch_cleanup);
	return 0;
}

/* mkdir -p of a path below the scratch directory. */
static inline void mk(const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	if (mkdir_p(sp("%s", p), 0755) < 0)
		die(p);
}

/* Writes TEXT as the file PATH below the scratch directory. */
static inline void put_file(const char *path, const char *text)
{
	int fd = open(sp("%s", path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

/* An overlayfs whiteout (a character device 0/0) at PATH. */
static inline void whiteout(const char *path)
{
	if (mknod(sp("%s", path), S_IFCHR | 0, makedev(0, 0)) < 0)
		die(path);
}

static inline void set_xattr(const char *path, const char *name,
			     const char *value)
{
	if (lsetxattr(sp("%s", path), name, value, strlen(value), 0) < 0)
		die(path);
}

/* The store: Root's directory and the state directory, below the scratch
 * directory (made when missing). */
static inline void store_init(const char *root, const char *state)
{
	mk("%s", root);
	mk("%s/worlds", state);
	store_release();
	store.root = strdup(sp("%s", root));
	store.state = strdup(sp("%s", state));
	store.worlds = strdup(sp("%s/worlds", state));
	store.state_fd = open(store.state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	store.worlds_fd =
		open(store.worlds, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (store.state_fd < 0 || store.worlds_fd < 0)
		die(store.state);
}

/* The metadata of world NAME, ready, over PARENTS (NULL-terminated), with
 * layers for Root's file systems MOUNTS (NULL-terminated or NULL). */
static inline void make_world(const char *name, const char *const *parents,
			      const char *const *mounts)
{
	struct world_meta m = {.name = (char *)name, .phase = META_READY};
	for (; parents[m.n_parents]; m.n_parents++)
		;
	for (; mounts && mounts[m.n_mounts]; m.n_mounts++)
		;
	m.parents = (char **)parents;
	m.mounts = m.n_mounts ? (char **)mounts : NULL;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	m.created = now.tv_sec;
	m.created_ns = (int32_t)now.tv_nsec;
	struct world_error err = {0};
	if (mkdirat(store.worlds_fd, name, 0700) < 0 && errno != EEXIST)
		die(name);
	if (meta_save(&store, &m, &err) < 0) {
		printf("# meta_save %s: %s\n", name, err.msg);
		exit(1);
	}
}

/* Whether PATH below the scratch directory is a mount point. */
static inline bool mounted_at(const char *path)
{
	return is_mount_point(sp("%s", path)) > 0;
}

#endif
