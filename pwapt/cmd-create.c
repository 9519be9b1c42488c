#include <stdio.h>

#include "options.h"
#include "pwapt.h"

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
	struct world_error err = {0};
	struct world_overlaps ov = {0};
	r = world_create_noted(s, argv[0], (const char *const *)argv + 1,
			       (size_t)argc - 1, NULL, 0,
			       no_sync ? WORLD_CREATE_VOLATILE : 0, &ov, &err);
	if (r >= 0 && no_sync)
		note_no_volatile(ctx, s, argv[0]);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);

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
			printf("! %s: from %s, hiding", ov.v[i].path,
			       ov.v[i].winner);
			for (char **l = ov.v[i].losers; *l; l++)
				printf(" %s", *l);
			putchar('\n');
		}
	}
	world_overlaps_release(&ov);
	return EXIT_OK;
}
