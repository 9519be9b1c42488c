/* Three-way merges of the package databases (see dpkgdb.h).
 *
 * Every kind of file goes through the same steps: each side is read into a
 * list of records (a key, the text that goes into OUT, and the form the sides
 * are compared in), the three lists are sorted by key and walked together,
 * one decision per key, and OUT is written from the records kept.
 *
 * dpkg's status file is parsed by libdpkg and dumped record by record by
 * libdpkg (varbuf_stanza()), so a record compares equal whenever dpkg would
 * write it the same way.  The merged stanzas are then parsed once more and
 * written by libdpkg's own writer (writedb_stanzas()): OUT is what dpkg would
 * write for that database, and anything libdpkg refuses in the merged whole
 * is caught before OUT is touched.
 *
 * libdpkg reports errors through ohshit(), which longjmp()s to the innermost
 * error context and, with none, exits the process.  Every call into libdpkg
 * therefore runs inside dpkg_run(), which pushes a jump context, turns the
 * jump into -errno with dpkg's message, and empties libdpkg's global package
 * database (and the obstack holding it) before and after, so that repeated
 * merges in one process neither see each other's packages nor grow.  What a
 * job allocates itself is reachable from its struct, so that the caller
 * frees it on both paths. */
#define LIBDPKG_VOLATILE_API 1

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dpkg/dpkg-db.h>
#include <dpkg/dpkg.h>
#include <dpkg/ehandle.h>
#include <dpkg/parsedump.h>
#include <dpkg/report.h>
#include <dpkg/triglib.h>
#include <dpkg/varbuf.h>

#include "cleanup.h"
#include "dpkgdb.h"
#include "error.h"

#define DB_MAX_SIZE ((size_t)256 << 20)

/* ---- input and output ---- */

struct input {
	char *data; /* NUL-terminated */
	size_t len;
	const char *name;
};

static void input_release(struct input *in)
{
	free(in->data);
	in->data = NULL;
}

static int input_read(const struct db_file *f, const char *dflt,
		      struct input *in, struct world_error *err)
{
	in->name = f && f->name ? f->name : dflt;
	in->len = 0;
	size_t cap = 4096;
	struct stat st;
	if (f && f->fd >= 0 && fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0 && (size_t)st.st_size < DB_MAX_SIZE)
		cap = (size_t)st.st_size + 1;
	in->data = malloc(cap);
	if (!in->data)
		return werr(err, ENOMEM, "cannot read '%s'", in->name);
	if (!f || f->fd < 0) {
		in->data[0] = '\0';
		return 0;
	}
	for (;;) {
		if (in->len + 1 >= cap) {
			if (in->len >= DB_MAX_SIZE) {
				input_release(in);
				return werr(err, EFBIG,
					    "'%s' is %zu MiB or more", in->name,
					    DB_MAX_SIZE >> 20);
			}
			cap = cap * 2 < DB_MAX_SIZE + 1 ? cap * 2
							: DB_MAX_SIZE + 1;
			char *bigger = realloc(in->data, cap);
			if (!bigger) {
				input_release(in);
				return werr(err, ENOMEM, "cannot read '%s'",
					    in->name);
			}
			in->data = bigger;
		}
		ssize_t r = read(f->fd, in->data + in->len, cap - 1 - in->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			input_release(in);
			return werr_errno(err, e, "cannot read '%s'", in->name);
		}
		if (r == 0)
			break;
		in->len += (size_t)r;
	}
	in->data[in->len] = '\0';
	return 0;
}

static int write_all(int fd, const char *p, size_t n, const char *what,
		     struct world_error *err)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return werr_errno(err, errno, "cannot write %s", what);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Messages quote what a world wrote (paths, names, dpkg's own quotes of
 * fields), which may hold newlines or a terminal's escape sequences: the
 * sentence a caller prints gets '?' for each control byte. */
