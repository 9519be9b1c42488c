/* Layers and overlay mounts (see layers.h): Root's file systems, the stack
 * of lower layers, revalidation, mounting a world's tree and walking a layer.
 * The overlaps between parents are in layers-overlaps.c, one overlay mount
 * in layers-overlay.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "strv.h"

/* ---- Root's file systems ---- */

/* File systems that hold a system's files.  Pseudo file systems (proc,
 * sysfs, cgroup, ...) and tmpfs are not part of what a world inherits: a
 * world gets fresh ones of its own. */
static const char *const system_fs_types[] = {
	"ext2",	 "ext3", "ext4",     "xfs", "btrfs",  "f2fs",  "vfat",
	"exfat", "jfs",	 "reiserfs", "zfs", "nilfs2", "ntfs3", "bcachefs",
};

/* Directories a world always gets fresh (README, "Containers"). */
static const char *const fresh_dirs[] = {"proc", "sys", "dev", "run", "tmp"};

static bool is_system_fs(const char *type)
{
	for (size_t i = 0; i < sizeof(system_fs_types) / sizeof(char *); i++)
		if (!strcmp(type, system_fs_types[i]))
			return true;
	return false;
}

static bool under_fresh_dir(const char *rel)
{
	for (size_t i = 0; i < sizeof(fresh_dirs) / sizeof(char *); i++) {
		size_t n = strlen(fresh_dirs[i]);
		if (!strncmp(rel, fresh_dirs[i], n) &&
		    (rel[n] == '\0' || rel[n] == '/'))
			return true;
	}
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
		    r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 +
				      (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Whether PATH is DIR or lies below it, as strings. */
static bool path_below(const char *path, const char *dir)
{
	if (!strcmp(dir, "/"))
		return true;
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int layers_root_mounts(struct world_store *s, char ***out,
		       struct world_error *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return werr_errno(err, errno, "cannot read the mount table");
	struct strv v = {0};
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int r = 0;
	while (r >= 0 && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [tags] - type src */
		char *fields[5] = {0}, *save = NULL, *tok = line;
		for (int i = 0;
		     i < 5 && (fields[i] = strtok_r(tok, " ", &save)); i++)
			tok = NULL;
		char *sep = save ? strstr(save, " - ") : NULL;
		if (!fields[4] || !sep)
			continue;
		char *type = strtok_r(sep + 3, " ", &save);
		char *mp = fields[4];
		unescape_octal(mp);
		if (!type || !is_system_fs(type) || !path_below(mp, s->root) ||
		    !strcmp(mp, s->root) || path_below(mp, s->state))
			continue;
		const char *rel =
			mp + (strcmp(s->root, "/") ? strlen(s->root) : 0);
		while (*rel == '/')
			rel++;
		if (!meta_rel_path_valid(rel) || under_fresh_dir(rel) ||
		    strv_contains(v.v, rel))
			continue;
		r = strv_push(&v, strdup(rel));
	}
	if (r < 0) {
		strvfreep(&v.v);
		return werr(err, ENOMEM, "out of memory");
	}
	if (v.n)
		qsort(v.v, v.n, sizeof(*v.v), cmp_str);
	*out = v.v;
	return 0;
}

int layers_mount_below(const char *dir)
{
	return layers_find_mount_below(dir, NULL);
}

/* The first mount point of the mount table at or below DIR (strictly
 * below with STRICT) that is none of EXCEPT, or one of them met twice (a
 * mount on a mount there), into *MP unless MP is NULL: 1, 0 when there is
 * none, or -errno. */
static int mount_below(const char *dir, bool strict, char *const *except,
		       char **mp)
{
	if (mp)
		*mp = NULL;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	size_t n_except = 0;
	while (except && except[n_except])
		n_except++;
	_cleanup_free_ bool *met = calloc(n_except + 1, sizeof(*met));
	if (!met)
		return -ENOMEM;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint ... */
		char *fields[5] = {0}, *save = NULL, *tok = line;
		for (int i = 0;
		     i < 5 && (fields[i] = strtok_r(tok, " ", &save)); i++)
			tok = NULL;
		if (!fields[4])
			continue;
		unescape_octal(fields[4]);
		if (!path_below(fields[4], dir) ||
		    (strict && !strcmp(fields[4], dir)))
			continue;
		size_t k = 0;
		while (k < n_except && strcmp(except[k], fields[4]))
			k++;
		if (k < n_except && !met[k]) {
			met[k] = true;
			continue;
		}
		if (mp && !(*mp = strdup(fields[4])))
			return -ENOMEM;
		return 1;
	}
	return 0;
}

int layers_find_mount_below(const char *dir, char **mp)
{
	return mount_below(dir, false, NULL, mp);
}

int layers_mount_inside(const char *dir, char *const *except)
{
	return mount_below(dir, true, except, NULL);
}

/* REL as one directory name: '%' and '/' are escaped as %25 and %2F. */
static char *escape_rel(const char *rel)
{
	char *e = malloc(strlen(rel) * 3 + 1), *w = e;
	if (!e)
		return NULL;
	for (; *rel; rel++) {
		if (*rel == '/' || *rel == '%')
			w += sprintf(w, "%%%02X", (unsigned char)*rel);
		else
			*w++ = *rel;
	}
	*w = '\0';
	return e;
}

char *layers_dir(struct world_store *s, const char *world, const char *rel,
		 const char *leaf)
{
	if (!*rel)
		return store_world_path(s, world, leaf);
	_cleanup_free_ char *esc = escape_rel(rel);
	_cleanup_free_ char *sub = NULL;
	if (!esc || asprintf(&sub, "fs/%s/%s", esc, leaf) < 0)
		return NULL;
	return store_world_path(s, world, sub);
}

static char *merged_dir(struct world_store *s, const char *world,
			const char *rel)
{
	_cleanup_free_ char *merged = store_world_path(s, world, "merged");
	if (!merged || !*rel)
		return steal_pointer(&merged);
	return path_join(merged, rel);
}

/* ---- the stack of lower layers ---- */

static int collect_layers(struct world_store *s, const char *name,
			  const char *rel, struct strv *acc, unsigned depth,
			  struct world_error *err)
{
	if (!strcmp(name, WORLD_ROOT))
		return 0;
	if (depth > 4096)
		return werr(err, ELOOP, "world '%s' nests too deep", name);
	struct world_meta m = {0};
	int r = meta_load(s, name, &m, err);
	if (r < 0)
		return r;
	/* A world created before Root got file system REL has no layer of
	 * its own there; its parents may. */
	if (!*rel || strv_contains(m.mounts, rel))
		r = strv_push(acc, layers_dir(s, name, rel, "upper"));
	for (size_t i = 0; r >= 0 && i < m.n_parents; i++)
		r = collect_layers(s, m.parents[i], rel, acc, depth + 1, err);
	meta_release(&m);
	if (r == -ENOMEM)
		return werr(err, ENOMEM, "out of memory");
	return r;
}

/* Whether the state directory (and so every world's layer) lies inside the
 * tree DIR on DIR's own file system: the case of a host whose Root is "/"
 * and whose state is /var/lib/pwapt. */
static bool state_inside(struct world_store *s, const char *dir)
{
	struct stat ds, ss;
	return stat(dir, &ds) == 0 && stat(s->state, &ss) == 0 &&
	       ds.st_dev == ss.st_dev && path_below(s->state, dir);
}

/* overlayfs refuses a lower layer that lies below another lower layer of
 * the same mount ("overlapping lowerdir path"): a world's layer under
 * /var/lib/pwapt and "/" itself.  So where the state directory lies inside
 * one of Root's file systems, that file system enters the stack through a
 * read-only overlay of its own (a root view) whose dentries are not Root's.
 * overlayfs wants two lower layers for a mount without upper layer; the
 * second is an empty read-only tmpfs, which adds nothing.  The views stay
 * mounted until stop-all. */
static int root_layer(struct world_store *s, const char *rel, char **out,
		      struct world_error *err)
{
	_cleanup_free_ char *dir =
		*rel ? path_join(s->root, rel) : strdup(s->root);
	if (!dir)
		return werr(err, ENOMEM, "out of memory");
	if (!state_inside(s, dir)) {
		*out = steal_pointer(&dir);
		return 0;
	}
	_cleanup_free_ char *esc = *rel ? escape_rel(rel) : strdup("%");
	_cleanup_free_ char *views = path_join(s->state, "root-view"),
			    *empty = path_join(s->state, "root-view.empty");
	_cleanup_free_ char *view = views && esc ? path_join(views, esc) : NULL;
	if (!view || !empty)
		return werr(err, ENOMEM, "out of memory");
	(void)mkdir(views, 0755);
	(void)mkdir(view, 0755);
	(void)mkdir(empty, 0755);
	if (is_mount_point(empty) <= 0 &&
	    mount("pwapt-empty", empty, "tmpfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,mode=0755") < 0)
		return werr_errno(err, errno, "cannot mount %s", empty);
	if (is_mount_point(view) <= 0) {
		_cleanup_free_ char *opts = NULL,
				    *d = layers_escape(dir, ":,\\"),
				    *e = layers_escape(empty, ":,\\");
		if (!d || !e || asprintf(&opts, "lowerdir=%s:%s", d, e) < 0)
			return werr(err, ENOMEM, "out of memory");
		if (mount("pwapt-root-view", view, "overlay", MS_RDONLY, opts) <
		    0)
			return werr_errno(err, errno,
					  "cannot mount the root view %s",
					  view);
	}
	*out = steal_pointer(&view);
	return 0;
}

int layers_unmount_root_view(struct world_store *s)
{
	_cleanup_free_ char *views = path_join(s->state, "root-view"),
			    *empty = path_join(s->state, "root-view.empty");
	if (!views || !empty)
		return -ENOMEM;
	_cleanup_closedir_ DIR *d = opendir(views);
	struct dirent *de;
	int ret = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *view = path_join(views, de->d_name);
		int r = view ? layers_unmount(view) : -ENOMEM;
		if (r < 0 && !ret)
			ret = r;
	}
	int r = layers_unmount(empty);
	return ret < 0 ? ret : r < 0 ? r : 0;
}

int layers_stack(struct world_store *s, char *const *parents, size_t n,
		 const char *rel, char ***out, struct world_error *err)
{
	struct strv all = {0}, stack = {0};
	int r = 0;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = collect_layers(s, parents[i], rel, &all, 0, err);
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
	if (r >= 0 && (r = root_layer(s, rel, &root, err)) >= 0)
		r = strv_push(&stack, root);
	strvfreep(&all.v);
	if (r < 0) {
		strvfreep(&stack.v);
		return r == -ENOMEM ? werr(err, ENOMEM, "out of memory") : r;
	}
	*out = stack.v;
	return 0;
}

/* ---- revalidation ---- */

/* overlayfs caches what it looked up in its lower layers and does not
 * notice when a lower layer changes: a file Root replaced by rename (as dpkg
 * does) or created after the world looked for it stays invisible.
 * Reconfiguring the overlay makes the kernel drop its unused dentries
 * (shrink_dcache_sb), so the next lookup sees the layers as they are. */
static int refresh_overlay(const char *path, bool read_only)
{
	_cleanup_close_ int fd = fspick(AT_FDCWD, path,
					FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT |
						FSPICK_SYMLINK_NOFOLLOW);
	if (fd >= 0 &&
	    (!read_only ||
	     fsconfig(fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) == 0) &&
	    fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) == 0)
		return 0;
	unsigned long flags =
		MS_REMOUNT | MS_SILENT | (read_only ? MS_RDONLY : 0);
	if (mount(NULL, path, NULL, flags, NULL) == 0)
		return 0;
	return -errno;
}

