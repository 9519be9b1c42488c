/* Merges: recovery of an interrupted one.  Private to libworld. */
#ifndef PWAPT_MERGE_H
#define PWAPT_MERGE_H

#include "store.h"

/* Deletes world NAME with the API's checks (world_delete): recovery
 * lies below the API, which hands it down. */
typedef int merge_delete_fn(struct world_store *s, const char *name,
			    struct world_error *err);

/* Finishes or rolls back the merge that STATE/merge/journal describes, if
 * any; *recovered (may be NULL) is set when there was one.  A done merge's
 * SRC is deleted with DELETE_WORLD. */
int merge_recover(struct world_store *s, bool *recovered,
		  merge_delete_fn *delete_world, struct world_error *err);

#endif
