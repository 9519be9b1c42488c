/* pwapt: one binary, dispatched on argv[0] (wcreate, wexec, ...) or on its
 * first argument (pwapt create ...).  pwapt's own options (before the
 * command) are read here; each command reads its own, and the global ones
 * after the command word, with parse_options() (options.h). */
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"
#include "quote.h"

#include "build-config.h"

static const struct command commands[] = {
	{"create", "wcreate", cmd_create, 2, -1,
	 "create a child world and start its container"},
	{"delete", "wdelete", cmd_delete, 1, -1, "stop and delete worlds"},
	{"diff", "wdiff", cmd_diff, 1, 2,
	 "changes of a world against its parent or another"},
	{"exec", "wexec", cmd_exec, 2, -1, "run a command in a world"},
	{"console", "wconsole", cmd_console, 1, 1,
	 "interactive shell in a world, on a terminal"},
	{"ip", "wip", cmd_ip, 0, 4,
	 "addresses, port forwards and takeovers of a world"},
	{"check-off", "check-off", cmd_checkoff, 1, -1,
	 "leave paths (globs) out of merging a world"},
	{"wmerge", "wmerge", cmd_merge, 2, 2,
	 "merge a world into an ancestor and delete it"},
	{"rollback", NULL, cmd_rollback, 0, 1,
	 "undo the last merge into a world (default Root)"},
	{"recover", NULL, cmd_recover, 0, 0,
	 "finish or undo an interrupted merge"},
	{"wlist", "wlist", cmd_list, 0, 0,
	 "worlds, parents, state, size of each layer; --services"},
	{"update", NULL, cmd_update, 0, 0,
	 "apt-get update in Root, with the host's network"},
	{"upgrade", NULL, cmd_upgrade, 0, 0,
	 "apt-get upgrade in a test world, then merge or discard"},
	{"install", NULL, cmd_install, 1, -1,
	 "apt-get install in a test world"},
	{"unattended", NULL, cmd_unattended, 0, 0,
	 "unattended-upgrade in a test world, merged when it passes"},
	{"merge", NULL, cmd_txn_merge, 1, 1,
	 "merge a tested transaction (and those below it) into Root"},
	{"discard", NULL, cmd_txn_discard, 1, 1,
	 "throw a transaction (and those built on it) away"},
	{"list", NULL, cmd_txn_list, 0, 0, "pending transactions"},
	{"show", NULL, cmd_txn_show, 1, 1, "the report of a transaction"},
	{"trace", NULL, cmd_trace, 1, 1,
	 "a world's file-access table; run, start: the collector"},
	{"start-all", NULL, cmd_start_all, 0, 0,
	 "bring every world back (at boot)"},
	{"stop-all", NULL, cmd_stop_all, 0, 0,
	 "stop every world, keeping them (at shutdown)"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(name, commands[i].name) ||
		    (commands[i].alias && !strcmp(name, commands[i].alias)))
			return &commands[i];
	return NULL;
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

const char *helper_path(const char *name, int mode, char *buf)
{
	ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX - 1);
	char *slash = n > 0 ? memrchr(buf, '/', (size_t)n) : NULL;

	if (slash && (size_t)(slash + 1 - buf) + strlen(name) < PATH_MAX) {
		strcpy(slash + 1, name);
		if (access(buf, mode) == 0)
			return buf;
	}
	snprintf(buf, PATH_MAX, "%s/%s", PWAPT_LIBEXECDIR, name);
	return buf;
}

/* The init helper: $PWAPT_INIT, else as helper_path() finds it. */
static const char *find_init(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PWAPT_INIT");

	return env && *env ? env : helper_path("pwapt-init", X_OK, path);
}

