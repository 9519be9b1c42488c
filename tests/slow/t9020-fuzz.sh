#!/bin/sh
# The parsers of outside data under libFuzzer for a while each (FUZZ_SECONDS,
# default 30): world metadata, the configuration file and the package
# database merges.
. "$(dirname "$0")/../lib.sh"
command -v clang >/dev/null || skip_all "clang is missing"
cd "$SRC_DIR" || exit 1
make -s tests/fuzz/fuzz-meta tests/fuzz/fuzz-config tests/fuzz/fuzz-dpkgdb \
	>"$TMP/build" 2>&1 ||
	skip_all "cannot build the fuzz targets: $(tail -1 "$TMP/build")"

for t in meta config dpkgdb; do
	test_expect_success "fuzz-$t finds no crash, leak or undefined behaviour" "
		mkdir -p '$TMP/corpus-$t' &&
		tests/fuzz/fuzz-$t -max_total_time=${FUZZ_SECONDS:-30} \
			-artifact_prefix='$TMP/' '$TMP/corpus-$t' tests/fuzz/corpus-$t \
			>'$TMP/fuzz-$t.log' 2>&1 ||
		{ tail -30 '$TMP/fuzz-$t.log'; exit 1; }
	"
done

test_done
