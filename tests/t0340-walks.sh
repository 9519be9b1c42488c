#!/bin/sh
# Walks of wdiff and wmerge: any depth and path length, few descriptors,
# never across a mount, never an error taken for "absent"; API file
# systems never merged; modify/delete and delete/modify are conflicts.
. "$(dirname "$0")/lib.sh"
command -v bash >/dev/null || skip_all "bash is missing (cd beyond PATH_MAX)"
make_busybox_root
R=$PWAPT_ROOT
mkdir -p "$R/srv"
T() { echo "$PWAPT_STATE/worlds/$1/merged"; } # a world's tree, from the host
long=$(printf "%0200d" 0)

# deep DIR N NAME: N nested directories NAME below DIR, a file "f" holding
# "bottom" at the bottom; made one cd at a time (dash's cd stops at
# PATH_MAX, mkdir -p of the whole path too).
deep() {
	bash -c 'cd "$1" && for i in $(seq "$2"); do mkdir "$3" && cd "$3" || exit 1; done &&
		echo bottom >f' - "$@"
}

# bottom DIR N NAME: what the file at the bottom holds.
bottom() {
	bash -c 'cd "$1" && for i in $(seq "$2"); do cd "$3" || exit 1; done && cat f' - "$@"
}

test_expect_success 'a path of 6000 bytes is listed and merged whole' '
	wcreate L Root && deep "$(T L)/srv" 30 "$long" &&
	bottom "$(T L)/srv" 30 "$long" >/dev/null &&
	wdiff L >"$TMP/d" &&
	test_equal 31 "$(grep -c "^A /srv/$long" "$TMP/d")" &&
	test "$(grep "/f$" "$TMP/d" | wc -c)" -gt 6000 &&
	wmerge L Root &&
	test_equal bottom "$(bottom "$R/srv" 30 "$long")" &&
	! test -e "$PWAPT_STATE/worlds/L" &&
	pwapt rollback && ! test -e "$R/srv/$long"
'

test_expect_success 'a deep tree with few descriptors: wdiff lists it whole' '
	wcreate D Root && deep "$(T D)/srv" 400 d &&
	(ulimit -n 30 && wdiff D) >"$TMP/d" &&
	test_equal 401 "$(grep -c "^A /srv/d" "$TMP/d")"
'

test_expect_success 'with few descriptors a merge is whole, or fails with DST unchanged' '
	(ulimit -n 30 && wmerge D Root) 2>"$TMP/err"; rc=$? &&
	cat "$TMP/err" &&
	if [ $rc = 0 ]; then
		test_equal bottom "$(bottom "$R/srv" 400 d)" &&
		! test -e "$PWAPT_STATE/worlds/D" && pwapt rollback
	else
		test -s "$TMP/err" && ! test -e "$R/srv/d" &&
		test -d "$PWAPT_STATE/worlds/D" && wdelete D
	fi &&
	! test -e "$R/srv/d"
'

test_expect_success 'at any descriptor limit: all listed and merged, or an error and nothing' '
	wcreate F Root && deep "$(T F)/srv" 100 f &&
	for n in 10 12 14 16 18 20 24 28; do
		(ulimit -n $n && exec wdiff F) >"$TMP/d" 2>"$TMP/e"; rc=$?
		echo "wdiff, $n descriptors: exit $rc, $(grep -c "^A" "$TMP/d") paths; $(cat "$TMP/e")"
		if [ $rc = 0 ]; then test_equal 101 "$(grep -c "^A /srv/f" "$TMP/d")" || return 1
		else test -s "$TMP/e" || return 1; fi
	done &&
	for n in 10 12 14 16 18 20 24 28; do
		(ulimit -n $n && exec wmerge F Root) >"$TMP/d" 2>"$TMP/e"; rc=$?
		echo "wmerge, $n descriptors: exit $rc; $(cat "$TMP/e")"
		if [ $rc = 0 ]; then
			test_equal bottom "$(bottom "$R/srv" 100 f)" &&
				! test -e "$PWAPT_STATE/worlds/F" && break
			return 1
		fi
		test -s "$TMP/e" && ! test -e "$R/srv/f" && test -d "$PWAPT_STATE/worlds/F" || return 1
	done &&
	! test -e "$PWAPT_STATE/worlds/F" && pwapt rollback
