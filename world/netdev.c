/* Network devices of worlds: pwapt's bridge, each world's veth and its
 * eth0, through libnl (see net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "net.h"
#include "strv.h"

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
bool net_active(struct world_store *s, const char *name, uint32_t a)
{
	if (store_is_root(name) && store_root_is_host(s))
		return true;
	char veth[IFNAMSIZ];
	net_veth_name(a, veth);
	return a && if_nametoindex(veth) != 0;
}

int net_container_prepare(struct world_store *s, const char *name,
			  struct net_world *out, struct world_error *err)
{
	struct subnet n;
	int r = net_check_config(s, &n, err);
	if (r < 0)
		return r;
	struct net_file f;
	if ((r = net_file_load(s, name, &f, err)) < 0)
		return r;
	if (!subnet_has_world(&n, f.address)) {
		if ((r = net_allocate_address(s, &n, name, &f.address, err)) < 0 ||
		    (r = net_file_save(s, name, &f, err)) < 0) {
			net_file_release(&f);
			return r;
		}
	}
	struct net_world w = {.address = f.address,
			      .gateway = subnet_gateway(&n),
			      .prefix = n.prefix,
			      .apply = net_file_has_rules(s, name, &f)};
	net_file_release(&f);
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	if ((r = nl_open(&sk, err)) < 0 ||
	    (r = bridge_ensure(s, &n, sk, &w.apply, err)) < 0)
		return r;
	/* A veth of the world's last container outlives it briefly, while
	 * the kernel tears its namespace down. */
	char veth[IFNAMSIZ];
	net_veth_name(w.address, veth);
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
	net_veth_name(w->address, veth);
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
	return 0;
}

/* The bridge and its ports, as the kernel has them. */
int net_bridge_ports(struct world_store *s, char ***out,
			     struct world_error *err)
{
	struct strv v = {calloc(1, sizeof(*v.v)), 0};
	if (!v.v)
		return werr(err, ENOMEM, "out of memory");
	int br = (int)if_nametoindex(s->bridge);
	if (!br) {
		*out = v.v;
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
		if (strv_push(&v, strdup(rtnl_link_get_name(l))) < 0) {
			r = werr(err, ENOMEM, "out of memory");
			break;
		}
	}
	if (cache)
		nl_cache_free(cache);
	if (r < 0) {
		strvfreep(&v.v);
		return r;
	}
	*out = v.v;
	return 0;
}

int net_bridge_delete(struct world_store *s, struct world_error *err)
{
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	_cleanup_strv_free_ char **ports = NULL;
	int r = 0;
	if (!if_nametoindex(s->bridge) || (r = nl_open(&sk, err)) < 0)
		return r;
	/* The worlds' veths first: the kernel deletes one only once its
	 * world's network namespace is gone, which it does in the
	 * background after the container stopped.  (A port gone meanwhile
	 * is no error.) */
	if (net_bridge_ports(s, &ports, NULL) >= 0)
		for (char **p = ports; *p; p++)
			if (strcmp(*p, s->bridge))
				link_delete(sk, *p);
	link_delete(sk, s->bridge);
	return 0;
}
