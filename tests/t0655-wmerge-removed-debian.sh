#!/bin/sh
# wmerge of a world that removed the package of a service running in
# Root, with Debian's own packages (wmerge(8), "Services"): cron ships an
# init script and a unit, and apt-get remove deletes the unit and keeps
# the script (a conffile, left 644): only dpkg's status says cron is
# gone; nginx's init script is nginx-common's, which stays, while
# /usr/sbin/nginx, which its processes run, is nginx's.  Both stop in
# Root before the merge and start again on pwapt rollback.  On a Debian
# tree with cron and nginx-light (PWAPT_TREE_EXTRA: a tree of its own,
# built once into PWAPT_CACHE).
PWAPT_TREE_EXTRA=nginx-light,cron; export PWAPT_TREE_EXTRA
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"

crons() { procs_of "^/usr/sbin/cron" "$1" | wc -l; }
nginxes() { procs_of "^nginx: " "$1" | wc -l; }
apt_in() { w=$1; shift; wexec "$w" env DEBIAN_FRONTEND=noninteractive apt-get "$@" -y -qq </dev/null; }
page() {
	wexec Root python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:80/", timeout=5).read().decode())'
}

test_expect_success 'set up: cron and nginx running in Root' '
	use_test_repo 1.0 >/dev/null &&
	wexec Root /etc/init.d/cron start && wexec Root /etc/init.d/nginx start &&
	wait_for 20 "test 1 -le \$(crons)" && wait_for 20 "page | grep -q nginx" &&
	test_equal ii "$(status_of cron)" && test_equal ii "$(status_of nginx)"
'

test_expect_success 'apt-get remove cron in a world: cron stops in Root before the merge, not restarted' '
	wcreate W Root && apt_in W remove cron >/dev/null 2>&1 &&
	wexec W test -e /etc/init.d/cron &&
	{ wmerge --plan W Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "stop cron in Root: its package is removed" "$TMP/plan" &&
	{ wmerge W Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Stopping cron in Root (its package is removed)\.\.\. " "$TMP/out" &&
	test_lacks "FAILED|Restarting cron|cron uses" cat "$TMP/out" &&
	test_equal rc "$(status_of cron)" && wexec Root true && wait_for 20 "test 0 = \$(crons)"
'

test_expect_success 'pwapt rollback: cron installed and running again' '
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_equal ii "$(status_of cron)" && wait_for 20 "test 1 -le \$(crons)"
'

test_expect_success 'apt-get remove nginx (nginx-common, with the init script, stays): nginx stops in Root' '
	wcreate N Root && apt_in N remove nginx >/dev/null 2>&1 &&
	test_equal ii "$(wexec N dpkg-query -W -f="\${db:Status-Abbrev}" nginx-common | tr -d " ")" &&
	{ wmerge --plan N Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -qx "stop nginx in Root: its package is removed" "$TMP/plan" &&
	{ wmerge N Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Stopping nginx in Root (its package is removed)\.\.\. " "$TMP/out" &&
	test_lacks "FAILED|Restarting nginx|nginx uses" cat "$TMP/out" &&
	test ii != "$(status_of nginx)" && test_equal ii "$(status_of nginx-common)" &&
	wexec Root true && wait_for 20 "test 0 = \$(nginxes)"
'

test_expect_success 'pwapt rollback: nginx installed and serving again' '
	{ pwapt rollback >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	test_equal ii "$(status_of nginx)" && wait_for 20 "page | grep -q nginx"
'

# Only a program the service's own init script or unit names counts: a
# module of nginx's that a world removes (with nginx-light, which depends
# on it) leaves nginx installed, and the merge restarts it.
test_expect_success 'apt-get remove of a module nginx maps, nginx kept: a restart, not a stop' '
	wcreate M Root && apt_in M remove libnginx-mod-http-echo >/dev/null 2>&1 &&
	test_equal ii "$(wexec M dpkg-query -W -f="\${db:Status-Abbrev}" nginx | tr -d " ")" &&
	test ii != "$(wexec M dpkg-query -W -f="\${db:Status-Abbrev}" libnginx-mod-http-echo | tr -d " ")" &&
	{ wmerge --plan M Root >"$TMP/plan" 2>&1; rc=$?; cat "$TMP/plan"; } && test_equal 0 $rc &&
	grep -q "^restart nginx in Root" "$TMP/plan" && test_lacks "^stop nginx" cat "$TMP/plan" &&
	{ wmerge M Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } && test_equal 0 $rc &&
	grep -q "^Restarting nginx in Root" "$TMP/out" &&
	test_equal ii "$(status_of nginx)" && wait_for 20 "page | grep -q nginx"
'

test_done
