#!/bin/sh
# Root on a file system of its own (on a machine, / apart from the state
# directory's /var; a tmpfs here): a world's overlay then has layers on two
# file systems, and without xino the inode numbers of its directories are
# the overlay's own, kept neither across a mount nor while it is mounted.
# A merge into a child world, killed and recovered, must not take them for
# changes of the child, nor a move it did not reach for one it did.
. "$(dirname "$0")/lib.sh"
for t in setfacl setfattr setcap mknod mkfifo getfattr; do
	command -v $t >/dev/null || skip_all "$t is missing (acl, attr, libcap2-bin)"
done
mkdir -p "$TMP/rfs" && mount -t tmpfs rfs "$TMP/rfs" || skip_all "cannot mount a tmpfs"
PWAPT_ROOT=$TMP/rfs/root; export PWAPT_ROOT; R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }
. "$(dirname "$0")/lib-merge.sh"
tree() { echo "$PWAPT_STATE/worlds/$1/merged"; }

for case in "killed once done:true" "killed once done, then a reboot:reboot_quietly"; do
test_expect_success "a merge into a child world ${case%:*}: its rollback restores the child exactly" '
	child_merge_killed_done '${case##*:}'
'
done

test_expect_success 'a merge into a child world, then a reboot: its rollback restores the child exactly' '
	fresh_root && wcreate P Root && wcreate C P && change_everything C &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" >"$TMP/before" &&
	wmerge C P && reboot_quietly &&
	pwapt rollback P &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" | diff -u "$TMP/before" -
'

# Killed before it reached the move: the child's directory made at the
# move's new name since is the child's own, neither renamed away nor
# filled with saves (the origin's inode number tells nothing here).
test_expect_success 'a merge into a child world killed before its move, the child then makes a directory at its new name: recovery leaves it' '
	fresh_root && mkdir -p "$R/srv/big/sub" && echo one >"$R/srv/big/f1" &&
	echo two >"$R/srv/big/f2" && echo s >"$R/srv/big/sub/s" &&
	wcreate P Root && wcreate C P && T=$(tree C) && PT=$(tree P) &&
	test "$(cat "$PWAPT_STATE/overlay-redirect")" = on &&
	mv "$T/srv/big" "$T/srv/moved" && echo changed >"$T/srv/moved/f1" &&
	rm "$T/srv/moved/f2" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge C P; test_equal 137 $?; } &&
	mkdir "$PT/srv/moved" && echo mine >"$PT/srv/moved/mine" &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" >"$TMP/want" &&
	pwapt recover 2>"$TMP/err" && cat "$TMP/err" &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" | diff -u "$TMP/want" - &&
	! test -e "$PWAPT_STATE/merge" && test_lacks pwapt-rollback ls -a "$PT/srv"
'

test_done
