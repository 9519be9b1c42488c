#!/bin/sh
# Volatile worlds (wcreate --volatile; every transaction while apt runs):
# no sync while they are written, so a world caught by a crash while
# volatile is never used as if intact.  Crashes at each phase: killed
# pwapt, and simulated reboots (every container killed, every mount gone).
. "$(dirname "$0")/lib.sh"
make_busybox_root

# A probe of our own, as pwapt's: does this kernel's overlayfs take it?
mkdir -p "$TMP/probe/l" "$TMP/probe/u" "$TMP/probe/w" "$TMP/probe/m"
if mount -t overlay probe -o "lowerdir=$TMP/probe/l,upperdir=$TMP/probe/u,workdir=$TMP/probe/w,volatile" \
	"$TMP/probe/m" 2>/dev/null; then
	umount "$TMP/probe/m"
else
	skip_all "this kernel's overlayfs has no volatile option (pwapt mounts worlds plain)"
fi

# A reboot that comes before any other pwapt command (simulate_reboot asks
# wlist first, which would recover a killed merge while all is mounted):
# every container killed, every mount gone.
reboot_now() {
	for w in $(ls "$PWAPT_STATE/worlds"); do
		lxc-stop -k -P "$PWAPT_STATE/worlds" -n "$w" >/dev/null 2>&1
	done
	for i in $(seq 50); do
		pgrep -f "lxc monitor\] $PWAPT_STATE/worlds" >/dev/null || break
		sleep 0.1
	done
	for m in $(mounts_below "$PWAPT_STATE"); do
		umount -l "$m"
	done
}
record() { echo "$PWAPT_STATE/worlds/$1/volatile"; }
# crashed NAME: wlist says so, every command that needs its tree refuses it
# naming wdelete, and its tree is not mounted.
crashed() {
	test_has "^$1 +Root +crashed" wlist &&
	test_fails_with 1 "'$1' was mounted volatile .*wdelete $1" wexec "$1" true &&
	test -z "$(mounts_below "$PWAPT_STATE/worlds/$1")"
}
gone() {
	test_lacks "^$1 " wlist && ! test -e "$PWAPT_STATE/worlds/$1"
}

test_expect_success 'wcreate --volatile: recorded, mounted volatile, works like any world' '
	wcreate --volatile V Root &&
	test -f "$(record V)" &&
	grep -q "volatile" "$(record V)" &&
	grep " $PWAPT_STATE/worlds/V/merged " /proc/self/mountinfo | grep -q volatile &&
	wexec V sh -c "echo v >/etc/v-file" &&
	test_equal v "$(wexec V cat /etc/v-file)" &&
	test_has "^V +Root +running" wlist
'

test_expect_success 'a plain wcreate is durable from the start: not volatile' '
	wcreate P Root &&
	! test -e "$(record P)" &&
	! grep " $PWAPT_STATE/worlds/P/merged " /proc/self/mountinfo | grep -q volatile
'

test_expect_success 'no world is built on a volatile one' '
	test_fails_with 1 "cannot build on .V.: its layer is volatile" wcreate C V &&
	gone C
'

test_expect_success 'a killed pwapt leaves a volatile world intact: the kernel still has it' '
	{ PWAPT_CRASH_AT=create-ready wcreate --volatile K Root; test_equal 137 $?; } &&
	wexec K sh -c "echo k >/etc/k-file" &&
	test_equal k "$(wexec K cat /etc/k-file)" && wdelete K
'

test_expect_success 'a reboot while volatile: listed as crashed, refused naming wdelete, deleted cleanly' '
	simulate_reboot &&
	crashed V &&
	test_fails_with 1 "wdelete V" wdiff V &&
	test_fails_with 1 "wdelete V" wmerge V Root &&
	! test -e "$PWAPT_ROOT/etc/v-file" &&
	test_equal "" "$(wexec P cat /etc/v-file 2>/dev/null)" &&
	pwapt recover >"$TMP/out" &&
	grep -q "^.V. was volatile when its tree went away .*wdelete V" "$TMP/out" &&
	test_lacks "nothing to recover" cat "$TMP/out" &&
	crashed V &&
	wdelete V && gone V &&
	pwapt recover >"$TMP/out" && test_lacks "volatile" cat "$TMP/out"
'

