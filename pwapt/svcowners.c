/* Where a service's own files are, and what dpkg tells about them for a
 * merge's plan (svcmove.c, service.h): which package owns its init
 * script, unit or program, in DST's and SRC's dpkg lists, read beneath
 * the trees (a world's files: no symbolic link followed, bounded);
 * whether the merge changes its files, removes it with its package, or
 * adds it new to DST. */
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

/* Where a service's own files are, in the order of enum svc_own_path. */
static const struct {
	const char *dir, *suffix;
} own_files[SVC_OWN_ALL] = {
	{"/etc/init.d/", ""},
	{"/lib/systemd/system/", ".service"},
	{"/usr/lib/systemd/system/", ".service"},
	{"/etc/systemd/system/", ".service"},
};

void service_own_paths(const char *service, struct svc_own *o)
{
	for (size_t k = 0; k < SVC_OWN_ALL; k++)
		snprintf(o->v[k], sizeof(o->v[k]), "%s%s%s", own_files[k].dir,
			 service, own_files[k].suffix);
}

bool service_own_name(const char *path, char *name, size_t size)
{
	for (size_t k = 0; k < SVC_OWN_PACKAGED; k++) {
		size_t l = strlen(own_files[k].dir);
		size_t suffix = strlen(own_files[k].suffix);
		const char *n = path + l;
		if (strncmp(path, own_files[k].dir, l) || !*n || strchr(n, '/'))
			continue;
		size_t len = strlen(n);
		if (len <= suffix ||
		    strcmp(n + len - suffix, own_files[k].suffix))
			continue;
		snprintf(name, size, "%.*s", (int)(len - suffix), n);
		return true;
	}
	return false;
}

/* INFO (a dpkg info directory) read from its start: a dup of INFO would
 * share its offset, and the next service's walk would begin where this
 * one stopped (at the end: no list read at all).  NULL when INFO < 0. */
DIR *service_lists_open(int info)
{
	int fd = info >= 0
			 ? openat(info, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			 : -1;
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !dir)
		close(fd);
	return dir;
}

char *service_lists_next(DIR *dir, char pkg[NAME_MAX + 1], size_t *seen)
{
	struct dirent *de;
	while (dir && (*seen)++ < LISTS_MAX && (de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".list"))
			continue;
		char *text = service_read_at(dirfd(dir), de->d_name);
		if (text) {
			snprintf(pkg, NAME_MAX + 1, "%.*s", (int)(l - 5),
				 de->d_name);
			return text;
		}
	}
	return NULL;
}

/* The text of the next of DIR's dpkg file lists that names one of the
 * N PATHS (malloc'd), its package record ("name", "name:arch") in PKG;
 * NULL when there is none left (SEEN counts the entries looked at). */
static char *next_owner(DIR *dir, const char *const *paths, size_t n,
			char pkg[NAME_MAX + 1], size_t *seen)
{
	for (char *text; (text = service_lists_next(dir, pkg, seen));
	     free(text))
		for (size_t k = 0; k < n; k++)
			if (service_has_line(text, paths[k]))
				return text;
	return NULL;
}

/* O's paths that a package ships, for next_owner(). */
static void packaged(const struct svc_own *o,
		     const char *paths[SVC_OWN_PACKAGED])
{
	for (size_t k = 0; k < SVC_OWN_PACKAGED; k++)
		paths[k] = o->v[k];
}

/* Whether the merge (diff D) changes a file of SERVICE in DST: its init
 * script or unit, or any file of the package owning it, by DST's dpkg
 * file lists (INFO: DST's /var/lib/dpkg/info). */
bool service_files_change(int info, const struct world_diff *d,
			  const char *service)
{
	struct svc_own o;
	const char *paths[SVC_OWN_PACKAGED];
	service_own_paths(service, &o);
	packaged(&o, paths);
	for (size_t k = 0; k < SVC_OWN_PACKAGED; k++)
		if (service_changed(d, paths[k]))
			return true;
	_cleanup_closedir_ DIR *dir = service_lists_open(info);
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	for (char *text;
	     (text = next_owner(dir, paths, SVC_OWN_PACKAGED, pkg, &seen));
	     free(text))
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
 * counts where ABSENT says so) (REMOVED), or installed there, half or
 * whole (!REMOVED). */
