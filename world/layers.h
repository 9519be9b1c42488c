/* Layers and overlay mounts.  Private to libworld. */
#ifndef PWAPT_LAYERS_H
#define PWAPT_LAYERS_H

#include "fsutil.h"
#include "store.h"

/* Root's separate file systems (a separate /var, /usr, /boot, /home): their
 * paths relative to Root, sorted, so that a parent comes before what is
 * mounted below it.  A world has one layer for Root's own file system and
 * one for each of these, mounted at the same place in its tree, so that the
 * world sees the whole system.  Pseudo file systems, tmpfs, and whatever
 * lies below /proc, /sys, /dev, /run, /tmp or the state directory are not
 * among them. */
/* 1 when a mount point of this mount namespace is DIR (an absolute path,
 * symbolic links resolved) or lies below it, else 0; -errno. */
int layers_mount_below(const char *dir);
/* The same, and *MP (malloc'd, NULL when 0) gets the first such mount
 * point. */
int layers_find_mount_below(const char *dir, char **mp);
/* Whether a mount lies strictly below DIR at none of EXCEPT (absolute
 * paths, NULL-terminated; NULL: none), or two at one of them: 1, 0, or
 * -errno. */
int layers_mount_inside(const char *dir, char *const *except);
/* Whether every mount in the tree of FDS[0], a mount's root, is at one of
 * FDS[1..N-1] (mount roots in it, each once): 1, 0 (another mount, or FDS
 * no mounts' roots), or -errno; layers-mounts.c. */
int layers_mounts_only(const int *fds, size_t n);
int layers_root_mounts(struct world_store *s, char ***out,
		       struct world_error *err);

/* A world's layer directory LEAF ("upper", "work") for Root's file system
 * REL ("" for Root's own).  Returns a malloc'd path or NULL. */
char *layers_dir(struct world_store *s, const char *world, const char *rel,
		 const char *leaf);

/* The lower stack, for Root's file system REL, of a world whose parents are
 * PARENTS, highest first: each parent's own stack in the order given, depth
 * first, every layer once (where first met), Root's layer last.  *out is a
 * NULL-terminated vector of absolute paths. */
int layers_stack(struct world_store *s, char *const *parents, size_t n,
		 const char *rel, char ***out, struct world_error *err);

/* How layers_mount_world() mounts a world's tree. */
enum {
	LAYERS_CREATE = 1u << 0,   /* a new world: make its layer first */
	LAYERS_VOLATILE = 1u << 1, /* with "volatile" (see below) */
	LAYERS_REDIRECT = 1u << 2, /* layers_mount(): with redirect_dir=on */
};

/* Mounts the tree of world M at worlds/NAME/merged: one overlay for Root's
 * own file system and one for each of M->mounts.  LAYERS_CREATE: make the
 * layer directories first (a new world), LAYERS_VOLATILE: mounted without
 * any sync where the kernel can, recorded first (layers_volatile()).
 * Otherwise only what is not mounted is mounted, and *mounted (may be
 * NULL) tells whether anything was; a world caught by a crash while
 * volatile is refused (-EUCLEAN, layers_check_intact()). */
int layers_mount_world(struct world_store *s, const struct world_meta *m,
		       unsigned flags, bool *mounted, struct world_error *err);

/* ---- volatile layers (layers-volatile.c) ---- */

/* Whether world NAME's layer may hold writes that never reached the disk:
 * it was mounted volatile and not made durable since. */
bool layers_volatile(struct world_store *s, const char *name);
/* Records durably that NAME is volatile (ON), before it is mounted so, or
 * that it is not any more, once its layer is synced and its tree
 * unmounted (or proved intact). */
int layers_mark_volatile(struct world_store *s, const char *name, bool on,
			 struct world_error *err);
/* 0 when world M may be mounted: not volatile, or volatile and mounted, or
 * proved intact (synced by a merge that was prepared: then no longer
 * volatile).  -EUCLEAN, naming wdelete, when it was caught by a crash. */
int layers_check_intact(struct world_store *s, const struct world_meta *m,
			struct world_error *err);
/* Removes what a volatile mount left in WORK, the work directory of one of
 * NAME's layers (the kernel refuses the layer while it is there); -EUCLEAN
 * while NAME is volatile. */
