#include <unistd.h>

#include "options.h"
#include "pwapt.h"

int cmd_console(struct context *ctx, int argc, char **argv)
{
	static const struct cmd_option options[] = {OPT_END};
	static const struct cmd_usage usage = {.synopsis = "NAME",
					       .man = "wconsole"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	if (!isatty(STDIN_FILENO))
		return failf(ctx, "standard input is not a terminal (use "
				  "wexec for commands without one)");
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int status = 0;
	r = world_console(s, argv[0], &status, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : status;
}
