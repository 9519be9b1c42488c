#!/bin/sh
# Nesting to overlayfs' limit of lower layers, and a clear error beyond it.
# Slow (hundreds of containers): run by `make check` with PWAPT_TEST_SLOW=1,
# as CI does.
. "$(dirname "$0")/../lib.sh"
make_busybox_root

test_expect_success 'worlds nest until overlayfs refuses, with its reason' '
	prev=Root i=0 &&
	while [ $i -lt 2000 ]; do
		i=$((i + 1))
		wcreate L$i $prev 2>"$TMP/err" || break
		wexec L$i sh -c "echo $i >/etc/level-$i" || exit 1
		prev=L$i
		# Containers are not what is measured here; keep memory low.
		[ $((i % 100)) = 0 ] && pwapt stop-all
	done &&
	cat "$TMP/err" &&
	echo "deepest: $prev" &&
	test "$i" -gt 100 &&
	grep -Eq "cannot create .L$i.: .*too many lower" "$TMP/err" &&
	test_lacks "^L$i " wlist &&
	echo "$prev" >"$TMP/deepest"
'

test_expect_success 'the deepest world sees every layer' '
	deepest=$(cat "$TMP/deepest") && n=${deepest#L} &&
	test_equal 1 "$(wexec $deepest cat /etc/level-1)" &&
	test_equal $n "$(wexec $deepest cat /etc/level-$n)" &&
	test_equal "This is the test Root." "$(wexec $deepest cat /etc/motd)"
'

test_expect_success 'the whole chain is deleted in one call' '
	n=$(cat "$TMP/deepest") && n=${n#L} &&
	wdelete $(seq -f "L%g" 1 $n) &&
	test_equal "Root" "$(wlist --json | python3 -c "import json,sys; print(\" \".join(w[\"name\"] for w in json.load(sys.stdin)))")" &&
	test -z "$(mounts_below "$PWAPT_STATE/worlds")"
'

test_done
