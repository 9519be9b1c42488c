#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "store.h"
#include "strv.h"

bool store_name_valid(const char *name)
{
	if (!name || !isalnum((unsigned char)name[0]))
		return false;
	size_t n = strlen(name);
	if (n > WORLD_NAME_MAX)
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

char *store_world_path(struct world_store *s, const char *name,
		       const char *entry)
{
	_cleanup_free_ char *dir = path_join(s->worlds, name);
	if (!dir || !entry)
		return steal_pointer(&dir);
	return path_join(dir, entry);
}

void meta_release(struct world_meta *m)
{
	free(m->name);
	strvfreep(&m->parents);
	strvfreep(&m->mounts);
	*m = (struct world_meta){0};
}

bool meta_rel_path_valid(const char *rel)
{
	if (!rel || !*rel || rel[0] == '/' || strlen(rel) > 4000)
		return false;
	for (const char *c = rel; *c;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (const char *k = c; k < end; k++)
			if ((unsigned char)*k < 0x20 || *k == 0x7f)
				return false;
		c = *end ? end + 1 : end;
		if (*end && !*c)
			return false; /* trailing '/' */
	}
	return true;
}

/* "SEC.NSEC" into *SEC and *NS (0 for a malformed part). */
static void parse_time(const char *val, int64_t *sec, int32_t *ns)
{
	char *dot = NULL;

	*sec = strtoll(val, &dot, 10);
	if (dot && *dot == '.') {
		long n = strtol(dot + 1, NULL, 10);
		*ns = n >= 0 && n < 1000000000 ? (int32_t)n : 0;
	}
}

/* "SEC.NNNNNNNNN" as meta_save() writes it, in ns; 0 for anything else
 * (seconds of more than 10 digits, past the year 2286, included). */
static uint64_t parse_ns(const char *val)
{
	size_t sec = strspn(val, "0123456789");
	if (!sec || sec > 10 || val[sec] != '.' ||
	    strspn(val + sec + 1, "0123456789") != 9 || val[sec + 10])
		return 0;
	return strtoull(val, NULL, 10) * 1000000000u +
	       strtoull(val + sec + 1, NULL, 10);
}

uint64_t meta_trace_from(const struct world_meta *m)
{
	uint64_t created =
		(uint64_t)m->created * 1000000000u + (uint64_t)m->created_ns;
	/* Taken just after created, by a finer clock: anything else
	 * (edited by hand, a clock stepped meanwhile) is not trusted. */
	if (m->trace_from >= created &&
	    m->trace_from - created < TRACE_FROM_MAX_NS)
		return m->trace_from;
	return created;
}

/* The metadata is a few "key value" lines, so that an administrator can read
 * it and a partial write is recognizable:
 *     pwapt-world 1
 *     name WPTest
 *     parent WPUUpdate
 *     parent PHPUpdate
 *     mount var
 *     created 1764000000.123456789
 *     trace-from 1764000000.125817311
 *     trace-untold yes        (only when a collector did not answer)
 *     phase ready
 * Unknown keys are ignored (forward compatibility); a file without the
 * header, a name or a parent is rejected. */
int meta_parse(const char *text, struct world_meta *out)
{
	struct world_meta m = {.phase = META_CREATING};
	bool header = false;
	int r = -EBADMSG;
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *sp = memchr(line, ' ', len);
		if (sp) {
			size_t klen = (size_t)(sp - line);
			_cleanup_free_ char *val =
				strndup(sp + 1, len - klen - 1);
			if (!val) {
				r = -ENOMEM;
				goto fail;
			}
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(line, k, klen))
			if (KEY("pwapt-world")) {
				header = !strcmp(val, "1");
			} else if (KEY("name")) {
				if (m.name || !store_name_valid(val))
					goto fail;
				m.name = steal_pointer(&val);
			} else if (KEY("parent") || KEY("mount")) {
				bool parent = KEY("parent");
				char ***v = parent ? &m.parents : &m.mounts;
				size_t *n = parent ? &m.n_parents : &m.n_mounts;
				if (*n > 4096 ||
				    !(parent ? store_name_valid(val)
					     : meta_rel_path_valid(val)))
					goto fail;
				struct strv sv = {*v, *n};
				int pushed = strv_push(&sv, steal_pointer(&val));
				*v = sv.v;
				*n = sv.n;
				if (pushed < 0) {
					r = pushed;
					goto fail;
				}
			} else if (KEY("created")) {
				parse_time(val, &m.created, &m.created_ns);
			} else if (KEY("trace-from")) {
				m.trace_from = parse_ns(val);
			} else if (KEY("trace-untold")) {
				/* Anything but "no" is the safe side. */
				m.trace_untold = strcmp(val, "no") != 0;
			} else if (KEY("phase")) {
				m.phase = !strcmp(val, "ready") ? META_READY
								: META_CREATING;
			}
#undef KEY
		} else if (len == sizeof("trace-untold") - 1 &&
			   !memcmp(line, "trace-untold", len)) {
			m.trace_untold = true; /* no value: the safe side */
		}
		line += len + (end ? 1 : 0);
	}
	if (!header || !m.name || m.n_parents == 0)
		goto fail;
	*out = m;
	return 0;
