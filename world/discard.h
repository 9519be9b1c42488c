/* Discarding a world's remains (discard.c).  Private to libworld. */
#ifndef PWAPT_DISCARD_H
#define PWAPT_DISCARD_H

#include <stdbool.h>

#include "store.h"

/* Tears down world NAME: its container, mount, directory, and its network
 * rules.  LAZY: the container is killed but not waited for, and files that
 * cannot be removed yet are left in trash/ for the next command.  No
 * checks: world_delete() makes them. */
int discard_remains(struct world_store *s, const char *name, bool lazy,
		    struct world_error *err);

/* Deletes world NAME (which has no children) without waiting for its
 * container's tear-down: for a merged world, whose layer is spent. */
int discard_lazily(struct world_store *s, const char *name,
			 struct world_error *err);

#endif
