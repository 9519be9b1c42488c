/* Unit tests of a merge's journal (world/journal.c): the plan written and
 * read back with every kind of operation, the phases appended to it, and
 * journals that a crash, a full disk or a stray editor left torn,
 * truncated, repeated or garbled, which must read as damaged (-EBADMSG),
 * never as a shorter plan, never as a crash.  Linked with the objects of
 * the journal's floor and those below it (world/FLOORS). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../world/cleanup.h"
#include "../../world/fsutil.h"
#include "../../world/merge-internal.h"
#include "tap.h"

static char tmp[] = "/tmp/pwapt-test-journal.XXXXXX";
static int dir = -1; /* the scratch directory: its "journal" */

static void cleanup(void)
{
	if (dir >= 0)
		close(dir);
	if (tmp[strlen(tmp) - 1] != 'X')
		rm_rf_at(AT_FDCWD, tmp);
}

/* Makes the journal LEN bytes of TEXT (all of it with LEN -1). */
static void put(const char *text, ssize_t len)
{
	size_t n = len < 0 ? strlen(text) : (size_t)len;
	int fd = openat(dir, "journal",
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
		perror("write journal");
		exit(1);
	}
	close(fd);
}

static char *journal_text(size_t *len)
{
	char *text = NULL;
	if (read_file_at(dir, "journal", &text, len) < 0) {
		perror("read journal");
		exit(1);
	}
	return text;
}

/* A plan with every kind of operation, every "had", a rebase and
 * paths that need escaping. */
static void sample_plan(struct plan *p)
{
	static const struct {
		enum op_kind kind;
		enum had had;
		const char *path;
		bool changed;
	} ops[] = {
		{OP_DEL, HAD_FILE, "/etc/gone", false},
		{OP_PUT, HAD_NONE, "/etc/new file", false},
		{OP_PUT, HAD_FILE, "/etc/php/8.2/cli/php.ini", true},
		{OP_DIR, HAD_DIR, "/srv/www", false},
		{OP_DIR, HAD_FILE, "/srv/was-a-file", false},
		{OP_DIR, HAD_NONE, "/srv/new", false},
		{OP_MRG, HAD_FILE, "/var/lib/dpkg/status", true},
		{OP_DEL, HAD_DIR, "/opt/old", false},
		{OP_PUT, HAD_NONE, "/tmp/odd\nname\t%41 \\", false},
	};
	*p = (struct plan){.src = strdup("WPUpdate"),
			   .dst = strdup("Root"),
			   .rebase = true,
			   .id = 18446744073709551615ull};
	p->rebased = calloc(3, sizeof(char *));
	p->rebased[0] = strdup("Child.1");
	p->rebased[1] = strdup("child-2");
	p->n = sizeof(ops) / sizeof(*ops);
	p->v = calloc(p->n, sizeof(*p->v));
	for (size_t i = 0; i < p->n; i++)
		p->v[i] = (struct op){.kind = ops[i].kind,
				      .had = ops[i].had,
				      .path = strdup(ops[i].path),
				      .dst_changed = ops[i].changed,
				      .ino = 1234};
}

static bool same_ops(const struct plan *a, const struct plan *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].kind != b->v[i].kind ||
		    a->v[i].had != b->v[i].had ||
		    a->v[i].dst_changed != b->v[i].dst_changed ||
		    strcmp(a->v[i].path, b->v[i].path))
			return false;
	return true;
}

static bool same_plan(const struct plan *a, const struct plan *b)
{
	if (strcmp(a->src, b->src) || strcmp(a->dst, b->dst) ||
	    a->id != b->id || a->rebase != b->rebase || !same_ops(a, b))
		return false;
	for (size_t i = 0;; i++) {
		const char *x = a->rebased ? a->rebased[i] : NULL;
		const char *y = b->rebased ? b->rebased[i] : NULL;
		if (!x || !y)
			return x == y;
		if (strcmp(x, y))
			return false;
	}
}

