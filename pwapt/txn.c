/* Transactions' records and chains (see txn.h).
 *
 * A record is a few "key value" lines, the way world metadata is, so that
 * an administrator can read it:
 *     pwapt-transaction 1
 *     kind install
 *     package pwapt-test-a
 *     phase ready
 *     owner 1234 567890
 *     created 1764000000
 *     result 1 test failed: 50-web
 * What a transaction is built on is not in its record but in its world's
 * metadata, which merges change (--rebase moves the transactions built on
 * a merged one onto Root): a second copy here went stale, and the chain
 * broke.  (Records written before say "parent X": ignored.) */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "../world/strv.h"
#include "txn.h"

static const char *const phase_names[] = {
	[TXN_PLANNING] = "planning",	 [TXN_DOWNLOADING] = "downloading",
	[TXN_INSTALLING] = "installing", [TXN_TESTING] = "testing",
	[TXN_READY] = "ready",		 [TXN_TESTS_FAILED] = "tests-failed",
	[TXN_FAILED] = "failed",
};

const char *txn_phase_name(enum txn_phase p)
{
	return p <= TXN_FAILED ? phase_names[p] : "unknown";
}

void txn_release(struct txn *t)
{
	free(t->name);
	free(t->parent);
	free(t->kind);
	strvfreep(&t->packages);
	free(t->result);
	*t = (struct txn){0};
}

static int werr_bad(struct world_error *err, const char *name)
{
	if (err) {
		err->code = EBADMSG;
		snprintf(err->msg, sizeof(err->msg),
			 "the transaction record of '%s' is damaged", name);
	}
	return -EBADMSG;
}

static int werr_nomem(struct world_error *err)
{
	if (err) {
		err->code = ENOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	}
	return -ENOMEM;
}

static int parse(const char *name, char *text, struct txn *out,
		 struct world_error *err)
{
	struct txn t = {.phase = TXN_FAILED};
	size_t n_pkgs = 0;
	bool header = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');
		if (!val)
			continue;
		*val++ = '\0';
		if (!strcmp(line, "pwapt-transaction")) {
			header = !strcmp(val, "1");
		} else if (!strcmp(line, "kind")) {
			free(t.kind);
			t.kind = strdup(val);
		} else if (!strcmp(line, "package")) {
			char **nv =
				realloc(t.packages, (n_pkgs + 2) * sizeof(*nv));
			if (!nv)
				break;
			t.packages = nv;
			t.packages[n_pkgs++] = strdup(val);
			t.packages[n_pkgs] = NULL;
		} else if (!strcmp(line, "phase")) {
			for (size_t i = 0; i <= TXN_FAILED; i++)
				if (!strcmp(val, phase_names[i]))
					t.phase = (enum txn_phase)i;
		} else if (!strcmp(line, "owner")) {
			long long pid = 0;
			unsigned long long start = 0;
			if (sscanf(val, "%lld %llu", &pid, &start) == 2) {
				t.owner = (pid_t)pid;
				t.owner_start = start;
			}
		} else if (!strcmp(line, "created")) {
			t.created = strtoll(val, NULL, 10);
		} else if (!strcmp(line, "result")) {
			free(t.result);
			t.result = strdup(val);
		}
	}
	t.name = strdup(name);
	if (!header || !t.kind || !t.name) {
		txn_release(&t);
		return werr_bad(err, name);
	}
	*out = t;
	return 0;
}

static bool is_world(struct world_store *s, const char *name)
{
	_cleanup_strv_free_ char **names = NULL;
	bool found = !strcmp(name, WORLD_ROOT);
	if (world_names(s, &names, NULL) >= 0)
		for (char **n = names; *n && !found; n++)
			found = !strcmp(*n, name);
	return found;
}

