/* The audit trace backend (DESIGN.md §5): for kernels where the BPF
 * programs cannot load, and for sites that standardise on audit.  Through
 * libaudit it adds one syscall-exit rule per traced world, keyed
 * "pwapt:DEV:INO" (the state directory's), and turns the records into the
 * same tables as trace-bpf.c (trace-writer.c writes them).
 *
 * Attribution.  Kernel 6.18's audit records carry no cgroup and no
 * container id (the audit container id patches were never merged), and a
 * process's loginuid and session id can only be set by the process itself
 * (and changed again by a world's process holding CAP_AUDIT_CONTROL), so
 * neither is exact.  What is: the device of the inode a call reached, in
 * each PATH record (dev=MAJ:MIN).  Every world's tree is its own overlay
 * mount, with its own anonymous superblock that no other tree shares; the
 * rules filter on it in the kernel (devmajor, devminor), and the collector
 * keeps a record only for the world whose device its PATH record names.
 * A world whose root shares its device with the host's "/" or another
 * world (Root's container over a plain directory) cannot be told apart:
 * it is not traced, and its table says incomplete.
 *
 * Paths.  A PATH record's name= is the name the process passed, and the
 * CWD record the working directory relative to the process's root: the
 * two give the world-relative path of a name passed with AT_FDCWD.  For a
 * name relative to a directory descriptor audit says nothing of the
 * directory's path, only its inode (the PARENT record): the collector
 * remembers the path under which it saw each inode of the world, and
 * resolves the name through its parent's inode, or its own; when neither
 * is known, the access is counted lost.
 *
 * Coexistence with auditd.  When no audit daemon runs, the collector
 * registers itself as the daemon (AUDIT_SET pid), enables auditing and
 * raises the backlog if needed, and puts them back as it found them on
 * exit (what it found is kept in trace.audit, so that a collector started
 * after one was killed restores it too).  When auditd runs, the kernel
 * refuses a second daemon (-EEXIST): the collector then reads the
 * read-only multicast group AUDIT_NLGRP_READLOG, as audisp plugins and
 * go-libaudit do, and auditd's rules and log stay as they are (its log
 * also receives pwapt's keyed records).  The collector removes its own
 * rules on exit, and at start any rule of its key a killed collector left.
 *
 * Loss.  The kernel's lost counter (audit status) going up, or the
 * multicast socket overflowing (ENOBUFS), counts against every traced
 * world: audit does not say whose records were dropped.
 *
 * Flush requests (trace-flush.h).  Audit delivers asynchronously: a call
 * queues its records at its exit, and the kernel's kauditd thread sends
 * them on later, so that a call that returned may have its records still
 * in the kernel.  The collector sends a user record of its own (a
 * marker, AUDIT_TRUSTED_APP, with its key and a number) through the same
 * queue, which kauditd sends in order: once the marker is back, every
 * record queued before it is read (or was lost, and counted).  Beside
 * auditd, the marker is also in auditd's log.  A marker that does not
 * come back within MARKER_MS (auditing's user records excluded by a
 * rule, a rate limit) answers "not flushed". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libaudit.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "trace-audit-events.h"
#include "trace-audit.h"
#include "trace-flush.h"
#include "trace-teller.h"
#include "trace-writer.h"

#define BATCH_MS      200
#define GATHER_MS     20
#define MAX_WORLDS    256
#define BACKLOG_LIMIT 8192
#define AUDIT_STATE   "trace.audit" /* what the daemon mode changed */
#define MARKER_MS     2000	    /* below TRACE_FLUSH_TIMEOUT_MS */

/* The calls traced (DESIGN.md §5), by name: each architecture has its own
 * numbers, and some of them lack a few names. */
static const char *const syscalls[] = {
	"open",	      "openat",	   "openat2",	 "creat",     "rename",
	"renameat",   "renameat2", "unlink",	 "unlinkat",  "rmdir",
	"mkdir",      "mkdirat",   "link",	 "linkat",    "symlink",
	"symlinkat",  "mknod",	   "mknodat",	 "truncate",  "chmod",
	"fchmodat",   "fchmodat2", "chown",	 "lchown",    "fchownat",
	"utime",      "utimes",	   "futimesat",	 "utimensat", "execve",
	"execveat",
};


