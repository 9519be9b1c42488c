#!/bin/sh
# Renamed directories (overlayfs' redirect_dir=on): recorded, not copied, by
# the world; shown by wdiff as the old path deleted and the new one added
# (--json: renamed_from); merged by one rename in DST where the origin is
# DST's own directory, else copied from what the world's processes saw.
# renamed directories of thousands of files merged and rolled back: 350 s on
# a 2-core VM.
# timeout: 1200 s
. "$(dirname "$0")/lib.sh"
for t in getfattr setfattr python3; do
	command -v $t >/dev/null || skip_all "$t is missing (attr, python3)"
done
R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }
tree() { echo "$PWAPT_STATE/worlds/$1/merged"; }
upper() { echo "$PWAPT_STATE/worlds/$1/upper"; }
redirect_of() { getfattr -h --only-values -n trusted.overlay.redirect "$1" 2>/dev/null; }
# renamed_from of path $2 in wdiff --json $1 [$3...]
renamed_from() {
	w=$1 p=$2
	shift 2
	wdiff --json "$w" "$@" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["changes"]:
    if c["path"] == sys.argv[1]:
        print(c["renamed_from"])' "$p"
}

# A fresh Root whose /srv/big holds 5000 files and a subdirectory.
fresh_root() {
	cleanup_worlds
	rm -rf "$R" && make_busybox_root
	mkdir -p "$R/srv/big/sub/deeper" "$R/srv/other"
	(cd "$R/srv/big" && seq 5000 | sed 's/^/f/' | xargs touch)
	echo one >"$R/srv/big/f1"; echo sub >"$R/srv/big/sub/s"
	echo deep >"$R/srv/big/sub/deeper/d"; echo o >"$R/srv/other/o"
}

fresh_root
wcreate Probe Root >/dev/null 2>&1 || skip_all "cannot create a world"
if [ "$(cat "$PWAPT_STATE/overlay-redirect")" != on ]; then
	[ "${PWAPT_TEST_MUST_WORK:-0}" = 1 ] &&
		{ echo "not ok 1 - redirect_dir: this kernel cannot record renames"; echo 1..1; exit 1; }
	echo "1..0 # SKIP this kernel's overlayfs cannot record renamed directories here"
	exit 0
fi

test_expect_success 'worlds are mounted with redirect_dir=on, probed once and kept' '
	fresh_root && wcreate A Root 2>"$TMP/err" && test_no_output cat "$TMP/err" &&
	test_equal on "$(cat "$PWAPT_STATE/overlay-redirect")" &&
	grep " $(tree A) " /proc/self/mountinfo | grep -q "redirect_dir=on" &&
	! test -e "$PWAPT_STATE/overlay-redirect.probe"
'

test_expect_success 'killed while probing: the next command probes again, finds it on' '
	cleanup_worlds && fresh_root &&
	PWAPT_CRASH_AT=probe-redirect wcreate A Root; ! test -e "$PWAPT_STATE/overlay-redirect" &&
	wcreate A Root 2>"$TMP/err" && test_no_output cat "$TMP/err" &&
	test_equal on "$(cat "$PWAPT_STATE/overlay-redirect")" &&
	test_lacks probe mounts_below "$PWAPT_STATE" &&
	! test -e "$PWAPT_STATE/overlay-redirect.probe"
'

test_expect_success 'a renamed big directory is recorded, not copied; wdiff: old deleted, new added, --json says renamed' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" &&
	test_equal big "$(redirect_of "$(upper A)/srv/moved")" &&
	test_equal 0 "$(find "$(upper A)/srv/moved" -type f | wc -l)" &&
	wdiff A >"$TMP/diff" &&
	grep -qx "D /srv/big" "$TMP/diff" && grep -qx "A /srv/moved" "$TMP/diff" &&
	grep -qx "A /srv/moved/f4999" "$TMP/diff" && grep -qx "D /srv/big/f4999" "$TMP/diff" &&
	grep -qx "A /srv/moved/sub/deeper/d" "$TMP/diff" &&
	test_equal 5005 "$(grep -c "^A /srv/moved" "$TMP/diff")" &&
	test_equal /srv/big "$(renamed_from A /srv/moved)" &&
	test_equal None "$(renamed_from A /srv/moved/f1)" &&
	test_equal None "$(renamed_from A /srv/big)"
