/* check-off NAME PATH...; check-off --list NAME; check-off --remove NAME
 * PATH... */
#include <stdio.h>
#include <stdlib.h>

#include "../world/cleanup.h"
#include "options.h"
#include "pwapt.h"

int cmd_checkoff(struct context *ctx, int argc, char **argv)
{
	bool list = false, remove_paths = false;
	const struct cmd_option options[] = {
		OPT_FLAG("list", &list, NULL),
		OPT_FLAG("remove", &remove_paths, NULL),
		OPT_END,
	};
	static const char *const more[] = {"--list NAME",
					   "--remove NAME PATH...", NULL};
	static const struct cmd_usage usage = {
		.synopsis = "NAME PATH...",
		.more = more,
		.man = "check-off",
	};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	if (list ? argc != 1 : argc < 2) {
		fprintf(stderr, "usage: check-off NAME PATH...\n"
				"       check-off --list NAME\n"
				"       check-off --remove NAME PATH...\n");
		return EXIT_USAGE;
	}
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	if (list) {
		_cleanup_strv_free_ char **v = NULL;
		r = world_checkoff_list(s, argv[0], &v, &err);
		for (char **p = v; r >= 0 && *p; p++)
			printf("%s\n", *p);
	} else {
		r = world_checkoff(s, argv[0], (const char *const *)argv + 1,
				   (size_t)argc - 1, remove_paths, &err);
	}
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}
