/*
 * control.c: the contents of .aerofs/status.json and the error slots it
 * reports.
 *
 * status.json is synthesized whenever it is opened (and for getattr), so
 * each open sees one consistent snapshot: which source file is served and
 * its identity when the current generation was built, the generation
 * number, the pack epoch, the counters, the last reload and read errors.
 * Nothing is written to disk.
 *
 * Not here: the directory entries and reads of the control files (ops.c).
 */
#include "fs/fs.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void set_error_slot(struct aerofs *a, char **slot, int64_t *at,
			   const char *msg)
{
	char *copy = msg ? strdup(msg) : NULL;
	char *old;

	pthread_mutex_lock(&a->lock);
	old = *slot;
	*slot = copy;
	*at = msg ? (int64_t)time(NULL) : 0;
	pthread_mutex_unlock(&a->lock);
	free(old);
}

void aerofs_set_reload_error(struct aerofs *a, const char *msg)
{
	set_error_slot(a, &a->last_reload_error, &a->last_reload_error_at, msg);
}

void aerofs_set_read_error(struct aerofs *a, const char *msg)
{
	set_error_slot(a, &a->last_read_error, &a->last_read_error_at, msg);
}

static uint64_t counter(atomic_uint_fast64_t *c)
{
	return (uint64_t)atomic_load_explicit(c, memory_order_relaxed);
}

/* cJSON numbers are doubles: exact up to 2^53, which covers every size,
 * count and time we report. */
