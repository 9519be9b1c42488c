#!/bin/sh
# pwapt upgrade --test and pwapt install --test: real apt and dpkg in a world
# over a Debian Root with the tests' own repository (tests/fixtures/
# apt-repo.sh), then merged, discarded or kept; the chain of transactions;
# dpkg's database of sibling worlds merged package by package.
# 51 tests of real apt and dpkg runs: 390 to 500 s on a 2-core VM, 606 s beside
# other suites.
# timeout: 1200 s
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"

pkgs="pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc pwapt-test-dep"
R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }
# What a tree holds, for "byte-identical": everything but the mount points
# of the fresh file systems a container gets.
tree_manifest() { manifest "$1" /proc /sys /dev /run /tmp; }

installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}

# no_transactions: pwapt list works and lists none.
no_transactions() {
	pwapt list >"$TMP/list" || { echo "pwapt list failed"; return 1; }
	test_equal "" "$(sed 1d "$TMP/list")"
}

# Root with the 1.0 packages installed (service running, a conffile
# changed locally) and the 1.1 repository in its lists: made once, then
# copied for each scenario.
test_expect_success 'set up: 1.0 installed in Root, 1.1 in its lists' '
	use_test_repo 1.0 &&
	install_test_packages $pkgs &&
	echo "setting = local" >>"$R/etc/pwapt-test/test.conf" &&
	use_test_repo 1.1 &&
	pwapt stop-all &&
	rm -rf "$PWAPT_STATE" && cp -a "$R" "$TMP/pristine"
'

fresh_root() {
	pwapt stop-all >/dev/null 2>&1
	for m in $(mounts_below "$PWAPT_STATE"); do umount -l "$m"; done
	rm -rf "$PWAPT_STATE" "$R" && cp -a "$TMP/pristine" "$R" &&
		wexec Root /etc/init.d/pwapt-test-svc start >/dev/null
}

test_expect_success 'pwapt upgrade --test needs --test; its options exclude each other' '
	test_fails_with 2 "works through a test world.*pwapt upgrade --test" pwapt upgrade &&
	test_fails_with 2 "exclude each other" pwapt upgrade --test --keep --discard &&
	test_fails_with 2 "takes .keep. or .new." pwapt upgrade --test --conffile=mine &&
	test_fails_with 2 "is not an option" pwapt install --test --dist pwapt-test-a &&
	test_fails_with 2 "usage: pwapt install" pwapt install --test
'

test_expect_success 'upgrade --test --merge-on-success leaves Root as apt-get upgrade in place leaves a copy' '
	fresh_root && cp -a "$TMP/pristine" "$TMP/inplace" &&
	PWAPT_ROOT="$TMP/inplace" PWAPT_STATE="$TMP/state2" wexec Root \
		env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		</dev/null >"$TMP/inplace.out" &&
	PWAPT_ROOT="$TMP/inplace" PWAPT_STATE="$TMP/state2" pwapt stop-all &&
	pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" &&
	grep -q "^The following packages have been kept back:" "$TMP/out" &&
	grep -q "^4 upgraded, 0 newly installed, 0 to remove and 1 not upgraded" "$TMP/out" &&
	grep -q "^Merged tx1 into Root" "$TMP/out" &&
	for p in pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-svc; do
		test_equal 1.1 "$(installed Root $p)" || return 1
	done &&
	test_equal 1.0 "$(installed Root pwapt-test-dep)" &&
	# Logs and caches aside, the two trees are the same: files, owners,
	# modes, contents, dpkg s status; mtimes where dpkg sets them.
	skip="/proc /sys /dev /run /tmp /var/log /var/cache" &&
	manifest "$R" $skip | sed "s/ mtime=[0-9]*//" >"$TMP/pw.m" &&
	manifest "$TMP/inplace" $skip | sed "s/ mtime=[0-9]*//" >"$TMP/ip.m" &&
	diff -u "$TMP/ip.m" "$TMP/pw.m" &&
	manifest "$R/usr" >"$TMP/pw.u" && manifest "$TMP/inplace/usr" >"$TMP/ip.u" &&
	diff -u "$TMP/ip.u" "$TMP/pw.u" &&
	cmp "$R/var/lib/dpkg/status" "$TMP/inplace/var/lib/dpkg/status" &&
	test -f "$R/etc/pwapt-test/test.conf.dpkg-dist" &&
	grep -q "setting = local" "$R/etc/pwapt-test/test.conf" &&
	test_lacks "^tx1 " wlist && no_transactions
'

test_expect_success 'the merge restarted the service in Root, which now runs 1.1' '
	grep -q "^Restarting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_equal 1.1 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	wexec Root /etc/init.d/pwapt-test-svc status
'

# Files: d added, a changed, c removed; b, the same bytes and mode with 1.1's
# mtime (tests/fixtures/apt-repo.sh), a metadata-only change, not "changed".
test_expect_success 'the report: versions, files per package (metadata only apart), conffiles, services' '
	b=$R/usr/share/pwapt-test/files/b &&
	test_equal "b 1.0" "$(cat "$b")" && test_equal "1769904000 644" "$(stat -c "%Y %a" "$b")" &&
	grep -q "^  pwapt-test-files 1.0 -> 1.1 (files: 1 added, 1 changed, 1 removed, 1 metadata only)$" "$TMP/out" &&
	grep -q "^  /etc/pwapt-test/test.conf (pwapt-test-conf): your version kept" "$TMP/out" &&
	grep -q "^Services to restart after the merge: pwapt-test-svc" "$TMP/out" &&
	grep -q "^Conflicts with Root: none" "$TMP/out"
'

test_expect_success 'dpkg --audit and apt-get check are clean in Root after the merge' '
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q
'

