/*
 * ops.c: the FUSE low-level operations of aerofs.
 *
 * Everything is read-only: the pack of a generation never changes, so
 * entries and attributes get long timeouts, missing names are cached as
 * negative entries, files are opened by the kernel alone (open answers
 * ENOSYS, fs.h) with keep_cache and directories with cache_readdir; a
 * reload invalidates what it changes (aerofs_invalidate()).
 * File data is answered with fuse_reply_data() on buffers that point into
 * the source descriptors (FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK), so libfuse can
 * splice it or pread it straight into the reply; synthesized files are
 * served from the pack's memory.  The images in .aerofs/ are served the
 * same way, by the same code: a read is cut into spans (pack.h) of source
 * data (zero-copy), image metadata or blob files (memory) and padding (a
 * constant zero table), and one fuse_reply_data() sends them all.
 * Every modifying operation fails with EROFS (the mount is also "ro").
 *
 * Pack format errors never reach here; a source that can no longer supply
 * a range (truncated underneath us) is reported as EIO, counted and noted
 * in status.json.
 *
 * Not here: node-id and generation bookkeeping (gen.c), status.json
 * (control.c), option parsing and the session (main.c).
 */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/util/checked.h"
#include "catalog/util/io.h"
#include "catalog/util/log.h"

/* What a node id designates, with a hold on its generation if any. */
enum obj_kind {
	OBJ_NODE,   /* a pack node (the root included) */
	OBJ_CTL,    /* .aerofs */
	OBJ_STATUS, /* .aerofs/status.json */
	OBJ_MEDIA,  /* .aerofs/<image>, gen->media[media] */
	/* .aerofs/images/ (fs.h), of gen->media[media]; in node id order. */
	OBJ_IMAGES,   /* images */
	OBJ_IMGDIR,   /* images/<imageId> */
	OBJ_LATEST,   /* images/<imageId>/latest.json */
	OBJ_VERDIR,   /* images/<imageId>/<version> */
	OBJ_VIMAGE,   /* <version>/<imageId>.<ext> */
	OBJ_MANIFEST, /* <version>/manifest.json */
	OBJ_CHUNKDIR, /* <version>/chunks */
	OBJ_CHUNK,    /* <version>/chunks/<chunk>.bin */
};

struct obj {
	enum obj_kind kind;
	struct aerofs_gen *gen;	      /* one hold; NULL for CTL/STATUS */
	struct aerofs_snap *snap;     /* OBJ_STATUS: one hold, or NULL in
					 * a listing (rendered on demand) */
	const struct pack_node *node; /* OBJ_NODE */
	size_t media;		      /* OBJ_MEDIA and images/ */
	uint32_t chunk;		      /* OBJ_CHUNK */
};

/* An open directory; fi->fh points here, and aerofs.dirs lists it. */
struct handle {
	struct obj o;		    /* the hold lasts until releasedir */
	struct handle *prev, *next; /* under aerofs.lock */
	size_t nmedia;		    /* .aerofs: images listed (opendir) */
};

/* A status.json snapshot (fs.h), in aerofs.snaps. */
struct aerofs_snap {
	struct aerofs_snap *next;
	fuse_ino_t node;
	uint64_t refs; /* kernel lookups + holds; under aerofs.lock */
	char *text;
	size_t len;
};

/*
 * Buffers in one reply.  A read of an image crosses a region per file
 * extent, sector padding and small file; past this many the rest is copied
 * into the last buffer.  libfuse sizes its splice pipe for len + one page
 * per buffer, so more buffers cost pipe pages.
 */
#define REPLY_BUFS_MAX 64

/* Padding of the images (the longest run in an ISO is the 32 KiB system
 * area, ECMA-119 6.2.1; longer runs take several buffers). */
static const char zero_table[16384];

/*
 * Read-ahead of the image's source data, for sequential readers.  The
 * kernel asks for the image in readahead-window requests (128 KiB: a FUSE
 * mount's window is the smaller of the kernel's and ours; root could raise
 * the mount's bdi read_ahead_kb afterwards, and libfuse 3.14 lets 1 MiB
 * requests through, but that measured no faster cold and slower on many
 * small files: the time goes to the source reads), and each one then waits
 * for its source data to come from the disk.  A request of at least
 * PREFETCH_MIN_READ that enters a new PREFETCH_WINDOW window starts the
 * source reads of the next window (POSIX_FADV_WILLNEED), so that the disk
 * works ahead of the reader; one at offset 0 starts the first two.  2 MiB
 * measured best of 1, 2, 4 and 8 MiB on the full fixture, and advice
 * several windows ahead measured no better (contrib/bench-fs.sh,
 * contrib/bench-images.sh).
 * Small random reads (a guest walking directories) prefetch nothing.
 *
 * The advice goes out in pieces (io_advise_willneed()): whole-window
 * advice prefetched only the first max_sectors_kb (often 512 KiB or 1.25
 * MiB) of each window on a device with the default read_ahead_kb, and the
 * reader waited for the rest, read on demand.
 */
#define PREFETCH_WINDOW (2u << 20)
#define PREFETCH_MIN_READ (64u << 10)

/* libfuse's splice arithmetic (fuse_send_data_iov): one page per buffer,
 * and the reply header, struct fuse_out_header of <linux/fuse.h>. */
#define PIPE_PAGE 4096u
#define FUSE_OUT_HEADER_SIZE 16u

/*
 * A fuse_bufvec with room for REPLY_BUFS_MAX buffers.  libfuse declares
 * buf[1]; writing bv.buf[i] for i > 0 is undefined behaviour, which gcc -O2
 * does exploit (it dropped the bound check of the fill loop and the stack
 * was overrun).  Buffers are built in a real array and copied in as bytes.
 */
union bufvec_store {
	struct fuse_bufvec v;
	unsigned char raw[sizeof(struct fuse_bufvec) +
			  (REPLY_BUFS_MAX - 1) * sizeof(struct fuse_buf)];
};

static struct fuse_bufvec *bufvec_fill(union bufvec_store *st,
				       const struct fuse_buf *bufs, size_t n)
{
	memset(st, 0, sizeof(*st));
	st->v.count = n;
	memcpy(st->raw + offsetof(struct fuse_bufvec, buf), bufs,
	       n * sizeof(*bufs));
	return &st->v;
}

static struct aerofs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- .aerofs/images/: node ids ---------------------------------------- */

static bool obj_in_images(const struct obj *o)
{
	return o->kind >= OBJ_IMAGES;
}

/* Low half of the node id (and st_ino) of an images/ object (fs.h). */
static uint32_t images_low(const struct obj *o)
{
	return AEROFS_LOW_IMAGES | (uint32_t)o->media << 24 |
	       (uint32_t)(o->kind - OBJ_IMAGES) << AEROFS_IMAGES_INDEX_BITS |
	       o->chunk;
}

/* Decodes LOW into O, whose generation is set; false if it names nothing
 * (anything but the directories exists only once the images are hashed). */