struct trace_audit {
	struct world_store *s;
	int lock_fd;
	int ctl;	    /* requests: status, rules */
	int rx;		    /* records: the daemon's socket or the multicast one */
	bool daemon;	    /* registered as the audit daemon */
	char key[64];
	dev_t host_dev;	    /* of "/" */
	int machine;
	unsigned long long attached;
	uint32_t lost_seen; /* the kernel's lost counter, last read */
	struct audited *worlds[MAX_WORLDS];
	struct audit_events ev;
	struct timespec last_sync;
	const char *mode;   /* for messages: how records arrive */
	struct trace_flush flush;
	struct trace_teller teller; /* takes the requests, sets the epoch */
	uint64_t marker;  /* the number of the latest marker sent */
	bool marker_back; /* and whether it came back */
};

/* Whether KEY's rule data holds our key (a rule may hold several keys,
 * separated by \001). */
static bool rule_has_key(const struct audit_rule_data *r, const char *key)
{
	size_t off = 0;

	for (uint32_t i = 0; i < r->field_count && i < AUDIT_MAX_FIELDS; i++) {
		uint32_t f = r->fields[i] & ~AUDIT_OPERATORS, len = r->values[i];

		if (f == AUDIT_FILTERKEY && off + len <= r->buflen) {
			const char *k = r->buf + off, *end = k + len;

			while (k < end) {
				const char *sep = memchr(k, AUDIT_KEY_SEPARATOR, end - k);
				size_t n = (sep ? sep : end) - k;

				if (n == strlen(key) && !memcmp(k, key, n))
					return true;
				k += n + 1;
			}
		}
		if (f == AUDIT_FILTERKEY || f == AUDIT_WATCH || f == AUDIT_DIR ||
		    f == AUDIT_EXE || f == AUDIT_SUBJ_USER || f == AUDIT_OBJ_USER ||
		    (f >= AUDIT_SUBJ_ROLE && f <= AUDIT_SUBJ_CLR) ||
		    (f >= AUDIT_OBJ_ROLE && f <= AUDIT_OBJ_LEV_HIGH))
			off += len;
	}
	return false;
}