static int printable(int r, struct world_error *err)
{
	if (r < 0 && err)
		for (char *c = err->msg; *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				*c = '?';
	return r;
}

/* A growing byte buffer for our own output. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- records ---- */

struct rec {
	char *key;  /* what a conflict is named by */
	char *name; /* sorted by name, then arch */
	char *arch; /* "" outside the status file */
	char *text; /* written into OUT */
	size_t len;
	char *canon; /* compared between the sides; NULL: the text */
	size_t canon_len;
	char *aux;	/* diversions: the path diverted to; accounts: the id */
	size_t pos;	/* index in its file */
	size_t line;	/* first line in its file */
	bool installed; /* status: an instance dpkg counts */
	bool ma_same;	/* status: Multi-Arch: same */
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static void recs_release(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct rec *x = &r->v[i];
		free(x->key);
		free(x->name);
		free(x->arch);
		free(x->text);
		free(x->canon);
		free(x->aux);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static struct rec *recs_add(struct recs *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct rec *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	struct rec *x = &r->v[r->n];
	memset(x, 0, sizeof(*x));
	x->pos = r->n++;
	return x;
}

static char *memdup0(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

static bool rec_same(const struct rec *a, const struct rec *b)
{
	if (!a || !b)
		return a == b;
	const char *ca = a->canon ? a->canon : a->text;
	const char *cb = b->canon ? b->canon : b->text;
	size_t la = a->canon ? a->canon_len : a->len;
	size_t lb = b->canon ? b->canon_len : b->len;
	return la == lb && memcmp(ca, cb, la) == 0;
}

/* Sorts R by key; two records with one key are an error naming both
 * lines. */
static int recs_sort_unique(struct recs *r, const char *name,
			    struct world_error *err)
{
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), rec_cmp);
	for (size_t i = 1; i < r->n; i++)
		if (rec_cmp(&r->v[i - 1], &r->v[i]) == 0) {
			size_t a = r->v[i - 1].line, b = r->v[i].line;
			return werr(err, EBADMSG,
				    "'%s' has two records for '%s', at lines "
				    "%zu and %zu",
				    name, r->v[i].key, a < b ? a : b,
				    a < b ? b : a);
		}
	return 0;
}

/* ---- the three-way walk ---- */

struct pick {
	const struct rec *b, *o, *t;
	const struct rec *r; /* kept; NULL: absent from OUT */
	bool conflict;
	/* A conflict between keys: its own sentence (malloc'd), and the
	 * other side of it, named there, is not listed again (silent). */
	char *note;
	bool silent;
	/* A conflict that THEIRS's side does not resolve, even forced. */
	bool unforceable;
};

struct picks {
	struct pick *v;
	size_t n;
};

static const struct rec *head(const struct recs *r, size_t i)
{
	return i < r->n ? &r->v[i] : NULL;
}

static int walk(const struct recs *b, const struct recs *o,
		const struct recs *t, bool force, struct picks *out)
{
	size_t cap = b->n + o->n + t->n + 1, i = 0, j = 0, k = 0;
	struct pick *v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (;;) {
		const struct rec *hb = head(b, i), *ho = head(o, j),
				 *ht = head(t, k), *min = hb;
		if (ho && (!min || rec_cmp(ho, min) < 0))
			min = ho;
		if (ht && (!min || rec_cmp(ht, min) < 0))
			min = ht;
		if (!min)
			break;
		struct pick *p = &v[n++];
		if (hb && rec_cmp(hb, min) == 0) {
			p->b = hb;
			i++;
		}
		if (ho && rec_cmp(ho, min) == 0) {
			p->o = ho;
			j++;
		}
		if (ht && rec_cmp(ht, min) == 0) {
			p->t = ht;
			k++;
		}
		if (rec_same(p->o, p->t))
			p->r = p->o;
		else if (rec_same(p->b, p->o))
			p->r = p->t;
		else if (rec_same(p->b, p->t))
			p->r = p->o;
		else {
			p->conflict = true;
			p->r = force ? p->t : p->o;
		}
	}
	out->v = v;
	out->n = n;
	return 0;
}

static size_t count_conflicts(const struct picks *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->v[i].conflict && !p->v[i].silent;
	return n;
}

static int conflicts_fill(const struct picks *p, struct db_conflicts *c)
{
	size_t n = count_conflicts(p), k = 0;
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->v[i].conflict || p->v[i].silent)
			continue;
		const struct pick *x = &p->v[i];
		const struct rec *r = x->o ? x->o : x->t ? x->t : x->b;
		v[k] = strdup(x->note ? x->note : r->key);
		if (!v[k++]) {
			for (size_t m = 0; m < k; m++)
				free(v[m]);
			free(v);
			return -ENOMEM;
		}
	}
	c->v = v;
	c->n = n;
	return 0;
}

void db_conflicts_release(struct db_conflicts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* Where a kept record goes in OUT: at OURS's place when OURS has the key,
 * else after all of OURS, in THEIRS's order. */
static size_t out_rank(const struct pick *p)
{
	return p->o ? p->o->pos
		    : ((size_t)1 << (sizeof(size_t) * 8 - 1)) + p->t->pos;
}

static int pick_rank_cmp(const void *a, const void *b)
{
	size_t x = out_rank(*(const struct pick *const *)a);
	size_t y = out_rank(*(const struct pick *const *)b);
	return x < y ? -1 : x > y;
}

/* What differs between the kinds of file. */
struct merge_kind {
	/* One side's records, sorted by key; ARG is the kind's own. */
	int (*records)(const struct input *in, const void *arg,
		       struct recs *recs, struct world_error *err);
	/* Marks conflicts between records of different keys that cannot
	 * stand together; true when it changed a record kept (when forced,
	 * to THEIRS's), to be called again. */
	bool (*check)(struct picks *p, bool force);
	int (*write)(const struct picks *p, int out,
		     const struct merge_kind *kind, struct world_error *err);
	const char *sep;  /* after each record, for write_in_ours_order */
	const char *what; /* "the status file" */
};

/* OUT for the files pwapt writes itself: records in OURS's order, then
 * THEIRS's new ones, each followed by the kind's separator. */
static int write_in_ours_order(const struct picks *p, int out,
			       const struct merge_kind *kind,
			       struct world_error *err)
{
	_cleanup_free_ const struct pick **kept =
		calloc(p->n + 1, sizeof(*kept));
	if (!kept)
		return werr(err, ENOMEM, "cannot merge %s", kind->what);
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].r)
			kept[n++] = &p->v[i];
	qsort(kept, n, sizeof(*kept), pick_rank_cmp);
	struct buf b = {0};
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		r = buf_add(&b, kept[i]->r->text, kept[i]->r->len);
		if (r == 0)
			r = buf_add(&b, kind->sep, strlen(kind->sep));
	}
	if (r == 0)
		r = write_all(out, b.p ? b.p : "", b.len, kind->what, err);
	else
		r = werr(err, ENOMEM, "cannot merge %s", kind->what);
	free(b.p);
	return r;
}

static int merge_files(const struct merge_kind *kind, const void *arg,
		       const struct db_file *base, const struct db_file *ours,
		       const struct db_file *theirs, int out, unsigned flags,
		       struct db_conflicts *conflicts, struct world_error *err)
{
	const struct db_file *files[3] = {base, ours, theirs};
	static const char *const names[3] = {"base", "ours", "theirs"};
	struct input in[3] = {0};
	struct recs recs[3] = {0};
	struct picks picks = {0};
	struct db_conflicts c = {0};
	bool force = flags & DB_MERGE_FORCE;
	int r = 0;

