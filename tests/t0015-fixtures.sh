#!/bin/sh
# The fixtures themselves, as on a fresh machine: the test packages are the
# same bytes whenever and wherever they are built; every fixture keeps to
# $PWAPT_CACHE; a download that keeps failing is retried and then says why.
. "$(dirname "$0")/lib.sh"
FIX=$TEST_DIR/fixtures

debs() { # DIR: the checksums of the repository's packages
	(cd "$1/pool" && sha256sum ./*.deb)
}

test_expect_success 'the test packages are reproducible: same bytes at another time, under another umask' '
	PWAPT_CACHE=$TMP/c1 "$FIX/apt-repo.sh" --bench 1 "$TMP/r1" 1.1 &&
	sleep 1.1 &&
	(umask 077 && PWAPT_CACHE=$TMP/c2 "$FIX/apt-repo.sh" --bench 1 "$TMP/r2" 1.1) &&
	debs "$TMP/r1" >"$TMP/s1" && debs "$TMP/r2" >"$TMP/s2" &&
	# pwapt-test-web and pwapt-test-unitd 1.0 and 1.1, pwapt-test-www 1.0,
	# 1.1 and 1.2, pwapt-test-idle, pwapt-test-hostname, pwapt-test-site and
	# pwapt-test-relib; pwapt-test-lib (1.0 and 1.1) where there is a cc.
	n=30 && { ! command -v cc >/dev/null || n=32; } &&
	test_equal $n "$(wc -l <"$TMP/s1")" &&
	diff -u "$TMP/s1" "$TMP/s2"
'

# pwapt-test-files: b has the same bytes and mode in 1.0 and 1.1, and each
# version's own date, as a rebuilt Debian package's unchanged file.
test_expect_success 'pwapt-test-files b differs between 1.0 and 1.1 in its mtime only' '
	for v in 1.0 1.1; do
		dpkg-deb -c "$TMP/r1/pool/pwapt-test-files_${v}_all.deb" |
			sed -n "s|^\([^ ]*\) \([^ ]*\) *\([0-9]*\) \(.*\) \./usr/share/pwapt-test/files/b$|\1 \2 \3 \4|p" \
			>"$TMP/b-$v" || return 1
		dpkg-deb --fsys-tarfile "$TMP/r1/pool/pwapt-test-files_${v}_all.deb" |
			tar -xOf - ./usr/share/pwapt-test/files/b >"$TMP/b-content-$v" || return 1
	done &&
	test_equal "-rw-r--r-- root/root 6 2026-01-01 00:00" "$(cat "$TMP/b-1.0")" &&
	test_equal "-rw-r--r-- root/root 6 2026-02-01 00:00" "$(cat "$TMP/b-1.1")" &&
	cmp "$TMP/b-content-1.0" "$TMP/b-content-1.1"
'

test_expect_success 'the busybox tree is the same at another time, under another umask, dates included' '
	"$FIX/busybox-tree.sh" "$TMP/bb1" && sleep 1.1 &&
	(umask 077 && "$FIX/busybox-tree.sh" "$TMP/bb2") &&
	python3 "$FIX/manifest.py" "$TMP/bb1" >"$TMP/bb1.m" &&
	python3 "$FIX/manifest.py" "$TMP/bb2" >"$TMP/bb2.m" &&
	diff -u "$TMP/bb1.m" "$TMP/bb2.m" &&
	test_equal "1767225600 700 1777" "$(stat -c %Y "$TMP/bb1/etc/motd") $(stat -c %a "$TMP/bb2/root" "$TMP/bb2/tmp" | xargs)"
'

test_expect_success 'the Debian tree s cache key follows its recipe, not the rest of the script' '
	mkdir -p "$TMP/copy/tests/fixtures" "$TMP/copy/tools" &&
	cp "$SRC_DIR/tools/retry.sh" "$TMP/copy/tools/" &&
	copy=$TMP/copy/tests/fixtures/debian-tree.sh &&
	cp "$FIX/debian-tree.sh" "$copy" &&
	export PWAPT_CACHE=$TMP/c3 &&
	orig=$("$copy" --path) &&
	case $orig in "$TMP/c3/bookworm-minbase-"????????????) ;; *) echo "path $orig"; false ;; esac &&
	echo "# a comment outside the recipe" >>"$copy" &&
	test_equal "$orig" "$("$copy" --path)" &&
	sed -i "s|^suite=bookworm variant=minbase$|& # changed|" "$copy" &&
	grep -q "^suite=bookworm variant=minbase # changed$" "$copy" &&
	new=$("$copy" --path) && test "$new" != "$orig" &&
	test_equal "$TMP/c3" "$(dirname "$new")"
'

test_expect_success 'retry: tries again, then prints the end of the log, and returns the status' '
	. "$SRC_DIR/tools/retry.sh" &&
	count() { echo "attempt at $(date +%s%N)" >>"$TMP/attempts"; echo "the cause, at last"; return 3; } &&
	{ PWAPT_FETCH_RETRIES=3 PWAPT_FETCH_RETRY_DELAY=0 retry "fetching" "$TMP/log" count 2>"$TMP/err"; test_equal 3 $?; } &&
	cat "$TMP/err" &&
	test_equal 3 "$(wc -l <"$TMP/attempts")" &&
	test_equal 2 "$(grep -c "^fetching failed (exit 3); trying again in 0 s" "$TMP/err")" &&
	grep -q "^fetching failed 3 time(s), last with exit 3; the end of its log ($TMP/log):" "$TMP/err" &&
	grep -q "^    the cause, at last$" "$TMP/err" &&
	ok_second() { [ -e "$TMP/once" ] || { touch "$TMP/once"; return 1; }; } &&
	PWAPT_FETCH_RETRY_DELAY=0 retry "x" "$TMP/log2" ok_second 2>"$TMP/err2" &&
	grep -q "^x failed (exit 1); trying again" "$TMP/err2"
'

# A mirror that does not answer (the discard port): debootstrap fails at
# once, each time.
mirror=http://127.0.0.1:9/debian
test_expect_success 'a debootstrap that keeps failing is retried and prints its cause, and publishes nothing' '
	{ PWAPT_CACHE=$TMP/c4 PWAPT_MIRROR=$mirror PWAPT_FETCH_RETRIES=2 PWAPT_FETCH_RETRY_DELAY=0 \
		"$FIX/debian-tree.sh" >"$TMP/out" 2>"$TMP/err"; test_equal 1 $?; } &&
	cat "$TMP/err" &&
	test ! -s "$TMP/out" &&
	grep -q "trying again in 0 s (attempt 2 of 2)" "$TMP/err" &&
	grep -q "debootstrap bookworm from $mirror failed 2 time(s)" "$TMP/err" &&
	grep -q "^    E: Failed getting release file $mirror/dists/bookworm/Release" "$TMP/err" &&
	grep -q "^    debootstrap.log: .*Connection refused" "$TMP/err" &&
	test_equal ".lock debootstrap.log" "$(ls -A "$TMP/c4" | xargs)"
'

test_expect_success 'make check and make demo print that cause too' '
	(
		export PWAPT_CACHE=$TMP/c5 PWAPT_MIRROR=$mirror PWAPT_FETCH_RETRIES=1 PWAPT_TEST_MUST_WORK=1
		make_debian_root "$TMP/never"
	) >"$TMP/check" 2>&1
	test_equal 1 $? &&
	cat "$TMP/check" &&
	grep -q "^not ok 1 - prerequisite missing: cannot build the Debian test tree" "$TMP/check" &&
	grep -q "^#     E: Failed getting release file $mirror/dists/bookworm/Release" "$TMP/check" &&
	{ PWAPT_CACHE=$TMP/c6 PWAPT_MIRROR=$mirror PWAPT_FETCH_RETRIES=1 \
		"$SRC_DIR/examples/demo.sh" >"$TMP/demo" 2>&1; test_equal 1 $?; } &&
	cat "$TMP/demo" &&
	grep -q "^    E: Failed getting release file $mirror/dists/bookworm/Release" "$TMP/demo"
'

# No fixture, benchmark, example or make target writes the default cache
# when PWAPT_CACHE says otherwise: the default is named only as a default.
test_expect_success 'only ${PWAPT_CACHE:-/var/cache/pwapt} names the default cache' '
	cd "$SRC_DIR" &&
	grep -rn /var/cache/pwapt tests examples tools Makefile .ci --exclude-dir=results |
		grep -v "^tests/t0015-fixtures.sh:" >"$TMP/uses"
	cat "$TMP/uses" &&
	test_lacks "^[^:]*:[0-9]*:[^#]*/var/cache/pwapt" sed "s|\${PWAPT_CACHE:-/var/cache/pwapt}||g" "$TMP/uses"
'

test_done
