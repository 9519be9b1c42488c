/* pwapt recover [--done]: what a killed merge or rollback left, said in
 * words (the notes of pending services, svcnotes.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../world/cleanup.h"
#include "handover.h"
#include "options.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"

/* The merge that a note written before it ("no merge yet from SRC", see
 * svcnotes.c) no longer tells: SRC is gone and DST's last merge is from
 * it, so the wmerge was killed after its merge, before it wrote the
 * note again: 1, with the merge's *ID; 0 when not; -1 when SRC is gone
 * and the record of merges cannot be read (ERR says why): whether it
 * merged cannot be told. */
static int merged_since(struct world_store *s, const struct world_list *l,
			const char *dst, const char *note, uint64_t *id,
			struct world_error *err)
{
	static const char head[] = "no merge yet from ";
	if (strncmp(note, head, sizeof(head) - 1))
		return 0;
	const char *src = note + sizeof(head) - 1;
	size_t n = strcspn(src, "\n");
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) == n && !strncmp(l->v[i].name, src, n))
			return 0; /* SRC is still there: not merged */
	struct world_merge_record m = {0};
	int r = world_last_merge(s, dst, &m, err);
	bool yes = r >= 0 && m.src && strlen(m.src) == n &&
		   !strncmp(m.src, src, n);
	*id = m.id;
	world_merge_record_release(&m);
	return r < 0 && r != -ENOENT ? -1 : yes;
}

/* The last merge into DST (the one pwapt rollback undoes): its *ID, 0
 * when there is none left to roll back.  -1 when the record of merges
 * cannot be read: ERR says why. */
static int last_merge(struct world_store *s, const char *dst, uint64_t *id,
		      struct world_error *err)
{
	struct world_merge_record m = {0};
	int r = world_last_merge(s, dst, &m, err);
	*id = r >= 0 ? m.id : 0;
	world_merge_record_release(&m);
	return r >= 0 || r == -ENOENT ? 0 : -1;
}

/* The lines of note PENDING (of a merge into DST) after its first, each
 * in the words of what is to be done: "stop NAME in W", a stop before
 * the merge, is to be undone when nothing was merged (MERGED 0: start it
 * again); once merged (1), NAME, which ran in SRC, is to start in DST, and
 * one of DST's the merge removed stays stopped; when that cannot be told
 * (-1), both, each with its condition. */
static void put_pending_lines(const char *pending, const char *dst, int merged)
{
	const char *l = strchr(pending, '\n');
	for (l = l ? l + 1 : ""; *l;) {
		size_t n = strcspn(l, "\n");
		_cleanup_free_ char *line = strndup(l, n);
		l += n + (l[n] == '\n');
		if (!line || !strcmp(line, "by pwapt merge") ||
		    !strncmp(line, "failed: ", 8) ||
		    !strncmp(line, "by pid ", 7))
			continue;
		char *in =
			strncmp(line, "stop ", 5) ? NULL : strstr(line, " in ");
		if (!in) {
			put_text(stdout, line);
			putchar('\n');
			continue;
		}
		*in = '\0';
		const char *name = line + 5, *w = in + 4;
		printf("start ");
		put_text(stdout, name);
		if (!merged)
			printf(" in %s again (stopped for the merge)\n", w);
		else if (merged < 0 && strcmp(w, dst))
			printf(" in %s if the merge was done, else in %s "
			       "again\n",
			       dst, w);
		else if (merged < 0)
			printf(" in %s again unless the merge was done (its "
			       "package is removed)\n",
			       dst);
		else if (strcmp(w, dst))
			printf(" in %s (it ran in %s, merged)\n", dst, w);
		else
			printf(" in %s by hand if you roll the merge back (its "
			       "package is removed)\n",
			       dst);
	}
}

/* The lines of note PENDING after its first, as they are: what its
 * writer, which still runs, does. */
static void put_note_lines(const char *pending)
{
	const char *l = strchr(pending, '\n');
	for (l = l ? l + 1 : ""; *l;) {
		size_t n = strcspn(l, "\n");
		bool by = !strncmp(l, "by pid ", 7) ||
			  (n == 14 && !strncmp(l, "by pwapt merge", n));
		if (!by) {
			_cleanup_free_ char *line = strndup(l, n);
			put_text(stdout, line ? line : "?");
			putchar('\n');
		}
		l += n + (l[n] == '\n');
	}
}

