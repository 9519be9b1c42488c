/* The descriptors a world's ancestors held open when it was created (see
 * trace-held.h).  The processes are those warnings.c looks at for files
 * held open now, read the same way (procs.c); the process tree of each is
 * found as the BPF programs find it (kernel/pwapt-trace.bpf.c): up through
 * its parents while they are in the same session and not the pid
 * namespace's init.  Nothing is opened or followed in a world's tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "procs.h"
#include "strv.h"
#include "trace-held.h"
#include "trace-table.h"

/* P's host pid, then its ancestors up to the top of its tree, into F. */
static void write_chain(FILE *f, const struct proc_table *t,
			const struct proc *p)
{
	fprintf(f, "%d", (int)p->pid);
	for (size_t n = 1; n < TRACE_HELD_CHAIN_MAX && p->nspid != 1; n++) {
		const struct proc *up = procs_find(t, p->ppid);

		if (!up || up == p || up->nspid == 1 || up->sid != p->sid)
			break;
		fprintf(f, ",%d", (int)up->pid);
		p = up;
	}
}

/* PARENT's processes' descriptors into F; *COMPLETE false where /proc
 * did not tell. */
static int scan_parent(struct world_store *s, const char *parent, FILE *f,
		       bool *complete)
{
	struct proc_table t = {0};
	pid_t init = 0;

	if (!(store_is_root(parent) && store_root_is_host(s)) &&
	    !container_running(s, parent, &init))
		return 0; /* no processes */
	int r = procs_scan(init, PROCS_FDS, &t);
	if (r == -ESRCH)
		return 0; /* stopped meanwhile */
	if (r < 0) {
		*complete = false;
		return r == -ENOMEM ? r : 0;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct proc *p = &t.v[i];

		if (p->pid == getpid())
			continue;
		if (p->fds_unread)
			*complete = false;
		for (size_t k = 0; k < p->n_files; k++) {
			const struct proc_file *pf = &p->files[k];

			if (!pf->open || pf->deleted || !S_ISREG(pf->mode) ||
			    !(pf->reads || pf->writes))
				continue;
			fprintf(f, "%s %s%s ", parent, pf->reads ? "r" : "",
				pf->writes ? "w" : "");
			write_chain(f, &t, p);
			fputc(' ', f);
			path_escape(f, pf->path);
			fputc('\n', f);
		}
	}
	procs_release(&t);
	return 0;
}

/* PARENTS, then every ancestor of theirs up to Root, each once, into
 * OUT: a diff against any of them takes the record.  An ancestor whose
 * world file cannot be read ends its line there (a diff against one
 * above it says nothing was recorded). */
static int ancestors(struct world_store *s, const char *const *parents,
		     size_t n, struct strv *out)
{
	for (size_t i = 0; i < n; i++)
		if (!strv_contains(out->v, parents[i]) &&
		    strv_push(out, strdup(parents[i])) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < out->n; i++) {
		struct world_meta m = {0};
		int r = store_is_root(out->v[i])
				? -ENOENT
				: meta_load(s, out->v[i], &m, NULL);

		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		for (size_t k = 0; r >= 0 && k < m.n_parents; k++)
			if (!strv_contains(out->v, m.parents[k]))
				r = strv_push(out, strdup(m.parents[k]));
		meta_release(&m);
		if (r < 0)
			return r;
	}
	return 0;
}

int trace_held_record(struct world_store *s, const char *name,
		      const char *const *parents, size_t n,
		      struct world_error *err)
{
	_cleanup_free_ char *body = NULL, *buf = NULL;
	_cleanup_strv_ struct strv all = {0};
	size_t body_len = 0, len = 0;
	bool complete = true;
	FILE *f = NULL;
	int r = 0;

