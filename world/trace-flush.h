/* Asking the running collector to write what the kernel has delivered to
 * it before a table is read (pwapt-trace(8), "Flush requests").  A
 * collector appends its tables in batches (BATCH_MS): a table read
 * between two batches lacks the accesses of the last moments, and a
 * warning built on them (a derived file, a path written on both sides)
 * would be missed although the table says nothing is lost.  So wdiff,
 * wmerge and `pwapt trace NAME` first connect to the collector's socket
 * (and wcreate, once it marked a world as being created: trace_epoch())
 * (TRACE_SOCKET in the state directory); the collector takes what the
 * kernel has (bpf: its ring buffer; audit: every record queued before a
 * marker record of its own has come back), writes it to the tables, and
 * answers each connection taken before it began.  Private to libworld;
 * the trace floor. */
#ifndef PWAPT_TRACE_FLUSH_H
#define PWAPT_TRACE_FLUSH_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>

#include "store.h"

/* In the state directory: the collector's listening socket
 * (SOCK_SEQPACKET, mode 0600).  A connection is a request; the collector
 * first sends TRACE_TOLD, once it has read the worlds' creations anew
 * (trace_epoch()) and set what it drops from them, then the answer, one
 * byte, TRACE_FLUSHED or TRACE_NOT_FLUSHED, and closes it. */
#define TRACE_SOCKET	  "trace.sock"
#define TRACE_TOLD	  'e'
#define TRACE_FLUSHED	  '1'
#define TRACE_NOT_FLUSHED '0'
/* How long a reader waits for the answer: a collector that is busy
 * (a scan of many worlds, a sync of its tables on a loaded disk) answers
 * well within it; one stopped or stuck does not, and the reader says its
 * tables may lack their latest accesses. */
#define TRACE_FLUSH_TIMEOUT_MS 5000
/* wcreate's, which holds the store's lock meanwhile: a collector that does
 * not answer at once holds no command up for long. */
#define TRACE_CREATE_FLUSH_MS 1000

/* The collector's side: its socket and the requests taken, not yet
 * answered. */
struct trace_flush {
	int fd; /* listening, -1 when none */
	int *waiting;
	size_t n, cap;
	size_t told; /* the first TOLD waiting requests were sent TRACE_TOLD */
};

/* Makes TRACE_SOCKET (a killed collector's is replaced) and listens on
 * it, non-blocking.  The caller holds TRACE_LOCK.  -errno. */
int trace_flush_listen(struct world_store *s, struct trace_flush *f);
/* Adds request C to the waiting ones (closed, unanswered, where there is
 * no memory for it: its reader says not flushed). */
void trace_flush_add(struct trace_flush *f, int c);
/* Takes the requests that arrived: how many wait now. */
size_t trace_flush_accept(struct trace_flush *f);
/* Sends TRACE_TOLD to the waiting requests not yet told: the caller has
 * read the worlds' creations since it took them. */
void trace_flush_told(struct trace_flush *f);
/* Answers every waiting request (FLUSHED or not) and closes it. */
void trace_flush_answer(struct trace_flush *f, bool flushed);
/* Closes the socket and the waiting requests (unanswered: their readers
 * say the trace may be incomplete) and removes TRACE_SOCKET.  Accepts
 * a trace_flush never listened on ({.fd = -1}). */
void trace_flush_release(struct world_store *s, struct trace_flush *f);

/* The reader's side: asks the collector of S to write what it has, and
 * waits up to TIMEOUT_MS for its answer.  1: written; 0: no collector
 * runs (nothing to write: the tables are final, or the readers say no
 * collector ran); -ETIMEDOUT: a collector runs but did not answer in
 * time (stopped, stuck, or of a pwapt without flush requests); -EIO: it
 * answered that it could not (audit: its marker did not come back);
 * other -errno. */
int trace_flush_request(struct world_store *s, int timeout_ms);
/* wcreate's: asks the same and waits up to TIMEOUT_MS for TRACE_TOLD
 * alone, not for the tables to be written.  1: the running collector has
 * read the worlds' creations since the call began; 0: no collector runs;
 * negative: one runs (or may) that did not say so in time (stopped,
 * stuck, or of a pwapt before TRACE_TOLD), or the request failed. */
int trace_flush_tell(struct world_store *s, int timeout_ms);
/* Milliseconds since T on CLOCK_MONOTONIC. */
long trace_ms_since(const struct timespec *t);

#endif
