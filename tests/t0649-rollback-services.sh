#!/bin/sh
# pwapt rollback and Root's services (wmerge(8), pwapt(8)): the services a
# merge restarted are restarted again on the old files; one that does not
# come back is named, the exit status is 1, and pwapt recover names it
# later.  On the Debian test tree with the tests' pwapt-test-svc (1.0, 1.1;
# FAIL_VERSION in /etc/default/pwapt-test-svc makes that version fail).
. "$(dirname "$0")/lib.sh"
make_debian_root
R=$PWAPT_ROOT

svc_version() { wexec Root cat /run/pwapt-test-svc.version 2>/dev/null; }

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root, upgraded to 1.1 by a merge' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	use_test_repo 1.1 &&
	pwapt upgrade --test --merge-on-success -y </dev/null >/dev/null 2>&1 &&
	test_equal 1.1 "$(svc_version)"
'

test_expect_success 'pwapt rollback whose old service does not come back: named, exit 1, pwapt recover says it' '
	echo FAIL_VERSION=1.0 >"$R/etc/default/pwapt-test-svc" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -q "^Rolled back merge 1 " "$TMP/out" &&
	grep -q "^Restarting pwapt-test-svc in Root... FAILED" "$TMP/out" &&
	grep -q "^pwapt rollback: merge 1 was rolled back, but not each of its services runs again on the old files: .*pwapt-test-svc" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -qx "restart pwapt-test-svc in Root" "$TMP/rec" &&
	grep -qx "pwapt rollback of merge 1 into Root was killed after it undid the merge, or a service did not come back: start or restart these on the old files:" "$TMP/rec" &&
	! grep -q "another merge" "$TMP/rec"
'

test_expect_success 'pwapt rollback killed before the services restart: pwapt recover names them' '
	rm -f "$R/etc/default/pwapt-test-svc" &&
	wexec Root /etc/init.d/pwapt-test-svc start >/dev/null &&
	wait_for 20 "test 1.0 = \"\$(svc_version)\"" &&
	{ pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/up" 2>&1 ||
		{ cat "$TMP/up"; false; }; } &&
	test_equal 1.1 "$(svc_version)" &&
	{ PWAPT_CRASH_AT=rollback-restarting pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc &&
	grep -q "^Rolled back merge 2 " "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -qx "restart pwapt-test-svc in Root" "$TMP/rec" &&
	grep -q "^pwapt rollback of merge 2 into Root was killed after it undid the merge" "$TMP/rec"
'

test_done
