/* pwapt unattended: Debian's unattended-upgrade, with its own
 * configuration (origins, blacklist, APT::Periodic::Unattended-Upgrade),
 * in a transaction world (DESIGN.md §6), through the steps of
 * upgrade --test (aptrun.h):
 *
 *   check     pwapt.conf's "unattended = on", else nothing is done
 *   earlier   Root's note of services an earlier merge left unchecked
 *             (its pwapt was killed): said, logged and mailed, since
 *             this run's own merge would write over it
 *   settings  Root's apt configuration: APT::Periodic::Unattended-Upgrade,
 *             Unattended-Upgrade::Mail and ::MailReport, read by
 *             apt-config in Root (Root's, not a world's)
 *   begin     the world, txN on the chain's tip, and its record
 *   download  unattended-upgrade --download-only, the host's network;
 *             skipped when no archive of any version an upgrade could
 *             install, its new dependencies' included, is to be fetched
 *             (all in the archive cache or on file: sources), unless
 *             Root's note "unattended-download" says an install failed
 *             after a skipped download
 *   install   unattended-upgrade, the world's own network; conffiles
 *             never ask (dpkg --force-confdef --force-confold, which
 *             unattended-upgrade also takes as "no conffile prompt");
 *             failing after a skipped download, it writes that note,
 *             which a later run that downloads and succeeds empties
 *   changed   dpkg's status as it was: nothing to upgrade, discarded
 *   test      the world's services started, /etc/pwapt/tests.d run
 *   report    as upgrade --test's
 *   finish    merged into Root; failed tests or unattended-upgrade
 *             failing: kept or discarded as pwapt.conf's
 *             unattended-failure says; conflicts with Root: kept
 *
 * Then, whatever the outcome, a record in Root's /var/log/pwapt/
 * unattended.log and a mail as Unattended-Upgrade::Mail asks, sent with
 * the host's sendmail. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../world/cleanup.h"
#include "apt.h"
#include "aptrun.h"
#include "options.h"
#include "pwapt.h"
#include "quote.h"
#include "service.h"

/* Root's apt configuration, as far as pwapt unattended reads it. */
struct uu_settings {
	char *periodic; /* APT::Periodic::Unattended-Upgrade */
	char *mail;	/* Unattended-Upgrade::Mail */
	char *report;	/* ::MailReport: always, only-on-error, on-change */
	char *only_on_error; /* ::MailOnlyOnError, the older setting */
};

struct unattended {
	struct run run;
	bool check;
	struct uu_settings set;
	bool began;	/* a transaction world was made */
	char *outcome;	/* one sentence: what became of it */
	bool error;	/* it failed, tests failed, or it conflicts */
	char *json_buf; /* step_report's JSON, with --json */
	size_t json_len;
	char *text_buf; /* the report for people: log and mail */
	size_t text_len;
	char *earlier; /* services an earlier merge left unchecked */
	bool skipped;  /* the download was skipped: nothing to fetch */
	bool noted;    /* Root's note asks for the download */
};

/* Root's note that an install failed after the download was skipped: the
 * check of what is to be fetched missed an archive, and would again until
 * the package set changes.  While it holds "skipped", every run
 * downloads; a run that downloaded and succeeded empties it. */
static const char download_note[] = "unattended-download";

