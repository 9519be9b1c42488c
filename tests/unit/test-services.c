/* Unit tests of what services.c and procs.c read: the pid files an init
 * script or unit names, the unit a cgroup file names, maps lines, and the
 * process table of this test's own PID namespace; and the start order
 * units' After=, Before=, Requires= and Wants= give (svcorder.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../world/procs.h"
#include "../../world/services.h"
#include "../../world/svcorder.h"
#include "tap.h"

/* The pid files of TEXT, joined with ' '. */
static const char *pidfiles(const char *text, size_t len, bool unit)
{
	static char buf[4096];
	struct strv v = {0};
	buf[0] = '\0';
	if (services_script_pidfiles(text, len, unit, &v) < 0)
		return "(error)";
	for (size_t i = 0; i < v.n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
			 i ? " " : "", v.v[i]);
	strv_free(&v);
	return buf;
}

static void test_pidfiles(void)
{
	const char *script = "#!/bin/sh\n"
			     "NAME=foo\n"
			     "PIDFILE=/run/$NAME.pid\n"
			     "  start-stop-daemon --start --pidfile "
			     "\"/var/run/${NAME}-2.pid\" --exec /usr/sbin/foo\n"
			     "PIDFILE=$(cat /etc/foo)\n"
			     "PIDFILE=relative.pid\n"
			     "PIDFILE=/run/$OTHER.pid\n"
			     "PIDFILE=/run/../etc/shadow\n";
	ok(!strcmp(pidfiles(script, strlen(script), false),
		   "/run/foo.pid /var/run/foo-2.pid"),
	   "an init script's PIDFILE= and --pidfile, $NAME expanded; others "
	   "refused: %s",
	   pidfiles(script, strlen(script), false));
	const char *unit = "[Service]\nPIDFile=%t/bar.pid\nPIDFILE=/x\n";
	ok(!strcmp(pidfiles(unit, strlen(unit), true), "/run/bar.pid"),
	   "a unit's PIDFile=, %%t as /run: %s",
	   pidfiles(unit, strlen(unit), true));
	/* A line of 2 MiB, then the pid file; NUL bytes on the way. */
	size_t n = 2u << 20;
	char *big = malloc(n + 64);
	memset(big, 'x', n);
	big[10] = '\0';
	strcpy(big + n, "\nPIDFILE=/run/big.pid\n");
	ok(!strcmp(pidfiles(big, n + strlen(big + n), false), "/run/big.pid"),
	   "a huge line and NUL bytes: the pid file after them is found");
	free(big);
	char many[4096] = "";
	for (int i = 0; i < 20; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "PIDFILE=/run/p%d.pid\n", i);
	struct strv v = {0};
	(void)services_script_pidfiles(many, strlen(many), false, &v);
	ok(v.n == 8, "at most 8 pid files a service (got %zu)", v.n);
	strv_free(&v);
}

static void test_cgroup(void)
{
	char *u = procs_cgroup_unit("0::/system.slice/ssh.service\n");
	ok(u && !strcmp(u, "ssh.service"), "cgroup v2: the unit");
	free(u);
	u = procs_cgroup_unit("3:cpu:/x.service\n1:name=systemd:/lxc.payload.A/"
			      "system.slice/cron.service/sub\n");
	ok(u && !strcmp(u, "cron.service"),
	   "cgroup v1: name=systemd's, not another controller's");
	free(u);
	u = procs_cgroup_unit("0::/lxc.payload.Root/.lxc\n");
	ok(!u, "no unit: NULL");
	free(u);
	u = procs_cgroup_unit("0::/.service\n0::/a/x");
	ok(!u, "\".service\" alone is no unit");
	free(u);
}

