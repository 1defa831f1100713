/*
 * fs.h: the state of one aerofs daemon, shared by the files of fs/ and by
 * nothing else.
 *
 * One struct aerofs is built in main() and handed to fuse_session_new() as
 * userdata; every operation reaches it with fuse_req_userdata().  There are
 * no globals.
 *
 * A *generation* is one build of the pack from the source file: the pack,
 * its images (every profile in every image format) and the catalog
 * report.  A live reload builds a new
 * generation and makes it current; old generations stay alive while the
 * kernel still knows one of their node ids (lookup counts) or a directory
 * handle refers to them, and are freed when both drop to zero.
 *
 * Node ids: the kernel identifies an inode by a 64-bit node id that must
 * stay valid until it is forgotten, and keeps its page cache per node id.
 * A pack node is therefore ((generation id << 32) | pack ino), so that a
 * file of a new generation never shares node id or cached pages with the
 * old one.  A few fixed ids below 2^32 are not tied to a generation: the
 * root (always served from the current generation) and the control
 * directory.  status.json is a new node per lookup (AEROFS_NODE_SNAP_MIN).
 *
 * Files have no per-open state: open answers ENOSYS, after which the
 * kernel opens every file of the connection by itself with
 * FOPEN_KEEP_CACHE and sends neither OPEN nor RELEASE (the kernel's
 * fs/fuse/file.c, fc->no_open).  A file that is open pins its generation
 * through its node id: the kernel keeps the inode, and so its lookup
 * count, while the file is open.  Directories keep their handles.
 *
 * Not here: the FUSE operations (ops.c), the status file (control.c),
 * watching the source (reload.c), option parsing (main.c).
 */
#ifndef AEROFS_FS_FS_H
#define AEROFS_FS_FS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "catalog/stage/catalog.h"
#include "catalog/util/error.h"
#include "catalog/pack/pack.h"
#include "catalog/stage/profile.h"
#include "export/image/chunked.h"
#include "export/image/image.h"

/* Hidden control directory at the root and what it holds: status.json and
 * one image per (profile, format), "<profile image name>.<format ext>". */
#define AEROFS_CTL_NAME ".aerofs"
#define AEROFS_STATUS_NAME "status.json"
#define AEROFS_MEDIA_MAX 32

/* Fixed node ids (FUSE_ROOT_ID is 1). */
#define AEROFS_NODE_ROOT ((fuse_ino_t)FUSE_ROOT_ID)
#define AEROFS_NODE_CTL ((fuse_ino_t)2)

/*
 * status.json: every lookup of the name renders a snapshot under a node id
 * of its own, from AEROFS_NODE_SNAP_MIN up (high half 0).  Its size is
 * exact and its pages never go stale, so it needs no per-open state
 * (above).  The node's entry timeout is 0, so every path walk looks the
 * name up again; its link count is 0, so the kernel forgets it as soon as
 * nothing uses it (an unlinked file's inode is evicted on the last iput),
 * which frees the snapshot.  At most AEROFS_SNAPS_MAX live at once.
 */
#define AEROFS_NODE_SNAP_MIN ((fuse_ino_t)16)
#define AEROFS_SNAPS_MAX 1024

/* Low half of the node id of a generation's image I is AEROFS_LOW_MEDIA + I
 * (pack inos are at most PACK_NODES_MAX, far below). */
#define AEROFS_LOW_MEDIA 0xffffff00u

/*
 * The content-addressed images, .aerofs/images/ (Aero's chunked delivery
 * layout, export/image/chunked.h):
 *
 *   images/<imageId>/latest.json
 *   images/<imageId>/sha256-<hex>/<imageId>.<ext>
 *   images/<imageId>/sha256-<hex>/manifest.json
 *   images/<imageId>/sha256-<hex>/chunks/NNNNNNNN.bin
 *
 * Every node of it belongs to a generation.  Low half of its node id (and
 * its st_ino): AEROFS_LOW_IMAGES | image index << 24 | kind << 20 | chunk
 * index, above every pack ino and below AEROFS_LOW_MEDIA.
 */
