#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"

void crash_point_n(const char *name, unsigned long n)
{
	const char *at = getenv("PWAPT_CRASH_AT");
	size_t l = strlen(name);
	if (at && !strncmp(at, name, l) && at[l] == ':' &&
	    strtoul(at + l + 1, NULL, 10) == n)
		kill(getpid(), SIGKILL);
}

void crash_point(const char *name)
{
	const char *at = getenv("PWAPT_CRASH_AT");
	if (at && !strcmp(at, name))
		kill(getpid(), SIGKILL);
	at = getenv("PWAPT_STOP_AT");
	if (at && !strcmp(at, name))
		kill(getpid(), SIGSTOP);
}
