#!/bin/sh
# After a failed check rolls a wmerge back, a service restarted on the old
# files gets the settle time of a check, as one started again does: a
# daemon that writes its pid file a moment after its init script returns
# (pwapt-test-svc's START_DELAY) is seen running, not taken for down.
# On the Debian test tree with the tests' pwapt-test-svc.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root, 1.1 in the lists' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" &&
	use_test_repo 1.1
'

test_expect_success 'a failed check of 1.1: 1.0 restarted on the old files, slow to write its pid, counts as back' '
	wcreate W Root &&
	wexec W env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc </dev/null >/dev/null &&
	printf "START_DELAY=2\nFAIL_VERSION=1.1\n" >"$R/etc/default/pwapt-test-svc" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -q "^Restarting pwapt-test-svc in Root... FAILED" "$TMP/out" &&
	grep -qx "Restarting pwapt-test-svc in Root on the old files... done" "$TMP/out" &&
	test_lacks "did not come back\|does not run" cat "$TMP/out" &&
	wait_for 20 "test 1.0 = \"\$(wexec Root cat /run/pwapt-test-svc.version 2>/dev/null)\"" &&
	test_lacks pwapt-test-svc pwapt recover
'

test_done
