/* Services of worlds, for the front end: those a world starts before its
 * tests, those a merge restarts in Root, and how a restarted one is seen
 * to be healthy: its init script's status (or systemctl is-active where
 * Root runs systemd) succeeds within 10 seconds and keeps succeeding for
 * one more.  Commands run in the world, never on the host's own init. */
#ifndef PWAPT_SERVICE_H
#define PWAPT_SERVICE_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pwapt.h"

/* The service a file of a package provides: an init script's name, or a
 * systemd unit's without ".service" (templates aside); NULL for any other
 * path.  malloc'd. */
char *service_of_path(const char *path);

/* Starts the services enabled in world NAME (its /etc/rc2.d), as a boot
 * would, so that tests find them running: a world's init is no init
 * system, and invoke-rc.d in maintainer scripts starts nothing there.
 * But those of GONE (NULL-terminated, may be NULL): their package is
 * removed; the chatter says so. */
void service_start_enabled(struct context *ctx, const char *name,
			   char *const *gone);

/* Restarts SERVICE in Root if it runs there, or if EVEN_STOPPED, and
 * checks that it comes up.  1: restarted and running; 0: it was not
 * running and is left so; -1: it did not come back. */
int service_restart_in_root(struct context *ctx, const char *service,
			    bool even_stopped);
/* After a merge into Root: restarts SERVICES (NULL-terminated) in order.
 * Returns the index of the first that did not come back (those after it
 * are not restarted), or -1 when each did; then WHY (WHY_LEN bytes) says
 * which check it failed, as printed. */
ssize_t service_restart_all(struct context *ctx, char *const *services,
			    char *why, size_t why_len);
/* After that merge was rolled back: SERVICES[FAILED] and those restarted
 * before it run again, on the old files.  Returns how many did not come
 * back, each pushed onto DOWN (may be NULL; out of memory: left out). */
size_t service_restart_old(struct context *ctx, char *const *services,
			   size_t failed, struct strv *down);
/* After that merge could not be rolled back and stays: SERVICES[FAILED]
 * is started again (it is down since its restart), and those after it,
 * which were not restarted yet, are restarted, all on the merged files in
 * place.  Returns how many do not run, as service_restart_old(). */
size_t service_restart_kept(struct context *ctx, char *const *services,
			    size_t failed, struct strv *down);

/* Root's note of the services merge ID restarted (NULL: none), so that
 * `pwapt rollback` of that merge restarts them again on the old files
 * (one given as "stopped NAME": NAME, which the merge stopped for good,
 * its package removed; started even though it does not run then);
 * service_restart_after_rollback() does that (nothing when the note is
 * another merge's) for merge ID of SRC, just rolled back.  While they
 * restart, Root's note of pending services, written before the rollback
 * (service_stop_before_rollback), names them for pwapt recover; after,
 * it names those that did not come back, and when each did it is PREV
 * again (service_pending_after_rollback, which it also calls when there
 * is no note of this merge).  0, or
 * -1 when one did not come back: WHY (WHY_LEN bytes) says which check the
 * first such failed; -2 when the note cannot be read (out of memory too):
 * none restarted, WHY says why. */
void service_remember(struct context *ctx, char *const *services, uint64_t id);
/* The same through store S, which the caller holds (as world_merge left
 * it): nothing between the merge and the note. */
void service_remember_in(struct world_store *s, char *const *services,
			 uint64_t id);
struct svc_plan;
/* Root's note of merge ID of plan P, for both wmerge and pwapt merge,
 * through S (the caller's; NULL: opened here): RESTARTED (NULL-terminated;
 * NULL: P's services that ran in DST), restarted on the old files, less
 * those P removes; "stopped NAME" for each P's removed service that this
 * merge stopped (svc_item.stopped: one that did not run before its stop
 * is not started by the rollback); "stop NAME" for each P started new,
 * its init script or unit added.  Out of memory: the note is left. */
