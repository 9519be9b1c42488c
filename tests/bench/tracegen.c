/* The event generator of tests/bench/trace, run in a world (static):
 *   tracegen create DIR N   makes files DIR/0 .. DIR/N-1 (untimed setup)
 *   tracegen read DIR N     opens each of them once for reading, and prints
 *                           "N NANOSECONDS" on stdout: N distinct accesses
 *                           as fast as one process issues them.
 * Distinct files, since a collector records a path once. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	struct timespec a, b;
	long n;

	if (argc != 4 || (n = atol(argv[3])) <= 0)
		return fprintf(stderr, "usage: tracegen create|read DIR N\n"), 2;
	if (!strcmp(argv[1], "create")) {
		if (mkdir(argv[2], 0755) < 0)
			return perror(argv[2]), 1;
		for (long i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%ld", argv[2], i);
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0 || close(fd) < 0)
				return perror(path), 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "read"))
		return fprintf(stderr, "tracegen: unknown operation %s\n", argv[1]), 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%ld", argv[2], i);
		int fd = open(path, O_RDONLY);
		if (fd < 0 || close(fd) < 0)
			return perror(path), 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%ld %lld\n", n,
	       (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
