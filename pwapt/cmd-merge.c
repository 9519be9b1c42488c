/* wmerge [--force] [--rebase] [--plan] [--no-restart] [--json] SRC DST; pwapt rollback. */
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

/* --json: the report of a wmerge, on stdout; with the warnings of
 * WARNED (NULL: none looked for yet), as wdiff --json has them. */
static void print_json(const char *src, const char *dst, bool merged,
		       uint64_t id, const struct svc_plan *p,
		       const char *failed, bool rolled_back,
		       const struct world_diff *warned)
{
	printf("{\"src\":");
	json_string(stdout, src);
	printf(",\"dst\":");
	json_string(stdout, dst);
	printf(",\"merged\":%s,\"merge\":%" PRIu64 ",",
	       merged ? "true" : "false", id);
	service_print_result_json(stdout, p);
	printf(",\"failed_check\":");
	if (failed)
		json_string(stdout, failed);
	else
		printf("null");
	printf(",\"rolled_back\":%s", rolled_back ? "true" : "false");
	if (warned)
		print_warnings_json(stdout, warned);
	printf("}\n");
}

/* A check failed after merge ID of SRC into DST: that merge is rolled
 * back (*UNDONE set) and the old services run again.  Returns the exit
 * code. */
static int roll_back(struct context *ctx, struct svc_plan *p, uint64_t id,
		     const char *why, bool *undone)
{
	fprintf(stderr, "%s: %s: rolling back merge %" PRIu64 " (%s into %s)\n",
		ctx->cmd, why, id, p->src, p->dst);
	service_stop_new_in_dst(ctx, p);
	/* Killed from here until they run again: pwapt recover names
	 * them, those stopped for good too. */
	service_pending_rollback(ctx, p, id, NULL, 0);
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	int r = s ? world_rollback(s, p->dst, id, false, NULL, &err) : -1;
	world_store_free(s);
	world_crash_point("svcmove-rolled-back");
	if (r < 0) {
		fprintf(stderr,
			"%s: merge %" PRIu64 " of %s into %s is kept: %s; its "
			"services start again on the merged files\n",
			ctx->cmd, id, p->src, p->dst,
			s ? SHOWN(err.msg) : "cannot open the store");
		/* Kept: those it removed stay down, the others start.  The
		 * note names those that do not run then, and why. */
		service_pending_note(ctx, p, id, false);
		_cleanup_strv_ struct strv down = {0};
		/* Never left down: the one that failed, those not reached. */
		for (size_t i = 0; i < p->n; i++) {
			if (p->v[i].removed)
				continue;
			fprintf(chatter(ctx), "Starting %s in %s... ",
				p->v[i].name, p->dst);
			fflush(chatter(ctx));
			int st = service_command(ctx, p->dst, p->v[i].name,
						 "start", false);
			/* Runs: its status says so (its check failed). */
			bool ok = st == 0 &&
				  service_runs(ctx, p->dst, p->v[i].name);
			fprintf(chatter(ctx), "%s\n", ok ? "done" : "FAILED");
			fflush(chatter(ctx));
			if (!ok && strv_push(&down, strdup(p->v[i].name)) < 0)
				return EXIT_FAIL; /* the note names them all */
		}
		_cleanup_free_ char *reason = NULL;
		if (down.n &&
		    asprintf(&reason,
			     "its roll-back after a failed check (%s) was "
			     "refused: %s; the merge is kept, and these do "
			     "not run on the merged files",
			     why,
			     s ? SHOWN(err.msg) : "cannot open the store") < 0)
			return EXIT_FAIL;
		service_pending_left(ctx, p, id, reason, down.v, NULL);
		if (down.n)
			fprintf(stderr,
				"%s: %zu service%s of %s do%s not run on the "
				"merged files (pwapt recover names %s)\n",
				ctx->cmd, down.n, down.n == 1 ? "" : "s",
				p->dst, down.n == 1 ? "es" : "",
				down.n == 1 ? "it" : "them");
		return EXIT_FAIL;
	}
	*undone = true;
	/* systemd runs the old files again too, before the services. */
	if (p->reexec_init)
		(void)service_reexec_init(ctx, p->dst);
	/* The note names those that did not come back on the old files,
	 * and why; out of memory, it stays as it is (naming them all). */
	size_t down = service_restore_old(ctx, p);
	_cleanup_strv_ struct strv names = {0};
	_cleanup_free_ char *reason = NULL;
	bool oom = false;
	for (size_t i = 0; i < p->n && !oom; i++)
		if (p->v[i].down)
			oom = strv_push(&names, strdup(p->v[i].name)) < 0;
	if (down && !oom &&
	    asprintf(&reason,
		     "merge %" PRIu64 " was rolled back after a failed check "
		     "(%s), and these did not come back on the old files",
		     id, why) < 0) {
		reason = NULL;
		oom = true;
	}
	if (!down)
		service_pending_note(ctx, p, id, true);
	else if (!oom)
		service_pending_left(ctx, p, id, reason, names.v, NULL);
	if (down)
		fprintf(stderr,
			"%s: %zu service%s of %s did not come back on the old "
			"files (pwapt recover names %s)\n",
			ctx->cmd, down, down == 1 ? "" : "s", p->dst,
			down == 1 ? "it" : "them");
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].in_src)
			fprintf(stderr,
				"%s: %s is merged and gone: %s cannot run "
				"there again\n",
				ctx->cmd, p->src, p->v[i].name);
	fprintf(stderr,
		"%s: merge %" PRIu64 " of %s into %s was rolled back: %s\n",
		ctx->cmd, id, p->src, p->dst, why);
	return EXIT_FAIL;
}

