#!/bin/sh
# Networking of worlds: addresses on pwapt's bridge, forwards through kernel
# NAT, outbound policy, takeover and release of Root's ports, Root in a
# container.  Everything runs in this test's own network namespace (lib.sh);
# traffic goes only to loopback, the bridge and namespaces the test makes.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is missing"
. "$TEST_DIR/lib-net.sh"
require_nat
make_busybox_root

test_expect_success 'every world has loopback and an address on pwapt0' '
	wcreate A Root && wcreate B Root &&
	a=$(net_field A address) && b=$(net_field B address) &&
	test "$a" != "$b" &&
	case $a in 10.213.0.*) ;; *) false ;; esac &&
	wexec A ip -4 addr show dev eth0 | grep -q "inet $a/16" &&
	wexec A ip link show lo | grep -q "UP" &&
	ip -4 addr show dev pwapt0 | grep -q "inet 10.213.0.1/16" &&
	ip link show master pwapt0 | grep -q "pw[0-9a-f]\{8\}"
'

test_expect_success 'Root, the host and the worlds reach each other' '
	wexec Root true && r=$(net_field Root address) &&
	case $r in 10.213.0.*) ;; *) false ;; esac &&
	serve Root 80 root && serve A 80 world-a && serve B 80 world-b &&
	test_equal world-a "$(get $(net_field A address))" &&
	test_equal root "$(get $r)" &&
	test_equal root "$(wexec A wget -qO- http://$r/id)" &&
	test_equal world-a "$(wexec Root wget -qO- http://$(net_field A address)/id)" &&
	test_equal world-b "$(wexec A wget -qO- http://$(net_field B address)/id)"
'

test_expect_success 'wip NAME forward PORT HOSTPORT: 127.0.0.1 and the bridge address' '
	wip A forward 80 50080 &&
	test_equal world-a "$(get 127.0.0.1:50080)" &&
	test_equal world-a "$(get 10.213.0.1:50080)"
'

test_expect_success 'two worlds serve the same port on different host ports' '
	wip B forward 80 50081 &&
	test_equal world-a "$(get 127.0.0.1:50080)" &&
	test_equal world-b "$(get 127.0.0.1:50081)"
'

test_expect_success 'a world reaches another one through a forward of the host' '
	test_equal world-a "$(wexec B wget -qO- http://10.213.0.1:50080/id)"
'

test_expect_success 'wip shows addresses and forwards, also as JSON' '
	wip A >"$TMP/out" && cat "$TMP/out" &&
	grep -q "address   $(net_field A address)/16 on the bridge pwapt0" "$TMP/out" &&
	grep -q "forward   host port 50080 -> port 80" "$TMP/out" &&
	grep -q "outbound  off (default)" "$TMP/out" &&
	wip --json A | python3 -c "
