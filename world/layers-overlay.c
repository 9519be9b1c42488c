/* One overlay mount of a world's layers (layers_mount(): layers.h): the
 * options that keep a layer a plain tree, through the new mount API
 * (fsconfig, one call a layer) or, on kernels before 6.8, the one option
 * string of mount(2); the layers' paths escaped as overlayfs reads each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "layers.h"

/* The longest string fsconfig(2) takes, its NUL included. */
#define FSCONFIG_STRING_MAX 256

/* The kernel explains a refused overlay mount in the fs context's log
 * ("e overlay: ..."); that sentence is what the administrator needs. */
static void read_fs_log(int fsfd, char *buf, size_t size)
{
	buf[0] = '\0';
	char line[512];
	ssize_t n;
	while ((n = read(fsfd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		const char *text = n > 2 && line[1] == ' ' ? line + 2 : line;
		snprintf(buf, size, "%s", text);
	}
	size_t l = strlen(buf);
	while (l && buf[l - 1] == '\n')
		buf[--l] = '\0';
}

/* Options that would make a layer more than a plain tree (README,
 * "Layers"); redirect_dir is "on" where the kernel records renamed
 * directories (layers_redirect_dir()). */
static const char *const plain_tree_options[][2] = {
	{"redirect_dir", "off"},
	{"index", "off"},
	{"metacopy", "off"},
};

static const char *option_value(size_t k, bool redirect)
{
	return redirect && !strcmp(plain_tree_options[k][0], "redirect_dir")
		       ? "on"
		       : plain_tree_options[k][1];
}

/* Whether this kernel's overlayfs takes "volatile": 1 yes, 0 no, -1 not
 * asked yet.  Asked by the first mount that wants it. */
static int volatile_known = -1;

char *layers_escape(const char *p, const char *chars)
{
	char *out = malloc(2 * strlen(p) + 1), *o = out;
	for (; out && *p; *o++ = *p++)
		if (strchr(chars, *p))
			*o++ = '\\';
	if (out)
		*o = '\0';
	return out;
}

static int mount_new_api(char *const *lowers, const char *upper,
			 const char *work, const char *merged, bool *no_sync,
			 bool redirect, struct world_error *err)
{
	/* Unlike lowerdir+, these two are unescaped by overlayfs. */
	_cleanup_free_ char *up = layers_escape(upper, "\\"),
			    *wo = layers_escape(work, "\\");
	if (!up || !wo)
		return werr(err, ENOMEM, "out of memory");
	/* fsconfig takes a string of at most 256 bytes; the one option
	 * string of mount(2) takes a page. */
	bool fits = strlen(up) < FSCONFIG_STRING_MAX &&
		    strlen(wo) < FSCONFIG_STRING_MAX;
	for (size_t i = 0; fits && lowers[i]; i++)
		fits = strlen(lowers[i]) < FSCONFIG_STRING_MAX;
	/* PWAPT_FAIL_AT=mount-new-api: a kernel before 6.8. */
	_cleanup_close_ int fsfd = !fits || crash_fail("mount-new-api", ENOSYS)
					   ? -1
					   : fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return -ENOSYS;
	char log[512];
	/* A kernel before 6.8 has no lowerdir+: the option string then. */
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[0], 0) < 0)
		return -ENOSYS;
	size_t i;
	for (i = 1; lowers[i]; i++) {
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i],
			     0) < 0) {
			int e = errno;
			read_fs_log(fsfd, log, sizeof(log));
			return werr(err, e, "cannot stack layer %zu (%s): %s",
				    i + 1, lowers[i],
				    log[0] ? log : strerror(e));
		}
	}
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", wo, 0) < 0) {
		int e = errno;
		read_fs_log(fsfd, log, sizeof(log));
		return werr(err, e, "cannot use layer %s: %s", upper,
			    log[0] ? log : strerror(e));
	}
	for (size_t k = 0;
	     k < sizeof(plain_tree_options) / sizeof(plain_tree_options[0]);
	     k++)
		(void)fsconfig(fsfd, FSCONFIG_SET_STRING,
			       plain_tree_options[k][0],
			       option_value(k, redirect), 0);
	if (*no_sync && volatile_known != 0) {
		/* PWAPT_FAIL_AT=mount-volatile: a kernel without it. */
		volatile_known = !crash_fail("mount-volatile", EINVAL) &&
				 fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile",
					  NULL, 0) == 0;
		*no_sync = volatile_known;
	} else {
		*no_sync = false;
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		read_fs_log(fsfd, log, sizeof(log));
		return werr(err, e, "overlayfs refused %zu layers: %s", i,
			    log[0] ? log : strerror(e));
	}
	_cleanup_close_ int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return werr_errno(err, errno, "cannot create overlay mount");
	if (move_mount(mfd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return werr_errno(err, errno, "cannot attach overlay at %s",
				  merged);
	return 0;
}

/* Kernels before 6.8 (Debian 12's 6.1) take the lower stack as one option
 * string, limited to a page, its separators escaped. */
static int mount_legacy(char *const *lowers, const char *upper,
			const char *work, const char *merged, bool *no_sync,
			bool redirect, struct world_error *err)
{
	_cleanup_free_ char *opts = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&opts, &len);
	bool ok = f != NULL;
	for (size_t i = 0; ok && lowers[i]; i++) {
		_cleanup_free_ char *e = layers_escape(lowers[i], ":,\\");
		ok = e && fprintf(f, "%s%s", i ? ":" : "lowerdir=", e) > 0;
	}
	_cleanup_free_ char *up = layers_escape(upper, ":,\\"),
			    *wo = layers_escape(work, ":,\\");
	ok = ok && up && wo &&
	     fprintf(f, ",upperdir=%s,workdir=%s", up, wo) > 0;
	for (size_t k = 0; ok && k < sizeof(plain_tree_options) /
						 sizeof(plain_tree_options[0]);
	     k++)
		ok = fprintf(f, ",%s=%s", plain_tree_options[k][0],
			     option_value(k, redirect)) > 0;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		return werr(err, ENOMEM, "out of memory");
	long page = sysconf(_SC_PAGESIZE);
	if ((long)(len + sizeof(",volatile")) > page)
		return werr(err, E2BIG,
			    "the layer stack is too long for this kernel's "
			    "overlay mount options (%zu bytes, limit %ld)",
			    len, page - (long)sizeof(",volatile"));
	/* A kernel that does not know "volatile" refuses the whole mount
	 * (EINVAL): then it is mounted plain. */
	if (*no_sync && volatile_known != 0) {
		_cleanup_free_ char *v = NULL;
		if (asprintf(&v, "%s,volatile", opts) < 0)
			return werr(err, ENOMEM, "out of memory");
		if (mount("overlay", merged, "overlay", 0, v) == 0) {
			volatile_known = 1;
			return 0;
		}
		if (errno != EINVAL)
			return werr_errno(err, errno,
					  "cannot mount overlay at %s", merged);
		volatile_known = 0;
	}
	*no_sync = false;
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		return werr_errno(err, errno, "cannot mount overlay at %s",
				  merged);
	return 0;
}

int layers_mount(char *const *lowers, const char *upper, const char *work,
		 const char *merged, unsigned flags, struct world_error *err)
{
	bool no_sync = flags & LAYERS_VOLATILE, v = no_sync,
	     redirect = flags & LAYERS_REDIRECT;
	int r = mount_new_api(lowers, upper, work, merged, &v, redirect, err);
	if (r == -ENOSYS) {
		v = no_sync;
		r = mount_legacy(lowers, upper, work, merged, &v, redirect,
				 err);
	}
	return r < 0 ? r : v;
}
