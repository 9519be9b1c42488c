/* Recovery of an interrupted merge (README, "Merges"): finishes one that
 * was done, rolls back one that was prepared, drops one that was only
 * planned.  Also the last steps of a done merge, which the merge itself and
 * its recovery share: rebasing SRC's children onto DST, keeping the record
 * for an undo. */
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
#include "fsutil.h"
#include "layers.h"
#include "lifecycle.h"
#include "merge-internal.h"

/* The last merge into DST stays in merges/DST for an undo. */
int recover_keep_as_last(struct world_store *s, const char *dst)
{
	(void)mkdirat(s->state_fd, "merges", 0700);
	_cleanup_free_ char *last = path_join("merges", dst);
	if (!last)
		return -ENOMEM;
	(void)journal_remove_dir(s->state_fd, last);
	if (renameat(s->state_fd, "merge", s->state_fd, last) < 0)
		return -errno;
	return 0;
}

int recover_note_rolled_back(struct world_store *s, const struct plan *p,
			     struct world_error *err)
{
	int r = p->id ? crash_fail("rollback-note-undone", EIO) : 0;
	if (r >= 0 && p->id)
		r = journal_note_rolled_back(s->state_fd, p->dst, p->id);
	if (r < 0)
		return werr_errno(err, -r,
				  "merge %" PRIu64 " into '%s' is rolled back, "
				  "but that cannot be noted in %s/%s (the "
				  "next pwapt command finishes the roll-back)",
				  p->id, p->dst, s->state, ROLLED_BACK_DIR);
	return 0;
}

/* Moves the worlds built on SRC onto DST, which now holds SRC's changes:
 * their containers stop, their trees are unmounted, and their metadata
 * names DST instead of SRC.  *moved gets their names; the caller brings
 * them back once SRC is gone.  Idempotent, for recovery. */
int recover_rebase_children(struct world_store *s, const char *src,
			    const char *dst, char ***moved,
			    struct world_error *err)
{
	int r = store_children(s, src, moved);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	for (char **w = *moved; *w && r >= 0; w++) {
		struct world_meta m = {0};
		if (meta_load(s, *w, &m, NULL) < 0)
			continue;
		_cleanup_free_ char *merged = store_world_path(s, *w, "merged");
		(void)container_stop(s, *w, 10);
		if (merged)
			(void)layers_unmount(merged);
		/* SRC's place in the order goes to DST, once. */
		bool has_dst = false;
		for (size_t i = 0; i < m.n_parents; i++)
			has_dst |= !strcmp(m.parents[i], dst);
		size_t k = 0;
		for (size_t i = 0; i < m.n_parents; i++) {
			if (!strcmp(m.parents[i], src)) {
				free(m.parents[i]);
				if (has_dst)
					continue;
				m.parents[i] = strdup(dst);
				has_dst = true;
			}
			m.parents[k++] = m.parents[i];
		}
		m.parents[k] = NULL;
		m.n_parents = k;
		/* What it saw of SRC is not what DST had: before the new
		 * parent is saved, so that a crash between keeps no line
		 * about another parent. */
		r = diff_had_forget_lower(s, *w);
		if (r < 0) {
			meta_release(&m);
			return werr_errno(err, -r,
					  "cannot update what '%s' saw of "
					  "'%s'",
					  *w, src);
		}
		r = meta_save(s, &m, err);
		meta_release(&m);
	}
	return r;
}

/* After SRC is gone: the rebased worlds mount their new stacks. */
void recover_restart_rebased(struct world_store *s, char **moved)
{
	for (char **w = moved; w && *w; w++)
		(void)lifecycle_ensure_running(s, *w, NULL, NULL);
}

/* Not synced: the note outlives only a killed pwapt, and a frozen
 * container does not outlive a reboot. */
int recover_note_frozen(struct world_store *s, const char *src)
{
	return write_file_replace(s->state_fd, MERGE_FROZEN_FILE, src,
				  strlen(src), 0600);
}

void recover_thaw_frozen(struct world_store *s)
{
	_cleanup_free_ char *name = NULL;
	if (read_file_at(s->state_fd, MERGE_FROZEN_FILE, &name, NULL) < 0)
		return;
	if (store_name_valid(name) && store_world_exists(s, name) &&
	    container_freeze(s, name, false) < 0)
		return; /* still frozen: the next command tries again */
	(void)unlinkat(s->state_fd, MERGE_FROZEN_FILE, 0);
}

/* A merge killed once done: only its clean-up was left.  What DST changed
 * since the merge applied it is judged before SRC goes, whose going
 * changes the ctimes of the files its layer shares with DST; "after" is
 * written once SRC is gone, and the record kept as the last merge. */
