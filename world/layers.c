#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"

struct strv {
	char **v;
	size_t n;
};

static int strv_push(struct strv *s, char *item)
{
	if (!item)
		return -ENOMEM;
	char **nv = realloc(s->v, (s->n + 2) * sizeof(*nv));
	if (!nv) {
		free(item);
		return -ENOMEM;
	}
	s->v = nv;
	s->v[s->n++] = item;
	s->v[s->n] = NULL;
	return 0;
}

static int collect_layers(struct world_store *s, const char *name,
			  struct strv *acc, unsigned depth,
			  struct world_error *err)
{
	if (!strcmp(name, WORLD_ROOT))
		return 0;
	if (depth > 4096)
		return werr(err, ELOOP, "world '%s' nests too deep", name);
	struct world_meta m = { 0 };
	int r = meta_load(s, name, &m, err);
	if (r < 0)
		return r;
	r = strv_push(acc, world_path(s, name, "upper"));
	for (size_t i = 0; r >= 0 && i < m.n_parents; i++)
		r = collect_layers(s, m.parents[i], acc, depth + 1, err);
	meta_release(&m);
	if (r == -ENOMEM)
		return werr(err, ENOMEM, "out of memory");
	return r;
}

/* Whether the state directory (and so every world's layer) lies inside
 * Root's own file system tree: the case of a host whose Root is "/". */
static bool state_inside_root(struct world_store *s)
{
	struct stat rs, ss;
	if (stat(s->root, &rs) < 0 || stat(s->state, &ss) < 0 ||
	    rs.st_dev != ss.st_dev)
		return false;
	size_t n = strlen(s->root);
	return !strcmp(s->root, "/") ||
	       (!strncmp(s->state, s->root, n) && s->state[n] == '/');
}

/* overlayfs refuses a lower layer that lies below another lower layer of
 * the same mount ("overlapping lowerdir path"): a world's layer under
 * /var/lib/pwapt and "/" itself.  So when the state directory lies inside
 * Root's tree, Root enters the stack through a read-only overlay of its own
 * (the root view) whose dentries are not Root's.  overlayfs wants two lower
 * layers for a mount without upper layer; the second is an empty read-only
 * tmpfs, which adds nothing.  Both stay mounted until stop-all. */
static int root_layer(struct world_store *s, char **out,
		      struct world_error *err)
{
	if (!state_inside_root(s)) {
		*out = strdup(s->root);
		return *out ? 0 : werr(err, ENOMEM, "out of memory");
	}
	_cleanup_free_ char *view = path_join(s->state, "root-view"),
			    *empty = path_join(s->state, "root-view.empty");
	if (!view || !empty)
		return werr(err, ENOMEM, "out of memory");
	(void)mkdir(view, 0755);
	(void)mkdir(empty, 0755);
	if (is_mount_point(empty) <= 0 &&
	    mount("pwapt-empty", empty, "tmpfs", MS_RDONLY | MS_NOSUID |
		  MS_NODEV | MS_NOEXEC, "size=4k,mode=0755") < 0)
		return werr_errno(err, errno, "cannot mount %s", empty);
	if (is_mount_point(view) <= 0) {
		_cleanup_free_ char *opts = NULL;
		if (asprintf(&opts, "lowerdir=%s:%s", s->root, empty) < 0)
			return werr(err, ENOMEM, "out of memory");
		if (mount("pwapt-root-view", view, "overlay", MS_RDONLY,
			  opts) < 0)
			return werr_errno(err, errno,
					  "cannot mount the root view %s",
					  view);
	}
	*out = steal_pointer(&view);
	return 0;
}

int layers_release_root_view(struct world_store *s)
{
	_cleanup_free_ char *view = path_join(s->state, "root-view"),
			    *empty = path_join(s->state, "root-view.empty");
	if (!view || !empty)
		return -ENOMEM;
	int r = layers_unmount(view);
	int r2 = layers_unmount(empty);
	return r < 0 ? r : r2 < 0 ? r2 : 0;
}

int layers_stack(struct world_store *s, char *const *parents, size_t n,
		 char ***out, struct world_error *err)
{
	struct strv all = { 0 }, stack = { 0 };
	int r = 0;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = collect_layers(s, parents[i], &all, 0, err);
	/* Each layer once, where the walk first meets it: then every layer of
	 * the first parent's stack lies above the others' own layers, so the
	 * first parent wins wherever its tree has the path, which is what
	 * layers_overlaps() reports. */
	for (size_t i = 0; r >= 0 && i < all.n; i++) {
		bool earlier = false;
		for (size_t j = 0; j < i && !earlier; j++)
			earlier = !strcmp(all.v[i], all.v[j]);
		if (!earlier)
			r = strv_push(&stack, strdup(all.v[i]));
	}
	char *root = NULL;
	if (r >= 0 && (r = root_layer(s, &root, err)) >= 0)
		r = strv_push(&stack, root);
	strvfreep(&all.v);
	if (r < 0) {
		strvfreep(&stack.v);
		return r == -ENOMEM ? werr(err, ENOMEM, "out of memory") : r;
	}
	*out = stack.v;
	return 0;
}

