/*
 * reload.c: live reload of the source.
 *
 * One watcher thread waits on three descriptors: an inotify watch on the
 * directory that holds the source (so that a new file renamed over it, or
 * written in place, is noticed; a watch on the file itself would follow
 * the old inode), a signalfd for SIGHUP, and an eventfd that stops it.
 * File events are debounced (a copy in progress produces many), then a new
 * generation is built in this thread while the mount keeps serving the
 * old one.  On success it is swapped in and the kernel's caches for the
 * root are invalidated; on failure the old generation stays and the error
 * goes to the log and status.json.
 *
 * Not here: generation lifetimes (gen.c), what is invalidated (ops.c).
 */
#include "fs/fs.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "catalog/util/log.h"

struct aerofs_reload {
	pthread_t thread;
	int inotify_fd;
	int signal_fd;
	int stop_fd;
	char *dir;  /* directory of the source */
	char *name; /* its last component */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Same file, same bytes as far as stat(2) can tell. */
static bool same_file(const struct stat *x, const struct stat *y)
{
	return x->st_dev == y->st_dev && x->st_ino == y->st_ino &&
	       x->st_size == y->st_size &&
	       x->st_mtim.tv_sec == y->st_mtim.tv_sec &&
	       x->st_mtim.tv_nsec == y->st_mtim.tv_nsec;
}

bool aerofs_build_should_stop(void *ctx)
{
	struct aerofs *a = ctx;
	struct stat st;

	if (atomic_load(&a->cancel_builds))
		return true;
	/* A source gone for now is not a newer one: the build goes on with
	 * the file it has open, and the watcher hears what comes next. */
	return a->reloading && stat(a->source, &st) == 0 &&
	       !same_file(&st, &a->reload_st);
}

int aerofs_reload_now(struct aerofs *a)
{
	struct aero_error err = { 0 };
	struct aerofs_gen *g, *old;
	int r;

	log_msg(LOG_LEVEL_INFO, "reloading %s", a->source);
	a->reloading = stat(a->source, &a->reload_st) == 0;
	r = aerofs_gen_build(a, false, &g, &err);
	a->reloading = false;
	if (r == -ECANCELED) {
		/* Not a failure of the source: the daemon is stopping, or a
		 * newer source came, whose event the watcher reads next. */
		log_msg(LOG_LEVEL_INFO, "reload abandoned: %s",
			atomic_load(&a->cancel_builds) ?
				"shutting down" :
				"the source changed again");
		return r;
	}
	if (r < 0) {
		atomic_fetch_add_explicit(&a->n.reloads_failed, 1,
					  memory_order_relaxed);
		log_msg(LOG_LEVEL_ERR,
			"reload failed, still serving the previous pack: %s",
			err.msg);
		aerofs_set_reload_error(a, err.msg);
		return r;
	}
	aerofs_gen_hash_start(a, g);
	old = aerofs_gen_install(a, g);
	aerofs_invalidate(a, old, g);
	aerofs_gen_announce(a, g);
	aerofs_gen_put(a, old, 1);
	log_msg(LOG_LEVEL_NOTICE, "%s: serving generation %u", a->source,
		(unsigned)g->id);
	return 0;
}

/* True if the inotify events in BUF name our source. */
static bool events_match(const struct aerofs_reload *rl, const char *buf,
			 ssize_t len)
{
	const struct inotify_event *ev;
	bool hit = false;
	ssize_t pos;

	for (pos = 0; pos < len;
	     pos += (ssize_t)sizeof(*ev) + (ssize_t)ev->len) {
		ev = (const struct inotify_event *)(buf + pos);
		if (ev->mask & IN_Q_OVERFLOW)
			hit = true; /* lost events: check anyway */
		else if (ev->len && strcmp(ev->name, rl->name) == 0)
			hit = true;
	}
	return hit;
}

static void *reload_thread(void *arg)
{
	struct aerofs *a = arg;
	struct aerofs_reload *rl = a->reload;
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t due = -1; /* when to rebuild; -1: nothing pending */

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = rl->stop_fd, .events = POLLIN },
			{ .fd = rl->signal_fd, .events = POLLIN },
			{ .fd = rl->inotify_fd, .events = POLLIN },
		};
		int timeout = -1, n;

		if (due >= 0) {
			int64_t left = due - now_ms();

			timeout = left < 0	 ? 0 :
				  left > INT_MAX ? INT_MAX :
						   (int)left;
		}
		n = poll(pfd, rl->inotify_fd >= 0 ? 3 : 2, timeout);
		if (n < 0 && errno != EINTR) {
			log_msg(LOG_LEVEL_ERR, "reload watcher: poll: %s",
				strerror(errno));
			break;
		}
		if (n > 0 && pfd[0].revents)
			break;
		if (n > 0 && pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(rl->signal_fd, &si, sizeof(si)) ==
			    (ssize_t)sizeof(si)) {
				log_msg(LOG_LEVEL_NOTICE,
					"SIGHUP: reloading %s", a->source);
				due = now_ms();
			}
		}
		if (n > 0 && rl->inotify_fd >= 0 && pfd[2].revents) {
			ssize_t len = read(rl->inotify_fd, buf, sizeof(buf));

			if (len > 0 && events_match(rl, buf, len))
				due = now_ms() + a->debounce_ms;
		}
		if (due >= 0 && now_ms() >= due) {
			due = -1;
			aerofs_reload_now(a);
		}
	}
	return NULL;
}

