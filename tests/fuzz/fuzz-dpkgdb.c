/* libFuzzer target: the package database merges (world/dpkgdb.c), whose
 * inputs come from worlds where anything may have written them.
 *
 * The first byte chooses the function; the rest is split at NUL bytes into
 * BASE, OURS and THEIRS (missing parts are empty files).  Beyond finding
 * crashes, leaks and undefined behaviour, it checks what must hold for any
 * input: errors are -EBADMSG with a printable sentence, never an exit or a
 * jump into nowhere; files that each parse always merge (to a result or
 * conflicts);
 * a merge of unchanged BASE and THEIRS gives OURS as its writer writes it;
 * the merged status file merges unchanged with itself.  The first byte's
 * high bit asks for DB_MERGE_FORCE: a forced merge writes exactly what the
 * plain one writes when nothing conflicts, and where something does it
 * writes a file (or, for accounts alone, refuses two names on one id with
 * -EEXIST and leaves OUT alone). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../world/dpkgdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libdpkg loses a buffer of its own when it jumps out of a parse of a
 * malformed file; built without frame pointers, only its allocator shows. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:m_malloc\nleak:m_realloc\nleak:m_strdup\n"
	       "leak:m_vasprintf\n";
}

static int memfd(const void *p, size_t n)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* OUT's content, rewound for reading again. */
static char *slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *s = malloc((size_t)end + 1);
	if (!s || pread(fd, s, (size_t)end, 0) != end)
		abort();
	s[end] = '\0';
	*len = (size_t)end;
	lseek(fd, 0, SEEK_SET);
	return s;
}

enum which {
	STATUS,
	APT,
	DEBCONF,
	DIVERSIONS,
	STATOVERRIDE,
	LOG,
	ACCOUNTS,
	TRIGFILE,
	N_WHICH
};

static const char *const apt_keys[] = {"Package", "Architecture", NULL};
static const char *const debconf_keys[] = {"Name", NULL};

static int merge3(enum which w, const char *b, size_t bl, const char *o,
		  size_t ol, const char *t, size_t tl, unsigned flags,
		  char **out, size_t *out_len, struct db_conflicts *c,
		  struct world_error *err)
{
	struct db_file fb = {memfd(b, bl), "base"};
	struct db_file fo = {memfd(o, ol), "ours"};
	struct db_file ft = {memfd(t, tl), "theirs"};
	int fout = memfd(NULL, 0);
	int r = -EINVAL;
	switch (w) {
	case STATUS:
		r = dpkgdb_merge_status(&fb, &fo, &ft, fout, flags, c, err);
		break;
	case APT:
	case DEBCONF:
		r = db_merge_deb822(&fb, &fo, &ft, fout,
				    w == APT ? apt_keys : debconf_keys, flags,
				    c, err);
		break;
	case DIVERSIONS:
		r = dpkgdb_merge_diversions(&fb, &fo, &ft, fout, flags, c, err);
		break;
	case STATOVERRIDE:
		r = dpkgdb_merge_statoverride(&fb, &fo, &ft, fout, flags, c,
					      err);
		break;
	case TRIGFILE:
		r = dpkgdb_merge_trigfile(&fb, &fo, &ft, fout, flags, c, err);
		break;
	case ACCOUNTS:
		r = db_merge_accounts(&fb, &fo, &ft, fout, true, flags, c, err);
		break;
	case LOG:
	case N_WHICH:
		r = db_merge_log(&fo, &ft, fout, err);
		break;
	}
	*out = slurp(fout, out_len);
	close(fb.fd);
	close(fo.fd);
	close(ft.fd);
	close(fout);
	return r;
}

