#!/bin/sh
# What `pwapt rollback --force` leaves of apt's planner log
# (/var/log/apt/eipp.log.xz), which each apt run rewrites whole: Root's
# later version.
. "$(dirname "$0")/lib.sh"
make_busybox_root
R=$PWAPT_ROOT

# Root with a file of two names (/srv/a, /srv/b) and /srv/z.
fresh_root() {
	cleanup_worlds && rm -rf "$R/srv" "$R/var/log/apt" && mkdir -p "$R/srv" &&
	echo old >"$R/srv/a" && ln "$R/srv/a" "$R/srv/b" && echo z >"$R/srv/z"
}

# World W writes apt's planner log (added by the merge, or over Root's:
# $1), the merge takes it, and Root's apt rewrites it after the merge.
eipp_setup() {
	fresh_root && mkdir -p "$R/var/log/apt" &&
	if [ "$1" = over ]; then echo before >"$R/var/log/apt/eipp.log.xz"; fi &&
	wcreate W Root && wexec W sh -c "echo merge >/var/log/apt/eipp.log.xz.new &&
		mv /var/log/apt/eipp.log.xz.new /var/log/apt/eipp.log.xz" &&
	wmerge W Root && test_equal merge "$(cat "$R/var/log/apt/eipp.log.xz")"
}

eipp_later_stays() {
	sleep 0.05 && echo later >"$R/var/log/apt/eipp.log.xz.new" &&
	mv "$R/var/log/apt/eipp.log.xz.new" "$R/var/log/apt/eipp.log.xz" &&
	{ pwapt rollback >"$TMP/out" 2>&1; test_equal 3 $?; } &&
	grep -q "^! /var/log/apt/eipp.log.xz: changed since the merge" "$TMP/out" &&
	pwapt rollback --force &&
	test_equal later "$(cat "$R/var/log/apt/eipp.log.xz")" &&
	test_equal "eipp.log.xz" "$(ls "$R/var/log/apt" | xargs)"
}

test_expect_success 'rollback --force keeps the planner log Root wrote since, where the merge added it' '
	eipp_setup added && eipp_later_stays
'

test_expect_success 'rollback --force keeps the planner log Root wrote since, where the merge replaced it' '
	eipp_setup over && eipp_later_stays
'

test_expect_success 'rollback puts back the planner log Root left as the merge wrote it' '
	eipp_setup over && pwapt rollback &&
	test_equal before "$(cat "$R/var/log/apt/eipp.log.xz")" &&
	eipp_setup added && pwapt rollback && ! test -e "$R/var/log/apt/eipp.log.xz"
'

test_done
