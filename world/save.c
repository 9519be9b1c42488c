/* Saves and restores for a merge's undo (see save.h), and the copies they
 * are made of.
 *
 * A copy is the slow way, taken where a rename or a hard link cannot be
 * (DST is a world behind overlayfs, or the state directory lies on another
 * file system than DST's path).  It is also the dangerous way: a copy
 * interrupted halfway must never be taken for the original, which is why
 * every copy is written under a temporary name, made durable (each file's
 * data, each directory, as dpkg does) and only then given its name, and
 * why the original goes only after that. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "fsutil.h"
#include "save.h"

static bool overlay_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) ||
	       !strncmp(name, "user.overlay.", 13);
}

bool save_must_copy(int dirfd, const char *name)
{
	char proc[FD_PATH_MAX], names[65536];
	save_fd_path(proc, sizeof(proc), dirfd, name);
	ssize_t n = llistxattr(proc, names, sizeof(names));
	if (n < 0)
		return errno != ENOTSUP; /* cannot tell: copy */
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *k = names + i;
		const char *own = !strncmp(k, "trusted.overlay.", 16) ? k + 16
				  : !strncmp(k, "user.overlay.", 13)  ? k + 13
								      : NULL;
		/* An escaped record (overlay.X) is a world's own xattr, which
		 * a link's clean-up would strip from the layer's inode. */
		if (own &&
		    (!strcmp(own, "metacopy") || !strcmp(own, "redirect") ||
		     !strncmp(own, "overlay.", 8)))
			return true;
	}
	return false;
}

/* Where save_copy_xattrs() writes: a path (its last component not
 * followed), or else a descriptor. */
struct xattr_to {
	const char *path;
	int fd;
};

static int xattr_set(const struct xattr_to *t, const char *k, const void *v,
		     size_t n)
{
	return t->path ? lsetxattr(t->path, k, v, n, 0)
		       : fsetxattr(t->fd, k, v, n, 0);
}

static ssize_t xattr_list(const struct xattr_to *t, char *buf, size_t n)
{
	return t->path ? llistxattr(t->path, buf, n) : flistxattr(t->fd, buf, n);
}

/* The error of N, what a list of xattr names returned, or 0: a list
 * that cannot be read whole (over XATTR_LIST_MAX, 64 KiB: E2BIG; grown
 * since it was sized: ERANGE, said as E2BIG) fails the copy, never copies
 * part of them unsaid; a file system without xattrs has none. */
static int xattr_list_error(ssize_t n)
{
	if (n >= 0 || errno == ENOTSUP)
		return 0;
	return errno == ERANGE ? -E2BIG : -errno;
}

static int copy_xattrs(const char *from, const struct xattr_to *to)
{
	char names[65536]; /* XATTR_LIST_MAX: any list the kernel gives */
	ssize_t n = from ? listxattr(from, names, sizeof(names)) : 0;
	int r;
	if ((r = xattr_list_error(n)) < 0)
		return r;
	for (ssize_t i = 0; n > 0 && i < n;
	     i += (ssize_t)strlen(names + i) + 1) {
		const char *k = names + i;
		if (overlay_xattr(k))
			continue;
		char val[65536]; /* XATTR_SIZE_MAX */
		ssize_t vl = getxattr(from, k, val, sizeof(val));
		if (vl < 0 && errno != ENODATA && errno != ENOTSUP &&
		    errno != EPERM)
			return -errno;
		if (vl >= 0 && xattr_set(to, k, val, (size_t)vl) < 0 &&
		    errno != ENOTSUP && errno != EPERM)
			return -errno;
	}
	n = xattr_list(to, names, sizeof(names));
	if ((r = xattr_list_error(n)) < 0)
		return r;
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1)
		if (overlay_xattr(names + i) ||
		    (from && getxattr(from, names + i, NULL, 0) < 0 &&
		     errno == ENODATA))
			(void)(to->path ? lremovexattr(to->path, names + i)
					: fremovexattr(to->fd, names + i));
	return 0;
}

int save_copy_xattrs(const char *from, const char *to)
{
	return copy_xattrs(from, &(struct xattr_to){.path = to, .fd = -1});
}

