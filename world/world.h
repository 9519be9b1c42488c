/* libworld: the parallel world model as a C library.
 *
 * A store is the state directory (PWAPT_STATE) together with the Root it
 * serves (PWAPT_ROOT).  Every operation on worlds goes through an open store.
 * Opening a store takes the store's lock and first repairs what an earlier,
 * interrupted command left behind (a half-created world, a half-deleted one),
 * so that concurrent commands serialize and a crash never leaves state that
 * the next command trusts.
 *
 * Errors: every function returns >= 0 on success and -errno on failure, and
 * then fills the caller's struct world_error with a sentence naming the
 * object.  Nothing here prints.  Output parameters are untouched on failure. */
#ifndef PWAPT_WORLD_H
#define PWAPT_WORLD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WORLD_ROOT     "Root"
#define WORLD_NAME_MAX 64

struct world_error {
	int code;	/* errno value, positive; 0 when no error */
	char msg[1024]; /* lowercase sentence without trailing newline */
};

/* What runs as PID 1 of a container (pwapt.conf's "init"). */
enum world_init {
	/* pwapt-init, never code of the world (the default). */
	WORLD_INIT_NONE = 0,
	/* The tree's own systemd where its /sbin/init is systemd and this
	 * host can run it in a container (a cgroup hierarchy systemd can
	 * use); pwapt-init elsewhere. */
	WORLD_INIT_AUTO,
	/* The tree's own systemd; a container that cannot run it does not
	 * start, and the error says why. */
	WORLD_INIT_SYSTEMD,
};

struct world_config {
	const char *root;  /* Root's directory; NULL means "/" */
	const char *state; /* state directory; NULL means /var/lib/pwapt */
	const char *init;  /* path of pwapt-init, PID 1 of every container */
	enum world_init init_system; /* what PID 1 is, see enum world_init */
	/* Called (may be NULL) when another command holds the store's lock
	 * and this one is about to wait for it. */
	void (*waiting)(const char *state);
	/* Called (may be NULL) with a warning for the user about something
	 * an operation did besides what it was asked: one lowercase sentence,
	 * no newline, that may name paths of a world (show them escaped).
	 * Today a roll-back (world_rollback, a failed world_merge, the
	 * recovery in world_store_open) that puts a merged directory back
	 * beside the one DST made at its name since; and a run in a world
	 * after which what its parent held could not be noted (diff.h,
	 * diff_note_lower). */
	void (*warn)(const char *msg);
	/* Networking (see world_net_*): NULL means the default. */
	const char *bridge; /* pwapt's bridge, default "pwapt0" */
	const char *subnet; /* the worlds' addresses, default 10.213.0.0/16 */
	int outbound;	    /* child worlds may connect beyond the bridge:
			       0 off (the default), 1 on */
};

struct world_store;

/* Loads liblxc now, which every operation on a container otherwise loads
 * when first needed (a command that never asks a container, such as a
 * wdiff of a world that only adds, never does): for a program that must
 * know at its start (the trace collector), or before liblxc's own
 * start-up code re-executes the program (LXC_MEMFD_REXEC), as it did when
 * it was linked.  0, or -ELIBACC with ERR saying why. */
int world_load_containers(struct world_error *err);

/* Opens (creating if needed) the state directory and takes its lock.
 * Recovers interrupted creations and deletions.  The store is released with
 * world_store_free(), which also drops the lock. */
int world_store_open(struct world_store **out, const struct world_config *cfg,
		     struct world_error *err);
void world_store_free(struct world_store *store);
/* Drops the store's lock early, for commands that run long after their
 * bookkeeping is done (wexec, wconsole).  The store stays usable for reads of
 * what was already loaded. */
void world_store_unlock(struct world_store *store);
const char *world_store_root(const struct world_store *store);
/* Whether opening the store finished or rolled back an interrupted merge. */
bool world_store_recovered(const struct world_store *store);
const char *world_store_state(const struct world_store *store);

/* Returns true for a syntactically valid world name (Root included). */
bool world_name_valid(const char *name);

/* One path that two or more parents of a new world both changed. */
struct world_overlap {
	char *path;    /* world-relative, absolute ("/etc/motd") */
	char *winner;  /* the parent whose version the world sees */
	char **losers; /* NULL-terminated: the parents that are hidden */
};

struct world_overlaps {
	struct world_overlap *v;
	size_t n;
};
void world_overlaps_release(struct world_overlaps *o);

/* Creates world NAME over PARENTS (n >= 1, in priority order), mounts its
 * tree and starts its container.  With several parents, fills *overlaps
 * (may be NULL) with the paths where they overlap. */
