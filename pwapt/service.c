/* Services: those a world starts before its tests, those a merge restarts
 * in Root, and how a restarted one is seen to be healthy (see service.h). */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "../world/strv.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"

/* Seconds an init script may take to start a service in the world. */
#define SERVICE_TIMEOUT 120

/* rc2.d: "S02ssh" starts "ssh" in runlevel 2, Debian's default. */
static char *pick_service(int dir, const char *entry)
{
	(void)dir;
	if (entry[0] != 'S' || !isdigit((unsigned char)entry[1]) ||
	    !isdigit((unsigned char)entry[2]) || !run_parts_name(entry + 3))
		return NULL;
	return strdup(entry);
}

/* Whether world NAME runs systemd (sd_booted(): /run/systemd/system is
 * there), asked in the world: its container's PID 1 is the tree's own
 * systemd (pwapt.conf's init), or NAME is Root on a host that boots it. */
bool service_runs_systemd(struct context *ctx, const char *name)
{
	struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
					.output_fd = -1};
	char *argv[] = {(char *)"test", (char *)"-d",
			(char *)"/run/systemd/system", NULL};
	int st = 1;
	return run_in(ctx, name, argv, &xo, &st) >= 0 && st == 0;
}

/* Starts the services enabled in the world (its /etc/rc2.d), as a boot
 * would, so that tests find them running: a world's init is no init
 * system, and invoke-rc.d in maintainer scripts starts nothing there.
 * A world that runs systemd booted: what is enabled runs. */
void service_start_enabled(struct context *ctx, const char *name,
			   char *const *gone)
{
	if (service_runs_systemd(ctx, name))
		return;
	_cleanup_strv_free_ char **links =
		list_dir(ctx, name, "etc/rc2.d", pick_service);
	if (!links || !*links)
		return;
	FILE *f = chatter(ctx);
	for (char **l = links; *l; l++)
		if (strv_contains(gone, *l + 3))
			fprintf(f,
				"Not starting %s in %s: its package is "
				"removed\n",
				*l + 3, name);
	fprintf(f, "Starting the services of %s:", name);
	for (char **l = links; *l; l++)
		if (!strv_contains(gone, *l + 3))
			fprintf(f, " %s", *l + 3);
	fprintf(f, "\n");
	fflush(f);
	for (char **l = links; *l; l++) {
		_cleanup_free_ char *script = NULL;
		if (strv_contains(gone, *l + 3))
			continue;
		if (asprintf(&script, "/etc/init.d/%s", *l + 3) < 0)
			continue;
		char *argv[] = {script, (char *)"start", NULL};
		struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
						.output_fd = chatter_fd(ctx)};
		int status = 0;
		if (run_in(ctx, name, argv, &xo, &status) >= 0 && status)
			fprintf(stderr,
				"%s: warning: %s did not start in %s (exit "
				"%d)\n",
				ctx->cmd, *l + 3, name, status);
	}
}

/* What the last restart's health check found wrong ("" for none, or
 * when the service did not report running): said after its "FAILED". */
static char failed_check[512];

static void say_failed_check(struct context *ctx)
{
	if (failed_check[0])
		fprintf(stderr, "%s: %s\n", ctx->cmd, failed_check);
	failed_check[0] = '\0';
}

/* Restarts SERVICE in Root if it runs there, or if EVEN_STOPPED: with
 * systemctl where Root runs systemd, else through its init script.
 * Returns 1 when restarted and running, 0 when it was not running (and
 * left so), -1 when it did not come back. */
