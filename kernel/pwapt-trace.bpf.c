// SPDX-License-Identifier: GPL-2.0
/* pwapt's in-kernel file-access trace (DESIGN.md §5, README "Tracing").
 *
 * Attached to the raw syscall tracepoints, sys_exit: a record is made only
 * for a call that succeeded, when its arguments are still in the task's
 * registers and memory.  Paths are resolved in the kernel: a returned or
 * given descriptor, the working directory of AT_FDCWD and the directory
 * descriptor of an *at() call are turned into their paths relative to the
 * task's root (a world's root is its tree) by walking dentries and mounts;
 * the name the process gave is sent beside it and joined in user space.
 * (BPF LSM hooks and fentry would hand over resolved paths, but kernels
 * such as this project's machines refuse those program types: see README.)
 * The system call numbers are x86_64's.
 *
 * Only tasks in or below a cgroup (v2) of `tracked` are recorded, and for
 * Root on a host (`host_id`) every task of the initial pid namespace
 * outside them but the collector; everyone else costs a switch on the
 * syscall number and that one lookup.  Reads and execs are recorded once per world, process tree and file version, through
 * the LRU `seen`, and again after `epoch` (the latest creation of a world,
 * set by user space): the warnings ask what a tree read after a world was
 * created.  A record that does not fit the ring buffer, or whose path cannot
 * be resolved, is counted in `lost` at its world's slot: a trace is
 * complete only while that stays 0. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "trace-event.h"

char LICENSE[] SEC("license") = "GPL";

#define FMODE_READ	0x1
#define FMODE_WRITE	0x2
#define O_CREAT		0100
#define O_EXCL		0200
#define O_TRUNC		01000
#define S_IFMT		00170000
#define S_IFREG		0100000
#define AT_FDCWD	-100
#define AT_REMOVEDIR	0x200
#define AT_EMPTY_PATH	0x1000
#define PATH_MASK	(TRACE_PATH_MAX - 1)
#define REC_MASK	(4 * TRACE_PATH_MAX - 1)
#define MAX_DEPTH	256

/* x86_64 system call numbers. */
enum {
	NR_truncate = 76, NR_ftruncate = 77, NR_rename = 82, NR_mkdir = 83,
	NR_rmdir = 84, NR_creat = 85, NR_link = 86, NR_unlink = 87,
	NR_symlink = 88, NR_chmod = 90, NR_fchmod = 91, NR_chown = 92,
	NR_fchown = 93, NR_lchown = 94, NR_utime = 132, NR_mknod = 133,
	NR_utimes = 235, NR_openat = 257, NR_mkdirat = 258, NR_mknodat = 259,
	NR_fchownat = 260, NR_futimesat = 261, NR_unlinkat = 263,
	NR_renameat = 264, NR_linkat = 265, NR_symlinkat = 266,
	NR_fchmodat = 268, NR_utimensat = 280, NR_renameat2 = 316,
	NR_execveat = 322, NR_openat2 = 437, NR_fchmodat2 = 452,
	NR_open = 2, NR_execve = 59,
};

/* The level (depth below the cgroup v2 root) of the worlds' container
 * cgroups, set by user space: a world's processes may sit in cgroups below
 * its container's (liblxc attaches into ".lxc"), so the container's is
 * found as their ancestor at that level. */
__u32 tracked_level = 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACE_MAX_SLOTS);
	__type(key, __u64);   /* cgroup v2 id of a world's container */
	__type(value, __u32); /* the world's id: see trace-event.h */
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRACE_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Accesses in cgroups at the worlds' level that are not tracked (yet): a
 * world whose container's cgroup is here did something before the
 * collector tracked it.  When the map is full, untracked_full says so. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} untracked SEC(".maps");

__u64 untracked_full;

/* CLOCK_BOOTTIME ns of the latest creation of a world (user space). */
__u64 epoch;

/* Root on a host (user space sets it): the id (see `tracked`) that the
 * processes of the initial pid namespace outside every traced cgroup are
 * recorded under, 0 for none; the collector's own tgid, never recorded. */