int world_create(struct world_store *store, const char *name,
		 const char *const *parents, size_t n_parents,
		 struct world_overlaps *overlaps, struct world_error *err);

/* A note (see world_note_write) that a new world is made with. */
struct world_note {
	const char *key;
	const char *data;
	size_t len;
};
/* How world_create_noted() makes a world. */
enum {
	/* Its layer mounted "volatile" where the kernel has it: no sync of
	 * anything written in the world (dpkg in a world at in-place
	 * speed), at the price of crash safety: a world whose tree goes
	 * away (a crash, a reboot) before world_make_durable() is never
	 * mounted again (WORLD_CRASHED), only deleted.  For worlds that a
	 * crash may simply discard; no world can be built on one. */
	WORLD_CREATE_VOLATILE = 1u << 0,
};
/* As world_create, writing NOTES (N_NOTES of them) before the world is
 * complete: a crash at any moment leaves either no world (the next command
 * discards an unfinished one) or one that has every note, never a world
 * without them (a front end's record of what the world is for).  FLAGS:
 * WORLD_CREATE_*. */
int world_create_noted(struct world_store *store, const char *name,
		       const char *const *parents, size_t n_parents,
		       const struct world_note *notes, size_t n_notes,
		       unsigned flags, struct world_overlaps *overlaps,
		       struct world_error *err);

/* Whether world NAME's layer is volatile: created so, mounted without
 * crash safety, not made durable since.  False where the kernel's overlayfs
 * has no "volatile" (the world was mounted plain). */
bool world_volatile(struct world_store *store, const char *name);
/* Whether worlds record a renamed directory instead of copying it
 * (overlayfs' redirect_dir=on, probed once for the state directory): false
 * where this kernel or the state directory's file system cannot. */
bool world_renames_recorded(struct world_store *store);
/* Makes what world NAME holds now durable (syncfs of its layer's file
 * system).  A volatile world is stopped first, then synced, unmounted and
 * no longer volatile: the next command mounts it plain and starts it.
 * Fails, saying the layer is damaged, when writing it to disk failed (a
 * writeback error since the volatile mount); -EUCLEAN for a volatile world
 * caught by a crash. */
int world_make_durable(struct world_store *store, const char *name,
		       struct world_error *err);

/* Deletes the named worlds.  Refuses Root, unknown names, and worlds with
 * children not named too; nothing is deleted then. */
int world_delete(struct world_store *store, const char *const *names, size_t n,
		 struct world_error *err);
/* The same, the worlds' files removed by a detached process after this
 * returns (their names are free at once): for worlds never merged, as
 * wdelete's. */
int world_delete_detached(struct world_store *store, const char *const *names,
			  size_t n, struct world_error *err);

/* Makes sure a world's tree is mounted and its container runs (after a
 * reboot or a crash of the container).  *revived is set when anything had to
 * be brought back. */
int world_ensure_running(struct world_store *store, const char *name,
			 bool *revived, struct world_error *err);

/* Runs argv in world NAME with stdin, stdout and stderr passed through and a
 * clean environment; *status receives the command's exit status (128+signal
 * when it was killed).  Drops the store lock while the command runs. */
int world_exec(struct world_store *store, const char *name, char *const *argv,
	       int *status, struct world_error *err);

/* How world_exec_with() runs a command; zero-initialized is world_exec(). */
struct world_exec_options {
	/* The host's network namespace instead of the world's own (the
	 * world's mount, PID, UTS, IPC and cgroup namespaces all the same):
	 * for downloads of packages, which a world's network may not reach. */
	bool host_network;
	/* More "NAME=value" entries for the command's clean environment;
	 * NULL-terminated, or NULL. */
	char *const *env;
	/* Seconds after which the command is killed (SIGKILL) and *status
	 * is 128+9; 0 waits for as long as it takes. */
	unsigned timeout;
	/* The command leads a session of its own (setsid(2)), and the
	 * timeout kills its whole process group: what it started in the
	 * background too, unless that left the group. */
	bool own_session;
	/* When set, receives whether the timeout killed the command (a
	 * command may also exit 128+9 by itself). */
	bool *timed_out;
	/* Where the command's stdout and stderr go, when > 0 (stdin is then
	 * /dev/null); otherwise pwapt's own stdin, stdout and stderr. */
	int output_fd;
};

/* world_exec() with OPTS (may be NULL). */
int world_exec_with(struct world_store *store, const char *name,
		    char *const *argv, const struct world_exec_options *opts,
		    int *status, struct world_error *err);

