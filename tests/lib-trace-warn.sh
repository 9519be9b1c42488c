# The warnings of wdiff and wmerge from the trace (t0720 bpf, t0725 audit),
# sourced after lib.sh, make_busybox_root, PWAPT_TRACE and lib-trace.sh:
# the paper's Fig. 3 with sh and cat (a child patches a source file; its
# parent, still on the old source, builds the object file from it), a
# world that changed only what nobody read, files held open and mapped,
# a collector down, a damaged or old table.  The parent is a world P
# (both backends attribute a world's accesses); t0720 does Root too.

# Waits until world $1's table has the access matching $2 (grep -E on
# "KIND PATH", trace_entries).
wait_line() {
	wait_for 20 "trace_entries $1 | grep -Eq \"$2\""
}

# Whether world $1's trace lost nothing.  The audit backend counts the
# kernel's lost records (a counter of the whole machine) against every
# world: on a busy machine a table may lose records a test did not cause.
# Then the test checks that the report says so instead of its clean form.
# Only where the file sets TRACE_MAY_LOSE (audit); with BPF a loss fails.
whole() {
	head -n1 "$PWAPT_STATE/worlds/$1/trace" | grep -q " lost=0* " && return 0
	[ -n "${TRACE_MAY_LOSE:-}" ] || { echo "the trace of $1 lost records"; exit 1; }
	echo "# the trace of $1 lost records: the report must say so"
	return 1
}

# A scenario: P made from Root, traced; C made from P.
fig3_setup() {
	printf 'int main(void) { return 1; }\n' >"$PWAPT_ROOT/srv/prog.c" &&
	printf 'old object\n' >"$PWAPT_ROOT/srv/prog.o" &&
	printf 'nobody reads this\n' >"$PWAPT_ROOT/srv/unread" &&
	wcreate P Root >/dev/null && wait_traced P &&
	wexec P true && sleep 0.3 &&
	wcreate C P >/dev/null && wait_traced C
}

mkdir -p "$PWAPT_ROOT/srv"

test_expect_success 'Fig. 3: wdiff names the object built from the old source' '
	fig3_setup &&
	wexec C sh -c "echo \"int main(void) { return 0; }\" >/srv/prog.c" &&
	wexec P sh -c "cat /srv/prog.c >/srv/prog.o.tmp && mv /srv/prog.o.tmp /srv/prog.o" &&
	wait_line P "^rename /srv/prog.o.tmp /srv/prog.o$" &&
	test_exit 3 wdiff C >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -qx "M /srv/prog.c" "$TMP/wdiff.out" &&
	grep -Eqx "! /srv/prog.c: derived files: read in P after C was created by processes that then wrote /srv/prog.o( \(the trace is incomplete\))?" "$TMP/wdiff.out" &&
	if whole P; then
		grep -qx "! trace: conflicts judged by trace and ctime" "$TMP/wdiff.out" &&
		if grep "^! trace: .*incomplete\|^! trace: .*no trace" "$TMP/wdiff.out"; then exit 1; fi
	else
		grep -q "^! trace: the trace of P is incomplete since C was created: [1-9][0-9]* accesses lost$" "$TMP/wdiff.out"
	fi
'

test_expect_success 'Fig. 3: --json carries the warning' '
	wdiff --json C >"$TMP/wdiff.json"; test $? = 3 &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
