#!/bin/sh
# What an undone merge leaves on a file of Root with two names (hard links,
# as perl and perl5.36.0 of perl-base): every undo's write to one name
# changes the ctime of both, and no world may take that for a change of
# Root's; a change Root made itself stays one.  And what `pwapt rollback
# --force` leaves of apt's planner log (/var/log/apt/eipp.log.xz), which
# each apt run rewrites whole: Root's later version.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT

# Root's /srv/a and /srv/b: one file; /srv/z another.
fresh_root() {
	cleanup_worlds && rm -rf "$R/srv" "$R/var/log/apt" && mkdir -p "$R/srv" &&
	echo old >"$R/srv/a" && ln "$R/srv/a" "$R/srv/b" && echo z >"$R/srv/z"
}

# Both names replaced in world $1 (as dpkg does, by rename), and /srv/z.
replace_both() {
	wexec "$1" sh -c "echo new >/srv/a.tmp && cp /srv/a.tmp /srv/b.tmp &&
		mv /srv/a.tmp /srv/a && mv /srv/b.tmp /srv/b && echo z2 >/srv/z"
}

root_is_old() {
	test_equal "old old 2" "$(cat "$R/srv/a" "$R/srv/b" | xargs) $(stat -c %h "$R/srv/b")" &&
	test_equal "$(stat -c %i "$R/srv/a")" "$(stat -c %i "$R/srv/b")"
}

test_expect_success 'a merge that fails while it applies: no conflict on either name, the retry merges' '
	fresh_root && wcreate H Root && replace_both H &&
	PWAPT_FAIL_AT=merge-op:2 test_fails_with 1 "cannot merge /srv/z into .Root." wmerge H Root &&
	root_is_old &&
	wdiff H >"$TMP/d" && cat "$TMP/d" && test_lacks "^!" cat "$TMP/d" &&
	wmerge H Root && test_equal "new new" "$(cat "$R/srv/a" "$R/srv/b" | xargs)"
'

test_expect_success 'a merge that fails at its saves: no conflict on either name' '
	fresh_root && wcreate H Root && replace_both H &&
	{ PWAPT_STOP_AT=merge-planned wmerge H Root >"$TMP/out" 2>&1 & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	echo root >"$R/srv/z.new" && mv "$R/srv/z.new" "$R/srv/z" &&
	kill -CONT $pid && { wait $pid; test_equal 1 $?; } &&
	grep -q "/srv/z changed in .Root. during the merge" "$TMP/out" && root_is_old &&
	{ wdiff H >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	test_equal "! /srv/z" "$(grep "^!" "$TMP/d" | cut -d: -f1)"
'

test_expect_success 'pwapt rollback: a world made before the merge sees no change on either name' '
	fresh_root && wcreate O Root && wexec O sh -c "echo o >/srv/b.tmp && mv /srv/b.tmp /srv/b" &&
	wcreate H Root && replace_both H &&
	wmerge H Root && pwapt rollback && root_is_old &&
	wdiff O >"$TMP/d" && cat "$TMP/d" && test_lacks "^!" cat "$TMP/d"
'

test_expect_success 'a change Root made to the file before the merge stays a conflict after its rollback' '
	fresh_root && wcreate O Root && wexec O sh -c "echo o >/srv/b.tmp && mv /srv/b.tmp /srv/b" &&
	sleep 0.05 && chmod 600 "$R/srv/a" &&
	wcreate H Root && replace_both H &&
	wmerge H Root && pwapt rollback &&
	{ wdiff O >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	test_equal "! /srv/b" "$(grep "^!" "$TMP/d" | cut -d: -f1)"
'

# World W writes apt's planner log (added by the merge, or over Root's:
# $1), the merge takes it, and Root's apt rewrites it after the merge.
eipp_setup() {
	fresh_root && mkdir -p "$R/var/log/apt" &&
	if [ "$1" = over ]; then echo before >"$R/var/log/apt/eipp.log.xz"; fi &&
	wcreate W Root && wexec W sh -c "echo merge >/var/log/apt/eipp.log.xz.new &&
		mv /var/log/apt/eipp.log.xz.new /var/log/apt/eipp.log.xz" &&
	wmerge W Root && test_equal merge "$(cat "$R/var/log/apt/eipp.log.xz")"
}

eipp_later_stays() {
	sleep 0.05 && echo later >"$R/var/log/apt/eipp.log.xz.new" &&
	mv "$R/var/log/apt/eipp.log.xz.new" "$R/var/log/apt/eipp.log.xz" &&
	{ pwapt rollback >"$TMP/out" 2>&1; test_equal 3 $?; } &&
	grep -q "^! /var/log/apt/eipp.log.xz: changed since the merge" "$TMP/out" &&
	pwapt rollback --force &&
	test_equal later "$(cat "$R/var/log/apt/eipp.log.xz")" &&
	test_equal "eipp.log.xz" "$(ls "$R/var/log/apt" | xargs)"
}

test_expect_success 'rollback --force keeps the planner log Root wrote since, where the merge added it' '
	eipp_setup added && eipp_later_stays
'

test_expect_success 'rollback --force keeps the planner log Root wrote since, where the merge replaced it' '
	eipp_setup over && eipp_later_stays
'

test_expect_success 'rollback puts back the planner log Root left as the merge wrote it' '
	eipp_setup over && pwapt rollback &&
	test_equal before "$(cat "$R/var/log/apt/eipp.log.xz")" &&
	eipp_setup added && pwapt rollback && ! test -e "$R/var/log/apt/eipp.log.xz"
'

test_done
