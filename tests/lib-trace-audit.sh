# The audit backend's set-up of the trace tests (t0710, t0725, t0727),
# sourced after lib.sh and make_busybox_root: auditctl and audit in this
# kernel (else all skipped), PWAPT_TRACE=audit and lib-trace.sh.  Then:
# - audit_trap records the host's audit state (enabled, backlog limit)
#   and sets the trap that puts it back whatever happens (restore_audit:
#   the collector puts it back itself when it stops; a test that failed
#   may leave it running): the collector stopped, restore_audit_more
#   (the test's own, by default nothing), pwapt's rules of this test's
#   state directory deleted, the host's state as found;
# - start_audit_collector starts the collector, or skips all where audit
#   cannot be used here.
PATH=$PATH:/usr/sbin
command -v auditctl >/dev/null || skip_all "auditctl is missing (Debian's auditd)"
auditctl -s >/dev/null 2>&1 || skip_all "no audit in this kernel: $(auditctl -s 2>&1 | head -n1)"
PWAPT_TRACE=audit; export PWAPT_TRACE
. "$(dirname "$0")/lib-trace.sh"
collector_started() { :; }
restore_audit_more() { :; }

restore_audit() {
	stop_collector >/dev/null 2>&1
	restore_audit_more
	auditctl -l | grep -- "key=pwapt:" | sed 's/^-a/-d/' | while read -r rule; do
		case "$rule" in *"$(stat -c %d:%i "$PWAPT_STATE" 2>/dev/null)"*)
			eval auditctl "$rule" >/dev/null 2>&1 ;;
		esac
	done
	auditctl -b "$host_backlog" >/dev/null 2>&1
	auditctl -e "$host_enabled" >/dev/null 2>&1
}

audit_trap() {
	host_enabled=$(auditctl -s | awk '$1 == "enabled" { print $2 }')
	host_backlog=$(auditctl -s | awk '$1 == "backlog_limit" { print $2 }')
	trap 'restore_audit; cleanup' EXIT
}

start_audit_collector() {
	start_collector >/dev/null && return 0
	rm -f "$TMP/collector.pid"
	skip_all "audit cannot be used here: $(grep -m1 . "$TMP/collector.out")"
}
