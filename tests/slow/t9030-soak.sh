#!/bin/sh
# Soak: four workers create, write into, diff, merge (into Root and into a
# parent world), roll back and delete worlds at the same time for
# PWAPT_SOAK_SECONDS (default 600), while a killer SIGKILLs their pwapt
# commands at random and a fifth of them die at a crash point.  A fifth
# worker runs apt transactions (pwapt install --test, upgrade --test, merge,
# discard, rollback) on a Debian Root of its own, killed the same way.
# Afterwards every world opens, `pwapt recover` is idempotent, and Root
# holds exactly what a model of the merges says.
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
#
# The transactions' Root is another Root (PWAPT_ROOT and PWAPT_STATE of
# their own, $D and $DS), a Debian tree with the tests' apt repository
# (1.0 of some packages installed, 1.1 offered): the busybox model above
# holds Root outside /soak unchanged, and its rollbacks would undo a
# transaction's merge as readily as a worker's, so one Root for both would
# leave either model unable to tell what a rollback undid.  Its worker is
# alone on its Root, so Root is checked after each of its commands (after
# `pwapt recover` when killed): the versions of the test packages (dpkg's
# status, read with dpkg-query --admindir from the host, nothing of Root
# run) equal the model's, every one "ii", `dpkg --audit` says nothing, the
# files of each installed version are there byte for byte (against the
# .debs), dpkg's file lists are there for installed packages only, and no
# file of another version or of a package not installed is there.  The
# model: each transaction, once ready, is the change (per package) between
# its world's dpkg database and its parent's; a merge that exits 0 applies
# the change of each transaction of its chain, oldest first; a killed (or
# conflicting) one any prefix of them, all of one transaction or none; a
# rollback that exits 0 brings back the state before the last merge; a
# killed one either.  No command leaves a world that is no transaction.
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
			merge-applied merge-done merge-forget:$(rnd 0 2) | shuf -n 1)
	fi
}