int service_restart_in_root(struct context *ctx, const char *service,
			    bool even_stopped)
{
	struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
					.output_fd = chatter_fd(ctx)};
	struct world_exec_options quiet = {.timeout = SERVICE_TIMEOUT,
					   .output_fd = -1};
	_cleanup_free_ char *unit = NULL, *script = NULL;
	if (asprintf(&unit, "%s.service", service) < 0 ||
	    asprintf(&script, "/etc/init.d/%s", service) < 0)
		return -1;
	int st = 1;
	bool is_systemd = service_runs_systemd(ctx, WORLD_ROOT);
	char *active[] = {(char *)"systemctl", (char *)"is-active",
			  (char *)"--quiet", unit, NULL};
	char *status[] = {script, (char *)"status", NULL};
	char *const *check = is_systemd ? active : status;
	/* A service that does not run (or has no init script) is left so. */
	quiet.output_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!even_stopped &&
	    (run_in(ctx, WORLD_ROOT, check, &quiet, &st) < 0 || st != 0)) {
		closep(&quiet.output_fd);
		return 0;
	}
	/* The ports it answers on now: after its restart, it must again. */
	struct world_ports ports = {0};
	(void)service_ports_of(ctx, WORLD_ROOT, service, &ports);
	char *restart_d[] = {(char *)"systemctl", (char *)"restart", unit,
			     NULL};
	char *restart_s[] = {script, (char *)"restart", NULL};
	/* The merge may have replaced the unit file: systemd restarts a unit
	 * as it loaded it, until told to load again.  One that failed (its
	 * restart on the new files did) may have met its start limit. */
	char *reload[] = {(char *)"systemctl", (char *)"daemon-reload", NULL};
	char *reset[] = {(char *)"systemctl", (char *)"reset-failed", unit,
			 NULL};
	if (is_systemd) {
		(void)run_in(ctx, WORLD_ROOT, reload, &quiet, &st);
		(void)run_in(ctx, WORLD_ROOT, reset, &quiet, &st);
	}
	int rs = 1;
	if (run_in(ctx, WORLD_ROOT, is_systemd ? restart_d : restart_s, &xo,
		   &rs) < 0)
		rs = 1;
	failed_check[0] = '\0';
	/* The check's first step is the wait for the service to report
	 * running and stay so for a second: no wait of its own before. */
	if (rs == 0 &&
	    service_health_check(ctx, WORLD_ROOT, service, &ports, failed_check,
				 sizeof(failed_check)) < 0)
		rs = 1;
	world_ports_release(&ports);
	closep(&quiet.output_fd);
	return rs == 0 ? 1 : -1;
}

/* One restart of a pass over Root's services: SERVICE, when it runs
 * there (or EVEN_STOPPED), is restarted on a line of its own,
 * "Restarting SERVICE in Root<ON>... done" (or FAILED; "Starting" when
 * SAY_START and it does not run: a rollback starting one the merge
 * stopped for good); one that does
 * not run is left as it is and added to IDLE, for say_idle() to name
 * with the others at the end of the pass: a package may ship dozens of
 * services that do not run (systemd's units), one line says that.  As
 * service_restart_in_root() returns. */
static int restart_said(struct context *ctx, const char *service,
			const char *on, bool even_stopped, bool say_start,
			struct strv *idle)
{
	if (!even_stopped &&
	    service_command(ctx, WORLD_ROOT, service, "status", true) != 0) {
		(void)strv_push(idle, strdup(service));
		return 0;
	}
	bool down = say_start && service_command(ctx, WORLD_ROOT, service,
						 "status", true) > 0;
	FILE *f = chatter(ctx);
	fprintf(f, "%s %s in Root%s... ", down ? "Starting" : "Restarting",
		service, on);
	fflush(f);
	int r = service_restart_in_root(ctx, service, true);
	fprintf(f, "%s\n", r > 0 ? "done" : "FAILED");
	fflush(f); /* before what pwapt says on stderr next */
	return r;
}

/* The services of a pass that do not run, in one line; empties IDLE. */
static void say_idle(struct context *ctx, struct strv *idle)
{
	FILE *f = chatter(ctx);
	for (size_t i = 0; i < idle->n; i++)
		fprintf(f, "%s%s%s",
			i	       ? ", "
			: idle->n == 1 ? "Not running in Root, left as it is: "
				       : "Not running in Root, left as they "
					 "are: ",
			idle->v[i], i + 1 < idle->n ? "" : ".\n");
	fflush(f);
	strv_free(idle);
}

