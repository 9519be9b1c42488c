/* Merging package databases record by record (see dbmerge.h).
 *
 * The base of a three-way merge is what the world saw of the file when it
 * was created: a copy in worlds/NAME/base/, made by wcreate.  Without it a
 * merge could not tell a package that DST installed from one that SRC
 * removed.  A file absent at creation has an empty base; the directory
 * itself tells a world made before bases were kept (no base: the change
 * stays a conflict, as it always was). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dbmerge.h"
#include "dbrec.h"
#include "dpkgdb.h"
#include "error.h"
#include "lifecycle.h"
#include "fsutil.h"

enum db_kind {
	DB_DPKG_STATUS,	 /* dpkg's status, by package (libdpkg) */
	DB_BY_PACKAGE,	 /* deb822 keyed by Package and Architecture */
	DB_BY_NAME,	 /* deb822 keyed by Name (debconf) */
	DB_DIVERSIONS,	 /* dpkg's diversions, by diverted path */
	DB_STATOVERRIDE, /* dpkg's statoverride, by path */
	DB_TRIGFILE,	 /* dpkg's file triggers, a set of lines */
	DB_LOG,		 /* appended to by both */
	DB_CACHE,	 /* rebuilt from the others */
	DB_BACKUP,	 /* the previous version of a database */
	DB_LATEST,	 /* rewritten whole by each run of its tool */
	DB_USERS,	 /* passwd, shadow: by name; passwd's uids unique */
	DB_GROUPS,	 /* group, gshadow: by name; group's gids unique */
	DB_DERIVED,	 /* made from other files by a tool (ldconfig) */
};

static const struct db {
	const char *path;
	const char *base; /* name of the saved copy, NULL: needs none */
	enum db_kind kind;
} dbs[] = {
	{"/var/lib/dpkg/status", "dpkg-status", DB_DPKG_STATUS},
	{"/var/lib/apt/extended_states", "apt-extended_states", DB_BY_PACKAGE},
	{"/var/lib/dpkg/diversions", "dpkg-diversions", DB_DIVERSIONS},
	{"/var/lib/dpkg/statoverride", "dpkg-statoverride", DB_STATOVERRIDE},
	{"/var/lib/dpkg/triggers/File", "dpkg-triggers-File", DB_TRIGFILE},
	{"/var/cache/debconf/config.dat", "debconf-config.dat", DB_BY_NAME},
	{"/var/cache/debconf/templates.dat", "debconf-templates.dat",
	 DB_BY_NAME},
	{"/var/cache/debconf/passwords.dat", "debconf-passwords.dat",
	 DB_BY_NAME},
	{"/var/log/dpkg.log", NULL, DB_LOG},
	{"/var/log/alternatives.log", NULL, DB_LOG},
	{"/var/log/apt/history.log", NULL, DB_LOG},
	{"/var/log/apt/term.log", NULL, DB_LOG},
	{"/var/cache/apt/pkgcache.bin", NULL, DB_CACHE},
	{"/var/cache/apt/srcpkgcache.bin", NULL, DB_CACHE},
	{"/var/lib/dpkg/status-old", NULL, DB_BACKUP},
	{"/var/lib/dpkg/diversions-old", NULL, DB_BACKUP},
	{"/var/lib/dpkg/statoverride-old", NULL, DB_BACKUP},
	{"/var/cache/debconf/config.dat-old", NULL, DB_BACKUP},
	{"/var/cache/debconf/templates.dat-old", NULL, DB_BACKUP},
	{"/var/cache/debconf/passwords.dat-old", NULL, DB_BACKUP},
	{"/var/log/apt/eipp.log.xz", NULL, DB_LATEST}, /* apt's last plan */
	/* Maintainer scripts add system users and groups. */
	{"/etc/passwd", "passwd", DB_USERS},
	{"/etc/shadow", "shadow", DB_USERS},
	{"/etc/group", "group", DB_GROUPS},
	{"/etc/gshadow", "gshadow", DB_GROUPS},
	{"/etc/passwd-", NULL, DB_BACKUP},
	{"/etc/shadow-", NULL, DB_BACKUP},
	{"/etc/group-", NULL, DB_BACKUP},
	{"/etc/gshadow-", NULL, DB_BACKUP},
	{"/var/cache/ldconfig/aux-cache", NULL, DB_CACHE},
	/* The dynamic linker's cache: the world's is taken (the linker
	 * finds libraries of the system directories without it), and
	 * ldconfig in DST makes it whole again. */
	{"/etc/ld.so.cache", NULL, DB_DERIVED},
};

