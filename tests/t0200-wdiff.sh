#!/bin/sh
# wdiff: every kind of change, reported exactly, against the parent and
# between any two worlds; conflicts; exclusions; --stat and --json.
. "$(dirname "$0")/lib.sh"
for t in setfacl setfattr setcap mknod mkfifo; do
	command -v $t >/dev/null || skip_all "$t is missing (acl, attr, libcap2-bin)"
done
make_busybox_root
R=$PWAPT_ROOT
# Root's side of the changes below.
mkdir -p "$R/srv/dir" "$R/srv/todir" "$R/srv/tolink" "$R/srv/opaque/sub" "$R/srv/renamed"
for f in modify chmod chown touch delete tofile setuid cap acl xattr; do echo "$f" >"$R/srv/$f"; done
echo keep >"$R/srv/dir/keep"; echo old >"$R/srv/opaque/old"; echo deep >"$R/srv/opaque/sub/deep"
echo r >"$R/srv/renamed/inside"; echo t >"$R/srv/todir/inner"
ln -s target "$R/srv/symlink"; ln -s gone "$R/srv/dellink"
ln -s same "$R/srv/relink"; ln -s own "$R/srv/chownlink"
touch -h -d "2020-01-01" "$R/srv/relink" "$R/srv/chownlink"

W() { echo "$PWAPT_STATE/worlds/W/merged$1"; } # W's tree, from the host

# JSON of wdiff W as {path: change}
changes() {
	wdiff --json "$@" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for c in d["changes"]:
    print(c["change"], c["path"], ",".join(c["what"]))'
}

test_expect_success 'setup: W changes one thing of every kind' '
	wcreate W Root &&
	echo changed >>"$(W /srv/modify)" &&
	chmod 600 "$(W /srv/chmod)" &&
	chown 1234:5678 "$(W /srv/chown)" &&
	touch -d "2001-02-03 04:05:06" "$(W /srv/touch)" &&
	rm "$(W /srv/delete)" "$(W /srv/dellink)" &&
	echo new >"$(W /srv/added)" &&
	mkdir "$(W /srv/newdir)" && echo n >"$(W /srv/newdir/file)" &&
	ln -s elsewhere "$(W /srv/newlink)" &&
	ln -sfn other "$(W /srv/symlink)" &&
	ln -sfn same "$(W /srv/relink)" && chown -h 1234:5678 "$(W /srv/chownlink)" &&
	echo a >"$(W /srv/hard1)" && ln "$(W /srv/hard1)" "$(W /srv/hard2)" &&
	mkfifo "$(W /srv/fifo)" &&
	mknod "$(W /srv/null2)" c 1 3 &&
	chmod 4755 "$(W /srv/setuid)" &&
	setcap cap_net_raw+ep "$(W /srv/cap)" &&
	setfacl -m u:1000:r "$(W /srv/acl)" &&
	setfattr -n user.note -v hello "$(W /srv/xattr)" &&
	rm "$(W /srv/tofile)" && mkdir "$(W /srv/tofile)" &&
	rm -r "$(W /srv/todir)" && echo f >"$(W /srv/todir)" &&
	rm -r "$(W /srv/tolink)" && ln -s x "$(W /srv/tolink)" &&
	rm -r "$(W /srv/opaque)" && mkdir "$(W /srv/opaque)" && echo fresh >"$(W /srv/opaque/fresh)" &&
	mv "$(W /srv/renamed)" "$(W /srv/moved)" &&
	rm -r "$(W /srv/dir)"
'

test_expect_success 'wdiff against the parent reports each change exactly' '
	changes W >"$TMP/got" && cat "$TMP/got" &&
	cat >"$TMP/want" <<-\EOF &&
	M /srv/acl xattrs
	A /srv/added 
	M /srv/cap xattrs
	M /srv/chmod mode
	M /srv/chown owner
	M /srv/chownlink owner
	D /srv/delete 
	D /srv/dellink 
	D /srv/dir 
	D /srv/dir/keep 
	A /srv/fifo 
	A /srv/hard1 
	A /srv/hard2 
	M /srv/modify content,times
	A /srv/moved 
	A /srv/moved/inside 
	A /srv/newdir 
	A /srv/newdir/file 
	A /srv/newlink 
	A /srv/null2 
	A /srv/opaque/fresh 
	D /srv/opaque/old 
	D /srv/opaque/sub 
	D /srv/opaque/sub/deep 
	M /srv/relink times
	D /srv/renamed 
	D /srv/renamed/inside 
	M /srv/setuid mode
	M /srv/symlink times,target
	M /srv/todir type
	D /srv/todir/inner 
	M /srv/tofile type
	M /srv/tolink type
	M /srv/touch times
	M /srv/xattr xattrs
	EOF
	diff -u "$TMP/want" "$TMP/got"
'

