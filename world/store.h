/* The state directory: its lock, world metadata and recovery.  Private to
 * libworld.
 *
 * Layout under the state directory:
 *     lock                 flock()ed by every command for its bookkeeping
 *     root                 the path of the Root this state serves
 *     worlds/NAME/world    metadata (see meta_format), written atomically
 *     worlds/NAME/upper    the world's own layer (of Root's own file system)
 *     worlds/NAME/fs/REL/  {upper,work} for each separate file system REL
 *     worlds/NAME/work     overlayfs' work directory
 *     worlds/NAME/merged   the world's tree, an overlay mount
 *     worlds/NAME/config   liblxc's container configuration
 *     worlds/NAME/net      its address, forwards, ... (see net.h)
 *     worlds/Root/         Root's container (only when Root is not "/")
 *     trash/               deleted worlds on their way out
 *     worlds/.trash/       the same where worlds/ is a file system apart */
#ifndef PWAPT_STORE_H
#define PWAPT_STORE_H

#include <string.h>

#include "world.h"

struct world_store {
	char *root;  /* Root's directory, absolute, no trailing slash but "/" */
	char *state; /* state directory, absolute */
	char *worlds; /* state/worlds */
	char *init;   /* init helper on the host */
	enum world_init init_system; /* PID 1 of containers (world.h) */
	char *bridge; /* networking (see net.h) */
	char *subnet;
	bool outbound; /* the default of child worlds */
	int state_fd;
	int worlds_fd;
	int lock_fd;
	bool locked;
	bool recovered; /* opening finished or undid an interrupted merge */
	void (*warn)(const char *msg); /* world_config's, or NULL */
	/* The world this command's merge froze (world_merge(), from before
	 * its diff until SRC is deleted or thawed): lifecycle_ensure_running()
	 * leaves it frozen.  NULL when none. */
	const char *merge_frozen;
};

enum meta_phase {
	META_CREATING, /* wcreate has not finished: garbage if seen locked */
	META_READY
};

struct world_meta {
	char *name;
	char **parents; /* NULL-terminated, in priority order */
	size_t n_parents;
	/* Root's separate file systems when the world was created, as paths
	 * relative to Root ("var", "boot/efi"); NULL-terminated or NULL.  Each
	 * has a layer of its own (see layers.h). */
	char **mounts;
	size_t n_mounts;
	int64_t created;    /* seconds since the epoch */
	int32_t created_ns; /* and nanoseconds: ctimes are compared with it */
	/* The system clock's ns since the epoch, read just after the world's
	 * directory was made: where its ancestors' trace counts "after the
	 * creation" (trace records carry the precise clock; created, the
	 * file system's, lags it by up to a tick).  0 in a world made before
	 * it was recorded: created stands in (meta_trace_from()). */
	uint64_t trace_from;
	/* A collector ran when the world was made and did not answer
	 * wcreate's flush request (trace-flush.h): it may not have known of
	 * the creation at once, and dropped a repeated access of an
	 * ancestor's tree just after trace_from as one it had seen. */
	bool trace_untold;
	enum meta_phase phase;
};

/* Whether NAME is a syntactically valid world name (Root included):
 * store_name_valid() of world.h. */
bool store_name_valid(const char *name);

void meta_release(struct world_meta *m);
/* M's trace_from, or its created where that was not recorded, or is not
 * within TRACE_FROM_MAX_NS after it. */
#define TRACE_FROM_MAX_NS 60000000000ull
uint64_t meta_trace_from(const struct world_meta *m);
/* Loads worlds/NAME/world; -ENOENT when there is no such world. */
int meta_load(struct world_store *s, const char *name, struct world_meta *m,
	      struct world_error *err);
/* Whether REL is a clean relative path: no "", ".", ".." components, no
 * leading or doubled '/', no control characters. */
bool meta_rel_path_valid(const char *rel);
/* Parses the text form; used by meta_load and the fuzz target. */
int meta_parse(const char *text, struct world_meta *m);
/* Writes M atomically (a killed command leaves the old or the new text);
 * synced, file and directory, only when M is ready: a world being
 * created is garbage after a power loss whatever its metadata says. */
