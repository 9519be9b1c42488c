/* Merges: recovery of an interrupted one.  Private to libworld. */
#ifndef PWAPT_MERGE_H
#define PWAPT_MERGE_H

#include "store.h"

/* Finishes or rolls back the merge that STATE/merge/journal describes, if
 * any; *recovered (may be NULL) is set when there was one. */
int merge_recover(struct world_store *s, bool *recovered,
		  struct world_error *err);

/* Deletes world NAME (which has no children) without waiting for its
 * container's tear-down: for a merged world, whose layer is spent. */
int world_discard_lazily(struct world_store *s, const char *name,
			 struct world_error *err);

#endif
