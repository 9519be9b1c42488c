/* What dpkg tells about a service's files for a merge's plan (svcmove.c,
 * service.h): which package owns its init script, unit or program, in
 * DST's and SRC's dpkg lists, read beneath the trees (a world's files:
 * no symbolic link followed, bounded); whether the merge changes its
 * files, removes it with its package, or adds it new to DST. */
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
#include "service.h"

/* Entries of dpkg's info directory looked at, at most. */
#define LISTS_MAX 65536

bool service_has_line(const char *text, const char *line)
{
	size_t l = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += l)
		if ((p == text || p[-1] == '\n') && (!p[l] || p[l] == '\n'))
			return true;
	return false;
}
bool service_changed(const struct world_diff *d, const char *path)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].checked_off && !strcmp(d->v[i].path, path))
			return true;
	return false;
}
/* SERVICE's own files: its init script, its unit (both places). */
struct own_paths {
	char v[3][PATH_MAX];
};

static void own_paths(const char *service, struct own_paths *o)
{
	snprintf(o->v[0], sizeof(o->v[0]), "/etc/init.d/%s", service);
	snprintf(o->v[1], sizeof(o->v[1]), "/lib/systemd/system/%s.service",
		 service);
	snprintf(o->v[2], sizeof(o->v[2]), "/usr/lib/systemd/system/%s.service",
		 service);
}

/* INFO (a dpkg info directory) read from its start: a dup of INFO would
 * share its offset, and the next service's walk would begin where this
 * one stopped (at the end: no list read at all).  NULL when INFO < 0. */
static DIR *lists_open(int info)
{
	int fd = info >= 0
			 ? openat(info, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			 : -1;
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !dir)
		close(fd);
	return dir;
}

/* The text of the next of DIR's dpkg file lists that names one of O's
 * paths (malloc'd), its package record ("name", "name:arch") in PKG;
 * NULL when there is none left (SEEN counts the entries looked at). */
static char *next_owner(DIR *dir, const struct own_paths *o,
			char pkg[NAME_MAX + 1], size_t *seen)
{
	struct dirent *de;
	while (dir && (*seen)++ < LISTS_MAX && (de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".list"))
			continue;
		char *text = service_read_at(dirfd(dir), de->d_name);
		if (text && (service_has_line(text, o->v[0]) ||
			     service_has_line(text, o->v[1]) ||
			     service_has_line(text, o->v[2]))) {
			snprintf(pkg, NAME_MAX + 1, "%.*s", (int)(l - 5),
				 de->d_name);
			return text;
		}
		free(text);
	}
	return NULL;
}

/* Whether the merge (diff D) changes a file of SERVICE in DST: its init
 * script or unit, or any file of the package owning it, by DST's dpkg
 * file lists (INFO: DST's /var/lib/dpkg/info). */
bool service_files_change(int info, const struct world_diff *d,
			  const char *service)
{
	struct own_paths o;
	own_paths(service, &o);
	for (size_t k = 0; k < 3; k++)
		if (service_changed(d, o.v[k]))
			return true;
	_cleanup_closedir_ DIR *dir = lists_open(info);
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	for (char *text; (text = next_owner(dir, &o, pkg, &seen)); free(text))
		for (size_t i = 0; i < d->n; i++)
			if (!d->v[i].checked_off &&
			    service_has_line(text, d->v[i].path)) {
				free(text);
				return true;
			}
	return false;
}

/* Whether package record PKG ("name" or "name:arch", as dpkg's list is
 * named) is removed or purged in PK (dpkg's status; not in it at all
 * counts) (REMOVED), or installed there, half or whole (!REMOVED). */
static bool state_in(const struct world_packages *pk, const char *pkg,
		     bool removed)
{
	size_t l = strcspn(pkg, ":");
	const char *arch = pkg[l] ? pkg + l + 1 : NULL;
	for (size_t i = 0; i < pk->n; i++) {
		const struct world_package *x = &pk->v[i];
		if (strlen(x->name) != l || strncmp(x->name, pkg, l) ||
		    (arch && strcmp(x->arch, arch)))
			continue;
		const char *state = strrchr(x->status, ' ');
		state = state ? state + 1 : x->status;
		return removed == (!strcmp(state, "config-files") ||
				   !strcmp(state, "not-installed"));
	}
	/* Not in the status at all: removed, and its record dropped (a
	 * package without conffiles leaves none). */
	return removed;
}

/* Whether world SRC's tree still has one of O's paths (one that cannot
 * be told counts as there; /lib a symbolic link is /usr/lib's). */
static bool still_there(struct world_store *s, const char *src,
			const struct own_paths *o)
{
	for (size_t k = 0; k < 3; k++) {
		struct world_error e = {0};
		int fd = world_open_in(s, src, o->v[k], O_PATH, &e);
		if (fd >= 0)
			close(fd);
		if (fd >= 0 || (fd != -ENOENT && !(k == 1 && fd == -ELOOP)))
			return true;
	}
	return false;
}

