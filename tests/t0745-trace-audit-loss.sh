#!/bin/sh
# Loss under the audit backend is never silent: records the kernel drops
# (a rate limit the test sets, and restores) leave the world's table
# incomplete with a count of what was lost, which `pwapt trace` says; a
# detached audit collector killed mid-write leaves its tables incomplete,
# and the clean-up after it leaves audit as found, none of its rules
# behind.
. "$(dirname "$0")/lib.sh"
make_busybox_root
PATH=$PATH:/usr/sbin
command -v auditctl >/dev/null || skip_all "auditctl is missing (Debian's auditd)"
auditctl -s >/dev/null 2>&1 || skip_all "no audit in this kernel: $(auditctl -s 2>&1 | head -n1)"
pgrep -x auditd >/dev/null && skip_all "auditd runs: this test sets audit's rate limit, which is auditd's"

audit_value() { auditctl -s | awk -v k="$1" '$1 == k { print $2 }'; }
# Another audit daemon (another test's collector) would make "as found"
# meaningless, and the rate limit set here would drop its records: wait
# for it to end.
n=0
while [ "$(audit_value pid)" != 0 ] || auditctl -l | grep -q "key=pwapt:"; do
	n=$((n + 1))
	[ $n -le 120 ] || skip_all "another audit daemon (pid $(audit_value pid)) or pwapt's rules of another state directory for 2 minutes"
	sleep 1
done
# The host's audit state as found.  Collectors put enabled and backlog
# back themselves (the clean-up, after a killed one); the test puts back
# the rate limit it sets.
our_rules() {
	[ -d "$PWAPT_STATE" ] || { echo 0; return; }
	auditctl -l | grep -c -- "key=pwapt:$(stat -c %d:%i "$PWAPT_STATE")" || :
}
# (pwapt's rules of other state directories, another test's, left out.)
audit_state() {
	auditctl -s | awk '$1 == "enabled" || $1 == "backlog_limit" || $1 == "rate_limit" { print }'
	auditctl -l | grep -v -- "key=pwapt:" || :
	echo "ours: $(our_rules)"
}
audit_state >"$TMP/audit.before"
host_rate=$(audit_value rate_limit)
restore_audit() {
	stop_collectors
	auditctl -r "$host_rate" >/dev/null 2>&1
}
trap 'restore_audit; cleanup' EXIT

