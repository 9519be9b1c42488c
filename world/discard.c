/* Discarding a world's remains: its container, its mount, its directory,
 * its network rules.  Below the API (world.c's world_delete checks first)
 * and the merge, which discards a merged SRC lazily. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "discard.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "merge-internal.h"
#include "net.h"
#include "store.h"

/* Tears down what is left of a world that did not finish being created or
 * deleted: its container, its mount, its directory.  LAZY: the container
 * is killed but not waited for, and files that cannot be removed yet are
 * left in the trash for the next command.  DETACHED (with LAZY): the files are
 * removed by a detached process (store_discard_world_dir). */
static int discard_tree(struct world_store *s, const char *name, bool lazy,
			bool detached, struct world_error *err)
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
	/* The undo of the last merge into it goes with it, and the notes of
	 * those rolled back. */
	_cleanup_free_ char *last = path_join("merges", name);
	if (last)
		(void)journal_remove_dir(s->state_fd, last);
	journal_forget_rolled_back(s->state_fd, name);
	if (!lazy)
		return store_discard_world_dir(s, name, false, err);
	struct world_error ignored;
	(void)store_discard_world_dir(s, name, detached, &ignored);
	return store_world_exists(s, name)
		       ? werr(err, EIO, "cannot delete world '%s'", name)
		       : 0;
}

static int discard_all(struct world_store *s, const char *name, bool lazy,
		       bool detached, struct world_error *err)
{
	/* Its forwards and takeovers go with it. */
	bool rules = net_has_rules(s, name);
	int r = discard_tree(s, name, lazy, detached, err);
	return r < 0 || !rules ? r : net_apply(s, err);
}

int discard_remains(struct world_store *s, const char *name, bool lazy,
		    struct world_error *err)
{
	return discard_all(s, name, lazy, false, err);
}

int discard_detached(struct world_store *s, const char *name,
		     struct world_error *err)
{
	return discard_all(s, name, true, true, err);
}

int discard_lazily(struct world_store *s, const char *name,
			 struct world_error *err)
{
	return discard_remains(s, name, true, err);
}

void discard_trash(struct world_store *s)
{
	store_empty_trash(s);
}

int discard_unfinished(struct world_store *s, struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	bool all = false;
	int r = store_creating_names(s, &names, &all);
	if (r < 0)
		return werr_errno(err, -r, "cannot list %s", s->worlds);
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *rel = path_join(*n, "world");
		_cleanup_free_ char *text = NULL;
		struct world_meta m = {0};
		r = read_file_at(s->worlds_fd, rel, &text, NULL);
		bool garbage = r == -ENOENT &&
			       faccessat(s->worlds_fd, *n, F_OK,
					 AT_SYMLINK_NOFOLLOW) == 0;
		if (r >= 0 && meta_parse(text, &m) >= 0) {
			garbage = m.phase == META_CREATING;
			meta_release(&m);
		} else if (r >= 0 && !text[0]) {
			/* Written unsynced while it was created (meta_save),
			 * and a power loss took its bytes: never ready, since
			 * a ready world's is synced before it is renamed. */
			garbage = true;
		}
		/* Creation happens under the lock we hold now, so a world
		 * still being created was left by a killed wcreate. */
		if (garbage && (r = discard_remains(s, *n, false, err)) < 0)
			return werr_wrap(err,
					 "cannot clean up the unfinished "
					 "world '%s'",
					 *n);
		if (!all)
			store_creating_clear(s, *n);
	}
	if (all)
		store_creating_scanned(s);
	discard_trash(s);
	return 0;
}
