/* pwapt upgrade --test, pwapt install --test: an apt transaction in a world
 * (DESIGN.md §6).
 *
 *   plan      a new world on the chain's tip; what apt-get would do there,
 *             shown as apt shows it, confirmed as apt confirms
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
#include "apt.h"
#include "pwapt.h"
#include "report.h"
#include "txn.h"

/* Seconds an init script may take to start a service in the world. */
#define SERVICE_TIMEOUT 120

/* Seconds a restarted service has to report itself running.  An init
 * script's restart returns before its daemon runs: start-stop-daemon
 * --background exits once the pid file is written, before the daemon's
 * exec, so a status check at once can find a process not yet named as
 * the daemon; systemd reports "activating" for a while. */
#define SERVICE_SETTLE 10

/* Where the chatter of apt, services and tests goes: stderr when stdout
 * carries the JSON report. */
static int chatter_fd(const struct context *ctx)
{
	return ctx->json ? STDERR_FILENO : 0;
}

static FILE *chatter(const struct context *ctx)
{
	return ctx->json ? stderr : stdout;
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs ARGV in world NAME with the lock released for as long as it runs;
 * the store is opened for it and closed after. */
static int run_in(struct context *ctx, const char *name, char *const *argv,
		  const struct world_exec_options *xo, int *status)
{
	/* What pwapt printed comes before what the command prints. */
	fflush(stdout);
	fflush(stderr);
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_error err = {0};
	int r = world_exec_with(s, name, argv, xo, status, &err);
	world_store_free(s);
	if (r < 0)
		fail(ctx, &err);
	return r;
}

/* Records T's new phase (and result), under the lock. */
static int set_phase(struct context *ctx, struct txn *t, enum txn_phase p,
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

/* Discards transactions whose pwapt died before they were ready: what
 * apt and dpkg left there half done is no state to test or build on. */
static void reap_interrupted(struct context *ctx, struct world_store *s)
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
				ctx->cmd, v[i].name, err.msg);
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

static int discard_world(struct context *ctx, const char *name)
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

static bool run_parts_name(const char *name)
{
	/* run-parts(8): only names of letters, digits, '_' and '-', so that
	 * README, *.dpkg-old and editor backups are not run. */
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return false;
	return true;
}

/* The entries of directory PATH in world NAME that PICK accepts, sorted;
 * none when the directory is not there. */
static char **list_dir(struct context *ctx, const char *name, const char *path,
		       char *(*pick)(int dir, const char *entry))
{
	char **v = calloc(1, sizeof(*v));
	struct world_store *s = open_store(ctx);
	if (!s || !v) {
		world_store_free(s);
		return v;
	}
	struct world_error err = {0};
	int fd = world_open_in(s, name, path, O_RDONLY | O_DIRECTORY, &err);
	world_store_free(s);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !d)
		close(fd);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *item = pick(dirfd(d), de->d_name);
		char **nv = item ? realloc(v, (n + 2) * sizeof(*nv)) : NULL;
		if (!nv) {
			free(item);
			continue;
		}
		v = nv;
		v[n++] = item;
		v[n] = NULL;
	}
	qsort(v, n, sizeof(*v), strcmp_p);
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

/* rc2.d: "S02ssh" starts "ssh" in runlevel 2, Debian's default. */
static char *pick_service(int dir, const char *entry)
{
	(void)dir;
	if (entry[0] != 'S' || !isdigit((unsigned char)entry[1]) ||
	    !isdigit((unsigned char)entry[2]) || !run_parts_name(entry + 3))
		return NULL;
	return strdup(entry);
}

/* Starts the services enabled in the world (its /etc/rc2.d), as a boot
 * would, so that tests find them running: a world's init is no init
 * system, and invoke-rc.d in maintainer scripts starts nothing there. */
static void start_services(struct context *ctx, const char *name)
{
	_cleanup_strv_free_ char **links =
		list_dir(ctx, name, "etc/rc2.d", pick_service);
	if (!links || !*links)
		return;
	FILE *f = chatter(ctx);
	fprintf(f, "Starting the services of %s:", name);
	for (char **l = links; *l; l++)
		fprintf(f, " %s", *l + 3);
	fprintf(f, "\n");
	fflush(f);
	for (char **l = links; *l; l++) {
		_cleanup_free_ char *script = NULL;
		if (asprintf(&script, "/etc/init.d/%s", *l + 3) < 0)
			continue;
		char *argv[] = {script, (char *)"start", NULL};
		struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
						.output_fd = chatter_fd(ctx)};
		int status = 0;
		if (run_in(ctx, name, argv, &xo, &status) >= 0 && status)
			fprintf(stderr,
				"%s: warning: %s did not start in %s (exit "
				"%d)\n",
				ctx->cmd, *l + 3, name, status);
	}
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

