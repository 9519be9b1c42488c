#!/bin/sh
# make paper (tools/paper) on a machine without network (this test's own
# network namespace has none) and with nothing cached: it says what it
# could not fetch, for each scenario with the reason, and stops before it
# measures anything.  And its PAPER_OUT never overwrites results.
. "$(dirname "$0")/lib.sh"

paper() { (cd "$TEST_DIR/.." && tools/paper); }

test_expect_success 'make paper without network: says what it could not fetch and why, exits 1, measures nothing' '
	mkdir "$TMP/cache" &&
	{ PWAPT_CACHE=$TMP/cache PAPER_OUT=$TMP/paper PWAPT_FETCH_RETRY_DELAY=0 \
		paper >"$TMP/out" 2>"$TMP/err"; test_equal 1 $?; } &&
	cat "$TMP/err" &&
	grep -q "^make paper: could not fetch what it needs (no network?):" "$TMP/err" &&
	grep -q "^- the Debian bookworm tree with gcc and make" "$TMP/err" &&
	grep -q "^- the Debian bookworm tree with apache2, PHP, MariaDB and WordPress" "$TMP/err" &&
	grep -q "^- the Debian bookworm tree with unattended-upgrades" "$TMP/err" &&
	grep -q "deb.debian.org" "$TMP/err" &&
	test_lacks . cat "$TMP/out" &&
	! test -e "$TMP/paper/results.md" && ! test -e "$TMP/paper/measures.1"
'

test_expect_success 'make paper with PAPER_OUT not empty: refused, its files untouched' '
	mkdir "$TMP/keep" && echo mine >"$TMP/keep/results.md" &&
	{ PAPER_OUT=$TMP/keep paper 2>"$TMP/err"; test_equal 2 $?; } &&
	grep -q "PAPER_OUT=.*keep is not empty" "$TMP/err" &&
	test_equal mine "$(cat "$TMP/keep/results.md")"
'

test_done
