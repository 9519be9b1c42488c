#!/bin/sh
# Files held open in the parent when a world is created, and read or
# written through those descriptors after it (lib-trace-held.sh), with
# the BPF trace (the audit backend: t0727).
. "$(dirname "$0")/lib.sh"
make_busybox_root
. "$(dirname "$0")/lib-trace-bpf.sh"

. "$(dirname "$0")/lib-trace-held.sh"

test_done
