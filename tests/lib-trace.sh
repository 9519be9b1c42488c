# Shared by the trace tests (t0700 bpf, t0710 audit), sourced after lib.sh
# and make_busybox_root: the helper "at" in Root's /bin, the collector in
# the background, the workload and what it must leave in a table.
# A test file defines collector_started (run after each start) and sets
# its trap.
command -v gcc >/dev/null || skip_all "gcc is missing"

# The helper that makes the system calls busybox cannot: OP on NAME (and
# NAME2) either relative to the working directory with the classic calls
# (DIR "-"), or relative to a descriptor of DIR with the *at() calls.
cat >"$TMP/at.c" <<'CEOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>
static int fail(const char *what) { perror(what); return 1; }
int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "noop"))
		return 0;
	if (argc < 4)
		return fprintf(stderr, "usage: at DIR|- OP NAME [NAME2]\n"), 2;
	const char *op = argv[2], *a = argv[3], *b = argc > 4 ? argv[4] : NULL;
	int cwd = !strcmp(argv[1], "-"), fd, r = 0;
	int d = cwd ? AT_FDCWD : open(argv[1], O_RDONLY | O_DIRECTORY);
	if (d == -1)
		return fail(argv[1]);
	if (!strcmp(op, "read")) {
		fd = cwd ? open(a, O_RDONLY) : openat(d, a, O_RDONLY);
		r = fd < 0;
	} else if (!strcmp(op, "write")) {
		fd = cwd ? open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644)
			 : openat(d, a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		r = fd < 0 || write(fd, "x\n", 2) != 2;
	} else if (!strcmp(op, "rdcreat")) {
		fd = cwd ? open(a, O_RDONLY | O_CREAT, 0644)
			 : openat(d, a, O_RDONLY | O_CREAT, 0644);
		r = fd < 0;
	} else if (!strcmp(op, "creat")) {
		fd = cwd ? creat(a, 0644)
			 : openat(d, a, O_WRONLY | O_CREAT | O_EXCL, 0644);
		r = fd < 0;
	} else if (!strcmp(op, "rename")) {
		r = cwd ? rename(a, b) : renameat(d, a, d, b);
	} else if (!strcmp(op, "unlink")) {
		r = cwd ? unlink(a) : unlinkat(d, a, 0);
	} else if (!strcmp(op, "rmdir")) {
		r = cwd ? rmdir(a) : unlinkat(d, a, AT_REMOVEDIR);
	} else if (!strcmp(op, "mkdir")) {
		r = cwd ? mkdir(a, 0755) : mkdirat(d, a, 0755);
	} else if (!strcmp(op, "link")) {
		r = cwd ? link(a, b) : linkat(d, a, d, b, 0);
	} else if (!strcmp(op, "symlink")) {
		r = cwd ? symlink(b, a) : symlinkat(b, d, a);
	} else if (!strcmp(op, "mknod")) {
		r = cwd ? mknod(a, S_IFIFO | 0644, 0) : mknodat(d, a, S_IFIFO | 0644, 0);
	} else if (!strcmp(op, "truncate")) {
		if (cwd) {
			r = truncate(a, 1);
		} else {
			fd = openat(d, a, O_RDONLY | O_PATH);
			/* ftruncate needs a writable fd: through /proc. */
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			fd = open(p, O_WRONLY);
			r = fd < 0 || ftruncate(fd, 1);
		}
	} else if (!strcmp(op, "chmod")) {
		r = cwd ? chmod(a, 0600) : fchmodat(d, a, 0600, 0);
	} else if (!strcmp(op, "chown")) {
		r = cwd ? chown(a, 1, 1) : fchownat(d, a, 1, 1, 0);
	} else if (!strcmp(op, "utimes")) {
		r = cwd ? utimes(a, NULL) : utimensat(d, a, NULL, 0);
	} else if (!strcmp(op, "exec")) {
		char *args[] = {(char *)a, "noop", NULL}, *env[] = {NULL};
		if (cwd)
			execve(a, args, env);
		else
			syscall(SYS_execveat, d, a, args, env, 0);
		return fail("exec");
	} else if (!strcmp(op, "xattr")) {
		/* No call of the traced set: a change the tables miss. */
		r = cwd ? setxattr(a, "user.pwapt", "1", 1, 0)
			: fsetxattr(fd = openat(d, a, O_RDONLY), "user.pwapt", "1", 1, 0);
	} else if (!strcmp(op, "flood")) {
		/* A: how many files; B: a directory with a long name. */
		char name[4096];
		int n = atoi(a);
		if (mkdirat(d, b, 0755) && mkdirat(d, b, 0755))
			;
		for (int i = 0; i < n && !r; i++) {
			snprintf(name, sizeof(name), "%s/%0200d", b, i);
			fd = openat(d, name, O_WRONLY | O_CREAT, 0644);
			r = fd < 0 || close(fd);
		}
	} else {
		return fprintf(stderr, "at: unknown operation %s\n", op), 2;
	}
	return r ? fail(op) : 0;
}
CEOF
gcc -O2 -static -o "$TMP/at" "$TMP/at.c" || skip_all "cannot build a static helper"
cp "$TMP/at" "$PWAPT_ROOT/bin/at"

