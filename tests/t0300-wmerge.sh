#!/bin/sh
# wmerge: exact, safe, atomic and recoverable merges into Root and into a
# live child world.
# over 100 merges, many killed at crash points: 250 to 410 s on a 2-core VM.
# timeout: 1200 s
. "$(dirname "$0")/lib.sh"
for t in setfacl setfattr setcap mknod mkfifo getfattr; do
	command -v $t >/dev/null || skip_all "$t is missing (acl, attr, libcap2-bin)"
done
R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }
. "$(dirname "$0")/lib-merge.sh"
# A file "f" 30 directories NAME below DIR, beyond PATH_MAX: made and read
# one cd at a time (dash and mkdir -p stop at PATH_MAX; manifest.py
# leaves it out); deep_read prints the length of its path and what it holds.
deep_make() {
	bash -c 'cd "$1" && for i in $(seq 30); do mkdir "$2" && cd "$2" || exit 1; done && echo deep >f' - "$@"
}
deep_read() {
	bash -c 'cd "$1" && for i in $(seq 30); do cd "$2" || exit 1; done && echo "$(pwd | wc -c) $(cat f)"' - "$@"
}

no_overlay_xattrs() {
	test -e "$1" &&
		test_lacks overlay getfattr -R -h -d -m '^(trusted|user)\.overlay\.' "$1"
}

test_expect_success 'a merge into Root makes Root what the world showed, then deletes the world' '
	fresh_root && wcreate A Root && change_everything A &&
	manifest "$PWAPT_STATE/worlds/A/merged/srv" >"$TMP/want" &&
	wmerge A Root &&
	manifest "$R/srv" >"$TMP/got" &&
	diff -u "$TMP/want" "$TMP/got" &&
	no_overlay_xattrs "$R/srv" &&
	test_lacks "^A " wlist &&
	test -d "$PWAPT_STATE/merges/Root" && ! test -e "$PWAPT_STATE/merge"
'

test_expect_success 'an ACL removed from a directory in the world is removed by the merge' '
	fresh_root && setfacl -m u:1000:rx "$R/srv/dir" &&
	wcreate A Root && setfacl -b "$PWAPT_STATE/worlds/A/merged/srv/dir" &&
	wdiff A | grep -qx "M /srv/dir" &&
	wmerge A Root && test_lacks "user:1000" getfacl -c "$R/srv/dir"
'

test_expect_success 'hard links of the world stay linked in Root' '
	fresh_root && wcreate A Root && change_everything A && wmerge A Root &&
	test "$(stat -c %i "$R/srv/hard1")" = "$(stat -c %i "$R/srv/hard2")"
'

test_expect_success 'a new hard link to a file the world did not change arrives as a link to DST'"'"'s file' '
	fresh_root && wcreate A Root && T="$PWAPT_STATE/worlds/A/merged/srv" &&
	ln "$T/dir/keep" "$T/keeplink" && wdiff A | grep -qx "A /srv/keeplink" &&
	test_lacks "/srv/dir/keep" wdiff A &&
	wmerge A Root &&
	test_equal "$(stat -c %i "$R/srv/dir/keep")" "$(stat -c %i "$R/srv/keeplink")" &&
	test_equal 2 "$(stat -c %h "$R/srv/dir/keep")" &&
	wcreate P Root && wcreate C P && T="$PWAPT_STATE/worlds/C/merged/srv" &&
	ln "$T/modify" "$T/modlink" && wmerge C P &&
	P="$PWAPT_STATE/worlds/P/merged/srv" &&
	test_equal "$(stat -c %i "$P/modify")" "$(stat -c %i "$P/modlink")" &&
	pwapt rollback P && ! test -e "$P/modlink" && test_equal 1 "$(stat -c %h "$P/modify")"
'

test_expect_success 'a merge into a live child world makes it what its child showed' '
	fresh_root && wcreate P Root && wcreate C P &&
	echo from-p >"$PWAPT_STATE/worlds/P/merged/srv/p-only" &&
	change_everything C &&
	manifest "$PWAPT_STATE/worlds/C/merged/srv" >"$TMP/want" &&
	manifest "$R/srv" >"$TMP/root-before" &&
	wmerge C P &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" >"$TMP/got" &&
	diff -u "$TMP/want" "$TMP/got" &&
	manifest "$R/srv" | diff -u "$TMP/root-before" - &&
	test_equal from-p "$(wexec P cat /srv/p-only)" &&
	no_overlay_xattrs "$PWAPT_STATE/worlds/P/merged/srv"
'

test_expect_success 'worlds stacked on the destination see the merged files' '
	fresh_root && wcreate A Root && wcreate S Root &&
	test_equal modify "$(wexec S cat /srv/modify)" &&
	echo merged >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root &&
	test_equal merged "$(cat "$PWAPT_STATE/worlds/S/merged/srv/modify")" &&
	test_equal merged "$(wexec S cat /srv/modify)"
'

test_expect_success 'worlds stacked on a child destination see the merged files' '
	fresh_root && wcreate P Root && wcreate A P && wcreate S P &&
	test_equal modify "$(wexec S cat /srv/modify)" &&
	echo merged >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A P &&
	test_equal merged "$(cat "$PWAPT_STATE/worlds/S/merged/srv/modify")" &&
	test_equal merged "$(wexec S cat /srv/modify)" &&
	wdelete S P
'

test_expect_success 'a conflict stops the merge before anything is written; --force merges' '
	fresh_root && wcreate A Root &&
	echo world >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	echo other >"$PWAPT_STATE/worlds/A/merged/srv/other" &&
	sleep 0.05 && echo root >"$R/srv/modify" &&
	manifest "$R" /proc /sys /dev >"$TMP/before" &&
	{ wmerge A Root >"$TMP/out" 2>"$TMP/err"; test_equal 3 $?; } &&
	grep -q "1 path changed in .Root. after .A. was created" "$TMP/err" &&
	grep -qx "! /srv/modify: changed in Root after A was created" "$TMP/out" &&
	manifest "$R" /proc /sys /dev | diff -u "$TMP/before" - &&
	wlist | grep -q "^A " &&
	wmerge --force A Root &&
	test_equal world "$(cat "$R/srv/modify")"
'

test_expect_success 'bad input: Root, a non-ancestor, twice, a world with children' '
	fresh_root && wcreate A Root && wcreate B Root && wcreate A2 A &&
	test_fails_with 1 "Root cannot be merged" wmerge Root A &&
	test_fails_with 1 "not an ancestor" wmerge A B &&
	test_fails_with 1 "not an ancestor" wmerge A A2 &&
	test_fails_with 1 "not an ancestor" wmerge A A &&
	test_fails_with 1 "cannot merge .A.: .A2. is built on it" wmerge A Root &&
	test_fails_with 1 "no world named .nope." wmerge nope Root &&
	test_fails_with 2 "usage: wmerge" wmerge A &&
	echo b >"$PWAPT_STATE/worlds/B/merged/srv/b" &&
	wmerge B Root && test_fails_with 1 "no world named .B." wmerge B Root
'

test_expect_success 'a symlink planted in the world is merged as a symlink, nothing outside DST changes' '
	fresh_root && mkdir -p "$TMP/canary" && echo precious >"$TMP/canary/file" &&
	manifest "$TMP/canary" >"$TMP/canary.before" &&
	wcreate A Root && T="$PWAPT_STATE/worlds/A/merged" &&
	ln -s "$TMP/canary" "$T/srv/escape" && ln -s /etc "$T/srv/etc-link" &&
	mkdir "$T/srv/swap" && echo inside >"$T/srv/swap/file" &&
	ln -s "$TMP/canary" "$R/srv/swap" &&
	wmerge --force A Root &&
	test -L "$R/srv/escape" && test -d "$R/srv/swap" && ! test -L "$R/srv/swap" &&
	test_equal inside "$(cat "$R/srv/swap/file")" &&
	manifest "$TMP/canary" | diff -u "$TMP/canary.before" -
'