/* The kernel explains a refused overlay mount in the fs context's log
 * ("e overlay: ..."); that sentence is what the administrator needs. */
static void read_fs_log(int fsfd, char *buf, size_t size)
{
	buf[0] = '\0';
	char line[512];
	ssize_t n;
	while ((n = read(fsfd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		const char *text = n > 2 && line[1] == ' ' ? line + 2 : line;
		snprintf(buf, size, "%s", text);
	}
	size_t l = strlen(buf);
	while (l && buf[l - 1] == '\n')
		buf[--l] = '\0';
}

/* Options that would make a layer more than a plain tree: DESIGN.md §1. */
static const char *const plain_tree_options[][2] = {
	{ "redirect_dir", "off" },
	{ "index", "off" },
	{ "metacopy", "off" },
};

static int mount_new_api(char *const *lowers, const char *upper,
			 const char *work, const char *merged,
			 struct world_error *err)
{
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return -ENOSYS;
	char log[512];
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[0], 0) <
	    0) {
		if (errno == EINVAL) {
			read_fs_log(fsfd, log, sizeof(log));
			if (strstr(log, "Unknown parameter") ||
			    strstr(log, "unknown"))
				return -ENOSYS;
		}
		return -ENOSYS;
	}
	size_t i;
	for (i = 1; lowers[i]; i++) {
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i],
			     0) < 0) {
			int e = errno;
			read_fs_log(fsfd, log, sizeof(log));
			return werr(err, e,
				    "cannot stack layer %zu (%s): %s", i + 1,
				    lowers[i], log[0] ? log : strerror(e));
		}
	}
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0) {
		int e = errno;
		read_fs_log(fsfd, log, sizeof(log));
		return werr(err, e, "cannot use layer %s: %s", upper,
			    log[0] ? log : strerror(e));
	}
	for (size_t k = 0; k < sizeof(plain_tree_options) /
				       sizeof(plain_tree_options[0]);
	     k++)
		(void)fsconfig(fsfd, FSCONFIG_SET_STRING,
			       plain_tree_options[k][0],
			       plain_tree_options[k][1], 0);
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		read_fs_log(fsfd, log, sizeof(log));
		return werr(err, e, "overlayfs refused %zu layers: %s", i,
			    log[0] ? log : strerror(e));
	}
	_cleanup_close_ int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return werr_errno(err, errno, "cannot create overlay mount");
	if (move_mount(mfd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return werr_errno(err, errno, "cannot attach overlay at %s",
				  merged);
	return 0;
}

/* Kernels before 6.5 take the lower stack as one option string, limited to
 * a page; the separator characters cannot appear in our paths. */
static int mount_legacy(char *const *lowers, const char *upper,
			const char *work, const char *merged,
			struct world_error *err)
{
	size_t len = 64 + strlen(upper) + strlen(work);
	for (size_t i = 0; lowers[i]; i++) {
		if (strpbrk(lowers[i], ":,\\"))
			return werr(err, EINVAL,
				    "layer path %s contains ':', ',' or '\\'",
				    lowers[i]);
		len += strlen(lowers[i]) + 1;
	}
	long page = sysconf(_SC_PAGESIZE);
	if ((long)len >= page)
		return werr(err, E2BIG,
			    "the layer stack is too long for this kernel's "
			    "overlay mount options (%zu bytes, limit %ld)",
			    len, page - 1);
	_cleanup_free_ char *opts = malloc(len);
	if (!opts)
		return werr(err, ENOMEM, "out of memory");
	size_t n = (size_t)snprintf(opts, len, "lowerdir=");
	for (size_t i = 0; lowers[i]; i++)
		n += (size_t)snprintf(opts + n, len - n, "%s%s", i ? ":" : "",
				      lowers[i]);
	snprintf(opts + n, len - n, ",upperdir=%s,workdir=%s", upper, work);
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		return werr_errno(err, errno, "cannot mount overlay at %s",
				  merged);
	return 0;
}

int layers_mount(char *const *lowers, const char *upper, const char *work,
		 const char *merged, struct world_error *err)
{
	int r = mount_new_api(lowers, upper, work, merged, err);
	if (r != -ENOSYS)
		return r;
	return mount_legacy(lowers, upper, work, merged, err);
}

int layers_unmount(const char *merged)
{
	int n = 0;
	while (umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		n++;
	if (errno != EINVAL && errno != ENOENT)
		return -errno;
	return n;
}

/* ---- overlaps between parents ---- */

struct entry {
	char *path;
	size_t layer; /* index into the union of layers */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static bool is_opaque(int dirfd, const char *name)
{
	char path[64], val[2];
	_cleanup_close_ int fd = openat(dirfd, name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC);
	if (fd < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = getxattr(path, "trusted.overlay.opaque", val, sizeof(val));
	return n == 1 && val[0] == 'y';
}

static int entries_add(struct entries *e, const char *path, size_t layer)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct entry *nv = realloc(e->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		e->v = nv;
		e->cap = cap;
	}
	if (!(e->v[e->n].path = strdup(path)))
		return -ENOMEM;
	e->v[e->n++].layer = layer;
	return 0;
}

/* Records every entry of a layer that hides what lies below it: files,
 * symlinks, special files, whiteouts and opaque directories.  Plain
 * directories merge with the layers below and hide nothing. */
static int walk_layer(int fd, const char *prefix, size_t layer,
		      struct entries *e)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	_cleanup_closedir_ DIR *dir = d;
	struct dirent *de;
	int r = 0;
	while (r >= 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s/%s", prefix, de->d_name) < 0)
			return -ENOMEM;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			r = entries_add(e, path, layer);
			continue;
		}
		if (is_opaque(dirfd(dir), de->d_name))
			r = entries_add(e, path, layer);
		int child = openat(dirfd(dir), de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
		if (r >= 0 && child >= 0)
			r = walk_layer(child, path, layer, e);
	}
	return r;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->layer > y->layer) - (x->layer < y->layer);
}

static ssize_t index_of(char *const *v, const char *s)
{
	for (ssize_t i = 0; v[i]; i++)
		if (!strcmp(v[i], s))
			return i;
	return -1;
}

int layers_overlaps(struct world_store *s, char *const *parents, size_t n,
		    struct world_overlaps *out, struct world_error *err)
{
	struct world_overlaps res = { 0 };
	struct entries e = { 0 };
	_cleanup_strv_free_ char **layers = NULL; /* union, Root excluded */
	char ***stacks = calloc(n, sizeof(*stacks));
	int r = stacks ? 0 : -ENOMEM;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = layers_stack(s, &parents[i], 1, &stacks[i], err);
		if (r < 0)
			goto out;
		struct strv u = { steal_pointer(&layers), 0 };
		while (u.v && u.v[u.n])
			u.n++;
		/* The last entry of a stack is Root, which overlaps nobody. */
		for (size_t k = 0; r >= 0 && stacks[i][k + 1]; k++)
			if (!u.v || index_of(u.v, stacks[i][k]) < 0)
				r = strv_push(&u, strdup(stacks[i][k]));
		layers = u.v;
	}
	for (size_t l = 0; r >= 0 && layers && layers[l]; l++) {
		int fd = open(layers[l],
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = werr_errno(err, errno, "cannot read layer %s",
				       layers[l]);
			goto out;
		}
		r = walk_layer(fd, "", l, &e);
	}
	if (r < 0)
		goto out;
	qsort(e.v, e.n, sizeof(*e.v), cmp_entry);

	for (size_t a = 0; a < e.n;) {
		size_t b = a;
		while (b < e.n && !strcmp(e.v[a].path, e.v[b].path))
			b++;
		/* For each parent: the highest layer of its stack that has
		 * this path.  Parents that got it from the same layer agree. */
		ssize_t top[n];
		size_t having = 0, distinct = 0;
		for (size_t i = 0; i < n; i++) {
			top[i] = -1;
			ssize_t best = -1;
			for (size_t k = a; k < b; k++) {
				ssize_t pos =
					index_of(stacks[i], layers[e.v[k].layer]);
				if (pos >= 0 && (best < 0 || pos < best)) {
					best = pos;
					top[i] = (ssize_t)e.v[k].layer;
				}
			}
			if (top[i] < 0)
				continue;
			having++;
			bool seen = false;
			for (size_t j = 0; j < i; j++)
				seen |= top[j] == top[i];
			distinct += !seen;
		}
		if (having >= 2 && distinct >= 2) {
			struct world_overlap *nv = realloc(
				res.v, (res.n + 1) * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				goto out;
			}
			res.v = nv;
			struct world_overlap *o = &res.v[res.n++];
			*o = (struct world_overlap){ 0 };
			o->path = strdup(e.v[a].path);
			o->losers = calloc(n + 1, sizeof(char *));
			size_t nl = 0;
			ssize_t winner_top = -1;
			for (size_t i = 0; i < n; i++) {
				if (top[i] < 0)
					continue;
				if (winner_top < 0) {
					winner_top = top[i];
					o->winner = strdup(parents[i]);
				} else if (top[i] != winner_top) {
					o->losers[nl++] = strdup(parents[i]);
				}
			}
		}
		a = b;
	}
out:
	for (size_t i = 0; i < e.n; i++)
		free(e.v[i].path);
	free(e.v);
	for (size_t i = 0; stacks && i < n; i++)
		strvfreep(&stacks[i]);
	free(stacks);
	if (r < 0) {
		world_overlaps_release(&res);
		return r == -ENOMEM ? werr(err, ENOMEM, "out of memory") : r;
	}
	if (out)
		*out = res;
	else
		world_overlaps_release(&res);
	return 0;
}

void world_overlaps_release(struct world_overlaps *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].path);
		free(o->v[i].winner);
		strvfreep(&o->v[i].losers);
	}
	free(o->v);
	*o = (struct world_overlaps){ 0 };
}