/* Removes every rule holding KEY: ours, or a killed collector's. */
static int sweep_rules(struct trace_audit *c)
{
	struct audit_rule_data *stale[256];
	size_t n = 0;
	int r;

	if ((r = audit_request_rules_list_data(c->ctl)) < 0)
		return r;
	for (;;) {
		struct audit_reply rep;

		r = audit_get_reply(c->ctl, &rep, GET_REPLY_BLOCKING, 0);
		if (r <= 0 || rep.type == NLMSG_DONE)
			break;
		if (rep.type == NLMSG_ERROR && rep.error->error) {
			r = rep.error->error;
			break;
		}
		if (rep.type != AUDIT_LIST_RULES || !rule_has_key(rep.ruledata, c->key) ||
		    n == sizeof(stale) / sizeof(stale[0]))
			continue;
		size_t size = sizeof(*rep.ruledata) + rep.ruledata->buflen;
		if ((stale[n] = malloc(size))) {
			memcpy(stale[n], rep.ruledata, size);
			n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int d = audit_delete_rule_data(c->ctl, stale[i], stale[i]->flags,
					       stale[i]->action);

		if (d < 0 && d != -ENOENT && r >= 0)
			r = d;
		free(stale[i]);
	}
	return r < 0 ? r : 0;
}

/* Adds (ADD) or deletes the rules of world device DEV, one per
 * architecture the kernel audits (64 and 32 bit x86 here). */
/* Adds one "KEY=VALUE" pair to *RULE: libaudit writes into the text. */
static int rule_pair(struct audit_rule_data **rule, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int rule_pair(struct audit_rule_data **rule, const char *fmt, ...)
{
	char pair[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pair, sizeof(pair), fmt, ap);
	va_end(ap);
	return audit_rule_fieldpair_data(rule, pair, AUDIT_FILTER_EXIT) ? -EINVAL : 0;
}

/* Adds the field key=KEY to *RULE.  By hand: libaudit's fieldpair
 * accepts a key only after a global flag auditctl sets. */
static int rule_key(struct audit_rule_data **rule, const char *key)
{
	struct audit_rule_data *r = *rule;
	size_t len = strlen(key);

	if (r->field_count >= AUDIT_MAX_FIELDS || len > AUDIT_MAX_KEY_LEN)
		return -EINVAL;
	if (!(r = realloc(r, sizeof(*r) + r->buflen + len)))
		return -ENOMEM;
	memcpy(r->buf + r->buflen, key, len);
	r->fields[r->field_count] = AUDIT_FILTERKEY;
	r->fieldflags[r->field_count] = AUDIT_EQUAL;
	r->values[r->field_count++] = len;
	r->buflen += len;
	*rule = r;
	return 0;
}

static int world_rules(struct trace_audit *c, dev_t dev, bool add)
{
	static const char *const arches[] = {"b64", "b32"};
	int r = 0;

	for (size_t a = 0; a < 2; a++) {
		struct audit_rule_data *rule = audit_rule_create_data();
		int e;

		if (!rule)
			return -ENOMEM;
		e = rule_pair(&rule, "arch=%s", arches[a]);
		for (size_t i = 0; !e && i < sizeof(syscalls) / sizeof(*syscalls); i++)
			audit_rule_syscallbyname_data(rule, syscalls[i]);
		if (!e)
			e = rule_pair(&rule, "devmajor=%u", major(dev));
		if (!e)
			e = rule_pair(&rule, "devminor=%u", minor(dev));
		if (!e)
			e = rule_pair(&rule, "success=1");
		if (!e)
			e = rule_key(&rule, c->key);
		if (e) {
			audit_rule_free_data(rule);
			if (a > 0) /* a kernel without 32-bit calls */
				continue;
			return e;
		}
		e = add ? audit_add_rule_data(c->ctl, rule, AUDIT_FILTER_EXIT, AUDIT_ALWAYS)
			: audit_delete_rule_data(c->ctl, rule, AUDIT_FILTER_EXIT, AUDIT_ALWAYS);
		audit_rule_free_data(rule);
		if (e < 0 && !(a > 0 && add) && r >= 0)
			r = e;
	}
	return r;
}

static int get_status(struct trace_audit *c, struct audit_status *out)
{
	struct audit_reply rep;
	int r;

	if ((r = audit_request_status(c->ctl)) < 0)
		return r;
	for (int tries = 0; tries < 16; tries++) {
		r = audit_get_reply(c->ctl, &rep, GET_REPLY_BLOCKING, 0);
		if (r <= 0)
			return r < 0 ? r : -EIO;
		if (rep.type == AUDIT_GET) {
			*out = *rep.status;
			return 0;
		}
		if (rep.type == NLMSG_ERROR && rep.error->error)
			return rep.error->error;
	}
	return -EIO;
}

/* trace.audit: "ENABLED BACKLOG" as found before this or a killed
 * collector changed them. */
static int load_saved(struct trace_audit *c, uint32_t *enabled, uint32_t *backlog)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(c->s->state_fd, AUDIT_STATE, &text, &len);

	if (r < 0)
		return r;
	return sscanf(text, "%" SCNu32 " %" SCNu32, enabled, backlog) == 2 ? 0 : -EBADMSG;
}

static int save_found(struct trace_audit *c, const struct audit_status *st)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "%" PRIu32 " %" PRIu32 "\n",
			 st->enabled, st->backlog_limit);

	return write_file_atomic(c->s->state_fd, AUDIT_STATE, text, n, 0600);
}

/* Puts enabled and backlog back as trace.audit says, then forgets it. */
static void restore_found(struct trace_audit *c)
{
	uint32_t enabled, backlog;

	if (load_saved(c, &enabled, &backlog) < 0)
		return;
	audit_set_backlog_limit(c->ctl, backlog);
	if (enabled != 2) /* 2: locked, never changed */
		audit_set_enabled(c->ctl, enabled);
	unlinkat(c->s->state_fd, AUDIT_STATE, 0);
}

