#include "pwapt.h"

int cmd_delete(struct context *ctx, int argc, char **argv)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int r = world_delete(s, (const char *const *)argv, (size_t)argc, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}
