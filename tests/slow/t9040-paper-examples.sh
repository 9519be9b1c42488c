#!/bin/sh
# The paper's scenarios (examples/), run as CI runs the slow tests: Fig. 3
# with Debian's gcc and make (examples/derived-make), unattended-upgrades
# through a world with a failing and a passing test (examples/unattended),
# and §II with Debian's apache2, PHP, MariaDB and WordPress
# (examples/wordpress-php) with PWAPT_PAPER_POSTS posts (default 100; the
# paper's 1000 are `make example-wordpress`), ending in a short Table V
# (ab, 20 requests a measure, tracing off and bpf: that its measures run
# and every request answers, not its numbers; `make paper` measures).  Each scenario checks every step and exits non-zero
# naming the one that failed; its output is this test's log.  Each runs in
# a network namespace of its own (tests/lib.sh, started afresh), on its own
# temporary Root.  What they need from the network (two Debian trees, the
# PHP and WordPress updates) is fetched first, with the network, and cached
# under PWAPT_CACHE.  About 4 minutes from a warm cache on 2 shared CPUs
# (7 with a load average of 15); 12 from an empty one (three debootstraps,
# about 450 MB).
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${PWAPT_TEST_NETNS:-}" ]; then
	# A failure here is the scenario's to report (it says what it could
	# not fetch).
	"$here/examples/derived-make/run.sh" --prepare >/dev/null 2>&1
	"$here/examples/unattended/run.sh" --prepare >/dev/null 2>&1
	"$here/examples/wordpress-php/run.sh" --prepare >/dev/null 2>&1
fi
. "$(dirname "$0")/../lib.sh"
POSTS=${PWAPT_PAPER_POSTS:-100}
export POSTS

# The scenario $1 in a namespace of its own (with the environment
# VAR=VALUE $2...), its output kept whole in $TMP/$1.out as well as the
# test's log.
scenario() {
	_s=$1
	shift
	env -u PWAPT_TEST_NETNS -u TMP "$@" "$SRC_DIR/examples/$_s/run.sh" >"$TMP/$_s.out" 2>&1
	rc=$?
	cat "$TMP/$_s.out"
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

test_expect_success 'examples/unattended: a failing test leaves Root untouched, a passing one merges' '
	scenario unattended &&
	grep -q "^== unattended: all [0-9]* steps passed" "$TMP/unattended.out"
'
summary unattended

test_expect_success "examples/wordpress-php: §II with $POSTS posts, every step, and Table V" '
	scenario wordpress-php PWAPT_PAPER_AB=20 "PWAPT_PAPER_AB_TRACE=off bpf" &&
	grep -q "^ABChild, tracing bpf, round 1: [0-9.]* ms a request" "$TMP/wordpress-php.out" &&
	grep -q "^== wordpress-php ($POSTS posts; .*): all [0-9]* steps passed" "$TMP/wordpress-php.out"
'
summary wordpress-php

test_done
