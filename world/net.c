/* Networking of worlds (see net.h and world.h).
 *
 * The kernel does the work: liblxc makes each world's veth and moves its
 * end into the world; forwards and takeovers are DNAT rules of one nftables
 * table, written through libnftables.  The table is rebuilt whole from the
 * worlds' network files in a single transaction whenever something changes:
 * conntrack keeps the NAT mapping of every connection already made, so a
 * rebuild never disturbs a connection in flight, and a rule that belongs to
 * nothing cannot survive one. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <nftables/libnftables.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "net.h"

void net_file_release(struct net_file *f)
{
	free(f->fw);
	free(f->to);
	*f = (struct net_file)NET_FILE_INIT;
}

static bool is_root(const char *name)
{
	return !strcmp(name, WORLD_ROOT);
}

static bool root_is_host(const struct world_store *s)
{
	return !strcmp(s->root, "/");
}

/* Root on the host has no network file: it is the host. */
static bool has_net_file(const struct world_store *s, const char *name)
{
	return !is_root(name) || !root_is_host(s);
}

int subnet_parse(const char *text, struct subnet *out)
{
	const char *slash = strchr(text, '/');
	char addr[INET_ADDRSTRLEN];
	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	char *end;
	unsigned long prefix = strtoul(slash + 1, &end, 10);
	if (!isdigit((unsigned char)slash[1]) || *end || prefix < 8 ||
	    prefix > 30)
		return -EINVAL;
	uint32_t base = ntohl(a.s_addr), mask = ~0u << (32 - prefix);
	if (base & ~mask)
		return -EINVAL;
	*out = (struct subnet){base, (unsigned)prefix};
	return 0;
}

static uint32_t subnet_size(const struct subnet *n)
{
	return 1u << (32 - n->prefix);
}

/* The bridge has the first address; worlds get the others but the last. */
static uint32_t subnet_gateway(const struct subnet *n)
{
	return n->base + 1;
}

static bool subnet_has_world(const struct subnet *n, uint32_t a)
{
	return a > n->base + 1 && a < n->base + subnet_size(n) - 1;
}

static void addr_text(uint32_t a, char buf[INET_ADDRSTRLEN])
{
	struct in_addr x = {htonl(a)};
	inet_ntop(AF_INET, &x, buf, INET_ADDRSTRLEN);
}

static int check_config(struct world_store *s, struct subnet *n,
			struct world_error *err)
{
	if (subnet_parse(s->subnet, n) < 0)
		return werr(err, EINVAL,
			    "invalid subnet '%s' (an IPv4 network such as "
			    "10.213.0.0/16, prefix length 8 to 30)",
			    s->subnet);
	/* The bridge's name is also the table's: an nft identifier. */
	size_t len = strlen(s->bridge);
	bool ok = len > 0 && len < IFNAMSIZ &&
		  isalpha((unsigned char)s->bridge[0]);
	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)s->bridge[i]) ||
		     strchr("_.-", s->bridge[i]);
	if (!ok)
		return werr(err, EINVAL,
			    "invalid bridge name '%s' (at most %d letters, "
			    "digits, '_', '.', '-', starting with a letter)",
			    s->bridge, IFNAMSIZ - 1);
	return 0;
}

static void veth_name(uint32_t address, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, "pw%08x", address);
}

static int port_parse(const char *text, unsigned *port)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