int failf(struct context *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* A message may name a world's path: escaped, never raw. */
	fprintf(stderr, "%s: ", ctx->cmd);
	put_text(stderr, msg ? msg : "out of memory");
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int fail(struct context *ctx, const struct world_error *err)
{
	return failf(ctx, "%s", err->msg);
}

/* The command that opened the store: what its callbacks name. */
static const char *store_cmd;

static void say_waiting(const char *state)
{
	fprintf(stderr,
		"%s: waiting for another pwapt command to release "
		"%s/lock...\n",
		store_cmd, state);
}

/* libworld's warnings (world_config's warn): a path in one is escaped. */
static void say_warning(const char *msg)
{
	fprintf(stderr, "%s: ", store_cmd);
	put_text(stderr, msg);
	fputc('\n', stderr);
}

/* PID's start time, and its state into *STATE ('?' when gone). */
static unsigned long long proc_stat(pid_t pid, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	unsigned long long t = 0;
	char *p;
	*state = '?';
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		(void)sscanf(p + 2,
			     "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			     "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
			     state, &t);
	return t;
}

unsigned long long proc_start_time(pid_t pid)
{
	char state;
	return proc_stat(pid, &state);
}

const char *boot_id(void)
{
	static char id[40];
	static bool read_once;
	if (!read_once) {
		_cleanup_fclose_ FILE *f =
			fopen("/proc/sys/kernel/random/boot_id", "re");
		if (!f || !fgets(id, sizeof(id), f))
			id[0] = '\0';
		id[strcspn(id, "\n")] = '\0';
		read_once = true;
	}
	return id;
}

bool proc_runs(pid_t pid, unsigned long long started, const char *boot)
{
	char state;
	if (boot && *boot && *boot_id() && strcmp(boot, boot_id()))
		return false; /* written before a reboot */
	return proc_stat(pid, &state) == started && state != 'Z' &&
	       state != 'X' && state != '?';
}

struct world_store *open_store(struct context *ctx)
{
	store_cmd = ctx->cmd;
	ctx->cfg.waiting = say_waiting;
	ctx->cfg.warn = say_warning;
	struct world_store *s = NULL;
	struct world_error err = {0};
	if (geteuid() != 0) {
		failf(ctx, "must be run as root (worlds are mounts and "
			   "containers)");
		return NULL;
	}
	/* A command that opens the store again after a step of its own
	 * (services run without it held) says why it cannot once. */
	static char said[sizeof(err.msg)];
	if (world_store_open(&s, &ctx->cfg, &err) < 0) {
		if (!err.msg[0] || strcmp(said, err.msg) != 0)
			fail(ctx, &err);
		snprintf(said, sizeof(said), "%s", err.msg);
		return NULL;
	}
	said[0] = '\0'; /* a failure after an open is news again */
	return s;
}

/* "setuid root", "setgid", "setuid and setgid": what a setid warning's
 * file grants, its owner when that is root. */
static const char *setid_what(const struct world_warning *w)
{
	bool u = w->mode & S_ISUID, g = w->mode & S_ISGID;
	return u && g ? (w->uid ? "setuid and setgid"
				: "setuid root and setgid")
	       : u    ? (w->uid ? "setuid" : "setuid root")
		      : "setgid";
}

static void put_special(FILE *f, const struct world_warning *w)
{
	const char *done = w->change == 'A' ? "added" : "changed";
	if (w->kind == WORLD_WARN_SETID)
		fprintf(f, "%s file %s (mode %04o, owner %u, group %u)\n",
			setid_what(w), done, w->mode & 07777, w->uid, w->gid);
	else
		fprintf(f, "device node %s (%s %u:%u, mode %04o, owner %u)\n",
			done, S_ISBLK(w->mode) ? "block" : "char", w->dev_major,
			w->dev_minor, w->mode & 07777, w->uid);
}

/* "! PATH: " with PATH quoted where it must be. */
static void put_bang(FILE *f, const char *path)
{
	fputs("! ", f);
	put_path(f, path);
	fputs(": ", f);
}

void print_warnings(FILE *f, const struct world_diff *d, const char *name,
		    const char *other, bool all)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if (c->checked_off || (c->excluded && !all))
			continue;
		if (!c->conflict && !c->merged && !c->unsure)
			continue;
		put_bang(f, c->path);
		if (c->conflict)
			fprintf(f, "changed in %s after %s was created", other,
				name);
		else if (c->merged)
			fprintf(f, "changed in %s too", other);
		else
			fprintf(f, "maybe deleted in %s", other);
		const char *note = c->note	 ? c->note
				   : c->conflict ? NULL
				   : c->merged	 ? "merged"
						 : "cannot tell";
		if (note) {
			fputs(": ", f);
			put_text(f, note);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < d->n_warnings; i++) {
		const struct world_warning *w = &d->warnings[i];
		put_bang(f, w->path);
		if (w->kind == WORLD_WARN_DERIVED) {
			fprintf(f, "derived files: read in %s after %s was "
				   "created by processes that then wrote ",
				other, name);
			for (char **p = w->written; p && *p; p++) {
				if (p != w->written)
					fputs(", ", f);
				put_path(f, *p);
			}
			/* Maybe more: the trace missed some. */
			fputs(d->trace_notes ? " (the trace is incomplete)\n"
					     : "\n",
			      f);
		} else if (w->kind == WORLD_WARN_SETID ||
			   w->kind == WORLD_WARN_DEVICE) {
			put_special(f, w);
		} else {
			fprintf(f, "%s by pid %d in %s (",
				w->kind == WORLD_WARN_OPEN ? "held open"
							   : "mapped",
				w->pid, other);
			put_text(f, w->command);
			fputc(')', f);
			if (w->n_pids > 1)
				fprintf(f, " and %zu more", w->n_pids - 1);
			fputc('\n', f);
		}
	}
	for (char **n = d->trace_notes; n && *n; n++) {
		fputs("! trace: ", f);
		put_text(f, *n);
		fputc('\n', f);
	}
	if (d->conflicts_by)
		fprintf(f, "! trace: conflicts judged by %s\n",
			d->conflicts_by);
}

