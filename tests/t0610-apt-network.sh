#!/bin/sh
# Packages reach a transaction's world through the host's network: the tests'
# repository served over http on the host's loopback, which no world's own
# network namespace reaches; and a repository that went away.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT

installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}

. "$(dirname "$0")/lib-httpd.sh"

# In this shell, not a test's subshell: the clean-up must know the pid.
"$TEST_DIR/fixtures/apt-repo.sh" "$TMP/www" 1.1 >/dev/null ||
	skip_all "cannot build the test repository"
start_httpd || skip_all "cannot start busybox httpd on 127.0.0.1"

test_expect_success 'set up: the repository on http://127.0.0.1 of the host only' '
	echo "deb [trusted=yes] http://127.0.0.1:$PORT/ ./" >"$R/etc/apt/sources.list" &&
	rm -f "$R/etc/apt/sources.list.d/"* &&
	pwapt update >"$TMP/out" &&
	grep -q "127.0.0.1:$PORT" "$TMP/out"
'

test_expect_success 'a world s own network does not reach the host s loopback' '
	wcreate W Root &&
	test_exit 100 wexec W apt-get -q -o Acquire::http::Timeout=3 download pwapt-test-a \
		</dev/null >"$TMP/out" 2>&1 &&
	grep -q "Failed to fetch http://127.0.0.1:$PORT/" "$TMP/out" &&
	curl -sf "http://127.0.0.1:$PORT/Release" >/dev/null &&
	wdelete W
'

test_expect_success 'pwapt install --test downloads with the host s network and installs offline' '
	pwapt install --test --merge-on-success -y pwapt-test-a </dev/null >"$TMP/out" &&
	test_equal 1.1 "$(installed Root pwapt-test-a)" &&
	grep -q "^Merged tx1 into Root" "$TMP/out"
'

stop_httpd
test_expect_success 'no network: the download fails, the world is discarded, Root is untouched' '
	cp "$R/var/lib/dpkg/status" "$TMP/status" &&
	test_fails_with 1 "downloading the packages failed .exit 100. in tx2: the world is discarded, Root is untouched" \
		pwapt install --test --merge-on-success -y pwapt-test-b </dev/null &&
	cmp "$TMP/status" "$R/var/lib/dpkg/status" && test_lacks "^tx2 " wlist
'

test_done
