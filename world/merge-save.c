/* The merge's saves (merge-internal.h, "merge-save.c"): before a merge
 * writes anything, what DST has at each path it replaces or deletes is
 * hard-linked into its undo, a directory's metadata kept beside, and the
 * ctimes DST's paths have noted for what an undo may teach other worlds
 * (undo-known.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "merge-internal.h"
#include "save.h"

/* The directory that holds O's path AT in C's tree (C's, borrowed), where
 * DST has there what the plan saw (*ST); -ESTALE where DST replaced it
 * since, -errno. */
static int open_planned(struct parent_cache *c, const struct op *o,
			const char *at, const char **b, struct stat *st)
{
	int par = parent_cache_open(c, at, b);
	bool dir = o->had == HAD_DIR || o->kind == OP_MOVE;
	int r = par < 0						? par
		: fstatat(par, *b, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
		: S_ISDIR(st->st_mode) != dir ||
				(o->had == HAD_FILE && st->st_ino != o->ino) ||
				(op_takes_dir(o) &&
				 !merge_dir_as_planned(o, st))
			? -ESTALE
			: 0;
	return r < 0 ? r : par;
}

/* UNDO/before: the ctimes DST's paths and their directories have before
 * the merge touches them, what an undo of it may teach other worlds
 * (undo-known.c).  Written whole and durable (the file, then its
 * directory) before the first save: a merge killed while it saves, or cut
 * by a power failure, leaves its recovery what to learn from.  Of a move
 * also the directory it enters, as DST names it before the merge.  Not
 * written (a full disk): nothing learnt, conflicts, never one missed. */
static int note_before(int tree, int undo, const struct plan *p,
		       struct timespec *bc)
{
	_cleanup_free_ char *before = NULL, *last = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&before, &len);
	if (!f)
		return -ENOMEM;
	_cleanup_(parent_cache_release) struct parent_cache pc =
		PARENT_CACHE_INIT(tree);
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->v[i];
		/* Below a directory a move renames first, DST holds it
		 * elsewhere until then (merge-move.c). */
		const char *at = o->before ? o->before : o->path;
		undo_note_before_dir(f, tree, at, &last);
		if (o->kind == OP_MOVE) {
			_cleanup_free_ char *to =
				merge_moves_unapplied(p, i, o->path);
			if (to)
				undo_note_before_dir(f, tree, to, &last);
		}
		if (o->had == HAD_NONE && o->kind != OP_MOVE)
			continue;
		const char *b;
		struct stat st;
		if (open_planned(&pc, o, at, &b, &st) >= 0) {
			undo_put_ctime(f, &st, at);
			bc[i] = st.st_ctim;
		}
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	(void)write_file_atomic(undo, "before", before, len, 0600);
	crash_point("merge-noted");
	return 0;
}

/* The ctime the save of operation I left on DST's file WAS, on F
 * (UNDO/seen as it goes, for a recovery of a merge killed while it
 * saves): of each operation whose file it is (undo_note_seen()), which
 * only a file with other names may be before. */
static void note_seen(FILE *f, const struct plan *p, size_t i,
		      const struct stat *was)
{
	const struct op *o = &p->v[i];
	struct stat st = {.st_ctim = o->seen};
	if (!f || (!o->seen.tv_sec && !o->seen.tv_nsec))
		return;
	for (size_t k = was->st_nlink > 1 ? 0 : i; k <= i; k++) {
		const struct op *q = &p->v[k];
		if (k == i || (q->had == HAD_FILE && q->ino == was->st_ino &&
			       q->dev == was->st_dev &&
			       q->seen.tv_sec == o->seen.tv_sec &&
			       q->seen.tv_nsec == o->seen.tv_nsec))
			undo_put_ctime(f, &st, q->before ? q->before : q->path);
	}
}

/* Whether DST's path of operation I has the ctime undo/before noted
 * (BC[I]), or the one the link of an earlier name of the same file gave. */
static bool as_noted(const struct plan *p, size_t i, const struct stat *st,
		     const struct timespec *bc)
{
	if (st->st_ctim.tv_sec == bc[i].tv_sec &&
	    st->st_ctim.tv_nsec == bc[i].tv_nsec)
		return true;
	for (size_t k = 0; k < i; k++) {
		const struct op *q = &p->v[k];
		if (q->had == HAD_FILE && q->ino == st->st_ino &&
		    q->dev == st->st_dev &&
		    q->seen.tv_sec == st->st_ctim.tv_sec &&
		    q->seen.tv_nsec == st->st_ctim.tv_nsec)
			return true;
	}
	return false;
}

/* How many saves' UNDO/seen notes a power cut may lose at most: their
 * ctimes a link gave, known only once it is made, are made durable a batch
 * at a time (an fsync for each would cost a journal commit per file), and
 * all of them (syncfs) before the merge writes anything over DST. */
