/* A service's commands in a world (start, stop, restart through its init
 * script, or systemctl where the world runs systemd) and its health check
 * after a merge (service.h): it reports running and stays up, the TCP
 * ports it listened on before answer, and pwapt.conf's check command
 * passes.  Everything runs in the world's container: the ports are tried
 * by pwapt's own code spawned into the world's namespaces, never by the
 * host's network, and the check command is the world's. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"
#include "service.h"

/* Seconds a service's command may take in the world. */
#define SVC_TIMEOUT 120
/* Seconds a started service has to report itself running and to answer
 * on its ports.  An init script's restart returns before its daemon runs:
 * start-stop-daemon --background exits once the pid file is written,
 * before the daemon's exec, so a status check at once can find a process
 * not yet named as the daemon; systemd reports "activating" for a while. */
#define SVC_SETTLE 10

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pause_s(void)
{
	const struct timespec p = {0, 100 * 1000 * 1000};
	nanosleep(&p, NULL);
}

bool service_world_systemd(struct context *ctx, const char *world)
{
	char *argv[] = {(char *)"test", (char *)"-d",
			(char *)"/run/systemd/system", NULL};
	_cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct world_exec_options xo = {.timeout = SVC_TIMEOUT,
					.output_fd = null};
	int st = 1;
	return run_in(ctx, world, argv, &xo, &st) >= 0 && st == 0;
}

int service_command(struct context *ctx, const char *world,
		    const char *service, const char *verb, bool quiet)
{
	_cleanup_free_ char *unit = NULL, *script = NULL;
	if (asprintf(&unit, "%s.service", service) < 0 ||
	    asprintf(&script, "/etc/init.d/%s", service) < 0)
		return -1;
	bool sd = service_world_systemd(ctx, world);
	bool status = !strcmp(verb, "status");
	char *d[] = {(char *)"systemctl",
		     status ? (char *)"is-active" : (char *)verb,
		     status ? (char *)"--quiet" : unit, status ? unit : NULL,
		     NULL};
	char *i[] = {script, (char *)verb, NULL};
	_cleanup_close_ int null =
		quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
	struct world_exec_options xo = {
		.timeout = SVC_TIMEOUT,
		.output_fd = quiet ? null : chatter_fd(ctx)};
	int st = 1;
	if (run_in(ctx, world, sd ? d : i, &xo, &st) < 0)
		return -1;
	return st;
}

/* Whether SERVICE reports running in WORLD within SVC_SETTLE seconds and
 * keeps doing so for a second: a daemon that exits at once is seen
 * running for a moment. */
static bool reports_running(struct context *ctx, const char *world,
			    const char *service)
{
	double end = now_s() + SVC_SETTLE, up_since = -1;
	for (;;) {
		double t = now_s();
		if (service_command(ctx, world, service, "status", true) == 0) {
			if (up_since < 0)
				up_since = t;
			else if (t - up_since >= 1)
				return true;
		} else {
			up_since = -1;
		}
		if (t >= end + 1)
			return false;
		pause_s();
	}
}

bool service_runs(struct context *ctx, const char *world, const char *service)
{
	return reports_running(ctx, world, service);
}

/* In the world (world_spawn): connects to the loopback address of the
 * family at the port, for two seconds at most.  0 when it answered. */
struct probe {
	int family;
	unsigned port;
};

static int probe_in_world(void *arg)
{
	const struct probe *p = arg;
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)p->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)p->port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool v6 = p->family == 6;
	int fd = socket(v6 ? AF_INET6 : AF_INET,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 2;
	int r = v6 ? connect(fd, (struct sockaddr *)&a6, sizeof(a6))
		   : connect(fd, (struct sockaddr *)&a4, sizeof(a4));
	if (r < 0 && errno != EINPROGRESS)
		return 1;
	struct pollfd pf = {.fd = fd, .events = POLLOUT};
	if (r < 0 && poll(&pf, 1, 2000) != 1)
		return 1;
	int e = 0;
	socklen_t l = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
		return 1;
	close(fd);
	return 0;
}

/* Whether port P of WORLD answers a connection from inside the world. */
static bool port_answers(struct context *ctx, const char *world,
			 const struct world_port *p)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return false;
	struct probe pr = {p->family, p->port};
	struct world_error err = {0};
	pid_t pid = -1;
	int r = world_spawn(s, world, probe_in_world, &pr, -1, &pid, &err);
	world_store_free(s);
	if (r < 0) {
		fail(ctx, &err);
		return false;
	}
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

const char *service_check_command(const struct context *ctx,
				  const char *service)
{
	for (char **c = ctx->checks; c && *c; c += 2)
		if (!strcmp(c[0], service))
			return c[1];
	return NULL;
}

/* pwapt.conf's check command CMD of SERVICE, in WORLD: -1, saying why in
 * WHY, when it fails or does not finish in time.  It leads a session of
 * its own, so that what it started goes with it when it is killed: a
 * hung check leaves nothing running in WORLD. */
static int run_check(struct context *ctx, const char *world,
		     const char *service, const char *cmd, char *why,
		     size_t why_len)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
	bool timed_out = false;
	struct world_exec_options xo = {
		.timeout = ctx->check_timeout ? ctx->check_timeout
					      : SVC_TIMEOUT,
		.own_session = true,
		.timed_out = &timed_out,
		.output_fd = chatter_fd(ctx)};
	int st = 1;
	if (run_in(ctx, world, argv, &xo, &st) < 0)
		snprintf(why, why_len, "check.%s (%s) could not run in %s",
			 service, cmd, world);
	else if (timed_out)
		snprintf(why, why_len,
			 "check.%s (%s) did not finish within %u s in %s "
			 "(timed out: killed with its process group)",
			 service, cmd, xo.timeout, world);
	else if (st != 0)
		snprintf(why, why_len, "check.%s (%s) failed in %s (exit %d)",
			 service, cmd, world, st);
	else
		return 0;
	return -1;
}

int service_health_check(struct context *ctx, const char *world,
			 const char *service, const struct world_ports *ports,
			 char *why, size_t why_len)
{
	if (!reports_running(ctx, world, service)) {
		snprintf(why, why_len,
			 "%s does not report running in %s (its status)",
			 service, world);
		return -1;
	}
	double end = now_s() + SVC_SETTLE;
	for (size_t i = 0; ports && i < ports->n; i++) {
		const struct world_port *p = &ports->v[i];
		while (!port_answers(ctx, world, p)) {
			if (now_s() >= end) {
				snprintf(why, why_len,
					 "port %u%s of %s does not answer in %s",
					 p->port, p->family == 6 ? " (tcp6)" : "",
					 service, world);
				return -1;
			}
			pause_s();
		}
	}
	const char *cmd = service_check_command(ctx, service);
	if (cmd && run_check(ctx, world, service, cmd, why, why_len) < 0)
		return -1;
	/* And it is still up after all that. */
	if (service_command(ctx, world, service, "status", true) != 0) {
		snprintf(why, why_len, "%s stopped running in %s", service,
			 world);
		return -1;
	}
	return 0;
}

int service_ports_of(struct context *ctx, const char *world,
		     const char *service, struct world_ports *out)
{
	*out = (struct world_ports){0};
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_services l = {0};
	struct world_error err = {0};
	int r = world_services(s, world, &l, &err);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		if (!strcmp(l.v[i].name, service) && l.v[i].n_pids)
			r = world_listening_ports(s, world, l.v[i].pids,
						  l.v[i].n_pids, out, &err);
	world_services_release(&l);
	world_store_free(s);
	return r < 0 ? -1 : 0;
}
