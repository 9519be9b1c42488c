/* The commands on transactions that exist: pwapt merge (the chain into
 * Root, oldest first, each merge's services restarted and checked, those
 * whose package it removes stopped before it, a failed one rolled back by
 * its id), discard, list and show. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "../world/cleanup.h"
#include "handover.h"
#include "options.h"
#include "pwapt.h"
#include "quote.h"
#include "report.h"
#include "service.h"
#include "txn.h"

/* Discards transactions whose pwapt died before they were ready: what
 * apt and dpkg left there half done is no state to test or build on. */
void reap_interrupted(struct context *ctx, struct world_store *s)
{
	struct txn *v = NULL;
	size_t n = 0;
	if (txn_list(s, &v, &n, NULL) < 0)
		return;
	for (size_t i = n; i-- > 0;) {
		if (!txn_interrupted(&v[i]))
			continue;
		_cleanup_strv_free_ char **gone = NULL;
		struct world_error err = {0};
		if (txn_descendants(s, v[i].name, &gone, &err) < 0)
			continue;
		size_t k = 0;
		while (gone[k])
			k++;
		if (world_delete(s, (const char *const *)gone, k, &err) < 0) {
			fprintf(stderr,
				"%s: cannot discard interrupted %s: %s\n",
				ctx->cmd, v[i].name, SHOWN(err.msg));
			continue;
		}
		fprintf(stderr,
			"%s: discarded %s: its pwapt was interrupted while "
			"%s\n",
			ctx->cmd, v[i].name, txn_phase_name(v[i].phase));
	}
	txn_list_release(v, n);
}

/* Discards the transactions TXNS (and those built on them), which were
 * built on transaction NAME, whose merge is about to be rolled back. */
static int discard_built_on(struct context *ctx, struct world_store *s,
			    const char *name, char *const *txns)
{
	for (char *const *t = txns; t && *t; t++) {
		_cleanup_strv_free_ char **gone = NULL;
		struct world_error err = {0};
		size_t k = 0;
		int r = txn_descendants(s, *t, &gone, &err);
		while (r >= 0 && gone[k])
			k++;
		if (r >= 0)
			r = world_delete(s, (const char *const *)gone, k, &err);
		if (r < 0) {
			fail(ctx, &err);
			return -1;
		}
		for (char **g = gone; *g; g++)
			fprintf(stderr,
				"%s: discarded %s: it was built on %s, whose "
				"merge is rolled back\n",
				ctx->cmd, *g, name);
	}
	return 0;
}

/* Rolls back merge ID, of transaction NAME into Root, after a service
 * failed its restart.  The store's lock was free while services restarted:
 * another merge into Root may have come since, and then NAME's merge stays
 * (only the last merge can be undone, and the other one's world is gone).
 * Transactions built on NAME are discarded first: they were tested on
 * NAME's files.  Returns 0 when rolled back, -1 (having said why) if not. */
static int roll_back_failed(struct context *ctx, const char *name, uint64_t id,
			    struct world_error *outcome)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_error err = {0};
	int r = world_rollback(s, WORLD_ROOT, id, false, NULL, &err);
	_cleanup_strv_free_ char **gone = NULL;
	if (r == -EBUSY) {
		struct world_merge_record last = {0};
		struct world_error e2 = {0};
		if (world_last_merge(s, WORLD_ROOT, &last, &e2) >= 0 &&
		    last.id == id &&
		    txn_rebased_by(s, &last, &gone, &e2) >= 0 &&
		    discard_built_on(ctx, s, name, gone) >= 0)
			r = world_rollback(s, WORLD_ROOT, id, false, NULL,
					   &err);
		world_merge_record_release(&last);
	}
	world_store_free(s);
	if (r < 0) {
		snprintf(outcome->msg, sizeof(outcome->msg),
			 "the merge of %s (merge %" PRIu64 ") is kept: %s%s",
			 name, id, SHOWN(err.msg),
			 r == -EEXIST ? "; pwapt rollback --force undoes it"
				      : "");
		fprintf(stderr, "%s: %s\n", ctx->cmd, outcome->msg);
		return -1;
	}
	return 0;
}

