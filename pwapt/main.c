/* pwapt: one binary, dispatched on argv[0] (wcreate, wexec, ...) or on its
 * first argument (pwapt create ...).  Options common to all commands and the
 * count of positional arguments are handled here, once. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pwapt.h"

#include "build-config.h"

static const struct command commands[] = {
	{"create", "wcreate", cmd_create, 2, -1, CMD_JSON, "NAME PARENT...",
	 "create a child world and start its container"},
	{"delete", "wdelete", cmd_delete, 1, -1, 0, "NAME...",
	 "stop and delete worlds"},
	{"diff", "wdiff", cmd_diff, 1, 2, CMD_JSON | CMD_STAT | CMD_ALL,
	 "NAME [OTHER]", "changes of a world against its parent or another"},
	{"exec", "wexec", cmd_exec, 2, -1, 0, "NAME COMMAND [ARG...]",
	 "run a command in a world"},
	{"console", "wconsole", cmd_console, 1, 1, 0, "NAME",
	 "interactive shell in a world, on a terminal"},
	{"ip", "wip", cmd_ip, 0, 4, CMD_JSON | CMD_ALL,
	 "NAME [forward PORT HOSTPORT | unforward HOSTPORT | takeover PORT | "
	 "release PORT | outbound on|off]",
	 "addresses, port forwards and takeovers of a world"},
	{"check-off", "check-off", cmd_checkoff, 1, -1, CMD_LISTRM,
	 "NAME PATH...", "leave paths (globs) out of merging a world"},
	{"wmerge", "wmerge", cmd_merge, 2, 2, CMD_FORCE | CMD_REBASE, "SRC DST",
	 "merge a world into an ancestor and delete it"},
	{"rollback", NULL, cmd_rollback, 0, 1, CMD_FORCE | CMD_RESTART | CMD_ID,
	 "[--id ID] [WORLD]",
	 "undo the last merge into a world (default Root)"},
	{"recover", NULL, cmd_recover, 0, 0, 0, "",
	 "finish or undo an interrupted merge"},
	{"wlist", "wlist", cmd_list, 0, 0, CMD_JSON, "",
	 "worlds, parents, state and size of each layer"},
	{"update", NULL, cmd_update, 0, 0, 0, "",
	 "apt-get update in Root, with the host's network"},
	{"upgrade", NULL, cmd_upgrade, 0, 0, CMD_APT | CMD_DIST | CMD_JSON,
	 "--test", "apt-get upgrade in a test world, then merge or discard"},
	{"install", NULL, cmd_install, 1, -1, CMD_APT | CMD_JSON,
	 "--test PACKAGE...", "apt-get install in a test world"},
	{"merge", NULL, cmd_txn_merge, 1, 1, CMD_RESTART | CMD_FORCE,
	 "TRANSACTION",
	 "merge a tested transaction (and those below it) into Root"},
	{"discard", NULL, cmd_txn_discard, 1, 1, 0, "TRANSACTION",
	 "throw a transaction (and those built on it) away"},
	{"list", NULL, cmd_txn_list, 0, 0, CMD_JSON, "",
	 "pending transactions"},
	{"show", NULL, cmd_txn_show, 1, 1, CMD_JSON, "TRANSACTION",
	 "the report of a transaction"},
	{"trace", NULL, cmd_trace, 1, 1, CMD_JSON, "NAME | run",
	 "a world's file-access table; run: the collector"},
	{"start-all", NULL, cmd_start_all, 0, 0, 0, "",
	 "bring every world back (at boot)"},
	{"stop-all", NULL, cmd_stop_all, 0, 0, 0, "",
	 "stop every world, keeping them (at shutdown)"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The options only some commands take: each sets a flag of the context,
 * and is refused by the commands whose row does not list it. */
static const struct flag_option {
	int val;
	const char *name;
	unsigned flag;
	size_t offset;
	bool arg; /* a const char * taking the option's value, not a bool */
} flag_options[] = {
	{'j', "json", CMD_JSON, offsetof(struct context, json), false},
	{'S', "stat", CMD_STAT, offsetof(struct context, stat), false},
	{'a', "all", CMD_ALL, offsetof(struct context, all), false},
	{'f', "force", CMD_FORCE, offsetof(struct context, force), false},
	{'L', "list", CMD_LISTRM, offsetof(struct context, list), false},
	{'R', "remove", CMD_LISTRM, offsetof(struct context, remove), false},
	{'B', "rebase", CMD_REBASE, offsetof(struct context, rebase), false},
	{'t', "test", CMD_APT, offsetof(struct context, test), false},
	{'y', "yes", CMD_APT, offsetof(struct context, yes), false},
	{'k', "keep", CMD_APT, offsetof(struct context, keep), false},
	{'m', "merge-on-success", CMD_APT,
	 offsetof(struct context, merge_on_success), false},
	{'d', "discard", CMD_APT, offsetof(struct context, discard), false},
	{'T', "test-cmd", CMD_APT, offsetof(struct context, test_cmd), true},
	{'c', "conffile", CMD_APT, offsetof(struct context, conffile), true},
	{'D', "dist", CMD_DIST, offsetof(struct context, dist), false},
	{'n', "no-restart", CMD_APT | CMD_RESTART,
	 offsetof(struct context, no_restart), false},
	{'I', "id", CMD_ID, offsetof(struct context, merge_id), true},
};

