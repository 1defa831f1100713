/*
 * catalog.c: catalog_build(), from a source to a pack (catalog.h).
 *
 * The steps: open the source; if it is already a pack, take it over
 * verbatim; else select the drivers (select.c), inspect their INFs and
 * catalogs (inspect.c), fix the epoch, add the upstream files by extent,
 * the license notices and the synthesized files (synth.c), and last the
 * manifest, which lists every other file with its SHA-256.  Nothing here
 * reads the clock, the locale or a host path into the output.
 */
#include "catalog/stage/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "catalog/stage/build_i.h"
#include "catalog/stage/cert.h"
#include "catalog/stage/devices.h"
#include "catalog/stage/extras.h"
#include "catalog/formats/inf.h"
#include "catalog/stage/inspect.h"
#include "catalog/stage/manifest.h"
#include "catalog/util/io.h"
#include "catalog/util/log.h"
#include "catalog/util/sbuf.h"
#include "catalog/util/termesc.h"
#include "catalog/stage/select.h"
#include "catalog/source/source.h"
#include "catalog/stage/synth.h"

#define CATALOG_MANIFEST_MAX (64u << 20)

int catalog_oom(struct aero_error *err)
{
	return aero_error_set(err, -ENOMEM, "out of memory");
}

static int catalog_note_file(struct catalog_build *cb, const char *path,
			     uint64_t size, const unsigned char sha[32])
{
	struct manifest_file *f;

	if (cb->nfiles == cb->capfiles) {
		size_t cap = cb->capfiles ? cb->capfiles * 2 : 64;

		f = realloc(cb->files, cap * sizeof(*f));
		if (!f)
			return catalog_oom(cb->err);
		cb->files = f;
		cb->capfiles = cap;
	}
	f = &cb->files[cb->nfiles];
	f->path = strdup(path);
	if (!f->path)
		return catalog_oom(cb->err);
	f->size = size;
	memcpy(f->sha256, sha, 32);
	cb->nfiles++;
	return 0;
}

static int catalog_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_file *)a)->path,
		      ((const struct manifest_file *)b)->path);
}

/* Adds source file N at pack path PATH, by extent: never copied. */
int catalog_add_source_file(struct catalog_build *cb,
			    const struct source_node *n, const char *path)
{
	unsigned char sha[32];
	uint64_t size = source_node_size(n);
	int r;

	if (source_kind(cb->src) == SOURCE_KIND_IMAGE) {
		const struct source_extent *ext;
		struct pack_extent *pe;
		size_t count;

		r = source_node_extents(n, &ext, &count);
		if (r < 0)
			return aero_error_set(cb->err, r, "%s: no extents",
					      path);
		pe = calloc(count ? count : 1, sizeof(*pe));
		if (!pe)
			return catalog_oom(cb->err);
		for (size_t i = 0; i < count; i++) {
			pe[i].src = (unsigned)cb->image_src;
			pe[i].offset = ext[i].offset;
			pe[i].length = ext[i].length;
		}
		r = pack_builder_add_file(cb->b, path, pe, count, sha, cb->err);
		free(pe);
	} else {
		struct pack_extent pe = { 0, 0, size };
		int fd = source_node_open(cb->src, n);

		if (fd < 0)
			return aero_error_set(cb->err, fd,
					      "%s: cannot open: "
					      "%s",
					      source_node_name(n),
					      strerror(-fd));
		r = pack_builder_add_source(cb->b, fd, size);
		close(fd);
		if (r < 0)
			return aero_error_set(cb->err, r, "%s: %s", path,
					      strerror(-r));
		pe.src = (unsigned)r;
		r = pack_builder_add_file(cb->b, path, &pe, 1, sha, cb->err);
	}
	if (r < 0) {
		if (!cb->err || !cb->err->msg[0])
			aero_error_set(cb->err, r, "%s", strerror(-r));
		aero_error_prefix(cb->err, "%s", path);
		return r;
	}
	return catalog_note_file(cb, path, size, sha);
}

int catalog_add_blob(struct catalog_build *cb, const char *path, char *data,
		     size_t len)
{
	unsigned char sha[32];
	int r;

	if (!data)
		return catalog_oom(cb->err);
	r = pack_builder_add_blob(cb->b, path, data, len, sha, cb->err);
	free(data);
	if (r < 0)
		return r;
	return catalog_note_file(cb, path, len, sha);
}

static bool catalog_is_pdb(const char *name)
{
	size_t len = strlen(name);

	return len >= 4 && !strcasecmp(name + len - 4, ".pdb");
}