static bool images_decode(struct obj *o, uint32_t low)
{
	uint32_t kind = (low >> AEROFS_IMAGES_INDEX_BITS) & 15;

	o->media = (low >> 24) & 31;
	o->chunk = low & ((1u << AEROFS_IMAGES_INDEX_BITS) - 1);
	if ((low & 0x60000000u) || kind > OBJ_CHUNK - OBJ_IMAGES)
		return false;
	o->kind = (enum obj_kind)(OBJ_IMAGES + kind);
	if (o->kind == OBJ_IMAGES)
		return o->media == 0 && o->chunk == 0;
	if (o->media >= o->gen->nmedia || (o->kind != OBJ_CHUNK && o->chunk))
		return false;
	if (o->kind >= OBJ_LATEST && !aerofs_gen_hash_done(o->gen))
		return false;
	return o->kind != OBJ_CHUNK ||
	       o->chunk < chunked_count(o->gen->media[o->media].chunks);
}

/* ---- status.json snapshots ------------------------------------------- */

static struct aerofs_snap *snap_find_locked(struct aerofs *a, fuse_ino_t node)
{
	struct aerofs_snap *s;

	for (s = a->snaps; s; s = s->next)
		if (s->node == node)
			return s;
	return NULL;
}

/* Renders a new snapshot, with one hold; ENOMEM or ENFILE (too many). */
static int snap_new(struct aerofs *a, struct aerofs_snap **out)
{
	struct aerofs_snap *s = calloc(1, sizeof(*s));

	if (!s)
		return ENOMEM;
	s->text = aerofs_status_json(a, &s->len);
	if (!s->text) {
		free(s);
		return ENOMEM;
	}
	s->refs = 1;
	pthread_mutex_lock(&a->lock);
	if (a->nsnaps >= AEROFS_SNAPS_MAX) {
		pthread_mutex_unlock(&a->lock);
		free(s->text);
		free(s);
		return ENFILE;
	}
	/* Fewer than 2^32 live: a free node id is never far. */
	do {
		if (a->snap_seq < AEROFS_NODE_SNAP_MIN)
			a->snap_seq = AEROFS_NODE_SNAP_MIN;
		s->node = a->snap_seq++;
	} while (snap_find_locked(a, s->node));
	s->next = a->snaps;
	a->snaps = s;
	a->nsnaps++;
	pthread_mutex_unlock(&a->lock);
	*out = s;
	return 0;
}

/* Snapshot NODE with N holds added, or NULL if it is gone. */
static struct aerofs_snap *snap_find(struct aerofs *a, fuse_ino_t node,
				     uint64_t n)
{
	struct aerofs_snap *s;

	pthread_mutex_lock(&a->lock);
	s = snap_find_locked(a, node);
	if (s)
		s->refs += n;
	pthread_mutex_unlock(&a->lock);
	return s;
}

static void snap_hold(struct aerofs *a, struct aerofs_snap *s, uint64_t n)
{
	pthread_mutex_lock(&a->lock);
	s->refs += n;
	pthread_mutex_unlock(&a->lock);
}

/* Drops N holds on S, or on snapshot NODE if S is NULL (nothing if it is
 * gone); frees it when nothing holds it. */
static void snap_put_node(struct aerofs *a, struct aerofs_snap *s,
			  fuse_ino_t node, uint64_t n)
{
	struct aerofs_snap **pp;
	bool gone = false;

	pthread_mutex_lock(&a->lock);
	if (!s)
		s = snap_find_locked(a, node);
	if (s) {
		s->refs -= n < s->refs ? n : s->refs;
		gone = s->refs == 0;
	}
	if (gone) {
		for (pp = &a->snaps; *pp != s; pp = &(*pp)->next)
			;
		*pp = s->next;
		a->nsnaps--;
	}
	pthread_mutex_unlock(&a->lock);
	if (gone) {
		free(s->text);
		free(s);
	}
}

static void snap_put(struct aerofs *a, struct aerofs_snap *s, uint64_t n)
{
	snap_put_node(a, s, 0, n);
}

/*
 * Open directory handles are listed, so that those whose RELEASEDIR the
 * kernel drops at unmount (it does not wait for background releases
 * once the connection goes) are freed at shutdown all the same.
 */
static void dir_link(struct aerofs *a, struct handle *h)
{
	pthread_mutex_lock(&a->lock);
	h->prev = NULL;
	h->next = a->dirs;
	if (h->next)
		h->next->prev = h;
	a->dirs = h;
	pthread_mutex_unlock(&a->lock);
}

static void dir_unlink(struct aerofs *a, struct handle *h)
{
	pthread_mutex_lock(&a->lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		a->dirs = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&a->lock);
}

void aerofs_dirs_free(struct aerofs *a)
{
	while (a->dirs) {
		struct handle *h = a->dirs;

		a->dirs = h->next;
		free(h);
	}
}

void aerofs_snaps_free(struct aerofs *a)
{
	while (a->snaps) {
		struct aerofs_snap *s = a->snaps;

		a->snaps = s->next;
		free(s->text);
		free(s);
	}
	a->nsnaps = 0;
}

/* Resolves INO; 0 or a positive errno for fuse_reply_err(). */
static int obj_get(struct aerofs *a, fuse_ino_t ino, struct obj *o)
{
	uint32_t id = (uint32_t)(ino >> 32);
	uint32_t low = (uint32_t)ino;

	memset(o, 0, sizeof(*o));
	if (ino == AEROFS_NODE_ROOT) {
		o->gen = aerofs_gen_current(a, 1);
		o->node = pack_root(o->gen->pack);
		return 0;
	}
	if (ino == AEROFS_NODE_CTL) {
		o->kind = OBJ_CTL;
		return 0;
	}
	if (id == 0 && ino >= AEROFS_NODE_SNAP_MIN) {
		o->kind = OBJ_STATUS;
		o->snap = snap_find(a, ino, 1);
		return o->snap ? 0 : ESTALE;
	}
	if (id == 0)
		return ESTALE;
	o->gen = aerofs_gen_find(a, id, 1);
	if (!o->gen)
		return ESTALE;
	if (low >= AEROFS_LOW_IMAGES && low < AEROFS_LOW_MEDIA) {
		if (images_decode(o, low))
			return 0;
		aerofs_gen_put(a, o->gen, 1);
		o->gen = NULL;
		return ESTALE;
	}
	if (low >= AEROFS_LOW_MEDIA) {
		o->kind = OBJ_MEDIA;
		o->media = low - AEROFS_LOW_MEDIA;
		if (o->media < o->gen->nmedia)
			return 0;
		aerofs_gen_put(a, o->gen, 1);
		o->gen = NULL;
		return ESTALE;
	}
	o->node = pack_node_by_ino(o->gen->pack, low);
	if (!o->node) {
		aerofs_gen_put(a, o->gen, 1);
		o->gen = NULL;
		return ESTALE;
	}
	return 0;
}

static void obj_put(struct aerofs *a, struct obj *o)
{
	aerofs_gen_put(a, o->gen, o->gen ? 1 : 0);
	o->gen = NULL;
	if (o->snap)
		snap_put(a, o->snap, 1);
	o->snap = NULL;
}

