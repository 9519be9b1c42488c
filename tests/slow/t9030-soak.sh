#!/bin/sh
# Soak: four workers create, write into, diff, merge (into Root and into a
# parent world), roll back and delete worlds at the same time for
# PWAPT_SOAK_SECONDS (default 600), while a killer SIGKILLs their pwapt
# commands at random and a fifth of them die at a crash point.  Afterwards
# every world opens, `pwapt recover` is idempotent, and Root holds exactly
# what a model of the merges says.
#
# The model: every write is a group of files of its own (/soak/gW-N/, with
# content naming the group and the file), so Root's expected /soak follows
# from the logs.  A group merged by a merge that exited 0 is in Root whole,
# unless a rollback took it away: a rollback lists the groups that vanished
# from Root between a recovered state before it and one after it (merges
# into Root wait meanwhile); such a group is absent whole, and a rollback
# takes at most one merge's.  A killed merge's groups are all present or all
# absent, a failed one's absent, and no recovered state (before and after
# each rollback, after each killed merge) holds part of a group.  Nothing
# outside /soak changes, and nothing in /soak is not some merge's group.
. "$(dirname "$0")/../lib.sh"
make_busybox_root
mkdir "$PWAPT_ROOT/soak"
SOAK_SECONDS=${PWAPT_SOAK_SECONDS:-600}
WORKERS=${PWAPT_SOAK_WORKERS:-4}
S=$TMP/soak
mkdir "$S"
manifest() { python3 "$TEST_DIR/fixtures/manifest.py" "$PWAPT_ROOT" "$@"; }
manifest /soak >"$S/root-before"

rnd() { shuf -i "$1-$2" -n 1; }
log() { echo "$*" >>"$S/log-$w"; }

# Runs a pwapt command in the background, where the killer finds it; its
# output is in $S/out-$w and err-$w, its exit status in $rc (137: killed).
# With $crash set, it kills itself there (a crash point, world/crash.h).
run() {
	PWAPT_CRASH_AT=$crash "$@" >"$S/out-$w" 2>"$S/err-$w" 9>&- &
	echo $! >"$S/pid-$w"
	wait $!
	rc=$?
	rm -f "$S/pid-$w"
	echo "$(date +%T.%N) $rc ${crash:+at $crash:} $*" | tr '\n' ' ' >>"$S/trace-$w"
	echo >>"$S/trace-$w"
	crash=
	return $rc
}

# Sets $crash, one time in five, to one of the crash points $*.
maybe_crash() {
	crash=
	[ "$(rnd 1 5)" = 1 ] && crash=$(printf '%s\n' "$@" | shuf -n 1)
	return 0
}

# Sets $crash, one time in three, to a crash point of a merge of groups $*:
# half of the time one of its operations (a directory or file each).
merge_crash() {
	crash=
	[ "$(rnd 1 3)" = 1 ] || return 0
	ops=1
	for g; do ops=$((ops + 2 + ${g#*:})); done
	if [ "$(rnd 1 2)" = 1 ]; then
		crash=merge-op:$(rnd 0 $ops)
	else
		crash=$(printf '%s\n' merge-staged merge-planned merge-prepared \
			merge-applied merge-done | shuf -n 1)
	fi
}

# Notes a failure that no kill explains.
unexpected() {
	log "error rc=$rc $*: $(cat "$S/out-$w" "$S/err-$w" | tr '\n' ' ' | cut -c1-500)"
}

# Deletes world $1, however often that is killed.
gone() {
	[ -n "$1" ] || return 0
	while :; do
		maybe_crash delete-stop delete-unmount delete-trash
		run wdelete "$1" && return 0
		grep -q "no world named '$1'" "$S/err-$w" && return 0
		[ $rc = 137 ] || { unexpected "wdelete $1"; return 1; }
	done
}

# After a killed command: `pwapt recover` until one ran to its end.
recovered() {
	until run pwapt recover; do
		[ $rc = 137 ] || { unexpected "pwapt recover"; return 1; }
	done
}

# write WORLD: a new group of files in it; prints the group ("gW-N:COUNT").
write() {
	g=g$w-$n k=$(rnd 1 30)
	[ "$(rnd 1 8)" = 1 ] && k=$(rnd 200 600)
	run wexec "$1" sh -c '
		mkdir -p /soak/$0/d && i=0
		while [ $i -lt $1 ]; do
			i=$((i + 1))
			if [ $((i % 3)) = 0 ]; then f=d/f$i; else f=f$i; fi
			echo "$0 $i" >/soak/$0/$f || exit 1
		done' "$g" "$k"
	case $rc in
	0) log "write $1 $g:$k" && echo "$g:$k" ;;
	137) return 1 ;;
	*) unexpected "wexec $1" && return 1 ;;
	esac
}

