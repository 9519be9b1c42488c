/* Services of a world (services.h): the init scripts and units its tree
 * holds, and which of them run (the container's processes, by cgroup or
 * pid file); services_scan() gives svcusers.c the same at once with the
 * processes' files. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "fsutil.h"
#include "procs.h"
#include "services.h"
#include "strv.h"

/* Bytes of an init script or unit file read, at most; a bigger one is
 * listed with a note, its pid files unknown. */
#define SCRIPT_MAX (1u << 20)
/* Services a world is seen to have, at most (entries of each directory). */
#define ENTRIES_MAX 8192

/* Where a world's files and processes are seen from. */
struct view {
	int tree; /* its tree: configuration (init scripts, units, links) */
	int live; /* its root as its processes see it (/run), or -1 */
	bool running;
	pid_t init;   /* its init, as pwapt's PID namespace numbers it */
	bool scanned; /* PROCS read */
	struct proc_table procs;
	bool systemd; /* it runs systemd: /run/systemd/system */
};

/* view_open()'s flag beside procs_scan()'s: the processes are read only
 * once a service is found (view_scan()): a world without any costs no
 * walk of /proc. */
#define VIEW_SCAN_LATER (1u << 16)

static void view_release(struct view *v)
{
	closep(&v->tree);
	closep(&v->live);
	procs_release(&v->procs);
}

/* V's processes, read with procs_scan()'s FLAGS; one that stopped
 * meanwhile is no longer running. */
static int view_scan(struct view *v, unsigned flags)
{
	int r = procs_scan(v->init, flags & ~VIEW_SCAN_LATER, &v->procs);
	v->scanned = r >= 0;
	if (r == -ESRCH) {
		v->running = false;
		v->systemd = false; /* as for a world that is not running */
		closep(&v->live);
		return 0;
	}
	return r;
}