int net_file_parse(const char *text, struct net_file *f)
{
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[16], a[32], b[32], more[2];
		int n = sscanf(line, "%15s %31s %31s %1s", key, a, b, more);
		struct in_addr in;
		unsigned p1, p2;
		if (n == 2 && !strcmp(key, "address") &&
		    inet_pton(AF_INET, a, &in) == 1) {
			f->address = ntohl(in.s_addr);
		} else if (n == 2 && !strcmp(key, "outbound") &&
			   (!strcmp(a, "on") || !strcmp(a, "off"))) {
			f->outbound = !strcmp(a, "on");
		} else if (n == 3 && !strcmp(key, "forward") &&
			   port_parse(a, &p1) == 0 && port_parse(b, &p2) == 0) {
			struct world_forward *v =
				realloc(f->fw, (f->n_fw + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			f->fw = v;
			f->fw[f->n_fw++] = (struct world_forward){p1, p2};
		} else if (n == 2 && !strcmp(key, "takeover") &&
			   port_parse(a, &p1) == 0) {
			unsigned *v =
				realloc(f->to, (f->n_to + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			f->to = v;
			f->to[f->n_to++] = p1;
		} else {
			return -EBADMSG;
		}
	}
	return 0;
}

static int net_file_load(struct world_store *s, const char *name,
			 struct net_file *f, struct world_error *err)
{
	*f = (struct net_file)NET_FILE_INIT;
	_cleanup_free_ char *rel = path_join(name, "net"), *text = NULL;
	if (!rel)
		return werr(err, ENOMEM, "out of memory");
	int r = read_file_at(s->worlds_fd, rel, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r >= 0 && (r = net_file_parse(text, f)) < 0)
		net_file_release(f);
	if (r == -EBADMSG)
		return werr(err, EBADMSG, "the network file of '%s' is damaged",
			    name);
	return r < 0 ? werr_errno(err, -r,
				  "cannot read the network file "
				  "of '%s'",
				  name)
		     : 0;
}

static int net_file_save(struct world_store *s, const char *name,
			 const struct net_file *f, struct world_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_fclose_ FILE *m = open_memstream(&text, &len);
	if (!m)
		return werr(err, ENOMEM, "out of memory");
	char a[INET_ADDRSTRLEN];
	if (f->address) {
		addr_text(f->address, a);
		fprintf(m, "address %s\n", a);
	}
	if (f->outbound >= 0)
		fprintf(m, "outbound %s\n", f->outbound ? "on" : "off");
	for (size_t i = 0; i < f->n_fw; i++)
		fprintf(m, "forward %u %u\n", f->fw[i].host_port,
			f->fw[i].port);
	for (size_t i = 0; i < f->n_to; i++)
		fprintf(m, "takeover %u\n", f->to[i]);
	if (fclose(m) != 0) {
		m = NULL;
		return werr(err, ENOMEM, "out of memory");
	}
	m = NULL;
	if (is_root(name))
		(void)mkdirat(s->worlds_fd, WORLD_ROOT, 0700);
	_cleanup_close_ int dfd =
		openat(s->worlds_fd, name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = dfd < 0 ? -errno
			: write_file_atomic(dfd, "net", text, len, 0644);
	return r < 0 ? werr_errno(err, -r,
				  "cannot write the network file of '%s'", name)
		     : 0;
}

/* Every world with a network file, Root (in a container) first. */
static int net_names(struct world_store *s, char ***out)
{
	char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return r;
	size_t n = 0;
	while (names[n])
		n++;
	char **v = realloc(names, (n + 2) * sizeof(*v));
	if (!v) {
		strvfreep(&names);
		return -ENOMEM;
	}
	memmove(v + 1, v, (n + 1) * sizeof(*v));
	v[0] = strdup(WORLD_ROOT);
	if (!v[0]) {
		strvfreep(&v);
		return -ENOMEM;
	}
	if (root_is_host(s)) {
		free(v[0]);
		memmove(v, v + 1, (n + 1) * sizeof(*v));
	}
	*out = v;
	return 0;
}

/* The network files of all worlds, in net_names() order. */
struct net_all {
	char **names;
	struct net_file *files;
	size_t n;
};

static void net_all_release(struct net_all *a)
{
	for (size_t i = 0; i < a->n; i++)
		net_file_release(&a->files[i]);
	free(a->files);
	strvfreep(&a->names);
	*a = (struct net_all){0};
}

static int net_all_load(struct world_store *s, struct net_all *a,
			struct world_error *err)
{
	*a = (struct net_all){0};
	int r = net_names(s, &a->names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	size_t n = 0;
	while (a->names[n])
		n++;
	a->files = calloc(n ? n : 1, sizeof(*a->files));
	if (!a->files) {
		net_all_release(a);
		return werr(err, ENOMEM, "out of memory");
	}
	for (; a->n < n; a->n++)
		if ((r = net_file_load(s, a->names[a->n], &a->files[a->n],
				       err)) < 0) {
			net_all_release(a);
			return r;
		}
	return 0;
}

static struct net_file *net_all_find(struct net_all *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->names[i], name))
			return &a->files[i];
	return NULL;
}

/* The lowest address of the subnet no other world has. */
static int allocate_address(struct world_store *s, const struct subnet *n,
			    const char *name, uint32_t *out,
			    struct world_error *err)
{
	struct net_all a;
	int r = net_all_load(s, &a, err);
	if (r < 0)
		return r;
	uint32_t size = subnet_size(n);
	_cleanup_free_ unsigned char *used = calloc(size / 8 + 1, 1);
	if (!used) {
		net_all_release(&a);
		return werr(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < a.n; i++) {
		uint32_t x = a.files[i].address;
		if (strcmp(a.names[i], name) && subnet_has_world(n, x))
			used[(x - n->base) / 8] |= 1u << ((x - n->base) % 8);
	}
	net_all_release(&a);
	for (uint32_t i = 2; i < size - 1; i++)
		if (!(used[i / 8] & (1u << (i % 8)))) {
			*out = n->base + i;
			return 0;
		}
	return werr(err, ENOSPC, "no free address left in the subnet %s",
		    s->subnet);
}

static int nl_fail(struct world_error *err, int nlerr, const char *what,
		   const char *ifname)
{
	return werr(err, EIO, "cannot %s %s: %s", what, ifname,
		    nl_geterror(nlerr));
}

static void nl_socket_freep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk);
}

static void rtnl_link_putp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}

static int nl_open(struct nl_sock **out, struct world_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return werr(err, ENOMEM, "out of memory");
	int e = nl_connect(sk, NETLINK_ROUTE);
	if (e < 0) {
		nl_socket_free(sk);
		return werr(err, EIO, "cannot open a netlink socket: %s",
			    nl_geterror(e));
	}
	*out = sk;
	return 0;
}

static void link_delete(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *l = rtnl_link_alloc();
	if (l) {
		rtnl_link_set_name(l, ifname);
		(void)rtnl_link_delete(sk, l);
		rtnl_link_put(l);
	}
}

static int sysctl_set(const char *path, const char *value,
		      struct world_error *err)
{
	char cur[16] = "";
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return werr_errno(err, errno, "cannot open %s", path);
	ssize_t n = read(fd, cur, sizeof(cur) - 1);
	if (n > 0 && !strncmp(cur, value, strlen(value)))
		return 0;
	if (pwrite(fd, value, strlen(value), 0) < 0)
		return werr_errno(err, errno, "cannot set %s to %s", path,
				  value);
	return 0;
}

static void nl_addr_putp(struct nl_addr **a)
{
	if (*a)
		nl_addr_put(*a);
}

/* The MAC of an address of the subnet: locally administered, 02:70 and
 * the address, so that neighbours' caches stay right across restarts. */
static void mac_of(uint32_t a, unsigned char mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x70;
	mac[2] = a >> 24;
	mac[3] = (a >> 16) & 0xff;
	mac[4] = (a >> 8) & 0xff;
	mac[5] = a & 0xff;
}

/* The bridge, up, with the subnet's first address; forwarding on (so that
 * forwards work from other hosts and from worlds), and 127.0.0.0/8
 * routable on the bridge (so that 127.0.0.1 forwards reach worlds). */
static int bridge_ensure(struct world_store *s, const struct subnet *n,
			 struct nl_sock *sk, bool *created,
			 struct world_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
	int e = rtnl_link_get_kernel(sk, 0, s->bridge, &link);
	if (e == -NLE_OBJ_NOTFOUND || e == -NLE_NODEV) {
		_cleanup_(rtnl_link_putp) struct rtnl_link *br =
			rtnl_link_bridge_alloc();
		if (!br)
			return werr(err, ENOMEM, "out of memory");
		rtnl_link_set_name(br, s->bridge);
		/* A MAC of its own, made from the gateway's address as a
		 * world's is from its address.  Without one, a bridge takes
		 * the lowest MAC of its ports, which changes as worlds start
		 * and stop, and every world's cached MAC of its gateway is
		 * then wrong for seconds: their traffic beyond the bridge
		 * and their answers to the host stall. */
		unsigned char mac[6];
		mac_of(subnet_gateway(n), mac);
		_cleanup_(nl_addr_putp) struct nl_addr *lladdr =
			nl_addr_build(AF_LLC, mac, sizeof(mac));
		if (!lladdr)
			return werr(err, ENOMEM, "out of memory");
		rtnl_link_set_addr(br, lladdr);
		if ((e = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL)) < 0)
			return nl_fail(err, e, "create the bridge", s->bridge);
		*created = true;
		e = rtnl_link_get_kernel(sk, 0, s->bridge, &link);
	}
	if (e < 0)
		return nl_fail(err, e, "find the bridge", s->bridge);
	const char *type = rtnl_link_get_type(link);
	if (!type || strcmp(type, "bridge"))
		return werr(err, EEXIST,
			    "an interface named %s exists and is not a bridge "
			    "(set 'bridge' in pwapt.conf)",
			    s->bridge);

	uint32_t gw = htonl(subnet_gateway(n));
	struct nl_addr *local = nl_addr_build(AF_INET, &gw, sizeof(gw));
	struct rtnl_addr *addr = rtnl_addr_alloc();
	if (!local || !addr) {
		nl_addr_put(local);
		rtnl_addr_put(addr);
		return werr(err, ENOMEM, "out of memory");
	}
	nl_addr_set_prefixlen(local, (int)n->prefix);
	rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
	rtnl_addr_set_local(addr, local);
	e = rtnl_addr_add(sk, addr, 0);
	nl_addr_put(local);
	rtnl_addr_put(addr);
	if (e < 0 && e != -NLE_EXIST)
		return nl_fail(err, e, "give an address to", s->bridge);

	if (!(rtnl_link_get_flags(link) & IFF_UP)) {
		_cleanup_(rtnl_link_putp) struct rtnl_link *up =
			rtnl_link_alloc();
		if (!up)
			return werr(err, ENOMEM, "out of memory");
		rtnl_link_set_flags(up, IFF_UP);
		if ((e = rtnl_link_change(sk, link, up, 0)) < 0)
			return nl_fail(err, e, "bring up", s->bridge);
	}

	_cleanup_free_ char *localnet = NULL;
	if (asprintf(&localnet, "/proc/sys/net/ipv4/conf/%s/route_localnet",
		     s->bridge) < 0)
		return werr(err, ENOMEM, "out of memory");
	int r = sysctl_set("/proc/sys/net/ipv4/ip_forward", "1", err);
	return r < 0 ? r : sysctl_set(localnet, "1", err);
}