static int finish_done(struct world_store *s, const struct plan *p,
		       merge_delete_fn *delete_world, struct world_error *err)
{
	/* DST's tree as the merge left it: a world is not mounted after a
	 * reboot, and its mount point holds no path. */
	bool up = !strcmp(p->dst, WORLD_ROOT) ||
		  lifecycle_mount(s, p->dst, NULL) >= 0;
	_cleanup_free_ char *tp = store_tree_path(s, p->dst);
	_cleanup_close_ int tree =
		tp && up ? open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int wdir = openat(s->state_fd, "merge",
					  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	if (tree >= 0 && wdir >= 0 && (r = undo_judge_ids(wdir, tree, p)) < 0)
		return werr_errno(err, -r,
				  "cannot judge what '%s' changed "
				  "since the merge of '%s'",
				  p->dst, p->src);
	_cleanup_strv_free_ char **moved = NULL;
	if (p->rebase)
		r = recover_rebase_children(s, p->src, p->dst, &moved, err);
	if (r >= 0 && store_world_exists(s, p->src)) {
		(void)container_kill_frozen(s, p->src);
		r = delete_world(s, p->src, err);
	}
	if (r >= 0)
		recover_restart_rebased(s, moved);
	/* The worlds the rebase moved: all the plan named, also when the
	 * merge itself moved them before it was killed (then none is still
	 * built on SRC). */
	if (r >= 0 && tree >= 0 && wdir >= 0 &&
	    undo_write_after(wdir, tree, p) >= 0)
		(void)undo_share_after(s, wdir,
				       p->rebased ? p->rebased : moved);
	if (r >= 0 && recover_keep_as_last(s, p->dst) < 0)
		r = werr(err, EIO, "cannot keep the undo of the merge");
	return r;
}

/* The journal's part of merge_recover(). */
static int recover_journal(struct world_store *s, bool *recovered,
			   merge_delete_fn *delete_world,
			   struct world_error *err)
{
	_cleanup_close_ int mdir =
		openat(s->state_fd, "merge", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mdir < 0)
		return 0;
	struct plan p;
	int r = journal_read(mdir, &p);
	if (r < 0) {
		/* No journal: the merge died while writing its plan. */
		if (r == -ENOENT)
			return journal_remove_dir(s->state_fd, "merge") < 0
				       ? werr(err, EIO,
					      "cannot remove %s/merge",
					      s->state)
				       : 0;
		return werr_errno(err, -r,
				  "the merge journal %s/merge/journal "
				  "cannot be read",
				  s->state);
	}
	if (recovered)
		*recovered = true;
	/* Its undo gone: an older pwapt, which removed the journal last, was
	 * killed removing the record of work done.  Removed, as it was to
	 * be: no roll-back can use it. */
	if (!undo_exists(mdir)) {
		journal_plan_release(&p);
		return journal_remove_dir(s->state_fd, "merge") < 0
			       ? werr(err, EIO, "cannot remove %s/merge",
				      s->state)
			       : 0;
	}
	if (p.phase == 2 && p.rollback) {
		/* An undo of a finished merge, interrupted: undo the rest. */
		if (strcmp(p.dst, WORLD_ROOT) && store_world_exists(s, p.dst))
			r = lifecycle_ensure_running(s, p.dst, NULL, err);
		if (r >= 0)
			r = undo_roll_back(s, mdir, &p, NULL, err);
		if (r >= 0)
			r = recover_note_rolled_back(s, &p, err);
		if (r >= 0 && journal_remove_dir(s->state_fd, "merge") < 0)
			r = werr(err, EIO, "cannot remove %s/merge", s->state);
	} else if (p.phase == 2) {
		r = finish_done(s, &p, delete_world, err);
	} else {
		if (p.phase == 1 && strcmp(p.dst, WORLD_ROOT) &&
		    store_world_exists(s, p.dst))
			r = lifecycle_ensure_running(s, p.dst, NULL, err);
		/* SRC's tree tells the roll-back what the merge put where
		 * DST had nothing (after a reboot it is not mounted).  SRC
		 * stays frozen until the journal is gone: DST may share
		 * files with its layer until they are rolled back. */
		if (r >= 0 && p.phase == 1 && store_world_exists(s, p.src))
			(void)lifecycle_mount(s, p.src, NULL);
		crash_point("recover-rollback");
		if (r >= 0 && p.phase == 1)
			r = undo_roll_back(s, mdir, &p, NULL, err);
		/* Killed while saving: nothing was applied, and the links
		 * of the saves that go change the ctimes of DST's files. */
		if (r >= 0 && p.phase == 0)
			(void)undo_release_saves(s, mdir, &p);
		if (r >= 0 && journal_remove_dir(s->state_fd, "merge") < 0)
			r = werr(err, EIO, "cannot remove %s/merge", s->state);
		if (r >= 0 && store_world_exists(s, p.src))
			(void)container_freeze(s, p.src, false);
	}
	if (r >= 0)
		(void)layers_refresh_all(s, NULL);
	journal_plan_release(&p);
	return r;
}

int merge_recover(struct world_store *s, bool *recovered,
		  merge_delete_fn *delete_world, struct world_error *err)
{
	int r = recover_journal(s, recovered, delete_world, err);
	/* No journal left: a world frozen for a merge killed before its
	 * journal (or after it was done) runs again. */
	if (r >= 0)
		recover_thaw_frozen(s);
	return r;
}
