#!/bin/sh
# The trace collector started by the first wcreate: only when tracing is
# on and none runs, as a detached daemon with its own log, once however
# many wcreate run at once; a wcreate whose collector cannot start still
# creates the world, warns, and leaves its trace incomplete; a world made
# while tracing was off, or traced by a collector killed mid-write, reads
# incomplete; the tests' clean-up stops the collectors, also when a test
# file fails.
. "$(dirname "$0")/lib.sh"
make_busybox_root
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
command -v bpftool >/dev/null || skip_all "bpftool is missing"

# The ids of pwapt's programs loaded now; those loaded before this test.
loaded_programs() {
	bpftool prog show | awk '/ name pwapt_/ { sub(":", "", $1); print $1 }' | sort -u
}
loaded_programs >"$TMP/progs.before"
# Programs of pwapt loaded now and not before this test.
our_programs() {
	loaded_programs | comm -13 "$TMP/progs.before" - | wc -l
}
# The collectors of this test's state directory: "pwapt trace run".
collectors() {
	for p in $(test_collector_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q "^pwapt trace run" &&
			echo "$p"
	done
}
# Waits until the collector wrote world $1's table with the access $2
# (grep -E on "KIND PATH", trace_entries).
wait_line() {
	wait_for 30 "trace_entries $1 | grep -qE '$2'"
}

# Whether BPF loads here at all: if not, the whole file skips.
PWAPT_TRACE=bpf pwapt trace start >"$TMP/probe" 2>&1 ||
	skip_all "BPF cannot load here: $(tail -n1 "$TMP/probe")"
stop_collectors
rm -f "$PWAPT_STATE/trace.log"

test_expect_success 'tracing off: wcreate starts no collector, the world has no table' '
	wcreate Off Root 2>"$TMP/err" &&
	test_no_output cat "$TMP/err" &&
	test -z "$(collectors)" &&
	! test -e "$PWAPT_STATE/trace.log" &&
	test_fails_with 1 "world .Off. has no trace table" pwapt trace Off
'

test_expect_success 'the first wcreate starts a detached collector, which traces the world from its start' '
	PWAPT_TRACE=bpf wcreate A Root 2>"$TMP/err" &&
	cat "$TMP/err" &&
	grep -q "^wcreate: started the trace collector (bpf), its log in $PWAPT_STATE/trace.log$" "$TMP/err" &&
	test "$(collectors | wc -l)" = 1 &&
	pid=$(collectors) &&
	# Detached: another session, which it does not lead (no terminal
	# can become its own), no terminal, not our child.
	sid=$(ps -o sid= -p "$pid" | tr -d " ") &&
	test "$sid" != "$(ps -o sid= -p $$ | tr -d " ")" && test "$sid" != "$pid" &&
	test "$(ps -o tty= -p "$pid" | tr -d " ")" = "?" &&
	test "$(ps -o ppid= -p "$pid" | tr -d " ")" != "$$" &&
	grep -qx "pid $pid" "$PWAPT_STATE/trace.log" &&
	# Traced when wcreate returns: what runs next is in the table.
	test -e "$PWAPT_STATE/worlds/A/trace" &&
	wexec A sh -c "echo x >/first" &&
	wait_line A "^write /first$" &&
	pwapt trace A | head -n1 | grep -q "being collected" &&
	test "$(our_programs)" -gt 0
'

# A reader may catch the collector between the bytes of one line: a cut
# last line of a live collector's table is not yet written, not lost.
# (World A is idle: the line is added and taken away by the test.)
test_expect_success 'a line cut short while a live collector writes it is no lost access' '
	table=$PWAPT_STATE/worlds/A/trace && size=$(stat -c %s "$table") &&
	printf "123 1 write /being-writ" >>"$table" &&
	{ pwapt trace A >"$TMP/A.cut"; rc=$?; truncate -s "$size" "$table"; } &&
	test "$rc" = 0 &&
	head -n1 "$TMP/A.cut" | grep -q "being collected.*, 0 accesses lost" &&
	! grep -q being-writ "$TMP/A.cut"
'

test_expect_success 'a world made while tracing was off: incomplete once traced' '
	wait_for 30 "test -e \"\$PWAPT_STATE/worlds/Off/trace\"" &&
	wexec Off sh -c "echo y >/later" &&
	wait_line Off "^write /later$" &&
	pwapt trace Off >"$TMP/Off.trace" &&
	head -n1 "$TMP/Off.trace" | grep -q "INCOMPLETE" &&
	pwapt trace --json Off | grep -q "\"complete\":false"
'

test_expect_success 'a collector runs: wcreate starts none, the new world is traced' '
	PWAPT_TRACE=bpf wcreate B Root 2>"$TMP/err" &&
	test_no_output cat "$TMP/err" &&
	test "$(collectors | wc -l)" = 1 &&
	wexec B sh -c "echo z >/b" && wait_line B "^write /b$"
'

test_expect_success 'pwapt trace start: says one runs, starts none' '
	PWAPT_TRACE=bpf pwapt trace start >"$TMP/out" &&
	grep -qx "a trace collector runs already" "$TMP/out" &&
	test "$(collectors | wc -l)" = 1 &&
	test_fails_with 1 "tracing is off" pwapt trace start
'

test_expect_success 'cleanup_worlds stops the collector, which unloads its programs' '
	cleanup_worlds &&
	test -z "$(test_collector_pids)" &&
	wait_for 30 "test \$(our_programs) = 0"
'

# --state and --root on the command line, not in the environment: the
# collector started reads the environment, and once served the default
# state directory instead (another collector on the host, this one's
# worlds untraced).
test_expect_success 'pwapt --state DIR --root DIR trace start: the collector serves DIR' '
	test -z "$(test_collector_pids)" &&
	env -u PWAPT_STATE -u PWAPT_ROOT PWAPT_TRACE=bpf \
		pwapt --state "$PWAPT_STATE" --root "$PWAPT_ROOT" trace start >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	p=$(collectors) && test -n "$p" && test "$(echo $p | wc -w)" = 1 &&
	tr "\0" "\n" <"/proc/$p/environ" | grep -qx "PWAPT_ROOT=$PWAPT_ROOT" &&
	PWAPT_TRACE=bpf pwapt trace start | grep -qx "a trace collector runs already" &&
	stop_collectors && test -z "$(test_collector_pids)"
'

test_expect_success 'four wcreate at once start one collector' '
	for w in C1 C2 C3 C4; do
		PWAPT_TRACE=bpf wcreate $w Root 2>"$TMP/$w.err" & eval "p$w=\$!"
	done
	for w in C1 C2 C3 C4; do
		eval "wait \$p$w" || { echo "wcreate $w failed"; cat "$TMP/$w.err"; exit 1; }
	done
	cat "$TMP"/C?.err && collectors &&
	test "$(cat "$TMP"/C?.err | grep -c "started the trace collector")" = 1 &&
	if grep "warning" "$TMP"/C?.err; then exit 1; fi &&
	test "$(collectors | wc -l)" = 1 &&
	for w in C1 C2 C3 C4; do
		head -n1 "$PWAPT_STATE/worlds/$w/trace" &&
		head -n1 "$PWAPT_STATE/worlds/$w/trace" | grep -q collecting || exit 1
	done
'

test_expect_success 'a collector that cannot start: the world is made, with a warning and an incomplete trace' '
	stop_collectors && test -z "$(collectors)" &&
	PWAPT_TRACE=bpf PWAPT_TRACE_RINGBUF=many wcreate D Root 2>"$TMP/err" &&
	cat "$TMP/err" &&
	grep -q "^wcreate: warning: cannot start the trace collector: .*bad PWAPT_TRACE_RINGBUF .many." "$TMP/err" &&
	grep -q "^wcreate: warning: the trace of D is incomplete$" "$TMP/err" &&
	test -z "$(collectors)" &&
	# Untraced since its making: whole since no time.
	head -n1 "$PWAPT_STATE/worlds/D/trace" | grep -q "^pwapt-trace 2 incomplete *lost=0* since=0*$" &&
	wexec D true &&
	pwapt trace D | head -n1 | grep -q "INCOMPLETE" &&
	# A collector that traces it later keeps it so.
	PWAPT_TRACE=bpf pwapt trace start &&
	wexec D sh -c "echo d >/d" && wait_line D "^write /d$" &&
	pwapt trace D | head -n1 | grep -q "INCOMPLETE"
'

# A world that ran while no collector ran, and was stopped before one
# started again: the collector that runs now never loaded its table (it
# traces running worlds), whose header is older than this collector.  A
# world made from it before is judged against a trace that is not whole.
test_expect_success 'a world made untraced, run with no collector, stopped: not whole for its child' '
	stop_collectors && test -z "$(collectors)" &&
	PWAPT_TRACE=bpf PWAPT_TRACE_RINGBUF=many wcreate U Root 2>"$TMP/err" &&
	grep -q "the trace of U is incomplete" "$TMP/err" &&
	PWAPT_TRACE=off wcreate V U &&
	wexec V sh -c "echo v >/v" &&
	wexec U sh -c "echo u >/u" &&
	pwapt stop-all && test -z "$(collectors)" &&
	PWAPT_TRACE=bpf pwapt trace start &&
	wdiff V >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -qx "! trace: the trace of U is incomplete since V was created: it was not traced all the while" "$TMP/wdiff.out"
'

test_expect_success 'a world traced, then run with no collector, stopped: not whole for its child' '
	stop_collectors && test -z "$(collectors)" &&
	PWAPT_TRACE=bpf wcreate S Root 2>"$TMP/err" && cat "$TMP/err" &&
	test "$(collectors | wc -l)" = 1 &&
	PWAPT_TRACE=off wcreate T S &&
	wexec T sh -c "echo t >/t" &&
	stop_collectors && test -z "$(collectors)" &&
	wexec S sh -c "echo s >/s" &&
	pwapt stop-all &&
	PWAPT_TRACE=bpf pwapt trace start &&
	wdiff T >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -qx "! trace: the trace of S is incomplete since T was created: it was not traced all the while" "$TMP/wdiff.out"
'

test_expect_success 'a detached collector killed mid-write: the table reads incomplete' '
	stop_collectors && test -z "$(collectors)" &&
	PWAPT_TRACE=bpf PWAPT_CRASH_AT=trace-appended wcreate E Root 2>"$TMP/err" &&
	grep -q "started the trace collector" "$TMP/err" &&
	wexec E sh -c "echo e >/e" &&
	wait_for 30 "test -z \"\$(collectors)\"" &&
	pwapt trace E >"$TMP/E.trace" &&
	cat "$TMP/E.trace" &&
	head -n1 "$TMP/E.trace" | grep -q "INCOMPLETE" &&
	# What was appended before the crash is kept (the first lines
	# appended may be the world'"'"'s start, or the write).
	test "$(wc -l <"$TMP/E.trace")" -gt 1
'

# A test file that fails with a collector running: its clean-up stops it.
# (A copy of the tests' layout in $TMP/src: lib.sh finds bin/ beside it.)
test_expect_success 'a failing test file leaves no collector behind' '
	mkdir -p "$TMP/src/tests" &&
	ln -sf "$TEST_DIR/lib.sh" "$TEST_DIR/fixtures" "$TMP/src/tests/" &&
	ln -sf "$BIN_DIR" "$TMP/src/bin" &&
	cat >"$TMP/src/tests/fails.sh" <<-\EOF &&
	#!/bin/sh
	. "$(dirname "$0")/lib.sh"
	make_busybox_root
	echo "tmp $TMP"
	PWAPT_TRACE=bpf wcreate F Root >/dev/null 2>&1 || exit 2
	test -n "$(test_collector_pids)" || exit 2
	exit 1
	EOF
	chmod +x "$TMP/src/tests/fails.sh" &&
	{ PWAPT_TEST_NETNS= "$TMP/src/tests/fails.sh" >"$TMP/inner.out" 2>&1; rc=$?; } ;
	cat "$TMP/inner.out" &&
	test $rc = 1 &&
	inner=$(sed -n "s/^tmp //p" "$TMP/inner.out") && test -n "$inner" &&
	! test -e "$inner" &&
	for p in $(pgrep -x "pwapt(-trace)?"); do
		if tr "\0" "\n" 2>/dev/null <"/proc/$p/environ" | grep -q "^PWAPT_STATE=$inner/"; then
			echo "left running: $p"; exit 1
		fi
	done
'

test_expect_success 'the collector keeps none of the descriptors of the wcreate that started it' '
	cleanup_worlds &&
	{ PWAPT_TRACE=bpf wcreate G Root 7>"$TMP/held-by-caller" >/dev/null 2>&1; } &&
	p=$(collectors) && test -n "$p" &&
	ls -l "/proc/$p/fd" >"$TMP/fds" &&
	if grep "held-by-caller" "$TMP/fds"; then exit 1; fi
'

test_expect_success 'a collector whose state directory is removed stops' '
	mkdir "$TMP/state2" &&
	PWAPT_STATE=$TMP/state2 PWAPT_TRACE=bpf pwapt trace start >/dev/null &&
	p=$(for q in $(pgrep -x "pwapt(-trace)?"); do
		tr "\0" "\n" 2>/dev/null <"/proc/$q/environ" |
			grep -qx "PWAPT_STATE=$TMP/state2" && echo "$q"
	done; true) &&
	{ test -n "$p" || { echo "no collector of state2 runs; its log:"; cat "$TMP/state2/trace.log"; false; }; } &&
	rm -rf "$TMP/state2" &&
	wait_for 30 "! kill -0 $p 2>/dev/null"
'

# pwapt loads neither libbpf nor libaudit (issue 12: they cost every
# command 0.4 ms at start); pwapt-trace links them, and `pwapt trace run`
# becomes it: the same process, its arguments and descriptors kept.
test_expect_success 'pwapt links neither libbpf nor libaudit: pwapt trace run is pwapt-trace, which traces' '
	cleanup_worlds && test -z "$(collectors)" &&
	ldd "$BIN_DIR/pwapt" >"$TMP/ldd" && cat "$TMP/ldd" &&
	if grep -E "libbpf|libaudit" "$TMP/ldd"; then exit 1; fi &&
	ldd "$BIN_DIR/pwapt-trace" | grep -q libbpf &&
	ldd "$BIN_DIR/pwapt-trace" | grep -q libaudit &&
	{ PWAPT_TRACE=bpf PWAPT_TRACE_READY_FD=5 pwapt trace run \
		>"$TMP/run.out" 2>&1 5>"$TMP/run.ready" & } &&
	run=$! &&
	wait_for 60 "grep -q \"^tracing$\" \"$TMP/run.out\" || ! kill -0 $run" &&
	cat "$TMP/run.out" && grep -qx tracing "$TMP/run.out" &&
	test "$(collectors)" = "$run" &&
	test "$(readlink "/proc/$run/exe")" = "$BIN_DIR/pwapt-trace" &&
	printf "bpf\t\t\n" | cmp - "$TMP/run.ready" &&
	PWAPT_TRACE=bpf wcreate H Root 2>"$TMP/err" &&
	test_no_output cat "$TMP/err" &&
	wexec H sh -c "echo h >/h" && wait_line H "^write /h$" &&
	kill -TERM $run && wait $run
'

test_expect_success 'no pwapt-trace beside pwapt nor installed: trace run and trace start say where they looked' '
	cleanup_worlds && test -z "$(collectors)" &&
	libexec=$(sed -n "s/^#define PWAPT_LIBEXECDIR \"\(.*\)\"\$/\1/p" "$SRC_DIR/pwapt/build-config.h") &&
	test -n "$libexec" &&
	if test -e "$libexec/pwapt-trace"; then
		echo "pwapt-trace is installed in $libexec: this test needs it absent"; exit 1
	fi &&
	mkdir -p "$TMP/lonely" && cp "$BIN_DIR/pwapt" "$TMP/lonely/" &&
	test_fails_with 1 "^pwapt trace: cannot run the trace collector $libexec/pwapt-trace: No such file or directory \(nor is it beside $TMP/lonely/pwapt\)\$" \
		timeout 60 env PWAPT_TRACE=bpf "$TMP/lonely/pwapt" trace run &&
	test_fails_with 1 "^pwapt trace: cannot start the trace collector: cannot run the trace collector $libexec/pwapt-trace: No such file" \
		timeout 60 env PWAPT_TRACE=bpf "$TMP/lonely/pwapt" trace start &&
	test -z "$(collectors)" &&
	test_fails_with 1 "^pwapt trace: tracing is off" \
		timeout 60 env PWAPT_TRACE=off "$TMP/lonely/pwapt" trace run
'

test_expect_success 'no program of this test stays loaded' '
	cleanup_worlds &&
	wait_for 60 "test \$(our_programs) = 0"
'

test_done
