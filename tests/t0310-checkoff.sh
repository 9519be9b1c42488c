#!/bin/sh
# check-off: paths (globs) that merges leave out, listed apart by wdiff.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT
mkdir -p "$R/var/log/app" "$R/srv"
echo shared >"$R/srv/shared"

test_expect_success 'setup: a world with changes to keep and changes to leave out' '
	wcreate W Root && T="$PWAPT_STATE/worlds/W/merged" &&
	echo keep >"$T/srv/keep" && echo secret >"$T/srv/secret" &&
	echo log >"$T/var/log/app/a.log" && echo log >"$T/var/log/app/b.log" &&
	mkdir -p "$T/var/cache/big/sub" && echo c >"$T/var/cache/big/sub/c" &&
	echo local >"$T/srv/shared"
'

test_expect_success 'check-off takes absolute paths and globs; --list shows them' '
	check-off W /srv/secret "/var/log/app/*.log" /var/cache/big &&
	check-off --list W >"$TMP/l" &&
	printf "/srv/secret\n/var/log/app/*.log\n/var/cache/big\n" | diff -u - "$TMP/l" &&
	check-off W /srv/secret && test_equal 3 "$(check-off --list W | wc -l)"
'

test_expect_success 'wdiff lists checked-off changes apart' '
	wdiff W >"$TMP/d" && cat "$TMP/d" &&
	grep -qx "A /srv/keep" "$TMP/d" &&
	grep -qx "~ A /srv/secret" "$TMP/d" && ! grep -qx "A /srv/secret" "$TMP/d" &&
	grep -qx "~ A /var/log/app/a.log" "$TMP/d" &&
	grep -qx "~ A /var/cache/big/sub/c" "$TMP/d" &&
	wdiff --json W | python3 -c "
import json, sys
c = {x[\"path\"]: x for x in json.load(sys.stdin)[\"changes\"]}
assert c[\"/srv/secret\"][\"checked_off\"] and not c[\"/srv/keep\"][\"checked_off\"]"
'

test_expect_success 'a conflict on a checked-off path does not stop the merge' '
	sleep 0.05 && echo root-side >"$R/srv/shared" &&
	{ wdiff W >/dev/null; test_equal 3 $?; } &&
	check-off W /srv/shared &&
	wdiff W >/dev/null
'

test_expect_success 'wmerge leaves checked-off paths out' '
	wmerge W Root &&
	test_equal keep "$(cat "$R/srv/keep")" &&
	! test -e "$R/srv/secret" && ! test -e "$R/var/log/app/a.log" &&
	! test -e "$R/var/cache/big" &&
	test_equal root-side "$(cat "$R/srv/shared")"
'

test_expect_success 'check-off --remove takes a pattern back' '
	wcreate V Root && echo s >"$PWAPT_STATE/worlds/V/merged/srv/s" &&
	check-off V /srv/s && test_lacks "^A" wdiff V &&
	check-off --remove V /srv/s && test_equal "A /srv/s" "$(wdiff V)" &&
	test_fails_with 1 "not checked off" check-off --remove V /srv/s
'

# held DIR: Root's directory /srv/DIR with keep, other, sub/x and
# sub2/keep2, sub2/other2.
held() {
	mkdir -p "$R/srv/$1/sub" "$R/srv/$1/sub2" &&
	for f in keep other sub/x sub2/keep2 sub2/other2; do echo "$f" >"$R/srv/$1/$f" || return 1; done
}

test_expect_success 'a check-off holds below a directory the world deleted or replaced' '
	held del && held file && held link && held opaque &&
	wcreate H Root && T="$PWAPT_STATE/worlds/H/merged/srv" &&
	rm -r "$T/del" &&
	rm -r "$T/file" && echo file >"$T/file" &&
	rm -r "$T/link" && ln -s elsewhere "$T/link" &&
	rm -r "$T/opaque" && mkdir "$T/opaque" && echo new >"$T/opaque/new" &&
	for d in del file link opaque; do
		check-off H "/srv/$d/keep" "/srv/$d/sub2/keep2" || return 1
	done &&
	wdiff H >"$TMP/d"; cat "$TMP/d" &&
	grep -qx "~ D /srv/del" "$TMP/d" && grep -qx "~ M /srv/file" "$TMP/d" &&
	grep -qx "D /srv/del/other" "$TMP/d" && grep -qx "~ D /srv/del/keep" "$TMP/d" &&
	grep -qx "A /srv/opaque/new" "$TMP/d" &&
	wmerge H Root &&
	for d in del file link opaque; do
		test_equal keep "$(cat "$R/srv/$d/keep")" &&
		test_equal sub2/keep2 "$(cat "$R/srv/$d/sub2/keep2")" &&
		! test -e "$R/srv/$d/other" && ! test -e "$R/srv/$d/sub" &&
		! test -e "$R/srv/$d/sub2/other2" || { echo "in /srv/$d:"; ls -R "$R/srv/$d"; return 1; }
	done &&
	test_equal new "$(cat "$R/srv/opaque/new")" &&
	test_equal "keep sub2" "$(ls "$R/srv/file" | xargs)" &&
	pwapt rollback && test_equal other "$(cat "$R/srv/del/other")" &&
	test_equal sub2/other2 "$(cat "$R/srv/link/sub2/other2")"
'

test_expect_success 'check-offs that cannot be read stop wdiff and wmerge' '
	wcreate K Root && echo k >"$PWAPT_STATE/worlds/K/merged/srv/k" &&
	check-off K /srv/k &&
	rm "$PWAPT_STATE/worlds/K/check-off" && mkdir "$PWAPT_STATE/worlds/K/check-off" &&
	test_fails_with 1 "check-offs of .K." wdiff K &&
	test_fails_with 1 "check-offs of .K." wmerge K Root &&
	! test -e "$R/srv/k" && test -d "$PWAPT_STATE/worlds/K" &&
	rmdir "$PWAPT_STATE/worlds/K/check-off" && wdelete K
'

test_expect_success 'bad input: relative paths, "..", Root, unknown worlds, no paths' '
	test_fails_with 1 "not an absolute path" check-off V etc/x &&
	test_fails_with 1 "not an absolute path" check-off V /etc/../x &&
	test_fails_with 1 "Root is never merged" check-off Root /etc &&
	test_fails_with 1 "no world named .nope." check-off nope /etc &&
	test_fails_with 2 "usage: check-off" check-off V &&
	test_fails_with 2 "usage: check-off" check-off --list V /x &&
	pwapt check-off --list V >/dev/null
'

test_done
