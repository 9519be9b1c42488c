/* Waiting for a child with a time limit (childwait.h): a pidfd tells when
 * the child ends, or the limit passes, without a signal handler; where
 * the kernel has none (or no descriptor is left) waitpid(WNOHANG) is
 * asked again and again, a few ms apart at first, then up to every
 * 50 ms: the limits pwapt documents (check-timeout, test-timeout) hold
 * either way. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "childwait.h"
#include "cleanup.h"

#define TICK_MS	    100
#define POLL_MAX_MS 50

static int shell_status(int ws)
{
	return WIFEXITED(ws)	 ? WEXITSTATUS(ws)
	       : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws)
				 : 1;
}

static long long monotonic_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Kills PID (and its group) once W's limit passed; whether it did.  The
 * group is not there yet when PID has not reached its setsid(). */
static bool kill_late(pid_t pid, const struct child_wait *w)
{
	return (w->group && kill(-pid, SIGKILL) == 0) ||
	       kill(pid, SIGKILL) == 0;
}

/* Waits on PFD, PID's pidfd, up to DEADLINE; whether it killed PID. */
static bool wait_pidfd(int pfd, pid_t pid, const struct child_wait *w,
		       long long deadline)
{
	for (;;) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		long long left = deadline - monotonic_ms();
		if (left <= 0)
			return kill_late(pid, w);
		int ms = left > INT_MAX ? INT_MAX : (int)left;
		if (w->tick && ms > TICK_MS)
			ms = TICK_MS;
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0)
			return false;
		if (w->tick)
			w->tick(w->arg);
	}
}

/* Asks waitpid(WNOHANG) up to DEADLINE; whether it killed PID.  1 with
 * *WS set when it reaped PID, 0 when it is left to reap. */
static int wait_polled(pid_t pid, const struct child_wait *w,
		       long long deadline, int *ws, bool *killed)
{
	long long next_tick = monotonic_ms() + TICK_MS;
	long nap = 1;
	for (;;) {
		pid_t r = waitpid(pid, ws, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return 1;
		long long now = monotonic_ms();
		if (now >= deadline) {
			*killed = kill_late(pid, w);
			return 0;
		}
		if (w->tick && now >= next_tick) {
			w->tick(w->arg);
			next_tick = monotonic_ms() + TICK_MS;
			continue;
		}
		long long left = deadline - now;
		struct timespec ts = {.tv_nsec = (nap < left ? nap : left) *
						 1000000};
		(void)nanosleep(&ts, NULL);
		nap = nap * 2 < POLL_MAX_MS ? nap * 2 : POLL_MAX_MS;
	}
}

int child_wait(pid_t pid, const struct child_wait *w, bool *killed_out)
{
	int ws = 0;
	bool killed = false, reaped = false;
	_cleanup_close_ int pfd = w->timeout && !w->no_pidfd
					  ? (int)syscall(SYS_pidfd_open, pid, 0)
					  : -1;
	long long deadline = monotonic_ms() + (long long)w->timeout * 1000;
	if (pfd >= 0)
		killed = wait_pidfd(pfd, pid, w, deadline);
	else if (w->timeout)
		reaped = wait_polled(pid, w, deadline, &ws, &killed) > 0;
	while (!reaped && waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (killed_out)
		*killed_out = killed;
	return killed ? 128 + SIGKILL : shell_status(ws);
}