# Each certain group of world $1 (groups $2) is in wdiff's list, and
# nothing outside /soak is.
check_diff() {
	run wdiff "$1"
	case $rc in
	0) ;;
	137) return 0 ;;
	*) unexpected "wdiff $1" && return 0 ;;
	esac
	for g in $2; do
		case $g in \?*) continue ;; esac
		grep -qx "A /soak/${g%:*}" "$S/out-$w" || log "error wdiff $1 misses $g"
	done
	grep -v '^[AMD] /soak/' "$S/out-$w" | grep -v '^! ' | while read -r l; do
		log "error wdiff $1 lists $l"
	done
}

# Groups $* made uncertain: a killed merge moved them all or none.
uncertain() { for g; do printf ' ?%s' "${g#\?}"; done; }

# Removes the worker's worlds (its child first).
drop() { gone "$C" && C= CG= && gone "$W" && W= WG=; }

# Root's files in $S/files-$w, and how many of each group in $S/snap-$1,
# once no merge into Root runs and every interrupted command is finished:
# the caller holds the model's lock.
settled() {
	recovered
	find "$PWAPT_ROOT/soak" -type f | sort >"$S/files-$w"
	sed 's|.*/soak/||; s|/.*||' "$S/files-$w" | sort | uniq -c >"$S/snap-$1"
}

# A rollback and what it took away, seen by nothing but recoveries of killed
# commands: merges into Root wait for it (the model's lock, $S/rootlock).
rollback() {
	exec 9>>"$S/rootlock"
	flock 9
	settled "r$w-$n-before"
	mv "$S/files-$w" "$S/before-$w"
	maybe_crash rollback-started
	run pwapt rollback
	r=$rc
	case $r in
	0 | 137) ;;
	1) grep -q "no merge into 'Root' to roll back" "$S/err-$w" ||
		unexpected "pwapt rollback" ;;
	*) unexpected "pwapt rollback" ;;
	esac
	settled "r$w-$n-after"
	log "rollback r$w-$n $r $(comm -23 "$S/before-$w" "$S/files-$w" |
		sed 's|.*/soak/||; s|/.*||' | sort -u | tr '\n' ' ')"
	exec 9>&-
}

worker() {
	w=$1 n=0 W= WG= C= CG= crash=
	while [ ! -e "$S/stop" ]; do
		n=$((n + 1))
		if [ -z "$W" ]; then
			maybe_crash create-dir create-meta create-mount create-start create-ready
			run wcreate "s$w-$n" Root
			case $rc in
			0) W=s$w-$n ;;
			137) gone "s$w-$n" ;;
			*) unexpected "wcreate s$w-$n Root" ;;
			esac
			continue
		fi
		case $(rnd 1 11) in
		1 | 2 | 3)
			g=$(write "$W") && WG="$WG $g" || drop ;;
		4)
			if [ -n "$C" ]; then
				g=$(write "$C") && CG="$CG $g" || drop
			else
				maybe_crash create-mount create-start create-ready
				run wcreate "c$w-$n" "$W"
				case $rc in
				0) C=c$w-$n ;;
				137) gone "c$w-$n" ;;
				*) unexpected "wcreate c$w-$n $W" ;;
				esac
			fi ;;
		5)
			check_diff "$W" "$WG"
			[ -n "$C" ] && check_diff "$C" "$CG" ;;
		6)
			[ -n "$C" ] || continue
			merge_crash $CG
			run wmerge "$C" "$W"
			log "merge m$w-$n $C $W $rc $CG"
			case $rc in
			0) WG="$WG $CG" ;;
			137) WG="$WG $(uncertain $CG)" && gone "$C" ;;
			*) unexpected "wmerge $C $W" && gone "$C" ;;
			esac
			C= CG= ;;
		7 | 8)
			[ -z "$C" ] || continue
			exec 9>>"$S/rootlock"
			flock -s 9
			merge_crash $WG
			run wmerge "$W" Root
			log "merge m$w-$n $W Root $rc $WG"
			exec 9>&-
			case $rc in
			0) ;;
			137)
				# What the recovery made of it, before a
				# rollback can hide it.
				exec 9>>"$S/rootlock"
				flock 9
				settled "m$w-$n"
				exec 9>&-
				gone "$W" ;;
			*) unexpected "wmerge $W Root" && gone "$W" ;;
			esac
			W= WG= ;;
		9)
			rollback ;;
		10)
			drop ;;
		11)
			# Commands stay possible after any kill.
			run wlist || [ $rc = 137 ] || unexpected wlist ;;
		esac
	done
	log "holds $W $WG"
	log "holds $C $CG"
	: >"$S/done-$w"
}

