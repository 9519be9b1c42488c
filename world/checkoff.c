/* check-off: paths (globs) of a world that merges leave out.
 *
 * worlds/NAME/check-off holds one pattern a line (escaped as the journal's
 * paths are).  A pattern matches a path as fnmatch(3) with FNM_PATHNAME
 * does ("*" stays within one directory), and a path below a matching
 * directory matches too: "/var/cache/apt" checks off all of the cache.
 *
 * A check-off holds below a directory that the world deleted or replaced
 * (by a file, a symbolic link, or an opaque directory of its own): wdiff
 * lists every path below such a directory, so each checked-off one stays
 * as it is in the tree merged into, and so does the directory holding it
 * (wdiff marks it checked off too: what the world put in its place is not
 * merged); the rest below it is deleted. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "diff.h"
#include "error.h"
#include "fsutil.h"
#include "store.h"
#include "strv.h"

/* Appends the patterns of world NAME to *OUT, which the caller frees, also
 * after a failure. */
static int load(struct world_store *s, const char *name, struct strv *out)
{
	_cleanup_free_ char *rel = path_join(name, "check-off");
	_cleanup_free_ char *text = NULL;
	if (!rel)
		return -ENOMEM;
	int r = read_file_at(s->worlds_fd, rel, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save))
		r = strv_push(out, path_unescape(line));
	return r < 0 ? r : 0;
}

static int save(struct world_store *s, const char *name, char **v, size_t n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		path_escape(f, v[i]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	_cleanup_close_ int dir =
		openat(s->worlds_fd, name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	return write_file_atomic(dir, "check-off", buf ? buf : "", len, 0644);
}

static bool pattern_valid(const char *p)
{
	return p[0] == '/' && (p[1] == '\0' || meta_rel_path_valid(p + 1));
}

int checkoff_change(struct world_store *s, const char *name,
		    const char *const *patterns, size_t n, bool remove,
		    struct world_error *err)
{
	if (!store_name_valid(name))
		return werr(err, EINVAL, "invalid world name '%s'", name);
	if (!strcmp(name, WORLD_ROOT))
		return werr(err, EINVAL,
			    "Root is never merged: nothing to "
			    "check off");
	if (!store_world_exists(s, name))
		return werr(err, ENOENT, "no world named '%s'", name);
	for (size_t i = 0; i < n; i++)
		if (!pattern_valid(patterns[i]))
			return werr(err, EINVAL,
				    "'%s' is not an absolute path inside the "
				    "world (no '.', '..' or empty parts)",
				    patterns[i]);
	_cleanup_strv_ struct strv v = {0};
	int r = load(s, name, &v);
	if (r < 0)
		return werr_errno(err, -r, "cannot read the check-offs of '%s'",
				  name);
	for (size_t i = 0; i < n; i++) {
		size_t at = v.n;
		for (size_t k = 0; k < v.n; k++)
			if (!strcmp(v.v[k], patterns[i]))
				at = k;
		if (remove) {
			if (at == v.n)
				return werr(err, ENOENT,
					    "'%s' is not checked off in '%s'",
					    patterns[i], name);
			free(v.v[at]);
			memmove(&v.v[at], &v.v[at + 1],
				(v.n - at) * sizeof(*v.v)); /* with the NULL */
			v.n--;
		} else if (at == v.n &&
			   strv_push(&v, strdup(patterns[i])) < 0) {
			return werr(err, ENOMEM, "out of memory");
		}
	}
	r = save(s, name, v.v, v.n);
	return r < 0 ? werr_errno(err, -r, "cannot save the check-offs of '%s'",
				  name)
		     : 0;
}

int checkoff_list(struct world_store *s, const char *name, char ***out,
		  struct world_error *err)
{
	if (!store_name_valid(name) || !store_world_exists(s, name))
		return werr(err, ENOENT, "no world named '%s'", name);
	_cleanup_strv_ struct strv v = {0};
	int r = load(s, name, &v);
	if (r >= 0 && !v.v && !(v.v = calloc(1, sizeof(char *))))
		r = -ENOMEM;
	if (r < 0)
		return werr_errno(err, -r,
				  "cannot read the check-offs of '%s'", name);
	*out = steal_pointer(&v.v);
	return 0;
}

bool checkoff_matches(char *const *patterns, const char *path)
{
	for (char *const *p = patterns; p && *p; p++) {
		/* The path itself or any directory above it. */
		_cleanup_free_ char *copy = strdup(path);
		for (char *end = copy ? copy + strlen(copy) : NULL; end;) {
			*end = '\0';
			if (*copy && fnmatch(*p, copy, FNM_PATHNAME) == 0)
				return true;
			end = strrchr(copy, '/');
			if (end == copy)
				end = NULL;
		}
	}
	return false;
}

char **checkoff_load(struct world_store *s, const char *name)
{
	_cleanup_strv_ struct strv v = {0};
	return load(s, name, &v) < 0 ? NULL : steal_pointer(&v.v);
}

size_t diff_lower_bound(const struct world_diff *d, const char *key)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(d->v[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* See diff.h. */
int diff_hold_dirs(struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct world_change *c = &d->v[i];
		if (c->checked_off || c->excluded ||
		    !(c->kind == 'D' ||
		      (c->kind == 'M' && (c->what & WORLD_CHANGED_TYPE))))
			continue;
		_cleanup_free_ char *key = NULL;
		if (asprintf(&key, "%s/", c->path) < 0)
			return -ENOMEM;
		size_t len = strlen(key);
		for (size_t k = diff_lower_bound(d, key);
		     k < d->n && !strncmp(d->v[k].path, key, len); k++) {
			const struct world_change *b = &d->v[k];
			if (b->kind == 'A' || !(b->checked_off || b->excluded))
				continue;
			c->checked_off = true;
			free(c->note);
			if (asprintf(&c->note, "kept: %s stays", b->path) < 0)
				c->note = NULL;
			break;
		}
	}
	return 0;
}
