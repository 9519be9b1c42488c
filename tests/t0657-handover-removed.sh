#!/bin/sh
# wmerge --handover of a world whose apt run removed the package of a
# service running in Root (wmerge(8), "--handover"): that service stops
# in Root before any file moves, as a plain merge stops it
# (t0651-wmerge-removed-services.sh), and is not started after; a stop
# that fails refuses the handover with nothing merged; a failed check
# (the merge rolled back), a pwapt killed before its merge or after
# its roll-back (pwapt recover) and pwapt rollback (also of a merge
# whose pwapt was killed, finished by pwapt recover) start it again;
# pwapt merge T --handover of a transaction does the same; a world
# that removes the service on a port of --handover is refused before
# anything moves.
# Root serves pwapt-test-web on port 8080 and runs pwapt-test-svc, in
# this test's own network namespace (lib.sh).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is missing"
. "$TEST_DIR/lib-net.sh"
require_nat
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

version() { curl -s -m 5 "http://$(net_field Root address):8080/"; }
no_rules_left() {
	! nft list ruleset | grep -e "handover-" -e "takeover" &&
	! wlist | grep -q "handover-"
}
# removing NAME: a world NAME of Root with pwapt-test-web 1.1 installed
# and pwapt-test-svc removed.
removing() {
	wcreate "$1" Root &&
	wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		pwapt-test-web </dev/null >/dev/null &&
	wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq \
		pwapt-test-svc </dev/null >/dev/null
}
# Root as each test wants it: web 1.0 serving, the service running.
as_before() {
	test_equal 1.0 "$(version)" && test_equal ii "$(status_of pwapt-test-svc)" &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && no_rules_left
}

test_expect_success 'set up: pwapt-test-web 1.0 serves in Root, pwapt-test-svc runs, 1.1 in the lists' '
	use_test_repo 1.0 && install_test_packages pwapt-test-web pwapt-test-svc >/dev/null &&
	wexec Root /etc/init.d/pwapt-test-web start &&
	wait_for 10 "test 1.0 = \"\$(version)\"" &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	use_test_repo 1.1
'

test_expect_success 'the service on a port of --handover removed: refused before anything moves' '
	wcreate P Root &&
	wexec P env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq pwapt-test-web </dev/null >/dev/null &&
	test_fails_with 1 "cannot hand over .P. into Root: its merge removes pwapt-test-web, which serves a port of --handover" \
		wmerge --handover 8080 P Root &&
	wlist | grep -q "^P " && as_before && wdelete P
'

test_expect_success 'a stop that fails refuses the handover, nothing merged' '
	removing S &&
	echo "case \"\$1\" in stop) exit 1 ;; esac" >"$R/etc/default/pwapt-test-svc" &&
	{ wmerge --handover 8080 S Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$R/etc/default/pwapt-test-svc" && test_equal 1 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... FAILED" "$TMP/out" &&
	grep -q "cannot merge .S. into Root: pwapt-test-svc does not stop in Root, and the merge removes it" "$TMP/out" &&
	test_lacks "^Merged" cat "$TMP/out" &&
	wlist | grep -q "^S " && test -x "$R/usr/sbin/pwapt-test-svcd" && as_before && wdelete S
'

test_expect_success 'killed before its merge, the service stopped: pwapt recover starts it again' '
	removing K &&
	{ PWAPT_CRASH_AT=handover-merge wmerge --handover 8080 K Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test -z "$(svcd_procs)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^Starting pwapt-test-svc in Root again... done" "$TMP/rec" &&
	as_before && wdelete K
'

test_expect_success 'killed once merged (merge-done): pwapt recover leaves the service stopped, pwapt rollback starts it' '
	removing M &&
	{ PWAPT_CRASH_AT=merge-done wmerge --handover 8080 M Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "finished an interrupted handover" "$TMP/rec" &&
	test_lacks "Starting pwapt-test-svc" cat "$TMP/rec" &&
	test_equal rc "$(status_of pwapt-test-svc)" && test -z "$(svcd_procs)" &&
	test_equal 1.1 "$(version)" && no_rules_left &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_equal ii "$(status_of pwapt-test-svc)" && wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	wexec Root /etc/init.d/pwapt-test-web restart &&
	wait_for 10 "test 1.0 = \"\$(version)\"" && as_before
'

test_expect_success 'killed after its note for pwapt rollback (handover-start): pwapt recover keeps it, pwapt rollback starts the service' '
	removing N &&
	{ PWAPT_CRASH_AT=handover-start wmerge --handover 8080 N Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	test_lacks "Starting pwapt-test-svc" cat "$TMP/rec" && test -z "$(svcd_procs)" &&
	test_equal 1.1 "$(version)" && no_rules_left &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_equal ii "$(status_of pwapt-test-svc)" && wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	wexec Root /etc/init.d/pwapt-test-web restart &&
	wait_for 10 "test 1.0 = \"\$(version)\"" && as_before
'

test_expect_success 'killed once its failed check rolled the merge back: pwapt recover starts the service again' '
	removing B &&
	{ PWAPT_CRASH_AT=handover-rolled-back wmerge --handover 8080 --handover-check false B Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && test -z "$(svcd_procs)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root again... done" "$TMP/rec" &&
	test -x "$R/usr/sbin/pwapt-test-svcd" && as_before
'

test_expect_success 'a failed check rolls the merge back: the removed service runs again' '
	removing F &&
	{ wmerge --handover 8080 --handover-check false F Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	grep -q "^Rolled back merge" "$TMP/out" &&
	grep -q "^Starting pwapt-test-svc in Root again... done" "$TMP/out" &&
	test -x "$R/usr/sbin/pwapt-test-svcd" && as_before
'

test_expect_success 'wmerge --handover: the service stops before the merge, is not started; pwapt rollback starts it' '
	removing H &&
	{ wmerge --handover 8080 H Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test "$(grep -n "^Stopping pwapt-test-svc" "$TMP/out" | cut -d: -f1)" -lt \
		"$(grep -n "^Merged H into Root" "$TMP/out" | cut -d: -f1)" &&
	test_lacks "Starting pwapt-test-svc" cat "$TMP/out" &&
	test_equal 1.1 "$(version)" && test_equal rc "$(status_of pwapt-test-svc)" &&
	! test -e "$R/usr/sbin/pwapt-test-svcd" && test -z "$(svcd_procs)" && no_rules_left &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_equal ii "$(status_of pwapt-test-svc)" && wait_for 20 "test -n \"\$(svcd_procs)\""
'

test_expect_success 'pwapt merge T --handover of a transaction that removes the service: stopped first' '
	wexec Root /etc/init.d/pwapt-test-web restart &&
	wait_for 10 "test 1.0 = \"\$(version)\"" && as_before &&
	pwapt install --test --keep -y pwapt-test-svc- pwapt-test-web </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	t=$(pwapt list | awk "NR > 1 { n = \$1 } END { print n }") && test -n "$t" &&
	{ pwapt merge "$t" --handover 8080 >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test_equal 1.1 "$(version)" && test_equal rc "$(status_of pwapt-test-svc)" &&
	test -z "$(svcd_procs)" && no_rules_left
'

test_done
