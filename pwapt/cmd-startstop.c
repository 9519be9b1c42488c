/* start-all and stop-all: what the pwapt-worlds systemd unit runs at boot
 * and at shutdown, and what an administrator runs around maintenance. */
#include "handover.h"
#include "options.h"
#include "pwapt.h"

static int with_store(struct context *ctx,
		      int (*fn)(struct world_store *, struct world_error *))
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int r = fn(s, &err);
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}

static const struct cmd_option no_options[] = {OPT_END};
static const struct cmd_usage usage = {.synopsis = "", .man = "pwapt"};

int cmd_start_all(struct context *ctx, int argc, char **argv)
{
	int r = parse_options(ctx, &argc, &argv, no_options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	r = with_store(ctx, world_store_start_all);
	/* A handover its pwapt left (a crash, a reboot): its stand-in came
	 * back with its takeover of Root's ports; it is finished now, not
	 * left serving until someone runs pwapt recover. */
	if (handover_recover(ctx) < 0)
		r = EXIT_FAIL;
	return r;
}

int cmd_stop_all(struct context *ctx, int argc, char **argv)
{
	int r = parse_options(ctx, &argc, &argv, no_options, &usage);
	return r != OPTIONS_PARSED ? r : with_store(ctx, world_store_stop_all);
}
