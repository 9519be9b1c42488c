#!/bin/sh
# What a merge that is undone leaves: a merge that fails, one killed and
# rolled back or released by recovery, a rollback.  DST as it was, the last
# merge before it still to be rolled back, and every other world seeing the
# undo's own writes as no change of DST, but each change DST made itself
# (before the merge, or since) as one.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT
T() { echo "$PWAPT_STATE/worlds/$1/merged"; }

fresh_root() {
	cleanup_worlds && rm -rf "$R/srv" && mkdir -p "$R/srv/k" &&
	for f in f0 f1 f2 f3; do echo orig >"$R/srv/k/$f" || return 1; done
}

# add WORLD TEXT FILE...: appends TEXT to each /srv/k/FILE of WORLD.
add() {
	_w=$1 _t=$2
	shift 2
	for f; do echo "$_t" >>"$(T "$_w")/srv/k/$f" || return 1; done
}

# A merged (f2, f3), then B made, changing f0-f3.
a_merged_b_made() {
	fresh_root && wcreate A Root && add A a f2 f3 && wmerge A Root &&
	wcreate B Root && add B b f0 f1 f2 f3
}

# pwapt rollback undoes A whole: no path "changed since", Root as before.
a_rolls_back_whole() {
	pwapt rollback >"$TMP/out" 2>&1 && cat "$TMP/out" &&
	test_lacks "changed since" cat "$TMP/out" &&
	test_equal "orig orig orig orig" "$(cd "$R/srv/k" && cat f0 f1 f2 f3 | xargs)"
}

test_expect_success 'a merge that fails while it applies leaves the last merge to be rolled back, and no conflicts' '
	a_merged_b_made &&
	(cd "$R/srv/k" && cat f0 f1 f2 f3) >"$TMP/before" &&
	PWAPT_FAIL_AT=merge-op:1 test_fails_with 1 "cannot merge /srv/k/f1 into .Root.: Input/output error" wmerge B Root &&
	(cd "$R/srv/k" && cat f0 f1 f2 f3) | cmp - "$TMP/before" &&
	! test -e "$PWAPT_STATE/merge" && test_equal 1 "$(stat -c %h "$R/srv/k/f2")" &&
	test_lacks "^!" wdiff B &&
	pwapt rollback && test_equal orig "$(cat "$R/srv/k/f2")"
'

# B took f2's name (op 2) before it failed: the ctime the rename gave
# A's file, and the one its way back gave it, are pwapt's own (UNDO/
# applied, then the roll-back's notes), not a change of Root's since A.
test_expect_success 'a merge that fails after it replaced a file the last merge merged: that merge still rolls back whole' '
	a_merged_b_made &&
	(cd "$R/srv/k" && cat f0 f1 f2 f3) >"$TMP/before" &&
	PWAPT_FAIL_AT=merge-op:3 test_fails_with 1 "cannot merge /srv/k/f3 into .Root.: Input/output error" wmerge B Root &&
	(cd "$R/srv/k" && cat f0 f1 f2 f3) | cmp - "$TMP/before" &&
	a_rolls_back_whole &&
	test_equal "" "$(ls "$R/srv/k" | grep -v "^f[0-3]$")"
'

# The same, killed at that point and recovered: the notes read back from
# UNDO/applied by the recovery's roll-back.
test_expect_success 'a merge killed after it replaced a file the last merge merged: recovered, that merge rolls back whole' '
	a_merged_b_made &&
	{ PWAPT_CRASH_AT=merge-op:3 wmerge B Root; test_equal 137 $?; } &&
	test -s "$PWAPT_STATE/merge/undo/applied" &&
	test_has "recovered an interrupted merge" pwapt recover &&
	a_rolls_back_whole
'

# The same, killed, and its undo as an older pwapt wrote it (a file
# UNDO/K.own for each operation K, not UNDO/applied): recovered alike.
test_expect_success 'a merge killed after it replaced a file the last merge merged, its notes as K.own files: recovered, that merge rolls back whole' '
	a_merged_b_made &&
	{ PWAPT_CRASH_AT=merge-op:3 wmerge B Root; test_equal 137 $?; } &&
	U=$PWAPT_STATE/merge/undo && test -s "$U/applied" &&
	grep . "$U/applied" | while read -r k b bn a an _; do
		echo "$b $bn $a $an" >"$U/$k.own" || break
	done && test -s "$U/2.own" && rm "$U/applied" &&
	test_has "recovered an interrupted merge" pwapt recover &&
	a_rolls_back_whole
'

