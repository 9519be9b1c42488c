#!/bin/sh
# Root and state directories whose paths hold blanks and the characters
# overlayfs' options and fstab(5) lines take for separators or escapes: a
# world over them works, on the new mount API (fsconfig) and on the one
# string a kernel before 6.8 takes (Debian 12's 6.1), with the state beside
# Root and inside it (Root's file system then enters as a "root view"); a
# newline, which no line of liblxc's configuration or pwapt's records can
# hold, is refused.
. "$(dirname "$0")/lib.sh"
make_busybox_root
BASE=$PWAPT_ROOT

# odd_tree ROOT STATE: a copy of the test's Root at ROOT, and the state
# directory STATE for the commands of in_odd.
odd_tree() {
	ODD_ROOT=$1 ODD_STATE=$2
	mkdir -p "$(dirname "$ODD_ROOT")" && cp -a "$BASE" "$ODD_ROOT" &&
		mkdir -p "$ODD_STATE"
}

in_odd() { PWAPT_ROOT=$ODD_ROOT PWAPT_STATE=$ODD_STATE "$@"; }

# The world cycle over that Root: a world over a world, a file merged into
# Root and rolled back, every world deleted; and the probe of
# redirect_dir, which mounts in the state directory, said "on" (this
# machine's overlayfs records renamed directories).
odd_cycle() {
	in_odd wcreate A Root && in_odd wcreate B A &&
		in_odd wexec B sh -c "echo b >/etc/odd" &&
		test_equal b "$(in_odd wexec B cat /etc/odd)" &&
		in_odd wdiff B | grep -q "/etc/odd" &&
		in_odd wmerge B A && in_odd wmerge A Root &&
		test_equal b "$(cat "$ODD_ROOT/etc/odd")" &&
		in_odd pwapt rollback && ! test -e "$ODD_ROOT/etc/odd" &&
		in_odd wcreate C Root && in_odd wexec C true &&
		in_odd wdelete C &&
		test_equal Root "$(ls "$ODD_STATE/worlds")" &&
		in_odd pwapt stop-all &&
		test_equal on "$(cat "$ODD_STATE/overlay-redirect")"
}

# strace_wcreate CALLS: wcreate X Root under strace, its calls in $TMP/st.
strace_wcreate() {
	strace -qq -o "$TMP/st" -e trace="$1" env PWAPT_ROOT="$ODD_ROOT" \
		PWAPT_STATE="$ODD_STATE" "$BIN_DIR/wcreate" X Root &&
		in_odd wdelete X
}

test_expect_success 'blanks in the paths of Root and of the state directory' '
	odd_tree "$TMP/a dir/ro ot" "$TMP/a dir/st ate" && odd_cycle
'

test_expect_success 'a tab, a comma, a colon and a backslash, through fsconfig' '
	command -v strace >/dev/null || { echo "# SKIP strace is missing"; return 0; }
	odd_tree "$TMP/c,d:e\\f	g/ro ot" "$TMP/c,d:e\\f	g/st ate" &&
	strace_wcreate fsconfig,move_mount &&
	if grep -q "\"lowerdir+\", .* = -1 EINVAL" "$TMP/st"; then
		echo "# SKIP this kernel has no lowerdir+ (before 6.8)"
		return 0
	fi &&
	grep -q "\"upperdir\", .* = 0" "$TMP/st" &&
	grep -q "^move_mount(.* = 0" "$TMP/st" &&
	odd_cycle
'

test_expect_success 'the same through the one option string of a kernel before 6.8' '
	command -v strace >/dev/null || { echo "# SKIP strace is missing"; return 0; }
	odd_tree "$TMP/h,i:j\\k	l/ro ot" "$TMP/h,i:j\\k	l/st ate" &&
	export PWAPT_FAIL_AT=mount-new-api &&
	strace_wcreate fsopen,mount &&
	! grep -q "fsopen(" "$TMP/st" &&
	grep -q "^mount(\"overlay\", .* = 0" "$TMP/st" &&
	odd_cycle
'

test_expect_success 'the state directory inside Root (a root view), odd characters in both' '
	odd_tree "$TMP/m,n:o\\p q/ro ot" "$TMP/m,n:o\\p q/ro ot/var/lib/pw,a:p\\t" &&
	odd_cycle && test -d "$ODD_STATE/root-view" &&
	in_odd wcreate D Root && in_odd wexec D sh -c "ls /var/lib" &&
	test_equal "" "$(in_odd wexec D ls "/var/lib/pw,a:p\\t")" &&
	in_odd wdelete D && in_odd pwapt stop-all
'

test_expect_success 'the same on the option string of a kernel before 6.8' '
	odd_tree "$TMP/r,s:t\\u v/ro ot" "$TMP/r,s:t\\u v/ro ot/var/lib/pw,a:p\\t" &&
	PWAPT_FAIL_AT=mount-new-api odd_cycle
'

test_expect_success 'a newline in either path is refused, and nothing is made' '
	nl="$TMP/n
l" && mkdir -p "$nl" && cp -a "$BASE" "$nl/root" &&
	test_fails_with 1 "cannot hold a newline" \
		env PWAPT_ROOT="$nl/root" PWAPT_STATE="$TMP/st-nl" wcreate A Root &&
	! test -e "$TMP/st-nl" &&
	test_fails_with 1 "cannot hold a newline" \
		env PWAPT_STATE="$nl/state" wcreate A Root &&
	! test -e "$nl/state" &&
	ln -s "$nl/root" "$TMP/root-link" &&
	test_fails_with 1 "cannot hold a newline .Root is " \
		env PWAPT_ROOT="$TMP/root-link" PWAPT_STATE="$TMP/st-nl2" wcreate A Root &&
	! test -e "$TMP/st-nl2" &&
	ln -s "$nl" "$TMP/via-link" &&
	test_fails_with 1 "cannot hold a newline .the state directory is " \
		env PWAPT_STATE="$TMP/via-link/state" wcreate A Root
'

test_done
