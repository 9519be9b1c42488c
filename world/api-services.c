/* The service operations of world.h: what a world runs, and which of its
 * processes use files a merge replaced (services.h, svcusers.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "diff.h"
#include "error.h"
#include "lifecycle.h"
#include "services.h"
#include "svcorder.h"
#include "svcusers.h"

int world_services(struct world_store *s, const char *name,
		   struct world_services *out, struct world_error *err)
{
	return services_list(s, name, out, err);
}

void world_services_release(struct world_services *l)
{
	services_release(l);
}

int world_file_users(struct world_store *s, const char *name,
		     struct world_file_users **out, struct world_error *err)
{
	return services_file_users(s, name, out, err);
}

void world_file_users_free(struct world_file_users *u)
{
	services_file_users_free(u);
}

/* A path a merge may write, or take away with a directory above it: not
 * below an API file system (/run, where pwapt-init runs from, /proc),
 * nor excluded from merges with each directory above it but "/". */
static bool mergeable(const char *path)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return true; /* too long to tell: it counts */
	for (;;) {
		if (!diff_is_excluded(dir))
			return true;
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return false;
		*slash = '\0';
	}
}

size_t world_file_users_count(const struct world_file_users *u)
{
	return services_file_users_count(u, mergeable);
}

int world_replaced_users(struct world_store *s, const char *name,
			 const struct world_file_users *before,
			 struct world_replaced_users *out,
			 struct world_error *err)
{
	return services_replaced_users(s, name, before, out, err);
}

int world_planned_users(const struct world_file_users *before,
			const struct world_diff *d,
			struct world_replaced_users *out,
			struct world_error *err)
{
	return services_planned_users(before, d, out, err);
}

void world_replaced_users_release(struct world_replaced_users *r)
{
	services_replaced_release(r);
}

int world_listening_ports(struct world_store *s, const char *name,
			  const pid_t *pids, size_t n, struct world_ports *out,
			  struct world_error *err)
{
	return services_ports(s, name, pids, n, out, err);
}

void world_ports_release(struct world_ports *p)
{
	if (p) {
		free(p->v);
		*p = (struct world_ports){0};
	}
}

int world_service_order(struct world_store *s, const char *name,
			char *const *names, size_t n, size_t *order,
			char **note, struct world_error *err)
{
	_cleanup_free_ char *tp = NULL;
	int r = lifecycle_tree(s, name, &tp, err);
	if (r < 0)
		return r;
	_cleanup_close_ int tree =
		open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tree < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  name);
	r = svcorder_start_order(tree, names, n, order, note);
	return r < 0 ? werr(err, -r, "out of memory") : 0;
}

void world_crash_point(const char *name)
{
	crash_point(name);
}

int world_crash_fail(const char *name, int err)
{
	return crash_fail(name, err);
}
