#!/bin/sh
# A world is root in its own mount namespace: it may remount pwapt-init's
# bind mount read-write and change the file.  It changes a copy in the
# state directory, written afresh at each container start, never the
# host's program that every container runs.  And where Root holds the
# state directory (/var/lib/pwapt on a host), a world that unmounts its
# cover and writes there never has it merged into pwapt's own state.
. "$(dirname "$0")/lib.sh"
make_busybox_root
init=${PWAPT_INIT:-$BIN_DIR/pwapt-init}
before=$(stat -c "%a %U %Z %s" "$init")

test_expect_success 'a world remounts /run/.pwapt-init read-write and chmods it: the state directory s copy changes' '
	wcreate A Root &&
	wexec A sh -c "mount -o remount,bind,rw /run/.pwapt-init && chmod 4700 /run/.pwapt-init" &&
	test_equal 4700 "$(stat -c %a "$PWAPT_STATE/pwapt-init")"
'

test_expect_success 'the host s pwapt-init is untouched' '
	test_equal "$before" "$(stat -c "%a %U %Z %s" "$init")"
'

test_expect_success 'the next start runs a fresh copy; other worlds start' '
	pwapt stop-all && pwapt start-all &&
	test_equal 555 "$(stat -c %a "$PWAPT_STATE/pwapt-init")" &&
	cmp "$init" "$PWAPT_STATE/pwapt-init" &&
	wcreate B Root && wexec B true
'

test_expect_success 'the state directory inside Root: what a world writes there after unmounting its cover is never merged' '
	S2=$PWAPT_ROOT/var/lib/pwapt && mkdir -p "$PWAPT_ROOT/var/lib" &&
	PWAPT_STATE=$S2 wcreate C Root &&
	PWAPT_STATE=$S2 wexec C sh -c "umount /var/lib/pwapt && mkdir -p /var/lib/pwapt/merge /var/lib/pwapt/planted && echo x >/var/lib/pwapt/planted/f && echo id 9 >/var/lib/pwapt/merge/journal" &&
	PWAPT_STATE=$S2 wdiff --all C >"$TMP/c.diff" &&
	grep -q "^A /var/lib/pwapt/planted/f" "$TMP/c.diff" &&
	! PWAPT_STATE=$S2 wdiff C | grep -q /var/lib/pwapt &&
	PWAPT_STATE=$S2 wmerge C Root &&
	test ! -e "$S2/planted" && test ! -e "$S2/merge/journal" &&
	PWAPT_STATE=$S2 wlist >/dev/null
'

test_expect_success 'the copy is stamped: a program whose ctime is settled is not read again at each start' '
	cp "$init" "$TMP/init" && sleep 3 &&
	PWAPT_INIT=$TMP/init wcreate D Root &&
	test -s "$PWAPT_STATE/pwapt-init.stamp" &&
	cmp "$TMP/init" "$PWAPT_STATE/pwapt-init"
'

test_expect_success 'the host s program changed in place, same size and mtime: the next start copies it again' '
	off=$(grep -boa "GCC: " "$TMP/init" | head -n 1 | cut -d: -f1) &&
	test -n "$off" && touch -r "$TMP/init" "$TMP/ref" &&
	printf X | dd of="$TMP/init" bs=1 seek="$off" conv=notrunc 2>/dev/null &&
	touch -r "$TMP/ref" "$TMP/init" &&
	! cmp -s "$TMP/init" "$PWAPT_STATE/pwapt-init" &&
	PWAPT_INIT=$TMP/init wcreate E Root &&
	cmp "$TMP/init" "$PWAPT_STATE/pwapt-init" &&
	PWAPT_INIT=$TMP/init wexec E true
'

test_expect_success 'the stamped copy changed in place, same size and mode: the next start writes it again' '
	sleep 3 && PWAPT_INIT=$TMP/init wcreate F Root &&
	test -s "$PWAPT_STATE/pwapt-init.stamp" &&
	PWAPT_INIT=$TMP/init pwapt stop-all &&
	off=$(grep -boa "CC: " "$PWAPT_STATE/pwapt-init" | head -n 1 | cut -d: -f1) &&
	printf Y | dd of="$PWAPT_STATE/pwapt-init" bs=1 seek="$off" conv=notrunc 2>/dev/null &&
	! cmp -s "$TMP/init" "$PWAPT_STATE/pwapt-init" &&
	PWAPT_INIT=$TMP/init pwapt start-all &&
	cmp "$TMP/init" "$PWAPT_STATE/pwapt-init" &&
	test_equal 555 "$(stat -c %a "$PWAPT_STATE/pwapt-init")"
'

test_expect_success 'clean up' '
	wdelete A B D E F
'
test_done
