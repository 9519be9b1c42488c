/* The trace tables' writer (world/trace-writer.c): lines formatted as
 * path_escape() writes paths, whatever their length; a repeated line
 * dropped until the epoch moves; the lines of a batch readable at once,
 * whether or not that batch synced them; a process started once the
 * collector's attach time is taken reads as started after it. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../world/fsutil.h"
#include "../../world/store.h"
#include "../../world/trace-writer.h"
#include "tap.h"

/* The line traced_add() should append for (TIME TREE KIND PATH PATH2),
 * by path_escape(). */
static char *expected(unsigned long long time, unsigned tree, const char *kind,
		      const char *path, const char *path2)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fprintf(f, "%llu %u %s ", time, tree, kind);
	path_escape(f, path);
	if (path2) {
		fputc(' ', f);
		path_escape(f, path2);
	}
	fputc('\n', f);
	fclose(f);
	return out;
}

/* Whether T's pending lines end with LINE. */
static int pending_ends(struct traced *t, const char *line)
{
	size_t n = strlen(line);

	return t->pending_len >= n &&
	       !memcmp(t->pending + t->pending_len - n, line, n);
}

/* Whether a child forked as soon as trace_attached_ticks() returns reads
 * as started after that tick (the collector takes a world whose init
 * started in the tick of the attach for untraced), each of N times. */
static int started_after_attach(int n)
{
	for (int i = 0; i < n; i++) {
		unsigned long long attached = trace_attached_ticks(), started;
		pid_t pid = fork();

		if (pid == 0) {
			pause();
			_exit(0);
		}
		int r = pid > 0 ? trace_start_ticks(pid, &started) : -1;
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		if (r < 0 || started <= attached)
			return 0;
	}
	return 1;
}

/* Writes worlds/NAME/world in WORLDS with trace-from FROM (ns). */
static int put_world(int worlds, const char *name, unsigned long long from)
{
	char text[256];
	int n = snprintf(text, sizeof(text),
			 "pwapt-world 1\nname %s\nparent Root\n"
			 "created %llu.0\ntrace-from %llu.%09llu\n"
			 "phase ready\n",
			 name, from / 1000000000ull - 1, from / 1000000000ull,
			 from % 1000000000ull);
	char rel[64];
	snprintf(rel, sizeof(rel), "%s/world", name);
	if (mkdirat(worlds, name, 0700) < 0)
		return -1;
	int fd = openat(worlds, rel, O_WRONLY | O_CREAT | O_EXCL, 0600);
	int r = fd >= 0 && write(fd, text, (size_t)n) == n ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

/* trace_epoch(): the latest trace-from of the worlds, and a world made
 * in the tick its worlds/ was last read in (its mtime unchanged, as a
 * kernel without multigrain timestamps leaves it) seen all the same;
 * nothing dropped while a world is being created. */
static void test_epoch(void)
{
	char dir[] = "/tmp/pwapt-test-epoch.XXXXXX";
	struct world_store s = {.state_fd = -1, .worlds_fd = -1, .lock_fd = -1};
	struct trace_epoch_cache cache = {0};
	uint64_t epoch = 0;
	struct stat st;

	if (!mkdtemp(dir) || asprintf(&s.worlds, "%s/worlds", dir) < 0 ||
	    mkdir(s.worlds, 0700) < 0 ||
	    (s.state_fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    (s.worlds_fd = open(s.worlds, O_RDONLY | O_DIRECTORY)) < 0) {
		ok(0, "cannot make a store in %s", dir);
		return;
	}
	put_world(s.worlds_fd, "A", 1764000000111111111ull);
	futimens(s.worlds_fd, NULL); /* recent, however slow the machine */
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   epoch == 1764000000111111111ull,
	   "the epoch is the latest trace-from");
	ok(store_creating_mark(&s, "C") == 0 &&
		   trace_epoch(&s, &cache, &epoch) == 0 && epoch == UINT64_MAX,
	   "while a world is marked as being created, nothing is dropped");
	struct timespec ahead[2] = {{0, UTIME_OMIT}, {time(NULL) + 3600, 0}};
	utimensat(s.state_fd, "creating/C", ahead, 0);
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   epoch == 1764000000111111111ull,
	   "a marker from the future (a clock stepped back) is not recent");
	struct timespec soon[2] = {{0, UTIME_OMIT}, {time(NULL) + 2, 0}};
	utimensat(s.state_fd, "creating/C", soon, 0);
	ok(trace_epoch(&s, &cache, &epoch) == 0 && epoch == UINT64_MAX,
	   "one a little ahead (a small step back) is this creation's");
	store_creating_mark(&s, "C");
	put_world(s.worlds_fd, "C", 1764000000151111111ull);
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   epoch == 1764000000151111111ull,
	   "once its metadata is written, its trace-from is the epoch");
	unlinkat(s.worlds_fd, "C/world", 0);
	unlinkat(s.worlds_fd, "C", AT_REMOVEDIR);
	struct timespec stale[2] = {{0, UTIME_OMIT},
				    {time(NULL) - TRACE_CREATING_S - 1, 0}};
	utimensat(s.state_fd, "creating/C", stale, 0);
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   epoch == 1764000000151111111ull,
	   "a marker older than a creation takes is a killed one's");
	store_creating_clear(&s, "C");
	fstat(s.worlds_fd, &st);
	put_world(s.worlds_fd, "B", 1764000000222222222ull);
	struct timespec same[2] = {st.st_atim, st.st_mtim};
	futimens(s.worlds_fd, same);
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   epoch == 1764000000222222222ull,
	   "a world made in the tick worlds/ was read in is seen");
	/* Older than any tick: trusted, and nothing read again (B's
	 * metadata rewritten in place, which worlds/ does not show, stays
	 * unseen). */
	struct timespec old[2] = {{st.st_atim.tv_sec - 10, 0},
				  {st.st_mtim.tv_sec - 10, 0}};
	futimens(s.worlds_fd, old);
	trace_epoch(&s, &cache, &epoch);
	int bfd = openat(s.worlds_fd, "B/world", O_WRONLY | O_TRUNC);
	dprintf(bfd, "pwapt-world 1\nname B\nparent Root\n"
		     "created 1764000000.0\ntrace-from 1764000000.244444444\n"
		     "phase ready\n");
	close(bfd);
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   cache.stamp.tv_sec == old[1].tv_sec &&
		   epoch == 1764000000222222222ull,
	   "a settled worlds/ is not read again");
	/* D made with the mtime put back (a clock stepped back onto the
	 * stamp's second, whole seconds): its link is seen. */
	put_world(s.worlds_fd, "D", 1764000000333333333ull);
	futimens(s.worlds_fd, old);
	ok(trace_epoch(&s, &cache, &epoch) == 0 &&
		   epoch == 1764000000333333333ull,
	   "a world made under the same mtime is seen by worlds/'s links");
	ok(trace_boot_epoch(UINT64_MAX, 1764000000000000000) == UINT64_MAX &&
		   trace_boot_epoch(1764000000000000042u,
				    1764000000000000000) == 42 &&
		   trace_boot_epoch(5, 1764000000000000000) == 0 &&
		   trace_boot_epoch(5, -7) == 12,
	   "the epoch on the boot clock: none dropped stays none dropped");
	close(s.worlds_fd);
	close(s.state_fd);
	rm_rf_at(AT_FDCWD, dir);
	free(s.worlds);
}

