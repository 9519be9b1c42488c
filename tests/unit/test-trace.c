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
	return tap_done();
}
