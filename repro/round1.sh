#!/bin/sh
# round1: install real packages in a world over Root and merge, vs in place.
# Needs /tmp/rb/base (Root) and /tmp/rb/inplace (identical copy) with debs cached.
PKGS="openssh-server cron nginx postfix locales ca-certificates systemd-timesyncd python3 man-db less vim-tiny molly-guard"
B=/work/revB/bin
export PWAPT_CONFIG=/tmp/rb/pwapt.conf PWAPT_TRACE=off
AG="env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-download install $PKGS"
(export PWAPT_ROOT=/tmp/rb/base PWAPT_STATE=/tmp/rb/stA
 $B/wcreate W Root && $B/wexec W $AG </dev/null >/tmp/rb/W.apt.log 2>&1; echo "world apt rc=$?"
 $B/wdiff W --stat >/tmp/rb/W.wdiff 2>&1; echo "wdiff rc=$?"
 $B/wmerge W Root >/tmp/rb/W.merge 2>&1; echo "wmerge rc=$?")
(export PWAPT_ROOT=/tmp/rb/inplace PWAPT_STATE=/tmp/rb/stI
 $B/wexec Root $AG </dev/null >/tmp/rb/I.apt.log 2>&1; echo "inplace apt rc=$?")
