#!/bin/sh
# Root and state directories whose paths hold blanks and the characters
# overlayfs' options and fstab(5) lines take for separators or escapes: a
# world over them works, on the new mount API (fsconfig) and on the one
# string a kernel before 6.8 takes (Debian 12's 6.1); a newline, which no
# line of liblxc's configuration or pwapt's records can hold, is refused.
. "$(dirname "$0")/lib.sh"
make_busybox_root
BASE=$PWAPT_ROOT

# in_odd DIR CMD...: CMD with Root and state below $TMP/DIR.
in_odd() {
	_d=$1
	shift
	PWAPT_ROOT="$TMP/$_d/ro ot" PWAPT_STATE="$TMP/$_d/st ate" "$@"
}

odd_tree() { # DIR: a copy of the test's Root below $TMP/DIR
	mkdir -p "$TMP/$1/st ate" && cp -a "$BASE" "$TMP/$1/ro ot"
}

# The world cycle in a Root below DIR: a world over a world, a file merged
# into Root and rolled back, every world deleted; and the probe of
# redirect_dir, which mounts in the state directory, said "on" (this
# machine's overlayfs records renamed directories).
odd_cycle() {
	in_odd "$1" wcreate A Root &&
		in_odd "$1" wcreate B A &&
		in_odd "$1" wexec B sh -c "echo b >/etc/odd" &&
		test_equal b "$(in_odd "$1" wexec B cat /etc/odd)" &&
		in_odd "$1" wdiff B | grep -q "/etc/odd" &&
		in_odd "$1" wmerge B A && in_odd "$1" wmerge A Root &&
		test_equal b "$(cat "$TMP/$1/ro ot/etc/odd")" &&
		in_odd "$1" pwapt rollback &&
		! test -e "$TMP/$1/ro ot/etc/odd" &&
		in_odd "$1" wcreate C Root && in_odd "$1" wexec C true &&
		in_odd "$1" wdelete C &&
		test_equal Root "$(ls "$TMP/$1/st ate/worlds")" &&
		in_odd "$1" pwapt stop-all &&
		test_equal on "$(cat "$TMP/$1/st ate/overlay-redirect")"
}

test_expect_success 'blanks in the paths of Root and of the state directory' '
	odd_tree "a dir" && odd_cycle "a dir"
'

test_expect_success 'a tab, a comma, a colon and a backslash, through fsconfig' '
	odd_tree "c,d:e\\f	g" &&
	strace -qq -o "$TMP/st" -e trace=fsopen \
		env PWAPT_ROOT="$TMP/c,d:e\\f	g/ro ot" PWAPT_STATE="$TMP/c,d:e\\f	g/st ate" \
		"$BIN_DIR/wcreate" X Root &&
	grep -q "fsopen(\"overlay\"" "$TMP/st" &&
	in_odd "c,d:e\\f	g" wdelete X &&
	odd_cycle "c,d:e\\f	g"
'

test_expect_success 'the same through the one option string of a kernel before 6.8' '
	odd_tree "h,i:j\\k	l" &&
	export PWAPT_FAIL_AT=mount-new-api &&
	strace -qq -o "$TMP/st" -e trace=fsopen,mount \
		env PWAPT_ROOT="$TMP/h,i:j\\k	l/ro ot" PWAPT_STATE="$TMP/h,i:j\\k	l/st ate" \
		"$BIN_DIR/wcreate" X Root &&
	! grep -q "fsopen(" "$TMP/st" && grep -q "mount(\"overlay\"" "$TMP/st" &&
	in_odd "h,i:j\\k	l" wdelete X &&
	odd_cycle "h,i:j\\k	l"
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
	ln -s "$nl" "$TMP/via-link" &&
	test_fails_with 1 "cannot hold a newline" \
		env PWAPT_STATE="$TMP/via-link/state" wcreate A Root &&
	test_lacks "^A " wlist
'

test_done
