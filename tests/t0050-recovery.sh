#!/bin/sh
# Surviving the real world: bad names, dead containers, reboots, commands
# killed halfway, concurrent commands.
. "$(dirname "$0")/lib.sh"
make_busybox_root

no_leftovers() { # NAME: nothing of world NAME remains, or says what does
	_m=$(mounts_below "$PWAPT_STATE/worlds/$1")
	[ -z "$_m" ] || { echo "mounts of $1 left: $_m"; return 1; }
	! test -e "$PWAPT_STATE/worlds/$1" || {
		echo "$PWAPT_STATE/worlds/$1 left:" && ls -la "$PWAPT_STATE/worlds/$1"
		return 1
	}
	# A merged world's container is killed (container_stop with grace
	# < 0), and liblxc's monitor tears it down after: it may take a while
	# on a loaded machine, never forever.
	wait_for 30 "test_exit 1 pgrep -f \"lxc monitor\\] \$PWAPT_STATE/worlds $1\\\$\" >/dev/null"
}

test_expect_success 'an existing name is refused and the world is untouched' '
	wcreate A Root && wexec A sh -c "echo keep >/etc/a-file" &&
	test_fails_with 1 "a world named .A. exists already" wcreate A Root &&
	test_fails_with 1 "a world named .Root. exists already" wcreate Root A &&
	test_equal keep "$(wexec A cat /etc/a-file)"
'

test_expect_success 'an unknown parent is refused and leaves nothing' '
	test_fails_with 1 "no world named .ghost." wcreate B A ghost &&
	no_leftovers B
'

test_expect_success 'invalid names are refused' '
	for n in "" "_x" ".hidden" "a/b" ".." "a b" "$(printf "%065d" 0)"; do
		test_fails_with 1 "invalid world name" wcreate "$n" Root || exit 1
	done &&
	test_fails_with 2 "usage: wcreate" wcreate onlyname &&
	test_fails_with 2 "invalid option" wcreate -x Root
'

test_expect_success 'a world whose container died is brought back by the next command' '
	kill -9 "$(init_pid A)" &&
	for i in $(seq 50); do wlist | grep -Eq "^A .* stopped" && break; sleep 0.1; done &&
	wlist | grep -Eq "^A +Root +stopped" &&
	test_equal keep "$(wexec A cat /etc/a-file)" &&
	wlist | grep -Eq "^A +Root +running"
'

test_expect_success 'after a reboot worlds are unmounted and the next command brings them back' '
	wcreate A2 A && wexec A2 sh -c "echo nested >/etc/a2-file" &&
	simulate_reboot &&
	wlist >"$TMP/l" && cat "$TMP/l" &&
	grep -Eq "^A +Root +unmounted" "$TMP/l" &&
	grep -Eq "^A2 +A +unmounted" "$TMP/l" &&
	test_equal nested "$(wexec A2 cat /etc/a2-file)" &&
	test_equal keep "$(wexec A2 cat /etc/a-file)" &&
	wlist | grep -Eq "^A2 +A +running"
'

# A read needs the tree only: a world's container is started by what runs
# in it, not by a diff (a transaction's world, stopped to be made durable,
# was started again only for its report and merge, which killed it).
test_expect_success 'a read after a reboot mounts the tree and starts nothing: wdiff leaves the world stopped' '
	simulate_reboot &&
	wdiff A2 A >"$TMP/d" && grep -q "^A /etc/a2-file$" "$TMP/d" &&
	wlist >"$TMP/l" && cat "$TMP/l" &&
	grep -Eq "^A +Root +stopped" "$TMP/l" &&
	grep -Eq "^A2 +A +stopped" "$TMP/l" &&
	test_equal nested "$(wexec A2 cat /etc/a2-file)" &&
	wlist | grep -Eq "^A2 +A +running"
'

test_expect_success 'start-all brings every world back, as the boot unit does' '
	simulate_reboot &&
	pwapt start-all &&
	wlist >"$TMP/l" && cat "$TMP/l" &&
	test "$(grep -c " running " "$TMP/l")" = 2 &&
	grep -Eq "^A +Root +running" "$TMP/l"
'

test_expect_success 'stop-all stops and unmounts all, keeping every world' '
	pwapt stop-all &&
	test -z "$(mounts_below "$PWAPT_STATE")" &&
	wlist | grep -Eq "^A2 +A +unmounted" &&
	test_equal nested "$(wexec A2 cat /etc/a2-file)"
'

for point in create-mark create-dir create-meta create-mount create-start; do
	test_expect_success "wcreate killed at $point leaves nothing the next command does not clean" "
		{ PWAPT_CRASH_AT=$point wcreate K Root; test_equal 137 \$?; } &&
		wlist >\"\$TMP/l\" &&
		! grep -q '^K ' \"\$TMP/l\" &&
		no_leftovers K &&
		test -z \"\$(ls \"\$PWAPT_STATE/trash\")\" &&
		wcreate K Root && wdelete K
	"
done

