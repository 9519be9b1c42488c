/* The start order of services a merge moves (world_service_order()):
 * systemd units' After=, Before=, Requires= and Wants= read beneath a
 * world's tree, as untrusted data.  Private to libworld (svcorder.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "svcorder.h"

/* Where units lie, the most important first (systemd's order). */
static const char *const unit_dirs[] = {
	"etc/systemd/system", "run/systemd/system", "lib/systemd/system",
	"usr/lib/systemd/system", NULL};
/* Bytes read of one unit file or drop-in, drop-ins of one directory, and
 * names in one list: a world's files, bounded. */
#define UNIT_MAX (1u << 20)
#define DROPINS_MAX 256
#define NAME_MAX_LEN 256
/* Services ordered by their units at most (an n*n table, n^3 steps);
 * beyond, the order given. */
#define ORDER_MAX 1024

enum { DEP_AFTER, DEP_BEFORE, DEP_REQUIRES, DEP_WANTS, DEP_N };
static const char *const dep_keys[DEP_N] = {"After", "Before", "Requires",
					    "Wants"};

/* Reads the regular file REL beneath TREE (no symbolic link followed, no
 * FIFO waited on, at most UNIT_MAX bytes). */
static char *read_unit(int tree, const char *rel)
{
	_cleanup_close_ int fd =
		open_beneath(tree, rel, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)UNIT_MAX)
		return NULL;
	char *buf = malloc((size_t)st.st_size + 1);
	size_t len = 0;
	while (buf && len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf) /* a NUL in it ends the text, as for any line reader */
		buf[len] = '\0';
	return buf;
}

/* The dependencies KEY of one file's text onto DEPS[KEY]: names of
 * services (".service" dropped), each once.  An empty assignment resets
 * the list, as systemd does for drop-ins.  Only the [Unit] section. */
