/* What layers.c shares with layers-overlaps.c, private to them. */
#ifndef PWAPT_LAYERS_INT_H
#define PWAPT_LAYERS_INT_H

#include <stddef.h>

/* A NULL-terminated vector of malloc'd strings, growing. */
struct strv {
	char **v;
	size_t n;
};

/* Appends ITEM (malloc'd; NULL: -ENOMEM), which *S then owns, also when it
 * fails (it is freed). */
int strv_push(struct strv *s, char *item);

#endif
