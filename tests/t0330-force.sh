#!/bin/sh
# wmerge --force on the package and account databases: only the records
# that conflict take SRC's side; every other record of both sides stays.
# And the locks that dpkg and shadow's tools take in DST are held by a
# merge from before the diff that decides it.
. "$(dirname "$0")/lib.sh"
R=$PWAPT_ROOT

# A busybox Root with four accounts databases, as shadow's tools keep them.
fresh_root() {
	cleanup_worlds
	rm -rf "$R" && make_busybox_root || return 1
	E=$R/etc
	printf "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/bin/false\n" >"$E/passwd"
	printf "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n" >"$E/shadow"
	printf "root:x:0:\ndaemon:x:1:\nshadow:x:42:\n" >"$E/group"
	printf "root:*::\ndaemon:*::\nshadow:*::\n" >"$E/gshadow"
	chown 0:42 "$E/shadow" "$E/gshadow" && chmod 640 "$E/shadow" "$E/gshadow"
}

# add_user TREE NAME ID: a user and its group, in the four files.
add_user() {
	echo "$2:x:$3:$3::/home/$2:/bin/sh" >>"$1/etc/passwd" &&
	echo "$2:!:19500:0:99999:7:::" >>"$1/etc/shadow" &&
	echo "$2:x:$3:" >>"$1/etc/group" &&
	echo "$2:!::" >>"$1/etc/gshadow"
}

# set_root_shell TREE SHELL: changes root's record in passwd and shadow.
set_root_shell() {
	sed -i "s|^root:x:0:0:root:/root:.*|root:x:0:0:root:/root:$2|" "$1/etc/passwd" &&
	sed -i "s|^root:[^:]*:|root:$3:|" "$1/etc/shadow"
}

# hold_fcntl_lock FILE: a host process ($locker) holds FILE's fcntl() write
# lock, as dpkg and lckpwdf(3) take theirs, until it is killed.
hold_fcntl_lock() {
	rm -f "$TMP/locked"
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(600)' "$1" "$TMP/locked" &
	locker=$!
	note_pid $locker
	wait_for 10 'test -e "$TMP/locked"'
}

release_lock() { kill $locker && wait $locker; true; }

# lock_state FILE: "free" when a host process can take FILE's fcntl() lock
# now, "busy" when another holds it.
lock_state() {
	python3 -c 'import errno, fcntl, sys
f = open(sys.argv[1], "a")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except OSError as e:
    if e.errno not in (errno.EAGAIN, errno.EACCES):
        raise
    print("busy")' "$1"
}

# Starts "wmerge $1 Root" in the background ($merger), stopped right after
# its diff (PWAPT_STOP_AT at the merge-diffed crash point).  The caller
# continues it (kill -CONT) whatever happens: stopped, it holds the store's
# lock, and SIGTERM would not end it.
merge_stopped_after_diff() {
	PWAPT_STOP_AT=merge-diffed wmerge "$1" Root &
	merger=$!
	note_pid $merger
	wait_for 20 merger_stopped
}

merger_stopped() { grep -q "^[0-9]* ([^)]*) T" /proc/$merger/stat; }

test_expect_success 'forced: the conflicting account takes SRC s side, Root s new accounts stay' '
	fresh_root && wcreate A Root && W=$PWAPT_STATE/worlds/A/merged &&
	add_user "$W" alice 1001 && set_root_shell "$W" /bin/ash "\$6\$src" &&
	add_user "$R" bob 1002 && set_root_shell "$R" /bin/zsh "\$6\$root" &&
	test_fails_with 3 "cannot merge .A. into .Root." wmerge A Root >"$TMP/out" &&
	grep -q "^! /etc/passwd: .*user root changed differently on both sides" "$TMP/out" &&
	grep -q "^root:x:0:0:root:/root:/bin/zsh$" "$R/etc/passwd" &&
	wmerge --force A Root &&
	test_equal "root:x:0:0:root:/root:/bin/ash daemon:x:1:1::/usr/sbin:/bin/false bob:x:1002:1002::/home/bob:/bin/sh alice:x:1001:1001::/home/alice:/bin/sh" \
		"$(cat "$R/etc/passwd" | xargs)" &&
	test_equal "root:\$6\$src:19000:0:99999:7::: daemon:*:19000:0:99999:7::: bob:!:19500:0:99999:7::: alice:!:19500:0:99999:7:::" \
		"$(cat "$R/etc/shadow" | xargs)" &&
	test_equal "root:x:0: daemon:x:1: shadow:x:42: bob:x:1002: alice:x:1001:" "$(cat "$R/etc/group" | xargs)" &&
	test_equal "root:*:: daemon:*:: shadow:*:: bob:!:: alice:!::" "$(cat "$R/etc/gshadow" | xargs)" &&
	test_equal "640 0:42 640 0:42" "$(stat -c "%a %u:%g" "$R/etc/shadow" "$R/etc/gshadow" | xargs)"
