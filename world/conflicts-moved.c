/* Paths of B that a rename of a directory may have put in place since A
 * was created (conflicts.c): a rename changes the ctime of the directory
 * moved and of those it leaves and enters, never of anything below it, so
 * the ctime of a path of B's alone does not tell that B had it then.
 * What does: the identity of the file or directory that A's version was
 * copied up from (overlayfs' trusted.overlay.origin).  Also the two
 * questions of the diff's order that a rename raises: whether A renamed
 * B's file over another, and whether a path lies below a directory A
 * added (strcmp puts "x-y" between "x" and "x/f"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "diff.h"
#include "fsutil.h"
#include "layers.h"
#include "redirect.h"

/* overlayfs' file handle as its origin xattr holds it (struct ovl_fb of
 * fs/overlayfs/overlayfs.h): version 0, a magic byte, the length of it
 * all, flags, the handle's type, the file system's uuid, then the handle
 * itself, as exportfs encodes it with no parent (name_to_handle_at()). */
struct ovl_fb_head {
	unsigned char version, magic, len, flags, type;
	unsigned char uuid[16];
} __attribute__((packed));
#define OVL_FB_MAGIC 0xfb
#define ORIGIN_MAX (sizeof(struct ovl_fb_head) + MAX_HANDLE_SZ)

bool diff_after_creation(const struct world_meta *a, const struct timespec *c)
{
	return c->tv_sec > a->created ||
	       (c->tv_sec == a->created && c->tv_nsec > a->created_ns);
}

/* Whether A's version of PATH, in the highest of A's own layers that
 * holds it, is a copy-up that tells of B: it has an origin, no lower one
 * of A's own holds PATH too, and it is no renamed directory.  Its origin
 * into BUF (SIZE bytes), its length into *LEN: 0 when overlayfs could not
 * encode the lower file's handle (a lower file system without them), or
 * the value is longer than any it writes.  1, 0 or -errno. */
static int origin_of(const struct fs_part *part, const char *path,
		     unsigned char *buf, size_t size, size_t *len)
{
	const char *rel = path + strlen(part->prefix);
	const char *slash = strrchr(rel, '/');
	_cleanup_free_ char *dir = slash && slash > rel
					   ? strndup(rel, (size_t)(slash - rel))
					   : strdup(".");
	const char *base = slash ? slash + 1 : rel;
	bool found = false;
	if (!dir)
		return -ENOMEM;
	for (size_t k = 0; k < part->n_a_only; k++) {
		_cleanup_close_ int parent = open_beneath(part->a_only[k], dir,
							  O_PATH | O_DIRECTORY);
		struct stat st;
		if (parent < 0) {
			if (diff_absent(parent))
				continue;
			return parent;
		}
		if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (found)
			return 0; /* the origin may be this layer's */
		found = true;
		char proc[PATH_MAX];
		if (snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", parent,
			     base) >= (int)sizeof(proc))
			return -ENAMETOOLONG;
		ssize_t n = lgetxattr(proc, "trusted.overlay.origin", buf, size);
		if (n < 0 && errno != ERANGE)
			return errno == ENODATA || errno == ENOTSUP ? 0
								    : -errno;
		if (lgetxattr(proc, "trusted.overlay.redirect", NULL, 0) >= 0)
			return 0;
		*len = n < 0 ? 0 : (size_t)n;
	}
	return found;
}

int diff_copied_up(const struct fs_part *part, const char *path)
{
	unsigned char o[ORIGIN_MAX];
	size_t len;
	return origin_of(part, path, o, sizeof(o), &len);
}

int diff_origin_differs(const struct diff_trees *t, const char *path,
			bool *differs, struct timespec *b_ctime)
{
	return diff_origin_differs_from(t, path, path, differs, b_ctime);
}

int diff_origin_differs_from(const struct diff_trees *t, const char *path,
			     const char *b_path, bool *differs,
			     struct timespec *b_ctime)
{
	unsigned char o[ORIGIN_MAX];
	size_t n = 0;
	const struct ovl_fb_head *h = (const struct ovl_fb_head *)o;
	int r = origin_of(diff_part_of(t->parts, path), path, o, sizeof(o), &n);
	/* A handle of a form this code knows: else nothing tells. */
	if (r <= 0 || n <= sizeof(*h) || h->version != 0 ||
	    h->magic != OVL_FB_MAGIC || h->len != n)
		return r < 0 ? r : 0;
	struct side y;
	if ((r = diff_side_load(t->parts, true, b_path, &y)) < 0)
		return r;
	struct {
		struct file_handle h;
		unsigned char b[MAX_HANDLE_SZ];
	} fh = {.h.handle_bytes = MAX_HANDLE_SZ};
	int mnt;
	/* B a world: its overlay gives no handles; nothing tells. */
	r = y.exists &&
	    name_to_handle_at(y.fd, "", &fh.h, &mnt, AT_EMPTY_PATH) == 0;
	if (r) {
		size_t fid = n - sizeof(*h);
		*differs = fh.h.handle_type != h->type ||
			   fh.h.handle_bytes != fid ||
			   memcmp(fh.h.f_handle, o + sizeof(*h), fid) != 0;
		*b_ctime = y.st.st_ctim;
	}
	diff_side_release(&y);
	return r;
}