static void set_outcome(struct unattended *u, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_outcome(struct unattended *u, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(u->outcome);
	if (vasprintf(&u->outcome, fmt, ap) < 0)
		u->outcome = NULL;
	va_end(ap);
	u->error = error;
}

static int check(struct context *ctx, struct unattended *u)
{
	if (u->check) {
		printf("%s\n", ctx->unattended ? "on" : "off");
		return EXIT_OK;
	}
	if (!ctx->unattended) {
		fprintf(chatter(ctx), "pwapt unattended is off (unattended = "
				      "on in pwapt.conf turns it on): nothing "
				      "done.\n");
		set_outcome(u, false, "off");
		return EXIT_OK;
	}
	return GO_ON;
}

/* The services an earlier merge into Root left to be (re)started or
 * checked, its pwapt killed in between: the next merge into Root writes
 * its own note over that one, so this run says it first. */
static const char earlier_said[] =
	"An earlier merge into Root left services not (re)started or "
	"checked (its pwapt was killed); see to them (pwapt recover lists "
	"them too):";

/* The earlier merge's unchecked services: output, log and mail. */
static void put_earlier(FILE *f, const struct unattended *u)
{
	if (!u->earlier)
		return;
	fprintf(f, "%s\n", earlier_said);
	put_text(f, u->earlier);
	if (!strchr(u->earlier, '\n'))
		fputc('\n', f);
}

/* A note that cannot be read stops the run: its merge would write over
 * it unread. */
static int earlier(struct context *ctx, struct unattended *u)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int r = service_pending_load(s, WORLD_ROOT, &u->earlier, &err);
	world_store_free(s);
	/* A command still at work on it: no earlier merge's leftover. */
	if (service_note_owner_works(u->earlier))
		free(steal_pointer(&u->earlier));
	service_note_unowned(u->earlier);
	if (r < 0)
		return failf(ctx,
			     "cannot read Root's note of the services an "
			     "earlier merge left unchecked: %s",
			     SHOWN(err.msg));
	put_earlier(chatter(ctx), u);
	return GO_ON;
}

/* VALUE of apt-config shell's NAME='VALUE' line (' written '\''). */
static char *shell_value(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(line, name, n) || line[n] != '=' || line[n + 1] != '\'')
		return NULL;
	const char *v = line + n + 2;
	char *out = malloc(strlen(v) + 1), *o = out;
	if (!out)
		return NULL;
	for (; *v && *v != '\n'; v++) {
		if (!strncmp(v, "'\\''", 4)) {
			*o++ = '\'';
			v += 3;
		} else if (*v != '\'') {
			*o++ = *v;
		}
	}
	*o = '\0';
	return out;
}

/* Root's settings, through apt-config run in Root. */
static int settings(struct context *ctx, struct unattended *u)
{
	_cleanup_close_ int fd = memfd_create("apt-config", MFD_CLOEXEC);
	if (fd < 0)
		return failf(ctx, "cannot read Root's apt configuration: %s",
			     strerror(errno));
	char *argv[] = {(char *)"apt-config",
			(char *)"shell",
			(char *)"P",
			(char *)"APT::Periodic::Unattended-Upgrade",
			(char *)"M",
			(char *)"Unattended-Upgrade::Mail",
			(char *)"R",
			(char *)"Unattended-Upgrade::MailReport",
			(char *)"E",
			(char *)"Unattended-Upgrade::MailOnlyOnError/b",
			NULL};
	struct world_exec_options xo = {.output_fd = fd, .timeout = 120};
	int status = 0;
	if (run_in(ctx, WORLD_ROOT, argv, &xo, &status) < 0)
		return EXIT_FAIL;
	if (status)
		return failf(ctx,
			     "apt-config in Root failed (exit %d): is apt "
			     "there?",
			     status);
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f)
		return failf(ctx, "out of memory");
	fd = -1;
	rewind(f);
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *v;
		if ((v = shell_value(line, "P")))
			free(u->set.periodic), u->set.periodic = v;
		else if ((v = shell_value(line, "M")))
			free(u->set.mail), u->set.mail = v;
		else if ((v = shell_value(line, "R")))
			free(u->set.report), u->set.report = v;
		else if ((v = shell_value(line, "E")))
			free(u->set.only_on_error), u->set.only_on_error = v;
	}
	if (!u->set.periodic || !strcmp(u->set.periodic, "0") ||
	    !*u->set.periodic) {
		fprintf(chatter(ctx),
			"APT::Periodic::Unattended-Upgrade is off "
			"in Root's apt configuration: nothing "
			"done.\n");
		set_outcome(u, false, "off in Root's apt configuration");
		return EXIT_OK;
	}
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	struct world_error err = {0};
	int exe = world_open_in(s, WORLD_ROOT, "usr/bin/unattended-upgrade",
				O_PATH | O_CLOEXEC, &err);
	world_store_free(s);
	if (exe == -ENOENT)
		return failf(ctx,
			     "unattended-upgrades is not installed in Root "
			     "(apt-get install unattended-upgrades)");
	if (exe >= 0)
		close(exe);
	return GO_ON;
}