# Notes a failure that no kill explains.
unexpected() {
	log "error rc=$rc $*: $(tail -c 300 "$S/out-$w" | tr '\n' ' ')" \
		"$(tail -c 500 "$S/err-$w" | tr '\n' ' ')"
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
	maybe_crash rollback-started rollback-op:$(rnd 0 3) merge-forget:$(rnd 0 2)
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

# --- The transaction worker, on Root $D and state $DS --------------------
# Its own bridge and subnet: two state directories in one network
# namespace must not share them (wip(8)), or their worlds' veths collide.
D=$TMP/droot DS=$TMP/dstate DC=$TMP/dconfig
printf 'bridge = pwsoaktx\nsubnet = 10.214.0.0/16\n' >"$DC"
make_debian_root "$D"
command -v apt-ftparchive >/dev/null || skip_all "apt-ftparchive is missing (apt-utils)"
TXPKGS="pwapt-test-files pwapt-test-conf pwapt-test-scripts pwapt-test-dep"
# What the worker may ask for: a package installed, or removed ("-").
TXASK="pwapt-test-a pwapt-test-b pwapt-test-rec pwapt-test-newdep pwapt-test-dep
pwapt-test-a- pwapt-test-b- pwapt-test-rec- pwapt-test-newdep- pwapt-test-scripts-
pwapt-test-files-"

# The test packages in dpkg's database at admindir $1 (host side, nothing
# of the tree runs): "PACKAGE STATUS VERSION" lines, sorted.
tx_state() {
	dpkg-query --admindir="$1" -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' \
		>"$S/tx-query" || return 1
	awk '$1 ~ /^pwapt-test-/ && $2 != "un" { print $1, $2, $3 }' "$S/tx-query" | sort
}

# The same, as world $1 sees it (in the world).
tx_world_state() {
	wexec "$1" dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' \
		</dev/null >"$S/tx-query" || return 1
	awk '$1 ~ /^pwapt-test-/ && $2 != "un" { print $1, $2, $3 }' "$S/tx-query" | sort
}

# The model's arithmetic and Root's check (see the top).
cat >"$S/txmodel.py" <<\EOF
import os, sys

def load(path):
    d = {}
    for line in open(path):
        f = line.split()
        if f:
            d[f[0]] = (f[1], f[2] if len(f) > 2 else "")
    return d

def dump(d):
    for p in sorted(d):
        print(p, *d[p])

cmd = sys.argv[1]
if cmd == "delta":  # PARENT WORLD: what WORLD changed
    a, b = load(sys.argv[2]), load(sys.argv[3])
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            print(p, *(b[p] if p in b else ("-", "-")))
elif cmd == "apply":  # STATE DELTA...
    s = load(sys.argv[2])
    for name in sys.argv[3:]:
        for p, v in load(name).items():
            if v == ("-", "-"):
                s.pop(p, None)
            else:
                s[p] = v
    dump(s)
elif cmd == "check":  # ROOT STATE DEBS: Root's files against dpkg's status
    root, state, debs = sys.argv[2:5]
    st = load(state)
    files = {}
    for e in os.listdir(debs):
        pkg, ver = e.rsplit("_", 1)
        base = os.path.join(debs, e)
        files[(pkg, ver)] = {os.path.relpath(os.path.join(dp, n), base)
                             for dp, _, fn in os.walk(base) for n in fn}
    problems = []
    for p, (status, ver) in sorted(st.items()):
        # Removed, its maintainer scripts kept for a purge: "rc".
        if status not in ("ii", "rc"):
            problems.append("%s is %s %s" % (p, status, ver))
        elif (p, ver) not in files:
            problems.append("%s %s is no version of the repository" % (p, ver))
    for p in sorted({p for p, _ in files}):
        status, ver = st.get(p, ("-", "-"))
        want = files.get((p, ver), set()) if status == "ii" else set()
        every = set().union(*(f for (q, _), f in files.items() if q == p))
        for f in sorted(want):
            got = os.path.join(root, f)
            exp = os.path.join(debs, "%s_%s" % (p, ver), f)
            if not os.path.isfile(got) or os.path.islink(got):
                problems.append("%s %s: /%s is missing" % (p, ver, f))
            elif open(got, "rb").read() != open(exp, "rb").read():
                problems.append("%s %s: /%s differs" % (p, ver, f))
            elif os.stat(got).st_mode & 0o7777 != os.stat(exp).st_mode & 0o7777:
                problems.append("%s %s: /%s has mode %o" % (
                    p, ver, f, os.stat(got).st_mode))
        for f in sorted(every - want):
            if status == "rc" and f.startswith("etc/"):
                continue  # a removed package's conffiles stay
            if os.path.lexists(os.path.join(root, f)):
                problems.append("%s (%s %s): /%s is there" % (p, status, ver, f))
        lst = os.path.join(root, "var/lib/dpkg/info/%s.list" % p)
        if status == "rc" and os.path.lexists(lst):
            # What removal left: directories others use, conffiles.
            for f in open(lst).read().split("\n"):
                if f.lstrip("/") in every and not f.startswith("/etc/"):
                    problems.append("%s (rc %s): dpkg's file list has %s" % (
                        p, ver, f))
        elif status != "rc" and os.path.lexists(lst) != (status == "ii"):
            problems.append("%s (%s %s): dpkg's file list %s" % (
                p, status, ver, "is missing" if status == "ii" else "is there"))
    print("\n".join(problems))
    sys.exit(1 if problems else 0)
EOF

txmodel() { python3 "$S/txmodel.py" "$@"; }

# The transactions of $DS, "NAME PARENT STATE" in $S/tx-list.
tx_list() {
	pwapt list --json 2>>"$S/tx-stderr" >"$S/tx-list.json" || {
		log "error pwapt list failed: $(tail -3 "$S/tx-stderr" | tr '\n' ' ')"
		return 1
	}
	python3 -c '
import json, sys
for t in json.load(open(sys.argv[1])):
    print(t["name"], t["parent"], t["state"])' "$S/tx-list.json" >"$S/tx-list"
}

# Every ready transaction new to the model gets its change: its world's
# packages against its parent's (the worker is alone on $D: the parent is
# as it was when the transaction was built).
tx_sync() {
	tx_list || return 1
	while read -r t parent state; do
		[ "$state" = ready ] && [ ! -e "$S/tx-delta-$t" ] || continue
		if [ "$parent" = Root ]; then
			tx_state "$D/var/lib/dpkg" >"$S/tx-parent"
		else
			tx_world_state "$parent" >"$S/tx-parent"
		fi &&
		tx_world_state "$t" >"$S/tx-world" &&
		txmodel delta "$S/tx-parent" "$S/tx-world" >"$S/tx-delta-$t" || {
			rm -f "$S/tx-delta-$t"
			log "error cannot read the packages of $t or its parent $parent"
			return 1
		}
		log "tx-ready $t on $parent: $(tr '\n' ' ' <"$S/tx-delta-$t")"
	done <"$S/tx-list"
	# No killed command leaves a world that is no transaction.
	wlist --json | python3 -c '
import json, sys
for n in sorted(w["name"] for w in json.load(sys.stdin) if w["name"] != "Root"):
    print(n)' >"$S/tx-worlds" || { log "error wlist failed"; return 1; }
	cut -d" " -f1 "$S/tx-list" | sort | comm -23 "$S/tx-worlds" - | while read -r x; do
		log "error world $x is no transaction (after $(tail -1 "$S/trace-$w"))"
	done
}

# Root $D against the model's state $1: the versions, and dpkg's database
# against the files there.
tx_check() {
	tx_state "$D/var/lib/dpkg" >"$S/tx-actual" || log "error dpkg-query fails on Root"
	cmp -s "$1" "$S/tx-actual" || log "error Root's packages after" \
		"$(tail -1 "$S/trace-$w"): $(tr '\n' ' ' <"$S/tx-actual")," \
		"the model: $(tr '\n' ' ' <"$1")"
	audit=$(dpkg --admindir="$D/var/lib/dpkg" --audit 2>&1) &&
		[ -z "$audit" ] || log "error dpkg --audit after $(tail -1 "$S/trace-$w"): $audit"
	txmodel check "$D" "$S/tx-actual" "$S/debs" >"$S/tx-problems" ||
		log "error Root's files after $(tail -1 "$S/trace-$w"):" \
			"$(head -20 "$S/tx-problems" | tr '\n' ' ')"
}

# Is Root's state one of the files $*?  Prints the first that it is.
tx_which() {
	for f; do
		cmp -s "$f" "$S/tx-actual" && echo "$f" && return 0
	done
	return 1
}

# The chain of transaction $1 (from $S/tx-list), oldest first.
tx_chain() {
	awk -v t="$1" '{ parent[$1] = $2 }
		END { while (t != "Root" && t in parent) { c = t " " c; t = parent[t] } print c }' \
		"$S/tx-list"
}

# Pending transactions (any state), one at random; none: fails.
tx_pick() { [ -s "$S/tx-list" ] && shuf -n 1 "$S/tx-list" | cut -d" " -f1; }

# A new transaction: upgrade, dist-upgrade, or installs and removals.
tx_new() {
	case $(rnd 1 6) in
	1) set -- upgrade --test --keep -y ;;
	2) set -- upgrade --test --dist --keep -y ;;
	*)
		set -- $(echo "$TXASK" | tr ' ' '\n' | shuf -n "$(rnd 1 2)")
		# Not "P- P": apt-get refuses what pwapt's plan accepts
		# (a package held, then changed), a known difference.
		[ $# = 1 ] || [ "${1%-}" != "${2%-}" ] || set -- "$1"
		set -- install --test --keep -y "$@" ;;
	esac
	maybe_crash create-dir create-meta create-mount create-start create-ready
	run pwapt "$@" </dev/null
	case $rc in
	0 | 3 | 137) ;;
	*) # A request apt-get refuses too: removing what it installs
		# depends on.
		grep -q "unable to locate package\|cannot select\|unable to correct problems" \
			"$S/err-$w" || unexpected "pwapt $*" ;;
	esac
	log "tx-new $rc $*"
	[ $rc != 137 ] || recovered
	tx_check "$S/tx-R"
}