void service_remember_plan(struct context *ctx, struct world_store *s,
			   const struct svc_plan *p, char *const *restarted,
			   uint64_t id);
int service_restart_after_rollback(struct context *ctx, uint64_t id,
				   const char *src, const char *prev, char *why,
				   size_t why_len);
/* After pwapt rollback --no-restart of merge ID into Root: says, from the
 * note above, whom it did not restart on the old files, whom it did not
 * start though the merge stopped them for good (their package removed,
 * back now), and whom it did not stop though their files are gone. */
void service_say_left_after_rollback(struct context *ctx, uint64_t id);
/* Before pwapt rollback of merge ID (of SRC) into Root, once nothing
 * refuses it: the services that the note names as started by that merge
 * with their init script or unit new to Root ("stop NAME": see
 * cmd-merge.c) stop, in reverse start order, while their files are there.
 * Root's note of pending services says, from before the first stop until
 * the caller settles it, "rollback of merge ID from SRC", whom to start
 * again while the merge stands ("start NAME") and whom to start or
 * restart once it is undone ("restart NAME on the old files"): a
 * rollback killed at any point leaves them named; its text before (of
 * this merge too) goes on top of Root's held notes ("svcmove-held",
 * service_pending_hold), and *PREV (malloc'd; NULL: none) is what comes
 * back after (that text, or the top of the held notes).  *STOPPED
 * (malloc'd, NULL-terminated, in the order they stopped, empty when none
 * did; NULL: no note written) is for
 * service_start_after_refused_rollback().  0; -1, the
 * rollback refused, when the note of services cannot be read or one did
 * not stop: WHY (WHY_LEN bytes) says which and why, and those stopped
 * run again. */
int service_stop_before_rollback(struct context *ctx, uint64_t id,
				 const char *src, char ***stopped, char **prev,
				 char *why, size_t why_len);
/* The rollback refused after those stops: STOPPED start again, and once
 * each runs, Root's note of pending services is PREV again (the top of
 * its held notes, service_pending_restore). */
void service_start_after_refused_rollback(struct context *ctx,
					  char *const *stopped,
					  const char *prev);

/* SERVICES (NULL-terminated, or NULL) and, after them, those of DST's
 * processes that use a file the merge into DST just done replaced
 * (BEFORE: DST's file users taken before it, may be NULL), each service
 * once, but those of GONE (stopped for good: their package removed; may
 * be NULL); such a process is named on the chatter, one of no service in
 * a warning, but DST's PID 1 when REEXEC is not NULL (nor --no-restart
 * given): *REEXEC is set then, named on the chatter, and whether it is
 * systemd is service_reexec_init()'s to ask (this runs no command: the
 * caller may hold the store).  malloc'd (strvfreep); NULL when out of
 * memory. */
char **service_with_replaced_users(struct context *ctx, struct world_store *s,
				   const char *dst,
				   const struct world_file_users *before,
				   char *const *services, char *const *gone,
				   bool *reexec);
/* systemctl daemon-reexec in DST, said on the chatter: its systemd (PID
 * 1) runs the files a merge put in place, keeping its state and units;
 * before DST's services restart (as needrestart orders it), and again
 * after a rollback of that merge.  0; -1, warned, when it failed or PID
 * 1 is not systemd (left to the administrator then).  Runs commands:
 * call it with no store of the caller open. */
int service_reexec_init(struct context *ctx, const char *dst);
/* Whether world NAME runs systemd (sd_booted(), asked in the world). */
bool service_runs_systemd(struct context *ctx, const char *name);
/* The host pid of world NAME's init, 0 when it does not run (wlist's
 * init_pid): asked without starting it.  Opens the store. */
pid_t service_init_pid(struct context *ctx, const char *name);

