#!/bin/sh
# A Root whose /srv is a file system of its own (a host's separate /var):
# a merge killed once applied, then a reboot; the recovery rolls /srv back
# as it does /, also when it cannot mount SRC and judges SRC's files by
# its layers (one for each of Root's file systems).
. "$(dirname "$0")/lib.sh"
command -v mkfs.ext4 >/dev/null || skip_all "mkfs.ext4 is missing (e2fsprogs)"
R=$PWAPT_ROOT
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$@"; }
. "$(dirname "$0")/lib-merge.sh"
reboot_broken() {
	reboot_quietly && W=$PWAPT_STATE/worlds/A && rm -rf "$W/work" && echo broken >"$W/work"
}
make_busybox_root
mkdir -p "$R/srv" "$R/etc/app"
img=$TMP/srv.img
truncate -s 64M "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$R/srv" ||
	skip_all "cannot mount an ext4 image"

for case in "killed, then a reboot:reboot_quietly" "killed, then a reboot, SRC cannot be mounted:reboot_broken"; do
test_expect_success "a merge into Root ${case%:*}: recovery rolls back /srv (its own file system) as /etc" '
	cleanup_worlds; rm -f "$R/srv/new" "$R/etc/app/new" "$R"/srv/data.pwapt-rollback-* &&
	echo old-srv >"$R/srv/data" && echo old-etc >"$R/etc/app/conf" &&
	manifest "$R/srv" >"$TMP/before-srv" && manifest "$R/etc/app" >"$TMP/before-etc" &&
	wcreate A Root && wexec A sh -c "echo new-srv >/srv/data; echo n >/srv/new; echo new-etc >/etc/app/conf; echo n >/etc/app/new" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	test_equal new-srv "$(cat "$R/srv/data")" &&
	'${case##*:}' &&
	pwapt recover 2>"$TMP/err"; r=$?; cat "$TMP/err";
	W=$PWAPT_STATE/worlds/A; if test -f "$W/work"; then rm -f "$W/work" && mkdir "$W/work"; fi;
	test $r = 0 && test_lacks "cannot tell" cat "$TMP/err" &&
	manifest "$R/etc/app" | diff -u "$TMP/before-etc" - &&
	manifest "$R/srv" | diff -u "$TMP/before-srv" - && ! test -e "$PWAPT_STATE/merge"
'
done
test_done
