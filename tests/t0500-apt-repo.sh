#!/bin/sh
# The tests' local apt repository (tests/fixtures/apt-repo.sh) with real apt
# and dpkg on the Debian tree: 1.0 installs in Root, and 1.1 upgrades in a
# world change files, keep a locally changed conffile, run the maintainer
# scripts, restart the service and keep back the package with a new dependency.
. "$(dirname "$0")/lib.sh"
make_debian_root

pkgs="pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc pwapt-test-dep"

# The version of an installed package in world $1, empty if not installed.
installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}

# Whether process $2 of world $1 runs (the tree has no kill(1)).
alive() {
	wexec "$1" sh -c "kill -0 $2"
}

test_expect_success 'repository 1.0 offers only the 1.0 packages, and no mirror' '
	use_test_repo 1.0 &&
	test_equal "deb [trusted=yes] file:/srv/pwapt-repo ./" \
		"$(cat "$PWAPT_ROOT/etc/apt/sources.list")" &&
	test_lacks debian.org ls "$PWAPT_ROOT/var/lib/apt/lists" &&
	wexec Root apt-cache madison pwapt-test-files >"$TMP/madison" &&
	test_equal "pwapt-test-files | 1.0 | file:/srv/pwapt-repo ./ Packages" \
		"$(sed "s/  */ /g" "$TMP/madison")" &&
	test_exit 100 wexec Root apt-cache show pwapt-test-newdep
'

test_expect_success 'the 1.0 packages install in Root: scripts run, service starts' '
	install_test_packages $pkgs &&
	for p in $pkgs; do test_equal 1.0 "$(installed Root $p)" || return 1; done &&
	test_equal "1.0 preinst install
1.0 postinst configure " "$(cat "$PWAPT_ROOT/var/lib/pwapt-test/scripts.log")" &&
	test_equal "a b c" "$(ls "$PWAPT_ROOT/usr/share/pwapt-test/files" | xargs)" &&
	test -L "$PWAPT_ROOT/etc/rc2.d/S01pwapt-test-svc" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	wexec Root /etc/init.d/pwapt-test-svc status
'

test_expect_success 'repository 1.1 offers both versions and the new dependency' '
	echo "setting = local" >>"$PWAPT_ROOT/etc/pwapt-test/test.conf" &&
	use_test_repo 1.1 &&
	wexec Root apt-cache madison pwapt-test-files >"$TMP/madison" &&
	test_equal "1.1 1.0" "$(awk "{ print \$3 }" "$TMP/madison" | xargs)" &&
	wexec Root apt-cache show pwapt-test-newdep | grep -qx "Version: 1.1" &&
	wexec Root apt-get -s install pwapt-test-a=1.0 | grep -q "^Inst pwapt-test-a (1.0 "
'

test_expect_success 'apt-get upgrade in a world keeps back pwapt-test-dep and does the rest' '
	wcreate U Root &&
	wexec U /etc/init.d/pwapt-test-svc start &&
	wexec U cat /run/pwapt-test-svc.pid >"$TMP/old_pid" &&
	wexec U env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y \
		-o Dpkg::Options::=--force-confold </dev/null >"$TMP/upgrade" &&
	grep -A1 "kept back" "$TMP/upgrade" | grep -qx "  pwapt-test-dep" &&
	grep -q "^4 upgraded, 0 newly installed, 0 to remove and 1 not upgraded" "$TMP/upgrade" &&
	test_equal 1.0 "$(installed U pwapt-test-dep)" &&
	not_installed U pwapt-test-newdep &&
	for p in pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc; do
		test_equal 1.1 "$(installed U $p)" || return 1
	done &&
	echo "# and Root is untouched" &&
	for p in $pkgs; do test_equal 1.0 "$(installed Root $p)" || return 1; done &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)"
'