__u32 host_id;
__u32 self_tgid;

/* Whether the current task is the host's (initial pid namespace), and not
 * the collector. */
static __always_inline int host_task(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return task->thread_pid->level == 0 &&
	       (bpf_get_current_pid_tgid() >> 32) != self_tgid;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* user space may resize it */
} events SEC(".maps");

struct seen_key {
	__u64 ino;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 dev;
	__u32 slot;
	__u32 kind;
	__u32 tree;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct seen_key);
	__type(value, __u64); /* when it was sent */
} seen SEC(".maps");

struct scratch {
	__u64 busy; /* a preempted run on this CPU still owns the buffers */
	struct pwapt_event_hdr hdr;
	char rec[4 * TRACE_PATH_MAX + TRACE_PATH_MAX];
	char walk[TRACE_PATH_MAX];
	char slack[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* A record being built: where its next string goes. */
struct builder {
	__u32 off;
	int bad;     /* could not be recorded: lost */
	int outside; /* not a file of the world's tree: not recorded */
};

/* The process tree of the current task (trace-event.h): walking up
 * real_parent while the parent is in the task's pid namespace and not its
 * init. */
struct tree_walk {
	struct task_struct *t;
};

static __always_inline int ns_pid(struct task_struct *t, unsigned int *level,
				  int *nr)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	struct upid up = {};
	unsigned int l = BPF_CORE_READ(pid, level);

	if (l > 7 || bpf_probe_read_kernel(&up, sizeof(up),
					   __builtin_preserve_access_index(
						   &pid->numbers[l])))
		return -1;
	*level = l;
	*nr = up.nr;
	return 0;
}

static long tree_step(__u32 index, void *data)
{
	struct tree_walk *w = data;
	struct task_struct *t = w->t;
	struct task_struct *parent = BPF_CORE_READ(t, real_parent);
	unsigned int level, plevel;
	int nr, pnr;

	if (!parent || parent == t || ns_pid(t, &level, &nr) ||
	    nr == 1 || ns_pid(parent, &plevel, &pnr) || plevel != level ||
	    pnr == 1)
		return 1;
	/* A new session (a login, a daemon) starts a tree of its own. */
	if (BPF_CORE_READ(t, signal, pids[PIDTYPE_SID]) !=
	    BPF_CORE_READ(parent, signal, pids[PIDTYPE_SID]))
		return 1;
	w->t = parent;
	return 0;
}

/* Each task's tree, found once (the walk reads a few fields of every
 * ancestor, through helpers): the cached tree stays while the task's
 * session does.  A process whose parent exits keeps the tree it had, as
 * the audit backend's tree of a pid does. */
struct tree_cache {
	__u64 sid;   /* the task's session (struct pid *) when it was found */
	__u32 tree;
	__u32 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tree_cache);
} trees SEC(".maps");

static __always_inline __u32 current_tree(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tree_walk w = {.t = (void *)task};
	struct tree_cache *c;
	struct task_struct *top;
	__u64 sid = (__u64)task->signal->pids[PIDTYPE_SID];

	c = bpf_task_storage_get(&trees, task, NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c && c->valid && c->sid == sid)
		return c->tree;
	bpf_loop(64, tree_step, &w, 0);
	top = w.t;
	if (!c)
		return BPF_CORE_READ(top, tgid);
	c->tree = BPF_CORE_READ(top, tgid);
	c->sid = sid;
	c->valid = 1;
	return c->tree;
}

/* SLOT here is the tracked map's value: the world's slot in the low bits,
 * a number of this tracking of it above (see trace-event.h). */
