/* The tracing operations of world.h: running the collector of the
 * backend chosen, reading a world's table. */
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
#include "trace-audit.h"
#include "trace-flush.h"
#include "trace-table.h"
#include "trace.h"

/* In the state directory: flock()ed by whoever starts a collector, so
 * that two commands at once start one. */
#define TRACE_START_LOCK "trace.start"

/* Whether the collector goes on: 1, or 0 when asked to stop, or an error
 * when its state directory was removed (nobody is left to read its
 * tables, and its programs would stay attached for nothing; a directory
 * made again at the same path is another store, for another collector). */
static int go_on(struct world_store *s, volatile sig_atomic_t *stop,
		 struct world_error *err)
{
	struct stat st;

	if (*stop)
		return 0;
	if (fstat(s->state_fd, &st) == 0 && st.st_nlink == 0)
		return werr(err, ENOENT, "%s was removed: the collector stops",
			    s->state);
	return 1;
}

/* The worlds are scanned (listed, their containers asked through
 * liblxc) at most every SCAN_MS, however often records arrive: a scan
 * costs far more than a batch of records. */
#define SCAN_MS 100

static bool scan_due(struct timespec *last)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - last->tv_sec) * 1000 +
		    (now.tv_nsec - last->tv_nsec) / 1000000 < SCAN_MS)
		return false;
	*last = now;
	return true;
}

static int run_bpf(struct world_store *s, struct trace_collector *c,
		   volatile sig_atomic_t *stop, struct world_error *err)
{
	struct timespec last = {0};
	int r;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while ((r = go_on(s, stop, err)) > 0)
		if ((r = trace_collector_poll(c, SCAN_MS, err)) < 0 ||
		    (scan_due(&last) && (r = trace_collector_scan(c, err)) < 0))
			return r;
	return r;
}

static int run_audit(struct world_store *s, volatile sig_atomic_t *stop,
		     const struct world_trace_options *o, const char *fallback,
		     struct world_error *err)
{
	struct trace_audit *c = NULL;
	struct timespec last;
	int r;

	if ((r = trace_audit_open(&c, s, err)) < 0)
		return r;
	if ((r = trace_audit_scan(c, err)) < 0)
		goto out;
	if (o->ready)
		o->ready(o->arg, "audit", trace_audit_mode(c), fallback);
	clock_gettime(CLOCK_MONOTONIC, &last);
	while ((r = go_on(s, stop, err)) > 0)
		if ((r = trace_audit_poll(c, SCAN_MS, err)) < 0 ||
		    (scan_due(&last) && (r = trace_audit_scan(c, err)) < 0))
			goto out;
out:
	trace_audit_free(c);
	return r;
}

int world_trace_run(struct world_store *s, volatile sig_atomic_t *stop,
		    const struct world_trace_options *o,
		    struct world_error *err)
{
	struct trace_collector *c = NULL;
	struct world_error bpf_err = {0};
	const char *backend = o->backend;
	int r;

	if (backend && strcmp(backend, "bpf") && strcmp(backend, "audit"))
		return werr(err, EINVAL, "unknown trace backend '%s'", backend);
	world_store_unlock(s);
	if (backend && !strcmp(backend, "audit"))
		return run_audit(s, stop, o, NULL, err);
	r = trace_collector_open(&c, s, o->ringbuf_bytes, backend ? err : &bpf_err);
	/* The default falls back to audit when BPF cannot load; another
	 * collector at work is no reason to. */
	if (r < 0 && !backend && r != -EBUSY)
		return run_audit(s, stop, o, bpf_err.msg, err);
	if (r < 0) {
		if (!backend)
			*err = bpf_err;
		return r;
	}
	if ((r = trace_collector_scan(c, err)) >= 0) {
		if (o->ready)
			o->ready(o->arg, "bpf", "", NULL);
		r = run_bpf(s, c, stop, err);
	}
	trace_collector_free(c);
	return r;
}

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
