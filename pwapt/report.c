/* Transaction reports (see report.h).
 *
 * Which package a changed file belongs to comes from dpkg's file lists
 * (read from the trees) of the packages that changed, in the world and in its
 * parent, so that files a package dropped are found too.  The note is a
 * line a record, "\n" and "\\" escaped:
 *     pwapt-report 1
 *     pkg NAME ARCH OLD NEW OLDSTATUS NEWSTATUS      ("-" for none)
 *     file A /path                                   (of the last pkg)
 *     other M /path
 *     conffile PACKAGE STATE /path
 *     service NAME
 *     service-stop NAME                              (its package removed)
 *     conflict TEXT
 *     test STATUS NAME
 * where a file's change is A added, M changed (content, type, link target,
 * device numbers), m metadata only (owner, mode, times, xattrs: the same
 * bytes, as a rebuilt package's unchanged file) or D removed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "../world/strv.h"
#include "apt.h"
#include "pwapt.h"
#include "quote.h"
#include "report.h"
#include "service.h"

/* Appends S (malloc'd; NULL: out of memory) to *V, of *N strings;
 * -ENOMEM.  A report short of memory is none, never one with a line
 * missing or a version taken for "(none)". */
static int add_line(char ***v, size_t *n, char *s)
{
	struct strv sv = {*v, *n};
	int r = strv_push(&sv, s);
	*v = sv.v;
	*n = sv.n;
	return r;
}

