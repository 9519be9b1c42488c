/* Scope-bound clean-up, in the manner of systemd's alloc-util.h.
 *
 * A variable declared with one of these attributes is released when it goes
 * out of scope.  Every release function accepts NULL (or -1 for fds), so a
 * variable may be declared early and filled later.  steal_pointer() and
 * steal_fd() hand ownership on and leave the variable empty. */
#ifndef PWAPT_CLEANUP_H
#define PWAPT_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Each closes what it is given once: the variable is reset, so that a
 * second call (an early close, then the cleanup) never closes a number
 * that meanwhile belongs to another open file. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
	*d = NULL;
}

static inline void strvfreep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_(f)	    __attribute__((cleanup(f)))
#define _cleanup_free_	    _cleanup_(freep)
#define _cleanup_close_	    _cleanup_(closep)
#define _cleanup_fclose_    _cleanup_(fclosep)
#define _cleanup_closedir_  _cleanup_(closedirp)
#define _cleanup_strv_free_ _cleanup_(strvfreep)

#define steal_pointer(pp)                        \
	({                                       \
		__typeof__(*(pp)) _ptr_ = *(pp); \
		*(pp) = NULL;                    \
		_ptr_;                           \
	})

#define steal_fd(fdp)              \
	({                         \
		int _fd_ = *(fdp); \
		*(fdp) = -1;       \
		_fd_;              \
	})

#endif