/* After T merged into Root as merge ID: its services restart there.  One
 * that does not come back rolls the merge back; it and the ones restarted
 * before it are restarted on the old files (-1).  When the roll-back is
 * refused, the merge stays and it is started again on the merged files
 * (-2).  0 when each came back.  Those that do not run in the end are
 * pushed onto DOWN.  REEXEC: Root's systemd executed itself again on the
 * merged files (service_reexec_init), and does on the old ones after a
 * roll-back. */
static int restart_or_roll_back(struct context *ctx, const char *name,
				uint64_t id, char *const *services,
				const struct svc_plan *plan, bool reexec,
				struct strv *down, struct world_error *outcome)
{
	char check[512] = "";
	ssize_t bad = service_restart_all(ctx, services, check, sizeof(check));
	if (bad < 0)
		return 0;
	fprintf(stderr,
		"%s: %s does not run after the merge of %s: rolling the merge "
		"back\n",
		ctx->cmd, services[bad], name);
	/* Killed from here until they run again, those stopped for good
	 * too: pwapt recover names them. */
	service_pending_rollback(ctx, plan, id, services, (size_t)bad + 1);
	struct world_error kept = {0};
	int r = roll_back_failed(ctx, name, id, &kept);
	if (r >= 0)
		world_crash_point("txn-rolled-back");
	if (r < 0) {
		snprintf(outcome->msg, sizeof(outcome->msg),
			 "%s; %s failed its check: %s", kept.msg,
			 services[bad], check);
		/* The merge stays: the service that failed its restart is
		 * down, and must not stay so; it starts on the files in
		 * place, as do the ones not restarted yet. */
		size_t n =
			service_restart_kept(ctx, services, (size_t)bad, down);
		if (n)
			fprintf(stderr,
				"%s: %zu service%s of Root do%s not run on the "
				"merged files of %s (pwapt recover names "
				"%s)\n",
				ctx->cmd, n, n == 1 ? "" : "s",
				n == 1 ? "es" : "", name,
				n == 1 ? "it" : "them");
		return -2;
	}
	/* They ran before the merge: they run again, on the old files, this
	 * one and those restarted on the new ones; systemd first. */
	if (reexec)
		(void)service_reexec_init(ctx, WORLD_ROOT);
	(void)service_restart_old(ctx, services, (size_t)bad, down);
	fprintf(stderr, "%s: the merge of %s was rolled back\n", ctx->cmd,
		name);
	snprintf(outcome->msg, sizeof(outcome->msg),
		 "the merge of %s into Root was rolled back: %s; Root has its "
		 "old files again, %s is gone",
		 name, check, name);
	return -1;
}

/* -EBUSY, saying so, when a transaction in progress is built on NAME: a
 * merge of NAME would stop its world under its apt (--rebase). */
static int refuse_building_on(struct world_store *s, const char *name,
			      struct world_error *err)
{
	struct txn busy = {0};
	int r = txn_building_on(s, name, &busy, err);
	if (r <= 0)
		return r;
	snprintf(err->msg, sizeof(err->msg),
		 "cannot merge '%s' now: %s is being built on it (%s); merge "
		 "when it is done",
		 name, busy.name, txn_phase_name(busy.phase));
	txn_release(&busy);
	return -EBUSY;
}

/* Trims plan P of a transaction's merge to what pwapt merge does: it
 * restarts Root's running services whose files change (a transaction's
 * own services ran for its tests only, and are not moved into Root). */
static void txn_plan_trim(struct svc_plan *p)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->v[i].in_dst) {
			free(p->v[i].name);
			free(p->v[i].why_text);
			world_ports_release(&p->v[i].ports);
			continue;
		}
		p->v[i].in_src = false;
		p->v[k++] = p->v[i];
	}
	p->n = k;
}

/* True when plan P stops NAME for good: its package is removed. */
static bool txn_removes(const struct svc_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].removed && !strcmp(p->v[i].name, name))
			return true;
	return false;
}

