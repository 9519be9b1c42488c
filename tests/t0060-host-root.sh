#!/bin/sh
# Worlds over this machine's own "/".  Creating them changes nothing on the
# host; nothing here writes to the host's tree, and the check at the end
# proves it for the paths the worlds wrote.
. "$(dirname "$0")/lib.sh"
PWAPT_ROOT=/
export PWAPT_ROOT
canary=/etc/pwapt-test-canary-$$

test_expect_success 'a world over / sees the host system' '
	wcreate H Root &&
	test_equal "$(cat /etc/debian_version)" "$(wexec H cat /etc/debian_version)" &&
	test_equal "$(uname -n)" "$(wexec H hostname)"
'

test_expect_success 'writes in a world over / stay in the world' '
	wexec H sh -c "echo in-world >$canary; rm -f /etc/issue.net" &&
	test_equal in-world "$(wexec H cat $canary)" &&
	! test -e $canary
'

test_expect_success 'neither the state directory nor any layer is visible in a world over /' '
	echo secret-canary >"$PWAPT_STATE/canary" &&
	test_absent_in H "$PWAPT_STATE" "$PWAPT_STATE/worlds/H/upper" "$PWAPT_STATE/canary"
'


test_expect_success 'worlds over / nest' '
	wcreate H2 H && wcreate H3 H2 &&
	test_equal in-world "$(wexec H3 cat $canary)" &&
	wexec H3 sh -c "echo deep >$canary.deep" &&
	test_absent_in H $canary.deep && ! test -e $canary.deep
'

test_expect_success 'a world over / does not see the host processes' '
	sleep 300 & hostpid=$! &&
	test_has "^sleep 300" ps -e -o args &&
	test_lacks "^sleep 300" wexec H ps -e -o args;
	rc=$?; kill $hostpid; test $rc = 0
'

test_expect_success 'wexec Root over / runs on the host itself, with a clean environment' '
	test_equal "$(hostname)" "$(wexec Root hostname)" &&
	SECRET_FROM_CALLER=1 wexec Root env >"$TMP/env" &&
	! grep -q SECRET_FROM_CALLER "$TMP/env" &&
	grep -qx "HOME=/root" "$TMP/env" &&
	! grep -q "^container=" "$TMP/env" &&
	test_equal / "$(cd /tmp && wexec Root pwd)" &&
	{ wexec Root sh -c "exit 7"; test_equal 7 $?; }
'

test_expect_success 'wlist --services over /: the host'"'"'s init scripts; a world'"'"'s own, running in its container' '
	wexec H sh -c "printf \"#!/bin/sh\\n\" >/etc/init.d/pwapt-h && chmod 755 /etc/init.d/pwapt-h" &&
	wexec H sh -c "sleep 300 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-h.pid" &&
	! test -e /etc/init.d/pwapt-h &&
	wlist --json >"$TMP/json" &&
	python3 -c "
import json, os, re, sys
ws = {w[\"name\"]: w for w in json.load(open(sys.argv[1]))}
root = {s[\"name\"]: s for s in ws[\"Root\"][\"services\"]}
h = {s[\"name\"]: s for s in ws[\"H\"][\"services\"]}
for n in os.listdir(\"/etc/init.d\"):
    p = \"/etc/init.d/\" + n
    if re.fullmatch(r\"[A-Za-z0-9_][A-Za-z0-9_.+-]*\", n) and n not in (\"README\", \"rc\", \"rcS\", \"skeleton\") \\
            and os.path.isfile(p) and not os.path.islink(p) and \".dpkg-\" not in n:
        assert n in root, n
assert \"pwapt-h\" not in root, root.get(\"pwapt-h\")
assert h[\"pwapt-h\"][\"running\"] and h[\"pwapt-h\"][\"pids\"] == [int(sys.argv[2])], h[\"pwapt-h\"]
" "$TMP/json" "$(wexec H cat /run/pwapt-h.pid)"
'

test_expect_success 'deleting worlds over / leaves the host as it was' '
	wdelete H H2 H3 &&
	! test -e $canary && ! test -e $canary.deep &&
	pwapt stop-all &&
	test -z "$(mounts_below "$PWAPT_STATE")"
'

# The layout of a host, /var/lib/pwapt inside Root, reproduced in a test
# tree: here the state directory is not under a fresh /tmp, so it is the
# explicit cover that must hide it.
test_expect_success 'a state directory inside Root (/var/lib/pwapt) is hidden and worlds nest' '
	make_busybox_root "$TMP/tree" &&
	export PWAPT_ROOT="$TMP/tree" PWAPT_STATE="$TMP/tree/var/lib/pwapt" &&
	wcreate V Root && wcreate V2 V &&
	echo secret >"$PWAPT_STATE/canary" &&
	test_absent_in V2 /var/lib/pwapt/canary /var/lib/pwapt/worlds &&
	test_absent_in Root /var/lib/pwapt/canary &&
	wexec V2 sh -c "echo v2 >/etc/v2" &&
	! test -e "$TMP/tree/etc/v2" &&
	test_equal "This is the test Root." "$(wexec V2 cat /etc/motd)" &&
	echo replaced >"$TMP/tree/etc/motd.new" && mv "$TMP/tree/etc/motd.new" "$TMP/tree/etc/motd" &&
	test_equal replaced "$(wexec V2 cat /etc/motd)" &&
	wdelete V V2 && pwapt stop-all &&
	test -z "$(mounts_below "$PWAPT_STATE")"
'

test_done