/* The node id the kernel should use for O. */
static fuse_ino_t obj_nodeid(const struct obj *o)
{
	switch (o->kind) {
	case OBJ_CTL:
		return AEROFS_NODE_CTL;
	case OBJ_STATUS:
		return o->snap ? o->snap->node : 0;
	case OBJ_MEDIA:
		return aerofs_nodeid(o->gen, AEROFS_LOW_MEDIA + o->media);
	case OBJ_IMAGES:
	case OBJ_IMGDIR:
	case OBJ_LATEST:
	case OBJ_VERDIR:
	case OBJ_VIMAGE:
	case OBJ_MANIFEST:
	case OBJ_CHUNKDIR:
	case OBJ_CHUNK:
		return aerofs_nodeid(o->gen, images_low(o));
	case OBJ_NODE:
		break;
	}
	if (o->node == pack_root(o->gen->pack))
		return AEROFS_NODE_ROOT;
	return aerofs_nodeid(o->gen, pack_node_ino(o->node));
}

/* Whether the kernel's lookup count on O's node id keeps something: its
 * generation, or its status.json snapshot. */
static bool obj_counted(const struct obj *o)
{
	fuse_ino_t id = obj_nodeid(o);

	return id != 0 && id != AEROFS_NODE_ROOT && id != AEROFS_NODE_CTL;
}

/* Adds (or with PUT, drops) N of the kernel's references on O. */
static void obj_count(struct aerofs *a, const struct obj *o, uint64_t n,
		      bool put)
{
	if (o->kind == OBJ_STATUS && put)
		snap_put(a, o->snap, n);
	else if (o->kind == OBJ_STATUS)
		snap_hold(a, o->snap, n);
	else if (put)
		aerofs_gen_put(a, o->gen, n);
	else
		aerofs_gen_hold(a, o->gen, n);
}

static void fill_times(struct stat *st, int64_t epoch)
{
	st->st_atim.tv_sec = (time_t)epoch;
	st->st_mtim.tv_sec = (time_t)epoch;
	st->st_ctim.tv_sec = (time_t)epoch;
}

static uint64_t obj_size(const struct obj *o);

