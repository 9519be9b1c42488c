/* Redirected directories of a layer: read, validated as overlayfs does,
 * and where they lead.  Private to libworld (redirect.c).
 *
 * A directory renamed in a world mounted with redirect_dir=on is, in its
 * layer, a directory at the new name with the xattr
 * trusted.overlay.redirect: an absolute path ("/srv/old", from the root
 * of the layers below) or one name (a rename within the same parent),
 * where the lower layers hold what it showed before (see
 * layers-redirect.c).  The value comes from a layer, which a crafted or
 * corrupted one could make anything: it is never used as a host path. */
#ifndef PWAPT_REDIRECT_H
#define PWAPT_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the LEN bytes of V are a redirect that overlayfs follows: one
 * name (no '/'), or '/' followed by names separated by single '/'; no
 * empty, "." or ".." name, no NUL, at most PATH_MAX bytes. */
bool redirect_valid(const char *v, size_t len);

/* The redirect of NAME in directory DIRFD (a layer's directory): 1 and
 * *OUT (malloc'd, NUL-terminated) when it has one, 0 when not; -EINVAL
 * for a value that redirect_valid() refuses (*OUT untouched), -errno. */
int redirect_read(int dirfd, const char *name, char **out);

/* Where directory PATH (absolute, world-relative) of the layer LAYER (its
 * root, a directory fd) leads in the layers below: PATH with the
 * redirects of PATH and of its ancestors in LAYER applied, as overlayfs
 * looks it up.  *OUT is malloc'd.  -EINVAL for an invalid redirect on the
 * way, -errno. */
int redirect_origin(int layer, const char *path, char **out);

/* Opens directory PATH (absolute, world-relative) beneath each of the
 * N directory fds LOWERS in turn (highest first) with
 * open_beneath() (openat2: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and
 * returns an O_PATH fd of the first that holds it as a directory, or
 * -ENOENT; a symlink on the way is never followed. */
int redirect_open_lower(const int *lowers, size_t n, const char *path);

#endif