test_expect_success 'the plain output is one change a line, sorted, and matches --json' '
	wdiff W | grep -v "^! " >"$TMP/plain" &&
	changes W | cut -d" " -f1,2 >"$TMP/fromjson" &&
	diff -u "$TMP/fromjson" "$TMP/plain" &&
	sort -c -k2 "$TMP/plain"
'

test_expect_success 'a setuid file and a device node the world changed or added are warned, with mode and numbers' '
	wdiff W >"$TMP/out" &&
	grep -qx "! /srv/setuid: setuid root file changed (mode 4755, owner 0, group 0)" "$TMP/out" &&
	grep -qx "! /srv/null2: device node added (char 1:3, mode 0644, owner 0)" "$TMP/out" &&
	test_equal 2 "$(grep -c "^! " "$TMP/out")"
'

# JSON warnings of wdiff "$@", one a line: kind path change mode uid gid
# setuid setgid [type major minor].
special_warnings() {
	"$@" | python3 -c '
import json, sys
for w in json.load(sys.stdin)["warnings"]:
    if w["kind"] in ("setid", "device"):
        f = [w["kind"], w["path"], w["change"], w["mode"], w["uid"], w["gid"], w["setuid"], w["setgid"]]
        if w["kind"] == "device":
            f += [w["type"], w["major"], w["minor"]]
        print(*f)'
}

test_expect_success 'a world that mknods and chmods u+s, g+s: wdiff warns, plain and --json, exit 0; wmerge too (--json as well), unforced' '
	wcreate S Root &&
	wexec S sh -c "mknod /srv/sdz b 8 0 && chmod 660 /srv/sdz && echo x >/srv/suid && chmod 4755 /srv/suid && echo y >/srv/sgid && chown 1000:42 /srv/sgid && chmod 2750 /srv/sgid && echo z >/srv/plain && chmod 755 /srv/plain" &&
	wdiff S >"$TMP/out" &&
	grep -qx "! /srv/sdz: device node added (block 8:0, mode 0660, owner 0)" "$TMP/out" &&
	grep -qx "! /srv/suid: setuid root file added (mode 4755, owner 0, group 0)" "$TMP/out" &&
	grep -qx "! /srv/sgid: setgid file added (mode 2750, owner 1000, group 42)" "$TMP/out" &&
	! grep -q "^! /srv/plain" "$TMP/out" &&
	special_warnings wdiff --json S >"$TMP/got" &&
	cat >"$TMP/want" <<-\EOF &&
	device /srv/sdz added 0660 0 0 False False block 8 0
	setid /srv/sgid added 2750 1000 42 False True
	setid /srv/suid added 4755 0 0 True False
	EOF
	sort "$TMP/got" | diff -u "$TMP/want" - &&
	wmerge --json S Root >"$TMP/merged.json" 2>"$TMP/merged" &&
	grep -qx "! /srv/suid: setuid root file added (mode 4755, owner 0, group 0)" "$TMP/merged" &&
	special_warnings cat "$TMP/merged.json" | sort | diff -u "$TMP/want" - &&
	test -b "$R/srv/sdz" && test -u "$R/srv/suid" &&
	rm "$R/srv/sdz" "$R/srv/suid" "$R/srv/sgid" "$R/srv/plain"
'

test_expect_success 'a copy-up without a change is not a change' '
	wcreate U Root &&
	chmod 644 "$PWAPT_STATE/worlds/U/merged/srv/modify" &&
	test -e "$PWAPT_STATE/worlds/U/upper/srv/modify" &&
	test_no_output wdiff U
'

test_expect_success 'same size, new mtime: the content is compared' '
	echo "modifx" >"$(W /srv/samesize)" && echo "modify" >"$R/srv/samesize" &&
	touch -d "2001-01-01" "$R/srv/samesize" &&
	changes W /srv >/dev/null; changes W | grep "/srv/samesize" >"$TMP/l" &&
	grep -qx "M /srv/samesize content,times" "$TMP/l"
'

test_expect_success 'same size, same mtime, other bytes: still a change (a package rebuilt)' '
	printf "version 1.0\n" >"$R/srv/rebuilt" && touch -d "2020-02-02" "$R/srv/rebuilt" &&
	wcreate V Root &&
	printf "version 1.1\n" >"$TMP/new" && touch -d "2020-02-02" "$TMP/new" &&
	cp -p "$TMP/new" "$PWAPT_STATE/worlds/V/merged/srv/rebuilt.new" &&
	mv "$PWAPT_STATE/worlds/V/merged/srv/rebuilt.new" "$PWAPT_STATE/worlds/V/merged/srv/rebuilt" &&
	test_equal "M /srv/rebuilt content" "$(changes V)" &&
	wmerge V Root && test_equal "version 1.1" "$(cat "$R/srv/rebuilt")" &&
	rm "$R/srv/rebuilt"
'