/* ---- Moving services with a merge of SRC into DST (svcmove.c: the
 * plan; svcsteps.c: its steps; svccheck.c).  The steps, in the order
 * wmerge takes them:
 *
 *   service_plan_make()        before the merge, store locked or not
 *   service_stop_in_src()      before SRC is frozen for the merge
 *   service_stop_removed_in_dst() before any file moves; one that does
 *                              not stop: the merge is refused
 *   world_merge()              (the caller's)
 *   service_plan_after_merge() adds DST's users of replaced files
 *   service_start_in_dst()     starts/restarts each, health-checked
 *   on a failed check: service_stop_new_in_dst(), world_rollback() of
 *   that merge id (the caller's), then service_restore_old(); had the
 *   merge itself failed, service_start_again_in_src() instead.
 *
 * Every command runs in the world it names (run_in, world_spawn), never
 * on the host's own init; each function opens the store itself where it
 * runs commands, so the caller must not hold it locked across them. */
struct svc_item {
	char *name;	/* an init script's, or a unit's without .service */
	bool in_src;	/* runs in SRC: stopped there before the merge */
	bool in_dst;	/* ran in DST before the merge: restarted, else
			   started there */
	/* Runs in DST, and the merge removes it (its package removed or
	 * purged in SRC, or its init script, unit or programs deleted):
	 * stopped in DST before the merge, as prerm would, not started or
	 * checked after it; in_dst too (a roll-back starts it again). */
	bool removed;
	bool added;	/* the merge adds its init script or unit file to
			   DST (none there before): new to DST */
	const char *why; /* static text, or why_text: why it is in the plan */
	char *why_text;	 /* malloc'd, or NULL */
	/* The TCP ports it listened on before (in SRC, else in DST): its
	 * health check connects to each from inside DST. */
	struct world_ports ports;
	unsigned order;	/* its rc2.d S-number in SRC's tree, 100: none */
	bool stopped;	/* service_stop_in_src() (or, removed,
			   service_stop_removed_in_dst()) stopped it */
	bool done;	/* service_start_in_dst() (re)started it, or tried */
	bool down;	/* service_restore_old() did not see it come back */
	bool ports_later; /* found after the merge: service_plan_order()
			     reads its ports */
};
struct svc_plan {
	char *src, *dst;
	struct svc_item *v; /* in start order (dependency order, see
			       svcmove.c); stops go the other way */
	size_t n;
	struct world_file_users *users; /* DST's, before the merge */
	/* DST's processes that use a file the merge replaces, by
	 * world_planned_users(): those of a service are restarted (items
	 * "uses a file the merge replaces"), the others named in the plan. */
	struct world_replaced_users planned;
	bool merged; /* service_plan_after_merge() ran: SRC is merged */
	/* DST's PID 1 is systemd (service_plan_order() asks) and uses a
	 * file the merge replaces (not with --no-restart): before the
	 * merge, for the plan; after it, by service_plan_after_merge(),
	 * for service_reexec_init(); once that ran, whether it did (and
	 * is to run again after a roll-back). */
	bool reexec_init;
	/* The diff has conflicts or derived files: the merge is refused
	 * unless forced, and stops nothing of DST's before it then. */
	bool conflicts;
	char *order_note; /* the last cycle of units' ordering said */
	/* pwapt merge's of transaction SRC: DST's notes of pending services
	 * say so ("by pwapt merge"), for pwapt recover's words. */
	bool transaction;
	/* The caller stops the removed services after the merge (one that
	 * is expected to be refused): the note before it names none. */
	bool stops_late;
};
/* Marks removed in P the running services of DST (world DST of S), a
 * process of which uses a file the merge (D) replaces, whose own init
 * script or unit names a program the merge deletes that belongs (DST's
 * lists: INFO) to a package SRC removed (PK: SRC's and DST's status):
 * Debian's nginx, whose init script nginx-common keeps (svcowners.c). */
void service_program_removed(struct world_store *s, const char *dst,
			     struct svc_plan *p, const struct world_diff *d,
			     int info, const struct world_packages pk[2]);