void diff_explain_hidden(struct world_change *c, const struct diff_trees *t)
{
	const char *a = t->name_a;
	if (c->note)
		return; /* a reason of its own (conflicts.c) */
	for (size_t i = 0; i < t->n_opaque; i++) {
		const char *dir = t->opaque[i];
		size_t l = strlen(dir);
		if (strcmp(dir, "/") && strncmp(c->path, dir, l) == 0 &&
		    c->path[l] == '/') {
			if (asprintf(&c->note,
				     "%s's directory %s is opaque (made or "
				     "renamed into place in %s, it hides what "
				     "%s has there): %s never saw this path; "
				     "check-off %s %s keeps it",
				     a, dir, a, t->name_b, a, a, c->path) < 0)
				c->note = NULL;
			return;
		}
	}
}

/* Whether A's file at PATH is B's file at a path A deleted: A renamed it
 * there (dpkg-divert --remove --rename, mv of one of B's files over
 * another), which copies it up with the origin of where it was.  B's file
 * at PATH being another one tells nothing then: a rename in B would have
 * changed its ctime, which changed_in_b() sees. */
bool diff_moved_by_a(const struct diff_trees *t, const struct world_diff *d,
		     const char *path)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].kind != 'D' || !strcmp(d->v[i].path, path))
			continue;
		bool differs = true;
		struct timespec c;
		if (diff_origin_differs_from(t, path, d->v[i].path, &differs,
					     &c) > 0 &&
		    !differs)
			return true;
	}
	return false;
}

/* Whether a directory above PATH is one A added (B lacks it, so B has
 * nothing below it).  D is sorted by strcmp, which does not keep a
 * directory's entries next to it: "/x-y" and "/x.conf" sort between "/x"
 * and "/x/f", so "the last added directory" is not enough. */
bool diff_below_added(const struct world_diff *d, const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return false;
	for (char *slash = strrchr(p, '/'); slash && slash > p;
	     slash = strrchr(p, '/')) {
		*slash = '\0';
		size_t k = diff_lower_bound(d, p);
		if (k < d->n && !strcmp(d->v[k].path, p))
			return d->v[k].kind == 'A';
	}
	return false;
}

/* Whether the highest of A's own layers that records directory PATH (of
 * PART's file system) renamed does, where none above hides the layers
 * below (opaque): its index into *K.  1, 0 or -errno. */
static int renamed_in(const struct fs_part *part, const char *path, size_t *k)
{
	const char *rel = path + strlen(part->prefix);
	const char *slash = strrchr(rel, '/');
	if (!slash || !slash[1])
		return 0;
	_cleanup_free_ char *dir = strndup(rel, (size_t)(slash - rel));
	if (!dir)
		return -ENOMEM;
	for (*k = 0; *k < part->n_a_only; (*k)++) {
		_cleanup_close_ int fd =
			open_beneath(part->a_only[*k], *dir ? dir : ".",
				     O_PATH | O_DIRECTORY);
		_cleanup_free_ char *v = NULL;
		if (fd < 0 && !diff_absent(fd))
			return fd;
		if (fd < 0 ||
		    faccessat(fd, slash + 1, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		int r = redirect_read(fd, slash + 1, &v);
		if (r != 0)
			return r == -EINVAL ? 0 : r; /* diff_worlds() refused */
		_cleanup_close_ int dfd =
			openat(fd, slash + 1,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0 || layers_dir_opaque(dfd))
			return 0;
	}
	return 0;
}

/* Where PATH (of a layer's file system, absolute) leads past LAYER, whose
 * directories on the way may be renamed ones: the redirects of the
 * deepest one it holds applied, the rest as named.  *OUT malloc'd. */
static int lead_past(int layer, const char *path, char **out)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *end = p + strlen(p); end; end = strrchr(p, '/')) {
		*end = '\0';
		_cleanup_close_ int fd =
			open_beneath(layer, p[0] && p[1] ? p + 1 : ".",
				     O_PATH | O_DIRECTORY);
		if (fd < 0 && !diff_absent(fd))
			return fd;
		if (fd < 0)
			continue;
		_cleanup_free_ char *o = NULL;
		int r = redirect_origin(layer, *p ? p : "/", &o);
		if (r < 0)
			return r;
		const char *rest = path + (end - p);
		return asprintf(out, "%s%s", strcmp(o, "/") || !*rest ? o : "",
				rest) < 0
			       ? -ENOMEM
			       : 0;
	}
	return -ENOENT; /* not even the layer's root */
}

