/* pwapt trace: a world's file-access table, and the collector that fills
 * the tables (pwapt-trace(8)). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "options.h"
#include "pwapt.h"
#include "quote.h"

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
static int run_collector(struct context *ctx)
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
	if (ctx->trace && !strcmp(ctx->trace, "off")) {
		fprintf(stderr, "%s: tracing is off (trace = off, PWAPT_TRACE)\n",
			ctx->cmd);
		return EXIT_FAIL;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
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

/* pwapt trace start: the collector as a daemon, unless one runs. */
static int start_collector(struct context *ctx, struct world_store *s)
{
	char why[512];
	int r;

	if (ctx->trace && !strcmp(ctx->trace, "off")) {
		world_store_free(s);
		fprintf(stderr, "%s: tracing is off (trace = off, PWAPT_TRACE)\n",
			ctx->cmd);
		return EXIT_FAIL;
	}
	/* The collector opens the store: this command must not hold it. */
	world_store_unlock(s);
	r = trace_start(ctx, s, why, sizeof(why));
	world_store_free(s);
	if (r < 0) {
		fprintf(stderr, "%s: cannot start the trace collector: %s\n",
			ctx->cmd, why);
		return EXIT_FAIL;
	}
	if (r == 0)
		printf("a trace collector runs already\n");
	return EXIT_OK;
}

static void print_json(const char *name, const struct world_trace *t)
{
	printf("{\"world\":");
	json_string(stdout, name);
	printf(",\"state\":\"%s\",\"complete\":%s,\"lost\":%" PRIu64
	       ",\"whole_since_ns\":%" PRIu64 ",\"collector\":%s"
	       ",\"flushed\":%s,\"accesses\":[",
	       t->state, strcmp(t->state, "complete") ? "false" : "true",
	       t->lost, t->since, t->live ? "true" : "false",
	       t->flushed ? "true" : "false");
	for (size_t i = 0; i < t->n; i++) {
		printf("%s{\"time_ns\":%" PRIu64 ",\"tree\":%" PRIu32
		       ",\"kind\":\"%s\",\"path\":",
		       i ? "," : "", t->v[i].time, t->v[i].tree, t->v[i].kind);
		json_string(stdout, t->v[i].path);
		if (t->v[i].path2) {
			printf(",\"path2\":");
			json_string(stdout, t->v[i].path2);
		}
		printf("}");
	}
	printf("]}\n");
}

static void print_text(const char *name, const struct world_trace *t)
{
	if (!strcmp(t->state, "complete"))
		printf("# trace of %s: complete\n", name);
	else if (!strcmp(t->state, "collecting"))
		printf("# trace of %s: being collected (incomplete if no "
		       "collector runs), %" PRIu64 " accesses lost\n",
		       name, t->lost);
	else
		printf("# trace of %s: INCOMPLETE, %" PRIu64
		       " accesses lost or untraced\n",
		       name, t->lost);
	if (t->live && !t->flushed && strcmp(t->state, "complete"))
		printf("# the trace collector did not write what it has "
		       "received when asked (stopped or stuck?): the latest "
		       "accesses may be missing\n");
	for (size_t i = 0; i < t->n; i++) {
		printf("%-8s ", t->v[i].kind);
		put_path(stdout, t->v[i].path);
		if (t->v[i].path2) {
			putchar(' ');
			put_path(stdout, t->v[i].path2);
		}
		putchar('\n');
	}
}

int cmd_trace(struct context *ctx, int argc, char **argv)
{
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--json] NAME | run | start", .man = "pwapt"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	if (!strcmp(argv[0], "run") && !ctx->json)
		return run_collector(ctx);
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	if (!strcmp(argv[0], "start") && !ctx->json)
		return start_collector(ctx, s);
	struct world_error err = {0};
	struct world_trace t = {0};
	r = world_trace_load(s, argv[0], &t, &err);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	if (ctx->json)
		print_json(argv[0], &t);
	else
		print_text(argv[0], &t);
	world_trace_release(&t);
	return EXIT_OK;
}
