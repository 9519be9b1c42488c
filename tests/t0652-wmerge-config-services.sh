#!/bin/sh
# wmerge of a world that reconfigures a running service of Root through
# files of /etc that no package owns (wmerge(8), "Services"): a site added
# to or deleted from a directory a package owns, a systemd drop-in, a file
# of /etc/default: that service restarts in Root on the new
# configuration, checked, and --plan says why.  Narrow: a file whose
# nearest owned ancestor is /etc itself, or a directory several packages
# share, or under /etc/systemd but a drop-in, restarts nothing.  On the
# Debian test tree with the tests' pwapt-test-site (its configuration
# directory /etc/pwapt-test-site/sites-enabled) and pwapt-test-svc.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
SITES=/etc/pwapt-test-site/sites-enabled

sites() { wexec Root cat /run/pwapt-test-site.sites 2>/dev/null; }

test_expect_success 'set up: pwapt-test-site and pwapt-test-svc 1.0 running in Root' '
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-site pwapt-test-svc >/dev/null &&
	wait_for 20 "sites | grep -qx \"site default\"" &&
	wait_for 20 "wexec Root cat /run/pwapt-test-svc.version" &&
	! wexec Root dpkg -S $SITES/extra >/dev/null 2>&1
'

test_expect_success 'a site added in a world: restarted in Root, which serves it' '
	wcreate W Root && wexec W sh -c "echo site extra >$SITES/extra" &&
	{ wmerge --plan W Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "restart pwapt-test-site in Root: its configuration $SITES/extra changed" "$TMP/plan" &&
	test_lacks "pwapt-test-svc" cat "$TMP/plan" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Restarting pwapt-test-site in Root... done, checked" "$TMP/out" &&
	sites | grep -qx "site extra"
'

test_expect_success 'that site deleted in a world (no package owns it): restarted, no longer served' '
	wcreate W Root && wexec W rm $SITES/extra &&
	{ wmerge --plan W Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "restart pwapt-test-site in Root: its configuration $SITES/extra changed" "$TMP/plan" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -qx "Restarting pwapt-test-site in Root... done, checked" "$TMP/out" &&
	sites | grep -qx "site default" && ! sites | grep -q "site extra"
'

test_expect_success 'a systemd drop-in counts for its unit, /etc/default/NAME for NAME' '
	wcreate D Root &&
	wexec D sh -c "mkdir -p /etc/systemd/system/pwapt-test-svc.service.d && echo [Service] >/etc/systemd/system/pwapt-test-svc.service.d/x.conf" &&
	{ wmerge --plan D Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "restart pwapt-test-svc in Root: its configuration /etc/systemd/system/pwapt-test-svc.service.d/x.conf changed" "$TMP/plan" &&
	wdelete D && wcreate E Root && wexec E sh -c "echo START_DELAY=0 >/etc/default/pwapt-test-svc" &&
	{ wmerge --plan E Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "restart pwapt-test-svc in Root: its configuration /etc/default/pwapt-test-svc changed" "$TMP/plan" &&
	wdelete E
'

test_expect_success 'narrow: /etc itself, shared or unowned directories, other /etc/systemd files restart nothing' '
	wcreate N Root &&
	wexec N sh -c "echo x >/etc/pwapt-x.conf && mkdir -p /etc/pwapt-unowned && echo x >/etc/pwapt-unowned/x.conf && mkdir -p /etc/init.d && echo x >/etc/init.d/.pwapt-x && mkdir -p /etc/systemd/system/multi-user.target.wants && ln -s /lib/systemd/system/pwapt-test-svc.service /etc/systemd/system/multi-user.target.wants/pwapt-test-svc.service" &&
	wdiff N Root >"$TMP/diff" && cat "$TMP/diff" &&
	grep -qx "A /etc/pwapt-unowned/x.conf" "$TMP/diff" &&
	grep -qx "A /etc/init.d/.pwapt-x" "$TMP/diff" &&
	{ wmerge --plan N Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "No service to stop, start or restart." "$TMP/plan" &&
	wdelete N
'

test_done
