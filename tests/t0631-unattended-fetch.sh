#!/bin/sh
# pwapt unattended leaves its download pass out only when no archive an
# upgrade could install is to be fetched: a dependency an installed
# package meets now but its next version no longer does still counts its
# other providers; with APT::Install-Suggests, so do Suggests; a version
# without a Size: field is still an archive to fetch; and an install that
# fails after a skipped download says so, and the next run downloads.
# The archives to fetch are on the host's 127.0.0.1 (busybox httpd),
# which no world's own network reaches.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
[ -x "$PWAPT_ROOT/usr/bin/unattended-upgrade" ] ||
	skip_all "the Debian test tree has no unattended-upgrades"
R=$PWAPT_ROOT

installed() {
	wexec Root dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null |
		sed -n 's/^ii *//p'
}

. "$(dirname "$0")/lib-httpd.sh"

# pkg DIR NAME VERSION [CONTROL LINE...]: an empty package in DIR/pool.
pkg() {
	d=$1 && n=$2 && v=$3 && shift 3 &&
		mkdir -p "$TMP/stage/DEBIAN" "$d/pool" &&
		{
			printf "%s\n" "Package: $n" "Version: $v" "Architecture: all" \
				"Maintainer: pwapt tests <root@localhost>" "$@" \
				"Description: pwapt test package"
		} >"$TMP/stage/DEBIAN/control" &&
		dpkg-deb --root-owner-group -b "$TMP/stage" "$d/pool/${n}_${v}_all.deb" >/dev/null &&
		rm -rf "$TMP/stage"
}
# repo DIR: its Packages and a Release of origin and label pwapt-test.
repo() {
	(cd "$1" && apt-ftparchive packages pool >Packages 2>/dev/null) && release "$1"
}
release() {
	(cd "$1" && apt-ftparchive -o APT::FTPArchive::Release::Origin=pwapt-test \
		-o APT::FTPArchive::Release::Label=pwapt-test \
		-o APT::FTPArchive::Release::Suite=pwapt-test \
		-o APT::FTPArchive::Release::Codename=pwapt-test \
		release . >Release.new && mv Release.new Release)
}

# Root has version 1 of each, from a file: source.  Version 2 of
# pwapt-fx-lib no longer provides pwapt-fx-virt, and pwapt-fx-app 2 needs
# both: its upgrade installs pwapt-fx-alt, on the network only.
# pwapt-fx-nosize 2 is on the network only, listed without a Size: field.
L=$R/srv/pwapt-fx
pkg "$L" pwapt-fx-lib 1 "Provides: pwapt-fx-virt" &&
	pkg "$L" pwapt-fx-app 1 "Depends: pwapt-fx-virt" &&
	pkg "$L" pwapt-fx-nosize 1 &&
	repo "$L" &&
	pkg "$TMP/local2" pwapt-fx-lib 2 &&
	pkg "$TMP/local2" pwapt-fx-app 2 "Depends: pwapt-fx-virt, pwapt-fx-lib (>= 2)" &&
	pkg "$TMP/www" pwapt-fx-alt 1 "Provides: pwapt-fx-virt" &&
	pkg "$TMP/www" pwapt-fx-nosize 2 &&
	repo "$TMP/www" || skip_all "cannot build the test packages"
start_httpd || skip_all "cannot start busybox httpd on 127.0.0.1"

test_expect_success 'set up: version 1 installed, unattended-upgrade allowed the pwapt-test origin' '
	echo "deb [trusted=yes] file:/srv/pwapt-fx ./" >"$R/etc/apt/sources.list" &&
	rm -f "$R/etc/apt/sources.list.d/"* &&
	wexec Root apt-get update -qq </dev/null &&
	wexec Root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		pwapt-fx-lib pwapt-fx-app pwapt-fx-nosize </dev/null >/dev/null &&
	test_equal 1 "$(installed pwapt-fx-app)" &&
	echo "Unattended-Upgrade::Origins-Pattern { \"origin=pwapt-test,label=pwapt-test\"; };" \
		>"$R/etc/apt/apt.conf.d/51pwapt-test" &&
	pwapt stop-all && rm -rf "$PWAPT_STATE" && cp -a "$R" "$TMP/pristine"
'

fresh_root() {
	rm -f "$PWAPT_CONFIG" && pwapt stop-all >/dev/null 2>&1
	for m in $(mounts_below "$PWAPT_STATE"); do umount -l "$m"; done
	rm -rf "$PWAPT_STATE" "$R" && cp -a "$TMP/pristine" "$R" &&
		printf "unattended = on\n" >"$PWAPT_CONFIG"
}

