/* Network files of worlds: worlds/NAME/net, the subnet and the addresses
 * it gives (see netfile.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "netfile.h"

void net_file_release(struct net_file *f)
{
	free(f->fw);
	free(f->to);
	*f = (struct net_file)NET_FILE_INIT;
}

int subnet_parse(const char *text, struct subnet *out)
{
	const char *slash = strchr(text, '/');
	char addr[INET_ADDRSTRLEN];
	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	char *end;
	unsigned long prefix = strtoul(slash + 1, &end, 10);
	if (!isdigit((unsigned char)slash[1]) || *end || prefix < 8 ||
	    prefix > 30)
		return -EINVAL;
	uint32_t base = ntohl(a.s_addr), mask = ~0u << (32 - prefix);
	if (base & ~mask)
		return -EINVAL;
	*out = (struct subnet){base, (unsigned)prefix};
	return 0;
}

int net_check_config(struct world_store *s, struct subnet *n,
			struct world_error *err)
{
	if (subnet_parse(s->subnet, n) < 0)
		return werr(err, EINVAL,
			    "invalid subnet '%s' (an IPv4 network such as "
			    "10.213.0.0/16, prefix length 8 to 30)",
			    s->subnet);
	/* The bridge's name is also the table's: an nft identifier. */
	size_t len = strlen(s->bridge);
	bool ok = len > 0 && len < IFNAMSIZ &&
		  isalpha((unsigned char)s->bridge[0]);
	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)s->bridge[i]) ||
		     strchr("_.-", s->bridge[i]);
	if (!ok)
		return werr(err, EINVAL,
			    "invalid bridge name '%s' (at most %d letters, "
			    "digits, '_', '.', '-', starting with a letter)",
			    s->bridge, IFNAMSIZ - 1);
	return 0;
}

static int port_parse(const char *text, unsigned *port)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