int txn_load(struct world_store *s, const char *name, struct txn *t,
	     struct world_error *err)
{
	_cleanup_free_ char *text = NULL;
	struct world_error e = {0};
	int r = world_note_read(s, name, "transaction", &text, NULL, &e);
	if (r == -ENOENT && world_name_valid(name)) {
		if (err) {
			err->code = ENOENT;
			snprintf(err->msg, sizeof(err->msg),
				 "no transaction named '%s'%s", name,
				 is_world(s, name) ? " (a world made with "
						     "wcreate: wmerge or "
						     "wdelete it)"
						   : "");
		}
		return -ENOENT;
	}
	if (r < 0) {
		if (err)
			*err = e;
		return r;
	}
	_cleanup_strv_free_ char **parents = NULL;
	if ((r = world_parents(s, name, &parents, err)) < 0)
		return r;
	if (!parents[0])
		return werr_bad(err, name);
	struct txn loaded = {0};
	if ((r = parse(name, text, &loaded, err)) < 0)
		return r;
	loaded.parent = steal_pointer(&parents[0]);
	*t = loaded;
	return 0;
}

/* T's record, as its note "transaction" holds it: *buf malloc'd. */
static int txn_format(const struct txn *t, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "pwapt-transaction 1\nkind %s\n", t->kind);
	for (char **p = t->packages; p && *p; p++)
		fprintf(f, "package %s\n", *p);
	fprintf(f, "phase %s\nowner %lld %" PRIu64 "\ncreated %" PRId64 "\n",
		txn_phase_name(t->phase), (long long)t->owner, t->owner_start,
		t->created);
	if (t->result) {
		fputs("result ", f);
		for (const char *c = t->result; *c; c++)
			fputc(*c == '\n' ? ' ' : *c, f);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

int txn_save(struct world_store *s, const struct txn *t,
	     struct world_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (txn_format(t, &buf, &len) < 0)
		return werr_nomem(err);
	return world_note_write(s, t->name, "transaction", buf, len, err);
}

int txn_create(struct world_store *s, const struct txn *t,
	       struct world_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (txn_format(t, &buf, &len) < 0)
		return werr_nomem(err);
	const struct world_note note = {"transaction", buf, len};
	const char *parent = t->parent;
	/* Volatile: apt and dpkg write it without a sync; a crash discards
	 * it (the transaction is run again), and it is made durable before
	 * it is tested (cmd-apt.c). */
	return world_create_noted(s, t->name, &parent, 1, &note, 1,
				  WORLD_CREATE_VOLATILE, NULL, err);
}

static int cmp_txn(const void *a, const void *b)
{
	const struct txn *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	/* txN: by number, so that tx10 comes after tx9. */
	size_t lx = strlen(x->name), ly = strlen(y->name);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

void txn_list_release(struct txn *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		txn_release(&v[i]);
	free(v);
}

int txn_list(struct world_store *s, struct txn **out, size_t *n,
	     struct world_error *err)
{
	_cleanup_strv_free_ char **names = NULL;
	int r = world_names(s, &names, err);
	if (r < 0)
		return r;
	size_t all = 0;
	while (names[all])
		all++;
	struct txn *v = calloc(all + 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < all; i++)
		if (txn_load(s, names[i], &v[k], NULL) >= 0)
			k++;
	qsort(v, k, sizeof(*v), cmp_txn);
	*out = v;
	*n = k;
	return 0;
}

/* The start time of process PID (field 22 of /proc/PID/stat), which tells
 * it from a later process that got the same pid; 0 when there is none. */
static uint64_t process_start(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		return 0;
	/* After the command name, which may hold spaces and parentheses. */
	const char *p = strrchr(buf, ')');
	unsigned long long start = 0;
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (p && sscanf(p, "%llu", &start) == 1)
		return start;
	return 0;
}

void txn_own(struct txn *t)
{
	t->owner = getpid();
	t->owner_start = process_start(t->owner);
}

bool txn_interrupted(const struct txn *t)
{
	if (t->phase >= TXN_READY)
		return false;
	return t->owner <= 0 || process_start(t->owner) != t->owner_start;
}

int txn_chain(struct world_store *s, const char *name, char ***out,
	      struct world_error *err)
{
	_cleanup_strv_ struct strv rev = {0};
	_cleanup_free_ char *cur = strdup(name);
	int r = cur ? 0 : -ENOMEM;
	/* Down the parents; a chain is no longer than the worlds there are,
	 * which bounds a damaged record that names itself. */
	for (size_t depth = 0; r >= 0 && strcmp(cur, WORLD_ROOT); depth++) {
		struct txn t = {0};
		if ((r = txn_load(s, cur, &t, err)) < 0)
			break;
		if (depth > 100000) {
			txn_release(&t);
			return werr_bad(err, name);
		}
		r = strv_push(&rev, steal_pointer(&cur));
		cur = steal_pointer(&t.parent);
		txn_release(&t);
	}
	if (r < 0)
		return r;
	char **v = calloc(rev.n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < rev.n; i++)
		v[i] = steal_pointer(&rev.v[rev.n - 1 - i]);
	*out = v;
	return 0;
}

int txn_chain_tip(struct world_store *s, char **out, struct world_error *err)
{
	struct txn *v = NULL;
	size_t n = 0;
	int r = txn_list(s, &v, &n, err);
	if (r < 0)
		return r;
	const char *tip = WORLD_ROOT;
	for (size_t i = n; i-- > 0 && !strcmp(tip, WORLD_ROOT);) {
		if (v[i].phase != TXN_READY)
			continue;
		bool built_on = false;
		for (size_t j = 0; j < n && !built_on; j++)
			built_on = !strcmp(v[j].parent, v[i].name);
		if (!built_on)
			tip = v[i].name;
	}
	*out = strdup(tip);
	txn_list_release(v, n);
	return *out ? 0 : -ENOMEM;
}

int txn_descendants(struct world_store *s, const char *name, char ***out,
		    struct world_error *err)
{
	struct txn *v = NULL;
	size_t n = 0;
	int r = txn_list(s, &v, &n, err);
	if (r < 0)
		return r;
	_cleanup_strv_ struct strv set = {0};
	r = strv_push(&set, strdup(name));
	/* Oldest first: a transaction's parent is older, so one pass in
	 * that order finds every descendant after its parent. */
	for (size_t i = 0; i < n && r >= 0; i++)
		if (strv_contains(set.v, v[i].parent))
			r = strv_push(&set, strdup(v[i].name));
	txn_list_release(v, n);
	if (r < 0)
		return r;
	*out = steal_pointer(&set.v);
	return 0;
}

int txn_building_on(struct world_store *s, const char *name, struct txn *t,
		    struct world_error *err)
{
	struct txn *v = NULL;
	size_t n = 0;
	int r = txn_list(s, &v, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !r; i++)
		if (v[i].phase < TXN_READY && !txn_interrupted(&v[i]) &&
		    !strcmp(v[i].parent, name)) {
			*t = v[i];
			v[i] = (struct txn){0};
			r = 1;
		}
	txn_list_release(v, n);
	return r;
}

int txn_rebased_by(struct world_store *s, const struct world_merge_record *m,
		   char ***out, struct world_error *err)
{
	/* Not NULL when there are none. */
	_cleanup_strv_ struct strv v = {calloc(1, sizeof(char *)), 0};
	int r = v.v ? 0 : -ENOMEM;
	for (char **w = m->rebased; r >= 0 && w && *w; w++) {
		struct txn t = {0};
		if (txn_load(s, *w, &t, NULL) < 0)
			continue;
		if (!strcmp(t.parent, m->dst))
			r = strv_push(&v, strdup(*w));
		txn_release(&t);
	}
	if (r < 0) {
		if (err) {
			err->code = ENOMEM;
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		}
		return r;
	}
	*out = steal_pointer(&v.v);
	return 0;
}
