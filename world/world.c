/* The operations of world.h: each one is a short sequence of steps of the
 * store, the layers and the containers, ordered so that an interruption at
 * any point leaves either nothing or something the next command repairs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "dbmerge.h"
#include "diff.h"
#include "discard.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "lifecycle.h"
#include "lowerhad.h"
#include "merge.h"
#include "net.h"
#include "store.h"
#include "trace-flush.h"
#include "trace-held.h"
#include "trace-table.h"
#include "trace-writer.h"

/* stop-all (a shutdown) gives services this long to exit on SIGTERM;
 * wdelete throws a world away and kills at once. */
#define STOP_GRACE 10

const char *world_store_root(const struct world_store *s)
{
	return s->root;
}

const char *world_store_state(const struct world_store *s)
{
	return s->state;
}

bool world_store_recovered(const struct world_store *s)
{
	return s->recovered;
}

bool world_name_valid(const char *name)
{
	return store_name_valid(name);
}

void world_overlaps_release(struct world_overlaps *o)
{
	layers_overlaps_release(o);
}

/* Tears world NAME down at once (its container waited for), without
 * checks: a failed create, recovery's unfinished worlds, and world_delete()
 * once its checks passed. */
static int tear_down_world(struct world_store *s, const char *name,
			   struct world_error *err)
{
	return discard_remains(s, name, false, err);
}

/* For recovery, which deletes a merged SRC with world_delete()'s checks
 * but lies below the API: the API hands it down (merge.h). */
static int delete_one(struct world_store *s, const char *name,
		      struct world_error *err)
{
	return world_delete(s, &name, 1, err);
}

/* A state directory serves one Root: its worlds are layers over that tree.
 * The first command records Root's path; a later one with another Root
 * would stack the layers on the wrong tree, and is refused. */
static int check_root_record(struct world_store *s, struct world_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(s->state_fd, "root", &text, NULL);
	if (r == -ENOENT) {
		_cleanup_free_ char *line = NULL;
		if (asprintf(&line, "%s\n", s->root) < 0)
			return werr(err, ENOMEM, "out of memory");
		r = write_file_atomic(s->state_fd, "root", line, strlen(line),
				      0644);
		if (r < 0)
			return werr_errno(err, -r, "cannot write %s/root",
					  s->state);
		return 0;
	}
	if (r < 0)
		return werr_errno(err, -r, "cannot read %s/root", s->state);
	text[strcspn(text, "\n")] = '\0';
	if (strcmp(text, s->root))
		return werr(err, EINVAL,
			    "the state directory %s belongs to Root %s, not %s "
			    "(set PWAPT_ROOT=%s, or use another PWAPT_STATE)",
			    s->state, text, s->root, text);
	return 0;
}

int world_load_containers(struct world_error *err)
{
	return container_lib_load(err);
}

/* liblxc's configuration and the state's records are lines: a path with a
 * newline is refused.  WHAT names it ("Root"). */
static int refuse_newline(const char *what, const char *path,
			  struct world_error *err)
{
	if (!strchr(path, '\n'))
		return 0;
	return werr(err, EINVAL,
		    "the paths of Root and of the state directory cannot "
		    "hold a newline (%s is %s)",
		    what, path);
}

int world_store_open(struct world_store **out, const struct world_config *cfg,
		     struct world_error *err)
{
	const char *root = cfg->root ? cfg->root : "/";
	const char *state = cfg->state ? cfg->state : "/var/lib/pwapt";
	if (root[0] != '/' || state[0] != '/')
		return werr(err, EINVAL,
			    "root (%s) and state (%s) must be absolute paths",
			    root, state);
	/* Before the state directory is made (Root's is looked at once
	 * its symbolic links are resolved, below). */
	int r = refuse_newline("the state directory", state, err);
	if (r < 0)
		return r;

	struct world_store *s = calloc(1, sizeof(*s));
	if (!s)
		return werr(err, ENOMEM, "out of memory");
	s->state_fd = s->worlds_fd = s->lock_fd = -1;

