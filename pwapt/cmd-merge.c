/* wmerge [--force] [--rebase] SRC DST; pwapt rollback; pwapt recover. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "handover.h"
#include "options.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"
#include "txn.h"

#define FORCE_HELP "  --force  go on although the destination changed meanwhile"

int cmd_merge(struct context *ctx, int argc, char **argv)
{
	bool force = false, rebase = false;
	const char *handover = NULL, *check = NULL;
	const struct cmd_option options[] = {
		OPT_VALUE("handover", &handover, HANDOVER_HELP),
		OPT_VALUE("handover-check", &check, HANDOVER_CHECK_HELP),
		OPT_FLAG("force", &force, FORCE_HELP),
		OPT_FLAG("rebase", &rebase,
			 "  --rebase move the worlds built on SRC onto DST"),
		OPT_END,
	};
	static const struct cmd_usage usage = {.synopsis = "SRC DST",
					       .man = "wmerge"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	unsigned flags = (force ? WORLD_MERGE_FORCE : 0) |
			 (rebase ? WORLD_MERGE_REBASE : 0);
	if (handover || check)
		return handover
			       ? handover_cmd(ctx, argv[0], argv[1], flags,
					      handover, check)
			       : failf(ctx,
				       "--handover-check goes with --handover");
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_diff conflicts = {0};
	/* What DST's processes map and run: afterwards, those that use a
	 * file the merge replaced are named (wmerge restarts none). */
	struct world_file_users *users = NULL;
	struct world_error ue = {0};
	if (world_file_users(s, argv[1], &users, &ue) < 0)
		fprintf(stderr,
			"%s: warning: cannot read what the processes of %s "
			"use: %s\n",
			ctx->cmd, argv[1], ue.msg);
	r = world_merge(s, argv[0], argv[1], flags, &conflicts, NULL, &err);
	_cleanup_strv_free_ char **restart =
		r >= 0 && users ? service_with_replaced_users(ctx, s, argv[1],
							      users, NULL)
				: NULL;
	world_file_users_free(users);
	world_store_free(s);
	for (char **x = restart; x && *x; x++)
		printf("%s%s%s", x == restart ? "Restart them: " : ", ", *x,
		       x[1] ? "" : " (wmerge restarts no service).\n");
	if (r == -EEXIST && conflicts.n) {
		fail(ctx, &err);
		print_warnings(stdout, &conflicts, argv[0], argv[1], false);
		world_diff_release(&conflicts);
		return EXIT_CONFLICTS;
	}
	if (r >= 0) /* merged; what it could not judge, said */
		print_warnings(stderr, &conflicts, argv[0], argv[1], false);
	world_diff_release(&conflicts);
	return r < 0 ? fail(ctx, &err) : EXIT_OK;
}

int cmd_recover(struct context *ctx, int argc, char **argv)
{
	static const struct cmd_option options[] = {OPT_END};
	static const struct cmd_usage usage = {.synopsis = "", .man = "pwapt"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	/* Opening the store is what recovers; this only says what it did. */
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	bool merge = world_store_recovered(s);
	world_store_free(s);
	int ho = handover_recover(ctx);
	if (merge)
		printf("recovered an interrupted merge\n");
	if (ho == 1 || ho == 2)
		printf("%s\n", ho == 1 ? "finished an interrupted handover"
				       : "a handover into Root is under way");
	if (!merge && ho == 0)
		printf("nothing to recover\n");
	if (ho < 0)
		return EXIT_FAIL;
	if (!(s = open_store(ctx)))
		return EXIT_FAIL;
	/* Worlds a crash caught while volatile: nothing recovers them. */
	struct world_list l = {0};
	struct world_error err = {0};
	if (world_list(s, &l, &err) < 0) {
		world_store_free(s);
		return fail(ctx, &err);
	}
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].state == WORLD_CRASHED)
			printf("'%s' was volatile when its tree went away (a "
			       "crash, a reboot): its layer is not used; "
			       "wdelete %s (a transaction: the next "
			       "transaction command discards it)\n",
			       l.v[i].name, l.v[i].name);
	world_list_release(&l);
	world_store_free(s);
	return EXIT_OK;
}

/* --id ID: a merge's number, as `pwapt rollback` and the transactions
 * print it. */
static int parse_merge_id(struct context *ctx, const char *text, uint64_t *id)
{
	*id = 0;
	if (!text)
		return 0;
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || !*text || *end || n == 0 ||
	    !isdigit((unsigned char)*text)) {
		failf(ctx, "--id takes a merge's number, not '%s'", text);
		return -1;
	}
	*id = n;
	return 0;
}

int cmd_rollback(struct context *ctx, int argc, char **argv)
{
	bool force = false, no_restart = false;
	const char *merge_id = NULL;
	const struct cmd_option options[] = {
		OPT_FLAG("force", &force, FORCE_HELP),
		OPT_FLAG("no-restart", &no_restart,
			 "  --no-restart  leave Root's services as they are"),
		OPT_VALUE("id", &merge_id,
			  "  --id ID  roll back merge ID only if it is the "
			  "last merge into WORLD"),
		OPT_END,
	};
	static const struct cmd_usage usage = {.synopsis = "[--id ID] [WORLD]",
					       .man = "pwapt"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	const char *dst = argc ? argv[0] : WORLD_ROOT;
	uint64_t id;
	if (parse_merge_id(ctx, merge_id, &id) < 0)
		return EXIT_USAGE;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_merge_record last = {0};
	char *changed = NULL;
	/* The last merge, named before it is undone; with --id, the
	 * roll-back says why there is none to undo. */
	r = world_last_merge(s, dst, &last, &err);
	if (r >= 0 || id) {
		if (!id)
			id = last.id;
		r = world_rollback(s, dst, id, force, &changed, &err);
	}
	/* Transactions built on the merged one: how to throw them away. */
	_cleanup_strv_free_ char **txns = NULL;
	if (r == -EBUSY)
		(void)txn_rebased_by(s, &last, &txns, NULL);
	world_store_free(s);
	_cleanup_free_ char *src = steal_pointer(&last.src);
	world_merge_record_release(&last);
	if (r == -EEXIST && changed) {
		fail(ctx, &err);
		for (char *line = changed; *line;) {
			char *nl = strchr(line, '\n');
			_cleanup_free_ char *path = strndup(
				line, nl ? (size_t)(nl - line) : strlen(line));
			if (path) {
				fputs("! ", stdout);
				put_path(stdout, path);
				fputs(": changed since the merge\n", stdout);
			}
			line = nl ? nl + 1 : line + strlen(line);
		}
		free(changed);
		return EXIT_CONFLICTS;
	}
	if (r < 0) {
		fail(ctx, &err);
		for (char **t = txns; t && *t; t++)
			fprintf(stderr,
				"%s: %s is a transaction: pwapt discard %s "
				"throws it away\n",
				ctx->cmd, *t, *t);
		return EXIT_FAIL;
	}
	printf("Rolled back merge %" PRIu64 " (%s into %s).\n", id,
	       src ? src : "?", dst);
	if (!strcmp(dst, WORLD_ROOT) && !no_restart)
		service_restart_after_rollback(ctx, id);
	return EXIT_OK;
}
