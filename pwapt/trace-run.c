/* pwapt trace run in pwapt-trace: the collector itself (world_trace_run),
 * telling whoever waits that it traces (pwapt-trace(8), "The collector").
 * pwapt links trace-exec.c instead, and so neither libbpf nor libaudit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pwapt.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Tells systemd (Type=notify) that the collector traces: READY=1 to
 * $NOTIFY_SOCKET, a path or an abstract name ("@..."). */
static void notify_systemd(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static const char msg[] = "READY=1";

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path)));
	close(fd);
}

/* The descriptor of PWAPT_TRACE_READY_FD (trace-start.c), taken out of
 * the environment; -1 when none. */
static int ready_fd = -1;

static void say_ready(void *arg, const char *backend, const char *how,
		      const char *fallback)
{
	(void)arg;
	if (fallback)
		printf("bpf cannot load (%s): falling back to audit\n", fallback);
	printf("backend: %s%s%s\n", backend, *how ? ", " : "", how);
	printf("pid %d\n", (int)getpid());
	printf("tracing\n");
	fflush(stdout);
	if (ready_fd >= 0) {
		dprintf(ready_fd, "%s\t%s\t%s\n", backend, how,
			fallback ? fallback : "");
		close(ready_fd);
		ready_fd = -1;
	}
	notify_systemd();
}

static void take_ready_fd(void)
{
	const char *v = getenv("PWAPT_TRACE_READY_FD");
	char *end;
	long fd;

	if (!v)
		return;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (!errno && !*end && fd > 2 && fd < 1024 &&
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
		ready_fd = (int)fd;
	unsetenv("PWAPT_TRACE_READY_FD");
}

/* PWAPT_TRACE_RINGBUF: the ring buffer's size in bytes (tests). */
int trace_run(struct context *ctx)
{
	const char *size = getenv("PWAPT_TRACE_RINGBUF");
	struct sigaction sa = {.sa_handler = on_signal};
	struct world_error err = {0};
	unsigned long bytes = 0;
	char *end;
	int r;

	take_ready_fd();
	if (size && *size) {
		errno = 0;
		bytes = strtoul(size, &end, 10);
		if (errno || *end || bytes > UINT32_MAX) {
			fprintf(stderr, "%s: bad PWAPT_TRACE_RINGBUF '%s'\n",
				ctx->cmd, size);
			return EXIT_USAGE;
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Before it says it traces: liblxc, which each scan of the worlds
	 * needs, missing would end it at the first world. */
	if (world_load_containers(&err) < 0)
		return fail(ctx, &err);
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_trace_options o = {.backend = ctx->trace,
					.ringbuf_bytes = (uint32_t)bytes,
					.ready = say_ready};
	r = world_trace_run(s, &stop, &o, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}
