/* A minimal TAP producer for the C unit tests. */
#ifndef PWAPT_TAP_H
#define PWAPT_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                       \
	do {                                                                \
		int ok_ = !!(cond);                                         \
		tap_n++;                                                    \
		if (!ok_) {                                                 \
			tap_failed++;                                       \
			printf("not ok %d - ", tap_n);                      \
		} else {                                                    \
			printf("ok %d - ", tap_n);                          \
		}                                                           \
		printf(__VA_ARGS__);                                        \
		putchar('\n');                                              \
		if (!ok_)                                                   \
			printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, \
			       __LINE__);                                   \
	} while (0)

/* No test can run for lack of REASON: the whole file skips (tests/run-all
 * counts that as a failure when PWAPT_TEST_MUST_WORK=1). */
static inline int tap_skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	return 0;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
