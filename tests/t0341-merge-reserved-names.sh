#!/bin/sh
# Names pwapt keeps for its temporary files in DST (a merge's stage
# ".pwapt-merge-N", a roll-back's ".pwapt-restore-N", a save put beside
# "NAME.pwapt-rollback-N"): a world's file of such a name would be taken
# for one of them and removed unsaved, so a merge that would make one is
# refused, naming it, before anything is written.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT

for name in /etc/.pwapt-merge-3 /etc/.pwapt-restore-12 /etc/motd.pwapt-rollback-1; do
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
	wexec B sh -c "echo a >/etc/.pwapt-merge-x; echo b >/etc/.pwapt-merge-; echo c >/etc/x.pwapt-rollback-1y" &&
	wmerge B Root && test_equal a "$(cat "$R/etc/.pwapt-merge-x")" &&
	test_equal b "$(cat "$R/etc/.pwapt-merge-")" && test_equal c "$(cat "$R/etc/x.pwapt-rollback-1y")"
'

test_done
