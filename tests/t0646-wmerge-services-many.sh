#!/bin/sh
# wmerge with more than one service running in DST: each one's package
# files are looked up in DST's dpkg lists afresh.  (The lists' directory
# was read through a dup of one descriptor, whose offset the first
# service's walk left at the end: every later service read no list, so a
# changed package's daemon was neither restarted nor checked, and a
# broken upgrade was merged as if nothing ran it.)
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

test_expect_success 'set up: pwapt-test-svc and pwapt-test-www 1.0 running in Root, and a service "aaa" (sorts first)' '
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-svc pwapt-test-www &&
	printf "#!/bin/sh\ncase \$1 in start) setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/\$(basename \$0).pid ;;\nstop) kill \$(cat /run/\$(basename \$0).pid); rm -f /run/\$(basename \$0).pid ;;\nrestart) \$0 stop; \$0 start ;;\nstatus) kill -0 \$(cat /run/\$(basename \$0).pid) ;;\nesac\n" >"$R/etc/init.d/aaa" &&
	chmod 755 "$R/etc/init.d/aaa" &&
	wexec Root /etc/init.d/aaa start &&
	wexec Root /etc/init.d/pwapt-test-svc start &&
	wexec Root /etc/init.d/pwapt-test-www start &&
	wait_for 20 "test 1.0 = \"\$(www_version Root)\"" &&
	use_test_repo 1.1
'

test_expect_success 'wmerge --plan names the restart of the upgraded service, not only the first one' '
	wcreate W Root >/dev/null &&
	wexec W env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-www=1.1 </dev/null >/dev/null &&
	wmerge --plan W Root >"$TMP/out"; cat "$TMP/out" &&
	grep -q "^restart pwapt-test-www in Root: its files change" "$TMP/out"
'

test_expect_success 'a broken upgrade is checked and rolled back, whatever else runs in Root' '
	wdelete W &&
	wcreate B Root >/dev/null &&
	wexec B env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pwapt-test-www=1.2 </dev/null >/dev/null &&
	test_exit 1 wmerge B Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "port 8090 of pwapt-test-www does not answer in Root" "$TMP/out" &&
	wexec Root dpkg-query -W pwapt-test-www | grep -q "	1.0\$" &&
	wait_for 20 "test 1.0 = \"\$(www_version Root)\""
'

test_expect_success 'an init script that is a link (/etc/init.d/lsvc -> /opt/lsvc/lsvc): listed, and moved by wmerge' '
	wcreate S Root >/dev/null &&
	wexec S sh -c "mkdir -p /opt/lsvc && cat >/opt/lsvc/lsvc && chmod 755 /opt/lsvc/lsvc &&
		ln -s /opt/lsvc/lsvc /etc/init.d/lsvc && ln -s ../init.d/lsvc /etc/rc2.d/S01lsvc &&
		/etc/init.d/lsvc start" <"$R/etc/init.d/aaa" &&
	wlist --services >"$TMP/out" && grep -q "^  lsvc  *init  *yes  *yes" "$TMP/out" &&
	wmerge --plan S Root >"$TMP/out" && cat "$TMP/out" &&
	grep -q "^stop lsvc in S\$" "$TMP/out" &&
	wmerge S Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Starting lsvc in Root... done, checked" "$TMP/out" &&
	wexec Root /etc/init.d/lsvc status
'

test_expect_success 'wmerge killed while it stops SRC services: pwapt recover does not send the administrator to pwapt rollback' '
	wcreate K Root >/dev/null &&
	wexec K sh -c "sed \"s|^stop) |stop) sleep 60; |\" >/etc/init.d/slowstop && chmod 755 /etc/init.d/slowstop &&
		/etc/init.d/slowstop start" <"$R/etc/init.d/aaa" &&
	{ wmerge K Root >"$TMP/out" 2>&1 & } &&
	wait_for 20 "grep -q \"^Stopping slowstop in K\" \"$TMP/out\"" &&
	for p in $(pgrep -x wmerge); do
		tr "\0" "\n" <"/proc/$p/environ" | grep -q "^PWAPT_STATE=$PWAPT_STATE\$" && kill -9 $p || :
	done &&
	sleep 1 &&
	pwapt recover >"$TMP/out" 2>&1; cat "$TMP/out" &&
	! grep -q "pwapt rollback" "$TMP/out" &&
	grep -q "killed before it merged" "$TMP/out" &&
	grep -qx "start slowstop in K again (stopped for the merge)" "$TMP/out" &&
	! grep -q "^stop slowstop" "$TMP/out" &&
	wlist | grep -q "^K "
'

