/* pwapt upgrade --test, pwapt install --test: an apt transaction in a world
 * (README, "Transactions"; pwapt-upgrade(8)).
 *
 *   begin     a new world on the chain's tip, and the transaction's record
 *   plan      what apt-get would do there, shown as apt shows it,
 *             confirmed as apt confirms
 *   download  apt-get --download-only in the world, with the host's
 *             network: a world's own network need not reach any mirror
 *   install   apt-get in the world, with its own network, non-interactive,
 *             where nothing but the downloaded packages can be had
 *   test      the world's enabled services started, then the executables
 *             of its /etc/pwapt/tests.d and --test-cmd, inside the world
 *   report    packages, files, conffiles, services, conflicts, tests
 *   finish    merge (the chain, oldest first, then Root's services are
 *             restarted), discard or keep, as asked
 *
 * The store's lock is held only for bookkeeping: apt, dpkg and the tests
 * run without it, so that other pwapt commands are not held up for minutes.
 * Each step records its phase first; a transaction whose pwapt died in a
 * phase before "ready" is discarded by the next transaction command. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "../world/strv.h"
#include "apt.h"
#include "aptrun.h"
#include "options.h"
#include "pwapt.h"
#include "report.h"
#include "service.h"
#include "txn.h"

int txn_set_phase(struct context *ctx, struct txn *t, enum txn_phase p,
		  const char *result)
{
	t->phase = p;
	if (result) {
		free(t->result);
		t->result = strdup(result);
	}
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_error err = {0};
	int r = txn_save(s, t, &err);
	world_store_free(s);
	if (r < 0)
		fail(ctx, &err);
	return r;
}

int txn_delete_world(struct context *ctx, const char *name)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_error err = {0};
	int r = world_delete(s, &name, 1, &err);
	world_store_free(s);
	if (r < 0)
		fail(ctx, &err);
	return r;
}

/* apt's question, read from stdin as apt-get reads it. */
static bool ask_yes(const char *question, bool default_yes)
{
	printf("%s [%s] ", question, default_yes ? "Y/n" : "y/N");
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	char *c = line;
	while (isspace((unsigned char)*c))
		c++;
	if (!*c)
		return default_yes;
	return *c == 'y' || *c == 'Y';
}

static const char *apt_verb(enum apt_kind kind)
{
	return kind == APT_INSTALL	  ? "install"
	       : kind == APT_DIST_UPGRADE ? "dist-upgrade"
					  : "upgrade";
}

