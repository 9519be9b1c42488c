#!/bin/sh
# Files held open in the parent when a world is created (lib-trace-held.sh)
# with PWAPT_TRACE=audit (the BPF backend: t0722).
. "$(dirname "$0")/lib.sh"
make_busybox_root
. "$(dirname "$0")/lib-trace-audit.sh"
audit_trap
start_audit_collector

. "$(dirname "$0")/lib-trace-held.sh"

test_done
