/* What confines a child world's container beyond its namespaces and the
 * capabilities container.c drops (container-confine.c).  Private to
 * libworld. */
#ifndef PWAPT_CONTAINER_CONFINE_H
#define PWAPT_CONTAINER_CONFINE_H

#include <lxc/lxccontainer.h>

#include "error.h"
#include "store.h"

/* Sets C's configuration items that confine a child world as LXC's own
 * defaults (common.conf) confine a container: a seccomp profile that
 * refuses open_by_handle_at, the loading of kernel modules, kexec and a
 * forced umount (written to STATE/world.seccomp), and a device cgroup
 * that lets it open only the devices a fresh /dev holds.  Not for Root's
 * container: README, "A world cannot reach the host". */
int container_confine(struct lxc_container *c, struct world_store *s,
		      struct world_error *err);

#endif