/*
 * Adds everything under DIR to PREFIX ("" for the pack root), keeping
 * upstream names.  Non-regular entries are skipped (source.h never follows
 * them), and so is OS junk (Thumbs.db...); at the pack root, so is a
 * mounted aerofs tree's .aerofs/.  A name Windows cannot store fails.
 */
int catalog_add_tree(struct catalog_build *cb, const struct source_node *dir,
		     const char *prefix, bool drop_pdb, unsigned depth)
{
	int r;

	if (*prefix) {
		r = pack_builder_add_dir(cb->b, prefix, cb->err);
		if (r < 0)
			return r;
	}
	if (depth > PACK_DEPTH_MAX)
		return aero_error_set(cb->err, -ELOOP, "%s: too deep", prefix);
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *c = source_node_child(dir, i);
		const char *name = source_node_name(c);
		const char *bad;
		char path[PATH_MAX];

		if (select_is_junk_name(name) ||
		    (!*prefix && !strcmp(name, ".aerofs")))
			continue;
		bad = select_windows_name_problem(name);
		if (bad) {
			/* the name may hold control characters: escaped */
			char *e = termesc_dup(name);

			r = aero_error_set(cb->err, -EINVAL,
					   "%s%s%s: Windows cannot store this "
					   "name: %s",
					   prefix, *prefix ? "/" : "",
					   e ? e : "?", bad);
			free(e);
			return r;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix,
				     *prefix ? "/" : "", name) >= sizeof(path))
			return aero_error_set(cb->err, -ENAMETOOLONG,
					      "%s/%s: path too long", prefix,
					      name);
		switch (source_node_type(c)) {
		case SOURCE_NODE_DIR:
			r = catalog_add_tree(cb, c, path, drop_pdb, depth + 1);
			break;
		case SOURCE_NODE_FILE:
			if (drop_pdb && catalog_is_pdb(name))
				continue;
			r = catalog_add_source_file(cb, c, path);
			break;
		default:
			log_msg(LOG_LEVEL_INFO,
				"%s: not a regular file, "
				"skipped",
				path);
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int catalog_devices_cmd(struct catalog_build *cb,
			const struct source_node *(*dir)[SELECT_NTARGETS],
			const char *const *id, size_t n, char **text,
			size_t *len)
{
	enum {
		INFS_MAX = 64
	};
	struct devices_inf infs[INFS_MAX];
	unsigned char *data[INFS_MAX];
	char *name[INFS_MAX], generator[64];
	size_t ninfs = 0;
	int r = 0;

	snprintf(generator, sizeof(generator), "aerofs %s", AEROFS_VERSION);
	for (size_t i = 0; i < n && r == 0; i++)
		for (size_t t = 0; t < SELECT_NTARGETS && r == 0; t++) {
			const struct source_node *d = dir[i][t];
			const char *arch = select_target_arch(
				(enum select_target)t);

			for (size_t k = 0;
			     d && k < source_node_nchildren(d) && r == 0; k++) {
				const struct source_node *c =
					source_node_child(d, k);
				const char *cn = source_node_name(c);
				size_t cl = strlen(cn);

				if (source_node_type(c) != SOURCE_NODE_FILE ||
				    cl <= 4 || strcasecmp(cn + cl - 4, ".inf"))
					continue;
				if (ninfs == INFS_MAX) {
					r = aero_error_set(cb->err, -EFBIG,
							   "more than %d INFs",
							   INFS_MAX);
					break;
				}
				if (asprintf(&name[ninfs], "win7/%s/%s/%s",
					     arch, id[i], cn) < 0) {
					r = catalog_oom(cb->err);
					break;
				}
				r = inspect_read(cb->src, c, INF_MAX_SIZE,
						 &data[ninfs], &infs[ninfs].len,
						 cb->err);
				if (r < 0) {
					aero_error_prefix(cb->err, "%s",
							  name[ninfs]);
					free(name[ninfs]);
					break;
				}
				infs[ninfs].driver = id[i];
				infs[ninfs].arch = arch;
				infs[ninfs].name = name[ninfs];
				infs[ninfs].data = data[ninfs];
				ninfs++;
			}
		}
	if (r == 0)
		r = devices_cmd_render(infs, ninfs, generator, text, len,
				       cb->err);
	for (size_t i = 0; i < ninfs; i++) {
		free(data[i]);
		free(name[i]);
	}
	return r;
}

/* True if NAME ends in SUFFIX, ignoring ASCII case. */
static bool catalog_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n >= k && strcasecmp(name + n - k, suffix) == 0;
}

/*
 * Asks the kernel to start reading every file below DIR in an image source
 * (advice only; bounded like catalog_add_tree()), so that the disk works
 * on all of them at once while the first are hashed: file by file, a cold
 * build waits for each file's reads in turn.  CHECKED_ONLY: only the INF
 * and catalog files the checks read (inspect.h), a few kilobytes each,
 * which are otherwise read one after the other.
 */
