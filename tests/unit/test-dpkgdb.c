/* Unit tests of the package database merges (world/dpkgdb.c), on the status
 * file of the cached Debian tree (tests/fixtures/debian-tree.sh) and files
 * crafted from it, checked against dpkg itself where dpkg has a say. */
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/dbmerge.h"
#include "../../world/dpkgdb.h"
#include "../../world/fsutil.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
/* libdpkg loses a buffer or two of its own when it jumps out of a parse of
 * a malformed file (parsedb_parse()'s field buffer, for one), and is built
 * without frame pointers, so only its allocator shows in the trace. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:m_malloc\nleak:m_realloc\nleak:m_strdup\n"
	       "leak:m_vasprintf\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}
#else
#define UNDER_ASAN 0
#endif

static char tmp[] = "/tmp/pwapt-dpkgdb.XXXXXX";
static const char *tree;	/* the Debian tree, or NULL */
static char *status;		/* its dpkg status file */
static const char *skip_reason; /* why tests that need it skip */

static void skip(const char *what)
{
	if (getenv("PWAPT_TEST_MUST_WORK") &&
	    !strcmp(getenv("PWAPT_TEST_MUST_WORK"), "1")) {
		ok(0, "%s (%s)", what, skip_reason);
		return;
	}
	printf("ok %d # SKIP %s: %s\n", ++tap_n, what, skip_reason);
}

/* ---- text helpers ---- */

