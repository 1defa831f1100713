/*
 * import.c: a pack as the source (catalog_import(), build_i.h).
 *
 * A source whose root manifest.json says "pack": "aero-win7-driver-pack"
 * (a mounted aerofs tree, an exported directory or image) is taken over,
 * so that exporting a mount gives the same bytes as exporting its source.
 * But a manifest is only a claim that anyone can write, so nothing in it
 * is believed that can be checked instead:
 *
 *  - Only what aerofs puts in a pack is served: win7/<arch>/<driver>/ (x86
 *    and amd64, the four driver ids), licenses/virtio-win/<notice>,
 *    manifest.json and the synthesized files.  An image's $WinPEDriver$
 *    copy of win7/ is left out (the image made from this pack adds its
 *    own); anything else at those levels refuses the pack.  Both
 *    required drivers must be there for both architectures, an optional
 *    one for both or neither, each folder with an INF.
 *  - Every INF and catalog check is run again on the driver folders
 *    (inspect.h).  The report counts what they find, not what the manifest
 *    says; a manifest whose inf/catalog details or check counts differ
 *    from them counts as one more failed check per difference.
 *  - Every file is verified against the manifest's SHA-256 list: a
 *    changed, missing or unlisted file is a failed check.
 *  - README.txt, THIRD_PARTY_NOTICES.md, install.cmd and
 *    enable-testsigning.cmd are generated here again (synth.h) from the
 *    re-inspected drivers.  The pack's copies must be byte-identical, or
 *    the pack is refused: a script is never served from the source.
 *    So is config/devices.cmd (devices.h), from the re-inspected INFs.
 *
 * manifest.json itself is served as it is, for the byte-identical round
 * trip: what it lists has been verified and its checks re-derived.
 */
#include "catalog/stage/build_i.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/stage/inspect.h"
#include "catalog/stage/report.h"
#include "catalog/stage/select.h"
#include "catalog/stage/synth.h"
#include "catalog/util/sbuf.h"
#include "catalog/util/termesc.h"

#define IMPORT_NSYNTH 4
#define IMPORT_NOTICES_MAX 64
#define IMPORT_SYNTH_MAX (1u << 20)

static const char *const import_synth_names[IMPORT_NSYNTH] = {
	"README.txt",
	"THIRD_PARTY_NOTICES.md",
	"install.cmd",
	"enable-testsigning.cmd",
};

struct import {
	const struct select_driver_def *defs; /* the four, reference order */
	const struct source_node *dir[SELECT_NDRIVERS][SELECT_NTARGETS];
	struct inspect_result res[SELECT_NDRIVERS][SELECT_NTARGETS];
	const struct source_node *synth[IMPORT_NSYNTH];
	const struct source_node *devices; /* config/devices.cmd */
	struct strlist notices;		   /* licenses/virtio-win/, sorted */
	size_t order[SELECT_NDRIVERS];	   /* defs as drivers_requested lists */
	size_t norder;
	struct strlist warnings;   /* failed checks of the re-run */
	size_t checks, failed;	   /* of the re-run */
	struct strlist mismatches; /* claims of the manifest that do not hold */
	size_t stray_files;	   /* of those, files unlike the manifest */
	bool oom;
};

static int import_refuse(struct catalog_build *cb, const char *path,
			 const char *why)
{
	char *e = termesc_dup(path);
	int r = aero_error_set(cb->err, -EINVAL,
			       "%s: %s; this is not a pack as aerofs makes "
			       "them: build it again from the virtio-win "
			       "source",
			       e ? e : "?", why);

	free(e);
	return r;
}

/* A count from the manifest, 0 if it is not one (1e300 -> size_t is UB). */
static size_t import_count(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble > 0 &&
			       v->valuedouble < 9007199254740992.0 ?
		       (size_t)v->valuedouble :
		       0;
}

