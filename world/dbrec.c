/* The record machinery of the package database merges (see dpkgdb.h and
 * dbrec.h).
 *
 * Every kind of file goes through the same steps: each side is read into a
 * list of records (a key, the text that goes into OUT, and the form the sides
 * are compared in), the three lists are sorted by key and walked together,
 * one decision per key, and OUT is written from the records kept.  What
 * differs between the kinds of file is a struct merge_kind: dpkg's status
 * file in dpkgdb.c, the text databases in textdb.c, the account databases in
 * accountdb.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbrec.h"

/* ---- input and output ---- */

void input_release(struct input *in)
{
	free(in->data);
	in->data = NULL;
}

int input_read(const struct db_file *f, const char *dflt, struct input *in,
	       struct world_error *err)
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

int dbrec_write_all(int fd, const char *p, size_t n, const char *what,
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
int dbrec_printable(int r, struct world_error *err)
{
	if (r < 0 && err)
		for (char *c = err->msg; *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				*c = '?';
	return r;
}

int buf_add(struct buf *b, const char *s, size_t n)
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

void recs_release(struct recs *r)
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

struct rec *recs_add(struct recs *r)
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

char *dbrec_memdup0(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

bool rec_same(const struct rec *a, const struct rec *b)
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
int recs_sort_unique(struct recs *r, const char *name, struct world_error *err)
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

/* OUT for the files pwapt writes itself: records in OURS's order, then
 * THEIRS's new ones, each followed by the kind's separator. */
int dbrec_write_in_ours_order(const struct picks *p, int out,
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
		r = dbrec_write_all(out, b.p ? b.p : "", b.len, kind->what,
				    err);
	else
		r = werr(err, ENOMEM, "cannot merge %s", kind->what);
	free(b.p);
	return r;
}

/* The three sides' records of FILES, and their walk. */
static int read_and_walk(const struct merge_kind *kind, const void *arg,
			 const struct db_file *const files[3], bool force,
			 struct recs recs[3], struct picks *picks,
			 struct world_error *err)
{
	static const char *const names[3] = {"base", "ours", "theirs"};
	struct input in[3] = {0};
	int r = 0;
	for (int i = 0; i < 3 && r == 0; i++) {
		r = input_read(files[i], names[i], &in[i], err);
		if (r == 0)
			r = kind->records(&in[i], arg, &recs[i], err);
		input_release(&in[i]);
	}
	if (r == 0 && walk(&recs[0], &recs[1], &recs[2], force, picks) < 0)
		r = werr(err, ENOMEM, "cannot merge %s", kind->what);
	return r;
}

static const char *pick_key(const struct pick *x)
{
	return (x->o ? x->o : x->t ? x->t : x->b)->key;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys that the partner's sides change differently (its walk alone,
 * not its kind's checks), sorted; *n of them, into *keys (malloc'd, the
 * strings owned by RECS). */
static int partner_conflicts(const struct db_partner *pt, struct recs recs[3],
			     const char ***keys, size_t *n,
			     struct world_error *err)
{
	struct picks picks = {0};
	int r = read_and_walk(pt->kind, pt->arg, pt->files, false, recs,
			      &picks, err);
	const char **v = r == 0 ? calloc(picks.n + 1, sizeof(*v)) : NULL;
	if (r == 0 && !v)
		r = werr(err, ENOMEM, "cannot merge %s", pt->kind->what);
	*n = 0;
	for (size_t i = 0; r == 0 && i < picks.n; i++)
		if (picks.v[i].conflict)
			v[(*n)++] = pick_key(&picks.v[i]);
	free(picks.v);
	if (r < 0) {
		free(v);
		return r == -EBADMSG || r == -EFBIG
			       ? werr_wrap(err, "the paired database")
			       : r;
	}
	*keys = v;
	return 0;
}

int dbrec_merge_files(const struct merge_kind *kind, const void *arg,
		      const struct db_file *base, const struct db_file *ours,
		      const struct db_file *theirs, int out, unsigned flags,
		      struct db_conflicts *conflicts, struct world_error *err)
{
	return dbrec_merge_files_paired(kind, arg, base, ours, theirs, NULL,
					out, flags, conflicts, err);
}

int dbrec_merge_files_paired(const struct merge_kind *kind, const void *arg,
			     const struct db_file *base,
			     const struct db_file *ours,
			     const struct db_file *theirs,
			     const struct db_partner *partner, int out,
			     unsigned flags, struct db_conflicts *conflicts,
			     struct world_error *err)
{
	const struct db_file *const files[3] = {base, ours, theirs};
	struct recs recs[3] = {0}, precs[3] = {0};
	struct picks picks = {0};
	struct db_conflicts c = {0};
	bool force = flags & DB_MERGE_FORCE;
	const char **paired = NULL;
	size_t n_paired = 0;
	int r = 0;

	if (partner)
		r = partner_conflicts(partner, precs, &paired, &n_paired, err);
	if (r == 0)
		r = read_and_walk(kind, arg, files, force, recs, &picks, err);
	/* A key the partner's sides changed differently is one conflict
	 * over both files: it takes the same side in each. */
	for (size_t i = 0; r == 0 && n_paired && i < picks.n; i++) {
		struct pick *x = &picks.v[i];
		const char *key = pick_key(x);
		if (x->conflict || !bsearch(&key, paired, n_paired,
					    sizeof(*paired), cmp_str))
			continue;
		x->conflict = true;
		x->r = force ? x->t : x->o;
	}
	free(paired);
	while (r == 0 && kind->check && kind->check(&picks, force))
		;
	if (r == 0 && kind->verify)
		r = kind->verify(&picks, force, err);
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
	for (int i = 0; i < 3; i++) {
		recs_release(&recs[i]);
		recs_release(&precs[i]);
	}
	return dbrec_printable(r, err);
}

/* ---- lines of the text files (textdb.c, accountdb.c) ---- */

/* The next line of IN from *POS: [*start, *start + *len), without its
 * newline; false at the end. */
bool dbrec_next_line(const struct input *in, size_t *pos, const char **start,
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

int dbrec_line_error(const struct input *in, size_t lno, const char *what,
		     struct world_error *err)
{
	return werr(err, EBADMSG, "'%s' line %zu: %s", in->name, lno, what);
}

/* A record of such a file: TEXT (its lines) keyed by KEY. */
struct rec *dbrec_add_line_record(const struct input *in, struct recs *recs,
				  size_t line, const char *key, size_t key_len,
				  const char *text, size_t len,
				  struct world_error *err)
{
	struct rec *x = recs_add(recs);
	if (x) {
		x->line = line;
		x->key = dbrec_memdup0(key, key_len);
		x->name = dbrec_memdup0(key, key_len);
		x->arch = strdup("");
		x->len = len;
		x->text = dbrec_memdup0(text, len);
	}
	if (!x || !x->key || !x->name || !x->arch || !x->text) {
		werr(err, ENOMEM, "cannot read '%s'", in->name);
		return NULL;
	}
	return x;
}
