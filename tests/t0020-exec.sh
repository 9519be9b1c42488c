#!/bin/sh
# wexec: streams, exit status, environment, daemons, Root.
. "$(dirname "$0")/lib.sh"
make_busybox_root

test_expect_success 'setup' 'wcreate W Root'

test_expect_success 'stdin, stdout and stderr pass through' '
	printf "line1\nline2\n" | wexec W sh -c "cat; echo to-err >&2" >"$TMP/o" 2>"$TMP/e" &&
	test_equal "line1
line2" "$(cat "$TMP/o")" &&
	test_equal to-err "$(cat "$TMP/e")"
'

test_expect_success 'the exit status is the command status' '
	wexec W sh -c "exit 0" &&
	{ wexec W sh -c "exit 42"; test_equal 42 $?; } &&
	{ wexec W false; test_equal 1 $?; }
'

test_expect_success 'a command killed by a signal gives 128+N' '
	{ wexec W sh -c "kill -TERM \$\$"; test_equal 143 $?; }
'

test_expect_success 'a missing command gives 127 and says so' '
	{ wexec W /no/such/cmd 2>"$TMP/e"; test_equal 127 $?; } &&
	grep -q "/no/such/cmd" "$TMP/e" &&
	{ wexec W /etc/motd 2>/dev/null; test_equal 126 $?; }
'

test_expect_success 'options after the world name belong to the command' '
	test_equal "--help -x" "$(wexec W echo --help -x)"
'

test_expect_success 'the environment is clean and sane' '
	SECRET_FROM_CALLER=1 TERM=xterm-test wexec W env >"$TMP/env" &&
	cat "$TMP/env" &&
	! grep -q SECRET_FROM_CALLER "$TMP/env" &&
	grep -q "^PATH=.*/usr/bin" "$TMP/env" &&
	grep -qx "HOME=/root" "$TMP/env" &&
	grep -qx "TERM=xterm-test" "$TMP/env" &&
	test_equal / "$(cd /tmp && wexec W pwd)"
'

test_expect_success 'a daemon started with wexec keeps running in the world' '
	wexec W sh -c "sleep 1000 </dev/null >/dev/null 2>&1 &" &&
	wait_for 5 "wexec W ps -o args | grep -q \"^sleep 1000\"" &&
	wexec W ps -o args | grep -q "^sleep 1000" &&
	wexec W ps -o args | grep -q "^sleep 1000"
'

test_expect_success 'a server in a world answers inside the world' '
	wexec W sh -c "mkdir -p /www && echo hello-httpd >/www/index.html && httpd -p 127.0.0.1:8080 -h /www" &&
	test_equal hello-httpd "$(wexec W wget -qO- http://127.0.0.1:8080/index.html)"
'

test_expect_success 'wdelete ends the daemons of the world' '
	pid=$(init_pid W) &&
	pids=$(pgrep -P "$pid") && test -n "$pids" &&
	wdelete W &&
	for p in $pids $pid; do ! kill -0 $p 2>/dev/null || { echo "pid $p survives"; exit 1; }; done
'

test_expect_success 'wexec of an unknown world fails clearly' '
	test_fails_with 1 "no world named .nope." wexec nope true &&
	test_fails_with 1 "invalid world name" wexec "../x" true
'

test_expect_success 'wexec without a command is a usage error' '
	test_fails_with 2 "usage: wexec" wexec Root
'

test_expect_success 'wexec Root over a directory runs in a container of its own' '
	test_equal Root "$(wexec Root hostname)" &&
	test_equal "This is the test Root." "$(wexec Root cat /etc/motd)" &&
	pid=$(init_pid Root) && test "$pid" -gt 1 &&
	test "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)"
'

test_expect_success 'pwapt exec is wexec' '
	test_equal Root "$(pwapt exec Root hostname)"
'

test_done
