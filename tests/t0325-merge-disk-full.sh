#!/bin/sh
# A merge that fails because DST's file system is full, and whose roll-back
# fails for the same reason: nothing DST had may be lost.  The undo and the
# journal stay, and the next command rolls back once there is room.
. "$(dirname "$0")/lib.sh"
mkdir "$TMP/rootfs" && mount -t tmpfs -o size=40m pwapt-root "$TMP/rootfs" ||
	skip_all "cannot mount a tmpfs"
PWAPT_ROOT=$TMP/rootfs/root
export PWAPT_ROOT
make_busybox_root
R=$PWAPT_ROOT

test_expect_success 'a merge and its roll-back on a full disk: the deleted directory comes back' '
	mkdir -p "$R/srv/big" &&
	for i in $(seq 1 40); do head -c 100000 /dev/urandom >"$R/srv/big/f$i" || return 1; done &&
	(cd "$R/srv/big" && sha256sum f*) >"$TMP/sums" &&
	wcreate A Root &&
	rm -r "$PWAPT_STATE/worlds/A/merged/srv/big" &&
	head -c 2000000 /dev/urandom >"$PWAPT_STATE/worlds/A/merged/srv/z" &&
	{ PWAPT_STOP_AT=merge-op:1 wmerge A Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	{ dd if=/dev/zero of="$R/fill" bs=64k 2>/dev/null; :; } &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } &&
	cat "$TMP/out" && grep -q "No space left on device" "$TMP/out" &&
	rm -f "$R/fill" &&
	test_has "recovered an interrupted merge" pwapt recover &&
	(cd "$R/srv/big" && sha256sum -c --quiet "$TMP/sums") &&
	test_equal 40 "$(ls "$R/srv/big" | wc -l)" && ! test -e "$R/srv/z" &&
	! test -e "$PWAPT_STATE/merge" &&
	wmerge A Root && ! test -e "$R/srv/big" && test -s "$R/srv/z"
'

test_expect_success 'what Root held cannot be noted (the state full): wexec warns, the merge refuses' '
	mkdir "$TMP/st" && mount -t tmpfs -o size=20m pwapt-st "$TMP/st" &&
	(
		PWAPT_STATE=$TMP/st/state && export PWAPT_STATE &&
		mkdir -p "$R/srv/d" && echo 3 >"$R/srv/d/f3" &&
		wcreate F Root &&
		wexec F sh -c "sed -i s/3/x/ /srv/d/f3 && { dd if=/dev/zero of=/fill bs=64k 2>/dev/null; :; }" 2>"$TMP/e" &&
		rm "$PWAPT_STATE/worlds/F/merged/fill" && cat "$TMP/e" &&
		grep -q "cannot note which files of .F. its parent held.*No space left on device" "$TMP/e" &&
		rm "$R/srv/d/f3" &&
		{ wmerge F Root >"$TMP/out" 2>&1; test_equal 3 $?; } && cat "$TMP/out" &&
		grep -q "^! /srv/d/f3: changed in Root after F was created: .*unnoted: lower-had-lost" "$TMP/out" &&
		! test -e "$R/srv/d/f3" &&
		wmerge --force F Root && test_equal x "$(cat "$R/srv/d/f3")"
	)
'

test_done
