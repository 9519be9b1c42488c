# Helpers of the networking tests (t04*-net*.sh), sourced after lib.sh.

# The value of a field of `wip --json NAME`.
net_field() {
	wip --json "$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# Starts busybox httpd in world $1 on port $2, serving "$3" at /id.
serve() {
	wexec "$1" sh -c "mkdir -p /www && echo $3 >/www/id && busybox httpd -p $2 -h /www"
}

# The page /id at HOST:PORT $1.
get() { curl -s -m 5 "http://$1/id"; }

# Skips the file unless the kernel has what pwapt's rules use: nftables
# with NAT, fib and masquerade (in this test's network namespace).
require_nat() {
	command -v nft >/dev/null || skip_all "nft is missing"
	nft -f - <<-EOF 2>"$TMP/nft-probe" ||
	table ip pwapt_probe {
		chain p { type nat hook prerouting priority dstnat; fib daddr type local tcp dport 1 dnat to 127.0.0.1:2; }
		chain o { type nat hook postrouting priority srcnat; masquerade; }
	}
	EOF
		skip_all "the kernel lacks nftables NAT, fib or masquerade: $(head -1 "$TMP/nft-probe")"
	nft delete table ip pwapt_probe
}

# Whether something listens on TCP port $1, in the network namespace of
# pid $2 when given (else this test's).
listens() {
	if [ -n "${2:-}" ]; then
		nsenter -t "$2" -n ss -Hltn "sport = :$1"
	else
		ss -Hltn "sport = :$1"
	fi | grep -q .
}

# Waits up to 10 s until something listens (as listens() says).
wait_listen() { wait_for 10 "listens $1 ${2:-}"; }