/* Root's views, or NULL when none is mounted. */
static char **mounted_root_views(struct world_store *s)
{
	_cleanup_free_ char *views = path_join(s->state, "root-view");
	_cleanup_closedir_ DIR *d = views ? opendir(views) : NULL;
	struct strv v = {0};
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *view = path_join(views, de->d_name);
		if (view && is_mount_point(view) > 0)
			strv_push(&v, view);
		else
			free(view);
	}
	return v.v;
}

static int refresh_world_overlays(struct world_store *s,
				  const struct world_meta *m,
				  struct world_error *err)
{
	for (size_t i = 0; i <= m->n_mounts; i++) {
		const char *rel = i ? m->mounts[i - 1] : "";
		_cleanup_free_ char *target = merged_dir(s, m->name, rel);
		if (!target)
			return werr(err, ENOMEM, "out of memory");
		if (is_mount_point(target) <= 0)
			continue;
		int r = refresh_overlay(target, false);
		if (r < 0)
			return werr_errno(err, -r, "cannot revalidate %s",
					  target);
	}
	return 0;
}

/* A view's dentries stay cached as long as a world's overlay holds them,
 * so with views every world is revalidated first, then the views.  Returns
 * 1 when there are no views, 0 when done. */
static int refresh_views_and_worlds(struct world_store *s,
				    struct world_error *err)
{
	_cleanup_strv_free_ char **views = mounted_root_views(s);
	if (!views)
		return 1; /* nothing to do: no views */
	_cleanup_strv_free_ char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	for (char **n = names; *n; n++) {
		struct world_meta m = {0};
		if (meta_load(s, *n, &m, NULL) < 0)
			continue;
		r = refresh_world_overlays(s, &m, err);
		meta_release(&m);
		if (r < 0)
			return r;
	}
	for (char **v = views; *v; v++)
		if ((r = refresh_overlay(*v, true)) < 0)
			return werr_errno(err, -r, "cannot revalidate %s", *v);
	return 0;
}

