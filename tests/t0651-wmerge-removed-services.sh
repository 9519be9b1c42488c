#!/bin/sh
# wmerge of a world that removed (apt-get remove, not purge) or purged the
# package of a service running in Root (wmerge(8), "Services"): the
# service stops in Root before any file moves, as the package's prerm
# would, and is neither restarted nor checked after the merge; a stop
# that fails refuses the merge; pwapt rollback starts it again, and so
# does the roll-back after another service's failed check.  An
# upgrade that trades the init script for a unit is no removal.  On the
# Debian test tree with the tests' pwapt-test-svc.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

in_w() { wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get "$2" -y -qq pwapt-test-svc </dev/null >/dev/null 2>&1; }
# Empties Root's notes of pending services once a test has seen to the
# services they name (as an administrator would): a note naming a
# service to restart, or stopped in a world since deleted, is never
# taken for done by pwapt itself.
clear_notes() { pwapt recover --done >/dev/null; }

test_expect_success 'set up: pwapt-test-svc 1.0 running in Root' '
	use_test_repo 1.0 && install_test_packages pwapt-test-svc >/dev/null &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

test_expect_success 'wmerge --plan of a world that removed the package: stop in Root, no restart' '
	wcreate W Root && in_w W remove &&
	{ wmerge --plan W Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "stop pwapt-test-svc in Root: its package is removed" "$TMP/plan" &&
	test_lacks "start pwapt-test-svc" cat "$TMP/plan" &&
	wmerge --plan --json W Root >"$TMP/plan.json" &&
	grep -q "\"stop\":\[{\"service\":\"pwapt-test-svc\",\"world\":\"Root\",\"why\":\"its package is removed\"" "$TMP/plan.json" &&
	grep -q "\"restart\":\[\]" "$TMP/plan.json"
'

test_expect_success 'a stop that fails refuses the merge before any file moves' '
	echo "case \"\$1\" in stop) exit 1 ;; esac" >"$R/etc/default/pwapt-test-svc" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$R/etc/default/pwapt-test-svc" &&
	test_equal 1 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... FAILED" "$TMP/out" &&
	grep -q "^wmerge: cannot merge .W. into .Root.: pwapt-test-svc does not stop in Root, and the merge removes it" "$TMP/out" &&
	test_lacks "^Merged" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -x "$R/usr/sbin/pwapt-test-svcd" &&
	test -n "$(svcd_procs)" && wlist | grep -q "^W "
'

test_expect_success 'wmerge: the service stops in Root first, is not restarted; dpkg says removed' '
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test "$(grep -n "^Stopping pwapt-test-svc" "$TMP/out" | cut -d: -f1)" -lt \
		"$(grep -n "^Merged W into Root" "$TMP/out" | cut -d: -f1)" &&
	test_lacks "Restarting pwapt-test-svc" cat "$TMP/out" &&
	test_lacks "Starting pwapt-test-svc" cat "$TMP/out" &&
	test_equal rc "$(status_of pwapt-test-svc)" && ! test -e "$R/usr/sbin/pwapt-test-svcd" &&
	test -e "$R/etc/init.d/pwapt-test-svc" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\""
'

test_expect_success 'pwapt rollback of that merge: the service runs again' '
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_lacks "Restarting pwapt-test-svc" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

# --no-restart leaves services to the administrator: the rollback says
# whom it left down (R11 #7: it said nothing).
test_expect_success 'pwapt rollback --no-restart of such a merge: says the removed service is left down' '
	wcreate W2 Root && in_w W2 remove &&
	{ wmerge W2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ pwapt rollback --no-restart >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Not started (--no-restart), down since the merge removed their package, back now: pwapt-test-svc." "$TMP/out" &&
	test_lacks "^Starting" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -z "$(svcd_procs)" &&
	wexec Root /etc/init.d/pwapt-test-svc start >/dev/null &&
	wait_for 20 "test -n \"\$(svcd_procs)\""
'

test_expect_success 'a purge in the world: stopped in Root as well' '
	wcreate P Root && in_w P purge &&
	{ wmerge --plan P Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "stop pwapt-test-svc in Root: its package is removed" "$TMP/plan" &&
	wdelete P
'

test_expect_success 'an init script traded for a unit (package installed) is restarted, not stopped' '
	wcreate U Root &&
	wexec U sh -c "rm /etc/init.d/pwapt-test-svc && mkdir -p /lib/systemd/system && printf \"[Service]\\nExecStart=/usr/sbin/pwapt-test-svcd\\n\" >/lib/systemd/system/pwapt-test-svc.service" &&
	{ wmerge --plan U Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	test_lacks "stop pwapt-test-svc" cat "$TMP/plan" &&
	grep -q "^restart pwapt-test-svc in Root" "$TMP/plan" &&
	wdelete U
'

test_expect_success 'a failed check of another service rolls the merge back: the removed one runs again' '
	www_running_in_root && wcreate F Root && in_w F remove &&
	wexec F env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-www=1.2 </dev/null >/dev/null 2>&1 &&
	{ wmerge F Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 1 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	grep -q "^wmerge: merge [0-9]* of F into Root was rolled back" "$TMP/out" &&
	grep -qx "Starting pwapt-test-svc in Root on the old files... done" "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -n "$(svcd_procs)" &&
	test_equal 1.0 "$(www_version Root)"
'

# Killed during that roll-back (merge undone, the removed service not
# started yet): Root's note of pending services names it to start.
test_expect_success 'killed during the roll-back after a failed check: pwapt recover names the removed service' '
	www_running_in_root && wcreate G Root && in_w G remove &&
	wexec G env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-www=1.2 </dev/null >/dev/null 2>&1 &&
	{ PWAPT_CRASH_AT=svcmove-rolled-back wmerge G Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^services of Root were not (re)started or checked after merge [0-9]*, which was rolled back" "$TMP/rec" &&
	grep -qx "start pwapt-test-svc" "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-svc start && wexec Root /etc/init.d/pwapt-test-www restart &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	wait_for 20 "test \"\$(www_version Root)\" = 1.0" && clear_notes
'

# Killed between the stop and the merge: pwapt recover says to start it
# again (the note's own line says "stop pwapt-test-svc in Root").
test_expect_success 'a wmerge killed after the stop, before it merged: pwapt recover says to start the service again' '
	test -n "$(svcd_procs)" && wcreate X Root && in_w X remove &&
	{ PWAPT_CRASH_AT=merge-locked wmerge X Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^a wmerge into Root was killed before it merged (nothing to roll back); services it was stopping may be down, start them again:\$" "$TMP/rec" &&
	grep -qx "start pwapt-test-svc in Root again (stopped for the merge)" "$TMP/rec" &&
	test_lacks "^stop pwapt-test-svc" cat "$TMP/rec" &&
	test_equal ii "$(status_of pwapt-test-svc)" && wexec Root /etc/init.d/pwapt-test-svc start &&
	wait_for 20 "test -n \"\$(svcd_procs)\"" && wdelete X
'

# Root's note for pwapt rollback is written before the services move: a
# wmerge killed there leaves the removed service stopped, and its
# rollback starts it again.
test_expect_success 'a wmerge killed before its services moved: pwapt rollback starts the removed one again' '
	wcreate K Root && in_w K remove &&
	{ PWAPT_CRASH_AT=svcmove-merged wmerge K Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done" "$TMP/out" &&
	test_equal rc "$(status_of pwapt-test-svc)" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_lacks "Restarting pwapt-test-svc" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" && test -n "$(svcd_procs)"
'

# Root's note names as "stopped" only a service the merge took down: one
# that died between the plan and its stop (here its status kills it) is
# not the rollback's to start (one rule for wmerge and pwapt merge,
# service_remember_plan).
test_expect_success 'a removed service down before its stop: no "stopped" line, the rollback leaves it down' '
	test -n "$(svcd_procs)" && wcreate D Root && in_w D remove &&
	echo "case \"\$1\" in status) start-stop-daemon --stop --quiet --retry TERM/5/KILL/2 --pidfile /run/pwapt-test-svc.pid --name pwapt-test-svcd; rm -f /run/pwapt-test-svc.pid ;; esac" >"$R/etc/default/pwapt-test-svc" &&
	{ wmerge D Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$R/etc/default/pwapt-test-svc" && test_equal 0 $rc &&
	grep -qx "Stopping pwapt-test-svc in Root (its package is removed)... done (it did not run)" "$TMP/out" &&
	note=$(find "$PWAPT_STATE" -path "*/Root/notes/restarted") && cat "$note" &&
	grep -q "^merge " "$note" && test_lacks "pwapt-test-svc" cat "$note" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_lacks "pwapt-test-svc" cat "$TMP/out" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -z "$(svcd_procs)" &&
	wexec Root /etc/init.d/pwapt-test-svc start &&
	wait_for 20 "test -n \"\$(svcd_procs)\""
'

# A merge that will be refused (a conflict) stops nothing of Root's: the
# service would otherwise go down and up again for nothing.
test_expect_success 'a wmerge refused for a conflict does not stop the removed service first' '
	before=$(svcd_procs) && test -n "$before" &&
	wcreate C Root && in_w C remove && wexec C sh -c "echo world >/srv/conflict" &&
	mkdir -p "$R/srv" && echo root >"$R/srv/conflict" &&
	{ wmerge C Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 3 $rc &&
	test_lacks "Stopping pwapt-test-svc" cat "$TMP/out" &&
	test_lacks "^Merged" cat "$TMP/out" &&
	test_equal "$before" "$(svcd_procs)" && test_equal ii "$(status_of pwapt-test-svc)" &&
	wdelete C && rm "$R/srv/conflict"
'

# A merge whose plan finds a conflict stops the removed service after it,
# should it go through: the note written before the merge (here killed
# once locked) names no stop it has not made, only SRC's own.
test_expect_success 'late stops: the note before the merge names no stop of the removed service' '
	test -n "$(svcd_procs)" && wcreate L Root && in_w L remove &&
	printf "#!/bin/sh\ncase \$1 in start) setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/cleaner.pid ;;\nstop) kill \$(cat /run/cleaner.pid); rm -f /run/cleaner.pid ;;\nrestart) \$0 stop; \$0 start ;;\nstatus) kill -0 \$(cat /run/cleaner.pid) ;;\nesac\n" >"$TMP/cleaner" &&
	wexec L sh -c "mkdir -p /srv && echo world >/srv/late && cat >/etc/init.d/cleaner && chmod 755 /etc/init.d/cleaner && /etc/init.d/cleaner start" <"$TMP/cleaner" &&
	mkdir -p "$R/srv" && echo root >"$R/srv/late" &&
	{ PWAPT_CRASH_AT=merge-locked wmerge L Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && test_lacks "Stopping pwapt-test-svc" cat "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec"; } &&
	grep -qx "start cleaner in L again (stopped for the merge)" "$TMP/rec" &&
	test_lacks "pwapt-test-svc" cat "$TMP/rec" &&
	test -n "$(svcd_procs)" && wdelete L && rm -f "$R/srv/late" && clear_notes
'

# pwapt rollback writes Root's note of the services it starts and
# restarts on the old files before it undoes the merge: killed once the
# undo is committed (recovery finishes it, and the merge's own note of
# restarted services is read no more), pwapt recover names them.
test_expect_success 'pwapt rollback killed once it undid the merge: pwapt recover names the removed service to start' '
	test -n "$(svcd_procs)" && wcreate RK Root && in_w RK remove &&
	{ wmerge RK Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	N=$(sed -n "s/^Merged RK into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") && test -n "$N" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ PWAPT_CRASH_AT=rollback-started pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "recovered an interrupted merge" "$TMP/rec" &&
	grep -q "^pwapt rollback of merge $N into Root was killed after it undid the merge" "$TMP/rec" &&
	grep -qx "start pwapt-test-svc in Root" "$TMP/rec" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -z "$(svcd_procs)" &&
	wexec Root /etc/init.d/pwapt-test-svc start && wait_for 20 "test -n \"\$(svcd_procs)\""
'

# The same killed while it starts them, with an earlier note pending (a
# wmerge of E killed before it merged): the rollback keeps that one
# aside (svcmove-held) instead of leaving its own services unnamed, and
# so does one whose start fails.
test_expect_success 'pwapt rollback killed while it restarts, an earlier note pending: pwapt recover names both' '
	wexec Root /etc/init.d/pwapt-test-svc start >/dev/null 2>&1
	wait_for 20 "test -n \"\$(svcd_procs)\"" && wcreate RR Root && in_w RR remove &&
	{ wmerge RR Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	N=$(sed -n "s/^Merged RR into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") && test -n "$N" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	wcreate E Root && wexec E sh -c "cat >/etc/init.d/cleaner && chmod 755 /etc/init.d/cleaner && /etc/init.d/cleaner start" <"$TMP/cleaner" &&
	{ PWAPT_CRASH_AT=merge-locked wmerge E Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	{ PWAPT_CRASH_AT=rollback-restarting pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 && grep -q "^Rolled back merge $N " "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "no interrupted merge to finish, but 2 things need you:" "$TMP/rec" &&
	grep -q "^pwapt rollback of merge $N into Root was killed after it undid the merge" "$TMP/rec" &&
	grep -qx "start pwapt-test-svc in Root" "$TMP/rec" &&
	grep -q "^a wmerge into Root was killed before it merged" "$TMP/rec" &&
	grep -qx "start cleaner in E again (stopped for the merge)" "$TMP/rec" &&
	test_equal ii "$(status_of pwapt-test-svc)" && test -z "$(svcd_procs)"
'

test_expect_success 'pwapt rollback whose start fails, an earlier note pending: pwapt recover names it' '
	wexec Root /etc/init.d/pwapt-test-svc start >/dev/null 2>&1
	wait_for 20 "test -n \"\$(svcd_procs)\"" && wcreate RF Root && in_w RF remove &&
	{ wmerge RF Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	N=$(sed -n "s/^Merged RF into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") && test -n "$N" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	wcreate E2 Root && wexec E2 sh -c "cat >/etc/init.d/cleaner && chmod 755 /etc/init.d/cleaner && /etc/init.d/cleaner start" <"$TMP/cleaner" &&
	{ PWAPT_CRASH_AT=merge-locked wmerge E2 Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	echo "case \"\$1\" in start|restart) exit 1 ;; esac" >"$R/etc/default/pwapt-test-svc" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	rm -f "$R/etc/default/pwapt-test-svc" && test_equal 1 $rc &&
	grep -q "^Rolled back merge $N " "$TMP/out" &&
	grep -q "(pwapt recover names them)" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^pwapt rollback of merge $N into Root was killed after it undid the merge" "$TMP/rec" &&
	grep -qx "start pwapt-test-svc in Root" "$TMP/rec" &&
	grep -qx "start cleaner in E2 again (stopped for the merge)" "$TMP/rec" &&
	wexec Root /etc/init.d/pwapt-test-svc start && wait_for 20 "test -n \"\$(svcd_procs)\"" &&
	wdelete E E2 && clear_notes
'

# Killed before the undo: the merge stands, nothing is down but what it
# removed; the next rollback starts the service and clears the note.
test_expect_success 'pwapt rollback killed before it undid the merge: recover sends to pwapt rollback, which clears the note' '
	wcreate RB Root && in_w RB remove &&
	{ wmerge RB Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	N=$(sed -n "s/^Merged RB into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") && test -n "$N" &&
	wexec Root true && wait_for 20 "test -z \"\$(svcd_procs)\"" &&
	{ PWAPT_CRASH_AT=rollback-stopped pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test "$rc" -ge 128 &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "pwapt rollback of merge $N into Root was killed before it undid the merge, and stopped no service: pwapt rollback --id $N Root undoes it:" "$TMP/rec" &&
	test_lacks "pwapt-test-svc" cat "$TMP/rec" &&
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Starting pwapt-test-svc in Root... done" "$TMP/out" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -qx "nothing to recover" "$TMP/rec" &&
	wait_for 20 "test -n \"\$(svcd_procs)\""
'

test_done