static void catalog_prefetch_tree(const struct catalog_build *cb,
				  const struct source_node *dir, unsigned depth,
				  bool checked_only)
{
	const struct source_extent *ext;
	size_t count;

	if (!dir || depth > PACK_DEPTH_MAX)
		return;
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *c = source_node_child(dir, i);

		if (source_node_type(c) == SOURCE_NODE_DIR)
			catalog_prefetch_tree(cb, c, depth + 1, checked_only);
		if (source_node_type(c) != SOURCE_NODE_FILE ||
		    (checked_only &&
		     !catalog_has_suffix(source_node_name(c), ".inf") &&
		     !catalog_has_suffix(source_node_name(c), ".cat")) ||
		    source_node_extents(c, &ext, &count) < 0)
			continue;
		for (size_t k = 0; k < count; k++)
			io_advise_willneed(source_fd(cb->src), ext[k].offset,
					   ext[k].length);
	}
}

/* "name" of the source: the basename, never the host path. */
static char *catalog_source_name(const char *path)
{
	char *real = realpath(path, NULL);
	const char *base, *use = real ? real : path;
	char *copy, *out;
	size_t len;

	copy = strdup(use);
	free(real);
	if (!copy)
		return NULL;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	base = strrchr(copy, '/');
	base = base && base[1] ? base + 1 : copy;
	out = strdup(base);
	free(copy);
	return out;
}

/* SHA-256 of the whole image: only with source-hash, it reads 700 MB. */
static int catalog_hash_source(const struct source *s,
			       const struct pack_cancel *cancel, char hex[65],
			       struct aero_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(1 << 20), md[32];
	uint64_t off = 0, size = source_size(s);
	unsigned int mdlen = 0;
	int r = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = catalog_oom(err);
		goto out;
	}
	while (off < size) {
		size_t want = size - off > (1 << 20) ? (1 << 20) :
						       (size_t)(size - off);
		size_t k = 0;

		if (pack_cancelled(cancel)) {
			r = aero_error_set(err, -ECANCELED, "cancelled");
			goto out;
		}
		if (io_pread_full(source_fd(s), buf, want, off, &k) < 0) {
			r = aero_error_set(err, -EIO,
					   "cannot read the source "
					   "at offset %llu to hash it",
					   (unsigned long long)(off + k));
			goto out;
		}
		if (!EVP_DigestUpdate(ctx, buf, want)) {
			r = catalog_oom(err);
			goto out;
		}
		off += want;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		r = catalog_oom(err);
		goto out;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return r;
}