/* win7/<arch>/<driver>/: the only driver folders a pack has. */
static int import_win7(struct catalog_build *cb, struct import *im,
		       const struct source_node *win7)
{
	for (size_t i = 0; i < source_node_nchildren(win7); i++) {
		const struct source_node *a = source_node_child(win7, i);
		const char *an = source_node_name(a);
		enum select_target t = SELECT_NTARGETS;
		char path[PATH_MAX];

		if (select_is_junk_name(an))
			continue;
		for (size_t k = 0; k < SELECT_NTARGETS; k++)
			if (!strcmp(an,
				    select_target_arch((enum select_target)k)))
				t = (enum select_target)k;
		snprintf(path, sizeof(path), "win7/%s", an);
		if (t == SELECT_NTARGETS ||
		    source_node_type(a) != SOURCE_NODE_DIR)
			return import_refuse(cb, path,
					     "not an architecture folder "
					     "(x86, amd64)");
		for (size_t j = 0; j < source_node_nchildren(a); j++) {
			const struct source_node *d = source_node_child(a, j);
			const char *dn = source_node_name(d);
			size_t k;
			int r;

			if (select_is_junk_name(dn))
				continue;
			snprintf(path, sizeof(path), "win7/%s/%s", an, dn);
			for (k = 0; k < SELECT_NDRIVERS; k++)
				if (!strcmp(dn, im->defs[k].id))
					break;
			if (k == SELECT_NDRIVERS ||
			    source_node_type(d) != SOURCE_NODE_DIR)
				return import_refuse(cb, path,
						     "not a driver folder "
						     "(viostor, netkvm, "
						     "viosnd, vioinput)");
			if (!select_has_inf(d))
				return import_refuse(cb, path,
						     "a driver folder without "
						     "an INF");
			im->dir[k][t] = d;
			r = catalog_add_tree(cb, d, path, false, 3);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* config/: devices.cmd, nothing else. */
static int import_config(struct catalog_build *cb, struct import *im,
			 const struct source_node *dir)
{
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *c = source_node_child(dir, i);
		const char *cn = source_node_name(c);
		char path[PATH_MAX];

		if (select_is_junk_name(cn))
			continue;
		snprintf(path, sizeof(path), "config/%s", cn);
		if (strcmp(cn, "devices.cmd") ||
		    source_node_type(c) != SOURCE_NODE_FILE)
			return import_refuse(cb, path,
					     "not something a driver pack "
					     "holds");
		im->devices = c;
	}
	return 0;
}

/* licenses/virtio-win/<notice>: upstream's notices, nothing else. */
static int import_licenses(struct catalog_build *cb, struct import *im,
			   const struct source_node *lic)
{
	for (size_t i = 0; i < source_node_nchildren(lic); i++) {
		const struct source_node *v = source_node_child(lic, i);
		const char *vn = source_node_name(v);
		char path[PATH_MAX];

		if (select_is_junk_name(vn))
			continue;
		snprintf(path, sizeof(path), "licenses/%s", vn);
		if (strcmp(vn, "virtio-win") ||
		    source_node_type(v) != SOURCE_NODE_DIR)
			return import_refuse(cb, path,
					     "not the virtio-win notices "
					     "folder");
		for (size_t j = 0; j < source_node_nchildren(v); j++) {
			const struct source_node *f = source_node_child(v, j);
			const char *fn = source_node_name(f);
			int r;

			if (select_is_junk_name(fn))
				continue;
			snprintf(path, sizeof(path), "licenses/virtio-win/%s",
				 fn);
			if (source_node_type(f) != SOURCE_NODE_FILE ||
			    !select_is_notice_name(fn))
				return import_refuse(cb, path,
						     "not an upstream license "
						     "or notice file");
			if (im->notices.n == IMPORT_NOTICES_MAX)
				return import_refuse(cb, path,
						     "more notice files than "
						     "aerofs copies");
			if (strlist_add(&im->notices, fn) < 0)
				return catalog_oom(cb->err);
			r = catalog_add_source_file(cb, f, path);
			if (r < 0)
				return r;
		}
	}
	strlist_sort(&im->notices);
	return 0;
}

static int import_scan(struct catalog_build *cb, struct import *im)
{
	const struct source_node *root = source_root(cb->src);

	for (size_t i = 0; i < source_node_nchildren(root); i++) {
		const struct source_node *c = source_node_child(root, i);
		const char *name = source_node_name(c);
		bool file = source_node_type(c) == SOURCE_NODE_FILE;
		bool dir = source_node_type(c) == SOURCE_NODE_DIR;
		bool synth = false;
		int r = 0;

		/*
		 * Not the pack's: a mount's control folder, and the copy of
		 * win7/ that images add for Windows Setup (iso_image.c).
		 * Neither is served.
		 */
		if (select_is_junk_name(name) || !strcmp(name, ".aerofs") ||
		    !strcmp(name, "$WinPEDriver$") ||
		    !strcmp(name, "_WINPEDRIVER_"))
			continue;
		for (size_t k = 0; k < IMPORT_NSYNTH; k++)
			if (file && !strcmp(name, import_synth_names[k])) {
				im->synth[k] = c;
				synth = true;
			}
		if (synth)
			continue;
		if (file && !strcmp(name, "manifest.json"))
			r = catalog_add_source_file(cb, c, name);
		else if (dir && !strcmp(name, "win7"))
			r = import_win7(cb, im, c);
		else if (dir && !strcmp(name, "licenses"))
			r = import_licenses(cb, im, c);
		else if (dir && !strcmp(name, "config"))
			r = import_config(cb, im, c);
		else
			r = import_refuse(cb, name,
					  "not something a driver pack holds");
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < SELECT_NDRIVERS; i++) {
		const struct select_driver_def *def = &im->defs[i];
		bool x86 = im->dir[i][SELECT_X86];
		bool amd64 = im->dir[i][SELECT_AMD64];
		char path[64];

		snprintf(path, sizeof(path), "win7/%s/%s",
			 x86 ? "amd64" : "x86", def->id);
		if (def->required && !x86 && !amd64)
			return import_refuse(cb, path,
					     "missing: a required driver");
		if (x86 != amd64)
			return import_refuse(cb, path,
					     "missing while the other "
					     "architecture has the driver");
	}
	return 0;
}

/* details[TARGET] of driver ID in the manifest, or NULL. */
static const cJSON *import_details(const cJSON *man, const char *id,
				   enum select_target t)
{
	const cJSON *d;

	cJSON_ArrayForEach(d,
			   cJSON_GetObjectItemCaseSensitive(man,
							    "driver_results"))
	{
		const char *name = catalog_json_str(d, "name");

		if (!name || strcmp(name, id))
			continue;
		return cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(d, "details"),
			select_target_name(t));
	}
	return NULL;
}

/* A claim of the manifest that does not hold: logged, kept, counted. */
static void import_mismatch(struct import *im, const char *msg)
{
	catalog_log_quoted(LOG_LEVEL_ERR, "%s", msg);
	if (strlist_add(&im->mismatches, msg) < 0)
		im->oom = true;
}

/*
 * The drivers in the order drivers_requested lists them (the order of
 * README, the summary and the warnings): known ids, each once, every
 * driver of the pack among them.
 */
static int import_order(struct catalog_build *cb, struct import *im,
			const cJSON *man)
{
	const cJSON *e;
	bool seen[SELECT_NDRIVERS] = { false };

	cJSON_ArrayForEach(e,
			   cJSON_GetObjectItemCaseSensitive(man, "drivers_"
								 "requested"))
	{
		size_t i;

		for (i = 0; i < SELECT_NDRIVERS; i++)
			if (cJSON_IsString(e) &&
			    !strcmp(e->valuestring, im->defs[i].id))
				break;
		if (i == SELECT_NDRIVERS || seen[i])
			return import_refuse(cb, "manifest.json",
					     "drivers_requested is not a list "
					     "of driver ids");
		seen[i] = true;
		im->order[im->norder++] = i;
	}
	for (size_t i = 0; i < SELECT_NDRIVERS; i++)
		if (im->dir[i][SELECT_X86] && !seen[i])
			return import_refuse(cb, "manifest.json",
					     "drivers_requested leaves out a "
					     "driver the pack has");
	return 0;
}

/* Runs every check again and holds the manifest to what they find. */
static int import_inspect(struct catalog_build *cb, struct import *im,
			  const cJSON *man)
{
	const cJSON *chk = cJSON_GetObjectItemCaseSensitive(man, "checks");
	int r;

	for (size_t o = 0; o < im->norder; o++)
		for (size_t k = 0; k < SELECT_NTARGETS; k++) {
			size_t i = im->order[o];
			enum select_target t = (enum select_target)k;
			struct inspect_result *res = &im->res[i][k];
			const cJSON *det;
			cJSON *inf, *cat;
			char what[160];
			bool same;

			if (!im->dir[i][k])
				continue;
			r = inspect_driver(cb->src, &im->defs[i], t,
					   im->dir[i][k], &im->warnings, res,
					   cb->err);
			if (r < 0)
				return r;
			im->checks += res->nchecks;
			im->failed += res->nfailed;
			det = import_details(man, im->defs[i].id, t);
			inf = manifest_inf_json(res);
			cat = manifest_catalog_json(res);
			same = det &&
			       cJSON_Compare(inf,
					     cJSON_GetObjectItemCaseSensitive(
						     det, "inf"),
					     true) &&
			       cJSON_Compare(cat,
					     cJSON_GetObjectItemCaseSensitive(
						     det, "catalog"),
					     true);
			cJSON_Delete(inf);
			cJSON_Delete(cat);
			if (!inf || !cat)
				return catalog_oom(cb->err);
			if (same)
				continue;
			snprintf(what, sizeof(what),
				 "manifest.json: its INF and catalog results "
				 "for %s %s differ from the files'",
				 im->defs[i].id, select_target_name(t));
			import_mismatch(im, what);
		}
	if (import_count(cJSON_GetObjectItemCaseSensitive(chk, "total")) !=
		    im->checks ||
	    import_count(cJSON_GetObjectItemCaseSensitive(chk, "failed")) !=
		    im->failed) {
		char what[160];

		snprintf(what, sizeof(what),
			 "manifest.json: its check counts differ from the "
			 "%zu checks (%zu failed) run on the files",
			 im->checks, im->failed);
		import_mismatch(im, what);
	}
	return 0;
}

/* A manifest string fit for README text: printable ASCII, below MAX. */
static bool import_text_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return s && n < max;
}

