/* libFuzzer target: a merge's journal (STATE/merge/journal, and
 * merges/DST/journal for a rollback), read back by the recovery after a
 * crash, so possibly cut short anywhere (journal.c, linked from the fuzz
 * build's library). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../world/merge-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmpl[] = "/tmp/fuzz-journal.XXXXXX";

static void remove_tmp(void)
{
	char path[sizeof(tmpl) + 16];
	snprintf(path, sizeof(path), "%s/journal", tmpl);
	unlink(path);
	rmdir(tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int dir = -1;
	if (dir < 0) {
		if (!mkdtemp(tmpl))
			abort();
		atexit(remove_tmp);
		dir = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			abort();
	}
	int fd = openat(dir, "journal", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	struct plan p;
	if (journal_read(dir, &p) == 0) {
		/* What is read back is usable: names, and every op's path. */
		if (!store_name_valid(p.src) || !store_name_valid(p.dst))
			abort();
		for (size_t i = 0; i < p.n; i++)
			if (!p.v[i].path)
				abort();
		journal_plan_release(&p);
	}
	return 0;
}
