/*
 * gen.c: building generations and keeping them alive while the kernel or
 * a directory handle still refers to them (see fs.h).
 *
 * A generation's lifetime is one counter, refs, that sums the kernel's
 * lookup counts on its node ids (an open file keeps its node's), its open
 * directory handles and short holds taken by operations; the current
 * generation is also kept by its "current" flag.  The live list is short
 * (one, two while a reload overlaps open files), so lookups by id walk it
 * under the mutex.
 *
 * Each generation has a thread of its own, started when it is installed
 * (fs.h, struct aerofs_hash): it completes what the first generation left
 * out to be served sooner (the pack's digests, manifest.json, the image
 * layouts), then hashes the images: the SHA-256 of a whole image names
 * its content-addressed directory under .aerofs/images/, so nothing there
 * can be answered before.  Freeing a generation stops the thread between
 * two reads and joins it.
 *
 * Not here: what the kernel is told on a swap (ops.c), when to swap
 * (reload.c).
 */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "catalog/util/log.h"

/* Names every (profile, format) image, in table order. */
static int gen_media_names(struct aerofs_gen *g, struct aero_error *err)
{
	const struct image_format *fmts;
	const struct profile *profs;
	size_t nfmt, nprof;

	fmts = image_formats(&nfmt);
	profs = profiles(&nprof);
	for (size_t p = 0; p < nprof; p++)
		for (size_t f = 0; f < nfmt; f++) {
			struct aerofs_media *m = &g->media[g->nmedia];

			if (g->nmedia == AEROFS_MEDIA_MAX)
				return aero_error_set(err, -EFBIG,
						      "too many images");
			m->profile = &profs[p];
			m->format = &fmts[f];
			snprintf(m->name, sizeof(m->name), "%s.%s",
				 profs[p].image_name, fmts[f].ext);
			snprintf(m->id, sizeof(m->id), "%s-%s",
				 profs[p].image_name, fmts[f].name);
			snprintf(m->file, sizeof(m->file), "%s-%s.%s",
				 profs[p].image_name, fmts[f].name,
				 fmts[f].ext);
			g->nmedia++;
		}
	return 0;
}

/*
 * Lays out every image named by gen_media_names().  The mounted profile's
 * images share its pack; another profile's pack is built here for its
 * images.
 */
static int gen_media(const struct aerofs *a, struct aerofs_gen *g,
		     struct aero_error *err)
{
	const struct profile *profs;
	size_t nprof, i = 0;
	int r = 0;

