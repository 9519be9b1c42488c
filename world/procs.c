/* A PID namespace's process table from the host's /proc (see procs.h):
 * which processes share the namespace of a given one (the inode of
 * /proc/PID/ns/pid), their parents, names, cgroups, executables and maps.
 * needrestart and checkrestart read the same files; unlike them, nothing
 * here trusts a process's own words beyond what /proc reports. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "fsutil.h"
#include "procs.h"

/* A maps file of more is cut there: a process with that many mappings
 * is seen through its first ones. */
#define MAPS_MAX (8u << 20)
/* Files a process is seen to map, at most. */
#define FILES_MAX 4096

static void file_release(struct proc_file *f)
{
	free(f->path);
	f->path = NULL;
}

static void proc_release(struct proc *p)
{
	free(p->unit);
	for (size_t i = 0; i < p->n_files; i++)
		file_release(&p->files[i]);
	free(p->files);
	*p = (struct proc){0};
}

void procs_release(struct proc_table *t)
{
	for (size_t i = 0; t && i < t->n; i++)
		proc_release(&t->v[i]);
	if (t) {
		free(t->v);
		*t = (struct proc_table){0};
	}
}

static int cmp_proc(const void *a, const void *b)
{
	pid_t x = ((const struct proc *)a)->pid,
	      y = ((const struct proc *)b)->pid;
	return (x > y) - (x < y);
}

const struct proc *procs_find(const struct proc_table *t, pid_t pid)
{
	struct proc key = {.pid = pid};
	return t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_proc) : NULL;
}

bool procs_descends(const struct proc_table *t, pid_t pid, pid_t ancestor)
{
	/* Bounded: a table read while processes came and went may hold a
	 * reused pid whose "parent" is its own descendant. */
	for (size_t hops = 0; pid > 0 && hops <= t->n; hops++) {
		if (pid == ancestor)
			return true;
		const struct proc *p = procs_find(t, pid);
		if (!p)
			return false;
		pid = p->ppid;
	}
	return false;
}

char *procs_cgroup_unit(const char *text)
{
	/* cgroup v2's "0::/PATH", or v1's "N:name=systemd:/PATH": the last
	 * component of the path that names a service unit. */
	char *unit = NULL;
	for (const char *l = text; l && *l;) {
		const char *nl = strchrnul(l, '\n');
		const char *c1 = memchr(l, ':', (size_t)(nl - l));
		const char *c2 =
			c1 ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) : NULL;
		bool v2 = c1 && c2 == c1 + 1 && c1 - l == 1 && *l == '0';
		bool v1 = c1 && c2 && c2 - c1 - 1 == 12 &&
			  !strncmp(c1 + 1, "name=systemd", 12);
		for (const char *p = c2 ? c2 + 1 : nl; (v1 || v2) && p < nl;) {
			const char *e = memchr(p, '/', (size_t)(nl - p));
			if (!e)
				e = nl;
			size_t n = (size_t)(e - p);
			if (n > 8 && n < 256 && !memcmp(e - 8, ".service", 8)) {
				free(unit);
				unit = strndup(p, n);
			}
			p = e + 1;
		}
		l = *nl ? nl + 1 : nl;
	}
	return unit;
}

bool procs_maps_line(const char *line, size_t len, struct proc_file *out)
{
	/* "start-end perms offset MAJ:MIN inode   path": a file when the
	 * inode is not 0 and the path is absolute. */
	_cleanup_free_ char *l = strndup(line, len);
	if (!l)
		return false;
	unsigned maj = 0, min = 0;
	unsigned long long ino = 0;
	int at = 0;
	if (sscanf(l, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &at) < 3 ||
	    !ino || at <= 0 || l[at] != '/')
		return false;
	char *path = l + at;
	size_t n = strlen(path);
	bool deleted = n > 10 && !strcmp(path + n - 10, " (deleted)");
	if (deleted)
		path[n - 10] = '\0';
	char *p = strdup(path);
	if (!p)
		return false;
	*out = (struct proc_file){.dev = makedev(maj, min),
				  .ino = (ino_t)ino,
				  .path = p,
				  .deleted = deleted};
	return true;
}