killer() {
	while [ ! -e "$S/stop" ]; do
		t=$(rnd 2 30)
		sleep "$((t / 10)).$((t % 10))"
		# Every other time a merge or rollback, if one runs.
		want=.
		[ "$(rnd 1 2)" = 1 ] && want="wmerge|rollback|recover"
		for f in $(ls "$S"/pid-* 2>/dev/null | shuf); do
			pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] || continue
			# Only a command of this test, still running.
			tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
				grep -qx "PWAPT_STATE=$PWAPT_STATE" || continue
			cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
			echo "$cmd" | grep -Eq "$want" || continue
			kill -9 "$pid" 2>/dev/null && echo "$pid $cmd" >>"$S/kills"
			break
		done
	done
}

test_expect_success "$WORKERS workers for $SOAK_SECONDS s, their commands killed at random" '
	for w in $(seq $WORKERS); do
		worker $w 2>"$S/stderr-$w" &
		note_pid $!
	done
	killer &
	note_pid $!
	sleep "$SOAK_SECONDS" &&
	: >"$S/stop" &&
	wait_for 600 "test \$(ls \"\$S\"/done-* 2>/dev/null | wc -l) = $WORKERS" || {
		echo "workers hang in:"
		for f in "$S"/pid-*; do
			pid=$(cat "$f") &&
			tr "\0" " " <"/proc/$pid/cmdline" && echo &&
			cat "/proc/$pid/stack" 2>/dev/null
			kill -9 "$pid"
		done
		exit 1
	}
	wait &&
	{
		echo "commands: $(cat "$S"/trace-* | wc -l)," \
			"killed at crash points: $(cat "$S"/trace-* | grep -c "^[^ ]* 137 at ")," \
			"merges into Root that exited 0: $(cat "$S"/log-* |
				grep -c "^merge [^ ]* [^ ]* Root 0")," \
			"rollbacks that exited 0: $(cat "$S"/log-* | grep -c "^rollback [^ ]* 0")"
		printf "killed by the killer:"
		for t in wcreate wexec wdiff wmerge rollback recover wdelete wlist; do
			printf " %s %s" $t "$(grep -c " $t " "$S/kills")"
		done
		echo
	} >"$S/summary" &&
	! grep -h "^error" "$S"/log-*
'
sed "s/^/# /" "$S/summary" 2>/dev/null

test_expect_success 'pwapt recover twice: the second changes nothing' '
	pwapt recover && manifest >"$S/root-1" &&
	test_equal "nothing to recover" "$(pwapt recover)" &&
	manifest >"$S/root-2" &&
	diff -u "$S/root-1" "$S/root-2" &&
	! test -e "$PWAPT_STATE/merge"
'

test_expect_success 'every world opens, and shows what its worker wrote' '
	wlist >"$S/wlist" && cat "$S/wlist" &&
	! grep -w damaged "$S/wlist" &&
	grep -h "^holds [^ ]" "$S"/log-* | cut -d" " -f2 | sort >"$S/held" &&
	wlist --json | python3 -c "
