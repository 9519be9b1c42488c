/* Starting a world: net prepare, container start, net started (see
 * lifecycle.h).  container.c and the net files do not know each other. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"

#include "container.h"
#include "lifecycle.h"
#include "net.h"

int lifecycle_start(struct world_store *s, const char *name,
		    const char *rootfs, bool fresh, struct world_error *err)
{
	struct net_world net;
	pid_t pid;
	int r = net_container_prepare(s, name, &net, err);
	if (r < 0 || (r = container_start(s, name, rootfs, fresh, &pid, err)) < 0)
		return r;
	if ((r = net_container_started(s, name, pid, &net, err)) >= 0 &&
	    net.apply)
		r = net_apply(s, err);
	if (r < 0)
		(void)container_stop(s, name, 0);
	return r;
}

/* NAME's metadata into *M, and its overlays mounted; revalidated too
 * when REFRESH. */
static int mount_world(struct world_store *s, const char *name,
		       struct world_meta *m, bool *revived, bool refresh,
		       struct world_error *err)
{
	int r = meta_load(s, name, m, err);
	if (r < 0)
		return r;
	/* After a reboot nothing is mounted; mount what is missing.  What
	 * is mounted is revalidated, so that the command sees what Root and
	 * the parents hold now. */
	r = layers_mount_world(s, m, 0, revived, err);
	if (r >= 0 && refresh)
		r = layers_refresh_world(s, m, err);
	if (r < 0)
		meta_release(m);
	return r;
}

static int mount_only(struct world_store *s, const char *name, bool refresh,
		      struct world_error *err)
{
	if (store_is_root(name))
		return 0;
	struct world_meta m = {0};
	int r = mount_world(s, name, &m, NULL, refresh, err);
	if (r >= 0)
		meta_release(&m);
	return r;
}

int lifecycle_mount(struct world_store *s, const char *name,
		    struct world_error *err)
{
	return mount_only(s, name, true, err);
}

/* NAME's container's state, once it is no longer on its way down: a
 * container a lazy delete or a kill left stopping is waited for (a command
 * attaching to it would find it gone). */
static int settled_state(struct world_store *s, const char *name,
			 enum container_state *state, struct world_error *err)
{
	*state = container_state(s, name);
	if (*state != CONTAINER_STOPPING)
		return 0;
	int r = container_wait_stopped(s, name, 30);
	if (r < 0)
		return werr_errno(err, -r,
				  "the container of '%s' is still stopping",
				  name);
	*state = CONTAINER_STOPPED;
	return 0;
}

int lifecycle_ensure_running(struct world_store *s, const char *name,
			     bool *revived, struct world_error *err)
{
	enum container_state state;
	if (store_is_root(name)) {
		if (store_root_is_host(s))
			return 0;
		int r = settled_state(s, WORLD_ROOT, &state, err);
		if (r < 0 || state != CONTAINER_STOPPED)
			return r;
		if (revived)
			*revived = true;
		(void)mkdirat(s->worlds_fd, WORLD_ROOT, 0700);
		return lifecycle_start(s, WORLD_ROOT, s->root, false, err);
	}
	struct world_meta m = {0};
	int r = mount_world(s, name, &m, revived, true, err);
	if (r < 0)
		return r;
	/* Only a merge freezes a world.  The one this command's merge froze
	 * stays so (its diff and plan bring it up); any other frozen world is
	 * one a killed merge left so (recovery has run). */
	bool ours = s->merge_frozen && !strcmp(s->merge_frozen, name);
	/* Ours, if its init died frozen, is never waited for and started
	 * anew in the middle of its merge: a fresh container's services
	 * would write into the layer being merged (the merge's own attach
	 * finds it gone). */
	if (ours)
		state = container_state(s, name);
	else
		r = settled_state(s, name, &state, err);
	if (r >= 0 && !ours && state == CONTAINER_FROZEN &&
	    (r = container_freeze(s, name, false)) < 0)
		r = werr_errno(err, -r,
			       "'%s' is frozen (a merge was cut short) and "
			       "cannot be thawed",
			       name);
	if (r >= 0 && state == CONTAINER_STOPPED) {
		_cleanup_free_ char *merged = store_world_path(s, name, "merged");
		r = merged ? lifecycle_start(s, name, merged, false, err)
			   : werr(err, ENOMEM, "out of memory");
		if (r >= 0 && revived)
			*revived = true;
	}
	meta_release(&m);
	return r;
}

static int tree_of(struct world_store *s, const char *name, bool refresh,
		   char **out, struct world_error *err)
{
	/* Mounted, not started: a read of the tree needs no process of the
	 * world (a transaction's world, stopped to be made durable, was
	 * started again only to be read, then frozen and killed). */
	int r = store_check_world(s, name, err);
	if (r >= 0)
		r = mount_only(s, name, refresh, err);
	if (r < 0)
		return r;
	char *p = store_tree_path(s, name);
	if (!p)
		return werr(err, ENOMEM, "out of memory");
	*out = p;
	return 0;
}

int lifecycle_tree(struct world_store *s, const char *name, char **out,
		   struct world_error *err)
{
	return tree_of(s, name, true, out, err);
}

int lifecycle_tree_unrefreshed(struct world_store *s, const char *name,
			       char **out, struct world_error *err)
{
	return tree_of(s, name, false, out, err);
}

int lifecycle_open_in(struct world_store *s, const char *name,
		      const char *path, int flags, struct world_error *err)
{
	_cleanup_free_ char *tree = NULL;
	int r = lifecycle_tree(s, name, &tree, err);
	if (r < 0)
		return r;
	_cleanup_close_ int dir = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  name);
	int fd = open_beneath(dir, path, flags);
	if (fd < 0 && fd != -ENOENT && fd != -ELOOP && fd != -ENOTDIR)
		return werr_errno(err, -fd, "cannot open %s in '%s'", path,
				  name);
	return fd;
}

int lifecycle_make_durable(struct world_store *s, const char *name, int grace,
			   struct world_error *err)
{
	struct world_meta m = {0};
	int r = meta_load(s, name, &m, err);
	if (r < 0)
		return r;
	bool was_volatile = layers_volatile(s, name);
	/* A volatile world's tree that is gone cannot be vouched for. */
	if (was_volatile)
		r = layers_check_intact(s, &m, err);
	/* Nothing may write the layer from its sync on. */
	if (r >= 0 && was_volatile && layers_volatile(s, name) &&
	    (r = container_stop(s, name, grace)) < 0)
		r = werr_errno(err, -r, "cannot stop the container of '%s'",
			       name);
	if (r >= 0)
		r = layers_sync_world(s, &m, err);
	if (r >= 0 && was_volatile && layers_volatile(s, name)) {
		crash_point("durable-synced");
		_cleanup_free_ char *merged = store_world_path(s, name, "merged");
		int u = merged ? layers_unmount(merged) : -ENOMEM;
		r = u < 0 ? werr_errno(err, -u, "cannot unmount the tree of "
						"'%s'",
				       name)
			  : layers_mark_volatile(s, name, false, err);
		crash_point("durable-done");
	}
	meta_release(&m);
	return r;
}