int layers_refresh_all(struct world_store *s, struct world_error *err)
{
	int r = refresh_views_and_worlds(s, err);
	if (r <= 0)
		return r;
	/* No views: each world on its own. */
	_cleanup_strv_free_ char **names = NULL;
	if ((r = store_world_names(s, &names)) < 0)
		return werr_errno(err, -r, "cannot list worlds");
	for (char **n = names; *n && r >= 0; n++) {
		struct world_meta m = {0};
		if (meta_load(s, *n, &m, NULL) < 0)
			continue;
		r = refresh_world_overlays(s, &m, err);
		meta_release(&m);
	}
	return r < 0 ? r : 0;
}

int layers_refresh_above(struct world_store *s, const char *dst,
			 struct world_error *err)
{
	if (store_is_root(dst))
		return layers_refresh_all(s, err);
	_cleanup_strv_free_ char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	for (char **n = names; *n && r >= 0; n++) {
		struct world_meta m = {0};
		if (!store_is_ancestor(s, *n, dst) ||
		    meta_load(s, *n, &m, NULL) < 0)
			continue;
		r = refresh_world_overlays(s, &m, err);
		meta_release(&m);
	}
	return r < 0 ? r : 0;
}

int layers_refresh_world(struct world_store *s, const struct world_meta *m,
			 struct world_error *err)
{
	int r = refresh_views_and_worlds(s, err);
	/* Without views, a world's lower layers are plain directories. */
	return r > 0 ? refresh_world_overlays(s, m, err) : r;
}

