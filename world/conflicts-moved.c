/* Paths of B that a rename of a directory may have put in place since A
 * was created (conflicts.c): a rename changes the ctime of the directory
 * moved and of those it leaves and enters, never of anything below it, so
 * the ctime of a path of B's alone does not tell that B had it then.
 * What does: the identity of the file or directory that A's version was
 * copied up from (overlayfs' trusted.overlay.origin). */
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

/* overlayfs' file handle as its origin xattr holds it (struct ovl_fb):
 * version, magic, length of it all, flags, the handle's type, the file
 * system's uuid, then the handle itself. */
#define OVL_FB_MAGIC 0xfb
#define OVL_FB_HEAD 21
#define ORIGIN_MAX (OVL_FB_HEAD + MAX_HANDLE_SZ)

bool diff_after_creation(const struct world_meta *a, const struct timespec *c)
{
	return c->tv_sec > a->created ||
	       (c->tv_sec == a->created && c->tv_nsec > a->created_ns);
}

/* A's version of PATH in the highest of A's own layers that holds it, if
 * no lower one of A's own holds it too and it is no renamed directory:
 * its copy-up origin into BUF (SIZE bytes).  The length; 0 where there is
 * none that tells of B; -errno. */
static ssize_t origin_of(const struct fs_part *part, const char *path,
			 unsigned char *buf, size_t size)
{
	const char *rel = path + strlen(part->prefix);
	const char *slash = strrchr(rel, '/');
	_cleanup_free_ char *dir = slash && slash > rel
					   ? strndup(rel, (size_t)(slash - rel))
					   : strdup(".");
	const char *base = slash ? slash + 1 : rel;
	ssize_t found = 0;
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
		char proc[PATH_MAX];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", parent,
			 base);
		found = lgetxattr(proc, "trusted.overlay.origin", buf, size);
		if (found < 0)
			return errno == ENODATA || errno == ENOTSUP ||
					       errno == ERANGE
				       ? 0
				       : -errno;
		if (lgetxattr(proc, "trusted.overlay.redirect", NULL, 0) >= 0)
			return 0;
	}
	return found;
}

int diff_copied_up(const struct fs_part *part, const char *path)
{
	unsigned char o[ORIGIN_MAX];
	ssize_t n = origin_of(part, path, o, sizeof(o));
	return n < 0 ? (int)n : n > 0;
}

int diff_swapped_in_b(const struct diff_trees *t, const char *path,
		      bool *swapped)
{
	unsigned char o[ORIGIN_MAX];
	ssize_t n = origin_of(diff_part_of(t->parts, path), path, o, sizeof(o));
	if (n < 0)
		return (int)n;
	bool yes = false;
	/* A handle of a form this code knows, B's file, and a handle of
	 * it: else nothing tells (B a world, whose overlay gives none). */
	if (n > OVL_FB_HEAD && o[1] == OVL_FB_MAGIC && o[2] == n) {
		struct side y;
		int r = diff_side_load(t->parts, true, path, &y);
		if (r < 0)
			return r;
		struct {
			struct file_handle h;
			unsigned char b[MAX_HANDLE_SZ];
		} fh = {.h.handle_bytes = MAX_HANDLE_SZ};
		int mnt;
		if (y.exists &&
		    name_to_handle_at(y.fd, "", &fh.h, &mnt, AT_EMPTY_PATH) == 0)
			yes = fh.h.handle_type != o[4] ||
			      fh.h.handle_bytes != (size_t)n - OVL_FB_HEAD ||
			      memcmp(fh.h.f_handle, o + OVL_FB_HEAD,
				     fh.h.handle_bytes) != 0;
		diff_side_release(&y);
	}
	*swapped = yes;
	return 0;
}

void diff_explain_hidden(struct world_change *c, const struct diff_trees *t)
{
	const char *a = t->name_a;
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
