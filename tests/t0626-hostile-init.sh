#!/bin/sh
# A world is root in its own mount namespace: it may remount pwapt-init's
# bind mount read-write and change the file.  It changes its own copy
# (written afresh at each start in the world's directory), never the
# host's program that every container runs.
. "$(dirname "$0")/lib.sh"
make_busybox_root
init=${PWAPT_INIT:-$BIN_DIR/pwapt-init}
before=$(stat -c "%a %U %Z %s" "$init")

test_expect_success 'a world remounts /run/.pwapt-init read-write and chmods it: its own copy changes' '
	wcreate A Root &&
	wexec A sh -c "mount -o remount,bind,rw /run/.pwapt-init && chmod 4700 /run/.pwapt-init" &&
	test_equal 4700 "$(stat -c %a "$PWAPT_STATE/worlds/A/pwapt-init")"
'

test_expect_success 'the host s pwapt-init is untouched' '
	test_equal "$before" "$(stat -c "%a %U %Z %s" "$init")"
'

test_expect_success 'the world s next start runs a fresh copy; other worlds start' '
	pwapt stop-all && pwapt start-all &&
	test_equal 555 "$(stat -c %a "$PWAPT_STATE/worlds/A/pwapt-init")" &&
	cmp "$init" "$PWAPT_STATE/worlds/A/pwapt-init" &&
	wcreate B Root && wexec B true
'

test_expect_success 'clean up' '
	wdelete A B
'
test_done
