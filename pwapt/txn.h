/* pwapt's apt transactions: worlds made by `pwapt upgrade --test` and
 * `pwapt install --test`, each with a record (the world's note
 * "transaction") and, once apt ran, a report (note "report").
 *
 * Transactions form a nested-world chain (README, "Transactions"): a new
 * one is built on the newest pending transaction that is ready (apt
 * succeeded, tests passed), else on Root, and a chain is merged into Root
 * in order, oldest first, so that no transaction loses another's changes to
 * dpkg's database. */
#ifndef PWAPT_TXN_H
#define PWAPT_TXN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../world/world.h"

enum txn_phase {
	TXN_PLANNING,	 /* world made, plan being computed or confirmed */
	TXN_DOWNLOADING, /* apt-get --download-only, with the host's network */
	TXN_INSTALLING,	 /* apt-get and dpkg in the world */
	TXN_TESTING,	 /* services started, tests running */
	TXN_READY,	 /* done, tests passed: can be merged */
	TXN_TESTS_FAILED,
	TXN_FAILED, /* apt failed; kept only when asked (--keep) */
};

struct txn {
	char *name;
	/* The world it is built on, from the world's metadata (the one
	 * source of truth: a merge with --rebase moves it onto Root). */
	char *parent;
	char *kind;	 /* "upgrade", "dist-upgrade", "install" */
	char **packages; /* install: what was asked for; NULL-terminated */
	enum txn_phase phase;
	pid_t owner;	      /* the pwapt that runs it, in the phases before */
	uint64_t owner_start; /* TXN_READY, and when it started */
	int64_t created;
	char *result; /* a sentence: why it failed, which tests failed */
};

const char *txn_phase_name(enum txn_phase p);
void txn_release(struct txn *t);
/* Loads world NAME's record, and its parent; -ENOENT (with ERR) when NAME
 * is no transaction. */
int txn_load(struct world_store *s, const char *name, struct txn *t,
	     struct world_error *err);
int txn_save(struct world_store *s, const struct txn *t,
	     struct world_error *err);
/* All transactions, oldest first. */
int txn_list(struct world_store *s, struct txn **out, size_t *n,
	     struct world_error *err);
void txn_list_release(struct txn *v, size_t n);
/* Whether the pwapt that owns a transaction in progress is gone: then the
 * transaction was interrupted. */
bool txn_interrupted(const struct txn *t);
/* The pwapt running now, as an owner. */
void txn_own(struct txn *t);

/* The chain below NAME down to Root, oldest first, NAME last: the
 * transactions a merge of NAME merges.  *out NULL-terminated. */
int txn_chain(struct world_store *s, const char *name, char ***out,
	      struct world_error *err);
/* The world a new transaction is built on: the newest ready transaction
 * that no other is built on, else Root.  *out malloc'd. */
int txn_chain_tip(struct world_store *s, char **out, struct world_error *err);
/* NAME and every transaction built on it, directly or not: what discarding
 * NAME discards.  *out NULL-terminated, children after their parents. */
int txn_descendants(struct world_store *s, const char *name, char ***out,
		    struct world_error *err);
/* A transaction in progress (before ready, its pwapt alive) built on
 * NAME: a merge of NAME would move its world, and stop its container,
 * under its apt.  Returns 1 and fills *t (the caller releases it) when
 * there is one, else 0. */
int txn_building_on(struct world_store *s, const char *name, struct txn *t,
		    struct world_error *err);
/* The transactions that merge M moved onto its destination (built on the
 * transaction it merged) and that still stand there: what a roll-back of
 * M would pull the ground from under.  *out NULL-terminated. */
int txn_rebased_by(struct world_store *s, const struct world_merge_record *m,
		   char ***out, struct world_error *err);

#endif