collectors() {
	for p in $(test_collector_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q "^pwapt trace run" &&
			echo "$p"
	done
}

PWAPT_TRACE=audit; export PWAPT_TRACE

# Whether audit can be used here at all: if not, the whole file skips.
pwapt trace start >"$TMP/probe" 2>&1 ||
	skip_all "audit cannot be used here: $(tail -n1 "$TMP/probe")"
stop_collectors

test_expect_success 'the first wcreate starts the audit collector' '
	wcreate L Root 2>"$TMP/err" && cat "$TMP/err" &&
	grep -q "^wcreate: started the trace collector (audit, as the audit daemon)" "$TMP/err" &&
	test "$(collectors | wc -l)" = 1 &&
	test "$(our_rules)" -gt 0 &&
	wexec L sh -c "echo x >/before-flood" &&
	wait_for 30 "trace_entries L | grep -qx \"write /before-flood\"" &&
	head -n1 "$PWAPT_STATE/worlds/L/trace" | grep -q "^pwapt-trace 2 collecting *lost=0* since=0*[1-9][0-9]*$"
'

# The kernel drops every record beyond the rate limit, counting it lost.
test_expect_success 'records dropped by audit: incomplete, counted, said' '
	auditctl -r 20 >/dev/null &&
	{ wexec L sh -c "mkdir /flood && for i in \$(seq 2000); do : >/flood/\$i; done"; r=$?; } &&
	auditctl -r "$host_rate" >/dev/null && test $r = 0 &&
	wait_for 30 "head -n1 \"\$PWAPT_STATE/worlds/L/trace\" | grep -q \"^pwapt-trace 2 incomplete *lost=0*[1-9]\"" &&
	pwapt trace L >"$TMP/L.trace" &&
	head -n1 "$TMP/L.trace" &&
	head -n1 "$TMP/L.trace" | grep -q "^# trace of L: INCOMPLETE, [1-9][0-9]* accesses lost" &&
	pwapt trace --json L >"$TMP/L.json" &&
	grep -q "\"complete\":false,\"lost\":[1-9]" "$TMP/L.json"
'

test_expect_success 'a collector stopped after the loss: still incomplete' '
	stop_collectors && test -z "$(collectors)" &&
	test "$(our_rules)" = 0 &&
	head -n1 "$PWAPT_STATE/worlds/L/trace" | grep -q "^pwapt-trace 2 incomplete *lost=0*[1-9]" &&
	pwapt trace L | head -n1 | grep -q INCOMPLETE
'

test_expect_success 'audit as found after the flood' '
	audit_state >"$TMP/audit.after" &&
	diff "$TMP/audit.before" "$TMP/audit.after"
'

test_expect_success 'a detached audit collector killed mid-write: incomplete' '
	PWAPT_CRASH_AT=trace-appended wcreate K Root 2>"$TMP/err" &&
	grep -q "started the trace collector (audit" "$TMP/err" &&
	wexec K sh -c "echo k >/k" &&
	wait_for 30 "test -z \"\$(collectors)\"" &&
	pwapt trace K >"$TMP/K.trace" && cat "$TMP/K.trace" &&
	head -n1 "$TMP/K.trace" | grep -q INCOMPLETE &&
	# What was appended before the crash is kept: the first batch may be
	# the world'"'"'s start (its exec) or the write, as the collector
	# batches them (as t0740 says of bpf).
	test "$(wc -l <"$TMP/K.trace")" -gt 1 &&
	test "$(our_rules)" -gt 0
'

test_expect_success 'the clean-up after a killed collector: no rule of it, audit as found' '
	stop_collectors &&
	test "$(our_rules)" = 0 &&
	! test -e "$PWAPT_STATE/trace.audit" &&
	audit_state >"$TMP/audit.after" &&
	diff "$TMP/audit.before" "$TMP/audit.after"
'

# wcreate returns once the collector made the world's table: its audit
# rule must exist by then, or what the world does next is lost unsaid.
# The collector is stopped right after it made the table: waited for,
# since wcreate sees the table as soon as it exists, while the collector
# may still be in the table's two fsync(2)s before it stops.
test_expect_success 'a world made while tracing: recorded from when wcreate returns' '
	cleanup_worlds && test -z "$(collectors)" &&
	PWAPT_STOP_AT=trace-audit-table pwapt trace start &&
	pid=$(collectors) && test -n "$pid" &&
	{ wcreate N Root 2>"$TMP/err"; r=$?; } &&
	cat "$TMP/err" && test $r = 0 &&
	wait_for 30 "ps -o stat= -p $pid | grep -q \"^T\"" &&
	wexec N sh -c "echo n >/at-once" &&
	kill -CONT "$pid" &&
	wait_for 30 "trace_entries N | grep -qx \"write /at-once\"" &&
	stop_collectors &&
	pwapt trace N | head -n1 | grep -q ": complete$"
'

# Records still queued in the kernel when the collector stops would go to
# the kernel's log once it unregisters: it reads them first, or counts
# them lost.  (The collector is stopped while a world makes 1000 files,
# more records than the kernel sends it before it exits, then asked to
# exit.)
test_expect_success 'a collector asked to stop with records queued: recorded or counted lost' '
	pwapt trace start && pid=$(collectors) && test -n "$pid" &&
	wexec N true && wait_for 30 "test -e \"\$PWAPT_STATE/worlds/N/trace\"" &&
	kill -STOP "$pid" &&
	wexec N sh -c "mkdir /q && for i in \$(seq 1000); do : >/q/\$i; done" &&
	kill -TERM "$pid" && kill -CONT "$pid" &&
	wait_for 60 "test -z \"\$(collectors)\"" &&
	t=$PWAPT_STATE/worlds/N/trace &&
	recorded=$(trace_entries N | grep -c "^write /q/[0-9]*$") &&
	lost=$(head -n1 "$t" | sed -n "s/.* lost=0*\([0-9][0-9]*\) since=[0-9]*$/\1/p") &&
	echo "recorded $recorded, lost ${lost:-0}" &&
	test $((recorded + ${lost:-0})) -ge 1000
'

# A burst larger than the kernel hands the daemon at once: each access
# recorded or counted lost (a record the kernel cannot send goes, when
# auditing was off at boot, to its log only: the collector's socket must
# hold the burst).
test_expect_success 'a burst of 100,000 opens: each recorded or counted lost' '
	cat >"$TMP/burst.c" <<-\EOF &&
	#include <fcntl.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <unistd.h>
	int main(int argc, char **argv)
	{
		char p[64];
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			snprintf(p, sizeof(p), "/burst/%d", i);
			int fd = open(p, argv[1][0] == 99 ? O_WRONLY | O_CREAT : O_RDONLY, 0644);
			if (fd < 0 || close(fd) < 0)
				return perror(p), 1;
		}
		return 0;
	}
	EOF
	gcc -O2 -static -o "$PWAPT_ROOT/bin/burst" "$TMP/burst.c" &&
	PWAPT_TRACE=off wcreate B Root &&
	wexec B sh -c "mkdir /burst && burst c 100000" &&
	pwapt trace start && wait_for 30 "test -e \"\$PWAPT_STATE/worlds/B/trace\"" &&
	wexec B burst r 100000 &&
	stop_collectors &&
	t=$PWAPT_STATE/worlds/B/trace &&
	recorded=$(trace_entries B | grep -c "^read /burst/[0-9]*$") &&
	lost=$(head -n1 "$t" | sed -n "s/.* lost=0*\([0-9][0-9]*\) since=[0-9]*$/\1/p") &&
	echo "recorded $recorded, lost ${lost:-0}" &&
	test $((recorded + ${lost:-0})) -ge 100000
'

test_done
