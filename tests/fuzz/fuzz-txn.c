/* libFuzzer target: a transaction's record (the world's note
 * "transaction").  parse() is static: the harness includes txn.c (the rest
 * comes from the fuzz build's libworld). */
#include "../../pwapt/txn.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct txn t;
	struct world_error err = {0};
	if (parse("tx1", text, &t, &err) == 0) {
		/* What parses is usable.  (The parent is the world's, read
		 * by txn_load(), never the record's.) */
		if (!t.name || !t.kind || t.parent)
			abort();
		(void)txn_phase_name(t.phase);
		txn_release(&t);
	}
	free(text);
	return 0;
}