/* config/devices.cmd generated again; the pack's copy must be the same. */
static int import_devices(struct catalog_build *cb, struct import *im)
{
	const struct source_node *dir[SELECT_NDRIVERS][SELECT_NTARGETS];
	const char *id[SELECT_NDRIVERS];
	unsigned char *have = NULL;
	size_t n = 0, len = 0, hlen = 0;
	char *text;
	bool same;
	int r;

	for (size_t i = 0; i < SELECT_NDRIVERS; i++) {
		if (!im->dir[i][SELECT_X86])
			continue;
		id[n] = im->defs[i].id;
		for (size_t t = 0; t < SELECT_NTARGETS; t++)
			dir[n][t] = im->dir[i][t];
		n++;
	}
	r = catalog_devices_cmd(cb, dir, id, n, &text, &len);
	if (r < 0)
		return r;
	if (!im->devices) {
		free(text);
		return import_refuse(cb, "config/devices.cmd", "missing");
	}
	r = inspect_read(cb->src, im->devices, IMPORT_SYNTH_MAX, &have, &hlen,
			 cb->err);
	same = r == 0 && hlen == len && !memcmp(have, text, len);
	free(have);
	if (r < 0 && r != -EFBIG) {
		free(text);
		return r;
	}
	if (!same) {
		free(text);
		return import_refuse(cb, "config/devices.cmd",
				     "differs from the file aerofs generates "
				     "for this pack (a generated file is "
				     "never served from the source)");
	}
	return catalog_add_blob(cb, "config/devices.cmd", text, len);
}

