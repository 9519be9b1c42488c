/* Unit tests of freezer_thaw() and freezer_freeze() on files that stand
 * for a cgroup's: they write the thaw or freeze, wait for v2's effective
 * state (cgroup.events), and tell a cgroup gone (the container stopped)
 * from a file missing; and of freezer_parse(): the container's own
 * cgroup, beside its monitor's, never one the world made below it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../world/freezer.h"
#include "tap.h"

static char dir[] = "/tmp/pwapt-freezer.XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* freezer_parse() of INIT's and MONITOR's /proc/PID/cgroup: whether it
 * gives WANT (NULL: -ENOENT), v1's file or not as V1. */
static int parses(const char *init, const char *monitor, const char *want,
		  bool v1)
{
	struct freezer f = {0};
	int r = freezer_parse(&f, init, monitor);
	int good =
		want ? r == 0 && f.path && !strcmp(f.path, want) && f.v1 == v1
		     : r == -ENOENT && !f.path;
	if (!good)
		fprintf(stderr, "# got %d %s\n", r, f.path ? f.path : "(none)");
	freezer_release(&f);
	return good;
}

static void parse_tests(void)
{
	ok(parses("6:freezer:/lxc.payload.W/sub\n0::/lxc.payload.W\n",
		  "9:name=systemd:/lxc.monitor.W\n6:freezer:/lxc.monitor.W\n"
		  "0::/lxc.monitor.W\n",
		  "/sys/fs/cgroup/freezer/lxc.payload.W/freezer.state", true),
	   "v1: the container's freezer cgroup, not the one its init moved "
	   "into");
	ok(parses("0::/lxc.payload.W/init.scope\n", "0::/lxc.monitor.W\n",
		  "/sys/fs/cgroup/lxc.payload.W/cgroup.freeze", false),
	   "v2: the container's cgroup, not its systemd's init.scope");
	ok(parses("0::/lxc.payload.W-1/lxc.payload.W\n", "0::/lxc.monitor.W\n",
		  "/sys/fs/cgroup/lxc.payload.W-1/cgroup.freeze", false) &&
		   parses("6:freezer:/lxc.payload.W-2/lxc.payload.W-2/x\n",
			  "6:freezer:/lxc.monitor.W-1\n",
			  "/sys/fs/cgroup/freezer/lxc.payload.W-2/"
			  "freezer.state",
			  true),
	   "liblxc's cgroup of another name (lxc.payload.W taken): its own, "
	   "not one the world named lxc.payload.W below it");
	ok(parses("0::/system.slice/x.service/lxc.payload.W/y\n",
		  "0::/system.slice/x.service/lxc.monitor.W\n",
		  "/sys/fs/cgroup/system.slice/x.service/lxc.payload.W/"
		  "cgroup.freeze",
		  false),
	   "a container started from a service: beside its monitor there");
	ok(parses("0::/b/lxc.payload.W\n", "0::/a/lxc.monitor.W\n", NULL,
		  false) &&
		   parses("0::/ab/lxc.payload.W\n", "0::/a/lxc.monitor.W\n",
			  NULL, false) &&
		   parses("0::/a\n", "0::/a/b/c/lxc.monitor.W\n", NULL, false),
	   "an init not beside its monitor: none (liblxc freezes)");
	ok(parses("0::/lxc.monitor.W\n", "0::/lxc.monitor.W\n", NULL, false) &&
		   parses("0::/\n", "0::/lxc.monitor.W\n", NULL, false) &&
		   parses("0::/a/\n", "0::/a/lxc.monitor.W\n", NULL, false),
	   "an init in its monitor's cgroup, or in their parent: none");
	ok(parses("0::/../lxc.payload.W\n", "0::/lxc.monitor.W\n", NULL,
		  false) &&
		   parses("0::/a/../b\n", "0::/a/lxc.monitor.W\n", NULL,
			  false) &&
		   parses("0::/a//b\n", "0::/a/lxc.monitor.W\n", NULL, false),
	   "a path with \"..\" (outside the reader's cgroup namespace) or an "
	   "empty name: none");
	ok(parses("0::/lxc.payload.W\n",
		  "6:freezer:/lxc.monitor.W\n0::/lxc.monitor.W\n", NULL,
		  false) &&
		   parses("", "0::/lxc.monitor.W\n", NULL, false) &&
		   parses("0::/lxc.payload.W\n", "", NULL, false),
	   "a v1 freezer the init is not in, or no lines: none");
}