/* The names of P's services stopped for good (removed), malloc'd
 * (strvfreep); NULL when there is none or memory runs out. */
char **service_plan_removed(const struct svc_plan *p);

/* The services of DST that a merge reconfigures through files under /etc
 * that no package owns (svcconfig.c says which count): NAMES[i] by the
 * change of PATHS[i], each service once. */
struct svc_config {
	struct strv names, paths;
};
/* Those of the merge of SRC into DST (diff D), by DST's and SRC's dpkg
 * lists, read beneath the trees.  0, or -ENOMEM; *OUT untouched then. */
int service_config_make(struct world_store *s, const char *src,
			const char *dst, const struct world_diff *d,
			struct svc_config *out);
/* The changed path that reconfigures SERVICE, or NULL. */
const char *service_config_path(const struct svc_config *c,
				const char *service);
/* "its configuration PATH changed" (the path quoted), malloc'd; NULL
 * when SERVICE is not in C or memory runs out. */
char *service_config_why(const struct svc_config *c, const char *service);
void service_config_release(struct svc_config *c);
/* File NAME of directory DIR of a world, read as data (no symbolic link
 * followed, no FIFO waited on, at most 16 MiB), malloc'd; NULL. */
char *service_read_at(int dir, const char *name);

/* Where a service's own files can be (svcowners.c): its init script,
 * its unit in the two places a package puts one (/lib, /usr/lib: the
 * same on a merged /usr), then the unit of the administrator, which no
 * package ships. */
enum svc_own_path {
	SVC_OWN_SCRIPT,
	SVC_OWN_LIB_UNIT,
	SVC_OWN_USR_UNIT,
	SVC_OWN_PACKAGED, /* how many a package ships */
	SVC_OWN_ADMIN_UNIT = SVC_OWN_PACKAGED,
	SVC_OWN_ALL
};
struct svc_own {
	char v[SVC_OWN_ALL][PATH_MAX];
};
/* SERVICE's own paths into O, in enum svc_own_path's order. */
void service_own_paths(const char *service, struct svc_own *o);
/* The name of the service whose init script or unit, as a package ships
 * it, PATH is (one of service_own_paths' first SVC_OWN_PACKAGED), into
 * NAME (SIZE bytes); false when it is none. */
bool service_own_name(const char *path, char *name, size_t size);

/* dpkg's file lists in INFO (a world's /var/lib/dpkg/info; -1: none),
 * from the start, one after the other: the next list's text (malloc'd,
 * one that cannot be read skipped), its package record ("name",
 * "name:arch") in PKG; NULL at the end, or after 65536 entries (SEEN
 * counts them, from 0).  The DIR is the caller's (NULL when INFO < 0). */
DIR *service_lists_open(int info);
char *service_lists_next(DIR *dir, char pkg[NAME_MAX + 1], size_t *seen);

/* What dpkg tells of a service's files (svcowners.c), for the plan of a
 * merge (diff D) into DST.  Whether TEXT has LINE as a whole line; whether
 * D changes PATH (checked-off changes left out). */
bool service_has_line(const char *text, const char *line);
bool service_changed(const struct world_diff *d, const char *path);
/* Whether D changes a file of SERVICE: its init script or unit, or any
 * file of the package owning it by DST's dpkg lists (INFO, its
 * /var/lib/dpkg/info: -1 when not open). */
bool service_files_change(int info, const struct world_diff *d,
			  const char *service);
/* Whether the merge of SRC removes SERVICE from DST, as apt-get remove
 * or purge did in SRC: by the init script or unit it deletes, or by the
 * status (PK: SRC's and DST's, NULL when not known) of the packages
 * SRC's lists (SRC_INFO) name as owning them. */
bool service_removes(struct world_store *s, const char *src, int src_info,
		     const struct world_diff *d,
		     const struct world_packages pk[2], const char *service);
