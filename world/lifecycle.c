/* Starting a world: net prepare, container start, net started (see
 * lifecycle.h).  container.c and the net files do not know each other. */
#include <errno.h>

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
