/* The freezer file of a container's cgroup, read and written directly
 * where liblxc's freeze() and unfreeze() fall short: a freeze liblxc
 * cannot bound in time (and does in a child, through its monitor), a
 * cgroup v1 freeze that stays FREEZING, and a thaw liblxc believes it
 * need not write.
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

/* The freezer of the cgroup of the container whose init is INIT: cgroup
 * v1's freezer.state where the host has that hierarchy, else v2's
 * cgroup.freeze; of the cgroup liblxc made for the container beside its
 * monitor's (INIT's parent), never of one below it that the world made
 * (and may have moved its init into) (container-cgroup.h).  0; -ENOENT
 * where there is none (INIT gone, its parent no monitor, another layout:
 * liblxc freezes); else -errno (-EMFILE: its files could not be read); F
 * untouched but on success.  freezer_parse() reads INIT's and the
 * monitor's /proc/PID/cgroup. */
int freezer_find(struct freezer *f, pid_t init);
int freezer_parse(struct freezer *f, const char *init, const char *monitor);
void freezer_release(struct freezer *f);
/* Thaws the cgroup through its file until it is thawed (v1: the file
 * says so; v2: cgroup.events says "frozen 0"): 0 (also when F has no
 * file, or its cgroup is gone with the container), -EBUSY if it never
 * is, -ENOENT when the file is missing from a cgroup still there (a wrong
 * path: liblxc must thaw it), else -errno. */
int freezer_thaw(const struct freezer *f);
/* Whether F's cgroup was asked to freeze (v1: FROZEN or FREEZING; v2:
 * cgroup.freeze says 1), frozen yet or not. */
bool freezer_asked(const struct freezer *f);
/* Freezes F's cgroup and waits until the kernel says every process of
 * it is frozen (v1: freezer.state says FROZEN, and is told FROZEN again
 * while it stays FREEZING; v2: "frozen 1" in cgroup.events, which poll()
 * wakes on), up to SECONDS: 0; -ETIMEDOUT, asked to freeze but not
 * frozen in time (the caller thaws it); -ENOENT where F has no file;
 * else -errno (the freezer could not be written). */
int freezer_freeze(struct freezer *f, unsigned seconds);

#endif
