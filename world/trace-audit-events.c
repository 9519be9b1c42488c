/* The audit backend's records turned into table lines (see
 * trace-audit-events.h, and trace-audit.c for what audit tells). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <libaudit.h>

#include "cleanup.h"
#include "trace-audit-events.h"

/* The map is a hash by inode number (open addressing, linear probing),
 * where an inode may have several entries (several names): a probe goes
 * on to the first empty slot.  A forgotten entry leaves a tombstone. */
static char tombstone[1];

static size_t ino_hash(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

void inode_map_release(struct inode_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->path[i] != tombstone)
			free(m->path[i]);
	free(m->ino);
	free(m->path);
	*m = (struct inode_map){0};
}

/* INO's name, NULL when unknown, or when it has several (hard links):
 * which one a call used, audit does not say. */
static const char *inode_path(struct inode_map *m, uint64_t ino)
{
	const char *found = NULL;

	if (!m->cap)
		return NULL;
	for (size_t i = ino_hash(ino, m->cap); m->path[i]; i = (i + 1) & (m->cap - 1))
		if (m->ino[i] == ino && m->path[i] != tombstone) {
			if (found)
				return NULL;
			found = m->path[i];
		}
	return found;
}

static int inode_grow(struct inode_map *m)
{
	size_t cap = m->cap ? 2 * m->cap : 1024;
	uint64_t *ino_v;
	char **path_v;

	/* Rehashed at the same size when tombstones fill it. */
	if (m->cap && 4 * m->n < m->cap)
		cap = m->cap;
	ino_v = calloc(cap, sizeof(*ino_v));
	path_v = calloc(cap, sizeof(*path_v));
	if (!ino_v || !path_v) {
		free(ino_v);
		free(path_v);
		return -ENOMEM;
	}
	for (size_t j = 0; j < m->cap; j++) {
		size_t i;

		if (!m->path[j] || m->path[j] == tombstone)
			continue;
		for (i = ino_hash(m->ino[j], cap); path_v[i]; i = (i + 1) & (cap - 1))
			;
		ino_v[i] = m->ino[j];
		path_v[i] = m->path[j];
	}
	free(m->ino);
	free(m->path);
	m->ino = ino_v;
	m->path = path_v;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

/* Remembers PATH for INO, as its newest name.  ONLY_NEW: unless INO has
 * a name already (a directory opened through a symbolic link keeps the
 * name it was made under). */
static int inode_learn(struct inode_map *m, uint64_t ino, const char *path,
		       bool only_new)
{
	size_t i, slot = SIZE_MAX;
	char *copy;
	int r;

	if (2 * (m->used + 1) > m->cap && (r = inode_grow(m)) < 0)
		return r;
	for (i = ino_hash(ino, m->cap); m->path[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->path[i] == tombstone) {
			if (slot == SIZE_MAX)
				slot = i;
			continue;
		}
		if (m->ino[i] == ino && (only_new || !strcmp(m->path[i], path)))
			return 0;
	}
	if (!(copy = strdup(path)))
		return -ENOMEM;
	if (slot == SIZE_MAX) {
		slot = i;
		m->used++;
	}
	m->ino[slot] = ino;
	m->path[slot] = copy;
	m->n++;
	return 0;
}

/* Forgets name PATH of INO: it was deleted or renamed (and a file system
 * may give its number to the next new file). */
static void inode_forget(struct inode_map *m, uint64_t ino, const char *path)
{
	if (!m->cap)
		return;
	for (size_t i = ino_hash(ino, m->cap); m->path[i]; i = (i + 1) & (m->cap - 1))
		if (m->path[i] != tombstone && m->ino[i] == ino &&
		    !strcmp(m->path[i], path)) {
			free(m->path[i]);
			m->path[i] = tombstone;
			m->n--;
			return;
		}
}

/* The value of KEY= in a record's TEXT: "quoted", or plain up to a space,
 * which for a string (STRING: name, cwd, key) is hex-encoded (audit's
 * untrusted strings).  NULL when absent or "(null)". */
static char *field_of(const char *text, const char *key, bool string)
{
	size_t klen = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key))) {
		if ((p == text || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	if (!p)
		return NULL;
	p += klen + 1;
	if (*p == '"') {
		const char *end = strchr(p + 1, '"');

		return end ? strndup(p + 1, end - p - 1) : NULL;
	}
	size_t n = strcspn(p, " \n");
	if (n == 6 && !strncmp(p, "(null)", 6))
		return NULL;
	if (!string || n % 2 || strspn(p, "0123456789ABCDEF") < n)
		return strndup(p, n);
	char *out = malloc(n / 2 + 1);
	if (!out)
		return NULL;
	/* Digits checked above: 0-9, A-F. */
	for (size_t i = 0; i < n / 2; i++) {
		unsigned char h = (unsigned char)p[2 * i], l = (unsigned char)p[2 * i + 1];

		out[i] = (char)(((h <= '9' ? h - '0' : h - 'A' + 10) << 4) |
				(l <= '9' ? l - '0' : l - 'A' + 10));
	}
	out[n / 2] = '\0';
	return out;
}

static char *field(const char *text, const char *key)
{
	return field_of(text, key, false);
}

static char *field_str(const char *text, const char *key)
{
	return field_of(text, key, true);
}

static uint64_t field_u64(const char *text, const char *key, int base)
{
	_cleanup_free_ char *v = field(text, key);

	return v ? strtoull(v, NULL, base) : 0;
}

static void event_release(struct event *e)
{
	free(e->syscall);
	free(e->cwd);
	for (int i = 0; i < e->nitems; i++)
		free(e->items[i].name);
	*e = (struct event){0};
}

/* The world whose device DEV is, if traced. */
static void lose(struct audited *w)
{
	w->t->lost++;
}

/* Whether argument ARG of the call is a directory descriptor (not
 * AT_FDCWD) that relative names are resolved from. */
static bool dirfd_arg(const struct event *e, int arg)
{
	return (int32_t)(uint32_t)e->a[arg] != AT_FDCWD;
}

/* The world-relative path of item IT; NULL when it cannot be known.
 * PARENT: its PARENT record (the directory the name was resolved in),
 * NULL for none.  AT_DIRFD: a relative name is relative to a directory
 * descriptor. */
static char *item_path(struct audited *w, const struct event *e,
		       const struct item *it, const struct item *parent,
		       bool at_dirfd)
{
	const char *dir, *base;

	/* A magic link (/proc/self/exe, /proc/self/fd/N) names the file
	 * it reached by its inode. */
	if (!strncmp(it->name, "/proc/", 6) && it->has_inode)
		return (dir = inode_path(&w->inodes, it->inode)) ? strdup(dir) : NULL;
	if (it->name[0] == '/')
		return trace_event_path(NULL, it->name);
	if (!at_dirfd)
		return e->cwd ? trace_event_path(e->cwd, it->name) : NULL;
	/* Relative to a descriptor: through its parent's inode, else its
	 * own. */
	if (parent && (dir = inode_path(&w->inodes, parent->inode))) {
		base = strrchr(it->name, '/');
		return trace_event_path(dir, base ? base + 1 : it->name);
	}
	dir = it->has_inode ? inode_path(&w->inodes, it->inode) : NULL;
	return dir ? strdup(dir) : NULL;
}

/* The kind of an open, from its flags (as trace-bpf.c decides). */
static int open_kinds(uint64_t flags, int kinds[2])
{
	int n = 0;

	if (flags & O_PATH)
		return 0;
	if ((flags & O_ACCMODE) != O_WRONLY)
		kinds[n++] = TRACE_READ;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
		kinds[n++] = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)
				     ? TRACE_CREATE
				     : TRACE_WRITE;
	return n;
}

struct call {
	const char *name;
	int kind;	/* 0: decided by the call's arguments */
	int dirfd_arg;	/* -1: none */
	int dirfd2_arg; /* of the second name, -1: none */
};

static const struct call calls[] = {
	{"open", 0, -1, -1},	       {"openat", 0, 0, -1},
	{"openat2", 0, 0, -1},	       {"creat", 0, -1, -1},
	{"rename", TRACE_RENAME, -1, -1}, {"renameat", TRACE_RENAME, 0, 2},
	{"renameat2", TRACE_RENAME, 0, 2}, {"unlink", TRACE_DELETE, -1, -1},
	{"unlinkat", 0, 0, -1},	       {"rmdir", TRACE_RMDIR, -1, -1},
	{"mkdir", TRACE_MKDIR, -1, -1},	 {"mkdirat", TRACE_MKDIR, 0, -1},
	{"link", TRACE_LINK, -1, -1},	 {"linkat", TRACE_LINK, 0, 2},
	{"symlink", TRACE_SYMLINK, -1, -1}, {"symlinkat", TRACE_SYMLINK, 1, -1},
	{"mknod", 0, -1, -1},	       {"mknodat", 0, 0, -1},
	{"truncate", TRACE_TRUNCATE, -1, -1}, {"chmod", TRACE_CHMOD, -1, -1},
	{"fchmodat", TRACE_CHMOD, 0, -1}, {"fchmodat2", TRACE_CHMOD, 0, -1},
	{"chown", TRACE_CHOWN, -1, -1},	 {"lchown", TRACE_CHOWN, -1, -1},
	{"fchownat", TRACE_CHOWN, 0, -1}, {"utime", TRACE_UTIMES, -1, -1},
	{"utimes", TRACE_UTIMES, -1, -1}, {"futimesat", TRACE_UTIMES, 0, -1},
	{"utimensat", TRACE_UTIMES, 0, -1}, {"execve", TRACE_EXEC, -1, -1},
	{"execveat", TRACE_EXEC, 0, -1},
};

/* The process tree of E's process: its parent's, or its own. */
static uint32_t tree_of(struct audited *w, const struct event *e)
{
	struct tree_slot *parent = &w->trees[e->ppid % TREE_SLOTS],
			 *self = &w->trees[e->pid % TREE_SLOTS];
	uint32_t tree = parent->pid == e->ppid && e->ppid ? parent->tree
			: self->pid == e->pid		  ? self->tree
							  : e->pid;

	*self = (struct tree_slot){e->pid, tree};
	return tree;
}

static int record_as(struct audited *w, const struct event *e,
		     uint64_t epoch, int kind, const char *path,
		     const char *path2)
{
	int r = traced_add(w->t, trace_kind_name(kind), path, path2,
			   tree_of(w, e), e->time, epoch);

	return r < 0 ? r : 0;
}
#define record(w, kind, path, path2) \
	record_as(w, e, ev->epoch, kind, path, path2)

/* Turns one complete event into lines of its world's table. */
static int finish_event(struct audit_events *ev, struct event *e)
{
	const struct call *call = NULL;
	struct audited *w = NULL;
	char *paths[MAX_ITEMS] = {0}, *dir = NULL;
	int r = 0, kinds[2] = {0};

	/* A DELETE record names the inode of the layer below the world's
	 * overlay, not the overlay's. */
	for (int i = 0; i < e->nitems && !w; i++)
		if (e->items[i].has_inode && strcmp(e->items[i].type, "DELETE"))
			w = ev->world_of(ev->arg, e->items[i].dev);
	if (!w || !e->syscall)
		return 0;
	for (size_t i = 0; i < sizeof(calls) / sizeof(*calls); i++)
		if (!strcmp(calls[i].name, e->syscall))
			call = &calls[i];
	if (!call)
		return 0;
	if (e->overflow) {
		lose(w);
		return 0;
	}
	/* Resolve every name.  A PARENT record's name is not the name the
	 * process passed, its inode is that name's directory: the k-th
	 * PARENT goes with the k-th CREATE or DELETE record (rename: the
	 * old name's directory first).  A second name (rename's, link's new
	 * one: the CREATE record) is relative to the call's second
	 * directory. */
	const struct item *parents[MAX_ITEMS];
	int np = 0, nc = 0;
	for (int i = 0; i < e->nitems; i++)
		if (!strcmp(e->items[i].type, "PARENT") && e->items[i].has_inode)
			parents[np++] = &e->items[i];
	for (int i = 0; i < e->nitems; i++) {
		struct item *it = &e->items[i];
		const struct item *parent = NULL;
		int arg = call->dirfd_arg;

		if (!it->name || !strcmp(it->type, "PARENT") || !strcmp(it->type, "UNKNOWN"))
			continue;
		if (!strcmp(it->type, "CREATE") || !strcmp(it->type, "DELETE"))
			parent = nc < np ? parents[nc++] : NULL;
		if (call->dirfd2_arg >= 0 && !strcmp(it->type, "CREATE"))
			arg = call->dirfd2_arg;
		paths[i] = item_path(w, e, it, parent, arg >= 0 && dirfd_arg(e, arg));
		if (!paths[i] || r < 0)
			continue;
		/* What the call teaches about the world's inodes. */
		if (parent && (dir = trace_event_path(paths[i], "..")))
			r = inode_learn(&w->inodes, parent->inode, dir, true);
		free(dir);
		dir = NULL;
		if (r >= 0 && !strcmp(it->type, "DELETE"))
			inode_forget(&w->inodes, it->inode, paths[i]);
		else if (r >= 0 && it->has_inode)
			r = inode_learn(&w->inodes, it->inode, paths[i],
					strcmp(it->type, "CREATE"));
	}
	/* The names of the call, by record type. */
	const char *first = NULL, *second = NULL;
	int first_i = -1;
	for (int i = 0; i < e->nitems; i++) {
		const char *t = e->items[i].type;

		if (!paths[i])
			continue;
		if (call->kind == TRACE_RENAME) {
			if (!strcmp(t, "DELETE") && !first)
				first = paths[i], first_i = i;
			else if (!strcmp(t, "CREATE") && !second)
				second = paths[i];
		} else if (call->kind == TRACE_LINK) {
			if (!strcmp(t, "NORMAL") && !first)
				first = paths[i];
			else if (!strcmp(t, "CREATE") && !second)
				second = paths[i];
		} else if (!first) {
			first = paths[i], first_i = i;
		}
	}
	if (r < 0)
		goto out;
	if (!first || ((call->kind == TRACE_RENAME || call->kind == TRACE_LINK) && !second)) {
		if (getenv("PWAPT_TRACE_DEBUG"))
			fprintf(stderr, "audit: lost %s, serial %" PRIu64 "\n",
				e->syscall, e->serial);
		lose(w);
		goto out;
	}
	if (call->kind == TRACE_SYMLINK) {
		/* The target, as written: the name audit kept without an
		 * inode. */
		const char *target = NULL;
		for (int i = 0; i < e->nitems; i++)
			if (e->items[i].name && !e->items[i].has_inode &&
			    !strcmp(e->items[i].type, "UNKNOWN"))
				target = e->items[i].name;
		r = record(w, TRACE_SYMLINK, first, target);
	} else if (call->kind) {
		r = record(w, call->kind, first, second);
	} else if (!strcmp(call->name, "unlinkat")) {
		r = record(w, e->a[2] & AT_REMOVEDIR ? TRACE_RMDIR : TRACE_DELETE, first, NULL);
	} else if (!strcmp(call->name, "mknod") || !strcmp(call->name, "mknodat")) {
		uint64_t mode = e->a[!strcmp(call->name, "mknod") ? 1 : 2] & S_IFMT;
		r = record(w, mode == 0 || mode == S_IFREG ? TRACE_CREATE : TRACE_MKNOD, first, NULL);
	} else {
		uint64_t flags = !strcmp(call->name, "open")	 ? e->a[1]
				 : !strcmp(call->name, "openat") ? e->a[2]
				 : !strcmp(call->name, "creat")	 ? (O_WRONLY | O_CREAT | O_TRUNC)
								 : 0;
		if (!strcmp(call->name, "openat2")) /* flags behind a pointer */
			flags = !strcmp(e->items[first_i].type, "CREATE") ? O_RDWR | O_CREAT : O_RDONLY;
		int n = open_kinds(flags, kinds);
		for (int k = 0; k < n && r >= 0; k++)
			r = record(w, kinds[k], first, NULL);
	}
out:
	for (int i = 0; i < MAX_ITEMS; i++)
		free(paths[i]);
	return r;
}

static struct event *event_for(struct audit_events *ev, uint64_t serial, int *r)
{
	struct event *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < MAX_PENDING; i++) {
		struct event *e = &ev->pending[i];

		if (e->used && e->serial == serial)
			return e;
		if (!e->used && !free_slot)
			free_slot = e;
		if (e->used && (!oldest || e->serial < oldest->serial))
			oldest = e;
	}
	if (!free_slot) {
		/* Its end never came: finish it with what it has. */
		*r = finish_event(ev, oldest);
		event_release(oldest);
		free_slot = oldest;
	}
	free_slot->used = true;
	free_slot->serial = serial;
	return free_slot;
}

