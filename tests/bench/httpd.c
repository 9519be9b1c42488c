/* A tiny HTTP/1.1 server for tests/bench/net: answers every request on
 * PORT with the same page of SIZE bytes (default 1024), keeps connections alive unless a request
 * says "Connection: close".  One thread, epoll; no fork per request, so
 * that the benchmark measures the network path, not the server.  Built
 * static, since it runs in a world of the busybox test tree. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
#define BUF    4096

struct conn {
	char buf[BUF];
	size_t len;
};

static struct conn *conns[MAX_FD];
static char *response, *response_close;
static size_t response_len, response_close_len;

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

/* Answers every complete request in the buffer; 0 to keep the connection. */
static int serve(int fd, struct conn *c)
{
	char *end;
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
		size_t n = (size_t)(end + 4 - c->buf);
		int close_it = memmem(c->buf, n, "Connection: close", 17) ||
			       memmem(c->buf, n, "connection: close", 17);
		const char *r = close_it ? response_close : response;
		size_t len = close_it ? response_close_len : response_len;
		if (write(fd, r, len) != (ssize_t)len)
			return -1;
		if (close_it) {
			/* A reset, not a TIME_WAIT on our side: the client's
			 * next connection may reuse the port at once. */
			struct linger l = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			return -1;
		}
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
	}
	return c->len == BUF ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s PORT [SIZE]\n", argv[0]);
		return 2;
	}
	size_t size = argc == 3 ? strtoul(argv[2], NULL, 10) : 1024;
	char *page = malloc(size + 1);
	if (!page || asprintf(&response,
			      "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
			      "Content-Type: text/plain\r\n\r\n",
			      size) < 0 ||
	    asprintf(&response_close,
		     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\nContent-Type: text/plain\r\n\r\n",
		     size) < 0)
		return 1;
	memset(page, 'x', size);
	page[size] = '\0';
	/* Headers and page in one buffer: one write per answer. */
	response_len = strlen(response) + size;
	response_close_len = strlen(response_close) + size;
	response = realloc(response, response_len + 1);
	response_close = realloc(response_close, response_close_len + 1);
	if (!response || !response_close)
		return 1;
	strcat(response, page);
	strcat(response_close, page);

	int one = 1;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(argv[1]))};
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ls, 1024) < 0) {
		perror("listen");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				int c;
				while ((c = accept4(ls, NULL, NULL,
						    SOCK_NONBLOCK |
							    SOCK_CLOEXEC)) >= 0) {
					if (c >= MAX_FD ||
					    !(conns[c] = calloc(1, sizeof(**conns)))) {
						close(c);
						continue;
					}
					/* Room for a whole answer: a write never
					 * stops halfway. */
					int buf = (int)(2 * response_len + 65536);
					setsockopt(c, SOL_SOCKET, SO_SNDBUF, &buf,
						   sizeof(buf));
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY,
						   &one, sizeof(one));
					ev = (struct epoll_event){
						.events = EPOLLIN, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			struct conn *c = conns[fd];
			ssize_t r = read(fd, c->buf + c->len, BUF - c->len);
			if (r <= 0 || (c->len += (size_t)r, serve(fd, c) < 0))
				drop(ep, fd);
		}
	}
}