int meta_save(struct world_store *s, const struct world_meta *m,
	      struct world_error *err);
/* The error for a name that does not denote a world: 0 when NAME is one. */
int store_check_world(struct world_store *s, const char *name,
		      struct world_error *err);
/* Whether a world of that name exists (Root always does). */
bool store_world_exists(struct world_store *s, const char *name);
/* The names of all worlds but Root, sorted; NULL-terminated. */
int store_world_names(struct world_store *s, char ***names);
/* Worlds being created: STATE/creating/NAME is made (not synced) before
 * the world's directory and cleared once its metadata says ready, so that
 * recovery looks at those worlds only, not at every world.
 * store_creating_names() gives the marked names, or, the first time after
 * a boot (a power loss may have taken a marker), every world's (*ALL);
 * after such a full look store_creating_scanned() clears the markers and
 * notes the boot. */
int store_creating_mark(struct world_store *s, const char *name);
void store_creating_clear(struct world_store *s, const char *name);
/* The worlds marked as being created less than SECONDS ago (an older
 * marker is a killed wcreate's, cleared by the next command), into
 * *NAMES (NULL-terminated); -errno. */
int store_creating_recent(struct world_store *s, int seconds, char ***names);
/* Whether NAME's marker is there and within SECONDS of now, as
 * store_creating_recent() judges it. */
bool store_creating_within(struct world_store *s, const char *name,
			   int seconds);
int store_creating_names(struct world_store *s, char ***names, bool *all);
void store_creating_scanned(struct world_store *s);
/* Hands the front end a warning (world_config's warn) formatted from FMT,
 * cut where an error's message would be; dropped when it takes none. */
void store_warn(const struct world_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The worlds built directly on NAME, sorted; NULL-terminated. */
int store_children(struct world_store *s, const char *name, char ***out);
/* Whether ANCESTOR is WORLD itself or lies below it among its parents
 * (Root is everyone's ancestor). */
bool store_is_ancestor(struct world_store *s, const char *world,
		       const char *ancestor);
/* Absolute path of a world's directory entry ("upper", "merged", ...). */
char *store_world_path(struct world_store *s, const char *name,
		       const char *entry);
/* The state directory as a path of Root's tree ("/var/lib/pwapt") when
 * Root holds it, else NULL.  Points into S. */
const char *store_state_in_root(struct world_store *s);
/* Moves a world's directory to trash and removes it; the name is free as
 * soon as this returns, even if the removal itself fails.  DETACHED: the
 * removal goes on in a detached process after this returns (never for a
 * merged world, whose layer shares the merged files' inodes: their ctimes
 * must not change after the merge recorded them). */
int store_discard_world_dir(struct world_store *s, const char *name,
			    bool detached, struct world_error *err);
/* Removes what the trash holds, once no detached remover is at work. */
void store_empty_trash(struct world_store *s);

/* The path of NAME's tree: Root's directory, or the world's merged tree
 * (mounted or not); malloc'd, NULL when out of memory. */
char *store_tree_path(struct world_store *s, const char *name);

/* Whether KEY may name a note or a series: 1 to 32 of [a-z0-9_-]. */
bool store_key_valid(const char *key);
/* The next number of series KEY (1, 2, ...), never handed out twice: the
 * state directory keeps the last one, written atomically. */
int store_next_serial(struct world_store *s, const char *key,
		      unsigned long *out, struct world_error *err);
/* The same, its rename not synced: the caller's next syncfs of the state
 * directory's file system makes it durable.  A power loss before that may
 * hand the number out again, harmless to a caller that makes nothing of
 * it durable before that syncfs (a merge: its journal says "prepared"
 * only after one). */
int store_next_serial_lazy(struct world_store *s, const char *key,
			   unsigned long *out, struct world_error *err);

/* Whether NAME is Root, and whether Root is this host's own "/". */
static inline bool store_is_root(const char *name)
{
	return !strcmp(name, WORLD_ROOT);
}

static inline bool store_root_is_host(const struct world_store *s)
{
	return !strcmp(s->root, "/");
}

#endif
