/* Containers of worlds, through liblxc.  Private to libworld.
 *
 * Every container lives in the store's worlds/ directory as its liblxc
 * lxcpath, under the world's name (Root's under "Root"), so that two stores
 * never share a container and a deleted world's container goes with it. */
#ifndef PWAPT_CONTAINER_H
#define PWAPT_CONTAINER_H

#include "store.h"

/* Loads liblxc (dlopen, once): 0, or -ELIBACC with ERR saying why.  The
 * container_*() functions load it themselves when first called. */
int container_lib_load(struct world_error *err);

/* Writes the container's configuration and starts it over ROOTFS (a
 * mounted tree) with pwapt-init as PID 1, Root's host name as its own.  Returns once it runs, with its
 * init's PID in *INIT_PID (may be NULL).  FRESH: the world was just
 * created, so a container of that name still running is a deleted world's,
 * to be waited for.  Its network is lifecycle_start()'s business. */
int container_start(struct world_store *s, const char *name, const char *rootfs,
		    bool fresh, pid_t *init_pid, struct world_error *err);
/* Stops the container and waits until it is gone.  With GRACE > 0 seconds
 * its processes first get SIGTERM (through pwapt-init) and that long to
 * exit; then, or with GRACE 0, every process is killed.  GRACE < 0: kill
 * and return at once; liblxc finishes the tear-down in the background. */
int container_stop(struct world_store *s, const char *name, int grace);
/* Freezes (cgroup freezer) or thaws every process of a running container;
 * a container that does not run is left as it is.  -errno: why its
 * cgroup's freezer file could not be written, or the cause liblxc logged
 * (-EMFILE: too few file descriptors), else -EIO;
 * -ETIMEDOUT: not frozen within container_freeze_seconds() (a process
 * that cannot be stopped), and thawed again. */
int container_freeze(struct world_store *s, const char *name, bool frozen);
/* The seconds a freeze may take: PWAPT_FREEZE_SECONDS (for tests), or 60. */
#define FREEZE_SECONDS 60
unsigned container_freeze_seconds(void);
/* Kills every process of a running container but its init (pwapt-init,
 * ours) while they are frozen, then thaws them: with the cgroup v1
 * freezer a frozen process dies only once thawed, but none runs its own
 * code again. */
int container_kill_frozen(struct world_store *s, const char *name);
enum container_state {
	CONTAINER_STOPPED,
	CONTAINER_RUNNING, /* or starting, freezing, thawed */
	CONTAINER_FROZEN,  /* by liblxc, or through its freezer file */
	/* On its way down: its init is dead (a killed world's, a lazy
	 * delete's), and liblxc's monitor has yet to say STOPPED. */
	CONTAINER_STOPPING,
};
/* The container's state: its state and init from liblxc's monitor (each
 * answer waits for the monitor to be scheduled: milliseconds on a busy
 * host), and for a running one whether its cgroup's freezer file was
 * asked to freeze (a pwapt freeze liblxc knows nothing of). */
enum container_state container_state(struct world_store *s, const char *name);
/* Waits up to SECONDS for a stopping container to be stopped: 0, or
 * -ETIMEDOUT. */
int container_wait_stopped(struct world_store *s, const char *name,
			   int seconds);
/* Whether the container runs; *init_pid (may be NULL) gets its init. */
bool container_running(struct world_store *s, const char *name,
		       pid_t *init_pid);
/* The environment of commands run in a world (and, IN_CONTAINER false, in
 * Root on the host): a sane PATH, HOME=/root, USER, LOGNAME, container=lxc
 * in a container, and the caller's TERM, LANG, LC_ALL, COLUMNS and LINES.
 * NULL-terminated, malloc'd. */
char **container_environment(bool in_container);

/* Runs ARGV in the container, as OPTS (may be NULL) say.  TERMINAL: on a
 * new pseudo-terminal, for interactive shells.  *status is the exit status
 * (128+N for signal N). */
int container_attach(struct world_store *s, const char *name, char *const *argv,
		     const struct world_exec_options *opts, bool terminal,
		     int *status, struct world_error *err);
/* Starts FN(ARG) attached to the container as container_attach() runs a
 * command (every namespace, its cgroup, capabilities dropped), with a clean
 * environment, /dev/null as stdin, stdout and stderr and no other file
 * descriptor than KEEP_FD (-1: none); FN's return value is its exit status.
 * *pid receives the process, for the caller to wait for. */
int container_spawn(struct world_store *s, const char *name,
		    int (*fn)(void *arg), void *arg, int keep_fd, pid_t *pid,
		    struct world_error *err);
/* What the process of container_spawn() (or a child on the host) does
 * before FN: every descriptor closed but 0, 1, 2 and KEEP_FD. */
void container_close_fds(int keep_fd);
/* Waits for child PID (SIGKILLed after TIMEOUT seconds, when not 0);
 * returns its status as a shell reports it (128+N for signal N). */
int container_wait(pid_t pid, unsigned timeout);
/* container_wait() as XO says: its timeout, the process group of PID
 * killed with it for own_session, *XO->timed_out set. */
int container_wait_exec(pid_t pid, const struct world_exec_options *xo);
/* ENV with the NULL-terminated MORE appended; ENV is reallocated. */
char **container_env_append(char **env, char *const *more);

#endif
