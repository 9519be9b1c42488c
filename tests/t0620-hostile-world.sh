#!/bin/sh
# Nothing of a world runs on the host's side.  pwapt's plans and reports
# (the apt shim) over a Root whose dpkg is hostile and whose apt
# configuration names a hostile program in every place where libapt-pkg runs
# one while it builds its cache and plans: dpkg (architectures), ischroot
# (phased updates), the acquire methods (their capabilities), an external
# solver, a decompressor of the lists, and the hooks around dpkg.
#
# Each hostile program records the PID namespace it runs in, in its own
# tree (/var/log/pwned.log), tries to leave a marker on the host through a
# /proc of its own (/proc/PID/root of pwapt, say, is the host's / unless it
# runs in a world's PID namespace), then does the real program's job, so that
# apt works.
. "$(dirname "$0")/lib.sh"
make_debian_root
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"

R=$PWAPT_ROOT
host_ns=$(readlink /proc/self/ns/pid)
marker=$TMP/pwned-host
lists=$R/var/lib/apt/lists
# Phased updates only ask ischroot without it.
unset SOURCE_DATE_EPOCH

# hostile PATH REAL: a hostile program at PATH in Root's tree that then runs
# REAL (a path), or exits 1 without one.
hostile() {
	if [ -n "${2:-}" ]; then run="exec $2 \"\$@\""; else run="exit 1"; fi
	mkdir -p "$(dirname "$R$1")" &&
		cat >"$R$1" <<-EOF &&
	#!/bin/sh
	ns=\$(readlink /proc/self/ns/pid 2>/dev/null)
	p=/run/pwned-proc.\$\$
	if mkdir -p \$p && mount -t proc proc \$p 2>/dev/null; then
		ns=\$(readlink \$p/self/ns/pid)
		for d in \$p/[0-9]*; do
			echo "$1 \$ns" 2>/dev/null >>\$d/root$marker && break
		done
		umount \$p
	fi
	rmdir \$p 2>/dev/null
	echo "$1 \${ns:-unknown}" >>/var/log/pwned.log
	$run
	EOF
		chmod 755 "$R$1"
}

# Every record of a hostile run in TREE names a PID namespace, never the
# host's; fails when there is none (MUST_RUN: the programs did run there).
ran_only_in_worlds() {
	log=$1/var/log/pwned.log
	if ! test -e "$log"; then
		[ "${2:-}" != must_run ] || { echo "no hostile run recorded in $1"; return 1; }
		return 0
	fi
	cat "$log"
	grep -v " pid:\[[0-9]*\]$" "$log" && { echo "a run without its namespace"; return 1; }
	if grep -F "$host_ns" "$log"; then
		echo "ran in the host's PID namespace ($host_ns)"
		return 1
	fi
	return 0
}

no_marker() {
	! test -e "$marker" || { echo "marker on the host:"; cat "$marker"; return 1; }
}

tree_of() { echo "$PWAPT_STATE/worlds/$1/merged"; }

