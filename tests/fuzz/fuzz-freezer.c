/* libFuzzer target: the lines of /proc/PID/cgroup of a container's init
 * and of its monitor, from which freezer_parse() finds the freezer file
 * of the container's cgroup.  Below the container's own cgroup a world
 * names what it likes.  The input: the init's lines, a NUL, the
 * monitor's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../world/freezer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 2);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = text[size + 1] = '\0';
	const char *monitor = text + strlen(text) + 1;
	if (monitor > text + size)
		monitor = text + size;
	struct freezer f = {0};
	if (freezer_parse(&f, text, monitor) == 0) {
		/* A file of a cgroup below the host's cgroup mounts, of
		 * no parent directory. */
		if (!f.path || strncmp(f.path, "/sys/fs/cgroup/", 15) ||
		    strstr(f.path, "/../") || strstr(f.path, "/./") ||
		    strstr(f.path, "//"))
			abort();
		freezer_release(&f);
	}
	free(text);
	return 0;
}
