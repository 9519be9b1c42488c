#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>

#include "childwait.h"
#include "cleanup.h"
#include "container-confine.h"
#include "container-mounts.h"
#include "container.h"
#include "crash.h"
#include "error.h"
#include "freezer.h"
#include "fsutil.h"
#include "initcopy.h"

/* PID 1 of a container: pwapt-init, bind-mounted onto the fresh /run
 * (PWAPT_INIT_IN_TREE, container-mounts.h), or
 * the tree's own init (its systemd), as liblxc execs them inside. */
#define TREE_INIT "/sbin/init"
/* Seconds the tree's systemd has to finish booting. */
#define BOOT_TIMEOUT 90

#ifndef LXC_SONAME
#define LXC_SONAME "liblxc.so.1"
#endif

/* liblxc, loaded when a container is first opened, not at every command's
 * start: with what it loads (libseccomp, libselinux and libpcre2,
 * libapparmor, libcap) it cost each command, wdiff's too, 0.5 ms.  Always
 * from the host's libraries: pwapt never enters a world's mount namespace
 * itself (liblxc's attach does, in its own children, once loaded). */
static struct {
	__typeof__(lxc_container_new) *new_container;
	__typeof__(lxc_container_put) *put;
} lxc;

int container_lib_load(struct world_error *err)
{
	if (lxc.put)
		return 0;
	void *h = dlopen(LXC_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return werr(err, ELIBACC, "cannot load liblxc: %s", dlerror());
	const char *names[] = {"lxc_container_new", "lxc_container_put"};
	void *fn[2];
	for (size_t i = 0; i < 2; i++)
		if (!(fn[i] = dlsym(h, names[i])))
			return werr(err, ELIBACC, "%s has no %s()", LXC_SONAME,
				    names[i]);
	lxc.new_container = (__typeof__(lxc_container_new) *)fn[0];
	lxc.put = (__typeof__(lxc_container_put) *)fn[1];
	return 0;
}

/* Loaded by now, or the program ends as the dynamic loader would have
 * ended it, with status 127, had liblxc been linked: a container that
 * cannot be asked must never be taken for one that is stopped (the
 * queries below answer true or false), and a command meets this only
 * where its library went missing after it started (pwapt and pwapt-trace
 * load it first where it matters: world_load_containers()). */
static void lxc_load(void)
{
	struct world_error err = {0};
	if (container_lib_load(&err) < 0) {
		fprintf(stderr, "pwapt: %s\n", err.msg);
		exit(127);
	}
}

static void lxc_putp(struct lxc_container **c)
{
	if (*c)
		lxc.put(*c);
}
#define _cleanup_lxc_ _cleanup_(lxc_putp)

static struct lxc_container *open_container(struct world_store *s,
					    const char *name)
{
	lxc_load();
	return lxc.new_container(name, s->worlds);
}

/* The first error liblxc logged: its own words for why a start failed
 * (later errors only report that the start as a whole failed). */
static void last_log_line(struct world_store *s, const char *name, char *buf,
			  size_t size)
{
	buf[0] = '\0';
	_cleanup_free_ char *path = store_world_path(s, name, "lxc.log");
	_cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, " ERROR ")) {
			const char *msg = strstr(line, " - ");
			snprintf(buf, size, "%s", msg ? msg + 3 : line);
			break;
		}
	}
	size_t l = strlen(buf);
	while (l && buf[l - 1] == '\n')
		buf[--l] = '\0';
}

/* The state directory must stay invisible in a world.  When it lies inside
 * Root's tree (the state of a host whose Root is "/"), an empty read-only
 * tmpfs covers it; the worlds' layers and trees live inside it. */
static int set_config(struct lxc_container *c, const char *key,
		      const char *value, struct world_error *err)
{
	if (!c->set_config_item(c, key, value))
		return werr(err, EINVAL, "liblxc rejected %s = %s", key, value);
	return 0;
}

