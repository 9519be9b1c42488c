/* The pwapt front end: command table, configuration, shared helpers. */
#ifndef PWAPT_PWAPT_H
#define PWAPT_PWAPT_H

#include <stdbool.h>
#include <stdio.h>

#include "../world/strv.h"
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
	const struct command *command; /* its row of the table */
	/* main()'s arguments as given, the command word included, NULL
	 * terminated (pwapt trace run passes them on to pwapt-trace) */
	char **argv;
	struct world_config cfg;
	/* Set by the commands' options (options.h) where more than the
	 * command's own file reads them: --json makes stdout the report's
	 * (chatter()); --no-restart, for merge_chain(). */
	bool json;
	bool no_restart;
	/* pwapt.conf's "check.SERVICE = CMD" lines: SERVICE, CMD, SERVICE,
	 * CMD, ... NULL-terminated (the health check of SERVICE after a
	 * merge, svccheck.c) */
	char **checks;
	/* pwapt.conf's "check-timeout = SECONDS": how long a check command
	 * may run; 0: the default, 120 */
	unsigned check_timeout;
	/* pwapt.conf's "test-timeout = SECONDS": how long each test of
	 * tests.d, and --test-cmd, may run; 0: the default, TEST_TIMEOUT */
	unsigned test_timeout;
	/* trace = bpf|audit|off (pwapt.conf, PWAPT_TRACE); NULL: the
	 * default, bpf where it loads, else audit */
	const char *trace;
	/* pwapt.conf's unattended = on, unattended-failure = discard */
	bool unattended, unattended_discard;
	/* The warnings about a service's pid files said so far (svcmove.c),
	 * each "WORLD SERVICE WARNING": once a command, whatever the plans
	 * it makes (pwapt merge: one for each transaction, and more). */
	struct strv said_pidfiles;
	/* This command began a note of pending services (svcnotes.c,
	 * service_pending_begin): one it found there went to svcmove-held,
	 * and comes back when its own is emptied. */
	bool pending_begun;
	/* The text of the note of pending services this command wrote last
	 * (svcnotes.c; NULL: none yet): another command's note found there
	 * instead is never written over. */
	char *pending_mine;
	char *owned_root, *owned_state; /* from the config file */
	char *owned_bridge, *owned_subnet;
};

/* A row of the command table (main.c).  FN gets argv as main() did, its
 * command's word taken out, and reads its options (options.h): the count
 * of positional arguments is checked there, against MIN_ARGS, MAX_ARGS. */
struct command {
	const char *name;  /* pwapt NAME */
	const char *alias; /* the paper's name (wcreate), or NULL */
	int (*fn)(struct context *ctx, int argc, char **argv);
	int min_args, max_args; /* positional; max -1: unbounded */
	const char *summary;
};

int cmd_checkoff(struct context *ctx, int argc, char **argv);
int cmd_update(struct context *ctx, int argc, char **argv);
int cmd_upgrade(struct context *ctx, int argc, char **argv);
int cmd_install(struct context *ctx, int argc, char **argv);
int cmd_unattended(struct context *ctx, int argc, char **argv);
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

/* Starts the trace collector as a detached daemon (trace-start.c) unless
 * tracing is off or one runs for STORE's state directory, which the
 * caller has opened but not locked (world_store_unlock()).  Returns 1 when
 * it started one (saying so on stderr), 0 when none was needed, -1 when
 * none could start: WHY then says why. */
int trace_start(struct context *ctx, struct world_store *s, char *why,
		size_t why_len);

/* The path of the helper NAME (pwapt-init, pwapt-trace, the apt shim):
 * beside this program when it is there and MODE (access(2)) allows it (a
 * build tree), else in the LIBEXECDIR it was built for.  BUF holds
 * PATH_MAX bytes. */
const char *helper_path(const char *name, int mode, char *buf);

/* pwapt trace run.  In pwapt-trace (trace-run.c): the collector itself,
 * until SIGTERM or SIGINT.  In pwapt (trace-exec.c): pwapt-trace put in
 * this process's place with the same arguments and environment, so that
 * pwapt itself never loads libbpf and libaudit.  Tracing is not off. */
int trace_run(struct context *ctx);
/* The collector's program, pwapt-trace, into EXE (PATH_MAX bytes), as
 * helper_path() finds it (trace-start.c).  -1 when it cannot be run: WHY
 * then names the path looked for and why. */