fail:
	meta_release(&m);
	return r;
}

int meta_load(struct world_store *s, const char *name, struct world_meta *m,
	      struct world_error *err)
{
	if (!store_name_valid(name))
		return werr(err, EINVAL, "invalid world name '%s'", name);
	_cleanup_free_ char *rel = path_join(name, "world");
	_cleanup_free_ char *text = NULL;
	if (!rel)
		return werr(err, ENOMEM, "out of memory");
	int r = read_file_at(s->worlds_fd, rel, &text, NULL);
	if (r == -ENOENT || r == -ENOTDIR)
		return werr(err, ENOENT, "no world named '%s'", name);
	if (r < 0)
		return werr_errno(err, -r, "cannot read metadata of '%s'",
				  name);
	r = meta_parse(text, m);
	if (r < 0)
		return werr(err, -r,
			    "metadata of '%s' (%s/%s/world) is damaged", name,
			    s->worlds, name);
	if (strcmp(m->name, name)) {
		meta_release(m);
		return werr(err, EBADMSG,
			    "metadata of '%s' names another world", name);
	}
	return 0;
}

int meta_save(struct world_store *s, const struct world_meta *m,
	      struct world_error *err)
{
	size_t cap = 192 + strlen(m->name);
	for (size_t i = 0; i < m->n_parents; i++)
		cap += strlen(m->parents[i]) + 8;
	for (size_t i = 0; i < m->n_mounts; i++)
		cap += strlen(m->mounts[i]) + 8;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return werr(err, ENOMEM, "out of memory");
	size_t n =
		(size_t)snprintf(buf, cap, "pwapt-world 1\nname %s\n", m->name);
	for (size_t i = 0; i < m->n_parents; i++)
		n += (size_t)snprintf(buf + n, cap - n, "parent %s\n",
				      m->parents[i]);
	for (size_t i = 0; i < m->n_mounts; i++)
		n += (size_t)snprintf(buf + n, cap - n, "mount %s\n",
				      m->mounts[i]);
	n += (size_t)snprintf(buf + n, cap - n, "created %" PRId64 ".%09d\n",
			      m->created, (int)m->created_ns);
	if (m->trace_from)
		n += (size_t)snprintf(buf + n, cap - n,
				      "trace-from %" PRIu64 ".%09" PRIu64 "\n",
				      m->trace_from / 1000000000u,
				      m->trace_from % 1000000000u);
	if (m->trace_untold)
		n += (size_t)snprintf(buf + n, cap - n, "trace-untold yes\n");
	n += (size_t)snprintf(buf + n, cap - n, "phase %s\n",
			      m->phase == META_READY ? "ready" : "creating");

