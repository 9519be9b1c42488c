#!/bin/sh
# A service's log (/var/log/**/*.log, syslog, messages) that Root's service
# and the world's both appended to is no conflict: the merge appends the
# world's new lines after Root's, as it does dpkg's log, and a rollback
# takes out only those.  Found on a real server: nginx's access.log,
# written by Root's traffic and by a check of the world's nginx, refused
# every merge (and --force would have lost Root's lines).  Other files
# below /var/log, or a log the world made a link, stay conflicts.
. "$(dirname "$0")/lib.sh"
R=$PWAPT_ROOT
. "$(dirname "$0")/lib-merge.sh"

# log_root: Root with a service's log of two lines, and a state file.
log_root() {
	fresh_root && mkdir -p "$R/var/log/app" &&
	printf "root 1\nroot 2\n" >"$R/var/log/app/access.log" &&
	echo state >"$R/var/log/app/state"
}

test_expect_success 'a log appended to in Root and in the world: merged, the world'\''s lines after Root'\''s' '
	log_root && wcreate S Root &&
	wexec S sh -c "echo world 1 >>/var/log/app/access.log" &&
	sleep 0.05 && echo "root 3" >>"$R/var/log/app/access.log" &&
	wdiff S >"$TMP/d" && cat "$TMP/d" &&
	grep -q "^M /var/log/app/access.log" "$TMP/d" &&
	grep -qx "! /var/log/app/access.log: changed in Root too: a log: the world'"'"'s new lines appended to it" "$TMP/d" &&
	wmerge S Root &&
	printf "root 1\nroot 2\nroot 3\nworld 1\n" >"$TMP/want" &&
	diff -u "$TMP/want" "$R/var/log/app/access.log"
'

test_expect_success 'pwapt rollback of that merge after Root wrote on: only the world'\''s lines go' '
	echo "root 4" >>"$R/var/log/app/access.log" &&
	{ pwapt rollback 2>"$TMP/e" || { cat "$TMP/e"; false; }; } &&
	printf "root 1\nroot 2\nroot 3\nroot 4\n" >"$TMP/want" &&
	diff -u "$TMP/want" "$R/var/log/app/access.log" &&
	! test -e "$R/var/log/app/access.log.pwapt-rollback-1~"
'

test_expect_success 'a log only the world wrote, merged whole, then written on in Root: rolled back without --force, Root'\''s lines kept' '
	log_root && wcreate S Root &&
	wexec S sh -c "echo world 1 >>/var/log/app/access.log" &&
	wmerge S Root && echo "root 3" >>"$R/var/log/app/access.log" &&
	{ pwapt rollback 2>"$TMP/e" || { cat "$TMP/e"; false; }; } &&
	printf "root 1\nroot 2\nroot 3\n" >"$TMP/want" &&
	diff -u "$TMP/want" "$R/var/log/app/access.log"
'

test_expect_success 'a log the world rewrote (truncated), merged whole, then written on in Root: a rollback gives back Root'\''s old lines and its new ones' '
	log_root && wcreate S Root &&
	wexec S sh -c "echo world fresh >/var/log/app/access.log" &&
	wmerge S Root && echo "root 3" >>"$R/var/log/app/access.log" &&
	{ pwapt rollback 2>"$TMP/e" || { cat "$TMP/e"; false; }; } &&
	printf "root 1\nroot 2\nroot 3\n" >"$TMP/want" &&
	diff -u "$TMP/want" "$R/var/log/app/access.log"
'

test_expect_success 'a log Root rotated after the merge: a rollback leaves Root'\''s new log, the rotated one has the rest' '
	log_root && wcreate S Root &&
	wexec S sh -c "echo world 1 >>/var/log/app/access.log" &&
	wmerge S Root &&
	mv "$R/var/log/app/access.log" "$R/var/log/app/access.log.1" &&
	echo "root new" >"$R/var/log/app/access.log" &&
	{ pwapt rollback 2>"$TMP/e" || { cat "$TMP/e"; false; }; } &&
	cat "$TMP/e" &&
	test_equal "root new" "$(cat "$R/var/log/app/access.log")" &&
	test_equal "root 1 root 2 world 1" "$(xargs <"$R/var/log/app/access.log.1")"