static int view_open(struct world_store *s, const char *name, unsigned flags,
		     struct view *v, struct world_error *err)
{
	*v = (struct view){.tree = -1, .live = -1};
	int r = store_check_world(s, name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tree = store_tree_path(s, name);
	if (!tree)
		return werr(err, ENOMEM, "out of memory");
	/* A world's tree is an overlay mount: an unmounted one (after a
	 * reboot) is left so, and shows nothing. */
	if (!store_is_root(name) && is_mount_point(tree) <= 0)
		return 0;
	v->tree = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v->tree < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  name);
	pid_t init = 0;
	if (store_is_root(name) && store_root_is_host(s)) {
		v->running = true;
		v->live = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else if (container_running(s, name, &init) && init > 1) {
		char root[64];
		snprintf(root, sizeof(root), "/proc/%d/root", (int)init);
		v->live = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		v->running = v->live >= 0;
	}
	if (!v->running)
		return 0;
	v->init = init;
	_cleanup_close_ int sd = open_beneath(v->live, "run/systemd/system",
					      O_PATH | O_DIRECTORY);
	v->systemd = sd >= 0;
	if (flags & VIEW_SCAN_LATER)
		return 0;
	r = view_scan(v, flags);
	if (r < 0) {
		view_release(v);
		return werr_errno(err, -r, "cannot read the processes of '%s'",
				  name);
	}
	return 0;
}

/* Reads REL beneath DIRFD: a regular file of at most MAX bytes, the
 * directories on the way no symbolic links. */
static int read_beneath(int dirfd, const char *rel, size_t max, char **out,
			size_t *len)
{
	const char *slash = strrchr(rel, '/');
	_cleanup_close_ int dir = -1;
	if (slash) {
		_cleanup_free_ char *d = strndup(rel, (size_t)(slash - rel));
		if (!d)
			return -ENOMEM;
		dir = open_beneath(dirfd, d, O_PATH | O_DIRECTORY);
		if (dir < 0)
			return dir;
	}
	return read_file_max(slash ? dir : dirfd, slash ? slash + 1 : rel, max,
			     out, len);
}

/* The entries of directory REL beneath DIR_FD that PICK keeps (a name and
 * its lstat type); -ENOENT, -ELOOP, -ENOTDIR when it is not a plain
 * directory there. */
static int list_beneath(int dir_fd, const char *rel,
			bool (*pick)(const char *name, unsigned char type),
			struct strv *out)
{
	int fd = open_beneath(dir_fd, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	size_t seen = 0;
	for (struct dirent *e; (e = readdir(d)) && seen < ENTRIES_MAX;) {
		if (e->d_name[0] == '.')
			continue;
		unsigned char type = e->d_type;
		struct stat st;
		if (type == DT_UNKNOWN &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = S_ISREG(st.st_mode)   ? DT_REG
			       : S_ISDIR(st.st_mode) ? DT_DIR
			       : S_ISLNK(st.st_mode) ? DT_LNK
						     : DT_UNKNOWN;
		if (!pick(e->d_name, type))
			continue;
		seen++;
		int r = strv_push(out, strdup(e->d_name));
		if (r < 0)
			return r;
	}
	return 0;
}

/* A name an init script or unit may have: no control character, no '/',
 * not a package manager's leftover or an editor's backup. */
static bool service_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (!len || len > 255 || n[0] == '.' || n[len - 1] == '~' ||
	    strstr(n, ".dpkg-") || strstr(n, ".ucf-"))
		return false;
	for (const char *c = n; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_.@+-:", *c))
			return false;
	return true;
}

static bool pick_script(const char *n, unsigned char type)
{
	static const char *const not_services[] = {"README", "rc", "rcS",
						   "skeleton", NULL};
	/* A link too: /etc/init.d/foo -> /opt/foo/bin/foo.init, as vendors'
	 * software installs it; run in the world, where the link is its. */
	return (type == DT_REG || type == DT_LNK) && service_name_ok(n) &&
	       !strv_contains((char *const *)not_services, n);
}

static bool pick_unit(const char *n, unsigned char type)
{
	size_t l = strlen(n);
	return (type == DT_REG || type == DT_LNK) && l > 8 &&
	       !strcmp(n + l - 8, ".service") && !strchr(n, '@') &&
	       service_name_ok(n);
}

static bool pick_start_link(const char *n, unsigned char type)
{
	(void)type;
	return n[0] == 'S' && isdigit((unsigned char)n[1]) &&
	       isdigit((unsigned char)n[2]) && service_name_ok(n + 3);
}

static bool pick_wants_dir(const char *n, unsigned char type)
{
	size_t l = strlen(n);
	return type == DT_DIR && ((l > 6 && !strcmp(n + l - 6, ".wants")) ||
				  (l > 9 && !strcmp(n + l - 9, ".requires")));
}

/* A literal value of a shell or unit assignment at P (up to END):
 * quotes taken off, $NAME and ${NAME} replaced by NAME (may be NULL), %t
 * by /run; NULL for anything else than an absolute path. */
static char *literal_path(const char *p, const char *end, const char *name)
{
	while (p < end && (*p == '"' || *p == '\''))
		p++;
	const char *e = p;
	while (e < end && !isspace((unsigned char)*e) && !strchr("\"';#&|", *e))
		e++;
	if (e == p || e - p > 255)
		return NULL;
	char buf[1024];
	size_t n = 0;
	for (const char *c = p; c < e && n + 256 < sizeof(buf);) {
		if (name && !strncmp(c, "${NAME}", 7) && c + 7 <= e) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s",
					      name);
			c += 7;
		} else if (name && !strncmp(c, "$NAME", 5) && c + 5 <= e &&
			   (c + 5 == e || !isalnum((unsigned char)c[5]))) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s",
					      name);
			c += 5;
		} else if (c == p && !strncmp(c, "%t", 2) && c + 2 <= e) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "/run");
			c += 2;
		} else {
			buf[n++] = *c++;
		}
	}
	buf[n] = '\0';
	if (buf[0] != '/' || strpbrk(buf, "$%`\\*?[") || strstr(buf, "/../") ||
	    n > 255)
		return NULL;
	return strdup(buf);
}