	for (int i = 0; i < 3 && r == 0; i++) {
		r = input_read(files[i], names[i], &in[i], err);
		if (r == 0)
			r = kind->records(&in[i], arg, &recs[i], err);
		input_release(&in[i]);
	}
	if (r == 0 && walk(&recs[0], &recs[1], &recs[2], force, &picks) < 0)
		r = werr(err, ENOMEM, "cannot merge %s", kind->what);
	while (r == 0 && kind->check && kind->check(&picks, force))
		;
	for (size_t i = 0; r == 0 && force && i < picks.n; i++)
		if (picks.v[i].unforceable)
			r = werr(err, EEXIST,
				 "%s, which --force does not resolve: give "
				 "one of them another id first",
				 picks.v[i].note
					 ? picks.v[i].note
					 : "two names would share an id");
	/* The list first, so that OUT is never written by a call that then
	 * fails. */
	if (r == 0 && conflicts_fill(&picks, &c) < 0)
		r = werr(err, ENOMEM, "cannot merge %s", kind->what);
	if (r == 0 && (c.n == 0 || force))
		r = kind->write(&picks, out, kind, err);
	size_t n_conflicts = c.n;
	if (r == 0 && conflicts)
		*conflicts = c;
	else
		db_conflicts_release(&c);
	if (r == 0)
		r = (int)n_conflicts;
	for (size_t i = 0; i < picks.n; i++)
		free(picks.v[i].note);
	free(picks.v);
	for (int i = 0; i < 3; i++)
		recs_release(&recs[i]);
	return printable(r, err);
}

/* ---- libdpkg, behind a jump context ---- */

struct dpkg_guard {
	jmp_buf jump;
	char msg[sizeof(((struct world_error *)0)->msg)];
};

/* dpkg's messages span lines ("parsing file 'x' near line 3:\n field");
 * ours are one sentence. */
static void guard_catch(const char *emsg, const void *data)
{
	struct dpkg_guard *g = (struct dpkg_guard *)data;
	size_t n = 0;
	for (const char *s = emsg ? emsg : "unknown error";
	     *s && n + 1 < sizeof(g->msg); s++) {
		if (*s == '\n') {
			g->msg[n++] = ' ';
			while (s[1] == ' ')
				s++;
		} else {
			g->msg[n++] = *s;
		}
	}
	g->msg[n] = '\0';
}

/* Warnings (a record without architecture, ...) are dpkg's to print, not a
 * library's. */
static void drop_warning(const char *msg, void *data)
{
}

static void dpkg_empty(void)
{
	trig_awaited_pend_free();
	pkg_hash_reset();
}

typedef void dpkg_job_fn(void *job);

/* Runs FN(JOB) on an empty libdpkg database; an ohshit() in it becomes
 * -CODE with dpkg's message.  FN's own failures are its job's to report. */
static int dpkg_run(dpkg_job_fn *fn, void *job, int code,
		    struct world_error *err)
{
	struct dpkg_guard guard = {.msg = ""};

	dpkg_set_warning_printer(drop_warning, NULL);
	dpkg_empty();
	push_error_context_jump(&guard.jump, guard_catch, &guard);
	if (setjmp(guard.jump)) {
		pop_error_context(ehflag_bombout);
		dpkg_empty();
		dpkg_set_warning_printer(dpkg_warning_printer, NULL);
		return werr(err, code, "%s", guard.msg);
	}
	fn(job);
	pop_error_context(ehflag_normaltidy);
	dpkg_empty();
	dpkg_set_warning_printer(dpkg_warning_printer, NULL);
	return 0;
}

/* One status file through libdpkg: parsed, then handed to VISIT package by
 * package (those dpkg would write), then, when OUT is set, written. */
struct status_job {
	const struct input *in;
	int (*visit)(struct status_job *job, struct pkginfo *pkg);
	void *data;
	FILE *out;
	/* Held here so that the caller frees them after a jump too. */
	struct parsedb_state *ps;
	struct pkg_hash_iter *iter;
	struct varbuf vb;
	int failed;    /* -errno from VISIT or our own calls */
	char msg[256]; /* and why, when not for want of memory */
};

/* dpkg only warns about an illegal architecture name, but then writes it
 * into the Triggers-Awaited field of a package awaiting this one, where its
 * own parser refuses it: a file dpkg would break on its next write is
 * refused as it is read. */
static int check_arch(struct status_job *job, struct pkginfo *pkg)
{
	const struct dpkg_arch *arch = pkg->installed.arch;
	if (!arch || arch->type != DPKG_ARCH_ILLEGAL)
		return 0;
	const char *why = dpkg_arch_name_is_illegal(arch->name);
	snprintf(job->msg, sizeof(job->msg),
		 "parsing file '%s': package '%s': illegal architecture name "
		 "'%s': %s",
		 job->in->name, pkg->set->name, arch->name,
		 why ? why : "invalid");
	return -EBADMSG;
}

static void status_job_run(void *arg)
{
	struct status_job *job = arg;
	job->ps = parsedb_new(job->in->name, -1, pdb_parse_status);
	/* The data is ours: parsedb_close() must not free it. */
	job->ps->data = job->ps->dataptr = job->in->data;
	job->ps->endptr = job->in->data + job->in->len;
	parsedb_parse(job->ps, NULL);

	if (job->visit) {
		job->iter = pkg_hash_iter_new();
		struct pkginfo *pkg;
		while ((pkg = pkg_hash_iter_next_pkg(job->iter))) {
			if (!pkg_is_informative(pkg, &pkg->installed))
				continue;
			job->failed = check_arch(job, pkg);
			if (job->failed == 0)
				job->failed = job->visit(job, pkg);
			if (job->failed < 0)
				return;
		}
	}
	if (job->out)
		writedb_stanzas(job->out, job->in->name, 0);
}

static void status_job_release(struct status_job *job)
{
	if (job->ps) {
		job->ps->data = NULL;
		parsedb_close(job->ps);
		job->ps = NULL;
	}
	if (job->iter) {
		pkg_hash_iter_free(job->iter);
		job->iter = NULL;
	}
	varbuf_destroy(&job->vb);
}

static int status_run(struct status_job *job, int code, struct world_error *err)
{
	int r = dpkg_run(status_job_run, job, code, err);
	status_job_release(job);
	if (r == 0 && job->failed < 0 && job->msg[0])
		r = werr(err, -job->failed, "%s", job->msg);
	else if (r == 0 && job->failed < 0)
		r = werr(err, -job->failed, "cannot read '%s'", job->in->name);
	return r;
}