int trace_collector_exe(char *exe, char *why, size_t why_len);

/* Fills ctx->cfg from /etc/pwapt/pwapt.conf (or $PWAPT_CONFIG), then the
 * environment.  Prints and returns -1 on a malformed file. */
int config_load(struct context *ctx);
/* Parses configuration lines from F (named PATH in messages) into ctx. */
int config_parse(struct context *ctx, const char *path, FILE *f);
/* "bpf", "audit" or "off" (static strings) for VAL, NULL for another. */
const char *trace_backend(const char *val);
void context_release(struct context *ctx);

/* When process PID started (clock ticks after boot, field 22 of
 * /proc/PID/stat): with its pid and boot_id(), it names one process; 0
 * once gone. */
unsigned long long proc_start_time(pid_t pid);
/* This boot's id (/proc/sys/kernel/random/boot_id), "" when unknown: a
 * pid and start time written in another boot may name a process of this
 * one, an early one that starts at the same tick each boot. */
const char *boot_id(void);
/* Whether process PID, started at STARTED in boot BOOT (a boot_id(); NULL
 * or "" when not known), runs still (not a zombie). */
bool proc_runs(pid_t pid, unsigned long long started, const char *boot);
/* Opens the store or prints why not; NULL on failure. */
struct world_store *open_store(struct context *ctx);
/* Prints "CMD: message" on stderr; returns EXIT_FAIL. */
int fail(struct context *ctx, const struct world_error *err);
int failf(struct context *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The "! " lines of a diff of NAME against OTHER: conflicts (why, where
 * known), the package databases a merge combines, derived files, files
 * held open or mapped, and what the traces could not tell ("! trace: "). */
void print_warnings(FILE *f, const struct world_diff *d, const char *name,
		    const char *other, bool all);
/* D's warnings and trace notes as JSON members: ",\"warnings\":[...],
 * \"trace\":{...}", for a report object being printed. */
void print_warnings_json(FILE *f, const struct world_diff *d);

/* Running things in worlds (run.c).  Where the chatter of apt, services
 * and tests goes: stderr when stdout carries a JSON report (as an fd for
 * world_exec_options: 0 means "pwapt's own stdout"). */
FILE *chatter(const struct context *ctx);
int chatter_fd(const struct context *ctx);
/* Runs ARGV in world NAME, the store opened for it and its lock released
 * for as long as the command runs; prints why it could not.  *status is
 * the command's exit status. */
int run_in(struct context *ctx, const char *name, char *const *argv,
	   const struct world_exec_options *xo, int *status);
/* The entries of directory PATH in world NAME that PICK accepts (PICK
 * returns them malloc'd), sorted; none when the directory is not there. */
char **list_dir(struct context *ctx, const char *name, const char *path,
		char *(*pick)(int dir, const char *entry));
/* Whether run-parts(8) runs a file of this name: letters, digits, '_' and
 * '-' only, so that README, *.dpkg-old and editor backups are not run. */
bool run_parts_name(const char *name);
int strcmp_p(const void *a, const void *b);
/* Says, once for a state directory (a note of Root remembers it), that
 * world NAME, made volatile, was mounted plain: this kernel's overlayfs
 * has no "volatile".  Nothing when NAME is volatile. */
void note_no_volatile(struct context *ctx, struct world_store *s,
		      const char *name);
/* Says, once for a state directory, that worlds copy a renamed directory
 * up: this kernel's overlayfs cannot record it (redirect_dir). */
void note_no_redirect(struct context *ctx, struct world_store *s);

/* Transactions that exist (cmd-txn.c).  Discards those whose pwapt died
 * before they were ready; merges NAME's chain into Root, oldest first, and
 * restarts each one's services (returns an exit code).  When that fails,
 * OUTCOME (may be NULL) says what happened in one sentence, as printed:
 * the error, or the merge rolled back (or kept) and the failed check. */
void reap_interrupted(struct context *ctx, struct world_store *s);
int merge_chain(struct context *ctx, const char *name, bool force,
		struct world_error *outcome);

/* Writes S as a JSON string literal (quote.c): controls, DEL, C1 and
 * bidirectional overrides as \uXXXX, a byte that is not UTF-8 as a lone
 * surrogate \udcXX (PEP 383's surrogateescape), so that a world's path
 * arrives exact and never acts on a terminal. */
void json_string(FILE *f, const char *s);

#endif