	profs = profiles(&nprof);
	for (size_t p = 0; p < nprof; p++) {
		struct catalog_report *rep = NULL;
		struct pack *pack = g->pack;

		r = 0;
		if (&profs[p] != a->profile && profs[p].derive &&
		    a->profile == profile_default()) {
			/* From the driver pack this generation has. */
			r = profs[p].derive(g->pack, g->report, &a->copts,
					    &pack, err);
		} else if (&profs[p] != a->profile) {
			/* The same source again: its warnings were logged
			 * by the mounted profile's build already. */
			struct catalog_options quiet = a->copts;

			quiet.quiet = true;
			r = profs[p].build(a->source, &quiet, &pack, &rep, err);
		}
		if (r < 0) {
			aero_error_prefix(err, "%s", profs[p].name);
			return r;
		}
		for (; r == 0 && i < g->nmedia &&
		       g->media[i].profile == &profs[p];
		     i++) {
			struct aerofs_media *m = &g->media[i];

			r = image_build(m->format, pack, &a->iopts, &m->img,
					err);
			if (r == 0)
				r = chunked_new(m->img, a->chunk_size,
						&m->chunks, err);
			if (r < 0)
				aero_error_prefix(err, "%s", m->name);
		}
		if (pack != g->pack)
			pack_unref(pack);
		catalog_report_free(rep);
		if (r < 0)
			return r;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The generation thread's nice value (fs.h): below request handling. */
#define HASH_NICE 10

static int hash_sink(void *ctx, uint32_t chunk, uint64_t off, const void *data,
		     size_t len)
{
	struct aerofs_gen *g = ctx;

	(void)chunk, (void)off, (void)data, (void)len;
	return atomic_load(&g->hash.stop) ? -ECANCELED : 0;
}

/* Ends STAGE of G with R (ERR when it failed) and wakes its waiters. */
static void stage_end(struct aerofs_gen *g, struct aerofs_stage *stage, int r,
		      const struct aero_error *err, int64_t t0)
{
	pthread_mutex_lock(&g->hash.lock);
	stage->state = r;
	stage->ms = now_ms() - t0;
	if (r < 0)
		snprintf(stage->error, sizeof(stage->error), "%s", err->msg);
	pthread_cond_broadcast(&g->hash.cond);
	pthread_mutex_unlock(&g->hash.lock);
}

static bool gen_should_stop(void *ctx)
{
	return atomic_load(&((struct aerofs_gen *)ctx)->hash.stop);
}

/* Prep (fs.h): the pack's digests and manifest.json, then the images. */
static int gen_prepare(const struct aerofs *a, struct aerofs_gen *g,
		       struct aero_error *err)
{
	int r = pack_complete(g->pack, &g->hash.cancel, err);

	return r < 0 ? r : gen_media(a, g, err);
}

static void *hash_thread(void *arg)
{
	struct aerofs_gen *g = arg;
	struct aero_error err = { 0 };
	int64_t t0 = now_ms();
	int r = 0;

	/*
	 * Requests first: this thread reads and hashes tens of megabytes
	 * while the kernel asks for the tree that is already served.  On
	 * Linux a thread has a nice value of its own (setpriority(2) with
	 * its thread id); failing to lower it costs nothing else.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), HASH_NICE);

	if (g->hash.prep.state > 0) {
		/* Test hook (AEROFS_TEST_HOLD_PREP=FIFO): prep waits for a
		 * byte from FIFO, so that a test acts while the tree is
		 * served and the pack not yet hashed. */
		const char *hold = getenv("AEROFS_TEST_HOLD_PREP");

		if (hold) {
			int fd = open(hold, O_RDONLY | O_CLOEXEC);
			char byte;

			if (fd >= 0) {
				(void)!read(fd, &byte, 1);
				close(fd);
			}
		}
		r = gen_prepare(g->hash.fs, g, &err);
		if (r < 0 && r != -ECANCELED)
			log_msg(LOG_LEVEL_ERR,
				"cannot complete the pack and its images: %s",
				err.msg);
		if (r < 0) {
			/* Hash first: who sees prep end sees both. */
			struct aero_error why = err;

			aero_error_prefix(&why, "no images");
			stage_end(g, &g->hash.hash, r, &why, t0);
		}
		stage_end(g, &g->hash.prep, r, &err, t0);
		if (r < 0)
			return NULL;
		t0 = now_ms();
	}
	for (size_t i = 0; i < g->nmedia && r == 0; i++) {
		struct aerofs_media *m = &g->media[i];

		r = chunked_hash(m->chunks, hash_sink, g, &err);
		if (r < 0) {
			aero_error_prefix(&err, "%s", m->id);
			break;
		}
		m->manifest = chunked_manifest_json(m->chunks, m->id,
						    &m->manifest_len);
		m->latest = chunked_latest_json(m->chunks, m->id,
						&m->latest_len);
		if (!m->manifest || !m->latest)
			r = aero_error_set(&err, -ENOMEM, "%s: out of memory",
					   m->id);
	}
	if (r < 0 && r != -ECANCELED)
		log_msg(LOG_LEVEL_ERR, "cannot hash the images: %s", err.msg);
	stage_end(g, &g->hash.hash, r, &err, t0);
	return NULL;
}

bool aerofs_gen_hash_done(struct aerofs_gen *g)
{
	bool done;

	pthread_mutex_lock(&g->hash.lock);
	done = g->hash.hash.state == 0;
	pthread_mutex_unlock(&g->hash.lock);
	return done;
}

size_t aerofs_gen_media(struct aerofs_gen *g)
{
	size_t n;

	pthread_mutex_lock(&g->hash.lock);
	n = g->hash.prep.state == 0 ? g->nmedia : 0;
	pthread_mutex_unlock(&g->hash.lock);
	return n;
}

/* How often a waiter looks whether the session has ended. */
#define HASH_WAIT_POLL_NS 100000000L

static int gen_wait(struct aerofs *a, struct aerofs_gen *g,
		    const struct aerofs_stage *stage)
{
	int r;

	pthread_mutex_lock(&g->hash.lock);
	while (stage->state > 0) {
		struct timespec ts;

		/*
		 * libfuse joins its workers when the session ends and a
		 * request is not cancellable: a waiter looks at the session
		 * every HASH_WAIT_POLL_NS, so that neither an unmount nor
		 * SIGTERM waits for a long hash.
		 */
		if (atomic_load(&a->loop_done) ||
		    (a->se && fuse_session_exited(a->se))) {
			pthread_mutex_unlock(&g->hash.lock);
			return -EINTR;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HASH_WAIT_POLL_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->hash.cond, &g->hash.lock, &ts);
	}
	r = stage->state < 0 ? -EIO : 0;
	pthread_mutex_unlock(&g->hash.lock);
	return r;
}

int aerofs_gen_prepared(struct aerofs *a, struct aerofs_gen *g)
{
	return gen_wait(a, g, &g->hash.prep);
}

int aerofs_gen_hashed(struct aerofs *a, struct aerofs_gen *g)
{
	return gen_wait(a, g, &g->hash.hash);
}

int aerofs_gen_hash_start(const struct aerofs *a, struct aerofs_gen *g)
{
	struct aero_error err = { 0 };
	int r;

	g->hash.fs = a;
	r = -pthread_create(&g->hash.thread, NULL, hash_thread, g);
	if (r == 0) {
		g->hash.started = true;
		return 0;
	}
	/* Nothing it would do can be answered: say why, to waiters too. */
	log_msg(LOG_LEVEL_ERR, "cannot start the generation's thread: %s",
		strerror(-r));
	aero_error_set(&err, r, "cannot start the generation's thread: %s",
		       strerror(-r));
	stage_end(g, &g->hash.hash, r, &err, 0);
	if (g->hash.prep.state > 0)
		stage_end(g, &g->hash.prep, r, &err, 0);
	return r;
}

int aerofs_gen_build(const struct aerofs *a, bool defer,
		     struct aerofs_gen **out, struct aero_error *err)
{
	struct catalog_options copts = a->copts;
	struct aerofs_gen *g;
	int r;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return aero_error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&g->hash.lock, NULL);
	pthread_cond_init(&g->hash.cond, NULL);
	g->hash.prep.state = 1;
	g->hash.hash.state = 1;
	g->hash.cancel = (struct pack_cancel){ gen_should_stop, g };
	/*
	 * Stat first: if the file is replaced while we read it, the identity
	 * we report is the older one and the watcher schedules another build.
	 */
	if (stat(a->source, &g->source_st) < 0) {
		r = -errno;
		aero_error_set(err, r, "%s: %s", a->source, strerror(-r));
		goto fail;
	}
	copts.defer_hashes = defer;
	r = a->profile->build(a->source, &copts, &g->pack, &g->report, err);
	if (r == 0 && catalog_report_stray_files(g->report))
		/* Serving it would serve a manifest that lies. */
		r = aero_error_set(err, -EINVAL,
				   "%s: %zu file(s) differ from "
				   "the pack's manifest.json (changed, missing "
				   "or not listed): not serving it",
				   a->source,
				   catalog_report_stray_files(g->report));
	if (r == 0)
		r = gen_media_names(g, err);
	/* Not deferred (or nothing to defer): prep now, in this thread. */
	if (r == 0 && pack_hashed(g->pack) == 0) {
		r = gen_media(a, g, err);
		g->hash.prep.state = r < 0 ? r : 0;
	}
	if (r < 0)
		goto fail;
	g->built_at = (int64_t)time(NULL);
	*out = g;
	return 0;
fail:
	aerofs_gen_free(g);
	return r;
}

