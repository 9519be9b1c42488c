/* The record machinery shared by the package database merges (dbrec.c),
 * private to world/: dpkgdb.c (dpkg's status file), textdb.c (the text
 * databases) and accountdb.c (passwd, group, shadow, gshadow).  Their public
 * API and the rules of the three-way merge are in dpkgdb.h. */
#ifndef PWAPT_DBREC_H
#define PWAPT_DBREC_H

#include <stdbool.h>
#include <stddef.h>

#include "dpkgdb.h"
#include "error.h"

#define DB_MAX_SIZE ((size_t)256 << 20)

struct input {
	char *data; /* NUL-terminated */
	size_t len;
	const char *name;
};

/* A growing byte buffer for our own output. */
struct buf {
	char *p;
	size_t len, cap;
};

struct rec {
	char *key;  /* what a conflict is named by */
	char *name; /* sorted by name, then arch */
	char *arch; /* "" outside the status file */
	char *text; /* written into OUT */
	size_t len;
	char *canon; /* compared between the sides; NULL: the text */
	size_t canon_len;
	char *aux;	/* diversions: the path diverted to; accounts: the id */
	size_t pos;	/* index in its file */
	size_t line;	/* first line in its file */
	bool installed; /* status: an instance dpkg counts */
	bool ma_same;	/* status: Multi-Arch: same */
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

struct pick {
	const struct rec *b, *o, *t;
	const struct rec *r; /* kept; NULL: absent from OUT */
	bool conflict;
	/* A conflict between keys: its own sentence (malloc'd), and the
	 * other side of it, named there, is not listed again (silent). */
	char *note;
	bool silent;
	/* A conflict that THEIRS's side does not resolve, even forced. */
	bool unforceable;
};

struct picks {
	struct pick *v;
	size_t n;
};

/* What differs between the kinds of file. */
struct merge_kind {
	/* One side's records, sorted by key; ARG is the kind's own. */
	int (*records)(const struct input *in, const void *arg,
		       struct recs *recs, struct world_error *err);
	/* Marks conflicts between records of different keys that cannot
	 * stand together; true when it changed a record kept (when forced,
	 * to THEIRS's), to be called again. */
	bool (*check)(struct picks *p, bool force);
	/* Then, on the records kept: marks conflicts of the whole (NULL:
	 * none), a note on each; -errno when it cannot tell. */
	int (*verify)(struct picks *p, bool force, struct world_error *err);
	int (*write)(const struct picks *p, int out,
		     const struct merge_kind *kind, struct world_error *err);
	const char *sep;  /* after each record, for dbrec_write_in_ours_order */
	const char *what; /* "the status file" */
};

void input_release(struct input *in);
int input_read(const struct db_file *f, const char *dflt, struct input *in,
	       struct world_error *err);
int dbrec_write_all(int fd, const char *p, size_t n, const char *what,
		    struct world_error *err);
int dbrec_printable(int r, struct world_error *err);
int buf_add(struct buf *b, const char *s, size_t n);
void recs_release(struct recs *r);
struct rec *recs_add(struct recs *r);
char *dbrec_memdup0(const char *s, size_t n);
int rec_cmp(const void *a, const void *b);
bool rec_same(const struct rec *a, const struct rec *b);
int recs_sort_unique(struct recs *r, const char *name, struct world_error *err);
int dbrec_write_in_ours_order(const struct picks *p, int out,
			      const struct merge_kind *kind,
			      struct world_error *err);
/* The database paired with the one merged (shadow for passwd, passwd for
 * shadow; group and gshadow): its kind and its base, ours and theirs. */
struct db_partner {
	const struct merge_kind *kind;
	const void *arg;
	const struct db_file *files[3];
};
/* dbrec_merge_files() where a key that PARTNER's sides change differently
 * is a conflict here too, resolved to the same side (THEIRS's when
 * forced). */
int dbrec_merge_files_paired(const struct merge_kind *kind, const void *arg,
			     const struct db_file *base,
			     const struct db_file *ours,
			     const struct db_file *theirs,
			     const struct db_partner *partner, int out,
			     unsigned flags, struct db_conflicts *conflicts,
			     struct world_error *err);
int dbrec_merge_files(const struct merge_kind *kind, const void *arg,
		      const struct db_file *base, const struct db_file *ours,
		      const struct db_file *theirs, int out, unsigned flags,
		      struct db_conflicts *conflicts, struct world_error *err);
bool dbrec_next_line(const struct input *in, size_t *pos, const char **start,
		     size_t *len, bool *newline);
int dbrec_line_error(const struct input *in, size_t lno, const char *what,
		     struct world_error *err);
struct rec *dbrec_add_line_record(const struct input *in, struct recs *recs,
				  size_t line, const char *key, size_t key_len,
				  const char *text, size_t len,
				  struct world_error *err);

#endif
