#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "options.h"
#include "pwapt.h"
#include "quote.h"

static void human_size(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "BKMGTP";
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, size, "%.1f%c", v, units[u]);
}

static const char *kind_name(enum world_service_kind k)
{
	return k == WORLD_SERVICE_SYSTEMD ? "systemd" : "init";
}

static void print_services_json(const struct world_services *sv)
{
	printf(",\"services\":[");
	for (size_t k = 0; sv && k < sv->n; k++) {
		const struct world_service *x = &sv->v[k];
		printf("%s{\"name\":", k ? "," : "");
		json_string(stdout, x->name);
		printf(",\"kind\":\"%s\",\"enabled\":%s,\"running\":%s,"
		       "\"pids\":[",
		       kind_name(x->kind), x->enabled ? "true" : "false",
		       x->running ? "true" : "false");
		for (size_t j = 0; j < x->n_pids; j++)
			printf("%s%d", j ? "," : "", (int)x->pids[j]);
		printf("]");
		if (x->note) {
			printf(",\"note\":");
			json_string(stdout, x->note);
		}
		if (x->warning) {
			printf(",\"warning\":");
			json_string(stdout, x->warning);
		}
		printf("}");
	}
	printf("]");
	if (sv && sv->note) {
		printf(",\"services_note\":");
		json_string(stdout, sv->note);
	}
}

static void print_json(const struct world_list *l,
		       const struct world_services *sv)
{
	printf("[");
	for (size_t i = 0; i < l->n; i++) {
		const struct world_info *w = &l->v[i];
		printf("%s{\"name\":", i ? "," : "");
		json_string(stdout, w->name);
		printf(",\"parents\":[");
		for (char **p = w->parents; *p; p++) {
			if (p != w->parents)
				putchar(',');
			json_string(stdout, *p);
		}
		printf("],\"state\":\"%s\",\"layer_bytes\":%" PRIu64
		       ",\"created\":%" PRId64 ",\"init_pid\":%d",
		       world_state_name(w->state), w->layer_bytes, w->created,
		       (int)w->init_pid);
		print_services_json(&sv[i]);
		printf("}");
	}
	printf("]\n");
}

/* Each world's services, under its name. */
static void print_services(const struct world_list *l,
			   const struct world_services *sv)
{
	for (size_t i = 0; i < l->n; i++) {
		printf("\n%s:%s\n", l->v[i].name,
		       sv[i].n ? "" : " no services");
		if (sv[i].note) {
			fputs("  ! ", stdout);
			put_text(stdout, sv[i].note);
			putchar('\n');
		}
		if (!sv[i].n)
			continue;
		printf("  %-28s %-8s %-8s %-8s %s\n", "SERVICE", "KIND",
		       "ENABLED", "RUNNING", "PIDS");
		for (size_t k = 0; k < sv[i].n; k++) {
			const struct world_service *x = &sv[i].v[k];
			_cleanup_free_ char *shown = quote_path(x->name);
			printf("  %-28s %-8s %-8s %-8s",
			       shown ? shown : "?",
			       kind_name(x->kind), x->enabled ? "yes" : "no",
			       x->running ? "yes" : "no");
			for (size_t j = 0; j < x->n_pids; j++)
				printf("%s%d", j ? " " : "", (int)x->pids[j]);
			if (!x->n_pids)
				printf("-");
			printf("\n");
			if (x->note) {
				fputs("    ! ", stdout);
				put_text(stdout, x->note);
				putchar('\n');
			}
			if (x->warning) {
				fputs("    ! ", stdout);
				put_text(stdout, x->warning);
				putchar('\n');
			}
		}
	}
}

static void print_table(const struct world_list *l)
{
	printf("%-20s %-30s %-10s %s\n", "NAME", "PARENTS", "STATE", "LAYER");
	for (size_t i = 0; i < l->n; i++) {
		const struct world_info *w = &l->v[i];
		char parents[256] = "-", size[32] = "-";
		size_t n = 0;
		for (char **p = w->parents; *p && n < sizeof(parents); p++)
			n += (size_t)snprintf(parents + n, sizeof(parents) - n,
					      "%s%s",
					      p == w->parents ? "" : ",", *p);
		if (strcmp(w->name, WORLD_ROOT))
			human_size(size, sizeof(size), w->layer_bytes);
		printf("%-20s %-30s %-10s %s\n", w->name, parents,
		       world_state_name(w->state), size);
	}
}

int cmd_list(struct context *ctx, int argc, char **argv)
{
	bool services = false;
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_FLAG("services", &services,
			 "  --services  each world's init scripts and systemd "
			 "units: enabled, running, their pids"),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--json] [--services] ", .man = "wlist"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_list l = {0};
	r = world_list(s, &l, &err);
	struct world_services *sv = NULL;
	if (r >= 0 && (ctx->json || services) &&
	    !(sv = calloc(l.n + 1, sizeof(*sv))))
		r = -ENOMEM,
		snprintf(err.msg, sizeof(err.msg), "out of memory");
	/* A world unmounted (after a reboot) or damaged shows none: listing
	 * brings nothing up.  One that cannot be read says so and the
	 * others are listed. */
	for (size_t i = 0; r >= 0 && sv && i < l.n; i++) {
		struct world_error e2 = {0};
		if (l.v[i].state == WORLD_UNMOUNTED ||
		    l.v[i].state == WORLD_DAMAGED)
			continue;
		if (world_services(s, l.v[i].name, &sv[i], &e2) < 0)
			fprintf(stderr, "%s: %s\n", ctx->cmd, SHOWN(e2.msg));
	}
	world_store_free(s);
	if (r < 0) {
		world_list_release(&l);
		free(sv);
		return fail(ctx, &err);
	}
	if (ctx->json)
		print_json(&l, sv);
	else
		print_table(&l);
	if (services && !ctx->json)
		print_services(&l, sv);
	for (size_t i = 0; sv && i < l.n; i++)
		world_services_release(&sv[i]);
	free(sv);
	world_list_release(&l);
	return EXIT_OK;
}
