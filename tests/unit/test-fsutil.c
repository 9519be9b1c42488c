/* Unit tests of the file-system helpers, in a private temporary directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/fsutil.h"
#include "tap.h"

static char tmp[] = "/tmp/pwapt-unit.XXXXXX";

/* The names in directory DFD, each followed by '/', in readdir order. */
static void list_dir(int dfd, char *buf, size_t size)
{
	buf[0] = '\0';
	DIR *d = fdopendir(openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			strncat(buf, e->d_name, size - strlen(buf) - 1);
			strncat(buf, "/", size - strlen(buf) - 1);
		}
	}
	closedir(d);
}

static void test_atomic_write(int top)
{
	/* In a directory of its own: afterwards it must hold f and nothing
	 * else, whatever a temporary file is named. */
	mkdirat(top, "atomic", 0755);
	_cleanup_close_ int dfd =
		openat(top, "atomic", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(write_file_atomic(dfd, "f", "one", 3, 0640) == 0, "first write");
	ok(write_file_atomic(dfd, "f", "second", 6, 0640) == 0,
	   "write over an existing file");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	ok(read_file_at(dfd, "f", &text, &len) == 0 && len == 6 &&
		   !strcmp(text, "second"),
	   "the file holds the last write, whole");
	struct stat st;
	ok(fstatat(dfd, "f", &st, 0) == 0 && (st.st_mode & 07777) == 0640,
	   "mode as asked");
	char names[256];
	list_dir(dfd, names, sizeof(names));
	ok(!strcmp(names, "f/"), "no temporary file remains (found: %s)", names);
}

/* A state file holds a line per path of a merge ("after", known-ctimes):
 * read whole whatever its size, not cut at some bound. */
static void test_read_big(int dfd)
{
	const off_t size = (off_t)20 << 20; /* past the 16 MiB once read */
	_cleanup_close_ int fd = openat(
		dfd, "big", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok(fd >= 0 && ftruncate(fd, size - 4) == 0 &&
		   pwrite(fd, "end\n", 4, size - 4) == 4,
	   "a file of 20 MiB");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(dfd, "big", &text, &len);
	ok(r == 0 && len == (size_t)size && !strcmp(text + size - 4, "end\n"),
	   "read whole (%s, %zu bytes)", strerror(r < 0 ? -r : 0), len);
	unlinkat(dfd, "big", 0);
	_cleanup_free_ char *status = NULL;
	ok(read_file_at(AT_FDCWD, "/proc/self/status", &status, &len) == 0 &&
		   len > 0 && !strncmp(status, "Name:", 5),
	   "a /proc file, whose size says nothing, is read too");
}

/* A file a world controls: read up to a bound, never by its claimed size
 * (a sparse file of gigabytes costs nothing to make), never blocking on a
 * FIFO put in its place. */
static void test_read_max(int dfd)
{
	_cleanup_close_ int fd = openat(
		dfd, "huge", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok(fd >= 0 && ftruncate(fd, (off_t)8 << 30) == 0,
	   "a sparse file of 8 GiB");
	_cleanup_free_ char *text = NULL, *small = NULL;
	size_t len = 0;
	ok(read_file_max(dfd, "huge", (size_t)1 << 20, &text, &len) == -EFBIG &&
		   !text,
	   "past the bound: -EFBIG, nothing read");
	ok(ftruncate(fd, 5) == 0 && pwrite(fd, "1234\n", 5, 0) == 5 &&
		   read_file_max(dfd, "huge", 5, &small, &len) == 0 &&
		   len == 5 && !strcmp(small, "1234\n"),
	   "up to the bound: read whole");
	unlinkat(dfd, "huge", 0);
	ok(mkfifoat(dfd, "fifo", 0600) == 0 &&
		   read_file_max(dfd, "fifo", 100, &text, &len) == -EINVAL,
	   "a FIFO: -EINVAL, without blocking");
	ok(read_file_at(dfd, "fifo", &text, &len) == -EINVAL &&
		   open_file_beneath(dfd, "fifo") == -EINVAL,
	   "a FIFO read by read_file_at, open_file_beneath: -EINVAL, "
	   "without blocking");
	unlinkat(dfd, "fifo", 0);
	/* A world's device node is never opened on the host (the open of a
	 * watchdog is enough to arm it): inotify sees every open of it. */
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	struct inotify_event ev[8];
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/null", tmp);
	ok(mknodat(dfd, "null", S_IFCHR | 0600, makedev(1, 3)) == 0 && in >= 0 &&
		   inotify_add_watch(in, path, IN_OPEN) >= 0 &&
		   read_file_max(dfd, "null", 100, &text, &len) == -EINVAL &&
		   read_file_at(dfd, "null", &text, &len) == -EINVAL &&
		   open_file_beneath(dfd, "null") == -EINVAL &&
		   read(in, ev, sizeof(ev)) < 0 && errno == EAGAIN,
	   "a device node: -EINVAL, never opened");
	int opened = open(path, O_RDONLY | O_CLOEXEC);
	ok(opened >= 0 && read(in, ev, sizeof(ev)) > 0,
	   "an open of it is seen (the check above can fail)");
	if (opened >= 0)
		close(opened);
	ok(symlinkat("null", dfd, "link") == 0 &&
		   read_file_at(dfd, "link", &text, &len) == -ELOOP &&
		   read_file_max(dfd, "link", 100, &text, &len) == -ELOOP,
	   "a symbolic link: -ELOOP, as O_NOFOLLOW says");
	unlinkat(dfd, "link", 0);
	unlinkat(dfd, "null", 0);
	close(in);
}

static void test_rm_rf(int dfd)
{
	/* victim/ holds a symlink to outside/ and a subtree; rm_rf_at must
	 * remove the link, never what it points to. */
	mkdirat(dfd, "outside", 0755);
	close(openat(dfd, "outside/precious", O_CREAT | O_WRONLY, 0644));
	mkdirat(dfd, "victim", 0755);
	mkdirat(dfd, "victim/sub", 0755);
	mkdirat(dfd, "victim/sub/deeper", 0755);
	close(openat(dfd, "victim/sub/deeper/file", O_CREAT | O_WRONLY, 0644));
	char target[256];
	snprintf(target, sizeof(target), "%s/outside", tmp);
	symlinkat(target, dfd, "victim/link-out");
	symlinkat("../outside", dfd, "victim/sub/rel-out");

	ok(rm_rf_at(dfd, "victim") == 0, "rm_rf_at removes a tree");
	ok(faccessat(dfd, "victim", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
	   "the tree is gone");
	ok(faccessat(dfd, "outside/precious", F_OK, 0) == 0,
	   "symlinks were not followed");
	ok(rm_rf_at(dfd, "does-not-exist") == 0, "a missing tree is no error");
}

static void test_disk_usage(int dfd)
{
	mkdirat(dfd, "du", 0755);
	int fd = openat(dfd, "du/a", O_CREAT | O_WRONLY, 0644);
	char block[65536];
	memset(block, 'x', sizeof(block));
	ok(write(fd, block, sizeof(block)) == (ssize_t)sizeof(block),
	   "write 64 KiB");
	fsync(fd);
	close(fd);
	uint64_t one = 0, two = 0;
	ok(disk_usage_at(dfd, "du", &one) == 0 && one >= 65536,
	   "usage counts the file (%llu)", (unsigned long long)one);
	linkat(dfd, "du/a", dfd, "du/b", 0);
	ok(disk_usage_at(dfd, "du", &two) == 0 && two == one,
	   "a hard link is counted once (%llu)", (unsigned long long)two);
}

/* A chain of DEPTH directories named NAME below DIRFD, a file "f" at the
 * bottom; the path is built one directory at a time, never as a string. */
static int make_deep(int dirfd, const char *name, int depth)
{
	int cur = dup(dirfd);
	for (int i = 0; cur >= 0 && i < depth; i++) {
		int next = mkdirat(cur, name, 0755) == 0
				   ? openat(cur, name, O_RDONLY | O_DIRECTORY)
				   : -1;
		close(cur);
		cur = next;
	}
	if (cur < 0)
		return -1;
	int f = openat(cur, "f", O_CREAT | O_WRONLY, 0644);
	close(cur);
	if (f < 0)
		return -1;
	close(f);
	return 0;
}

struct count {
	int entries, dirs_after, longest;
};

static int count_pre(const struct fs_entry *e, void *data)
{
	struct count *c = data;
	c->entries++;
	if ((int)strlen(e->path) > c->longest)
		c->longest = (int)strlen(e->path);
	return 0;
}

static int count_post(const struct fs_entry *e, void *data)
{
	((struct count *)data)->dirs_after++;
	return 0;
}

/* Paths beyond PATH_MAX, walked with few descriptors to spare. */
static void test_deep(int dfd)
{
	char name[201];
	memset(name, 'n', 200);
	name[200] = '\0';
	mkdirat(dfd, "deep", 0755);
	int deep = openat(dfd, "deep", O_RDONLY | O_DIRECTORY);
	ok(make_deep(deep, name, 40) == 0, "a tree 40 x 200 bytes deep");
	/* 300 levels of short names too: depth, not length. */
	ok(make_deep(deep, "d", 300) == 0, "a tree 300 directories deep");

	struct rlimit old, few = {.rlim_cur = 12};
	getrlimit(RLIMIT_NOFILE, &old);
	few.rlim_max = old.rlim_max;
	ok(setrlimit(RLIMIT_NOFILE, &few) == 0, "at most 12 descriptors");

	struct count c = {0};
	ok(fs_walk(deep, "/deep", 0, count_pre, count_post, &c) == 0 &&
		   c.entries == 40 + 1 + 300 + 1 && c.dirs_after == 340,
	   "fs_walk meets every entry, parents before and after (%d, %d)",
	   c.entries, c.dirs_after);
	ok(c.longest > PATH_MAX, "its paths go beyond PATH_MAX (%d)",
	   c.longest);

	char *rel = malloc(40 * 201 + 2), *w = rel;
	for (int i = 0; i < 40; i++)
		w += sprintf(w, "%s/", name);
	strcpy(w, "f");
	int f = open_beneath(deep, rel, O_RDONLY);
	ok(f >= 0, "open_beneath opens a path of %zu bytes (%d)", strlen(rel),
	   f);
	if (f >= 0)
		close(f);
	f = open_beneath_noxdev(deep, rel, O_PATH);
	ok(f >= 0, "so does open_beneath_noxdev");
	if (f >= 0)
		close(f);
	free(rel);

	uint64_t bytes = 0;
	ok(disk_usage_at(dfd, "deep", &bytes) == 0 && bytes > 0,
	   "disk_usage_at at any depth");
	ok(rm_rf_at(dfd, "deep") == 0 &&
		   faccessat(dfd, "deep", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
	   "rm_rf_at removes it all");
	setrlimit(RLIMIT_NOFILE, &old);
	close(deep);
}

/* A bind mount of the same file system inside a tree to remove: its
 * st_dev is the tree's, only its mount id tells it apart. */
static void test_rm_rf_bind_mount(int dfd)
{
	char src[300], dst[300];
	mkdirat(dfd, "bindsrc", 0755);
	close(openat(dfd, "bindsrc/precious", O_CREAT | O_WRONLY, 0644));
	mkdirat(dfd, "tree", 0755);
	mkdirat(dfd, "tree/sub", 0755);
	mkdirat(dfd, "tree/sub/mnt", 0755);
	close(openat(dfd, "tree/sub/file", O_CREAT | O_WRONLY, 0644));
	snprintf(src, sizeof(src), "%s/bindsrc", tmp);
	snprintf(dst, sizeof(dst), "%s/tree/sub/mnt", tmp);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
		printf("ok %d # SKIP cannot bind mount (needs root)\n",
		       ++tap_n);
		return;
	}
	ok(rm_rf_at(dfd, "tree") == -EBUSY, "a mount below is -EBUSY");
	ok(faccessat(dfd, "bindsrc/precious", F_OK, 0) == 0,
	   "what the bind mount shows survives");
	ok(faccessat(dfd, "tree/sub/file", F_OK, 0) < 0,
	   "the rest of the tree is gone");
	ok(rm_rf_at(dfd, "tree/sub/mnt") == -EBUSY,
	   "a mount point itself is -EBUSY");
	umount2(dst, MNT_DETACH);
	ok(rm_rf_at(dfd, "tree") == 0, "once unmounted, it goes");
}

static void test_path_join(void)
{
	_cleanup_free_ char *a = path_join("/", "etc");
	_cleanup_free_ char *b = path_join("/var/lib/", "/pwapt");
	_cleanup_free_ char *c = path_join("x", "y/z");
	ok(a && !strcmp(a, "/etc"), "'/' + 'etc'");
	ok(b && !strcmp(b, "/var/lib/pwapt"), "slashes are not doubled");
	ok(c && !strcmp(c, "x/y/z"), "relative");
}

static void test_path_unescape(void)
{
	_cleanup_free_ char *a = path_unescape("a%20b%25");
	_cleanup_free_ char *b = path_unescape("cut%2");
	_cleanup_free_ char *c = path_unescape("x%+1%zz%");
	ok(a && !strcmp(a, "a b%"), "percent and two hex digits decoded");
	ok(b && !strcmp(b, "cut%2"), "a percent sign with one digit at the end stays");
	ok(c && !strcmp(c, "x%+1%zz%"), "a percent sign without two hex digits stays");
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	test_atomic_write(dfd);
	test_read_big(dfd);
	test_read_max(dfd);
	test_rm_rf(dfd);
	test_disk_usage(dfd);
	test_deep(dfd);
	test_rm_rf_bind_mount(dfd);
	test_path_join();
	test_path_unescape();
	rm_rf_at(AT_FDCWD, tmp);
	close(dfd);
	return tap_done();
}
