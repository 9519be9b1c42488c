/* libFuzzer target: a world's trace table (worlds/NAME/trace), which a
 * crash, a damaged disk or a hostile hand can fill with anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../world/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct world_trace t = {0};
	struct world_error err = {0};

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (trace_table_parse("fuzz", text, size, &t, &err) == 0) {
		/* What parses is usable: known states, absolute paths. */
		if (strcmp(t.state, "complete") && strcmp(t.state, "incomplete") &&
		    strcmp(t.state, "collecting"))
			abort();
		for (size_t i = 0; i < t.n; i++)
			if (!t.v[i].kind || !t.v[i].path || t.v[i].path[0] != '/')
				abort();
		trace_table_release(&t);
	} else if (!err.code || !err.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