int layers_clear_incompat(struct world_store *s, const char *name,
			  const char *work, struct world_error *err);
/* (layers.c) syncfs of M's layers' file system; where M is volatile and mounted, also
 * of its overlays, which fail when writing the layer failed since the
 * mount (overlayfs checks the upper file system's errseq): the layer is
 * then damaged, and the error says so. */
int layers_sync_world(struct world_store *s, const struct world_meta *m,
		      struct world_error *err);
/* The same where the file system SYNCED (a device, 0: none) was synced
 * since M last wrote its layers (M frozen before): a layer on it is not
 * synced again. */
int layers_sync_world_since(struct world_store *s, const struct world_meta *m,
			    dev_t synced, struct world_error *err);

/* Makes world M's mounted overlays (and Root's views) see their lower
 * layers as they are now, dropping what overlayfs cached of them.  Changes
 * that Root or a parent made while M runs show in M from then on. */
int layers_refresh_world(struct world_store *s, const struct world_meta *m,
			 struct world_error *err);

/* The same for every mounted world: after a merge changed a tree that
 * worlds are stacked on. */
int layers_refresh_all(struct world_store *s, struct world_error *err);
/* The same for DST and the worlds stacked on it only (all of them when
 * DST is Root): after a merge into DST, no other world's lower layers
 * changed. */
int layers_refresh_above(struct world_store *s, const char *dst,
			 struct world_error *err);

/* Disk usage of all of a world's layers. */
int layers_usage(struct world_store *s, const struct world_meta *m,
		 uint64_t *bytes);

/* Unmounts the root view (see layers.c) once no world needs it. */
int layers_unmount_root_view(struct world_store *s);

/* ---- one overlay mount (layers-overlay.c) ---- */

/* P as overlayfs reads a layer's path from its options: each of CHARS
 * after a backslash (":,\\" in mount(2)'s option string; "\\" alone in
 * fsconfig's upperdir and workdir).  NULL when out of memory. */
char *layers_escape(const char *p, const char *chars);

/* Mounts the overlay of a world at MERGED: LOWERS (highest first), UPPER and
 * WORK, any characters in their paths; FLAGS: LAYERS_VOLATILE, with "volatile"
 * where the kernel has it (asked once, at run time); LAYERS_REDIRECT, with
 * redirect_dir=on (else off).  Returns 1 when mounted volatile, 0 when plain.
 * The kernel's own explanation of a refusal goes into ERR. */
int layers_mount(char *const *lowers, const char *upper, const char *work,
		 const char *merged, unsigned flags, struct world_error *err);

/* ---- renamed directories (layers-redirect.c) ---- */

/* Whether worlds are mounted with redirect_dir=on: 1, or 0 where this
 * kernel's overlayfs cannot record a renamed directory in the state
 * directory's file system (then a rename copies the directory up, as
 * before).  Asked once by a probe mount in the state directory
 * (PWAPT_FAIL_AT=mount-redirect: as if it failed), the answer kept in
 * STATE/overlay-redirect for good: layers with redirects need it. */
int layers_redirect_dir(struct world_store *s);
/* Detaches every mount stacked on MERGED.  Returns 0 if none was there. */
int layers_unmount(const char *merged);

/* Whether directory FD is an opaque directory of a layer (it hides what
 * the layers below hold there). */
bool layers_dir_opaque(int fd);
/* Walks the tree below directory FD (see fs_walk: any depth, never into
 * another mount, every error ends it), parents before children, calling
 * FN with each entry (its path PREFIX/...) and, with OPAQUE, whether it is
 * an opaque directory.  A return of FN > 0 skips what lies below the
 * entry, < 0 ends the walk with it. */
int layers_walk(int fd, const char *prefix, bool opaque,
		int (*fn)(const struct fs_entry *e, bool opaque, void *data),
		void *data);

/* The paths that two or more of PARENTS changed (see world_overlaps). */
int layers_overlaps(struct world_store *s, char *const *parents, size_t n,
		    struct world_overlaps *out, struct world_error *err);
/* Frees what an overlaps list holds and empties it. */
void layers_overlaps_release(struct world_overlaps *o);

#endif
