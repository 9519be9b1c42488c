/* Three-way merges of the account databases: passwd, group, shadow and
 * gshadow (see db_merge_accounts() in dpkgdb.h), with the check that two names
 * are not given one id.  The record machinery is dbrec.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbrec.h"

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
	while (dbrec_next_line(in, &pos, &s, &len, &nl)) {
		lno++;
		if (len == 0)
			continue;
		const char *end = s + len, *colon = memchr(s, ':', len);
		size_t klen = colon ? (size_t)(colon - s) : len;
		if (klen == 0)
			return dbrec_line_error(in, lno,
						"a line without a name", err);
		struct rec *x = dbrec_add_line_record(in, recs, lno, s, klen, s,
						      len, err);
		if (!x)
			return -ENOMEM;
		const char *f = s;
		for (int i = 0; i < 2 && f; i++) {
			f = memchr(f, ':', (size_t)(end - f));
			f = f ? f + 1 : NULL;
		}
		const char *e = f ? memchr(f, ':', (size_t)(end - f)) : NULL;
		if (f &&
		    !(x->aux = dbrec_memdup0(f, (size_t)((e ? e : end) - f))))
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
		.write = dbrec_write_in_ours_order,
		.sep = "\n",
		.what = "the account database",
	};
	static const struct merge_kind names_and_ids = {
		.records = account_records,
		.check = account_ids,
		.write = dbrec_write_in_ours_order,
		.sep = "\n",
		.what = "the account database",
	};
	return dbrec_merge_files(with_ids ? &names_and_ids : &names, NULL, base,
				 ours, theirs, out, flags, conflicts, err);
}
