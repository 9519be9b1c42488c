/* The start order of services, from systemd units' ordering: read
 * beneath a world's tree (TREE, a directory fd) as untrusted data, no
 * symbolic link followed, each file bounded.  Private to libworld; behind
 * world_service_order() (world.h). */
#ifndef PWAPT_SVCORDER_H
#define PWAPT_SVCORDER_H

#include <stddef.h>

#include "strv.h"

/* The dependencies of unit NAME.service (NAME without ".service"):
 * DEPS[0..3] receive the services (".service" dropped) its [Unit] section
 * names in After=, Before=, Requires= and Wants=, from the first of
 * /etc/systemd/system, /run/systemd/system, /lib/systemd/system and
 * /usr/lib/systemd/system that has it (a link there is not followed, and
 * gives nothing), then its drop-ins NAME.service.d/ *.conf of each, in
 * name order; an empty assignment resets a list.  0 or -ENOMEM. */
int svcorder_unit_deps(int tree, const char *name, struct strv deps[4]);

/* The start order of the N services NAMES, given in their order by
 * other means (rc2.d S-numbers, then name): ORDER (N entries) receives
 * indexes of NAMES so that a unit starts after those it is After= of,
 * Requires= or Wants=, and before those it is Before= of (edges among
 * NAMES only; TREE < 0: none); otherwise NAMES' order.  A cycle is broken
 * at its first service in NAMES' order, which starts first; *NOTE
 * (malloc'd, or NULL when there was none) says so.  More than 1024
 * services keep NAMES' order, *NOTE saying so.  0 or -ENOMEM. */
int svcorder_start_order(int tree, char *const *names, size_t n,
			 size_t *order, char **note);

#endif
