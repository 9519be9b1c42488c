/* The merge's plan and its journal (README, "Merges"): STATE/merge/journal
 * holds the plan, one operation a line, and the phases reached; a kept
 * STATE/merges/DST, the record of the last merge into DST, has the same
 * form.  Also where a plan's paths and worlds lie in a tree. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "merge-internal.h"

static const char *const kind_names[] = {"del", "put", "dir", "mrg"};
static const char *const had_names[] = {"none", "dir", "file"};

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	free(p->src);
	free(p->dst);
	strvfreep(&p->rebased);
	*p = (struct plan){0};
}

int journal_append(int dirfd, const char *text)
{
	_cleanup_close_ int fd =
		openat(dirfd, "journal", O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		return -errno ? -errno : -EIO;
	return 0;
}

int journal_write(int dirfd, const struct plan *p)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "pwapt-merge 1\nid %" PRIu64 "\nsrc %s\ndst %s\n%s", p->id,
		p->src, p->dst, p->rebase ? "rebase\n" : "");
	for (char **w = p->rebased; w && *w; w++)
		fprintf(f, "rebased %s\n", *w);
	for (size_t i = 0; i < p->n; i++) {
		fprintf(f, "op %zu %s %s ", i, kind_names[p->v[i].kind],
			had_names[p->v[i].had]);
		path_escape(f, p->v[i].path);
		fputc('\n', f);
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].dst_changed)
			fprintf(f, "changed %zu\n", i);
	fputs("phase planned\n", f);
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic(dirfd, "journal", buf, len, 0600);
}

/* One line of a journal into P.  A repeated line replaces what the one
 * before it said. */
static int journal_line(struct plan *p, const char *line, size_t *cap,
			size_t *n_rebased)
{
	char a[16], b[16];
	size_t idx;
	int off = 0;
	if (!strncmp(line, "src ", 4) || !strncmp(line, "dst ", 4)) {
		char **to = line[0] == 's' ? &p->src : &p->dst;
		free(*to);
		return (*to = strdup(line + 4)) ? 0 : -ENOMEM;
	}
	if (!strcmp(line, "phase prepared"))
		p->phase = p->phase < 1 ? 1 : p->phase;
	else if (!strcmp(line, "phase done"))
		p->phase = 2;
	else if (!strcmp(line, "phase rollback"))
		p->rollback = true;
	else if (!strcmp(line, "rebase"))
		p->rebase = true;
	else if (!strncmp(line, "id ", 3))
		p->id = strtoull(line + 3, NULL, 10);
	else if (!strncmp(line, "rebased ", 8) && world_name_valid(line + 8)) {
		char **nv = realloc(p->rebased, (*n_rebased + 2) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->rebased = nv;
		nv[*n_rebased + 1] = NULL;
		if (!(nv[*n_rebased] = strdup(line + 8)))
			return -ENOMEM;
		++*n_rebased;
	} else if (sscanf(line, "changed %zu", &idx) == 1 && idx < p->n)
		p->v[idx].dst_changed = true;
	else if (sscanf(line, "op %zu %15s %15s %n", &idx, a, b, &off) == 3 &&
		 off) {
		if (p->n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct op *nv = reallocarray(p->v, nc, sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->v = nv;
			*cap = nc;
		}
		struct op o = {
			.kind = !strcmp(a, "del")   ? OP_DEL
				: !strcmp(a, "put") ? OP_PUT
				: !strcmp(a, "mrg") ? OP_MRG
						    : OP_DIR,
			.had = !strcmp(b, "dir")    ? HAD_DIR
			       : !strcmp(b, "file") ? HAD_FILE
						    : HAD_NONE,
			.path = path_unescape(line + off)};
		if (!o.path)
			return -ENOMEM;
		p->v[p->n++] = o;
	}
	return 0;
}

/* The journal is read a line at a time: it holds a line for every path
 * of the merge, and however many those are, recovery must read it back. */
int journal_read(int dirfd, struct plan *p)
{
	int fd = openat(dirfd, "journal", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	struct plan q = {0};
	size_t cap = 0, n_rebased = 0, size = 0;
	_cleanup_free_ char *line = NULL;
	ssize_t len;
	int r = 0;
	while (r >= 0 && (errno = 0, len = getline(&line, &size, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		/* A NUL ends its line (a crash may leave zeros). */
		if (*line)
			r = journal_line(&q, line, &cap, &n_rebased);
	}
	if (r >= 0 && ferror(f))
		r = errno ? -errno : -EIO;
	if (r >= 0 && (!q.src || !q.dst || !world_name_valid(q.src) ||
		       !world_name_valid(q.dst)))
		r = -EBADMSG;
	if (r < 0) {
		plan_release(&q);
		return r;
	}
	q.applied = q.n;
	*p = q;
	return 0;
}

/* The directory that holds PATH, beneath TREE; *base gets its last name. */
int open_parent(int tree, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!slash || slash == path)
		return open_beneath(tree, ".", O_PATH | O_DIRECTORY);
	_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	return open_beneath(tree, dir, O_PATH | O_DIRECTORY);
}