static int parse_unit(const char *text, struct strv deps[DEP_N])
{
	bool in_unit = false;
	for (const char *l = text; *l;) {
		const char *e = strchrnul(l, '\n');
		const char *p = l;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p == '[')
			in_unit = e - p >= 6 && !strncmp(p, "[Unit]", 6);
		for (int k = 0; in_unit && k < DEP_N; k++) {
			size_t kl = strlen(dep_keys[k]);
			const char *v = p + kl;
			if ((size_t)(e - p) <= kl || strncmp(p, dep_keys[k], kl))
				continue;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			if (v >= e || *v != '=')
				continue;
			v++;
			bool any = false;
			while (v < e) {
				while (v < e && (*v == ' ' || *v == '\t' ||
						 *v == '\\' || *v == '\r'))
					v++;
				const char *w = v;
				while (v < e && *v != ' ' && *v != '\t' &&
				       *v != '\r')
					v++;
				size_t wl = (size_t)(v - w);
				if (!wl)
					continue;
				any = true;
				if (wl <= 8 || wl > NAME_MAX_LEN ||
				    strncmp(v - 8, ".service", 8))
					continue;
				_cleanup_free_ char *n = strndup(w, wl - 8);
				if (!n)
					return -ENOMEM;
				if (!strv_contains(deps[k].v, n) &&
				    strv_push(&deps[k], steal_pointer(&n)) < 0)
					return -ENOMEM;
			}
			if (!any) /* "After=": what came before is reset */
				strv_free(&deps[k]);
		}
		l = *e ? e + 1 : e;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The drop-ins NAME.service.d/ *.conf of directory DIR beneath TREE, in
 * name order, parsed onto DEPS. */
static int parse_dropins(int tree, const char *dir, const char *name,
			 struct strv deps[DEP_N])
{
	char rel[PATH_MAX];
	if ((size_t)snprintf(rel, sizeof(rel), "%s/%s.service.d", dir, name) >=
	    sizeof(rel))
		return 0;
	int fd = open_beneath(tree, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !d)
		close(fd);
	if (!d)
		return 0;
	_cleanup_(strv_free) struct strv confs = {0};
	struct dirent *de;
	while ((de = readdir(d)) && confs.n < DROPINS_MAX) {
		size_t l = strlen(de->d_name);
		if (l > 5 && de->d_name[0] != '.' &&
		    !strcmp(de->d_name + l - 5, ".conf") &&
		    strv_push(&confs, strdup(de->d_name)) < 0)
			return -ENOMEM;
	}
	if (confs.n)
		qsort(confs.v, confs.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < confs.n; i++) {
		char f[PATH_MAX];
		if ((size_t)snprintf(f, sizeof(f), "%s/%s", rel, confs.v[i]) >=
		    sizeof(f))
			continue;
		_cleanup_free_ char *text = read_unit(tree, f);
		int r = text ? parse_unit(text, deps) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

int svcorder_unit_deps(int tree, const char *name, struct strv deps[DEP_N])
{
	if (!*name || strchr(name, '/') || strlen(name) > NAME_MAX_LEN)
		return 0;
	/* The unit file: the first directory that has the name; a link
	 * there (an alias, a mask) is not followed, and its ordering not
	 * read. */
	for (const char *const *d = unit_dirs; *d; d++) {
		char rel[PATH_MAX];
		snprintf(rel, sizeof(rel), "%s/%s.service", *d, name);
		_cleanup_close_ int fd = open_beneath(tree, rel, O_PATH);
		struct stat st;
		if (fd < 0 && errno != ELOOP)
			continue;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			_cleanup_free_ char *text = read_unit(tree, rel);
			int r = text ? parse_unit(text, deps) : 0;
			if (r < 0)
				return r;
		}
		break;
	}
	/* Drop-ins of every directory, the least important first: the
	 * last word is the most important one's. */
	size_t nd = 0;
	while (unit_dirs[nd])
		nd++;
	while (nd-- > 0) {
		int r = parse_dropins(tree, unit_dirs[nd], name, deps);
		if (r < 0)
			return r;
	}
	return 0;
}

static ssize_t index_of(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return (ssize_t)i;
	return -1;
}

int svcorder_start_order(int tree, char *const *names, size_t n,
			 size_t *order, char **note)
{
	*note = NULL;
	if (n > ORDER_MAX) {
		for (size_t i = 0; i < n; i++)
			order[i] = i;
		return asprintf(note, "%zu services are too many to order by "
				      "their units: rc2.d's order and names",
				n) < 0
			       ? -ENOMEM
			       : 0;
	}
	/* before[a*n+b]: a starts before b. */
	_cleanup_free_ bool *before = calloc(n * n + 1, sizeof(bool));
	_cleanup_free_ bool *placed = calloc(n + 1, sizeof(bool));
	if (!before || !placed)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct strv deps[DEP_N] = {{0}};
		int r = tree >= 0 ? svcorder_unit_deps(tree, names[i], deps) : 0;
		for (int k = 0; r >= 0 && k < DEP_N; k++)
			for (size_t j = 0; j < deps[k].n; j++) {
				ssize_t o = index_of(names, n, deps[k].v[j]);
				if (o < 0 || (size_t)o == i)
					continue;
				if (k == DEP_BEFORE)
					before[i * n + (size_t)o] = true;
				else /* After, and what it needs: first */
					before[(size_t)o * n + i] = true;
			}
		for (int k = 0; k < DEP_N; k++)
			strv_free(&deps[k]);
		if (r < 0)
			return r;
	}
	/* Kahn's, the first of NAMES' order among those free to start; a
	 * cycle is broken at the first of those left, and said. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	unsigned cycles = 0;
	for (size_t k = 0; k < n; k++) {
		ssize_t pick = -1;
		for (size_t i = 0; i < n && pick < 0; i++) {
			if (placed[i])
				continue;
			bool free_ = true;
			for (size_t j = 0; j < n && free_; j++)
				free_ = placed[j] || !before[j * n + i];
			if (free_)
				pick = (ssize_t)i;
		}
		if (pick < 0) {
			for (size_t i = 0; i < n && pick < 0; i++)
				if (!placed[i])
					pick = (ssize_t)i;
			if (!f && !(f = open_memstream(&buf, &len)))
				return -ENOMEM;
			fprintf(f, "%sthe ordering of", cycles++ ? "; " : "");
			bool first = true;
			for (size_t i = 0; i < n; i++)
				if (!placed[i]) {
					fprintf(f, "%s %s", first ? "" : ",",
						names[i]);
					first = false;
				}
			fprintf(f, " is a cycle: %s starts first",
				names[pick]);
		}
		placed[pick] = true;
		order[k] = (size_t)pick;
	}
	if (f && fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*note = buf;
	return 0;
}
