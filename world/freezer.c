/* A container's cgroup freezer file, read and written directly where
 * liblxc falls short (see freezer.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "freezer.h"

int freezer_find(struct freezer *f, pid_t init)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/%d/cgroup", (int)init);
	_cleanup_fclose_ FILE *in = fopen(proc, "re");
	_cleanup_free_ char *line = NULL, *unified = NULL;
	size_t size = 0;
	while (in && getline(&line, &size, in) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'),
		     *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, "freezer")) {
			char *path;
			if (asprintf(&path,
				     "/sys/fs/cgroup/freezer%s/freezer.state",
				     c2 + 1) < 0)
				return -ENOMEM;
			*f = (struct freezer){.path = path, .v1 = true};
			return 0;
		}
		if (!c1[1] && !unified && !(unified = strdup(c2 + 1)))
			return -ENOMEM;
	}
	if (!unified)
		return -ENOENT;
	/* Its init may sit in a cgroup below the container's own. */
	char *payload = strstr(unified, "/lxc.payload.");
	char *below = payload ? strchr(payload + 1, '/') : NULL;
	if (below)
		*below = '\0';
	char *path;
	if (asprintf(&path, "/sys/fs/cgroup%s/cgroup.freeze", unified) < 0)
		return -ENOMEM;
	*f = (struct freezer){.path = path};
	return 0;
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

void freezer_nudge(void *arg)
{
	struct freezer *f = arg;
	if (!f->path || !f->v1)
		return;
	_cleanup_close_ int fd = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	char now[32] = "";
	if (fd >= 0)
		read_state(fd, now, sizeof(now));
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

/* Whether F's cgroup is thawed, FD its file: v1's state, v2's effective
 * state ("frozen 0" in cgroup.events, where the file says only what was
 * asked; the file alone where there is no cgroup.events). */
static bool thawed(const struct freezer *f, int fd)
{
	char now[32];
	read_state(fd, now, sizeof(now));
	if (strcmp(now, f->v1 ? "THAWED" : "0"))
		return false;
	if (f->v1)
		return true;
	_cleanup_free_ char *events = strdup(f->path);
	char *slash = events ? strrchr(events, '/') : NULL;
	if (!slash)
		return true;
	strcpy(slash + 1, "cgroup.events"); /* no longer than cgroup.freeze */
	_cleanup_fclose_ FILE *in = fopen(events, "re");
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	while (in && getline(&line, &size, in) > 0)
		if (!strncmp(line, "frozen ", 7))
			return line[7] == '0';
	return true;
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
