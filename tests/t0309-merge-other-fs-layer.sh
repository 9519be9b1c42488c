#!/bin/sh
# A Root whose /srv is a file system of its own, with the state directory
# on it (a host's /var/lib/pwapt on a separate /var): a world's own layer
# of Root's / then lies on /srv's mount, where a hard link into Root's
# /srv works.  What a world wrote into that layer below /srv (it
# unmounted its /srv overlay in its container, then wrote there) is not
# what its processes see there, nor what wdiff shows: the merge never
# links, moves or judges from it.
. "$(dirname "$0")/lib.sh"
command -v mkfs.ext4 >/dev/null || skip_all "mkfs.ext4 is missing (e2fsprogs)"
make_busybox_root
R=$PWAPT_ROOT
mkdir -p "$R/srv" && img=$TMP/srv.img && truncate -s 64M "$img" &&
	mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$R/srv" ||
	skip_all "cannot mount an ext4 image"
PWAPT_STATE=$R/srv/pwapt-state
export PWAPT_STATE

test_expect_success 'a file the world wrote into its / layer below /srv (its /srv unmounted) does not reach Root' '
	mkdir -p "$R/srv/www" && echo old >"$R/srv/www/index" &&
	wcreate A Root &&
	wexec A sh -c "echo benign >/srv/www/index" &&
	wexec A sh -c "umount /srv/pwapt-state; umount /srv && mkdir -p /srv/www && echo evil >/srv/www/index" &&
	test_equal evil "$(cat "$PWAPT_STATE/worlds/A/upper/srv/www/index")" &&
	wdiff A >"$TMP/diff" && cat "$TMP/diff" && grep -q "/srv/www/index" "$TMP/diff" &&
	test_equal benign "$(cat "$PWAPT_STATE/worlds/A/merged/srv/www/index")" &&
	wmerge A Root &&
	test_equal benign "$(cat "$R/srv/www/index")"
'

# A directory renamed on another of Root's file systems: merged exactly
# (by a copy: the layer of Root's / tells nothing there).
test_expect_success 'a directory renamed on /srv, its own file system, merges exactly' '
	mkdir -p "$R/srv/big" && echo b >"$R/srv/big/f" &&
	wcreate B Root && wexec B sh -c "mv /srv/big /srv/moved && echo c >>/srv/moved/f" &&
	wmerge B Root && test_equal "b
c" "$(cat "$R/srv/moved/f")" && ! test -e "$R/srv/big"
'

test_done
