/* A merge into Root with no downtime on given ports (see handover.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "../world/crash.h"
#include "../world/strv.h"
#include "handover-removed.h"
#include "handover.h"
#include "quote.h"
#include "service.h"
#include "txn.h"

/* Seconds a service has to answer on its port once it reports itself
 * running, and connections in flight to finish before their server
 * stops. */
#define ANSWER_TIMEOUT 10
#define DRAIN_TIMEOUT  30

enum step {
	STEP_CHECK,
	STEP_STANDIN,
	STEP_TAKEOVER,
	STEP_STOP,
	STEP_MERGE,
	STEP_START,
	STEP_RELEASE,
};
static const char *const step_names[] = {
	"check", "standin", "takeover", "stop", "merge", "start", "release",
};

/* What Root's note "handover" records (and a running handover keeps). */
struct state {
	const char *src;
	char standin[64];
	const struct handover *h;
	char *services[HANDOVER_MAX_PORTS]; /* Root's, one per port */
	uint64_t merge_id;
	enum step step;
	/* wmerge's plan of the merge.  Root's running services whose
	 * package SRC removed (svc_item.removed) stop at the step "stop",
	 * as wmerge stops them, and start again when the merge does not
	 * stay; named in the note from then on.  The rest is followed once
	 * the files moved (handover_start_others). */
	struct svc_plan removed;
	/* Once merged: the services of the plan beyond the ports that
	 * started (REST, NULL: none yet), and whether systemd re-executed
	 * on the merged files: a roll-back puts both back (put_back). */
	struct svc_plan *rest;
	bool reexec;
};

int handover_parse_ports(struct context *ctx, const char *text,
			 struct handover *h)
{
	h->n_ports = 0;
	for (const char *p = text;;) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(p, &end, 10);
		if (!isdigit((unsigned char)*p) || errno || v < 1 ||
		    v > 65535 || (*end && *end != ',')) {
			failf(ctx,
			      "--handover takes ports (1 to 65535) "
			      "separated by commas, not '%s'",
			      text);
			return -1;
		}
		for (size_t i = 0; i < h->n_ports; i++)
			if (h->ports[i] == v) {
				failf(ctx, "--handover: port %lu twice", v);
				return -1;
			}
		if (h->n_ports == HANDOVER_MAX_PORTS) {
			failf(ctx, "--handover: at most %d ports",
			      HANDOVER_MAX_PORTS);
			return -1;
		}
		h->ports[h->n_ports++] = (unsigned)v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

/* --- what the host's /proc tells about a world's sockets ---------------- */

/* Calls FN for each TCP socket of the network namespace of host pid INIT
 * whose local port is PORT: its state (as /proc/net/tcp numbers them) and
 * inode.  Returns how many FN accepted. */
static size_t each_socket(pid_t init, unsigned port,
			  bool (*fn)(unsigned st, unsigned long ino, void *a),
			  void *arg)
{
	size_t n = 0;
	static const char *const tables[] = {"tcp", "tcp6"};
	for (size_t t = 0; t < 2; t++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)init,
			 tables[t]);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		char line[512];
		while (f && fgets(line, sizeof(line), f)) {
			char local[64];
			unsigned st, p;
			unsigned long ino;
			const char *colon;
			if (sscanf(line,
				   " %*u: %63s %*s %x %*s %*s %*s %*s %*s "
				   "%lu",
				   local, &st, &ino) != 3 ||
			    !(colon = strrchr(local, ':')) ||
			    sscanf(colon + 1, "%x", &p) != 1 || p != port)
				continue;
			n += fn(st, ino, arg);
		}
	}
	return n;
}

static bool pick_listener(unsigned st, unsigned long ino, void *arg)
{
	(void)arg;
	return st == 0x0A && ino;
}

/* Connections that a server on the port still has to serve: established
 * (also those not yet accepted), half-open, or closed by the client only. */
static bool pick_in_flight(unsigned st, unsigned long ino, void *arg)
{
	(void)ino;
	(void)arg;
	return st == 0x01 || st == 0x03 || st == 0x08;
}

/* Whether PORT is among P. */
static bool has_port(const struct world_ports *p, unsigned port)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].port == port)
			return true;
	return false;
}

/* The service of world NAME whose processes listen on PORT (malloc'd into
 * *out), from the host's /proc (world_services, world_listening_ports):
 * nothing of the world runs. */