/* Whether LAYER hides PATH from the layers below it by an ancestor: a
 * whiteout or a file, or an opaque directory, at any level up to the
 * first renamed directory (lead_past() follows that one).  1, 0 or
 * -errno. */
static int hidden_by_ancestor(int layer, const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *end; (end = strrchr(p, '/')) && end != p;) {
		*end = '\0';
		_cleanup_close_ int fd = open_beneath(layer, p + 1, O_PATH);
		if (fd < 0 && diff_absent(fd))
			continue;
		if (fd < 0)
			return fd;
		struct stat st;
		if (fstat(fd, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode) || layers_dir_opaque(fd))
			return 1;
		char *slash = strrchr(p, '/');
		*slash = '\0';
		_cleanup_close_ int dir = open_beneath(layer, *p ? p + 1 : ".",
						       O_PATH | O_DIRECTORY);
		_cleanup_free_ char *v = NULL;
		int r = dir < 0 ? dir : redirect_read(dir, slash + 1, &v);
		*slash = '/';
		if (r != 0)
			return r == 1 ? 0 : r;
	}
	return 0;
}

/* Whether the origin ORIGIN of A's renamed directory PATH is no directory
 * of the layers below the one that records the rename: not in A's own
 * lower ones (a parent's renamed directory followed), not in B.  1, 0
 * (there, or nothing tells) or -errno. */
static int origin_gone(const struct diff_trees *t, const char *path,
		       const char *origin)
{
	const struct fs_part *part = diff_part_of(t->parts, path);
	size_t len = strlen(part->prefix), k;
	int r = 0;
	if (strncmp(origin, part->prefix, len) ||
	    (origin[len] && origin[len] != '/') ||
	    (r = renamed_in(part, path, &k)) <= 0)
		return r < 0 ? r : 0;
	_cleanup_free_ char *at = strdup(origin[len] ? origin + len : "/");
	for (size_t j = k + 1; at && j < part->n_a_only; j++) {
		_cleanup_close_ int fd = open_beneath(
			part->a_only[j], strcmp(at, "/") ? at + 1 : ".",
			O_PATH | O_DIRECTORY);
		char *next = NULL;
		if (fd >= 0 || !diff_absent(fd))
			return fd >= 0 ? 0 : fd;
		/* A whiteout or a file of that layer there: gone in its view. */
		_cleanup_close_ int any = open_beneath(
			part->a_only[j], strcmp(at, "/") ? at + 1 : ".", O_PATH);
		if (any >= 0)
			return 1;
		/* The parent deleted a directory above it ("rm -r /srv" after
		 * A renamed /srv/big), or made it anew. */
		if ((r = hidden_by_ancestor(part->a_only[j], at)) != 0)
			return r;
		if ((r = lead_past(part->a_only[j], at, &next)) < 0)
			return r;
		free(at);
		at = next;
	}
	_cleanup_free_ char *full = NULL;
	if (!at || asprintf(&full, "%s%s", part->prefix,
			    *part->prefix && !strcmp(at, "/") ? "" : at) < 0)
		return -ENOMEM;
	struct side y;
	if ((r = diff_side_load(t->parts, true, full, &y)) < 0)
		return r;
	r = !y.below_mount && (!y.exists || !S_ISDIR(y.st.st_mode));
	diff_side_release(&y);
	return r;
}

/* Whether a change of D at or below DIR is a conflict. */
static bool conflict_at_or_below(const struct world_diff *d, const char *dir)
{
	size_t len = strlen(dir);
	for (size_t i = diff_lower_bound(d, dir); i < d->n; i++) {
		if (d->v[i].conflict && diff_below(d->v[i].path, dir, len))
			return true;
		if (strncmp(d->v[i].path, dir, len))
			break;
	}
	return false;
}

int diff_renamed_conflicts(const struct diff_trees *t, struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct world_change *c = &d->v[i];
		if (c->kind != 'A' || !c->renamed_from || c->conflict ||
		    c->excluded)
			continue;
		int gone = origin_gone(t, c->path, c->renamed_from);
		if (gone < 0)
			return gone;
		if (!gone && !conflict_at_or_below(d, c->renamed_from))
			continue;
		const char *a = t->name_a, *b = t->name_b;
		char *why = NULL;
		int n;
		if (gone)
			n = asprintf(&why,
				     "the origin of %s's renamed directory %s "
				     "(%s) was renamed or deleted in %s after "
				     "%s was created: what it held is no "
				     "longer below it, and a merge brings "
				     "only what %s added there",
				     a, c->path, c->renamed_from, b, a, a);
		else
			n = asprintf(&why,
				     "the origin of %s's renamed directory %s "
				     "(%s) was changed in %s after %s was "
				     "created: %s shows %s's version of it "
				     "there now",
				     a, c->path, c->renamed_from, b, a, a, b);
		if (n < 0)
			return -ENOMEM;
		free(c->note);
		c->note = why;
		c->conflict = true;
		c->unsure = false;
	}
	return 0;
}
