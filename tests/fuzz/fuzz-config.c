/* libFuzzer target: /etc/pwapt/pwapt.conf. */
#include <stdint.h>
#include <stdio.h>

#include "../../pwapt/pwapt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");
	struct context ctx = { .cmd = "fuzz" };
	config_parse(&ctx, "fuzz.conf", f);
	context_release(&ctx);
	fclose(stderr);
	stderr = saved;
	fclose(f);
	return 0;
}
