/* The process table of a PID namespace, read from the host's /proc: what
 * each process runs and maps, the systemd unit its cgroup names, and the
 * sockets a process holds (procs_sockets).
 * Private to libworld.  Nothing of a process is executed or trusted: its
 * /proc entries are parsed with bounded reads, and a process that exits
 * while it is read (its entries vanish, ESRCH, ENOENT) is left out. */
#ifndef PWAPT_PROCS_H
#define PWAPT_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A file a process runs (its executable) or maps. */
struct proc_file {
	dev_t dev;
	ino_t ino;
	char *path;   /* as /proc shows it to pwapt, " (deleted)" taken off */
	bool deleted; /* /proc said " (deleted)": no longer at its path */
	bool open;    /* held by a descriptor (PROCS_FDS), not mapped */
	/* With PROCS_FDS, of a descriptor's file: its type, and whether a
	 * descriptor of the process reads or writes it (/proc/PID/fdinfo's
	 * flags). */
	mode_t mode;
	bool reads, writes;
};

struct proc {
	pid_t pid;   /* in pwapt's own PID namespace (the host's) */
	pid_t nspid; /* in the scanned namespace: what the world calls it */
	pid_t ppid;  /* the parent, as PID */
	pid_t sid;   /* its session, in the scanned namespace */
	/* With PROCS_FDS: its descriptors could not all be read (an error
	 * other than the process exiting): FILES may miss some. */
	bool fds_unread;
	char comm[17];
	char *unit; /* the last "*.service" of its cgroup path, or NULL */
	/* With PROCS_FILES: the executable first, then what it maps; with
	 * PROCS_FDS, then what its descriptors hold (a file mapped too is
	 * listed once, as mapped). */
	struct proc_file *files;
	size_t n_files;
};

struct proc_table {
	struct proc *v; /* sorted by pid */
	size_t n;
};

enum { PROCS_FILES = 1u << 0, PROCS_FDS = 1u << 1 };

/* The processes in the PID namespace of process NS_OF (a host pid; 0:
 * pwapt's own), with FLAGS PROCS_FILES their executable and the files
 * they map, PROCS_FDS the files their descriptors hold (each file once a
 * process, at most 4096).  -ESRCH when NS_OF is gone. */
int procs_scan(pid_t ns_of, unsigned flags, struct proc_table *out);
void procs_release(struct proc_table *t);
/* The process of T with host pid PID, or NULL. */
const struct proc *procs_find(const struct proc_table *t, pid_t pid);
/* Whether ANCESTOR (a host pid) is PID itself or one of its ancestors
 * within T. */
bool procs_descends(const struct proc_table *t, pid_t pid, pid_t ancestor);

/* The sockets process PID (a host pid) holds through its descriptors: the
 * inodes its /proc/PID/fd links name ("socket:[N]"), at most MAX of them
 * into V.  Returns how many; 0 when PID is gone or holds none. */
size_t procs_sockets(pid_t pid, unsigned long *v, size_t max);

/* Parsers of /proc's text, for the scan and the fuzz target: the systemd
 * unit a cgroup file names (malloc'd, NULL for none); one line of a maps
 * file (false for a line that maps no file). */
char *procs_cgroup_unit(const char *text);
bool procs_maps_line(const char *line, size_t len, struct proc_file *out);

#endif
