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

struct subnet {
	uint32_t base; /* host byte order */
	unsigned prefix;
};

/* A world's network file (worlds/NAME/net). */
struct net_file {
	uint32_t address; /* 0: none yet */
	int outbound;	  /* -1: the configured default */
	struct world_forward *fw;
	size_t n_fw;
	unsigned *to; /* ports taken over */
	size_t n_to;
};
#define NET_FILE_INIT          \
	{                      \
		.outbound = -1 \
	}

void net_file_release(struct net_file *f);
/* Parses "A.B.C.D/LEN" (a network: no host bits; LEN 8 to 30). */
int subnet_parse(const char *text, struct subnet *out);
/* Parses a world's network file; -EBADMSG for a line it does not know. */
int net_file_parse(const char *text, struct net_file *f);

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
 * pwXXXXXXXX on the bridge, gives eth0 its address and default route, and
 * loads its rules when it has any. */
int net_container_started(struct world_store *s, const char *name, pid_t pid,
			  const struct net_world *w, struct world_error *err);
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