'

test_expect_success 'forced: two new accounts on one id are refused all the same, Root untouched' '
	fresh_root && wcreate A Root && W=$PWAPT_STATE/worlds/A/merged &&
	add_user "$W" carol 1002 && echo carol >"$W/srv-note" &&
	add_user "$R" bob 1002 &&
	(cd "$R/etc" && cat passwd shadow group gshadow) >"$TMP/before" &&
	test_fails_with 3 "bob and carol would share id 1002, which --force does not resolve" \
		wmerge --force A Root >"$TMP/out" &&
	grep -q "^! /etc/passwd: .*users bob and carol would share id 1002" "$TMP/out" &&
	(cd "$R/etc" && cat passwd shadow group gshadow) | cmp - "$TMP/before" &&
	! test -e "$R/srv-note" && ! test -e "$PWAPT_STATE/merge" &&
	wlist | grep -q "^A "
'

test_expect_success 'forced: a user Root removed and the world changed in shadow alone comes back in both files' '
	fresh_root && wcreate A Root && W=$PWAPT_STATE/worlds/A/merged &&
	sed -i "s|^daemon:[^:]*:|daemon:\$6\$src:|" "$W/etc/shadow" &&
	sed -i "/^daemon:/d" "$R/etc/passwd" "$R/etc/shadow" &&
	test_fails_with 3 "cannot merge .A. into .Root." wmerge A Root >"$TMP/out" &&
	wmerge --force A Root &&
	test_equal "root:x:0:0:root:/root:/bin/sh daemon:x:1:1::/usr/sbin:/bin/false" "$(cat "$R/etc/passwd" | xargs)" &&
	test_equal "root:*:19000:0:99999:7::: daemon:\$6\$src:19000:0:99999:7:::" "$(cat "$R/etc/shadow" | xargs)" &&
	pwapt rollback &&
	test_equal "root:x:0:0:root:/root:/bin/sh" "$(cat "$R/etc/passwd" | xargs)" &&
	test_equal "root:*:19000:0:99999:7:::" "$(cat "$R/etc/shadow" | xargs)"
'

test_expect_success 'rollback --force of a forced merge undoes its records alone: Root s users since stay, in pairs' '
	fresh_root && wcreate A Root && W=$PWAPT_STATE/worlds/A/merged &&
	add_user "$W" alice 1001 && set_root_shell "$W" /bin/ash "\$6\$src" &&
	add_user "$R" bob 1002 && set_root_shell "$R" /bin/zsh "\$6\$root" &&
	wmerge --force A Root &&
	grep -q "^root:x:0:0:root:/root:/bin/ash$" "$R/etc/passwd" &&
	add_user "$R" carol 1003 &&
	sed -i "s|^alice:!:|alice:\$6\$alice:|" "$R/etc/shadow" &&
	test_fails_with 3 "changed since .--force rolls back anyway." pwapt rollback &&
	pwapt rollback --force &&
	test_equal "root:x:0:0:root:/root:/bin/zsh daemon:x:1:1::/usr/sbin:/bin/false bob:x:1002:1002::/home/bob:/bin/sh alice:x:1001:1001::/home/alice:/bin/sh carol:x:1003:1003::/home/carol:/bin/sh" \
		"$(cat "$R/etc/passwd" | xargs)" &&
	test_equal "root:\$6\$root:19000:0:99999:7::: daemon:*:19000:0:99999:7::: bob:!:19500:0:99999:7::: alice:\$6\$alice:19500:0:99999:7::: carol:!:19500:0:99999:7:::" \
		"$(cat "$R/etc/shadow" | xargs)" &&
	test_equal "root:x:0: daemon:x:1: shadow:x:42: bob:x:1002: carol:x:1003:" "$(cat "$R/etc/group" | xargs)" &&
	test_equal "root:*:: daemon:*:: shadow:*:: bob:!:: carol:!::" "$(cat "$R/etc/gshadow" | xargs)" &&
	test_equal "640 0:42 640 0:42" "$(stat -c "%a %u:%g" "$R/etc/shadow" "$R/etc/gshadow" | xargs)" &&
	! test -e "$PWAPT_STATE/merge"