/* The daemon's socket when none runs, else the multicast group. */
static int open_receiver(struct trace_audit *c, struct world_error *err)
{
	struct audit_status st;
	int r;

	if ((r = get_status(c, &st)) < 0)
		return werr_errno(err, -r, "cannot read the audit status");
	c->lost_seen = st.lost;
	if (st.enabled == 2 && st.pid == 0)
		return werr(err, EPERM, "audit is locked, and no audit daemon runs");
	if ((c->rx = audit_open()) < 0)
		return werr_errno(err, errno, "cannot open the audit socket");
	r = audit_set_pid(c->rx, getpid(), WAIT_YES);
	if (r >= 0) {
		uint32_t enabled, backlog;

		c->daemon = true;
		c->mode = "as the audit daemon";
		/* Room for bursts: a record the kernel cannot send goes to
		 * its retry and hold queues, and from there, when auditing
		 * was not on at boot, to the kernel's log only, uncounted. */
		int size = 8 << 20;
		if (setsockopt(c->rx, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(c->rx, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		/* A killed collector's record of what it found wins. */
		if (load_saved(c, &enabled, &backlog) < 0 &&
		    (r = save_found(c, &st)) < 0)
			return werr_errno(err, -r, "cannot write %s", AUDIT_STATE);
		if ((st.enabled == 0 && (r = audit_set_enabled(c->ctl, 1)) < 0) ||
		    (st.backlog_limit < BACKLOG_LIMIT &&
		     (r = audit_set_backlog_limit(c->ctl, BACKLOG_LIMIT)) < 0))
			return werr_errno(err, -r, "cannot enable auditing");
		return 0;
	}
	close(c->rx);
	c->rx = -1;
	if (r != -EEXIST)
		return werr_errno(err, -r, "cannot receive audit records");
	/* auditd runs: listen beside it. */
	if (st.enabled == 0)
		return werr(err, EPERM, "auditd runs with auditing disabled");
	struct sockaddr_nl addr = {.nl_family = AF_NETLINK,
				   .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1)};
	int size = 8 << 20;

	/* The kernel multicasts audit records in the initial network
	 * namespace only: the socket is made there (PWAPT_TRACE_NETNS: a
	 * namespace file of it, for a collector started in another, as
	 * the tests are). */
	const char *ns = getenv("PWAPT_TRACE_NETNS");
	_cleanup_close_ int self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int init_ns = open(ns && *ns ? ns : "/proc/1/ns/net",
					   O_RDONLY | O_CLOEXEC);
	bool moved = self_ns >= 0 && init_ns >= 0 && setns(init_ns, CLONE_NEWNET) == 0;

	c->rx = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (moved && setns(self_ns, CLONE_NEWNET) < 0)
		return werr_errno(err, errno, "cannot return to the network namespace");
	if (c->rx < 0 || bind(c->rx, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return werr_errno(err, errno, "cannot join the audit multicast group");
	if (setsockopt(c->rx, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(c->rx, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	c->mode = "beside auditd, through its multicast group";
	return 0;
}

/* The traced world whose tree is on device DEV. */
static struct audited *world_of_dev(void *arg, dev_t dev)
{
	struct trace_audit *c = arg;

	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i] && c->worlds[i]->t->cgroup &&
		    (dev_t)c->worlds[i]->t->cgroup == dev)
			return c->worlds[i];
	return NULL;
}

int trace_audit_open(struct trace_audit **out, struct world_store *s,
		     struct world_error *err)
{
	struct trace_audit *c = calloc(1, sizeof(*c));
	struct stat st;
	int r;

	if (!c)
		return werr(err, ENOMEM, "out of memory");
	c->s = s;
	c->ctl = c->rx = -1;
	c->flush.fd = -1;
	c->teller = (struct trace_teller)TRACE_TELLER_INIT;
	c->lock_fd = openat(s->state_fd, TRACE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno;
		trace_audit_free(c);
		return r == EWOULDBLOCK ? werr(err, EBUSY, "another trace collector runs")
					: werr_errno(err, r, "cannot lock %s", TRACE_LOCK);
	}
	if ((r = trace_lock_stamp(c->lock_fd)) < 0) {
		trace_audit_free(c);
		return werr_errno(err, -r, "cannot write %s", TRACE_LOCK);
	}
	if ((r = trace_flush_listen(s, &c->flush)) < 0) {
		trace_audit_free(c);
		return werr_errno(err, -r, "cannot make %s", TRACE_SOCKET);
	}
	if (fstat(s->state_fd, &st) < 0) {
		r = errno;
		trace_audit_free(c);
		return werr_errno(err, r, "cannot stat the state directory");
	}
	snprintf(c->key, sizeof(c->key), "pwapt:%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	if (stat("/", &st) < 0) {
		r = errno;
		trace_audit_free(c);
		return werr_errno(err, r, "cannot stat /");
	}
	c->host_dev = st.st_dev;
	c->machine = audit_detect_machine();
	c->ev = (struct audit_events){.key = c->key, .machine = c->machine,
				      .world_of = world_of_dev, .arg = c};
	set_aumessage_mode(MSG_QUIET, DBG_NO);
	if ((c->ctl = audit_open()) < 0) {
		r = errno;
		trace_audit_free(c);
		return werr_errno(err, r, "cannot open the audit socket");
	}
	if ((r = sweep_rules(c)) < 0) {
		trace_audit_free(c);
		return werr_errno(err, -r, "cannot list the audit rules");
	}
	if ((r = open_receiver(c, err)) < 0) {
		trace_audit_free(c);
		return r;
	}
	c->attached = trace_attached_ticks();
	if ((r = trace_teller_start(&c->teller, s, c->flush.fd, NULL, NULL)) <
	    0) {
		trace_audit_free(c);
		return werr_errno(err, -r, "cannot read the worlds' creation");
	}
	clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
	*out = c;
	return 0;
}

const char *trace_audit_mode(const struct trace_audit *c)
{
	return c->mode;
}

static void audited_free(struct audited *w)
{
	if (!w)
		return;
	traced_free(w->t);
	inode_map_release(&w->inodes);
	free(w);
}

static int untrack(struct trace_audit *c, size_t i)
{
	struct audited *w = c->worlds[i];
	/* A world not told apart (device 0) has no rule. */
	int r = w->t->cgroup ? world_rules(c, (dev_t)w->t->cgroup, false) : 0;
	int f = traced_flush(w->t, true);

	audited_free(w);
	c->worlds[i] = NULL;
	return r < 0 ? r : f;
}

/* Whether another traced world, or the host, has device DEV. */
static bool dev_shared(struct trace_audit *c, dev_t dev)
{
	if (dev == c->host_dev)
		return true;
	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i] && (dev_t)c->worlds[i]->t->cgroup == dev)
			return true;
	return false;
}

static int track(struct trace_audit *c, const char *name, pid_t pid,
		 struct world_error *err)
{
	_cleanup_free_ char *proc = NULL;
	struct audited *w;
	struct stat st;
	size_t i;
	int r;

	for (i = 0; i < MAX_WORLDS && c->worlds[i]; i++)
		;
	if (i == MAX_WORLDS)
		return werr(err, ENOSPC, "cannot trace '%s': %d worlds traced already",
			    name, MAX_WORLDS);
	if (asprintf(&proc, "/proc/%d/root", (int)pid) < 0)
		return werr(err, ENOMEM, "out of memory");
	/* Gone meanwhile: the container stopped since it was listed. */
	if (stat(proc, &st) < 0 && errno == ENOENT)
		return 0;
	if (stat(proc, &st) < 0)
		return werr_errno(err, errno, "cannot find the root of '%s'", name);
	if (!(w = calloc(1, sizeof(*w))) || !(w->t = calloc(1, sizeof(*w->t))) ||
	    !(w->t->name = strdup(name))) {
		audited_free(w);
		return werr(err, ENOMEM, "out of memory");
	}
	w->t->fd = -1;
	w->t->seen = true;
	w->t->init_pid = pid;
	w->t->cgroup = st.st_dev;
	unsigned long long started;
	if (trace_start_ticks(pid, &started) < 0 || started <= c->attached)
		w->t->gap = true;
	/* Not its own filesystem: audit cannot tell its accesses from
	 * others'.  Its table says so, and it is not traced. */
	bool shared = dev_shared(c, st.st_dev);
	if (shared)
		w->t->gap = true;
	/* The rule first: once the table exists, wcreate returns and the
	 * world's processes run; their records wait in the socket until
	 * the world is ours (c->worlds). */
	if (!shared && (r = world_rules(c, st.st_dev, true)) < 0) {
		audited_free(w);
		return werr_errno(err, -r, "cannot add the audit rule of '%s'", name);
	}
	if ((r = traced_open_table(c->s, w->t, err)) < 0) {
		if (!shared)
			world_rules(c, st.st_dev, false);
		audited_free(w);
		return r;
	}
	crash_point("trace-audit-table");
	if (shared)
		w->t->cgroup = 0; /* no record is its */
	c->worlds[i] = w;
	return 0;
}

static struct audited *find_world(struct trace_audit *c, const char *name)
{
	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i] && !strcmp(c->worlds[i]->t->name, name))
			return c->worlds[i];
	return NULL;
}

int trace_audit_scan(struct trace_audit *c, struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	int r;

	if ((r = store_world_names(c->s, &names)) < 0)
		return werr_errno(err, -r, "cannot list the worlds");
	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i])
			c->worlds[i]->t->seen = false;
	for (size_t i = 0;; i++) {
		const char *name = names[i] ? names[i] : WORLD_ROOT;
		struct audited *w;
		pid_t pid;

		if (!names[i] && store_root_is_host(c->s))
			break;
		if (container_running(c->s, name, &pid)) {
			if ((w = find_world(c, name)) && w->t->init_pid != pid) {
				for (size_t j = 0; j < MAX_WORLDS; j++)
					if (c->worlds[j] == w && (r = untrack(c, j)) < 0)
						return werr_errno(err, -r, "cannot write a trace table");
				w = NULL;
			}
			if (w)
				w->t->seen = true;
			else if ((r = track(c, name, pid, err)) < 0 &&
				 (r != -ENOENT || store_world_exists(c->s, name)))
				return r;
		}
		if (!names[i])
			break;
	}
	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i] && !c->worlds[i]->t->seen && (r = untrack(c, i)) < 0)
			return werr_errno(err, -r, "cannot write a trace table");
	return 0;
}

