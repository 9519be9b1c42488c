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
	! test -e "$PWAPT_STATE/merge" && test_lacks pwapt-rollback ls "$PT/srv"
'

# Killed after its move (the rename journaled or not yet), the child then
# renames the directory back by hand before the recovery: here that
# rename changes both its inode number and its ctime, so only the
# journal's "moved N" and a free merged name tell what happened.  What
# lies below is undone at the old name, and the directory's metadata
# (SRC's, once the merge set it) is the child's again.
for point in merge-move merge-moved merge-op:2 merge-applied; do
test_expect_success "a merge into a child world killed at $point, its moved directory renamed back by hand: recovery restores the child" '
	fresh_root && mkdir -p "$R/srv/big/sub" && echo one >"$R/srv/big/f1" &&
	echo two >"$R/srv/big/f2" && echo s >"$R/srv/big/sub/s" &&
	wcreate P Root && wcreate C P && T=$(tree C) && PT=$(tree P) &&
	mv "$T/srv/big" "$T/srv/moved" && chmod 700 "$T/srv/moved" &&
	echo changed >"$T/srv/moved/f1" && rm "$T/srv/moved/f2" &&
	echo new >"$T/srv/moved/added" &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" >"$TMP/want" &&
	{ PWAPT_CRASH_AT='$point' wmerge C P; test_equal 137 $?; } &&
	mv "$PT/srv/moved" "$PT/srv/big" &&
	pwapt recover >/dev/null &&
	manifest "$PT/srv" | sed "s/ link=[^ ]*//" | diff -u "$TMP/want" - &&
	! test -e "$PWAPT_STATE/merge"
'
done

# A recovery that put the moved directory back beside the one the child
# made at its origin's name since, killed right after: its merged name is
# free and a directory is at the origin's name, as after a rename back by
# hand, but the journal says the roll-back did it ("back N").  Run
# again, it leaves the child's directory alone (its mode, and a file
# there that SRC added too, with the same content).
test_expect_success "a recovery killed after it put the moved directory beside the child's new one: run again, the child's directory stays whole" '
	fresh_root && mkdir -p "$R/srv/big" && echo one >"$R/srv/big/f1" &&
	wcreate P Root && wcreate C P && T=$(tree C) && PT=$(tree P) &&
	mv "$T/srv/big" "$T/srv/moved" && echo new >"$T/srv/moved/added" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge C P; test_equal 137 $?; } &&
	mkdir -m 700 "$PT/srv/big" && echo new >"$PT/srv/big/added" &&
	{ PWAPT_CRASH_AT=rollback-op:0 pwapt recover >/dev/null 2>&1; test_equal 137 $?; } &&
	test -d "$PT/srv/big.pwapt-rollback-1" && ! test -e "$PT/srv/moved" &&
	pwapt recover >/dev/null 2>&1 && ! test -e "$PWAPT_STATE/merge" &&
	test_equal new "$(cat "$PT/srv/big/added")" &&
	test_equal 700 "$(stat -c %a "$PT/srv/big")" &&
	test_equal one "$(cat "$PT/srv/big.pwapt-rollback-1/f1")" &&
	! test -e "$PT/srv/big.pwapt-rollback-1/added"
'

test_done
