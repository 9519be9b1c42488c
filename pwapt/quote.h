/* Text of a world shown to a person: paths, and messages that name them,
 * with every byte a terminal would act on escaped (quote.c says why). */
#ifndef PWAPT_QUOTE_H
#define PWAPT_QUOTE_H

#include <stdio.h>

/* Writes PATH to F as it is when it is printable text (valid UTF-8 without
 * control characters or bidirectional overrides, no '\\', not starting
 * with '"'), else in double quotes as git quotes paths: \a \b \t \n \v \f
 * \r \" \\ and \ooo for every other byte that is not shown. */
void put_path(FILE *f, const char *path);
/* PATH as put_path() writes it, malloc'd; NULL when out of memory. */
char *quote_path(const char *path);
/* Writes TEXT to F with what a terminal would act on escaped as \ooo (or
 * \a, \b, ...), newlines and tabs kept: an error message or a note that
 * may carry a world's path. */
void put_text(FILE *f, const char *text);
/* TEXT as put_text() writes it, into BUF (SIZE bytes, cut short where it
 * does not fit): BUF, for a message printed with printf's %s. */
const char *shown_text(char *buf, size_t size, const char *text);
/* TEXT shown as put_text() writes it, for a printf %s in the same call (a
 * struct world_error's message: its escapes fit in SHOWN_SIZE). */
#define SHOWN_SIZE 4096
#define SHOWN(text) shown_text((char[SHOWN_SIZE]){0}, SHOWN_SIZE, (text))

#endif
