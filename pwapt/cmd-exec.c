#include "options.h"
#include "pwapt.h"

/* wexec's exit status is the command's own.  When pwapt itself fails (no
 * such world, a container that will not start) it says so on stderr,
 * prefixed "wexec:", and exits 1. */
int cmd_exec(struct context *ctx, int argc, char **argv)
{
	static const struct cmd_option options[] = {OPT_END};
	/* Options before NAME only: the command's own pass through. */
	static const struct cmd_usage usage = {
		.synopsis = "NAME COMMAND [ARG...]",
		.man = "wexec",
		.options_first = true,
	};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int status = 0;
	r = world_exec(s, argv[0], argv + 1, &status, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : status;
}
