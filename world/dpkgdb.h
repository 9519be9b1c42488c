/* Merging the package databases of two worlds, record by record.
 *
 * When a merge meets dpkg's status file (or apt's extended_states, debconf's
 * database, dpkg's diversions and statoverride files, or an append-only log)
 * changed on both sides, the merge is done three ways: BASE is the copy saved
 * when the world was created (the common ancestor), OURS the destination as
 * it is now, THEIRS the world's.  For each record (a package, a path, ...):
 *
 *   unchanged on both sides             -> kept as it is
 *   changed, added or removed on one    -> that side's version (or removal)
 *   changed identically on both         -> that version
 *   changed differently on both         -> a conflict, named by the record's
 *                                          key ("name:arch" for a package)
 *
 * Removed on one side and changed on the other is a conflict too.  "Changed"
 * compares records as their own writer would write them, so that formatting
 * noise (field order, spacing, continuation lines) is never a conflict.
 *
 * Inputs are open file descriptors, read from their current offset to the
 * end and never closed; a negative fd stands for an absent file, the same as
 * an empty one (a file that did not exist at BASE, say).  OUT is written from
 * its current offset, and only once the whole merge has succeeded without
 * conflicts (or with DB_MERGE_FORCE); the caller makes it durable (write
 * beside, fsync, rename).  Inputs of 256 MiB or more are refused (-EFBIG).
 *
 * Every function returns >= 0 on success or -errno, filling ERR (may be NULL)
 * with a sentence; nothing prints.  Outputs are untouched on failure.  A
 * malformed file is -EBADMSG, with the file's name and line in the sentence
 * (dpkg's own words for dpkg's status file).
 *
 * The dpkg functions use libdpkg, whose package database is global: each
 * call empties it before and after use, so the caller must not keep a
 * libdpkg database of its own across these calls.  Not thread-safe.  Repeated
 * calls do not grow the heap, except that libdpkg loses a buffer of its own
 * (at most twice the longest field) each time it refuses a malformed file. */
#ifndef PWAPT_DPKGDB_H
#define PWAPT_DPKGDB_H

#include <stdbool.h>
#include <stddef.h>

#include "world.h"

/* An input file: an open fd (or -1 for an absent file) and the name that
 * error messages give it (NULL: "base", "ours", "theirs" or "input"). */
struct db_file {
	int fd;
	const char *name;
};

/* Keys of the records that both sides changed differently, in the order of
 * the keys.  v is NULL-terminated (v[n] == NULL) and owned by the struct. */
struct db_conflicts {
	char **v;
	size_t n;
};
void db_conflicts_release(struct db_conflicts *c);

enum db_merge_flags {
	/* Resolve each conflict in favour of THEIRS (the world being merged)
	 * and write OUT all the same; conflicts are still listed and
	 * counted.  For a forced merge, which loses OURS's side of these
	 * records only: every record that is no conflict is merged as
	 * without the flag, OURS's new and changed ones included.  A
	 * conflict that THEIRS's side cannot resolve (two names on one id,
	 * see db_merge_accounts()) is -EEXIST even so. */
	DB_MERGE_FORCE = 1 << 0,
};

/* The three-way merge functions below all return the number of conflicting
 * records (0: merged and OUT written; > 0: the conflicts are in *CONFLICTS,
 * which may be NULL, and OUT is left untouched unless DB_MERGE_FORCE) or
 * -errno.  *CONFLICTS is filled whenever the return is >= 0. */

/* dpkg's status file (/var/lib/dpkg/status), package by package, keyed by
 * name and architecture ("libc6:amd64", "libc6:i386"; "name" alone for a
 * record without architecture).  Records are parsed with libdpkg's parser and
 * compared as libdpkg's writer dumps them; OUT is written by libdpkg's writer
 * from the merged records, so it is byte for byte what dpkg itself would
 * write for that database (sorted by name and architecture; records dpkg
 * drops as uninformative are dropped).  A package name whose merged instances
 * dpkg could not hold together (two instances not both "Multi-Arch: same",
 * as a crossgrade on one side and a change on the other make) is a conflict
 * on each of its instances.  A status file is taken only when its records,
 * as libdpkg writes them, read back the same: dpkg itself accepts a few it
 * would then write unreadably (a ^Z byte inside a value, an illegal
 * architecture name), which are -EBADMSG here.  Pending journal entries in
 * dpkg's updates/ directory are not read: the caller sees to it that there
 * are none. */
int dpkgdb_merge_status(const struct db_file *base, const struct db_file *ours,
			const struct db_file *theirs, int out, unsigned flags,
			struct db_conflicts *conflicts,
			struct world_error *err);

/* deb822 files that are not dpkg's (apt's extended_states; debconf's
 * config.dat and templates.dat): paragraphs separated by blank lines, keyed
 * by the values of the fields named in KEYS (NULL-terminated, at least one;
 * apt: { "Package", "Architecture", NULL }, debconf: { "Name", NULL }),
 * joined with ':' when several ("libfoo:amd64"); a missing key field other
 * than the first counts as empty and adds nothing to the key.  Records are
 * compared as sets of fields (names case-insensitively, values with their
 * lines' outer spaces trimmed).  OUT keeps OURS's records in OURS's order, each
 * as its side wrote it, then THEIRS's new ones in THEIRS's order (as apt itself
 * rewrites extended_states: existing records in place, new ones after), each
 * followed by one blank line.  A record without its first key field, or two
 * records with one key in a file, is -EBADMSG. */
