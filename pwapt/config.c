/* Configuration: /etc/pwapt/pwapt.conf, overridden by the environment,
 * overridden by options.  The file has "key = value" lines and '#'
 * comments; unknown keys are an error, so that a typo does not silently
 * point pwapt at the wrong tree. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "pwapt.h"

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* -ENOMEM, or 0. */
static int set_owned(char **slot, const char **cfg, const char *val)
{
	char *copy = strdup(val);
	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	*cfg = copy;
	return 0;
}

const char *trace_backend(const char *val)
{
	static const char *const names[] = {"bpf", "audit", "off"};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(val, names[i]))
			return names[i];
	return NULL;
}

/* A key of two values: *FLAG is whether VAL is YES; anything else but NO
 * is said, and -EINVAL. */
static int choice(struct context *ctx, const char *path, unsigned no,
		  const char *key, const char *val, const char *yes,
		  const char *no_word, bool *flag)
{
	if (strcmp(val, yes) && strcmp(val, no_word)) {
		fprintf(stderr, "%s: %s:%u: %s is '%s' or '%s', not '%s'\n",
			ctx->cmd, path, no, key, yes, no_word, val);
		return -EINVAL;
	}
	*flag = !strcmp(val, yes);
	return 0;
}

/* init = none|auto|systemd: PID 1 of the containers (world.h). */
static int init_choice(struct context *ctx, const char *path, unsigned no,
		       const char *val, enum world_init *out)
{
	static const struct {
		const char *word;
		enum world_init init;
	} words[] = {{"none", WORLD_INIT_NONE},
		     {"auto", WORLD_INIT_AUTO},
		     {"systemd", WORLD_INIT_SYSTEMD}};
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (!strcmp(val, words[i].word)) {
			*out = words[i].init;
			return 0;
		}
	fprintf(stderr,
		"%s: %s:%u: init is 'none', 'auto' or 'systemd', not "
		"'%s'\n",
		ctx->cmd, path, no, val);
	return -EINVAL;
}

/* KEY = SECONDS (check-timeout, test-timeout), from 1 to a day. */
static int seconds(struct context *ctx, const char *path, unsigned no,
		   const char *key, const char *val, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(val, &end, 10);
	if (!isdigit((unsigned char)*val) || *end || errno || n < 1 ||
	    n > 86400) {
		fprintf(stderr,
			"%s: %s:%u: %s is seconds, 1 to 86400, not '%s'\n",
			ctx->cmd, path, no, key, val);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* check.SERVICE = CMD: a later line for SERVICE replaces an earlier one. */
static int push_check(struct context *ctx, const char *service,
		      const char *cmd)
{
	size_t n = 0;
	for (; ctx->checks && ctx->checks[n]; n += 2)
		if (!strcmp(ctx->checks[n], service)) {
			char *c = strdup(cmd);
			if (!c)
				return -ENOMEM;
			free(ctx->checks[n + 1]);
			ctx->checks[n + 1] = c;
			return 0;
		}
	char **nv = realloc(ctx->checks, (n + 3) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ctx->checks = nv;
	nv[n] = strdup(service);
	nv[n + 1] = strdup(cmd);
	nv[n + 2] = NULL;
	if (!nv[n] || !nv[n + 1]) {
		free(nv[n]);
		free(nv[n + 1]);
		nv[n] = NULL;
		return -ENOMEM;
	}
	return 0;
}

int config_parse(struct context *ctx, const char *path, FILE *f)
{
	char line[4096];
	for (unsigned no = 1; fgets(line, sizeof(line), f); no++) {
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "%s: %s:%u: expected 'key = value'\n",
				ctx->cmd, path, no);
			return -1;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		int r = 0;
		if (!strcmp(key, "root"))
			r = set_owned(&ctx->owned_root, &ctx->cfg.root, val);
		else if (!strcmp(key, "state"))
			r = set_owned(&ctx->owned_state, &ctx->cfg.state, val);
		else if (!strcmp(key, "bridge"))
			r = set_owned(&ctx->owned_bridge, &ctx->cfg.bridge,
				      val);
		else if (!strcmp(key, "subnet"))
			r = set_owned(&ctx->owned_subnet, &ctx->cfg.subnet,
				      val);
		else if (!strcmp(key, "outbound")) {
			bool on = false;
			r = choice(ctx, path, no, key, val, "on", "off", &on);
			if (r >= 0)
				ctx->cfg.outbound = on;
		} else if (!strcmp(key, "unattended"))
			r = choice(ctx, path, no, key, val, "on", "off",
				   &ctx->unattended);
		else if (!strcmp(key, "unattended-failure"))
			r = choice(ctx, path, no, key, val, "discard", "keep",
				   &ctx->unattended_discard);
		else if (!strcmp(key, "init"))
			r = init_choice(ctx, path, no, val,
					&ctx->cfg.init_system);
		else if (!strcmp(key, "check-timeout"))
			r = seconds(ctx, path, no, key, val,
				    &ctx->check_timeout);
		else if (!strcmp(key, "test-timeout"))
			r = seconds(ctx, path, no, key, val,
				    &ctx->test_timeout);
		else if (!strncmp(key, "check.", 6) && key[6] && *val)
			r = push_check(ctx, key + 6, val);
		else if (!strcmp(key, "trace") && trace_backend(val))
			ctx->trace = trace_backend(val);
		else if (!strcmp(key, "trace")) {
			fprintf(stderr,
				"%s: %s:%u: trace is 'bpf', 'audit' or 'off'\n",
				ctx->cmd, path, no);
			return -1;
		} else {
			fprintf(stderr, "%s: %s:%u: unknown key '%s'\n",
				ctx->cmd, path, no, key);
			return -1;
		}
		if (r == -ENOMEM)
			fprintf(stderr, "%s: out of memory\n", ctx->cmd);
		if (r < 0)
			return -1;
	}
	return 0;
}

int config_load(struct context *ctx)
{
	const char *path = getenv("PWAPT_CONFIG");
	if (!path)
		path = "/etc/pwapt/pwapt.conf";
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f && errno != ENOENT) {
		fprintf(stderr, "%s: cannot read %s: %s\n", ctx->cmd, path,
			strerror(errno));
		return -1;
	}
	if (f && config_parse(ctx, path, f) < 0)
		return -1;
	const char *v;
	if ((v = getenv("PWAPT_ROOT")) && *v)
		ctx->cfg.root = v;
	if ((v = getenv("PWAPT_STATE")) && *v)
		ctx->cfg.state = v;
	if ((v = getenv("PWAPT_TRACE")) && *v) {
		if (!(ctx->trace = trace_backend(v))) {
			fprintf(stderr, "%s: PWAPT_TRACE is 'bpf', 'audit' or "
				"'off', not '%s'\n", ctx->cmd, v);
			return -1;
		}
	}
	return 0;
}

void context_release(struct context *ctx)
{
	free(ctx->owned_root);
	free(ctx->owned_state);
	free(ctx->owned_bridge);
	free(ctx->owned_subnet);
	strvfreep(&ctx->checks);
	strv_free(&ctx->said_pidfiles);
	free(steal_pointer(&ctx->pending_mine));
	ctx->owned_root = ctx->owned_state = NULL;
	ctx->owned_bridge = ctx->owned_subnet = NULL;
}
