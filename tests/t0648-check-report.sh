#!/bin/sh
# What a failed service check says (wmerge(8)): a check command of
# pwapt.conf that does not finish is said to time out after check-timeout
# seconds and leaves nothing running in Root.  On the Debian test tree
# with the tests' pwapt-test-www (port 8090).
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
WEBD=/usr/sbin/pwapt-test-wwwd

version() {
	wexec "$1" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:8090/", timeout=5).read().decode().strip())' 2>/dev/null
}

test_expect_success 'set up: pwapt-test-www 1.0 running in Root, 1.1 and 1.2 in the lists' '
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-www &&
	wexec Root /etc/init.d/pwapt-test-www start &&
	wait_for 20 "test 1.0 = \"\$(version Root)\"" &&
	use_test_repo 1.1
'

test_expect_success 'a bad check-timeout is a clear error' '
	echo "check-timeout = soon" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "pwapt.conf:1: check-timeout is seconds, 1 to 86400, not .soon." wlist &&
	echo "check-timeout = 0" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "check-timeout is seconds, 1 to 86400, not .0." wlist &&
	rm "$PWAPT_CONFIG"
'

test_expect_success 'a check command that hangs: said to time out, its children killed, the merge rolled back' '
	printf "check-timeout = 3\ncheck.pwapt-test-www = sleep 4321 & sleep 4322\n" >"$PWAPT_CONFIG" &&
	wcreate C Root >/dev/null &&
	wexec C sh -c "echo \"# touched\" >>$WEBD" &&
	sha256sum "$R$WEBD" >"$TMP/before" &&
	wmerge C Root >"$TMP/out" 2>&1; rc=$?; rm -f "$PWAPT_CONFIG"; cat "$TMP/out"
	test_equal 1 $rc &&
	grep -q "rolled back: check.pwapt-test-www (sleep 4321 & sleep 4322) did not finish within 3 s in Root (timed out: killed with its process group)" "$TMP/out" &&
	! grep -q "exit 137" "$TMP/out" &&
	! pgrep -f "^sleep 432[12]\$" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	wait_for 20 "test 1.0 = \"\$(version Root)\""
'

test_done