/* What synth.h needs, from the re-run and the manifest's provenance. */
static int import_synth(struct catalog_build *cb, struct import *im,
			const cJSON *man)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(man, "source");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(src,
							    "derived_version");
	struct synth_driver drv[SELECT_NDRIVERS];
	const char *missing[SELECT_NDRIVERS];
	struct synth_info info;
	char generator[64];
	size_t n = 0, nmissing = 0;

	memset(drv, 0, sizeof(drv));
	/* the order README lists them in: as they were requested */
	for (size_t o = 0; o < im->norder; o++) {
		size_t i = im->order[o];

		if (!im->dir[i][SELECT_X86]) {
			missing[nmissing++] = im->defs[i].id;
			continue;
		}
		drv[n].id = im->defs[i].id;
		drv[n].upstream = im->defs[i].upstream;
		for (size_t k = 0; k < SELECT_NTARGETS; k++) {
			const struct inspect_result *res = &im->res[i][k];
			const char *sp = catalog_json_str(
				import_details(man, im->defs[i].id,
					       (enum select_target)k),
				"source_path");

			if (!import_text_ok(sp, 256))
				return import_refuse(cb, "manifest.json",
						     "a driver's source_path "
						     "is missing or "
						     "not printable ASCII");
			catalog_synth_target(&drv[n], k, sp, res);
		}
		n++;
	}
	if (!cJSON_IsNull(ver) &&
	    !import_text_ok(ver ? ver->valuestring : NULL, 128))
		return import_refuse(cb, "manifest.json",
				     "source.derived_version is not "
				     "printable ASCII");
	snprintf(generator, sizeof(generator), "aerofs %s", AEROFS_VERSION);
	info = (struct synth_info){
		.drivers = drv,
		.ndrivers = n,
		.missing = missing,
		.nmissing = nmissing,
		.notices = (const char *const *)im->notices.v,
		.nnotices = im->notices.n,
		.version = cJSON_IsString(ver) ? ver->valuestring : NULL,
		.generator = generator,
	};
	for (size_t k = 0; k < IMPORT_NSYNTH; k++) {
		const char *name = import_synth_names[k];
		unsigned char *have = NULL;
		size_t len = 0, hlen = 0;
		char *text;
		bool same;
		int r;

		text = k == 0 ? synth_readme(&info, &len) :
		       k == 1 ? synth_notices(&info, &len) :
		       k == 2 ? synth_install_cmd(&len) :
				synth_testsigning_cmd(&len);
		if (!text)
			return catalog_oom(cb->err);
		if (!im->synth[k]) {
			free(text);
			return import_refuse(cb, name, "missing");
		}
		r = inspect_read(cb->src, im->synth[k], IMPORT_SYNTH_MAX, &have,
				 &hlen, cb->err);
		same = r == 0 && hlen == len && !memcmp(have, text, len);
		free(have);
		if (r < 0 && r != -EFBIG) {
			free(text);
			return r;
		}
		if (!same) {
			free(text);
			return import_refuse(cb, name,
					     "differs from the file aerofs "
					     "generates for this pack (a "
					     "generated file, above all a "
					     "script, is never served from "
					     "the source)");
		}
		r = catalog_add_blob(cb, name, text, len);
		if (r < 0)
			return r;
	}
	return import_devices(cb, im);
}