/* PWAPT_TRACE_DEBUG set, -1 before it is read: every record costs no
 * look-up of the environment. */
static int debug = -1;

/* One record: TYPE, TEXT "audit(SEC.MS:SERIAL): k=v ...". */
int audit_events_record(struct audit_events *ev, int type, char *text)
{
	uint64_t serial;
	char *colon = strstr(text, "audit("), *body;
	struct event *e;
	int r = 0;

	if (type != AUDIT_SYSCALL && type != AUDIT_CWD && type != AUDIT_PATH &&
	    type != AUDIT_PROCTITLE && type != AUDIT_EOE)
		return 0;
	if (!colon || !(colon = strchr(colon, ':')) ||
	    sscanf(colon + 1, "%" SCNu64, &serial) != 1)
		return 0;
	body = strstr(colon, "): ");
	body = body ? body + 3 : colon;
	if (debug < 0)
		debug = getenv("PWAPT_TRACE_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "audit %d %s\n", type, text);
	e = event_for(ev, serial, &r);
	/* PROCTITLE comes after the PATH records; EOE, when sent, last. */
	if (type == AUDIT_PROCTITLE || type == AUDIT_EOE) {
		if (r >= 0)
			r = finish_event(ev, e);
		event_release(e);
		return r;
	}
	if (type == AUDIT_SYSCALL) {
		_cleanup_free_ char *key = field_str(body, "key");
		int nr = (int)field_u64(body, "syscall", 10);
		_cleanup_free_ char *arch = field(body, "arch");
		int machine = arch ? audit_elf_to_machine((unsigned)strtoul(arch, NULL, 16)) : ev->machine;
		const char *name = audit_syscall_to_name(nr, machine < 0 ? ev->machine : machine);

		if (!key || strcmp(key, ev->key) || !name) {
			event_release(e); /* not ours */
			e->used = true;
			e->serial = serial;
			return r;
		}
		unsigned long long sec = 0, ms = 0;
		if (sscanf(strstr(text, "audit("), "audit(%llu.%llu", &sec, &ms) == 2)
			e->time = sec * 1000000000ull + ms * 1000000ull;
		e->pid = (uint32_t)field_u64(body, "pid", 10);
		e->ppid = (uint32_t)field_u64(body, "ppid", 10);
		e->syscall = strdup(name);
		e->a[0] = field_u64(body, "a0", 16);
		e->a[1] = field_u64(body, "a1", 16);
		e->a[2] = field_u64(body, "a2", 16);
		e->a[3] = field_u64(body, "a3", 16);
	} else if (type == AUDIT_CWD) {
		e->cwd = field_str(body, "cwd");
	} else if (e->nitems == MAX_ITEMS) {
		e->overflow = true;
	} else {
		struct item *it = &e->items[e->nitems++];
		_cleanup_free_ char *dev = field(body, "dev"), *ino = field(body, "inode"),
				    *nt = field(body, "nametype");
		char *end;

		it->name = field_str(body, "name");
		if (dev) { /* MAJ:MIN in hex */
			unsigned long maj = strtoul(dev, &end, 16);

			if (end != dev && *end == ':' && end[1])
				it->dev = makedev(maj, strtoul(end + 1, NULL, 16));
		}
		if (ino) {
			it->inode = strtoull(ino, NULL, 10);
			it->has_inode = true;
		}
		snprintf(it->type, sizeof(it->type), "%s", nt ? nt : "UNKNOWN");
	}
	return r;
}


void audit_events_finish(struct audit_events *ev)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (ev->pending[i].used) {
			finish_event(ev, &ev->pending[i]);
			event_release(&ev->pending[i]);
		}
}