int services_script_pidfiles(const char *text, size_t len, bool unit,
			     struct strv *out)
{
	const char *end = text + len;
	_cleanup_free_ char *name = NULL;
	for (int pass = unit ? 1 : 0; pass < 2; pass++)
		for (const char *l = text; l < end;) {
			const char *nl = memchr(l, '\n', (size_t)(end - l));
			const char *e = nl ? nl : end;
			const char *p = l;
			while (p < e && isblank((unsigned char)*p))
				p++;
			size_t n = (size_t)(e - p);
			char *v = NULL;
			if (pass == 0 && !name && n > 5 &&
			    !strncmp(p, "NAME=", 5)) {
				name = literal_path(p + 5, e, NULL);
				if (!name) { /* NAME=foo: no path */
					const char *q = p + 5, *qe = q;
					while (qe < e &&
					       (isalnum((unsigned char)*qe) ||
						strchr("_.-", *qe)))
						qe++;
					if (qe > q && qe - q < 128)
						name = strndup(
							q, (size_t)(qe - q));
				}
			} else if (pass == 1 && unit && n > 8 &&
				   !strncmp(p, "PIDFile=", 8)) {
				v = literal_path(p + 8, e, NULL);
			} else if (pass == 1 && !unit && n > 8 &&
				   !strncmp(p, "PIDFILE=", 8)) {
				v = literal_path(p + 8, e, name);
			} else if (pass == 1 && !unit) {
				const char *f = p;
				while (f && f < e && !v) {
					f = memmem(f, (size_t)(e - f),
						   "--pidfile", 9);
					if (!f)
						break;
					f += 9;
					if (f < e && (*f == ' ' || *f == '='))
						v = literal_path(f + 1, e,
								 name);
				}
			}
			if (v && out->n < 8 && !strv_contains(out->v, v)) {
				int r = strv_push(out, v);
				if (r < 0)
					return r;
			} else {
				free(v);
			}
			l = nl ? nl + 1 : end;
		}
	return 0;
}

/* A service as it is put together. */
struct entry {
	struct world_service svc;
	bool script, unit;
	struct strv pidfiles;
};

struct build {
	struct entry *v;
	size_t n;
	struct strv notes;
};

static void build_release(struct build *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].svc.name);
		free(b->v[i].svc.pids);
		free(b->v[i].svc.note);
		free(b->v[i].svc.warning);
		strv_free(&b->v[i].pidfiles);
	}
	free(b->v);
	strv_free(&b->notes);
	*b = (struct build){0};
}