static void import_file_mismatch(struct import *im, const char *path,
				 const char *what)
{
	char *msg = NULL;

	im->stray_files++;
	if (asprintf(&msg, "%s: %s", path, what) < 0) {
		im->oom = true;
		return;
	}
	import_mismatch(im, msg);
	free(msg);
}

/* Every file against the manifest's list: changed, missing, unlisted. */
static int import_verify_files(struct catalog_build *cb, struct import *im,
			       const cJSON *man)
{
	const cJSON *f;
	bool *listed = calloc(cb->nfiles ? cb->nfiles : 1, sizeof(*listed));

	if (!listed)
		return catalog_oom(cb->err);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(man, "files"))
	{
		const char *p = catalog_json_str(f, "path");
		const char *h = catalog_json_str(f, "sha256");
		bool found = false;

		if (!p || !h)
			continue;
		for (size_t i = 0; i < cb->nfiles; i++) {
			char hex[65];

			if (strcmp(cb->files[i].path, p))
				continue;
			found = true;
			listed[i] = true;
			for (unsigned k = 0; k < 32; k++)
				snprintf(hex + 2 * k, 3, "%02x",
					 cb->files[i].sha256[k]);
			if (strcmp(hex, h))
				import_file_mismatch(im, p,
						     "content differs from "
						     "the pack's "
						     "manifest.json");
		}
		if (!found)
			import_file_mismatch(im, p,
					     "listed in the pack's "
					     "manifest.json but missing");
	}
	for (size_t i = 0; i < cb->nfiles; i++) {
		if (listed[i] || !strcmp(cb->files[i].path, "manifest.json"))
			continue;
		import_file_mismatch(im, cb->files[i].path,
				     "not listed in the pack's manifest.json");
	}
	free(listed);
	return im->oom ? catalog_oom(cb->err) : 0;
}

