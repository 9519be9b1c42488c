/* libFuzzer target: a world's network file (worlds/NAME/net: address,
 * outbound, forwards, takeovers), and the configured subnet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../world/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct net_file f = NET_FILE_INIT;
	if (net_file_parse(text, &f) == 0) {
		/* What parses is usable: ports are ports. */
		for (size_t i = 0; i < f.n_fw; i++)
			if (f.fw[i].port < 1 || f.fw[i].port > 65535 ||
			    f.fw[i].host_port < 1 || f.fw[i].host_port > 65535)
				abort();
		for (size_t i = 0; i < f.n_to; i++)
			if (f.to[i] < 1 || f.to[i] > 65535)
				abort();
		if (f.outbound < -1 || f.outbound > 1)
			abort();
	}
	net_file_release(&f);
	struct subnet n;
	if (subnet_parse(text, &n) == 0 &&
	    (n.prefix < 8 || n.prefix > 30 ||
	     (n.base & (0xffffffffu >> n.prefix)) != 0))
		abort();
	free(text);
	return 0;
}
