/* Fault injection for tests.  crash_point("create-mount") kills the process
 * with SIGKILL at that point when the environment says
 * PWAPT_CRASH_AT=create-mount, so that tests can interrupt a command at
 * every step that matters and check that the next command repairs it.
 * PWAPT_STOP_AT=NAME stops it there instead (SIGSTOP), so that a test can
 * change things under it before it goes on (SIGCONT). */
#ifndef PWAPT_CRASH_H
#define PWAPT_CRASH_H

void crash_point(const char *name);
/* The same for the Nth occurrence of a repeated point: "merge-op:7". */
void crash_point_n(const char *name, unsigned long n);
/* An error at that point: -ERR when PWAPT_FAIL_AT=NAME, else 0, so that
 * a test can make a race that the kernel reports (-ESTALE: a tree that
 * moved while it was walked) happen every time. */
int crash_fail(const char *name, int err);
/* The same for the Nth occurrence of a repeated point: PWAPT_FAIL_AT=
 * "merge-op:2" makes the third operation of a merge fail (a write error). */
int crash_fail_n(const char *name, unsigned long n, int err);
/* PWAPT_PAUSE_AT=NAME holds the calling thread at that point while the
 * file PWAPT_PAUSE_FILE exists (at most 60 s), making PWAPT_PAUSE_FILE.held
 * meanwhile; the process's other threads go on: a collector whose own
 * thread is busy writing its tables, while its teller answers. */
void crash_pause(const char *name);

#endif