test_expect_success 'a half-made world whose marker a power loss took: the first command after the boot cleans it' '
	{ PWAPT_CRASH_AT=create-meta wcreate K Root; test_equal 137 $?; } &&
	test -e "$PWAPT_STATE/creating/K" &&
	rm "$PWAPT_STATE/creating/K" &&
	echo another-boot >"$PWAPT_STATE/boot" &&
	wlist >"$TMP/l" &&
	! grep -q "^K " "$TMP/l" &&
	no_leftovers K &&
	test_equal "$(cat /proc/sys/kernel/random/boot_id)" "$(cat "$PWAPT_STATE/boot")" &&
	wcreate K Root && test ! -e "$PWAPT_STATE/creating/K" && wdelete K
'

test_expect_success 'a half-made world whose unsynced metadata a power loss emptied: the first command after the boot cleans it' '
	{ PWAPT_CRASH_AT=create-start wcreate K Root; test_equal 137 $?; } &&
	rm "$PWAPT_STATE/creating/K" &&
	: >"$PWAPT_STATE/worlds/K/world" &&
	echo another-boot >"$PWAPT_STATE/boot" &&
	wlist >"$TMP/l" &&
	! grep -q "^K " "$TMP/l" &&
	no_leftovers K &&
	wcreate K Root && wdelete K
'

test_expect_success 'wcreate killed after it finished leaves a complete world' '
	{ PWAPT_CRASH_AT=create-ready wcreate K Root; test_equal 137 $?; } &&
	wlist | grep -Eq "^K +Root +running" &&
	wexec K true && wdelete K
'

for point in delete-stop delete-unmount; do
	test_expect_success "wdelete killed at $point leaves a world that works or can be deleted" "
		wcreate K Root &&
		{ PWAPT_CRASH_AT=$point wdelete K; test_equal 137 \$?; } &&
		wexec K true &&
		wdelete K && no_leftovers K
	"
done

test_expect_success 'wdelete killed after the name was freed: the next command removes the rest' '
	wcreate K Root && wexec K sh -c "echo x >/etc/x" &&
	{ PWAPT_CRASH_AT=delete-trash wdelete K; test_equal 137 $?; } &&
	test -n "$(ls "$PWAPT_STATE/trash")" &&
	test_lacks "^K " wlist &&
	test_no_output ls "$PWAPT_STATE/trash" &&
	no_leftovers K
'

test_expect_success 'wcreate killed at random moments: each world is whole or absent' '
	for i in $(seq 12); do
		wcreate R$i A & pid=$!
		sleep 0.00$i
		kill -9 $pid 2>/dev/null; wait $pid
		wlist >"$TMP/l" || exit 1
		if grep -q "^R$i " "$TMP/l"; then
			grep -Eq "^R$i +A +running" "$TMP/l" && wexec R$i true && wdelete R$i || exit 1
		fi
		no_leftovers R$i || { echo "R$i left something"; exit 1; }
	done
'

test_expect_success 'concurrent wcreate of one name: exactly one wins' '
	for i in 1 2 3 4 5 6; do
		wcreate Same A >/dev/null 2>&1 & eval p$i=$!
	done &&
	ok=0 &&
	for i in 1 2 3 4 5 6; do
		if eval wait \$p$i; then ok=$((ok + 1)); fi
	done &&
	test_equal 1 "$ok" && wexec Same true
'

test_expect_success 'concurrent commands on different worlds all succeed' '
	for i in 1 2 3 4 5 6; do wcreate Par$i A & eval p$i=$!; done &&
	for i in 1 2 3 4 5 6; do eval wait \$p$i || exit 1; done &&
	for i in 1 2 3 4 5 6; do wexec Par$i true || exit 1; done &&
	wdelete Par1 Par2 Par3 Par4 Par5 Par6 Same
'

test_expect_success 'a command waits for the lock another one holds, and says so' '
	hold_lock "$TMP/err" &&
	wlist >"$TMP/out" 2>"$TMP/err" &&
	wait $holder &&
	grep -q "waiting for another pwapt command" "$TMP/err" &&
	grep -q "^Root " "$TMP/out"
'

test_expect_success 'a state directory is refused for another Root, which it would corrupt' '
	make_busybox_root "$TMP/other" &&
	test_fails_with 1 "belongs to Root .*/root, not .*/other" env PWAPT_ROOT="$TMP/other" wlist &&
	test_equal keep "$(wexec A cat /etc/a-file)"
'

test_expect_success 'a Root that is not a complete system is refused, leaving nothing' '
	make_busybox_root "$TMP/incomplete" && rmdir "$TMP/incomplete/run" &&
	test_fails_with 1 "no /run directory" env PWAPT_ROOT="$TMP/incomplete" PWAPT_STATE="$TMP/state-incomplete" wcreate X Root &&
	test -z "$(mounts_below "$TMP/state-incomplete")" &&
	! test -e "$TMP/state-incomplete/worlds/X"
'