'

test_expect_success 'a directory renamed inside a renamed one: its origin follows both renames' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && mv "$T/srv/moved/sub" "$T/srv/moved/sub2" &&
	mv "$T/srv/moved/sub2/deeper" "$T/srv/other/deeper2" &&
	test_equal /srv/big/sub "$(renamed_from A /srv/moved/sub2)" &&
	test_equal /srv/big/sub/deeper "$(renamed_from A /srv/other/deeper2)" &&
	wdiff A | grep -qx "A /srv/other/deeper2/d"
'

test_expect_success 'an invalid redirect in a layer: a clear error, nothing merged' '
	for bad in "" . .. a/b /srv//big /srv/../etc /srv/./big //; do
		fresh_root && wcreate A Root && T=$(tree A) &&
		mv "$T/srv/big" "$T/srv/moved" && echo new >"$T/srv/other/new" &&
		manifest "$R" >"$TMP/before" &&
		setfattr -n trusted.overlay.redirect -v "$bad" "$(upper A)/srv/moved" &&
		test_fails_with 1 "invalid redirect .*at /srv/moved: a damaged or crafted layer" wdiff A &&
		test_fails_with 1 "invalid redirect .*at /srv/moved" wmerge A Root &&
		manifest "$R" | diff -u "$TMP/before" - &&
		! test -e "$R/srv/other/new" || return 1
	done
'
ino() { stat -c %i "$1"; }
# What the world shows below /srv, and whether Root shows the same after
# the merge: $1 the world, $2 the merge's destination tree.
merge_equals_view() {
	manifest "$(tree "$1")/srv" >"$TMP/want" &&
	wmerge "$1" "$2" &&
	manifest "$( [ "$2" = Root ] && echo "$R" || tree "$2")/srv" >"$TMP/got" &&
	diff -u "$TMP/want" "$TMP/got"
}

test_expect_success 'wmerge renames the big directory in Root: same inodes, the world'"'"'s changes below applied' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	d=$(ino "$R/srv/big") f=$(ino "$R/srv/big/f4999") s=$(ino "$R/srv/big/sub/s") &&
	mv "$T/srv/big" "$T/srv/moved" &&
	echo changed >"$T/srv/moved/f1" && rm "$T/srv/moved/f2" &&
	echo new >"$T/srv/moved/new" && mkdir "$T/srv/moved/newdir" &&
	echo n >"$T/srv/moved/newdir/n" && chmod 700 "$T/srv/moved" &&
	chown 12:34 "$T/srv/moved/sub" &&
	merge_equals_view A Root &&
	! test -e "$R/srv/big" &&
	test_equal "$d" "$(ino "$R/srv/moved")" &&
	test_equal "$f" "$(ino "$R/srv/moved/f4999")" &&
	test_equal "$s" "$(ino "$R/srv/moved/sub/s")" &&
	test_equal changed "$(cat "$R/srv/moved/f1")" && ! test -e "$R/srv/moved/f2" &&
	test_equal 700 "$(stat -c %a "$R/srv/moved")" &&
	test_lacks overlay getfattr -R -h -d -m "^(trusted|user)\.overlay\." "$R/srv"
'

test_expect_success 'renames inside a renamed directory and out of it: moved, each the same directory' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	d=$(ino "$R/srv/big/sub") e=$(ino "$R/srv/big/sub/deeper") &&
	mv "$T/srv/big" "$T/srv/moved" && mv "$T/srv/moved/sub" "$T/srv/moved/sub2" &&
	mv "$T/srv/moved/sub2/deeper" "$T/srv/other/deeper2" &&
	echo x >"$T/srv/other/deeper2/x" &&
	merge_equals_view A Root &&
	test_equal "$d" "$(ino "$R/srv/moved/sub2")" &&
	test_equal "$e" "$(ino "$R/srv/other/deeper2")" &&
	! test -e "$R/srv/moved/sub" && ! test -e "$R/srv/moved/sub2/deeper"
