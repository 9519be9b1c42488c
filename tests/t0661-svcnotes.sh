#!/bin/sh
# Root's notes of pending services (pwapt(8), "pwapt recover"; wmerge(8)):
# a service a command stopped, or did not bring back, stays named in a
# note until it runs again, whatever the way it failed: pwapt merge's
# roll-back whose old service does not come back, a refused merge whose
# service stopped in SRC does not start again, a refused roll-back after a
# failed check (the note is emptied once each service runs, else it says
# why), a note kept aside (svcmove-held) that cannot be read (refused,
# never overwritten), and a wmerge after a pwapt rollback that left a
# service down (its note kept, not overwritten).  On the Debian test tree
# with the tests' pwapt-test-svc.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
DEF=$R/etc/default/pwapt-test-svc

# The newest transaction's name.
last_txn() { pwapt list | awk 'NR > 1 { n = $1 } END { print n }'; }
# Root's notes of pending services, and the one kept aside.
note() { echo "$PWAPT_STATE/worlds/Root/notes/svcmove"; }
held() { echo "$PWAPT_STATE/worlds/Root/notes/svcmove-held"; }
# Forgets Root's notes (pwapt recover --done), once a test has looked
# at them (what an administrator who saw to the services would do).
clear_notes() { pwapt recover --done >/dev/null; }
svc_up() { wexec Root /etc/init.d/pwapt-test-svc start >/dev/null 2>&1; wait_for 20 "test -n \"\$(svcd_procs)\""; }
# A service "cleaner" in world $1, running; with "once", its start fails
# after its first stop.
cleaner() {
	printf '#!/bin/sh\ncase $1 in start) [ "%s" = once ] && [ -e /run/cleaner.stopped ] && exit 1; setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! >/run/cleaner.pid ;;\nstop) kill $(cat /run/cleaner.pid); rm -f /run/cleaner.pid; : >/run/cleaner.stopped ;;\nrestart) $0 stop; $0 start ;;\nstatus) kill -0 $(cat /run/cleaner.pid) 2>/dev/null ;;\nesac\n' "$2" >"$TMP/cleaner" &&
	wexec "$1" sh -c "rm -f /run/cleaner.stopped && cat >/etc/init.d/cleaner && chmod 755 /etc/init.d/cleaner && /etc/init.d/cleaner start" <"$TMP/cleaner"
}

# A service NAME ($2) in world $1, running; with "dies", its start after
# a stop exits 0 and starts nothing.
svc_in() {
	printf '#!/bin/sh\ncase $1 in start) [ "%s" = dies ] && [ -e /run/%s.stopped ] && exit 0; setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! >/run/%s.pid ;;\nstop) kill $(cat /run/%s.pid); rm -f /run/%s.pid; : >/run/%s.stopped ;;\nrestart) $0 stop; $0 start ;;\nstatus) kill -0 $(cat /run/%s.pid) 2>/dev/null ;;\nesac\n' "$3" "$2" "$2" "$2" "$2" "$2" "$2" >"$TMP/$2" &&
	wexec "$1" sh -c "rm -f /run/$2.stopped && cat >/etc/init.d/$2 && chmod 755 /etc/init.d/$2 && /etc/init.d/$2 start" <"$TMP/$2"
}

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

