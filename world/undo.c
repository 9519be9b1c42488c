/* Undoing a merge: every path back to what undo/ saved, last operation
 * first, made durable; the ctimes the merge and its roll-back leave, so that
 * they are not taken for changes of DST ("known-ctimes").  What the merged
 * paths are like right after a merge is undo-after.c's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "dbmerge.h"
#include "fsutil.h"
#include "layers.h"
#include "merge-internal.h"
#include "save.h"
#include "strv.h"

/* The ctime that line "SEC NSEC PATH" of TEXT (the last such line) gives
 * ESC (an escaped path), as "SEC NSEC" in OUT; false without one. */
bool undo_ctime_of(const char *text, const char *esc, char *out, size_t size)
{
	bool found = false;
	size_t el = strlen(esc);
	for (const char *l = text; l && *l;) {
		const char *nl = strchrnul(l, '\n');
		const char *sp = memchr(l, ' ', (size_t)(nl - l));
		sp = sp ? memchr(sp + 1, ' ', (size_t)(nl - sp - 1)) : NULL;
		if (sp && (size_t)(nl - sp - 1) == el &&
		    !memcmp(sp + 1, esc, el) && (size_t)(sp - l) < size) {
			memcpy(out, l, (size_t)(sp - l));
			out[sp - l] = '\0';
			found = true;
		}
		l = *nl ? nl + 1 : nl;
	}
	return found;
}

/* The ctime of ESC that the kept merge accepts as its own: the last line
 * of own-ctimes, else its line of "after". */
static bool accepted_ctime(const char *after, const char *own,
			   const char *esc, char *out, size_t size)
{
	return undo_ctime_of(own, esc, out, size) ||
	       undo_ctime_of(after, esc, out, size);
}

void undo_note_own(FILE *f, const char *path, const struct stat *before,
		   const struct stat *after)
{
	if (before->st_ctim.tv_sec == after->st_ctim.tv_sec &&
	    before->st_ctim.tv_nsec == after->st_ctim.tv_nsec)
		return;
	fprintf(f, "%lld %ld ", (long long)before->st_ctim.tv_sec,
		before->st_ctim.tv_nsec);
	undo_put_ctime(f, after, path);
}

