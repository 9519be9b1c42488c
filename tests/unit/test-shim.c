/*
 * Unit tests of shim/, the libapt-pkg shim, on real Debian trees (from the
 * cached bookworm tree) with the tests' apt repository: the shim's plans
 * against real apt-get's on the same tree, versions, file lists, errors, and
 * that the shim writes nothing into a tree and runs nothing of it.
 *
 * Tree A, a copy of the Debian tree, has the 1.0 test packages installed and
 * the 1.1 repository as its only source; real apt-get runs chroot()ed in it.
 * Tree B is the Debian tree's apt and dpkg state only (its configuration,
 * its Debian lists, its dpkg database: no test packages), which apt-get
 * reads through RootDir, as the shim does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shim/aptshim.h"
#include "tap.h"

static char tmp[] = "/tmp/pwapt-shim.XXXXXX";
static char tree_a[64], tree_b[64];
static char tests_dir[4096];

/* The 1.0 packages installed in tree A. */
#define INSTALLED_10                                                          \
	"pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc " \
	"pwapt-test-dep pwapt-test-a"

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

static char *fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = vfmt(fmt, ap);
	va_end(ap);
	return s;
}

/* Runs a shell command, output to stderr (kept out of TAP); 0 if it
 * succeeded. */
static int sh(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *cmd = vfmt(f, ap);
	va_end(ap);
	char *full = fmt("exec >&2; %s", cmd);
	int r = system(full);
	free(cmd);
	free(full);
	return r == 0 ? 0 : -1;
}

static int run_status;

/* The output (stdout and stderr) of a shell command; its exit status in
 * run_status. */
static char *run(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *cmd = vfmt(f, ap);
	va_end(ap);
	char *full = fmt("%s 2>&1", cmd);
	FILE *p = popen(full, "r");
	free(cmd);
	free(full);
	if (!p)
		abort();
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, m);
	fclose(m);
	int st = pclose(p);
	run_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

/* Real apt-get (or apt-cache) in a tree: chroot()ed in tree A, writing
 * nothing there (no lock, no cache file, no log of its installation
 * planner); in tree B through RootDir, set in APT_CONFIG so that apt reads
 * B's configuration (-o RootDir comes too late for that). */
static char *apt_tool(const char *tool, const char *tree, const char *args)
{
	if (tree == tree_b)
		return run("APT_CONFIG=%s/b.conf %s -o Debug::NoLocking=1 %s",
			   tmp, tool, args);
	return run("chroot %s %s -o Debug::NoLocking=1 "
		   "-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "
		   "-o Dir::Log::Planner= %s",
		   tree, tool, args);
}

static char *apt_get(const char *tree, const char *args)
{
	return apt_tool("apt-get", tree, args);
}

static void cleanup(void)
{
	char *cmd = fmt("rm -rf --one-file-system %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", tmp);
	free(cmd);
}

