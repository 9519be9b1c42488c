#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>

#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "fsutil.h"

static void lxc_putp(struct lxc_container **c)
{
	if (*c)
		lxc_container_put(*c);
}
#define _cleanup_lxc_ _cleanup_(lxc_putp)

static struct lxc_container *open_container(struct world_store *s,
					    const char *name)
{
	return lxc_container_new(name, s->worlds);
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
static const char *state_inside_root(struct world_store *s)
{
	size_t lr = strlen(s->root);
	if (!strcmp(s->root, "/"))
		return s->state + 1;
	if (!strncmp(s->state, s->root, lr) && s->state[lr] == '/')
		return s->state + lr + 1;
	return NULL;
}

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
	if (access(s->init, X_OK) < 0)
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

	_cleanup_free_ char *rootfs_item = NULL, *log = NULL,
			    *init_entry = NULL, *hide = NULL;
	if (asprintf(&rootfs_item, "dir:%s", rootfs) < 0 ||
	    !(log = store_world_path(s, name, "lxc.log")) ||
	    asprintf(&init_entry,
		     "%s run/.pwapt-init none bind,ro,create=file 0 0",
		     s->init) < 0)
		return werr(err, ENOMEM, "out of memory");
	const char *hidden = state_inside_root(s);
	if (hidden &&
	    asprintf(&hide, "tmpfs %s tmpfs ro,nosuid,nodev,noexec,mode=0 0 0",
		     hidden) < 0)
		return werr(err, ENOMEM, "out of memory");

	/* Mount entries apply in order: the state directory is covered
	 * before the fresh /run and /tmp, which may lie over it. */
	const char *const items[][2] = {
		{"lxc.uts.name", name},
		{"lxc.rootfs.path", rootfs_item},
		{"lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed"},
		{"lxc.autodev", "1"},
		{"lxc.pty.max", "256"},
		{"lxc.tty.max", "0"},
		{"lxc.console.path", "none"},
		{"lxc.net.0.type", "empty"},
		{hide ? "lxc.mount.entry" : NULL, hide},
		{"lxc.mount.entry",
		 "tmpfs run tmpfs rw,nosuid,nodev,mode=0755 0 0"},
		{"lxc.mount.entry", init_entry},
		{"lxc.mount.entry",
		 "tmpfs tmp tmpfs rw,nosuid,nodev,mode=1777,optional 0 0"},
		{"lxc.init.cmd", "/run/.pwapt-init"},
		{"lxc.signal.halt", "SIGTERM"},
		{"lxc.log.file", log},
		{"lxc.log.level", "INFO"},
		{"lxc.cap.drop", "sys_module sys_time sys_rawio mac_admin "
				 "mac_override"},
	};
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		int r = items[i][0]
				? set_config(c, items[i][0], items[i][1], err)
				: 0;
		if (r < 0)
			return r;
	}
	(void)truncate(log, 0);
	if (!c->save_config(c, NULL))
		return werr(err, EIO, "cannot save container config of '%s'",
			    name);

	c->want_daemonize(c, true);
	c->want_close_all_fds(c, true);
	if (!c->start(c, 0, NULL)) {
		char why[512];
		last_log_line(s, name, why, sizeof(why));
		return werr(err, EIO, "cannot start the container of '%s'%s%s",
			    name, why[0] ? ": " : "", why);
	}
	if (init_pid)
		*init_pid = c->init_pid(c);
	return 0;
}

int container_stop(struct world_store *s, const char *name, int grace)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c)
		return -ENOMEM;
	if (!c->is_running(c))
		return 0;
	/* shutdown() sends lxc.signal.halt (SIGTERM) to pwapt-init, which
	 * passes it on and exits when every process has. */
	if (grace > 0 && c->shutdown(c, grace))
		return 0;
	if (grace < 0) {
		/* Killing PID 1 kills the whole PID namespace; liblxc's
		 * monitor tears the rest down meanwhile (its stop() would
		 * wait for that). */
		pid_t pid = c->init_pid(c);
		if (pid > 1 && kill(pid, SIGKILL) == 0)
			return 0;
		return c->stop(c) ? 0 : -EIO;
	}
	if (!c->stop(c))
		return -EIO;
	return c->wait(c, "STOPPED", 30) ? 0 : -ETIMEDOUT;
}