# R10 #1: a note naming a service to restart was taken for done because
# the service runs; it runs on the files it was to leave.
test_expect_success 'pwapt rollback killed before its restarts: a later wmerge keeps its note' '
	use_test_repo 1.1 && wcreate X1 Root &&
	wexec X1 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	{ wmerge X1 Root >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }; } &&
	{ PWAPT_CRASH_AT=rollback-restarting pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && test -n "$(svcd_procs)" &&
	grep -qx "restart pwapt-test-svc on the old files" "$(note)" &&
	wcreate Z1 Root && wexec Z1 sh -c "mkdir -p /srv && echo z >/srv/z1" &&
	{ wmerge Z1 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "restart pwapt-test-svc on the old files" "$(note)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	test_lacks "nothing to recover" cat "$TMP/rec" &&
	grep -q "restart pwapt-test-svc" "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-svc restart >/dev/null 2>&1 &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && clear_notes &&
	rm -f "$R/srv/z1" && { wdelete X1 2>/dev/null; wdelete Z1 2>/dev/null; true; }
'

# Issue 1: service_restart_old's failures were not seen; the note was
# emptied although the service is down.
test_expect_success 'pwapt merge rolled back, its service not back on the old files: exit 1, the note names it' '
	use_test_repo 1.1 &&
	pwapt install --test --keep -y pwapt-test-svc=1.1 </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	T=$(last_txn) && test -n "$T" &&
	echo FAIL_VERSION=1.0 >"$DEF" && echo "check.pwapt-test-svc = false" >"$PWAPT_CONFIG" &&
	{ pwapt merge "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$PWAPT_CONFIG" "$DEF" && test_equal 1 $rc &&
	grep -q "^pwapt merge: the merge of $T was rolled back" "$TMP/out" &&
	grep -qx "Restarting pwapt-test-svc in Root on the old files... FAILED" "$TMP/out" &&
	grep -q "^pwapt merge: 1 service of Root did not come back on the old files (pwapt recover names it)" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	test_lacks "nothing to recover" cat "$TMP/rec" &&
	grep -q "^pwapt merge of transaction $T into Root left services down: the merge of $T into Root was rolled back: .*; these did not come back on the old files; see to them:\$" "$TMP/rec" &&
	grep -qx "restart pwapt-test-svc" "$TMP/rec" &&
	svc_up && clear_notes
'

# Issue 1: service_start_again_in_src's failures: a merge refused for a
# conflict, whose service stopped in SRC does not start again.
test_expect_success 'a refused merge whose service stopped in SRC does not start again: the note names it, and why' '
	wcreate W Root && cleaner W once &&
	wexec W sh -c "mkdir -p /srv && echo world >/srv/conflict" &&
	mkdir -p "$R/srv" && echo root >"$R/srv/conflict" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 3 $rc &&
	grep -qx "Starting cleaner in W again... FAILED" "$TMP/out" &&
	grep -q "^wmerge: 1 service stopped for the merge did not start again (pwapt recover names it)" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^a wmerge into Root left services down: nothing was merged, and these services it stopped did not start again; see to them:" "$TMP/rec" &&
	grep -qx "start cleaner in W again (stopped for the merge)" "$TMP/rec" &&
	wdelete W && rm "$R/srv/conflict" && clear_notes
'

# Issue 2: a note kept aside that cannot be read was taken for none, and
# overwritten by the next pwapt rollback.
test_expect_success 'svcmove-held unreadable: pwapt rollback refuses, overwrites nothing; pwapt recover says so' '
	wcreate X Root && wexec X env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	{ wmerge X Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	N=$(sed -n "s/^Merged X into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") && test -n "$N" && echo "$N" >"$TMP/N" &&
	wcreate E Root && cleaner E &&
	{ PWAPT_CRASH_AT=merge-locked wmerge E Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test "$rc" -ge 128 &&
	{ PWAPT_CRASH_AT=rollback-stopped pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test "$rc" -ge 128 &&
	grep -q "^no merge yet from E" "$(held)" && cp "$(held)" "$TMP/held" &&
	cp "$(note)" "$TMP/note" &&
	rm "$(held)" && ln -s /nonexistent "$(held)" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 1 $rc &&
	grep -q "^pwapt rollback: cannot roll back merge $N into Root: cannot read Root.s note of pending services: .*svcmove-held" "$TMP/out" &&
	test_lacks "^Rolled back" cat "$TMP/out" &&
	test -L "$(held)" && cmp "$TMP/note" "$(note)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^the note of pending services kept aside in Root cannot be read" "$TMP/rec" &&
	rm "$(held)" && cp "$TMP/held" "$(held)"
'
N=$(cat "$TMP/N" 2>/dev/null)

# Issue 4: a wmerge after a pwapt rollback that left a service down wrote
# its own note over the rollback's; R10 #3: the pwapt rollback of that
# wmerge took the note of the rollback of another merge for its own.
test_expect_success 'a wmerge after a pwapt rollback that left a service down keeps its note' '
	clear_notes && wdelete E && echo FAIL_VERSION=1.0 >"$DEF" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 1 $rc &&
	grep -q "^Rolled back merge $N " "$TMP/out" && grep -q "(pwapt recover names them)" "$TMP/out" &&
	grep -q "^rollback of merge $N " "$(note)" &&
	wcreate Y Root && cleaner Y && wexec Y sh -c "mkdir -p /srv && echo y >/srv/y" &&
	{ wmerge Y Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting cleaner in Root... done, checked" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^pwapt rollback of merge $N into Root" "$TMP/rec" &&
	grep -qx "restart pwapt-test-svc in Root" "$TMP/rec" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^rollback of merge $N " "$(note)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^pwapt rollback of merge $N into Root" "$TMP/rec" &&
	rm -f "$DEF" && svc_up && clear_notes
'

# Issue 3: a roll-back refused after a failed check (here the check
# changes a merged file): the note is emptied once each service runs,
# else it stays and says why.
test_expect_success 'a refused roll-back after a failed check, the service running: no note left' '
	wcreate U Root && wexec U env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	echo "check.pwapt-test-svc = touch /usr/sbin/pwapt-test-svcd; false" >"$PWAPT_CONFIG" &&
	{ wmerge U Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$PWAPT_CONFIG" && test_equal 1 $rc &&
	grep -q "^wmerge: merge [0-9]* of U into Root is kept" "$TMP/out" &&
	grep -qx "Starting pwapt-test-svc in Root... done" "$TMP/out" &&
	test -n "$(svcd_procs)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -qx "nothing to recover" "$TMP/rec"
'

test_expect_success 'a refused roll-back after a failed check, the service down: the note names it and says why' '
	wcreate U2 Root && wexec U2 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	printf "%s\n" FAIL_VERSION=1.1 "case \"\$1\" in restart) echo \"# restarted\" >>/etc/default/pwapt-test-svc ;; esac" >"$TMP/def" &&
	wexec U2 sh -c "cat >/etc/default/pwapt-test-svc" <"$TMP/def" &&
	{ wmerge U2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 1 $rc &&
	grep -q "^wmerge: merge [0-9]* of U2 into Root is kept" "$TMP/out" &&
	grep -qx "Starting pwapt-test-svc in Root... FAILED" "$TMP/out" &&
	grep -q "^wmerge: 1 service of Root does not run on the merged files (pwapt recover names it)" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^a wmerge into Root left services down: its roll-back after a failed check (.*) was refused: .*; the merge is kept, and these do not run on the merged files; see to them:" "$TMP/rec" &&
	grep -qx "restart pwapt-test-svc" "$TMP/rec" &&
	rm -f "$DEF" && svc_up && clear_notes
'

# R10 #2: a note naming a service stopped in a world since deleted was
# dropped when the last merge was not of that world, though an earlier
# one was (a wmerge killed after its merge); and its status was asked
# in the world that is gone.
test_expect_success 'wmerge killed after its merge, its world gone: a later wmerge with a service keeps its note' '
	wcreate W2 Root && svc_in W2 wsvc && wexec W2 sh -c "mkdir -p /srv && echo w >/srv/w2" &&
	{ PWAPT_CRASH_AT=merge-done wmerge W2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && pwapt recover >/dev/null 2>&1 &&
	test ! -d "$PWAPT_STATE/worlds/W2" && grep -qx "stop wsvc in W2" "$(note)" &&
	wcreate Z2 Root && svc_in Z2 zsvc && wexec Z2 sh -c "mkdir -p /srv && echo z >/srv/z2" &&
	{ wmerge Z2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_lacks "no world named" cat "$TMP/out" &&
	grep -qx "stop wsvc in W2" "$(note)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	test_lacks "nothing to recover" cat "$TMP/rec" && grep -q "wsvc" "$TMP/rec" &&
	clear_notes
'

# R10 #6: a note of pending services that cannot be read was taken for
# none: "nothing to recover".
test_expect_success 'svcmove unreadable: pwapt recover says so, not "nothing to recover"' '
	clear_notes && printf "no merge yet from A\nstop x in A\n" >"$TMP/n" &&
	rm "$(note)" && ln -s "$TMP/n" "$(note)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } && rm "$(note)" &&
	test_lacks "nothing to recover" cat "$TMP/rec" &&
	grep -q "^the note of pending services of Root cannot be read" "$TMP/rec"
'

# R10 #5: a start in SRC again that exits 0 but starts nothing was taken
# for done, and the note emptied.
test_expect_success 'a refused merge whose service stopped in SRC starts and dies: the note names it' '
	wcreate W5 Root && svc_in W5 d5 dies &&
	wexec W5 sh -c "mkdir -p /srv && echo world >/srv/conflict" &&
	mkdir -p "$R/srv" && echo root >"$R/srv/conflict" &&
	{ wmerge W5 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 3 $rc &&
	grep -qx "Starting d5 in W5 again... FAILED" "$TMP/out" &&
	grep -qx "stop d5 in W5" "$(note)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	test_lacks "nothing to recover" cat "$TMP/rec" &&
	wdelete W5 && rm "$R/srv/conflict" && clear_notes
'

# R10 #4: a wmerge that ended emptied the note another command wrote
# while it was stopped (each note step took the store's lock anew, and
# wrote over whatever it found).
test_expect_success 'a wmerge stopped among its services, a refused wmerge beside it: its end keeps the other note' '
	wcreate A4 Root && svc_in A4 asvc && wexec A4 sh -c "mkdir -p /srv && echo a >/srv/a4" &&
	wcreate B4 Root && svc_in B4 bsvc dies && wexec B4 sh -c "mkdir -p /srv && echo world >/srv/conflict" &&
	mkdir -p "$R/srv" && echo root >"$R/srv/conflict" &&
	{ PWAPT_STOP_AT=svcmove-merged wmerge A4 Root >"$TMP/outA" 2>&1 & pid=$!; } &&
	wait_for 120 "test \"\$(ps -o stat= -p $pid | cut -c1)\" = T" &&
	{ wmerge B4 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 3 $rc &&
	grep -q "^failed: " "$(note)" && cp "$(note)" "$TMP/noteB" &&
	kill -CONT $pid && { wait $pid; rc=$?; cat "$TMP/outA"; } && test_equal 0 $rc &&
	cmp "$TMP/noteB" "$(note)" && test_lacks "^merge [0-9]* from A4" cat "$(held)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } && test_lacks "nothing to recover" cat "$TMP/rec" &&
	grep -q bsvc "$TMP/rec" && wdelete B4 && rm "$R/srv/conflict" && clear_notes
'

# R11 #2: a note written before the stops it names was taken for done by
# a command that began meanwhile (the service still ran) and dropped; the
# first, killed after its stops, left the service down with no note.
test_expect_success 'a wmerge stopped before its stops, another wmerge meanwhile, then killed: the note names the service' '
	wcreate A7 Root && svc_in A7 a7 && wexec A7 sh -c "mkdir -p /srv && echo a >/srv/a7" &&
	{ PWAPT_STOP_AT=svcmove-noted PWAPT_CRASH_AT=merge-planned wmerge A7 Root >"$TMP/outA" 2>&1 & pid=$!; } &&
	wait_for 120 "test \"\$(ps -o stat= -p $pid | cut -c1)\" = T" &&
	grep -qx "stop a7 in A7" "$(note)" &&
	{ pwapt recover --done >"$TMP/done" 2>&1; rc=$?; cat "$TMP/done"; } && test_equal 0 $rc &&
	grep -qx "kept the note of pending services of a pwapt command still at work in Root" "$TMP/done" &&
	grep -qx "stop a7 in A7" "$(note)" &&
	wcreate Z7 Root && wexec Z7 sh -c "mkdir -p /srv && echo z >/srv/z7" &&
	{ wmerge Z7 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "stop a7 in A7" "$(note)" &&
	kill -CONT $pid && { wait $pid; rc=$?; cat "$TMP/outA"; } && test "$rc" -ge 128 &&
	grep -q "^Stopping a7 in A7... done" "$TMP/outA" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -qx "start a7 in A7 again (stopped for the merge)" "$TMP/rec" &&
	wdelete A7 && rm -f "$R/srv/z7" && clear_notes
'

# R13 #1: two commands that held the same note aside (a wmerge with no
# service, stopped after it began; a wmerge with one meanwhile) each put
# it back; the note left by neither was lost.
test_expect_success 'two wmerges hold the same earlier note aside: it survives both' '
	clear_notes && mkdir -p "$(dirname "$(note)")" && printf "merge 99999 from gone\nrestart aaa\n" >"$(note)" &&
	wcreate M8 Root && wexec M8 sh -c "mkdir -p /srv && echo m >/srv/m8" &&
	{ PWAPT_STOP_AT=svcmove-noted wmerge M8 Root >"$TMP/outM" 2>&1 & pid=$!; } &&
	wait_for 120 "test \"\$(ps -o stat= -p $pid | cut -c1)\" = T" &&
	wcreate Z8 Root && svc_in Z8 z8 && wexec Z8 sh -c "mkdir -p /srv && echo z >/srv/z8" &&
	{ wmerge Z8 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	kill -CONT $pid && { wait $pid; rc=$?; cat "$TMP/outM"; } && test_equal 0 $rc &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	test_equal 1 "$(grep -cx "restart aaa" "$TMP/rec")" &&
	wexec Root /etc/init.d/z8 stop && rm -f "$R/srv/m8" "$R/srv/z8" && clear_notes
'

# Once the administrator has seen to the services a note names, pwapt
# recover --done forgets the notes (a "restart" line is never taken for
# done by pwapt itself).
test_expect_success 'pwapt recover --done forgets the notes, also one kept aside and one unreadable' '
	wcreate B6 Root && svc_in B6 b6 dies && wexec B6 sh -c "mkdir -p /srv && echo world >/srv/conflict" &&
	mkdir -p "$R/srv" && echo root >"$R/srv/conflict" &&
	{ wmerge B6 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 3 $rc &&
	grep -qx "stop b6 in B6" "$(note)" && printf "merge 1 from X\nrestart gone\n" >"$(held)" &&
	{ pwapt recover --done >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "b6 in B6" "$TMP/rec" && grep -q "restart gone" "$TMP/rec" &&
	grep -qx "forgot 2 notes of pending services" "$TMP/rec" &&
	test_no_output cat "$(note)" "$(held)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "nothing to recover" "$TMP/rec" &&
	rm "$(held)" && mkdir "$(held)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } && grep -q "cannot be read" "$TMP/rec" &&
	rmdir "$(held)" && ln -s /nonexistent "$(held)" &&
	{ pwapt recover --done >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "forgot 1 note of pending services" "$TMP/rec" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } && grep -qx "nothing to recover" "$TMP/rec" &&
	wdelete B6 && rm "$R/srv/conflict"
'

# R12: pwapt recover said a note whose command still runs as if it was
# killed; and a writer named in another boot (its pid and start time
# taken since by a process of this boot) kept its note for good.
test_expect_success 'pwapt recover: a note whose writer runs says so; one of another boot is a killed command s' '
	clear_notes && mkdir -p "$(dirname "$(note)")" &&
	{ sleep 1000 & p=$!; } && note_pid $p && t=$(cut -d" " -f22 /proc/$p/stat) &&
	b=$(cat /proc/sys/kernel/random/boot_id) &&
	printf "merge 99999 from gone\nrestart aaa\nby pid %s started %s boot %s\n" $p $t $b >"$(note)" &&
	{ pwapt recover --done >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^the pwapt command that wrote this note of services of Root still runs (pid $p)" "$TMP/rec" &&
	grep -qx "restart aaa" "$TMP/rec" && test_lacks "^by pid" cat "$TMP/rec" &&
	test_lacks "^forgot" cat "$TMP/rec" && grep -qx "restart aaa" "$(note)" &&
	printf "merge 99999 from gone\nrestart aaa\nby pid %s started %s boot 00000000-0000-0000-0000-000000000000\n" $p $t >"$(note)" &&
	{ pwapt recover --done >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	test_lacks "still runs" cat "$TMP/rec" &&
	grep -q "^services of Root were not (re)started or checked after merge 99999" "$TMP/rec" &&
	grep -qx "forgot 1 note of pending services" "$TMP/rec" && test_no_output cat "$(note)" &&
	{ kill $p; wait $p; true; }
'

test_done
