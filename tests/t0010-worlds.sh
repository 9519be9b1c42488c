#!/bin/sh
# World semantics: isolation of layers, visibility of Root's later changes,
# nesting, several parents, namespaces of a world's container.
. "$(dirname "$0")/lib.sh"
make_busybox_root

test_expect_success 'wcreate makes a running world over Root' '
	wcreate A Root &&
	wlist | grep -Eq "^A +Root +running"
'

# A world looks exactly like production: its host name is Root's (what a
# package's scripts write of it merges into Root), in a UTS namespace of
# its own all the same.
test_expect_success 'a world s host name is Root s, and setting it changes only the world' '
	test_equal Root "$(wexec A hostname)" &&
	wcreate U A &&
	test_equal Root "$(wexec U hostname)" &&
	wexec U hostname renamed-in-U &&
	test_equal renamed-in-U "$(wexec U hostname)" &&
	test_equal Root "$(wexec A hostname)" &&
	wdelete U
'

test_expect_success 'a file written in a child is invisible in Root and in a sibling' '
	wcreate B Root &&
	wexec A sh -c "echo from-A >/etc/only-in-A" &&
	test_equal from-A "$(wexec A cat /etc/only-in-A)" &&
	! test -e "$PWAPT_ROOT/etc/only-in-A" &&
	test_absent_in B /etc/only-in-A &&
	test_absent_in Root /etc/only-in-A
'

test_expect_success 'a deletion in a child hides the file only there' '
	wexec A rm /etc/motd &&
	test_absent_in A /etc/motd &&
	wexec B test -e /etc/motd &&
	test -e "$PWAPT_ROOT/etc/motd"
'

test_expect_success 'a change Root makes later shows in the child where the child did not write' '
	echo late >"$PWAPT_ROOT/etc/added-later" &&
	test_equal late "$(wexec A cat /etc/added-later)" &&
	echo changed >"$PWAPT_ROOT/etc/hostname" &&
	test_equal changed "$(wexec A cat /etc/hostname)"
'

test_expect_success 'Root replacing a file the child already read (as dpkg does) shows in the child' '
	echo old >"$PWAPT_ROOT/etc/replaced" &&
	test_equal old "$(wexec A cat /etc/replaced)" &&
	echo new >"$PWAPT_ROOT/etc/replaced.tmp" &&
	mv "$PWAPT_ROOT/etc/replaced.tmp" "$PWAPT_ROOT/etc/replaced" &&
	test_equal new "$(wexec A cat /etc/replaced)"
'

test_expect_success 'a file Root creates after the child looked for it shows in the child' '
	test_absent_in A /etc/looked-for &&
	echo here >"$PWAPT_ROOT/etc/looked-for" &&
	test_equal here "$(wexec A cat /etc/looked-for)" &&
	rm "$PWAPT_ROOT/etc/looked-for" &&
	test_absent_in A /etc/looked-for
'

test_expect_success 'a change Root makes later does not override what the child wrote' '
	wexec A sh -c "echo mine >/etc/shared-file" &&
	echo roots >"$PWAPT_ROOT/etc/shared-file" &&
	test_equal mine "$(wexec A cat /etc/shared-file)"
'

test_expect_success 'a grandchild sees its parent and Root, and its writes stay its own' '
	wcreate C A &&
	test_equal from-A "$(wexec C cat /etc/only-in-A)" &&
	test_equal late "$(wexec C cat /etc/added-later)" &&
	test_absent_in C /etc/motd &&
	wexec C sh -c "echo from-C >/etc/only-in-C" &&
	test_absent_in A /etc/only-in-C
'

test_expect_success 'a parent replacing a file after the grandchild read it shows in the grandchild' '
	wexec A sh -c "echo v1 >/etc/from-parent" &&
	test_equal v1 "$(wexec C cat /etc/from-parent)" &&
	wexec A sh -c "echo v2 >/etc/from-parent.new && mv /etc/from-parent.new /etc/from-parent" &&
	test_equal v2 "$(wexec C cat /etc/from-parent)"
'

test_expect_success 'nesting goes deeper than two levels' '
	wcreate D C && wcreate E D && wcreate F E &&
	test_equal from-C "$(wexec F cat /etc/only-in-C)" &&
	test_equal from-A "$(wexec F cat /etc/only-in-A)"