'

test_expect_success 'a log too big to read whole (256 MiB) written on both sides: a conflict; forced, the world'\''s, and its rollback keeps Root'\''s beside' '
	log_root && wcreate S Root &&
	wexec S sh -c "head -c 268435456 /dev/zero | tr \"\\\\0\" x >>/var/log/app/access.log && echo >>/var/log/app/access.log" &&
	sleep 0.05 && echo "root 3" >>"$R/var/log/app/access.log" &&
	{ wmerge S Root >"$TMP/out" 2>&1; test_equal 3 $?; } && cat "$TMP/out" &&
	grep -q "^! /var/log/app/access.log: changed in Root after S was created: .*256 MiB or more" "$TMP/out" &&
	{ wmerge --force S Root 2>"$TMP/e" || { cat "$TMP/e"; false; }; } &&
	test "$(stat -c %s "$R/var/log/app/access.log")" -gt 268435456 &&
	echo "root 4" >>"$R/var/log/app/access.log" &&
	{ pwapt rollback >"$TMP/out" 2>&1; test_equal 3 $?; } && cat "$TMP/out" &&
	grep -q "! /var/log/app/access.log: changed since the merge" "$TMP/out" &&
	{ pwapt rollback --force 2>"$TMP/e" || { cat "$TMP/e"; false; }; } &&
	grep -q "kept as /var/log/app/access.log.pwapt-rollback-1~" "$TMP/e" &&
	test "$(tail -n 1 "$R/var/log/app/access.log.pwapt-rollback-1~")" = "root 4" &&
	printf "root 1\nroot 2\nroot 3\n" >"$TMP/want" &&
	diff -u "$TMP/want" "$R/var/log/app/access.log" &&
	rm "$R/var/log/app/access.log.pwapt-rollback-1~"
'

test_expect_success 'syslog and messages are such logs; a file of another name below /var/log is not' '
	log_root && printf "r\n" >"$R/var/log/syslog" && printf "r\n" >"$R/var/log/messages" &&
	printf "r\n" >"$R/var/log/app/access.log.1" &&
	wcreate S Root &&
	wexec S sh -c "for f in syslog messages app/state app/access.log.1; do echo w >>/var/log/\$f || exit 1; done" &&
	sleep 0.05 &&
	for f in syslog messages app/state app/access.log.1; do echo r2 >>"$R/var/log/$f" || exit 1; done &&
	{ wmerge S Root >"$TMP/out" 2>&1; test_equal 3 $?; } && cat "$TMP/out" &&
	grep -q "^! /var/log/app/state: changed in Root" "$TMP/out" &&
	grep -q "^! /var/log/app/access.log.1: changed in Root" "$TMP/out" &&
	grep -q "^! /var/log/syslog: changed in Root too: a log" "$TMP/out" &&
	grep -q "^! /var/log/messages: changed in Root too: a log" "$TMP/out" &&
	# Refused: nothing written, the logs too.
	test_equal "r r2" "$(xargs <"$R/var/log/syslog")" &&
	wdelete S
'

test_expect_success 'a log the world made a symbolic link (to /etc/shadow) is a conflict, never read through' '
	log_root && wcreate S Root &&
	wexec S sh -c "rm /var/log/app/access.log && ln -s /etc/shadow /var/log/app/access.log" &&
	sleep 0.05 && echo "root 3" >>"$R/var/log/app/access.log" &&
	{ wmerge S Root >"$TMP/out" 2>&1; test_equal 3 $?; } && cat "$TMP/out" &&
	grep -q "^! /var/log/app/access.log" "$TMP/out" &&
	printf "root 1\nroot 2\nroot 3\n" >"$TMP/want" &&
	diff -u "$TMP/want" "$R/var/log/app/access.log" &&
	wdelete S
'

test_done