/* Pushes onto V each of SERVICES (NULL-terminated, may be NULL) that
 * plan P does not remove.  0 or -ENOMEM. */
static int txn_push_kept(struct strv *v, const struct svc_plan *p,
			 char *const *services)
{
	for (char *const *x = services; x && *x; x++)
		if (!txn_removes(p, *x) && strv_push(v, strdup(*x)) < 0)
			return -ENOMEM;
	return 0;
}

/* V's array, which the caller then owns (an empty array when V is
 * empty; V is emptied); NULL when memory runs out. */
static char **txn_array(struct strv *v)
{
	char **a = v->v ? v->v : calloc(1, sizeof(*a));
	*v = (struct strv){0};
	return a;
}

/* SERVICES (NULL-terminated, may be NULL) less those plan P removes,
 * malloc'd; NULL when memory runs out. */
static char **txn_kept(const struct svc_plan *p, char *const *services)
{
	_cleanup_strv_ struct strv v = {0};
	return txn_push_kept(&v, p, services) < 0 ? NULL : txn_array(&v);
}

/* The services a merge of transaction NAME into Root restarts before
 * those that use replaced files: SERVICES (its report's) and Root's
 * running services whose files it changes, less those whose package it
 * removes (in *P, its trimmed plan, marked removed: stopped before the
 * merge).  NULL-terminated, malloc'd; NULL (having warned, *P empty)
 * when they cannot be told. */
static char **txn_restart_base(struct context *ctx, struct world_store *s,
			       const char *name, char *const *services,
			       struct svc_plan *p)
{
	struct world_error err = {0};
	if (service_plan_make(ctx, s, name, WORLD_ROOT, services, p, &err) <
	    0) {
		fprintf(stderr,
			"%s: warning: cannot tell which services of Root use "
			"files of %s: %s\n",
			ctx->cmd, name, SHOWN(err.msg));
		return NULL;
	}
	txn_plan_trim(p);
	_cleanup_strv_ struct strv v = {0};
	if (txn_push_kept(&v, p, services) < 0)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i].removed && !strv_contains(v.v, p->v[i].name) &&
		    strv_push(&v, strdup(p->v[i].name)) < 0)
			return NULL;
	return txn_array(&v);
}

/* Before the merge of transaction NAME into Root, the store not held:
 * stops in Root the services plan P removes (service_stop_removed_in_dst,
 * as wmerge does).  0; -1 when one does not stop: those stopped start
 * again, OUTCOME says why, and the merge is refused. */
static int txn_stop_removed(struct context *ctx, const char *name,
			    struct svc_plan *p, struct world_error *outcome)
{
	char why[512] = "";
	/* Killed among the stops: pwapt recover names them; none stops
	 * that the note cannot name. */
	if (service_pending_first(ctx, p, why, sizeof(why)) < 0) {
		snprintf(outcome->msg, sizeof(outcome->msg),
			 "cannot merge '%s' into Root: %s", name, why);
		return -1;
	}
	if (service_stop_removed_in_dst(ctx, p, why, sizeof(why)) >= 0)
		return 0;
	(void)service_start_again_noted(ctx, p);
	snprintf(outcome->msg, sizeof(outcome->msg),
		 "cannot merge '%s' into Root: %s, and the merge removes it "
		 "(stop it by hand, or pwapt merge --no-restart)",
		 name, why);
	return -1;
}

/* The store, and in *CHAIN (NULL-terminated, malloc'd) the transactions of
 * NAME's chain, oldest first; NULL, having said why, when either cannot be
 * had. */
static struct world_store *open_chain(struct context *ctx, const char *name,
				      char ***chain)
{
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	if (s && txn_chain(s, name, chain, &err) < 0) {
		world_store_free(s);
		fail(ctx, &err);
		return NULL;
	}
	return s;
}

/* pwapt merge --plan: what the merge of each transaction of NAME's chain
 * would restart in Root; nothing is written. */