#define AEROFS_IMAGES_NAME "images"
#define AEROFS_LATEST_NAME "latest.json"
#define AEROFS_MANIFEST_NAME "manifest.json"
#define AEROFS_CHUNKS_NAME "chunks"
#define AEROFS_LOW_IMAGES 0x80000000u
#define AEROFS_IMAGES_INDEX_BITS 20
_Static_assert(PACK_NODES_MAX < AEROFS_LOW_IMAGES, "pack inos overlap");
_Static_assert(CHUNKED_COUNT_MAX <= (1u << AEROFS_IMAGES_INDEX_BITS),
	       "chunk index does not fit its node id bits");
_Static_assert(AEROFS_MEDIA_MAX <= 32, "image index has 5 node id bits");

/* st_ino of the control nodes; outside the pack's 1..PACK_NODES_MAX. */
#define AEROFS_STINO_CTL 0xfffffffdu
#define AEROFS_STINO_STATUS 0xfffffffeu
#define AEROFS_STINO_MEDIA 0xffffff00u /* + image index */

/*
 * Entry and attribute timeout for everything that cannot change without a
 * reload; a reload invalidates explicitly.  squashfuse uses DBL_MAX; a day
 * bounds the damage of a missed invalidation.
 */
#define AEROFS_TIMEOUT 86400.0

/* One image of a generation: a (profile, format) pair of the two tables. */
struct aerofs_media {
	const struct profile *profile;
	const struct image_format *format;
	char name[64];		/* "aero-win7-drivers.iso" */
	char id[64];		/* imageId: "aero-win7-drivers-iso" */
	char file[80];		/* "aero-win7-drivers-iso.iso" */
	struct image *img;	/* owned */
	struct chunked *chunks; /* owned; hashed in the background */
	/* Set by the hasher before it reports success (aerofs_gen_hashed()),
	 * read-only after: the texts of manifest.json and latest.json. */
	char *manifest;
	size_t manifest_len;
	char *latest;
	size_t latest_len;
};

/*
 * The background work of a generation (gen.c), one thread per generation
 * and two stages, each with a state (1 running, 0 done, -errno failed),
 * the error when it failed and how long it took when done:
 *
 *   prep  the first generation is served as soon as its tree is known:
 *         its pack's file content is hashed here (pack_complete(), which
 *         also fills manifest.json) and the images laid out (they hold
 *         manifest.json, and the ISO and FAT layouts use the digests).
 *         Reading manifest.json and looking up an image wait for it.
 *         Generations of reloads are built whole, prep done.
 *   hash  every image's SHA-256 and its chunks' (one pass over each):
 *         lookups under .aerofs/images/ wait for it.  Fails if prep did.
 */
struct aerofs_stage {
	int state;
	char error[512];
	int64_t ms;
};

struct aerofs_hash {
	pthread_t thread;
	bool started;
	atomic_bool stop; /* set by aerofs_gen_free() */
	const struct aerofs *fs;
	struct pack_cancel cancel; /* stops at stop */
	pthread_mutex_t lock;	   /* guards the stages */
	pthread_cond_t cond;
	struct aerofs_stage prep, hash;
};

struct aerofs_gen {
	struct aerofs_gen *next;       /* list of live generations */
	uint32_t id;		       /* 1, 2, ...; 0 until installed */
	struct pack *pack;	       /* the mounted profile's; owned */
	struct catalog_report *report; /* owned */
	/* In table order.  Names and ids are set when the generation is
	 * built; img and chunks only once prep is done (aerofs_hash), and
	 * never if it fails: see aerofs_gen_media(). */
	struct aerofs_media media[AEROFS_MEDIA_MAX];
	size_t nmedia;
	struct stat source_st; /* the source as it was when built */
	int64_t built_at;      /* wall clock, for status.json */
	/* mtime of latest.json, which changes with every generation, so
	 * that an HTTP server's mtime validators (ETag, Last-Modified) do:
	 * built_at, or one more than the previous generation's. */
	int64_t stamp;
	struct aerofs_hash hash;
	/* Below: under aerofs.lock. */
	uint64_t refs; /* kernel lookups, dir handles, short holds */
	bool current;
};

struct aerofs_counters {
	atomic_uint_fast64_t lookups;
	atomic_uint_fast64_t reads;
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t reloads_ok;
	atomic_uint_fast64_t reloads_failed;
	atomic_uint_fast64_t read_errors;
};

