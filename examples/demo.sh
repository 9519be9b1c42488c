#!/bin/sh
# `make demo`: pwapt on a Debian bookworm tree that the demo builds
# (debootstrap, cached under $PWAPT_CACHE, default /var/cache/pwapt; a
# download that keeps failing prints its cause) and copies into a temporary
# directory as Root, with a local apt repository of test packages:
# `pwapt upgrade --test` (plan, test world, tests, report, merge, rollback),
# a transaction whose test fails, then the worlds themselves: wcreate, wdiff,
# wmerge, a conflict.  Nothing on this machine's own / changes.
set -eu
# In a network namespace of its own: the demo's worlds get pwapt's bridge and
# nftables table there, not on this machine's network.
if [ -z "${PWAPT_DEMO_NETNS:-}" ]; then
	PWAPT_DEMO_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up
cd "$(dirname "$0")/.."
PATH=$PWD/bin:$PATH
tree=$(tests/fixtures/debian-tree.sh)
demo=$(mktemp -d /tmp/pwapt-demo.XXXXXX)
export PWAPT_ROOT=$demo/root PWAPT_STATE=$demo/state PWAPT_CONFIG=/dev/null
# The demo starts no trace collector, which would outlive it.
export PWAPT_TRACE=off

finish() {
	pwapt stop-all >/dev/null 2>&1 || true
	awk -v d="$demo/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$demo"
}
trap finish EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "Root is a Debian bookworm tree in $PWAPT_ROOT (a copy of $tree)"
cp -a "$tree" "$PWAPT_ROOT"
# The tree has no init system: as on sysvinit in runlevel 2, let
# invoke-rc.d start what the rc2.d links enable (tests/lib.sh does the same).
printf '#!/bin/sh\necho "N 2"\n' >"$PWAPT_ROOT/usr/sbin/runlevel"
printf '#!/bin/sh\n[ "${1#--}" = "$1" ] || shift\ncase $2 in "("*) exit 101 ;; esac\n' \
	>"$PWAPT_ROOT/usr/sbin/policy-rc.d"
chmod 755 "$PWAPT_ROOT/usr/sbin/runlevel" "$PWAPT_ROOT/usr/sbin/policy-rc.d"
repo() { # VERSION: the test packages at that version, Root's only source
	tests/fixtures/apt-repo.sh "$PWAPT_ROOT/srv/pwapt-repo" "$1" >/dev/null
	rm -f "$PWAPT_ROOT/etc/apt/sources.list.d/"*
	echo 'deb [trusted=yes] file:/srv/pwapt-repo ./' >"$PWAPT_ROOT/etc/apt/sources.list"
}
repo 1.0
pwapt update >/dev/null
echo "Installing version 1.0 of some test packages in Root, a service among them..."
wexec Root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	pwapt-test-files pwapt-test-conf pwapt-test-svc pwapt-test-dep </dev/null >/dev/null 2>&1
echo "setting = mine" >>"$PWAPT_ROOT/etc/pwapt-test/test.conf"
run wexec Root cat /run/pwapt-test-svc.version

say "Version 1.1 is out: upgrade through a test world, not in place"
repo 1.1
run pwapt update
mkdir -p "$PWAPT_ROOT/etc/pwapt/tests.d"
cat >"$PWAPT_ROOT/etc/pwapt/tests.d/50-service" <<'EOT'
#!/bin/sh
# The service answers with the new version (it comes up in the background).
for i in $(seq 50); do
	grep -qx 1.1 /run/pwapt-test-svc.version 2>/dev/null && exit 0
	sleep 0.1
done
exit 1
EOT
chmod 755 "$PWAPT_ROOT/etc/pwapt/tests.d/50-service"
run pwapt upgrade --test --keep -y </dev/null

say "The world runs 1.1; Root still runs 1.0, untouched"
run wexec tx1 cat /run/pwapt-test-svc.version
run wexec Root cat /run/pwapt-test-svc.version
run pwapt list

say "Merge it: Root gets the files, dpkg's database, and its service restarted"
run pwapt merge tx1
run wexec Root cat /run/pwapt-test-svc.version
run wexec Root dpkg-query -W pwapt-test-files pwapt-test-svc

say "Changed our mind: roll the merge back"
run pwapt rollback
run wexec Root dpkg-query -W pwapt-test-files

say "A transaction whose test fails is not merged"
rm -r "$PWAPT_ROOT/etc/pwapt/tests.d"
run pwapt install --test --merge-on-success -y --test-cmd "test -e /no/such/file" pwapt-test-a </dev/null ||
	echo "(pwapt install refused to merge: exit $?)"
run pwapt discard tx2

say "Underneath: worlds.  A child world over Root, in milliseconds"
run wcreate PHPUpdate Root
run wexec PHPUpdate sh -c 'echo "upgraded in a world" >/etc/issue; rm /usr/bin/which; hostname'

say "The world changed; Root did not"
run wexec PHPUpdate cat /etc/issue
run cat "$PWAPT_ROOT/etc/issue"
run wexec PHPUpdate sh -c "ls -l /usr/bin/which || true"
run ls -l "$PWAPT_ROOT/usr/bin/which"

say "A world has its own processes and network namespace (its hostname is Root's: it looks like production)"
run wexec PHPUpdate sh -c 'ls /proc | grep -c "^[0-9]" ; cat /proc/1/cmdline; echo'
run wip PHPUpdate

say "A service keeps running in its world"
run wexec PHPUpdate sh -c 'setsid sleep 600 </dev/null >/dev/null 2>&1 &'
run wexec PHPUpdate sh -c 'for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline; echo; done | grep -v "^$"'

say "Worlds nest and combine: the paper's WPTest over two parents"
run wcreate WPUUpdate Root
run wexec WPUUpdate sh -c 'echo "from WPUUpdate" >/etc/issue; echo wp >/etc/wp-version'
run wcreate WPTest WPUUpdate PHPUpdate
run wexec WPTest sh -c 'cat /etc/issue /etc/wp-version; test -e /usr/bin/which || echo "which: removed by PHPUpdate"'

say "All worlds"
run wlist

say "What WPTest changed against its first parent, and in all against Root"
run wdiff WPTest
run wdiff --stat WPTest Root

say "Discard the test world; merge PHPUpdate into Root (journaled, crash-safe)"
run wdelete WPTest
run wdiff PHPUpdate
run wmerge PHPUpdate Root
run cat "$PWAPT_ROOT/etc/issue"
run ls -l "$PWAPT_ROOT/usr/bin/which" || true

say "Changed our mind: roll the merge back"
run pwapt rollback
run cat "$PWAPT_ROOT/etc/issue"
run ls -l "$PWAPT_ROOT/usr/bin/which"

say "A world whose change conflicts with Root is not merged"
run wexec WPUUpdate sh -c 'echo "changed in the world" >/etc/debian_version'
echo "changed in Root meanwhile" >"$PWAPT_ROOT/etc/debian_version"
run wmerge WPUUpdate Root || echo "(wmerge refused: exit $?)"
run wdelete WPUUpdate
run wlist
echo
echo "Next: wconsole NAME for a shell in a world; man -l pwapt/man/pwapt-upgrade.8"
echo "and man -l pwapt/man/pwapt.8."