/* First non-empty line of VERSION-like root files, trimmed. */
static bool catalog_version_file(const struct source *s, char *out, size_t size)
{
	static const char *const names[] = {
		"VERSION",
		"VERSION.txt",
		"version.txt",
		"virtio-win-version.txt",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct source_node *n;
		unsigned char *buf;
		size_t len, a, e;

		n = source_node_find(source_root(s), names[i]);
		if (!n || source_node_type(n) != SOURCE_NODE_FILE)
			continue;
		if (inspect_read(s, n, 4096, &buf, &len, NULL) < 0)
			continue;
		/* UTF-8 BOM, then blanks and empty lines */
		a = len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
		while (a < len && (buf[a] == ' ' || buf[a] == '\t' ||
				   buf[a] == '\r' || buf[a] == '\n'))
			a++;
		e = a;
		while (e < len && buf[e] != '\r' && buf[e] != '\n')
			e++;
		while (e > a && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
			e--;
		if (e > a && e - a < size) {
			bool printable = true;

			for (size_t k = a; k < e; k++)
				printable &= buf[k] >= 0x20 && buf[k] < 0x7f;
			if (printable) {
				memcpy(out, buf + a, e - a);
				out[e - a] = '\0';
				free(buf);
				return true;
			}
		}
		free(buf);
	}
	return false;
}

/*
 * Logs MSG, which quotes the source (INF values, names), with its control
 * characters escaped (termesc.h): the log may be a terminal.
 */
void catalog_log_quoted(enum log_level level, const char *fmt, const char *msg)
{
	char *e = termesc_dup(msg);

	log_msg(level, fmt, e ? e : "?");
	free(e);
}

void catalog_synth_target(struct synth_driver *d, size_t t,
			  const char *source_path,
			  const struct inspect_result *res)
{
	d->source_path[t] = source_path;
	d->inf[t] = res->inf_file;
	d->driver_ver[t] = res->driver_ver;
	d->provider[t] = res->provider;
	d->signer[t] = res->has_catalog ? res->signer : NULL;
	d->digest[t] = res->has_catalog ? res->digest : NULL;
}

void catalog_set_report(struct catalog_report *r, const char *label)
{
	snprintf(r->label, sizeof(r->label), "%s", label);
}

/* The manifest of the source if the source is a pack, else NULL. */
static cJSON *catalog_pack_manifest(const struct source *s,
				    unsigned char **text, size_t *len)
{
	const struct source_node *n;
	cJSON *man, *pack;

	*text = NULL;
	n = source_node_find(source_root(s), "manifest.json");
	if (!n || source_node_type(n) != SOURCE_NODE_FILE)
		return NULL;
	if (inspect_read(s, n, CATALOG_MANIFEST_MAX, text, len, NULL) < 0)
		return NULL;
	man = cJSON_ParseWithLength((const char *)*text, *len);
	pack = cJSON_GetObjectItemCaseSensitive(man, "pack");
	if (cJSON_IsString(pack) &&
	    !strcmp(pack->valuestring, MANIFEST_PACK_NAME))
		return man;
	cJSON_Delete(man);
	free(*text);
	*text = NULL;
	return NULL;
}

/* ---- a fresh pack ----------------------------------------------------- */

struct catalog_fresh {
	struct selection sel;
	struct inspect_result res[SELECT_NDRIVERS][SELECT_NTARGETS];
	const struct source_node *notices[64];
	size_t nnotices;
	struct strlist notice_names; /* sorted, for the manifest */
	char version[128];
	bool has_version;
	int64_t epoch;
	const char *epoch_source;
	char *source_name;
	char hash[65];
	const char *label;
};

static void catalog_fresh_free(struct catalog_fresh *f)
{
	for (size_t i = 0; i < SELECT_NDRIVERS; i++)
		for (size_t t = 0; t < SELECT_NTARGETS; t++)
			inspect_result_free(&f->res[i][t]);
	select_free(&f->sel);
	strlist_free(&f->notice_names);
	free(f->source_name);
}

static int catalog_find_notices(const struct source *s, struct catalog_fresh *f)
{
	const struct source_node *root = source_root(s);
	struct strlist seen = STRLIST_INIT;
	size_t left_out = 0;
	int r = 0;

	for (size_t i = 0; i < source_node_nchildren(root); i++) {
		const struct source_node *c = source_node_child(root, i);
		const char *name = source_node_name(c);

		if (source_node_type(c) != SOURCE_NODE_FILE ||
		    !select_is_notice_name(name) ||
		    strlist_has(&seen, name, true))
			continue;
		if (f->nnotices == sizeof(f->notices) / sizeof(f->notices[0])) {
			left_out++;
			continue;
		}
		if (strlist_add(&seen, name) < 0 ||
		    strlist_add(&f->notice_names, name) < 0) {
			r = -ENOMEM;
			break;
		}
		f->notices[f->nnotices++] = c;
	}
	strlist_free(&seen);
	strlist_sort(&f->notice_names);
	/* a hostile source, not virtio-win: say so rather than cut silently */
	if (!r && left_out &&
	    strlist_addf(&f->sel.warnings,
			 "%zu more license or notice files at the root of the "
			 "source were left out (at most %zu are copied)",
			 left_out,
			 sizeof(f->notices) / sizeof(f->notices[0])) < 0)
		r = -ENOMEM;
	if (!r && !f->nnotices &&
	    strlist_add(&f->sel.warnings,
			"no upstream license or notice "
			"files were found at the root of the virtio-win "
			"source") < 0)
		r = -ENOMEM;
	return r;
}

static int catalog_resolve_epoch(const struct catalog_build *cb,
				 struct catalog_fresh *f)
{
	bool have_cat = false;
	int64_t t, newest = 0;
	int r;

	if (cb->opts->epoch_set) {
		f->epoch = cb->opts->epoch;
		f->epoch_source = "option";
		return 0;
	}
	r = catalog_epoch_from_env(&t, cb->err);
	if (r < 0)
		return r;
	if (r > 0) {
		f->epoch = t;
		f->epoch_source = "SOURCE_DATE_EPOCH";
		return 0;
	}
	if (source_volume_time(cb->src, &t)) {
		f->epoch = t;
		f->epoch_source = "volume";
		return 0;
	}
	for (size_t i = 0; i < f->sel.ndrv; i++)
		for (size_t k = 0; k < SELECT_NTARGETS; k++) {
			const struct inspect_result *res = &f->res[i][k];

			if (!res->has_time || (have_cat && res->time <= newest))
				continue;
			newest = res->time;
			have_cat = true;
		}
	f->epoch = have_cat ? newest : 0;
	f->epoch_source = have_cat ? "catalog" : "default";
	return 0;
}

const char *catalog_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* config/devices.cmd from the included drivers' INFs (devices.h). */
static int catalog_fresh_devices(struct catalog_build *cb,
				 const struct catalog_fresh *f)
{
	const struct source_node *dir[SELECT_NDRIVERS][SELECT_NTARGETS];
	const char *id[SELECT_NDRIVERS];
	size_t n = 0, len;
	char *text;
	int r;

	for (size_t i = 0; i < f->sel.ndrv; i++) {
		const struct select_driver *d = &f->sel.drv[i];

		if (!select_included(d))
			continue;
		id[n] = d->def->id;
		for (size_t t = 0; t < SELECT_NTARGETS; t++)
			dir[n][t] = d->t[t].arch_node;
		n++;
	}
	r = catalog_devices_cmd(cb, dir, id, n, &text, &len);
	if (r < 0)
		return r;
	return catalog_add_blob(cb, "config/devices.cmd", text, len);
}

static int catalog_synthesize(struct catalog_build *cb, struct catalog_fresh *f)
{
	struct synth_driver drv[SELECT_NDRIVERS];
	const char *missing[SELECT_NDRIVERS];
	char generator[64];
	struct synth_info info;
	size_t n = 0, nmissing = 0, len;
	char *text;
	int r;

	memset(drv, 0, sizeof(drv));
	for (size_t i = 0; i < f->sel.ndrv; i++) {
		const struct select_driver *d = &f->sel.drv[i];

		if (!select_included(d)) {
			missing[nmissing++] = d->def->id;
			continue;
		}
		drv[n].id = d->def->id;
		drv[n].upstream = d->def->upstream;
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			catalog_synth_target(&drv[n], t, d->t[t].source_path,
					     &f->res[i][t]);
		}
		n++;
	}
	snprintf(generator, sizeof(generator), "aerofs %s", AEROFS_VERSION);
	info = (struct synth_info){
		.drivers = drv,
		.ndrivers = n,
		.missing = missing,
		.nmissing = nmissing,
		.notices = (const char *const *)f->notice_names.v,
		.nnotices = f->notice_names.n,
		.version = f->has_version ? f->version : NULL,
		.generator = generator,
	};
	text = synth_readme(&info, &len);
	r = catalog_add_blob(cb, "README.txt", text, len);
	if (r < 0)
		return r;
	text = synth_notices(&info, &len);
	r = catalog_add_blob(cb, "THIRD_PARTY_NOTICES.md", text, len);
	if (r < 0)
		return r;
	text = synth_install_cmd(&len);
	r = catalog_add_blob(cb, "install.cmd", text, len);
	if (r < 0)
		return r;
	text = synth_testsigning_cmd(&len);
	r = catalog_add_blob(cb, "enable-testsigning.cmd", text, len);
	if (r < 0)
		return r;
	return catalog_fresh_devices(cb, f);
}

