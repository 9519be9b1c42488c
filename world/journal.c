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

int journal_read(int dirfd, struct plan *p)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(dirfd, "journal", &text, NULL);
	if (r < 0)
		return r;
	*p = (struct plan){0};
	size_t n_rebased = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char a[16], b[16];
		size_t idx;
		int off = 0;
		if (!strncmp(line, "src ", 4))
			p->src = strdup(line + 4);
		else if (!strncmp(line, "dst ", 4))
			p->dst = strdup(line + 4);
		else if (!strcmp(line, "phase prepared"))
			p->phase = p->phase < 1 ? 1 : p->phase;
		else if (!strcmp(line, "phase done"))
			p->phase = 2;
		else if (!strcmp(line, "phase rollback"))
			p->rollback = true;
		else if (!strcmp(line, "rebase"))
			p->rebase = true;
		else if (!strncmp(line, "id ", 3))
			p->id = strtoull(line + 3, NULL, 10);
		else if (!strncmp(line, "rebased ", 8) &&
			 world_name_valid(line + 8)) {
			char **nv = realloc(p->rebased,
					    (n_rebased + 2) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->rebased = nv;
			nv[n_rebased + 1] = NULL;
			if (!(nv[n_rebased++] = strdup(line + 8)))
				return -ENOMEM;
		} else if (sscanf(line, "changed %zu", &idx) == 1 && idx < p->n)
			p->v[idx].dst_changed = true;
		else if (sscanf(line, "op %zu %15s %15s %n", &idx, a, b,
				&off) == 3 &&
			 off) {
			struct op *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->v = nv;
			struct op *o = &p->v[p->n++];
			*o = (struct op){0};
			o->kind = !strcmp(a, "del")   ? OP_DEL
				  : !strcmp(a, "put") ? OP_PUT
				  : !strcmp(a, "mrg") ? OP_MRG
						      : OP_DIR;
			o->had = !strcmp(b, "dir")    ? HAD_DIR
				 : !strcmp(b, "file") ? HAD_FILE
						      : HAD_NONE;
			if (!(o->path = path_unescape(line + off)))
				return -ENOMEM;
		}
	}
	if (!p->src || !p->dst || !world_name_valid(p->src) ||
	    !world_name_valid(p->dst)) {
		plan_release(p);
		return -EBADMSG;
	}
	p->applied = p->n;
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

