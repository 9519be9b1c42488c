/* Unit tests of layers and overlay mounts (world/layers.c,
 * world/layers-overlaps.c): where a world's layers lie, the lower stack of
 * a world with several parents, Root's separate file systems, the overlay
 * mounts of a world's tree and of a root view, opaque directories and
 * whiteouts met in a walk, disk usage, and the overlaps between parents.
 * Linked with the objects of the layers' floor and those below it
 * (world/FLOORS).  Runs as root in a mount namespace of its own. */
#include "../../world/layers.h"
#include "scratch.h"

/* Whether V holds exactly the strings that follow (NULL-terminated). */
static bool strv_is(char *const *v, ...)
{
	va_list ap;
	va_start(ap, v);
	bool same = v != NULL;
	size_t i = 0;
	for (const char *want; same && (want = va_arg(ap, const char *)); i++) {
		same = v[i] && !strcmp(v[i], want);
		if (!same)
			printf("# [%zu] is %s, not %s\n", i,
			       v[i] ? v[i] : "(end)", want);
	}
	va_end(ap);
	if (same && v[i]) {
		printf("# [%zu] is %s, not the end\n", i, v[i]);
		same = false;
	}
	return same;
}

static void test_dirs(void)
{
	char *p = layers_dir(&store, "W", "", "upper");
	ok(p && !strcmp(p, sp("state/worlds/W/upper")),
	   "Root's own file system: worlds/W/upper");
	free(p);
	p = layers_dir(&store, "W", "var", "work");
	ok(p && !strcmp(p, sp("state/worlds/W/fs/var/work")),
	   "a separate /var: worlds/W/fs/var/work");
	free(p);
	p = layers_dir(&store, "W", "boot/efi", "upper");
	ok(p && !strcmp(p, sp("state/worlds/W/fs/boot%%2Fefi/upper")),
	   "/boot/efi: one directory, '/' escaped");
	free(p);
	p = layers_dir(&store, "W", "a%2Fb", "upper");
	ok(p && !strcmp(p, sp("state/worlds/W/fs/a%%252Fb/upper")),
	   "'%%' escaped too: no two file systems share a layer");
	free(p);
}

/* Root's separate file systems: bind mounts of the scratch directory's
 * own file system (a disk file system), and what must not count. */
static void test_root_mounts(void)
{
	static const char *const dirs[] = {
		"var",	 "boot", "boot/efi", "my data",	   "proc",
		"tmp/x", "srv",	 "run/y",    "state-in/s", "var/empty",
	};
	mk("src");
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		mk("root/%s", dirs[i]); /* after the mount of its parent */
		if (!strcmp(dirs[i], "srv") || !strcmp(dirs[i], "var/empty"))
			continue;
		if (!strcmp(dirs[i], "var")) {
			mk("var-fs/empty");
			put_file("var-fs/in-var", "var\n");
			if (mount(sp("var-fs"), sp("root/var"), NULL, MS_BIND,
				  NULL) < 0)
				die("bind var");
			continue;
		}
		if (mount(sp("src"), sp("root/%s", dirs[i]), NULL, MS_BIND,
			  NULL) < 0)
			die(dirs[i]);
	}
	/* tmpfs is no system's file system; a world gets it fresh. */
	if (mount("t", sp("root/srv"), "tmpfs", 0, "size=64k") < 0 ||
	    mount("t", sp("root/var/empty"), "tmpfs", 0, "size=64k") < 0)
		die("tmpfs");
	char *saved_state = store.state;
	store.state = strdup(sp("root/state-in"));
	char **v = NULL;
	struct world_error err = {0};
	int r = layers_root_mounts(&store, &v, &err);
	ok(r == 0, "Root's file systems are read (%s)", err.msg);
	ok(r == 0 && strv_is(v, "boot", "boot/efi", "my data", "var", NULL),
	   "sorted, parents first, a space unescaped; not below /proc, "
	   "/tmp, /run, nor the state directory, nor tmpfs");
	strvfreep(&v);
	free(store.state);
	store.state = saved_state;
	/* Only what remains for the tests below: a separate /var. */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (strcmp(dirs[i], "var") && strcmp(dirs[i], "var/empty"))
			umount2(sp("root/%s", dirs[i]), MNT_DETACH);
	umount2(sp("root/var/empty"), MNT_DETACH);
	ok(!mounted_at("root/boot") && mounted_at("root/var"),
	   "(only /var stays a separate file system)");
}

