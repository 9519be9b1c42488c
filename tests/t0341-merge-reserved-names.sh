#!/bin/sh
# Names pwapt keeps for its temporary files in DST (a merge's stage
# ".pwapt-merge-N", a roll-back's ".pwapt-restore-N", a save put beside
# "NAME.pwapt-rollback-N~", a copy it makes whole first
# "pwapt-rollback-part-N~", and "NAME.pwapt-rollback-N" as an older pwapt
# named it): a world's file of such a name would be taken
# for one of them and removed unsaved, so a merge that would make one is
# refused, naming it, before anything is written.  Root's own file of such
# a name (made by hand, or merged before that refusal) is never removed: a
# merge that would use that very name refuses, naming it; a roll-back of a
# done merge leaves a stage name alone, and refuses over its own
# ".pwapt-restore-N".  Only where that name is used: beside an operation
# that stages (".pwapt-merge-N") or whose undo puts DST's file back
# (".pwapt-restore-N"), and not a file an earlier operation deletes.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT

for name in /etc/.pwapt-merge-3 /etc/.pwapt-restore-12 /etc/motd.pwapt-rollback-1~ /etc/x.pwapt-rollback-1.pwapt-rollback-22~ /etc/motd.pwapt-rollback-1 /etc/pwapt-rollback-part-7~; do
test_expect_success "a world's $name: the merge is refused, naming it; Root and the world unchanged" '
	cleanup_worlds && wcreate A Root &&
	wexec A sh -c "echo mine >$name; echo other >/etc/other" &&
	test_fails_with 1 "$name is a name pwapt keeps for its temporary files" wmerge A Root &&
	! test -e "$R$name" && ! test -e "$R/etc/other" &&
	test_equal mine "$(wexec A cat $name)"
'
done

test_expect_success 'names that only look like them merge' '
	cleanup_worlds && wcreate B Root &&
	wexec B sh -c "echo a >/etc/.pwapt-merge-x; echo b >/etc/.pwapt-merge-; echo c >/etc/x.pwapt-rollback-1y~; echo d >/etc/x.pwapt-rollback-1~~; echo e >/etc/x.pwapt-rollback-~; echo f >/etc/x.pwapt-rollback-1.bak; echo g >/etc/pwapt-rollback-part-7; echo h >/etc/pwapt-rollback-part-~" &&
	wmerge B Root && test_equal a "$(cat "$R/etc/.pwapt-merge-x")" &&
	test_equal b "$(cat "$R/etc/.pwapt-merge-")" && test_equal c "$(cat "$R/etc/x.pwapt-rollback-1y~")" &&
	test_equal d "$(cat "$R/etc/x.pwapt-rollback-1~~")" && test_equal e "$(cat "$R/etc/x.pwapt-rollback-~")" &&
	test_equal f "$(cat "$R/etc/x.pwapt-rollback-1.bak")" &&
	test_equal g "$(cat "$R/etc/pwapt-rollback-part-7")" &&
	test_equal h "$(cat "$R/etc/pwapt-rollback-part-~")"
'

test_expect_success "Root's own /etc/.pwapt-merge-0 where the merge would stage: refused, naming it; both kept" '
	cleanup_worlds && echo orig >"$R/etc/motd" && echo by-hand >"$R/etc/.pwapt-merge-0" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/motd" &&
	test_fails_with 1 "/etc/.pwapt-merge-0 is a name pwapt keeps for its temporary files, taken by a file of its own" wmerge C Root &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-merge-0")" && test_equal orig "$(cat "$R/etc/motd")" &&
	rm "$R/etc/.pwapt-merge-0" && wmerge C Root && test_equal new "$(cat "$R/etc/motd")"
'

test_expect_success "Root's own /etc/.pwapt-restore-0: the merge is refused; Root's file kept" '
	cleanup_worlds && echo orig >"$R/etc/motd" && echo by-hand >"$R/etc/.pwapt-restore-0" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/motd" &&
	test_fails_with 1 "/etc/.pwapt-restore-0 is a name pwapt keeps" wmerge C Root &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-restore-0")" && test_equal orig "$(cat "$R/etc/motd")" &&
	rm "$R/etc/.pwapt-restore-0"
'

test_expect_success "a roll-back leaves Root's /etc/.pwapt-merge-0, made since the merge, alone" '
	cleanup_worlds && echo orig >"$R/etc/motd" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/motd" && wmerge C Root &&
	echo by-hand >"$R/etc/.pwapt-merge-0" &&
	pwapt rollback && test_equal orig "$(cat "$R/etc/motd")" &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-merge-0")" && rm "$R/etc/.pwapt-merge-0"
'

test_expect_success "a roll-back over Root's /etc/.pwapt-restore-0, made since: refused, naming it; nothing undone" '
	cleanup_worlds && echo orig >"$R/etc/motd" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/motd" && wmerge C Root &&
	mkdir "$R/etc/.pwapt-restore-0" && echo by-hand >"$R/etc/.pwapt-restore-0/f" &&
	test_fails_with 1 "cannot roll back the merge of .C. into .Root.: /etc/.pwapt-restore-0 is a name pwapt keeps" pwapt rollback &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-restore-0/f")" && test_equal new "$(cat "$R/etc/motd")" &&
	rm -r "$R/etc/.pwapt-restore-0" && pwapt rollback && test_equal orig "$(cat "$R/etc/motd")"
'

