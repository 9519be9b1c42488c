/* pwapt's nftables table: port forwards, takeovers and the outbound
 * policy of worlds, rewritten whole from their network files (see net.h). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <nftables/libnftables.h>

#ifndef NFTABLES_SONAME
#define NFTABLES_SONAME "libnftables.so.1"
#endif

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "net.h"

/* libnftables, loaded at its first use: most commands never change the
 * table, and loading it with its libraries (libxtables, libjansson,
 * libgmp, libnftnl, libmnl) cost every command about half a millisecond
 * of its start. */
static struct {
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*buffer_output)(struct nft_ctx *ctx);
	int (*buffer_error)(struct nft_ctx *ctx);
	void (*output_set_flags)(struct nft_ctx *ctx, unsigned int flags);
	int (*run_cmd_from_buffer)(struct nft_ctx *nft, const char *buf);
	const char *(*get_error_buffer)(struct nft_ctx *ctx);
	const char *(*get_output_buffer)(struct nft_ctx *ctx);
} lib;

static int load_nftables(struct world_error *err)
{
	static void *handle;
	if (handle)
		return 0;
	void *h = dlopen(NFTABLES_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return werr(err, ELIBACC, "cannot load libnftables: %s",
			    dlerror());
	const struct {
		void **fn;
		const char *name;
	} syms[] = {
		{(void **)&lib.ctx_new, "nft_ctx_new"},
		{(void **)&lib.ctx_free, "nft_ctx_free"},
		{(void **)&lib.buffer_output, "nft_ctx_buffer_output"},
		{(void **)&lib.buffer_error, "nft_ctx_buffer_error"},
		{(void **)&lib.output_set_flags, "nft_ctx_output_set_flags"},
		{(void **)&lib.run_cmd_from_buffer, "nft_run_cmd_from_buffer"},
		{(void **)&lib.get_error_buffer, "nft_ctx_get_error_buffer"},
		{(void **)&lib.get_output_buffer, "nft_ctx_get_output_buffer"},
	};
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!(*syms[i].fn = dlsym(h, syms[i].name))) {
			dlclose(h);
			return werr(err, ELIBACC,
				    "libnftables has no %s: %s", syms[i].name,
				    NFTABLES_SONAME);
		}
	handle = h;
	return 0;
}

/* Runs nft commands; *out (may be NULL) receives what nft printed. */
static int nft_run(const char *cmds, bool json, char **out,
		   struct world_error *err)
{
	int r = load_nftables(err);
	if (r < 0)
		return r;
	struct nft_ctx *nft = lib.ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		return werr(err, ENOMEM, "cannot set up libnftables");
	lib.buffer_output(nft);
	lib.buffer_error(nft);
	if (json)
		lib.output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	if (lib.run_cmd_from_buffer(nft, cmds) != 0) {
		/* nft's first line of complaint says what the kernel lacks. */
		const char *msg = lib.get_error_buffer(nft);
		r = werr(err, strstr(msg, "No such file") ? ENOENT : EIO,
			 "nftables: %.*s", (int)strcspn(msg, "\n"), msg);
	} else if (out && !(*out = strdup(lib.get_output_buffer(nft)))) {
		r = werr(err, ENOMEM, "out of memory");
	}
	lib.ctx_free(nft);
	return r;
}

/* Removes pwapt's table and bridge (when no world runs). */
static int net_remove(struct world_store *s, struct world_error *err)
{
	_cleanup_free_ char *cmd = NULL;
	if (asprintf(&cmd, "table ip %s\ndelete table ip %s\n", s->bridge,
		     s->bridge) < 0)
		return werr(err, ENOMEM, "out of memory");
	int r = nft_run(cmd, false, NULL, err);
	if (r < 0)
		return werr_wrap(err, "cannot remove pwapt's table %s",
				 s->bridge);
	return net_bridge_delete(s, err);
}

/* The DNAT rules of one world, for the prerouting and output chains. */
static void nat_rules(FILE *m, struct world_store *s, struct net_all *a,
		      size_t w, const bool *active)
{
	const char *name = a->names[w];
	const struct net_file *f = &a->files[w];
	char addr[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN], root[INET_ADDRSTRLEN];
	net_addr_text(f->address, addr);
	for (size_t i = 0; i < f->n_fw; i++) {
		const struct world_forward *fw = &f->fw[i];
		/* A forward to a port of Root follows its takeover, but for
		 * the connections of the world that took it over. */
		for (size_t x = 0; store_is_root(name) && x < a->n; x++)
			for (size_t k = 0; active[x] && k < a->files[x].n_to;
			     k++) {
				if (a->files[x].to[k] != fw->port ||
				    store_is_root(a->names[x]))
					continue;
				net_addr_text(a->files[x].address, to);
				fprintf(m,
					"fib daddr type local ip saddr != %s "
					"tcp dport %u dnat to %s:%u comment "
					"\"%s: forward %u to %u, taken over by "
					"%s\"\n",
					to, fw->host_port, to, fw->port, name,
					fw->host_port, fw->port, a->names[x]);
			}
		fprintf(m,
			"fib daddr type local tcp dport %u dnat to %s:%u "
			"comment \"%s: forward %u to %u\"\n",
			fw->host_port, addr, fw->port, name, fw->host_port,
			fw->port);
	}
	uint32_t root_addr = 0;
	struct net_file *rf = net_all_find(a, WORLD_ROOT);
	if (rf)
		root_addr = rf->address;
	net_addr_text(root_addr, root);
	for (size_t i = 0; i < f->n_to; i++) {
		if (store_root_is_host(s))
			fprintf(m, "fib daddr type local ");
		else if (root_addr)
			fprintf(m, "ip daddr %s ", root);
		else
			continue;
		fprintf(m,
			"ip saddr != %s tcp dport %u dnat to %s:%u comment "
			"\"%s: takeover of port %u of Root\"\n",
			addr, f->to[i], addr, f->to[i], name, f->to[i]);
	}
}

