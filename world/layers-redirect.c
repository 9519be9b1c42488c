/* Whether worlds are mounted with redirect_dir=on (see layers.h).
 *
 * With "redirect_dir=on" overlayfs renames a directory of a lower layer by
 * making the new name in the upper layer, with an xattr
 * trusted.overlay.redirect naming where its lower contents are, and a
 * whiteout at the old name: O(1), where the plain-tree default copies every
 * file up (Documentation/filesystems/overlayfs.rst, "Redirect dir").  An
 * upper file system without trusted xattrs (or a kernel built without it)
 * cannot: so a probe mount in the state directory asks once, renaming a
 * lower directory and looking for the xattr, and STATE/overlay-redirect
 * keeps the answer, "on" or "off", for every later command.  The answer
 * must stay the same for the life of the worlds: a layer that holds
 * redirects, mounted without them, shows a renamed directory empty. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "crash.h"
#include "error.h"
#include "fsutil.h"
#include "layers.h"

#define REDIRECT_RECORD "overlay-redirect"
#define PROBE_DIR "overlay-redirect.probe"

/* Mounts an overlay of PROBE/lower at PROBE/merged with redirect_dir=on,
 * renames a lower directory in it and tells whether the upper layer
 * recorded the rename: 1 yes, 0 no. */
static int probe_in(const char *probe)
{
	_cleanup_free_ char *lower = path_join(probe, "lower"),
			    *upper = path_join(probe, "upper"),
			    *work = path_join(probe, "work"),
			    *merged = path_join(probe, "merged"),
			    *from = lower ? path_join(lower, "d") : NULL;
	if (!lower || !upper || !work || !merged || !from)
		return 0;
	if (mkdir(probe, 0700) < 0 || mkdir(lower, 0700) < 0 ||
	    mkdir(upper, 0700) < 0 || mkdir(work, 0700) < 0 ||
	    mkdir(merged, 0700) < 0 || mkdir(from, 0700) < 0)
		return 0;
	/* Mounted as a world's layers are (their paths escaped). */
	char *const lowers[] = {lower, NULL};
	struct world_error e = {0};
	if (crash_fail("mount-redirect", EINVAL) < 0 ||
	    layers_mount(lowers, upper, work, merged, LAYERS_REDIRECT, &e) < 0)
		return 0;
	crash_point("probe-redirect");
	_cleanup_close_ int m =
		open(merged, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int u =
		open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool on = m >= 0 && u >= 0 && renameat(m, "d", m, "e") == 0;
	if (on) {
		char proc[64], val[8];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d/e", u);
		on = lgetxattr(proc, "trusted.overlay.redirect", val,
			       sizeof(val)) > 0;
	}
	(void)umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW);
	return on;
}

int layers_redirect_dir(struct world_store *s)
{
	static int known = -1; /* this process asked already */
	if (known >= 0)
		return known;
	char buf[8] = "";
	_cleanup_close_ int fd = openat(s->state_fd, REDIRECT_RECORD,
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0 && (!strncmp(buf, "on\n", 3) ||
			      !strncmp(buf, "off\n", 4)))
			return known = buf[1] == 'n';
	}
	/* Not asked yet (or a record torn): the probe decides. */
	_cleanup_free_ char *probe = path_join(s->state, PROBE_DIR);
	if (!probe)
		return 0; /* asked again by the next command */
	/* A probe killed while mounted left its mount: gone first. */
	_cleanup_free_ char *merged = path_join(probe, "merged");
	if (!merged)
		return 0;
	(void)umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW);
	(void)rm_rf_at(s->state_fd, PROBE_DIR);
	int on = probe_in(probe);
	(void)rm_rf_at(s->state_fd, PROBE_DIR);
	if (write_file_atomic(s->state_fd, REDIRECT_RECORD,
			      on ? "on\n" : "off\n", on ? 3 : 4, 0644) < 0)
		return known = 0; /* unrecorded: plain, as the worlds are */
	return known = on;
}
