/* Directories of DST that a merge takes away whole (a delete, a file in
 * their place) or renames (merge-move.c): whether each is still the one
 * the plan saw, and holds nothing of another file system (see
 * merge-internal.h, "merge-dirs.c"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "merge-internal.h"
#include "save.h"
#include "store.h"

bool merge_dir_as_planned(const struct op *o, const struct stat *st)
{
	return !o->ident_known ||
	       (S_ISDIR(st->st_mode) && st->st_dev == o->ident_dev &&
		st->st_ino == o->ident_ino &&
		st->st_ctim.tv_sec == o->ident_ctime.tv_sec &&
		st->st_ctim.tv_nsec == o->ident_ctime.tv_nsec);
}

struct below_walk {
	struct timespec diffed;
	const struct plan *p;
	size_t i;
};

/* Whether DIR is the directory that the origin of a move applied before
 * operation W->i left: the rename changed its ctime, not DST. */
static bool left_by_move(const struct below_walk *w, const char *dir)
{
	size_t len = strlen(dir);
	for (size_t k = 0; k < w->i; k++) {
		const char *from = w->p->v[k].from;
		const char *slash = from ? strrchr(from, '/') : NULL;
		if (w->p->v[k].kind == OP_MOVE && slash &&
		    (size_t)(slash - from) == len && !strncmp(from, dir, len))
			return true;
	}
	return false;
}

static int check_below(const struct fs_entry *e, void *data)
{
	const struct below_walk *w = data;
	if (e->mount_point)
		return -EBUSY; /* made since the check: never moved */
	/* A file with other names may be one whose save (a hard link)
	 * changed its ctime: pwapt's own. */
	if (!S_ISDIR(e->st.st_mode) && e->st.st_nlink > 1)
		return 0;
	if ((e->st.st_ctim.tv_sec > w->diffed.tv_sec ||
	     (e->st.st_ctim.tv_sec == w->diffed.tv_sec &&
	      e->st.st_ctim.tv_nsec >= w->diffed.tv_nsec)) &&
	    !(S_ISDIR(e->st.st_mode) && left_by_move(w, e->path)))
		return -ESTALE;
	return 0;
}

/* The directory's own ctime is the plan's (merge_dir_as_planned()); what
 * lies below, a file DST made in a subdirectory or appended to, would go
 * into the undo with it, and a walk is all that tells. */