int net_apply(struct world_store *s, struct world_error *err)
{
	struct subnet n;
	int r = net_check_config(s, &n, err);
	if (r < 0)
		return r;
	struct net_all a;
	if ((r = net_all_load(s, &a, err)) < 0)
		return r;
	bool *active = calloc(a.n ? a.n : 1, sizeof(*active));
	bool any = false;
	for (size_t i = 0; active && i < a.n; i++)
		any |= active[i] =
			net_active(s, a.names[i], a.files[i].address);
	if (!active) {
		net_all_release(&a);
		return werr(err, ENOMEM, "out of memory");
	}
	if (!any) {
		free(active);
		net_all_release(&a);
		return net_remove(s, err);
	}

	_cleanup_free_ char *nat = NULL, *fwd = NULL, *cmd = NULL;
	size_t nat_len = 0, fwd_len = 0;
	FILE *nm = open_memstream(&nat, &nat_len);
	FILE *fm = open_memstream(&fwd, &fwd_len);
	const char *br = s->bridge;
	char subnet[INET_ADDRSTRLEN + 4];
	net_addr_text(n.base, subnet);
	snprintf(subnet + strlen(subnet), 4, "/%u", n.prefix);
	for (size_t i = 0; nm && fm && i < a.n; i++) {
		const struct net_file *f = &a.files[i];
		if (!active[i] || !f->address)
			continue;
		nat_rules(nm, s, &a, i, active);
		bool on = net_outbound_of(s, a.names[i], f);
		char addr[INET_ADDRSTRLEN];
		net_addr_text(f->address, addr);
		if (on != s->outbound)
			fprintf(fm,
				"iifname \"%s\" oifname != \"%s\" ip saddr %s "
				"%s comment \"%s: outbound %s\"\n",
				br, br, addr,
				on ? "accept" : "ct state new drop", a.names[i],
				on ? "on" : "off");
	}
	if (nm && fm && !s->outbound)
		fprintf(fm,
			"iifname \"%s\" oifname != \"%s\" ct state new drop "
			"comment \"pwapt: no outbound connections from other "
			"worlds\"\n",
			br, br);
	bool ok = nm && fm && fclose(nm) == 0 && fclose(fm) == 0;
	free(active);
	net_all_release(&a);
	if (!ok)
		return werr(err, ENOMEM, "out of memory");

	/* Declaring the table before deleting it makes the deletion safe when
	 * there is none; the whole buffer is one transaction. */
	if (asprintf(
		    &cmd,
		    "table ip %1$s\n"
		    "delete table ip %1$s\n"
		    "table ip %1$s {\n"
		    "comment \"pwapt: worlds on bridge %1$s\"\n"
		    "chain prerouting {\n"
		    "type nat hook prerouting priority dstnat; policy accept;\n"
		    "%2$s}\n"
		    "chain output {\n"
		    "type nat hook output priority -100; policy accept;\n"
		    "%2$s}\n"
		    "chain postrouting {\n"
		    "type nat hook postrouting priority srcnat; policy "
		    "accept;\n"
		    "oifname \"%1$s\" ip saddr 127.0.0.0/8 masquerade comment "
		    "\"pwapt: clients on 127.0.0.1 of forwards\"\n"
		    "oifname \"%1$s\" ip saddr %3$s ct status dnat masquerade "
		    "comment \"pwapt: worlds as clients of forwards\"\n"
		    "oifname != \"%1$s\" ip saddr %3$s masquerade comment "
		    "\"pwapt: outbound connections of worlds\"\n"
		    "}\n"
		    "chain forward {\n"
		    "type filter hook forward priority filter; policy accept;\n"
		    "%4$s}\n"
		    "}\n",
		    br, nat, subnet, fwd) < 0)
		return werr(err, ENOMEM, "out of memory");
	r = nft_run(cmd, false, NULL, err);
	return r < 0 ? werr_wrap(err,
				 "cannot load pwapt's nftables table %s (the "
				 "kernel needs nf_tables with nat, fib and "
				 "masquerade)",
				 br)
		     : 0;
}

int net_stop_all(struct world_store *s, struct world_error *err)
{
	struct subnet n;
	int r = net_check_config(s, &n, err);
	return r < 0 ? r : net_remove(s, err);
}

int net_rules_list(struct world_store *s, bool json, char **out,
		   struct world_error *err)
{
	_cleanup_free_ char *cmd = NULL;
	if (asprintf(&cmd, "list table ip %s", s->bridge) < 0)
		return werr(err, ENOMEM, "out of memory");
	int r = nft_run(cmd, json, out, err);
	return r == -ENOENT ? 0 : r;
}
