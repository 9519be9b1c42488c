/* The notes of pending services of a world (service.h): "svcmove", what
 * a merge, a roll-back or a pwapt rollback still has to start or restart
 * there (or could not), for pwapt recover; and "svcmove-held", the notes
 * of other commands that one replaced, kept aside one after the other
 * until it is emptied.  The rule: a service a command stopped or did not
 * bring back stays named in a note until it runs again. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"

bool service_note_of(const char *text, uint64_t id)
{
	uint64_t of = 0;
	return text &&
	       (sscanf(text, "merge %" SCNu64, &of) == 1 ||
		sscanf(text, "rollback of merge %" SCNu64, &of) == 1) &&
	       of == id;
}

/* The note "svcmove" of DST: what a merge still has to start and restart
 * there, kept from before SRC's services stop until DST's are checked, so
 * that a pwapt killed in between leaves a trace (pwapt recover says it). */
static int note_pending(struct context *ctx, const struct svc_plan *p,
			uint64_t id)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	/* Before the merge (ID 0): nothing is merged yet, only SRC's
	 * services are being stopped; pwapt recover must not send the
	 * administrator to pwapt rollback (an older merge's). */
	if (!id)
		fprintf(f, "no merge yet from %s\n", p->src);
	else
		fprintf(f, "merge %" PRIu64 " from %s\n", id, p->src);
	if (p->transaction)
		fprintf(f, "by pwapt merge\n");
	for (size_t i = 0; i < p->n; i++)
		if (id && !p->v[i].removed)
			fprintf(f, "%s %s\n",
				p->v[i].in_dst ? "restart" : "start",
				p->v[i].name);
		else if (!id && (p->v[i].in_src ||
				 (p->v[i].removed && !p->stops_late)))
			fprintf(f, "stop %s in %s\n", p->v[i].name,
				p->v[i].in_src ? p->src : p->dst);
	if (fclose(f) != 0)
		return -1;
	return service_pending_put(ctx, p->dst, buf);
}

void service_pending_rollback(struct context *ctx, const struct svc_plan *p,
			      uint64_t id, char *const *restart, size_t n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	fprintf(f, "merge %" PRIu64 " from %s\n", id, p->src);
	if (p->transaction)
		fprintf(f, "by pwapt merge\n");
	for (size_t i = 0; restart && i < n; i++)
		fprintf(f, "restart %s\n", restart[i]);
	for (size_t i = 0; !restart && i < p->n; i++)
		if (p->v[i].done && p->v[i].in_dst && !p->v[i].removed)
			fprintf(f, "restart %s\n", p->v[i].name);
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].removed && p->v[i].stopped)
			fprintf(f, "start %s\n", p->v[i].name);
	if (fclose(f) == 0)
		(void)service_pending_put(ctx, p->dst, buf);
}

/* The note of pending services of the merge begun into WORLD is done
 * with: the one found before it (svcmove-held) is back, else none.  One
 * that cannot be read stays where it is, for pwapt recover. */
int service_pending_end(struct context *ctx, const char *world)
{
	if (!ctx->pending_begun)
		return 0;
	ctx->pending_begun = false;
	return service_pending_restore(ctx, world, 0);
}

int service_pending_note(struct context *ctx, const struct svc_plan *p,
			 uint64_t id, bool done)
{
	/* No service to see to: no note of its own yet; what it began
	 * stays begun (services may come with the merge). */
	if (!done)
		return p->n ? note_pending(ctx, p, id) : 0;
	/* Not this command's note: it is left as it is. */
	if (ctx->pending_begun)
		(void)service_pending_end(ctx, p->dst);
	return 0;
}

int service_pending_first(struct context *ctx, const struct svc_plan *p,
			  char *why, size_t why_len)
{
	if (service_pending_note(ctx, p, 0, false) >= 0)
		return 0;
	(void)service_pending_note(ctx, p, 0, true);
	snprintf(why, why_len,
		 "cannot write %s's note of the services it stops (a full "
		 "disk?); nothing stopped",
		 p->dst);
	return -1;
}

