/* A command's options.  Each cmd-*.c lists the options it takes, with what
 * they set and their lines of --help, and hands them to parse_options(),
 * which also reads the options every command has (--root, --state,
 * --help, --version) and checks the count of positional arguments against
 * the command's row of the table in main.c. */
#ifndef PWAPT_OPTIONS_H
#define PWAPT_OPTIONS_H

#include <stdbool.h>

#include "pwapt.h"

/* One option of a command: --NAME sets *FLAG, or --NAME VALUE sets *VALUE
 * to VALUE (a string of argv).  An entry with neither takes nothing: the
 * option is refused (so that two commands can share an array, one leaving
 * an option out).  HELP: its lines in --help, in the array's order, or
 * NULL.  The array ends with OPT_END. */
struct cmd_option {
	const char *name;
	char short_name; /* -C too, or 0 */
	bool *flag;
	const char **value;
	const char *help;
};
/* clang-format off */
#define OPT_FLAG(name, flag, help)   {(name), 0, (flag), NULL, (help)}
#define OPT_VALUE(name, value, help) {(name), 0, NULL, (value), (help)}
#define OPT_END                      {NULL, 0, NULL, NULL, NULL}
/* clang-format on */

/* How --help and a usage error show a command:
 *   usage: CMD [--root DIR] [--state DIR] SYNOPSIS
 *          CMD MORE[0]          (each further form)
 *   the HELP lines of its options
 *   SUMMARY (from its row).  See MAN(8). */
struct cmd_usage {
	const char *synopsis;
	const char *const *more; /* NULL-terminated, or NULL */
	const char *man;
	/* Options only before the first positional argument, so that those
	 * after it pass through untouched (wexec's command's). */
	bool options_first;
};

/* What parse_options() returns when the command is to run. */
#define OPTIONS_PARSED (-1)

/* Reads the options of *ARGV (as main() got it, the command's word taken
 * out) into what OPTIONS point at, then leaves *ARGC and *ARGV on the
 * positional arguments, and returns OPTIONS_PARSED.  Or the command stops
 * here, and the return is its exit code: EXIT_OK after --help (the usage
 * on stdout) or --version; EXIT_USAGE, said on stderr, for an option the
 * command does not take or a count of arguments outside its row's. */
int parse_options(struct context *ctx, int *argc, char ***argv,
		  const struct cmd_option *options,
		  const struct cmd_usage *usage);

#endif