# The collector, in the background (its pid in $TMP/collector.pid, its
# output and then "exit=STATUS" in $TMP/collector.out), so that a test's
# subshell may start it and another stop it.
start_collector() {
	# One a failed test left running would hold the store's trace lock.
	stop_collector >/dev/null 2>&1
	rm -f "$TMP/collector.pid"
	# Held while writing its tables as long as $TMP/pause exists
	# (crash_pause()): a collector busy with its own work.
	PWAPT_PAUSE_AT=trace-tables PWAPT_PAUSE_FILE=$TMP/pause \
	sh -c 'pwapt trace run & echo $! >"$1"; wait $!; echo "exit=$?"' - \
		"$TMP/collector.pid" >"$TMP/collector.out" 2>&1 &
	wait_for 10 'test -s "$TMP/collector.pid"' || return 1
	note_pid "$(cat "$TMP/collector.pid")"
	wait_for 60 'grep -q "^tracing$\|^exit=" "$TMP/collector.out"'
	grep -q '^tracing$' "$TMP/collector.out" || { cat "$TMP/collector.out"; return 1; }
	collector_started
}

# Stops the collector; fails unless it exited cleanly.
stop_collector() {
	[ -s "$TMP/collector.pid" ] || return 0
	kill -TERM "$(cat "$TMP/collector.pid")" 2>/dev/null
	kill -CONT "$(cat "$TMP/collector.pid")" 2>/dev/null
	rm -f "$TMP/collector.pid"
	wait_for 60 'grep -q "^exit=" "$TMP/collector.out"' &&
	grep -qx "exit=0" "$TMP/collector.out" || { cat "$TMP/collector.out"; return 1; }
}

# Whether the collector traces world $1 (it made its table).
wait_traced() {
	wait_for 60 "test -e \"\$PWAPT_STATE/worlds/$1/trace\""
}

# The same accesses, under /tW/ in world W: through AT_FDCWD in /tW and
# through a descriptor of /tW/d.
workload() {
	cat <<'SEOF'
set -e
t=$1
mkdir -p $t/d && cd $t
cp /bin/at $t/x && cp /bin/at $t/d/x
for dir in - $t/d; do
	at $dir write f1
	at $dir read f1
	at $dir creat c1
	at $dir rdcreat c2
	at $dir rename f1 f2
	at $dir link f2 l1
	at $dir symlink s1 target-of-s1
	at $dir mknod n1
	at $dir truncate f2
	at $dir chmod f2
	at $dir chown f2
	at $dir utimes f2
	at $dir unlink l1
	at $dir mkdir m1
	at $dir rmdir m1
	at $dir exec ./x
	at $dir mkdir ./m3
	at $dir rmdir m3/../m3
done
# A directory descriptor opened through a symbolic link: the kernel's path.
ln -s d $t/ld
at $t/ld mkdir viasym
SEOF
}

expected() {
	t=$1
	for p in $t $t/d; do
		cat <<EEOF
write $p/f1
read $p/f1
write $p/c2
read $p/c2
rename $p/f1 $p/f2
link $p/f2 $p/l1
symlink $p/s1 target-of-s1
mknod $p/n1
truncate $p/f2
chmod $p/f2
chown $p/f2
utimes $p/f2
delete $p/l1
mkdir $p/m1
rmdir $p/m1
exec $p/x
mkdir $p/m3
rmdir $p/m3
EEOF
	done
	echo "mkdir $t/d/viasym"
	echo "write $t/c1"
	echo "create $t/d/c1"
}