static bool dir_in_tree(const char *rootfs, const char *rel)
{
	_cleanup_free_ char *p = path_join(rootfs, rel);
	struct stat st;
	return p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Opens REL in the tree at ROOT with its symbolic links resolved as they
 * are inside it (an absolute target from the tree's root, never beyond):
 * openat2's RESOLVE_IN_ROOT.  -ENOSYS where the kernel has no openat2. */
static int open_in_tree(int root, const char *rel, int flags)
{
	struct open_how how = {.flags = (unsigned)flags | O_CLOEXEC,
			       .resolve =
				       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Whether the tree's /sbin/init is its systemd: the same file as its
 * /lib/systemd/systemd (or /usr/lib's), links followed inside the tree.
 * 1 or 0; -errno when it cannot tell. */
static int tree_init_is_systemd(const char *rootfs)
{
	_cleanup_close_ int root =
		open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	_cleanup_close_ int init = open_in_tree(root, TREE_INIT + 1, O_PATH);
	if (init == -ENOENT || init == -ENOTDIR || init == -ELOOP)
		return 0;
	struct stat a, b;
	if (init < 0 || fstat(init, &a) < 0)
		return init < 0 ? init : -errno;
	if (!S_ISREG(a.st_mode) || !(a.st_mode & 0111))
		return 0;
	static const char *const systemd[] = {"lib/systemd/systemd",
					      "usr/lib/systemd/systemd"};
	for (size_t i = 0; i < 2; i++) {
		_cleanup_close_ int fd = open_in_tree(root, systemd[i], O_PATH);
		if (fd >= 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return 1;
	}
	return 0;
}

/* Why this host cannot give systemd in a container a cgroup hierarchy of
 * its own, or NULL when it can.  liblxc mounts the host's hierarchies in
 * the container with the container's own cgroup writable (cgroup:mixed);
 * systemd needs cgroup2 there, or v1's name=systemd hierarchy. */
static const char *host_cannot_run_systemd(void)
{
	struct statfs f;
	if (statfs("/sys/fs/cgroup", &f) < 0)
		return "this host has no /sys/fs/cgroup";
	if (f.f_type == CGROUP2_SUPER_MAGIC)
		return NULL;
	if (statfs("/sys/fs/cgroup/systemd", &f) == 0 &&
	    f.f_type == CGROUP_SUPER_MAGIC)
		return NULL;
	return "this host has neither cgroup2 nor the name=systemd "
	       "hierarchy at /sys/fs/cgroup";
}

/* Whether NAME's container runs the tree's systemd (*SYSTEMD) or
 * pwapt-init, as the store's init_system says; an error when it says
 * "systemd" and that cannot be. */
static int choose_init(struct world_store *s, const char *name,
		       const char *rootfs, bool *systemd,
		       struct world_error *err)
{
	*systemd = false;
	if (s->init_system == WORLD_INIT_NONE)
		return 0;
	const char *why = host_cannot_run_systemd();
	int r = why ? 0 : tree_init_is_systemd(rootfs);
	if (r > 0) {
		*systemd = true;
		return 0;
	}
	if (s->init_system == WORLD_INIT_AUTO)
		return 0;
	if (why)
		return werr(err, EOPNOTSUPP,
			    "init = systemd, but the container of '%s' cannot "
			    "run it: %s",
			    name, why);
	if (r < 0)
		return werr_errno(err, -r,
				  "init = systemd, but what the /sbin/init of "
				  "'%s' is cannot be told",
				  name);
	return werr(err, ENOEXEC,
		    "init = systemd, but the /sbin/init of '%s' is not "
		    "systemd",
		    name);
}

/* Whether the running container C runs the tree's init, not pwapt-init:
 * its saved configuration says. */
static bool runs_tree_init(struct lxc_container *c)
{
	char cmd[PATH_MAX];
	int n = c->get_config_item(c, "lxc.init.cmd", cmd, sizeof(cmd));
	return n > 0 && strcmp(cmd, PWAPT_INIT_IN_TREE) != 0;
}

/* Waits until the systemd of NAME's container (host pid INIT) finished
 * booting: its private socket is there (seen from the host through
 * /proc/INIT/root: nothing of the world runs here), then `systemctl
 * is-system-running --wait` in the container says "running" or
 * "degraded" (a unit failed: the world is up all the same). */
static int wait_booted(struct world_store *s, const char *name, pid_t init,
		       struct world_error *err)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d/root", (int)init);
	_cleanup_close_ int root = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const struct timespec pause = {0, 50 * 1000 * 1000};
	unsigned waited = 0; /* in pauses */
	for (;; waited++) {
		_cleanup_close_ int sock =
			root >= 0 ? open_beneath(root, "run/systemd/private",
						 O_PATH)
				  : -ENOENT;
		if (sock >= 0)
			break;
		if (root < 0 || kill(init, 0) < 0 ||
		    !container_running(s, name, NULL))
			return werr(
				err, ECHILD,
				"the systemd of '%s' exited as it booted "
				"(init = none in pwapt.conf runs pwapt-init "
				"instead)",
				name);
		if (waited >= BOOT_TIMEOUT * 20)
			return werr(err, ETIMEDOUT,
				    "the systemd of '%s' did not start in %d s",
				    name, BOOT_TIMEOUT);
		nanosleep(&pause, NULL);
	}
	_cleanup_close_ int out =
		memfd_create("is-system-running", MFD_CLOEXEC);
	if (out < 0)
		return werr_errno(err, errno, "cannot make a memfd");
	char *argv[] = {(char *)"systemctl", (char *)"is-system-running",
			(char *)"--wait", NULL};
	struct world_exec_options xo = {
		.timeout = BOOT_TIMEOUT - waited / 20 + 1, .output_fd = out};
	int status = 0;
	int r = container_attach(s, name, argv, &xo, false, &status, err);
	if (r < 0)
		return r;
	char state[64] = "";
	ssize_t n = pread(out, state, sizeof(state) - 1, 0);
	state[n > 0 ? n : 0] = '\0';
	state[strcspn(state, "\n")] = '\0';
	if (!strcmp(state, "running") || !strcmp(state, "degraded"))
		return 0;
	if (status == 128 + SIGKILL)
		return werr(err, ETIMEDOUT,
			    "the systemd of '%s' did not finish booting in "
			    "%d s",
			    name, BOOT_TIMEOUT);
	if (!state[0])
		snprintf(state, sizeof(state), "exit status %d", status);
	return werr(err, EIO,
		    "the systemd of '%s' did not boot (systemctl "
		    "is-system-running: %s)",
		    name, state);
}

/* Starts C daemonized from a child that exits once liblxc says it runs.
 * liblxc moves the process that starts a container daemonized (its
 * "transient" pid) into the monitor's cgroups, lxc.monitor.NAME in every
 * hierarchy, and leaves it there.  Were that pwapt, pwapt and all it
 * spawned after would stay in them; a container stopped while that pwapt
 * runs (a transaction's world, made durable) would leave them behind, as
 * liblxc cannot remove a cgroup in use (EBUSY), and liblxc fails once a
 * name has 1000 of them (lxc.monitor.NAME-1 ... -999).  The child goes
 * instead, and the monitor's cgroups hold the monitor alone. */
static bool start_daemonized(struct lxc_container *c)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(c->start(c, 0, NULL) ? 0 : 1);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

/* Every world's host name is Root's: a world looks exactly like
 * production, and what a package's scripts write of `hostname` (a
 * certificate's CN, a host key's comment, /etc/mailname) merges into
 * Root.  Root on this host: the host's name; Root in a container: the
 * name its container has (never a name read from any tree). */
static void root_host_name(const struct world_store *s, char *buf, size_t size)
{
	struct utsname u;
	snprintf(buf, size, "%s",
		 store_root_is_host(s) && uname(&u) == 0 ? u.nodename
							 : WORLD_ROOT);
}

int container_start(struct world_store *s, const char *name, const char *rootfs,
		    bool fresh, pid_t *init_pid, struct world_error *err)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c)
		return werr(err, ENOMEM, "liblxc cannot open container '%s'",
			    name);
	/* A container of a world just created that still runs is the one of
	 * a deleted world of the same name, still being torn down. */
	if (fresh && c->is_running(c) && !c->wait(c, "STOPPED", 10))
		return werr(err, EBUSY,
			    "the container of a deleted world named '%s' is "
			    "still stopping",
			    name);
	if (c->is_running(c))
		return 0;
	c->clear_config(c);
	bool systemd = false;
	int r = choose_init(s, name, rootfs, &systemd, err);
	if (r < 0)
		return r;
	if (!systemd && access(s->init, X_OK) < 0)
		return werr_errno(
			err, errno,
			"cannot use pwapt-init '%s' (set PWAPT_INIT or "
			"reinstall pwapt)",
			s->init);

	/* A world needs the directories a fresh system mounts on; the tree
	 * must already have them, since creating them would change it. */
	static const char *const needed[] = {"proc", "sys", "dev", "run"};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!dir_in_tree(rootfs, needed[i]))
			return werr(err, ENOTDIR,
				    "the tree of '%s' has no /%s directory; "
				    "it is not a complete system",
				    name, needed[i]);

	char host[HOST_NAME_MAX + 1];
	root_host_name(s, host, sizeof(host));
	_cleanup_free_ char *rootfs_item = NULL, *log = NULL, *init = NULL;
	if (!systemd && (r = initcopy_prepare(s, &init, err)) < 0)
		return r;
	if (asprintf(&rootfs_item, "dir:%s", rootfs) < 0 ||
	    !(log = store_world_path(s, name, "lxc.log")))
		return werr(err, ENOMEM, "out of memory");

	const char *const items[][2] = {
		{"lxc.uts.name", host},
		{"lxc.rootfs.path", rootfs_item},
		{"lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed"},
		{"lxc.autodev", "1"},
		{"lxc.pty.max", "256"},
		{"lxc.tty.max", "0"},
		{"lxc.console.path", "none"},
		{"lxc.net.0.type", "empty"},
		/* systemd halts on SIGRTMIN+3 (a container's poweroff). */
		{"lxc.init.cmd", systemd ? TREE_INIT : PWAPT_INIT_IN_TREE},
		{"lxc.signal.halt", systemd ? "SIGRTMIN+3" : "SIGTERM"},
		{"lxc.log.file", log},
		{"lxc.log.level", "INFO"},
		{"lxc.cap.drop", "sys_module sys_time sys_rawio mac_admin "
				 "mac_override"},
	};
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		r = items[i][0] ? set_config(c, items[i][0], items[i][1], err)
				: 0;
		if (r < 0)
			return r;
	}
	if ((r = container_set_mounts(c, s, systemd, init, err)) < 0)
		return r;
	if (!store_is_root(name) && (r = container_confine(c, s, err)) < 0)
		return r;
	(void)truncate(log, 0);
	if (!c->save_config(c, NULL))
		return werr(err, EIO, "cannot save container config of '%s'",
			    name);

	c->want_daemonize(c, true);
	c->want_close_all_fds(c, true);
	if (!start_daemonized(c)) {
		char why[512];
		last_log_line(s, name, why, sizeof(why));
		return werr(err, EIO, "cannot start the container of '%s'%s%s",
			    name, why[0] ? ": " : "", why);
	}
	pid_t pid = c->init_pid(c);
	if (systemd && (r = wait_booted(s, name, pid, err)) < 0) {
		(void)container_stop(s, name, 0);
		return r;
	}
	if (init_pid)
		*init_pid = pid;
	return 0;
}

int container_stop(struct world_store *s, const char *name, int grace)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c)
		return -ENOMEM;
	if (grace < 0) {
		/* Killing PID 1 kills the whole PID namespace; liblxc's
		 * monitor tears the rest down meanwhile (its stop() would
		 * wait for that).  One question to the monitor: a stopped
		 * container has no init. */
		pid_t pid = c->init_pid(c);
		if (pid > 1 && kill(pid, SIGKILL) == 0)
			return 0;
		if (!c->is_running(c))
			return 0;
		return c->stop(c) ? 0 : -EIO;
	}
	if (!c->is_running(c))
		return 0;
	/* shutdown() sends lxc.signal.halt to PID 1: SIGTERM to pwapt-init,
	 * which passes it on and exits when every process has, SIGRTMIN+3
	 * to systemd, which stops its units and exits. */
	if (grace > 0 && c->shutdown(c, grace))
		return 0;
	if (!c->stop(c))
		return -EIO;
	return c->wait(c, "STOPPED", 30) ? 0 : -ETIMEDOUT;
}

