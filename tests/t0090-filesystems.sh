#!/bin/sh
# A Root that spans several file systems (a separate /srv and /home here,
# like a host's separate /var or /boot): each gets its own layer, so a world
# sees the whole system and its writes there stay in the world.
. "$(dirname "$0")/lib.sh"
command -v mkfs.ext4 >/dev/null || skip_all "mkfs.ext4 is missing (e2fsprogs)"
make_busybox_root
mkdir -p "$PWAPT_ROOT/srv" "$PWAPT_ROOT/home" "$PWAPT_ROOT/mnt/scratch"

make_fs() { # DIR: a real ext4 file system on a loop device, mounted at DIR
	img=$TMP/$(basename "$1").img
	truncate -s 64M "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$1"
}

test_expect_success 'setup: /srv and /home are file systems of their own' '
	make_fs "$PWAPT_ROOT/srv" && make_fs "$PWAPT_ROOT/home" &&
	echo srv-data >"$PWAPT_ROOT/srv/data" &&
	mkdir "$PWAPT_ROOT/home/alice" && echo alice >"$PWAPT_ROOT/home/alice/note" &&
	mount -t tmpfs scratch "$PWAPT_ROOT/mnt/scratch" &&
	echo scratch >"$PWAPT_ROOT/mnt/scratch/file"
'

test_expect_success 'a world sees the files of every file system of Root' '
	wcreate A Root &&
	test_equal srv-data "$(wexec A cat /srv/data)" &&
	test_equal alice "$(wexec A cat /home/alice/note)"
'

test_expect_success 'writes there stay in the world, in a layer of its own' '
	wexec A sh -c "echo in-A >/srv/new; echo changed >/home/alice/note; rm /srv/data" &&
	test_equal in-A "$(wexec A cat /srv/new)" &&
	! test -e "$PWAPT_ROOT/srv/new" &&
	test_equal alice "$(cat "$PWAPT_ROOT/home/alice/note")" &&
	test -e "$PWAPT_ROOT/srv/data" &&
	test -e "$PWAPT_STATE/worlds/A/fs/srv/upper/new" &&
	grep -qx "mount srv" "$PWAPT_STATE/worlds/A/world"
'

test_expect_success 'a tmpfs in Root is not part of what a world inherits' '
	test_absent_in A /mnt/scratch/file &&
	! grep -q "mount mnt/scratch" "$PWAPT_STATE/worlds/A/world"
'

test_expect_success 'a grandchild sees its parent s layers on every file system' '
	wcreate B A &&
	test_equal in-A "$(wexec B cat /srv/new)" &&
	test_equal changed "$(wexec B cat /home/alice/note)" &&
	test_absent_in B /srv/data
'

test_expect_success 'two parents that overlap on another file system are reported' '
	wcreate P Root &&
	wexec P sh -c "echo p >/srv/new" &&
	wcreate M A P >"$TMP/out" &&
	grep -qx "! /srv/new: from A, hiding P" "$TMP/out" &&
	test_equal in-A "$(wexec M cat /srv/new)"
'

test_expect_success 'after a reboot every file system of a world comes back' '
	simulate_reboot &&
	test_equal in-A "$(wexec B cat /srv/new)" &&
	test_equal changed "$(wexec B cat /home/alice/note)"
'

test_expect_success 'wlist counts the layers of every file system' '
	wexec A dd if=/dev/zero of=/srv/big bs=1024 count=512 2>/dev/null &&
	wlist --json | python3 -c "
import json, sys
ws = {w[\"name\"]: w for w in json.load(sys.stdin)}
assert ws[\"A\"][\"layer_bytes\"] >= 512 * 1024, ws[\"A\"]
"
'

test_expect_success 'a state directory inside one of those file systems is hidden and worlds nest' '
	export PWAPT_STATE="$PWAPT_ROOT/srv/pwapt-state" &&
	wcreate S Root && wcreate S2 S &&
	test_absent_in S2 /srv/pwapt-state/worlds &&
	wexec S2 sh -c "echo s2 >/srv/s2" && ! test -e "$PWAPT_ROOT/srv/s2" &&
	wdelete S S2 && pwapt stop-all
'

test_expect_success 'wdelete removes every layer and mount' '
	wdelete M B A P &&
	test -z "$(mounts_below "$PWAPT_STATE/worlds")" &&
	ls "$PWAPT_STATE/worlds" >"$TMP/worlds" && ! grep -v "^Root$" "$TMP/worlds"
'

test_done
