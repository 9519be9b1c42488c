/* The files of B's dpkg lists, for wdiff's modify/delete test
 * (conflicts.c). */
#ifndef PWAPT_PKGLISTS_H
#define PWAPT_PKGLISTS_H

#include <stdbool.h>
#include <stddef.h>

#include "diff.h"

/* The files that B's packages held when A was created: every line of
 * B's dpkg lists (var/lib/dpkg/info/P.list) that B has not changed
 * since, sorted, with P.  Read once, only when a file of A's is in
 * doubt: dpkg replaces its files whole, leaving no copy-up origin. */
struct pkg_file {
	char *path;
	const char *pkg; /* into names */
};

struct pkg_files {
	bool loaded;
	size_t bytes; /* of the lists read */
	struct pkg_file *v;
	size_t n, cap;
	char **names;
	size_t n_names;
};

void pkg_files_release(struct pkg_files *f);
/* The package of B that held PATH when A was created, or NULL: B's lists
 * read on the first call, each of them and all of them bounded (B's to
 * write: a world's, when B is one); a list too big is unknown, so are all
 * when they are together.  0 or -errno. */
int pkg_of(const struct diff_trees *t, struct pkg_files *f, const char *path,
	   const char **pkg);

/* The lines of dpkg's lists of PKGS[i] (of ARCHS[i], "" for none) in
 * NAME's tree, read beneath it (world_package_files()). */
int pkg_lists_read(struct world_store *s, const char *name, char *const *pkgs,
		   char *const *archs, size_t n, char ****out,
		   struct world_error *err);
void pkg_lists_free(char ***files, size_t n);

#endif
