/* The tables a collector writes (trace-writer.h): deduplicated lines,
 * appended in batches, the header rewritten in place.
 *
 * Durability: new lines are appended, and each table is fsynced, then its
 * header rewritten in place and fsynced, at most every batch of the
 * collector; a collector killed in between leaves "collecting" in the
 * header, which readers take for incomplete. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "trace-writer.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Adds LINE (taken over) at TIME unless present with a time from EPOCH
 * on: 1 added (a line present before EPOCH gets TIME; LINE is then
 * freed), 0 present (LINE not taken), < 0 error. */
static int line_set_add(struct line_set *set, char *line, uint64_t time,
			uint64_t epoch)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 1024;
		char **v = calloc(cap, sizeof(*v));
		uint64_t *tv = calloc(cap, sizeof(*tv));

		if (!v || !tv) {
			free(v);
			free(tv);
			return -ENOMEM;
		}
		for (size_t j = 0; j < set->cap; j++) {
			if (!set->v[j])
				continue;
			for (i = hash_str(set->v[j]) & (cap - 1); v[i];
			     i = (i + 1) & (cap - 1))
				;
			v[i] = set->v[j];
			tv[i] = set->time[j];
		}
		free(set->v);
		free(set->time);
		set->v = v;
		set->time = tv;
		set->cap = cap;
	}
	for (i = hash_str(line) & (set->cap - 1); set->v[i];
	     i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->v[i], line)) {
			if (set->time[i] >= epoch)
				return 0;
			if (time > set->time[i])
				set->time[i] = time;
			free(line);
			return 1;
		}
	set->v[i] = line;
	set->time[i] = time;
	set->n++;
	return 1;
}

/* Whether LINE is in SET with a time from EPOCH on: 0 present, 1 not
 * (or present from before EPOCH: line_set_add() then updates its time). */
static int line_set_find(struct line_set *set, const char *line,
			 uint64_t epoch)
{
	if (!set->cap)
		return 1;
	for (size_t i = hash_str(line) & (set->cap - 1); set->v[i];
	     i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->v[i], line))
			return set->time[i] >= epoch ? 0 : 1;
	return 1;
}

static void line_set_release(struct line_set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->v[i]);
	free(set->v);
	free(set->time);
	*set = (struct line_set){0};
}

static int append_pending(struct traced *t, const char *line, size_t len)
{
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

	/* A loss seen now happened since the last header: the table is
	 * whole only from now on. */
	if (lost != t->lost_flushed) {
		t->since = trace_now_ns();
		t->lost_flushed = lost;
	}
	trace_header_format(header, state, lost, t->since);
	if (pwrite(t->fd, header, TRACE_HEADER_LEN, 0) != TRACE_HEADER_LEN)
		return errno ? -errno : -EIO;
	if (fdatasync(t->fd) < 0)
		return -errno;
	t->header_state = state;
	return 0;
}

/* Lines appended while collecting reach the disk at most SYNC_MS later
 * (the journal of ext4 commits every 5 s by itself): a sync at each batch
 * forced a commit of the journal, with whatever the worlds' own work had
 * in it, 5 times a second.  Nothing depends on sooner: until the final
 * header the table says "collecting", which readers take for incomplete,
 * and after a crash the next collector marks it incomplete (a gap). */
#define SYNC_MS 5000

/* Appends the pending lines, and rewrites the header when it changed;
 * fdatasync()s at most every SYNC_MS, and always when FINAL (the lines,
 * then the header).  Nothing when there is nothing new: a batch of an
 * idle world costs no write and no sync of the disk. */
