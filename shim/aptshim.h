/*
 * aptshim: what apt would do, for C.  A plain C11 API over libapt-pkg
 * (implemented in C++, shim/aptshim.cc): the plans of `apt-get upgrade`,
 * `apt-get dist-upgrade` and `apt-get install PKG...` for a tree, package
 * versions and installed file lists.  Link shim/libaptshim.a with
 * -lapt-pkg -lstdc++.
 *
 * Errors: every function returns >= 0 on success or -errno, and then fills
 * *err (when err is not NULL) with code = the errno value (positive: minus
 * the return value, as libworld's struct world_error) and msg = one
 * lowercase sentence without a final period, in apt's own words where apt
 * has them (several apt errors are joined by "; "):
 *   -ENOENT   unknown package ("unable to locate package foo"), version or
 *             release, package not installed (aptshim_files)
 *   -EDEADLK  apt cannot satisfy the request: msg has apt's error and its
 *             explanation ("unable to correct problems, you have held broken
 *             packages; the following packages have unmet dependencies:
 *             foo : Depends: bar but it is not installable")
 *   -EIO      apt cannot read the tree's configuration, sources, lists or
 *             dpkg status ("malformed entry 3 in list file
 *             /etc/apt/sources.list (Component); the list of sources could
 *             not be read")
 *   -EBUSY    another shim is open in this process
 *   -EINVAL   bad arguments
 *   -ENOMEM   out of memory
 * Output parameters are untouched on failure.  Nothing is ever printed:
 * libapt-pkg's errors become msg, its warnings and notices are discarded.
 *
 * Threads and processes: libapt-pkg keeps global state (its configuration,
 * the packaging system, the error stack), so a process has at most one shim
 * open at a time, used from one thread.  aptshim_free() releases it all;
 * then another tree can be opened.
 *
 * The shim never writes into the tree: the package cache is built in memory,
 * no lock is taken, extended_states is only read.  Nor does it run the
 * tree's programs where libapt-pkg would ask one for a fact: the
 * architectures come from dpkg's arch file (not dpkg), "not a chroot" for
 * phased updates (not ischroot), the capabilities of apt's own acquire
 * methods (none is started); dpkg's and apt's hooks are dropped.  What the
 * tree's configuration names to shape the plan, an external solver
 * (APT::Solver) or a decompressor of its lists (APT::Compressor), still
 * runs: open a world's tree only in a process inside that world.
 */
#ifndef PWAPT_APTSHIM_H
#define PWAPT_APTSHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define APTSHIM_MSG_MAX 1024

struct aptshim_error {
	int code;		   /* the errno value, positive (the call
				      returned -code); 0 on success */
	char msg[APTSHIM_MSG_MAX]; /* "" on success */
};

struct aptshim;

enum aptshim_action {
	APTSHIM_INSTALL,   /* newly installed */
	APTSHIM_UPGRADE,   /* to a newer version */
	APTSHIM_DOWNGRADE, /* to an older version */
	APTSHIM_REINSTALL, /* the same version again */
	APTSHIM_REMOVE,	   /* removed (purged when apt's config says so) */
	APTSHIM_KEPT_BACK, /* upgradable, but the plan leaves it alone */
};

struct aptshim_change {
	char *name;	   /* package name, without architecture */
	char *arch;	   /* architecture of the version concerned: "all",
			      "amd64", ... */
	char *old_version; /* installed version, NULL if not installed */
	char *new_version; /* version after the plan, NULL if removed; kept
			      back: the candidate it was not upgraded to */
	enum aptshim_action action;
	bool automatic; /* after the plan, apt marks the package as
			   automatically installed (a dependency) */
};

struct aptshim_plan {
	struct aptshim_change *changes; /* sorted by name, then arch */
	size_t n_changes;
	/* What apt prints: "N upgraded, N newly installed, [N reinstalled, ]
	 * [N downgraded, ]N to remove and N not upgraded." */
	unsigned long upgraded;
	unsigned long newly_installed;
	unsigned long reinstalled;
	unsigned long downgraded;
	unsigned long to_remove;
	unsigned long not_upgraded;
	/* Bytes of .deb archives the plan installs (apt's "Need to get X/Y":
	 * Y, whatever is already downloaded). */
	uint64_t download_size;
	/* Of those, the bytes still to fetch ("Need to get X/Y": X): not
	 * in the archive cache, not on a file: source. */
	uint64_t fetch_size;
	/* The number of those archives: a version without a Size: field
	 * still needs a fetch, of 0 bytes as apt counts. */
	unsigned long fetch_archives;
	/* Change of installed size in bytes, negative when space is freed. */
	int64_t installed_size_change;
};