test_expect_success 'a directory of the destination swapped for a symlink meanwhile: refused, nothing outside written' '
	fresh_root && mkdir -p "$TMP/canary2" && manifest "$TMP/canary2" >"$TMP/c2.before" &&
	wcreate A Root && mkdir -p "$PWAPT_STATE/worlds/A/merged/srv/dir/sub" &&
	echo via >"$PWAPT_STATE/worlds/A/merged/srv/dir/sub/new" &&
	mv "$R/srv/dir" "$R/srv/dir.real" && ln -s "$TMP/canary2" "$R/srv/dir" &&
	manifest "$R" /proc /sys /dev >"$TMP/before" &&
	wmerge --force A Root 2>"$TMP/err"; cat "$TMP/err";
	manifest "$TMP/canary2" | diff -u "$TMP/c2.before" - &&
	{ test -d "$R/srv/dir" && ! test -L "$R/srv/dir" ||
	  manifest "$R" /proc /sys /dev | diff -u "$TMP/before" -; }
'

test_expect_success 'DST directories swapped for symlinks in a race loop during merges: nothing outside written' '
	fresh_root && mkdir -p "$TMP/canary3" && echo precious >"$TMP/canary3/f" &&
	manifest "$TMP/canary3" >"$TMP/c3.before" &&
	mkdir -p "$R/srv/race" &&
	{ ( end=$(($(date +%s) + 8)); while [ $(date +%s) -lt $end ]; do
		mv -T "$R/srv/race" "$R/srv/race.d" 2>/dev/null &&
		ln -sfn "$TMP/canary3" "$R/srv/race" 2>/dev/null;
		rm -f "$R/srv/race" 2>/dev/null; mv -T "$R/srv/race.d" "$R/srv/race" 2>/dev/null;
	done ) & racer=$!; } &&
	for i in 1 2 3 4 5 6 7 8; do
		wcreate X$i Root 2>/dev/null || continue
		# Inside the world, where the planted link leads nowhere.
		wexec X$i sh -c "mkdir -p /srv/race && echo run >/srv/race/f$i && echo run >/srv/race/f" 2>/dev/null
		wmerge --force X$i Root >/dev/null 2>&1
	done;
	kill $racer 2>/dev/null; wait $racer 2>/dev/null;
	manifest "$TMP/canary3" | diff -u "$TMP/c3.before" - &&
	! test -e "$PWAPT_STATE/merge"
'

test_expect_success 'wmerge --rebase moves the worlds built on SRC onto DST' '
	fresh_root && wcreate A Root && wcreate K A && wcreate K2 K &&
	echo from-a >"$PWAPT_STATE/worlds/A/merged/srv/a" &&
	echo from-k >"$PWAPT_STATE/worlds/K/merged/srv/k" &&
	test_fails_with 1 "cannot merge .A.: .K. is built on it" wmerge A Root &&
	wmerge --rebase A Root &&
	test_equal from-a "$(cat "$R/srv/a")" &&
	wlist | grep -Eq "^K +Root +running" && wlist | grep -Eq "^K2 +K +running" &&
	test_equal from-a "$(wexec K cat /srv/a)" &&
	test_equal from-k "$(wexec K2 cat /srv/k)" &&
	test_equal "A /srv/k" "$(wdiff K)"
'

test_expect_success 'a rebased world that saw SRC s version merges without a false conflict' '
	fresh_root && wcreate A Root &&
	echo from-a >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wcreate K A &&
	echo from-k >"$PWAPT_STATE/worlds/K/merged/srv/modify" &&
	wmerge --rebase A Root && test_equal from-a "$(cat "$R/srv/modify")" &&
	wmerge K Root && test_equal from-k "$(cat "$R/srv/modify")" &&
	wcreate L Root && echo from-l >"$PWAPT_STATE/worlds/L/merged/srv/modify" &&
	wcreate L2 L && echo from-l2 >"$PWAPT_STATE/worlds/L2/merged/srv/modify" &&
	wmerge --rebase L Root &&
	echo "changed in Root" >"$R/srv/modify" &&
	test_fails_with 3 "1 path changed in .Root. after .L2. was created" wmerge L2 Root &&
	test_equal "changed in Root" "$(cat "$R/srv/modify")"
'

# As a package upgrade, then its removal, in a chain of transactions: SRC
# replaces a file by a rename (its directory changes in DST at the merge),
# the world built on SRC deletes the directory.
test_expect_success 'a rebased world that deletes a directory whose files SRC replaced: no false conflict' '
	fresh_root && mkdir "$R/srv/d" && echo old >"$R/srv/d/f" &&
	wcreate A Root &&
	wexec A sh -c "echo new >/srv/d/f.new && mv /srv/d/f.new /srv/d/f" &&
	wcreate K A && wexec K rm -r /srv/d &&
	wmerge --rebase A Root && test_equal new "$(cat "$R/srv/d/f")" &&
	test_has "^D /srv/d$" wdiff K Root &&
	wmerge K Root && ! test -e "$R/srv/d" &&
	mkdir "$R/srv/d" && echo old >"$R/srv/d/f" &&
	wcreate L Root &&
	wexec L sh -c "echo new >/srv/d/f.new && mv /srv/d/f.new /srv/d/f" &&
	wcreate L2 L && wexec L2 rm -r /srv/d &&
	wmerge --rebase L Root &&
	echo "Root s own" >"$R/srv/d/g" &&
	test_fails_with 3 "changed in .Root. after .L2. was created" wmerge L2 Root &&
	test_equal "Root s own" "$(cat "$R/srv/d/g")"
'

# A chain of transactions, merged one by one: what A added, C (built on B,
# built on A) saw and deletes; C is not A's child, yet saw A's files.
test_expect_success 'a world built two levels on a rebased SRC deletes what SRC added: no false conflict' '
	fresh_root && wcreate A Root && wexec A sh -c "echo a >/srv/x" &&
	wcreate B A && wexec B sh -c "echo b >/srv/y" &&
	wcreate C B && wexec C rm /srv/x &&
	wmerge --rebase A Root && test_equal a "$(cat "$R/srv/x")" &&
	wmerge --rebase B Root &&
	test_has "^D /srv/x$" wdiff C Root &&
	wmerge C Root && ! test -e "$R/srv/x" && test_equal b "$(cat "$R/srv/y")"
'

test_expect_success 'a directory both siblings renamed into place: the hidden file is explained, check-off keeps it' '
	fresh_root && wcreate A Root && wcreate B Root &&
	for w in A B; do
		mkdir "$PWAPT_STATE/worlds/$w/merged/srv/n.new" &&
		mv "$PWAPT_STATE/worlds/$w/merged/srv/n.new" "$PWAPT_STATE/worlds/$w/merged/srv/n" || return 1
	done &&
	echo a >"$PWAPT_STATE/worlds/A/merged/srv/n/a" && echo b >"$PWAPT_STATE/worlds/B/merged/srv/n/b" &&
	wmerge A Root &&
	{ wdiff B Root >"$TMP/out"; test_equal 3 $?; } &&
	grep -q "^! /srv/n/a: .*directory /srv/n is opaque .* check-off B /srv/n/a keeps it" "$TMP/out" &&
	check-off B /srv/n/a && wmerge B Root &&
	test_equal "a b" "$(ls "$R/srv/n" | xargs)"
'

test_expect_success 'odd names merge like any other: dots, spaces, newlines, %, long paths' '
	fresh_root && wcreate A Root && T="$PWAPT_STATE/worlds/A/merged/srv" &&
	echo d >"$T/..dots" && echo e >"$T/a..b" && echo s >"$T/with space" &&
	echo p >"$T/100%" && echo n >"$T/new
line" &&
	long=$(printf "%0200d" 0) &&
	deep_make "$T" "$long" &&
	manifest "$T" "/$long" >"$TMP/want" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	pwapt recover >/dev/null && wmerge A Root &&
	manifest "$R/srv" "/$long" | diff -u "$TMP/want" - &&
	deep_read "$R/srv" "$long" >"$TMP/deep" && read -r len content <"$TMP/deep" &&
	test "$len" -gt 6000 && test_equal deep "$content" &&
	pwapt rollback && ! test -e "$R/srv/with space" && ! test -e "$R/srv/$long"
'

