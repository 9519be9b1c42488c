/* The processes that use files a merge replaces (svcusers.h): what the
 * processes of a world map and run, with the status of each such path in
 * its tree before the merge, and after it those whose path no longer holds
 * the same file (needrestart's comparison of inodes, without trusting the
 * paths /proc shows to exist on the host). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "procs.h"
#include "services.h"
#include "svcusers.h"

/* A path that processes map or run, and what the tree held there. */
struct path_state {
	char *path;
	bool present;
	struct stat st;
};

struct world_file_users {
	struct proc_table procs;
	char **service;		  /* each process's, or NULL; n as procs */
	struct path_state *paths; /* sorted by path, each once */
	size_t n_paths;
};

static void path_stat(int tree, struct path_state *p)
{
	_cleanup_close_ int fd =
		open_beneath(tree, p->path + 1, O_PATH | O_NOFOLLOW);
	p->present = fd >= 0 && fstat(fd, &p->st) == 0;
}

static bool same_file(const struct path_state *a, const struct path_state *b)
{
	if (a->present != b->present)
		return false;
	return !a->present ||
	       (a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino &&
		a->st.st_size == b->st.st_size &&
		a->st.st_ctim.tv_sec == b->st.st_ctim.tv_sec &&
		a->st.st_ctim.tv_nsec == b->st.st_ctim.tv_nsec);
}

static int cmp_path_state(const void *a, const void *b)
{
	return strcmp(((const struct path_state *)a)->path,
		      ((const struct path_state *)b)->path);
}

static const struct path_state *path_find(const struct world_file_users *u,
					  const char *path)
{
	struct path_state key = {.path = (char *)path};
	return u->n_paths ? bsearch(&key, u->paths, u->n_paths,
				    sizeof(*u->paths), cmp_path_state)
			  : NULL;
}

size_t services_file_users_count(const struct world_file_users *u,
				 bool (*counts)(const char *path))
{
	size_t n = 0;
	for (size_t i = 0; u && i < u->n_paths; i++)
		n += counts(u->paths[i].path);
	return n;
}

void services_file_users_free(struct world_file_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; u->service && i < u->procs.n; i++)
		free(u->service[i]);
	free(u->service);
	procs_release(&u->procs);
	for (size_t i = 0; i < u->n_paths; i++)
		free(u->paths[i].path);
	free(u->paths);
	free(u);
}

/* Each process's service, by its pid among the services' (the world's
 * numbering). */
static int assign_services(struct world_file_users *u,
			   const struct world_services *l)
{
	u->service = calloc(u->procs.n + 1, sizeof(char *));
	if (!u->service)
		return -ENOMEM;
	for (size_t i = 0; i < u->procs.n; i++)
		for (size_t k = 0; k < l->n && !u->service[i]; k++)
			for (size_t j = 0; j < l->v[k].n_pids; j++)
				if (l->v[k].pids[j] == u->procs.v[i].nspid) {
					u->service[i] = strdup(l->v[k].name);
					if (!u->service[i])
						return -ENOMEM;
					break;
				}
	return 0;
}

/* The paths the processes map or run (those /proc does not say deleted
 * already), each once, with what the tree holds there now. */
static int snapshot_paths(int tree, struct world_file_users *u)
{
	size_t n = 0;
	for (size_t i = 0; i < u->procs.n; i++)
		n += u->procs.v[i].n_files;
	u->paths = calloc(n + 1, sizeof(*u->paths));
	if (!u->paths)
		return -ENOMEM;
	for (size_t i = 0; i < u->procs.n; i++)
		for (size_t k = 0; k < u->procs.v[i].n_files; k++) {
			const struct proc_file *f = &u->procs.v[i].files[k];
			if (f->deleted || f->path[0] != '/')
				continue;
			if (!(u->paths[u->n_paths].path = strdup(f->path)))
				return -ENOMEM;
			u->n_paths++;
		}
	if (u->n_paths)
		qsort(u->paths, u->n_paths, sizeof(*u->paths), cmp_path_state);
	size_t w = 0;
	for (size_t i = 0; i < u->n_paths; i++) {
		if (w && !strcmp(u->paths[w - 1].path, u->paths[i].path)) {
			free(u->paths[i].path);
			continue;
		}
		u->paths[w++] = u->paths[i];
	}
	u->n_paths = w;
	for (size_t i = 0; i < u->n_paths; i++)
		path_stat(tree, &u->paths[i]);
	return 0;
}