static int begin(struct context *ctx, struct unattended *u)
{
	int r = step_begin(ctx, &u->run);
	u->began = r == GO_ON;
	if (u->began)
		fprintf(chatter(ctx),
			"Transaction %s: unattended-upgrade in a new world "
			"over "
			"%s.\n",
			u->run.t.name, u->run.t.parent);
	return r;
}

/* unattended-upgrade in the world, ARG its one option or NULL, with a
 * configuration part that makes dpkg keep changed conffiles without
 * asking and leaves the mail to pwapt; the part is gone after the run (a
 * world killed meanwhile is discarded: its phase is before "ready"). */
static int run_uu(struct context *ctx, struct unattended *u, const char *arg,
		  bool host_network, int *status)
{
	static const char script[] =
		"part=/etc/apt/apt.conf.d/zz-pwapt-unattended\n"
		"printf '%s\\n' 'Dpkg::Options:: \"--force-confdef\";' "
		"'Dpkg::Options:: \"--force-confold\";' "
		"'Unattended-Upgrade::Mail \"\";' >\"$part\" || exit 1\n"
		"unattended-upgrade -v \"$@\"\n"
		"rc=$?\n"
		"rm -f \"$part\"\n"
		"exit $rc\n";
	char *argv[] = {(char *)"/bin/sh", (char *)"-c",
			(char *)script,	   (char *)"pwapt-unattended",
			(char *)arg,	   NULL};
	struct world_exec_options xo = {.host_network = host_network,
					.env = apt_env,
					.output_fd = chatter_fd(ctx)};
	return run_in(ctx, u->run.t.name, argv, &xo, status);
}

static int failed(struct context *ctx, struct unattended *u, const char *what,
		  int status)
{
	const char *name = u->run.t.name;
	if (u->run.keep)
		set_outcome(
			u, true,
			"%s (exit %d) in %s: kept for a look (pwapt discard "
			"%s throws it away); Root is untouched",
			what, status, name, name);
	else
		set_outcome(u, true,
			    "%s (exit %d) in %s: discarded; Root is untouched",
			    what, status, name);
	return step_abandon(ctx, &u->run, what, status);
}

/* Whether the world has every archive unattended-upgrade could install
 * without a network.  Its allowed origins may pick another version than
 * apt's candidate, so apt's plan cannot tell: every version newer than an
 * installed one counts, and every version of every package that could
 * satisfy a dependency of theirs that nothing installed does for good
 * (aptshim_plan_any_upgrade()).  When apt cannot say, the download runs. */
static bool nothing_to_fetch(struct context *ctx, struct unattended *u)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return false;
	struct aptshim_plan p = {0};
	struct aptshim_error ae = {0};
	int r = apt_plan(s, u->run.t.name, APT_ANY_UPGRADE, NULL, 0, &p, &ae);
	world_store_free(s);
	/* Archives, not bytes: a version without a Size: field has 0. */
	bool none = r >= 0 && p.fetch_archives == 0 && p.fetch_size == 0;
	apt_plan_release(&p);
	return none;
}

/* Whether Root's note asks for the download.  A note that cannot be read
 * asks for it: a download too many costs only time. */
static bool download_noted(struct context *ctx)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return true;
	_cleanup_free_ char *text = NULL;
	struct world_error err = {0};
	int r = world_note_read(s, WORLD_ROOT, download_note, &text, NULL,
				&err);
	world_store_free(s);
	return r != -ENOENT && (r < 0 || text[0]);
}

/* Writes Root's note (TEXT "skipped", or "" to forget it), durably; ERR
 * says why not. */
static int note_download(struct context *ctx, const char *text,
			 struct world_error *err)
{
	struct world_store *s = open_store(ctx);
	if (!s) {
		snprintf(err->msg, sizeof(err->msg), "cannot open the store");
		return -EIO;
	}
	int r = world_note_write(s, WORLD_ROOT, download_note, text,
				 strlen(text), err);
	world_store_free(s);
	if (r < 0)
		failf(ctx, "%s", SHOWN(err->msg));
	return r;
}

/* unattended-upgrade --download-only with the host's network, unless
 * nothing is to be fetched and no earlier run's install failed after its
 * download was skipped. */
