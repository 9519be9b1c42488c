/* The warnings of a diff against an ancestor (warnings.c): derived files
 * and files written on both sides from the trace tables, files held open
 * or mapped by the ancestor's processes from /proc, setuid or setgid files
 * and device nodes the world adds or changes.  Private to libworld;
 * on the floor of diff, above trace. */
#ifndef PWAPT_WARNINGS_H
#define PWAPT_WARNINGS_H

#include "store.h"

/* Fills D's warnings, trace notes and conflicts_by for the changes D of
 * world A (NAME_A, its tree FA) against its ancestor NAME_B (its tree FB),
 * after diff_conflicts():
 * where both traces are whole since A's creation, B's traced writes mark
 * conflicts too (and a directory's ctime alone no longer does).  What the
 * traces cannot tell (missing, damaged, incomplete) becomes a note, never
 * an error.  0 or -ENOMEM. */
int diff_warnings(struct world_store *s, const struct world_meta *a,
		  const char *name_a, const char *name_b, int fa, int fb,
		  struct world_diff *d);
/* Frees D's warnings and notes. */
void diff_warnings_release(struct world_diff *d);

#endif