/* Whether a world's rules belong in the kernel: its container runs, which
 * its veth on the host shows without asking liblxc. */
static bool net_active(struct world_store *s, const char *name, uint32_t a)
{
	if (is_root(name) && root_is_host(s))
		return true;
	char veth[IFNAMSIZ];
	veth_name(a, veth);
	return a && if_nametoindex(veth) != 0;
}

static bool outbound_of(struct world_store *s, const char *name,
			const struct net_file *f)
{
	if (f->outbound >= 0)
		return f->outbound;
	/* Root is production: its mail and its pushes are real. */
	return is_root(name) || s->outbound;
}

static bool file_has_rules(struct world_store *s, const char *name,
			   const struct net_file *f)
{
	return f->n_fw || f->n_to || is_root(name) ||
	       (f->outbound >= 0 && f->outbound != s->outbound);
}

bool net_has_rules(struct world_store *s, const char *name)
{
	struct net_file f;
	if (!has_net_file(s, name) || net_file_load(s, name, &f, NULL) < 0)
		return false;
	bool r = file_has_rules(s, name, &f);
	net_file_release(&f);
	return r;
}

int net_container_prepare(struct world_store *s, const char *name,
			  struct net_world *out, struct world_error *err)
{
	struct subnet n;
	int r = check_config(s, &n, err);
	if (r < 0)
		return r;
	struct net_file f;
	if ((r = net_file_load(s, name, &f, err)) < 0)
		return r;
	if (!subnet_has_world(&n, f.address)) {
		if ((r = allocate_address(s, &n, name, &f.address, err)) < 0 ||
		    (r = net_file_save(s, name, &f, err)) < 0) {
			net_file_release(&f);
			return r;
		}
	}
	struct net_world w = {.address = f.address,
			      .gateway = subnet_gateway(&n),
			      .prefix = n.prefix,
			      .apply = file_has_rules(s, name, &f)};
	net_file_release(&f);
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	if ((r = nl_open(&sk, err)) < 0 ||
	    (r = bridge_ensure(s, &n, sk, &w.apply, err)) < 0)
		return r;
	/* A veth of the world's last container outlives it briefly, while
	 * the kernel tears its namespace down. */
	char veth[IFNAMSIZ];
	veth_name(w.address, veth);
	if (if_nametoindex(veth))
		link_delete(sk, veth);
	*out = w;
	return 0;
}

