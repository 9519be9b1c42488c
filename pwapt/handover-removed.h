/* The services of a handover's merge beyond those on its ports
 * (handover.c): Root's running services whose package SRC removed or
 * purged, which it stops, as wmerge does, before any file moves, and
 * starts again when the merge does not stay; and, once the files moved,
 * the rest of wmerge's plan: SRC's services new to Root, Root's whose
 * files the merge changed or that use a file it replaced. */
#ifndef PWAPT_HANDOVER_REMOVED_H
#define PWAPT_HANDOVER_REMOVED_H

#include <stdint.h>

#include "pwapt.h"
#include "service.h"

/* The plan of SRC's merge into Root in *P (ordered), for the services it
 * removes.  One that cannot be made leaves them running (*P empty), as
 * wmerge leaves all services then, and says so. */
void handover_plan_removed(struct context *ctx, const char *src,
			   struct svc_plan *p);
/* The one of SERVICES (N, Root's on the handover's ports) that P
 * removes, or NULL: no handover can keep it serving. */
const char *handover_removed_on_port(const struct svc_plan *p,
				     char *const *services, size_t n);
/* Before the merge of SRC: stops P's removed services in Root
 * (service_stop_removed_in_dst) unless LATE (the merge is to be refused
 * for conflicts: they stop after it, should it go through; the caller's).
 * 0; -1 when one does not stop, said on stderr: the merge is refused. */
int handover_stop_removed(struct context *ctx, struct svc_plan *p,
			  const char *src, bool late);
/* Root's note for pwapt rollback of merge ID (service_remember): the
 * removed services P stopped start again ("stopped NAME").  Through ST,
 * the store the merge held, unless NULL.  None stopped: no note, as
 * before (that of an earlier merge names none of this one's). */
void handover_remember_removed(struct context *ctx, struct world_store *st,
			       const struct svc_plan *p, uint64_t id);
/* The same, by pwapt recover of a handover killed after merge ID (kept,
 * the last into Root) and before it wrote that note: P's services read
 * back from the handover's note.  A note of merge ID already there is
 * left as it is. */
void handover_recover_removed(struct context *ctx, const struct svc_plan *p,
			      uint64_t id);
/* A "removed NAME" line of the handover's note, read back: NAME, stopped
 * in Root for good, added to P.  -1 when out of memory. */
int handover_note_removed(struct svc_plan *p, const char *name);
/* After the merge and the ports' services (P: its plan, completed by
 * service_plan_after_merge() and service_plan_order()): the rest of P,
 * but the ports' SERVICES (N) and those it removes, started or restarted
 * in Root and checked, as wmerge does, in *REST (P's items, shared:
 * free(REST->v) alone).  0; -1 when one failed, WHY (WHY_LEN bytes)
 * saying how, those of them new to Root stopped again for the
 * roll-back. */
int handover_start_others(struct context *ctx, const struct svc_plan *p,
			  char *const *services, size_t n,
			  struct svc_plan *rest, char *why, size_t why_len);
/* The roll-back after a failure among REST refused: REST's services
 * started (new to Root) or restarted on the merged files, said one a
 * line; none is left down for the roll-back that did not happen. */
void handover_start_kept(struct context *ctx, const struct svc_plan *rest);

#endif
