/* The networking operations of world.h: wip's addresses, forwards,
 * takeovers and outbound setting. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "lifecycle.h"
#include "fsutil.h"
#include "net.h"
#include "procs.h"

/* Sockets a process is seen to hold, at most, when port_holder() looks
 * for the one that listens on a port. */
#define PORT_HOLDER_SOCKETS 4096

static int check_port(unsigned port, const char *what, struct world_error *err)
{
	if (port < 1 || port > 65535)
		return werr(err, EINVAL, "invalid %s %u (1 to 65535)", what,
			    port);
	return 0;
}

void world_net_release(struct world_net *w)
{
	free(w->name);
	free(w->forwards);
	free(w->takeovers);
	*w = (struct world_net){0};
}

static int fill_net(struct world_store *s, const struct subnet *n,
		    const char *name, const struct net_file *f,
		    struct world_net *out, struct world_error *err)
{
	struct world_net w = {.prefix = n->prefix};
	if (!(w.name = strdup(name)))
		return werr(err, ENOMEM, "out of memory");
	snprintf(w.bridge, sizeof(w.bridge), "%s", s->bridge);
	if (net_has_file(s, name)) {
		if (f->address) {
			net_addr_text(f->address, w.address);
			net_veth_name(f->address, w.interface);
		}
		w.outbound = net_outbound_of(s, name, f);
		w.outbound_set = f->outbound >= 0;
		w.active = net_active(s, name, f->address);
	} else {
		net_addr_text(subnet_gateway(n), w.address);
		w.outbound = w.active = true;
	}
	w.forwards = calloc(f->n_fw + 1, sizeof(*w.forwards));
	w.takeovers = calloc(f->n_to + 1, sizeof(*w.takeovers));
	if (!w.forwards || !w.takeovers) {
		world_net_release(&w);
		return werr(err, ENOMEM, "out of memory");
	}
	/* (memcpy from NULL is undefined even for 0 bytes) */
	if (f->n_fw)
		memcpy(w.forwards, f->fw, f->n_fw * sizeof(*f->fw));
	if (f->n_to)
		memcpy(w.takeovers, f->to, f->n_to * sizeof(*f->to));
	w.n_forwards = f->n_fw;
	w.n_takeovers = f->n_to;
	*out = w;
	return 0;
}

int world_net_show(struct world_store *s, const char *name,
		   struct world_net *out, struct world_error *err)
{
	struct subnet n;
	int r = store_check_world(s, name, err);
	if (r < 0 || (r = net_check_config(s, &n, err)) < 0)
		return r;
	struct net_file f = NET_FILE_INIT;
	if (net_has_file(s, name) && (r = net_file_load(s, name, &f, err)) < 0)
		return r;
	r = fill_net(s, &n, name, &f, out, err);
	net_file_release(&f);
	return r;
}

void world_net_all_release(struct world_net_all *all)
{
	for (size_t i = 0; i < all->n; i++)
		world_net_release(&all->worlds[i]);
	free(all->worlds);
	strvfreep(&all->interfaces);
	free(all->rules);
	*all = (struct world_net_all){0};
}

int world_net_list(struct world_store *s, bool json, struct world_net_all *out,
		   struct world_error *err)
{
	struct subnet n;
	int r = net_check_config(s, &n, err);
	if (r < 0)
		return r;
	struct net_all a;
	if ((r = net_all_load(s, &a, err)) < 0)
		return r;
	struct world_net_all all = {0};
	snprintf(all.bridge, sizeof(all.bridge), "%s", s->bridge);
	snprintf(all.subnet, sizeof(all.subnet), "%s", s->subnet);
	if (if_nametoindex(s->bridge))
		net_addr_text(subnet_gateway(&n), all.address);
	all.worlds = calloc(a.n + 1, sizeof(*all.worlds));
	if (!all.worlds)
		r = werr(err, ENOMEM, "out of memory");
	struct net_file none = NET_FILE_INIT;
	if (r >= 0 && store_root_is_host(s))
		r = fill_net(s, &n, WORLD_ROOT, &none, &all.worlds[all.n++],
			     err);
	for (size_t i = 0; r >= 0 && i < a.n; i++)
		r = fill_net(s, &n, a.names[i], &a.files[i],
			     &all.worlds[all.n++], err);
	net_all_release(&a);
	if (r >= 0)
		r = net_bridge_ports(s, &all.interfaces, err);
	if (r >= 0)
		r = net_rules_list(s, json, &all.rules, err);
	if (r < 0) {
		world_net_all_release(&all);
		return r;
	}
	*out = all;
	return 0;
}

