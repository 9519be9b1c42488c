/* Filling struct world_error (see world.h).  Each returns -code so that a
 * failure can be reported and returned in one statement:
 *     return werr(err, errno, "cannot open '%s'", path);  */
#ifndef PWAPT_ERROR_H
#define PWAPT_ERROR_H

#include "world.h"

int werr(struct world_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like werr(), appending ": strerror(code)". */
int werr_errno(struct world_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes an error already filled in by a callee with more context. */
int werr_wrap(struct world_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
