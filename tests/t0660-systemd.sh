#!/bin/sh
# Real systemd: the tree's own systemd as PID 1 of Root's container and of
# a world's (pwapt.conf's init = auto|systemd), on a Debian test tree with
# systemd (PWAPT_TREE_EXTRA: a tree of its own, built once into
# PWAPT_CACHE).  A unit of the tests' repository (pwapt-test-unitd, a unit
# and no init script) runs in Root; its upgrade through a world restarts it
# by systemctl on the merged files (its new unit file loaded), checks its
# health, and a new version that fails is rolled back with the old unit
# running again.  Units a wmerge moves start in their After= order.  wlist --services shows the units with their pids.  Every
# container stops by systemd's own halt, and leaves no process, cgroup or
# mount, also when killed.
PWAPT_TREE_EXTRA=systemd,systemd-sysv; export PWAPT_TREE_EXTRA
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
R=$PWAPT_ROOT
[ -x "$R/lib/systemd/systemd" ] && [ -L "$R/sbin/init" ] ||
	skip_all "the Debian test tree has no systemd as its /sbin/init"
# What pwapt asks of the host before it runs systemd in a container.
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] ||
	[ "$(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null)" = cgroupfs ] ||
	skip_all "this host has neither cgroup2 nor the name=systemd hierarchy"
UNIT=pwapt-test-unitd

set_init() { echo "init = $1" >"$PWAPT_CONFIG"; }

installed() {
	wexec "$1" dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$2" 2>/dev/null |
		sed -n 's/^ii *//p'
}

# main_pid WORLD: the unit's main pid, as WORLD numbers it ("0": none).
main_pid() { wexec "$1" systemctl show -p MainPID --value $UNIT; }

# unit_runs WORLD VERSION: the unit is active in WORLD with daemon and
# unit file of VERSION.
unit_runs() {
	wexec "$1" systemctl is-active --quiet $UNIT || {
		echo "$UNIT is not active in $1:"
		wexec "$1" systemctl status --no-pager $UNIT
		return 1
	}
	test_equal "$2" "$(wexec "$1" cat /run/$UNIT.version)" &&
		test_equal "$2" "$(wexec "$1" cat /run/$UNIT.unit)"
}

# note_container WORLD: what WORLD's running container is on the host, for
# container_gone: its init's pid, its pid namespace, and its cgroups (each
# with its inode: another container may get the same name later).
note_container() {
	_pid=$(init_pid "$1") && [ "${_pid:-0}" -gt 1 ] || {
		echo "$1 does not run"
		return 1
	}
	{
		echo "$_pid $(stat -Lc %i /proc/$_pid/ns/pid)"
		for _top in $(cut -d: -f3 /proc/$_pid/cgroup | cut -d/ -f2 | sort -u); do
			for _m in $(awk '$9 ~ /^cgroup/ { print $5 }' /proc/self/mountinfo); do
				[ -d "$_m/$_top" ] && echo "$_m/$_top $(stat -c %i "$_m/$_top")"
			done
		done
	} >"$TMP/ct-$1"
	grep -q "/lxc.payload" "$TMP/ct-$1" || {
		echo "no cgroup of $1's container found:"
		cat /proc/$_pid/cgroup
		return 1
	}
}

# container_gone WORLD: nothing is left of the container note_container
# noted: no process of its pid namespace, none of its cgroups (liblxc's
# monitor removes them once its init is gone: a while, never forever).
container_gone() {
	_ct=$TMP/ct-$1
	read -r _pid _ns <"$_ct"
	_left() {
		for _p in /proc/[0-9]*; do
			[ "$(stat -Lc %i "$_p/ns/pid" 2>/dev/null)" = "$_ns" ] && echo "process ${_p#/proc/}"
		done
		tail -n +2 "$_ct" | while read -r _cg _ino; do
			[ "$(stat -c %i "$_cg" 2>/dev/null)" = "$_ino" ] && echo "cgroup $_cg"
		done
	}
	wait_for 30 'test -z "$(_left)"' || { _left; return 1; }
}

test_expect_success 'init in pwapt.conf: none, auto or systemd, anything else said' '
	set_init sytsemd &&
	test_fails_with 1 "init is .none., .auto. or .systemd., not .sytsemd." wlist
