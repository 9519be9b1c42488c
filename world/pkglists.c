/* The files that B's packages held when A was created, and the file lists
 * of packages in a tree (pkglists.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "lifecycle.h"
#include "pkglists.h"
#include "strv.h"

void pkg_files_release(struct pkg_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i]);
	free(f->v);
	free(f->names);
	*f = (struct pkg_files){0};
}

static int cmp_pkg_file(const void *a, const void *b)
{
	return strcmp(((const struct pkg_file *)a)->path,
		      ((const struct pkg_file *)b)->path);
}

/* B's lists are B's to write (a world's, when B is one): the most of one
 * list, and of them all, that is read.  Debian's largest lists are a few
 * MiB and all of a big system's some tens.  A list past the first is
 * left out (its files are in doubt: the warning path); past the second,
 * all are (none tells). */
#define PKG_LIST_MAX ((size_t)32 << 20)
#define PKG_LISTS_MAX ((size_t)256 << 20)
/* And of the paths they hold (a big system's lists hold some 10^5-10^6):
 * short lines must not make many times the bytes. */
#define PKG_FILES_MAX ((size_t)4 << 20)
/* And of lists (Debian has some 10^5 packages, a system some 10^3). */
#define PKG_NAMES_MAX ((size_t)1 << 18)

static int pkg_list_add(struct pkg_files *f, const char *pkg, char *text)
{
	if (f->n_names >= PKG_NAMES_MAX)
		return -EFBIG;
	char **nn = realloc(f->names, (f->n_names + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	f->names = nn;
	if (!(nn[f->n_names] = strdup(pkg)))
		return -ENOMEM;
	const char *name = nn[f->n_names++];
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] != '/' || !l[1])
			continue;
		if (f->n >= PKG_FILES_MAX)
			return -EFBIG;
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 1024;
			struct pkg_file *nv =
				realloc(f->v, f->cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			f->v = nv;
		}
		if (!(f->v[f->n].path = strdup(l)))
			return -ENOMEM;
		f->v[f->n++].pkg = name;
	}
	return 0;
}

static int pkg_files_load(const struct diff_trees *t, struct pkg_files *f)
{
	struct side y;
	f->loaded = true;
	int r = diff_side_load(t->parts, true, "/var/lib/dpkg/info", &y);
	if (r < 0 || !y.exists || !S_ISDIR(y.st.st_mode)) {
		diff_side_release(&y);
		return r;
	}
	int fd = openat(y.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	diff_side_release(&y);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	struct dirent *de;
	for (errno = 0; r >= 0 && (de = readdir(d)); errno = 0) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l <= 5 || strcmp(de->d_name + l - 5, ".list") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode) || (st.st_ctim.tv_sec > t->a->created ||
		     (st.st_ctim.tv_sec == t->a->created &&
		      st.st_ctim.tv_nsec > t->a->created_ns)))
			continue; /* changed since: it tells nothing of then */
		_cleanup_free_ char *text = NULL,
				    *pkg = strndup(de->d_name, l - 5);
		if (!pkg)
			return -ENOMEM;
		size_t len = 0;
		r = read_file_max(dirfd(d), de->d_name, PKG_LIST_MAX, &text,
				  &len);
		if (r == -ENOENT || r == -EFBIG || r == -EINVAL)
			r = 0; /* gone, too big, no longer a file: unknown */
		else if (r >= 0 && (f->bytes += len) > PKG_LISTS_MAX) {
			pkg_files_release(f);
			f->loaded = true;
			return 0;
		} else if (r >= 0 && (r = pkg_list_add(f, pkg, text)) == -EFBIG) {
			pkg_files_release(f);
			f->loaded = true;
			return 0;
		}
	}
	if (r >= 0 && errno)
		r = -errno;
	if (r >= 0 && f->n)
		qsort(f->v, f->n, sizeof(*f->v), cmp_pkg_file);
	return r;
}

int pkg_of(const struct diff_trees *t, struct pkg_files *f,
		  const char *path, const char **pkg)
{
	*pkg = NULL;
	int r = f->loaded ? 0 : pkg_files_load(t, f);
	struct pkg_file key = {(char *)path, NULL}, *hit = NULL;
	if (r >= 0 && f->n)
		hit = bsearch(&key, f->v, f->n, sizeof(*f->v), cmp_pkg_file);
	if (hit)
		*pkg = hit->pkg;
	return r;
}

void pkg_lists_free(char ***files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		strvfreep(&files[i]);
	free(files);
}

/* The lines of dpkg's list of PKG (of ARCH, "" for none) in INFO into
 * *OUT, NULL-terminated; *OUT NULL when it has none.  dpkg names the list
 * of a Multi-Arch: same package P:ARCH.list, any other P.list. */
static int pkg_list_lines(int info, const char *pkg, const char *arch,
			  char ***out, size_t *bytes, size_t *lines)
{
	*out = NULL;
	if (!*pkg || *pkg == '.' || strchr(pkg, '/') || strchr(arch, '/'))
		return 0; /* no package dpkg knows */
	_cleanup_free_ char *text = NULL, *same = NULL, *plain = NULL;
	if ((*arch && asprintf(&same, "%s:%s.list", pkg, arch) < 0) ||
	    asprintf(&plain, "%s.list", pkg) < 0)
		return -ENOMEM;
	size_t len = 0;
	int r = same ? read_file_max(info, same, PKG_LIST_MAX, &text, &len)
		     : -ENOENT;
	if (r == -ENOENT)
		r = read_file_max(info, plain, PKG_LIST_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* All of them bounded too, in bytes and lines (a world's to write). */
	if ((*bytes += len) > PKG_LISTS_MAX)
		return -EFBIG;
	_cleanup_strv_ struct strv v = {calloc(1, sizeof(char *)), 0};
	r = v.v ? 0 : -ENOMEM;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && r >= 0;
	     l = strtok_r(NULL, "\n", &save))
		r = ++*lines > PKG_FILES_MAX ? -EFBIG : strv_push(&v, strdup(l));
	if (r < 0)
		return r;
	*out = steal_pointer(&v.v);
	return 0;
}

int pkg_lists_read(struct world_store *s, const char *name, char *const *pkgs,
		   char *const *archs, size_t n, char ****out,
		   struct world_error *err)
{
	_cleanup_close_ int info = lifecycle_open_in(
		s, name, "var/lib/dpkg/info", O_RDONLY | O_DIRECTORY, err);
	if (info < 0 && info != -ENOENT)
		return info == -ELOOP || info == -ENOTDIR
			       ? werr_errno(err, -info,
					    "cannot read /var/lib/dpkg/info "
					    "of '%s'",
					    name)
			       : info;
	char ***v = calloc(n + 1, sizeof(*v));
	if (!v)
		return werr(err, ENOMEM, "out of memory");
	size_t bytes = 0, lines = 0;
	for (size_t i = 0; info >= 0 && i < n; i++) {
		int r = pkg_list_lines(info, pkgs[i], archs[i], &v[i], &bytes,
				       &lines);
		if (r < 0) {
			pkg_lists_free(v, n);
			return werr_errno(err, -r,
					  "cannot read the file list of %s in "
					  "'%s'",
					  pkgs[i], name);
		}
	}
	*out = v;
	return 0;
}
