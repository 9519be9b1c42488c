#!/bin/sh
# What a small merge into Root does beyond its own work (issue 12, item
# 6), system call by system call: nothing its crash safety does not need.
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || skip_all "strace is missing"
make_busybox_root
R=$PWAPT_ROOT

# merge_traced: a merge of three files of A into Root under strace ($TMP/st,
# file descriptors shown with their paths); A's init was $init.
merge_traced() {
	cleanup_worlds && rm -rf "$R/srv/k" && mkdir -p "$R/srv/k" &&
	wcreate A Root && init=$(init_pid A) && test -n "$init" &&
	for i in 1 2 3; do echo a$i >"$PWAPT_STATE/worlds/A/merged/srv/k/f$i" || return 1; done &&
	strace -f -qq -y -o "$TMP/st" \
		-e trace=fsync,fdatasync,syncfs,renameat,renameat2,clone,clone3,fork,vfork \
		wmerge A Root &&
	test_equal a2 "$(cat "$R/srv/k/f2")" && ! test -e "$PWAPT_STATE/worlds/A"
}

# liblxc's freeze() and unfreeze() each took a child of their own (and
# five questions to liblxc's monitor): SRC is frozen, and thawed for its
# kill, through its cgroup's freezer file.
test_expect_success 'SRC is frozen and thawed for its kill through its freezer file: no child, its processes gone' '
	merge_traced &&
	test_equal 0 "$(grep -Ec "(clone3?|v?fork)\(.* = [0-9]+$" "$TMP/st")" &&
	wait_for 10 "! kill -0 $init 2>/dev/null"
'

test_expect_success 'no fsync of the state directory for the merge serial, none of the undo after its syncfs' '
	merge_traced &&
	test_lacks "fsync\\([0-9]*<$PWAPT_STATE>\\)" cat "$TMP/st" &&
	grep -q "syncfs([0-9]*<$PWAPT_STATE/merge/undo>)" "$TMP/st" &&
	test_lacks "fsync\\([0-9]*<$PWAPT_STATE/merge/undo>\\)" \
		sed -n "\\|syncfs([0-9]*<$PWAPT_STATE/merge/undo>)|,\$p" "$TMP/st"
'
# SRC is frozen before the saves, and its layer shares the undo's file
# system: the undo's syncfs made the layer durable too.  The ids of the
# applied paths are made durable by the syncfs of DST, which the state
# shares here, before the journal says "done".
test_expect_success 'the undo'"'"'s syncfs before "prepared", none of SRC'"'"'s layer; after-ids durable by the syncfs of Root' '
	merge_traced &&
	grep -q "syncfs([0-9]*<$PWAPT_STATE/merge/undo>)" "$TMP/st" &&
	test_lacks "syncfs\\([0-9]*<$PWAPT_STATE/worlds/A/upper>\\)" cat "$TMP/st" &&
	test_lacks "fsync\\([0-9]*<$PWAPT_STATE/merge/\\.after-ids" cat "$TMP/st" &&
	sed -n "\\|, \"after-ids\")|,\$p" "$TMP/st" | grep -q "syncfs([0-9]*<$R>)"
'

# A plan's paths follow each other directory by directory: each pass of
# the merge that reads Root opens a directory once for a run of its
# paths, not once a path (40 files in one directory, 20 of them Root's).
# Only the passes that write Root open it again for each path: Root may
# rename the directory meanwhile.  About 70 opens; once a file and a pass
# (before), over 250.
test_expect_success 'a merge of 40 files of one directory of Root opens it once a reading pass, not once a file and a pass' '
	cleanup_worlds && rm -rf "$R/srv/many" && mkdir -p "$R/srv/many" &&
	for i in $(seq 20); do echo r$i >"$R/srv/many/r$i" || return 1; done &&
	wcreate A Root &&
	for i in $(seq 20); do echo a$i >"$PWAPT_STATE/worlds/A/merged/srv/many/r$i" &&
		echo n$i >"$PWAPT_STATE/worlds/A/merged/srv/many/n$i" || return 1; done &&
	strace -f -qq -y -o "$TMP/st" -e trace=openat,openat2 wmerge A Root &&
	test_equal a7 "$(cat "$R/srv/many/r7")" && test_equal n20 "$(cat "$R/srv/many/n20")" &&
	n=$(grep -c "openat2([0-9]*<$R>, \"/*srv/many\"" "$TMP/st") && echo "opened $n times" &&
	test "$n" -ge 40 && test "$n" -lt 100
'

# No service runs in A (pwapt-init only) and Root runs no process: no
# process can be concerned by the merge, so nothing of the services'
# plan reads A's layer (a diff) or walks /proc before SRC is frozen.
test_expect_success 'no service anywhere, no process in Root: no diff and no walk of /proc before SRC is frozen' '
	cleanup_worlds && rm -rf "$R/srv/k" && mkdir -p "$R/srv/k" &&
	wcreate A Root && echo a >"$PWAPT_STATE/worlds/A/merged/srv/k/f" &&
	strace -f -qq -y -o "$TMP/st" -e trace=openat,openat2,getdents64,write wmerge A Root &&
	test_equal a "$(cat "$R/srv/k/f")" &&
	frozen=$(grep -nE "write\\([0-9]+</sys/fs/cgroup/[^>]*(freezer\\.state|cgroup\\.freeze)>, \"(FROZEN|1)" "$TMP/st" | head -1 | cut -d: -f1) &&
	test -n "$frozen" && head -n "$frozen" "$TMP/st" >"$TMP/before" &&
	test_lacks "getdents64\\([0-9]+<$PWAPT_STATE/worlds/A/upper" cat "$TMP/before" &&
	test_lacks "openat\\(AT_FDCWD, \"/proc\", [^)]*O_DIRECTORY" cat "$TMP/before" &&
	grep -q "getdents64([0-9]*<$PWAPT_STATE/worlds/A/upper" "$TMP/st"
'

# traced_until_frozen: wmerge A Root under strace; what it did before it
# froze A in $TMP/before.
traced_until_frozen() {
	strace -f -qq -y -o "$TMP/st" -e trace=openat,openat2,getdents64,write wmerge A Root &&
	frozen=$(grep -nE "write\\([0-9]+</sys/fs/cgroup/[^>]*(freezer\\.state|cgroup\\.freeze)>, \"(FROZEN|1)" "$TMP/st" | head -1 | cut -d: -f1) &&
	test -n "$frozen" && head -n "$frozen" "$TMP/st" >"$TMP/before"
}

# Root's container runs pwapt-init only, from /run (never merged): still
# no diff before the freeze.  A process of Root's that runs a file of
# Root's tree may use one the merge replaces: the plan diffs.
test_expect_success 'Root runs pwapt-init only: no diff before the freeze; Root runs a program of its tree: the plan diffs' '
	cleanup_worlds && rm -rf "$R/srv/k" && mkdir -p "$R/srv/k" &&
	wexec Root true && wcreate A Root && echo a >"$PWAPT_STATE/worlds/A/merged/srv/k/f" &&
	traced_until_frozen && test_equal a "$(cat "$R/srv/k/f")" &&
	test_lacks "getdents64\\([0-9]+<$PWAPT_STATE/worlds/A/upper" cat "$TMP/before" &&
	rm -rf "$R/srv/k" && mkdir -p "$R/srv/k" &&
	mark=7$$ && { wexec Root sleep "$mark" & pid=$!; } &&
	wait_for 10 "pgrep -xf \"sleep $mark\" >/dev/null" &&
	wcreate A Root && echo a >"$PWAPT_STATE/worlds/A/merged/srv/k/f" &&
	traced_until_frozen; rc=$?; pkill -xf "sleep $mark"; wait $pid
	test $rc = 0 && test_equal a "$(cat "$R/srv/k/f")" &&
	grep -q "getdents64([0-9]*<$PWAPT_STATE/worlds/A/upper" "$TMP/before"
'

test_expect_success 'a merge writes each of its notes of Root once, not again unchanged' '
	merge_traced &&
	test_equal 1 "$(grep -c "rename.*, \"svcmove\")" "$TMP/st")" &&
	test_equal 1 "$(grep -c "rename.*, \"restarted\")" "$TMP/st")" &&
	test_equal "merge $(cat "$PWAPT_STATE/serial-merge")" "$(cat "$PWAPT_STATE/worlds/Root/notes/restarted")" &&
	test_equal "" "$(cat "$PWAPT_STATE/worlds/Root/notes/svcmove")"
