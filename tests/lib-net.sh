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
