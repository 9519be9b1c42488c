# Test library for pwapt's integration tests: TAP output in the style of
# git's t/test-lib.sh, a private Root and state directory per test file, and
# clean-up of every mount and container on exit, also when a test fails.
#
#   . "$(dirname "$0")/lib.sh"
#   make_busybox_root
#   test_expect_success 'what it checks' '
#           wcreate A Root &&
#           ...
#   '
#   test_done
#
# A missing prerequisite skips the whole file (`skip_all REASON`), which is a
# failure when PWAPT_TEST_MUST_WORK=1 (CI).

TEST_DIR=$(cd "$(dirname "$0")" && pwd)
[ -f "$TEST_DIR/lib.sh" ] || TEST_DIR=$(dirname "$TEST_DIR") # tests/slow/
[ -f "$TEST_DIR/lib.sh" ] || TEST_DIR=$(cd "$TEST_DIR/../tests" && pwd) # examples/X/
SRC_DIR=$(cd "$TEST_DIR/.." && pwd)
BIN_DIR=$SRC_DIR/bin
PATH=$BIN_DIR:$PATH
export PATH

test_count=0
test_failed=0

skip_all() {
	if [ "${PWAPT_TEST_MUST_WORK:-0}" = 1 ]; then
		echo "not ok 1 - prerequisite missing: $*"
		echo "1..1"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}

[ "$(id -u)" = 0 ] || skip_all "needs root (mounts and containers)"
# Each test file runs in a network namespace of its own: pwapt's bridge,
# veths, nftables table and sysctls live and die there, never on the host.
# The Debian tree is built first, where the network is: the namespace has
# none, and debootstrap would fail there on a machine with no cached tree.
if [ -z "${PWAPT_TEST_NETNS:-}" ]; then
	unshare -n true 2>/dev/null || skip_all "cannot make a network namespace"
	if grep -q '^make_debian_root' "$0"; then
		PWAPT_TEST_DEBIAN_LOG=$(mktemp /tmp/pwapt-debian-tree.XXXXXX)
		export PWAPT_TEST_DEBIAN_LOG
		"$TEST_DIR/fixtures/debian-tree.sh" >/dev/null 2>"$PWAPT_TEST_DEBIAN_LOG" || :
	fi
	PWAPT_TEST_NETNS=$$ exec unshare -n -- "$0" "$@"
fi
ip link set lo up || skip_all "cannot bring up loopback in the test's network namespace"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	grep -qw overlay /proc/filesystems || skip_all "no overlayfs in this kernel"
[ -x "$BIN_DIR/pwapt" ] || skip_all "pwapt is not built (run make)"

# Checked before anything uses it: an empty TMP would make every path
# below it one of the host's (PWAPT_ROOT=/root, cleanup of every mount).
TMP=$(mktemp -d /tmp/pwapt-test.XXXXXX) && [ -d "$TMP" ] ||
	{ echo "Bail out! cannot make a temporary directory in /tmp"; exit 1; }
# Debian's python3 for the tests' helpers (manifest.py and the like):
# pyenv's shims, first on PATH on some machines, cost 1.5 s a call, and a
# test file makes hundreds.
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
	mkdir "$TMP/python" && ln -s /usr/bin/python3 "$TMP/python/python3" &&
		PATH=$TMP/python:$PATH
fi
PWAPT_ROOT=$TMP/root
PWAPT_STATE=$TMP/state
export PWAPT_ROOT PWAPT_STATE
# Tests must not read the machine's own configuration.
PWAPT_CONFIG=$TMP/pwapt.conf
export PWAPT_CONFIG
# No trace collector unless a test asks for one (PWAPT_TRACE=bpf|audit
# after this file): the first wcreate would start one.
PWAPT_TRACE=off
export PWAPT_TRACE

# The trace collectors of this test ("pwapt trace run" of a state
# directory below $TMP, pwapt-trace once running), detached or not.
test_collector_pids() {
	for _p in $(pgrep -x "pwapt(-trace)?"); do
		tr '\0' ' ' 2>/dev/null <"/proc/$_p/cmdline" | grep -q "^pwapt trace run" &&
			tr '\0' '\n' 2>/dev/null <"/proc/$_p/environ" |
			grep -q "^PWAPT_STATE=$TMP/" && echo "$_p"
	done
}

