/* File-access tracing (README, "Tracing"; pwapt-trace(8)): the collector
 * and the per-world tables.  Private to libworld; the trace floor, above
 * lifecycle.
 *
 * A world's table is worlds/NAME/trace: a header line, then one line per
 * (process tree, kind, path[, path2]), in the order seen, each once, and
 * once more after each creation of a world (the warnings ask what a tree
 * did after a world was created):
 *     pwapt-trace 2 STATE lost=N since=T
 *     TIME TREE read /etc/passwd
 *     TIME TREE rename /tmp/a /tmp/b
 * TIME: wall-clock nanoseconds; TREE: the pid of the process tree's
 * oldest process (kernel/trace-event.h); T: since when nothing was lost
 * or untraced (0: never).  A table of format 1 (no times, no trees) is
 * refused with -EPROTO, and a collector starts it anew.
 * STATE is "complete" (every access of the world while it was traced is
 * in the table), "incomplete" (N accesses could not be recorded, or the
 * world was not traced for a while: the table says so, never less), or
 * "collecting" (a collector is at work; if none runs, it died: treat as
 * incomplete).  Paths are world-relative and absolute, escaped as
 * path_escape() does (a space is %20). */
#ifndef PWAPT_TRACE_H
#define PWAPT_TRACE_H

#include <signal.h>
#include <stdint.h>

#include "store.h"

struct trace_collector;

/* Loads and attaches the BPF programs (kernel/pwapt-trace.bpf.c).  Fails
 * with the kernel's reason when BPF cannot load (-EPERM, -ENOSYS, ...).
 * RINGBUF_BYTES: the ring buffer's size (a power of two, at least a page),
 * 0 for the default. */
int trace_collector_open(struct trace_collector **out, struct world_store *s,
			 uint32_t ringbuf_bytes, struct world_error *err);
/* Flushes every table (its header then says complete or incomplete),
 * detaches and unloads the programs.  Accepts NULL. */
void trace_collector_free(struct trace_collector *c);
/* Starts or stops tracing worlds so that exactly the running ones are
 * traced: Root's container, when Root is not "/"; when it is, every
 * process of the initial pid namespace outside the traced cgroups (but
 * the collector). */
int trace_collector_scan(struct trace_collector *c, struct world_error *err);
/* Waits up to TIMEOUT_MS for events, records them, and makes the tables
 * durable (append, fsync) when a batch is due. */
int trace_collector_poll(struct trace_collector *c, int timeout_ms,
			 struct world_error *err);

void trace_table_release(struct world_trace *t);
/* Parses a table's TEXT (LEN bytes, NUL-terminated, changed in place);
 * NAME is for messages.  The reader and the fuzz target use it. */
int trace_table_parse(const char *name, char *text, size_t len,
		      struct world_trace *out, struct world_error *err);
/* Reads worlds/NAME/trace; -ENOENT when the world was never traced,
 * -EBADMSG (with the line in ERR) when the file is damaged. */
int trace_table_load(struct world_store *s, const char *name,
		     struct world_trace *t, struct world_error *err);

#endif