/* Starts pwapt's own code, FN(ARG), in a new process inside world NAME,
 * where world_exec() runs a command: attached to the world's container
 * (its mount, PID, UTS, IPC, network and cgroup namespaces, the same
 * capabilities dropped), or for Root on the host a plain child.  For code
 * that must see a world as the world sees itself: whatever it reads
 * resolves in the world's tree, and whatever it runs is the world's and
 * runs there, never on the host's side.  The process has a clean
 * environment (as world_exec's), /dev/null as stdin, stdout and stderr, no
 * other descriptor than KEEP_FD (-1: none), and FN's return value as its
 * exit status.  *pid receives it: the caller waits for it (waitpid(2)).
 * The store's lock is kept. */
int world_spawn(struct world_store *store, const char *name,
		int (*fn)(void *arg), void *arg, int keep_fd, pid_t *pid,
		struct world_error *err);

/* An interactive login shell in world NAME on a new pseudo-terminal,
 * debian_chroot=NAME in its environment (a child world's host name is
 * Root's: Debian's prompt names the world by it). */
int world_console(struct world_store *store, const char *name, int *status,
		  struct world_error *err);

/* The path where the host sees world NAME's tree: Root's directory, or the
 * world's mounted overlay, which is mounted first if needed (after a
 * reboot); its container is not started for a read.  *out is
 * malloc'd.  Reading a world's tree from the host follows the world's
 * symbolic links as the host resolves them: confine such reads (chroot,
 * openat2 with RESOLVE_IN_ROOT) to the tree. */
int world_tree(struct world_store *store, const char *name, char **out,
	       struct world_error *err);

/* Opens PATH in world NAME's tree as open(2) with FLAGS would, resolved
 * beneath the tree without following any symbolic link (-ELOOP for one on
 * the way, -ENOENT for a missing path, both without filling ERR). */
int world_open_in(struct world_store *store, const char *name, const char *path,
		  int flags, struct world_error *err);

/* Services of a world (wlist --services): its init scripts (/etc/init.d)
 * and systemd service units (/lib/systemd/system, /usr/lib/systemd/system,
 * /etc/systemd/system; templates aside, masked ones left out), one entry a
 * name.  Enabled: an rc[2-5].d start link, or a link in a *.wants or
 * *.requires directory of /etc/systemd/system.  Running: a process of the
 * world (of its container's PID namespace; for Root on the host, of
 * pwapt's own) is in the unit's cgroup, or a pid file of the service (its
 * init script's PIDFILE= or --pidfile, its unit's PIDFile=, else
 * /run/NAME.pid) names one; that process and its descendants are the
 * service's.  A world whose container does not run runs no service.  Read
 * from the host's /proc and beneath the world's tree, never following a
 * symbolic link, with bounded reads: nothing of the world is executed. */
enum world_service_kind {
	WORLD_SERVICE_INIT,    /* an init script */
	WORLD_SERVICE_SYSTEMD, /* a unit ("NAME.service") */
};
struct world_service {
	char *name; /* the init script's, or the unit's without .service */
	/* Where both exist: systemd when the world runs systemd (it has
	 * /run/systemd/system), else init. */
	enum world_service_kind kind;
	bool enabled, running;
	pid_t *pids; /* as the world numbers them, ascending */
	size_t n_pids;
	char *note; /* what could not be read about it, or NULL */
	/* The pid files of it refused (a symbolic link, no pid, pid 1, no
	 * process of the world...), each named, joined by "; "; or NULL. */
	char *warning;
};
struct world_services {
	struct world_service *v; /* sorted by name */
	size_t n;
	char *note; /* what could not be read at all (a directory), or NULL */
};
int world_services(struct world_store *store, const char *name,
		   struct world_services *out, struct world_error *err);
void world_services_release(struct world_services *l);

/* What the processes of world NAME run and map, as needrestart sees it,
 * taken before a merge into NAME: with world_replaced_users() afterwards,
 * the processes that use a file the merge replaced or deleted. */
struct world_file_users;
struct world_diff;
int world_file_users(struct world_store *store, const char *name,
		     struct world_file_users **out, struct world_error *err);
void world_file_users_free(struct world_file_users *u);
/* How many files U's processes (world_file_users()) map or run that a
 * merge may write: none (no process, or only pwapt-init, which runs from
 * /run), and no merge into its world replaces a file one of them uses. */
size_t world_file_users_count(const struct world_file_users *u);