static void test_stack(void)
{
	make_world("A", (const char *[]){"Root", NULL},
		   (const char *[]){"var", NULL});
	make_world("B", (const char *[]){"A", NULL}, NULL); /* before /var */
	make_world("C", (const char *[]){"Root", NULL},
		   (const char *[]){"var", NULL});
	struct world_error err = {0};
	char **v = NULL;
	int r = layers_stack(&store, NULL, 0, "", &v, &err);
	ok(r == 0 && strv_is(v, sp("root"), NULL), "Root alone: Root's tree");
	strvfreep(&v);

	r = layers_stack(&store, (char *[]){"B", "C"}, 2, "", &v, &err);
	ok(r == 0 && strv_is(v, sp("state/worlds/B/upper"),
			     sp("state/worlds/A/upper"),
			     sp("state/worlds/C/upper"), sp("root"), NULL),
	   "parents B (on A) and C: B, A, C, Root; each parent's stack "
	   "depth first, in the order given");
	strvfreep(&v);

	r = layers_stack(&store, (char *[]){"C", "B"}, 2, "", &v, &err);
	ok(r == 0 && strv_is(v, sp("state/worlds/C/upper"),
			     sp("state/worlds/B/upper"),
			     sp("state/worlds/A/upper"), sp("root"), NULL),
	   "the order of the parents is the order of the stack");
	strvfreep(&v);

	r = layers_stack(&store, (char *[]){"B", "A"}, 2, "", &v, &err);
	ok(r == 0 && strv_is(v, sp("state/worlds/B/upper"),
			     sp("state/worlds/A/upper"), sp("root"), NULL),
	   "a layer met twice (A below B, and A) is stacked once");
	strvfreep(&v);

	r = layers_stack(&store, (char *[]){"B", "C"}, 2, "var", &v, &err);
	ok(r == 0 && strv_is(v, sp("state/worlds/A/fs/var/upper"),
			     sp("state/worlds/C/fs/var/upper"), sp("root/var"),
			     NULL),
	   "/var: B, made before Root had /var, has no layer there; "
	   "its parent's and C's do, then Root's /var");
	strvfreep(&v);

	char *untouched[] = {NULL};
	v = untouched;
	r = layers_stack(&store, (char *[]){"A", "Nope"}, 2, "", &v, &err);
	ok(r < 0 && err.msg[0], "a missing parent fails: %s", err.msg);
	ok(v == untouched, "and leaves the output untouched");

	/* Metadata a crash or a hand left pointing in a circle. */
	make_world("Loop1", (const char *[]){"Loop2", NULL}, NULL);
	make_world("Loop2", (const char *[]){"Loop1", NULL}, NULL);
	err = (struct world_error){0};
	r = layers_stack(&store, (char *[]){"Loop1"}, 1, "", &v, &err);
	ok(r == -ELOOP && strstr(err.msg, "nests too deep"),
	   "parents in a circle: -ELOOP, not a stack overflow (%s)", err.msg);
}

/* The state directory inside Root's own file system (a host's
 * /var/lib/pwapt in "/"): Root enters the stack through a read-only
 * overlay of its own, which layers_unmount_root_view() unmounts. */
