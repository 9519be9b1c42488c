# Shared by the merge tests (t0300, t0306, t0307), sourced after lib.sh
# once R is Root's tree.

# A fresh Root with a /srv that the changes below work on.
fresh_root() {
	cleanup_worlds
	rm -rf "$R" && make_busybox_root
	mkdir -p "$R/srv/dir/sub" "$R/srv/todir" "$R/srv/tolink" "$R/srv/opaque/sub" "$R/srv/renamed"
	for f in modify chmod chown touch delete tofile setuid cap acl xattr; do echo "$f" >"$R/srv/$f"; done
	echo keep >"$R/srv/dir/keep"; echo deep >"$R/srv/dir/sub/deep"
	echo old >"$R/srv/opaque/old"; echo deep >"$R/srv/opaque/sub/deep"
	echo r >"$R/srv/renamed/inside"; echo t >"$R/srv/todir/inner"
	ln -s target "$R/srv/symlink"; ln -s gone "$R/srv/dellink"
	ln -s same "$R/srv/relink"; ln -s own "$R/srv/chownlink"
	touch -d "2020-01-01" "$R/srv/modify"
	touch -h -d "2020-01-01" "$R/srv/relink" "$R/srv/chownlink"
}

# Every kind of change, made in world $1 through its tree.
change_everything() {
	T="$PWAPT_STATE/worlds/$1/merged/srv"
	echo changed >>"$T/modify" &&
	chmod 600 "$T/chmod" && chown 1234:5678 "$T/chown" &&
	touch -d "2001-02-03 04:05:06" "$T/touch" &&
	rm "$T/delete" "$T/dellink" &&
	echo new >"$T/added" && mkdir "$T/newdir" && echo n >"$T/newdir/file" &&
	ln -s elsewhere "$T/newlink" && ln -sfn other "$T/symlink" &&
	ln -sfn same "$T/relink" && chown -h 1234:5678 "$T/chownlink" &&
	echo a >"$T/hard1" && ln "$T/hard1" "$T/hard2" &&
	mkfifo "$T/fifo" && mknod "$T/null2" c 1 3 &&
	chmod 4755 "$T/setuid" && setcap cap_net_raw+ep "$T/cap" &&
	setfacl -m u:1000:r "$T/acl" && setfattr -n user.note -v hello "$T/xattr" &&
	rm "$T/tofile" && mkdir "$T/tofile" && echo in >"$T/tofile/in" &&
	rm -r "$T/todir" && echo f >"$T/todir" &&
	rm -r "$T/tolink" && ln -s x "$T/tolink" &&
	rm -r "$T/opaque" && mkdir "$T/opaque" && echo fresh >"$T/opaque/fresh" &&
	mv "$T/renamed" "$T/moved" &&
	rm -r "$T/dir"
}

# Whether world $1 is frozen (or freezing): by pwapt, through its freezer
# file, which lxc-info knows nothing of, or by liblxc.
world_frozen() {
	_f=$(freezer_file "$1") && [ "$(freezer_state "$_f")" != THAWED ]
}

# What a reboot leaves, made without a pwapt command (which would recover).
# A world a killed merge left frozen is thawed first (a frozen process of
# cgroup v1 dies only once thawed), through its freezer file, as pwapt
# froze it (lxc-unfreeze knows nothing of that), and by liblxc.
reboot_quietly() {
	for w in $(ls "$PWAPT_STATE/worlds"); do
		lxc-unfreeze -P "$PWAPT_STATE/worlds" -n "$w" 2>/dev/null
		if _f=$(freezer_file "$w"); then
			case $_f in *.state) echo THAWED ;; *) echo 0 ;; esac >"$_f"
		fi
		pid=$(lxc-info -P "$PWAPT_STATE/worlds" -n "$w" -pH 2>/dev/null)
		[ -z "$pid" ] || kill -9 "$pid" || return 1
	done
	wait_for 10 "! pgrep -f 'lxc monitor\] $PWAPT_STATE/worlds' >/dev/null" &&
	for m in $(mounts_below "$PWAPT_STATE"); do umount -l "$m" || return 1; done
}

# A merge of world C into world P (on Root) killed once done, then $1 (true,
# or reboot_quietly): recovered, its rollback restores P exactly.
child_merge_killed_done() {
	fresh_root && wcreate P Root && wcreate C P && change_everything C &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" >"$TMP/before" &&
	{ PWAPT_CRASH_AT=merge-done wmerge C P; test_equal 137 $?; } &&
	"$1" &&
	pwapt recover | grep -q "recovered an interrupted merge" &&
	pwapt rollback P &&
	manifest "$PWAPT_STATE/worlds/P/merged/srv" | diff -u "$TMP/before" -
}