static void test_maps(void)
{
	const char *l =
		"7f00-7f01 r-xp 00001000 fe:01 456     /usr/lib/x.so (deleted)";
	struct proc_file f = {0};
	ok(procs_maps_line(l, strlen(l), &f) &&
		   !strcmp(f.path, "/usr/lib/x.so") && f.deleted &&
		   f.ino == 456 && major(f.dev) == 0xfe && minor(f.dev) == 1,
	   "a deleted mapping: path, inode, device");
	free(f.path);
	l = "7ffd-7ffe rw-p 00000000 00:00 0  [stack]";
	ok(!procs_maps_line(l, strlen(l), &f), "an anonymous mapping: none");
	l = "7ffd-7ffe rw-p 00000000 00:05 77  anon_inode:[perf]";
	ok(!procs_maps_line(l, strlen(l), &f), "a pseudo file: none");
}

static void test_scan(void)
{
	char path[] = "/tmp/pwapt-unit-map.XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "data", 4) == 4, "a file to map");
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return;
	pid_t child = fork();
	if (child == 0) {
		void *m = mmap(NULL, 4, PROT_READ, MAP_SHARED, fd, 0);
		char c = m == MAP_FAILED ? 'n' : 'y';
		(void)!write(pipefd[1], &c, 1);
		pause();
		_exit(0);
	}
	char c = 0;
	(void)!read(pipefd[0], &c, 1);
	struct proc_table t = {0};
	int r = procs_scan(0, PROCS_FILES, &t);
	ok(r == 0 && c == 'y', "the table of our own namespace");
	const struct proc *me = procs_find(&t, getpid());
	const struct proc *kid = procs_find(&t, child);
	struct stat exe, st;
	stat("/proc/self/exe", &exe);
	fstat(fd, &st);
	ok(me && me->n_files && me->files[0].ino == exe.st_ino &&
		   me->files[0].dev == exe.st_dev,
	   "our executable first, by device and inode");
	bool mapped = false;
	for (size_t i = 0; kid && i < kid->n_files; i++)
		mapped |= !strcmp(kid->files[i].path, path) &&
			  kid->files[i].ino == st.st_ino &&
			  !kid->files[i].deleted;
	ok(mapped, "the child maps the file");
	ok(kid && kid->ppid == getpid() && procs_descends(&t, child, getpid()),
	   "the child descends from us");
	procs_release(&t);
	unlink(path);
	r = procs_scan(0, PROCS_FILES, &t);
	kid = r == 0 ? procs_find(&t, child) : NULL;
	mapped = false;
	for (size_t i = 0; kid && i < kid->n_files; i++)
		mapped |= !strcmp(kid->files[i].path, path) &&
			  kid->files[i].deleted;
	ok(mapped, "once unlinked, the mapping is seen deleted");
	procs_release(&t);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	r = procs_scan(child, 0, &t);
	ok(r == -ESRCH, "the namespace of a process gone: -ESRCH (%d)", r);
	close(fd);
}

/* Writes TEXT to REL beneath the directory TREE, its parents made. */
static void put(int tree, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s", rel);
	for (char *p = path; (p = strchr(p + 1, '/'));) {
		*p = '\0';
		(void)mkdirat(tree, path, 0755);
		*p = '/';
	}
	int fd = openat(tree, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(rel);
		close(fd);
	}
}

/* The start order of NAMES (N, space-joined) beneath TREE; *NOTE the
 * cycle said ("" none). */
static const char *order_of(int tree, char *const *names, size_t n,
			    const char **note)
{
	static char buf[512], nbuf[512];
	size_t order[16];
	char *text = NULL;
	buf[0] = nbuf[0] = '\0';
	if (svcorder_start_order(tree, names, n, order, &text) < 0)
		return "(error)";
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
			 i ? " " : "", names[order[i]]);
	snprintf(nbuf, sizeof(nbuf), "%s", text ? text : "");
	free(text);
	*note = nbuf;
	return buf;
}