static void test_root_view(void)
{
	struct world_store saved = store;
	store = (struct world_store){
		.state_fd = -1, .worlds_fd = -1, .lock_fd = -1};
	mk("host/etc");
	put_file("host/etc/hostname", "host\n");
	store_init("host", "host/var/lib/pwapt");
	char **v = NULL;
	struct world_error err = {0};
	int r = layers_stack(&store, NULL, 0, "", &v, &err);
	const char *view = sp("host/var/lib/pwapt/root-view/%%");
	ok(r == 0 && strv_is(v, view, NULL),
	   "Root's layer is its root view (%s)", err.msg);
	strvfreep(&v);
	ok(is_mount_point(view) > 0, "a mount of its own");
	char text[16] = "";
	int fd = open(sp("host/var/lib/pwapt/root-view/%%/etc/hostname"),
		      O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, text, sizeof(text)) == 5 &&
		   !strncmp(text, "host\n", 5),
	   "that shows Root's files");
	if (fd >= 0)
		close(fd);
	ok(mkdir(sp("host/var/lib/pwapt/root-view/%%/new"), 0755) < 0 &&
		   errno == EROFS,
	   "read-only");
	r = layers_stack(&store, NULL, 0, "", &v, &err);
	ok(r == 0 && strv_is(v, view, NULL), "a second stack reuses it");
	strvfreep(&v);
	ok(layers_unmount_root_view(&store) == 0 && is_mount_point(view) == 0 &&
		   !mounted_at("host/var/lib/pwapt/root-view.empty"),
	   "layers_unmount_root_view unmounts the view and its empty layer");
	ok(layers_unmount_root_view(&store) == 0, "twice: no error");
	store_release();
	store = saved;
}

static void test_mount(void)
{
	mk("m/l1/d");
	mk("m/l2/d");
	mk("m/upper");
	mk("m/work");
	mk("m/merged");
	put_file("m/l1/f", "l1\n");
	put_file("m/l2/f", "l2\n");
	put_file("m/l2/only2", "2\n");
	put_file("m/l2/d/below", "b\n");
	char *lowers[] = {(char *)sp("m/l1"), (char *)sp("m/l2"), NULL};
	struct world_error err = {0};
	int r = layers_mount(lowers, sp("m/upper"), sp("m/work"),
			     sp("m/merged"), false, &err);
	ok(r == 0, "an overlay of two lower layers is mounted (%s)", err.msg);
	char buf[8] = "";
	int fd = open(sp("m/merged/f"), O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, buf, sizeof(buf)) == 3 && !strncmp(buf, "l1", 2),
	   "the first lower layer is the higher one");
	if (fd >= 0)
		close(fd);
	ok(access(sp("m/merged/only2"), F_OK) == 0 &&
		   access(sp("m/merged/d/below"), F_OK) == 0,
	   "what only the lower one has shows, directories merged");
	put_file("m/merged/new", "n\n");
	ok(access(sp("m/upper/new"), F_OK) == 0,
	   "writes go to the upper layer");
	struct stat st;
	ok(unlink(sp("m/merged/only2")) == 0 &&
		   lstat(sp("m/upper/only2"), &st) == 0 &&
		   (S_ISCHR(st.st_mode) || S_ISREG(st.st_mode)) &&
		   access(sp("m/l2/only2"), F_OK) == 0,
	   "a deletion leaves a whiteout in the upper layer, the lower "
	   "layer untouched");
	ok(layers_unmount(sp("m/merged")) == 1, "unmounted: one mount");
	ok(layers_unmount(sp("m/merged")) == 0, "again: none, no error");
	ok(layers_unmount(sp("m/nowhere")) == 0, "a missing path: none");

	/* Refusals carry the kernel's reason and the layer. */
	char *bad[] = {(char *)sp("m/l1"), (char *)sp("m/missing"), NULL};
	err = (struct world_error){0};
	r = layers_mount(bad, sp("m/upper"), sp("m/work"), sp("m/merged"),
			 false, &err);
	ok(r < 0 && err.code && strstr(err.msg, "m/missing"),
	   "a missing layer is refused, naming it: %s", err.msg);
	ok(!mounted_at("m/merged"), "and nothing is mounted");
}

static void test_escape(void)
{
	char *e = layers_escape("/a b,c:d\\e", ":,\\");
	ok(e && !strcmp(e, "/a b\\,c\\:d\\\\e"),
	   "mount(2)'s option string: ',' ':' '\\' escaped, a blank not: %s",
	   e);
	free(e);
	e = layers_escape("/a,b:c\\d", "\\");
	ok(e && !strcmp(e, "/a,b:c\\\\d"),
	   "fsconfig's upperdir: the backslash alone: %s", e);
	free(e);
	e = layers_escape("", ":,\\");
	ok(e && !*e, "an empty path stays empty");
	free(e);
}

/* Layers whose paths hold every character the option string takes for a
 * separator or an escape, through fsconfig and through mount(2). */