static int push_file(struct proc *p, struct proc_file *f)
{
	for (size_t i = 0; i < p->n_files; i++)
		if (p->files[i].dev == f->dev && p->files[i].ino == f->ino &&
		    !strcmp(p->files[i].path, f->path)) {
			p->files[i].reads |= f->reads;
			p->files[i].writes |= f->writes;
			file_release(f);
			return 0;
		}
	if (p->n_files >= FILES_MAX) {
		file_release(f);
		return 0;
	}
	struct proc_file *v = realloc(p->files, (p->n_files + 1) * sizeof(*v));
	if (!v) {
		file_release(f);
		return -ENOMEM;
	}
	p->files = v;
	p->files[p->n_files++] = *f;
	return 0;
}

/* A file a /proc link names (BUF, N bytes, room for a NUL after them)
 * and ST, its target: " (deleted)" taken off and said. */
static int push_link(struct proc *p, char *buf, size_t n, const struct stat *st,
		     bool open, int flags)
{
	buf[n] = '\0';
	bool deleted = n > 10 && !strcmp(buf + n - 10, " (deleted)");
	if (deleted)
		buf[n - 10] = '\0';
	struct proc_file f = {.dev = st->st_dev,
			      .ino = st->st_ino,
			      .path = strdup(buf),
			      .deleted = deleted,
			      .open = open,
			      .mode = st->st_mode,
			      .reads = open && (flags & O_ACCMODE) != O_WRONLY,
			      .writes =
				      open && (flags & O_ACCMODE) != O_RDONLY};
	if (!f.path)
		return -ENOMEM;
	return push_file(p, &f);
}

/* The process's executable, then the files its maps name.  */
static int read_files(int pdir, struct proc *p)
{
	struct stat st;
	char buf[PATH_MAX + 16];
	ssize_t n = readlinkat(pdir, "exe", buf, sizeof(buf) - 1);
	/* Kernel threads have no executable; a process that exits, none
	 * either: both are seen with no files. */
	if (n > 0 && fstatat(pdir, "exe", &st, 0) == 0) {
		int r = push_link(p, buf, (size_t)n, &st, false, 0);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int fd =
		openat(pdir, "maps", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	_cleanup_free_ char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 65536 + 1 > cap) {
			if (cap >= MAPS_MAX)
				break;
			cap = cap ? 2 * cap : 65536 * 2;
			char *t = realloc(text, cap);
			if (!t)
				return -ENOMEM;
			text = t;
		}
		ssize_t k = read(fd, text + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == ESRCH ? 0 : -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len;
		struct proc_file f;
		if (nl && procs_maps_line(text + i, e - i, &f)) {
			int r = push_file(p, &f);
			if (r < 0)
				return r;
		}
		i = e + 1;
	}
	return 0;
}

/* The open flags of descriptor NAME ("flags:" of fdinfo, octal), or
 * -errno. */
static int fd_flags(int pdir, const char *name)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	unsigned flags;

	snprintf(path, sizeof(path), "fdinfo/%s", name);
	int r = crash_fail("procs-fdinfo", EIO);
	if (r < 0 || (r = read_file_at(pdir, path, &text, NULL)) < 0)
		return r;
	const char *l = strstr(text, "flags:");
	if (!l || sscanf(l + 6, "%o", &flags) != 1)
		return -EBADMSG;
	return (int)(flags & 07777777);
}

static bool gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

/* The files the process's descriptors hold: absolute paths only (not
 * sockets, pipes, anonymous inodes), with how they were opened.  What
 * cannot be read while the process lives is said by fds_unread. */
static int read_fds(int pdir, struct proc *p)
{
	_cleanup_close_ int dfd =
		openat(pdir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		p->fds_unread = !gone(-errno);
		return 0; /* gone, or not ours to read */
	}
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d)
		return -errno;
	dfd = -1;
	char buf[PATH_MAX + 16];
	for (struct dirent *e; (e = readdir(d));) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		ssize_t n = readlinkat(dirfd(d), e->d_name, buf,
				       sizeof(buf) - 1);
		if (n <= 0 || buf[0] != '/' ||
		    fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		int flags = fd_flags(pdir, e->d_name);
		if (gone(flags))
			continue; /* closed meanwhile: not held */
		if (flags < 0) {
			/* Held all the same, how is not known: both ways. */
			p->fds_unread = true;
			flags = O_RDWR;
		}
		int r = push_link(p, buf, (size_t)n, &st, true, flags);
		if (r < 0)
			return r;
	}
	return 0;
}

