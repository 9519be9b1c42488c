/* wmerge --handover PORTS SRC Root, pwapt merge T --handover PORTS: a merge
 * into Root that drops no connection to Root's services on PORTS (the
 * paper's §IV-A procedure, automated).
 *
 * A world's service cannot serve through its own merge: world_merge()
 * freezes SRC from its diff on and kills it once the files moved.  So the
 * ports are taken over (wip takeover) by a stand-in, "handover-N", a child
 * world of Root started for the purpose, which runs Root's services on
 * the ports from Root's own files; then:
 *   check      SRC's services on the ports come up and answer in SRC (the
 *              new version works before anything of Root is touched)
 *   standin    the stand-in runs Root's services and answers
 *   takeover   new connections to Root's ports go to the stand-in; those
 *              in flight with Root's services finish there (drained)
 *   stop       Root's services on the ports stop
 *   merge      SRC merges into Root (world_merge; SRC goes)
 *   start      Root's services start on the new files, answer on their
 *              ports (a request, from inside Root) and pass --check CMD
 *   release    the ports come back to Root; the stand-in's connections
 *              finish (drained), and the stand-in is deleted
 * A failure before the merge puts Root's services back; after it, the
 * merge is rolled back by its id and the old services start again while
 * the stand-in still serves; only a service that answers gets the ports
 * back.  Root's note "handover" records the step reached, so that a pwapt
 * that died in between is finished by handover_recover(): the takeover
 * only ever points at the stand-in, a live world, until then. */
#ifndef PWAPT_HANDOVER_H
#define PWAPT_HANDOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "pwapt.h"

#define HANDOVER_MAX_PORTS 16
#define HANDOVER_HELP                                                  \
	"  --handover PORT[,PORT...]  no downtime on Root's PORTs: a " \
	"stand-in "                                                    \
	"serves them while Root's services restart on the merged files"
#define HANDOVER_CHECK_HELP                                                \
	"  --handover-check CMD  with --handover: a shell command run in " \
	"Root once its "                                                   \
	"services are back; its failure rolls the merge back"

struct handover {
	unsigned ports[HANDOVER_MAX_PORTS];
	size_t n_ports;
	/* A shell command run in Root once its services are back on the
	 * new files; a failure rolls the merge back.  NULL: none. */
	const char *check;
};

/* Parses "PORT[,PORT...]" (1 to 65535, at most HANDOVER_MAX_PORTS, none
 * twice) into H.  Prints why and returns -1 on bad input. */
int handover_parse_ports(struct context *ctx, const char *text,
			 struct handover *h);

/* Merges SRC into DST (Root only: takeovers are of Root's ports) with
 * FLAGS (WORLD_MERGE_*) the handover way; *conflicts as world_merge()
 * fills it, *id (may be NULL) the merge's id.  Prints its steps on the
 * chatter and its failure on stderr.  Returns an exit code: EXIT_OK,
 * EXIT_CONFLICTS (nothing was touched but for the stand-in, gone again),
 * EXIT_FAIL (Root serves its old files again, or says what it could not
 * put back). */
int handover_merge(struct context *ctx, const char *src, const char *dst,
		   unsigned flags, const struct handover *h,
		   struct world_diff *conflicts, uint64_t *id);

/* wmerge --handover PORTS [--check CMD] SRC DST: parses PORTS, merges,
 * prints the conflicts or warnings as wmerge does; an exit code. */
int handover_cmd(struct context *ctx, const char *src, const char *dst,
		 unsigned flags, const char *ports, const char *check);

/* pwapt merge T --handover PORTS [--handover-check CMD] [--force]: T
 * must be a ready transaction built on Root (the chain of one); merged as
 * handover_cmd() does (services other than those on PORTS are not
 * restarted).  An exit code. */
int handover_txn(struct context *ctx, const char *name, bool force,
		 const char *ports, const char *check);

/* Finishes the handover a pwapt left behind (Root's note): Root's
 * services started (or the merge rolled back when they do not come up on
 * its files), the ports released, the stand-in deleted; Root's services
 * the merge removed start again when it did not stay (not merged, or no
 * longer the last merge into Root: rolled back), else are noted for its
 * pwapt rollback (handover_recover_removed).  0: there was
 * none; 1: finished; 2: one runs, in a live pwapt; -1: failed (said on
 * stderr; the stand-in keeps the ports, the next call tries again). */
int handover_recover(struct context *ctx);

#endif
