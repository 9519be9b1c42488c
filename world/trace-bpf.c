/* The BPF trace backend's collector: loads kernel/pwapt-trace.bpf.c, puts
 * the cgroup of each running world's container in its `tracked` map, and
 * turns the ring buffer's records into the worlds' tables (trace.h).
 *
 * Durability: new lines are appended, and each table is fsynced, then its
 * header rewritten in place and fsynced, at most every BATCH_MS; a
 * collector killed in between leaves "collecting" in the header, which
 * readers take for incomplete. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "trace-table.h"

#include "../kernel/pwapt-trace.skel.h"

#define BATCH_MS 200

/* A set of the table's lines, for deduplication: open addressing. */
struct line_set {
	char **v;
	size_t n, cap;
};

struct traced {
	char *name;
	uint32_t id;	    /* slot and tracking number (trace-event.h) */
	pid_t init_pid;	    /* of the container traced */
	uint64_t cgroup;
	int fd;		    /* worlds/NAME/trace */
	off_t size;	    /* where the next line goes */
	struct line_set lines;
	char *pending;	    /* lines not yet written */
	size_t pending_len, pending_cap;
	uint64_t lost_base; /* lost in earlier runs of a collector */
	uint64_t lost;	    /* lost in this run, from the map */
	bool gap;	    /* the world ran untraced for a while */
	bool seen;	    /* still running at the last scan */
};

struct trace_collector {
	struct world_store *s;
	struct pwapt_trace *skel;
	struct ring_buffer *rb;
	char *cgroup_root; /* where cgroup2 is mounted */
	uint32_t level;	   /* of the worlds' cgroups, 0 before the first */
	uint32_t trackings; /* numbers the ids */
	unsigned long long attached; /* when, in clock ticks since boot */
	struct traced *slots[TRACE_MAX_SLOTS];
	int lock_fd;	   /* state/trace.lock, held while collecting */
	struct timespec last_sync;
	int error; /* the first error of the ring buffer's callback */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Adds LINE (taken over) unless present: 1 added, 0 present, < 0 error. */
static int line_set_add(struct line_set *set, char *line)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 1024;
		char **v = calloc(cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t j = 0; j < set->cap; j++) {
			if (!set->v[j])
				continue;
			for (i = hash_str(set->v[j]) & (cap - 1); v[i];
			     i = (i + 1) & (cap - 1))
				;
			v[i] = set->v[j];
		}
		free(set->v);
		set->v = v;
		set->cap = cap;
	}
	for (i = hash_str(line) & (set->cap - 1); set->v[i];
	     i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->v[i], line))
			return 0;
	set->v[i] = line;
	set->n++;
	return 1;
}

static void line_set_release(struct line_set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->v[i]);
	free(set->v);
	*set = (struct line_set){0};
}

/* Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup/unified on a
 * hybrid host, /sys/fs/cgroup on a unified one). */
static int find_cgroup2(char **out)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[4096], *dash = strstr(line, " - ");
		char fstype[64];

		if (!dash || sscanf(dash, " - %63s", fstype) != 1 ||
		    strcmp(fstype, "cgroup2") ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		/* mountinfo writes a space, tab, newline, backslash as \ooo. */
		char *w = mnt;
		for (const char *p = mnt; *p; p++) {
			unsigned v;
			if (p[0] == '\\' && sscanf(p + 1, "%3o", &v) == 1 &&
			    strspn(p + 1, "01234567") >= 3) {
				*w++ = (char)v;
				p += 3;
			} else {
				*w++ = *p;
			}
		}
		*w = '\0';
		return (*out = strdup(mnt)) ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

/* The cgroup v2 id of process PID: the inode number of its cgroup's
 * directory (the "0::/PATH" line of /proc/PID/cgroup), and its level. */
static int cgroup_of(struct trace_collector *c, pid_t pid, uint64_t *id,
		     uint32_t *level)
{
	_cleanup_free_ char *proc = NULL, *line = NULL, *dir = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t cap = 0;
	struct stat st;

	if (asprintf(&proc, "/proc/%d/cgroup", (int)pid) < 0)
		return -ENOMEM;
	if (!(f = fopen(proc, "re")))
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		*level = 0;
		for (const char *p = line + 3; *p; p++)
			*level += *p == '/' && p[1] && p[1] != '/';
		if (!(dir = path_join(c->cgroup_root, line + 3)))
			return -ENOMEM;
		if (stat(dir, &st) < 0)
			return -errno;
		*id = st.st_ino;
		return 0;
	}
	return -ENOENT;
}

