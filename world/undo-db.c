/* The undo of a merge's package and account databases: when DST changed
 * such a file since the merge wrote it, a roll-back undoes only the
 * merge's records (dbmerge_undo()) and keeps DST's own; see README,
 * "Reliability", and wmerge(8), "Rollback". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbmerge.h"
#include "error.h"
#include "fsutil.h"
#include "merge-internal.h"
#include "save.h"

/* The three files of database operation K (merged record by record, or
 * put whole where SRC alone changed it) that dbmerge_undo() takes: what
 * the merge wrote (staged/K.merged), what DST had before (undo/K; -1 when
 * the merge made the file) and what DST has now.  1 when DST changed the
 * file since the merge wrote it, and records must be undone one by one; 0
 * when the operation is rolled back as any other (the merge never reached
 * it, DST left it as the merge wrote it or removed it, DST has its old
 * bytes, or the merge kept no copy: an older pwapt's). */
static int open_db_sides(int staged, int undo, int tree, const struct plan *p,
			 size_t k, int fd[3])
{
	const struct op *o = &p->v[k];
	char n[32], kept[48];
	snprintf(n, sizeof(n), "%zu", k);
	snprintf(kept, sizeof(kept), "%zu.merged", k);
	fd[0] = fd[1] = fd[2] = -1;
	if ((o->kind != OP_MRG && o->kind != OP_PUT) || staged < 0 ||
	    o->had == HAD_DIR ||
	    (o->had == HAD_FILE && !save_exists(undo, n)))
		return 0;
	fd[0] = openat(staged, kept, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd[0] < 0)
		return errno == ENOENT ? 0 : -errno;
	if (o->had == HAD_FILE &&
	    (fd[1] = openat(undo, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	fd[2] = open_file_beneath(tree, o->path);
	if (fd[2] < 0) /* absent, or no regular file: not the database's */
		return fd[2] == -ENOENT || fd[2] == -EINVAL ? 0 : fd[2];
	struct stat now, was;
	if (fstat(fd[2], &now) < 0)
		return -errno;
	if (fd[1] >= 0 && fstat(fd[1], &was) == 0 &&
	    now.st_ino == was.st_ino && now.st_dev == was.st_dev)
		return 0;
	return !S_ISREG(now.st_mode) || same_bytes(fd[0], fd[2]) ||
			       (fd[1] >= 0 && same_bytes(fd[1], fd[2]))
		       ? 0
		       : 1;
}

void undo_databases_release(int *undone, size_t n)
{
	for (size_t k = 0; undone && k < n; k++)
		closep(&undone[k]);
	free(undone);
}

int undo_databases(int mdir, int tree, const struct plan *p, int **out,
		   struct world_error *err)
{
	_cleanup_close_ int undo =
		openat(mdir, "undo", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int staged =
		openat(mdir, "staged", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int *v = malloc((p->n + 1) * sizeof(*v));
	_cleanup_free_ int(*sides)[3] = calloc(p->n + 1, sizeof(*sides));
	if (!v || !sides) {
		free(v);
		return werr(err, ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < p->n; k++)
		v[k] = -1;
	int r = 0;
	for (size_t k = 0; k < p->n; k++) {
		int x = undo < 0 ? 0 : open_db_sides(staged, undo, tree, p, k,
						      sides[k]);
		if (undo < 0)
			sides[k][0] = sides[k][1] = sides[k][2] = -1;
		if (x < 0 && r >= 0)
			r = werr_errno(err, -x, "cannot read %s of '%s'",
				       p->v[k].path, p->dst);
		v[k] = x > 0 ? 0 : -1; /* to be undone record by record */
	}
	for (size_t k = 0; r >= 0 && k < p->n; k++) {
		if (v[k] < 0)
			continue;
		/* A name takes one side in passwd and shadow alike: the other
		 * file's sides go along, as they are before anything is put
		 * back. */
		const char *mate = dbmerge_partner(p->v[k].path);
		size_t j = 0;
		while (mate && j < p->n && strcmp(p->v[j].path, mate))
			j++;
		const int *partner = mate && j < p->n && sides[j][0] >= 0 &&
						     sides[j][2] >= 0
					     ? sides[j]
					     : NULL;
		for (size_t i = 0; i < 3; i++) {
			if (sides[k][i] >= 0)
				(void)lseek(sides[k][i], 0, SEEK_SET);
			if (partner && partner[i] >= 0)
				(void)lseek(partner[i], 0, SEEK_SET);
		}
		v[k] = memfd_create("pwapt-undo", MFD_CLOEXEC);
		if (v[k] < 0)
			r = werr_errno(err, errno, "cannot undo %s",
				       p->v[k].path);
		else
			r = dbmerge_undo(p->v[k].path, sides[k], partner, v[k],
					 err);
		/* A log too big to read whole is rolled back as any other
		 * file: refused when DST wrote on, kept aside when forced. */
		if (r < 0 && err->code == EFBIG && dbmerge_log(p->v[k].path)) {
			closep(&v[k]);
			*err = (struct world_error){0};
			r = 0;
		}
		if (r < 0)
			werr_wrap(err, "'%s'", p->dst);
	}
	for (size_t k = 0; k < p->n; k++)
		for (size_t i = 0; i < 3; i++)
			closep(&sides[k][i]);
	if (r < 0) {
		undo_databases_release(v, p->n);
		return r;
	}
	*out = v;
	return 0;
}

/* Puts the records undone in UNDONE (from its start) at BASE in PARENT,
 * over DST's file there (whose owner and mode it keeps), durably. */
int undo_put_records(int parent, const char *base, const char *tmp,
		     int undone)
{
	struct stat st;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		st = (struct stat){.st_mode = 0600};
	(void)unlinkat(parent, tmp, 0);
	_cleanup_close_ int fd =
		openat(parent, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       0600);
	if (fd < 0)
		return -errno;
	int r = lseek(undone, 0, SEEK_SET) < 0 ? -errno
						: copy_bytes(undone, fd);
	if (r >= 0 && (fchown(fd, st.st_uid, st.st_gid) < 0 ||
		       fchmod(fd, st.st_mode & 07777) < 0 || fsync(fd) < 0))
		r = -errno;
	if (r >= 0 && renameat(parent, tmp, parent, base) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(parent, tmp, 0);
	return r;
}

/* "DEV INO SIZE MSEC MNSEC CSEC CNSEC": which file ST is, and as it was. */
static void identity(char *buf, size_t size, const struct stat *st)
{
	snprintf(buf, size, "%llu %llu %lld %lld %ld %lld %ld\n",
		 (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		 (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
		 st->st_ctim.tv_nsec);
}

/* DST's file at operation K's path, as identity() tells it. */
static int dst_identity(int tree, const struct plan *p, size_t k, char *buf,
			size_t size)
{
	_cleanup_close_ int fd = open_beneath(tree, p->v[k].path, O_PATH);
	struct stat st;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	identity(buf, size, &st);
	return 0;
}

int undo_records_keep(int mdir, int tree, const struct plan *p,
		      const int *undone)
{
	bool any = false;
	for (size_t k = 0; undone && k < p->n && !any; k++)
		any = undone[k] >= 0;
	if (!any)
		return 0;
	(void)rm_rf_at(mdir, "records.part");
	if (mkdirat(mdir, "records.part", 0700) < 0)
		return -errno;
	_cleanup_close_ int dir = openat(mdir, "records.part",
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	int r = 0;
	for (size_t k = 0; r >= 0 && k < p->n; k++) {
		char n[32], id[32], text[160];
		if (undone[k] < 0)
			continue;
		snprintf(n, sizeof(n), "%zu", k);
		snprintf(id, sizeof(id), "%zu.id", k);
		_cleanup_close_ int fd = openat(
			dir, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		r = fd < 0 ? -errno
			   : lseek(undone[k], 0, SEEK_SET) < 0
				     ? -errno
				     : copy_bytes(undone[k], fd);
		if (r >= 0 && fsync(fd) < 0)
			r = -errno;
		if (r >= 0)
			r = dst_identity(tree, p, k, text, sizeof(text));
		if (r >= 0)
			r = write_file_atomic(dir, id, text, strlen(text),
					      0600);
	}
	if (r >= 0 && fsync(dir) < 0)
		r = -errno;
	if (r >= 0 && renameat(mdir, "records.part", mdir, "records") < 0)
		r = -errno;
	_cleanup_close_ int self =
		r < 0 ? -1 : openat(mdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r >= 0 && (self < 0 || fsync(self) < 0))
		r = -errno;
	return r;
}

int undo_records_load(int mdir, int tree, const struct plan *p, int *undone)
{
	_cleanup_close_ int dir =
		openat(mdir, "records", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errno == ENOENT ? 0 : -errno;
	for (size_t k = 0; k < p->n; k++) {
		char n[32], id[32], now[160];
		_cleanup_free_ char *was = NULL;
		snprintf(n, sizeof(n), "%zu", k);
		snprintf(id, sizeof(id), "%zu.id", k);
		int r = read_file_at(dir, id, &was, NULL);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		/* DST's file since: put, or changed after the decision. */
		if (dst_identity(tree, p, k, now, sizeof(now)) < 0 ||
		    strcmp(was, now))
			continue;
		int fd = openat(dir, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		closep(&undone[k]);
		undone[k] = fd;
	}
	return 1;
}
