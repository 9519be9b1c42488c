#!/bin/sh
# pwapt trace with the audit backend (PWAPT_TRACE=audit): the accesses of
# two child worlds working at the same time, each in its own table, not in
# its sibling's; pwapt's audit rules gone after the collector stops, and
# after it is killed and started again; the host's audit state (enabled,
# backlog, daemon, rules) as found; auditd running with a rule of its own
# keeps logging its events during and after tracing.
. "$(dirname "$0")/lib.sh"
make_busybox_root
. "$(dirname "$0")/lib-trace-audit.sh"

# Another audit daemon than auditd (another test's collector) would make
# the state "as found" its own, which the end would then put back: wait
# for it to end.
other_daemon() {
	_pid=$(auditctl -s | awk '$1 == "pid" { print $2 }')
	[ "$_pid" != 0 ] && [ "$(cat "/proc/$_pid/comm" 2>/dev/null)" != auditd ]
}
n=0
while other_daemon || auditctl -l | grep -q "key=pwapt:"; do
	n=$((n + 1))
	[ $n -le 120 ] || skip_all "another audit daemon or pwapt's rules of another state directory for 2 minutes"
	sleep 1
done
# The host's audit state as found, and put back at the end whatever
# happens: enabled, backlog limit, the rules (ours are keyed pwapt:*).
audit_state() {
	auditctl -s | awk '$1 == "enabled" || $1 == "backlog_limit" { print }'
	auditctl -l
}
audit_state >"$TMP/audit.before"
audit_trap
pgrep -x auditd >/dev/null && host_auditd=1 || host_auditd=
OWN_KEY=pwapt-test-own-$$

# auditd of this test: its configuration and log in $TMP, never the host's.
start_auditd() {
	mkdir -p "$TMP/auditd" &&
	sed -e "s|^log_file *=.*|log_file = $TMP/auditd/audit.log|" \
		-e "s|^log_format *=.*|log_format = RAW|" \
		-e "s|^plugin_dir *=.*|plugin_dir = $TMP/auditd/plugins.d|" \
		-e "s|^\(admin_\)*space_left_action *=.*|&|" \
		/etc/audit/auditd.conf >"$TMP/auditd/auditd.conf" &&
	mkdir -p "$TMP/auditd/plugins.d" &&
	chmod 0640 "$TMP/auditd/auditd.conf" &&
	{ auditd -n -s enable -c "$TMP/auditd" >"$TMP/auditd/out" 2>&1 &
	  echo $! >"$TMP/auditd.pid"; } &&
	note_pid "$(cat "$TMP/auditd.pid")" &&
	wait_for 30 'auditctl -s | grep -q "^pid $(cat "$TMP/auditd.pid")$"'
}
stop_auditd() {
	[ -s "$TMP/auditd.pid" ] || return 0
	kill -TERM "$(cat "$TMP/auditd.pid")" 2>/dev/null
	wait_for 30 '! kill -0 "$(cat "$TMP/auditd.pid")" 2>/dev/null'
	rm -f "$TMP/auditd.pid"
}

# Also put back at the end: this test's auditd stopped, its rule gone.
restore_audit_more() {
	stop_auditd
	auditctl -D -k "$OWN_KEY" >/dev/null 2>&1
}

# pwapt's rules (of any collector of this test's state) now.
our_rules() {
	auditctl -l | grep -c -- "key=pwapt:$(stat -c %d:%i "$PWAPT_STATE")" || :
}

PWAPT_TRACE=off wcreate Old Root >/dev/null || { echo "not ok 1 - wcreate Old Root"; echo "1..1"; exit 1; }
start_audit_collector

test_expect_success 'the collector says which backend it uses, and how' '
	cat "$TMP/collector.out" &&
	grep -q "^backend: audit, " "$TMP/collector.out"
'

test_expect_success 'worlds started while tracing are traced from their start' '
	wcreate A Root && wcreate B Root &&
	wip Root forward 80 18080 && wip Root unforward 18080 &&
	wait_traced A && wait_traced B && wait_traced Root &&
	test "$(our_rules)" -gt 0