'

test_expect_success 'by default PID 1 of Root'\''s container is pwapt-init, never the tree'\''s' '
	: >"$PWAPT_CONFIG" &&
	test_equal .pwapt-init "$(wexec Root cat /proc/1/comm)" &&
	! wexec Root test -e /run/systemd/system &&
	pwapt stop-all
'

test_expect_success 'init = systemd where /sbin/init is not systemd: refused, nothing left running' '
	mv "$R/usr/sbin/init" "$TMP/init" &&
	ln -s /sbin/init "$R/usr/sbin/init" &&
	set_init systemd &&
	test_fails_with 1 "init = systemd, but the /sbin/init of .Root. is not systemd" wexec Root true &&
	test_exit 1 pgrep -f "lxc monitor\] $PWAPT_STATE/worlds Root\$" &&
	set_init auto &&
	test_equal .pwapt-init "$(wexec Root cat /proc/1/comm)" &&
	pwapt stop-all &&
	rm "$R/usr/sbin/init" && mv "$TMP/init" "$R/usr/sbin/init"
'

test_expect_success 'init = systemd: a link out of the tree is followed inside it, never on the host' '
	ln -sfn ../../../../../../../../../lib/systemd/systemd "$R/usr/sbin/init" &&
	set_init systemd &&
	test_equal systemd "$(wexec Root cat /proc/1/comm)" &&
	pwapt stop-all &&
	ln -sfn /proc/1/exe "$R/usr/sbin/init" &&
	test_fails_with 1 "is not systemd" wexec Root true &&
	ln -sfn /lib/systemd/systemd "$R/usr/sbin/init"
'

test_expect_success 'init = auto: the tree'\''s systemd is PID 1 of Root'\''s container, booted when the command runs' '
	set_init auto &&
	wexec Root cat /proc/1/comm >"$TMP/comm" &&
	wexec Root systemctl is-system-running >"$TMP/booted"; cat "$TMP/booted" &&
	test_equal systemd "$(cat "$TMP/comm")" &&
	grep -Eqx "running|degraded" "$TMP/booted" &&
	wexec Root cat /proc/1/environ | tr "\0" "\n" | grep -qx container=lxc
'

test_expect_success 'set up: pwapt-test-unitd 1.0 installed in Root and started by its postinst' '
	use_test_repo 1.0 &&
	install_test_packages $UNIT &&
	use_test_repo 1.1 &&
	unit_runs Root 1.0 &&
	wexec Root systemctl is-enabled --quiet $UNIT
'

# unit_listed WORLD: wlist --services lists the unit in WORLD enabled and
# running, its main pid among its pids, and each of them in its cgroup.
unit_listed() {
	_main=$(main_pid "$1") && test "$_main" -gt 1 &&
	wlist --json >"$TMP/json" &&
	python3 - "$TMP/json" "$1" "$_main" >"$TMP/unit-pids" <<-\EOF || return 1
	import json, sys
	w = [w for w in json.load(open(sys.argv[1])) if w["name"] == sys.argv[2]][0]
	s = [s for s in w["services"] if s["name"] == "pwapt-test-unitd"][0]
	assert s["kind"] == "systemd" and s["running"] and s["enabled"], s
	assert int(sys.argv[3]) in s["pids"], s
	print(" ".join(map(str, s["pids"])))
	EOF
	for _p in $(cat "$TMP/unit-pids"); do
		wexec "$1" grep -q "/system.slice/$UNIT.service\$" /proc/$_p/cgroup || {
			echo "process $_p is not of $UNIT:"
			wexec "$1" cat /proc/$_p/cgroup
			return 1
		}
	done
	test_has "^  $UNIT +systemd +yes +yes +([0-9]+ )*$_main( [0-9]+)*\$" wlist --services
}

test_expect_success 'wlist --services: the unit, enabled, running, with its pids; aliases no services' '
	unit_listed Root &&
	test_lacks "dbus-org|^      !" wlist --services
'

