/* wdiff: the changes of one world against another.
 *
 * Only paths that some layer in one of the two stacks but not in the other
 * holds can differ between the two trees; everything else comes from layers
 * both share.  So the candidates are the entries of those layers (plus, below
 * a whiteout or an opaque directory, what the other tree has there), and
 * each candidate is compared in the two mounted trees.  A diff against the
 * parent walks the world's own layer: O(changed files), not O(tree). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbmerge.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"

/* Files that the machinery of a world touches rather than the change being
 * tested: login records, the shells' histories of wconsole sessions, and
 * the lock files of dpkg and apt, empty files whose times only say when a
 * run last locked them.
 * wdiff leaves them out unless asked for everything (the paper excludes
 * /var/log/wtmp and the like for the same reason). */
static const char *const excluded_paths[] = {
	"/var/log/wtmp",
	"/var/log/btmp",
	"/var/log/lastlog",
	"/run/utmp",
	"/var/run/utmp",
	"/root/.bash_history",
	"/root/.ash_history",
	"/root/.lesshst",
	"/root/.viminfo",
	"/root/.wget-hsts",
	"/var/lib/dpkg/lock",
	"/var/lib/dpkg/lock-frontend",
	"/var/lib/dpkg/triggers/Lock",
	"/var/lib/apt/lists/lock",
	"/var/cache/apt/archives/lock",
	NULL,
};

const char *const *world_diff_excluded_paths(void)
{
	return excluded_paths;
}

static bool is_excluded(const char *path)
{
	for (const char *const *p = excluded_paths; *p; p++)
		if (!strcmp(*p, path))
			return true;
	return false;
}

struct paths {
	char **v;
	size_t n, cap;
};

static int paths_add(struct paths *p, const char *path)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		char **nv = realloc(p->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = cap;
	}
	if (!(p->v[p->n] = strdup(path)))
		return -ENOMEM;
	p->n++;
	return 0;
}

