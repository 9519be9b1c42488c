/* The per-world trace tables (format in trace.h): reading them back, and
 * the header both the collector and the reader agree on. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "trace-table.h"

int trace_header_format(char buf[TRACE_HEADER_LEN + 1], const char *state,
			uint64_t lost, uint64_t since)
{
	return snprintf(buf, TRACE_HEADER_LEN + 1,
			"pwapt-trace 2 %-10s lost=%020" PRIu64
			" since=%020" PRIu64 "\n",
			state, lost, since);
}

int trace_header_parse(const char *line, char state[16], uint64_t *lost,
		       uint64_t *since)
{
	char st[16];
	uint64_t n, t;
	unsigned version;

	if (sscanf(line, "pwapt-trace %u ", &version) == 1 &&
	    version != TRACE_FORMAT)
		return -EPROTO;
	if (sscanf(line, "pwapt-trace 2 %15s lost=%" SCNu64 " since=%" SCNu64,
		   st, &n, &t) != 3 ||
	    (strcmp(st, "complete") && strcmp(st, "incomplete") &&
	     strcmp(st, "collecting")))
		return -EBADMSG;
	memcpy(state, st, sizeof(st));
	*lost = n;
	*since = t;
	return 0;
}

uint64_t trace_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int trace_lock_stamp(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", trace_now_ns());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return errno ? -errno : -EIO;
	return 0;
}

void trace_table_release(struct world_trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].kind);
		free(t->v[i].path);
		free(t->v[i].path2);
	}
	free(t->v);
	*t = (struct world_trace){0};
}

static bool kind_valid(const char *kind)
{
	for (int k = 1; k < TRACE_KIND_MAX; k++)
		if (!strcmp(kind, trace_kind_name(k)))
			return true;
	return false;
}

const char *trace_kind_name(int kind)
{
	static const char *const names[TRACE_KIND_MAX] = {
		[TRACE_READ] = "read",	       [TRACE_WRITE] = "write",
		[TRACE_CREATE] = "create",     [TRACE_MKDIR] = "mkdir",
		[TRACE_MKNOD] = "mknod",       [TRACE_DELETE] = "delete",
		[TRACE_RMDIR] = "rmdir",       [TRACE_RENAME] = "rename",
		[TRACE_LINK] = "link",	       [TRACE_SYMLINK] = "symlink",
		[TRACE_TRUNCATE] = "truncate", [TRACE_CHMOD] = "chmod",
		[TRACE_CHOWN] = "chown",       [TRACE_UTIMES] = "utimes",
		[TRACE_EXEC] = "exec",
	};
	return kind > 0 && kind < TRACE_KIND_MAX ? names[kind] : NULL;
}

/* Whether a collector runs; *STARTED: when it started (TRACE_LOCK), or
 * UINT64_MAX when that cannot be read (just started: nothing is whole). */
static bool collector_runs(struct world_store *s, uint64_t *started)
{
	_cleanup_close_ int fd =
		openat(s->state_fd, TRACE_LOCK, O_RDONLY | O_CLOEXEC);
	char buf[32], *end;
	ssize_t n;

	*started = UINT64_MAX;
	if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0 ||
	    errno != EWOULDBLOCK)
		return false;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 1 && buf[n - 1] == '\n') {
		buf[n - 1] = '\0';
		errno = 0;
		uint64_t t = strtoull(buf, &end, 10);
		if (!errno && *end == '\0' && end != buf)
			*started = t;
	}
	return true;
}

bool trace_collector_runs(struct world_store *s)
{
	uint64_t started;

	return collector_runs(s, &started);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno || *end || n > max)
		return false;
	*out = n;
	return true;
}

