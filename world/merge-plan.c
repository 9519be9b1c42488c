/* wmerge's plan (merge_plan(), merge-internal.h): the operations that
 * make DST what SRC shows, from the diff, path by path in the diff's
 * order; a directory SRC renamed moves whole where it can (merge-move.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbmerge.h"
#include "fsutil.h"
#include "merge-internal.h"

/* An account database merged record by record takes its other file with
 * it (passwd and shadow, group and gshadow), whoever changed that: a name
 * must take one side in both (dbmerge_partner()). */
static int pair_databases(int dst_tree, int src_tree, struct plan *p)
{
	size_t n = p->n;
	for (size_t i = 0; i < n; i++) {
		const char *mate = p->v[i].kind == OP_MRG
					   ? dbmerge_partner(p->v[i].path)
					   : NULL;
		if (!mate)
			continue;
		size_t j = 0;
		while (j < p->n && strcmp(p->v[j].path, mate))
			j++;
		if (j < p->n) {
			struct op *o = &p->v[j];
			if (o->had != HAD_DIR &&
			    (o->kind == OP_PUT || o->kind == OP_DEL)) {
				o->kind = OP_MRG;
				o->dst_changed = true;
			}
			continue;
		}
		struct stat xs, ys;
		int had = journal_kind_of(dst_tree, mate, &ys);
		int src = journal_kind_of(src_tree, mate, &xs);
		if (had < 0 || src < 0)
			return had < 0 ? had : src;
		if (had == HAD_DIR || src == HAD_DIR ||
		    (had == HAD_NONE && src == HAD_NONE))
			continue;
		struct op o = {.kind = OP_MRG,
			       .had = had,
			       .dst_changed = true,
			       .ino = had != HAD_NONE ? ys.st_ino : 0,
			       .path = strdup(mate)};
		if (!o.path || journal_plan_add(p, o) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The plan of D without the moves of MV (NULL: none). */
static int plan_changes(int dst_tree, int src_tree, bool force,
			const struct world_diff *d, struct merge_moves *mv,
			struct plan *p)
{
	/* The DST directories that move away whole: not only the last one,
	 * as strcmp puts "/x-y" and "/x.d" (and what is below them) between
	 * "/x" and "/x/f". */
	const char **moved = NULL;
	size_t n_moved = 0;
	int ret = 0;
	_cleanup_(parent_cache_release) struct parent_cache dc =
		PARENT_CACHE_INIT(dst_tree);
	_cleanup_(parent_cache_release) struct parent_cache sc =
		PARENT_CACHE_INIT(src_tree);
	for (size_t i = 0; i < d->n; i++) {
		const struct world_change *c = &d->v[i];
		int how = mv ? merge_moves_covers(mv, i) : 0;
		if (how == 2) {
			int r = merge_moves_plan(mv, i, p);
			if (r < 0) {
				ret = r;
				break;
			}
			continue;
		}
		if (c->excluded || c->checked_off || how)
			continue;
		bool gone = false;
		for (size_t k = n_moved; c->kind == 'D' && !gone && k-- > 0;)
			gone = diff_below(c->path, moved[k], strlen(moved[k]));
		if (gone)
			continue; /* gone with its directory */
		struct stat xs, ys = {0};
		int had = journal_kind_in(&dc, c->path, &ys);
		int src = journal_kind_in(&sc, c->path, &xs);
		if (had < 0 || src < 0) {
			ret = had < 0 ? had : src;
			break;
		}
		struct op o = {.had = had,
			       .dst_changed = c->conflict || c->merged,
			       .ino = had != HAD_NONE ? ys.st_ino : 0};
		/* A database both sides changed is merged record by record,
		 * never replaced whole: also when SRC deleted it (DST's new
		 * records stay) and, forced, when records conflict (those
		 * alone take SRC's side).  A log has no records to conflict:
		 * one still a conflict could not be read line by line (too
		 * big, no regular file), and forced is SRC's, as any file. */
		bool whole = c->conflict && dbmerge_log(c->path);
		enum dbmerge_action db =
			c->merged || (force && c->conflict && !whole)
				? dbmerge_planned(c->path)
				: DBMERGE_NONE;
		if (db == DBMERGE_DROP)
			o.kind = OP_DEL;
		else if (db == DBMERGE_MERGED)
			o.kind = OP_MRG;
		else if (c->kind == 'D')
			o.kind = OP_DEL;
		else
			o.kind = src == HAD_DIR ? OP_DIR : OP_PUT;
		if (o.kind == OP_DEL && had == HAD_NONE)
			continue;
		/* Checked before it moves away (merge.c). */
		o.ident_known = op_takes_dir(&o);
		o.ident_dev = ys.st_dev;
		o.ident_ino = ys.st_ino;
		o.ident_ctime = ys.st_ctim;
		if (!(o.path = strdup(c->path)) || journal_plan_add(p, o) < 0) {
			ret = -ENOMEM;
			break;
		}
		if (had == HAD_DIR && o.kind != OP_DIR) {
			const char **m =
				realloc(moved, (n_moved + 1) * sizeof(*moved));
			if (!m) {
				ret = -ENOMEM;
				break;
			}
			moved = m;
			moved[n_moved++] = p->v[p->n - 1].path;
		}
	}
	free(moved);
	return ret;
}

int merge_plan(int dst_tree, int src_tree, int src_layer, char *const *mounts,
	       bool force, const struct world_diff *d, struct plan *p)
{
	struct merge_moves *mv = NULL;
	int r = src_layer >= 0 ? merge_moves_find(dst_tree, src_tree, src_layer,
						  mounts, d, &mv)
			       : 0;
	if (r >= 0)
		r = plan_changes(dst_tree, src_tree, force, d, mv, p);
	merge_moves_release(mv);
	return r < 0 ? r : pair_databases(dst_tree, src_tree, p);
}

