/* Unit tests of the file-system helpers, in a private temporary directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/fsutil.h"
#include "tap.h"

static char tmp[] = "/tmp/pwapt-unit.XXXXXX";

static void test_atomic_write(int dfd)
{
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
	ok(faccessat(dfd, ".f.tmp", F_OK, 0) < 0, "no temporary file remains");
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
	test_rm_rf(dfd);
	test_disk_usage(dfd);
	test_path_join();
	test_path_unescape();
	rm_rf_at(AT_FDCWD, tmp);
	close(dfd);
	return tap_done();
}