static void test_mount_odd(void)
{
	static const char *const how[] = {"fsconfig", "mount(2)"};
	for (int k = 0; k < 2; k++) {
		if (k)
			setenv("PWAPT_FAIL_AT", "mount-new-api", 1);
		mk("o,d:d\\ l/l1");
		mk("o,d:d\\ l/l,2");
		mk("o,d:d\\ l/up:per");
		mk("o,d:d\\ l/wo\\rk");
		mk("o,d:d\\ l/merged");
		put_file("o,d:d\\ l/l,2/f", "l2\n");
		char *lowers[] = {(char *)sp("o,d:d\\ l/l1"),
				  (char *)sp("o,d:d\\ l/l,2"), NULL};
		struct world_error err = {0};
		int r = layers_mount(lowers, sp("o,d:d\\ l/up:per"),
				     sp("o,d:d\\ l/wo\\rk"),
				     sp("o,d:d\\ l/merged"), 0, &err);
		ok(r == 0 && access(sp("o,d:d\\ l/merged/f"), F_OK) == 0,
		   "%s: layers with ',' ':' '\\' and a blank in their paths "
		   "(%s)",
		   how[k], err.msg);
		put_file("o,d:d\\ l/merged/new", "n\n");
		ok(access(sp("o,d:d\\ l/up:per/new"), F_OK) == 0,
		   "%s: writes go to that upper layer", how[k]);
		ok(layers_unmount(sp("o,d:d\\ l/merged")) == 1, "%s: unmounted",
		   how[k]);
		unsetenv("PWAPT_FAIL_AT");
		rm_rf_at(AT_FDCWD, sp("o,d:d\\ l"));
	}
}

