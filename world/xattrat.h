/* xattrs of a file named relative to a directory (xattrat.c). */
#ifndef PWAPT_XATTRAT_H
#define PWAPT_XATTRAT_H

#include <sys/types.h>

/* What llistxattr() gives of NAME in DIRFD (a symbolic link itself, never
 * followed), into BUF of SIZE bytes: its length, or -errno (-ERANGE: BUF
 * is too small). */
ssize_t xattr_list_at(int dirfd, const char *name, char *buf, size_t size);

#endif