import json, sys
w = json.load(sys.stdin)
assert w[\"forwards\"] == [{\"host_port\": 50080, \"port\": 80}], w
assert w[\"active\"] and not w[\"outbound\"], w"
'

test_expect_success 'wip --all lists every rule and interface pwapt added, named as pwapt s' '
	wip --all >"$TMP/all" && cat "$TMP/all" &&
	grep -q "^A .*50080->80" "$TMP/all" &&
	grep -q "table ip pwapt0" "$TMP/all" &&
	grep -q "comment \"A: forward 50080 to 80\"" "$TMP/all" &&
	grep -q "comment \"B: forward 50081 to 80\"" "$TMP/all" &&
	grep -q "^interfaces pwapt0 pw" "$TMP/all" &&
	wip --all --json | python3 -c "
import json, sys
a = json.load(sys.stdin)
assert a[\"bridge\"] == \"pwapt0\" and a[\"address\"] == \"10.213.0.1\", a
rules = [i[\"rule\"] for i in a[\"nftables\"][\"nftables\"] if \"rule\" in i]
comments = [r.get(\"comment\", \"\") for r in rules]
assert comments.count(\"A: forward 50080 to 80\") == 2, comments
assert all(c for c in comments), comments
names = [w[\"name\"] for w in a[\"worlds\"]]
assert names == [\"Root\", \"A\", \"B\"], names
ifs = a[\"interfaces\"]
assert ifs[0] == \"pwapt0\" and len(ifs) == 4, ifs" &&
	test_equal "table ip pwapt0" "$(nft list tables)"
'

test_expect_success 'addresses and forwards survive a restart of the world' '
	a=$(net_field A address) &&
	kill -9 $(init_pid A) &&
	wait_for 5 "net_field A active | grep -qx False" &&
	serve A 80 world-a-again &&
	nft list table ip pwapt0 | grep -q "A: forward 50080 to 80" &&
	test_equal "$a" "$(net_field A address)" &&
	test_equal world-a-again "$(get 127.0.0.1:50080)"
'

test_expect_success 'stop-all takes forwards out of the kernel; start-all puts them back' '
	pwapt stop-all &&
	test_no_output nft list tables && test_lacks "^[0-9]+: pwapt0:" ip -o link show &&
	wip A | grep -q "forward   host port 50080 -> port 80" &&
	! get 127.0.0.1:50080 &&
	pwapt start-all &&
	serve A 80 world-a && serve B 80 world-b &&
	test_equal world-a "$(get 127.0.0.1:50080)" &&
	test_equal world-b "$(get 127.0.0.1:50081)"
'

test_expect_success 'addresses survive a reboot' '
	a=$(net_field A address) && b=$(net_field B address) &&
	simulate_reboot && pwapt start-all &&
	test_equal "$a" "$(net_field A address)" &&
	test_equal "$b" "$(net_field B address)" &&
	serve A 80 world-a && serve B 80 world-b && serve Root 80 root &&
	test_equal world-a "$(get 127.0.0.1:50080)"
'

test_expect_success 'wip NAME unforward HOSTPORT' '
	test_has "comment \"B: forward 50081 to 80\"" nft list table ip pwapt0 &&
	wip B unforward 50081 &&
	! get 127.0.0.1:50081 &&
	test_lacks "comment \"B: " nft list table ip pwapt0 &&
	test_equal "[]" "$(net_field B forwards)"
'

test_expect_success 'bad input: a clear error, and nothing changes' '
	nft list table ip pwapt0 >"$TMP/before" &&
	test_fails_with 1 "no world named .nope." wip nope forward 80 50090 &&
	test_fails_with 1 "no world named .nope." wip nope &&
	test_fails_with 2 "invalid port .0." wip A forward 0 50090 &&
	test_fails_with 2 "invalid port .65536." wip A forward 80 65536 &&
	test_fails_with 2 "invalid port .8x." wip A takeover 8x &&
	test_fails_with 2 "invalid port .1x." wip A unforward 1x &&
	test_fails_with 1 "forwards host port 50080 already" wip A forward 80 50080 &&
	test_fails_with 1 "host port 50080 is forwarded to port 80 of .A." wip B forward 80 50080 &&
	test_fails_with 1 "no forward of host port 50099" wip A unforward 50099 &&
	test_fails_with 1 "has not taken over port 80" wip A release 80 &&
	test_fails_with 1 "Root cannot take over its own port" wip Root takeover 80 &&
	test_fails_with 2 "unknown action .frobnicate." wip A frobnicate 1 &&
	test_fails_with 2 "forward takes 2 arguments" wip A forward 80 &&
	test_fails_with 2 "outbound is .on. or .off." wip A outbound maybe &&
	test_fails_with 2 "name a world, or use --all" wip &&
	test_fails_with 2 "--all takes no world name" wip --all A &&
	nft list table ip pwapt0 | diff "$TMP/before" - &&
	test_equal "[{'"'"'host_port'"'"': 50080, '"'"'port'"'"': 80}]" "$(net_field A forwards)"
'

test_expect_success 'a host port something listens on is refused, naming who' '
	mkdir -p "$TMP/www" && busybox httpd -f -p 127.0.0.1:50090 -h "$TMP/www" &
	pid=$! && note_pid $pid && wait_listen 50090 &&
	test_fails_with 1 "host port 50090 is in use: busybox \(pid $pid\) listens on it" \
		wip B forward 80 50090;
	rc=$?; kill $pid; wait $pid 2>/dev/null; test $rc = 0 &&
	wip B forward 80 50090 && test_equal world-b "$(get 127.0.0.1:50090)"
'

# A connection of the host's whose own end the kernel numbered as the
# port (an ephemeral one) is no listener: the forward is taken.
test_expect_success 'a host port only a connection s own end has is free for a forward' '
	mkdir -p "$TMP/www" && busybox httpd -f -p 127.0.0.1:50093 -h "$TMP/www" &
	pid=$! && note_pid $pid && wait_listen 50093 &&
	python3 -c "import socket,sys,time
s=socket.socket(); s.bind((\"127.0.0.1\", 50094)); s.connect((\"127.0.0.1\", 50093))
print(\"up\", flush=True); time.sleep(30)" >"$TMP/conn" & cpid=$! && note_pid $cpid &&
	wait_for 10 "grep -q up \"$TMP/conn\"" && ss -tn | grep -q ":50094 " &&
	wip B forward 81 50094; rc=$?;
	kill $cpid $pid; wait $cpid $pid 2>/dev/null; test $rc = 0 &&
	wip B unforward 50094
'

test_expect_success 'wdelete removes the world s rules, and the port is free again' '
	test_has "comment \"B: forward 50090 to 80\"" nft list table ip pwapt0 &&
	wdelete B &&
	test_lacks "comment \"B: " nft list table ip pwapt0 &&
	mkdir -p "$TMP/www" && echo host >"$TMP/www/id" &&
	busybox httpd -f -p 50090 -h "$TMP/www" & pid=$! && note_pid $pid && wait_listen 50090 &&
	out=$(get 127.0.0.1:50090); kill $pid; wait $pid 2>/dev/null;
	test_equal host "$out" &&
	wcreate B Root && serve B 80 world-b &&
	wip B forward 80 50090 && test_equal world-b "$(get 127.0.0.1:50090)"
'

# A bridge without a MAC of its own takes the lowest of its ports', so the
# worlds' gateway would change its MAC as worlds come and go.
test_expect_success 'the bridge keeps its own MAC as worlds come and go; worlds know it' '
	mac() { ip -o link show "$1" | sed "s/.*link\/ether \([^ ]*\).*/\1/"; } &&
	test_equal 02:70:0a:d5:00:01 "$(mac pwapt0)" &&
	wcreate C Root && wexec C true && test_equal 02:70:0a:d5:00:01 "$(mac pwapt0)" &&
	wdelete C && test_equal 02:70:0a:d5:00:01 "$(mac pwapt0)" &&
	wexec A ping -c1 -W2 10.213.0.1 >/dev/null &&
	wexec A ip neigh show 10.213.0.1 | grep -q "lladdr 02:70:0a:d5:00:01"
'

test_expect_success 'a bad bridge, subnet or outbound in pwapt.conf is a clear error' '
	echo "subnet = 10.213.0.0/33" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "invalid subnet .10.213.0.0/33." wcreate Bad Root &&
	echo "subnet = 10.213.0.1/24" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "invalid subnet" wip A &&
	echo "bridge = 0bad" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "invalid bridge name .0bad." wip A &&
	echo "outbound = maybe" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "pwapt.conf:1: outbound is .on. or .off." wip A &&
	rm "$PWAPT_CONFIG" && test_lacks "^Bad " wlist
'

test_expect_success 'an interface of the bridge s name that is no bridge is a clear error' '
	ip link add pwdummy type veth peer name pwdummy1 &&
	printf "bridge = pwdummy\nsubnet = 10.214.0.0/24\n" >"$PWAPT_CONFIG" &&
	test_fails_with 1 "an interface named pwdummy exists and is not a bridge" wcreate Bad Root;
	rc=$?; rm -f "$PWAPT_CONFIG"; ip link del pwdummy; test $rc = 0 &&
	test_lacks "^Bad " wlist
'

# An "outside" of the worlds: a network namespace of this test's, reached
# through a veth from the host, with a server on 192.0.2.2 (TEST-NET-1).
test_expect_success 'setup: a network outside the host' '
	{ unshare -n sleep 600 & echo $! >"$TMP/outside"; note_pid $!; } &&
	out=$(cat "$TMP/outside") &&
	wait_for 5 "test \"\$(readlink /proc/$out/ns/net)\" != \"\$(readlink /proc/self/ns/net)\"" &&
	ip link add vout0 type veth peer name vout1 netns $out &&
	ip addr add 192.0.2.1/24 dev vout0 && ip link set vout0 up &&
	nsenter -t $out -n sh -c "ip link set lo up && ip addr add 192.0.2.2/24 dev vout1 &&
		ip link set vout1 up && ip route add default via 192.0.2.1" &&
	mkdir -p "$TMP/out-www" && echo outside >"$TMP/out-www/id" &&
	{ nsenter -t $out -n busybox httpd -f -p 80 -h "$TMP/out-www" & note_pid $!; } &&
	wait_listen 80 $out &&
	test_equal outside "$(get 192.0.2.2)"
'

# World $1 runs and has wget, and cannot reach the outside server: a
# negative check that fails when the world itself does not answer.
unreachable() {
	wexec "$1" true && wexec "$1" sh -c "command -v wget" >/dev/null &&
		! wexec "$1" timeout 3 wget -qO- http://192.0.2.2/id
}

test_expect_success 'outbound is off by default: a world cannot reach beyond the bridge' '
	unreachable A
'

test_expect_success 'wip NAME outbound on|off' '
	wip A outbound on &&
	test_equal outside "$(wexec A timeout 5 wget -qO- http://192.0.2.2/id)" &&
	unreachable B &&
	wip A | grep -q "outbound  on$" &&
	wip A outbound off &&
	unreachable A
'

test_expect_success 'Root in a container is production: its outbound is on' '
	test_equal outside "$(wexec Root timeout 5 wget -qO- http://192.0.2.2/id)"
'

test_expect_success 'outbound = on in pwapt.conf makes it the default' '
	echo "outbound = on" >"$PWAPT_CONFIG" &&
	wip A outbound off && wexec B true &&
	test_equal outside "$(wexec B timeout 5 wget -qO- http://192.0.2.2/id)" &&
	unreachable A &&
	rm "$PWAPT_CONFIG" && wexec B true
'

# A client loop against Root's port 80, through the host's forward and on
# Root's own address, while W takes the port over and gives it back.
loop() { # URL OUT: one line per request, until $TMP/stop exists
	i=0
	while [ ! -e "$TMP/stop" ] && [ $i -lt 3000 ]; do
		curl -s -m 5 "$1" || echo FAIL
		i=$((i + 1))
	done >"$2"
}

wait_for() { # FILE PATTERN COUNT: until FILE has COUNT lines matching
	for i in $(seq 200); do
		[ "$(grep -c "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.05
	done
	echo "never saw $3 lines of $2 in $1"
	return 1
}

test_expect_success 'takeover and release: new connections move, no request fails' '
	wcreate W Root && serve W 80 world-w &&
	wip Root forward 80 58080 && test_equal root "$(get 127.0.0.1:58080)" &&
	r=$(net_field Root address) && rm -f "$TMP/stop" &&
	{ loop http://127.0.0.1:58080/id "$TMP/fwd" & } &&
	{ loop http://$r/id "$TMP/direct" & } &&
	wait_for "$TMP/fwd" root 20 && wait_for "$TMP/direct" root 20 &&
	wip W takeover 80 &&
	wait_for "$TMP/fwd" world-w 20 && wait_for "$TMP/direct" world-w 20 &&
	nft list table ip pwapt0 | grep -q "Root: forward 58080 to 80, taken over by W" &&
	test_equal root "$(wexec W wget -qO- http://10.213.0.1:58080/id)" &&
	wip W release 80 &&
	n=$(grep -c root "$TMP/fwd") && wait_for "$TMP/fwd" root $((n + 20)) &&
	n=$(grep -c root "$TMP/direct") && wait_for "$TMP/direct" root $((n + 20)) &&
	touch "$TMP/stop" && wait &&
	wc -l "$TMP/fwd" "$TMP/direct" &&
	! grep -v -e "^root$" -e "^world-w$" "$TMP/fwd" "$TMP/direct" &&
	test "$(tail -n 1 "$TMP/fwd")" = root
'

test_expect_success 'a download in flight across a takeover stays with Root' '
	wexec Root sh -c "dd if=/dev/urandom of=/www/big bs=1k count=1500 2>/dev/null" &&
	wexec W sh -c "dd if=/dev/zero of=/www/big bs=1k count=1500 2>/dev/null" &&
	rm -f "$TMP/big" &&
	{ curl -s --limit-rate 500k -o "$TMP/big" http://127.0.0.1:58080/big & } &&
	# In flight once its first bytes came (not after a fixed 0.5 s: on a
	# loaded machine curl may not have connected yet, and the port of Root
	# would then be taken over by W).
	i=0 && until [ -s "$TMP/big" ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i + 1)); done &&
	test -s "$TMP/big" &&
	wip W takeover 80 && test_equal world-w "$(get 127.0.0.1:58080)" &&
	wait &&
	cmp "$TMP/big" "$PWAPT_ROOT/www/big" &&
	wip W release 80
'

test_expect_success 'takeover errors: a port taken over by another world, twice' '
	wip W takeover 80 &&
	test_fails_with 1 "port 80 of Root is taken over by .W. already" wip A takeover 80 &&
	test_fails_with 1 "has taken over port 80 already" wip W takeover 80 &&
	test_has "comment \"W: takeover of port 80 of Root\"" nft list table ip pwapt0 &&
	wdelete W &&
	test_lacks "comment \"W: |taken over by W\"" nft list table ip pwapt0 &&
	test_equal root "$(get 127.0.0.1:58080)"
'

test_expect_success 'a merge that deletes the world removes its forwards' '
	wcreate M Root && serve M 80 world-m &&
	wip M forward 80 50095 && test_equal world-m "$(get 127.0.0.1:50095)" &&
	test_has "comment \"M: forward 50095 to 80\"" nft list table ip pwapt0 &&
	wmerge M Root &&
	test_lacks "comment \"M: " nft list table ip pwapt0 &&
	! get 127.0.0.1:50095 &&
	wip A forward 80 50095
'

test_done