/* The errno that the first error liblxc logged for NAME past the first
 * FROM bytes of its log names ("... - Too many open files - Failed to
 * open ..."): liblxc's calls return only true or false, and its errno is
 * gone by then.  EMFILE or ENFILE when the log cannot even be opened; 0
 * when no error names one. */
static int logged_errno(struct world_store *s, const char *name, off_t from)
{
	_cleanup_free_ char *path = store_world_path(s, name, "lxc.log");
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? errno : 0;
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return 0;
	}
	char line[1024];
	if (fseeko(f, from, SEEK_SET) < 0)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		const char *m = strstr(line, " ERROR ");
		for (m = m ? strstr(m, " - ") : NULL; m;
		     m = strstr(m + 3, " - "))
			for (int e = 1; e < 256; e++) {
				const char *t = strerror(e);
				size_t l = strlen(t);
				if (!strncmp(m + 3, t, l) &&
				    !strncmp(m + 3 + l, " - ", 3))
					return e;
			}
	}
	return 0;
}

unsigned container_freeze_seconds(void)
{
	const char *v = getenv("PWAPT_FREEZE_SECONDS");
	char *end;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	return v && *v && !*end && n > 0 && n < 86400 ? (unsigned)n
						      : FREEZE_SECONDS;
}

int container_wait(pid_t pid, unsigned timeout)
{
	return child_wait(pid, &(struct child_wait){.timeout = timeout}, NULL);
}