bool undo_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int undo_keep_own(struct world_store *s, const char *dst, const char *notes)
{
	if (!notes || !*notes)
		return 0;
	_cleanup_free_ char *rel = path_join("merges", dst);
	if (!rel)
		return -ENOMEM;
	_cleanup_close_ int kdir =
		openat(s->state_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kdir < 0)
		return errno == ENOENT ? 0 : -errno; /* no merge kept */
	_cleanup_free_ char *after = NULL, *own = NULL, *buf = NULL;
	int r = read_file_at(kdir, "after", &after, NULL);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	r = read_file_at(kdir, "own-ctimes", &own, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	size_t len = 0, added = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (own)
		fputs(own, f);
	/* Lines "BSEC BNSEC ASEC ANSEC PATH": a change from B to A, kept
	 * only where B is what the kept merge accepts now. */
	for (const char *l = notes; *l;) {
		const char *nl = strchrnul(l, '\n');
		char bs[32], bn[32], as[32], an[32], acc[80], was[80];
		int off = 0;
		_cleanup_free_ char *line = strndup(l, (size_t)(nl - l));
		l = *nl ? nl + 1 : nl;
		if (!line)
			continue;
		if (sscanf(line, "%31s %31s %31s %31s %n", bs, bn, as, an,
			   &off) != 4 || !off)
			continue;
		snprintf(was, sizeof(was), "%s %s", bs, bn);
		/* With the lines kept above: a chain of changes. */
		if (fflush(f) != 0)
			break;
		if (!accepted_ctime(after, buf, line + off, acc,
				    sizeof(acc)) ||
		    strcmp(acc, was))
			continue;
		fprintf(f, "%s %s %s\n", as, an, line + off);
		added++;
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return added ? write_file_atomic(kdir, "own-ctimes", buf, len, 0600)
		     : 0;
}

void undo_note_seen(struct plan *p, size_t i, const struct stat *st,
		    const struct stat *now)
{
	bool linked = undo_same_file(st, now) &&
		      now->st_nlink == st->st_nlink + 1;
	struct timespec c = linked ? now->st_ctim : st->st_ctim;
	p->v[i].dev = st->st_dev;
	for (size_t k = 0; k <= i; k++)
		if (k == i || (linked && p->v[k].had == HAD_FILE &&
			       p->v[k].ino == st->st_ino &&
			       p->v[k].dev == st->st_dev))
			p->v[k].seen = c;
}

bool undo_seen_changed(const struct op *o, const struct stat *now)
{
	if (!o->seen.tv_sec && !o->seen.tv_nsec)
		return false;
	return now->st_ctim.tv_sec != o->seen.tv_sec ||
	       now->st_ctim.tv_nsec != o->seen.tv_nsec;
}

int undo_hold_links(int tree, const struct op *o)
{
	const char *b;
	struct stat st;
	if (o->had != HAD_FILE)
		return -1;
	_cleanup_close_ int par = journal_open_parent(tree, o->path, &b);
	int fd = par < 0 ? -1
			 : openat(par, b, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_nlink < 2)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void undo_seen_relink(struct plan *p, size_t i, int held)
{
	struct stat st;
	if (held >= 0 && fstat(held, &st) == 0)
		for (size_t k = i + 1; k < p->n; k++)
			if (p->v[k].had == HAD_FILE &&
			    p->v[k].ino == st.st_ino &&
			    p->v[k].dev == st.st_dev)
				p->v[k].seen = st.st_ctim;
}

/* SRC's tree for srcs_version(): FD -1 once SRC is gone; LAYER: SRC's own
 * layer, SRC not mounted (open_src_tree()), and its layers of Root's other
 * file systems: FDS[i] for the paths below M.mounts[i] ("var"). */
struct src_view {
	int fd;
	bool layer;
	struct world_meta m;
	int *fds;
};

static void src_view_release(struct src_view *sv)
{
	for (size_t i = 0; sv->fds && i < sv->m.n_mounts; i++)
		if (sv->fds[i] >= 0)
			close(sv->fds[i]);
	free(sv->fds);
	meta_release(&sv->m);
	if (sv->fd >= 0)
		close(sv->fd);
	sv->fd = -1;
}

enum srcs { SRCS_NO, SRCS_YES, SRCS_UNSURE };

/* Whether ST is SRC's version of PATH as a merge puts it (a hard link or a
 * copy with SRC's owner, mode, size and times): YES also when SRC is gone
 * (after a done merge); UNSURE where SRC's own layer does not hold PATH
 * (SRC not mounted: its parents' layers would tell). */
static enum srcs srcs_version(const struct src_view *sv, const char *path,
			      const struct stat *st)
{
	/* In SRC's layer of the file system PATH lies on. */
	int root = sv->fd;
	const char *rest = path;
	for (size_t i = 0, best = 0; sv->layer && i < sv->m.n_mounts; i++) {
		size_t l = strlen(sv->m.mounts[i]);
		if (l > best && !strncmp(path + 1, sv->m.mounts[i], l) &&
		    path[1 + l] == '/') {
			best = l;
			root = sv->fds ? sv->fds[i] : -1;
			rest = path + 1 + l;
		}
	}
	_cleanup_close_ int fd =
		root < 0 ? -1 : open_beneath(root, rest, O_PATH);
	struct stat x;
	if (fd < 0 || fstat(fd, &x) < 0)
		return sv->layer ? SRCS_UNSURE : SRCS_YES;
	bool same = x.st_mode == st->st_mode && x.st_uid == st->st_uid &&
		    x.st_gid == st->st_gid && x.st_size == st->st_size &&
		    x.st_rdev == st->st_rdev &&
		    x.st_mtim.tv_sec == st->st_mtim.tv_sec &&
		    x.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
	return same ? SRCS_YES : SRCS_NO;
}

/* What the merge put at BASE in PARENT for operation O, where DST had
 * nothing, goes; not what DST made there itself (another type, a file
 * that is not SRC's, or a directory that still has entries once the
 * operations below it are rolled back): a merge killed before it reached
 * O leaves what DST created there meanwhile.  Nor a file that cannot be
 * told from SRC's (said on S). */
static int remove_merged(const struct world_store *s, const char *src,
			 int parent, const char *base, const struct op *o,
			 const struct src_view *sv)
{
	struct stat st;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	bool dir = o->kind == OP_DIR;
	enum srcs v =
		o->kind == OP_PUT ? srcs_version(sv, o->path, &st) : SRCS_YES;
	if (v == SRCS_UNSURE)
		store_warn(s,
			   "cannot tell whether %s is what the merge put there "
			   "('%s' cannot be mounted): it stays",
			   o->path, src);
	if (S_ISDIR(st.st_mode) != dir || v != SRCS_YES)
		return 0;
	if (unlinkat(parent, base, dir ? AT_REMOVEDIR : 0) < 0 &&
	    errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	return 0;
}

/* syncfs of every file system that operations of P wrote: DST's tree may
 * span several (a separate /var or /boot). */
int undo_sync_written(int tree, const struct plan *p)
{
	dev_t done[32];
	size_t n_done = 0;
	struct stat st;
	if (fstat(tree, &st) < 0 || syncfs(tree) < 0)
		return -errno;
	done[n_done++] = st.st_dev;
	_cleanup_(parent_cache_release) struct parent_cache pc =
		PARENT_CACHE_INIT(tree);
	for (size_t k = 0; k < p->applied; k++) {
		const char *b;
		unsigned opened = pc.opened;
		int par = parent_cache_open(&pc, p->v[k].path, &b);
		/* gone (nothing to sync there), or a directory just seen */
		if (par < 0 || pc.opened == opened || fstat(par, &st) < 0)
			continue;
		bool seen = false;
		for (size_t j = 0; j < n_done && !seen; j++)
			seen = done[j] == st.st_dev;
		if (seen)
			continue;
		_cleanup_close_ int fd =
			openat(par, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) < 0)
			return -errno;
		if (n_done < sizeof(done) / sizeof(done[0]))
			done[n_done++] = st.st_dev;
	}
	return 0;
}

/* Every path back to its saved state, last operation first.  An operation
 * not applied yet is left as it is by the same steps. */
/* Whether the save of O may go back over what DST has at BASE now (1):
 * the merge reached O (SRC's version is there, or the directory it made),
 * nothing is there, or the saved file itself is.  Anything else is DST's
 * own (0): a file DST replaced (as dpkg and editors do, by rename) before a
 * merge killed or stopped on the way reached O; it stays.  2: a file that
 * cannot be told from SRC's (srcs_version()): it stays, the save goes
 * beside it.  3: one DST made after the merge deleted DST's (DONE: the
 * merge was done, so it reached O): it stays, and so does what the merge
 * deleted, beside it. */
static int put_back_over(int parent, const char *base, const struct op *o,
			 int undo, const char *save, const struct src_view *sv,
			 bool done)
{
	struct stat now, was;
	if (o->had != HAD_FILE ||
	    fstatat(parent, base, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	if (fstatat(undo, save, &was, AT_SYMLINK_NOFOLLOW) == 0 &&
	    was.st_ino == now.st_ino && was.st_dev == now.st_dev)
		return 1;
	switch (o->kind) {
	case OP_PUT:
		switch (srcs_version(sv, o->path, &now)) {
		case SRCS_YES:
			return 1;
		case SRCS_UNSURE:
			return 2;
		default:
			return 0;
		}
	case OP_DIR:
		return S_ISDIR(now.st_mode);
	case OP_DEL: /* done: made since; else maybe never deleted */
		return done ? 3 : 0;
	default: /* a merged database: no version of SRC's to tell by */
		return 1;
	}
}

/* Whether DST made its own entry at BASE in PARENT since operation O took
 * DST's directory there away whole: anything there but that directory,
 * as the plan saw it, or SRC's version that O put there.  A journal of an
 * older merge cannot tell: false. */
static bool dir_taken_since(int parent, const char *base, const struct op *o,
			    const struct src_view *sv)
{
	struct stat now;
	if (!o->ident_known ||
	    fstatat(parent, base, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	/* A save copied to another file system, killed before the tree
	 * saved was renamed aside: that tree, whole (save_tree()).  Told by
	 * its ctime alone: DST's tree may have been mounted again since (a
	 * world's overlay: another device, and a directory's inode number
	 * may be the overlay's own), and a directory DST made since, or
	 * renamed there, has a later one. */
	if (S_ISDIR(now.st_mode))
		return now.st_ctim.tv_sec != o->ident_ctime.tv_sec ||
		       now.st_ctim.tv_nsec != o->ident_ctime.tv_nsec;
	return o->kind != OP_PUT || srcs_version(sv, o->path, &now) != SRCS_YES;
}

/* UNDO/applied: a line "K BSEC BNSEC ASEC ANSEC ." for each operation K
 * whose apply took DST's file's name (undo_note_applied), appended to one
 * file for the whole merge.  A file of its own per operation (K.own, as
 * pwapt wrote before) cost an inode each: 100 ms of a 300-file upgrade's
 * merge, on a file system where many inodes were freed lately. */
#define UNDO_APPLIED "applied"

/* DST's file (or directory) that was NOW at an operation's path lost
 * that name, or moved into the undo as save N: its ctime changed with it.
 * Its line in UNDO/applied (BSEC BNSEC, the ctime before; ASEC ANSEC,
 * after) tells a roll-back that this ctime is pwapt's own
 * (undo_note_own).  Not made durable: lost with a power cut, the last
 * merge's rollback refuses, never misses a change.  One write() of the
 * line after a newline of its own: a line cut short (a full disk) ends
 * where the next one begins, and applied_load() refuses it. */
void undo_note_applied(int undo, const char *n, const struct stat *now)
{
	struct stat sv;
	if (fstatat(undo, n, &sv, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !undo_same_file(now, &sv) ||
	    sv.st_nlink + !S_ISDIR(sv.st_mode) != now->st_nlink)
		return;
	char line[128];
	int len = snprintf(line, sizeof(line), "\n%s %lld %ld %lld %ld .\n", n,
			   (long long)now->st_ctim.tv_sec, now->st_ctim.tv_nsec,
			   (long long)sv.st_ctim.tv_sec, sv.st_ctim.tv_nsec);
	_cleanup_close_ int fd =
		openat(undo, UNDO_APPLIED,
		       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && len > 0 && (size_t)len < sizeof(line))
		(void)!write(fd, line, (size_t)len);
}

/* A note of UNDO/applied: the ctimes DST's file had before and after the
 * merge took its name. */
struct applied {
	bool have;
	long long bs, as;
	long bn, an;
};

/* UNDO/applied, read once for a roll-back of N operations: N entries,
 * those of no line (or of a line not whole) without a note; NULL out of
 * memory. */
static struct applied *applied_load(int undo, size_t n)
{
	struct applied *v = calloc(n + 1, sizeof(*v));
	_cleanup_free_ char *t = NULL;
	if (!v || read_file_at(undo, UNDO_APPLIED, &t, NULL) < 0)
		return v;
	for (char *line = t, *end; (end = strchr(line, '\n')); line = end + 1) {
		*end = '\0';
		struct applied a = {.have = true};
		size_t k;
		int used = -1;
		if (sscanf(line, "%zu %lld %ld %lld %ld .%n", &k, &a.bs, &a.bn,
			   &a.as, &a.an, &used) == 5 &&
		    used >= 0 && !line[used] && k < n)
			v[k] = a;
	}
	return v;
}

/* What operation K's apply noted (APPLIED, else UNDO/K.own as older pwapt
 * wrote it): the ctime that DST's file took when the merge took its name;
 * a note for F. */
static void note_applied_own(FILE *f, const struct applied *applied, int undo,
			     size_t k, const char *path)
{
	struct applied a = applied ? applied[k] : (struct applied){0};
	char name[48];
	snprintf(name, sizeof(name), "%zu.own", k);
	_cleanup_free_ char *t = NULL;
	if (!a.have &&
	    (read_file_at(undo, name, &t, NULL) < 0 ||
	     sscanf(t, "%lld %ld %lld %ld", &a.bs, &a.bn, &a.as, &a.an) != 4))
		return;
	fprintf(f, "%lld %ld %lld %ld ", a.bs, a.bn, a.as, a.an);
	path_escape(f, path);
	fputc('\n', f);
}

/* SRC's tree as its processes see it, for srcs_version(); -1 once SRC is
 * gone.  A SRC that is not mounted (a recovery after a reboot could not
 * mount it): its own layer, where every file it changed is as it saw it,
 * never its empty mount point, where srcs_version() could tell nothing.
 * A done merge deleted SRC before its record was kept: a world of that
 * name now is another one, made since (the journal names SRC, no more),
 * whose files would pass for SRC's or not at random; never looked at. */
static struct src_view open_src_tree(struct world_store *s,
				     const struct plan *p)
{
	struct src_view sv = {.fd = -1};
	const char *src = p->src;
	if (p->phase == 2 || !store_world_exists(s, src))
		return sv;
	_cleanup_free_ char *sp = store_tree_path(s, src);
	sv.fd = sp ? open(sp, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	struct stat tree, dir;
	if (sv.fd < 0 || store_is_root(src) || fstat(sv.fd, &tree) < 0 ||
	    fstatat(s->worlds_fd, src, &dir, 0) < 0 ||
	    tree.st_dev != dir.st_dev)
		return sv;
	close(sv.fd);
	_cleanup_free_ char *up = store_world_path(s, src, "upper");
	sv.fd = up ? open(up, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	sv.layer = true;
	if (meta_load(s, src, &sv.m, NULL) < 0 ||
	    !(sv.fds = calloc(sv.m.n_mounts + 1, sizeof(*sv.fds))))
		return sv; /* each path of another file system: unsure */
	for (size_t i = 0; i < sv.m.n_mounts; i++) {
		_cleanup_free_ char *d =
			layers_dir(s, src, sv.m.mounts[i], "upper");
		sv.fds[i] = d ? open(d, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	}
	return sv;
}

/* Whether operation K of P lies below a move that did not happen
 * (UNMOVED[m], merge_move_not_reached()): what is at its path is not the
 * merge's, and DST's own is still at its old name. */
static bool below_unmoved(const struct plan *p, const bool *unmoved, size_t k)
{
	for (size_t m = 0; m < k; m++) {
		if (!unmoved[m])
			continue;
		size_t l = strlen(p->v[m].path);
		if (!strncmp(p->v[k].path, p->v[m].path, l) &&
		    p->v[k].path[l] == '/')
			return true;
	}
	return false;
}

/* merge_put_beside(), naming where the roll-back leaves operation K's
 * path once the moves around it are undone too (merge_move_lands()). */
static int put_beside(const struct world_store *s, int undo, const char *n,
		      int parent, const char *base, const char *tmp,
		      const struct op *o, const char *unsure, int tree,
		      const struct plan *p, const bool *unmoved, size_t k)
{
	_cleanup_free_ char *lands =
		merge_move_lands(tree, p, unmoved, k, o->path);
	if (!lands)
		return -ENOMEM;
	return merge_put_beside(s, undo, n, parent, base, tmp, o, lands,
				unsure);
}

int undo_roll_back(struct world_store *s, int mdir, const struct plan *p,
		   int *undone, struct world_error *err)
{
	_cleanup_free_ char *tp = store_tree_path(s, p->dst);
	_cleanup_close_ int tree =
		tp ? open(tp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int undo =
		openat(mdir, "undo", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(src_view_release) struct src_view sv = open_src_tree(s, p);
	if (tree < 0 || undo < 0)
		return werr_errno(err, errno ? errno : ENOMEM,
				  "cannot roll back the merge of '%s' into "
				  "'%s'",
				  p->src, p->dst);
	/* Databases DST changed since the merge: their records undone one
	 * by one (a recovery that cannot puts the saved file back, as
	 * before records were kept). */
	int *made = NULL;
	struct world_error ignored = {0};
	int kept = 0;
	if (!undone && undo_databases(mdir, tree, p, &made, &ignored) < 0 &&
	    (made = malloc((p->n + 1) * sizeof(*made))))
		for (size_t k = 0; k < p->n; k++)
			made[k] = -1;
	/* A roll-back killed after it decided: the records it kept. */
	if (!undone && made)
		kept = undo_records_load(mdir, tree, p, made);
	if (!undone)
		undone = made;
	/* Decided for every database at once, and kept before any is put:
	 * passwd and shadow take one side even when killed between. */
	if (kept >= 0 && !kept && undone)
		kept = undo_records_keep(mdir, tree, p, undone);
	if (kept < 0 || (!undone && !made && p->n)) {
		undo_databases_release(made, p->n);
		return werr_errno(err, kept < 0 ? -kept : ENOMEM,
				  "cannot keep the records the roll-back of "
				  "the merge of '%s' undoes", p->src);
	}
	/* The ctimes of DST's files that the merge's saves and their
	 * undoing changed, content unchanged: pwapt's own, not changes of
	 * DST for the last merge into DST (undo_keep_own). */
	struct undo_log own;
	int r = undo_log_open(&own, undo, UNDO_OWN_LOG);
	FILE *of = own.f;
	_cleanup_free_ struct applied *applied = applied_load(undo, p->n);
	/* And the ctimes it leaves, for the worlds that saw DST before. */
	struct undo_known known = UNDO_KNOWN_INIT;
	if (r >= 0)
		r = undo_known_open(&known, undo, p);
	if (r >= 0)
		r = undo_known_dirs_begin(&known, mdir, tree, p);
	/* Moves that did not happen: nothing of them to undo, and what DST
	 * made at their new names since is DST's. */
	_cleanup_free_ bool *unmoved = calloc(p->n + 1, sizeof(*unmoved));
	for (size_t k = 0; unmoved && k < p->applied; k++)
		unmoved[k] = p->v[k].kind == OP_MOVE && p->v[k].from &&
			     merge_move_not_reached(tree, &p->v[k]);
	if (r >= 0 && !unmoved)
		r = -ENOMEM;
	if (r < 0) {
		undo_known_release(&known);
		undo_databases_release(made, p->n);
		undo_log_release(&own);
		return werr_errno(err, -r, "cannot roll back the merge of "
				  "'%s' into '%s'", p->src, p->dst);
	}
	for (size_t k = p->applied; r >= 0 && k-- > 0;) {
		const struct op *o = &p->v[k];
		/* Below a move that did not happen (or that DST undid
		 * itself since), each path is undone at its old name. */
		bool old_name = below_unmoved(p, unmoved, k);
		if (unmoved[k] ||
		    (old_name && (o->kind == OP_MOVE || !o->before)))
			continue;
		/* Where the roll-back leaves it: below a directory a move
		 * renamed, back at its old name once that move is undone. */
		const char *at = o->before ? o->before : o->path;
		const char *base;
		_cleanup_close_ int parent = journal_open_parent(
			tree, old_name ? at : o->path, &base);
		if (parent < 0)
			continue; /* its directory is gone: rolled back above */
		char n[32], stage[64], tmp[64], meta[40];
		snprintf(n, sizeof(n), "%zu", k);
		snprintf(stage, sizeof(stage), ".pwapt-merge-%zu", k);
		snprintf(tmp, sizeof(tmp), ".pwapt-restore-%zu", k);
		snprintf(meta, sizeof(meta), "%zu.meta", k);
		/* A stage, or what is left of a directory whose complete
		 * save was copied to another file system (save_tree()):
		 * only a merge cut short leaves one, of an operation that
		 * stages, and its plan found the name free.  Past a done
		 * merge, or beside another operation's path, a file of that
		 * name is DST's own. */
		if (p->phase != 2 && op_stages(o)) {
			(void)unlinkat(parent, stage, 0);
			if (op_takes_dir(o) && save_exists(undo, n))
				(void)rm_rf_at(parent, stage);
		}
		/* Only a complete save replaces what DST has (save.h). */
		struct stat now, was, then;
		int back_over;
		bool has_now = fstatat(parent, base, &now,
				       AT_SYMLINK_NOFOLLOW) == 0;
		if (undone && undone[k] >= 0) {
			r = undo_put_records(parent, base, tmp, undone[k]);
			if (r >= 0)
				crash_point("rollback-records-put");
			if (r >= 0 && o->had == HAD_FILE &&
			    unlinkat(undo, n, 0) < 0 && errno != ENOENT)
				r = -errno;
			if (r >= 0)
				crash_point("rollback-records-done");
		} else if (save_exists(undo, n)) {
			bool has_was = fstatat(undo, n, &was,
					       AT_SYMLINK_NOFOLLOW) == 0;
			if (has_now && has_was && undo_same_file(&was, &now)) {
				/* Not reached: DST's file is the save itself.
				 * Only the link goes; DST's directory stays
				 * as it was. */
				if (unlinkat(undo, n, 0) < 0 && errno != ENOENT)
					r = -errno;
				else if (fstatat(parent, base, &then,
						 AT_SYMLINK_NOFOLLOW) == 0 &&
					 undo_same_file(&now, &then) &&
					 then.st_nlink + 1 == now.st_nlink) {
					undo_note_own(of, at, &now, &then);
					undo_known_note(&known, at, &now,
							&then);
				}
			} else if (op_takes_dir(o) && save_removing(undo, n)) {
				/* The merge's own removal in place, cut
				 * short: the rest of the tree saved. */
				r = save_restore(undo, n, parent, base, tmp);
				if (r >= 0)
					save_removing_done(undo, n);
				/* Its copy, as saved: no change of DST's. */
				if (r >= 0 &&
				    fstatat(parent, base, &then,
					    AT_SYMLINK_NOFOLLOW) == 0) {
					undo_known_note(&known, at, NULL,
							&then);
					(void)undo_known_note_below(
						&known, parent, base, at);
				}
			} else if (op_takes_dir(o) &&
				   dir_taken_since(parent, base, o, &sv)) {
				r = put_beside(s, undo, n, parent, base, tmp, o,
					       NULL, tree, p, unmoved, k);
			} else if ((back_over = put_back_over(
					    parent, base, o, undo, n, &sv,
					    p->phase == 2)) >= 2) {
				r = put_beside(s, undo, n, parent, base, tmp, o,
					       back_over == 2 ? p->src : NULL,
					       tree, p, unmoved, k);
			} else if (back_over) {
				note_applied_own(of, applied, undo, k, at);
				r = save_restore(undo, n, parent, base, tmp);
				bool back = r >= 0 && has_was &&
					    fstatat(parent, base, &then,
						    AT_SYMLINK_NOFOLLOW) == 0;
				/* Put back by a rename: the saved file
				 * itself, as it was saved. */
				if (back && undo_same_file(&was, &then) &&
				    then.st_nlink == was.st_nlink)
					undo_note_own(of, at, &was, &then);
				/* By a rename or a copy: as saved. */
				if (back && was.st_mode == then.st_mode &&
				    was.st_uid == then.st_uid &&
				    was.st_gid == then.st_gid &&
				    (S_ISDIR(was.st_mode) ||
				     was.st_size == then.st_size))
					undo_known_note(&known, at, NULL,
							&then);
				if (back && S_ISDIR(was.st_mode))
					(void)undo_known_note_below(
						&known, parent, base, at);
			}
		} else if (o->kind == OP_MOVE) {
			r = merge_move_undo(s, tree, undo, k, o,
					    p->phase == 2);
			_cleanup_close_ int back = r == 1 ? open_beneath(
				tree, o->from, O_PATH | O_DIRECTORY) : -1;
			if (back >= 0 && fstat(back, &then) == 0)
				undo_known_note(&known, at, NULL, &then);
		} else if (o->had == HAD_NONE)
			r = remove_merged(s, p->src, parent, base, o, &sv);
		if (r >= 0 && !old_name && o->kind == OP_DIR &&
		    o->had == HAD_DIR) {
			r = save_restore_dir_meta(undo, meta, parent, base);
			/* Its metadata as saved, which it still had. */
			if (r >= 0 && has_now &&
			    fstatat(parent, base, &then,
				    AT_SYMLINK_NOFOLLOW) == 0 &&
			    undo_same_file(&now, &then) &&
			    then.st_nlink == now.st_nlink)
				undo_note_own(of, at, &now, &then);
			if (r >= 0 && fstatat(parent, base, &then,
					      AT_SYMLINK_NOFOLLOW) == 0)
				undo_known_note(&known, at, NULL, &then);
		}
		if (r < 0)
			werr_errno(err, -r, "cannot restore %s in '%s'",
				   o->path, p->dst);
		/* Killed from here on, a run again finds these notes. */
		undo_log_flush(&own);
		undo_log_flush(&known.notes);
		if (r >= 0)
			crash_point_n("rollback-op", k);
	}
	if (r < 0) {
		undo_known_release(&known);
		undo_databases_release(made, p->n);
		undo_log_release(&own);
		return r;
	}
	r = undo_sync_written(tree, p);
	/* Out of memory: nothing kept, a rollback refuses, safe. */
	_cleanup_free_ char *notes = undo_log_close(&own);
	if (r < 0) {
		undo_known_release(&known);
		undo_databases_release(made, p->n);
		return werr_errno(err, -r, "cannot make the roll-back of the "
				  "merge of '%s' durable", p->src);
	}
	/* After the changes are durable; killed before, the run that
	 * finishes the roll-back keeps them (UNDO/own-log). */
	int kept_own = undo_keep_own(s, p->dst, notes);
	undo_known_dirs_end(&known, tree);
	undo_log_flush(&known.notes);
	r = undo_known_share(s, mdir, p, &known);
	undo_known_release(&known);
	undo_databases_release(made, p->n);
	/* Kept where they serve: a merge that failed releases its saves
	 * next, which must not share them again. */
	if (r >= 0 && kept_own >= 0)
		undo_logs_done(undo);
	if (r < 0)
		return werr_errno(err, -r,
				  "cannot record the ctimes of the "
				  "rolled-back merge of '%s'",
				  p->src);
	return 0;
}

int undo_release_saves(struct world_store *s, int mdir, const struct plan *p)
{
	_cleanup_free_ char *tp = store_tree_path(s, p->dst);
	_cleanup_close_ int tree =
		tp ? open(tp, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	_cleanup_close_ int undo =
		openat(mdir, "undo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tree < 0 || undo < 0)
		return errno == ENOENT ? 0 : -errno;
	struct undo_log own;
	int r = undo_log_open(&own, undo, UNDO_OWN_LOG);
	if (r < 0) {
		undo_log_release(&own);
		return r;
	}
	struct undo_known known;
	r = undo_known_open(&known, undo, p);
	for (size_t k = 0, released = 0; k < p->n && r >= 0; k++) {
		const char *base;
		char n[32];
		struct stat now, was, then;
		snprintf(n, sizeof(n), "%zu", k);
		/* Saved where DST held it: never applied, it is there. */
		const char *at = p->v[k].before ? p->v[k].before : p->v[k].path;
		_cleanup_close_ int parent = journal_open_parent(tree, at, &base);
		if (parent < 0 ||
		    fstatat(parent, base, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fstatat(undo, n, &was, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !undo_same_file(&was, &now))
			continue;
		if (unlinkat(undo, n, 0) < 0)
			r = errno == ENOENT ? 0 : -errno;
		else if (fstatat(parent, base, &then, AT_SYMLINK_NOFOLLOW) ==
				 0 &&
			 undo_same_file(&now, &then) &&
			 then.st_nlink + 1 == now.st_nlink) {
			undo_note_own(own.f, at, &now, &then);
			undo_known_note(&known, at, &now, &then);
		}
		/* Killed from here on, a run again finds these notes. */
		undo_log_flush(&own);
		undo_log_flush(&known.notes);
		crash_point_n("release-op", released++);
	}
	_cleanup_free_ char *notes = undo_log_close(&own);
	if (!notes) {
		undo_known_release(&known);
		return r < 0 ? r : -ENOMEM;
	}
	if (r >= 0 && syncfs(undo) < 0)
		r = -errno;
	if (r >= 0)
		r = undo_keep_own(s, p->dst, notes);
	/* After the own-ctimes: the other worlds learn them, the last
	 * merge's rollback must not refuse for them either. */
	if (r >= 0)
		r = undo_known_share(s, mdir, p, &known);
	undo_known_release(&known);
	if (r >= 0)
		undo_logs_done(undo);
	return r;
}
