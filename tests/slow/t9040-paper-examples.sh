#!/bin/sh
# The paper's scenarios (examples/), run as CI runs the slow tests: Fig. 3
# with Debian's gcc and make (examples/derived-make), and §II with Debian's
# apache2, PHP, MariaDB and WordPress (examples/wordpress-php) with
# PWAPT_PAPER_POSTS posts (default 100; the paper's 1000 are `make
# example-wordpress`).  Each scenario checks every step and exits non-zero
# naming the one that failed; its output is this test's log.  Each runs in
# a network namespace of its own (tests/lib.sh, started afresh), on its own
# temporary Root.  What they need from the network (two Debian trees, the
# PHP and WordPress updates) is fetched first, with the network, and cached
# under PWAPT_CACHE.  About 2 minutes from a warm cache on 2 shared CPUs; 9
# from an empty one (two debootstraps, about 400 MB).
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${PWAPT_TEST_NETNS:-}" ]; then
	# A failure here is the scenario's to report (it says what it could
	# not fetch).
	"$here/examples/derived-make/run.sh" --prepare >/dev/null 2>&1
	"$here/examples/wordpress-php/run.sh" --prepare >/dev/null 2>&1
fi
. "$(dirname "$0")/../lib.sh"
POSTS=${PWAPT_PAPER_POSTS:-100}
export POSTS

# The scenario $1 in a namespace of its own, its output kept whole in
# $TMP/$1.out as well as the test's log.
scenario() {
	env -u PWAPT_TEST_NETNS -u TMP "$SRC_DIR/examples/$1/run.sh" >"$TMP/$1.out" 2>&1
	rc=$?
	cat "$TMP/$1.out"
	test $rc = 0
}
# Its summary (what it left out on purpose, the client's count) as TAP
# comments, passed or not.
summary() {
	sed -n '/^== .*steps passed/,$s/^/# /p; /^FAILED at step/s/^/# /p' "$TMP/$1.out"
}

test_expect_success 'examples/derived-make: Fig. 3 with gcc and make ends in its warning' '
	scenario derived-make &&
	grep -q "^== derived-make: all [0-9]* steps passed" "$TMP/derived-make.out"
'
summary derived-make

test_expect_success "examples/wordpress-php: §II with $POSTS posts, every step" '
	scenario wordpress-php &&
	grep -q "^== wordpress-php ($POSTS posts; .*): all [0-9]* steps passed" "$TMP/wordpress-php.out"
'
summary wordpress-php

test_done