static int print_chain_plan(struct context *ctx, const char *name)
{
	_cleanup_strv_free_ char **chain = NULL;
	struct world_store *s = open_chain(ctx, name, &chain);
	if (!s)
		return EXIT_FAIL;
	world_store_free(s);
	struct world_error err = {0};
	int r;
	if (ctx->json)
		printf("[");
	for (char **w = chain; *w; w++) {
		struct report rep = {0};
		struct svc_plan p = {0};
		if (!(s = open_store(ctx)))
			return EXIT_FAIL;
		(void)report_load(s, *w, &rep, NULL);
		r = service_plan_make(ctx, s, *w, WORLD_ROOT, rep.services, &p,
				      &err);
		world_store_free(s);
		report_release(&rep);
		if (r < 0)
			return fail(ctx, &err);
		txn_plan_trim(&p);
		service_plan_order(ctx, &p);
		if (ctx->json) {
			printf("%s{\"transaction\":", w == chain ? "" : ",");
			json_string(stdout, *w);
			printf(",\"no_restart\":%s,",
			       ctx->no_restart ? "true" : "false");
			service_plan_print(ctx, stdout, &p, true);
			printf("}");
		} else {
			printf("%s into Root:\n", *w);
			if (ctx->no_restart) {
				printf("No service is restarted "
				       "(--no-restart).\n");
				service_plan_print_by_hand(stdout, &p, false);
			} else {
				service_plan_print(ctx, stdout, &p, false);
			}
		}
		service_plan_release(&p);
	}
	if (ctx->json)
		printf("]\n");
	return EXIT_OK;
}

/* Whether each transaction of NAME's CHAIN is ready to merge (a failed
 * test's, with FORCE) and none is being built on.  0, or < 0 with ERR. */
static int txn_chain_ready(struct world_store *s, const char *name,
			   char *const *chain, bool force,
			   struct world_error *err)
{
	int r = 0;
	for (char *const *w = chain; r >= 0 && w && *w; w++) {
		struct txn t = {0};
		if ((r = txn_load(s, *w, &t, err)) < 0)
			break;
		if (t.phase != TXN_READY &&
		    !(force && t.phase == TXN_TESTS_FAILED))
			r = -EINVAL,
			snprintf(err->msg, sizeof(err->msg),
				 "cannot merge '%s': %s is %s%s", name, t.name,
				 txn_phase_name(t.phase),
				 t.phase == TXN_TESTS_FAILED
					 ? " (--force merges it "
					   "anyway)"
					 : "");
		txn_release(&t);
		if (r >= 0)
			r = refuse_building_on(s, *w, err);
	}
	return r;
}

/* --no-restart: SERVICES, not restarted, and those plan P removes, not
 * stopped (they run on from their deleted files), named. */
static void say_not_restarted(struct context *ctx, char *const *services,
			      const struct svc_plan *p)
{
	for (char *const *x = services; x && *x; x++)
		fprintf(chatter(ctx), "%s%s%s",
			x == services ? "Not restarted (--no-restart): " : ", ",
			*x, x[1] ? "" : ".\n");
	size_t n_removed = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].removed)
			fprintf(chatter(ctx), "%s%s",
				n_removed++ ? ", "
					    : "Not stopped, though the merge "
					      "removes them (--no-restart): ",
				p->v[i].name);
	if (n_removed)
		fprintf(chatter(ctx), ".\n");
}

/* Merges transaction TX into Root (FORCE: --force), its services
 * stopped, restarted and checked; on a failed check the merge is rolled
 * back (OUTCOME says why).  Returns an exit code. */