static struct entry *entry_of(struct build *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].svc.name, name))
			return &b->v[i];
	if (b->n >= ENTRIES_MAX)
		return NULL;
	struct entry *v = realloc(b->v, (b->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	b->v = v;
	v[b->n] = (struct entry){.svc.name = strdup(name)};
	if (!v[b->n].svc.name)
		return NULL;
	return &v[b->n++];
}

/* The first note of a service: what of /REL could not be read. */
static void note(char **where, const char *rel, int e)
{
	if (*where)
		return;
	int r = e == EFBIG ? asprintf(where,
				      "/%s is larger than 1 MiB: not read", rel)
			   : asprintf(where, "cannot read /%s: %s", rel,
				      strerror(e));
	if (r < 0)
		*where = NULL;
}

/* Reads the pid files a script or unit names (at most SCRIPT_MAX bytes of
 * it): a bigger or unreadable one leaves a note. */
static void read_pidfiles(int tree, const char *rel, bool unit, struct entry *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_beneath(tree, rel, SCRIPT_MAX, &text, &len);
	if (r < 0)
		note(&e->svc.note, rel, -r);
	else
		(void)services_script_pidfiles(text, len, unit, &e->pidfiles);
}

static bool link_target(int tree, const char *rel, char *target, size_t size);

static int add_scripts(const struct view *v, struct build *b)
{
	_cleanup_strv_ struct strv names = {0};
	int r = list_beneath(v->tree, "etc/init.d", pick_script, &names);
	if (r == -ELOOP || r == -ENOTDIR)
		return strv_push(&b->notes,
				 strdup("/etc/init.d is no plain directory"));
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	for (size_t i = 0; i < names.n; i++) {
		struct entry *e = entry_of(b, names.v[i]);
		if (!e)
			return -ENOMEM;
		e->script = true;
		_cleanup_free_ char *rel = path_join("etc/init.d", names.v[i]);
		if (!rel)
			return -ENOMEM;
		/* A link's target is read beneath the tree (one link, never
		 * followed further): an absolute one from the tree's root, a
		 * relative one from /etc/init.d without "..". */
		char target[PATH_MAX];
		if (link_target(v->tree, rel, target, sizeof(target))) {
			_cleanup_free_ char *t =
				target[0] == '/' ? strdup(target + 1)
				: strstr(target, "..")
					? NULL
					: path_join("etc/init.d", target);
			if (t)
				read_pidfiles(v->tree, t, false, e);
			continue;
		}
		read_pidfiles(v->tree, rel, false, e);
	}
	for (char d = '2'; d <= '5'; d++) {
		char rel[] = "etc/rcX.d";
		rel[6] = d;
		_cleanup_strv_ struct strv links = {0};
		if (list_beneath(v->tree, rel, pick_start_link, &links) < 0)
			continue;
		for (size_t i = 0; i < links.n; i++)
			for (size_t k = 0; k < b->n; k++)
				if (b->v[k].script &&
				    !strcmp(b->v[k].svc.name, links.v[i] + 3))
					b->v[k].svc.enabled = true;
	}
	return 0;
}

/* The target of the symbolic link REL beneath TREE into TARGET (SIZE
 * bytes, cut short where it does not fit); false when REL is no link. */
static bool link_target(int tree, const char *rel, char *target, size_t size)
{
	_cleanup_close_ int fd = open_beneath(tree, rel, O_PATH | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? readlinkat(fd, "", target, size - 1) : -1;
	if (n < 0)
		return false;
	target[n] = '\0';
	return true;
}

/* Whether the unit file REL is a link to /dev/null: masked. */
static bool masked(int tree, const char *rel)
{
	char target[16];
	return link_target(tree, rel, target, sizeof(target)) &&
	       !strcmp(target, "/dev/null");
}

/* Whether the unit file REL (in directory DIR), named NAME, is a symbolic
 * link to the regular file of a unit of another name: an alias
 * (dbus-org.freedesktop.hostname1.service of systemd-hostnamed.service,
 * a unit's Alias= that systemctl enable links), no service of its own.
 * The target is looked at beneath the tree, never followed further: a
 * link to a link (a loop) is listed as a unit, with its note. */
static bool is_alias(int tree, const char *dir, const char *rel,
		     const char *name)
{
	char target[PATH_MAX];
	if (!link_target(tree, rel, target, sizeof(target)))
		return false;
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	size_t l = strlen(base);
	if (l <= 8 || strcmp(base + l - 8, ".service") || !strcmp(base, name))
		return false;
	_cleanup_free_ char *where =
		target[0] == '/' ? strdup(target + 1)
		: base == target ? path_join(dir, target)
				 : NULL; /* a relative path: not followed */
	_cleanup_close_ int t =
		where ? open_beneath(tree, where, O_PATH | O_NOFOLLOW) : -1;
	struct stat st;
	return t >= 0 && fstat(t, &st) == 0 && S_ISREG(st.st_mode);
}

static int add_units(const struct view *v, struct build *b)
{
	static const char *const dirs[] = {"lib/systemd/system",
					   "usr/lib/systemd/system",
					   "etc/systemd/system"};
	for (size_t d = 0; d < 3; d++) {
		_cleanup_strv_ struct strv names = {0};
		int r = list_beneath(v->tree, dirs[d], pick_unit, &names);
		/* /lib is a link to usr/lib where /usr is merged: only a
		 * directory of /etc that is not one is worth a note. */
		if ((r == -ELOOP || r == -ENOTDIR) && d < 2)
			continue;
		if (r == -ELOOP || r == -ENOTDIR) {
			_cleanup_free_ char *n = NULL;
			if (asprintf(&n, "/%s is no plain directory", dirs[d]) <
				    0 ||
			    strv_push(&b->notes, steal_pointer(&n)) < 0)
				return -ENOMEM;
			continue;
		}
		if (r < 0 && r != -ENOENT)
			return r;
		for (size_t i = 0; i < names.n; i++) {
			_cleanup_free_ char *rel =
				path_join(dirs[d], names.v[i]);
			_cleanup_free_ char *svc =
				strndup(names.v[i], strlen(names.v[i]) - 8);
			if (!rel || !svc)
				return -ENOMEM;
			if (is_alias(v->tree, dirs[d], rel, names.v[i]))
				continue;
			struct entry *e = entry_of(b, svc);
			if (!e)
				return -ENOMEM;
			if (masked(v->tree, rel)) {
				e->unit = false; /* /etc's mask wins */
				continue;
			}
			e->unit = true;
			read_pidfiles(v->tree, rel, true, e);
		}
	}
	/* Enabled: a link of its name in a *.wants or *.requires of /etc. */
	_cleanup_strv_ struct strv wants = {0};
	if (list_beneath(v->tree, "etc/systemd/system", pick_wants_dir,
			 &wants) < 0)
		return 0;
	for (size_t i = 0; i < wants.n; i++) {
		_cleanup_free_ char *rel =
			path_join("etc/systemd/system", wants.v[i]);
		_cleanup_strv_ struct strv links = {0};
		if (!rel)
			return -ENOMEM;
		if (list_beneath(v->tree, rel, pick_unit, &links) < 0)
			continue;
		for (size_t k = 0; k < links.n; k++)
			for (size_t j = 0; j < b->n; j++)
				if (b->v[j].unit &&
				    !strncmp(b->v[j].svc.name, links.v[k],
					     strlen(links.v[k]) - 8) &&
				    strlen(b->v[j].svc.name) ==
					    strlen(links.v[k]) - 8)
					b->v[j].svc.enabled = true;
	}
	return 0;
}

static int push_pid(struct world_service *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_pids; i++)
		if (s->pids[i] == pid)
			return 0;
	pid_t *v = realloc(s->pids, (s->n_pids + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->pids = v;
	s->pids[s->n_pids++] = pid;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Appends to E's warning (several joined by "; "): pid file FILE and
 * WHY it is refused. */
static int warn(struct entry *e, const char *file, const char *why)
{
	char *w = NULL;
	if (asprintf(&w, "%s%spid file %s %s", e->svc.warning ?: "",
		     e->svc.warning ? "; " : "", file, why) < 0)
		return -ENOMEM;
	free(e->svc.warning);
	e->svc.warning = w;
	return 0;
}

/* The process that pid file FILE (absolute, in the world's /run) names,
 * by rules stricter than a supervisor's (systemd's PIDFile=,
 * start-stop-daemon --pidfile follow symbolic links; a world is
 * untrusted): a regular file of at most 4096 bytes beneath the world's
 * root, no symbolic link followed on the way or at the end, whose first
 * line is a decimal pid (blanks around it; haproxy writes one a line);
 * the pid of a process of the world (its container's PID namespace)
 * other than its init, pid 1, whose every process descends from it.  Its
 * index in V's table into *AT (1); 0: none, the file or its directory
 * missing, or refused, which E's warning says. */
static int pidfile_process(const struct view *v, struct entry *e,
			   const char *file, size_t *at)
{
	const struct proc_table *t = &v->procs;
	const char *slash = strrchr(file, '/');
	/* FILE is absolute: its directory, without the leading slash. */
	_cleanup_free_ char *dir =
		slash > file ? strndup(file + 1, (size_t)(slash - file - 1))
			     : strdup("");
	if (!dir)
		return -ENOMEM;
	_cleanup_close_ int dfd =
		slash > file + 1
			? open_beneath(v->live, dir, O_PATH | O_DIRECTORY)
			: openat(v->live, ".",
				 O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && slash == file + 1)
		dfd = -errno;
	if (dfd == -ENOENT)
		return 0;
	if (dfd == -ENOMEM)
		return -ENOMEM;
	char why[160];
	if (dfd == -ELOOP || dfd == -ENOTDIR)
		return warn(e, file,
			    "is in no plain directory (a symbolic link is "
			    "not followed): ignored");
	if (dfd < 0) {
		snprintf(why, sizeof(why), "cannot be reached: %s: ignored",
			 strerror(-dfd));
		return warn(e, file, why);
	}
	_cleanup_free_ char *text = NULL;
	int r = read_file_max(dfd, slash + 1, 4096, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return warn(e, file,
			    r == -ELOOP	   ? "is a symbolic link: not followed"
			    : r == -EFBIG  ? "is larger than 4096 bytes: ignored"
			    : r == -EINVAL ? "is no regular file: ignored"
					   : "cannot be read: ignored");
	const char *s = text;
	while (*s != '\n' && isspace((unsigned char)*s))
		s++;
	char *end = NULL;
	errno = 0;
	long pid = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
	while (end && *end != '\n' && isspace((unsigned char)*end))
		end++;
	if (pid <= 0 || errno || (*end && *end != '\n') || pid > INT_MAX)
		return warn(e, file, "holds no pid: ignored");
	if (pid == 1)
		return warn(e, file, "names pid 1, the world's init: ignored");
	for (size_t k = 0; k < t->n; k++)
		if (t->v[k].nspid == pid) {
			*at = k;
			return 1;
		}
	snprintf(why, sizeof(why),
		 "names pid %ld, no process of the world: ignored", pid);
	return warn(e, file, why);
}

/* FILE as the world's processes reach it: /var/run/X is /run/X (a link
 * in every Debian tree, never followed beneath a world's root), as
 * systemd reads a PIDFile= there.  Malloc'd; NULL out of memory. */
static char *pidfile_path(const char *file)
{
	if (!strncmp(file, "/var/run/", 9))
		return strdup(file + 4);
	return strdup(file);
}

/* The processes of E: those in its unit's cgroup, and those its pid files
 * name (in the world's numbering, pidfile_process()) with their
 * descendants. */
static int find_running(const struct view *v, struct entry *e)
{
	const struct proc_table *t = &v->procs;
	_cleanup_free_ char *unit = NULL;
	if (asprintf(&unit, "%s.service", e->svc.name) < 0)
		return -ENOMEM;
	_cleanup_(strv_free) struct strv files = {0};
	for (size_t i = 0; i < e->pidfiles.n; i++) {
		char *d = pidfile_path(e->pidfiles.v[i]);
		if (!d)
			return -ENOMEM;
		if (strv_contains(files.v, d)) {
			free(d);
			continue;
		}
		if (strv_push(&files, d) < 0)
			return -ENOMEM;
	}
	/* Where Debian's daemons put their pid file when the script does
	 * not say it literally (apache2's comes from its envvars; /var/run
	 * is /run). */
	const char *n = e->svc.name;
	for (size_t i = 0; i < 2; i++) {
		char *d = NULL;
		int k = i == 0 ? asprintf(&d, "/run/%s.pid", n)
			       : asprintf(&d, "/run/%s/%s.pid", n, n);
		if (k < 0)
			return -ENOMEM;
		if (strv_contains(files.v, d)) {
			free(d);
			continue;
		}
		if (strv_push(&files, d) < 0)
			return -ENOMEM;
	}
	pid_t main[16];
	size_t n_main = 0;
	for (size_t i = 0; i < files.n && n_main < 16; i++) {
		size_t at = 0;
		int r = pidfile_process(v, e, files.v[i], &at);
		if (r < 0)
			return r;
		if (r > 0)
			main[n_main++] = t->v[at].pid;
	}
	for (size_t k = 0; k < t->n; k++) {
		const struct proc *p = &t->v[k];
		bool ours = p->unit && !strcmp(p->unit, unit);
		for (size_t m = 0; !ours && m < n_main; m++)
			ours = procs_descends(t, p->pid, main[m]);
		if (ours && push_pid(&e->svc, p->nspid) < 0)
			return -ENOMEM;
	}
	e->svc.running = e->svc.n_pids > 0;
	if (e->svc.n_pids)
		qsort(e->svc.pids, e->svc.n_pids, sizeof(pid_t), cmp_pid);
	return 0;
}

static int cmp_service(const void *a, const void *b)
{
	return strcmp(((const struct world_service *)a)->name,
		      ((const struct world_service *)b)->name);
}

/* The services of the world V shows, into OUT (sorted by name). */
static int collect(struct view *v, struct world_services *out)
{
	struct build b = {0};
	int r = v->tree >= 0 ? add_scripts(v, &b) : 0;
	if (r >= 0 && v->tree >= 0)
		r = add_units(v, &b);
	struct world_services l = {.v = calloc(b.n + 1, sizeof(*l.v))};
	if (!l.v)
		r = -ENOMEM;
	/* The processes, where a service may have some. */
	for (size_t i = 0; r >= 0 && v->running && !v->scanned && i < b.n; i++)
		if (b.v[i].script || b.v[i].unit)
			r = view_scan(v, 0);
	for (size_t i = 0; r >= 0 && i < b.n; i++) {
		struct entry *e = &b.v[i];
		if (!e->script && !e->unit)
			continue; /* masked */
		e->svc.kind = e->unit && (!e->script || v->systemd)
				      ? WORLD_SERVICE_SYSTEMD
				      : WORLD_SERVICE_INIT;
		if (v->running && (r = find_running(v, e)) < 0)
			break;
		l.v[l.n++] = e->svc;
		e->svc = (struct world_service){0};
	}
	for (size_t i = 0; r >= 0 && i < b.notes.n; i++) {
		char *n = NULL;
		if (asprintf(&n, "%s%s%s", l.note ? l.note : "",
			     l.note ? "; " : "", b.notes.v[i]) < 0)
			r = -ENOMEM;
		free(l.note);
		l.note = r < 0 ? NULL : n;
	}
	build_release(&b);
	if (r < 0) {
		services_release(&l);
		return r;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_service);
	*out = l;
	return 0;
}

void services_release(struct world_services *l)
{
	for (size_t i = 0; l && i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].pids);
		free(l->v[i].note);
		free(l->v[i].warning);
	}
	if (l) {
		free(l->v);
		free(l->note);
		*l = (struct world_services){0};
	}
}

int services_list(struct world_store *s, const char *name,
		  struct world_services *out, struct world_error *err)
{
	struct view v;
	int r = view_open(s, name, VIEW_SCAN_LATER, &v, err);
	if (r < 0)
		return r;
	r = collect(&v, out);
	view_release(&v);
	return r < 0 ? werr_errno(err, -r, "cannot list the services of '%s'",
				  name)
		     : 0;
}

int services_scan(struct world_store *s, const char *name, unsigned flags,
		  struct proc_table *procs, struct world_services *out,
		  int *tree, struct world_error *err)
{
	struct view v;
	int r = view_open(s, name, flags, &v, err);
	if (r < 0)
		return r;
	struct world_services l = {0};
	if (v.running && (r = collect(&v, &l)) < 0) {
		view_release(&v);
		return werr_errno(err, -r, "cannot list the services of '%s'",
				  name);
	}
	*procs = v.procs;
	v.procs = (struct proc_table){0};
	*out = l;
	*tree = steal_fd(&v.tree);
	view_release(&v);
	return 0;
}
