#!/bin/sh
# A directory that a world deleted (or replaced by a file) leaves DST whole:
# the merge moves DST's directory into its undo.  It must be the directory
# the plan saw: one that DST replaced or wrote in after the plan is DST's,
# and the merge stops.  A roll-back never removes a directory that DST made
# at the name since (the saved one goes back beside it), and no file of
# another file system (a mount below the directory) is ever moved into an
# undo or removed with one.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT
T() { echo "$PWAPT_STATE/worlds/$1/merged"; }
ino() { stat -c %i "$1"; }

fresh_root() {
	cleanup_worlds && rm -rf "$R/srv" && mkdir -p "$R/srv/k/dir/sub" &&
	echo orig >"$R/srv/k/dir/f" && echo deep >"$R/srv/k/dir/sub/d" &&
	echo orig >"$R/srv/k/z"
}

# A world A that deletes /srv/k/dir and changes /srv/k/z (an operation
# after the delete: merge-op:1 is past it).
world_deletes_dir() {
	wcreate A Root && rm -r "$(T A)/srv/k/dir" && echo a >"$(T A)/srv/k/z"
}

# stopped_merge POINT CMD: wmerge A Root stopped at POINT, CMD run in Root,
# the merge let go on; its output in $TMP/out, its status in $TMP/rc.
stopped_merge() {
	{ PWAPT_STOP_AT=$1 wmerge A Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	eval "$2" &&
	kill -CONT $pid && { wait $pid; echo "$?" >"$TMP/rc"; } && cat "$TMP/out"
}

identity_tests() {
	test_expect_success "$1: Root replaces the directory after the save: the merge stops, Root keeps its new one" '
		fresh_root && world_deletes_dir &&
		stopped_merge merge-prepared "mv \"\$R/srv/k/dir\" \"\$R/srv/k/dir.old\" &&
			mkdir \"\$R/srv/k/dir\" && echo precious >\"\$R/srv/k/dir/new\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		grep -q "/srv/k/dir changed in .Root. during the merge" "$TMP/out" &&
		test_equal precious "$(cat "$R/srv/k/dir/new")" &&
		test_equal orig "$(cat "$R/srv/k/dir.old/f")" &&
		test_equal orig "$(cat "$R/srv/k/z")" &&
		! test -e "$PWAPT_STATE/merge" && ! test -e "$PWAPT_STATE/merges/Root" &&
		test -d "$(T A)"
	'
	test_expect_success "$1: Root writes in the directory after the plan: the merge stops before it saves" '
		fresh_root && world_deletes_dir &&
		stopped_merge merge-planned "echo precious >\"\$R/srv/k/dir/new\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		grep -q "/srv/k/dir changed in .Root. during the merge" "$TMP/out" &&
		test_equal precious "$(cat "$R/srv/k/dir/new")" &&
		test_equal orig "$(cat "$R/srv/k/dir/f")" &&
		! test -e "$PWAPT_STATE/merge"
	'
	test_expect_success "$1: Root writes in the directory after the save: the merge stops, nothing lost" '
		fresh_root && world_deletes_dir &&
		stopped_merge merge-op:0 "echo precious >\"\$R/srv/k/dir/sub/new\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		test_equal precious "$(cat "$R/srv/k/dir/sub/new")" &&
		test_equal deep "$(cat "$R/srv/k/dir/sub/d")" &&
		! test -e "$PWAPT_STATE/merge"
	'
	test_expect_success "$1: a world replaces the directory by a file; Root replaces it after the plan: the merge stops" '
		fresh_root && wcreate A Root && rm -r "$(T A)/srv/k/dir" &&
		echo file >"$(T A)/srv/k/dir" &&
		stopped_merge merge-prepared "rm -r \"\$R/srv/k/dir\" && mkdir \"\$R/srv/k/dir\" &&
			echo precious >\"\$R/srv/k/dir/new\"" &&
		test_equal 1 "$(cat "$TMP/rc")" &&
		test_equal precious "$(cat "$R/srv/k/dir/new")" && ! test -e "$PWAPT_STATE/merge"
	'
	test_expect_success "$1: an undisturbed directory delete merges and rolls back" '
		fresh_root && world_deletes_dir && d=$(ino "$R/srv/k/dir") &&
		stopped_merge merge-prepared "mkdir \"\$R/srv/other\"" &&
		test_equal 0 "$(cat "$TMP/rc")" && ! test -e "$R/srv/k/dir" &&
		pwapt rollback --force && test_equal deep "$(cat "$R/srv/k/dir/sub/d")"
	'
	test_expect_success "$1: killed after the delete, Root makes the directory again: recovery keeps it, the old one goes beside it" '
		fresh_root && world_deletes_dir &&
		{ PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test_equal 137 $?; } &&
		! test -e "$R/srv/k/dir" &&
		mkdir "$R/srv/k/dir" && echo mine >"$R/srv/k/dir/x" &&
		pwapt recover 2>"$TMP/err" &&
		grep -q "/srv/k/dir.pwapt-rollback-1~" "$TMP/err" &&
		test_equal mine "$(cat "$R/srv/k/dir/x")" &&
		test_equal deep "$(cat "$R/srv/k/dir.pwapt-rollback-1~/sub/d")" &&
		test_equal orig "$(cat "$R/srv/k/z")" &&
		! test -e "$PWAPT_STATE/merge" && wlist >/dev/null
	'
	test_expect_success "$1: killed after the delete: recovery puts the directory back" '
		fresh_root && world_deletes_dir &&
		{ PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test_equal 137 $?; } &&
		pwapt recover && test_equal deep "$(cat "$R/srv/k/dir/sub/d")" &&
		! test -e "$R/srv/k/dir.pwapt-rollback-1~" && ! test -e "$PWAPT_STATE/merge"
	'
	test_expect_success "$1: rollback --force after Root made the deleted directory again: Root keeps it, the old one beside it" '
		fresh_root && world_deletes_dir && wmerge A Root &&
		mkdir "$R/srv/k/dir" && echo mine >"$R/srv/k/dir/x" &&
		test_fails_with 3 "changed since" pwapt rollback &&
		pwapt rollback --force 2>"$TMP/err" &&
		grep -q "/srv/k/dir.pwapt-rollback-1~" "$TMP/err" &&
		test_equal mine "$(cat "$R/srv/k/dir/x")" &&
		test_equal deep "$(cat "$R/srv/k/dir.pwapt-rollback-1~/sub/d")"
	'
}

identity_tests "state on Root's file system"

# umount_below DIR: every mount below DIR goes (a test's own).
umount_below() {
	for m in $(mounts_below "$1"); do umount -l "$m"; done
}

# The test's mounts, also where a merge that failed this test took them
# (into its undo).
umount_test_mounts() {
	umount_below "$R/srv"
	umount_below "$PWAPT_STATE/merge"
	umount_below "$PWAPT_STATE/merges"
}

mount_tests() {
	test_expect_success "$1: a mount below a directory the world deleted: the merge refuses, naming it; nothing moved" '
		fresh_root && mkdir "$R/srv/k/dir/sub/mnt" &&
		mount -t tmpfs t0328 "$R/srv/k/dir/sub/mnt" && world_deletes_dir &&
		echo precious >"$R/srv/k/dir/sub/mnt/data" &&
		wmerge A Root >"$TMP/out" 2>&1; rc=$?
		cat "$TMP/out"
		test_equal 1 $rc &&
		grep -q "/srv/k/dir/sub/mnt is a mount point" "$TMP/out" &&
		test_equal precious "$(cat "$R/srv/k/dir/sub/mnt/data")" &&
		test_equal orig "$(cat "$R/srv/k/dir/f")" &&
		test_equal orig "$(cat "$R/srv/k/z")" &&
		test_lacks "/merges?(/|$)" mounts_below "$PWAPT_STATE" &&
		! test -e "$PWAPT_STATE/merge" && test -d "$(T A)"; rc=$?
		umount_test_mounts
		return $rc
	'
	test_expect_success "$1: a bind mount below a directory the world replaced by a file: refused too" '
		fresh_root && mkdir -p "$TMP/elsewhere" "$R/srv/k/dir/b" &&
		wcreate A Root && rm -r "$(T A)/srv/k/dir" &&
		echo file >"$(T A)/srv/k/dir" && echo precious >"$TMP/elsewhere/data" &&
		mount --bind "$TMP/elsewhere" "$R/srv/k/dir/b" &&
		wmerge A Root >"$TMP/out" 2>&1; rc=$?
		cat "$TMP/out"
		test_equal 1 $rc && grep -q "/srv/k/dir/b is a mount point" "$TMP/out" &&
		test_equal precious "$(cat "$TMP/elsewhere/data")" &&
		test -d "$R/srv/k/dir" && ! test -e "$PWAPT_STATE/merge"; rc=$?
		umount_test_mounts
		return $rc
	'
	test_expect_success "$1: a mount made below the directory after the plan: the merge stops, the mount stays" '
		fresh_root && mkdir "$R/srv/k/dir/mnt" && world_deletes_dir &&
		stopped_merge merge-prepared "mount -t tmpfs t0328 \"\$R/srv/k/dir/mnt\" &&
			echo precious >\"\$R/srv/k/dir/mnt/data\"";
		rc=$?
		test_equal 0 $rc && test_equal 1 "$(cat "$TMP/rc")" &&
		grep -q "/srv/k/dir/mnt is a mount point" "$TMP/out" &&
		test_equal precious "$(cat "$R/srv/k/dir/mnt/data")" &&
		test_lacks "/merges?(/|$)" mounts_below "$PWAPT_STATE" &&
		test_equal orig "$(cat "$R/srv/k/z")" && ! test -e "$PWAPT_STATE/merge"; rc=$?
		umount_test_mounts
		return $rc
	'
}

mount_tests "state on Root's file system"

cleanup_worlds
mkdir "$TMP/statefs" && mount -t tmpfs -o size=64m,mode=0700 pwapt-state "$TMP/statefs" ||
	skip_all "cannot mount a tmpfs"
PWAPT_STATE=$TMP/statefs/state
export PWAPT_STATE
identity_tests "state on another file system"
test_expect_success "state on another file system: killed after the copy, or once the directory is set aside: recovery puts it back, nothing beside" '
	for point in save-copied save-aside; do
		fresh_root && world_deletes_dir &&
		{ PWAPT_CRASH_AT=$point wmerge A Root; test_equal 137 $?; } &&
		pwapt recover 2>"$TMP/err" &&
		test_equal deep "$(cat "$R/srv/k/dir/sub/d")" &&
		test_equal orig "$(cat "$R/srv/k/dir/f")" &&
		! test -e "$R/srv/k/.pwapt-merge-0" &&
		! test -e "$R/srv/k/dir.pwapt-rollback-1~" &&
		! grep -q pwapt-rollback "$TMP/err" && ! test -e "$PWAPT_STATE/merge" ||
		return 1
	done
'
test_expect_success "state on another file system: Root makes /srv/k/.pwapt-merge-0 while the directory is copied: the merge stops before setting it aside there; Root's file and directory kept" '
	fresh_root && world_deletes_dir &&
	stopped_merge save-copied "echo by-hand >\"\$R/srv/k/.pwapt-merge-0\"" &&
	test_equal 1 "$(cat "$TMP/rc")" &&
	grep -q "/srv/k/dir changed in .Root. during the merge" "$TMP/out" &&
	test_equal by-hand "$(cat "$R/srv/k/.pwapt-merge-0")" &&
	test_equal deep "$(cat "$R/srv/k/dir/sub/d")" && test_equal orig "$(cat "$R/srv/k/dir/f")" &&
	test_equal orig "$(cat "$R/srv/k/z")" && ! test -e "$PWAPT_STATE/merge" &&
	rm "$R/srv/k/.pwapt-merge-0"
'
mount_tests "state on another file system"

# A merge into a world always copies its saves (the undo is on another
# mount than the world's overlay), and an overlay without redirect_dir
# refuses to rename a directory of its lower layers aside: it is removed
# in place, marked so, and put back whole if that is cut short.
test_expect_success "worlds without redirect_dir: a directory the parent world has from below, deleted by its child, merges; killed while removed, recovery puts it back" '
	cleanup_worlds && rm -f "$PWAPT_STATE/overlay-redirect" && fresh_root &&
	PWAPT_FAIL_AT=mount-redirect wcreate W Root 2>/dev/null &&
	test_equal off "$(cat "$PWAPT_STATE/overlay-redirect")" &&
	wcreate C W && rm -r "$(T C)/srv/k/dir" &&
	{ PWAPT_CRASH_AT=save-removing wmerge C W; test_equal 137 $?; } &&
	pwapt recover 2>"$TMP/err" &&
	test_equal deep "$(cat "$(T W)/srv/k/dir/sub/d")" &&
	test_equal orig "$(cat "$(T W)/srv/k/dir/f")" &&
	! grep -q pwapt-rollback "$TMP/err" &&
	test_equal "dir z" "$(ls "$(T W)/srv/k" | xargs)" &&
	wmerge C W && ! test -e "$(T W)/srv/k/dir" &&
	test_equal deep "$(cat "$R/srv/k/dir/sub/d")" &&
	pwapt rollback W && test_equal deep "$(cat "$(T W)/srv/k/dir/sub/d")" &&
	test_equal "dir z" "$(ls "$(T W)/srv/k" | xargs)" &&
	rm -f "$PWAPT_STATE/overlay-redirect"
'
# A directory that a world makes where Root has none is opaque in its layer
# (overlayfs' own shortcut), and so is one it makes anew after deleting
# Root's.  Root may put a directory there later by a rename (a rollback
# putting one back, an administrator's mv): what it holds keeps ctimes
# from before the world was created, and only the renamed directory's own
# ctime tells.  The world never saw those files; the merge must not delete
# them.
test_expect_success 'a directory Root renames in under one the world made (opaque): wdiff says so, wmerge refuses, Root keeps its files' '
	fresh_root && mkdir -p "$R/srv/put/sub" &&
	echo old >"$R/srv/put/sub/f" && echo old >"$R/srv/put/g" &&
	wcreate A Root && mkdir "$(T A)/srv/new" && echo a >"$(T A)/srv/new/a" &&
	getfattr -n trusted.overlay.opaque "$PWAPT_STATE/worlds/A/upper/srv/new" >/dev/null &&
	mv "$R/srv/put" "$R/srv/new" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -q "^D /srv/new/sub/f$" "$TMP/out" &&
	for p in /srv/new/g /srv/new/sub /srv/new/sub/f; do
		grep -q "^! $p: changed in Root after A was created: A.s directory /srv/new is opaque" "$TMP/out" ||
			{ echo "no conflict for $p"; cat "$TMP/out"; exit 1; }
	done &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 &&
	test_equal old "$(cat "$R/srv/new/sub/f")" && test_equal old "$(cat "$R/srv/new/g")" &&
	test ! -e "$R/srv/new/a"
'

# The same when the directory comes back by pwapt's own rollback of a
# merge that A saw before: the rollback's ctime is known to A, yet A made
# its directory while Root had none (which pwapt notes after each run in
# A: lower-had, an X line).
test_expect_success 'a rollback puts back a directory the world made meanwhile (opaque): still a conflict, Root keeps its files' '
	fresh_root && mkdir -p "$R/srv/put/sub" &&
	echo old >"$R/srv/put/sub/f" && echo old >"$R/srv/put/g" &&
	wcreate A Root && wcreate M Root && rm -r "$(T M)/srv/put" &&
	wmerge M Root >/dev/null && test ! -e "$R/srv/put" &&
	wexec A sh -c "mkdir /srv/put && echo a >/srv/put/a" &&
	grep -qx "X /srv/put" "$PWAPT_STATE/worlds/A/lower-had" &&
	pwapt rollback >/dev/null && test -e "$R/srv/put/g" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -q "^! /srv/put/sub/f: changed in Root after A was created: A.s directory /srv/put is opaque" "$TMP/out" &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 &&
	test_equal old "$(cat "$R/srv/put/sub/f")" && test_equal old "$(cat "$R/srv/put/g")"
'

# A directory above the opaque one swapped by a rename: the opaque
# directory in Root is another one, whose ctime the swap left as it was.
test_expect_success 'Root swaps a directory above one the world made (opaque): a conflict, Root keeps its files' '
	fresh_root && mkdir -p "$R/srv/q" "$R/srv/stash/new" && echo old >"$R/srv/stash/new/f" &&
	wcreate A Root && mkdir "$(T A)/srv/q/new" && echo a >"$(T A)/srv/q/new/a" &&
	mv "$R/srv/q" "$R/srv/q.old" && mv "$R/srv/stash" "$R/srv/q" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -q "^! /srv/q/new/f: changed in Root after A was created: Root.s directory above it is not the one A saw" "$TMP/out" &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 && test_equal old "$(cat "$R/srv/q/new/f")"
'

# The same for a file the world changed in place: Root's file there now
# is another one, with its old ctime; the world's copy-up names the one
# it came from (overlayfs' origin).
test_expect_success 'Root swaps a directory holding a file the world changed in place: a conflict, Root keeps its file' '
	fresh_root && mkdir -p "$R/srv/d" "$R/srv/stash" &&
	echo root-old >"$R/srv/d/f" && echo precious >"$R/srv/stash/f" &&
	echo same >"$R/srv/d/g" && echo same >"$R/srv/stash/g" &&
	wcreate A Root && echo world >>"$(T A)/srv/d/f" &&
	getfattr -n trusted.overlay.origin "$PWAPT_STATE/worlds/A/upper/srv/d/f" >/dev/null &&
	test_exit 0 wdiff A >"$TMP/out" &&
	mv "$R/srv/d" "$R/srv/d.old" && mv "$R/srv/stash" "$R/srv/d" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -q "^! /srv/d/f: changed in Root after A was created: Root.s file is not the one A saw" "$TMP/out" &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 && test_equal precious "$(cat "$R/srv/d/f")"
'

# And for a file the world deleted, or replaced whole by a rename (as
# sed -i and dpkg do): neither leaves an origin of the file, but the world
# changed nothing in the directory before overlayfs copied it up, with
# the origin of Root's directory then.
for how in 'rm "$(T A)/srv/d/f"' \
	'echo world >"$(T A)/srv/d/f.new" && mv "$(T A)/srv/d/f.new" "$(T A)/srv/d/f"'; do
	test_expect_success "Root swaps the directory of a file the world changed ($how): a conflict, Root keeps its file" '
		fresh_root && mkdir -p "$R/srv/d" "$R/srv/stash" &&
		echo root-old >"$R/srv/d/f" && echo precious >"$R/srv/stash/f" &&
		wcreate A Root && '"$how"' && test_exit 0 wdiff A >/dev/null &&
		mv "$R/srv/d" "$R/srv/d.old" && mv "$R/srv/stash" "$R/srv/d" &&
		test_exit 3 wdiff A >"$TMP/out" &&
		grep -q "^! /srv/d/f: changed in Root after A was created: Root.s directory above it is not the one A saw" "$TMP/out" &&
		test_exit 3 wmerge A Root >/dev/null 2>&1 && test_equal precious "$(cat "$R/srv/d/f")"
	'
done

# A world merged past its parent carries the parent's layer too: Root's
# changes since the parent was created are conflicts, not only those since
# the world's own creation.
test_expect_success 'a world merged into Root past its parent: judged from the parent s creation' '
	fresh_root && mkdir -p "$R/srv/put" && echo old >"$R/srv/put/g" &&
	echo old >"$R/srv/k/plain" &&
	wcreate P Root && mkdir "$(T P)/srv/new" && echo p >"$(T P)/srv/new/p" &&
	echo p >"$(T P)/srv/k/plain" &&
	mv "$R/srv/put" "$R/srv/new" && echo root >"$R/srv/k/plain" && sleep 0.1 &&
	wcreate A P && echo a >"$(T A)/srv/a" &&
	test_exit 3 wdiff A Root >"$TMP/out" &&
	grep -q "^! /srv/new/g: changed in Root after A was created" "$TMP/out" &&
	grep -q "^! /srv/k/plain: changed in Root after A was created" "$TMP/out" &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 &&
	test_equal old "$(cat "$R/srv/new/g")" && test_equal root "$(cat "$R/srv/k/plain")"
'

# As above, but the world makes the directory from a process that still
# runs (a service, a console): no run of it ended, so nothing looked at
# Root then.  The merge that took the directory from Root told A so.
test_expect_success 'a world s running process makes a directory a merge took from Root; a rollback puts Root s back: Root keeps its files' '
	fresh_root && mkdir -p "$R/srv/put/sub" &&
	echo old >"$R/srv/put/sub/f" && echo old >"$R/srv/put/g" &&
	wcreate A Root && wcreate M Root && rm -r "$(T M)/srv/put" &&
	wmerge M Root >/dev/null && test ! -e "$R/srv/put" &&
	grep -qx "X /srv/put" "$PWAPT_STATE/worlds/A/lower-had" &&
	mkdir "$(T A)/srv/put" && echo a >"$(T A)/srv/put/a" &&
	pwapt rollback >/dev/null && test -e "$R/srv/put/g" &&
	test_exit 3 wdiff A >"$TMP/out" &&
	grep -q "^! /srv/put/g: changed in Root after A was created: A.s directory /srv/put is opaque" "$TMP/out" &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 &&
	test_equal old "$(cat "$R/srv/put/sub/f")" && test_equal old "$(cat "$R/srv/put/g")"
'

test_expect_success 'the same where the merge renamed the directory away: Root keeps its files' '
	fresh_root && mkdir -p "$R/srv/put/sub" &&
	echo old >"$R/srv/put/sub/f" && echo old >"$R/srv/put/g" &&
	wcreate A Root && wcreate M Root && mv "$(T M)/srv/put" "$(T M)/srv/moved" &&
	wmerge M Root >/dev/null && test ! -e "$R/srv/put" && test -e "$R/srv/moved/g" &&
	grep -qx "X /srv/put" "$PWAPT_STATE/worlds/A/lower-had" &&
	mkdir "$(T A)/srv/put" && echo a >"$(T A)/srv/put/a" &&
	pwapt rollback >/dev/null && test -e "$R/srv/put/g" &&
	test_exit 3 wmerge A Root >/dev/null 2>&1 &&
	test_equal old "$(cat "$R/srv/put/sub/f")" && test_equal old "$(cat "$R/srv/put/g")"
'

test_expect_success 'a directory the world deleted and made anew (opaque), Root unchanged: the merge deletes what Root had there' '
	fresh_root && wcreate A Root && rm -r "$(T A)/srv/k/dir" &&
	mkdir "$(T A)/srv/k/dir" && echo a >"$(T A)/srv/k/dir/a" &&
	wdiff A >"$TMP/out" && grep -q "^D /srv/k/dir/sub/d$" "$TMP/out" &&
	wmerge A Root >/dev/null &&
	test_equal a "$(ls "$R/srv/k/dir" | xargs)"
'

cleanup_worlds
test_done
