/* wip: addresses, port forwards, takeovers and outbound access of worlds
 * (the paper's `wip WPTest forward 80 50080`). */
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "pwapt.h"

static void json_net(const struct world_net *w)
{
	printf("{\"name\":");
	json_string(stdout, w->name);
	printf(",\"bridge\":");
	json_string(stdout, w->bridge);
	printf(",\"address\":\"%s\",\"prefix\":%u,\"interface\":\"%s\","
	       "\"outbound\":%s,\"outbound_set\":%s,\"active\":%s,"
	       "\"forwards\":[",
	       w->address, w->prefix, w->interface,
	       w->outbound ? "true" : "false",
	       w->outbound_set ? "true" : "false",
	       w->active ? "true" : "false");
	for (size_t i = 0; i < w->n_forwards; i++)
		printf("%s{\"host_port\":%u,\"port\":%u}", i ? "," : "",
		       w->forwards[i].host_port, w->forwards[i].port);
	printf("],\"takeovers\":[");
	for (size_t i = 0; i < w->n_takeovers; i++)
		printf("%s%u", i ? "," : "", w->takeovers[i]);
	printf("]}");
}

static const char *state_of(const struct world_net *w)
{
	if (!w->interface[0])
		return "host";
	return w->active ? "running" : "stopped";
}

static void print_net(const struct world_net *w)
{
	const char *bridge = w->bridge;
	printf("world     %s (%s)\n", w->name, state_of(w));
	if (!w->address[0])
		printf("address   none yet (given when it first runs)\n");
	else if (!w->interface[0])
		printf("address   %s/%u, the address of the bridge %s\n",
		       w->address, w->prefix, bridge);
	else
		printf("address   %s/%u on the bridge %s (veth %s)\n",
		       w->address, w->prefix, bridge, w->interface);
	if (w->interface[0])
		printf("outbound  %s%s\n", w->outbound ? "on" : "off",
		       w->outbound_set ? "" : " (default)");
	for (size_t i = 0; i < w->n_forwards; i++)
		printf("forward   host port %u -> port %u\n",
		       w->forwards[i].host_port, w->forwards[i].port);
	for (size_t i = 0; i < w->n_takeovers; i++)
		printf("takeover  port %u of Root\n", w->takeovers[i]);
}

static void print_all(const struct world_net_all *a, bool json)
{
	if (json) {
		printf("{\"bridge\":");
		json_string(stdout, a->bridge);
		printf(",\"address\":\"%s\",\"subnet\":", a->address);
		json_string(stdout, a->subnet);
		printf(",\"worlds\":[");
		for (size_t i = 0; i < a->n; i++) {
			printf(i ? "," : "");
			json_net(&a->worlds[i]);
		}
		printf("],\"interfaces\":[");
		for (char **p = a->interfaces; *p; p++) {
			printf(p == a->interfaces ? "" : ",");
			json_string(stdout, *p);
		}
		/* nft's own JSON: what the kernel holds. */
		size_t n = a->rules ? strlen(a->rules) : 0;
		while (n && a->rules[n - 1] == '\n')
			n--;
		printf("],\"nftables\":%.*s}\n", n ? (int)n : 4,
		       n ? a->rules : "null");
		return;
	}
	printf("%-20s %-15s %-8s %-8s %-20s %s\n", "WORLD", "ADDRESS", "STATE",
	       "OUTBOUND", "FORWARDS", "TAKEOVERS");
	for (size_t i = 0; i < a->n; i++) {
		const struct world_net *w = &a->worlds[i];
		char fw[256] = "-", to[256] = "-";
		size_t k = 0;
		for (size_t j = 0; j < w->n_forwards && k < sizeof(fw); j++)
			k += (size_t)snprintf(fw + k, sizeof(fw) - k,
					      "%s%u->%u", j ? "," : "",
					      w->forwards[j].host_port,
					      w->forwards[j].port);
		k = 0;
		for (size_t j = 0; j < w->n_takeovers && k < sizeof(to); j++)
			k += (size_t)snprintf(to + k, sizeof(to) - k, "%s%u",
					      j ? "," : "", w->takeovers[j]);
		printf("%-20s %-15s %-8s %-8s %-20s %s\n", w->name,
		       w->address[0] ? w->address : "-", state_of(w),
		       w->outbound ? "on" : "off", fw, to);
	}
	printf("\nbridge    %s %s (subnet %s)\ninterfaces", a->bridge,
	       a->address[0] ? a->address : "(not set up)", a->subnet);
	for (char **p = a->interfaces; *p; p++)
		printf(" %s", *p);
	printf("%s\n", a->interfaces[0] ? "" : " none");
	if (a->rules)
		printf("\n%s", a->rules);
	else
		printf("nftables  no table %s\n", a->bridge);
}