'

for point in rollback-started rollback-records-put; do
	test_expect_success "rollback --force killed at $point: recover finishes it, Root s users since kept" "
		fresh_root && wcreate A Root && W=\$PWAPT_STATE/worlds/A/merged &&
		add_user \"\$W\" alice 1001 && wmerge A Root &&
		add_user \"\$R\" carol 1003 &&
		{ PWAPT_CRASH_AT=$point pwapt rollback --force; test_equal 137 \$?; } &&
		pwapt recover >/dev/null &&
		test_equal 'root daemon carol' \"\$(cut -d: -f1 \"\$R/etc/passwd\" | xargs)\" &&
		test_equal 'root daemon carol' \"\$(cut -d: -f1 \"\$R/etc/shadow\" | xargs)\" &&
		test_equal 'root daemon shadow carol' \"\$(cut -d: -f1 \"\$R/etc/group\" | xargs)\" &&
		! test -e \"\$PWAPT_STATE/merge\" && pwapt recover >/dev/null &&
		test_equal 'root daemon carol' \"\$(cut -d: -f1 \"\$R/etc/passwd\" | xargs)\"
	"
done

# root's record changed by the merge in passwd and shadow, and by Root
# since in one of them: root takes Root's side in both files (the other
# keeps the merge's version).  Killed between the two files, recovery puts
# the second with the records decided for both, never deciding it alone.
for point in none rollback-records-put rollback-records-done; do
	for file in passwd shadow; do
	test_expect_success "rollback --force killed at $point, root changed in $file since: root takes one side in both files" "
		fresh_root && wcreate A Root && W=\$PWAPT_STATE/worlds/A/merged &&
		set_root_shell \"\$W\" /bin/ash '\$6\$src' && wmerge A Root &&
		add_user \"\$R\" carol 1003 &&
		if [ $file = passwd ]; then
			sed -i 's|^root:x:0:0:root:/root:.*|root:x:0:0:root:/root:/bin/zsh|' \"\$R/etc/passwd\"
			shell=/bin/zsh hash='\$6\$src'
		else
			sed -i 's|^root:[^:]*:|root:\$6\$new:|' \"\$R/etc/shadow\"
			shell=/bin/ash hash='\$6\$new'
		fi &&
		if [ $point = none ]; then pwapt rollback --force; else
			{ PWAPT_CRASH_AT=$point pwapt rollback --force; test_equal 137 \$?; } &&
			test_has 'recovered an interrupted merge' pwapt recover; fi &&
		test_equal \"root:x:0:0:root:/root:\$shell\" \"\$(grep ^root: \"\$R/etc/passwd\")\" &&
		test_equal \"root:\$hash:19000:0:99999:7:::\" \"\$(grep ^root: \"\$R/etc/shadow\")\" &&
		test_equal 'root daemon carol' \"\$(cut -d: -f1 \"\$R/etc/passwd\" | xargs)\" &&
		test_equal 'root daemon carol' \"\$(cut -d: -f1 \"\$R/etc/shadow\" | xargs)\" &&
		! test -e \"\$PWAPT_STATE/merge\"
	"
	done
done