	/* Untraced, the world's trace says so already; and the record
	 * reads every descriptor of Root's processes on a host. */
	if (!trace_collector_runs(s))
		return 0;
	if (ancestors(s, parents, n, &all) < 0 ||
	    !(f = open_memstream(&body, &body_len)))
		return werr(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < all.n && r >= 0; i++)
		r = scan_parent(s, all.v[i], f, &complete);
	if (fclose(f) != 0 || r < 0)
		return werr(err, ENOMEM, "out of memory");
	if (!(f = open_memstream(&buf, &len)))
		return werr(err, ENOMEM, "out of memory");
	fprintf(f, "pwapt-held 1 %s", complete ? "complete" : "incomplete");
	for (size_t i = 0; i < all.n; i++)
		fprintf(f, " %s", all.v[i]);
	fprintf(f, "\n%s", body ? body : "");
	if (fclose(f) != 0)
		return werr(err, ENOMEM, "out of memory");
	_cleanup_close_ int dir =
		openat(s->worlds_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Not written (an error of the state's file system): no record,
	 * which every report on the world then says ("were not recorded");
	 * the world is made all the same, as one made while no collector
	 * ran. */
	if (dir >= 0)
		(void)write_file_atomic(dir, TRACE_HELD, buf, len, 0600);
	return 0;
}

static int parse_chain(const char *text, struct trace_held_fd *h)
{
	for (const char *c = text; *c;) {
		char *end;
		unsigned long pid = strtoul(c, &end, 10);

		if (end == c || !pid || pid > UINT32_MAX ||
		    h->n_chain >= TRACE_HELD_CHAIN_MAX || (*end && *end != ','))
			return -EBADMSG;
		h->chain[h->n_chain++] = (uint32_t)pid;
		c = *end ? end + 1 : end;
	}
	return h->n_chain ? 0 : -EBADMSG;
}

/* One line "PARENT MODE CHAIN PATH" into H (its own strings). */
static int parse_line(char *line, struct trace_held_fd *h)
{
	char *save = NULL, *parent = strtok_r(line, " ", &save),
	     *mode = strtok_r(NULL, " ", &save),
	     *chain = strtok_r(NULL, " ", &save),
	     *path = strtok_r(NULL, " ", &save);

	*h = (struct trace_held_fd){0};
	if (!path || strtok_r(NULL, " ", &save) || !store_name_valid(parent))
		return -EBADMSG;
	h->reads = strchr(mode, 'r') != NULL;
	h->writes = strchr(mode, 'w') != NULL;
	if (strspn(mode, "rw") != strlen(mode) || parse_chain(chain, h) < 0)
		return -EBADMSG;
	h->parent = strdup(parent);
	h->path = path_unescape(path);
	if (!h->parent || !h->path) {
		free(h->parent);
		free(h->path);
		return -ENOMEM;
	}
	if (h->path[0] != '/') {
		free(h->parent);
		free(h->path);
		return -EBADMSG;
	}
	return 0;
}

static int parse_header(char *line, struct trace_held *out)
{
	char *save = NULL, *magic = strtok_r(line, " ", &save),
	     *format = strtok_r(NULL, " ", &save),
	     *state = strtok_r(NULL, " ", &save);

	if (!state || strcmp(magic, "pwapt-held") || strcmp(format, "1"))
		return -EBADMSG;
	if (!strcmp(state, "complete"))
		out->complete = true;
	else if (strcmp(state, "incomplete"))
		return -EBADMSG;
	for (char *p; (p = strtok_r(NULL, " ", &save));) {
		if (!store_name_valid(p))
			return -EBADMSG;
		if (strv_push(&out->parents, strdup(p)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int trace_held_load(struct world_store *s, const char *name,
		    struct trace_held *out)
{
	_cleanup_close_ int dir =
		openat(s->worlds_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	struct trace_held h = {0};
	int r = dir < 0 ? -errno : read_file_at(dir, TRACE_HELD, &text, NULL);

	if (r < 0)
		return r;
	char *nl = strchr(text, '\n');
	if (!nl)
		return -EBADMSG;
	*nl = '\0';
	if ((r = parse_header(text, &h)) < 0)
		goto fail;
	for (char *line = nl + 1; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n'))) {
			r = -EBADMSG; /* a cut line */
			goto fail;
		}
		*nl = '\0';
		struct trace_held_fd *v = realloc(h.v, (h.n + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto fail;
		}
		h.v = v;
		if ((r = parse_line(line, &h.v[h.n])) < 0)
			goto fail;
		h.n++;
	}
	*out = h;
	return 0;
fail:
	trace_held_release(&h);
	return r;
}

void trace_held_release(struct trace_held *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].parent);
		free(h->v[i].path);
	}
	free(h->v);
	strv_free(&h->parents);
	*h = (struct trace_held){0};
}
