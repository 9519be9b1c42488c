/* A world's container with its network: the order in which the parts below
 * (container.h, net.h) come up.  Private to libworld. */
#ifndef PWAPT_LIFECYCLE_H
#define PWAPT_LIFECYCLE_H

#include "store.h"

/* Starts NAME's container over ROOTFS (see container_start()) with its
 * network: the bridge and an address first, the veth and eth0 once the
 * container runs, then pwapt's table when NAME has rules.  A container
 * whose network cannot be set up is stopped again: a world without its
 * network would stay so while it runs. */
int lifecycle_start(struct world_store *s, const char *name,
		    const char *rootfs, bool fresh, struct world_error *err);

/* Brings NAME (a world or Root) up as a command needs it: Root's container
 * when Root is not the host; a world's overlays mounted (after a reboot)
 * and revalidated, a frozen container thawed (a killed merge left it so; never the
 * world this command's merge froze, store.h's merge_frozen), a stopped one
 * started.  *REVIVED (may be NULL) is set when something had to
 * be brought back. */
int lifecycle_ensure_running(struct world_store *s, const char *name,
			     bool *revived, struct world_error *err);
/* NAME's tree mounted (after a reboot) and revalidated, as for
 * lifecycle_ensure_running(), but its container left as it is: a frozen
 * world stays frozen, a stopped one stopped.  Root's tree is always there. */
int lifecycle_mount(struct world_store *s, const char *name,
		    struct world_error *err);
/* The path of NAME's tree (Root's directory, or the world's merged tree,
 * mounted first as lifecycle_mount() does: its container is left as it
 * is, a stopped world stays stopped). */
int lifecycle_tree(struct world_store *s, const char *name, char **out,
		   struct world_error *err);
/* lifecycle_tree(), an overlay already mounted not revalidated: for a
 * look at files of the world's own layer (its tools' lock files) just
 * before a command revalidates it anyway (a revalidation drops the
 * overlay's cached names, which every later lookup then pays for). */
int lifecycle_tree_unrefreshed(struct world_store *s, const char *name,
			       char **out, struct world_error *err);
/* Opens PATH beneath NAME's tree (open_beneath()); -ENOENT, -ELOOP and
 * -ENOTDIR are returned without a message: the path is not there as a
 * plain path. */
int lifecycle_open_in(struct world_store *s, const char *name,
		      const char *path, int flags, struct world_error *err);

/* Makes NAME's layer durable: its file system synced (syncfs), so that
 * what the world holds now survives a crash.  A volatile world (see
 * layers.h) is also stopped first (services given GRACE seconds, as
 * container_stop()), and once synced unmounted and recorded not volatile:
 * the next command mounts it plain, as a world that lives long.  A
 * writeback error since the volatile mount fails it: the layer is then
 * damaged, and the error says so. */
int lifecycle_make_durable(struct world_store *s, const char *name, int grace,
			   struct world_error *err);

#endif
