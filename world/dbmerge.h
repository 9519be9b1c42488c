/* Package databases that a merge combines rather than overwrites.  Private
 * to libworld.
 *
 * Two worlds that each ran dpkg changed /var/lib/dpkg/status, apt's
 * extended_states, dpkg's and apt's logs and caches.  When a merge meets
 * one of these files changed on both sides (README, "Package databases"),
 * it does not refuse: it merges the file record by record against the copy
 * saved when SRC was created (its base), and only two different changes of
 * one record (one package) are a conflict.  Logs are appended to, caches
 * are dropped (apt rebuilds them), backups ("-old") and apt's planner log
 * (rewritten whole by each apt run) follow SRC. */
#ifndef PWAPT_DBMERGE_H
#define PWAPT_DBMERGE_H

#include "store.h"

/* What a merge does with a database that both sides changed. */
enum dbmerge_action {
	DBMERGE_NONE,	 /* not such a database: a conflict stays one */
	DBMERGE_MERGED,	 /* OUT holds the merged file */
	DBMERGE_DROP,	 /* a cache: deleted in DST, rebuilt on demand */
	DBMERGE_THEIRS,	 /* a backup, apt's planner log: SRC's version, as
			    for any change */
	DBMERGE_DERIVED, /* made by a tool from other files: SRC's version,
			    until the tool runs in DST (ldconfig) */
};

/* Saves, in worlds/NAME/base/, the databases of world NAME's tree TREE (a
 * directory fd) that a later merge needs a base of.  Called right after
 * the world's tree is mounted; not durable until dbmerge_sync_bases(). */
int dbmerge_save_bases(struct world_store *s, const char *name, int tree,
		       struct world_error *err);

/* Makes world NAME's saved bases durable, and with them everything else
 * written to the state directory's file system (one syncfs): the new
 * world's directories too.  Called before the world is marked ready. */
int dbmerge_sync_bases(struct world_store *s, const char *name,
		       struct world_error *err);

/* The packages that the dpkg status file of world NAME's tree lists
 * (dbmerge_packages() of world.h), released with dbmerge_packages_release(). */
int dbmerge_packages(struct world_store *s, const char *name,
		     struct world_packages *out, struct world_error *err);
void dbmerge_packages_release(struct world_packages *p);

/* Whether PATH (world-relative, absolute) is a database that is merged
 * rather than overwritten. */
bool dbmerge_known(const char *path);

/* Whether PATH is a log merged by appending the world's new lines (dpkg's,
 * apt's, a service's: /var/log/ * * /NAME.log, syslog, messages). */
bool dbmerge_log(const char *path);

/* What a merge will do with PATH if both sides changed it, without
 * reading anything; DBMERGE_NONE for a file that is no such database. */
enum dbmerge_action dbmerge_planned(const char *path);

/* Whether a forced roll-back of a merge that wrote PATH undoes it with
 * dbmerge_undo() where DST changed it since: the merge keeps a copy of what
 * it writes there.  A database merged record by record, and apt's planner
 * log, which apt rewrites whole. */
bool dbmerge_undoable(const char *path);

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

/* The account database whose records pair with PATH's, name by name:
 * "/etc/shadow" for "/etc/passwd" and the reverse, gshadow and group; NULL
 * for any other path.  A merge that merges one record by record merges
 * the other with it, and a name takes one side in both. */
const char *dbmerge_partner(const char *path);

/* Undoes a record-by-record merge of database PATH that DST changed since:
 * FILES are fds of the file the merge wrote, of DST's file before the
 * merge, and of DST's file now (-1: absent).  OUT (an empty regular file)
 * gets DST's file now where each record DST has left as the merge wrote it
 * is back as it was before the merge (or gone, when the merge added it);
 * every record DST added, removed or changed since stays as DST has it,
 * also one the merge had changed too (DST's change wins).  An append-only
 * log loses the lines the merge appended, and keeps those DST appended
 * since (all of DST's log, when it does not begin with the merge's).  A
 * file its tool rewrites whole (apt's planner log) is DST's now, whole.
 * PARTNER (may be
 * NULL): the same three fds of dbmerge_partner(PATH), so that a name takes
 * one side in both files.  -EINVAL for a file that is not merged record by
 * record; -EBADMSG for a malformed one; -EEXIST when the result would give
 * two accounts one id (err names them). */
int dbmerge_undo(const char *path, const int files[3], const int *partner,
		 int out, struct world_error *err);

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

/* Takes the same locks beneath TREE, the tree of SRC (the world being
 * merged), as read locks: the tree is not written, and a tool, which
 * takes a write lock, cannot start there while they are held.  Any lock
 * held by another process is -EBUSY naming the tool (dpkg or apt running
 * in SRC means a world half unpacked).  A lock file that is missing is
 * left so (made, it would be a change of SRC); call again once SRC is
 * frozen, and what appeared since is tried too.  Locks already in L stay. */
int dbmerge_lock_source(int tree, const char *src, struct dbmerge_locks *l,
			struct world_error *err);

/* Whether dpkg left journal entries in TREE (var/lib/dpkg/updates/NNNN)
 * that it has not folded into its status file: dpkg runs there, or was
 * interrupted, and the status file alone does not say what is installed.
 * A directory that cannot be read counts as such a journal. */
bool dbmerge_dpkg_interrupted(int tree);

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
