/* The tracing operations of world.h: running the collector of the
 * backend chosen, reading a world's table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "trace-audit.h"
#include "trace.h"

static int run_bpf(struct trace_collector *c, volatile sig_atomic_t *stop,
		   struct world_error *err)
{
	int r;

	while (!*stop)
		if ((r = trace_collector_poll(c, 100, err)) < 0 ||
		    (r = trace_collector_scan(c, err)) < 0)
			return r;
	return 0;
}

static int run_audit(struct world_store *s, volatile sig_atomic_t *stop,
		     const struct world_trace_options *o, const char *fallback,
		     struct world_error *err)
{
	struct trace_audit *c = NULL;
	int r;

	if ((r = trace_audit_open(&c, s, err)) < 0)
		return r;
	if ((r = trace_audit_scan(c, err)) < 0)
		goto out;
	if (o->ready)
		o->ready(o->arg, "audit", trace_audit_mode(c), fallback);
	while (!*stop)
		if ((r = trace_audit_poll(c, 100, err)) < 0 ||
		    (r = trace_audit_scan(c, err)) < 0)
			goto out;
	r = 0;
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
		r = run_bpf(c, stop, err);
	}
	trace_collector_free(c);
	return r;
}

int world_trace_load(struct world_store *s, const char *name,
		     struct world_trace *out, struct world_error *err)
{
	int r = store_check_world(s, name, err);

	return r < 0 ? r : trace_table_load(s, name, out, err);
}

void world_trace_release(struct world_trace *t)
{
	trace_table_release(t);
}
