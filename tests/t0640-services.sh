#!/bin/sh
# Services known per world (wlist --services, --json) and the processes a
# merge restarts because they use a file it replaced: on the Debian test
# tree, two services of Root, one that maps the library of the tests'
# package pwapt-test-lib (LD_PRELOAD), one that does not; a merge that
# upgrades the library restarts the first only.  Hostile worlds: huge unit
# files, symbolic link loops, processes that exit while they are read.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
command -v cc >/dev/null || skip_all "no cc to build the test library (pwapt-test-lib)"
R=$PWAPT_ROOT
LIB=/usr/lib/pwapt-test/libpwapt-test.so.1

# pid_of WORLD NAME: the pid in NAME's pid file, as WORLD numbers it.
pid_of() { wexec "$1" cat "/run/$2.pid"; }

# service_json WORLD NAME FIELD: FIELD of NAME in WORLD's "services" of
# wlist --json (pids space-separated, booleans as true/false).
service_json() {
	wlist --json >"$TMP/json" && python3 -c '
import json, sys
world, name, field = sys.argv[2:]
for w in json.load(open(sys.argv[1])):
    if w["name"] != world:
        continue
    for s in w["services"]:
        if s["name"] == name:
            v = s[field]
            print(" ".join(map(str, v)) if isinstance(v, list) else
                  json.dumps(v) if isinstance(v, bool) else v)
' "$TMP/json" "$@"
}

# host_pid WORLD PID: the host's pid of WORLD's process PID.
host_pid() {
	python3 -c '
import os, sys
ns = os.stat("/proc/%s/ns/pid" % sys.argv[1]).st_ino
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.stat("/proc/%s/ns/pid" % p).st_ino != ns:
            continue
        for l in open("/proc/%s/status" % p):
            if l.startswith("NSpid:") and l.split()[-1] == sys.argv[2]:
                print(p)
    except OSError:
        pass
' "$(init_pid "$1")" "$2"
}

test_expect_success 'set up: pwapt-test-lib 1.0 in Root, two services running, 1.1 in the lists' '
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-lib &&
	add_service "$R" pwapt-libuser "$LIB" &&
	add_service "$R" pwapt-plain &&
	add_service "$R" pwapt-idle &&
	ln -s ../init.d/pwapt-libuser "$R/etc/rc2.d/S01pwapt-libuser" &&
	mkdir -p "$R/lib/systemd/system" "$R/etc/systemd/system/multi-user.target.wants" &&
	printf "[Service]\nExecStart=/bin/true\n" >"$R/lib/systemd/system/pwapt-unit.service" &&
	ln -s /lib/systemd/system/pwapt-unit.service \
		"$R/etc/systemd/system/multi-user.target.wants/pwapt-unit.service" &&
	use_test_repo 1.1 &&
	wexec Root /etc/init.d/pwapt-libuser start &&
	wexec Root /etc/init.d/pwapt-plain start &&
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/\$(pid_of Root pwapt-libuser)/maps"
'

test_expect_success 'wlist --services: running and stopped, enabled, kinds, pids as Root numbers them' '
	wlist --services >"$TMP/out" && cat "$TMP/out" &&
	lib=$(pid_of Root pwapt-libuser) && plain=$(pid_of Root pwapt-plain) &&
	grep -Eq "^  pwapt-libuser +init +yes +yes +$lib\$" "$TMP/out" &&
	grep -Eq "^  pwapt-plain +init +no +yes +$plain\$" "$TMP/out" &&
	grep -Eq "^  pwapt-idle +init +no +no +-\$" "$TMP/out" &&
	grep -Eq "^  pwapt-unit +systemd +yes +no +-\$" "$TMP/out"
'

test_expect_success 'wlist --json: a services array for each world' '
	test_equal "$(pid_of Root pwapt-libuser)" "$(service_json Root pwapt-libuser pids)" &&
	test_equal true "$(service_json Root pwapt-libuser running)" &&
	test_equal init "$(service_json Root pwapt-libuser kind)" &&
	test_equal false "$(service_json Root pwapt-idle running)" &&
	test_equal "" "$(service_json Root pwapt-idle pids)" &&
	test_equal systemd "$(service_json Root pwapt-unit kind)" &&
	test_equal true "$(service_json Root pwapt-unit enabled)"