/* --- canonical plans: what both the shim and apt-get -s say -------------- */

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* LINES sorted and joined by newlines; frees them. */
static char *join_sorted(char **lines, size_t n)
{
	qsort(lines, n, sizeof(*lines), cmp_lines);
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	for (size_t i = 0; i < n; i++) {
		fprintf(m, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(m);
	free(lines);
	return out;
}

static char *stats_line(unsigned long up, unsigned long new_, unsigned long re,
			unsigned long down, unsigned long rm,
			unsigned long kept)
{
	char reinst[64] = "", downg[64] = "";
	if (re)
		snprintf(reinst, sizeof(reinst), "%lu reinstalled, ", re);
	if (down)
		snprintf(downg, sizeof(downg), "%lu downgraded, ", down);
	return fmt("%lu upgraded, %lu newly installed, %s%s%lu to remove and "
		   "%lu not upgraded.",
		   up, new_, reinst, downg, rm, kept);
}

/* The plan as apt-get -s shows it: Inst and Remv lines, kept-back packages
 * (WITH_KEPT: apt lists them for upgrades only) and the counts. */
static char *plan_text(const struct aptshim_plan *p, int with_kept)
{
	char **lines = calloc(p->n_changes + 1, sizeof(*lines));
	size_t n = 0;
	for (size_t i = 0; i < p->n_changes; i++) {
		const struct aptshim_change *c = &p->changes[i];
		switch (c->action) {
		case APTSHIM_REMOVE:
			lines[n++] =
				fmt("Remv %s [%s]", c->name, c->old_version);
			break;
		case APTSHIM_KEPT_BACK:
			if (with_kept)
				lines[n++] = fmt("Kept %s", c->name);
			break;
		default:
			if (c->old_version)
				lines[n++] =
					fmt("Inst %s [%s] (%s)", c->name,
					    c->old_version, c->new_version);
			else
				lines[n++] = fmt("Inst %s (%s)", c->name,
						 c->new_version);
		}
	}
	lines[n++] = stats_line(p->upgraded, p->newly_installed, p->reinstalled,
				p->downgraded, p->to_remove, p->not_upgraded);
	return join_sorted(lines, n);
}

/* The same from apt-get -s output. */
static char *apt_text(const char *out)
{
	char **lines = calloc(strlen(out) + 1, sizeof(*lines));
	size_t n = 0;
	char *copy = strdup(out), *save = NULL;
	int in_kept = 0;
	for (char *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[256], old[256], new_[256];
		if (in_kept && !strncmp(l, "  ", 2)) {
			char *s2 = NULL;
			for (char *w = strtok_r(l, " ", &s2); w;
			     w = strtok_r(NULL, " ", &s2))
				lines[n++] = fmt("Kept %s", w);
			continue;
		}
		in_kept = !strcmp(l, "The following packages have been kept "
				     "back:");
		if (sscanf(l, "Inst %255s [%255[^]]] (%255s", name, old,
			   new_) == 3)
			lines[n++] = fmt("Inst %s [%s] (%s)", name, old, new_);
		else if (sscanf(l, "Inst %255s (%255s", name, new_) == 2)
			lines[n++] = fmt("Inst %s (%s)", name, new_);
		else if (sscanf(l, "Remv %255s [%255[^]]]", name, old) == 2)
			lines[n++] = fmt("Remv %s [%s]", name, old);
		else if (strstr(l, " upgraded, ") && strstr(l, "not upgraded."))
			lines[n++] = strdup(l);
	}
	free(copy);
	return join_sorted(lines, n);
}

/* The shim's plan and apt-get -s's for the same command are the same. */
static void same_as_apt(const char *tree, const char *what,
			const struct aptshim_plan *p, int with_kept)
{
	char *args = fmt("-s %s", what);
	char *out = apt_get(tree, args);
	char *want = apt_text(out), *got = plan_text(p, with_kept);
	ok(run_status == 0 && !strcmp(want, got), "plan of '%s' is apt-get's",
	   what);
	if (run_status != 0 || strcmp(want, got))
		printf("# apt-get -s %s:\n%s# shim:\n%s# apt output:\n%s", what,
		       want, got, out);
	free(args);
	free(out);
	free(want);
	free(got);
}

/* apt's SizeToStr: "20.5 k", "6886 ". */
static void size_to_str(char *buf, size_t n, double size)
{
	const char ext[] = " kMGTPEZY";
	double a = size < 0 ? -size : size;
	for (int i = 0; i < 9; i++) {
		if (a < 100 && i != 0) {
			snprintf(buf, n, "%.1f %c", a, ext[i]);
			return;
		}
		if (a < 10000) {
			snprintf(buf, n, i ? "%.0f %c" : "%.0f ", a, ext[i]);
			return;
		}
		a /= 1000.0;
	}
}

/* Download and installed sizes as apt-get --print-uris reports them. */
static void sizes_as_apt(const char *tree, const char *what,
			 const struct aptshim_plan *p)
{
	char *args = fmt("--print-uris %s", what);
	char *out = apt_get(tree, args);
	unsigned long long sum = 0, size;
	char *copy = strdup(out), *save = NULL, file[512], size_text[32];
	int has_after = 0;
	size_to_str(size_text, sizeof(size_text),
		    (double)p->installed_size_change);
	char *after = fmt("After this operation, %sB %s", size_text,
			  p->installed_size_change >= 0
				  ? "of additional disk space will be used."
				  : "disk space will be freed.");
	/* apt's "Need to get X/Y" (or "Y" when all must be fetched). */
	char fetch_text[32], deb_text[32];
	size_to_str(fetch_text, sizeof(fetch_text), (double)p->fetch_size);
	size_to_str(deb_text, sizeof(deb_text), (double)p->download_size);
	char *need = p->fetch_size < p->download_size
			     ? fmt("Need to get %sB/%sB of archives.",
				   fetch_text, deb_text)
			     : fmt("Need to get %sB of archives.", deb_text);
	int has_need = p->download_size == 0;
	for (char *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '\'' && sscanf(strchr(l + 1, '\'') + 1,
					   "%511s %llu", file, &size) == 2)
			sum += size;
		if (!strcmp(l, after))
			has_after = 1;
		if (!strcmp(l, need))
			has_need = 1;
	}
	ok(has_need, "bytes to fetch of '%s' are apt's: '%s'", what, need);
	if (!has_need)
		printf("# apt said:\n%s", out);
	free(need);
	ok(run_status == 0 && sum == p->download_size,
	   "download size of '%s' is apt's: %llu bytes", what, sum);
	ok(has_after, "installed size of '%s' is apt's: '%s'", what, after);
	if (!has_after)
		printf("# apt said:\n%s", out);
	free(after);
	free(copy);
	free(args);
	free(out);
}

/* --- helpers on plans ------------------------------------------------------
 */

static const struct aptshim_change *change(const struct aptshim_plan *p,
					   const char *name)
{
	for (size_t i = 0; i < p->n_changes; i++)
		if (!strcmp(p->changes[i].name, name))
			return &p->changes[i];
	return NULL;
}

static int is(const struct aptshim_plan *p, const char *name,
	      enum aptshim_action action, const char *old, const char *new_,
	      int automatic)
{
	const struct aptshim_change *c = change(p, name);
	return c && c->action == action && !strcmp(c->arch, "all") &&
	       (old ? c->old_version && !strcmp(c->old_version, old)
		    : !c->old_version) &&
	       (new_ ? c->new_version && !strcmp(c->new_version, new_)
		     : !c->new_version) &&
	       c->automatic == automatic;
}

static int sorted(const struct aptshim_plan *p)
{
	for (size_t i = 1; i < p->n_changes; i++)
		if (strcmp(p->changes[i - 1].name, p->changes[i].name) > 0)
			return 0;
	return 1;
}

static int install(struct aptshim *s, const char *pkgs, struct aptshim_plan *p,
		   struct aptshim_error *e)
{
	char *copy = strdup(pkgs), *save = NULL;
	const char *v[16];
	size_t n = 0;
	for (char *w = strtok_r(copy, " ", &save); w && n < 16;
	     w = strtok_r(NULL, " ", &save))
		v[n++] = w;
	int r = aptshim_plan_install(s, v, n, p, e);
	free(copy);
	return r;
}

/* An install plan, checked against apt-get -s install. */
static int install_as_apt(struct aptshim *s, const char *pkgs,
			  struct aptshim_plan *p)
{
	struct aptshim_error e;
	int r = install(s, pkgs, p, &e);
	ok(r >= 0, "plan install %s: %s", pkgs, r < 0 ? e.msg : "ok");
	char *what = fmt("install %s", pkgs);
	if (r >= 0)
		same_as_apt(tree_a, what, p, 0);
	free(what);
	return r;
}

/* --- the tests --------------------------------------------------------- */

static int make_trees(void)
{
	char *out = run("'%s/fixtures/debian-tree.sh'", tests_dir);
	if (run_status != 0) {
		printf("# %s", out);
		free(out);
		return -1;
	}
	/* The path is its last line: a first build says what it does before
	 * (on stderr, which run() takes too). */
	size_t len = strlen(out);
	if (len && out[len - 1] == '\n')
		out[len - 1] = '\0';
	char *last = strrchr(out, '\n');
	char *cache = strdup(last ? last + 1 : out);
	free(out);
	if (!cache)
		abort();
	snprintf(tree_a, sizeof(tree_a), "%s/a", tmp);
	snprintf(tree_b, sizeof(tree_b), "%s/b", tmp);
	const char *repo = "srv/pwapt-repo";
	int r = sh("cp -a %s %s", cache, tree_a) < 0 ||
		/* apt under RootDir also reads dpkg's cputable */
		sh("cd %s && mkdir -p %s && tar cf - etc/apt var/lib/apt/lists "
		   "var/lib/dpkg usr/share/dpkg | tar xf - -C %s && "
		   "echo 'RootDir \"%s\";' >%s/b.conf",
		   cache, tree_b, tree_b, tree_b, tmp) < 0 ||
		/* Tree A: the 1.0 packages installed (no service may start
		 * here, on this machine), then the 1.1 repository. */
		sh("'%s/fixtures/apt-repo.sh' %s/%s 1.0", tests_dir, tree_a,
		   repo) < 0 ||
		sh("echo 'deb [trusted=yes] file:/%s ./' "
		   ">%s/etc/apt/sources.list && "
		   "printf '#!/bin/sh\\nexit 101\\n' "
		   ">%s/usr/sbin/policy-rc.d && "
		   "chmod 755 %s/usr/sbin/policy-rc.d",
		   repo, tree_a, tree_a, tree_a) < 0 ||
		sh("chroot %s apt-get update -qq && chroot %s env "
		   "DEBIAN_FRONTEND=noninteractive apt-get install -y "
		   "-qq " INSTALLED_10 " >/dev/null",
		   tree_a, tree_a) < 0 ||
		sh("'%s/fixtures/apt-repo.sh' %s/%s 1.1 && "
		   "chroot %s apt-get update -qq",
		   tests_dir, tree_a, repo, tree_a) < 0;
	free(cache);
	return r ? -1 : 0;
}

static void test_upgrade(struct aptshim *s)
{
	struct aptshim_plan p;
	struct aptshim_error e;
	int r = aptshim_plan_upgrade(s, false, &p, &e);
	ok(r == 6, "upgrade plan: %d changes %s", r, r < 0 ? e.msg : "");
	ok(r >= 0 && e.code == 0 && e.msg[0] == '\0', "no error on success");
	const char *up[] = {"pwapt-test-a", "pwapt-test-conf",
			    "pwapt-test-files", "pwapt-test-scripts",
			    "pwapt-test-svc"};
	int all = r == 6;
	for (size_t i = 0; all && i < 5; i++)
		all = is(&p, up[i], APTSHIM_UPGRADE, "1.0", "1.1", 0);
	ok(all, "upgrade: exactly what 1.1 upgrades, 1.0 to 1.1");
	ok(r == 6 &&
		   is(&p, "pwapt-test-dep", APTSHIM_KEPT_BACK, "1.0", "1.1", 0),
	   "upgrade: pwapt-test-dep kept back (it needs a new package)");
	ok(r == 6 && !change(&p, "pwapt-test-newdep"),
	   "upgrade: installs nothing new");
	ok(r == 6 && p.upgraded == 5 && p.newly_installed == 0 &&
		   p.to_remove == 0 && p.not_upgraded == 1,
	   "upgrade: 5 upgraded, 0 newly installed, 0 to remove and 1 not "
	   "upgraded");
	ok(r >= 0 && sorted(&p), "changes sorted by name");
	if (r >= 0)
		same_as_apt(tree_a, "upgrade", &p, 1);
	aptshim_plan_release(&p);
	ok(p.changes == NULL && p.n_changes == 0, "a released plan is zeroed");

	r = aptshim_plan_upgrade(s, true, &p, &e);
	ok(r == 7, "dist-upgrade plan: %d changes %s", r, r < 0 ? e.msg : "");
	ok(r == 7 && is(&p, "pwapt-test-dep", APTSHIM_UPGRADE, "1.0", "1.1", 0),
	   "dist-upgrade: pwapt-test-dep upgraded");
	ok(r == 7 &&
		   is(&p, "pwapt-test-newdep", APTSHIM_INSTALL, NULL, "1.1", 1),
	   "dist-upgrade: pwapt-test-newdep installed, as a dependency");
	ok(r == 7 && p.upgraded == 6 && p.newly_installed == 1 &&
		   p.not_upgraded == 0,
	   "dist-upgrade: 6 upgraded, 1 newly installed");
	if (r >= 0) {
		same_as_apt(tree_a, "dist-upgrade", &p, 1);
		sizes_as_apt(tree_a, "dist-upgrade", &p);
	}
	aptshim_plan_release(&p);
}

static void test_install(struct aptshim *s)
{
	struct aptshim_plan p;
	struct aptshim_error e;

	if (install_as_apt(s, "pwapt-test-dep", &p) >= 0) {
		ok(is(&p, "pwapt-test-dep", APTSHIM_UPGRADE, "1.0", "1.1", 0),
		   "install pwapt-test-dep: upgraded");
		ok(is(&p, "pwapt-test-newdep", APTSHIM_INSTALL, NULL, "1.1", 1),
		   "install pwapt-test-dep: pulls pwapt-test-newdep, "
		   "automatic");
		ok(is(&p, "pwapt-test-files", APTSHIM_KEPT_BACK, "1.0", "1.1",
		      0) && p.not_upgraded == 5,
		   "install: the other upgradable packages stay (5 not "
		   "upgraded)");
		sizes_as_apt(tree_a, "install pwapt-test-dep", &p);
	}
	aptshim_plan_release(&p);

	if (install_as_apt(s, "pwapt-test-rec", &p) >= 0)
		ok(is(&p, "pwapt-test-rec", APTSHIM_INSTALL, NULL, "1.1", 0) &&
			   is(&p, "pwapt-test-b", APTSHIM_INSTALL, NULL, "1.1",
			      1),
		   "install pwapt-test-rec: pulls what it recommends");
	aptshim_plan_release(&p);

	if (install_as_apt(s, "pwapt-test-b=1.0 pwapt-test-newdep/pwapt-test",
			   &p) >= 0)
		ok(is(&p, "pwapt-test-b", APTSHIM_INSTALL, NULL, "1.0", 0) &&
			   is(&p, "pwapt-test-newdep", APTSHIM_INSTALL, NULL,
			      "1.1", 0) &&
			   p.newly_installed == 2,
		   "pkg=version and pkg/release");
	aptshim_plan_release(&p);

	if (install_as_apt(s, "pwapt-test-a- pwapt-test-files", &p) >= 0)
		ok(is(&p, "pwapt-test-a", APTSHIM_REMOVE, "1.0", NULL, 0) &&
			   is(&p, "pwapt-test-files", APTSHIM_UPGRADE, "1.0",
			      "1.1", 0) &&
			   p.to_remove == 1 && p.installed_size_change < 0,
		   "pkg- removes, with an upgrade beside");
	aptshim_plan_release(&p);

	if (install_as_apt(s, "pwapt-test-a=1.0", &p) >= 0)
		ok(!change(&p, "pwapt-test-a") && p.upgraded == 0 &&
			   p.download_size == 0,
		   "the installed version asked for: no change");
	aptshim_plan_release(&p);

	/* Errors: untouched output, apt's words. */
	struct aptshim_plan untouched = {.n_changes = 42};
	p = untouched;
	int r = install(s, "pwapt-test-a pwapt-test-nosuch", &p, &e);
	ok(r == -ENOENT && e.code == ENOENT &&
		   !strcmp(e.msg, "unable to locate package pwapt-test-nosuch"),
	   "an unknown package is an error naming it: %s", e.msg);
	ok(p.n_changes == 42 && !p.changes, "plan untouched on failure");
	char *out = apt_get(tree_a, "-s install pwapt-test-a "
				    "pwapt-test-nosuch");
	ok(run_status == 100 &&
		   strstr(out, "E: Unable to locate package pwapt-test-nosuch"),
	   "apt-get fails the same way");
	free(out);

	r = install(s, "pwapt-test-a=9", &p, &e);
	ok(r == -ENOENT && strstr(e.msg, "version '9' for 'pwapt-test-a' "
					 "was not found"),
	   "an unknown version: %s", e.msg);
	r = install(s, "pwapt-test-a/nosuite", &p, &e);
	ok(r == -ENOENT && strstr(e.msg, "release 'nosuite' for "
					 "'pwapt-test-a' was not found"),
	   "an unknown release: %s", e.msg);

	r = install(s, "pwapt-test-dep pwapt-test-newdep-", &p, &e);
	const char *why = "pwapt-test-dep : Depends: pwapt-test-newdep (>= "
			  "1.1) but it is not going to be installed";
	ok(r == -EDEADLK &&
		   !strncmp(e.msg,
			    "unable to correct problems, you have held broken "
			    "packages; the following packages have unmet "
			    "dependencies: ",
			    strlen("unable to correct problems, you have held "
				   "broken packages; the following packages "
				   "have unmet dependencies: ")) &&
		   strstr(e.msg, why),
	   "an unsatisfiable request is an error with apt's explanation: %s",
	   e.msg);
	out = apt_get(tree_a, "-s install pwapt-test-dep pwapt-test-newdep-");
	ok(run_status == 100 && strstr(out, why) &&
		   strstr(out, "E: Unable to correct problems, you have held "
			       "broken packages."),
	   "apt-get gives the same explanation");
	free(out);
	ok(p.n_changes == 42 && !p.changes, "plan untouched on failures");

	/* Plans start from the tree's state each time. */
	r = aptshim_plan_upgrade(s, false, &p, &e);
	ok(r == 6 && p.upgraded == 5 && p.not_upgraded == 1,
	   "an upgrade plan after install plans is the same as before");
	aptshim_plan_release(&p);
}

static void test_versions_files(struct aptshim *s)
{
	struct aptshim_error e;
	char *inst = (char *)"x", *cand = (char *)"x";
	int r = aptshim_versions(s, "pwapt-test-files", &inst, &cand, &e);
	ok(r == 0 && inst && cand && !strcmp(inst, "1.0") &&
		   !strcmp(cand, "1.1"),
	   "versions: installed 1.0, candidate 1.1");
	free(inst);
	free(cand);
	r = aptshim_versions(s, "pwapt-test-newdep", &inst, &cand, &e);
	ok(r == 0 && !inst && cand && !strcmp(cand, "1.1"),
	   "versions: not installed is NULL");
	free(cand);
	inst = cand = (char *)"x";
	r = aptshim_versions(s, "pwapt-test-nosuch", &inst, &cand, &e);
	ok(r == -ENOENT &&
		   !strcmp(e.msg,
			   "unable to locate package pwapt-test-nosuch") &&
		   !strcmp(inst, "x") && !strcmp(cand, "x"),
	   "versions of an unknown package: %s, output untouched", e.msg);
	r = aptshim_versions(s, "pwapt-test-a:amd64", NULL, &cand, &e);
	ok(r == 0 && cand && !strcmp(cand, "1.1"),
	   "versions: name:arch, one output only");
	free(cand);

	char **files = NULL;
	r = aptshim_files(s, "pwapt-test-files", &files, &e);
	char *dpkg = run("chroot %s dpkg -L pwapt-test-files", tree_a);
	char *joined = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&joined, &len);
	for (int i = 0; r > 0 && files[i]; i++)
		fprintf(m, "%s\n", files[i]);
	fclose(m);
	ok(r == 8 && !strcmp(joined, dpkg),
	   "files: the installed package's list, as dpkg -L prints it");
	ok(r == 8 && !strcmp(files[5], "/usr/share/pwapt-test/files/a") &&
		   files[8] == NULL,
	   "files: NULL-terminated");
	aptshim_strv_free(files);
	free(joined);
	free(dpkg);

	r = aptshim_files(s, "libc6", &files, &e);
	dpkg = run("chroot %s dpkg -L libc6 | wc -l", tree_a);
	ok(r > 100 && r == atoi(dpkg),
	   "files of a Multi-Arch: same package (info/libc6:amd64.list): %d",
	   r);
	aptshim_strv_free(files);
	free(dpkg);

	files = (char **)"x";
	r = aptshim_files(s, "pwapt-test-newdep", &files, &e);
	ok(r == -ENOENT && files == (char **)"x" &&
		   !strcmp(e.msg, "package pwapt-test-newdep is not installed"),
	   "files of a package not installed: %s", e.msg);
	r = aptshim_files(s, "pwapt-test-nosuch", &files, &e);
	ok(r == -ENOENT, "files of an unknown package: %s", e.msg);
}

