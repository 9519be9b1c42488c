#!/bin/sh
# A directory the world renamed (overlayfs' redirect_dir=on) whose origin
# its parent renamed, deleted or replaced after the world was created: the
# world's renamed directory no longer shows what the origin held, and a
# merge would bring only what the world added below it.  A conflict on the
# renamed directory that names its origin, in wdiff (and --json) and
# wmerge; --force merges what the world shows now, the parent's renamed
# directory stays where the parent put it.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip_all "python3 is missing"
R=$PWAPT_ROOT
tree() { echo "$PWAPT_STATE/worlds/$1/merged"; }
files() { (cd "$1" && find . | sort | tr "\n" " "); }
# "conflict note" of path $2 in wdiff --json $1 [$3...]
json_of() {
	w=$1 p=$2
	shift 2
	wdiff --json "$w" "$@" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["changes"]:
    if c["path"] == sys.argv[1]:
        print(c["conflict"], c["unsure"], c["note"])' "$p"
}

# A fresh Root with /srv/big (f1, sub/s); world A (on $1, Root if none)
# renamed it to /srv/moved and added n there.
fresh() {
	cleanup_worlds
	rm -rf "$R" && make_busybox_root &&
	mkdir -p "$R/srv/big/sub" && echo one >"$R/srv/big/f1" &&
	echo sub >"$R/srv/big/sub/s" &&
	if [ -n "${1:-}" ]; then wcreate "$1" Root >/dev/null; fi &&
	wcreate A "${1:-Root}" >/dev/null && T=$(tree A) &&
	mv "$T/srv/big" "$T/srv/moved" && echo new >"$T/srv/moved/n" &&
	test_equal ". ./f1 ./n ./sub ./sub/s " "$(files "$T/srv/moved")"
}

fresh || skip_all "cannot create a world"
[ "$(cat "$PWAPT_STATE/overlay-redirect")" = on ] ||
	skip_all "this kernel's overlayfs cannot record renamed directories here"

GONE="the origin of A's renamed directory /srv/moved \(/srv/big\) was renamed or deleted in Root after A was created"

test_expect_success 'control: Root leaves the origin alone: no conflict, the merge moves it' '
	fresh && test_exit 0 wdiff A >"$TMP/out" && test_lacks "^!" cat "$TMP/out" &&
	wmerge A Root && test_equal ". ./f1 ./n ./sub ./sub/s " "$(files "$R/srv/moved")" &&
	! test -e "$R/srv/big"
'

test_expect_success 'Root renames the origin: wdiff shows a conflict that names it, wmerge refuses' '
	fresh && mv "$R/srv/big" "$R/srv/big2" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -E "^! /srv/moved: changed in Root after A was created: $GONE" "$TMP/out" &&
	test_lacks "maybe deleted" cat "$TMP/out" &&
	json_of A /srv/moved >"$TMP/json" && grep -E "^True False $GONE" "$TMP/json" &&
	test_fails_with 3 "1 path changed in .Root." wmerge A Root >"$TMP/out" &&
	grep -E "^! /srv/moved: .*$GONE" "$TMP/out" &&
	! test -e "$R/srv/moved" && test_equal ". ./f1 ./sub ./sub/s " "$(files "$R/srv/big2")"
'

test_expect_success 'Root renames the origin, --force: the world'"'"'s directory as it shows it now, Root'"'"'s renamed one stays' '
	fresh && mv "$R/srv/big" "$R/srv/big2" && wdiff A >/dev/null;
	test_equal ". ./n " "$(files "$T/srv/moved")" &&
	wmerge --force A Root &&
	test_equal ". ./n " "$(files "$R/srv/moved")" &&
	test_equal ". ./f1 ./sub ./sub/s " "$(files "$R/srv/big2")" &&
	test_equal one "$(cat "$R/srv/big2/f1")" && ! test -e "$R/srv/big"
'

test_expect_success 'Root deletes the origin: a conflict, wmerge refuses' '
	fresh && rm -r "$R/srv/big" &&
	test_exit 3 wdiff A >"$TMP/out" && grep -E "^! /srv/moved: .*$GONE" "$TMP/out" &&
	test_fails_with 3 "changed in .Root." wmerge A Root && ! test -e "$R/srv/moved"
'

test_expect_success 'Root renames the directory holding the origin: the renamed directory is a conflict too' '
	fresh && mv "$R/srv" "$R/srv2" &&
	test_exit 3 wdiff A >"$TMP/out" && grep -E "^! /srv/moved: .*$GONE" "$TMP/out" &&
	grep -E "^! /srv: " "$TMP/out" &&
	test_fails_with 3 "changed in .Root." wmerge A Root && ! test -e "$R/srv" &&
	test_equal ". ./big ./big/f1 ./big/sub ./big/sub/s " "$(files "$R/srv2")"
'

