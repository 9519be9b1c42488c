#!/bin/sh
# wdiff's and wmerge's warnings from the BPF trace (lib-trace-warn.sh; the
# audit backend: t0725): the paper's Fig. 3 between worlds and with Root
# as the parent, a world that changed only what nobody read, files held
# open and mapped, written on both sides, and a trace that is incomplete
# (lost events, no collector, a damaged or older table) said in every
# report.
. "$(dirname "$0")/lib.sh"
make_busybox_root
. "$(dirname "$0")/lib-trace-bpf.sh"

. "$(dirname "$0")/lib-trace-warn.sh"

test_expect_success 'Fig. 3 with Root as the parent' '
	start_collector &&
	wexec Root true && wait_traced Root && sleep 0.3 &&
	printf "v1\n" >"$PWAPT_ROOT/srv/root.c" &&
	wcreate R Root >/dev/null && wait_traced R &&
	wexec R sh -c "echo v2 >/srv/root.c" &&
	wexec Root sh -c "cat /srv/root.c >/srv/root.o" &&
	wait_line Root "^write /srv/root.o$" &&
	wdiff R >"$TMP/wdiff.out"; test $? = 3 && cat "$TMP/wdiff.out" &&
	grep -qx "! /srv/root.c: derived files: read in Root after R was created by processes that then wrote /srv/root.o" "$TMP/wdiff.out" &&
	test_fails_with 3 "cannot merge .R. into .Root." wmerge R Root >/dev/null &&
	test_equal v1 "$(cat "$PWAPT_ROOT/srv/root.c")" &&
	wmerge --force R Root 2>"$TMP/merge.err" || { cat "$TMP/merge.err"; exit 1; }
	test_equal v2 "$(cat "$PWAPT_ROOT/srv/root.c")"
'

# The collector is stopped during the flood: a reader that keeps up
# (a faster machine) would otherwise leave nothing lost.
test_expect_success 'lost events: the warnings say the trace is incomplete' '
	stop_collector && PWAPT_TRACE_RINGBUF=4096 start_collector &&
	wcreate L Root >/dev/null && wait_traced L && wait_traced Root &&
	wexec L sh -c "echo v3 >/srv/root.c" &&
	kill -STOP "$(cat "$TMP/collector.pid")" &&
	{ wexec Root sh -c "mkdir -p /flood && at /flood flood 3000 $(printf "%0250d" 0); cat /srv/root.c >/srv/root.o"; r=$?; } &&
	kill -CONT "$(cat "$TMP/collector.pid")" && test $r = 0 &&
	wait_for 20 "head -n1 \"\$PWAPT_STATE/worlds/Root/trace\" | grep -q \"lost=0*[1-9]\"" &&
	wdiff L >"$TMP/wdiff.out"; cat "$TMP/wdiff.out" &&
	grep -q "^! trace: the trace of Root is incomplete since L was created: [1-9][0-9]* accesses lost$" "$TMP/wdiff.out" &&
	grep -qx "! trace: conflicts judged by ctime" "$TMP/wdiff.out" &&
	wdiff --json L | grep -q "\"trace\":{\"complete\":false"
'

# Root on this machine's own "/": every host process outside the worlds is
# traced under Root.  Nothing is written to the host's tree: the world
# changes its own copy of /etc/hostname, a host process in a session of
# its own reads the host's and writes below $TMP.
test_expect_success 'Root on a host: a host process that derived a file from one the world changed' '
	stop_collector &&
	(
	PWAPT_ROOT=/ PWAPT_STATE=$TMP/host-state && export PWAPT_ROOT PWAPT_STATE &&
	start_collector && wait_traced Root &&
	wcreate H Root >/dev/null && wait_traced H &&
	wexec H sh -c "echo changed-in-world >>/etc/hostname" &&
	setsid sh -c "cat /etc/hostname >\"\$1\"" - "$TMP/derived" &&
	wait_line Root "^write $TMP/derived$" &&
	wdiff H >"$TMP/wdiff.out"; test $? = 3 && cat "$TMP/wdiff.out" &&
	grep -q "^! /etc/hostname: derived files: read in Root after H was created by processes that then wrote .*$TMP/derived" "$TMP/wdiff.out";
	r=$?; wdelete H; stop_collector; exit $r
	)
'

# The file system stamps the world's creation (created, for ctimes) by a
# clock that may lag by up to a tick (4 ms at 250 Hz; seen in CI), the
# trace its records by the precise one.  A read and a write just before
# the world existed must not count as after it.  wcreate is stopped just
# before it makes the world's directory, a host process reads and writes,
# wcreate goes on; then created is set to before that write, as a lagging
# clock would have it.
test_expect_success 'Root on a host: a read just before the creation is not after it, whatever its ctime' '
	(
	PWAPT_ROOT=/ PWAPT_STATE=$TMP/host-state2 && export PWAPT_ROOT PWAPT_STATE &&
	start_collector && wait_traced Root &&
	{ PWAPT_STOP_AT=create-mark wcreate H Root >/dev/null & pid=$!; } &&
	note_pid $pid &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	setsid sh -c "cat /etc/hostname >\"\$1\"" - "$TMP/before";
	r=$?; kill -CONT $pid; wait $pid && test $r = 0 && wait_traced H &&
	from=$(sed -n "s/^trace-from \([0-9]*\)\.\([0-9]*\)$/\1\2/p" "$PWAPT_STATE/worlds/H/world") &&
	wait_line Root "^read /etc/hostname$" && wait_line Root "^write $TMP/before$" &&
	tail -n +2 "$PWAPT_STATE/worlds/Root/trace" >"$TMP/root.trace" &&
	set -- $(grep " write $TMP/before$" "$TMP/root.trace") &&
	wrote=$1 tree=$2 &&
	read=$(grep "^[0-9]* $tree read /etc/hostname$" "$TMP/root.trace" | cut -d" " -f1) &&
	test "$wrote" -lt "$from" && test "$read" -lt "$from" &&
	back=$((wrote - 1)) &&
	sed -i "s/^created .*/created ${back%?????????}.${back#??????????}/" "$PWAPT_STATE/worlds/H/world" &&
	wexec H sh -c "echo changed-in-world >>/etc/hostname" &&
	wdiff H >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -qx "M /etc/hostname" "$TMP/wdiff.out" &&
	if grep "derived" "$TMP/wdiff.out"; then false; fi;
	r=$?; wdelete H; stop_collector; exit $r
	)
'

test_done