/* ---- mounting a world's tree ---- */

/* The top of a new layer must look like the directory it covers:
 * overlayfs shows the upper directory's own mode and owner there. */
static int make_layer_dirs(struct world_store *s, const char *world,
			   const char *rel, struct world_error *err)
{
	_cleanup_free_ char *upper = layers_dir(s, world, rel, "upper"),
			    *work = layers_dir(s, world, rel, "work"),
			    *below = *rel ? path_join(s->root, rel)
					  : strdup(s->root);
	if (!upper || !work || !below)
		return werr(err, ENOMEM, "out of memory");
	struct stat st;
	if (stat(below, &st) < 0)
		return werr_errno(err, errno, "cannot examine %s", below);
	int r = mkdir_p(work, 0700);
	if (r < 0)
		return werr_errno(err, -r, "cannot create %s", work);
	if (mkdir(upper, st.st_mode & 07777) < 0 ||
	    chown(upper, st.st_uid, st.st_gid) < 0 ||
	    chmod(upper, st.st_mode & 07777) < 0)
		return werr_errno(err, errno, "cannot create %s", upper);
	return 0;
}

static int mount_one(struct world_store *s, const struct world_meta *m,
		     const char *rel, unsigned flags, bool *mounted,
		     bool *no_sync, struct world_error *err)
{
	bool create = flags & LAYERS_CREATE;
	_cleanup_free_ char *target = merged_dir(s, m->name, rel);
	if (!target)
		return werr(err, ENOMEM, "out of memory");
	if (!create) {
		int r = is_mount_point(target);
		if (r < 0)
			return werr_errno(err, -r, "cannot examine %s", target);
		if (r > 0)
			return 0;
	}
	_cleanup_free_ char *upper = layers_dir(s, m->name, rel, "upper"),
			    *work = layers_dir(s, m->name, rel, "work");
	if (!upper || !work)
		return werr(err, ENOMEM, "out of memory");
	int r = create ? make_layer_dirs(s, m->name, rel, err)
		       : layers_clear_incompat(s, m->name, work, err);
	if (r < 0)
		return r;
	_cleanup_strv_free_ char **lowers = NULL;
	r = layers_stack(s, m->parents, m->n_parents, rel, &lowers, err);
	if (r < 0)
		return r;
	unsigned how = flags & LAYERS_VOLATILE;
	if (layers_redirect_dir(s))
		how |= LAYERS_REDIRECT;
	r = layers_mount(lowers, upper, work, target, how, err);
	if (r < 0)
		return werr_wrap(err, "cannot mount the tree of '%s'%s%s",
				 m->name, *rel ? " at /" : "", rel);
	*no_sync = r > 0;
	*mounted = true;
	return 0;
}