'

test_expect_success 'two worlds and Root at once: each access in its own table' '
	workload >"$PWAPT_ROOT/bin/workload" &&
	wexec A sh /bin/workload /tA >"$TMP/A.log" 2>&1 & a=$!
	wexec B sh /bin/workload /tB >"$TMP/B.log" 2>&1 & b=$!
	wexec Root sh /bin/workload /tR >"$TMP/R.log" 2>&1 & r=$!
	wait $a && wait $b && wait $r &&
	stop_collector &&
	for w in A:tA B:tB; do
		name=${w%%:*} dir=/${w#*:} &&
		pwapt trace $name >"$TMP/$name.trace" &&
		cat "$TMP/$name.trace" &&
		expected $dir | grep -v "^symlink \|^truncate $dir/d/\|^[a-z]* $dir/d/f2$" |
		while read -r line; do
			kind=${line%% *} rest=${line#* } &&
			grep -qxE "$kind +$rest" "$TMP/$name.trace" ||
				{ echo "$name: missing: $line"; exit 1; }
		done &&
		grep -qxE "symlink +$dir/s1 target-of-s1" "$TMP/$name.trace" &&
		# Through a descriptor, a name without a PARENT record is
		# found by its inode: f2 has two names then (l1), so that
		# audit cannot say which: lost, never guessed.
		head -n1 "$TMP/$name.trace" | grep -q "INCOMPLETE, [1-9][0-9]* accesses" &&
		if grep -E "^(chmod|chown|utimes|write) +$dir/d/l1" "$TMP/$name.trace"; then
			exit 1
		fi &&
		for other in /tA /tB /tR; do
			[ $other = $dir ] && continue
			if grep -q " $other/" "$TMP/$name.trace"; then
				echo "$name has accesses of $other"; exit 1
			fi
		done || exit 1
	done
'

# Root's container over a plain directory shares its filesystem with the
# host: audit cannot tell its accesses apart, and says so.
test_expect_success 'Root over a directory: incomplete, nothing of another' '
	pwapt trace Root >"$TMP/Root.trace" &&
	head -n1 "$TMP/Root.trace" | grep -q INCOMPLETE &&
	if grep -q " /t[AB]/" "$TMP/Root.trace"; then exit 1; fi
'

test_expect_success 'no rule of pwapt after the collector stopped; audit as found' '
	test "$(our_rules)" = 0 &&
	audit_state >"$TMP/audit.after" &&
	diff "$TMP/audit.before" "$TMP/audit.after"
'

test_expect_success 'a world that ran before the collector: incomplete' '
	pwapt trace Old | head -n1 | grep -q INCOMPLETE
'

test_expect_success 'a collector killed: its rules swept by the next one' '
	start_collector && test "$(our_rules)" -gt 0 &&
	kill -KILL "$(cat "$TMP/collector.pid")" &&
	wait_for 30 "grep -q ^exit= \"\$TMP/collector.out\"" &&
	rm -f "$TMP/collector.pid" &&
	test "$(our_rules)" -gt 0 &&
	start_collector && stop_collector &&
	test "$(our_rules)" = 0 &&
	audit_state >"$TMP/audit.after" &&
	diff "$TMP/audit.before" "$TMP/audit.after"
'

test_expect_success 'one collector at a time' '
	start_collector &&
	test_fails_with 1 "another trace collector runs" pwapt trace run &&
	stop_collector
'

test_expect_success 'a bad backend is refused, naming it' '
	test_fails_with 1 "PWAPT_TRACE is .bpf., .audit. or .off., not .sometimes." \
		env PWAPT_TRACE=sometimes pwapt trace run &&
	printf "trace = sometimes\n" >"$TMP/bad.conf" &&
	test_fails_with 1 "trace is .bpf., .audit. or .off." \
		env PWAPT_CONFIG="$TMP/bad.conf" PWAPT_TRACE= pwapt trace run &&
	test_fails_with 1 "tracing is off" env PWAPT_TRACE=off pwapt trace run
'

# auditd as the audit daemon with a watch of its own: the collector reads
# beside it, and auditd logs its own events before, during and after;
# a flush request's marker comes back through the multicast group (and
# is in auditd's log).
if [ -n "$host_auditd" ]; then
	own_daemon=host
elif start_auditd; then
	own_daemon=ours
else
	cat "$TMP/auditd/out" >&2
	own_daemon=
fi
if [ -n "$own_daemon" ]; then
	: >"$TMP/watched"
	auditctl -w "$TMP/watched" -p wa -k "$OWN_KEY" >/dev/null
fi
logged() {
	[ "$own_daemon" = ours ] || return 0 # the host's log is not ours to read
	wait_for 30 "grep -q \"key=\\\"$OWN_KEY\\\"\" \"\$TMP/auditd/audit.log\" &&
		test \$(grep -c \"key=\\\"$OWN_KEY\\\"\" \"\$TMP/auditd/audit.log\") -ge $1"
}

# The kernel sends audit's multicast group in the initial network
# namespace only, where a collector runs on a host; this test runs in a
# namespace of its own, its parent (tests/run-all) in the initial one.
init_netns=/proc/$PPID/ns/net
test_expect_success 'auditd running: the collector reads beside it' '
	test -n "$own_daemon" &&
	test -r "$init_netns" &&
	echo 1 >>"$TMP/watched" && logged 1 &&
	PWAPT_TRACE_NETNS=$init_netns && export PWAPT_TRACE_NETNS &&
	start_collector && unset PWAPT_TRACE_NETNS &&
	grep -q "^backend: audit, beside auditd" "$TMP/collector.out" &&
	wcreate G Root && wait_traced G &&
	wexec G sh -c "mkdir /tG && echo x >/tG/g1 && cat /tG/g1 >/dev/null" &&
	pwapt trace G >"$TMP/G.live" && cat "$TMP/G.live" &&
	grep -qxE "write +/tG/g1" "$TMP/G.live" &&
	if grep "^# the trace collector did not" "$TMP/G.live"; then exit 1; fi &&
	{ [ "$own_daemon" != ours ] ||
	  wait_for 30 "grep -q op=pwapt-trace-flush \"\$TMP/auditd/audit.log\""; } &&
	echo 2 >>"$TMP/watched" && logged 2 &&
	wexec A sh -c "echo y >/tA/a-beside" &&
	stop_collector &&
	echo 3 >>"$TMP/watched" && logged 3 &&
	pwapt trace G >"$TMP/G.trace" && cat "$TMP/G.trace" &&
	head -n1 "$TMP/G.trace" | grep -q ": complete$" &&
	grep -qxE "write +/tG/g1" "$TMP/G.trace" &&
	grep -qxE "read +/tG/g1" "$TMP/G.trace" &&
	if grep -q a-beside "$TMP/G.trace"; then exit 1; fi &&
	pwapt trace A | grep -qxE "write +/tA/a-beside" &&
	auditctl -l | grep -q -- "$OWN_KEY" &&
	test "$(our_rules)" = 0
'

test_expect_success 'auditd killed: stopped as found, rules of its own kept' '
	test -n "$own_daemon" &&
	auditctl -W "$TMP/watched" -p wa -k "$OWN_KEY" >/dev/null &&
	stop_auditd && auditctl -e "$host_enabled" >/dev/null &&
	audit_state >"$TMP/audit.after" &&
	diff "$TMP/audit.before" "$TMP/audit.after"
'

# Root's container has no rule (its device is not its own): when it
# stops, there is none to remove, and the collector goes on.
test_expect_success 'worlds stopping while tracing, Root included' '
	wexec Root true && start_collector &&
	pwapt stop-all && sleep 1 &&
	{ kill -0 "$(cat "$TMP/collector.pid")" || { cat "$TMP/collector.out"; exit 1; }; } &&
	stop_collector && test "$(our_rules)" = 0
'

test_done
