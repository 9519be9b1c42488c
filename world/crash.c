#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"

/* Whether environment variable VAR names this point: "NAME", or "NAME:N"
 * for the Nth pass of a numbered one (N < 0: not numbered). */
static bool named(const char *var, const char *name, long n)
{
	const char *at = getenv(var);
	size_t l = strlen(name);
	if (!at || strncmp(at, name, l))
		return false;
	if (n < 0)
		return at[l] == '\0';
	return at[l] == ':' && strtol(at + l + 1, NULL, 10) == n;
}

static void point(const char *name, long n)
{
	if (named("PWAPT_CRASH_AT", name, n))
		kill(getpid(), SIGKILL);
	if (named("PWAPT_STOP_AT", name, n))
		kill(getpid(), SIGSTOP);
}

void crash_point_n(const char *name, unsigned long n)
{
	point(name, (long)n);
}

void crash_point(const char *name)
{
	point(name, -1);
}

int crash_fail(const char *name, int err)
{
	return named("PWAPT_FAIL_AT", name, -1) ? -err : 0;
}

int crash_fail_n(const char *name, unsigned long n, int err)
{
	return named("PWAPT_FAIL_AT", name, (long)n) ? -err : 0;
}

void crash_pause(const char *name)
{
	const char *file = getenv("PWAPT_PAUSE_FILE");
	char held[PATH_MAX];
	int fd = -1;

	if (!file || !named("PWAPT_PAUSE_AT", name, -1) ||
	    snprintf(held, sizeof(held), "%s.held", file) >= (int)sizeof(held))
		return;
	for (int i = 0; i < 6000 && access(file, F_OK) == 0; i++) {
		if (fd < 0)
			fd = open(held,
				  O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
				  0600);
		usleep(10000);
	}
	if (fd >= 0) {
		close(fd);
		unlink(held);
	}
}
