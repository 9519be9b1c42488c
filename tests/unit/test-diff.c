/* Unit tests of wdiff's comparison (world/diff.c with sides.c, checkoff.c
 * and conflicts.c): a world's tree, changed through its overlay as a
 * process in it would (files written, chmod, chown, xattrs, deletions
 * that leave whiteouts, a directory made opaque, symbolic links, hard
 * links, device nodes, types changed) and a layer written by hand (xattr
 * whiteouts), compared with Root's; the listed changes, what they weigh,
 * check-offs and conflicts.  Linked with the objects of the diff's floor
 * and those below it (world/FLOORS).  Runs as root in a mount namespace
 * of its own. */
#include "../../world/diff.h"
#include "../../world/layers.h"
#include "../../world/redirect.h"
#include "scratch.h"

static const char *const root_files[] = {
	"etc/keep",	 "etc/mod",	  "etc/samesize",  "etc/chmod",
	"etc/chown",	 "etc/xattr",	  "etc/gone",	   "etc/type",
	"etc/conflict",	 "etc/victim",	  "etc/hl-target", "etc/rootonly",
	"dir-to-file/a", "dir-to-file/b", "opq/old1",	   "opq/old2",
	"deldir/x/y",
};

static void make_root(void)
{
	mk("root/etc");
	mk("root/dir-to-file");
	mk("root/opq");
	mk("root/deldir/x");
	mk("root/var/log");
	mk("root/run");
	for (size_t i = 0; i < sizeof(root_files) / sizeof(*root_files); i++) {
		char path[256];
		snprintf(path, sizeof(path), "root/%s", root_files[i]);
		put_file(path, "1234\n");
	}
	symlink("a", sp("root/etc/link"));
	symlink("c", sp("root/etc/relink"));
	symlink("d", sp("root/etc/keeplink"));
	mknod(sp("root/etc/dev"), S_IFCHR | 0600, makedev(1, 3));
	/* An old mtime, as a package's files have. */
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, sp("root/etc/samesize"), old, 0);
	utimensat(AT_FDCWD, sp("root/etc/relink"), old, AT_SYMLINK_NOFOLLOW);
	utimensat(AT_FDCWD, sp("root/etc/keeplink"), old, AT_SYMLINK_NOFOLLOW);
}

/* In world W's tree. */
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

/* What a process in W does. */
static void change_world(void)
{
	w_put("etc/mod", "changed\n");
	w_put("etc/samesize", "5678\n");
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, wp("etc/samesize"), old, 0);
	chmod(wp("etc/chmod"), 0600);
	chown(wp("etc/chown"), 1, 1);
	setxattr(wp("etc/xattr"), "user.test", "v", 1, 0);
	unlink(wp("etc/gone"));
	unlink(wp("etc/link"));
	symlink("b", wp("etc/link"));
	/* Made again with the same target, as dpkg does: now, and with the
	 * old time again. */
	unlink(wp("etc/relink"));
	symlink("c", wp("etc/relink"));
	unlink(wp("etc/keeplink"));
	symlink("d", wp("etc/keeplink"));
	utimensat(AT_FDCWD, wp("etc/keeplink"), old, AT_SYMLINK_NOFOLLOW);
	unlink(wp("etc/type"));
	mkdir(wp("etc/type"), 0755);
	w_put("etc/type/inner", "i\n");
	unlink(wp("etc/dev"));
	mknod(wp("etc/dev"), S_IFCHR | 0600, makedev(1, 5));
	unlink(wp("dir-to-file/a"));
	unlink(wp("dir-to-file/b"));
	rmdir(wp("dir-to-file"));
	w_put("dir-to-file", "now a file\n");
	unlink(wp("opq/old1"));
	unlink(wp("opq/old2"));
	rmdir(wp("opq"));
	mkdir(wp("opq"), 0755); /* overlayfs makes it opaque */
	w_put("opq/new", "n\n");
	unlink(wp("deldir/x/y"));
	rmdir(wp("deldir/x"));
	rmdir(wp("deldir"));
	mkdir(wp("new"), 0755);
	w_put("new/f", "twelve bytes");
	link(wp("new/f"), wp("new/f2"));
	/* Opaque, as overlayfs makes a new directory in a merged one. */
	set_xattr("state/worlds/W/upper/new", "trusted.overlay.opaque", "y");
	mkdir(wp("new/sub"), 0755);
	w_put("new/sub/g", "g\n");
	mkdir(wp("new/mnt"), 0755);
	w_put("new/mnt/hidden", "h\n");
	/* A whiteout written into the layer below the new (opaque) tree:
	 * overlayfs shows nothing there. */
	whiteout("state/worlds/W/upper/new/wo");
	link(wp("etc/hl-target"), wp("etc/hl-new"));
	w_put("var/log/wtmp", "login\n");
	w_put("run/pid", "1\n");
	w_put("etc/conflict", "world's\n");
	w_put("etc/victim", "world's\n");
}

