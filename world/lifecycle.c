/* Starting a world: net prepare, container start, net started (see
 * lifecycle.h).  container.c and the net files do not know each other. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
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

int lifecycle_ensure_running(struct world_store *s, const char *name,
			     bool *revived, struct world_error *err)
{
	if (store_is_root(name)) {
		if (store_root_is_host(s) || container_running(s, WORLD_ROOT, NULL))
			return 0;
		if (revived)
			*revived = true;
		(void)mkdirat(s->worlds_fd, WORLD_ROOT, 0700);
		return lifecycle_start(s, WORLD_ROOT, s->root, false, err);
	}
	struct world_meta m = {0};
	int r = meta_load(s, name, &m, err);
	if (r < 0)
		return r;
	/* After a reboot nothing is mounted; mount what is missing.  What
	 * is mounted is revalidated, so that the command sees what Root and
	 * the parents hold now. */
	r = layers_mount_world(s, &m, false, revived, err);
	if (r >= 0)
		r = layers_refresh_world(s, &m, err);
	/* Only a merge freezes a world, and no merge runs now (recovery
	 * has run): a frozen world is one a killed merge left so. */
	if (r >= 0 && container_frozen(s, name))
		(void)container_freeze(s, name, false);
	if (r >= 0 && !container_running(s, name, NULL)) {
		_cleanup_free_ char *merged =
			store_world_path(s, name, "merged");
		r = merged ? lifecycle_start(s, name, merged, false, err)
			   : werr(err, ENOMEM, "out of memory");
		if (r >= 0 && revived)
			*revived = true;
	}
	meta_release(&m);
	return r;
}

int lifecycle_tree(struct world_store *s, const char *name, char **out,
		   struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r >= 0 && !store_is_root(name))
		r = lifecycle_ensure_running(s, name, NULL, err);
	if (r < 0)
		return r;
	char *p = store_tree_path(s, name);
	if (!p)
		return werr(err, ENOMEM, "out of memory");
	*out = p;
	return 0;
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
