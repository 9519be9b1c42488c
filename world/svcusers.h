/* Which processes of a world use files a merge replaces: the operations
 * behind world_file_users() and world_replaced_users() (world.h).  Private
 * to libworld.  The world's processes come from the host's /proc (procs.h)
 * and their services from services_scan(); the paths they use are looked
 * at beneath the world's tree, without following a symbolic link. */
#ifndef PWAPT_SVCUSERS_H
#define PWAPT_SVCUSERS_H

#include "store.h"

int services_file_users(struct world_store *s, const char *name,
			struct world_file_users **out, struct world_error *err);
void services_file_users_free(struct world_file_users *u);
/* How many of the files U's processes map or run COUNTS says count. */
size_t services_file_users_count(const struct world_file_users *u,
				 bool (*counts)(const char *path));
int services_replaced_users(struct world_store *s, const char *name,
			    const struct world_file_users *before,
			    struct world_replaced_users *out,
			    struct world_error *err);
/* world_planned_users() (world.h). */
int services_planned_users(const struct world_file_users *before,
			   const struct world_diff *d,
			   struct world_replaced_users *out,
			   struct world_error *err);
void services_replaced_release(struct world_replaced_users *r);

#endif