static int service_on_port(struct context *ctx, const char *name, unsigned port,
			   char **out)
{
	pid_t init = service_init_pid(ctx, name);
	if (!init || !each_socket(init, port, pick_listener, NULL))
		return failf(ctx, "nothing listens on port %u in %s", port,
			     name),
		       -1;
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_services sv = {0};
	struct world_error err = {0};
	int r = world_services(s, name, &sv, &err);
	for (size_t i = 0; r >= 0 && i < sv.n && !*out; i++) {
		struct world_ports p = {0};
		r = world_listening_ports(s, name, sv.v[i].pids, sv.v[i].n_pids,
					  &p, &err);
		if (r >= 0 && has_port(&p, port))
			*out = strdup(sv.v[i].name);
		world_ports_release(&p);
	}
	world_services_release(&sv);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err), -1;
	if (!*out)
		return failf(ctx,
			     "the process listening on port %u in %s "
			     "belongs to no service pwapt knows",
			     port, name),
		       -1;
	return 0;
}

/* Waits until no connection to PORT is in flight in world NAME (at most
 * DRAIN_TIMEOUT seconds; then says how many are cut). */
static void drain(struct context *ctx, const char *name, unsigned port)
{
	pid_t init = service_init_pid(ctx, name);
	const struct timespec pause = {0, 50 * 1000 * 1000};
	for (int i = 0; init && i < DRAIN_TIMEOUT * 20; i++) {
		if (!each_socket(init, port, pick_in_flight, NULL))
			return;
		nanosleep(&pause, NULL);
	}
	size_t n = init ? each_socket(init, port, pick_in_flight, NULL) : 0;
	if (n)
		fprintf(stderr,
			"%s: warning: %zu connection(s) to port %u of %s "
			"still open after %d s\n",
			ctx->cmd, n, port, name, DRAIN_TIMEOUT);
}

/* --- a request, from inside the world ------------------------------------ */

/* In the world: whether 127.0.0.1:PORT accepts a connection and answers
 * a request (HTTP's HEAD, which a line-based server answers too) with at
 * least a byte within 3 seconds. */
static int ask_port(void *arg)
{
	unsigned port = *(unsigned *)arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static const char req[] = "HEAD / HTTP/1.0\r\n\r\n";
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
		return 1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;
	return poll(&p, 1, 3000) == 1 && recv(fd, &c, 1, 0) == 1 ? 0 : 1;
}

static bool answers_once(struct context *ctx, const char *name, unsigned port)
{
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	pid_t pid;
	int st = 1;
	if (s && world_spawn(s, name, ask_port, &port, -1, &pid, &err) >= 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	world_store_free(s);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Whether every port of H answers in NAME within ANSWER_TIMEOUT seconds. */
static bool answers(struct context *ctx, const char *name,
		    const struct handover *h)
{
	const struct timespec pause = {0, 100 * 1000 * 1000};
	for (size_t i = 0; i < h->n_ports; i++) {
		int tries = ANSWER_TIMEOUT * 10;
		while (!answers_once(ctx, name, h->ports[i]) && --tries)
			nanosleep(&pause, NULL);
		if (!tries) {
			fprintf(stderr, "%s: port %u does not answer in %s\n",
				ctx->cmd, h->ports[i], name);
			return false;
		}
	}
	return true;
}

/* --- services ------------------------------------------------------------- */

/* Runs "/etc/init.d/SVC VERB" in NAME (systemctl VERB where NAME runs
 * systemd); true when it exits 0. */
static bool svc_run(struct context *ctx, const char *name, const char *svc,
		    const char *verb)
{
	_cleanup_free_ char *script = NULL, *unit = NULL;
	if (asprintf(&script, "/etc/init.d/%s", svc) < 0 ||
	    asprintf(&unit, "%s.service", svc) < 0)
		return false;
	struct world_exec_options xo = {.timeout = 120,
					.output_fd = chatter_fd(ctx)};
	int st = 1;
	char *systemd[] = {(char *)"test", (char *)"-d",
			   (char *)"/run/systemd/system", NULL};
	bool is_systemd = run_in(ctx, name, systemd, &xo, &st) >= 0 && !st;
	char *sysv[] = {script, (char *)verb, NULL};
	char *ctl[] = {(char *)"systemctl", (char *)verb, unit, NULL};
	return run_in(ctx, name, is_systemd ? ctl : sysv, &xo, &st) >= 0 &&
	       st == 0;
}

/* Starts those of S's services that do not answer in NAME; true when each
 * port answers then. */
static bool ensure_serving(struct context *ctx, const char *name,
			   const struct state *s)
{
	for (size_t i = 0; i < s->h->n_ports; i++) {
		if (answers_once(ctx, name, s->h->ports[i]))
			continue;
		fprintf(chatter(ctx), "Starting %s in %s...\n", s->services[i],
			name);
		fflush(chatter(ctx));
		(void)svc_run(ctx, name, s->services[i], "start");
	}
	return answers(ctx, name, s->h);
}

/* Root's services (re)started on the files Root has now, answering on
 * their ports and passing the check command. */
static bool root_serves(struct context *ctx, const struct state *s)
{
	FILE *f = chatter(ctx);
	for (size_t i = 0; i < s->h->n_ports; i++) {
		bool again = false;
		for (size_t k = 0; k < i; k++)
			again |= !strcmp(s->services[k], s->services[i]);
		if (again)
			continue;
		fprintf(f, "Starting %s in Root... ", s->services[i]);
		fflush(f);
		int r = service_restart_in_root(ctx, s->services[i], true);
		fprintf(f, "%s\n", r > 0 ? "done" : "FAILED");
		if (r <= 0)
			return false;
	}
	if (!answers(ctx, WORLD_ROOT, s->h))
		return false;
	if (!s->h->check)
		return true;
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)s->h->check,
			NULL};
	struct world_exec_options xo = {.timeout = 120,
					.output_fd = chatter_fd(ctx)};
	int st = 1;
	if (run_in(ctx, WORLD_ROOT, argv, &xo, &st) >= 0 && st == 0)
		return true;
	fprintf(stderr, "%s: the check '%s' failed in Root (exit %d)\n",
		ctx->cmd, s->h->check, st);
	return false;
}