/* Inside the world's network namespace: eth0's address and the default
 * route through the bridge. */
static int configure_eth0(const struct net_world *w, struct world_error *err)
{
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	_cleanup_(rtnl_link_putp) struct rtnl_link *eth0 = NULL, *up = NULL;
	int r = nl_open(&sk, err);
	if (r < 0)
		return r;
	if ((r = rtnl_link_get_kernel(sk, 0, "eth0", &eth0)) < 0)
		return nl_fail(err, r, "find", "eth0");
	int idx = rtnl_link_get_ifindex(eth0);
	if (!(up = rtnl_link_alloc()))
		return werr(err, ENOMEM, "out of memory");
	rtnl_link_set_flags(up, IFF_UP);
	if ((r = rtnl_link_change(sk, eth0, up, 0)) < 0)
		return nl_fail(err, r, "bring up", "eth0");
	uint32_t be = htonl(w->address), gw = htonl(w->gateway), any = 0;
	_cleanup_(nl_addr_putp) struct nl_addr *local =
		nl_addr_build(AF_INET, &be, sizeof(be));
	_cleanup_(nl_addr_putp) struct nl_addr *via =
		nl_addr_build(AF_INET, &gw, sizeof(gw));
	_cleanup_(nl_addr_putp) struct nl_addr *dst =
		nl_addr_build(AF_INET, &any, sizeof(any));
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	if (!local || !via || !dst || !addr || !route || !nh) {
		r = werr(err, ENOMEM, "out of memory");
		goto out;
	}
	nl_addr_set_prefixlen(local, (int)w->prefix);
	rtnl_addr_set_ifindex(addr, idx);
	rtnl_addr_set_local(addr, local);
	if ((r = rtnl_addr_add(sk, addr, 0)) < 0) {
		r = nl_fail(err, r, "give an address to", "eth0");
		goto out;
	}
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_dst(route, dst);
	rtnl_route_nh_set_ifindex(nh, idx);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_add_nexthop(route, steal_pointer(&nh));
	if ((r = rtnl_route_add(sk, route, NLM_F_CREATE)) < 0)
		r = nl_fail(err, r, "add the default route of", "eth0");
out:
	rtnl_addr_put(addr);
	rtnl_route_put(route);
	if (nh)
		rtnl_route_nh_free(nh);
	return r;
}