'

test_expect_success 'with two parents the first wins and the overlap is reported' '
	wcreate P1 Root && wcreate P2 Root &&
	wexec P1 sh -c "echo p1 >/etc/both; echo p1 >/etc/p1-only" &&
	wexec P2 sh -c "echo p2 >/etc/both; echo p2 >/etc/p2-only; rm /etc/hostname" &&
	wcreate M P1 P2 >"$TMP/out" &&
	cat "$TMP/out" &&
	grep -qx "! /etc/both: from P1, hiding P2" "$TMP/out" &&
	! grep -q "p1-only\|p2-only" "$TMP/out" &&
	test_equal p1 "$(wexec M cat /etc/both)" &&
	test_equal p1 "$(wexec M cat /etc/p1-only)" &&
	test_equal p2 "$(wexec M cat /etc/p2-only)" &&
	test_absent_in M /etc/hostname
'

test_expect_success 'the other order of parents makes the other one win' '
	wcreate N P2 P1 --json >"$TMP/out" &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
o = {x[\"path\"]: x for x in r[\"overlaps\"]}
assert o[\"/etc/both\"][\"winner\"] == \"P2\", o
assert o[\"/etc/both\"][\"hidden\"] == [\"P1\"], o
" "$TMP/out" &&
	test_equal p2 "$(wexec N cat /etc/both)"
'

test_expect_success 'parents sharing layers: the first parent still wins, as reported' '
	wcreate G A &&
	wexec G sh -c "echo from-G >/etc/only-in-A; echo g >/etc/g-only" &&
	wcreate H A B G >"$TMP/out" &&
	cat "$TMP/out" &&
	test_equal from-A "$(wexec H cat /etc/only-in-A)" &&
	test_equal g "$(wexec H cat /etc/g-only)" &&
	grep -qx "! /etc/only-in-A: from A, hiding G" "$TMP/out" &&
	wcreate I G A >"$TMP/out" &&
	test_equal from-G "$(wexec I cat /etc/only-in-A)" &&
	grep -qx "! /etc/only-in-A: from G, hiding A" "$TMP/out"
'

test_expect_success 'a parent named twice is refused' '
	test_fails_with 1 "named twice" wcreate J A A &&
	test_lacks "^J " wlist
'

test_expect_success 'a world has its own mount, pid, uts, ipc, net and cgroup namespaces' '
	pid=$(init_pid A) && test "$pid" -gt 1 &&
	for ns in mnt pid uts ipc net cgroup; do
		test "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ||
			{ echo "shares $ns namespace"; exit 1; }
	done &&
	test "$(cat /proc/$pid/cgroup)" != "$(cat /proc/self/cgroup)"
'

test_expect_success 'a world sees none of the host processes, only its own' '
	sleep 300 &
	hostpid=$! &&
	wexec A ps -o pid,args >"$TMP/ps" &&
	kill $hostpid &&
	cat "$TMP/ps" &&
	! grep -q "sleep 300" "$TMP/ps" &&
	test_equal /run/.pwapt-init "$(wexec A cat /proc/1/cmdline | tr -d "\0")"
'

test_expect_success 'the state directory and the layers are invisible in a world' '
	echo secret >"$PWAPT_STATE/canary" &&
	test_absent_in A "$PWAPT_STATE" "$PWAPT_STATE/canary" "$PWAPT_STATE/worlds/A/upper" &&
	test_equal none "$(wexec A sh -c "grep -rqs secret /root /etc /var /tmp /run && echo found || echo none")"
'

test_expect_success 'a world gets a fresh /tmp, /run (with /run/lock), /proc and /dev' '
	echo x >"$PWAPT_ROOT/tmp/root-tmp-file" &&
	test_absent_in A /tmp/root-tmp-file &&
	wexec A sh -c "grep -q \" /tmp tmpfs\" /proc/mounts && grep -q \" /run tmpfs\" /proc/mounts" &&
	wexec A test -c /dev/null &&
	test_equal "1777 tmpfs" "$(wexec A stat -c %a /run/lock) $(wexec A stat -f -c %T /run/lock)" &&
	! test -e "$PWAPT_STATE/worlds/A/upper/tmp/root-tmp-file"
'

test_expect_success 'the loopback of a world is up' '
	wexec A sh -c "ip addr show lo | grep -q \"inet 127.0.0.1\""
'

test_expect_success 'wexec Root runs in a container over the Root directory' '
	test_equal Root "$(wexec Root hostname)" &&
	test_equal late "$(wexec Root cat /etc/added-later)" &&
	test_absent_in Root /etc/only-in-A &&
	wexec Root sh -c "echo written-by-root >/etc/root-wrote" &&
	test_equal written-by-root "$(cat "$PWAPT_ROOT/etc/root-wrote")"
'

# liblxc makes a container's directory again for its log when another
# process looks the container up while it is deleted (seen in t0600):
# such a directory, with no world's record, is no world, and wlist lists
# the worlds all the same.
test_expect_success 'wlist lists past a directory of the state that holds no world' '
	mkdir "$PWAPT_STATE/worlds/ghost" && : >"$PWAPT_STATE/worlds/ghost/lxc.log" &&
	wlist >"$TMP/out" && grep -q "^A " "$TMP/out" && test_lacks "^ghost " cat "$TMP/out" &&
	rm -r "$PWAPT_STATE/worlds/ghost"
'

# liblxc is loaded when a container is first opened, not linked: where it
# cannot be loaded (here a file that is no library over it, in a mount
# namespace of the test's own), a command that asks a container ends as the
# dynamic loader would have ended it, never taking the world for stopped.
test_expect_success 'liblxc is loaded when first needed: a command without it says so and stops' '
	ldd "$BIN_DIR/pwapt" >"$TMP/ldd" && cat "$TMP/ldd" &&
	test_lacks liblxc cat "$TMP/ldd" &&
	lib=$(ldd "$(command -v lxc-start)" | awk "/liblxc\\.so\\.1 / { print \$3 }") &&
	lib=$(readlink -f "$lib") && test -f "$lib" && : >"$TMP/nolib" &&
	{ unshare -m --propagation private sh -c "mount --bind \"\$1\" \"\$2\" && shift 2 && exec \"\$@\"" - \
		"$TMP/nolib" "$lib" wlist >"$TMP/out" 2>"$TMP/err"; rc=$?; } &&
	cat "$TMP/out" "$TMP/err" && test_equal 127 $rc &&
	grep -q "cannot load liblxc" "$TMP/err" &&
	test_lacks "stopped" cat "$TMP/out" &&
	wlist | grep -Eq "^A +Root +running"
'

# liblxc re-executes the program from a memory file at its load when
# LXC_MEMFD_REXEC asks it to: pwapt loads it first then, before any work,
# or a command would run twice.  (Run from a memory file, pwapt finds no
# pwapt-init beside itself: it is named.)
test_expect_success 'LXC_MEMFD_REXEC: a world is created once, and runs' '
	LXC_MEMFD_REXEC=1 PWAPT_INIT="$BIN_DIR/pwapt-init" wcreate REXEC Root &&
	wlist | grep -Eq "^REXEC +Root +running" &&
	LXC_MEMFD_REXEC=1 wexec REXEC true &&
	echo changed >"$PWAPT_STATE/worlds/REXEC/merged/etc/hostname" &&
	# (LeakSanitizer cannot work under ptrace: off for this one command
	# of a sanitized build, ignored by any other.)
	LXC_MEMFD_REXEC=1 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -qq -o "$TMP/st" -e trace=execveat,openat \
		wdiff REXEC >"$TMP/d"; rc=$?
	cat "$TMP/d" && { test $rc = 0 || test $rc = 3; } &&
	grep -q "^M /etc/hostname" "$TMP/d" &&
	first_exec=$(grep -n -m1 "^execveat(" "$TMP/st" | cut -d: -f1) &&
	first_state=$(grep -n -m1 "openat(.*\"$PWAPT_STATE" "$TMP/st" | cut -d: -f1) &&
	echo "re-executed at line $first_exec, the state first opened at $first_state" &&
	test -n "$first_exec" && test -n "$first_state" &&
	test "$first_exec" -lt "$first_state" && wdelete REXEC
'

test_done