static const char *arch_of(const struct pkginfo *pkg)
{
	const struct dpkg_arch *a = pkg->installed.arch;
	if (!a || a->type == DPKG_ARCH_NONE || a->type == DPKG_ARCH_EMPTY)
		return "";
	return a->name;
}

static int visit_record(struct status_job *job, struct pkginfo *pkg)
{
	struct recs *recs = job->data;
	struct rec *x = recs_add(recs);
	if (!x)
		return -ENOMEM;
	const char *arch = arch_of(pkg);
	varbuf_reset(&job->vb);
	varbuf_stanza(&job->vb, pkg, &pkg->installed);
	x->name = strdup(pkg->set->name);
	x->arch = strdup(arch);
	x->text = memdup0(job->vb.buf ? job->vb.buf : "", job->vb.used);
	x->len = job->vb.used;
	if (asprintf(&x->key, "%s%s%s", pkg->set->name, *arch ? ":" : "",
		     arch) < 0)
		x->key = NULL;
	x->installed = pkg->status != PKG_STAT_NOTINSTALLED;
	x->ma_same = pkg->installed.multiarch == PKG_MULTIARCH_SAME;
	if (!x->name || !x->arch || !x->text || !x->key)
		return -ENOMEM;
	return 0;
}

/* The records' stanzas, one after another, as dpkg's writer separates them:
 * a status file of its own. */
static int recs_join(const struct recs *recs, struct buf *b)
{
	for (size_t i = 0; i < recs->n; i++)
		if (buf_add(b, recs->v[i].text, recs->v[i].len) < 0 ||
		    buf_add(b, "\n", 1) < 0)
			return -ENOMEM;
	return 0;
}

static int status_records(const struct input *in, const void *arg,
			  struct recs *recs, struct world_error *err)
{
	struct status_job job = {.in = in, .visit = visit_record, .data = recs};
	int r = status_run(&job, EBADMSG, err);
	if (r == 0)
		r = recs_sort_unique(recs, in->name, err);
	if (r < 0)
		return r;

	/* dpkg's writer does not always write what its parser reads back:
	 * a ^Z byte its parser kept inside a value ends the field when read
	 * again, for one.  A file is taken only once its records, as dpkg
	 * writes them, read back the same, so that OUT can always be read. */
	struct buf b = {0};
	_cleanup_free_ char *name = NULL;
	if (recs_join(recs, &b) < 0 ||
	    asprintf(&name, "%s (as dpkg writes it)", in->name) < 0) {
		free(b.p);
		return werr(err, ENOMEM, "cannot read '%s'", in->name);
	}
	struct input again = {
		.data = b.p ? b.p : (char *)"", .len = b.len, .name = name};
	struct recs back = {0};
	job = (struct status_job){
		.in = &again, .visit = visit_record, .data = &back};
	r = status_run(&job, EBADMSG, err);
	if (r < 0)
		werr_wrap(err,
			  "parsing file '%s': dpkg would write what it cannot "
			  "read back",
			  in->name);
	if (r == 0 && back.n > 1)
		qsort(back.v, back.n, sizeof(*back.v), rec_cmp);
	for (size_t i = 0; r == 0 && i < recs->n; i++)
		if (i >= back.n || rec_cmp(&recs->v[i], &back.v[i]) != 0 ||
		    !rec_same(&recs->v[i], &back.v[i]))
			r = werr(err, EBADMSG,
				 "parsing file '%s': package '%s' does not "
				 "read back as dpkg writes it",
				 in->name, recs->v[i].key);
	if (r == 0 && back.n != recs->n)
		r = werr(err, EBADMSG,
			 "parsing file '%s': its packages do not read back as "
			 "dpkg writes them",
			 in->name);
	recs_release(&back);
	free(b.p);
	return r;
}

/* dpkg keeps, per package name, either one instance that is not
 * "Multi-Arch: same" or any number that all are (parse.c refuses the rest
 * as "multiple non-coinstallable package instances").  A merge can bring
 * together instances that each side held alone; such a name is a conflict,
 * resolved by taking THEIRS's instances of it, which dpkg accepted. */
static bool fix_instances(struct picks *p, bool force)
{
	bool changed = false;
	for (size_t i = 0, end; i < p->n; i = end) {
		const char *name = p->v[i].o   ? p->v[i].o->name
				   : p->v[i].t ? p->v[i].t->name
					       : p->v[i].b->name;
		size_t single = 0, multi = 0;
		for (end = i; end < p->n; end++) {
			const struct pick *x = &p->v[end];
			const struct rec *any = x->o   ? x->o
						: x->t ? x->t
						       : x->b;
			if (strcmp(any->name, name) != 0)
				break;
			if (x->r && x->r->installed && x->r->ma_same)
				multi++;
			else if (x->r && x->r->installed)
				single++;
		}
		if (single <= 1 && !(single && multi))
			continue;
		for (size_t k = i; k < end; k++) {
			struct pick *x = &p->v[k];
			if (x->r && x->r->installed)
				x->conflict = true;
			if (force && x->r != x->t) {
				x->r = x->t;
				changed = true;
			}
		}
	}
	return changed;
}

static int write_status(const struct picks *p, int out,
			const struct merge_kind *kind, struct world_error *err)
{
	struct buf b = {0};
	for (size_t i = 0; i < p->n; i++) {
		const struct rec *r = p->v[i].r;
		if (r && (buf_add(&b, r->text, r->len) < 0 ||
			  buf_add(&b, "\n", 1) < 0)) {
			free(b.p);
			return werr(err, ENOMEM,
				    "cannot merge the status file");
		}
	}
	struct input merged = {.data = b.p ? b.p : (char *)"",
			       .len = b.len,
			       .name = "merged status"};
	int fd = dup(out);
	if (fd < 0) {
		free(b.p);
		return werr_errno(err, errno, "cannot write the status file");
	}
	struct status_job job = {.in = &merged, .out = fdopen(fd, "w")};
	if (!job.out) {
		close(fd);
		free(b.p);
		return werr_errno(err, errno, "cannot write the status file");
	}
	/* A record libdpkg refuses here was built from records it accepted,
	 * so it is no malformed input but a merge it cannot hold. */
	int r = status_run(&job, EIO, err);
	if (fclose(job.out) != 0 && r == 0)
		r = werr_errno(err, errno, "cannot write the status file");
	free(b.p);
	return r;
}

