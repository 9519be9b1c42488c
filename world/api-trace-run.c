/* world_trace_run(): the collector of the backend chosen, BPF or audit.
 * Apart from the other tracing operations (api-trace.c) so that a program
 * that only reads tables does not link libbpf and libaudit: pwapt-trace
 * runs the collector, pwapt does not (README, "Architecture"). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "trace-audit.h"
#include "trace-flush.h"
#include "trace.h"

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
	if (trace_ms_since(last) < SCAN_MS)
		return false;
	clock_gettime(CLOCK_MONOTONIC, last);
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