test_expect_success 'a forced merge rolled back by a crash leaves the conflict a conflict' '
	fresh_root && wcreate A Root && wcreate B Root &&
	echo from-a >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	echo from-b >"$PWAPT_STATE/worlds/B/merged/srv/modify" &&
	wmerge A Root &&
	{ PWAPT_CRASH_AT=merge-applied wmerge --force B Root; test_equal 137 $?; } &&
	pwapt recover >/dev/null && test_equal from-a "$(cat "$R/srv/modify")" &&
	test_fails_with 3 "changed in .Root. after .B. was created" wmerge B Root &&
	test_equal from-a "$(cat "$R/srv/modify")"
'

test_expect_success 'a merge waits for the lock another command holds' '
	fresh_root && wcreate A Root && echo x >"$PWAPT_STATE/worlds/A/merged/srv/x" &&
	hold_lock "$TMP/err" && wmerge A Root 2>"$TMP/err" && wait $holder &&
	grep -q "waiting for another pwapt command" "$TMP/err" &&
	test_equal x "$(cat "$R/srv/x")"
'

test_expect_success 'a world left frozen (as by a killed merge) is thawed by the next command' '
	fresh_root && wcreate A Root &&
	lxc-freeze -P "$PWAPT_STATE/worlds" -n A &&
	lxc-info -P "$PWAPT_STATE/worlds" -n A | grep -q FROZEN &&
	test_equal thawed "$(timeout 20 wexec A echo thawed)"
'

test_expect_success 'killed after freezing SRC: recover thaws it' '
	fresh_root && wcreate A Root && echo x >"$PWAPT_STATE/worlds/A/merged/srv/x" &&
	{ PWAPT_CRASH_AT=merge-planned wmerge A Root; test_equal 137 $?; } &&
	world_frozen A && pwapt recover >/dev/null && ! world_frozen A &&
	test_equal ok "$(timeout 20 wexec A echo ok)"
'

# Crash at every step: the tree afterwards is all old or all new.
points="merge-planned merge-prepared merge-applied merge-done"
for i in $(seq 0 24); do points="$points merge-op:$i"; done
for point in $points; do
	test_expect_success "killed at $point: recover leaves Root all old or all new" "
		fresh_root && wcreate A Root && change_everything A &&
		manifest '$R/srv' >'$TMP/old' &&
		manifest '$PWAPT_STATE/worlds/A/merged/srv' >'$TMP/new' &&
		{ PWAPT_CRASH_AT=$point wmerge A Root; test_equal 137 \$?; } &&
		pwapt recover | grep -q 'recovered an interrupted merge' &&
		manifest '$R/srv' >'$TMP/now' &&
		if cmp -s '$TMP/now' '$TMP/old'; then
			wlist | grep -q '^A ' && wmerge A Root &&
			manifest '$R/srv' | diff -u '$TMP/new' -
		else
			diff -u '$TMP/new' '$TMP/now' && test_lacks '^A ' wlist
		fi &&
		! test -e '$PWAPT_STATE/merge' &&
		test_lacks . find '$R' -name '.pwapt-merge-*'
	"
done

for point in merge-prepared merge-op:0 merge-op:5 merge-op:12 merge-op:20 merge-applied merge-done; do
	test_expect_success "killed at $point merging into a child world: all old or all new" "
		fresh_root && wcreate P Root && wcreate C P && change_everything C &&
		manifest '$PWAPT_STATE/worlds/P/merged/srv' >'$TMP/old' &&
		manifest '$PWAPT_STATE/worlds/C/merged/srv' >'$TMP/new' &&
		{ PWAPT_CRASH_AT=$point wmerge C P; test_equal 137 \$?; } &&
		pwapt recover >/dev/null &&
		manifest '$PWAPT_STATE/worlds/P/merged/srv' >'$TMP/now' &&
		if cmp -s '$TMP/now' '$TMP/old'; then
			wmerge C P && manifest '$PWAPT_STATE/worlds/P/merged/srv' | diff -u '$TMP/new' -
		else
			diff -u '$TMP/new' '$TMP/now' && test_lacks '^C ' wlist
		fi
	"
done

test_expect_success 'pwapt rollback undoes the last merge into Root exactly' '
	fresh_root && manifest "$R" /proc /sys /dev >"$TMP/before" &&
	wcreate A Root && change_everything A && wmerge A Root &&
	pwapt rollback &&
	manifest "$R" /proc /sys /dev | diff -u "$TMP/before" - &&
	test_fails_with 1 "no merge into .Root. to roll back" pwapt rollback
'

test_expect_success 'pwapt rollback refuses, naming them, when merged paths changed since; --force' '
	fresh_root && manifest "$R/srv" >"$TMP/before" &&
	wcreate A Root && change_everything A && wmerge A Root &&
	sleep 0.05 && echo later >>"$R/srv/added" &&
	{ pwapt rollback >"$TMP/out" 2>"$TMP/err"; test_equal 3 $?; } &&
	grep -q "1 path changed since" "$TMP/err" &&
	grep -qx "! /srv/added: changed since the merge" "$TMP/out" &&
	cp "$R/srv/added" "$TMP/edited" &&
	pwapt rollback --force 2>"$TMP/err" &&
	grep -q "/srv/added changed since the merge: kept as /srv/added.pwapt-rollback-1~" "$TMP/err" &&
	cmp "$TMP/edited" "$R/srv/added.pwapt-rollback-1~" &&
	rm "$R/srv/added.pwapt-rollback-1~" &&
	manifest "$R/srv" | diff -u "$TMP/before" -
'

# DST's edits since the merge outlive a forced roll-back, also one killed
# while it keeps them (rollback-aside:N) and run again.
test_expect_success 'pwapt rollback --force keeps what Root changed since beside it, killed or not' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/fresh" &&
	wmerge A Root && sleep 0.05 &&
	echo admin-edit >"$R/srv/modify" && echo admin-new >>"$R/srv/fresh" &&
	{ PWAPT_CRASH_AT=rollback-aside:0 pwapt rollback --force 2>/dev/null; test_equal 137 $?; } &&
	test_equal admin-edit "$(cat "$R/srv/modify")" &&
	test_fails_with 3 "2 paths changed since" pwapt rollback &&
	pwapt rollback --force 2>"$TMP/err" &&
	test_equal modify "$(cat "$R/srv/modify")" && ! test -e "$R/srv/fresh" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	printf "new\nadmin-new\n" | cmp - "$R/srv/fresh.pwapt-rollback-1~" &&
	! test -e "$R/srv/modify.pwapt-rollback-2~" &&
	! test -e "$R/srv/fresh.pwapt-rollback-2~" &&
	test_equal 2 "$(grep -c "changed since the merge: kept as" "$TMP/err")"
'

# A file the merge deleted and Root made again since: Root's stays, and
# what the merge deleted comes back beside it, named (review R17 M2).
test_expect_success 'pwapt rollback --force of a delete Root undid by hand: both kept' '
	fresh_root && wcreate A Root && wexec A rm /srv/delete &&
	wmerge A Root && sleep 0.05 && echo admin-new >"$R/srv/delete" &&
	pwapt rollback --force 2>"$TMP/err" &&
	test_equal admin-new "$(cat "$R/srv/delete")" &&
	test_equal delete "$(cat "$R/srv/delete.pwapt-rollback-1~")" &&
	grep -q "/srv/delete was taken since the merge: the file the merge deleted there is back beside it, as /srv/delete.pwapt-rollback-1~" "$TMP/err"
'

# A backup database (/etc/passwd-) is no database undone record by record:
# Root's edit kept beside it too.  And a path that cannot be kept (its
# directory immutable) refuses the forced roll-back, naming it, with
# nothing rolled back (review R17 L1, M3).
test_expect_success 'pwapt rollback --force keeps a backup database Root changed; refuses, naming it, a path it cannot keep' '
	fresh_root && wcreate A Root &&
	wexec A sh -c "echo world >/etc/passwd-; echo new >/srv/modify" &&
	wmerge A Root && sleep 0.05 &&
	echo admin-edit >"$R/etc/passwd-" && echo admin-edit >"$R/srv/modify" &&
	chattr +i "$R/srv" &&
	{ pwapt rollback --force 2>"$TMP/err"; rc=$?; chattr -i "$R/srv"; test_equal 1 $rc; } &&
	grep -q "cannot keep /srv/modify, changed since the merge, beside it (nothing was rolled back)" "$TMP/err" &&
	test_equal admin-edit "$(cat "$R/srv/modify")" &&
	pwapt rollback --force 2>"$TMP/err" &&
	test_equal admin-edit "$(cat "$R/etc/passwd-.pwapt-rollback-1~")" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	test_equal modify "$(cat "$R/srv/modify")" && rm "$R/etc/passwd-.pwapt-rollback-1~"
