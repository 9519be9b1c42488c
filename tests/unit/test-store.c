/* Unit tests of the state store's pure parts: names and metadata. */
#include <stdlib.h>
#include <string.h>

#include "../../world/store.h"
#include "tap.h"

static void test_names(void)
{
	ok(store_name_valid("Root"), "Root is a valid name");
	ok(store_name_valid("WPUpdate"), "letters");
	ok(store_name_valid("php-8.2_update"), "digits, '-', '.', '_' inside");
	ok(store_name_valid("0day"), "a leading digit");
	ok(!store_name_valid(""), "empty refused");
	ok(!store_name_valid(NULL), "NULL refused");
	ok(!store_name_valid("-x"), "a leading '-' refused (option)");
	ok(!store_name_valid(".."), "'..' refused");
	ok(!store_name_valid(".hidden"), "a leading '.' refused");
	ok(!store_name_valid("a/b"), "'/' refused");
	ok(!store_name_valid("a b"), "space refused");
	ok(!store_name_valid("caf\xc3\xa9"), "non-ASCII refused");
	char name[WORLD_NAME_MAX + 2];
	memset(name, 'a', sizeof(name));
	name[WORLD_NAME_MAX] = '\0';
	ok(store_name_valid(name), "%d characters accepted", WORLD_NAME_MAX);
	name[WORLD_NAME_MAX] = 'a';
	name[WORLD_NAME_MAX + 1] = '\0';
	ok(!store_name_valid(name), "%d characters refused",
	   WORLD_NAME_MAX + 1);
}

static void test_meta(void)
{
	struct world_meta m = {0};
	int r = meta_parse("pwapt-world 1\nname WPTest\nparent WPUUpdate\n"
			   "parent PHPUpdate\ncreated 1764000000\n"
			   "phase ready\nfuture-key whatever\n",
			   &m);
	ok(r == 0, "a complete file parses");
	ok(r == 0 && !strcmp(m.name, "WPTest"), "name");
	ok(r == 0 && m.n_parents == 2 && !strcmp(m.parents[0], "WPUUpdate") &&
		   !strcmp(m.parents[1], "PHPUpdate") && !m.parents[2],
	   "parents in order");
	ok(r == 0 && m.created == 1764000000, "created");
	ok(r == 0 && m.phase == META_READY, "phase ready");
	meta_release(&m);

	r = meta_parse("pwapt-world 1\nname A\nparent Root\n"
		       "created 1764000000.000000042\nphase ready\n",
		       &m);
	ok(r == 0 && m.created == 1764000000 && m.created_ns == 42,
	   "created with nanoseconds");
	ok(r == 0 && meta_trace_from(&m) == 1764000000000000042u,
	   "no trace-from: the trace counts from created");
	meta_release(&m);

	r = meta_parse("pwapt-world 1\nname A\nparent Root\n"
		       "created 1764000000.000000042\n"
		       "trace-from 1764000000.003900117\nphase ready\n",
		       &m);
	ok(r == 0 && m.created_ns == 42 &&
		   meta_trace_from(&m) == 1764000000003900117u,
	   "trace-from: the trace counts from it, created stays");
	ok(r == 0 && !m.trace_untold,
	   "no trace-untold: the collector answered, or none ran");
	meta_release(&m);

	/* A collector that did not answer wcreate: said, and anything but
	 * "no" errs on the side of "the trace may lack accesses". */
	static const struct {
		const char *val;
		bool untold;
	} untold[] = {{"yes", true}, {"no", false}, {"", true}, {"1", true}};
	for (size_t i = 0; i < sizeof(untold) / sizeof(*untold); i++) {
		char text[160];
		snprintf(text, sizeof(text),
			 "pwapt-world 1\nname A\nparent Root\n"
			 "trace-untold %s\nphase ready\n",
			 untold[i].val);
		r = meta_parse(text, &m);
		ok(r == 0 && m.trace_untold == untold[i].untold,
		   "trace-untold '%s'", untold[i].val);
		meta_release(&m);
	}
	r = meta_parse("pwapt-world 1\nname A\nparent Root\ntrace-untold\n",
		       &m);
	ok(r == 0 && m.trace_untold, "trace-untold without a value");
	meta_release(&m);

	/* Malformed, or not just after created: created counts. */
	static const char *const bad_from[] = {
		"99999999999.000000000",
		".500000000",
		"1764000000.5",
		"1764000000x",
		"1764000000.0000000001",
		"-1764000000.000000000",
		"1764000061.000000000",
		"1763999999.999999999",
		"",
	};
	for (size_t i = 0; i < sizeof(bad_from) / sizeof(*bad_from); i++) {
		char text[256];
		snprintf(text, sizeof(text),
			 "pwapt-world 1\nname A\nparent Root\n"
			 "created 1764000000.000000042\ntrace-from %s\n",
			 bad_from[i]);
		r = meta_parse(text, &m);
		ok(r == 0 && meta_trace_from(&m) == 1764000000000000042u,
		   "trace-from '%s': created counts", bad_from[i]);
		meta_release(&m);
	}

	r = meta_parse("pwapt-world 1\nname A\nparent Root\n", &m);
	ok(r == 0 && m.phase == META_CREATING,
	   "no phase line: still being created (a torn write is not ready)");
	meta_release(&m);

	static const char *const bad[] = {
		"",
		"garbage\n",
		"name A\nparent Root\nphase ready\n",
		"pwapt-world 2\nname A\nparent Root\nphase ready\n",
		"pwapt-world 1\nparent Root\nphase ready\n",
		"pwapt-world 1\nname A\nphase ready\n",
		"pwapt-world 1\nname ../etc\nparent Root\nphase ready\n",
		"pwapt-world 1\nname A\nparent a/b\nphase ready\n",
		"pwapt-world 1\nname A\nname B\nparent Root\nphase ready\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct world_meta x = {0};
		ok(meta_parse(bad[i], &x) < 0,
		   "malformed metadata #%zu refused", i);
		ok(x.name == NULL && x.parents == NULL,
		   "output untouched on failure #%zu", i);
	}
}

int main(void)
{
	test_names();
	test_meta();
	return tap_done();
}
