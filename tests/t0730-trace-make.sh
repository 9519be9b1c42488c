#!/bin/sh
# The paper's Fig. 3 as it happens: Debian's gcc and make in a Debian Root
# (PWAPT_TREE_EXTRA: a tree of its own, built once into PWAPT_CACHE), a
# child world patches prog.c, Root's make builds prog.o from the old one;
# wdiff names prog.o, wmerge refuses, and once forced, make in Root takes
# the stale prog.o for current: what the warning was about.  BPF backend
# (audit cannot tell Root's container over a directory from the host).
PWAPT_TREE_EXTRA=gcc,make,libc6-dev; export PWAPT_TREE_EXTRA
. "$(dirname "$0")/lib.sh"
make_debian_root
PWAPT_TRACE=bpf; export PWAPT_TRACE
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
. "$(dirname "$0")/lib-trace.sh"
collector_started() { :; }
trap 'stop_collector; cleanup' EXIT
[ -x "$PWAPT_ROOT/usr/bin/gcc" ] && [ -x "$PWAPT_ROOT/usr/bin/make" ] ||
	skip_all "the Debian test tree has no gcc or make"

if ! start_collector >/dev/null; then
	rm -f "$TMP/collector.pid"
	why=$(grep -m1 "cannot load the BPF programs\|cannot attach" "$TMP/collector.out") ||
		{ cat "$TMP/collector.out"; exit 1; }
	skip_all "BPF cannot load here: $why"
fi

mkdir -p "$PWAPT_ROOT/src"
printf 'int answer(void) { return 41; }\n' >"$PWAPT_ROOT/src/prog.c"
printf 'prog.o: prog.c\n\tgcc -c prog.c -o prog.o\n' >"$PWAPT_ROOT/src/Makefile"

# Root's make is in its trace: prog.o written, and each temporary file of
# gcc's under /tmp deleted again (gcc's driver removes its .s last, after
# as wrote prog.o).  Read right after make returned, with no wait: pwapt
# trace (as wdiff does) first has the collector write what it has, and
# every call of make's returned before.
make_traced() {
	cut -d" " -f3- "$PWAPT_STATE/worlds/Root/trace" >"$TMP/root-trace" &&
	grep -qx "rename .* /src/prog.o\|write /src/prog.o\|create /src/prog.o" "$TMP/root-trace" &&
	awk '$1 ~ /^(write|create|truncate)$/ && $2 ~ /^\/tmp\/cc/ { made[$2] = 1 }
		$1 == "delete" { gone[$2] = 1 }
		END { for (f in made) if (!(f in gone)) exit 1 }' "$TMP/root-trace"
}

test_expect_success 'Fig. 3: make in Root builds prog.o from the old prog.c' '
	wexec Root true && wait_traced Root && sleep 0.3 &&
	wcreate C Root >/dev/null && wait_traced C &&
	wexec C sed -i s/41/42/ /src/prog.c &&
	sleep 1.1 &&
	wexec Root make -C /src &&
	pwapt trace Root >/dev/null && make_traced
'

test_expect_success 'wdiff names the object file; --json too' '
	wdiff C >"$TMP/wdiff.out"; test $? = 3 && cat "$TMP/wdiff.out" &&
	grep -q "^! /src/prog.c: derived files: read in Root after C was created by processes that then wrote .*/src/prog.o" "$TMP/wdiff.out" &&
	if grep "^! /src/prog.c: derived files: .*/tmp/cc" "$TMP/wdiff.out"; then exit 1; fi &&
	wdiff --json C | python3 -c "
import json, sys
d = json.load(sys.stdin)
w = [x for x in d[\"warnings\"] if x[\"kind\"] == \"derived\" and x[\"path\"] == \"/src/prog.c\"]
assert w and \"/src/prog.o\" in w[0][\"written\"], d[\"warnings\"]
"
'

test_expect_success 'wmerge refuses; --force merges, and make then misses the change' '
	test_fails_with 3 "cannot merge .C. into .Root.: 1 path of .C. read in .Root. to make other files" \
		wmerge C Root >/dev/null &&
	grep -q 41 "$PWAPT_ROOT/src/prog.c" &&
	wmerge --force C Root 2>/dev/null &&
	grep -q 42 "$PWAPT_ROOT/src/prog.c" &&
	wexec Root make -q -C /src
'

test_done