/* Root's note "restarted": the merge into Root ("merge ID", its first
 * line) and the services it restarted, one a line, so that `pwapt
 * rollback` of that merge restarts them on the old files.  The merge's id
 * keeps them apart from another merge's: the lock is free while services
 * restart, and another merge may come in between. */
void service_remember_in(struct world_store *s, char *const *services,
			 uint64_t id)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	fprintf(f, "merge %" PRIu64 "\n", id);
	for (char *const *x = services; x && *x; x++)
		fprintf(f, "%s\n", *x);
	if (fclose(f) != 0)
		return;
	struct world_error err;
	(void)world_note_write(s, WORLD_ROOT, "restarted", buf, len, &err);
}

/* Pushes "PREFIX NAME" (PREFIX may be "") onto V. */
static int push_line(struct strv *v, const char *prefix, const char *name)
{
	char *line = NULL;
	if (asprintf(&line, "%s%s", prefix, name) < 0)
		line = NULL;
	return strv_push(v, line);
}

/* The one rule for both merges, wmerge's and pwapt merge's: a service is
 * started again by the rollback only when this merge took it down, so
 * "stopped NAME" only for one service_stop_removed_in_dst() saw run and
 * then stop (svc_item.stopped); one not stopped yet (wmerge's late stops)
 * is added once it is, when the note is written again. */
void service_remember_plan(struct context *ctx, struct world_store *s,
			   const struct svc_plan *p, char *const *restarted,
			   uint64_t id)
{
	_cleanup_strv_ struct strv v = {0};
	int r = 0;
	for (char *const *x = restarted; x && *x; x++) {
		bool removed = false;
		for (size_t i = 0; i < p->n; i++)
			removed |= p->v[i].removed && !strcmp(p->v[i].name, *x);
		if (!removed)
			r |= push_line(&v, "", *x);
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct svc_item *it = &p->v[i];
		if (it->removed && it->stopped)
			r |= push_line(&v, "stopped ", it->name);
		else if (!it->removed && !it->in_dst && it->added)
			r |= push_line(&v, "stop ", it->name);
		else if (!restarted && !it->removed && it->in_dst)
			r |= push_line(&v, "", it->name);
	}
	if (r < 0)
		return; /* out of memory: the note before stays */
	if (s)
		service_remember_in(s, v.v, id);
	else
		service_remember(ctx, v.v, id);
}

void service_remember(struct context *ctx, char *const *services, uint64_t id)
{
	struct world_store *s = open_store(ctx);
	if (s)
		service_remember_in(s, services, id);
	world_store_free(s);
}

/* Root's note "svcmove" (see svcnotes.c) of pwapt rollback of merge ID
 * (from SRC): "rollback of merge ID from SRC", then "start NAME" for
 * each of the N services of STOP that it stops (to start again while the
 * merge stands), and for each of AGAIN (M of them) what is to be done
 * once the merge is undone: "restart NAME on the old files", or "start
 * NAME on the old files" for one of STOPPED (the merge stopped it for
 * good).  0 or -1. */
static int rollback_note(struct context *ctx, uint64_t id, const char *src,
			 char *const *stop, size_t n, char *const *again,
			 size_t m, char *const *stopped)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	fprintf(f, "rollback of merge %" PRIu64 " from %s\n", id, src);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "start %s\n", stop[i]);
	for (size_t i = 0; i < m; i++)
		fprintf(f, "%s %s on the old files\n",
			strv_contains(stopped, again[i]) ? "start" : "restart",
			again[i]);
	if (fclose(f) != 0)
		return -1;
	return service_pending_put(ctx, WORLD_ROOT, buf);
}

/* Root's note of pending services after the rollback of merge ID, when
 * NAMES (N) did not run again on the old files: it names those alone.
 * Another merge's note (the lock is free while services restart), or
 * one that cannot be read, is left as it is. */