test_expect_success 'a merge that fails before it applies (a save fails) leaves the last merge to be rolled back' '
	fresh_root && wcreate A Root && add A a f1 f2 && wmerge A Root &&
	wcreate B Root && add B b f1 f2 f3 &&
	{ PWAPT_STOP_AT=merge-planned wmerge B Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo new >"$R/srv/k/f3.new" && mv "$R/srv/k/f3.new" "$R/srv/k/f3" &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } &&
	cat "$TMP/out" && grep -q "/srv/k/f3 changed in .Root. during the merge" "$TMP/out" &&
	! test -e "$PWAPT_STATE/merge" && test_equal 1 "$(stat -c %h "$R/srv/k/f2")" &&
	pwapt rollback && test_equal orig "$(cat "$R/srv/k/f2")"
'

# S, a sibling made before Root changed f3; A, made after, merged.  After
# A's merge is undone, however, S knows the ctimes the undo left on f0-f2
# (no conflicts) but not f3's: Root changed it after S was created.
sibling_setup() {
	fresh_root && wcreate S Root && sleep 0.05 && echo root >>"$R/srv/k/f3" &&
	wcreate A Root && add A a f0 f1 f2 f3 && add S s f0 f1 f2 f3
}

sibling_check() {
	test_equal "orig orig orig orig root" "$(cd "$R/srv/k" && cat f0 f1 f2 f3 | xargs)" &&
	{ wdiff S >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	test_equal "! /srv/k/f3" "$(grep "^!" "$TMP/d" | cut -d: -f1)" &&
	{ ! test -d "$PWAPT_STATE/worlds/A" || { wdiff A >"$TMP/d" && test_lacks "^!" cat "$TMP/d"; }; }
}

# Killed while it saves too (merge-save:N after its Nth link into the
# undo): the merge noted what DST's paths had (undo/before) before its
# first link, and each link's ctime (undo/seen) as it made it, for the
# recovery to learn from.  A then merges again.
for point in merge-save:0 merge-save:2 merge-saved merge-prepared merge-op:2 merge-applied; do
	test_expect_success "a merge killed at $point and undone by recover: a sibling knows the undo s ctimes, not Root s change; merged again" "
		sibling_setup &&
		{ PWAPT_CRASH_AT=$point wmerge A Root; test_equal 137 \$?; } &&
		test_has 'recovered an interrupted merge' pwapt recover &&
		sibling_check && wmerge A Root && test_equal a \"\$(tail -n1 '$R/srv/k/f0')\"
	"
done

# The order of the notes on disk (a power cut cannot be simulated; a kill
# keeps what the page cache has): undo/before written, fsynced, renamed in
# and its directory fsynced before the first link into the undo; the
# links' undo/seen notes fsynced a batch of 128 at a time; and at
# merge-noted undo/before already whole, no link made yet.
test_expect_success 'a merge makes undo/before durable before its first save, undo/seen a batch at a time' '
	command -v strace >/dev/null || { echo "# SKIP strace is missing"; return 0; }
	fresh_root && mkdir "$R/srv/m" &&
	for i in $(seq 130); do echo orig >"$R/srv/m/f$i" || return 1; done &&
	wcreate A Root &&
	for i in $(seq 130); do echo a >>"$(T A)/srv/m/f$i" || return 1; done &&
	{ PWAPT_CRASH_AT=merge-noted wmerge A Root; test_equal 137 $?; } &&
	U="$PWAPT_STATE/merge/undo" && test_equal 130 "$(grep -c " /srv/m/f" "$U/before")" &&
	test_equal before "$(ls -A "$U")" &&
	pwapt recover >/dev/null &&
	strace -qq -y -o "$TMP/st" \
		-e trace=fsync,fdatasync,linkat,renameat,renameat2 wmerge A Root &&
	awk "
		/^fsync\(.*\/\.before\.tmp/ { file = 1 }
		/^renameat2?\(.*\"before\"/ { renamed = file }
		/^fsync\(.*\/undo>\)/ && renamed && !links { dir = 1 }
		/^linkat\(.*\/undo>, \"[0-9]+\"/ { if (!links++) print (dir ? \"durable\" : \"not durable\") }
		/^fdatasync\(.*\/undo\/seen>\)/ { print \"seen after \" links }
	" "$TMP/st" >"$TMP/order" && cat "$TMP/order" &&
	test_equal "durable seen after 128" "$(xargs <"$TMP/order")"
'

test_expect_success 'a merge killed while it saves, then a reboot: recovered at the next command, merged again' '
	sibling_setup &&
	{ PWAPT_CRASH_AT=merge-save:1 wmerge A Root; test_equal 137 $?; } &&
	simulate_reboot && wlist >/dev/null && sibling_check &&
	wmerge A Root && test_equal a "$(tail -n1 "$R/srv/k/f1")"
'

test_expect_success 'a merge killed while it saves, Root then changes a saved file: a conflict for A and S, never learnt' '
	sibling_setup &&
	{ PWAPT_CRASH_AT=merge-save:2 wmerge A Root; test_equal 137 $?; } &&
	echo root >>"$R/srv/k/f1" &&
	test_has "recovered an interrupted merge" pwapt recover &&
	{ wdiff A >"$TMP/d"; test_equal 3 $?; } &&
	test_equal "! /srv/k/f1" "$(grep "^!" "$TMP/d" | cut -d: -f1)" &&
	{ wdiff S >"$TMP/d"; test_equal 3 $?; } &&
	test_equal "! /srv/k/f1 ! /srv/k/f3" "$(grep "^!" "$TMP/d" | cut -d: -f1 | xargs)" &&
	test_fails_with 3 "changed in .Root. after .A. was created" wmerge A Root
'

# The undo's notes are kept as it goes (undo/own-log, undo/known-log): a
# recovery killed after it put some files back, and run again, still
# teaches the sibling their ctimes, once each.
for point in rollback-op:2 rollback-op:0; do
	test_expect_success "a recovery killed at $point and run again: a sibling knows the undo s ctimes, once each" "
		sibling_setup &&
		{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 \$?; } &&
		{ PWAPT_CRASH_AT=$point pwapt recover; test_equal 137 \$?; } &&
		test_has 'recovered an interrupted merge' pwapt recover &&
		sibling_check &&
		test_no_output eval 'sort \"\$PWAPT_STATE/worlds/S/known-ctimes\" | uniq -d'
	"
done

# The merge's own notes of its saves (undo/own-log) go with the file.
test_expect_success 'an undo log that cannot be read (a directory there): recovery works, without its notes' '
	sibling_setup &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	rm -f "$PWAPT_STATE/merge/undo/own-log" &&
	mkdir "$PWAPT_STATE/merge/undo/own-log" "$PWAPT_STATE/merge/undo/known-log" &&
	test_has "recovered an interrupted merge" pwapt recover &&
	sibling_check
'

test_expect_success 'a merge that fails: a sibling knows the undo s ctimes, not Root s change' '
	sibling_setup &&
	PWAPT_FAIL_AT=merge-op:2 test_fails_with 1 "Input/output error" wmerge A Root &&
	sibling_check &&
	test_no_output eval "sort \"\$PWAPT_STATE/worlds/S/known-ctimes\" | uniq -d"
'

test_expect_success 'a rollback: a sibling knows its ctimes, not the change Root made before the merge' '
	sibling_setup && wmerge A Root && pwapt rollback && sibling_check
'

test_expect_success 'a rollback --force over a change Root made since: a sibling knows the paths put back, not Root s change before the merge' '
	sibling_setup && wmerge A Root && echo later >>"$R/srv/k/f1" &&
	pwapt rollback --force && test_equal orig "$(cat "$R/srv/k/f1")" &&
	sibling_check
'

test_expect_success 'a file Root replaced while a killed merge waited for recovery stays a change for a sibling' '
	fresh_root && wcreate S Root && wcreate A Root && add A a f0 f1 f2 f3 && add S s f0 f1 f2 f3 &&
	{ PWAPT_CRASH_AT=merge-op:1 wmerge A Root; test_equal 137 $?; } &&
	echo root >"$R/srv/k/f3.new" && mv "$R/srv/k/f3.new" "$R/srv/k/f3" &&
	test_has "recovered an interrupted merge" pwapt recover &&
	test_equal "orig orig orig root" "$(cd "$R/srv/k" && cat f0 f1 f2 f3 | xargs)" &&
	{ wdiff S >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	test_equal "! /srv/k/f3" "$(grep "^!" "$TMP/d" | cut -d: -f1)"
'

test_expect_success 'a rebasing merge killed after the rebase: recover finishes it, the moved world knows its ctimes' '
	fresh_root && wcreate A Root && add A a f0 f1 && wcreate C A && add C c f0 f1 &&
	{ PWAPT_CRASH_AT=delete-stop wmerge --rebase A Root; test_equal 137 $?; } &&
	test_has "recovered an interrupted merge" pwapt recover &&
	test_equal "orig a" "$(cat "$R/srv/k/f0" | xargs)" &&
	test_lacks "^!" wdiff C &&
	wmerge C Root && test_equal "orig a c" "$(cat "$R/srv/k/f0" | xargs)"
'

# (liblxc's freeze, used before the merge froze through the freezer file,
# failed first here: its error was taken from its log.)
test_expect_success 'a merge short of descriptors: the cause, not an I/O error; nothing merged' '
	fresh_root && wcreate A Root && add A a f0 &&
	(ulimit -n 12 && exec wmerge A Root) 2>"$TMP/err"; test_equal 1 $? &&
	cat "$TMP/err" && grep -q "^wmerge: cannot .*: Too many open files$" "$TMP/err" &&
	test_lacks "Input/output error" cat "$TMP/err" &&
	test_equal orig "$(cat "$R/srv/k/f0")" && wmerge A Root && test_equal "orig a" "$(cat "$R/srv/k/f0" | xargs)"
'

# The saves note DST's ctimes first (undo/before) and link each file
# after: a change of Root's in between is the merge's to refuse, never a
# ctime a rolled-back merge teaches other worlds past Root's change.
test_expect_success 'Root changes a file after the saves noted it, before its link: the merge fails, S still sees the conflict' '
	fresh_root && wcreate S Root && wcreate A Root &&
	add A a f0 f1 f2 && add S s f0 f1 f2 &&
	{ PWAPT_STOP_AT=merge-save:0 wmerge A Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo ROOTCHANGE >>"$R/srv/k/f1" &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } && cat "$TMP/out" &&
	grep -q "changed in .Root. during the merge" "$TMP/out" &&
	test_equal "orig
ROOTCHANGE" "$(cat "$R/srv/k/f1")" && test_equal orig "$(cat "$R/srv/k/f0")" &&
	test_exit 3 wdiff S >"$TMP/d" && grep -q "^! /srv/k/f1" "$TMP/d" &&
	test_fails_with 3 "changed in .Root." wmerge S Root &&
	grep -q ROOTCHANGE "$R/srv/k/f1"
'

test_expect_success 'Root adds a file to a directory whose mode the world changed, while the merge saves: merged' '
	fresh_root && mkdir -p "$R/srv/k/z" && wcreate A Root &&
	add A a f0 && chmod 700 "$(T A)/srv/k/z" &&
	{ PWAPT_STOP_AT=merge-save:0 wmerge A Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo r >"$R/srv/k/z/rootfile" &&
	kill -CONT $pid && { wait $pid; rc=$?; cat "$TMP/out"; test_equal 0 $rc; } &&
	test_equal 700 "$(stat -c %a "$R/srv/k/z")" && test -e "$R/srv/k/z/rootfile"
'

# A done merge deletes SRC, and wcreate may take its name again: the
# rollback (and the recovery of one killed) never takes that new world
# for SRC.  Asked, it would say Root's merged f0 and the added file are
# not SRC's: kept, and f0's save removed with the undo, lost for good.
# reused_setup FILE...: A replaces f0 and/or adds "new", is merged, and
# a new A changes the same FILEs.
reused_setup() {
	fresh_root && wcreate A Root && add A a f0 && echo a >"$(T A)/srv/k/new" &&
	wmerge A Root && wcreate A Root &&
	for f; do echo other >"$(T A)/srv/k/$f" || return 1; done
}

reused_check() {
	test_equal orig "$(cat "$R/srv/k/f0")" && ! test -e "$R/srv/k/new" &&
	! test -e "$PWAPT_STATE/merge" && ! test -e "$PWAPT_STATE/merges/Root"
}

test_expect_success 'a rollback after SRC s name was taken again by a world that changed the file: Root s file back' '
	reused_setup f0 && pwapt rollback && reused_check &&
	test_equal other "$(cat "$(T A)/srv/k/f0")"
'

test_expect_success 'a rollback after SRC s name was taken again by a world that changed the added file: it goes' '
	reused_setup new && pwapt rollback && reused_check &&
	test_equal other "$(cat "$(T A)/srv/k/new")"
'

test_expect_success 'a rollback killed after SRC s name was taken again, finished by recover: Root s file back, the added one gone' '
	reused_setup f0 new &&
	{ PWAPT_CRASH_AT=rollback-started pwapt rollback; test_equal 137 $?; } &&
	test_has "recovered an interrupted merge" pwapt recover && reused_check
'

# The new world saw Root as merged: the rollback is a change for it.
test_expect_success 'a rollback after SRC s name was taken again: Root s files put back are a conflict for the new world' '
	reused_setup f0 && pwapt rollback && reused_check &&
	test_fails_with 3 "changed in .Root. after .A. was created" wmerge A Root &&
	test_equal orig "$(cat "$R/srv/k/f0")"
'

test_done
