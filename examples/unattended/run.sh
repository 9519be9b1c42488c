#!/bin/sh
# Debian's unattended-upgrades through a world (`pwapt unattended`), as an
# administrator would run it: Root runs a service and a site that needs
# a file; the repository offers 1.1 of the installed packages, which
# removes that file.  /etc/pwapt/tests.d holds two checks: 50-service (the
# service runs the version dpkg installed) and 60-site (the file the site
# needs is there).
#
#   1. failing test, unattended-failure = keep (the default): exit 4,
#      60-site named, the world kept with 1.1 for a look; Root untouched
#      (its files byte for byte, its package versions, its service
#      still 1.0, the same process); the run's record and mail say FAILED
#   2. failing test, unattended-failure = discard: exit 4, no world left,
#      Root untouched
#   3. the site no longer needs the file (60-site removed): exit 0, the
#      world merged, Root's packages at 1.1, the locally changed conffile
#      kept (the package's beside it as .dpkg-dist), the service restarted
#      on 1.1, dpkg --audit silent, no world left
#   4. run again: nothing to upgrade, the world discarded
#
#   examples/unattended/run.sh             (as root)
#   examples/unattended/run.sh --prepare   only build the Debian tree
#
# Root is a temporary copy of the tests' Debian bookworm tree (with
# unattended-upgrades: tests/fixtures/debian-tree.sh, built once with the
# network into PWAPT_CACHE, default /var/cache/pwapt), its only apt source
# the tests' local repository (tests/fixtures/apt-repo.sh: Origin and Label
# pwapt-test, unattended-upgrade's allowed origin here); the scenario runs
# in a network namespace of its own and never touches this machine's /.
# Mail goes to a stand-in sendmail that keeps it (PWAPT_SENDMAIL).  Every
# step checks its result; the first that fails ends the run with exit
# status 1, naming it.
: "${PWAPT_TEST_MUST_WORK:=1}"
export PWAPT_TEST_MUST_WORK
if [ "${1:-}" = --prepare ]; then
	"$(dirname "$0")/../../tests/fixtures/debian-tree.sh" >/dev/null
	exit
fi
. "$(dirname "$0")/../../tests/lib.sh"
. "$SRC_DIR/examples/lib-example.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || {
	echo "unattended: apt-ftparchive is missing (apt-get install apt-utils)" >&2
	exit 1
}
trap cleanup EXIT
R=$PWAPT_ROOT
OUT=$TMP/unattended
mkdir -p "$OUT"
pkgs="pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc"

# The version of package $2 installed in world $1 ("" when not "ii").
installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}
# Every package of $pkgs at version $2 in world $1.
all_at() {
	for _p in $pkgs; do
		test_equal "$2" "$(installed "$1" $_p)" || { echo "$1: $_p is not $2"; return 1; }
	done
	echo "$1: $pkgs at $2"
}
# Root's files, byte for byte, but for the run's record (/var/log/pwapt,
# the point) and what a running system changes (/run, /tmp, API file
# systems).
root_manifest() {
	python3 "$TEST_DIR/fixtures/manifest.py" "$R" /proc /sys /dev /run /tmp /var/log/pwapt
}
# Root as it was before the run: its files, its versions, its service
# (the same process, still 1.0).
root_untouched() {
	root_manifest >"$OUT/after" &&
	diff -u "$OUT/before" "$OUT/after" &&
	echo "Root's files: as before the run" &&
	all_at Root 1.0 &&
	test -f "$R/usr/share/pwapt-test/files/c" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	test_equal "$(cat "$OUT/svc.pid")" "$(wexec Root cat /run/pwapt-test-svc.pid)" &&
	echo "Root's service: 1.0, pid $(cat "$OUT/svc.pid"), not restarted"
}
# pwapt unattended, its exit status in $OUT/rc, its output shown and kept
# in $OUT/out.
unattended() {
	pwapt unattended >"$OUT/out" 2>&1
	echo $? >"$OUT/rc"
	cat "$OUT/out"
	echo "(exit $(cat "$OUT/rc"))"
}

cat >"$OUT/sendmail" <<EOF
#!/bin/sh
{ echo "args: \$*"; cat; } >>"$OUT/mail"
EOF
chmod 755 "$OUT/sendmail"
PWAPT_SENDMAIL=$OUT/sendmail
export PWAPT_SENDMAIL

step 'Root: Debian bookworm with unattended-upgrades, the tests'"'"' repository at 1.0, the service running' '
	wexec Root dpkg-query -W unattended-upgrades &&
	use_test_repo 1.0 &&
	install_test_packages $pkgs &&
	all_at Root 1.0 &&
	echo "setting = local" >>"$R/etc/pwapt-test/test.conf" &&
	wexec Root /etc/init.d/pwapt-test-svc start &&
	wait_for 10 "test \"\$(wexec Root cat /run/pwapt-test-svc.version 2>/dev/null)\" = 1.0" &&
	wexec Root cat /run/pwapt-test-svc.pid >"$OUT/svc.pid" &&
	echo "Root: pwapt-test-svc 1.0 runs, pid $(cat "$OUT/svc.pid")"
'

