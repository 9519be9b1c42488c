#!/bin/sh
# Flush requests with the BPF backend (lib-trace-flush.sh; audit: t0736):
# wdiff, wmerge and pwapt trace ask the collector to write what its ring
# buffer holds before they read the tables, so that the calls of the
# last milliseconds are there; a collector that does not answer makes
# them say the trace may be incomplete.
. "$(dirname "$0")/lib.sh"
make_busybox_root
. "$(dirname "$0")/lib-trace-bpf.sh"
. "$(dirname "$0")/lib-trace-flush.sh"

# A collector of a pwapt without flush requests holds trace.lock but has
# no socket: the reports say so at once, without waiting.
test_expect_success 'a collector without a flush socket: said at once' '
	mv "$PWAPT_STATE/trace.sock" "$TMP/trace.sock.aside" &&
	start=$(date +%s) &&
	wdiff C >"$TMP/wdiff.out"; spent=$(($(date +%s) - start))
	mv "$TMP/trace.sock.aside" "$PWAPT_STATE/trace.sock" &&
	cat "$TMP/wdiff.out" && test $spent -le 3 &&
	grep -q "^! trace: the trace collector did not answer within 5 s" "$TMP/wdiff.out"
'

test_expect_success 'the collector removes its socket when it stops' '
	test -S "$PWAPT_STATE/trace.sock" &&
	stop_collector && test ! -e "$PWAPT_STATE/trace.sock" &&
	wdiff C >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -q "^! trace: the trace of P is incomplete: no collector runs" "$TMP/wdiff.out" &&
	if grep "did not answer" "$TMP/wdiff.out"; then exit 1; fi
'

test_done
