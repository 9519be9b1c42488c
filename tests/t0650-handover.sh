#!/bin/sh
# wmerge --handover PORTS: Root's web server (pwapt-test-web from the tests'
# repository) upgraded in a world and handed over while a client loop asks
# Root's address many times a second: no request fails, Root serves the
# new version afterwards; a failing check keeps the old one serving and
# Root's files; a crash at each step is finished by the next command.  In
# this test's own network namespace (lib.sh).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is missing"
. "$TEST_DIR/lib-net.sh"
require_nat
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

# loop URL OUT: one request after another until $TMP/stop exists; each
# answer (or "FAILED") a line of OUT.
loop() {
	while [ ! -e "$TMP/stop" ]; do
		curl -s -m 5 "$1" || echo FAILED
	done >"$2"
}

# start_loop / stop_loop: the client loop against Root's port 8080.
start_loop() {
	rm -f "$TMP/stop" "$TMP/seen" && touch "$TMP/seen" &&
	{ loop "http://$(net_field Root address):8080/" "$TMP/seen" & } &&
	echo $! >"$TMP/loop.pid" && note_pid $! &&
	wait_for 20 'grep -q . "$TMP/seen"'
}
stop_loop() {
	touch "$TMP/stop" && wait "$(cat "$TMP/loop.pid")" &&
	sort "$TMP/seen" | uniq -c
}

# upgraded NAME: a world NAME of Root with pwapt-test-web 1.1 installed.
upgraded() {
	wcreate "$1" Root &&
	wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		pwapt-test-web </dev/null >/dev/null &&
	wexec "$1" dpkg-query -W -f '${Version}\n' pwapt-test-web | grep -qx 1.1
}

version() { curl -s -m 5 "http://$(net_field Root address):8080/"; }

# back_to_1_0: Root serves pwapt-test-web 1.0 again (a test that ended on
# 1.1 puts the next one's starting point back).
back_to_1_0() {
	wexec Root sh -c "apt-get install -y -qq --allow-downgrades pwapt-test-web=1.0 </dev/null >/dev/null" &&
		wexec Root /etc/init.d/pwapt-test-web restart &&
		wait_for 10 "test 1.0 = \"\$(version)\""
}

# stray_listener start|stop: a process of Root that belongs to no service
# (no init script names its pid file), listening on port 8091.
stray_listener() {
	case $1 in
	start)
		wexec Root start-stop-daemon --start --quiet --background \
			--make-pidfile --pidfile /run/pwapt-test-stray.pid \
			--startas /usr/bin/perl -- -MIO::Socket::INET -e \
			'my $s = IO::Socket::INET->new(LocalPort => 8091, Listen => 5, ReuseAddr => 1) or die; sleep 600' &&
			wait_for 10 "wexec Root cat /proc/net/tcp | grep -q \":1F9B 00000000:0000 0A \""
		;;
	stop)
		wexec Root start-stop-daemon --stop --quiet \
			--pidfile /run/pwapt-test-stray.pid --remove-pidfile
		;;
	esac
}

no_rules_left() {
	! nft list ruleset | grep -e "handover-" -e "takeover" &&
	! wlist | grep -q "handover-"
}

test_expect_success 'set up: pwapt-test-web 1.0 serves in Root, 1.1 in the lists' '
	use_test_repo 1.0 && install_test_packages pwapt-test-web &&
	wexec Root /etc/init.d/pwapt-test-web start &&
	wait_for 10 "test 1.0 = \"\$(version)\"" &&
	use_test_repo 1.1
'

test_expect_success 'usage: bad ports, DST not Root, --check alone, a port no service holds' '
	wcreate X Root &&
	test_fails_with 2 "takes ports" wmerge --handover 80x X Root &&
	test_fails_with 2 "takes ports" wmerge --handover 0 X Root &&
	test_fails_with 2 "port 80 twice" wmerge --handover 80,80 X Root &&
	wcreate Y X &&
	test_fails_with 1 "is not Root" wmerge --handover 80 Y X &&
	test_fails_with 1 "goes with --handover" wmerge --handover-check true X Root &&
	test_fails_with 1 "goes with neither --plan nor --no-restart" wmerge --handover 8080 --no-restart X Root &&
	test_fails_with 1 "goes with neither --plan nor --no-restart" wmerge --handover 8080 --plan X Root &&
	test_fails_with 1 "nothing listens on port 81 in Root" wmerge --handover 81 X Root &&
	stray_listener start &&
	test_fails_with 1 "the process listening on port 8091 in Root belongs to no service pwapt knows" \
		wmerge --handover 8091 X Root &&
	stray_listener stop &&
	wdelete Y X && no_rules_left
'

test_expect_success 'a handover loses no request; Root serves 1.1 afterwards' '
	upgraded U &&
	start_loop &&
	wmerge --handover 8080 U Root &&
	wait_for 20 "tail -n 1 \"$TMP/seen\" | grep -qx 1.1" &&
	stop_loop &&
	! grep -v -x -e 1.0 -e 1.1 "$TMP/seen" &&
	test "$(grep -c . "$TMP/seen")" -ge 20 &&
	test_equal 1.1 "$(version)" &&
	grep -q "version 1.1" "$R/usr/sbin/pwapt-test-webd" &&
	wexec Root /etc/init.d/pwapt-test-web status &&
	! wlist | grep -q "^U " && no_rules_left
