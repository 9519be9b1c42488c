/* The services of a handover's merge beyond its ports (see
 * handover-removed.h): those it removes from Root, and after the merge
 * the rest of the plan, by the plain merge's steps (service_plan_make,
 * service_stop_removed_in_dst, service_start_in_dst, ...), fitted to the
 * handover's own steps and note. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "../world/strv.h"
#include "handover-removed.h"
#include "quote.h"

void handover_plan_removed(struct context *ctx, const char *src,
			   struct svc_plan *p)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	int r = st ? service_plan_make(ctx, st, src, WORLD_ROOT, NULL, p, &err)
		   : -EIO;
	world_store_free(st);
	if (r >= 0)
		service_plan_order(ctx, p);
	else if (st)
		fprintf(stderr,
			"%s: warning: cannot tell which services of Root the "
			"merge removes: %s; they are left running\n",
			ctx->cmd, SHOWN(err.msg));
}

int handover_start_others(struct context *ctx, const struct svc_plan *p,
			  char *const *services, size_t n,
			  struct svc_plan *rest, char *why, size_t why_len)
{
	*rest = (struct svc_plan){.src = p->src, .dst = p->dst};
	rest->v = calloc(p->n + 1, sizeof(*rest->v));
	if (!rest->v) {
		fprintf(stderr,
			"%s: warning: out of memory: Root's services beyond "
			"the ports are left as they are\n",
			ctx->cmd);
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		bool port = false;
		for (size_t k = 0; k < n; k++)
			port |= !strcmp(p->v[i].name, services[k]);
		if (!port && !p->v[i].removed)
			rest->v[rest->n++] = p->v[i];
	}
	if (!rest->n || service_start_in_dst(ctx, rest, why, why_len) < 0)
		return 0;
	service_stop_new_in_dst(ctx, rest);
	return -1;
}

void handover_start_kept(struct context *ctx, const struct svc_plan *rest)
{
	FILE *f = chatter(ctx);
	for (size_t i = 0; i < rest->n; i++) {
		const struct svc_item *it = &rest->v[i];
		fprintf(f, "Starting %s in Root on the merged files... ",
			it->name);
		fflush(f);
		int st = service_command(ctx, WORLD_ROOT, it->name,
					 it->in_dst ? "restart" : "start",
					 false);
		fprintf(f, "%s\n", st == 0 ? "done" : "FAILED");
		fflush(f);
	}
}

const char *handover_removed_on_port(const struct svc_plan *p,
				     char *const *services, size_t n)
{
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = 0; k < n; k++)
			if (p->v[i].removed &&
			    !strcmp(p->v[i].name, services[k]))
				return services[k];
	return NULL;
}

int handover_stop_removed(struct context *ctx, struct svc_plan *p,
			  const char *src, bool late)
{
	char why[512] = "";
	if (late || service_stop_removed_in_dst(ctx, p, why, sizeof(why)) >= 0)
		return 0;
	fprintf(stderr,
		"%s: cannot merge '%s' into Root: %s, and the merge removes "
		"it (stop it by hand)\n",
		ctx->cmd, src, why);
	return -1;
}

void handover_remember_removed(struct context *ctx, struct world_store *st,
			       const struct svc_plan *p, uint64_t id)
{
	_cleanup_strv_ struct strv again = {0};
	for (size_t i = 0; i < p->n; i++) {
		const struct svc_item *it = &p->v[i];
		char *line = NULL;
		if (it->removed && it->stopped &&
		    (asprintf(&line, "stopped %s", it->name) < 0 ||
		     strv_push(&again, line) < 0)) {
			fprintf(stderr, "%s: warning: out of memory\n",
				ctx->cmd);
			return;
		}
	}
	if (again.n && st)
		service_remember_in(st, again.v, id);
	else if (again.n)
		service_remember(ctx, again.v, id);
}

void handover_recover_removed(struct context *ctx, const struct svc_plan *p,
			      uint64_t id)
{
	struct world_store *st = open_store(ctx);
	struct world_error err = {0};
	_cleanup_free_ char *text = NULL;
	uint64_t noted = 0;
	/* Only the last merge can be rolled back: a note of any other
	 * (or none, or one that cannot be read) is of no use any more. */
	bool of_id = st &&
		     world_note_read(st, WORLD_ROOT, "restarted", &text, NULL,
				     &err) >= 0 &&
		     sscanf(text, "merge %" SCNu64, &noted) == 1 && noted == id;
	if (st && !of_id)
		handover_remember_removed(ctx, st, p, id);
	world_store_free(st);
}

int handover_note_removed(struct svc_plan *p, const char *name)
{
	struct svc_item *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	p->v = nv;
	nv[p->n] = (struct svc_item){.name = strdup(name),
				     .in_dst = true,
				     .removed = true,
				     .stopped = true,
				     .why = "its package is removed"};
	if (!p->dst)
		p->dst = strdup(WORLD_ROOT);
	return nv[p->n++].name && p->dst ? 0 : -1;
}