bool container_frozen(struct world_store *s, const char *name)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	const char *state = c && c->is_running(c) ? c->state(c) : NULL;
	return state && !strcmp(state, "FROZEN");
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
		for (m = m ? strstr(m, " - ") : NULL; m; m = strstr(m + 3, " - "))
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

int container_freeze(struct world_store *s, const char *name, bool frozen)
{
	_cleanup_lxc_ struct lxc_container *c = open_container(s, name);
	if (!c)
		return -ENOMEM;
	if (!c->is_running(c))
		return 0;
	_cleanup_free_ char *log = store_world_path(s, name, "lxc.log");
	struct stat st;
	off_t from = log && stat(log, &st) == 0 ? st.st_size : 0;
	if (frozen ? c->freeze(c) : c->unfreeze(c))
		return 0;
	int e = logged_errno(s, name, from);
	return -(e ? e : EIO);
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
};

/* Runs in the attached child, inside the world: our code, not the
 * world's, until execvp() replaces it.  Exit codes follow the shell. */
static int exec_in_world(void *data)
{
	struct exec_payload *p = data;
	execvp(p->argv[0], p->argv);
	int e = errno;
	dprintf(STDERR_FILENO, "%s: %s\n", p->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

char **container_environment(bool in_container)
{
	static const char *const passed[] = {"TERM", "LANG", "LC_ALL",
					     "COLUMNS", "LINES"};
	size_t n = 0, cap = 16;
	char **env = calloc(cap, sizeof(*env));
	if (!env)
		return NULL;
	env[n++] = strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			  "/usr/bin:/sbin:/bin");
	env[n++] = strdup("HOME=/root");
	env[n++] = strdup("USER=root");
	env[n++] = strdup("LOGNAME=root");
	if (in_container)
		env[n++] = strdup("container=lxc");
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		const char *v = getenv(passed[i]);
		if (v && asprintf(&env[n], "%s=%s", passed[i], v) >= 0)
			n++;
	}
	env[n] = NULL;
	for (size_t i = 0; i < n; i++)
		if (!env[i]) {
			strvfreep(&env);
			return NULL;
		}
	return env;
}

char **container_env_append(char **env, char *const *more)
{
	size_t n = 0, k = 0;
	while (env && env[n])
		n++;
	while (more && more[k])
		k++;
	char **nv = env ? realloc(env, (n + k + 1) * sizeof(*nv)) : NULL;
	if (!nv) {
		strvfreep(&env);
		return NULL;
	}
	for (size_t i = 0; i < k; i++)
		if (!(nv[n + i] = strdup(more[i]))) {
			nv[n + i] = NULL;
			strvfreep(&nv);
			return NULL;
		}
	nv[n + k] = NULL;
	return nv;
}

static int shell_status(int ws)
{
	return WIFEXITED(ws)	 ? WEXITSTATUS(ws)
	       : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws)
				 : 1;
}

int container_wait(pid_t pid, unsigned timeout)
{
	int ws = 0;
	/* A pidfd tells when the child ends, or the timeout passes, without
	 * a signal handler; where the kernel has none, wait without end. */
	_cleanup_close_ int pfd =
		timeout ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int ms = timeout > INT_MAX / 1000 ? INT_MAX
						  : (int)timeout * 1000;
		int r;
		while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
			;
		if (r == 0)
			kill(pid, SIGKILL);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	return shell_status(ws);
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
		lxc_container_put(c);
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

	struct exec_payload payload = {argv};
	pid_t pid = -1;
	r = c->attach(c, exec_in_world, &payload, &opts, &pid);
	int st = 0;
	if (r >= 0 && pid > 0)
		st = container_wait(pid, xo->timeout);
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
	pid_t init = 0;
	if (!container_running(s, name, &init) || init <= 1)
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
	return container_freeze(s, name, false);
}
