/* Networking of worlds: pwapt's bridge, the worlds' addresses, and pwapt's
 * nftables table of port forwards, takeovers and outbound policy.  Private
 * to libworld.
 *
 * Everything lives in the network namespace pwapt runs in (the host's):
 *     bridge BRIDGE        (default pwapt0) with the subnet's first address,
 *                          which is Root's when Root is the host
 *     veth pwXXXXXXXX      host side of each running world's veth, named
 *                          after the world's address in hex; the world's
 *                          side is its eth0
 *     table ip BRIDGE      pwapt's only nftables table, rewritten whole
 *                          (atomically) from the worlds' network files
 *     worlds/NAME/net      a world's address, outbound setting, forwards
 *                          and takeovers (Root's: when Root is a container) */
#ifndef PWAPT_NET_H
#define PWAPT_NET_H

#include "store.h"

/* The liblxc configuration of world NAME's network, as key, value, key,
 * value, ..., NULL (malloc'd).  Sets up the bridge first when missing, and
 * gives NAME an address when it has none (or one outside the subnet).
 * *need_apply is set when net_apply() must run once the container runs. */
int net_container_config(struct world_store *s, const char *name, char ***items,
			 bool *need_apply, struct world_error *err);
/* Attaches the running container's veth to the bridge; with APPLY, then
 * runs net_apply(). */
int net_container_started(struct world_store *s, const char *name, bool apply,
			  struct world_error *err);
/* Rewrites pwapt's table from the network files of the worlds whose
 * containers run, in one transaction: new connections follow the new rules
 * at once, connections in flight keep their mapping.  With no container
 * running, removes the table and the bridge instead. */
int net_apply(struct world_store *s, struct world_error *err);
/* Removes pwapt's table and bridge: every container stopped (stop-all). */
int net_stop_all(struct world_store *s, struct world_error *err);
/* Whether removing world NAME changes pwapt's table. */
bool net_has_rules(struct world_store *s, const char *name);

#endif