struct aerofs_reload;
struct aerofs_snap; /* a status.json snapshot (ops.c) */
struct handle;	    /* an open directory (ops.c) */

struct aerofs {
	/* Configuration, fixed once main() has parsed the command line. */
	char *source;	  /* absolute path (realpath) */
	char *mountpoint; /* as given */
	struct catalog_options copts;
	const struct profile *profile; /* the tree at the mount's root */
	struct image_options iopts;    /* of every image (-o no-winpe) */
	char *notify_pipe;	       /* -o notify_pipe=, set by fuse_opt */
	bool have_fsname;
	unsigned nonopts; /* non-option arguments seen */
	int opt_error;
	uid_t uid;
	gid_t gid;
	unsigned debounce_ms;
	int no_splice;	     /* -o nosplice */
	uint32_t chunk_size; /* -o chunk-size= (images/ chunks) */
	/* Set once by the init operation, before any read: the largest
	 * reply (header, data and one page per buffer) libfuse can splice
	 * through its pipe, 0 when replies are never spliced. */
	size_t splice_max;

	struct fuse_session *se; /* NULL until mounted */
	/* Set once the session loop has returned (libfuse then resets the
	 * session's exited flag): nothing may wait for the kernel. */
	atomic_bool loop_done;
	struct aerofs_reload *reload; /* NULL unless the watcher runs */
	/*
	 * copts.cancel: a build gives up when the daemon is shutting down
	 * (cancel_builds) or, during a reload, when the source is no longer
	 * the file the reload started from (reload_st): a newer one came and
	 * the watcher builds that one next.  reloading and reload_st belong
	 * to the watcher thread, which also runs the reload's build.
	 */
	struct pack_cancel build_cancel;
	atomic_bool cancel_builds;
	bool reloading;
	struct stat reload_st;

	pthread_mutex_t lock; /* guards everything below */
	struct aerofs_gen *gens;
	struct aerofs_gen *cur;
	/* What status.json describes: the current generation once the kernel
	 * has been told to drop what it cached of the previous one
	 * (aerofs_gen_announce()), so that a client that sees a generation in
	 * status.json also sees its files. */
	struct aerofs_gen *announced;
	uint32_t last_gen_id;
	char *last_reload_error; /* NULL: none since the last success */
	int64_t last_reload_error_at;
	char *last_read_error;
	int64_t last_read_error_at;
	struct handle *dirs;	   /* open directory handles (ops.c) */
	struct aerofs_snap *snaps; /* live status.json snapshots */
	size_t nsnaps;
	uint32_t snap_seq; /* the next snapshot's node id */

	struct aerofs_counters n;
};

/* ---- generations (gen.c) ---------------------------------------------- */

/*
 * Builds a generation from A->source and A->copts: stats the source, runs
 * catalog_build() and, unless DEFER, completes prep (struct aerofs_hash)
 * too.  With DEFER the driver pack's content is left to the generation's
 * thread: what is refused then (a file the source cannot supply) shows
 * in status.json and as EIO, not here.  Does not install it.  Returns 0
 * or -errno with the reason in ERR.  Safe to call from any thread; takes
 * no lock.
 */
int aerofs_gen_build(const struct aerofs *a, bool defer,
		     struct aerofs_gen **out, struct aero_error *err);

/*
 * Starts G's thread (not in aerofs_gen_build(), which runs before
 * fuse_daemonize() forks, and a fork keeps no thread): prep if it is
 * pending, then the images' hashes.  On failure, logged, the stages fail
 * (lookups of images, manifest.json and images/ fail with EIO).  A must
 * outlive G.  Returns 0 or -errno.
 */
int aerofs_gen_hash_start(const struct aerofs *a, struct aerofs_gen *g);

/*
 * Wait until G's prep (aerofs_gen_prepared()) or image hashing
 * (aerofs_gen_hashed()) is done.  Return 0, -EIO if it failed, or -EINTR
 * if the session ends first (a request must not hold up the unmount).
 * Call without holding A->lock.
 */
int aerofs_gen_prepared(struct aerofs *a, struct aerofs_gen *g);
int aerofs_gen_hashed(struct aerofs *a, struct aerofs_gen *g);

/* Whether G's images are hashed, without waiting. */
bool aerofs_gen_hash_done(struct aerofs_gen *g);