static void rollback_pending(struct context *ctx, uint64_t id, const char *src,
			     char *const *names, size_t n, char *const *stopped)
{
	struct world_store *s = open_store(ctx);
	_cleanup_free_ char *was = NULL;
	int r = s ? service_pending_load(s, WORLD_ROOT, &was, NULL) : -1;
	world_store_free(s);
	uint64_t of = 0;
	if (r < 0 ||
	    (was && ((sscanf(was, "merge %" SCNu64, &of) != 1 &&
		      sscanf(was, "rollback of merge %" SCNu64, &of) != 1) ||
		     of != id)))
		return; /* another merge's, for pwapt recover to say */
	(void)rollback_note(ctx, id, src, NULL, 0, names, n, stopped);
}

/* Root's note "restarted" of merge ID: the services to restart after its
 * rollback into AGAIN, those to stop before it ("stop NAME" lines) into
 * STOP, and of AGAIN those the merge stopped for good ("stopped NAME":
 * their package removed), started whether they run or not, into STOPPED
 * too.  1 when there is none, or it is another merge's; 0; -1 when it
 * cannot be read (out of memory too), WHY (WHY_LEN bytes) says why. */
static int read_restarted(struct context *ctx, uint64_t id, struct strv *again,
			  struct strv *stop, struct strv *stopped, char *why,
			  size_t why_len)
{
	_cleanup_free_ char *text = NULL;
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	int r = s ? world_note_read(s, WORLD_ROOT, "restarted", &text, NULL,
				    &err)
		  : -EIO;
	world_store_free(s);
	if (r == -ENOENT)
		return 1;
	if (r < 0) {
		snprintf(why, why_len,
			 "cannot read Root's note of the services merge "
			 "%" PRIu64 " restarted: %s",
			 id, s ? SHOWN(err.msg) : "cannot open the store");
		return -1;
	}
	uint64_t noted = 0;
	char *l = text;
	if (sscanf(text, "merge %" SCNu64, &noted) == 1)
		l = strchrnul(text, '\n');
	if (noted != id)
		return 1; /* another merge's services */
	if (*l == '\n')
		l++;
	for (; *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		bool is_stop = !strncmp(l, "stop ", 5);
		bool was_stopped = !strncmp(l, "stopped ", 8);
		const char *name = is_stop ? l + 5 : was_stopped ? l + 8 : l;
		if (*name &&
		    (strv_push(is_stop ? stop : again, strdup(name)) < 0 ||
		     (was_stopped && strv_push(stopped, strdup(name)) < 0))) {
			snprintf(why, why_len,
				 "out of memory reading Root's note of the "
				 "services merge %" PRIu64 " restarted",
				 id);
			return -1;
		}
		l = nl ? nl + 1 : l + strlen(l);
	}
	return 0;
}

/* "LEAD: a, b.\n" of the names of V, less those in BUT, on chatter. */
static void say_names(struct context *ctx, const char *lead,
		      const struct strv *v, const struct strv *but)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (!but || !strv_contains(but->v, v->v[i]))
			fprintf(chatter(ctx), "%s%s", n++ ? ", " : lead,
				v->v[i]);
	if (n)
		fprintf(chatter(ctx), ".\n");
}

pid_t service_init_pid(struct context *ctx, const char *name)
{
	struct world_store *s = open_store(ctx);
	struct world_list l = {0};
	struct world_error err = {0};
	pid_t pid = 0;
	if (s && world_list(s, &l, &err) >= 0)
		for (size_t i = 0; i < l.n; i++)
			if (!strcmp(l.v[i].name, name))
				pid = l.v[i].init_pid;
	world_list_release(&l);
	world_store_free(s);
	return pid;
}

/* Whether world NAME runs systemd as PID 1 and that maps code of a file
 * since deleted or replaced (as /proc/1/maps says in the world; not a
 * memfd, a device or System V shared memory): a rollback put the old
 * files back under it.  One that cannot be told is warned about. */
