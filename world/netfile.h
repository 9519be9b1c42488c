/* Network files of worlds (worlds/NAME/net): a world's address, outbound
 * setting, forwards and takeovers, and the subnet the addresses come from.
 * Private to libworld; only files, no kernel state (see net.h for that). */
#ifndef PWAPT_NETFILE_H
#define PWAPT_NETFILE_H

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

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
/* Reads NAME's network file (none: an empty one) / writes it durably. */
int net_file_load(struct world_store *s, const char *name, struct net_file *f,
		  struct world_error *err);
int net_file_save(struct world_store *s, const char *name,
		  const struct net_file *f, struct world_error *err);
/* A copy of F that owns its own arrays. */
int net_file_copy(const struct net_file *f, struct net_file *out,
		  struct world_error *err);

/* The network files of all worlds, Root (in a container) first. */
struct net_all {
	char **names;
	struct net_file *files;
	size_t n;
};
int net_all_load(struct world_store *s, struct net_all *a,
		 struct world_error *err);
void net_all_release(struct net_all *a);
/* NAME's file in A, or NULL. */
struct net_file *net_all_find(struct net_all *a, const char *name);

/* The configured subnet, parsed; the bridge's name checked. */
int net_check_config(struct world_store *s, struct subnet *n,
		     struct world_error *err);
/* The lowest address of subnet N no world but NAME has. */
int net_allocate_address(struct world_store *s, const struct subnet *n,
			 const char *name, uint32_t *out,
			 struct world_error *err);
/* Whether NAME may connect beyond the bridge, as F and the default say. */
bool net_outbound_of(struct world_store *s, const char *name,
		     const struct net_file *f);
/* Whether F asks for rules in pwapt's table. */
bool net_file_has_rules(struct world_store *s, const char *name,
			const struct net_file *f);
/* Whether removing world NAME changes pwapt's table. */
bool net_has_rules(struct world_store *s, const char *name);

/* Root on the host has no network file: it is the host. */
static inline bool net_has_file(const struct world_store *s, const char *name)
{
	return !store_is_root(name) || !store_root_is_host(s);
}

static inline uint32_t subnet_size(const struct subnet *n)
{
	return 1u << (32 - n->prefix);
}

/* The bridge has the first address; worlds get the others but the last. */
static inline uint32_t subnet_gateway(const struct subnet *n)
{
	return n->base + 1;
}

static inline bool subnet_has_world(const struct subnet *n, uint32_t a)
{
	return a > n->base + 1 && a < n->base + subnet_size(n) - 1;
}

static inline void net_addr_text(uint32_t a, char buf[INET_ADDRSTRLEN])
{
	struct in_addr x = {htonl(a)};
	inet_ntop(AF_INET, &x, buf, INET_ADDRSTRLEN);
}

/* The host's end of the veth of the world with address A. */
static inline void net_veth_name(uint32_t a, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, "pw%08x", a);
}

#endif