test_expect_success 'Root replaces the origin by a new directory: the renamed directory names it as changed' '
	fresh && mv "$R/srv/big" "$R/srv/big.old" && mkdir "$R/srv/big" &&
	echo rootsnew >"$R/srv/big/f1" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -E "^! /srv/moved: .*the origin of A.s renamed directory /srv/moved \(/srv/big\) was changed in Root" "$TMP/out" &&
	grep -E "^! /srv/big: " "$TMP/out" &&
	test_fails_with 3 "changed in .Root." wmerge A Root &&
	test_equal rootsnew "$(cat "$R/srv/big/f1")" && ! test -e "$R/srv/moved"
'

test_expect_success 'a world over a world: its parent deletes the origin, wmerge into the parent refuses' '
	fresh P && PT=$(tree P) && rm -r "$PT/srv/big" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in P after A was created" "$TMP/out" &&
	test_fails_with 3 "changed in .P." wmerge A P && ! test -e "$PT/srv/moved"
'

test_expect_success 'merged past its parent: the parent renamed it, Root deleted the origin since' '
	cleanup_worlds && rm -rf "$R" && make_busybox_root &&
	mkdir -p "$R/srv/big" && echo one >"$R/srv/big/f1" &&
	wcreate P Root && mv "$(tree P)/srv/big" "$(tree P)/srv/moved" &&
	wcreate A P && echo new >"$(tree A)/srv/moved/n" &&
	rm -r "$R/srv/big" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in Root" "$TMP/out"
'

# The world renames a directory inside its parent's renamed one: its
# redirect names the parent's path, which leads on to Root's.
test_expect_success 'merged past its parent, renamed inside the parent'"'"'s renamed directory: no conflict until Root deletes the origin' '
	cleanup_worlds && rm -rf "$R" && make_busybox_root &&
	mkdir -p "$R/srv/big/sub" && echo sub >"$R/srv/big/sub/s" &&
	wcreate P Root && mv "$(tree P)/srv/big" "$(tree P)/srv/moved" &&
	wcreate A P && mv "$(tree A)/srv/moved/sub" "$(tree A)/srv/sub2" &&
	test_exit 0 wdiff A Root >"$TMP/out" && test_lacks "^!" cat "$TMP/out" &&
	grep -q "^A /srv/sub2/s$" "$TMP/out" &&
	rm -r "$R/srv/big" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/sub2: .*renamed directory /srv/sub2 \(/srv/moved/sub\) was renamed or deleted in Root" "$TMP/out"
'

# Merged past the parent, what the parent did to the origin counts as
# much as into the parent: a whiteout or a file of its layer there.
test_expect_success 'merged past its parent: the parent deleted the origin, or put a file there: a conflict into Root too' '
	fresh P && PT=$(tree P) && rm -r "$PT/srv/big" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in Root" "$TMP/out" &&
	fresh P && PT=$(tree P) && rm -r "$PT/srv/big" && echo file >"$PT/srv/big" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in Root" "$TMP/out"
'

# A directory above the origin counts as much: the parent deleted it, or
# deleted it and made it anew (an opaque directory hides what was below).
test_expect_success 'merged past its parent: the parent deleted a directory above the origin, or made it anew: a conflict, into the parent and into Root' '
	fresh P && PT=$(tree P) && rm -r "$PT/srv" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in Root" "$TMP/out" &&
	test_fails_with 3 "changed in .Root." wmerge A Root &&
	test_equal one "$(cat "$R/srv/big/f1")" && ! test -e "$R/srv/moved" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in P" "$TMP/out" &&
	fresh P && PT=$(tree P) && rm -r "$PT/srv" && mkdir "$PT/srv" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/moved: .*renamed directory /srv/moved \(/srv/big\) was renamed or deleted in Root" "$TMP/out"
'

# Two levels up: the parent made /srv anew, and /srv/a in it, over the
# origin /srv/a/big: the opaque /srv hides it, however plain /srv/a is.
test_expect_success 'merged past its parent: an opaque directory two levels above the origin: a conflict, Root keeps what it held' '
	cleanup_worlds && rm -rf "$R" && make_busybox_root &&
	mkdir -p "$R/srv/a/big/sub" && echo one >"$R/srv/a/big/f1" &&
	wcreate P Root >/dev/null && wcreate A P >/dev/null &&
	mv "$(tree A)/srv/a/big" "$(tree A)/srv/a/moved" &&
	PT=$(tree P) && rm -r "$PT/srv" && mkdir -p "$PT/srv/a" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -E "^! /srv/a/moved: .*renamed directory /srv/a/moved \(/srv/a/big\) was renamed or deleted in Root" "$TMP/out" &&
	test_fails_with 3 "changed in .Root." wmerge A Root &&
	test_equal one "$(cat "$R/srv/a/big/f1")" && test -d "$R/srv/a/big/sub" &&
	! test -e "$R/srv/a/moved"
'

test_done