'

# wdiff of a world that only adds files: no process of Root's can hold
# what Root lacks, so neither Root's container (liblxc, loaded only then)
# nor a process is asked.  A world that changes a file of Root's is.
test_expect_success 'wdiff of a world that only adds asks nothing of Root'"'"'s processes or container' '
	cleanup_worlds && rm -rf "$R/srv/k" && mkdir -p "$R/srv/k" &&
	echo r >"$R/srv/k/old" && wcreate A Root &&
	mkdir "$PWAPT_STATE/worlds/A/merged/srv/k/new" &&
	echo a >"$PWAPT_STATE/worlds/A/merged/srv/k/new/f" &&
	strace -f -qq -y -o "$TMP/st" -e trace=openat wdiff A >"$TMP/d" &&
	test_equal "A /srv/k/new
A /srv/k/new/f" "$(cat "$TMP/d")" &&
	test_lacks "liblxc|</proc/[0-9]+>, \"(maps|fd)\"" cat "$TMP/st" &&
	echo changed >"$PWAPT_STATE/worlds/A/merged/srv/k/old" &&
	strace -f -qq -y -o "$TMP/st" -e trace=openat wdiff A >"$TMP/d" &&
	grep -q "^M /srv/k/old" "$TMP/d" && grep -q "liblxc" "$TMP/st"