/* The shim in a child that chroot()ed into tree A and opened "/": the same
 * plans as through RootDir. */
static void test_chroot(const char *rootdir_upgrade, const char *rootdir_dist)
{
	int fds[2];
	if (pipe(fds) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		struct aptshim *s = NULL;
		struct aptshim_plan p;
		struct aptshim_error e;
		FILE *f = fdopen(fds[1], "w");
		if (chroot(tree_a) < 0 || chdir("/") < 0 ||
		    aptshim_open(&s, "/", &e) < 0)
			_exit(1);
		for (int dist = 0; dist <= 1; dist++) {
			if (aptshim_plan_upgrade(s, dist, &p, &e) < 0)
				_exit(1);
			char *t = plan_text(&p, 1);
			fprintf(f, "%s%c", t, 0);
			free(t);
			aptshim_plan_release(&p);
		}
		aptshim_free(s);
		fclose(f);
		_exit(0);
	}
	close(fds[1]);
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && len > 0,
	   "a process chroot()ed into the tree opens \"/\"");
	ok(len > 0 && !strcmp(buf, rootdir_upgrade),
	   "chrooted, the upgrade plan is the same as through RootDir");
	ok(len > 0 && strlen(buf) + 1 < len &&
		   !strcmp(buf + strlen(buf) + 1, rootdir_dist),
	   "chrooted, the dist-upgrade plan is the same as through RootDir");
}

