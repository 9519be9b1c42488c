#!/bin/sh
# pwapt rollback of a wmerge that started services new to Root (wmerge(8),
# pwapt(8)): those whose init script the merge added stop, in reverse start
# order, before their files go; only once nothing refuses the rollback; a
# stop that fails refuses it, the ones already stopped start again; a
# rollback killed after the stops leaves a note pwapt recover prints.  A
# service Root already ran (unseen: no pid file) is never stopped.  On the
# Debian test tree with the tests' pwapt-test-web (port 8080, enabled) and
# pwapt-test-www (port 8090, not enabled: started after it).
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
WEB=/etc/init.d/pwapt-test-web

# answers WORLD PORT: what the test daemon there answers (nothing: none).
answers() {
	wexec "$1" python3 -c 'import urllib.request, sys
print(urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=5).read().decode().strip())' "$2" 2>/dev/null
}
# Empties Root's notes of pending services once a test has seen to the
# services they name (as an administrator would): a note naming a
# service to restart is never taken for done by pwapt itself.
clear_notes() { pwapt recover --done >/dev/null; }
both_answer() { test -n "$(answers Root 8080)" && test -n "$(answers Root 8090)"; }
web_pid() { wexec Root cat /run/pwapt-test-web.pid 2>/dev/null; }
# World $1 installs pwapt-test-web and runs it; wmerge moves it into
# Root; $M is that merge's id.
web_merged() {
	wcreate "$1" Root >/dev/null &&
		wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-web </dev/null >/dev/null 2>&1 &&
		wexec "$1" /etc/init.d/pwapt-test-web start &&
		wait_for 20 "test -n \"\$(answers $1 8080)\"" &&
		{ wmerge "$1" Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
		M=$(sed -n "s/^Merged $1 into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") && test -n "$M"
}

test_expect_success 'set up: W installs pwapt-test-web and -www (new to Root) and runs them; wmerge starts them in Root' '
	use_test_repo 1.0 && wcreate W Root >/dev/null &&
	wexec W env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-web pwapt-test-www </dev/null >/dev/null 2>&1 &&
	wexec W /etc/init.d/pwapt-test-web start &&
	wexec W /etc/init.d/pwapt-test-www start &&
	wait_for 20 "test -n \"\$(answers W 8080)\" && test -n \"\$(answers W 8090)\"" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-web in Root... done, checked" "$TMP/out" &&
	grep -q "^Starting pwapt-test-www in Root... done, checked" "$TMP/out" &&
	both_answer && pid=$(web_pid) && test -n "$pid" && echo "$pid" >"$TMP/pid"
'

test_expect_success 'pwapt rollback --id of another merge is refused without stopping a service' '
	{ pwapt rollback --id 99 >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	! grep -q "^Stopping\|^Starting" "$TMP/out" &&
	test_equal "$(cat "$TMP/pid")" "$(web_pid)" && both_answer
'

test_expect_success 'pwapt rollback refused (a merged file changed since): no service stopped' '
	echo "# changed" >>"$R$WEB" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 3 $rc &&
	! grep -q "^Stopping\|^Starting" "$TMP/out" &&
	{ pwapt rollback --id 1 >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 3 $rc &&
	! grep -q "^Stopping\|^Starting" "$TMP/out" &&
	test_equal "$(cat "$TMP/pid")" "$(web_pid)" && both_answer
'

test_expect_success 'a stop that fails refuses the rollback before files move: named, the one stopped starts again' '
	sed -i "2i [ \"\$1\" = stop ] && exit 1" "$R$WEB" &&
	{ pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -q "^Stopping pwapt-test-www (started by merge 1)... done" "$TMP/out" &&
	grep -q "^Stopping pwapt-test-web (started by merge 1)... FAILED" "$TMP/out" &&
	grep -q "cannot roll back merge 1 into Root: pwapt-test-web (started by merge 1) did not stop: its stop exited 1" "$TMP/out" &&
	grep -q "^Starting pwapt-test-www again... done" "$TMP/out" &&
	! grep -q "^Rolled back" "$TMP/out" &&
	test -e "$R/usr/sbin/pwapt-test-webd" && test -e "$R/usr/sbin/pwapt-test-wwwd" &&
	wait_for 20 both_answer &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_expect_success 'pwapt rollback killed after its stops: pwapt recover names the services to start again' '
	sed -i "2d" "$R$WEB" &&
	{ PWAPT_CRASH_AT=rollback-stopped pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc &&
	grep -q "^Stopping pwapt-test-www (started by merge 1)... done" "$TMP/out" &&
	grep -q "^Stopping pwapt-test-web (started by merge 1)... done" "$TMP/out" &&
	wexec Root true && test -z "$(answers Root 8080)" && test -z "$(answers Root 8090)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -q "^pwapt rollback of merge 1 into Root stopped the services the merge started and did not see them run again" "$TMP/rec" &&
	grep -q "^start pwapt-test-web\$" "$TMP/rec" &&
	grep -q "^start pwapt-test-www\$" "$TMP/rec"
'

test_expect_success 'after that, a rollback refused once they started again leaves no note' '
	wexec Root /etc/init.d/pwapt-test-web start && wexec Root /etc/init.d/pwapt-test-www start &&
	wait_for 20 both_answer &&
	sed -i "2i [ \"\$1\" = stop ] && exit 1" "$R$WEB" &&
	{ pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	sed -i "2d" "$R$WEB" && test_equal 1 $rc &&
	grep -q "^Starting pwapt-test-www again... done" "$TMP/out" &&
	wait_for 20 both_answer &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_expect_success 'a refused rollback whose stopped service starts with exit 0 but does not run: FAILED, the note names it' '
	WWW=/etc/init.d/pwapt-test-www &&
	sed -i "2i [ \"\$1\" = stop ] && exit 1" "$R$WEB" &&
	sed -i "2i [ \"\$1\" = start ] && exit 0" "$R$WWW" &&
	{ pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	sed -i "2d" "$R$WEB" && sed -i "2d" "$R$WWW" && test_equal 1 $rc &&
	grep -q "^Stopping pwapt-test-www (started by merge 1)... done" "$TMP/out" &&
	grep -q "^Starting pwapt-test-www again... FAILED" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -q "^start pwapt-test-www\$" "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-www start && wait_for 20 both_answer &&
	clear_notes
'

test_expect_success 'pwapt rollback stops them in reverse start order before their files go; nothing left to recover' '
	{ pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 0 $rc &&
	test_equal "Stopping pwapt-test-www (started by merge 1)... done
Stopping pwapt-test-web (started by merge 1)... done
Rolled back merge 1 (W into Root)." "$(grep "^Stopping\|^Rolled" "$TMP/out")" &&
	! test -e "$R$WEB" && ! test -e "$R/usr/sbin/pwapt-test-wwwd" &&
	wexec Root true && test -z "$(answers Root 8080)" && test -z "$(answers Root 8090)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_expect_success 'a service Root already ran (no pid file: unseen) that a wmerge starts is not stopped by the rollback' '
	use_test_repo 1.0 &&
	wexec Root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc </dev/null >/dev/null 2>&1 &&
	wait_for 20 "wexec Root /etc/init.d/pwapt-test-svc status" &&
	wcreate V Root >/dev/null &&
	wexec V /etc/init.d/pwapt-test-svc start >/dev/null &&
	wexec V sh -c "echo \"# V\" >>/etc/default/pwapt-test-svc" &&
	wexec Root rm -f /run/pwapt-test-svc.pid &&
	{ wmerge V Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root" "$TMP/out" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Rolled back merge 2 " "$TMP/out" &&
	! grep -q "^Stopping" "$TMP/out" &&
	test -e "$R/etc/init.d/pwapt-test-svc"
'

# killed_merge WORLD: a world on Root running pwapt-test-web (new to Root),
# whose wmerge into Root is killed once merged, before its services.
killed_merge() {
	wcreate "$1" Root >/dev/null &&
	wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-web </dev/null >/dev/null 2>&1 &&
	wexec "$1" /etc/init.d/pwapt-test-web start &&
	wait_for 20 "test -n \"\$(answers $1 8080)\"" &&
	{ PWAPT_CRASH_AT=svcmove-merged wmerge "$1" Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^start pwapt-test-web\$" "$TMP/rec"
}

test_expect_success 'pwapt rollback of a wmerge killed among its services clears the note it left' '
	killed_merge K &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Rolled back merge 3 (K into Root)" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_expect_success 'so does pwapt rollback --no-restart' '
	killed_merge K2 &&
	{ pwapt rollback --no-restart >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Rolled back merge 4 (K2 into Root)" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_expect_success 'pwapt recover, the record of merges unreadable: cannot tell whether the merge was rolled back, and why' '
	killed_merge K3 &&
	J=$PWAPT_STATE/merges/Root/journal && cp "$J" "$TMP/journal" &&
	printf "x\\000y\\n" >"$J" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	cp "$TMP/journal" "$J" &&
	grep -q "^services of Root were not (re)started or checked after merge 5; whether it was rolled back cannot be told (the record of the last merge into .Root. is damaged): see to them:\$" "$TMP/rec" &&
	! grep -q "was rolled back:" "$TMP/rec" &&
	pwapt rollback >/dev/null 2>&1 &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "nothing to recover" "$TMP/rec"
'

test_expect_success 'wmerge whose check fails and whose old service does not come back keeps the note naming it' '
	use_test_repo 1.1 && wcreate U Root >/dev/null &&
	wexec U env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc </dev/null >/dev/null 2>&1 &&
	wexec U /etc/init.d/pwapt-test-svc restart >/dev/null &&
	wait_for 20 "test 1.1 = \"\$(wexec U cat /run/pwapt-test-svc.version 2>/dev/null)\"" &&
	wexec Root /etc/init.d/pwapt-test-svc restart >/dev/null &&
	wait_for 20 "wexec Root /etc/init.d/pwapt-test-svc status" &&
	echo FAIL_VERSION=1.0 >"$R/etc/default/pwapt-test-svc" &&
	echo "check.pwapt-test-svc = false" >"$PWAPT_CONFIG" &&
	{ wmerge U Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$PWAPT_CONFIG" "$R/etc/default/pwapt-test-svc" &&
	test_equal 1 $rc &&
	grep -q "^Restarting pwapt-test-svc in Root on the old files... FAILED" "$TMP/out" &&
	grep -q "^wmerge: 1 service of Root did not come back on the old files (pwapt recover names it)" "$TMP/out" &&
	grep -q "^wmerge: merge [0-9]* of U into Root was rolled back" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -q "^a wmerge into Root left services down: merge [0-9]* was rolled back after a failed check (.*), and these did not come back on the old files; see to them:\$" "$TMP/rec" &&
	grep -q "^restart pwapt-test-svc\$" "$TMP/rec"
'

test_expect_success 'pwapt rollback whose note of restarted services cannot be read: refused, and says why' '
	wexec Root /etc/init.d/pwapt-test-svc restart >/dev/null &&
	wait_for 20 "wexec Root /etc/init.d/pwapt-test-svc status" && clear_notes &&
	wcreate U2 Root >/dev/null &&
	wexec U2 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc </dev/null >/dev/null 2>&1 &&
	wexec U2 /etc/init.d/pwapt-test-svc restart >/dev/null &&
	{ wmerge U2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Restarting pwapt-test-svc in Root... done, checked" "$TMP/out" &&
	N=$(sed -n "s/^Merged U2 into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") &&
	note=$(find "$PWAPT_STATE" -path "*/Root/notes/restarted") && test -f "$note" &&
	mv "$note" "$TMP/restarted" && mkdir "$note" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -q "^pwapt rollback: cannot roll back merge $N into Root: cannot read Root.s note of the services merge $N restarted: .*(pwapt rollback --no-restart rolls back without stopping or restarting services)" "$TMP/out" &&
	! grep -q "^Rolled back" "$TMP/out" &&
	{ pwapt rollback --no-restart >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rmdir "$note" && test_equal 0 $rc &&
	grep -q "^Rolled back merge $N " "$TMP/out"
'

# Root's note of pending services that a rollback's own note replaces
# while it stops services (here a wmerge of C killed before it merged)
# is kept durably: a rollback killed among its stops loses it not.
test_expect_success 'pwapt rollback killed after its stops keeps an earlier note: recover prints both, the next rollback puts it back' '
	web_merged N &&
	wcreate C Root >/dev/null && wexec C sh -c "echo \"# C\" >>/etc/default/pwapt-test-web" &&
	wexec C /etc/init.d/pwapt-test-web start &&
	{ PWAPT_CRASH_AT=merge-locked wmerge C Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^a wmerge into Root was killed before it merged" "$TMP/rec" &&
	{ PWAPT_CRASH_AT=rollback-stopped pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc &&
	grep -q "^Stopping pwapt-test-web (started by merge $M)... done" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^pwapt rollback of merge $M into Root stopped the services" "$TMP/rec" &&
	grep -q "^a wmerge into Root was killed before it merged" "$TMP/rec" &&
	grep -qx "no interrupted merge to finish, but 2 things need you:" "$TMP/rec" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Rolled back merge $M " "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	! grep -q "^pwapt rollback of merge" "$TMP/rec" &&
	grep -q "^a wmerge into Root was killed before it merged" "$TMP/rec"
'

# R13 #6: pwapt rollback wrote its first note over whatever Root's note
# was then: another command's note written after the rollback held the
# notes aside was lost.
test_expect_success 'another wmerge notes its services while pwapt rollback holds the notes: its note survives the rollback' '
	web_merged N2 &&
	{ PWAPT_STOP_AT=rollback-held pwapt rollback >"$TMP/outR" 2>&1 & pid=$!; } && note_pid $pid &&
	wait_for 120 "test \"\$(ps -o stat= -p $pid | cut -c1)\" = T" &&
	wcreate D Root >/dev/null && wexec D sh -c "echo \"# D\" >>/etc/default/pwapt-test-web" &&
	wexec D /etc/init.d/pwapt-test-web start &&
	{ PWAPT_CRASH_AT=merge-locked wmerge D Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc && grep -qx "no merge yet from D" "$PWAPT_STATE/worlds/Root/notes/svcmove" &&
	kill -CONT $pid && { wait $pid; rc=$?; cat "$TMP/outR"; } && test_equal 0 $rc &&
	grep -q "^Rolled back merge $M " "$TMP/outR" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -qx "no merge yet from D" "$TMP/rec" && grep -qx "start pwapt-test-web in D again (stopped for the merge)" "$TMP/rec" &&
	test_lacks "^pwapt rollback of merge $M " cat "$TMP/rec" &&
	wdelete D && clear_notes
'

test_done