/* --- the note ------------------------------------------------------------- */

static void note_write(struct context *ctx, const struct state *s)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	if (s) {
		fprintf(f,
			"pid %d %llu %s\nsrc %s\nstandin %s\nmerge %" PRIu64
			"\nstep %s\n",
			(int)getpid(), proc_start_time(getpid()), boot_id(),
			s->src, s->standin, s->merge_id, step_names[s->step]);
		for (size_t i = 0; i < s->h->n_ports; i++)
			fprintf(f, "port %u %s\n", s->h->ports[i],
				s->services[i]);
		for (size_t i = 0; s->step >= STEP_STOP && i < s->removed.n;
		     i++)
			if (s->removed.v[i].removed)
				fprintf(f, "removed %s\n",
					s->removed.v[i].name);
	}
	if (fclose(f) != 0)
		return;
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	if (st &&
	    world_note_write(st, WORLD_ROOT, "handover", buf, len, &err) < 0)
		fprintf(stderr, "%s: warning: %s\n", ctx->cmd, SHOWN(err.msg));
	world_store_free(st);
}

static void step_to(struct context *ctx, struct state *s, enum step step)
{
	s->step = step;
	note_write(ctx, s);
	char point[32];
	snprintf(point, sizeof(point), "handover-%s", step_names[step]);
	crash_point(point);
}

/* --- the steps ------------------------------------------------------------ */

static int world_op(struct context *ctx, const char *what,
		    int (*fn)(struct world_store *, const char *, unsigned,
			      struct world_error *),
		    const char *name, unsigned port, bool quiet_enoent)
{
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	int r = s ? fn(s, name, port, &err) : -EIO;
	world_store_free(s);
	if (r < 0 && s && !(quiet_enoent && r == -ENOENT))
		fprintf(stderr, "%s: %s: %s\n", ctx->cmd, what, SHOWN(err.msg));
	return quiet_enoent && r == -ENOENT ? 0 : r;
}

static int take_over(struct context *ctx, struct state *s)
{
	for (size_t i = 0; i < s->h->n_ports; i++)
		if (world_op(ctx, "takeover", world_net_takeover, s->standin,
			     s->h->ports[i], false) < 0)
			return -1;
	FILE *f = chatter(ctx);
	fprintf(f, "New connections to Root's port%s",
		s->h->n_ports > 1 ? "s" : "");
	for (size_t i = 0; i < s->h->n_ports; i++)
		fprintf(f, "%s%u", i ? "," : " ", s->h->ports[i]);
	fprintf(f, " go to %s.\n", s->standin);
	return 0;
}

