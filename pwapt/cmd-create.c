/* wcreate: a world, and the trace collector when it is the first. */
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "pwapt.h"
#include "quote.h"

/* How long wcreate waits for a running collector to trace the new world,
 * so that what the caller runs in it next is traced. */
#define TRACED_TIMEOUT_MS 5000

/* The collector, started unless tracing is off or one runs: before the
 * world, so that the world is traced from its start.  Opens the store
 * again afterwards (*S), since the collector opens it too.  False (WHY
 * says why) when tracing is on and no collector could start. */
static bool start_tracing(struct context *ctx, struct world_store **s,
			  char *why, size_t len)
{
	/* A collector that holds its lock while its starter waits for it
	 * does not trace yet: wait with the starter. */
	if ((ctx->trace && !strcmp(ctx->trace, "off")) ||
	    (!world_trace_starting(*s) && world_trace_collector_runs(*s)))
		return true;
	world_store_unlock(*s);
	int r = trace_start(ctx, *s, why, len);
	world_store_free(*s);
	*s = open_store(ctx);
	return r >= 0;
}

int cmd_create(struct context *ctx, int argc, char **argv)
{
	bool no_sync = false;
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_FLAG("volatile", &no_sync,
			 "  --volatile   no crash safety: faster writes, and a "
			 "crash or reboot\n"
			 "               leaves the world to be deleted"),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--json] [--volatile] NAME PARENT...",
		.man = "wcreate",
	};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	char why[512];
	bool tracing = start_tracing(ctx, &s, why, sizeof(why));
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_overlaps ov = {0};
	r = world_create_noted(s, argv[0], (const char *const *)argv + 1,
			       (size_t)argc - 1, NULL, 0,
			       no_sync ? WORLD_CREATE_VOLATILE : 0, &ov, &err);
	if (r < 0) {
		world_store_free(s);
		return fail(ctx, &err);
	}
	if (no_sync)
		note_no_volatile(ctx, s, argv[0]);
	note_no_redirect(ctx, s);
	/* Never silently untraced: a world no collector traces from its
	 * start has a trace that says incomplete. */
	if (!tracing) {
		fprintf(stderr, "%s: warning: cannot start the trace collector: "
				"%s\n%s: warning: the trace of %s is incomplete\n",
			ctx->cmd, why, ctx->cmd, argv[0]);
		if (world_trace_mark_untraced(s, argv[0], &err) < 0)
			fprintf(stderr, "%s: warning: %s\n", ctx->cmd, SHOWN(err.msg));
	}
	world_store_unlock(s);
	if (tracing && !(ctx->trace && !strcmp(ctx->trace, "off")) &&
	    !world_trace_wait_traced(s, argv[0], TRACED_TIMEOUT_MS))
		fprintf(stderr, "%s: warning: the trace collector has not traced "
				"%s within %d s: its trace may be incomplete\n",
			ctx->cmd, argv[0], TRACED_TIMEOUT_MS / 1000);
	world_store_free(s);

	/* Where parents overlap the first one wins; say so, path by path. */
	if (ctx->json) {
		printf("{\"name\":");
		json_string(stdout, argv[0]);
		printf(",\"overlaps\":[");
		for (size_t i = 0; i < ov.n; i++) {
			printf("%s{\"path\":", i ? "," : "");
			json_string(stdout, ov.v[i].path);
			printf(",\"winner\":");
			json_string(stdout, ov.v[i].winner);
			printf(",\"hidden\":[");
			for (char **l = ov.v[i].losers; *l; l++) {
				if (l != ov.v[i].losers)
					putchar(',');
				json_string(stdout, *l);
			}
			printf("]}");
		}
		printf("]}\n");
	} else {
		for (size_t i = 0; i < ov.n; i++) {
			fputs("! ", stdout);
			put_path(stdout, ov.v[i].path);
			printf(": from %s, hiding", ov.v[i].winner);
			for (char **l = ov.v[i].losers; *l; l++)
				printf(" %s", *l);
			putchar('\n');
		}
	}
	world_overlaps_release(&ov);
	return EXIT_OK;
}