/* The tests: tests.d's executables, then --test-cmd. */
static void run_tests(struct context *ctx, const char *name, char *const *tests,
		      struct report *r)
{
	FILE *f = chatter(ctx);
	for (char *const *t = tests; t && *t; t++) {
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "/etc/pwapt/tests.d/%s", *t) < 0)
			continue;
		fprintf(f, "Test %s in %s...\n", path, name);
		fflush(f);
		char *argv[] = {path, NULL};
		struct world_exec_options xo = {.output_fd = chatter_fd(ctx)};
		int status = 0;
		if (run_in(ctx, name, argv, &xo, &status) < 0)
			status = 1;
		fprintf(f, "Test %s: %s", *t, status ? "FAILED" : "passed");
		if (status)
			fprintf(f, " (exit %d)", status);
		fputc('\n', f);
		add_test(r, *t, status);
	}
	if (ctx->test_cmd) {
		fprintf(f, "Test --test-cmd in %s: %s\n", name, ctx->test_cmd);
		fflush(f);
		char *argv[] = {(char *)"/bin/sh", (char *)"-c",
				(char *)ctx->test_cmd, NULL};
		struct world_exec_options xo = {.output_fd = chatter_fd(ctx)};
		int status = 0;
		if (run_in(ctx, name, argv, &xo, &status) < 0)
			status = 1;
		fprintf(f, "Test --test-cmd: %s", status ? "FAILED" : "passed");
		if (status)
			fprintf(f, " (exit %d)", status);
		fputc('\n', f);
		add_test(r, ctx->test_cmd, status);
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

static double monotonic_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Whether CHECK, run in Root, succeeds within SERVICE_SETTLE seconds and
 * keeps succeeding for a second: a daemon that exits at once is seen
 * running for a moment. */
static bool comes_up(struct context *ctx, char *const *check,
		     const struct world_exec_options *xo)
{
	const struct timespec pause = {0, 100 * 1000 * 1000};
	double end = monotonic_seconds() + SERVICE_SETTLE, up_since = -1;
	for (;;) {
		int st = 1;
		double now = monotonic_seconds();
		if (run_in(ctx, WORLD_ROOT, check, xo, &st) >= 0 && st == 0) {
			if (up_since < 0)
				up_since = now;
			else if (now - up_since >= 1)
				return true;
		} else {
			up_since = -1;
		}
		if (now >= end + 1)
			return false;
		nanosleep(&pause, NULL);
	}
}

/* Restarts SERVICE in Root if it runs there, or if EVEN_STOPPED: with
 * systemctl where Root runs systemd, else through its init script.
 * Returns 1 when restarted and running, 0 when it was not running (and
 * left so), -1 when it did not come back. */
static int restart_in_root(struct context *ctx, const char *service,
			   bool even_stopped)
{
	struct world_exec_options xo = {.timeout = SERVICE_TIMEOUT,
					.output_fd = chatter_fd(ctx)};
	struct world_exec_options quiet = {.timeout = SERVICE_TIMEOUT,
					   .output_fd = -1};
	_cleanup_free_ char *unit = NULL, *script = NULL;
	if (asprintf(&unit, "%s.service", service) < 0 ||
	    asprintf(&script, "/etc/init.d/%s", service) < 0)
		return -1;
	int st = 1;
	char *systemd[] = {(char *)"test", (char *)"-d",
			   (char *)"/run/systemd/system", NULL};
	bool is_systemd =
		run_in(ctx, WORLD_ROOT, systemd, &quiet, &st) >= 0 && st == 0;
	char *active[] = {(char *)"systemctl", (char *)"is-active",
			  (char *)"--quiet", unit, NULL};
	char *status[] = {script, (char *)"status", NULL};
	char *const *check = is_systemd ? active : status;
	/* A service that does not run (or has no init script) is left so. */
	quiet.output_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!even_stopped &&
	    (run_in(ctx, WORLD_ROOT, check, &quiet, &st) < 0 || st != 0)) {
		closep(&quiet.output_fd);
		return 0;
	}
	char *restart_d[] = {(char *)"systemctl", (char *)"restart", unit,
			     NULL};
	char *restart_s[] = {script, (char *)"restart", NULL};
	int rs = 1;
	if (run_in(ctx, WORLD_ROOT, is_systemd ? restart_d : restart_s, &xo,
		   &rs) < 0)
		rs = 1;
	if (rs == 0 && !comes_up(ctx, check, &quiet))
		rs = 1;
	closep(&quiet.output_fd);
	return rs == 0 ? 1 : -1;
}