static int download(struct context *ctx, struct unattended *u)
{
	int status = 0;
	u->noted = download_noted(ctx);
	if (u->noted) {
		fprintf(chatter(ctx),
			"An earlier run failed after its download was "
			"skipped: this one downloads.\n");
	} else if (nothing_to_fetch(ctx, u)) {
		u->skipped = true;
		fprintf(chatter(ctx),
			"Nothing to download: every archive an upgrade could "
			"install is in the archive cache or on a file: "
			"source.\n");
		return GO_ON;
	}
	fprintf(chatter(ctx), "Downloading with the host's network...\n");
	if (txn_set_phase(ctx, &u->run.t, TXN_DOWNLOADING, NULL) < 0 ||
	    run_uu(ctx, u, "--download-only", true, &status) < 0)
		return failed(ctx, u, "pwapt failed", status);
	if (status)
		return failed(ctx, u,
			      "unattended-upgrade --download-only failed",
			      status);
	return GO_ON;
}

static int install(struct context *ctx, struct unattended *u)
{
	int status = 0;
	if (txn_set_phase(ctx, &u->run.t, TXN_INSTALLING, NULL) < 0 ||
	    run_uu(ctx, u, NULL, false, &status) < 0)
		return failed(ctx, u, "pwapt failed", status);
	if (status && u->skipped) {
		/* Written before the outcome is reported anywhere: a run
		 * killed after its report still leaves the note. */
		struct world_error ne = {0};
		bool noted = note_download(ctx, "skipped", &ne) >= 0;
		world_crash_point("unattended-noted");
		int r = failed(ctx, u, "unattended-upgrade failed", status);
		_cleanup_free_ char *was = steal_pointer(&u->outcome);
		char next[sizeof(ne.msg) + 64] = "the next run downloads";
		if (!noted)
			snprintf(next, sizeof(next),
				 "pwapt could not note it, and the next run "
				 "may skip it again (%s)",
				 SHOWN(ne.msg));
		set_outcome(u, true,
			    "%s; its download was skipped (every archive "
			    "seemed to be in the archive cache or on a file: "
			    "source): %s",
			    was ? was : "failed", next);
		if (noted)
			fprintf(chatter(ctx),
				"Its download was skipped: should an archive "
				"have been missing, the next run downloads it "
				"with the host's network.\n");
		return r;
	}
	if (status)
		return failed(ctx, u, "unattended-upgrade failed", status);
	return GO_ON;
}

/* The most of a dpkg status file read (Debian's whole archive installed
 * makes about 100 MiB). */
#define STATUS_MAX ((size_t)256 << 20)

/* The bytes of PATH in world NAME, or NULL (*len 0) when it cannot be
 * read. */
static char *slurp(struct world_store *s, const char *name, const char *path,
		   size_t *len)
{
	struct world_error err = {0};
	/* The world's file, looked at first: a FIFO or a device node in its
	 * place is never opened, a file past STATUS_MAX never read. */
	int at = world_open_in(s, name, path, O_PATH | O_CLOEXEC, &err), fd = -1;
	struct stat st;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", at);
	if (at >= 0 && fstat(at, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uintmax_t)st.st_size <= STATUS_MAX)
		fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (at >= 0)
		close(at);
	*len = 0;
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	if (!m)
		return NULL;
	char chunk[65536];
	size_t got, all = 0;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
	       (all += got) <= STATUS_MAX)
		fwrite(chunk, 1, got, m);
	if (fclose(m) != 0 || all > STATUS_MAX) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Nothing upgraded (dpkg's status as the parent's): discarded. */
static int changed(struct context *ctx, struct unattended *u)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return EXIT_FAIL;
	size_t a = 0, b = 0;
	const char *status = "var/lib/dpkg/status";
	_cleanup_free_ char *mine = slurp(s, u->run.t.name, status, &a);
	_cleanup_free_ char *theirs = slurp(s, u->run.t.parent, status, &b);
	world_store_free(s);
	if (!mine || !theirs || a != b || memcmp(mine, theirs, a))
		return GO_ON;
	fprintf(chatter(ctx), "Nothing to upgrade: %s is discarded.\n",
		u->run.t.name);
	set_outcome(u, false, "nothing to upgrade");
	(void)txn_delete_world(ctx, u->run.t.name);
	return EXIT_OK;
}

static int test(struct context *ctx, struct unattended *u)
{
	return step_test(ctx, &u->run);
}

