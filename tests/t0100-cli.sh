#!/bin/sh
# The command line: dispatch, --help, usage errors, man pages, completion.
. "$(dirname "$0")/lib.sh"
make_busybox_root

test_expect_success 'every command has --help, exit 0, naming its man page' '
	for c in wcreate wdelete wdiff wmerge check-off wexec wconsole wlist; do
		$c --help >"$TMP/h" || exit 1
		grep -q "^usage: $c" "$TMP/h" && grep -q "$c(8)" "$TMP/h" || { cat "$TMP/h"; exit 1; }
	done &&
	pwapt --help | grep -q "^usage: pwapt" &&
	pwapt create --help | grep -q "^usage: wcreate"
'

test_expect_success 'pwapt COMMAND is the w* command' '
	pwapt create A Root && pwapt wlist | grep -Eq "^A +Root" &&
	test_equal "NAME     PARENT   STATE         CREATED             WHAT" "$(pwapt list)" &&
	test_fails_with 2 "usage: pwapt merge" pwapt merge A Root &&
	test_equal Root "$(pwapt exec A hostname)" && pwapt delete A &&
	test_lacks "^A " wlist
'

test_expect_success 'global options work before the command' '
	make_busybox_root "$TMP/r2" &&
	pwapt --root "$TMP/r2" --state "$TMP/s2" create B Root &&
	PWAPT_ROOT="$TMP/r2" PWAPT_STATE="$TMP/s2" wlist | grep -q "^B " &&
	pwapt --root "$TMP/r2" --state "$TMP/s2" delete B &&
	PWAPT_STATE="$TMP/s2" PWAPT_ROOT="$TMP/r2" pwapt stop-all
'

test_expect_success 'the configuration file sets root and state; the environment overrides it' '
	printf "# test\nroot = %s\nstate = %s\n" "$TMP/r2" "$TMP/s3" >"$TMP/c.conf" &&
	env -u PWAPT_ROOT -u PWAPT_STATE PWAPT_CONFIG="$TMP/c.conf" wcreate C Root &&
	test -d "$TMP/s3/worlds/C" &&
	env -u PWAPT_ROOT -u PWAPT_STATE PWAPT_CONFIG="$TMP/c.conf" wdelete C &&
	env -u PWAPT_ROOT -u PWAPT_STATE PWAPT_CONFIG="$TMP/c.conf" pwapt stop-all &&
	printf "roots = /\n" >"$TMP/bad.conf" &&
	test_fails_with 1 "bad.conf:1: unknown key .roots." env PWAPT_CONFIG="$TMP/bad.conf" wlist
'

test_expect_success 'usage errors exit 2 and say what is wrong' '
	test_fails_with 2 "unknown command .frobnicate." pwapt frobnicate &&
	test_fails_with 2 "usage: pwapt" pwapt &&
	test_fails_with 2 "--json is not an option" wdelete --json A &&
	test_fails_with 2 "usage: wlist" wlist extra &&
	test_fails_with 2 "usage: wconsole" wconsole A B
'

test_expect_success '--version' '
	pwapt --version | grep -Eq "^pwapt [0-9]"
'

test_expect_success 'a relative Root or state is refused' '
	test_fails_with 1 "must be absolute" env PWAPT_ROOT=relative wlist
'

test_expect_success 'man pages exist for every command and render without warnings' '
	for p in pwapt pwapt-upgrade pwapt-unattended wcreate wdelete wdiff wmerge check-off wexec wconsole wip wlist; do
		f="$SRC_DIR/pwapt/man/$p.8"
		test -f "$f" || { echo "missing $f"; exit 1; }
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>"$TMP/w" >"$TMP/m" || exit 1
		test ! -s "$TMP/w" || { cat "$TMP/w"; exit 1; }
		grep -q "SYNOPSIS" "$TMP/m" || exit 1
	done
'

test_expect_success 'bash completion completes commands and world names' '
	command -v bash >/dev/null &&
	wcreate Alpha Root && wcreate Beta Alpha &&
	cat >"$TMP/comp.bash" <<-\EOS &&
	. "$1"
	complete_line() { # the words of a line; prints the candidates
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\).*/\1/p")
		COMPREPLY=(); "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "; echo
	}
	EOS
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line wexec \"\"") &&
	echo "wexec: $out" && echo "$out" | grep -q "Alpha" && echo "$out" | grep -q "Root" &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line wdelete \"\"") &&
	echo "wdelete: $out" && echo "$out" | grep -q "Beta" && ! echo "$out" | grep -q "Root" &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line pwapt cr") &&
	echo "pwapt cr: $out" && echo "$out" | grep -q "create" &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line wip Alpha \"\"") &&
	echo "wip Alpha: $out" && test "$out" = "forward outbound release takeover unforward " &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line wip Alpha outbound \"\"") &&
	echo "wip Alpha outbound: $out" && test "$out" = "off on " &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line pwapt upgrade --m") &&
	echo "pwapt upgrade --m: $out" && test "$out" = "--merge-on-success " &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line pwapt unattended --c") &&
	echo "pwapt unattended --c: $out" && test "$out" = "--check " &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line wmerge Beta \"\"") &&
	echo "wmerge Beta: $out" && echo "$out" | grep -q "Root" &&
	mkdir -p "$PWAPT_STATE/worlds/Beta/notes" && : >"$PWAPT_STATE/worlds/Beta/notes/transaction" &&
	out=$(bash -c ". \"$TMP/comp.bash\" \"$SRC_DIR/contrib/bash-completion\"; complete_line pwapt merge \"\"") &&
	echo "pwapt merge: $out" && test "$out" = "Beta " &&
	rm -r "$PWAPT_STATE/worlds/Beta/notes"
