/* Services move with a merge (service.h, "Moving services"): the plan of
 * what stops in SRC (and in DST: what the merge removes), starts and
 * restarts in DST, and its notes; its steps are svcsteps.c's.
 *
 * Order.  Debian's insserv numbers the rc2.d start links from the LSB
 * headers (Required-Start, Should-Start): their S-number order is a
 * dependency order, and what a boot uses.  Services start and restart in
 * that order, taken from SRC's tree (what DST holds after the merge);
 * those without a start link (systemd units, scripts not enabled) come
 * after, by name.  Over that, units' ordering: a unit starts after the
 * services of the plan its After=, Requires= and Wants= name and before
 * those of its Before= (unit files and drop-ins of the tree that holds
 * them after the merge, world_service_order()), a cycle broken at its
 * first service in the order above and said.  Services stop in the
 * reverse order.  systemctl orders the jobs of one transaction, but a
 * unit restarted on its own waits for nothing: the order is pwapt's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"

/* The start order of services without an rc2.d start link. */
#define NO_LINK 100
/* Bytes of a dpkg file list read, at most (a world's file: bounded). */
#define LIST_MAX (16u << 20)

static struct svc_item *item_of(struct svc_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].name, name))
			return &p->v[i];
	struct svc_item *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	p->v = nv;
	nv[p->n] = (struct svc_item){.name = strdup(name), .order = NO_LINK};
	if (!nv[p->n].name)
		return NULL;
	return &nv[p->n++];
}

char *service_read_at(int dir, const char *name)
{
	/* A world's file: no symbolic link followed, no FIFO waited on. */
	_cleanup_close_ int fd = openat(
		dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)LIST_MAX)
		return NULL;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = cap <= LIST_MAX + 1 ? realloc(buf, cap) : NULL;
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static bool in_strv(char *const *v, const char *name)
{
	for (; v && *v; v++)
		if (!strcmp(*v, name))
			return true;
	return false;
}

/* Whether SERVICE runs in world L. */
static bool runs_in(const struct world_services *l, const char *service)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].running && !strcmp(l->v[i].name, service))
			return true;
	return false;
}

/* rc2.d of SRC: "S02ssh" gives ssh the order 2. */
static void read_order(struct context *ctx, const char *world,
		       struct svc_plan *p)
{
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	int fd = s ? world_open_in(s, world, "/etc/rc2.d",
				   O_RDONLY | O_DIRECTORY, &err)
		   : -1;
	world_store_free(s);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (fd >= 0 && !d)
		close(fd);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *e = de->d_name;
		if (e[0] != 'S' || e[1] < '0' || e[1] > '9' || e[2] < '0' ||
		    e[2] > '9')
			continue;
		for (size_t i = 0; i < p->n; i++)
			if (!strcmp(p->v[i].name, e + 3))
				p->v[i].order = (unsigned)((e[1] - '0') * 10 +
							   (e[2] - '0'));
	}
}

static int cmp_item(const void *a, const void *b)
{
	const struct svc_item *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The units' ordering over P's order (see the top), from SRC's tree
 * before the merge and DST's after; a cycle said once per plan. */
static void units_order(struct context *ctx, struct svc_plan *p)
{
	if (p->n < 2)
		return;
	_cleanup_free_ char **names = calloc(p->n + 1, sizeof(char *));
	_cleanup_free_ size_t *order = calloc(p->n, sizeof(size_t));
	_cleanup_free_ struct svc_item *v = calloc(p->n, sizeof(*v));
	_cleanup_free_ char *note = NULL;
	struct world_store *s = names && order && v ? open_store(ctx) : NULL;
	struct world_error err = {0};
	for (size_t i = 0; s && i < p->n; i++)
		names[i] = p->v[i].name;
	bool opened = s;
	int r = s ? world_service_order(s, p->merged ? p->dst : p->src, names,
					p->n, order, &note, &err)
		  : -1;
	world_store_free(s);
	if (r < 0) {
		fprintf(stderr,
			"%s: warning: cannot read the units' ordering: %s; "
			"services go by their rc2.d order and name\n",
			ctx->cmd, opened ? SHOWN(err.msg) : "cannot open the store");
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		v[i] = p->v[order[i]];
	memcpy(p->v, v, p->n * sizeof(*v));
	if (note && (!p->order_note || strcmp(note, p->order_note))) {
		fprintf(stderr, "%s: warning: %s\n", ctx->cmd, note);
		free(p->order_note);
		p->order_note = steal_pointer(&note);
	}
}

void service_plan_release(struct svc_plan *p)
{
	free(p->order_note);
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].why_text);
		world_ports_release(&p->v[i].ports);
	}
	free(p->v);
	free(p->src);
	free(p->dst);
	world_file_users_free(p->users);
	world_replaced_users_release(&p->planned);
	*p = (struct svc_plan){0};
}

