/* Unit tests of save.c's owner and mode: set on the node the merge made,
 * never on what its name leads to once swapped for a symlink (a user who
 * may write DST's directory can swap it meanwhile). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/fsutil.h"
#include "../../world/save.h"
#include "tap.h"

static char tmp[] = "/tmp/pwapt-unit.XXXXXX";

static mode_t mode_of(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0
		       ? (mode_t)-1
		       : st.st_mode & 07777;
}

static void test_plain(int dfd)
{
	struct stat st = {
		.st_mode = S_IFREG | 04755, .st_uid = 1234, .st_gid = 4321};
	close(openat(dfd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	ok(save_set_owner_mode(dfd, "f", &st) == 0,
	   "a file: owner and mode set");
	struct stat now;
	ok(fstatat(dfd, "f", &now, 0) == 0 && (now.st_mode & 07777) == 04755 &&
		   now.st_uid == 1234 && now.st_gid == 4321,
	   "the mode after the owner: setuid kept (mode %o)",
	   (unsigned)(now.st_mode & 07777));
	mkdirat(dfd, "d", 0700);
	st.st_mode = S_IFDIR | 01777;
	ok(save_set_owner_mode(dfd, "d", &st) == 0 &&
		   mode_of(dfd, "d") == 01777,
	   "a directory: mode set");
}

static void test_symlink(int dfd)
{
	close(openat(dfd, "target", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		     0600));
	(void)symlinkat("target", dfd, "l");
	struct stat st = {.st_mode = S_IFLNK | 0777, .st_uid = 1234};
	struct stat now;
	ok(save_set_owner_mode(dfd, "l", &st) == 0 &&
		   fstatat(dfd, "l", &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		   now.st_uid == 1234,
	   "a symlink: its own owner set");
	ok(fstatat(dfd, "target", &now, 0) == 0 && now.st_uid == 0 &&
		   (now.st_mode & 07777) == 0600,
	   "a symlink: its target untouched");
	/* A directory made, its name a symlink now: refused, the target
	 * keeps its mode. */
	st.st_mode = S_IFDIR | 04777;
	ok(save_set_owner_mode(dfd, "l", &st) == -EBUSY,
	   "a node of another type at the name: refused (EBUSY)");
	ok(mode_of(dfd, "target") == 0600, "its target keeps mode 0600");
}

/* A child swaps "n" (a file) and "s" (a symlink to "secret") while
 * owner and mode are set on "n" over and over: "secret" never gets
 * them. */
static void test_swapped(int dfd)
{
	close(openat(dfd, "secret", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		     0600));
	close(openat(dfd, "n", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	(void)symlinkat("secret", dfd, "s");
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			(void)renameat2(dfd, "n", dfd, "s", RENAME_EXCHANGE);
	}
	struct stat st = {.st_mode = S_IFREG | 04777};
	int refused = 0, done = 0;
	for (int i = 0; i < 20000; i++) {
		int r = save_set_owner_mode(dfd, "n", &st);
		refused += r == -EBUSY;
		done += r == 0;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ok(mode_of(dfd, "secret") == 0600,
	   "a name swapped for a symlink meanwhile: its target keeps its mode "
	   "(%o; %d set, %d refused)",
	   (unsigned)mode_of(dfd, "secret"), done, refused);
}

/* A copy's name swapped meanwhile for a user's own file (RENAME_EXCHANGE
 * in a directory the user may write): the copy's owner, mode and
 * capabilities go to the copy, never to the user's file. */
static void test_copy_swapped(int dfd)
{
	int src = openat(dfd, "payload",
			 O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (src >= 0 && write(src, "#!/bin/sh\n", 10) != 10)
		src = -1;
	int user =
		openat(dfd, "u", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	struct stat us;
	ok(src >= 0 && user >= 0 && fchown(user, 1234, 1234) == 0 &&
		   fstat(user, &us) == 0,
	   "a user's file beside the copies");
	if (src >= 0)
		close(src);
	_cleanup_close_ int from =
		openat(dfd, "payload", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st = {.st_mode = S_IFREG | 04755};
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			(void)renameat2(dfd, "n", dfd, "u", RENAME_EXCHANGE);
	}
	int made = 0;
	for (int i = 0; i < 20000; i++) {
		struct stat n;
		/* The user's file back at "u", "n" free again. */
		if (fstatat(dfd, "u", &n, AT_SYMLINK_NOFOLLOW) == 0 &&
		    n.st_ino != us.st_ino)
			(void)unlinkat(dfd, "u", 0);
		if (fstatat(dfd, "n", &n, AT_SYMLINK_NOFOLLOW) == 0)
			(void)(n.st_ino == us.st_ino
				       ? renameat(dfd, "n", dfd, "u")
				       : unlinkat(dfd, "n", 0));
		made += save_copy_node(from, &st, dfd, "n", false) == 0;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* By the descriptor: the file may have lost its names meanwhile. */
	struct stat now = {0};
	bool found = user >= 0 && fstat(user, &now) == 0;
	if (user >= 0)
		close(user);
	ok(found && now.st_uid == 1234 && (now.st_mode & 07777) == 0755,
	   "the user's file keeps its owner and mode (uid %u, mode %o; %d "
	   "copies made)",
	   (unsigned)now.st_uid, (unsigned)(now.st_mode & 07777), made);
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		printf("1..0 # SKIP cannot create a temporary directory\n");
		return 0;
	}
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (geteuid() != 0) {
		printf("1..0 # SKIP owners need root\n");
		return 0;
	}
	test_plain(dfd);
	test_symlink(dfd);
	test_swapped(dfd);
	test_copy_swapped(dfd);
	rm_rf_at(AT_FDCWD, tmp);
	close(dfd);
	return tap_done();
}
