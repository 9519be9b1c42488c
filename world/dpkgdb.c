/* Three-way merges of dpkg's status file, and dpkgdb_read (see dpkgdb.h).
 *
 * The records of each side go through the machinery of dbrec.c; the other
 * databases are in textdb.c and accountdb.c.
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
#include "dbrec.h"
#include "dpkgdb.h"
#include "error.h"

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
	x->text = dbrec_memdup0(job->vb.buf ? job->vb.buf : "", job->vb.used);
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

/* ---- the dependencies of the merged whole ---- */

/* Records merged one by one can make a whole that neither side had: a
 * package SRC installed beside the dependency that DST removed meanwhile,
 * or one that conflicts with a package DST installed.  dpkg would never
 * have written it, and apt refuses to work on it afterwards.  Such a break
 * is a conflict of the depending package's record, unless one side had it
 * already (a break DST had stays DST's; the merge did not make it). */

struct broken {
	char **key;  /* the depending package's record key */
	char **what; /* "pwapt-test-dep:amd64 1.1 (Depends: newdep)" */
	size_t n, cap;
};

static void broken_release(struct broken *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->key[i]);
		free(b->what[i]);
	}
	free(b->key);
	free(b->what);
	*b = (struct broken){0};
}

static bool broken_has(const struct broken *b, const char *key,
		       const char *what)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->key[i], key) && !strcmp(b->what[i], what))
			return true;
	return false;
}

/* Whether PKG is there for a dependency of type T on it: unpacked or
 * further for Depends, Pre-Depends and Breaks, any files at all for
 * Conflicts (dpkg's own reading). */
static bool dep_present(const struct pkginfo *pkg, enum deptype t)
{
	if (t == dep_conflicts)
		return pkg->status > PKG_STAT_CONFIGFILES;
	return pkg->status >= PKG_STAT_UNPACKED;
}

/* Whether an instance present in the database matches POSSI (one
 * alternative of a dependency), itself or by a Provides.  A package never
 * conflicts with itself or what it provides. */
static bool possi_matched(struct deppossi *possi)
{
	enum deptype t = possi->up->type;
	bool negative = t == dep_conflicts || t == dep_breaks;
	const struct pkgset *self = possi->up->up->set;
	for (struct pkginfo *p = &possi->ed->pkg; p; p = p->arch_next)
		if (dep_present(p, t) && !(negative && p->set == self) &&
		    deparchsatisfied(&p->installed, p->installed.arch, possi) &&
		    versionsatisfied(&p->installed, possi))
			return true;
	for (struct deppossi *pv = possi->ed->depended.installed; pv;
	     pv = pv->rev_next) {
		struct pkginfo *p = pv->up->up;
		if (pv->up->type != dep_provides || !dep_present(p, t) ||
		    (negative && p->set == self) ||
		    !deparchsatisfied(&p->installed, p->installed.arch, possi))
			continue;
		if (possi->verrel == DPKG_RELATION_NONE ||
		    (pv->verrel == DPKG_RELATION_EQ &&
		     dpkg_version_relate(&pv->version, possi->verrel,
					 &possi->version)))
			return true;
	}
	return false;
}

static bool dep_broken(struct dependency *dep)
{
	switch (dep->type) {
	case dep_depends:
	case dep_predepends:
		for (struct deppossi *x = dep->list; x; x = x->next)
			if (possi_matched(x))
				return false;
		return true;
	case dep_conflicts:
	case dep_breaks:
		for (struct deppossi *x = dep->list; x; x = x->next)
			if (possi_matched(x))
				return true;
		return false;
	default:
		return false;
	}
}