/* Says the pid files of world W's services L that were refused (what
 * they name is not taken as the service's), each once a command. */
static void warn_pidfiles(struct context *ctx, const char *w,
			  const struct world_services *l)
{
	for (size_t i = 0; i < l->n; i++) {
		char *key = NULL;
		if (!l->v[i].warning ||
		    asprintf(&key, "%s %s %s", w, l->v[i].name,
			     l->v[i].warning) < 0)
			continue;
		if (strv_contains(ctx->said_pidfiles.v, key)) {
			free(key);
			continue;
		}
		(void)strv_push(&ctx->said_pidfiles, key);
		fprintf(stderr, "%s: warning: service %s in %s: ", ctx->cmd,
			l->v[i].name, w);
		put_text(stderr, l->v[i].warning);
		fputc('\n', stderr);
	}
}

/* Into P: DST's file users, before the merge (NULL, said, where they
 * cannot be read). */
static void read_users(struct context *ctx, struct world_store *s,
		       struct svc_plan *p)
{
	struct world_error ue = {0};
	if (world_file_users(s, p->dst, &p->users, &ue) < 0)
		fprintf(stderr,
			"%s: warning: cannot read what the processes of %s "
			"use: %s\n",
			ctx->cmd, p->dst, SHOWN(ue.msg));
}

/* Into P: the services of DST's file users (read_users()) that use a file
 * the merge (diff D) replaces, restarted in DST (LD: its services). */