/* Whether the merge of SRC (diff D) removes SERVICE from DST, as apt-get
 * remove or purge in SRC did: the merge deletes its init script or unit
 * and SRC has neither left (an upgrade that trades its init script for
 * a unit keeps it); or each package that SRC's dpkg lists (SRC_INFO)
 * have owning them is removed or purged in SRC's dpkg status and
 * installed in DST's (PK: SRC's and DST's, NULL when one is not known),
 * as after apt-get remove, which keeps the init script (a conffile),
 * deletes the daemon and keeps the list of the conffiles.  (A package
 * removed in DST already is none of the merge's doing.) */
bool service_removes(struct world_store *s, const char *src, int src_info,
		     const struct world_diff *d,
		     const struct world_packages pk[2], const char *service)
{
	struct own_paths o;
	own_paths(service, &o);
	/* Real packages ship an init script and a unit: apt-get remove
	 * deletes the unit and keeps the script (a conffile), so that only
	 * dpkg's status tells then. */
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < 3; k++)
			if (d->v[i].kind == 'D' && !d->v[i].checked_off &&
			    !strcmp(d->v[i].path, o.v[k]) &&
			    !still_there(s, src, &o))
				return true;
	_cleanup_closedir_ DIR *dir = pk ? lists_open(src_info) : NULL;
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	bool any = false;
	for (char *text; (text = next_owner(dir, &o, pkg, &seen)); free(text)) {
		if (!state_in(&pk[0], pkg, true) ||
		    !state_in(&pk[1], pkg, false)) {
			free(text);
			return false;
		}
		any = true;
	}
	return any;
}

/* Whether the merge (diff D) adds SERVICE's init script or unit file to
 * DST: the diff has one, and DST has none of them before the merge.  One
 * that cannot be looked at counts as there: its service is never taken
 * for new (pwapt rollback stops only those). */
bool service_added_to_dst(struct world_store *s, const char *dst,
			  const struct world_diff *d, const char *service)
{
	char own[4][PATH_MAX];
	snprintf(own[0], sizeof(own[0]), "/etc/init.d/%s", service);
	snprintf(own[1], sizeof(own[1]), "/lib/systemd/system/%s.service",
		 service);
	snprintf(own[2], sizeof(own[2]), "/usr/lib/systemd/system/%s.service",
		 service);
	snprintf(own[3], sizeof(own[3]), "/etc/systemd/system/%s.service",
		 service);
	bool adds = false;
	for (size_t k = 0; k < 4; k++)
		adds |= service_changed(d, own[k]);
	for (size_t k = 0; adds && k < 4; k++) {
		struct world_error err = {0};
		int fd = world_open_in(s, dst, own[k],
				       O_PATH | O_NOFOLLOW | O_CLOEXEC, &err);
		if (fd >= 0)
			close(fd);
		/* -ELOOP: /lib a link to usr/lib, looked at there too. */
		if (fd != -ENOENT && !(fd == -ELOOP && k == 1))
			return false;
	}
	return adds;
}

/* Whether every package that INFO's dpkg lists (DST's) name as owning
 * PATH is removed or purged in PK[0] (SRC's status) and installed in
 * PK[1] (DST's), and one does. */
static bool owned_by_removed(int info, const char *path,
			     const struct world_packages pk[2])
{
	struct own_paths o;
	for (size_t k = 0; k < 3; k++)
		snprintf(o.v[k], sizeof(o.v[k]), "%s", path);
	_cleanup_closedir_ DIR *dir = lists_open(info);
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	bool any = false;
	for (char *text; (text = next_owner(dir, &o, pkg, &seen)); free(text)) {
		if (!state_in(&pk[0], pkg, true) ||
		    !state_in(&pk[1], pkg, false)) {
			free(text);
			return false;
		}
		any = true;
	}
	return any;
}

/* A running service of DST whose processes run or map a file that the
 * merge (diff D) deletes and whose package SRC removed (DST's lists:
 * INFO; PK: SRC's and DST's status) goes with that package: Debian's
 * nginx, whose init script is nginx-common's, which stays, and whose
 * /usr/sbin/nginx is nginx's.  Marked removed in P (planned users). */
void service_program_removed(struct svc_plan *p, const struct world_diff *d,
			     int info, const struct world_packages pk[2])
{
	for (size_t i = 0; i < p->planned.n; i++) {
		const struct world_replaced_user *u = &p->planned.v[i];
		struct svc_item *it = NULL;
		for (size_t k = 0; u->service && k < p->n; k++)
			if (!strcmp(p->v[k].name, u->service))
				it = &p->v[k];
		if (!it || it->removed || !it->in_dst || it->in_src)
			continue;
		bool deleted = false;
		for (size_t k = 0; !deleted && k < d->n; k++)
			deleted = d->v[k].kind == 'D' && !d->v[k].checked_off &&
				  !strcmp(d->v[k].path, u->path);
		if (deleted && owned_by_removed(info, u->path, pk)) {
			it->removed = true;
			it->why = "its package is removed";
		}
	}
}