int container_wait_exec(pid_t pid, const struct world_exec_options *xo)
{
	struct child_wait w = {.timeout = xo ? xo->timeout : 0,
			       .group = xo && xo->own_session};
	return child_wait(pid, &w, xo ? xo->timed_out : NULL);
}

/* Thaws container C through its cgroup's freezer file: the only thaw of
 * a freeze of freeze_directly(), which liblxc does not know of; and
 * after a liblxc freeze killed half way liblxc takes C for FREEZING
 * still, and its unfreeze() writes nothing.  0 thawed (or C's cgroup
 * gone with it); -ENOENT: no freezer file found, liblxc thaws. */
static int thaw_cgroup(struct lxc_container *c)
{
	pid_t init = c->init_pid(c);
	_cleanup_(freezer_release) struct freezer f = {0};
	/* Running, but its monitor cannot tell its init: not known thawed. */
	int r = init > 1 ? freezer_find(&f, init) : -EIO;
	return r < 0 ? r : freezer_thaw(&f);
}

/* Whether liblxc froze C (lxc-freeze; its freeze() below): it thaws. */
static bool lxc_froze(struct lxc_container *c)
{
	const char *st = c->state(c);
	return st && (!strcmp(st, "FROZEN") || !strcmp(st, "FREEZING"));
}