static char *cat(const char *a, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s", a, b) < 0)
		abort();
	return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

/* The stanza of package NAME (and ARCH, when not NULL) in TEXT:
 * [*start, *end), the end after its blank line. */
static int find_stanza(const char *text, const char *name, const char *arch,
		       size_t *start, size_t *end)
{
	_cleanup_free_ char *head = fmt("Package: %s\n", name);
	_cleanup_free_ char *archline =
		arch ? fmt("\nArchitecture: %s\n", arch) : NULL;
	size_t pos = 0, len = strlen(text);
	while (pos < len) {
		const char *e = strstr(text + pos, "\n\n");
		size_t stop = e ? (size_t)(e - text) + 2 : len;
		if (!strncmp(text + pos, head, strlen(head))) {
			_cleanup_free_ char *st =
				strndup(text + pos, stop - pos);
			if (!archline || strstr(st, archline)) {
				*start = pos;
				*end = stop;
				return 0;
			}
		}
		pos = stop;
	}
	return -1;
}

static char *stanza(const char *text, const char *name, const char *arch)
{
	size_t s, e;
	if (find_stanza(text, name, arch, &s, &e) < 0)
		return NULL;
	return strndup(text + s, e - s);
}

/* TEXT with the stanza of NAME[:ARCH] removed. */
static char *drop(const char *text, const char *name, const char *arch)
{
	size_t s, e;
	if (find_stanza(text, name, arch, &s, &e) < 0)
		abort();
	return fmt("%.*s%s", (int)s, text, text + e);
}

/* TEXT with FIELD of NAME[:ARCH]'s stanza set to VALUE (added before the
 * blank line when the stanza has no such field). */
static char *edit(const char *text, const char *name, const char *arch,
		  const char *field, const char *value)
{
	size_t s, e;
	if (find_stanza(text, name, arch, &s, &e) < 0)
		abort();
	_cleanup_free_ char *st = strndup(text + s, e - s);
	_cleanup_free_ char *key = fmt("\n%s: ", field);
	char *at = strstr(st, key);
	_cleanup_free_ char *changed = NULL;
	if (at) {
		char *eol = strchr(at + 1, '\n');
		changed = fmt("%.*s\n%s: %s%s", (int)(at - st), st, field,
			      value, eol);
	} else {
		changed = fmt("%.*s%s: %s\n\n", (int)strlen(st) - 1, st, field,
			      value);
	}
	return fmt("%.*s%s%s", (int)s, text, changed, text + e);
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* Calls FN on the name of each "Package:" line of TEXT. */
static size_t each_package(const char *text, void (*fn)(const char *, void *),
			   void *data)
{
	size_t n = 0;
	for (const char *s = text; s && *s;
	     s = strchr(s, '\n'), s = s ? s + 1 : s)
		if (!strncmp(s, "Package: ", 9)) {
			n++;
			if (fn) {
				_cleanup_free_ char *name =
					strndup(s + 9, strcspn(s + 9, "\n"));
				fn(name, data);
			}
		}
	return n;
}

struct order {
	char last[256];
	bool sorted;
};

static void check_order(const char *name, void *data)
{
	struct order *o = data;
	if (strcmp(o->last, name) > 0)
		o->sorted = false;
	snprintf(o->last, sizeof(o->last), "%s", name);
}

static bool names_sorted(const char *text)
{
	struct order o = {"", true};
	each_package(text, check_order, &o);
	return o.sorted;
}

static const char new_pkg[] = "Package: pwapt-new\n"
			      "Status: install ok installed\n"
			      "Priority: optional\n"
			      "Section: admin\n"
			      "Installed-Size: 1\n"
			      "Maintainer: pwapt <pwapt@example.org>\n"
			      "Architecture: all\n"
			      "Version: 1.0\n"
			      "Description: a package one world installed\n"
			      " Only this test knows it.\n"
			      "\n";

/* ---- running the merges on files ---- */

enum kind {
	STATUS,
	APT,
	DEBCONF,
	DIVERSIONS,
	STATOVERRIDE,
	TRIGFILE,
	PASSWD,
	SHADOW
};

struct result {
	int r;
	char *out; /* OUT's content afterwards */
	struct db_conflicts c;
	struct world_error err;
};

static void result_release(struct result *res)
{
	free(res->out);
	db_conflicts_release(&res->c);
	memset(res, 0, sizeof(*res));
}

static int open_text(const char *name, const char *text)
{
	if (!text)
		return -1;
	_cleanup_free_ char *path = fmt("%s/%s", tmp, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char *read_fd(int fd)
{
	lseek(fd, 0, SEEK_SET);
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	ssize_t n;
	while ((n = read(fd, s + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap)
			s = realloc(s, cap *= 2);
	}
	s[len] = '\0';
	return s;
}

static const char *const apt_keys[] = {"Package", "Architecture", NULL};
static const char *const debconf_keys[] = {"Name", NULL};

static struct result merge(enum kind kind, const char *b, const char *o,
			   const char *t, unsigned flags)
{
	struct result res = {0};
	struct db_file fb = {open_text("base", b), "BASE"};
	struct db_file fo = {open_text("ours", o), "OURS"};
	struct db_file ft = {open_text("theirs", t), "THEIRS"};
	int out = open_text("out", "");
	switch (kind) {
	case STATUS:
		res.r = dpkgdb_merge_status(&fb, &fo, &ft, out, flags, &res.c,
					    &res.err);
		break;
	case APT:
	case DEBCONF:
		res.r = db_merge_deb822(&fb, &fo, &ft, out,
					kind == APT ? apt_keys : debconf_keys,
					flags, &res.c, &res.err);
		break;
	case DIVERSIONS:
		res.r = dpkgdb_merge_diversions(&fb, &fo, &ft, out, flags,
						&res.c, &res.err);
		break;
	case STATOVERRIDE:
		res.r = dpkgdb_merge_statoverride(&fb, &fo, &ft, out, flags,
						  &res.c, &res.err);
		break;
	case TRIGFILE:
		res.r = dpkgdb_merge_trigfile(&fb, &fo, &ft, out, flags,
					      &res.c, &res.err);
		break;
	case PASSWD:
	case SHADOW:
		res.r = db_merge_accounts(&fb, &fo, &ft, out, kind == PASSWD,
					  flags, &res.c, &res.err);
		break;
	}
	res.out = read_fd(out);
	close(out);
	if (fb.fd >= 0)
		close(fb.fd);
	if (fo.fd >= 0)
		close(fo.fd);
	if (ft.fd >= 0)
		close(ft.fd);
	return res;
}

static bool conflicts_are(const struct result *res, const char *a,
			  const char *b)
{
	size_t n = b ? 2 : 1;
	return res->r == (int)n && res->c.n == n && !strcmp(res->c.v[0], a) &&
	       (!b || !strcmp(res->c.v[1], b)) && res->c.v[n] == NULL;
}

/* ---- dpkg's own opinion ---- */

static int sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An admin directory copied from the tree's, with STATUS as its status
 * file; NEW names a package without files of its own in info/. */
/* A copy of the tree's dpkg database with TEXT as its status.  Without
 * "available": dpkg takes a package's Section and Priority from there when
 * it rewrites status (debootstrap's available holds the archive's
 * overrides), and the tests compare with what status alone says. */
static char *admindir(const char *name, const char *text, const char *new)
{
	char *dir = fmt("%s/%s", tmp, name);
	_cleanup_free_ char *cmd = fmt(
		"rm -rf '%s' && cp -a '%s/var/lib/dpkg' '%s' && rm -f '%s/available'",
		dir, tree, dir, dir);
	if (sh(cmd) != 0)
		abort();
	_cleanup_free_ char *path = fmt("%s/status", dir);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	for (const char *ext = ".list\0.md5sums\0"; new &&*ext;
	     ext += strlen(ext) + 1) {
		_cleanup_free_ char *info = fmt("%s/info/%s%s", dir, new, ext);
		close(open(info, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	}
	return dir;
}

static char *capture(const char *cmd, int *rc)
{
	_cleanup_free_ char *full = fmt("%s >'%s/capture' 2>&1", cmd, tmp);
	*rc = sh(full);
	_cleanup_free_ char *path = fmt("%s/capture", tmp);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? read_fd(fd) : strdup("");
}

static void merged_is(enum kind kind, const char *b, const char *o,
		      const char *t, const char *want, const char *what)
{
	struct result res = merge(kind, b, o, t, 0);
	ok(res.r == 0 && res.c.n == 0 && !strcmp(res.out, want), "%s", what);
	result_release(&res);
}

/* Conflicts on K1 (and K2), and OUT left alone. */
static void conflicts_on(enum kind kind, const char *b, const char *o,
			 const char *t, const char *k1, const char *k2,
			 const char *what)
{
	struct result res = merge(kind, b, o, t, 0);
	ok(conflicts_are(&res, k1, k2) && !res.out[0], "%s", what);
	result_release(&res);
}

static void refused(enum kind kind, const char *b, const char *o, const char *t,
		    const char *words, const char *what)
{
	struct result res = merge(kind, b, o, t, 0);
	ok(res.r == -EBADMSG && contains(res.err.msg, words) && !res.out[0],
	   "%s: %s", what, res.err.msg);
	result_release(&res);
}

/* ---- the status file ---- */

static void test_round_trip(void)
{
	merged_is(STATUS, status, status, status, status,
		  "an unchanged status file comes out byte for byte as it went "
		  "in");

	/* Fields out of dpkg's order and spaced differently: the same
	 * records, which dpkg would write as the original. */
	_cleanup_free_ char *apt = stanza(status, "apt", NULL);
	_cleanup_free_ char *noisy_apt = NULL;
	{
		char *nl1 = strchr(apt, '\n'), *nl2 = strchr(nl1 + 1, '\n');
		char *nl3 = strchr(nl2 + 1, '\n');
		/* Package, then the third line, then the second. */
		noisy_apt = fmt("%.*s%.*s%.*s%s", (int)(nl1 - apt + 1), apt,
				(int)(nl3 - nl2), nl2 + 1, (int)(nl2 - nl1),
				nl1 + 1, nl3 + 1);
	}
	_cleanup_free_ char *noisy0 = drop(status, "apt", NULL);
	_cleanup_free_ char *noisy = cat(noisy0, noisy_apt);
	_cleanup_free_ char *spaced =
		edit(noisy, "apt", NULL, "Version", "   2.6.1   ");
	ok(strcmp(spaced, status) != 0, "a reordered, respaced status file");
	merged_is(STATUS, spaced, spaced, spaced, status,
		  "is written as dpkg writes it");
	merged_is(STATUS, status, status, spaced, status,
		  "and formatting alone is no change");
}

static void test_upgrade_and_install(void)
{
	_cleanup_free_ char *ours =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt1");
	_cleanup_free_ char *theirs = cat(status, new_pkg);
	struct result res = merge(STATUS, status, ours, theirs, 0);
	ok(res.r == 0 && res.c.n == 0 && res.c.v && !res.c.v[0],
	   "one side upgrades, the other installs: no conflict");
	ok(contains(res.out, "Package: apt\n") &&
		   contains(res.out, "Version: 2.6.1+pwapt1\n") &&
		   contains(res.out, new_pkg),
	   "both changes are in the merged file");
	ok(names_sorted(res.out) && strstr(res.out, "Package: pwapt-new\n") <
					    strstr(res.out, "Package: sed\n"),
	   "in dpkg's order: by name, pwapt-new before sed");

	if (!tree) {
		skip("dpkg reads the merged file");
		result_release(&res);
		return;
	}
	_cleanup_free_ char *dir = admindir("admin", res.out, "pwapt-new");
	int rc;
	_cleanup_free_ char *q =
		fmt("dpkg-query --admindir='%s' -W -f='${binary:Package} "
		    "${Version} ${db:Status-Abbrev}\\n'",
		    dir);
	_cleanup_free_ char *listing = capture(q, &rc);
	ok(rc == 0 && contains(listing, "apt 2.6.1+pwapt1 ii \n") &&
		   contains(listing, "pwapt-new 1.0 ii \n") &&
		   contains(listing, "dpkg 1.21"),
	   "dpkg-query lists the upgraded and the new package");
	_cleanup_free_ char *a = fmt("dpkg --admindir='%s' --audit", dir);
	_cleanup_free_ char *audit = capture(a, &rc);
	ok(rc == 0 && audit[0] == '\0', "dpkg --audit finds nothing wrong%s%s",
	   audit[0] ? ": " : "", audit);
	/* dpkg rewrites its database with its own writer on the way out. */
	_cleanup_free_ char *w =
		fmt("dpkg --admindir='%s' --set-selections </dev/null", dir);
	_cleanup_free_ char *ignored = capture(w, &rc);
	_cleanup_free_ char *st = fmt("%s/status", dir);
	_cleanup_close_ int fd = open(st, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *rewritten = fd >= 0 ? read_fd(fd) : NULL;
	ok(rc == 0 && rewritten && !strcmp(rewritten, res.out),
	   "dpkg's writer leaves the merged file byte for byte as it is");
	result_release(&res);
}

static void test_same_and_different(void)
{
	_cleanup_free_ char *v2 =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt2");
	_cleanup_free_ char *v3 =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt3");
	merged_is(STATUS, status, v2, v2, v2,
		  "the same upgrade on both sides is no conflict");

	struct result res = merge(STATUS, status, v2, v3, 0);
	ok(conflicts_are(&res, "apt:amd64", NULL),
	   "upgrades to different versions conflict, naming apt:amd64");
	ok(res.out[0] == '\0', "OUT is left alone on a conflict");
	result_release(&res);

	res = merge(STATUS, status, v2, v3, DB_MERGE_FORCE);
	ok(conflicts_are(&res, "apt:amd64", NULL) && !strcmp(res.out, v3),
	   "forced, the conflict is listed and THEIRS's version written");
	result_release(&res);

	_cleanup_free_ char *gone = drop(status, "apt", NULL);
	conflicts_on(STATUS, status, gone, v3, "apt:amd64", NULL,
		     "removed on one side, upgraded on the other: a conflict");
	conflicts_on(STATUS, status, v3, gone, "apt:amd64", NULL,
		     "and the other way round");

	/* A change that is not a version: the selection. */
	_cleanup_free_ char *hold =
		edit(status, "apt", NULL, "Status", "hold ok installed");
	conflicts_on(STATUS, status, hold, v3, "apt:amd64", NULL,
		     "a hold on one side and an upgrade on the other conflict");

	_cleanup_free_ char *both = drop(gone, "gzip", NULL);
	res = merge(STATUS, status, gone, both, 0);
	ok(res.r == 0 && !contains(res.out, "Package: apt\n") &&
		   !contains(res.out, "Package: gzip\n") &&
		   contains(res.out, "Package: dpkg\n"),
	   "removed on one side and unchanged or removed on the other: gone");
	result_release(&res);

	_cleanup_free_ char *theirs = drop(status, "gzip", NULL);
	res = merge(STATUS, status, v2, theirs, 0);
	ok(res.r == 0 && !contains(res.out, "Package: gzip\n") &&
		   contains(res.out, "Version: 2.6.1+pwapt2\n"),
	   "a package removed on one side only is removed");
	result_release(&res);
}

static void test_multiarch(void)
{
	_cleanup_free_ char *libc = stanza(status, "libc6", "amd64");
	ok(libc && contains(libc, "Multi-Arch: same\n"),
	   "libc6:amd64 is Multi-Arch: same");
	if (!libc)
		return;
	_cleanup_free_ char *i386 = NULL;
	{
		char *a = strstr(libc, "Architecture: amd64\n");
		i386 = fmt("%.*sArchitecture: i386\n%s", (int)(a - libc), libc,
			   a + strlen("Architecture: amd64\n"));
	}
	_cleanup_free_ char *base = cat(status, i386);
	_cleanup_free_ char *ours =
		edit(base, "libc6", "i386", "Version", "2.36-9+deb12u99");
	_cleanup_free_ char *theirs =
		edit(base, "libc6", "amd64", "Version", "2.36-9+deb12u98");
	struct result res = merge(STATUS, base, ours, theirs, 0);
	_cleanup_free_ char *got64 = stanza(res.out, "libc6", "amd64");
	_cleanup_free_ char *got32 = stanza(res.out, "libc6", "i386");
	ok(res.r == 0 && contains(got64, "Version: 2.36-9+deb12u98\n") &&
		   contains(got32, "Version: 2.36-9+deb12u99\n"),
	   "libc6:amd64 and libc6:i386 changed on different sides: both kept");
	result_release(&res);

	_cleanup_free_ char *theirs2 =
		edit(base, "libc6", "i386", "Version", "2.36-9+deb12u98");
	conflicts_on(
		STATUS, base, ours, theirs2, "libc6:i386", NULL,
		"libc6:i386 changed differently on both: only it conflicts");

	/* Adding the i386 instance on one side, upgrading amd64 on the
	 * other. */
	_cleanup_free_ char *up64 =
		edit(status, "libc6", "amd64", "Version", "2.36-9+deb12u98");
	res = merge(STATUS, status, base, up64, 0);
	ok(res.r == 0 && contains(res.out, "Architecture: i386\n") &&
		   contains(res.out, "Version: 2.36-9+deb12u98\n"),
	   "a new foreign instance on one side, an upgrade on the other");
	result_release(&res);

	if (!tree) {
		skip("dpkg-query lists both libc6 instances");
	} else {
		_cleanup_free_ char *dir = admindir("admin-ma", base, NULL);
		int rc;
		_cleanup_free_ char *q =
			fmt("dpkg-query --admindir='%s' -W "
			    "-f='${binary:Package}\\n' 'libc6:*'",
			    dir);
		_cleanup_free_ char *listing = capture(q, &rc);
		ok(rc == 0 && !strcmp(listing, "libc6:amd64\nlibc6:i386\n"),
		   "dpkg-query lists libc6:amd64 and libc6:i386");
	}

	/* gzip is not Multi-Arch: same.  A crossgrade on each side, to two
	 * architectures: each side alone is fine, together dpkg would
	 * refuse them ("multiple non-coinstallable package instances"). */
	_cleanup_free_ char *to64 =
		edit(status, "gzip", NULL, "Architecture", "arm64");
	_cleanup_free_ char *to32 =
		edit(status, "gzip", NULL, "Architecture", "i386");
	res = merge(STATUS, status, to64, to32, 0);
	ok(conflicts_are(&res, "gzip:arm64", "gzip:i386") && !res.out[0],
	   "crossgrades to two architectures conflict on both instances");
	result_release(&res);
	res = merge(STATUS, status, to64, to32, DB_MERGE_FORCE);
	ok(res.r == 2 && !strcmp(res.out, to32),
	   "forced, THEIRS's instance alone is written");
	result_release(&res);
}

static void test_malformed(void)
{
	/* Line 4 of a file: a field name without a colon, which dpkg finds
	 * "near line 3" (the lines it finished). */
	const char *bad = "Package: a\nStatus: install ok installed\n"
			  "Version: 1\nBroken line\nArchitecture: all\n\n";
	struct result res = merge(STATUS, status, status, bad, 0);
	ok(res.r == -EBADMSG && res.err.code == EBADMSG,
	   "a malformed file is -EBADMSG");
	ok(contains(res.err.msg, "parsing file 'THEIRS' near line 3") &&
		   contains(res.err.msg, "must be followed by colon") &&
		   !strchr(res.err.msg, '\n'),
	   "in dpkg's words, on one line: %s", res.err.msg);
	ok(res.out[0] == '\0' && res.c.v == NULL,
	   "OUT and the conflicts are left alone");
	result_release(&res);

	static const char *const cases[][2] = {
		{"Package: a\nStatus: install ok installed\nVersion: 1\n"
		 "Version: 2\n",
		 "duplicate value for 'Version' field"},
		{"Package: a\nStatus: bogus ok installed\n",
		 "'Status' field: has invalid value 'bogus ok installed'"},
		{"Package: a\nStatus: install ok installed\nVersion: 1\n"
		 "Architecture: all\nMulti-Arch: same\nMaintainer: m\n"
		 "Description: d\n",
		 "'Multi-Arch: same' field but is architecture 'all'"},
		{"Package: a\nStatus: install ok triggers-pending\n"
		 "Version: 1\nMaintainer: m\nDescription: d\n",
		 "triggers-pending but no triggers pending"},
		{"Package: a\nStatus: install ok installed\nVersion: 1",
		 "missing final newline"},
		{"\x01\x02garbage\xff: \n", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res = merge(STATUS, cases[i][0], status, status, 0);
		ok(res.r == -EBADMSG && contains(res.err.msg, cases[i][1]) &&
			   contains(res.err.msg, "'BASE'"),
		   "malformed base %zu: %s", i, res.err.msg);
		result_release(&res);
	}

	/* Files dpkg reads but would write in a way it cannot read back
	 * (found by tests/fuzz/fuzz-dpkgdb). */
	const char *ctrl_z =
		"Package: a\nStatus: install ok installed\n"
		"Installed-Size: 1\x1a"
		"Maintainer: m\n"
		"Architecture: all\nVersion: 1\nDescription: d\n\n";
	res = merge(STATUS, status, status, ctrl_z, 0);
	ok(res.r == -EBADMSG &&
		   contains(res.err.msg, "parsing file 'THEIRS': dpkg would "
					 "write what it cannot read back: "
					 "parsing file 'THEIRS (as dpkg writes "
					 "it)'"),
	   "a ^Z byte inside a value: %s", res.err.msg);
	result_release(&res);
	const char *bad_arch = "Package: a\nStatus: install ok installed\n"
			       "Maintainer: m\nArchitecture: \xa0"
			       "amd64\n"
			       "Version: 1\nDescription: d\n\n";
	res = merge(STATUS, status, bad_arch, status, 0);
	ok(res.r == -EBADMSG &&
		   contains(res.err.msg, "parsing file 'OURS': package 'a': "
					 "illegal architecture name"),
	   "an illegal architecture name, which dpkg only warns about: %s",
	   res.err.msg);
	result_release(&res);

	/* A carriage return continues the field: the architecture's name
	 * takes in the next line, and a terminal's escape sequence with it. */
	const char *escape = "Package: a\nStatus: install ok installed\n"
			     "Maintainer: m\nArchitecture: amd64\n"
			     "\r\x1b[31mred\nVersion: 1\nDescription: d\n\n";
	res = merge(STATUS, status, escape, status, 0);
	bool printable = res.r == -EBADMSG;
	for (const char *c = res.err.msg; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			printable = false;
	ok(printable && contains(res.err.msg, "'amd64???[31mred'"),
	   "control bytes of a file never reach the message: %s", res.err.msg);
	result_release(&res);

	struct dpkg_packages pkgs = {(void *)1, 42};
	struct db_file f = {open_text("bad", bad), "bad"};
	struct world_error err = {0};
	ok(dpkgdb_read(&f, &pkgs, &err) == -EBADMSG && pkgs.v == (void *)1 &&
		   pkgs.n == 42 && contains(err.msg, "near line 3"),
	   "dpkgdb_read refuses it too, its output untouched");
	close(f.fd);

	/* After all these jumps out of libdpkg, it still works. */
	merged_is(STATUS, status, status, status, status,
		  "libdpkg is in a sound state after the errors");
}

static void test_empty(void)
{
	struct result res = merge(STATUS, "", "", "", 0);
	ok(res.r == 0 && res.out[0] == '\0', "three empty files merge empty");
	result_release(&res);
	merged_is(STATUS, NULL, NULL, status, status,
		  "absent base and ours: THEIRS's packages, all added");
	res = merge(STATUS, status, "", status, 0);
	ok(res.r == 0 && res.out[0] == '\0',
	   "every package removed on one side: an empty database");
	result_release(&res);
	_cleanup_free_ char *v2 =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt2");
	conflicts_on(STATUS, status, "", v2, "apt:amd64", NULL,
		     "emptied on one side, a package upgraded on the other: a "
		     "conflict");
}

static void test_repeated(void)
{
	_cleanup_free_ char *ours =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt1");
	_cleanup_free_ char *theirs = cat(status, new_pkg);
	struct result first = merge(STATUS, status, ours, theirs, 0);
	size_t before = 0, after = 0;
	bool same = first.r == 0;
	for (int i = 0; i < 250 && same; i++) {
		if (i == 50)
			before = mallinfo2().uordblks;
		struct result res = merge(STATUS, status, ours, theirs, 0);
		same = res.r == 0 && !strcmp(res.out, first.out);
		result_release(&res);
	}
	after = mallinfo2().uordblks;
	ok(same, "250 merges in one process give the same result");
	if (UNDER_ASAN)
		printf("ok %d # SKIP heap growth: AddressSanitizer keeps its "
		       "own heap (and checks leaks at exit)\n",
		       ++tap_n);
	else
		/* A database left behind would be some 300 KiB a merge. */
		ok(after < before + 256 * 1024,
		   "and the heap does not grow with them (%zu -> %zu bytes in "
		   "use over 200 merges)",
		   before, after);
	result_release(&first);
}

static void test_read(void)
{
	struct db_file f = {open_text("status", status), "status"};
	struct dpkg_packages pkgs = {0};
	struct world_error err = {0};
	int n = dpkgdb_read(&f, &pkgs, &err);
	close(f.fd);
	int stanzas = (int)each_package(status, NULL, NULL);
	ok(n > 0 && n == stanzas && pkgs.n == (size_t)n,
	   "dpkgdb_read lists every package (%d)", n);
	bool sorted = true;
	for (size_t i = 1; i < pkgs.n; i++)
		if (strcmp(pkgs.v[i - 1].name, pkgs.v[i].name) > 0)
			sorted = false;
	ok(sorted, "sorted by name");
	const struct dpkg_package *dpkg = NULL, *libc = NULL;
	for (size_t i = 0; i < pkgs.n; i++) {
		if (!strcmp(pkgs.v[i].name, "dpkg"))
			dpkg = &pkgs.v[i];
		if (!strcmp(pkgs.v[i].name, "libc6"))
			libc = &pkgs.v[i];
	}
	ok(dpkg && !strcmp(dpkg->arch, "amd64") &&
		   !strncmp(dpkg->version, "1.21.", 5) &&
		   !strcmp(dpkg->want, "install") &&
		   !strcmp(dpkg->eflag, "ok") &&
		   !strcmp(dpkg->status, "installed") && !dpkg->multiarch_same,
	   "dpkg: amd64, 1.21.x, install ok installed");
	bool cfg = false;
	for (size_t i = 0; dpkg && i < dpkg->n_conffiles; i++)
		if (!strcmp(dpkg->conffiles[i].path, "/etc/dpkg/dpkg.cfg") &&
		    strlen(dpkg->conffiles[i].md5sum) == 32 &&
		    !dpkg->conffiles[i].obsolete)
			cfg = true;
	ok(cfg, "with its conffile /etc/dpkg/dpkg.cfg and its md5sum");
	ok(libc && libc->multiarch_same, "libc6 is Multi-Arch: same");
	dpkgdb_packages_release(&pkgs);

	/* b was removed by a dpkg older than 1.10.19, which kept no
	 * Architecture; a is a selection dpkg --set-selections left. */
	const char *odd = "Package: b\nStatus: deinstall ok config-files\n"
			  "Version: 1:2.0-1\nMaintainer: m\n"
			  "Description: d\nConffiles:\n"
			  " /etc/b.conf 0123456789abcdef0123456789abcdef\n"
			  " /etc/old.conf 00000000000000000000000000000000 "
			  "obsolete\n"
			  "\n"
			  "Package: a\nStatus: install ok not-installed\n"
			  "Architecture: amd64\n\n";
	f = (struct db_file){open_text("odd", odd), "odd"};
	n = dpkgdb_read(&f, &pkgs, &err);
	close(f.fd);
	ok(n == 2 && !strcmp(pkgs.v[0].name, "a") &&
		   !strcmp(pkgs.v[0].status, "not-installed") &&
		   !strcmp(pkgs.v[0].arch, "amd64") &&
		   !strcmp(pkgs.v[0].version, ""),
	   "a bare selection: no version");
	ok(n == 2 && !strcmp(pkgs.v[1].version, "1:2.0-1") &&
		   !strcmp(pkgs.v[1].want, "deinstall") &&
		   !strcmp(pkgs.v[1].status, "config-files") &&
		   pkgs.v[1].n_conffiles == 2 &&
		   !pkgs.v[1].conffiles[0].obsolete &&
		   pkgs.v[1].conffiles[1].obsolete &&
		   !strcmp(pkgs.v[1].conffiles[1].path, "/etc/old.conf") &&
		   !strcmp(pkgs.v[1].arch, ""),
	   "removed with its conffiles, one obsolete, an epoch kept, no "
	   "architecture");
	dpkgdb_packages_release(&pkgs);

	/* An installed package without Architecture: dpkg warns, we must
	 * not print. */
	const char *warn = "Package: c\nStatus: install ok installed\n"
			   "Version: 1\nMaintainer: m\nDescription: d\n\n";
	f = (struct db_file){open_text("warn", warn), "warn"};
	_cleanup_free_ char *errpath = fmt("%s/stderr", tmp);
	int saved = dup(2);
	int errfd = open(errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	fflush(stderr);
	dup2(errfd, 2);
	n = dpkgdb_read(&f, &pkgs, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(f.fd);
	_cleanup_free_ char *printed = read_fd(errfd);
	close(errfd);
	ok(n == 1 && printed[0] == '\0',
	   "libdpkg's warnings are not printed (%s)", printed);
	dpkgdb_packages_release(&pkgs);
}

/* ---- deb822, diversions, statoverride ---- */

static void test_extended_states(void)
{
	const char *base = "Package: libfoo1\nArchitecture: amd64\n"
			   "Auto-Installed: 1\n\n"
			   "Package: libbar2\nArchitecture: amd64\n"
			   "Auto-Installed: 1\n\n"
			   "Package: libbaz0\nArchitecture: i386\n"
			   "Auto-Installed: 1\n\n";
	const char *ours = "Package: libfoo1\nArchitecture: amd64\n"
			   "Auto-Installed: 0\n\n"
			   "Package: libbar2\nArchitecture: amd64\n"
			   "Auto-Installed: 1\n\n"
			   "Package: libbaz0\nArchitecture: i386\n"
			   "Auto-Installed: 1\n\n"
			   "Package: libnew-ours\nArchitecture: amd64\n"
			   "Auto-Installed: 1\n\n";
	const char *theirs = "Package: libnew-theirs\nArchitecture: all\n"
			     "Auto-Installed: 1\n\n"
			     "Package: libfoo1\nArchitecture: amd64\n"
			     "Auto-Installed: 1\n\n"
			     "Package: libbaz0\nArchitecture: i386\n"
			     "Auto-Installed: 1\n\n";
	merged_is(APT, base, ours, theirs,
		  "Package: libfoo1\nArchitecture: amd64\n"
		  "Auto-Installed: 0\n\n"
		  "Package: libbaz0\nArchitecture: i386\n"
		  "Auto-Installed: 1\n\n"
		  "Package: libnew-ours\nArchitecture: amd64\n"
		  "Auto-Installed: 1\n\n"
		  "Package: libnew-theirs\nArchitecture: all\n"
		  "Auto-Installed: 1\n\n",
		  "extended_states: OURS's order, THEIRS's new record after, "
		  "a removal and a change kept");
	merged_is(APT, base, base, base, base,
		  "an unchanged file comes out as it went in");

	const char *noisy = "Package: libfoo1\nAuto-Installed:   0  \n"
			    "architecture: amd64\n\n"
			    "Package: libbar2\nArchitecture: amd64\n"
			    "Auto-Installed: 1\n\n"
			    "Package: libbaz0\nArchitecture: i386\n"
			    "Auto-Installed: 1\n";
	struct result res = merge(APT, base, ours, noisy, 0);
	ok(res.r == 0 && !strcmp(res.out, ours),
	   "the same change, spelt differently, is no conflict");
	result_release(&res);

	conflicts_on(APT, base, ours,
		     "Package: libfoo1\nArchitecture: amd64\n"
		     "Auto-Installed: 1\nX-Note: theirs\n\n",
		     "libfoo1:amd64", NULL,
		     "changed one way here and another there: a conflict "
		     "named package:arch (the removal of an unchanged record "
		     "is none)");

	refused(APT, base, ours, "Architecture: amd64\n",
		"'THEIRS' line 1: record without a value for 'Package'",
		"a record without a Package");
	refused(APT, base,
		"Package: a\nArchitecture: amd64\n\n"
		"Package: a\nArchitecture: amd64\n",
		ours, "two records for 'a:amd64', at lines 1 and 4",
		"two records with one key");
	refused(APT, base, ours, "Package: a\n continued\nno colon\n",
		"line 3: field name", "a line that is no field");
}

static void test_debconf(void)
{
	const char *base = "Name: foo/question\nTemplate: foo/question\n"
			   "Value: yes\nOwners: foo\nFlags: seen\n\n"
			   "Name: bar/list\nTemplate: bar/list\nOwners: bar\n"
			   "Variables:\n a = 1\n b = 2\n\n";
	const char *ours = "Name: foo/question\nTemplate: foo/question\n"
			   "Value: no\nOwners: foo\nFlags: seen\n\n"
			   "Name: bar/list\nTemplate: bar/list\nOwners: bar\n"
			   "Variables:\n a = 1\n b = 2\n\n";
	const char *theirs =
		"Name: foo/question\nTemplate: foo/question\n"
		"Value: yes\nOwners: foo\nFlags: seen\n\n"
		"Name: bar/list\nTemplate: bar/list\nOwners: bar\n"
		"Variables:\n a = 1\n b = 3\n\n"
		"Name: baz/new\nTemplate: baz/new\nOwners: baz\n\n";
	merged_is(DEBCONF, base, ours, theirs,
		  "Name: foo/question\nTemplate: foo/question\n"
		  "Value: no\nOwners: foo\nFlags: seen\n\n"
		  "Name: bar/list\nTemplate: bar/list\nOwners: bar\n"
		  "Variables:\n a = 1\n b = 3\n\n"
		  "Name: baz/new\nTemplate: baz/new\nOwners: baz\n\n",
		  "debconf: a value here, a continuation line there, a new "
		  "question");
	conflicts_on(DEBCONF, base, ours,
		     "Name: foo/question\nTemplate: foo/question\n"
		     "Value: maybe\nOwners: foo\nFlags: seen\n\n",
		     "foo/question", NULL,
		     "answered differently on both sides: a conflict by Name");
}

static void test_diversions(void)
{
	const char *base = "/bin/sh\n/bin/sh.distrib\ndash\n";
	const char *ours = "/bin/sh\n/bin/sh.distrib\ndash\n"
			   "/etc/ours\n/etc/ours.real\n:\n";
	merged_is(DIVERSIONS, base, ours,
		  "/usr/bin/theirs\n/usr/bin/theirs.real\npkg\n"
		  "/bin/sh\n/bin/sh.distrib\nbash\n",
		  "/bin/sh\n/bin/sh.distrib\nbash\n"
		  "/etc/ours\n/etc/ours.real\n:\n"
		  "/usr/bin/theirs\n/usr/bin/theirs.real\npkg\n",
		  "diversions: added on each side, changed on one");
	conflicts_on(DIVERSIONS, base, ours,
		     "/bin/sh\n/bin/sh.distrib\ndash\n"
		     "/etc/theirs\n/etc/ours.real\n:\n",
		     "/etc/ours", "/etc/theirs",
		     "two diversions to one path conflict on both");
	conflicts_on(DIVERSIONS, base, "/bin/sh\n/bin/sh.mine\ndash\n",
		     "/bin/sh\n/bin/sh.other\ndash\n", "/bin/sh", NULL,
		     "a diversion changed one way here, another there");
	refused(DIVERSIONS, base, ours, "/a\n/b\n", "unexpected end of file",
		"a diversion of two lines");
	refused(DIVERSIONS, "/a\n/b\n:\n/b\n/c\n:\n", ours, ours,
		"conflicting diversions", "a file dpkg would refuse");
}

static void test_accounts(void)
{
	const char *base = "root:x:0:0:root:/root:/bin/bash\n"
			   "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n";
	const char *ours = "root:x:0:0:root:/root:/bin/bash\n"
			   "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
			   "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n";
	merged_is(PASSWD, base, ours,
		  "root:x:0:0:root:/root:/bin/zsh\n"
		  "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		  "cron:x:101:101::/:/usr/sbin/nologin\n",
		  "root:x:0:0:root:/root:/bin/zsh\n"
		  "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		  "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
		  "cron:x:101:101::/:/usr/sbin/nologin\n",
		  "passwd: a changed shell, a user added on each side");
	const char *exim =
		"root:x:0:0:root:/root:/bin/bash\n"
		"daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		"Debian-exim:x:100:102::/var/spool/exim4:/bin/false\n";
	conflicts_on(PASSWD, base, ours, exim,
		     "Debian-exim and sshd would share id 100", NULL,
		     "passwd: two new users on one uid conflict, named once");
	merged_is(SHADOW, base, ours, exim,
		  "root:x:0:0:root:/root:/bin/bash\n"
		  "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		  "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
		  "Debian-exim:x:100:102::/var/spool/exim4:/bin/false\n",
		  "shadow-like files (no ids) merge by name alone");
	merged_is(PASSWD,
		  "toor:x:0:0::/:/bin/sh\n"
		  "root:x:0:0::/:/bin/sh\n",
		  "toor:x:0:0::/:/bin/sh\n"
		  "root:x:0:0::/:/bin/sh\n",
		  "toor:x:0:0::/:/bin/sh\n"
		  "root:x:0:0::/:/bin/sh\n"
		  "bin:x:2:2::/:/bin/sh\n",
		  "toor:x:0:0::/:/bin/sh\n"
		  "root:x:0:0::/:/bin/sh\n"
		  "bin:x:2:2::/:/bin/sh\n",
		  "two names OURS already has on one id are left alone");
	conflicts_on(PASSWD, base,
		     "root:x:0:0:root:/root:/bin/zsh\n"
		     "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
		     "root:x:0:0:root:/root:/bin/dash\n"
		     "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
		     "root", NULL, "one user changed differently conflicts");
	refused(PASSWD, base, ours, ":x:5:5::/:/bin/sh\n",
		"line 1: a line without a name", "a line without a name");
	conflicts_on(PASSWD, ours,
		     "root:x:0:0:root:/root:/bin/bash\n"
		     "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		     "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n",
		     "root:x:0:0:root:/root:/bin/bash\n"
		     "daemon:x:100:1::/usr/sbin:/usr/sbin/nologin\n"
		     "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n",
		     "daemon and sshd would share id 100", NULL,
		     "a uid changed onto another user's, both in OURS: a "
		     "conflict");
}

static void test_statoverride(void)
{
	const char *base = "root crontab 2755 /usr/bin/crontab\n";
	const char *ours = "root crontab 2755 /usr/bin/crontab\n"
			   "www-data www-data 0750 /var/www/my dir\n";
	merged_is(STATOVERRIDE, base, ours,
		  "root crontab 2750 /usr/bin/crontab\n"
		  "#0 #0 4755 /usr/local/bin/tool\n",
		  "root crontab 2750 /usr/bin/crontab\n"
		  "www-data www-data 0750 /var/www/my dir\n"
		  "#0 #0 4755 /usr/local/bin/tool\n",
		  "statoverride: a changed mode, an override added on each "
		  "side");
	conflicts_on(STATOVERRIDE, base, "root root 0755 /usr/bin/crontab\n",
		     "root crontab 2750 /usr/bin/crontab\n", "/usr/bin/crontab",
		     NULL, "different overrides of one path conflict");
	refused(STATOVERRIDE, base, ours, "root root 08 /x\n",
		"line 1: invalid mode", "an invalid mode");
	refused(STATOVERRIDE, base, ours, "root root 0755 /x",
		"missing final newline", "a last line without newline");
	refused(STATOVERRIDE, "a b 0644 /x\na b 0600 /x\n", ours, ours,
		"two records for '/x'", "two overrides of one path");
}

/* dpkg's triggers/File as the paper's two upgrades leave it: WordPress's
 * world rewrote it in another order, PHP's added an interest. */
static void test_trigfile(void)
{
	const char *base = "/usr/share/man man-db\n"
			   "/usr/lib/php/8.2/sapi php8.2-cli/noawait\n"
			   "/usr/share/fonts fontconfig\n";
	merged_is(TRIGFILE, base,
		  "/usr/share/fonts fontconfig\n"
		  "/usr/share/man man-db\n"
		  "/usr/lib/php/8.2/sapi php8.2-cli/noawait\n",
		  "/usr/share/man man-db\n"
		  "/usr/lib/php/8.2/sapi php8.2-cli/noawait\n"
		  "/usr/lib/php/8.2/sapi libapache2-mod-php8.2/noawait\n"
		  "/usr/share/fonts fontconfig\n",
		  "/usr/share/fonts fontconfig\n"
		  "/usr/share/man man-db\n"
		  "/usr/lib/php/8.2/sapi php8.2-cli/noawait\n"
		  "/usr/lib/php/8.2/sapi libapache2-mod-php8.2/noawait\n",
		  "triggers/File: one side reordered, the other added an "
		  "interest in a path another package has: no conflict");
	merged_is(TRIGFILE, base,
		  "/usr/share/man man-db\n"
		  "/usr/share/fonts fontconfig\n",
		  "/usr/share/man man-db\n"
		  "/usr/lib/php/8.2/sapi php8.2-cli/noawait\n"
		  "/usr/share/fonts fontconfig\n"
		  "/etc/ld.so.conf.d libc-bin\n",
		  "/usr/share/man man-db\n"
		  "/usr/share/fonts fontconfig\n"
		  "/etc/ld.so.conf.d libc-bin\n",
		  "triggers/File: an interest removed on one side, one added "
		  "on the other");
	refused(TRIGFILE, base, base, "usr/share/man man-db\n",
		"line 1: expected '/path package'", "a relative path");
	refused(TRIGFILE, base, base, "/usr/share/man\n",
		"line 1: expected '/path package'", "no package");
	refused(TRIGFILE, base, base, "/usr/share/man man-db",
		"missing final newline", "a last line without newline");
}

/* ---- logs ---- */

static char *merge_log(const char *o, const char *t, int *r)
{
	struct db_file fo = {open_text("ours", o), "ours"};
	struct db_file ft = {open_text("theirs", t), "theirs"};
	int out = open_text("out", "");
	struct world_error err;
	*r = db_merge_log(&fo, &ft, out, &err);
	char *s = read_fd(out);
	close(out);
	if (fo.fd >= 0)
		close(fo.fd);
	if (ft.fd >= 0)
		close(ft.fd);
	return s;
}

static void test_log(void)
{
	const char *prefix = "2024-01-01 status installed a:amd64 1\n"
			     "2024-01-02 status installed b:amd64 1\n";
	_cleanup_free_ char *ours =
		cat(prefix, "2024-01-03 status installed ours:amd64 1\n");
	_cleanup_free_ char *theirs =
		cat(prefix, "2024-01-03 status installed theirs:all 2\n"
			    "2024-01-04 status installed more:all 3\n");
	int r;
	_cleanup_free_ char *both = merge_log(ours, theirs, &r);
	_cleanup_free_ char *want =
		cat(ours, "2024-01-03 status installed theirs:all 2\n"
			  "2024-01-04 status installed more:all 3\n");
	ok(r == 0 && !strcmp(both, want),
	   "both appended: OURS, then THEIRS's lines from where they part "
	   "(within a line)");
	_cleanup_free_ char *same = merge_log(ours, prefix, &r);
	ok(r == 0 && !strcmp(same, ours), "THEIRS unchanged: OURS");
	_cleanup_free_ char *grown = merge_log(prefix, theirs, &r);
	ok(r == 0 && !strcmp(grown, theirs), "OURS unchanged: THEIRS");
	_cleanup_free_ char *apart = merge_log("x 1\n", "y 2\n", &r);
	ok(r == 0 && !strcmp(apart, "x 1\ny 2\n"),
	   "no common prefix: OURS, then all of THEIRS");
	_cleanup_free_ char *cut = merge_log("a\nb", "a\nbc\n", &r);
	ok(r == 0 && !strcmp(cut, "a\nbc\n"),
	   "OURS's last line cut short and continued in THEIRS");
	_cleanup_free_ char *partial = merge_log("a\nbx", "a\nby\n", &r);
	ok(r == 0 && !strcmp(partial, "a\nbx\nby\n"),
	   "OURS ends within a line THEIRS wrote otherwise: a newline between");
	_cleanup_free_ char *none = merge_log(NULL, NULL, &r);
	ok(r == 0 && !strcmp(none, ""), "two absent logs: empty");
}

/* ---- forced merges: SRC's side of the conflicts, every other record ---- */

/* Forced: conflicts on K1 (and K2) listed, and OUT is WANT. */
static void forced_is(enum kind kind, const char *b, const char *o,
		      const char *t, const char *k1, const char *k2,
		      const char *want, const char *what)
{
	struct result res = merge(kind, b, o, t, DB_MERGE_FORCE);
	ok(conflicts_are(&res, k1, k2) && !strcmp(res.out, want), "%s%s%s",
	   what, res.r < 0 ? ": " : "", res.r < 0 ? res.err.msg : "");
	result_release(&res);
}

static void test_force_status(void)
{
	/* OURS upgraded apt, installed a package and removed sed; THEIRS
	 * upgraded apt otherwise and installed pwapt-new. */
	_cleanup_free_ char *v2 =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt2");
	_cleanup_free_ char *v3 =
		edit(status, "apt", NULL, "Version", "2.6.1+pwapt3");
	_cleanup_free_ char *ours_pkg = strdup(new_pkg);
	memcpy(strstr(ours_pkg, "pwapt-new"), "pwapt-our", 9);
	_cleanup_free_ char *v2_new = cat(v2, ours_pkg);
	_cleanup_free_ char *ours = drop(v2_new, "sed", NULL);
	_cleanup_free_ char *theirs = cat(v3, new_pkg);
	struct result res = merge(STATUS, status, ours, theirs, DB_MERGE_FORCE);
	ok(conflicts_are(&res, "apt:amd64", NULL) &&
		   contains(res.out, "Version: 2.6.1+pwapt3\n") &&
		   !contains(res.out, "Version: 2.6.1+pwapt2\n") &&
		   contains(res.out, "Package: pwapt-our\n") &&
		   contains(res.out, new_pkg) &&
		   !contains(res.out, "Package: sed\n") &&
		   contains(res.out, "Package: dpkg\n") &&
		   names_sorted(res.out),
	   "status, forced: THEIRS's apt, OURS's new package and removal, "
	   "THEIRS's new package, the rest as it was");
	struct result plain = merge(STATUS, status, ours, v2, 0);
	ok(plain.r == 0, "status: the same merge without a conflict is clean");
	result_release(&plain);
	result_release(&res);

	/* Removed on one side, changed on the other: forced, THEIRS's side
	 * either way. */
	_cleanup_free_ char *gone = drop(status, "apt", NULL);
	res = merge(STATUS, status, v2, gone, DB_MERGE_FORCE);
	ok(conflicts_are(&res, "apt:amd64", NULL) &&
		   !contains(res.out, "Package: apt\n") &&
		   contains(res.out, "Package: dpkg\n"),
	   "status, forced: THEIRS's removal wins over OURS's upgrade");
	result_release(&res);
	res = merge(STATUS, status, gone, v3, DB_MERGE_FORCE);
	ok(conflicts_are(&res, "apt:amd64", NULL) &&
		   contains(res.out, "Version: 2.6.1+pwapt3\n"),
	   "status, forced: THEIRS's upgrade wins over OURS's removal");
	result_release(&res);
}

/* ---- dependencies of the merged whole ---- */

/* An installed package's stanza: NAME VERSION and EXTRA fields. */
static char *package(const char *name, const char *version, const char *extra)
{
	return fmt("Package: %s\nStatus: install ok installed\n"
		   "Priority: optional\nSection: misc\nInstalled-Size: 1\n"
		   "Maintainer: Tests <tests@example.org>\n"
		   "Architecture: amd64\nVersion: %s\n%s"
		   "Description: a test package\n\n",
		   name, version, extra);
}

static bool one_break(const struct result *res, const char *what)
{
	return res->r == 1 && res->c.n == 1 && !strcmp(res->c.v[0], what);
}

static void test_dependencies(void)
{
	_cleanup_free_ char *lib = package("pwapt-lib", "1.0", "");
	_cleanup_free_ char *lib2 = package("pwapt-lib", "2.0", "");
	_cleanup_free_ char *dep =
		package("pwapt-dep", "1.1", "Depends: pwapt-lib (>= 1.0)\n");
	_cleanup_free_ char *with_lib = cat(status, lib);
	_cleanup_free_ char *with_both = cat(with_lib, dep);

	/* The soak's case: the world installed dep while lib was there;
	 * DST removed lib meanwhile (a rollback of lib's merge). */
	struct result res = merge(STATUS, with_lib, status, with_both, 0);
	ok(one_break(&res, "pwapt-dep:amd64 1.1 (Depends: pwapt-lib (>= "
			   "1.0))") &&
		   !res.out[0],
	   "a package whose dependency the other side removed is a "
	   "conflict, and OUT is untouched: %s",
	   res.c.n ? res.c.v[0] : "(none)");
	result_release(&res);
	res = merge(STATUS, with_lib, status, with_both, DB_MERGE_FORCE);
	ok(res.r == 1 && contains(res.out, "Package: pwapt-dep\n") &&
		   !contains(res.out, "Package: pwapt-lib\n"),
	   "forced, the merge is written as the records say, the break "
	   "listed");
	result_release(&res);

	/* A version the dependency excludes. */
	_cleanup_free_ char *old_only =
		package("pwapt-dep", "1.1", "Depends: pwapt-lib (<< 2.0)\n");
	_cleanup_free_ char *ours_v2 = cat(status, lib2);
	_cleanup_free_ char *theirs_old = cat(with_lib, old_only);
	res = merge(STATUS, with_lib, ours_v2, theirs_old, 0);
	ok(one_break(&res, "pwapt-dep:amd64 1.1 (Depends: pwapt-lib (<< "
			   "2.0))"),
	   "a version the dependency excludes, upgraded on the other side, "
	   "is a conflict");
	result_release(&res);

	/* Satisfied otherwise: by a Provides with a version, or an
	 * alternative; an unversioned Provides does not satisfy a versioned
	 * dependency. */
	_cleanup_free_ char *prov =
		package("pwapt-libng", "3.0", "Provides: pwapt-lib (= 1.5)\n");
	_cleanup_free_ char *ours_prov = cat(status, prov);
	res = merge(STATUS, with_lib, ours_prov, with_both, 0);
	ok(res.r == 0 && contains(res.out, "Package: pwapt-libng\n") &&
		   contains(res.out, "Package: pwapt-dep\n"),
	   "a versioned Provides on the other side satisfies it");
	result_release(&res);
	_cleanup_free_ char *prov_nov =
		package("pwapt-libng", "3.0", "Provides: pwapt-lib\n");
	_cleanup_free_ char *ours_nov = cat(status, prov_nov);
	res = merge(STATUS, with_lib, ours_nov, with_both, 0);
	ok(res.r == 1, "an unversioned Provides does not satisfy (>= 1.0)");
	result_release(&res);
	_cleanup_free_ char *alt = package("pwapt-alt", "1.0", "");
	_cleanup_free_ char *dep_or = package(
		"pwapt-dep", "1.1", "Depends: pwapt-lib | pwapt-alt\n");
	_cleanup_free_ char *base_alt = cat(with_lib, alt);
	_cleanup_free_ char *ours_alt = cat(status, alt);
	_cleanup_free_ char *theirs_or = cat(base_alt, dep_or);
	res = merge(STATUS, base_alt, ours_alt, theirs_or, 0);
	ok(res.r == 0, "an alternative still installed satisfies it");
	result_release(&res);

	/* Conflicts and Breaks between packages each side installed. */
	_cleanup_free_ char *x =
		package("pwapt-x", "1.0", "Conflicts: pwapt-y\n");
	_cleanup_free_ char *y = package("pwapt-y", "1.0", "");
	_cleanup_free_ char *ours_x = cat(status, x);
	_cleanup_free_ char *theirs_y = cat(status, y);
	res = merge(STATUS, status, ours_x, theirs_y, 0);
	ok(one_break(&res, "pwapt-x:amd64 1.0 (Conflicts: pwapt-y)"),
	   "two packages installed on two sides that conflict are a "
	   "conflict");
	result_release(&res);
	_cleanup_free_ char *z =
		package("pwapt-z", "1.0", "Breaks: pwapt-y (<< 2.0)\n");
	_cleanup_free_ char *ours_z = cat(status, z);
	res = merge(STATUS, status, ours_z, theirs_y, 0);
	ok(one_break(&res, "pwapt-z:amd64 1.0 (Breaks: pwapt-y (<< 2.0))"),
	   "so is a Breaks");
	result_release(&res);
	_cleanup_free_ char *self = package(
		"pwapt-self", "1.0", "Provides: pwapt-v\nConflicts: pwapt-v\n");
	_cleanup_free_ char *theirs_self = cat(status, self);
	res = merge(STATUS, status, ours_x, theirs_self, 0);
	ok(res.r == 0, "a package conflicting with what it provides itself "
		       "is no conflict");
	result_release(&res);

	/* A break one side had already is not the merge's doing. */
	_cleanup_free_ char *orphan =
		package("pwapt-orphan", "1.0", "Depends: pwapt-missing\n");
	_cleanup_free_ char *broken_base = cat(status, orphan);
	_cleanup_free_ char *broken_ours = cat(broken_base, x);
	_cleanup_free_ char *broken_theirs = cat(broken_base, new_pkg);
	res = merge(STATUS, broken_base, broken_ours, broken_theirs, 0);
	ok(res.r == 0 && contains(res.out, "Package: pwapt-orphan\n"),
	   "a break both sides had stays, and is no conflict");
	result_release(&res);
}

static void test_force_text(void)
{
	forced_is(
		APT,
		"Package: a\nArchitecture: amd64\nAuto-Installed: 1\n\n"
		"Package: b\nArchitecture: amd64\nAuto-Installed: 1\n\n",
		"Package: a\nArchitecture: amd64\nAuto-Installed: 0\n\n"
		"Package: b\nArchitecture: amd64\nAuto-Installed: 0\n\n"
		"Package: ours\nArchitecture: all\nAuto-Installed: 1\n\n",
		"Package: a\nArchitecture: amd64\nAuto-Installed: 1\n"
		"X-Note: theirs\n\n"
		"Package: b\nArchitecture: amd64\nAuto-Installed: 1\n\n"
		"Package: theirs\nArchitecture: all\nAuto-Installed: 1\n\n",
		"a:amd64", NULL,
		"Package: a\nArchitecture: amd64\nAuto-Installed: 1\n"
		"X-Note: theirs\n\n"
		"Package: b\nArchitecture: amd64\nAuto-Installed: 0\n\n"
		"Package: ours\nArchitecture: all\nAuto-Installed: 1\n\n"
		"Package: theirs\nArchitecture: all\nAuto-Installed: 1\n\n",
		"extended_states, forced: THEIRS's a, OURS's b and new record, "
		"THEIRS's new record");
	forced_is(DEBCONF, "Name: q/a\nValue: yes\n\nName: q/b\nValue: yes\n\n",
		  "Name: q/a\nValue: no\n\nName: q/b\nValue: no\n\n"
		  "Name: q/ours\nValue: 1\n\n",
		  "Name: q/a\nValue: maybe\n\nName: q/b\nValue: yes\n\n"
		  "Name: q/theirs\nValue: 2\n\n",
		  "q/a", NULL,
		  "Name: q/a\nValue: maybe\n\nName: q/b\nValue: no\n\n"
		  "Name: q/ours\nValue: 1\n\nName: q/theirs\nValue: 2\n\n",
		  "debconf, forced: THEIRS's answer to the question answered "
		  "twice, OURS's other answer and new question kept");
	forced_is(DIVERSIONS, "/bin/sh\n/bin/sh.distrib\ndash\n",
		  "/bin/sh\n/bin/sh.mine\ndash\n"
		  "/etc/ours\n/etc/ours.real\n:\n",
		  "/bin/sh\n/bin/sh.other\ndash\n"
		  "/usr/bin/theirs\n/usr/bin/theirs.real\npkg\n",
		  "/bin/sh", NULL,
		  "/bin/sh\n/bin/sh.other\ndash\n"
		  "/etc/ours\n/etc/ours.real\n:\n"
		  "/usr/bin/theirs\n/usr/bin/theirs.real\npkg\n",
		  "diversions, forced: THEIRS's /bin/sh, both new diversions");
	forced_is(STATOVERRIDE,
		  "root crontab 2755 /usr/bin/crontab\n"
		  "root root 0755 /usr/bin/x\n",
		  "root crontab 2750 /usr/bin/crontab\n"
		  "root root 0700 /usr/bin/x\n"
		  "www-data www-data 0750 /var/www\n",
		  "root crontab 2711 /usr/bin/crontab\n"
		  "root root 0755 /usr/bin/x\n"
		  "#0 #0 4755 /usr/local/bin/tool\n",
		  "/usr/bin/crontab", NULL,
		  "root crontab 2711 /usr/bin/crontab\n"
		  "root root 0700 /usr/bin/x\n"
		  "www-data www-data 0750 /var/www\n"
		  "#0 #0 4755 /usr/local/bin/tool\n",
		  "statoverride, forced: THEIRS's crontab, OURS's x and new "
		  "override, THEIRS's new override");
}

static void test_force_accounts(void)
{
	/* passwd and group (ids checked), shadow and gshadow (none). */
	const char *base = "root:x:0:0:root:/root:/bin/bash\n"
			   "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
			   "bin:x:2:2::/bin:/usr/sbin/nologin\n";
	const char *ours = "root:x:0:0:root:/root:/bin/zsh\n"
			   "daemon:x:1:1::/usr/sbin:/bin/sh\n"
			   "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n";
	const char *theirs = "root:x:0:0:root:/root:/bin/dash\n"
			     "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
			     "bin:x:2:2::/bin:/usr/sbin/nologin\n"
			     "cron:x:101:101::/:/usr/sbin/nologin\n";
	const char *want = "root:x:0:0:root:/root:/bin/dash\n"
			   "daemon:x:1:1::/usr/sbin:/bin/sh\n"
			   "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
			   "cron:x:101:101::/:/usr/sbin/nologin\n";
	forced_is(PASSWD, base, ours, theirs, "root", NULL, want,
		  "passwd, forced: THEIRS's root; OURS's daemon, removal of "
		  "bin and new sshd; THEIRS's new cron");
	forced_is(SHADOW, "root:*:19000:0:99999:7:::\nbin:*:19000::::::\n",
		  "root:$6$ours:19500:0:99999:7:::\n"
		  "sshd:!:19500::::::\n",
		  "root:$6$theirs:19501:0:99999:7:::\nbin:*:19000::::::\n"
		  "cron:!:19501::::::\n",
		  "root", NULL,
		  "root:$6$theirs:19501:0:99999:7:::\nsshd:!:19500::::::\n"
		  "cron:!:19501::::::\n",
		  "shadow, forced: THEIRS's root, OURS's new sshd and removal "
		  "of bin, THEIRS's new cron");
	forced_is(PASSWD, "root:x:0:0::/:/bin/sh\nwww:x:33:33::/:/bin/sh\n",
		  "root:x:0:0::/:/bin/zsh\nwww:x:33:33::/var:/bin/sh\n",
		  "root:x:0:0::/:/bin/sh\n", "www", NULL,
		  "root:x:0:0::/:/bin/zsh\n",
		  "passwd, forced: THEIRS's removal of a user OURS changed");

	/* Two new names on one uid: forcing THEIRS's side would drop OURS's
	 * sshd, whose files keep uid 100. */
	const char *exim =
		"root:x:0:0:root:/root:/bin/bash\n"
		"daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
		"Debian-exim:x:100:102::/var/spool/exim4:/bin/false\n";
	const char *two = "root:x:0:0:root:/root:/bin/bash\n"
			  "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
			  "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n";
	struct result res = merge(PASSWD, base, two, exim, DB_MERGE_FORCE);
	ok(res.r == -EEXIST && !res.out[0] && res.c.n == 0 &&
		   contains(res.err.msg, "Debian-exim and sshd would share "
					 "id 100, which --force does not "
					 "resolve"),
	   "passwd, forced: two names on one uid are refused all the same: "
	   "%s",
	   res.err.msg);
	result_release(&res);
	res = merge(SHADOW, base, two, exim, DB_MERGE_FORCE);
	ok(res.r == 0 && contains(res.out, "sshd:") &&
		   contains(res.out, "Debian-exim:"),
	   "shadow-like files have no ids to clash");
	result_release(&res);
	/* THEIRS's own choice of a second name for uid 0 is taken. */
	forced_is(PASSWD, "root:x:0:0::/:/bin/sh\n", "root:x:0:0::/:/bin/zsh\n",
		  "root:x:0:0::/:/bin/dash\ntoor:x:0:0::/:/bin/sh\n",
		  "root and toor would share id 0", NULL,
		  "root:x:0:0::/:/bin/dash\ntoor:x:0:0::/:/bin/sh\n",
		  "passwd, forced: two names on one id that THEIRS holds so "
		  "are THEIRS's side, listed");
}

/* ---- passwd and shadow as pairs; a forced roll-back's undo ---- */

/* passwd's and shadow's sides (base, ours, theirs; NULL: absent) merged as
 * pairs with FLAGS: the return of each and their OUTs. */
struct pair_result {
	int r[2];
	char *out[2];
	struct world_error err;
};

static void pair_release(struct pair_result *p)
{
	free(p->out[0]);
	free(p->out[1]);
}

static struct pair_result merge_pair(const char *const pw[3],
				     const char *const sh[3], unsigned flags)
{
	struct pair_result res = {0};
	static const char *const side[3] = {"base", "ours", "theirs"};
	for (int f = 0; f < 2; f++) {
		const char *const *me = f ? sh : pw, *const *mate = f ? pw : sh;
		struct db_file a[3], b[3];
		for (int i = 0; i < 3; i++) {
			_cleanup_free_ char *n1 = fmt("me-%s", side[i]);
			_cleanup_free_ char *n2 = fmt("mate-%s", side[i]);
			a[i] = (struct db_file){open_text(n1, me[i]), side[i]};
			b[i] = (struct db_file){open_text(n2, mate[i]),
						side[i]};
		}
		int out = open_text("out", "");
		res.r[f] = db_merge_account_pair(&a[0], &a[1], &a[2], !f,
						 &b[0], &b[1], &b[2], out,
						 flags, NULL, &res.err);
		res.out[f] = read_fd(out);
		close(out);
		for (int i = 0; i < 3; i++) {
			closep(&a[i].fd);
			closep(&b[i].fd);
		}
	}
	return res;
}

static void test_account_pairs(void)
{
	const char *pw_base = "root:x:0:0::/root:/bin/sh\n"
			      "www:x:33:33::/var/www:/bin/sh\n";
	const char *sh_base = "root:*:19000::::::\nwww:*:19000::::::\n";
	const char *pw_no_www = "root:x:0:0::/root:/bin/sh\n";
	const char *sh_no_www = "root:*:19000::::::\n";
	const char *sh_www_pw = "root:*:19000::::::\nwww:$6$new:19500::::::\n";

	/* DST removed www, SRC gave it a password (shadow alone): forced,
	 * SRC's side of www in both files, not a shadow entry alone. */
	const char *const pw1[3] = {pw_base, pw_no_www, pw_base};
	const char *const sh1[3] = {sh_base, sh_no_www, sh_www_pw};
	struct pair_result res = merge_pair(pw1, sh1, DB_MERGE_FORCE);
	ok(res.r[0] == 1 && res.r[1] == 1 && !strcmp(res.out[0], pw_base) &&
		   !strcmp(res.out[1], sh_www_pw),
	   "pair, forced: a user DST removed and SRC changed in shadow alone "
	   "comes back in both files (%d %d) %s",
	   res.r[0], res.r[1], res.err.msg);
	pair_release(&res);
	res = merge_pair(pw1, sh1, 0);
	ok(res.r[0] == 1 && res.r[1] == 1 && !res.out[0][0] && !res.out[1][0],
	   "pair: that conflict is named in both files, nothing written");
	pair_release(&res);

	/* The reverse: SRC removed www, DST changed its password. */
	const char *const pw2[3] = {pw_base, pw_base, pw_no_www};
	const char *const sh2[3] = {sh_base, sh_www_pw, sh_no_www};
	res = merge_pair(pw2, sh2, DB_MERGE_FORCE);
	ok(res.r[0] == 1 && res.r[1] == 1 && !strcmp(res.out[0], pw_no_www) &&
		   !strcmp(res.out[1], sh_no_www),
	   "pair, forced: SRC's removal of a user DST changed in shadow "
	   "removes it from both");
	pair_release(&res);

	/* Records of other names merge as always, each side's kept. */
	const char *const pw3[3] = {pw_base, "root:x:0:0::/root:/bin/zsh\n",
				    "root:x:0:0::/root:/bin/sh\n"
				    "www:x:33:33::/var/www:/bin/sh\n"
				    "cron:x:101:101::/:/bin/false\n"};
	const char *const sh3[3] = {sh_base, "root:*:19000::::::\n",
				    "root:*:19000::::::\nwww:*:19000::::::\n"
				    "cron:!:19501::::::\n"};
	res = merge_pair(pw3, sh3, 0);
	ok(res.r[0] == 0 && res.r[1] == 0 &&
		   !strcmp(res.out[0], "root:x:0:0::/root:/bin/zsh\n"
				       "cron:x:101:101::/:/bin/false\n") &&
		   !strcmp(res.out[1],
			   "root:*:19000::::::\ncron:!:19501::::::\n"),
	   "pair: names without a conflict merge as in each file alone");
	pair_release(&res);
}

/* dbmerge_undo() of PATH: MERGED, BEFORE, NOW (NULL: absent) and the
 * partner's three (NULL: none); *R gets its return. */
static char *undo_db(const char *path, const char *merged, const char *before,
		     const char *now, const char *const *mate, int *r,
		     struct world_error *err)
{
	int fd[3] = {open_text("u-merged", merged),
		     open_text("u-before", before), open_text("u-now", now)};
	int pfd[3] = {-1, -1, -1};
	for (int i = 0; mate && i < 3; i++) {
		_cleanup_free_ char *n = fmt("u-mate-%d", i);
		pfd[i] = open_text(n, mate[i]);
	}
	int out = open_text("out", "");
	*r = dbmerge_undo(path, fd, mate ? pfd : NULL, out, err);
	char *text = read_fd(out);
	close(out);
	for (int i = 0; i < 3; i++) {
		closep(&fd[i]);
		closep(&pfd[i]);
	}
	return text;
}

static void test_undo(void)
{
	struct world_error err = {0};
	int r;
	/* The merge changed daemon and added sshd; DST then changed root
	 * and added alice: only the merge's records are undone. */
	const char *before = "root:x:0:0::/root:/bin/sh\n"
			     "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n";
	const char *merged = "root:x:0:0::/root:/bin/sh\n"
			     "daemon:x:1:1::/usr/sbin:/bin/sh\n"
			     "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n";
	const char *now = "root:x:0:0::/root:/bin/zsh\n"
			  "daemon:x:1:1::/usr/sbin:/bin/sh\n"
			  "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
			  "alice:x:1000:1000::/home/alice:/bin/bash\n";
	char *out = undo_db("/etc/passwd", merged, before, now, NULL, &r, &err);
	ok(r == 0 && !strcmp(out, "root:x:0:0::/root:/bin/zsh\n"
				  "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
				  "alice:x:1000:1000::/home/alice:/bin/bash\n"),
	   "undo: the merge's change and new user go, DST's change and new "
	   "user since stay %s",
	   err.msg);
	free(out);

	/* DST changed a record the merge changed too: DST's stays. */
	const char *now2 = "root:x:0:0::/root:/bin/sh\n"
			   "daemon:x:1:1::/usr/sbin:/bin/dash\n"
			   "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n";
	out = undo_db("/etc/passwd", merged, before, now2, NULL, &r, &err);
	ok(r == 0 && !strcmp(out, "root:x:0:0::/root:/bin/sh\n"
				  "daemon:x:1:1::/usr/sbin:/bin/dash\n"),
	   "undo: a record both the merge and DST since changed keeps DST's "
	   "version %s",
	   err.msg);
	free(out);

	/* The merge added sshd to both files; DST then set its password
	 * (shadow alone): sshd stays in both, not in shadow alone. */
	const char *sh_before = "root:*:19000::::::\n";
	const char *sh_merged = "root:*:19000::::::\nsshd:!:19500::::::\n";
	const char *sh_now = "root:*:19000::::::\nsshd:$6$x:19600::::::\n";
	const char *const sh_mate[3] = {sh_merged, sh_before, sh_now};
	const char *const pw_mate[3] = {merged, before, merged};
	out = undo_db("/etc/passwd", merged, before, merged, sh_mate, &r, &err);
	ok(r == 0 && strstr(out, "sshd:") &&
		   strstr(out, "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"),
	   "undo, paired: a user whose shadow entry DST changed since stays "
	   "in passwd %s",
	   err.msg);
	free(out);
	out = undo_db("/etc/shadow", sh_merged, sh_before, sh_now, pw_mate, &r,
		      &err);
	ok(r == 0 && !strcmp(out, sh_now), "undo, paired: and in shadow %s",
	   err.msg);
	free(out);
	out = undo_db("/etc/ld.so.cache", "", "", "", NULL, &r, &err);
	ok(r == -EINVAL, "undo: a file merged whole is refused");
	free(out);
	out = undo_db("/var/log/dpkg.log", "a\nmerge\n", "a\n",
		      "a\nmerge\nroot\n", NULL, &r, &err);
	ok(r == 0 && !strcmp(out, "a\nroot\n"),
	   "undo, log: the merge's lines go, DST's since stay %s", err.msg);
	free(out);
	out = undo_db("/var/log/dpkg.log", "a\nmerge\n", "a\n", "rotated\n",
		      NULL, &r, &err);
	ok(r == 0 && !strcmp(out, "rotated\n"),
	   "undo, log: a log DST rotated since stays as it is %s", err.msg);
	free(out);
}

static void test_undo_status(void)
{
	/* The merge installed sed (it was not there before); dpkg in DST
	 * removed apt since. */
	_cleanup_free_ char *before = drop(status, "sed", NULL);
	_cleanup_free_ char *now = drop(status, "apt", NULL);
	_cleanup_free_ char *want = drop(before, "apt", NULL);
	struct world_error err = {0};
	int r;
	_cleanup_free_ char *out = undo_db("/var/lib/dpkg/status", status,
					   before, now, NULL, &r, &err);
	ok(r == 0 && !strcmp(out, want),
	   "undo, status: the package the merge installed goes, DST's "
	   "removal since stays %s",
	   err.msg);
}

/* ---- the tree ---- */

static void load_tree(const char *argv0)
{
	/* Run from the top of the source tree, as tests/run-all does, or by
	 * a path to this program. */
	_cleanup_free_ char *dir = strdup(argv0);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	_cleanup_free_ char *cmd = fmt("'%s../fixtures/debian-tree.sh' 2>&1",
				       slash ? dir : "tests/unit/");
	FILE *p = popen(cmd, "r");
	static char path[4096];
	char line[4096];
	path[0] = '\0';
	while (p && fgets(line, sizeof(line), p))
		snprintf(path, sizeof(path), "%s", line);
	int st = p ? pclose(p) : -1;
	path[strcspn(path, "\n")] = '\0';
	if (st != 0 || path[0] != '/') {
		skip_reason = "no Debian tree (tests/fixtures/debian-tree.sh)";
		return;
	}
	_cleanup_free_ char *statusfile = fmt("%s/var/lib/dpkg/status", path);
	_cleanup_close_ int fd = open(statusfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		skip_reason = "the Debian tree has no dpkg status file";
		return;
	}
	status = read_fd(fd);
	tree = path;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	load_tree(argv[0]);
	if (status) {
		test_round_trip();
		test_upgrade_and_install();
		test_same_and_different();
		test_multiarch();
		test_malformed();
		test_empty();
		test_repeated();
		test_read();
		test_force_status();
		test_dependencies();
		test_undo_status();
	} else {
		skip("status file merges on a real Debian status file");
	}
	test_extended_states();
	test_debconf();
	test_diversions();
	test_statoverride();
	test_trigfile();
	test_accounts();
	test_force_text();
	test_force_accounts();
	test_account_pairs();
	test_undo();
	test_log();

	free(status);
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rm_rf_at(dfd, tmp + strlen("/tmp/"));
	close(dfd);
	return tap_done();
}
