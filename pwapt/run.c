/* Running things in worlds for the front end: commands with the store's
 * lock released while they run, listings of a world's directories, and
 * where their chatter goes (see pwapt.h). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"

/* Where the chatter of apt, services and tests goes: stderr when stdout
 * carries the JSON report. */
int chatter_fd(const struct context *ctx)
{
	return ctx->json ? STDERR_FILENO : 0;
}

FILE *chatter(const struct context *ctx)
{
	return ctx->json ? stderr : stdout;
}

int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs ARGV in world NAME with the lock released for as long as it runs;
 * the store is opened for it and closed after. */
int run_in(struct context *ctx, const char *name, char *const *argv,
		  const struct world_exec_options *xo, int *status)
{
	/* What pwapt printed comes before what the command prints. */
	fflush(stdout);
	fflush(stderr);
	struct world_store *s = open_store(ctx);
	if (!s)
		return -1;
	struct world_error err = {0};
	int r = world_exec_with(s, name, argv, xo, status, &err);
	world_store_free(s);
	if (r < 0)
		fail(ctx, &err);
	return r;
}

bool run_parts_name(const char *name)
{
	/* run-parts(8): only names of letters, digits, '_' and '-', so that
	 * README, *.dpkg-old and editor backups are not run. */
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return false;
	return true;
}

/* The entries of directory PATH in world NAME that PICK accepts, sorted;
 * none when the directory is not there. */
char **list_dir(struct context *ctx, const char *name, const char *path,
		       char *(*pick)(int dir, const char *entry))
{
	char **v = calloc(1, sizeof(*v));
	struct world_store *s = open_store(ctx);
	if (!s || !v) {
		world_store_free(s);
		return v;
	}
	struct world_error err = {0};
	int fd = world_open_in(s, name, path, O_RDONLY | O_DIRECTORY, &err);
	world_store_free(s);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !d)
		close(fd);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *item = pick(dirfd(d), de->d_name);
		char **nv = item ? realloc(v, (n + 2) * sizeof(*nv)) : NULL;
		if (!nv) {
			free(item);
			continue;
		}
		v = nv;
		v[n++] = item;
		v[n] = NULL;
	}
	qsort(v, n, sizeof(*v), strcmp_p);
	return v;
}

void note_no_volatile(struct context *ctx, struct world_store *s,
		      const char *name)
{
	_cleanup_free_ char *said = NULL;
	if (world_volatile(s, name) ||
	    world_note_read(s, WORLD_ROOT, "no-volatile", &said, NULL, NULL) >= 0)
		return;
	fprintf(stderr,
		"%s: note: this kernel's overlayfs has no 'volatile' option: "
		"worlds are mounted plain (crash safe, but dpkg runs about "
		"twice as slow in them); said once\n",
		ctx->cmd);
	(void)world_note_write(s, WORLD_ROOT, "no-volatile", "1\n", 2, NULL);
}

void note_no_redirect(struct context *ctx, struct world_store *s)
{
	_cleanup_free_ char *said = NULL;
	if (world_renames_recorded(s) ||
	    world_note_read(s, WORLD_ROOT, "no-redirect", &said, NULL, NULL) >= 0)
		return;
	fprintf(stderr,
		"%s: note: this kernel's overlayfs cannot record renamed "
		"directories (redirect_dir) on the state directory's file "
		"system: a directory renamed in a world is copied, and merged "
		"as a copy; said once\n",
		ctx->cmd);
	(void)world_note_write(s, WORLD_ROOT, "no-redirect", "1\n", 2, NULL);
}
