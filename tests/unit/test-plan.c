/* Unit tests of the merge's planner (merge_plan in world/merge.c): the
 * operations planned for the diff of a world's tree, changed through its
 * overlay, against Root's; what check-offs, exclusions and conflicts do to
 * them; package databases merged or dropped; and the plan written to a
 * journal and read back.  Linked with the objects of the merge's floor and
 * those below it (world/FLOORS).  Runs as root in a mount namespace of its
 * own. */
#include "../../world/layers.h"
#include "../../world/merge-internal.h"
#include "scratch.h"

static int root_fd = -1, world_fd = -1;

static const char *wp(const char *path)
{
	return sp("state/worlds/W/merged/%s", path);
}

static void w_put(const char *path, const char *text)
{
	int fd = open(wp(path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

static void setup(void)
{
	static const char *const files[] = {
		"etc/mod",
		"etc/gone",
		"etc/type",
		"etc/chmod",
		"etc/conflict",
		"dir-to-file/a",
		"dir-to-file/b",
		"deldir/x/y",
		"opq/old",
		"var/lib/dpkg/status",
		"var/cache/apt/pkgcache.bin",
		"etc/passwd",
		"etc/shadow",
	};
	mk("root/etc");
	mk("root/dir-to-file");
	mk("root/deldir/x");
	mk("root/opq");
	mk("root/var/lib/dpkg");
	mk("root/var/cache/apt");
	mk("root/var/log");
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		char path[256];
		snprintf(path, sizeof(path), "root/%s", files[i]);
		put_file(path, "root\n");
	}
	make_world("W", (const char *[]){"Root", NULL}, NULL);
	struct world_meta m = {0};
	struct world_error err = {0};
	meta_load(&store, "W", &m, &err);
	mk("state/worlds/W/merged");
	if (layers_mount_world(&store, &m, true, NULL, &err) < 0) {
		printf("# %s\n", err.msg);
		exit(1);
	}
	usleep(50000); /* Root's changes below: past W's creation */
	w_put("etc/mod", "world\n");
	unlink(wp("etc/gone"));
	unlink(wp("etc/type"));
	mkdir(wp("etc/type"), 0755);
	w_put("etc/type/inner", "i\n");
	chmod(wp("etc/chmod"), 0600);
	unlink(wp("dir-to-file/a"));
	unlink(wp("dir-to-file/b"));
	rmdir(wp("dir-to-file"));
	w_put("dir-to-file", "file\n");
	unlink(wp("deldir/x/y"));
	rmdir(wp("deldir/x"));
	rmdir(wp("deldir"));
	unlink(wp("opq/old"));
	rmdir(wp("opq"));
	mkdir(wp("opq"), 0755);
	w_put("opq/new", "n\n");
	mkdir(wp("new"), 0755);
	w_put("new/f", "f\n");
	w_put("var/log/wtmp", "login\n");
	w_put("etc/conflict", "world\n");
	put_file("root/etc/conflict", "Root's own\n");
	put_file("state/worlds/W/check-off", "/etc/chmod\n");
	if (layers_refresh_world(&store, &m, &err) < 0) {
		printf("# %s\n", err.msg);
		exit(1);
	}
	meta_release(&m);
	root_fd = open(sp("root"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	world_fd = open(wp(""), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || world_fd < 0)
		die("trees");
}

static const struct op *op_of(const struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].path, path))
			return &p->v[i];
	return NULL;
}

static const char *const kinds[] = {"del", "put", "dir", "mrg"};
static const char *const hads[] = {"none", "dir", "file"};

/* Whether P plans PATH as KIND over what DST HAD. */
static bool plans(const struct plan *p, const char *path, enum op_kind kind,
		  enum had had)
{
	const struct op *o = op_of(p, path);
	if (!o || o->kind != kind || o->had != had) {
		printf("# %s: %s %s, not %s %s\n", path,
		       o ? kinds[o->kind] : "-", o ? hads[o->had] : "-",
		       kinds[kind], hads[had]);
		return false;
	}
	return true;
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	return lstat(sp("%s", path), &st) == 0 ? st.st_ino : 0;
}

static void test_plan_of_world(void)
{
	struct world_meta m = {0};
	struct world_error err = {0};
	meta_load(&store, "W", &m, &err);
	struct world_diff d = {0};
	int r = diff_worlds(&store, &m, NULL, "W", WORLD_ROOT, &d, &err);
	ok(r == 0, "W's diff against Root (%s)", err.msg);
	struct plan p = {.src = strdup("W"), .dst = strdup(WORLD_ROOT)};
	r = merge_plan(root_fd, world_fd, -1, NULL, false, &d, &p);
	ok(r == 0, "is planned");
	for (size_t i = 0; i < p.n; i++)
		printf("# %zu %s %s %s%s\n", i, kinds[p.v[i].kind],
		       hads[p.v[i].had], p.v[i].path,
		       p.v[i].dst_changed ? " (dst changed)" : "");

	ok(plans(&p, "/etc/mod", OP_PUT, HAD_FILE) &&
		   op_of(&p, "/etc/mod")->ino == ino_of("root/etc/mod"),
	   "a changed file: put over DST's file, whose inode is noted");
	ok(plans(&p, "/etc/gone", OP_DEL, HAD_FILE), "a deleted file: del");
	ok(plans(&p, "/new", OP_DIR, HAD_NONE) &&
		   plans(&p, "/new/f", OP_PUT, HAD_NONE) &&
		   op_of(&p, "/new") < op_of(&p, "/new/f") &&
		   op_of(&p, "/new")->ino == 0,
	   "a new tree: its directory before what it holds");
	ok(plans(&p, "/etc/type", OP_DIR, HAD_FILE) &&
		   plans(&p, "/etc/type/inner", OP_PUT, HAD_NONE),
	   "a file become a directory: dir over a file");
	ok(plans(&p, "/dir-to-file", OP_PUT, HAD_DIR) &&
		   !op_of(&p, "/dir-to-file/a") && !op_of(&p, "/dir-to-file/b"),
	   "a directory become a file: put over the directory, which moves "
	   "away whole with what it held (no op for each)");
	ok(plans(&p, "/deldir", OP_DEL, HAD_DIR) && !op_of(&p, "/deldir/x") &&
		   !op_of(&p, "/deldir/x/y"),
	   "a deleted tree: one del of its top");
	ok(plans(&p, "/opq/old", OP_DEL, HAD_FILE) &&
		   plans(&p, "/opq/new", OP_PUT, HAD_NONE) &&
		   !op_of(&p, "/opq"),
	   "a directory made anew (opaque): what it hid deleted one by one, "
	   "the directory kept");
	ok(!op_of(&p, "/var/log/wtmp"), "an excluded path is not merged");
	ok(!op_of(&p, "/etc/chmod"), "a checked-off path is not merged");
	const struct op *c = op_of(&p, "/etc/conflict");
	ok(c && c->kind == OP_PUT && c->dst_changed,
	   "a conflict (planned only when forced): marked as DST's change "
	   "too, for a roll-back");
	size_t changed = 0;
	for (size_t i = 0; i < p.n; i++)
		changed += p.v[i].dst_changed;
	ok(changed == 1, "nothing else is marked");
	ok(p.n == 11, "and nothing else is planned (%zu ops)", p.n);

	/* The plan must survive its journal: recovery works from that. */
	mk("journal");
	int dir = open(sp("journal"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct plan back = {0};
	bool same = journal_write(dir, &p) == 0 &&
		    journal_read(dir, &back) == 0 && back.n == p.n;
	for (size_t i = 0; same && i < p.n; i++)
		same = back.v[i].kind == p.v[i].kind &&
		       back.v[i].had == p.v[i].had &&
		       back.v[i].dst_changed == p.v[i].dst_changed &&
		       !strcmp(back.v[i].path, p.v[i].path);
	ok(same, "the plan reads back from its journal, op for op");
	journal_plan_release(&back);
	close(dir);
	journal_plan_release(&p);
	diff_release(&d);
	meta_release(&m);
}

/* A diff made by hand: what the planner does with each flag. */
static struct world_change change(char kind, const char *path)
{
	return (struct world_change){.kind = kind, .path = (char *)path};
}

static void test_flags(void)
{
	struct world_change v[] = {
		change('M', "/etc/passwd"),
		change('M', "/var/cache/apt/pkgcache.bin"),
		change('M', "/var/lib/dpkg/status"),
		change('D', "/etc/never-there"),
		change('M', "/etc/mod"),
	};
	v[0].conflict = true; /* an account database: merged when forced */
	v[1].merged = true;   /* a cache both changed: dropped */
	v[2].merged = true;   /* dpkg's status both changed: merged */
	struct world_diff d = {.v = v, .n = sizeof(v) / sizeof(*v)};
	struct plan p = {0};
	int r = merge_plan(root_fd, world_fd, -1, NULL, false, &d, &p);
	ok(r == 0 && plans(&p, "/etc/passwd", OP_PUT, HAD_FILE) &&
		   op_of(&p, "/etc/passwd")->dst_changed,
	   "a conflicting database, not forced: put whole (the merge "
	   "stops before at the conflict)");
	ok(plans(&p, "/var/cache/apt/pkgcache.bin", OP_DEL, HAD_FILE) &&
		   op_of(&p, "/var/cache/apt/pkgcache.bin")->dst_changed,
	   "a cache both changed: deleted, rebuilt on demand");
	ok(plans(&p, "/var/lib/dpkg/status", OP_MRG, HAD_FILE) &&
		   op_of(&p, "/var/lib/dpkg/status")->dst_changed,
	   "dpkg's status both changed: merged record by record");
	ok(!op_of(&p, "/etc/never-there"),
	   "deleting what DST does not have: no op");
	ok(plans(&p, "/etc/mod", OP_PUT, HAD_FILE) &&
		   !op_of(&p, "/etc/mod")->dst_changed,
	   "a plain change: put, DST's own untouched");
	journal_plan_release(&p);

	r = merge_plan(root_fd, world_fd, -1, NULL, true, &d, &p);
	ok(r == 0 && plans(&p, "/etc/passwd", OP_MRG, HAD_FILE),
	   "forced: a conflicting account database is merged, never "
	   "replaced whole");
	ok(plans(&p, "/etc/shadow", OP_MRG, HAD_FILE) &&
		   op_of(&p, "/etc/shadow")->dst_changed,
	   "forced: shadow, in no diff, goes with passwd (an account takes "
	   "one side in both)");
	ok(!op_of(&p, "/etc/group") && !op_of(&p, "/etc/gshadow"),
	   "group and gshadow, which neither side has, stay out of it");
	journal_plan_release(&p);

	/* passwd put whole, shadow merged: passwd goes with it. */
	struct world_change pair[] = {change('M', "/etc/passwd"),
				      change('M', "/etc/shadow")};
	pair[1].merged = true;
	struct world_diff pd = {.v = pair, .n = 2};
	r = merge_plan(root_fd, world_fd, -1, NULL, false, &pd, &p);
	ok(r == 0 && plans(&p, "/etc/passwd", OP_MRG, HAD_FILE) &&
		   plans(&p, "/etc/shadow", OP_MRG, HAD_FILE) && p.n == 2,
	   "passwd that SRC alone changed is merged with its shadow");
	journal_plan_release(&p);

	/* Planning appends: a plan made in two steps. */
	struct world_diff one = {.v = v + 4, .n = 1};
	r = merge_plan(root_fd, world_fd, -1, NULL, false, &one, &p);
	r |= merge_plan(root_fd, world_fd, -1, NULL, false, &one, &p);
	ok(r == 0 && p.n == 2, "merge_plan appends to the plan it is given");
	journal_plan_release(&p);

	/* A path DST cannot even look up fails the plan. */
	static char longpath[PATH_MAX + 64];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	struct world_change bad[] = {change('M', "/etc/mod"),
				     change('M', longpath)};
	struct world_diff b = {.v = bad, .n = 2};
	r = merge_plan(root_fd, world_fd, -1, NULL, false, &b, &p);
	ok(r == -ENAMETOOLONG, "a path too long to look up fails it (%d)", r);
	ok(p.n == 1 && !strcmp(p.v[0].path, "/etc/mod"),
	   "keeping what was planned before, for journal_plan_release");
	journal_plan_release(&p);
}

/* The name a roll-back puts DST's own beside: a name of NAME_MAX bytes
 * too, whose full name with the suffix would not be one. */
static void test_aside_name(void)
{
	char buf[NAME_MAX + 1], longest[NAME_MAX + 1];
	ok(merge_aside_name(buf, sizeof(buf), "motd", 2) == 0 &&
		   !strcmp(buf, "motd.pwapt-rollback-2~"),
	   "a short name: NAME.pwapt-rollback-N~, a backup's");
	ok(merge_aside_name_before(buf, sizeof(buf), "motd", 2) == 0 &&
		   !strcmp(buf, "motd.pwapt-rollback-2"),
	   "and as an older pwapt named it: NAME.pwapt-rollback-N");
	memset(longest, 'x', NAME_MAX);
	longest[NAME_MAX] = '\0';
	ok(merge_aside_name(buf, sizeof(buf), longest, 1000) == 0 &&
		   strlen(buf) == NAME_MAX &&
		   !strcmp(buf + NAME_MAX - 21, ".pwapt-rollback-1000~") &&
		   !strncmp(buf, longest, NAME_MAX - 21),
	   "a name of NAME_MAX bytes: its start, then the suffix, a valid "
	   "name");
	struct stat st;
	int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(fd >= 0 && merge_aside_name(buf, sizeof(buf), longest, 7) == 0 &&
		   mkdirat(fd, buf, 0700) == 0 &&
		   fstatat(fd, buf, &st, 0) == 0 &&
		   unlinkat(fd, buf, AT_REMOVEDIR) == 0,
	   "which the file system takes");
	if (fd >= 0)
		close(fd);
	/* "é" (2 bytes) from byte 2 on: the cut at NAME_MAX - 18 (the
	 * length of ".pwapt-rollback-7~"), an odd byte, falls inside a
	 * character. */
	char utf[NAME_MAX + 1];
	utf[0] = 'a';
	utf[1] = 'b';
	for (size_t j = 2; j + 1 < NAME_MAX; j += 2)
		memcpy(utf + j, "\xc3\xa9", 2);
	utf[NAME_MAX - 1] = '\0'; /* "ab" and 126 of them */
	size_t head = NAME_MAX - 18 - 1;
	ok(merge_aside_name(buf, sizeof(buf), utf, 7) == 0 &&
		   strlen(buf) == head + 18 && !strncmp(buf, utf, head) &&
		   !strcmp(buf + head, ".pwapt-rollback-7~"),
	   "a long UTF-8 name is cut between two characters, never inside "
	   "one");
	utf[1] = '\xff'; /* not UTF-8: any byte boundary */
	ok(merge_aside_name(buf, sizeof(buf), utf, 7) == 0 &&
		   strlen(buf) == NAME_MAX && !strncmp(buf, utf, NAME_MAX - 18),
	   "a long name that is not UTF-8 keeps as many bytes as fit");
}

int main(void)
{
	if (scratch_init())
		return 0;
	store_init("root", "state");
	setup();
	test_plan_of_world();
	test_flags();
	test_aside_name();
	close(root_fd);
	close(world_fd);
	return tap_done();
}
