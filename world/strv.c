/* The string vector (strv.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "strv.h"

int strv_push(struct strv *s, char *item)
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

void strv_free(struct strv *s)
{
	strvfreep(&s->v);
	*s = (struct strv){0};
}

bool strv_contains(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}
