# Files held open in the parent when a world is created (t0722 bpf, t0727
# audit), sourced after lib.sh, make_busybox_root, PWAPT_TRACE and
# lib-trace.sh: the trace has one entry per open, so a process of P that
# opened a file before C was created and reads or writes it through that
# descriptor afterwards leaves nothing after C's creation; wcreate records
# those descriptors (worlds/C/held-at-creation) and the derived-file
# warnings count them.  A descriptor on a file C did not change, and a
# daemon that read its configuration at start and only logs since, give
# no warning; a record that could not be made is said.

wait_line() {
	wait_for 20 "trace_entries $1 | grep -Eq \"$2\""
}

# Starts, in P, "sh -c SCRIPT" in the background of this shell (wexec
# waits for it: $bg) and waits until it wrote /srv/$1.ready; the script
# then waits for /srv/$1.go.
start_holder() {
	_h=$1 && shift &&
	{ wexec P sh -c "$* ; : >/srv/$_h.ready; while [ ! -e /srv/$_h.go ]; do sleep 0.1; done; $HOLDER_THEN" & bg=$!; } &&
	wait_for 20 "wexec P test -e /srv/$_h.ready"
}

mkdir -p "$PWAPT_ROOT/srv"

test_expect_success 'setup: P made from Root, traced' '
	for f in rd wr neg; do printf "int main(void) { return 1; }\n" >"$PWAPT_ROOT/srv/$f.c"; done &&
	printf "old object\n" >"$PWAPT_ROOT/srv/wr.o" &&
	printf "nobody reads this\n" >"$PWAPT_ROOT/srv/unread" &&
	printf "Listen 80\n" >"$PWAPT_ROOT/srv/daemon.conf" &&
	wcreate P Root >/dev/null && wait_traced P && wexec P true
'

test_expect_success 'read through a descriptor opened before C was created: derived' '
	HOLDER_THEN="cat <&3 >/srv/rd.o" start_holder rd "exec 3</srv/rd.c" &&
	wcreate R P >/dev/null && wait_traced R &&
	grep -q "^P r [0-9,]* /srv/rd.c$" "$PWAPT_STATE/worlds/R/held-at-creation" &&
	wexec R sh -c "echo \"int main(void) { return 0; }\" >/srv/rd.c" &&
	wexec P touch /srv/rd.go && wait $bg &&
	wait_line P "^write /srv/rd.o$" &&
	test_equal "int main(void) { return 1; }" "$(wexec P cat /srv/rd.o)" &&
	test_exit 3 wdiff R >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -Eqx "! /srv/rd.c: derived files: read in P after R was created by processes that then wrote /srv/rd.o( \(the trace is incomplete\))?" "$TMP/wdiff.out" &&
	if grep "held open when" "$TMP/wdiff.out"; then exit 1; fi &&
	test_fails_with 3 "cannot merge .R. into .P." wmerge R P >/dev/null &&
	wdelete R
'

test_expect_success 'written through a descriptor opened before C was created: derived' '
	HOLDER_THEN="cat /srv/wr.c >&4" start_holder wr "exec 4>/srv/wr.o" &&
	wcreate W P >/dev/null && wait_traced W &&
	grep -q "^P w [0-9,]* /srv/wr.o$" "$PWAPT_STATE/worlds/W/held-at-creation" &&
	wexec W sh -c "echo \"int main(void) { return 0; }\" >/srv/wr.c" &&
	wexec P touch /srv/wr.go && wait $bg &&
	wait_line P "^read /srv/wr.c$" &&
	test_equal "int main(void) { return 1; }" "$(wexec P cat /srv/wr.o)" &&
	test_exit 3 wdiff W >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -Eqx "! /srv/wr.c: derived files: read in P after W was created by processes that then wrote /srv/wr.o( \(the trace is incomplete\))?" "$TMP/wdiff.out" &&
	wdelete W
'

test_expect_success 'a descriptor held at creation on a file the child did not change: no warning' '
	HOLDER_THEN="cat <&3 >/srv/neg.o" start_holder neg "exec 3</srv/neg.c" &&
	wcreate N P >/dev/null && wait_traced N &&
	grep -q "^P r [0-9,]* /srv/neg.c$" "$PWAPT_STATE/worlds/N/held-at-creation" &&
	wexec N sh -c "echo changed >/srv/unread" &&
	wexec P touch /srv/neg.go && wait $bg &&
	wait_line P "^write /srv/neg.o$" &&
	wdiff N >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	if grep "^! /" "$TMP/wdiff.out"; then exit 1; fi &&
	wdelete N
'

