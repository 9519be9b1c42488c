/* The trace table's header and kind names, shared by the collector
 * (trace-bpf.c) and the reader (trace-table.c).  Private to libworld. */
#ifndef PWAPT_TRACE_TABLE_H
#define PWAPT_TRACE_TABLE_H

#include "../kernel/trace-event.h"
#include "trace.h"

/* "pwapt-trace 2 STATE lost=N since=T\n", always this long, so that the
 * collector rewrites it in place. */
#define TRACE_HEADER_LEN 78
#define TRACE_FORMAT 2
int trace_header_format(char buf[TRACE_HEADER_LEN + 1], const char *state,
			uint64_t lost, uint64_t since);
/* -EPROTO for a table of another format (1: before times and trees). */
int trace_header_parse(const char *line, char state[16], uint64_t *lost,
		       uint64_t *since);
/* Wall-clock nanoseconds now. */
uint64_t trace_now_ns(void);
/* In the state directory: flock()ed by the running collector, and holding
 * when it started (wall-clock ns, decimal).  A table whose since is older
 * was not loaded by that collector: its world has not run since it started
 * and may have run untraced before, so the reader takes it as incomplete. */
#define TRACE_LOCK "trace.lock"
/* Writes now as the start of the collector holding FD (TRACE_LOCK,
 * flock()ed), before it opens any table; -errno. */
int trace_lock_stamp(int fd);
/* Whether a collector runs (holds TRACE_LOCK): a world created now is
 * traced from its start. */
bool trace_collector_runs(struct world_store *s);
/* "read", "write", ... for enum trace_kind; NULL for an unknown kind. */
const char *trace_kind_name(int kind);

#endif