struct world_replaced_user {
	char *service;	/* its service (world_services), or NULL: none */
	pid_t pid;	/* as the world numbers it (what `wexec W ps` shows) */
	pid_t host_pid; /* as pwapt's own PID namespace numbers it */
	char comm[17];
	char *path; /* the first file it maps or runs that was replaced */
};
struct world_replaced_users {
	struct world_replaced_user *v; /* by pid */
	size_t n;
};
/* The processes of BEFORE (a snapshot of NAME) that map or run a file
 * whose path in NAME's tree no longer holds the file it held then
 * (another inode, changed status, or none): one entry a process. */
int world_replaced_users(struct world_store *store, const char *name,
			 const struct world_file_users *before,
			 struct world_replaced_users *out,
			 struct world_error *err);
/* Before a merge into NAME: the processes of BEFORE (a snapshot of NAME)
 * that map or run a path the merge of diff D (world_diff() of the merged
 * world against NAME) writes, the path itself or a directory deleted
 * above it, checked-off and excluded changes left out: what
 * world_replaced_users() will say after that merge.  Reads nothing. */
int world_planned_users(const struct world_file_users *before,
			const struct world_diff *d,
			struct world_replaced_users *out,
			struct world_error *err);
void world_replaced_users_release(struct world_replaced_users *r);

/* The TCP ports that the processes PIDS (N of them, as world NAME numbers
 * them: a world_service's pids) listen on, from the host's /proc: the
 * sockets their descriptors hold against the listening ones of their
 * network namespace.  Sorted by port, each port and family once; none
 * when NAME runs nothing.  out->v malloc'd (world_ports_release). */
struct world_port {
	int family;    /* 4 (tcp) or 6 (tcp6) */
	unsigned port; /* in the process's own network namespace */
};
struct world_ports {
	struct world_port *v;
	size_t n;
};
int world_listening_ports(struct world_store *store, const char *name,
			  const pid_t *pids, size_t n, struct world_ports *out,
			  struct world_error *err);
/* The start order of services NAMES (N, given in their order by other
 * means: rc2.d S-numbers, then name) in world NAME: ORDER (N entries)
 * receives indexes of NAMES such that a systemd unit starts after the
 * services of NAMES its [Unit] section (unit file and drop-ins
 * NAME.service.d/ *.conf, read beneath NAME's tree as untrusted data)
 * names in After=, Requires= or Wants=, and before those of Before=;
 * NAMES' order otherwise.  A cycle is broken at its first service in
 * NAMES' order, which starts first, and *NOTE (malloc'd; NULL: no cycle)
 * says so.  Stops go the other way. */
int world_service_order(struct world_store *store, const char *name,
			char *const *names, size_t n, size_t *order,
			char **note, struct world_error *err);
void world_ports_release(struct world_ports *p);

/* The fault injection of the tests (PWAPT_CRASH_AT=NAME kills the process
 * there, PWAPT_STOP_AT=NAME stops it; world_crash_fail() returns -ERR
 * where PWAPT_FAIL_AT=NAME, else 0), for a front end's own steps. */
void world_crash_point(const char *name);
int world_crash_fail(const char *name, int err);

/* The packages that dpkg's status file in world NAME's tree records (read
 * with libdpkg), sorted by name, then architecture. */
struct world_conffile {
	char *path;
	char *md5sum; /* as dpkg recorded it */
	bool obsolete;
};
struct world_package {
	char *name;
	char *arch;    /* "" when the record has none */
	char *version; /* "" when none */
	char *status;  /* the Status field: "install ok installed" */
	struct world_conffile *conffiles;
	size_t n_conffiles;
};
struct world_packages {
	struct world_package *v;
	size_t n;
};
int world_packages(struct world_store *store, const char *name,
		   struct world_packages *out, struct world_error *err);
void world_packages_release(struct world_packages *p);
/* The files of packages as dpkg's lists in world NAME's tree name them
 * (var/lib/dpkg/info/P:ARCH.list for a Multi-Arch: same package, else
 * P.list), read beneath the tree as data the world controls, each list
 * bounded: nothing of the world runs for it.  PKGS[i] of ARCHS[i] ("" for
 * none), N of them: (*out)[i] holds the lines of PKGS[i]'s list,
 * NULL-terminated, or is NULL where it has none (not installed there);
 * free *out with world_package_files_free(*out, N). */
int world_package_files(struct world_store *store, const char *name,
			char *const *pkgs, char *const *archs, size_t n,
			char ****out, struct world_error *err);
void world_package_files_free(char ***files, size_t n);

/* Small records that a front end keeps with a world (pwapt keeps its
 * transactions' so): KEY is 1 to 32 of [a-z0-9_-], the data any bytes.
 * Written atomically and durably; deleted with the world.  Reading a note
 * that was never written gives -ENOENT; *data is malloc'd and
 * NUL-terminated, *len (may be NULL) its length. */
