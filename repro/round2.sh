#!/bin/sh
# round2: purge/remove and a bookworm-security dist-upgrade in a world over
# Root and merged, vs in place (Root = round1's in-place tree).
B=/work/revB/bin
export PWAPT_CONFIG=/tmp/rb/pwapt.conf PWAPT_TRACE=off
CMD="env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get -y -q purge nginx nginx-common molly-guard cron postfix && apt-get -y -q remove openssh-server && apt-get -y -q --no-download dist-upgrade && update-alternatives --set editor /usr/bin/vim.tiny && dpkg-statoverride --add root root 0700 /usr/bin/less && dpkg-divert --add --rename --divert /usr/bin/ls.orig /usr/bin/ls'"
(export PWAPT_ROOT=/tmp/rb/r2base PWAPT_STATE=/tmp/rb/st2A
 $B/wcreate W Root && eval $B/wexec W $CMD </dev/null >/tmp/rb/W2.apt.log 2>&1; echo "world rc=$?"
 $B/wdiff W --stat >/tmp/rb/W2.wdiff 2>&1; echo "wdiff rc=$?"
 $B/wmerge W Root >/tmp/rb/W2.merge 2>&1; echo "wmerge rc=$?")
(export PWAPT_ROOT=/tmp/rb/r2in PWAPT_STATE=/tmp/rb/st2I
 eval $B/wexec Root $CMD </dev/null >/tmp/rb/I2.apt.log 2>&1; echo "inplace rc=$?")
