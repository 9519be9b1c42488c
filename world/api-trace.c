/* The tracing operations of world.h but the collector's run
 * (api-trace-run.c): reading a world's table, starting a collector. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "trace-flush.h"
#include "trace-table.h"
#include "trace.h"

/* In the state directory: flock()ed by whoever starts a collector, so
 * that two commands at once start one. */
#define TRACE_START_LOCK "trace.start"

int world_trace_load(struct world_store *s, const char *name,
		     struct world_trace *out, struct world_error *err)
{
	int r = store_check_world(s, name, err);
	int flushed =
		r < 0 ? r : trace_flush_request(s, TRACE_FLUSH_TIMEOUT_MS);

	if (r < 0 || (r = trace_table_load(s, name, out, err)) < 0)
		return r;
	out->flushed = out->live && flushed > 0;
	return 0;
}

void world_trace_release(struct world_trace *t)
{
	trace_table_release(t);
}

bool world_trace_collector_runs(struct world_store *s)
{
	return trace_collector_runs(s);
}

bool world_trace_starting(struct world_store *s)
{
	_cleanup_close_ int fd =
		openat(s->state_fd, TRACE_START_LOCK, O_RDONLY | O_CLOEXEC);

	return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
	       errno == EWOULDBLOCK;
}

int world_trace_start_lock(struct world_store *s, struct world_error *err)
{
	int fd = openat(s->state_fd, TRACE_START_LOCK,
			O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return werr_errno(err, errno, "cannot open %s", TRACE_START_LOCK);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return werr_errno(err, e, "cannot lock %s", TRACE_START_LOCK);
	}
	return fd;
}

int world_trace_log_open(struct world_store *s, struct world_error *err)
{
	int fd = openat(s->state_fd, TRACE_LOG,
			O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	return fd < 0 ? werr_errno(err, errno, "cannot open %s", TRACE_LOG) : fd;
}

int world_trace_mark_untraced(struct world_store *s, const char *name,
			      struct world_error *err)
{
	char header[TRACE_HEADER_LEN + 1];
	_cleanup_free_ char *rel = NULL;
	int r = store_check_world(s, name, err);

	if (r < 0)
		return r;
	if (asprintf(&rel, "%s/trace", name) < 0)
		return werr(err, ENOMEM, "out of memory");
	/* A collector that traces it later finds the table and keeps it
	 * incomplete (the world ran untraced meanwhile). */
	_cleanup_close_ int fd = openat(s->worlds_fd, rel,
					O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
					0644);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return werr_errno(err, errno, "cannot create the trace of '%s'",
				  name);
	/* Untraced since its making: whole since no time (0). */
	trace_header_format(header, "incomplete", 0, 0);
	if (write(fd, header, TRACE_HEADER_LEN) != TRACE_HEADER_LEN ||
	    fsync(fd) < 0 || fsync(s->worlds_fd) < 0)
		return werr_errno(err, errno ? errno : EIO,
				  "cannot write the trace of '%s'", name);
	return 0;
}

bool world_trace_wait_traced(struct world_store *s, const char *name,
			     int timeout_ms)
{
	_cleanup_free_ char *rel = NULL;
	struct timespec start, now;

	if (asprintf(&rel, "%s/trace", name) < 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (faccessat(s->worlds_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
			    (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    timeout_ms)
			return false;
		poll(NULL, 0, 20);
	}
}