static bool init_runs_deleted(struct context *ctx, const char *name)
{
	struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
					.output_fd = -1};
	char *argv[] = {
		(char *)"awk",
		(char *)"$2 ~ /x/ && $6 ~ /^\\// && $NF == \"(deleted)\" && "
			"$6 !~ /^\\/(memfd:|dev\\/|SYSV)/ { f = 1 } "
			"END { exit !f }",
		(char *)"/proc/1/maps", NULL};
	int st = -1;
	/* A world that does not run has nothing to re-execute: it is not
	 * started for that (a rollback starts no container of its own). */
	if (service_init_pid(ctx, name) <= 0 ||
	    !service_runs_systemd(ctx, name))
		return false;
	if (run_in(ctx, name, argv, &xo, &st) < 0 || (st != 0 && st != 1))
		fprintf(stderr,
			"%s: warning: cannot tell whether systemd (PID 1) of "
			"%s maps files since replaced (awk: %s %d); if it "
			"does, run systemctl daemon-reexec there\n",
			ctx->cmd, name, st < 0 ? "not run," : "exit", st);
	return st == 0;
}

void service_say_left_after_rollback(struct context *ctx, uint64_t id)
{
	_cleanup_strv_ struct strv again = {0}, stop = {0}, stopped = {0};
	char why[512] = "";
	if (init_runs_deleted(ctx, WORLD_ROOT))
		fprintf(stderr,
			"%s: warning: systemd (PID 1) of Root maps files the "
			"rollback replaced: run systemctl daemon-reexec there "
			"(--no-restart)\n",
			ctx->cmd);
	int r = read_restarted(ctx, id, &again, &stop, &stopped, why,
			       sizeof(why));
	if (r < 0)
		fprintf(stderr,
			"%s: warning: %s: see to Root's services by hand\n",
			ctx->cmd, why);
	if (r)
		return;
	say_names(ctx,
		  "Not restarted on the old files (--no-restart): ", &again,
		  &stopped);
	say_names(ctx,
		  "Not started (--no-restart), down since the merge removed "
		  "their package, back now: ",
		  &stopped, NULL);
	say_names(ctx,
		  "Not stopped (--no-restart), though the rollback removed "
		  "their files: ",
		  &stop, NULL);
}