/* The text of this collector's marker number N (see "Flush requests"):
 * random, so that no process of a world sends one in its name. */
static void marker_text(const struct trace_audit *c, uint64_t n, char *buf,
			size_t len)
{
	snprintf(buf, len, "op=pwapt-trace-flush key=%s n=%016" PRIx64, c->key,
		 n);
}

/* Whether record TEXT of TYPE is the marker awaited. */
static bool is_marker(const struct trace_audit *c, int type, const char *text)
{
	char want[128], quoted[136];

	if (type != AUDIT_TRUSTED_APP || c->marker_back)
		return false;
	marker_text(c, c->marker, want, sizeof(want));
	snprintf(quoted, sizeof(quoted), "msg='%s ", want);
	return strstr(text, quoted) != NULL;
}

static void lose_all(struct trace_audit *c, uint64_t n)
{
	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i])
			c->worlds[i]->t->lost += n;
}

/* Reads the records that arrived, without waiting: how many, or
 * -errno. */
static int drain(struct trace_audit *c)
{
	static char buf[MAX_AUDIT_MESSAGE_LENGTH * 8];
	int got = 0;

	for (;; got++) {
		ssize_t n = recv(c->rx, buf, sizeof(buf) - 1, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			lose_all(c, 1); /* the socket overflowed */
			continue;
		}
		if (n < 0)
			return errno == EAGAIN ? got : -errno;
		/* One record a datagram.  Its nlmsg_len is not to be trusted:
		 * the kernel sends the daemon the payload's length there,
		 * the multicast group the whole message's. */
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int r;

		if ((size_t)n < NLMSG_HDRLEN || h->nlmsg_type < AUDIT_FIRST_USER_MSG)
			continue;
		buf[n] = '\0';
		if (is_marker(c, h->nlmsg_type, buf + NLMSG_HDRLEN)) {
			c->marker_back = true;
			continue;
		}
		/* Read after the record came: an access made after the
		 * teller told a request is judged by that request's epoch. */
		c->ev.epoch = trace_teller_epoch(&c->teller);
		if ((r = audit_events_record(&c->ev, h->nlmsg_type, buf + NLMSG_HDRLEN)) < 0)
			return r;
	}
}