/*
 * The manifest of a fresh pack: the files added so far, and F.  With
 * DIGEST_AT (cb->nfiles entries), where each file's digest is in it.
 */
static char *catalog_manifest(struct catalog_build *cb,
			      const struct catalog_fresh *f, size_t *len,
			      uint64_t *digest_at)
{
	const struct source *s = cb->src;
	struct manifest man = {
	    .epoch = f->epoch,
	    .epoch_source = f->epoch_source,
	    .label = f->label,
	    .source =
		{
		    .image = source_kind(s) == SOURCE_KIND_IMAGE,
		    .name = f->source_name,
		    .names = source_names(s),
		    .volume_label = source_volume_label(s),
		    .derived_version = f->has_version ? f->version : NULL,
		    .size = source_size(s),
		    .hash = f->hash[0] ? f->hash : NULL,
		    .notices = &f->notice_names,
		},
	    .strict_optional = cb->opts->strict_optional,
	    .drop_pdb = cb->opts->drop_pdb,
	    .sel = &f->sel,
	    .res = f->res,
	};

	qsort(cb->files, cb->nfiles, sizeof(*cb->files), catalog_file_cmp);
	man.files = cb->files;
	man.nfiles = cb->nfiles;
	return manifest_render(&man, len, digest_at);
}

/*
 * Adds manifest.json, whose digests the pack fills in (at once, or in
 * pack_complete() when hashing is deferred), and keeps its text for the
 * report when it is final.
 */
static int catalog_add_manifest(struct catalog_build *cb,
				const struct catalog_fresh *f,
				struct catalog_report *rep)
{
	struct pack_digest_slot *slots;
	uint64_t *at;
	char *text = NULL;
	size_t len;
	int r;