/* Attributes of O; returns false if status.json could not be made. */
static bool obj_stat(struct aerofs *a, const struct obj *o, struct stat *st)
{
	struct aerofs_gen *g;
	char *text;
	size_t len = 0;

	memset(st, 0, sizeof(*st));
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_blksize = 4096;
	switch (o->kind) {
	case OBJ_NODE:
		st->st_ino = pack_node_ino(o->node);
		st->st_mode = pack_node_mode(o->node) |
			      (pack_node_is_dir(o->node) ? S_IFDIR : S_IFREG);
		st->st_nlink = pack_node_nlink(o->node);
		st->st_size = (off_t)pack_node_size(o->node);
		fill_times(st, pack_epoch(o->gen->pack));
		break;
	case OBJ_MEDIA:
		st->st_ino = AEROFS_STINO_MEDIA + o->media;
		st->st_mode = S_IFREG | PACK_FILE_MODE;
		st->st_nlink = 1;
		st->st_size = (off_t)image_size(o->gen->media[o->media].img);
		fill_times(st, pack_epoch(o->gen->pack));
		break;
	case OBJ_IMAGES:
	case OBJ_IMGDIR:
	case OBJ_VERDIR:
	case OBJ_CHUNKDIR:
		st->st_ino = images_low(o);
		st->st_mode = S_IFDIR | PACK_DIR_MODE;
		st->st_nlink = 2;
		fill_times(st, pack_epoch(o->gen->pack));
		break;
	case OBJ_LATEST:
	case OBJ_VIMAGE:
	case OBJ_MANIFEST:
	case OBJ_CHUNK:
		st->st_ino = images_low(o);
		st->st_mode = S_IFREG | PACK_FILE_MODE;
		st->st_nlink = 1;
		st->st_size = (off_t)obj_size(o);
		/* Everything under a version is immutable; latest.json is
		 * not, and its mtime changes with every generation. */
		fill_times(st, o->kind == OBJ_LATEST ?
				       o->gen->stamp :
				       pack_epoch(o->gen->pack));
		break;
	case OBJ_CTL:
	case OBJ_STATUS:
		g = aerofs_gen_current(a, 1);
		fill_times(st, pack_epoch(g->pack));
		aerofs_gen_put(a, g, 1);
		if (o->kind == OBJ_CTL) {
			st->st_ino = AEROFS_STINO_CTL;
			st->st_mode = S_IFDIR | PACK_DIR_MODE;
			st->st_nlink = 2;
			break;
		}
		st->st_ino = AEROFS_STINO_STATUS;
		st->st_mode = S_IFREG | PACK_FILE_MODE;
		if (o->snap) {
			/* Unlinked, so that it is forgotten (fs.h). */
			st->st_nlink = 0;
			st->st_size = (off_t)o->snap->len;
			break;
		}
		text = aerofs_status_json(a, &len);
		if (!text)
			return false;
		free(text);
		st->st_nlink = 1;
		st->st_size = (off_t)len;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return true;
}

static double obj_attr_timeout(const struct obj *o)
{
	/* A snapshot never changes; the status.json of a listing does with
	 * every counter; everything else only with a reload, which
	 * invalidates. */
	return o->kind == OBJ_STATUS && !o->snap ? 0.0 : AEROFS_TIMEOUT;
}

/*
 * Fills E for O and adds the lookup reference the reply hands to the
 * kernel.  Returns false (nothing added) if the attributes failed.
 */
static bool obj_entry(struct aerofs *a, const struct obj *o,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	if (!obj_stat(a, o, &e->attr))
		return false;
	e->ino = obj_nodeid(o);
	e->generation = 1;
	e->attr_timeout = obj_attr_timeout(o);
	/* status.json: a new snapshot at every path walk. */
	e->entry_timeout = o->kind == OBJ_STATUS ? 0.0 : AEROFS_TIMEOUT;
	if (obj_counted(o))
		obj_count(a, o, 1, false);
	return true;
}

/*
 * NAME in the images/ directory DIR, once the images are hashed: 0, or
 * ENOENT, EIO (hashing failed), EINTR (the session is ending).
 */
static int images_lookup(struct aerofs *a, const struct obj *dir,
			 const char *name, struct obj *child)
{
	struct aerofs_gen *g = dir->gen;
	const struct aerofs_media *m = &g->media[dir->media];
	int64_t i;
	int r = aerofs_gen_hashed(a, g);

	if (r < 0)
		return -r;
	*child = *dir;
	child->kind = OBJ_NODE; /* not found */
	switch (dir->kind) {
	case OBJ_IMAGES:
		for (size_t k = 0; k < g->nmedia; k++)
			if (strcmp(name, g->media[k].id) == 0) {
				child->kind = OBJ_IMGDIR;
				child->media = k;
			}
		break;
	case OBJ_IMGDIR:
		if (strcmp(name, AEROFS_LATEST_NAME) == 0)
			child->kind = OBJ_LATEST;
		else if (strcmp(name, chunked_version(m->chunks)) == 0)
			child->kind = OBJ_VERDIR;
		break;
	case OBJ_VERDIR:
		if (strcmp(name, m->file) == 0)
			child->kind = OBJ_VIMAGE;
		else if (strcmp(name, AEROFS_MANIFEST_NAME) == 0)
			child->kind = OBJ_MANIFEST;
		else if (strcmp(name, AEROFS_CHUNKS_NAME) == 0)
			child->kind = OBJ_CHUNKDIR;
		break;
	case OBJ_CHUNKDIR:
		i = chunked_chunk_find(m->chunks, name);
		if (i >= 0) {
			child->kind = OBJ_CHUNK;
			child->chunk = (uint32_t)i;
		}
		break;
	default:
		return ENOTDIR;
	}
	if (child->kind == OBJ_NODE) {
		memset(child, 0, sizeof(*child));
		return ENOENT;
	}
	aerofs_gen_hold(a, g, 1);
	return 0;
}

/* Finds NAME in directory DIR; 0 or ENOENT/ENOTDIR. */
static int obj_lookup(struct aerofs *a, const struct obj *dir, const char *name,
		      struct obj *child)
{
	const struct pack_node *n;

	memset(child, 0, sizeof(*child));
	if (obj_in_images(dir))
		return images_lookup(a, dir, name, child);
	if (dir->kind == OBJ_CTL) {
		struct aerofs_gen *g = aerofs_gen_current(a, 1);

		for (size_t i = 0; i < g->nmedia; i++) {
			int r;

			if (strcmp(name, g->media[i].name) != 0)
				continue;
			/* Its layout may still be in the making (fs.h). */
			r = aerofs_gen_prepared(a, g);
			if (r < 0) {
				aerofs_gen_put(a, g, 1);
				return -r;
			}
			child->kind = OBJ_MEDIA;
			child->gen = g;
			child->media = i;
			return 0;
		}
		if (strcmp(name, AEROFS_IMAGES_NAME) == 0) {
			child->kind = OBJ_IMAGES;
			child->gen = g;
			return 0;
		}
		if (strcmp(name, AEROFS_STATUS_NAME) == 0) {
			/* A snapshot with the images' sizes, or why not. */
			(void)aerofs_gen_prepared(a, g);
			aerofs_gen_put(a, g, 1);
			child->kind = OBJ_STATUS;
			return snap_new(a, &child->snap);
		}
		aerofs_gen_put(a, g, 1);
		if (strcmp(name, "..") == 0) {
			child->gen = aerofs_gen_current(a, 1);
			child->node = pack_root(child->gen->pack);
			return 0;
		}
		return ENOENT;
	}
	if (dir->kind != OBJ_NODE)
		return ENOTDIR;
	if (!pack_node_is_dir(dir->node))
		return ENOTDIR;
	if (dir->node == pack_root(dir->gen->pack) &&
	    strcmp(name, AEROFS_CTL_NAME) == 0) {
		child->kind = OBJ_CTL;
		return 0;
	}
	if (strcmp(name, ".") == 0)
		n = dir->node;
	else if (strcmp(name, "..") == 0)
		n = pack_node_parent(dir->node);
	else
		n = pack_lookup(dir->node, name);
	if (!n)
		return ENOENT;
	child->node = n;
	aerofs_gen_hold(a, dir->gen, 1);
	child->gen = dir->gen;
	return 0;
}

/* How far a pipe can grow (pipe(7)); 1 MiB, the default, if unknown. */
static size_t pipe_max_size(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v ? (size_t)v : 1u << 20;
}

static void aerofs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct aerofs *a = userdata;

	/*
	 * Let libfuse splice file data from the source descriptor into
	 * /dev/fuse instead of copying it through a buffer (mergerfs found
	 * splice no faster; contrib/bench-fs.sh measures both).
	 */
	if (!a->no_splice && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (!a->no_splice && (conn->capable & FUSE_CAP_SPLICE_MOVE))
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	a->splice_max = (conn->want & FUSE_CAP_SPLICE_WRITE) ? pipe_max_size() :
							       0;
	/* Content never changes under a node id: no need to compare mtimes. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* "To FUSE or not to FUSE" (FAST'17): the default 12 throttles
	 * parallel sequential readers. */
	conn->max_background = 64;
}

static void aerofs_op_lookup(fuse_req_t req, fuse_ino_t parent,
			     const char *name)
{
	struct aerofs *a = req_fs(req);
	struct fuse_entry_param e;
	struct obj dir, child;
	int err;

	count(&a->n.lookups, 1);
	err = obj_get(a, parent, &dir);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	err = obj_lookup(a, &dir, name, &child);
	obj_put(a, &dir);
	if (err == ENOENT) {
		/* Negative entry: "future lookups of this name will not
		 * generate fuse requests" (squashfuse ll.c). */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = AEROFS_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (!obj_entry(a, &child, &e)) {
		obj_put(a, &child);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* -ENOENT: the request was interrupted and the kernel took no
	 * reference (libfuse's fuse.c forgets the node then too). */
	if (fuse_reply_entry(req, &e) == -ENOENT && obj_counted(&child))
		obj_count(a, &child, 1, true);
	obj_put(a, &child);
}

static void forget_one(struct aerofs *a, fuse_ino_t ino, uint64_t nlookup)
{
	struct aerofs_gen *g;
	uint32_t id = (uint32_t)(ino >> 32);

	if (id == 0 && ino >= AEROFS_NODE_SNAP_MIN && nlookup) {
		snap_put_node(a, NULL, ino, nlookup);
		return;
	}
	if (id == 0 || nlookup == 0)
		return; /* fixed node ids are not counted */
	g = aerofs_gen_find(a, id, 0);
	if (g)
		aerofs_gen_put(a, g, nlookup);
}

static void aerofs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void aerofs_op_forget_multi(fuse_req_t req, size_t count_,
				   struct fuse_forget_data *forgets)
{
	struct aerofs *a = req_fs(req);
	size_t i;

	for (i = 0; i < count_; i++)
		forget_one(a, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void aerofs_op_getattr(fuse_req_t req, fuse_ino_t ino,
			      struct fuse_file_info *fi)
{
	struct aerofs *a = req_fs(req);
	struct stat st;
	struct obj o;
	int err;

	(void)fi;
	err = obj_get(a, ino, &o);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (!obj_stat(a, &o, &st)) {
		obj_put(a, &o);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fuse_reply_attr(req, &st, obj_attr_timeout(&o));
	obj_put(a, &o);
}

static bool obj_is_dir(const struct obj *o)
{
	return o->kind == OBJ_CTL || o->kind == OBJ_IMAGES ||
	       o->kind == OBJ_IMGDIR || o->kind == OBJ_VERDIR ||
	       o->kind == OBJ_CHUNKDIR ||
	       (o->kind == OBJ_NODE && pack_node_is_dir(o->node));
}

/*
 * No per-open state (fs.h): ENOSYS, after which the kernel opens every file
 * of this connection itself, with FOPEN_KEEP_CACHE, and sends no RELEASE.
 * A read names the node id, which is all it needs.  The write modes are
 * refused first, though the "ro" mount already refuses them in the VFS.
 */
static void aerofs_op_open(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	(void)ino;
	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_CREAT)))
		fuse_reply_err(req, EROFS);
	else
		fuse_reply_err(req, ENOSYS);
}

/* ---- serving bytes: pack files and images alike ----------------------- */

static const struct image *obj_image(const struct obj *o)
{
	return o->gen->media[o->media].img;
}

/* manifest.json and latest.json: text made by the hasher. */
static const char *obj_text(const struct obj *o, size_t *len)
{
	const struct aerofs_media *m = &o->gen->media[o->media];

	*len = o->kind == OBJ_MANIFEST ? m->manifest_len : m->latest_len;
	return o->kind == OBJ_MANIFEST ? m->manifest : m->latest;
}

/* Where a chunk's bytes are in its image. */
static void obj_chunk(const struct obj *o, uint64_t *base, uint64_t *len)
{
	chunked_chunk_range(o->gen->media[o->media].chunks, o->chunk, base,
			    len);
}

static uint64_t obj_size(const struct obj *o)
{
	uint64_t base, len;

	switch (o->kind) {
	case OBJ_MEDIA:
	case OBJ_VIMAGE:
		return image_size(obj_image(o));
	case OBJ_CHUNK:
		obj_chunk(o, &base, &len);
		return len;
	case OBJ_MANIFEST:
	case OBJ_LATEST:
		obj_text(o, &len);
		return len;
	default:
		return pack_node_size(o->node);
	}
}

static int obj_span(const struct obj *o, uint64_t off, struct pack_span *sp)
{
	uint64_t base, len;
	const char *text;
	size_t tlen;
	int r;

	switch (o->kind) {
	case OBJ_MEDIA:
	case OBJ_VIMAGE:
		return image_span(obj_image(o), off, sp);
	case OBJ_CHUNK:
		/* A chunk is a window on its image. */
		obj_chunk(o, &base, &len);
		if (off >= len)
			return -EINVAL;
		r = image_span(obj_image(o), base + off, sp);
		if (r == 0 && sp->len > len - off)
			sp->len = len - off;
		return r;
	case OBJ_MANIFEST:
	case OBJ_LATEST:
		text = obj_text(o, &tlen);
		if (off >= tlen)
			return -EINVAL;
		memset(sp, 0, sizeof(*sp));
		sp->kind = PACK_SPAN_MEM;
		sp->fd = -1;
		sp->mem = (const uint8_t *)text + off;
		sp->len = tlen - off;
		return 0;
	default:
		return pack_node_span(o->gen->pack, o->node, off, sp);
	}
}

static ssize_t obj_read(const struct obj *o, void *buf, size_t len,
			uint64_t off)
{
	uint64_t base, clen;
	const char *text;
	size_t tlen;

	switch (o->kind) {
	case OBJ_MEDIA:
	case OBJ_VIMAGE:
		return image_read(obj_image(o), buf, len, off);
	case OBJ_CHUNK:
		obj_chunk(o, &base, &clen);
		if (off >= clen)
			return 0;
		if (len > clen - off)
			len = (size_t)(clen - off);
		return image_read(obj_image(o), buf, len, base + off);
	case OBJ_MANIFEST:
	case OBJ_LATEST:
		text = obj_text(o, &tlen);
		if (off >= tlen)
			return 0;
		if (len > tlen - off)
			len = tlen - (size_t)off;
		memcpy(buf, text + off, len);
		return (ssize_t)len;
	default:
		return pack_node_read(o->gen->pack, o->node, buf, len, off);
	}
}

static void read_failed(struct aerofs *a, const struct obj *o, uint64_t off,
			size_t size, const char *why)
{
	char msg[512];

	count(&a->n.read_errors, 1);
	if (o->kind == OBJ_MEDIA)
		snprintf(msg, sizeof(msg),
			 "%s/%s: read of %zu bytes at %" PRIu64 " failed: %s",
			 AEROFS_CTL_NAME, o->gen->media[o->media].name, size,
			 off, why);
	else if (obj_in_images(o))
		snprintf(msg, sizeof(msg),
			 "%s/%s/%s: read of %zu bytes at %" PRIu64
			 " (chunk %" PRIu32 ") failed: %s",
			 AEROFS_CTL_NAME, AEROFS_IMAGES_NAME,
			 o->gen->media[o->media].id, size, off, o->chunk, why);
	else
		snprintf(msg, sizeof(msg),
			 "%s: read of %zu bytes at %" PRIu64 " failed: %s",
			 pack_node_path(o->node), size, off, why);
	log_msg(LOG_LEVEL_ERR, "%s", msg);
	aerofs_set_read_error(a, msg);
}

/*
 * Copies the range into memory: for replies libfuse could not splice
 * anyway (see splice_fits()).
 */
static void read_copy(fuse_req_t req, struct aerofs *a, const struct obj *o,
		      size_t size, uint64_t off)
{
	char *buf = malloc(size ? size : 1);
	ssize_t r;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = obj_read(o, buf, size, off);
	if (r < 0) {
		read_failed(a, o, off, size, strerror((int)-r));
		fuse_reply_err(req, (int)-r);
	} else {
		count(&a->n.bytes_read, (uint64_t)r);
		fuse_reply_buf(req, buf, (size_t)r);
	}
	free(buf);
}

/*
 * Whether libfuse can splice a reply of LEN data bytes in NBUFS buffers.
 * It sizes its pipe for the header, the data and a page per buffer; when
 * that is more than the pipe can grow to (/proc/sys/fs/pipe-max-size, 1 MiB
 * by default, so every 1 MiB read of an O_DIRECT or direct_io reader) it
 * falls back to copying into a fresh posix_memalign() buffer per reply,
 * which for 1 MiB is an mmap() and munmap() each time: measured 2x slower
 * than our own copy.  Such replies are copied here instead.
 */
static bool splice_fits(const struct aerofs *a, uint64_t len, size_t nbufs)
{
	return a->splice_max &&
	       len + (nbufs + 2) * PIPE_PAGE + FUSE_OUT_HEADER_SIZE <=
		       a->splice_max;
}

/* Whether fuse_reply_data() of BUFS needs the splice pipe at all: a single
 * memory buffer is written out as it is. */
static bool needs_pipe(const struct fuse_buf *bufs, size_t n)
{
	return n > 1 || (n == 1 && (bufs[0].flags & FUSE_BUF_IS_FD));
}

/*
 * Whether the source behind span SP is still the file the generation was
 * built from.  libfuse sends what the descriptor yields and the kernel
 * zero-fills a short reply, so a source truncated underneath us must be
 * caught before the reply: EIO, not zeros; and one rewritten in place
 * would give bytes of two releases.  *LAST remembers the source checked
 * last, so a request checks each source once (every span of an ISO source
 * comes from the same one).
 */
static bool source_holds(const struct obj *o, const struct pack_span *sp,
			 long *last)
{
	const struct pack *p = o->kind == OBJ_MEDIA ? image_pack(obj_image(o)) :
						      o->gen->pack;

	if ((long)sp->src == *last)
		return true;
	if (pack_source_check(p, sp->src) < 0)
		return false;
	*last = (long)sp->src;
	return true;
}

/* Starts reading the source data of the window after [OFF, END) (above). */
static void prefetch(const struct obj *o, uint64_t off, uint64_t end)
{
	uint64_t osize = obj_size(o), pos, to;
	struct pack_span sp;

	if (end - off < PREFETCH_MIN_READ)
		return;
	if (off == 0) {
		/* A reader starting at the top: the first two windows. */
		pos = end;
		to = 2 * PREFETCH_WINDOW;
	} else if (off / PREFETCH_WINDOW != end / PREFETCH_WINDOW) {
		pos = (end / PREFETCH_WINDOW + 1) * PREFETCH_WINDOW;
		to = pos + PREFETCH_WINDOW;
	} else {
		return;
	}
	if (to > osize)
		to = osize;
	for (; pos < to; pos += sp.len) {
		if (obj_span(o, pos, &sp) < 0)
			return;
		if (sp.len > to - pos)
			sp.len = to - pos;
		if (sp.kind == PACK_SPAN_FD)
			io_advise_willneed(sp.fd, sp.fd_offset, sp.len);
	}
}

/*
 * A pack file or an image: one fuse_buf per span, so that file data goes
 * from the source descriptor to the reply without passing through our
 * memory, and a whole read is one fuse_reply_data().  Memory buffers point
 * into the image and its pack, which the caller's hold on O's generation
 * keeps alive until the reply is out.
 */
static void read_data(fuse_req_t req, struct aerofs *a, const struct obj *o,
		      size_t size, uint64_t off)
{
	struct fuse_buf bufs[REPLY_BUFS_MAX];
	union bufvec_store bv;
	uint64_t osize = obj_size(o);
	uint64_t pos = off, end;
	struct pack_span sp;
	const char *why = NULL;
	char *tail = NULL;
	long last_src = -1;
	int err = EIO;
	size_t i = 0;
	ssize_t got;

	end = off >= osize ? off : osize;
	if (size < end - off)
		end = off + size;
	if (end > off && !splice_fits(a, end - off, 1)) {
		/* No splice, or a reply too large for the pipe. */
		read_copy(req, a, o, size, off);
		prefetch(o, off, end);
		return;
	}
	memset(bufs, 0, sizeof(bufs));
	while (pos < end) {
		struct fuse_buf *b = &bufs[i];
		uint64_t len;
		int r;

		if (i == REPLY_BUFS_MAX - 1) {
			/* Out of buffers: the rest goes in a copy. */
			len = end - pos;
			tail = malloc((size_t)len);
			if (!tail) {
				why = strerror(ENOMEM);
				err = ENOMEM;
				goto fail;
			}
			got = obj_read(o, tail, (size_t)len, pos);
			if (got != (ssize_t)len) {
				why = got < 0 ? strerror((int)-got) :
						"short read";
				goto fail;
			}
			b->mem = tail;
			b->size = (size_t)len;
			pos = end;
			i++;
			break;
		}
		r = obj_span(o, pos, &sp);
		if (r < 0) {
			why = strerror(-r);
			goto fail;
		}
		len = sp.len < end - pos ? sp.len : end - pos;
		switch (sp.kind) {
		case PACK_SPAN_MEM:
			b->mem = (void *)sp.mem;
			break;
		case PACK_SPAN_ZERO:
			if (len > sizeof(zero_table))
				len = sizeof(zero_table);
			/* Only ever read from: libfuse copies out of it. */
			b->mem = (void *)zero_table;
			break;
		case PACK_SPAN_FD:
			if (!source_holds(o, &sp, &last_src)) {
				why = "source changed or unreadable";
				goto fail;
			}
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK |
				   FUSE_BUF_FD_RETRY;
			b->fd = sp.fd;
			b->pos = (off_t)sp.fd_offset;
			break;
		}
		b->size = (size_t)len;
		pos += len;
		i++;
	}
	if (needs_pipe(bufs, i) && !splice_fits(a, pos - off, i)) {
		free(tail);
		read_copy(req, a, o, size, off);
	} else {
		count(&a->n.bytes_read, pos - off);
		if (i == 0)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_data(req, bufvec_fill(&bv, bufs, i),
					FUSE_BUF_SPLICE_MOVE);
		free(tail);
	}
	/* After the reply, so that the reader does not wait for it (the
	 * caller's hold keeps the generation). */
	prefetch(o, off, end);
	return;
fail:
	read_failed(a, o, off, size, why);
	fuse_reply_err(req, err);
	free(tail);
}

/* status.json: from its snapshot, which the caller holds. */
static void read_status(fuse_req_t req, struct aerofs *a,
			const struct aerofs_snap *s, size_t size, uint64_t off)
{
	if (off >= s->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > s->len - off)
		size = s->len - (size_t)off;
	count(&a->n.bytes_read, size);
	fuse_reply_buf(req, s->text + off, size);
}

/*
 * By node id alone (no handles, fs.h).  The reply wakes the reader before
 * fuse_reply_*() returns; if it then closes the file and the kernel forgets
 * the node, the last hold on an old generation could go while we are still
 * in writev() or splice() on its memory and descriptors: ours lasts until
 * the reply is out.
 */
static void aerofs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	struct aerofs *a = req_fs(req);
	struct obj o;
	int err;

	(void)fi;
	count(&a->n.reads, 1);
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	err = obj_get(a, ino, &o);
	if (!err && obj_is_dir(&o))
		err = EISDIR;
	/* manifest.json of a pack still being hashed (fs.h): its bytes
	 * come with prep; if that fails, the read says so. */
	if (!err && o.kind == OBJ_NODE && !pack_node_ready(o.gen->pack, o.node))
		(void)aerofs_gen_prepared(a, o.gen);
	if (err)
		fuse_reply_err(req, err);
	else if (o.kind == OBJ_STATUS)
		read_status(req, a, o.snap, size, (uint64_t)off);
	else
		read_data(req, a, &o, size, (uint64_t)off);
	obj_put(a, &o);
}

static void aerofs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
				 struct fuse_file_info *fi)
{
	struct aerofs *a = req_fs(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	dir_unlink(a, h);
	obj_put(a, &h->o);
	free(h);
	fuse_reply_err(req, 0);
}

static void aerofs_op_opendir(fuse_req_t req, fuse_ino_t ino,
			      struct fuse_file_info *fi)
{
	struct aerofs *a = req_fs(req);
	struct handle *h = calloc(1, sizeof(*h));
	int err;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = obj_get(a, ino, &h->o);
	if (!err && !obj_is_dir(&h->o))
		err = ENOTDIR;
	if (!err && h->o.kind == OBJ_CTL) {
		/* Its images, with their sizes, once laid out (fs.h); none
		 * if that failed. */
		h->o.gen = aerofs_gen_current(a, 1);
		(void)aerofs_gen_prepared(a, h->o.gen);
		h->nmedia = aerofs_gen_media(h->o.gen);
	}
	/* A listing under images/ names the version: wait for the hash. */
	if (!err && obj_in_images(&h->o))
		err = -aerofs_gen_hashed(a, h->o.gen);
	if (err) {
		obj_put(a, &h->o);
		free(h);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	dir_link(a, h);
	if (fuse_reply_open(req, fi) != 0) {
		dir_unlink(a, h);
		obj_put(a, &h->o);
		free(h);
	}
}

/* Entry I (after "." and "..") of the images/ directory H; false past
 * the end.  A chunk's name is written to BUF. */
static bool images_entry(const struct handle *h, size_t i, const char **name,
			 char buf[CHUNKED_NAME_LEN], struct obj *o)
{
	const struct aerofs_gen *g = h->o.gen;
	const struct aerofs_media *m = &g->media[h->o.media];

	*o = h->o;
	o->chunk = 0;
	switch (h->o.kind) {
	case OBJ_IMAGES:
		if (i >= g->nmedia)
			return false;
		o->kind = OBJ_IMGDIR;
		o->media = i;
		*name = g->media[i].id;
		return true;
	case OBJ_IMGDIR:
		o->kind = i == 0 ? OBJ_LATEST : OBJ_VERDIR;
		*name = i == 0 ? AEROFS_LATEST_NAME :
				 chunked_version(m->chunks);
		return i < 2;
	case OBJ_VERDIR:
		o->kind = i == 0 ? OBJ_VIMAGE :
			  i == 1 ? OBJ_MANIFEST :
				   OBJ_CHUNKDIR;
		*name = i == 0 ? m->file :
			i == 1 ? AEROFS_MANIFEST_NAME :
				 AEROFS_CHUNKS_NAME;
		return i < 3;
	case OBJ_CHUNKDIR:
		if (i >= chunked_count(m->chunks))
			return false;
		o->kind = OBJ_CHUNK;
		o->chunk = (uint32_t)i;
		chunked_chunk_name(o->chunk, buf);
		*name = buf;
		return true;
	default:
		return false;
	}
}

/* The parent of the images/ directory O. */
static struct obj images_parent(const struct obj *o)
{
	struct obj p = *o;

	switch (o->kind) {
	case OBJ_IMAGES:
		p.kind = OBJ_CTL;
		break;
	case OBJ_IMGDIR:
		p.kind = OBJ_IMAGES;
		p.media = 0;
		break;
	case OBJ_VERDIR:
		p.kind = OBJ_IMGDIR;
		break;
	default:
		p.kind = OBJ_VERDIR;
		break;
	}
	return p;
}

/* Entry I of directory handle H ("." and ".." first); false past the end.
 * BUF holds a name made up for the entry. */
static bool dir_entry(struct aerofs *a, const struct handle *h, size_t i,
		      const char **name, char buf[CHUNKED_NAME_LEN],
		      struct obj *o)
{
	memset(o, 0, sizeof(*o));
	if ((i == 0 || i == 1) && obj_in_images(&h->o)) {
		*name = i == 0 ? "." : "..";
		*o = i == 0 ? h->o : images_parent(&h->o);
		return true;
	}
	if (i >= 2 && obj_in_images(&h->o))
		return images_entry(h, i - 2, name, buf, o);
	if (i == 0 || i == 1) {
		*name = i == 0 ? "." : "..";
		if (h->o.kind == OBJ_CTL) {
			o->kind = i == 0 ? OBJ_CTL : OBJ_NODE;
			o->gen = h->o.gen;
			o->node = pack_root(h->o.gen->pack);
		} else {
			o->gen = h->o.gen;
			o->node = i == 0 ? h->o.node :
					   pack_node_parent(h->o.node);
		}
		return true;
	}
	i -= 2;
	if (h->o.kind == OBJ_CTL) {
		/* The images in table order, then status.json. */
		if (i < h->nmedia) {
			o->kind = OBJ_MEDIA;
			o->gen = h->o.gen;
			o->media = i;
			*name = h->o.gen->media[i].name;
			return true;
		}
		if (i == h->nmedia + 1) {
			o->kind = OBJ_IMAGES;
			o->gen = h->o.gen;
			*name = AEROFS_IMAGES_NAME;
			return true;
		}
		if (i > h->nmedia)
			return false;
		o->kind = OBJ_STATUS;
		*name = AEROFS_STATUS_NAME;
		return true;
	}
	o->node = pack_node_child(h->o.node, i);
	if (!o->node)
		return false;
	o->gen = h->o.gen;
	*name = pack_node_name(o->node);
	(void)a;
	return true;
}

/*
 * Whether readdirplus through H may hand its entries to the kernel as
 * lookups.  The root and .aerofs keep their node ids across generations:
 * a handle opened before a reload lists the old generation, whose entries
 * would replace the ones the reload invalidated and be served for
 * AEROFS_TIMEOUT.  Such a handle passes attributes only.  The kernel holds
 * the directory's lock during readdir, which a reload's invalidation of
 * the directory's entries waits for, so a generation that is current here
 * is invalidated after this reply.
 */
static bool dir_links(struct aerofs *a, const struct handle *h)
{
	bool cur;

	if (obj_in_images(&h->o))
		return true; /* generation-specific node ids */
	if (h->o.kind == OBJ_NODE && h->o.node != pack_root(h->o.gen->pack))
		return true;
	pthread_mutex_lock(&a->lock);
	cur = h->o.gen->current;
	pthread_mutex_unlock(&a->lock);
	return cur;
}

static void do_readdir(fuse_req_t req, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct aerofs *a = req_fs(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	size_t used = 0, i;
	uint64_t held = 0; /* references handed out, on h->o.gen */
	char namebuf[CHUNKED_NAME_LEN];
	const char *name;
	struct obj o;
	bool links;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	links = plus && dir_links(a, h);
	for (i = off < 0 ? 0 : (size_t)off;
	     dir_entry(a, h, i, &name, namebuf, &o); i++) {
		struct fuse_entry_param e;
		size_t need;

		if (!plus) {
			struct stat st = { 0 };

			if (!obj_stat(a, &o, &st))
				break;
			need = fuse_add_direntry(req, buf + used, size - used,
						 name, &st, (off_t)(i + 1));
			if (need > size - used)
				break;
			used += need;
			continue;
		}
		if (i < 2 || !links || o.kind == OBJ_STATUS) {
			/* The kernel takes no reference for "." and "..":
			 * pass attributes only (passthrough_ll does too),
			 * node id 0.  Nor for status.json, whose snapshots
			 * are made by lookups. */
			memset(&e, 0, sizeof(e));
			if (!obj_stat(a, &o, &e.attr))
				break;
		} else if (!obj_entry(a, &o, &e)) {
			break;
		}
		need = fuse_add_direntry_plus(req, buf + used, size - used,
					      name, &e, (off_t)(i + 1));
		if (need > size - used) {
			/* Not sent: take back the reference. */
			if (i >= 2 && links && obj_counted(&o))
				aerofs_gen_put(a, o.gen, 1);
			break;
		}
		if (i >= 2 && links && obj_counted(&o))
			held++;
		used += need;
	}
	/* As in lookup: an interrupted request took no reference. */
	if (fuse_reply_buf(req, buf, used) == -ENOENT)
		aerofs_gen_put(a, h->o.gen, held);
	free(buf);
}

static void aerofs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, false);
}

static void aerofs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
				  off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, true);
}

static void aerofs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct aerofs *a = req_fs(req);
	struct aerofs_gen *g = aerofs_gen_current(a, 1);
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (pack_content_bytes(g->pack) + 4095) / 4096;
	/* Not waiting for images still being laid out: counted once they
	 * are. */
	for (size_t i = 0; i < aerofs_gen_media(g); i++)
		sv.f_blocks += (image_size(g->media[i].img) + 4095) / 4096;
	sv.f_files = pack_node_count(g->pack) + 2 + g->nmedia;
	sv.f_namemax = PACK_NAME_MAX;
	sv.f_flag = ST_RDONLY;
	aerofs_gen_put(a, g, 1);
	fuse_reply_statfs(req, &sv);
}

