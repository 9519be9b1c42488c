/* The collector's teller (world/trace-teller.c): every request told and,
 * once the collector's thread answers, answered, from many readers at
 * once; a creation told while that thread is busy, a flush not; the epoch
 * published before a creation is told; requests still queued at the stop
 * closed, no descriptor left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../world/store.h"
#include "../../world/trace-flush.h"
#include "../../world/trace-teller.h"
#include "tap.h"

#define READERS 8
#define ROUNDS	100

static struct world_store s = {.state_fd = -1, .worlds_fd = -1, .lock_fd = -1};
static uint64_t published;
static int answered, refused;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void publish(void *arg, uint64_t epoch)
{
	(void)arg;
	__atomic_store_n(&published, epoch, __ATOMIC_SEQ_CST);
}

/* A reader: wcreate's request (odd) or wdiff's (even), ROUNDS times. */
static void *reader(void *arg)
{
	long k = (long)arg;

	for (int i = 0; i < ROUNDS; i++) {
		int r = k & 1 ? trace_flush_tell(&s, TRACE_CREATE_FLUSH_MS)
			      : trace_flush_request(&s, TRACE_FLUSH_TIMEOUT_MS);

		pthread_mutex_lock(&mu);
		if (r == 1)
			answered++;
		else
			refused++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void *tell_once(void *arg)
{
	*(int *)arg = trace_flush_tell(&s, TRACE_CREATE_FLUSH_MS);
	return NULL;
}

static void *flush_once(void *arg)
{
	*(int *)arg = trace_flush_request(&s, 300);
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/pwapt-test-teller.XXXXXX";
	struct trace_flush f;
	struct trace_teller t = TRACE_TELLER_INIT;
	pthread_t th[READERS];
	int before;

	if (!mkdtemp(dir) || asprintf(&s.worlds, "%s/worlds", dir) < 0 ||
	    mkdir(s.worlds, 0700) < 0 ||
	    (s.state_fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    (s.worlds_fd = open(s.worlds, O_RDONLY | O_DIRECTORY)) < 0)
		return tap_skip_all("cannot make a store in /tmp");
	s.state = dir;
	before = open_fds();
	ok(trace_flush_listen(&s, &f) == 0 &&
		   trace_teller_start(&t, &s, f.fd, publish, NULL) == 0,
	   "the teller starts on the collector's socket");

	/* The collector's thread: takes and answers until every reader
	 * heard. */
	for (long i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader, (void *)i);
	for (int done = 0; !done;) {
		struct pollfd p = {.fd = trace_teller_fd(&t), .events = POLLIN};
		int r;

		poll(&p, 1, 100);
		if ((r = trace_teller_take(&t, &f)) < 0)
			break;
		if (r > 0)
			trace_flush_answer(&f, true);
		pthread_mutex_lock(&mu);
		done = answered + refused == READERS * ROUNDS;
		pthread_mutex_unlock(&mu);
	}
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	ok(answered == READERS * ROUNDS && refused == 0,
	   "%d readers at once, %d requests each: all answered (%d refused)",
	   READERS, ROUNDS, refused);

	/* A world being created; the collector's thread takes nothing. */
	int told = 0, flushed = 0;
	pthread_t a, b;

	ok(store_creating_mark(&s, "C") == 0, "a world marked as being made");
	pthread_create(&a, NULL, tell_once, &told);
	pthread_create(&b, NULL, flush_once, &flushed);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	ok(told == 1, "told while the collector's thread is busy (%d)", told);
	ok(__atomic_load_n(&published, __ATOMIC_SEQ_CST) == UINT64_MAX &&
		   trace_teller_epoch(&t) == UINT64_MAX,
	   "the epoch it was told of was published first: nothing dropped");
	ok(flushed == -ETIMEDOUT,
	   "a flush is not answered before that thread drains (%d)", flushed);

	/* Told requests still queued when the collector stops. */
	pthread_create(&a, NULL, tell_once, &told);
	pthread_join(a, NULL);
	trace_teller_stop(&t);
	trace_teller_stop(&t);
	trace_flush_release(&s, &f);
	close(s.state_fd);
	close(s.worlds_fd);
	ok(open_fds() == before - 2,
	   "stopped twice: every request closed, no descriptor left");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	free(s.worlds);
	return tap_done();
}
