/* What a diff leaves out and a merge never writes (diff.h): the files a
 * world's machinery touches, the API file systems, the journal of a
 * tree's own systemd, and pwapt's state directory where Root holds it. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "store.h"

/* Files that the machinery of a world touches rather than the change being
 * tested: login records, the shells' histories of wconsole sessions, and
 * the lock files of dpkg and apt, empty files whose times only say when a
 * run last locked them.
 * wdiff leaves them out unless asked for everything (the paper excludes
 * /var/log/wtmp and the like for the same reason). */
static const char *const excluded_paths[] = {
	"/var/log/wtmp",
	"/var/log/btmp",
	"/var/log/lastlog",
	"/run/utmp",
	"/var/run/utmp",
	"/root/.bash_history",
	"/root/.ash_history",
	"/root/.lesshst",
	"/root/.viminfo",
	"/root/.wget-hsts",
	"/var/lib/dpkg/lock",
	"/var/lib/dpkg/lock-frontend",
	"/var/lib/dpkg/triggers/Lock",
	"/var/lib/apt/lists/lock",
	"/var/cache/apt/archives/lock",
	NULL,
};

const char *const *diff_excluded_paths(void)
{
	return excluded_paths;
}

/* The API file systems a world's container mounts afresh: what lies
 * there in a layer (a process that unmounted them wrote it) is never
 * merged, nor listed without --all. */
static const char *const api_dirs[] = {"/proc", "/sys", "/dev", "/run"};

/* Directories whose contents the machinery of a world writes (a package
 * may make the directory itself): the journal of the tree's own systemd
 * (pwapt.conf's init), which Root's journald writes too, in the same
 * files (a world has Root's machine-id).  A world's log is its own, as its
 * wtmp is. */
static const char *const machinery_dirs[] = {"/var/log/journal"};

bool diff_is_excluded(const char *path)
{
	for (const char *const *p = excluded_paths; *p; p++)
		if (!strcmp(*p, path))
			return true;
	for (size_t i = 0; i < sizeof(api_dirs) / sizeof(*api_dirs); i++)
		if (diff_below(path, api_dirs[i], strlen(api_dirs[i])))
			return true;
	for (size_t i = 0; i < sizeof(machinery_dirs) / sizeof(*machinery_dirs);
	     i++)
		if (diff_below(path, machinery_dirs[i],
			       strlen(machinery_dirs[i])) &&
		    strcmp(path, machinery_dirs[i]))
			return true;
	return false;
}

/* Marks excluded what lies at or below pwapt's state directory when Root
 * holds it (/var/lib/pwapt on a host): a world's root may unmount the
 * cover of it and write there, and a merge must never write into pwapt's
 * own journal, layers or records. */
void diff_exclude_state(struct world_store *s, struct world_diff *d)
{
	const char *state = store_state_in_root(s);
	for (size_t i = 0; state && i < d->n; i++)
		if (diff_below(d->v[i].path, state, strlen(state))) {
			d->v[i].excluded = true;
			free(d->v[i].note);
			d->v[i].note = strdup("pwapt's state directory: never "
					      "merged");
		}
}

void diff_exclude_mounts(struct world_diff *d, char *const *mounts, size_t n)
{
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < n && !d->v[i].excluded; k++)
			if (diff_below(d->v[i].path, mounts[k],
				       strlen(mounts[k]))) {
				d->v[i].excluded = true;
				free(d->v[i].note);
				d->v[i].note = strdup(
					"on another mount: never merged");
			}
}