	s->root = realpath(root, NULL);
	if (!s->root) {
		r = werr_errno(err, errno, "root directory %s", root);
		goto fail;
	}
	struct stat st;
	if (stat(s->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = werr(err, ENOTDIR, "root %s is not a directory", root);
		goto fail;
	}
	if ((r = refuse_newline("Root", s->root, err)) < 0)
		goto fail;
	if ((r = mkdir_p(state, 0700)) < 0) {
		r = werr_errno(err, -r, "cannot create state directory %s",
			       state);
		goto fail;
	}
	s->state = realpath(state, NULL);
	s->worlds = s->state ? path_join(s->state, "worlds") : NULL;
	s->init = strdup(cfg->init ? cfg->init : "");
	s->bridge = strdup(cfg->bridge ? cfg->bridge : "pwapt0");
	s->subnet = strdup(cfg->subnet ? cfg->subnet : "10.213.0.0/16");
	s->outbound = cfg->outbound > 0;
	s->init_system = cfg->init_system;
	s->warn = cfg->warn;
	if (!s->state || !s->worlds || !s->init || !s->bridge || !s->subnet) {
		r = werr_errno(err, errno ? errno : ENOMEM,
			       "state directory %s", state);
		goto fail;
	}
	if (!strcmp(s->state, s->root)) {
		r = werr(err, EINVAL, "the state directory cannot be Root");
		goto fail;
	}
	if ((r = refuse_newline("the state directory", s->state, err)) < 0)
		goto fail;
	s->state_fd =
		open(s->state, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->state_fd < 0) {
		r = werr_errno(err, errno, "cannot open %s", s->state);
		goto fail;
	}
	(void)mkdirat(s->state_fd, "worlds", 0700);
	(void)mkdirat(s->state_fd, "trash", 0700);
	s->worlds_fd = openat(s->state_fd, "worlds",
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	s->lock_fd = openat(s->state_fd, "lock",
			    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->worlds_fd < 0 || s->lock_fd < 0) {
		r = werr_errno(err, errno, "cannot set up %s", s->state);
		goto fail;
	}
	r = flock(s->lock_fd, LOCK_EX | LOCK_NB);
	if (r < 0 && errno == EWOULDBLOCK) {
		if (cfg->waiting)
			cfg->waiting(s->state);
		while ((r = flock(s->lock_fd, LOCK_EX)) < 0 && errno == EINTR)
			;
	}
	if (r < 0) {
		r = werr_errno(err, errno, "cannot lock %s/lock", s->state);
		goto fail;
	}
	s->locked = true;
	/* An interrupted merge first: it may have worlds to delete. */
	if ((r = check_root_record(s, err)) < 0)
		goto fail;
	discard_trash(s);
	if ((r = merge_recover(s, &s->recovered, delete_one, err)) < 0 ||
	    (r = discard_unfinished(s, err)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	world_store_free(s);
	return r;
}

void world_store_unlock(struct world_store *s)
{
	if (s && s->locked) {
		flock(s->lock_fd, LOCK_UN);
		s->locked = false;
	}
}

void world_store_free(struct world_store *s)
{
	if (!s)
		return;
	world_store_unlock(s);
	closep(&s->lock_fd);
	closep(&s->worlds_fd);
	closep(&s->state_fd);
	free(s->root);
	free(s->state);
	free(s->worlds);
	free(s->init);
	free(s->bridge);
	free(s->subnet);
	free(s);
}

int world_ensure_running(struct world_store *s, const char *name, bool *revived,
			 struct world_error *err)
{
	return lifecycle_ensure_running(s, name, revived, err);
}

int world_make_durable(struct world_store *s, const char *name,
		       struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r >= 0 && !store_is_root(name))
		r = lifecycle_make_durable(s, name, 0, err);
	return r;
}

bool world_volatile(struct world_store *s, const char *name)
{
	return store_name_valid(name) && layers_volatile(s, name);
}

int world_create(struct world_store *s, const char *name,
		 const char *const *parents, size_t n_parents,
		 struct world_overlaps *overlaps, struct world_error *err)
{
	return world_create_noted(s, name, parents, n_parents, NULL, 0, 0,
				  overlaps, err);
}

int world_create_noted(struct world_store *s, const char *name,
		       const char *const *parents, size_t n_parents,
		       const struct world_note *notes, size_t n_notes,
		       unsigned flags, struct world_overlaps *overlaps,
		       struct world_error *err)
{
	if (!store_name_valid(name))
		return werr(err, EINVAL,
			    "invalid world name '%s' (use letters, digits, "
			    "'_', '.', '-'; at most %d; starting with a letter "
			    "or digit)",
			    name, WORLD_NAME_MAX);
	if (store_is_root(name) || store_world_exists(s, name))
		return werr(err, EEXIST, "a world named '%s' exists already",
			    name);
	if (n_parents == 0)
		return werr(err, EINVAL, "'%s' needs at least one parent",
			    name);
	for (size_t i = 0; i < n_parents; i++) {
		int r = store_check_world(s, parents[i], err);
		if (r < 0)
			return r;
		/* A crash would take the layer from under the child. */
		if (layers_volatile(s, parents[i]))
			return werr(err, EBUSY,
				    "cannot build on '%s': its layer is "
				    "volatile (not crash safe)",
				    parents[i]);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(parents[i], parents[j]))
				return werr(err, EINVAL,
					    "parent '%s' is named twice",
					    parents[i]);
	}

	_cleanup_strv_free_ char **mounts = NULL;
	int r = layers_root_mounts(s, &mounts, err);
	if (r < 0)
		return r;
	struct world_meta m = {
		.name = (char *)name,
		.parents = (char **)parents,
		.n_parents = n_parents,
		.mounts = mounts,
		.phase = META_CREATING,
	};
	while (mounts && mounts[m.n_mounts])
		m.n_mounts++;
	/* Marked first: recovery looks at the marked worlds only. */
	struct timespec marked, again;
	clock_gettime(CLOCK_BOOTTIME, &marked);
	if ((r = store_creating_mark(s, name)) < 0)
		return werr_errno(err, -r, "cannot create world '%s'", name);
	/* A running collector told of the marker now, not at its next
	 * scan: it drops no repeated access from here until it knows the
	 * world's trace_from (trace_epoch()), so that one after the
	 * creation is never taken for one seen before.  Not told (a
	 * collector stuck, stopped, or older), it learns when it runs again
	 * and may drop such an access meanwhile: the world says so, and its
	 * reports say that its ancestors' traces may lack it (warnings.c).
	 * So does a creation that took so long that the marker may have
	 * been taken for a killed one's. */
	m.trace_untold = trace_flush_tell(s, TRACE_CREATE_FLUSH_MS) < 0;
	crash_point("create-mark");
	if (mkdirat(s->worlds_fd, name, 0700) < 0) {
		r = -errno;
		store_creating_clear(s, name);
		return werr_errno(err, -r, "cannot create world '%s'", name);
	}
	/* The moment of creation on the file systems' own clock (the one
	 * of ctimes, which may be coarser than the system clock), so that
	 * "changed after the world was created" compares like with like. */
	struct stat dst;
	bool stamped =
		fstatat(s->worlds_fd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
	/* Read after the ctime, which may lag it by a tick: a trace record
	 * of a parent from that tick is from before the world existed. */
	m.trace_from = trace_now_ns();
	m.created = stamped ? dst.st_ctim.tv_sec
			    : (int64_t)(m.trace_from / 1000000000u);
	m.created_ns = stamped ? (int32_t)dst.st_ctim.tv_nsec
			       : (int32_t)(m.trace_from % 1000000000u);
	crash_point("create-dir");
	_cleanup_free_ char *merged = store_world_path(s, name, "merged");
	if (!merged) {
		r = werr(err, ENOMEM, "out of memory");
		goto undo;
	}
	/* The marker made anew: a collector drops nothing until the
	 * metadata below tells it trace_from, even where the flush above
	 * and the record of held descriptors took long (trace_epoch()). */
	bool stale = trace_mark_stale(s, name, &marked);
	clock_gettime(CLOCK_BOOTTIME, &again);
	r = store_creating_mark(s, name);
	/* The marker as it was until the new one was made. */
	if (stale || trace_mark_stale(s, name, &marked))
		m.trace_untold = true;
	if (r == 0)
		marked = again;
	if ((r = trace_held_record(s, name, parents, n_parents, err)) < 0 ||
	    (r = meta_save(s, &m, err)) < 0)
		goto undo;
	/* Saved with the phase "ready" below. */
	if (trace_mark_stale(s, name, &marked))
		m.trace_untold = true;
	/* While the world is unfinished: garbage, notes and all, if this
	 * command dies before it is ready. */
	for (size_t i = 0; i < n_notes; i++)
		if ((r = world_note_write(s, name, notes[i].key, notes[i].data,
					  notes[i].len, err)) < 0)
			goto undo;
	crash_point("create-meta");
	if (mkdir(merged, 0755) < 0) {
		r = werr_errno(err, errno, "cannot create %s", merged);
		goto undo;
	}
	unsigned how = LAYERS_CREATE |
		       (flags & WORLD_CREATE_VOLATILE ? LAYERS_VOLATILE : 0);
	if ((r = layers_mount_world(s, &m, how, NULL, err)) < 0) {
		werr_wrap(err, "cannot create '%s'", name);
		goto undo;
	}
	crash_point("create-mount");
	/* What the world sees of the package databases now: the base of a
	 * merge that meets them changed on both sides (dbmerge.h). */
	int tree = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = tree < 0 ? werr_errno(err, errno, "cannot open %s", merged)
		     : dbmerge_save_bases(s, name, tree, err);
	closep(&tree);
	if (r < 0)
		goto undo;
	if ((r = lifecycle_start(s, name, merged, true, err)) < 0)
		goto undo;
	crash_point("create-start");
	if (n_parents > 1 &&
	    (r = layers_overlaps(s, (char *const *)parents, n_parents, overlaps,
				 err)) < 0)
		goto undo;
	m.phase = META_READY;
	if ((r = dbmerge_sync_bases(s, name, err)) < 0 ||
	    (r = meta_save(s, &m, err)) < 0) {
		if (overlaps)
			layers_overlaps_release(overlaps);
		goto undo;
	}
	crash_point("create-ready");
	store_creating_clear(s, name);
	return 0;
undo:;
	struct world_error ignored;
	if (tear_down_world(s, name, &ignored) >= 0)
		store_creating_clear(s, name);
	return r;
}

/* Whether any world outside SET is built on a world in it; names it.  One
 * pass over all worlds, each read once: SET may be a chain of hundreds. */
static int check_no_orphans(struct world_store *s, const char *const *set,
			    size_t n, struct world_error *err)
{
	_cleanup_strv_free_ char **all = NULL;
	int r = store_world_names(s, &all);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	for (char **w = all; *w; w++) {
		bool in_set = false;
		for (size_t i = 0; i < n && !in_set; i++)
			in_set = !strcmp(*w, set[i]);
		struct world_meta m = {0};
		if (in_set || meta_load(s, *w, &m, NULL) < 0)
			continue;
		for (size_t p = 0; p < m.n_parents && r >= 0; p++)
			for (size_t i = 0; i < n && r >= 0; i++)
				if (!strcmp(m.parents[p], set[i]))
					r = werr(err, EBUSY,
						 "cannot delete '%s': world "
						 "'%s' is built on it (name it "
						 "too to delete both)",
						 set[i], *w);
		meta_release(&m);
		if (r < 0)
			return r;
	}
	return 0;
}

static int delete_worlds(struct world_store *s, const char *const *names,
			 size_t n, bool detached, struct world_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (store_is_root(names[i]))
			return werr(err, EPERM, "Root cannot be deleted");
		int r = store_check_world(s, names[i], err);
		if (r < 0)
			return r;
	}
	int r = check_no_orphans(s, names, n, err);
	if (r < 0)
		return r;

	/* Children go before their parents: repeatedly delete the named
	 * worlds that no remaining named world is built on.  The metadata is
	 * read once; a chain of hundreds of worlds is deleted in one call. */
	struct world_meta *metas = calloc(n ? n : 1, sizeof(*metas));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	if (!metas || !done) {
		free(metas);
		free(done);
		return werr(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && r >= 0; i++)
		if ((r = meta_load(s, names[i], &metas[i], err)) == -EBADMSG)
			r = 0; /* damaged: deletable, as if it had no parents */
	for (size_t left = n; left > 0 && r >= 0;) {
		size_t before = left;
		for (size_t i = 0; i < n && r >= 0; i++) {
			if (done[i])
				continue;
			bool has_child = false;
			for (size_t j = 0; j < n && !has_child; j++) {
				if (done[j] || j == i)
					continue;
				for (size_t p = 0; p < metas[j].n_parents; p++)
					has_child |= !strcmp(
						metas[j].parents[p], names[i]);
			}
			if (has_child)
				continue;
			/* A name given twice is deleted once. */
			for (size_t j = i; j < n; j++)
				if (!strcmp(names[j], names[i]) && !done[j]) {
					done[j] = true;
					left--;
				}
			/* Killed, not waited for: liblxc's monitor finishes
			 * the container's tear-down after wdelete returns. */
			r = detached ? discard_detached(s, names[i], err)
				     : discard_remains(s, names[i], true, err);
		}
		if (left == before)
			r = werr(err, ELOOP,
				 "worlds named are built on each "
				 "other in a cycle");
	}
	for (size_t i = 0; i < n; i++)
		meta_release(&metas[i]);
	free(metas);
	free(done);
	return r < 0 ? r : 0;
}

int world_delete(struct world_store *s, const char *const *names, size_t n,
		 struct world_error *err)
{
	return delete_worlds(s, names, n, false, err);
}

int world_delete_detached(struct world_store *s, const char *const *names,
			  size_t n, struct world_error *err)
{
	return delete_worlds(s, names, n, true, err);
}

static int exec_on_host(char *const *argv, const struct world_exec_options *xo,
			int *status, struct world_error *err)
{
	char **env = container_env_append(container_environment(false),
					  xo ? xo->env : NULL);
	if (!env)
		return werr(err, ENOMEM, "out of memory");
	int out = xo && xo->output_fd > 0 ? xo->output_fd : -1;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		environ = env;
		if (xo && xo->own_session)
			(void)setsid();
		int null = out >= 0 ? open("/dev/null", O_RDONLY) : -1;
		if (chdir("/") < 0 ||
		    (out >= 0 && (null < 0 || dup2(null, 0) < 0 ||
				  dup2(out, 1) < 0 || dup2(out, 2) < 0)))
			_exit(126);
		execvp(argv[0], argv);
		int e = errno;
		dprintf(STDERR_FILENO, "%s: %s\n", argv[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	strvfreep(&env);
	int r = 0, st = 0;
	if (pid < 0)
		r = werr_errno(err, errno, "cannot fork");
	else
		st = container_wait_exec(pid, xo);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (r >= 0)
		*status = st;
	return r;
}

/* The login shell for a console: bash where the tree has it, else the
 * POSIX shell every system has.  Looked up once the tree is mounted. */
static char *const *login_shell(struct world_store *s, const char *name)
{
	static char *const bash[] = {"/bin/bash", "-l", NULL};
	static char *const sh[] = {"/bin/sh", "-l", NULL};
	_cleanup_free_ char *p =
		store_is_root(name) ? path_join(s->root, "bin/bash")
			      : store_world_path(s, name, "merged/bin/bash");
	return p && access(p, X_OK) == 0 ? bash : sh;
}

/* ARGV NULL: a login shell on a terminal. */
static int run_in_world(struct world_store *s, const char *name,
			char *const *argv, const struct world_exec_options *xo,
			int *status, struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r < 0)
		return r;
	r = world_ensure_running(s, name, NULL, err);
	if (r < 0)
		return r;
	bool terminal = !argv;
	if (terminal)
		argv = login_shell(s, name);
	world_store_unlock(s);
	if (store_is_root(name) && store_root_is_host(s))
		return exec_on_host(argv, xo, status, err);
	r = container_attach(s, name, argv, xo, terminal, status, err);
	/* What the world replaced whole, while its parent still holds the
	 * directory as then: a later merge tells modify/delete by it. */
	struct world_meta m = {0};
	struct world_error ignored = {0};
	int nr = 0;
	if (r >= 0 && !store_is_root(name) &&
	    meta_load(s, name, &m, &ignored) >= 0)
		nr = diff_note_lower(s, &m);
	_cleanup_free_ char *lost = path_join(name, LOWER_HAD_LOST);
	if (nr < 0) /* a merge refuses where only the note would tell */
		store_warn(s,
			   "cannot note which files of '%s' its parent held "
			   "when it replaced them: %s; %s",
			   name, strerror(-nr),
			   lost && faccessat(s->worlds_fd, lost, F_OK,
					     AT_SYMLINK_NOFOLLOW) == 0
				   ? "a merge of it refuses where only that "
				     "note could tell"
				   : "nor could that be kept: a merge of it "
				     "may bring back a file its parent "
				     "deleted since");
	meta_release(&m);
	return r;
}

/* Root on the host: a plain child, as clean as an attached one. */
static int spawn_on_host(int (*fn)(void *arg), void *arg, int keep_fd,
			 pid_t *pid, struct world_error *err)
{
	char **env = container_environment(false);
	_cleanup_close_ int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (!env || devnull < 0) {
		int e = env ? errno : ENOMEM;
		strvfreep(&env);
		return werr_errno(err, e, "cannot prepare a process for Root");
	}
	pid_t child = fork();
	if (child == 0) {
		environ = env;
		if (chdir("/") < 0 || dup2(devnull, 0) < 0 ||
		    dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
			_exit(126);
		container_close_fds(keep_fd);
		_exit(fn(arg) & 0xff);
	}
	strvfreep(&env);
	if (child < 0)
		return werr_errno(err, errno, "cannot fork");
	*pid = child;
	return 0;
}

int world_spawn(struct world_store *s, const char *name, int (*fn)(void *arg),
		void *arg, int keep_fd, pid_t *pid, struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r >= 0)
		r = world_ensure_running(s, name, NULL, err);
	if (r < 0)
		return r;
	if (store_is_root(name) && store_root_is_host(s))
		return spawn_on_host(fn, arg, keep_fd, pid, err);
	return container_spawn(s, name, fn, arg, keep_fd, pid, err);
}

int world_exec_with(struct world_store *s, const char *name, char *const *argv,
		    const struct world_exec_options *opts, int *status,
		    struct world_error *err)
{
	if (!argv || !argv[0])
		return werr(err, EINVAL, "no command to run in '%s'", name);
	return run_in_world(s, name, argv, opts, status, err);
}

int world_exec(struct world_store *s, const char *name, char *const *argv,
	       int *status, struct world_error *err)
{
	return world_exec_with(s, name, argv, NULL, status, err);
}

int world_console(struct world_store *s, const char *name, int *status,
		  struct world_error *err)
{
	/* A world's host name is Root's (container.c): Debian's shells name
	 * the world by debian_chroot instead, "(NAME)root@HOST:/#". */
	_cleanup_free_ char *chroot = NULL;
	if (!store_is_root(name) &&
	    asprintf(&chroot, "debian_chroot=%s", name) < 0)
		return werr(err, ENOMEM, "out of memory");
	char *env[] = {chroot, NULL};
	const struct world_exec_options xo = {.env = env};
	return run_in_world(s, name, NULL, &xo, status, err);
}

int world_tree(struct world_store *s, const char *name, char **out,
	       struct world_error *err)
{
	return lifecycle_tree(s, name, out, err);
}

int world_open_in(struct world_store *s, const char *name, const char *path,
		  int flags, struct world_error *err)
{
	return lifecycle_open_in(s, name, path, flags, err);
}

/* Notes live in worlds/NAME/notes/, Root's in worlds/Root/notes/. */
static int open_notes(struct world_store *s, const char *name, const char *key,
		      bool create, struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r < 0)
		return r;
	if (!store_key_valid(key))
		return werr(err, EINVAL, "invalid note name '%s'", key);
	_cleanup_free_ char *rel = path_join(name, "notes");
	if (!rel)
		return werr(err, ENOMEM, "out of memory");
	if (create) {
		(void)mkdirat(s->worlds_fd, name, 0700); /* Root's */
		(void)mkdirat(s->worlds_fd, rel, 0700);
	}
	int fd = openat(s->worlds_fd, rel,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : werr_errno(err, errno,
						    "cannot open the notes of "
						    "'%s'",
						    name);
	return fd;
}

/* The notes this process wrote (durably: file and directory fsynced), the
 * last few.  A note to be written again with the same data, while it is
 * still the very file written then (the same inode and ctime: nobody
 * replaced it, the only way notes change), is durable as it is: a merge
 * rewrites Root's notes "svcmove" and "restarted" unchanged up to three
 * times, two fsyncs each. */
#define WRITTEN_NOTES 8
static struct written_note {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	char *data;
	size_t len;
} written_notes[WRITTEN_NOTES];
static size_t next_written_note;

static bool note_is_written(const struct stat *st, const char *data, size_t len)
{
	for (size_t i = 0; i < WRITTEN_NOTES; i++) {
		const struct written_note *w = &written_notes[i];
		if (w->data && w->dev == st->st_dev && w->ino == st->st_ino &&
		    w->ctime.tv_sec == st->st_ctim.tv_sec &&
		    w->ctime.tv_nsec == st->st_ctim.tv_nsec && w->len == len &&
		    (off_t)len == st->st_size && !memcmp(w->data, data, len))
			return true;
	}
	return false;
}

static void note_written(int dirfd, const char *key, const char *data,
			 size_t len)
{
	struct stat st;
	char *copy = malloc(len + 1);
	if (!copy || fstatat(dirfd, key, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		free(copy);
		return;
	}
	memcpy(copy, data, len);
	struct written_note *w = &written_notes[next_written_note];
	next_written_note = (next_written_note + 1) % WRITTEN_NOTES;
	free(w->data);
	*w = (struct written_note){.dev = st.st_dev,
				   .ino = st.st_ino,
				   .ctime = st.st_ctim,
				   .data = copy,
				   .len = len};
}

int world_note_write(struct world_store *s, const char *name, const char *key,
		     const char *data, size_t len, struct world_error *err)
{
	_cleanup_close_ int fd = open_notes(s, name, key, true, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstatat(fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    note_is_written(&st, data, len))
		return 0;
	char point[64]; /* PWAPT_FAIL_AT=note-KEY: a full disk, say */
	snprintf(point, sizeof(point), "note-%s", key);
	int r = crash_fail(point, ENOSPC);
	if (r == 0)
		r = write_file_atomic(fd, key, data, len, 0600);
	if (r < 0)
		return werr_errno(err, -r, "cannot write note '%s' of '%s'",
				  key, name);
	note_written(fd, key, data, len);
	return 0;
}

int world_note_read(struct world_store *s, const char *name, const char *key,
		    char **data, size_t *len, struct world_error *err)
{
	_cleanup_close_ int fd = open_notes(s, name, key, false, err);
	if (fd == -ENOENT)
		return werr(err, ENOENT, "'%s' has no note '%s'", name, key);
	if (fd < 0)
		return fd;
	int r = read_file_at(fd, key, data, len);
	if (r == -ENOENT)
		return werr(err, ENOENT, "'%s' has no note '%s'", name, key);
	if (r < 0)
		return werr_errno(err, -r, "cannot read note '%s' of '%s'", key,
				  name);
	return 0;
}

int world_store_next_serial(struct world_store *s, const char *key,
			    unsigned long *out, struct world_error *err)
{
	return store_next_serial(s, key, out, err);
}

int world_store_stop_all(struct world_store *s, struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	int ret = 0;
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *merged = store_world_path(s, *n, "merged");
		/* A clean shutdown: a volatile layer made durable. */
		struct world_error e;
		if (layers_volatile(s, *n) && merged &&
		    is_mount_point(merged) > 0 &&
		    (r = lifecycle_make_durable(s, *n, STOP_GRACE, &e)) < 0 &&
		    !ret) {
			ret = r;
			if (err)
				*err = e;
		}
		if ((r = container_stop(s, *n, STOP_GRACE)) < 0 && !ret)
			ret = werr_errno(err, -r, "cannot stop '%s'", *n);
		if (merged && (r = layers_unmount(merged)) < 0 && !ret)
			ret = werr_errno(err, -r, "cannot unmount '%s'", *n);
	}
	if ((r = container_stop(s, WORLD_ROOT, STOP_GRACE)) < 0 && !ret)
		ret = werr_errno(err, -r, "cannot stop Root's container");
	if ((r = layers_unmount_root_view(s)) < 0 && !ret)
		ret = werr_errno(err, -r, "cannot unmount the root view");
	struct world_error net;
	if ((r = net_stop_all(s, &net)) < 0 && !ret) {
		ret = r;
		if (err)
			*err = net;
	}
	return ret;
}

int world_store_start_all(struct world_store *s, struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	/* At boot one broken world must not keep the others down: start
	 * all that can be, and report the first failure. */
	int ret = 0;
	struct world_error one;
	for (char **n = names; *n; n++)
		if ((r = world_ensure_running(s, *n, NULL, &one)) < 0 && !ret) {
			ret = r;
			if (err)
				*err = one;
		}
	return ret;
}