int net_file_parse(const char *text, struct net_file *f)
{
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[16], a[32], b[32], more[2];
		int n = sscanf(line, "%15s %31s %31s %1s", key, a, b, more);
		struct in_addr in;
		unsigned p1, p2;
		if (n == 2 && !strcmp(key, "address") &&
		    inet_pton(AF_INET, a, &in) == 1) {
			f->address = ntohl(in.s_addr);
		} else if (n == 2 && !strcmp(key, "outbound") &&
			   (!strcmp(a, "on") || !strcmp(a, "off"))) {
			f->outbound = !strcmp(a, "on");
		} else if (n == 3 && !strcmp(key, "forward") &&
			   port_parse(a, &p1) == 0 && port_parse(b, &p2) == 0) {
			struct world_forward *v =
				realloc(f->fw, (f->n_fw + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			f->fw = v;
			f->fw[f->n_fw++] = (struct world_forward){p1, p2};
		} else if (n == 2 && !strcmp(key, "takeover") &&
			   port_parse(a, &p1) == 0) {
			unsigned *v =
				realloc(f->to, (f->n_to + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			f->to = v;
			f->to[f->n_to++] = p1;
		} else {
			return -EBADMSG;
		}
	}
	return 0;
}

int net_file_load(struct world_store *s, const char *name,
			 struct net_file *f, struct world_error *err)
{
	*f = (struct net_file)NET_FILE_INIT;
	_cleanup_free_ char *rel = path_join(name, "net"), *text = NULL;
	if (!rel)
		return werr(err, ENOMEM, "out of memory");
	int r = read_file_at(s->worlds_fd, rel, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r >= 0 && (r = net_file_parse(text, f)) < 0)
		net_file_release(f);
	if (r == -EBADMSG)
		return werr(err, EBADMSG, "the network file of '%s' is damaged",
			    name);
	return r < 0 ? werr_errno(err, -r,
				  "cannot read the network file "
				  "of '%s'",
				  name)
		     : 0;
}

int net_file_save(struct world_store *s, const char *name,
			 const struct net_file *f, struct world_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_fclose_ FILE *m = open_memstream(&text, &len);
	if (!m)
		return werr(err, ENOMEM, "out of memory");
	char a[INET_ADDRSTRLEN];
	if (f->address) {
		net_addr_text(f->address, a);
		fprintf(m, "address %s\n", a);
	}
	if (f->outbound >= 0)
		fprintf(m, "outbound %s\n", f->outbound ? "on" : "off");
	for (size_t i = 0; i < f->n_fw; i++)
		fprintf(m, "forward %u %u\n", f->fw[i].host_port,
			f->fw[i].port);
	for (size_t i = 0; i < f->n_to; i++)
		fprintf(m, "takeover %u\n", f->to[i]);
	if (fclose(m) != 0) {
		m = NULL;
		return werr(err, ENOMEM, "out of memory");
	}
	m = NULL;
	if (store_is_root(name))
		(void)mkdirat(s->worlds_fd, WORLD_ROOT, 0700);
	_cleanup_close_ int dfd =
		openat(s->worlds_fd, name,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = dfd < 0 ? -errno
			: write_file_atomic(dfd, "net", text, len, 0644);
	return r < 0 ? werr_errno(err, -r,
				  "cannot write the network file of '%s'", name)
		     : 0;
}

/* Every world with a network file, Root (in a container) first. */
static int net_names(struct world_store *s, char ***out)
{
	char **names = NULL;
	int r = store_world_names(s, &names);
	if (r < 0)
		return r;
	size_t n = 0;
	while (names[n])
		n++;
	char **v = realloc(names, (n + 2) * sizeof(*v));
	if (!v) {
		strvfreep(&names);
		return -ENOMEM;
	}
	memmove(v + 1, v, (n + 1) * sizeof(*v));
	v[0] = strdup(WORLD_ROOT);
	if (!v[0]) {
		strvfreep(&v);
		return -ENOMEM;
	}
	if (store_root_is_host(s)) {
		free(v[0]);
		memmove(v, v + 1, (n + 1) * sizeof(*v));
	}
	*out = v;
	return 0;
}

void net_all_release(struct net_all *a)
{
	for (size_t i = 0; i < a->n; i++)
		net_file_release(&a->files[i]);
	free(a->files);
	strvfreep(&a->names);
	*a = (struct net_all){0};
}

int net_all_load(struct world_store *s, struct net_all *a,
			struct world_error *err)
{
	*a = (struct net_all){0};
	int r = net_names(s, &a->names);
	if (r < 0)
		return werr_errno(err, -r, "cannot list worlds");
	size_t n = 0;
	while (a->names[n])
		n++;
	a->files = calloc(n ? n : 1, sizeof(*a->files));
	if (!a->files) {
		net_all_release(a);
		return werr(err, ENOMEM, "out of memory");
	}
	for (; a->n < n; a->n++)
		if ((r = net_file_load(s, a->names[a->n], &a->files[a->n],
				       err)) < 0) {
			net_all_release(a);
			return r;
		}
	return 0;
}

struct net_file *net_all_find(struct net_all *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->names[i], name))
			return &a->files[i];
	return NULL;
}

/* The lowest address of the subnet no other world has. */
int net_allocate_address(struct world_store *s, const struct subnet *n,
			    const char *name, uint32_t *out,
			    struct world_error *err)
{
	struct net_all a;
	int r = net_all_load(s, &a, err);
	if (r < 0)
		return r;
	uint32_t size = subnet_size(n);
	_cleanup_free_ unsigned char *used = calloc(size / 8 + 1, 1);
	if (!used) {
		net_all_release(&a);
		return werr(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < a.n; i++) {
		uint32_t x = a.files[i].address;
		if (strcmp(a.names[i], name) && subnet_has_world(n, x))
			used[(x - n->base) / 8] |= 1u << ((x - n->base) % 8);
	}
	net_all_release(&a);
	for (uint32_t i = 2; i < size - 1; i++)
		if (!(used[i / 8] & (1u << (i % 8)))) {
			*out = n->base + i;
			return 0;
		}
	return werr(err, ENOSPC, "no free address left in the subnet %s",
		    s->subnet);
}

bool net_outbound_of(struct world_store *s, const char *name,
			const struct net_file *f)
{
	if (f->outbound >= 0)
		return f->outbound;
	/* Root is production: its mail and its pushes are real. */
	return store_is_root(name) || s->outbound;
}

bool net_file_has_rules(struct world_store *s, const char *name,
			   const struct net_file *f)
{
	return f->n_fw || f->n_to || store_is_root(name) ||
	       (f->outbound >= 0 && f->outbound != s->outbound);
}

bool net_has_rules(struct world_store *s, const char *name)
{
	struct net_file f;
	if (!net_has_file(s, name) || net_file_load(s, name, &f, NULL) < 0)
		return false;
	bool r = net_file_has_rules(s, name, &f);
	net_file_release(&f);
	return r;
}

int net_file_copy(const struct net_file *f, struct net_file *out,
		     struct world_error *err)
{
	*out = *f;
	out->fw = malloc((f->n_fw + 1) * sizeof(*f->fw));
	out->to = malloc((f->n_to + 1) * sizeof(*f->to));
	if (!out->fw || !out->to) {
		net_file_release(out);
		return werr(err, ENOMEM, "out of memory");
	}
	if (f->n_fw)
		memcpy(out->fw, f->fw, f->n_fw * sizeof(*f->fw));
	if (f->n_to)
		memcpy(out->to, f->to, f->n_to * sizeof(*f->to));
	return 0;
}
