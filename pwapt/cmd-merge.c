/* wmerge SRC DST [--force]; pwapt rollback; pwapt recover. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pwapt.h"

int cmd_merge(struct context *ctx, int argc, char **argv)
{
	(void)argc;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_diff conflicts = {0};
	unsigned flags = (ctx->force ? WORLD_MERGE_FORCE : 0) |
			 (ctx->rebase ? WORLD_MERGE_REBASE : 0);
	int r = world_merge(s, argv[0], argv[1], flags, &conflicts, &err);
	world_store_free(s);
	/* A rollback now undoes this merge, not a transaction's. */
	if (r >= 0 && !strcmp(argv[1], WORLD_ROOT))
		remember_services(ctx, NULL);
	if (r == -EEXIST && conflicts.n) {
		fail(ctx, &err);
		print_warnings(stdout, &conflicts, argv[0], argv[1], false);
		world_diff_release(&conflicts);
		return EXIT_CONFLICTS;
	}
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}

int cmd_recover(struct context *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* Opening the store is what recovers; this only says what it did. */
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	printf("%s\n", world_store_recovered(s)
			       ? "recovered an interrupted merge"
			       : "nothing to recover");
	world_store_free(s);
	return EXIT_OK;
}

int cmd_rollback(struct context *ctx, int argc, char **argv)
{
	const char *dst = argc ? argv[0] : WORLD_ROOT;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	char *changed = NULL;
	int r = world_rollback(s, dst, ctx->force, &changed, &err);
	world_store_free(s);
	if (r == -EEXIST && changed) {
		fail(ctx, &err);
		for (char *line = changed; *line;) {
			char *nl = strchr(line, '\n');
			printf("! %.*s: changed since the merge\n",
			       (int)(nl ? nl - line : (long)strlen(line)),
			       line);
			line = nl ? nl + 1 : line + strlen(line);
		}
		free(changed);
		return EXIT_CONFLICTS;
	}
	if (r < 0)
		return fail(ctx, &err);
	if (!strcmp(dst, WORLD_ROOT) && !ctx->no_restart)
		restart_after_rollback(ctx);
	return EXIT_OK;
}
