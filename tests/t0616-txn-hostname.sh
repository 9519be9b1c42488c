#!/bin/sh
# A world's host name is Root's: a world looks exactly like production.  A
# package whose postinst writes the host name into a file (ssl-cert's
# snakeoil certificate, openssh-server's host keys, /etc/mailname) merges
# Root's name from a transaction world, never the world's ("tx1").
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

test_expect_success 'set up: the tests repository' '
	use_test_repo 1.0
'

test_expect_success 'wexec W hostname prints Root s host name' '
	root=$(wexec Root hostname) && test -n "$root" &&
	wcreate W Root &&
	test_equal "$root" "$(wexec W hostname)" &&
	test_equal "$root" "$(wexec W cat /proc/sys/kernel/hostname)" &&
	wdelete W
'

test_expect_success 'a transaction world s postinst writes Root s host name, and that merges' '
	root=$(wexec Root hostname) &&
	pwapt install --test --keep -y pwapt-test-hostname >"$TMP/out" 2>&1; cat "$TMP/out" &&
	t=$(sed -n "s/^Transaction \(tx[0-9]*\):.*/\1/p" "$TMP/out" | head -n 1) && test -n "$t" &&
	test_equal "$root" "$(wexec "$t" cat /var/lib/pwapt-test/hostname)" &&
	pwapt merge "$t" >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out" && test_equal 0 $rc &&
	test_equal "$root" "$(cat "$R/var/lib/pwapt-test/hostname")"
'

test_done
