#!/bin/sh
# wmerge moves services (wmerge(8), "Services"): those running in SRC stop
# there and start or restart in DST on the merged files, each checked (it
# reports running and stays up, the ports it listened on answer, and
# pwapt.conf's check.SERVICE passes); a failed check rolls that merge back
# and the old service runs again.  On the Debian test tree with the tests'
# pwapt-test-www (HTTP on port 8090, answering its version; 1.2 is broken:
# it runs but listens on nothing).
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
WEBD=/usr/sbin/pwapt-test-wwwd

pid_of() { wexec "$1" cat /run/pwapt-test-www.pid 2>/dev/null; }
# world_with WORLD CMD...: a world on Root where CMD ran, its web service
# started (answering, but for the broken 1.2).
world_with() {
	w=$1 && shift &&
	wcreate "$w" Root >/dev/null &&
	wexec "$w" "$@" </dev/null >/dev/null &&
	wexec "$w" /etc/init.d/pwapt-test-www start &&
	if wexec "$w" grep -q "^VERSION = .1.2.\$" $WEBD; then
		wait_for 20 "wexec $w /etc/init.d/pwapt-test-www status"
	else
		wait_for 20 "test -n \"\$(www_version $w)\""
	fi
}
in_world() { wexec "$@" </dev/null >/dev/null 2>&1; }
install_web() { echo "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades pwapt-test-www=$1"; }

test_expect_success 'set up: pwapt-test-www 1.0 running in Root, 1.1 and 1.2 in the lists' '
	www_running_in_root
'

