/* Starting the trace collector as a detached daemon (pwapt-trace(8),
 * "The collector"): by the first wcreate, and by `pwapt trace start`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"

/* The program that runs the collector (bin/, LIBEXECDIR): pwapt with
 * libbpf and libaudit linked. */
#define TRACE_COLLECTOR "pwapt-trace"

/* How long a collector may take to load and attach its programs (BPF's
 * verifier on a loaded machine) before its starter gives up waiting. */
#define START_TIMEOUT_MS 60000

/* In the grandchild: the collector, detached, its output in LOG, its
 * readiness on descriptor 3 (PWAPT_TRACE_READY_FD), for STORE's state
 * directory and Root (the store this command opened, whether its
 * configuration, the environment or --state and --root named them: the
 * collector reads the environment).  Never returns. */
static void exec_collector(const char *exe, const struct world_store *store,
			   int log_fd, int ready_fd)
{
	if (setenv("PWAPT_STATE", world_store_state(store), 1) < 0 ||
	    setenv("PWAPT_ROOT", world_store_root(store), 1) < 0)
		_exit(127);
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 ||
	    dup2(log_fd, 2) < 0)
		_exit(127);
	/* dup2() onto itself would keep O_CLOEXEC. */
	if (ready_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(ready_fd, 3) < 0)
		_exit(127);
	/* Nothing else of the caller's: a descriptor it left open (a lock
	 * of its own, a pipe a reader waits on to end) would stay held for
	 * the collector's lifetime. */
	if (close_range(4, ~0U, 0) < 0 || chdir("/") < 0)
		_exit(127);
	umask(022);
	setenv("PWAPT_TRACE_READY_FD", "3", 1);
	char *argv[] = {"pwapt", "trace", "run", NULL};
	execv(exe, argv);
	fprintf(stderr, "pwapt: cannot run the trace collector: %s\n",
		strerror(errno));
	_exit(127);
}

/* The last line of the log, for a collector that died at start. */
static void last_log_line(int log_fd, off_t from, char *why, size_t len)
{
	char buf[1024];
	off_t end = lseek(log_fd, 0, SEEK_END);
	off_t at = end - (off_t)sizeof(buf) + 1 > from
			   ? end - (off_t)sizeof(buf) + 1
			   : from;
	ssize_t n = end > at ? pread(log_fd, buf, (size_t)(end - at), at) : 0;

	while (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n <= 0) {
		snprintf(why, len, "it exited at once, saying nothing");
		return;
	}
	buf[n] = '\0';
	char *line = strrchr(buf, '\n');
	snprintf(why, len, "%s", line ? line + 1 : buf);
}

/* Reads what the collector says on READY: "BACKEND\tHOW\tFALLBACK\n". */
static int wait_ready(int ready, char *said, size_t len)
{
	struct timespec start, now;
	size_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 +
			     (now.tv_nsec - start.tv_nsec) / 1000000;
		struct pollfd p = {.fd = ready, .events = POLLIN};

		if (spent >= START_TIMEOUT_MS)
			return -ETIMEDOUT;
		int r = poll(&p, 1, (int)(START_TIMEOUT_MS - spent));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		ssize_t n = read(ready, said + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
		said[got] = '\0';
		if (n == 0 || memchr(said, '\n', got) || got == len - 1)
			return memchr(said, '\n', got) ? 0 : -ECHILD;
	}
}

int trace_collector_exe(char *exe, char *why, size_t why_len)
{
	char beside[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", beside, sizeof(beside) - 1);

	helper_path(TRACE_COLLECTOR, X_OK, exe);
	if (access(exe, X_OK) == 0)
		return 0;
	beside[n > 0 ? n : 0] = '\0';
	snprintf(why, why_len,
		 "cannot run the trace collector %s: %s (nor is it beside %s)",
		 exe, strerror(errno), n > 0 ? beside : "this program");
	return -1;
}

int trace_start(struct context *ctx, struct world_store *s, char *why,
		size_t why_len)
{
	struct world_error err = {0};
	char said[512] = "";
	int pipefd[2];
	int status, r;

	why[0] = '\0';
	if (ctx->trace && !strcmp(ctx->trace, "off"))
		return 0;
	_cleanup_close_ int lock = world_trace_start_lock(s, &err);
	if (lock < 0) {
		snprintf(why, why_len, "%s", err.msg);
		return -1;
	}
	/* Another command started it while this one waited. */
	if (world_trace_collector_runs(s))
		return 0;
	char exe[PATH_MAX];
	if (trace_collector_exe(exe, why, why_len) < 0)
		return -1;
	_cleanup_close_ int log_fd = world_trace_log_open(s, &err);
	if (log_fd < 0) {
		snprintf(why, why_len, "%s", err.msg);
		return -1;
	}
	off_t log_start = lseek(log_fd, 0, SEEK_END);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "cannot make a pipe: %s",
			 strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* Its own session, then a grandchild that is no session
		 * leader: no terminal can become its controlling one. */
		close(pipefd[0]);
		if (setsid() < 0)
			_exit(127);
		pid_t daemon = fork();
		if (daemon == 0)
			exec_collector(exe, s, log_fd, pipefd[1]);
		_exit(daemon < 0 ? 127 : 0);
	}
	close(pipefd[1]);
	_cleanup_close_ int ready = pipefd[0];
	if (pid < 0) {
		snprintf(why, why_len, "cannot fork: %s", strerror(errno));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r = wait_ready(ready, said, sizeof(said));
	if (r == -ETIMEDOUT) {
		snprintf(why, why_len,
			 "it did not say it traced within %d s (see %s/%s)",
			 START_TIMEOUT_MS / 1000, world_store_state(s),
			 TRACE_LOG);
		return -1;
	}
	if (r < 0) {
		last_log_line(log_fd, log_start, why, why_len);
		return -1;
	}
	/* BACKEND \t HOW \t FALLBACK */
	char *how = strchr(said, '\t'),
	     *fallback = how ? strchr(how + 1, '\t') : NULL;
	if (!how || !fallback) {
		snprintf(why, why_len, "it said '%s'", said);
		return -1;
	}
	*how++ = '\0';
	*fallback++ = '\0';
	fallback[strcspn(fallback, "\n")] = '\0';
	if (*fallback)
		fprintf(stderr,
			"%s: bpf cannot load (%s): tracing with audit\n",
			ctx->cmd, fallback);
	fprintf(stderr,
		"%s: started the trace collector (%s%s%s), its log in %s/%s\n",
		ctx->cmd, said, *how ? ", " : "", how, world_store_state(s),
		TRACE_LOG);
	return 1;
}