void save_fd_path(char *buf, size_t size, int fd, const char *name)
{
	if (name && *name)
		snprintf(buf, size, "/proc/self/fd/%d/%s", fd, name);
	else
		snprintf(buf, size, "/proc/self/fd/%d", fd);
}

int save_set_owner_mode(int dirfd, const char *name, const struct stat *st)
{
	/* Through one descriptor of the node itself, never by its name
	 * again: a name that a user who may write its directory swaps for
	 * a symlink meanwhile (renameat2 RENAME_EXCHANGE) would take the
	 * mode to the symlink's target (/etc/shadow made 0755). */
	_cleanup_close_ int fd =
		openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	if (fd < 0 || fstat(fd, &now) < 0)
		return -errno;
	/* Not the node just made: another's, swapped in since.  Never
	 * -ESTALE ("DST changed it before the merge touched it"): the
	 * operation that made it has begun, and its roll-back is due. */
	if ((now.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
		return -EBUSY;
	if (fchownat(fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0)
		return -errno;
	if (S_ISLNK(st->st_mode))
		return 0;
	char path[FD_PATH_MAX];
	save_fd_path(path, sizeof(path), fd, NULL);
	return chmod(path, st->st_mode & 07777) < 0 ? -errno : 0;
}

int save_set_times(int dirfd, const char *name, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int save_copy_node(int fd, const struct stat *st, int dirfd, const char *name,
		   bool durable)
{
	char from[FD_PATH_MAX], to[FD_PATH_MAX];
	save_fd_path(from, sizeof(from), fd, NULL);
	int r = 0;
	_cleanup_close_ int out = -1;
	if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
		out = openat(dirfd, name,
			     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				     O_CLOEXEC,
			     0600);
		if (in < 0 || out < 0)
			return -errno;
		if ((r = copy_bytes(in, out)) < 0)
			return r;
		/* All through the descriptor of the file made, never by its
		 * name: a user who may write DIRFD could swap the name for
		 * a file of theirs meanwhile and have it made root's,
		 * setuid, with SRC's file capabilities.  The owner first:
		 * chown clears setuid and capabilities. */
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		if (fchown(out, st->st_uid, st->st_gid) < 0 ||
		    fchmod(out, st->st_mode & 07777) < 0)
			return -errno;
		if ((r = copy_xattrs(from, &(struct xattr_to){.fd = out})) < 0)
			return r;
		if (futimens(out, ts) < 0)
			return -errno;
		return durable && fsync(out) < 0 ? -errno : 0;
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, dirfd, name) < 0)
			return -errno;
	} else if (S_ISDIR(st->st_mode)) {
		if (mkdirat(dirfd, name, 0700) < 0)
			return -errno;
	} else if (mknodat(dirfd, name, st->st_mode & (S_IFMT | 0600),
			   st->st_rdev) < 0) {
		return -errno;
	}
	save_fd_path(to, sizeof(to), dirfd, name);
	if ((r = save_set_owner_mode(dirfd, name, st)) < 0 ||
	    (r = save_copy_xattrs(S_ISLNK(st->st_mode) ? NULL : from, to)) <
		    0 ||
	    (r = save_set_times(dirfd, name, st)) < 0)
		return r;
	return 0;
}

/* Nodes copied by this process, for crash points inside the copies. */
static unsigned long n_copied;

/* A copy of a tree is one fs_walk of the original (any depth, two
 * descriptors) and, beside it, one descriptor of the copy's directory
 * that the walk is in, which follows the walk down by name and back up
 * through "..", checked against the directories it made. */
struct copy_walk {
	int cur; /* the copy's directory the walk is in */
	struct copy_dir {
		dev_t dev;
		ino_t ino;
	} * up; /* the copy's directories from its top to cur */
	size_t depth, cap;
};

/* A directory's owner, mode, xattrs and times, from FROM (an O_PATH fd)
 * to NAME in DIRFD: after its entries, which changed its times. */
static int copy_dir_meta(int from, const struct stat *st, int dirfd,
			 const char *name)
{
	char f[FD_PATH_MAX], t[FD_PATH_MAX];
	save_fd_path(f, sizeof(f), from, NULL);
	save_fd_path(t, sizeof(t), dirfd, name);
	int r;
	if ((r = save_set_owner_mode(dirfd, name, st)) < 0 ||
	    (r = save_copy_xattrs(f, t)) < 0 ||
	    (r = save_set_times(dirfd, name, st)) < 0)
		return r;
	return 0;
}

/* NAME in DIRFD as an O_PATH descriptor, if it still is the node ST. */
static int open_same(int dirfd, const char *name, const struct stat *st)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino ||
	    (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
		int r = errno ? -errno : -ESTALE;
		close(fd);
		return r == -ENOENT ? -ESTALE : r;
	}
	return fd;
}

