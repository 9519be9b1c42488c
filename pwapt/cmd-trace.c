/* pwapt trace: a world's file-access table, and the collector that fills
 * the tables (pwapt-trace(8)): run (trace_run(), trace-run.c in
 * pwapt-trace, trace-exec.c in pwapt), start (trace-start.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "pwapt.h"
#include "quote.h"

/* trace = off: no collector runs, started or not. */
static bool refused_off(struct context *ctx)
{
	if (!ctx->trace || strcmp(ctx->trace, "off"))
		return false;
	fprintf(stderr, "%s: tracing is off (trace = off, PWAPT_TRACE)\n",
		ctx->cmd);
	return true;
}

/* pwapt trace start: the collector as a daemon, unless one runs. */
static int start_collector(struct context *ctx, struct world_store *s)
{
	char why[512];
	int r;

	if (refused_off(ctx)) {
		world_store_free(s);
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
		return refused_off(ctx) ? EXIT_FAIL : trace_run(ctx);
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
