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
tree() { echo "$PWAPT_STATE/worlds/$1/merged"; }
# A fresh Root with a /srv that the changes below work on.
fresh_root() {
	cleanup_worlds
	rm -rf "$R" && make_busybox_root
	mkdir -p "$R/srv/dir/sub" "$R/srv/todir" "$R/srv/tolink" "$R/srv/opaque/sub" "$R/srv/renamed"
	for f in modify chmod chown touch delete tofile setuid cap acl xattr; do echo "$f" >"$R/srv/$f"; done
	echo keep >"$R/srv/dir/keep"; echo deep >"$R/srv/dir/sub/deep"
	echo old >"$R/srv/opaque/old"; echo deep >"$R/srv/opaque/sub/deep"
	echo r >"$R/srv/renamed/inside"; echo t >"$R/srv/todir/inner"
	ln -s target "$R/srv/symlink"; ln -s gone "$R/srv/dellink"
	touch -d "2020-01-01" "$R/srv/modify"
}

# Every kind of change, made in world $1 through its tree.
change_everything() {
	T="$PWAPT_STATE/worlds/$1/merged/srv"
	echo changed >>"$T/modify" &&
	chmod 600 "$T/chmod" && chown 1234:5678 "$T/chown" &&
	touch -d "2001-02-03 04:05:06" "$T/touch" &&
	rm "$T/delete" "$T/dellink" &&
	echo new >"$T/added" && mkdir "$T/newdir" && echo n >"$T/newdir/file" &&
	ln -s elsewhere "$T/newlink" && ln -sfn other "$T/symlink" &&
	echo a >"$T/hard1" && ln "$T/hard1" "$T/hard2" &&
	mkfifo "$T/fifo" && mknod "$T/null2" c 1 3 &&
	chmod 4755 "$T/setuid" && setcap cap_net_raw+ep "$T/cap" &&
	setfacl -m u:1000:r "$T/acl" && setfattr -n user.note -v hello "$T/xattr" &&
	rm "$T/tofile" && mkdir "$T/tofile" && echo in >"$T/tofile/in" &&
	rm -r "$T/todir" && echo f >"$T/todir" &&
	rm -r "$T/tolink" && ln -s x "$T/tolink" &&
	rm -r "$T/opaque" && mkdir "$T/opaque" && echo fresh >"$T/opaque/fresh" &&
	mv "$T/renamed" "$T/moved" &&
	rm -r "$T/dir"
}

# What a reboot leaves, made without a pwapt command (which would recover).
reboot_quietly() {
	for w in $(ls "$PWAPT_STATE/worlds"); do
		lxc-unfreeze -P "$PWAPT_STATE/worlds" -n "$w" 2>/dev/null
		pid=$(lxc-info -P "$PWAPT_STATE/worlds" -n "$w" -pH 2>/dev/null)
		[ -z "$pid" ] || kill -9 "$pid" || return 1
	done
	wait_for 10 "! pgrep -f 'lxc monitor\] $PWAPT_STATE/worlds' >/dev/null" &&
	for m in $(mounts_below "$PWAPT_STATE"); do umount -l "$m" || return 1; done
}

for case in "killed once done:true" "killed once done, then a reboot:reboot_quietly"; do
test_expect_success "a merge into a child world ${case%:*}: its rollback restores the child exactly" '
	fresh_root && wcreate P Root && wcreate C P && change_everything C &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" >"$TMP/before" &&
	{ PWAPT_CRASH_AT=merge-done wmerge C P; test_equal 137 $?; } &&
	'${case##*:}' &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	pwapt rollback P &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" | diff -u "$TMP/before" -
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

test_done