'

# The same with Root on this machine'"'"'s own "/" (a world over it, never
# merged): its processes are every host process, each read for what it
# holds once the world changes a file of Root'"'"'s, and none before.
test_expect_success 'Root on a host: wdiff of a world that only adds reads no host process' '
	cleanup_worlds &&
	PWAPT_ROOT=/ PWAPT_STATE="$TMP/hoststate" wcreate H Root &&
	mkdir "$TMP/hoststate/worlds/H/merged/srv-pwapt-t0332" &&
	echo a >"$TMP/hoststate/worlds/H/merged/srv-pwapt-t0332/f" &&
	PWAPT_ROOT=/ PWAPT_STATE="$TMP/hoststate" strace -f -qq -y -o "$TMP/st" \
		-e trace=openat wdiff H >"$TMP/d"; rc=$?
	cat "$TMP/d" && test_equal 0 $rc &&
	grep -qx "A /srv-pwapt-t0332/f" "$TMP/d" &&
	test_lacks "</proc/[0-9]+>, \"(maps|fd)\"" cat "$TMP/st" &&
	echo changed >"$TMP/hoststate/worlds/H/merged/etc/hostname" &&
	PWAPT_ROOT=/ PWAPT_STATE="$TMP/hoststate" strace -f -qq -y -o "$TMP/st" \
		-e trace=openat wdiff H >"$TMP/d"; rc=$?
	PWAPT_ROOT=/ PWAPT_STATE="$TMP/hoststate" wdelete H &&
	{ test $rc = 0 || test $rc = 3; } && grep -q "^M /etc/hostname" "$TMP/d" &&
	grep -Eq "</proc/[0-9]+>, \"maps\"" "$TMP/st"
'

test_done