/* Tree B: another tree after tree A, a broken sources list, no lists. */
static void test_tree_b(void)
{
	struct aptshim *s = NULL;
	struct aptshim_error e;
	int r = aptshim_open(&s, tree_b, &e);
	ok(r == 0, "another tree opens after the first was freed: %s", e.msg);
	char *inst = NULL, *cand = NULL;
	r = aptshim_versions(s, "pwapt-test-a", &inst, &cand, &e);
	ok(r == -ENOENT, "the second tree has its own packages");
	char *policy = apt_tool("apt-cache", tree_b, "policy dpkg");
	const char *label = "  Candidate: ", *c = strstr(policy, label);
	char *want =
		c ? strndup(c + strlen(label), strcspn(c, "\n") - strlen(label))
		  : strdup("?");
	r = aptshim_versions(s, "dpkg", &inst, &cand, &e);
	ok(r == 0 && cand && !strcmp(cand, want),
	   "and its own lists: dpkg's candidate is %s as apt-cache says", want);
	free(inst);
	free(cand);
	free(want);
	free(policy);
	aptshim_free(s);

	/* A broken sources list. */
	char *list = fmt("%s/etc/apt/sources.list", tree_b);
	sh("cp %s %s.orig && printf '# mirror\\n\\ndeb "
	   "http://deb.debian.org/debian bookworm\\n' >%s",
	   list, list, list);
	s = (struct aptshim *)"x";
	r = aptshim_open(&s, tree_b, &e);
	want = fmt("malformed entry 3 in list file %s (Component); the "
		   "list of sources could not be read",
		   list);
	ok(r == -EIO && !strcmp(e.msg, want), "a broken sources list: %s",
	   e.msg);
	ok(s == (struct aptshim *)"x", "no shim on failure");
	char *out = apt_get(tree_b, "-s upgrade");
	char *apt_says =
		fmt("E: Malformed entry 3 in list file %s (Component)", list);
	ok(run_status == 100 && strstr(out, apt_says), "apt-get says the same");
	free(apt_says);
	free(out);
	free(want);
	char *deb822 = fmt("%s/etc/apt/sources.list.d/x.sources", tree_b);
	sh("mv %s.orig %s && printf 'Types: deb\\nURIs: file:/x\\n' >%s", list,
	   list, deb822);
	r = aptshim_open(&s, tree_b, &e);
	ok(r == -EIO && strstr(e.msg, "malformed entry 1 in sources file ") &&
		   strstr(e.msg, "x.sources (Suite)"),
	   "a broken deb822 .sources file: %s", e.msg);
	sh("rm %s", deb822);
	free(deb822);
	free(list);

	/* A package installed with a dependency that is missing. */
	sh("cp %s/var/lib/dpkg/status %s/status.orig && "
	   "printf '\\nPackage: pwapt-test-broken\\nStatus: install ok "
	   "installed\\nVersion: 1.0\\nArchitecture: all\\n"
	   "Maintainer: pwapt tests <pwapt-tests@localhost>\\n"
	   "Depends: pwapt-test-missing\\nDescription: broken\\n' "
	   ">>%s/var/lib/dpkg/status",
	   tree_b, tmp, tree_b);
	struct aptshim_plan p = {.n_changes = 42};
	s = NULL;
	r = aptshim_open(&s, tree_b, &e);
	ok(r == 0, "a tree with a broken package opens: %s", e.msg);
	r = aptshim_plan_upgrade(s, false, &p, &e);
	const char *why = "pwapt-test-broken : Depends: pwapt-test-missing but "
			  "it is not installable";
	ok(r == -EDEADLK &&
		   !strncmp(e.msg,
			    "unmet dependencies. Try 'apt --fix-broken "
			    "install' with no packages (or specify a "
			    "solution); ",
			    strlen("unmet dependencies. Try")) &&
		   strstr(e.msg, why) && p.n_changes == 42,
	   "broken before the plan: apt's error and explanation: %s", e.msg);
	out = apt_get(tree_b, "-s upgrade");
	ok(run_status == 100 && strstr(out, why) &&
		   strstr(out, "E: Unmet dependencies. Try 'apt --fix-broken "
			       "install' with no packages (or specify a "
			       "solution)."),
	   "apt-get says the same");
	free(out);
	aptshim_free(s);
	sh("mv %s/status.orig %s/var/lib/dpkg/status", tmp, tree_b);

	/* No lists: only what dpkg's status says. */
	sh("rm -f %s/var/lib/apt/lists/*_*", tree_b);
	s = NULL;
	r = aptshim_open(&s, tree_b, &e);
	ok(r == 0, "a tree with no lists opens: %s", e.msg);
	inst = cand = NULL;
	r = aptshim_versions(s, "dpkg", &inst, &cand, &e);
	ok(r == 0 && inst && cand && !strcmp(inst, cand),
	   "no lists: the candidate is the installed version");
	free(inst);
	free(cand);
	r = aptshim_plan_upgrade(s, true, &p, &e);
	ok(r == 0 && p.upgraded == 0, "no lists: nothing to upgrade");
	if (r >= 0)
		same_as_apt(tree_b, "dist-upgrade", &p, 1);
	aptshim_plan_release(&p);
	r = install(s, "pwapt-test-a", &p, &e);
	ok(r == -ENOENT, "no lists: nothing to install: %s", e.msg);
	aptshim_free(s);
}