/* apt-get's command line: OPTIONS, then the verb and the packages. */
static char **apt_argv(enum apt_kind kind, char *const *options,
		       char *const *pkgs, size_t n)
{
	size_t no = 0;
	while (options[no])
		no++;
	char **v = calloc(no + n + 3, sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	v[k++] = (char *)"apt-get";
	for (size_t i = 0; i < no; i++)
		v[k++] = options[i];
	v[k++] = (char *)apt_verb(kind);
	for (size_t i = 0; i < n; i++)
		v[k++] = pkgs[i];
	return v;
}

/* tests.d: executables, and symbolic links (which the world resolves). */
static char *pick_test(int dir, const char *entry)
{
	struct stat st;
	if (!run_parts_name(entry) ||
	    fstatat(dir, entry, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	if (S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && (st.st_mode & 0111)))
		return strdup(entry);
	return NULL;
}

static void add_test(struct report *r, const char *name, int status)
{
	struct report_test *nv =
		realloc(r->tests, (r->n_tests + 1) * sizeof(*nv));
	if (!nv)
		return;
	r->tests = nv;
	nv[r->n_tests++] = (struct report_test){strdup(name), status};
}

/* How long a test may run unless pwapt.conf says (test-timeout): a test
 * that hangs must not hold a nightly pwapt unattended for ever. */
#define TEST_TIMEOUT 1800

/* One test, ARGV in world NAME, called LABEL: its status (124 when it
 * did not finish in time: killed with its process group, which it leads,
 * so that nothing it started runs on in the world). */
static int run_test(struct context *ctx, const char *name, const char *label,
		    char *const *argv)
{
	FILE *f = chatter(ctx);
	bool timed_out = false;
	struct world_exec_options xo = {
		.timeout = ctx->test_timeout ? ctx->test_timeout : TEST_TIMEOUT,
		.own_session = true,
		.timed_out = &timed_out,
		.output_fd = chatter_fd(ctx)};
	int status = 0;
	if (run_in(ctx, name, argv, &xo, &status) < 0)
		status = 1;
	if (timed_out)
		status = 124;
	fprintf(f, "Test %s: %s", label, status ? "FAILED" : "passed");
	if (timed_out)
		fprintf(f,
			" (did not finish within %u s: killed with its "
			"process group)",
			xo.timeout);
	else if (status)
		fprintf(f, " (exit %d)", status);
	fputc('\n', f);
	return status;
}

/* The tests: tests.d's executables, then --test-cmd. */
static void run_tests(struct context *ctx, const char *name, char *const *tests,
		      const char *test_cmd, struct report *r)
{
	FILE *f = chatter(ctx);
	for (char *const *t = tests; t && *t; t++) {
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "/etc/pwapt/tests.d/%s", *t) < 0)
			continue;
		fprintf(f, "Test %s in %s...\n", path, name);
		fflush(f);
		char *argv[] = {path, NULL};
		add_test(r, *t, run_test(ctx, name, *t, argv));
	}
	if (test_cmd) {
		fprintf(f, "Test --test-cmd in %s: %s\n", name, test_cmd);
		fflush(f);
		char *argv[] = {(char *)"/bin/sh", (char *)"-c",
				(char *)test_cmd, NULL};
		add_test(r, test_cmd, run_test(ctx, name, "--test-cmd", argv));
	}
}

/* A sentence on failed tests, for the record. */
static char *tests_result(const struct report *r)
{
	char *buf = NULL;
	size_t len = 0, failed = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < r->n_tests; i++)
		failed += r->tests[i].status != 0;
	fprintf(f, "%zu of %zu test%s failed:", failed, r->n_tests,
		r->n_tests == 1 ? "" : "s");
	for (size_t i = 0; i < r->n_tests; i++)
		if (r->tests[i].status)
			fprintf(f, " %s", r->tests[i].name);
	return fclose(f) == 0 ? buf : NULL;
}

void run_release(struct run *run)
{
	txn_release(&run->t);
	report_release(&run->tested);
}

/* The options that go together, before anything is done. */
static int check_options(struct context *ctx, struct run *run)
{
	const char *verb = run->kind == APT_INSTALL ? "install" : "upgrade";
	if (!run->test) {
		failf(ctx,
		      "pwapt %s works through a test world: say 'pwapt %s "
		      "--test' (apt-get %s changes Root in place)",
		      verb, verb, apt_verb(run->kind));
		return EXIT_USAGE;
	}
	if (run->keep + run->merge_on_success + run->discard > 1) {
		failf(ctx, "--keep, --merge-on-success and --discard exclude "
			   "each other");
		return EXIT_USAGE;
	}
	if (!run->conffile)
		run->conffile = "keep";
	if (strcmp(run->conffile, "keep") && strcmp(run->conffile, "new")) {
		failf(ctx, "--conffile takes 'keep' or 'new', not '%s'",
		      run->conffile);
		return EXIT_USAGE;
	}
	return GO_ON;
}