'

test_expect_success 'a failing check: traffic stays on a working service, Root is put back' '
	back_to_1_0 &&
	upgraded F &&
	start_loop &&
	test_fails_with 1 "check .false. failed" wmerge --handover 8080 --handover-check false F Root &&
	stop_loop &&
	! grep -v -x -e 1.0 -e 1.1 "$TMP/seen" &&
	test_equal 1.0 "$(version)" &&
	grep -q "version 1.0" "$R/usr/sbin/pwapt-test-webd" &&
	no_rules_left
'

test_expect_success 'a new version that does not start: rolled back, no request lost' '
	upgraded G &&
	wexec G sh -c "echo PORT=8080 >/etc/default/pwapt-test-web" &&
	check-off G /etc/default/pwapt-test-web &&
	echo FAIL_VERSION=1.1 >"$R/etc/default/pwapt-test-web" &&
	start_loop &&
	test_fails_with 1 "fail on the merged files" wmerge --handover 8080 G Root &&
	stop_loop &&
	! grep -v -x -e 1.0 -e 1.1 "$TMP/seen" &&
	test_equal 1.0 "$(version)" &&
	grep -q "version 1.0" "$R/usr/sbin/pwapt-test-webd" &&
	rm "$R/etc/default/pwapt-test-web" && no_rules_left
'

for step in standin takeover stop merge start release; do
test_expect_success "killed at step $step: pwapt recover leaves a live service on the port" '
	upgraded C &&
	test_exit 137 env PWAPT_CRASH_AT=handover-'$step' wmerge --handover 8080 C Root &&
	version | grep -qx -e 1.0 -e 1.1 &&
	pwapt recover >"$TMP/out" && cat "$TMP/out" &&
	grep -q "interrupted handover" "$TMP/out" &&
	v=$(version) && case $v in 1.0|1.1) ;; *) false ;; esac &&
	no_rules_left &&
	pwapt recover | grep -q "nothing to recover" &&
	{ ! wlist | grep -q "^C " || wdelete C; } &&
	{ test "$v" = 1.0 || {
		back_to_1_0; }; }
'
done

test_expect_success 'killed at step stop, then a reboot: start-all finishes the handover, a live service on the port' '
	upgraded C &&
	test_exit 137 env PWAPT_CRASH_AT=handover-stop wmerge --handover 8080 C Root &&
	simulate_reboot &&
	pwapt start-all &&
	wait_for 20 "version | grep -qx -e 1.0 -e 1.1" &&
	no_rules_left &&
	pwapt recover | grep -q "nothing to recover" &&
	{ ! wlist | grep -q "^C " || wdelete C; } &&
	{ test "$(version)" = 1.0 || {
		back_to_1_0; }; }
'

# A handover's note names its pwapt by pid, start time and boot: after a
# reboot, a process that took the same pid and start time is not it.
test_expect_success 'killed at step stop: a note naming a live process of another boot is finished, of this boot left' '
	upgraded C &&
	test_exit 137 env PWAPT_CRASH_AT=handover-stop wmerge --handover 8080 C Root &&
	N=$PWAPT_STATE/worlds/Root/notes/handover && grep -q "^pid [0-9]* [0-9]* $(cat /proc/sys/kernel/random/boot_id)\$" "$N" &&
	{ sleep 1000 & p=$!; } && note_pid $p && t=$(cut -d" " -f22 /proc/$p/stat) &&
	sed -i "s/^pid .*/pid $p $t $(cat /proc/sys/kernel/random/boot_id)/" "$N" &&
	pwapt recover >"$TMP/out" && cat "$TMP/out" &&
	grep -q "a handover into Root is under way" "$TMP/out" &&
	sed -i "s/^pid .*/pid $p $t 00000000-0000-0000-0000-000000000000/" "$N" &&
	pwapt recover >"$TMP/out" && cat "$TMP/out" &&
	grep -q "finished an interrupted handover" "$TMP/out" &&
	wait_for 20 "version | grep -qx -e 1.0 -e 1.1" && no_rules_left &&
	pwapt recover | grep -q "nothing to recover" &&
	kill $p && { ! wlist | grep -q "^C " || wdelete C; } &&
	{ test "$(version)" = 1.0 || {
		back_to_1_0; }; }
'

test_expect_success 'another handover meanwhile is refused; recover leaves a live one alone' '
	upgraded D &&
	{ PWAPT_STOP_AT=handover-merge wmerge --handover 8080 D Root >"$TMP/out1" 2>&1 & pid=$!; } &&
	note_pid $pid &&
	wait_for 60 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	version | grep -qx 1.0 &&
	wcreate E Root &&
	test_fails_with 1 "another handover into Root is under way" wmerge --handover 8080 E Root &&
	pwapt recover | grep -q "a handover into Root is under way" &&
	wlist | grep -q "handover-" &&
	kill -CONT $pid && wait $pid &&
	test_equal 1.1 "$(version)" && no_rules_left && wdelete E &&
	back_to_1_0
