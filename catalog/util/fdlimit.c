/*
 * fdlimit.c: raising the soft open-file limit (fdlimit.h).
 */
#include "catalog/util/fdlimit.h"

#include <errno.h>
#include <sys/resource.h>

int fdlimit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur == rl.rlim_max)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return 1;
}

int fdlimit_reserve(size_t in_use, size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur == RLIM_INFINITY ||
	    (rlim_t)in_use + (rlim_t)need <= rl.rlim_cur)
		return 0;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)in_use + (rlim_t)need > rl.rlim_cur)
		return -EMFILE;
	return 0;
}

void fdlimit_get(unsigned long *soft, unsigned long *hard)
{
	struct rlimit rl;

	*soft = *hard = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	*soft = rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 :
					       (unsigned long)rl.rlim_cur;
	*hard = rl.rlim_max == RLIM_INFINITY ? (unsigned long)-1 :
					       (unsigned long)rl.rlim_max;
}