/* Whether D adds SERVICE's init script or unit to DST, which has none. */
bool service_added_to_dst(struct world_store *s, const char *dst,
			  const struct world_diff *d, const char *service);

/* The plan of a merge of SRC into DST: services running in SRC (to stop
 * there, start or restart in DST), services running in DST whose files
 * the merge changes (their init script or unit, or a file of the package
 * owning it per DST's dpkg lists, or configuration of theirs that no
 * package owns: service_config_make) or named in ALSO_RESTART (NULL-
 * terminated, may be NULL), with the ports each listens on; and DST's
 * file users, for service_plan_after_merge(); those running in DST that
 * the merge removes are marked removed.  Writes nothing.  Ordered
 * by service_plan_order() (the caller calls it, once S holds no lock
 * that run_in needs).  -errno with ERR; *OUT untouched then. */
int service_plan_make(struct context *ctx, struct world_store *s,
		      const char *src, const char *dst,
		      char *const *also_restart, struct svc_plan *out,
		      struct world_error *err);
/* And, where P's reexec_init is set, asks DST whether its PID 1 is
 * systemd, clearing it when not (after the merge, with a warning: that
 * PID 1 is the administrator's to restart). */
void service_plan_order(struct context *ctx, struct svc_plan *p);
/* Orders P (S-numbers of SRC's rc2.d, or DST's after the merge, then
 * the units' After=, Before=, Requires= and Wants=: svcmove.c) and reads
 * the ports of services service_plan_after_merge() added.  Runs commands
 * and opens the store: call it with no store of the caller open. */
int service_plan_after_merge(struct context *ctx, struct world_store *s,
			     struct svc_plan *p);
void service_plan_release(struct svc_plan *p);
/* NAMES (NULL-terminated, each once) in the start order of WORLD's
 * services, as service_plan_order() orders a plan: for pwapt merge's
 * restarts in Root. */
void service_order_in(struct context *ctx, const char *world, char **names);
/* "stop X in SRC" / "start|restart X in DST: why (ports ...)" lines, or
 * with JSON the members "stop":[...],"start":[...],"restart":[...]. */
void service_plan_print(struct context *ctx, FILE *f, const struct svc_plan *p,
			bool json);
/* The processes of DST that use a file the merge replaces and belong to
 * no service, which the merge restarts none of: "restart by hand: ..."
 * lines (shown also with --no-restart), or with JSON the member
 * ,"by_hand":[...]; but DST's PID 1 when it is systemd that the merge
 * re-executes: "re-execute systemd (PID 1) in DST: ...", or with JSON
 * ,"reexec_init":true after "by_hand" (false otherwise). */
void service_plan_print_by_hand(FILE *f, const struct svc_plan *p, bool json);
/* "pid N in DST (COMM) uses PATH", the name and the path escaped. */
void service_put_user(FILE *f, const struct world_replaced_user *u,
		      const char *dst);
/* After the merge, with --json: the member "services":[...]. */
void service_print_result_json(FILE *f, const struct svc_plan *p);

/* Stops P's services that run in SRC, in reverse order; marks each it
 * stopped.  0, or -1 when one did not stop (the others are stopped all
 * the same; SRC is frozen for the merge anyway). */
int service_stop_in_src(struct context *ctx, struct svc_plan *p);
/* Before the merge, after service_stop_in_src(): stops in DST, in
 * reverse order, the services the merge removes (svc_item.removed), as
 * their packages' prerm would; marks each it stopped.  0; -1 when one
 * did not stop, WHY naming it (the caller refuses the merge: a daemon
 * left running on files the merge deletes is what this prevents). */
int service_stop_removed_in_dst(struct context *ctx, struct svc_plan *p,
				char *why, size_t why_len);
/* Starts again those stopped before the merge, in SRC those
 * service_stop_in_src() stopped and in DST those
 * service_stop_removed_in_dst() stopped: after a merge that did not
 * happen (refused, failed), both run as before.  Returns how many did
 * not start (still marked stopped). */