/* A service's own log, which its processes append to in DST and in a
 * world alike (nginx's access.log while a world's tests ask it, Root's
 * while it serves): merged as dpkg's log is, the world's new lines after
 * DST's, never a conflict that refuses the merge of an upgrade on a busy
 * server, nor one that --force settles by losing DST's lines. */
static const struct db service_log = {NULL, NULL, DB_LOG};

/* Whether PATH is such a log: below /var/log, named *.log (not a rotated
 * or compressed one: access.log.1, eipp.log.xz), or rsyslog's
 * /var/log/syslog or /var/log/messages. */
static bool is_service_log(const char *path)
{
	static const char dir[] = "/var/log/";
	if (strncmp(path, dir, sizeof(dir) - 1))
		return false;
	const char *base = strrchr(path, '/') + 1;
	size_t n = strlen(base);
	return (n > 4 && !strcmp(base + n - 4, ".log")) ||
	       !strcmp(path, "/var/log/syslog") ||
	       !strcmp(path, "/var/log/messages");
}

static const struct db *db_of(const char *path)
{
	for (size_t i = 0; i < sizeof(dbs) / sizeof(*dbs); i++)
		if (!strcmp(dbs[i].path, path))
			return &dbs[i];
	return is_service_log(path) ? &service_log : NULL;
}

const char *dbmerge_partner(const char *path)
{
	static const char *const pairs[][2] = {{"/etc/passwd", "/etc/shadow"},
					       {"/etc/group", "/etc/gshadow"}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++)
		for (int k = 0; k < 2; k++)
			if (!strcmp(path, pairs[i][k]))
				return pairs[i][!k];
	return NULL;
}

bool dbmerge_log(const char *path)
{
	const struct db *db = db_of(path);
	return db && db->kind == DB_LOG;
}

bool dbmerge_known(const char *path)
{
	return db_of(path) != NULL;
}

enum dbmerge_action dbmerge_planned(const char *path)
{
	const struct db *db = db_of(path);
	return !db			? DBMERGE_NONE
	       : db->kind == DB_CACHE	? DBMERGE_DROP
	       : db->kind == DB_BACKUP || db->kind == DB_LATEST
			? DBMERGE_THEIRS
	       : db->kind == DB_DERIVED ? DBMERGE_DERIVED
					: DBMERGE_MERGED;
}

bool dbmerge_undoable(const char *path)
{
	const struct db *db = db_of(path);
	return db && (db->kind == DB_LATEST ||
		      dbmerge_planned(path) == DBMERGE_MERGED);
}

/* Copies FROM (a regular file) to NAME in DIR; not synced (the caller
 * syncs them all at once, dbmerge_sync_bases()). */
