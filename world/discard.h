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

/* discard_remains(NAME, lazy), its files removed by a detached process
 * after this returns: for a world deleted by wdelete, whose layer no other
 * tree shares (store_discard_world_dir). */
int discard_detached(struct world_store *s, const char *name,
		     struct world_error *err);

/* Deletes world NAME (which has no children) without waiting for its
 * container's tear-down: for a merged world, whose layer is spent. */
int discard_lazily(struct world_store *s, const char *name,
			 struct world_error *err);

/* Removes what trash/ holds: worlds whose removal was interrupted.  Before
 * a merge is recovered too: a merged world's layer shares the merged
 * files' inodes, so removing it changes their ctimes, which must not
 * happen after the recovery recorded them for a rollback. */
void discard_trash(struct world_store *s);

/* Tears down the worlds a killed wcreate left unfinished (phase creating,
 * or a directory without metadata), then empties trash/.  It looks at the
 * worlds marked as being created (store_creating_names()), or at all of
 * them once a boot: O(worlds being created), not O(worlds). */
int discard_unfinished(struct world_store *s, struct world_error *err);

#endif