test_expect_success 'wdiff between any two worlds, either way' '
	wcreate V Root && echo v >"$PWAPT_STATE/worlds/V/merged/srv/added" &&
	wdiff W V >"$TMP/wv" && grep -qx "M /srv/added" "$TMP/wv" &&
	grep -qx "A /srv/newlink" "$TMP/wv" &&
	wdiff V W >"$TMP/vw" && grep -qx "D /srv/newlink" "$TMP/vw" &&
	wdiff Root W >"$TMP/rw" && grep -qx "A /srv/delete" "$TMP/rw" && grep -qx "D /srv/added" "$TMP/rw"
'

test_expect_success 'a grandchild against its parent shows only its own changes' '
	wcreate G W && echo g >"$PWAPT_STATE/worlds/G/merged/srv/g" &&
	test_equal "A /srv/g" "$(wdiff G)" &&
	wdiff G Root | grep -qx "A /srv/added"
'

test_expect_success 'a path Root changed after the world was created is a conflict' '
	sleep 0.05 && echo root-changed >>"$R/srv/modify" &&
	{ wdiff W >"$TMP/out"; test_equal 3 $?; } &&
	grep -qx "! /srv/modify: changed in Root after W was created" "$TMP/out" &&
	! grep -q "^! /srv/added" "$TMP/out" && ! grep -q "^! /srv/chmod" "$TMP/out" &&
	wdiff --json W | python3 -c "
import json, sys
c = {x[\"path\"]: x for x in json.load(sys.stdin)[\"changes\"]}
assert c[\"/srv/modify\"][\"conflict\"] and not c[\"/srv/added\"][\"conflict\"]"
'

test_expect_success 'the same change on both sides, at different times, is no conflict' '
	echo same >"$R/srv/both" && wcreate S Root &&
	echo "same, new" >"$PWAPT_STATE/worlds/S/merged/srv/both" &&
	sleep 0.05 && echo "same, new" >"$R/srv/both" &&
	test_equal "M /srv/both times" "$(changes S)" &&
	wdiff S >"$TMP/out" && ! grep -q "^!" "$TMP/out" &&
	echo "other" >"$R/srv/both" &&
	{ wdiff S >"$TMP/out"; test_equal 3 $?; } &&
	grep -qx "! /srv/both: changed in Root after S was created" "$TMP/out" &&
	wdelete S && rm "$R/srv/both"
'

# A hard link the world added is a copy-up of Root's file under a path
# Root never had: where Root replaced the file since, the conflict says
# so, not "deleted there".
test_expect_success 'a hard link the world added to a file Root replaced since: a conflict that says what happened' '
	mkdir "$R/srv/hl" && echo x >"$R/srv/hl/x" && wcreate H Root &&
	T="$PWAPT_STATE/worlds/H/merged/srv/hl" && ln "$T/x" "$T/y" &&
	sleep 0.05 && echo new >"$R/srv/hl/tmp" && mv "$R/srv/hl/tmp" "$R/srv/hl/x" &&
	{ wdiff H >"$TMP/out"; test_equal 3 $?; } &&
	grep -qx "! /srv/hl/x: changed in Root after H was created" "$TMP/out" &&
	grep -qx "! /srv/hl/y: changed in Root after H was created: a hard link H made to /srv/hl/x, which Root replaced since" "$TMP/out" &&
	test_lacks "deleted there" cat "$TMP/out" &&
	wdelete H && rm -r "$R/srv/hl"
'

test_expect_success 'files of the world machinery are excluded unless --all' '
	wcreate X Root && echo ls >"$PWAPT_STATE/worlds/X/merged/root/.ash_history" &&
	test_no_output wdiff X &&
	test_equal "A /root/.ash_history" "$(wdiff --all X)"
'

test_expect_success 'wdiff --stat counts changes and bytes' '
	wcreate S Root && head -c 1000 /dev/zero >"$PWAPT_STATE/worlds/S/merged/srv/k" &&
	rm "$PWAPT_STATE/worlds/S/merged/srv/delete" &&
	test_equal "1 added (1000 bytes), 0 modified (0 bytes), 1 deleted (7 bytes)" "$(wdiff --stat S)"
'

test_expect_success 'wdiff sees changes made on separate file systems' '
	mkdir "$TMP/fs" && truncate -s 32M "$TMP/fs.img" && mkfs.ext4 -q -F "$TMP/fs.img" &&
	mkdir -p "$R/data" && mount -o loop "$TMP/fs.img" "$R/data" && echo d >"$R/data/f" &&
	wcreate F Root && echo x >>"$PWAPT_STATE/worlds/F/merged/data/f" &&
	test_equal "M /data/f" "$(wdiff F)"
'

test_expect_success 'bad input: unknown worlds, Root without OTHER, a world against itself' '
	test_fails_with 1 "no world named .nope." wdiff nope &&
	test_fails_with 1 "no world named .nope." wdiff W nope &&
	test_fails_with 1 "Root has no parent" wdiff Root &&
	test_fails_with 1 "compared with itself" wdiff W W &&
	test_fails_with 2 "usage: wdiff" wdiff &&
	test_fails_with 2 "usage: wdiff" wdiff A B C
'

test_done
