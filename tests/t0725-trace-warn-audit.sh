#!/bin/sh
# wdiff's and wmerge's warnings from the audit trace: the tests of
# lib-trace-warn.sh (Fig. 3 between worlds, a world that changed only what
# nobody read, held open and mapped, written on both sides, an incomplete
# or damaged trace) with PWAPT_TRACE=audit, whose process trees come from
# the records' pid and ppid and whose times from their timestamps.  (Audit
# cannot tell Root's container over a plain directory from the host: the
# parent is a world.)
. "$(dirname "$0")/lib.sh"
make_busybox_root
# The kernel's lost counter is the machine's: records another program's
# rules flooded count against our worlds (lib-trace-warn.sh, whole()).
TRACE_MAY_LOSE=1
. "$(dirname "$0")/lib-trace-audit.sh"
audit_trap
start_audit_collector

. "$(dirname "$0")/lib-trace-warn.sh"

test_done