int layers_mount_world(struct world_store *s, const struct world_meta *m,
		       unsigned flags, bool *mounted, struct world_error *err)
{
	bool any = false, no_sync = false;
	/* A new world must not see stale views of Root either.  One that
	 * is not new may have been caught by a crash while volatile. */
	int r = flags & LAYERS_CREATE ? refresh_views_and_worlds(s, err)
				      : layers_check_intact(s, m, err);
	/* Marked before it is mounted so: a crash from then on is seen. */
	if (r >= 0 && (flags & LAYERS_VOLATILE))
		r = layers_mark_volatile(s, m->name, true, err);
	if (r >= 0)
		r = mount_one(s, m, "", flags, &any, &no_sync, err);
	/* Sorted, so /boot is mounted before /boot/efi. */
	for (size_t i = 0; r >= 0 && i < m->n_mounts; i++)
		r = mount_one(s, m, m->mounts[i], flags, &any, &no_sync, err);
	/* A kernel without "volatile" mounted it plain: nothing to fear. */
	if (r >= 0 && (flags & LAYERS_VOLATILE) && !no_sync)
		r = layers_mark_volatile(s, m->name, false, err);
	if (any && mounted)
		*mounted = true;
	return r;
}

/* ---- durability ---- */

/* syncfs of PATH's file system; EIO where the kernel reports an error. */
static int sync_fd(const char *path)
{
	_cleanup_close_ int fd =
		open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		return -errno;
	return 0;
}