static int read_lost(struct trace_audit *c)
{
	struct audit_status st;
	int r = get_status(c, &st);

	if (r < 0)
		return r;
	if (st.lost != c->lost_seen)
		lose_all(c, (uint32_t)(st.lost - c->lost_seen));
	c->lost_seen = st.lost;
	return 0;
}

/* At exit, as the daemon: the records the kernel still queues for it are
 * read, for at most DRAIN_MS; what is left when it gives up would go to
 * the kernel log once it unregisters, so it is counted lost.  (Beside
 * auditd, the queue is auditd's.) */
#define DRAIN_MS 5000
static void drain_backlog(struct trace_audit *c)
{
	struct audit_status st;
	int quiet = 0;

	/* The kernel's queue empty is not enough: kauditd may hold a record
	 * it is sending (or retrying), so 100 ms without one, too. */
	for (int waited = 0;; waited += 10) {
		int n = drain(c);

		if (!c->daemon || n < 0 || get_status(c, &st) < 0)
			return;
		quiet = n == 0 && st.backlog == 0 ? quiet + 1 : 0;
		if (quiet >= 10)
			return;
		if (waited >= DRAIN_MS) {
			lose_all(c, st.backlog ? st.backlog : 1);
			return;
		}
		poll(NULL, 0, 10);
	}
}