/* Runs FN in the network namespace of process PID, then comes back. */
static int in_netns(pid_t pid, const struct net_world *w,
		    int (*fn)(const struct net_world *, struct world_error *),
		    struct world_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int self =
		open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0)
		return werr_errno(err, errno, "cannot open %s", path);
	if (setns(target, CLONE_NEWNET) < 0)
		return werr_errno(err, errno, "cannot enter %s", path);
	int r = fn(w, err);
	/* Going back to our own namespace cannot fail; if it did, every
	 * later step would act on the world's network. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
	return r;
}

int net_container_started(struct world_store *s, const char *name, pid_t pid,
			  const struct net_world *w, struct world_error *err)
{
	/* pwapt makes the veth, not liblxc: liblxc looks for the bridge in
	 * sysfs, which shows the network namespace it was mounted in, and
	 * deletes the veth when the container stops, which makes the stop
	 * wait for the kernel; the namespace's end removes it anyway.  One
	 * request makes both ends, the world's already in its namespace, as
	 * eth0, with a MAC of its address (so that neighbours' caches
	 * stay right when the world is started again). */
	char veth[IFNAMSIZ];
	veth_name(w->address, veth);
	unsigned char mac[6];
	mac_of(w->address, mac);
	int br = (int)if_nametoindex(s->bridge);
	if (!br)
		return werr(err, ENODEV, "the bridge %s vanished", s->bridge);
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	_cleanup_(rtnl_link_putp) struct rtnl_link *link =
		rtnl_link_veth_alloc();
	_cleanup_(nl_addr_putp) struct nl_addr *lladdr =
		nl_addr_build(AF_LLC, mac, sizeof(mac));
	int r = nl_open(&sk, err);
	if (r < 0)
		return r;
	if (!link || !lladdr)
		return werr(err, ENOMEM, "out of memory");
	struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, veth);
	rtnl_link_set_master(link, br);
	rtnl_link_set_flags(link, IFF_UP);
	rtnl_link_set_name(peer, "eth0");
	rtnl_link_set_ns_pid(peer, pid);
	rtnl_link_set_addr(peer, lladdr);
	rtnl_link_put(peer);
	if ((r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL)) < 0)
		return nl_fail(err, r, "create the veth", veth);
	if ((r = in_netns(pid, w, configure_eth0, err)) < 0)
		return werr_wrap(err, "cannot set up the network of '%s'",
				 name);
	return w->apply ? net_apply(s, err) : 0;
}