static const struct flag_option *flag_option_of(int val)
{
	for (size_t i = 0; i < sizeof(flag_options) / sizeof(*flag_options);
	     i++)
		if (flag_options[i].val == val)
			return &flag_options[i];
	return NULL;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(name, commands[i].name) ||
		    (commands[i].alias && !strcmp(name, commands[i].alias)))
			return &commands[i];
	return NULL;
}

static void usage_of(FILE *f, const struct command *c, const char *shown)
{
	fprintf(f, "usage: %s [--root DIR] [--state DIR]%s%s%s %s\n", shown,
		c->flags & CMD_JSON ? " [--json]" : "",
		c->flags & CMD_STAT ? " [--stat]" : "",
		c->flags & CMD_ALL ? " [--all]" : "", c->usage);
	if (c->flags & CMD_LISTRM)
		fprintf(f,
			"       %s --list NAME\n       %s --remove NAME "
			"PATH...\n",
			shown, shown);
	if (c->flags & CMD_FORCE)
		fprintf(f, "  --force  go on although the destination changed "
			   "meanwhile\n");
	if (c->fn == cmd_merge)
		fprintf(f,
			"  --rebase move the worlds built on SRC onto DST\n");
	if (c->flags & CMD_APT)
		fprintf(f,
			"  --test               run it in a new world first "
			"(required)\n"
			"%s"
			"  -y, --yes            do not ask before starting\n"
			"  --merge-on-success   merge into Root when the tests "
			"pass\n"
			"  --keep               keep the world (pwapt merge "
			"or discard it later)\n"
			"  --discard            discard the world after the "
			"report\n"
			"  --test-cmd CMD       one more test: a shell command "
			"run in the world\n"
			"  --conffile keep|new  changed configuration files: "
			"keep yours (default) or take the package's\n"
			"  --no-restart         leave Root's services as they "
			"are after a merge\n",
			c->flags & CMD_DIST ? "  --dist               as "
					      "apt-get dist-upgrade\n"
					    : "");
	if (c->fn == cmd_txn_merge || c->fn == cmd_rollback)
		fprintf(f,
			"  --no-restart  leave Root's services as they are\n");
	if (c->flags & CMD_ID)
		fprintf(f, "  --id ID  roll back merge ID only if it is the "
			   "last merge into WORLD\n");
	bool apt = c->fn == cmd_upgrade || c->fn == cmd_install ||
		   c->fn == cmd_update || c->fn == cmd_txn_merge ||
		   c->fn == cmd_txn_discard || c->fn == cmd_txn_list ||
		   c->fn == cmd_txn_show;
	fprintf(f, "%s.  See %s(8).\n", c->summary,
		c->alias ? c->alias
		: apt	 ? "pwapt-upgrade"
			 : "pwapt");
}

static void usage_all(FILE *f)
{
	fprintf(f, "usage: pwapt [--root DIR] [--state DIR] COMMAND [ARGS]\n\n"
		   "Commands (also run as the w* names):\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %-9s %s\n", commands[i].name,
			commands[i].alias && strcmp(commands[i].alias,
						    commands[i].name)
				? commands[i].alias
				: "",
			commands[i].summary);
	fprintf(f, "\nEnvironment: PWAPT_ROOT (Root's directory, default /), "
		   "PWAPT_STATE (default /var/lib/pwapt).\n"
		   "See pwapt(8).\n");
}

