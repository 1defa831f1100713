/*
 * gen.c: building generations and keeping them alive while the kernel or
 * an open handle still refers to them (see fs.h).
 *
 * A generation's lifetime is one counter, refs, that sums the kernel's
 * lookup counts on its node ids, its open file and directory handles and
 * short holds taken by operations; the current generation is also kept by
 * its "current" flag.  The live list is short (one, two while a reload
 * overlaps open files), so lookups by id walk it under the mutex.
 *
 * Not here: what the kernel is told on a swap (ops.c), when to swap
 * (reload.c).
 */
#include "fs/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/util/log.h"

/*
 * Lays out every (profile, format) image.  The mounted profile's images
 * share its pack; another profile's pack is built here for its images.
 */
static int gen_media(const struct aerofs *a, struct aerofs_gen *g,
		     struct aero_error *err)
{
	const struct image_format *fmts;
	const struct profile *profs;
	size_t nfmt, nprof;
	int r;

	fmts = image_formats(&nfmt);
	profs = profiles(&nprof);
	for (size_t p = 0; p < nprof; p++) {
		struct catalog_report *rep = NULL;
		struct pack *pack = g->pack;

		if (&profs[p] != a->profile) {
			r = profs[p].build(a->source, &a->copts, &pack, &rep,
					   err);
			if (r < 0) {
				aero_error_prefix(err, "%s", profs[p].name);
				return r;
			}
		}
		for (size_t f = 0; f < nfmt; f++) {
			struct aerofs_media *m = &g->media[g->nmedia];

			if (g->nmedia == AEROFS_MEDIA_MAX) {
				r = aero_error_set(err, -EFBIG,
						   "too many images");
				break;
			}
			m->profile = &profs[p];
			m->format = &fmts[f];
			snprintf(m->name, sizeof(m->name), "%s.%s",
				 profs[p].image_name, fmts[f].ext);
			r = image_build(&fmts[f], pack, &a->iopts, &m->img, err);
			if (r < 0) {
				aero_error_prefix(err, "%s", m->name);
				break;
			}
			g->nmedia++;
		}
		if (pack != g->pack)
			pack_unref(pack);
		catalog_report_free(rep);
		if (r < 0)
			return r;
	}
	return 0;
}

int aerofs_gen_build(const struct aerofs *a, struct aerofs_gen **out,
		     struct aero_error *err)
{
	struct aerofs_gen *g;
	int r;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return aero_error_set(err, -ENOMEM, "out of memory");
	/*
	 * Stat first: if the file is replaced while we read it, the identity
	 * we report is the older one and the watcher schedules another build.
	 */
	if (stat(a->source, &g->source_st) < 0) {
		r = -errno;
		aero_error_set(err, r, "%s: %s", a->source, strerror(-r));
		goto fail;
	}
	r = a->profile->build(a->source, &a->copts, &g->pack, &g->report,
			      err);
	if (r < 0 || (r = gen_media(a, g, err)) < 0)
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
	for (size_t i = 0; i < g->nmedia; i++)
		image_free(g->media[i].img);
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
	g->next = a->gens;
	a->gens = g;
	old = a->cur;
	a->cur = g;
	if (old) {
		old->current = false;
		old->refs++;	/* the caller's hold */
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