int step_begin(struct context *ctx, struct run *run)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	reap_interrupted(ctx, s);
	struct world_error err = {0};
	struct txn *t = &run->t;
	*t = (struct txn){
		.kind = strdup(run->verb ? run->verb : apt_verb(run->kind)),
		.phase = TXN_PLANNING,
		.created = time(NULL)};
	unsigned long serial = 0;
	int r = txn_chain_tip(s, &t->parent, &err);
	if (r >= 0)
		r = world_store_next_serial(s, "transaction", &serial, &err);
	if (r >= 0 && asprintf(&t->name, "tx%lu", serial) < 0)
		r = -ENOMEM, t->name = NULL;
	if (r >= 0 && run->n) {
		t->packages = calloc(run->n + 1, sizeof(char *));
		for (size_t i = 0; t->packages && i < run->n; i++)
			t->packages[i] = strdup(run->pkgs[i]);
	}
	txn_own(t);
	if (r >= 0)
		r = txn_create(s, t, &err);
	if (r >= 0) {
		note_no_volatile(ctx, s, t->name);
		note_no_redirect(ctx, s);
	}
	world_store_free(s);
	return r < 0 ? fail(ctx, &err) : GO_ON;
}

/* What apt-get would do in the world, shown as apt shows it and
 * confirmed as apt confirms; nothing to do ends the transaction. */
static int plan(struct context *ctx, struct run *run)
{
	const struct txn *t = &run->t;
	FILE *f = chatter(ctx);
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct aptshim_plan p = {0};
	struct aptshim_error ae = {0};
	int r = apt_plan(s, t->name, run->kind, run->pkgs, run->n, &p, &ae);
	world_store_free(s);
	if (r < 0) {
		failf(ctx, "cannot %s in %s: %s", apt_verb(run->kind), t->name,
		      ae.msg);
		(void)txn_delete_world(ctx, t->name);
		return EXIT_FAIL;
	}
	fprintf(f, "Transaction %s: apt-get %s in a new world over %s.\n",
		t->name, apt_verb(run->kind), t->parent);
	apt_print_plan(f, &p, run->kind);
	size_t todo = p.upgraded + p.newly_installed + p.to_remove +
		      p.downgraded + p.reinstalled;
	/* Archives all in the cache or on file: sources: no download. */
	run->fetch = p.fetch_size > 0 || p.fetch_archives > 0;
	apt_plan_release(&p);
	if (!todo) {
		fprintf(f, "Nothing to do: %s is discarded.\n", t->name);
		(void)txn_delete_world(ctx, t->name);
		return EXIT_OK;
	}
	if (!run->yes && !ask_yes("Do you want to continue?", true)) {
		fprintf(f, "Abort.\n");
		(void)txn_delete_world(ctx, t->name);
		return EXIT_FAIL;
	}
	return GO_ON;
}

int step_abandon(struct context *ctx, struct run *run, const char *failed,
		 int status)
{
	struct txn *t = &run->t;
	_cleanup_free_ char *why = NULL;
	if (asprintf(&why, "%s (exit %d)", failed, status) < 0)
		why = NULL;
	if (run->keep) {
		(void)txn_set_phase(ctx, t, TXN_FAILED, why);
		fprintf(stderr,
			"%s: %s in %s: kept (%s) for a look; pwapt discard "
			"%s throws it away\n",
			ctx->cmd, why ? why : failed, t->name,
			run->keep_why ? run->keep_why : "--keep", t->name);
	} else {
		fprintf(stderr,
			"%s: %s in %s: the world is discarded, Root is "
			"untouched\n",
			ctx->cmd, why ? why : failed, t->name);
		(void)txn_delete_world(ctx, t->name);
	}
	return EXIT_FAIL;
}

char *apt_env[] = {(char *)"DEBIAN_FRONTEND=noninteractive",
			  (char *)"APT_LISTCHANGES_FRONTEND=none",
			  (char *)"NEEDRESTART_SUSPEND=1", NULL};

/* apt-get --download-only in the world with the host's network (a world's
 * own need not reach any mirror); skipped when nothing is to be fetched.
 * apt says what goes wrong only. */