int dpkgdb_merge_status(const struct db_file *base, const struct db_file *ours,
			const struct db_file *theirs, int out, unsigned flags,
			struct db_conflicts *conflicts, struct world_error *err)
{
	static const struct merge_kind status = {
		.records = status_records,
		.check = fix_instances,
		.write = write_status,
		.what = "the status file",
	};
	return merge_files(&status, NULL, base, ours, theirs, out, flags,
			   conflicts, err);
}

/* ---- dpkgdb_read ---- */

struct read_data {
	struct dpkg_package *v;
	size_t n, cap;
};

static void package_release(struct dpkg_package *p)
{
	free(p->name);
	free(p->arch);
	free(p->version);
	for (size_t i = 0; i < p->n_conffiles; i++) {
		free(p->conffiles[i].path);
		free(p->conffiles[i].md5sum);
	}
	free(p->conffiles);
}

void dpkgdb_packages_release(struct dpkg_packages *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		package_release(&p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static int visit_package(struct status_job *job, struct pkginfo *pkg)
{
	struct read_data *d = job->data;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct dpkg_package *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	struct dpkg_package *p = &d->v[d->n++];
	memset(p, 0, sizeof(*p));
	varbuf_reset(&job->vb);
	if (dpkg_version_is_informative(&pkg->installed.version))
		varbufversion(&job->vb, &pkg->installed.version, vdew_nonambig);
	p->name = strdup(pkg->set->name);
	p->arch = strdup(arch_of(pkg));
	p->version = memdup0(job->vb.buf ? job->vb.buf : "", job->vb.used);
	snprintf(p->want, sizeof(p->want), "%s", pkg_want_name(pkg));
	snprintf(p->eflag, sizeof(p->eflag), "%s", pkg_eflag_name(pkg));
	snprintf(p->status, sizeof(p->status), "%s", pkg_status_name(pkg));
	p->multiarch_same = pkg->installed.multiarch == PKG_MULTIARCH_SAME;
	if (!p->name || !p->arch || !p->version)
		return -ENOMEM;
	size_t n = 0;
	for (struct conffile *c = pkg->installed.conffiles; c; c = c->next)
		n++;
	if (n == 0)
		return 0;
	p->conffiles = calloc(n, sizeof(*p->conffiles));
	if (!p->conffiles)
		return -ENOMEM;
	for (struct conffile *c = pkg->installed.conffiles; c; c = c->next) {
		struct dpkg_conffile *f = &p->conffiles[p->n_conffiles++];
		f->path = strdup(c->name);
		f->md5sum = strdup(c->hash ? c->hash : "");
		f->obsolete = c->obsolete;
		f->remove_on_upgrade = c->remove_on_upgrade;
		if (!f->path || !f->md5sum)
			return -ENOMEM;
	}
	return 0;
}

static int package_cmp(const void *a, const void *b)
{
	const struct dpkg_package *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

int dpkgdb_read(const struct db_file *in, struct dpkg_packages *out,
		struct world_error *err)
{
	struct input data;
	int r = input_read(in, "input", &data, err);
	if (r < 0)
		return printable(r, err);
	struct read_data d = {0};
	struct status_job job = {
		.in = &data, .visit = visit_package, .data = &d};
	r = status_run(&job, EBADMSG, err);
	input_release(&data);
	if (r < 0) {
		struct dpkg_packages partial = {d.v, d.n};
		dpkgdb_packages_release(&partial);
		return printable(r, err);
	}
	if (d.n > 1)
		qsort(d.v, d.n, sizeof(*d.v), package_cmp);
	out->v = d.v;
	out->n = d.n;
	return (int)d.n;
}

/* ---- text files pwapt reads itself ---- */

/* The next line of IN from *POS: [*start, *start + *len), without its
 * newline; false at the end. */
static bool next_line(const struct input *in, size_t *pos, const char **start,
		      size_t *len, bool *newline)
{
	if (*pos >= in->len)
		return false;
	const char *s = in->data + *pos;
	const char *nl = memchr(s, '\n', in->len - *pos);
	*start = s;
	*len = nl ? (size_t)(nl - s) : in->len - *pos;
	*newline = nl != NULL;
	*pos += *len + (nl != NULL);
	return true;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
		      (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* One field of a deb822 record, for the comparison. */
struct field {
	char *name; /* lowercase */
	struct buf value;
};

static int field_cmp(const void *a, const void *b)
{
	return strcmp(((const struct field *)a)->name,
		      ((const struct field *)b)->name);
}

struct para {
	struct field *f;
	size_t n, cap;
	struct buf text;
	size_t line;
};

static void para_reset(struct para *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].name);
		free(p->f[i].value.p);
	}
	p->n = 0;
	free(p->text.p);
	memset(&p->text, 0, sizeof(p->text));
}

static const struct field *para_get(const struct para *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcasecmp(p->f[i].name, name))
			return &p->f[i];
	return NULL;
}

/* Turns the paragraph into a record: key from KEYS, fields sorted and
 * joined as the comparison form. */
static int para_finish(struct para *p, const struct input *in,
		       const char *const *keys, struct recs *recs,
		       struct world_error *err)
{
	if (p->n == 0)
		return 0;
	struct buf key = {0};
	int r = 0;
	for (size_t i = 0; keys[i] && r == 0; i++) {
		const struct field *f = para_get(p, keys[i]);
		bool have = f && f->value.len > 0;
		if (i == 0 && !have) {
			free(key.p);
			return werr(err, EBADMSG,
				    "'%s' line %zu: record without a value "
				    "for '%s'",
				    in->name, p->line, keys[0]);
		}
		if (!have)
			continue;
		if (memchr(f->value.p, '\n', f->value.len)) {
			free(key.p);
			return werr(err, EBADMSG,
				    "'%s' line %zu: '%s' spans several lines",
				    in->name, p->line, keys[i]);
		}
		if (i > 0)
			r = buf_add(&key, ":", 1);
		if (r == 0)
			r = buf_add(&key, f->value.p, f->value.len);
	}
	qsort(p->f, p->n, sizeof(*p->f), field_cmp);
	struct buf canon = {0};
	for (size_t i = 0; i < p->n && r == 0; i++) {
		if (i > 0 && !strcmp(p->f[i - 1].name, p->f[i].name)) {
			free(key.p);
			free(canon.p);
			return werr(err, EBADMSG,
				    "'%s' line %zu: duplicate value for field "
				    "'%s'",
				    in->name, p->line, p->f[i].name);
		}
		/* NUL, which no input holds, keeps the fields apart. */
		r = buf_add(&canon, p->f[i].name, strlen(p->f[i].name) + 1);
		if (r == 0 && p->f[i].value.len)
			r = buf_add(&canon, p->f[i].value.p, p->f[i].value.len);
		if (r == 0)
			r = buf_add(&canon, "", 1);
	}
	struct rec *x = r == 0 ? recs_add(recs) : NULL;
	if (!x) {
		free(key.p);
		free(canon.p);
		return werr(err, ENOMEM, "cannot read '%s'", in->name);
	}
	x->key = key.p;
	x->name = strdup(key.p);
	x->arch = strdup("");
	x->text = p->text.p;
	x->len = p->text.len;
	x->canon = canon.p;
	x->canon_len = canon.len;
	x->line = p->line;
	memset(&p->text, 0, sizeof(p->text));
	if (!x->name || !x->arch)
		return werr(err, ENOMEM, "cannot read '%s'", in->name);
	for (size_t i = 0; i < p->n; i++) {
		free(p->f[i].name);
		free(p->f[i].value.p);
	}
	p->n = 0;
	return 0;
}

static int para_add_field(struct para *p, const char *s, size_t len)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct field *f = realloc(p->f, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		p->f = f;
		p->cap = cap;
	}
	const char *colon = memchr(s, ':', len);
	struct field *f = &p->f[p->n];
	memset(f, 0, sizeof(*f));
	f->name = memdup0(s, (size_t)(colon - s));
	if (!f->name)
		return -ENOMEM;
	p->n++;
	for (char *c = f->name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	const char *v = colon + 1;
	size_t vlen = len - (size_t)(v - s);
	trim(&v, &vlen);
	return buf_add(&f->value, v, vlen);
}

/* ARG: the key fields, NULL-terminated. */
static int deb822_records(const struct input *in, const void *arg,
			  struct recs *recs, struct world_error *err)
{
	const char *const *keys = arg;
	struct para p = {0};
	size_t pos = 0, lno = 0, len;
	const char *s;
	bool nl;
	int r = 0;

	if (memchr(in->data, '\0', in->len))
		return werr(err, EBADMSG, "'%s' holds a NUL byte", in->name);
	while (r == 0 && next_line(in, &pos, &s, &len, &nl)) {
		lno++;
		if (blank(s, len)) {
			r = para_finish(&p, in, keys, recs, err);
			continue;
		}
		if (s[0] == ' ' || s[0] == '\t') {
			if (p.n == 0) {
				r = werr(err, EBADMSG,
					 "'%s' line %zu: continuation line "
					 "outside a field",
					 in->name, lno);
				break;
			}
			const char *v = s;
			size_t vlen = len;
			trim(&v, &vlen);
			struct buf *value = &p.f[p.n - 1].value;
			if (buf_add(value, "\n", 1) < 0 ||
			    buf_add(value, v, vlen) < 0)
				r = -ENOMEM;
		} else {
			const char *colon = memchr(s, ':', len);
			if (!colon || colon == s ||
			    memchr(s, ' ', (size_t)(colon - s)) ||
			    memchr(s, '\t', (size_t)(colon - s))) {
				r = werr(err, EBADMSG,
					 "'%s' line %zu: field name must be "
					 "followed by a colon",
					 in->name, lno);
				break;
			}
			if (p.n == 0)
				p.line = lno;
			r = para_add_field(&p, s, len);
		}
		if (r == 0 && (buf_add(&p.text, s, len) < 0 ||
			       buf_add(&p.text, "\n", 1) < 0))
			r = -ENOMEM;
		if (r == -ENOMEM)
			r = werr(err, ENOMEM, "cannot read '%s'", in->name);
	}
	if (r == 0)
		r = para_finish(&p, in, keys, recs, err);
	para_reset(&p);
	free(p.f);
	if (r == 0)
		r = recs_sort_unique(recs, in->name, err);
	return r;
}

int db_merge_deb822(const struct db_file *base, const struct db_file *ours,
		    const struct db_file *theirs, int out,
		    const char *const *keys, unsigned flags,
		    struct db_conflicts *conflicts, struct world_error *err)
{
	if (!keys || !keys[0])
		return werr(err, EINVAL, "no key fields to merge records by");
	static const struct merge_kind deb822 = {
		.records = deb822_records,
		.write = write_in_ours_order,
		.sep = "\n",
		.what = "the file",
	};
	return merge_files(&deb822, keys, base, ours, theirs, out, flags,
			   conflicts, err);
}

/* ---- dpkg's diversions and statoverride ---- */

static int line_error(const struct input *in, size_t lno, const char *what,
		      struct world_error *err)
{
	return werr(err, EBADMSG, "'%s' line %zu: %s", in->name, lno, what);
}

/* The next line of a file dpkg reads line by line: 1, or 0 at the end.  Like
 * dpkg, refuses a NUL byte, an empty line and a last line without newline. */
static int next_dpkg_line(const struct input *in, size_t *pos, size_t *lno,
			  const char **s, size_t *len, struct world_error *err)
{
	bool nl;
	if (*pos == 0 && memchr(in->data, '\0', in->len))
		return werr(err, EBADMSG, "'%s' holds a NUL byte", in->name);
	if (!next_line(in, pos, s, len, &nl))
		return 0;
	++*lno;
	if (!nl)
		return line_error(in, *lno, "missing final newline", err);
	if (*len == 0)
		return line_error(in, *lno, "empty line", err);
	return 1;
}

/* A record of such a file: TEXT (its lines) keyed by KEY. */
static struct rec *add_line_record(const struct input *in, struct recs *recs,
				   size_t line, const char *key, size_t key_len,
				   const char *text, size_t len,
				   struct world_error *err)
{
	struct rec *x = recs_add(recs);
	if (x) {
		x->line = line;
		x->key = memdup0(key, key_len);
		x->name = memdup0(key, key_len);
		x->arch = strdup("");
		x->len = len;
		x->text = memdup0(text, len);
	}
	if (!x || !x->key || !x->name || !x->arch || !x->text) {
		werr(err, ENOMEM, "cannot read '%s'", in->name);
		return NULL;
	}
	return x;
}

/* Paths a diversion names, for finding two records that name one. */
struct divpath {
	const char *path;
	size_t pick; /* or the record's index */
};

static int divpath_cmp(const void *a, const void *b)
{
	return strcmp(((const struct divpath *)a)->path,
		      ((const struct divpath *)b)->path);
}

/* Marks, in CLASH (one flag per record), the records whose diverted or
 * diverted-to path another record names too: dpkg refuses such diversions
 * ("conflicting diversions involving ..."). */
static int find_clashes(const struct rec *const *v, size_t n, bool *clash)
{
	struct divpath *paths = calloc(2 * n + 1, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		paths[m++] = (struct divpath){v[i]->key, i};
		paths[m++] = (struct divpath){v[i]->aux, i};
	}
	qsort(paths, m, sizeof(*paths), divpath_cmp);
	int found = 0;
	for (size_t i = 1; i < m; i++)
		if (!strcmp(paths[i - 1].path, paths[i].path)) {
			clash[paths[i - 1].pick] = clash[paths[i].pick] = true;
			found = 1;
		}
	free(paths);
	return found;
}

static int diversion_records(const struct input *in, const void *arg,
			     struct recs *recs, struct world_error *err)
{
	size_t pos = 0, lno = 0, len, lens[3];
	const char *s, *line[3];
	int r;

	while ((r = next_dpkg_line(in, &pos, &lno, &s, &len, err)) > 0) {
		line[(lno - 1) % 3] = s;
		lens[(lno - 1) % 3] = len;
		if (lno % 3)
			continue;
		/* The three lines lie one after another in IN. */
		struct rec *x = add_line_record(
			in, recs, lno - 2, line[0], lens[0], line[0],
			lens[0] + lens[1] + lens[2] + 3, err);
		if (!x)
			return -ENOMEM;
		x->aux = memdup0(line[1], lens[1]);
		if (!x->aux)
			return werr(err, ENOMEM, "cannot read '%s'", in->name);
		if (!strcmp(x->key, x->aux))
			return line_error(in, x->line,
					  "a file diverted to itself", err);
	}
	if (r < 0)
		return r;
	if (lno % 3)
		return line_error(in, lno,
				  "unexpected end of file (a diversion has "
				  "three lines)",
				  err);
	r = recs_sort_unique(recs, in->name, err);
	if (r < 0)
		return r;
	_cleanup_free_ const struct rec **v = calloc(recs->n + 1, sizeof(*v));
	_cleanup_free_ bool *clash = calloc(recs->n + 1, sizeof(*clash));
	if (!v || !clash)
		return werr(err, ENOMEM, "cannot read '%s'", in->name);
	for (size_t i = 0; i < recs->n; i++)
		v[i] = &recs->v[i];
	r = find_clashes(v, recs->n, clash);
	if (r < 0)
		return werr(err, ENOMEM, "cannot read '%s'", in->name);
	for (size_t i = 0; r > 0 && i < recs->n; i++)
		if (clash[i])
			return werr(err, EBADMSG,
				    "'%s' line %zu: conflicting diversions "
				    "involving '%s' or '%s'",
				    in->name, recs->v[i].line, recs->v[i].key,
				    recs->v[i].aux);
	return 0;
}

static bool fix_diversions(struct picks *p, bool force)
{
	const struct rec **v = calloc(p->n + 1, sizeof(*v));
	bool *clash = calloc(p->n + 1, sizeof(*clash));
	bool changed = false;
	if (v && clash) {
		for (size_t i = 0; i < p->n; i++)
			v[i] = p->v[i].r;
		/* Without memory to look, nothing is marked; the writer
		 * would fail the same way. */
		if (find_clashes(v, p->n, clash) > 0)
			for (size_t i = 0; i < p->n; i++) {
				if (!clash[i])
					continue;
				p->v[i].conflict = true;
				if (force && p->v[i].r != p->v[i].t) {
					p->v[i].r = p->v[i].t;
					changed = true;
				}
			}
	}
	free(v);
	free(clash);
	return changed;
}

int dpkgdb_merge_diversions(const struct db_file *base,
			    const struct db_file *ours,
			    const struct db_file *theirs, int out,
			    unsigned flags, struct db_conflicts *conflicts,
			    struct world_error *err)
{
	static const struct merge_kind diversions = {
		.records = diversion_records,
		.check = fix_diversions,
		.write = write_in_ours_order,
		.sep = "",
		.what = "the diversions file",
	};
	return merge_files(&diversions, NULL, base, ours, theirs, out, flags,
			   conflicts, err);
}

/* "user group mode path": the first three words are separated by single
 * spaces and the path is the rest of the line, as dpkg reads it. */
static int statoverride_records(const struct input *in, const void *arg,
				struct recs *recs, struct world_error *err)
{
	size_t pos = 0, lno = 0, len;
	const char *s;
	int r;

	while ((r = next_dpkg_line(in, &pos, &lno, &s, &len, err)) > 0) {
		const char *f = s, *end = s + len, *mode = NULL;
		for (int i = 0; i < 3; i++) {
			const char *sp = memchr(f, ' ', (size_t)(end - f));
			if (!sp || sp == f)
				return line_error(
					in, lno,
					"expected 'user group mode path'", err);
			if (i == 2)
				mode = f;
			f = sp + 1;
		}
		if (f == end)
			return line_error(in, lno, "missing path", err);
		for (const char *m = mode; m < f - 1; m++)
			if (*m < '0' || *m > '7' || m - mode >= 6)
				return line_error(in, lno, "invalid mode", err);
		if (!add_line_record(in, recs, lno, f, (size_t)(end - f), s,
				     len + 1, err))
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return recs_sort_unique(recs, in->name, err);
}

int dpkgdb_merge_statoverride(const struct db_file *base,
			      const struct db_file *ours,
			      const struct db_file *theirs, int out,
			      unsigned flags, struct db_conflicts *conflicts,
			      struct world_error *err)
{
	static const struct merge_kind statoverride = {
		.records = statoverride_records,
		.write = write_in_ours_order,
		.sep = "",
		.what = "the statoverride file",
	};
	return merge_files(&statoverride, NULL, base, ours, theirs, out, flags,
			   conflicts, err);
}

/* ---- the account databases: passwd, shadow, group, gshadow ---- */

/* "name:...": a record a line, keyed by the name; the id (the third field
 * of passwd and group) in aux.  Empty lines and a last line without newline
 * are taken as the tools that write these files take them. */
static int account_records(const struct input *in, const void *arg,
			   struct recs *recs, struct world_error *err)
{
	size_t pos = 0, lno = 0, len;
	const char *s;
	bool nl;
	(void)arg;
	if (memchr(in->data, '\0', in->len))
		return werr(err, EBADMSG, "'%s' holds a NUL byte", in->name);
	while (next_line(in, &pos, &s, &len, &nl)) {
		lno++;
		if (len == 0)
			continue;
		const char *end = s + len, *colon = memchr(s, ':', len);
		size_t klen = colon ? (size_t)(colon - s) : len;
		if (klen == 0)
			return line_error(in, lno, "a line without a name",
					  err);
		struct rec *x =
			add_line_record(in, recs, lno, s, klen, s, len, err);
		if (!x)
			return -ENOMEM;
		const char *f = s;
		for (int i = 0; i < 2 && f; i++) {
			f = memchr(f, ':', (size_t)(end - f));
			f = f ? f + 1 : NULL;
		}
		const char *e = f ? memchr(f, ':', (size_t)(end - f)) : NULL;
		if (f && !(x->aux = memdup0(f, (size_t)((e ? e : end) - f))))
			return werr(err, ENOMEM, "cannot read '%s'", in->name);
	}
	return recs_sort_unique(recs, in->name, err);
}

/* Two names that the merge would give one id, where OURS does not hold
 * both so already: each world gave its new system user the first free uid,
 * and the files one owns would belong to the other.  Forcing THEIRS's side
 * would not part them, or would drop OURS's user while its files keep the
 * id: such a clash is unforceable, unless THEIRS itself holds both names on
 * that id (its own choice, which a forced merge takes). */
static bool account_ids(struct picks *p, bool force)
{
	(void)force;
	for (size_t i = 0; i < p->n; i++) {
		struct pick *a = &p->v[i];
		if (!a->r || !a->r->aux || !*a->r->aux || a->silent)
			continue;
		for (size_t j = i + 1; j < p->n; j++) {
			struct pick *b = &p->v[j];
			if (!b->r || !b->r->aux ||
			    strcmp(a->r->aux, b->r->aux) || b->silent ||
			    (a->r == a->o && b->r == b->o))
				continue;
			char *note = NULL;
			if (!a->note &&
			    asprintf(&note, "%s and %s would share id %s",
				     a->r->key, b->r->key, a->r->aux) >= 0)
				a->note = note;
			a->conflict = b->conflict = true;
			b->silent = true;
			if (!rec_same(a->r, a->t) || !rec_same(b->r, b->t))
				a->unforceable = true;
		}
	}
	return false;
}

int db_merge_accounts(const struct db_file *base, const struct db_file *ours,
		      const struct db_file *theirs, int out, bool with_ids,
		      unsigned flags, struct db_conflicts *conflicts,
		      struct world_error *err)
{
	static const struct merge_kind names = {
		.records = account_records,
		.write = write_in_ours_order,
		.sep = "\n",
		.what = "the account database",
	};
	static const struct merge_kind names_and_ids = {
		.records = account_records,
		.check = account_ids,
		.write = write_in_ours_order,
		.sep = "\n",
		.what = "the account database",
	};
	return merge_files(with_ids ? &names_and_ids : &names, NULL, base, ours,
			   theirs, out, flags, conflicts, err);
}

/* ---- logs ---- */

int db_merge_log(const struct db_file *ours, const struct db_file *theirs,
		 int out, struct world_error *err)
{
	struct input o, t;
	int r = input_read(ours, "ours", &o, err);
	if (r < 0)
		return printable(r, err);
	r = input_read(theirs, "theirs", &t, err);
	if (r < 0) {
		input_release(&o);
		return printable(r, err);
	}
	size_t common = 0, n = o.len < t.len ? o.len : t.len;
	while (common < n && o.data[common] == t.data[common])
		common++;
	/* THEIRS wholly inside OURS added nothing; OURS wholly inside THEIRS
	 * is continued by THEIRS, a line cut short included.  Otherwise the
	 * two part within a line, which is THEIRS's, whole. */
	size_t from = t.len;
	bool newline = false;
	if (common < t.len && common >= o.len) {
		from = o.len;
	} else if (common < t.len) {
		from = common;
		while (from > 0 && t.data[from - 1] != '\n')
			from--;
		newline = o.len > 0 && o.data[o.len - 1] != '\n';
	}
	r = write_all(out, o.data, o.len, "the merged log", err);
	if (r == 0 && newline)
		r = write_all(out, "\n", 1, "the merged log", err);
	if (r == 0)
		r = write_all(out, t.data + from, t.len - from,
			      "the merged log", err);
	input_release(&o);
	input_release(&t);
	return printable(r, err);
}
