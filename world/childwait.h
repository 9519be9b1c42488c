/* Waiting for a child process with a time limit.
 * Private to libworld. */
#ifndef PWAPT_CHILDWAIT_H
#define PWAPT_CHILDWAIT_H

#include <stdbool.h>
#include <sys/types.h>

struct child_wait {
	unsigned timeout; /* seconds; 0: no limit */
	bool group;	  /* past the limit, kill PID's process group too */
	/* Called every 100 ms while it waits (or NULL); its own time
	 * counts against the limit. */
	void (*tick)(void *arg);
	void *arg;
	/* Polls as where the kernel has no pidfd_open() (for the tests). */
	bool no_pidfd;
};

/* Reaps child PID as W says and returns its status as a shell gives it
 * (the exit code, or 128 + the signal).  Past W->timeout the child (and
 * with W->group its process group) is killed with SIGKILL, and taken for
 * killed (*KILLED true, 128 + SIGKILL), also where it ended while a tick
 * ran.  The limit holds without pidfds too: then it polls. */
int child_wait(pid_t pid, const struct child_wait *w, bool *killed);

#endif