size_t procs_sockets(pid_t pid, unsigned long *v, size_t max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	_cleanup_closedir_ DIR *d = opendir(path);
	size_t n = 0;
	for (struct dirent *e; d && n < max && (e = readdir(d));) {
		char link[64];
		ssize_t l = readlinkat(dirfd(d), e->d_name, link,
				       sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &v[n]) == 1)
			n++;
	}
	return n;
}

/* Reads one process; 0 with P left empty (pid 0) when it is gone. */
static int read_proc(int proc, const char *name, const struct stat *ns,
		     bool world, unsigned flags, struct proc *p)
{
	/* Most processes of a host are in no world: one call rules each of
	 * those out. */
	char ns_path[32];
	struct stat st;
	snprintf(ns_path, sizeof(ns_path), "%s/ns/pid", name);
	if (world && (fstatat(proc, ns_path, &st, 0) < 0 ||
		      st.st_ino != ns->st_ino || st.st_dev != ns->st_dev))
		return 0;
	/* Again through the process's own directory: the pid may have
	 * gone to another process in between. */
	_cleanup_close_ int pdir =
		openat(proc, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pdir < 0 || fstatat(pdir, "ns/pid", &st, 0) < 0 ||
	    st.st_ino != ns->st_ino || st.st_dev != ns->st_dev)
		return 0;
	_cleanup_free_ char *stat = NULL, *status = NULL, *cgroup = NULL;
	if (read_file_at(pdir, "stat", &stat, NULL) < 0 ||
	    read_file_at(pdir, "status", &status, NULL) < 0)
		return 0;
	/* "PID (COMM) S PPID ...": COMM may hold anything, ')' included. */
	char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	int ppid = 0, sid = 0;
	if (!open || !close || close < open ||
	    sscanf(close + 1, " %*c %d %*d %d", &ppid, &sid) != 2)
		return 0;
	*p = (struct proc){.pid = (pid_t)atoi(name),
			   .ppid = (pid_t)ppid,
			   .sid = (pid_t)sid};
	size_t cn = (size_t)(close - open - 1);
	memcpy(p->comm, open + 1, cn < 16 ? cn : 16);
	for (char *c = p->comm; *c; c++)
		if (!isprint((unsigned char)*c))
			*c = '?';
	/* NSpid's last number: the pid in the innermost namespace, ours. */
	const char *ns_line = strstr(status, "\nNSpid:");
	p->nspid = p->pid;
	if (ns_line) {
		const char *e = strchrnul(ns_line + 1, '\n'), *last = NULL;
		for (const char *c = ns_line + 7; c < e; c++)
			if (isdigit((unsigned char)*c) &&
			    !isdigit((unsigned char)c[-1]))
				last = c;
		if (last)
			p->nspid = (pid_t)atoi(last);
	}
	if (read_file_at(pdir, "cgroup", &cgroup, NULL) >= 0)
		p->unit = procs_cgroup_unit(cgroup);
	if (flags & (PROCS_FILES | PROCS_FDS)) {
		int r = flags & PROCS_FILES ? read_files(pdir, p) : 0;
		if (r >= 0 && (flags & PROCS_FDS))
			r = read_fds(pdir, p);
		if (r < 0) {
			proc_release(p);
			return r == -ENOMEM ? r : 0;
		}
	}
	return 0;
}

int procs_scan(pid_t ns_of, unsigned flags, struct proc_table *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)ns_of);
	struct stat ns;
	if (stat(ns_of ? path : "/proc/self/ns/pid", &ns) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	_cleanup_close_ int proc =
		open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (proc < 0 || !d)
		return -errno;
	/* The pids first, then each process: one that exits in between
	 * (a test stops pwapt here to make it so) is left out. */
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			pid_t *v = realloc(pids, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			pids = v;
		}
		pids[n++] = (pid_t)atoi(e->d_name);
	}
	crash_point("procs-listed");
	struct proc_table t = {.v = calloc(n ? n : 1, sizeof(*t.v))};
	if (!t.v)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%d", (int)pids[i]);
		struct proc p = {0};
		r = read_proc(proc, name, &ns, ns_of != 0, flags, &p);
		if (r >= 0 && p.pid > 0)
			t.v[t.n++] = p;
	}
	if (r < 0) {
		procs_release(&t);
		return r;
	}
	if (t.n)
		qsort(t.v, t.n, sizeof(*t.v), cmp_proc);
	*out = t;
	return 0;
}