/* Runs nft commands; *out (may be NULL) receives what nft printed. */
static int nft_run(const char *cmds, bool json, char **out,
		   struct world_error *err)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		return werr(err, ENOMEM, "cannot set up libnftables");
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (json)
		nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	int r = 0;
	if (nft_run_cmd_from_buffer(nft, cmds) != 0) {
		/* nft's first line of complaint says what the kernel lacks. */
		const char *msg = nft_ctx_get_error_buffer(nft);
		r = werr(err, strstr(msg, "No such file") ? ENOENT : EIO,
			 "nftables: %.*s", (int)strcspn(msg, "\n"), msg);
	} else if (out && !(*out = strdup(nft_ctx_get_output_buffer(nft)))) {
		r = werr(err, ENOMEM, "out of memory");
	}
	nft_ctx_free(nft);
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
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	if (if_nametoindex(s->bridge) && (r = nl_open(&sk, err)) >= 0)
		link_delete(sk, s->bridge);
	return r;
}

/* The DNAT rules of one world, for the prerouting and output chains. */
static void nat_rules(FILE *m, struct world_store *s, struct net_all *a,
		      size_t w, const bool *active)
{
	const char *name = a->names[w];
	const struct net_file *f = &a->files[w];
	char addr[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN], root[INET_ADDRSTRLEN];
	addr_text(f->address, addr);
	for (size_t i = 0; i < f->n_fw; i++) {
		const struct world_forward *fw = &f->fw[i];
		/* A forward to a port of Root follows its takeover, but for
		 * the connections of the world that took it over. */
		for (size_t x = 0; is_root(name) && x < a->n; x++)
			for (size_t k = 0; active[x] && k < a->files[x].n_to;
			     k++) {
				if (a->files[x].to[k] != fw->port ||
				    is_root(a->names[x]))
					continue;
				addr_text(a->files[x].address, to);
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
	addr_text(root_addr, root);
	for (size_t i = 0; i < f->n_to; i++) {
		if (root_is_host(s))
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
	int r = check_config(s, &n, err);
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
	addr_text(n.base, subnet);
	snprintf(subnet + strlen(subnet), 4, "/%u", n.prefix);
	for (size_t i = 0; nm && fm && i < a.n; i++) {
		const struct net_file *f = &a.files[i];
		if (!active[i] || !f->address)
			continue;
		nat_rules(nm, s, &a, i, active);
		bool on = outbound_of(s, a.names[i], f);
		char addr[INET_ADDRSTRLEN];
		addr_text(f->address, addr);
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
	int r = check_config(s, &n, err);
	return r < 0 ? r : net_remove(s, err);
}

/* ---- The operations of world.h ---- */

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
	if (has_net_file(s, name)) {
		if (f->address) {
			addr_text(f->address, w.address);
			veth_name(f->address, w.interface);
		}
		w.outbound = outbound_of(s, name, f);
		w.outbound_set = f->outbound >= 0;
		w.active = net_active(s, name, f->address);
	} else {
		addr_text(subnet_gateway(n), w.address);
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
	int r = check_world(s, name, err);
	if (r < 0 || (r = check_config(s, &n, err)) < 0)
		return r;
	struct net_file f = NET_FILE_INIT;
	if (has_net_file(s, name) && (r = net_file_load(s, name, &f, err)) < 0)
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

/* The bridge and its ports, as the kernel has them. */
static int bridge_interfaces(struct world_store *s, char ***out,
			     struct world_error *err)
{
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return werr(err, ENOMEM, "out of memory");
	int br = (int)if_nametoindex(s->bridge);
	if (!br) {
		*out = v;
		return 0;
	}
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	int r = nl_open(&sk, err);
	if (r >= 0 && (r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) < 0)
		r = werr(err, EIO, "cannot list interfaces: %s",
			 nl_geterror(r));
	for (struct nl_object *o = cache ? nl_cache_get_first(cache) : NULL;
	     o && r >= 0; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		if (rtnl_link_get_ifindex(l) != br &&
		    rtnl_link_get_master(l) != br)
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(*nv));
		if (!nv || !(nv[n] = strdup(rtnl_link_get_name(l)))) {
			v = nv ? nv : v;
			r = werr(err, ENOMEM, "out of memory");
			break;
		}
		v = nv;
		v[++n] = NULL;
	}
	if (cache)
		nl_cache_free(cache);
	if (r < 0) {
		strvfreep(&v);
		return r;
	}
	*out = v;
	return 0;
}

int world_net_list(struct world_store *s, bool json, struct world_net_all *out,
		   struct world_error *err)
{
	struct subnet n;
	int r = check_config(s, &n, err);
	if (r < 0)
		return r;
	struct net_all a;
	if ((r = net_all_load(s, &a, err)) < 0)
		return r;
	struct world_net_all all = {0};
	snprintf(all.bridge, sizeof(all.bridge), "%s", s->bridge);
	snprintf(all.subnet, sizeof(all.subnet), "%s", s->subnet);
	if (if_nametoindex(s->bridge))
		addr_text(subnet_gateway(&n), all.address);
	all.worlds = calloc(a.n + 1, sizeof(*all.worlds));
	if (!all.worlds)
		r = werr(err, ENOMEM, "out of memory");
	struct net_file none = NET_FILE_INIT;
	if (r >= 0 && root_is_host(s))
		r = fill_net(s, &n, WORLD_ROOT, &none, &all.worlds[all.n++],
			     err);
	for (size_t i = 0; r >= 0 && i < a.n; i++)
		r = fill_net(s, &n, a.names[i], &a.files[i],
			     &all.worlds[all.n++], err);
	net_all_release(&a);
	if (r >= 0)
		r = bridge_interfaces(s, &all.interfaces, err);
	if (r >= 0) {
		_cleanup_free_ char *cmd = NULL;
		if (asprintf(&cmd, "list table ip %s", s->bridge) < 0)
			r = werr(err, ENOMEM, "out of memory");
		else if ((r = nft_run(cmd, json, &all.rules, err)) == -ENOENT)
			r = 0;
	}
	if (r < 0) {
		world_net_all_release(&all);
		return r;
	}
	*out = all;
	return 0;
}

/* Who holds TCP PORT in this network namespace, for a message: "PROG (pid
 * N) listens on it", or less when no process shows it (a socket that does
 * not listen, or one of a process in another PID namespace). */
static void port_holder(unsigned port, char *who, size_t size)
{
	snprintf(who, size, "a socket of the host has it");
	unsigned long inodes[16];
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
			    st == 0x0A && inode &&
			    sscanf(strrchr(local, ':') + 1, "%x", &p) == 1 &&
			    p == port)
				inodes[n++] = inode;
		}
	}
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	struct dirent *de;
	while (n && proc && (de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], link[64];
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		_cleanup_closedir_ DIR *fds = opendir(path);
		struct dirent *fe;
		while (fds && (fe = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 de->d_name, fe->d_name);
			ssize_t l = readlink(path, link, sizeof(link) - 1);
			unsigned long inode;
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (sscanf(link, "socket:[%lu]", &inode) != 1)
				continue;
			for (size_t i = 0; i < n; i++)
				if (inodes[i] == inode) {
					char comm[64] = "?";
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
}

/* Whether a socket of the host holds TCP PORT: binding the wildcard
 * address fails then (SO_REUSEADDR: connections in TIME_WAIT do not). */
static bool port_in_use(unsigned port)
{
	int one = 1, zero = 0;
	_cleanup_close_ int fd =
		socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		return bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0 &&
		       errno == EADDRINUSE;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0 &&
	       errno == EADDRINUSE;
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

static int copy_file(const struct net_file *f, struct net_file *out,
		     struct world_error *err)
{
	*out = *f;
	out->fw = malloc((f->n_fw + 1) * sizeof(*f->fw));
	out->to = malloc((f->n_to + 1) * sizeof(*f->to));
	if (!out->fw || !out->to) {
		net_file_release(out);
		return werr(err, ENOMEM, "out of memory");
	}
	if (f->n_fw)
		memcpy(out->fw, f->fw, f->n_fw * sizeof(*f->fw));
	if (f->n_to)
		memcpy(out->to, f->to, f->n_to * sizeof(*f->to));
	return 0;
}

/* Starts world NAME if needed (which gives it an address). */
static int start(struct world_store *s, const char *name,
		 struct world_error *err)
{
	return world_ensure_running(s, name, NULL, err);
}

/* Makes change C to NAME's network file, saves it and reloads the table;
 * when the kernel refuses the table, puts the old file back, so that a
 * refused change loses nothing. */
static int update(struct world_store *s, const char *name,
		  const struct net_change *c, struct world_error *err)
{
	struct subnet n;
	int r = check_world(s, name, err);
	if (r < 0 || (r = check_config(s, &n, err)) < 0)
		return r;
	if (!has_net_file(s, name))
		return werr(err, EINVAL,
			    "Root is the host: %s applies to child worlds "
			    "(and to Root when it runs in a container)",
			    c->what);
	/* Root in a container has its address once it runs. */
	if (c->start_root && !root_is_host(s) &&
	    (r = start(s, WORLD_ROOT, err)) < 0)
		return r;
	if (c->start && (r = start(s, name, err)) < 0)
		return r;
	struct net_all a;
	if ((r = net_all_load(s, &a, err)) < 0)
		return r;
	struct net_file *f = net_all_find(&a, name), before;
	if ((r = copy_file(f, &before, err)) >= 0 &&
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
		for (size_t k = 0; root_is_host(s) && k < o->n_to; k++)
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
		for (size_t k = 0; root_is_host(s) && k < o->n_fw; k++)
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
	if (r >= 0 && is_root(name))
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