/* Tree A (through RootDir: whatever apt runs here runs on this machine)
 * with its apt.conf naming a program that leaves a marker for every place
 * where libapt-pkg runs one while it builds its cache and plans but the
 * shim gives the answer: dpkg (architectures), ischroot (phased updates,
 * which need a machine-id and a phased candidate), the file method (its
 * capabilities, for the download size), dpkg's and apt's hooks. */
static void test_runs_nothing(void)
{
	char *marker = fmt("%s/pwned", tmp);
	char *prog = fmt("%s/usr/local/sbin/pwned", tree_a);
	sh("mkdir -p %s/usr/local/sbin && printf '#!/bin/sh\\necho \"$0 "
	   "$*\" >>%s\\nexit 1\\n' >%s && chmod 755 %s && "
	   "echo 0123456789abcdef0123456789abcdef >%s/etc/machine-id && "
	   "sed -i '/^Package: pwapt-test-files$/a "
	   "Phased-Update-Percentage: 50' %s/var/lib/apt/lists/*_Packages",
	   tree_a, marker, prog, prog, tree_a, tree_a);
	sh("cat >%s/etc/apt/apt.conf.d/99pwned <<EOF\n"
	   "Dir::Bin::dpkg \"%s\";\n"
	   "Dir::Bin::ischroot \"/usr/local/sbin/pwned\";\n"
	   "Dir::Bin::Methods::file \"/usr/local/sbin/pwned\";\n"
	   "DPkg::Pre-Invoke:: \"%s\";\n"
	   "DPkg::Pre-Install-Pkgs:: \"%s\";\n"
	   "DPkg::Post-Invoke:: \"%s\";\n"
	   "APT::Update::Pre-Invoke:: \"%s\";\n"
	   "EOF",
	   tree_a, prog, prog, prog, prog, prog);
	unsetenv("SOURCE_DATE_EPOCH");
	struct aptshim *s = NULL;
	struct aptshim_error e;
	struct aptshim_plan p = {0};
	int r = aptshim_open(&s, tree_a, &e);
	if (r == 0)
		r = aptshim_plan_upgrade(s, false, &p, &e);
	ok(r > 0, "a tree whose apt.conf names hostile programs plans: %s",
	   e.msg);
	ok(p.download_size > 0 && p.fetch_size == 0,
	   "file: archives are local, as apt's file method says");
	aptshim_plan_release(&p);
	if (r > 0)
		r = aptshim_plan_install(
			s, (const char *const[]){"pwapt-test-b"}, 1, &p, &e);
	ok(r > 0, "and installs: %s", e.msg);
	aptshim_plan_release(&p);
	aptshim_free(s);
	bool none = access(marker, F_OK) != 0;
	ok(none, "none of them ran");
	if (!none) {
		char *ran = run("cat %s", marker);
		printf("# ran:\n%s", ran);
		free(ran);
	}
	free(prog);
	free(marker);
}