void aerofs_gen_free(struct aerofs_gen *g)
{
	if (!g)
		return;
	if (g->hash.started) {
		atomic_store(&g->hash.stop, true);
		pthread_join(g->hash.thread, NULL);
	}
	pthread_cond_destroy(&g->hash.cond);
	pthread_mutex_destroy(&g->hash.lock);
	for (size_t i = 0; i < g->nmedia; i++) {
		chunked_free(g->media[i].chunks);
		free(g->media[i].manifest);
		free(g->media[i].latest);
		image_free(g->media[i].img);
	}
	pack_unref(g->pack);
	catalog_report_free(g->report);
	free(g);
}

/* Unlinks G if it is dead; returns it for freeing outside the lock. */
static struct aerofs_gen *gen_reap_locked(struct aerofs *a,
					  struct aerofs_gen *g)
{
	struct aerofs_gen **pp;

	if (g->current || g->refs)
		return NULL;
	for (pp = &a->gens; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			return g;
		}
	}
	return NULL;
}

struct aerofs_gen *aerofs_gen_install(struct aerofs *a, struct aerofs_gen *g)
{
	struct aerofs_gen *old;

	pthread_mutex_lock(&a->lock);
	g->id = ++a->last_gen_id;
	g->current = true;
	g->stamp = g->built_at;
	if (a->cur && g->stamp <= a->cur->stamp)
		g->stamp = a->cur->stamp + 1;
	g->next = a->gens;
	a->gens = g;
	old = a->cur;
	a->cur = g;
	if (old) {
		old->current = false;
		old->refs++; /* the caller's hold */
	}
	pthread_mutex_unlock(&a->lock);
	if (old)
		log_msg(LOG_LEVEL_DEBUG, "generation %u replaces %u",
			(unsigned)g->id, (unsigned)old->id);
	return old;
}