test_expect_success 'a full disk makes wcreate fail cleanly and loses nothing' '
	mkdir "$TMP/small" && mount -t tmpfs -o size=1m small "$TMP/small" &&
	export PWAPT_STATE="$TMP/small/state" &&
	wcreate F1 Root && wexec F1 sh -c "echo kept >/etc/kept" &&
	{ dd if=/dev/zero of="$TMP/small/filler" bs=4k 2>/dev/null; true; } &&
	test_fails_with 1 "No space left on device" wcreate F2 Root &&
	test_lacks "^F2 " wlist &&
	! test -e "$PWAPT_STATE/worlds/F2" &&
	rm "$TMP/small/filler" &&
	test_equal kept "$(wexec F1 cat /etc/kept)" &&
	wcreate F2 Root && wdelete F1 F2 && pwapt stop-all
'

test_expect_success 'damaged metadata is reported with its path, not silently used' '
	wcreate D Root &&
	echo garbage >"$PWAPT_STATE/worlds/D/world" &&
	test_fails_with 1 "metadata of .D. .*worlds/D/world. is damaged" wexec D true &&
	test -d "$PWAPT_STATE/worlds/D/upper" &&
	wlist >"$TMP/l" && cat "$TMP/l" &&
	grep -Eq "^D +- +damaged" "$TMP/l" && grep -Eq "^A +Root +running" "$TMP/l" &&
	wdelete D && test_lacks "^D " wlist && no_leftovers D
'

test_expect_success 'stop-all gives services SIGTERM and time to exit' '
	wcreate G Root &&
	cat >"$TMP/service" <<-\EOS &&
	trap "echo got-term >/etc/term-seen; exit 0" TERM
	touch /ready
	while :; do sleep 0.1; done
	EOS
	wexec G sh -c "cat >/service" <"$TMP/service" &&
	wexec G sh -c "sh /service </dev/null >/dev/null 2>&1 &" &&
	wait_for 5 "test -e $PWAPT_STATE/worlds/G/upper/ready" &&
	pwapt stop-all &&
	test_equal got-term "$(cat "$PWAPT_STATE/worlds/G/upper/etc/term-seen")"
'

test_expect_success 'start-all starts every world it can and reports the one it cannot' '
	wcreate Broken Root && wcreate Fine Root && pwapt stop-all &&
	mv "$PWAPT_STATE/worlds/Broken/upper" "$PWAPT_STATE/worlds/Broken/upper.away" &&
	test_fails_with 1 "Broken" pwapt start-all &&
	wlist | grep -Eq "^Fine +Root +running" &&
	mv "$PWAPT_STATE/worlds/Broken/upper.away" "$PWAPT_STATE/worlds/Broken/upper" &&
	pwapt start-all && wlist | grep -Eq "^Broken +Root +running"
'

# Recovery reads the merge back from its journal (MALLOC_PERTURB_: memory
# it left uninitialised is not zero), then undoes it: neither the world
# nor its sibling, which changed the same files, may take the saving and
# restoring of Root's files for changes of Root.
test_expect_success 'a merge killed halfway and recovered leaves no false conflicts, for it or a sibling' '
	mkdir -p "$PWAPT_ROOT/srv/many" &&
	for i in $(seq 0 1999); do echo "$i" >"$PWAPT_ROOT/srv/many/f$i"; done &&
	wcreate Big Root && wcreate Sib Root &&
	for w in Big Sib; do
		for i in $(seq 0 1999); do
			echo "$w" >>"$PWAPT_STATE/worlds/$w/merged/srv/many/f$i"
		done
	done &&
	{ PWAPT_CRASH_AT=merge-op:1500 wmerge Big Root; test_equal 137 $?; } &&
	MALLOC_PERTURB_=85 pwapt recover | grep -q "recovered an interrupted merge" &&
	test_equal 1234 "$(cat "$PWAPT_ROOT/srv/many/f1234")" &&
	wdiff Big >"$TMP/big" && ! grep "^!" "$TMP/big" &&
	wdiff Sib >"$TMP/sib" && ! grep "^!" "$TMP/sib" &&
	wmerge Big Root && test_equal "1234 Big" "$(cat "$PWAPT_ROOT/srv/many/f1234" | xargs)"
'


# A merge killed while it deletes the merged world: that world's layer
# shares the merged files' inodes, and removing it later changes their
# ctimes, which made `pwapt rollback` refuse ("changed since the merge").
for point in delete-stop delete-unmount delete-trash; do
	test_expect_success "wmerge killed at $point: recovered, and the merge can be rolled back" "
		wcreate M Root &&
		wexec M sh -c 'mkdir -p /srv/m && echo 1 >/srv/m/a && echo 2 >/srv/m/b' &&
		{ PWAPT_CRASH_AT=$point wmerge M Root; test_equal 137 \$?; } &&
		test_equal 'recovered an interrupted merge' \"\$(pwapt recover)\" &&
		test_equal 2 \"\$(cat \"\$PWAPT_ROOT/srv/m/b\")\" && no_leftovers M &&
		pwapt rollback &&
		{ ! test -e \"\$PWAPT_ROOT/srv/m\" || { echo \"rolled back, yet /srv/m is there\"; ls -la \"\$PWAPT_ROOT/srv/m\"; false; }; }
	"
done

test_done