int merge_dir_unchanged_below(int parent, const char *base,
			      const struct plan *p, size_t i,
			      struct timespec diffed)
{
	if (!diffed.tv_sec)
		return 0;
	_cleanup_close_ int fd = openat(
		parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct below_walk w = {diffed, p, i};
	return fs_walk(fd, p->v[i].path, FS_WALK_STAT, check_below, NULL, &w);
}

struct mount_find {
	char *found; /* the first mount point met, below the walk's PREFIX */
};

static int find_mount(const struct fs_entry *e, void *data)
{
	struct mount_find *f = data;
	if (!e->mount_point)
		return 0;
	return (f->found = strdup(e->path)) ? -EBUSY : -ENOMEM;
}

/* The first mount point at or below directory PATH of TREE (as DST names
 * it now), world-relative, in *OUT (NULL: none): from the mount table,
 * or where the directory's path cannot be read (too long), by a walk. */
static int mount_below(int tree, const char *path, char **out)
{
	*out = NULL;
	_cleanup_close_ int fd =
		open_beneath(tree, path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
	if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
		return 0; /* nothing there to move: the apply tells */
	if (fd < 0)
		return fd;
	if (is_mount_point_fd(fd) > 0)
		return (*out = strdup(path)) ? 0 : -ENOMEM;
	char link[64], real[PATH_MAX], top[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, real, sizeof(real) - 1);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", tree);
	ssize_t t = n > 0 ? readlink(link, top, sizeof(top) - 1) : -1;
	if (n > 0 && n < (ssize_t)sizeof(real) - 1 && t > 0 &&
	    t < (ssize_t)sizeof(top) - 1) {
		real[n] = top[t] = '\0';
		_cleanup_free_ char *mp = NULL;
		int r = layers_find_mount_below(real, &mp);
		if (r <= 0)
			return r;
		size_t tl = strcmp(top, "/") ? (size_t)t : 0;
		*out = strdup(!strncmp(mp, top, tl) && mp[tl] == '/' ? mp + tl
								     : mp);
		return *out ? 0 : -ENOMEM;
	}
	struct mount_find f = {0};
	_cleanup_close_ int dir =
		open_beneath(tree, path, O_RDONLY | O_DIRECTORY);
	int r = dir < 0 ? dir : fs_walk(dir, path, 0, find_mount, NULL, &f);
	*out = f.found;
	return r == -EBUSY && f.found ? 0 : r;
}

/* A rename would take the mount along: into the undo, whose clean-up
 * then meets it (rm_rf_at() stops there, and the undo cannot go), or out
 * of where DST's fstab and units put it. */
int merge_dir_refuse_mount(int tree, const struct op *o, const char *src,
			   const char *dst, struct world_error *err)
{
	const char *path = o->kind == OP_MOVE ? o->from : o->path;
	if (!op_takes_dir(o) && !(o->kind == OP_MOVE && path))
		return 0;
	_cleanup_free_ char *mp = NULL;
	int r = mount_below(tree, path, &mp);
	if (r < 0)
		return werr_errno(err, -r,
				  "cannot merge '%s' into '%s': cannot tell "
				  "whether a mount lies below %s",
				  src, dst, path);
	if (!mp)
		return 0;
	return werr(err, EBUSY,
		    "cannot merge '%s' into '%s': %s is a mount point %s %s, "
		    "which the merge %s (unmount it, or check-off %s in '%s')",
		    src, dst, mp, strcmp(mp, path) ? "below" : "at", path,
		    o->kind == OP_MOVE	? "renames"
		    : o->kind == OP_DEL ? "deletes"
					: "replaces",
		    o->kind == OP_MOVE ? o->path : path, src);
}

/* Whether NAME is all digits, and some. */
static bool digits(const char *name)
{
	return *name && name[strspn(name, "0123456789")] == '\0';
}

int merge_refuse_reserved(const struct op *o, const char *src, const char *dst,
			  struct world_error *err)
{
	static const char *const heads[] = {".pwapt-merge-", ".pwapt-restore-"};
	static const char tail[] = ".pwapt-rollback-";
	if (o->kind == OP_DEL)
		return 0;
	const char *base = strrchr(o->path, '/');
	base = base ? base + 1 : o->path;
	bool reserved = false;
	for (size_t i = 0; i < 2 && !reserved; i++)
		reserved = !strncmp(base, heads[i], strlen(heads[i])) &&
			   digits(base + strlen(heads[i]));
	/* pwapt-rollback-part-J~ (merge_part_name()) */
	size_t hl = sizeof(MERGE_PART_HEAD) - 1;
	if (!reserved && !strncmp(base, MERGE_PART_HEAD, hl)) {
		size_t pd = strspn(base + hl, "0123456789");
		reserved = pd && !strcmp(base + hl + pd, "~");
	}
	/* NAME.pwapt-rollback-N~ (merge_aside_name()), and
	 * NAME.pwapt-rollback-N, the name before it, which a recovery of
	 * an older pwapt's journal still looks for */
	const char *t = strstr(base, tail);
	for (; t && !reserved; t = strstr(t + 1, tail)) {
		const char *n = t + sizeof(tail) - 1;
		size_t nd = strspn(n, "0123456789");
		reserved = nd && (!n[nd] || !strcmp(n + nd, "~"));
	}
	if (!reserved)
		return 0;
	return werr(err, EINVAL,
		    "cannot merge '%s' into '%s': %s is a name pwapt keeps for "
		    "its temporary files (rename it in '%s', or check it off "
		    "there)",
		    src, dst, o->path, src);
}

/* The directory of a path that merge_refuse_temp_taken() last looked in:
 * operations come in the order of their paths, and most share it with
 * the one before. */
struct temp_dir {
	const char *path; /* its first LEN bytes name it */
	size_t len;
	int fd; /* -1: no such directory */
};

/* Whether DST's file NAME in directory DIR (LEN bytes) is one that an
 * operation of P before I deletes. */
static bool deleted_before(const struct plan *p, size_t i, const char *dir,
			   size_t len, const char *name)
{
	for (size_t j = 0; j < i; j++) {
		const struct op *o = &p->v[j];
		const char *at = o->before ? o->before : o->path;
		if (o->kind == OP_DEL && o->had != HAD_NONE &&
		    !strncmp(at, dir, len) && at[len] == '/' &&
		    !strcmp(at + len + 1, name))
			return true;
	}
	return false;
}

/* DST's file of name ".pwapt-HEAD-I" beside PATH (in TREE), unless an
 * operation of P before I deletes it (SKIP_DELETED): an error naming it. */
static int temp_taken(int tree, struct temp_dir *d, const struct plan *p,
		      size_t i, const char *path, const char *head,
		      bool skip_deleted, const char *what,
		      struct world_error *err)
{
	size_t len = (size_t)(strrchr(path, '/') - path);
	if (!d->path || d->len != len || strncmp(d->path, path, len)) {
		const char *base;
		closep(&d->fd);
		d->fd = journal_open_parent(tree, path, &base);
		d->path = path;
		d->len = len;
	}
	char name[64];
	snprintf(name, sizeof(name), ".pwapt-%s-%zu", head, i);
	struct stat st;
	if (d->fd < 0 /* no such directory: no such name */ ||
	    fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (skip_deleted && deleted_before(p, i, path, len, name)))
		return 0;
	return werr(err, EEXIST,
		    "%s: %.*s/%s is a name pwapt keeps for its temporary "
		    "files, taken by a file of its own (rename it, or remove "
		    "it, first)",
		    what, (int)len, path, name);
}

int merge_refuse_temp_taken(int tree, const struct plan *p, bool merge,
			    const char *what, struct world_error *err)
{
	struct temp_dir d = {.fd = -1};
	int r = 0;
	for (size_t i = 0; i < p->n && r >= 0; i++) {
		const struct op *o = &p->v[i];
		const char *at = o->before ? o->before : o->path;
		if (merge && op_stages(o))
			r = temp_taken(tree, &d, p, i, at, "merge", true, what,
				       err);
		if (merge && r >= 0 && op_restores(o))
			r = temp_taken(tree, &d, p, i, at, "restore", true,
				       what, err);
		if (merge)
			continue;
		/* Undone record by record, too (undo_put_records()). */
		bool db = o->kind == OP_MRG ||
			  (o->kind == OP_PUT && dbmerge_undoable(o->path));
		if (!op_restores(o) && !db)
			continue;
		r = temp_taken(tree, &d, p, i, o->path, "restore", false, what,
			       err);
		if (r >= 0 && o->before)
			r = temp_taken(tree, &d, p, i, o->before, "restore",
				       false, what, err);
	}
	closep(&d.fd);
	return r;
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash > path ? strndup(path, (size_t)(slash - path))
				     : strdup("/");
}

void merge_move_dirs_stat(int tree, const struct op *o, bool after,
			  struct move_dirs *md)
{
	_cleanup_free_ char *left = parent_of(o->from),
			    *entered = parent_of(o->path);
	const char *dirs[3] = {left, entered, after ? o->path : o->from};
	for (size_t j = 0; j < 3; j++) {
		_cleanup_close_ int fd =
			dirs[j] ? open_beneath(tree, dirs[j], O_PATH) : -1;
		md->known[j] = fd >= 0 && fstat(fd, &md->st[j]) == 0 &&
			       S_ISDIR(md->st[j].st_mode);
	}
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The ctime C that a later operation expects of directory DEV:INO becomes
 * the one the rename gave it, where it was C just before the rename. */
static void relearn_one(dev_t dev, ino_t ino, struct timespec *c,
			const struct move_dirs *before,
			const struct move_dirs *after)
{
	for (size_t j = 0; j < 3; j++)
		if (before->known[j] && after->known[j] &&
		    before->st[j].st_dev == dev &&
		    before->st[j].st_ino == ino && after->st[j].st_dev == dev &&
		    after->st[j].st_ino == ino &&
		    same_time(&before->st[j].st_ctim, c)) {
			*c = after->st[j].st_ctim;
			return;
		}
}

/* By identity, not by name: a later move names its origin as DST names it
 * once the moves before it are applied, and the directory a move left
 * may be the origin of the next one (a child moved out, then its
 * parent). */
void merge_dir_relearn(int tree, struct plan *p, size_t i,
		       const struct move_dirs *before)
{
	struct move_dirs after;
	merge_move_dirs_stat(tree, &p->v[i], true, &after);
	for (size_t k = i + 1; k < p->n; k++) {
		struct op *o = &p->v[k];
		if (o->kind == OP_MOVE && o->origin_known)
			relearn_one(o->origin_dev, o->origin_ino,
				    &o->origin_ctime, before, &after);
		if (o->ident_known)
			relearn_one(o->ident_dev, o->ident_ino, &o->ident_ctime,
				    before, &after);
	}
}

/* Whether the LEN bytes at S are valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static bool valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n = c < 0x80		    ? 0
				       : (c & 0xe0) == 0xc0 ? 1
				       : (c & 0xf0) == 0xe0 ? 2
				       : (c & 0xf8) == 0xf0 ? 3
							    : 4;
		if (n == 4 || (n == 1 && c < 0xc2) || c > 0xf4 || i + n >= len)
			return false;
		unsigned cp = n ? c & (0x3f >> n) : c;
		for (unsigned j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((n == 2 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += n + 1;
	}
	return true;
}

static int aside_name(char *buf, size_t size, const char *base, unsigned i,
		      const char *ext)
{
	char tail[40];
	int t = snprintf(tail, sizeof(tail), ".pwapt-rollback-%u%s", i, ext);
	/* A name as long as a name may be keeps only its start, cut between
	 * two characters where it is UTF-8 (any byte will do where not). */
	size_t len = strlen(base), keep = len;
	if (keep > NAME_MAX - (size_t)t)
		keep = NAME_MAX - (size_t)t;
	if (keep < len && valid_utf8((const unsigned char *)base, len))
		while (keep > 0 && ((unsigned char)base[keep] & 0xc0) == 0x80)
			keep--;
	int n = snprintf(buf, size, "%.*s%s", (int)keep, base, tail);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int merge_aside_name(char *buf, size_t size, const char *base, unsigned i)
{
	return aside_name(buf, size, base, i, "~");
}

void merge_part_name(char *buf, size_t size, unsigned j)
{
	snprintf(buf, size, "%s%u~", MERGE_PART_HEAD, j);
}

int merge_aside_name_before(char *buf, size_t size, const char *base,
			    unsigned i)
{
	return aside_name(buf, size, base, i, "");
}

/* Puts the save of operation O (save SAVE in UNDO) back beside what DST
 * has at BASE in PARENT, as BASE.pwapt-rollback-N~ (the first free N), and
 * says so through store_warn(): DST's own stays, and a recovery never
 * stops on it. */
int merge_put_beside(const struct world_store *s, int undo, const char *save,
		     int parent, const char *base, const char *tmp,
		     const struct op *o, const char *lands, const char *unsure)
{
	char aside[NAME_MAX + 1];
	struct stat st;
	unsigned i = 1;
	for (;; i++) {
		if (i > 1000)
			return -EEXIST;
		if (merge_aside_name(aside, sizeof(aside), base, i) < 0)
			return -ENAMETOOLONG;
		if (fstatat(parent, aside, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT)
			break;
	}
	int r = save_restore(undo, save, parent, aside, tmp);
	if (r < 0)
		return r;
	/* Named where the roll-back leaves it: LANDS, once the moves around
	 * it are undone too, one of them maybe beside DST's own. */
	if (unsure)
		store_warn(s,
			   "cannot tell whether %s is what the merge put there "
			   "('%s' cannot be mounted): it stays, and what was "
			   "there before the merge is beside it, as %.*s%s",
			   lands, unsure,
			   (int)(strrchr(lands, '/') + 1 - lands), lands,
			   aside);
	else
		store_warn(s,
			   "%s was taken since the merge: the %s the merge "
			   "%s there is back beside it, as %.*s%s",
			   lands, o->had == HAD_DIR ? "directory" : "file",
			   o->kind == OP_DEL ? "deleted" : "replaced",
			   (int)(strrchr(lands, '/') + 1 - lands), lands,
			   aside);
	return 0;
}
