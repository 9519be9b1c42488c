/* The tracing operations of world.h: running the collector, reading a
 * world's table. */
#include <errno.h>

#include "error.h"
#include "trace.h"

int world_trace_run(struct world_store *s, volatile sig_atomic_t *stop,
		    uint32_t ringbuf_bytes, void (*ready)(void *arg), void *arg,
		    struct world_error *err)
{
	struct trace_collector *c = NULL;
	int r;

	world_store_unlock(s);
	if ((r = trace_collector_open(&c, s, ringbuf_bytes, err)) < 0)
		return r;
	if ((r = trace_collector_scan(c, err)) < 0)
		goto out;
	if (ready)
		ready(arg);
	while (!*stop) {
		if ((r = trace_collector_poll(c, 100, err)) < 0 ||
		    (r = trace_collector_scan(c, err)) < 0)
			goto out;
	}
	r = 0;
out:
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
