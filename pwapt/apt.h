/* apt's view of a world's tree, through the shim (shim/aptshim.h), and the
 * plan printed the way apt prints it. */
#ifndef PWAPT_APT_H
#define PWAPT_APT_H

#include <stdio.h>

#include "../shim/aptshim.h"
#include "../world/world.h"

/* APT_ANY_UPGRADE: no plan of apt-get's but every archive an upgrade could
 * install, whatever versions it picks (aptshim_plan_any_upgrade()). */
enum apt_kind { APT_UPGRADE, APT_DIST_UPGRADE, APT_INSTALL, APT_ANY_UPGRADE };

/* What apt-get would do (upgrade, dist-upgrade, install PKGS) in WORLD
 * (Root included).  The shim runs in a process inside the world
 * (world_spawn(): its namespaces, its capabilities), so that the world's
 * own configuration, lists and dpkg status are read, its symbolic links
 * resolve inside it, whatever libapt-pkg runs is the world's and runs in
 * the world, never on the host's side, and libapt-pkg's global state stays
 * in that process.  The shim is a module, pwapt-aptshim.so, loaded on
 * first use (beside pwapt's binary, else in its libexec directory): -ENOENT
 * when it cannot be.  Errors as the shim's; a world that takes more than 10
 * minutes to answer gets -ETIMEDOUT. */
int apt_plan(struct world_store *s, const char *world, enum apt_kind kind,
	     char *const *pkgs, size_t n, struct aptshim_plan *out,
	     struct aptshim_error *err);
/* Frees what apt_plan() gave; PLAN is then empty.  NULL is fine. */
void apt_plan_release(struct aptshim_plan *plan);

/* Prints PLAN as apt-get does before it asks: the kept back, new,
 * removed, upgraded and downgraded packages, the counts, the sizes. */
void apt_print_plan(FILE *f, const struct aptshim_plan *plan,
		    enum apt_kind kind);
/* apt's way of writing a size: "12.3 kB", "950 B". */
void apt_size(char *buf, size_t size, double bytes);

#endif