static int merge_one(struct context *ctx, const char *tx, bool force,
		     struct world_error *outcome)
{
	struct world_store *s = NULL;
	struct world_error err = {0};
	int r;
	struct report rep = {0};
	/* A note of pending services there before this merge's (another
	 * command's) is kept aside, never overwritten. */
	if (!ctx->no_restart &&
	    service_pending_begin(ctx, WORLD_ROOT, outcome->msg,
				  sizeof(outcome->msg)) < 0)
		return failf(ctx, "cannot merge '%s' into Root: %s", tx,
			     outcome->msg);
	if (world_crash_fail("txn-open", EIO) < 0)
		failf(ctx, "cannot open the store (an injected failure)");
	else
		s = open_store(ctx);
	if (!s) {
		/* Nothing stopped: the note kept aside is back, not left
		 * there to be held again (a duplicate).  The notes are in
		 * the store: one that cannot be opened at all leaves it
		 * held too (R16 L2), said. */
		if (service_pending_end(ctx, WORLD_ROOT) < 0)
			fprintf(stderr,
				"%s: warning: Root's note of pending services "
				"kept aside for this merge stays kept aside "
				"too (pwapt recover shows it once)\n",
				ctx->cmd);
		return EXIT_FAIL;
	}
	(void)report_load(s, tx, &rep, NULL);
	struct world_diff conflicts = {0};
	unsigned flags = WORLD_MERGE_REBASE | (force ? WORLD_MERGE_FORCE : 0);
	uint64_t id = 0;
	/* Under the same lock as the merge: none starts in between. */
	r = refuse_building_on(s, tx, &err);
	/* Root's running services whose files the merge changes,
	 * besides those of the upgraded packages; in PLAN, those
	 * whose package it removes. */
	_cleanup_strv_free_ char **base = NULL;
	_cleanup_(service_plan_release) struct svc_plan plan = {0};
	if (r >= 0)
		base = txn_restart_base(ctx, s, tx, rep.services, &plan);
	plan.transaction = true;
	bool stops = false;
	for (size_t i = 0; !ctx->no_restart && i < plan.n; i++)
		stops |= plan.v[i].removed;
	/* A merge that will be refused (conflicts, derived files)
	 * stops nothing first: should it go through, after it. */
	bool late = stops && plan.conflicts && !force;
	plan.stops_late = late;
	if (r >= 0 && stops && !late) {
		/* Stopped as their packages' prerm would, before
		 * any file moves; the store is free meanwhile (a
		 * service's commands run in Root). */
		world_store_free(s);
		if (txn_stop_removed(ctx, tx, &plan, outcome) < 0) {
			report_release(&rep);
			return failf(ctx, "%s", outcome->msg);
		}
		world_crash_point("txn-stopped-removed");
		if (!(s = open_store(ctx))) {
			(void)service_start_again_noted(ctx, &plan);
			report_release(&rep);
			return EXIT_FAIL;
		}
		r = refuse_building_on(s, tx, &err);
	}
	/* What Root's processes map and run, to tell afterwards
	 * which use a file the merge replaced. */
	struct world_file_users *users = NULL;
	struct world_error ue = {0};
	if (r >= 0 && world_file_users(s, WORLD_ROOT, &users, &ue) < 0)
		fprintf(stderr,
			"%s: warning: cannot read what Root's "
			"processes use: %s\n",
			ctx->cmd, SHOWN(ue.msg));
	if (r >= 0)
		r = world_merge(s, tx, WORLD_ROOT, flags, &conflicts, &id,
				&err);
	/* Root's note for pwapt rollback at once, through the store
	 * the merge held, when it stopped services for good (written
	 * whole below): killed from now on, a rollback starts them. */
	_cleanup_free_ char *was = NULL; /* Root's note before */
	size_t was_len = 0;
	bool was_read = false;
	if (r >= 0 && stops && !late) {
		struct world_error ne = {0};
		if (world_note_read(s, WORLD_ROOT, "restarted", &was, &was_len,
				    &ne) < 0)
			free(steal_pointer(&was));
		was_read = true;
		service_remember_plan(ctx, s, &plan, NULL, id);
	}
	_cleanup_strv_free_ char **gone = service_plan_removed(&plan);
	bool reexec = false; /* Root's PID 1 uses a replaced file */
	_cleanup_strv_free_ char **found =
		r >= 0 ? service_with_replaced_users(ctx, s, WORLD_ROOT, users,
						     base ? base : rep.services,
						     gone, &reexec)
		       : NULL;
	/* A removed one's processes ran its deleted files. */
	_cleanup_strv_free_ char **restart =
		found ? txn_kept(&plan, found) : NULL;
	world_file_users_free(users);
	world_store_free(s);
	if (r < 0) {
		*outcome = err;
		/* Not merged: what stopped runs as before. */
		(void)service_start_again_noted(ctx, &plan);
	}
	if (r == -EEXIST && conflicts.n) {
		fail(ctx, &err);
		print_warnings(stderr, &conflicts, tx, WORLD_ROOT, false);
		world_diff_release(&conflicts);
		report_release(&rep);
		return EXIT_CONFLICTS;
	}
	if (r >= 0)
		print_warnings(stderr, &conflicts, tx, WORLD_ROOT, false);
	world_diff_release(&conflicts);
	if (r < 0) {
		report_release(&rep);
		return fail(ctx, &err);
	}
	fprintf(chatter(ctx),
		"Merged %s into Root as merge %" PRIu64
		" (pwapt rollback undoes it).\n",
		tx, id);
	/* systemd first, at once: a pwapt killed later leaves it on the
	 * new files, not the deleted ones.  Now: re-executed. */
	if (reexec)
		reexec = service_reexec_init(ctx, WORLD_ROOT) == 0;
	char why[512] = "";
	int late_r =
		late ? service_stop_removed_in_dst(ctx, &plan, why, sizeof(why))
		     : 0;
	if (late_r < 0)
		fprintf(stderr,
			"%s: warning: %s: it runs on from the files "
			"the merge removed\n",
			ctx->cmd, why);
	_cleanup_strv_free_ char **kept =
		restart ? NULL : txn_kept(&plan, rep.services);
	char **services = restart ? restart : kept;
	if (ctx->no_restart)
		say_not_restarted(ctx, services, &plan);
	/* In dependency order: rc2.d's, then the units'. */
	if (!ctx->no_restart)
		service_order_in(ctx, WORLD_ROOT, services);
	/* Killed while they restart (a service down between its stop
	 * and start): Root's notes already name the merge and its
	 * services, so that pwapt recover says so and pwapt rollback
	 * of this merge restarts them on the old files. */
	struct svc_plan pend = {.src = (char *)tx,
				.dst = (char *)WORLD_ROOT,
				.transaction = true};
	size_t np = 0;
	while (!ctx->no_restart && services && services[np])
		np++;
	_cleanup_free_ struct svc_item *items =
		np ? calloc(np, sizeof(*items)) : NULL;
	for (size_t k = 0; items && k < np; k++)
		items[k] =
			(struct svc_item){.name = services[k], .in_dst = true};
	pend.v = items;
	pend.n = items ? np : 0;
	/* Those it stopped for good too: a pwapt rollback of a merge
	 * killed now starts them again. */
	if ((pend.n || stops) && !was_read) {
		struct world_store *ns = open_store(ctx);
		struct world_error ne = {0};
		if (!ns || world_note_read(ns, WORLD_ROOT, "restarted", &was,
					   &was_len, &ne) < 0)
			free(steal_pointer(&was));
		world_store_free(ns);
	}
	/* Root's note for pwapt rollback: those stopped too. */
	if (pend.n || stops)
		service_remember_plan(ctx, NULL, &plan, services, id);
	if (pend.n)
		service_pending_note(ctx, &pend, id, false);
	else if (stops) /* merged: none to restart */
		service_pending_note(ctx, &plan, id, true);
	world_crash_point("txn-merged");
	_cleanup_strv_ struct strv down_old = {0}, start_old = {0};
	int rs = ctx->no_restart
			 ? 0
			 : restart_or_roll_back(ctx, tx, id, services, &plan,
						reexec, &down_old, outcome);
	/* Rolled back: the stopped ones start again; one that does
	 * not, or one that did not come back on the old files (or, the
	 * roll-back refused, on the merged ones), stays named in Root's
	 * note of pending services. */
	size_t down = rs == -1 ? service_restore_old(ctx, &plan) : 0;
	for (size_t i = 0; down && i < plan.n; i++)
		if (plan.v[i].down)
			(void)strv_push(&start_old, strdup(plan.v[i].name));
	char left[sizeof(outcome->msg) + 64] = "";
	if (rs == -1 && (down_old.n || start_old.n))
		snprintf(left, sizeof(left),
			 "%s; these did not come back on the old files",
			 outcome->msg);
	if (rs == -1)
		service_pending_left(ctx, &pend, id, *left ? left : NULL,
				     down_old.v, start_old.v);
	else if (rs == -2)
		service_pending_left(ctx, &pend, id, outcome->msg, down_old.v,
				     NULL);
	else
		service_pending_note(ctx, &pend, id, true);
	down += rs == -1 ? down_old.n : 0;
	if (down)
		fprintf(stderr,
			"%s: %zu service%s of Root did not come back "
			"on the old files (pwapt recover names %s)\n",
			ctx->cmd, down, down == 1 ? "" : "s",
			down == 1 ? "it" : "them");
	if (pend.n && rs == -1) {
		/* Rolled back: the note is the earlier merge's again. */
		struct world_store *ns = open_store(ctx);
		struct world_error ne = {0};
		if (ns)
			(void)world_note_write(ns, WORLD_ROOT, "restarted",
					       was ? was : "",
					       was ? was_len : 0, &ne);
		world_store_free(ns);
	}
	if ((rs >= 0 || rs == -2) && ctx->no_restart)
		service_remember(ctx, NULL, id); /* the merge stays */
	else if (rs >= 0 || rs == -2)
		service_remember_plan(ctx, NULL, &plan, services, id);
	report_release(&rep);
	return rs < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Merges NAME's chain into Root, oldest first, restarting each one's
 * services.  Returns an exit code. */
int merge_chain(struct context *ctx, const char *name, bool force,
		struct world_error *outcome)
{
	struct world_error ignored = {0};
	if (!outcome)
		outcome = &ignored;
	_cleanup_strv_free_ char **chain = NULL;
	struct world_store *s = open_chain(ctx, name, &chain);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	/* Refused before anything is merged: a transaction of the chain
	 * that is not ready. */
	int r = txn_chain_ready(s, name, chain, force, &err);
	world_store_free(s);
	if (r < 0) {
		*outcome = err;
		return fail(ctx, &err);
	}
	for (char **w = chain; *w; w++) {
		int code = merge_one(ctx, *w, force, outcome);
		if (code != EXIT_OK)
			return code;
	}
	return EXIT_OK;
}

/* The store, with interrupted transactions discarded, when NAME is a
 * transaction; else NULL, having said why. */
static struct world_store *open_transaction(struct context *ctx,
					    const char *name)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return NULL;
	reap_interrupted(ctx, s);
	struct world_error err = {0};
	struct txn t = {0};
	if (txn_load(s, name, &t, &err) < 0) {
		world_store_free(s);
		fail(ctx, &err);
		return NULL;
	}
	txn_release(&t);
	return s;
}

