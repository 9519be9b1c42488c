/* What wdiff and wmerge warn about beyond the changes (warnings.h; wdiff(1),
 * "Warnings"), for world A against its ancestor B:
 *
 *  - derived files: a path A changed that a process tree of B read after A
 *    was created, and that tree wrote other paths since (the paper's Fig. 3:
 *    make reads the old prog.c in Root and writes prog.o, which after the
 *    merge looks newer than the new prog.c).  Paths the tree deleted again
 *    (temporary files) and API file systems are not named.
 *  - written on both sides: where both traces are whole since A's creation,
 *    a path B's trace shows written (created, deleted, renamed, chmod ...)
 *    after A was created is a conflict; a directory whose ctime alone said
 *    so (an entry added or removed in it: those are their own paths) is
 *    not.  A regular file's ctime stays a conflict: a write through a
 *    descriptor opened before A was created leaves no trace record.
 *  - held open or mapped: a path A changed that a process of B has open
 *    or mapped now (/proc/PID/fd, /proc/PID/maps).  B's processes: those
 *    of B's container (its init's pid namespace); for Root on a host, every
 *    process of pwapt's own pid namespace (a world's are in their own).
 *
 * A trace that is missing, damaged or incomplete since A's creation (lost
 * events, no collector running, tracing started after) becomes a note:
 * never a clean report.  A store where no collector ever ran has no notes
 * and its conflicts are judged by ctime alone, as before tracing. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "dbmerge.h"
#include "error.h"
#include "fsutil.h"
#include "strv.h"
#include "trace-table.h"
#include "warnings.h"

#define MAX_WRITTEN 64 /* paths named by one derived-file warning */

static int cmp_change(const void *key, const void *elem)
{
	return strcmp(key, ((const struct world_change *)elem)->path);
}

/* D's change of PATH when it is merged (not excluded, not checked off). */
static struct world_change *changed(struct world_diff *d, const char *path)
{
	struct world_change *c =
		bsearch(path, d->v, d->n, sizeof(*d->v), cmp_change);

	return c && !c->excluded && !c->checked_off ? c : NULL;
}