/* The sockets of this network namespace that listen on TCP PORT: their
 * inodes into INODES (at most 16), how many (and 1 for a listener whose
 * inode is not shown). */
static size_t port_listeners(unsigned port, unsigned long inodes[16])
{
	size_t n = 0;
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	for (size_t t = 0; t < 2; t++) {
		_cleanup_fclose_ FILE *f = fopen(tables[t], "re");
		char line[512];
		while (f && fgets(line, sizeof(line), f) && n < 16) {
			char local[64];
			unsigned st, p;
			unsigned long inode;
			if (sscanf(line,
				   " %*u: %63s %*s %x %*s %*s %*s %*s %*s "
				   "%lu",
				   local, &st, &inode) == 3 &&
			    st == 0x0A &&
			    sscanf(strrchr(local, ':') + 1, "%x", &p) == 1 &&
			    p == port)
				inodes[n++] = inode;
		}
	}
	return n;
}

/* Who holds TCP PORT in this network namespace, for a message: "PROG (pid
 * N) listens on it", or less when no process shows it (a socket that does
 * not listen, or one of a process in another PID namespace). */
static void port_holder(unsigned port, char *who, size_t size)
{
	snprintf(who, size, "a socket of the host has it");
	unsigned long inodes[16];
	size_t n = port_listeners(port, inodes);
	_cleanup_free_ unsigned long *held =
		n ? malloc(PORT_HOLDER_SOCKETS * sizeof(*held)) : NULL;
	_cleanup_closedir_ DIR *proc = held ? opendir("/proc") : NULL;
	struct dirent *de;
	while (proc && (de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		size_t m = procs_sockets((pid_t)atoi(de->d_name), held,
					 PORT_HOLDER_SOCKETS);
		for (size_t k = 0; k < m; k++)
			for (size_t i = 0; i < n; i++)
				if (inodes[i] == held[k]) {
					char path[300], comm[64] = "?";
					snprintf(path, sizeof(path),
						 "/proc/%s/comm", de->d_name);
					_cleanup_fclose_ FILE *c =
						fopen(path, "re");
					if (c && fgets(comm, sizeof(comm), c))
						comm[strcspn(comm, "\n")] = 0;
					snprintf(who, size,
						 "%s (pid %s) listens on it",
						 comm, de->d_name);
					return;
				}
	}
}

/* Whether a socket of the host listens on TCP PORT: binding the wildcard
 * address fails then (SO_REUSEADDR: connections in TIME_WAIT do not), and
 * a listener shows in /proc/net/tcp. */
static bool port_in_use(unsigned port)
{
	int one = 1, zero = 0;
	_cleanup_close_ int fd =
		socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	bool taken;
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		taken = bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0 &&
			errno == EADDRINUSE;
	} else {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		taken = bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0 &&
			errno == EADDRINUSE;
	}
	/* A listener only: a connection of the host's that the kernel gave
	 * PORT as its own (ephemeral) end keeps its conntrack entry, the
	 * forward never takes its replies; a bind fails on it all the same. */
	unsigned long inodes[16];
	return taken && port_listeners(port, inodes) > 0;
}

/* One change of a world's network file, for update(): PORT and HOST_PORT
 * or ON as the operation takes them. */