static const struct world_change *find(const struct world_diff *d,
				       const char *path)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].path, path))
			return &d->v[i];
	return NULL;
}

/* Whether D lists PATH as KIND (and for 'M', exactly WHAT). */
static bool has(const struct world_diff *d, const char *path, char kind,
		unsigned what)
{
	const struct world_change *c = find(d, path);
	if (!c || c->kind != kind || (kind == 'M' && c->what != what)) {
		printf("# %s: %c %#x, not %c %#x\n", path, c ? c->kind : '-',
		       c ? c->what : 0, kind, what);
		return false;
	}
	return true;
}

static void show(const struct world_diff *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("# %c %s %#x %llu%s%s%s %s\n", d->v[i].kind,
		       d->v[i].path, d->v[i].what,
		       (unsigned long long)d->v[i].bytes,
		       d->v[i].excluded ? " excluded" : "",
		       d->v[i].conflict ? " conflict" : "",
		       d->v[i].checked_off ? " checked-off" : "",
		       d->v[i].note ? d->v[i].note : "");
}

static void test_world_against_root(void)
{
	struct world_meta m = {0};
	struct world_error err = {0};
	meta_load(&store, "W", &m, &err);
	struct world_diff d = {0};
	int r = diff_worlds(&store, &m, NULL, "W", WORLD_ROOT, &d, &err);
	ok(r == 0, "W is compared with Root (%s)", err.msg);
	show(&d);
	ok(d.other && !strcmp(d.other, WORLD_ROOT), "against Root");
	bool sorted = true;
	for (size_t i = 1; i < d.n; i++)
		sorted &= strcmp(d.v[i - 1].path, d.v[i].path) < 0;
	ok(sorted, "sorted by path, each path once");

	ok(has(&d, "/etc/mod", 'M',
	       WORLD_CHANGED_CONTENT | WORLD_CHANGED_TIMES),
	   "a file rewritten: content and times");
	ok(find(&d, "/etc/mod") && find(&d, "/etc/mod")->bytes == 8,
	   "weighing its new size");
	ok(has(&d, "/etc/samesize", 'M', WORLD_CHANGED_CONTENT),
	   "same size, same mtime, other bytes: content (the bytes are read)");
	ok(has(&d, "/etc/chmod", 'M', WORLD_CHANGED_MODE), "chmod: mode only");
	ok(has(&d, "/etc/chown", 'M', WORLD_CHANGED_OWNER),
	   "chown: owner only");
	ok(has(&d, "/etc/xattr", 'M', WORLD_CHANGED_XATTRS),
	   "an xattr set: xattrs only (overlayfs' own are not compared)");
	ok(has(&d, "/etc/gone", 'D', 0) && find(&d, "/etc/gone")->bytes == 5,
	   "a deleted file (a whiteout in the layer), weighing the old size");
	ok(has(&d, "/etc/link", 'M',
	       WORLD_CHANGED_TARGET | WORLD_CHANGED_TIMES),
	   "a symbolic link made again elsewhere: its target and times");
	ok(has(&d, "/etc/relink", 'M', WORLD_CHANGED_TIMES),
	   "a symbolic link made again with its target: its times");
	ok(!find(&d, "/etc/keeplink"),
	   "made again with its target and time: no change");
	ok(has(&d, "/etc/type", 'M', WORLD_CHANGED_TYPE) &&
		   has(&d, "/etc/type/inner", 'A', 0),
	   "a file that became a directory: its type, and what it holds");
	const struct world_change *dev = find(&d, "/etc/dev");
	ok(dev && dev->kind == 'M' && (dev->what & WORLD_CHANGED_DEVICE) &&
		   !(dev->what & WORLD_CHANGED_TYPE),
	   "a device node's numbers");
	ok(has(&d, "/dir-to-file", 'M', WORLD_CHANGED_TYPE) &&
		   has(&d, "/dir-to-file/a", 'D', 0) &&
		   has(&d, "/dir-to-file/b", 'D', 0),
	   "a directory replaced by a file: its type, and all below it "
	   "deleted, though no layer names them");
	ok(has(&d, "/opq/old1", 'D', 0) && has(&d, "/opq/old2", 'D', 0) &&
		   has(&d, "/opq/new", 'A', 0) && !find(&d, "/opq"),
	   "a directory made anew (opaque): what it hid is deleted, the "
	   "directory itself unchanged");
	ok(has(&d, "/deldir", 'D', 0) && has(&d, "/deldir/x", 'D', 0) &&
		   has(&d, "/deldir/x/y", 'D', 0),
	   "a deleted tree: every path of it");
	ok(has(&d, "/new", 'A', 0) && has(&d, "/new/f", 'A', 0) &&
		   has(&d, "/new/f2", 'A', 0) &&
		   find(&d, "/new/f")->bytes == 12 &&
		   find(&d, "/new")->bytes == 0,
	   "a new tree, both names of a hard link; a directory weighs 0");
	ok(has(&d, "/new/sub", 'A', 0) && has(&d, "/new/sub/g", 'A', 0) &&
		   has(&d, "/new/mnt/hidden", 'A', 0) && !find(&d, "/new/wo"),
	   "below a new (opaque) tree of W's own layer, each entry once, "
	   "a whiteout written there not");
	ok(has(&d, "/etc/hl-new", 'A', 0) && !find(&d, "/etc/hl-target"),
	   "a new hard link to Root's file: the new name only (the copy-up "
	   "it caused changes nothing)");
	ok(!find(&d, "/etc/keep") && !find(&d, "/etc/rootonly"),
	   "untouched files are not listed, nor what Root alone changed");
	const struct world_change *wtmp = find(&d, "/var/log/wtmp"),
				  *run = find(&d, "/run/pid"),
				  *mod = find(&d, "/etc/mod");
	ok(wtmp && wtmp->excluded && run && run->excluded && mod &&
		   !mod->excluded,
	   "login records and what lies in /run are excluded, the rest not");

	/* Conflicts: Root changed or deleted, after W was created, what W
	 * changed too. */
	const struct world_change *c = find(&d, "/etc/conflict"),
				  *v = find(&d, "/etc/victim");
	ok(c && c->kind == 'M' && c->conflict, "both changed it: a conflict");
	ok(v && v->kind == 'A' && v->conflict && v->note &&
		   strstr(v->note, "deleted there"),
	   "W changed what Root deleted since: a conflict, explained (%s)",
	   v && v->note ? v->note : "no note");
	size_t conflicts = 0;
	for (size_t i = 0; i < d.n; i++)
		conflicts += d.v[i].conflict;
	ok(conflicts == 2, "nothing else conflicts (%zu)", conflicts);

	/* Check-offs: a file, and a directory covering its tree. */
	ok(!find(&d, "/etc/chmod")->checked_off, "(nothing checked off yet)");
	diff_release(&d);
	put_file("state/worlds/W/check-off",
		 "/etc/chmod\n/new\n/etc/ty*\n/op*new\n");
	r = diff_worlds(&store, &m, NULL, "W", WORLD_ROOT, &d, &err);
	ok(r == 0 && find(&d, "/etc/chmod")->checked_off &&
		   find(&d, "/new")->checked_off &&
		   find(&d, "/new/f2")->checked_off &&
		   find(&d, "/etc/type/inner")->checked_off &&
		   !find(&d, "/etc/mod")->checked_off &&
		   !find(&d, "/opq/new")->checked_off &&
		   !find(&d, "/etc/gone")->checked_off,
	   "checked off: the paths, all below a directory, globs ('*' "
	   "within one directory)");
	diff_release(&d);
	unlinkat(store.worlds_fd, "W/check-off", 0);

	/* The other way round: what W added Root lacks, and so on. */
	struct world_diff back = {0};
	r = diff_worlds(&store, &m, NULL, "W", WORLD_ROOT, &d, &err);
	int r2 = diff_worlds(&store, NULL, &m, WORLD_ROOT, "W", &back, &err);
	bool mirror = r == 0 && r2 == 0 && d.n == back.n;
	if (!mirror) {
		printf("# %d %d %zu %zu: %s\n", r, r2, d.n, back.n, err.msg);
		show(&back);
	}
	for (size_t i = 0; mirror && i < d.n; i++) {
		const struct world_change *x = &d.v[i], *y = &back.v[i];
		char want = x->kind == 'A' ? 'D' : x->kind == 'D' ? 'A' : 'M';
		mirror = !strcmp(x->path, y->path) && y->kind == want &&
			 !y->conflict && !y->checked_off;
		if (!mirror)
			printf("# %s: %c, back %c\n", x->path, x->kind,
			       y->kind);
	}
	ok(mirror, "Root against W: the same paths, additions and deletions "
		   "swapped, no conflicts");
	ok(has(&back, "/deldir/x/y", 'A', 0) &&
		   has(&back, "/dir-to-file/b", 'A', 0),
	   "what Root holds below a directory W deleted or replaced: there "
	   "in Root, though no layer of Root's own names it");
	diff_release(&back);
	diff_release(&d);
	diff_release(&d); /* twice: harmless */
	meta_release(&m);
}