/* True for "<id> <target>: ...", the form of a failed check's warning. */
static bool import_is_check_warning(const char *w)
{
	const struct select_driver_def *defs;
	size_t n;

	defs = select_driver_defs(&n);
	for (size_t i = 0; i < n; i++)
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			size_t li = strlen(defs[i].id);
			const char *tn = select_target_name(
				(enum select_target)t);
			size_t lt = strlen(tn);

			if (!strncmp(w, defs[i].id, li) && w[li] == ' ' &&
			    !strncmp(w + li + 1, tn, lt) &&
			    !strncmp(w + li + 1 + lt, ": ", 2))
				return true;
		}
	return false;
}

/*
 * The report (report.h): the facts of the original source from the
 * manifest, the inspections run here (moved out of IM), and as warnings
 * the manifest's that are not failed checks, then the checks run here,
 * then the claims that did not hold.
 */
static int import_report(struct import *im, const cJSON *man, int64_t epoch,
			 struct report *rep)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(man, "source");
	const char *kind = catalog_json_str(src, "kind");
	const cJSON *w;
	int r = 0;

	r |= report_set(&rep->source.name, catalog_json_str(src, "name"));
	rep->source.kind = !kind		      ? NULL :
			   !strcmp(kind, "iso")	      ? "iso" :
			   !strcmp(kind, "directory") ? "directory" :
							NULL;
	r |= report_set(&rep->source.names, catalog_json_str(src, "names"));
	r |= report_set(&rep->source.volume_label,
			catalog_json_str(src, "volume_label"));
	r |= report_set(&rep->source.version,
			catalog_json_str(src, "derived_version"));
	rep->epoch = epoch;
	r |= report_set(&rep->epoch_source,
			catalog_json_str(man, "epoch_source"));
	for (size_t o = 0; o < im->norder; o++) {
		size_t i = im->order[o];
		struct report_driver *d = &rep->drv[rep->ndrv++];
		const cJSON *res = NULL, *e;
		const char *st;

		cJSON_ArrayForEach(e,
				   cJSON_GetObjectItemCaseSensitive(man,
								    "driver_"
								    "results"))
		{
			const char *name = catalog_json_str(e, "name");

			if (name && !strcmp(name, im->defs[i].id))
				res = e;
		}
		d->name = im->defs[i].id;
		d->required = im->defs[i].required;
		st = catalog_json_str(res, "status");
		d->status = im->dir[i][SELECT_X86]	 ? "included" :
			    st && !strcmp(st, "partial") ? "partial" :
							   "missing";
		if (im->dir[i][SELECT_X86] &&
		    strlist_add(&rep->drivers, d->name) < 0)
			r = -ENOMEM;
		/* why it is missing: the first reason, as the manifest sorts */
		e = cJSON_GetObjectItemCaseSensitive(res, "errors");
		for (size_t t = SELECT_NTARGETS; !d->error_target && t-- > 0;)
			if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
				    e,
				    select_target_name((enum select_target)t))))
				d->error_target = select_target_name(
					(enum select_target)t);
		if (d->error_target)
			r |= report_set(&d->error,
					catalog_json_str(e, d->error_target));
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			struct report_target *rt = &d->t[t];

			if (!im->dir[i][t])
				continue;
			rt->present = true;
			r |= report_set(
				&rt->source_path,
				catalog_json_str(
					import_details(man, d->name,
						       (enum select_target)t),
					"source_path"));
			rt->res = im->res[i][t];
			memset(&im->res[i][t], 0, sizeof(im->res[i][t]));
		}
	}
	strlist_sort(&rep->drivers);
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(man, "warnings"))
	{
		if (cJSON_IsString(w) &&
		    !import_is_check_warning(w->valuestring) &&
		    strlist_add(&rep->warnings, w->valuestring) < 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; i < im->warnings.n; i++)
		if (strlist_add(&rep->warnings, im->warnings.v[i]) < 0)
			r = -ENOMEM;
	for (size_t i = 0; i < im->mismatches.n; i++)
		if (strlist_add(&rep->warnings, im->mismatches.v[i]) < 0)
			r = -ENOMEM;
	return r < 0 ? -ENOMEM : 0;
}