static int download(struct context *ctx, struct run *run)
{
	if (!run->fetch)
		return GO_ON;
	char *opts[] = {(char *)"-qq", (char *)"-y", (char *)"--download-only",
			NULL};
	_cleanup_free_ char **argv = apt_argv(run->kind, opts, run->pkgs,
					      run->n);
	if (!argv)
		return failf(ctx, "out of memory");
	struct world_exec_options xo = {.host_network = true,
					.env = apt_env,
					.output_fd = chatter_fd(ctx)};
	int status = 0;
	fprintf(chatter(ctx), "Downloading with the host's network...\n");
	if (txn_set_phase(ctx, &run->t, TXN_DOWNLOADING, NULL) < 0 ||
	    run_in(ctx, run->t.name, argv, &xo, &status) < 0)
		return step_abandon(ctx, run, "pwapt failed", status);
	if (status)
		return step_abandon(ctx, run, "downloading the packages failed",
			       status);
	return GO_ON;
}

/* apt-get in the world's own network, non-interactive, conffiles as
 * --conffile says: where nothing but the downloaded packages can be had. */
static int install(struct context *ctx, struct run *run)
{
	char *opts[] = {(char *)"-y",
			(char *)"-o",
			(char *)"Dpkg::Options::=--force-confdef",
			(char *)"-o",
			!strcmp(run->conffile, "new")
				? (char *)"Dpkg::Options::=--force-confnew"
				: (char *)"Dpkg::Options::=--force-confold",
			NULL};
	_cleanup_free_ char **argv = apt_argv(run->kind, opts, run->pkgs,
					      run->n);
	if (!argv)
		return failf(ctx, "out of memory");
	struct world_exec_options xo = {.env = apt_env,
					.output_fd = chatter_fd(ctx)};
	int status = 0;
	if (txn_set_phase(ctx, &run->t, TXN_INSTALLING, NULL) < 0 ||
	    run_in(ctx, run->t.name, argv, &xo, &status) < 0)
		return step_abandon(ctx, run, "pwapt failed", status);
	if (status)
		return step_abandon(ctx, run, "apt-get failed", status);
	return GO_ON;
}

/* apt and dpkg are done: the world's layer, volatile while they wrote it,
 * is made durable before anything depends on it (the tests, the report, a
 * merge, a reboot before the merge).  It is stopped, synced and unmounted;
 * the next step mounts it again, plain, as a world that lives long. */
static int settle(struct context *ctx, struct run *run)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return step_abandon(ctx, run, "pwapt failed", 1);
	struct world_error err = {0};
	int r = world_make_durable(s, run->t.name, &err);
	world_store_free(s);
	if (r < 0) {
		(void)fail(ctx, &err);
		return step_abandon(ctx, run,
				    "its layer could not be made durable", 1);
	}
	return GO_ON;
}

/* The services of transaction T's world whose package it removed, by
 * dpkg's status there against its parent's (service_removes: the merge
 * stops them in Root for good), malloc'd; NULL for none, or when that
 * cannot be read (then each enabled one starts, as before).  Their init
 * script, a conffile, stays with its rc2.d link after apt-get remove:
 * started, the tests would see a service the merge takes away. */
static char **removed_services(struct context *ctx, const struct txn *t)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return NULL;
	struct world_error err = {0};
	struct world_services ws = {0};
	struct world_packages pk[2] = {{0}};
	struct world_diff none = {0};
	_cleanup_strv_ struct strv gone = {0};
	_cleanup_close_ int info = -1;
	if (world_services(s, t->name, &ws, &err) >= 0 &&
	    world_packages(s, t->name, &pk[0], &err) >= 0 &&
	    world_packages(s, t->parent, &pk[1], &err) >= 0)
		info = world_open_in(s, t->name, "/var/lib/dpkg/info",
				     O_RDONLY | O_DIRECTORY, &err);
	for (size_t i = 0; info >= 0 && i < ws.n; i++)
		if (service_removes(s, t->name, info, &none, pk,
				    ws.v[i].name) &&
		    strv_push(&gone, strdup(ws.v[i].name)) < 0) {
			strv_free(&gone);
			break;
		}
	world_packages_release(&pk[0]);
	world_packages_release(&pk[1]);
	world_services_release(&ws);
	world_store_free(s);
	return steal_pointer(&gone.v);
}