int main(void)
{
	struct traced *tp = calloc(1, sizeof(*tp)), t;
	char *e, *longp = malloc(4097), *longp2 = malloc(4097);
	char path[] = "/tmp/pwapt-test-trace.XXXXXX";

	memset(longp, '%', 4096);
	longp[4096] = '\0';
	memset(longp2, ' ', 4096);
	longp2[0] = '/';
	longp2[4096] = '\0';
	tp->fd = -1;
#define t (*tp)

	e = expected(7, 42, "write", "/a b/%c\x7f\n", NULL);
	ok(traced_add(&t, "write", "/a b/%c\x7f\n", NULL, 42, 7, 0) == 1 &&
		   pending_ends(&t, e),
	   "a line's path is escaped as path_escape() does it");
	free(e);
	ok(traced_add(&t, "write", "/a b/%c\x7f\n", NULL, 42, 9, 0) == 0 &&
		   t.pending_len == strlen("7 42 write /a%20b/%25c%7F%0A\n"),
	   "the same line again is not appended");
	ok(traced_add(&t, "write", "/a b/%c\x7f\n", NULL, 42, 11, 10) == 1,
	   "the same line after a new epoch is appended again");

	e = expected(12, 1, "rename", longp, longp2);
	ok(traced_add(&t, "rename", longp, longp2, 1, 12, 0) == 1 &&
		   pending_ends(&t, e),
	   "two paths of 4096 bytes, each byte escaped, are written whole");
	free(e);
	ok(traced_add(&t, "rename", longp, longp2, 1, 13, 0) == 0,
	   "and recognised when repeated");

	/* A batch's lines are in the file at once, synced or not. */
	int fd = mkstemp(path);
	char buf[64] = {0};

	t.fd = fd;
	t.size = TRACE_HEADER_LEN;
	t.pending_len = 0;
	traced_add(&t, "read", "/x", NULL, 3, 20, 0);
	ok(traced_flush(&t, false) == 0 && t.pending_len == 0 &&
		   pread(fd, buf, sizeof(buf) - 1, TRACE_HEADER_LEN) > 0 &&
		   !strcmp(buf, "20 3 read /x\n"),
	   "a batch's lines are readable once flushed");
	memset(buf, 0, sizeof(buf));
	ok(traced_flush(&t, true) == 0 && pread(fd, buf, 40, 0) > 0 &&
		   !strncmp(buf, "pwapt-trace 2 complete ", 23),
	   "the final flush writes a complete header");
	unlink(path);
	traced_free(tp); /* closes FD */
	ok(started_after_attach(20),
	   "a process started after the attach time is taken reads as "
	   "started after it");
#undef t
	(void)t;
	free(longp);
	free(longp2);
	test_epoch();
	return tap_done();
}