'

test_expect_success 'renamed and renamed back to its name: nothing to merge, nothing moves' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && mv "$T/srv/moved" "$T/srv/big" &&
	merge_equals_view A Root && test_equal "$d" "$(ino "$R/srv/big")"
'

test_expect_success 'renamed into a directory the world made: the directory first, then the move' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mkdir -p "$T/srv/new/place" && mv "$T/srv/big" "$T/srv/new/place/big" &&
	merge_equals_view A Root && test_equal "$d" "$(ino "$R/srv/new/place/big")"
'

test_expect_success 'Root changes a file below the origin after the rename: a conflict; --force gives what the world saw' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && sleep 1 &&
	echo root-later >"$R/srv/big/f3" &&
	wdiff A | grep -qx "D /srv/big/f3" &&
	test_fails_with 3 "changed in .Root. after .A. was created" wmerge A Root &&
	test -d "$R/srv/big" && ! test -e "$R/srv/moved" &&
	merge_equals_view_forced() { manifest "$T/srv" >"$TMP/want" && wmerge --force A Root && manifest "$R/srv" | diff -u "$TMP/want" -; } &&
	merge_equals_view_forced && ! test -e "$R/srv/big"
'

test_expect_success 'a world on a world with a rename: merged into its parent, then into Root' '
	fresh_root && wcreate P Root && wcreate C P && d=$(ino "$R/srv/big") &&
	mv "$(tree P)/srv/big" "$(tree P)/srv/moved" &&
	wexec C true && test -d "$(tree C)/srv/moved/sub" &&
	mv "$(tree C)/srv/moved/sub" "$(tree C)/srv/moved/sub2" &&
	echo c >"$(tree C)/srv/moved/f1" &&
	merge_equals_view C P &&
	test_equal big "$(redirect_of "$(upper P)/srv/moved")" &&
	merge_equals_view P Root &&
	test_equal "$d" "$(ino "$R/srv/moved")" && test_equal c "$(cat "$R/srv/moved/f1")"
'

test_expect_success 'a world on a world with a rename, merged straight into Root: a copy of what it saw' '
	fresh_root && wcreate P Root && wcreate C P &&
	mv "$(tree P)/srv/big" "$(tree P)/srv/moved" &&
	wexec C true && mv "$(tree C)/srv/moved/sub" "$(tree C)/srv/moved/sub2" &&
	wdelete --help >/dev/null 2>&1; merge_equals_view C Root &&
	! test -e "$R/srv/big/sub" && test -d "$R/srv/moved/sub2"
'

test_expect_success 'killed right after the rename: recovery puts the directory back, Root as before' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	manifest "$R" >"$TMP/before" &&
	PWAPT_CRASH_AT=merge-move wmerge A Root; test -e "$PWAPT_STATE/merge/journal" &&
	test -d "$R/srv/moved" && pwapt recover &&
	manifest "$R" | diff -u "$TMP/before" - &&
	test_equal "$d" "$(ino "$R/srv/big")" && ! test -e "$PWAPT_STATE/merge" &&
	merge_equals_view A Root && test_equal "$d" "$(ino "$R/srv/moved")"
'

test_expect_success 'a failure after the move rolls it back; pwapt rollback undoes a done move' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	manifest "$R" >"$TMP/before" &&
	test_fails_with 1 "" env PWAPT_FAIL_AT=merge-op:1 wmerge A Root &&
	manifest "$R" | diff -u "$TMP/before" - &&
	wmerge A Root && test_equal "$d" "$(ino "$R/srv/moved")" &&
	pwapt rollback Root && manifest "$R" | diff -u "$TMP/before" - &&
	test_equal "$d" "$(ino "$R/srv/big")"
'

