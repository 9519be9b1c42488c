/* The confinement of a child world's container (container-confine.h).
 *
 * A world's root is the host's root in a container: no user namespace,
 * CAP_SYS_ADMIN and CAP_MKNOD kept (mounts, dpkg, systemd need them), and
 * CAP_DAC_READ_SEARCH too: a unit with AmbientCapabilities= of it would
 * not start in a world whose bounding set lacks it.  Two ways lead from
 * there to the host's file systems, and LXC's own defaults (common.conf,
 * common.seccomp) close both; pwapt writes its containers' configuration
 * itself, so it sets the same items here:
 *  - open_by_handle_at() turns a handle built by hand (the root
 *    directory's inode number) and any file of a host file system in the
 *    world, such as the bind-mounted pwapt-init, into a descriptor of
 *    that file system's root ("shocker"): refused by seccomp;
 *  - a device node of the host's disk, made with mknod, reads and writes
 *    (or mounts) the disk: the device cgroup lets a world make any node
 *    but open only those a fresh /dev holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "container-confine.h"
#include "fsutil.h"

/* LXC's common.seccomp: the calls no container needs.  init_module and
 * the like are refused by the dropped CAP_SYS_MODULE already.  Beyond it:
 * bpf() and perf_event_open(), with which a world's root would load
 * tracing programs that read the kernel's memory (systemd in a world
 * runs without its BPF features). */
static const char seccomp_profile[] = "2\n"
				      "denylist\n"
				      "reject_force_umount\n"
				      "[all]\n"
				      "kexec_load errno 1\n"
				      "open_by_handle_at errno 1\n"
				      "init_module errno 1\n"
				      "finit_module errno 1\n"
				      "delete_module errno 1\n"
				      "bpf errno 1\n"
				      "perf_event_open errno 1\n";
#define SECCOMP_FILE "world.seccomp"

/* LXC's common.conf: any node may be made ("m"), the ones of a fresh /dev
 * opened (null, zero, full, random, urandom, tty, console, ptmx, the
 * pseudo-terminals, fuse).  No block device at all. */
static const char *const device_rules[][2] = {
	{"deny", "a"},
	{"allow", "c *:* m"},
	{"allow", "b *:* m"},
	{"allow", "c 1:3 rwm"},
	{"allow", "c 1:5 rwm"},
	{"allow", "c 1:7 rwm"},
	{"allow", "c 1:8 rwm"},
	{"allow", "c 1:9 rwm"},
	{"allow", "c 5:0 rwm"},
	{"allow", "c 5:1 rwm"},
	{"allow", "c 5:2 rwm"},
	{"allow", "c 136:* rwm"},
	{"allow", "c 10:229 rwm"},
};

static int confine_item(struct lxc_container *c, const char *key,
			const char *value, struct world_error *err)
{
	if (!c->set_config_item(c, key, value))
		return werr(err, EINVAL, "liblxc rejected %s = %s", key, value);
	return 0;
}

int container_confine(struct lxc_container *c, struct world_store *s,
		      struct world_error *err)
{
	/* Written at every start: a profile lost or changed since (by
	 * hand) is whole again.  The temporary name is the process's own,
	 * so two commands starting worlds at once do not meet. */
	int r = write_file_replace(s->state_fd, SECCOMP_FILE, seccomp_profile,
				   sizeof(seccomp_profile) - 1, 0644);
	if (r < 0)
		return werr_errno(err, -r, "cannot write %s/%s", s->state,
				  SECCOMP_FILE);
	_cleanup_free_ char *profile = path_join(s->state, SECCOMP_FILE);
	if (!profile)
		return werr(err, ENOMEM, "out of memory");
	if ((r = confine_item(c, "lxc.seccomp.profile", profile, err)) < 0)
		return r;
	/* Both hierarchies' keys, as common.conf sets them: liblxc applies
	 * v1's where the devices controller is on a v1 hierarchy, v2's (a
	 * BPF program) on a pure cgroup2 host, where it ignores v1's. */
	static const char *const prefix[] = {"lxc.cgroup.devices.",
					     "lxc.cgroup2.devices."};
	for (size_t p = 0; p < 2; p++)
		for (size_t i = 0;
		     i < sizeof(device_rules) / sizeof(device_rules[0]); i++) {
			char key[64];
			snprintf(key, sizeof(key), "%s%s", prefix[p],
				 device_rules[i][0]);
			r = confine_item(c, key, device_rules[i][1], err);
			if (r < 0)
				return r;
		}
	return 0;
}