test_expect_success 'changed, removed and added files' '
	test_equal "a b d" "$(wexec U ls /usr/share/pwapt-test/files | xargs)" &&
	test_equal "a 1.1" "$(wexec U cat /usr/share/pwapt-test/files/a)" &&
	test_equal "b 1.0" "$(wexec U cat /usr/share/pwapt-test/files/b)" &&
	test -e "$PWAPT_ROOT/usr/share/pwapt-test/files/c"
'

test_expect_success 'the locally changed conffile stays, the new one is .dpkg-dist' '
	wexec U cat /etc/pwapt-test/test.conf >"$TMP/conf" &&
	test_equal "# pwapt-test configuration
setting = 1.0
setting = local" "$(cat "$TMP/conf")" &&
	wexec U grep -qx "new-setting = yes" /etc/pwapt-test/test.conf.dpkg-dist
'

test_expect_success 'maintainer scripts ran with dpkg s arguments, in order' '
	test_equal "1.0 preinst install
1.0 postinst configure 
1.0 prerm upgrade 1.1
1.1 preinst upgrade 1.0 1.1
1.0 postrm upgrade 1.1
1.1 postinst configure 1.0" "$(wexec U cat /var/lib/pwapt-test/scripts.log)"
'

test_expect_success 'the service was restarted with the new version' '
	old_pid=$(cat "$TMP/old_pid") &&
	wexec U cat /run/pwapt-test-svc.pid >"$TMP/new_pid" &&
	new_pid=$(cat "$TMP/new_pid") &&
	test "$new_pid" != "$old_pid" &&
	! alive U "$old_pid" &&
	alive U "$new_pid" &&
	test_equal 1.1 "$(wexec U cat /run/pwapt-test-svc.version)" &&
	wexec U grep -q "version 1.1" /usr/sbin/pwapt-test-svcd
'

test_expect_success 'dist-upgrade installs pwapt-test-newdep' '
	wexec U apt-get dist-upgrade -y </dev/null >"$TMP/dist" &&
	grep -q "^1 upgraded, 1 newly installed, 0 to remove and 0 not upgraded" "$TMP/dist" &&
	test_equal 1.1 "$(installed U pwapt-test-dep)" &&
	test_equal 1.1 "$(installed U pwapt-test-newdep)" &&
	test_equal "auto" "$(wexec U apt-mark showauto pwapt-test-newdep | sed s/pwapt-test-newdep/auto/)"
'

test_expect_success 'removing the service package stops the service' '
	wexec U apt-get remove -y pwapt-test-svc </dev/null &&
	test_absent_in U /run/pwapt-test-svc.version &&
	test_absent_in U /run/pwapt-test-svc.pid &&
	! alive U "$(cat "$TMP/new_pid")"
'

test_expect_success 'pkg=1.0 installs the old version beside the new repository' '
	install_test_packages pwapt-test-a=1.0 pwapt-test-b &&
	test_equal 1.0 "$(installed Root pwapt-test-a)" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)" &&
	test_equal "a 1.0" "$(cat "$PWAPT_ROOT/usr/share/pwapt-test/a.txt")"
'

test_expect_success 'benchmark packages: 300 files each, every one changed by 1.1' '
	APT_REPO_BENCH=1 use_test_repo 1.1 &&
	install_test_packages pwapt-bench-1=1.0 &&
	(cd "$PWAPT_ROOT" && find usr/lib/pwapt-bench-1 usr/share/doc/pwapt-bench-1 \
		-type f -exec md5sum {} + | sort) >"$TMP/bench-1.0" &&
	test_equal 300 "$(wc -l <"$TMP/bench-1.0")" &&
	install_test_packages pwapt-bench-1 &&
	test_equal 1.1 "$(installed Root pwapt-bench-1)" &&
	(cd "$PWAPT_ROOT" && find usr/lib/pwapt-bench-1 usr/share/doc/pwapt-bench-1 \
		-type f -exec md5sum {} + | sort) >"$TMP/bench-1.1" &&
	test_equal 300 "$(wc -l <"$TMP/bench-1.1")" &&
	test_equal 0 "$(sort "$TMP/bench-1.0" "$TMP/bench-1.1" | uniq -d | wc -l)"
'

test_done