/* The ports back to Root, the stand-in's connections finished, the
 * stand-in gone.  -1 when a port could not be released. */
static int release_and_delete(struct context *ctx, struct state *s)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	_cleanup_strv_free_ char **names = NULL;
	bool exists = st && world_names(st, &names, &err) >= 0 &&
		      strv_contains(names, s->standin);
	world_store_free(st);
	if (!exists)
		return 0; /* never made, or deleted: its rules went with it */
	int r = 0;
	for (size_t i = 0; i < s->h->n_ports; i++)
		if (world_op(ctx, "release", world_net_release_port, s->standin,
			     s->h->ports[i], true) < 0)
			r = -1;
	if (r < 0)
		return -1;
	fprintf(chatter(ctx), "Root's ports are back with Root.\n");
	for (size_t i = 0; i < s->h->n_ports; i++)
		drain(ctx, s->standin, s->h->ports[i]);
	const char *const gone[] = {s->standin};
	st = open_store(ctx);
	if (st && world_delete(st, gone, 1, &err) < 0)
		fprintf(stderr, "%s: warning: cannot delete %s: %s\n", ctx->cmd,
			s->standin, SHOWN(err.msg));
	world_store_free(st);
	return 0;
}

/* After a failure with the stand-in serving: the merge (when done) rolled
 * back, Root's old services started; the ports go back only to a Root that
 * answers.  Returns EXIT_FAIL either way. */
static int put_back(struct context *ctx, struct state *s)
{
	if (s->step >= STEP_MERGE && s->merge_id) {
		struct world_store *st = open_store(ctx);
		struct world_error err = {0};
		/* Never forced: a path Root changed since the merge (an
		 * administrator's edit while the handover waited, even a
		 * recovery much later) keeps the merge, and says so. */
		int r = st ? world_rollback(st, WORLD_ROOT, s->merge_id, false,
					    NULL, &err)
			   : -EIO;
		world_store_free(st);
		if (r < 0 && st) {
			fprintf(stderr,
				"%s: cannot roll back merge %" PRIu64
				" (it stays; pwapt rollback --id %" PRIu64
				" when Root's changes may go): ",
				ctx->cmd, s->merge_id, s->merge_id);
			put_text(stderr, err.msg);
			fputc('\n', stderr);
		}
		/* Kept: the others of the plan run on the merged files,
		 * those stopped again or never reached too. */
		if (r < 0 && s->rest)
			handover_start_kept(ctx, s->rest);
		if (r >= 0) {
			fprintf(chatter(ctx),
				"Rolled back merge %" PRIu64
				" (%s into Root).\n",
				s->merge_id, s->src);
			/* The old files: systemd, then the others of the
			 * plan, before the services on the ports. */
			if (s->reexec)
				(void)service_reexec_init(ctx, WORLD_ROOT);
			size_t down =
				s->rest ? service_restore_old(ctx, s->rest) : 0;
			if (down)
				fprintf(stderr,
					"%s: %zu service%s of Root did not "
					"come back on the old files\n",
					ctx->cmd, down, down == 1 ? "" : "s");
			/* A recovery does not roll it back again (one
			 * killed before this note sees it rolled back). */
			crash_point("handover-rolled-back");
			s->merge_id = 0;
			note_write(ctx, s);
		}
	}
	if (s->step >= STEP_STOP && !s->merge_id)
		service_start_again_in_src(ctx, &s->removed);
	if (s->step >= STEP_STOP) {
		struct handover none = *s->h;
		none.check = NULL; /* the old files are what they were */
		const struct handover *h = s->h;
		s->h = &none;
		bool ok = root_serves(ctx, s);
		s->h = h;
		if (!ok) {
			fprintf(stderr,
				"%s: Root's services do not come back: %s "
				"keeps Root's ports (pwapt recover tries "
				"again)\n",
				ctx->cmd, s->standin);
			return EXIT_FAIL;
		}
	}
	if (release_and_delete(ctx, s) < 0)
		return EXIT_FAIL;
	note_write(ctx, NULL);
	return EXIT_FAIL;
}