struct net_change {
	const char *what; /* "a forward", ... for the error about Root */
	bool start;	  /* bring the world up first */
	bool start_root;  /* and Root's container, for its address */
	/* Checks the change against every world's file (A) and makes it in
	 * F, NAME's; fills ERR and returns < 0 to refuse. */
	int (*make)(struct world_store *s, const char *name,
		    const struct net_change *c, struct net_all *a,
		    struct net_file *f, struct world_error *err);
	unsigned port, host_port;
	bool on;
};

/* Starts world NAME if needed (which gives it an address). */
static int start(struct world_store *s, const char *name,
		 struct world_error *err)
{
	return lifecycle_ensure_running(s, name, NULL, err);
}

/* Makes change C to NAME's network file, saves it and reloads the table;
 * when the kernel refuses the table, puts the old file back, so that a
 * refused change loses nothing. */
static int update(struct world_store *s, const char *name,
		  const struct net_change *c, struct world_error *err)
{
	struct subnet n;
	int r = store_check_world(s, name, err);
	if (r < 0 || (r = net_check_config(s, &n, err)) < 0)
		return r;
	if (!net_has_file(s, name))
		return werr(err, EINVAL,
			    "Root is the host: %s applies to child worlds "
			    "(and to Root when it runs in a container)",
			    c->what);
	/* Root in a container has its address once it runs. */
	if (c->start_root && !store_root_is_host(s) &&
	    (r = start(s, WORLD_ROOT, err)) < 0)
		return r;
	if (c->start && (r = start(s, name, err)) < 0)
		return r;
	struct net_all a;
	if ((r = net_all_load(s, &a, err)) < 0)
		return r;
	struct net_file *f = net_all_find(&a, name), before;
	if ((r = net_file_copy(f, &before, err)) >= 0 &&
	    (r = c->make(s, name, c, &a, f, err)) >= 0 &&
	    (r = net_file_save(s, name, f, err)) >= 0 &&
	    (r = net_apply(s, err)) < 0) {
		struct world_error ignored;
		(void)net_file_save(s, name, &before, &ignored);
		(void)net_apply(s, &ignored);
	}
	net_file_release(&before);
	net_all_release(&a);
	return r < 0 ? r : 0;
}

static int make_forward(struct world_store *s, const char *name,
			const struct net_change *c, struct net_all *a,
			struct net_file *f, struct world_error *err)
{
	unsigned hp = c->host_port;
	for (size_t i = 0; i < a->n; i++) {
		const struct net_file *o = &a->files[i];
		for (size_t k = 0; k < o->n_fw; k++)
			if (o->fw[k].host_port == hp && o == f)
				return werr(
					err, EEXIST,
					"'%s' forwards host port %u already "
					"(to its port %u)",
					name, hp, o->fw[k].port);
			else if (o->fw[k].host_port == hp)
				return werr(err, EADDRINUSE,
					    "host port %u is forwarded to port "
					    "%u of '%s' already",
					    hp, o->fw[k].port, a->names[i]);
		for (size_t k = 0; store_root_is_host(s) && k < o->n_to; k++)
			if (o->to[k] == hp)
				return werr(err, EADDRINUSE,
					    "port %u of the host is taken over "
					    "by '%s'",
					    hp, a->names[i]);
	}
	if (port_in_use(hp)) {
		char who[128];
		port_holder(hp, who, sizeof(who));
		return werr(err, EADDRINUSE, "host port %u is in use: %s", hp,
			    who);
	}
	struct world_forward *v = realloc(f->fw, (f->n_fw + 1) * sizeof(*v));
	if (!v)
		return werr(err, ENOMEM, "out of memory");
	f->fw = v;
	f->fw[f->n_fw++] = (struct world_forward){hp, c->port};
	return 0;
}

