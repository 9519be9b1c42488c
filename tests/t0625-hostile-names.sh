#!/bin/sh
# A world names its files as it likes, and its names reach the
# administrator's terminal: wdiff, wmerge's refusal, a transaction's
# report, pwapt trace.  A name with an escape sequence (one that retitles
# the terminal and clears the screen), a newline, a C1 control (0x9b, CSI),
# invalid UTF-8 or a right-to-left override is shown quoted as git quotes
# paths, never raw; a plain UTF-8 name stays readable.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT
W() { echo "$PWAPT_STATE/worlds/W/merged$1"; }
esc=$(printf '\033')
evil=$(printf 'evil\033]0;pwned\007\033[2J')
nl=$(printf 'two\nlines')
c1=$(printf 'csi\302\233m')
bad=$(printf 'latin\351')
rlo=$(printf 'txt\342\200\256gpj.sh')

# has FILE TEXT: a line of FILE holds TEXT (a fixed string).
has() {
	grep -qF -e "$2" "$1" || { echo "no line of $1 holds '$2':"; cat -v "$1"; return 1; }
}

# no_raw FILE: FILE holds no ESC, BEL, C1 CSI, invalid byte or RLO of the
# names above, and a line for each of them, quoted.
no_raw() {
	if grep -q "$esc" "$1" || grep -q "$(printf '\007')" "$1" ||
		grep -q "$(printf '\302\233')" "$1" ||
		grep -q "$(printf '\342\200\256')" "$1" ||
		LC_ALL=C grep -q "$(printf 'latin\351')" "$1"; then
		echo "raw control bytes in $1:"; cat -v "$1"; return 1
	fi
}

test_expect_success 'setup: a world adds files with hostile names, and one plain UTF-8 name' '
	mkdir -p "$R/srv" && echo old >"$R/srv/shared" &&
	wcreate W Root &&
	for n in "$evil" "$nl" "$c1" "$bad" "$rlo" "café"; do
		echo x >"$(W "/srv/$n")" || return 1
	done &&
	echo new >"$(W /srv/shared)"
'

test_expect_success 'wdiff shows every hostile name quoted, no control byte raw' '
	wdiff W >"$TMP/diff" &&
	no_raw "$TMP/diff" &&
	has "$TMP/diff" "A \"/srv/evil\\033]0;pwned\\a\\033[2J\"" &&
	has "$TMP/diff" "A \"/srv/two\\nlines\"" &&
	has "$TMP/diff" "A \"/srv/csi\\302\\233m\"" &&
	has "$TMP/diff" "A \"/srv/latin\\351\"" &&
	has "$TMP/diff" "A \"/srv/txt\\342\\200\\256gpj.sh\"" &&
	has "$TMP/diff" "A /srv/café" &&
	has "$TMP/diff" "M /srv/shared"
'

test_expect_success 'wdiff --json keeps the names exact (JSON escapes them)' '
	wdiff --json W >"$TMP/json" &&
	no_raw "$TMP/json" &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
paths = {c[\"path\"] for c in d[\"changes\"]}
assert \"/srv/two\nlines\" in paths, paths
assert \"/srv/evil\x1b]0;pwned\x07\x1b[2J\" in paths, paths
assert \"/srv/csi\x9bm\" in paths, paths
assert \"/srv/caf\xe9\" in paths, paths
raw = {p.encode(\"utf-8\", \"surrogateescape\") for p in paths}
assert b\"/srv/latin\xe9\" in raw, raw
" "$TMP/json"
'

test_expect_success 'a conflict on a hostile name: wmerge refuses, naming it quoted' '
	echo root >"$R/srv/$evil" &&
	{ wmerge W Root >"$TMP/merge" 2>&1; rc=$?; } &&
	{ [ $rc -ne 0 ] || { echo "wmerge exit 0"; cat -v "$TMP/merge"; false; }; } &&
	no_raw "$TMP/merge" &&
	has "$TMP/merge" "\"/srv/evil\\033]0;pwned\\a\\033[2J\"" &&
	test_equal root "$(cat "$R/srv/$evil")"
'

test_expect_success 'clean up' '
	wdelete W
'
test_done
