#!/bin/sh
# wdiff and wmerge walk the layers, never the trace tables (issue 13, item
# 6; README "Tracing", deviation notes): the two compared on the same
# worlds.  Where a world changed files only through the traced calls, the
# paths its table says it wrote are those wdiff finds in its layer; but a
# layer also changes through what no backend traces, with the trace
# complete: a setxattr(2) (overlayfs copies the file up), and a merge into
# a child world, which pwapt makes from the host into the world's layer.
# A wdiff from the tables would miss both: this test fails if wdiff does.
. "$(dirname "$0")/lib.sh"
make_busybox_root
PWAPT_TRACE=bpf; export PWAPT_TRACE
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
. "$(dirname "$0")/lib-trace.sh"
collector_started() { :; }
trap 'stop_collector; cleanup' EXIT
command -v python3 >/dev/null || skip_all "python3 is missing"

if ! start_collector >/dev/null; then
	rm -f "$TMP/collector.pid"
	why=$(grep -m1 "cannot load the BPF programs\|cannot attach" "$TMP/collector.out") ||
		{ cat "$TMP/collector.out"; exit 1; }
	skip_all "BPF cannot load here: $why"
fi

# The paths wdiff finds changed in world $1 against its parent (the walk).
walked() {
	wdiff --json "$1" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["changes"]:
    print(c["path"])' | sort -u
}
# The paths world $1's table says its processes wrote (every kind but read
# and exec; a rename's, link's or symlink's first and second path).
tabled() {
	trace_entries "$1" | awk '$1 != "read" && $1 != "exec" {
		print $2; if ($1 == "rename" || $1 == "link") print $3 }' | sort -u
}
# Whether world $1's table is complete: nothing lost, nothing untraced.
complete() {
	head -n1 "$PWAPT_STATE/worlds/$1/trace" | grep -q "^pwapt-trace 2 complete *lost=0* since=0*[1-9][0-9]*$"
}

mkdir -p "$PWAPT_ROOT/srv"
echo keep >"$PWAPT_ROOT/srv/xattr"
echo keep >"$PWAPT_ROOT/srv/kept"

test_expect_success 'setup: worlds changing files through traced calls only, and then not' '
	wcreate T Root >/dev/null && wait_traced T &&
	wcreate X Root >/dev/null && wait_traced X &&
	wexec T sh -c "echo t >/srv/t-new && echo t >>/srv/kept && mkdir /srv/t-dir && mv /srv/t-new /srv/t-dir/moved && rm /srv/xattr" &&
	wexec X sh -c "echo x >/srv/x-new" &&
	wexec X at - xattr /srv/xattr &&
	wcreate S X >/dev/null && wait_traced S &&
	wexec S sh -c "echo s >/srv/s-new" &&
	wmerge S X >/dev/null &&
	wexec T true && wexec X true &&
	stop_collector &&
	complete T && complete X
'

test_expect_success 'traced calls only: the table names what the walk finds' '
	walked T >"$TMP/T.walk" && tabled T >"$TMP/T.table" &&
	cat "$TMP/T.walk" &&
	test -s "$TMP/T.walk" &&
	comm -23 "$TMP/T.walk" "$TMP/T.table" >"$TMP/T.missed" &&
	{ ! test -s "$TMP/T.missed" || { cat "$TMP/T.missed"; exit 1; }; }
'

test_expect_success 'setxattr: the walk finds it, the complete table does not' '
	walked X >"$TMP/X.walk" && tabled X >"$TMP/X.table" &&
	cat "$TMP/X.walk" &&
	grep -qx /srv/xattr "$TMP/X.walk" &&
	! grep -qx /srv/xattr "$TMP/X.table" &&
	wdiff X | grep -qx "M /srv/xattr"
'

test_expect_success 'a merge into a child: the walk finds it, the complete table does not' '
	grep -qx /srv/s-new "$TMP/X.walk" &&
	! grep -qx /srv/s-new "$TMP/X.table" &&
	grep -qx /srv/x-new "$TMP/X.table" &&
	test_equal s "$(wexec X cat /srv/s-new)"
'

test_done