static int parse_port(struct context *ctx, const char *text, unsigned *port)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || v < 1 || v > 65535) {
		failf(ctx, "invalid port '%s' (a number from 1 to 65535)",
		      text);
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

/* The change VERB asks for, with its argument count; -1 when unknown. */
static int change_args(const char *verb)
{
	static const struct {
		const char *verb;
		int args;
	} verbs[] = {{"forward", 2},
		     {"unforward", 1},
		     {"takeover", 1},
		     {"release", 1},
		     {"outbound", 1}};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].verb))
			return verbs[i].args;
	return -1;
}

static int change(struct context *ctx, struct world_store *s, char **argv,
		  struct world_error *err)
{
	const char *name = argv[0], *verb = argv[1];
	unsigned a = 0, b = 0;
	if (!strcmp(verb, "outbound")) {
		bool on = !strcmp(argv[2], "on");
		if (!on && strcmp(argv[2], "off")) {
			failf(ctx, "outbound is 'on' or 'off', not '%s'",
			      argv[2]);
			return EXIT_USAGE;
		}
		return world_net_outbound(s, name, on, err) < 0 ? EXIT_FAIL
								: EXIT_OK;
	}
	if (parse_port(ctx, argv[2], &a) < 0 ||
	    (!strcmp(verb, "forward") && parse_port(ctx, argv[3], &b) < 0))
		return EXIT_USAGE;
	int r;
	if (!strcmp(verb, "forward"))
		r = world_net_forward(s, name, a, b, err);
	else if (!strcmp(verb, "unforward"))
		r = world_net_unforward(s, name, a, err);
	else if (!strcmp(verb, "takeover"))
		r = world_net_takeover(s, name, a, err);
	else
		r = world_net_release_port(s, name, a, err);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_ip(struct context *ctx, int argc, char **argv)
{
	bool all = false;
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_FLAG("all", &all, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--json] [--all] NAME [forward PORT HOSTPORT | "
			    "unforward HOSTPORT | takeover PORT | release "
			    "PORT | outbound on|off]",
		.man = "wip",
	};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	if (all ? argc != 0 : argc == 0) {
		failf(ctx, all ? "--all takes no world name"
			       : "name a world, or use --all");
		return EXIT_USAGE;
	}
	if (argc >= 2) {
		int want = change_args(argv[1]);
		if (want < 0) {
			failf(ctx,
			      "unknown action '%s' (forward, unforward, "
			      "takeover, release, outbound)",
			      argv[1]);
			return EXIT_USAGE;
		}
		if (argc != want + 2) {
			failf(ctx, "%s takes %d argument%s", argv[1], want,
			      want == 1 ? "" : "s");
			return EXIT_USAGE;
		}
	}
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int status;
	if (all) {
		struct world_net_all a = {0};
		status = world_net_list(s, ctx->json, &a, &err) < 0 ? EXIT_FAIL
								    : EXIT_OK;
		if (status == EXIT_OK)
			print_all(&a, ctx->json);
		world_net_all_release(&a);
	} else if (argc == 1) {
		struct world_net w = {0};
		status = world_net_show(s, argv[0], &w, &err) < 0 ? EXIT_FAIL
								  : EXIT_OK;
		if (status == EXIT_OK && ctx->json) {
			json_net(&w);
			putchar('\n');
		} else if (status == EXIT_OK) {
			print_net(&w);
		}
		world_net_release(&w);
	} else {
		status = change(ctx, s, argv, &err);
	}
	world_store_free(s);
	if (status == EXIT_FAIL && err.msg[0])
		return fail(ctx, &err);
	return status;
}