# pwapt merge of a pending transaction (its chain).
tx_merge() {
	t=$(tx_pick) || return 0
	chain=$(tx_chain "$t")
	cp "$S/tx-R" "$S/tx-cand-0"
	i=0 known=1
	for c in $chain; do
		i=$((i + 1))
		if [ -e "$S/tx-delta-$c" ]; then
			txmodel apply "$S/tx-cand-$((i - 1))" "$S/tx-delta-$c" >"$S/tx-cand-$i"
		else
			known=0 # not ready: the merge must refuse
			break
		fi
	done
	crash=
	if [ "$(rnd 1 3)" = 1 ]; then
		if [ "$(rnd 1 2)" = 1 ]; then
			crash=merge-op:$(rnd 0 60)
		else
			crash=$(printf '%s\n' merge-staged merge-planned merge-prepared \
				merge-save:$(rnd 0 8) merge-forget:$(rnd 0 2) \
				merge-applied merge-done | shuf -n 1)
		fi
	fi
	killed_at=$crash
	run pwapt merge "$t"
	r=$rc
	[ $r != 137 ] || recovered
	# Killed while it saved, recovered: nothing was applied, and the
	# chain merges again (the recovery taught it the links' ctimes).
	case $r:$known:$killed_at in
	137:1:merge-save:*)
		run pwapt merge "$t"
		# 137: the killer's SIGKILL, handled as any killed merge.
		[ $rc = 0 ] || [ $rc = 137 ] ||
			log "error pwapt merge $t exit $rc after a merge" \
			"killed at $killed_at, recovered: $(head -3 "$S/err-$w" | tr '\n' ' ')"
		r=$rc
		[ $r != 137 ] || recovered ;;
	esac
	tx_state "$D/var/lib/dpkg" >"$S/tx-actual"
	case $r in
	0)
		[ $known = 1 ] || log "error pwapt merge $t exited 0, chain $chain not all ready"
		cp "$S/tx-cand-$i" "$S/tx-R"
		# The last merge is known again: its transaction's, whose
		# state before it (the chain's state before its last
		# transaction, never Root's until now) a rollback brings back.
		cp "$S/tx-cand-$((i - 1))" "$S/tx-last"
		rm -f "$S/tx-last-unknown" ;;
	137 | 3)
		if got=$(tx_which $(seq -f "$S/tx-cand-%g" 0 $i)); then
			cp "$got" "$S/tx-R"
			j=${got##*-}
			if [ $r = 137 ]; then
				# Which merge the store keeps as the last:
				# one of the chain's, whose state before it
				# a rollback may bring back; or, the merge
				# rolled back whole, the one before, whose
				# state before it the model may know.
				: >"$S/tx-last-unknown"
				for k in $(seq 0 $i); do
					md5sum <"$S/tx-cand-$k" >>"$S/tx-seen"
				done
				[ "$j" != 0 ] || [ ! -e "$S/tx-last" ] ||
					md5sum <"$S/tx-last" >>"$S/tx-seen"
			elif [ "$j" != 0 ]; then
				cp "$S/tx-cand-$((j - 1))" "$S/tx-last"
				rm -f "$S/tx-last-unknown"
			fi
		else
			log "error pwapt merge $t (chain $chain) exit $r left neither of its" \
				"chain's states: $(tr '\n' ' ' <"$S/tx-actual")"
			cp "$S/tx-actual" "$S/tx-R"
		fi ;;
	1)
		grep -q "cannot merge '$t': .* is \(failed\|tests-failed\|planning\|testing\|installing\)" \
			"$S/err-$w" || unexpected "pwapt merge $t" ;;
	*) unexpected "pwapt merge $t" ;;
	esac
	log "tx-merge $r $t (chain $chain)"
	[ $r != 3 ] || log "tx-conflicts $(cat "$S/out-$w" "$S/err-$w" | grep "^!" | tr '\n' ' ')"
	tx_check "$S/tx-R"
}