static int report(struct context *ctx, struct unattended *u)
{
	FILE *text = open_memstream(&u->text_buf, &u->text_len);
	FILE *json =
		ctx->json ? open_memstream(&u->json_buf, &u->json_len) : NULL;
	u->run.report_out = json;
	u->run.report_copy = text;
	int r = step_report(ctx, &u->run);
	u->run.report_out = u->run.report_copy = NULL;
	if (json)
		fclose(json);
	if (text)
		fclose(text);
	return r;
}

static int finish(struct context *ctx, struct unattended *u)
{
	const char *name = u->run.t.name;
	FILE *f = chatter(ctx);
	if (!u->run.passed) {
		if (!u->run.keep && txn_delete_world(ctx, name) >= 0) {
			fprintf(f,
				"Tests failed: nothing is merged; %s is "
				"discarded, Root is untouched.\n",
				name);
			set_outcome(u, true,
				    "tests failed in %s: discarded; "
				    "Root is untouched",
				    name);
		} else {
			fprintf(f,
				"Tests failed: nothing is merged; %s is kept "
				"for a look (wconsole %s), pwapt discard %s "
				"throws it away.\n",
				name, name, name);
			set_outcome(u, true,
				    "tests failed in %s: kept for a "
				    "look; Root is untouched",
				    name);
		}
		return EXIT_TESTS_FAILED;
	}
	if (u->run.conflicts) {
		fprintf(f,
			"Conflicts with Root: nothing is merged; %s is kept "
			"(pwapt merge --force %s overwrites Root's changes).\n",
			name, name);
		set_outcome(u, true, "%s conflicts with Root: kept, not merged",
			    name);
		return EXIT_CONFLICTS;
	}
	struct world_error why = {0};
	int r = merge_chain(ctx, name, false, &why);
	if (r == EXIT_OK)
		set_outcome(u, false, "merged %s into Root", name);
	else if (why.msg[0])
		set_outcome(u, true, "%s", why.msg);
	else /* write_log() and the mail add the exit status */
		set_outcome(u, true, "merging %s into Root failed", name);
	return r;
}

/* Root's /var/log/pwapt/unattended.log gets the run's record, appended;
 * the directory is made when missing.  Says why not. */
static void write_log(struct context *ctx, struct unattended *u, int ret)
{
	struct world_store *s = open_store(ctx);
	if (!s)
		return;
	struct world_error err = {0};
	_cleanup_close_ int log =
		world_open_in(s, WORLD_ROOT, "var/log",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC, &err);
	world_store_free(s);
	if (log >= 0 && mkdirat(log, "pwapt", 0755) < 0 && errno != EEXIST)
		log = -1;
	_cleanup_close_ int dir =
		log >= 0 ? openat(log, "pwapt",
				  O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					  O_CLOEXEC)
			 : -1;
	int fd = dir >= 0 ? openat(dir, "unattended.log",
				   O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
					   O_CLOEXEC,
				   0640)
			  : -1;
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		failf(ctx,
		      "cannot write Root's /var/log/pwapt/unattended.log: "
		      "%s",
		      strerror(errno));
		return;
	}
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		 localtime_r(&now, &tm));
	fprintf(f, "%s pwapt unattended: %s (exit %d)\n", when,
		u->outcome ? u->outcome : "failed", ret);
	put_earlier(f, u);
	if (u->text_buf)
		fputs(u->text_buf, f);
}

/* Whether Unattended-Upgrade::MailReport (or the older MailOnlyOnError)
 * asks for a mail on this outcome; unattended-upgrade's default is
 * on-change. */
static bool mail_wanted(const struct unattended *u)
{
	const char *when = u->set.report;
	if (!when || !*when)
		when = u->set.only_on_error &&
				       !strcmp(u->set.only_on_error, "true")
			       ? "only-on-error"
			       : "on-change";
	if (!strcmp(when, "always") || u->earlier)
		return true;
	if (!strcmp(when, "only-on-error"))
		return u->error;
	return u->error || u->run.changed > 0;
}

/* An address sendmail takes as one: no option, no space, no header. */
static bool plain_address(const char *a)
{
	if (!*a || *a == '-')
		return false;
	for (; *a; a++)
		if ((unsigned char)*a <= ' ' || *a == ',' || *a == 0x7f)
			return false;
	return true;
}