static void aerofs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			       size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void aerofs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void aerofs_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct aerofs *a = req_fs(req);
	struct obj o;
	int err;

	/* Modes are 0444 for files and 0555 for directories, for everyone:
	 * writing is refused, and executing a file (access(2) X_OK). */
	if (mask & W_OK) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!(mask & X_OK)) {
		fuse_reply_err(req, 0);
		return;
	}
	err = obj_get(a, ino, &o);
	if (!err && !obj_is_dir(&o))
		err = EACCES;
	obj_put(a, &o);
	fuse_reply_err(req, err);
}

/* ---- every modifying operation: EROFS ---------------------------------- */

static void erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void aerofs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			      int to_set, struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	erofs(req);
}

static void aerofs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			    mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	erofs(req);
}

static void aerofs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			    mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	erofs(req);
}

static void aerofs_op_unlink(fuse_req_t req, fuse_ino_t parent,
			     const char *name)
{
	(void)parent, (void)name;
	erofs(req);
}

static void aerofs_op_symlink(fuse_req_t req, const char *link,
			      fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	erofs(req);
}

static void aerofs_op_rename(fuse_req_t req, fuse_ino_t parent,
			     const char *name, fuse_ino_t newparent,
			     const char *newname, unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	erofs(req);
}

static void aerofs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			   const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	erofs(req);
}