static void test_round_trip(void)
{
	struct plan w, r = {0};
	sample_plan(&w);
	ok(journal_write(dir, &w) == 0, "a plan is written");
	struct stat st;
	ok(fstatat(dir, "journal", &st, 0) == 0 && (st.st_mode & 0777) == 0600,
	   "the journal is private (0600)");
	ok(journal_read(dir, &r) == 0, "and read back");
	ok(same_plan(&w, &r),
	   "src, dst, id, rebase, rebased worlds, every op kind, had, path "
	   "and changed mark come back as written");
	ok(r.phase == 0 && !r.rollback, "a fresh journal is only planned");
	ok(r.applied == r.n, "every operation counts as possibly applied");
	ok(r.n && r.v[0].ino == 0, "inode numbers are not journaled");
	journal_plan_release(&r);
	ok(r.v == NULL && r.n == 0 && r.src == NULL && r.rebased == NULL,
	   "journal_plan_release leaves an empty plan");
	journal_plan_release(&r); /* twice: harmless */

	/* Without a rebase, operations or changed marks. */
	struct plan e = {.src = strdup("A"), .dst = strdup("B"), .id = 7};
	ok(journal_write(dir, &e) == 0 && journal_read(dir, &r) == 0 &&
		   same_plan(&e, &r) && r.n == 0 && !r.rebased,
	   "an empty plan round-trips");
	journal_plan_release(&r);
	journal_plan_release(&e);

	/* journal_write replaces, atomically, what was there. */
	put("pwapt-merge 1\nsrc X\ndst Y\nphase planned\nphase done\n", -1);
	ok(journal_write(dir, &w) == 0 && journal_read(dir, &r) == 0 &&
		   same_plan(&w, &r) && r.phase == 0,
	   "writing a plan replaces an old journal, phases and all");
	journal_plan_release(&r);
	journal_plan_release(&w);
}

/* A move: its origin and the "before" of what lies below it come back;
 * a move without its origin, or an origin for another kind, is damage. */
static void test_moves(void)
{
	struct plan w = {.src = strdup("A"), .dst = strdup("Root"), .id = 3},
		    r = {0};
	w.n = 2;
	w.v = calloc(2, sizeof(*w.v));
	w.v[0] = (struct op){.kind = OP_MOVE,
			     .had = HAD_NONE,
			     .path = strdup("/srv/new name"),
			     .from = strdup("/srv/old\nname"),
			     .before = strdup("/srv/old\nname"),
			     .origin_known = true,
			     .origin_dev = 2049,
			     .origin_ino = 1234567,
			     .origin_ctime = {1700000000, 999999999}};
	w.v[1] = (struct op){.kind = OP_PUT,
			     .had = HAD_FILE,
			     .path = strdup("/srv/new name/f"),
			     .before = strdup("/srv/old\nname/f")};
	ok(journal_write(dir, &w) == 0 && journal_read(dir, &r) == 0 &&
		   same_ops(&w, &r) && r.v[0].from &&
		   !strcmp(r.v[0].from, w.v[0].from) && r.v[0].before &&
		   !strcmp(r.v[0].before, w.v[0].before) && !r.v[1].from &&
		   r.v[1].before && !strcmp(r.v[1].before, w.v[1].before),
	   "a move's origin and the paths DST held before come back");
	ok(r.v[0].origin_known && r.v[0].origin_dev == 2049 &&
		   r.v[0].origin_ino == 1234567 &&
		   r.v[0].origin_ctime.tv_sec == 1700000000 &&
		   r.v[0].origin_ctime.tv_nsec == 999999999 &&
		   !r.v[1].origin_known,
	   "a move's origin identity (device, inode, ctime) comes back");
	journal_plan_release(&r);
	journal_plan_release(&w);
	put("pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /o\n"
	    "before 0 /o\nphase planned\n",
	    -1);
	ok(journal_read(dir, &r) == 0 && r.n == 1 && !r.v[0].origin_known,
	   "an older journal's move without its origin identity still reads");
	journal_plan_release(&r);
	static const char *const bad[] = {
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 put none /n\nfrom 0 /o\n"
		"phase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /o\n"
		"from 0 /p\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 ../o\n"
		"phase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /\n"
		"phase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 1 /o\n"
		"phase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 put none /n\n"
		"origin 0 1 2 3 4\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /o\n"
		"origin 0 1 2 3\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /o\n"
		"origin 0 1 2 3 1000000000\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /o\n"
		"origin 0 1 2 3 4\norigin 0 1 2 3 4\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 mov none /n\nfrom 0 /o\n"
		"phase planned\norigin 0 1 2 3 4\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		put(bad[i], -1);
		ok(journal_read(dir, &r) == -EBADMSG, "damaged move %zu refused",
		   i);
		journal_plan_release(&r);
	}
}