/* Makes the directory NAME in the copy's current one and enters it. */
static int copy_enter(struct copy_walk *w, const char *name)
{
	if (w->depth + 1 == w->cap) {
		size_t nc = w->cap * 2;
		struct copy_dir *nv = reallocarray(w->up, nc, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		w->up = nv;
		w->cap = nc;
	}
	if (mkdirat(w->cur, name, 0700) < 0)
		return -errno;
	int fd = openat(w->cur, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	closep(&w->cur);
	w->cur = fd;
	w->up[++w->depth] = (struct copy_dir){st.st_dev, st.st_ino};
	return 0;
}

static int copy_pre(const struct fs_entry *e, void *data)
{
	struct copy_walk *w = data;
	crash_point_n("copy-node", n_copied++);
	if (e->mount_point)
		return -EBUSY; /* what is saved never spans a mount */
	if (S_ISDIR(e->st.st_mode))
		return copy_enter(w, e->name);
	_cleanup_close_ int fd = open_same(e->dirfd, e->name, &e->st);
	if (fd < 0)
		return fd;
	return save_copy_node(fd, &e->st, w->cur, e->name, true);
}

/* Back from directory E: its metadata, then it is made durable, and the
 * copy's current directory is its parent again. */
static int copy_post(const struct fs_entry *e, void *data)
{
	struct copy_walk *w = data;
	int up = openat(w->cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (up < 0)
		return -errno;
	if (fstat(up, &st) < 0 || st.st_dev != w->up[w->depth - 1].dev ||
	    st.st_ino != w->up[w->depth - 1].ino) {
		close(up);
		return -ESTALE; /* the copy moved */
	}
	_cleanup_close_ int from = open_same(e->dirfd, e->name, &e->st);
	int r = from < 0 ? from : copy_dir_meta(from, &e->st, up, e->name);
	if (r >= 0 && fsync(w->cur) < 0)
		r = -errno;
	closep(&w->cur);
	w->cur = up;
	w->depth--;
	return r;
}

/* Copies the tree NAME in FROMDIR to NAME2 in TODIR, every file and
 * directory fsynced; a directory after its entries.  Any depth and path
 * length, with a handful of descriptors whatever the depth; any error of
 * the walk (a mount below NAME: -EBUSY) is the copy's. */
static int copy_tree(int fromdir, const char *name, int todir,
		     const char *name2)
{
	crash_point_n("copy-node", n_copied++);
	_cleanup_close_ int fd =
		openat(fromdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st, top;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return save_copy_node(fd, &st, todir, name2, true);
	struct copy_walk w = {.cur = -1, .cap = 16};
	if (!(w.up = calloc(w.cap, sizeof(*w.up))))
		return -ENOMEM;
	int r = 0;
	if (mkdirat(todir, name2, 0700) < 0 ||
	    (w.cur = openat(todir, name2,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
		    0 ||
	    fstat(w.cur, &top) < 0)
		r = -errno;
	if (r >= 0) {
		w.up[0] = (struct copy_dir){top.st_dev, top.st_ino};
		r = fs_walk(fd, "", FS_WALK_STAT, copy_pre, copy_post, &w);
	}
	if (r >= 0)
		r = copy_dir_meta(fd, &st, todir, name2);
	if (r >= 0 && fsync(w.cur) < 0)
		r = -errno;
	closep(&w.cur);
	free(w.up);
	return r;
}

static int fsync_dir(int dirfd)
{
	_cleanup_close_ int fd =
		openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 || fsync(fd) < 0 ? -errno : 0;
}

/* NAME in FROMDIR copied to SAVE in UNDO: written as SAVE.part, renamed
 * when all of it is durable. */
static int copy_durably(int fromdir, const char *name, int undo,
			const char *save)
{
	char part[256];
	if (snprintf(part, sizeof(part), "%s.part", save) >= (int)sizeof(part))
		return -ENAMETOOLONG;
	int r = rm_rf_at(undo, part);
	if (r >= 0)
		r = copy_tree(fromdir, name, undo, part);
	if (r >= 0)
		r = fsync_dir(undo);
	if (r >= 0 && renameat(undo, part, undo, save) < 0)
		r = -errno;
	return r;
}

int save_path(int dirfd, const char *name, int undo, const char *save)
{
	if (linkat(dirfd, name, undo, save, 0) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return -errno;
	return copy_durably(dirfd, name, undo, save);
}

int save_tree(int dirfd, const char *name, int undo, const char *save,
	      const char *gone)
{
	if (renameat(dirfd, name, undo, save) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	int r = copy_durably(dirfd, name, undo, save);
	if (r >= 0)
		r = fsync_dir(undo);
	crash_point("save-copied");
	if (r < 0)
		return r;
	/* Set aside, so that a crash never leaves it half removed at NAME.
	 * An overlay without redirect_dir refuses to rename a directory of
	 * its lower layers (EXDEV): that one is removed where it is, marked
	 * so durably first, and recovery puts the whole save back over what
	 * is left of it (save_removing()). */
	if (renameat2(dirfd, name, dirfd, gone, RENAME_NOREPLACE) == 0) {
		crash_point("save-aside");
		return rm_rf_at(dirfd, gone);
	}
	if (errno != EXDEV)
		return -errno;
	char mark[256];
	if (snprintf(mark, sizeof(mark), "%s.removing", save) >=
	    (int)sizeof(mark))
		return -ENAMETOOLONG;
	int fd = openat(undo, mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	if ((r = fsync_dir(undo)) < 0)
		return r;
	crash_point("save-removing");
	if ((r = rm_rf_at(dirfd, name)) < 0)
		return r;
	save_removing_done(undo, save);
	return 0;
}

bool save_removing(int undo, const char *save)
{
	char mark[256];
	struct stat st;
	return snprintf(mark, sizeof(mark), "%s.removing", save) <
		       (int)sizeof(mark) &&
	       fstatat(undo, mark, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void save_removing_done(int undo, const char *save)
{
	char mark[256];
	if (snprintf(mark, sizeof(mark), "%s.removing", save) <
		    (int)sizeof(mark) &&
	    unlinkat(undo, mark, 0) == 0)
		(void)fsync_dir(undo);
}

bool save_exists(int undo, const char *save)
{
	struct stat st;
	return fstatat(undo, save, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int save_restore(int undo, const char *save, int dirfd, const char *name,
		 const char *tmp)
{
	struct stat us, ds;
	if (fstat(undo, &us) < 0 || fstat(dirfd, &ds) < 0)
		return -errno;
	int r;
	if (us.st_dev == ds.st_dev) {
		if ((r = rm_rf_at(dirfd, name)) < 0)
			return r;
		if (renameat(undo, save, dirfd, name) == 0)
			return 0;
		if (errno != EXDEV)
			return -errno;
	}
	/* TMP only where a copy needs it: an interrupted copy's is
	 * replaced, and where none is made, DST's file of that name is
	 * never touched. */
	if ((r = rm_rf_at(dirfd, tmp)) < 0 ||
	    (r = copy_tree(undo, save, dirfd, tmp)) < 0 ||
	    (r = rm_rf_at(dirfd, name)) < 0)
		return r;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		return -errno;
	if ((r = fsync_dir(dirfd)) < 0)
		return r;
	crash_point("restore-copied");
	/* Put back: SAVE must not be put back again over what DST may do
	 * with NAME from now on, so it loses its name before it goes. */
	char gone[256];
	if (snprintf(gone, sizeof(gone), "%s.gone", save) >= (int)sizeof(gone))
		return -ENAMETOOLONG;
	if ((r = rm_rf_at(undo, gone)) < 0)
		return r;
	if (renameat(undo, save, undo, gone) < 0)
		return -errno;
	if ((r = fsync_dir(undo)) < 0)
		return r;
	return rm_rf_at(undo, gone);
}

/* The meta file: "MODE UID GID ASEC ANSEC MSEC MNSEC", then one line
 * "NAME HEX" for each xattr (ACLs included), NAME escaped. */
int save_dir_meta(int dirfd, const char *name, int undo, const char *save)
{
	_cleanup_close_ int fd = openat(
		dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%o %u %u %lld %ld %lld %ld\n", st.st_mode & 07777,
		st.st_uid, st.st_gid, (long long)st.st_atim.tv_sec,
		st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec,
		st.st_mtim.tv_nsec);
	char names[65536], val[65536];
	ssize_t n = flistxattr(fd, names, sizeof(names));
	int r = n < 0 && errno != ENOTSUP ? -errno : 0;
	for (ssize_t i = 0; r >= 0 && n > 0 && i < n;
	     i += (ssize_t)strlen(names + i) + 1) {
		if (overlay_xattr(names + i))
			continue;
		ssize_t vl = fgetxattr(fd, names + i, val, sizeof(val));
		if (vl < 0) {
			r = -errno;
			break;
		}
		path_escape(f, names + i);
		fputc(' ', f);
		for (ssize_t k = 0; k < vl; k++)
			fprintf(f, "%02x", (unsigned char)val[k]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return r < 0 ? r : write_file_atomic(undo, save, buf, len, 0600);
}

/* Sets the xattrs of LINES on FD and removes every other one (but
 * overlayfs' own). */
static int restore_xattrs(int fd, char *lines)
{
	char names[65536];
	ssize_t n = flistxattr(fd, names, sizeof(names));
	int r;
	if ((r = xattr_list_error(n)) < 0)
		return r;
	for (ssize_t i = 0; n > 0 && i < n;
	     i += (ssize_t)strlen(names + i) + 1) {
		_cleanup_free_ char *esc = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&esc, &len);
		if (!f)
			return -ENOMEM;
		path_escape(f, names + i);
		fputc(' ', f);
		if (fclose(f) != 0)
			return -ENOMEM;
		bool keep = !strncmp(lines, esc, len);
		for (const char *l = lines; !keep && (l = strchr(l, '\n'));)
			keep = !strncmp(++l, esc, len);
		if (!keep && !overlay_xattr(names + i) &&
		    fremovexattr(fd, names + i) < 0 && errno != ENODATA)
			return -errno;
	}
	char *save = NULL;
	for (char *l = strtok_r(lines, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		if (!sp)
			return -EBADMSG;
		*sp = '\0';
		_cleanup_free_ char *xname = path_unescape(l);
		size_t hl = strlen(sp + 1);
		_cleanup_free_ char *val = malloc(hl / 2 + 1);
		if (!xname || !val)
			return -ENOMEM;
		for (size_t k = 0; k < hl / 2; k++) {
			unsigned byte;
			if (sscanf(sp + 1 + 2 * k, "%2x", &byte) != 1)
				return -EBADMSG;
			val[k] = (char)byte;
		}
		if (fsetxattr(fd, xname, val, hl / 2, 0) < 0 &&
		    errno != ENOTSUP)
			return -errno;
	}
	return 0;
}

int save_restore_dir_meta(int undo, const char *save, int dirfd,
			  const char *name)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(undo, save, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	unsigned mode, uid, gid;
	long long as, ms;
	long ans, mns;
	int off = 0;
	if (sscanf(text, "%o %u %u %lld %ld %lld %ld\n%n", &mode, &uid, &gid,
		   &as, &ans, &ms, &mns, &off) != 7)
		return -EBADMSG;
	_cleanup_close_ int fd = openat(
		dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* Gone, or no directory now: DST's own change since, which stays
	 * (an error here would stop every later recovery the same way). */
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return 0;
	if (fd < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
		return -errno;
	/* The xattrs after the mode, which an ACL rewrites. */
	if ((r = restore_xattrs(fd, text + off)) < 0)
		return r;
	struct timespec ts[2] = {{as, ans}, {ms, mns}};
	return futimens(fd, ts) < 0 ? -errno : 0;
}
