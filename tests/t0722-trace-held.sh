#!/bin/sh
# Files held open in the parent when a world is created, and read or
# written through those descriptors after it (lib-trace-held.sh), with
# the BPF trace (the audit backend: t0727).
. "$(dirname "$0")/lib.sh"
make_busybox_root
PWAPT_TRACE=bpf; export PWAPT_TRACE
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
. "$(dirname "$0")/lib-trace.sh"
collector_started() { :; }
trap 'stop_collector; cleanup' EXIT

if ! start_collector >/dev/null; then
	rm -f "$TMP/collector.pid"
	why=$(grep -m1 "cannot load the BPF programs\|cannot attach" "$TMP/collector.out") ||
		{ cat "$TMP/collector.out"; exit 1; }
	skip_all "BPF cannot load here: $why"
fi

. "$(dirname "$0")/lib-trace-held.sh"

test_done