static int make_standin(struct context *ctx, struct state *s)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	unsigned long n = 0;
	const char *const parents[] = {WORLD_ROOT};
	int r = st ? world_store_next_serial(st, "handover", &n, &err) : -EIO;
	world_store_free(st);
	if (r >= 0) {
		snprintf(s->standin, sizeof(s->standin), "handover-%lu", n);
		note_write(ctx, s);
		st = open_store(ctx);
		r = st ? world_create(st, s->standin, parents, 1, NULL, &err)
		       : -EIO;
		world_store_free(st);
	}
	if (r < 0) {
		if (st)
			fprintf(stderr, "%s: cannot create a stand-in: %s\n",
				ctx->cmd, SHOWN(err.msg));
		return -1;
	}
	fprintf(chatter(ctx), "%s stands in for Root.\n", s->standin);
	return ensure_serving(ctx, s->standin, s) ? 0 : -1;
}

static void release_state(struct state *s)
{
	for (size_t i = 0; i < HANDOVER_MAX_PORTS; i++)
		free(s->services[i]);
	service_plan_release(&s->removed);
}

int handover_merge(struct context *ctx, const char *src, const char *dst,
		   unsigned flags, const struct handover *h,
		   struct world_diff *conflicts, uint64_t *id)
{
	if (strcmp(dst, WORLD_ROOT))
		return failf(ctx,
			     "--handover: takeovers are of Root's ports; "
			     "'%s' is not Root",
			     dst);
	int rec = handover_recover(ctx);
	if (rec == 2)
		return failf(ctx, "another handover into Root is under way");
	if (rec < 0)
		return EXIT_FAIL;
	struct state s = {.src = src, .h = h, .step = STEP_CHECK};
	int code = EXIT_FAIL;
	for (size_t i = 0; i < h->n_ports; i++)
		if (service_on_port(ctx, WORLD_ROOT, h->ports[i],
				    &s.services[i]) < 0)
			goto out;
	handover_plan_removed(ctx, src, &s.removed);
	const char *gone =
		handover_removed_on_port(&s.removed, s.services, h->n_ports);
	if (gone) {
		failf(ctx,
		      "cannot hand over '%s' into Root: its merge removes %s, "
		      "which serves a port of --handover (merge it without "
		      "--handover): Root is untouched",
		      src, gone);
		goto out;
	}
	bool late = s.removed.conflicts && !(flags & WORLD_MERGE_FORCE);
	/* The new version works in SRC before Root is touched. */
	if (!ensure_serving(ctx, src, &s)) {
		failf(ctx,
		      "the services on the ports do not answer in '%s': "
		      "Root is untouched",
		      src);
		goto out;
	}
	s.step = STEP_STANDIN;
	if (make_standin(ctx, &s) < 0) {
		code = put_back(ctx, &s);
		goto out;
	}
	crash_point("handover-standin");
	step_to(ctx, &s, STEP_TAKEOVER);
	if (take_over(ctx, &s) < 0) {
		code = put_back(ctx, &s);
		goto out;
	}
	for (size_t i = 0; i < h->n_ports; i++)
		drain(ctx, WORLD_ROOT, h->ports[i]);
	step_to(ctx, &s, STEP_STOP);
	if (handover_stop_removed(ctx, &s.removed, src, late) < 0) {
		code = put_back(ctx, &s);
		goto out;
	}
	for (size_t i = 0; i < h->n_ports; i++)
		(void)svc_run(ctx, WORLD_ROOT, s.services[i], "stop");
	step_to(ctx, &s, STEP_MERGE);
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	int r = st ? world_merge(st, src, dst, flags, conflicts, &s.merge_id,
				 &err)
		   : -EIO;
	/* Through the store the merge held: nothing between the merge and
	 * the note that starts them again at its pwapt rollback. */
	if (r >= 0 && !late)
		handover_remember_removed(ctx, st, &s.removed, s.merge_id);
	/* wmerge's plan beyond the ports: Root's services that use a file
	 * the merge replaced join it. */
	if (r >= 0 && service_plan_after_merge(ctx, st, &s.removed) < 0)
		fprintf(stderr, "%s: warning: out of memory\n", ctx->cmd);
	/* Root's note for pwapt rollback: the whole plan (a late stop
	 * writes it again below). */
	if (r >= 0 && !late)
		service_remember_plan(ctx, st, &s.removed, NULL, s.merge_id);
	world_store_free(st);
	if (r >= 0)
		service_plan_order(ctx, &s.removed);
	char why[512] = "";
	if (r >= 0 && late &&
	    service_stop_removed_in_dst(ctx, &s.removed, why, sizeof(why)) < 0)
		fprintf(stderr,
			"%s: warning: %s: it runs on from the files the merge "
			"removed\n",
			ctx->cmd, why);
	if (r >= 0 && late) {
		handover_remember_removed(ctx, NULL, &s.removed, s.merge_id);
		service_remember_plan(ctx, NULL, &s.removed, NULL, s.merge_id);
	}
	if (r < 0) {
		if (st)
			fail(ctx, &err);
		s.merge_id = 0;
		code = put_back(ctx, &s);
		if (r == -EEXIST && conflicts && conflicts->n)
			code = EXIT_CONFLICTS;
		goto out;
	}
	if (id)
		*id = s.merge_id;
	fprintf(chatter(ctx), "Merged %s into Root (merge %" PRIu64 ").\n", src,
		s.merge_id);
	/* systemd first, as wmerge has it (service_reexec_init); then the
	 * others of the plan, so that the ports' check sees them too. */
	s.reexec = s.removed.reexec_init &&
		   service_reexec_init(ctx, WORLD_ROOT) == 0;
	step_to(ctx, &s, STEP_START);
	struct svc_plan rest = {0};
	s.rest = &rest;
	why[0] = '\0';
	int others = handover_start_others(ctx, &s.removed, s.services,
					   h->n_ports, &rest, why, sizeof(why));
	if (others < 0 || !root_serves(ctx, &s)) {
		/* Those new to Root go before their files do (a failure
		 * among them stopped them already). */
		if (others >= 0)
			service_stop_new_in_dst(ctx, &rest);
		fprintf(stderr,
			"%s: Root's services fail on the merged files%s%s%s: "
			"rolling back while %s serves\n",
			ctx->cmd, *why ? " (" : "", why, *why ? ")" : "",
			s.standin);
		code = put_back(ctx, &s);
		s.rest = NULL;
		free(rest.v);
		goto out;
	}
	s.rest = NULL;
	free(rest.v);
	step_to(ctx, &s, STEP_RELEASE);
	if (release_and_delete(ctx, &s) < 0)
		goto out;
	note_write(ctx, NULL);
	code = EXIT_OK;
out:
	release_state(&s);
	return code;
}

