/* Saves and restores of the paths a merge replaces or deletes in DST, and
 * the copies they are made of.  Private to libworld.
 *
 * A save either is complete and durable under its name in the undo
 * directory, or does not exist under that name: a copy is written under
 * NAME.part, every file and directory of it fsynced, and renamed to NAME
 * only then; a save that was put back is renamed to NAME.gone before it is
 * removed.  So whoever finds NAME may remove what it saved from DST and put
 * NAME back, and whoever does not find it must leave DST's path alone. */
#ifndef PWAPT_SAVE_H
#define PWAPT_SAVE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* "/proc/self/fd/FD/NAME" (NAME: one component, or NULL): what the *xattr
 * calls without an f-variant for symbolic links need.  FD_PATH_MAX holds
 * any such path whole. */
#define FD_PATH_MAX (sizeof("/proc/self/fd//") + 12 + NAME_MAX)
void save_fd_path(char *buf, size_t size, int fd, const char *name);
/* Copies the xattrs of FROM (a path that lands on the file itself, or NULL
 * for none) to TO (whose last name is not followed), overlayfs' own left
 * out, and removes from TO what FROM lacks (an ACL removed goes too). */
int save_copy_xattrs(const char *from, const char *to);
/* Whether NAME in DIRFD, a file of a world's layer, must be copied into
 * another tree, never hard-linked: it does not hold its own data
 * (overlayfs copied up its metadata only, metacopy, its data a sparse
 * file of NULs, or took its data from another path, redirect; a link
 * would be NULs), or it has a world's own xattr that overlayfs stores
 * escaped (trusted.overlay.overlay.*, user.overlay.overlay.*), which a
 * link's clean-up of overlay records would strip from the layer's inode,
 * the world's own; or its xattrs cannot be read. */
bool save_must_copy(int dirfd, const char *name);
/* Owner and mode of ST on NAME in DIRFD; the mode after the owner, since
 * chown clears setuid (and file capabilities: set xattrs after this). */
int save_set_owner_mode(int dirfd, const char *name, const struct stat *st);
int save_set_times(int dirfd, const char *name, const struct stat *st);
/* Makes NAME in DIRFD a copy of the object FD (an O_PATH fd, status ST): a
 * regular file (its holes kept), a symbolic link, a special file or an
 * empty directory, with owner, mode, times and xattrs; DURABLE fsyncs a
 * file's data and metadata. */
int save_copy_node(int fd, const struct stat *st, int dirfd, const char *name,
		   bool durable);

/* Saves NAME in DIRFD (any type) as SAVE in UNDO: a hard link where they
 * share a file system, else a durable copy under a temporary name.  UNDO
 * itself is not fsynced (the caller does, once for all saves). */
int save_path(int dirfd, const char *name, int undo, const char *save);
/* Moves the tree NAME in DIRFD into UNDO as SAVE: a rename, or a durable
 * copy and then the removal of NAME; UNDO is fsynced before NAME goes,
 * renamed to GONE in DIRFD first (what is left there after a crash is
 * the rest of a tree whose save is complete).  So while SAVE exists,
 * NAME is the tree saved, unchanged, or another.  -EEXIST: GONE is
 * taken, left alone, and NAME too. */
/* Where the overlay of a world refuses to set a directory of its lower
 * layers aside, NAME is removed in place, marked SAVE.removing in UNDO
 * (durably) while it is: save_removing() tells a roll-back that what is at
 * NAME is the rest of the tree saved, to be put back over; done, the mark
 * goes (save_removing_done()). */
bool save_removing(int undo, const char *save);
void save_removing_done(int undo, const char *save);
int save_tree(int dirfd, const char *name, int undo, const char *save,
	      const char *gone);
/* Whether UNDO holds a complete save SAVE. */
bool save_exists(int undo, const char *save);
/* Puts SAVE in UNDO back as NAME in DIRFD, replacing what NAME is now:
 * a rename, or a durable copy under TMP (a name in DIRFD) renamed over
 * NAME; TMP is replaced only by that copy (a rename leaves it alone).
 * SAVE is consumed.  Repeatable after a crash at any point. */
int save_restore(int undo, const char *save, int dirfd, const char *name,
		 const char *tmp);

/* A directory's mode, owner, times, xattrs and ACLs, saved as SAVE in UNDO
 * (durable) and put back on NAME in DIRFD. */
int save_dir_meta(int dirfd, const char *name, int undo, const char *save);
int save_restore_dir_meta(int undo, const char *save, int dirfd,
			  const char *name);

#endif
