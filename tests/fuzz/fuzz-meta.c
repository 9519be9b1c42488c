/* libFuzzer target: world metadata (worlds/NAME/world), which a damaged
 * disk or a hostile hand can fill with anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../world/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct world_meta m = { 0 };
	if (meta_parse(text, &m) == 0) {
		/* What parses must be usable: valid names, clean paths. */
		if (!store_name_valid(m.name) || m.n_parents == 0)
			abort();
		for (size_t i = 0; i < m.n_parents; i++)
			if (!store_name_valid(m.parents[i]))
				abort();
		for (size_t i = 0; i < m.n_mounts; i++)
			if (!meta_rel_path_valid(m.mounts[i]) ||
			    m.mounts[i][0] == '/' ||
			    !strcmp(m.mounts[i], "..") ||
			    !strncmp(m.mounts[i], "../", 3) ||
			    strstr(m.mounts[i], "/../"))
				abort();
		/* The trace's cut: created, or at most a minute after. */
		uint64_t created = (uint64_t)m.created * 1000000000u +
				   (uint64_t)m.created_ns;
		uint64_t from = meta_trace_from(&m);
		if (from != created &&
		    (from < created || from - created >= TRACE_FROM_MAX_NS))
			abort();
		meta_release(&m);
	}
	free(text);
	return 0;
}
