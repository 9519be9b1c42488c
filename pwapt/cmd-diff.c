/* wdiff NAME [OTHER]: one change a line ("A /path", "M /path", "D /path"),
 * sorted, then the warnings, each line starting with "! ". */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "pwapt.h"
#include "quote.h"

static const struct {
	unsigned bit;
	const char *name;
} what_names[] = {
	{WORLD_CHANGED_TYPE, "type"},	  {WORLD_CHANGED_CONTENT, "content"},
	{WORLD_CHANGED_MODE, "mode"},	  {WORLD_CHANGED_OWNER, "owner"},
	{WORLD_CHANGED_TIMES, "times"},	  {WORLD_CHANGED_XATTRS, "xattrs"},
	{WORLD_CHANGED_TARGET, "target"}, {WORLD_CHANGED_DEVICE, "device"},
};

static void print_json(const struct world_diff *d, const char *name,
		       const char *other, bool all)
{
	printf("{\"name\":");
	json_string(stdout, name);
	printf(",\"other\":");
	json_string(stdout, other);
	printf(",\"changes\":[");
	bool first = true;
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if (c->excluded && !all)
			continue;
		printf("%s{\"change\":\"%c\",\"path\":", first ? "" : ",",
		       c->kind);
		first = false;
		json_string(stdout, c->path);
		printf(",\"what\":[");
		bool f2 = true;
		for (size_t k = 0; k < sizeof(what_names) / sizeof(*what_names);
		     k++)
			if (c->what & what_names[k].bit) {
				printf("%s\"%s\"", f2 ? "" : ",",
				       what_names[k].name);
				f2 = false;
			}
		printf("],\"bytes\":%" PRIu64
		       ",\"excluded\":%s,\"conflict\":%s,\"checked_off\":%s,"
		       "\"merged\":%s,\"unsure\":%s,\"note\":",
		       c->bytes, c->excluded ? "true" : "false",
		       c->conflict ? "true" : "false",
		       c->checked_off ? "true" : "false",
		       c->merged ? "true" : "false",
		       c->unsure ? "true" : "false");
		if (c->note)
			json_string(stdout, c->note);
		else
			printf("null");
		printf(",\"renamed_from\":");
		if (c->renamed_from)
			json_string(stdout, c->renamed_from);
		else
			printf("null");
		putchar('}');
	}
	printf("]");
	print_warnings_json(stdout, d);
	printf("}\n");
}

static void print_stat(const struct world_diff *d, bool all)
{
	size_t n[3] = {0};
	uint64_t bytes[3] = {0};
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if ((c->excluded && !all) || c->checked_off)
			continue;
		int k = c->kind == 'A' ? 0 : c->kind == 'M' ? 1 : 2;
		n[k]++;
		bytes[k] += c->bytes;
	}
	printf("%zu added (%" PRIu64 " bytes), %zu modified (%" PRIu64
	       " bytes), %zu deleted (%" PRIu64 " bytes)\n",
	       n[0], bytes[0], n[1], bytes[1], n[2], bytes[2]);
}

/* One line of the list: "K PATH", PATH quoted where it must be. */
static void put_change(char kind, const char *path, const char *mark)
{
	printf("%s%c ", mark, kind);
	put_path(stdout, path);
	putchar('\n');
}

int cmd_diff(struct context *ctx, int argc, char **argv)
{
	bool stats = false, all = false;
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json, NULL),
		OPT_FLAG("stat", &stats, NULL),
		OPT_FLAG("all", &all, NULL),
		OPT_END,
	};
	static const struct cmd_usage usage = {
		.synopsis = "[--json] [--stat] [--all] NAME [OTHER]",
		.man = "wdiff",
	};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	struct world_diff d = {0};
	r = world_diff(s, argv[0], argc > 1 ? argv[1] : NULL, &d, &err);
	world_store_free(s);
	if (r < 0)
		return fail(ctx, &err);
	const char *other = d.other ? d.other : "?";

	size_t conflicts = 0;
	for (size_t i = 0; i < d.n_warnings; i++) /* derived files */
		conflicts += d.warnings[i].kind == WORLD_WARN_DERIVED;
	for (size_t i = 0; i < d.n; i++)
		conflicts += d.v[i].conflict && !d.v[i].checked_off &&
			     (!d.v[i].excluded || all);
	if (ctx->json) {
		print_json(&d, argv[0], other, all);
	} else if (stats) {
		print_stat(&d, all);
	} else {
		for (size_t i = 0; i < d.n; i++)
			if ((!d.v[i].excluded || all) && !d.v[i].checked_off)
				put_change(d.v[i].kind, d.v[i].path, "");
		/* Checked off: listed apart, marked "~ " (not merged). */
		for (size_t i = 0; i < d.n; i++)
			if ((!d.v[i].excluded || all) && d.v[i].checked_off)
				put_change(d.v[i].kind, d.v[i].path, "~ ");
	}
	if (!ctx->json)
		print_warnings(stdout, &d, argv[0], other, all);
	world_diff_release(&d);
	return conflicts ? EXIT_CONFLICTS : EXIT_OK;
}