static int make_unforward(struct world_store *s, const char *name,
			  const struct net_change *c, struct net_all *a,
			  struct net_file *f, struct world_error *err)
{
	for (size_t i = 0; i < f->n_fw; i++)
		if (f->fw[i].host_port == c->host_port) {
			f->fw[i] = f->fw[--f->n_fw];
			return 0;
		}
	return werr(err, ENOENT, "'%s' has no forward of host port %u", name,
		    c->host_port);
}

static int make_takeover(struct world_store *s, const char *name,
			 const struct net_change *c, struct net_all *a,
			 struct net_file *f, struct world_error *err)
{
	unsigned port = c->port;
	for (size_t i = 0; i < a->n; i++) {
		const struct net_file *o = &a->files[i];
		for (size_t k = 0; k < o->n_to; k++)
			if (o->to[k] == port && o == f)
				return werr(err, EEXIST,
					    "'%s' has taken over port %u "
					    "already",
					    name, port);
			else if (o->to[k] == port)
				return werr(err, EBUSY,
					    "port %u of Root is taken over by "
					    "'%s' already (wip %s release %u)",
					    port, a->names[i], a->names[i],
					    port);
		for (size_t k = 0; store_root_is_host(s) && k < o->n_fw; k++)
			if (o->fw[k].host_port == port)
				return werr(err, EADDRINUSE,
					    "port %u of the host is forwarded "
					    "to port %u of '%s', not Root's",
					    port, o->fw[k].port, a->names[i]);
	}
	unsigned *v = realloc(f->to, (f->n_to + 1) * sizeof(*v));
	if (!v)
		return werr(err, ENOMEM, "out of memory");
	f->to = v;
	f->to[f->n_to++] = port;
	return 0;
}

static int make_release(struct world_store *s, const char *name,
			const struct net_change *c, struct net_all *a,
			struct net_file *f, struct world_error *err)
{
	for (size_t i = 0; i < f->n_to; i++)
		if (f->to[i] == c->port) {
			f->to[i] = f->to[--f->n_to];
			return 0;
		}
	return werr(err, ENOENT, "'%s' has not taken over port %u", name,
		    c->port);
}

static int make_outbound(struct world_store *s, const char *name,
			 const struct net_change *c, struct net_all *a,
			 struct net_file *f, struct world_error *err)
{
	f->outbound = c->on;
	return 0;
}

int world_net_forward(struct world_store *s, const char *name, unsigned port,
		      unsigned host_port, struct world_error *err)
{
	struct net_change c = {.what = "a forward",
			       .start = true,
			       .make = make_forward,
			       .port = port,
			       .host_port = host_port};
	int r = check_port(port, "port", err);
	if (r >= 0)
		r = check_port(host_port, "host port", err);
	return r < 0 ? r : update(s, name, &c, err);
}

int world_net_unforward(struct world_store *s, const char *name,
			unsigned host_port, struct world_error *err)
{
	struct net_change c = {.what = "a forward",
			       .make = make_unforward,
			       .host_port = host_port};
	int r = check_port(host_port, "host port", err);
	return r < 0 ? r : update(s, name, &c, err);
}

int world_net_takeover(struct world_store *s, const char *name, unsigned port,
		       struct world_error *err)
{
	struct net_change c = {.what = "a takeover",
			       .start = true,
			       .start_root = true,
			       .make = make_takeover,
			       .port = port};
	int r = check_port(port, "port", err);
	if (r >= 0 && store_is_root(name))
		r = werr(err, EINVAL,
			 "Root cannot take over its own port; name the world "
			 "that is to serve it");
	return r < 0 ? r : update(s, name, &c, err);
}

int world_net_release_port(struct world_store *s, const char *name,
			   unsigned port, struct world_error *err)
{
	struct net_change c = {
		.what = "a takeover", .make = make_release, .port = port};
	int r = check_port(port, "port", err);
	return r < 0 ? r : update(s, name, &c, err);
}

int world_net_outbound(struct world_store *s, const char *name, bool on,
		       struct world_error *err)
{
	struct net_change c = {
		.what = "outbound", .make = make_outbound, .on = on};
	return update(s, name, &c, err);
}