test_expect_success 'pwapt rollback undoes the merge and restarts the service on the old files' '
	pwapt rollback >"$TMP/out" &&
	grep -q "^Restarting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_equal 1.0 "$(installed Root pwapt-test-files)" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	test_no_output wexec Root dpkg --audit
'

test_expect_success 'a service that comes up late after its restart is waited for' '
	fresh_root && echo START_DELAY=2 >"$R/etc/default/pwapt-test-svc" &&
	pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" &&
	grep -q "^Restarting pwapt-test-svc in Root... done" "$TMP/out" &&
	test_equal 1.1 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_expect_success 'a service that does not come back rolls the merge back and runs the old version' '
	fresh_root && echo FAIL_VERSION=1.1 >"$R/etc/default/pwapt-test-svc" &&
	tree_manifest "$R" >"$TMP/before" &&
	{ pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" 2>"$TMP/err"
	  test $? = 1; } &&
	grep -q "^Restarting pwapt-test-svc in Root... FAILED" "$TMP/out" &&
	grep -q "pwapt-test-svc does not run after the merge of tx1: rolling the merge back" "$TMP/err" &&
	grep -q "^Restarting pwapt-test-svc in Root on the old files... done" "$TMP/out" &&
	grep -q "the merge of tx1 was rolled back" "$TMP/err" &&
	test_equal 1.0 "$(installed Root pwapt-test-files)" &&
	test_equal 1.0 "$(installed Root pwapt-test-svc)" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	wexec Root /etc/init.d/pwapt-test-svc status &&
	test_no_output wexec Root dpkg --audit &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after"
'

test_expect_success '--discard leaves Root byte-identical' '
	fresh_root && tree_manifest "$R" >"$TMP/before" &&
	pwapt upgrade --test --discard -y </dev/null >"$TMP/out" &&
	grep -q "^Discarded tx1; Root is untouched" "$TMP/out" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	test_lacks "^tx" wlist
'

# The report reads each package's files from dpkg's own lists in the trees,
# as it reads their versions from dpkg's status: no apt run in the world
# (it cost a process and apt's cache in each world), and what the world's
# apt makes of its configuration does not matter.  Stopped once the layer
# is durable, the world gets an apt configuration that sees no package.
test_expect_success 'the report takes the files of each package from dpkg s lists, not from the world s apt' '
	fresh_root &&
	{ PWAPT_STOP_AT=durable-done pwapt upgrade --test --discard -y </dev/null >"$TMP/out" & pid=$!; } &&
	{ wait_for 60 "grep -q \"^State:.*T\" /proc/$pid/status" ||
		{ kill -9 $pid; false; }; } &&
	conf=$PWAPT_STATE/worlds/tx1/upper/etc/apt/apt.conf.d &&
	mkdir -p "$conf" && echo "Dir::State::status \"/nonexistent/status\";" >"$conf/99blind" &&
	kill -CONT $pid && wait $pid &&
	grep -q "^  pwapt-test-files 1.0 -> 1.1 (files: 1 added, 1 changed, 1 removed, 1 metadata only)$" "$TMP/out" &&
	grep -q "^Discarded tx1; Root is untouched" "$TMP/out"
'

test_expect_success '--dist installs the new dependency; --json reports it' '
	fresh_root &&
	pwapt upgrade --test --dist --keep -y --json </dev/null >"$TMP/json" 2>"$TMP/progress" &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"name\"] == \"tx1\" and r[\"state\"] == \"ready\", r
