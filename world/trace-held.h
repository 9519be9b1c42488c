/* The descriptors that the processes of a world's parents and of every
 * ancestor of theirs up to Root held open on regular files when the world
 * was created (trace-held.c): the trace has one entry per open, so a file
 * opened before and read or written through that descriptor after the
 * creation leaves no entry after it; the derived-file warnings
 * (warnings.c) take this record instead.  Private to libworld; the trace
 * floor.
 *
 * worlds/NAME/held-at-creation, written once at wcreate where a collector
 * runs (atomic, fsynced):
 *     pwapt-held 1 STATE WORLD...
 *     WORLD MODE CHAIN PATH
 * WORLD... the parents, then their ancestors up to Root, each once;
 * STATE "complete", or "incomplete" when /proc could not be read (a
 * process that exited meanwhile held nothing); MODE r, w or rw; CHAIN the
 * process's host pid, then its ancestors up to the top of its process
 * tree as the trace names it (trace-event.h), comma-separated; PATH as
 * /proc showed it to pwapt (relative to the process's root: the parent's
 * tree), escaped as path_escape() does. */
#ifndef PWAPT_TRACE_HELD_H
#define PWAPT_TRACE_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "strv.h"

#define TRACE_HELD	     "held-at-creation"
#define TRACE_HELD_CHAIN_MAX 64

struct trace_held_fd {
	char *parent, *path;
	bool reads, writes;
	uint32_t chain[TRACE_HELD_CHAIN_MAX];
	size_t n_chain;
};

struct trace_held {
	bool complete;
	struct strv parents; /* the worlds whose processes were looked at */
	struct trace_held_fd *v;
	size_t n;
};

/* Records for world NAME (its directory made) what the processes of each
 * of its N PARENTS and of each of their ancestors hold open now: those of
 * a world's running container, or for Root on a host of pwapt's own pid
 * namespace (as warnings.c finds them).  Nothing, and no record, unless a
 * collector runs: the world's trace then says it is incomplete.  0, or
 * -ENOMEM with ERR set; a record that cannot be written is none (the
 * reports say so), and what /proc did not tell makes it incomplete:
 * neither is an error. */
int trace_held_record(struct world_store *s, const char *name,
		      const char *const *parents, size_t n,
		      struct world_error *err);
/* Reads NAME's record: -ENOENT when there is none, -EBADMSG when it is
 * damaged, -ENOMEM. */
int trace_held_load(struct world_store *s, const char *name,
		    struct trace_held *out);
void trace_held_release(struct trace_held *h);

#endif
