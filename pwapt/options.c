/* parse_options(): a command's own options (its cmd_option array), the
 * global ones, the count of its positional arguments, and its usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "options.h"

#include "build-config.h"

enum { VAL_FIRST = 256 };

/* The option names of every command, and the global ones: the getopt
 * table each command's are read with, so that a command refuses an
 * option of another one by its name ("--json is not an option of this
 * command") rather than as unknown, and an abbreviation (--st) reads
 * alike in all of them.  Only a name: what a command takes, and what an
 * option sets there, is in the command's own array; one of those missing
 * here still works for its command, and is unknown to the others. */
static const struct option known[] = {
	{"help", no_argument, NULL, 'h'},
	{"json", no_argument, NULL, 0},
	{"stat", no_argument, NULL, 0},
	{"all", no_argument, NULL, 0},
	{"force", no_argument, NULL, 0},
	{"list", no_argument, NULL, 0},
	{"remove", no_argument, NULL, 0},
	{"rebase", no_argument, NULL, 0},
	{"test", no_argument, NULL, 0},
	{"yes", no_argument, NULL, 'y'},
	{"keep", no_argument, NULL, 0},
	{"merge-on-success", no_argument, NULL, 0},
	{"discard", no_argument, NULL, 0},
	{"test-cmd", required_argument, NULL, 0},
	{"conffile", required_argument, NULL, 0},
	{"dist", no_argument, NULL, 0},
	{"no-restart", no_argument, NULL, 0},
	{"id", required_argument, NULL, 0},
	{"check", no_argument, NULL, 0},
	{"plan", no_argument, NULL, 0},
	{"handover", required_argument, NULL, 0},
	{"handover-check", required_argument, NULL, 0},
	{"volatile", no_argument, NULL, 0},
	{"root", required_argument, NULL, 0},
	{"state", required_argument, NULL, 0},
	{"version", no_argument, NULL, 0},
};
#define N_KNOWN (sizeof(known) / sizeof(*known))

static bool takes(const struct cmd_option *o)
{
	return o->flag || o->value;
}

static const struct cmd_option *own_option(const struct cmd_option *options,
					   const char *name)
{
	for (const struct cmd_option *o = options; o->name; o++)
		if (takes(o) && !strcmp(o->name, name))
			return o;
	return NULL;
}

static void print_usage(FILE *f, const struct context *ctx,
			const struct cmd_option *options,
			const struct cmd_usage *usage)
{
	fprintf(f, "usage: %s [--root DIR] [--state DIR] %s\n", ctx->cmd,
		usage->synopsis);
	for (const char *const *m = usage->more; m && *m; m++)
		fprintf(f, "       %s %s\n", ctx->cmd, *m);
	for (const struct cmd_option *o = options; o->name; o++)
		if (takes(o) && o->help)
			fprintf(f, "%s\n", o->help);
	fprintf(f, "%s.  See %s(8).\n", ctx->command->summary, usage->man);
}

/* The getopt table: the known names, then the command's others; each
 * option's val is its short letter (the known one's, else the command's)
 * or VAL_FIRST + its index. */
static struct option *getopt_table(const struct cmd_option *options)
{
	size_t n = N_KNOWN;
	for (const struct cmd_option *o = options; o->name; o++)
		n++;
	struct option *t = calloc(n + 1, sizeof(*t));
	if (!t)
		return NULL;
	size_t k = 0;
	for (; k < N_KNOWN; k++)
		t[k] = known[k];
	for (const struct cmd_option *o = options; o->name; o++) {
		if (!takes(o))
			continue;
		size_t i = 0;
		while (i < k && strcmp(t[i].name, o->name))
			i++;
		if (i == k)
			t[k++] = (struct option){o->name,
						 o->value ? required_argument
							  : no_argument,
						 NULL, 0};
		if (!t[i].val)
			t[i].val = o->short_name;
	}
	for (size_t i = 0; i < k; i++)
		if (!t[i].val)
			t[i].val = VAL_FIRST + (int)i;
	return t;
}

/* "+h", or "h" and the short letters of all known options and the
 * command's: a command that takes options only before its arguments
 * knows no short letter but its own. */
static void short_letters(char *buf, const struct option *table,
			  const struct cmd_option *options, bool first)
{
	size_t k = 0;
	if (first)
		buf[k++] = '+';
	buf[k++] = 'h';
	for (size_t i = 0; table[i].name; i++) {
		int c = table[i].val;
		bool own = false;
		for (const struct cmd_option *o = options; o->name; o++)
			own |= takes(o) && o->short_name == c;
		if (c > 0 && c < VAL_FIRST && c != 'h' && (own || !first) &&
		    !memchr(buf, c, k)) {
			buf[k++] = (char)c;
			if (table[i].has_arg == required_argument)
				buf[k++] = ':';
		}
	}
	buf[k] = '\0';
}

int parse_options(struct context *ctx, int *argc, char ***argv,
		  const struct cmd_option *options,
		  const struct cmd_usage *usage)
{
	_cleanup_free_ struct option *table = getopt_table(options);
	if (!table)
		return failf(ctx, "out of memory");
	size_t n = 0;
	while (table[n].name)
		n++;
	_cleanup_free_ char *letters = malloc(2 * n + 3);
	if (!letters)
		return failf(ctx, "out of memory");
	short_letters(letters, table, options, usage->options_first);

	int o;
	while ((o = getopt_long(*argc, *argv, letters, table, NULL)) != -1) {
		const struct option *t = NULL;
		for (size_t i = 0; i < n && !t; i++)
			if (table[i].val == o)
				t = &table[i];
		if (!t) { /* getopt said what is wrong */
			print_usage(stderr, ctx, options, usage);
			return EXIT_USAGE;
		}
		if (!strcmp(t->name, "help")) {
			print_usage(stdout, ctx, options, usage);
			return EXIT_OK;
		}
		if (!strcmp(t->name, "version")) {
			printf("pwapt %s\n", PWAPT_VERSION);
			return EXIT_OK;
		}
		if (!strcmp(t->name, "root")) {
			ctx->cfg.root = optarg;
			continue;
		}
		if (!strcmp(t->name, "state")) {
			ctx->cfg.state = optarg;
			continue;
		}
		const struct cmd_option *own = own_option(options, t->name);
		if (!own) {
			fprintf(stderr,
				"%s: --%s is not an option of this command\n",
				ctx->cmd, t->name);
			return EXIT_USAGE;
		}
		if (own->flag)
			*own->flag = true;
		else
			*own->value = optarg;
	}
	int npos = *argc - optind;
	const struct command *c = ctx->command;
	if (npos < c->min_args || (c->max_args >= 0 && npos > c->max_args)) {
		print_usage(stderr, ctx, options, usage);
		return EXIT_USAGE;
	}
	*argc = npos;
	*argv += optind;
	return OPTIONS_PARSED;
}