static void paths_release(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (struct paths){0};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops repeated paths. */
static void paths_unique(struct paths *p)
{
	if (!p->n)
		return;
	qsort(p->v, p->n, sizeof(*p->v), cmp_str);
	size_t w = 1;
	for (size_t r = 1; r < p->n; r++) {
		if (!strcmp(p->v[r], p->v[w - 1]))
			free(p->v[r]);
		else
			p->v[w++] = p->v[r];
	}
	p->n = w;
}

struct tree_walk {
	struct paths *out, *opaque;
};

/* Every entry, and apart the opaque directories. */
static int record_entry(const char *path, bool dir, bool opaque, void *data)
{
	struct tree_walk *w = data;
	(void)dir;
	int r = paths_add(w->out, path);
	return r >= 0 && opaque ? paths_add(w->opaque, path) : r;
}

static int walk_tree(int fd, const char *prefix, struct paths *out,
		     struct paths *opaque)
{
	struct tree_walk w = {out, opaque};
	return layers_walk(fd, prefix, opaque != NULL, record_entry, &w);
}

/* Adds what tree ROOTFD holds below PATH (not PATH itself). */
static int add_subtree(int rootfd, const char *path, struct paths *out)
{
	int fd = open_beneath(rootfd, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return 0; /* not a directory there: nothing below */
	return walk_tree(fd, path, out, NULL);
}

/* One side of the comparison: a path's status in a tree, and an O_PATH fd
 * of it for reading its xattrs, link target and content. */
struct side {
	bool exists;
	struct stat st;
	int fd;
};

static void side_release(struct side *s)
{
	closep(&s->fd);
}

static void side_load(int rootfd, const char *path, struct side *s)
{
	*s = (struct side){.fd = -1};
	s->fd = open_beneath(rootfd, path, O_PATH);
	if (s->fd < 0) {
		s->fd = -1;
		return;
	}
	s->exists = fstat(s->fd, &s->st) == 0;
}

/* The xattrs of a file, NUL-separated names and values, sorted by name;
 * overlayfs' own are never part of a world's tree. */
static char *xattrs_of(int fd, size_t *len)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* Through the fd's /proc link, which lands on the file itself. */
	ssize_t n = listxattr(proc, NULL, 0);
	if (n <= 0) {
		*len = 0;
		return NULL;
	}
	_cleanup_free_ char *names = malloc((size_t)n);
	if (!names || (n = listxattr(proc, names, (size_t)n)) < 0)
		return NULL;
	struct paths sorted = {0};
	for (char *k = names; k < names + n; k += strlen(k) + 1)
		if (strncmp(k, "trusted.overlay.", 16) &&
		    strncmp(k, "user.overlay.", 13))
			paths_add(&sorted, k);
	paths_unique(&sorted);
	char *out = NULL;
	size_t used = 0;
	for (size_t i = 0; i < sorted.n; i++) {
		ssize_t vl = getxattr(proc, sorted.v[i], NULL, 0);
		if (vl < 0)
			continue;
		size_t kl = strlen(sorted.v[i]) + 1;
		char *nb = realloc(out, used + kl + (size_t)vl + 1);
		if (!nb)
			break;
		out = nb;
		memcpy(out + used, sorted.v[i], kl);
		used += kl;
		vl = getxattr(proc, sorted.v[i], out + used, (size_t)vl);
		used += vl > 0 ? (size_t)vl : 0;
		out[used++] = '\0';
	}
	paths_release(&sorted);
	*len = used;
	return out;
}

static bool same_xattrs(int a, int b)
{
	size_t la = 0, lb = 0;
	_cleanup_free_ char *xa = xattrs_of(a, &la);
	_cleanup_free_ char *xb = xattrs_of(b, &lb);
	return la == lb && (!la || !memcmp(xa, xb, la));
}

static bool same_target(int a, int b)
{
	char ta[4096], tb[4096];
	ssize_t na = readlinkat(a, "", ta, sizeof(ta));
	ssize_t nb = readlinkat(b, "", tb, sizeof(tb));
	return na == nb && na >= 0 && !memcmp(ta, tb, (size_t)na);
}

static bool same_content(int a, int b)
{
	char pa[64], pb[64];
	snprintf(pa, sizeof(pa), "/proc/self/fd/%d", a);
	snprintf(pb, sizeof(pb), "/proc/self/fd/%d", b);
	_cleanup_close_ int fa = open(pa, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int fb = open(pb, O_RDONLY | O_CLOEXEC);
	if (fa < 0 || fb < 0)
		return false;
	char ba[65536], bb[65536];
	for (;;) {
		ssize_t na = read(fa, ba, sizeof(ba));
		ssize_t nb = read(fb, bb, sizeof(bb));
		if (na != nb || na < 0)
			return false;
		if (na == 0)
			return true;
		if (memcmp(ba, bb, (size_t)na))
			return false;
	}
}

/* What differs between two existing versions of a path: WORLD_CHANGED_*.
 * A regular file's content is compared byte by byte only when its size is
 * the same and its mtime is not (a copy-up keeps the mtime, a write sets
 * it).  The times of a directory are not a change (they follow its
 * entries), nor those of a symbolic link (they follow its target). */
static unsigned compare(const struct side *a, const struct side *b)
{
	unsigned what = 0;
	const struct stat *x = &a->st, *y = &b->st;
	if ((x->st_mode & S_IFMT) != (y->st_mode & S_IFMT))
		return WORLD_CHANGED_TYPE;
	if ((x->st_mode & 07777) != (y->st_mode & 07777))
		what |= WORLD_CHANGED_MODE;
	if (x->st_uid != y->st_uid || x->st_gid != y->st_gid)
		what |= WORLD_CHANGED_OWNER;
	bool mtime_differs = x->st_mtim.tv_sec != y->st_mtim.tv_sec ||
			     x->st_mtim.tv_nsec != y->st_mtim.tv_nsec;
	/* Same size and mtime say nothing of the bytes: a rebuilt package's
	 * file often keeps both (SOURCE_DATE_EPOCH, a fixed size), and dpkg
	 * installs it with the archive's mtime.  Equal sizes are read. */
	if (S_ISREG(x->st_mode)) {
		if (x->st_size != y->st_size || !same_content(a->fd, b->fd))
			what |= WORLD_CHANGED_CONTENT;
	} else if (S_ISLNK(x->st_mode)) {
		if (!same_target(a->fd, b->fd))
			what |= WORLD_CHANGED_TARGET;
	} else if (S_ISCHR(x->st_mode) || S_ISBLK(x->st_mode)) {
		if (x->st_rdev != y->st_rdev)
			what |= WORLD_CHANGED_DEVICE;
	}
	if (!S_ISDIR(x->st_mode) && !S_ISLNK(x->st_mode) && mtime_differs)
		what |= WORLD_CHANGED_TIMES;
	if (!S_ISLNK(x->st_mode) && !same_xattrs(a->fd, b->fd))
		what |= WORLD_CHANGED_XATTRS;
	return what;
}

/* What a change weighs in wdiff --stat: a regular file's size. */
static uint64_t file_bytes(const struct side *s)
{
	return S_ISREG(s->st.st_mode) ? (uint64_t)s->st.st_size : 0;
}

struct changes {
	struct world_change *v;
	size_t n, cap;
};

static int change_add(struct changes *c, char kind, const char *path,
		      unsigned what, uint64_t bytes)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct world_change *nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	struct world_change *ch = &c->v[c->n];
	*ch = (struct world_change){.kind = kind,
				    .what = what,
				    .bytes = bytes,
				    .excluded = is_excluded(path)};
	if (!(ch->path = strdup(path)))
		return -ENOMEM;
	c->n++;
	return 0;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct world_change *)a)->path,
		      ((const struct world_change *)b)->path);
}

