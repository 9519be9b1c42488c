#!/bin/sh
# pwapt unattended: Debian's unattended-upgrade (installed in the Debian
# test tree, tests/fixtures/debian-tree.sh) in a transaction world, with the
# tests' repository (tests/fixtures/apt-repo.sh: Origin and Label
# pwapt-test) as its allowed origin; merged when tests.d passes, else kept
# or discarded as pwapt.conf says, Root untouched; conffiles never ask;
# the record in Root's /var/log/pwapt, --json, the mail.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
[ -x "$PWAPT_ROOT/usr/bin/unattended-upgrade" ] ||
	skip_all "the Debian test tree has no unattended-upgrades"

pkgs="pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc pwapt-test-dep"
R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }
# Root as it was, but for the run's record in /var/log/pwapt (which is
# the point) and the mount points of the fresh file systems of a container.
tree_manifest() { manifest "$1" /proc /sys /dev /run /tmp /var/log/pwapt; }

installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}

# A sendmail that keeps what it gets: the host's is never used here.
cat >"$TMP/sendmail" <<EOF
#!/bin/sh
{ echo "args: \$*"; cat; } >>"$TMP/mail"
EOF
chmod 755 "$TMP/sendmail"
PWAPT_SENDMAIL=$TMP/sendmail
export PWAPT_SENDMAIL

test_expect_success 'set up: 1.0 installed in Root, 1.1 in its lists, the repository allowed' '
	use_test_repo 1.0 &&
	install_test_packages $pkgs &&
	echo "setting = local" >>"$R/etc/pwapt-test/test.conf" &&
	use_test_repo 1.1 &&
	cat >"$R/etc/apt/apt.conf.d/51pwapt-test" <<-\EOF &&
	Unattended-Upgrade::Origins-Pattern { "origin=pwapt-test,label=pwapt-test"; };
	Unattended-Upgrade::Mail "admin@example.org";
	Unattended-Upgrade::MailReport "always";
	EOF
	pwapt stop-all &&
	rm -rf "$PWAPT_STATE" && cp -a "$R" "$TMP/pristine"
'

fresh_root() {
	rm -f "$PWAPT_CONFIG" && pwapt stop-all >/dev/null 2>&1
	for m in $(mounts_below "$PWAPT_STATE"); do umount -l "$m"; done
	rm -rf "$PWAPT_STATE" "$R" "$TMP/mail" && cp -a "$TMP/pristine" "$R" &&
		printf "unattended = on\n" >"$PWAPT_CONFIG" &&
		wexec Root /etc/init.d/pwapt-test-svc start >/dev/null
}

test_expect_success 'off by default: nothing happens through pwapt; --check says off' '
	fresh_root && rm -f "$PWAPT_CONFIG" && tree_manifest "$R" >"$TMP/before" &&
	test_equal off "$(pwapt unattended --check)" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "pwapt unattended is off" "$TMP/out" &&
	test_lacks "^tx" wlist && test ! -e "$R/var/log/pwapt" &&
	test ! -e "$TMP/mail" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	printf "unattended = off\n" >"$PWAPT_CONFIG" &&
	test_equal off "$(pwapt unattended --check)" &&
	pwapt unattended | grep -q "is off" && test_lacks "^tx" wlist &&
	pwapt unattended --json >"$TMP/json" &&
	python3 -c "