int step_test(struct context *ctx, struct run *run)
{
	int r = settle(ctx, run);
	if (r != GO_ON)
		return r;
	/* The world stays after the report whatever the tests say (no
	 * --merge-on-success, no --discard): its services run for a look.
	 * Merged or discarded on success (pwapt unattended's keep is for a
	 * world whose tests failed), a world without tests needs none:
	 * nothing would look at them, and they only cost its start. */
	bool stays = !run->merge_on_success && !run->discard;
	_cleanup_strv_free_ char **tests =
		list_dir(ctx, run->t.name, "etc/pwapt/tests.d", pick_test);
	bool have_tests = (tests && *tests) || run->test_cmd;
	if (have_tests || stays) {
		(void)txn_set_phase(ctx, &run->t, TXN_TESTING, NULL);
		_cleanup_strv_free_ char **gone =
			removed_services(ctx, &run->t);
		service_start_enabled(ctx, run->t.name, gone);
	}
	run_tests(ctx, run->t.name, tests, run->test_cmd, &run->tested);
	return GO_ON;
}

int step_report(struct context *ctx, struct run *run)
{
	struct txn *t = &run->t;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct report rep = {0};
	int r = report_build(s, t, &rep, &err);
	if (r >= 0) {
		rep.tests = steal_pointer(&run->tested.tests);
		rep.n_tests = run->tested.n_tests;
		run->tested.n_tests = 0;
		bool passed = report_tests_passed(&rep);
		_cleanup_free_ char *why = passed ? NULL : tests_result(&rep);
		t->phase = passed ? TXN_READY : TXN_TESTS_FAILED;
		free(t->result);
		t->result = steal_pointer(&why);
		/* Ready only once what it holds is on disk. */
		r = passed ? world_make_durable(s, t->name, &err) : 0;
		if (r >= 0)
			r = report_save(s, t->name, &rep, &err);
		if (r >= 0)
			r = txn_save(s, t, &err);
	}
	world_store_free(s);
	if (r < 0) {
		report_release(&rep);
		return fail(ctx, &err);
	}
	FILE *out = run->report_out ? run->report_out : stdout;
	if (ctx->json)
		report_print_json(out, t, &rep);
	else
		report_print(out, t, &rep, false);
	if (run->report_copy)
		report_print(run->report_copy, t, &rep, false);
	run->changed = rep.n_packages;
	run->passed = t->phase == TXN_READY;
	run->conflicts = rep.conflicts && *rep.conflicts;
	report_release(&rep);
	return GO_ON;
}

/* Merge, discard or keep, as asked; a world whose tests failed, or that
 * conflicts with Root, is kept. */
static int finish(struct context *ctx, struct run *run)
{
	const char *name = run->t.name;
	FILE *f = chatter(ctx);
	if (run->discard) {
		if (txn_delete_world(ctx, name) >= 0)
			fprintf(f, "Discarded %s; Root is untouched.\n", name);
		return !run->passed ? EXIT_TESTS_FAILED : EXIT_OK;
	}
	if (!run->passed) {
		fprintf(f,
			"Tests failed: nothing is merged; %s is kept for a "
			"look (wconsole %s), pwapt discard %s throws it "
			"away.\n",
			name, name, name);
		return EXIT_TESTS_FAILED;
	}
	if (run->conflicts) {
		fprintf(f,
			"Conflicts with Root: nothing is merged; %s is kept "
			"(pwapt merge --force %s overwrites Root's changes).\n",
			name, name);
		return EXIT_CONFLICTS;
	}
	if (run->merge_on_success ||
	    (!run->keep && !run->yes && isatty(STDIN_FILENO) &&
	     ask_yes("Merge it into Root now?", false)))
		return merge_chain(ctx, name, false, NULL);
	fprintf(f,
		"%s is kept: pwapt merge %s merges it into Root, pwapt discard "
		"%s throws it away.\n",
		name, name, name);
	return EXIT_OK;
}