# A roll-back killed once it has moved the directory back (its record still
# there): run again, it finds the directory back at its origin's name, or
# beside a directory Root made there, not missing from its merged name.
test_expect_success 'a rollback killed after it moved the directory back: the next command finishes it' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	manifest "$R" >"$TMP/before" && wmerge A Root &&
	op=$(sed -n "s/^op \([0-9]*\) mov .*/\1/p" "$PWAPT_STATE/merges/Root/journal") &&
	test -n "$op" &&
	{ PWAPT_CRASH_AT=rollback-op:$op pwapt rollback; test_equal 137 $?; } &&
	test -d "$R/srv/big" && ! test -e "$R/srv/moved" &&
	pwapt recover && wlist >/dev/null && ! test -e "$PWAPT_STATE/merge" &&
	manifest "$R" | diff -u "$TMP/before" - && test_equal "$d" "$(ino "$R/srv/big")"
'

test_expect_success 'a rollback killed after it put the directory beside Root'"'"'s new one: the next command finishes it' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	wmerge A Root &&
	op=$(sed -n "s/^op \([0-9]*\) mov .*/\1/p" "$PWAPT_STATE/merges/Root/journal") &&
	{ PWAPT_STOP_AT=rollback-started PWAPT_CRASH_AT=rollback-op:$op pwapt rollback 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	mkdir "$R/srv/big" && echo mine >"$R/srv/big/mine" &&
	kill -CONT $pid && { wait $pid; test_equal 137 $?; } &&
	test_equal "$d" "$(ino "$R/srv/big.pwapt-rollback-1~")" &&
	pwapt recover && wlist >/dev/null && ! test -e "$PWAPT_STATE/merge" &&
	test_equal mine "$(cat "$R/srv/big/mine")" &&
	test_equal one "$(cat "$R/srv/big.pwapt-rollback-1~/f1")"
'

test_expect_success 'Root replaces the origin after the plan: its new directory is not moved, the merge stops' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" &&
	{ PWAPT_STOP_AT=merge-prepared wmerge A Root 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	mv "$R/srv/big" "$R/srv/big.old" && mkdir "$R/srv/big" &&
	echo precious >"$R/srv/big/new-by-root" && d=$(ino "$R/srv/big") &&
	manifest "$R/srv" | sed "s/ link=[^ ]*//" >"$TMP/before" &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } &&
	grep -q "changed in .Root. during the merge" "$TMP/err" &&
	test_equal precious "$(cat "$R/srv/big/new-by-root")" &&
	test_equal "$d" "$(ino "$R/srv/big")" && ! test -e "$R/srv/moved" &&
	manifest "$R/srv" | diff -u "$TMP/before" - && ! test -e "$PWAPT_STATE/merge"
'

test_expect_success 'Root made a new directory at the origin: rollback refuses, naming it, undoes nothing; works once it is gone' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	manifest "$R/srv" >"$TMP/before" && wmerge A Root &&
	mkdir "$R/srv/big" && echo dst >"$R/srv/big/x" &&
	manifest "$R/srv" >"$TMP/merged" &&
	test_fails_with 1 "/srv/big is in the way" pwapt rollback &&
	manifest "$R/srv" | diff -u "$TMP/merged" - &&
	! test -e "$PWAPT_STATE/merge" && wlist >/dev/null &&
	rm -r "$R/srv/big" && pwapt rollback &&
	manifest "$R/srv" | diff -u "$TMP/before" - &&
	test_equal "$d" "$(ino "$R/srv/big")"
'

test_expect_success 'killed after the move, Root then makes the origin again: recovery puts the directory beside it, says so' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test -e "$PWAPT_STATE/merge/journal" &&
	mkdir "$R/srv/big" && echo cache >"$R/srv/big/c" &&
	pwapt recover 2>"$TMP/err" && grep -q "big.pwapt-rollback-1~" "$TMP/err" &&
	test_equal cache "$(cat "$R/srv/big/c")" &&
	test_equal "$d" "$(ino "$R/srv/big.pwapt-rollback-1~")" &&
	test_equal one "$(cat "$R/srv/big.pwapt-rollback-1~/f1")" &&
	! test -e "$R/srv/moved" && ! test -e "$PWAPT_STATE/merge" && wlist >/dev/null
'

# A roll-back of an older pwapt (before 2026-12-03) killed after it put the
# moved directory back beside Root's new one, under the name it used then
# (NAME.pwapt-rollback-N; made here by renaming this pwapt's): the
# recovery finds it there too, instead of failing every command.
test_expect_success 'a roll-back killed after it put the moved directory beside, as an older pwapt named it: recovery finds it' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" && wmerge A Root &&
	op=$(sed -n "s/^op \([0-9]*\) mov .*/\1/p" "$PWAPT_STATE/merges/Root/journal") && test -n "$op" &&
	{ PWAPT_STOP_AT=rollback-started PWAPT_CRASH_AT=rollback-op:$op pwapt rollback 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	mkdir "$R/srv/big" && echo mine >"$R/srv/big/mine" &&
	kill -CONT $pid && { wait $pid; test_equal 137 $?; } &&
	test_equal "$d" "$(ino "$R/srv/big.pwapt-rollback-1~")" &&
	mv "$R/srv/big.pwapt-rollback-1~" "$R/srv/big.pwapt-rollback-1" &&
	pwapt recover && wlist >/dev/null && ! test -e "$PWAPT_STATE/merge" &&
	test_equal "$d" "$(ino "$R/srv/big.pwapt-rollback-1")" &&
	test_equal one "$(cat "$R/srv/big.pwapt-rollback-1/f1")" &&
	test_equal mine "$(cat "$R/srv/big/mine")" && ! test -e "$R/srv/moved"
'

# Both beside: the save of a directory the merge replaced below the moved
# one goes beside Root's new one there (never over it), and the moved one
# beside Root's new origin; the warning names where the save ends up, not
# the origin's name.
test_expect_success 'killed after the move, Root then takes a replaced directory below it and the origin: the warning names where the save lands' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && rm -r "$T/srv/moved/sub" && echo file >"$T/srv/moved/sub" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	test_equal file "$(cat "$R/srv/moved/sub")" &&
	rm "$R/srv/moved/sub" && mkdir "$R/srv/moved/sub" && echo mine >"$R/srv/moved/sub/m" &&
	mkdir "$R/srv/big" && echo cache >"$R/srv/big/c" &&
	pwapt recover 2>"$TMP/err" &&
	grep -q "^pwapt recover: /srv/big.pwapt-rollback-1~/sub was taken since the merge: the directory the merge replaced there is back beside it, as /srv/big.pwapt-rollback-1~/sub.pwapt-rollback-1~$" "$TMP/err" &&
	test_equal sub "$(cat "$R/srv/big.pwapt-rollback-1~/sub.pwapt-rollback-1~/s")" &&
	test_equal mine "$(cat "$R/srv/big.pwapt-rollback-1~/sub/m")" &&
	test_equal cache "$(cat "$R/srv/big/c")" && ! test -e "$R/srv/moved"
'

# Chained: a directory moved out of one the world moved first.  The save
# of the directory replaced below the second goes beside Root's new one
# there; the second goes beside Root's new origin of it (named inside the
# first, as moved); the first goes back to its old name: the warning names
# the save where all three leave it.
test_expect_success 'killed after two chained moves, Root then takes a replaced directory below the second and its origin: the warning names where the save lands' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/b" && mv "$T/srv/b/sub" "$T/srv/e" &&
	rm -r "$T/srv/e/deeper" && echo file >"$T/srv/e/deeper" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	grep -q "^op [0-9]* mov .*/srv/e$" "$PWAPT_STATE/merge/journal" &&
	test_equal file "$(cat "$R/srv/e/deeper")" && test_equal one "$(cat "$R/srv/b/f1")" &&
	rm "$R/srv/e/deeper" && mkdir "$R/srv/e/deeper" && echo mine >"$R/srv/e/deeper/m" &&
	mkdir "$R/srv/b/sub" &&
	pwapt recover 2>"$TMP/err" &&
	grep -q "^pwapt recover: /srv/big/sub.pwapt-rollback-1~/deeper was taken since the merge: the directory the merge replaced there is back beside it, as /srv/big/sub.pwapt-rollback-1~/deeper.pwapt-rollback-1~$" "$TMP/err" &&
	test_equal deep "$(cat "$R/srv/big/sub.pwapt-rollback-1~/deeper.pwapt-rollback-1~/d")" &&
	test_equal mine "$(cat "$R/srv/big/sub.pwapt-rollback-1~/deeper/m")" &&
	test -d "$R/srv/big/sub" && test_equal one "$(cat "$R/srv/big/f1")" &&
	! test -e "$R/srv/b" && ! test -e "$R/srv/e"
'

# Killed before it reached the move: Root's directory made at the move's
# new name since is Root's own, neither renamed away nor filled with saves.
test_expect_success 'killed before the move, Root then makes a directory at its new name: recovery leaves it as Root made it' '
	fresh_root && wcreate A Root && T=$(tree A) && d=$(ino "$R/srv/big") &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	rm "$T/srv/moved/f2" && chmod 700 "$T/srv/moved/sub" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge A Root; test_equal 137 $?; } &&
	mkdir "$R/srv/moved" && echo mine >"$R/srv/moved/mine" &&
	manifest "$R/srv" | sed "s/ link=[^ ]*//" >"$TMP/want" &&
	pwapt recover 2>"$TMP/err" && cat "$TMP/err" &&
	manifest "$R/srv" | diff -u "$TMP/want" - &&
	test_equal "$d" "$(ino "$R/srv/big")" &&
	test_equal "1 1" "$(stat -c %h "$R/srv/big/f1" "$R/srv/big/f2" | xargs)" &&
	! test -e "$PWAPT_STATE/merge" && wlist | grep -q "^A "
'

# Killed once it moved the directory and changed what lies below it; Root
# (an admin) renames the directory back before the next command: what the
# merge changed below is undone at the old names, no save is dropped.
test_expect_success 'killed after the move, Root renames it back: recovery puts back what the merge changed below it' '
	fresh_root && echo two >"$R/srv/big/f2" && manifest "$R/srv" >"$TMP/before" &&
	wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	rm "$T/srv/moved/f2" && echo new >"$T/srv/moved/new" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	test_equal changed "$(cat "$R/srv/moved/f1")" &&
	mv "$R/srv/moved" "$R/srv/big" &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	manifest "$R/srv" | diff -u "$TMP/before" - && ! test -e "$PWAPT_STATE/merge"
'

# The same into a child world, which also adds a file to the origin since:
# on its overlay the origin's ctime changed, its inode did not.
test_expect_success 'into a child world: killed before the move, the child adds to the origin and makes the new name: recovery leaves it' '
	fresh_root && wcreate P Root && wcreate C P && T=$(tree C) && PT=$(tree P) &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	rm "$T/srv/moved/f2" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge C P; test_equal 137 $?; } &&
	echo mine >"$PT/srv/big/new-in-origin" &&
	mkdir "$PT/srv/moved" && echo mine >"$PT/srv/moved/mine" &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" >"$TMP/want" &&
	pwapt recover 2>"$TMP/err" && cat "$TMP/err" &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" | diff -u "$TMP/want" - &&
	! test -e "$PWAPT_STATE/merge" && test_lacks pwapt-rollback ls -a "$PT/srv"