int service_stop_before_rollback(struct context *ctx, uint64_t id,
				 const char *src, char ***stopped, char **prev,
				 char *why, size_t why_len)
{
	_cleanup_strv_ struct strv again = {0}, stop = {0}, done = {0},
				   removed = {0};
	*stopped = NULL;
	*prev = NULL;
	int r = read_restarted(ctx, id, &again, &stop, &removed, why, why_len);
	if (r < 0)
		return -1;
	if (r > 0 || (!stop.n && !again.n))
		return 0;
	/* What the note held goes on top of Root's held notes
	 * ("svcmove-held") and comes back when the rollback is refused:
	 * also a wmerge's of this very merge killed among its services, or
	 * a killed rollback's of it, for a refused rollback leaves the
	 * merge and its services as they were (R15 #4); only one that went
	 * through drops them (service_pending_drop_held).  Both written
	 * before the first stop: killed among them, or before the files go,
	 * pwapt recover names the services to start again; killed once the
	 * merge is undone (its note "restarted" is then read no more),
	 * those to start and restart on the old files; and the notes before
	 * are still there.  A note that cannot be read refuses the
	 * rollback: it is never taken for none, and overwritten. */
	_cleanup_free_ char *now = NULL;
	if (service_pending_hold_read(ctx, WORLD_ROOT, &now, prev, why,
				      why_len) < 0)
		return -1;
	/* Its note is written over NOW only while NOW is still there
	 * (service_pending_put): one another command wrote since stays,
	 * and this one's goes among the held notes (R13 #6). */
	if (!ctx->pending_mine &&
	    !(ctx->pending_mine = strdup(now ? now : ""))) {
		snprintf(why, why_len, "out of memory");
		goto unhold;
	}
	/* Stopped here: another command may write its note meanwhile. */
	world_crash_point("rollback-held");
	if (world_crash_fail("rollback-note", EIO) < 0 ||
	    rollback_note(ctx, id, src, stop.v, stop.n, again.v, again.n,
			  removed.v) < 0) {
		snprintf(why, why_len,
			 "cannot write Root's note of the services it stops "
			 "and restarts");
		goto unhold;
	}
	FILE *f = chatter(ctx);
	for (size_t i = stop.n; i-- > 0;) { /* reverse start order */
		fprintf(f, "Stopping %s (started by merge %" PRIu64 ")... ",
			stop.v[i], id);
		fflush(f);
		int st = service_command(ctx, WORLD_ROOT, stop.v[i], "stop",
					 false);
		/* Asked again whatever its stop said: an init script may
		 * exit 0 without stopping anything, and a stop that failed
		 * on a service that does not run (a killed rollback stopped
		 * it) leaves it stopped all the same. */
		bool down = service_command(ctx, WORLD_ROOT, stop.v[i],
					    "status", true) > 0;
		fprintf(f, "%s\n", down ? "done" : "FAILED");
		fflush(f);
		if (!down) {
			if (st < 0)
				snprintf(why, why_len,
					 "%s (started by merge %" PRIu64
					 ") could not be stopped: its stop "
					 "did not run",
					 stop.v[i], id);
			else
				snprintf(why, why_len,
					 "%s (started by merge %" PRIu64
					 ") did not stop: its stop exited %d%s",
					 stop.v[i], id, st,
					 st ? "" : " and it still runs");
			service_start_after_refused_rollback(ctx, done.v,
							     *prev);
			free(steal_pointer(prev));
			return -1;
		}
		if (strv_push(&done, strdup(stop.v[i])) < 0) {
			snprintf(why, why_len, "out of memory");
			/* Those stopped, this one too, start again. */
			service_start_after_refused_rollback(ctx, stop.v + i,
							     *prev);
			free(steal_pointer(prev));
			return -1;
		}
	}
	/* Not NULL, none stopped too: the note is written, and a refused
	 * rollback puts the one before back. */
	*stopped = done.v ? steal_pointer(&done.v) : calloc(1, sizeof(char *));
	done.n = 0;
	if (!*stopped) {
		snprintf(why, why_len, "out of memory");
		service_start_after_refused_rollback(ctx, NULL, *prev);
		free(steal_pointer(prev));
		return -1;
	}
	return 0;
unhold:
	/* Nothing stopped: the note set aside comes off the held notes,
	 * not left there as a copy held again by each later command (R16
	 * L1). */
	(void)service_pending_restore(ctx, WORLD_ROOT, 0);
	free(steal_pointer(prev));
	return -1;
}

void service_start_after_refused_rollback(struct context *ctx,
					  char *const *stopped,
					  const char *prev)
{
	FILE *f = chatter(ctx);
	size_t n = 0;
	while (stopped && stopped[n])
		n++;
	bool all = true;
	for (size_t i = n; i-- > 0;) { /* stopped in reverse: start order */
		fprintf(f, "Starting %s again... ", stopped[i]);
		fflush(f);
		/* Asked whatever its start said: an init script may exit 0
		 * without starting anything. */
		bool up = service_command(ctx, WORLD_ROOT, stopped[i], "start",
					  false) == 0 &&
			  service_runs(ctx, WORLD_ROOT, stopped[i]);
		fprintf(f, "%s\n", up ? "done" : "FAILED");
		fflush(f);
		all &= up;
	}
	/* The note of those to start again goes once they run: the one
	 * kept aside (PREV) is back. */
	(void)prev;
	if (all)
		(void)service_pending_restore(ctx, WORLD_ROOT, 0);
}