/* "a wmerge", or "pwapt merge of transaction T" where note PENDING says
 * so, into BUF (LEN bytes). */
static const char *merge_kind(const char *pending, char *buf, size_t len)
{
	static const char *const heads[] = {"no merge yet from ", "merge "};
	if (!service_has_line(pending, "by pwapt merge"))
		return "a wmerge";
	const char *t = NULL;
	for (size_t i = 0; !t && i < 2; i++)
		if (!strncmp(pending, heads[i], strlen(heads[i])))
			t = strstr(pending, " from ");
	t = t ? t + 6 : "?";
	snprintf(buf, len, "pwapt merge of transaction %.*s",
		 (int)strcspn(t, "\n"), t);
	return buf;
}

/* What pwapt recover says of DST's note of services (svcnotes.c) that a
 * killed merge left: which merge it is, and whether pwapt rollback would
 * undo that one (never another, older merge). */
static void print_pending(struct world_store *s, const struct world_list *l,
			  const char *dst, const char *pending)
{
	uint64_t id = 0, last = 0, merged = 0;
	struct world_error err = {0};
	char kind_buf[128];
	const char *kind = merge_kind(pending, kind_buf, sizeof(kind_buf));
	/* The merge the note is of ("merge N", "rollback of merge N"),
	 * DST's last merge, and whether that one was rolled back: as
	 * libworld noted it, not told by the last merge kept (a later one
	 * takes its place, and only the last one is kept). */
	if (sscanf(pending, "merge %" SCNu64, &id) != 1 &&
	    sscanf(pending, "rollback of merge %" SCNu64, &id) != 1)
		id = 0;
	bool unknown = id && last_merge(s, dst, &last, &err) < 0;
	int undone = id && !unknown ? world_merge_rolled_back(s, dst, id) : 0;
	if (undone < 0) {
		unknown = true;
		err.code = -undone;
		snprintf(err.msg, sizeof(err.msg),
			 "the notes of merges into %s rolled back cannot be "
			 "read: %s",
			 dst, strerror(-undone));
	}
	bool rollback = id && !strncmp(pending, "rollback of merge ", 18);
	/* Its lines for after the undo; those before it: its stops. */
	bool undo = rollback &&
		    service_note_rollback_lines(pending, dst, true, false);
	bool stops = rollback &&
		     service_note_rollback_lines(pending, dst, false, false);
	int since = merged_since(s, l, dst, pending, &merged, &err);
	/* Written by a command that failed, not killed: its reason. */
	const char *failed = strstr(pending, "\nfailed: ");
	pid_t writer = service_note_writer(pending);
	if (writer) {
		/* Neither killed nor failed: its lines are what it does. */
		printf("the pwapt command that wrote this note of services "
		       "of %s still runs (pid %d): it sees to them itself; if "
		       "it is stuck, stop it (kill %d), then pwapt recover "
		       "again:\n",
		       dst, (int)writer, (int)writer);
	} else if (failed) {
		_cleanup_free_ char *reason =
			strndup(failed + 9, strcspn(failed + 9, "\n"));
		printf("%s into %s left services down: ", kind, dst);
		put_text(stdout, reason ? reason : "?");
		printf("; see to them:\n");
	} else if (since > 0) {
		printf("%s into %s was killed once it had merged "
		       "(merge %" PRIu64 "), before its services moved; see "
		       "to them, or pwapt rollback --id %" PRIu64 " %s:\n",
		       kind, dst, merged, merged, dst);
	} else if (since < 0) {
		printf("%s into %s was killed around its merge; whether "
		       "it merged cannot be told (%s): see to its services, "
		       "and to the merge:\n",
		       kind, dst, SHOWN(err.msg));
	} else if (!strncmp(pending, "no merge yet from ", 18)) {
		printf("%s into %s was killed before it merged (nothing "
		       "to roll back); services it was stopping may be down, "
		       "start them again:\n",
		       kind, dst);
	} else if (unknown) {
		printf("services of %s were not (re)started or checked after "
		       "merge %" PRIu64 "; whether it was rolled back cannot "
		       "be told (%s): see to them:\n",
		       dst, id, SHOWN(err.msg));
	} else if (rollback && last == id && !stops) {
		printf("pwapt rollback of merge %" PRIu64 " into %s was "
		       "killed before it undid the merge, and stopped no "
		       "service: pwapt rollback --id %" PRIu64 " %s undoes "
		       "it:\n",
		       id, dst, id, dst);
	} else if (rollback && last == id) {
		printf("pwapt rollback of merge %" PRIu64 " into %s stopped "
		       "the services the merge started and did not see them "
		       "run again (killed before it undid the merge, or "
		       "refused and a start failed): start them again, or "
		       "pwapt rollback --id %" PRIu64 " %s:\n",
		       id, dst, id, dst);
	} else if (undo && undone) {
		printf("pwapt rollback of merge %" PRIu64 " into %s was "
		       "killed after it undid the merge, or a service did not "
		       "come back: start or restart these on the old files:\n",
		       id, dst);
	} else if (undo) {
		/* Not known to be undone, and not the last merge. */
		printf("pwapt rollback of merge %" PRIu64 " into %s was "
		       "killed around its undoing of the merge (merge %" PRIu64
		       " is no longer the last merge): start or restart these "
		       "on the files %s has now:\n",
		       id, dst, id, dst);
	} else if (rollback) {
		printf("pwapt rollback of merge %" PRIu64 " into %s stopped "
		       "the services the merge started and was killed; merge "
		       "%" PRIu64 " %s: those services ran on its files; see "
		       "to them on the files %s has now:\n",
		       id, dst, id,
		       undone ? "was rolled back"
			      : "is no longer the last merge",
		       dst);
	} else if (id && last != id) {
		/* Rolled back, or a later merge took its place (or one
		 * that a pwapt before the notes of roll-backs undid). */
		printf("services of %s were not (re)started or checked after "
		       "merge %" PRIu64 ", which %s: see to them on the files "
		       "%s has now",
		       dst, id,
		       undone ? "was rolled back"
			      : "is no longer the last merge",
		       dst);
		if (last)
			printf(" (pwapt rollback would undo merge %" PRIu64
			       ", another merge)",
			       last);
		printf(":\n");
	} else if (id) {
		printf("services of %s were not (re)started or checked after "
		       "merge %" PRIu64 " (its pwapt was killed); see to them, "
		       "or pwapt rollback --id %" PRIu64 " %s:\n",
		       dst, id, id, dst);
	} else {
		printf("services of %s were not (re)started or checked after "
		       "a merge (its pwapt was killed); see to them, or pwapt "
		       "rollback %s:\n",
		       dst, dst);
	}
	/* The note's first line names the merge; the others, what to do. */
	_cleanup_free_ char *head = strndup(pending, strcspn(pending, "\n"));
	if (head)
		put_text(stdout, head);
	putchar('\n');
	if (writer)
		put_note_lines(pending);
	else if (rollback && !unknown)
		(void)service_note_rollback_lines(pending, dst,
						  undo && last != id, true);
	else
		put_pending_lines(pending, dst, since);
}