void aerofs_gen_announce(struct aerofs *a, struct aerofs_gen *g)
{
	char *reload_error = NULL;

	pthread_mutex_lock(&a->lock);
	if (a->announced) {
		/* A reload: status.json sees it counted and the previous
		 * error gone together with the new generation. */
		atomic_fetch_add_explicit(&a->n.reloads_ok, 1,
					  memory_order_relaxed);
		reload_error = a->last_reload_error;
		a->last_reload_error = NULL;
		a->last_reload_error_at = 0;
	}
	a->announced = g;
	pthread_mutex_unlock(&a->lock);
	free(reload_error);
}

struct aerofs_gen *aerofs_gen_current(struct aerofs *a, uint64_t n)
{
	struct aerofs_gen *g;

	pthread_mutex_lock(&a->lock);
	g = a->cur;
	g->refs += n;
	pthread_mutex_unlock(&a->lock);
	return g;
}

struct aerofs_gen *aerofs_gen_find(struct aerofs *a, uint32_t id, uint64_t n)
{
	struct aerofs_gen *g;

	pthread_mutex_lock(&a->lock);
	for (g = a->gens; g; g = g->next) {
		if (g->id == id) {
			g->refs += n;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return g;
}

void aerofs_gen_hold(struct aerofs *a, struct aerofs_gen *g, uint64_t n)
{
	pthread_mutex_lock(&a->lock);
	g->refs += n;
	pthread_mutex_unlock(&a->lock);
}

void aerofs_gen_put(struct aerofs *a, struct aerofs_gen *g, uint64_t n)
{
	struct aerofs_gen *dead;

	if (!g || !n)
		return;
	pthread_mutex_lock(&a->lock);
	if (g->refs < n) {
		/* The kernel forgot more than we handed out: a bug, not a
		 * reason to free memory that may still be in use. */
		log_msg(LOG_LEVEL_WARNING,
			"generation %u: releasing %llu of %llu references",
			(unsigned)g->id, (unsigned long long)n,
			(unsigned long long)g->refs);
		g->refs = 0;
	} else {
		g->refs -= n;
	}
	dead = gen_reap_locked(a, g);
	pthread_mutex_unlock(&a->lock);
	if (dead) {
		log_msg(LOG_LEVEL_DEBUG, "generation %u freed",
			(unsigned)dead->id);
		aerofs_gen_free(dead);
	}
}

void aerofs_gen_free_all(struct aerofs *a)
{
	struct aerofs_gen *g, *next;

	pthread_mutex_lock(&a->lock);
	g = a->gens;
	a->gens = NULL;
	a->cur = NULL;
	pthread_mutex_unlock(&a->lock);
	for (; g; g = next) {
		next = g->next;
		aerofs_gen_free(g);
	}
}