/* The whole flow of RUN (its kind, packages and options set), step by
 * step (see the top of this file).  Returns an exit code. */
static int transaction(struct context *ctx, struct run *run)
{
	static int (*const steps[])(struct context *, struct run *) = {
		check_options, step_begin, plan,  download,
		install,       step_test,  step_report, finish};
	int ret = GO_ON;
	for (size_t i = 0; ret == GO_ON && i < sizeof(steps) / sizeof(*steps);
	     i++)
		ret = steps[i](ctx, run);
	run_release(run);
	return ret == GO_ON ? EXIT_OK : ret;
}

/* The options of upgrade and install, into RUN (--dist into *DIST, for
 * upgrade; install passes NULL), then the packages: parse_options(). */
static int apt_options(struct context *ctx, int *argc, char ***argv,
		       struct run *run, bool *dist)
{
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_FLAG("test", &run->test,
			 "  --test               run it in a new world first "
			 "(required)"),
		OPT_FLAG("dist", dist,
			 "  --dist               as apt-get dist-upgrade"),
		{"yes", 'y', &run->yes, NULL,
		 "  -y, --yes            do not ask before starting"},
		OPT_FLAG("merge-on-success", &run->merge_on_success,
			 "  --merge-on-success   merge into Root when the "
			 "tests pass"),
		OPT_FLAG("keep", &run->keep,
			 "  --keep               keep the world (pwapt merge "
			 "or discard it later)"),
		OPT_FLAG("discard", &run->discard,
			 "  --discard            discard the world after the "
			 "report"),
		OPT_VALUE("test-cmd", &run->test_cmd,
			  "  --test-cmd CMD       one more test: a shell "
			  "command run in the world"),
		OPT_VALUE("conffile", &run->conffile,
			  "  --conffile keep|new  changed configuration files: "
			  "keep yours (default) or take the package's"),
		OPT_FLAG("no-restart", &ctx->no_restart,
			 "  --no-restart         leave Root's services as they "
			 "are after a merge"),
		OPT_END,
	};
	static const struct cmd_usage upgrade = {.synopsis = "[--json] --test",
						 .man = "pwapt-upgrade"};
	static const struct cmd_usage install = {
		.synopsis = "[--json] --test PACKAGE...",
		.man = "pwapt-upgrade",
	};
	return parse_options(ctx, argc, argv, options,
			     dist ? &upgrade : &install);
}

int cmd_update(struct context *ctx, int argc, char **argv)
{
	static const struct cmd_option options[] = {OPT_END};
	static const struct cmd_usage usage = {.synopsis = "",
					       .man = "pwapt-upgrade"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	/* Root's lists are Root's to refresh, as `apt-get update` does on a
	 * host; where Root is a container, with the host's network. */
	char *update[] = {(char *)"apt-get", (char *)"update", NULL};
	struct world_exec_options xo = {.host_network = true};
	int status = 0;
	if (run_in(ctx, WORLD_ROOT, update, &xo, &status) < 0)
		return EXIT_FAIL;
	return status ? EXIT_FAIL : EXIT_OK;
}

int cmd_upgrade(struct context *ctx, int argc, char **argv)
{
	struct run run = {0};
	bool dist = false;
	int r = apt_options(ctx, &argc, &argv, &run, &dist);
	if (r != OPTIONS_PARSED)
		return r;
	run.kind = dist ? APT_DIST_UPGRADE : APT_UPGRADE;
	return transaction(ctx, &run);
}

int cmd_install(struct context *ctx, int argc, char **argv)
{
	struct run run = {0};
	int r = apt_options(ctx, &argc, &argv, &run, NULL);
	if (r != OPTIONS_PARSED)
		return r;
	run.kind = APT_INSTALL;
	run.pkgs = argv;
	run.n = (size_t)argc;
	return transaction(ctx, &run);
}