test_expect_success 'rollback --force of a merge that put SRC s passwd whole undoes its user alone' '
	fresh_root && wcreate A Root && add_user "$PWAPT_STATE/worlds/A/merged" alice 1001 &&
	wmerge A Root && grep -q "^alice:" "$R/etc/passwd" &&
	add_user "$R" carol 1003 &&
	pwapt rollback --force &&
	test_equal "root:x:0:0:root:/root:/bin/sh daemon:x:1:1::/usr/sbin:/bin/false carol:x:1003:1003::/home/carol:/bin/sh" \
		"$(cat "$R/etc/passwd" | xargs)" &&
	test_equal "root:*:19000:0:99999:7::: daemon:*:19000:0:99999:7::: carol:!:19500:0:99999:7:::" \
		"$(cat "$R/etc/shadow" | xargs)" &&
	test_equal "root:x:0: daemon:x:1: shadow:x:42: carol:x:1003:" "$(cat "$R/etc/group" | xargs)"
'

test_expect_success 'after rollback --force put passwd back by records, a sibling still sees the users Root added' '
	fresh_root && wcreate A Root && wcreate W Root &&
	add_user "$PWAPT_STATE/worlds/A/merged" alice 1001 &&
	wmerge A Root && add_user "$R" carol 1003 &&
	pwapt rollback --force && grep -q "^carol:" "$R/etc/passwd" &&
	add_user "$PWAPT_STATE/worlds/W/merged" dave 1004 &&
	wmerge W Root &&
	grep -q "^carol:" "$R/etc/passwd" && grep -q "^dave:" "$R/etc/passwd" &&
	grep -q "^carol:" "$R/etc/shadow" && grep -q "^dave:" "$R/etc/shadow" &&
	test_lacks "^alice:" cat "$R/etc/passwd"
'

test_expect_success 'a database SRC deleted keeps the records Root added since' '
	fresh_root && wcreate A Root && W=$PWAPT_STATE/worlds/A/merged &&
	rm "$W/etc/gshadow" && add_user "$R" bob 1002 &&
	wmerge A Root &&
	test_equal "bob:!::" "$(cat "$R/etc/gshadow")" &&
	test_equal "640 0:42" "$(stat -c "%a %u:%g" "$R/etc/gshadow")"
'

test_expect_success 'a merge that changes /etc/passwd refuses while an account tool holds /etc/.pwd.lock in Root' '
	fresh_root && wcreate A Root && wcreate B Root &&
	add_user "$PWAPT_STATE/worlds/A/merged" alice 1001 &&
	echo b >"$PWAPT_STATE/worlds/B/merged/etc/b.conf" &&
	hold_fcntl_lock "$R/etc/.pwd.lock" &&
	test_fails_with 1 "an account tool .* is running in .Root. \(it holds /etc/.pwd.lock\)" wmerge A Root &&
	! grep -q "^alice:" "$R/etc/passwd" && ! test -e "$PWAPT_STATE/merge" &&
	wmerge B Root && test_equal b "$(cat "$R/etc/b.conf")" &&
	release_lock 2>/dev/null && wmerge A Root && grep -q "^alice:" "$R/etc/passwd"
'

test_expect_success 'a merge holds /etc/.pwd.lock from before its diff until it is done' '
	fresh_root && wcreate A Root && add_user "$PWAPT_STATE/worlds/A/merged" alice 1001 &&
	test_equal free "$(lock_state "$R/etc/.pwd.lock")" &&
	{ merge_stopped_after_diff A; held=$(lock_state "$R/etc/.pwd.lock")
	  kill -CONT $merger; wait $merger; } &&
	test_equal busy "$held" &&
	grep -q "^alice:" "$R/etc/passwd" &&
	test_equal free "$(lock_state "$R/etc/.pwd.lock")"
'

test_expect_success 'a merge into a Root without /etc/.pwd.lock makes it, takes it and diffs again under it' '
	fresh_root && wcreate A Root && add_user "$PWAPT_STATE/worlds/A/merged" alice 1001 &&
	! test -e "$R/etc/.pwd.lock" &&
	{ merge_stopped_after_diff A
	  first=$(test -e "$R/etc/.pwd.lock" && echo made || echo missing)
	  kill -CONT $merger && wait_for 20 merger_stopped
	  second=$(lock_state "$R/etc/.pwd.lock")
	  kill -CONT $merger; wait $merger; } &&
	test_equal "missing busy" "$first $second" &&
	grep -q "^alice:" "$R/etc/passwd" &&
	test_equal "600 free" "$(stat -c %a "$R/etc/.pwd.lock") $(lock_state "$R/etc/.pwd.lock")"