/* --- recovery ------------------------------------------------------------- */

/* The note's "pid PID T BOOT" names its pwapt: *PID, *T0, BOOT (40 bytes;
 * "" in a note written before boots were named). */
static int parse_note(char *text, struct state *s, struct handover *h,
		      char **src, pid_t *pid, unsigned long long *t0,
		      char *boot)
{
	bool has_step = false;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char word[16], arg[128];
		unsigned port;
		int pd;
		if (sscanf(line, "pid %d %llu %39s", &pd, t0, boot) >= 2) {
			*pid = pd;
		} else if (sscanf(line, "src %127s", arg) == 1) {
			free(*src);
			*src = strdup(arg);
		} else if (sscanf(line, "standin %63s", s->standin) == 1) {
		} else if (sscanf(line, "merge %" SCNu64, &s->merge_id) == 1) {
		} else if (sscanf(line, "step %15s", word) == 1) {
			for (size_t i = 0; i <= STEP_RELEASE; i++)
				if (!strcmp(word, step_names[i])) {
					s->step = (enum step)i;
					has_step = true;
				}
		} else if (sscanf(line, "port %u %127s", &port, arg) == 2 &&
			   h->n_ports < HANDOVER_MAX_PORTS) {
			s->services[h->n_ports] = strdup(arg);
			h->ports[h->n_ports++] = port;
		} else if (sscanf(line, "removed %127s", arg) == 1 &&
			   handover_note_removed(&s->removed, arg) < 0) {
			return -1;
		}
	}
	return has_step && *src && s->standin[0] ? 0 : -1;
}

/* Whether the merge of SRC into Root happened: it is the last merge into
 * Root and SRC is gone.  Its id into *id. */
static bool src_merged(struct context *ctx, const char *src, uint64_t *id)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	struct world_merge_record m = {0};
	_cleanup_strv_free_ char **names = NULL;
	bool done = st && world_last_merge(st, WORLD_ROOT, &m, &err) >= 0 &&
		    m.src && !strcmp(m.src, src) &&
		    world_names(st, &names, &err) >= 0 &&
		    !strv_contains(names, src);
	if (done)
		*id = m.id;
	world_merge_record_release(&m);
	world_store_free(st);
	return done;
}