'

# A file system without hard links (vfat; here an injected EPERM): a copy.
test_expect_success 'pwapt rollback --force keeps a copy where a hard link is refused' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && sleep 0.05 && echo admin-edit >"$R/srv/modify" &&
	PWAPT_FAIL_AT=rollback-aside-link pwapt rollback --force 2>"$TMP/err" &&
	grep -q "kept as /srv/modify.pwapt-rollback-1~" "$TMP/err" &&
	test_equal modify "$(cat "$R/srv/modify")" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	test_equal 1 "$(stat -c %h "$R/srv/modify.pwapt-rollback-1~")"
'

# That copy is made whole under a name of its own first: killed once it
# is whole, before its rename, nothing is under the kept name; run again,
# it is kept whole.  The part the killed run left stays, named on stderr.
test_expect_success 'pwapt rollback --force killed before it renames the copy it keeps: no part under the kept name' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && sleep 0.05 && echo admin-edit >"$R/srv/modify" &&
	{ PWAPT_FAIL_AT=rollback-aside-link PWAPT_CRASH_AT=rollback-aside-copy pwapt rollback --force 2>/dev/null; test_equal 137 $?; } &&
	! test -e "$R/srv/modify.pwapt-rollback-1~" &&
	test_equal admin-edit "$(cat "$R/srv/modify")" &&
	test_equal admin-edit "$(cat "$R/srv/pwapt-rollback-part-1~")" &&
	PWAPT_FAIL_AT=rollback-aside-link pwapt rollback --force 2>"$TMP/err" &&
	grep -q "kept as /srv/modify.pwapt-rollback-1~" "$TMP/err" &&
	test_equal 1 "$(grep -c "/srv/pwapt-rollback-part-1~ is there, perhaps left by a killed pwapt rollback --force: check it, then remove it$" "$TMP/err")" &&
	test_equal modify "$(cat "$R/srv/modify")" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	test_equal admin-edit "$(cat "$R/srv/pwapt-rollback-part-1~")" &&
	! test -e "$R/srv/pwapt-rollback-part-2~"
'

# The kept name taken by a file of Root: the copy is kept under the next,
# and no part is left.
test_expect_success 'pwapt rollback --force copies under the next name where the first is taken' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && sleep 0.05 && echo admin-edit >"$R/srv/modify" &&
	echo by-hand >"$R/srv/modify.pwapt-rollback-1~" &&
	PWAPT_FAIL_AT=rollback-aside-link pwapt rollback --force 2>"$TMP/err" &&
	grep -q "kept as /srv/modify.pwapt-rollback-2~" "$TMP/err" &&
	test_equal by-hand "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-2~")" &&
	test_equal modify "$(cat "$R/srv/modify")" &&
	! test -e "$R/srv/pwapt-rollback-part-1~" && ! test -e "$R/srv/pwapt-rollback-part-2~"
'

# Killed once the copy it keeps has its name (vfat): run again, that copy
# is recognised (the same status and bytes), and no second one is made.
test_expect_success 'pwapt rollback --force killed after it kept a copy: run again, no second copy' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && sleep 0.05 && echo admin-edit >"$R/srv/modify" &&
	{ PWAPT_FAIL_AT=rollback-aside-link PWAPT_CRASH_AT=rollback-aside:0 pwapt rollback --force 2>/dev/null; test_equal 137 $?; } &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	test_equal admin-edit "$(cat "$R/srv/modify")" &&
	PWAPT_FAIL_AT=rollback-aside-link pwapt rollback --force 2>"$TMP/err" &&
	cat "$TMP/err" &&
	grep -q "kept as /srv/modify.pwapt-rollback-1~" "$TMP/err" &&
	test_equal modify "$(cat "$R/srv/modify")" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")" &&
	! test -e "$R/srv/modify.pwapt-rollback-2~" &&
	! test -e "$R/srv/pwapt-rollback-part-1~"
'

# The copy there differs (another mtime): not this file's, a new one made.
test_expect_success 'pwapt rollback --force: a copy of other status under the kept name is not taken for it' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && sleep 0.05 && echo admin-edit >"$R/srv/modify" &&
	cp "$R/srv/modify" "$R/srv/modify.pwapt-rollback-1~" &&
	touch -d @0 "$R/srv/modify.pwapt-rollback-1~" &&
	PWAPT_FAIL_AT=rollback-aside-link pwapt rollback --force 2>"$TMP/err" &&
	grep -q "kept as /srv/modify.pwapt-rollback-2~" "$TMP/err" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-2~")"
'

