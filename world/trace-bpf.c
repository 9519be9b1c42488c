/* The BPF trace backend's collector: loads kernel/pwapt-trace.bpf.c, puts
 * the cgroup of each running world's container in its `tracked` map, and
 * turns the ring buffer's records into the worlds' tables (trace.h,
 * written by trace-writer.c), flushed every BATCH_MS and at each flush
 * request (trace-flush.h). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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
#include "container-cgroup.h"
#include "container.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "trace-flush.h"
#include "trace-teller.h"
#include "trace-writer.h"

#include "../kernel/pwapt-trace.skel.h"

#define BATCH_MS 200


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
	struct trace_flush flush; /* requests to write the tables now */
	struct timespec last_sync;
	int error; /* the first error of the ring buffer's callback */
	int64_t boot_to_real; /* add to CLOCK_BOOTTIME ns: wall-clock ns */
	/* The latest creation of a world (the epoch), read by the teller's
	 * thread, which takes the flush requests. */
	struct trace_teller teller;
};

/* The offset between the kernel's CLOCK_BOOTTIME and wall-clock time. */
static int64_t boot_to_real(void)
{
	struct timespec boot;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (int64_t)trace_now_ns() -
	       ((int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec);
}

/* The teller's: the epoch on the kernel's clock, where the program reads
 * it. */
static void publish_epoch(void *arg, uint64_t epoch)
{
	struct trace_collector *c = arg;

	__atomic_store_n(&c->skel->bss->epoch,
			 trace_boot_epoch(epoch, boot_to_real()),
			 __ATOMIC_SEQ_CST);
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

/* The cgroup v2 id of the container whose init is PID: the inode number
 * of the directory of the cgroup liblxc made for it, and its level; never
 * of one below it, where its systemd moves itself (init.scope) and the
 * world may move its init: the processes outside that one would go
 * unrecorded, and uncounted (container-cgroup.h). */
static int cgroup_of(struct trace_collector *c, pid_t pid, uint64_t *id,
		     uint32_t *level)
{
	_cleanup_free_ char *in = NULL, *mon = NULL, *own = NULL, *dir = NULL;
	struct stat st;
	int r = container_cgroup_read(pid, &in, &mon);
	if (r < 0 || (r = container_cgroup_parse(in, mon, "", &own)) < 0)
		return r;
	*level = 0;
	for (const char *p = own; *p; p++)
		*level += *p == '/';
	if (!(dir = path_join(c->cgroup_root, own)))
		return -ENOMEM;
	if (stat(dir, &st) < 0)
		return -errno;
	*id = st.st_ino;
	return 0;
}


static int untrack(struct trace_collector *c, uint32_t slot)
{
	struct traced *t = c->slots[slot];
	int r;

	if (t->cgroup)
		bpf_map__delete_elem(c->skel->maps.tracked, &t->cgroup,
				     sizeof(t->cgroup), 0);
	else /* Root on the host */
		c->skel->bss->host_id = 0;
	/* Its records still in the ring buffer belong to it. */
	ring_buffer__consume(c->rb);
	r = traced_flush(t, true);
	traced_free(t);
	c->slots[slot] = NULL;
	return r;
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
	if (trace_start_ticks(pid, &started) < 0 || started <= c->attached)
		t->gap = true;
	if ((r = traced_open_table(c->s, t, err)) < 0) {
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

/* Root on a host: every process of the initial pid namespace outside
 * the traced cgroups (host_id in the program).  Its processes ran before
 * the programs were attached: its table is whole from its creation on (the
 * header's since), not before. */
static int track_host(struct trace_collector *c, struct world_error *err)
{
	struct traced *t;
	uint64_t zero = 0;
	uint32_t slot;
	int r;

	for (slot = 0; slot < TRACE_MAX_SLOTS && c->slots[slot]; slot++)
		;
	if (slot == TRACE_MAX_SLOTS)
		return werr(err, ENOSPC, "cannot trace Root: %d worlds traced already",
			    TRACE_MAX_SLOTS);
	if (!(t = calloc(1, sizeof(*t))) || !(t->name = strdup(WORLD_ROOT))) {
		free(t);
		return werr(err, ENOMEM, "out of memory");
	}
	t->fd = -1;
	t->seen = true;
	t->init_pid = 1;
	/* Root's directory in the state, as its container's has it. */
	if (mkdirat(c->s->worlds_fd, WORLD_ROOT, 0700) < 0 && errno != EEXIST) {
		r = errno;
		traced_free(t);
		return werr_errno(err, r, "cannot make the state of Root");
	}
	if ((r = traced_open_table(c->s, t, err)) < 0) {
		traced_free(t);
		return r;
	}
	t->id = slot | (++c->trackings % (UINT32_MAX / TRACE_MAX_SLOTS) + 1)
			       * TRACE_MAX_SLOTS;
	if (bpf_map__update_elem(c->skel->maps.lost, &slot, sizeof(slot), &zero,
				 sizeof(zero), 0) < 0) {
		r = -errno;
		traced_free(t);
		return werr_errno(err, -r, "cannot trace Root");
	}
	c->slots[slot] = t;
	c->skel->bss->self_tgid = (uint32_t)getpid();
	c->skel->bss->host_id = t->id;
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

		if (!names[i] && store_root_is_host(c->s)) {
			if ((t = find_traced(c, name)))
				t->seen = true;
			else if ((r = track_host(c, err)) < 0)
				return r;
			break;
		}
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


static int on_event(void *ctx, void *data, size_t size)
{
	struct trace_collector *c = ctx;
	const struct pwapt_event_hdr *h = data;
	const char *str[TRACE_NSTR] = {0}, *p = (const char *)(h + 1);
	_cleanup_free_ char *path = NULL, *path2 = NULL;
	size_t off = sizeof(*h);
	const char *kind;
	struct traced *t;
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
	path = trace_event_path(str[TRACE_DIR1], str[TRACE_NAME1]);
	if (h->kind == TRACE_SYMLINK) /* the target, as written */
		path2 = str[TRACE_NAME2] ? strdup(str[TRACE_NAME2]) : NULL;
	else if (str[TRACE_DIR2] || str[TRACE_NAME2])
		path2 = trace_event_path(str[TRACE_DIR2], str[TRACE_NAME2]);
	if (!path)
		return 0;
	if ((r = traced_add(t, kind, path, path2, h->tree,
			    h->time + c->boot_to_real,
			    trace_teller_epoch(&c->teller))) < 0)
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

	crash_pause("trace-tables");
	for (int i = 0; i < TRACE_MAX_SLOTS && r >= 0; i++)
		if (c->slots[i])
			r = traced_flush(c->slots[i], final);
	return r;
}

int trace_collector_poll(struct trace_collector *c, int timeout_ms,
			 struct world_error *err)
{
	/* The program wakes the collector only when its buffer fills up
	 * (see submit() there): what came meanwhile is read at the
	 * timeout, or at a flush request. */
	struct pollfd p[2] = {
		{.fd = ring_buffer__epoll_fd(c->rb), .events = POLLIN},
		{.fd = trace_teller_fd(&c->teller), .events = POLLIN}};
	int r;

	c->boot_to_real = boot_to_real();
	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
		return werr_errno(err, errno, "cannot wait for trace events");
	/* Taken before the ring buffer is read: every call that returned
	 * before a request was made put its record there already (at
	 * sys_exit).  Told already, by the teller, which read the worlds'
	 * creations as it took them. */
	if ((r = trace_teller_take(&c->teller, &c->flush)) < 0)
		return werr_errno(err, -r, "cannot read the worlds' creation");
	bool asked = r > 0;
	r = ring_buffer__consume(c->rb);
	if (r < 0 && r != -EINTR)
		return werr_errno(err, -r, "cannot read the trace's ring buffer");
	if (c->error < 0)
		return werr_errno(err, -c->error, "cannot record a trace event");
	if (asked || trace_ms_since(&c->last_sync) >= BATCH_MS) {
		clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
		r = flush_all(c, false);
		trace_flush_answer(&c->flush, r >= 0);
		if (r < 0)
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
	c->flush.fd = -1;
	c->teller = (struct trace_teller)TRACE_TELLER_INIT;
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
	if ((r = trace_lock_stamp(c->lock_fd)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot write %s", TRACE_LOCK);
	}
	if ((r = trace_flush_listen(s, &c->flush)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot make %s", TRACE_SOCKET);
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
	c->attached = trace_attached_ticks();
	c->boot_to_real = boot_to_real();
	if ((r = trace_teller_start(&c->teller, s, c->flush.fd, publish_epoch,
				    c)) < 0) {
		trace_collector_free(c);
		return werr_errno(err, -r, "cannot read the worlds' creation");
	}
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
	trace_teller_stop(&c->teller);
	if (c->rb) {
		ring_buffer__consume(c->rb);
		flush_all(c, true);
	}
	for (int i = 0; i < TRACE_MAX_SLOTS; i++)
		traced_free(c->slots[i]);
	ring_buffer__free(c->rb);
	pwapt_trace__destroy(c->skel);
	free(c->cgroup_root);
	trace_flush_release(c->s, &c->flush);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
}