void print_warnings_json(FILE *f, const struct world_diff *d)
{
	fprintf(f, ",\"warnings\":[");
	for (size_t i = 0; i < d->n_warnings; i++) {
		const struct world_warning *w = &d->warnings[i];
		fprintf(f, "%s{\"kind\":\"%s\",\"path\":", i ? "," : "",
			w->kind == WORLD_WARN_DERIVED  ? "derived"
			: w->kind == WORLD_WARN_OPEN   ? "open"
			: w->kind == WORLD_WARN_SETID  ? "setid"
			: w->kind == WORLD_WARN_DEVICE ? "device"
						       : "mapped");
		json_string(f, w->path);
		if (w->kind == WORLD_WARN_SETID ||
		    w->kind == WORLD_WARN_DEVICE) {
			fprintf(f,
				",\"change\":\"%s\",\"mode\":\"%04o\","
				"\"uid\":%u,\"gid\":%u,\"setuid\":%s,"
				"\"setgid\":%s",
				w->change == 'A' ? "added" : "changed",
				w->mode & 07777, w->uid, w->gid,
				w->mode & S_ISUID ? "true" : "false",
				w->mode & S_ISGID ? "true" : "false");
			if (w->kind == WORLD_WARN_DEVICE)
				fprintf(f,
					",\"type\":\"%s\",\"major\":%u,"
					"\"minor\":%u",
					S_ISBLK(w->mode) ? "block" : "char",
					w->dev_major, w->dev_minor);
		} else if (w->kind == WORLD_WARN_DERIVED) {
			fprintf(f, ",\"written\":[");
			for (char **p = w->written; p && *p; p++) {
				if (p != w->written)
					fputc(',', f);
				json_string(f, *p);
			}
			fputc(']', f);
		} else {
			fprintf(f,
				",\"pid\":%d,\"host_pid\":%d,\"processes\":%zu,"
				"\"command\":",
				w->pid, w->host_pid, w->n_pids);
			json_string(f, w->command);
		}
		fputc('}', f);
	}
	fprintf(f, "],\"trace\":{\"complete\":%s,\"notes\":[",
		d->conflicts_by && !d->trace_notes ? "true" : "false");
	for (char **n = d->trace_notes; n && *n; n++) {
		if (n != d->trace_notes)
			fputc(',', f);
		json_string(f, *n);
	}
	fprintf(f, "],\"conflicts_by\":");
	if (d->conflicts_by)
		json_string(f, d->conflicts_by);
	else
		fprintf(f, "null");
	fputc('}', f);
}

int main(int argc, char **argv)
{
	char *base = basename(argv[0]);
	const struct command *c = NULL;
	/* The arguments as given, before the command word is dropped. */
	_cleanup_free_ char **given = calloc((size_t)argc + 1, sizeof(*given));
	struct context ctx = {.cmd = base, .argv = given};

	if (!given) {
		fprintf(stderr, "pwapt: out of memory\n");
		return EXIT_FAIL;
	}
	memcpy(given, argv, (size_t)argc * sizeof(*argv));
	/* liblxc, loaded when first needed, re-executes the program from a
	 * memory file when LXC_MEMFD_REXEC asks it to: then now, before any
	 * work, as when it was linked. */
	struct world_error lerr = {0};
	if (getenv("LXC_MEMFD_REXEC") && world_load_containers(&lerr) < 0) {
		fprintf(stderr, "%s: %s\n", base, lerr.msg);
		return 127;
	}

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

	ctx.command = c;
	ctx.cfg.init = find_init();
	int status = c->fn(&ctx, argc, argv);
	context_release(&ctx);
	return status;
}