# Every name taken: the refusal says what is in the way, and nothing moves.
test_expect_success 'pwapt rollback --force where every kept name or part name is taken: refused, saying which' '
	fresh_root && wcreate A Root &&
	echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && sleep 0.05 && echo admin-edit >"$R/srv/modify" &&
	i=1 && while [ $i -le 1000 ]; do
		: >"$R/srv/modify.pwapt-rollback-$i~" && : >"$R/srv/pwapt-rollback-part-$i~" &&
		i=$((i + 1)); done &&
	{ pwapt rollback --force 2>"$TMP/err"; test_equal 1 $?; } && cat "$TMP/err" &&
	grep -q "cannot keep /srv/modify, changed since the merge, beside it (nothing was rolled back): modify.pwapt-rollback-1~ to -1000~ are all taken$" "$TMP/err" &&
	rm "$R/srv/modify.pwapt-rollback-1~" &&
	{ PWAPT_FAIL_AT=rollback-aside-link pwapt rollback --force 2>"$TMP/err"; test_equal 1 $?; } && cat "$TMP/err" &&
	grep -q "cannot keep /srv/modify, changed since the merge, beside it (nothing was rolled back): pwapt-rollback-part-1~ to -1000~ are all there beside it, left by killed runs of pwapt rollback --force: check them, then remove them$" "$TMP/err" &&
	test_equal admin-edit "$(cat "$R/srv/modify")" &&
	! test -e "$R/srv/modify.pwapt-rollback-1~" &&
	rm "$R"/srv/*.pwapt-rollback-*~ "$R"/srv/pwapt-rollback-part-*~ &&
	pwapt rollback --force 2>/dev/null &&
	test_equal modify "$(cat "$R/srv/modify")"
'

# A world adds /srv/nl<newline>x and /srv/plain.
add_newline_path() {
	wexec "$1" sh -c 'echo x >"$(printf "/srv/nl\nx")"; echo y >/srv/plain'
}

test_expect_success 'pwapt rollback counts paths changed since, not lines: a path holding a newline is one' '
	fresh_root && wcreate A Root && add_newline_path A && wmerge A Root &&
	sleep 0.05 && echo later >>"$R/srv/plain" && echo later >>"$R/srv/nl
x" &&
	{ pwapt rollback >"$TMP/out" 2>"$TMP/err"; test_equal 3 $?; } &&
	grep -q "2 paths changed since" "$TMP/err" &&
	grep -qx "! \"/srv/nl\\\\nx\": changed since the merge" "$TMP/out" &&
	grep -qx "! /srv/plain: changed since the merge" "$TMP/out" &&
	test_equal 2 "$(wc -l <"$TMP/out")" &&
	pwapt rollback --force && ! test -e "$R/srv/plain"
'

test_expect_success 'pwapt rollback of a merge into a child world' '
	fresh_root && wcreate P Root && wcreate C P && change_everything C &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" >"$TMP/before" &&
	wmerge C P && pwapt rollback P &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" | diff -u "$TMP/before" -
'

test_expect_success 'pwapt rollback restores a directory'"'"'s xattrs and ACLs' '
	fresh_root && setfacl -m u:1000:rx "$R/srv/dir" && setfattr -n user.keep -v yes "$R/srv/dir" &&
	manifest "$R/srv" >"$TMP/before" && grep -q "^/dir .*user.keep=" "$TMP/before" &&
	wcreate A Root && D="$PWAPT_STATE/worlds/A/merged/srv/dir" &&
	setfacl -b "$D" && setfacl -m u:2000:r "$D" && setfattr -n user.new -v 1 "$D" &&
	echo x >"$D/newfile" && wmerge A Root &&
	getfacl -c "$R/srv/dir" | grep -q "^user:2000:r" &&
	pwapt rollback &&
	manifest "$R/srv" | diff -u "$TMP/before" -
'

# A path that Root creates or replaces after the plan is Root's: the merge
# stops and rolls back what it did, instead of overwriting it (and then
# removing it in a roll-back).
for case in "merge-prepared:echo dst >\"\$R/srv/added\":/added" \
	"merge-planned:echo dst >\"\$R/srv/m.new\" && mv \"\$R/srv/m.new\" \"\$R/srv/modify\":/modify"; do
	point=${case%%:*} rest=${case#*:} change=${rest%:*} path=${rest##*:}
	test_expect_success "a path Root changes while stopped at $point is not overwritten: $change" "
		fresh_root && wcreate A Root && change_everything A &&
		manifest '$R/srv' >'$TMP/before' &&
		{ PWAPT_STOP_AT=$point wmerge A Root 2>'$TMP/err' & pid=\$!; } &&
		wait_for 20 \"grep -q '^State:.*T' /proc/\$pid/status\" &&
		$change &&
		manifest '$R/srv' | grep '^$path ' >'$TMP/changed' &&
		kill -CONT \$pid && { wait \$pid; test_equal 1 \$?; } &&
		cat '$TMP/err' && grep -q '$path changed in .Root. during the merge' '$TMP/err' &&
		test_equal dst \"\$(cat '$R/srv$path')\" &&
		{ grep -v '^$path ' '$TMP/before'; cat '$TMP/changed'; } | sort >'$TMP/want' &&
		manifest '$R/srv' | sort | diff -u '$TMP/want' - &&
		wlist | grep -q '^A ' && ! test -e '$PWAPT_STATE/merge'
	"
done


for case in "killed:true" "killed, then a reboot:reboot_quietly"; do
test_expect_success "a merge ${case%:*} after Root created a path it adds: recover leaves Root's file" '
	fresh_root && wcreate A Root && change_everything A &&
	manifest "$R/srv" >"$TMP/before" &&
	{ PWAPT_STOP_AT=merge-prepared wmerge A Root & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo dst >"$R/srv/added" && manifest "$R/srv" | grep "^/added " >"$TMP/changed" &&
	kill -9 $pid && { wait $pid; test_equal 137 $?; } &&
	'${case##*:}' &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	test_equal dst "$(cat "$R/srv/added")" &&
	cat "$TMP/before" "$TMP/changed" | sort >"$TMP/want" &&
	manifest "$R/srv" | sort | diff -u "$TMP/want" -
'
done

# Killed once done, before it wrote what the merged paths are like: what
# Root changes before the next command is Root's, never taken for the
# merge's own, and a roll-back refuses to overwrite it.
for point in merge-done delete-unmount; do
test_expect_success "a merge killed at $point, Root changes merged files before the next command: rollback refuses, naming them" '
	fresh_root && wcreate A Root && change_everything A &&
	{ PWAPT_CRASH_AT='$point' wmerge A Root; test_equal 137 $?; } &&
	echo root-edit >>"$R/srv/modify" && chmod 640 "$R/srv/added" &&
	echo replaced >"$R/srv/t.new" && mv "$R/srv/t.new" "$R/srv/touch" &&
	setfattr -n user.rootnote -v mine "$R/srv/xattr" &&
	setcap cap_net_admin+ep "$R/srv/chown" &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	{ pwapt rollback >"$TMP/out" 2>"$TMP/err"; test_equal 3 $?; } &&
	cat "$TMP/out" "$TMP/err" &&
	printf "! /srv/%s: changed since the merge\n" added chown modify touch xattr >"$TMP/want" &&
	grep "^! " "$TMP/out" | sort | diff -u "$TMP/want" - &&
	grep -q "5 paths changed since" "$TMP/err" &&
	grep -q root-edit "$R/srv/modify" && test_equal replaced "$(cat "$R/srv/touch")" &&
	test_equal mine "$(getfattr -h --only-values -n user.rootnote "$R/srv/xattr")" &&
	getcap "$R/srv/chown" | grep -q cap_net_admin
'
done

# Not killed: Root sets an xattr on a merged file while the done merge
# deletes SRC (whose going changes that file's ctime too).
test_expect_success 'Root sets an xattr on a merged file while the merge deletes SRC: rollback refuses, naming it' '
	fresh_root && wcreate A Root && change_everything A &&
	{ PWAPT_STOP_AT=merge-done wmerge A Root & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	setfattr -n user.rootnote -v mine "$R/srv/xattr" &&
	kill -CONT $pid && wait $pid &&
	{ pwapt rollback >"$TMP/out" 2>"$TMP/err"; test_equal 3 $?; } &&
	grep -qx "! /srv/xattr: changed since the merge" "$TMP/out" &&
	test_equal 1 "$(grep -c "^! " "$TMP/out")" &&
	test_equal mine "$(getfattr -h --only-values -n user.rootnote "$R/srv/xattr")"
'

for case in "killed once done:true" "killed once done, then a reboot:reboot_quietly"; do
test_expect_success "a merge into a child world ${case%:*}: its rollback restores the child exactly" '
	child_merge_killed_done '${case##*:}'
'
done

test_expect_success 'a merge into Root killed once done, then a reboot: its rollback restores Root exactly' '
	fresh_root && manifest "$R/srv" >"$TMP/before" &&
	wcreate A Root && change_everything A &&
	{ PWAPT_CRASH_AT=merge-done wmerge A Root; test_equal 137 $?; } &&
	reboot_quietly &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	pwapt rollback &&
	manifest "$R/srv" | diff -u "$TMP/before" -
'

# A recovery after a reboot that cannot mount SRC (its work directory
# broken here) tells SRC's files by its layer: a file Root made, since the
# kill, where the merge adds one is Root's, not the merge's to remove.
# W is set first, never after a step that may fail: the steps after a
# ";" run whatever came before, and an empty W made "rm -rf /work" of
# them (the parent of a CI's checkout, lost so once).
test_expect_success 'killed, then a reboot, SRC cannot be mounted: recovery keeps a file Root made where the merge adds one' '
	W=$PWAPT_STATE/worlds/A &&
	fresh_root && wcreate A Root && change_everything A &&
	manifest "$R/srv" >"$TMP/before" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge A Root; test_equal 137 $?; } &&
	reboot_quietly &&
	rm -rf "${W:?}/work" && echo broken >"$W/work" &&
	echo mine >"$R/srv/added" &&
	pwapt recover 2>"$TMP/err"; r=$?; cat "$TMP/err";
	rm -rf "${W:?}/work" && mkdir "$W/work" && test $r = 0 &&
	test_equal mine "$(cat "$R/srv/added")" &&
	manifest "$R/srv" | grep -v "^/added " | diff -u "$TMP/before" - &&
	! test -e "$PWAPT_STATE/merge"
'

# SRC built on world P, merged straight into Root: its own layer lacks
# what it saw from P's.  Such a path cannot be told from SRC's version:
# Root's file there stays, and a save goes beside it, said, never over it.
test_expect_success 'SRC on a world, killed, a reboot, SRC cannot be mounted: recovery keeps what it cannot tell, saying so' '
	W=$PWAPT_STATE/worlds/C &&
	fresh_root && wcreate P Root && PT=$PWAPT_STATE/worlds/P/merged/srv &&
	echo p >"$PT/padded" && echo by-p >"$PT/modify" &&
	wcreate C P && echo c >"$PWAPT_STATE/worlds/C/merged/srv/cadded" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge C Root; test_equal 137 $?; } &&
	reboot_quietly &&
	rm -rf "${W:?}/work" && echo broken >"$W/work" &&
	echo mine >"$R/srv/padded" && echo mine >"$R/srv/cadded" &&
	pwapt recover 2>"$TMP/err"; r=$?; cat "$TMP/err";
	rm -rf "${W:?}/work" && mkdir "$W/work" && test $r = 0 &&
	grep -q "cannot tell whether /srv/padded is what the merge put there (.C. cannot be mounted): it stays" "$TMP/err" &&
	test_equal mine "$(cat "$R/srv/padded")" && test_equal mine "$(cat "$R/srv/cadded")" &&
	fresh_root && wcreate P Root && echo by-p >"$PT/modify" && wcreate C P &&
	{ PWAPT_CRASH_AT=merge-applied wmerge C Root; test_equal 137 $?; } &&
	test_equal by-p "$(cat "$R/srv/modify")" && reboot_quietly &&
	rm -rf "${W:?}/work" && echo broken >"$W/work" &&
	pwapt recover 2>"$TMP/err"; r=$?; cat "$TMP/err";
	rm -rf "${W:?}/work" && mkdir "$W/work" && test $r = 0 &&
	grep -q "cannot tell whether /srv/modify is what the merge put there (.C. cannot be mounted): it stays, and what was there before the merge is beside it, as /srv/modify.pwapt-rollback-1~" "$TMP/err" &&
	test_equal by-p "$(cat "$R/srv/modify")" &&
	test_equal modify "$(cat "$R/srv/modify.pwapt-rollback-1~")"
'

test_expect_success 'a merged world is killed frozen: none of its processes writes into Root after the merge' '
	fresh_root && wcreate A Root &&
	wexec A sh -c "echo 0 >/srv/tick; while :; do echo x >>/srv/tick; done </dev/null >/dev/null 2>&1 &" &&
	wait_for 10 "test \$(wc -l <$PWAPT_STATE/worlds/A/upper/srv/tick) -gt 10" &&
	{ PWAPT_STOP_AT=merge-done wmerge A Root & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	cp "$R/srv/tick" "$TMP/tick" &&
	kill -CONT $pid && wait $pid &&
	cmp "$TMP/tick" "$R/srv/tick"
'

test_expect_success 'a roll-back killed halfway is finished by the next command' '
	fresh_root && manifest "$R" /proc /sys /dev >"$TMP/before" &&
	wcreate A Root && change_everything A && wmerge A Root &&
	{ PWAPT_CRASH_AT=rollback-started pwapt rollback; test_equal 137 $?; } &&
	pwapt recover | grep -q recovered &&
	manifest "$R" /proc /sys /dev | diff -u "$TMP/before" -
'

# Killed while it removes the record of a merge it rolled back (or that a
# recovery rolled back), pwapt must never leave a journal whose undo is
# half gone: every later command would try to roll it back and fail.
for point in merge-forget:0 merge-forget:1 merge-forget:2; do
	test_expect_success "a roll-back killed at $point: the next command finishes it" "
		fresh_root && manifest '$R' /proc /sys /dev >'$TMP/before' &&
		wcreate A Root && change_everything A && wmerge A Root &&
		{ PWAPT_CRASH_AT=$point pwapt rollback; test_equal 137 \$?; } &&
		wlist >/dev/null && pwapt recover >/dev/null &&
		manifest '$R' /proc /sys /dev | diff -u '$TMP/before' - &&
		test_fails_with 1 'no merge' pwapt rollback &&
		wcreate B Root && change_everything B &&
		{ PWAPT_CRASH_AT=merge-op:3 wmerge B Root; test_equal 137 \$?; } &&
		{ PWAPT_CRASH_AT=merge-forget:0 pwapt recover; test_equal 137 \$?; } &&
		pwapt recover >/dev/null && wlist >/dev/null &&
		manifest '$R' /proc /sys /dev | diff -u '$TMP/before' -
	"
done

# What an older pwapt left when killed there (it removed the journal last):
# a journal without its undo.  The work was done; the record goes.
test_expect_success 'a record whose undo is gone (an older pwapt killed removing it) goes; rollback says none is kept' '
	fresh_root && manifest "$R" /proc /sys /dev >"$TMP/before" &&
	wcreate A Root && change_everything A && wmerge A Root &&
	{ PWAPT_CRASH_AT=rollback-started pwapt rollback; test_equal 137 $?; } &&
	cp "$PWAPT_STATE/merge/journal" "$TMP/journal" &&
	{ PWAPT_CRASH_AT=merge-forget:0 pwapt recover; test_equal 137 $?; } &&
	test -d "$PWAPT_STATE/merge/undo" &&
	rm -r "$PWAPT_STATE/merge/undo" && cp "$TMP/journal" "$PWAPT_STATE/merge/journal" &&
	pwapt recover | grep -q recovered && ! test -e "$PWAPT_STATE/merge" &&
	wlist >/dev/null &&
	manifest "$R" /proc /sys /dev | diff -u "$TMP/before" - &&
	wcreate B Root && echo b >"$PWAPT_STATE/worlds/B/merged/srv/modify" && wmerge B Root &&
	rm -r "$PWAPT_STATE/merges/Root/undo" &&
	test_fails_with 1 "no merge into .Root. to roll back" pwapt rollback &&
	test_equal b "$(cat "$R/srv/modify")"
'

# A directory whose metadata the merge changed, removed (or replaced by a
# file) in Root after a kill: the roll-back has nothing of its own there,
# and leaves Root's change; it must not fail on it at every command.
test_expect_success 'a merge that chmods a directory, killed; Root removes it, or puts a file there: recovery finishes' '
	for file in "" f; do
		fresh_root && wcreate A Root &&
		chmod 711 "$PWAPT_STATE/worlds/A/merged/srv/renamed" &&
		echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
		{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
		rm -r "$R/srv/renamed" && { [ -z "$file" ] || echo f >"$R/srv/renamed"; } &&
		pwapt recover >/dev/null && wlist >/dev/null && ! test -e "$PWAPT_STATE/merge" &&
		test_equal modify "$(cat "$R/srv/modify")" &&
		if [ -z "$file" ]; then ! test -e "$R/srv/renamed"; else test_equal f "$(cat "$R/srv/renamed")"; fi ||
		exit 1
	done
'

# Killed as it starts, a roll-back (forced past Root's later edit) must
# never leave a journal that reads as a merge just done: its recovery
# would take Root's changes since the merge for the merge's own, and a
# later rollback would undo them without --force.
test_expect_success 'a roll-back killed as it starts: Root'"'"'s later edit still stops it' '
	fresh_root && wcreate A Root && echo new >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && echo admin-edit >"$R/srv/modify" &&
	test_fails_with 3 "changed since" pwapt rollback &&
	{ PWAPT_CRASH_AT=rollback-marked pwapt rollback --force; test_equal 137 $?; } &&
	pwapt recover >/dev/null &&
	test_fails_with 3 "changed since" pwapt rollback &&
	test_equal admin-edit "$(cat "$R/srv/modify")" &&
	pwapt rollback --force && test_equal modify "$(cat "$R/srv/modify")" &&
	test_equal admin-edit "$(cat "$R/srv/modify.pwapt-rollback-1~")"
'

# A later merge killed after saving what the earlier one wrote, then
# recovered: the save (a hard link) and its removal changed the ctimes of
# Root's files, not what they hold.  The earlier merge is still the last:
# its rollback must not take those ctimes for Root's changes, nor a world
# made before the killed merge take them for changes of Root; a real
# change of Root since still stops the rollback.
for point in merge-prepared merge-op:0 merge-op:1 merge-applied; do
	test_expect_success "a later merge killed at $point and recovered: the earlier one still rolls back exactly" "
		fresh_root && manifest '$R/srv' >'$TMP/before' &&
		wcreate A Root && echo a >'$PWAPT_STATE/worlds/A/merged/srv/modify' &&
		echo a >'$PWAPT_STATE/worlds/A/merged/srv/anew' && wmerge A Root &&
		wcreate B Root && wcreate C Root &&
		echo b >'$PWAPT_STATE/worlds/B/merged/srv/modify' &&
		echo b >'$PWAPT_STATE/worlds/B/merged/srv/anew' &&
		echo c >'$PWAPT_STATE/worlds/C/merged/srv/anew' &&
		sleep 0.05 && { PWAPT_CRASH_AT=$point wmerge B Root; test_equal 137 \$?; } &&
		sleep 0.05 && pwapt recover | grep -q 'recovered an interrupted merge' &&
		test_equal a \"\$(cat '$R/srv/modify')\" && test_equal a \"\$(cat '$R/srv/anew')\" &&
		wdiff C >'$TMP/d' && cat '$TMP/d' && ! grep -q '^!' '$TMP/d' &&
		pwapt rollback && manifest '$R/srv' | diff -u '$TMP/before' - &&
		wdelete B && wdelete C
	"
done

# Killed while only planned, its saves made: recovery drops them.
test_expect_success 'a later merge killed at merge-saved and recovered: the earlier one still rolls back exactly' '
	fresh_root && manifest "$R/srv" >"$TMP/before" &&
	wcreate A Root && echo a >"$PWAPT_STATE/worlds/A/merged/srv/modify" && wmerge A Root &&
	wcreate B Root && echo b >"$PWAPT_STATE/worlds/B/merged/srv/modify" &&
	{ PWAPT_CRASH_AT=merge-saved wmerge B Root; test_equal 137 $?; } &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	test_equal a "$(cat "$R/srv/modify")" && test_equal 1 "$(stat -c %h "$R/srv/modify")" &&
	pwapt rollback && manifest "$R/srv" | diff -u "$TMP/before" - && wdelete B
'

test_expect_success 'a later merge killed and recovered: a change of Root since still stops the rollback' '
	fresh_root && wcreate A Root && echo a >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && wcreate B Root && echo b >"$PWAPT_STATE/worlds/B/merged/srv/modify" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge B Root; test_equal 137 $?; } &&
	pwapt recover >/dev/null && sleep 0.05 && echo admin >"$R/srv/modify" &&
	test_fails_with 3 "1 path changed since" pwapt rollback &&
	test_equal admin "$(cat "$R/srv/modify")" && wdelete B
'

test_expect_success 'Root writes a file that a later merge saved, the merge is killed: the rollback still refuses' '
	fresh_root && wcreate A Root && echo a >"$PWAPT_STATE/worlds/A/merged/srv/modify" &&
	wmerge A Root && wcreate B Root && echo b >"$PWAPT_STATE/worlds/B/merged/srv/modify" &&
	{ PWAPT_STOP_AT=merge-prepared wmerge B Root & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo admin >>"$R/srv/modify" && kill -KILL $pid && { wait $pid; test_equal 137 $?; } &&
	pwapt recover >/dev/null && test_equal "a
admin" "$(cat "$R/srv/modify")" &&
	test_fails_with 3 "1 path changed since" pwapt rollback && wdelete B
'

# Root replaces a file by rename (as dpkg and editors do) while a merge is
# on its way and has saved it, but not yet reached it: whether the merge
# is then killed and recovered, or goes on and stops at that path, the
# roll-back keeps Root's new file and undoes only what the merge wrote.
replaced_before_reached() {
	fresh_root && echo a-old >"$R/srv/a" && echo b-old >"$R/srv/b" &&
	wcreate A Root &&
	echo a-new >"$PWAPT_STATE/worlds/A/merged/srv/a" &&
	echo b-new >"$PWAPT_STATE/worlds/A/merged/srv/b" &&
	{ PWAPT_STOP_AT=merge-op:1 wmerge A Root 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q '^State:.*T' /proc/$pid/status" &&
	test_equal a-new "$(cat "$R/srv/a")" &&
	echo b-prod >"$R/srv/.b.new" && mv "$R/srv/.b.new" "$R/srv/b" &&
	if [ "$1" = killed ]; then
		kill -9 $pid; wait $pid
		test_has "recovered an interrupted merge" pwapt recover
	else
		kill -CONT $pid && { wait $pid; test_equal 1 $?; }
	fi &&
	test_equal b-prod "$(cat "$R/srv/b")" &&
	test_equal a-old "$(cat "$R/srv/a")" &&
	! test -e "$PWAPT_STATE/merge"
}
for how in killed continued; do
	test_expect_success "Root's file replaced before the merge reached it ($how): Root's version stays" "
		replaced_before_reached $how
	"
done

# Modify/delete where overlayfs keeps no trace: a file the world replaced
# whole (sed -i writes a new file and renames it over the old one, as dpkg
# does) has no copy-up origin, and looks like a file the world made new.
test_expect_success 'modify/delete: a file the world replaced by a rename (sed -i) and Root deleted is a conflict' '
	fresh_root && echo a >"$R/srv/sed" && wcreate S Root &&
	wexec S sed -i s/a/b/ /srv/sed &&
	test_lacks origin getfattr -h -d -m - "$PWAPT_STATE/worlds/S/upper/srv/sed" &&
	sleep 0.05 && rm "$R/srv/sed" &&
	{ wdiff S >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "! /srv/sed: changed in Root after S was created: deleted there, changed in S" "$TMP/d" &&
	test_fails_with 3 "1 path changed in .Root. after .S. was created" wmerge S Root &&
	! test -e "$R/srv/sed" &&
	wmerge --force S Root && test_equal b "$(cat "$R/srv/sed")"
'

test_expect_success 'the same into a parent world: a file replaced by a rename and deleted in the parent is a conflict' '
	fresh_root && echo a >"$R/srv/sed" && wcreate P Root && wcreate C P &&
	wexec C sed -i s/a/b/ /srv/sed && wexec C sh -c "echo n >/srv/made" &&
	sleep 0.05 && wexec P rm /srv/sed &&
	{ wdiff C >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "! /srv/sed: changed in P after C was created: deleted there, changed in C" "$TMP/d" &&
	test_equal 1 "$(grep -c "^!" "$TMP/d")" &&
	test_fails_with 3 "1 path changed in .P. after .C. was created" wmerge C P &&
	test_absent_in P /srv/sed && wdelete C P
'

test_expect_success 'a file the world made new in a directory Root changed is neither a conflict nor a warning' '
	fresh_root && wcreate N Root &&
	wexec N sh -c "echo n >/srv/made" &&
	sleep 0.05 && echo r >"$R/srv/root-new" && rm "$R/srv/modify" &&
	wdiff N >"$TMP/d" && cat "$TMP/d" && grep -qx "A /srv/made" "$TMP/d" &&
	test_lacks "^!" cat "$TMP/d" &&
	wdiff --json N | grep -q "\"path\":\"/srv/made\",[^}]*\"conflict\":false,[^}]*\"unsure\":false" &&
	wmerge N Root 2>"$TMP/e" && test_no_output cat "$TMP/e" &&
	test_equal n "$(cat "$R/srv/made")"
'

test_expect_success 'where nothing tells whether Root had a file the world wrote, wdiff and wmerge warn' '
	fresh_root && wcreate U Root &&
	echo u >"$PWAPT_STATE/worlds/U/merged/srv/unsure" &&
	sleep 0.05 && echo r >"$R/srv/root-new" &&
	wdiff U >"$TMP/d" && cat "$TMP/d" &&
	grep -qx "! /srv/unsure: maybe deleted in Root: U replaced or made this file while Root.s directory changed after U was created: pwapt cannot tell whether Root had it then; if Root deleted it since, a merge brings it back" "$TMP/d" &&
	test_equal 1 "$(grep -c "^!" "$TMP/d")" &&
	wdiff --json U | grep -q "\"path\":\"/srv/unsure\",[^}]*\"conflict\":false,[^}]*\"unsure\":true,\"note\":\"U replaced or made" &&
	wmerge U Root 2>"$TMP/e" && cat "$TMP/e" &&
	grep -q "^! /srv/unsure: maybe deleted in Root: " "$TMP/e" &&
	test_equal u "$(cat "$R/srv/unsure")"
'

test_expect_success 'where nothing was recorded, a file of a package of Root s that Root deleted is a conflict' '
	fresh_root && mkdir -p "$R/var/lib/dpkg/info" &&
	echo pkg >"$R/srv/pkgfile" && printf "/.\n/srv\n/srv/pkgfile\n" >"$R/var/lib/dpkg/info/fake:all.list" &&
	wcreate P Root &&
	T="$PWAPT_STATE/worlds/P/merged/srv" &&
	echo new >"$T/pkgfile.dpkg-new" && mv "$T/pkgfile.dpkg-new" "$T/pkgfile" &&
	sleep 0.05 && rm "$R/srv/pkgfile" &&
	{ wdiff P >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "! /srv/pkgfile: changed in Root after P was created: deleted there (a file of package fake:all when P was created), changed in P" "$TMP/d" &&
	test_fails_with 3 "1 path changed in .Root. after .P. was created" wmerge P Root &&
	! test -e "$R/srv/pkgfile" && wdelete P
'

test_expect_success 'Root deletes a file while a diff looks whether Root had it: nothing recorded, a warning' '
	fresh_root && echo a >"$R/srv/sed" && wcreate S Root &&
	T="$PWAPT_STATE/worlds/S/merged/srv" &&
	echo b >"$T/sed.new" && mv "$T/sed.new" "$T/sed" &&
	test_equal "/srv/sed" "$(cd "$PWAPT_STATE/worlds/S/upper" && find . ! -type d ! -type c | cut -c2-)" &&
	sleep 0.05 &&
	{ PWAPT_STOP_AT=lower-had-lookup wdiff S >"$TMP/d" & } &&
	pid=$! && stops=0 &&
	while kill -0 $pid 2>/dev/null; do
		if grep -q "^State:.*stopped" /proc/$pid/status 2>/dev/null; then
			rm -f "$R/srv/sed" && stops=$((stops + 1)) && kill -CONT $pid
		fi
		sleep 0.02
	done &&
	wait $pid && test_equal 1 $stops && cat "$TMP/d" &&
	! grep -q "/srv/sed" "$PWAPT_STATE/worlds/S/lower-had" 2>/dev/null &&
	wdiff S >"$TMP/d" && cat "$TMP/d" &&
	grep -q "^! /srv/sed: maybe deleted in Root: " "$TMP/d" && wdelete S
'

test_expect_success 'a merge killed after staging, rolled back, then retried after Root deleted the file: still a conflict' '
	fresh_root && echo one >"$R/srv/cu" && wcreate K Root &&
	echo world >>"$PWAPT_STATE/worlds/K/merged/srv/cu" &&
	getfattr -h -d -m - "$PWAPT_STATE/worlds/K/upper/srv/cu" | grep -q trusted.overlay.origin &&
	{ PWAPT_CRASH_AT=merge-applied wmerge K Root; test_equal 137 $?; } &&
	pwapt recover && test_equal one "$(cat "$R/srv/cu")" &&
	no_overlay_xattrs "$R/srv/cu" &&
	sleep 0.05 && rm "$R/srv/cu" &&
	{ wdiff K >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "! /srv/cu: changed in Root after K was created: deleted there, changed in K" "$TMP/d" &&
	test_fails_with 3 "1 path changed in .Root. after .K. was created" wmerge K Root &&
	! test -e "$R/srv/cu" && wdelete K
'

# B's dpkg lists are B's to write (a world's, when B is one): one too big
# to be read (sparse, it costs nothing to make) tells nothing.
test_expect_success 'a dpkg list of the parent too big to be read tells nothing: a warning, not a read of it' '
	fresh_root && mkdir -p "$R/var/lib/dpkg/info" && echo pkg >"$R/srv/pkgfile" &&
	L="$R/var/lib/dpkg/info/huge:all.list" &&
	printf "/.\n/srv\n/srv/pkgfile\n" >"$L" && truncate -s 64M "$L" &&
	wcreate P Root &&
	T="$PWAPT_STATE/worlds/P/merged/srv" &&
	echo new >"$T/pkgfile.dpkg-new" && mv "$T/pkgfile.dpkg-new" "$T/pkgfile" &&
	sleep 0.05 && rm "$R/srv/pkgfile" &&
	wdiff P >"$TMP/d" && cat "$TMP/d" &&
	grep -q "^! /srv/pkgfile: maybe deleted in Root: " "$TMP/d" && wdelete P
'

test_expect_success 'a lower-had too big to be read tells nothing: a warning' '
	fresh_root && echo a >"$R/srv/sed" && wcreate S Root &&
	T="$PWAPT_STATE/worlds/S/merged/srv" &&
	echo b >"$T/sed.new" && mv "$T/sed.new" "$T/sed" &&
	H="$PWAPT_STATE/worlds/S/lower-had" &&
	echo "E /srv/sed" >"$H" && truncate -s 200M "$H" &&
	sleep 0.05 && rm "$R/srv/sed" &&
	wdiff S >"$TMP/d" && cat "$TMP/d" &&
	grep -q "^! /srv/sed: maybe deleted in Root: " "$TMP/d" && wdelete S
'

test_expect_success 'a rebase forgets what the rebased world saw of its old parent, keeps its O lines' '
	fresh_root && wcreate S Root && wcreate C S &&
	wexec C sh -c "echo n >/srv/made" &&
	H="$PWAPT_STATE/worlds/C/lower-had" &&
	grep -qx "N /srv/made" "$H" && echo "O 12345 /srv/modify" >>"$H" &&
	wmerge --rebase S Root &&
	test_lacks "^[EN] " cat "$H" && grep -qx "O 12345 /srv/modify" "$H" &&
	wdelete C
'

test_expect_success 'a world deleted and made again under its name while a run ends: none of the old lines in the new one' '
	fresh_root && wcreate W Root &&
	{ PWAPT_STOP_AT=lower-had-lookup wexec W sh -c "echo n >/srv/made" & } &&
	pid=$! && wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	wdelete W && wcreate W Root && kill -CONT $pid && wait $pid &&
	! grep -q "/srv/made" "$PWAPT_STATE/worlds/W/lower-had" 2>/dev/null &&
	wdelete W
'

test_expect_success 'a roll-back whose ctimes cannot be recorded (a racing tree) is done; the merge s paths read as conflicts' '
	fresh_root && echo one >"$R/srv/cu" && wcreate K Root &&
	echo world >>"$PWAPT_STATE/worlds/K/merged/srv/cu" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge K Root; test_equal 137 $?; } &&
	PWAPT_FAIL_AT=ctime-record pwapt recover &&
	! test -e "$PWAPT_STATE/merge" && test_equal one "$(cat "$R/srv/cu")" &&
	{ wdiff K >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -q "^! /srv/cu: changed in Root after K was created" "$TMP/d" &&
	wdelete K
'

test_expect_success 'a merge tried again after a roll-back records each copy-up once' '
	fresh_root && echo one >"$R/srv/cu" && wcreate K Root &&
	echo world >>"$PWAPT_STATE/worlds/K/merged/srv/cu" &&
	for i in 1 2; do
		{ PWAPT_CRASH_AT=merge-prepared wmerge K Root; test_equal 137 $?; } &&
		pwapt recover >/dev/null || return 1
	done &&
	test_equal 1 "$(grep -c "^O [0-9]* /srv/cu$" "$PWAPT_STATE/worlds/K/lower-had")" &&
	wdelete K
'

test_expect_success 'a full disk during a merge: a clean error, DST unchanged' '
	cleanup_worlds &&
	mkdir -p "$TMP/small" && mount -t tmpfs -o size=2m small "$TMP/small" &&
	export PWAPT_ROOT="$TMP/small/root" PWAPT_STATE="$TMP/state-small" &&
	make_busybox_root "$PWAPT_ROOT" 2>/dev/null; rm -f "$PWAPT_ROOT/bin/busybox" &&
	cp "$(command -v busybox)" "$PWAPT_ROOT/bin/busybox" 2>/dev/null;
	echo small >"$PWAPT_ROOT/etc/small" &&
	wcreate A Root &&
	head -c 1500000 /dev/urandom >"$PWAPT_STATE/worlds/A/merged/etc/big1" &&
	head -c 1500000 /dev/urandom >"$PWAPT_STATE/worlds/A/merged/etc/big2" &&
	manifest "$PWAPT_ROOT" /proc /sys /dev >"$TMP/before" &&
	test_fails_with 1 "No space left on device" wmerge A Root &&
	manifest "$PWAPT_ROOT" /proc /sys /dev | diff -u "$TMP/before" - &&
	wlist | grep -q "^A " && ! test -e "$PWAPT_STATE/merge" &&
	wdelete A && pwapt stop-all
'

test_done