	slots = calloc(cb->nfiles + 1, sizeof(*slots));
	at = calloc(cb->nfiles + 1, sizeof(*at));
	if (slots && at)
		text = catalog_manifest(cb, f, &len, at);
	if (!text) {
		r = catalog_oom(cb->err);
		goto out;
	}
	for (size_t i = 0; i < cb->nfiles; i++)
		slots[i] = (struct pack_digest_slot){ at[i],
						      cb->files[i].path };
	r = pack_builder_add_blob_digests(cb->b, "manifest.json", text, len,
					  slots, cb->nfiles, cb->err);
	if (r == 0 && !cb->opts->defer_hashes) {
		rep->json = text;
		rep->json_len = len;
		text = NULL;
	}
out:
	free(text);
	free(slots);
	free(at);
	return r;
}

/*
 * The report (report.h) of a fresh pack: what the manifest says, the
 * inspections moved out of F.
 */
static int catalog_fresh_report(const struct catalog_build *cb,
				struct catalog_fresh *f, struct report *rep)
{
	static const enum select_target order[] = { SELECT_AMD64, SELECT_X86 };
	const struct source *s = cb->src;
	int r = 0;

	r |= report_set(&rep->source.name, f->source_name);
	rep->source.kind = source_kind(s) == SOURCE_KIND_IMAGE ? "iso" :
								 "directory";
	r |= report_set(&rep->source.names, source_names(s));
	r |= report_set(&rep->source.volume_label, source_volume_label(s));
	r |= report_set(&rep->source.version,
			f->has_version ? f->version : NULL);
	rep->epoch = f->epoch;
	r |= report_set(&rep->epoch_source, f->epoch_source);
	for (size_t i = 0; i < f->sel.ndrv; i++) {
		const struct select_driver *sd = &f->sel.drv[i];
		struct report_driver *d = &rep->drv[rep->ndrv++];

		d->name = sd->def->id;
		d->required = sd->def->required;
		d->status = select_status_name(sd->status);
		if (select_included(sd) &&
		    strlist_add(&rep->drivers, d->name) < 0)
			r = -ENOMEM;
		for (size_t k = 0; k < 2 && !d->error_target; k++)
			if (!sd->t[order[k]].present &&
			    sd->t[order[k]].error[0]) {
				d->error_target = select_target_name(order[k]);
				r |= report_set(&d->error,
						sd->t[order[k]].error);
			}
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			struct report_target *rt = &d->t[t];

			if (!sd->t[t].present)
				continue;
			rt->present = true;
			r |= report_set(&rt->source_path, sd->t[t].source_path);
			rt->res = f->res[i][t];
			memset(&f->res[i][t], 0, sizeof(f->res[i][t]));
		}
	}
	strlist_sort(&rep->drivers);
	for (size_t i = 0; i < f->sel.warnings.n; i++)
		if (strlist_add(&rep->warnings, f->sel.warnings.v[i]) < 0)
			r = -ENOMEM;
	return r < 0 ? -ENOMEM : 0;
}

/* win7/<arch>/<name>/ of every extra driver (extras.h), by reference. */
static int catalog_add_extras(struct catalog_build *cb)
{
	struct source *main_src = cb->src;
	int r = 0;

	if (!cb->extras)
		return 0;
	/* catalog_add_tree() reads from cb->src: the extras' for now */
	cb->src = extras_source(cb->extras);
	for (size_t t = 0; r == 0 && t < SELECT_NTARGETS; t++)
		for (size_t i = 0; r == 0 && i < extras_count(cb->extras);
		     i++) {
			char prefix[96];

			snprintf(prefix, sizeof(prefix), "win7/%s/%s",
				 select_target_arch((enum select_target)t),
				 extras_name(cb->extras, i));
			r = catalog_add_tree(cb,
					     extras_dir(cb->extras, i,
							(enum select_target)t),
					     prefix, cb->opts->drop_pdb, 3);
		}
	cb->src = main_src;
	return r;
}

