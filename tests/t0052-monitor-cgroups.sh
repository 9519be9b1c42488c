#!/bin/sh
# liblxc's monitor cgroups (lxc.monitor.NAME, or NAME-N when that one is
# taken, in every cgroup hierarchy) go with their container.  liblxc moves
# the process that starts a container into them: when that was pwapt, its
# container stopped while pwapt still ran (a transaction's world, stopped
# to make it durable), liblxc could not remove them (EBUSY), and after 999
# leaks of one name no container of that name could start.
. "$(dirname "$0")/lib.sh"
make_busybox_root
[ -d /sys/fs/cgroup ] || skip_all "no /sys/fs/cgroup"

# The world names are the test's own: other tests on the machine make
# lxc.monitor.tx1 and the like at the same time.
A=cgmon$$
B=cgmon$$b

monitor_cgroups() { # NAME: the monitor cgroups of NAME left in any hierarchy
	ls -d /sys/fs/cgroup/lxc.monitor."$1" /sys/fs/cgroup/lxc.monitor."$1"-* \
		/sys/fs/cgroup/*/lxc.monitor."$1" /sys/fs/cgroup/*/lxc.monitor."$1"-* 2>/dev/null || :
}

monitor_gone() { # NAME
	test_exit 1 pgrep -f "lxc monitor\\] $PWAPT_STATE/worlds $1\$" >/dev/null
}

test_expect_success 'the pwapt that started a container is in none of its monitor cgroups' '
	{ PWAPT_STOP_AT=create-start wcreate $A Root & pid=$!; } &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	cat /proc/$pid/cgroup >"$TMP/cg"; kill -CONT $pid; wait $pid &&
	cat "$TMP/cg" && ! grep -q "lxc\\.monitor\\." "$TMP/cg"
'

test_expect_success 'a container stopped while the pwapt that started it runs leaves no monitor cgroup' '
	{ PWAPT_STOP_AT=create-start wcreate $B Root & pid=$!; } &&
	wait_for 30 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	kill -9 "$(lxc-info -P "$PWAPT_STATE/worlds" -n $B -p -H)" &&
	wait_for 30 "monitor_gone $B" &&
	kill -CONT $pid && wait $pid &&
	monitor_cgroups $B >"$TMP/left" &&
	test_equal "" "$(cat "$TMP/left")" &&
	! grep "lxc\.monitor\..*busy" "$PWAPT_STATE/worlds/$B/lxc.log"
'

test_expect_success 'deleted, the worlds leave no monitor cgroup' '
	wdelete $B && wdelete $A && wait_for 30 "monitor_gone $A" &&
	monitor_cgroups $A >"$TMP/left" && monitor_cgroups $B >>"$TMP/left" &&
	test_equal "" "$(cat "$TMP/left")"
'

test_done