size_t service_start_again_in_src(struct context *ctx, struct svc_plan *p);
/* The same, then DST's note of pending services: emptied when each
 * runs again (service_pending_note), else it names those that did not
 * (service_pending_left: "failed: nothing was merged, ...").  Returns
 * how many did not start. */
size_t service_start_again_noted(struct context *ctx, struct svc_plan *p);
/* After the merge: starts (or restarts, those that ran in DST) P's
 * services in DST, in order, each health-checked (service_health_check);
 * the removed ones are left stopped.
 * Returns -1 when each passed, else the index of the first that failed
 * (those after it are left untouched), WHY naming the failed check. */
ssize_t service_start_in_dst(struct context *ctx, struct svc_plan *p,
			     char *why, size_t why_len);
/* After a failed check, before the roll-back: the services that
 * service_start_in_dst() started in DST and that did not run there
 * before stop (with the merged files, which the roll-back may take). */
void service_stop_new_in_dst(struct context *ctx, struct svc_plan *p);
/* After the roll-back: each service start_in_dst touched that ran in DST
 * before runs again, restarted on DST's old files, and each removed one
 * that service_stop_removed_in_dst() stopped starts again.  Returns how
 * many did not come back (marked down). */
size_t service_restore_old(struct context *ctx, struct svc_plan *p);
/* DST's note of the services a merge still has to start there, written
 * (DONE false) before SRC's stop and emptied (DONE true) once they are
 * checked or restored: a pwapt killed in between leaves it, and
 * service_pending_read() gives its text (malloc'd; NULL: none).  -1 when
 * it could not be written (out of memory, a full disk): a caller about to
 * stop services refuses, for nothing would name them. */
int service_pending_note(struct context *ctx, const struct svc_plan *p,
			 uint64_t id, bool done);
/* That note before a merge's first stop (ID 0, DONE false); when it cannot
 * be written, what the command began is undone and WHY (WHY_LEN bytes)
 * says so: -1, and the caller refuses before anything stops. */
int service_pending_first(struct context *ctx, const struct svc_plan *p,
			  char *why, size_t why_len);
char *service_pending_read(struct world_store *s, const char *world);
/* NOW (may be NULL), WORLD's note of pending services, goes on top of
 * WORLD's held notes ("svcmove-held": notes kept aside, one after the
 * other), unless it is there already; *TOP (malloc'd; NULL: none) is
 * NOW, or without it the top of the held notes, what is to come back.
 * 0; 1, nothing written, when the note is no longer NOW (read it
 * again); -1, nothing written, when they cannot be read (never taken for
 * none) or written: WHY (WHY_LEN bytes) says so. */
int service_pending_hold(struct context *ctx, const char *world,
			 const char *now, char **top, char *why,
			 size_t why_len);
/* WORLD's note of pending services read into *NOW (malloc'd; NULL:
 * none) and held as service_pending_hold() does, read again while
 * another command changes it meanwhile (a few times).  0; -1, WHY says
 * why. */
int service_pending_hold_read(struct context *ctx, const char *world,
			      char **now, char **top, char *why,
			      size_t why_len);
/* Once merge ID into WORLD is rolled back: WORLD's held notes of that
 * merge (its wmerge's, a killed rollback's; not this command's own, nor
 * one whose writer still runs) are done with, and dropped.  0; -1 when
 * the held notes cannot be read or written: left as they are. */
int service_pending_drop_held(struct context *ctx, const char *world,
			      uint64_t id);
/* Through S (its lock held), WORLD's notes of pending services of a
 * merge that a pwapt rollback killed inside its undo set aside, once that
 * undo is finished (world_merge_rolled_back() says so: the next command's
 * store open finished it; a merge no longer kept is not enough, a later
 * one may have taken its place): done with, as service_pending_drop_held()
 * drops them after a rollback that went through; the newest note of
 * such a rollback of it stays (what is left to start or restart on the
 * old files), and so does each one whose writer still runs.  Also done
 * before each hold and restore.  How many it dropped; -1 when the notes
 * or the notes of merges rolled back cannot be read or written: left as
 * they are. */
