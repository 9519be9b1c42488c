#!/bin/sh
# pwapt recover after a wmerge killed around its merge (its note of
# services says "no merge yet from SRC", and SRC is gone): with the
# record of merges unreadable it says that whether the merge happened
# cannot be told, and why; never "killed before it merged (nothing to
# roll back)", which an error reading the record used to read as.  With
# the record readable again, it names the merge.
. "$(dirname "$0")/lib.sh"
make_debian_root
R=$PWAPT_ROOT

test_expect_success 'set up: a world M running a service of its own, wmerge killed once it merged' '
	wcreate M Root >/dev/null &&
	wexec M sh -c "printf \"#!/bin/sh\ncase \\\$1 in start) setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo \\\$! >/run/mvd.pid ;;\nstop) kill \\\$(cat /run/mvd.pid); rm -f /run/mvd.pid ;;\nstatus) kill -0 \\\$(cat /run/mvd.pid) ;;\nesac\n\" >/etc/init.d/mvd && chmod 755 /etc/init.d/mvd && /etc/init.d/mvd start" &&
	{ PWAPT_CRASH_AT=merge-done wmerge M Root >"$TMP/out" 2>&1; rc=$?; cat "$TMP/out"; } &&
	test_equal 137 $rc && ! wlist | grep -q "^M " && test -e "$R/etc/init.d/mvd"
'

test_expect_success 'the record of merges unreadable: cannot tell whether it merged, and why' '
	J=$PWAPT_STATE/merges/Root/journal && cp "$J" "$TMP/journal" &&
	printf "x\\000y\\n" >"$J" &&
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } &&
	cp "$TMP/journal" "$J" && test_equal 0 $rc &&
	grep -q "^a wmerge into Root was killed around its merge; whether it merged cannot be told (the record of the last merge into .Root. is damaged): see to its services, and to the merge:\$" "$TMP/rec" &&
	test_lacks "killed before it merged" cat "$TMP/rec" &&
	grep -qx "start mvd in Root if the merge was done, else in M again" "$TMP/rec"
'

test_expect_success 'readable again: pwapt recover names the merge' '
	{ pwapt recover >"$TMP/rec" 2>&1; rc=$?; cat "$TMP/rec"; } && test_equal 0 $rc &&
	grep -q "^a wmerge into Root was killed once it had merged (merge [0-9]*)" "$TMP/rec"
'

test_done
