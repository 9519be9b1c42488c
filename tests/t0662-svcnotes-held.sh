#!/bin/sh
# Notes of pending services set aside while a command works (pwapt(8),
# "pwapt recover"): a refused pwapt rollback of a merge whose own note
# names services to restart keeps that note (R15 #4), and drops it once a
# rollback succeeded; a push of the held notes is not failed by other
# commands changing them meanwhile (R13 #5); pwapt merge that cannot open
# the store ends the hold it began (no duplicate held copy), and says so
# when it cannot (R16 L2); a rollback killed inside its undo leaves its
# own note, not the merge's it set aside (R16 M1); the note of a command
# still at work is never dropped (R16 LM1); a rollback that cannot write
# its note ends its hold (R16 L1); a merge is taken for rolled back only
# when its roll-back noted so (R17 M4), also one killed between that note
# and its journal's removal.  On the Debian test tree with the
# tests' pwapt-test-svc.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

note() { echo "$PWAPT_STATE/worlds/Root/notes/svcmove"; }
held() { echo "$PWAPT_STATE/worlds/Root/notes/svcmove-held"; }
clear_notes() { pwapt recover --done >/dev/null; }
# Whether process $1 is stopped (SIGSTOP).
stopped() { test "$(ps -o stat= -p "$1" | cut -c1)" = T; }
# Whether process $1 is gone (or a zombie, not waited for yet).
gone() { case $(ps -o stat= -p "$1" | cut -c1) in Z | "") true ;; *) false ;; esac; }
# The newest transaction's name.
last_txn() { pwapt list | awk 'NR > 1 { n = $1 } END { print n }'; }
# World $1 installs pwapt-test-svc 1.1 and is merged into Root by a wmerge
# killed among its services (its note held by nothing yet): N, its merge.
merge_killed_among_services() {
	wcreate "$1" Root &&
	wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	{ PWAPT_CRASH_AT=svcmove-merged wmerge "$1" Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	N=$(sed -n "s/^merge \([0-9]*\) from $1\$/\1/p" "$(note)") && test -n "$N"
}

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

# R15 #4: the rollback's own note replaced the merge's (held with "own"
# skipped), and a refusal put back the held notes' top: the merge's note,
# naming pwapt-test-svc to restart on the merged files, was gone.
test_expect_success 'pwapt rollback refused after its note (Root changed since): the merge.s own note is kept' '
	use_test_repo 1.1 && merge_killed_among_services X &&
	grep -qx "restart pwapt-test-svc" "$(note)" && cp "$(note)" "$TMP/M" &&
	{ PWAPT_STOP_AT=rollback-stopped pwapt rollback >"$TMP/outR" 2>&1 & pid=$!; } && note_pid $pid &&
	wait_for 120 "stopped $pid" &&
	grep -q "^rollback of merge $N " "$(note)" &&
	echo "# changed since" >>"$R/usr/sbin/pwapt-test-svcd" &&
	kill -CONT $pid && { wait $pid; rc=$?; cat "$TMP/outR"; } && test_equal 3 $rc &&
	test_lacks "^Rolled back" cat "$TMP/outR" &&
	cmp "$TMP/M" "$(note)" && test ! -s "$(held)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^services of Root were not (re)started or checked after merge $N " "$TMP/rec" &&
	grep -qx "restart pwapt-test-svc" "$TMP/rec" && echo "$N" >"$TMP/N"
'
N=$(cat "$TMP/N" 2>/dev/null)

# Once the rollback went through, the merge's note it held is done
# with, also when a service does not come back on the old files (the
# rollback's own note names it): not said as the merge's.
test_expect_success 'pwapt rollback --force of it, its service not back: the rollback.s note alone is left' '
	echo FAIL_VERSION=1.0 >"$R/etc/default/pwapt-test-svc" &&
	{ pwapt rollback --force >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$R/etc/default/pwapt-test-svc" && test_equal 1 $rc &&
	grep -q "^Rolled back merge $N (X into Root)" "$TMP/out" &&
	grep -q "^rollback of merge $N " "$(note)" &&
	test_lacks "^merge $N from X" cat "$(held)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -q "^pwapt rollback of merge $N into Root" "$TMP/rec" &&
	test_lacks "^services of Root were not \(re\)started or checked after merge $N" cat "$TMP/rec" &&
	grep -qx "no interrupted merge to finish, but 1 thing needs you:" "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-svc start >/dev/null 2>&1 &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && clear_notes
'

# R13 #5: held_push read the notes, then swapped them under a second
# hold of the lock, and gave up after three other commands' changes of
# the held notes in between (their progress, not a conflict): the wmerge
# was refused.  Here another command (a shell under the store's lock)
# puts a note on the held notes each time the push stops.
test_expect_success 'wmerge keeps a note aside while other commands change the held notes: not refused, none lost' '
	wcreate W Root && wexec W sh -c "mkdir -p /srv && echo w >/srv/w" &&
	printf "merge 99 from Q\nrestart nosuch\n" >"$(note)" && rm -f "$(held)" &&
	{ PWAPT_STOP_AT=held-push wmerge W Root >"$TMP/outW" 2>&1 & pid=$!; } && note_pid $pid &&
	i=0 && while [ $i -lt 4 ]; do
		wait_for 120 "stopped $pid || gone $pid" && stopped $pid || break
		i=$((i + 1))
		flock "$PWAPT_STATE/lock" sh -c "H=\$1; { printf \"no merge yet from Q%s\\nstop q in Q%s\\n\" $i $i; if [ -s \$H ]; then echo; cat \$H; fi; } >\$H.new && mv \$H.new \$H && : >$TMP/mod$i" - "$(held)" &
		mpid=$!
		wait_for 1 "test -e $TMP/mod$i" || :
		kill -CONT $pid && wait $mpid || return 1
	done &&
	{ wait $pid; rc=$?; cat "$TMP/outW"; } && test_equal 0 $rc &&
	grep -q "^Merged W into Root" "$TMP/outW" &&
	cat "$(note)" "$(held)" >"$TMP/notes" && cat "$TMP/notes" &&
	grep -qx "merge 99 from Q" "$TMP/notes" && grep -qx "no merge yet from Q1" "$TMP/notes" &&
	rm -f "$R/srv/w" && clear_notes
'

# A begun hold not ended when pwapt merge could not open the store: the
# note stayed on the held notes too, and the next command held it again.
test_expect_success 'pwapt merge that cannot open the store puts the note it kept aside back' '
	pwapt install --test --keep -y pwapt-test-svc=1.1 </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	T=$(last_txn) && test -n "$T" &&
	printf "merge 99 from Q\nrestart nosuch\n" >"$(note)" && rm -f "$(held)" && cp "$(note)" "$TMP/N99" &&
	{ PWAPT_FAIL_AT=txn-open pwapt merge "$T" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc && grep -q "cannot open the store (an injected failure)" "$TMP/out" &&
	cmp "$TMP/N99" "$(note)" && test ! -s "$(held)" &&
	pwapt discard "$T" >/dev/null && clear_notes
'

# R16 M1: a pwapt rollback killed inside its undo is finished by the next
# command's store open; the merge's own note, which the rollback set
# aside, stayed held for good, and pwapt recover said services were not
# restarted after a merge "which was rolled back".  The rollback's own
# note is the right report: its restarts on the old files did not run.
# The next command is pwapt recover, then a wmerge (its hold drops it,
# before its own merge makes merge N no longer the last).
# rollback-noted: killed once the undo is noted as done (STATE/rolled-back),
# before its journal went: recovery finishes it, the merge rolled back.
for point in rollback-op:0 rollback-started rollback-noted; do
	test_expect_success "pwapt rollback killed at $point: the merge's note it set aside goes, its own stays" '
	merge_killed_among_services X2 &&
	{ PWAPT_CRASH_AT=$point pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && grep -q "^merge $N from X2" "$(held)" &&
	if [ $point = rollback-started ]; then
		wcreate Y2 Root && wexec Y2 sh -c "mkdir -p /srv && echo y >/srv/y2" &&
		{ wmerge Y2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
		rm -f "$R/srv/y2"
	fi &&
	for i in 1 2; do
		{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
		grep -q "^pwapt rollback of merge $N into Root was killed" "$TMP/rec" &&
		grep -qx "restart pwapt-test-svc in Root" "$TMP/rec" &&
		test_lacks "^services of Root were not" cat "$TMP/rec" || return 1
	done &&
	grep -q "^rollback of merge $N " "$(note)" && test_lacks "^merge $N from X2" cat "$(held)" &&
	wexec Root /etc/init.d/pwapt-test-svc restart >/dev/null 2>&1 &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && clear_notes
'
done

# R17 M4: "rolled back" was told by the merge kept: none kept, or an
# older one, meant every newer merge was undone.  Only the last merge is
# kept: merge N (a rollback of it killed before its undo), then merge M
# rolled back, keeps none, and merge N, never undone, counted as rolled
# back: its note was dropped and pwapt recover said the rollback of N
# "undid the merge".  libworld notes each merge it rolled back.
test_expect_success 'a rollback of merge N killed before its undo, merge M then rolled back: N.s note stays' '
	merge_killed_among_services X5 &&
	{ PWAPT_CRASH_AT=rollback-stopped pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && grep -q "^rollback of merge $N " "$(note)" &&
	grep -q "^merge $N from X5" "$(held)" &&
	wcreate Y5 Root && wexec Y5 sh -c "mkdir -p /srv && echo y >/srv/y5" &&
	{ wmerge Y5 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	{ pwapt rollback --no-restart >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 0 $rc && test ! -e "$R/srv/y5" &&
	test_equal 1.1 "$(wexec Root dpkg-query -W -f="\${Version}" pwapt-test-svc)" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^merge $N from X5" "$(held)" &&
	test_lacks "^pwapt rollback of merge $N into Root was killed after it undid" cat "$TMP/rec" &&
	grep -qx "merge $N from X5" "$TMP/rec" && grep -qx "restart pwapt-test-svc" "$TMP/rec" &&
	{ pwapt rollback --id $N >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test "$rc" -ne 0 &&
	grep -q "no merge into .Root. is kept (it is not noted as rolled back: a later merge came after it" "$TMP/out" &&
	install_test_packages --allow-downgrades pwapt-test-svc=1.0 >/dev/null &&
	wexec Root /etc/init.d/pwapt-test-svc restart >/dev/null 2>&1 &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && clear_notes
'

# A roll-back whose undo is done but cannot be noted so fails, and leaves
# its journal: the next command finishes it and notes it.
test_expect_success 'pwapt rollback that cannot note its undo: exit 1, the journal stays, recover notes it' '
	wcreate X6 Root && wexec X6 sh -c "mkdir -p /srv && echo x >/srv/x6" &&
	{ wmerge X6 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	N=$(sed -n "s/^Merged X6 into Root as merge \([0-9]*\).*/\1/p" "$TMP/out") && test -n "$N" &&
	{ PWAPT_FAIL_AT=rollback-note-undone pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc && grep -q "merge $N into .Root. is rolled back, but that cannot be noted" "$TMP/out" &&
	test -d "$PWAPT_STATE/merge" && test ! -e "$R/srv/x6" &&
	! grep -qx "$N" "$PWAPT_STATE/rolled-back/Root" 2>/dev/null &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	test ! -e "$PWAPT_STATE/merge" && grep -qx "$N" "$PWAPT_STATE/rolled-back/Root" &&
	clear_notes
'

# R16 LM1: the rollback's end (service_pending_restore) dropped the held
# note of the merge it undid whatever its writer, here a wmerge of that
# merge still at work: killed then, nothing named its services.
test_expect_success 'pwapt rollback while the merge.s wmerge still works: its note stays' '
	wcreate X3 Root &&
	wexec X3 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	{ PWAPT_STOP_AT=svcmove-merged wmerge X3 Root >"$TMP/outW" 2>&1 & pid=$!; } && note_pid $pid &&
	wait_for 120 "stopped $pid || gone $pid" && stopped $pid &&
	N=$(sed -n "s/^merge \([0-9]*\) from X3\$/\1/p" "$(note)") && test -n "$N" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 0 $rc && grep -q "^Rolled back merge $N (X3 into Root)" "$TMP/out" &&
	cat "$(note)" "$(held)" >"$TMP/notes" && cat "$TMP/notes" &&
	grep -q "^by pid $pid " "$TMP/notes" &&
	kill -9 $pid && { wait $pid; true; } &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -qx "merge $N from X3" "$TMP/rec" && grep -qx "restart pwapt-test-svc" "$TMP/rec" &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && clear_notes
'

# R16 L2: a store that cannot be opened at all (here a damaged merge
# journal, from the end of pwapt merge's hold on) cannot take back the
# note kept aside either: it stays held too, and that was not said.
test_expect_success 'pwapt merge whose store cannot be opened at all says the note kept aside stays held' '
	pwapt install --test --keep -y pwapt-test-svc=1.1 </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	T=$(last_txn) && test -n "$T" &&
	printf "merge 99 from Q\nrestart nosuch\n" >"$(note)" && rm -f "$(held)" &&
	{ PWAPT_STOP_AT=held-push pwapt merge "$T" >"$TMP/out" 2>&1 & pid=$!; } && note_pid $pid &&
	wait_for 120 "stopped $pid || gone $pid" && stopped $pid &&
	mkdir "$PWAPT_STATE/merge" && echo damaged >"$PWAPT_STATE/merge/journal" &&
	kill -CONT $pid && { wait $pid; rc=$?; rm -rf "$PWAPT_STATE/merge"; cat "$TMP/out"; } &&
	test_equal 1 $rc &&
	grep -q "^pwapt merge: warning: Root.s note of pending services kept aside for this merge stays kept aside too" "$TMP/out" &&
	grep -qx "merge 99 from Q" "$(held)" &&
	: "why the store cannot be opened, said once (each step that opens it again said it)" &&
	test_equal 1 "$(grep -c "^pwapt merge: .*journal" "$TMP/out")" &&
	pwapt discard "$T" >/dev/null && clear_notes
'

# R16 L1: pwapt rollback that could not write its note left the note it
# had set aside on the held notes too (a duplicate held again and again).
test_expect_success 'pwapt rollback that cannot write its note puts the one it set aside back' '
	wcreate X4 Root &&
	wexec X4 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-svc=1.1 </dev/null >/dev/null 2>&1 &&
	{ wmerge X4 Root >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }; } &&
	printf "merge 99 from Q\nrestart nosuch\n" >"$(note)" && rm -f "$(held)" && cp "$(note)" "$TMP/N99" &&
	{ PWAPT_FAIL_AT=rollback-note pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 1 $rc && grep -q "cannot write Root.s note of the services it stops" "$TMP/out" &&
	cmp "$TMP/N99" "$(note)" && test ! -s "$(held)" && clear_notes
'

test_done