static __always_inline void count_lost(__u32 slot)
{
	__u32 index = slot & (TRACE_MAX_SLOTS - 1);
	__u64 *n = bpf_map_lookup_elem(&lost, &index);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* One step of walk_step()'s loop: bpf_loop() has the verifier check it
 * once, not once per level. */
struct walk {
	struct mount *m;
	struct vfsmount *vmnt;
	struct dentry *dentry;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	long pos;
	int bad;
	int outside; /* not below the task's root: a pipe, a socket, ... */
};

static long walk_step(__u32 index, void *data)
{
	struct walk *w = data;
	struct dentry *dentry = w->dentry, *parent;
	struct mount *m = w->m;
	struct dentry *mnt_root = BPF_CORE_READ(m, mnt.mnt_root);
	const unsigned char *name;
	struct scratch *sc;
	__u32 zero = 0, len;
	long pos = w->pos;

	if (dentry == w->root_dentry && w->vmnt == w->root_mnt)
		return 1;
	if (dentry == mnt_root) {
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

		if (up == m) {
			w->outside = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = up;
		w->vmnt = &up->mnt;
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (parent == dentry) {
		w->outside = 1;
		return 1;
	}
	len = BPF_CORE_READ(dentry, d_name.len);
	name = BPF_CORE_READ(dentry, d_name.name);
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc || len >= 256 || pos < (long)len + 1 || pos > TRACE_PATH_MAX) {
		w->bad = 1;
		return 1;
	}
	pos -= len;
	if (bpf_probe_read_kernel(&sc->walk[pos & PATH_MASK], len & 255, name)) {
		w->bad = 1;
		return 1;
	}
	pos--;
	sc->walk[pos & PATH_MASK] = '/';
	w->pos = pos;
	w->dentry = parent;
	return 0;
}

/* The path of (VMNT, DENTRY) relative to the task's root, as d_path()
 * would print it, into the builder's next string.  A global function: the
 * verifier checks it once, not at each of its many calls. */
__noinline int put_walk(struct builder *b, __u64 vmnt_addr, __u64 dentry_addr,
			int i)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vfsmount *vmnt = (void *)vmnt_addr;
	struct scratch *sc;
	__u32 zero = 0;
	struct walk w = {
		.m = container_of(vmnt, struct mount, mnt),
		.vmnt = vmnt,
		.dentry = (void *)dentry_addr,
		.root_dentry = task->fs->root.dentry,
		.root_mnt = task->fs->root.mnt,
		.pos = TRACE_PATH_MAX - 1,
	};
	long n, pos;

	if (!b || b->bad || b->outside)
		return 0;
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc) {
		b->bad = 1;
		return 0;
	}
	sc->walk[PATH_MASK] = 0;
	n = bpf_loop(MAX_DEPTH + 1, walk_step, &w, 0);
	if (w.bad || n > MAX_DEPTH) {
		b->bad = 1;
		return 0;
	}
	if (w.outside) {
		b->outside = 1;
		return 0;
	}
	pos = w.pos;
	if (pos == TRACE_PATH_MAX - 1) {
		pos--;
		sc->walk[pos & PATH_MASK] = '/';
	}
	n = bpf_probe_read_kernel_str(&sc->rec[b->off & REC_MASK],
				      TRACE_PATH_MAX, &sc->walk[pos & PATH_MASK]);
	if (n <= 0) {
		b->bad = 1;
		return 0;
	}
	sc->hdr.str_len[i & 3] = n;
	b->off += n;
	return 0;
}

/* A string of the process's memory (a name it passed). */
static __always_inline void put_user(struct builder *b, const char *uptr, int i)
{
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	long n;

	if (b->bad || b->outside)
		return;
	if (!sc) {
		b->bad = 1;
		return;
	}
	n = bpf_probe_read_user_str(&sc->rec[b->off & REC_MASK],
				    TRACE_PATH_MAX, uptr);
	if (n <= 0) {
		b->bad = 1;
		return;
	}
	sc->hdr.str_len[i & 3] = n;
	b->off += n;
}

static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds = fdt->fd;
	struct file *f = NULL;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void put_file(struct builder *b, struct file *f, int i)
{
	if (!f) {
		b->bad = 1;
		return;
	}
	put_walk(b, (__u64)BPF_CORE_READ(f, f_path.mnt),
		 (__u64)BPF_CORE_READ(f, f_path.dentry), i);
}