'

test_expect_success 'a deep tree saved by copy (DST a world): whole, or a clean failure' '
	wcreate P Root && deep "$(T P)/srv" 60 d && wcreate Q P &&
	rm -r "$(T Q)/srv/d" && test_equal "D /srv/d" "$(wdiff Q | head -1)" &&
	(ulimit -n 30 && wmerge Q P) 2>"$TMP/err"; rc=$? &&
	cat "$TMP/err" &&
	if [ $rc = 0 ]; then
		! test -e "$(T P)/srv/d" && pwapt rollback P
	else
		test -s "$TMP/err" && test -d "$PWAPT_STATE/worlds/Q"
	fi &&
	test_equal bottom "$(bottom "$(T P)/srv" 60 d)" &&
	{ ! test -d "$PWAPT_STATE/worlds/Q" || wdelete Q; } && wdelete P
'

# inode DIR N NAME FILE: the inode number of FILE at the bottom.
inode() {
	bash -c 'cd "$1" && for i in $(seq "$2"); do cd "$3" || exit 1; done && stat -c %i "$4"' - "$@"
}

# A new name in the world for a file of Root's (overlayfs copies the file
# up to link it) stays a link to Root's file: the merge finds the file's
# names by a walk of the layer, which must reach the bottom of any tree.
# 40 descriptors: liblxc (the kill of H) needs about 30; the walk's
# need does not grow with the depth (a walk by recursion needs 400).
test_expect_success 'a hard link at the bottom of a deep tree, few descriptors: merged as a link' '
	echo linked >"$R/srv/linked" && wcreate H Root && deep "$(T H)/srv" 400 d &&
	bash -c "cd \"\$1/srv\" && for i in \$(seq 400); do cd d || exit 1; done && ln \"\$1/srv/linked\" link" - "$(T H)" &&
	test_equal "$(stat -c %i "$(T H)/srv/linked")" "$(inode "$(T H)/srv" 400 d link)" &&
	(ulimit -n 40 && exec wmerge H Root) &&
	test_equal bottom "$(bottom "$R/srv" 400 d)" &&
	test_equal "$(stat -c %i "$R/srv/linked")" "$(inode "$R/srv" 400 d link)" &&
	pwapt rollback && ! test -e "$R/srv/d" && test_equal linked "$(cat "$R/srv/linked")"
'

test_expect_success 'a world that unmounts its /run and /dev: nothing of them reaches Root' '
	wcreate U Root &&
	wexec U sh -c "umount -l /run && echo x >/run/x && umount -l /dev && mkdir -p /dev/y && echo y >/dev/y/z" &&
	test -e "$(T U)/run/x" && test -e "$(T U)/dev/y/z" &&
	echo ok >"$(T U)/srv/ok" &&
	test_equal "A /srv/ok" "$(wdiff U)" &&
	wdiff --all U >"$TMP/d" && grep -qx "A /run/x" "$TMP/d" &&
	wdiff --json U | python3 -c "
