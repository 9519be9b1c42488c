/* Unit tests of freezer_thaw() on files that stand for a cgroup's: it
 * writes the thaw, waits for v2's effective state (cgroup.events), and
 * tells a cgroup gone (the container stopped) from a file missing. */
#include <errno.h>
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
	struct freezer v2 = {.path = path};

	put("cgroup.freeze", "1\n");
	put("cgroup.events", "populated 1\nfrozen 0\n");
	ok(freezer_thaw(&v2) == 0 && has("cgroup.freeze", "0"),
	   "v2: the thaw is written, and done once cgroup.events says so");

	put("cgroup.freeze", "1\n");
	put("cgroup.events", "populated 1\nfrozen 1\n");
	ok(freezer_thaw(&v2) == -EBUSY,
	   "v2: a cgroup.events still frozen is not taken for thawed");

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

	rmdir(dir);
	ok(freezer_thaw(&v2) == 0,
	   "a cgroup gone (the container stopped): done");
	struct freezer none = {0};
	ok(freezer_thaw(&none) == 0, "no freezer file: nothing to do");
	return tap_done();
}
