/* The cgroup liblxc made for a container, found from its init
 * (container-cgroup.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "container-cgroup.h"
#include "fsutil.h"

/* The path of the cgroup of hierarchy CONTROLLER in LINES, a
 * /proc/PID/cgroup (the kernel refuses '\n' in a cgroup's name: each
 * line is the kernel's); NULL if none. */
static char *cgroup_of(const char *lines, const char *controller)
{
	size_t l = strlen(controller);
	for (const char *line = lines; *line;) {
		const char *end = strchrnul(line, '\n'),
			   *c1 = memchr(line, ':', (size_t)(end - line));
		if (c1 && !strncmp(c1 + 1, controller, l) && c1[1 + l] == ':')
			return strndup(c1 + 2 + l, (size_t)(end - c1 - 2 - l));
		line = *end ? end + 1 : end;
	}
	return NULL;
}

bool container_cgroup_has(const char *lines, const char *controller)
{
	_cleanup_free_ char *path = cgroup_of(lines, controller);
	return path;
}

/* Whether the N bytes at P are "/A/B/..." of plain names: no empty
 * component, no "." or ".." (the kernel shows ".." for a cgroup outside
 * the reader's cgroup namespace: never a container's own). */
static bool plain_path(const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = strcspn(p + i + 1, "/");
		l = l < n - i - 1 ? l : n - i - 1;
		if (p[i] != '/' || !l || (l == 1 && p[i + 1] == '.') ||
		    (l == 2 && !strncmp(p + i + 1, "..", 2)))
			return false;
		i += l + 1;
	}
	return n > 0;
}

int container_cgroup_parse(const char *init, const char *monitor,
			   const char *controller, char **out)
{
	_cleanup_free_ char *mon = cgroup_of(monitor, controller);
	_cleanup_free_ char *in = cgroup_of(init, controller);
	const char *slash = mon ? strrchr(mon, '/') : NULL;
	if (!slash || !in)
		return -ENOENT;
	/* The init's path goes through the monitor's parent, then the
	 * container's cgroup, then what the world made below it. */
	size_t base = (size_t)(slash - mon);
	if (strncmp(in, mon, base) || in[base] != '/')
		return -ENOENT;
	const char *own = in + base + 1, *end = strchrnul(own, '/');
	if (end == own || !plain_path(in, (size_t)(end - in)) ||
	    ((size_t)(end - own) == strlen(slash + 1) &&
	     !strncmp(own, slash + 1, (size_t)(end - own))))
		return -ENOENT;
	return (*out = strndup(in, (size_t)(end - in))) ? 0 : -ENOMEM;
}

/* /proc/PID/NAME, whole: 0, -ENOENT (PID gone), or -errno. */
static int read_proc(pid_t pid, const char *name, char **out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int r = read_file_at(AT_FDCWD, path, out, NULL);
	return r == -ESRCH ? -ENOENT : r;
}

int container_cgroup_read(pid_t init, char **init_lines, char **monitor_lines)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
	if (pidfd < 0)
		return errno == ESRCH || errno == ENOSYS ? -ENOENT : -errno;
	_cleanup_free_ char *stat = NULL, *cmd = NULL, *in = NULL, *mon = NULL;
	int r = read_proc(init, "stat", &stat);
	/* "PID (COMM) S PPID ...": COMM may hold ')', the state follows the
	 * last one.  The parent of a container's init is its monitor. */
	const char *paren = r >= 0 ? strrchr(stat, ')') : NULL;
	int ppid = 0;
	if (r >= 0 && (!paren || sscanf(paren, ") %*c %d", &ppid) != 1))
		r = -ENOENT;
	if (r >= 0)
		r = read_proc(ppid, "cmdline", &cmd);
	if (r >= 0 && strncmp(cmd, "[lxc monitor] ", 14))
		r = -ENOENT;
	if (r >= 0)
		r = read_proc(ppid, "cgroup", &mon);
	if (r >= 0)
		r = read_proc(init, "cgroup", &in);
	/* INIT is still the process asked for, its pid not taken since. */
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	if (r >= 0 && poll(&p, 1, 0) != 0)
		r = -ENOENT;
	if (r < 0)
		return r;
	*init_lines = steal_pointer(&in);
	*monitor_lines = steal_pointer(&mon);
	return 0;
}