/* Whiteouts written as overlayfs' xattr whiteouts (an empty file marked
 * trusted.overlay.whiteout, in a directory marked opaque "x"), in a lower
 * layer of a world: the layer of its parent P. */
static void test_xattr_whiteouts(void)
{
	make_world("P", (const char *[]){"Root", NULL}, NULL);
	mk("state/worlds/P/upper/etc");
	mk("state/worlds/P/work");
	put_file("state/worlds/P/upper/etc/keep", "");
	set_xattr("state/worlds/P/upper/etc/keep", "trusted.overlay.whiteout",
		  "");
	set_xattr("state/worlds/P/upper/etc", "trusted.overlay.opaque", "x");
	put_file("state/worlds/P/upper/etc/p-file", "from P\n");
	whiteout("state/worlds/P/upper/etc/rootonly");
	mk("state/worlds/P/upper/opq");
	set_xattr("state/worlds/P/upper/opq", "trusted.overlay.opaque", "y");
	make_world("C", (const char *[]){"P", NULL}, NULL);
	struct world_meta m = {0}, mp = {0};
	struct world_error err = {0};
	meta_load(&store, "C", &m, &err);
	meta_load(&store, "P", &mp, &err);
	mk("state/worlds/C/merged");
	bool mounted = false;
	int r = layers_mount_world(&store, &m, true, &mounted, &err);
	ok(r == 0, "C, on P, is mounted (%s)", err.msg);
	if (access(sp("state/worlds/C/merged/etc/keep"), F_OK) == 0) {
		printf("ok %d # SKIP this kernel's overlayfs has no xattr "
		       "whiteouts\n",
		       ++tap_n);
	} else {
		struct world_diff d = {0};
		r = diff_worlds(&store, &m, NULL, "C", WORLD_ROOT, &d, &err);
		show(&d);
		ok(r == 0 && has(&d, "/etc/keep", 'D', 0),
		   "an xattr whiteout in a lower layer is a deletion");
		diff_release(&d);
	}
	struct world_diff d = {0};
	r = diff_worlds(&store, &m, NULL, "C", WORLD_ROOT, &d, &err);
	ok(r == 0 && has(&d, "/etc/p-file", 'A', 0) &&
		   has(&d, "/etc/rootonly", 'D', 0) &&
		   has(&d, "/opq/old1", 'D', 0) && has(&d, "/opq/old2", 'D', 0),
	   "against Root, C shows its parent's changes: a file, a whiteout, "
	   "what an opaque directory hides");
	diff_release(&d);
	mk("state/worlds/P/merged");
	r = layers_mount_world(&store, &mp, false, NULL, &err);
	ok(r == 0, "so is P (%s)", err.msg);
	r = diff_worlds(&store, &m, &mp, "C", "P", &d, &err);
	show(&d);
	ok(r == 0 && d.n == 0, "against its parent, C changed nothing");
	diff_release(&d);
	put_file("state/worlds/C/merged/etc/c-file", "c\n");
	r = diff_worlds(&store, &m, &mp, "C", "P", &d, &err);
	ok(r == 0 && d.n == 1 && has(&d, "/etc/c-file", 'A', 0),
	   "only C's own change, once it made one");
	diff_release(&d);
	meta_release(&m);
	meta_release(&mp);
}