/*
 * How many of G's media have their image: G->nmedia once prep is done, 0
 * before and if it failed.  Without waiting.
 */
size_t aerofs_gen_media(struct aerofs_gen *g);

/* Frees a generation that was never installed (NULL allowed); stops and
 * joins its hasher first. */
void aerofs_gen_free(struct aerofs_gen *g);

/*
 * Makes G (from aerofs_gen_build()) current and returns the previous
 * current generation with a temporary hold (NULL for the first one); the
 * caller releases it with aerofs_gen_put(a, old, 1) once it no longer needs
 * its names for invalidation (and after aerofs_gen_announce()).
 */
struct aerofs_gen *aerofs_gen_install(struct aerofs *a, struct aerofs_gen *g);

/*
 * Makes G, the current generation, the one status.json describes; called
 * once the kernel's caches of the previous one are invalidated, while the
 * caller still holds the previous one.  Announcing a second generation
 * counts a successful reload and clears the last reload error, under the
 * same lock.
 */
void aerofs_gen_announce(struct aerofs *a, struct aerofs_gen *g);

/* The current generation with N holds added. */
struct aerofs_gen *aerofs_gen_current(struct aerofs *a, uint64_t n);

/* Generation ID with N holds added, or NULL if it is gone. */
struct aerofs_gen *aerofs_gen_find(struct aerofs *a, uint32_t id, uint64_t n);

/* Adds N holds to G, which the caller already holds. */
void aerofs_gen_hold(struct aerofs *a, struct aerofs_gen *g, uint64_t n);

/* Drops N holds; frees G when it is not current and nothing holds it. */
void aerofs_gen_put(struct aerofs *a, struct aerofs_gen *g, uint64_t n);

/* Frees every generation (at shutdown, after the session is gone). */
void aerofs_gen_free_all(struct aerofs *a);

static inline fuse_ino_t aerofs_nodeid(const struct aerofs_gen *g, uint64_t low)
{
	return ((fuse_ino_t)g->id << 32) | low;
}

/* ---- control directory (control.c) ------------------------------------ */

/*
 * Synthesizes status.json as it is now.  Returns a malloc()ed NUL-terminated
 * string (its length in *LEN) or NULL when out of memory.
 */
char *aerofs_status_json(struct aerofs *a, size_t *len);

/* Records the last reload / read error (MSG NULL clears), with the time. */
void aerofs_set_reload_error(struct aerofs *a, const char *msg);
void aerofs_set_read_error(struct aerofs *a, const char *msg);

/* ---- operations (ops.c) ----------------------------------------------- */

extern const struct fuse_lowlevel_ops aerofs_ll_ops;

/* Frees every status.json snapshot (at shutdown, after the session). */
void aerofs_snaps_free(struct aerofs *a);

/* Frees the directory handles the kernel never released (at shutdown,
 * after the session, before the generations they hold). */
void aerofs_dirs_free(struct aerofs *a);

/*
 * After OLD was replaced by NEW: drops the kernel's cached entries for
 * every root name of either, the root's attributes and directory cache,
 * and the control directory's image entry.  Call without holding any lock
 * and never from a request handler (libfuse's notify deadlock rule).
 */
void aerofs_invalidate(struct aerofs *a, const struct aerofs_gen *old,
		       const struct aerofs_gen *new_gen);

/* ---- live reload (reload.c) ------------------------------------------- */

/*
 * Starts the watcher thread: inotify on the source's directory (the
 * source's name moved to, created or closed after writing) and SIGHUP
 * through a signalfd; SIGHUP must already be blocked in every thread.
 * Returns 0 or -errno.
 */
int aerofs_reload_start(struct aerofs *a);

/* Stops and joins the watcher (no-op if it is not running). */
void aerofs_reload_stop(struct aerofs *a);

/*
 * The pack_cancel stop function of A's builds (see struct aerofs): true
 * when the daemon is shutting down, or a reload's source has changed
 * since the reload started.  Called from the building thread.
 */
bool aerofs_build_should_stop(void *a);

/*
 * Builds a new generation now and installs it, or records why not.
 * Returns 0 or -errno.  Used by the watcher thread.
 */
int aerofs_reload_now(struct aerofs *a);

#endif
