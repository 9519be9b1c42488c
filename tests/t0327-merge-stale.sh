#!/bin/sh
# A change that DST makes in place (an append, a chmod: same inode) to a
# file the merge is about to replace, after the merge saved it: the merge
# stops and rolls back, and DST's change stays.  With the state directory
# on Root's file system (saves are hard links) and on another (copies).
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT
T() { echo "$PWAPT_STATE/worlds/$1/merged"; }

fresh_root() {
	cleanup_worlds && rm -rf "$R/srv" && mkdir -p "$R/srv/k" &&
	for f in f0 f1 f2 f3; do echo orig >"$R/srv/k/$f" || return 1; done
}

add() {
	_w=$1 _t=$2
	shift 2
	for f; do echo "$_t" >>"$(T "$_w")/srv/k/$f" || return 1; done
}

# stopped_merge CMD: runs wmerge A Root stopped before its first operation,
# runs CMD in Root, lets the merge go on; its output in $TMP/out.
stopped_merge() {
	{ PWAPT_STOP_AT=merge-op:0 wmerge A Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	eval "$1" &&
	kill -CONT $pid && { wait $pid; echo "$?" >"$TMP/rc"; } && cat "$TMP/out"
}

stale_tests() {
	test_expect_success "$1: an append by DST after the save stops the merge; DST keeps it" '
		fresh_root && wcreate A Root && add A a f0 f1 f2 f3 &&
		stopped_merge "echo root-appended >>\"\$R/srv/k/f3\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		grep -q "/srv/k/f3 changed in .Root. during the merge" "$TMP/out" &&
		printf "orig\nroot-appended\n" | cmp - "$R/srv/k/f3" &&
		for f in f0 f1 f2; do echo orig | cmp - "$R/srv/k/$f" || return 1; done &&
		! test -e "$PWAPT_STATE/merge" && test -d "$(T A)" &&
		test_equal 1 "$(stat -c %h "$R/srv/k/f3")"
	'
	test_expect_success "$1: a chmod by DST of a file the merge deletes stops it" '
		fresh_root && wcreate A Root && add A a f0 && rm "$(T A)/srv/k/f2" &&
		stopped_merge "chmod 600 \"\$R/srv/k/f2\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		test_equal 600 "$(stat -c %a "$R/srv/k/f2")" &&
		echo orig | cmp - "$R/srv/k/f0" && ! test -e "$PWAPT_STATE/merge"
	'
	test_expect_success "$1: DST files with several names, all replaced, merge" '
		fresh_root && ln -f "$R/srv/k/f0" "$R/srv/k/f1" &&
		ln -f "$R/srv/k/f0" "$R/srv/k/f2" &&
		wcreate A Root && add A a f0 f1 f2 f3 && wmerge A Root &&
		for f in f0 f1 f2 f3; do grep -q "^a$" "$R/srv/k/$f" || return 1; done &&
		! test -e "$PWAPT_STATE/merge"
	'
	test_expect_success "$1: killed mid-merge; an append by DST before recovery stays" '
		fresh_root && wcreate A Root && add A a f0 f1 f2 f3 &&
		{ PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test_equal 137 $?; } &&
		echo root-appended >>"$R/srv/k/f3" && wlist >/dev/null &&
		! test -e "$PWAPT_STATE/merge" &&
		printf "orig\nroot-appended\n" | cmp - "$R/srv/k/f3" &&
		echo orig | cmp - "$R/srv/k/f0"
	'
	test_expect_success "$1: an append by DST during a merge that fails stays a conflict for a sibling" '
		fresh_root && wcreate S Root && wcreate A Root && add A a f0 f1 f2 f3 &&
		add S s f3 &&
		stopped_merge "echo root-appended >>\"\$R/srv/k/f3\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		test_fails_with 3 "changed in .Root. after .S. was created" wmerge S Root &&
		printf "orig\nroot-appended\n" | cmp - "$R/srv/k/f3"
	'
	test_expect_success "$1: an xattr by DST before the recovery of a killed merge stays a conflict for a sibling" '
		fresh_root && wcreate S Root && wcreate A Root && add A a f0 f1 f2 f3 &&
		add S s f3 &&
		{ PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test_equal 137 $?; } &&
		setfattr -n user.t0327 -v 1 "$R/srv/k/f3" && wlist >/dev/null &&
		! test -e "$PWAPT_STATE/merge" &&
		wdiff S >"$TMP/d"; grep -q "^! /srv/k/f3" "$TMP/d"
	'
	test_expect_success "$1: a merge that fails, undisturbed, leaves no conflict for a sibling" '
		fresh_root && wcreate S Root && wcreate A Root && add A a f0 f1 f2 f3 &&
		add S s f3 &&
		PWAPT_FAIL_AT=merge-op:2 test_fails_with 1 "Input/output error" wmerge A Root &&
		wmerge S Root && printf "orig\ns\n" | cmp - "$R/srv/k/f3"
	'
	test_expect_success "$1: a merge that DST does not touch meanwhile goes through" '
		fresh_root && wcreate A Root && add A a f0 f3 &&
		stopped_merge "touch \"\$R/srv/k/f1\"" && test_equal 0 "$(cat "$TMP/rc")" &&
		printf "orig\na\n" | cmp - "$R/srv/k/f3"
	'
}

stale_tests "state on Root's file system"

cleanup_worlds
mkdir "$TMP/statefs" && mount -t tmpfs -o size=64m,mode=0700 pwapt-state "$TMP/statefs" ||
	skip_all "cannot mount a tmpfs"
PWAPT_STATE=$TMP/statefs/state
export PWAPT_STATE
stale_tests "state on another file system"
cleanup_worlds
test_done