import json, sys
c = {x[\"path\"]: x for x in json.load(sys.stdin)[\"changes\"]}
assert \"/run/x\" not in c and \"/dev/y/z\" not in c, c" &&
	wmerge U Root &&
	test_equal ok "$(cat "$R/srv/ok")" &&
	! test -e "$R/run/x" && ! test -e "$R/dev/y"
'

test_expect_success 'a mount below a directory in Root: the world never merges into it' '
	mkdir -p "$R/srv/mnt" "$TMP/other" && echo theirs >"$TMP/other/file" &&
	wcreate M Root &&
	mount --bind "$TMP/other" "$R/srv/mnt" &&
	echo mine >"$(T M)/srv/mnt/file" && echo mine >"$(T M)/srv/mnt/new" &&
	wdiff M >"$TMP/d"; rc=$?; cat "$TMP/d" &&
	test_equal 0 $rc && test -z "$(cat "$TMP/d")" &&
	wmerge M Root &&
	test_equal theirs "$(cat "$R/srv/mnt/file")" && ! test -e "$R/srv/mnt/new" &&
	umount "$R/srv/mnt" && ! test -e "$R/srv/mnt/new"
'

test_expect_success 'a mount point in Root that the world deleted: not listed, never touched' '
	mkdir -p "$R/srv/mp" "$TMP/other2" && echo theirs >"$TMP/other2/file" &&
	wcreate P Root &&
	mount --bind "$TMP/other2" "$R/srv/mp" &&
	rmdir "$(T P)/srv/mp" && echo x >"$(T P)/srv/px" &&
	wdiff P >"$TMP/d"; rc=$?; cat "$TMP/d" &&
	test_equal 0 $rc && test_equal "A /srv/px" "$(cat "$TMP/d")" &&
	wdiff --json --all P | python3 -c "
import json, sys
c = {x[\"path\"]: x for x in json.load(sys.stdin)[\"changes\"]}
assert c[\"/srv/mp\"][\"excluded\"], c" &&
	wmerge P Root &&
	test_equal x "$(cat "$R/srv/px")" && mountpoint -q "$R/srv/mp" &&
	test_equal theirs "$(cat "$R/srv/mp/file")" &&
	umount "$R/srv/mp" && test -d "$R/srv/mp"
'

# wdiff stats the files a world wrote in its own layer, not through the
# overlay (diff_side_load_a): what only the world's tree shows must still
# tell.  A file mounted on there, from the host, is on another mount.
test_expect_success 'a file mounted on in a world'"'"'s tree, below a directory Root lacks: on another mount, never merged' '
	wcreate F Root &&
	mkdir "$(T F)/srv/fnew" && echo mine >"$(T F)/srv/fnew/f" &&
	echo x >"$(T F)/srv/fnew/g" && echo other >"$TMP/ffile" &&
	mount --bind "$TMP/ffile" "$(T F)/srv/fnew/f" &&
	wdiff --json --all F >"$TMP/j"; rc=$?
	# The same where the kernel cannot list a mount'"'"'s mounts (before 6.8):
	# read from the mount table.
	PWAPT_FAIL_AT=listmount wdiff --json --all F >"$TMP/j2"; rc2=$?
	umount "$(T F)/srv/fnew/f" && cat "$TMP/j" &&
	{ test $rc = 0 || test $rc = 3; } && test_equal $rc $rc2 &&
	for j in "$TMP/j" "$TMP/j2"; do
		python3 -c "
import json, sys
c = {x[\"path\"]: x for x in json.load(open(sys.argv[1]))[\"changes\"]}
assert c[\"/srv/fnew/f\"][\"excluded\"], c
assert \"another mount\" in c[\"/srv/fnew/f\"][\"note\"], c
assert not c[\"/srv/fnew/g\"][\"excluded\"], c" "$j" || return 1
	done
'

# A whiteout of the world's layer (a file it deleted) in a directory Root
# removed since: the world's tree shows nothing there, nor does wdiff.
test_expect_success 'a file the world deleted in a directory Root removed since: no change, no device' '
	mkdir -p "$R/srv/wo" && echo x >"$R/srv/wo/gone" && echo y >"$R/srv/wo/kept" &&
	wcreate WO Root && rm "$(T WO)/srv/wo/gone" && echo n >"$(T WO)/srv/wo/new" &&
	test -c "$PWAPT_STATE/worlds/WO/upper/srv/wo/gone" &&
	rm -r "$R/srv/wo" &&
	wdiff WO >"$TMP/d"; rc=$?; cat "$TMP/d" && test_equal 3 $rc &&
	test_equal "A /srv/wo
A /srv/wo/new" "$(grep "^A" "$TMP/d")" && test_lacks gone cat "$TMP/d"
'

test_expect_success 'modify/delete: a file the world changed and Root deleted is a conflict' '
	echo one >"$R/srv/md" && echo two >"$R/srv/moved" &&
	mkdir "$R/srv/mdd" && echo x >"$R/srv/mdd/x" && wcreate C Root &&
	echo world >>"$(T C)/srv/md" && mv "$(T C)/srv/moved" "$(T C)/srv/moved-to" &&
	echo new >"$(T C)/srv/mdd/new" && wexec C sh -c "echo new >/srv/new" &&
	sleep 0.05 && rm "$R/srv/md" && rm -r "$R/srv/mdd" && echo r >"$R/srv/root-new" &&
	{ wdiff C >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "! /srv/md: changed in Root after C was created: deleted there, changed in C" "$TMP/d" &&
	grep -qx "! /srv/mdd: changed in Root after C was created: deleted there, changed in C" "$TMP/d" &&
	test_equal 2 "$(grep -c "^!" "$TMP/d")" &&
	test_fails_with 3 "2 paths changed in .Root. after .C. was created" wmerge C Root &&
	! test -e "$R/srv/md" &&
	wmerge --force C Root && test_equal "one
world" "$(cat "$R/srv/md")"
'

test_expect_success 'delete/modify: a file the world deleted and Root changed is a conflict' '
	echo one >"$R/srv/dm" && mkdir -p "$R/srv/dmdir" && echo x >"$R/srv/dmdir/f" &&
	wcreate E Root &&
	rm "$(T E)/srv/dm" && rm -r "$(T E)/srv/dmdir" &&
	sleep 0.05 && echo root >>"$R/srv/dm" && echo root >>"$R/srv/dmdir/f" &&
	{ wdiff E >"$TMP/d"; test_equal 3 $?; } && cat "$TMP/d" &&
	grep -qx "! /srv/dm: changed in Root after E was created: changed there, deleted in E" "$TMP/d" &&
	grep -qx "! /srv/dmdir/f: changed in Root after E was created: changed there, deleted in E" "$TMP/d" &&
	test_fails_with 3 "2 paths changed in .Root. after .E. was created" wmerge E Root &&
	test -e "$R/srv/dm" && test -e "$R/srv/dmdir/f" &&
	wmerge --force E Root && ! test -e "$R/srv/dm" && ! test -e "$R/srv/dmdir"
'

# The state directory on a file system of its own (as with a separate
# /var): a merge's saves and a rollback's restores are copies, made by a
# walk of their own.
cleanup_worlds
mkdir "$TMP/statefs" && mount -t tmpfs -o size=256m,mode=0700 pwapt-state "$TMP/statefs"
PWAPT_STATE=$TMP/statefs/state
export PWAPT_STATE

test_expect_success 'a deep tree saved by copy, few descriptors: saved whole or a clean failure, rolled back whole, known to a sibling' '
	mkdir -p "$PWAPT_STATE" && test "$(stat -c %d "$R")" != "$(stat -c %d "$PWAPT_STATE")" &&
	deep "$R/srv" 400 c && bash -c "cd \"\$1\" && for i in \$(seq 200); do cd c || exit 1; done &&
		chmod 0750 c && setfattr -n user.note -v deep c && touch -d @1000000000 c" - "$R/srv" &&
	wcreate K Root && bash -c "cd \"\$1\" && for i in \$(seq 400); do cd c || exit 1; done &&
		echo K >>f" - "$(T K)/srv" &&
	wcreate S Root && rm -r "$(T S)/srv/c" &&
	wdiff S >"$TMP/d" && test_equal "D /srv/c" "$(sed -n 1p "$TMP/d")" &&
	for n in 10 12 14 16 18 20 24 28; do
		(ulimit -n $n && exec wmerge S Root) >"$TMP/d" 2>"$TMP/e"; rc=$?
		echo "wmerge, $n descriptors: exit $rc; $(cat "$TMP/e")"
		[ $rc = 0 ] && break
		test -s "$TMP/e" && test_equal bottom "$(bottom "$R/srv" 400 c)" &&
			test -d "$PWAPT_STATE/worlds/S" || return 1
	done &&
	test_equal 0 $rc && ! test -e "$R/srv/c" &&
	(ulimit -n 20 && exec pwapt rollback) &&
	test_equal bottom "$(bottom "$R/srv" 400 c)" &&
	bash -c "cd \"\$1\" && for i in \$(seq 200); do cd c || exit 1; done &&
		stat -c \"%a %Y\" c && getfattr --only-values -n user.note c" - "$R/srv" >"$TMP/meta" &&
	test_equal "750 1000000000
deep" "$(cat "$TMP/meta")" &&
	# K, made before the merge, knows the ctimes the roll-back left, down
	# to the bottom: its own change there is no conflict.
	wdiff K >"$TMP/d" && cat "$TMP/d" && test_lacks "^!" cat "$TMP/d" &&
	test_equal 1 "$(grep -c "^M /srv/c/.*/f$" "$TMP/d")"
'
cleanup_worlds
umount -l "$TMP/statefs"

test_done