int layers_sync_world(struct world_store *s, const struct world_meta *m,
		      struct world_error *err)
{
	return layers_sync_world_since(s, m, 0, err);
}

int layers_sync_world_since(struct world_store *s, const struct world_meta *m,
			    dev_t synced, struct world_error *err)
{
	bool check = layers_volatile(s, m->name);
	_cleanup_free_ char *merged = store_world_path(s, m->name, "merged");
	if (!merged)
		return werr(err, ENOMEM, "out of memory");
	for (size_t i = 0; i <= m->n_mounts; i++) {
		const char *rel = i ? m->mounts[i - 1] : "";
		_cleanup_free_ char *upper = layers_dir(s, m->name, rel, "upper");
		_cleanup_free_ char *tree =
			*rel ? path_join(merged, rel) : strdup(merged);
		if (!upper || !tree)
			return werr(err, ENOMEM, "out of memory");
		/* A volatile overlay's own syncfs writes nothing: the upper
		 * layer's file system is synced through the layer. */
		struct stat st;
		int r = synced && stat(upper, &st) == 0 && st.st_dev == synced
				? 0
				: sync_fd(upper);
		if (r < 0)
			return werr_errno(err, -r,
					  "cannot write the layer of '%s' to "
					  "disk: it is damaged (wdelete %s)",
					  m->name, m->name);
		/* ... and the overlay's tells whether writing the layer
		 * failed since it was mounted (its errseq). */
		if (check && is_mount_point(tree) > 0 &&
		    (r = sync_fd(tree)) < 0)
			return werr_errno(err, -r,
					  "writing the layer of '%s' to disk "
					  "failed while it was volatile: it is "
					  "damaged (wdelete %s)",
					  m->name, m->name);
	}
	return 0;
}

int layers_usage(struct world_store *s, const struct world_meta *m,
		 uint64_t *bytes)
{
	uint64_t total = 0, one = 0;
	_cleanup_free_ char *upper = layers_dir(s, m->name, "", "upper"),
			    *fs = store_world_path(s, m->name, "fs");
	if (!upper || !fs)
		return -ENOMEM;
	if (disk_usage_at(AT_FDCWD, upper, &one) == 0)
		total += one;
	if (disk_usage_at(AT_FDCWD, fs, &one) == 0)
		total += one;
	*bytes = total;
	return 0;
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

/* ---- walking a layer ---- */

bool layers_dir_opaque(int fd)
{
	char proc[64], val[2];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return getxattr(proc, "trusted.overlay.opaque", val, sizeof(val)) ==
		       1 &&
	       val[0] == 'y';
}

/* The same for NAME in directory DIRFD, without opening it. */
static bool opaque_at(int dirfd, const char *name)
{
	char proc[PATH_MAX], val[2];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
	return lgetxattr(proc, "trusted.overlay.opaque", val, sizeof(val)) ==
		       1 &&
	       val[0] == 'y';
}

struct layers_walk_ctx {
	bool opaque;
	int (*fn)(const struct fs_entry *e, bool opaque, void *data);
	void *data;
};

static int layers_walk_entry(const struct fs_entry *e, void *data)
{
	struct layers_walk_ctx *w = data;
	bool opaque = w->opaque && S_ISDIR(e->st.st_mode) &&
		      opaque_at(e->dirfd, e->name);
	return w->fn(e, opaque, w->data);
}

int layers_walk(int fd, const char *prefix, bool opaque,
		int (*fn)(const struct fs_entry *e, bool opaque, void *data),
		void *data)
{
	struct layers_walk_ctx w = {opaque, fn, data};
	return fs_walk(fd, prefix, 0, layers_walk_entry, NULL, &w);
}
