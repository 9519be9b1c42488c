#!/bin/sh
# overlayfs' own records (trusted.overlay.* xattrs) and merges: a file of a
# layer whose data lies elsewhere (metacopy) is merged from what the world
# showed, never linked from its layer's empty inode; no overlay record
# reaches DST, not even one that a world's process set itself (overlayfs
# stores those escaped, trusted.overlay.overlay.*); and a world's processes
# cannot craft records that overlayfs would interpret, nor reach their
# layer (README, "Security: a world cannot craft its layer").
. "$(dirname "$0")/lib.sh"
for t in setfattr getfattr gcc; do
	command -v $t >/dev/null || skip_all "$t is missing (attr, gcc)"
done
R=$PWAPT_ROOT
S=$PWAPT_STATE

# xa: setfattr/getfattr for a world (busybox has neither), static.
cat >"$TMP/xa.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int argc, char **argv)
{
	char v[4096];
	if (argc == 5 && !strcmp(argv[1], "set")) {
		if (lsetxattr(argv[4], argv[2], argv[3], strlen(argv[3]), 0) < 0)
			return perror(argv[4]), 1;
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "get")) {
		ssize_t n = lgetxattr(argv[3], argv[2], v, sizeof(v) - 1);
		if (n < 0)
			return perror(argv[3]), 1;
		v[n] = 0;
		return puts(v) < 0;
	}
	return fprintf(stderr, "usage: xa set NAME VALUE PATH | get NAME PATH\n"), 2;
}
EOF
gcc -O2 -static -o "$TMP/xa" "$TMP/xa.c" || skip_all "cannot build a static helper"

# A fresh Root: /srv/big (20 KB, its bytes kept in $TMP/big), /srv/red (a
# directory with its own file), /srv/opq (one with a file), /srv/meta.
fresh_root() {
	cleanup_worlds
	rm -rf "$R" && make_busybox_root && cp "$TMP/xa" "$R/bin/xa" &&
	mkdir -p "$R/srv/red" "$R/srv/opq" &&
	head -c 20480 /dev/urandom >"$TMP/big" && cp "$TMP/big" "$R/srv/big" &&
	echo mine >"$R/srv/red/mine" && echo lower >"$R/srv/opq/lower" &&
	echo meta-data >"$R/srv/meta" && echo plain >"$R/srv/plain"
}

# No overlay record on any path below $1.
no_overlay_xattrs() {
	test -e "$1" &&
		test_lacks overlay getfattr -R -h -d -m '^(trusted|user)\.overlay\.' "$1"
}

# meta_mount W: W's tree mounted by hand as another mount (an older or
# foreign one) would: metacopy=on, which needs redirect_dir=on.  W's
# container and pwapt's own mount are stopped first.
meta_mount() {
	pwapt stop-all &&
	mount -t overlay overlay -o "lowerdir=$R,upperdir=$S/worlds/$1/upper,workdir=$S/worlds/$1/work,redirect_dir=on,metacopy=on,index=off" "$S/worlds/$1/merged"
}

# ---- item 3: a layer's metacopy file ----

test_expect_success 'a metacopy file of the layer is merged with its data from the world, not linked as NULs' '
	fresh_root && wcreate A Root && meta_mount A &&
	chown 1234:1234 "$S/worlds/A/merged/srv/big" &&
	getfattr -h -n trusted.overlay.metacopy "$S/worlds/A/upper/srv/big" &&
	test "$(tr -d "\000" <"$S/worlds/A/upper/srv/big" | wc -c)" = 0 &&
	cmp "$TMP/big" "$S/worlds/A/merged/srv/big" &&
	wdiff A | grep -qx "M /srv/big" &&
	wmerge A Root &&
	cmp "$TMP/big" "$R/srv/big" &&
	test "$(stat -c %u:%g "$R/srv/big")" = 1234:1234 &&
	no_overlay_xattrs "$R/srv"
'

test_expect_success 'a metacopy file that the mounts of pwapt refuse stops wdiff and wmerge with its path; Root keeps its file' '
	fresh_root && wcreate A Root && meta_mount A &&
	chown 1234:1234 "$S/worlds/A/merged/srv/big" &&
	echo changed >"$S/worlds/A/merged/srv/plain" &&
	umount "$S/worlds/A/merged" &&
	! wexec A cat /srv/big >/dev/null &&
	test_fails_with 1 "at /srv/big .*metacopy.*Operation not permitted" wdiff A &&
	test_fails_with 1 "at /srv/big .*metacopy" wmerge A Root &&
	cmp "$TMP/big" "$R/srv/big" && test "$(stat -c %u "$R/srv/big")" = 0 &&
	test_equal plain "$(cat "$R/srv/plain")" &&
	wlist | grep -q "^A "
