/* The freezer file of a container's cgroup, read and written directly
 * where liblxc's freeze() and unfreeze() fall short: a cgroup v1 freeze
 * that stays FREEZING, and a thaw liblxc believes it need not write.
 * Private to libworld. */
#ifndef PWAPT_FREEZER_H
#define PWAPT_FREEZER_H

#include <stdbool.h>
#include <sys/types.h>

struct freezer {
	char *path;	   /* NULL: none found */
	bool v1;	   /* freezer.state, else v2's cgroup.freeze */
	unsigned freezing; /* looks in a row that read FREEZING */
};

/* The freezer of the cgroup of the container whose init is INIT, from
 * /proc/INIT/cgroup: cgroup v1's freezer.state, else v2's cgroup.freeze
 * of its lxc.payload cgroup.  0, or -ENOENT (none found) or -ENOMEM, F
 * untouched. */
int freezer_find(struct freezer *f, pid_t init);
void freezer_release(struct freezer *f);
/* Looks once at a freeze under way (F, a struct freezer *), as it waits:
 * a cgroup v1 freezer may stay FREEZING for good when a process forks
 * while it freezes (runc retries for the same reason); one seen FREEZING
 * twice in a row is told FROZEN again, which freezes the rest.  Does
 * nothing on cgroup v2, whose freezer has no such fault. */
void freezer_nudge(void *f);
/* Thaws the cgroup through its file until it is thawed (v1: the file
 * says so; v2: cgroup.events says "frozen 0"): 0 (also when F has no
 * file, or its cgroup is gone with the container), -EBUSY if it never
 * is, -ENOENT when the file is missing from a cgroup still there (a wrong
 * path: liblxc must thaw it), else -errno. */
int freezer_thaw(const struct freezer *f);

#endif
