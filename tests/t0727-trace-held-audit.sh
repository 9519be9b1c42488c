#!/bin/sh
# Files held open in the parent when a world is created (lib-trace-held.sh)
# with PWAPT_TRACE=audit (the BPF backend: t0722).
. "$(dirname "$0")/lib.sh"
make_busybox_root
PATH=$PATH:/usr/sbin
command -v auditctl >/dev/null || skip_all "auditctl is missing (Debian's auditd)"
auditctl -s >/dev/null 2>&1 || skip_all "no audit in this kernel: $(auditctl -s 2>&1 | head -n1)"
PWAPT_TRACE=audit; export PWAPT_TRACE
. "$(dirname "$0")/lib-trace.sh"
collector_started() { :; }

# The host's audit state, put back whatever happens (the collector puts
# it back itself when it stops; a test that failed may leave it running).
host_enabled=$(auditctl -s | awk '$1 == "enabled" { print $2 }')
host_backlog=$(auditctl -s | awk '$1 == "backlog_limit" { print $2 }')
restore_audit() {
	stop_collector >/dev/null 2>&1
	auditctl -l | grep -- "key=pwapt:" | sed 's/^-a/-d/' | while read -r rule; do
		case "$rule" in *"$(stat -c %d:%i "$PWAPT_STATE" 2>/dev/null)"*)
			eval auditctl "$rule" >/dev/null 2>&1 ;;
		esac
	done
	auditctl -b "$host_backlog" >/dev/null 2>&1
	auditctl -e "$host_enabled" >/dev/null 2>&1
}
trap 'restore_audit; cleanup' EXIT

if ! start_collector >/dev/null; then
	rm -f "$TMP/collector.pid"
	skip_all "audit cannot be used here: $(grep -m1 . "$TMP/collector.out")"
fi

. "$(dirname "$0")/lib-trace-held.sh"

test_done