static int broken_add(struct status_job *job, struct pkginfo *pkg,
		      struct dependency *dep)
{
	static const char *const field[] = {
		[dep_depends] = "Depends",
		[dep_predepends] = "Pre-Depends",
		[dep_breaks] = "Breaks",
		[dep_conflicts] = "Conflicts",
	};
	struct broken *b = job->data;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		char **k = realloc(b->key, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		b->key = k;
		char **w = realloc(b->what, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		b->what = w;
		b->cap = cap;
	}
	const char *arch = arch_of(pkg);
	varbuf_reset(&job->vb);
	varbufversion(&job->vb, &pkg->installed.version, vdew_nonambig);
	varbuf_add_str(&job->vb, " (");
	varbuf_add_str(&job->vb, field[dep->type]);
	varbuf_add_str(&job->vb, ": ");
	varbufdependency(&job->vb, dep);
	varbuf_add_char(&job->vb, ')');
	char *key = NULL, *what = NULL;
	if (asprintf(&key, "%s%s%s", pkg->set->name, *arch ? ":" : "",
		     arch) < 0)
		return -ENOMEM;
	if (asprintf(&what, "%s %.*s", key, (int)job->vb.used,
		     job->vb.buf) < 0) {
		free(key);
		return -ENOMEM;
	}
	b->key[b->n] = key;
	b->what[b->n++] = what;
	return 0;
}

static int visit_broken(struct status_job *job, struct pkginfo *pkg)
{
	if (pkg->status < PKG_STAT_UNPACKED)
		return 0;
	for (struct dependency *d = pkg->installed.depends; d; d = d->next) {
		int r = dep_broken(d) ? broken_add(job, pkg, d) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

enum side { SIDE_MERGED, SIDE_OURS, SIDE_THEIRS };

static const struct rec *side_rec(const struct pick *x, enum side side)
{
	return side == SIDE_MERGED ? x->r : side == SIDE_OURS ? x->o : x->t;
}

/* Whether the merge kept SIDE's records, all of them and only them. */
static bool merged_is(const struct picks *p, enum side side)
{
	for (size_t i = 0; i < p->n; i++)
		if (!rec_same(p->v[i].r, side_rec(&p->v[i], side)))
			return false;
	return true;
}

/* The broken dependencies of SIDE's records as one database, into *B. */
static int side_broken(const struct picks *p, enum side side,
		       struct broken *b, struct world_error *err)
{
	struct buf text = {0};
	for (size_t i = 0; i < p->n; i++) {
		const struct rec *x = side_rec(&p->v[i], side);
		if (x && (buf_add(&text, x->text, x->len) < 0 ||
			  buf_add(&text, "\n", 1) < 0)) {
			free(text.p);
			return werr(err, ENOMEM, "cannot merge the status file");
		}
	}
	struct input in = {.data = text.p ? text.p : (char *)"",
			   .len = text.len,
			   .name = side == SIDE_MERGED ? "merged status"
				   : side == SIDE_OURS ? "ours"
						       : "theirs"};
	struct status_job job = {.in = &in, .visit = visit_broken, .data = b};
	int r = status_run(&job, EIO, err);
	free(text.p);
	return r;
}

/* Marks as conflicts the records whose dependencies the merge broke. */
static int mark_broken(struct picks *p, const struct broken *m,
		       const struct broken *o, const struct broken *t)
{
	for (size_t i = 0; i < m->n; i++) {
		if (broken_has(o, m->key[i], m->what[i]) ||
		    broken_has(t, m->key[i], m->what[i]))
			continue;
		struct pick *x = NULL;
		for (size_t k = 0; !x && k < p->n; k++) {
			const struct rec *r = p->v[k].r;
			if (r && !strcmp(r->key, m->key[i]))
				x = &p->v[k];
		}
		if (!x)
			continue;
		char *note = NULL;
		if (asprintf(&note, "%s%s%s", x->note ? x->note : "",
			     x->note ? "; " : "", m->what[i]) < 0)
			return -ENOMEM;
		free(x->note);
		x->note = note;
		x->conflict = true;
	}
	return 0;
}

static int check_dependencies(struct picks *p, bool force,
			      struct world_error *err)
{
	/* Conflicts left unresolved refuse the merge already, and their
	 * whole may be one libdpkg refuses (two instances of a name). */
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].conflict && !force)
			return 0;
	if (merged_is(p, SIDE_OURS) || merged_is(p, SIDE_THEIRS))
		return 0;
	struct broken m = {0}, o = {0}, t = {0};
	int r = side_broken(p, SIDE_MERGED, &m, err);
	if (r == 0 && m.n)
		r = side_broken(p, SIDE_OURS, &o, err);
	if (r == 0 && m.n)
		r = side_broken(p, SIDE_THEIRS, &t, err);
	if (r == 0 && mark_broken(p, &m, &o, &t) < 0)
		r = werr(err, ENOMEM, "cannot merge the status file");
	broken_release(&m);
	broken_release(&o);
	broken_release(&t);
	return r;
}

int dpkgdb_merge_status(const struct db_file *base, const struct db_file *ours,
			const struct db_file *theirs, int out, unsigned flags,
			struct db_conflicts *conflicts, struct world_error *err)
{
	static const struct merge_kind status = {
		.records = status_records,
		.check = fix_instances,
		.verify = check_dependencies,
		.write = write_status,
		.what = "the status file",
	};
	return dbrec_merge_files(&status, NULL, base, ours, theirs, out, flags,
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
	p->version =
		dbrec_memdup0(job->vb.buf ? job->vb.buf : "", job->vb.used);
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
		return dbrec_printable(r, err);
	struct read_data d = {0};
	struct status_job job = {
		.in = &data, .visit = visit_package, .data = &d};
	r = status_run(&job, EBADMSG, err);
	input_release(&data);
	if (r < 0) {
		struct dpkg_packages partial = {d.v, d.n};
		dpkgdb_packages_release(&partial);
		return dbrec_printable(r, err);
	}
	if (d.n > 1)
		qsort(d.v, d.n, sizeof(*d.v), package_cmp);
	out->v = d.v;
	out->n = d.n;
	return (int)d.n;
}