int world_note_write(struct world_store *store, const char *name,
		     const char *key, const char *data, size_t len,
		     struct world_error *err);
int world_note_read(struct world_store *store, const char *name,
		    const char *key, char **data, size_t *len,
		    struct world_error *err);

/* The next number of series KEY (as for notes), from 1 up, never handed
 * out twice by one state directory: for names that must not be reused. */
int world_store_next_serial(struct world_store *store, const char *key,
			    unsigned long *out, struct world_error *err);

enum world_state {
	WORLD_RUNNING,	 /* tree mounted, container running */
	WORLD_STOPPED,	 /* metadata present, container not running */
	WORLD_UNMOUNTED, /* metadata present, tree not mounted (after reboot) */
	WORLD_DAMAGED,	 /* metadata unreadable: can only be deleted */
	WORLD_CRASHED	 /* volatile when its tree went away (a crash, a
			    reboot): its layer may be torn, can only be
			    deleted */
};
const char *world_state_name(enum world_state s);

struct world_info {
	char *name;
	char **parents; /* NULL-terminated */
	enum world_state state;
	uint64_t layer_bytes; /* disk usage of the world's own layer */
	int64_t created;      /* seconds since the epoch */
	pid_t init_pid;	      /* host pid of the container's init, or 0 */
};

struct world_list {
	struct world_info *v;
	size_t n;
};
/* The names of all worlds but Root, sorted; NULL-terminated, malloc'd.
 * Cheap: reads no world's metadata or layer. */
int world_names(struct world_store *store, char ***out,
		struct world_error *err);

/* Lists all worlds, Root first, then by name. */
int world_list(struct world_store *store, struct world_list *out,
	       struct world_error *err);
void world_list_release(struct world_list *l);

/* What a modification changed (struct world_change.what). */
enum {
	WORLD_CHANGED_TYPE = 1u << 0, /* file <-> directory <-> symlink ... */
	WORLD_CHANGED_CONTENT = 1u << 1, /* a regular file's bytes */
	WORLD_CHANGED_MODE = 1u << 2,  /* permissions, setuid, setgid, sticky */
	WORLD_CHANGED_OWNER = 1u << 3, /* uid or gid */
	WORLD_CHANGED_TIMES = 1u << 4, /* mtime (not of directories) */
	WORLD_CHANGED_XATTRS = 1u << 5, /* ACLs, capabilities, other xattrs */
	WORLD_CHANGED_TARGET = 1u << 6, /* a symbolic link's target */
	WORLD_CHANGED_DEVICE = 1u << 7, /* a device node's numbers */
};

struct world_change {
	char kind;	  /* 'A' added, 'M' modified, 'D' deleted */
	char *path;	  /* world-relative, absolute */
	unsigned what;	  /* for 'M': WORLD_CHANGED_* */
	uint64_t bytes;	  /* size of the new version (A, M) or the old (D) */
	bool excluded;	  /* a file the world's machinery touches (see below) */
	bool conflict;	  /* the other world, an ancestor, changed the path
			     after this world was created */
	bool checked_off; /* covered by a check-off of this world: not merged */
	/* A package database (dpkg's status, apt's extended_states, their
	 * logs and caches) that the other world changed too, which a merge
	 * combines record by record instead of overwriting: not a conflict
	 * unless a record changed differently on both sides. */
	bool merged;
	/* A file the world replaced whole or made, in a directory the other
	 * world changed after this one was created, where pwapt cannot tell
	 * whether the other world had it then (and deleted it since): not a
	 * conflict, a warning (the note says it). */
	bool unsure;
	char *note; /* why it is a conflict, or how it merges; or NULL */
	/* An added directory that is a directory of the other world renamed
	 * (a redirected directory of the layer): that one's path, which is
	 * deleted (a 'D' of its own); what lies below is compared path by
	 * path.  Where the other world renamed or deleted that path since
	 * (no 'D' then) or changed it, this change is a conflict.  NULL for
	 * every other change. */
	char *renamed_from;
	/* For 'A' and 'M': the new version's type and mode, owner, group
	 * and device numbers, as the comparison saw them; MODE 0 where it
	 * did not look. */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	dev_t rdev;
};

/* A warning beside the changes of a world against its ancestor (wdiff(1),
 * "Warnings"): the ancestor used a path the world changed. */