'

test_expect_success 'a world knows its own services: running there, not in Root' '
	wcreate W Root >/dev/null &&
	wexec W /etc/init.d/pwapt-idle start &&
	wait_for 10 "wexec W test -s /run/pwapt-idle.pid" &&
	test_equal "$(pid_of W pwapt-idle)" "$(service_json W pwapt-idle pids)" &&
	test_equal true "$(service_json W pwapt-idle running)" &&
	test_equal false "$(service_json W pwapt-libuser running)" &&
	test_equal false "$(service_json Root pwapt-idle running)" &&
	wdelete W
'

test_expect_success 'a service whose script computes its pid file: found by /run/NAME/NAME.pid (apache2'"'"'s)' '
	cat >"$R/etc/init.d/pwapt-computed" <<-\EOS &&
	#!/bin/sh
	PIDFILE=$(echo /run/pwapt-computed/pwapt-computed.pid)
	case "$1" in
	start) mkdir -p /run/pwapt-computed &&
		start-stop-daemon --start --quiet --background --make-pidfile \
			--pidfile $PIDFILE --startas /bin/sleep -- 100000 ;;
	stop) start-stop-daemon --stop --quiet --pidfile $PIDFILE; rm -f $PIDFILE ;;
	esac
	EOS
	chmod 755 "$R/etc/init.d/pwapt-computed" &&
	wexec Root /etc/init.d/pwapt-computed start &&
	wait_for 10 "wexec Root test -s /run/pwapt-computed/pwapt-computed.pid" &&
	test_equal "$(wexec Root cat /run/pwapt-computed/pwapt-computed.pid)" \
		"$(service_json Root pwapt-computed pids)" &&
	test_equal true "$(service_json Root pwapt-computed running)" &&
	wexec Root /etc/init.d/pwapt-computed stop &&
	rm "$R/etc/init.d/pwapt-computed"
'

test_expect_success 'a merge that replaces a library restarts the service that maps it, and only that one' '
	lib=$(pid_of Root pwapt-libuser) && plain=$(pid_of Root pwapt-plain) &&
	pwapt install --test --merge-on-success -y pwapt-test-lib </dev/null >"$TMP/out" 2>&1;
	cat "$TMP/out" &&
	grep -q "^Merged tx1 into Root" "$TMP/out" &&
	grep -q "^Pid $lib in Root (sleep) of service pwapt-libuser uses $LIB, which the merge replaced\.\$" "$TMP/out" &&
	grep -q "^Restarting pwapt-libuser in Root... done" "$TMP/out" &&
	! grep -q pwapt-plain "$TMP/out" &&
	! grep -q pwapt-idle "$TMP/out" &&
	new=$(pid_of Root pwapt-libuser) &&
	test "$new" != "$lib" &&
	test_equal "$plain" "$(pid_of Root pwapt-plain)" &&
	wexec Root grep -q "libpwapt-test.so.1\$" /proc/$new/maps &&
	! wexec Root grep -q "libpwapt-test.so.1 (deleted)" /proc/$new/maps
'

test_expect_success 'pwapt rollback of that merge restarts it again on the old library' '
	lib=$(pid_of Root pwapt-libuser) && plain=$(pid_of Root pwapt-plain) &&
	pwapt rollback >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "Restarting pwapt-libuser in Root... done" "$TMP/out" &&
	test "$(pid_of Root pwapt-libuser)" != "$lib" &&
	test_equal "$plain" "$(pid_of Root pwapt-plain)"
'

test_expect_success 'wmerge --no-restart names the processes of DST that use a replaced file, and restarts none' '
	lib=$(pid_of Root pwapt-libuser) && plain=$(pid_of Root pwapt-plain) &&
	wcreate A Root >/dev/null &&
	wexec A sh -c "cp $LIB $LIB.new && mv $LIB.new $LIB" &&
	wmerge --no-restart A Root >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^Pid $lib in Root (sleep) of service pwapt-libuser uses $LIB, which the merge replaced\.\$" "$TMP/out" &&
	grep -q "^Not restarted (--no-restart): pwapt-libuser\.\$" "$TMP/out" &&
	! grep -q pwapt-plain "$TMP/out" &&
	test_equal "$lib" "$(pid_of Root pwapt-libuser)" &&
	test_equal "$plain" "$(pid_of Root pwapt-plain)" &&
	wexec Root /etc/init.d/pwapt-libuser restart
