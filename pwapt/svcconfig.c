/* Configuration that no package owns (service.h, service_config_make):
 * which running services of DST a merge reconfigures through files of
 * /etc that dpkg does not list, an nginx site in sites-enabled/, a file
 * in sshd_config.d/, a systemd drop-in.  dpkg's lists do not name them,
 * so the merge's plan (svcmove.c) would restart nothing, and DST would
 * serve the old configuration.
 *
 * Narrow on purpose: only paths under /etc; the file counts for the
 * package that owns its nearest ancestor directory listed in DST's dpkg
 * lists, below /etc (never /etc itself), and only where that directory
 * has one owner (a directory many packages share, /etc/logrotate.d,
 * /etc/default, says nothing about whose configuration a file is).  Two
 * names say it without a package: /etc/systemd/system/UNIT.service.d/
 * is UNIT's (drop-ins), /etc/default/NAME is service NAME's (what init
 * scripts and EnvironmentFile= read); nothing else under /etc/systemd
 * (enablement links, units of the administrator's) counts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"

/* dpkg's lists' lines that matter here: PATHS[i] listed by PKGS[i]. */
struct owners {
	struct strv paths, pkgs;
};

static void owners_release(struct owners *o)
{
	strv_free(&o->paths);
	strv_free(&o->pkgs);
}

static bool wanted_line(const char *l)
{
	return !strncmp(l, "/etc/", 5) || strstr(l, "/systemd/system/");
}

/* Into O: the lines of every list of dpkg's info directory of WORLD
 * under /etc and of units.  A world without one: none. */
static int owners_load(struct world_store *s, const char *world,
		       struct owners *o)
{
	struct world_error e = {0};
	int fd = world_open_in(s, world, "/var/lib/dpkg/info",
			       O_RDONLY | O_DIRECTORY, &e);
	_cleanup_closedir_ DIR *dir = service_lists_open(fd);
	if (fd >= 0)
		close(fd);
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	for (char *text; (text = service_lists_next(dir, pkg, &seen));
	     free(text)) {
		for (char *line = text, *nl; *line; line = nl) {
			nl = strchrnul(line, '\n');
			bool more = *nl;
			*nl = '\0';
			if (wanted_line(line) &&
			    (strv_push(&o->paths, strdup(line)) < 0 ||
			     strv_push(&o->pkgs, strdup(pkg)) < 0)) {
				free(text);
				return -ENOMEM;
			}
			nl += more;
		}
	}
	return 0;
}

/* The packages of O listing PATH: how many (one counted once a list),
 * the first in *PKG. */
static size_t owned_by(const struct owners *o, const char *path,
		       const char **pkg)
{
	size_t n = 0;
	for (size_t i = 0; i < o->paths.n; i++) {
		if (strcmp(o->paths.v[i], path) ||
		    (n && !strcmp(*pkg, o->pkgs.v[i])))
			continue;
		if (!n)
			*pkg = o->pkgs.v[i];
		n++;
	}
	return n;
}

static int add(struct svc_config *c, const char *service, const char *path)
{
	if (strv_contains(c->names.v, service))
		return 0;
	if (strv_push(&c->names, strdup(service)) < 0)
		return -ENOMEM;
	if (strv_push(&c->paths, strdup(path)) < 0)
		return -ENOMEM;
	return 0;
}

/* PATH (changed, under /etc, no package's) into C, for the services it
 * configures (see the top; DST: DST's owners). */
static int config_of(const struct owners *dst, const char *path,
		     struct svc_config *c)
{
	static const char dropins[] = "/etc/systemd/system/";
	static const char defaults[] = "/etc/default/";
	char name[NAME_MAX + 1];
	if (!strncmp(path, "/etc/systemd/", 13)) {
		const char *unit = path + sizeof(dropins) - 1;
		const char *end = strstr(unit, ".service.d/");
		if (strncmp(path, dropins, sizeof(dropins) - 1) || !end ||
		    memchr(unit, '/', (size_t)(end - unit)) || end == unit ||
		    (size_t)(end - unit) > NAME_MAX)
			return 0;
		snprintf(name, sizeof(name), "%.*s", (int)(end - unit), unit);
		return add(c, name, path);
	}
	if (!strncmp(path, defaults, sizeof(defaults) - 1) &&
	    !strchr(path + sizeof(defaults) - 1, '/'))
		return add(c, path + sizeof(defaults) - 1, path);
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	const char *pkg = NULL;
	size_t owners = 0;
	for (char *slash;
	     !owners && (slash = strrchr(dir, '/')) && slash - dir > 4;) {
		*slash = '\0';
		owners = owned_by(dst, dir, &pkg);
	}
	if (owners != 1)
		return 0;
	for (size_t i = 0; i < dst->paths.n; i++)
		if (!strcmp(dst->pkgs.v[i], pkg) &&
		    service_own_name(dst->paths.v[i], name, sizeof(name))) {
			int r = add(c, name, path);
			if (r < 0)
				return r;
		}
	return 0;
}

int service_config_make(struct world_store *s, const char *src, const char *dst,
			const struct world_diff *d, struct svc_config *out)
{
	bool any = false;
	for (size_t i = 0; !any && i < d->n; i++)
		any = !strncmp(d->v[i].path, "/etc/", 5);
	if (!any)
		return 0;
	struct owners od = {0}, os = {0};
	struct svc_config c = {0};
	const char *pkg;
	int r = owners_load(s, dst, &od);
	if (r >= 0)
		r = owners_load(s, src, &os);
	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		const struct world_change *x = &d->v[i];
		if (x->checked_off || x->excluded ||
		    strncmp(x->path, "/etc/", 5) ||
		    owned_by(&od, x->path, &pkg) ||
		    owned_by(&os, x->path, &pkg))
			continue;
		r = config_of(&od, x->path, &c);
	}
	owners_release(&od);
	owners_release(&os);
	if (r < 0) {
		service_config_release(&c);
		return r;
	}
	*out = c;
	return 0;
}

const char *service_config_path(const struct svc_config *c, const char *service)
{
	for (size_t i = 0; i < c->names.n; i++)
		if (!strcmp(c->names.v[i], service))
			return c->paths.v[i];
	return NULL;
}

char *service_config_why(const struct svc_config *c, const char *service)
{
	const char *path = service_config_path(c, service);
	_cleanup_free_ char *shown = path ? quote_path(path) : NULL;
	char *why = NULL;
	if (!shown || asprintf(&why, "its configuration %s changed", shown) < 0)
		return NULL;
	return why;
}

void service_config_release(struct svc_config *c)
{
	strv_free(&c->names);
	strv_free(&c->paths);
}
