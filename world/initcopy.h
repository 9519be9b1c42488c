/* The copy of pwapt-init in the state directory that every container runs
 * as PID 1 (initcopy.c).  Private to libworld. */
#ifndef PWAPT_INITCOPY_H
#define PWAPT_INITCOPY_H

#include "store.h"

/* Makes STATE/pwapt-init a sound copy of the store's pwapt-init (root's,
 * mode 0555, one link, no xattr, the same bytes), writing it afresh (a new
 * inode renamed into place) when it is not; its path goes to *OUT
 * (malloc'd).  The files are compared only when STATE/pwapt-init.stamp
 * does not vouch for both (README, "A world's root cannot reach the
 * host's pwapt-init"). */
int initcopy_prepare(struct world_store *s, char **out,
		     struct world_error *err);

#endif