/* Whether merge ID is still the last merge into Root, the one pwapt
 * rollback undoes: not when it was rolled back (a put_back killed before
 * its note said so) or another came after it.  Kept when that cannot be
 * read. */
static bool merge_kept(struct context *ctx, uint64_t id)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	struct world_merge_record m = {0};
	int r = st ? world_last_merge(st, WORLD_ROOT, &m, &err) : -EIO;
	bool kept = r == -ENOENT ? false : r < 0 || m.id == id;
	world_merge_record_release(&m);
	world_store_free(st);
	return kept;
}

int handover_recover(struct context *ctx)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	_cleanup_free_ char *text = NULL, *src = NULL;
	int r = st ? world_note_read(st, WORLD_ROOT, "handover", &text, NULL,
				     &err)
		   : -EIO;
	world_store_free(st);
	if (r < 0 || !*text)
		return r == -ENOENT || (r >= 0 && !*text) ? 0 : -1;
	struct handover h = {.n_ports = 0};
	struct state s = {.h = &h};
	pid_t pid = 0;
	unsigned long long t0 = 0;
	char boot[40] = "";
	if (parse_note(text, &s, &h, &src, &pid, &t0, boot) < 0) {
		fprintf(stderr,
			"%s: warning: Root's handover note is "
			"damaged; left as it is\n",
			ctx->cmd);
		release_state(&s);
		return -1;
	}
	s.src = src;
	if (pid && proc_runs(pid, t0, boot)) {
		release_state(&s);
		return 2; /* its pwapt still runs */
	}
	fprintf(stderr,
		"%s: finishing the handover of %s into Root that stopped at "
		"its step '%s'\n",
		ctx->cmd, src, step_names[s.step]);
	if (s.step == STEP_MERGE && !src_merged(ctx, src, &s.merge_id))
		s.step = STEP_STOP; /* the merge itself rolled back */
	else if (s.merge_id && !merge_kept(ctx, s.merge_id))
		s.merge_id = 0;
	/* Not merged, or rolled back: those it stopped for good start
	 * again; merged, pwapt rollback starts them (the handover may have
	 * died before it said so). */
	if (s.step >= STEP_STOP && !s.merge_id)
		service_start_again_in_src(ctx, &s.removed);
	else if (s.merge_id)
		handover_recover_removed(ctx, &s.removed, s.merge_id);
	int code = EXIT_OK;
	if (s.step >= STEP_STOP && !root_serves(ctx, &s))
		code = put_back(ctx, &s); /* the merge's files fail */
	else if (release_and_delete(ctx, &s) < 0)
		code = EXIT_FAIL;
	else
		note_write(ctx, NULL);
	release_state(&s);
	return code == EXIT_OK ? 1 : -1;
}

int handover_cmd(struct context *ctx, const char *src, const char *dst,
		 unsigned flags, const char *ports, const char *check)
{
	struct handover h = {.check = check};
	if (handover_parse_ports(ctx, ports, &h) < 0)
		return EXIT_USAGE;
	struct world_diff conflicts = {0};
	int code = handover_merge(ctx, src, dst, flags, &h, &conflicts, NULL);
	if (code == EXIT_CONFLICTS)
		print_warnings(stdout, &conflicts, src, dst, false);
	else if (code == EXIT_OK)
		print_warnings(stderr, &conflicts, src, dst, false);
	world_diff_release(&conflicts);
	return code;
}

int handover_txn(struct context *ctx, const char *name, bool force,
		 const char *ports, const char *check)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	_cleanup_strv_free_ char **chain = NULL;
	struct txn t = {0};
	int r = txn_chain(s, name, &chain, &err);
	if (r >= 0 && (!chain[0] || chain[1]))
		r = -EINVAL,
		snprintf(err.msg, sizeof(err.msg),
			 "--handover merges one transaction built on Root: "
			 "merge the transactions below '%s' first",
			 name);
	if (r >= 0 && (r = txn_load(s, name, &t, &err)) >= 0 &&
	    t.phase != TXN_READY && !(force && t.phase == TXN_TESTS_FAILED))
		r = -EINVAL, snprintf(err.msg, sizeof(err.msg),
				      "cannot merge '%s': it is %s", name,
				      txn_phase_name(t.phase));
	txn_release(&t);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	return handover_cmd(ctx, name, WORLD_ROOT,
			    WORLD_MERGE_REBASE |
				    (force ? WORLD_MERGE_FORCE : 0),
			    ports, check);
}