/* Tree B with a package of a foreign architecture installed: apt finds it
 * by its bare name only when dpkg's arch file lists that architecture. */
static void test_architectures(void)
{
	sh("printf '\\nPackage: pwapt-foreign\\nStatus: install ok "
	   "installed\\nMaintainer: t <t@example.org>\\nArchitecture: "
	   "i386\\nMulti-Arch: same\\nVersion: 1.0\\nDescription: t\\n' "
	   ">>%s/var/lib/dpkg/status && printf 'amd64\\ni386\\n' "
	   ">%s/var/lib/dpkg/arch",
	   tree_b, tree_b);
	struct aptshim *s = NULL;
	struct aptshim_error e;
	struct aptshim_plan p = {0};
	const char *const rm[] = {"pwapt-foreign-"};
	int r = aptshim_open(&s, tree_b, &e);
	if (r == 0)
		r = aptshim_plan_install(s, rm, 1, &p, &e);
	const struct aptshim_change *c =
		r > 0 ? change(&p, "pwapt-foreign") : NULL;
	ok(c && c->action == APTSHIM_REMOVE && !strcmp(c->arch, "i386"),
	   "foreign architectures come from dpkg's arch file: %s", e.msg);
	aptshim_plan_release(&p);
	aptshim_free(s);

	sh("printf 'amd64\\n' >%s/var/lib/dpkg/arch", tree_b);
	s = NULL;
	r = aptshim_open(&s, tree_b, &e);
	if (r == 0)
		r = aptshim_plan_install(s, rm, 1, &p, &e);
	ok(r == -ENOENT, "none there, none for apt: %s", e.msg);
	aptshim_plan_release(&p);
	aptshim_free(s);

	sh("rm %s/var/lib/dpkg/arch && mkdir %s/var/lib/dpkg/arch", tree_b,
	   tree_b);
	s = NULL;
	r = aptshim_open(&s, tree_b, &e);
	ok(r == -EIO && strstr(e.msg, "/var/lib/dpkg/arch"),
	   "an unreadable arch file is an error: %s", e.msg);
	aptshim_free(s);
}