/* The layers of world W's stack for Root's file system REL, highest
 * first, Root's last. */
static int stack_of(struct world_store *s, const struct world_meta *w,
		    const char *rel, char ***out, struct world_error *err)
{
	if (!w)
		return layers_stack(s, NULL, 0, rel, out, err);
	_cleanup_strv_free_ char **below = NULL;
	int r = layers_stack(s, w->parents, w->n_parents, rel, &below, err);
	if (r < 0)
		return r;
	bool own = !*rel;
	for (size_t i = 0; !own && i < w->n_mounts; i++)
		own = !strcmp(w->mounts[i], rel);
	size_t n = 0;
	while (below[n])
		n++;
	char **v = calloc(n + 2, sizeof(*v));
	if (!v)
		return werr(err, ENOMEM, "out of memory");
	size_t k = 0;
	if (own && !(v[k++] = layers_dir(s, w->name, rel, "upper"))) {
		free(v);
		return werr(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		v[k++] = steal_pointer(&below[i]);
	*out = v;
	return 0;
}

static bool strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

/* Candidates within Root's file system REL: the entries of the layers that
 * only one of the two stacks has. */
static int candidates_in(struct world_store *s, const struct world_meta *a,
			 const struct world_meta *b, const char *rel,
			 struct paths *cand, struct paths *opaque,
			 struct world_error *err)
{
	_cleanup_strv_free_ char **sa = NULL, **sb = NULL;
	int r = stack_of(s, a, rel, &sa, err);
	if (r >= 0)
		r = stack_of(s, b, rel, &sb, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *prefix = NULL;
	if (asprintf(&prefix, "%s%s", *rel ? "/" : "", rel) < 0)
		return werr(err, ENOMEM, "out of memory");
	for (int side = 0; side < 2; side++) {
		char **mine = side ? sb : sa, **theirs = side ? sa : sb;
		for (char **l = mine; *l; l++) {
			if (strv_has(theirs, *l))
				continue;
			int fd = open(*l, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						  O_CLOEXEC);
			if (fd < 0)
				return werr_errno(err, errno,
						  "cannot read layer %s", *l);
			if (layers_dir_opaque(fd) &&
			    (r = paths_add(opaque, *prefix ? prefix : "/")) < 0)
				return werr(err, -r, "out of memory");
			r = walk_tree(fd, prefix, cand, opaque);
			if (r < 0)
				return werr_errno(err, -r,
						  "cannot read layer %s", *l);
		}
	}
	return 0;
}

static char *tree_of(struct world_store *s, const char *name)
{
	return strcmp(name, WORLD_ROOT) ? world_path(s, name, "merged")
					: strdup(world_store_root(s));
}

/* Whether KNOWN (lines "sec nsec path" that a rolled-back merge of this
 * world left) holds exactly this ctime for PATH: then the change is the
 * merge's own saving and restoring, not DST's. */
static bool ctime_known(const char *known, const char *path,
			const struct timespec *c)
{
	for (const char *line = known; line && *line;) {
		long long sec;
		long nsec;
		int off = 0;
		const char *nl = strchr(line, '\n');
		if (sscanf(line, "%lld %ld %n", &sec, &nsec, &off) == 2 &&
		    off && sec == c->tv_sec && nsec == c->tv_nsec) {
			_cleanup_free_ char *esc =
				nl ? strndup(line + off,
					     (size_t)(nl - line) - off)
				   : strdup(line + off);
			_cleanup_free_ char *p =
				esc ? path_unescape(esc) : NULL;
			if (p && !strcmp(p, path))
				return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

/* A package database that both worlds changed: a merge combines it unless
 * one record changed differently on both sides (see dbmerge.h). */
static void resolve_database(struct world_store *s, const char *name, int fa,
			     int fb, struct world_change *c)
{
	static const char *const notes[] = {
		[DBMERGE_MERGED] = "merged record by record",
		[DBMERGE_DROP] = "a cache: dropped, rebuilt when needed",
		[DBMERGE_THEIRS] = "a backup: the world's version",
		[DBMERGE_DERIVED] = "ldconfig's cache: the world's version; "
				    "run ldconfig there after the merge",
	};
	enum dbmerge_action act = DBMERGE_NONE;
	struct world_error e = {0};
	char *why = NULL;
	int r = dbmerge_resolve(s, name, fa, fb, c->path, -1, false, &act, &why,
				&e);
	if (r >= 0 && act != DBMERGE_NONE) {
		c->conflict = false;
		c->merged = true;
		c->note = strdup(notes[act]);
	} else if (r < 0) {
		c->note = why ? why : strdup(e.msg);
		why = NULL;
	}
	free(why);
}

/* A path B has and A lacks, below a directory that A's layer holds as
 * opaque: overlayfs makes a directory opaque when it is renamed into place
 * (dpkg installs new directories so), and it then hides what B put there
 * later.  A never saw the path; saying so tells the conflict apart from a
 * deletion. */
static void explain_hidden(struct world_change *c, const struct paths *opaque,
			   const char *name)
{
	for (size_t i = 0; i < opaque->n; i++) {
		const char *dir = opaque->v[i];
		size_t l = strlen(dir);
		if (strcmp(dir, "/") && strncmp(c->path, dir, l) == 0 &&
		    c->path[l] == '/') {
			if (asprintf(&c->note,
				     "%s's directory %s is opaque (overlayfs "
				     "makes a directory renamed into place so, "
				     "as dpkg's are): %s never saw this path; "
				     "check-off %s %s keeps it",
				     name, dir, name, name, c->path) < 0)
				c->note = NULL;
			return;
		}
	}
}

static int diff_worlds(struct world_store *s, const struct world_meta *a,
		       const struct world_meta *b, const char *name_a,
		       const char *name_b, struct world_diff *out,
		       struct world_error *err)
{
	struct paths cand = {0}, opaque = {0};
	struct changes ch = {0};
	_cleanup_free_ char *tree_a = tree_of(s, name_a),
			    *tree_b = tree_of(s, name_b);
	_cleanup_close_ int fa = -1, fb = -1;
	int r = 0;
	if (!tree_a || !tree_b) {
		r = werr(err, ENOMEM, "out of memory");
		goto out;
	}
	fa = open(tree_a, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fb = open(tree_b, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fa < 0 || fb < 0) {
		r = werr_errno(err, errno, "cannot open the trees to compare");
		goto out;
	}

	/* Root's file systems that either world has a layer for. */
	struct paths rels = {0};
	paths_add(&rels, "");
	for (size_t i = 0; a && i < a->n_mounts; i++)
		paths_add(&rels, a->mounts[i]);
	for (size_t i = 0; b && i < b->n_mounts; i++)
		paths_add(&rels, b->mounts[i]);
	paths_unique(&rels);
	for (size_t i = 0; r >= 0 && i < rels.n; i++)
		r = candidates_in(s, a, b, rels.v[i], &cand, &opaque, err);
	paths_release(&rels);
	if (r < 0)
		goto out;
	/* Below an opaque directory, what the other tree held is gone. */
	for (size_t i = 0; i < opaque.n && r >= 0; i++) {
		r = add_subtree(fa, opaque.v[i], &cand);
		if (r >= 0)
			r = add_subtree(fb, opaque.v[i], &cand);
	}
	if (r < 0) {
		r = werr_errno(err, -r, "cannot read the trees");
		goto out;
	}
	paths_unique(&cand);

	struct paths gone = {0}; /* below a directory that B has, A not */
	/* Candidates are sorted: below a directory that B does not have,
	 * B has nothing, and a new tree of A costs one lookup in B. */
	const char *b_lacks = NULL;
	size_t b_lacks_len = 0;
	for (size_t i = 0; i < cand.n && r >= 0; i++) {
		const char *p = cand.v[i];
		struct side x, y = {.fd = -1};
		side_load(fa, p, &x);
		if (!b_lacks || strncmp(p, b_lacks, b_lacks_len) ||
		    p[b_lacks_len] != '/') {
			side_load(fb, p, &y);
			b_lacks = y.exists ? NULL : p;
			b_lacks_len = y.exists ? 0 : strlen(p);
		}
		if (x.exists && !y.exists)
			r = change_add(&ch, 'A', p, 0, file_bytes(&x));
		else if (!x.exists && y.exists)
			r = change_add(&ch, 'D', p, 0, file_bytes(&y));
		else if (x.exists) {
			unsigned what = compare(&x, &y);
			if (what)
				r = change_add(&ch, 'M', p, what,
					       file_bytes(&x));
		}
		/* A directory of B that A deleted or replaced: all below
		 * it is deleted too, though no layer of A names it. */
		if (r >= 0 && y.exists && S_ISDIR(y.st.st_mode) &&
		    (!x.exists || !S_ISDIR(x.st.st_mode)))
			r = add_subtree(fb, p, &gone);
		side_release(&x);
		side_release(&y);
	}
	for (size_t i = 0; i < gone.n && r >= 0; i++) {
		struct side y;
		side_load(fb, gone.v[i], &y);
		if (y.exists)
			r = change_add(&ch, 'D', gone.v[i], 0, file_bytes(&y));
		side_release(&y);
	}
	paths_release(&gone);
	if (r < 0) {
		r = werr(err, -r, "out of memory");
		goto out;
	}
	/* Sorted, each path once: a path both under a deleted directory and
	 * a candidate was found twice. */
	qsort(ch.v, ch.n, sizeof(*ch.v), cmp_change);
	size_t w = 0;
	for (size_t i = 0; i < ch.n; i++) {
		if (w && !strcmp(ch.v[w - 1].path, ch.v[i].path)) {
			free(ch.v[i].path);
			continue;
		}
		ch.v[w++] = ch.v[i];
	}
	ch.n = w;

	/* Paths that B changed after A was made from it: a merge of A would
	 * overwrite them (DESIGN.md §4).  Judged by ctime, at the resolution
	 * of the file systems' clock: a change in the same clock tick as the
	 * creation is taken as before it (one tick earlier would flag every
	 * file written just before wcreate). */
	struct world_diff d = {.v = ch.v, .n = ch.n, .other = strdup(name_b)};
	ch = (struct changes){0};
	if (a) {
		_cleanup_strv_free_ char **co = checkoff_load(s, name_a);
		for (size_t i = 0; co && i < d.n; i++)
			d.v[i].checked_off = checkoff_matches(co, d.v[i].path);
	}
	if (a && store_is_ancestor(s, name_a, name_b)) {
		_cleanup_free_ char *known = NULL,
				    *rel = path_join(name_a, "known-ctimes");
		if (rel)
			(void)read_file_at(s->worlds_fd, rel, &known, NULL);
		for (size_t i = 0; i < d.n; i++) {
			struct side y;
			if (d.v[i].kind == 'A')
				continue; /* B does not have it */
			/* Both made the same change (the same package's
			 * files, the same download) at different times:
			 * nothing of B's is lost by taking A's. */
			if (d.v[i].kind == 'M' &&
			    !(d.v[i].what & ~(unsigned)WORLD_CHANGED_TIMES))
				continue;
			side_load(fb, d.v[i].path, &y);
			const struct timespec *c = &y.st.st_ctim;
			if (y.exists &&
			    (c->tv_sec > a->created ||
			     (c->tv_sec == a->created &&
			      c->tv_nsec > a->created_ns)) &&
			    !ctime_known(known, d.v[i].path, c))
				d.v[i].conflict = true;
			side_release(&y);
		}
		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].conflict && dbmerge_known(d.v[i].path))
				resolve_database(s, name_a, fa, fb, &d.v[i]);
			else if (d.v[i].conflict && d.v[i].kind == 'D')
				explain_hidden(&d.v[i], &opaque, name_a);
	}
	*out = d;
out:
	paths_release(&cand);
	paths_release(&opaque);
	for (size_t i = 0; i < ch.n; i++)
		free(ch.v[i].path);
	free(ch.v);
	return r < 0 ? r : 0;
}

void world_diff_release(struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].note);
	}
	free(d->v);
	free(d->other);
	*d = (struct world_diff){0};
}

int world_diff(struct world_store *s, const char *name, const char *other,
	       struct world_diff *out, struct world_error *err)
{
	struct world_meta ma = {0}, mb = {0};
	bool root_a = !strcmp(name, WORLD_ROOT);
	int r = 0;
	if (!world_name_valid(name))
		return werr(err, EINVAL, "invalid world name '%s'", name);
	if (!root_a && (r = meta_load(s, name, &ma, err)) < 0)
		return r;
	if (!other) {
		if (root_a)
			return werr(err, EINVAL,
				    "Root has no parent: name the world to "
				    "compare it with");
		other = ma.parents[0];
	}
	bool root_b = !strcmp(other, WORLD_ROOT);
	if (!world_name_valid(other))
		r = werr(err, EINVAL, "invalid world name '%s'", other);
	else if (!strcmp(name, other))
		r = werr(err, EINVAL, "'%s' compared with itself", name);
	else if (!root_b)
		r = meta_load(s, other, &mb, err);
	/* Both trees must be mounted and show their layers as they are. */
	if (r >= 0 && !root_a)
		r = world_ensure_running(s, name, NULL, err);
	if (r >= 0 && !root_b)
		r = world_ensure_running(s, other, NULL, err);
	if (r >= 0)
		r = diff_worlds(s, root_a ? NULL : &ma, root_b ? NULL : &mb,
				name, other, out, err);
	meta_release(&ma);
	meta_release(&mb);
	return r;
}