/* A service that the merge removes did not stop in DST (its package's
 * prerm would fail as well, and dpkg keep the package): nothing is
 * merged, what was stopped starts again.  Returns the exit code. */
static int refuse_removed(struct context *ctx, struct svc_plan *p,
			  const char *why)
{
	(void)service_start_again_noted(ctx, p);
	if (ctx->json)
		print_json(p->src, p->dst, false, 0, p, why, false, NULL);
	return failf(ctx,
		     "cannot merge '%s' into '%s': %s, and the merge removes "
		     "it (stop it by hand, or wmerge --no-restart)",
		     p->src, p->dst, why);
}

/* Whether the services of DST that merge plan P removes stop after the
 * merge, not before: it is expected to be refused. */
static bool late_stops(const struct svc_plan *p, bool force)
{
	return p->conflicts && !force;
}

/* After the merge: DST's services start and restart, checked; the
 * report.  WAS (WAS_LEN bytes, or NULL: none): Root's note for pwapt
 * rollback before this merge, back when this merge is rolled back here.
 * Returns the exit code. */
static int move_services(struct context *ctx, struct svc_plan *p, uint64_t id,
			 const char *was, size_t was_len,
			 const struct world_diff *warned)
{
	char why[512] = "";
	bool root = !strcmp(p->dst, WORLD_ROOT), undone = false;
	/* Root's note for pwapt rollback again, whole: the users of
	 * replaced files too (written at the merge already, see cmd_merge):
	 * a rollback of a merge killed among its services still starts
	 * again those it stopped for good. */
	if (root)
		service_remember_plan(ctx, NULL, p, NULL, id);
	service_pending_note(ctx, p, id, false);
	/* Killed here: merged, SRC's services stopped, DST's not yet
	 * (re)started; the note says so to pwapt recover. */
	world_crash_point("svcmove-merged");
	ssize_t bad = service_start_in_dst(ctx, p, why, sizeof(why));
	int code = EXIT_OK;
	if (bad >= 0)
		code = roll_back(ctx, p, id, why, &undone);
	else
		service_pending_note(ctx, p, id, true);
	if (root && undone) {
		struct world_store *s = open_store(ctx);
		struct world_error err = {0};
		if (s)
			(void)world_note_write(s, WORLD_ROOT, "restarted",
					       was ? was : "", was_len, &err);
		world_store_free(s);
	}
	if (ctx->json)
		print_json(p->src, p->dst, true, id, p, bad >= 0 ? why : NULL,
			   bad >= 0 && code == EXIT_FAIL, warned);
	return code;
}