/* One "TIME TREE KIND PATH [PATH2]" line into E. */
static int parse_entry(char *line, struct world_trace_entry *e)
{
	char *save = NULL, *time = strtok_r(line, " ", &save);
	char *tree = strtok_r(NULL, " ", &save), *kind = strtok_r(NULL, " ", &save);
	char *p1 = strtok_r(NULL, " ", &save), *p2 = strtok_r(NULL, " ", &save);
	uint64_t t, pid;

	if (!kind || !p1 || strtok_r(NULL, " ", &save) || !kind_valid(kind) ||
	    !parse_u64(time, UINT64_MAX, &t) ||
	    !parse_u64(tree, UINT32_MAX, &pid))
		return -EBADMSG;
	*e = (struct world_trace_entry){0};
	e->time = t;
	e->tree = (uint32_t)pid;
	e->kind = strdup(kind);
	e->path = path_unescape(p1);
	e->path2 = p2 ? path_unescape(p2) : NULL;
	if (!e->kind || !e->path || (p2 && !e->path2) || e->path[0] != '/') {
		free(e->kind);
		free(e->path);
		free(e->path2);
		return -EBADMSG;
	}
	return 0;
}

int trace_table_parse(const char *name, char *text, size_t len,
		      struct world_trace *out, struct world_error *err)
{
	struct world_trace t = {0};
	size_t lineno = 1, cap = 0;
	char *line, *next;

	if (strlen(text) != len)
		return werr(err, EBADMSG, "trace of '%s': a NUL byte", name);
	next = strchr(text, '\n');
	int r = next ? trace_header_parse(text, t.state, &t.lost, &t.since)
		     : -EBADMSG;
	if (r == -EPROTO)
		return werr(err, EPROTO,
			    "trace of '%s': an older format (without times "
			    "and process trees), not used; the next collector "
			    "starts it anew",
			    name);
	if (r < 0)
		return werr(err, EBADMSG, "trace of '%s': bad header", name);
	for (line = next + 1; *line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (!next) {
			/* The last line, cut short by a crash mid-write: its
			 * access is lost. */
			t.lost++;
			t.since = 0;
			snprintf(t.state, sizeof(t.state), "incomplete");
			break;
		}
		*next++ = '\0';
		if (t.n == cap) {
			struct world_trace_entry *v;

			cap = cap ? 2 * cap : 64;
			if (!(v = realloc(t.v, cap * sizeof(*v)))) {
				trace_table_release(&t);
				return werr(err, ENOMEM, "out of memory");
			}
			t.v = v;
		}
		if (parse_entry(line, &t.v[t.n]) < 0) {
			trace_table_release(&t);
			return werr(err, EBADMSG, "trace of '%s': line %zu is damaged",
				    name, lineno);
		}
		t.n++;
	}
	*out = t;
	return 0;
}

int trace_table_load(struct world_store *s, const char *name,
		     struct world_trace *out, struct world_error *err)
{
	_cleanup_free_ char *rel = NULL, *text = NULL;
	size_t len;
	int r;

	if (asprintf(&rel, "%s/trace", name) < 0)
		return werr(err, ENOMEM, "out of memory");
	r = read_file_at(s->worlds_fd, rel, &text, &len);
	if (r == -ENOENT)
		return werr(err, ENOENT, "world '%s' has no trace table", name);
	if (r < 0)
		return werr_errno(err, -r, "cannot read the trace of '%s'", name);
	/* A collector that runs may be writing the last line as it is read:
	 * cut short, it is not yet written, not lost (a dead collector's cut
	 * line is, and the parser counts it). */
	uint64_t started;
	bool live = collector_runs(s, &started);
	if (live) {
		while (len > 0 && text[len - 1] != '\n')
			len--;
		text[len] = '\0';
	}
	if ((r = trace_table_parse(name, text, len, out, err)) < 0)
		return r;
	/* "collecting" without a collector: it died. */
	out->live = live;
	if (!strcmp(out->state, "collecting") && !out->live) {
		snprintf(out->state, sizeof(out->state), "incomplete");
		out->since = 0;
	}
	/* Not loaded by the collector that runs (it loads a world's table
	 * when the world runs, and makes it incomplete then): the world may
	 * have run while no collector ran. */
	if (out->live && out->since < started) {
		snprintf(out->state, sizeof(out->state), "incomplete");
		out->since = 0;
	}
	return 0;
}
