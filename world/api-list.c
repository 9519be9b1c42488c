/* wlist's view of the store: every world with its parents, its state and
 * its layer's size (world_list), the names alone (world_names), one
 * world's parents (world_parents). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"
#include "store.h"

const char *world_state_name(enum world_state st)
{
	switch (st) {
	case WORLD_RUNNING:
		return "running";
	case WORLD_STOPPED:
		return "stopped";
	case WORLD_UNMOUNTED:
		return "unmounted";
	case WORLD_DAMAGED:
		return "damaged";
	case WORLD_CRASHED:
		return "crashed";
	}
	return "unknown";
}

static int info_fill(struct world_store *s, const char *name,
		     struct world_info *info, struct world_error *err)
{
	*info = (struct world_info){0};
	if (!(info->name = strdup(name)))
		return werr(err, ENOMEM, "out of memory");
	if (store_is_root(name)) {
		info->parents = calloc(1, sizeof(char *));
		if (store_root_is_host(s)) {
			info->state = WORLD_RUNNING;
			info->init_pid = 1;
		} else {
			info->state =
				container_running(s, name, &info->init_pid)
					? WORLD_RUNNING
					: WORLD_STOPPED;
		}
		return info->parents ? 0 : werr(err, ENOMEM, "out of memory");
	}
	struct world_meta m = {0};
	int r = meta_load(s, name, &m, err);
	if (r == -EBADMSG) {
		/* Listed, so that the administrator sees it and can delete
		 * it; every other command on it says what is wrong. */
		info->state = WORLD_DAMAGED;
		info->parents = calloc(1, sizeof(char *));
		return info->parents ? 0 : werr(err, ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;
	(void)layers_usage(s, &m, &info->layer_bytes);
	info->parents = steal_pointer(&m.parents);
	info->created = m.created;
	meta_release(&m);
	_cleanup_free_ char *merged = store_world_path(s, name, "merged");
	if (!merged)
		return werr(err, ENOMEM, "out of memory");
	if (is_mount_point(merged) <= 0)
		info->state = layers_volatile(s, name) ? WORLD_CRASHED
						       : WORLD_UNMOUNTED;
	else if (container_running(s, name, &info->init_pid))
		info->state = WORLD_RUNNING;
	else
		info->state = WORLD_STOPPED;
	return 0;
}

int world_names(struct world_store *s, char ***out, struct world_error *err)
{
	int r = store_world_names(s, out);
	return r < 0 ? werr_errno(err, -r, "cannot list worlds") : 0;
}

int world_parents(struct world_store *s, const char *name, char ***out,
		  struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r < 0)
		return r;
	if (store_is_root(name)) {
		char **none = calloc(1, sizeof(*none));
		if (!none)
			return werr(err, ENOMEM, "out of memory");
		*out = none;
		return 0;
	}
	struct world_meta m = {0};
	if ((r = meta_load(s, name, &m, err)) < 0)
		return r;
	*out = steal_pointer(&m.parents);
	meta_release(&m);
	return 0;
}

void world_list_release(struct world_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		strvfreep(&l->v[i].parents);
	}
	free(l->v);
	*l = (struct world_list){0};
}

int world_list(struct world_store *s, struct world_list *out,
	       struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	size_t n = 1;
	while (names[n - 1])
		n++;
	struct world_list l = {calloc(n, sizeof(struct world_info)), 0};
	if (!l.v)
		return werr(err, ENOMEM, "out of memory");
	r = info_fill(s, WORLD_ROOT, &l.v[l.n++], err);
	for (size_t i = 0; r >= 0 && names[i]; i++) {
		/* A directory there with no world's record is no world: one
		 * that liblxc made again for its log (lxc.log.file) while
		 * another process looked the container up as it was deleted,
		 * or what a killed wcreate left for recovery. */
		if (!store_world_exists(s, names[i]))
			continue;
		r = info_fill(s, names[i], &l.v[l.n++], err);
	}
	if (r < 0) {
		world_list_release(&l);
		return r;
	}
	*out = l;
	return 0;
}