/* -EBADMSG with a sentence of printable bytes, whatever the input. */
static void check_error(int r, const struct world_error *err)
{
	if (r < 0 && (r != -EBADMSG || err->code != EBADMSG || !err->msg[0]))
		abort();
	for (const char *c = err->msg; r < 0 && *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			abort();
}

/* Whether one part alone is a file the merge accepts: as BASE, with OURS
 * and THEIRS empty, it is read once (libdpkg loses a buffer on each parse
 * error, which a long run would feel). */
static bool parses(enum which w, const char *p, size_t n)
{
	struct world_error err = {0};
	struct db_conflicts c = {0};
	char *out;
	size_t len;
	int r = merge3(w, p, n, "", 0, "", 0, 0, &out, &len, &c, &err);
	check_error(r, &err);
	if (r > 0 || (r == 0 && len != 0))
		abort(); /* removed on both sides: nothing to conflict */
	db_conflicts_release(&c);
	free(out);
	return r == 0;
}

static void fuzz_merge(enum which w, const char *part[3], size_t len[3],
		       unsigned flags)
{
	struct world_error err = {0};
	struct db_conflicts c = {0};
	char *out;
	size_t out_len;
	int r = merge3(w, part[0], len[0], part[1], len[1], part[2], len[2],
		       flags, &out, &out_len, &c, &err);
	bool unforced_clash = (flags & DB_MERGE_FORCE) && r == -EEXIST;
	if (unforced_clash && (w != ACCOUNTS || err.code != EEXIST ||
			       !strstr(err.msg, "--force does not resolve")))
		abort();
	check_error(unforced_clash ? 0 : r, &err);
	bool all_parse = parses(w, part[0], len[0]) &&
			 parses(w, part[1], len[1]) &&
			 parses(w, part[2], len[2]);
	/* Whatever each side holds alone, the merge holds together, or
	 * names the conflict. */
	if (all_parse != (r >= 0 || unforced_clash))
		abort();
	if (unforced_clash && out_len != 0)
		abort();
	if (flags & DB_MERGE_FORCE) {
		/* Forced changes nothing but the conflicting records; the
		 * count comes back without a list too. */
		char *plain;
		size_t plain_len;
		struct world_error e2 = {0};
		int r0 = merge3(w, part[0], len[0], part[1], len[1], part[2],
				len[2], 0, &plain, &plain_len, NULL, &e2);
		if (r0 == 0 && (r != 0 || plain_len != out_len ||
				memcmp(plain, out, out_len) != 0))
			abort();
		if ((r0 > 0) != (r > 0 || unforced_clash) ||
		    (r0 > 0 && plain_len))
			abort();
		free(plain);
	}
	if (r >= 0) {
		if (c.n != (size_t)r || c.v[c.n] != NULL)
			abort();
		for (size_t i = 0; i < c.n; i++)
			if (!c.v[i][0])
				abort();
		if (r > 0 && !(flags & DB_MERGE_FORCE) && out_len != 0)
			abort();
	}
	db_conflicts_release(&c);

	if (r == 0 || (r > 0 && (flags & DB_MERGE_FORCE))) {
		/* The result is a file like the others: merged with itself,
		 * it comes out the same. */
		char *again;
		size_t again_len;
		int r2 = merge3(w, out, out_len, out, out_len, out, out_len, 0,
				&again, &again_len, NULL, &err);
		if (r2 != 0 || again_len != out_len ||
		    memcmp(again, out, out_len) != 0)
			abort();
		free(again);
	}
	if (all_parse) {
		/* Only OURS changed: OURS, as its writer writes it. */
		char *one, *canon;
		size_t one_len, canon_len;
		int r1 = merge3(w, part[0], len[0], part[1], len[1], part[0],
				len[0], 0, &one, &one_len, NULL, &err);
		int r2 = merge3(w, part[1], len[1], part[1], len[1], part[1],
				len[1], 0, &canon, &canon_len, NULL, &err);
		if (r1 != 0 || r2 != 0 || one_len != canon_len ||
		    memcmp(one, canon, one_len) != 0)
			abort();
		free(one);
		free(canon);
	}
	free(out);
}

static void fuzz_log(const char *part[3], size_t len[3])
{
	struct world_error err = {0};
	char *out;
	size_t out_len;
	int r = merge3(LOG, NULL, 0, part[1], len[1], part[2], len[2], 0, &out,
		       &out_len, NULL, &err);
	/* OURS comes first, whole; THEIRS already in OURS adds nothing. */
	if (r != 0 || out_len < len[1] || memcmp(out, part[1], len[1]) != 0)
		abort();
	if (len[2] <= len[1] && memcmp(part[1], part[2], len[2]) == 0 &&
	    out_len != len[1])
		abort();
	free(out);
}

static void fuzz_read(const char *p, size_t n)
{
	struct db_file f = {memfd(p, n), "input"};
	struct dpkg_packages pkgs = {0};
	struct world_error err = {0};
	int r = dpkgdb_read(&f, &pkgs, &err);
	close(f.fd);
	check_error(r, &err);
	for (size_t i = 0; r >= 0 && i < pkgs.n; i++) {
		const struct dpkg_package *x = &pkgs.v[i];
		if (!x->name[0] || !x->want[0] || !x->status[0] ||
		    (i > 0 && strcmp(pkgs.v[i - 1].name, x->name) > 0))
			abort();
	}
	dpkgdb_packages_release(&pkgs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64 * 1024)
		return 0;
	enum which w = (enum which)(data[0] % N_WHICH);
	unsigned flags = data[0] & 0x80 ? DB_MERGE_FORCE : 0;
	const char *rest = (const char *)data + 1, *end = rest + size - 1;
	const char *part[3] = {"", "", ""};
	size_t len[3] = {0, 0, 0};
	for (int i = 0; i < 3 && rest < end; i++) {
		const char *nul = memchr(rest, '\0', (size_t)(end - rest));
		part[i] = rest;
		len[i] = (size_t)((nul ? nul : end) - rest);
		rest = nul ? nul + 1 : end;
	}
	if (w == LOG)
		fuzz_log(part, len);
	else
		fuzz_merge(w, part, len, flags);
	if (w == STATUS)
		fuzz_read(part[2], len[2]);
	return 0;
}