# SOURCES... as Root's only apt sources, their lists fetched.
sources() {
	: >"$R/etc/apt/sources.list" &&
		for s in "$@"; do echo "deb [trusted=yes] $s ./" >>"$R/etc/apt/sources.list"; done &&
		pwapt update >/dev/null
}

# Until the Size: test, the network has pwapt-fx-alt only.
rm "$TMP/www/pool/pwapt-fx-nosize_2_all.deb" && repo "$TMP/www" || exit 1

test_expect_success 'a provider whose next version drops the Provides: the other provider is fetched' '
	fresh_root && cp -a "$TMP/local2" "$R/srv/pwapt-fx2" && repo "$R/srv/pwapt-fx2" &&
	sources file:/srv/pwapt-fx file:/srv/pwapt-fx2 "http://127.0.0.1:$PORT/" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	! grep -q "^Nothing to download" "$TMP/out" &&
	test_equal 2 "$(installed pwapt-fx-app)" &&
	test_equal 1 "$(installed pwapt-fx-alt)"
'

test_expect_success 'a package whose next version no longer matches a versioned dependency: the alternative is fetched' '
	fresh_root && F=$R/srv/pwapt-fx4 && pkg "$F" pwapt-fx-lib 2 "Provides: pwapt-fx-virt" &&
	pkg "$F" pwapt-fx-app 2 "Depends: pwapt-fx-lib (<< 2) | pwapt-fx-alt, pwapt-fx-lib (>= 2)" &&
	repo "$F" && sources file:/srv/pwapt-fx file:/srv/pwapt-fx4 "http://127.0.0.1:$PORT/" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	test_equal 2 "$(installed pwapt-fx-app)" &&
	test_equal 1 "$(installed pwapt-fx-alt)"
'

# R12: pwapt-fx-app 1, which nothing upgrades, needs pwapt-fx-virt, which
# pwapt-fx-lib 2 no longer provides: the upgrade may need pwapt-fx-alt.
test_expect_success 'an installed package no upgrade replaces, its provider dropping the Provides: the download runs' '
	fresh_root && pkg "$R/srv/pwapt-fx5" pwapt-fx-lib 2 && repo "$R/srv/pwapt-fx5" &&
	sources file:/srv/pwapt-fx file:/srv/pwapt-fx5 "http://127.0.0.1:$PORT/" &&
	pwapt unattended >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	! grep -q "^Nothing to download" "$TMP/out" &&
	test_no_output wexec Root dpkg --audit
'

test_expect_success 'with APT::Install-Suggests, a new version s Suggests are fetched too' '
	fresh_root && pkg "$R/srv/pwapt-fx3" pwapt-fx-nosize 2 "Suggests: pwapt-fx-alt" &&
	repo "$R/srv/pwapt-fx3" &&
	echo "APT::Install-Suggests \"true\";" >"$R/etc/apt/apt.conf.d/52suggests" &&
	sources file:/srv/pwapt-fx file:/srv/pwapt-fx3 "http://127.0.0.1:$PORT/" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	test_equal 2 "$(installed pwapt-fx-nosize)" &&
	test_equal 1 "$(installed pwapt-fx-alt)"
'
pkg "$TMP/www" pwapt-fx-nosize 2 && repo "$TMP/www" || exit 1

# The network's Packages without their Size: fields.
drop_size() {
	sed -i "/^Size: /d" "$TMP/www/Packages" && release "$TMP/www"
}

# apt refuses a version without a Size: field from the network unless
# Acquire::AllowUnsizedPackages says otherwise: then it counts 0 bytes,
# and is still an archive to fetch.  (apt 2.6's own fetch of it then
# fails on its size, whatever pwapt does: only the decision is tested.)
test_expect_success 'a version listed without a Size: field (allowed) is still an archive to fetch' '
	fresh_root && drop_size &&
	echo "Acquire::AllowUnsizedPackages \"true\";" >"$R/etc/apt/apt.conf.d/52unsized" &&
	sources file:/srv/pwapt-fx "http://127.0.0.1:$PORT/" &&
	test_equal 2 "$(wexec Root apt-cache policy pwapt-fx-nosize | sed -n "s/^ *Candidate: //p")" &&
	{ pwapt unattended >"$TMP/out" 2>&1 || :; } &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	! grep -q "^Nothing to download" "$TMP/out"
'
repo "$TMP/www" || exit 1

# An archive the check takes for cached (its size is right) but dpkg
# cannot install: the install fails after a skipped download.
test_expect_success 'an install failing after a skipped download says so; the next run downloads until one succeeds' '
	fresh_root && sources file:/srv/pwapt-fx "http://127.0.0.1:$PORT/" &&
	size=$(sed -n "/^Package: pwapt-fx-nosize/,/^$/s/^Size: //p" "$TMP/www/Packages") &&
	head -c "$size" /dev/zero >"$R/var/cache/apt/archives/pwapt-fx-nosize_2_all.deb" &&
	test_exit 1 pwapt unattended --json >"$TMP/json" 2>"$TMP/out" &&
	grep -q "^Nothing to download" "$TMP/out" &&
	grep -q "^Its download was skipped: .* the next run downloads" "$TMP/out" &&
	python3 -c "