static int out_of_memory(struct world_error *err)
{
	if (err) {
		err->code = ENOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	}
	return -ENOMEM;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void report_release(struct report *r)
{
	for (size_t i = 0; i < r->n_packages; i++) {
		struct report_package *p = &r->packages[i];
		free(p->name);
		free(p->arch);
		free(p->old_version);
		free(p->new_version);
		free(p->old_status);
		free(p->new_status);
		strvfreep(&p->files);
	}
	free(r->packages);
	for (size_t i = 0; i < r->n_conffiles; i++) {
		free(r->conffiles[i].package);
		free(r->conffiles[i].path);
		free(r->conffiles[i].state);
	}
	free(r->conffiles);
	for (size_t i = 0; i < r->n_tests; i++)
		free(r->tests[i].name);
	free(r->tests);
	strvfreep(&r->other_files);
	strvfreep(&r->services);
	strvfreep(&r->services_stop);
	strvfreep(&r->conflicts);
	*r = (struct report){0};
}

bool report_tests_passed(const struct report *r)
{
	for (size_t i = 0; i < r->n_tests; i++)
		if (r->tests[i].status != 0)
			return false;
	return true;
}

/* dpkg's third Status word in *OUT, or NULL for a package dpkg does not
 * hold; -ENOMEM. */
static int installed_state(const struct world_package *p, char **out)
{
	const char *w = p ? strrchr(p->status, ' ') : NULL;
	w = w ? w + 1 : NULL;
	*out = w && strcmp(w, "not-installed") ? strdup(w) : NULL;
	return w && strcmp(w, "not-installed") && !*out ? -ENOMEM : 0;
}

/* A copy of S in *OUT, or NULL for none; -ENOMEM. */
static int dup_or_null(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -ENOMEM : 0;
}

static int cmp_pkg(const struct world_package *a, const struct world_package *b)
{
	int c = strcmp(a->name, b->name);
	return c ? c : strcmp(a->arch, b->arch);
}

/* The packages whose version or state differ between OLD and NEW; out of
 * memory -ENOMEM, never a package without its version. */
static int changed_packages(const struct world_packages *old,
			    const struct world_packages *new, struct report *r)
{
	size_t cap = 0;
	for (size_t i = 0, j = 0; i < old->n || j < new->n;) {
		const struct world_package *a = i < old->n ? &old->v[i] : NULL;
		const struct world_package *b = j < new->n ? &new->v[j] : NULL;
		int c = !a ? 1 : !b ? -1 : cmp_pkg(a, b);
		if (c < 0)
			b = NULL;
		else if (c > 0)
			a = NULL;
		i += a != NULL;
		j += b != NULL;
		_cleanup_free_ char *sa = NULL, *sb = NULL;
		if (installed_state(a, &sa) < 0 || installed_state(b, &sb) < 0)
			return -ENOMEM;
		const char *va = sa ? a->version : NULL,
			   *vb = sb ? b->version : NULL;
		if (!sa && !sb)
			continue;
		if (sa && sb && !strcmp(sa, sb) && !strcmp(va, vb))
			continue;
		if (r->n_packages == cap) {
			cap = cap ? 2 * cap : 16;
			struct report_package *nv =
				realloc(r->packages, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			r->packages = nv;
		}
		const struct world_package *any = a ? a : b;
		struct report_package *rp = &r->packages[r->n_packages++];
		*rp = (struct report_package){
			.old_status = steal_pointer(&sa),
			.new_status = steal_pointer(&sb),
		};
		/* Counted already: report_release() frees what it got. */
		if (dup_or_null(any->name, &rp->name) < 0 ||
		    dup_or_null(any->arch, &rp->arch) < 0 ||
		    dup_or_null(va, &rp->old_version) < 0 ||
		    dup_or_null(vb, &rp->new_version) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct owner {
	const char *path;
	size_t pkg;
};

static int cmp_owner(const void *a, const void *b)
{
	return strcmp(((const struct owner *)a)->path,
		      ((const struct owner *)b)->path);
}

/* How apt names package P: "name", or "name:arch" when the report holds
 * that name for more than one architecture. */
static char *apt_name(const struct report *r, const struct report_package *p)
{
	size_t same = 0;
	for (size_t i = 0; i < r->n_packages; i++)
		same += !strcmp(r->packages[i].name, p->name);
	char *s = NULL;
	if (same > 1 && *p->arch)
		return asprintf(&s, "%s:%s", p->name, p->arch) < 0 ? NULL : s;
	return strdup(p->name);
}

static int cmp_change_path(const void *key, const void *c)
{
	return strcmp(key, ((const struct world_change *)c)->path);
}

/* PATH's change in D (sorted by path, as world_diff() gives it). */
static const struct world_change *diff_find(const struct world_diff *d,
					    const char *path)
{
	return d->n ? bsearch(path, d->v, d->n, sizeof(*d->v), cmp_change_path)
		    : NULL;
}

/* Whether D adds PATH followed by SUFFIX (dpkg's .dpkg-dist, ...). */
static bool diff_added(const struct world_diff *d, const char *path,
		       const char *suffix)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s%s", path, suffix) < 0)
		return false;
	const struct world_change *c = diff_find(d, p);
	return c && c->kind == 'A';
}

static int add_conffiles(struct report *r, const struct world_packages *new,
			 const struct world_diff *d)
{
	for (size_t i = 0; i < r->n_packages; i++) {
		const struct report_package *rp = &r->packages[i];
		for (size_t k = 0; rp->new_version && k < new->n; k++) {
			const struct world_package *p = &new->v[k];
			if (strcmp(p->name, rp->name) ||
			    strcmp(p->arch, rp->arch))
				continue;
			for (size_t c = 0; c < p->n_conffiles; c++) {
				const struct world_conffile *cf =
					&p->conffiles[c];
				const struct world_change *ch =
					diff_find(d, cf->path);
				const char *state =
					cf->obsolete ? NULL
					: diff_added(d, cf->path, ".dpkg-dist")
						? "kept"
					: diff_added(d, cf->path, ".dpkg-old")
						? "replaced"
					: !ch		  ? NULL
					: ch->kind == 'A' ? "new"
							  : "updated";
				if (!state)
					continue;
				struct report_conffile *nv = realloc(
					r->conffiles,
					(r->n_conffiles + 1) * sizeof(*nv));
				if (!nv)
					return -ENOMEM;
				r->conffiles = nv;
				struct report_conffile *rc =
					&nv[r->n_conffiles++];
				*rc = (struct report_conffile){strdup(rp->name),
							       strdup(cf->path),
							       strdup(state)};
				if (!rc->package || !rc->path || !rc->state)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int add_service(struct report *r, char *name)
{
	size_t n = strv_len(r->services);
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(r->services[i], name)) {
			free(name);
			return 0;
		}
	return add_line(&r->services, &n, name);
}

/* Moves to R's services_stop those of R's services that transaction T
 * removes from its parent, as a merge of it would stop them
 * (service_removes: by T's diff D, its status NEW against the parent's
 * OLD, T's dpkg lists).  -ENOMEM. */
static int split_removed(struct world_store *s, const struct txn *t,
			 const struct world_diff *d,
			 const struct world_packages *new,
			 const struct world_packages *old, struct report *r,
			 struct world_error *err)
{
	const struct world_packages pk[2] = {*new, *old};
	struct world_error ie = {0};
	_cleanup_close_ int info = world_open_in(
		s, t->name, "/var/lib/dpkg/info", O_RDONLY | O_DIRECTORY, &ie);
	size_t k = 0, n_stop = 0;
	for (size_t i = 0; r->services && r->services[i]; i++) {
		char *name = r->services[i];
		if (!service_removes(s, t->name, info, d, pk, name)) {
			r->services[k++] = name;
			continue;
		}
		r->services[i] = NULL;
		if (add_line(&r->services_stop, &n_stop, name) < 0) {
			/* The rest stay where they were: released whole. */
			r->services[i] = name;
			for (size_t j = i; r->services[j]; j++)
				r->services[k++] = r->services[j];
			r->services[k] = NULL;
			return out_of_memory(err);
		}
	}
	if (r->services)
		r->services[k] = NULL;
	return 0;
}

/* A change's letter in the report: m for a modification of nothing but
 * metadata (see the top of this file). */
static char change_letter(const struct world_change *c)
{
	const unsigned data = WORLD_CHANGED_TYPE | WORLD_CHANGED_CONTENT |
			      WORLD_CHANGED_TARGET | WORLD_CHANGED_DEVICE;
	return c->kind == 'M' && !(c->what & data) ? 'm' : c->kind;
}

/* Files of the changed packages, from dpkg's lists in both trees. */
static int add_files(struct world_store *s, const struct txn *t,
		     const struct world_diff *d, struct report *r,
		     struct world_error *err)
{
	size_t np = r->n_packages;
	int res = 0;
	char **names = calloc(np + 1, sizeof(*names));
	char **archs = calloc(np + 1, sizeof(*archs));
	if (!names || !archs) {
		free(names);
		free(archs);
		return out_of_memory(err);
	}
	for (size_t i = 0; i < np; i++) {
		names[i] = r->packages[i].name;
		archs[i] = r->packages[i].arch;
	}
	/* Read from the trees: no process of apt's in either world. */
	char ***lists[2] = {NULL, NULL};
	const char *worlds[2] = {t->name, t->parent};
	for (int side = 0; side < 2 && res >= 0; side++)
		res = world_package_files(s, worlds[side], names, archs, np,
					  &lists[side], err);
	size_t no = 0, cap = 0;
	struct owner *own = NULL;
	for (int side = 0; side < 2 && res >= 0; side++)
		for (size_t i = 0; i < np; i++)
			for (char **f = lists[side][i]; f && *f; f++) {
				if (side == 0 || !r->packages[i].new_version) {
					char *svc = service_of_path(*f);
					if (svc && add_service(r, svc) < 0) {
						res = out_of_memory(err);
						break;
					}
				}
				if (no == cap) {
					cap = cap ? 2 * cap : 1024;
					struct owner *nv =
						realloc(own, cap * sizeof(*nv));
					if (!nv) {
						res = out_of_memory(err);
						break;
					}
					own = nv;
				}
				own[no++] = (struct owner){*f, i};
			}
	if (res >= 0) {
		qsort(own, no, sizeof(*own), cmp_owner);
		size_t n_other = 0;
		size_t *n_files = calloc(np + 1, sizeof(*n_files));
		if (!n_files)
			res = out_of_memory(err);
		for (size_t i = 0; res >= 0 && i < d->n; i++) {
			const struct world_change *c = &d->v[i];
			if (c->excluded)
				continue;
			struct owner key = {c->path, 0};
			struct owner *o = no ? bsearch(&key, own, no,
						       sizeof(*own), cmp_owner)
					     : NULL;
			char *line = NULL;
			if (asprintf(&line, "%c %s", change_letter(c),
				     c->path) < 0)
				line = NULL;
			if ((o ? add_line(&r->packages[o->pkg].files,
					  &n_files[o->pkg], line)
			       : add_line(&r->other_files, &n_other, line)) < 0)
				res = out_of_memory(err);
		}
		free(n_files);
	}
	free(own);
	world_package_files_free(lists[0], np);
	world_package_files_free(lists[1], np);
	free(names);
	free(archs);
	return res;
}

/* The conflicts of NAME's chain with Root; KNOWN (may be NULL) is the
 * diff of a world of the chain against Root, already computed. */
static int chain_conflicts(struct world_store *s, const char *name,
			   const struct world_diff *known, char ***out,
			   struct world_error *err)
{
	_cleanup_strv_free_ char **chain = NULL;
	int r = txn_chain(s, name, &chain, err);
	char **v = NULL;
	size_t n = 0;
	for (char **w = chain; r >= 0 && w && *w; w++) {
		struct world_diff d = {0};
		bool reuse = known && !strcmp(*w, name);
		if (!reuse && (r = world_diff(s, *w, WORLD_ROOT, &d, err)) < 0)
			break;
		const struct world_diff *dp = reuse ? known : &d;
		for (size_t i = 0; i < dp->n; i++) {
			const struct world_change *c = &dp->v[i];
			char *line = NULL;
			if (!c->conflict || c->checked_off || c->excluded)
				continue;
			if (asprintf(&line, "%s: %s", c->path,
				     c->note ? c->note
					     : "changed in Root meanwhile") < 0)
				line = NULL;
			if (add_line(&v, &n, line) < 0) {
				r = out_of_memory(err);
				break;
			}
		}
		world_diff_release(&d);
	}
	if (r < 0) {
		strvfreep(&v);
		return r;
	}
	if (!v)
		v = calloc(1, sizeof(*v));
	*out = v;
	return v ? 0 : -ENOMEM;
}

int report_conflicts(struct world_store *s, const char *name, char ***out,
		     struct world_error *err)
{
	return chain_conflicts(s, name, NULL, out, err);
}

int report_build(struct world_store *s, const struct txn *t, struct report *out,
		 struct world_error *err)
{
	struct report r = {0};
	struct world_packages old = {0}, new = {0};
	struct world_diff d = {0};
	int res = world_packages(s, t->parent, &old, err);
	if (res >= 0)
		res = world_packages(s, t->name, &new, err);
	if (res >= 0)
		res = world_diff(s, t->name, t->parent, &d, err);
	if (res >= 0 && changed_packages(&old, &new, &r) < 0)
		res = out_of_memory(err);
	if (res >= 0)
		res = add_files(s, t, &d, &r, err);
	if (res >= 0 && add_conffiles(&r, &new, &d) < 0)
		res = out_of_memory(err);
	if (res >= 0)
		res = split_removed(s, t, &d, &new, &old, &r, err);
	if (res >= 0) {
		/* Built on Root, the diff against the parent is the one
		 * against Root. */
		res = chain_conflicts(s, t->name,
				      strcmp(t->parent, WORLD_ROOT) ? NULL : &d,
				      &r.conflicts, err);
	}
	world_diff_release(&d);
	world_packages_release(&old);
	world_packages_release(&new);
	if (res < 0) {
		report_release(&r);
		return res;
	}
	*out = r;
	return 0;
}

/* Text fields of the note: "\n" and "\\" escaped. */
static void put_field(FILE *f, const char *s)
{
	for (; *s; s++)
		if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else
			fputc(*s, f);
}

static char *get_field(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	for (; out && *s; s++) {
		if (*s == '\\' && (s[1] == 'n' || s[1] == '\\'))
			*o++ = *++s == 'n' ? '\n' : '\\';
		else
			*o++ = *s;
	}
	if (o)
		*o = '\0';
	return out;
}

int report_save(struct world_store *s, const char *name, const struct report *r,
		struct world_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("pwapt-report 1\n", f);
	for (size_t i = 0; i < r->n_packages; i++) {
		const struct report_package *p = &r->packages[i];
		fprintf(f, "pkg %s %s %s %s %s %s\n", p->name,
			*p->arch ? p->arch : "-",
			p->old_version ? p->old_version : "-",
			p->new_version ? p->new_version : "-",
			p->old_status ? p->old_status : "-",
			p->new_status ? p->new_status : "-");
		for (char **l = p->files; l && *l; l++) {
			fputs("file ", f);
			put_field(f, *l);
			fputc('\n', f);
		}
	}
	for (char **l = r->other_files; l && *l; l++) {
		fputs("other ", f);
		put_field(f, *l);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->n_conffiles; i++) {
		fprintf(f, "conffile %s %s ", r->conffiles[i].package,
			r->conffiles[i].state);
		put_field(f, r->conffiles[i].path);
		fputc('\n', f);
	}
	for (char **l = r->services; l && *l; l++)
		fprintf(f, "service %s\n", *l);
	for (char **l = r->services_stop; l && *l; l++)
		fprintf(f, "service-stop %s\n", *l);
	for (char **l = r->conflicts; l && *l; l++) {
		fputs("conflict ", f);
		put_field(f, *l);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->n_tests; i++) {
		fprintf(f, "test %d ", r->tests[i].status);
		put_field(f, r->tests[i].name);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return world_note_write(s, name, "report", buf, len, err);
}

/* A field of a "pkg" line in *OUT: NULL for "-"; -ENOMEM. */
static int undash(const char *s, char **out)
{
	return dup_or_null(strcmp(s, "-") ? s : NULL, out);
}

int report_load(struct world_store *s, const char *name, struct report *out,
		struct world_error *err)
{
	_cleanup_free_ char *text = NULL;
	int res = world_note_read(s, name, "report", &text, NULL, err);
	if (res < 0)
		return res;
	struct report r = {0};
	size_t n_other = 0, n_svc = 0, n_stop = 0, n_conf = 0, n_files = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && res >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		if (!strcmp(line, "pkg")) {
			char f[6][256];
			if (sscanf(sp, "%255s %255s %255s %255s %255s %255s",
				   f[0], f[1], f[2], f[3], f[4], f[5]) != 6)
				continue;
			struct report_package *nv = realloc(
				r.packages, (r.n_packages + 1) * sizeof(*nv));
			if (!nv) {
				res = -ENOMEM;
				break;
			}
			r.packages = nv;
			struct report_package *p = &nv[r.n_packages++];
			*p = (struct report_package){0};
			/* Counted already: report_release() frees what it
			 * got. */
			if (dup_or_null(f[0], &p->name) < 0 ||
			    dup_or_null(strcmp(f[1], "-") ? f[1] : "",
					&p->arch) < 0 ||
			    undash(f[2], &p->old_version) < 0 ||
			    undash(f[3], &p->new_version) < 0 ||
			    undash(f[4], &p->old_status) < 0 ||
			    undash(f[5], &p->new_status) < 0)
				res = -ENOMEM;
			n_files = 0;
		} else if (!strcmp(line, "file") && r.n_packages) {
			res = add_line(&r.packages[r.n_packages - 1].files,
				       &n_files, get_field(sp));
		} else if (!strcmp(line, "other")) {
			res = add_line(&r.other_files, &n_other, get_field(sp));
		} else if (!strcmp(line, "conffile")) {
			char pkg[256], state[32];
			int off = 0;
			if (sscanf(sp, "%255s %31s %n", pkg, state, &off) != 2)
				continue;
			struct report_conffile *nv = realloc(
				r.conffiles, (r.n_conffiles + 1) * sizeof(*nv));
			if (!nv) {
				res = -ENOMEM;
				break;
			}
			r.conffiles = nv;
			struct report_conffile *c = &nv[r.n_conffiles++];
			*c = (struct report_conffile){strdup(pkg),
						      get_field(sp + off),
						      strdup(state)};
			if (!c->package || !c->path || !c->state)
				res = -ENOMEM;
		} else if (!strcmp(line, "service")) {
			res = add_line(&r.services, &n_svc, strdup(sp));
		} else if (!strcmp(line, "service-stop")) {
			res = add_line(&r.services_stop, &n_stop, strdup(sp));
		} else if (!strcmp(line, "conflict")) {
			res = add_line(&r.conflicts, &n_conf, get_field(sp));
		} else if (!strcmp(line, "test")) {
			int st = 0, off = 0;
			if (sscanf(sp, "%d %n", &st, &off) != 1)
				continue;
			struct report_test *nv =
				realloc(r.tests, (r.n_tests + 1) * sizeof(*nv));
			if (!nv) {
				res = -ENOMEM;
				break;
			}
			r.tests = nv;
			nv[r.n_tests++] =
				(struct report_test){get_field(sp + off), st};
			if (!nv[r.n_tests - 1].name)
				res = -ENOMEM;
		}
	}
	if (res < 0) {
		report_release(&r);
		return out_of_memory(err);
	}
	*out = r;
	return 0;
}

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

/* A line of a file list, "K PATH", shown with its path quoted where it
 * must be (the world named the file). */
static void put_file_line(FILE *f, const char *line)
{
	fputs("      ", f);
	if (line[0] && line[1] == ' ') {
		fprintf(f, "%c ", line[0]);
		put_path(f, line + 2);
	} else {
		put_text(f, line);
	}
	fputc('\n', f);
}

void report_print(FILE *f, const struct txn *t, const struct report *r,
		  bool full)
{
	fprintf(f, "Transaction %s: %s", t->name, t->kind);
	for (char **p = t->packages; p && *p; p++)
		fprintf(f, " %s", *p);
	fprintf(f, ", in a world over %s: %s\n", t->parent,
		txn_phase_name(t->phase));
	if (t->result)
		fprintf(f, "  %s\n", t->result);
	fprintf(f, "Packages changed: %zu\n", r->n_packages);
	for (size_t i = 0; i < r->n_packages; i++) {
		const struct report_package *p = &r->packages[i];
		size_t k[4] = {0}; /* added, changed, removed, metadata only */
		for (char **l = p->files; l && *l; l++)
			k[**l == 'A'   ? 0
			  : **l == 'D' ? 2
			  : **l == 'm' ? 3
				       : 1]++;
		_cleanup_free_ char *shown = apt_name(r, p);
		fprintf(f, "  %s %s -> %s", shown ? shown : p->name,
			or_none(p->old_version), or_none(p->new_version));
		if (p->new_status && strcmp(p->new_status, "installed"))
			fprintf(f, " [%s]", p->new_status);
		fprintf(f, " (files: %zu added, %zu changed, %zu removed", k[0],
			k[1], k[2]);
		if (k[3])
			fprintf(f, ", %zu metadata only", k[3]);
		fputs(")\n", f);
		for (char **l = p->files; full && l && *l; l++)
			put_file_line(f, *l);
	}
	size_t n_other = strv_len(r->other_files);
	if (n_other) {
		fprintf(f, "Other files changed: %zu%s\n", n_other,
			full ? "" : " (pwapt show --json lists them)");
		for (char **l = r->other_files; full && l && *l; l++)
			put_file_line(f, *l);
	}
	if (r->n_conffiles)
		fprintf(f, "Configuration files:\n");
	for (size_t i = 0; i < r->n_conffiles; i++) {
		const struct report_conffile *c = &r->conffiles[i];
		const char *st = c->state;
		fputs("  ", f);
		put_path(f, c->path);
		fprintf(f, " (%s): ", c->package);
		if (!strcmp(st, "kept"))
			fprintf(f,
				"your version kept; the package's is "
				"%s.dpkg-dist\n",
				c->path);
		else if (!strcmp(st, "replaced"))
			fprintf(f,
				"the package's version installed; yours is "
				"%s.dpkg-old\n",
				c->path);
		else
			fprintf(f, "%s\n", st);
	}
	if (r->services && *r->services) {
		fprintf(f, "Services to restart after the merge:");
		for (char **l = r->services; *l; l++)
			fprintf(f, " %s", *l);
		fputc('\n', f);
	}
	if (r->services_stop && *r->services_stop) {
		fprintf(f, "Services to stop before the merge (its package is "
			   "removed):");
		for (char **l = r->services_stop; *l; l++)
			fprintf(f, " %s", *l);
		fputc('\n', f);
	}
	size_t nc = strv_len(r->conflicts);
	fprintf(f, "Conflicts with Root: %s\n", nc ? "" : "none");
	for (char **l = r->conflicts; l && *l; l++) {
		fputs("  ! ", f);
		put_text(f, *l);
		fputc('\n', f);
	}
	if (r->n_tests) {
		size_t failed = 0;
		for (size_t i = 0; i < r->n_tests; i++)
			failed += r->tests[i].status != 0;
		fprintf(f, "Tests: %zu passed, %zu failed\n",
			r->n_tests - failed, failed);
		for (size_t i = 0; i < r->n_tests; i++)
			if (r->tests[i].status)
				fprintf(f, "  FAILED %s (exit %d)\n",
					r->tests[i].name, r->tests[i].status);
	} else {
		fprintf(f, "Tests: none\n");
	}
}

static void json_strv(FILE *f, char *const *v)
{
	fputc('[', f);
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			fputc(',', f);
		json_string(f, v[i]);
	}
	fputc(']', f);
}

static void json_or_null(FILE *f, const char *s)
{
	if (s)
		json_string(f, s);
	else
		fputs("null", f);
}

static void json_changes(FILE *f, char *const *v)
{
	fputc('[', f);
	for (size_t i = 0; v && v[i]; i++) {
		bool meta = v[i][0] == 'm';
		fprintf(f,
			"%s{\"change\":\"%c\",\"metadata_only\":%s,"
			"\"path\":",
			i ? "," : "", meta ? 'M' : v[i][0],
			meta ? "true" : "false");
		json_string(f, v[i] + 2);
		fputc('}', f);
	}
	fputc(']', f);
}

void report_print_json(FILE *f, const struct txn *t, const struct report *r)
{
	fputs("{\"name\":", f);
	json_string(f, t->name);
	fputs(",\"parent\":", f);
	json_string(f, t->parent);
	fputs(",\"kind\":", f);
	json_string(f, t->kind);
	fputs(",\"requested\":", f);
	json_strv(f, t->packages);
	fprintf(f, ",\"state\":\"%s\",\"result\":", txn_phase_name(t->phase));
	json_or_null(f, t->result);
	fputs(",\"packages\":[", f);
	for (size_t i = 0; i < r->n_packages; i++) {
		const struct report_package *p = &r->packages[i];
		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_string(f, p->name);
		fputs(",\"arch\":", f);
		json_string(f, p->arch);
		fputs(",\"old_version\":", f);
		json_or_null(f, p->old_version);
		fputs(",\"new_version\":", f);
		json_or_null(f, p->new_version);
		fputs(",\"old_status\":", f);
		json_or_null(f, p->old_status);
		fputs(",\"new_status\":", f);
		json_or_null(f, p->new_status);
		fputs(",\"files\":", f);
		json_changes(f, p->files);
		fputc('}', f);
	}
	fputs("],\"other_files\":", f);
	json_changes(f, r->other_files);
	fputs(",\"conffiles\":[", f);
	for (size_t i = 0; i < r->n_conffiles; i++) {
		fprintf(f, "%s{\"package\":", i ? "," : "");
		json_string(f, r->conffiles[i].package);
		fputs(",\"path\":", f);
		json_string(f, r->conffiles[i].path);
		fputs(",\"state\":", f);
		json_string(f, r->conffiles[i].state);
		fputc('}', f);
	}
	fputs("],\"services\":", f);
	json_strv(f, r->services);
	fputs(",\"services_to_stop\":", f);
	json_strv(f, r->services_stop);
	fputs(",\"conflicts\":", f);
	json_strv(f, r->conflicts);
	fputs(",\"tests\":[", f);
	for (size_t i = 0; i < r->n_tests; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		json_string(f, r->tests[i].name);
		fprintf(f, ",\"status\":%d,\"passed\":%s}", r->tests[i].status,
			r->tests[i].status ? "false" : "true");
	}
	fputs("]}\n", f);
}