/* A directory an operation takes away whole: its identity comes back; an
 * older journal without it still reads; one for another kind is damage. */
static void test_dir_idents(void)
{
	struct plan w = {.src = strdup("A"), .dst = strdup("Root"), .id = 4},
		    r = {0};
	w.n = 3;
	w.v = calloc(3, sizeof(*w.v));
	w.v[0] = (struct op){.kind = OP_DEL,
			     .had = HAD_DIR,
			     .path = strdup("/srv/gone"),
			     .ident_known = true,
			     .ident_dev = 2049,
			     .ident_ino = 7654321,
			     .ident_ctime = {1700000001, 5}};
	w.v[1] = (struct op){.kind = OP_PUT,
			     .had = HAD_DIR,
			     .path = strdup("/srv/now a file"),
			     .ident_known = true,
			     .ident_dev = 1,
			     .ident_ino = 2,
			     .ident_ctime = {3, 999999999}};
	w.v[2] = (struct op){.kind = OP_DIR,
			     .had = HAD_DIR,
			     .path = strdup("/srv/kept"),
			     .ident_known = true}; /* not one taken away */
	ok(journal_write(dir, &w) == 0 && journal_read(dir, &r) == 0 &&
		   same_ops(&w, &r) && r.v[0].ident_known &&
		   r.v[0].ident_dev == 2049 && r.v[0].ident_ino == 7654321 &&
		   r.v[0].ident_ctime.tv_sec == 1700000001 &&
		   r.v[0].ident_ctime.tv_nsec == 5 && r.v[1].ident_known &&
		   r.v[1].ident_ctime.tv_nsec == 999999999 &&
		   !r.v[2].ident_known,
	   "a deleted or replaced directory's identity comes back");
	journal_plan_release(&r);
	journal_plan_release(&w);
	put("pwapt-merge 1\nsrc A\ndst B\nop 0 del dir /d\nphase planned\n",
	    -1);
	ok(journal_read(dir, &r) == 0 && r.n == 1 && !r.v[0].ident_known,
	   "an older journal's directory delete without its identity reads");
	journal_plan_release(&r);
	static const char *const bad[] = {
		"pwapt-merge 1\nsrc A\ndst B\nop 0 del file /d\n"
		"ident 0 1 2 3 4\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 dir dir /d\n"
		"ident 0 1 2 3 4\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 del dir /d\n"
		"ident 0 1 2 3\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 del dir /d\n"
		"ident 0 1 2 3 -1\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 del dir /d\n"
		"ident 1 1 2 3 4\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 del dir /d\n"
		"ident 0 1 2 3 4\nident 0 1 2 3 4\nphase planned\n",
		"pwapt-merge 1\nsrc A\ndst B\nop 0 del dir /d\n"
		"phase planned\nident 0 1 2 3 4\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		put(bad[i], -1);
		ok(journal_read(dir, &r) == -EBADMSG,
		   "damaged directory identity %zu refused", i);
		journal_plan_release(&r);
	}
}

static void test_phases(void)
{
	struct plan w, r;
	sample_plan(&w);
	journal_write(dir, &w);
	ok(journal_append(dir, "phase prepared\n") == 0 &&
		   journal_read(dir, &r) == 0 && r.phase == 1,
	   "phase prepared");
	journal_plan_release(&r);
	ok(journal_append(dir, "phase done\n") == 0 &&
		   journal_read(dir, &r) == 0 && r.phase == 2 && !r.rollback,
	   "phase done");
	journal_plan_release(&r);
	ok(journal_append(dir, "phase prepared\n") == 0 &&
		   journal_read(dir, &r) == 0 && r.phase == 2,
	   "a later 'prepared' does not undo 'done'");
	journal_plan_release(&r);
	ok(journal_append(dir, "phase rollback\n") == 0 &&
		   journal_read(dir, &r) == 0 && r.phase == 2 && r.rollback &&
		   same_plan(&w, &r),
	   "phase rollback: a done merge being undone, plan intact");
	journal_plan_release(&r);
	journal_plan_release(&w);

	/* Appending needs a journal: it never makes one. */
	unlinkat(dir, "journal", 0);
	ok(journal_append(dir, "phase done\n") == -ENOENT,
	   "appending to no journal is -ENOENT");
	ok(faccessat(dir, "journal", F_OK, 0) < 0, "and creates none");
	r = (struct plan){.src = (char *)"untouched"};
	ok(journal_read(dir, &r) == -ENOENT, "reading no journal is -ENOENT");
	ok(r.src && !strcmp(r.src, "untouched"), "the output stays untouched");
}

