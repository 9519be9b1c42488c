#!/bin/sh
# pwapt trace: the BPF backend records each class of file access of two
# child worlds and Root's container working at the same time, attributed
# to the right world with world-relative paths, through AT_FDCWD and
# through a directory fd; a flood that overflows the ring buffer leaves
# the trace incomplete, never silently partial; no program stays loaded.
. "$(dirname "$0")/lib.sh"
make_busybox_root
# This file is about the BPF backend (t0710 runs the audit one).
PWAPT_TRACE=bpf; export PWAPT_TRACE
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
command -v bpftool >/dev/null || skip_all "bpftool is missing"

. "$(dirname "$0")/lib-trace.sh"

# The programs a collector loaded: those that were not there before.
collector_started() {
	loaded_programs | comm -13 "$TMP/progs.before" - >>"$TMP/progs.ours"
}

# The ids of pwapt's programs loaded now.
loaded_programs() {
	bpftool prog show | awk '/ name pwapt_/ { sub(":", "", $1); print $1 }' | sort -u
}
loaded_programs >"$TMP/progs.before"
: >"$TMP/progs.ours"

# How many of the programs this test's collectors loaded are still loaded.
pwapt_programs() {
	loaded_programs | grep -cxF -f "$TMP/progs.ours" || :
}

trap 'stop_collector; cleanup' EXIT

# A world running before the collector starts (see below); then whether
# BPF loads here at all: if not, the whole file skips, saying why.
PWAPT_TRACE=off wcreate Old Root >/dev/null || { echo "not ok 1 - wcreate Old Root"; echo "1..1"; exit 1; }
if ! start_collector >/dev/null; then
	rm -f "$TMP/collector.pid" # it is gone
	why=$(grep -m1 "cannot load the BPF programs\|cannot attach" "$TMP/collector.out") ||
		{ cat "$TMP/collector.out"; exit 1; }
	skip_all "BPF cannot load here: $why"
fi

# Worlds started while the collector runs, each traced before it does
# anything; Root's container is started by a forward, which runs nothing
# in it.
test_expect_success 'worlds started while tracing are traced from their start' '
	wcreate A Root && wcreate B Root &&
	wip Root forward 80 18080 && wip Root unforward 18080 &&
	wait_traced A && wait_traced B && wait_traced Root
'

