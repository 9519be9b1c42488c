/* Volatile layers (see layers.h).
 *
 * overlayfs' "volatile" drops every sync of the upper layer: dpkg's fsyncs
 * and the fsync of each copied-up file cost nothing, and a crash may leave
 * the layer torn (a copied-up file renamed into place without its data).
 * overlayfs itself then refuses the layer: a volatile mount leaves
 * work/work/incompat/volatile, and no later mount of that work directory
 * succeeds while it is there (Documentation/filesystems/overlayfs.rst,
 * "Volatile mount").  pwapt's own record is worlds/NAME/volatile, written
 * durably before the first volatile mount and removed only once the layer
 * is on disk and nothing can write it any more (synced, unmounted): a world
 * whose record is there and whose tree is not mounted was caught by a
 * crash (or an unmount by hand) and is never used as if intact.  The one
 * proof that it is intact anyway: the journal of a merge of it that got
 * as far as "prepared", for a merge syncs its frozen source before that
 * (merge.c), and a source stays frozen until the journal is gone. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "merge-internal.h"

#define VOLATILE_RECORD "volatile"

static char *record_path(const char *name)
{
	return path_join(name, VOLATILE_RECORD);
}

bool layers_volatile(struct world_store *s, const char *name)
{
	_cleanup_free_ char *rel = record_path(name);
	return rel &&
	       faccessat(s->worlds_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int layers_mark_volatile(struct world_store *s, const char *name, bool on,
			 struct world_error *err)
{
	_cleanup_close_ int dir =
		openat(s->worlds_fd, name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return werr_errno(err, errno,
				  "cannot open the directory of '%s'", name);
	int r;
	if (on) {
		char text[128];
		int n = snprintf(text, sizeof(text),
				 "mounted volatile at %lld: not crash safe "
				 "until pwapt makes it durable\n",
				 (long long)time(NULL));
		r = write_file_atomic(dir, VOLATILE_RECORD, text, (size_t)n,
				      0600);
	} else {
		r = unlinkat(dir, VOLATILE_RECORD, 0) < 0 && errno != ENOENT
			    ? -errno
			    : 0;
		/* Gone for good before anything trusts the layer. */
		if (r >= 0 && fsync(dir) < 0)
			r = -errno;
	}
	return r < 0 ? werr_errno(err, -r,
				  "cannot record whether '%s' is "
				  "volatile",
				  name)
		     : 0;
}

static int caught(struct world_error *err, const char *name)
{
	return werr(err, EUCLEAN,
		    "'%s' was mounted volatile (without crash safety) when "
		    "its tree went away (a crash, a reboot or an unmount): "
		    "its layer may be torn and is not used; delete it with "
		    "wdelete %s",
		    name, name);
}

int layers_clear_incompat(struct world_store *s, const char *name,
			  const char *work, struct world_error *err)
{
	if (layers_volatile(s, name))
		return caught(err, name);
	_cleanup_close_ int fd =
		open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			       ? 0
			       : werr_errno(err, errno, "cannot open %s", work);
	int r = rm_rf_at(fd, "work/incompat");
	if (r < 0 && r != -ENOENT)
		return werr_errno(err, -r, "cannot clear %s/work/incompat",
				  work);
	return 0;
}

/* Whether the journal of an interrupted merge, prepared or later, has NAME
 * as its source: then NAME's layer was synced while frozen. */
static bool merge_synced(struct world_store *s, const char *name)
{
	_cleanup_close_ int mdir =
		openat(s->state_fd, "merge", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct plan p = {0};
	if (mdir < 0 || journal_read(mdir, &p) < 0)
		return false;
	bool synced = p.phase >= 1 && !strcmp(p.src, name);
	journal_plan_release(&p);
	return synced;
}

int layers_check_intact(struct world_store *s, const struct world_meta *m,
			struct world_error *err)
{
	if (!layers_volatile(s, m->name))
		return 0;
	_cleanup_free_ char *merged = store_world_path(s, m->name, "merged");
	if (!merged)
		return werr(err, ENOMEM, "out of memory");
	int r = is_mount_point(merged);
	if (r > 0)
		return 0; /* in use, volatile: the kernel still has it all */
	if (!merge_synced(s, m->name))
		return caught(err, m->name);
	return layers_mark_volatile(s, m->name, false, err);
}