void service_pending_left(struct context *ctx, const struct svc_plan *p,
			  uint64_t id, const char *why, char *const *restart,
			  char *const *start)
{
	bool any = (restart && *restart) || (start && *start);
	for (size_t i = 0; !id && i < p->n; i++)
		any |= p->v[i].stopped;
	if (!any) {
		service_pending_note(ctx, p, id, true);
		return;
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return; /* the note before names them all */
	if (!id)
		fprintf(f, "no merge yet from %s\n", p->src);
	else
		fprintf(f, "merge %" PRIu64 " from %s\n", id, p->src);
	if (why)
		fprintf(f, "failed: %s\n", why);
	if (p->transaction)
		fprintf(f, "by pwapt merge\n");
	for (size_t i = 0; !id && i < p->n; i++)
		if (p->v[i].stopped)
			fprintf(f, "stop %s in %s\n", p->v[i].name,
				p->v[i].removed ? p->dst : p->src);
	for (char *const *x = restart; x && *x; x++)
		fprintf(f, "restart %s\n", *x);
	for (char *const *x = start; x && *x; x++)
		fprintf(f, "start %s\n", *x);
	if (fclose(f) == 0)
		(void)service_pending_put(ctx, p->dst, buf);
}

/* WORLD's note NAME ("svcmove", "svcmove-held"): *OUT malloc'd, NULL
 * when there is none or it is empty; an error when it cannot be read. */
static int note_load(struct world_store *s, const char *world, const char *name,
		     char **out, struct world_error *err)
{
	char *text = NULL;
	*out = NULL;
	int r = world_note_read(s, world, name, &text, NULL, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (*text)
		*out = text;
	else
		free(text);
	return 0;
}

int service_pending_load(struct world_store *s, const char *world, char **out,
			 struct world_error *err)
{
	return note_load(s, world, "svcmove", out, err);
}

int service_note_read_why(struct context *ctx, const char *world, bool held,
			  char **out, char *why, size_t why_len)
{
	struct world_store *s = open_store(ctx);
	struct world_error err = {0};
	bool opened = s;
	int r = s ? note_load(s, world, held ? "svcmove-held" : "svcmove", out,
			      &err)
		  : -1;
	world_store_free(s);
	if (r < 0)
		snprintf(why, why_len,
			 "cannot read %s's note of pending services: %s", world,
			 opened ? SHOWN(err.msg) : "cannot open the store");
	return r < 0 ? -1 : 0;
}

/* WORLD's note of pending services and its held notes through S (its
 * lock held): *NOTE, *HELD malloc'd, NULL when none. */
static int notes_load(struct world_store *s, const char *world, char **note,
		      char **held)
{
	int r = s ? note_load(s, world, "svcmove", note, NULL) : -1;
	if (r >= 0 && note_load(s, world, "svcmove-held", held, NULL) < 0) {
		free(steal_pointer(note));
		r = -1;
	}
	return r < 0 ? -1 : 0;
}

/* The same, under one hold of the store's lock. */
static int notes_read(struct context *ctx, const char *world, char **note,
		      char **held)
{
	struct world_store *s = open_store(ctx);
	int r = notes_load(s, world, note, held);
	world_store_free(s);
	return r;
}

/* Under one hold of the store's lock, WORLD's notes still SEEN_NOTE and
 * SEEN_HELD (as notes_read gave them) become NOTE and HELD (NULL: left
 * as it is).  1, nothing written, when another command changed either
 * since; 0; -1. */
static int notes_swap(struct context *ctx, const char *world,
		      const char *seen_note, const char *seen_held,
		      const char *note, const char *held)
{
	struct world_store *s = open_store(ctx);
	_cleanup_free_ char *n = NULL, *h = NULL;
	int r = s ? note_load(s, world, "svcmove", &n, NULL) : -1;
	if (r >= 0)
		r = note_load(s, world, "svcmove-held", &h, NULL);
	if (r >= 0 && (strcmp(n ? n : "", seen_note ? seen_note : "") ||
		       strcmp(h ? h : "", seen_held ? seen_held : "")))
		r = 1;
	if (r == 0 && note)
		r = world_note_write(s, world, "svcmove", note, strlen(note),
				     NULL) < 0
			    ? -1
			    : 0;
	if (r == 0 && held)
		r = world_note_write(s, world, "svcmove-held", held,
				     strlen(held), NULL) < 0
			    ? -1
			    : 0;
	world_store_free(s);
	return r < 0 ? -1 : r;
}

/* HELD (may be NULL), held notes, with the note OLD among them replaced
 * by NOW, or dropped when NOW is NULL; without OLD, NOW goes on top.
 * Malloc'd; NULL when out of memory. */
static char *held_swap(const char *held, const char *old, const char *now)
{
	size_t n = strlen(old);
	const char *p = held;
	while (p && (strncmp(p, old, n) || (p[n] && p[n] != '\n')))
		if ((p = strstr(p, "\n\n")))
			p += 2;
	char *out = NULL;
	if (p && (p[n] == '\0' || p[n] == '\n')) {
		size_t at = (size_t)(p - held), after = at + n;
		if (!now && p[n])
			after++; /* the blank line after it */
		else if (!now && at)
			at--; /* the last one: the blank line before it */
		return asprintf(&out, "%.*s%s%s", (int)at, held, now ? now : "",
				held + after) < 0
			       ? NULL
			       : out;
	}
	if (!now)
		return strdup(held ? held : "");
	if (asprintf(&out, "%s%s%s", now, held && *held ? "\n" : "",
		     held ? held : "") < 0)
		return NULL;
	return out;
}

int service_pending_put(struct context *ctx, const char *world,
			const char *body)
{
	/* Its writer, last: service_note_owner_works(). */
	_cleanup_free_ char *owned = NULL;
	size_t n = strlen(body);
	if (n && asprintf(&owned, "%s%sby pid %d started %llu%s%s\n", body,
			  body[n - 1] == '\n' ? "" : "\n", (int)getpid(),
			  proc_start_time(getpid()), *boot_id() ? " boot " : "",
			  boot_id()) < 0)
		return -1;
	const char *text = owned ? owned : body;
	/* Read and written under one hold of the store's lock: what
	 * another command writes meanwhile waits, and is not lost. */
	struct world_store *s = open_store(ctx);
	_cleanup_free_ char *note = NULL, *held = NULL, *moved = NULL;
	int r = notes_load(s, world, &note, &held);
	const char *mine = ctx->pending_mine;
	if (r == 0 && (!mine || !strcmp(note ? note : "", mine))) {
		r = world_note_write(s, world, "svcmove", text, strlen(text),
				     NULL);
	} else if (r == 0) {
		/* Another command's note since this one's, which it kept
		 * aside: this one's is replaced there. */
		r = (moved = held_swap(held, mine, text))
			    ? world_note_write(s, world, "svcmove-held", moved,
					       strlen(moved), NULL)
			    : -1;
	}
	world_store_free(s);
	if (r < 0)
		return -1;
	free(ctx->pending_mine);
	ctx->pending_mine = strdup(text);
	return ctx->pending_mine ? 0 : -1;
}

int service_held_load(struct world_store *s, const char *world, char **out,
		      struct world_error *err)
{
	return note_load(s, world, "svcmove-held", out, err);
}

/* Whether world W exists in the store: a note's services of a world
 * since deleted are never taken for running (its status is not asked),
 * and the note stays, for pwapt recover. */
static bool world_exists(struct context *ctx, const char *w)
{
	struct world_store *s = open_store(ctx);
	_cleanup_strv_free_ char **names = NULL;
	bool there = s && world_names(s, &names, NULL) >= 0 &&
		     strv_contains(names, w);
	world_store_free(s);
	return there;
}

pid_t service_note_writer(const char *text)
{
	const char *by = text ? strstr(text, "\nby pid ") : NULL;
	int pid;
	unsigned long long t;
	char boot[40] = "";
	if (!by ||
	    sscanf(by + 8, "%d started %llu boot %39[^\n]", &pid, &t, boot) < 2)
		return 0;
	if (pid == getpid() || pid <= 0 || !t || !proc_runs(pid, t, boot))
		return 0;
	return pid;
}

bool service_note_owner_works(const char *text)
{
	return service_note_writer(text) != 0;
}

/* Whether each service that TEXT, a note of pending services of WORLD,
 * names is proven done: "stop NAME in W" runs in W (W still a world),
 * "start NAME" (" on the old files") runs in WORLD (its status says so).
 * "restart NAME" never is: a service that runs may run on the files it
 * was to leave, and only a restart seen happening settles it.  Such a
 * note is done with: it is emptied, not kept. */
static bool note_settled(struct context *ctx, const char *world,
			 const char *text)
{
	if (service_note_owner_works(text))
		return false;
	const char *l = strchr(text, '\n');
	for (l = l ? l + 1 : ""; *l;) {
		size_t n = strcspn(l, "\n");
		_cleanup_free_ char *line = strndup(l, n);
		l += n + (l[n] == '\n');
		if (!line)
			return false;
		char *name = NULL, *in = NULL, *old;
		const char *w = world;
		if (!strncmp(line, "stop ", 5) && (in = strstr(line, " in "))) {
			*in = '\0';
			name = line + 5;
			w = in + 4;
		} else if (!strncmp(line, "start ", 6)) {
			name = line + 6;
		} else if (!strncmp(line, "restart ", 8) ||
			   !strncmp(line, "stop ", 5)) {
			return false;
		} else {
			continue; /* "by pwapt merge", "failed: ...", by pid */
		}
		if ((old = strstr(name, " on the old files")))
			*old = '\0';
		if (strcmp(w, world) && !world_exists(ctx, w))
			return false;
		if (service_command(ctx, w, name, "status", true) != 0)
			return false;
	}
	return true;
}

/* The first of held notes HELD (may be NULL: none), malloc'd ("" when
 * none; NULL when out of memory); *REST points at the ones after it in
 * HELD, NULL when none.  The notes are kept one after the other, a blank
 * line between them: a note has no empty line. */
static char *held_top(const char *held, const char **rest)
{
	*rest = NULL;
	const char *end = held ? strstr(held, "\n\n") : NULL;
	if (!end)
		return strdup(held ? held : "");
	*rest = *(end + 2) ? end + 2 : NULL;
	return strndup(held, (size_t)(end - held) + 1);
}

/* Of held notes HELD, those DROP (given each and ARG) does not drop, as
 * held notes again ("" when none; NULL when out of memory); *GONE counts the
 * others. */
static char *held_filter(const char *held,
			 bool (*drop)(const char *top, const void *arg),
			 const void *arg, int *gone)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	*gone = 0;
	bool oom = false;
	for (const char *rest = held; rest && !oom;) {
		_cleanup_free_ char *top = held_top(rest, &rest);
		if (!top)
			oom = true;
		else if (*top && drop(top, arg))
			++*gone;
		else if (*top)
			fprintf(f, "%s%s", ftell(f) ? "\n" : "", top);
	}
	if (fclose(f) != 0 || oom)
		free(steal_pointer(&out));
	return out;
}

/* A held note whose writer no longer runs (service_note_owner_works). */
static bool unowned(const char *top, const void *arg)
{
	(void)arg;
	return !service_note_owner_works(top);
}

struct done_with {
	uint64_t id;
	const char *mine;
};

/* A held note of merge ARG->id whose writer no longer runs, and not
 * ARG->mine: this command's own, which another's note replaced. */
static bool of_undone_merge(const char *top, const void *arg)
{
	const struct done_with *d = arg;
	return service_note_of(top, d->id) && !service_note_owner_works(top) &&
	       !(d->mine && !strcmp(top, d->mine));
}

/* Whether TEXT, a note, is this command's own. */
static bool written_here(const char *text)
{
	const char *by = text ? strstr(text, "\nby pid ") : NULL;
	int pid = 0;
	return by && sscanf(by + 8, "%d", &pid) == 1 && pid == getpid();
}

/* Whether TEXT is the note of a pwapt rollback of merge *ID whose
 * writer no longer runs.  Not this command's own: a rollback refused
 * after a failed undo, which this command's store open then finished,
 * puts the merge's note back as it is (its services are to see to on
 * the files Root has now). */
static bool killed_rollback_of(const char *text, uint64_t *id)
{
	return text && sscanf(text, "rollback of merge %" SCNu64, id) == 1 &&
	       !service_note_owner_works(text) && !written_here(text);
}

/* A note that ARG's killed rollback set aside: of_undone_merge(), and
 * not this command's own, which it sees to itself. */
static bool set_aside_by(const char *top, const void *arg)
{
	return of_undone_merge(top, arg) && !written_here(top);
}

int service_notes_drop_undone(struct world_store *s, const char *world)
{
	_cleanup_free_ char *note = NULL, *held = NULL, *left = NULL;
	if (notes_load(s, world, &note, &held) < 0)
		return -1;
	if (!held || !(left = strdup(held)))
		return held ? -1 : 0;
	/* Each killed rollback's note, newest first (the note, then the
	 * held notes from the top), keeps its merge's: one since dropped
	 * by a newer one's of the same merge (a copy stays) is skipped. */
	int gone = 0;
	bool note_gone = false;
	const char *rest = held;
	for (bool first = true; first || rest; first = false) {
		_cleanup_free_ char *c = first ? strdup(note ? note : "")
					       : held_top(rest, &rest);
		uint64_t id;
		if (!c)
			return -1;
		if (!killed_rollback_of(c, &id) || (!first && !strstr(left, c)))
			continue;
		/* Its undo finished, as libworld noted: no merge kept, or a
		 * newer one, does not tell (only the last one is kept). */
		int undone = world_merge_rolled_back(s, world, id);
		if (undone < 0)
			return -1; /* cannot be told: the notes stay */
		if (!undone)
			continue;
		const struct done_with d = {id, c};
		int n = 0;
		char *kept = held_filter(left, set_aside_by, &d, &n);
		if (!kept)
			return -1;
		free(left);
		left = kept;
		gone += n;
		note_gone |= note && set_aside_by(note, &d);
	}
	if (gone && world_note_write(s, world, "svcmove-held", left,
				     strlen(left), NULL) < 0)
		return -1;
	if (note_gone && world_note_write(s, world, "svcmove", "", 0, NULL) < 0)
		return -1;
	return gone + note_gone;
}

static void drop_undone(struct context *ctx, const char *world)
{
	struct world_store *s = open_store(ctx);
	if (s)
		(void)service_notes_drop_undone(s, world);
	world_store_free(s);
}

/* NOW, WORLD's note of pending services, on top of its held notes, read
 * and written under one hold of the store's lock, so that no other
 * command's push is lost, and none makes this one fail (R13 #5: one read
 * and a compare-and-swap later gave up after three other commands'
 * changes); also when a copy is on top already: two commands that hold
 * the same note aside each put their own copy back, and neither's end
 * loses the other's (a copy a killed command left is a duplicate, which
 * pwapt recover shows once).  0; 1 when the note is no longer NOW
 * (another command's since: read it again); -1. */
static int held_push(struct context *ctx, const char *world, const char *now)
{
	struct world_store *s = open_store(ctx);
	_cleanup_free_ char *note = NULL, *held = NULL, *text = NULL;
	int r = notes_load(s, world, &note, &held);
	/* Stopped here, the lock held: another command that changes the
	 * held notes meanwhile waits for it. */
	world_crash_point("held-push");
	size_t n = strlen(now);
	if (r == 0 && strcmp(note ? note : "", now))
		r = 1;
	if (r == 0 && asprintf(&text, "%s%s%s%s", now,
			       n && now[n - 1] != '\n' ? "\n" : "",
			       held ? "\n" : "", held ? held : "") < 0) {
		text = NULL;
		r = -1;
	}
	if (r == 0 && world_note_write(s, world, "svcmove-held", text,
				       strlen(text), NULL) < 0)
		r = -1;
	world_store_free(s);
	return r;
}

int service_pending_hold(struct context *ctx, const char *world,
			 const char *now, char **top, char *why, size_t why_len)
{
	_cleanup_free_ char *held = NULL;
	*top = NULL;
	if (service_note_read_why(ctx, world, true, &held, why, why_len) < 0)
		return -1;
	/* A note whose services all run is done with: emptied, not kept. */
	if (now && note_settled(ctx, world, now))
		now = NULL;
	int r = now ? held_push(ctx, world, now) : 0;
	if (r < 0)
		snprintf(why, why_len,
			 "cannot keep %s's note of pending services aside",
			 world);
	if (r)
		return r;
	const char *rest;
	char *t = now ? strdup(now) : held_top(held, &rest);
	if (t && !*t)
		free(steal_pointer(&t));
	*top = t;
	return 0;
}

int service_pending_hold_read(struct context *ctx, const char *world,
			      char **now, char **top, char *why, size_t why_len)
{
	int r = 1;
	drop_undone(ctx, world);
	/* Read again while another command changes it meanwhile. */
	for (int tries = 0; r > 0 && tries < 5; tries++) {
		free(steal_pointer(now));
		free(steal_pointer(top));
		if (service_note_read_why(ctx, world, false, now, why,
					  why_len) < 0)
			return -1;
		r = service_pending_hold(ctx, world, *now, top, why, why_len);
	}
	if (r > 0)
		snprintf(why, why_len,
			 "%s's note of pending services keeps changing: "
			 "other pwapt commands are at work",
			 world);
	return r ? -1 : 0;
}

/* A note of merge ID (not 0) whose writer no longer runs: done with
 * once that merge is rolled back; one whose command still runs is its
 * own to see to (R16 LM1). */
static bool of_rolled_back(const char *top, uint64_t id)
{
	return id && service_note_of(top, id) && !service_note_owner_works(top);
}

int service_pending_restore(struct context *ctx, const char *world, uint64_t id)
{
	_cleanup_free_ char *mine = steal_pointer(&ctx->pending_mine);
	drop_undone(ctx, world);
	for (int tries = 0; tries < 3; tries++) {
		_cleanup_free_ char *note = NULL, *held = NULL, *top = NULL,
				    *kept = NULL;
		if (notes_read(ctx, world, &note, &held) < 0)
			return -1; /* left as they are, for pwapt recover */
		int r;
		if (mine && strcmp(note ? note : "", mine)) {
			/* Another command's note since this one's: it stays,
			 * and this one's, which it kept aside, goes. */
			if (!(kept = held_swap(held, mine, NULL)))
				return -1;
			r = notes_swap(ctx, world, note, held, NULL,
				       held ? kept : NULL);
		} else {
			const char *rest = held;
			do {
				free(top);
				top = held_top(rest, &rest);
			} while (top && rest &&
				 (of_rolled_back(top, id) ||
				  note_settled(ctx, world, top)));
			if (!top)
				return -1;
			/* This merge's own, or one whose services all run:
			 * done with. */
			if (*top && (of_rolled_back(top, id) ||
				     note_settled(ctx, world, top)))
				*top = '\0';
			r = notes_swap(ctx, world, note, held, top,
				       held ? (rest ? rest : "") : NULL);
		}
		if (r <= 0)
			return r;
	}
	return -1;
}

int service_pending_begin(struct context *ctx, const char *world, char *why,
			  size_t why_len)
{
	_cleanup_free_ char *now = NULL, *top = NULL;
	int r = service_pending_hold_read(ctx, world, &now, &top, why, why_len);
	if (r < 0)
		return -1;
	free(ctx->pending_mine);
	if (!(ctx->pending_mine = strdup(now ? now : ""))) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	ctx->pending_begun = true;
	return 0;
}

void service_pending_after_rollback(struct context *ctx, const char *world,
				    uint64_t id, const char *prev)
{
	(void)prev; /* the top of the held notes: read again, as they are */
	struct world_store *s = open_store(ctx);
	_cleanup_free_ char *now = NULL;
	int r = s ? service_pending_load(s, world, &now, NULL) : -1;
	world_store_free(s);
	if (r < 0)
		return; /* unreadable: for recover */
	/* Another command's note since this rollback's first: this one's
	 * went among the held notes, and goes from there (its services
	 * run again); the other's stays. */
	if (!service_note_of(now, id)) {
		if (ctx->pending_mine && *ctx->pending_mine)
			(void)service_pending_restore(ctx, world, id);
		return;
	}
	/* The note kept aside comes back; one that cannot be read is
	 * never taken for none, and the note stays. */
	(void)service_pending_restore(ctx, world, id);
}

char *service_pending_read(struct world_store *s, const char *world)
{
	char *text = NULL;
	return service_pending_load(s, world, &text, NULL) < 0 ? NULL : text;
}

/* The lines of note PENDING of a pwapt rollback of a merge into DST
 * after its first: once the merge is UNDONE, those to start or restart
 * on the old files ("restart NAME on the old files": "restart NAME in
 * DST"); while it stands, the services the rollback stopped, to start
 * again ("start NAME").  Printed when PUT; returns how many. */
size_t service_note_rollback_lines(const char *pending, const char *dst,
				   bool undone, bool put)
{
	size_t count = 0;
	static const char tail[] = " on the old files";
	const char *l = strchr(pending, '\n');
	for (l = l ? l + 1 : ""; *l;) {
		size_t n = strcspn(l, "\n");
		_cleanup_free_ char *line = strndup(l, n);
		l += n + (l[n] == '\n');
		size_t k = line ? strlen(line) : 0;
		bool old = k > sizeof(tail) - 1 &&
			   !strcmp(line + k - (sizeof(tail) - 1), tail);
		if (!line || old != undone || !strncmp(line, "by pid ", 7))
			continue;
		count++;
		if (!put)
			continue;
		if (old)
			line[k - (sizeof(tail) - 1)] = '\0';
		put_text(stdout, line);
		if (old)
			printf(" in %s", dst);
		putchar('\n');
	}
	return count;
}

void service_note_unowned(char *text)
{
	char *by = text ? strstr(text, "\nby pid ") : NULL;
	if (by)
		by[1] = '\0';
}

int service_pending_drop_held(struct context *ctx, const char *world,
			      uint64_t id)
{
	struct world_store *s = open_store(ctx);
	_cleanup_free_ char *held = NULL, *left = NULL;
	const struct done_with d = {id, ctx->pending_mine};
	int gone = 0;
	/* Read and written under one hold of the store's lock: another
	 * command's push meanwhile is not lost. */
	int r = s ? service_held_load(s, world, &held, NULL) : -1;
	if (r >= 0 && held &&
	    !(left = held_filter(held, of_undone_merge, &d, &gone)))
		r = -1;
	if (r >= 0 && gone &&
	    world_note_write(s, world, "svcmove-held", left, strlen(left),
			     NULL) < 0)
		r = -1;
	world_store_free(s);
	return r < 0 ? -1 : 0;
}

int service_notes_forget(struct world_store *s, const struct world_list *l)
{
	int n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *w = l->v[i].name;
		_cleanup_free_ char *now = NULL, *held = NULL, *left = NULL;
		/* One that cannot be read goes too: forgetting is what the
		 * administrator asked for; the notes of commands still at
		 * work stay theirs. */
		int a = service_pending_load(s, w, &now, NULL);
		int b = service_held_load(s, w, &held, NULL);
		if (a >= 0 && b >= 0 && !now && !held)
			continue;
		int gone = b < 0;
		bool runs = now && service_note_owner_works(now);
		if (b >= 0 && !(left = held_filter(held, unowned, NULL, &gone)))
			return -1;
		struct world_error err = {0};
		if ((!runs &&
		     world_note_write(s, w, "svcmove", "", 0, &err) < 0) ||
		    world_note_write(s, w, "svcmove-held", left ? left : "",
				     left ? strlen(left) : 0, &err) < 0) {
			fprintf(stderr, "pwapt: %s\n", SHOWN(err.msg));
			return -1;
		}
		if (runs || (left && *left))
			printf("kept the note of pending services of a pwapt "
			       "command still at work in %s\n",
			       w);
		n += ((a < 0 || now) && !runs) + gone;
	}
	return n;
}