step 'the repository offers 1.1 (it removes files/c); unattended-upgrade allows it; pwapt unattended on' '
	use_test_repo 1.1 &&
	test_equal 1.1 "$(wexec Root apt-cache policy pwapt-test-files | sed -n "s/^ *Candidate: //p")" &&
	cat >"$R/etc/apt/apt.conf.d/51pwapt-example" <<-\EOF &&
	Unattended-Upgrade::Origins-Pattern { "origin=pwapt-test,label=pwapt-test"; };
	Unattended-Upgrade::Mail "admin@example.org";
	Unattended-Upgrade::MailReport "always";
	EOF
	test_equal off "$(pwapt unattended --check)" &&
	printf "unattended = on\n" >"$PWAPT_CONFIG" &&
	test_equal on "$(pwapt unattended --check)"
'

step 'tests.d: 50-service (the service runs what dpkg installed, within 10 s), 60-site (files/c is there)' '
	mkdir -p "$R/etc/pwapt/tests.d" &&
	cat >"$R/etc/pwapt/tests.d/50-service" <<-\EOF &&
	#!/bin/sh
	# The daemon writes its version once it runs: given 10 s to start.
	v=$(dpkg-query -W -f="\${Version}" pwapt-test-svc)
	for i in $(seq 50); do
		test "$(cat /run/pwapt-test-svc.version 2>/dev/null)" = "$v" && exit 0
		sleep 0.2
	done
	echo "pwapt-test-svc does not run $v" >&2
	exit 1
	EOF
	cat >"$R/etc/pwapt/tests.d/60-site" <<-\EOF &&
	#!/bin/sh
	test -f /usr/share/pwapt-test/files/c ||
		{ echo "the site needs /usr/share/pwapt-test/files/c" >&2; exit 1; }
	EOF
	chmod 755 "$R/etc/pwapt/tests.d/50-service" "$R/etc/pwapt/tests.d/60-site" &&
	wexec Root /etc/pwapt/tests.d/50-service &&
	wexec Root /etc/pwapt/tests.d/60-site &&
	root_manifest >"$OUT/before"
'

step 'pwapt unattended, 60-site failing (unattended-failure = keep): exit 4, tx1 kept with 1.1, Root untouched' '
	unattended &&
	test_equal 4 "$(cat "$OUT/rc")" &&
	grep -q "^Test 50-service: passed" "$OUT/out" &&
	grep -q "^Test 60-site: FAILED (exit 1)" "$OUT/out" &&
	grep -q "tx1 is kept for a look" "$OUT/out" &&
	test_equal 1 "$(grep -c "^Packages changed: 4\$" "$OUT/out")" &&
	pwapt list | grep -Eq "^tx1 +Root +tests-failed .*unattended" &&
	all_at tx1 1.1 &&
	test_equal 1.1 "$(wexec tx1 cat /run/pwapt-test-svc.version)" &&
	root_untouched &&
	grep -q "tests failed in tx1: kept for a look" "$R/var/log/pwapt/unattended.log" &&
	grep -q "^Subject: pwapt unattended on .*: FAILED" "$OUT/mail" &&
	pwapt discard tx1 && test_lacks "^tx1 " wlist
'

step 'pwapt unattended, 60-site failing (unattended-failure = discard): exit 4, no world left, Root untouched' '
	printf "unattended = on\nunattended-failure = discard\n" >"$PWAPT_CONFIG" &&
	unattended &&
	test_equal 4 "$(cat "$OUT/rc")" &&
	grep -q "^Test 60-site: FAILED (exit 1)" "$OUT/out" &&
	grep -q "is discarded, Root is untouched" "$OUT/out" &&
	test_lacks "^tx" wlist &&
	root_untouched &&
	grep -q "tests failed in tx2: discarded" "$R/var/log/pwapt/unattended.log"
'

step 'the site no longer needs files/c; pwapt unattended: exit 0, merged, Root at 1.1, its service restarted on 1.1' '
	rm "$R/etc/pwapt/tests.d/60-site" && : >"$OUT/mail" &&
	unattended &&
	test_equal 0 "$(cat "$OUT/rc")" &&
	grep -q "^Test 50-service: passed" "$OUT/out" &&
	test_equal 1 "$(grep -c "^Packages changed: 4\$" "$OUT/out")" &&
	grep -q "merged tx3 into Root (exit 0)" "$R/var/log/pwapt/unattended.log" &&
	grep -q "pwapt-test-svc 1.0 -> 1.1" "$R/var/log/pwapt/unattended.log" &&
	grep -q "^Subject: pwapt unattended on .*: done" "$OUT/mail" &&
	test_lacks "^tx" wlist &&
	all_at Root 1.1 &&
	test ! -e "$R/usr/share/pwapt-test/files/c" && test -f "$R/usr/share/pwapt-test/files/d" &&
	grep -q "setting = local" "$R/etc/pwapt-test/test.conf" &&
	test -f "$R/etc/pwapt-test/test.conf.dpkg-dist" &&
	wait_for 10 "test \"\$(wexec Root cat /run/pwapt-test-svc.version 2>/dev/null)\" = 1.1" &&
	echo "Root: pwapt-test-svc 1.1 runs, pid $(wexec Root cat /run/pwapt-test-svc.pid) (was $(cat "$OUT/svc.pid"))" &&
	wexec Root /etc/pwapt/tests.d/50-service &&
	test_no_output wexec Root dpkg --audit
'

step 'pwapt unattended again: nothing to upgrade, the world discarded' '
	unattended &&
	test_equal 0 "$(cat "$OUT/rc")" &&
	grep -q "^Nothing to upgrade: tx4 is discarded" "$OUT/out" &&
	test_lacks "^tx" wlist &&
	all_at Root 1.1
'

scenario_done unattended
