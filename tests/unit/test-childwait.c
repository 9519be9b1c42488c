/* Unit tests of child_wait(): its time limit, with a pidfd and without
 * one (as where the kernel has no pidfd_open()). */
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "../../world/childwait.h"
#include "tap.h"

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A child that sleeps MS milliseconds, then exits with CODE. */
static pid_t child(long ms, int code)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		_exit(code);
	}
	return pid;
}

static void count(void *arg)
{
	++*(int *)arg;
}

static void test_wait(bool no_pidfd)
{
	const char *how = no_pidfd ? "polled" : "with a pidfd";
	bool killed = true;
	long long t0 = now_ms();
	struct child_wait w = {.timeout = 1, .no_pidfd = no_pidfd};
	int st = child_wait(child(20000, 0), &w, &killed);
	long long took = now_ms() - t0;
	ok(st == 128 + SIGKILL && killed,
	   "%s: a child past its 1 s limit is killed (%d)", how, st);
	ok(took >= 1000 && took < 3000, "%s: ... at the limit (%lld ms)", how,
	   took);

	t0 = now_ms();
	killed = true;
	st = child_wait(child(30, 3), &w, &killed);
	took = now_ms() - t0;
	ok(st == 3 && !killed, "%s: a child that exits gives its status (%d)",
	   how, st);
	ok(took < 900, "%s: ... as soon as it ends (%lld ms)", how, took);

	int ticks = 0;
	w = (struct child_wait){.timeout = 5,
				.tick = count,
				.arg = &ticks,
				.no_pidfd = no_pidfd};
	st = child_wait(child(450, 0), &w, NULL);
	ok(st == 0 && ticks >= 2 && ticks <= 5,
	   "%s: ticks every 100 ms while it waits (%d ticks)", how, ticks);

	w = (struct child_wait){.timeout = 0, .no_pidfd = no_pidfd};
	st = child_wait(child(1200, 4), &w, NULL);
	ok(st == 4, "%s: no limit: waits past a second (%d)", how, st);
}

int main(void)
{
	test_wait(false);
	test_wait(true);
	return tap_done();
}
