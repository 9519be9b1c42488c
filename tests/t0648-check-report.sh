#!/bin/sh
# What a failed service check says (wmerge(8), pwapt-unattended(8)): a
# check command of pwapt.conf that does not finish is said to time out
# after check-timeout seconds and leaves nothing running in Root; a merged
# unattended upgrade whose service fails its check is recorded in
# unattended.log as rolled back, naming the check.  On the Debian test tree
# with the tests' pwapt-test-www (port 8090; 1.2 runs but listens on
# nothing).
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
WEBD=/usr/sbin/pwapt-test-wwwd

# A sendmail that keeps what it gets: the host's is never used here.
cat >"$TMP/sendmail" <<EOF
#!/bin/sh
cat >>"$TMP/mail"
EOF
chmod 755 "$TMP/sendmail"
PWAPT_SENDMAIL=$TMP/sendmail
export PWAPT_SENDMAIL

test_expect_success 'set up: pwapt-test-www 1.0 running in Root, 1.1 and 1.2 in the lists' '
	www_running_in_root
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
	wait_for 20 "test 1.0 = \"\$(www_version Root)\""
'

# Where the tree has no unattended-upgrades, skipped (a failure when
# PWAPT_TEST_MUST_WORK=1: the test then runs, and fails).
if [ ! -x "$R/usr/bin/unattended-upgrade" ] && [ "${PWAPT_TEST_MUST_WORK:-0}" != 1 ]; then
	test_count=$((test_count + 1))
	echo "ok $test_count # SKIP the Debian test tree has no unattended-upgrades"
else
test_expect_success 'pwapt unattended whose merge fails its check: unattended.log says rolled back, the check, the world, one exit status' '
	cat >"$R/etc/apt/apt.conf.d/51pwapt-test" <<-\EOF &&
	Unattended-Upgrade::Origins-Pattern { "origin=pwapt-test,label=pwapt-test"; };
	Unattended-Upgrade::Mail "admin@example.org";
	Unattended-Upgrade::MailReport "always";
	EOF
	sha256sum "$R$WEBD" >"$TMP/before" &&
	echo "unattended = on" >"$PWAPT_CONFIG" &&
	pwapt unattended >"$TMP/out" 2>&1; rc=$?; rm -f "$PWAPT_CONFIG"; cat "$TMP/out"
	test_equal 1 $rc &&
	head -n 1 "$R/var/log/pwapt/unattended.log" >"$TMP/rec" && cat "$TMP/rec" &&
	grep -q "the merge of tx1 into Root was rolled back: port 8090 of pwapt-test-www does not answer in Root; Root has its old files again, tx1 is gone (exit 1)\$" "$TMP/rec" &&
	test_equal 1 "$(grep -o "(exit [0-9]*)" "$TMP/rec" | wc -l)" &&
	grep -q "^the merge of tx1 into Root was rolled back: port 8090 of pwapt-test-www does not answer in Root; Root has its old files again, tx1 is gone (exit 1)\.\$" "$TMP/mail" &&
	! wlist | grep -q "^tx1\b" &&
	sha256sum -c "$TMP/before" >/dev/null &&
	wait_for 20 "test 1.0 = \"\$(www_version Root)\""
'
fi

test_done
