#!/bin/sh
# A world that removes or purges the package of a service running in Root
# merges: the service stops in Root with its old init script before the
# merge, is never restarted or checked after it, and runs again when the
# merge is rolled back.  (It was restarted after the merge, with no init
# script left: the restart failed, and the merge was always rolled back.)
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

svc_pid() { wexec Root cat /run/pwapt-test-svc.pid 2>/dev/null; }
# Whether process $1 of Root's pid namespace runs.
runs() { wexec Root sh -c "kill -0 $1" 2>/dev/null; }
installed() { wexec Root dpkg-query -W -f '${Status}' pwapt-test-svc 2>/dev/null | grep -q " installed\$"; }
start_svc() {
	installed || install_test_packages pwapt-test-svc || return 1
	wexec Root /etc/init.d/pwapt-test-svc start &&
		wait_for 20 "test 1.0 = \"\$(wexec Root cat /run/pwapt-test-svc.version 2>/dev/null)\""
}
# world_without W purge|remove: world W of Root without pwapt-test-svc.
world_without() {
	wcreate "$1" Root >/dev/null &&
		wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get "$2" -y -qq pwapt-test-svc </dev/null >/dev/null
}

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root' '
	use_test_repo 1.0 &&
	start_svc
'

test_expect_success 'wmerge --plan of a purge: stop in Root, no restart; --json says so too' '
	world_without P purge &&
	wmerge --plan P Root >"$TMP/out"; cat "$TMP/out" &&
	grep -q "^stop pwapt-test-svc in Root: its package is removed\$" "$TMP/out" &&
	! grep -q "start pwapt-test-svc" "$TMP/out" &&
	wmerge --plan --json P Root >"$TMP/json" && cat "$TMP/json" &&
	python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert [(x[\"service\"], x[\"world\"]) for x in j[\"stop\"]] == [(\"pwapt-test-svc\", \"Root\")], j
assert not j[\"start\"] and not j[\"restart\"], j
" "$TMP/json"
'

test_expect_success 'a purge whose merge is rolled back (another check fails): the removed service runs again' '
	wexec P sh -c "cat >/etc/init.d/aaa && chmod 755 /etc/init.d/aaa && /etc/init.d/aaa start" <<-\EOF &&
	#!/bin/sh
	case $1 in
	start) setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! >/run/aaa.pid ;;
	stop) kill $(cat /run/aaa.pid); rm -f /run/aaa.pid ;;
	restart) $0 stop; $0 start ;;
	status) kill -0 $(cat /run/aaa.pid) ;;
	esac
	EOF
	echo "check.aaa = false" >"$PWAPT_CONFIG" &&
	old=$(svc_pid) && runs "$old" &&
	test_exit 1 wmerge P Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	rm -f "$PWAPT_CONFIG" &&
	grep -q "^Stopping pwapt-test-svc in Root... done" "$TMP/out" &&
	! grep -q "Restarting pwapt-test-svc" "$TMP/out" &&
	grep -q "rolled back: check.aaa (false) failed in Root" "$TMP/out" &&
	grep -q "^Starting pwapt-test-svc in Root again on the old files... done" "$TMP/out" &&
	installed &&
	! runs "$old" &&
	wait_for 20 "test 1.0 = \"\$(wexec Root cat /run/pwapt-test-svc.version 2>/dev/null)\"" &&
	wexec Root /etc/init.d/pwapt-test-svc status
'

test_expect_success 'wmerge of a purge: stopped in Root before the merge, merged, nothing of it left' '
	world_without Q purge &&
	old=$(svc_pid) && runs "$old" &&
	wmerge Q Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Stopping pwapt-test-svc in Root... done" "$TMP/out" &&
	! grep -q "pwapt-test-svc in Root\.\.\. FAILED\|Restarting\|rolled back" "$TMP/out" &&
	! installed &&
	! test -e "$R/etc/init.d/pwapt-test-svc" &&
	! runs "$old" &&
	! wexec Root test -e /run/pwapt-test-svc.version &&
	! wlist | grep -q "^Q "
'

test_expect_success 'wmerge of a remove (the init script stays, a conffile): stopped, merged' '
	start_svc &&
	world_without V remove &&
	wmerge --plan V Root >"$TMP/out"; cat "$TMP/out" &&
	grep -q "^stop pwapt-test-svc in Root: its package is removed\$" "$TMP/out" &&
	old=$(svc_pid) && runs "$old" &&
	wmerge V Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Stopping pwapt-test-svc in Root... done" "$TMP/out" &&
	! installed &&
	! runs "$old"
'

test_expect_success 'wmerge --no-restart of a purge: left running, and said so' '
	start_svc &&
	world_without N purge &&
	old=$(svc_pid) &&
	wmerge --no-restart N Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "pwapt-test-svc still runs in Root with its files removed (--no-restart)" "$TMP/out" &&
	! grep -q "^Stopping" "$TMP/out" &&
	! installed &&
	runs "$old" &&
	wexec Root sh -c "kill $old"
'

test_expect_success 'pwapt merge of a transaction that removes the package: stopped before the merge, merged' '
	start_svc &&
	pwapt install --test --keep -y pwapt-test-svc- </dev/null >"$TMP/out" 2>&1; cat "$TMP/out" &&
	tx=$(sed -n "s/^Transaction \(tx[0-9]*\): .*ready\$/\1/p" "$TMP/out") &&
	test -n "$tx" &&
	pwapt merge --plan "$tx" >"$TMP/out"; cat "$TMP/out" &&
	grep -q "^stop pwapt-test-svc in Root: its package is removed\$" "$TMP/out" &&
	! grep -q "start pwapt-test-svc" "$TMP/out" &&
	old=$(svc_pid) && runs "$old" &&
	pwapt merge "$tx" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Stopping pwapt-test-svc in Root... done" "$TMP/out" &&
	! grep -q "Restarting pwapt-test-svc\|rolled back" "$TMP/out" &&
	! installed &&
	! runs "$old"
'

test_done
