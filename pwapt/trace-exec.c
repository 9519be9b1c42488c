/* pwapt trace run in pwapt: pwapt-trace, the program that links the
 * collector's libraries (libbpf, libaudit), put in this process's place.
 * Every other command then starts without loading them.  The process
 * stays the one its starter knows (systemd's main PID, a test's $!), its
 * arguments and environment as they were (PWAPT_TRACE_READY_FD and the
 * descriptor it names included). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pwapt.h"

int trace_run(struct context *ctx)
{
	char exe[PATH_MAX], why[PATH_MAX + 128];

	if (trace_collector_exe(exe, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", ctx->cmd, why);
		return EXIT_FAIL;
	}
	fflush(NULL);
	execv(exe, ctx->argv);
	fprintf(stderr, "%s: cannot run the trace collector %s: %s\n", ctx->cmd,
		exe, strerror(errno));
	return EXIT_FAIL;
}
