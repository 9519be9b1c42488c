# busybox httpd serving $TMP/www on the host's 127.0.0.1, on a port
# nothing else uses (start_httpd sets PORT); stopped, and the test cleaned
# up, on exit.  For tests whose repository only the host's network reaches.
HTTPD=
stop_httpd() { [ -n "$HTTPD" ] && kill "$HTTPD" 2>/dev/null; HTTPD=; }
trap 'stop_httpd; cleanup' EXIT
start_httpd() {
	for port in $(shuf -i 20000-40000 -n 20); do
		busybox httpd -f -p "127.0.0.1:$port" -h "$TMP/www" &
		HTTPD=$!
		for i in $(seq 50); do
			curl -sf "http://127.0.0.1:$port/Release" >/dev/null && { PORT=$port; return 0; }
			kill -0 "$HTTPD" 2>/dev/null || break
			sleep 0.05
		done
		stop_httpd
	done
	return 1
}