static int plan_users(struct context *ctx, struct world_store *s,
		      const struct world_diff *d,
		      const struct world_services *ld, struct svc_plan *p,
		      struct world_error *err)
{
	struct world_error ue = {0};
	if (!p->users)
		return 0;
	if (world_planned_users(p->users, d, &p->planned, &ue) < 0) {
		fprintf(stderr,
			"%s: warning: cannot tell which processes of %s use "
			"files the merge replaces: %s\n",
			ctx->cmd, p->dst, SHOWN(ue.msg));
		return 0;
	}
	for (size_t i = 0; i < p->planned.n; i++) {
		const char *name = p->planned.v[i].service;
		/* service_plan_order() asks whether it is systemd. */
		if (!name && p->planned.v[i].pid == 1 && !ctx->no_restart)
			p->reexec_init = true;
		bool known = !name;
		for (size_t k = 0; !known && k < p->n; k++)
			known = !strcmp(p->v[k].name, name);
		if (known)
			continue;
		struct svc_item *it = item_of(p, name);
		if (!it)
			return -ENOMEM;
		it->in_dst = true;
		it->why = "uses a file the merge replaces";
		for (size_t k = 0; k < ld->n; k++) {
			const struct world_service *w = &ld->v[k];
			if (strcmp(w->name, name))
				continue;
			int r = world_listening_ports(
				s, p->dst, w->pids, w->n_pids, &it->ports, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static bool any_running(const struct world_services *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].running)
			return true;
	return false;
}

int service_plan_make(struct context *ctx, struct world_store *s,
		      const char *src, const char *dst,
		      char *const *also_restart, struct svc_plan *out,
		      struct world_error *err)
{
	struct svc_plan p = {.src = strdup(src), .dst = strdup(dst)};
	struct world_services ls = {0}, ld = {0};
	struct world_diff d = {0};
	int r = p.src && p.dst ? 0 : -ENOMEM;
	if (r >= 0)
		r = world_services(s, src, &ls, err);
	if (r >= 0)
		r = world_services(s, dst, &ld, err);
	if (r >= 0)
		read_users(ctx, s, &p);
	/* The diff, where a process is concerned: with no service running
	 * in either world and no process of DST using a file a merge may
	 * write (none, or pwapt-init only), the plan is empty. */
	if (r >= 0 && (any_running(&ls) || any_running(&ld) ||
		       world_file_users_count(p.users)))
		r = world_diff(s, src, dst, &d, err);
	for (size_t i = 0; r >= 0 && i < d.n; i++)
		p.conflicts |= d.v[i].conflict && !d.v[i].checked_off &&
			       !d.v[i].excluded;
	for (size_t i = 0; r >= 0 && i < d.n_warnings; i++)
		p.conflicts |= d.warnings[i].kind == WORLD_WARN_DERIVED;
	warn_pidfiles(ctx, src, &ls);
	warn_pidfiles(ctx, dst, &ld);
	int info = r >= 0 ? world_open_in(s, dst, "/var/lib/dpkg/info",
					  O_RDONLY | O_DIRECTORY, err)
			  : -1;
	/* SRC's and DST's dpkg status, SRC's lists: which packages SRC
	 * removed, read only where the merge changes dpkg's status (no
	 * package removed otherwise).  Unreadable: only the files the
	 * merge deletes tell. */
	struct world_packages pk[2] = {{0}};
	struct world_error pe = {0};
	bool dpkg = r >= 0 && service_changed(&d, "/var/lib/dpkg/status");
	bool have_pk = dpkg && world_packages(s, src, &pk[0], &pe) >= 0 &&
		       world_packages(s, dst, &pk[1], &pe) >= 0;
	int src_info = have_pk ? world_open_in(s, src, "/var/lib/dpkg/info",
					       O_RDONLY | O_DIRECTORY, &pe)
			       : -1;
	struct svc_config cfg = {0};
	if (r >= 0)
		r = service_config_make(s, src, dst, &d, &cfg);
	/* Running in SRC: stopped there, started (or restarted) in DST;
	 * except one that runs in DST too on files the merge leaves as they
	 * are (a world that boots systemd runs all of Root's services: a
	 * merge restarts none of them for that). */
	for (size_t i = 0; r >= 0 && i < ls.n; i++) {
		const struct world_service *w = &ls.v[i];
		if (w->running && runs_in(&ld, w->name) &&
		    !in_strv(also_restart, w->name) &&
		    !service_config_path(&cfg, w->name) &&
		    !service_files_change(info, &d, w->name))
			continue;
		struct svc_item *it = w->running ? item_of(&p, w->name) : NULL;
		if (w->running && !it)
			r = -ENOMEM;
		if (!it || r < 0)
			continue;
		it->in_src = true;
		it->added = service_added_to_dst(s, dst, &d, w->name);
		it->why = "runs in the merged world";
		r = world_listening_ports(s, src, w->pids, w->n_pids,
					  &it->ports, err);
	}
	/* Running in DST: restarted when the merge changes its files. */
	for (size_t i = 0; r >= 0 && i < ld.n; i++) {
		const struct world_service *w = &ld.v[i];
		if (!w->running)
			continue;
		bool extra = in_strv(also_restart, w->name);
		struct svc_item *found = NULL;
		for (size_t k = 0; k < p.n; k++)
			if (!strcmp(p.v[k].name, w->name))
				found = &p.v[k];
		bool gone =
			!found && service_removes(s, src, src_info, &d,
						  have_pk ? pk : NULL, w->name);
		bool config = service_config_path(&cfg, w->name);
		if (!found && !extra && !gone && !config &&
		    !service_files_change(info, &d, w->name))
			continue;
		struct svc_item *it = found ? found : item_of(&p, w->name);
		if (!it) {
			r = -ENOMEM;
			break;
		}
		it->in_dst = true;
		it->removed = gone;
		if (!found)
			it->why = gone    ? "its package is removed"
				  : extra ? "its package was upgraded"
					  : "its files change";
		if (!found && !gone && !extra && config &&
		    (it->why_text = service_config_why(&cfg, w->name)))
			it->why = it->why_text;
		if (!it->ports.n) {
			world_ports_release(&it->ports);
			r = world_listening_ports(s, dst, w->pids, w->n_pids,
						  &it->ports, err);
		}
	}
	if (r >= 0)
		r = plan_users(ctx, s, &d, &ld, &p, err);
	if (r >= 0 && have_pk)
		service_program_removed(s, dst, &p, &d, info, pk);
	if (info >= 0)
		close(info);
	if (src_info >= 0)
		close(src_info);
	world_packages_release(&pk[0]);
	world_packages_release(&pk[1]);
	service_config_release(&cfg);
	world_services_release(&ls);
	world_services_release(&ld);
	world_diff_release(&d);
	if (r < 0) {
		if (r == -ENOMEM && err)
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		service_plan_release(&p);
		return r;
	}
	*out = p;
	return 0;
}

void service_plan_order(struct context *ctx, struct svc_plan *p)
{
	/* Ports of services found after the merge: their old processes
	 * still run in DST. */
	for (size_t i = 0; p->merged && i < p->n; i++)
		if (p->v[i].ports_later) {
			(void)service_ports_of(ctx, p->dst, p->v[i].name,
					       &p->v[i].ports);
			p->v[i].ports_later = false;
		}
	read_order(ctx, p->merged ? p->dst : p->src, p);
	if (p->n)
		qsort(p->v, p->n, sizeof(*p->v), cmp_item);
	units_order(ctx, p);
	if (p->reexec_init &&
	    !(p->reexec_init = service_runs_systemd(ctx, p->dst)) && p->merged)
		fprintf(stderr,
			"%s: warning: PID 1 of %s uses files the merge "
			"replaced, and is not systemd: restart it by hand\n",
			ctx->cmd, p->dst);
}

void service_order_in(struct context *ctx, const char *world, char **names)
{
	struct svc_plan p = {.src = strdup(world), .dst = strdup(world),
			     .merged = true};
	size_t n = 0;
	for (char **x = names; x && *x; x++, n++)
		if (!item_of(&p, *x))
			break;
	if (p.src && p.dst && p.n == n && n > 1) {
		read_order(ctx, world, &p);
		qsort(p.v, p.n, sizeof(*p.v), cmp_item);
		units_order(ctx, &p);
		/* Each name once in P: NAMES takes P's order. */
		for (size_t i = 0; i < p.n; i++)
			for (size_t j = i; j < n; j++)
				if (!strcmp(names[j], p.v[i].name)) {
					char *t = names[i];
					names[i] = names[j];
					names[j] = t;
					break;
				}
	}
	service_plan_release(&p);
}

char **service_plan_removed(const struct svc_plan *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->v[i].removed;
	char **v = n ? calloc(n + 1, sizeof(*v)) : NULL;
	for (size_t i = 0, k = 0; v && i < p->n; i++)
		if (p->v[i].removed && !(v[k++] = strdup(p->v[i].name)))
			strvfreep(&v);
	return v;
}

int service_plan_after_merge(struct context *ctx, struct world_store *s,
			     struct svc_plan *p)
{
	_cleanup_strv_free_ char **gone = service_plan_removed(p);
	p->reexec_init = false; /* the plan's guess; now what happened */
	_cleanup_strv_free_ char **users =
		p->users ? service_with_replaced_users(ctx, s, p->dst, p->users,
						       NULL, gone,
						       &p->reexec_init)
			 : NULL;
	for (char **u = users; u && *u; u++) {
		bool known = false;
		for (size_t i = 0; i < p->n; i++)
			known |= !strcmp(p->v[i].name, *u);
		if (known)
			continue;
		struct svc_item *it = item_of(p, *u);
		if (!it)
			return -ENOMEM;
		it->in_dst = true;
		it->why = "uses a file the merge replaced";
		it->ports_later = true;
	}
	p->merged = true;
	return 0;
}

static void print_ports(FILE *f, const struct svc_item *it, bool json)
{
	if (json) {
		fprintf(f, ",\"ports\":[");
		for (size_t k = 0; k < it->ports.n; k++)
			fprintf(f, "%s%u", k ? "," : "", it->ports.v[k].port);
		fprintf(f, "]");
		return;
	}
	for (size_t k = 0; k < it->ports.n; k++)
		fprintf(f, "%s%u", k ? "," : " (ports ", it->ports.v[k].port);
	if (it->ports.n)
		fprintf(f, ")");
}

/* "re-execute systemd (PID 1) in DST: ..." when P re-executes it: the
 * plan's first line, as it runs before any service starts. */
static void print_reexec(FILE *f, const struct svc_plan *p)
{
	for (size_t i = 0; p->reexec_init && i < p->planned.n; i++) {
		const struct world_replaced_user *u = &p->planned.v[i];
		if (u->service || u->pid != 1)
			continue;
		fputs("re-execute systemd (PID 1) in ", f);
		put_text(f, p->dst);
		fputs(": it uses ", f);
		put_path(f, u->path);
		fputs(", which the merge replaces\n", f);
		return;
	}
}

void service_plan_print_by_hand(FILE *f, const struct svc_plan *p, bool json)
{
	if (json)
		fprintf(f, ",\"by_hand\":[");
	bool first = true;
	for (size_t i = 0; i < p->planned.n; i++) {
		const struct world_replaced_user *u = &p->planned.v[i];
		if (u->service)
			continue;
		if (u->pid == 1 && p->reexec_init)
			continue; /* print_reexec() said it first */
		if (!json) {
			fputs("restart by hand: ", f);
			service_put_user(f, u, p->dst);
			fputs(", which the merge replaces; it belongs to no "
			      "service\n",
			      f);
			continue;
		}
		fprintf(f, "%s{\"pid\":%d,\"host_pid\":%d,\"world\":",
			first ? "" : ",", (int)u->pid, (int)u->host_pid);
		json_string(f, p->dst);
		fprintf(f, ",\"comm\":");
		json_string(f, u->comm);
		fprintf(f, ",\"path\":");
		json_string(f, u->path);
		fprintf(f, "}");
		first = false;
	}
	if (json)
		fprintf(f, "],\"reexec_init\":%s",
			p->reexec_init ? "true" : "false");
}

void service_plan_print(struct context *ctx, FILE *f, const struct svc_plan *p,
			bool json)
{
	static const char *const what[] = {"stop", "start", "restart"};
	if (json) {
		for (int w = 0; w < 3; w++) {
			fprintf(f, "%s\"%s\":[", w ? "," : "", what[w]);
			bool first = true;
			for (size_t i = 0; i < p->n; i++) {
				const struct svc_item *it =
					&p->v[w == 0 ? p->n - 1 - i : i];
				bool in = w == 0   ? it->in_src || it->removed
					  : w == 1 ? !it->in_dst
						   : it->in_dst && !it->removed;
				if (!in)
					continue;
				fprintf(f, "%s{\"service\":", first ? "" : ",");
				json_string(f, it->name);
				fprintf(f, ",\"world\":");
				json_string(f, w == 0 && it->in_src ? p->src
								    : p->dst);
				fprintf(f, ",\"why\":");
				json_string(f, it->why ? it->why : "");
				print_ports(f, it, true);
				fprintf(f, ",\"check\":");
				const char *c = service_check_command(ctx,
								      it->name);
				if (c)
					json_string(f, c);
				else
					fprintf(f, "null");
				fprintf(f, "}");
				first = false;
			}
			fprintf(f, "]");
		}
		service_plan_print_by_hand(f, p, true);
		return;
	}
	print_reexec(f, p);
	if (!p->n)
		fprintf(f, "No service to stop, start or restart.\n");
	for (size_t i = p->n; i-- > 0;)
		if (p->v[i].in_src)
			fprintf(f, "stop %s in %s\n", p->v[i].name, p->src);
	for (size_t i = p->n; i-- > 0;)
		if (p->v[i].removed)
			fprintf(f, "stop %s in %s: %s\n", p->v[i].name, p->dst,
				p->v[i].why);
	for (size_t i = 0; i < p->n; i++) {
		const struct svc_item *it = &p->v[i];
		if (it->removed)
			continue;
		fprintf(f, "%s %s in %s: %s", it->in_dst ? "restart" : "start",
			it->name, p->dst, it->why ? it->why : "");
		print_ports(f, it, false);
		const char *c = service_check_command(ctx, it->name);
		if (c)
			fprintf(f, "; check: %s", c);
		fprintf(f, "\n");
	}
	service_plan_print_by_hand(f, p, false);
}

void service_print_result_json(FILE *f, const struct svc_plan *p)
{
	fprintf(f, "\"services\":[");
	for (size_t i = 0; i < p->n; i++) {
		const struct svc_item *it = &p->v[i];
		fprintf(f, "%s{\"service\":", i ? "," : "");
		json_string(f, it->name);
		fprintf(f, ",\"stopped_in_src\":%s,\"action\":\"%s\","
			   "\"done\":%s}",
			it->in_src && it->stopped ? "true" : "false",
			it->removed  ? "stop"
			: it->in_dst ? "restart"
				     : "start",
			it->done ? "true" : "false");
	}
	fprintf(f, "]");
}
