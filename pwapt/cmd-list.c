#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "pwapt.h"

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

static void print_json(const struct world_list *l)
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
		       ",\"created\":%" PRId64 ",\"init_pid\":%d}",
		       world_state_name(w->state), w->layer_bytes, w->created,
		       (int)w->init_pid);
	}
	printf("]\n");
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
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {.synopsis = "[--json] ",
					       .man = "wlist"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_list l = {0};
	r = world_list(s, &l, &err);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	if (ctx->json)
		print_json(&l);
	else
		print_table(&l);
	world_list_release(&l);
	return EXIT_OK;
}