/* (DIRFD, NAME) as strings I and I+1: the directory is sent only for a
 * relative name; an empty name with AT_EMPTY_PATH (or NULL, utimensat)
 * is DIRFD itself. */
static __always_inline void put_at(struct builder *b, int dirfd,
				   const char *uname, int empty_ok, int i)
{
	char c = 0;

	if (uname)
		bpf_probe_read_user(&c, 1, uname);
	if (!uname || (!c && empty_ok)) {
		put_file(b, fd_file(dirfd), i);
		return;
	}
	if (c != '/') {
		if (dirfd == AT_FDCWD) {
			struct task_struct *task = (void *)bpf_get_current_task();

			put_walk(b, (__u64)BPF_CORE_READ(task, fs, pwd.mnt),
				 (__u64)BPF_CORE_READ(task, fs, pwd.dentry), i);
		} else {
			put_file(b, fd_file(dirfd), i);
		}
	}
	put_user(b, uname, i + 1);
}

static __always_inline void submit(struct scratch *sc, struct builder *b,
				   __u32 slot, int kind)
{
	__u32 size = sizeof(sc->hdr) + b->off;

	if (b->outside)
		return;
	if (b->bad) {
		count_lost(slot);
		return;
	}
	sc->hdr.slot = slot;
	sc->hdr.kind = kind;
	sc->hdr.time = bpf_ktime_get_boot_ns();
	if (size > sizeof(sc->hdr) + sizeof(sc->rec))
		return;
	/* The collector is woken only once the buffer is filling, not for
	 * each record (a wake-up costs the calling task): it reads the rest
	 * at its next poll's timeout, in one batch. */
	if (bpf_ringbuf_output(&events, &sc->hdr, size & (8 * TRACE_PATH_MAX - 1),
			       bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
					       bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8
				       ? BPF_RB_FORCE_WAKEUP
				       : BPF_RB_NO_WAKEUP))
		count_lost(slot);
}

/* Whether this tree of this world saw this version of the file already,
 * since the latest creation of a world: the ctime changes with the file, a
 * rename or a new link, and a recycled inode number comes with a new
 * ctime. */
static __always_inline int seen_before(struct file *f, __u32 slot, int kind,
				       __u32 tree, struct seen_key *key)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	__u64 now = bpf_ktime_get_boot_ns(), *when;

	key->ino = BPF_CORE_READ(inode, i_ino);
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ctime_sec = BPF_CORE_READ(inode, i_ctime_sec);
	key->ctime_nsec = BPF_CORE_READ(inode, i_ctime_nsec);
	key->slot = slot;
	key->kind = kind;
	key->tree = tree;
	when = bpf_map_lookup_elem(&seen, key);
	if (when && *when >= epoch)
		return 1;
	bpf_map_update_elem(&seen, key, &now, BPF_ANY);
	return 0;
}

/* A read or exec of F, once per world and file version. */
static __always_inline void file_once(struct scratch *sc, struct file *f,
				      __u32 slot, int kind)
{
	struct builder b = {};
	struct seen_key key = {};

	if (!f || seen_before(f, slot, kind, sc->hdr.tree, &key))
		return;
	__builtin_memset(&sc->hdr.str_len, 0, sizeof(sc->hdr.str_len));
	put_file(&b, f, TRACE_DIR1);
	submit(sc, &b, slot, kind);
	if (b.bad) /* not sent: the next access tries again */
		bpf_map_delete_elem(&seen, &key);
}

static __always_inline int interesting(long nr)
{
	switch (nr) {
	case NR_open: case NR_openat: case NR_openat2: case NR_creat:
	case NR_truncate: case NR_ftruncate: case NR_rename: case NR_renameat:
	case NR_renameat2: case NR_mkdir: case NR_mkdirat: case NR_rmdir:
	case NR_unlink: case NR_unlinkat: case NR_link: case NR_linkat:
	case NR_symlink: case NR_symlinkat: case NR_mknod: case NR_mknodat:
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2:
	case NR_chown: case NR_fchown: case NR_lchown: case NR_fchownat:
	case NR_utime: case NR_utimes: case NR_futimesat: case NR_utimensat:
	case NR_execve: case NR_execveat:
		return 1;
	}
	return 0;
}

