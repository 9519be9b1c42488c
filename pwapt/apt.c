/* The shim in a process inside a world (see apt.h).
 *
 * The process, started by world_spawn() in the world's namespaces, opens
 * the shim there on "/", does one query and writes the answer to a pipe, a
 * record a line:
 *     E CODE MESSAGE                      an error
 *     S UPG NEW REINST DOWN REMOVE NOTUPG DOWNLOAD DELTA FETCH
 *     C ACTION NAME ARCH OLD NEW AUTO     a change ("-" for none)
 *     P INDEX                             files of package INDEX follow
 *     F PATH                              one file
 * Package names, architectures and versions hold no blanks (dpkg refuses
 * them), and dpkg's file lists hold no newlines. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "apt.h"
#include "pwapt.h"

/* What a world's apt may take to answer, at most: building apt's cache of
 * a large system takes seconds. */
#define APT_TIMEOUT 600

static void put_error(FILE *f, const struct aptshim_error *e)
{
	/* What the call returned: -errno. */
	fprintf(f, "E %d ", -(e->code > 0 ? e->code : EIO));
	for (const char *c = e->msg; *c; c++)
		fputc(*c == '\n' ? ' ' : *c, f);
	fputc('\n', f);
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

/* The shim (libapt-pkg, C++) is a module of its own, loaded by the
 * commands that ask apt, before their process enters a world: linked into
 * pwapt, its libraries cost every command about 1.5 ms of dynamic loading
 * at start.  Beside the binary in a build tree, else installed. */
#define SHIM_MODULE "pwapt-aptshim.so"

static struct {
	__typeof__(aptshim_open) *open;
	__typeof__(aptshim_free) *free;
	__typeof__(aptshim_plan_upgrade) *plan_upgrade;
	__typeof__(aptshim_plan_install) *plan_install;
	__typeof__(aptshim_plan_any_upgrade) *plan_any_upgrade;
	__typeof__(aptshim_plan_release) *plan_release;
} shim_fn;

static int shim_load(struct aptshim_error *err)
{
	if (shim_fn.open)
		return 0;
	char path[PATH_MAX];
	const char *where = helper_path(SHIM_MODULE, R_OK, path);
	void *h = dlopen(where, RTLD_NOW | RTLD_LOCAL);
	const char *e = h ? NULL : dlerror();
	if (h) {
		*(void **)&shim_fn.free = dlsym(h, "aptshim_free");
		*(void **)&shim_fn.plan_upgrade = dlsym(h, "aptshim_plan_upgrade");
		*(void **)&shim_fn.plan_install = dlsym(h, "aptshim_plan_install");
		*(void **)&shim_fn.plan_release = dlsym(h, "aptshim_plan_release");
		*(void **)&shim_fn.plan_any_upgrade =
			dlsym(h, "aptshim_plan_any_upgrade");
		if (shim_fn.free && shim_fn.plan_upgrade &&
		    shim_fn.plan_install && shim_fn.plan_release &&
		    shim_fn.plan_any_upgrade)
			*(void **)&shim_fn.open = dlsym(h, "aptshim_open");
		if (!shim_fn.open)
			e = "a symbol of the shim is missing";
	}
	if (shim_fn.open)
		return 0;
	if (err) {
		err->code = ENOENT;
		snprintf(err->msg, sizeof(err->msg),
			 "cannot load apt's shim " SHIM_MODULE ": %s",
			 e ? e : "not found");
	}
	return -ENOENT;
}

/* The shim's own release: a plan exists only once apt_plan() has loaded
 * it, and the shim frees with the same allocator as pwapt. */
void apt_plan_release(struct aptshim_plan *plan)
{
	if (shim_fn.plan_release)
		shim_fn.plan_release(plan);
}

/* In the world's process. */
static int answer(FILE *f, enum apt_kind kind, char *const *pkgs, size_t n)
{
	struct aptshim *shim = NULL;
	struct aptshim_error e = {0};
	if (shim_fn.open(&shim, "/", &e) < 0) {
		put_error(f, &e);
		return 1;
	}
	struct aptshim_plan p = {0};
	int r = kind == APT_INSTALL
			? shim_fn.plan_install(shim, (const char *const *)pkgs,
					       n, &p, &e)
		: kind == APT_ANY_UPGRADE
			? shim_fn.plan_any_upgrade(shim, &p, &e)
			: shim_fn.plan_upgrade(shim, kind == APT_DIST_UPGRADE,
					       &p, &e);
	if (r >= 0) {
		fprintf(f,
			"S %lu %lu %lu %lu %lu %lu %" PRIu64 " %" PRId64
			" %" PRIu64 " %lu\n",
			p.upgraded, p.newly_installed, p.reinstalled,
			p.downgraded, p.to_remove, p.not_upgraded,
			p.download_size, p.installed_size_change, p.fetch_size,
			p.fetch_archives);
		for (size_t i = 0; i < p.n_changes; i++) {
			const struct aptshim_change *c = &p.changes[i];
			fprintf(f, "C %d %s %s %s %s %d\n", (int)c->action,
				c->name, dash(c->arch), dash(c->old_version),
				dash(c->new_version), c->automatic);
		}
		shim_fn.plan_release(&p);
	}
	if (r < 0)
		put_error(f, &e);
	shim_fn.free(shim);
	return r < 0;
}

struct question {
	enum apt_kind kind;
	char *const *pkgs;
	size_t n;
	int fd; /* where the answer goes */
};

/* In the world's process (world_spawn()). */
static int answer_in_world(void *arg)
{
	struct question *qn = arg;
	FILE *f = fdopen(qn->fd, "w");
	if (!f)
		return 1;
	int st = answer(f, qn->kind, qn->pkgs, qn->n);
	return fclose(f) == 0 ? st : 1;
}

/* Reads FD to its end, or until DEADLINE (CLOCK_MONOTONIC seconds), into a
 * malloc'd string; closes FD.  -ETIMEDOUT, -ENOMEM or -EIO. */
/* The most an answer of the shim may hold: far beyond the plan and the
 * file lists of a whole Debian system. */
#define APT_ANSWER_MAX (512u << 20)

static int read_all(int fd, time_t deadline, char **out)
{
	_cleanup_close_ int in = fd;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return -ENOMEM;
	int r = 0;
	size_t total = 0;
	char chunk[65536];
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		struct pollfd p = {.fd = in, .events = POLLIN};
		int ms = (int)(deadline - now.tv_sec) * 1000;
		int ready = poll(&p, 1, ms);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0)
			continue;
		ssize_t got = ready < 0 ? -1 : read(in, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -EIO;
			break;
		}
		if (got == 0)
			break;
		/* The answer comes from the world's side: a hostile one
		 * must not make the host's pwapt take all its memory. */
		if ((total += (size_t)got) > APT_ANSWER_MAX) {
			r = -EFBIG;
			break;
		}
		if (fwrite(chunk, 1, (size_t)got, mem) != (size_t)got) {
			r = -ENOMEM;
			break;
		}
	}
	if (fclose(mem) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

static int fail_errno(struct aptshim_error *err, int e)
{
	if (err) {
		err->code = e;
		snprintf(err->msg, sizeof(err->msg), "cannot ask apt: %s",
			 strerror(e));
	}
	return -e;
}

/* Runs the query in a process inside WORLD; *text receives its answer. */
static int ask(struct world_store *s, const char *world, enum apt_kind kind,
	       char *const *pkgs, size_t n, char **text,
	       struct aptshim_error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fail_errno(err, errno);
	/* The process gets /dev/null as 0, 1 and 2 (pwapt may have been
	 * started without them): its answer goes elsewhere. */
	if (fds[1] < 3) {
		int moved = fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
		int e = errno;
		close(fds[1]);
		if (moved < 0) {
			close(fds[0]);
			return fail_errno(err, e);
		}
		fds[1] = moved;
	}
	struct question qn = {kind, pkgs, n, fds[1]};
	int r = shim_load(err);
	if (r < 0) {
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	struct world_error we = {0};
	pid_t pid = -1;
	r = world_spawn(s, world, answer_in_world, &qn, fds[1], &pid, &we);
	close(fds[1]);
	if (r < 0) {
		close(fds[0]);
		if (err) {
			err->code = -r;
			snprintf(err->msg, sizeof(err->msg), "%s", we.msg);
		}
		return r;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	_cleanup_free_ char *buf = NULL;
	r = read_all(fds[0], now.tv_sec + APT_TIMEOUT, &buf);
	if (r < 0)
		kill(pid, SIGKILL);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (r == -ETIMEDOUT) {
		if (err) {
			err->code = -r;
			snprintf(err->msg, sizeof(err->msg),
				 "apt's view of '%s' took more than %d seconds",
				 world, APT_TIMEOUT);
		}
		return r;
	}
	if (r < 0)
		return fail_errno(err, -r);
	/* An error the child wrote says more than its exit status. */
	const char *e = !strncmp(buf, "E ", 2) ? buf : strstr(buf, "\nE ");
	if (e) {
		e += *e == '\n';
		int code = -EIO, off = 0;
		sscanf(e, "E %d %n", &code, &off);
		const char *msg = e + off, *nl = strchr(msg, '\n');
		if (err) {
			err->code = code < 0 ? -code : EIO;
			snprintf(err->msg, sizeof(err->msg), "%.*s",
				 (int)(nl ? nl - msg : (long)strlen(msg)), msg);
		}
		return code < 0 ? code : -EIO;
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		if (err) {
			err->code = EIO;
			snprintf(
				err->msg, sizeof(err->msg),
				"apt's view of '%s' could not be computed (its "
				"process %s %d)",
				world,
				WIFSIGNALED(ws) ? "died of signal" : "exited",
				WIFSIGNALED(ws) ? WTERMSIG(ws)
						: WEXITSTATUS(ws));
		}
		return -EIO;
	}
	*text = steal_pointer(&buf);
	return 0;
}

static char *undash(const char *s)
{
	return strcmp(s, "-") ? strdup(s) : NULL;
}

int apt_plan(struct world_store *s, const char *world, enum apt_kind kind,
	     char *const *pkgs, size_t n, struct aptshim_plan *out,
	     struct aptshim_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ask(s, world, kind, pkgs, n, &text, err);
	if (r < 0)
		return r;
	struct aptshim_plan p = {0};
	size_t cap = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == 'S') {
			sscanf(line,
			       "S %lu %lu %lu %lu %lu %lu %" SCNu64 " %" SCNd64
			       " %" SCNu64 " %lu",
			       &p.upgraded, &p.newly_installed, &p.reinstalled,
			       &p.downgraded, &p.to_remove, &p.not_upgraded,
			       &p.download_size, &p.installed_size_change,
			       &p.fetch_size, &p.fetch_archives);
			continue;
		}
		char name[256], arch[64], old[256], new[256];
		int action, automatic;
		if (sscanf(line, "C %d %255s %63s %255s %255s %d", &action,
			   name, arch, old, new, &automatic) != 6)
			continue;
		if (p.n_changes == cap) {
			cap = cap ? cap * 2 : 16;
			struct aptshim_change *nv =
				realloc(p.changes, cap * sizeof(*nv));
			if (!nv) {
				apt_plan_release(&p);
				return -ENOMEM;
			}
			p.changes = nv;
		}
		p.changes[p.n_changes++] = (struct aptshim_change){
			.name = strdup(name),
			.arch = undash(arch),
			.old_version = undash(old),
			.new_version = undash(new),
			.action = (enum aptshim_action)action,
			.automatic = automatic,
		};
	}
	*out = p;
	return (int)p.n_changes;
}

void apt_size(char *buf, size_t size, double bytes)
{
	/* apt's SizeToStr(): three significant digits, powers of 1000. */
	static const char ext[] = "kMGTPEZY";
	if (bytes < 10000) {
		snprintf(buf, size, "%.0f B", bytes);
		return;
	}
	for (size_t i = 0; i < sizeof(ext) - 1; i++) {
		bytes /= 1000;
		if (bytes < 100) {
			snprintf(buf, size, "%.1f %cB", bytes, ext[i]);
			return;
		}
		if (bytes < 10000) {
			snprintf(buf, size, "%.0f %cB", bytes, ext[i]);
			return;
		}
	}
	snprintf(buf, size, "%.0f YB", bytes);
}

/* "The following packages ...:" and the names, wrapped as apt wraps them. */
static void print_group(FILE *f, const struct aptshim_plan *p,
			enum aptshim_action action, const char *heading)
{
	size_t col = 0;
	for (size_t i = 0; i < p->n_changes; i++) {
		const struct aptshim_change *c = &p->changes[i];
		if (c->action != action)
			continue;
		if (!col) {
			fprintf(f, "%s\n ", heading);
			col = 1;
		}
		size_t w = strlen(c->name) + 1;
		if (col + w > 79 && col > 1) {
			fputs("\n ", f);
			col = 1;
		}
		fprintf(f, " %s", c->name);
		col += w;
	}
	if (col)
		fputc('\n', f);
}

void apt_print_plan(FILE *f, const struct aptshim_plan *p, enum apt_kind kind)
{
	/* apt-get install counts them as not upgraded, but names none. */
	if (kind != APT_INSTALL)
		print_group(f, p, APTSHIM_KEPT_BACK,
			    "The following packages have been kept back:");
	print_group(f, p, APTSHIM_INSTALL,
		    "The following NEW packages will be installed:");
	print_group(f, p, APTSHIM_REMOVE,
		    "The following packages will be REMOVED:");
	print_group(f, p, APTSHIM_UPGRADE,
		    "The following packages will be upgraded:");
	print_group(f, p, APTSHIM_DOWNGRADE,
		    "The following packages will be DOWNGRADED:");
	print_group(f, p, APTSHIM_REINSTALL,
		    "The following packages will be reinstalled:");
	fprintf(f, "%lu upgraded, %lu newly installed, ", p->upgraded,
		p->newly_installed);
	if (p->reinstalled)
		fprintf(f, "%lu reinstalled, ", p->reinstalled);
	if (p->downgraded)
		fprintf(f, "%lu downgraded, ", p->downgraded);
	fprintf(f, "%lu to remove and %lu not upgraded.\n", p->to_remove,
		p->not_upgraded);
	char size[32];
	if (p->download_size) {
		apt_size(size, sizeof(size), (double)p->download_size);
		if (p->fetch_size < p->download_size) {
			char fetch[32];
			apt_size(fetch, sizeof(fetch), (double)p->fetch_size);
			fprintf(f, "Need to get %s/%s of archives.\n", fetch,
				size);
		} else {
			fprintf(f, "Need to get %s of archives.\n", size);
		}
	}
	if (p->installed_size_change > 0) {
		apt_size(size, sizeof(size), (double)p->installed_size_change);
		fprintf(f,
			"After this operation, %s of additional disk space "
			"will be used.\n",
			size);
	} else if (p->installed_size_change < 0) {
		apt_size(size, sizeof(size), -(double)p->installed_size_change);
		fprintf(f,
			"After this operation, %s disk space will be freed.\n",
			size);
	}
}
