/* Layers and overlay mounts.  Private to libworld. */
#ifndef PWAPT_LAYERS_H
#define PWAPT_LAYERS_H

#include "store.h"

/* The lower stack of a world whose parents are PARENTS, highest first:
 * each parent's own stack in the order given, depth first, every layer once
 * (where first met), Root's layer last.  *out is a NULL-terminated vector of
 * absolute paths. */
int layers_stack(struct world_store *s, char *const *parents, size_t n,
		 char ***out, struct world_error *err);

/* Unmounts the root view (see layers.c) once no world needs it. */
int layers_release_root_view(struct world_store *s);

/* Mounts the overlay of a world at MERGED: LOWERS (highest first), UPPER and
 * WORK.  The kernel's own explanation of a refusal goes into ERR. */
int layers_mount(char *const *lowers, const char *upper, const char *work,
		 const char *merged, struct world_error *err);
/* Detaches every mount stacked on MERGED.  Returns 0 if none was there. */
int layers_unmount(const char *merged);

/* The paths that two or more of PARENTS changed (see world_overlaps). */
int layers_overlaps(struct world_store *s, char *const *parents, size_t n,
		    struct world_overlaps *out, struct world_error *err);

#endif