test_expect_success 'wmerge --plan says what stops, starts and restarts, and changes nothing' '
	world_with W $(install_web 1.1) &&
	test_equal 1.1 "$(www_version W)" &&
	root_pid=$(pid_of Root) && w_pid=$(pid_of W) &&
	sha256sum "$R$WEBD" >"$TMP/before" &&
	wmerge --plan W Root >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^stop pwapt-test-www in W\$" "$TMP/out" &&
	grep -q "^restart pwapt-test-www in Root: runs in the merged world (ports 8090)\$" "$TMP/out" &&
	wmerge --plan --json W Root >"$TMP/json" &&
	python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert [s[\"service\"] for s in j[\"stop\"]] == [\"pwapt-test-www\"], j
assert j[\"restart\"][0][\"ports\"] == [8090] and j[\"start\"] == [], j
" "$TMP/json" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	test_equal "$root_pid" "$(pid_of Root)" && test_equal "$w_pid" "$(pid_of W)" &&
	test_equal 1.1 "$(www_version W)" && test_equal 1.0 "$(www_version Root)" &&
	wlist | grep -q "^W "
'

test_expect_success 'wmerge stops the service in SRC and restarts it in Root on the new files, checked on its port' '
	root_pid=$(pid_of Root) &&
	wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Stopping pwapt-test-www in W... done" "$TMP/out" &&
	grep -q "^Merged W into Root as merge" "$TMP/out" &&
	grep -q "^Restarting pwapt-test-www in Root... done, checked" "$TMP/out" &&
	test_equal 1.1 "$(www_version Root)" &&
	test "$(pid_of Root)" != "$root_pid" &&
	! wlist | grep -q "^W "
'

test_expect_success 'a new version that fails its port check: that merge rolled back, Root byte-identical, the old service running' '
	world_with B $(install_web 1.2) &&
	wexec B dpkg-query -W pwapt-test-www | grep -q 1.2 &&
	cp -a "$R$WEBD" "$TMP/webd.old" &&
	sha256sum "$R$WEBD" "$R/var/lib/dpkg/status" >"$TMP/before" &&
	test_exit 1 wmerge B Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "port 8090 of pwapt-test-www does not answer in Root" "$TMP/out" &&
	grep -q "^wmerge: merge [0-9]* of B into Root was rolled back: port 8090 of pwapt-test-www does not answer" "$TMP/out" &&
	grep -q "^Restarting pwapt-test-www in Root on the old files... done" "$TMP/out" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	cmp "$TMP/webd.old" "$R$WEBD" &&
	wait_for 20 "test 1.1 = \"\$(www_version Root)\""
'

test_expect_success 'wmerge --json: the report names the failed check' '
	world_with J $(install_web 1.2) &&
	wmerge --json J Root >"$TMP/json" 2>"$TMP/err"; rc=$?; cat "$TMP/json" "$TMP/err" && test_equal 1 $rc &&
	python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j[\"merged\"] and j[\"rolled_back\"], j
assert \"port 8090\" in j[\"failed_check\"], j
" "$TMP/json" &&
	wait_for 20 "test 1.1 = \"\$(www_version Root)\""
'

test_expect_success 'a check command from pwapt.conf that fails rolls the merge back, named' '
	echo "check.pwapt-test-www = test -e /var/tmp/pwapt-healthy" >"$PWAPT_CONFIG" &&
	world_with C sh -c "echo \"# touched\" >>$WEBD" &&
	sha256sum "$R$WEBD" >"$TMP/before" &&
	wmerge --plan C Root >"$TMP/out" && cat "$TMP/out" &&
	grep -q "^restart pwapt-test-www in Root: .*; check: test -e /var/tmp/pwapt-healthy\$" "$TMP/out" &&
	test_exit 1 wmerge C Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "rolled back: check.pwapt-test-www (test -e /var/tmp/pwapt-healthy) failed in Root" "$TMP/out" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	wait_for 20 "test 1.1 = \"\$(www_version Root)\"" &&
	: >"$R/var/tmp/pwapt-healthy" &&
	world_with C2 sh -c "echo \"# touched\" >>$WEBD" &&
	wmerge C2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Restarting pwapt-test-www in Root... done, checked" "$TMP/out" &&
	rm -f "$PWAPT_CONFIG"
'

test_expect_success 'wmerge --no-restart: no stop in SRC, no restart in Root, the services named' '
	world_with D sh -c "echo \"# again\" >>$WEBD" &&
	root_pid=$(pid_of Root) &&
	wmerge --no-restart D Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Not restarted (--no-restart): pwapt-test-www\.\$" "$TMP/out" &&
	! grep -q "^Stopping\|^Restarting\|^Starting" "$TMP/out" &&
	test_equal "$root_pid" "$(pid_of Root)" &&
	wexec Root /etc/init.d/pwapt-test-www restart &&
	wait_for 20 "test 1.1 = \"\$(www_version Root)\""
'

# Killed between the merge and the services: the merge stays (it is
# done and journaled), SRC is gone with its service stopped, Root's
# service runs on as it did (not restarted); pwapt recover names what was
# left to start and restart (DST's note "svcmove"), and `pwapt rollback`
# remains the way back.
test_expect_success 'killed between merge and restart: the merge stays, pwapt recover names the services left' '
	world_with K sh -c "echo \"# killed\" >>$WEBD" &&
	root_pid=$(pid_of Root) &&
	PWAPT_CRASH_AT=svcmove-merged wmerge K Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" &&
	test "$rc" -ge 128 &&
	grep -q "^Stopping pwapt-test-www in K... done" "$TMP/out" &&
	! grep -q "^Restarting" "$TMP/out" &&
	grep -q "# killed" "$R$WEBD" &&
	test_equal "$root_pid" "$(pid_of Root)" &&
	pwapt recover >"$TMP/out" 2>&1 && cat "$TMP/out" &&
	grep -q "^services of Root were not (re)started or checked after merge [0-9]* (its pwapt was killed); see to them, or pwapt rollback --id [0-9]* Root:\$" "$TMP/out" &&
	grep -q "^restart pwapt-test-www\$" "$TMP/out" &&
	pwapt rollback >"$TMP/out" 2>&1 && cat "$TMP/out" &&
	! grep -q "# killed" "$R$WEBD"
'

# The store cannot be opened once SRC's services stopped (a failure
# injected there): nothing merged, they run in SRC again.
test_expect_success 'the store fails to open after the stops: SRC'"'"'s service runs again, nothing merged' '
	world_with O sh -c "echo \"# store\" >>$WEBD" && w_pid=$(pid_of O) &&
	PWAPT_FAIL_AT=svcmove-open wmerge O Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" &&
	test_equal 1 $rc &&
	grep -q "^Stopping pwapt-test-www in O... done" "$TMP/out" &&
	grep -q "^Starting pwapt-test-www in O again... done" "$TMP/out" &&
	! grep -q "# store" "$R$WEBD" &&
	test "$(pid_of O)" != "$w_pid" && test -n "$(www_version O)" &&
	wdelete O
'

# Root's note of the services a merge stops cannot be written (a full
# disk): nothing stops that no note would name; the merge is refused.
test_expect_success 'the note of pending services cannot be written: refused before any stop' '
	world_with N sh -c "echo \"# note\" >>$WEBD" && w_pid=$(pid_of N) &&
	PWAPT_FAIL_AT=note-svcmove wmerge N Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" &&
	test_equal 1 $rc &&
	grep -q "cannot merge .N. into .Root.: cannot write Root.s note of the services it stops (a full disk?); nothing stopped" "$TMP/out" &&
	test_lacks "^Stopping" cat "$TMP/out" &&
	test_equal "$w_pid" "$(pid_of N)" && ! grep -q "# note" "$R$WEBD" &&
	wmerge N Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "# note" "$R$WEBD"
'

test_expect_success 'a service started in Root (it did not run there) that fails its check: stopped, the merge rolled back' '
	wexec Root /etc/init.d/pwapt-test-www stop &&
	world_with S sh -c "echo \"# started\" >>$WEBD" &&
	echo "check.pwapt-test-www = false" >"$PWAPT_CONFIG" &&
	sha256sum "$R$WEBD" >"$TMP/before" &&
	wmerge --plan S Root >"$TMP/out" && cat "$TMP/out" &&
	grep -q "^start pwapt-test-www in Root: runs in the merged world (ports 8090); check: false\$" "$TMP/out" &&
	test_exit 1 wmerge S Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-www in Root... FAILED" "$TMP/out" &&
	grep -q "^Stopping pwapt-test-www in Root... done" "$TMP/out" &&
	grep -q "rolled back: check.pwapt-test-www (false) failed in Root" "$TMP/out" &&
	grep -q "S is merged and gone: pwapt-test-www cannot run there again" "$TMP/out" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	! wexec Root /etc/init.d/pwapt-test-www status &&
	rm -f "$PWAPT_CONFIG"
'

test_expect_success 'pwapt merge --plan names the restart and changes nothing; pwapt merge checks the port and rolls back' '
	wexec Root /etc/init.d/pwapt-test-www start &&
	wait_for 20 "test 1.1 = \"\$(www_version Root)\"" &&
	root_pid=$(pid_of Root) &&
	pwapt install --test --keep -y pwapt-test-www </dev/null >"$TMP/out" 2>&1; cat "$TMP/out" &&
	tx=$(sed -n "s/^Transaction \(tx[0-9]*\): .*ready\$/\1/p" "$TMP/out") &&
	test -n "$tx" &&
	sha256sum "$R$WEBD" >"$TMP/before" &&
	pwapt merge --plan "$tx" >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^$tx into Root:\$" "$TMP/out" &&
	grep -q "^restart pwapt-test-www in Root: its package was upgraded (ports 8090)\$" "$TMP/out" &&
	pwapt merge --plan --json "$tx" >"$TMP/json" &&
	python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j[0][\"restart\"][0][\"service\"] == \"pwapt-test-www\" and j[0][\"stop\"] == [], j
" "$TMP/json" &&
	sha256sum -c "$TMP/before" >/dev/null && test_equal "$root_pid" "$(pid_of Root)" &&
	pwapt list | grep -q "^$tx " &&
	test_exit 1 pwapt merge "$tx" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Restarting pwapt-test-www in Root... FAILED" "$TMP/out" &&
	grep -q "^pwapt merge: port 8090 of pwapt-test-www does not answer in Root\$" "$TMP/out" &&
	grep -q "^Restarting pwapt-test-www in Root on the old files... done" "$TMP/out" &&
	grep -q "the merge of $tx was rolled back" "$TMP/out" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	wait_for 20 "test 1.1 = \"\$(www_version Root)\""
'

test_expect_success 'hostile DST: a FIFO and a symbolic link among its dpkg lists: the plan neither hangs nor follows them' '
	wcreate P Root >/dev/null &&
	wexec P /etc/init.d/pwapt-test-www start &&
	wait_for 20 "test 1.1 = \"\$(www_version P)\"" &&
	T=$PWAPT_STATE/worlds/P/merged &&
	mkfifo "$T/var/lib/dpkg/info/aaa-evil.list" &&
	ln -s /etc/shadow "$T/var/lib/dpkg/info/aab-evil.list" &&
	wcreate Q P >/dev/null &&
	wexec Q sh -c "echo \"# q\" >>$WEBD" &&
	timeout 60 wmerge --plan Q P >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^restart pwapt-test-www in P: its files change (ports 8090)\$" "$TMP/out" &&
	timeout 120 wmerge Q P >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Restarting pwapt-test-www in P... done, checked" "$TMP/out" &&
	test_equal 1.1 "$(www_version P)" &&
	wdelete P
'

test_done
