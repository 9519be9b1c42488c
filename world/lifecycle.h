/* A world's container with its network: the order in which the parts below
 * (container.h, net.h) come up.  Private to libworld. */
#ifndef PWAPT_LIFECYCLE_H
#define PWAPT_LIFECYCLE_H

#include "store.h"

/* Starts NAME's container over ROOTFS (see container_start()) with its
 * network: the bridge and an address first, the veth and eth0 once the
 * container runs, then pwapt's table when NAME has rules.  A container
 * whose network cannot be set up is stopped again: a world without its
 * network would stay so while it runs. */
int lifecycle_start(struct world_store *s, const char *name,
		    const char *rootfs, bool fresh, struct world_error *err);

#endif