'

test_expect_success 'pwapt merge T --handover: a transaction handed over, no request lost' '
	pwapt upgrade --test --keep -y </dev/null >"$TMP/out" &&
	t=$(grep -o "tx[0-9]*" "$TMP/out" | head -n 1) && test -n "$t" &&
	test_fails_with 2 "takes ports" pwapt merge "$t" --handover x &&
	test_fails_with 1 "goes with --handover" pwapt merge "$t" --handover-check true &&
	start_loop &&
	pwapt merge "$t" --handover 8080 &&
	wait_for 20 "tail -n 1 \"$TMP/seen\" | grep -qx 1.1" &&
	stop_loop &&
	! grep -v -x -e 1.0 -e 1.1 "$TMP/seen" &&
	test_equal 1.1 "$(version)" && no_rules_left &&
	test_fails_with 1 "no transaction named" pwapt merge "$t" --handover 8080
'

LIB=/usr/lib/pwapt-test/libpwapt-test.so.1
# lib_upgraded NAME: a world NAME of Root with pwapt-test-web and
# pwapt-test-lib 1.1, Root having both at 1.0 and pwapt-libuser running.
lib_upgraded() {
	wexec Root sh -c "apt-get install -y -qq --allow-downgrades pwapt-test-lib=1.0 </dev/null >/dev/null" &&
	wexec Root /etc/init.d/pwapt-libuser restart &&
	upgraded "$1" &&
	wexec "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		pwapt-test-lib </dev/null >/dev/null
}

test_expect_success 'a handover restarts Root'\''s other services that use a file the merge replaced, as wmerge does' '
	back_to_1_0 && add_service "$R" pwapt-libuser "$LIB" && rm -f "$R/etc/default/pwapt-libuser" &&
	wexec Root /etc/init.d/pwapt-libuser start && lib_upgraded L1 &&
	old=$(wexec Root cat /run/pwapt-libuser.pid) &&
	start_loop &&
	{ wmerge --handover 8080 L1 Root >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }; } &&
	cat "$TMP/out" && stop_loop && ! grep -v -x -e 1.0 -e 1.1 "$TMP/seen" &&
	grep -q "^Restarting pwapt-libuser in Root... done, checked" "$TMP/out" &&
	test_equal 1.1 "$(version)" && no_rules_left &&
	new=$(wexec Root cat /run/pwapt-libuser.pid) && test "$new" != "$old" &&
	wexec Root grep -q "$LIB\$" /proc/$new/maps &&
	! wexec Root grep -qF "$LIB (deleted)" /proc/$new/maps &&
	# The services on the ports are started once, by the handover.
	test_lacks "^Restarting pwapt-test-web in Root" cat "$TMP/out" &&
	# pwapt rollback knows them all: the other one runs the old library.
	{ pwapt rollback >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }; } &&
	cat "$TMP/out" &&
	grep -q "^Restarting pwapt-libuser in Root... done" "$TMP/out" &&
	test_equal 1.0 "$(wexec Root dpkg-query -W -f "\${Version}" pwapt-test-lib)" &&
	pid=$(wexec Root cat /run/pwapt-libuser.pid) &&
	wexec Root grep -q "$LIB\$" /proc/$pid/maps &&
	! wexec Root grep -qF "$LIB (deleted)" /proc/$pid/maps &&
	back_to_1_0
'

test_expect_success 'a handover whose other service fails on the merged files: rolled back, no request lost, it runs the old library' '
	echo FAIL_VERSION=1.1 >"$R/etc/default/pwapt-libuser" && lib_upgraded F1 &&
	start_loop &&
	{ wmerge --handover 8080 F1 Root >"$TMP/out" 2>&1; test_equal 1 $?; } &&
	cat "$TMP/out" && stop_loop && ! grep -v -x -e 1.0 -e 1.1 "$TMP/seen" &&
	grep -q "^Restarting pwapt-libuser in Root... FAILED" "$TMP/out" &&
	grep -q "Root.s services fail on the merged files (.*pwapt-libuser.*): rolling back while handover-[0-9]* serves" "$TMP/out" &&
	grep -q "^Restarting pwapt-libuser in Root on the old files... done" "$TMP/out" &&
	test_equal 1.0 "$(version)" && no_rules_left &&
	test_equal 1.0 "$(wexec Root dpkg-query -W -f "\${Version}" pwapt-test-lib)" &&
	pid=$(wexec Root cat /run/pwapt-libuser.pid) &&
	wexec Root grep -q "$LIB\$" /proc/$pid/maps &&
	! wexec Root grep -qF "$LIB (deleted)" /proc/$pid/maps &&
	rm "$R/etc/default/pwapt-libuser" && wexec Root /etc/init.d/pwapt-libuser stop
'

test_done