'

# wdiff stats a file the world wrote in its own layer (diff_side_load_a),
# not through the overlay, unless the file carries a record of overlayfs'
# own: a metacopy record there, empty or of any size, is still met through
# the overlay, which refuses it, and named.
test_expect_success 'a metacopy record in a directory of the layer alone, empty or with an xattr block: wdiff stops, naming it' '
	fresh_root && wcreate A Root && mkdir "$S/worlds/A/merged/srv/mcd" &&
	U=$S/worlds/A/upper/srv/mcd &&
	: >"$U/mc0" && setfattr -n trusted.overlay.metacopy "$U/mc0" &&
	test_fails_with 1 "at /srv/mcd/mc0 .*metacopy" wdiff A &&
	rm "$U/mc0" && truncate -s 5000 "$U/mc" &&
	setfattr -n trusted.overlay.metacopy "$U/mc" &&
	setfattr -n user.big -v "$(head -c 3000 /dev/zero | tr "\\000" x)" "$U/mc" &&
	test "$(stat -c %b "$U/mc")" != 0 &&
	test_fails_with 1 "at /srv/mcd/mc .*metacopy" wdiff A &&
	rm "$U/mc" && echo plain >"$U/plain" && wdiff A >"$TMP/d" &&
	test_equal "A /srv/mcd
A /srv/mcd/plain" "$(cat "$TMP/d")"
'

# ---- item 4: no overlay record reaches DST ----

test_expect_success 'a trusted.overlay.* xattr set in a world is kept escaped in its layer, and not merged into Root' '
	fresh_root && wcreate A Root &&
	wexec A sh -c "echo new >/srv/plain && xa set trusted.overlay.foo bar /srv/plain && xa set user.overlay.foo baz /srv/plain && xa set user.note kept /srv/plain" &&
	test_equal bar "$(wexec A xa get trusted.overlay.foo /srv/plain)" &&
	test_equal bar "$(getfattr -h --only-values -n trusted.overlay.overlay.foo "$S/worlds/A/upper/srv/plain")" &&
	! getfattr -h -n trusted.overlay.foo "$S/worlds/A/upper/srv/plain" &&
	wmerge A Root &&
	test_equal new "$(cat "$R/srv/plain")" &&
	test_equal kept "$(getfattr -h --only-values -n user.note "$R/srv/plain")" &&
	no_overlay_xattrs "$R/srv"
'

test_expect_success 'a merge killed before it was done leaves the world its escaped records: its file was copied, not linked and stripped' '
	fresh_root && wcreate A Root &&
	wexec A sh -c "echo new >/srv/plain && xa set trusted.overlay.foo bar /srv/plain && echo z >/srv/zz" &&
	{ PWAPT_CRASH_AT=merge-applied wmerge A Root; test_equal 137 $?; } &&
	pwapt recover >/dev/null &&
	test_equal plain "$(cat "$R/srv/plain")" && ! test -e "$R/srv/zz" &&
	test_equal bar "$(getfattr -h --only-values -n trusted.overlay.overlay.foo "$S/worlds/A/upper/srv/plain")" &&
	test_equal bar "$(wexec A xa get trusted.overlay.foo /srv/plain)" &&
	wmerge A Root && test_equal new "$(cat "$R/srv/plain")" &&
	no_overlay_xattrs "$R/srv"
'

test_expect_success 'nor into a parent world: the layer of the parent gets no escaped record either' '
	fresh_root && wcreate A Root && wcreate B A &&
	wexec B sh -c "echo new >/srv/plain && xa set trusted.overlay.foo bar /srv/plain && mkdir /srv/red/sub && xa set trusted.overlay.opaque y /srv/red" &&
	wmerge B A &&
	test_equal new "$(wexec A cat /srv/plain)" &&
	! wexec A xa get trusted.overlay.foo /srv/plain &&
	! wexec A xa get trusted.overlay.opaque /srv/red &&
	no_overlay_xattrs "$S/worlds/A/merged/srv" &&
	test_lacks "overlay\.overlay\." getfattr -R -h -d -m - "$S/worlds/A/upper/srv" &&
	wmerge A Root && no_overlay_xattrs "$R/srv" &&
	test -f "$R/srv/red/mine" && test -d "$R/srv/red/sub"