static void aerofs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			    size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino, (void)buf, (void)size, (void)off, (void)fi;
	erofs(req);
}

static void aerofs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			       const char *value, size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	erofs(req);
}

static void aerofs_op_removexattr(fuse_req_t req, fuse_ino_t ino,
				  const char *name)
{
	(void)ino, (void)name;
	erofs(req);
}

static void aerofs_op_create(fuse_req_t req, fuse_ino_t parent,
			     const char *name, mode_t mode,
			     struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	erofs(req);
}

static void aerofs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
				off_t offset, off_t length,
				struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)offset, (void)length, (void)fi;
	erofs(req);
}

static void aerofs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
				      off_t off_in,
				      struct fuse_file_info *fi_in,
				      fuse_ino_t ino_out, off_t off_out,
				      struct fuse_file_info *fi_out, size_t len,
				      int flags)
{
	(void)ino_in, (void)off_in, (void)fi_in, (void)ino_out;
	(void)off_out, (void)fi_out, (void)len, (void)flags;
	erofs(req);
}

const struct fuse_lowlevel_ops aerofs_ll_ops = {
	.init = aerofs_op_init,
	.lookup = aerofs_op_lookup,
	.forget = aerofs_op_forget,
	.forget_multi = aerofs_op_forget_multi,
	.getattr = aerofs_op_getattr,
	.setattr = aerofs_op_setattr,
	.mknod = aerofs_op_mknod,
	.mkdir = aerofs_op_mkdir,
	.unlink = aerofs_op_unlink,
	.rmdir = aerofs_op_unlink,
	.symlink = aerofs_op_symlink,
	.rename = aerofs_op_rename,
	.link = aerofs_op_link,
	.open = aerofs_op_open,
	.read = aerofs_op_read,
	.write = aerofs_op_write,
	.opendir = aerofs_op_opendir,
	.readdir = aerofs_op_readdir,
	.readdirplus = aerofs_op_readdirplus,
	.releasedir = aerofs_op_releasedir,
	.statfs = aerofs_op_statfs,
	.setxattr = aerofs_op_setxattr,
	.getxattr = aerofs_op_getxattr,
	.listxattr = aerofs_op_listxattr,
	.removexattr = aerofs_op_removexattr,
	.access = aerofs_op_access,
	.create = aerofs_op_create,
	.fallocate = aerofs_op_fallocate,
	.copy_file_range = aerofs_op_copy_file_range,
};