/*
 * Opens the apt state of the tree at ROOTDIR: "/" (also in a process that
 * chroot()ed into a tree) or any directory holding a Debian system (apt's
 * RootDir).  Reads the tree's apt.conf, apt.conf.d, sources.list,
 * sources.list.d (.list and deb822 .sources), preferences, package lists,
 * extended_states, dpkg status and dpkg's arch file (-EIO when it cannot
 * be read; none: the native architecture only).  On success *OUT owns the shim; release
 * it with aptshim_free().
 */
int aptshim_open(struct aptshim **out, const char *rootdir,
		 struct aptshim_error *err);

/* Releases the shim and libapt-pkg's global state.  NULL is fine. */
void aptshim_free(struct aptshim *shim);

/*
 * What `apt-get upgrade` (DIST false: no removals, no new packages; packages
 * that would need either are listed as APTSHIM_KEPT_BACK) or `apt-get
 * dist-upgrade` (DIST true) would do, with the tree's configuration.  Fills
 * *OUT (release with aptshim_plan_release()) and returns the number of
 * changes.  Each plan starts from the tree's state: plans do not add up.
 */
int aptshim_plan_upgrade(struct aptshim *shim, bool dist,
			 struct aptshim_plan *out, struct aptshim_error *err);

/*
 * What `apt-get install PKGS...` would do: each of the N arguments as
 * apt-get takes it ("pkg", "pkg:arch", "pkg=version", "pkg/release", and
 * "pkg-" to remove), Recommends as the tree's configuration says.  Returns
 * the number of changes.  Upgradable packages the plan leaves alone are
 * listed as APTSHIM_KEPT_BACK too (apt-get install only counts them, as
 * "not upgraded").
 */
int aptshim_plan_install(struct aptshim *shim, const char *const *pkgs,
			 size_t n, struct aptshim_plan *out,
			 struct aptshim_error *err);

/*
 * Every archive an upgrade of the tree's installed packages could need,
 * whatever versions it picks (unattended-upgrade's allowed origins may
 * pick another version than apt's candidate): each version of an
 * installed package newer than the installed one (with
 * Unattended-Upgrade::Allow-downgrade in the tree's configuration, any
 * other one), and every version of every package that could satisfy one
 * of their Depends, Pre-Depends, Recommends or (with APT::Install-Suggests)
 * Suggests that nothing installed satisfies for good, and so on (an
 * installed version satisfies it for good when every version that could
 * replace it does too).  No changes are listed; in *OUT, upgraded counts
 * those versions, newly_installed those of packages not installed,
 * download_size, fetch_size and fetch_archives their archives (the last
 * two: not in the archive cache, not on a file: source).  Nothing is
 * fetched or written.
 * Returns 0.
 */
int aptshim_plan_any_upgrade(struct aptshim *shim, struct aptshim_plan *out,
			     struct aptshim_error *err);

/* Frees what a plan holds and zeroes it.  NULL or a zeroed plan is fine. */
void aptshim_plan_release(struct aptshim_plan *plan);

/*
 * The installed and the candidate version of PKG ("name" or "name:arch"),
 * as `apt-cache policy` shows them: each a string to free(), or NULL for
 * "(none)".  INSTALLED or CANDIDATE may be NULL when not wanted.
 */
int aptshim_versions(struct aptshim *shim, const char *pkg, char **installed,
		     char **candidate, struct aptshim_error *err);

/*
 * The files of the installed package PKG as dpkg lists them (its
 * info/NAME.list, or NAME:ARCH.list for Multi-Arch: same, in the status
 * file's directory): *FILES is a NULL-terminated vector in dpkg's order
 * ("/." first, directories included), to free with aptshim_strv_free().
 * Returns the number of entries.
 */
int aptshim_files(struct aptshim *shim, const char *pkg, char ***files,
		  struct aptshim_error *err);

/* Frees a NULL-terminated vector of strings.  NULL is fine. */
void aptshim_strv_free(char **strv);

/* A static name for an action: "install", "upgrade", "downgrade",
 * "reinstall", "remove", "kept back". */
const char *aptshim_action_name(enum aptshim_action action);

#ifdef __cplusplus
}
#endif

#endif