'

# ---- item 5: records a world's process writes are never interpreted ----

# The records a hostile process of world $1 writes: a redirect of /srv/red
# to /etc, a metacopy mark on /srv/meta, an opaque /srv/opq, a whiteout
# mark (6.7's xwhiteouts: a lower layer's empty file so marked hides that
# name) on /srv/red/wo; each with a real change beside it, so that the
# merge takes the path.
hostile_records() {
	wexec "$1" sh -c "
		xa set trusted.overlay.redirect /etc /srv/red && echo w >/srv/red/added &&
		: >/srv/red/wo && xa set trusted.overlay.whiteout y /srv/red/wo &&
		xa set trusted.overlay.whiteouts y /srv/red &&
		xa set trusted.overlay.metacopy y /srv/meta && chmod 600 /srv/meta &&
		xa set trusted.overlay.opaque y /srv/opq && echo w >/srv/opq/added &&
		xa set trusted.overlay.origin x /srv/plain"
}
# What a process of world $1 sees: each path its own content, as before.
sees_own() {
	test_equal "added mine wo" "$(wexec "$1" ls /srv/red | xargs)" &&
	test_equal meta-data "$(wexec "$1" cat /srv/meta)" &&
	test_equal "added lower" "$(wexec "$1" ls /srv/opq | xargs)" &&
	test_equal plain "$(wexec "$1" cat /srv/plain)"
}

test_expect_success 'records written in a world are stored escaped and never interpreted, even after a remount' '
	fresh_root && wcreate A Root && hostile_records A &&
	sees_own A &&
	test_equal /etc "$(wexec A xa get trusted.overlay.redirect /srv/red)" &&
	for p in red red/wo meta opq plain; do
		test_has "^trusted\.overlay\.overlay\." getfattr -h -d -m - "$S/worlds/A/upper/srv/$p" &&
		test_lacks "^trusted\.overlay\.(redirect|metacopy|opaque|whiteouts?)=" getfattr -h -d -m - "$S/worlds/A/upper/srv/$p" || return 1
	done &&
	pwapt stop-all && test -z "$(mounts_below "$S/worlds/A")" &&
	pwapt start-all && sees_own A
'

test_expect_success 'after the merge Root holds none of them, and a new world sees every directory whole' '
	fresh_root && wcreate A Root && hostile_records A &&
	test_lacks "^D |/srv/opq/lower|/srv/etc" wdiff A &&
	wmerge A Root &&
	test "$(stat -c %a "$R/srv/meta")" = 600 &&
	test_equal meta-data "$(cat "$R/srv/meta")" &&
	test -f "$R/srv/red/mine" && test -f "$R/srv/opq/lower" &&
	no_overlay_xattrs "$R/srv" &&
	wcreate B Root && sees_own B
'

test_expect_success 'the layer is not in the world: mountinfo names its host path, which does not exist there' '
	fresh_root && wcreate A Root &&
	wexec A cat /proc/self/mountinfo >"$TMP/mi" &&
	up=$(sed -n "s/.* - overlay [^ ]* .*upperdir=\([^,]*\).*/\1/p" "$TMP/mi" | head -n 1) &&
	test_equal "$S/worlds/A/upper" "$up" &&
	test_absent_in A "$up" "$S/worlds/A" "$S" &&
	wexec A sh -c "echo x >/srv/probe" && test -f "$up/srv/probe"
'

test_expect_success 'with the state inside Root, the layer path in the world is an empty, unreadable cover' '
	cleanup_worlds && make_busybox_root "$TMP/tree" &&
	(
		export PWAPT_ROOT="$TMP/tree" PWAPT_STATE="$TMP/tree/var/lib/pwapt" &&
		wcreate V Root && wcreate V2 V &&
		for w in V V2; do
			wexec $w cat /proc/self/mountinfo | grep -q "upperdir=$PWAPT_STATE/worlds/$w/upper" &&
			test_absent_in $w "$PWAPT_STATE/worlds/$w/upper" "$PWAPT_STATE/worlds" &&
			test_equal "" "$(wexec $w ls -A /var/lib/pwapt 2>/dev/null)" || exit 1
		done
		r=$?
		wdelete V2 V; pwapt stop-all
		exit $r
	)
'

cleanup_worlds
test_done
