/* The pwapt front end: command table, configuration, shared helpers. */
#ifndef PWAPT_PWAPT_H
#define PWAPT_PWAPT_H

#include <stdbool.h>
#include <stdio.h>

#include "../world/world.h"

/* Exit codes (documented in pwapt(8)). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_CONFLICTS = 3,
	EXIT_TESTS_FAILED = 4,
};

struct context {
	const char *cmd; /* the command's name as the user typed it */
	struct world_config cfg;
	bool json;
	bool stat;	   /* wdiff --stat */
	bool all;	   /* wdiff --all */
	bool force;	   /* wmerge --force */
	bool list, remove; /* check-off --list, --remove */
	bool rebase;	   /* wmerge --rebase */
	/* pwapt upgrade, install (see pwapt(8)) */
	bool test, dist, yes, keep, merge_on_success, discard, no_restart;
	const char
		*test_cmd; /* --test-cmd: a shell command, run in the world */
	const char *conffile; /* --conffile: "keep" (default) or "new" */
	char *owned_root, *owned_state; /* from the config file */
	char *owned_bridge, *owned_subnet;
};

struct command {
	const char *name;  /* pwapt NAME */
	const char *alias; /* the paper's name (wcreate), or NULL */
	int (*fn)(struct context *ctx, int argc, char **argv);
	int min_args, max_args; /* positional; max -1: unbounded */
	unsigned flags;
	const char *usage;
	const char *summary;
};
#define CMD_JSON    1u	 /* takes --json */
#define CMD_STAT    2u	 /* takes --stat */
#define CMD_ALL	    4u	 /* takes --all */
#define CMD_FORCE   8u	 /* takes --force */
#define CMD_LISTRM  16u	 /* takes --list and --remove */
#define CMD_REBASE  32u	 /* takes --rebase */
#define CMD_APT	    64u	 /* takes --test, -y, --keep, --merge-on-success, ... */
#define CMD_DIST    128u /* takes --dist */
#define CMD_RESTART 256u /* takes --no-restart */

int cmd_checkoff(struct context *ctx, int argc, char **argv);
int cmd_update(struct context *ctx, int argc, char **argv);
int cmd_upgrade(struct context *ctx, int argc, char **argv);
int cmd_install(struct context *ctx, int argc, char **argv);
int cmd_txn_merge(struct context *ctx, int argc, char **argv);
int cmd_txn_discard(struct context *ctx, int argc, char **argv);
int cmd_txn_list(struct context *ctx, int argc, char **argv);
int cmd_txn_show(struct context *ctx, int argc, char **argv);
int cmd_create(struct context *ctx, int argc, char **argv);
int cmd_delete(struct context *ctx, int argc, char **argv);
int cmd_diff(struct context *ctx, int argc, char **argv);
int cmd_exec(struct context *ctx, int argc, char **argv);
int cmd_ip(struct context *ctx, int argc, char **argv);
int cmd_merge(struct context *ctx, int argc, char **argv);
int cmd_recover(struct context *ctx, int argc, char **argv);
int cmd_rollback(struct context *ctx, int argc, char **argv);
int cmd_console(struct context *ctx, int argc, char **argv);
int cmd_list(struct context *ctx, int argc, char **argv);
int cmd_start_all(struct context *ctx, int argc, char **argv);
int cmd_stop_all(struct context *ctx, int argc, char **argv);
int cmd_trace(struct context *ctx, int argc, char **argv);

/* Fills ctx->cfg from /etc/pwapt/pwapt.conf (or $PWAPT_CONFIG), then the
 * environment.  Prints and returns -1 on a malformed file. */
int config_load(struct context *ctx);
/* Parses configuration lines from F (named PATH in messages) into ctx. */
int config_parse(struct context *ctx, const char *path, FILE *f);
void context_release(struct context *ctx);

/* Opens the store or prints why not; NULL on failure. */
struct world_store *open_store(struct context *ctx);
/* Prints "CMD: message" on stderr; returns EXIT_FAIL. */
int fail(struct context *ctx, const struct world_error *err);
int failf(struct context *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The "! " lines of a diff of NAME against OTHER: conflicts (why, where
 * known) and the package databases a merge combines. */
void print_warnings(FILE *f, const struct world_diff *d, const char *name,
		    const char *other, bool all);

/* After a merge into Root: which services it restarted (NULL: none);
 * after `pwapt rollback` of Root: restart those again, on the old files. */
void remember_services(struct context *ctx, char *const *services);
void restart_after_rollback(struct context *ctx);

/* Writes S as a JSON string literal. */
void json_string(FILE *f, const char *s);

#endif
