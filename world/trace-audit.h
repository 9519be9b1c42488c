/* The audit trace backend's collector (trace-audit.c): the same tables
 * as the BPF backend's (trace.h), from the kernel's audit records.
 * Private to libworld; on the floor of trace-bpf. */
#ifndef PWAPT_TRACE_AUDIT_H
#define PWAPT_TRACE_AUDIT_H

#include "store.h"

struct trace_audit;

/* Takes the store's collector lock, removes the audit rules a killed
 * collector of this store left, and starts receiving audit records: as
 * the audit daemon when none runs (enabling auditing until
 * trace_audit_free()), else beside auditd through its read-only multicast
 * group.  Fails (-EPERM, -EPROTONOSUPPORT, ...) when audit cannot be
 * used. */
int trace_audit_open(struct trace_audit **out, struct world_store *s,
		     struct world_error *err);
/* How records arrive, in words, for the collector's message. */
const char *trace_audit_mode(const struct trace_audit *c);
/* As trace_collector_scan(): exactly the running worlds are traced. */
int trace_audit_scan(struct trace_audit *c, struct world_error *err);
/* As trace_collector_poll(). */
int trace_audit_poll(struct trace_audit *c, int timeout_ms,
		     struct world_error *err);
/* Removes pwapt's rules, flushes the tables (complete or incomplete),
 * gives the audit daemon's place and auditing's state back as found.
 * Accepts NULL. */
void trace_audit_free(struct trace_audit *c);

#endif
