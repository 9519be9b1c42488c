#include "pwapt.h"

/* wexec's exit status is the command's own.  When pwapt itself fails (no
 * such world, a container that will not start) it says so on stderr,
 * prefixed "wexec:", and exits 1. */
int cmd_exec(struct context *ctx, int argc, char **argv)
{
	(void)argc;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int status = 0;
	int r = world_exec(s, argv[0], argv + 1, &status, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : status;
}