# World $1's trace table as its accesses, "KIND PATH [PATH2]" a line: the
# header, and each line's time and process tree, left out (format 2:
# "TIME TREE KIND PATH [PATH2]").  Nothing when it has no table.
trace_entries() {
	tail -n +2 "$PWAPT_STATE/worlds/$1/trace" 2>/dev/null | cut -d' ' -f3-
}

# Stops every trace collector of this test: asked first (it then unloads
# its programs, removes its audit rules and puts audit back as it found
# it), killed after 30 s.  Then what a killed one leaves is undone (a BPF
# program goes with its last process): its audit rules, and audit's
# settings it changed (trace.audit: "ENABLED BACKLOG" as found).
stop_collectors() {
	_pids=$(test_collector_pids)
	if [ -n "$_pids" ]; then
		kill -TERM $_pids 2>/dev/null
		kill -CONT $_pids 2>/dev/null
		_n=300
		while [ -n "$(test_collector_pids)" ] && [ $_n -gt 0 ]; do
			sleep 0.1
			_n=$((_n - 1))
		done
		_pids=$(test_collector_pids)
		if [ -n "$_pids" ]; then
			echo "# cleanup: killing trace collectors that did not stop: $_pids" >&2
			kill -KILL $_pids 2>/dev/null
			sleep 0.2
		fi
	fi
	command -v auditctl >/dev/null || PATH=$PATH:/usr/sbin
	command -v auditctl >/dev/null || return 0
	for _d in "$PWAPT_STATE" "$TMP"/*/; do
		[ -e "$_d/trace.lock" ] || continue
		_key=pwapt:$(stat -c %d:%i "$_d")
		auditctl -l 2>/dev/null | grep -- "key=$_key\$" | sed 's/^-a/-d/' |
			while read -r _rule; do
				eval auditctl "$_rule" >/dev/null 2>&1
			done
		if read -r _e _b 2>/dev/null <"$_d/trace.audit"; then
			auditctl -b "$_b" >/dev/null 2>&1
			[ "$_e" = 2 ] || auditctl -e "$_e" >/dev/null 2>&1
			rm -f "$_d/trace.audit"
		fi
	done
	return 0
}

# Every mount below DIR, deepest first.
mounts_below() {
	awk -v d="$1/" '{ if (index($5 "/", d) == 1) print $5 }' /proc/self/mountinfo | sort -r
}

cleanup() {
	set +e
	case $TMP in /tmp/pwapt-test.?*) ;; *) return ;; esac
	# Its own messages must not kill it when the reader went away.
	trap '' PIPE
	tm kill-server 2>/dev/null
	stop_collectors
	# Processes a test started on the host side (servers, namespaces'
	# holders), by the pids it noted with note_pid.
	# Only a process still the one noted: its pid may be another's now.
	[ -f "$TMP/pids" ] && while read -r _pid _start; do
		[ -n "$_start" ] && [ "$(proc_start "$_pid")" = "$_start" ] &&
			kill "$_pid" 2>/dev/null
	done <"$TMP/pids"
	# Every container whose lxcpath lies below $TMP, whatever state
	# directory a test used and however it failed.
	# "[lxc monitor] PATH NAME": PATH may hold blanks (t0012).
	pgrep -a -f "^\[lxc monitor\] $TMP/" | while read -r pid line; do
		line=${line#"[lxc monitor] "}
		name=${line##* } path=${line% *}
		lxc-stop -k -P "$path" -n "$name" >/dev/null 2>&1 ||
			kill -9 "$pid" 2>/dev/null
	done
	# mountinfo writes a blank, tab, newline or backslash as \ooo.
	mounts_below "$TMP" | while IFS= read -r m; do
		umount -l "$(printf '%b' "$(printf '%s' "$m" |
			sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')")" 2>/dev/null
	done
	if [ -n "$(mounts_below "$TMP")" ]; then
		echo "# cleanup: mounts remain below $TMP" >&2
	else
		rm -rf --one-file-system "$TMP"
	fi
}
trap cleanup EXIT
# Interrupted, hung up, or its reader gone (`| head`): cleaned up all the
# same, never leaving containers and mounts for the next run.
trap 'exit 130' INT TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# A busybox tree in $1 (default PWAPT_ROOT): a copy of one built once per
# test file, the same tree (cp -a keeps modes and times).
make_busybox_root() {
	if ! [ -d "$TMP/busybox-tree" ]; then
		rm -rf "$TMP/busybox-tree.new" &&
			"$TEST_DIR/fixtures/busybox-tree.sh" "$TMP/busybox-tree.new" &&
			mv "$TMP/busybox-tree.new" "$TMP/busybox-tree" ||
			skip_all "cannot build the busybox test tree"
	fi
	mkdir -p "${1:-$PWAPT_ROOT}" &&
		cp -a "$TMP/busybox-tree/." "${1:-$PWAPT_ROOT}/" ||
		skip_all "cannot copy the busybox test tree"
}

# Notes a pid of a background process for cleanup to kill.
# The start time of process $1 (field 22 of its stat), nothing once gone.
proc_start() { sed -n 's/.*) //p' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
note_pid() { echo "$1 $(proc_start "$1")" >>"$TMP/pids"; }

# Evaluates the shell command $2 every 0.1 s until it succeeds, for at
# most $1 seconds; fails, saying so, if it never does.
wait_for() {
	_wait_for_n=$(($1 * 10))
	until eval "$2"; do
		_wait_for_n=$((_wait_for_n - 1))
		[ $_wait_for_n -gt 0 ] || { echo "not so after $1 s: $2"; return 1; }
		sleep 0.1
	done
}

# hold_lock ERR: holds the store's lock from a background process
# ($holder), returning once it is held, until the command whose stderr
# is the file ERR says it waits for the lock (60 s at most).  Not for a
# fixed time: a command started late on a loaded machine would find the
# lock free, and never wait.
hold_lock() {
	rm -f "$TMP/held" "$1"
	flock "$PWAPT_STATE/lock" sh -c ': >"$1"; n=0
		until grep -qs "waiting for another pwapt command" "$2" || [ $n -ge 600 ]; do
			sleep 0.1; n=$((n + 1))
		done' - "$TMP/held" "$1" &
	holder=$!
	note_pid $holder
	wait_for 5 'test -e "$TMP/held"'
}

test_expect_success() {
	test_count=$((test_count + 1))
	log=$TMP/test-$test_count.log
	if (eval "$2") >"$log" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed -e 's/^/#   /' "$log"
	fi
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
}

# Fails with a message unless $1 and $2 are equal.
test_equal() {
	[ "$1" = "$2" ] || {
		echo "expected: '$1'"
		echo "     got: '$2'"
		return 1
	}
}

# Negative checks that can fail: `! CMD | grep -q ERE` passes when CMD itself
# fails (a world that does not run, a table that is gone), and so does
# `! wexec W test -e PATH`.  These assert CMD's success first.
#
# test_lacks ERE CMD [ARG...]: CMD succeeds and no line of its output
# matches ERE.  test_has ERE CMD [ARG...]: CMD succeeds and a line does.
# The output is kept in $TMP/out.cmd.
test_lacks() {
	_t_pattern=$1
	shift
	"$@" >"$TMP/out.cmd" || { echo "failed (exit $?): $*"; return 1; }
	if grep -Eq -e "$_t_pattern" "$TMP/out.cmd"; then
		echo "the output of '$*' matches /$_t_pattern/:"
		grep -E -e "$_t_pattern" "$TMP/out.cmd"
		return 1
	fi
}

test_has() {
	_t_pattern=$1
	shift
	"$@" >"$TMP/out.cmd" || { echo "failed (exit $?): $*"; return 1; }
	grep -Eq -e "$_t_pattern" "$TMP/out.cmd" || {
		echo "no line of the output of '$*' matches /$_t_pattern/:"
		cat "$TMP/out.cmd"
		return 1
	}
}

# not_installed WORLD PKG: dpkg in WORLD says package PKG is not installed
# (unknown, removed, or config-files only); fails when it cannot say, where
# `test -z "$(wexec WORLD dpkg-query ... | sed ...)"` passes when the world
# does not run.
not_installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}' "$2" >"$TMP/ni.out" 2>"$TMP/ni.err"
	case $? in
	0)
		! grep -q "^ii" "$TMP/ni.out" && return 0
		echo "$2 is installed in $1"
		return 1 ;;
	1) grep -q "no packages found matching $2" "$TMP/ni.err" && return 0 ;;
	esac
	echo "cannot ask dpkg in $1 about $2:"
	cat "$TMP/ni.err"
	return 1
}

# test_no_output CMD [ARG...]: CMD succeeds and prints nothing (where
# `test -z "$(CMD)"` passes when CMD fails).
test_no_output() {
	"$@" >"$TMP/out.cmd" || { echo "failed (exit $?): $*"; return 1; }
	[ ! -s "$TMP/out.cmd" ] || { echo "'$*' printed:"; cat "$TMP/out.cmd"; return 1; }
}

# test_absent_in WORLD PATH...: no PATH exists (not even as a dangling
# symlink) as a process in WORLD sees it; fails when the world cannot run
# the check.
test_absent_in() {
	_t_world=$1
	shift
	test_equal checked "$(wexec "$_t_world" sh -c '
		for p; do [ ! -e "$p" ] && [ ! -L "$p" ] || echo "present: $p"; done
		echo checked' - "$@")"
}

# cleanup_worlds: the test's trace collectors stopped, every world of the
# test's state deleted, Root's container stopped and the state directory
# gone, for a test that starts afresh.
cleanup_worlds() {
	[ -d "$PWAPT_STATE" ] || return 0
	stop_collectors
	for w in $(ls "$PWAPT_STATE/worlds" 2>/dev/null | grep -v '^Root$' | sort -r); do
		wdelete "$w" >/dev/null 2>&1
	done
	pwapt stop-all >/dev/null 2>&1
	rm -rf "$PWAPT_STATE"
}

# test_exit CODE CMD [ARG...]: CMD exits with status CODE (as `pgrep`, which
# exits 1 when nothing matches and 2 or 3 when it cannot tell).
test_exit() {
	_t_want=$1
	shift
	"$@"
	_t_got=$?
	[ "$_t_got" = "$_t_want" ] || { echo "exit $_t_got, expected $_t_want: $*"; return 1; }
}

# Runs a command that must fail with exit status $1 and a message on
# stderr matching $2 (grep -E); stderr is kept in $TMP/err.
test_fails_with() {
	want=$1 pattern=$2
	shift 2
	"$@" 2>"$TMP/err" && { echo "unexpectedly succeeded: $*"; return 1; }
	got=$?
	[ "$got" = "$want" ] || { echo "exit $got, expected $want: $*"; cat "$TMP/err"; return 1; }
	grep -Eq -e "$pattern" "$TMP/err" || { echo "stderr does not match /$pattern/:"; cat "$TMP/err"; return 1; }
}

# The host pid of a world's init, from wlist --json.
init_pid() {
	wlist --json | python3 -c '
import json, sys
for w in json.load(sys.stdin):
    if w["name"] == sys.argv[1]:
        print(w["init_pid"])' "$1"
}

# The freezer file of the cgroup world $1's init is in (the container's,
# but where its init moved): cgroup v1's freezer.state where the host has
# that hierarchy, else v2's cgroup.freeze; by liblxc, not by a pwapt
# command (which would recover).  freezer_state FILE: FROZEN, THAWED, or
# what else it says (FREEZING).
freezer_file() {
	_pid=$(lxc-info -P "$PWAPT_STATE/worlds" -n "$1" -pH 2>/dev/null) &&
		[ "${_pid:-0}" -gt 1 ] || return 1
	_v1=$(sed -n 's/^[0-9]*:freezer://p' "/proc/$_pid/cgroup")
	if [ -n "$_v1" ] && [ -d /sys/fs/cgroup/freezer ]; then
		echo "/sys/fs/cgroup/freezer$_v1/freezer.state"
	else
		echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$_pid/cgroup")/cgroup.freeze"
	fi
}
freezer_state() {
	case $(cat "$1") in
	FROZEN | 1) echo FROZEN ;;
	THAWED | 0) echo THAWED ;;
	*) cat "$1" ;;
	esac
}

# What a reboot leaves: metadata, layers, no containers, no mounts.
simulate_reboot() {
	for w in $(wlist --json | python3 -c '
import json, sys
print(" ".join(w["name"] for w in json.load(sys.stdin)))'); do
		pid=$(init_pid "$w")
		[ "${pid:-0}" -gt 1 ] && kill -9 "$pid"
	done
	for i in $(seq 50); do
		pgrep -f "lxc monitor\] $PWAPT_STATE/worlds" >/dev/null || break
		sleep 0.1
	done
	for m in $(mounts_below "$PWAPT_STATE"); do
		umount -l "$m"
	done
}

# A private copy of the cached Debian bookworm minbase tree as Root (the
# cache itself is never a Root: a test could change it).
# When the tree cannot be built, what the fixture said (the end of
# debootstrap's log: the cause) comes first, as TAP comments.
make_debian_root() {
	# What the build outside the namespace said (see above) comes first.
	if [ -n "${PWAPT_TEST_DEBIAN_LOG:-}" ] && [ -f "$PWAPT_TEST_DEBIAN_LOG" ]; then
		cat "$PWAPT_TEST_DEBIAN_LOG" >"$TMP/debian-tree.err"
		rm -f "$PWAPT_TEST_DEBIAN_LOG"
	fi
	tree=$("$TEST_DIR/fixtures/debian-tree.sh" 2>>"$TMP/debian-tree.err") || {
		sed "s/^/# /" "$TMP/debian-tree.err"
		skip_all "cannot build the Debian test tree (debootstrap; why: above)"
	}
	sed "s/^/# /" "$TMP/debian-tree.err"
	cp -a "$tree" "${1:-$PWAPT_ROOT}" || skip_all "cannot copy $tree"
}

# use_test_repo VERSION: (re)build the tests' apt repository
# (tests/fixtures/apt-repo.sh) at /srv/pwapt-repo in the Debian test Root, so
# that file:/srv/pwapt-repo means the same in Root and its worlds, make it the
# tree's only apt source (no mirror: tests never reach the network) and run
# `apt-get update` in Root.  APT_REPO_BENCH=N adds the benchmark packages.
use_test_repo() {
	"$TEST_DIR/fixtures/apt-repo.sh" ${APT_REPO_BENCH:+--bench "$APT_REPO_BENCH"} \
		"$PWAPT_ROOT/srv/pwapt-repo" "$1" || return 1
	rm -f "$PWAPT_ROOT/etc/apt/sources.list.d/"*.list \
		"$PWAPT_ROOT/etc/apt/sources.list.d/"*.sources
	echo 'deb [trusted=yes] file:/srv/pwapt-repo ./' >"$PWAPT_ROOT/etc/apt/sources.list"
	# The minbase tree has no init system: no /sbin/init, no runlevel(8),
	# and invoke-rc.d then starts nothing.  As on sysvinit in runlevel 2:
	# a runlevel that says 2, and a policy-rc.d that allows what the rc2.d
	# links allow (invoke-rc.d asks about a "(start)" they do not allow).
	sbin=$PWAPT_ROOT/usr/sbin
	[ -e "$sbin/runlevel" ] || {
		printf '#!/bin/sh\necho "N 2"\n' >"$sbin/runlevel" &&
			printf '#!/bin/sh\n%s\ncase $2 in "("*) exit 101 ;; esac\n' \
				'[ "${1#--}" = "$1" ] || shift' >"$sbin/policy-rc.d" &&
			chmod 755 "$sbin/runlevel" "$sbin/policy-rc.d"
	} || return 1
	wexec Root apt-get update -qq </dev/null
}

# install_test_packages PKG...: apt-get install in Root, non-interactively
# (local conffile changes kept).
# add_service TREE NAME [PRELOAD]: an LSB init script of NAME whose daemon
# is sleep(1), with PRELOAD in its LD_PRELOAD when given; FAIL_VERSION=V
# in TREE's /etc/default/NAME keeps it from starting while PRELOAD holds
# the bytes V (a library of that version: pwapt-test-lib's).
add_service() {
	cat >"$1/etc/init.d/$2" <<EOS
#!/bin/sh
NAME=$2
PIDFILE=/run/\$NAME.pid
FAIL_VERSION=
[ ! -r /etc/default/\$NAME ] || . /etc/default/\$NAME
case "\$1" in
start)
	[ -z "\$FAIL_VERSION" ] || [ -z "$3" ] || ! grep -qa "\$FAIL_VERSION" "$3" || exit 1
	start-stop-daemon --start --quiet --background --make-pidfile \\
		--pidfile \$PIDFILE --startas /usr/bin/env -- ${3:+LD_PRELOAD=$3} sleep 100000 ;;
stop)
	start-stop-daemon --stop --quiet --retry TERM/5/KILL/2 --pidfile \$PIDFILE
	rc=\$?; rm -f \$PIDFILE; [ \$rc != 2 ] ;;
restart)
	"\$0" stop && "\$0" start ;;
status)
	start-stop-daemon --status --pidfile \$PIDFILE ;;
esac
EOS
	chmod 755 "$1/etc/init.d/$2"
}

install_test_packages() {
	wexec Root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		-o Dpkg::Options::=--force-confold "$@" </dev/null
}

# procs_of PATTERN [WORLD]: the command lines of WORLD's (Root's)
# processes that PATTERN (grep) matches, one a line, from the world's own
# /proc (the host's process table has other tests' daemons too; a
# removed package's init script says nothing: [ -x $DAEMON ] || exit 0).
procs_of() {
	wexec "${2:-Root}" sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f" 2>/dev/null; echo; done' |
		grep "$1"
}

# svcd_procs: the processes of the tests' pwapt-test-svc daemon in Root.
svcd_procs() { procs_of "^/bin/sh /usr/sbin/pwapt-test-svcd"; }

# status_of PACKAGE: dpkg's status of PACKAGE in Root, abbreviated, no
# blanks (ii, rc; empty when dpkg does not know it).
status_of() { wexec Root dpkg-query -W -f="\${db:Status-Abbrev}" "$1" 2>/dev/null | tr -d " "; }

# www_version WORLD: what the tests' pwapt-test-www (port 8090) answers in
# WORLD, asked from inside it.
www_version() {
	wexec "$1" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:8090/", timeout=5).read().decode().strip())' 2>/dev/null
}

# pwapt-test-www 1.0 installed and answering in Root, the tests' repository
# then offering 1.1 (and the broken 1.2).
www_running_in_root() {
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-www &&
	wexec Root /etc/init.d/pwapt-test-www start &&
	wait_for 20 "test 1.0 = \"\$(www_version Root)\"" &&
	use_test_repo 1.1
}

# Terminal sessions for interactive commands: tmux_start runs a command of
# ours on a 120x30 terminal; wait_screen waits for text matching an ERE;
# tm passes anything else to this test's own tmux server.
tm() { tmux -S "$TMP/tmux.sock" "$@"; }

tmux_start() {
	command -v tmux >/dev/null || skip_all "tmux is missing"
	tm new-session -d -s t -x 120 -y 30 \
		"env PATH=$PATH PWAPT_ROOT=$PWAPT_ROOT PWAPT_STATE=$PWAPT_STATE PWAPT_CONFIG=$PWAPT_CONFIG $1; echo console-exit=\$?; sleep 60"
}

wait_screen() {
	for i in $(seq 100); do
		tm capture-pane -p -t t >"$TMP/screen" 2>/dev/null
		grep -Eq "$1" "$TMP/screen" && return 0
		sleep 0.1
	done
	echo "screen never showed /$1/:"
	cat "$TMP/screen"
	return 1
}