'

test_expect_success 'pwapt rollback of a merge that changed /etc/passwd refuses while /etc/.pwd.lock is held' '
	fresh_root && wcreate A Root && add_user "$PWAPT_STATE/worlds/A/merged" alice 1001 &&
	wmerge A Root && grep -q "^alice:" "$R/etc/passwd" &&
	hold_fcntl_lock "$R/etc/.pwd.lock" &&
	test_fails_with 1 "an account tool .* is running in .Root." pwapt rollback &&
	grep -q "^alice:" "$R/etc/passwd" && ! test -e "$PWAPT_STATE/merge" &&
	release_lock 2>/dev/null && pwapt rollback && ! grep -q "^alice:" "$R/etc/passwd"
'

# make_pkg NAME VERSION: a package of one file, /usr/share/NAME/version,
# built into Root's /srv.
make_pkg() {
	d=$TMP/pkg-$1-$2 && mkdir -p "$d/DEBIAN" "$d/usr/share/$1" &&
	printf "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: pwapt <t@example.org>\nDescription: t0330\n" \
		"$1" "$2" >"$d/DEBIAN/control" &&
	echo "$2" >"$d/usr/share/$1/version" &&
	SOURCE_DATE_EPOCH=1700000000 dpkg-deb --root-owner-group -b "$d" "$R/srv/$1_$2.deb" >/dev/null
}

installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}

test_expect_success 'set up: a Debian Root and four packages' '
	cleanup_worlds && rm -rf "$R" && make_debian_root && mkdir -p "$R/srv" &&
	make_pkg pwapt-root 1.0 && make_pkg pwapt-src 1.0 &&
	make_pkg pwapt-both 1.0 && make_pkg pwapt-both 2.0 && make_pkg pwapt-late 1.0
'

test_expect_success 'forced: dpkg s status takes SRC s side of the package both installed, keeps Root s new one' '
	wcreate A Root &&
	wexec A dpkg -i /srv/pwapt-src_1.0.deb /srv/pwapt-both_2.0.deb >/dev/null &&
	wexec Root dpkg -i /srv/pwapt-root_1.0.deb /srv/pwapt-both_1.0.deb >/dev/null &&
	test_fails_with 3 "cannot merge .A. into .Root." wmerge A Root >"$TMP/out" &&
	grep -q "^! /var/lib/dpkg/status: .*package pwapt-both:all changed differently on both sides" "$TMP/out" &&
	wmerge --force A Root &&
	test_equal "1.0 1.0 2.0" "$(installed Root pwapt-root) $(installed Root pwapt-src) $(installed Root pwapt-both)" &&
	test_equal "1.0 2.0" "$(cat "$R/usr/share/pwapt-root/version" "$R/usr/share/pwapt-both/version" | xargs)" &&
	test_no_output wexec Root dpkg --audit
'

test_expect_success 'a merge of dpkg s database refuses while dpkg holds its lock in Root' '
	wcreate B Root && wexec B dpkg -i /srv/pwapt-both_1.0.deb >/dev/null &&
	hold_fcntl_lock "$R/var/lib/dpkg/lock" &&
	test_fails_with 1 "dpkg or apt is running in .Root. \(it holds /var/lib/dpkg/lock\)" wmerge --force B Root &&
	! test -e "$PWAPT_STATE/merge" && wlist | grep -q "^B " &&
	test_equal 2.0 "$(installed Root pwapt-both)" &&
	release_lock 2>/dev/null && wmerge B Root && test_equal 1.0 "$(installed Root pwapt-both)"
'

test_expect_success 'a merge holds dpkg s locks in Root from before its diff until it is done' '
	wcreate C Root && wexec C dpkg -r pwapt-root >/dev/null &&
	{ merge_stopped_after_diff C
	  held="$(lock_state "$R/var/lib/dpkg/lock-frontend") $(lock_state "$R/var/lib/dpkg/lock")"
	  kill -CONT $merger; wait $merger; } &&
	test_equal "busy busy" "$held" &&
	not_installed Root pwapt-root &&
	test_equal "free free" "$(lock_state "$R/var/lib/dpkg/lock-frontend") $(lock_state "$R/var/lib/dpkg/lock")" &&
	test_no_output wexec Root dpkg --audit