static bool state_in(const struct world_packages *pk, const char *pkg,
		     bool removed, bool absent)
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
	/* Not in the status at all: removed, its record dropped (a package
	 * without conffiles leaves none), where the caller knows it had one
	 * (DST's lists name it); else not known, so not removed. */
	return removed && absent;
}

/* Whether package record PKG is one the merge removes: removed or purged
 * in PK[0] (SRC's status; not in it at all counts where ABSENT says so)
 * and installed in PK[1] (DST's). */
static bool removed_by_merge(const struct world_packages pk[2], const char *pkg,
			     bool absent)
{
	return state_in(&pk[0], pkg, true, absent) &&
	       state_in(&pk[1], pkg, false, false);
}

/* Whether every package that INFO's dpkg lists name as owning one of the
 * N PATHS is removed by the merge (removed_by_merge, ABSENT), and one
 * is. */
static bool owners_removed(int info, const char *const *paths, size_t n,
			   const struct world_packages pk[2], bool absent)
{
	_cleanup_closedir_ DIR *dir = service_lists_open(info);
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	bool any = false;
	for (char *text; (text = next_owner(dir, paths, n, pkg, &seen));
	     free(text)) {
		if (!removed_by_merge(pk, pkg, absent)) {
			free(text);
			return false;
		}
		any = true;
	}
	return any;
}

/* owners_removed() for each of PATHS (N) on its own, into REMOVED[i]
 * (false to begin with), from one walk of INFO's lists. */
static void owners_removed_each(int info, char *const *paths, size_t n,
				const struct world_packages pk[2], bool absent,
				bool *removed)
{
	_cleanup_free_ bool *kept = calloc(n, sizeof(*kept));
	_cleanup_closedir_ DIR *dir = kept ? service_lists_open(info) : NULL;
	char pkg[NAME_MAX + 1];
	size_t seen = 0;
	for (char *text; (text = service_lists_next(dir, pkg, &seen));
	     free(text))
		for (size_t k = 0; k < n; k++) {
			if (kept[k] || !service_has_line(text, paths[k]))
				continue;
			kept[k] = !removed_by_merge(pk, pkg, absent);
			removed[k] = !kept[k];
		}
}

/* Whether world SRC's tree still has one of PATHS, SERVICE's packaged
 * files (one that cannot be told counts as there; /lib a symbolic link
 * is /usr/lib's). */
static bool still_there(struct world_store *s, const char *src,
			const char *const paths[SVC_OWN_PACKAGED])
{
	for (size_t k = 0; k < SVC_OWN_PACKAGED; k++) {
		struct world_error e = {0};
		int fd = world_open_in(s, src, paths[k], O_PATH, &e);
		if (fd >= 0)
			close(fd);
		if (fd >= 0 ||
		    (fd != -ENOENT && !(k == SVC_OWN_LIB_UNIT && fd == -ELOOP)))
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
	struct svc_own o;
	const char *paths[SVC_OWN_PACKAGED];
	service_own_paths(service, &o);
	packaged(&o, paths);
	/* Real packages ship an init script and a unit: apt-get remove
	 * deletes the unit and keeps the script (a conffile), so that only
	 * dpkg's status tells then. */
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < SVC_OWN_PACKAGED; k++)
			if (d->v[i].kind == 'D' && !d->v[i].checked_off &&
			    !strcmp(d->v[i].path, paths[k]) &&
			    !still_there(s, src, paths))
				return true;
	return pk &&
	       owners_removed(src_info, paths, SVC_OWN_PACKAGED, pk, false);
}

/* Whether the merge (diff D) adds SERVICE's init script or unit file to
 * DST: the diff has one, and DST has none of them before the merge.  One
 * that cannot be looked at counts as there: its service is never taken
 * for new (pwapt rollback stops only those). */
bool service_added_to_dst(struct world_store *s, const char *dst,
			  const struct world_diff *d, const char *service)
{
	struct svc_own o;
	service_own_paths(service, &o);
	bool adds = false;
	for (size_t k = 0; k < SVC_OWN_ALL; k++)
		adds |= service_changed(d, o.v[k]);
	for (size_t k = 0; adds && k < SVC_OWN_ALL; k++) {
		struct world_error err = {0};
		int fd = world_open_in(s, dst, o.v[k],
				       O_PATH | O_NOFOLLOW | O_CLOEXEC, &err);
		if (fd >= 0)
			close(fd);
		/* -ELOOP: /lib a link to usr/lib, looked at there too. */
		if (fd != -ENOENT && !(fd == -ELOOP && k == SVC_OWN_LIB_UNIT))
			return false;
	}
	return adds;
}

