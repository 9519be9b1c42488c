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

/* Mounts the tree of world M at worlds/NAME/merged: one overlay for Root's
 * own file system and one for each of M->mounts.  CREATE: make the layer
 * directories first (a new world).  Otherwise only what is not mounted is
 * mounted, and *mounted (may be NULL) tells whether anything was. */
int layers_mount_world(struct world_store *s, const struct world_meta *m,
		       bool create, bool *mounted, struct world_error *err);

/* Makes world M's mounted overlays (and Root's views) see their lower
 * layers as they are now, dropping what overlayfs cached of them.  Changes
 * that Root or a parent made while M runs show in M from then on. */
int layers_refresh_world(struct world_store *s, const struct world_meta *m,
			 struct world_error *err);

/* The same for every mounted world: after a merge changed a tree that
 * worlds are stacked on. */
int layers_refresh_all(struct world_store *s, struct world_error *err);

/* Disk usage of all of a world's layers. */
int layers_usage(struct world_store *s, const struct world_meta *m,
		 uint64_t *bytes);

/* Unmounts the root view (see layers.c) once no world needs it. */
int layers_unmount_root_view(struct world_store *s);

/* Mounts the overlay of a world at MERGED: LOWERS (highest first), UPPER and
 * WORK.  The kernel's own explanation of a refusal goes into ERR. */
int layers_mount(char *const *lowers, const char *upper, const char *work,
		 const char *merged, struct world_error *err);
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