int cmd_txn_merge(struct context *ctx, int argc, char **argv)
{
	bool force = false, plan_only = false;
	const char *handover = NULL, *check = NULL;
	const struct cmd_option options[] = {
		OPT_FLAG("force", &force,
			 "  --force  go on although the destination changed "
			 "meanwhile"),
		OPT_VALUE("handover", &handover, HANDOVER_HELP),
		OPT_VALUE("handover-check", &check, HANDOVER_CHECK_HELP),
		OPT_FLAG("no-restart", &ctx->no_restart,
			 "  --no-restart  leave Root's services as they are"),
		OPT_FLAG("plan", &plan_only,
			 "  --plan   say which services would restart; change "
			 "nothing"),
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--force] [--plan] [--no-restart] [--json] "
			    "[--handover PORTS [--handover-check CMD]] TRANSACTION",
					       .man = "pwapt-upgrade"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_transaction(ctx, argv[0]);
	if (!s)
		return EXIT_FAIL;
	world_store_free(s);
	if (handover && (plan_only || ctx->no_restart))
		return failf(ctx, "--handover moves services: it goes with "
				  "neither --plan nor --no-restart");
	if (handover || check)
		return handover ? handover_txn(ctx, argv[0], force, handover,
					       check)
				: failf(ctx, "--handover-check goes with "
					     "--handover");
	if (plan_only)
		return print_chain_plan(ctx, argv[0]);
	if (ctx->json) {
		failf(ctx, "--json goes with --plan");
		return EXIT_USAGE;
	}
	return merge_chain(ctx, argv[0], force, NULL);
}

