/* The cgroup liblxc made for a container, found from its init: the one on
 * the init's path right below the parent of its monitor's (liblxc makes
 * the two side by side), never one below it that the world made and moved
 * its init into (a tree's systemd moves itself into init.scope), whatever
 * its name (lxc.payload.NAME, or NAME-1 where that name was taken).
 * Private to libworld. */
#ifndef PWAPT_CONTAINER_CGROUP_H
#define PWAPT_CONTAINER_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

/* The /proc/PID/cgroup lines of the container's init INIT and of its
 * monitor (INIT's parent, checked to be liblxc's), INIT held by a pidfd
 * while they are read (its pid not taken since): 0 (*INIT_LINES and
 * *MONITOR_LINES malloc'd), -ENOENT (INIT gone, its parent no monitor),
 * else -errno (-EMFILE). */
int container_cgroup_read(pid_t init, char **init_lines, char **monitor_lines);
/* The path in hierarchy CONTROLLER ("freezer", or "" for cgroup v2's) of
 * the container's cgroup, from INIT's and MONITOR's lines: 0 (*OUT
 * malloc'd, "/A/B"), -ENOENT (none: another layout, a path with "..")
 * or -ENOMEM. */
int container_cgroup_parse(const char *init, const char *monitor,
			   const char *controller, char **out);
/* Whether LINES (a /proc/PID/cgroup) have hierarchy CONTROLLER. */
bool container_cgroup_has(const char *lines, const char *controller);

#endif