'

test_expect_success 'each command takes the options its completion offers, and refuses the others by name' '
	command -v bash >/dev/null &&
	cat >"$TMP/offered.bash" <<-\EOS &&
	. "$1"; shift
	COMP_WORDS=("$@" -); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=(); _pwapt "$1" - "${COMP_WORDS[COMP_CWORD-1]}"
	printf "%s\n" "${COMPREPLY[@]}" | sed "/^--root$/d; /^--state$/d; /^--help$/d; /^--version$/d"
	EOS
	cmds="create delete diff wmerge check-off rollback recover exec console ip wlist start-all stop-all update upgrade install unattended merge discard list show" &&
	for c in $cmds; do
		bash "$TMP/offered.bash" "$SRC_DIR/contrib/bash-completion" pwapt $c >"$TMP/opts.$c" || exit 1
	done &&
	cat "$TMP"/opts.* | sort -u >"$TMP/opts" &&
	echo "options: $(cat "$TMP/opts" | tr "\n" " ")" && grep -qx -- --dist "$TMP/opts" &&
	for c in $cmds; do
		for o in $(cat "$TMP/opts"); do
			case $o in --test-cmd | --conffile | --id | --handover | --handover-check) v="=1" ;; *) v= ;; esac
			env PWAPT_ROOT=relative pwapt $c $o$v A B >"$TMP/out" 2>&1
			rc=$?
			if grep -qx -- "$o" "$TMP/opts.$c"; then
				! grep -Eq "not an option|unrecognized|invalid option" "$TMP/out" ||
					{ echo "pwapt $c refuses $o:"; cat "$TMP/out"; exit 1; }
			else
				# -y is --yes; wexec knows no short option but -h.
				why="$o is not an option of this command"
				test "$o" != -y || why="--yes is not an option of this command"
				test "$c$o" != exec-y || why="invalid option -- .y."
				test $rc = 2 && grep -q ": $why$" "$TMP/out" ||
					{ echo "pwapt $c does not refuse $o by name (exit $rc):"; cat "$TMP/out"; exit 1; }
			fi
		done
	done
'

test_expect_success 'make install puts commands, init, collector, man pages, completion and unit in place' '
	make -s -C "$SRC_DIR" install DESTDIR="$TMP/dest" PREFIX=/usr >/dev/null &&
	for f in usr/bin/pwapt usr/bin/wcreate usr/bin/wexec usr/lib/pwapt/pwapt-init \
		usr/lib/pwapt/pwapt-trace \
		usr/share/man/man8/wcreate.8 usr/share/bash-completion/completions/pwapt \
		usr/share/bash-completion/completions/wexec lib/systemd/system/pwapt-worlds.service \
		lib/systemd/system/pwapt-trace.service \
		usr/share/man/man8/pwapt-unattended.8 \
		lib/systemd/system/apt-daily-upgrade.service.d/pwapt.conf \
		etc/needrestart/conf.d/pwapt.conf; do
		test -e "$TMP/dest/$f" || { echo "missing $f"; exit 1; }
	done &&
	grep -qx "ExecStart=/usr/bin/pwapt start-all" "$TMP/dest/lib/systemd/system/pwapt-worlds.service" &&
	u=$TMP/dest/lib/systemd/system/pwapt-trace.service &&
	grep -qx "ExecStart=/usr/bin/pwapt trace run" "$u" &&
	grep -qx "Before=pwapt-worlds.service" "$u" &&
	grep -q "^After=.*auditd.service" "$u" && grep -qx "Type=notify" "$u" &&
	d=$TMP/dest/lib/systemd/system/apt-daily-upgrade.service.d/pwapt.conf &&
	grep -qx "ExecStart=" "$d" && grep -q "^ExecStart=.*exec /usr/bin/pwapt unattended;" "$d" &&
	! grep -q @BINDIR@ "$d" &&
	strings "$TMP/dest/usr/bin/pwapt" | grep -qx "/usr/lib/pwapt" &&
	test -x "$TMP/dest/usr/lib/pwapt/pwapt-trace" &&
	make -s -C "$SRC_DIR" >/dev/null
'

test_done
