#!/bin/sh
# Worlds over a real Debian bookworm tree: its tools run in a world, and what
# they change stays in the world.
. "$(dirname "$0")/lib.sh"
make_debian_root

test_expect_success 'Debian tools run in a world' '
	wcreate D Root &&
	wexec D dpkg-query -W -f="\${Package}\n" dpkg | grep -qx dpkg &&
	wexec D apt-get --version | grep -q "^apt " &&
	test_equal Root "$(wexec D hostname)"
'

test_expect_success 'dpkg changes in a world stay in the world' '
	before=$(md5sum <"$PWAPT_ROOT/var/lib/dpkg/status") &&
	echo "dpkg hold" | wexec D dpkg --set-selections &&
	wexec D dpkg --get-selections dpkg | grep -q "hold$" &&
	wexec D rm /usr/bin/which &&
	test_absent_in D /usr/bin/which &&
	test -e "$PWAPT_ROOT/usr/bin/which" &&
	test_equal "$before" "$(md5sum <"$PWAPT_ROOT/var/lib/dpkg/status")"
'

test_expect_success 'a daemon started in the world runs in the world s pid namespace' '
	wexec D sh -c "setsid sleep 1234 </dev/null >/dev/null 2>&1 &" &&
	ns=$(readlink /proc/$(init_pid D)/ns/pid) && test -n "$ns" &&
	# Waited for: wexec returns once sh has exited, maybe before its
	# background child (on a loaded machine) has exec(2)ed sleep.
	in_world() {
		for p in $(pgrep -f "^sleep 1234$"); do
			test "$(readlink /proc/$p/ns/pid)" = "$ns" && return 0
		done
		return 1
	} &&
	wait_for 10 in_world
'

test_expect_success 'wexec Root runs in a container over the Debian tree' '
	test_equal Root "$(wexec Root hostname)" &&
	test_equal "$(cat "$PWAPT_ROOT/etc/debian_version")" "$(wexec Root cat /etc/debian_version)"
'

test_expect_success 'wconsole runs bash where the world has it, also when it must bring the world back' '
	pwapt stop-all &&
	tmux_start "wconsole D" &&
	wait_screen "^\\(D\\)root@Root:/#" &&
	tm send-keys -t t "echo BV=\$BASH_VERSION" Enter &&
	wait_screen "^BV=5" &&
	tm send-keys -t t "exit 3" Enter &&
	wait_screen "console-exit=3"
'

test_done