/* liblxc's freeze() returns once the freezer says FROZEN, and waits for
 * that without end: a process the freezer cannot stop (asleep in the
 * kernel where it may not be frozen) would hang the merge, the store
 * locked.  So it runs in a child given container_freeze_seconds(), as its
 * unfreeze() does; past them the child is killed, the world thawed again
 * (thaw_cgroup() where liblxc's unfreeze() leaves it frozen), and
 * -ETIMEDOUT returned.  1 when liblxc did it, 0 when it failed. */
static int freeze_bounded(struct lxc_container *c, bool frozen)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit((frozen ? c->freeze(c) : c->unfreeze(c)) ? 0 : 1);
	struct child_wait cw = {.timeout = container_freeze_seconds()};
	int status = child_wait(pid, &cw, NULL);
	if (status == 128 + SIGKILL) {
		if (frozen) {
			(void)freeze_bounded(c, false);
			(void)thaw_cgroup(c);
		}
		return -ETIMEDOUT;
	}
	return status == 0;
}

/* Freezes C through its cgroup's freezer file, bounded in time without a
 * child (liblxc's freeze() took 3 ms of each merge: a child, and five
 * questions to the monitor).  liblxc's state says RUNNING meanwhile: the
 * merge's note knows it (recover.c), and container_state().  -ENOENT: no
 * such file, liblxc freezes. */
static int freeze_directly(struct lxc_container *c)
{
	pid_t init = c->init_pid(c);
	_cleanup_(freezer_release) struct freezer f = {0};
	int r = init > 1 ? freezer_find(&f, init) : -ENOENT;
	if (r < 0)
		return r;
	r = freezer_freeze(&f, container_freeze_seconds());
	if (r < 0 && r != -ENOENT)
		(void)freezer_thaw(&f);
	return r;
}

int container_freeze(struct world_store *s, const char *name, bool frozen)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c)
		return -ENOMEM;
	if (!c->is_running(c))
		return 0;
	/* Through the freezer file; liblxc's freeze() and unfreeze() where
	 * pwapt finds none, and its unfreeze() where liblxc froze. */
	int r = frozen ? freeze_directly(c) : thaw_cgroup(c);
	if (r != -ENOENT && (frozen || r < 0 || !lxc_froze(c)))
		return r;
	_cleanup_free_ char *log = store_world_path(s, name, "lxc.log");
	struct stat st;
	off_t from = log && stat(log, &st) == 0 ? st.st_size : 0;
	if ((r = freeze_bounded(c, frozen)) < 0)
		return r;
	if (r && !frozen) /* and through the file, where liblxc skipped */
		return (r = thaw_cgroup(c)) == -ENOENT ? 0 : r;
	if (r)
		return 0;
	int e = logged_errno(s, name, from);
	return -(e ? e : EIO);
}