static int import_run(struct catalog_build *cb, struct import *im,
		      const cJSON *man, struct catalog_report *rep)
{
	const struct catalog_options *o = cb->opts;
	const cJSON *ep = cJSON_GetObjectItemCaseSensitive(man, "epoch");
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(man, "image");
	const char *lab = catalog_json_str(img, "label");
	int64_t epoch = 0;
	int r;

	if (o->epoch_set)
		epoch = o->epoch;
	else if (cJSON_IsNumber(ep) && ep->valuedouble >= -62135596800.0 &&
		 ep->valuedouble <= 253402300799.0)
		epoch = (int64_t)ep->valuedouble;
	if (!o->quiet && (o->drivers || o->strict_optional || o->drop_pdb))
		log_msg(LOG_LEVEL_WARNING,
			"the source is already a driver "
			"pack: drivers=, strict-optional and drop-pdb are "
			"ignored");
	if (o->label)
		catalog_set_report(rep, o->label);
	else if (lab && catalog_label_valid(lab))
		catalog_set_report(rep, lab);
	else
		catalog_set_report(rep, CATALOG_DEFAULT_LABEL);
	cb->b = pack_builder_new(epoch);
	if (!cb->b)
		return catalog_oom(cb->err);
	pack_builder_set_cancel(cb->b, cb->opts->cancel);
	if (source_kind(cb->src) == SOURCE_KIND_IMAGE) {
		r = pack_builder_add_source(cb->b, source_fd(cb->src),
					    source_size(cb->src));
		if (r < 0)
			return aero_error_set(cb->err, r,
					      "cannot use the image: %s",
					      strerror(-r));
		cb->image_src = r;
	}
	r = import_scan(cb, im);
	if (r == 0)
		r = import_order(cb, im, man);
	if (r == 0)
		r = import_inspect(cb, im, man);
	if (r == 0 && im->oom)
		r = catalog_oom(cb->err);
	if (r == 0)
		r = import_synth(cb, im, man);
	if (r == 0)
		r = import_verify_files(cb, im, man);
	if (r < 0)
		return r;
	for (size_t i = 0; !cb->opts->quiet && i < im->warnings.n; i++)
		catalog_log_quoted(LOG_LEVEL_WARNING, "%s", im->warnings.v[i]);
	rep->checks = im->checks;
	rep->failed = im->failed + im->mismatches.n;
	rep->stray_files = im->stray_files;
	r = import_report(im, man, epoch, &rep->data);
	if (r < 0)
		return catalog_oom(cb->err);
	rep->warnings = rep->data.warnings.n;
	return 0;
}

int catalog_import(struct catalog_build *cb, const cJSON *man,
		   const unsigned char *text, size_t len,
		   struct catalog_report *rep)
{
	struct import *im = calloc(1, sizeof(*im));
	size_t ndefs;
	int r;

	if (!im)
		return catalog_oom(cb->err);
	im->defs = select_driver_defs(&ndefs);
	r = import_run(cb, im, man, rep);
	if (r == 0) {
		rep->json = malloc(len + 1);
		if (!rep->json) {
			r = catalog_oom(cb->err);
		} else {
			memcpy(rep->json, text, len);
			rep->json[len] = '\0';
			rep->json_len = len;
		}
	}
	for (size_t i = 0; i < SELECT_NDRIVERS; i++)
		for (size_t k = 0; k < SELECT_NTARGETS; k++)
			inspect_result_free(&im->res[i][k]);
	strlist_free(&im->notices);
	strlist_free(&im->warnings);
	strlist_free(&im->mismatches);
	free(im);
	return r;
}