/* The mail, with the host's sendmail ($PWAPT_SENDMAIL for the tests). */
static void send_mail(struct context *ctx, struct unattended *u, int ret)
{
	const char *to = u->set.mail;
	if (!to || !*to || !mail_wanted(u))
		return;
	FILE *f = chatter(ctx);
	if (!plain_address(to)) {
		failf(ctx,
		      "Unattended-Upgrade::Mail '%s' is not an address: "
		      "no mail sent",
		      to);
		return;
	}
	const char *sendmail = getenv("PWAPT_SENDMAIL");
	if (!sendmail || !*sendmail)
		sendmail = "/usr/sbin/sendmail";
	if (access(sendmail, X_OK) < 0) {
		fprintf(f, "No mail to %s: %s is not there.\n", to, sendmail);
		return;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[0], STDIN_FILENO);
		execl(sendmail, "sendmail", "-oi", "--", to, (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	FILE *m = pid > 0 ? fdopen(pipefd[1], "w") : NULL;
	if (!m) {
		close(pipefd[1]);
	} else {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		fprintf(m,
			"To: %s\nSubject: pwapt unattended on %s: %s\n"
			"Content-Type: text/plain; charset=utf-8\n\n"
			"%s (exit %d).\n\n",
			to, host,
			u->error     ? "FAILED"
			: u->earlier ? "done, services need you"
				     : "done",
			u->outcome ? u->outcome : "failed", ret);
		put_earlier(m, u);
		fputs(u->text_buf ? u->text_buf : "", m);
		fclose(m);
	}
	int status = -1;
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (status == 0)
		fprintf(f, "Mailed the report to %s.\n", to);
	else
		failf(ctx, "%s could not send the mail to %s", sendmail, to);
}

static void print_json(struct unattended *u, int ret)
{
	printf("{\"outcome\":");
	json_string(stdout, u->outcome ? u->outcome : "failed");
	printf(",\"exit\":%d,\"transaction\":", ret);
	if (u->began)
		json_string(stdout, u->run.t.name);
	else
		printf("null");
	printf(",\"earlier_unchecked\":");
	if (u->earlier)
		json_string(stdout, u->earlier);
	else
		printf("null");
	printf(",\"report\":%s}\n", u->json_buf ? u->json_buf : "null");
}

int cmd_unattended(struct context *ctx, int argc, char **argv)
{
	struct unattended u = {0};
	const struct cmd_option options[] = {
		OPT_FLAG("json", &ctx->json,
			 "  --json               the outcome and the report as "
			 "JSON"),
		OPT_FLAG("check", &u.check,
			 "  --check              say whether pwapt.conf turns "
			 "it on (on, off)"),
		OPT_END,
	};
	static const struct cmd_usage usage = {.synopsis = "[--json] [--check]",
					       .man = "pwapt-unattended"};
	int r = parse_options(ctx, &argc, &argv, options, &usage);
	if (r != OPTIONS_PARSED)
		return r;
	u.run.verb = "unattended";
	u.run.yes = true;
	u.run.merge_on_success = true;
	u.run.keep = !ctx->unattended_discard;
	u.run.keep_why = "pwapt.conf: unattended-failure = keep";
	static int (*const steps[])(struct context *, struct unattended *) = {
		check,	 earlier, settings, begin,  download,
		install, changed, test,	    report, finish};
	int ret = GO_ON;
	for (size_t i = 0; ret == GO_ON && i < sizeof(steps) / sizeof(*steps);
	     i++)
		ret = steps[i](ctx, &u);
	if (ret == GO_ON)
		ret = EXIT_OK;
	/* A run that downloaded and succeeded: the archives came, the note
	 * has done its work. */
	struct world_error ne = {0};
	if (ret == EXIT_OK && u.noted)
		(void)note_download(ctx, "", &ne);
	if (u.began) {
		if (!u.outcome)
			set_outcome(&u, true, "failed in %s", u.run.t.name);
		write_log(ctx, &u, ret);
		send_mail(ctx, &u, ret);
	}
	if (ctx->json && !u.check)
		print_json(&u, ret);
	run_release(&u.run);
	free(u.set.periodic);
	free(u.set.mail);
	free(u.set.report);
	free(u.set.only_on_error);
	free(u.outcome);
	free(u.earlier);
	free(u.json_buf);
	free(u.text_buf);
	return ret;
}