static int catalog_fresh(struct catalog_build *cb, const char *source_path,
			 const struct select_driver_def *const *defs,
			 size_t ndefs, struct catalog_report *rep)
{
	const struct catalog_options *o = cb->opts;
	struct catalog_fresh *f = calloc(1, sizeof(*f));
	const struct source_node *root = source_root(cb->src);
	size_t failed = 0;
	int r;

	if (!f)
		return catalog_oom(cb->err);
	r = select_run(root, defs, ndefs, o->strict_optional, &f->sel, cb->err);
	if (r < 0)
		goto out;
	r = catalog_find_notices(cb->src, f);
	if (r < 0) {
		catalog_oom(cb->err);
		goto out;
	}
	/* ECMA-119 7.5: level 1 names are 8.3 uppercase, so INFs miss files */
	if (!strcmp(source_names(cb->src), "iso9660") &&
	    strlist_add(&f->sel.warnings,
			"the image has only ISO9660 8.3 "
			"names (no Rock Ridge, Joliet or ISO9660:1999 "
			"names): long file names are cut and INFs may not "
			"find their files; use an image with Rock Ridge or "
			"Joliet") < 0) {
		r = catalog_oom(cb->err);
		goto out;
	}
	if (source_skipped(cb->src) &&
	    strlist_addf(&f->sel.warnings,
			 "%zu entries of the source were "
			 "left out: unusable or duplicate names (each is "
			 "logged)",
			 source_skipped(cb->src)) < 0) {
		r = catalog_oom(cb->err);
		goto out;
	}
	f->source_name = catalog_source_name(source_path);
	if (!f->source_name) {
		r = catalog_oom(cb->err);
		goto out;
	}
	if (catalog_version_file(cb->src, f->version, sizeof(f->version)) ||
	    (source_volume_label(cb->src) &&
	     select_version_from_name(source_volume_label(cb->src), f->version,
				      sizeof(f->version))) ||
	    select_version_from_name(f->source_name, f->version,
				     sizeof(f->version)))
		f->has_version = true;
	/* The checks read every INF and catalog file: ask for all first. */
	for (size_t i = 0; i < f->sel.ndrv; i++)
		for (size_t t = 0; select_included(&f->sel.drv[i]) &&
				   source_kind(cb->src) == SOURCE_KIND_IMAGE &&
				   t < SELECT_NTARGETS;
		     t++)
			catalog_prefetch_tree(cb, f->sel.drv[i].t[t].arch_node,
					      3, true);
	for (size_t i = 0; i < f->sel.ndrv; i++) {
		const struct select_driver *d = &f->sel.drv[i];

		if (!select_included(d))
			continue;
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			r = inspect_driver(cb->src, d->def,
					   (enum select_target)t,
					   d->t[t].arch_node, &f->sel.warnings,
					   &f->res[i][t], cb->err);
			if (r < 0)
				goto out;
		}
	}
	r = catalog_resolve_epoch(cb, f);
	if (r < 0)
		goto out;
	if (o->source_hash && source_kind(cb->src) == SOURCE_KIND_IMAGE) {
		r = catalog_hash_source(cb->src, o->cancel, f->hash, cb->err);
		if (r < 0)
			goto out;
	}
	f->label = o->label ? o->label : CATALOG_DEFAULT_LABEL;
	catalog_set_report(rep, f->label);

	cb->b = pack_builder_new(f->epoch);
	if (!cb->b) {
		r = catalog_oom(cb->err);
		goto out;
	}
	pack_builder_set_cancel(cb->b, o->cancel);
	if (o->defer_hashes)
		pack_builder_defer_hashes(cb->b);
	if (source_kind(cb->src) == SOURCE_KIND_IMAGE) {
		r = pack_builder_add_source(cb->b, source_fd(cb->src),
					    source_size(cb->src));
		if (r < 0) {
			aero_error_set(cb->err, r, "cannot use the image: %s",
				       strerror(-r));
			goto out;
		}
		cb->image_src = r;
		/* Deferred, pack_complete() asks for them when it hashes. */
		for (size_t t = 0; !o->defer_hashes && t < SELECT_NTARGETS; t++)
			for (size_t i = 0; i < f->sel.ndrv; i++) {
				const struct select_driver *d = &f->sel.drv[i];

				if (select_included(d))
					catalog_prefetch_tree(cb,
							      d->t[t].arch_node,
							      3, false);
			}
	}
	for (size_t t = 0; t < SELECT_NTARGETS; t++)
		for (size_t i = 0; i < f->sel.ndrv; i++) {
			const struct select_driver *d = &f->sel.drv[i];
			char prefix[64];

			if (!select_included(d))
				continue;
			snprintf(prefix, sizeof(prefix), "win7/%s/%s",
				 select_target_arch((enum select_target)t),
				 d->def->id);
			r = catalog_add_tree(cb, d->t[t].arch_node, prefix,
					     o->drop_pdb, 3);
			if (r < 0)
				goto out;
		}
	r = catalog_add_extras(cb);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < f->nnotices; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "licenses/virtio-win/%s",
			 source_node_name(f->notices[i]));
		r = catalog_add_source_file(cb, f->notices[i], path);
		if (r < 0)
			goto out;
	}
	r = catalog_synthesize(cb, f);
	if (r < 0)
		goto out;
	for (size_t i = 0; !o->quiet && i < f->sel.warnings.n; i++)
		catalog_log_quoted(LOG_LEVEL_WARNING, "%s",
				   f->sel.warnings.v[i]);
	rep->warnings = f->sel.warnings.n;
	for (size_t i = 0; i < f->sel.ndrv; i++)
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			rep->checks += f->res[i][t].nchecks;
			failed += f->res[i][t].nfailed;
		}
	rep->failed = failed;
	r = catalog_add_manifest(cb, f, rep);
	if (r == 0 && catalog_fresh_report(cb, f, &rep->data) < 0)
		r = catalog_oom(cb->err);
