/* The comparison operations of world.h: wdiff (diff.c), check-offs
 * (checkoff.c), a world's packages (dbmerge.c) and their file lists
 * (pkglists.c), each the API's name for the function of its floor. */
#include "dbmerge.h"
#include "diff.h"
#include "layers.h"
#include "pkglists.h"

bool world_renames_recorded(struct world_store *s)
{
	return layers_redirect_dir(s) > 0;
}

int world_diff(struct world_store *s, const char *name, const char *other,
	       struct world_diff *out, struct world_error *err)
{
	return diff_layers(s, name, other, out, err);
}

void world_diff_release(struct world_diff *d)
{
	diff_release(d);
}

const char *const *world_diff_excluded_paths(void)
{
	return diff_excluded_paths();
}

int world_checkoff(struct world_store *s, const char *name,
		   const char *const *patterns, size_t n, bool remove,
		   struct world_error *err)
{
	return checkoff_change(s, name, patterns, n, remove, err);
}

int world_checkoff_list(struct world_store *s, const char *name, char ***out,
			struct world_error *err)
{
	return checkoff_list(s, name, out, err);
}

int world_packages(struct world_store *s, const char *name,
		   struct world_packages *out, struct world_error *err)
{
	return dbmerge_packages(s, name, out, err);
}

void world_packages_release(struct world_packages *p)
{
	dbmerge_packages_release(p);
}

int world_package_files(struct world_store *s, const char *name,
			char *const *pkgs, char *const *archs, size_t n,
			char ****out, struct world_error *err)
{
	return pkg_lists_read(s, name, pkgs, archs, n, out, err);
}

void world_package_files_free(char ***files, size_t n)
{
	pkg_lists_free(files, n);
}
