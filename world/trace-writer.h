/* A traced world's table as a collector writes it (format in trace.h),
 * shared by both backends (trace-bpf.c, trace-audit.c).  Private to
 * libworld. */
#ifndef PWAPT_TRACE_WRITER_H
#define PWAPT_TRACE_WRITER_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "trace-table.h"

/* A set of the table's lines without their times ("TREE KIND PATH
 * [PATH2]"), each with the time of its latest line, for deduplication:
 * open addressing. */
struct line_set {
	char **v;
	uint64_t *time;
	size_t n, cap;
};

struct traced {
	char *name;
	uint32_t id;	    /* slot and tracking number (trace-event.h) */
	pid_t init_pid;	    /* of the container traced */
	uint64_t cgroup;	    /* bpf: its cgroup id; audit: its root's device */
	int fd;		    /* worlds/NAME/trace */
	off_t size;	    /* where the next line goes */
	struct line_set lines;
	char *pending;	    /* lines not yet written */
	size_t pending_len, pending_cap;
	uint64_t lost_base; /* lost in earlier runs of a collector */
	uint64_t lost;	    /* lost in this run, from the map */
	uint64_t lost_flushed; /* lost_base + lost at the last header */
	uint64_t since;	    /* wall-clock ns: nothing lost or untraced since */
	const char *header_state; /* as last written, NULL before */
	bool unsynced;	    /* lines written since the last fdatasync() */
	uint64_t synced_at; /* wall-clock ns of the last fdatasync() */
	bool gap;	    /* the world ran untraced for a while */
	bool seen;	    /* still running at the last scan */
};
/* Loads T->name's existing table (its lines, its lost count; T then has a
 * gap), or creates it; a damaged one is kept aside as trace.damaged and
 * started anew.  T->fd must be -1, T->gap set when the world ran untraced. */
int traced_open_table(struct world_store *s, struct traced *t,
		      struct world_error *err);
/* Adds the line "TIME TREE KIND PATH [PATH2]" (TIME: wall-clock ns)
 * unless the table has (TREE, KIND, PATH, PATH2) from EPOCH on (the
 * latest creation of a world, wall-clock ns): 1 added, 0 present,
 * -ENOMEM. */
int traced_add(struct traced *t, const char *kind, const char *path,
	       const char *path2, uint32_t tree, uint64_t time,
	       uint64_t epoch);
/* What trace_epoch() keeps from one call to the next. */
struct trace_epoch_cache {
	struct timespec stamp; /* worlds/'s mtime when last read whole */
	nlink_t nlink;	       /* and its link count: one more a world */
	uint64_t latest;       /* the latest trace_from of a world then */
};
/* A world whose creation marker is older is not being created. */
#define TRACE_CREATING_S 10
/* Whether a running collector may take NAME's marker, made at MARKED
 * (CLOCK_BOOTTIME, which counts a suspend), for a killed wcreate's by
 * now, a margin before TRACE_CREATING_S, and drop repeated accesses from
 * the creation before: by the time since MARKED, or by the marker's mtime
 * on the system clock, which the collector reads (a clock stepped).
 * wcreate's metadata, written later, says that its trace may lack them. */
bool trace_mark_stale(struct world_store *s, const char *name,
		      const struct timespec *marked);
/* Into *EPOCH, wall-clock ns, the moment from which an access seen before
 * is dropped (traced_add(), and the BPF program's own filter): the latest
 * creation of a world of S (its trace_from, store.h), or UINT64_MAX, none
 * dropped, while a world is marked as being created whose metadata is not
 * written yet (store_creating_recent()).  wcreate marks the world and asks
 * the collector (a flush request) before it takes trace_from: once the
 * collector answered, no access after the creation is taken for one seen
 * already (unanswered, from its next call on, within 100 ms).  The worlds
 * are read again only when worlds/ changed since C's stamp, which is kept
 * once it is a few seconds old. */
int trace_epoch(struct world_store *s, struct trace_epoch_cache *c,
		uint64_t *epoch);
/* EPOCH (trace_epoch()'s) on the kernel's CLOCK_BOOTTIME, for the BPF
 * program: BOOT_TO_REAL ns earlier; UINT64_MAX stays UINT64_MAX (none
 * dropped), and one before the boot is 0. */
uint64_t trace_boot_epoch(uint64_t epoch, int64_t boot_to_real);
/* Appends the pending lines and rewrites the header: "complete" when
 * FINAL and nothing was lost, else "collecting" or "incomplete".  Synced
 * to the disk when FINAL or the header changed, else at most every few
 * seconds (trace-writer.c, SYNC_MS). */
int traced_flush(struct traced *t, bool final);
/* Closes T's table and frees T.  Accepts NULL. */
void traced_free(struct traced *t);
/* When process PID started, in clock ticks since boot. */
int trace_start_ticks(pid_t pid, unsigned long long *ticks);
/* Now, in clock ticks since boot, rounded up, returned once the clock is
 * past that tick: a process started afterwards has a later start tick
 * (trace_start_ticks).  Waits at most two ticks. */
unsigned long long trace_attached_ticks(void);
/* The canonical absolute path of NAME resolved in DIR (either may be
 * NULL; NAME absolute or DIR NULL: NAME alone; NAME empty: DIR), made
 * canonical lexically ("." "..", "//").  NULL when both are NULL or on
 * ENOMEM. */
char *trace_event_path(const char *dir, const char *name);

#endif
