#!/bin/sh
# Networking when Root is the host ("/"): Root's address is the bridge's,
# a port of Root is a port on any local address, and takeover moves it to a
# world and back.  The "host" is this test's own network namespace (lib.sh).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is missing"
command -v busybox >/dev/null || skip_all "busybox is missing"
PWAPT_ROOT=/
export PWAPT_ROOT

. "$TEST_DIR/lib-net.sh"
require_nat

test_expect_success 'setup: a server of Root on the host, port 8081' '
	mkdir -p "$TMP/www" && echo host >"$TMP/www/id" &&
	{ busybox httpd -f -p 8081 -h "$TMP/www" & note_pid $!; } && wait_listen 8081 &&
	test_equal host "$(get 127.0.0.1:8081)"
'

test_expect_success 'Root on the host has the bridge address' '
	wcreate H Root && wcreate X Root &&
	test_equal 10.213.0.1 "$(net_field Root address)" &&
	wip Root | grep -q "10.213.0.1/16, the address of the bridge pwapt0" &&
	test_equal host "$(wexec H busybox wget -qO- http://10.213.0.1:8081/id)"
'

test_expect_success 'Root on the host has no forwards and no outbound setting' '
	test_fails_with 1 "Root is the host" wip Root forward 80 50080 &&
	test_fails_with 1 "Root is the host" wip Root outbound off &&
	test_fails_with 1 "Root cannot take over its own port" wip Root takeover 80
'

test_expect_success 'takeover: every local address of the host, from the host and from worlds' '
	serve H 8081 world-h && serve X 8081 world-x &&
	wip H takeover 8081 &&
	test_equal world-h "$(get 127.0.0.1:8081)" &&
	test_equal world-h "$(get 10.213.0.1:8081)" &&
	test_equal world-h "$(wexec X busybox wget -qO- http://10.213.0.1:8081/id)" &&
	test_equal host "$(wexec H busybox wget -qO- http://10.213.0.1:8081/id)" &&
	nft list table ip pwapt0 | grep -q "H: takeover of port 8081 of Root"
'

test_expect_success 'a taken-over port cannot be forwarded, a forwarded one not taken over' '
	test_fails_with 1 "port 8081 of the host is taken over by .H." wip X forward 80 8081 &&
	wip X forward 8081 50081 &&
	test_fails_with 1 "port 50081 of the host is forwarded to port 8081 of .X." \
		wip H takeover 50081 &&
	test_equal world-x "$(get 127.0.0.1:50081)"
'

test_expect_success 'release: new connections go to Root again' '
	wip H release 8081 &&
	test_equal host "$(get 127.0.0.1:8081)" &&
	test_equal host "$(get 10.213.0.1:8081)"
'

# Each phase lasts until the loop has had an answer in it, not a fixed
# time: on a loaded machine no request may fall into half a second (and
# on a fast one a cap on requests could end the loop before the release).
test_expect_success 'a client loop across takeover and release sees no failure' '
	rm -f "$TMP/stop" &&
	{ i=0; while [ ! -e "$TMP/stop" ] && [ $i -lt 100000 ]; do
		get 127.0.0.1:8081 || echo FAIL; i=$((i + 1)); done >"$TMP/loop" & } &&
	{ wait_for 30 "grep -qx host \"\$TMP/loop\"" &&
	  wip H takeover 8081 && wait_for 30 "grep -qx world-h \"\$TMP/loop\"" &&
	  wip H release 8081 && wait_for 30 "tail -n 1 \"\$TMP/loop\" | grep -qx host"; r=$?; } &&
	touch "$TMP/stop" && wait && test $r = 0 &&
	grep -q world-h "$TMP/loop" && test "$(tail -n 1 "$TMP/loop")" = host &&
	! grep -v -e "^host$" -e "^world-h$" "$TMP/loop"
'

test_expect_success 'wdelete takes its takeover away' '
	wip H takeover 8081 && test_equal world-h "$(get 127.0.0.1:8081)" &&
	test_has "comment \"H: takeover of port 8081 of Root\"" nft list table ip pwapt0 &&
	wdelete H &&
	test_equal host "$(get 127.0.0.1:8081)" &&
	test_lacks "comment \"H: |taken over by H\"" nft list table ip pwapt0
'

test_expect_success 'stop-all leaves nothing of pwapt in the network namespace' '
	pwapt stop-all &&
	test_no_output nft list tables &&
	test_lacks "^[0-9]+: pwapt0:" ip -o link show &&
	test_lacks " pw[0-9a-f]{8}" ip link show
'

test_done