'

test_expect_success 'wmerge restarts the service of DST that maps a replaced library, and only that one' '
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/\$(pid_of Root pwapt-libuser)/maps" &&
	lib=$(pid_of Root pwapt-libuser) && plain=$(pid_of Root pwapt-plain) &&
	wcreate A Root >/dev/null &&
	wexec A sh -c "cp $LIB $LIB.new && mv $LIB.new $LIB" &&
	wmerge A Root >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^Pid $lib in Root (sleep) of service pwapt-libuser uses $LIB, which the merge replaced\.\$" "$TMP/out" &&
	grep -q "^Restarting pwapt-libuser in Root... done, checked" "$TMP/out" &&
	! grep -q pwapt-plain "$TMP/out" &&
	test "$(pid_of Root pwapt-libuser)" != "$lib" &&
	test_equal "$plain" "$(pid_of Root pwapt-plain)"
'

test_expect_success 'wmerge --plan names the service of DST that maps a library the merge replaces, and a process of no service; the merge does so, all by pid in Root' '
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/\$(pid_of Root pwapt-libuser)/maps" &&
	lib=$(pid_of Root pwapt-libuser) && plain=$(pid_of Root pwapt-plain) &&
	wexec Root sh -c "LD_PRELOAD=$LIB sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-stray" &&
	stray=$(wexec Root cat /run/pwapt-stray) &&
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/$stray/maps" &&
	wcreate A Root >/dev/null &&
	wexec A sh -c "cp $LIB $LIB.new && mv $LIB.new $LIB" &&
	wmerge --plan A Root >"$TMP/plan" 2>&1; cat "$TMP/plan" &&
	grep -q "^restart pwapt-libuser in Root: uses a file the merge replaces\$" "$TMP/plan" &&
	grep -q "^restart by hand: pid $stray in Root (sleep) uses $LIB, which the merge replaces; it belongs to no service\$" "$TMP/plan" &&
	! grep -q pwapt-plain "$TMP/plan" &&
	wmerge --plan --no-restart A Root >"$TMP/plan" 2>&1; cat "$TMP/plan" &&
	grep -q "^restart by hand: pid $stray in Root (sleep) uses $LIB, which the merge replaces; it belongs to no service\$" "$TMP/plan" &&
	! grep -q "^restart pwapt-libuser" "$TMP/plan" &&
	wmerge --plan --json A Root >"$TMP/json" &&
	python3 -c "