int cmd_txn_discard(struct context *ctx, int argc, char **argv)
{
	static const struct cmd_option options[] = {OPT_END};
	static const struct cmd_usage usage = {.synopsis = "TRANSACTION",
					       .man = "pwapt-upgrade"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_transaction(ctx, argv[0]);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	_cleanup_strv_free_ char **gone = NULL;
	r = txn_descendants(s, argv[0], &gone, &err);
	size_t k = 0;
	while (gone && gone[k])
		k++;
	if (r >= 0)
		r = world_delete(s, (const char *const *)gone, k, &err);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	printf("Discarded");
	for (char **g = gone; *g; g++)
		printf(" %s", *g);
	printf("; Root is untouched.\n");
	return EXIT_OK;
}

int cmd_txn_list(struct context *ctx, int argc, char **argv)
{
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {.synopsis = "[--json] ",
					       .man = "pwapt-upgrade"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	reap_interrupted(ctx, s);
	struct world_error err = {0};
	struct txn *v = NULL;
	size_t n = 0;
	r = txn_list(s, &v, &n, &err);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	if (ctx->json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_string(stdout, v[i].name);
			printf(",\"parent\":");
			json_string(stdout, v[i].parent);
			printf(",\"kind\":");
			json_string(stdout, v[i].kind);
			printf(",\"requested\":[");
			for (char **p = v[i].packages; p && *p; p++) {
				if (p != v[i].packages)
					putchar(',');
				json_string(stdout, *p);
			}
			printf("],\"state\":\"%s\",\"created\":%lld}",
			       txn_phase_name(v[i].phase),
			       (long long)v[i].created);
		}
		printf("]\n");
	} else {
		printf("%-8s %-8s %-13s %-19s %s\n", "NAME", "PARENT", "STATE",
		       "CREATED", "WHAT");
		for (size_t i = 0; i < n; i++) {
			char when[32];
			time_t c = (time_t)v[i].created;
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				 localtime(&c));
			printf("%-8s %-8s %-13s %-19s %s", v[i].name,
			       v[i].parent, txn_phase_name(v[i].phase), when,
			       v[i].kind);
			for (char **p = v[i].packages; p && *p; p++)
				printf(" %s", *p);
			putchar('\n');
		}
	}
	txn_list_release(v, n);
	return EXIT_OK;
}

int cmd_txn_show(struct context *ctx, int argc, char **argv)
{
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--json] TRANSACTION",
		.man = "pwapt-upgrade",
	};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct txn t = {0};
	struct report rep = {0};
	r = txn_load(s, argv[0], &t, &err);
	if (r >= 0 && (r = report_load(s, argv[0], &rep, &err)) == -ENOENT) {
		/* Still at work, or failed before its report. */
		r = 0;
	}
	if (r >= 0) {
		/* Root moved on since: the conflicts of now. */
		char **now = NULL;
		if (report_conflicts(s, argv[0], &now, &err) >= 0) {
			strvfreep(&rep.conflicts);
			rep.conflicts = now;
		}
	}
	world_store_free(s);
	if (r < 0) {
		txn_release(&t);
		return fail(ctx, &err);
	}
	if (ctx->json)
		report_print_json(stdout, &t, &rep);
	else
		report_print(stdout, &t, &rep, true);
	report_release(&rep);
	txn_release(&t);
	return EXIT_OK;
}