/* Whether the cgroup of the container whose init is INIT was asked to
 * freeze through its file (freeze_directly(): liblxc knows nothing). */
static bool cgroup_frozen(pid_t init)
{
	_cleanup_(freezer_release) struct freezer f = {0};
	return freezer_find(&f, init) >= 0 && freezer_asked(&f);
}

/* Whether PID is gone or a zombie: a container's init that was killed
 * and that liblxc's monitor has not reaped yet. */
static bool init_dead(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) /* reaped since, or before the open */
		return n < 0 && (errno == ENOENT || errno == ESRCH);
	buf[n] = '\0';
	/* "PID (COMM) S ...": COMM may hold ')', the state follows the
	 * last one. */
	const char *close_paren = strrchr(buf, ')');
	return close_paren && close_paren[1] == ' ' &&
	       (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

enum container_state container_state(struct world_store *s, const char *name)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	/* As liblxc's is_running(): any state but STOPPED runs. */
	const char *state = c ? c->state(c) : NULL;
	if (!state || !strcmp(state, "STOPPED"))
		return CONTAINER_STOPPED;
	if (!strcmp(state, "STOPPING") || !strcmp(state, "ABORTING"))
		return CONTAINER_STOPPING;
	/* A killed init is a zombie until the monitor reaps it, frozen or
	 * not (the cgroup v2 freezer lets SIGKILL through). */
	if (!strcmp(state, "RUNNING") || !strcmp(state, "FROZEN")) {
		pid_t pid = c->init_pid(c);
		if (pid > 1 && init_dead(pid))
			return CONTAINER_STOPPING;
		if (pid > 1 && !strcmp(state, "RUNNING") && cgroup_frozen(pid))
			return CONTAINER_FROZEN;
	}
	return strcmp(state, "FROZEN") ? CONTAINER_RUNNING : CONTAINER_FROZEN;
}

int container_wait_stopped(struct world_store *s, const char *name, int seconds)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c)
		return -ENOMEM;
	return c->wait(c, "STOPPED", seconds) ? 0 : -ETIMEDOUT;
}

bool container_running(struct world_store *s, const char *name, pid_t *init_pid)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c || !c->is_running(c))
		return false;
	if (init_pid)
		*init_pid = c->init_pid(c);
	return true;
}

struct exec_payload {
	char *const *argv;
	bool own_session;
};

/* Runs in the attached child, inside the world: our code, not the
 * world's, until execvp() replaces it.  Exit codes follow the shell. */