enum world_warning_kind {
	/* Read, after the world was created, by a process tree that then
	 * wrote other paths (WRITTEN): files derived from the old version. */
	WORLD_WARN_DERIVED = 'd',
	WORLD_WARN_OPEN = 'o',	 /* held open by a process of the ancestor */
	WORLD_WARN_MAPPED = 'm', /* mapped by one (a library, a program) */
	/* Added or changed by the world (CHANGE), with what a reviewer must
	 * see: a setuid or setgid file, a device node (MODE, UID, GID;
	 * DEV_MAJOR and DEV_MINOR of a node).  Warned, never refused. */
	WORLD_WARN_SETID = 's',
	WORLD_WARN_DEVICE = 'v',
};

struct world_warning {
	char kind;	/* enum world_warning_kind */
	char *path;	/* the path the world changed */
	char **written; /* derived: NULL-terminated, sorted */
	int pid;	/* open, mapped: the first process found, as the
			   other world numbers it (`wexec OTHER ps`) */
	int host_pid;	/* the same as pwapt's own PID namespace does */
	char *command;	/* its name */
	size_t n_pids;	/* how many processes */
	char change;	/* setid, device: 'A' added, 'M' changed */
	unsigned mode, uid, gid, dev_major, dev_minor;
};

struct world_diff {
	struct world_change *v; /* sorted by path, each path once */
	size_t n;
	char *other; /* the world compared with */
	/* Against an ancestor, where this store traces (pwapt-trace(8)):
	 * the warnings, what the traces could not tell (one sentence each,
	 * NULL-terminated, or NULL when the traces are whole since the
	 * world's creation), and what conflicts were judged by ("ctime", or
	 * "trace and ctime"; NULL when the store never traced). */
	struct world_warning *warnings;
	size_t n_warnings;
	char **trace_notes;
	const char *conflicts_by;
};

/* The changes of world NAME against OTHER (NULL: NAME's first parent): what
 * a process sees differently in NAME's tree than in OTHER's.  Any two
 * worlds, Root included, can be compared; both are mounted first if
 * needed (after a reboot), their containers not started.  A deleted directory
 * yields a deletion for everything below it, as does an opaque directory for
 * what it hides. */
int world_diff(struct world_store *store, const char *name, const char *other,
	       struct world_diff *out, struct world_error *err);
void world_diff_release(struct world_diff *d);
/* The paths marked excluded: NULL-terminated, static. */
const char *const *world_diff_excluded_paths(void);

/* Merges world SRC into DST, an ancestor of SRC (its parent, Root, ...):
 * afterwards DST's tree shows what SRC showed, for every path SRC changed,
 * and SRC is deleted.  A journaled transaction: a crash at any point leaves
 * every path old or new, and the next command that opens the store
 * finishes it or rolls it back.  Refused, before anything is written, when
 * SRC has worlds built on it (unless WORLD_MERGE_REBASE: they then restart
 * on DST, which holds what they saw of SRC), and when DST changed paths SRC
 * changed after SRC was created (unless FORCE): then *conflicts (may be NULL)
 * receives the diff, and the error is -EEXIST.  A merge done with changes
 * marked unsure (see struct world_change) hands the diff to *conflicts too,
 * for the caller to warn; otherwise *conflicts stays as it was.  *id (may
 * be NULL) receives
 * the merge's id, a number that the state directory never hands out twice:
 * what a roll-back of this merge names (world_rollback). */
enum {
	WORLD_MERGE_FORCE = 1u << 0,  /* merge despite conflicts */
	WORLD_MERGE_REBASE = 1u << 1, /* move worlds built on SRC onto DST */
};
int world_merge(struct world_store *store, const char *src, const char *dst,
		unsigned flags, struct world_diff *conflicts, uint64_t *id,
		struct world_error *err);

/* The last merge into a world: the one world_rollback() can undo. */
struct world_merge_record {
	uint64_t id; /* 0 for a merge recorded before merges had ids */
	char *src, *dst;
	/* The worlds that the merge moved from SRC onto DST
	 * (WORLD_MERGE_REBASE): NULL-terminated. */
	char **rebased;
};
void world_merge_record_release(struct world_merge_record *m);
/* The last merge into DST; -ENOENT (with ERR) when none is kept: none
 * happened, or it was rolled back. */
int world_last_merge(struct world_store *store, const char *dst,
		     struct world_merge_record *out, struct world_error *err);
/* Whether merge ID into DST was rolled back (its undo finished, also by
 * the recovery of an interrupted roll-back): 1, 0, -errno.  A merge no
 * longer kept was not necessarily rolled back (a later merge took its
 * place); one that a pwapt before these notes rolled back, or one of the
 * oldest of many rolled back, reads 0: not known to be undone. */
int world_merge_rolled_back(struct world_store *store, const char *dst,
			    uint64_t id);