import json, sys
print(\"\\n\".join(sorted(w[\"name\"] for w in json.load(sys.stdin) if w[\"name\"] != \"Root\")))" >"$S/listed" &&
	diff -u "$S/held" "$S/listed" &&
	grep -h "^holds [^ ]" "$S"/log-* | while read -r _ world groups; do
		wexec "$world" sh -c "find /soak -type f | while read f; do echo \"\$f \$(cat \$f)\"; done" \
			</dev/null >"$S/files-$world" || { echo "wexec $world failed"; exit 1; }
		python3 - "$S/files-$world" $groups <<-\EOF || exit 1
		import sys
		seen = {}
		for line in open(sys.argv[1]):
		    path, content = line.rstrip("\n").split(" ", 1)
		    seen[path] = content
		bad = 0
		for spec in sys.argv[2:]:
		    maybe = spec.startswith("?")
		    g, k = spec.lstrip("?").split(":")
		    want = {"/soak/%s/%sf%d" % (g, "d/" if i % 3 == 0 else "", i): "%s %d" % (g, i)
		            for i in range(1, int(k) + 1)}
		    got = {p: seen.get(p) for p in want if p in seen}
		    if got == want or (maybe and not got):
		        continue
		    print("%s: group %s has %d of %d files" % (sys.argv[1], g, len(got), len(want)))
		    bad = 1
		sys.exit(bad)
		EOF
	done
'

test_expect_success 'Root holds exactly the merges that the model says' '
	manifest /soak >"$S/root-after" &&
	diff -u "$S/root-before" "$S/root-after" &&
	python3 - "$PWAPT_ROOT/soak" "$S"/log-* <<-\EOF
	import glob, os, sys
	top = sys.argv[1]
	merges, rollbacks, vanished = [], [], set()
	for name in sys.argv[2:]:
	    for line in open(name):
	        f = line.split()
	        if f[0] == "merge" and f[3] == "Root":
	            merges.append((f[1], int(f[4]), f[5:]))
	        elif f[0] == "rollback":
	            rollbacks.append((f[1], int(f[2]), f[3:]))
	            vanished.update(f[3:])

	def expected(spec):
	    g, k = spec.lstrip("?").split(":")
	    return g, {"%sf%d" % ("d/" if i % 3 == 0 else "", i): "%s %d\n" % (g, i)
	               for i in range(1, int(k) + 1)}

	def state(spec):
	    g, want = expected(spec)
	    d = os.path.join(top, g)
	    if not os.path.lexists(d):
	        return "absent"
	    got = {}
	    for dirpath, _, files in os.walk(d):
	        for fn in files:
	            p = os.path.join(dirpath, fn)
	            got[os.path.relpath(p, d)] = open(p).read()
	    if got == want:
	        return "whole"
	    return "partial (%d of %d files right, %d others)" % (
	        sum(got.get(p) == c for p, c in want.items()), len(want),
	        len(set(got) - set(want)))

	problems, known, undone = [], set(), 0
	for mid, rc, specs in merges:
	    states = {s: state(s) for s in specs}
	    known.update(expected(s)[0] for s in specs)
	    for s, st in states.items():
	        if st not in ("whole", "absent"):
	            problems.append("%s: group %s is %s" % (mid, s, st))
	    sure = [s for s in specs if not s.startswith("?")]
	    if rc == 0:
	        if any(expected(s)[0] in vanished for s in specs):
	            undone += 1
	            want = {"absent"}
	        else:
	            want = {"whole"}
	    elif rc == 137:
	        want = {"whole", "absent"}
	    else:
	        want = {"absent"}
	        sure = specs
	    got = {states[s] for s in sure}
	    if not got <= want or len(got) > 1:
	        problems.append("%s (exit %d): groups %s, expected %s" % (
	            mid, rc, ", ".join("%s %s" % (s, states[s]) for s in sure),
	            " or ".join(sorted(want))))
	for g in sorted(os.listdir(top)):
	    if g not in known:
	        problems.append("/soak/%s is no merged group" % g)
	merged_by = {expected(s)[0]: mid for mid, rc, specs in merges if rc == 0
	             for s in specs}
	for rid, rc, groups in rollbacks:
	    undid = {merged_by[g] for g in groups if g in merged_by}
	    if len(undid) > (1 if rc in (0, 137) else 0):
	        problems.append("%s (exit %d) undid %s" % (rid, rc, " ".join(sorted(undid))))
	# Between commands, Root holds every group whole or not at all.
	count = {expected(s)[0]: len(expected(s)[1]) for _, _, specs in merges
	         for s in specs}
	snaps = glob.glob(os.path.join(os.path.dirname(sys.argv[2]), "snap-*"))
	for snap in sorted(snaps):
	    for line in open(snap):
	        k, g = line.split()
	        k = int(k)
	        if count.get(g) != k:
	            problems.append("%s: %s has %d of %s files" % (
	                os.path.basename(snap), g, k, count.get(g)))
	print("%d merges into Root, %d undone by rollbacks, %d snapshots" % (
	    len(merges), undone, len(snaps)))
	print("\n".join(problems))
	sys.exit(1 if problems else 0)
	EOF
'

test_expect_success 'every world is deleted, leaving no mount' '
	names=$(cat "$S/listed") &&
	{ [ -z "$names" ] || wdelete $names; } &&
	test -z "$(mounts_below "$PWAPT_STATE")"
'

# PWAPT_SOAK_KEEP=DIR keeps the logs, for a look at a failure.
[ -z "${PWAPT_SOAK_KEEP:-}" ] || cp -a "$S" "$PWAPT_SOAK_KEEP"
test_done