/* Rolls back merge ID, of transaction NAME into Root, after a service
 * failed its restart.  The store's lock was free while services restarted:
 * another merge into Root may have come since, and then NAME's merge stays
 * (only the last merge can be undone, and the other one's world is gone).
 * Transactions built on NAME are discarded first: they were tested on
 * NAME's files.  Returns 0 when rolled back, -1 (having said why) if not. */
static int roll_back_failed(struct context *ctx, const char *name, uint64_t id)
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
		fail(ctx, &err);
		fprintf(stderr,
			"%s: the merge of %s (merge %" PRIu64 ") stays%s\n",
			ctx->cmd, name, id,
			r == -EEXIST ? "; pwapt rollback --force undoes it"
				     : "");
		return -1;
	}
	return 0;
}

/* After T merged into Root as merge ID: its services restart there.  One
 * that does not come back rolls the merge back; it and the ones restarted
 * before it are restarted on the old files. */
static int restart_services(struct context *ctx, const char *name, uint64_t id,
			    char *const *services)
{
	FILE *f = chatter(ctx);
	for (char *const *svc = services; svc && *svc; svc++) {
		fprintf(f, "Restarting %s in Root... ", *svc);
		fflush(f);
		int r = restart_in_root(ctx, *svc, false);
		fprintf(f, "%s\n",
			r > 0	 ? "done"
			: r == 0 ? "not running, left as it is"
				 : "FAILED");
		if (r >= 0)
			continue;
		fprintf(stderr,
			"%s: %s does not run after the merge of %s: rolling "
			"the merge back\n",
			ctx->cmd, *svc, name);
		if (roll_back_failed(ctx, name, id) < 0)
			return -1;
		/* They ran before the merge: they run again, on the old
		 * files, this one and those restarted on the new ones. */
		for (char *const *o = services; o <= svc; o++) {
			fprintf(f, "Restarting %s in Root on the old files... ",
				*o);
			fflush(f);
			r = restart_in_root(ctx, *o, o == svc);
			fprintf(f, "%s\n", r > 0 ? "done" : "FAILED");
		}
		fprintf(stderr, "%s: the merge of %s was rolled back\n",
			ctx->cmd, name);
		return -1;
	}
	return 0;
}

/* Root's note "restarted": the merge into Root ("merge ID", its first
 * line) and the services it restarted, one a line, so that `pwapt
 * rollback` of that merge restarts them on the old files.  The merge's id
 * keeps them apart from another merge's: the lock is free while services
 * restart, and another merge may come in between. */
void remember_services(struct context *ctx, char *const *services, uint64_t id)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	fprintf(f, "merge %" PRIu64 "\n", id);
	for (char *const *s = services; s && *s; s++)
		fprintf(f, "%s\n", *s);
	if (fclose(f) != 0)
		return;
	struct world_store *s = open_store(ctx);
	struct world_error err;
	if (s)
		(void)world_note_write(s, WORLD_ROOT, "restarted", buf, len,
				       &err);
	world_store_free(s);
}