# pwapt discard of a pending transaction (and those built on it).
tx_discard() {
	t=$(tx_pick) || return 0
	maybe_crash delete-stop delete-unmount delete-trash
	run pwapt discard "$t"
	case $rc in
	0 | 137) ;;
	*) unexpected "pwapt discard $t" ;;
	esac
	log "tx-discard $rc $t"
	[ $rc != 137 ] || recovered
	tx_check "$S/tx-R"
}

# pwapt rollback: the state before the last merge comes back.  The model
# has it in $S/tx-last, or none; $S/tx-last-unknown after a merge was
# killed (what the recovery kept of it: some state seen before, or none).
tx_rollback() {
	maybe_crash rollback-started rollback-marked save-copied restore-copied \
		rollback-op:$(rnd 0 40) merge-forget:$(rnd 0 2)
	run pwapt rollback
	r=$rc
	[ $r != 137 ] || recovered
	tx_state "$D/var/lib/dpkg" >"$S/tx-actual"
	case $r in
	0 | 137)
		if cmp -s "$S/tx-R" "$S/tx-actual" && [ $r = 137 ]; then
			: >"$S/tx-last-unknown" # not rolled back, or not yet
			# What a later rollback may bring back: the state
			# before the last merge, if the model knows it.
			[ ! -e "$S/tx-last" ] || md5sum <"$S/tx-last" >>"$S/tx-seen"
		elif [ -e "$S/tx-last-unknown" ]; then
			grep -qxF "$(cat "$S/tx-actual" | md5sum)" "$S/tx-seen" ||
				log "error pwapt rollback exit $r: a state never seen:" \
					"$(tr '\n' ' ' <"$S/tx-actual")"
			cp "$S/tx-actual" "$S/tx-R"
			rm -f "$S/tx-last" "$S/tx-last-unknown"
		elif [ -e "$S/tx-last" ]; then
			cp "$S/tx-last" "$S/tx-R"
			rm -f "$S/tx-last"
		else
			log "error pwapt rollback exit $r with no merge to roll back"
			cp "$S/tx-actual" "$S/tx-R"
		fi ;;
	1)
		if grep -q "no merge into 'Root' to roll back" "$S/err-$w"; then
			[ ! -e "$S/tx-last" ] || [ -e "$S/tx-last-unknown" ] ||
				log "error pwapt rollback: no merge, where the model has one"
			rm -f "$S/tx-last" "$S/tx-last-unknown"
		else
			grep -q "built on" "$S/err-$w" || unexpected "pwapt rollback"
		fi ;;
	*) unexpected "pwapt rollback" ;;
	esac
	log "tx-rollback $r"
	tx_check "$S/tx-R"
}

