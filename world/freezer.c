/* A container's cgroup freezer file, read and written directly where
 * liblxc falls short (see freezer.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container-cgroup.h"
#include "freezer.h"

int freezer_parse(struct freezer *f, const char *init, const char *monitor)
{
	/* cgroup v1's freezer where the host has that hierarchy: the
	 * monitor's lines, of the host's cgroup namespace (a world, in one
	 * of its own, cannot mount a v1 hierarchy of its own). */
	bool v1 = container_cgroup_has(monitor, "freezer");
	_cleanup_free_ char *own = NULL;
	int r = container_cgroup_parse(init, monitor, v1 ? "freezer" : "",
				       &own);
	if (r < 0)
		return r;
	char *path;
	if (asprintf(&path, "/sys/fs/cgroup%s%s/%s", v1 ? "/freezer" : "", own,
		     v1 ? "freezer.state" : "cgroup.freeze") < 0)
		return -ENOMEM;
	*f = (struct freezer){.path = path, .v1 = v1};
	return 0;
}

int freezer_find(struct freezer *f, pid_t init)
{
	_cleanup_free_ char *in = NULL, *mon = NULL;
	int r = container_cgroup_read(init, &in, &mon);
	return r < 0 ? r : freezer_parse(f, in, mon);
}

void freezer_release(struct freezer *f)
{
	free(f->path);
	f->path = NULL;
}

/* What FD's file says now, without its newline ("" if unreadable). */
static void read_state(int fd, char *now, size_t size)
{
	ssize_t n = pread(fd, now, size - 1, 0);
	now[n > 0 ? (size_t)n : 0] = '\0';
	now[strcspn(now, "\n")] = '\0';
}

/* Looks once at a freeze under way, as it waits, NOW what its file (FD,
 * v1's freezer.state) said: a cgroup v1 freezer may stay FREEZING for
 * good when a process forks while it freezes (runc retries for the same
 * reason); one seen FREEZING twice in a row is told FROZEN again, which
 * freezes the rest.  cgroup v2's freezer has no such fault. */
static void nudge(struct freezer *f, int fd, const char *now)
{
	if (strcmp(now, "FREEZING")) {
		f->freezing = 0;
		return;
	}
	if (++f->freezing < 2)
		return;
	f->freezing = 0;
	(void)!write(fd, "FROZEN", 6);
}

/* Whether the cgroup of freezer file PATH is gone (the container
 * stopped), not only the file. */
static bool cgroup_gone(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash)
		return false;
	*slash = '\0';
	return access(dir, F_OK) < 0 && errno == ENOENT;
}

/* Opens NAME beside F's file, O_RDONLY: cgroup.events beside v2's
 * cgroup.freeze. */
static int open_beside(const struct freezer *f, const char *name)
{
	_cleanup_free_ char *dir = strdup(f->path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash)
		return -1;
	*slash = '\0';
	_cleanup_close_ int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return d < 0 ? -1 : openat(d, name, O_RDONLY | O_CLOEXEC);
}

/* What cgroup.events (FD) says of its "frozen" line: 1, 0, or -1 when it
 * has none (unreadable).  Read from the start each time: a read also
 * tells the kernel that the next change is news to poll(). */
static int events_frozen(int fd)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? (size_t)n : 0] = '\0';
	for (const char *line = buf; *line;) {
		const char *end = strchrnul(line, '\n');
		if (end - line == 8 && !strncmp(line, "frozen ", 7) &&
		    (line[7] == '0' || line[7] == '1'))
			return line[7] - '0';
		line = *end ? end + 1 : end;
	}
	return -1;
}

/* Whether F's cgroup is thawed, FD its file: v1's state, v2's effective
 * state ("frozen 0" in cgroup.events, where the file says only what was
 * asked; the file alone where there is no cgroup.events, never where it
 * cannot be read). */
static bool thawed(const struct freezer *f, int fd)
{
	char now[32];
	read_state(fd, now, sizeof(now));
	if (strcmp(now, f->v1 ? "THAWED" : "0"))
		return false;
	if (f->v1)
		return true;
	_cleanup_close_ int events = open_beside(f, "cgroup.events");
	return events < 0 ? errno == ENOENT : events_frozen(events) == 0;
}

bool freezer_asked(const struct freezer *f)
{
	_cleanup_close_ int fd =
		f->path ? open(f->path, O_RDONLY | O_CLOEXEC) : -1;
	char now[32];
	if (fd < 0)
		return false;
	read_state(fd, now, sizeof(now));
	return strcmp(now, f->v1 ? "THAWED" : "0") && now[0];
}

int freezer_thaw(const struct freezer *f)
{
	const char *thaw = f->v1 ? "THAWED" : "0";
	for (int i = 0; f->path && i < 40; i++) {
		_cleanup_close_ int fd =
			open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		/* Gone with its cgroup: the container stopped.  A file
		 * missing from a cgroup still there is a wrong path. */
		if (fd < 0) {
			int e = errno;
			return e == ENOENT && cgroup_gone(f->path) ? 0 : -e;
		}
		if (thawed(f, fd))
			return 0;
		if (write(fd, thaw, strlen(thaw)) < 0)
			return -errno;
		/* A v1 thaw is done when the write returns, nearly always. */
		if (thawed(f, fd))
			return 0;
		usleep(50 * 1000);
	}
	return f->path ? -EBUSY : 0;
}

static long long monotonic_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits a little for F's freeze under way (FD: v1's freezer.state, v2's
 * cgroup.events), at most LEFT ms; NAP_MS, doubled each time, paces
 * cgroup v1's, which tells no one when it is done. */
static void wait_a_little(struct freezer *f, int fd, long long left,
			  long *nap_ms)
{
	if (!f->v1) {
		struct pollfd p = {.fd = fd, .events = POLLPRI};
		(void)poll(&p, 1, left < 100 ? (int)left : 100);
		return;
	}
	long ms = *nap_ms < left ? *nap_ms : left;
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};
	(void)nanosleep(&ts, NULL);
	*nap_ms = *nap_ms * 2 < 50 ? *nap_ms * 2 : 50;
}

int freezer_freeze(struct freezer *f, unsigned seconds)
{
	if (!f->path)
		return -ENOENT;
	long long deadline = monotonic_ms() + (long long)seconds * 1000;
	_cleanup_close_ int fd = open(f->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_close_ int events =
		f->v1 ? -1 : open_beside(f, "cgroup.events");
	if (!f->v1 && events < 0)
		return -errno;
	const char *freeze = f->v1 ? "FROZEN" : "1";
	if (write(fd, freeze, strlen(freeze)) < 0)
		return -errno;
	f->freezing = 0;
	long nap_ms = 1;
	for (;;) {
		/* The limit first: past it, the freeze is undone whatever
		 * the freezer says now. */
		long long left = deadline - monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		char now[32];
		if (f->v1)
			read_state(fd, now, sizeof(now));
		if (f->v1 ? !strcmp(now, "FROZEN") : events_frozen(events) == 1)
			return 0;
		if (f->v1)
			nudge(f, fd, now);
		wait_a_little(f, f->v1 ? fd : events, left, &nap_ms);
	}
}
