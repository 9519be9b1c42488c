#!/bin/sh
# wdelete and wlist.
. "$(dirname "$0")/lib.sh"
make_busybox_root

test_expect_success 'setup: a parent, a child, a sibling' '
	wcreate P Root && wcreate C P && wcreate S Root &&
	wexec P sh -c "dd if=/dev/zero of=/big bs=1024 count=300 2>/dev/null"
'

test_expect_success 'wlist shows worlds, parents, state and layer size' '
	wlist >"$TMP/l" && cat "$TMP/l" &&
	grep -Eq "^Root +- +stopped +-$" "$TMP/l" &&
	grep -Eq "^P +Root +running +3[0-9][0-9]\.[0-9]K$" "$TMP/l" &&
	grep -Eq "^C +P +running" "$TMP/l"
'

test_expect_success 'wlist --json is valid and complete' '
	wlist --json >"$TMP/j" &&
	python3 -c "
import json, sys
ws = {w[\"name\"]: w for w in json.load(open(sys.argv[1]))}
assert set(ws) == {\"Root\", \"P\", \"C\", \"S\"}, ws
assert ws[\"C\"][\"parents\"] == [\"P\"]
assert ws[\"P\"][\"state\"] == \"running\"
assert ws[\"P\"][\"layer_bytes\"] >= 300 * 1024
assert ws[\"P\"][\"init_pid\"] > 1
assert ws[\"Root\"][\"parents\"] == []
" "$TMP/j"
'

test_expect_success 'Root cannot be deleted' '
	test_fails_with 1 "Root cannot be deleted" wdelete Root
'

test_expect_success 'a world with children is not deleted unless they are named' '
	test_fails_with 1 "cannot delete .P.: world .C. is built on it" wdelete P &&
	wexec P true && wexec C true
'

test_expect_success 'an unknown name deletes nothing, not even the known ones' '
	test_fails_with 1 "no world named .nope." wdelete S nope &&
	wexec S true
'

test_expect_success 'parent and child named together are deleted, child first' '
	wdelete P C &&
	test_lacks "^(P|C) " wlist &&
	test -z "$(mounts_below "$PWAPT_STATE/worlds/P")" &&
	! test -e "$PWAPT_STATE/worlds/P" && ! test -e "$PWAPT_STATE/worlds/C"
'

test_expect_success 'the name is free again at once' '
	wcreate P Root &&
	test_absent_in P /big
'

test_expect_success 'deleting the same world twice fails the second time' '
	wdelete S &&
	test_fails_with 1 "no world named .S." wdelete S
'

test_expect_success 'wdelete without names is a usage error' '
	test_fails_with 2 "usage: wdelete" wdelete
'

test_expect_success 'nothing of deleted worlds remains: mounts, containers, trash' '
	wdelete P &&
	test -z "$(mounts_below "$PWAPT_STATE/worlds")" &&
	# wdelete kills the container; the lxc monitor finishes its
	# tear-down afterwards, soon, never forever.
	wait_for 30 "test_exit 1 pgrep -f \"lxc monitor\\] \$PWAPT_STATE/worlds (P|C|S)\\\$\"" &&
	# Its files are removed by a detached process, soon.
	wait_for 30 "test -z \"\$(ls \"\$PWAPT_STATE/trash\")\""
'

test_expect_success 'wdelete returns before its files are removed, and a command at once finds the name free' '
	wcreate Q Root && wexec Q sh -c "mkdir /big && i=0 && while [ \$i -lt 2000 ]; do echo \$i >/big/\$i; i=\$((i+1)); done" &&
	wdelete Q && test ! -e "$PWAPT_STATE/worlds/Q" &&
	wcreate Q Root && wexec Q true && wdelete Q &&
	wait_for 30 "test -z \"\$(ls \"\$PWAPT_STATE/trash\")\"" &&
	test_exit 1 pgrep -f "^$BIN_DIR/wdelete Q\$"
'

# A state directory whose worlds/ is a file system of its own (the layers
# on a bigger disk): a deleted world cannot be renamed into STATE/trash/
# (EXDEV) and goes to worlds/.trash/ instead; before, every command after
# a merge failed with "cannot delete world".
test_expect_success 'worlds/ a file system apart: a merged world, a deleted one and one whose wdelete was killed all go' '
	mkdir -p "$TMP/st2/worlds" &&
	mount -t tmpfs -o mode=0700 pwapt-worlds "$TMP/st2/worlds" &&
	(
		PWAPT_STATE=$TMP/st2 && export PWAPT_STATE &&
		wcreate A Root && wexec A sh -c "echo x >/etc/apart" &&
		wmerge A Root && test_equal x "$(cat "$PWAPT_ROOT/etc/apart")" &&
		test ! -e "$PWAPT_STATE/worlds/A" && test_lacks "^A " wlist &&
		wcreate B Root && wexec B sh -c "mkdir /big && touch /big/1 /big/2" &&
		wdelete B && test ! -e "$PWAPT_STATE/worlds/B" &&
		wait_for 30 "test -z \"\$(ls \"\$PWAPT_STATE/worlds/.trash\")\"" &&
		wcreate K Root && wexec K sh -c "echo x >/etc/x" &&
		{ PWAPT_CRASH_AT=delete-trash wdelete K; test_equal 137 $?; } &&
		test -n "$(ls "$PWAPT_STATE/worlds/.trash")" &&
		test_lacks "^K " wlist &&
		test_no_output ls "$PWAPT_STATE/worlds/.trash" &&
		test_no_output ls "$PWAPT_STATE/trash" &&
		wcreate A Root && wdelete A
	)
	_rc=$?
	PWAPT_STATE=$TMP/st2 pwapt stop-all >/dev/null 2>&1
	rm -f "$PWAPT_ROOT/etc/apart"
	return $_rc
'

test_done
