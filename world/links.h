/* The names of the multiply-linked files of a layer, by inode: how a merge
 * finds that a new name in SRC is a hard link to a file SRC did not
 * change.  Private to libworld. */
#ifndef PWAPT_LINKS_H
#define PWAPT_LINKS_H

#include <sys/types.h>

struct link_names;

/* Walks the layer LAYER (a directory fd; fs_walk: any depth, two
 * descriptors, no symbolic link followed, no mount crossed) and notes the
 * path ("/a/b") of every regular file with more than one link.  Any error
 * of the walk is the result (-errno; *out untouched): never a partial
 * list.  *out is freed with link_names_free(). */
int link_names_load(int layer, struct link_names **out);
/* The names of inode INO, NULL-terminated (NULL when none), valid until
 * the next call.  Never fails. */
char *const *link_names_of(struct link_names *ln, ino_t ino);
void link_names_free(struct link_names *ln);

#endif