out:
	catalog_fresh_free(f);
	free(f);
	return r;
}

int catalog_build(const char *source_path, const struct catalog_options *opts,
		  struct pack **out, struct catalog_report **report,
		  struct aero_error *err)
{
	static const struct catalog_options defaults;
	const struct select_driver_def *defs[SELECT_NDRIVERS];
	struct catalog_build cb = { 0 };
	struct catalog_report *rep;
	unsigned char *text = NULL;
	size_t ndefs, len = 0;
	cJSON *man;
	int64_t ignored;
	int r;

	*out = NULL;
	if (report)
		*report = NULL;
	if (!opts)
		opts = &defaults;
	r = select_parse_drivers(opts->drivers, defs, &ndefs, err);
	if (r < 0)
		return r;
	if (opts->label && !catalog_label_valid(opts->label))
		return aero_error_set(err, -EINVAL,
				      "invalid volume label "
				      "'%s': use 1 to 16 characters of A-Z "
				      "a-z 0-9 _ . -",
				      opts->label);
	/* A malformed SOURCE_DATE_EPOCH is an error even when unused. */
	if (!opts->epoch_set && catalog_epoch_from_env(&ignored, err) < 0)
		return -EINVAL;
	/* the user's own inputs first: refused before anything is built */
	if (opts->cert) {
		unsigned char *data;
		size_t clen;
		char *name;

		r = cert_load(opts->cert, &data, &clen, &name, err);
		if (r < 0)
			return r;
		free(data);
		free(name);
	}
	if (opts->extra_drivers) {
		r = extras_open(opts->extra_drivers, &cb.extras, err);
		if (r < 0)
			return r;
	}
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		extras_free(cb.extras);
		return catalog_oom(err);
	}
	cb.opts = opts;
	cb.err = err;
	cb.image_src = -1;
	r = source_open(source_path, NULL, &cb.src, err);
	if (r < 0)
		goto out;
	man = catalog_pack_manifest(cb.src, &text, &len);
	if (man && cb.extras)
		r = aero_error_set(err, -EINVAL,
				   "extra-drivers= needs a virtio-win source; "
				   "this source is already a driver pack");
	else if (man)
		r = catalog_import(&cb, man, text, len, rep);
	else
		r = catalog_fresh(&cb, source_path, defs, ndefs, rep);
	cJSON_Delete(man);
	free(text);
	if (r < 0)
		goto out;
	if ((r = pack_builder_set_label(cb.b, catalog_report_label(rep))) < 0) {
		aero_error_set(err, r, "invalid volume label");
		goto out;
	}
	r = pack_builder_finish(cb.b, out);
	cb.b = NULL;
	if (r < 0) {
		aero_error_set(err, r, "cannot finish the pack: %s",
			       strerror(-r));
		goto out;
	}
out:
	pack_builder_free(cb.b);
	source_close(cb.src);
	extras_free(cb.extras);
	for (size_t i = 0; i < cb.nfiles; i++)
		free(cb.files[i].path);
	free(cb.files);
	if (r < 0 || !report)
		catalog_report_free(rep);
	else
		*report = rep;
	return r;
}

char *catalog_report_json(const struct catalog_report *r)
{
	return r && r->json ? strdup(r->json) : NULL;
}

size_t catalog_report_warnings(const struct catalog_report *r)
{
	return r->warnings;
}

size_t catalog_report_checks(const struct catalog_report *r)
{
	return r->checks;
}

size_t catalog_report_failed_checks(const struct catalog_report *r)
{
	return r->failed;
}

size_t catalog_report_stray_files(const struct catalog_report *r)
{
	return r->stray_files;
}

const char *catalog_report_label(const struct catalog_report *r)
{
	return r->label;
}

const struct report *catalog_report_details(const struct catalog_report *r)
{
	return &r->data;
}

void catalog_report_free(struct catalog_report *r)
{
	if (!r)
		return;
	report_free(&r->data);
	free(r->json);
	free(r);
}
