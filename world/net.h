/* Networking of worlds: pwapt's bridge, the worlds' addresses, and pwapt's
 * nftables table of port forwards, takeovers and outbound policy: the
 * kernel's side (netdev.c: devices through libnl; nft.c: the table).  Private
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

#include "netfile.h"

/* What net_container_started() needs of a world about to start. */
struct net_world {
	uint32_t address, gateway; /* host byte order */
	unsigned prefix;
	bool apply; /* net_apply() must run once the container runs */
};
/* Before world NAME's container starts: sets up the bridge when missing,
 * gives NAME an address when it has none (or one outside the subnet), and
 * removes a veth its last container left. */
int net_container_prepare(struct world_store *s, const char *name,
			  struct net_world *out, struct world_error *err);
/* Once it runs with init PID: makes its veth, eth0 in the world and
 * pwXXXXXXXX on the bridge, gives eth0 its address and default route.
 * The caller then runs net_apply() when W->apply says so. */
int net_container_started(struct world_store *s, const char *name, pid_t pid,
			  const struct net_world *w, struct world_error *err);
/* Whether NAME's rules belong in the kernel: its container runs, which its
 * veth (address A) on the host shows without asking liblxc. */
bool net_active(struct world_store *s, const char *name, uint32_t a);
/* The bridge and its ports, as the kernel has them (NULL-terminated). */
int net_bridge_ports(struct world_store *s, char ***out,
		     struct world_error *err);
/* Removes pwapt's bridge, when there is one. */
int net_bridge_delete(struct world_store *s, struct world_error *err);

/* Rewrites pwapt's table from the network files of the worlds whose
 * containers run, in one transaction: new connections follow the new rules
 * at once, connections in flight keep their mapping.  With no container
 * running, removes the table and the bridge instead. */
int net_apply(struct world_store *s, struct world_error *err);
/* Removes pwapt's table and bridge: every container stopped (stop-all). */
int net_stop_all(struct world_store *s, struct world_error *err);
/* pwapt's table as nft lists it (JSON: as nft -j does); none: *out NULL. */
int net_rules_list(struct world_store *s, bool json, char **out,
		   struct world_error *err);

#endif