int cmd_merge(struct context *ctx, int argc, char **argv)
{
	bool force = false, rebase = false, plan_only = false;
	const char *handover = NULL, *check = NULL;
	const struct cmd_option options[] = {
		OPT_VALUE("handover", &handover, HANDOVER_HELP),
		OPT_VALUE("handover-check", &check, HANDOVER_CHECK_HELP),
		OPT_FLAG("force", &force, FORCE_HELP),
		OPT_FLAG("rebase", &rebase,
			 "  --rebase move the worlds built on SRC onto DST"),
		OPT_FLAG("plan", &plan_only,
			 "  --plan   say which services would stop, start and "
			 "restart; change nothing"),
		OPT_FLAG("no-restart", &ctx->no_restart,
			 "  --no-restart  leave the services to the "
			 "administrator"),
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--force] [--rebase] [--plan] [--no-restart] [--json] "
			    "[--handover PORTS [--handover-check CMD]] SRC DST",
		.man = "wmerge"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	const char *src = argv[0], *dst = argv[1];
	unsigned flags = (force ? WORLD_MERGE_FORCE : 0) |
			 (rebase ? WORLD_MERGE_REBASE : 0);
	if (handover && (plan_only || ctx->no_restart))
		return failf(ctx, "--handover moves services: it goes with "
				  "neither --plan nor --no-restart");
	if (handover || check)
		return handover ? handover_cmd(ctx, src, dst, flags, handover,
					       check)
				: failf(ctx, "--handover-check goes with "
					     "--handover");
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	_cleanup_(service_plan_release) struct svc_plan plan = {0};
	r = service_plan_make(ctx, s, src, dst, NULL, &plan, &err);
	world_store_free(s);
	if (r < 0 && plan_only)
		return fail(ctx, &err);
	if (r < 0) {
		/* The merge says what is wrong with SRC or DST, if it is
		 * that; services it cannot tell about are left alone. */
		if (!ctx->no_restart)
			fprintf(stderr,
				"%s: warning: cannot tell which services to "
				"move: %s; they are left to the "
				"administrator\n",
				ctx->cmd, SHOWN(err.msg));
		ctx->no_restart = true;
		plan = (struct svc_plan){.src = strdup(src),
					 .dst = strdup(dst)};
		if (!plan.src || !plan.dst)
			return failf(ctx, "out of memory");
		err = (struct world_error){0};
	}
	service_plan_order(ctx, &plan);
	if (plan_only) {
		if (ctx->json) {
			printf("{\"src\":");
			json_string(stdout, src);
			printf(",\"dst\":");
			json_string(stdout, dst);
			printf(",\"no_restart\":%s,",
			       ctx->no_restart ? "true" : "false");
			service_plan_print(ctx, stdout, &plan, true);
			printf("}\n");
		} else if (ctx->no_restart) {
			printf("No service is stopped, started or restarted "
			       "(--no-restart).\n");
			service_plan_print_by_hand(stdout, &plan, false);
		} else {
			service_plan_print(ctx, stdout, &plan, false);
		}
		return EXIT_OK;
	}
	plan.stops_late = late_stops(&plan, force);
	if (!ctx->no_restart) {
		/* A note of pending services there before this merge's
		 * (another command's) is kept aside, never overwritten. */
		char why[512] = "";
		if (service_pending_begin(ctx, dst, why, sizeof(why)) < 0 ||
		    service_pending_first(ctx, &plan, why, sizeof(why)) < 0)
			return failf(ctx, "cannot merge '%s' into '%s': %s",
				     src, dst, why);
		world_crash_point("svcmove-noted");
		/* Before SRC is frozen for the merge. */
		if (service_stop_in_src(ctx, &plan) < 0)
			fprintf(stderr,
				"%s: warning: not every service of %s "
				"stopped; the merge freezes what runs\n",
				ctx->cmd, src);
		/* A merge that will be refused stops nothing of DST's: those
		 * it removes stop once it went through. */
		if (!late_stops(&plan, force) &&
		    service_stop_removed_in_dst(ctx, &plan, why, sizeof(why)) <
			    0)
			return refuse_removed(ctx, &plan, why);
	}
	struct world_diff conflicts = {0};
	uint64_t id = 0;
	s = NULL;
	if (world_crash_fail("svcmove-open", EIO) < 0)
		failf(ctx, "cannot open the store (an injected failure)");
	else
		s = open_store(ctx);
	if (!s) {
		/* Not merged: SRC's services run on, as after a refusal. */
		if (!ctx->no_restart)
			(void)service_start_again_noted(ctx, &plan);
		return EXIT_FAIL;
	}
	r = world_merge(s, src, dst, flags, &conflicts, &id, &err);
	/* Root's note for pwapt rollback at once, through the store the
	 * merge held: a pwapt killed from now on leaves its rollback what
	 * to start again (those stopped for good too). */
	_cleanup_free_ char *was = NULL;
	size_t was_len = 0;
	if (r >= 0 && !ctx->no_restart && !strcmp(dst, WORLD_ROOT)) {
		struct world_error ne = {0};
		if (world_note_read(s, WORLD_ROOT, "restarted", &was, &was_len,
				    &ne) < 0)
			free(steal_pointer(&was));
		service_remember_plan(ctx, s, &plan, NULL, id);
	}
	if (r >= 0 && service_plan_after_merge(ctx, s, &plan) < 0)
		fprintf(stderr, "%s: warning: out of memory\n", ctx->cmd);
	world_store_free(s);
	if (r >= 0)
		service_plan_order(ctx, &plan);
	char why[512] = "";
	if (r >= 0 && !ctx->no_restart && late_stops(&plan, force) &&
	    service_stop_removed_in_dst(ctx, &plan, why, sizeof(why)) < 0)
		fprintf(stderr,
			"%s: warning: %s: it runs on from the files the merge "
			"removed\n",
			ctx->cmd, why);
	if (r < 0) {
		/* Not merged: SRC runs on as it did. */
		(void)service_start_again_noted(ctx, &plan);
		if (ctx->json)
			print_json(src, dst, false, 0, &plan, NULL, false,
				   &conflicts);
	}
	if (r == -EEXIST && conflicts.n) {
		fail(ctx, &err);
		print_warnings(ctx->json ? stderr : stdout, &conflicts, src,
			       dst, false);
		world_diff_release(&conflicts);
		return EXIT_CONFLICTS;
	}
	if (r >= 0) /* merged; what it could not judge, said */
		print_warnings(stderr, &conflicts, src, dst, false);
	if (r < 0) {
		world_diff_release(&conflicts);
		return fail(ctx, &err);
	}
	fprintf(chatter(ctx),
		"Merged %s into %s as merge %" PRIu64
		" (pwapt rollback%s%s undoes it).\n",
		src, dst, id, strcmp(dst, WORLD_ROOT) ? " " : "",
		strcmp(dst, WORLD_ROOT) ? dst : "");
	/* systemd first, at once: a pwapt killed later leaves it on the new
	 * files, not the deleted ones.  Now: re-executed, for roll_back(). */
	if (plan.reexec_init && !ctx->no_restart)
		plan.reexec_init = service_reexec_init(ctx, dst) == 0;
	if (ctx->no_restart) {
		/* Those the merge removes were not stopped either: they run
		 * on from their deleted files. */
		static const char *const lead[2] = {
			"Not restarted (--no-restart): ",
			"Not stopped, though the merge removes them "
			"(--no-restart): "};
		for (int removed = 0; removed < 2; removed++) {
			size_t n = 0;
			for (size_t i = 0; i < plan.n; i++)
				if (plan.v[i].removed == removed)
					fprintf(chatter(ctx), "%s%s",
						n++ ? ", " : lead[removed],
						plan.v[i].name);
			if (n)
				fprintf(chatter(ctx), ".\n");
		}
		if (ctx->json)
			print_json(src, dst, true, id, &plan, NULL, false,
				   &conflicts);
		world_diff_release(&conflicts);
		return EXIT_OK;
	}
	r = move_services(ctx, &plan, id, was, was_len, &conflicts);
	world_diff_release(&conflicts);
	return r;
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
		r = world_rollback_check(s, dst, id, force, &changed, &err);
	}
	/* Nothing refuses it: the services the merge started in Root, new
	 * there, stop while their files are there (the store is not held
	 * while services run); one that does not stop refuses it. */
	_cleanup_strv_free_ char **stopped = NULL;
	_cleanup_free_ char *prev = NULL;
	char why[512] = "";
	bool in_root = !strcmp(dst, WORLD_ROOT) && !no_restart;
	if (r >= 0 && in_root) {
		world_store_free(s);
		r = service_stop_before_rollback(
			ctx, id, last.src ? last.src : "?", &stopped, &prev,
			why, sizeof(why));
		/* Killed here: stopped, not rolled back; the note says so
		 * to pwapt recover. */
		world_crash_point("rollback-stopped");
		s = r >= 0 ? open_store(ctx) : NULL;
		if (!s) {
			if (r >= 0)
				service_start_after_refused_rollback(
					ctx, stopped, prev);
			world_merge_record_release(&last);
			if (r >= 0)
				return EXIT_FAIL;
			return failf(ctx,
				     "cannot roll back merge %" PRIu64
				     " into %s: %s (pwapt rollback "
				     "--no-restart rolls back without "
				     "stopping or restarting services)",
				     id, dst, why);
		}
	}
	if (r >= 0)
		r = world_rollback(s, dst, id, force, &changed, &err);
	/* Transactions built on the merged one: how to throw them away. */
	_cleanup_strv_free_ char **txns = NULL;
	if (r == -EBUSY)
		(void)txn_rebased_by(s, &last, &txns, NULL);
	world_store_free(s);
	if (r < 0 && stopped) /* refused after all: they run again */
		service_start_after_refused_rollback(ctx, stopped, prev);
	_cleanup_free_ char *src = steal_pointer(&last.src);
	world_merge_record_release(&last);
	if (r == -EEXIST && changed) {
		fail(ctx, &err);
		for (const char *path = changed; *path;
		     path += strlen(path) + 1) {
			fputs("! ", stdout);
			put_path(stdout, path);
			fputs(": changed since the merge\n", stdout);
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
	fflush(stdout); /* said, also when killed while services restart */
	/* The notes of that merge kept aside (its wmerge's, a killed
	 * rollback's) are done with: the merge is undone. */
	(void)service_pending_drop_held(ctx, dst, id);
	/* DST's note of services of that merge (a wmerge killed among
	 * them, the rollback's own) is done with; in Root, once those it
	 * names run on the old files. */
	if (!in_root)
		service_pending_after_rollback(ctx, dst, id, prev);
	if (no_restart && !strcmp(dst, WORLD_ROOT))
		service_say_left_after_rollback(ctx, id);
	int rs = in_root ? service_restart_after_rollback(ctx, id,
							  src ? src : "?", prev,
							  why, sizeof(why))
			 : 0;
	if (rs == 0)
		return EXIT_OK;
	if (rs == -2)
		return failf(ctx,
			     "merge %" PRIu64 " was rolled back, but its "
			     "services were not restarted on the old files: "
			     "%s; restart them by hand",
			     id, why);
	return failf(ctx,
		     "merge %" PRIu64 " was rolled back, but not each of its "
		     "services runs again on the old files: %s (pwapt "
		     "recover names them)",
		     id, why[0] ? why : "out of memory");
}
