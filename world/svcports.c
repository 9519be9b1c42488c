/* The TCP ports a world's processes listen on (world_listening_ports):
 * the socket inodes their descriptors hold (/proc/PID/fd, "socket:[N]")
 * matched against the listening sockets of their network namespace
 * (/proc/PID/net/tcp and tcp6, state 0A), all read through the host's
 * /proc with bounded reads.  Nothing of the world is executed, and a
 * process that exits meanwhile is left out. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "procs.h"
#include "services.h"

/* Sockets a process is seen to hold, at most. */
#define SOCKETS_MAX 4096
/* Bytes of /proc/PID/net/tcp read, at most (about 6000 sockets). */
#define NET_TCP_MAX (1u << 20)

struct inodes {
	unsigned long v[SOCKETS_MAX];
	size_t n;
};

static bool holds(const struct inodes *in, unsigned long ino)
{
	for (size_t i = 0; i < in->n; i++)
		if (in->v[i] == ino)
			return true;
	return false;
}

static int push_port(struct world_ports *out, int family, unsigned port)
{
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].port == port && out->v[i].family == family)
			return 0;
	struct world_port *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	out->v = nv;
	out->v[out->n++] = (struct world_port){.family = family, .port = port};
	return 0;
}

/* The listening sockets of FILE (/proc/PID/net/tcp or tcp6) whose inode
 * IN holds, onto OUT. */
static int read_listening(pid_t pid, const char *file, int family,
			  const struct inodes *in, struct world_ports *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, file);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* gone, or no IPv6 */
	char line[512];
	size_t read = 0;
	while (fgets(line, sizeof(line), f) && read < NET_TCP_MAX) {
		read += strlen(line);
		char local[80];
		unsigned port, st;
		unsigned long ino;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*[0-9]: %79[0-9A-Fa-f]:%x %*s %x %*s %*s "
				 "%*s %*u %*u %lu",
			   local, &port, &st, &ino) != 4)
			continue;
		if (st != 0x0A || !holds(in, ino))
			continue;
		int r = push_port(out, family, port);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_port(const void *a, const void *b)
{
	const struct world_port *x = a, *y = b;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->family - y->family;
}

int services_ports(struct world_store *s, const char *name, const pid_t *pids,
		   size_t n, struct world_ports *out, struct world_error *err)
{
	int r = store_check_world(s, name, err);
	if (r < 0)
		return r;
	pid_t init = 0;
	if (!(store_is_root(name) && store_root_is_host(s)) &&
	    !(container_running(s, name, &init) && init > 1)) {
		*out = (struct world_ports){0};
		return 0; /* runs nothing */
	}
	struct proc_table t = {0};
	r = procs_scan(init, 0, &t);
	if (r == -ESRCH) {
		*out = (struct world_ports){0};
		return 0;
	}
	if (r < 0)
		return werr_errno(err, -r, "cannot read the processes of '%s'",
				  name);
	struct world_ports ports = {0};
	_cleanup_free_ struct inodes *in = malloc(sizeof(*in));
	if (!in)
		r = -ENOMEM;
	for (size_t k = 0; r >= 0 && k < t.n; k++) {
		bool ours = false;
		for (size_t i = 0; !ours && i < n; i++)
			ours = t.v[k].nspid == pids[i];
		if (!ours)
			continue;
		in->n = procs_sockets(t.v[k].pid, in->v, SOCKETS_MAX);
		if (!in->n)
			continue;
		r = read_listening(t.v[k].pid, "tcp", 4, in, &ports);
		if (r >= 0)
			r = read_listening(t.v[k].pid, "tcp6", 6, in, &ports);
	}
	procs_release(&t);
	if (r < 0) {
		free(ports.v);
		return werr_errno(err, -r, "cannot read the ports of '%s'",
				  name);
	}
	if (ports.n)
		qsort(ports.v, ports.n, sizeof(*ports.v), cmp_port);
	*out = ports;
	return 0;
}