/* The init helper: beside the binary in a build tree, else installed. */
static const char *find_init(void)
{
	const char *env = getenv("PWAPT_INIT");
	if (env && *env)
		return env;
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n > 0) {
		path[n] = '\0';
		char *slash = strrchr(path, '/');
		if (slash) {
			strcpy(slash + 1, "pwapt-init");
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	return PWAPT_LIBEXECDIR "/pwapt-init";
}

int failf(struct context *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", ctx->cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_FAIL;
}

int fail(struct context *ctx, const struct world_error *err)
{
	return failf(ctx, "%s", err->msg);
}

static const char *waiting_cmd;

static void say_waiting(const char *state)
{
	fprintf(stderr,
		"%s: waiting for another pwapt command to release "
		"%s/lock...\n",
		waiting_cmd, state);
}

struct world_store *open_store(struct context *ctx)
{
	waiting_cmd = ctx->cmd;
	ctx->cfg.waiting = say_waiting;
	struct world_store *s = NULL;
	struct world_error err = {0};
	if (geteuid() != 0) {
		failf(ctx, "must be run as root (worlds are mounts and "
			   "containers)");
		return NULL;
	}
	if (world_store_open(&s, &ctx->cfg, &err) < 0) {
		fail(ctx, &err);
		return NULL;
	}
	return s;
}

void print_warnings(FILE *f, const struct world_diff *d, const char *name,
		    const char *other, bool all)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if (c->checked_off || (c->excluded && !all))
			continue;
		if (c->conflict && c->note)
			fprintf(f,
				"! %s: changed in %s after %s was created: "
				"%s\n",
				c->path, other, name, c->note);
		else if (c->conflict)
			fprintf(f, "! %s: changed in %s after %s was created\n",
				c->path, other, name);
		else if (c->merged)
			fprintf(f, "! %s: changed in %s too: %s\n", c->path,
				other, c->note ? c->note : "merged");
		else if (c->unsure)
			fprintf(f, "! %s: maybe deleted in %s: %s\n", c->path,
				other, c->note ? c->note : "cannot tell");
	}
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int main(int argc, char **argv)
{
	char *base = basename(argv[0]);
	const struct command *c = NULL;
	struct context ctx = {.cmd = base};

	if (strcmp(base, "pwapt") && (c = find_command(base))) {
		/* invoked as wcreate, wexec, ... */
	} else {
		/* pwapt [global options] COMMAND ...: the command is the first
		 * argument that is not an option or an option's value. */
		int i = 1;
		while (i < argc && argv[i][0] == '-') {
			if (!strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h")) {
				usage_all(stdout);
				return EXIT_OK;
			}
			if (!strcmp(argv[i], "--version")) {
				printf("pwapt %s\n", PWAPT_VERSION);
				return EXIT_OK;
			}
			i += (!strcmp(argv[i], "--root") ||
			      !strcmp(argv[i], "--state"))
				     ? 2
				     : 1;
		}
		if (i >= argc) {
			usage_all(stderr);
			return EXIT_USAGE;
		}
		if (!(c = find_command(argv[i]))) {
			fprintf(stderr,
				"pwapt: unknown command '%s' "
				"(see pwapt --help)\n",
				argv[i]);
			return EXIT_USAGE;
		}
		/* Drop the command word; keep the global options before it. */
		memmove(&argv[i], &argv[i + 1],
			(size_t)(argc - i) * sizeof(*argv));
		argc--;
		/* Messages name the command as it is typed. */
		static char shown[64];
		snprintf(shown, sizeof(shown), "pwapt %s", c->name);
		ctx.cmd = c->alias ? c->alias : shown;
	}

	if (config_load(&ctx) < 0)
		return EXIT_FAIL;

	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"stat", no_argument, NULL, 'S'},
		{"all", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"list", no_argument, NULL, 'L'},
		{"remove", no_argument, NULL, 'R'},
		{"rebase", no_argument, NULL, 'B'},
		{"test", no_argument, NULL, 't'},
		{"yes", no_argument, NULL, 'y'},
		{"keep", no_argument, NULL, 'k'},
		{"merge-on-success", no_argument, NULL, 'm'},
		{"discard", no_argument, NULL, 'd'},
		{"test-cmd", required_argument, NULL, 'T'},
		{"conffile", required_argument, NULL, 'c'},
		{"dist", no_argument, NULL, 'D'},
		{"no-restart", no_argument, NULL, 'n'},
		{"id", required_argument, NULL, 'I'},
		{"root", required_argument, NULL, 'r'},
		{"state", required_argument, NULL, 's'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int o;
	/* wexec stops at the first positional argument, so that the
	 * command's own options pass through untouched. */
	const char *optstring = c->fn == cmd_exec ? "+h" : "hy";
	while ((o = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			usage_of(stdout, c, ctx.cmd);
			return EXIT_OK;
		case 'j':
		case 'S':
		case 'a':
		case 'f':
		case 'L':
		case 'R':
		case 'B':
		case 't':
		case 'y':
		case 'k':
		case 'm':
		case 'd':
		case 'T':
		case 'c':
		case 'D':
		case 'n':
		case 'I': {
			const struct flag_option *fo = flag_option_of(o);
			if (!(c->flags & fo->flag)) {
				fprintf(stderr,
					"%s: --%s is not an option of this "
					"command\n",
					ctx.cmd, fo->name);
				return EXIT_USAGE;
			}
			if (fo->arg)
				*(const char **)((char *)&ctx + fo->offset) =
					optarg;
			else
				*(bool *)((char *)&ctx + fo->offset) = true;
			break;
		}
		case 'r':
			ctx.cfg.root = optarg;
			break;
		case 's':
			ctx.cfg.state = optarg;
			break;
		case 'V':
			printf("pwapt %s\n", PWAPT_VERSION);
			return EXIT_OK;
		default:
			usage_of(stderr, c, ctx.cmd);
			return EXIT_USAGE;
		}
	}
	int npos = argc - optind;
	if (npos < c->min_args || (c->max_args >= 0 && npos > c->max_args)) {
		usage_of(stderr, c, ctx.cmd);
		return EXIT_USAGE;
	}
	ctx.cfg.init = find_init();
	int status = c->fn(&ctx, npos, argv + optind);
	context_release(&ctx);
	return status;
}
