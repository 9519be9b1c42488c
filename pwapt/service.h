/* Services of worlds, for the front end: those a world starts before its
 * tests, those a merge restarts in Root, and how a restarted one is seen
 * to be healthy: its init script's status (or systemctl is-active where
 * Root runs systemd) succeeds within 10 seconds and keeps succeeding for
 * one more.  Commands run in the world, never on the host's own init. */
#ifndef PWAPT_SERVICE_H
#define PWAPT_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pwapt.h"

/* The service a file of a package provides: an init script's name, or a
 * systemd unit's without ".service" (templates aside); NULL for any other
 * path.  malloc'd. */
char *service_of_path(const char *path);

/* Starts the services enabled in world NAME (its /etc/rc2.d), as a boot
 * would, so that tests find them running: a world's init is no init
 * system, and invoke-rc.d in maintainer scripts starts nothing there. */
void service_start_enabled(struct context *ctx, const char *name);

/* Restarts SERVICE in Root if it runs there, or if EVEN_STOPPED, and
 * checks that it comes up.  1: restarted and running; 0: it was not
 * running and is left so; -1: it did not come back. */
int service_restart_in_root(struct context *ctx, const char *service,
			    bool even_stopped);
/* After a merge into Root: restarts SERVICES (NULL-terminated) in order.
 * Returns the index of the first that did not come back (those after it
 * are not restarted), or -1 when each did. */
ssize_t service_restart_all(struct context *ctx, char *const *services);
/* After that merge was rolled back: SERVICES[FAILED] and those restarted
 * before it run again, on the old files. */
void service_restart_old(struct context *ctx, char *const *services,
			 size_t failed);
/* After that merge could not be rolled back and stays: SERVICES[FAILED]
 * is started again (it is down since its restart), and those after it,
 * which were not restarted yet, are restarted, all on the merged files in
 * place.  Returns true when each runs. */
bool service_restart_kept(struct context *ctx, char *const *services,
			  size_t failed);

/* Root's note of the services merge ID restarted (NULL: none), so that
 * `pwapt rollback` of that merge restarts them again on the old files;
 * service_restart_after_rollback() does that (nothing when the note is
 * another merge's). */
void service_remember(struct context *ctx, char *const *services, uint64_t id);
void service_restart_after_rollback(struct context *ctx, uint64_t id);

/* SERVICES (NULL-terminated, or NULL) and, after them, those of DST's
 * processes that use a file the merge into DST just done replaced
 * (BEFORE: DST's file users taken before it, may be NULL), each service
 * once; such a process is named on the chatter, one of no service in a
 * warning.  malloc'd (strvfreep); NULL when out of memory. */
char **service_with_replaced_users(struct context *ctx, struct world_store *s,
				   const char *dst,
				   const struct world_file_users *before,
				   char *const *services);

#endif