int main(int argc, char **argv)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return tap_skip_all("cannot find the test's directory");
	exe[n] = '\0';
	snprintf(tests_dir, sizeof(tests_dir), "%s", exe);
	for (int i = 0; i < 2; i++)
		*strrchr(tests_dir, '/') = '\0'; /* tests/unit/test-shim */
	if (geteuid() != 0)
		return tap_skip_all("needs root (chroot, apt-get install)");
	if (system("command -v apt-ftparchive >/dev/null") != 0)
		return tap_skip_all("apt-ftparchive is missing (apt-utils)");
	if (!mkdtemp(tmp))
		return tap_skip_all("cannot create a temporary directory");
	atexit(cleanup);
	if (make_trees() < 0)
		return tap_skip_all("cannot build the Debian test trees");

	struct aptshim *s = NULL;
	struct aptshim_error e;
	char *stamp = fmt("%s/stamp", tmp);
	sh("touch %s", stamp);
	int r = aptshim_open(&s, tree_a, &e);
	ok(r == 0 && s, "open a tree through RootDir: %s", e.msg);
	if (r < 0)
		return tap_done();
	struct aptshim *other = (struct aptshim *)"x";
	r = aptshim_open(&other, tree_b, &e);
	ok(r == -EBUSY && other == (struct aptshim *)"x",
	   "one shim per process: %s", e.msg);

	test_upgrade(s);
	test_install(s);
	test_versions_files(s);

	struct aptshim_plan p;
	char *up = NULL, *dist = NULL;
	if (aptshim_plan_upgrade(s, false, &p, &e) >= 0)
		up = plan_text(&p, 1);
	aptshim_plan_release(&p);
	if (aptshim_plan_upgrade(s, true, &p, &e) >= 0)
		dist = plan_text(&p, 1);
	aptshim_plan_release(&p);
	aptshim_free(s);
	test_chroot(up ? up : "", dist ? dist : "");
	free(up);
	free(dist);

	char *written =
		run("find %s -newer %s -o -cnewer %s", tree_a, stamp, stamp);
	ok(written[0] == '\0',
	   "nothing written into the tree (no cache, lock or state file)");
	if (written[0])
		printf("# written:\n%s", written);
	free(written);
	free(stamp);

	test_tree_b();

	/* Tree A again, now configured not to install Recommends. */
	sh("echo 'APT::Install-Recommends \"false\";' "
	   ">%s/etc/apt/apt.conf.d/99pwapt-test",
	   tree_a);
	s = NULL;
	r = aptshim_open(&s, tree_a, &e);
	char *inst = NULL;
	ok(r == 0 &&
		   aptshim_versions(s, "pwapt-test-a", &inst, NULL, &e) == 0 &&
		   inst && !strcmp(inst, "1.0"),
	   "the first tree again, with its own answers");
	free(inst);
	if (r == 0 && install_as_apt(s, "pwapt-test-rec", &p) >= 0)
		ok(is(&p, "pwapt-test-rec", APTSHIM_INSTALL, NULL, "1.1", 0) &&
			   !change(&p, "pwapt-test-b"),
		   "the tree's apt.conf.d says no Recommends: none");
	aptshim_plan_release(&p);
	aptshim_free(s);
	aptshim_free(NULL);

	test_runs_nothing();
	test_architectures();

	r = aptshim_open(&s, "relative/dir", &e);
	ok(r == -EINVAL, "a relative root directory is refused: %s", e.msg);
	r = aptshim_open(&s, "/nonexistent-pwapt", &e);
	ok(r == -ENOENT, "a missing root directory: %s", e.msg);
	(void)argc;
	(void)argv;
	return tap_done();
}
