/* The string vector of libworld: a NULL-terminated array of malloc'd
 * strings that grows, and its length.  Its array alone (char **) is what
 * functions hand out; strvfreep() (cleanup.h) frees that. */
#ifndef PWAPT_STRV_H
#define PWAPT_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "cleanup.h"

/* {NULL, 0} is empty; V stays NULL-terminated after every push. */
struct strv {
	char **v;
	size_t n;
};

/* Appends ITEM (malloc'd; NULL, a failed allocation: -ENOMEM), which S
 * then owns, also when this fails (it is freed then).  Returns 0 or
 * -ENOMEM. */
int strv_push(struct strv *s, char *item);

/* Frees S's strings and array and empties it. */
void strv_free(struct strv *s);
#define _cleanup_strv_ _cleanup_(strv_free)

/* Whether V (NULL-terminated, or NULL) holds a string equal to S. */
bool strv_contains(char *const *v, const char *s);

#endif
