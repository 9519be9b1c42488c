/* The collector's teller: a thread of its own that takes the flush
 * requests (trace-flush.h) the moment they arrive, reads the worlds'
 * creations anew (trace_epoch()), sets what the collector drops from
 * then on, and says so to each request (TRACE_TOLD), however long the
 * collector's own thread is busy meanwhile: a sync of its tables on a
 * loaded disk, a scan of many worlds, audit's marker (up to 2 s).  wcreate
 * waits for that word alone (trace_flush_tell()); a collector that gave it
 * late made wcreate mark the world `trace-untold` for nothing.  The
 * requests then wait, told, for the collector's thread, which drains what
 * the kernel has and answers them (trace_flush_answer()).
 *
 * The teller is the only writer of the epoch: the collector's thread
 * reads it (trace_teller_epoch()) for each record it takes, so that a
 * record of an access made after a request was told is judged by the
 * epoch that request's creation set.  Private to libworld; the trace
 * floor, the collector's side. */
#ifndef PWAPT_TRACE_TELLER_H
#define PWAPT_TRACE_TELLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "trace-flush.h"
#include "trace-writer.h"

struct trace_teller {
	struct world_store *s;
	int listen_fd; /* the trace_flush's, not the teller's own */
	int wake_fd;   /* eventfd: requests told, for the collector */
	int stop_fd;   /* eventfd: the collector stops */
	pthread_t thread;
	bool running, has_mu;
	pthread_mutex_t mu;	  /* the queue */
	struct trace_flush queue; /* told, not yet taken (fd: -1) */
	struct trace_epoch_cache cache;
	uint64_t epoch; /* atomic: trace_epoch()'s, wall-clock ns */
	int error;	/* atomic: -errno of reading the creations, 0 */
	/* Sets the epoch where the kernel's programs read it (bpf), or
	 * NULL; called by trace_teller_start() first, then on the teller's
	 * thread, before any request is told of the epoch. */
	void (*publish)(void *arg, uint64_t epoch);
	void *arg;
};

#define TRACE_TELLER_INIT                                                 \
	{                                                                 \
		.listen_fd = -1, .wake_fd = -1, .stop_fd = -1, .queue = { \
			.fd = -1                                          \
		}                                                         \
	}

/* Reads the epoch once (publishing it), then starts the thread, which
 * takes the requests of LISTEN_FD (the trace_flush's, listening) from now
 * on and reads the creations again every 100 ms besides.  -errno. */
int trace_teller_start(struct trace_teller *t, struct world_store *s,
		       int listen_fd,
		       void (*publish)(void *arg, uint64_t epoch), void *arg);
/* The descriptor for the collector's poll(): readable when requests wait
 * to be taken. */
int trace_teller_fd(const struct trace_teller *t);
/* Moves the requests told since the last call into F's waiting ones (all
 * told); F's count after, or the teller's error (-errno: the creations
 * could not be read, and the teller stopped). */
int trace_teller_take(struct trace_teller *t, struct trace_flush *f);
/* The latest epoch the teller set. */
uint64_t trace_teller_epoch(struct trace_teller *t);
/* Stops and joins the thread; requests it still holds are closed
 * unanswered.  Accepts a teller never started (TRACE_TELLER_INIT). */
void trace_teller_stop(struct trace_teller *t);

#endif