test_expect_success 'the next command does not trip over it either: start-all starts the rest' '
	wcreate --volatile V Root && wexec V true &&
	simulate_reboot &&
	test_fails_with 1 "wdelete V" pwapt start-all &&
	test_has "^P +Root +running" wlist &&
	crashed V && wdelete V
'

test_expect_success 'stop-all (a clean shutdown) makes a volatile world durable: it survives' '
	wcreate --volatile S Root && wexec S sh -c "echo s >/etc/s-file" &&
	pwapt stop-all &&
	! test -e "$(record S)" &&
	test -z "$(mounts_below "$PWAPT_STATE")" &&
	simulate_reboot &&
	test_equal s "$(wexec S cat /etc/s-file)" &&
	test_has "^S +Root +running" wlist &&
	! grep " $PWAPT_STATE/worlds/S/merged " /proc/self/mountinfo | grep -q volatile &&
	wdelete S
'

test_expect_success 'made durable, killed synced but still recorded volatile, then a reboot: crashed, never used' '
	wcreate --volatile D Root && wexec D sh -c "echo d >/etc/d-file" &&
	{ PWAPT_CRASH_AT=durable-synced pwapt stop-all; test_equal 137 $?; } &&
	reboot_now &&
	crashed D && wdelete D && gone D
'

test_expect_success 'killed once the record is gone, then a reboot: durable, it survives' '
	wcreate --volatile D Root && wexec D sh -c "echo d >/etc/d-file" &&
	{ PWAPT_CRASH_AT=durable-done pwapt stop-all; test_equal 137 $?; } &&
	reboot_now &&
	test_equal d "$(wexec D cat /etc/d-file)" && wdelete D
'


# A merge syncs its source before it is journaled as prepared.
for point in merge-staged merge-saved merge-synced; do
	test_expect_success "wmerge of a volatile world killed at $point, then a reboot: rolled back, the world crashed" "
		wcreate --volatile M Root && wexec M sh -c 'echo m >/etc/m-file' &&
		{ PWAPT_CRASH_AT=$point wmerge M Root; test_equal 137 \$?; } &&
		reboot_now &&
		pwapt recover &&
		! test -e '$PWAPT_ROOT/etc/m-file' &&
		! test -e '$PWAPT_STATE/merge' &&
		crashed M && wdelete M && gone M
	"
done

test_expect_success 'killed once prepared, then a reboot: rolled back, the world proved synced and kept' '
	wcreate --volatile M Root && wexec M sh -c "echo m >/etc/m-file" &&
	{ PWAPT_CRASH_AT=merge-prepared wmerge M Root; test_equal 137 $?; } &&
	reboot_now &&
	pwapt recover >"$TMP/out" && cat "$TMP/out" &&
	! test -e "$PWAPT_ROOT/etc/m-file" &&
	! test -e "$(record M)" &&
	test_equal m "$(wexec M cat /etc/m-file)" &&
	test_has "^M +Root +running" wlist &&
	wmerge M Root && test_equal m "$(cat "$PWAPT_ROOT/etc/m-file")"
'

test_expect_success 'a volatile world merged without a crash: merged, gone' '
	wcreate --volatile M Root && wexec M sh -c "echo m2 >/etc/m-file" &&
	wmerge M Root &&
	test_equal m2 "$(cat "$PWAPT_ROOT/etc/m-file")" && gone M
'

test_expect_success 'wcreate --volatile is in its usage' '
	test_fails_with 2 "usage: wcreate .*\[--volatile\] NAME PARENT" wcreate onlyname
'

test_expect_success 'a kernel without volatile: mounted plain, durable, said once' '
	PWAPT_FAIL_AT=mount-volatile wcreate --volatile F Root 2>"$TMP/err" &&
	grep -q "has no .volatile. option: worlds are mounted plain" "$TMP/err" &&
	! test -e "$(record F)" &&
	! grep " $PWAPT_STATE/worlds/F/merged " /proc/self/mountinfo | grep -q volatile &&
	wexec F sh -c "echo f >/etc/f-file" &&
	PWAPT_FAIL_AT=mount-volatile wcreate --volatile F2 Root 2>"$TMP/err" &&
	test_no_output cat "$TMP/err" &&
	reboot_now &&
	test_equal f "$(wexec F cat /etc/f-file)" &&
	wdelete F F2
'

test_expect_success 'clean up' '
	wdelete P
'

test_done