/* ---- reload invalidation ---------------------------------------------- */

static void inval_root_names(struct aerofs *a, const struct aerofs_gen *g)
{
	const struct pack_node *root = pack_root(g->pack);
	const struct pack_node *c;
	size_t i;

	for (i = 0; (c = pack_node_child(root, i)) != NULL; i++) {
		const char *name = pack_node_name(c);

		/* -ENOENT only means the kernel had nothing cached. */
		fuse_lowlevel_notify_inval_entry(a->se, AEROFS_NODE_ROOT, name,
						 strlen(name));
	}
}

void aerofs_invalidate(struct aerofs *a, const struct aerofs_gen *old,
		       const struct aerofs_gen *new_gen)
{
	/*
	 * Once the loop has ended (a signal during the build), a lookup may
	 * wait in the kernel, holding the root's lock, for an answer that
	 * never comes; invalidating an entry of the root would wait for it
	 * too, and the daemon would never get to unmount.
	 */
	if (!a->se || fuse_session_exited(a->se) || atomic_load(&a->loop_done))
		return;
	/*
	 * Old names: their dentries point at old node ids (d_invalidate also
	 * drops everything cached below them).  New names: the kernel may
	 * hold negative entries for them.
	 */
	if (old)
		inval_root_names(a, old);
	inval_root_names(a, new_gen);
	/* Root attributes and its readdir cache (page cache of the dir). */
	fuse_lowlevel_notify_inval_inode(a->se, AEROFS_NODE_ROOT, 0, 0);
	for (size_t i = 0; old && i < old->nmedia; i++)
		fuse_lowlevel_notify_inval_entry(a->se, AEROFS_NODE_CTL,
						 old->media[i].name,
						 strlen(old->media[i].name));
	for (size_t i = 0; i < new_gen->nmedia; i++)
		fuse_lowlevel_notify_inval_entry(a->se, AEROFS_NODE_CTL,
						 new_gen->media[i].name,
						 strlen(new_gen->media[i]
								.name));
	/* images/ of OLD: its node id is OLD's. */
	fuse_lowlevel_notify_inval_entry(a->se, AEROFS_NODE_CTL,
					 AEROFS_IMAGES_NAME,
					 strlen(AEROFS_IMAGES_NAME));
	fuse_lowlevel_notify_inval_inode(a->se, AEROFS_NODE_CTL, 0, 0);
}
