/* libFuzzer target: what services.c and procs.c parse of a world's text
 * and of /proc: an init script's or unit's pid files, a cgroup file's
 * unit, the lines of a maps file.  Every path they hand out is absolute
 * and short, every unit ends in ".service". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../world/procs.h"
#include "../../world/services.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (int unit = 0; unit < 2; unit++) {
		struct strv files = {0};
		(void)services_script_pidfiles(text, size, unit, &files);
		if (files.n > 8)
			abort();
		for (size_t i = 0; i < files.n; i++)
			if (files.v[i][0] != '/' || strlen(files.v[i]) > 255)
				abort();
		strv_free(&files);
	}
	char *u = procs_cgroup_unit(text);
	if (u && (strlen(u) < 9 || strcmp(u + strlen(u) - 8, ".service") ||
		  strchr(u, '/')))
		abort();
	free(u);
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(text + i, '\n', size - i);
		size_t e = nl ? (size_t)(nl - text) : size;
		struct proc_file f;
		if (procs_maps_line(text + i, e - i, &f)) {
			if (f.path[0] != '/')
				abort();
			free(f.path);
		}
		i = e + 1;
	}
	free(text);
	return 0;
}