static size_t vlen(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Appends ITEM (malloc'd, taken over also on failure) to *V. */
static int vpush(char ***v, char *item)
{
	size_t n = vlen(*v);
	char **nv = item ? realloc(*v, (n + 2) * sizeof(*nv)) : NULL;

	if (!nv) {
		free(item);
		return -ENOMEM;
	}
	nv[n] = item;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

static int note(struct world_diff *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int note(struct world_diff *d, const char *fmt, ...)
{
	char *text;
	va_list ap;

	va_start(ap, fmt);
	int r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return vpush(&d->trace_notes, text);
}

static struct world_warning *add_warning(struct world_diff *d, char kind,
					 const char *path)
{
	struct world_warning *v =
		realloc(d->warnings, (d->n_warnings + 1) * sizeof(*v));

	if (!v)
		return NULL;
	d->warnings = v;
	v += d->n_warnings;
	*v = (struct world_warning){.kind = kind, .path = strdup(path)};
	if (!v->path)
		return NULL;
	d->n_warnings++;
	return v;
}

/* A table and what it tells of the time since A's creation. */
struct side_trace {
	struct world_trace t;
	bool loaded, whole;
};

/* Loads NAME's table; notes what makes it less than whole since CREATED
 * (ns).  SINCE_START: the world is A, whose table starts when it was first
 * traced, just after its creation: whole if never incomplete. */
static int load_side(struct world_store *s, const char *name, const char *a,
		     uint64_t created, bool since_start, struct side_trace *st,
		     struct world_diff *d)
{
	struct world_error err = {0};
	int r = trace_table_load(s, name, &st->t, &err);

	if (r == -ENOMEM)
		return r;
	if (r == -ENOENT)
		return note(d, "%s has no trace (%s): derived files and writes "
			       "since %s was created are not known",
			    name,
			    store_is_root(name) && store_root_is_host(s)
				    ? "no bpf collector traced it; audit cannot trace Root on a host"
				    : "not traced since it was created",
			    a);
	if (r < 0)
		return note(d, "the trace of %s cannot be used: %s", name,
			    err.msg);
	st->loaded = true;
	if (!st->t.live)
		return note(d, "the trace of %s is incomplete: no collector "
			       "runs (pwapt trace run)",
			    name);
	st->whole = since_start ? strcmp(st->t.state, "incomplete") != 0
				: st->t.since && st->t.since <= created;
	if (st->whole)
		return 0;
	if (st->t.lost)
		return note(d, "the trace of %s is incomplete since %s was "
			       "created: %" PRIu64 " accesses lost",
			    name, a, st->t.lost);
	return note(d, "the trace of %s is incomplete since %s was created: "
		       "it was not traced all the while",
		    name, a);
}

static bool is_kind(const struct world_trace_entry *e, const char *k)
{
	return !strcmp(e->kind, k);
}

/* The path E wrote (made, replaced), or NULL. */
static const char *written_by(const struct world_trace_entry *e)
{
	if (is_kind(e, "write") || is_kind(e, "create") ||
	    is_kind(e, "truncate") || is_kind(e, "symlink") ||
	    is_kind(e, "mknod"))
		return e->path;
	if (is_kind(e, "rename") || is_kind(e, "link"))
		return e->path2;
	return NULL;
}

/* Whether E changed PATH: wrote it, changed its metadata, or removed or
 * renamed it or a directory above it. */
static bool changes_path(const struct world_trace_entry *e, const char *path)
{
	const char *w = written_by(e);
	size_t len = strlen(e->path);

	if (w && !strcmp(w, path))
		return true;
	if (is_kind(e, "chmod") || is_kind(e, "chown") ||
	    is_kind(e, "utimes") || is_kind(e, "mkdir"))
		return !strcmp(e->path, path);
	if (is_kind(e, "delete") || is_kind(e, "rmdir") || is_kind(e, "rename"))
		return !strncmp(path, e->path, len) &&
		       (path[len] == '\0' || path[len] == '/');
	return false;
}

static bool api_path(const char *p)
{
	static const char *const api[] = {"/proc", "/sys", "/dev", "/run"};

	for (size_t i = 0; i < sizeof(api) / sizeof(*api); i++) {
		size_t n = strlen(api[i]);

		if (!strncmp(p, api[i], n) && (p[n] == '\0' || p[n] == '/'))
			return true;
	}
	return false;
}

static const struct world_trace *sort_table;

static int cmp_tree_time(const void *x, const void *y)
{
	const struct world_trace_entry *a = &sort_table->v[*(const size_t *)x],
				       *b = &sort_table->v[*(const size_t *)y];

	if (a->tree != b->tree)
		return a->tree < b->tree ? -1 : 1;
	return a->time < b->time ? -1 : a->time > b->time;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* What tree entries G[0..N) wrote from CREATED on, not deleted by it
 * afterwards, other than SKIP, into *W (appended, no repeats).  Before the
 * read or after it: a shell opens the output of `cat prog.c >prog.o`
 * before cat reads, and the tree's data flows after. */
static int tree_writes(const struct world_trace *t, const size_t *g, size_t n,
		       uint64_t created, const char *skip, char ***w)
{
	for (size_t i = 0; i < n; i++) {
		const struct world_trace_entry *e = &t->v[g[i]];
		const char *p = written_by(e);
		bool gone = false;

		if (!p || e->time < created || !strcmp(p, skip) || api_path(p))
			continue;
		for (size_t j = i + 1; j < n && !gone; j++) {
			const struct world_trace_entry *x = &t->v[g[j]];
			gone = (is_kind(x, "delete") ||
				(is_kind(x, "rename") && x->time >= e->time)) &&
			       !strcmp(x->path, p);
		}
		if (gone || strv_contains(*w, p) || vlen(*w) >= MAX_WRITTEN)
			continue;
		if (vpush(w, strdup(p)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Derived files: B's trees that read a path A changed after CREATED, and
 * then wrote others. */
static int find_derived(const struct world_trace *t, uint64_t created,
			struct world_diff *d)
{
	_cleanup_free_ size_t *idx = malloc((t->n + 1) * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		idx[i] = i;
	sort_table = t;
	qsort(idx, t->n, sizeof(*idx), cmp_tree_time);
	for (size_t start = 0, end; start < t->n; start = end) {
		for (end = start; end < t->n &&
				  t->v[idx[end]].tree == t->v[idx[start]].tree;
		     end++)
			;
		for (size_t i = start; i < end; i++) {
			const struct world_trace_entry *e = &t->v[idx[i]];
			_cleanup_strv_free_ char **w = NULL;
			struct world_warning *warn = NULL;

			if (!is_kind(e, "read") || e->time < created ||
			    !changed(d, e->path))
				continue;
			if (tree_writes(t, idx + start, end - start, created,
					e->path, &w) < 0)
				return -ENOMEM;
			if (!w)
				continue;
			for (size_t k = 0; k < d->n_warnings && !warn; k++)
				if (d->warnings[k].kind == WORLD_WARN_DERIVED &&
				    !strcmp(d->warnings[k].path, e->path))
					warn = &d->warnings[k];
			if (!warn &&
			    !(warn = add_warning(d, WORLD_WARN_DERIVED, e->path)))
				return -ENOMEM;
			for (char **p = w; *p; p++)
				if (!strv_contains(warn->written, *p) &&
				    vlen(warn->written) < MAX_WRITTEN &&
				    vpush(&warn->written, strdup(*p)) < 0)
					return -ENOMEM;
		}
	}
	for (size_t k = 0; k < d->n_warnings; k++)
		if (d->warnings[k].written)
			qsort(d->warnings[k].written,
			      vlen(d->warnings[k].written),
			      sizeof(char *), cmp_str);
	return 0;
}

/* Written on both sides, judged by B's trace T where both are whole. */
static void trace_conflicts(const struct world_trace *t, uint64_t created,
			    int fb, const char *name_b, struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct world_change *c = &d->v[i];
		bool written = false;

		if (c->excluded || c->checked_off || c->merged ||
		    dbmerge_known(c->path))
			continue;
		for (size_t k = 0; k < t->n && !written; k++)
			written = t->v[k].time >= created &&
				  changes_path(&t->v[k], c->path);
		if (written) {
			c->conflict = true;
			if (!c->note && asprintf(&c->note, "written in %s (traced)",
						 name_b) < 0)
				c->note = NULL;
		} else if (!written && c->conflict && !c->note && c->kind == 'M') {
			/* A directory whose entries changed: those are
			 * their own paths. */
			_cleanup_close_ int fd = open_beneath(
				fb, c->path[1] ? c->path + 1 : ".",
				O_PATH | O_NOFOLLOW);
			struct stat st;

			if (fd >= 0 && fstat(fd, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				c->conflict = false;
		}
	}
}

/* The pid namespace of B's processes, by inode; 0 when B runs none. */
static ino_t ns_of(struct world_store *s, const char *name_b)
{
	char proc[64];
	struct stat st;
	pid_t init;

	if (store_is_root(name_b) && store_root_is_host(s))
		snprintf(proc, sizeof(proc), "/proc/self/ns/pid");
	else if (container_running(s, name_b, &init))
		snprintf(proc, sizeof(proc), "/proc/%d/ns/pid", (int)init);
	else
		return 0;
	return stat(proc, &st) == 0 ? st.st_ino : 0;
}

static int held(struct world_diff *d, char kind, const char *path, int pid,
		const char *comm)
{
	struct world_change *c = changed(d, path);
	struct world_warning *w = NULL;

	if (!c || c->kind == 'A')
		return 0;
	for (size_t k = 0; k < d->n_warnings && !w; k++)
		if (d->warnings[k].kind == kind && !strcmp(d->warnings[k].path, path))
			w = &d->warnings[k];
	if (w) {
		w->n_pids += w->pid != pid;
		return 0;
	}
	if (!(w = add_warning(d, kind, path)) || !(w->command = strdup(comm)))
		return -ENOMEM;
	w->pid = pid;
	w->n_pids = 1;
	return 0;
}

/* One process's descriptors and mappings. */
static int scan_process(struct world_diff *d, int pid)
{
	char dir[64], link[PATH_MAX + 1], comm[64] = "?";
	_cleanup_free_ char *text = NULL;
	_cleanup_closedir_ DIR *fds = NULL;
	struct dirent *de;
	int r;

	snprintf(dir, sizeof(dir), "/proc/%d/comm", pid);
	if (read_file_at(AT_FDCWD, dir, &text, NULL) >= 0) {
		snprintf(comm, sizeof(comm), "%s", text);
		comm[strcspn(comm, "\n")] = '\0';
	}
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	if ((fds = opendir(dir))) {
		int dfd = dirfd(fds);

		while ((de = readdir(fds))) {
			ssize_t n = readlinkat(dfd, de->d_name, link, PATH_MAX);

			if (n <= 0 || link[0] != '/')
				continue;
			link[n] = '\0';
			if ((r = held(d, WORLD_WARN_OPEN, link, pid, comm)) < 0)
				return r;
		}
	}
	free(text);
	text = NULL;
	snprintf(dir, sizeof(dir), "/proc/%d/maps", pid);
	if (read_file_at(AT_FDCWD, dir, &text, NULL) < 0)
		return 0; /* gone, or not ours to read */
	for (char *line = text, *next; *line; line = next) {
		char *p;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		/* "start-end perms offset dev inode   PATH" */
		if (!(p = strchr(line, '/')) || strstr(p, " (deleted)"))
			continue;
		if ((r = held(d, WORLD_WARN_MAPPED, p, pid, comm)) < 0)
			return r;
	}
	return 0;
}

/* B's processes holding open or mapping paths A changed. */
static int find_held(struct world_store *s, const char *name_b,
		     struct world_diff *d)
{
	ino_t ns = ns_of(s, name_b);
	_cleanup_closedir_ DIR *proc = NULL;
	struct dirent *de;
	int r;

	if (!ns || !(proc = opendir("/proc")))
		return 0;
	while ((de = readdir(proc))) {
		char path[64];
		struct stat st;
		int pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
		if (pid == getpid() || stat(path, &st) < 0 || st.st_ino != ns)
			continue;
		if ((r = scan_process(d, pid)) < 0)
			return r;
	}
	return 0;
}

static bool store_traces(struct world_store *s)
{
	return faccessat(s->state_fd, TRACE_LOCK, F_OK, 0) == 0;
}

int diff_warnings(struct world_store *s, const struct world_meta *a,
		  const char *name_a, const char *name_b, int fb,
		  struct world_diff *d)
{
	uint64_t created = (uint64_t)a->created * 1000000000u +
			   (uint64_t)a->created_ns;
	struct side_trace ta = {0}, tb = {0};
	int r = find_held(s, name_b, d);

	if (r < 0 || !store_traces(s))
		return r;
	d->conflicts_by = "ctime";
	if ((r = load_side(s, name_b, name_a, created, false, &tb, d)) < 0 ||
	    (r = load_side(s, name_a, name_a, created, true, &ta, d)) < 0)
		goto out;
	if (tb.loaded && (r = find_derived(&tb.t, created, d)) < 0)
		goto out;
	if (ta.whole && tb.whole) {
		trace_conflicts(&tb.t, created, fb, name_b, d);
		d->conflicts_by = "trace and ctime";
	}
out:
	if (ta.loaded)
		trace_table_release(&ta.t);
	if (tb.loaded)
		trace_table_release(&tb.t);
	return r;
}

void diff_warnings_release(struct world_diff *d)
{
	for (size_t i = 0; i < d->n_warnings; i++) {
		free(d->warnings[i].path);
		strvfreep(&d->warnings[i].written);
		free(d->warnings[i].command);
	}
	free(d->warnings);
	strvfreep(&d->trace_notes);
	d->warnings = NULL;
	d->n_warnings = 0;
	d->trace_notes = NULL;
}
