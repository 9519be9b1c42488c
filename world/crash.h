/* Fault injection for tests.  crash_point("create-mount") kills the process
 * with SIGKILL at that point when the environment says
 * PWAPT_CRASH_AT=create-mount, so that tests can interrupt a command at
 * every step that matters and check that the next command repairs it.
 * With PWAPT_CRASH_STOP=1 as well, the process stops there (SIGSTOP)
 * instead, and goes on when it gets SIGCONT: a test then sees what the
 * command holds at that point. */
#ifndef PWAPT_CRASH_H
#define PWAPT_CRASH_H

void crash_point(const char *name);
/* The same for the Nth occurrence of a repeated point: "merge-op:7". */
void crash_point_n(const char *name, unsigned long n);

#endif