'

test_expect_success 'rollback --force of a merge that installed a package keeps the package dpkg installed in Root since' '
	wcreate D Root && wexec D dpkg -i /srv/pwapt-root_1.0.deb >/dev/null &&
	wmerge D Root && test_equal 1.0 "$(installed Root pwapt-root)" &&
	wexec Root dpkg -i /srv/pwapt-late_1.0.deb >/dev/null &&
	test_fails_with 3 "changed since" pwapt rollback &&
	pwapt rollback --force &&
	test_equal ":1.0" "$(installed Root pwapt-root):$(installed Root pwapt-late)" &&
	! test -e "$R/usr/share/pwapt-root/version" &&
	test_equal 1.0 "$(cat "$R/usr/share/pwapt-late/version")" &&
	test -z "$(wexec Root dpkg --audit)"
'

# make_trig_pkg NAME PATH: a package interested in file trigger PATH (as
# man-db is in /usr/share/man), built into Root's /srv.
make_trig_pkg() {
	make_pkg "$1" 1.0 && d=$TMP/pkg-$1-1.0 &&
	echo "interest $2" >"$d/DEBIAN/triggers" &&
	printf "#!/bin/sh\necho \"\$@\" >>/var/log/$1.triggered\n" >"$d/DEBIAN/postinst" &&
	chmod 755 "$d/DEBIAN/postinst" &&
	SOURCE_DATE_EPOCH=1700000000 dpkg-deb --root-owner-group -b "$d" "$R/srv/$1_1.0.deb" >/dev/null
}

test_expect_success 'two worlds that each install a package with a file trigger merge in turn, unforced (the paper s WPUpdate and PHPUpdate)' '
	cleanup_worlds &&
	make_trig_pkg pwapt-trig-a /usr/share/pwapt-a && make_trig_pkg pwapt-trig-b /usr/share/pwapt-b &&
	wcreate TA Root && wcreate TB Root &&
	wexec TA dpkg -i /srv/pwapt-trig-a_1.0.deb >/dev/null &&
	wexec TB dpkg -i /srv/pwapt-trig-b_1.0.deb >/dev/null &&
	grep -q "^/usr/share/pwapt-a pwapt-trig-a" "$PWAPT_STATE/worlds/TA/merged/var/lib/dpkg/triggers/File" &&
	wmerge TA Root && wmerge TB Root &&
	grep -q "^/usr/share/pwapt-a pwapt-trig-a\$" "$R/var/lib/dpkg/triggers/File" &&
	grep -q "^/usr/share/pwapt-b pwapt-trig-b\$" "$R/var/lib/dpkg/triggers/File" &&
	test_no_output wexec Root dpkg --audit &&
	wexec Root sh -c "mkdir -p /usr/share/pwapt-b && dpkg --triggers-only -a" >/dev/null &&
	wexec Root dpkg -i /srv/pwapt-trig-a_1.0.deb >/dev/null &&
	test_no_output wexec Root dpkg --audit
'

test_expect_success 'a file trigger interest removed in a world, another added in Root: both kept' '
	wcreate TC Root && wexec TC dpkg -r pwapt-trig-a >/dev/null &&
	make_trig_pkg pwapt-trig-c /usr/share/pwapt-c &&
	wexec Root dpkg -i /srv/pwapt-trig-c_1.0.deb >/dev/null &&
	wmerge TC Root &&
	! grep -q "pwapt-trig-a" "$R/var/lib/dpkg/triggers/File" &&
	grep -q "^/usr/share/pwapt-b pwapt-trig-b\$" "$R/var/lib/dpkg/triggers/File" &&
	grep -q "^/usr/share/pwapt-c pwapt-trig-c\$" "$R/var/lib/dpkg/triggers/File" &&
	test_no_output wexec Root dpkg --audit
'

test_done
