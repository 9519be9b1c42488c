/* What wdiff and wmerge warn about beyond the changes (warnings.h; wdiff(1),
 * "Warnings"), for world A against its ancestor B:
 *
 *  - derived files: a path A changed that a process tree of B read after A
 *    was created, and that tree wrote other paths since (the paper's Fig. 3:
 *    make reads the old prog.c in Root and writes prog.o, which after the
 *    merge looks newer than the new prog.c).  Paths the tree deleted again
 *    (temporary files) and API file systems are not named; one renamed
 *    since, by any tree, is named where it went.  A descriptor that a
 *    process of B held open when A was created (trace-held.h) counts as
 *    a read then, or as a write since when its file changed since.
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
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "dbmerge.h"
#include "diff.h"
#include "error.h"
#include "fsutil.h"
#include "procs.h"
#include "strv.h"
#include "trace-flush.h"
#include "trace-held.h"
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

/* An entry's path and time, sortable by path, then time; for a rename,
 * where PATH went (TO). */
struct pt {
	const char *path;
	uint64_t time;
	const char *to;
};

static int cmp_pt(const void *x, const void *y)
{
	const struct pt *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c ? c : (a->time < b->time ? -1 : a->time > b->time);
}

/* The first entry of PATH in V (N, sorted), or where it would be. */
static size_t pt_first(const struct pt *v, size_t n, const char *path)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether V (N, sorted) holds PATH at a time from AT on. */
static bool pt_has(const struct pt *v, size_t n, const char *path, uint64_t at)
{
	for (size_t i = pt_first(v, n, path); i < n && !strcmp(v[i].path, path);
	     i++)
		if (v[i].time >= at)
			return true;
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

/* The renames of T (FROM at TIME became TO), sorted by path and time,
 * into *V (N). */
static int renames(const struct world_trace *t, struct pt **v, size_t *n)
{
	*n = 0;
	if (!(*v = malloc((t->n + 1) * sizeof(**v))))
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		if (is_kind(&t->v[i], "rename") && t->v[i].path2)
			(*v)[(*n)++] = (struct pt){t->v[i].path, t->v[i].time,
						   t->v[i].path2};
	qsort(*v, *n, sizeof(**v), cmp_pt);
	return 0;
}

/* Where PATH, written at AT, went by the renames of MV (N) since, by any
 * tree: a later, separate command (an install step) that moves a build's
 * temporary output into place.  At most 16 of them. */
static const char *renamed_to(const struct pt *mv, size_t n, const char *path,
			      uint64_t at)
{
	for (int hops = 0; hops < 16; hops++) {
		size_t i = pt_first(mv, n, path);

		while (i < n && !strcmp(mv[i].path, path) && mv[i].time < at)
			i++;
		if (i == n || strcmp(mv[i].path, path))
			break;
		path = mv[i].to;
		at = mv[i].time;
	}
	return path;
}

/* What the tree of entries G[0..N) wrote from CREATED on and did not
 * delete or rename away afterwards (temporary files), API file systems
 * left out, each where another tree's renames (MV, N_MV) took it since:
 * into *W, sorted, each once.  Before its reads or after them: a shell
 * opens the output of `cat prog.c >prog.o` before cat reads, and the
 * tree's data flows after. */
static int tree_writes(const struct world_trace *t, const size_t *g, size_t n,
		       const struct pt *mv, size_t n_mv, uint64_t created,
		       char ***w)
{
	_cleanup_free_ struct pt *gone = malloc((n + 1) * sizeof(*gone));
	size_t n_gone = 0, n_w = 0;

	if (!gone)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct world_trace_entry *e = &t->v[g[i]];

		if (is_kind(e, "delete") || is_kind(e, "rename"))
			gone[n_gone++] = (struct pt){e->path, e->time, NULL};
	}
	qsort(gone, n_gone, sizeof(*gone), cmp_pt);
	for (size_t i = 0; i < n; i++) {
		const struct world_trace_entry *e = &t->v[g[i]];
		const char *p = written_by(e);

		if (!p || e->time < created || pt_has(gone, n_gone, p, e->time))
			continue;
		p = renamed_to(mv, n_mv, p, e->time);
		if (api_path(p))
			continue;
		if (vpush(w, strdup(p)) < 0)
			return -ENOMEM;
		n_w++;
	}
	if (!n_w)
		return 0;
	qsort(*w, n_w, sizeof(char *), cmp_str);
	size_t k = 1; /* each once */
	for (size_t i = 1; i < n_w; i++) {
		if (!strcmp((*w)[i], (*w)[k - 1]))
			free((*w)[i]);
		else
			(*w)[k++] = (*w)[i];
	}
	(*w)[k] = NULL;
	return 0;
}

