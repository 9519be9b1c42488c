/* The steps of an apt transaction (DESIGN.md §6), shared by the commands
 * that run one: pwapt upgrade/install --test (cmd-apt.c, which has them
 * all and says what each does) and pwapt unattended (cmd-unattended.c,
 * which puts Debian's unattended-upgrade in place of apt-get). */
#ifndef PWAPT_APTRUN_H
#define PWAPT_APTRUN_H

#include <stdbool.h>
#include <stdio.h>

#include "apt.h"
#include "pwapt.h"
#include "report.h"
#include "txn.h"

/* One transaction on its way through the steps: what each step leaves
 * for the next. */
struct run {
	enum apt_kind kind;
	const char *verb;  /* the record's kind; NULL: apt-get's verb */
	char *const *pkgs; /* install's packages */
	size_t n;
	/* The options (see apt_options()) */
	bool test, yes, keep, merge_on_success, discard;
	const char *keep_why; /* why a failed world is kept: "--keep" */
	const char *test_cmd;
	const char *conffile; /* "keep" or "new" */
	FILE *report_out;     /* where step_report() prints; NULL: stdout */
	FILE *report_copy;    /* and the report for people here too */
	struct txn t;
	bool fetch;	      /* plan: archives to download */
	struct report tested; /* test: the tests' results */
	bool passed;	      /* report: no test failed */
	bool conflicts;	      /* report: a merge into Root would meet some */
	size_t changed;	      /* report: packages changed */
};

/* What a step returns to let the next one run; any other value is the
 * exit code of the command. */
#define GO_ON (-1)

/* The environment of apt in a world: nothing asks. */
extern char *apt_env[];

/* Records T's new phase (and RESULT, unless NULL), under the lock. */
int txn_set_phase(struct context *ctx, struct txn *t, enum txn_phase p,
		  const char *result);
/* Deletes the transaction's world NAME (Root untouched); says why not. */
int txn_delete_world(struct context *ctx, const char *name);

/* The steps.  begin: the transaction's world, txN on the chain's tip,
 * and its record, its layer volatile (no sync while apt and dpkg write
 * it).  test: the world made durable (stopped, synced, mounted again
 * plain: a crash from then on loses nothing), its enabled services
 * started (when there are tests, or the world stays after the report
 * whatever they say: neither merge_on_success nor discard), then its
 * tests.  report:
 * built, kept with the transaction (now ready, or with failed tests), and
 * printed (as JSON with --json) on run->report_out, and for people on
 * run->report_copy. */
int step_begin(struct context *ctx, struct run *run);
int step_test(struct context *ctx, struct run *run);
int step_report(struct context *ctx, struct run *run);
/* apt failed (FAILED, exit STATUS; or pwapt could not run it) in the
 * world: kept for a look with run->keep, else discarded; Root is
 * untouched either way.  Returns EXIT_FAIL. */
int step_abandon(struct context *ctx, struct run *run, const char *failed,
		 int status);
void run_release(struct run *run);

#endif
