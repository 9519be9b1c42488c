#!/bin/sh
# Merges killed inside their copies.  Where a save cannot be a hard link or
# a rename (the state directory on another file system than Root, as with
# a separate /var; DST a world behind overlayfs) it is a copy, and a copy
# killed halfway must never be taken for the original.
. "$(dirname "$0")/lib.sh"
for t in mkfs.ext4 debugfs; do
	command -v $t >/dev/null || skip_all "$t is missing (e2fsprogs)"
done
make_busybox_root
R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }

# The state directory on a file system of its own; cleanup unmounts it.
mkdir "$TMP/statefs" && mount -t tmpfs -o size=768m,mode=0700 pwapt-state "$TMP/statefs" ||
	skip_all "cannot mount a tmpfs"
PWAPT_STATE=$TMP/statefs/state
export PWAPT_STATE

# /srv/big: 3000 files in two directories, with modes, owners and an xattr.
mkdir -p "$TMP/srv/big/sub" &&
	python3 - "$TMP/srv/big" <<'PY' || skip_all "cannot make the test tree"
import os, sys
top = sys.argv[1]
for i in range(3000):
    p = os.path.join(top, "sub" if i % 3 == 0 else "", "f%04d" % i)
    with open(p, "w") as f:
        f.write("file %d\n" % i * (i % 7 + 1))
    os.chmod(p, 0o600 + i % 64)
    os.lchown(p, i % 5, i % 3)
os.setxattr(os.path.join(top, "f0001"), "user.note", b"kept")
PY
echo old >"$TMP/srv/file"

fresh_root() {
	cleanup_worlds && rm -rf "$R/srv" && cp -a "$TMP/srv" "$R/srv"
}

# World $1 deletes /srv/big and replaces /srv/file: one file saved before
# the journal says prepared, then 3001 nodes copied while it is applied.
delete_big() {
	rm -r "$PWAPT_STATE/worlds/$1/merged/srv/big" &&
	echo new >"$PWAPT_STATE/worlds/$1/merged/srv/file"
}

no_leftovers() { # TREE
	test_lacks . find "$1" -name '.pwapt-*' &&
	! test -e "$PWAPT_STATE/merge"
}

test_expect_success 'the state directory is on another file system than Root' '
	mkdir -p "$PWAPT_STATE" &&
	test "$(stat -c %d "$R")" != "$(stat -c %d "$PWAPT_STATE")"
'

for point in copy-node:0 copy-node:1 copy-node:2 copy-node:700 copy-node:3001 save-copied save-aside; do
	test_expect_success "merge into Root killed at $point: recover puts back what Root had" "
		fresh_root && wcreate A Root && delete_big A &&
		manifest '$R' /proc /sys /dev >'$TMP/before' &&
		manifest '$PWAPT_STATE/worlds/A/merged/srv' >'$TMP/want' &&
		{ PWAPT_CRASH_AT=$point wmerge A Root; test_equal 137 \$?; } &&
		pwapt recover >/dev/null &&
		manifest '$R' /proc /sys /dev | diff -u '$TMP/before' - &&
		no_leftovers '$R' &&
		wmerge A Root &&
		manifest '$R/srv' | diff -u '$TMP/want' -
	"
done

for point in copy-node:1 copy-node:1500 copy-node:3001 save-copied save-aside; do
	test_expect_success "merge into a world killed at $point: recover puts back what it had" "
		fresh_root && wcreate P Root && wcreate C P && delete_big C &&
		P='$PWAPT_STATE/worlds/P/merged' &&
		manifest \"\$P\" /proc /sys /dev /run /tmp >'$TMP/before' &&
		manifest '$PWAPT_STATE/worlds/C/merged/srv' >'$TMP/want' &&
		{ PWAPT_CRASH_AT=$point wmerge C P; test_equal 137 \$?; } &&
		pwapt recover >/dev/null &&
		manifest \"\$P\" /proc /sys /dev /run /tmp | diff -u '$TMP/before' - &&
		no_leftovers \"\$P/srv\" &&
		wmerge C P &&
		manifest \"\$P/srv\" | diff -u '$TMP/want' -
	"
done

for point in copy-node:0 copy-node:1 copy-node:2000 copy-node:3001 restore-copied; do
	test_expect_success "a rollback of a merge into a world killed at $point is finished by recover" "
		fresh_root && wcreate P Root && wcreate C P && delete_big C &&
		P='$PWAPT_STATE/worlds/P/merged' &&
		manifest \"\$P/srv\" >'$TMP/before' &&
		wmerge C P &&
		{ PWAPT_CRASH_AT=$point pwapt rollback P; test_equal 137 \$?; } &&
		pwapt recover >/dev/null &&
		manifest \"\$P/srv\" | diff -u '$TMP/before' - &&
		no_leftovers \"\$P/srv\" &&
		pwapt recover >/dev/null &&
		manifest \"\$P/srv\" | diff -u '$TMP/before' -
	"
done

blocks() { stat -c %b "$1"; }

