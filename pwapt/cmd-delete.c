/* wdelete NAME...: stops and deletes worlds (world_delete's checks). */
#include "options.h"
#include "pwapt.h"

int cmd_delete(struct context *ctx, int argc, char **argv)
{
	static const struct cmd_option options[] = {OPT_END};
	static const struct cmd_usage usage = {.synopsis = "NAME...",
					       .man = "wdelete"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	r = world_delete_detached(s, (const char *const *)argv, (size_t)argc,
				  &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}