import json, sys
u = json.load(open(sys.argv[1]))
assert \"its download was skipped\" in u[\"outcome\"], u
assert \"the next run downloads\" in u[\"outcome\"], u
" "$TMP/json" &&
	grep -q "unattended-upgrade failed (exit 1) in tx1: .*; its download was skipped .*: the next run downloads (exit 1)" \
		"$R/var/log/pwapt/unattended.log" &&
	test_equal 1 "$(installed pwapt-fx-nosize)" &&
	test_exit 1 pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^An earlier run failed after its download was skipped" "$TMP/out" &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	rm "$R/var/cache/apt/archives/pwapt-fx-nosize_2_all.deb" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	test_equal 2 "$(installed pwapt-fx-nosize)" &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	! grep -q "^An earlier run" "$TMP/out" &&
	grep -q "^Nothing to download" "$TMP/out"
'

test_expect_success 'the note of a skipped download cannot be written: the report says the next run may skip it again' '
	fresh_root && sources file:/srv/pwapt-fx "http://127.0.0.1:$PORT/" &&
	size=$(sed -n "/^Package: pwapt-fx-nosize/,/^$/s/^Size: //p" "$TMP/www/Packages") &&
	head -c "$size" /dev/zero >"$R/var/cache/apt/archives/pwapt-fx-nosize_2_all.deb" &&
	{ PWAPT_FAIL_AT=note-unattended-download pwapt unattended --json >"$TMP/json" 2>"$TMP/out"; test_equal 1 $?; } &&
	cat "$TMP/out" && grep -q "^Nothing to download" "$TMP/out" &&
	test_lacks "^Its download was skipped" cat "$TMP/out" &&
	python3 -c "
import json, sys
u = json.load(open(sys.argv[1]))
assert \"pwapt could not note it, and the next run may skip it again (cannot write note\" in u[\"outcome\"], u
" "$TMP/json" &&
	rm "$R/var/cache/apt/archives/pwapt-fx-nosize_2_all.deb"
'

test_expect_success 'killed right after it noted the skipped download: the next run downloads' '
	fresh_root && sources file:/srv/pwapt-fx "http://127.0.0.1:$PORT/" &&
	size=$(sed -n "/^Package: pwapt-fx-nosize/,/^$/s/^Size: //p" "$TMP/www/Packages") &&
	head -c "$size" /dev/zero >"$R/var/cache/apt/archives/pwapt-fx-nosize_2_all.deb" &&
	{ PWAPT_CRASH_AT=unattended-noted pwapt unattended >"$TMP/out" 2>&1; test_equal 137 $?; } &&
	grep -q "^Nothing to download" "$TMP/out" &&
	rm "$R/var/cache/apt/archives/pwapt-fx-nosize_2_all.deb" &&
	pwapt recover >"$TMP/recover" 2>&1 &&
	pwapt unattended >"$TMP/out" 2>&1 &&
	grep -q "^An earlier run failed after its download was skipped" "$TMP/out" &&
	grep -q "^Downloading with the host.s network" "$TMP/out" &&
	test_equal 2 "$(installed pwapt-fx-nosize)"
'

# R13 #4: Root's note of a command still at work is no earlier merge's
# leftover; one whose writer is gone is, and reads without its writer.
test_expect_success 'a note of pending services whose writer runs is not reported as an earlier merge s' '
	fresh_root && sources file:/srv/pwapt-fx && pwapt unattended >/dev/null 2>&1 &&
	N=$PWAPT_STATE/worlds/Root/notes/svcmove && mkdir -p "${N%/*}" &&
	{ sleep 1000 & p=$!; } && note_pid $p && t=$(cut -d" " -f22 /proc/$p/stat) &&
	printf "merge 99999 from gone\nrestart aaa\nby pid %s started %s\n" $p $t >"$N" &&
	pwapt unattended >"$TMP/out" 2>&1 && cat "$TMP/out" &&
	test_lacks "^An earlier merge" cat "$TMP/out" &&
	{ kill $p; wait $p; true; } && ! kill -0 $p 2>/dev/null &&
	pwapt unattended >"$TMP/out" 2>&1 && cat "$TMP/out" &&
	grep -A2 "^An earlier merge into Root left services" "$TMP/out" | grep -qx "restart aaa" &&
	test_lacks "^by pid" cat "$TMP/out"
'

stop_httpd
test_done