	_cleanup_close_ int dfd =
		openat(s->worlds_fd, m->name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return werr_errno(err, errno, "cannot open directory of '%s'",
				  m->name);
	/* A world being created needs no sync: a killed command leaves it
	 * whole, and after a power loss the first command's look at every
	 * world takes one whose metadata is absent, empty or "creating" for
	 * garbage (discard_unfinished).  Ready is durable before it is
	 * said: the caller synced the layer, and this syncs the file. */
	int r = m->phase == META_READY
			? write_file_atomic(dfd, "world", buf, n, 0644)
			: write_file_replace(dfd, "world", buf, n, 0644);
	if (r < 0)
		return werr_errno(err, -r, "cannot write metadata of '%s'",
				  m->name);
	return 0;
}

bool store_world_exists(struct world_store *s, const char *name)
{
	if (!strcmp(name, WORLD_ROOT))
		return true;
	if (!store_name_valid(name))
		return false;
	_cleanup_free_ char *rel = path_join(name, "world");
	return rel &&
	       faccessat(s->worlds_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool is_ancestor(struct world_store *s, const char *world,
			const char *ancestor, unsigned depth)
{
	if (!strcmp(world, ancestor) || !strcmp(ancestor, WORLD_ROOT))
		return true;
	if (!strcmp(world, WORLD_ROOT) || depth > 4096)
		return false;
	struct world_meta m = {0};
	if (meta_load(s, world, &m, NULL) < 0)
		return false;
	bool found = false;
	for (size_t i = 0; !found && i < m.n_parents; i++)
		found = is_ancestor(s, m.parents[i], ancestor, depth + 1);
	meta_release(&m);
	return found;
}

int store_children(struct world_store *s, const char *name, char ***out)
{
	_cleanup_strv_free_ char **all = NULL;
	int r = store_world_names(s, &all);
	if (r < 0)
		return r;
	size_t k = 0;
	for (size_t i = 0; all[i]; i++) {
		struct world_meta m = {0};
		bool child = false;
		if (meta_load(s, all[i], &m, NULL) >= 0) {
			for (size_t p = 0; p < m.n_parents; p++)
				child |= !strcmp(m.parents[p], name);
			meta_release(&m);
		}
		/* Keep the children, in place, in the same vector. */
		if (child)
			all[k++] = all[i];
		else
			free(all[i]);
	}
	all[k] = NULL;
	*out = steal_pointer(&all);
	return 0;
}

bool store_is_ancestor(struct world_store *s, const char *world,
		       const char *ancestor)
{
	return is_ancestor(s, world, ancestor, 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_world_names(struct world_store *s, char ***out)
{
	int fd = openat(s->worlds_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	/* Not NULL when there are none. */
	_cleanup_strv_ struct strv v = {calloc(1, sizeof(char *)), 0};
	if (!v.v)
		return -ENOMEM;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!store_name_valid(de->d_name) ||
		    !strcmp(de->d_name, WORLD_ROOT))
			continue;
		if (strv_push(&v, strdup(de->d_name)) < 0)
			return -ENOMEM;
	}
	qsort(v.v, v.n, sizeof(*v.v), cmp_str);
	*out = steal_pointer(&v.v);
	return 0;
}

#define TRASH_LOCK "trash.lock"
#define TRASH	   "trash"
/* Where worlds/ is a file system of its own, a world's directory cannot be
 * renamed into trash/ (EXDEV): it goes to this directory on the worlds'
 * file system instead, which no world's name can denote (a name starts
 * with a letter or digit). */
#define WORLDS_TRASH	".trash"
#define TRASH_IN_WORLDS "worlds/" WORLDS_TRASH

/* Removes every entry of the directory REL of the state directory. */
static void empty_trash_dir(int state_fd, const char *rel)
{
	int tfd = openat(state_fd, rel,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_closedir_ DIR *dir = tfd >= 0 ? fdopendir(tfd) : NULL;
	if (!dir) {
		if (tfd >= 0)
			close(tfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			(void)rm_rf_at(dirfd(dir), de->d_name);
}

/* Removes REL, an entry of a trash directory (a path of the state
 * directory): from the trash directory's own descriptor, as rm_rf_at never
 * enters another mount, and worlds/ may be one. */
static int remove_trash_entry(int state_fd, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	_cleanup_free_ char *dir =
		slash ? strndup(rel, (size_t)(slash - rel)) : NULL;
	if (!dir)
		return -ENOMEM;
	_cleanup_close_ int dfd = openat(
		state_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return rm_rf_at(dfd, slash + 1);
}

/* Removes ONLY (a path of the state directory in a trash directory), or
 * every entry of both trash directories when NULL, under trash.lock: a
 * detached remover (empty_trash_detached) holds it while it works, and a
 * command that empties the trash waits for it, so that no two remove the
 * same files and a command finds the trash as it left it. */
static void empty_trash(int state_fd, const char *only)
{
	_cleanup_close_ int lock = openat(
		state_fd, TRASH_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		0600);
	if (lock >= 0)
		while (flock(lock, LOCK_EX) < 0 && errno == EINTR)
			;
	if (only) {
		(void)remove_trash_entry(state_fd, only);
		return;
	}
	empty_trash_dir(state_fd, TRASH);
	empty_trash_dir(state_fd, TRASH_IN_WORLDS);
}

void store_empty_trash(struct world_store *s)
{
	empty_trash(s->state_fd, NULL);
}

/* Removes ENTRY (see empty_trash) in a detached grandchild (its own session, no
 * fd of the caller's but the state directory, stdio on /dev/null), so that the
 * caller returns without waiting for the removal; a remover killed
 * half-way leaves the rest to the next command. */
static void empty_trash_detached(struct world_store *s, const char *entry)
{
	pid_t pid = fork();
	if (pid < 0) {
		empty_trash(s->state_fd, entry);
		return;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		(void)setsid();
		/* The caller's working directory must not keep its file
		 * system from being unmounted. */
		if (chdir("/") < 0)
			_exit(1);
		/* Above stdio first: the caller may have run without it. */
		int state = fcntl(s->state_fd, F_DUPFD_CLOEXEC, 3);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (state < 0 || null < 0)
			_exit(1);
		(void)dup2(null, 0);
		(void)dup2(null, 1);
		(void)dup2(null, 2);
		if (state != 3 && dup2(state, 3) < 0)
			_exit(1);
		(void)syscall(SYS_close_range, 4U, ~0U, 0U);
		empty_trash(3, entry);
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int store_discard_world_dir(struct world_store *s, const char *name,
			    bool detached, struct world_error *err)
{
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (uint64_t)getpid() ^ (uint64_t)time(NULL);
	char dst[WORLD_NAME_MAX + 64];
	snprintf(dst, sizeof(dst), TRASH "/%s.%016" PRIx64, name, rnd);
	_cleanup_free_ char *src = path_join("worlds", name);
	if (!src)
		return werr(err, ENOMEM, "out of memory");
	int r = renameat(s->state_fd, src, s->state_fd, dst) < 0 ? -errno : 0;
	if (r == -EXDEV) {
		snprintf(dst, sizeof(dst), TRASH_IN_WORLDS "/%s.%016" PRIx64,
			 name, rnd);
		const char *base = dst + sizeof(TRASH_IN_WORLDS);
		_cleanup_close_ int tfd = -1;
		if (mkdirat(s->worlds_fd, WORLDS_TRASH, 0700) < 0 &&
		    errno != EEXIST)
			r = -errno;
		else if ((tfd = openat(s->worlds_fd, WORLDS_TRASH,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC)) < 0)
			r = -errno;
		else
			r = renameat(s->worlds_fd, name, tfd, base) < 0 ? -errno
									: 0;
	}
	/* Gone already (a delete run before), not a trash that is not
	 * there. */
	if (r == -ENOENT &&
	    faccessat(s->worlds_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT)
		return 0;
	if (r < 0)
		return werr_errno(err, -r, "cannot move '%s' to trash", name);
	fsync(s->worlds_fd);
	crash_point("delete-trash");
	/* The name is free now; a failed or interrupted removal is retried by
	 * the next command that opens the store. */
	if (detached) {
		empty_trash_detached(s, dst);
		return 0;
	}
	r = remove_trash_entry(s->state_fd, dst);
	if (r < 0)
		return werr_errno(
			err, -r,
			"'%s' is deleted but its files remain in %s/%s", name,
			s->state, dst);
	return 0;
}

/* The error for a name that does not denote a world. */
int store_check_world(struct world_store *s, const char *name,
		      struct world_error *err)
{
	if (!store_name_valid(name))
		return werr(err, EINVAL, "invalid world name '%s'", name);
	if (!store_world_exists(s, name))
		return werr(err, ENOENT, "no world named '%s'", name);
	return 0;
}

bool store_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > 32)
		return false;
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '-'))
			return false;
	return true;
}

static int next_serial(struct world_store *s, const char *key, bool lazy,
		       unsigned long *out, struct world_error *err)
{
	if (!store_key_valid(key))
		return werr(err, EINVAL, "invalid series name '%s'", key);
	_cleanup_free_ char *name = NULL, *text = NULL;
	if (asprintf(&name, "serial-%s", key) < 0)
		return werr(err, ENOMEM, "out of memory");
	unsigned long n = 0;
	int r = read_file_at(s->state_fd, name, &text, NULL);
	if (r < 0 && r != -ENOENT)
		return werr_errno(err, -r, "cannot read %s/%s", s->state, name);
	if (r >= 0)
		n = strtoul(text, NULL, 10);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lu\n", n + 1);
	r = lazy ? write_file_whole(s->state_fd, name, buf, (size_t)len, 0600)
		 : write_file_atomic(s->state_fd, name, buf, (size_t)len, 0600);
	if (r < 0)
		return werr_errno(err, -r, "cannot write %s/%s", s->state,
				  name);
	*out = n + 1;
	return 0;
}

int store_next_serial(struct world_store *s, const char *key,
		      unsigned long *out, struct world_error *err)
{
	return next_serial(s, key, false, out, err);
}

int store_next_serial_lazy(struct world_store *s, const char *key,
			   unsigned long *out, struct world_error *err)
{
	return next_serial(s, key, true, out, err);
}

char *store_tree_path(struct world_store *s, const char *name)
{
	return store_is_root(name) ? strdup(s->root)
				   : store_world_path(s, name, "merged");
}

/* ---- worlds being created ---- */

#define CREATING_DIR "creating"
#define BOOT_FILE "boot"
#define BOOT_ID "/proc/sys/kernel/random/boot_id"

int store_creating_mark(struct world_store *s, const char *name)
{
	(void)mkdirat(s->state_fd, CREATING_DIR, 0700);
	_cleanup_free_ char *rel = path_join(CREATING_DIR, name);
	if (!rel)
		return -ENOMEM;
	int fd = openat(s->state_fd, rel,
			O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* Made now, if a killed command's was there (recent()). */
	(void)futimens(fd, NULL);
	close(fd);
	return 0;
}

/* Whether a marker of mtime MTIME is within SECONDS of now either way: a
 * marker far in the future (the clock stepped back a lot) would count for
 * as long as the step, one a little ahead is this creation's.  Seconds
 * first: any mtime at all, in ns, would overflow. */
static bool marked_within(const struct timespec *mtime, int seconds)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t sec = (int64_t)now.tv_sec - (int64_t)mtime->tv_sec;
	if (sec > seconds || sec < -seconds)
		return false;
	int64_t age = sec * 1000000000 + (now.tv_nsec - mtime->tv_nsec);
	return age < (int64_t)seconds * 1000000000 &&
	       age > -(int64_t)seconds * 1000000000;
}

/* The names marked in STATE/creating into *OUT: all of them, or, with
 * SECONDS >= 0, those marked within SECONDS (marked_within()). */
static int creating_list(struct world_store *s, int seconds, char ***out)
{
	_cleanup_strv_ struct strv v = {calloc(1, sizeof(char *)), 0};
	if (!v.v)
		return -ENOMEM;
	int fd = openat(s->state_fd, CREATING_DIR,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	_cleanup_closedir_ DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !dir) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		struct stat st;
		if (!store_name_valid(de->d_name) ||
		    (seconds >= 0 &&
		     (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		      !marked_within(&st.st_mtim, seconds))))
			continue;
		if (strv_push(&v, strdup(de->d_name)) < 0)
			return -ENOMEM;
	}
	*out = steal_pointer(&v.v);
	return 0;
}

int store_creating_recent(struct world_store *s, int seconds, char ***names)
{
	return creating_list(s, seconds, names);
}

bool store_creating_within(struct world_store *s, const char *name,
			   int seconds)
{
	_cleanup_free_ char *rel = path_join(CREATING_DIR, name);
	struct stat st;
	return rel &&
	       fstatat(s->state_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       marked_within(&st.st_mtim, seconds);
}

void store_creating_clear(struct world_store *s, const char *name)
{
	_cleanup_free_ char *rel = path_join(CREATING_DIR, name);
	if (rel)
		(void)unlinkat(s->state_fd, rel, 0);
}

/* Whether the last full look happened in this boot: the markers are not
 * synced, so a power loss may have taken one, but a killed command
 * cannot. */
static bool scanned_this_boot(struct world_store *s, char **boot)
{
	_cleanup_free_ char *seen = NULL;
	if (read_file_at(AT_FDCWD, BOOT_ID, boot, NULL) < 0)
		return false;
	return read_file_at(s->state_fd, BOOT_FILE, &seen, NULL) >= 0 &&
	       !strcmp(seen, *boot);
}

int store_creating_names(struct world_store *s, char ***out, bool *all)
{
	_cleanup_free_ char *boot = NULL;
	*all = !scanned_this_boot(s, &boot);
	if (*all)
		return store_world_names(s, out);
	return creating_list(s, -1, out);
}

void store_creating_scanned(struct world_store *s)
{
	_cleanup_free_ char *boot = NULL;
	(void)rm_rf_at(s->state_fd, CREATING_DIR);
	if (read_file_at(AT_FDCWD, BOOT_ID, &boot, NULL) >= 0)
		(void)write_file_replace(s->state_fd, BOOT_FILE, boot,
					 strlen(boot), 0600);
}

const char *store_state_in_root(struct world_store *s)
{
	size_t lr = strlen(s->root);
	if (!strcmp(s->root, "/"))
		return s->state;
	if (!strncmp(s->state, s->root, lr) && s->state[lr] == '/')
		return s->state + lr;
	return NULL;
}

void store_warn(const struct world_store *s, const char *fmt, ...)
{
	/* As long as an error's message (struct world_error). */
	char msg[sizeof(((struct world_error *)0)->msg)];
	va_list ap;
	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(msg);
}
