#!/bin/sh
# A merge into Root restarts the services of the packages it changes that
# run there; those that do not run are left as they are, and said so in
# one line, however many a package ships (openssh-server and its
# dependencies once gave 76 lines "not running, left as it is").  A
# service restarted is one line of its own, as is one that fails.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root' '
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-svc &&
	wexec Root /etc/init.d/pwapt-test-svc status &&
	use_test_repo 1.1
'

test_expect_success 'pwapt merge: one line per service restarted, one line for the six that do not run' '
	pwapt install --test --keep -y pwapt-test-idle pwapt-test-svc >"$TMP/out" 2>&1; cat "$TMP/out" &&
	t=$(sed -n "s/^Transaction \(tx[0-9]*\):.*/\1/p" "$TMP/out" | head -n 1) && test -n "$t" &&
	pwapt merge "$t" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	test_equal 1 "$(grep -c "^Restarting pwapt-test-svc in Root... done\$" "$TMP/out")" &&
	test_equal 1.1 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	test_equal 1 "$(grep -ci "not running" "$TMP/out")" &&
	grep -qx "Not running in Root, left as they are: pwapt-test-idle1, pwapt-test-idle2, pwapt-test-idle3, pwapt-test-idle4, pwapt-test-idle5, pwapt-test-idle6." "$TMP/out" &&
	test_lacks "Restarting pwapt-test-idle" cat "$TMP/out"
'

test_expect_success 'pwapt rollback: the same, on the old files' '
	pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	test_equal 1 "$(grep -c "^Restarting pwapt-test-svc in Root... done\$" "$TMP/out")" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	test_equal 1 "$(grep -ci "not running" "$TMP/out")" &&
	grep -q "^Not running in Root, left as they are: pwapt-test-idle1, .*pwapt-test-idle6\.\$" "$TMP/out"
'

test_done