test_expect_success 'wmerge killed once it merged, before its services moved: pwapt recover names the merge, not "nothing merged"' '
	wcreate M Root >/dev/null &&
	wexec M sh -c "cp /etc/init.d/aaa /etc/init.d/mvd && /etc/init.d/mvd start" &&
	PWAPT_CRASH_AT=merge-done wmerge M Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 137 $rc &&
	pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec" &&
	id=$(sed -n "s/^a wmerge into Root was killed once it had merged (merge \([0-9]*\)).*/\1/p" "$TMP/rec") &&
	test -n "$id" &&
	grep -q "pwapt rollback --id $id Root:\$" "$TMP/rec" &&
	! grep -q "nothing to roll back" "$TMP/rec" &&
	test -e "$R/etc/init.d/mvd" && ! wlist | grep -q "^M "
'

# pwapt merge (and pwapt unattended, which merges through it) killed while
# Root's services restart: a daemon slow to come back (30 s between its
# stop and its start) is down when pwapt dies.  pwapt recover names the
# merge and the services; pwapt rollback of it restarts them on the old files.
test_expect_success 'pwapt merge killed while a service restarts: pwapt recover says so, pwapt rollback restarts it' '
	cat >"$R/etc/default/pwapt-test-svc" <<-\EOF &&
	if [ "$1" = restart ] && [ -e /etc/slowstart ]; then start-stop-daemon --stop --quiet --retry TERM/5/KILL/2 --pidfile /run/pwapt-test-svc.pid --name pwapt-test-svcd; rm -f /run/pwapt-test-svc.pid; sleep 30; fi
	EOF
	wexec Root /etc/init.d/pwapt-test-svc status &&
	pwapt install --test --keep -y pwapt-test-svc >"$TMP/out" 2>&1 &&
	t=$(sed -n "s/^Transaction \(tx[0-9]*\):.*/\1/p" "$TMP/out" | head -n 1) && test -n "$t" &&
	: >"$R/etc/slowstart" &&
	{ pwapt merge "$t" >"$TMP/out" 2>&1 & } &&
	wait_for 60 "grep -q \"^Restarting pwapt-test-svc in Root\" \"$TMP/out\"" &&
	sleep 2 &&
	for p in $(pgrep -x pwapt); do
		tr "\0" " " <"/proc/$p/cmdline" | grep -q "^pwapt merge" &&
		tr "\0" "\n" <"/proc/$p/environ" | grep -q "^PWAPT_STATE=$PWAPT_STATE\$" && kill -9 $p || :
	done &&
	rm -f "$R/etc/slowstart" &&
	pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/out" "$TMP/rec" &&
	grep -q "^services of Root were not (re)started or checked" "$TMP/rec" &&
	grep -q "^restart pwapt-test-svc" "$TMP/rec" &&
	wait_for 40 "wexec Root /etc/init.d/pwapt-test-svc status" &&
	test_equal 1.1 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	pwapt rollback >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^Restarting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)"
'

# A note of services that names a merge no longer the last one into Root
# (rolled back after a failed check, its pwapt then killed while the
# services restarted on the old files): pwapt rollback would undo another.
test_expect_success 'a note naming a merge that is no longer the last: pwapt recover does not send the administrator to pwapt rollback' '
	test -d "$PWAPT_STATE/worlds/Root/notes" &&
	printf "merge 99999 from gone\nrestart aaa\n" >"$PWAPT_STATE/worlds/Root/notes/svcmove" &&
	pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec" &&
	grep -q "after merge 99999, which is no longer the last merge: see to them on the files Root has now" "$TMP/rec" &&
	grep -q "^restart aaa" "$TMP/rec" &&
	! grep -q "or pwapt rollback" "$TMP/rec" &&
	: >"$PWAPT_STATE/worlds/Root/notes/svcmove"
'

# A note pending is something to recover: pwapt recover does not open
# with "nothing to recover" and then list it (the first line is what a
# busy administrator reads).
test_expect_success 'pwapt recover with a note pending says so first, never "nothing to recover"' '
	printf "merge 99999 from gone\nrestart aaa\n" >"$PWAPT_STATE/worlds/Root/notes/svcmove" &&
	pwapt recover >"$TMP/rec" 2>&1; cat "$TMP/rec" &&
	test_equal "no interrupted merge to finish, but 1 thing needs you:" "$(head -n 1 "$TMP/rec")" &&
	! grep -q "nothing to recover" "$TMP/rec" &&
	grep -q "^restart aaa" "$TMP/rec" &&
	: >"$PWAPT_STATE/worlds/Root/notes/svcmove" &&
	test_equal "nothing to recover" "$(pwapt recover)"
'

test_done