int db_merge_deb822(const struct db_file *base, const struct db_file *ours,
		    const struct db_file *theirs, int out,
		    const char *const *keys, unsigned flags,
		    struct db_conflicts *conflicts, struct world_error *err);

/* dpkg's diversions file: records of three lines (diverted path, path
 * diverted to, package or ":" for a local diversion) keyed by the diverted
 * path; and dpkg's statoverride file: lines "user group mode path" keyed by
 * the path.  Same rules and order as db_merge_deb822().  Merged diversions
 * that dpkg would refuse together (a path diverted to by two records, or both
 * diverted and diverted to) are conflicts on the records involved. */
int dpkgdb_merge_diversions(const struct db_file *base,
			    const struct db_file *ours,
			    const struct db_file *theirs, int out,
			    unsigned flags, struct db_conflicts *conflicts,
			    struct world_error *err);
int dpkgdb_merge_statoverride(const struct db_file *base,
			      const struct db_file *ours,
			      const struct db_file *theirs, int out,
			      unsigned flags, struct db_conflicts *conflicts,
			      struct world_error *err);
/* dpkg's triggers/File: lines "path package[/noawait]", each line a
 * record keyed by itself (a set: an interest added on one side and
 * removed on the other is the only conflict); same rules as above, the
 * lines in ours' order, theirs' additions after them. */
int dpkgdb_merge_trigfile(const struct db_file *base,
			  const struct db_file *ours,
			  const struct db_file *theirs, int out, unsigned flags,
			  struct db_conflicts *conflicts,
			  struct world_error *err);

/* The account databases that maintainer scripts add system users and
 * groups to (/etc/passwd, shadow, group, gshadow): a record a line, keyed by
 * its first field (the name); same rules and order as db_merge_deb822().
 * WITH_IDS (passwd, group): two names that the merge would give one id (the
 * third field), where OURS does not hold both so already, are a conflict
 * too, listed once as "A and B would share id N".  DB_MERGE_FORCE does not
 * resolve such a clash (-EEXIST, naming it): taking THEIRS's side would drop
 * OURS's account while the files it owns keep its id, or hand them to
 * THEIRS's; only when THEIRS itself holds both names on that id is it
 * taken as THEIRS's choice. */
int db_merge_accounts(const struct db_file *base, const struct db_file *ours,
		      const struct db_file *theirs, int out, bool with_ids,
		      unsigned flags, struct db_conflicts *conflicts,
		      struct world_error *err);

/* passwd with shadow, group with gshadow: one account is a line in each,
 * and a name must take one side in both, or the merge leaves a user in
 * passwd without its shadow entry (or the reverse).  BASE, OURS and THEIRS
 * are merged as db_merge_accounts() merges them, where a name that PBASE,
 * POURS and PTHEIRS (the paired file's sides) change differently is a
 * conflict here too, resolved as there: DB_MERGE_FORCE takes THEIRS's side
 * of that name in both files (its removal included), and without it the
 * name is listed in both. */
int db_merge_account_pair(const struct db_file *base,
			  const struct db_file *ours,
			  const struct db_file *theirs, bool with_ids,
			  const struct db_file *pbase,
			  const struct db_file *pours,
			  const struct db_file *ptheirs, int out,
			  unsigned flags, struct db_conflicts *conflicts,
			  struct world_error *err);

/* Append-only logs (dpkg.log, apt/history.log, apt/term.log), which both
 * sides only appended to: writes OURS followed by what THEIRS added, that is
 * THEIRS past the longest common prefix of the two cut back to a line start
 * (all of THEIRS when they share no line; nothing when THEIRS is a prefix of
 * OURS).  A newline ends OURS first if it lacks one.  Returns 0. */
int db_merge_log(const struct db_file *ours, const struct db_file *theirs,
		 int out, struct world_error *err);

/* The packages recorded in a status file, for reports (old -> new versions,
 * conffiles).  Every record that dpkg keeps is listed, whatever its state:
 * filter on status ("installed", "config-files", ...) as needed. */
struct dpkg_conffile {
	char *path;
	char *md5sum; /* as recorded: "newconffile" before the first install */
	bool obsolete;
	bool remove_on_upgrade;
};

struct dpkg_package {
	char *name;
	char *arch;    /* "" when the record has none */
	char *version; /* as dpkg writes it ("1:2.3-4"); "" when none */
	/* The Status field's three words: "install ok installed". */
	char want[16];
	char eflag[16];
	char status[24];
	bool multiarch_same;
	struct dpkg_conffile *conffiles;
	size_t n_conffiles;
};

struct dpkg_packages {
	struct dpkg_package *v; /* sorted by name, then architecture */
	size_t n;
};

/* Reads the status file IN with libdpkg's parser into *OUT (released with
 * dpkgdb_packages_release()).  Returns the number of packages. */
int dpkgdb_read(const struct db_file *in, struct dpkg_packages *out,
		struct world_error *err);
void dpkgdb_packages_release(struct dpkg_packages *p);

#endif