static __always_inline void on_open(struct scratch *sc, __u32 slot, int fd,
				    unsigned long flags)
{
	struct file *f = fd_file(fd);
	unsigned int mode;

	if (!f)
		return;
	mode = BPF_CORE_READ(f, f_mode);
	if (mode & FMODE_READ)
		file_once(sc, f, slot, TRACE_READ);
	/* O_CREAT and O_TRUNC write even through a read-only descriptor. */
	if ((mode & FMODE_WRITE) || (flags & (O_CREAT | O_TRUNC))) {
		struct builder b = {};

		__builtin_memset(&sc->hdr.str_len, 0, sizeof(sc->hdr.str_len));
		put_file(&b, f, TRACE_DIR1);
		submit(sc, &b, slot,
		       (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)
			       ? TRACE_CREATE
			       : TRACE_WRITE);
	}
}

static __always_inline int mknod_kind(unsigned long mode)
{
	int fmt = mode & S_IFMT;

	return fmt == 0 || fmt == S_IFREG ? TRACE_CREATE : TRACE_MKNOD;
}

static __always_inline void record(struct scratch *sc, __u32 slot, long nr,
				   struct pt_regs *regs, long ret)
{
	unsigned long a0 = BPF_CORE_READ(regs, di), a1 = BPF_CORE_READ(regs, si),
		      a2 = BPF_CORE_READ(regs, dx), a3 = BPF_CORE_READ(regs, r10),
		      a4 = BPF_CORE_READ(regs, r8);
	struct builder b = {};
	int kind = 0;

