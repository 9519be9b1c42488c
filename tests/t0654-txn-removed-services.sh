#!/bin/sh
# pwapt merge of a transaction whose apt run removed the package of a
# service running in Root (pwapt-upgrade(8), "pwapt merge"): the service
# stops in Root before any file moves, as wmerge stops it
# (t0651-wmerge-removed-services.sh), and is neither restarted nor
# checked after the merge; a stop that fails refuses the merge; pwapt
# rollback starts it again, and so does the roll-back after another
# service's failed check.  On the Debian test tree with the tests'
# pwapt-test-svc.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

# The newest transaction's name.
last_txn() { pwapt list | awk 'NR > 1 { n = $1 } END { print n }'; }

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root, a transaction that removes it' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)" &&
	pwapt install --test --keep -y pwapt-test-svc- </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	T=$(last_txn) && echo "$T" >"$TMP/T" && test -n "$T" &&
	pwapt list | grep -Eq "^$T +Root +ready"
'
T=$(cat "$TMP/T" 2>/dev/null)

test_expect_success 'pwapt merge --plan: stop in Root, no restart' '
	{ pwapt merge --plan "$T" >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "stop pwapt-test-svc in Root: its package is removed" "$TMP/plan" &&
	test_lacks "start pwapt-test-svc" cat "$TMP/plan" &&
	pwapt merge --plan --json "$T" >"$TMP/plan.json" &&
	grep -q "\"stop\":\[{\"service\":\"pwapt-test-svc\",\"world\":\"Root\",\"why\":\"its package is removed\"" "$TMP/plan.json"
'

test_expect_success 'a stop that fails refuses the merge before any file moves' '
	echo "case \"\$1\" in stop) exit 1 ;; esac" >"$R/etc/default/pwapt-test-svc" &&
	{ pwapt merge "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$R/etc/default/pwapt-test-svc" &&
	test_equal 1 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... FAILED" "$TMP/out" &&
	grep -q "^pwapt merge: cannot merge .$T. into Root: pwapt-test-svc does not stop in Root, and the merge removes it" "$TMP/out" &&
	test_lacks "^Merged" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -x "$R/usr/sbin/pwapt-test-svcd" &&
	test -n "$(svcd_procs)" && pwapt list | grep -Eq "^$T +Root +ready" &&
	test_lacks pwapt-test-svc pwapt recover
'

test_expect_success 'the note of pending services cannot be written: refused before the stop' '
	{ PWAPT_FAIL_AT=note-svcmove pwapt merge "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -q "^pwapt merge: cannot merge .$T. into Root: cannot write Root.s note of the services it stops (a full disk?); nothing stopped" "$TMP/out" &&
	test_lacks "^Stopping" cat "$TMP/out" && test_lacks "^Merged" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -n "$(svcd_procs)" &&
	pwapt list | grep -Eq "^$T +Root +ready"
'

test_expect_success 'killed once the service stopped, before the merge: pwapt recover names it' '
	PWAPT_CRASH_AT=txn-stopped-removed pwapt merge "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" &&
	test "$rc" -ge 128 &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test_lacks "^Merged" cat "$TMP/out" && test_equal ii "$(status_of pwapt-test-svc)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^pwapt merge of transaction $T into Root was killed before it merged (nothing to roll back); services it was stopping may be down" "$TMP/rec" &&
	grep -qx "start pwapt-test-svc in Root again (stopped for the merge)" "$TMP/rec" &&
	test_lacks "^stop pwapt-test-svc|by pwapt merge|a wmerge" cat "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-svc start &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

test_expect_success 'pwapt merge: the service stops in Root first, is not restarted; dpkg says removed' '
	{ pwapt merge "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test "$(grep -n "^Stopping pwapt-test-svc" "$TMP/out" | cut -d: -f1)" -lt \
		"$(grep -n "^Merged $T into Root" "$TMP/out" | cut -d: -f1)" &&
	test_lacks "Restarting pwapt-test-svc" cat "$TMP/out" &&
	test_lacks "Starting pwapt-test-svc" cat "$TMP/out" &&
	test_equal rc "$(status_of pwapt-test-svc)" && ! test -e "$R/usr/sbin/pwapt-test-svcd" &&
	test -e "$R/etc/init.d/pwapt-test-svc" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" && test_lacks pwapt-test-svc pwapt recover
'

test_expect_success 'pwapt rollback of that merge: the service runs again' '
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_lacks "Restarting pwapt-test-svc" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

test_expect_success 'a failed check of another service rolls the merge back: the removed one runs again' '
	www_running_in_root &&
	pwapt install --test --keep -y pwapt-test-svc- pwapt-test-www=1.2 </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	T=$(last_txn) && test -n "$T" &&
	{ pwapt merge --force "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 1 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	grep -q "^pwapt merge: the merge of $T was rolled back" "$TMP/out" &&
	grep -qx "Starting pwapt-test-svc in Root on the old files... done" "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -n "$(svcd_procs)" &&
	test_equal 1.0 "$(www_version Root)"
'

# Killed during that roll-back (merge undone, the removed service not
# started yet): Root's note of pending services names it to start.
test_expect_success 'killed during the roll-back after a failed check: pwapt recover names the removed service' '
	www_running_in_root && wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	pwapt install --test --keep -y pwapt-test-svc- pwapt-test-www=1.2 </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	G=$(last_txn) && test -n "$G" &&
	{ PWAPT_CRASH_AT=txn-rolled-back pwapt merge --force "$G" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "start pwapt-test-svc" "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-svc start && wexec Root /etc/init.d/pwapt-test-www restart &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	wait_for 20 "test \"\$(www_version Root)\" = 1.0"
'

# Root's note for pwapt rollback names the removed service as soon as
# the merge is done: killed then, a rollback starts it again.
test_expect_success 'pwapt merge killed right after its merge: pwapt rollback starts the removed service again' '
	wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	pwapt install --test --keep -y pwapt-test-svc- </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	K=$(last_txn) && test -n "$K" && test "$K" != "$T" &&
	{ PWAPT_CRASH_AT=txn-merged pwapt merge "$K" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	test_equal rc "$(status_of pwapt-test-svc)" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

test_done
