#!/bin/sh
# A world puts a FIFO or a device node where pwapt reads a file of its tree
# on the host side (dpkg's status, which a merge combines record by
# record): pwapt never opens it there.  A FIFO's open would block the merge
# for good, with the store's and DST's dpkg locks held; a device node's
# would be the host's device, outside the world's device cgroup (that one
# is tests/unit/test-fsutil's: inotify sees every open).
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT

status_root() {
	mkdir -p "$R/var/lib/dpkg" "$R/var/log" &&
		printf 'Package: a\nStatus: install ok installed\nVersion: 1\n\n' >"$R/var/lib/dpkg/status" &&
		echo log >"$R/var/log/dpkg.log"
}

test_expect_success 'a FIFO in place of dpkg s status: wmerge neither blocks nor loses Root s status' '
	status_root && cp "$R/var/lib/dpkg/status" "$TMP/status" &&
	wcreate F Root &&
	wexec F sh -c "rm /var/lib/dpkg/status && mkfifo /var/lib/dpkg/status && echo more >>/var/log/dpkg.log" &&
	{ timeout 120 wmerge F Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" | sed "s/^/# /"; test $rc != 124; } &&
	if test $rc = 0; then
		test -p "$R/var/lib/dpkg/status"
	else
		cmp "$TMP/status" "$R/var/lib/dpkg/status" && wdelete F
	fi &&
	test_equal "nothing to recover" "$(pwapt recover)"
'

test_done