import json, sys
p = json.load(open(sys.argv[1]))
assert [s[\"service\"] for s in p[\"restart\"]] == [\"pwapt-libuser\"], p
assert p[\"stop\"] == [] and p[\"start\"] == [], p
assert [(u[\"pid\"], u[\"path\"]) for u in p[\"by_hand\"]] == [(int(sys.argv[2]), sys.argv[3])], p
" "$TMP/json" "$stray" "$LIB" &&
	test_equal "$lib" "$(pid_of Root pwapt-libuser)" &&
	wmerge A Root >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^Restarting pwapt-libuser in Root... done, checked" "$TMP/out" &&
	grep -q "^wmerge: warning: pid $stray in Root (sleep) uses $LIB, which the merge replaced, and belongs to no service: restart it by hand\$" "$TMP/out" &&
	grep -q "^Pid $lib in Root (sleep) of service pwapt-libuser uses $LIB, which the merge replaced\.\$" "$TMP/out" &&
	grep -Eq "^! $LIB: mapped by pid ($lib|$stray) in Root \(sleep\) and 1 more\$" "$TMP/out" &&
	! grep -q pwapt-plain "$TMP/out" &&
	test "$(pid_of Root pwapt-libuser)" != "$lib" &&
	test_equal "$plain" "$(pid_of Root pwapt-plain)" &&
	wexec Root sh -c "kill $stray; rm /run/pwapt-stray"
'

test_expect_success 'pwapt merge --plan names the service of Root that maps the library the transaction replaces' '
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/\$(pid_of Root pwapt-libuser)/maps" &&
	pwapt install --test --keep -y pwapt-test-lib </dev/null >"$TMP/out" 2>&1 &&
	tx=$(sed -n "s/^Transaction \(tx[0-9]*\): .*ready\$/\1/p" "$TMP/out") &&
	test -n "$tx" &&
	pwapt merge --plan "$tx" >"$TMP/plan" 2>&1; cat "$TMP/plan" &&
	grep -q "^restart pwapt-libuser in Root: uses a file the merge replaces\$" "$TMP/plan" &&
	! grep -q pwapt-plain "$TMP/plan" &&
	wexec Root sh -c "LD_PRELOAD=$LIB sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-stray" &&
	stray=$(wexec Root cat /run/pwapt-stray) &&
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/$stray/maps" &&
	pwapt merge --plan --no-restart "$tx" >"$TMP/plan" 2>&1; cat "$TMP/plan" &&
	wexec Root sh -c "kill $stray; rm /run/pwapt-stray" &&
	grep -q "^No service is restarted (--no-restart)\.\$" "$TMP/plan" &&
	grep -q "^restart by hand: pid $stray in Root (sleep) uses $LIB, which the merge replaces; it belongs to no service\$" "$TMP/plan" &&
	pwapt discard "$tx" >/dev/null
'

test_expect_success 'pwapt merge --no-restart of a chain names the processes and their services, restarts none, says a refused pid file once' '
	wexec Root /etc/init.d/pwapt-libuser restart &&
	wait_for 10 "wexec Root grep -q libpwapt-test /proc/\$(pid_of Root pwapt-libuser)/maps" &&
	lib=$(pid_of Root pwapt-libuser) &&
	pwapt install --test --keep -y pwapt-test-lib </dev/null >"$TMP/out" 2>&1 &&
	tx=$(sed -n "s/^Transaction \(tx[0-9]*\): .*ready\$/\1/p" "$TMP/out") &&
	test -n "$tx" &&
	pwapt install --test --keep -y pwapt-test-a </dev/null >"$TMP/out" 2>&1 &&
	tx2=$(sed -n "s/^Transaction \(tx[0-9]*\): .*ready\$/\1/p" "$TMP/out") &&
	pwapt list | grep -Eq "^$tx2 +$tx +ready" &&
	# A pid file of Root refused: said once, not for each transaction
	# of the chain and each plan of its merge.
	add_service "$R" pwapt-badpf && wexec Root sh -c "echo 1 >/run/pwapt-badpf.pid" &&
	pwapt merge --no-restart "$tx2" >"$TMP/out" 2>&1; cat "$TMP/out" &&
	rm "$R/etc/init.d/pwapt-badpf" && wexec Root rm /run/pwapt-badpf.pid &&
	test_equal 1 "$(grep -c "^pwapt merge: warning: service pwapt-badpf in Root: pid file /run/pwapt-badpf.pid names pid 1" "$TMP/out")" &&
	grep -q "^Pid $lib in Root (sleep) of service pwapt-libuser uses $LIB, which the merge replaced\.\$" "$TMP/out" &&
	grep -q "^Not restarted (--no-restart): pwapt-libuser\.\$" "$TMP/out" &&
	! grep -q "^Restarting" "$TMP/out" &&
	test_equal "$lib" "$(pid_of Root pwapt-libuser)" &&
	wexec Root /etc/init.d/pwapt-libuser restart
'

test_expect_success 'a replaced file named with a terminal escape: quoted in the plan and in the merge'"'"'s lines' '
	EVIL=$(printf "/usr/lib/pwapt-test/libevil-\033[7m.so") &&
	Q=$(printf "\"/usr/lib/pwapt-test/libevil-\\\\033[7m.so\"") &&
	ESC=$(printf "\033") &&
	cp "$R$LIB" "$R$EVIL" &&
	add_service "$R" pwapt-evil "$EVIL" &&
	wexec Root /etc/init.d/pwapt-evil start &&
	wexec Root sh -c "LD_PRELOAD=\"$EVIL\" sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-stray" &&
	stray=$(wexec Root cat /run/pwapt-stray) &&
	wait_for 10 "wexec Root grep -q libevil /proc/$stray/maps" &&
	wait_for 10 "wexec Root grep -q libevil /proc/\$(pid_of Root pwapt-evil)/maps" &&
	evil=$(pid_of Root pwapt-evil) &&
	wcreate A Root >/dev/null &&
	wexec A sh -c "cp \"$EVIL\" \"$EVIL.new\" && mv \"$EVIL.new\" \"$EVIL\"" &&
	wmerge --plan A Root >"$TMP/plan" 2>&1; cat -v "$TMP/plan" &&
	grep -qF "restart by hand: pid $stray in Root (sleep) uses $Q, which the merge replaces; it belongs to no service" "$TMP/plan" &&
	! grep -q "$ESC" "$TMP/plan" &&
	wmerge A Root >"$TMP/out" 2>&1; cat -v "$TMP/out" &&
	wexec Root sh -c "kill $stray; rm /run/pwapt-stray" &&
	grep -qF "wmerge: warning: pid $stray in Root (sleep) uses $Q, which the merge replaced, and belongs to no service: restart it by hand" "$TMP/out" &&
	grep -qF "Pid $evil in Root (sleep) of service pwapt-evil uses $Q, which the merge replaced." "$TMP/out" &&
	! grep -q "$ESC" "$TMP/out" &&
	wexec Root /etc/init.d/pwapt-evil stop &&
	rm "$R/etc/init.d/pwapt-evil" "$R$EVIL"
'

test_expect_success 'hostile world: huge unit files, symbolic link loops, a FIFO: listed with notes, no crash' '
	wcreate H Root >/dev/null &&
	T=$PWAPT_STATE/worlds/H/merged &&
	sd=$T/etc/systemd/system &&
	python3 -c "import sys; sys.stdout.write(\"Description=\" + \"x\" * 3000000 + \"\n\")" \
		>"$T/usr/lib/systemd/system/pwapt-huge.service" &&
	python3 -c "import sys; sys.stdout.write(\"[Service]\n#\" + \"y\" * 600000 + \"\nPIDFile=/run/pwapt-long.pid\n\")" \
		>"$T/usr/lib/systemd/system/pwapt-long.service" &&
	ln -s a.service "$sd/b.service" && ln -s b.service "$sd/a.service" &&
	ln -s loop.wants "$sd/loop.wants" &&
	mkdir "$sd/deep.wants" && ln -s ../deep.wants "$sd/deep.wants/deep.wants" &&
	mkfifo "$T/etc/init.d/pwapt-fifo" &&
	wexec H sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-long.pid" &&
	wlist --services >"$TMP/out" 2>"$TMP/err" && cat "$TMP/out" "$TMP/err" &&
	grep -Eq "^  pwapt-huge +systemd +no +no" "$TMP/out" &&
	grep -q "! /usr/lib/systemd/system/pwapt-huge.service is larger than 1 MiB: not read" "$TMP/out" &&
	grep -Eq "^  pwapt-long +systemd +no +yes +$(wexec H cat /run/pwapt-long.pid)\$" "$TMP/out" &&
	grep -Eq "^  a +systemd" "$TMP/out" && grep -Eq "^  b +systemd" "$TMP/out" &&
	! grep -q pwapt-fifo "$TMP/out" &&
	timeout 60 wlist --json >/dev/null
'

test_expect_success 'hostile world: /etc/systemd/system a symbolic link loop: said, the rest listed' '
	T=$PWAPT_STATE/worlds/H/merged &&
	mv "$T/etc/systemd/system" "$T/etc/systemd/system.old" &&
	ln -s system "$T/etc/systemd/system" &&
	wlist --services >"$TMP/out" 2>&1 && cat "$TMP/out" &&
	grep -q "! /etc/systemd/system is no plain directory" "$TMP/out" &&
	grep -Eq "^  pwapt-long +systemd" "$TMP/out" &&
	wdelete H
'

# cgroup_dir HOSTPID: the cgroup directory of process HOSTPID in the
# name=systemd hierarchy, or else in cgroup2's; nothing when neither is
# mounted.
cgroup_dir() {
	_p=$(sed -n "s/^[0-9]*:name=systemd://p" "/proc/$1/cgroup")
	[ -n "$_p" ] && [ -d "/sys/fs/cgroup/systemd$_p" ] && {
		echo "/sys/fs/cgroup/systemd$_p"
		return
	}
	_p=$(sed -n "s/^0:://p" "/proc/$1/cgroup")
	for _m in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ "$(stat -fc %T $_m 2>/dev/null)" = cgroup2fs ] && [ -d "$_m$_p" ] && {
			echo "$_m$_p"
			return
		}
	done
}

test_expect_success 'hostile pid files: pid 1, garbage, a link, a pid of no process: refused and said, nothing else owned' '
	wcreate P Root >/dev/null &&
	T=$PWAPT_STATE/worlds/P/merged &&
	for n in good one neg huge text link gone multi blanks multibad lnkdir; do
		add_service "$T" pwapt-pf-$n || return 1
	done &&
	sed -i "s|^PIDFILE=.*|PIDFILE=/var/run/pwapt-pf-var-d.pid|" "$T/etc/init.d/pwapt-pf-good" &&
	sed -i "s|^PIDFILE=.*|PIDFILE=/run/pwapt-pf-lnkdir/x.pid|" "$T/etc/init.d/pwapt-pf-lnkdir" &&
	test -L "$T/var/run" &&
	wexec P sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/var/run/pwapt-pf-var-d.pid" &&
	wexec P sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & printf \"%s\n7\n8\n\" \$! >/run/pwapt-pf-multi.pid" &&
	wexec P sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & printf \" \t%s \r\n\n\" \$! >/run/pwapt-pf-blanks.pid" &&
	wexec P sh -c "echo 1 >/run/pwapt-pf-one.pid; echo -5 >/run/pwapt-pf-neg.pid; echo 99999999999 >/run/pwapt-pf-huge.pid; echo 1abc >/run/pwapt-pf-text.pid; echo 4194300 >/run/pwapt-pf-gone.pid; ln -s /run/pwapt-pf-one.pid /run/pwapt-pf-link.pid; printf \"x\n\$(cat /run/pwapt-pf-multi.pid)\n\" >/run/pwapt-pf-multibad.pid; mkdir /run/pwapt-pf-real; cp /run/pwapt-pf-blanks.pid /run/pwapt-pf-real/x.pid; ln -s pwapt-pf-real /run/pwapt-pf-lnkdir" &&
	good=$(wexec P cat /run/pwapt-pf-var-d.pid) &&
	multi=$(wexec P head -n1 /run/pwapt-pf-multi.pid) &&
	blanks=$(wexec P cat /run/pwapt-pf-blanks.pid | tr -d " \t\r\n") &&
	wlist --services >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -Eq "^  pwapt-pf-good +init +no +yes +$good\$" "$TMP/out" &&
	grep -Eq "^  pwapt-pf-multi +init +no +yes +$multi\$" "$TMP/out" &&
	grep -Eq "^  pwapt-pf-blanks +init +no +yes +$blanks\$" "$TMP/out" &&
	for n in one neg huge text link gone multibad lnkdir; do
		grep -Eq "^  pwapt-pf-$n +init +no +no +-\$" "$TMP/out" || return 1
	done &&
	grep -q "^    ! pid file /run/pwapt-pf-one.pid names pid 1, the world.s init: ignored\$" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-neg.pid holds no pid: ignored\$" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-huge.pid holds no pid: ignored\$" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-text.pid holds no pid: ignored\$" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-multibad.pid holds no pid: ignored\$" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-link.pid is a symbolic link: not followed\$" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-lnkdir/x.pid is in no plain directory (a symbolic link is not followed): ignored;" "$TMP/out" &&
	grep -q "^    ! pid file /run/pwapt-pf-gone.pid names pid 4194300, no process of the world: ignored\$" "$TMP/out" &&
	! grep -q "pwapt-pf-\(good\|multi\|blanks\)\.pid\|var-d" "$TMP/out" &&
	test_equal "pid file /run/pwapt-pf-one.pid names pid 1, the world'"'"'s init: ignored" \
		"$(service_json P pwapt-pf-one warning)" &&
	test_equal false "$(service_json P pwapt-pf-one running)" &&
	wmerge --plan P Root >"$TMP/plan" 2>"$TMP/err"; cat "$TMP/plan" "$TMP/err" &&
	grep -q "^wmerge: warning: service pwapt-pf-one in P: pid file /run/pwapt-pf-one.pid names pid 1, the world.s init: ignored\$" "$TMP/err" &&
	test_equal 1 "$(grep -c "pwapt-pf-one.pid" "$TMP/err")" &&
	grep -q "^stop pwapt-pf-good in P\$" "$TMP/plan" &&
	grep -q "^stop pwapt-pf-multi in P\$" "$TMP/plan" &&
	grep -q "^stop pwapt-pf-blanks in P\$" "$TMP/plan" &&
	test_equal 3 "$(grep -c "^stop " "$TMP/plan")"
'

test_expect_success 'where the world runs systemd, a pid file names a process of another unit (an alias, a user@UID.service): taken' '
	T=$PWAPT_STATE/worlds/P/merged &&
	add_service "$T" pwapt-pf-alias && add_service "$T" pwapt-pf-byhand &&
	wexec P mkdir -p /run/systemd/system &&
	wexec P sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-pf-alias.pid" &&
	wexec P sh -c "sleep 100000 </dev/null >/dev/null 2>&1 & echo \$! >/run/pwapt-pf-byhand.pid" &&
	alias=$(wexec P cat /run/pwapt-pf-alias.pid) && byhand=$(wexec P cat /run/pwapt-pf-byhand.pid) &&
	ha=$(host_pid P "$alias") && hb=$(host_pid P "$byhand") &&
	cg=$(cgroup_dir "$ha") && test -n "$cg" &&
	mkdir "$cg/pwapt-pf-aliased.service" "$cg/user@1000.service" && {
		echo "$ha" >"$cg/pwapt-pf-aliased.service/cgroup.procs" &&
		echo "$hb" >"$cg/user@1000.service/cgroup.procs" &&
		sed -n "/systemd\|^0::/p" /proc/$ha/cgroup /proc/$hb/cgroup &&
		wlist --services >"$TMP/out" 2>&1
		r=$?
		echo "$ha" >"$cg/cgroup.procs"
		echo "$hb" >"$cg/cgroup.procs"
		kill "$ha" "$hb"
		rmdir "$cg/pwapt-pf-aliased.service" "$cg/user@1000.service"
	} && cat "$TMP/out" && test "$r" = 0 &&
	grep -Eq "^  pwapt-pf-alias +init +no +yes +$alias\$" "$TMP/out" &&
	grep -Eq "^  pwapt-pf-byhand +init +no +yes +$byhand\$" "$TMP/out" &&
	! grep -q "pwapt-pf-alias.pid\|pwapt-pf-byhand.pid" "$TMP/out" &&
	wdelete P
'

test_expect_success 'a process that exits while wlist reads the process table is left out' '
	plain=$(host_pid Root "$(pid_of Root pwapt-plain)") && test -n "$plain" &&
	{ PWAPT_STOP_AT=procs-listed wlist --json >"$TMP/json" 2>"$TMP/err" & pid=$!; } &&
	wait_for 20 "grep -q \"^State:.*T\" /proc/$pid/status" &&
	kill -9 "$plain" &&
	wait_for 10 "! test -e /proc/$plain/status" &&
	# It stops once for each running world (a world a failed test left
	# too): continued until it exits, never left stopped.
	{ while kill -CONT $pid 2>/dev/null; do sleep 0.2; done & } &&
	wait $pid && cat "$TMP/err" &&
	python3 -c "
import json, sys
ws = json.load(open(sys.argv[1]))
root = [w for w in ws if w[\"name\"] == \"Root\"][0]
plain = [s for s in root[\"services\"] if s[\"name\"] == \"pwapt-plain\"][0]
assert plain[\"running\"] is False and plain[\"pids\"] == [], plain
" "$TMP/json"
'

test_done