static int save_copy(int from, int dir, const char *name)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, ".%s.tmp", name) < 0)
		return -ENOMEM;
	_cleanup_close_ int to = openat(
		dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (to < 0)
		return -errno;
	int r = copy_bytes(from, to);
	if (r >= 0 && renameat(dir, tmp, dir, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dir, tmp, 0);
	return r;
}

/* worlds/NAME/base, made first when MAKE: an fd, or -errno said in ERR. */
static int open_bases_dir(struct world_store *s, const char *name, bool make,
			  struct world_error *err)
{
	_cleanup_free_ char *rel = path_join(name, "base");
	if (!rel)
		return werr(err, ENOMEM, "out of memory");
	if (make && mkdirat(s->worlds_fd, rel, 0700) < 0 && errno != EEXIST)
		return werr_errno(err, errno, "cannot create %s/%s", s->worlds,
				  rel);
	int dir = openat(s->worlds_fd, rel,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return dir < 0 ? werr_errno(err, errno, "cannot open %s/%s",
				    s->worlds, rel)
		       : dir;
}

int dbmerge_save_bases(struct world_store *s, const char *name, int tree,
		       struct world_error *err)
{
	_cleanup_close_ int dir = open_bases_dir(s, name, true, err);
	if (dir < 0)
		return dir;
	/* "covered" names every database whose state was recorded, there
	 * or absent: a pwapt that keeps more bases than the one that made
	 * the world does not take a missing copy for an absent file. */
	_cleanup_free_ char *covered = NULL;
	size_t covered_len = 0;
	FILE *cf = open_memstream(&covered, &covered_len);
	if (!cf)
		return werr(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(dbs) / sizeof(*dbs); i++)
		if (dbs[i].base)
			fprintf(cf, "%s\n", dbs[i].base);
	if (fclose(cf) != 0)
		return werr(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(dbs) / sizeof(*dbs); i++) {
		if (!dbs[i].base)
			continue;
		_cleanup_close_ int fd = open_file_beneath(tree, dbs[i].path + 1);
		struct stat st;
		if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR && fd != -EINVAL)
			return werr_errno(err, -fd, "cannot read %s of '%s'",
					  dbs[i].path, name);
		if (fd < 0)
			continue; /* absent: an empty base */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		int r = save_copy(fd, dir, dbs[i].base);
		if (r < 0)
			return werr_errno(err, -r, "cannot save %s of '%s'",
					  dbs[i].path, name);
	}
	/* Synced later, by dbmerge_sync_bases(): the world is not ready
	 * (recovery removes it) until its metadata says so, written after
	 * that. */
	int r = write_file_replace(dir, "covered", covered, covered_len, 0600);
	if (r < 0)
		return werr_errno(err, -r, "cannot save the bases of '%s'",
				  name);
	return 0;
}

int dbmerge_sync_bases(struct world_store *s, const char *name,
		       struct world_error *err)
{
	_cleanup_close_ int dir = open_bases_dir(s, name, false, err);
	if (dir < 0)
		return dir;
	/* One syncfs of the state's file system for every copy,
	 * "covered", their directory and the world's new directories (the
	 * layer's, worlds/NAME): measured on a loaded machine, an fsync of
	 * each cost more (each a journal commit) than one syncfs, even
	 * though it writes other programs' dirty files too.  Their
	 * writeback is not started early (sync_file_range): that gave
	 * their blocks to the journal's running transaction, so the
	 * fsync of the world's network file, which comes first, waited
	 * for their data instead (that step went from 8 to 19 ms,
	 * medians at a load of 25). */
	int r = syncfs(dir) < 0 ? -errno : 0;
	if (r < 0)
		return werr_errno(err, -r, "cannot save the bases of '%s'",
				  name);
	return 0;
}

/* The base of DB for world SRC: an fd; one of /dev/null (an empty base)
 * when the database did not exist when SRC was created; -ENOENT when SRC
 * has no base of DB (made by a pwapt that kept none, or none of DB),
 * another -errno when it cannot be read. */
static int open_base(struct world_store *s, const char *src,
		     const struct db *db)
{
	_cleanup_free_ char *dir = path_join(src, "base");
	_cleanup_free_ char *rel = dir ? path_join(dir, db->base) : NULL;
	if (!rel)
		return -ENOMEM;
	int fd = openat(s->worlds_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	/* Absent when the world was made, or never recorded? */
	_cleanup_free_ char *list = path_join(dir, "covered");
	_cleanup_free_ char *text = NULL;
	if (!list || read_file_at(s->worlds_fd, list, &text, NULL) < 0)
		return -ENOENT;
	for (char *l = text; *l;) {
		size_t n = strcspn(l, "\n");
		if (n == strlen(db->base) && !strncmp(l, db->base, n)) {
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			return fd >= 0 ? fd : -errno;
		}
		l += n + (l[n] == '\n');
	}
	return -ENOENT;
}

/* Kinds of entries in a merge's conflict list: a key changed on both
 * sides, ids two names would share (db_merge_accounts' sentences), and
 * dependencies the merged status file would break (a package key, its
 * version and the field: "foo:amd64 1.1 (Depends: bar)"). */
enum conflict_entry { ENTRY_KEY, ENTRY_ID, ENTRY_DEPENDENCY };

static enum conflict_entry entry_of(const struct db *db, const char *c)
{
	if (strstr(c, " would share id "))
		return ENTRY_ID;
	return db->kind == DB_DPKG_STATUS && strchr(c, ' ') ? ENTRY_DEPENDENCY
							     : ENTRY_KEY;
}

static char *conflict_text(const struct db *db, const struct db_conflicts *c)
{
	const char *what =
		db->kind == DB_DPKG_STATUS || db->kind == DB_BY_PACKAGE
			? "package"
		: db->kind == DB_BY_NAME ? "debconf entry"
		: db->kind == DB_USERS	 ? "user"
		: db->kind == DB_GROUPS	 ? "group"
					 : "entry";
	char *buf = NULL;
	size_t len = 0, changed = 0, k = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		changed += entry_of(db, c->v[i]) == ENTRY_KEY;
	if (changed)
		fprintf(f, "%s%s ", what, changed == 1 ? "" : "s");
	for (size_t i = 0; i < c->n; i++)
		if (entry_of(db, c->v[i]) == ENTRY_KEY)
			fprintf(f, "%s%s", k++ ? ", " : "", c->v[i]);
	if (changed)
		fprintf(f, " changed differently on both sides");
	for (size_t i = 0; i < c->n; i++)
		if (entry_of(db, c->v[i]) == ENTRY_ID)
			fprintf(f, "%s%ss %s", k++ ? "; " : "", what, c->v[i]);
	size_t broken = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (entry_of(db, c->v[i]) != ENTRY_DEPENDENCY)
			continue;
		if (broken++ == 0)
			fprintf(f,
				"%sthe merged packages would break "
				"dependencies that neither side broke: ",
				k ? "; " : "");
		else
			fputs(", ", f);
		fputs(c->v[i], f);
	}
	return fclose(f) == 0 ? buf : NULL;
}

static bool with_ids(const char *path)
{
	return !strcmp(path, "/etc/passwd") || !strcmp(path, "/etc/group");
}

/* The three-way merge of DB (at PATH) that its kind takes; PARTNER (NULL:
 * none) the base, ours and theirs fds of an account database's other
 * file. */
static int merge_by_kind(const struct db *db, const char *path,
			 const struct db_file *b, const struct db_file *o,
			 const struct db_file *t, const int *partner, int out,
			 unsigned flags, struct db_conflicts *c,
			 struct world_error *err)
{
	static const char *const by_package[] = {"Package", "Architecture",
						 NULL};
	static const char *const by_name[] = {"Name", NULL};
	switch (db->kind) {
	case DB_DPKG_STATUS:
		return dpkgdb_merge_status(b, o, t, out, flags, c, err);
	case DB_BY_PACKAGE:
	case DB_BY_NAME:
		return db_merge_deb822(b, o, t, out,
				       db->kind == DB_BY_NAME ? by_name
							      : by_package,
				       flags, c, err);
	case DB_DIVERSIONS:
		return dpkgdb_merge_diversions(b, o, t, out, flags, c, err);
	case DB_STATOVERRIDE:
		return dpkgdb_merge_statoverride(b, o, t, out, flags, c, err);
	case DB_TRIGFILE:
		return dpkgdb_merge_trigfile(b, o, t, out, flags, c, err);
	case DB_USERS:
	case DB_GROUPS:
		if (partner) {
			const struct db_file pb = {partner[0], "paired base"},
					     po = {partner[1], "paired ours"},
					     pt = {partner[2], "paired theirs"};
			return db_merge_account_pair(b, o, t, with_ids(path),
						     &pb, &po, &pt, out, flags,
						     c, err);
		}
		return db_merge_accounts(b, o, t, out, with_ids(path), flags, c,
					 err);
	default: /* DB_LOG */
		return db_merge_log(o, t, out, err);
	}
}

/* DST's and SRC's DB, into *OURS and *THEIRS (-1: absent).  Where SRC
 * sees DST's very file (overlayfs shows DST's later version of a file SRC
 * never wrote), SRC's side is its base: SRC did not change it, and its
 * records are no choice of SRC's (a name taken from SRC's side in passwd
 * is the one SRC had, not the one DST removed meanwhile). */
static int open_sides(struct world_store *s, const char *src, const char *path,
		      const struct db *db, int src_tree, int dst_tree,
		      int *ours, int *theirs)
{
	/* Never a FIFO or a device node of a world: -EINVAL, an error. */
	*ours = open_file_beneath(dst_tree, path);
	*theirs = open_file_beneath(src_tree, path);
	if ((*ours < 0 && *ours != -ENOENT) ||
	    (*theirs < 0 && *theirs != -ENOENT))
		return *ours < 0 && *ours != -ENOENT ? *ours : *theirs;
	if (*ours >= 0 && *theirs >= 0 && db->base &&
	    same_bytes(*ours, *theirs)) {
		close(*theirs);
		*theirs = open_base(s, src, db);
		if (*theirs < 0)
			return *theirs;
	}
	return 0;
}

int dbmerge_resolve(struct world_store *s, const char *src, int src_tree,
		    int dst_tree, const char *path, int out, bool force,
		    enum dbmerge_action *action, char **conflict,
		    struct world_error *err)
{
	const struct db *db = db_of(path);
	if (!db) {
		*action = DBMERGE_NONE;
		return 0;
	}
	if (dbmerge_planned(path) != DBMERGE_MERGED) {
		*action = dbmerge_planned(path);
		return 0;
	}
	_cleanup_close_ int base = db->base ? open_base(s, src, db) : -1;
	if (db->base && base < 0)
		return base == -ENOENT
			       ? werr(err, ENOENT,
				      "'%s' has no copy of %s from its "
				      "creation (it was made by an older "
				      "pwapt)%s",
				      src, path,
				      force ? ": it cannot be merged record "
					      "by record, and --force does "
					      "not replace a whole database"
					    : "")
			       : werr_errno(err, -base,
					    "cannot read the base of %s", path);
	/* Absent on a side (-ENOENT) is as good as empty. */
	_cleanup_close_ int ours = -1, theirs = -1;
	int r = open_sides(s, src, path, db, src_tree, dst_tree, &ours,
			   &theirs);
	if (r < 0)
		return werr_errno(err, -r, "cannot read %s", path);
	/* Only finding out: the merged file goes nowhere. */
	_cleanup_close_ int sink = -1;
	if (out < 0) {
		sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (sink < 0)
			return werr_errno(err, errno, "cannot open /dev/null");
		out = sink;
	}
	/* An account's other file: its sides too, so that a name takes one
	 * side in both (a partner without a base is merged alone). */
	const char *mate = dbmerge_partner(path);
	const struct db *pdb = mate ? db_of(mate) : NULL;
	_cleanup_close_ int pbase = pdb ? open_base(s, src, pdb) : -1;
	_cleanup_close_ int pours = -1, ptheirs = -1;
	if (pdb && pbase >= 0 &&
	    (r = open_sides(s, src, mate, pdb, src_tree, dst_tree, &pours,
			    &ptheirs)) < 0)
		return werr_errno(err, -r, "cannot read %s", mate);
	const int pfds[3] = {pbase, pours, ptheirs};
	const struct db_file b = {base, "the world's base copy"},
			     o = {ours, "the destination's"},
			     t = {theirs, "the world's"};
	struct db_conflicts c = {0};
	unsigned flags = force ? DB_MERGE_FORCE : 0;
	r = merge_by_kind(db, path, &b, &o, &t,
			      pdb && pbase >= 0 ? pfds : NULL, out, flags, &c,
			      err);
	if (r < 0)
		werr_wrap(err, "cannot merge %s", path);
	if (r > 0 && force)
		r = 0; /* SRC's side of each conflict is in OUT */
	if (r > 0) {
		_cleanup_free_ char *text = conflict_text(db, &c);
		r = werr(err, EEXIST, "%s: %s", path,
			 text ? text
			      : "records changed differently on both sides");
		if (conflict && text)
			*conflict = steal_pointer(&text);
	}
	db_conflicts_release(&c);
	if (r >= 0)
		*action = DBMERGE_MERGED;
	return r < 0 ? r : 0;
}

/* A log the merge wrote (MERGED: BEFORE with the world's lines after it,
 * or the world's whole, rewritten, log): BEFORE and what DST appended
 * after MERGED; DST's log as it is when it does not begin with MERGED
 * (DST rotated or truncated it since: what it dropped is its own). */
static int undo_log(const int files[3], int out, struct world_error *err)
{
	struct input in[3] = {0};
	int r = 0;
	for (int i = 0; i < 3 && r >= 0; i++) {
		const struct db_file f = {files[i], NULL};
		r = input_read(&f, "log", &in[i], err);
	}
	if (r >= 0) {
		const struct input *m = &in[0], *b = &in[1], *now = &in[2];
		bool kept = now->len >= m->len &&
			    !memcmp(now->data, m->data, m->len);
		r = kept ? dbrec_write_all(out, b->data, b->len, "the log", err) : 0;
		if (r >= 0)
			r = kept ? dbrec_write_all(out, now->data + m->len,
					     now->len - m->len, "the log", err)
				 : dbrec_write_all(out, now->data, now->len,
					     "the log", err);
	}
	for (int i = 0; i < 3; i++)
		input_release(&in[i]);
	return r;
}

int dbmerge_undo(const char *path, const int files[3], const int *partner,
		 int out, struct world_error *err)
{
	const struct db *db = db_of(path);
	/* Not merged by lines or records: DST's later run of the tool wins. */
	if (db && db->kind == DB_LATEST) {
		int r = copy_bytes(files[2], out);
		return r < 0 ? werr_errno(err, -r, "cannot undo the merge of %s",
					  path)
			     : 0;
	}
	if (!db || dbmerge_planned(path) != DBMERGE_MERGED)
		return werr(err, EINVAL, "%s is merged whole", path);
	if (db->kind == DB_LOG)
		return undo_log(files, out, err) < 0
			       ? werr_wrap(err, "cannot undo the merge of %s",
					   path)
			       : 0;
	/* DST's changes since the merge, merged into what DST had before it
	 * as a forced merge takes a world's: the merged file is the base,
	 * the file before the merge ours, DST's now theirs.  A record DST
	 * left as the merge wrote it returns to its state before; one DST
	 * added or changed since stays, also where the merge had changed it
	 * too (the conflicts, forced to DST's side). */
	const struct db_file b = {files[0], "the merged copy"},
			     o = {files[1], "the copy saved before the merge"},
			     t = {files[2], "the current"};
	struct db_conflicts c = {0};
	int r = merge_by_kind(db, path, &b, &o, &t, partner, out,
			      DB_MERGE_FORCE, &c, err);
	db_conflicts_release(&c);
	if (r < 0)
		return werr_wrap(err, "cannot undo the merge of %s", path);
	return 0;
}

static const struct {
	const char *dir, *name;
	mode_t mode;
	enum dbmerge_lock_kind kind;
} lock_files[] = {
	{"var/lib/dpkg", "lock-frontend", 0640, DBLOCK_DPKG},
	{"var/lib/dpkg", "lock", 0640, DBLOCK_DPKG},
	{"etc", ".pwd.lock", 0600, DBLOCK_ACCOUNTS},
};

/* Opens NAME in DIR beneath TREE for locking (creating it with MODE when
 * CREATE), for writing or, READ_ONLY, for reading: a regular file only,
 * never through a symbolic link.  -ENOENT when it, or DIR, is missing. */
static int open_lock_file(int tree, size_t i, bool create, bool read_only)
{
	_cleanup_close_ int d =
		open_beneath(tree, lock_files[i].dir, O_PATH | O_DIRECTORY);
	if (d < 0)
		return d == -ENOTDIR ? -ENOENT : d;
	/* Looked at before it is opened: a world's FIFO or device node in
	 * its place is never opened on the host (-EINVAL). */
	_cleanup_close_ int path = openat(d, lock_files[i].name,
					  O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (path < 0 && errno == ENOENT && create) {
		int fd = openat(d, lock_files[i].name,
				O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
					O_CLOEXEC,
				lock_files[i].mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
		path = openat(d, lock_files[i].name,
			      O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	return path < 0 ? -errno
			: reopen_regular(path, read_only ? O_RDONLY : O_RDWR);
}

/* Takes lock file I (a write lock, or READ_ONLY a read lock: either keeps
 * the tool, which takes a write lock, out): 0 when taken or missing,
 * -EAGAIN when another process holds it (noted in L), other -errno naming
 * it. */
static int take_lock(int tree, size_t i, bool create, bool read_only,
		     const char *dst, struct dbmerge_locks *l,
		     struct world_error *err)
{
	int fd = open_lock_file(tree, i, create, read_only);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return werr_errno(err, -fd, "cannot open /%s/%s of '%s'",
				  lock_files[i].dir, lock_files[i].name, dst);
	struct flock fl = {.l_type = read_only ? F_RDLCK : F_WRLCK,
			   .l_whence = SEEK_SET};
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
		l->fd[i] = fd;
		return 0;
	}
	int e = errno;
	close(fd);
	if (e != EAGAIN && e != EACCES)
		return werr_errno(err, e, "cannot lock /%s/%s of '%s'",
				  lock_files[i].dir, lock_files[i].name, dst);
	if (!l->busy[lock_files[i].kind])
		l->busy[lock_files[i].kind] = (int)i + 1;
	return -EAGAIN;
}

bool dbmerge_dpkg_interrupted(int tree)
{
	int fd = open_beneath(tree, "var/lib/dpkg/updates",
			      O_RDONLY | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return false;
	if (fd < 0)
		return true;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return true;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d)))
		if (de->d_name[0] &&
		    strspn(de->d_name, "0123456789") == strlen(de->d_name))
			return true;
	return errno != 0;
}

/* The words for lock KIND of world NAME held by its tool (L->busy). */
static int busy_error(const struct dbmerge_locks *l,
		      enum dbmerge_lock_kind kind, const char *name,
		      struct world_error *err)
{
	int busy = l->busy[kind];
	if (kind == DBLOCK_DPKG)
		return werr(err, EBUSY,
			    "dpkg or apt is running in '%s' (it holds /%s/%s): "
			    "merge when it is done",
			    name, lock_files[busy - 1].dir,
			    lock_files[busy - 1].name);
	return werr(err, EBUSY,
		    "an account tool (useradd, passwd, vipw) is running "
		    "in '%s' (it holds /%s/%s): merge when it is done",
		    name, lock_files[busy - 1].dir, lock_files[busy - 1].name);
}

int dbmerge_lock(int tree, const char *dst, struct dbmerge_locks *l,
		 struct world_error *err)
{
	for (size_t i = 0; i < sizeof(lock_files) / sizeof(*lock_files); i++) {
		int r = take_lock(tree, i, false, false, dst, l, err);
		if (r < 0 && r != -EAGAIN)
			return r;
	}
	return 0;
}

int dbmerge_lock_source(int tree, const char *src, struct dbmerge_locks *l,
			struct world_error *err)
{
	for (size_t i = 0; i < sizeof(lock_files) / sizeof(*lock_files); i++) {
		if (l->fd[i] >= 0)
			continue;
		int r = take_lock(tree, i, false, true, src, l, err);
		if (r == -EAGAIN)
			return busy_error(l, lock_files[i].kind, src, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool guarded_by_dpkg(const char *path)
{
	return !strncmp(path, "/var/lib/dpkg/", 14) ||
	       !strcmp(path, "/var/lib/dpkg") ||
	       !strcmp(path, "/var/lib/apt/extended_states");
}

static bool guarded_by_shadow(const char *path)
{
	static const char *const files[] = {"passwd",  "shadow", "group",
					    "gshadow", "subuid", "subgid"};
	if (strncmp(path, "/etc/", 5))
		return false;
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		size_t n = strlen(files[i]);
		if (!strncmp(path + 5, files[i], n) &&
		    (!path[5 + n] || !strcmp(path + 5 + n, "-")))
			return true;
	}
	return false;
}

int dbmerge_check_lock(int tree, struct dbmerge_locks *l, const char *path,
		       const char *dst, struct world_error *err)
{
	enum dbmerge_lock_kind kind = guarded_by_dpkg(path) ? DBLOCK_DPKG
				      : guarded_by_shadow(path)
					      ? DBLOCK_ACCOUNTS
					      : DBLOCK_N;
	if (kind == DBLOCK_N)
		return 0;
	/* A lock file missing when the merge began: no tool ran there then,
	 * but one may have started since and made it. */
	int created = 0;
	for (size_t i = 0;
	     !l->busy[kind] && i < sizeof(lock_files) / sizeof(*lock_files);
	     i++) {
		if (lock_files[i].kind != kind || l->fd[i] >= 0)
			continue;
		int r = take_lock(tree, i, true, false, dst, l, err);
		if (r < 0 && r != -EAGAIN)
			return r;
		created |= r == 0 && l->fd[i] >= 0;
	}
	if (l->busy[kind])
		return busy_error(l, kind, dst, err);
	return created;
}

void dbmerge_unlock(struct dbmerge_locks *l)
{
	for (size_t i = 0; i < sizeof(l->fd) / sizeof(*l->fd); i++)
		closep(&l->fd[i]);
}

void dbmerge_packages_release(struct world_packages *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct world_package *k = &p->v[i];
		free(k->name);
		free(k->arch);
		free(k->version);
		free(k->status);
		for (size_t j = 0; j < k->n_conffiles; j++) {
			free(k->conffiles[j].path);
			free(k->conffiles[j].md5sum);
		}
		free(k->conffiles);
	}
	free(p->v);
	*p = (struct world_packages){0};
}

static int copy_package(struct world_package *to,
			const struct dpkg_package *from)
{
	*to = (struct world_package){0};
	if (asprintf(&to->status, "%s %s %s", from->want, from->eflag,
		     from->status) < 0) {
		to->status = NULL;
		return -ENOMEM;
	}
	to->name = strdup(from->name);
	to->arch = strdup(from->arch);
	to->version = strdup(from->version);
	to->conffiles = calloc(from->n_conffiles + 1, sizeof(*to->conffiles));
	if (!to->name || !to->arch || !to->version || !to->conffiles)
		return -ENOMEM;
	for (size_t j = 0; j < from->n_conffiles; j++) {
		struct world_conffile *c = &to->conffiles[to->n_conffiles++];
		c->path = strdup(from->conffiles[j].path);
		c->md5sum = strdup(from->conffiles[j].md5sum);
		c->obsolete = from->conffiles[j].obsolete;
		if (!c->path || !c->md5sum)
			return -ENOMEM;
	}
	return 0;
}

int dbmerge_packages(struct world_store *s, const char *name,
		     struct world_packages *out, struct world_error *err)
{
	/* A world's FIFO or device node there is never opened: a FIFO
	 * would block, for good. */
	_cleanup_close_ int path =
		lifecycle_open_in(s, name, "var/lib/dpkg/status", O_PATH, err);
	_cleanup_close_ int fd = path >= 0 ? reopen_regular(path, O_RDONLY)
					   : path;
	if (fd < 0 && fd != -ENOENT)
		return fd == -ELOOP || fd == -ENOTDIR || fd == -EINVAL
			       ? werr_errno(err, fd == -EINVAL ? EINVAL : -fd,
					    "cannot read /var/lib/dpkg/status "
					    "of '%s'%s",
					    name,
					    fd == -EINVAL
						    ? ": not a regular file"
						    : "")
			       : fd;
	int r;
	struct db_file in = {fd, "/var/lib/dpkg/status"};
	struct dpkg_packages pk = {0};
	if ((r = dpkgdb_read(&in, &pk, err)) < 0)
		return werr_wrap(err, "'%s'", name);
	struct world_packages w = {calloc(pk.n + 1, sizeof(*w.v)), 0};
	r = w.v ? 0 : -ENOMEM;
	for (size_t i = 0; i < pk.n && r >= 0; i++)
		r = copy_package(&w.v[w.n++], &pk.v[i]);
	dpkgdb_packages_release(&pk);
	if (r < 0) {
		dbmerge_packages_release(&w);
		return werr(err, ENOMEM, "out of memory");
	}
	*out = w;
	return 0;
}