txworker() {
	w=t n=0 crash=
	PWAPT_ROOT=$D PWAPT_STATE=$DS PWAPT_CONFIG=$DC
	tx_state "$D/var/lib/dpkg" >"$S/tx-R"
	while [ ! -e "$S/stop" ]; do
		n=$((n + 1))
		case $(rnd 1 9) in
		1 | 2 | 3) tx_new ;;
		4 | 5) tx_merge ;;
		6) tx_discard ;;
		7 | 8) tx_rollback ;;
		9) run pwapt list || [ $rc = 137 ] || unexpected "pwapt list" ;;
		esac
		md5sum <"$S/tx-R" >>"$S/tx-seen"
		tx_sync
	done
	: >"$S/done-$w"
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
		[ "$(rnd 1 2)" = 1 ] && want="merge|rollback|recover|discard"
		# One time in three the transaction worker's first: its
		# commands are few and long, the others' many and short.
		first=
		[ "$(rnd 1 3)" = 1 ] && first=$S/pid-t
		for f in $first $(ls "$S"/pid-* 2>/dev/null | shuf); do
			pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] || continue
			# Only a command of this test, still running.
			{ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
				grep -qxF -e "PWAPT_STATE=$PWAPT_STATE" \
					-e "PWAPT_STATE=$DS" || continue
			cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)
			echo "$cmd" | grep -Eq "$want" || continue
			kill -9 "$pid" 2>/dev/null && echo "$pid $cmd" >>"$S/kills"
			break
		done
	done
}