test_expect_success "Root's /etc/.pwapt-merge-1, which the world deleted before operation 1 stages there: merged; a roll-back puts it back" '
	cleanup_worlds && echo orig >"$R/etc/motd" && echo by-hand >"$R/etc/.pwapt-merge-1" &&
	wcreate C Root && wexec C sh -c "rm /etc/.pwapt-merge-1; echo new >/etc/motd" &&
	wmerge C Root && test_equal new "$(cat "$R/etc/motd")" && ! test -e "$R/etc/.pwapt-merge-1" &&
	grep -q "^op 0 del file /etc/.pwapt-merge-1$" "$PWAPT_STATE/merges/Root/journal" &&
	grep -q "^op 1 put file /etc/motd$" "$PWAPT_STATE/merges/Root/journal" &&
	pwapt rollback && test_equal orig "$(cat "$R/etc/motd")" &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-merge-1")" && rm "$R/etc/.pwapt-merge-1"
'

test_expect_success "Root's temporary names beside a delete and a new directory, which use none: merged, rolled back, all kept" '
	cleanup_worlds && echo orig >"$R/etc/motd" &&
	for f in .pwapt-merge-0 .pwapt-merge-1 .pwapt-restore-1; do echo by-hand >"$R/etc/$f" || return 1; done &&
	wcreate C Root && wexec C sh -c "rm /etc/motd; mkdir /etc/nd; echo x >/etc/nd/f" &&
	wmerge C Root && ! test -e "$R/etc/motd" && test_equal x "$(cat "$R/etc/nd/f")" &&
	grep -q "^op 0 del file /etc/motd$" "$PWAPT_STATE/merges/Root/journal" &&
	grep -q "^op 1 dir none /etc/nd$" "$PWAPT_STATE/merges/Root/journal" &&
	pwapt rollback && test_equal orig "$(cat "$R/etc/motd")" && ! test -e "$R/etc/nd" &&
	for f in .pwapt-merge-0 .pwapt-merge-1 .pwapt-restore-1; do
		test_equal by-hand "$(cat "$R/etc/$f")" && rm "$R/etc/$f" || return 1
	done
'

test_expect_success "Root's /etc/.pwapt-restore-0 beside a new file, which no undo restores through: merged, rolled back, kept" '
	cleanup_worlds && echo by-hand >"$R/etc/.pwapt-restore-0" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/newf" &&
	wmerge C Root && test_equal new "$(cat "$R/etc/newf")" &&
	grep -q "^op 0 put none /etc/newf$" "$PWAPT_STATE/merges/Root/journal" &&
	pwapt rollback && ! test -e "$R/etc/newf" &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-restore-0")" && rm "$R/etc/.pwapt-restore-0"
'

test_expect_success "a merge killed past a delete: its recovery leaves Root's /etc/.pwapt-merge-0, beside that delete, alone" '
	cleanup_worlds && echo orig >"$R/etc/motd" && echo by-hand >"$R/etc/.pwapt-merge-0" &&
	wcreate C Root && wexec C sh -c "rm /etc/motd; mkdir /etc/nd; echo x >/etc/nd/f" &&
	{ PWAPT_CRASH_AT=merge-op:2 wmerge C Root; test_equal 137 $?; } &&
	grep -q "^op 0 del file /etc/motd$" "$PWAPT_STATE/merge/journal" &&
	! test -e "$R/etc/motd" && pwapt recover && test_equal orig "$(cat "$R/etc/motd")" &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-merge-0")" && rm "$R/etc/.pwapt-merge-0"
'

test_expect_success "Root's /etc/.pwapt-merge-0 made during the merge, before operation 0 stages there: the merge stops; Root's file kept" '
	cleanup_worlds && echo orig >"$R/etc/motd" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/motd" &&
	{ PWAPT_STOP_AT=merge-op:0 wmerge C Root 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo by-hand >"$R/etc/.pwapt-merge-0" &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } &&
	grep -q "/etc/motd changed in .Root. during the merge" "$TMP/err" &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-merge-0")" && test_equal orig "$(cat "$R/etc/motd")" &&
	rm "$R/etc/.pwapt-merge-0" && wmerge C Root && test_equal new "$(cat "$R/etc/motd")"
'

test_expect_success "a roll-back, Root's /etc/.pwapt-restore-0 made after its check: the save put back by a rename leaves it alone" '
	cleanup_worlds && echo orig >"$R/etc/motd" &&
	wcreate C Root && wexec C sh -c "echo new >/etc/motd" && wmerge C Root &&
	{ PWAPT_STOP_AT=rollback-started pwapt rollback 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo by-hand >"$R/etc/.pwapt-restore-0" &&
	kill -CONT $pid && { wait $pid; test_equal 0 $?; } &&
	test_equal orig "$(cat "$R/etc/motd")" &&
	test_equal by-hand "$(cat "$R/etc/.pwapt-restore-0")" && rm "$R/etc/.pwapt-restore-0"
'

# A bind mount of the state directory's file system (review R17): the
# same device number, yet the undo's rename fails with EXDEV and it copies
# through .pwapt-restore-N: Root's file of that name refuses the merge.
test_expect_success "Root's own /srv/.pwapt-restore-0 on a bind mount of the store's file system: refused, kept" '
	cleanup_worlds && mkdir -p "$TMP/bsrc" "$R/srv" &&
	mount --bind "$TMP/bsrc" "$R/srv" &&
	test_equal "$(stat -c %d "$TMP")" "$(stat -c %d "$R/srv")" &&
	echo orig >"$R/srv/motd" && echo by-hand >"$R/srv/.pwapt-restore-0" &&
	wcreate C Root && wexec C sh -c "echo new >/srv/motd; echo n >/srv/zz" &&
	test_fails_with 1 "/srv/.pwapt-restore-0" wmerge C Root &&
	test_equal orig "$(cat "$R/srv/motd")" &&
	test_equal by-hand "$(cat "$R/srv/.pwapt-restore-0")"
'
cleanup_worlds
! mountpoint -q "$R/srv" || umount -l "$R/srv"

test_done