/* A mount point below a new (opaque) tree of W's own layer, mounted on
 * in W's tree from outside: the new tree is read from the layer alone,
 * and yet what lies on or below the mount point is never merged. */
static void test_mount_in_new_tree(void)
{
	struct world_meta m = {0};
	struct world_error err = {0};
	struct world_diff d = {0};
	meta_load(&store, "W", &m, &err);
	if (mount("pwapt-unit", wp("new/mnt"), "tmpfs", 0, "size=4k") < 0)
		die("mount on new/mnt");
	int r = diff_worlds(&store, &m, NULL, "W", WORLD_ROOT, &d, &err);
	const struct world_change *mnt = find(&d, "/new/mnt"),
				  *hidden = find(&d, "/new/mnt/hidden");
	ok(r == 0 && mnt && mnt->excluded && hidden && hidden->excluded &&
		   has(&d, "/new/sub/g", 'A', 0) &&
		   !find(&d, "/new/sub/g")->excluded,
	   "a mount point in a new tree: it and what lies below it "
	   "excluded, the rest not");
	umount2(wp("new/mnt"), MNT_DETACH);
	diff_release(&d);
	meta_release(&m);
}

static bool valid(const char *v)
{
	return redirect_valid(v, strlen(v));
}

/* Redirects checked as overlayfs checks them, and followed through a
 * layer's directories to their origin. */