test_expect_success 'sparse files stay sparse in saves, restores and copies' '
	fresh_root && truncate -s 64M "$R/srv/sparse" && echo end >>"$R/srv/sparse" &&
	cp --sparse=never "$R/srv/sparse" "$TMP/dense" && cmp "$TMP/dense" "$R/srv/sparse" &&
	test "$(blocks "$R/srv/sparse")" -lt 1000 &&
	wcreate A Root && rm "$PWAPT_STATE/worlds/A/merged/srv/sparse" && wmerge A Root &&
	saved=$(find "$PWAPT_STATE/merges/Root/undo" -type f -size +60M) && test -n "$saved" &&
	test "$(blocks "$saved")" -lt 1000 &&
	pwapt rollback && cmp "$TMP/dense" "$R/srv/sparse" &&
	test "$(blocks "$R/srv/sparse")" -lt 1000 &&
	wcreate P Root && wcreate C P && T="$PWAPT_STATE/worlds/C/merged/srv" &&
	truncate -s 64M "$T/new-sparse" && echo end >>"$T/new-sparse" &&
	wmerge C P && cmp "$TMP/dense" "$PWAPT_STATE/worlds/P/merged/srv/new-sparse" &&
	test "$(blocks "$PWAPT_STATE/worlds/P/upper/srv/new-sparse")" -lt 1000
'

# The copies carry xattrs through /proc/self/fd/N/NAME: a name of up to
# NAME_MAX bytes must reach its own file, never a sibling's or none.
test_expect_success 'xattrs of long names survive a copied save and its rollback, each on its own file' '
	fresh_root && mkdir "$R/srv/d" &&
	for n in 106 108 110 111 112 113 200 255; do
		f=$(printf "x%.0s" $(seq 1 $n)) && echo $n >"$R/srv/d/$f" &&
		setfattr -n trusted.tag -v "tag$n" "$R/srv/d/$f" || return 1
	done &&
	wcreate A Root && rm -r "$PWAPT_STATE/worlds/A/merged/srv/d" &&
	wmerge A Root && ! test -e "$R/srv/d" && pwapt rollback &&
	for n in 106 108 110 111 112 113 200 255; do
		f=$(printf "x%.0s" $(seq 1 $n)) &&
		test_equal "tag$n" "$(getfattr --only-values -n trusted.tag "$R/srv/d/$f")" &&
		test_equal $n "$(cat "$R/srv/d/$f")" || return 1
	done
'

# A merge's journal holds a line for each path: 62000 names of 255 bytes
# make it 17 MB, past what a whole-file read once took (16 MiB).  Recovery
# reads it back, whatever its size.  (/srv on an image of its own: removing
# 62000 files from a disk that discards what it frees takes a minute.)
cleanup_worlds && rm -rf "$R/srv" && mkdir "$R/srv" &&
	truncate -s 128M "$TMP/names.img" &&
	mkfs.ext4 -q -F -b 4096 -N 70000 "$TMP/names.img" &&
	mount -o loop "$TMP/names.img" "$R/srv"
test_expect_success 'a merge of 62000 long names killed anywhere: recover reads its journal, Root exact' '
	wcreate J Root &&
	python3 - "$PWAPT_STATE/worlds/J/merged/srv/j" <<-PY &&
	import os, sys
	os.mkdir(sys.argv[1])
	for i in range(62000):
	    os.close(os.open(os.path.join(sys.argv[1], "%0255d" % i),
	                     os.O_WRONLY | os.O_CREAT, 0o600 + i % 64))
	PY
	manifest "$R" /proc /sys /dev >"$TMP/before" &&
	{ PWAPT_CRASH_AT=merge-op:40000 wmerge J Root; test_equal 137 $?; } &&
	test "$(stat -c %s "$PWAPT_STATE/merge/journal")" -gt 16777216 &&
	pwapt recover >/dev/null &&
	manifest "$R" /proc /sys /dev | diff -u "$TMP/before" - &&
	no_leftovers "$R" &&
	manifest "$PWAPT_STATE/worlds/J/merged/srv" >"$TMP/want" &&
	{ PWAPT_CRASH_AT=merge-done wmerge J Root; test_equal 137 $?; } &&
	pwapt recover >/dev/null && ! test -e "$PWAPT_STATE/worlds/J" &&
	no_leftovers "$R" && manifest "$R/srv" | diff -u "$TMP/want" -
'
cleanup_worlds
umount -l "$R/srv"; rm -f "$TMP/names.img"

# Last: /srv becomes a file system of its own.  Without a journal, what is
# not synced is not in the image: debugfs reads the image, not the cache.
test_expect_success 'a merge syncs every file system it wrote, a separate /srv too' '
	fresh_root && rm -rf "$R/srv" && mkdir "$R/srv" &&
	truncate -s 32M "$TMP/srv.img" && mkfs.ext4 -q -F -O ^has_journal "$TMP/srv.img" &&
	mount -o loop "$TMP/srv.img" "$R/srv" &&
	wcreate A Root && echo durable >"$PWAPT_STATE/worlds/A/merged/srv/new" &&
	wmerge A Root && test_equal durable "$(cat "$R/srv/new")" &&
	test_equal durable "$(debugfs -R "cat /new" "$TMP/srv.img" 2>/dev/null)"
'
cleanup_worlds
umount "$R/srv" 2>/dev/null

test_done
