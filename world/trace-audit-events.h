/* The audit backend's records turned into table lines (trace-audit-
 * events.c): events assembled from their records, names resolved to
 * world-relative paths (see trace-audit.c, "Paths").  Private to
 * libworld. */
#ifndef PWAPT_TRACE_AUDIT_EVENTS_H
#define PWAPT_TRACE_AUDIT_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace-writer.h"

#define MAX_PENDING 64 /* events whose records are still arriving */
#define MAX_ITEMS   32 /* PATH records of one event kept (overlayfs adds its own: a rename over a lower file, 10) */

/* Inode numbers of a world mapped to the names seen for them: a hash
 * by number (trace-audit-events.c). */
struct inode_map {
	uint64_t *ino;
	char **path;
	size_t n, used, cap; /* used: entries and tombstones */
};

/* The process tree of each process seen (trace-event.h): a process
 * whose parent is not known in the world starts one.  A hash by pid,
 * where a collision forgets the older process. */
#define TREE_SLOTS 4096
struct tree_slot {
	uint32_t pid, tree;
};

struct audited {
	struct traced *t;
	struct inode_map inodes;
	struct tree_slot trees[TREE_SLOTS];
};

struct item {
	char *name;
	uint64_t inode;
	dev_t dev;
	bool has_inode;
	char type[12]; /* nametype: NORMAL, PARENT, CREATE, DELETE */
};

struct event {
	bool used;
	uint64_t serial;
	uint64_t time;	    /* wall-clock ns (audit's milliseconds) */
	uint32_t pid, ppid;
	char *syscall;	    /* the call's name, NULL until its SYSCALL record */
	uint64_t a[4];
	char *cwd;
	struct item items[MAX_ITEMS];
	int nitems;
	bool overflow;	    /* more PATH records than kept */
};

struct audit_events {
	struct event pending[MAX_PENDING];
	const char *key; /* of pwapt's rules: other events are not ours */
	uint64_t epoch;	 /* the latest creation of a world, wall-clock ns */
	int machine;	 /* libaudit's, for a record without arch */
	/* The traced world whose tree is on device DEV, NULL for none. */
	struct audited *(*world_of)(void *arg, dev_t dev);
	void *arg;
};

/* One record of TYPE, TEXT "audit(SEC.MS:SERIAL): k=v ...": an event
 * complete turns into lines of its world's table (a name that cannot be
 * resolved counts as lost).  -ENOMEM. */
int audit_events_record(struct audit_events *ev, int type, char *text);
/* Finishes the events whose end did not come, with what they have. */
void audit_events_finish(struct audit_events *ev);
void inode_map_release(struct inode_map *m);

#endif