int service_notes_drop_undone(struct world_store *s, const char *world);
/* The top of WORLD's held notes is its note of pending services again
 * (none: it is emptied), and comes off them; held notes of merge ID
 * (not 0) whose writer no longer runs are dropped on the way, done
 * with.  0; -1 when the held notes cannot be read or written: then both
 * are left as they are. */
int service_pending_restore(struct context *ctx, const char *world,
			    uint64_t id);
/* Before a merge's first note of pending services in WORLD (wmerge,
 * pwapt merge): a note already there, another command's (a pwapt
 * rollback that left a service down), goes to WORLD's note
 * "svcmove-held", and is WORLD's note again once this merge's is emptied
 * (service_pending_note DONE).  0; -1, nothing written, when a note
 * cannot be read: WHY (WHY_LEN bytes) says so, and the merge is
 * refused. */
int service_pending_begin(struct context *ctx, const char *world, char *why,
			  size_t why_len);
/* What service_pending_begin() began in WORLD ends before this merge
 * wrote a note of its own (it stopped nothing, say the store could not be
 * opened): the note kept aside comes off the held notes.  Nothing (0)
 * when none was begun; -1 when the notes cannot be read or written (the
 * store cannot be opened): then the note stays on the held notes too, a
 * copy pwapt recover shows once. */
int service_pending_end(struct context *ctx, const char *world);
/* DST's note of pending services once merge ID of P's SRC (0: none, not
 * merged) is over with services left down, in place of emptying it:
 * with ID 0, those of P still marked stopped ("stop NAME in W"), else
 * "restart NAME" for each of RESTART and "start NAME" for each of START
 * (NULL-terminated, may be NULL); WHY (may be NULL) as its line
 * "failed: WHY", which pwapt recover says.  None left: the note is
 * emptied as by service_pending_note DONE. */
void service_pending_left(struct context *ctx, const struct svc_plan *p,
			  uint64_t id, const char *why, char *const *restart,
			  char *const *start);
/* Before the roll-back of merge ID after a failed check: DST's note of
 * pending services names, until the caller empties it once they run on
 * the old files, those to restart there (RESTART, N of them; NULL: P's
 * that service_start_in_dst() touched and that ran in DST) and, as
 * "start NAME", P's removed services the merge stopped: a pwapt killed
 * during the roll-back leaves them named for pwapt recover. */
void service_pending_rollback(struct context *ctx, const struct svc_plan *p,
			      uint64_t id, char *const *restart, size_t n);
/* After merge ID into WORLD was rolled back: WORLD's note of pending
 * services, when it is of that merge (a wmerge killed among its services,
 * service_stop_before_rollback()), goes: the top of WORLD's held notes
 * comes back (service_pending_restore; PREV is not read, they are read
 * again as they are), else it is emptied.  Another merge's note, or one
 * that cannot be read, stays. */
void service_pending_after_rollback(struct context *ctx, const char *world,
				    uint64_t id, const char *prev);
/* WORLD's note "svcmove-held": the notes of pending services that
 * another command's note replaced (pwapt rollback's while it stops
 * services, service_stop_before_rollback; a merge's,
 * service_pending_begin), the last on top, a blank line between them,
 * each written there before the one that replaces it, so that a command
 * killed at any point loses none: pwapt recover prints each after the
 * note of pending services, and the top comes back once that one is
 * emptied (service_pending_restore).
 * service_held_load: *OUT malloc'd, NULL when there is none; < 0 (ERR
 * says why) when it cannot be read, never taken for none. */
int service_held_load(struct world_store *s, const char *world, char **out,
		      struct world_error *err);
