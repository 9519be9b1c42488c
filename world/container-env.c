/* The environment of commands run in a world or in Root
 * (container_environment(), container_env_append(): container.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "container.h"

char **container_environment(bool in_container)
{
	static const char *const passed[] = {"TERM", "LANG", "LC_ALL",
					     "COLUMNS", "LINES"};
	size_t n = 0, cap = 16;
	char **env = calloc(cap, sizeof(*env));
	if (!env)
		return NULL;
	env[n++] = strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			  "/usr/bin:/sbin:/bin");
	env[n++] = strdup("HOME=/root");
	env[n++] = strdup("USER=root");
	env[n++] = strdup("LOGNAME=root");
	if (in_container)
		env[n++] = strdup("container=lxc");
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		const char *v = getenv(passed[i]);
		if (v && asprintf(&env[n], "%s=%s", passed[i], v) >= 0)
			n++;
	}
	env[n] = NULL;
	for (size_t i = 0; i < n; i++)
		if (!env[i]) {
			strvfreep(&env);
			return NULL;
		}
	return env;
}

char **container_env_append(char **env, char *const *more)
{
	size_t n = 0, k = 0;
	while (env && env[n])
		n++;
	while (more && more[k])
		k++;
	char **nv = env ? realloc(env, (n + k + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		strvfreep(&env);
		return NULL;
	}
	for (size_t i = 0; i < k; i++)
		if (!(nv[n + i] = strdup(more[i]))) {
			nv[n + i] = NULL;
			strvfreep(&nv);
			return NULL;
		}
	nv[n + k] = NULL;
	return nv;
}