int services_file_users(struct world_store *s, const char *name,
			struct world_file_users **out, struct world_error *err)
{
	struct world_file_users *u = calloc(1, sizeof(*u));
	if (!u)
		return werr(err, ENOMEM, "out of memory");
	struct world_services l = {0};
	_cleanup_close_ int tree = -1;
	int r = services_scan(s, name, PROCS_FILES, &u->procs, &l, &tree, err);
	if (r < 0) {
		free(u);
		return r;
	}
	r = assign_services(u, &l);
	if (r >= 0 && tree >= 0)
		r = snapshot_paths(tree, u);
	services_release(&l);
	if (r < 0) {
		services_file_users_free(u);
		return werr_errno(err, -r,
				  "cannot read what the processes of '%s' use",
				  name);
	}
	*out = u;
	return 0;
}

void services_replaced_release(struct world_replaced_users *r)
{
	for (size_t i = 0; r && i < r->n; i++) {
		free(r->v[i].service);
		free(r->v[i].path);
	}
	if (r) {
		free(r->v);
		*r = (struct world_replaced_users){0};
	}
}

/* The processes of BEFORE that map or run a path CHANGED marks (one flag
 * per BEFORE->paths), into OUT: one entry a process, its first such path. */
static int users_of(const struct world_file_users *before, const bool *changed,
		    struct world_replaced_users *out)
{
	struct world_replaced_users res = {
		.v = calloc(before->procs.n + 1, sizeof(*res.v))};
	if (!res.v)
		return -ENOMEM;
	for (size_t i = 0; i < before->procs.n; i++) {
		const struct proc *p = &before->procs.v[i];
		for (size_t k = 0; k < p->n_files; k++) {
			const struct path_state *ps =
				p->files[k].deleted
					? NULL
					: path_find(before, p->files[k].path);
			if (!ps || !changed[ps - before->paths])
				continue;
			struct world_replaced_user *e = &res.v[res.n++];
			e->pid = p->nspid;
			e->host_pid = p->pid;
			memcpy(e->comm, p->comm, sizeof(e->comm));
			e->path = strdup(ps->path);
			e->service = before->service[i]
					     ? strdup(before->service[i])
					     : NULL;
			if (!e->path || (before->service[i] && !e->service)) {
				services_replaced_release(&res);
				return -ENOMEM;
			}
			break;
		}
	}
	*out = res;
	return 0;
}

int services_replaced_users(struct world_store *s, const char *name,
			    const struct world_file_users *before,
			    struct world_replaced_users *out,
			    struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = store_tree_path(s, name);
	if (!path)
		return werr(err, ENOMEM, "out of memory");
	_cleanup_close_ int tree = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tree < 0)
		return werr_errno(err, errno, "cannot open the tree of '%s'",
				  name);
	_cleanup_free_ bool *changed =
		calloc(before->n_paths + 1, sizeof(bool));
	if (!changed)
		return werr(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < before->n_paths; i++) {
		struct path_state now = {.path = before->paths[i].path};
		path_stat(tree, &now);
		changed[i] = !same_file(&before->paths[i], &now);
	}
	return users_of(before, changed, out) < 0
		       ? werr(err, ENOMEM, "out of memory")
		       : 0;
}

static int cmp_change_path(const void *key, const void *c)
{
	return strcmp(key, ((const struct world_change *)c)->path);
}

/* Whether the merge of diff D writes PATH: a change of PATH itself, or
 * the deletion of a directory above it (what it held goes with it).
 * Changes a merge leaves alone (checked off, excluded) do not count. */
static bool merge_writes(const struct world_diff *d, const char *path)
{
	_cleanup_free_ char *at = strdup(path);
	if (!at || !d->n)
		return false;
	for (bool self = true;; self = false) {
		const struct world_change *c =
			bsearch(at, d->v, d->n, sizeof(*d->v), cmp_change_path);
		if (c && !c->checked_off && !c->excluded &&
		    (self || c->kind == 'D'))
			return true;
		char *slash = strrchr(at, '/');
		if (!slash || slash == at)
			return false;
		*slash = '\0';
	}
}

int services_planned_users(const struct world_file_users *before,
			   const struct world_diff *d,
			   struct world_replaced_users *out,
			   struct world_error *err)
{
	_cleanup_free_ bool *changed =
		calloc(before->n_paths + 1, sizeof(bool));
	if (!changed)
		return werr(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < before->n_paths; i++)
		changed[i] = merge_writes(d, before->paths[i].path);
	return users_of(before, changed, out) < 0
		       ? werr(err, ENOMEM, "out of memory")
		       : 0;
}
