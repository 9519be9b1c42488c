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
# answers WORLD PORT: what pwapt-test-web answers there (nothing: none).
answers() {
	wexec "$1" python3 -c 'import urllib.request, sys
print(urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=5).read().decode().strip())' "$2" 2>/dev/null
}

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root, upgraded to 1.1 by a merge' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	use_test_repo 1.1 &&
	pwapt upgrade --test --merge-on-success -y </dev/null >/dev/null 2>&1 &&
	test_equal 1.1 "$(svc_version)"
'

test_expect_success 'pwapt rollback whose old service does not come back: named, exit 1, pwapt recover says it' '
	echo FAIL_VERSION=1.0 >"$R/etc/default/pwapt-test-svc" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; } ; cat "$TMP/out" &&
	test_equal 1 $rc &&
	grep -q "^Rolled back merge 1 " "$TMP/out" &&
	grep -q "^Restarting pwapt-test-svc in Root... FAILED" "$TMP/out" &&
	grep -q "^pwapt rollback: merge 1 was rolled back, but not each of its services runs again on the old files: .*pwapt-test-svc" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -q "^restart pwapt-test-svc\$" "$TMP/rec" &&
	grep -q "after merge 1, which was rolled back: see to them on the files Root has now:\$" "$TMP/rec" &&
	! grep -q "another merge" "$TMP/rec"
'

test_expect_success 'pwapt rollback killed before the services restart: pwapt recover names them' '
	rm -f "$R/etc/default/pwapt-test-svc" &&
	wexec Root /etc/init.d/pwapt-test-svc start >/dev/null &&
	wait_for 20 "test 1.0 = \"\$(svc_version)\"" &&
	pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/up" 2>&1; cat "$TMP/up" &&
	test_equal 1.1 "$(svc_version)" &&
	PWAPT_CRASH_AT=rollback-restarting pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" &&
	test $rc -ne 0 &&
	grep -q "^Rolled back merge 2 " "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -q "^restart pwapt-test-svc\$" "$TMP/rec" &&
	grep -q "after merge 2, which" "$TMP/rec"
'

test_expect_success 'set up: W installs pwapt-test-web (new to Root) and runs it; wmerge starts it in Root' '
	use_test_repo 1.0 && wcreate W Root >/dev/null &&
	wexec W env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-web </dev/null >/dev/null 2>&1 &&
	wexec W /etc/init.d/pwapt-test-web start &&
	wait_for 20 "test -n \"\$(answers W 8080)\"" &&
	wmerge W Root >"$TMP/out" 2>&1; cat "$TMP/out" &&
	test -n "$(answers Root 8080)"
'

test_expect_success 'pwapt rollback refused (a merged file changed since): the service it stopped runs again' '
	echo "# changed" >>"$R/etc/init.d/pwapt-test-web" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 3 $rc &&
	grep -q "^Stopping pwapt-test-web in Root (the merge started it)... done" "$TMP/out" &&
	grep -q "^Starting pwapt-test-web in Root again... done" "$TMP/out" &&
	wait_for 20 "test -n \"\$(answers Root 8080)\""
'

test_expect_success 'pwapt rollback of that wmerge stops the service it started before its files go' '
	{ pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 0 $rc &&
	grep -q "^Stopping pwapt-test-web in Root (the merge started it)... done" "$TMP/out" &&
	! test -e "$R/etc/init.d/pwapt-test-web" &&
	test -z "$(answers Root 8080)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_done