/* The journal TEXT (LEN bytes, -1: a string) reads as damaged. */
static bool damaged(const char *text, ssize_t len)
{
	put(text, len);
	struct plan r = {.n = 99};
	int ret = journal_read(dir, &r);
	if (ret == 0)
		journal_plan_release(&r);
	return ret == -EBADMSG && !r.src && !r.dst && !r.v && !r.rebased;
}

static void test_garbage(void)
{
#define HEAD "pwapt-merge 1\nid 3\nsrc A\ndst Root\n"
	static const struct {
		const char *what, *text;
	} bad[] = {
		{"an empty file", ""},
		{"an empty line", "\n"},
		{"no header", "id 3\nsrc A\ndst Root\nphase planned\n"},
		{"a header of another version",
		 "pwapt-merge 2\nsrc A\ndst Root\nphase planned\n"},
		{"the header not first",
		 "src A\npwapt-merge 1\ndst Root\nphase planned\n"},
		{"no src", "pwapt-merge 1\ndst Root\nphase planned\n"},
		{"no dst", "pwapt-merge 1\nsrc A\nphase planned\n"},
		{"an invalid src", "pwapt-merge 1\nsrc ../etc\ndst Root\n"
				   "phase planned\n"},
		{"an invalid dst", "pwapt-merge 1\nsrc A\ndst a/b\n"
				   "phase planned\n"},
		{"an empty src", "pwapt-merge 1\nsrc \ndst Root\n"
				 "phase planned\n"},
		{"no 'phase planned' (cut before the end of the plan)",
		 HEAD "op 0 put none /a\n"},
		{"an unknown op kind",
		 HEAD "op 0 mov none /a\nphase planned\n"},
		{"an unknown 'had'", HEAD "op 0 put some /a\nphase planned\n"},
		{"an op without a path", HEAD "op 0 put none\nphase planned\n"},
		{"an op with an empty path", HEAD "op 0 put none \n"
						  "phase planned\n"},
		{"an op with a relative path", HEAD "op 0 put none etc/x\n"
						    "phase planned\n"},
		{"an op whose path has '..'", HEAD "op 0 del file /etc/../x\n"
						   "phase planned\n"},
		{"an op without an index", HEAD "op put none /a\n"
						"phase planned\n"},
		{"ops out of order", HEAD "op 1 put none /b\nop 0 put none /a\n"
					  "phase planned\n"},
		{"an op index skipped",
		 HEAD "op 0 put none /a\n"
		      "op 2 put none /b\nphase planned\n"},
		{"an op repeated", HEAD "op 0 put none /a\nop 0 put none /a\n"
					"phase planned\n"},
		{"'changed' of no op", HEAD "op 0 put none /a\nchanged 1\n"
					    "phase planned\n"},
		{"src given twice, differently",
		 "pwapt-merge 1\nsrc A\nsrc B\ndst Root\nphase planned\n"},
		{"dst given twice", "pwapt-merge 1\nsrc A\ndst Root\ndst Root\n"
				    "phase planned\n"},
		{"id given twice", HEAD "id 4\nphase planned\n"},
		{"an id that is no number", "pwapt-merge 1\nid 3x\nsrc A\n"
					    "dst Root\nphase planned\n"},
		{"an invalid rebased world", HEAD "rebased ../x\n"
						  "phase planned\n"},
		{"an unknown phase", HEAD "phase planned\nphase halfway\n"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ok(damaged(bad[i].text, -1), "damaged: %s", bad[i].what);
#undef HEAD

	static const char nul[] = "pwapt-merge 1\nsrc A\ndst Root\n"
				  "op 0 put none /a\0/etc/shadow\n"
				  "phase planned\n";
	ok(damaged(nul, sizeof(nul) - 1), "damaged: a NUL byte in a line");

	/* Random bytes, and random bytes after a good start. */
	unsigned seed = 42;
	bool all = true;
	for (int round = 0; round < 200; round++) {
		char buf[512];
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(buf)), k = 0;
		if (round % 2) {
			static const char start[] =
				"pwapt-merge 1\nsrc A\ndst Root\nop 0 del ";
			memcpy(buf, start, sizeof(start) - 1);
			k = sizeof(start) - 1;
			n = n < k ? k : n;
		}
		for (; k < n; k++)
			buf[k] = (char)rand_r(&seed);
		put(buf, (ssize_t)n);
		struct plan r;
		int ret = journal_read(dir, &r);
		if (ret == 0) /* only if the bytes happen to form a plan */
			journal_plan_release(&r);
		else
			all &= ret == -EBADMSG;
	}
	ok(all, "random bytes read as damaged, and never crash");
}

/* A journal cut at any byte: damaged, or (cut in a phase appended
 * later) the plan whole, in a phase no later than the one reached. */
static void test_truncated(void)
{
	struct plan w, r;
	sample_plan(&w);
	journal_write(dir, &w);
	size_t plan_len, len;
	free(journal_text(&plan_len));
	journal_append(dir, "phase prepared\n");
	journal_append(dir, "phase done\n");
	char *text = journal_text(&len);
	size_t prep_end = plan_len + strlen("phase prepared\n");
	bool plan_cut_damaged = true, phases_ok = true, whole = true;
	for (size_t cut = 0; cut < len; cut++) {
		put(text, (ssize_t)cut);
		int ret = journal_read(dir, &r);
		if (cut < plan_len) {
			if (ret != -EBADMSG && plan_cut_damaged)
				printf("# cut at %zu: %d, %zu ops\n", cut, ret,
				       ret == 0 ? r.n : 0);
			plan_cut_damaged &= ret == -EBADMSG;
		} else {
			/* The last line without its newline is a torn
			 * append: not (yet) that phase. */
			int want = cut < prep_end ? 0 : 1;
			phases_ok &= ret == 0 && r.phase == want;
			whole &= ret == 0 && same_plan(&w, &r);
		}
		if (ret == 0)
			journal_plan_release(&r);
	}
	ok(plan_cut_damaged,
	   "a journal cut within the plan (%zu cuts) reads as damaged, "
	   "never as a shorter plan",
	   plan_len);
	ok(phases_ok,
	   "cut within an appended phase: the phase before it (a torn "
	   "line is no phase)");
	ok(whole, "and the plan stays whole");
	put(text, (ssize_t)len);
	ok(journal_read(dir, &r) == 0 && r.phase == 2, "uncut: done");
	journal_plan_release(&r);
	/* A phase whose newline alone is missing is torn too. */
	put(text, (ssize_t)len - 1);
	ok(journal_read(dir, &r) == 0 && r.phase == 1,
	   "'phase done' without its newline is not done");
	journal_plan_release(&r);
	free(text);
	journal_plan_release(&w);
}

/* An append after one that a crash tore (a roll-back started again after
 * a power cut during its "phase rollback"): the torn bytes are cut, the
 * new phase is a line of its own, and the journal reads. */
static void test_append_after_torn(void)
{
	struct plan w, r;
	sample_plan(&w);
	journal_write(dir, &w);
	journal_append(dir, "phase prepared\n");
	journal_append(dir, "phase done\n");
	size_t len;
	char *text = journal_text(&len);
	bool all = true;
	for (size_t torn = 1; torn < strlen("phase rollback\n"); torn++) {
		char *t = malloc(len + torn);
		memcpy(t, text, len);
		memcpy(t + len, "phase rollback\n", torn);
		put(t, (ssize_t)(len + torn));
		free(t);
		int appended = journal_append(dir, "phase rollback\n");
		int ret = journal_read(dir, &r);
		bool good = appended == 0 && ret == 0 && r.phase == 2 &&
			    r.rollback && same_plan(&w, &r);
		if (!good)
			printf("# torn after %zu bytes: append %d, read %d\n",
			       torn, appended, ret);
		all &= good;
		if (ret == 0)
			journal_plan_release(&r);
	}
	ok(all, "an append after a torn one is a line of its own: the "
		"journal reads, rolling back");
	free(text);
	journal_plan_release(&w);
}

/* Lines a journal may hold more than once: phases (each append, a
 * rollback retried), the flags; those naming one value may not. */
static void test_repeated(void)
{
	struct plan r;
	put("pwapt-merge 1\nid 5\nsrc A\ndst Root\nrebase\nrebase\n"
	    "rebased C\nrebased D\nrebased C\nop 0 put none /a\n"
	    "op 1 del file /b\nchanged 1\nchanged 1\nphase planned\n"
	    "phase planned\nphase prepared\nphase prepared\n"
	    "phase rollback\nphase rollback\n",
	    -1);
	int ret = journal_read(dir, &r);
	ok(ret == 0, "repeated phases and flags read");
	ok(ret == 0 && r.phase == 1 && r.rollback && r.rebase && r.n == 2 &&
		   !r.v[0].dst_changed && r.v[1].dst_changed,
	   "as if given once");
	ok(ret == 0 && r.id == 5, "with its id");
	ok(ret == 0 && r.rebased && !strcmp(r.rebased[0], "C") &&
		   !strcmp(r.rebased[1], "D") && !r.rebased[2],
	   "a rebased world named twice is one world");
	if (ret == 0)
		journal_plan_release(&r);

	/* A key of a later version is no damage (as in a world's
	 * metadata); a known key with a value it never has is. */
	put("pwapt-merge 1\nsrc A\ndst Root\nop 0 put none /a\n"
	    "future-key x y\nphase planned\n",
	    -1);
	ret = journal_read(dir, &r);
	ok(ret == 0 && r.n == 1, "an unknown key is ignored");
	if (ret == 0)
		journal_plan_release(&r);

	/* The first src, a second one: which world is merged? */
	ok(damaged("pwapt-merge 1\nsrc A\ndst Root\nsrc A\n"
		   "phase planned\n",
		   -1),
	   "src repeated, even the same, reads as damaged");
}

/* A merge of a whole upgrade touches hundreds of thousands of paths; its
 * journal must read back whatever its size, or the merge could be neither
 * finished nor rolled back after a crash. */
static void test_large(void)
{
	enum { N = 250000 };
	struct plan w = {
		.src = strdup("Upgrade"), .dst = strdup("Root"), .id = 1};
	w.v = calloc(N, sizeof(*w.v));
	w.n = N;
	for (size_t i = 0; i < N; i++) {
		char path[160];
		snprintf(path, sizeof(path),
			 "/usr/share/doc/some-package-%zu/examples/a-rather-"
			 "long-file-name-%zu.txt.gz",
			 i / 10, i);
		w.v[i] = (struct op){.kind = i % 3 ? OP_PUT : OP_DEL,
				     .had = i % 2 ? HAD_FILE : HAD_NONE,
				     .path = strdup(path),
				     .dst_changed = i % 7 == 0};
	}
	ok(journal_write(dir, &w) == 0,
	   "a journal of %d operations is "
	   "written",
	   N);
	struct stat st;
	fstatat(dir, "journal", &st, 0);
	ok(st.st_size > (16 << 20), "it is large (%lld MiB)",
	   (long long)st.st_size >> 20);
	journal_append(dir, "phase prepared\n");
	struct plan r;
	int ret = journal_read(dir, &r);
	ok(ret == 0, "and read back (%d)", ret);
	ok(ret == 0 && same_plan(&w, &r) && r.phase == 1,
	   "every operation, in order, and the phase");
	if (ret == 0)
		journal_plan_release(&r);
	journal_plan_release(&w);
}

/* STATE/rolled-back/DST: which merges into DST were rolled back.  None
 * noted reads as not rolled back (an older pwapt's: the caller keeps
 * what depends on it); the newest ROLLED_BACK_KEEP stay; a line that is
 * no id is never taken for one. */
static void test_rolled_back(void)
{
	ok(journal_rolled_back(dir, "Root", 1) == 0,
	   "nothing noted: not rolled back");
	int r = 0;
	for (uint64_t id = 1; id <= ROLLED_BACK_KEEP + 6 && r == 0; id++)
		r = journal_note_rolled_back(dir, "Root", id);
	ok(r == 0, "70 roll-backs noted");
	ok(journal_rolled_back(dir, "Root", 6) == 0 &&
		   journal_rolled_back(dir, "Root", 7) == 1 &&
		   journal_rolled_back(dir, "Root", ROLLED_BACK_KEEP + 6) == 1,
	   "the newest 64 kept, the oldest forgotten");
	_cleanup_free_ char *before = NULL, *after = NULL;
	(void)read_file_at(dir, "rolled-back/Root", &before, NULL);
	ok(journal_note_rolled_back(dir, "Root", 40) == 0 &&
		   read_file_at(dir, "rolled-back/Root", &after, NULL) == 0 &&
		   before && !strcmp(before, after),
	   "noted again (a recovery after a kill): unchanged");
	ok(journal_rolled_back(dir, "A.b", 40) == 0 &&
		   journal_note_rolled_back(dir, "A.b", 3) == 0 &&
		   journal_rolled_back(dir, "A.b", 3) == 1 &&
		   journal_rolled_back(dir, "Root", 3) == 0,
	   "each world's own");
	int fd = openat(dir, "rolled-back/B", O_WRONLY | O_CREAT | O_CLOEXEC,
			0600);
	const char damaged[] = "x5\n-5\n5x\n 5\n12";
	bool put = fd >= 0 && write(fd, damaged, sizeof(damaged) - 1) ==
				      (ssize_t)sizeof(damaged) - 1;
	if (fd >= 0)
		close(fd);
	ok(put && journal_rolled_back(dir, "B", 5) == 0 &&
		   journal_rolled_back(dir, "B", 12) == 0 &&
		   journal_note_rolled_back(dir, "B", 9) == 0 &&
		   journal_rolled_back(dir, "B", 9) == 1 &&
		   journal_rolled_back(dir, "B", 12) == 0,
	   "lines that are no id (a torn last one) are none, and dropped");
	journal_forget_rolled_back(dir, "B");
	ok(journal_rolled_back(dir, "B", 9) == 0, "forgotten with its world");
}

/* parent_cache: a run of paths in one directory opens it once; a last
 * name "." or ".." is refused, never looked up at the descriptor. */
static void test_parent_cache(void)
{
	ok(mkdirat(dir, "pc", 0700) == 0 && mkdirat(dir, "pc/d", 0700) == 0 &&
		   mkdirat(dir, "pc/e", 0700) == 0,
	   "directories for the cache");
	int tree = openat(dir, "pc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct parent_cache c = PARENT_CACHE_INIT(tree);
	const char *b = NULL;
	int a = parent_cache_open(&c, "/d/x", &b);
	ok(a >= 0 && !strcmp(b, "x") && c.opened == 1, "/d/x: /d opened");
	ok(parent_cache_open(&c, "/d/y", &b) == a && !strcmp(b, "y") &&
		   c.opened == 1,
	   "/d/y: the same descriptor, nothing opened");
	struct stat st;
	ok(parent_cache_open(&c, "/e/z", &b) >= 0 && c.opened == 2 &&
		   !parent_cache_stat(&c, "/e/z", &st) &&
		   parent_cache_stat(&c, "/e", &st) && S_ISDIR(st.st_mode),
	   "another directory opens anew; stat of what is (not) there");
	ok(parent_cache_open(&c, "/d/..", &b) == -EINVAL &&
		   parent_cache_open(&c, "/d/.", &b) == -EINVAL &&
		   !parent_cache_stat(&c, "/d/..", &st),
	   "a last name . or .. refused");
	ok(parent_cache_open(&c, "/d/", &b) == -ENOENT &&
		   parent_cache_open(&c, "/nothere/f", &b) == -ENOENT,
	   "an empty last name, a missing directory: nothing there");
	ok(parent_cache_stat(&c, "/", &st) && S_ISDIR(st.st_mode),
	   "/ is the tree itself");
	ok(parent_cache_open(&c, "/d/x", &b) >= 0 && c.opened == 4 &&
		   renameat(dir, "pc/d", dir, "pc/d2") == 0 &&
		   mkdirat(dir, "pc/d", 0700) == 0 &&
		   mkdirat(dir, "pc/d/only-new", 0700) == 0,
	   "/d moved away and made anew");
	parent_cache_release(&c);
	ok(parent_cache_stat(&c, "/d/only-new", &st) && c.opened == 5,
	   "released and used again: the new /d is opened, not the old one");
	parent_cache_release(&c);
	ok(c.fd < 0 && c.dir == NULL, "released");
	close(tree);
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		perror(tmp);
		return 1;
	}
	test_round_trip();
	test_moves();
	test_dir_idents();
	test_phases();
	test_garbage();
	test_truncated();
	test_append_after_torn();
	test_repeated();
	test_large();
	test_rolled_back();
	test_parent_cache();
	return tap_done();
}
