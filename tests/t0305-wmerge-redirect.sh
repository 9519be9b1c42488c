#!/bin/sh
# Renamed directories (overlayfs' redirect_dir=on): recorded, not copied, by
# the world; shown by wdiff as the old path deleted and the new one added
# (--json: renamed_from); merged by one rename in DST where the origin is
# DST's own directory, else copied from what the world's processes saw.
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
test_done