static int flush_all(struct trace_audit *c, bool final)
{
	int r = read_lost(c);

	crash_pause("trace-tables");
	for (size_t i = 0; i < MAX_WORLDS && r >= 0; i++)
		if (c->worlds[i])
			r = traced_flush(c->worlds[i]->t, final);
	return r;
}

/* Sends a marker and reads the records until it is back (at most
 * MARKER_MS): every record the kernel queued before it is then read.
 * 0, -ETIMEDOUT, -EPERM when the marker could not be sent (whatever the
 * reason: the collector goes on, its readers told "not flushed"), or
 * -errno of reading the records. */
static int await_marker(struct trace_audit *c)
{
	char text[128];
	struct timespec start;
	uint64_t n;
	int r;

	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != sizeof(n))
		n = trace_now_ns() ^ ((uint64_t)getpid() << 32);
	c->marker = n;
	c->marker_back = false;
	marker_text(c, n, text, sizeof(text));
	/* 0: libaudit hid a refusal (no audit, no CAP_AUDIT_WRITE). */
	if (audit_log_user_message(c->ctl, AUDIT_TRUSTED_APP, text, NULL, NULL,
				   NULL, 1) <= 0)
		return -EPERM;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = {.fd = c->rx, .events = POLLIN};
		long left;

		if ((r = drain(c)) < 0)
			return r;
		if (c->marker_back)
			return 0;
		if ((left = MARKER_MS - trace_ms_since(&start)) <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Answers the flush requests taken: the records delivered up to now
 * written to the tables. */
static int serve_flush(struct trace_audit *c, struct world_error *err)
{
	int marker = await_marker(c), r;

	if (marker < 0 && marker != -ETIMEDOUT && marker != -EPERM) {
		trace_flush_answer(&c->flush, false);
		return werr_errno(err, -marker, "cannot read audit records");
	}
	/* Without the marker: what came is written all the same, and the
	 * readers told that it may not be all. */
	clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
	r = flush_all(c, false);
	trace_flush_answer(&c->flush, r >= 0 && marker == 0);
	return r < 0 ? werr_errno(err, -r, "cannot write a trace table") : 0;
}

int trace_audit_poll(struct trace_audit *c, int timeout_ms,
		     struct world_error *err)
{
	struct pollfd p[2] = {
		{.fd = c->rx, .events = POLLIN},
		{.fd = trace_teller_fd(&c->teller), .events = POLLIN}};
	int r;

	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
		return werr_errno(err, errno, "cannot wait for audit records");
	/* Told already, by the teller, which read the worlds' creations as
	 * it took them: a read after a creation is a line of its own. */
	if ((r = trace_teller_take(&c->teller, &c->flush)) < 0)
		return werr_errno(err, -r, "cannot read the worlds' creation");
	bool asked = r > 0;
	if ((r = drain(c)) < 0)
		return werr_errno(err, -r, "cannot read audit records");
	if (asked)
		return serve_flush(c, err);
	/* Records came: let the next ones gather in the socket for a while
	 * and read them in one go, rather than be woken by each (kauditd
	 * sends one a datagram); the socket holds megabytes. */
	if (r > 0)
		poll(NULL, 0, GATHER_MS);
	if (trace_ms_since(&c->last_sync) >= BATCH_MS) {
		clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
		if ((r = flush_all(c, false)) < 0)
			return werr_errno(err, -r, "cannot write a trace table");
	}
	return 0;
}

void trace_audit_free(struct trace_audit *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < MAX_WORLDS; i++)
		if (c->worlds[i] && c->worlds[i]->t->cgroup)
			world_rules(c, (dev_t)c->worlds[i]->t->cgroup, false);
	if (c->ctl >= 0)
		sweep_rules(c);
	trace_teller_stop(&c->teller);
	if (c->rx >= 0) {
		drain_backlog(c);
		c->ev.epoch = trace_teller_epoch(&c->teller);
		audit_events_finish(&c->ev);
		flush_all(c, true);
	}
	for (size_t i = 0; i < MAX_WORLDS; i++)
		audited_free(c->worlds[i]);
	if (c->daemon) {
		audit_set_pid(c->ctl, 0, WAIT_NO);
		restore_found(c);
	}
	if (c->rx >= 0)
		close(c->rx);
	if (c->ctl >= 0)
		audit_close(c->ctl);
	trace_flush_release(c->s, &c->flush);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
}