void restart_after_rollback(struct context *ctx, uint64_t id)
{
	_cleanup_free_ char *text = NULL;
	struct world_store *s = open_store(ctx);
	struct world_error err;
	int r = s ? world_note_read(s, WORLD_ROOT, "restarted", &text, NULL,
				    &err)
		  : -1;
	uint64_t noted = 0;
	char *l = text;
	if (r >= 0 && sscanf(text, "merge %" SCNu64, &noted) == 1)
		l = strchrnul(text, '\n');
	if (r >= 0 && noted != id)
		r = -1; /* another merge's services */
	if (r >= 0)
		(void)world_note_write(s, WORLD_ROOT, "restarted", "", 0, &err);
	world_store_free(s);
	if (l && *l == '\n')
		l++;
	for (; r >= 0 && l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		printf("Restarting %s in Root... ", l);
		fflush(stdout);
		int rs = restart_in_root(ctx, l, false);
		printf("%s\n", rs > 0	 ? "done"
			       : rs == 0 ? "not running, left as it is"
					 : "FAILED");
		l = nl ? nl + 1 : l + strlen(l);
	}
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

/* Merges NAME's chain into Root, oldest first, restarting each one's
 * services.  Returns an exit code. */
static int merge_chain(struct context *ctx, const char *name, bool force)
{
	_cleanup_strv_free_ char **chain = NULL;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int r = txn_chain(s, name, &chain, &err);
	/* Refused before anything is merged: a transaction of the chain
	 * that is not ready. */
	for (char **w = chain; r >= 0 && w && *w; w++) {
		struct txn t = {0};
		if ((r = txn_load(s, *w, &t, &err)) < 0)
			break;
		if (t.phase != TXN_READY &&
		    !(force && t.phase == TXN_TESTS_FAILED))
			r = -EINVAL,
			snprintf(err.msg, sizeof(err.msg),
				 "cannot merge '%s': %s is %s%s", name, t.name,
				 txn_phase_name(t.phase),
				 t.phase == TXN_TESTS_FAILED
					 ? " (--force merges it "
					   "anyway)"
					 : "");
		txn_release(&t);
		if (r >= 0)
			r = refuse_building_on(s, *w, &err);
	}
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	for (char **w = chain; *w; w++) {
		struct report rep = {0};
		if (!(s = open_store(ctx)))
			return EXIT_FAIL;
		(void)report_load(s, *w, &rep, NULL);
		struct world_diff conflicts = {0};
		unsigned flags =
			WORLD_MERGE_REBASE | (force ? WORLD_MERGE_FORCE : 0);
		uint64_t id = 0;
		/* Under the same lock as the merge: none starts in between. */
		r = refuse_building_on(s, *w, &err);
		if (r >= 0)
			r = world_merge(s, *w, WORLD_ROOT, flags, &conflicts,
					&id, &err);
		world_store_free(s);
		if (r == -EEXIST && conflicts.n) {
			fail(ctx, &err);
			print_warnings(stderr, &conflicts, *w, WORLD_ROOT,
				       false);
			world_diff_release(&conflicts);
			report_release(&rep);
			return EXIT_CONFLICTS;
		}
		if (r < 0) {
			report_release(&rep);
			return fail(ctx, &err);
		}
		fprintf(chatter(ctx),
			"Merged %s into Root as merge %" PRIu64
			" (pwapt rollback undoes it).\n",
			*w, id);
		int rs = ctx->no_restart
				 ? 0
				 : restart_services(ctx, *w, id, rep.services);
		if (rs >= 0)
			remember_services(
				ctx, ctx->no_restart ? NULL : rep.services, id);
		report_release(&rep);
		if (rs < 0)
			return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The whole flow for KIND (and PKGS, for install).  Returns an exit code. */
static int transaction(struct context *ctx, enum apt_kind kind,
		       char *const *pkgs, size_t n)
{
	const char *verb = kind == APT_INSTALL ? "install" : "upgrade";
	if (!ctx->test) {
		failf(ctx,
		      "pwapt %s works through a test world: say 'pwapt %s "
		      "--test' (apt-get %s changes Root in place)",
		      verb, verb, apt_verb(kind));
		return EXIT_USAGE;
	}
	if (ctx->keep + ctx->merge_on_success + ctx->discard > 1) {
		failf(ctx, "--keep, --merge-on-success and --discard exclude "
			   "each other");
		return EXIT_USAGE;
	}
	const char *conffile = ctx->conffile ? ctx->conffile : "keep";
	if (strcmp(conffile, "keep") && strcmp(conffile, "new")) {
		failf(ctx, "--conffile takes 'keep' or 'new', not '%s'",
		      conffile);
		return EXIT_USAGE;
	}
	FILE *f = chatter(ctx);

	/* The world. */
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	reap_interrupted(ctx, s);
	struct world_error err = {0};
	struct txn t = {.kind = strdup(apt_verb(kind)),
			.phase = TXN_PLANNING,
			.created = time(NULL)};
	unsigned long serial = 0;
	int r = txn_chain_tip(s, &t.parent, &err);
	if (r >= 0)
		r = world_store_next_serial(s, "transaction", &serial, &err);
	if (r >= 0 && asprintf(&t.name, "tx%lu", serial) < 0)
		r = -ENOMEM, t.name = NULL;
	if (r >= 0 && n) {
		t.packages = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; t.packages && i < n; i++)
			t.packages[i] = strdup(pkgs[i]);
	}
	txn_own(&t);
	const char *parent_name = t.parent;
	if (r >= 0)
		r = world_create(s, t.name, &parent_name, 1, NULL, &err);
	if (r >= 0 && (r = txn_save(s, &t, &err)) < 0) {
		struct world_error ignored;
		const char *name = t.name;
		(void)world_delete(s, &name, 1, &ignored);
	}
	if (r < 0) {
		world_store_free(s);
		txn_release(&t);
		return fail(ctx, &err);
	}

	/* The plan, where apt will run. */
	struct aptshim_plan plan = {0};
	struct aptshim_error ae = {0};
	r = apt_plan(s, t.name, kind, pkgs, n, &plan, &ae);
	world_store_free(s);
	if (r < 0) {
		failf(ctx, "cannot %s in %s: %s", apt_verb(kind), t.name,
		      ae.msg);
		(void)discard_world(ctx, t.name);
		txn_release(&t);
		return EXIT_FAIL;
	}
	fprintf(f, "Transaction %s: apt-get %s in a new world over %s.\n",
		t.name, apt_verb(kind), t.parent);
	apt_print_plan(f, &plan, kind);
	size_t todo = plan.upgraded + plan.newly_installed + plan.to_remove +
		      plan.downgraded + plan.reinstalled;
	/* Archives all in the cache or on file: sources: no download. */
	bool fetch = plan.fetch_size > 0;
	aptshim_plan_release(&plan);
	if (!todo) {
		fprintf(f, "Nothing to do: %s is discarded.\n", t.name);
		(void)discard_world(ctx, t.name);
		txn_release(&t);
		return EXIT_OK;
	}
	if (!ctx->yes && !ask_yes("Do you want to continue?", true)) {
		fprintf(f, "Abort.\n");
		(void)discard_world(ctx, t.name);
		txn_release(&t);
		return EXIT_FAIL;
	}

	/* Download with the host's network, then install offline. */
	/* apt says what it does in the world; the download only says
	 * what goes wrong. */
	char *dl_opts[] = {(char *)"-qq", (char *)"-y",
			   (char *)"--download-only", NULL};
	char *in_opts[] = {(char *)"-y",
			   (char *)"-o",
			   (char *)"Dpkg::Options::=--force-confdef",
			   (char *)"-o",
			   !strcmp(conffile, "new")
				   ? (char *)"Dpkg::Options::=--force-confnew"
				   : (char *)"Dpkg::Options::=--force-confold",
			   NULL};
	char *env[] = {(char *)"DEBIAN_FRONTEND=noninteractive",
		       (char *)"APT_LISTCHANGES_FRONTEND=none",
		       (char *)"NEEDRESTART_SUSPEND=1", NULL};
	_cleanup_free_ char **dl = apt_argv(kind, dl_opts, pkgs, n);
	_cleanup_free_ char **in = apt_argv(kind, in_opts, pkgs, n);
	struct world_exec_options xo_dl = {
		.host_network = true, .env = env, .output_fd = chatter_fd(ctx)};
	struct world_exec_options xo_in = {.env = env,
					   .output_fd = chatter_fd(ctx)};
	int status = 0;
	const char *failed = NULL;
	if (!dl || !in) {
		txn_release(&t);
		return failf(ctx, "out of memory");
	}
	if (fetch)
		fprintf(f, "Downloading with the host's network...\n");
	if (fetch && (set_phase(ctx, &t, TXN_DOWNLOADING, NULL) < 0 ||
		      run_in(ctx, t.name, dl, &xo_dl, &status) < 0)) {
		failed = "pwapt failed";
	} else if (status) {
		failed = "downloading the packages failed";
	} else if (set_phase(ctx, &t, TXN_INSTALLING, NULL) < 0 ||
		   run_in(ctx, t.name, in, &xo_in, &status) < 0) {
		failed = "pwapt failed";
	} else if (status) {
		failed = "apt-get failed";
	}
	if (failed) {
		_cleanup_free_ char *why = NULL;
		if (asprintf(&why, "%s (exit %d)", failed, status) < 0)
			why = NULL;
		if (ctx->keep) {
			(void)set_phase(ctx, &t, TXN_FAILED, why);
			fprintf(stderr,
				"%s: %s in %s: kept (--keep) for a look; "
				"pwapt discard %s throws it away\n",
				ctx->cmd, why ? why : failed, t.name, t.name);
		} else {
			fprintf(stderr,
				"%s: %s in %s: the world is discarded, Root "
				"is untouched\n",
				ctx->cmd, why ? why : failed, t.name);
			(void)discard_world(ctx, t.name);
		}
		txn_release(&t);
		return EXIT_FAIL;
	}

	/* Tests, with the world's services running. */
	bool keep_mode = ctx->keep || (!ctx->merge_on_success && !ctx->discard);
	_cleanup_strv_free_ char **tests =
		list_dir(ctx, t.name, "etc/pwapt/tests.d", pick_test);
	bool have_tests = (tests && *tests) || ctx->test_cmd;
	struct report rep = {0};
	if (have_tests || keep_mode) {
		(void)set_phase(ctx, &t, TXN_TESTING, NULL);
		start_services(ctx, t.name);
	}
	struct report tested = {0};
	run_tests(ctx, t.name, tests, &tested);

	/* The report. */
	if (!(s = open_store(ctx))) {
		report_release(&tested);
		txn_release(&t);
		return EXIT_FAIL;
	}
	r = report_build(s, &t, &rep, &err);
	if (r >= 0) {
		rep.tests = steal_pointer(&tested.tests);
		rep.n_tests = tested.n_tests;
		tested.n_tests = 0;
		bool passed = report_tests_passed(&rep);
		_cleanup_free_ char *why = passed ? NULL : tests_result(&rep);
		t.phase = passed ? TXN_READY : TXN_TESTS_FAILED;
		free(t.result);
		t.result = steal_pointer(&why);
		r = report_save(s, t.name, &rep, &err);
		if (r >= 0)
			r = txn_save(s, &t, &err);
	}
	world_store_free(s);
	report_release(&tested);
	if (r < 0) {
		report_release(&rep);
		txn_release(&t);
		return fail(ctx, &err);
	}
	if (ctx->json)
		report_print_json(stdout, &t, &rep);
	else
		report_print(stdout, &t, &rep, false);

	/* Merge, discard or keep. */
	int ret = EXIT_OK;
	bool passed = t.phase == TXN_READY;
	bool conflicts = rep.conflicts && *rep.conflicts;
	report_release(&rep);
	if (ctx->discard) {
		if (discard_world(ctx, t.name) >= 0)
			fprintf(f, "Discarded %s; Root is untouched.\n",
				t.name);
		ret = !passed ? EXIT_TESTS_FAILED : EXIT_OK;
	} else if (!passed) {
		fprintf(f,
			"Tests failed: nothing is merged; %s is kept for a "
			"look (wconsole %s), pwapt discard %s throws it "
			"away.\n",
			t.name, t.name, t.name);
		ret = EXIT_TESTS_FAILED;
	} else if (conflicts) {
		fprintf(f,
			"Conflicts with Root: nothing is merged; %s is kept "
			"(pwapt merge --force %s overwrites Root's changes).\n",
			t.name, t.name);
		ret = EXIT_CONFLICTS;
	} else if (ctx->merge_on_success ||
		   (!ctx->keep && !ctx->yes && isatty(STDIN_FILENO) &&
		    ask_yes("Merge it into Root now?", false))) {
		ret = merge_chain(ctx, t.name, false);
	} else {
		fprintf(f,
			"%s is kept: pwapt merge %s merges it into Root, "
			"pwapt discard %s throws it away.\n",
			t.name, t.name, t.name);
	}
	txn_release(&t);
	return ret;
}

int cmd_update(struct context *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
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
	(void)argc;
	(void)argv;
	return transaction(ctx, ctx->dist ? APT_DIST_UPGRADE : APT_UPGRADE,
			   NULL, 0);
}

int cmd_install(struct context *ctx, int argc, char **argv)
{
	return transaction(ctx, APT_INSTALL, argv, (size_t)argc);
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
	(void)argc;
	struct world_store *s = open_transaction(ctx, argv[0]);
	if (!s)
		return EXIT_FAIL;
	world_store_free(s);
	return merge_chain(ctx, argv[0], ctx->force);
}

int cmd_txn_discard(struct context *ctx, int argc, char **argv)
{
	(void)argc;
	struct world_store *s = open_transaction(ctx, argv[0]);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	_cleanup_strv_free_ char **gone = NULL;
	int r = txn_descendants(s, argv[0], &gone, &err);
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
	(void)argc;
	(void)argv;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	reap_interrupted(ctx, s);
	struct world_error err = {0};
	struct txn *v = NULL;
	size_t n = 0;
	int r = txn_list(s, &v, &n, &err);
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
	(void)argc;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct txn t = {0};
	struct report rep = {0};
	int r = txn_load(s, argv[0], &t, &err);
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
