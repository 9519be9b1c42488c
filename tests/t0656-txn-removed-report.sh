#!/bin/sh
# A transaction whose apt run removes the package of a
# service running in Root (pwapt-upgrade(8), "test" and "report"): its
# report lists that service as one a merge stops ("Services to stop
# before the merge"), not as one it restarts, in text, in pwapt show and
# with --json; its world does not start that service before the tests.
# (pwapt install has no purge: a purge's report goes by the same rule,
# service_removes, which t0651 tests for the merge.)
# A service whose package it upgrades stays one to restart.  On the
# Debian test tree with the tests' pwapt-test-svc and pwapt-test-www.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

# The newest transaction's name.
last_txn() { pwapt list | awk 'NR > 1 { n = $1 } END { print n }'; }

test_expect_success 'set up: pwapt-test-svc and pwapt-test-www 1.0 running in Root, a test in tests.d' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" &&
	www_running_in_root &&
	mkdir -p "$R/etc/pwapt/tests.d" &&
	printf "#!/bin/sh\ntrue\n" >"$R/etc/pwapt/tests.d/ok" &&
	chmod 755 "$R/etc/pwapt/tests.d/ok"
'

test_expect_success 'pwapt install --test: the removed service is not started in the world, the report says stop' '
	{ pwapt install --test --keep -y pwapt-test-svc- pwapt-test-www </dev/null >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 0 $rc &&
	T=$(last_txn) && echo "$T" >"$TMP/T" && test -n "$T" &&
	grep -qx "Not starting pwapt-test-svc in $T: its package is removed" "$TMP/out" &&
	test_lacks "^Starting the services of $T:.* pwapt-test-svc" cat "$TMP/out" &&
	grep -qx "Services to stop before the merge (its package is removed): pwapt-test-svc" "$TMP/out" &&
	grep -qx "Services to restart after the merge: pwapt-test-www" "$TMP/out"
'
T=$(cat "$TMP/T" 2>/dev/null)

test_expect_success 'pwapt show, text and --json, says the same' '
	pwapt show "$T" >"$TMP/show" &&
	grep -qx "Services to stop before the merge (its package is removed): pwapt-test-svc" "$TMP/show" &&
	grep -qx "Services to restart after the merge: pwapt-test-www" "$TMP/show" &&
	pwapt show --json "$T" >"$TMP/show.json" &&
	python3 -c "import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"services\"] == [\"pwapt-test-www\"], r[\"services\"]
assert r[\"services_to_stop\"] == [\"pwapt-test-svc\"], r[\"services_to_stop\"]" "$TMP/show.json"
'

test_expect_success 'pwapt merge --plan agrees: stop the removed one, restart the upgraded one' '
	pwapt merge --plan "$T" >"$TMP/plan" 2>&1 && cat "$TMP/plan" &&
	grep -qx "stop pwapt-test-svc in Root: its package is removed" "$TMP/plan" &&
	grep -q "^restart pwapt-test-www in Root" "$TMP/plan" &&
	test_lacks "start pwapt-test-svc" cat "$TMP/plan" &&
	pwapt discard "$T" >/dev/null
'

test_expect_success 'an upgrade of the service package: to restart, nothing to stop' '
	{ pwapt install --test --keep -y pwapt-test-svc </dev/null >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 0 $rc && U=$(last_txn) && test -n "$U" &&
	grep -q "^Starting the services of $U:.* pwapt-test-svc" "$TMP/out" &&
	grep -qx "Services to restart after the merge: pwapt-test-svc" "$TMP/out" &&
	test_lacks "^Services to stop" cat "$TMP/out" &&
	pwapt discard "$U" >/dev/null
'

test_done