static bool add_num(cJSON *o, const char *key, double v)
{
	return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static bool add_error(cJSON *o, const char *key, const char *msg, int64_t at,
		      const char *at_key)
{
	if (!msg)
		return cJSON_AddNullToObject(o, key) &&
		       cJSON_AddNullToObject(o, at_key);
	return cJSON_AddStringToObject(o, key, msg) &&
	       add_num(o, at_key, (double)at);
}

static bool add_source(cJSON *root, const struct aerofs *a,
		       const struct aerofs_gen *g)
{
	cJSON *s = cJSON_AddObjectToObject(root, "source");

	return s && cJSON_AddStringToObject(s, "path", a->source) &&
	       add_num(s, "dev", (double)g->source_st.st_dev) &&
	       add_num(s, "ino", (double)g->source_st.st_ino) &&
	       add_num(s, "size", (double)g->source_st.st_size) &&
	       add_num(s, "mtime", (double)g->source_st.st_mtim.tv_sec) &&
	       add_num(s, "mtime_nsec", (double)g->source_st.st_mtim.tv_nsec);
}

static bool add_counters(cJSON *root, struct aerofs *a)
{
	cJSON *c = cJSON_AddObjectToObject(root, "counters");

	return c && add_num(c, "lookups", (double)counter(&a->n.lookups)) &&
	       add_num(c, "reads", (double)counter(&a->n.reads)) &&
	       add_num(c, "bytes_read", (double)counter(&a->n.bytes_read)) &&
	       add_num(c, "reloads_ok", (double)counter(&a->n.reloads_ok)) &&
	       add_num(c, "reloads_failed",
		       (double)counter(&a->n.reloads_failed)) &&
	       add_num(c, "read_errors", (double)counter(&a->n.read_errors));
}

/*
 * One stage of the generation's thread (fs.h) under KEY: {"state":
 * "running" | "done" | "failed", "error", "ms"}.  Its state in *STATE.
 */
static bool add_stage(cJSON *root, const char *key, struct aerofs_gen *g,
		      const struct aerofs_stage *stage, int *state)
{
	cJSON *h = cJSON_AddObjectToObject(root, key);
	bool ok;

	pthread_mutex_lock(&g->hash.lock);
	*state = stage->state;
	ok = h &&
	     cJSON_AddStringToObject(h, "state",
				     *state > 0	 ? "running" :
				     *state == 0 ? "done" :
						   "failed") &&
	     (*state < 0 ? cJSON_AddStringToObject(h, "error", stage->error) :
			   cJSON_AddNullToObject(h, "error")) &&
	     (*state == 0 ? add_num(h, "ms", (double)stage->ms) :
			    cJSON_AddNullToObject(h, "ms") != NULL);
	pthread_mutex_unlock(&g->hash.lock);
	return ok;
}

/* NUM, or null when !KNOWN. */
static bool add_num_if(cJSON *o, const char *key, bool known, double num)
{
	return known ? add_num(o, key, num) :
		       cJSON_AddNullToObject(o, key) != NULL;
}

/*
 * The images: "prepare" (their layouts, fs.h) and "hash" (the
 * content-addressed versions under .aerofs/images/) stages, and each
 * image with its size and chunk count once laid out, its "version" once
 * hashed.  "image": the first one (the mounted profile's ISO), as before
 * there were several; "images": all of them, in table order.
 */
static bool add_images(cJSON *root, struct aerofs_gen *g)
{
	int prep, hash;
	cJSON *img, *imgs;

	if (!add_stage(root, "prepare", g, &g->hash.prep, &prep) ||
	    !add_stage(root, "hash", g, &g->hash.hash, &hash))
		return false;
	img = cJSON_AddObjectToObject(root, "image");
	if (!img || !cJSON_AddStringToObject(img, "name", g->media[0].name) ||
	    !add_num_if(img, "size", prep == 0,
			prep == 0 ? (double)image_size(g->media[0].img) : 0))
		return false;
	imgs = cJSON_AddArrayToObject(root, "images");
	for (size_t i = 0; imgs && i < g->nmedia; i++) {
		const struct aerofs_media *m = &g->media[i];

		img = cJSON_CreateObject();
		if (!img || !cJSON_AddItemToArray(imgs, img) ||
		    !cJSON_AddStringToObject(img, "name", m->name) ||
		    !cJSON_AddStringToObject(img, "profile",
					     m->profile->name) ||
		    !cJSON_AddStringToObject(img, "format", m->format->name) ||
		    !add_num_if(img, "size", prep == 0,
				prep == 0 ? (double)image_size(m->img) : 0) ||
		    !cJSON_AddStringToObject(img, "id", m->id) ||
		    !add_num_if(img, "chunk_size", prep == 0,
				prep == 0 ? chunked_chunk_size(m->chunks) :
					    0) ||
		    !add_num_if(img, "chunk_count", prep == 0,
				prep == 0 ? chunked_count(m->chunks) : 0) ||
		    (hash == 0 ? cJSON_AddStringToObject(img, "version",
							 chunked_version(
								 m->chunks)) :
				 cJSON_AddNullToObject(img, "version")) == NULL)
			return false;
	}
	return imgs != NULL;
}

static bool add_generation(cJSON *root, struct aerofs_gen *g, unsigned live)
{
	return add_num(root, "generation", g->id) &&
	       add_num(root, "live_generations", live) &&
	       add_num(root, "built_at", (double)g->built_at) &&
	       add_num(root, "epoch", (double)pack_epoch(g->pack)) &&
	       add_num(root, "nodes", (double)pack_node_count(g->pack)) &&
	       add_num(root, "content_bytes",
		       (double)pack_content_bytes(g->pack)) &&
	       cJSON_AddStringToObject(root, "label",
				       catalog_report_label(g->report)) &&
	       add_num(root, "catalog_warnings",
		       (double)catalog_report_warnings(g->report)) &&
	       add_num(root, "catalog_failed_checks",
		       (double)catalog_report_failed_checks(g->report)) &&
	       add_images(root, g);
}

char *aerofs_status_json(struct aerofs *a, size_t *len)
{
	struct aerofs_gen *g, *it;
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	unsigned live = 0;
	bool ok;

	if (!root)
		return NULL;
	/* One snapshot: a reload swaps the generation, counts itself and
	 * clears its error under the lock (aerofs_gen_install()). */
	pthread_mutex_lock(&a->lock);
	g = a->announced;
	for (it = a->gens; it; it = it->next)
		live++;
	ok = cJSON_AddStringToObject(root, "program", "aerofs") &&
	     cJSON_AddStringToObject(root, "version", AEROFS_VERSION) &&
	     add_num(root, "pid", (double)getpid()) &&
	     cJSON_AddStringToObject(root, "mountpoint",
				     a->mountpoint ? a->mountpoint : "") &&
	     add_source(root, a, g) && add_counters(root, a) &&
	     add_generation(root, g, live) &&
	     add_error(root, "last_reload_error", a->last_reload_error,
		       a->last_reload_error_at, "last_reload_error_at") &&
	     add_error(root, "last_read_error", a->last_read_error,
		       a->last_read_error_at, "last_read_error_at");
	pthread_mutex_unlock(&a->lock);
	if (ok)
		text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return NULL;
	*len = strlen(text);
	/* End with a newline like any text file, for cat and friends. */
	{
		char *t = realloc(text, *len + 2);

		if (!t) {
			free(text);
			return NULL;
		}
		text = t;
		text[(*len)++] = '\n';
		text[*len] = '\0';
	}
	return text;
}