int service_restart_after_rollback(struct context *ctx, uint64_t id,
				   const char *src, const char *prev, char *why,
				   size_t why_len)
{
	_cleanup_strv_ struct strv names = {0}, stop = {0}, stopped = {0};
	/* Root's systemd runs the old files again, before the services. */
	if (init_runs_deleted(ctx, WORLD_ROOT))
		(void)service_reexec_init(ctx, WORLD_ROOT);
	int r = read_restarted(ctx, id, &names, &stop, &stopped, why, why_len);
	if (r < 0)
		return -2; /* the note from before the rollback names them */
	/* None, or another merge's services. */
	if (r > 0) {
		service_pending_after_rollback(ctx, WORLD_ROOT, id, prev);
		return 0;
	}
	struct world_store *s;
	struct world_error err = {0};
	/* Killed while they restart: pwapt recover names them, from the
	 * note written before the rollback. */
	world_crash_point("rollback-restarting");
	_cleanup_strv_ struct strv idle = {0}, down = {0};
	bool any_down = false, down_unknown = false;
	for (size_t i = 0; i < names.n; i++) {
		bool start = strv_contains(stopped.v, names.v[i]);
		int rs = restart_said(ctx, names.v[i], "", start, start, &idle);
		if (rs >= 0) {
			say_failed_check(ctx);
			continue;
		}
		say_idle(ctx, &idle);
		/* The first is named in pwapt rollback's message. */
		if (!any_down && failed_check[0])
			snprintf(why, why_len, "%s", failed_check);
		else if (!any_down)
			snprintf(why, why_len,
				 "%s does not run after its restart in Root",
				 names.v[i]);
		if (!any_down)
			failed_check[0] = '\0';
		say_failed_check(ctx);
		any_down = true;
		if (strv_push(&down, strdup(names.v[i])) < 0)
			down_unknown = true;
	}
	say_idle(ctx, &idle);
	/* Out of memory: the note names every one, the safe side; none
	 * down: the note before the rollback's is back. */
	if (down_unknown)
		rollback_pending(ctx, id, src, names.v, names.n, stopped.v);
	else if (any_down)
		rollback_pending(ctx, id, src, down.v, down.n, stopped.v);
	else
		service_pending_after_rollback(ctx, WORLD_ROOT, id, prev);
	/* Emptied last, once the pending note says what is left. */
	if ((s = open_store(ctx)))
		(void)world_note_write(s, WORLD_ROOT, "restarted", "", 0, &err);
	world_store_free(s);
	return any_down ? -1 : 0;
}

ssize_t service_restart_all(struct context *ctx, char *const *services,
			    char *why, size_t why_len)
{
	_cleanup_strv_ struct strv idle = {0};
	for (size_t i = 0; services && services[i]; i++) {
		int r = restart_said(ctx, services[i], "", false, false, &idle);
		if (r < 0)
			say_idle(ctx, &idle);
		if (r < 0 && failed_check[0])
			snprintf(why, why_len, "%s", failed_check);
		else if (r < 0)
			snprintf(why, why_len, "%s does not run after its "
				 "restart in Root", services[i]);
		say_failed_check(ctx);
		if (r < 0)
			return (ssize_t)i;
	}
	say_idle(ctx, &idle);
	return -1;
}

size_t service_restart_old(struct context *ctx, char *const *services,
			   size_t failed, struct strv *down)
{
	_cleanup_strv_ struct strv idle = {0};
	size_t n = 0;
	for (size_t i = 0; i <= failed; i++) {
		int r = restart_said(ctx, services[i], " on the old files",
				     i == failed, false, &idle);
		say_failed_check(ctx);
		if (r >= 0)
			continue;
		n++;
		if (down)
			(void)strv_push(down, strdup(services[i]));
	}
	say_idle(ctx, &idle);
	return n;
}

size_t service_restart_kept(struct context *ctx, char *const *services,
			    size_t failed, struct strv *down)
{
	_cleanup_strv_ struct strv idle = {0};
	size_t n = 0;
	for (size_t i = failed; services[i]; i++) {
		int r = restart_said(ctx, services[i], " on the merged files",
				     i == failed, false, &idle);
		say_failed_check(ctx);
		if (r >= 0)
			continue;
		n++;
		if (down)
			(void)strv_push(down, strdup(services[i]));
	}
	say_idle(ctx, &idle);
	return n;
}

char *service_of_path(const char *path)
{
	static const char *const dirs[] = {"/lib/systemd/system/",
					   "/usr/lib/systemd/system/"};
	if (!strncmp(path, "/etc/init.d/", 12) && path[12] &&
	    !strchr(path + 12, '/') && path[12] != '.' &&
	    strcmp(path + 12, "README"))
		return strdup(path + 12);
	for (size_t i = 0; i < 2; i++) {
		size_t l = strlen(dirs[i]), n = strlen(path);
		if (strncmp(path, dirs[i], l) || n < l + 9 ||
		    strcmp(path + n - 8, ".service") || strchr(path + l, '/') ||
		    strchr(path + l, '@'))
			continue;
		return strndup(path + l, n - l - 8);
	}
	return NULL;
}