# The transactions' Root: 1.0 of $TXPKGS installed, 1.1 in the lists; the
# files of every package version, from the repository's .debs, in $S/debs.
test_expect_success 'set up: a Debian Root for the transactions' '
	PWAPT_ROOT=$D PWAPT_STATE=$DS PWAPT_CONFIG=$DC &&
	use_test_repo 1.0 >/dev/null &&
	install_test_packages $TXPKGS >/dev/null &&
	use_test_repo 1.1 >/dev/null &&
	pwapt stop-all && mkdir "$S/debs" &&
	for deb in "$D"/srv/pwapt-repo/pool/*.deb; do
		dpkg-deb -x "$deb" "$S/debs/$(basename "$deb" _all.deb)" || exit 1
	done &&
	tx_state "$D/var/lib/dpkg" >"$S/tx-R" &&
	grep -q "^pwapt-test-dep ii 1.0$" "$S/tx-R" &&
	txmodel check "$D" "$S/tx-R" "$S/debs"
'

test_expect_success "$WORKERS workers and a transaction worker for $SOAK_SECONDS s, their commands killed at random" '
	for w in $(seq $WORKERS); do
		worker $w 2>"$S/stderr-$w" &
		note_pid $!
	done
	txworker 2>"$S/stderr-t" &
	note_pid $!
	killer &
	note_pid $!
	sleep "$SOAK_SECONDS" &&
	: >"$S/stop" &&
	wait_for 600 "test \$(ls \"\$S\"/done-* 2>/dev/null | wc -l) = $((WORKERS + 1))" || {
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
		echo "transactions: $(grep -c "^tx-new" "$S/log-t") begun," \
			"$(grep -c "^tx-ready" "$S/log-t") ready," \
			"merges $(grep "^tx-merge" "$S/log-t" | cut -d" " -f2 | sort | uniq -c | xargs)," \
			"discards $(grep "^tx-discard" "$S/log-t" | cut -d" " -f2 | sort | uniq -c | xargs)," \
			"rollbacks $(grep "^tx-rollback" "$S/log-t" | cut -d" " -f2 | sort | uniq -c | xargs)" \
			"(count exit)"
		printf "killed by the killer:"
		for t in wcreate wexec wdiff wmerge rollback recover wdelete wlist \
			install upgrade merge discard list; do
			printf " %s %s" $t "$(grep -c " $t " "$S/kills")"
		done
		echo
	} >"$S/summary" &&
	if grep -q "^error" "$S"/log-*; then
		# What led to each error: the log and commands before it.
		for f in "$S"/log-*; do
			grep -q "^error" "$f" || continue
			echo "--- $f, before its first error:"
			grep -m1 -B25 "^error" "$f"
			echo "--- the last commands of ${f##*log-}:"
			tail -25 "$S/trace-${f##*log-}"
		done
		grep -h "^error" "$S"/log-*
		exit 1
	fi
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
for name in sorted(w[\"name\"] for w in json.load(sys.stdin) if w[\"name\"] != \"Root\"):
    print(name)" >"$S/listed" &&
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

test_expect_success 'transactions: recover twice changes nothing, every world opens, Root is the model' '
	PWAPT_ROOT=$D PWAPT_STATE=$DS PWAPT_CONFIG=$DC w=final &&
	echo "at the end" >"$S/trace-final" &&
	pwapt recover && manifest /proc /sys /dev /run /tmp >"$S/droot-1" &&
	test_equal "nothing to recover" "$(pwapt recover)" &&
	manifest /proc /sys /dev /run /tmp >"$S/droot-2" &&
	diff -u "$S/droot-1" "$S/droot-2" &&
	! test -e "$DS/merge" &&
	wlist >"$S/dwlist" && cat "$S/dwlist" && ! grep -w damaged "$S/dwlist" &&
	tx_sync && cat "$S/tx-list" &&
	for t in $(cut -d" " -f1 "$S/tx-list"); do
		wexec "$t" true </dev/null || { echo "wexec $t failed"; exit 1; }
	done &&
	tx_check "$S/tx-R" &&
	! grep "^error" "$S/log-final"
'

test_expect_success 'every world is deleted, leaving no mount' '
	names=$(cat "$S/listed") &&
	{ [ -z "$names" ] || wdelete $names; } &&
	test -z "$(mounts_below "$PWAPT_STATE")" &&
	names=$(PWAPT_STATE=$DS PWAPT_ROOT=$D PWAPT_CONFIG=$DC wlist --json | python3 -c "
import json, sys
print(\" \".join(w[\"name\"] for w in json.load(sys.stdin) if w[\"name\"] != \"Root\"))") &&
	{ [ -z "$names" ] || PWAPT_STATE=$DS PWAPT_ROOT=$D PWAPT_CONFIG=$DC wdelete $names; } &&
	test -z "$(mounts_below "$DS")"
'

# PWAPT_SOAK_KEEP=DIR keeps the logs, for a look at a failure.
[ -z "${PWAPT_SOAK_KEEP:-}" ] || cp -a "$S" "$PWAPT_SOAK_KEEP"
test_done
