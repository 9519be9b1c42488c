/* The collector's teller (trace-teller.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "trace-teller.h"

/* How often the teller reads the creations without a request: a world
 * whose wcreate could not ask (the socket full, say) is known this late
 * at most, as it was when the collector's own loop read them. */
#define REFRESH_MS 100

static int refresh(struct trace_teller *t)
{
	uint64_t e;
	int r = trace_epoch(t->s, &t->cache, &e);

	if (r < 0)
		return r;
	__atomic_store_n(&t->epoch, e, __ATOMIC_SEQ_CST);
	if (t->publish)
		t->publish(t->arg, e);
	return 0;
}

/* Hands the requests of GOT to the collector's thread (told or not) and
 * wakes it. */
static void hand_over(struct trace_teller *t, struct trace_flush *got)
{
	static const uint64_t one = 1;

	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < got->n; i++)
		trace_flush_add(&t->queue, got->waiting[i]);
	pthread_mutex_unlock(&t->mu);
	got->n = 0;
	got->told = 0;
	(void)!write(t->wake_fd, &one, sizeof(one));
}

static void *teller_main(void *arg)
{
	struct trace_teller *t = arg;
	struct trace_flush got = {.fd = t->listen_fd};

	for (;;) {
		struct pollfd p[2] = {{.fd = t->stop_fd, .events = POLLIN},
				      {.fd = t->listen_fd, .events = POLLIN}};
		int r;

		if (poll(p, 2, REFRESH_MS) < 0 && errno != EINTR)
			r = -errno;
		else if (p[0].revents)
			break;
		else
			r = 0;
		/* Taken first, then the creations read: each request is told
		 * of an epoch read after it came. */
		trace_flush_accept(&got);
		if (r >= 0)
			r = refresh(t);
		if (r < 0) { /* the collector's thread stops on it */
			__atomic_store_n(&t->error, r, __ATOMIC_SEQ_CST);
			hand_over(t, &got);
			break;
		}
		if (got.n) {
			trace_flush_told(&got);
			hand_over(t, &got);
		}
	}
	free(got.waiting);
	return NULL;
}

int trace_teller_start(struct trace_teller *t, struct world_store *s,
		       int listen_fd,
		       void (*publish)(void *arg, uint64_t epoch), void *arg)
{
	sigset_t all, old;
	int r;

	t->s = s;
	t->listen_fd = listen_fd;
	t->publish = publish;
	t->arg = arg;
	if ((r = refresh(t)) < 0)
		return r;
	if ((r = pthread_mutex_init(&t->mu, NULL)) != 0)
		return -r;
	t->has_mu = true;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0 || t->stop_fd < 0) {
		r = -errno;
		trace_teller_stop(t);
		return r;
	}
	/* Signals go to the collector's thread, whose poll() they end. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&t->thread, NULL, teller_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	t->running = r == 0;
	if (r < 0)
		trace_teller_stop(t);
	return r;
}

int trace_teller_fd(const struct trace_teller *t)
{
	return t->wake_fd;
}

int trace_teller_take(struct trace_teller *t, struct trace_flush *f)
{
	uint64_t n;
	int error = __atomic_load_n(&t->error, __ATOMIC_SEQ_CST);

	(void)!read(t->wake_fd, &n, sizeof(n));
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->queue.n; i++)
		trace_flush_add(f, t->queue.waiting[i]);
	t->queue.n = 0;
	pthread_mutex_unlock(&t->mu);
	/* Told already, by the teller (or never to be: its error). */
	f->told = f->n;
	return error < 0 ? error : (int)f->n;
}

uint64_t trace_teller_epoch(struct trace_teller *t)
{
	return __atomic_load_n(&t->epoch, __ATOMIC_SEQ_CST);
}

void trace_teller_stop(struct trace_teller *t)
{
	static const uint64_t one = 1;

	if (t->running) {
		(void)!write(t->stop_fd, &one, sizeof(one));
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	if (t->has_mu)
		pthread_mutex_destroy(&t->mu);
	t->has_mu = false;
	trace_flush_release(t->s, &t->queue);
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	t->wake_fd = t->stop_fd = -1;
}
