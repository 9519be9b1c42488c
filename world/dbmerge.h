/* Package databases that a merge combines rather than overwrites.  Private
 * to libworld.
 *
 * Two worlds that each ran dpkg changed /var/lib/dpkg/status, apt's
 * extended_states, dpkg's and apt's logs and caches.  When a merge meets
 * one of these files changed on both sides (README, "Package databases"),
 * it does not refuse: it merges the file record by record against the copy
 * saved when SRC was created (its base), and only two different changes of
 * one record (one package) are a conflict.  Logs are appended to, caches
 * are dropped (apt rebuilds them), backups ("-old") follow SRC. */
#ifndef PWAPT_DBMERGE_H
#define PWAPT_DBMERGE_H

#include "store.h"

/* What a merge does with a database that both sides changed. */
enum dbmerge_action {
	DBMERGE_NONE,	 /* not such a database: a conflict stays one */
	DBMERGE_MERGED,	 /* OUT holds the merged file */
	DBMERGE_DROP,	 /* a cache: deleted in DST, rebuilt on demand */
	DBMERGE_THEIRS,	 /* a backup: SRC's version, as for any change */
	DBMERGE_DERIVED, /* made by a tool from other files: SRC's version,
			    until the tool runs in DST (ldconfig) */
};

/* Saves, in worlds/NAME/base/, the databases of world NAME's tree TREE (a
 * directory fd) that a later merge needs a base of.  Called right after
 * the world's tree is mounted. */
int dbmerge_save_bases(struct world_store *s, const char *name, int tree,
		       struct world_error *err);

/* The packages that the dpkg status file of world NAME's tree lists
 * (dbmerge_packages() of world.h), released with dbmerge_packages_release(). */
int dbmerge_packages(struct world_store *s, const char *name,
		     struct world_packages *out, struct world_error *err);
void dbmerge_packages_release(struct world_packages *p);

/* Whether PATH (world-relative, absolute) is a database that is merged
 * rather than overwritten. */
bool dbmerge_known(const char *path);

/* What a merge will do with PATH if both sides changed it, without
 * reading anything; DBMERGE_NONE for a file that is no such database. */
enum dbmerge_action dbmerge_planned(const char *path);

/* Resolves PATH, changed both in SRC (tree SRC_TREE) and in DST (tree
 * DST_TREE) since SRC was created.  With DBMERGE_MERGED the merged file is
 * written to OUT (an empty regular file open for writing; may be -1 to
 * only find out).  Two different changes of one record are -EEXIST, and
 * *conflict (malloc'd) names them: "package pwapt-test-c:all".  FORCE (a
 * forced merge) takes SRC's side of those records and keeps every other
 * record of both sides; what SRC's side cannot resolve (two accounts on one
 * id) is -EEXIST all the same.  A missing base (a world made before pwapt
 * kept them) is -ENOENT, and a malformed side -EBADMSG, forced or not:
 * --force never replaces a whole database. */
int dbmerge_resolve(struct world_store *s, const char *src, int src_tree,
		    int dst_tree, const char *path, int out, bool force,
		    enum dbmerge_action *action, char **conflict,
		    struct world_error *err);

/* The locks of the tools that write these databases in a tree: dpkg's
 * (lock-frontend, then lock, as apt takes them) and that of shadow's
 * account tools (/etc/.pwd.lock, which lckpwdf(3) takes: useradd, vipw,
 * passwd).  Held, while the fds stay open, as open file description locks,
 * which conflict with the tools' fcntl() locks. */
enum dbmerge_lock_kind { DBLOCK_DPKG, DBLOCK_ACCOUNTS, DBLOCK_N };

struct dbmerge_locks {
	int fd[3];	    /* lock-frontend, lock, .pwd.lock */
	int busy[DBLOCK_N]; /* another process held it: its file, by index
			       into fd[], plus one; 0 when taken or missing */
};
#define DBMERGE_LOCKS_INIT           \
	{                            \
		.fd = { -1, -1, -1 } \
	}

/* Takes, beneath TREE (DST's tree, a directory fd), every lock above whose
 * file exists, without waiting.  A lock another process holds is no error:
 * it is noted, and dbmerge_check_lock() refuses the paths it guards.  A
 * merge calls this before the diff that decides it, so that neither dpkg
 * nor an account tool changes DST's databases between that diff and the
 * apply.  Fails only when a lock cannot be tried at all (-errno, naming
 * DST). */
int dbmerge_lock(int tree, const char *dst, struct dbmerge_locks *l,
		 struct world_error *err);

/* Whether a merge may write PATH (world-relative, absolute) into DST, whose
 * tree is TREE, under L: 0 when it may; -EBUSY, naming the tool's lock,
 * when a lock that guards PATH is held by another process (dpkg's guards
 * /var/lib/dpkg/ and apt's extended_states, shadow's guards passwd,
 * shadow, group, gshadow, subuid, subgid and their backups in /etc).  1
 * when a lock file that guards PATH was missing (no tool had run there):
 * it is now made, as its tool makes it, and taken, and what was decided
 * without it (the diff) must be decided again. */
int dbmerge_check_lock(int tree, struct dbmerge_locks *l, const char *path,
		       const char *dst, struct world_error *err);

/* Releases every lock of L (for _cleanup_). */
void dbmerge_unlock(struct dbmerge_locks *l);

#endif