/* Undoes merge ID into DST (0: the last merge, whichever it is): every path
 * it changed returns to what it was before (the merged world itself stays
 * deleted).  Only the last merge into DST can be undone: -ESTALE, naming
 * both merges, when another merge into DST came after merge ID; -ENOENT
 * when no merge into DST is kept.  Refused, listing the paths in *changed
 * (malloc'd, each path ended by a NUL, the list by an empty one: a path
 * may hold a newline; CHANGED may be NULL), with -EEXIST when paths the merge
 * wrote changed since, unless FORCE; and with -EBUSY, naming them, while
 * worlds that the merge moved onto DST still exist: they were built on
 * what it merged (delete them first).  Journaled like a merge: an
 * interrupted roll-back is finished by the next command. */
int world_rollback(struct world_store *store, const char *dst, uint64_t id,
		   bool force, char **changed, struct world_error *err);
/* The refusals of world_rollback() alone, each checked as it checks
 * them, nothing written: 0 when it would roll back now. */
int world_rollback_check(struct world_store *store, const char *dst,
			 uint64_t id, bool force, char **changed,
			 struct world_error *err);

/* The parents of world NAME, in priority order (none for Root):
 * NULL-terminated, malloc'd.  -ENOENT for no world of that name. */
int world_parents(struct world_store *store, const char *name, char ***out,
		  struct world_error *err);

/* Checks off PATTERNS (absolute paths, fnmatch(3) globs) of world NAME, or
 * with REMOVE takes them back: merges of NAME leave out what they cover
 * (a directory covers everything below it), and wdiff lists it apart. */
int world_checkoff(struct world_store *store, const char *name,
		   const char *const *patterns, size_t n, bool remove,
		   struct world_error *err);
/* The patterns checked off in NAME: NULL-terminated, malloc'd. */
int world_checkoff_list(struct world_store *store, const char *name,
			char ***out, struct world_error *err);

/* Stops every container and unmounts every world's tree, keeping all
 * metadata: what a shutdown of the machine does.  The next command that needs
 * a world brings it back. */
int world_store_stop_all(struct world_store *store, struct world_error *err);
/* Brings every world back (the boot-time counterpart of stop_all). */
int world_store_start_all(struct world_store *store, struct world_error *err);

/* Networking.  Every world has its own network namespace: loopback, and
 * eth0, a veth into pwapt's bridge, with a stable address of the configured
 * subnet (Root on the host has the bridge's address; Root's container has
 * one of its own).  Forwards make a world's port reachable on the host's
 * addresses (127.0.0.1 included) through kernel NAT; a takeover sends new
 * connections for a port of Root to the same port of a world.  Forwards and
 * takeovers are stored with the world and are in the kernel while its
 * container runs. */
struct world_forward {
	unsigned host_port; /* on the host's addresses */
	unsigned port;	    /* the world's */
};

struct world_net {
	char *name;
	char bridge[16];
	char address[16];   /* dotted quad */
	unsigned prefix;    /* of the subnet */
	char interface[16]; /* host side of its veth; "" for Root on the host */
	bool outbound;	    /* may connect beyond the bridge */
	bool outbound_set;  /* set for this world, not the configured default */
	bool active; /* its container runs: its rules are in the kernel */
	struct world_forward *forwards;
	size_t n_forwards;
	unsigned *takeovers;
	size_t n_takeovers;
};
void world_net_release(struct world_net *n);

/* The network of world NAME (Root included).  A world that never ran has
 * no address yet: address is "". */
int world_net_show(struct world_store *store, const char *name,
		   struct world_net *out, struct world_error *err);

/* Everything pwapt added to the network namespace it runs in. */
struct world_net_all {
	char bridge[16];
	char address[16]; /* the bridge's, "" when it does not exist */
	char subnet[32];
	struct world_net *worlds; /* Root first, then by name */
	size_t n;
	char **interfaces; /* the bridge and its ports, as the kernel has them
			    */
	char *rules; /* pwapt's table as nft lists it (JSON when asked), or
			NULL when the kernel has none */
};
int world_net_list(struct world_store *store, bool json,
		   struct world_net_all *out, struct world_error *err);
void world_net_all_release(struct world_net_all *a);

/* Forwards HOST_PORT (TCP, on every address of the host) to PORT of world
 * NAME, starting it if needed.  -EADDRINUSE when something listens on the
 * host port or another forward or takeover has it; -EEXIST when NAME
 * forwards it already; -EINVAL for Root on the host. */
int world_net_forward(struct world_store *store, const char *name,
		      unsigned port, unsigned host_port,
		      struct world_error *err);