#define SEEN_SYNC_BATCH 128

int merge_save_all(struct world_store *s, int tree, int undo, int staged,
		   struct plan *p, struct world_error *err)
{
	/* A hard link into the undo changes the ctime of DST's file: the
	 * last merge into DST must not take it for a change of DST.  Noted
	 * in the undo's own-log too, after each link: killed here, the
	 * recovery's undo starts from them (undo_log_open), and its release
	 * of the links chains on from the ctimes they gave. */
	_cleanup_free_ char *own = NULL;
	const char *failed = NULL;
	size_t saves = 0;
	struct undo_log ol, sl = UNDO_LOG_INIT;
	int r = undo_log_open(&ol, undo, UNDO_OWN_LOG);
	FILE *of = ol.f;
	if (r >= 0)
		r = undo_log_open(&sl, undo, "seen");
	_cleanup_free_ struct timespec *bc = calloc(p->n + 1, sizeof(*bc));
	if (r >= 0)
		r = bc ? note_before(tree, undo, p, bc) : -ENOMEM;
	if (r < 0) {
		undo_log_release(&ol);
		undo_log_release(&sl);
		return werr(err, ENOMEM, "out of memory");
	}
	_cleanup_(parent_cache_release) struct parent_cache pc =
		PARENT_CACHE_INIT(tree);
	for (size_t i = 0; i < p->n && r >= 0; i++) {
		const struct op *o = &p->v[i];
		const char *b;
		char n[32];
		snprintf(n, sizeof(n), "%zu", i);
		const char *at = o->before ? o->before : o->path;
		if (o->had == HAD_NONE && o->kind != OP_MOVE)
			continue;
		struct stat st, now;
		int par = open_planned(&pc, o, at, &b, &st);
		r = par < 0 ? par : 0;
		/* DST changed it since undo/before noted it: a link's
		 * ctime would teach the old one past DST's change.  A file
		 * only: a directory's ctime follows its entries (and no
		 * link of the saves gives it one). */
		if (r >= 0 && o->had == HAD_FILE && !as_noted(p, i, &st, bc))
			r = -ESTALE;
		if (r >= 0 && o->had == HAD_FILE) {
			r = save_path(par, b, undo, n);
			/* The link alone: the same file, one link more. */
			if (r >= 0 &&
			    fstatat(par, b, &now, AT_SYMLINK_NOFOLLOW) == 0) {
				undo_note_seen(p, i, &st, &now);
				if (undo_same_file(&st, &now) &&
				    now.st_nlink == st.st_nlink + 1)
					undo_note_own(of, o->path, &st, &now);
				note_seen(sl.f, p, i, &st);
				undo_log_flush(&ol);
				if (++saves % SEEN_SYNC_BATCH)
					undo_log_flush(&sl);
				else
					undo_log_sync(&sl);
				crash_point_n("merge-save", saves - 1);
			}
		} else if (r >= 0 && (o->kind == OP_DIR || o->kind == OP_MOVE))
			r = save_dir_meta(par, b, undo, strcat(n, ".meta"));
		if (r < 0) {
			failed = o->path;
			break;
		}
	}
	/* UNDO/seen whole, over the notes made as it went. */
	undo_log_release(&sl);
	int synced = undo_write_seen(undo, p);
	if (r >= 0 && synced < 0) {
		r = synced;
		failed = "the undo";
	}
	/* A save failed: the links made so far are released (merge_locked),
	 * and the ctimes they gave DST's files are pwapt's own. */
	if (r < 0 && (own = undo_log_close(&ol)))
		(void)undo_keep_own(s, p->dst, own);
	if (r == -ESTALE || r == -ENOENT)
		return werr(err, EEXIST,
			    "cannot merge into '%s': %s changed in '%s' during "
			    "the merge",
			    p->dst, failed, p->dst);
	if (r < 0)
		return werr_errno(err, -r, "cannot save %s of '%s'", failed,
				  p->dst);
	/* UNDO itself is durable with the syncfs of undo_write_seen();
	 * STAGED too, unless it is on another file system. */
	struct stat us, ss;
	if (staged >= 0 && (fstat(undo, &us) < 0 || fstat(staged, &ss) < 0 ||
			    (us.st_dev != ss.st_dev && fsync(staged) < 0))) {
		r = errno;
		undo_log_release(&ol);
		return werr_errno(err, r, "cannot save what '%s' had", p->dst);
	}
	/* Not kept (out of memory, a full disk): a rollback of the last
	 * merge refuses, naming the paths; --force undoes it anyway. */
	if ((own = undo_log_close(&ol)))
		(void)undo_keep_own(s, p->dst, own);
	return 0;
}