'

test_expect_success 'into a child world: killed after the move, the child renames it back: recovery puts back what the merge changed below it' '
	fresh_root && wcreate P Root && PT=$(tree P) && echo only-in-P >"$PT/srv/big/f2" &&
	wcreate C P && T=$(tree C) &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" >"$TMP/before" &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	rm "$T/srv/moved/f2" && echo new >"$T/srv/moved/new" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge C P; test_equal 137 $?; } &&
	test_equal changed "$(cat "$PT/srv/moved/f1")" &&
	mv "$PT/srv/moved" "$PT/srv/big" &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" | diff -u "$TMP/before" - &&
	! test -e "$PWAPT_STATE/merge"
'

test_expect_success 'killed after the move, Root then removes the origin'"'"'s parent: recovery leaves the directory at its merged name, says so' '
	fresh_root && mkdir "$R/srv/par" && mv "$R/srv/big" "$R/srv/par/big" &&
	d=$(ino "$R/srv/par/big") && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/par/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test -e "$PWAPT_STATE/merge/journal" &&
	test_equal "$d" "$(ino "$R/srv/moved")" && rmdir "$R/srv/par" &&
	pwapt recover 2>"$TMP/err" &&
	grep -q "/srv/par/big.*is gone.*/srv/moved" "$TMP/err" &&
	test_equal "$d" "$(ino "$R/srv/moved")" &&
	test_equal one "$(cat "$R/srv/moved/f1")" &&
	test_equal sub "$(cat "$R/srv/moved/sub/s")" && ! test -e "$R/srv/par" &&
	! test -e "$PWAPT_STATE/merge" && wlist >/dev/null && test -d "$T/srv/moved"
