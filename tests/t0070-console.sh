#!/bin/sh
# wconsole on a real terminal, driven through tmux.
. "$(dirname "$0")/lib.sh"
make_busybox_root
test_expect_success 'setup' 'wcreate W Root'

test_expect_success 'wconsole gives a shell on a terminal inside the world' '
	tmux_start "wconsole W" &&
	wait_screen "^/ #" &&
	tm send-keys -t t "echo host=\$(hostname) world=\$debian_chroot tty=\$(tty) answer=\$((6*7))" Enter &&
	wait_screen "host=Root world=W tty=/dev/pts/[0-9]+ answer=42"
'

test_expect_success 'the terminal is a real one: its size and line editing work' '
	tm send-keys -t t "stty size" Enter &&
	wait_screen "^30 120" &&
	tm send-keys -t t "echo abX" BSpace "c-edited" Enter &&
	wait_screen "^abc-edited"
'

test_expect_success 'leaving the shell returns its exit status' '
	tm send-keys -t t "exit 5" Enter &&
	wait_screen "console-exit=5"
'

test_expect_success 'wconsole refuses to run without a terminal' '
	test_fails_with 1 "not a terminal" wconsole W </dev/null
'

test_done
