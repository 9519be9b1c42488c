/* Three-way merges of the text databases pwapt reads itself (see
 * dpkgdb.h): the deb822 files (apt's extended_states, debconf's database),
 * dpkg's diversions and statoverride files, and the append-only logs.  The
 * record machinery is dbrec.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "dbrec.h"

/* ---- text files pwapt reads itself ---- */

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
	f->name = dbrec_memdup0(s, (size_t)(colon - s));
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
	while (r == 0 && dbrec_next_line(in, &pos, &s, &len, &nl)) {
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
		.write = dbrec_write_in_ours_order,
		.sep = "\n",
		.what = "the file",
	};
	return dbrec_merge_files(&deb822, keys, base, ours, theirs, out, flags,
				 conflicts, err);
}

/* ---- dpkg's diversions and statoverride ---- */

/* The next line of a file dpkg reads line by line: 1, or 0 at the end.  Like
 * dpkg, refuses a NUL byte, an empty line and a last line without newline. */
static int next_dpkg_line(const struct input *in, size_t *pos, size_t *lno,
			  const char **s, size_t *len, struct world_error *err)
{
	bool nl;
	if (*pos == 0 && memchr(in->data, '\0', in->len))
		return werr(err, EBADMSG, "'%s' holds a NUL byte", in->name);
	if (!dbrec_next_line(in, pos, s, len, &nl))
		return 0;
	++*lno;
	if (!nl)
		return dbrec_line_error(in, *lno, "missing final newline", err);
	if (*len == 0)
		return dbrec_line_error(in, *lno, "empty line", err);
	return 1;
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
		struct rec *x = dbrec_add_line_record(
			in, recs, lno - 2, line[0], lens[0], line[0],
			lens[0] + lens[1] + lens[2] + 3, err);
		if (!x)
			return -ENOMEM;
		x->aux = dbrec_memdup0(line[1], lens[1]);
		if (!x->aux)
			return werr(err, ENOMEM, "cannot read '%s'", in->name);
		if (!strcmp(x->key, x->aux))
			return dbrec_line_error(
				in, x->line, "a file diverted to itself", err);
	}
	if (r < 0)
		return r;
	if (lno % 3)
		return dbrec_line_error(
			in, lno,
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
		.write = dbrec_write_in_ours_order,
		.sep = "",
		.what = "the diversions file",
	};
	return dbrec_merge_files(&diversions, NULL, base, ours, theirs, out,
				 flags, conflicts, err);
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
				return dbrec_line_error(
					in, lno,
					"expected 'user group mode path'", err);
			if (i == 2)
				mode = f;
			f = sp + 1;
		}
		if (f == end)
			return dbrec_line_error(in, lno, "missing path", err);
		for (const char *m = mode; m < f - 1; m++)
			if (*m < '0' || *m > '7' || m - mode >= 6)
				return dbrec_line_error(in, lno, "invalid mode",
							err);
		if (!dbrec_add_line_record(in, recs, lno, f, (size_t)(end - f),
					   s, len + 1, err))
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
		.write = dbrec_write_in_ours_order,
		.sep = "",
		.what = "the statoverride file",
	};
	return dbrec_merge_files(&statoverride, NULL, base, ours, theirs, out,
				 flags, conflicts, err);
}

/* ---- dpkg's file triggers ---- */

/* "path package[/noawait]": a package's interest in a path (dpkg's
 * triggers/File, as dpkg's trig_file_interests_ensure() reads it: the path
 * absolute, up to the first space).  dpkg reads the file as a set and
 * rewrites it in its own order, so the whole line is the record's key:
 * two packages interested in one path are two records, and only an
 * interest one side added and the other removed can conflict. */
static int trigfile_records(const struct input *in, const void *arg,
			    struct recs *recs, struct world_error *err)
{
	size_t pos = 0, lno = 0, len;
	const char *s;
	int r;

	while ((r = next_dpkg_line(in, &pos, &lno, &s, &len, err)) > 0) {
		const char *sp = memchr(s, ' ', len);
		if (*s != '/' || !sp || sp + 1 == s + len)
			return dbrec_line_error(
				in, lno, "expected '/path package'", err);
		if (!dbrec_add_line_record(in, recs, lno, s, len, s, len + 1,
					   err))
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return recs_sort_unique(recs, in->name, err);
}

int dpkgdb_merge_trigfile(const struct db_file *base,
			  const struct db_file *ours,
			  const struct db_file *theirs, int out, unsigned flags,
			  struct db_conflicts *conflicts,
			  struct world_error *err)
{
	static const struct merge_kind trigfile = {
		.records = trigfile_records,
		.write = dbrec_write_in_ours_order,
		.sep = "",
		.what = "dpkg's file triggers",
	};
	return dbrec_merge_files(&trigfile, NULL, base, ours, theirs, out,
				 flags, conflicts, err);
}

/* ---- logs ---- */

int db_merge_log(const struct db_file *ours, const struct db_file *theirs,
		 int out, struct world_error *err)
{
	struct input o, t;
	int r = input_read(ours, "ours", &o, err);
	if (r < 0)
		return dbrec_printable(r, err);
	r = input_read(theirs, "theirs", &t, err);
	if (r < 0) {
		input_release(&o);
		return dbrec_printable(r, err);
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
	r = dbrec_write_all(out, o.data, o.len, "the merged log", err);
	if (r == 0 && newline)
		r = dbrec_write_all(out, "\n", 1, "the merged log", err);
	if (r == 0)
		r = dbrec_write_all(out, t.data + from, t.len - from,
				    "the merged log", err);
	input_release(&o);
	input_release(&t);
	return dbrec_printable(r, err);
}