static int exec_in_world(void *data)
{
	struct exec_payload *p = data;
	if (p->own_session)
		(void)setsid();
	execvp(p->argv[0], p->argv);
	int e = errno;
	dprintf(STDERR_FILENO, "%s: %s\n", p->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static void close_fds_between(unsigned first, unsigned last)
{
	if (first > last || close_range(first, last, 0) == 0)
		return;
	/* A kernel without close_range(2). */
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = first; fd <= (max > 0 ? max : 65536) && fd <= last; fd++)
		close((int)fd);
}

void container_close_fds(int keep_fd)
{
	if (keep_fd < 3) {
		close_fds_between(3, ~0U);
		return;
	}
	close_fds_between(3, (unsigned)keep_fd - 1);
	close_fds_between((unsigned)keep_fd + 1, ~0U);
}

struct spawn_payload {
	int (*fn)(void *arg);
	void *arg;
	int keep_fd;
};

/* NAME's container, which must run, for an attach; fills ERR if not. */
static int open_running(struct world_store *s, const char *name,
			struct lxc_container **out, struct world_error *err)
{
	struct lxc_container *c = open_container(s, name);
	if (!c)
		return werr(err, ENOMEM, "liblxc cannot open container '%s'",
			    name);
	if (!c->is_running(c)) {
		lxc.put(c);
		return werr(err, ESRCH, "the container of '%s' is not running",
			    name);
	}
	*out = c;
	return 0;
}

/* In the attached process, inside the world: pwapt's own code, which may
 * hold no descriptor of the host's but the one it answers on. */
static int spawn_in_world(void *data)
{
	struct spawn_payload *p = data;
	container_close_fds(p->keep_fd);
	_exit(p->fn(p->arg) & 0xff);
}

int container_spawn(struct world_store *s, const char *name,
		    int (*fn)(void *arg), void *arg, int keep_fd, pid_t *pid,
		    struct world_error *err)
{
	_cleanup_lxc_ struct lxc_container *c = NULL;
	int r = open_running(s, name, &c, err);
	if (r < 0)
		return r;
	_cleanup_strv_free_ char **env = container_environment(true);
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (!env)
		return werr(err, ENOMEM, "out of memory");
	if (devnull < 0)
		return werr_errno(err, errno, "cannot open /dev/null");
	lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
	opts.env_policy = LXC_ATTACH_CLEAR_ENV;
	opts.extra_env_vars = env;
	opts.initial_cwd = (char *)"/";
	opts.stdin_fd = devnull;
	opts.stdout_fd = devnull;
	opts.stderr_fd = devnull;
	struct spawn_payload payload = {fn, arg, keep_fd};
	pid_t child = -1;
	if (c->attach(c, spawn_in_world, &payload, &opts, &child) < 0 ||
	    child <= 0)
		return werr(err, EIO, "cannot attach to the container of '%s'",
			    name);
	*pid = child;
	return 0;
}

int container_attach(struct world_store *s, const char *name, char *const *argv,
		     const struct world_exec_options *xo, bool terminal,
		     int *status, struct world_error *err)
{
	static const struct world_exec_options none = {0};
	if (!xo)
		xo = &none;
	_cleanup_lxc_ struct lxc_container *c = NULL;
	int r = open_running(s, name, &c, err);
	if (r < 0)
		return r;
	_cleanup_strv_free_ char **env =
		container_env_append(container_environment(true), xo->env);
	if (!env)
		return werr(err, ENOMEM, "out of memory");

	lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
	opts.env_policy = LXC_ATTACH_CLEAR_ENV;
	opts.extra_env_vars = env;
	opts.initial_cwd = (char *)"/";
	if (terminal)
		opts.attach_flags |= LXC_ATTACH_TERMINAL;
	if (xo->host_network)
		opts.namespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
				  CLONE_NEWIPC | CLONE_NEWCGROUP;
	_cleanup_close_ int devnull = -1;
	if (xo->output_fd > 0) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0)
			return werr_errno(err, errno, "cannot open /dev/null");
		opts.stdin_fd = devnull;
		opts.stdout_fd = xo->output_fd;
		opts.stderr_fd = xo->output_fd;
	}

	/* Like system(3): the command, not wexec, handles ^C and ^\. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);

	struct exec_payload payload = {argv, xo->own_session};
	pid_t pid = -1;
	r = c->attach(c, exec_in_world, &payload, &opts, &pid);
	int st = 0;
	if (r >= 0 && pid > 0)
		st = container_wait_exec(pid, xo);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (r < 0 || pid <= 0)
		return werr(err, EIO, "cannot attach to the container of '%s'",
			    name);
	*status = st;
	return 0;
}

int container_kill_frozen(struct world_store *s, const char *name)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c || !c->is_running(c))
		return c ? 0 : -ENOMEM;
	pid_t init = c->init_pid(c);
	if (init <= 1)
		return 0;
	char link[64];
	struct stat ns;
	snprintf(link, sizeof(link), "/proc/%d/ns/pid", (int)init);
	if (stat(link, &ns) < 0)
		return -errno;
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	if (!proc)
		return -errno;
	struct dirent *de;
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct stat st;
		if (*end || pid <= 1 || pid == init)
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/ns/pid", pid);
		if (stat(link, &st) == 0 && st.st_ino == ns.st_ino &&
		    st.st_dev == ns.st_dev)
			(void)kill((pid_t)pid, SIGKILL);
	}
	/* Found while its init lives: v2 lets SIGKILL through a freeze. */
	_cleanup_(freezer_release) struct freezer f = {0};
	int found = freezer_find(&f, init);
	/* The tree's systemd, thawed, would run on (and start units again):
	 * it goes too, and the container with it. */
	if (runs_tree_init(c))
		(void)kill(init, SIGKILL);
	/* Thawed through the file, else as container_freeze() thaws. */
	int r = found < 0 || freezer_thaw(&f) < 0
			? container_freeze(s, name, false)
			: 0;
	crash_point("kill-frozen-done");
	return r;
}
