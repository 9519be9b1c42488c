/* The file systems a world's container mounts over its tree
 * (container_set_mounts(): container-mounts.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "container-mounts.h"

/* PATH as a field of an fstab(5) line, which liblxc reads with
 * getmntent(3): blanks, newlines and backslashes as octal escapes. */
static char *fstab_field(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(4 * n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = path; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\\')
			o += sprintf(o, "\\%03o", (unsigned char)*p);
		else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

int container_set_mounts(struct lxc_container *c, struct world_store *s,
			 bool systemd, const char *init,
			 struct world_error *err)
{
	_cleanup_free_ char *init_entry = NULL, *hide = NULL,
			    *init_field = NULL, *hidden_field = NULL;
	const char *hidden = store_state_in_root(s);
	if (hidden &&
	    (!(hidden_field = fstab_field(hidden + 1)) || /* rootfs' own */
	     asprintf(&hide, "tmpfs %s tmpfs ro,nosuid,nodev,noexec,mode=0 0 0",
		      hidden_field) < 0))
		return werr(err, ENOMEM, "out of memory");
	if (!systemd &&
	    (!(init_field = fstab_field(init)) ||
	     asprintf(&init_entry, "%s %s none bind,ro,create=file 0 0",
		      init_field, PWAPT_INIT_IN_TREE + 1) < 0))
		return werr(err, ENOMEM, "out of memory");
	/* In order: the state directory is covered before the fresh /run
	 * and /tmp, which may lie over it. */
	const char *const entries[] = {
		hide,
		"tmpfs run tmpfs rw,nosuid,nodev,mode=0755 0 0",
		init_entry,
		/* What a booted Debian's /run has and init scripts expect
		 * (apache2ctl makes /run/lock/apache2 in it); systemd
		 * mounts its own (run-lock.mount). */
		systemd ? NULL
			: "tmpfs run/lock tmpfs rw,nosuid,nodev,noexec,"
			  "mode=1777,size=5m,create=dir 0 0",
		"tmpfs tmp tmpfs rw,nosuid,nodev,mode=1777,optional 0 0",
	};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (entries[i] &&
		    !c->set_config_item(c, "lxc.mount.entry", entries[i]))
			return werr(err, EINVAL,
				    "liblxc rejected lxc.mount.entry = %s",
				    entries[i]);
	return 0;
}
