/* pwapt-init: PID 1 of every world's container.
 *
 * A world's tree may hold any system (a busybox tree, Debian, a half-broken
 * upgrade), so its container must not depend on the tree's own init.  This
 * program is linked statically, bind-mounted read-only onto the world's
 * fresh /run, and does only what a PID 1 must: it reaps orphans (daemons
 * started with wexec live on under it) and, asked to stop, passes SIGTERM on
 * to everything and exits.  It runs no code from the world. */
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The world's network namespace starts with its loopback down; services
 * in a world expect 127.0.0.1 to work as it does on any system. */
static void loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

static void nothing(int sig)
{
	(void)sig;
}

int main(void)
{
	/* Blocking every signal and never exiting is right for PID 1 of a
	 * container and wrong anywhere else. */
	if (getpid() != 1) {
		static const char msg[] = "pwapt-init: runs only as PID 1 of a "
					  "world's container\n";
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		return 2;
	}
	loopback_up();
	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* PID 1 drops signals whose disposition is the default; a handler
	 * makes SIGTERM and SIGPWR (lxc's "halt") reach sigwaitinfo(). */
	struct sigaction sa = {.sa_handler = nothing};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPWR, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);

	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&set, &info);
		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		} else if (sig == SIGTERM || sig == SIGPWR || sig == SIGINT) {
			kill(-1, SIGTERM);
			while (wait(NULL) > 0)
				;
			_exit(0);
		}
	}
}