p = {k[\"name\"]: k for k in r[\"packages\"]}
assert p[\"pwapt-test-newdep\"][\"old_version\"] is None
assert p[\"pwapt-test-newdep\"][\"new_version\"] == \"1.1\"
assert p[\"pwapt-test-dep\"][\"new_version\"] == \"1.1\"
assert any(f[\"path\"] == \"/usr/share/pwapt-test/files/c\" and f[\"change\"] == \"D\"
           for f in p[\"pwapt-test-files\"][\"files\"])
assert r[\"services\"] == [\"pwapt-test-svc\"]
" "$TMP/json" &&
	grep -q "^The following NEW packages will be installed:" "$TMP/progress" &&
	test_equal 1.0 "$(installed Root pwapt-test-dep)" &&
	pwapt list | grep -Eq "^tx1 +Root +ready .* dist-upgrade" &&
	pwapt show tx1 | grep -q "pwapt-test-newdep (none) -> 1.1" &&
	pwapt show --json tx1 | python3 -m json.tool >/dev/null &&
	pwapt merge tx1 >"$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-newdep)" &&
	test_fails_with 1 "no transaction named .tx1." pwapt merge tx1
'

# Out of memory while a report is made or read (a strdup of a version
# fails: tests/fixtures/nostrdup.c): said, and no report printed, never one
# with a version taken for "(none)".
test_expect_success 'a report short of memory for a version is none: out of memory said' '
	fresh_root &&
	cc -shared -fPIC -o "$TMP/nostrdup.so" "$TEST_DIR/fixtures/nostrdup.c" &&
	{ NOSTRDUP_OF=1.1 LD_PRELOAD=$TMP/nostrdup.so pwapt upgrade --test --dist --keep -y \
		</dev/null >"$TMP/out" 2>"$TMP/err"; test_equal 1 $?; } &&
	test_equal "pwapt upgrade: out of memory" "$(tail -n1 "$TMP/err")" &&
	test_lacks "^Packages changed" cat "$TMP/out" &&
	fresh_root && pwapt upgrade --test --dist --keep -y </dev/null >/dev/null 2>&1 &&
	pwapt show tx1 | grep -q "pwapt-test-newdep (none) -> 1.1" &&
	{ NOSTRDUP_OF=1.1 LD_PRELOAD=$TMP/nostrdup.so pwapt show tx1 >"$TMP/out" 2>"$TMP/err"; test_equal 1 $?; } &&
	test_equal "pwapt show: out of memory" "$(cat "$TMP/err")" &&
	test_no_output cat "$TMP/out"
'

test_expect_success 'two transactions in a row form a chain and merge in order' '
	fresh_root &&
	pwapt install --test --keep -y pwapt-test-a </dev/null >"$TMP/out1" &&
	pwapt install --test --keep -y pwapt-test-b </dev/null >"$TMP/out2" &&
	pwapt list | grep -Eq "^tx1 +Root +ready" &&
	pwapt list | grep -Eq "^tx2 +tx1 +ready" &&
	not_installed Root pwapt-test-a &&
	pwapt merge tx2 >"$TMP/out" &&
	grep -q "^Merged tx1 into Root" "$TMP/out" &&
	grep -q "^Merged tx2 into Root" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)" &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q
'

# Transactions tx1 (pwapt-test-a) and tx2 (pwapt-test-b) on it, both kept.
make_chain() {
	pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null &&
	pwapt install --test --keep -y pwapt-test-b </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx2 +tx1 +ready"
}

test_expect_success 'a chain merged in two steps: tx1, then tx2 (rebased onto Root)' '
	fresh_root && make_chain &&
	pwapt merge tx1 >"$TMP/out" &&
	pwapt list | grep -Eq "^tx2 +Root +ready" &&
	not_installed Root pwapt-test-b &&
	pwapt merge tx2 >"$TMP/out" &&
	grep -q "^Merged tx2 into Root" "$TMP/out" && ! grep -q "^Merged tx1" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)" &&
	no_transactions &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q
'

# tx1 replaces pwapt-test-scripts' files (dpkg renames them into place:
# their directory changes in Root when tx1 merges), tx2 removes the package.
test_expect_success 'a chain that upgrades a package, then removes it, merges in two steps' '
	fresh_root &&
	pwapt upgrade --test --keep -y </dev/null >/dev/null &&
	pwapt install --test --keep -y pwapt-test-scripts- </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx2 +tx1 +ready" &&
	pwapt merge tx1 >/dev/null &&
	test_equal 1.1 "$(installed Root pwapt-test-scripts)" &&
	pwapt merge tx2 >"$TMP/out" &&
	grep -q "^Merged tx2 into Root" "$TMP/out" &&
	test_equal "rc 1.1" "$(wexec Root dpkg-query -W -f="\${db:Status-Abbrev}\${Version}" \
		pwapt-test-scripts | xargs)" &&
	! test -e "$R/usr/share/pwapt-test/scripts" &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q
'

test_expect_success 'a rollback of tx1 is refused while tx2 is built on it; merged on, or discarded first' '
	fresh_root && make_chain && pwapt merge tx1 >"$TMP/out" &&
	id=$(sed -n "s/^Merged tx1 into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") &&
	test -n "$id" &&
	test_fails_with 1 "cannot roll back merge $id \(of .tx1. into .Root.\): .tx2. was built on .tx1." \
		pwapt rollback &&
	grep -q "tx2 is a transaction: pwapt discard tx2 throws it away" "$TMP/err" &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	# Merged on: a rollback then undoes tx2 s merge, tx1 s stays.
	pwapt merge tx2 >/dev/null && pwapt rollback >"$TMP/out" &&
	grep -q "^Rolled back merge [0-9]* (tx2 into Root)" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	not_installed Root pwapt-test-b &&
	test -e "$R/usr/share/pwapt-test/a.txt" && ! test -e "$R/usr/share/pwapt-test/b.txt" &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q &&
	# Discarded first: the rollback undoes tx1.
	fresh_root && tree_manifest "$R" >"$TMP/before" && make_chain &&
	pwapt merge tx1 >/dev/null &&
	pwapt discard tx2 | grep -q "^Discarded tx2;" &&
	pwapt rollback >"$TMP/out" &&
	grep -q "^Rolled back merge [0-9]* (tx1 into Root)" "$TMP/out" &&
	not_installed Root pwapt-test-a &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	no_transactions
'

# tx2's merge, killed once it saved dpkg's database (hard links into its
# undo) and rolled back by recovery, changed the ctimes of what tx1's merge
# wrote, not what it holds: tx1's merge is still the last, and rolls back.
for point in merge-prepared merge-applied; do
	test_expect_success "a later merge killed at $point and recovered: the earlier one still rolls back exactly" "
		fresh_root && tree_manifest '$R' >'$TMP/before' &&
		pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null &&
		pwapt merge tx1 >/dev/null &&
		pwapt install --test --keep -y pwapt-test-b </dev/null >/dev/null &&
		{ PWAPT_CRASH_AT=$point pwapt merge tx2; test_equal 137 \$?; } &&
		pwapt recover | grep -q 'recovered an interrupted merge' &&
		not_installed Root pwapt-test-b && test_equal 1.1 \"\$(installed Root pwapt-test-a)\" &&
		pwapt rollback >'$TMP/out' &&
		grep -q '^Rolled back merge [0-9]* (tx1 into Root)' '$TMP/out' &&
		not_installed Root pwapt-test-a &&
		tree_manifest '$R' >'$TMP/after' && diff -u '$TMP/before' '$TMP/after' &&
		pwapt discard tx2 >/dev/null && no_transactions
	"
done

# The same, its recovery killed too, after it put saves back (rollback-op:N
# once operation N, counted down, is undone) or released them (release-op:N
# after the Nth save released, for a merge killed while it saved), and run
# again: the notes of what the first run put back (UNDO/own-log) keep
# tx1's merge from taking its ctimes for changes of Root.  tx2 is built on
# tx1, rebased when tx1 merged, as the soak found it.  And the merge
# killed while it saves (merge-save:N after its Nth hard link into its
# undo, each of which gave Root's file another ctime), its recovery not:
# the merge noted each link in the undo as it made it, and the recovery's
# release of the links goes on from those notes.
for kill in merge-applied/rollback-op:0 merge-applied/rollback-op:5 \
	merge-saved/release-op:2 merge-saved/release-op:4 \
	merge-save:0/ merge-save:2/ merge-save:5/; do
	mp=${kill%/*} rp=${kill#*/}
	test_expect_success "a later merge killed at $mp${rp:+, its recovery at $rp}: the earlier one still rolls back" "
		fresh_root && tree_manifest '$R' >'$TMP/before' &&
		make_chain && pwapt merge tx1 >/dev/null &&
		pwapt list | grep -Eq '^tx2 +Root +ready' &&
		{ PWAPT_CRASH_AT=$mp pwapt merge tx2; test_equal 137 \$?; } &&
		{ [ -z '$rp' ] ||
			{ PWAPT_CRASH_AT=$rp pwapt recover; test_equal 137 \$?; }; } &&
		pwapt recover | grep -q 'recovered an interrupted merge' &&
		not_installed Root pwapt-test-b && pwapt discard tx2 >/dev/null &&
		pwapt rollback >'$TMP/out' &&
		grep -q '^Rolled back merge [0-9]* (tx1 into Root)' '$TMP/out' &&
		not_installed Root pwapt-test-a &&
		tree_manifest '$R' >'$TMP/after' && diff -u '$TMP/before' '$TMP/after' &&
		no_transactions
	"
done

# Killed while it saves, recovered: the transaction merges again.  Each
# link into the undo gave a Root file a new ctime; the merge noted what
# the files had before its first link, and each link's ctime as it made
# it, so that the recovery teaches tx2 those ctimes as pwapt's own.
for point in merge-save:0 merge-save:2 merge-save:5; do
	test_expect_success "a merge killed at $point and recovered: merged again" "
		fresh_root && make_chain && pwapt merge tx1 >/dev/null &&
		{ PWAPT_CRASH_AT=$point pwapt merge tx2; test_equal 137 \$?; } &&
		pwapt recover | grep -q 'recovered an interrupted merge' &&
		not_installed Root pwapt-test-b && pwapt merge tx2 >/dev/null &&
		test_equal 1.1 \"\$(installed Root pwapt-test-b)\" && no_transactions
	"
done

# The soak's case: tx2 removes every package with files in
# /usr/share/pwapt-test, and merges; tx3, built on Root then, makes the
# directory anew (opaque in its layer); a rollback of tx2 puts Root's
# directory back, by a rename that leaves the files' ctimes as they were.
# tx3 never saw them: its merge refuses, and deletes nothing.
test_expect_success 'a rollback puts back a directory a later transaction made anew: its merge refuses, Root keeps the files' '
	fresh_root &&
	pwapt upgrade --test --merge-on-success -y </dev/null >/dev/null &&
	pwapt install --test --keep -y pwapt-test-files- pwapt-test-scripts- \
		pwapt-test-dep- </dev/null >/dev/null &&
	pwapt merge tx2 >/dev/null && test ! -e "$R/usr/share/pwapt-test" &&
	pwapt install --test --keep -y pwapt-test-b </dev/null >/dev/null &&
	pwapt rollback >/dev/null &&
	test_equal 1.1 "$(installed Root pwapt-test-files)" &&
	test_exit 3 pwapt merge tx3 >"$TMP/out" 2>&1 &&
	grep -q "^! /usr/share/pwapt-test/files/a: changed in Root after tx3 was created: tx3.s directory /usr/share/pwapt-test is opaque" "$TMP/out" &&
	for f in files/a files/b files/d scripts/version dep.txt; do
		test -e "$R/usr/share/pwapt-test/$f" || { echo "lost $f"; exit 1; }
	done &&
	not_installed Root pwapt-test-b &&
	pwapt discard tx3 >/dev/null && no_transactions
'

test_expect_success 'a discard in the middle of a chain takes what is built on it; the rest merges' '
	fresh_root && make_chain &&
	pwapt install --test --keep -y pwapt-test-newdep </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx3 +tx2 +ready" &&
	pwapt discard tx2 | grep -q "^Discarded tx2 tx3;" &&
	test_equal tx1 "$(pwapt list | sed 1d | cut -d" " -f1 | xargs)" &&
	pwapt install --test --keep -y pwapt-test-b </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx4 +tx1 +ready" &&
	pwapt merge tx1 >/dev/null && pwapt list | grep -Eq "^tx4 +Root +ready" &&
	pwapt discard tx4 | grep -q "^Discarded tx4;" &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	not_installed Root pwapt-test-b &&
	no_transactions && test_lacks "^tx" wlist
'

test_expect_success 'a merge of tx1 is refused while tx2 is being built on it' '
	fresh_root &&
	pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null &&
	pwapt install --test --keep -y --test-cmd \
		"touch /var/tmp/testing; while ! test -e /var/tmp/go; do sleep 0.1; done" \
		pwapt-test-b </dev/null >"$TMP/out2" 2>&1 &
	pw=$!
	wait_for 600 "test -e \"$PWAPT_STATE/worlds/tx2/upper/var/tmp/testing\""; seen=$?
	test_fails_with 1 "cannot merge .tx1. now: tx2 is being built on it \(testing\)" \
		pwapt merge tx1; refused=$?
	wexec tx2 touch /var/tmp/go || kill $pw
	wait $pw; rc=$?
	test_equal "0 0 0" "$seen $refused $rc" &&
	pwapt list | grep -Eq "^tx2 +tx1 +ready" &&
	pwapt merge tx2 >"$TMP/out" &&
	grep -q "^Merged tx1 into Root" "$TMP/out" && grep -q "^Merged tx2 into Root" "$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)"
'

test_expect_success 'a failed restart of tx1 in a chain: tx1 rolled back, tx2 built on it discarded' '
	fresh_root && echo FAIL_VERSION=1.1 >"$R/etc/default/pwapt-test-svc" &&
	tree_manifest "$R" >"$TMP/before" &&
	pwapt upgrade --test --keep -y </dev/null >/dev/null &&
	pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx2 +tx1 +ready" &&
	{ pwapt merge tx2 >"$TMP/out" 2>"$TMP/err"; test $? = 1; } &&
	grep -q "pwapt-test-svc does not run after the merge of tx1: rolling the merge back" "$TMP/err" &&
	grep -q "discarded tx2: it was built on tx1, whose merge is rolled back" "$TMP/err" &&
	grep -q "the merge of tx1 was rolled back" "$TMP/err" &&
	grep -q "^Restarting pwapt-test-svc in Root on the old files... done" "$TMP/out" &&
	test_equal 1.0 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	no_transactions && test_lacks "^tx" wlist &&
	test_no_output wexec Root dpkg --audit &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after"
'

# In Root only (marked in its own /run: a world's host name is Root's
# too), the service's restart waits until the test says "go"
# (/var/tmp/go), after it has seen the restart begin (/var/tmp/restarting).
block_restart_in_root() {
	wexec Root touch /run/pwapt-test-in-root &&
	cat >>"$R/etc/default/pwapt-test-svc" <<-\EOF
	if [ "$1" = restart ] && [ -e /run/pwapt-test-in-root ]; then
		: >/var/tmp/restarting
		while ! [ -e /var/tmp/go ]; do sleep 0.1; done
	fi
	EOF
}

test_expect_success 'a failed restart after another merge came in: that merge stays, the transaction s is named, its service runs again' '
	fresh_root && wcreate W Root && wexec W sh -c "echo w >/usr/local/share/w-file" &&
	echo FAIL_VERSION=1.1 >"$R/etc/default/pwapt-test-svc" && block_restart_in_root &&
	{ pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" 2>"$TMP/err"
	  echo $? >"$TMP/rc"; } &
	wait_for 600 "test -e \"$R/var/tmp/restarting\""; seen=$?
	wmerge W Root; merged=$?
	# The administrator mends the configuration while the restart
	# that read the broken one fails.
	: >"$R/etc/default/pwapt-test-svc" &&
	: >"$R/var/tmp/go" && wait &&
	test_equal "0 0 1" "$seen $merged $(cat "$TMP/rc")" &&
	id=$(sed -n "s/^Merged tx1 into Root as merge \([0-9]*\) .*/\1/p" "$TMP/out") &&
	grep -q "pwapt-test-svc does not run after the merge of tx1: rolling the merge back" "$TMP/err" &&
	grep -q "the merge of tx1 (merge $id) is kept: cannot roll back merge $id into .Root.: merge [0-9]* (of .W.) came after it" "$TMP/err" &&
	! grep -q "was rolled back" "$TMP/err" &&
	grep -q "^Restarting pwapt-test-svc in Root on the merged files... done" "$TMP/out" &&
	wexec Root /etc/init.d/pwapt-test-svc status &&
	test_equal 1.1 "$(wexec Root cat /run/pwapt-test-svc.version)" &&
	test_equal w "$(cat "$R/usr/local/share/w-file")" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)" &&
	test_no_output wexec Root dpkg --audit &&
	test_fails_with 1 "cannot roll back merge $id into .Root.: merge [0-9]+ \(of .W.\) came after it" \
		pwapt rollback --id "$id" &&
	test_equal w "$(cat "$R/usr/local/share/w-file")" &&
	pwapt rollback >"$TMP/out" &&
	grep -q "^Rolled back merge [0-9]* (W into Root)" "$TMP/out" &&
	! test -e "$R/usr/local/share/w-file" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_expect_success 'sibling worlds each install a package: both merged, both installed' '
	fresh_root && wcreate A Root && wcreate B Root &&
	wexec A env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-a </dev/null &&
	wexec B env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-b </dev/null &&
	wmerge A Root &&
	wdiff B Root >"$TMP/diff" &&
	grep -q "^! /var/lib/dpkg/status: changed in Root too: merged record by record" "$TMP/diff" &&
	wmerge B Root &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)" &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q &&
	grep -q "install pwapt-test-a" "$R/var/log/dpkg.log" &&
	grep -q "install pwapt-test-b" "$R/var/log/dpkg.log"
'

# dpkg replaces a package's file by renaming FILE.dpkg-new over it: no
# copy-up origin says that Root had the file.
test_expect_success 'modify/delete: a file the world s upgrade replaced and Root deleted since is a conflict' '
	fresh_root && wcreate W Root &&
	wexec W env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-files </dev/null &&
	test_equal 1.1 "$(installed W pwapt-test-files)" &&
	d=/usr/share/pwapt-test/files &&
	test_lacks origin getfattr -h -d -m - "$PWAPT_STATE/worlds/W/upper$d/a" &&
	sleep 0.05 && rm "$R$d/a" &&
	{ wdiff W >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "A $d/d" "$TMP/d" &&
	grep -qx "! $d/a: changed in Root after W was created: deleted there, changed in W" "$TMP/d" &&
	test_equal 1 "$(grep -c "^!" "$TMP/d")" &&
	test_fails_with 3 "1 path changed in .Root. after .W. was created" wmerge W Root &&
	! test -e "$R$d/a" && test_equal 1.0 "$(installed Root pwapt-test-files)" &&
	wdelete W
'

# S's merge merges dpkg's status record by record (Root removed a package
# meanwhile): Root's result is no version K (built on S, rebased) saw, and
# K's merge must merge with it, not put K's status over it.
test_expect_success 'a world rebased over a record-merged dpkg status keeps Root s own changes' '
	fresh_root && wcreate S Root &&
	wexec S env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-a </dev/null >/dev/null &&
	wcreate K S &&
	wexec K env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-b </dev/null >/dev/null &&
	wexec Root dpkg -r pwapt-test-dep >/dev/null &&
	wmerge --rebase S Root &&
	not_installed Root pwapt-test-dep && test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	wmerge K Root &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)" &&
	not_installed Root pwapt-test-dep &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q
'

# The soak's case: tx2 upgrades pwapt-test-dep to 1.1, which depends on
# pwapt-test-newdep (>= 1.1), while tx1's merge had put newdep in Root; tx1's
# merge is then rolled back.  Merged record by record, dpkg's status would
# have dep 1.1 without newdep: apt refuses such a Root.
test_expect_success 'a merge that would break a dependency Root lost meanwhile is refused; Root untouched' '
	fresh_root &&
	pwapt install --test --keep -y pwapt-test-newdep </dev/null >/dev/null &&
	pwapt merge tx1 >/dev/null &&
	pwapt install --test --keep -y pwapt-test-dep </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx2 +Root +ready" &&
	pwapt rollback >"$TMP/out" &&
	not_installed Root pwapt-test-newdep &&
	before=$(md5sum <"$R/var/lib/dpkg/status") &&
	test_fails_with 3 "the merged packages would break dependencies that neither side broke: pwapt-test-dep:all 1.1 \(Depends: pwapt-test-newdep \(>= 1.1\)\)" \
		pwapt merge tx2 &&
	test_equal "$before" "$(md5sum <"$R/var/lib/dpkg/status")" &&
	test_equal 1.0 "$(installed Root pwapt-test-dep)" &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q &&
	pwapt list | grep -Eq "^tx2 +Root +ready" &&
	pwapt merge --force tx2 >"$TMP/out" 2>&1 &&
	test_equal 1.1 "$(installed Root pwapt-test-dep)" &&
	not_installed Root pwapt-test-newdep &&
	pwapt rollback >/dev/null && test_equal 1.0 "$(installed Root pwapt-test-dep)"
'

test_expect_success 'a merge of dpkg s database killed at any point: recover leaves it all old, then all new' '
	fresh_root && wcreate A Root && wcreate B Root &&
	wexec A env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-a </dev/null >/dev/null &&
	wexec B env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-b </dev/null >/dev/null &&
	wmerge A Root &&
	db="var/lib/dpkg/status var/lib/apt/extended_states var/log/dpkg.log etc/passwd" &&
	(cd "$R" && cat $db | md5sum) >"$TMP/old" &&
	for point in merge-staged merge-planned merge-prepared $(seq -f "merge-op:%g" 0 40) merge-applied; do
		PWAPT_CRASH_AT=$point wmerge B Root >/dev/null 2>&1
		rc=$?
		test $rc = 0 && break
		test_equal "137 $point" "$rc $point" &&
		pwapt recover >/dev/null && ! test -e "$PWAPT_STATE/merge" &&
		(cd "$R" && cat $db | md5sum) | cmp - "$TMP/old" &&
		test_no_output wexec Root dpkg --audit &&
		test_lacks . find "$R" -name ".pwapt-merge-*" || return 1
	done &&
	if wlist | grep -q "^B "; then wmerge B Root; fi &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	test_equal 1.1 "$(installed Root pwapt-test-b)" &&
	test_no_output wexec Root dpkg --audit && wexec Root apt-get check -q
'

test_expect_success 'the same package at two versions in siblings: a conflict naming it' '
	fresh_root && wcreate C Root && wcreate D Root &&
	wexec C env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-a=1.0 </dev/null &&
	wexec D env DEBIAN_FRONTEND=noninteractive apt-get install -y -q pwapt-test-a=1.1 </dev/null &&
	wmerge C Root && cp "$R/var/lib/dpkg/status" "$TMP/status" &&
	test_fails_with 3 "cannot merge .D. into .Root." wmerge D Root >"$TMP/out" &&
	grep -q "^! /var/lib/dpkg/status: .*package pwapt-test-a:all changed differently on both sides" "$TMP/out" &&
	cmp "$TMP/status" "$R/var/lib/dpkg/status" &&
	test_equal 1.0 "$(installed Root pwapt-test-a)"
'

test_expect_success 'siblings add system users: merged by name; one uid for two names is a conflict' '
	fresh_root && wcreate U1 Root && wcreate U2 Root && wcreate U3 Root &&
	wexec U1 sh -c "groupadd -g 901 alpha && useradd -r -u 901 -g alpha alpha" &&
	wexec U2 sh -c "groupadd -g 902 beta && useradd -r -u 902 -g beta beta" &&
	wexec U3 sh -c "groupadd -g 901 gamma && useradd -r -u 901 -g gamma gamma" &&
	wmerge U1 Root && wmerge U2 Root &&
	test_equal "alpha:901 beta:902" "$(wexec Root getent passwd alpha beta | cut -d: -f1,3 | xargs)" &&
	wexec Root getent shadow beta >/dev/null && wexec Root getent group alpha >/dev/null &&
	wexec Root pwck -r -q && wexec Root grpck -r &&
	cp -p "$R/etc/passwd" "$TMP/passwd" &&
	test_fails_with 3 "cannot merge .U3." wmerge U3 Root >"$TMP/out" &&
	grep -q "^! /etc/passwd: .*users alpha and gamma would share id 901" "$TMP/out" &&
	grep -q "^! /etc/group: .*groups alpha and gamma would share id 901" "$TMP/out" &&
	cmp "$TMP/passwd" "$R/etc/passwd" && wdelete U3
'

test_expect_success 'a failing test in tests.d: nothing merged, the report names it' '
	fresh_root && mkdir -p "$R/etc/pwapt/tests.d" &&
	printf "#!/bin/sh\nexit 0\n" >"$R/etc/pwapt/tests.d/10-ok" &&
	cat >"$R/etc/pwapt/tests.d/20-service" <<-\EOF &&
	#!/bin/sh
	# The service comes up in the background: give it 10 s.
	for i in $(seq 100); do
		test "$(cat /run/pwapt-test-svc.version 2>/dev/null)" = 1.1 && exit 0
		sleep 0.1
	done
	exit 1
	EOF
	printf "#!/bin/sh\necho broken >&2\nexit 7\n" >"$R/etc/pwapt/tests.d/30-fail" &&
	printf "#!/bin/sh\nexit 1\n" >"$R/etc/pwapt/tests.d/README.txt" &&
	chmod 755 "$R/etc/pwapt/tests.d/"* &&
	cp "$R/var/lib/dpkg/status" "$TMP/status" &&
	test_fails_with 4 "" pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" &&
	grep -q "^Test 10-ok: passed" "$TMP/out" &&
	grep -q "^Test 20-service: passed" "$TMP/out" &&
	grep -q "^Test 30-fail: FAILED (exit 7)" "$TMP/out" &&
	! grep -q "README" "$TMP/out" &&
	grep -q "^Tests failed: nothing is merged" "$TMP/out" &&
	cmp "$TMP/status" "$R/var/lib/dpkg/status" &&
	pwapt list | grep -Eq "^tx1 +Root +tests-failed" &&
	pwapt show tx1 | grep -q "FAILED 30-fail (exit 7)" &&
	test_fails_with 1 "tx1 is tests-failed" pwapt merge tx1 &&
	rm -r "$R/etc/pwapt/tests.d" &&
	pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx2 +Root +ready" &&
	pwapt discard tx1 | grep -q "^Discarded tx1; Root is untouched" &&
	pwapt discard tx2 && test_lacks "^tx" wlist
'

test_expect_success '--test-cmd is one more test, run in the world' '
	fresh_root &&
	pwapt install --test --discard -y --test-cmd "test -e /usr/share/pwapt-test/a.txt" \
		pwapt-test-a </dev/null >"$TMP/out" &&
	grep -q "^Test --test-cmd: passed" "$TMP/out" &&
	test_fails_with 4 "" pwapt install --test --discard -y --test-cmd "exit 3" \
		pwapt-test-b </dev/null >"$TMP/out" &&
	grep -q "^Test --test-cmd: FAILED (exit 3)" "$TMP/out"
'

# Kills the processes of world $1 whose command line matches $2; fails
# when it killed none.  (Processes of other worlds, and of other tests on
# the machine, match too: only the world's PID namespace counts.)
kill_in_world() {
	# liblxc's own view: wlist would wait for the store's lock.
	pid=$(lxc-info -P "$PWAPT_STATE/worlds" -n "$1" -p -H) &&
	ns=$(readlink "/proc/$pid/ns/pid") && [ -n "$ns" ] || return 1
	killed=1
	for p in $(pgrep -f "$2"); do
		[ "$(readlink /proc/$p/ns/pid)" = "$ns" ] && kill -9 "$p" && killed=0
	done
	return $killed
}

# Holds apt in a transaction's world, in pwapt-test-scripts' preinst,
# until the test removes Root's /etc/pwapt-test-hold: killed there, never
# after apt finished on a fast machine.
hold_apt() { : >"$R/etc/pwapt-test-hold"; }

# Waits until dpkg in transaction world $1 has unpacked something.
wait_dpkg_working() {
	for i in $(seq 600); do
		ls "$PWAPT_STATE/worlds/$1/upper/var/lib/dpkg/updates/" 2>/dev/null | grep -q "^0" && return 0
		grep -qs "^1.1 preinst" "$PWAPT_STATE/worlds/$1/upper/var/lib/pwapt-test/scripts.log" && return 0
		sleep 0.05
	done
	return 1
}

test_expect_success 'apt killed halfway in the world: discarded, Root untouched, the next command works' '
	fresh_root && hold_apt && tree_manifest "$R" >"$TMP/before" &&
	{ pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" 2>&1; echo $? >"$TMP/rc"; } &
	wait_dpkg_working tx1 &&
	kill_in_world tx1 "^apt-get -y -o Dpkg::Options" &&
	{ kill_in_world tx1 "^/usr/bin/dpkg|^dpkg" || :; } && # gone with apt-get, or the world
	wait && test_equal 1 "$(cat "$TMP/rc")" &&
	grep -q "apt-get failed (exit 137) in tx1: the world is discarded, Root is untouched" "$TMP/out" &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	test_lacks "^tx1 " wlist && rm "$R/etc/pwapt-test-hold" &&
	pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_expect_success 'pwapt killed while apt runs: the next command discards the transaction' '
	fresh_root && hold_apt && tree_manifest "$R" >"$TMP/before" &&
	pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" 2>&1 &
	pw=$! && wait_dpkg_working tx1 && kill -9 $pw && wait $pw;
	wlist | grep -q "^tx1 " &&
	pwapt list 2>"$TMP/err" >/dev/null &&
	grep -q "discarded tx1: its pwapt was interrupted while installing" "$TMP/err" &&
	test_lacks "^tx1 " wlist &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after"
'

# apt and dpkg write a transaction's layer volatile (no sync): a reboot
# then leaves a layer that may be torn, which is discarded, never merged.
test_expect_success 'a reboot while apt runs (volatile): recover and wlist say so, list discards it, Root untouched' '
	fresh_root && hold_apt && tree_manifest "$R" >"$TMP/before" &&
	pwapt upgrade --test --merge-on-success -y </dev/null >"$TMP/out" 2>&1 &
	pw=$! && wait_dpkg_working tx1 && kill -9 $pw && wait $pw;
	test -f "$PWAPT_STATE/worlds/tx1/volatile" &&
	simulate_reboot &&
	pwapt recover >"$TMP/out" &&
	grep -q "^.tx1. was volatile when its tree went away" "$TMP/out" &&
	test_has "^tx1 +Root +crashed" wlist &&
	test_fails_with 1 "tx1. was mounted volatile.*wdelete tx1" wdiff tx1 &&
	pwapt list 2>"$TMP/err" >/dev/null &&
	grep -q "discarded tx1: its pwapt was interrupted while installing" "$TMP/err" &&
	test_lacks "^tx1 " wlist &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	rm "$R/etc/pwapt-test-hold" &&
	pwapt upgrade --test --merge-on-success -y </dev/null >/dev/null &&
	test_equal 1.1 "$(installed Root pwapt-test-files)"
'

test_expect_success 'killed once its layer is synced, still volatile, then a reboot: discarded, never merged' '
	fresh_root && tree_manifest "$R" >"$TMP/before" &&
	test_exit 137 env PWAPT_CRASH_AT=durable-synced \
		pwapt upgrade --test --merge-on-success -y </dev/null >/dev/null 2>&1 &&
	simulate_reboot &&
	test_has "^tx1 +Root +crashed" wlist &&
	pwapt list 2>"$TMP/err" >/dev/null &&
	grep -q "discarded tx1" "$TMP/err" && test_lacks "^tx1 " wlist &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after"
'

test_expect_success 'a transaction that became ready is durable (made so before its services started, which run on): it survives a reboot and merges' '
	fresh_root &&
	pwapt upgrade --test --keep -y </dev/null >/dev/null &&
	! test -e "$PWAPT_STATE/worlds/tx1/volatile" &&
	wexec tx1 /etc/init.d/pwapt-test-svc status >/dev/null &&
	test_equal 1.1 "$(wexec tx1 cat /run/pwapt-test-svc.version)" &&
	! grep " $PWAPT_STATE/worlds/tx1/merged " /proc/self/mountinfo | grep -q volatile &&
	simulate_reboot &&
	pwapt recover && pwapt list >"$TMP/list" &&
	grep -Eq "^tx1 +Root +ready" "$TMP/list" &&
	test_has "^tx1 +Root +unmounted" wlist &&
	pwapt merge tx1 >/dev/null &&
	test_equal 1.1 "$(installed Root pwapt-test-files)" &&
	test_equal 1.1 "$(installed Root pwapt-test-conf)" &&
	wexec Root dpkg --audit >"$TMP/audit" && test_equal "" "$(cat "$TMP/audit")" &&
	test_lacks "^tx1 " wlist
'

test_expect_success 'pwapt killed while it makes the world: no world is left that is no transaction' '
	fresh_root && tree_manifest "$R" >"$TMP/before" &&
	for point in create-dir create-meta create-mount create-start create-ready; do
		test_exit 137 env PWAPT_CRASH_AT=$point \
			pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null 2>&1 &&
		no_transactions &&
		test_lacks "^tx" wlist || return 1
	done &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after" &&
	pwapt install --test --keep -y pwapt-test-a </dev/null >/dev/null &&
	pwapt list | grep -Eq "^tx6 +Root +ready"
'

test_expect_success 'bad input: an unknown package, a broken sources list, a missing transaction' '
	fresh_root && tree_manifest "$R" >"$TMP/before" &&
	test_fails_with 1 "unable to locate package no-such-package" \
		pwapt install --test -y no-such-package </dev/null &&
	cp -p "$R/etc/apt/sources.list" "$TMP/sources.list" &&
	echo "deb [trusted=yes] file:/srv/pwapt-repo" >>"$R/etc/apt/sources.list" &&
	test_fails_with 1 "malformed.*sources.list" pwapt upgrade --test -y </dev/null &&
	cp -p "$TMP/sources.list" "$R/etc/apt/sources.list" &&
	test_fails_with 1 "no transaction named .tx9." pwapt merge tx9 &&
	test_fails_with 1 "no transaction named .tx9." pwapt discard tx9 &&
	test_fails_with 1 "no transaction named .tx9." pwapt show tx9 &&
	wcreate W Root &&
	test_fails_with 1 "no transaction named .W. \(a world made with wcreate" pwapt merge W &&
	wdelete W &&
	test_fails_with 1 "invalid world name" pwapt merge ../x &&
	test_lacks "^tx" wlist &&
	tree_manifest "$R" >"$TMP/after" && diff -u "$TMP/before" "$TMP/after"
'

test_expect_success 'saying no at the question discards the world; nothing to do creates none' '
	fresh_root &&
	{ echo n | pwapt upgrade --test >"$TMP/out"; test $? = 1; } &&
	grep -q "Abort\.$" "$TMP/out" && test_lacks "^tx" wlist &&
	pwapt upgrade --test --merge-on-success -y </dev/null >/dev/null &&
	pwapt upgrade --test -y </dev/null >"$TMP/out" &&
	grep -q "^0 upgraded, 0 newly installed, 0 to remove and 1 not upgraded" "$TMP/out" &&
	grep -q "^Nothing to do" "$TMP/out" && test_lacks "^tx" wlist
'

test_done