int traced_flush(struct traced *t, bool final)
{
	uint64_t lost = t->lost_base + t->lost, now;
	bool header_same = t->header_state && lost == t->lost_flushed &&
			   !strcmp(t->header_state,
				   lost || t->gap ? "incomplete" : "collecting");
	size_t done = 0;

	if (!final && !t->pending_len && header_same && !t->unsynced)
		return 0;
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
	if (t->pending_len) {
		crash_point("trace-appended");
		t->unsynced = true;
	}
	t->pending_len = 0;
	now = trace_now_ns();
	if (final || !header_same) {
		/* The lines are on the disk before a header that counts
		 * them. */
		if (fdatasync(t->fd) < 0)
			return -errno;
		t->unsynced = false;
		t->synced_at = now;
		return write_header(t, final);
	}
	if (t->unsynced && now - t->synced_at >= SYNC_MS * 1000000ull) {
		if (fdatasync(t->fd) < 0)
			return -errno;
		t->unsynced = false;
		t->synced_at = now;
	}
	return 0;
}

static int create_table(struct world_store *s, struct traced *t,
			const char *rel, struct world_error *err)
{
	char header[TRACE_HEADER_LEN + 1];

	t->fd = openat(s->worlds_fd, rel,
		       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (t->fd < 0)
		return werr_errno(err, errno, "cannot create %s", rel);
	t->since = trace_now_ns();
	trace_header_format(header, t->gap ? "incomplete" : "collecting", 0,
			    t->since);
	t->size = TRACE_HEADER_LEN;
	if (write(t->fd, header, TRACE_HEADER_LEN) != TRACE_HEADER_LEN ||
	    fsync(t->fd) < 0 || fsync(s->worlds_fd) < 0)
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
	t->lost_base = t->lost_flushed = parsed.lost;
	/* Loaded again: the world ran untraced in between (t->gap). */
	t->since = trace_now_ns();
	trace_table_release(&parsed);
	while (keep > 0 && text[keep - 1] != '\n')
		keep--;
	text[keep] = '\0'; /* a cut last line: counted lost by the parser */
	t->size = keep;
	for (char *line = text + TRACE_HEADER_LEN, *next; *line; line = next) {
		char *owned, *key;

		next = strchr(line, '\n');
		*next++ = '\0';
		/* "TIME KEY", checked by the parser. */
		uint64_t time = strtoull(line, &key, 10);
		int r = (owned = strdup(key + 1))
				? line_set_add(&t->lines, owned, time, UINT64_MAX)
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
int traced_open_table(struct world_store *s, struct traced *t,
		      struct world_error *err)
{
	_cleanup_free_ char *rel = NULL, *aside = NULL, *text = NULL;
	size_t len;
	int r;

	if (asprintf(&rel, "%s/trace", t->name) < 0 ||
	    asprintf(&aside, "%s/trace.damaged", t->name) < 0)
		return werr(err, ENOMEM, "out of memory");
	r = read_file_at(s->worlds_fd, rel, &text, &len);
	if (r == -ENOENT)
		return create_table(s, t, rel, err);
	if (r < 0)
		return werr_errno(err, -r, "cannot read %s", rel);
	t->gap = true;
	r = load_lines(t, text, len);
	if (r == -ENOMEM)
		return werr(err, ENOMEM, "out of memory");
	if (r < 0) {
		line_set_release(&t->lines);
		t->lost_base = 0;
		if (renameat(s->worlds_fd, rel, s->worlds_fd, aside) < 0)
			return werr_errno(err, errno, "cannot move %s aside",
					  rel);
		return create_table(s, t, rel, err);
	}
	t->fd = openat(s->worlds_fd, rel, O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return werr_errno(err, errno, "cannot open %s", rel);
	if ((off_t)len > t->size && ftruncate(t->fd, t->size) < 0)
		return werr_errno(err, errno, "cannot truncate %s", rel);
	r = write_header(t, false);
	return r < 0 ? werr_errno(err, -r, "cannot write %s", rel) : 0;
}

void traced_free(struct traced *t)
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

/* When process PID started, in clock ticks since boot. */
int trace_start_ticks(pid_t pid, unsigned long long *ticks)
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
char *trace_event_path(const char *dir, const char *name)
{
	if (!name)
		return dir ? join_canonical("/", dir) : NULL;
	if (!*name && dir)
		return join_canonical("/", dir);
	return join_canonical(dir ? dir : "/", name);
}
/* Appends PATH escaped as path_escape() writes it (fsutil.h) to BUF at
 * *LEN, within CAP: false when it does not fit. */
static bool put_escaped(char *buf, size_t cap, size_t *len, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = *len;

	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (n + 4 > cap)
			return false;
		if (*c <= ' ' || *c == '%' || *c == 0x7f) {
			buf[n++] = '%';
			buf[n++] = hex[*c >> 4];
			buf[n++] = hex[*c & 15];
		} else {
			buf[n++] = (char)*c;
		}
	}
	*len = n;
	return true;
}

/* "TIME TREE KIND PATH [PATH2]" into BUF (CAP bytes), NUL-terminated:
 * its length, with *KEY where TREE starts; 0 when it does not fit. */
static size_t format_line(char *buf, size_t cap, size_t *key, const char *kind,
			  const char *path, const char *path2, uint32_t tree,
			  uint64_t time)
{
	size_t len = (size_t)snprintf(buf, cap, "%" PRIu64 " ", time);

	*key = len;
	len += (size_t)snprintf(buf + len, cap - len, "%" PRIu32 " %s ", tree, kind);
	if (len >= cap || !put_escaped(buf, cap, &len, path))
		return 0;
	if (path2) {
		if (len + 2 > cap)
			return 0;
		buf[len++] = ' ';
		if (!put_escaped(buf, cap, &len, path2))
			return 0;
	}
	if (len >= cap)
		return 0;
	buf[len] = '\0';
	return len;
}

int traced_add(struct traced *t, const char *kind, const char *path,
	       const char *path2, uint32_t tree, uint64_t time, uint64_t epoch)
{
	/* Formatted on the stack: a repeated line costs no allocation.  A
	 * longer one (each byte escaped is 3) on the heap. */
	char stack[2 * 4096 + 128], *buf = stack, *line;
	_cleanup_free_ char *heap = NULL;
	size_t len, key;
	int r;

	len = format_line(buf, sizeof(stack), &key, kind, path, path2, tree, time);
	if (!len) {
		size_t cap = 64 + strlen(kind) +
			     3 * (strlen(path) + (path2 ? strlen(path2) : 0)) + 8;

		if (!(buf = heap = malloc(cap)))
			return -ENOMEM;
		if (!(len = format_line(buf, cap, &key, kind, path, path2, tree, time)))
			return -ENOMEM; /* cannot happen: CAP is enough */
	}
	r = line_set_find(&t->lines, buf + key, epoch);
	if (r <= 0)
		return r;
	if (!(line = strndup(buf + key, len - key)))
		return -ENOMEM;
	r = line_set_add(&t->lines, line, time, epoch);
	if (r <= 0) {
		free(line);
		return r;
	}
	r = append_pending(t, buf, len);
	return r < 0 ? r : 1;
}

unsigned long long trace_attached_ticks(void)
{
	const long hz = sysconf(_SC_CLK_TCK);
	const long tick_ns = 1000000000 / hz;
	struct timespec now;

	clock_gettime(CLOCK_BOOTTIME, &now);
	/* Rounded up: a container started in the same tick counts as
	 * started before. */
	unsigned long long attached =
		(unsigned long long)now.tv_sec * hz +
		((unsigned long long)now.tv_nsec * hz + 999999999) / 1000000000;
	/* A process's start is told in whole ticks, rounded down: one that
	 * starts in the tick ATTACHED, even after the programs were
	 * attached, would read as started before.  Wait past that tick, so
	 * that a container started after this returns reads as started
	 * after (a world made at once by the wcreate that started the
	 * collector was taken for untraced now and then). */
	for (;;) {
		clock_gettime(CLOCK_BOOTTIME, &now);
		unsigned long long tick =
			(unsigned long long)now.tv_sec * hz +
			(unsigned long long)now.tv_nsec / tick_ns;
		if (tick > attached)
			return attached;
		struct timespec rest = {0,
					tick_ns - now.tv_nsec % tick_ns + 1000};
		nanosleep(&rest, NULL);
	}
}

/* The latest trace_from of the worlds of S into C, read again only when
 * worlds/ changed since C's stamp. */
static int latest_creation(struct world_store *s, struct trace_epoch_cache *c)
{
	_cleanup_strv_free_ char **names = NULL;
	struct stat st;
	uint64_t latest = 0;
	bool all = true;
	int r;

	if (fstat(s->worlds_fd, &st) < 0)
		return -errno;
	/* The link count too: a world made after the clock stepped back
	 * onto the stamp's second, on a file system of whole seconds, adds
	 * one where subdirectories count (ext4, xfs, tmpfs; not btrfs). */
	if (st.st_mtim.tv_sec == c->stamp.tv_sec &&
	    st.st_mtim.tv_nsec == c->stamp.tv_nsec && st.st_nlink == c->nlink)
		return 0;
	if ((r = store_world_names(s, &names)) < 0)
		return r;
	for (size_t i = 0; names[i]; i++) {
		struct world_meta m = {0};

		if (meta_load(s, names[i], &m, NULL) < 0) {
			all = false; /* being made or deleted: look again */
			continue;
		}
		uint64_t from = meta_trace_from(&m);
		if (from > latest)
			latest = from;
		meta_release(&m);
	}
	/* A stamp is trusted once it is older than the file system's clock
	 * tick could be (a second: ext4's small inodes): a world made in
	 * the same tick as the stamp was read may leave the directory's
	 * mtime as it was where the kernel has no multigrain timestamps
	 * (Debian 12's 6.1), and would stay unseen until the next creation
	 * ("racy git").  Until then every call reads the worlds again. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (all && (now.tv_sec - st.st_mtim.tv_sec > 2 ||
		    (now.tv_sec - st.st_mtim.tv_sec == 2 &&
		     now.tv_nsec >= st.st_mtim.tv_nsec))) {
		c->stamp = st.st_mtim;
		c->nlink = st.st_nlink;
	}
	if (latest > c->latest)
		c->latest = latest;
	return 0;
}

bool trace_mark_stale(struct world_store *s, const char *name,
		      const struct timespec *marked)
{
	const int fresh_s = TRACE_CREATING_S - 2;
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	int64_t ms = ((int64_t)now.tv_sec - marked->tv_sec) * 1000 +
		     (now.tv_nsec - marked->tv_nsec) / 1000000;
	return (ms >= fresh_s * 1000 ||
		!store_creating_within(s, name, fresh_s)) &&
	       trace_collector_runs(s);
}

/* Whether a world is being made whose trace_from is not known yet: its
 * marker is recent and its metadata not written (or unreadable). */
static bool creation_unknown(struct world_store *s)
{
	_cleanup_strv_free_ char **marked = NULL;

	if (store_creating_recent(s, TRACE_CREATING_S, &marked) < 0)
		return true; /* cannot tell: drop nothing */
	for (size_t i = 0; marked[i]; i++) {
		struct world_meta m = {0};

		if (meta_load(s, marked[i], &m, NULL) < 0)
			return true;
		meta_release(&m);
	}
	return false;
}

int trace_epoch(struct world_store *s, struct trace_epoch_cache *c,
		uint64_t *epoch)
{
	/* The markers first: a world whose metadata is written by then is
	 * among those latest_creation() reads after. */
	bool unknown = creation_unknown(s);
	int r = latest_creation(s, c);

	if (r < 0)
		return r;
	*epoch = unknown ? UINT64_MAX : c->latest;
	return 0;
}

uint64_t trace_boot_epoch(uint64_t epoch, int64_t boot_to_real)
{
	if (epoch == UINT64_MAX)
		return UINT64_MAX;
	if (boot_to_real >= 0)
		return epoch > (uint64_t)boot_to_real
			       ? epoch - (uint64_t)boot_to_real
			       : 0;
	uint64_t add = (uint64_t)(-(boot_to_real + 1)) + 1;
	return epoch > UINT64_MAX - 1 - add ? UINT64_MAX - 1 : epoch + add;
}