static void test_mount_world(void)
{
	/* Root: a directory of its own mode and owner, and /var apart. */
	put_file("root/motd", "root\n");
	chmod(sp("root"), 0751);
	chown(sp("root"), 1234, 5678);
	make_world("W", (const char *[]){"Root", NULL},
		   (const char *[]){"var", NULL});
	struct world_meta m = {0};
	struct world_error err = {0};
	meta_load(&store, "W", &m, &err);
	mk("state/worlds/W/merged");
	bool mounted = false;
	int r = layers_mount_world(&store, &m, LAYERS_CREATE, &mounted, &err);
	ok(r == 0 && mounted, "a new world's tree is mounted (%s)", err.msg);
	struct stat st;
	ok(stat(sp("state/worlds/W/upper"), &st) == 0 &&
		   (st.st_mode & 07777) == 0751 && st.st_uid == 1234 &&
		   st.st_gid == 5678,
	   "its upper layer has the mode and owner of Root's directory");
	ok(access(sp("state/worlds/W/merged/motd"), F_OK) == 0 &&
		   access(sp("state/worlds/W/merged/var/in-var"), F_OK) == 0,
	   "it shows Root's files, and those of Root's separate /var");
	ok(mounted_at("state/worlds/W/merged/var") &&
		   access(sp("state/worlds/W/fs/var/upper"), F_OK) == 0,
	   "/var is an overlay of its own, with its own layer");
	put_file("state/worlds/W/merged/var/log", "x\n");
	ok(access(sp("state/worlds/W/fs/var/upper/log"), F_OK) == 0 &&
		   access(sp("var-fs/log"), F_OK) < 0,
	   "a write below /var lands in the world's /var layer, not Root's");

	mounted = false;
	r = layers_mount_world(&store, &m, 0, &mounted, &err);
	ok(r == 0 && !mounted, "mounted again: nothing to do");
	umount2(sp("state/worlds/W/merged/var"), MNT_DETACH);
	r = layers_mount_world(&store, &m, 0, &mounted, &err);
	ok(r == 0 && mounted && mounted_at("state/worlds/W/merged/var"),
	   "what is missing is mounted again");

	/* overlayfs caches a lookup that found nothing. */
	ok(access(sp("state/worlds/W/merged/late"), F_OK) < 0,
	   "(a file Root does not have yet)");
	put_file("root/late", "late\n");
	r = layers_refresh_world(&store, &m, &err);
	ok(r == 0 && access(sp("state/worlds/W/merged/late"), F_OK) == 0,
	   "after layers_refresh_world the world sees what Root made since");

	uint64_t before = 0, after = 0;
	ok(layers_usage(&store, &m, &before) == 0, "usage is read");
	int fd = open(sp("state/worlds/W/merged/big"),
		      O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	static char block[1 << 20];
	memset(block, 'x', sizeof(block));
	ok(fd >= 0 && write(fd, block, sizeof(block)) == sizeof(block) &&
		   fsync(fd) == 0,
	   "(1 MiB written in the world)");
	close(fd);
	fd = open(sp("state/worlds/W/merged/var/big"),
		  O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	write(fd, block, sizeof(block));
	fsync(fd);
	close(fd);
	ok(layers_usage(&store, &m, &after) == 0 &&
		   after >= before + (2u << 20) && after < before + (3u << 20),
	   "usage counts both layers' new MiB (%llu -> %llu)",
	   (unsigned long long)before, (unsigned long long)after);
	/* After a merge into Root: every mounted world sees it. */
	ok(access(sp("state/worlds/W/merged/merged-in"), F_OK) < 0,
	   "(not in Root yet)");
	put_file("root/merged-in", "m\n");
	ok(layers_refresh_all(&store, &err) == 0 &&
		   access(sp("state/worlds/W/merged/merged-in"), F_OK) == 0,
	   "layers_refresh_all: every mounted world sees Root as it is");
	unmount_below(sp("state/worlds/W/merged"));
	meta_release(&m);

	/* A world of two parents: the first one's files over the second's,
	 * each parent's over Root's. */
	mk("state/worlds/A/upper/etc");
	mk("state/worlds/C/upper/etc");
	put_file("state/worlds/A/upper/motd", "A\n");
	put_file("state/worlds/C/upper/motd", "C\n");
	put_file("state/worlds/C/upper/etc/c-only", "C\n");
	make_world("AC", (const char *[]){"A", "C", NULL}, NULL);
	meta_load(&store, "AC", &m, &err);
	mk("state/worlds/AC/merged");
	r = layers_mount_world(&store, &m, true, NULL, &err);
	char text[8] = "";
	fd = open(sp("state/worlds/AC/merged/motd"), O_RDONLY | O_CLOEXEC);
	ok(r == 0 && fd >= 0 && read(fd, text, sizeof(text)) == 2 &&
		   !strncmp(text, "A\n", 2) &&
		   access(sp("state/worlds/AC/merged/etc/c-only"), F_OK) == 0 &&
		   access(sp("state/worlds/AC/merged/late"), F_OK) == 0,
	   "two parents: the first's file over the second's and Root's, "
	   "the second's over Root's (%s)",
	   err.msg);
	if (fd >= 0)
		close(fd);
	unmount_below(sp("state/worlds/AC/merged"));
	meta_release(&m);
}

/* A volatile world: recorded before it is mounted so; once its tree is
 * gone without being made durable (a crash, a reboot), refused with the
 * way out; synced, unmounted and unrecorded, mounted again plain. */
static void test_volatile(void)
{
	make_world("V", (const char *[]){"Root", NULL}, NULL);
	struct world_meta m = {0};
	struct world_error err = {0};
	meta_load(&store, "V", &m, &err);
	mk("state/worlds/V/merged");
	bool mounted = false;
	int r = layers_mount_world(&store, &m, LAYERS_CREATE | LAYERS_VOLATILE,
				   &mounted, &err);
	ok(r == 0 && mounted, "a volatile world is mounted (%s)", err.msg);
	bool v = layers_volatile(&store, "V");
	if (!v) {
		ok(access(sp("state/worlds/V/work/work/incompat"), F_OK) < 0,
		   "# SKIP this kernel has no volatile overlays: mounted plain");
		unmount_below(sp("state/worlds/V/merged"));
		meta_release(&m);
		return;
	}
	ok(access(sp("state/worlds/V/work/work/incompat/volatile"), F_OK) == 0,
	   "it is recorded volatile, and overlayfs mounted it so");
	put_file("state/worlds/V/merged/data", "d\n");
	ok(layers_sync_world(&store, &m, &err) == 0,
	   "its layer is synced, no writeback error since the mount (%s)",
	   err.msg);
	ok(layers_mount_world(&store, &m, 0, &mounted, &err) == 0,
	   "mounted and volatile: usable");
	unmount_below(sp("state/worlds/V/merged"));
	err = (struct world_error){0};
	r = layers_mount_world(&store, &m, 0, &mounted, &err);
	ok(r == -EUCLEAN && strstr(err.msg, "wdelete V") &&
		   !mounted_at("state/worlds/V/merged"),
	   "its tree gone while volatile: refused, naming wdelete: %s",
	   err.msg);
	ok(layers_clear_incompat(&store, "V", sp("state/worlds/V/work"), &err) == -EUCLEAN,
	   "and its work directory is not cleared");
	err = (struct world_error){0};
	ok(layers_mark_volatile(&store, "V", false, &err) == 0 &&
		   layers_mount_world(&store, &m, 0, &mounted, &err) == 0 &&
		   mounted_at("state/worlds/V/merged") &&
		   access(sp("state/worlds/V/merged/data"), F_OK) == 0 &&
		   access(sp("state/worlds/V/work/work/incompat"), F_OK) < 0,
	   "made durable: mounted again, plain, what the kernel left cleared "
	   "(%s)",
	   err.msg);
	unmount_below(sp("state/worlds/V/merged"));
	meta_release(&m);
}

static void test_opaque(void)
{
	mk("o/yes");
	mk("o/x");
	mk("o/no");
	mk("o/user");
	set_xattr("o/yes", "trusted.overlay.opaque", "y");
	/* "x": the directory holds xattr whiteouts; not opaque. */
	set_xattr("o/x", "trusted.overlay.opaque", "x");
	set_xattr("o/user", "user.overlay.opaque", "y");
	static const struct {
		const char *dir;
		bool opaque;
	} cases[] = {{"o/yes", true},
		     {"o/x", false},
		     {"o/no", false},
		     {"o/user", false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int fd = open(sp("%s", cases[i].dir),
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ok(layers_dir_opaque(fd) == cases[i].opaque, "%s is %sopaque",
		   cases[i].dir, cases[i].opaque ? "" : "not ");
		close(fd);
	}
}

struct seen {
	char text[4096];
	const char *skip, *stop;
};

static int note(const struct fs_entry *e, bool opaque, void *data)
{
	struct seen *s = data;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof(s->text) - n, "%s%s%s%s ", e->path,
		 opaque ? "(opaque)" : "", e->mount_point ? "(mount)" : "",
		 S_ISCHR(e->st.st_mode) ? "(chr)" : "");
	if (s->stop && !strcmp(e->path, s->stop))
		return -42;
	return s->skip && !strcmp(e->path, s->skip) ? 1 : 0;
}

static void test_walk(void)
{
	mk("w/etc");
	mk("w/opq/sub");
	mk("w/plain");
	mk("w/mnt");
	mk("w/elsewhere");
	put_file("w/etc/new", "");
	whiteout("w/etc/gone");
	put_file("w/etc/xgone", "");
	set_xattr("w/etc/xgone", "trusted.overlay.whiteout", "");
	set_xattr("w/etc", "trusted.overlay.opaque", "x");
	set_xattr("w/opq", "trusted.overlay.opaque", "y");
	put_file("w/opq/sub/f", "");
	put_file("w/plain/f", "");
	put_file("w/elsewhere/hidden", "");
	symlink("/etc", sp("w/link"));
	if (mount(sp("w/elsewhere"), sp("w/mnt"), NULL, MS_BIND, NULL) < 0)
		die("bind");
	int fd = open(sp("w"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct seen s = {.text = ""};
	int r = layers_walk(fd, "/pre", true, note, &s);
	printf("# %s\n", s.text);
	ok(r == 0, "a layer is walked");
	ok(strstr(s.text, "/pre/opq(opaque) ") &&
		   strstr(s.text, "/pre/opq/sub ") &&
		   !strstr(s.text, "/pre/etc(opaque)") &&
		   !strstr(s.text, "/pre/plain(opaque)"),
	   "opaque: the directory marked 'y', not 'x', not a plain one");
	ok(strstr(s.text, "/pre/etc/gone(chr) ") &&
		   strstr(s.text, "/pre/etc/xgone ") &&
		   strstr(s.text, "/pre/link "),
	   "whiteouts of both kinds and symbolic links are entries");
	ok(strstr(s.text, "/pre/mnt(mount) ") &&
		   !strstr(s.text, "/pre/mnt/hidden"),
	   "a mount point is reported, never entered");
	const char *opq = strstr(s.text, "/pre/opq(opaque)"),
		   *sub = strstr(s.text, "/pre/opq/sub "),
		   *f = strstr(s.text, "/pre/opq/sub/f ");
	ok(opq && sub && f && opq < sub && sub < f, "parents before children");

	s = (struct seen){.text = ""};
	r = layers_walk(fd, "", false, note, &s);
	ok(r == 0 && !strstr(s.text, "(opaque)") && strstr(s.text, "/opq "),
	   "without OPAQUE nothing is marked, paths from \"\" start with /");

	s = (struct seen){.text = "", .skip = "/opq"};
	r = layers_walk(fd, "", true, note, &s);
	ok(r == 0 && strstr(s.text, "/opq(opaque) ") &&
		   !strstr(s.text, "/opq/sub") && strstr(s.text, "/plain/f "),
	   "a return > 0 skips what lies below the entry, only that");

	s = (struct seen){.text = "", .stop = "/opq"};
	r = layers_walk(fd, "", true, note, &s);
	ok(r == -42 && !strstr(s.text, "/opq/sub"),
	   "a return < 0 ends the walk with it");
	close(fd);
	umount2(sp("w/mnt"), MNT_DETACH);
}

/* The paths that two or more parents changed, and which wins. */
static void test_overlaps(void)
{
	make_world("P", (const char *[]){"Root", NULL}, NULL);
	make_world("Q", (const char *[]){"Root", NULL}, NULL);
	make_world("PP", (const char *[]){"P", NULL}, NULL);
	mk("state/worlds/P/upper/etc");
	mk("state/worlds/Q/upper/etc");
	mk("state/worlds/PP/upper");
	put_file("state/worlds/P/upper/etc/both", "p\n");
	put_file("state/worlds/Q/upper/etc/both", "q\n");
	put_file("state/worlds/P/upper/etc/only-p", "p\n");
	put_file("state/worlds/Q/upper/etc/only-q", "q\n");
	put_file("state/worlds/P/upper/gone", "p\n");
	whiteout("state/worlds/Q/upper/gone"); /* Q deleted what P wrote */
	mk("state/worlds/P/upper/srv");
	mk("state/worlds/Q/upper/srv");
	put_file("state/worlds/Q/upper/srv/q", "q\n"); /* plain dirs merge */
	struct world_overlaps o = {0};
	struct world_error err = {0};
	int r = layers_overlaps(&store, (char *[]){"P", "Q"}, 2, &o, &err);
	ok(r == 0, "overlaps of P and Q (%s)", err.msg);
	for (size_t i = 0; i < o.n; i++)
		printf("# %s: %s over %s\n", o.v[i].path, o.v[i].winner,
		       o.v[i].losers[0] ? o.v[i].losers[0] : "-");
	ok(r == 0 && o.n == 2 && !strcmp(o.v[0].path, "/etc/both") &&
		   !strcmp(o.v[1].path, "/gone"),
	   "a file both wrote, and a file one wrote and the other deleted; "
	   "not what one alone changed, not directories both have");
	ok(o.n == 2 && !strcmp(o.v[0].winner, "P") &&
		   strv_is(o.v[0].losers, "Q", NULL),
	   "the first parent wins");
	layers_overlaps_release(&o);
	r = layers_overlaps(&store, (char *[]){"Q", "P"}, 2, &o, &err);
	ok(r == 0 && o.n == 2 && !strcmp(o.v[0].winner, "Q") &&
		   strv_is(o.v[0].losers, "P", NULL),
	   "in the other order the other one");
	layers_overlaps_release(&o);
	r = layers_overlaps(&store, (char *[]){"PP", "P"}, 2, &o, &err);
	ok(r == 0 && o.n == 0,
	   "a world and its own parent share P's layer: no overlap");
	layers_overlaps_release(&o);
	put_file("state/worlds/PP/upper/gone", "pp\n");
	r = layers_overlaps(&store, (char *[]){"PP", "Q"}, 2, &o, &err);
	ok(r == 0 && o.n == 2 && !strcmp(o.v[1].path, "/gone") &&
		   !strcmp(o.v[1].winner, "PP") &&
		   strv_is(o.v[1].losers, "Q", NULL),
	   "PP's own version over P's, against Q's: still an overlap");
	layers_overlaps_release(&o);
	r = layers_overlaps(&store, (char *[]){"PP", "P"}, 2, &o, &err);
	ok(r == 0 && o.n == 1 && !strcmp(o.v[0].path, "/gone") &&
		   !strcmp(o.v[0].winner, "PP") &&
		   strv_is(o.v[0].losers, "P", NULL),
	   "a world that changed again what its parent changed hides the "
	   "parent's version: the highest layer of each stack counts");
	layers_overlaps_release(&o);
	ok(layers_overlaps(&store, (char *[]){"P", "Q"}, 2, NULL, &err) == 0,
	   "the overlaps may be dropped (NULL)");

	/* What one parent deleted or replaced whole, a directory, hides
	 * what the other changed below it. */
	whiteout("state/worlds/P/upper/deleted");
	mk("state/worlds/Q/upper/deleted/sub");
	put_file("state/worlds/Q/upper/deleted/sub/q", "q\n");
	mk("state/worlds/P/upper/anew");
	set_xattr("state/worlds/P/upper/anew", "trusted.overlay.opaque", "y");
	mk("state/worlds/Q/upper/anew");
	put_file("state/worlds/Q/upper/anew/q", "q\n");
	put_file("state/worlds/P/upper/replaced", "now a file\n");
	mk("state/worlds/Q/upper/replaced");
	put_file("state/worlds/Q/upper/replaced/q", "q\n");
	r = layers_overlaps(&store, (char *[]){"P", "Q"}, 2, &o, &err);
	bool found[3] = {false, false, false};
	static const char *const hidden[] = {"/anew/q", "/deleted/sub/q",
					     "/replaced/q"};
	for (size_t i = 0; r == 0 && i < o.n; i++)
		for (size_t k = 0; k < 3; k++)
			found[k] |= !strcmp(o.v[i].path, hidden[k]) &&
				    !strcmp(o.v[i].winner, "P") &&
				    strv_is(o.v[i].losers, "Q", NULL);
	ok(found[1], "Q's file below a directory P deleted: P over Q");
	ok(found[0], "below a directory P made anew (opaque): P over Q");
	ok(found[2], "below a directory P replaced by a file: P over Q");
	ok(o.n == 5, "and no more (%zu)", o.n);
	layers_overlaps_release(&o);
	r = layers_overlaps(&store, (char *[]){"Q", "P"}, 2, &o, &err);
	ok(r == 0 && o.n == 2,
	   "Q first: its files show, nothing more is lost (%zu)", o.n);
	layers_overlaps_release(&o);

	/* A world on P that adds a file where P made a directory anew
	 * builds on P's change: no overlap unless P's hides it. */
	mk("state/worlds/PP/upper/anew");
	put_file("state/worlds/PP/upper/anew/pp", "pp\n");
	r = layers_overlaps(&store, (char *[]){"PP", "P"}, 2, &o, &err);
	bool pp = false;
	for (size_t i = 0; r == 0 && i < o.n; i++)
		pp |= !strcmp(o.v[i].path, "/anew/pp");
	ok(r == 0 && !pp, "PP first: PP's file in P's new directory shows");
	layers_overlaps_release(&o);
	r = layers_overlaps(&store, (char *[]){"P", "PP"}, 2, &o, &err);
	pp = false;
	for (size_t i = 0; r == 0 && i < o.n; i++)
		pp |= !strcmp(o.v[i].path, "/anew/pp") &&
		      !strcmp(o.v[i].winner, "P") &&
		      strv_is(o.v[i].losers, "PP", NULL);
	ok(pp, "P first: P's directory hides it, P over PP");
	layers_overlaps_release(&o);
}

int main(void)
{
	if (scratch_init())
		return 0;
	store_init("root", "state");
	test_dirs();
	test_root_mounts();
	test_stack();
	test_root_view();
	test_mount();
	test_escape();
	test_mount_odd();
	test_mount_world();
	test_volatile();
	test_opaque();
	test_walk();
	test_overlaps();
	return tap_done();
}
