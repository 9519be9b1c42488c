#!/bin/sh
# The parsers of outside data under libFuzzer for a while each (FUZZ_SECONDS,
# default 30): world metadata, the configuration file, the package database
# merges, a trace table, the cgroups of a container's init and monitor, a
# world's network file, a merge's journal, a check-off list, a
# transaction's record and a world's init scripts and units.  Each starts
# from its corpus (tests/fuzz/corpus-*), which also holds the inputs of
# crashes found before.
. "$(dirname "$0")/../lib.sh"
command -v clang >/dev/null || skip_all "clang is missing"
cd "$SRC_DIR" || exit 1
targets="meta config dpkgdb trace freezer net journal checkoff txn services"
make -s $(for t in $targets; do echo tests/fuzz/fuzz-$t; done) \
	>"$TMP/build" 2>&1 ||
	skip_all "cannot build the fuzz targets: $(tail -1 "$TMP/build")"

for t in $targets; do
	test_expect_success "fuzz-$t finds no crash, leak or undefined behaviour" "
		mkdir -p '$TMP/corpus-$t' &&
		ASAN_OPTIONS=detect_leaks=1 \
		tests/fuzz/fuzz-$t -max_total_time=${FUZZ_SECONDS:-30} \
			-detect_leaks=1 -artifact_prefix='$TMP/' \
			'$TMP/corpus-$t' tests/fuzz/corpus-$t \
			>'$TMP/fuzz-$t.log' 2>&1 ||
		{ tail -30 '$TMP/fuzz-$t.log'; exit 1; }
	"
done

test_done
