/* The file pattern of dpkg's unpack, for tests/bench/overlay-opts:
 *   dpkgpat make DIR N SIZE      makes DIR/D/F, N files of SIZE bytes in
 *                                directories of 100 (untimed setup)
 *   dpkgpat replace DIR N SIZE   replaces each of them as dpkg does and
 *                                prints "NANOSECONDS" on stdout
 * dpkg (src/main/archives.c, "deferred extract") writes each new file as
 * NAME.dpkg-new, then, for each: fsync of NAME.dpkg-new, link(NAME,
 * NAME.dpkg-tmp) (the backup it restores on error), rename(NAME.dpkg-new,
 * NAME); at the end of the package it unlinks every NAME.dpkg-tmp.  The
 * link() is what costs on overlayfs: it copies a lower file up whole. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_file(const char *path, long size, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | flags, 0644);
	if (fd < 0)
		return -1;
	for (long done = 0; done < size;) {
		long n = size - done > (long)sizeof(buf) ? (long)sizeof(buf)
							: size - done;
		ssize_t w = write(fd, buf, (size_t)n);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += w;
	}
	return close(fd);
}

static void name(char *out, size_t size, const char *dir, long i,
		 const char *suffix)
{
	snprintf(out, size, "%s/d%ld/f%ld%s", dir, i / 100, i % 100, suffix);
}

int main(int argc, char **argv)
{
	char a[4096], b[4096];
	long n, size;

	if (argc != 5 || (n = atol(argv[3])) <= 0 || (size = atol(argv[4])) < 0)
		return fprintf(stderr, "usage: dpkgpat make|replace DIR N SIZE\n"), 2;
	const char *dir = argv[2];
	if (!strcmp(argv[1], "make")) {
		memset(buf, 'o', sizeof(buf));
		for (long i = 0; i < n; i++) {
			if (i % 100 == 0) {
				snprintf(a, sizeof(a), "%s/d%ld", dir, i / 100);
				if (mkdir(a, 0755) < 0)
					return perror(a), 1;
			}
			name(a, sizeof(a), dir, i, "");
			if (write_file(a, size, O_EXCL) < 0)
				return perror(a), 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "replace"))
		return fprintf(stderr, "dpkgpat: unknown operation %s\n", argv[1]), 2;
	memset(buf, 'n', sizeof(buf));
	long long t0 = now_ns();
	for (long i = 0; i < n; i++) { /* the archive's files, extracted */
		name(a, sizeof(a), dir, i, ".dpkg-new");
		if (write_file(a, size, O_EXCL) < 0)
			return perror(a), 1;
	}
	for (long i = 0; i < n; i++) { /* the deferred renames */
		name(a, sizeof(a), dir, i, ".dpkg-new");
		int fd = open(a, O_WRONLY);
		if (fd < 0 || fsync(fd) < 0 || close(fd) < 0)
			return perror(a), 1;
		name(a, sizeof(a), dir, i, "");
		name(b, sizeof(b), dir, i, ".dpkg-tmp");
		if (link(a, b) < 0)
			return perror(b), 1;
		name(b, sizeof(b), dir, i, ".dpkg-new");
		if (rename(b, a) < 0)
			return perror(a), 1;
	}
	for (long i = 0; i < n; i++) { /* the backups, once all is in place */
		name(b, sizeof(b), dir, i, ".dpkg-tmp");
		if (unlink(b) < 0)
			return perror(b), 1;
	}
	printf("%lld\n", now_ns() - t0);
	return 0;
}
