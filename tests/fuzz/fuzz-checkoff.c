/* libFuzzer target: a world's check-off list (worlds/NAME/check-off), one
 * escaped pattern a line, and matching paths against what it holds. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/diff.h"
#include "../../world/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmpl[] = "/tmp/fuzz-checkoff.XXXXXX";

static void remove_tmp(void)
{
	char path[sizeof(tmpl) + 16];
	snprintf(path, sizeof(path), "%s/W/check-off", tmpl);
	unlink(path);
	snprintf(path, sizeof(path), "%s/W", tmpl);
	rmdir(path);
	rmdir(tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world_store s = {.state_fd = -1, .worlds_fd = -1,
				       .lock_fd = -1};
	if (s.worlds_fd < 0) {
		if (!mkdtemp(tmpl))
			abort();
		atexit(remove_tmp);
		s.worlds_fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s.worlds_fd < 0 || mkdirat(s.worlds_fd, "W", 0700) < 0)
			abort();
	}
	int fd = openat(s.worlds_fd, "W/check-off",
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	char **patterns = checkoff_load(&s, "W");
	static const char *const paths[] = {
		"/", "/etc", "/etc/passwd", "/var/cache/apt/pkgcache.bin",
		"/a b/\\n/*", "",
	};
	for (size_t i = 0; patterns && i < sizeof(paths) / sizeof(*paths);
	     i++)
		(void)checkoff_matches(patterns, paths[i]);
	/* And the input itself, as a path. */
	char *path = strndup((const char *)data, size);
	if (patterns && path)
		(void)checkoff_matches(patterns, path);
	free(path);
	strvfreep(&patterns);
	return 0;
}
