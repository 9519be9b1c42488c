#!/bin/sh
# A world's root cannot leave its container for the host's file systems
# (README, "A world cannot reach the host"): open_by_handle_at() is
# refused (the "shocker" escape through the bind-mounted pwapt-init, a
# file of the state directory's file system), a node of a block device
# of the host made with mknod cannot be opened, no kernel module is
# loaded, and neither bpf() nor perf_event_open() (tracing programs that
# read the kernel's memory) is allowed;
# what a fresh /dev holds still works.  Root's own container is left as
# the host's "/" would be.
. "$(dirname "$0")/lib.sh"
command -v gcc >/dev/null || skip_all "gcc is missing"
make_busybox_root
gcc -O2 -static -o "$PWAPT_ROOT/bin/confine-probe" \
	"$TEST_DIR/fixtures/confine-probe.c" ||
	skip_all "cannot build a static helper"

# A block device that root on the host opens: a loop device over a file
# (the disk itself may be closed even to the host's root, in a VM).
truncate -s 1M "$TMP/disk.img" &&
	loop=$(losetup -f --show "$TMP/disk.img") &&
	loop_dev=$(stat -c '%Hr %Lr' "$loop") ||
	skip_all "cannot make a loop device"
trap 'losetup -d "$loop" 2>/dev/null; cleanup' EXIT

test_expect_success 'setup: a world whose PID 1 is pwapt-init, bind-mounted from the state directory' '
	wcreate A Root &&
	wexec A test -f /run/.pwapt-init &&
	test_equal opened "$("$PWAPT_ROOT/bin/confine-probe" handle "$PWAPT_STATE/pwapt-init")"
'

test_expect_success 'the world s processes and its init run under the seccomp profile' '
	test_equal 2 "$(wexec A sed -n "s/^Seccomp:[[:space:]]*//p" /proc/self/status)" &&
	test_equal 2 "$(wexec A sed -n "s/^Seccomp:[[:space:]]*//p" /proc/1/status)"
'

test_expect_success 'open_by_handle_at of /run/.pwapt-init is refused: EPERM' '
	test_equal EPERM "$(wexec A confine-probe handle /run/.pwapt-init)"
'

test_expect_success 'a handle of the root of its file system (shocker) is refused: EPERM' '
	test_equal EPERM "$(wexec A confine-probe fsroot /run/.pwapt-init)"
'

test_expect_success "a node of a block device the host opens ($loop) is made but cannot be opened: EPERM" '
	test_equal opened "$("$PWAPT_ROOT/bin/confine-probe" open "$loop")" &&
	wexec A mknod /dev/probe-loop b $loop_dev &&
	test_equal EPERM "$(wexec A confine-probe open /dev/probe-loop)" &&
	wexec A rm /dev/probe-loop
'

test_expect_success 'a kernel module load is refused: EPERM' '
	test_equal EPERM "$(wexec A confine-probe module)"
'

test_expect_success 'bpf() and perf_event_open() are refused: EPERM; in Root s container and on the host they work' '
	test_equal EPERM "$(wexec A confine-probe bpf)" &&
	test_equal EPERM "$(wexec A confine-probe perf)" &&
	test_equal opened "$(wexec Root confine-probe bpf)" &&
	test_equal opened "$("$PWAPT_ROOT/bin/confine-probe" bpf)"
'

test_expect_success '/dev/null, /dev/zero, /dev/full, /dev/urandom and a new pseudo-terminal still work' '
	wexec A sh -c "echo x >/dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c" >"$TMP/dev.out" &&
	test_equal "4 4" "$(tr -s "\n " " " <"$TMP/dev.out" | sed "s/ $//")" &&
	test_equal opened "$(wexec A confine-probe open /dev/full)" &&
	test_equal opened "$(wexec A confine-probe pty)"
'

test_expect_success 'Root s own container is not confined: no seccomp filter' '
	test_equal 0 "$(wexec Root sed -n "s/^Seccomp:[[:space:]]*//p" /proc/self/status)"
'

test_expect_success 'a profile changed by hand is written again at the next start' '
	echo "1 junk" >"$PWAPT_STATE/world.seccomp" &&
	pwapt stop-all && pwapt start-all &&
	test_equal EPERM "$(wexec A confine-probe handle /run/.pwapt-init)"
'

test_expect_success 'a profile that cannot be written: the world does not start, and says why' '
	pwapt stop-all &&
	rm -f "$PWAPT_STATE/world.seccomp" && mkdir "$PWAPT_STATE/world.seccomp" &&
	! wcreate B Root 2>"$TMP/err" &&
	grep "^wcreate: cannot write .*/world.seccomp: Is a directory" "$TMP/err" &&
	! wexec A true 2>"$TMP/err" &&
	grep "^wexec: cannot write .*/world.seccomp: Is a directory" "$TMP/err" &&
	rmdir "$PWAPT_STATE/world.seccomp" &&
	wexec A confine-probe handle /run/.pwapt-init >"$TMP/out" &&
	test_equal EPERM "$(cat "$TMP/out")"
'

test_expect_success 'clean up' '
	wdelete A && ! wlist | grep -q "^B "
'
test_done