static int append_pending(struct traced *t, const char *line)
{
	size_t len = strlen(line);

	if (t->pending_len + len + 1 > t->pending_cap) {
		size_t cap = (t->pending_len + len + 1) * 2;
		char *p = realloc(t->pending, cap);

		if (!p)
			return -ENOMEM;
		t->pending = p;
		t->pending_cap = cap;
	}
	memcpy(t->pending + t->pending_len, line, len);
	t->pending[t->pending_len + len] = '\n';
	t->pending_len += len + 1;
	return 0;
}

static int write_header(struct traced *t, bool final)
{
	char header[TRACE_HEADER_LEN + 1];
	uint64_t lost = t->lost_base + t->lost;
	const char *state = lost || t->gap ? "incomplete"
			    : final	     ? "complete"
					     : "collecting";

	trace_header_format(header, state, lost);
	if (pwrite(t->fd, header, TRACE_HEADER_LEN, 0) != TRACE_HEADER_LEN)
		return errno ? -errno : -EIO;
	return fdatasync(t->fd) < 0 ? -errno : 0;
}

/* Appends the pending lines, fsyncs, and rewrites the header. */
static int flush_table(struct traced *t, bool final)
{
	size_t done = 0;

	/* pwrite(), not O_APPEND: Linux appends a pwrite() to an O_APPEND
	 * file, and the header is rewritten in place. */
	while (done < t->pending_len) {
		ssize_t n = pwrite(t->fd, t->pending + done,
				   t->pending_len - done, t->size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
		t->size += n;
	}
	if (t->pending_len)
		crash_point("trace-appended");
	t->pending_len = 0;
	if (fdatasync(t->fd) < 0)
		return -errno;
	return write_header(t, final);
}

static int create_table(struct trace_collector *c, struct traced *t,
			const char *rel, struct world_error *err)
{
	char header[TRACE_HEADER_LEN + 1];

	t->fd = openat(c->s->worlds_fd, rel,
		       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (t->fd < 0)
		return werr_errno(err, errno, "cannot create %s", rel);
	trace_header_format(header, t->gap ? "incomplete" : "collecting", 0);
	t->size = TRACE_HEADER_LEN;
	if (write(t->fd, header, TRACE_HEADER_LEN) != TRACE_HEADER_LEN ||
	    fsync(t->fd) < 0 || fsync(c->s->worlds_fd) < 0)
		return werr_errno(err, errno ? errno : EIO, "cannot write %s",
				  rel);
	return 0;
}

/* Takes over the lines of an existing table TEXT (LEN bytes); < 0 when it
 * is damaged.  A last line cut short by a crash is dropped, and lost. */
static int load_lines(struct traced *t, char *text, size_t len)
{
	_cleanup_free_ char *copy = strdup(text);
	struct world_trace parsed = {0};
	size_t keep = len;

	if (!copy)
		return -ENOMEM;
	/* What the reader refuses, the collector does not append to. */
	if (trace_table_parse(t->name, copy, len, &parsed, NULL) < 0 ||
	    len < TRACE_HEADER_LEN || text[TRACE_HEADER_LEN - 1] != '\n')
		return -EBADMSG;
	t->lost_base = parsed.lost;
	trace_table_release(&parsed);
	while (keep > 0 && text[keep - 1] != '\n')
		keep--;
	text[keep] = '\0'; /* a cut last line: counted lost by the parser */
	t->size = keep;
	for (char *line = text + TRACE_HEADER_LEN, *next; *line; line = next) {
		char *owned;

		next = strchr(line, '\n');
		*next++ = '\0';
		int r = (owned = strdup(line)) ? line_set_add(&t->lines, owned)
					       : -ENOMEM;

		if (r <= 0) /* not taken: a repeated line, or no memory */
			free(owned);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Loads an existing table's lines and lost count, or starts a new one.
 * A table from an earlier run means the world ran untraced in between; a
 * damaged one is kept aside (trace.damaged) and started anew, incomplete:
 * one world's bad file must not stop the tracing of all. */
static int open_table(struct trace_collector *c, struct traced *t,
		      struct world_error *err)
{
	_cleanup_free_ char *rel = NULL, *aside = NULL, *text = NULL;
	size_t len;
	int r;

	if (asprintf(&rel, "%s/trace", t->name) < 0 ||
	    asprintf(&aside, "%s/trace.damaged", t->name) < 0)
		return werr(err, ENOMEM, "out of memory");
	r = read_file_at(c->s->worlds_fd, rel, &text, &len);
	if (r == -ENOENT)
		return create_table(c, t, rel, err);
	if (r < 0)
		return werr_errno(err, -r, "cannot read %s", rel);
	t->gap = true;
	r = load_lines(t, text, len);
	if (r == -ENOMEM)
		return werr(err, ENOMEM, "out of memory");
	if (r < 0) {
		line_set_release(&t->lines);
		t->lost_base = 0;
		if (renameat(c->s->worlds_fd, rel, c->s->worlds_fd, aside) < 0)
			return werr_errno(err, errno, "cannot move %s aside",
					  rel);
		return create_table(c, t, rel, err);
	}
	t->fd = openat(c->s->worlds_fd, rel, O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return werr_errno(err, errno, "cannot open %s", rel);
	if ((off_t)len > t->size && ftruncate(t->fd, t->size) < 0)
		return werr_errno(err, errno, "cannot truncate %s", rel);
	r = write_header(t, false);
	return r < 0 ? werr_errno(err, -r, "cannot write %s", rel) : 0;
}

static void traced_free(struct traced *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	line_set_release(&t->lines);
	free(t->pending);
	free(t->name);
	free(t);
}

static int untrack(struct trace_collector *c, uint32_t slot)
{
	struct traced *t = c->slots[slot];
	int r;

	bpf_map__delete_elem(c->skel->maps.tracked, &t->cgroup,
			     sizeof(t->cgroup), 0);
	/* Its records still in the ring buffer belong to it. */
	ring_buffer__consume(c->rb);
	r = flush_table(t, true);
	traced_free(t);
	c->slots[slot] = NULL;
	return r;
}

/* When process PID started, in clock ticks since boot. */
static int start_ticks(pid_t pid, unsigned long long *ticks)
{
	_cleanup_free_ char *proc = NULL, *text = NULL;
	char *p;
	size_t len;

	if (asprintf(&proc, "/proc/%d/stat", (int)pid) < 0)
		return -ENOMEM;
	int r = read_file_at(AT_FDCWD, proc, &text, &len);
	if (r < 0)
		return r;
	/* Field 22; the command (2) may hold spaces, not ')'. */
	if (!(p = strrchr(text, ')')))
		return -EBADMSG;
	for (int field = 2; field < 22; field++)
		if (!(p = strchr(p + 1, ' ')))
			return -EBADMSG;
	return sscanf(p + 1, "%llu", ticks) == 1 ? 0 : -EBADMSG;
}

/* Whether world T ran untraced: its container started before the
 * programs were attached, or its processes made calls the program saw
 * before its cgroup was tracked (counted in `untracked`). */
static bool ran_untraced(struct trace_collector *c, struct traced *t)
{
	uint64_t n = 0;

	if (c->skel->bss->untracked_full)
		return true;
	return bpf_map__lookup_elem(c->skel->maps.untracked, &t->cgroup,
				    sizeof(t->cgroup), &n, sizeof(n), 0) == 0 &&
	       n > 0;
}

static int track(struct trace_collector *c, const char *name, pid_t pid,
		 struct world_error *err)
{
	struct traced *t;
	uint64_t zero = 0;
	uint32_t slot, level = 0;
	int r;

	for (slot = 0; slot < TRACE_MAX_SLOTS && c->slots[slot]; slot++)
		;
	if (slot == TRACE_MAX_SLOTS)
		return werr(err, ENOSPC, "cannot trace '%s': %d worlds traced already",
			    name, TRACE_MAX_SLOTS);
	if (!(t = calloc(1, sizeof(*t))) || !(t->name = strdup(name))) {
		free(t);
		return werr(err, ENOMEM, "out of memory");
	}
	t->fd = -1;
	t->seen = true;
	t->init_pid = pid;
	r = cgroup_of(c, pid, &t->cgroup, &level);
	if (r < 0) {
		traced_free(t);
		return werr_errno(err, -r, "cannot find the cgroup of '%s'",
				  name);
	}
	/* One level for all: liblxc puts every container's cgroup beside
	 * the others. */
	if (level == 0 || (c->level && level != c->level)) {
		traced_free(t);
		return werr(err, EXDEV,
			    "cannot trace '%s': its cgroup is at level %u, "
			    "the other worlds' at %u",
			    name, level, c->level);
	}
	c->level = level;
	c->skel->data->tracked_level = level;
	unsigned long long started;
	if (start_ticks(pid, &started) < 0 || started <= c->attached)
		t->gap = true;
	if ((r = open_table(c, t, err)) < 0) {
		traced_free(t);
		return r;
	}
	t->id = slot | (++c->trackings % (UINT32_MAX / TRACE_MAX_SLOTS) + 1)
			       * TRACE_MAX_SLOTS;
	if (bpf_map__update_elem(c->skel->maps.lost, &slot, sizeof(slot), &zero,
				 sizeof(zero), 0) < 0 ||
	    bpf_map__update_elem(c->skel->maps.tracked, &t->cgroup,
				 sizeof(t->cgroup), &t->id, sizeof(t->id),
				 BPF_NOEXIST) < 0) {
		r = -errno;
		traced_free(t);
		return werr_errno(err, -r, "cannot trace '%s'", name);
	}
	c->slots[slot] = t;
	/* Calls after the map update are recorded; those made before, or
	 * in flight meanwhile, are counted: scan() looks again. */
	t->gap |= ran_untraced(c, t);
	return 0;
}

static struct traced *find_traced(struct trace_collector *c, const char *name)
{
	for (int i = 0; i < TRACE_MAX_SLOTS; i++)
		if (c->slots[i] && !strcmp(c->slots[i]->name, name))
			return c->slots[i];
	return NULL;
}

int trace_collector_scan(struct trace_collector *c, struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	int r;

	if ((r = store_world_names(c->s, &names)) < 0)
		return werr_errno(err, -r, "cannot list the worlds");
	for (int i = 0; i < TRACE_MAX_SLOTS; i++)
		if (c->slots[i])
			c->slots[i]->seen = false;
	/* Root's container too, when Root is a directory. */
	for (size_t i = 0;; i++) {
		const char *name = names[i] ? names[i] : WORLD_ROOT;
		struct traced *t;
		pid_t pid;

		if (!names[i] && store_root_is_host(c->s))
			break;
		if (!container_running(c->s, name, &pid)) {
			if (!names[i])
				break;
			continue;
		}
		/* Another container under the same name (deleted and made
		 * again, or restarted since the last scan) is another
		 * tracking. */
		if ((t = find_traced(c, name)) && t->init_pid != pid) {
			uint32_t slot = TRACE_SLOT_OF(t->id);

			if ((r = untrack(c, slot)) < 0)
				return werr_errno(err, -r,
						  "cannot write a trace table");
			t = NULL;
		}
		if (t) {
			t->seen = true;
			t->gap |= ran_untraced(c, t);
		} else if ((r = track(c, name, pid, err)) < 0 &&
			   (r != -ENOENT || store_world_exists(c->s, name))) {
			return r; /* not a world deleted meanwhile */
		}
		if (!names[i])
			break;
	}
	for (uint32_t i = 0; i < TRACE_MAX_SLOTS; i++)
		if (c->slots[i] && !c->slots[i]->seen &&
		    (r = untrack(c, i)) < 0)
			return werr_errno(err, -r, "cannot write a trace table");
	return 0;
}

/* DIR and NAME joined and made canonical (".", "..", "//"), lexically:
 * the kernel resolved DIR; NAME is what the process passed. */
static char *join_canonical(const char *dir, const char *name)
{
	size_t cap = strlen(dir) + strlen(name) + 3, len = 0;
	char *out = malloc(cap), *copy, *save = NULL;

	if (!out)
		return NULL;
	if (!(copy = malloc(cap))) {
		free(out);
		return NULL;
	}
	snprintf(copy, cap, "%s/%s", name[0] == '/' ? "" : dir, name);
	for (char *part = strtok_r(copy, "/", &save); part;
	     part = strtok_r(NULL, "/", &save)) {
		if (!strcmp(part, "."))
			continue;
		if (!strcmp(part, "..")) {
			while (len > 0 && out[--len] != '/')
				;
			continue;
		}
		out[len++] = '/';
		memcpy(out + len, part, strlen(part));
		len += strlen(part);
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	free(copy);
	return out;
}

/* The path of strings (DIR, NAME) of a record. */
static char *event_path(const char *dir, const char *name)
{
	if (!name)
		return dir ? join_canonical("/", dir) : NULL;
	if (!*name && dir)
		return join_canonical("/", dir);
	return join_canonical(dir ? dir : "/", name);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct trace_collector *c = ctx;
	const struct pwapt_event_hdr *h = data;
	const char *str[TRACE_NSTR] = {0}, *p = (const char *)(h + 1);
	_cleanup_free_ char *path = NULL, *path2 = NULL, *line = NULL;
	size_t off = sizeof(*h), line_len;
	const char *kind;
	struct traced *t;
	FILE *f;
	int r;

	/* A record of a world no longer traced, or of the slot's earlier
	 * world, is dropped. */
	if (size < sizeof(*h) || !(t = c->slots[TRACE_SLOT_OF(h->slot)]) ||
	    t->id != h->slot || !(kind = trace_kind_name(h->kind)))
		return 0;
	for (int i = 0; i < TRACE_NSTR; i++) {
		if (!h->str_len[i])
			continue;
		if (h->str_len[i] > size - off || p[h->str_len[i] - 1])
			return 0;
		str[i] = p;
		p += h->str_len[i];
		off += h->str_len[i];
	}
	path = event_path(str[TRACE_DIR1], str[TRACE_NAME1]);
	if (h->kind == TRACE_SYMLINK) /* the target, as written */
		path2 = str[TRACE_NAME2] ? strdup(str[TRACE_NAME2]) : NULL;
	else if (str[TRACE_DIR2] || str[TRACE_NAME2])
		path2 = event_path(str[TRACE_DIR2], str[TRACE_NAME2]);
	if (!path)
		return 0;
	if (!(f = open_memstream(&line, &line_len)))
		return c->error = -ENOMEM;
	fputs(kind, f);
	fputc(' ', f);
	path_escape(f, path);
	if (path2) {
		fputc(' ', f);
		path_escape(f, path2);
	}
	if (fclose(f) != 0)
		return c->error = -ENOMEM;
	r = line_set_add(&t->lines, line);
	if (r <= 0) {
		if (r < 0)
			c->error = r;
		return r;
	}
	/* The set owns the line now. */
	if ((r = append_pending(t, steal_pointer(&line))) < 0)
		c->error = r;
	return r;
}

static int read_lost(struct trace_collector *c)
{
	for (uint32_t i = 0; i < TRACE_MAX_SLOTS; i++) {
		uint64_t n;

		if (!c->slots[i])
			continue;
		if (bpf_map__lookup_elem(c->skel->maps.lost, &i, sizeof(i), &n,
					 sizeof(n), 0) < 0)
			return -errno;
		c->slots[i]->lost = n;
	}
	return 0;
}

static int flush_all(struct trace_collector *c, bool final)
{
	int r = read_lost(c);

	for (int i = 0; i < TRACE_MAX_SLOTS && r >= 0; i++)
		if (c->slots[i])
			r = flush_table(c->slots[i], final);
	return r;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

int trace_collector_poll(struct trace_collector *c, int timeout_ms,
			 struct world_error *err)
{
	int r = ring_buffer__poll(c->rb, timeout_ms);

	if (r < 0 && r != -EINTR)
		return werr_errno(err, -r, "cannot read the trace's ring buffer");
	if (c->error < 0)
		return werr_errno(err, -c->error, "cannot record a trace event");
	if (ms_since(&c->last_sync) >= BATCH_MS) {
		clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
		if ((r = flush_all(c, false)) < 0)
			return werr_errno(err, -r, "cannot write a trace table");
	}
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_WARN && getenv("PWAPT_TRACE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int trace_collector_open(struct trace_collector **out, struct world_store *s,
			 uint32_t ringbuf_bytes, struct world_error *err)
{
	struct trace_collector *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return werr(err, ENOMEM, "out of memory");
	c->lock_fd = -1;
	c->s = s;
	/* One collector per store: two would write the same tables. */
	c->lock_fd = openat(s->state_fd, TRACE_LOCK,
			    O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno;
		trace_collector_free(c);
		return r == EWOULDBLOCK
			       ? werr(err, EBUSY, "another trace collector runs")
			       : werr_errno(err, r, "cannot lock %s", TRACE_LOCK);
	}
	libbpf_set_print(libbpf_quiet);
	if ((r = find_cgroup2(&c->cgroup_root)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot find the cgroup v2 hierarchy");
	}
	if (!(c->skel = pwapt_trace__open())) {
		r = -errno;
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot open the BPF programs");
	}
	if (ringbuf_bytes &&
	    (r = bpf_map__set_max_entries(c->skel->maps.events, ringbuf_bytes)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "bad ring buffer size %" PRIu32,
				  ringbuf_bytes);
	}
	if ((r = pwapt_trace__load(c->skel)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot load the BPF programs");
	}
	if ((r = pwapt_trace__attach(c->skel)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot attach the BPF programs");
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_event, c,
				 NULL);
	if (!c->rb) {
		r = -errno;
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot open the ring buffer");
	}
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	long hz = sysconf(_SC_CLK_TCK);
	/* Rounded up: a container started in the same tick counts as
	 * started before. */
	c->attached = (unsigned long long)now.tv_sec * hz +
		      ((unsigned long long)now.tv_nsec * hz + 999999999) / 1000000000;
	clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
	*out = c;
	return 0;
}

void trace_collector_free(struct trace_collector *c)
{
	if (!c)
		return;
	/* Stop recording first, so that the tables' last word is final. */
	if (c->skel)
		pwapt_trace__detach(c->skel);
	if (c->rb) {
		ring_buffer__consume(c->rb);
		flush_all(c, true);
	}
	for (int i = 0; i < TRACE_MAX_SLOTS; i++)
		traced_free(c->slots[i]);
	ring_buffer__free(c->rb);
	pwapt_trace__destroy(c->skel);
	free(c->cgroup_root);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
}
