# Shared by the paper's runnable scenarios (examples/*/run.sh), sourced
# after tests/lib.sh (a temporary Root and state directory, a network
# namespace of its own, clean-up of every mount and container on exit; this
# machine's own / is never touched).  Each scenario is a list of steps:
#
#   step 'what it checks' '
#           wcreate A Root &&
#           ...
#   '
#
# A step runs its shell code (an && chain, as a test's) with its output
# shown; one that fails ends the scenario at once with exit status 1,
# naming the step ("FAILED at step N: NAME"): later steps would only fail
# for its sake.  With STEP_MARKS set, each step's start ("TIME N NAME") is
# appended to that file.
# A missing prerequisite fails too (PWAPT_TEST_MUST_WORK=1 unless set):
# a scenario that skips proves nothing.  skipped 'WHY' names a step the
# scenario leaves out on purpose (a TODO), on its output and in its summary.

step_count=0
step_skipped=
step() {
	step_count=$((step_count + 1))
	printf '\n== step %d: %s\n' "$step_count" "$1"
	_step_t0=$(date +%s.%N)
	# When the scenario keeps a log of when each step began.
	[ -z "${STEP_MARKS:-}" ] || echo "$_step_t0 $step_count $1" >>"$STEP_MARKS"
	(eval "$2")
	_step_rc=$?
	if [ $_step_rc = 0 ]; then
		printf '== ok %d: %s (%s s)\n' "$step_count" "$1" \
			"$(awk -v a="$_step_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
	else
		printf '\nFAILED at step %d: %s (exit %d)\n' "$step_count" "$1" $_step_rc
		exit 1
	fi
}

# skipped 'WHAT' 'WHY': a step left out on purpose, said out loud.
skipped() {
	printf '\n== SKIPPED (TODO): %s: %s\n' "$1" "$2"
	step_skipped="$step_skipped
  $1: $2"
}

scenario_done() {
	printf '\n== %s: all %d steps passed' "$1" "$step_count"
	if [ -n "$step_skipped" ]; then
		printf '; left out (TODO):%s\n' "$step_skipped"
	else
		echo
	fi
}
