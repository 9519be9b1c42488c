#!/bin/sh
# The paper's Fig. 3 (§III-B) with Debian's gcc and make: Root holds a
# source file and its Makefile; a child world C patches the source; make in
# Root, still on the old source, builds prog.o from it.  wdiff names prog.o
# (a file derived from a source C changed), and wmerge refuses without
# --force.  Forced anyway, make in Root takes the stale prog.o for current:
# what the warning was about; removing prog.o as the warning asks, make
# builds the merged source.
#
#   examples/derived-make/run.sh            (as root; `make example-make`)
#   examples/derived-make/run.sh --prepare  only build the Debian tree
#
# Root is a temporary copy of a Debian bookworm tree with gcc and make
# (tests/fixtures/debian-tree.sh with PWAPT_TREE_EXTRA, built once with the
# network into PWAPT_CACHE, default /var/cache/pwapt); this machine's own /
# is never touched.  Tracing with BPF (the audit backend cannot tell Root's
# container from the host's processes).  Every step checks its result; the
# first that fails ends the run with exit status 1, naming it.
PWAPT_TREE_EXTRA=gcc,make,libc6-dev
export PWAPT_TREE_EXTRA
: "${PWAPT_TEST_MUST_WORK:=1}"
export PWAPT_TEST_MUST_WORK
if [ "${1:-}" = --prepare ]; then
	"$(dirname "$0")/../../tests/fixtures/debian-tree.sh" >/dev/null
	exit
fi
. "$(dirname "$0")/../../tests/lib.sh"
. "$SRC_DIR/examples/lib-example.sh"
make_debian_root
PWAPT_TRACE=bpf
export PWAPT_TRACE
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
. "$TEST_DIR/lib-trace.sh"
collector_started() { :; }
trap 'stop_collector; cleanup' EXIT

# What C's wdiff and wmerge say, kept for the later steps.
OUT=$TMP/derived-make
mkdir -p "$OUT"

step 'Root is a Debian tree with gcc and make' '
	wexec Root dpkg-query -W gcc make libc6-dev &&
	wexec Root gcc --version | head -n 1 &&
	wexec Root make --version | head -n 1
'

step 'the trace collector (BPF) runs' '
	if ! start_collector >/dev/null; then
		cat "$TMP/collector.out"
		exit 1
	fi
'

step 'Root holds prog.c (exit status 41) and a Makefile that builds prog from prog.o' '
	mkdir -p "$PWAPT_ROOT/src" &&
	printf "int main(void) { return 41; }\n" >"$PWAPT_ROOT/src/prog.c" &&
	printf "prog: prog.o\n\tgcc -o prog prog.o\nprog.o: prog.c\n\tgcc -c prog.c -o prog.o\n" \
		>"$PWAPT_ROOT/src/Makefile" &&
	wexec Root true && wait_traced Root && sleep 0.3
'

step 'wcreate C Root: the child world that patches prog.c' '
	wcreate C Root && wait_traced C &&
	wexec C sed -i s/41/42/ /src/prog.c &&
	test_equal "int main(void) { return 42; }" "$(wexec C cat /src/prog.c)" &&
	test_equal "int main(void) { return 41; }" "$(wexec Root cat /src/prog.c)"
'

step 'make in Root builds prog.o from the old prog.c (Fig. 3-(a))' '
	sleep 1.1 &&
	wexec Root make -C /src &&
	test_exit 41 wexec Root /src/prog &&
	wait_for 20 "trace_entries Root | grep -qx \"rename .* /src/prog.o\|write /src/prog.o\|create /src/prog.o\""
'

step 'wdiff C Root: prog.c changed, and the warning names prog.o (exit 3)' '
	{ wdiff C Root >"$OUT/wdiff"; echo $? >"$OUT/wdiff.rc"; } &&
	cat "$OUT/wdiff" &&
	test_equal 3 "$(cat "$OUT/wdiff.rc")" &&
	grep -qx "M /src/prog.c" "$OUT/wdiff" &&
	grep -q "^! /src/prog.c: derived files: read in Root after C was created by processes that then wrote .*/src/prog.o" "$OUT/wdiff"
'

step 'wmerge C Root refuses without --force; Root keeps the old prog.c' '
	{ wmerge C Root >"$OUT/merge" 2>"$OUT/merge.err"; echo $? >"$OUT/merge.rc"; } &&
	cat "$OUT/merge" "$OUT/merge.err" &&
	test_equal 3 "$(cat "$OUT/merge.rc")" &&
	grep -q "cannot merge .C. into .Root.: 1 path of .C. read in .Root. to make other files" "$OUT/merge.err" &&
	test_equal "int main(void) { return 41; }" "$(wexec Root cat /src/prog.c)" &&
	wlist | grep -q "^C "
'

step 'forced, the merge leaves make in Root taking the stale prog.o for current' '
	wmerge --force C Root 2>"$OUT/force.err"; rc=$?
	cat "$OUT/force.err"; test $rc = 0 &&
	grep -q "^! /src/prog.c: derived files:" "$OUT/force.err" &&
	test_equal "int main(void) { return 42; }" "$(wexec Root cat /src/prog.c)" &&
	wexec Root make -q -C /src &&
	test_exit 41 wexec Root /src/prog
'

step 'removing prog.o as the warning asks, make builds the merged source' '
	wexec Root rm /src/prog.o &&
	wexec Root make -C /src &&
	test_exit 42 wexec Root /src/prog
'

scenario_done derived-make
