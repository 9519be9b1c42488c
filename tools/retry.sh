# Sourced by tools/install-deps and tests/fixtures/*: runs a command that
# reaches the network again when it fails, and, when it keeps failing, says
# why (the last lines of its log) rather than where the log is.
#
#   retry WHAT LOG CMD [ARG...]
#
# runs CMD (a program or a shell function) with its output appended to LOG,
# up to $PWAPT_FETCH_RETRIES times (default 5: a resolver that is not up yet
# on a machine just booted has failed for 15 s), pausing
# $PWAPT_FETCH_RETRY_DELAY seconds (default 5) before the second attempt and
# twice as long before each next one.  When the last attempt fails, prints
# "WHAT failed ..." and the last $PWAPT_LOG_LINES lines (default 15) of LOG to
# stderr, and returns CMD's exit status.

retry() {
	_retry_what=$1 _retry_log=$2
	shift 2
	_retry_n=${PWAPT_FETCH_RETRIES:-5}
	_retry_delay=${PWAPT_FETCH_RETRY_DELAY:-5}
	case $_retry_n$_retry_delay in *[!0-9]*)
		echo "retry: PWAPT_FETCH_RETRIES and PWAPT_FETCH_RETRY_DELAY must be numbers" >&2
		return 2
		;;
	esac
	[ "$_retry_n" -ge 1 ] || _retry_n=1
	_retry_i=1
	: >"$_retry_log"
	while :; do
		echo "=== attempt $_retry_i of $_retry_n: $*" >>"$_retry_log"
		_retry_rc=0
		"$@" >>"$_retry_log" 2>&1 </dev/null || _retry_rc=$?
		[ "$_retry_rc" = 0 ] && return 0
		[ "$_retry_i" -lt "$_retry_n" ] || break
		echo "$_retry_what failed (exit $_retry_rc); trying again in $_retry_delay s" \
			"(attempt $((_retry_i + 1)) of $_retry_n)" >&2
		sleep "$_retry_delay"
		_retry_i=$((_retry_i + 1))
		_retry_delay=$((_retry_delay * 2))
	done
	{
		echo "$_retry_what failed $_retry_n time(s), last with exit $_retry_rc; the end of its log ($_retry_log):"
		tail -n "${PWAPT_LOG_LINES:-15}" "$_retry_log" | sed 's/^/    /'
	} >&2
	return "$_retry_rc"
}
