# The BPF backend's set-up of the trace tests (t0720, t0722), sourced
# after lib.sh and make_busybox_root: PWAPT_TRACE=bpf, lib-trace.sh, a trap
# that stops the collector, and the collector started; all skipped where
# BPF cannot load (any other failure of the collector fails the test).
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