/* WORLD's held notes of pending services (service.h, "svcmove-held"),
 * each but one the same as its note of pending services PENDING: how
 * many there are, said (print_pending) when SAY; one that cannot be read
 * counts, and is said as such. */
static size_t held_notes(struct world_store *s, const struct world_list *l,
			 const char *world, const char *pending, bool say)
{
	_cleanup_free_ char *held = NULL;
	struct world_error err = {0};
	if (service_held_load(s, world, &held, &err) < 0) {
		if (say)
			printf("the note of pending services kept aside in %s "
			       "cannot be read (%s): services may be down; "
			       "see to them\n",
			       world, SHOWN(err.msg));
		return 1;
	}
	size_t n = 0;
	/* Two copies one after the other (two commands held it): once. */
	for (char *t = held, *prev = NULL, *end; t && *t;
	     prev = t, t = end ? end + 2 : NULL) {
		if ((end = strstr(t, "\n\n")))
			end[1] = '\0';
		if ((!pending || strcmp(t, pending)) &&
		    (!prev || strcmp(t, prev)) && ++n && say)
			print_pending(s, l, world, t);
	}
	return n;
}

int cmd_recover(struct context *ctx, int argc, char **argv)
{
	bool done = false;
	const struct cmd_option options[] = {
		OPT_FLAG("done", &done,
			 "  --done  forget the notes of pending services, once "
			 "seen to"),
		OPT_END};
	static const struct cmd_usage usage = {.synopsis = "[--done]",
					       .man = "pwapt"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	/* Opening the store is what recovers; this only says what it did. */
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	bool merge = world_store_recovered(s);
	world_store_free(s);
	int ho = handover_recover(ctx);
	if (merge)
		printf("recovered an interrupted merge\n");
	if (ho == 1 || ho == 2)
		printf("%s\n", ho == 1 ? "finished an interrupted handover"
				       : "a handover into Root is under way");
	if (ho < 0)
		return EXIT_FAIL;
	if (!(s = open_store(ctx)))
		return EXIT_FAIL;
	struct world_list l = {0};
	struct world_error err = {0};
	if (world_list(s, &l, &err) < 0) {
		world_store_free(s);
		return fail(ctx, &err);
	}
	/* What is left for the administrator: worlds a crash caught while
	 * volatile (nothing recovers them), and notes of services a wmerge
	 * killed between its merge and its services left.  "nothing to
	 * recover" only when there is none of it either. */
	char **pending = calloc(l.n + 1, sizeof(*pending));
	bool *unreadable = calloc(l.n + 1, sizeof(*unreadable));
	if (!pending || !unreadable) {
		free(pending);
		free(unreadable);
		world_list_release(&l);
		world_store_free(s);
		return failf(ctx, "out of memory");
	}
	size_t left = 0;
	for (size_t i = 0; i < l.n; i++) {
		/* The notes a rollback set aside, its undo finished by this
		 * store open (or an earlier one's): done with. */
		(void)service_notes_drop_undone(s, l.v[i].name);
		left += l.v[i].state == WORLD_CRASHED;
		/* One that cannot be read is never taken for none. */
		unreadable[i] = service_pending_load(s, l.v[i].name,
						     &pending[i], NULL) < 0;
		if (pending[i] || unreadable[i])
			left++;
		/* And the note kept aside by a rollback killed among its
		 * stops, or by a merge; one that cannot be read is said. */
		left += held_notes(s, &l, l.v[i].name, pending[i], false);
	}
	if (!merge && ho == 0 && !left)
		printf("nothing to recover\n");
	else if (!merge && ho == 0)
		printf("no interrupted merge to finish, but %zu thing%s "
		       "need%s you:\n",
		       left, left == 1 ? "" : "s", left == 1 ? "s" : "");
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].state == WORLD_CRASHED)
			printf("'%s' was volatile when its tree went away (a "
			       "crash, a reboot): its layer is not used; "
			       "wdelete %s (a transaction: the next "
			       "transaction command discards it)\n",
			       l.v[i].name, l.v[i].name);
	for (size_t i = 0; i < l.n; i++) {
		if (unreadable[i])
			printf("the note of pending services of %s cannot be "
			       "read: services may be down; see to them\n",
			       l.v[i].name);
		if (!pending[i])
			continue;
		print_pending(s, &l, l.v[i].name, pending[i]);
	}
	/* The notes kept aside: a rollback killed among its stops, a
	 * merge's own note written over another. */
	for (size_t i = 0; i < l.n; i++)
		(void)held_notes(s, &l, l.v[i].name, pending[i], true);
	r = done ? service_notes_forget(s, &l) : 0;
	if (r > 0)
		printf("forgot %d note%s of pending services\n", r,
		       r == 1 ? "" : "s");
	for (size_t i = 0; i < l.n; i++)
		free(pending[i]);
	free(pending);
	free(unreadable);
	world_list_release(&l);
	world_store_free(s);
	return r < 0 ? failf(ctx, "cannot forget the notes of pending "
				  "services")
		     : EXIT_OK;
}