test_expect_success 'three worlds at once: each access in its own table' '
	workload >"$PWAPT_ROOT/bin/workload" &&
	wexec A sh /bin/workload /tA >"$TMP/A.log" 2>&1 & a=$!
	wexec B sh /bin/workload /tB >"$TMP/B.log" 2>&1 & b=$!
	wexec Root sh /bin/workload /tR >"$TMP/R.log" 2>&1 & r=$!
	wait $a && wait $b && wait $r &&
	stop_collector &&
	for w in A:tA B:tB Root:tR; do
		name=${w%%:*} dir=/${w#*:} &&
		pwapt trace $name >"$TMP/$name.trace" &&
		cat "$TMP/$name.trace" &&
		head -n1 "$TMP/$name.trace" | grep -q ": complete$" &&
		expected $dir | while read -r line; do
			kind=${line%% *} rest=${line#* } &&
			grep -qxE "$kind +$rest" "$TMP/$name.trace" ||
				{ echo "$name: missing: $line"; exit 1; }
		done &&
		for other in /tA /tB /tR; do
			[ $other = $dir ] && continue
			if grep -q " $other/" "$TMP/$name.trace"; then
				echo "$name has accesses of $other"; exit 1
			fi
		done || exit 1
	done
'

test_expect_success 'the table survives in the state directory; --json' '
	head -n1 "$PWAPT_STATE/worlds/A/trace" | grep -q "^pwapt-trace 2 complete *lost=0* since=0*[1-9][0-9]*$" &&
	pwapt trace --json A >"$TMP/A.json" &&
	python3 -c "
import json, sys
t = json.load(open(sys.argv[1]))
assert t[\"complete\"] and t[\"lost\"] == 0, t
acc = {(a[\"kind\"], a[\"path\"], a.get(\"path2\")) for a in t[\"accesses\"]}
assert (\"rename\", \"/tA/d/f1\", \"/tA/d/f2\") in acc, acc
assert (\"read\", \"/tA/f1\", None) in acc, acc
" "$TMP/A.json"
'

# The kernel frees an unloaded program a moment after its last user.
test_expect_success 'no program of pwapt stays loaded' '
	test -s "$TMP/progs.ours" &&
	wait_for 60 "test \$(pwapt_programs) = 0"
'

test_expect_success 'a world that ran before the collector: incomplete' '
	pwapt trace Old >"$TMP/Old.trace" &&
	head -n1 "$TMP/Old.trace" | grep -q "INCOMPLETE"
'

test_expect_success 'a collector started again says the trace has a gap' '
	start_collector && stop_collector &&
	pwapt trace A >"$TMP/A.trace" &&
	head -n1 "$TMP/A.trace" | grep -q "INCOMPLETE"
'

test_expect_success 'a world that ran before its cgroup was tracked: incomplete' '
	start_collector &&
	kill -STOP "$(cat "$TMP/collector.pid")" &&
	{ wcreate E Root && wexec E sh -c "echo x >/untraced"; r=$?; } &&
	kill -CONT "$(cat "$TMP/collector.pid")" && test $r = 0 &&
	wait_traced E && stop_collector &&
	pwapt trace E >"$TMP/E.trace" &&
	cat "$TMP/E.trace" &&
	head -n1 "$TMP/E.trace" | grep -q "INCOMPLETE"
'

# A world's systemd moves itself into a cgroup below its container's
# (init.scope), and a world may move its init there: the collector, that
# finds it so (stopped meanwhile), tracks the container's cgroup, with
# every process of the world, and the other worlds beside it still.
test_expect_success 'a world whose init moved into a cgroup of its own: its other processes traced, and other worlds' '
	start_collector &&
	kill -STOP "$(cat "$TMP/collector.pid")" &&
	{ wcreate M Root && pid=$(init_pid M) &&
		U=$(findmnt -n -t cgroup2 -o TARGET | head -n1) && test -n "$U" &&
		D=$U$(sed -n "s/^0:://p" "/proc/$pid/cgroup")/pwapt-moved &&
		mkdir "$D" && echo "$pid" >"$D/cgroup.procs"; r=$?; } &&
	kill -CONT "$(cat "$TMP/collector.pid")" && test $r = 0 &&
	wait_traced M && wexec M sh -c "echo x >/tM" &&
	wcreate N Root && wait_traced N && wexec N sh -c "echo x >/tN" &&
	stop_collector &&
	pwapt trace M >"$TMP/M.trace" && cat "$TMP/M.trace" &&
	grep -qxE "write +/tM" "$TMP/M.trace" &&
	pwapt trace N >"$TMP/N.trace" && grep -qxE "write +/tN" "$TMP/N.trace"
'

# The collector is stopped during the flood: a reader that keeps up
# (a faster machine) would otherwise leave nothing lost.
test_expect_success 'a flood that overflows the ring buffer: incomplete, counted' '
	PWAPT_TRACE_RINGBUF=4096 start_collector &&
	wcreate C Root && wait_traced C &&
	kill -STOP "$(cat "$TMP/collector.pid")" &&
	{ wexec C sh -c "mkdir -p /flood && at /flood flood 3000 $(printf "%0250d" 0)"; r=$?; } &&
	kill -CONT "$(cat "$TMP/collector.pid")" && test $r = 0 &&
	stop_collector &&
	head -n1 "$PWAPT_STATE/worlds/C/trace" >"$TMP/header" &&
	cat "$TMP/header" &&
	grep -q "^pwapt-trace 2 incomplete *lost=0*[1-9][0-9]* since=[0-9]*$" "$TMP/header" &&
	pwapt trace C | head -n1 | grep -q "INCOMPLETE, [1-9][0-9]* accesses lost" &&
	pwapt trace --json C | grep -q "\"complete\":false"
'

# Deleted and made again between two scans of the collector (stopped
# meanwhile): another container of the same name.
test_expect_success 'worlds deleted and created again while tracing' '
	start_collector &&
	wcreate F Root && wait_traced F &&
	wexec F sh -c "echo 1 >/first-life" &&
	kill -STOP "$(cat "$TMP/collector.pid")" &&
	{ wdelete F && wcreate F Root; r=$?; } &&
	kill -CONT "$(cat "$TMP/collector.pid")" && test $r = 0 &&
	wait_traced F &&
	wexec F sh -c "echo 2 >/second-life" &&
	stop_collector &&
	pwapt trace F >"$TMP/F.trace" &&
	cat "$TMP/F.trace" &&
	head -n1 "$TMP/F.trace" | grep -q ": complete$" &&
	grep -q "^write  *\/second-life$" "$TMP/F.trace" &&
	if grep -q first-life "$TMP/F.trace"; then exit 1; fi
'

test_expect_success 'one collector at a time' '
	start_collector &&
	test_fails_with 1 "another trace collector runs" pwapt trace run &&
	stop_collector
'

test_expect_success 'a collector killed mid-write: incomplete, lines kept' '
	PWAPT_CRASH_AT=trace-appended start_collector &&
	wexec B sh -c "echo x >/tB/before-crash" &&
	wait_for 60 "grep -q ^exit= \"\$TMP/collector.out\"" || { cat "$TMP/collector.out"; exit 1; }
	grep -qx exit=137 "$TMP/collector.out" &&
	rm -f "$TMP/collector.pid" &&
	pwapt trace B >"$TMP/B.trace" &&
	head -n1 "$TMP/B.trace" | grep -q INCOMPLETE &&
	grep -q "^write  *\/tB\/before-crash$" "$TMP/B.trace"
'

test_expect_success 'a line cut short: read as lost, dropped by the next collector' '
	printf "write /tB/cut-sh" >>"$PWAPT_STATE/worlds/B/trace" &&
	pwapt trace --json B >"$TMP/B.json" &&
	grep -q "\"complete\":false" "$TMP/B.json" &&
	! grep -q cut-sh "$TMP/B.json" &&
	start_collector && stop_collector &&
	tail -c 1 "$PWAPT_STATE/worlds/B/trace" | od -c | grep -q "\\n" &&
	if grep -q cut-sh "$PWAPT_STATE/worlds/B/trace"; then exit 1; fi &&
	head -n1 "$PWAPT_STATE/worlds/B/trace" | grep -q "incomplete *lost=0*[1-9]"
'

test_expect_success 'a damaged table is refused, naming the line' '
	printf "read\n" >>"$PWAPT_STATE/worlds/A/trace" &&
	test_fails_with 1 "trace of .A.: line [0-9]+ is damaged" pwapt trace A &&
	test_fails_with 1 "no world named .nope." pwapt trace nope
'

test_expect_success 'the collector keeps a damaged table aside and starts anew' '
	cp "$PWAPT_STATE/worlds/A/trace" "$TMP/A.damaged" &&
	start_collector && wait_for 30 "test -e \"\$PWAPT_STATE/worlds/A/trace.damaged\"" &&
	wexec A sh -c "echo y >/after-damage" &&
	stop_collector &&
	cmp "$TMP/A.damaged" "$PWAPT_STATE/worlds/A/trace.damaged" &&
	pwapt trace A >"$TMP/A.trace" &&
	head -n1 "$TMP/A.trace" | grep -q INCOMPLETE &&
	grep -q "^write  *\/after-damage$" "$TMP/A.trace"
'

test_expect_success 'no program of pwapt stays loaded at the end' '
	test -s "$TMP/progs.ours" &&
	wait_for 60 "test \$(pwapt_programs) = 0"
'

test_done