/* Whether TEXT (may be NULL), a note of pending services, is of merge
 * ID: "merge ID from SRC", or "rollback of merge ID from SRC". */
bool service_note_of(const char *text, uint64_t id);
/* The lines of note PENDING of a pwapt rollback of a merge into DST
 * after its first: once the merge is UNDONE, those to start or restart
 * on the old files; while it stands, the services the rollback stopped.
 * Printed when PUT; returns how many. */
size_t service_note_rollback_lines(const char *pending, const char *dst,
				   bool undone, bool put);
/* pwapt recover --done: empties the notes of pending services (svcmove,
 * svcmove-held) of each world of L that has one, or one that cannot be
 * read, through S (its lock held), but those of pwapt commands still at
 * work (said).  How many notes it forgot (one that cannot be read counts
 * one), or -1 (said on stderr). */
int service_notes_forget(struct world_store *s, const struct world_list *l);
/* TEXT, a note of pending services, without its writer's line (for a
 * report). */
void service_note_unowned(char *text);
/* Whether the pwapt command that wrote note TEXT (its last line, "by pid
 * PID started T boot B", boot_id(); TEXT NULL: none) is another process
 * that still runs: its note is not done with, nor an earlier command's
 * leftover, for it may be about to stop what it names. */
bool service_note_owner_works(const char *text);
/* The same, its pid; 0 when it does not run. */
pid_t service_note_writer(const char *text);
/* Writes TEXT as WORLD's note of pending services ("": none), with a
 * last line naming this process ("by pid PID started T"): a note whose
 * writer still runs is never taken for done by another command, which
 * could drop it while its writer is about to stop what it names.  0 or
 * -1. */
int service_pending_put(struct context *ctx, const char *world,
			const char *text);
/* The same, telling a note that cannot be read (< 0, ERR says why) from
 * none (0, *OUT NULL). */
int service_pending_load(struct world_store *s, const char *world,
			 char **out, struct world_error *err);
/* WORLD's note of pending services (HELD: the notes kept aside) into
 * *OUT, malloc'd, NULL when none, through a store opened for it; -1 when
 * it cannot be read (never taken for none), WHY (WHY_LEN bytes) saying
 * why. */
int service_note_read_why(struct context *ctx, const char *world, bool held,
			  char **out, char *why, size_t why_len);

/* SERVICE's command VERB (start, stop, restart, status) in WORLD: its
 * init script, or systemctl where WORLD runs systemd (status: is-active).
 * QUIET: its output to /dev/null, else to the chatter.  Returns its exit
 * status, or -1 when it could not run. */
int service_command(struct context *ctx, const char *world,
		    const char *service, const char *verb, bool quiet);
/* Whether WORLD runs systemd (it has /run/systemd/system). */
bool service_world_systemd(struct context *ctx, const char *world);
/* The health check of SERVICE in WORLD, just (re)started: it reports
 * running within 10 seconds and stays so for one more; each of PORTS
 * (may be NULL) answers a TCP connection to the loopback address from
 * inside WORLD within 10 seconds; pwapt.conf's "check.SERVICE = CMD"
 * (service_check_command), run as sh -c CMD in WORLD, exits 0; and it
 * still reports running after all that.  0 when it passed; -1 with WHY
 * naming the check that failed. */
int service_health_check(struct context *ctx, const char *world,
			 const char *service, const struct world_ports *ports,
			 char *why, size_t why_len);
/* Whether SERVICE reports running in WORLD (its status) within 10
 * seconds and stays so for one more: the first step of the check. */
bool service_runs(struct context *ctx, const char *world, const char *service);
/* pwapt.conf's check command for SERVICE, or NULL. */
const char *service_check_command(const struct context *ctx,
				  const char *service);
/* The TCP ports SERVICE's processes listen on in WORLD now (none when it
 * does not run).  -1 when they cannot be read. */
int service_ports_of(struct context *ctx, const char *world,
		     const char *service, struct world_ports *out);

#endif