import json, sys
u = json.load(open(sys.argv[1]))
assert u == {\"outcome\": \"off\", \"exit\": 0, \"transaction\": None, \"earlier_unchecked\": None, \"report\": None}, u
" "$TMP/json"
'

# The command of apt-daily-upgrade.service's drop-in (contrib/), as systemd
# runs it ($$ is $), with this build's pwapt and a stand-in for apt's own
# apt.systemd.daily.
drop_in() {
	printf "#!/bin/sh\necho classic \"\$*\" >>%s\n" "$TMP/classic" >"$TMP/apt.systemd.daily" &&
	chmod 755 "$TMP/apt.systemd.daily" &&
	cmd=$(sed -n "s/^ExecStart=\/bin\/sh -c //p" "$SRC_DIR/contrib/apt-daily-upgrade-pwapt.conf.in" |
		sed -e "s/^.//" -e "s/.\$//" -e "s/\\$\\$/\$/g" -e "s|@BINDIR@|$BIN_DIR|g" \
			-e "s|/usr/lib/apt/apt.systemd.daily|$TMP/apt.systemd.daily|") &&
	test -n "$cmd" && /bin/sh -c "$cmd"
}

test_expect_success 'the drop-in for apt-daily-upgrade.service runs the classic upgrade while off' '
	fresh_root && rm -f "$PWAPT_CONFIG" "$TMP/classic" &&
	tree_manifest "$R" >"$TMP/before" &&
	drop_in >"$TMP/out" 2>&1 &&
	test_equal "classic install" "$(cat "$TMP/classic")" &&
	test_lacks "^tx" wlist && test ! -e "$R/var/log/pwapt" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	printf "unattended = bad\n" >"$PWAPT_CONFIG" && rm -f "$TMP/classic" &&
	! drop_in >"$TMP/out" 2>&1 && test ! -e "$TMP/classic" &&
	grep -q "unattended is .on. or .off." "$TMP/out"
'

test_expect_success 'a bad configuration is a clear error, and nothing is done' '
	fresh_root &&
	printf "unattended = yes\n" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "pwapt.conf:1: unattended is .on. or .off., not .yes." pwapt unattended &&
	test_fails_with 1 "unattended is .on. or .off." pwapt unattended --check &&
	printf "unattended = on\nunattended-failure = maybe\n" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "pwapt.conf:2: unattended-failure is .discard. or .keep., not .maybe." pwapt unattended &&
	printf "unattended = on\n" >"$PWAPT_CONFIG" &&
	test_fails_with 2 "is not an option" pwapt unattended --keep &&
	test_lacks "^tx" wlist && test ! -e "$R/var/log/pwapt" &&
	rm "$PWAPT_CONFIG"
'

test_expect_success 'a passing run merges: Root has 1.1, the changed conffile kept; log, --json, mail; no test: no service in the world' '
	fresh_root && test_equal on "$(pwapt unattended --check)" &&
	pwapt unattended --json >"$TMP/json" 2>"$TMP/progress" &&
	for p in pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc; do
		test_equal 1.1 "$(installed Root $p)" || return 1
	done &&
	grep -q "setting = local" "$R/etc/pwapt-test/test.conf" &&
	test -f "$R/etc/pwapt-test/test.conf.dpkg-dist" &&
	test ! -e "$R/etc/apt/apt.conf.d/zz-pwapt-unattended" &&
	python3 -c "
import json, sys
u = json.load(open(sys.argv[1]))
assert u[\"exit\"] == 0 and u[\"transaction\"] == \"tx1\", u
assert u[\"outcome\"] == \"merged tx1 into Root\", u
p = {k[\"name\"]: k for k in u[\"report\"][\"packages\"]}
assert p[\"pwapt-test-conf\"][\"new_version\"] == \"1.1\", p
" "$TMP/json" &&
	grep -q "Transaction tx1: unattended-upgrade in a new world over Root" "$TMP/progress" &&
	# Every archive on the file: source: no download pass.
	grep -q "^Nothing to download: every archive" "$TMP/progress" &&
	! grep -q "^Downloading with the host.s network" "$TMP/progress" &&
	# No test: no service started in the world (only in Root, after the
	# merge).
	! grep -q "Starting the services of tx1" "$TMP/progress" &&
	grep -q "merged tx1 into Root (exit 0)" "$R/var/log/pwapt/unattended.log" &&
	grep -q "pwapt-test-files 1.0 -> 1.1" "$R/var/log/pwapt/unattended.log" &&
	grep -q "^args: -oi -- admin@example.org$" "$TMP/mail" &&
	grep -q "^Subject: pwapt unattended on .*: done" "$TMP/mail" &&
	grep -q "pwapt-test-svc 1.0 -> 1.1" "$TMP/mail" &&
	test_lacks "^tx1 " wlist && test_equal 1 "$(pwapt list | wc -l)" &&
	test_equal 1.1 "$(wexec Root cat /run/pwapt-test-svc.version)"
'

test_expect_success 'turned on, the drop-in runs pwapt unattended, not the classic upgrade' '
	rm -f "$TMP/classic" && drop_in >"$TMP/out" 2>&1 &&
	test ! -e "$TMP/classic" && grep -q "^Nothing to upgrade: tx2 is discarded" "$TMP/out"
'

test_expect_success 'a third run finds nothing to upgrade: discarded, no world left' '
	pwapt unattended >"$TMP/out" &&
	grep -q "^Nothing to upgrade: tx3 is discarded" "$TMP/out" &&
	test_lacks "^tx" wlist &&
	grep -q "nothing to upgrade (exit 0)" "$R/var/log/pwapt/unattended.log"
'

# The download pass (unattended-upgrade --download-only, the host's
# network) is left out only when no archive is to be fetched of any
# version newer than an installed one, not only apt's candidate:
# unattended-upgrade's allowed origins may pick another one.  LIST
# (default: a source on the network, none answers here) gets PKG at
# VERSION, depending on DEPENDS when given.
other_version() { # PKG VERSION [DEPENDS [SOURCE LIST]]
	src=${4:-http://127.0.0.1:9}
	list=${5:-127.0.0.1:9_._Packages}
	awk -v p="$1" -v v="$2" -v d="${3:-}" 'BEGIN { RS = ""; ORS = "\n\n" }
		$0 ~ "(^|\n)Package: " p "\n" {
			sub(/\nVersion: [^\n]*/, "\nVersion: " v)
			if (d != "") sub(/\nVersion: [^\n]*/, "&\nDepends: " d)
			print; exit }' \
		"$R/srv/pwapt-repo/Packages" >"$R/var/lib/apt/lists/$list" &&
	echo "deb [trusted=yes] $src ./" >"$R/etc/apt/sources.list.d/other.list" &&
	test_equal "$2" "$(wexec Root apt-cache madison "$1" | grep -F "$src" | cut -d"|" -f2 | xargs)"
}
candidate() { wexec Root apt-cache policy "$1" | sed -n "s/^ *Candidate: //p"; }

test_expect_success 'a version on the network that apt would not pick, its archive not cached: the download pass runs' '
	fresh_root && other_version pwapt-test-files 1.0.5 &&
	test_equal 1.1 "$(candidate pwapt-test-files)" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	! grep -q "^Nothing to download" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_expect_success 'that version s archive in the archive cache: no download pass' '
	fresh_root && other_version pwapt-test-files 1.0.5 &&
	size=$(sed -n "s/^Size: //p" "$R/var/lib/apt/lists/127.0.0.1:9_._Packages") &&
	test -n "$size" &&
	head -c "$size" /dev/zero >"$R/var/cache/apt/archives/pwapt-test-files_1.0.5_all.deb" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Nothing to download" "$TMP/out" &&
	! grep -q "^Downloading" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_expect_success 'a newer version on a file: source that needs a package only the network has: the download pass runs' '
	fresh_root && mkdir -p "$R/srv/pwapt-other" &&
	printf "%s\n" "Package: pwapt-test-netonly" "Version: 1.0" "Architecture: all" \
		"Filename: pool/pwapt-test-netonly_1.0_all.deb" "Size: 1000" \
		"Description: only on the network" >"$R/var/lib/apt/lists/127.0.0.1:9_._Packages" &&
	echo "deb [trusted=yes] http://127.0.0.1:9 ./" >"$R/etc/apt/sources.list.d/net.list" &&
	other_version pwapt-test-files 1.0.5 pwapt-test-netonly file:/srv/pwapt-other _srv_pwapt-other_._Packages &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

fail_test() {
	mkdir -p "$R/etc/pwapt/tests.d" &&
	printf "#!/bin/sh\necho broken >&2\nexit 7\n" >"$R/etc/pwapt/tests.d/50-fail" &&
	chmod 755 "$R/etc/pwapt/tests.d/50-fail"
}

test_expect_success 'a failing tests.d test: Root byte-identical, the world kept (the default)' '
	fresh_root && fail_test && tree_manifest "$R" >"$TMP/before" &&
	{ pwapt unattended >"$TMP/out" 2>&1; test $? = 4; } &&
	grep -q "^Test 50-fail: FAILED (exit 7)" "$TMP/out" &&
	grep -q "^Starting the services of tx1: .*pwapt-test-svc" "$TMP/out" &&
	grep -q "tx1 is kept for a look" "$TMP/out" &&
	test_equal 1 "$(grep -c "^Packages changed:" "$TMP/out")" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	pwapt list | grep -Eq "^tx1 +Root +tests-failed .*unattended" &&
	test_equal 1.1 "$(installed tx1 pwapt-test-files)" &&
	grep -q "tests failed in tx1: kept for a look" "$R/var/log/pwapt/unattended.log" &&
	grep -q "^Subject: pwapt unattended on .*: FAILED" "$TMP/mail"
'

test_expect_success 'a failing tests.d test with unattended-failure = discard: Root byte-identical, no world' '
	fresh_root && fail_test && printf "unattended-failure = discard\n" >>"$PWAPT_CONFIG" &&
	tree_manifest "$R" >"$TMP/before" &&
	{ pwapt unattended >"$TMP/out" 2>&1; test $? = 4; } &&
	grep -q "tx1 is discarded, Root is untouched" "$TMP/out" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	test_lacks "^tx" wlist &&
	grep -q "tests failed in tx1: discarded" "$R/var/log/pwapt/unattended.log"
'

# A test that hangs must not hold the night's run for ever: killed after
# test-timeout seconds with what it started, and failed like any test.
test_expect_success 'a tests.d test that hangs: killed after test-timeout with its children, Root byte-identical' '
	fresh_root && mkdir -p "$R/etc/pwapt/tests.d" &&
	printf "#!/bin/sh\nsleep 100017 &\nsleep 100018\n" >"$R/etc/pwapt/tests.d/50-hang" &&
	chmod 755 "$R/etc/pwapt/tests.d/50-hang" &&
	printf "test-timeout = 3\n" >>"$PWAPT_CONFIG" &&
	tree_manifest "$R" >"$TMP/before" &&
	{ timeout 600 pwapt unattended >"$TMP/out" 2>&1; test $? = 4; } &&
	grep -q "^Test 50-hang: FAILED (did not finish within 3 s: killed with its process group)" "$TMP/out" &&
	grep -q "tx1 is kept for a look" "$TMP/out" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	test -z "$(pgrep -f "^sleep 10001[78]")" &&
	grep -q "tests failed in tx1: kept for a look" "$R/var/log/pwapt/unattended.log" &&
	printf "test-timeout = forever\n" >>"$PWAPT_CONFIG" &&
	test_fails_with 1 "test-timeout is seconds, 1 to 86400, not .forever." pwapt unattended
'

# Killed after its merge, while Root's services restart: the next run's
# own merge would write over Root's note of them, so it says it first, in
# its output, the log, the mail and --json.
test_expect_success 'killed while it restarts Root s services: the next run says, logs and mails which were left unchecked' '
	fresh_root && echo START_DELAY=3 >"$R/etc/default/pwapt-test-svc" &&
	# Mailed for the note alone: not because of MailReport.
	sed -i "s/MailReport \"always\"/MailReport \"only-on-error\"/" "$R/etc/apt/apt.conf.d/51pwapt-test" &&
	grep -q only-on-error "$R/etc/apt/apt.conf.d/51pwapt-test" &&
	{ pwapt unattended >"$TMP/o1" 2>&1 & p=$!; } && note_pid $p &&
	wait_for 240 "grep -q \"^Restarting pwapt-test-svc in Root\" \"$TMP/o1\"" &&
	kill -9 $p && { wait $p; true; } &&
	test_equal 1.1 "$(installed Root pwapt-test-svc)" &&
	rm -f "$TMP/mail" && pwapt unattended --json >"$TMP/json" 2>"$TMP/o2" &&
	grep -A3 "^An earlier merge into Root left services not (re)started or checked" "$TMP/o2" >"$TMP/said" &&
	grep -q pwapt-test-svc "$TMP/said" &&
	grep -q "^Nothing to upgrade" "$TMP/o2" &&
	grep -A3 "^An earlier merge into Root left services not (re)started" "$R/var/log/pwapt/unattended.log" | grep -q pwapt-test-svc &&
	grep -q "^Subject: pwapt unattended on .*: done, services need you" "$TMP/mail" &&
	grep -A3 "^An earlier merge into Root left services" "$TMP/mail" | grep -q pwapt-test-svc &&
	test_lacks "^by pid " cat "$TMP/mail" &&
	python3 -c "
import json, sys
u = json.load(open(sys.argv[1]))
assert \"pwapt-test-svc\" in u[\"earlier_unchecked\"], u
assert \"by pid\" not in u[\"earlier_unchecked\"], u
" "$TMP/json"
'

test_expect_success 'a note of unchecked services that cannot be read: the run stops and says so, nothing begun' '
	n=$(find "$PWAPT_STATE/worlds/Root" -name svcmove) && test -n "$n" &&
	rm "$n" && mkdir "$n" &&
	test_fails_with 1 "cannot read Root.s note of the services an earlier merge left unchecked" pwapt unattended &&
	test_lacks "^tx" wlist
'

test_expect_success 'unattended-upgrade failing: Root byte-identical, kept or discarded as configured' '
	fresh_root &&
	printf "DPkg::Pre-Invoke { \"exit 3\"; };\n" >"$R/etc/apt/apt.conf.d/52fail" &&
	tree_manifest "$R" >"$TMP/before" &&
	{ pwapt unattended >"$TMP/out" 2>&1; test $? = 1; } &&
	grep -q "unattended-upgrade failed (exit 1) in tx1: kept (pwapt.conf: unattended-failure = keep)" "$TMP/out" &&
	pwapt list | grep -Eq "^tx1 +Root +failed" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	printf "unattended-failure = discard\n" >>"$PWAPT_CONFIG" &&
	pwapt discard tx1 >/dev/null &&
	{ pwapt unattended >"$TMP/out" 2>&1; test $? = 1; } &&
	grep -q "unattended-upgrade failed (exit 1) in tx2: the world is discarded" "$TMP/out" &&
	test_lacks "^tx" wlist &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after"
'

test_expect_success 'APT::Periodic::Unattended-Upgrade "0" in Root: nothing done' '
	fresh_root && echo "APT::Periodic::Unattended-Upgrade \"0\";" >"$R/etc/apt/apt.conf.d/99off" &&
	pwapt unattended >"$TMP/out" &&
	grep -q "APT::Periodic::Unattended-Upgrade is off" "$TMP/out" &&
	test_lacks "^tx" wlist && test_equal 1.0 "$(installed Root pwapt-test-files)"
'

test_expect_success 'unattended-upgrade s own configuration rules: a blacklisted package stays' '
	fresh_root &&
	echo "Unattended-Upgrade::Package-Blacklist { \"pwapt-test-files\"; };" \
		>"$R/etc/apt/apt.conf.d/53blacklist" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	test_equal 1.0 "$(installed Root pwapt-test-files)" &&
	test_equal 1.1 "$(installed Root pwapt-test-scripts)"
'

test_expect_success 'no sendmail on the host: the run says so, and still merges' '
	fresh_root && PWAPT_SENDMAIL=$TMP/none pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^No mail to admin@example.org: $TMP/none is not there" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_done
