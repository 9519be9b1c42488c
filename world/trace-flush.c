/* Flush requests between the readers of the tables and the collector
 * (trace-flush.h).
 *
 * Why a socket: the connection itself is the request and carries its own
 * answer back, so that readers at the same time need no numbering of
 * theirs; the kernel queues connections while the collector is busy (or
 * stopped) and the collector takes them all at once, so that one drain
 * of the kernel's records answers every request taken before it; its
 * descriptor waits in the collector's poll() beside the ring buffer or
 * the audit socket, with no signal and no file to watch; and a collector
 * that died leaves a socket nobody listens on, which refuses at once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "trace-flush.h"
#include "trace-table.h"

/* TRACE_SOCKET's address through the state directory's descriptor: the
 * directory's own path may not fit in sun_path. */
static socklen_t socket_address(struct world_store *s, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path),
			 "/proc/self/fd/%d/%s", s->state_fd, TRACE_SOCKET);

	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int trace_flush_listen(struct world_store *s, struct trace_flush *f)
{
	struct sockaddr_un sa;
	socklen_t len = socket_address(s, &sa);

	*f = (struct trace_flush){.fd = -1};
	/* A killed collector's: the caller holds the lock now. */
	if (unlinkat(s->state_fd, TRACE_SOCKET, 0) < 0 && errno != ENOENT)
		return -errno;
	_cleanup_close_ int fd = socket(
		AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
		return -errno;
	/* Root's commands only: a request costs the collector a drain. */
	if (fchmodat(s->state_fd, TRACE_SOCKET, 0600, 0) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int r = -errno;
		unlinkat(s->state_fd, TRACE_SOCKET, 0);
		return r;
	}
	f->fd = steal_fd(&fd);
	return 0;
}

void trace_flush_add(struct trace_flush *f, int c)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		int *v = realloc(f->waiting, cap * sizeof(*v));

		if (!v) { /* its reader hears nothing: not flushed */
			close(c);
			return;
		}
		f->waiting = v;
		f->cap = cap;
	}
	f->waiting[f->n++] = c;
}

size_t trace_flush_accept(struct trace_flush *f)
{
	for (;;) {
		int c = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0) /* EAGAIN: all taken; others: the next poll */
			return f->n;
		trace_flush_add(f, c);
	}
}

void trace_flush_told(struct trace_flush *f)
{
	static const char told = TRACE_TOLD;

	for (; f->told < f->n; f->told++)
		(void)!send(f->waiting[f->told], &told, 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
}

void trace_flush_answer(struct trace_flush *f, bool flushed)
{
	char answer = flushed ? TRACE_FLUSHED : TRACE_NOT_FLUSHED;

	for (size_t i = 0; i < f->n; i++) {
		/* A reader that gave up meanwhile: nothing to tell. */
		(void)!send(f->waiting[i], &answer, 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(f->waiting[i]);
	}
	f->n = 0;
	f->told = 0;
}

void trace_flush_release(struct world_store *s, struct trace_flush *f)
{
	for (size_t i = 0; i < f->n; i++)
		close(f->waiting[i]);
	free(f->waiting);
	if (f->fd >= 0) {
		close(f->fd);
		unlinkat(s->state_fd, TRACE_SOCKET, 0);
	}
	*f = (struct trace_flush){.fd = -1};
}

long trace_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* A request to the collector of S; waits up to TIMEOUT_MS for its answer,
 * or only for TRACE_TOLD (TOLD_ONLY): 1, 0 or -errno, as the callers
 * say. */
static int flush_ask(struct world_store *s, int timeout_ms, bool told_only)
{
	struct sockaddr_un sa;
	socklen_t len = socket_address(s, &sa);
	struct timespec start;
	char answer;
	ssize_t n = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Non-blocking: a connect to a collector whose queue is full would
	 * wait without bound. */
	_cleanup_close_ int fd = socket(
		AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
			return -errno;
		/* No socket, or nobody listens on it: a collector that
		 * runs is not one that answers. */
		return trace_collector_runs(s) ? -ETIMEDOUT : 0;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = timeout_ms - trace_ms_since(&start);
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recv(fd, &answer, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 1 && answer == TRACE_TOLD && !told_only)
			continue; /* the flush's answer comes next */
		break;
	}
	if (n == 1 && told_only) /* a collector without TRACE_TOLD: older */
		return answer == TRACE_TOLD ? 1 : -EPROTO;
	if (n == 1)
		return answer == TRACE_FLUSHED ? 1 : -EIO;
	/* Closed unanswered: it stopped (its tables are final) or could
	 * not take the request. */
	return trace_collector_runs(s) ? -EIO : 0;
}

int trace_flush_request(struct world_store *s, int timeout_ms)
{
	return flush_ask(s, timeout_ms, false);
}

int trace_flush_tell(struct world_store *s, int timeout_ms)
{
	int r = flush_ask(s, timeout_ms, true);

	/* An error of this process (no socket, descriptors, memory)
	 * where no collector runs: there was nothing to tell. */
	return r < 0 && !trace_collector_runs(s) ? 0 : r;
}
