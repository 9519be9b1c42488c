#!/bin/sh
# A directory the world added, with siblings whose names extend it ("x-y",
# "x.conf", as a package's /usr/share/doc/cron and cron-daemon-common):
# strcmp puts them between "x" and "x/f", and the files of "x" are still
# below a directory Root lacks, not "maybe deleted in Root".
. "$(dirname "$0")/lib.sh"
R=$PWAPT_ROOT
. "$(dirname "$0")/lib-merge.sh"

test_expect_success 'files below a directory Root lacks are no warning, whatever its siblings are named' '
	fresh_root && wcreate S Root &&
	wexec S sh -c "mkdir -p /srv/new/sub /srv/new-common /srv/new.d &&
		echo a >/srv/new/f && echo b >/srv/new/sub/g &&
		echo c >/srv/new-common/h && echo d >/srv/new.conf &&
		echo e >/srv/new.d/i" &&
	wdiff S >"$TMP/d" && cat "$TMP/d" &&
	grep -qx "A /srv/new/f" "$TMP/d" &&
	test_lacks "^!" cat "$TMP/d" &&
	wmerge S Root 2>"$TMP/e" && test_no_output cat "$TMP/e" &&
	test_equal a "$(cat "$R/srv/new/f")" &&
	test_equal b "$(cat "$R/srv/new/sub/g")"
'

test_expect_success 'directories the world deleted, with siblings whose names extend theirs, merge' '
	fresh_root &&
	mkdir -p "$R/srv/pkg/sub" "$R/srv/pkg-common" &&
	echo a >"$R/srv/pkg/f" && echo b >"$R/srv/pkg/sub/g" &&
	echo c >"$R/srv/pkg-common/h" && echo d >"$R/srv/pkg.conf" &&
	wcreate P Root &&
	wexec P rm -r /srv/pkg /srv/pkg-common /srv/pkg.conf &&
	wmerge P Root &&
	! test -e "$R/srv/pkg" &&
	! test -e "$R/srv/pkg-common" &&
	! test -e "$R/srv/pkg.conf"
'

test_expect_success 'a file of Root the world renamed over another of Root is no conflict (dpkg-divert --remove --rename)' '
	fresh_root &&
	mkdir -p "$R/srv/lib" && echo wrapper >"$R/srv/halt" &&
	echo real >"$R/srv/lib/halt" &&
	wcreate D Root &&
	wexec D mv /srv/lib/halt /srv/halt &&
	wdiff D >"$TMP/d" && cat "$TMP/d" &&
	test_lacks "^!" cat "$TMP/d" &&
	wmerge D Root &&
	test_equal real "$(cat "$R/srv/halt")" &&
	! test -e "$R/srv/lib/halt"
'

test_done
