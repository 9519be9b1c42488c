# Flush requests (t0735 bpf, t0736 audit), sourced after lib.sh,
# make_busybox_root, the backend's set-up (the collector started) and
# lib-trace-warn.sh's helpers: wdiff and wmerge right after the calls
# that make a derived file, with no wait for the collector's next batch,
# and a collector that does not answer.  The parent is a world P (both
# backends attribute a world's accesses).

ROUNDS=${ROUNDS:-20}

# A derived-file warning of wdiff C for round $1: /srv/s$1.c changed in
# C, read in P, /srv/o$1.o written from it; the trace flushed (no note
# that it may lack the latest accesses).
derived_now() {
	test_exit 3 wdiff C >"$TMP/wdiff-$1.out" || { cat "$TMP/wdiff-$1.out"; return 1; }
	grep -Eq "^! /srv/s$1.c: derived files: read in P after C was created by processes that then wrote (.*, )?/srv/o$1.o(,| |$)" \
		"$TMP/wdiff-$1.out" || { echo "round $1:"; cat "$TMP/wdiff-$1.out"; return 1; }
	if grep "^! trace: .*latest accesses" "$TMP/wdiff-$1.out"; then return 1; fi
}

flush_setup() {
	mkdir -p "$PWAPT_ROOT/srv" &&
	for i in $(seq 1 $ROUNDS); do echo "v1 $i" >"$PWAPT_ROOT/srv/s$i.c" || return 1; done &&
	wcreate P Root >/dev/null && wait_traced P &&
	wexec P true && sleep 0.3 &&
	wcreate C P >/dev/null && wait_traced C
}

test_expect_success "wdiff right after the build: the derived file, $ROUNDS rounds out of $ROUNDS" '
	flush_setup &&
	for i in $(seq 1 $ROUNDS); do
		wexec C sh -c "echo v2 $i >/srv/s$i.c" &&
		wexec P sh -c "cat /srv/s$i.c >/srv/o$i.o" &&
		derived_now $i || exit 1
	done
'

# wmerge refuses each time: nothing merged, C kept for the next round.
test_expect_success "wmerge right after the build refuses, 5 rounds out of 5" '
	for i in $(seq 1 5); do
		wexec C sh -c "echo v3 $i >/srv/s$i.c" &&
		wexec P sh -c "cat /srv/s$i.c >/srv/m$i.o" &&
		test_fails_with 3 "cannot merge .C. into .P.: [0-9]+ paths? of .C. read in .P. to make other files" \
			wmerge C P >"$TMP/merge.out" &&
		grep -Eq "^! /srv/s$i.c: derived files: read in P .*wrote (.*, )?/srv/m$i.o(,| |$)" "$TMP/merge.out" ||
			{ cat "$TMP/merge.out" "$TMP/err"; exit 1; }
	done &&
	test_equal "v1 1" "$(wexec P cat /srv/s1.c)"
'

test_expect_success 'pwapt trace right after the calls: the table has them, flushed' '
	for i in $(seq 1 5); do
		wexec P sh -c "cat /srv/s$i.c >/srv/t$i.o" &&
		pwapt trace P >"$TMP/trace.out" &&
		grep -Eq "^(write|create) +/srv/t$i.o$" "$TMP/trace.out" ||
			{ cat "$TMP/trace.out"; exit 1; }
	done &&
	if grep "^# the trace collector did not" "$TMP/trace.out"; then exit 1; fi &&
	pwapt trace --json P | grep -q "\"collector\":true,\"flushed\":true,"
'

# A collector that is stopped does not answer: every report says the
# trace may lack the latest accesses, after TRACE_FLUSH_TIMEOUT_MS (5 s),
# never later than a bound, never presented as complete.
test_expect_success 'a collector that does not answer: the trace may be incomplete, said in bounded time' '
	kill -STOP "$(cat "$TMP/collector.pid")" &&
	start=$(date +%s) &&
	{ wdiff C >"$TMP/wdiff.out"; r=$?; } &&
	spent=$(($(date +%s) - start)) &&
	wdiff --json C >"$TMP/wdiff.json";
	pwapt trace P >"$TMP/trace.out" && pwapt trace --json P >"$TMP/trace.json";
	kill -CONT "$(cat "$TMP/collector.pid")" &&
	cat "$TMP/wdiff.out" && echo "wdiff took $spent s" &&
	test $r = 3 && test $spent -ge 4 && test $spent -le 30 &&
	grep -qx "! trace: the trace collector did not answer within 5 s (stopped, stuck, or older than this pwapt): the traces may lack the latest accesses" "$TMP/wdiff.out" &&
	grep -qx "! trace: conflicts judged by ctime" "$TMP/wdiff.out" &&
	grep -q "^! /srv/s1.c: derived files: .* (the trace is incomplete)$" "$TMP/wdiff.out" &&
	grep -q "\"trace\":{\"complete\":false" "$TMP/wdiff.json" &&
	grep -qx "# the trace collector did not write what it has received when asked (stopped or stuck?): the latest accesses may be missing" "$TMP/trace.out" &&
	grep -q "\"collector\":true,\"flushed\":false," "$TMP/trace.json"
'

test_expect_success 'answering again once continued' '
	wexec C sh -c "echo v4 >/srv/s1.c" &&
	wexec P sh -c "cat /srv/s1.c >/srv/again.o" &&
	wdiff C >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -q "^! /srv/s1.c: derived files: .*/srv/again.o" "$TMP/wdiff.out" &&
	if grep "^! trace: .*latest accesses" "$TMP/wdiff.out"; then exit 1; fi
'
