/* What kernel/pwapt-trace.bpf.c sends to user space, shared by both sides.
 * Plain C types only: included by the BPF program (after vmlinux.h) and by
 * world/trace-bpf.c. */
#ifndef PWAPT_TRACE_EVENT_H
#define PWAPT_TRACE_EVENT_H

#define TRACE_PATH_MAX	4096 /* PATH_MAX, a power of two */
#define TRACE_MAX_SLOTS 256  /* tracked worlds at a time */
/* A tracked world's id (the `tracked` map's value, a record's SLOT): its
 * slot (an index of `lost`) in the low 8 bits, and above them a number
 * the collector gives each tracking, so that a record or a remembered
 * read of a slot's earlier world is never taken for its new one. */
#define TRACE_SLOT_OF(id) ((id) & (TRACE_MAX_SLOTS - 1))

/* Kinds of access, as the table names them (see trace-bpf.c). */
enum trace_kind {
	TRACE_READ = 1,
	TRACE_WRITE,
	TRACE_CREATE, /* a file that did not exist (O_EXCL, mknod S_IFREG) */
	TRACE_MKDIR,
	TRACE_MKNOD,
	TRACE_DELETE,
	TRACE_RMDIR,
	TRACE_RENAME,  /* first path: the old name, second: the new one */
	TRACE_LINK,    /* first: the existing file, second: the new name */
	TRACE_SYMLINK, /* first: the new link, second: its target, verbatim */
	TRACE_TRUNCATE,
	TRACE_CHMOD,
	TRACE_CHOWN,
	TRACE_UTIMES,
	TRACE_EXEC,
	TRACE_KIND_MAX
};

/* A record of the ring buffer: this header, then the four strings of
 * STR_LEN (each with its NUL; a length 0 means absent), one after the
 * other.  A path is (DIR, NAME): DIR the directory the kernel resolved
 * (the descriptor, or the working directory, relative to the task's
 * root), NAME the name as the process gave it.  NAME absolute or DIR
 * absent: NAME alone; NAME empty: DIR itself (an fd, an exec). */
enum { TRACE_DIR1, TRACE_NAME1, TRACE_DIR2, TRACE_NAME2, TRACE_NSTR };

/* TREE: the process tree that made the call, named by the pid (in the
 * initial namespace) of its oldest ancestor in the world below the world's
 * init: a command wexec started, a service init started, with everything
 * they ran.  TIME: when, in CLOCK_BOOTTIME nanoseconds (the collector
 * turns it into wall-clock time for the table). */
struct pwapt_event_hdr {
	unsigned int slot;
	unsigned short kind;
	unsigned short pad;
	unsigned int tree;
	unsigned int pad2;
	unsigned long long time;
	unsigned int str_len[TRACE_NSTR];
};

#endif