/* Appends a copy of S to the NULL-terminated *V (of *N) unless there. */
static int push_unique(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return 0;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	nv[++*n] = NULL;
	return 0;
}

void service_put_user(FILE *f, const struct world_replaced_user *u,
		      const char *dst)
{
	fprintf(f, "pid %d in %s (", (int)u->pid, dst);
	put_text(f, u->comm);
	fputs(") uses ", f);
	put_path(f, u->path);
}

int service_reexec_init(struct context *ctx, const char *dst)
{
	struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
					.output_fd = chatter_fd(ctx)};
	char *argv[] = {(char *)"systemctl", (char *)"daemon-reexec", NULL};
	if (!service_runs_systemd(ctx, dst)) {
		fprintf(stderr,
			"%s: warning: PID 1 of %s uses files the merge "
			"replaced, and is not systemd: restart it by hand\n",
			ctx->cmd, dst);
		return -1;
	}
	FILE *f = chatter(ctx);
	fprintf(f, "Re-executing systemd (PID 1) in %s...", dst);
	fflush(f);
	int st = 1;
	if (run_in(ctx, dst, argv, &xo, &st) < 0)
		st = -1;
	fprintf(f, st ? " FAILED\n" : " done\n");
	fflush(f);
	if (st)
		fprintf(stderr,
			"%s: warning: systemctl daemon-reexec failed in %s "
			"(%s %d): its PID 1 runs on from the files the merge "
			"replaced\n",
			ctx->cmd, dst, st < 0 ? "not run," : "exit", st);
	return st ? -1 : 0;
}

char **service_with_replaced_users(struct context *ctx, struct world_store *s,
				   const char *dst,
				   const struct world_file_users *before,
				   char *const *services, char *const *gone,
				   bool *reexec)
{
	char **all = calloc(1, sizeof(char *));
	size_t n = 0;
	for (char *const *x = services; all && x && *x; x++)
		if (push_unique(&all, &n, *x) < 0)
			strvfreep(&all);
	struct world_replaced_users ru = {0};
	struct world_error err = {0};
	if (all && before &&
	    world_replaced_users(s, dst, before, &ru, &err) < 0)
		fprintf(stderr,
			"%s: warning: cannot tell which processes of %s use "
			"replaced files: %s\n",
			ctx->cmd, dst, SHOWN(err.msg));
	FILE *f = chatter(ctx);
	for (size_t i = 0; all && i < ru.n; i++) {
		const struct world_replaced_user *u = &ru.v[i];
		bool stopped = false;
		for (char *const *g = gone; u->service && g && *g; g++)
			stopped |= !strcmp(*g, u->service);
		if (stopped)
			continue;
		/* PID 1, systemd, executes itself again on the new files
		 * (service_reexec_init, as needrestart has it do). */
		if (!u->service && u->pid == 1 && reexec && !ctx->no_restart) {
			*reexec = true;
			fprintf(f, "Pid 1 in %s (", dst);
			put_text(f, u->comm);
			fputs(") uses ", f);
			put_path(f, u->path);
			fputs(", which the merge replaced.\n", f);
			continue;
		}
		if (!u->service) {
			fprintf(stderr, "%s: warning: ", ctx->cmd);
			service_put_user(stderr, u, dst);
			fputs(", which the merge replaced, and belongs to no "
			      "service: restart it by hand\n",
			      stderr);
			continue;
		}
		fprintf(f, "Pid %d in %s (", (int)u->pid, dst);
		put_text(f, u->comm);
		fprintf(f, ") of service %s uses ", u->service);
		put_path(f, u->path);
		fputs(", which the merge replaced.\n", f);
		if (push_unique(&all, &n, u->service) < 0)
			strvfreep(&all);
	}
	world_replaced_users_release(&ru);
	return all;
}