static void reload_free(struct aerofs_reload *rl)
{
	if (!rl)
		return;
	if (rl->inotify_fd >= 0)
		close(rl->inotify_fd);
	if (rl->signal_fd >= 0)
		close(rl->signal_fd);
	if (rl->stop_fd >= 0)
		close(rl->stop_fd);
	free(rl->dir);
	free(rl->name);
	free(rl);
}

int aerofs_reload_start(struct aerofs *a)
{
	struct aerofs_reload *rl = calloc(1, sizeof(*rl));
	char *d = NULL, *b = NULL;
	sigset_t hup;
	int r;

	if (!rl)
		return -ENOMEM;
	rl->inotify_fd = rl->signal_fd = rl->stop_fd = -1;
	d = strdup(a->source);
	b = strdup(a->source);
	if (!d || !b) {
		r = -ENOMEM;
		goto fail;
	}
	rl->dir = strdup(dirname(d));
	rl->name = strdup(basename(b));
	if (!rl->dir || !rl->name) {
		r = -ENOMEM;
		goto fail;
	}
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	rl->signal_fd = signalfd(-1, &hup, SFD_CLOEXEC | SFD_NONBLOCK);
	rl->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rl->signal_fd < 0 || rl->stop_fd < 0) {
		r = -errno;
		goto fail;
	}
	rl->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (rl->inotify_fd < 0 ||
	    inotify_add_watch(rl->inotify_fd, rl->dir,
			      IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) < 0) {
		/* Not fatal: SIGHUP still reloads. */
		log_msg(LOG_LEVEL_WARNING,
			"cannot watch %s for a new source (%s); reload with "
			"SIGHUP",
			rl->dir, strerror(errno));
		if (rl->inotify_fd >= 0)
			close(rl->inotify_fd);
		rl->inotify_fd = -1;
	}
	a->reload = rl;
	r = -pthread_create(&rl->thread, NULL, reload_thread, a);
	if (r < 0) {
		a->reload = NULL;
		goto fail;
	}
	free(d);
	free(b);
	return 0;
fail:
	free(d);
	free(b);
	reload_free(rl);
	return r;
}

void aerofs_reload_stop(struct aerofs *a)
{
	struct aerofs_reload *rl = a->reload;
	uint64_t one = 1;

	if (!rl)
		return;
	/* A build in progress gives up at its next check instead of
	 * hashing a whole new source that will never be served. */
	atomic_store(&a->cancel_builds, true);
	if (write(rl->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_msg(LOG_LEVEL_ERR, "cannot stop the reload watcher: %s",
			strerror(errno));
	pthread_join(rl->thread, NULL);
	a->reload = NULL;
	reload_free(rl);
}
