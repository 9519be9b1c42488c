/* Unit tests of what services.c and procs.c read: the pid files an init
 * script or unit names, the unit a cgroup file names, maps lines, and the
 * process table of this test's own PID namespace. */
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

int main(void)
{
	test_pidfiles();
	test_cgroup();
	test_maps();
	test_scan();
	return tap_done();
}