w = [x for x in d[\"warnings\"] if x[\"kind\"] == \"derived\"]
assert w == [{\"kind\": \"derived\", \"path\": \"/srv/prog.c\", \"written\": [\"/srv/prog.o\"]}], d[\"warnings\"]
whole = sys.argv[2] == \"yes\"
assert d[\"trace\"][\"complete\"] == whole and (d[\"trace\"][\"notes\"] == []) == whole, d[\"trace\"]
assert d[\"trace\"][\"conflicts_by\"] == (\"trace and ctime\" if whole else \"ctime\"), d[\"trace\"]
" "$TMP/wdiff.json" "$(whole P >/dev/null && echo yes)"
'

test_expect_success 'Fig. 3: wmerge refuses without --force, nothing merged' '
	test_fails_with 3 "cannot merge .C. into .P.: 1 path of .C. read in .P. to make other files" \
		wmerge C P >"$TMP/merge.out" &&
	grep -Eq "^! /srv/prog.c: derived files: .* /srv/prog.o( \(the trace is incomplete\))?$" "$TMP/merge.out" &&
	test_equal "int main(void) { return 1; }" "$(wexec P cat /srv/prog.c)"
'

test_expect_success 'Fig. 3: wmerge --force merges, saying why it could have stopped' '
	wmerge --force C P 2>"$TMP/merge.err" &&
	cat "$TMP/merge.err" &&
	grep -q "^! /srv/prog.c: derived files:" "$TMP/merge.err" &&
	test_equal "int main(void) { return 0; }" "$(wexec P cat /srv/prog.c)"
'

test_expect_success 'a world that changed only a file nobody read: no warning' '
	wcreate D P >/dev/null && wait_traced D &&
	wexec D sh -c "echo changed >/srv/unread" &&
	wexec P sh -c "cat /srv/prog.c >/srv/prog.o" &&
	wait_line P "^write /srv/prog.o$" && sleep 0.5 &&
	wdiff D >"$TMP/wdiff.out" && cat "$TMP/wdiff.out" &&
	if whole P && whole D; then
		test_equal "M /srv/unread
! trace: conflicts judged by trace and ctime" "$(cat "$TMP/wdiff.out")"
	else # the loss may have come after the report
		! grep -q "^! /" "$TMP/wdiff.out"
	fi &&
	wmerge D P && test_equal changed "$(wexec P cat /srv/unread)"
'

# A process of the tree keeps its tree when its parent exits: an inner
# shell reads while the command wexec ran is alive, and writes once it is
# gone (an orphan, the world's init its parent now).
test_expect_success 'derived by a process whose parent exited between the read and the write' '
	wexec P sh -c "echo orphan v1 >/srv/orphan.c" && sleep 0.3 &&
	wcreate O P >/dev/null && wait_traced O &&
	wexec O sh -c "echo orphan v2 >/srv/orphan.c" &&
	wexec P sh -c "sh -c \"cat /srv/orphan.c >/dev/null; sleep 1; echo built >/srv/orphan.o\" </dev/null >/dev/null 2>&1 & sleep 0.3" &&
	wait_line P "^write /srv/orphan.o$" &&
	test_exit 3 wdiff O >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -Eqx "! /srv/orphan.c: derived files: read in P after O was created by processes that then wrote /srv/orphan.o( \(the trace is incomplete\))?" "$TMP/wdiff.out" &&
	wdelete O
'

# The build writes a temporary file; a later, separate command (another
# process tree: an install step) renames it into place.  The warning
# names where the derived file is now, not the temporary that is gone.
test_expect_success 'derived into a temporary that another command renamed into place' '
	wexec P sh -c "echo tmp v1 >/srv/tmp.c" && sleep 0.3 &&
	wcreate T P >/dev/null && wait_traced T &&
	wexec T sh -c "echo tmp v2 >/srv/tmp.c" &&
	wexec P sh -c "cat /srv/tmp.c >/srv/tmp.o.tmp" &&
	wexec P sh -c "mv /srv/tmp.o.tmp /srv/tmp.o" &&
	wait_line P "^rename /srv/tmp.o.tmp /srv/tmp.o$" &&
	test_exit 3 wdiff T >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -Eqx "! /srv/tmp.c: derived files: read in P after T was created by processes that then wrote /srv/tmp.o( \(the trace is incomplete\))?" "$TMP/wdiff.out" &&
	wdelete T
'

# A world merged past its parent carries its parent's changes too: what
# the target read since the oldest world of that stack was created counts,
# not only since the world itself (the read here is before SC existed).
test_expect_success 'merged past its parent: a read since the parent was created counts' '
	wexec P sh -c "echo stack v1 >/srv/stack.c" && sleep 0.3 &&
	wcreate SB P >/dev/null && wait_traced SB &&
	wexec SB sh -c "echo stack v2 >/srv/stack.c" &&
	wexec P sh -c "cat /srv/stack.c >/srv/stack.o" &&
	wait_line P "^write /srv/stack.o$" && sleep 0.3 &&
	wcreate SC SB >/dev/null && wait_traced SC &&
	test_exit 3 wdiff SC P >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -Eqx "! /srv/stack.c: derived files: read in P after SC was created by processes that then wrote /srv/stack.o( \(the trace is incomplete\))?" "$TMP/wdiff.out" &&
	test_fails_with 3 "cannot merge .SC. into .P." wmerge SC P >/dev/null;
	r=$?; wdelete SC; wdelete SB; exit $r
'

# A process tree of P that read a file before C was made reads it again
# while C is being made, after its trace-from: not dropped as a read seen
# before (the collector drops none while a world is being made).  wcreate
# is stopped once its trace-from is taken; P is driven through its tree.
test_expect_success 'a read again by the same tree while the world is being made counts' '
	pid= bg= &&
	wexec P sh -c "echo lr v1 >/srv/lr.c" && sleep 0.3 &&
	{ wexec P sh -c "cat /srv/lr.c >/dev/null; : >/srv/lr.ready; while [ ! -e /srv/lr.go ]; do sleep 0.1; done; cat /srv/lr.c >/srv/lr.o; : >/srv/lr.done" & bg=$!; } &&
	wait_for 20 "wexec P test -e /srv/lr.ready" &&
	wait_line P "^write /srv/lr.ready$" &&
	{ PWAPT_STOP_AT=create-dir wcreate L P >/dev/null & pid=$!; } &&
	note_pid $pid &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	touch "$PWAPT_STATE/worlds/P/merged/srv/lr.go" &&
	wait_for 20 "test -e \"\$PWAPT_STATE/worlds/P/merged/srv/lr.done\"";
	r=$?; touch "$PWAPT_STATE/worlds/P/merged/srv/lr.go"
	[ -z "$pid" ] || { kill -CONT $pid; wait $pid; } || r=1
	[ -z "$bg" ] || wait $bg || r=1
	test $r = 0 &&
	wait_traced L &&
	wexec L sh -c "echo lr v2 >/srv/lr.c" &&
	wait_line P "^write /srv/lr.o$" &&
	test_exit 3 wdiff L >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -Eqx "! /srv/lr.c: derived files: read in P after L was created by processes that then wrote /srv/lr.done, /srv/lr.o( \(the trace is incomplete\))?" "$TMP/wdiff.out";
	r=$?; wdelete L; exit $r
'

# wcreate $1 $2 while the collector is stopped, until wcreate has given up
# telling it of the creation (as a collector stuck on a slow disk would).
wcreate_untold() {
	_pid= && _pids=$(test_collector_pids) && test -n "$_pids" &&
	kill -STOP $_pids &&
	{ PWAPT_STOP_AT=create-mark wcreate "$1" "$2" >/dev/null & _pid=$!; } &&
	note_pid $_pid &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$_pid/status"; _r=$?
	[ -z "$_pids" ] || kill -CONT $_pids
	[ -z "$_pid" ] || { kill -CONT $_pid; wait $_pid; } || _r=1
	return $_r
}

# Whether $TMP/wdiff.out says that the trace of $1 may lack accesses just
# after $2 was created (where records may be lost, TRACE_MAY_LOSE, a loss
# said instead).
says_untold() {
	grep -qx "! trace: the trace of $1 may lack accesses just after $2 was created: the trace collector was not told of it in time" "$TMP/wdiff.out" ||
	{ [ -n "${TRACE_MAY_LOSE:-}" ] && ! whole "$1" &&
		grep -q "^! trace: the trace of $1 is incomplete since" "$TMP/wdiff.out"; }
}

# wdiff "$@" into $TMP/wdiff.out, shown; fails where wdiff does not exit 0.
wdiff_shown() {
	wdiff "$@" >"$TMP/wdiff.out"; _r=$?
	cat "$TMP/wdiff.out"
	return $_r
}

# A collector not told of a creation (wcreate waits a second for it) may
# drop a read of P just after it as one it had seen: the world records it,
# and its reports say that P's trace may lack accesses, never a clean
# report.  A world merged past its parent is judged from the oldest
# creation between: that creation's record counts, not its own.
test_expect_success 'a collector not told of a creation: the reports say so' '
	wcreate_untold U P &&
	grep -qx "trace-untold yes" "$PWAPT_STATE/worlds/U/world" &&
	wait_traced U &&
	wexec U sh -c "echo U >/srv/unread" && wdiff_shown U &&
	grep -qx "M /srv/unread" "$TMP/wdiff.out" && says_untold P U &&
	grep -qx "! trace: conflicts judged by ctime" "$TMP/wdiff.out" &&
	wcreate V U >/dev/null && wait_traced V &&
	! grep "trace-untold" "$PWAPT_STATE/worlds/V/world" &&
	wexec V sh -c "echo V >/srv/unread" && wdiff_shown V U &&
	grep -qx "M /srv/unread" "$TMP/wdiff.out" &&
	! grep "may lack accesses" "$TMP/wdiff.out" &&
	wdiff_shown V P && says_untold P U &&
	wcreate_untold Y V && wait_traced Y &&
	wexec Y sh -c "echo Y >/srv/unread" && wdiff_shown Y U &&
	grep -qx "M /srv/unread" "$TMP/wdiff.out" &&
	! grep "may lack accesses" "$TMP/wdiff.out" &&
	wdiff_shown Y V && says_untold V Y;
	r=$?; wdelete Y; wdelete V; wdelete U; exit $r
'

# A creation whose marker the collector may take for a killed wcreate's
# (its mtime 9 s old, as after a slow creation or a clock stepped forward;
# a marker lasts 10) is recorded the same way: the collector may have
# dropped such a read meanwhile.  The same stop without it: no record.
test_expect_success 'a creation whose marker grew old: recorded as not told' '
	pid= && { PWAPT_STOP_AT=create-dir wcreate S P >/dev/null & pid=$!; } &&
	note_pid $pid &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	touch -m -d "@$(($(date +%s) - 9))" "$PWAPT_STATE/creating/S"; r=$?
	[ -z "$pid" ] || { kill -CONT $pid; wait $pid; } || r=1
	test $r = 0 &&
	grep -qx "trace-untold yes" "$PWAPT_STATE/worlds/S/world" &&
	{ PWAPT_STOP_AT=create-dir wcreate S2 P >/dev/null & pid=$!; } &&
	note_pid $pid &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$pid/status"; r=$?
	[ -z "$pid" ] || { kill -CONT $pid; wait $pid; } || r=1
	test $r = 0 && test -e "$PWAPT_STATE/worlds/S2/world" &&
	! grep "trace-untold" "$PWAPT_STATE/worlds/S2/world";
	r=$?; wdelete S2; wdelete S; exit $r
'

# The collector's own thread held while it writes its tables (a sync on a
# loaded disk; crash_pause(), $TMP/pause): its teller still tells wcreate
# at once, and P's second read of a file just after the creation is
# recorded, which the derived-file warning needs.
test_expect_success 'a collector busy writing its tables is told of a creation at once' '
	wexec P sh -c "echo b1 >/srv/busy.c && cat /srv/busy.c >/dev/null" &&
	wait_line P "^read /srv/busy.c$" &&
	: >"$TMP/pause" &&
	wait_for 30 "test -e \"$TMP/pause.held\"" &&
	wcreate B P >/dev/null &&
	wexec P sh -c "cat /srv/busy.c >/srv/busy.o"; r=$?
	rm -f "$TMP/pause"
	test $r = 0 && ! grep "trace-untold" "$PWAPT_STATE/worlds/B/world" &&
	wait_traced B && wexec B sh -c "echo b2 >/srv/busy.c" &&
	test_exit 3 wdiff B >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out" && test $r = 0 &&
	grep -q "^! /srv/busy.c: derived files: read in P after B was created by processes that then wrote /srv/busy.o" "$TMP/wdiff.out" &&
	! grep "may lack accesses" "$TMP/wdiff.out";
	r=$?; wdelete B; exit $r
'

# A directory whose ctime changed only because an entry was added to it
# was a conflict by ctime; the trace shows nobody changed the directory.
test_expect_success 'written on both sides, judged by the trace: a conflict saying so' '
	wcreate E P >/dev/null && wait_traced E &&
	wexec E sh -c "echo E >/srv/unread && chmod 750 /srv" &&
	wexec P sh -c "echo P >/srv/unread && echo new >/srv/newfile" &&
	wait_line P "^write /srv/newfile$" &&
	test_exit 3 wdiff E >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -qx "M /srv" "$TMP/wdiff.out" &&
	if whole P && whole E; then
		grep -qx "! /srv/unread: changed in P after E was created: written in P (traced)" "$TMP/wdiff.out" &&
		# The trace only adds conflicts: a directory P changed
		# (an entry, or an xattr setxattr would not trace) stays one.
		grep -q "^! /srv: " "$TMP/wdiff.out"
	else # the loss may have come after the report
		grep -Eqx "! /srv/unread: changed in P after E was created(: written in P \(traced\))?" "$TMP/wdiff.out"
	fi &&
	wdelete E
'

test_expect_success 'a file held open and one mapped by processes of the parent' '
	cp "$PWAPT_ROOT/bin/busybox" "$PWAPT_ROOT/srv/busybox-held" &&
	echo data >"$PWAPT_ROOT/srv/held" &&
	wcreate F P >/dev/null && wait_traced F &&
	wexec P sh -c "cd / && setsid sh -c \"exec 3</srv/held; exec /srv/busybox-held sleep 600\" </dev/null >/dev/null 2>&1 &" &&
	wait_for 10 "pgrep -f \"^/srv/busybox-held sleep 600\$\" >/dev/null" &&
	held=$(pgrep -f "^/srv/busybox-held sleep 600\$") &&
	inp=$(sed -n "s/^NSpid:.*[[:space:]]\([0-9]*\)\$/\1/p" /proc/$held/status) &&
	test -n "$inp" &&
	wexec F sh -c "echo new >/srv/held && echo >>/srv/busybox-held" &&
	wdiff F >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -Eqx "! /srv/held: held open by pid $inp in P \(busybox-held\)" "$TMP/wdiff.out" &&
	grep -Eqx "! /srv/busybox-held: mapped by pid $inp in P \(busybox-held\)" "$TMP/wdiff.out" &&
	if grep "derived" "$TMP/wdiff.out"; then exit 1; fi &&
	kill $(pgrep -f "^/srv/busybox-held sleep 600$") &&
	wdelete F
'

test_expect_success 'no collector running: every report says the trace is incomplete' '
	wcreate G P >/dev/null && wait_traced G &&
	wexec G sh -c "echo G >/srv/unread" &&
	stop_collector &&
	wdiff G >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -q "^! trace: the trace of P is incomplete: no collector runs" "$TMP/wdiff.out" &&
	grep -q "^! trace: the trace of G is incomplete: no collector runs" "$TMP/wdiff.out" &&
	# (Tracing off for this wcreate only: with it on, wcreate would start
	# a collector.)
	PWAPT_TRACE=off wcreate H P >/dev/null && wexec H sh -c "echo H >/srv/unread" &&
	test -z "$(test_collector_pids)" &&
	wmerge H P 2>"$TMP/merge.err"; cat "$TMP/merge.err" &&
	grep -q "^! trace: the trace of P is incomplete" "$TMP/merge.err"
'

test_expect_success 'a damaged table: said, never a clean report' '
	echo "damaged line" >>"$PWAPT_STATE/worlds/P/trace" &&
	wdiff G >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -q "^! trace: the trace of P cannot be used: .*line [0-9]* is damaged" "$TMP/wdiff.out" &&
	grep -qx "! trace: conflicts judged by ctime" "$TMP/wdiff.out" &&
	wdiff --json G | grep -q "\"complete\":false"
'

test_expect_success 'a table of the older format: refused, not misread' '
	printf "pwapt-trace 1 complete   lost=00000000000000000000\nread /srv/prog.c\n" \
		>"$PWAPT_STATE/worlds/P/trace" &&
	test_fails_with 1 "trace of .P.: an older format" pwapt trace P &&
	wdiff G >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -q "^! trace: the trace of P cannot be used: .*older format" "$TMP/wdiff.out"
'