static int has(const char *name, const char *text)
{
	char path[256], buf[64] = "";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return !strncmp(buf, text, strlen(text));
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
	struct freezer v2 = {.path = path}, none = {0};

	put("cgroup.freeze", "1\n");
	put("cgroup.events", "populated 1\nfrozen 0\n");
	ok(freezer_thaw(&v2) == 0 && has("cgroup.freeze", "0"),
	   "v2: the thaw is written, and done once cgroup.events says so");

	put("cgroup.freeze", "1\n");
	put("cgroup.events", "populated 1\nfrozen 1\n");
	ok(freezer_thaw(&v2) == -EBUSY,
	   "v2: a cgroup.events still frozen is not taken for thawed");

	put("cgroup.freeze", "1\n");
	put("cgroup.events", "populated 1\n");
	ok(freezer_thaw(&v2) == -EBUSY,
	   "v2: a cgroup.events without its frozen line is no thaw seen");

	put("cgroup.freeze", "0\n");
	snprintf(path + strlen(dir), sizeof(path) - strlen(dir),
		 "/cgroup.events");
	unlink(path);
	snprintf(path + strlen(dir), sizeof(path) - strlen(dir),
		 "/cgroup.freeze");
	ok(freezer_thaw(&v2) == 0, "v2: no cgroup.events: the file tells");

	unlink(path);
	ok(freezer_thaw(&v2) == -ENOENT,
	   "a file missing from a cgroup still there: -ENOENT, not done");

	char v1path[256];
	snprintf(v1path, sizeof(v1path), "%s/freezer.state", dir);
	struct freezer v1 = {.path = v1path, .v1 = true};
	put("freezer.state", "FROZEN\n");
	ok(freezer_thaw(&v1) == 0 && has("freezer.state", "THAWED"),
	   "v1: THAWED written and read back");
	unlink(v1path);

	put("freezer.state", "THAWED\n");
	ok(!freezer_asked(&v1), "v1: THAWED: not asked to freeze");
	ok(freezer_freeze(&v1, 1) == 0 && has("freezer.state", "FROZEN"),
	   "v1: FROZEN written and read back: frozen");
	put("freezer.state", "FREEZING\n");
	ok(freezer_asked(&v1), "v1: FREEZING: asked to freeze");
	unlink(v1path);

	snprintf(path + strlen(dir), sizeof(path) - strlen(dir),
		 "/cgroup.freeze");
	put("cgroup.freeze", "0\n");
	put("cgroup.events", "populated 1\nfrozen 1\n");
	ok(!freezer_asked(&v2), "v2: 0: not asked to freeze");
	ok(freezer_freeze(&v2, 1) == 0 && has("cgroup.freeze", "1") &&
		   freezer_asked(&v2),
	   "v2: the freeze is written, and done once cgroup.events says so");
	put("cgroup.events", "populated 1\nfrozen 0\n");
	ok(freezer_freeze(&v2, 1) == -ETIMEDOUT,
	   "v2: not frozen within the time given: -ETIMEDOUT");
	put("cgroup.events", "populated 1\nxfrozen 1\nfrozen 0\n");
	ok(freezer_freeze(&v2, 1) == -ETIMEDOUT,
	   "v2: only the line \"frozen\" tells");
	snprintf(path + strlen(dir), sizeof(path) - strlen(dir),
		 "/cgroup.events");
	unlink(path);
	snprintf(path + strlen(dir), sizeof(path) - strlen(dir),
		 "/cgroup.freeze");
	ok(freezer_freeze(&v2, 1) == -ENOENT,
	   "v2: no cgroup.events: -ENOENT (liblxc freezes)");
	unlink(path);
	ok(freezer_freeze(&v2, 1) == -ENOENT &&
		   freezer_freeze(&none, 1) == -ENOENT,
	   "no freezer file: -ENOENT");
	parse_tests();

	rmdir(dir);
	ok(freezer_thaw(&v2) == 0,
	   "a cgroup gone (the container stopped): done");
	ok(freezer_thaw(&none) == 0, "no freezer file: nothing to do");
	return tap_done();
}