test_expect_success 'a world runs its own systemd, which started the unit there' '
	wcreate W Root >/dev/null &&
	test_equal systemd "$(wexec W cat /proc/1/comm)" &&
	unit_runs W 1.0 &&
	test "$(init_pid W)" != "$(init_pid Root)" &&
	unit_listed W &&
	note_container W &&
	wdelete W && container_gone W
'

test_expect_success 'the upgrade merged into Root restarts the unit by systemctl on the new unit file' '
	old=$(main_pid Root) &&
	# The world'\''s tests see the new version running, started by the
	# world'\''s systemd: pwapt starts no init script of rc2.d beside it.
	mkdir -p "$R/etc/pwapt/tests.d" &&
	printf "#!/bin/sh\nsystemctl is-active --quiet $UNIT &&\n%s\n" \
		"test \"\$(cat /run/$UNIT.version)\" = 1.1" >"$R/etc/pwapt/tests.d/10-unitd" &&
	chmod 755 "$R/etc/pwapt/tests.d/10-unitd" &&
	pwapt install --test --merge-on-success -y $UNIT </dev/null >"$TMP/out" 2>&1;
	cat "$TMP/out" && rm -r "$R/etc/pwapt/tests.d" &&
	! grep -q "^Starting the services of tx1" "$TMP/out" &&
	grep -q "^Merged tx1 into Root" "$TMP/out" &&
	grep -q "^Restarting $UNIT in Root... done" "$TMP/out" &&
	test_equal 1.1 "$(installed Root $UNIT)" &&
	unit_runs Root 1.1 &&
	test "$(main_pid Root)" != "$old"
'

test_expect_success 'pwapt rollback: the old unit runs again' '
	pwapt rollback >"$TMP/out" 2>&1; cat "$TMP/out" &&
	grep -q "^Restarting $UNIT in Root... done" "$TMP/out" &&
	test_equal 1.0 "$(installed Root $UNIT)" &&
	unit_runs Root 1.0
'

test_expect_success 'a new version that fails its health check: the merge rolled back, the old unit runs' '
	echo FAIL_VERSION=1.1 >"$R/etc/default/$UNIT" &&
	{ pwapt install --test --merge-on-success -y $UNIT </dev/null >"$TMP/out" 2>"$TMP/err"
	  test $? = 1; } &&
	cat "$TMP/out" "$TMP/err" &&
	grep -q "^Restarting $UNIT in Root... FAILED" "$TMP/out" &&
	grep -q "$UNIT does not run after the merge of tx2: rolling the merge back" "$TMP/err" &&
	grep -q "^Restarting $UNIT in Root on the old files... done" "$TMP/out" &&
	test_equal 1.0 "$(installed Root $UNIT)" &&
	unit_runs Root 1.0 &&
	test_no_output wexec Root dpkg --audit &&
	rm "$R/etc/default/$UNIT"
'

# unit_file WORLD NAME [AFTER]: a unit NAME of WORLD's /etc/systemd/system
# that sleeps, After= the unit AFTER.
unit_file() {
	wexec "$1" sh -c "printf '[Unit]\\nDescription=pwapt test\\n%s\\n[Service]\\nExecStart=/bin/sleep infinity\\n' '${3:+After=network.target $3.service}' >/etc/systemd/system/$2.service"
}

test_expect_success 'wmerge starts units in their After= order, not their names'\'', and stops them the other way' '
	A=pwapt-test-alater Z=pwapt-test-zfirst &&
	wcreate O Root >/dev/null &&
	unit_file O $Z && unit_file O $A $Z &&
	wexec O systemctl daemon-reload && wexec O systemctl start $A $Z &&
	wmerge --plan O Root >"$TMP/plan" && cat "$TMP/plan" &&
	test_equal "stop $A,stop $Z,start $Z,start $A," \
		"$(grep -E "^(stop|start) ($A|$Z) " "$TMP/plan" | cut -d" " -f1,2 | tr "\n" ,)" &&
	wmerge O Root >"$TMP/out" 2>&1; cat "$TMP/out" &&
	test_equal "Stopping $A,Stopping $Z,Starting $Z,Starting $A," \
		"$(grep -E "^(Stopping|Starting) ($A|$Z) " "$TMP/out" | cut -d" " -f1,2 | tr "\n" ,)" &&
	grep -q "^Starting $A in Root... done, checked" "$TMP/out" &&
	wexec Root systemctl is-active --quiet $Z $A &&
	wexec Root systemctl stop $A $Z && pwapt rollback >/dev/null &&
	wexec Root systemctl daemon-reload &&
	test_lacks "$A|$Z" wlist --services
