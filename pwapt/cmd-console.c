#include <unistd.h>

#include "pwapt.h"

int cmd_console(struct context *ctx, int argc, char **argv)
{
	(void)argc;
	if (!isatty(STDIN_FILENO))
		return failf(ctx, "standard input is not a terminal (use "
				  "wexec for commands without one)");
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int status = 0;
	int r = world_console(s, argv[0], &status, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : status;
}