	__builtin_memset(&sc->hdr.str_len, 0, sizeof(sc->hdr.str_len));
	switch (nr) {
	case NR_open:
		on_open(sc, slot, ret, a1);
		return;
	case NR_openat:
		on_open(sc, slot, ret, a2);
		return;
	case NR_openat2: {
		__u64 flags = 0;

		bpf_probe_read_user(&flags, sizeof(flags), (void *)a2);
		on_open(sc, slot, ret, flags);
		return;
	}
	case NR_creat:
		on_open(sc, slot, ret, O_CREAT);
		return;
	case NR_execve:
	case NR_execveat: {
		struct task_struct *task = bpf_get_current_task_btf();

		file_once(sc, task->mm->exe_file, slot,
			  TRACE_EXEC);
		return;
	}
	case NR_truncate:
		kind = TRACE_TRUNCATE;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_ftruncate:
		kind = TRACE_TRUNCATE;
		put_file(&b, fd_file(a0), TRACE_DIR1);
		break;
	case NR_rename:
		kind = TRACE_RENAME;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		put_at(&b, AT_FDCWD, (void *)a1, 0, TRACE_DIR2);
		break;
	case NR_renameat:
	case NR_renameat2:
		kind = TRACE_RENAME;
		put_at(&b, a0, (void *)a1, 0, TRACE_DIR1);
		put_at(&b, a2, (void *)a3, 0, TRACE_DIR2);
		break;
	case NR_mkdir:
		kind = TRACE_MKDIR;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_mkdirat:
		kind = TRACE_MKDIR;
		put_at(&b, a0, (void *)a1, 0, TRACE_DIR1);
		break;
	case NR_rmdir:
		kind = TRACE_RMDIR;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_unlink:
		kind = TRACE_DELETE;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_unlinkat:
		kind = a2 & AT_REMOVEDIR ? TRACE_RMDIR : TRACE_DELETE;
		put_at(&b, a0, (void *)a1, 0, TRACE_DIR1);
		break;
	case NR_link:
		kind = TRACE_LINK;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		put_at(&b, AT_FDCWD, (void *)a1, 0, TRACE_DIR2);
		break;
	case NR_linkat:
		kind = TRACE_LINK;
		put_at(&b, a0, (void *)a1, a4 & AT_EMPTY_PATH, TRACE_DIR1);
		put_at(&b, a2, (void *)a3, 0, TRACE_DIR2);
		break;
	case NR_symlink:
		kind = TRACE_SYMLINK;
		put_at(&b, AT_FDCWD, (void *)a1, 0, TRACE_DIR1);
		put_user(&b, (void *)a0, TRACE_NAME2);
		break;
	case NR_symlinkat:
		kind = TRACE_SYMLINK;
		put_at(&b, a1, (void *)a2, 0, TRACE_DIR1);
		put_user(&b, (void *)a0, TRACE_NAME2);
		break;
	case NR_mknod:
		kind = mknod_kind(a1);
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_mknodat:
		kind = mknod_kind(a2);
		put_at(&b, a0, (void *)a1, 0, TRACE_DIR1);
		break;
	case NR_chmod:
		kind = TRACE_CHMOD;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_fchmod:
		kind = TRACE_CHMOD;
		put_file(&b, fd_file(a0), TRACE_DIR1);
		break;
	case NR_fchmodat:
		kind = TRACE_CHMOD;
		put_at(&b, a0, (void *)a1, 0, TRACE_DIR1);
		break;
	case NR_fchmodat2:
		kind = TRACE_CHMOD;
		put_at(&b, a0, (void *)a1, a3 & AT_EMPTY_PATH, TRACE_DIR1);
		break;
	case NR_chown:
	case NR_lchown:
		kind = TRACE_CHOWN;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_fchown:
		kind = TRACE_CHOWN;
		put_file(&b, fd_file(a0), TRACE_DIR1);
		break;
	case NR_fchownat:
		kind = TRACE_CHOWN;
		put_at(&b, a0, (void *)a1, a4 & AT_EMPTY_PATH, TRACE_DIR1);
		break;
	case NR_utime:
	case NR_utimes:
		kind = TRACE_UTIMES;
		put_at(&b, AT_FDCWD, (void *)a0, 0, TRACE_DIR1);
		break;
	case NR_futimesat:
	case NR_utimensat:
		kind = TRACE_UTIMES;
		put_at(&b, a0, (void *)a1, 1, TRACE_DIR1);
		break;
	default:
		return;
	}
	submit(sc, &b, slot, kind);
}

/* The container's PID 1 is not counted: that is liblxc setting the
 * container up, then pwapt-init, before anything of the world runs. */
static __always_inline void note_untracked(__u64 cg)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	__u64 *n, one = 1;
	struct upid up = {};

	if (level > 7 ||
	    bpf_probe_read_kernel(&up, sizeof(up),
				  __builtin_preserve_access_index(
					  &pid->numbers[level])))
		return;
	if (up.nr == 1)
		return;
	n = bpf_map_lookup_elem(&untracked, &cg);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (bpf_map_update_elem(&untracked, &cg, &one, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&untracked, &cg))
		__sync_fetch_and_add(&untracked_full, 1);
}

SEC("raw_tp/sys_exit")
int pwapt_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1], nr;
	struct scratch *sc;
	__u32 zero = 0, *s, slot;
	__u64 cg;

	nr = BPF_CORE_READ(regs, orig_ax);
	if (!interesting(nr))
		return 0;
	if (ret < 0)
		return 0;
	cg = bpf_get_current_ancestor_cgroup_id(tracked_level);
	/* 0: above the worlds' level, the host */
	s = cg ? bpf_map_lookup_elem(&tracked, &cg) : NULL;
	if (s) {
		slot = *s;
	} else if (host_id && host_task()) {
		slot = host_id;
	} else {
		if (cg)
			note_untracked(cg);
		return 0;
	}
	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	if (__sync_val_compare_and_swap(&sc->busy, 0, 1)) {
		count_lost(slot);
		return 0;
	}
	sc->hdr.tree = current_tree();
	record(sc, slot, nr, regs, ret);
	__sync_val_compare_and_swap(&sc->busy, 1, 0);
	return 0;
}