/* Removes the forward of HOST_PORT; -ENOENT when NAME has none. */
int world_net_unforward(struct world_store *store, const char *name,
			unsigned host_port, struct world_error *err);
/* Sends new connections for PORT of Root to PORT of world NAME, starting
 * it if needed; connections in flight stay where they are.  A port of Root
 * is: Root on the host, PORT on any local address (127.0.0.1 included),
 * from the host, the worlds and outside; Root in a container, PORT of
 * Root's address from the host, and the host's forwards to Root's PORT.
 * Connections from NAME itself still reach Root.  -EBUSY when another
 * world took PORT over. */
int world_net_takeover(struct world_store *store, const char *name,
		       unsigned port, struct world_error *err);
/* Undoes the takeover of PORT by NAME; -ENOENT when there is none. */
int world_net_release_port(struct world_store *store, const char *name,
			   unsigned port, struct world_error *err);
/* Lets world NAME open connections beyond the bridge, or not. */
int world_net_outbound(struct world_store *store, const char *name, bool on,
		       struct world_error *err);

/* File-access tracing (pwapt-trace(8)). */
struct world_trace_entry {
	char *kind; /* "read", "write", "create", "rename", ... */
	char *path; /* world-relative, absolute */
	char *path2; /* rename, link: the new name; symlink: the target */
	uint64_t time; /* wall-clock ns of the access (of its first since the
			* latest creation of a world, for a repeated one) */
	uint32_t tree; /* the process tree: its oldest process's pid */
};

struct world_trace {
	char state[16]; /* "complete", "incomplete", "collecting" */
	uint64_t lost;	/* accesses that could not be recorded */
	/* Wall-clock ns since when nothing was lost or untraced (0: never);
	 * the table covers [since, now] only while a collector runs (LIVE). */
	uint64_t since;
	bool live;
	/* Whether the running collector wrote what the kernel had delivered
	 * to it when asked, just before the table was read (LIVE only):
	 * false, the latest accesses may be missing. */
	bool flushed;
	struct world_trace_entry *v;
	size_t n;
};

/* Which trace backend a collector uses: "bpf", "audit", or NULL for bpf
 * where it loads, else audit. */
struct world_trace_options {
	const char *backend;
	uint32_t ringbuf_bytes; /* bpf's ring buffer, 0 for the default */
	/* Called (may be NULL) with ARG once the collector traces the
	 * running worlds: the backend used ("bpf", "audit"), how (audit: as
	 * the daemon or beside auditd), and when the default fell back to
	 * audit, why bpf could not load (else NULL). */
	void (*ready)(void *arg, const char *backend, const char *how,
		      const char *fallback);
	void *arg;
};

/* Runs the trace collector until *STOP becomes true: every running world
 * (Root's container included, where the backend can tell it apart) is
 * traced, its accesses appended to its table.  Drops the store's lock.
 * Fails (-EPERM, -EINVAL, ...) when the backend chosen cannot run, or
 * with the default, when neither can. */
int world_trace_run(struct world_store *store, volatile sig_atomic_t *stop,
		    const struct world_trace_options *o,
		    struct world_error *err);
/* Reads world NAME's table; -ENOENT when it was never traced.  A running
 * collector is first asked to write what it has received (FLUSHED). */
int world_trace_load(struct world_store *store, const char *name,
		     struct world_trace *out, struct world_error *err);
void world_trace_release(struct world_trace *t);
/* Whether a collector runs for this state directory (it holds the
 * directory's trace.lock). */
bool world_trace_collector_runs(struct world_store *store);
/* Whether a command is starting a collector (holds trace.start): one that
 * runs may not trace yet. */
bool world_trace_starting(struct world_store *store);
/* Waits for, and takes, the lock of whoever starts a collector (the state
 * directory's trace.start): a descriptor to close when the collector
 * runs, or has failed to start.  The store's own lock must not be held,
 * since a collector opening the store waits for it. */
int world_trace_start_lock(struct world_store *store, struct world_error *err);
/* The collector's log in the state directory (TRACE_LOG), opened to
 * append (and to read back). */
#define TRACE_LOG "trace.log"
int world_trace_log_open(struct world_store *store, struct world_error *err);
/* Gives world NAME a table that says "incomplete", unless it has one: for
 * a world created while no collector could trace it.  A collector that
 * traces it later keeps it incomplete. */
int world_trace_mark_untraced(struct world_store *store, const char *name,
			      struct world_error *err);
/* Waits up to TIMEOUT_MS for a collector to trace world NAME (to make its
 * table); false when it has not. */
bool world_trace_wait_traced(struct world_store *store, const char *name,
			     int timeout_ms);

#endif