'

# stale_in_init LIB: "stale" when Root's PID 1 maps LIB from a file
# replaced since (as PID 1 sees it), else "fresh".
stale_in_init() {
	wexec Root sh -c "grep -q '$1 (deleted)\$' /proc/1/maps
		case \$? in 0) echo stale ;; 1) echo fresh ;; *) exit 1 ;; esac"
}

# shown FILE CMD...: CMD's output and errors into FILE and shown; its exit
# status.
shown() {
	_f=$1
	shift
	"$@" >"$_f" 2>&1
	_r=$?
	cat "$_f"
	return $_r
}

test_expect_success 'a merge replacing a library Root'\''s systemd maps re-executes it; --no-restart and pwapt rollback' '
	lib=$(wexec Root sh -c "grep -o \"/usr/lib/[^ ]*/libzstd\\.so[^ ]*\" /proc/1/maps | head -n 1") &&
	echo "PID 1 maps $lib" && test -n "$lib" &&
	pid=$(init_pid Root) && unitpid=$(main_pid Root) &&
	test_equal fresh "$(stale_in_init "$lib")" &&
	# The library made again (a new inode), as an upgrade does; a byte
	# after its end, which the dynamic loader never reads, makes it new.
	wcreate L Root >/dev/null &&
	wexec L sh -c "cp -p $lib $lib.new && printf x >>$lib.new && mv $lib.new $lib" &&
	shown "$TMP/plan" wmerge --plan L Root &&
	grep -qF "re-execute systemd (PID 1) in Root: it uses $lib, which the merge replaces" "$TMP/plan" &&
	test_lacks "pid 1 in Root" cat "$TMP/plan" &&
	test_equal true "$(wmerge --plan --json L Root | python3 -c "import json, sys; print(str(json.load(sys.stdin)[\"reexec_init\"]).lower())")" &&
	test_equal "re-execute systemd (PID 1) in Root: it uses $lib, which the merge replaces" \
		"$(grep -E "^(re-execute|stop|start|restart) " "$TMP/plan" | head -n 1)" &&
	shown "$TMP/out" wmerge L Root &&
	# Before the services restart.
	grep -q "^Restarting .* in Root... done" "$TMP/out" &&
	test_equal "Re-executing systemd (PID 1) in Root... done" \
		"$(grep -E "^(Re-executing|Restarting|Starting) " "$TMP/out" | head -n 1)" &&
	test_lacks "restart it by hand" cat "$TMP/out" &&
	test_equal fresh "$(stale_in_init "$lib")" &&
	# The same PID 1, its units kept running.
	test_equal "$pid" "$(init_pid Root)" &&
	test_equal "$unitpid" "$(main_pid Root)" &&
	unit_runs Root 1.0 &&
	# Rolled back, the old library is back under it: it runs that again
	# (forced: unattended-upgrades, restarted, wrote its log since).
	shown "$TMP/out" pwapt rollback --force &&
	grep -q "^Re-executing systemd (PID 1) in Root... done" "$TMP/out" &&
	test_equal fresh "$(stale_in_init "$lib")" &&
	# --no-restart: said to be left to the administrator, and left.
	wcreate L Root >/dev/null &&
	wexec L sh -c "cp -p $lib $lib.new && printf x >>$lib.new && mv $lib.new $lib" &&
	shown "$TMP/plan" wmerge --plan --no-restart L Root &&
	grep -q "^restart by hand: pid 1 in Root (systemd) uses $lib" "$TMP/plan" &&
	shown "$TMP/out" wmerge --no-restart L Root &&
	test_lacks "Re-executing" cat "$TMP/out" &&
	grep -qF "pid 1 in Root (systemd) uses $lib, which the merge replaced, and belongs to no service: restart it by hand" "$TMP/out" &&
	test_equal stale "$(stale_in_init "$lib")" &&
	shown "$TMP/out" pwapt rollback --force --no-restart &&
	grep -q "systemd (PID 1) of Root maps files the rollback replaced: run systemctl daemon-reexec there" "$TMP/out" &&
	test_equal stale "$(stale_in_init "$lib")" &&
	wexec Root systemctl daemon-reexec &&
	test_equal fresh "$(stale_in_init "$lib")"
'

test_expect_success 'pwapt install merging a package whose scripts replace that library: systemd re-executed before the services restart' '
	lib=$(wexec Root sh -c "grep -o \"/usr/lib/[^ ]*/libzstd\\.so[^ ]*\" /proc/1/maps | head -n 1") &&
	test -n "$lib" && pid=$(init_pid Root) &&
	shown "$TMP/out" pwapt install --test --merge-on-success -y pwapt-test-relib </dev/null &&
	sed -n "/^Merged tx[0-9]* into Root/,\$p" "$TMP/out" >"$TMP/merged" &&
	grep -q "^Re-executing systemd (PID 1) in Root... done" "$TMP/merged" &&
	test_lacks "restart it by hand" cat "$TMP/out" &&
	test_equal fresh "$(stale_in_init "$lib")" &&
	test_equal "$pid" "$(init_pid Root)" &&
	unit_runs Root 1.0 &&
	shown "$TMP/out" pwapt rollback --force &&
	grep -q "^Re-executing systemd (PID 1) in Root... done" "$TMP/out" &&
	test_equal fresh "$(stale_in_init "$lib")" &&
	test_equal "" "$(installed Root pwapt-test-relib)"
'

# stopped_merge: the pid of this test's wmerge stopped at a PWAPT_STOP_AT
# point.
stopped_merge() {
	for _p in $(pgrep -x wmerge); do
		grep -q "^State:.*T" /proc/$_p/status 2>/dev/null &&
			tr "\0" "\n" </proc/$_p/environ | grep -qx "PWAPT_STATE=$PWAPT_STATE" &&
			echo $_p
	done
}

test_expect_success 'wmerge of a world running systemd: its systemd killed frozen with its processes, never thawed to run on' '
	wcreate M Root >/dev/null &&
	wexec M sh -c "echo merged >/etc/pwapt-m" &&
	unit_runs M 1.0 &&
	note_container M || exit 1
	{ PWAPT_STOP_AT=kill-frozen-done wmerge M Root >"$TMP/out" 2>&1
	  echo $? >"$TMP/merge.rc"; } &
	wait_for 60 "test -n \"\$(stopped_merge)\"" || exit 1
	merger=$(stopped_merge)
	container_gone M
	gone=$?
	kill -CONT $merger &&
	wait_for 60 "test -s \"\$TMP/merge.rc\"" &&
	cat "$TMP/out" && test_equal 0 "$(cat "$TMP/merge.rc")" &&
	test $gone = 0 &&
	test_equal merged "$(cat "$R/etc/pwapt-m")" &&
	test_lacks "^M " wlist &&
	unit_runs Root 1.0
'

# Halted within the grace (10 s, STOP_GRACE), not killed after it: had
# the signal failed, stop-all would take 10 s at least.  Measured to the
# nanosecond, and not against a smaller bound, which systemd stopping its
# units on a loaded machine can pass.
test_expect_success 'stop-all halts systemd by its own signal (SIGRTMIN+3), within the grace' '
	note_container Root &&
	start=$(date +%s.%N) && pwapt stop-all && end=$(date +%s.%N) &&
	echo "stop-all took $end - $start s" &&
	awk -v s="$start" -v e="$end" "BEGIN { exit !(e - s < 10) }" &&
	container_gone Root &&
	test_exit 1 pgrep -f "lxc monitor\] $PWAPT_STATE/worlds Root\$"
'

test_expect_success 'Root'\''s systemd killed: the next command boots it again, and the unit runs' '
	wexec Root true && note_container Root &&
	kill -9 "$(init_pid Root)" && container_gone Root &&
	unit_runs Root 1.0
'

test_expect_success 'nothing left once every world and Root stopped' '
	wcreate Z Root >/dev/null && note_container Z && note_container Root &&
	cleanup_worlds &&
	container_gone Z && container_gone Root &&
	test -z "$(mounts_below "$TMP")"
'

test_done