static void test_order(void)
{
	char dir[] = "/tmp/test-services.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	int tree = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *note;
	/* aa after zz: the names sort the other way. */
	put(tree, "lib/systemd/system/aa.service",
	    "[Unit]\nDescription=x After=bb.service\n"
	    "After=network.target zz.service\n[Service]\nExecStart=/x\n"
	    "[Install]\nAfter=mm.service\n");
	put(tree, "lib/systemd/system/zz.service", "[Unit]\n");
	char *two[] = {"aa", "zz", NULL};
	ok(!strcmp(order_of(tree, two, 2, &note), "zz aa") && !*note,
	   "After= of a unit: what it names starts first, the names sorting "
	   "the other way: %s", order_of(tree, two, 2, &note));
	/* Before=, Requires=, Wants=; one not in the plan is no edge. */
	put(tree, "usr/lib/systemd/system/bb.service",
	    "[Unit]\nBefore=aa.service\n");
	put(tree, "etc/systemd/system/cc.service",
	    "# After=dd.service\n[Unit]\nRequires=dd.service\n");
	put(tree, "lib/systemd/system/dd.service",
	    "[Unit]\nWants=ee.service missing.service ee.socket\n");
	put(tree, "lib/systemd/system/ee.service", "");
	char *five[] = {"aa", "bb", "cc", "dd", "ee", NULL};
	/* Without the tree: the order given. */
	ok(!strcmp(order_of(-1, five, 5, &note), "aa bb cc dd ee"),
	   "no tree: the order given: %s", order_of(-1, five, 5, &note));
	ok(!strcmp(order_of(tree, five, 5, &note), "bb aa ee dd cc") && !*note,
	   "Before=, Requires=, Wants= (from /usr/lib, /etc), comments and "
	   "other sections not read: %s",
	   order_of(tree, five, 5, &note));
	/* A drop-in adds an edge; one that resets After= takes the unit
	 * file's away. */
	put(tree, "etc/systemd/system/ee.service.d/10-late.conf",
	    "[Unit]\nAfter=cc.service\n");
	ok(!strcmp(order_of(tree, five, 5, &note), "bb aa cc ee dd") &&
		   !strcmp(note, "the ordering of cc, dd, ee is a cycle: cc "
				 "starts first"),
	   "a drop-in's After= is read (here it makes a cycle of three, "
	   "broken at the first of them): %s (%s)",
	   order_of(tree, five, 5, &note), note);
	put(tree, "etc/systemd/system/aa.service.d/50-reset.conf",
	    "[Unit]\nAfter=\n");
	char *three[] = {"aa", "zz", NULL};
	ok(!strcmp(order_of(tree, three, 2, &note), "aa zz"),
	   "an empty After= in a drop-in resets the unit's list: %s",
	   order_of(tree, three, 2, &note));
	/* A cycle: broken at the first in the order given, said. */
	put(tree, "lib/systemd/system/c1.service",
	    "[Unit]\nAfter=c2.service\n");
	put(tree, "lib/systemd/system/c2.service",
	    "[Unit]\nAfter=c1.service\n");
	char *cyc[] = {"c2", "c1", NULL};
	ok(!strcmp(order_of(tree, cyc, 2, &note), "c2 c1") &&
		   strstr(note, "c2, c1 is a cycle: c2 starts first"),
	   "a cycle is broken at the first of the order given, and said: "
	   "%s (%s)", order_of(tree, cyc, 2, &note), note);
	/* Hostile: a link (to the host's units) is not followed, a FIFO is
	 * not waited on, a unit name with a slash is not looked up. */
	if (symlinkat("/lib/systemd/system/zz.service", tree,
		      "etc/systemd/system/ln.service") < 0)
		perror("symlink");
	(void)mkfifoat(tree, "lib/systemd/system/ff.service", 0644);
	char *hostile[] = {"ln", "ff", "../zz", "zz", NULL};
	put(tree, "lib/systemd/system/ln.service",
	    "[Unit]\nAfter=zz.service\n");
	ok(!strcmp(order_of(tree, hostile, 4, &note), "ln ff ../zz zz"),
	   "a link, a FIFO, a name with a slash: nothing read: %s",
	   order_of(tree, hostile, 4, &note));
	close(tree);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		perror(cmd);
}

int main(void)
{
	test_order();
	test_pidfiles();
	test_cgroup();
	test_maps();
	test_scan();
	return tap_done();
}
