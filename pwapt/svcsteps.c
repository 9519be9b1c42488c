/* The steps that move services with a merge (service.h, "Moving
 * services"): the stops before it, the starts, restarts and checks after
 * it, and the way back when the merge is refused or a check fails.  The
 * plan they follow is svcmove.c's. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"
#include "service.h"

int service_stop_in_src(struct context *ctx, struct svc_plan *p)
{
	FILE *f = chatter(ctx);
	int bad = 0;
	for (size_t i = p->n; i-- > 0;) {
		struct svc_item *it = &p->v[i];
		if (!it->in_src)
			continue;
		fprintf(f, "Stopping %s in %s... ", it->name, p->src);
		fflush(f);
		int st = service_command(ctx, p->src, it->name, "stop", false);
		it->stopped = st == 0;
		fprintf(f, "%s\n", st == 0 ? "done" : "FAILED");
		fflush(f);
		if (st != 0)
			bad = -1;
	}
	return bad;
}

int service_stop_removed_in_dst(struct context *ctx, struct svc_plan *p,
				char *why, size_t why_len)
{
	FILE *f = chatter(ctx);
	for (size_t i = p->n; i-- > 0;) {
		struct svc_item *it = &p->v[i];
		if (!it->removed)
			continue;
		/* Down already (status 3, LSB's "not running", as
		 * systemctl is-active says of an inactive unit): it died
		 * since the plan; not this merge's to start again.  Any
		 * other answer counts as running (a script without
		 * status): the safe side is to start it again. */
		bool was_down = service_command(ctx, p->dst, it->name, "status",
						true) == 3;
		fprintf(f, "Stopping %s in %s (%s)... ", it->name, p->dst,
			it->why);
		fflush(f);
		int st = service_command(ctx, p->dst, it->name, "stop", false);
		/* An init script that exits 0 without its program may not
		 * have stopped anything, and one that fails may have: asked
		 * again.  One down, whatever its stop said, starts again if
		 * the merge is refused. */
		int status =
			service_command(ctx, p->dst, it->name, "status", true);
		bool ok = st == 0 && status > 0;
		it->stopped = !was_down && (st == 0 || status > 0);
		fprintf(f, "%s\n",
			!ok	   ? "FAILED"
			: was_down ? "done (it did not run)"
				   : "done");
		fflush(f);
		if (!ok) {
			snprintf(why, why_len, "%s does not stop in %s",
				 it->name, p->dst);
			return -1;
		}
	}
	return 0;
}

size_t service_start_again_in_src(struct context *ctx, struct svc_plan *p)
{
	FILE *f = chatter(ctx);
	size_t down = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct svc_item *it = &p->v[i];
		if (!it->stopped)
			continue;
		const char *w = it->removed ? p->dst : p->src;
		fprintf(f, "Starting %s in %s again... ", it->name, w);
		fflush(f);
		/* Asked whatever its start said: an init script may exit 0
		 * without starting anything. */
		bool up = service_command(ctx, w, it->name, "start", false) ==
				  0 &&
			  service_runs(ctx, w, it->name);
		fprintf(f, "%s\n", up ? "done" : "FAILED");
		fflush(f);
		if (up)
			it->stopped = false;
		else
			down++;
	}
	return down;
}

size_t service_start_again_noted(struct context *ctx, struct svc_plan *p)
{
	size_t down = service_start_again_in_src(ctx, p);
	service_pending_left(ctx, p, 0,
			     down ? "nothing was merged, and these services it "
				    "stopped did not start again"
				  : NULL,
			     NULL, NULL);
	if (down)
		fprintf(stderr,
			"%s: %zu service%s stopped for the merge did not start "
			"again (pwapt recover names %s)\n",
			ctx->cmd, down, down == 1 ? "" : "s",
			down == 1 ? "it" : "them");
	return down;
}

/* Where WORLD runs systemd: it loads the unit files again, which the
 * merge (or its roll-back) may have added or replaced; systemd starts a
 * unit as it loaded it until told. */
static void reload_units(struct context *ctx, const char *world)
{
	if (!service_world_systemd(ctx, world))
		return;
	char *reload[] = {(char *)"systemctl", (char *)"daemon-reload", NULL};
	_cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct world_exec_options xo = {.timeout = 60, .output_fd = null};
	int st = 1;
	(void)run_in(ctx, world, reload, &xo, &st);
}

ssize_t service_start_in_dst(struct context *ctx, struct svc_plan *p,
			     char *why, size_t why_len)
{
	FILE *f = chatter(ctx);
	if (p->n)
		reload_units(ctx, p->dst);
	for (size_t i = 0; i < p->n; i++) {
		struct svc_item *it = &p->v[i];
		const char *verb = it->in_dst ? "restart" : "start";
		if (it->removed)
			continue;
		fprintf(f, "%s %s in %s... ",
			it->in_dst ? "Restarting" : "Starting", it->name,
			p->dst);
		fflush(f);
		it->done = true; /* touched: the way back sees to it */
		int st = service_command(ctx, p->dst, it->name, verb, false);
		if (st != 0) {
			fprintf(f, "FAILED\n");
			fflush(f);
			snprintf(why, why_len, "%s %s of %s failed in %s",
				 service_world_systemd(ctx, p->dst)
					 ? "systemctl"
					 : "its init script's",
				 verb, it->name, p->dst);
			return (ssize_t)i;
		}
		if (service_health_check(ctx, p->dst, it->name, &it->ports,
					 why, why_len) < 0) {
			fprintf(f, "FAILED\n");
			fflush(f);
			return (ssize_t)i;
		}
		fprintf(f, "done, checked\n");
		fflush(f);
	}
	return -1;
}

void service_stop_new_in_dst(struct context *ctx, struct svc_plan *p)
{
	FILE *f = chatter(ctx);
	for (size_t i = 0; i < p->n; i++) {
		struct svc_item *it = &p->v[i];
		if (!it->done || it->in_dst)
			continue;
		/* It did not run in DST before the merge; its init script
		 * or unit may be one the roll-back takes away. */
		fprintf(f, "Stopping %s in %s... ", it->name, p->dst);
		fflush(f);
		int st = service_command(ctx, p->dst, it->name, "stop", false);
		fprintf(f, "%s\n", st == 0 ? "done" : "FAILED");
		fflush(f);
	}
}

size_t service_restore_old(struct context *ctx, struct svc_plan *p)
{
	FILE *f = chatter(ctx);
	size_t down = 0;
	if (p->n)
		reload_units(ctx, p->dst);
	for (size_t i = 0; i < p->n; i++) {
		struct svc_item *it = &p->v[i];
		bool again = it->removed && it->stopped;
		if (!again && (!it->done || !it->in_dst))
			continue;
		fprintf(f, "%s %s in %s on the old files... ",
			again ? "Starting" : "Restarting", it->name, p->dst);
		fflush(f);
		int st = service_command(ctx, p->dst, it->name,
					 again ? "start" : "restart", false);
		/* A daemon started in the background may write its pid
		 * file a moment later, restarted as started again: each gets
		 * the settle time of a check (its ports are not asked). */
		char why[512];
		bool ok = st == 0 &&
			  service_health_check(ctx, p->dst, it->name, NULL, why,
					       sizeof(why)) == 0;
		fprintf(f, "%s\n", ok ? "done" : "FAILED");
		fflush(f);
		it->down = !ok;
		down += !ok;
	}
	return down;
}