test_expect_success 'set up: 1.0 installed in Root, 1.1 in its lists, then a hostile Root' '
	use_test_repo 1.0 &&
	install_test_packages pwapt-test-files pwapt-test-a &&
	use_test_repo 1.1 &&
	mv "$R/usr/bin/dpkg" "$R/usr/bin/dpkg.real" &&
	hostile /usr/bin/dpkg /usr/bin/dpkg.real &&
	hostile /usr/local/sbin/pwned-dpkg /usr/bin/dpkg &&
	hostile /usr/local/sbin/pwned-ischroot &&
	hostile /usr/local/sbin/pwned-file /usr/lib/apt/methods/file &&
	hostile /usr/local/lib/pwned-solvers/pwned /usr/local/lib/pwned-solvers/solve &&
	# A solver (EDSP) that installs what it is asked to, nothing else.
	cat >"$R/usr/local/lib/pwned-solvers/solve" <<-\EOF &&
	#!/usr/bin/awk -f
	/^Request:/ { request = 1 }
	request && /^Install:/ { for (i = 2; i <= NF; i++) { n = $i; sub(/:.*/, "", n); want[n] = 1 } }
	/^Package:/ { pkg = $2 }
	/^APT-ID:/ { id = $2 }
	/^APT-Candidate: yes/ { candidate = 1 }
	/^$/ { stanza_end() }
	END { stanza_end() }
	function stanza_end() {
		if (!request && (pkg in want) && candidate)
			printf "Install: %s\n\n", id
		request = 0; pkg = ""; candidate = 0
	}
	EOF
	chmod 755 "$R/usr/local/lib/pwned-solvers/solve" &&
	hostile /usr/local/sbin/pwned-cat /bin/cat &&
	hostile /usr/local/sbin/pwned-hook /bin/true &&
	cat >"$R/etc/apt/apt.conf.d/99pwned" <<-EOF &&
	Dir::Bin::dpkg "/usr/local/sbin/pwned-dpkg";
	Dir::Bin::ischroot "/usr/local/sbin/pwned-ischroot";
	Dir::Bin::Methods::file "/usr/local/sbin/pwned-file";
	Dir::Bin::Solvers:: "/usr/local/lib/pwned-solvers";
	APT::Solver::RunAsUser "root";
	APT::Compressor::pwned { Name "pwned"; Extension ".pwned"; Binary "/usr/local/sbin/pwned-cat"; Cost "1"; };
	Acquire::CompressionTypes::pwned "pwned";
	DPkg::Pre-Invoke:: "/usr/local/sbin/pwned-hook";
	DPkg::Post-Invoke:: "/usr/local/sbin/pwned-hook";
	DPkg::Pre-Install-Pkgs:: "/usr/local/sbin/pwned-hook";
	APT::Update::Pre-Invoke:: "/usr/local/sbin/pwned-hook";
	APT::Update::Post-Invoke:: "/usr/local/sbin/pwned-hook";
	EOF
	# The lists are read through the hostile decompressor; the 1.1
	# packages are phased, and the tree has a machine-id.
	packages=$(ls "$lists"/*_Packages) &&
	sed -i "/^Package: pwapt-test-files$/a Phased-Update-Percentage: 50" "$packages" &&
	mv "$packages" "$packages.pwned" &&
	echo 0123456789abcdef0123456789abcdef >"$R/etc/machine-id" &&
	# An external solver plans without phasing: for install only.
	echo "APT::Solver \"pwned\";" >"$TMP/99pwned-solver" &&
	pwapt stop-all
'

test_expect_success 'the hostile programs work and run where apt runs (so that this test can fail)' '
	wexec Root apt-get -s upgrade >"$TMP/out" &&
	grep -q "^Inst pwapt-test-a\|^Inst pwapt-test-files " "$TMP/out" &&
	wexec Root apt-get -s -o APT::Solver=pwned install pwapt-test-b >"$TMP/out" &&
	grep -q "^Inst pwapt-test-b " "$TMP/out" &&
	for p in /usr/bin/dpkg /usr/local/sbin/pwned-dpkg /usr/local/lib/pwned-solvers/pwned \
		/usr/local/sbin/pwned-cat /usr/local/sbin/pwned-ischroot; do
		grep -q "^$p pid:" "$R/var/log/pwned.log" || { echo "$p did not run"; exit 1; }
	done &&
	ran_only_in_worlds "$R" must_run && no_marker &&
	rm "$R/var/log/pwned.log"
'

test_expect_success 'pwapt upgrade --test runs nothing of the world on the host side' '
	pwapt upgrade --test --keep -y </dev/null >"$TMP/out" 2>&1 ||
		{ cat "$TMP/out"; false; } &&
	cat "$TMP/out" &&
	grep -q "^Transaction tx1: upgrade, in a world over Root: ready" "$TMP/out" &&
	no_marker && ran_only_in_worlds "$R" &&
	ran_only_in_worlds "$(tree_of tx1)" must_run
'

test_expect_success 'pwapt install --test runs nothing of the world on the host side' '
	cp "$TMP/99pwned-solver" "$R/etc/apt/apt.conf.d/" &&
	# Root wrote its record meanwhile (its decompressor ran there, for
	# the report): a conflict (exit 3), not a failure.
	{ pwapt install --test --keep -y pwapt-test-b </dev/null >"$TMP/out" 2>&1; rc=$?; } &&
	cat "$TMP/out" && { [ $rc = 0 ] || [ $rc = 3 ]; } &&
	grep -q "^Transaction tx2: install pwapt-test-b, in a world over tx1: ready" "$TMP/out" &&
	no_marker && ran_only_in_worlds "$R" &&
	ran_only_in_worlds "$(tree_of tx2)" must_run
'

test_expect_success 'pwapt show runs nothing of the world on the host side' '
	pwapt show tx2 >"$TMP/out" &&
	grep -q "pwapt-test-b" "$TMP/out" &&
	no_marker && ran_only_in_worlds "$R" &&
	ran_only_in_worlds "$(tree_of tx2)"
'

test_expect_success 'clean up' '
	pwapt discard tx2 >/dev/null && pwapt discard tx1 >/dev/null
'

test_done