/* Adds W but SKIP to WARN's written paths, at most MAX_WRITTEN. */
static int add_written(struct world_warning *warn, char *const *w,
		       const char *skip)
{
	for (; *w; w++) {
		if (!strcmp(*w, skip) || strv_contains(warn->written, *w))
			continue;
		if (vlen(warn->written) >= MAX_WRITTEN)
			break;
		if (vpush(&warn->written, strdup(*w)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Derived files: B's trees that read a path A changed after CREATED, and
 * wrote others since. */
static int find_derived(const struct world_trace *t, uint64_t created,
			struct world_diff *d)
{
	_cleanup_free_ size_t *idx = malloc((t->n + 1) * sizeof(*idx));
	/* The warning of each change, by its index in D: 0 none, else 1 +
	 * the warning's index. */
	_cleanup_free_ size_t *warn_of = calloc(d->n + 1, sizeof(*warn_of));
	_cleanup_free_ struct pt *mv = NULL;
	size_t n_mv;

	if (!idx || !warn_of || renames(t, &mv, &n_mv) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		idx[i] = i;
	sort_table = t;
	qsort(idx, t->n, sizeof(*idx), cmp_tree_time);
	for (size_t start = 0, end; start < t->n; start = end) {
		_cleanup_strv_free_ char **w = NULL;
		bool computed = false;

		for (end = start; end < t->n &&
				  t->v[idx[end]].tree == t->v[idx[start]].tree;
		     end++)
			;
		for (size_t i = start; i < end; i++) {
			const struct world_trace_entry *e = &t->v[idx[i]];
			struct world_change *c;

			if (!is_kind(e, "read") || e->time < created ||
			    !(c = changed(d, e->path)))
				continue;
			if (!computed &&
			    tree_writes(t, idx + start, end - start, mv, n_mv,
					created, &w) < 0)
				return -ENOMEM;
			computed = true;
			/* Something besides the path itself. */
			if (!w || (!w[1] && !strcmp(w[0], e->path)))
				continue;
			size_t ci = (size_t)(c - d->v);
			if (!warn_of[ci]) {
				if (!add_warning(d, WORLD_WARN_DERIVED, e->path))
					return -ENOMEM;
				warn_of[ci] = d->n_warnings;
			}
			if (add_written(&d->warnings[warn_of[ci] - 1], w,
					e->path) < 0)
				return -ENOMEM;
		}
	}
	for (size_t k = 0; k < d->n_warnings; k++)
		if (d->warnings[k].written)
			qsort(d->warnings[k].written,
			      vlen(d->warnings[k].written), sizeof(char *),
			      cmp_str);
	return 0;
}

/* Whether PATH or a directory above it is in GONE (N, sorted) from AT
 * on. */
static bool gone_at_or_above(const struct pt *gone, size_t n,
			     const char *path, uint64_t at)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;

	if (!p)
		return true; /* cannot tell: say written */
	for (;;) {
		if (pt_has(gone, n, p, at))
			return true;
		if (!(slash = strrchr(p, '/')) || slash == p)
			return false;
		*slash = '\0';
	}
}

/* Written on both sides, judged by B's trace T where both are whole. */
static int trace_conflicts(const struct world_trace *t, uint64_t created,
			   const char *name_b, struct world_diff *d)
{
	_cleanup_free_ struct pt *w = malloc((t->n + 1) * sizeof(*w)),
				 *gone = malloc((t->n + 1) * sizeof(*gone));
	size_t n_w = 0, n_gone = 0;

	if (!w || !gone)
		return -ENOMEM;
	for (size_t k = 0; k < t->n; k++) {
		const struct world_trace_entry *e = &t->v[k];
		const char *p = written_by(e);

		if (e->time < created)
			continue;
		if (p)
			w[n_w++] = (struct pt){p, e->time, NULL};
		else if (is_kind(e, "chmod") || is_kind(e, "chown") ||
			 is_kind(e, "utimes") || is_kind(e, "mkdir"))
			w[n_w++] = (struct pt){e->path, e->time, NULL};
		if (is_kind(e, "delete") || is_kind(e, "rmdir") ||
		    is_kind(e, "rename"))
			gone[n_gone++] = (struct pt){e->path, e->time, NULL};
	}
	qsort(w, n_w, sizeof(*w), cmp_pt);
	qsort(gone, n_gone, sizeof(*gone), cmp_pt);
	for (size_t i = 0; i < d->n; i++) {
		struct world_change *c = &d->v[i];

		if (c->excluded || c->checked_off || c->merged ||
		    dbmerge_known(c->path))
			continue;
		bool written = pt_has(w, n_w, c->path, created) ||
			       gone_at_or_above(gone, n_gone, c->path, created);
		if (written) {
			c->conflict = true;
			if (!c->note && asprintf(&c->note, "written in %s (traced)",
						 name_b) < 0)
				c->note = NULL;
		}
		/* A directory that only its ctime says B changed stays a
		 * conflict: its entries are their own paths, but its
		 * xattrs and ACLs (setxattr is not traced) are not. */
	}
	return 0;
}

static int held(struct world_diff *d, char kind, const char *path,
		const struct proc *p)
{
	struct world_change *c = changed(d, path);
	struct world_warning *w = NULL;

	if (!c || c->kind == 'A')
		return 0;
	for (size_t k = 0; k < d->n_warnings && !w; k++)
		if (d->warnings[k].kind == kind && !strcmp(d->warnings[k].path, path))
			w = &d->warnings[k];
	if (w) {
		w->n_pids += w->pid != p->nspid;
		return 0;
	}
	if (!(w = add_warning(d, kind, path)) ||
	    !(w->command = strdup(p->comm)))
		return -ENOMEM;
	w->pid = p->nspid;
	w->host_pid = p->pid;
	w->n_pids = 1;
	return 0;
}

/* B's processes holding open or mapping paths A changed: those of its
 * container's pid namespace, or for Root on a host pwapt's own (read as
 * procs.c reads them: bounded, nothing of them trusted). */
static int find_held(struct world_store *s, const char *name_b,
		     struct world_diff *d)
{
	struct proc_table t = {0};
	pid_t init = 0;
	int r;
	bool any = false;

	/* Only a path B has can be held there (held()): where A only adds,
	 * no process of B's is read, nor B's container asked about. */
	for (size_t i = 0; i < d->n && !any; i++)
		any = d->v[i].kind != 'A' && !d->v[i].excluded &&
		      !d->v[i].checked_off;
	if (!any)
		return 0;
	if (!(store_is_root(name_b) && store_root_is_host(s)) &&
	    !container_running(s, name_b, &init))
		return 0;
	r = procs_scan(init, PROCS_FILES | PROCS_FDS, &t);
	if (r == -ESRCH)
		return 0; /* stopped meanwhile */
	for (size_t i = 0; r >= 0 && i < t.n; i++) {
		const struct proc *p = &t.v[i];

		if (p->pid == getpid())
			continue;
		for (size_t k = 0; r >= 0 && k < p->n_files; k++)
			if (!p->files[k].deleted)
				r = held(d,
					 p->files[k].open ? WORLD_WARN_OPEN
							  : WORLD_WARN_MAPPED,
					 p->files[k].path, p);
	}
	procs_release(&t);
	return r < 0 ? r : 0;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/* The tree of T that H's process belongs to: the nearest of its chain
 * that T names (the BPF backend names the chain's top, the audit backend
 * the oldest process it saw), else the top.  TREES: T's trees, sorted. */
static uint32_t held_tree(const struct trace_held_fd *h, const uint32_t *trees,
			  size_t n)
{
	for (size_t i = 0; i < h->n_chain; i++)
		if (n &&
		    bsearch(&h->chain[i], trees, n, sizeof(*trees), cmp_u32))
			return h->chain[i];
	return h->chain[h->n_chain - 1];
}

/* Appends an access of KIND to PATH by TREE at AT to T. */
static int trace_add(struct world_trace *t, const char *kind, const char *path,
		     uint32_t tree, uint64_t at)
{
	struct world_trace_entry *v = realloc(t->v, (t->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	t->v = v;
	v += t->n;
	*v = (struct world_trace_entry){.time = at,
					.tree = tree,
					.kind = strdup(kind),
					.path = strdup(path)};
	if (!v->kind || !v->path) {
		free(v->kind);
		free(v->path);
		return -ENOMEM;
	}
	t->n++;
	return 0;
}

/* Whether B's file at PATH (tree FB) changed after A was created; never
 * following a symbolic link of B's. */
static bool written_since(int fb, const char *path, const struct world_meta *a)
{
	_cleanup_close_ int fd = open_beneath(fb, path + 1, O_PATH);
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       diff_after_creation(a, &st.st_ctim);
}

/* The descriptors B's processes held open when A was created (trace-
 * held.h), as accesses of B's table T: one reading a path A changed as a
 * read at the creation, one writing a file written since as a write. */
static int held_at_creation(struct world_store *s, const struct world_meta *a,
			    const char *name_a, const char *name_b, int fb,
			    uint64_t created, struct world_trace *t,
			    struct world_diff *d)
{
	struct trace_held h = {0};
	_cleanup_free_ uint32_t *trees = malloc((t->n + 1) * sizeof(*trees));
	size_t n_trees = 0;
	int r = trees ? trace_held_load(s, name_a, &h) : -ENOMEM;

	if (r == -ENOMEM)
		return r;
	if (r < 0 || !strv_contains(h.parents.v, name_b)) {
		trace_held_release(&h);
		return note(d,
			    "the files that processes of %s held open when "
			    "%s was created %s: what they read or wrote "
			    "through them is not known",
			    name_b, name_a,
			    r == -ENOENT || r >= 0 ? "were not recorded"
						   : "cannot be read");
	}
	if (!h.complete)
		r = note(d,
			 "the files that processes of %s held open when %s "
			 "was created could not all be read: what they "
			 "read or wrote through them is not known",
			 name_b, name_a);
	for (size_t i = 0; i < t->n; i++)
		trees[n_trees++] = t->v[i].tree;
	qsort(trees, n_trees, sizeof(*trees), cmp_u32);
	for (size_t i = 0; r >= 0 && i < h.n; i++) {
		const struct trace_held_fd *f = &h.v[i];
		uint32_t tree = held_tree(f, trees, n_trees);

		if (strcmp(f->parent, name_b) || api_path(f->path))
			continue;
		if (f->reads && changed(d, f->path))
			r = trace_add(t, "read", f->path, tree, created);
		if (r >= 0 && f->writes && written_since(fb, f->path, a))
			r = trace_add(t, "write", f->path, tree, created);
	}
	trace_held_release(&h);
	return r;
}

/* Asks the running collector to write what it has received (trace-
 * flush.h): a note when it could not be sure to; false then. */
static int flush_tables(struct world_store *s, struct world_diff *d,
			bool *flushed)
{
	int r = trace_flush_request(s, TRACE_FLUSH_TIMEOUT_MS);

	*flushed = r >= 0;
	if (r == -ETIMEDOUT)
		return note(d,
			    "the trace collector did not answer within "
			    "%d s (stopped, stuck, or older than this "
			    "pwapt): the traces may lack the latest accesses",
			    TRACE_FLUSH_TIMEOUT_MS / 1000);
	if (r == -EIO)
		return note(d, "the trace collector could not make sure that "
			       "it had written every access delivered to it: "
			       "the traces may lack the latest accesses");
	if (r < 0)
		return note(d,
			    "cannot ask the trace collector to write what "
			    "it has received (%s): the traces may lack the "
			    "latest accesses",
			    strerror(-r));
	return 0;
}

static bool store_traces(struct world_store *s)
{
	return faccessat(s->state_fd, TRACE_LOCK, F_OK, 0) == 0;
}

/* What a reviewer of a merge must not miss among its changes, trace or
 * not: a setuid or setgid file (a way to root, or to a group) and a device
 * node (raw access to a disk or a terminal) that A adds or changes.  Only
 * warned, never refused: packages ship setuid programs (passwd, mount,
 * sudo) and an administrator's world may make a node on purpose. */
static int find_special(struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		if ((c->kind != 'A' && c->kind != 'M') || c->excluded ||
		    c->checked_off)
			continue;
		/* As the comparison saw it (change_add()). */
		bool device = S_ISCHR(c->mode) || S_ISBLK(c->mode);
		if (!device &&
		    !(S_ISREG(c->mode) && (c->mode & (S_ISUID | S_ISGID))))
			continue;
		struct world_warning *w = add_warning(
			d, device ? WORLD_WARN_DEVICE : WORLD_WARN_SETID,
			c->path);
		if (!w)
			return -ENOMEM;
		w->change = c->kind;
		w->mode = c->mode;
		w->uid = c->uid;
		w->gid = c->gid;
		w->dev_major = major(c->rdev);
		w->dev_minor = minor(c->rdev);
	}
	return 0;
}

int diff_warnings(struct world_store *s, const struct world_meta *a,
		  const char *name_a, const char *name_b, int fa, int fb,
		  struct world_diff *d)
{
	uint64_t created = meta_trace_from(a);
	struct side_trace ta = {0}, tb = {0};
	bool flushed;
	int r = find_special(d);
	if (r >= 0)
		r = find_held(s, name_b, d);

	if (r < 0 || !store_traces(s))
		return r;
	d->conflicts_by = "ctime";
	if ((r = flush_tables(s, d, &flushed)) < 0 ||
	    (r = load_side(s, name_b, name_a, created, false, &tb, d)) < 0 ||
	    (r = load_side(s, name_a, name_a, created, true, &ta, d)) < 0)
		goto out;
	/* A->name: the world whose creation is the cut, which is not A
	 * where A is merged past its parent (diff.c, stack_created()). */
	if (tb.whole && a->trace_untold) {
		tb.whole = false;
		if ((r = note(d,
			      "the trace of %s may lack accesses just after "
			      "%s was created: the trace collector was not "
			      "told of it in time",
			      name_b, a->name)) < 0)
			goto out;
	}
	if (tb.loaded && ((r = held_at_creation(s, a, name_a, name_b, fb,
						created, &tb.t, d)) < 0 ||
			  (r = find_derived(&tb.t, created, d)) < 0))
		goto out;
	/* Unflushed, the tables are not whole up to now: as for any
	 * table that is not, conflicts are judged by ctime. */
	if (ta.whole && tb.whole && flushed) {
		if ((r = trace_conflicts(&tb.t, created, name_b, d)) < 0)
			goto out;
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
