/* The report of a transaction: what apt and dpkg changed in its world,
 * what a merge into Root will meet, and how its tests went.  Kept as the
 * world's note "report" for `pwapt show`. */
#ifndef PWAPT_REPORT_H
#define PWAPT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "../world/world.h"
#include "txn.h"

struct report_package {
	char *name, *arch;
	char *old_version, *new_version; /* NULL: not installed */
	char *old_status, *new_status;	 /* dpkg's third Status word */
	char **files; /* "A /path", "M /path", "D /path"; NULL-terminated */
};

struct report_conffile {
	char *package;
	char *path;
	char *state; /* "kept" (yours kept, theirs beside as .dpkg-dist),
			"replaced" (yours saved as .dpkg-old), "updated",
			"new" */
};

struct report_test {
	char *name;
	int status; /* exit status; 128+N killed by signal N */
};

struct report {
	struct report_package *packages;
	size_t n_packages;
	char **other_files; /* changed, but no changed package ships them */
	struct report_conffile *conffiles;
	size_t n_conffiles;
	char **services; /* that a merge restarts in Root */
	/* Whose package the transaction removes (service_removes(), as
	 * the merge tells): a merge stops them in Root, for good. */
	char **services_stop;
	char **conflicts; /* "path: why", for a merge into Root */
	struct report_test *tests;
	size_t n_tests;
};

void report_release(struct report *r);
/* What transaction T changed against its parent (both worlds running),
 * and the conflicts its chain meets in Root.  Tests are added by the
 * caller. */
int report_build(struct world_store *s, const struct txn *t, struct report *out,
		 struct world_error *err);
/* Conflicts only: refreshed for `pwapt show`, since Root moves on. */
int report_conflicts(struct world_store *s, const char *name, char ***out,
		     struct world_error *err);
int report_save(struct world_store *s, const char *name, const struct report *r,
		struct world_error *err);
int report_load(struct world_store *s, const char *name, struct report *out,
		struct world_error *err);
/* Whether every test passed (true when there were none). */
bool report_tests_passed(const struct report *r);

/* The report for people; FULL lists every file of every package. */
void report_print(FILE *f, const struct txn *t, const struct report *r,
		  bool full);
void report_print_json(FILE *f, const struct txn *t, const struct report *r);

#endif
