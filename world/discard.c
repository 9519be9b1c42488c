/* Discarding a world's remains: its container, its mount, its directory,
 * its network rules.  Below the API (world.c's world_delete checks first)
 * and the merge, which discards a merged SRC lazily. */
#include <errno.h>
#include <stdbool.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "discard.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "net.h"
#include "store.h"

/* Tears down what is left of a world that did not finish being created or
 * deleted: its container, its mount, its directory.  LAZY: the container
 * is killed but not waited for, and files that cannot be removed yet are
 * left in trash/ for the next command. */
static int discard_tree(struct world_store *s, const char *name, bool lazy,
			struct world_error *err)
{
	int r = container_stop(s, name, lazy ? -1 : 0);
	if (r < 0)
		return werr_errno(err, -r, "cannot stop the container of '%s'",
				  name);
	crash_point("delete-stop");
	_cleanup_free_ char *merged = store_world_path(s, name, "merged");
	if (!merged)
		return werr(err, ENOMEM, "out of memory");
	r = layers_unmount(merged);
	if (r < 0)
		return werr_errno(err, -r, "cannot unmount %s", merged);
	crash_point("delete-unmount");
	/* The undo of the last merge into it goes with it. */
	_cleanup_free_ char *last = path_join("merges", name);
	if (last)
		(void)rm_rf_at(s->state_fd, last);
	if (!lazy)
		return store_discard_world_dir(s, name, err);
	struct world_error ignored;
	(void)store_discard_world_dir(s, name, &ignored);
	return store_world_exists(s, name)
		       ? werr(err, EIO, "cannot delete the merged world '%s'",
			      name)
		       : 0;
}

int discard_remains(struct world_store *s, const char *name, bool lazy,
		    struct world_error *err)
{
	/* Its forwards and takeovers go with it. */
	bool rules = net_has_rules(s, name);
	int r = discard_tree(s, name, lazy, err);
	return r < 0 || !rules ? r : net_apply(s, err);
}

int discard_lazily(struct world_store *s, const char *name,
			 struct world_error *err)
{
	return discard_remains(s, name, true, err);
}