'

test_expect_success 'Root removes the origin'"'"'s parent while a rollback runs: the directory stays at its merged name, said' '
	fresh_root && mkdir "$R/srv/par" && mv "$R/srv/big" "$R/srv/par/big" &&
	wcreate A Root && T=$(tree A) &&
	mv "$T/srv/par/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	wmerge A Root && test_equal changed "$(cat "$R/srv/moved/f1")" &&
	{ PWAPT_STOP_AT=rollback-started pwapt rollback 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	rmdir "$R/srv/par" && kill -CONT $pid && { wait $pid; test_equal 0 $?; } &&
	grep -q "/srv/par/big.*is gone.*/srv/moved" "$TMP/err" &&
	test_equal one "$(cat "$R/srv/moved/f1")" && ! test -e "$R/srv/par" &&
	! test -e "$PWAPT_STATE/merge" && ! test -e "$PWAPT_STATE/merges/Root" &&
	wlist >/dev/null
'

test_expect_success 'a directory moved out of one the world deletes: the move, then the delete (the move'"'"'s own change of it is no change of Root)' '
	fresh_root && d=$(ino "$R/srv/big/sub") && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big/sub" "$T/srv/a-sub" && rm -rf "$T/srv/big" &&
	wmerge A Root && test_equal "$d" "$(ino "$R/srv/a-sub")" &&
	test_equal deep "$(cat "$R/srv/a-sub/deeper/d")" && ! test -e "$R/srv/big"
'

test_expect_success 'a directory moved out of a subdirectory of one the world deletes: that subdirectory'"'"'s new ctime is the move'"'"'s' '
	fresh_root && d=$(ino "$R/srv/big/sub/deeper") && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big/sub/deeper" "$T/srv/a-deeper" && rm -rf "$T/srv/big" &&
	wmerge A Root && test_equal "$d" "$(ino "$R/srv/a-deeper")" &&
	test_equal deep "$(cat "$R/srv/a-deeper/d")" && ! test -e "$R/srv/big"
'

# A directory moved out of one that moves too (or the one it left moved
# into it): the first rename changes the ctime of the second's origin, the
# merge's own change.  Merged; and a merge that fails or is killed after
# the first rename, rolled back, leaves the world mergeable: the roll-back
# teaches it the ctimes its renames back gave the directories they left
# and entered.
for mv in 'sub /srv/s2; mv /srv/s2/deeper /srv/deeper2' \
	'sub /srv/a-sub; mv /srv/big /srv/a-sub/big' \
	'sub /srv/a-sub; mv /srv/other /srv/a-sub/deeper/other'; do
	for how in '' PWAPT_FAIL_AT=merge-op:1 PWAPT_CRASH_AT=merge-op:1 \
		PWAPT_CRASH_AT=merge-applied; do
		test_expect_success "mv /srv/big/$mv${how:+, $how then again}: merged as the world saw it" "
			fresh_root && wcreate A Root && s=\$(ino '$R/srv/big/sub') &&
			wexec A sh -c 'cd /srv/big && mv $mv' &&
			manifest '$R/srv' >'$TMP/before' &&
			{ [ -z '$how' ] || { env $how wmerge A Root; pwapt recover >/dev/null; } } &&
			manifest '$R/srv' | diff -u '$TMP/before' - &&
			merge_equals_view A Root &&
			test_equal \"\$s\" \"\$(ino '$R/srv/a-sub' 2>/dev/null || ino '$R/srv/s2')\"
		"
	done
done

test_expect_success 'Root renamed the moved directory: rollback --force refuses, naming it, and keeps the saves' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	wmerge A Root && mv "$R/srv/moved" "$R/srv/final" &&
	test_fails_with 1 "/srv/moved, the directory it moved from /srv/big, is not there" pwapt rollback --force &&
	test_equal changed "$(cat "$R/srv/final/f1")" && ! test -e "$R/srv/big" &&
	grep -rqx one "$PWAPT_STATE/merges/Root/undo" &&
	mv "$R/srv/final" "$R/srv/moved" && pwapt rollback --force &&
	test_equal one "$(cat "$R/srv/big/f1")"
'

test_expect_success 'Root renames the moved directory while a rollback runs: an error, the saves kept, finished once it is back' '
	fresh_root && wcreate A Root && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	wmerge A Root &&
	{ PWAPT_STOP_AT=rollback-started pwapt rollback 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	mv "$R/srv/moved" "$R/srv/final" &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } &&
	grep -q "/srv/moved" "$TMP/err" && ! test -e "$R/srv/big" &&
	grep -rqx one "$PWAPT_STATE/merge/undo" &&
	mv "$R/srv/final" "$R/srv/moved" && pwapt recover &&
	test_equal one "$(cat "$R/srv/big/f1")" && ! test -e "$R/srv/moved" &&
	! test -e "$PWAPT_STATE/merge"
'

test_expect_success 'a mount below the origin in Root: no move, nor a delete that would take it along: refused, naming it; merged once unmounted' '
	fresh_root && mkdir "$R/srv/big/mnt" && mount -t tmpfs tmpfs "$R/srv/big/mnt" &&
	echo precious >"$R/srv/big/mnt/data" && d=$(ino "$R/srv/big") &&
	wcreate A Root && T=$(tree A) && mv "$T/srv/big" "$T/srv/moved" &&
	test_fails_with 1 "/srv/big/mnt is a mount point below /srv/big, which the merge deletes" wmerge A Root &&
	test_equal precious "$(cat "$R/srv/big/mnt/data")" && ! test -e "$R/srv/moved" &&
	test_equal "$d" "$(ino "$R/srv/big")" &&
	! grep -q " $PWAPT_STATE/merge" /proc/self/mountinfo &&
	umount "$R/srv/big/mnt" && wmerge A Root &&
	test_equal "$d" "$(ino "$R/srv/moved")" &&
	test_equal one "$(cat "$R/srv/moved/f1")"; rc=$?
	for m in $(grep -o " $R/srv/[^ ]* \| $PWAPT_STATE/merges*/[^ ]* " /proc/self/mountinfo); do
		umount -l "$m"; done
	return $rc
'

test_expect_success 'a kernel without redirect_dir: worlds mounted plain, said once, a rename merged as a copy' '
	cleanup_worlds && fresh_root &&
	PWAPT_FAIL_AT=mount-redirect wcreate A Root 2>"$TMP/err" &&
	grep -q "cannot record renamed directories (redirect_dir).*said once" "$TMP/err" &&
	test_equal off "$(cat "$PWAPT_STATE/overlay-redirect")" &&
	grep -q " $(tree A) " /proc/self/mountinfo &&
	! grep " $(tree A) " /proc/self/mountinfo | grep -q "redirect_dir=on" &&
	wcreate B Root 2>"$TMP/err" && test_no_output cat "$TMP/err" &&
	! grep " $(tree B) " /proc/self/mountinfo | grep -q "redirect_dir=on" &&
	T=$(tree A) && mv "$T/srv/big" "$T/srv/moved" &&
	test_equal "" "$(redirect_of "$(upper A)/srv/moved")" &&
	test_equal None "$(renamed_from A /srv/moved)" &&
	merge_equals_view A Root
'

test_done