static void test_redirects(void)
{
	ok(valid("big") && valid("/srv/big") && valid("/") == false &&
		   valid("...") && valid(".hidden"),
	   "one name, or an absolute path of names, is a redirect");
	ok(!valid("") && !valid(".") && !valid("..") && !valid("a/b") &&
		   !valid("/srv//big") && !valid("/srv/../etc") &&
		   !valid("/srv/./big") && !valid("//") && !valid("/srv/"),
	   "empty, '.', '..' and empty names, a relative path: refused");
	ok(!redirect_valid("a\0b", 3), "a NUL inside: refused");
	mk("layer/srv/moved/sub2/plain/deep");
	mk("layer/srv/abs");
	setxattr(sp("layer/srv/moved"), "trusted.overlay.redirect", "big", 3, 0);
	setxattr(sp("layer/srv/moved/sub2"), "trusted.overlay.redirect", "sub",
		 3, 0);
	setxattr(sp("layer/srv/abs"), "trusted.overlay.redirect", "/etc/x", 6,
		 0);
	int fd = open(sp("layer"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *o = NULL;
	ok(redirect_origin(fd, "/srv/moved/sub2/plain/deep", &o) == 0 && o &&
		   !strcmp(o, "/srv/big/sub/plain/deep"),
	   "relative redirects replace their own name on the way: %s", o);
	free(o);
	o = NULL;
	ok(redirect_origin(fd, "/srv/abs", &o) == 0 && o &&
		   !strcmp(o, "/etc/x"),
	   "an absolute one is the path from the layers' root: %s", o);
	free(o);
	o = NULL;
	ok(redirect_origin(fd, "/srv", &o) == 0 && o && !strcmp(o, "/srv"),
	   "no redirect: the path itself");
	free(o);
	o = NULL;
	setxattr(sp("layer/srv/moved/sub2"), "trusted.overlay.redirect", "..",
		 2, 0);
	ok(redirect_origin(fd, "/srv/moved/sub2/plain", &o) == -EINVAL && !o,
	   "an invalid redirect on the way: -EINVAL, nothing out");
	close(fd);
}

int main(void)
{
	if (scratch_init())
		return 0;
	store_init("root", "state");
	test_redirects();
	make_root();
	make_world("W", (const char *[]){"Root", NULL}, NULL);
	struct world_meta m = {0};
	struct world_error err = {0};
	meta_load(&store, "W", &m, &err);
	mk("state/worlds/W/merged");
	bool mounted = false;
	if (layers_mount_world(&store, &m, true, &mounted, &err) < 0) {
		printf("# %s\n", err.msg);
		return 1;
	}
	/* Root changes after W was created, past the clock's tick. */
	usleep(50000);
	change_world();
	put_file("root/etc/conflict", "Root's\n");
	put_file("root/etc/rootonly", "Root's\n");
	unlink(sp("root/etc/victim"));
	if (layers_refresh_world(&store, &m, &err) < 0) {
		printf("# %s\n", err.msg);
		return 1;
	}
	meta_release(&m);
	test_world_against_root();
	test_mount_in_new_tree();
	test_xattr_whiteouts();
	return tap_done();
}
