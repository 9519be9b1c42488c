/* timeit LOG [-g PATH] CMD [ARG...]: runs CMD with stdin from /dev/null and
 * stdout and stderr appended to LOG, and prints how long it took, in
 * nanoseconds of CLOCK_MONOTONIC, from just before fork() to just after
 * waitpid() -- or, with -g, to when PATH is gone (polled every 100 us, for at
 * most 10 s; "timeit: PATH still exists" and status 124 after that), for
 * commands whose work ends after they exit.  Exits with CMD's status (128 +
 * signal if it was killed), like a shell.  Used by tests/bench/run so that
 * no shell or `date` process lands inside a timing.
 *
 * SIGINT, SIGTERM and SIGHUP do not end timeit before CMD: a ^C reaches CMD
 * too (the same process group) and timeit reports how CMD ended, so that the
 * script's cleanup never runs beside a command still at work. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nothing(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	const char *gone = NULL;
	char **cmd = argv + 2;
	if (argc >= 3 && !strcmp(argv[2], "-g")) {
		gone = argv[3];
		cmd += 2;
	}
	if (argc < 3 || (gone && argc < 5)) {
		fprintf(stderr, "usage: timeit LOG [-g PATH] CMD [ARG...]\n");
		return 2;
	}
	int log = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		       0644);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log < 0 || null < 0) {
		fprintf(stderr, "timeit: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	/* A handler, not SIG_IGN: exec() gives CMD the default actions back. */
	struct sigaction sa = { .sa_handler = nothing };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fflush(stdout);
	long long t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timeit: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		execvp(cmd[0], cmd);
		dprintf(log, "timeit: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "timeit: waitpid: %s\n",
				strerror(errno));
			return 2;
		}
	long long t1 = now_ns();
	if (gone && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
		const struct timespec pause = { 0, 100000 };
		while (access(gone, F_OK) == 0 || errno != ENOENT) {
			if (now_ns() - t1 > 10000000000LL) {
				fprintf(stderr, "timeit: %s still exists\n",
					gone);
				return 124;
			}
			nanosleep(&pause, NULL);
		}
		t1 = now_ns();
	}
	printf("%lld\n", t1 - t0);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}
