#!/bin/sh
# tests/run-all itself: a test file that never ends fails, with what its
# processes were doing, is killed with everything it started, and the
# files after it still run; each file's time is printed.
. "$(dirname "$0")/lib.sh"

# A file that prints one result, starts a child and waits for ever; its
# EXIT trap notes that it ran.  And one that passes.
mkdir -p "$TMP/t" &&
	cat >"$TMP/t/t0001-hangs.sh" <<EOT &&
#!/bin/sh
trap 'echo "# its cleanup ran"' EXIT
trap 'exit 143' TERM
echo "ok 1 - before the hang"
sleep 1000 &
echo \$! >"$TMP/child"
sh -c 'trap "" TERM; exec sleep 1001' &
echo \$! >"$TMP/deaf"
wait
EOT
	printf '#!/bin/sh\ngrep "^SigIgn:" /proc/self/status\necho "ok 1 - fine"\necho 1..1\n' \
		>"$TMP/t/t0002-fine.sh" &&
	chmod +x "$TMP/t/t0001-hangs.sh" "$TMP/t/t0002-fine.sh" ||
	skip_all "cannot write the test files"

# gone PID: no such process, or a zombie (its parent gone, not reaped yet).
gone() {
	_st=$(ps -o stat= -p "$1")
	[ -z "$_st" ] || [ "${_st#Z}" != "$_st" ]
}

test_expect_success 'a file still running after PWAPT_TEST_TIMEOUT fails, is killed whole, and the next file runs' '
	{ PWAPT_TEST_RESULTS=$TMP/r PWAPT_TEST_TIMEOUT=2 "$TEST_DIR/run-all" "$TMP/t/t0001-hangs.sh" \
		"$TMP/t/t0002-fine.sh" >"$TMP/out" 2>&1; test_equal 1 $?; } &&
	grep -q "^not ok - t0001-hangs.sh did not end within 2 s: killed" "$TMP/out" &&
	grep -q "^# still running after 2 s; its processes then:" "$TMP/out" &&
	grep -q "^#  .* sleep 1000" "$TMP/out" &&
	grep -q "^# its cleanup ran" "$TMP/out" &&
	grep -q "^ok 1 - fine" "$TMP/out" &&
	grep -q "^# t0002-fine.sh: [0-9]* s" "$TMP/out" &&
	grep -q "^# failing: t0001-hangs.sh$" "$TMP/out" &&
	gone "$(cat "$TMP/child")" && gone "$(cat "$TMP/deaf")"
'

# Run as in the foreground, though run-all starts it in the background:
# SIGINT and SIGQUIT (bits 2 and 3 of SigIgn) not ignored: a test sends
# them to its commands.
test_expect_success 'a file that ends in time is not touched by the watchdog, and ignores no signal' '
	PWAPT_TEST_RESULTS=$TMP/r PWAPT_TEST_TIMEOUT=3599 "$TEST_DIR/run-all" "$TMP/t/t0002-fine.sh" >"$TMP/out" 2>&1 &&
	ign=$(sed -n "s/^SigIgn:[[:space:]]*//p" "$TMP/out") && test -n "$ign" &&
	test_equal 0 $((0x$ign & 6)) &&
	tail -n 1 "$TMP/out" | grep -qx "1 passed, 0 failed, 0 skipped" &&
	! grep -q "still running" "$TMP/out" &&
	! pgrep -f "^sleep 3599$" >/dev/null
'

test_done