# The paper'"'"'s WordPress merge: apache read its configuration at start and
# writes its logs since (tests/t0800, examples/): no derived file.
test_expect_success 'a daemon that read its configuration at start and logs since: no warning' '
	wexec P sh -c "cd / && setsid sh -c \"cat /srv/daemon.conf >/dev/null; exec 5>>/srv/daemon.log; : >/srv/daemon.ready; while [ ! -e /srv/daemon.go ]; do sleep 0.1; done; echo request >&5; : >/srv/daemon.done; exec sleep 600\" </dev/null >/dev/null 2>&1 &" &&
	wait_for 20 "wexec P test -e /srv/daemon.ready" &&
	wcreate D P >/dev/null && wait_traced D &&
	grep -q "^P w [0-9,]* /srv/daemon.log$" "$PWAPT_STATE/worlds/D/held-at-creation" &&
	wexec D sh -c "echo Listen 8080 >/srv/daemon.conf" &&
	wexec P touch /srv/daemon.go &&
	wait_for 20 "wexec P test -e /srv/daemon.done" &&
	wait_line P "^write /srv/daemon.done$" &&
	test_equal request "$(wexec P cat /srv/daemon.log)" &&
	wdiff D >"$TMP/wdiff.out"; r=$?
	cat "$TMP/wdiff.out"; test $r = 0 &&
	grep -qx "M /srv/daemon.conf" "$TMP/wdiff.out" &&
	if grep "derived" "$TMP/wdiff.out"; then exit 1; fi &&
	wmerge D P && test_equal "Listen 8080" "$(wexec P cat /srv/daemon.conf)"
'

test_expect_success 'descriptors that /proc did not show: the report says so' '
	HOLDER_THEN=true start_holder fail "exec 3</srv/rd.c" &&
	PWAPT_FAIL_AT=procs-fdinfo wcreate F P >/dev/null && wait_traced F &&
	head -n1 "$PWAPT_STATE/worlds/F/held-at-creation" | grep -qx "pwapt-held 1 incomplete P Root" &&
	wexec P touch /srv/fail.go && wait $bg &&
	wexec F sh -c "echo changed again >/srv/unread" &&
	{ wdiff F >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0; } &&
	grep -qx "! trace: the files that processes of P held open when F was created could not all be read: what they read or wrote through them is not known" "$TMP/wdiff.out" &&
	wdiff --json F | grep -q "\"trace\":{\"complete\":false"
'

test_expect_success 'no record of the descriptors (a world made before it): said' '
	rm "$PWAPT_STATE/worlds/F/held-at-creation" &&
	{ wdiff F >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0; } &&
	grep -qx "! trace: the files that processes of P held open when F was created were not recorded: what they read or wrote through them is not known" "$TMP/wdiff.out" &&
	printf "pwapt-held 1 complete P\nP r x /srv/rd.c\n" >"$PWAPT_STATE/worlds/F/held-at-creation" &&
	{ wdiff F >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0; } &&
	grep -qx "! trace: the files that processes of P held open when F was created cannot be read: what they read or wrote through them is not known" "$TMP/wdiff.out" &&
	wdelete F
'

# A diff or merge against a grandparent takes the record too: wcreate
# records the descriptors of every ancestor up to Root.
test_expect_success 'a world over a world: a diff and merges against its ancestors use its record' '
	wexec Root true && wait_traced Root &&
	wcreate Q Root >/dev/null && wait_traced Q && wexec Q true &&
	wcreate C Q >/dev/null && wait_traced C &&
	head -n1 "$PWAPT_STATE/worlds/C/held-at-creation" | grep -Eqx "pwapt-held 1 (in)?complete Q Root" &&
	wexec C sh -c "echo nested >/srv/nested" &&
	{ wdiff C Root >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0; } &&
	grep -qx "A /srv/nested" "$TMP/wdiff.out" &&
	if grep "were not recorded" "$TMP/wdiff.out"; then exit 1; fi &&
	{ wmerge C Q >"$TMP/wmerge.out" 2>&1; r=$?; cat "$TMP/wmerge.out"; test $r = 0; } &&
	{ wdiff Q Root >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0; } &&
	if grep "were not recorded" "$TMP/wdiff.out" "$TMP/wmerge.out"; then exit 1; fi &&
	{ wmerge Q Root >"$TMP/wmerge.out" 2>&1; r=$?; cat "$TMP/wmerge.out"; test $r = 0; } &&
	if grep "were not recorded" "$TMP/wmerge.out"; then exit 1; fi &&
	test_equal nested "$(cat "$PWAPT_ROOT/srv/nested")"
'

# Untraced (no collector runs), the world's trace says so: wcreate makes
# no record, nor reads its parents' descriptors for it.
test_expect_success 'a world created while no collector runs: no record' '
	stop_collector >/dev/null &&
	PWAPT_TRACE=off wcreate U P >/dev/null &&
	test ! -e "$PWAPT_STATE/worlds/U/held-at-creation" &&
	wexec U sh -c "echo untraced >/srv/unread" &&
	{ wdiff U >"$TMP/wdiff.out"; r=$?; cat "$TMP/wdiff.out"; test $r = 0; } &&
	grep -qx "! trace: the trace of P is incomplete: no collector runs (pwapt trace run)" "$TMP/wdiff.out" &&
	wdelete U
'
