/* Unit tests of networking's pure parts: subnets and network files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../world/net.h"
#include "tap.h"

static void test_subnet(void)
{
	struct subnet n = {0};
	ok(subnet_parse("10.213.0.0/16", &n) == 0 && n.base == 0x0ad50000 &&
		   n.prefix == 16,
	   "the default subnet");
	ok(subnet_parse("172.31.213.0/24", &n) == 0 && n.prefix == 24, "a /24");
	ok(subnet_parse("10.0.0.0/8", &n) == 0, "a /8");
	ok(subnet_parse("10.0.0.0/30", &n) == 0, "a /30");
	ok(subnet_parse("10.0.0.0/7", &n) < 0, "a /7 is too large");
	ok(subnet_parse("10.0.0.0/31", &n) < 0, "a /31 has no room");
	ok(subnet_parse("10.213.0.1/24", &n) < 0, "host bits refused");
	ok(subnet_parse("10.213.0.0", &n) < 0, "no prefix length");
	ok(subnet_parse("10.213.0.0/", &n) < 0, "empty prefix length");
	ok(subnet_parse("10.213.0.0/+8", &n) < 0, "a signed prefix length");
	ok(subnet_parse("10.213.0.0/24x", &n) < 0, "trailing garbage");
	ok(subnet_parse("10.213.0/24", &n) < 0, "three octets");
	ok(subnet_parse("fd00::/64", &n) < 0, "IPv6 refused");
	ok(subnet_parse("255.255.255.255.255/8", &n) < 0, "too long");
}

static void test_file(void)
{
	struct net_file f = NET_FILE_INIT;
	int r = net_file_parse("address 10.213.0.5\noutbound on\n"
			       "forward 50080 80\nforward 8443 443\n"
			       "takeover 80\n",
			       &f);
	ok(r == 0, "a complete file parses");
	ok(f.address == 0x0ad50005, "address");
	ok(f.outbound == 1, "outbound");
	ok(f.n_fw == 2 && f.fw[0].host_port == 50080 && f.fw[0].port == 80 &&
		   f.fw[1].host_port == 8443 && f.fw[1].port == 443,
	   "forwards, in order");
	ok(f.n_to == 1 && f.to[0] == 80, "takeovers");
	net_file_release(&f);

	ok(net_file_parse("", &f) == 0 && !f.address && f.outbound == -1 &&
		   !f.n_fw && !f.n_to,
	   "an empty file: no address, the default outbound");
	net_file_release(&f);

	static const char *const bad[] = {
		"address 10.213.0\n",	    "address\n",
		"outbound maybe\n",	    "forward 80\n",
		"forward 0 80\n",	    "forward 80 65536\n",
		"forward 8x 80\n",	    "takeover -1\n",
		"takeover 80 81\n",	    "frobnicate 1\n",
		"forward 50080 80 extra\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = (struct net_file)NET_FILE_INIT;
		ok(net_file_parse(bad[i], &f) == -EBADMSG, "refused: %.*s",
		   (int)strcspn(bad[i], "\n"), bad[i]);
		net_file_release(&f);
	}
}

int main(void)
{
	test_subnet();
	test_file();
	return tap_done();
}
