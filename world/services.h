/* Services of a world and the processes that use its files: the
 * operations behind world_services() (world.h); svcusers.c takes from
 * services_scan() which processes use files a merge replaces.
 * Private to libworld.  The world's files (init scripts, unit files, links,
 * pid files) are read beneath its tree, or beneath its container's root for
 * what lives on the container's own /run, without following a symbolic
 * link and with bounded reads; its processes come from the host's /proc
 * (procs.h).  Nothing of the world is executed. */
#ifndef PWAPT_SERVICES_H
#define PWAPT_SERVICES_H

#include "procs.h"
#include "store.h"
#include "strv.h"

int services_list(struct world_store *s, const char *name,
		  struct world_services *out, struct world_error *err);
void services_release(struct world_services *l);

/* The services of NAME as services_list() says them (none when it runs
 * nothing), its processes scanned with FLAGS (procs.h) into PROCS, and
 * its tree opened O_PATH into TREE (-1: not mounted), all taken at once
 * for svcusers.c.  -errno with ERR; nothing to release then. */
int services_scan(struct world_store *s, const char *name, unsigned flags,
		  struct proc_table *procs, struct world_services *out,
		  int *tree, struct world_error *err);
/* world_listening_ports() (svcports.c). */
int services_ports(struct world_store *s, const char *name, const pid_t *pids,
		   size_t n, struct world_ports *out, struct world_error *err);

/* Parsers of a world's text, for the lists and the fuzz target: the pid
 * files an init script (TEXT, LEN bytes) names in PIDFILE= or --pidfile
 * (literal absolute paths, $NAME expanded), or a unit's PIDFile= (%t as
 * /run), pushed onto OUT. */
int services_script_pidfiles(const char *text, size_t len, bool unit,
			     struct strv *out);

#endif
