/* The merge operations of world.h: world_merge, world_rollback,
 * world_last_merge.  They check their arguments and take DST's database
 * locks; the merge itself is merge.c's, its undo undo.c's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "container.h"
#include "crash.h"
#include "dbmerge.h"
#include "fsutil.h"
#include "layers.h"
#include "lifecycle.h"
#include "merge-internal.h"

/* Reads merges/DST, the record of the last merge into DST, into *P and
 * opens it as *LDIR. */
static int last_merge(struct world_store *s, const char *dst, int *ldir,
		      struct plan *p, struct world_error *err)
{
	if (!store_name_valid(dst))
		return werr(err, EINVAL, "invalid world name '%s'", dst);
	if (!store_world_exists(s, dst))
		return werr(err, ENOENT, "no world named '%s'", dst);
	_cleanup_free_ char *last = path_join("merges", dst);
	_cleanup_close_ int fd =
		last ? openat(s->state_fd, last,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		     : -1;
	if (fd < 0)
		return werr(err, ENOENT, "no merge into '%s' to roll back",
			    dst);
	int r = journal_read(fd, p);
	/* Half removed, by a command killed as it went (its journal goes
	 * first; an older pwapt's undo could go first): none kept. */
	if (r == -ENOENT || (r >= 0 && !undo_exists(fd))) {
		if (r >= 0)
			journal_plan_release(p);
		return werr(err, ENOENT, "no merge into '%s' to roll back",
			    dst);
	}
	if (r < 0 || p->phase != 2) {
		if (r >= 0)
			journal_plan_release(p);
		return werr(err, EBADMSG,
			    "the record of the last merge into "
			    "'%s' is damaged",
			    dst);
	}
	*ldir = steal_fd(&fd);
	return 0;
}

int world_merge_rolled_back(struct world_store *s, const char *dst, uint64_t id)
{
	if (!store_name_valid(dst))
		return -EINVAL;
	return id ? journal_rolled_back(s->state_fd, dst, id) : 0;
}

void world_merge_record_release(struct world_merge_record *m)
{
	free(m->src);
	free(m->dst);
	strvfreep(&m->rebased);
	*m = (struct world_merge_record){0};
}

int world_last_merge(struct world_store *s, const char *dst,
		     struct world_merge_record *out, struct world_error *err)
{
	_cleanup_close_ int ldir = -1;
	struct plan p;
	int r = last_merge(s, dst, &ldir, &p, err);
	if (r < 0)
		return r;
	struct world_merge_record m = {
		.id = p.id,
		.src = steal_pointer(&p.src),
		.dst = steal_pointer(&p.dst),
		.rebased = p.rebased ? steal_pointer(&p.rebased)
				     : calloc(1, sizeof(char *))};
	journal_plan_release(&p);
	if (!m.rebased) {
		world_merge_record_release(&m);
		return werr(err, ENOMEM, "out of memory");
	}
	*out = m;
	return 0;
}

/* The worlds that merge P moved onto its DST and that still stand on it,
 * as "'A', 'B'" (*n of them); NULL when there are none. */
static char *still_rebased(struct world_store *s, const struct plan *p,
			   size_t *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*n = 0;
	for (char **w = p->rebased; f && w && *w; w++)
		if (store_world_exists(s, *w) &&
		    store_is_ancestor(s, *w, p->dst))
			fprintf(f, "%s'%s'", (*n)++ ? ", " : "", *w);
	if (!f || fclose(f) != 0 || !*n) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* world_rollback(), or with CHECK_ONLY its refusals alone: nothing is
 * written. */
static int rollback(struct world_store *s, const char *dst, uint64_t id,
		    bool force, bool check_only, char **changed,
		    struct world_error *err)
{
	_cleanup_close_ int ldir = -1;
	struct plan p;
	int r = last_merge(s, dst, &ldir, &p, err);
	/* Not kept: rolled back, or replaced by a later merge that was. */
	if (r == -ENOENT && id && store_world_exists(s, dst))
		return werr(err, ENOENT,
			    "cannot roll back merge %" PRIu64 " into '%s': no "
			    "merge into '%s' is kept (%s)",
			    id, dst, dst,
			    journal_rolled_back(s->state_fd, dst, id) > 0
				    ? "it was rolled back"
				    : "it is not noted as rolled back: a later "
				      "merge came after it and was rolled "
				      "back, and only the last merge into a "
				      "world can be rolled back");
	if (r < 0)
		return r;
	_cleanup_free_ char *last = path_join("merges", dst);
	if (id && p.id != id) {
		r = werr(err, ESTALE,
			 "cannot roll back merge %" PRIu64 " into '%s': "
			 "merge %" PRIu64 " (of '%s') came after it, and only "
			 "the last merge into a world can be rolled back",
			 id, dst, p.id, p.src);
		journal_plan_release(&p);
		return r;
	}
	if (strcmp(dst, WORLD_ROOT))
		r = lifecycle_ensure_running(s, dst, NULL, err);
	_cleanup_free_ char *tp = store_tree_path(s, dst);
	_cleanup_close_ int tree =
		tp ? open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (r >= 0 && tree < 0)
		r = werr_errno(err, errno, "cannot open the tree of '%s'", dst);
	/* Restoring DST's databases is writing them, as a merge does. */
	_cleanup_(dbmerge_unlock) struct dbmerge_locks locks =
		DBMERGE_LOCKS_INIT;
	if (r >= 0)
		r = dbmerge_lock(tree, dst, &locks, err);
	for (size_t i = 0; r >= 0 && i < p.n; i++) /* nothing decided yet */
		r = dbmerge_check_lock(tree, &locks, p.v[i].path, dst, err);
	/* Package and account databases that DST changed since: only the
	 * merge's records are undone, decided before anything is written
	 * (and before the refusal: a log undone line by line is none). */
	int *undone = NULL;
	if (r >= 0)
		r = undo_databases(ldir, tree, &p, &undone, err);
	_cleanup_free_ char *list = NULL;
	if (r >= 0 && !force &&
	    undo_changed_since(ldir, tree, &p, undone, &list) < 0)
		r = werr(err, EBADMSG,
			 "cannot tell what changed in '%s' since the merge "
			 "(--force rolls back anyway)",
			 dst);
	if (r >= 0 && !force && *list) {
		size_t n = 0;
		for (const char *c = list; *c; c += strlen(c) + 1)
			n++; /* paths, not lines: a path may hold a newline */
		r = werr(err, EEXIST,
			 "cannot roll back the merge of '%s' into '%s': %zu "
			 "path%s changed since (--force rolls back anyway)",
			 p.src, dst, n, n == 1 ? "" : "s");
		if (changed)
			*changed = steal_pointer(&list);
	}
	/* A directory the merge moved goes back to its old name: checked
	 * before anything is undone, --force or not. */
	if (r >= 0)
		r = merge_moves_undoable(tree, &p, dst, err);
	/* The roll-back's own temporary names, which an interrupted one
	 * removes as its own: DST's file of such a name refuses it. */
	char what[2 * WORLD_NAME_MAX + 60];
	snprintf(what, sizeof(what),
		 "cannot roll back the merge of '%s' into '%s'", p.src, dst);
	if (r >= 0)
		r = merge_refuse_temp_taken(tree, &p, false, what, err);
	/* Worlds the merge moved onto DST see SRC's changes through DST
	 * alone: undone, those would be gone from under them. */
	size_t n_busy = 0;
	_cleanup_free_ char *busy =
		r >= 0 ? still_rebased(s, &p, &n_busy) : NULL;
	if (busy)
		r = werr(err, EBUSY,
			 "cannot roll back merge %" PRIu64 " (of '%s' into "
			 "'%s'): %s %s built on '%s' (delete %s first)",
			 p.id, p.src, dst, busy, n_busy == 1 ? "was" : "were",
			 p.src, n_busy == 1 ? "it" : "them");
	if (r < 0 || check_only) {
		undo_databases_release(undone, p.n);
		journal_plan_release(&p);
		return r < 0 ? r : 0;
	}
	/* Forced: DST's changes since the merge kept beside, not lost. */
	_cleanup_free_ char *failed = NULL;
	char why[256] = "";
	if (force && (r = undo_keep_changed(s, ldir, tree, &p, undone, &failed,
					    why, sizeof(why))) < 0) {
		if (why[0])
			r = werr(err, -r,
				 "cannot roll back the merge of '%s' into "
				 "'%s': cannot keep %s, changed since the "
				 "merge, beside it (nothing was rolled back): "
				 "%s",
				 p.src, dst, failed ? failed : "a path", why);
		else
			r = werr_errno(err, -r,
				       "cannot roll back the merge of '%s' "
				       "into '%s': cannot keep %s, changed "
				       "since the merge, beside it (nothing "
				       "was rolled back)",
				       p.src, dst, failed ? failed : "a path");
		undo_databases_release(undone, p.n);
		journal_plan_release(&p);
		return r;
	}
	/* The undo is a transaction too: journaled as the active merge, so
	 * that an interrupted one is finished by the next command.  It is
	 * marked a roll-back while it is still the kept record: active, it
	 * must never read as a merge just done, whose recovery would take
	 * DST's changes since the merge for the merge's own. */
	if (journal_append(ldir, "phase rollback\n") < 0) {
		undo_databases_release(undone, p.n);
		journal_plan_release(&p);
		return werr(err, EIO, "cannot write the merge journal");
	}
	crash_point("rollback-marked");
	(void)journal_remove_dir(s->state_fd, "merge");
	if (renameat(s->state_fd, last, s->state_fd, "merge") < 0) {
		undo_databases_release(undone, p.n);
		journal_plan_release(&p);
		return werr_errno(err, errno, "cannot start the roll-back");
	}
	_cleanup_close_ int mdir = openat(s->state_fd, "merge",
					  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = mdir < 0 ? werr_errno(err, errno, "cannot open %s/merge", s->state)
		     : 0;
	crash_point("rollback-started");
	if (r >= 0)
		r = undo_roll_back(s, mdir, &p, undone, err);
	undo_databases_release(undone, p.n);
	if (r >= 0)
		r = recover_note_rolled_back(s, &p, err);
	/* Killed here, noted and its journal still there: recovery
	 * finishes it again. */
	crash_point("rollback-noted");
	if (r >= 0 && journal_remove_dir(s->state_fd, "merge") < 0)
		r = werr(err, EIO, "cannot remove %s/merge", s->state);
	if (r >= 0)
		(void)layers_refresh_all(s, NULL);
	journal_plan_release(&p);
	return r;
}

int world_rollback(struct world_store *s, const char *dst, uint64_t id,
		   bool force, char **changed, struct world_error *err)
{
	return rollback(s, dst, id, force, false, changed, err);
}

int world_rollback_check(struct world_store *s, const char *dst, uint64_t id,
			 bool force, char **changed, struct world_error *err)
{
	return rollback(s, dst, id, force, true, changed, err);
}

static bool has_children(struct world_store *s, const char *name,
			 struct world_error *err)
{
	_cleanup_strv_free_ char **children = NULL;
	if (store_children(s, name, &children) < 0 || !children[0])
		return false;
	char names[512] = "";
	size_t len = 0, n = 0;
	for (char **c = children; *c; c++, n++)
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len,
						sizeof(names) - len, "%s'%s'",
						n ? ", " : "", *c);
	werr(err, EBUSY,
	     "cannot merge '%s': %s %s built on it (merge or delete %s first, "
	     "or --rebase)",
	     name, names, n == 1 ? "is" : "are", n == 1 ? "it" : "them");
	return true;
}

/* Takes the locks of DST's database tools (see dbmerge_lock()). */
static int lock_databases(struct world_store *s, const char *dst,
			  struct dbmerge_locks *l, struct world_error *err)
{
	int r = strcmp(dst, WORLD_ROOT)
			? lifecycle_ensure_running(s, dst, NULL, err)
			: 0;
	if (r < 0)
		return r;
	_cleanup_free_ char *tp = store_tree_path(s, dst);
	if (!tp)
		return werr(err, ENOMEM, "out of memory");
	_cleanup_close_ int tree = open(tp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tree < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  dst);
	return dbmerge_lock(tree, dst, l, err);
}

/* Takes the locks of SRC's database tools, as read locks, and refuses
 * when a tool holds one or dpkg was interrupted there: a world in which
 * dpkg or apt is still at work (a transaction's apt run) is half
 * unpacked.  Held until SRC is frozen and its processes killed, no tool
 * starts in SRC between the check and the merge. */
static int lock_source(struct world_store *s, const char *src,
		       const char *dst, struct dbmerge_locks *l,
		       struct world_error *err)
{
	/* The merge's diff revalidates SRC's overlay once it is frozen. */
	_cleanup_free_ char *tp = NULL;
	int r = lifecycle_tree_unrefreshed(s, src, &tp, err);
	if (r < 0)
		return r;
	_cleanup_close_ int tree = open(tp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tree < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  src);
	if ((r = dbmerge_lock_source(tree, src, l, err)) < 0)
		return r;
	if (dbmerge_dpkg_interrupted(tree))
		return werr(err, EBUSY,
			    "cannot merge '%s' into '%s': dpkg was interrupted "
			    "in '%s' (run dpkg --configure -a there first)",
			    src, dst, src);
	return 0;
}

/* Freezes SRC for the whole merge (DESIGN §4), noted first in
 * STATE/merge-frozen so that a merge killed before its journal leaves no
 * world frozen, and as this command's (store.h's merge_frozen).  A world
 * that would run on unfrozen would change under the merge: that is no
 * merge, and an error. */
static int freeze_source(struct world_store *s, const char *src,
			 const char *dst, struct world_error *err)
{
	int r = recover_note_frozen(s, src);
	if (r < 0)
		return werr_errno(err, -r, "cannot write %s/%s", s->state,
				  MERGE_FROZEN_FILE);
	s->merge_frozen = src;
	if ((r = container_freeze(s, src, true)) < 0) {
		s->merge_frozen = NULL;
		recover_thaw_frozen(s);
		if (r == -ETIMEDOUT)
			return werr(err, EBUSY,
				    "cannot merge '%s' into '%s': '%s' was not "
				    "frozen within %u s (one of its processes "
				    "cannot be stopped); it runs on, merge it "
				    "later",
				    src, dst, src, container_freeze_seconds());
		return werr_errno(err, -r,
				  "cannot merge '%s' into '%s': '%s' cannot be "
				  "frozen, and its processes would change it "
				  "while it is merged",
				  src, dst, src);
	}
	return 0;
}

int world_merge(struct world_store *s, const char *src, const char *dst,
		unsigned flags, struct world_diff *conflicts, uint64_t *id,
		struct world_error *err)
{
	if (!store_name_valid(src) || !store_name_valid(dst))
		return werr(err, EINVAL, "invalid world name '%s'",
			    store_name_valid(src) ? dst : src);
	if (!strcmp(src, WORLD_ROOT))
		return werr(err, EINVAL,
			    "Root cannot be merged: it is the "
			    "production world");
	if (!store_world_exists(s, src))
		return werr(err, ENOENT, "no world named '%s'", src);
	if (!store_world_exists(s, dst))
		return werr(err, ENOENT, "no world named '%s'", dst);
	if (!strcmp(src, dst) || !store_is_ancestor(s, src, dst))
		return werr(err, EINVAL,
			    "cannot merge '%s' into '%s': '%s' is not an "
			    "ancestor of '%s'",
			    src, dst, dst, src);
	if (!(flags & WORLD_MERGE_REBASE) && has_children(s, src, err))
		return -EBUSY;

	/* DST's databases stay as the diff finds them until the merge is
	 * done, and no tool is at work in SRC: their tools' locks first. */
	_cleanup_(dbmerge_unlock) struct dbmerge_locks locks =
		DBMERGE_LOCKS_INIT;
	_cleanup_(dbmerge_unlock) struct dbmerge_locks src_locks =
		DBMERGE_LOCKS_INIT;
	bool again = true;
	int r = lock_databases(s, dst, &locks, err);
	if (r >= 0)
		r = lock_source(s, src, dst, &src_locks, err);
	crash_point("merge-locked");
	/* Frozen before the diff: what is merged is all SRC showed, and
	 * nothing it writes after the diff is lost with it. */
	if (r < 0 || (r = freeze_source(s, src, dst, err)) < 0)
		return r;
	/* Frozen, nothing in SRC takes a lock any more: a lock file that
	 * was missing before and is held now is a tool that started since. */
	r = lock_source(s, src, dst, &src_locks, err);
	while (r >= 0 && again) /* each round takes one lock file more */
		r = merge_locked(s, src, dst, flags, &locks, &src_locks,
				 &again, conflicts, id, err);
	s->merge_frozen = NULL;
	/* Merged, SRC is gone; refused or failed, it runs on as before,
	 * unless a journal stays (a roll-back that failed): DST may share
	 * files with SRC's layer until the next command rolls it back. */
	if (r >= 0 || faccessat(s->state_fd, "merge", F_OK,
				AT_SYMLINK_NOFOLLOW) < 0)
		recover_thaw_frozen(s);
	return r;
}
