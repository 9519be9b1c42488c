/* The file systems a world's container mounts over its tree
 * (container-mounts.c).  Private to libworld. */
#ifndef PWAPT_CONTAINER_MOUNTS_H
#define PWAPT_CONTAINER_MOUNTS_H

#include <stdbool.h>

#include <lxc/lxccontainer.h>

#include "error.h"
#include "store.h"

/* Where pwapt-init is bind-mounted in a tree (lxc.init.cmd). */
#define PWAPT_INIT_IN_TREE "/run/.pwapt-init"

/* Sets C's mount entries, in the order they apply: the state directory
 * covered where Root's tree holds it, a fresh /run, pwapt-init (INIT, its
 * host path) and /run/lock unless the world boots SYSTEMD, a fresh /tmp.
 * A path is written escaped as fstab(5) wants it (a space is \040), so a
 * Root or state directory whose path has blanks works. */
int container_set_mounts(struct lxc_container *c, struct world_store *s,
			 bool systemd, const char *init,
			 struct world_error *err);

#endif