/* Whether TEXT (an init script, a unit) names PATH as a word of its own:
 * DAEMON=/usr/sbin/nginx, ExecStart=/usr/sbin/nginx -g ..., "$PATH". */
static bool names_path(const char *text, const char *path)
{
	size_t l = strlen(path);
	for (const char *t = text; (t = strstr(t, path)); t += l) {
		char before = t == text ? '\n' : t[-1], after = t[l];
		if (strchr("\n \t=\"'", before) &&
		    (!after || strchr("\n \t\"';", after)))
			return true;
	}
	return false;
}

/* SERVICE's init script and unit in world W, one text (malloc'd, or
 * NULL: none readable). */
static char *own_texts(struct world_store *s, const char *w,
		       const char *service)
{
	struct svc_own o;
	service_own_paths(service, &o);
	char *all = NULL;
	size_t len = 0;
	for (size_t k = 0; k < SVC_OWN_PACKAGED; k++) {
		char *slash = strrchr(o.v[k], '/');
		*slash = '\0';
		struct world_error e = {0};
		int dir =
			world_open_in(s, w, o.v[k], O_RDONLY | O_DIRECTORY, &e);
		_cleanup_free_ char *text =
			dir >= 0 ? service_read_at(dir, slash + 1) : NULL;
		if (dir >= 0)
			close(dir);
		size_t l = text ? strlen(text) : 0;
		char *more = l ? realloc(all, len + l + 2) : all;
		if (l && !more) {
			free(all);
			return NULL;
		}
		all = more;
		if (l) {
			memcpy(all + len, text, l);
			len += l;
			all[len++] = '\n';
			all[len] = '\0';
		}
	}
	return all;
}

/* Into TEXTS[i] the own texts (in DST) of P's item i, where a process of
 * it uses a file the merge replaces (P's planned users) and it runs in
 * DST only, not removed yet; into NAMED the files the merge (diff D)
 * deletes that they name, each once.  0, or -ENOMEM. */
static int programs_named(struct world_store *s, const char *dst,
			  const struct svc_plan *p, const struct world_diff *d,
			  char **texts, struct strv *named)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct svc_item *it = &p->v[i];
		bool used = false;
		for (size_t k = 0; !used && k < p->planned.n; k++)
			used = p->planned.v[k].service &&
			       !strcmp(p->planned.v[k].service, it->name);
		if (!used || it->removed || !it->in_dst || it->in_src)
			continue;
		texts[i] = own_texts(s, dst, it->name);
		for (size_t k = 0; texts[i] && k < d->n; k++) {
			const struct world_change *c = &d->v[k];
			if (c->kind == 'D' && !c->checked_off &&
			    names_path(texts[i], c->path) &&
			    !strv_contains(named->v, c->path) &&
			    strv_push(named, strdup(c->path)) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* A running service of DST, a process of which uses a file the merge
 * replaces, whose own init script or unit names a program the merge (diff
 * D) deletes, a program of a package SRC removed (DST's lists: INFO; PK:
 * SRC's and DST's status), goes with that package: Debian's nginx, whose
 * init script is nginx-common's, which stays, and whose /usr/sbin/nginx
 * (DAEMON=) is nginx's.  A library, a module or a descendant's program
 * that the service's files do not name makes it a restart, as before.
 * DST's lists are read once for the whole plan. */
void service_program_removed(struct world_store *s, const char *dst,
			     struct svc_plan *p, const struct world_diff *d,
			     int info, const struct world_packages pk[2])
{
	_cleanup_strv_ struct strv named = {0};
	_cleanup_free_ bool *removed = NULL;
	char **texts = calloc(p->n + 1, sizeof(*texts));
	/* A status with no record at all tells nothing (pk[0].n). */
	if (texts && programs_named(s, dst, p, d, texts, &named) >= 0 &&
	    named.n && (removed = calloc(named.n, sizeof(*removed))))
		owners_removed_each(info, named.v, named.n, pk, pk[0].n > 0,
				    removed);
	for (size_t i = 0; removed && i < p->n; i++)
		for (size_t k = 0; texts[i] && k < named.n; k++)
			if (removed[k] && names_path(texts[i], named.v[k])) {
				p->v[i].removed = true;
				p->v[i].why = "its package is removed";
			}
	for (size_t i = 0; texts && i < p->n; i++)
		free(texts[i]);
	free(texts);
}
