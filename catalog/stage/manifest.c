/*
 * manifest.c: manifest.json from plain structs (manifest.h).
 *
 * One function per section of the manifest, each adding its keys to the
 * root in the documented order (catalog.h).  Every addition is checked
 * (jsonout_add*): a manifest that lacks a key because an allocation failed
 * would be a wrong manifest, not a short one, so the tree is dropped when
 * any addition failed.
 */
#include "catalog/stage/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/util/jsonout.h"

static void manifest_strings(cJSON *parent, const char *key,
			     const struct strlist *l, bool *oom)
{
	cJSON *a = jsonout_add_arr(parent, key, oom);

	for (size_t i = 0; i < l->n; i++)
		jsonout_add_str(a, NULL, l->v[i], oom);
}

static cJSON *manifest_inf(const struct inspect_result *r, bool *oom)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o) {
		*oom = true;
		return NULL;
	}
	jsonout_add_str(o, "file", r->file ? r->file : "", oom);
	if (r->parsed) {
		jsonout_add_str(o, "encoding", r->encoding, oom);
		jsonout_add_str(o, "line_endings", r->crlf ? "crlf" : "lf",
				oom);
		jsonout_add_str(o, "class", r->class_name, oom);
		jsonout_add_str(o, "class_guid", r->class_guid, oom);
		jsonout_add_str(o, "provider", r->provider_name, oom);
		jsonout_add_str(o, "driver_date", r->driver_date, oom);
		jsonout_add_str(o, "driver_version", r->driver_version, oom);
		jsonout_add_str(o, "catalog_file", r->catalog_file, oom);
		manifest_strings(o, "services", &r->services, oom);
		manifest_strings(o, "referenced_files", &r->referenced_files,
				 oom);
		manifest_strings(o, "files_from_windows",
				 &r->files_from_windows, oom);
		manifest_strings(o, "decorations", &r->decorations, oom);
		manifest_strings(o, "hardware_ids", &r->hardware_ids, oom);
		a = jsonout_add_arr(o, "binds", oom);
		for (size_t i = 0; i < r->nbinds; i++) {
			cJSON *b = jsonout_add_obj(a, NULL, oom);

			jsonout_add_str(b, "hardware_id",
					r->binds[i].hardware_id, oom);
			jsonout_add_str(b, "device", r->binds[i].device, oom);
		}
	}
	manifest_strings(o, "other_inf_files", &r->other_inf_files, oom);
	a = jsonout_add_arr(o, "checks", oom);
	for (size_t i = 0; i < r->nchecks; i++) {
		cJSON *c = jsonout_add_obj(a, NULL, oom);

		jsonout_add_str(c, "name", r->checks[i].name, oom);
		jsonout_add_bool(c, "ok", r->checks[i].ok, oom);
		jsonout_add_str(c, "detail", r->checks[i].detail, oom);
	}
	return o;
}

static cJSON *manifest_catalog(const struct inspect_result *r, bool *oom)
{
	cJSON *o;
	char when[40];

	if (!r->has_catalog) {
		o = cJSON_CreateNull();
		if (!o)
			*oom = true;
		return o;
	}
	o = cJSON_CreateObject();
	if (!o) {
		*oom = true;
		return NULL;
	}
	jsonout_add_str(o, "file", r->cat_file, oom);
	jsonout_add_str(o, "digest", r->digest, oom);
	jsonout_add_str(o, "signer", r->signer, oom);
	if (r->has_time)
		inspect_utc(r->time, when, sizeof(when));
	jsonout_add_str(o, "signing_time", r->has_time ? when : NULL, oom);
	jsonout_add_str(o, "signing_time_source", r->time_source, oom);
	jsonout_add_str(o, "os", r->os, oom);
	jsonout_add_num(o, "members", (double)r->members, oom);
	jsonout_add_bool(o, "covers_inf", r->covers_inf, oom);
	return o;
}

cJSON *manifest_inf_json(const struct inspect_result *r)
{
	bool oom = false;
	cJSON *o = manifest_inf(r, &oom);

	if (oom) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *manifest_catalog_json(const struct inspect_result *r)
{
	bool oom = false;
	cJSON *o = manifest_catalog(r, &oom);

	if (oom) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* schema_version, pack, generator, created_utc, epoch, epoch_source, image */
static void manifest_header(cJSON *m, const struct manifest *man, bool *oom)
{
	char when[40], generator[64];
	cJSON *x;

	inspect_utc(man->epoch, when, sizeof(when));
	snprintf(generator, sizeof(generator), "aerofs %s", AEROFS_VERSION);
	jsonout_add_num(m, "schema_version", MANIFEST_SCHEMA_VERSION, oom);
	jsonout_add_str(m, "pack", MANIFEST_PACK_NAME, oom);
	jsonout_add_str(m, "generator", generator, oom);
	jsonout_add_str(m, "created_utc", when, oom);
	jsonout_add_num(m, "epoch", (double)man->epoch, oom);
	jsonout_add_str(m, "epoch_source", man->epoch_source, oom);
	x = jsonout_add_obj(m, "image", oom);
	jsonout_add_str(x, "label", man->label, oom);
}

static void manifest_source(cJSON *m, const struct manifest *man, bool *oom)
{
	cJSON *x = jsonout_add_obj(m, "source", oom);

	jsonout_add_str(x, "kind", man->source.image ? "iso" : "directory",
			oom);
	jsonout_add_str(x, "name", man->source.name, oom);
	jsonout_add_str(x, "names", man->source.names, oom);
	jsonout_add_str(x, "volume_label", man->source.volume_label, oom);
	jsonout_add_str(x, "derived_version", man->source.derived_version, oom);
	if (man->source.image)
		jsonout_add_num(x, "size", (double)man->source.size, oom);
	else
		jsonout_add_str(x, "size", NULL, oom);
	if (man->source.hash) {
		cJSON *h = jsonout_add_obj(x, "hash", oom);

		jsonout_add_str(h, "algorithm", "sha256", oom);
		jsonout_add_str(h, "value", man->source.hash, oom);
	} else {
		jsonout_add_str(x, "hash", NULL, oom);
	}
	manifest_strings(x, "license_notice_files_copied", man->source.notices,
			 oom);
}

static void manifest_options(cJSON *m, const struct manifest *man, bool *oom)
{
	cJSON *x = jsonout_add_obj(m, "options", oom);

	jsonout_add_bool(x, "strict_optional", man->strict_optional, oom);
	jsonout_add_bool(x, "drop_pdb", man->drop_pdb, oom);
}

static void manifest_targets_array(cJSON *parent, const char *key,
				   const struct select_driver *d, bool present,
				   bool *oom)
{
	cJSON *a = jsonout_add_arr(parent, key, oom);

	for (size_t t = 0; t < SELECT_NTARGETS; t++)
		if (d->t[t].present == present)
			jsonout_add_str(a, NULL,
					select_target_name(
						(enum select_target)t),
					oom);
}

/* {target: message} for the targets a driver is missing on, sorted. */
static void manifest_errors(cJSON *parent, const struct select_driver *d,
			    bool *oom)
{
	static const enum select_target order[] = { SELECT_AMD64, SELECT_X86 };
	cJSON *o = jsonout_add_obj(parent, "errors", oom);

	for (size_t i = 0; i < 2; i++) {
		const struct select_found *fd = &d->t[order[i]];

		if (!fd->present && fd->error[0])
			jsonout_add_str(o, select_target_name(order[i]),
					fd->error, oom);
	}
}

/*
 * drivers_requested, drivers (included, sorted), optional_drivers_missing,
 * optional_drivers_missing_any
 */
static void manifest_drivers(cJSON *m, const struct selection *sel, bool *oom)
{
	struct strlist incl = STRLIST_INIT;
	bool any_missing = false;
	cJSON *a;

	a = jsonout_add_arr(m, "drivers_requested", oom);
	for (size_t i = 0; i < sel->ndrv; i++) {
		jsonout_add_str(a, NULL, sel->drv[i].def->id, oom);
		if (select_included(&sel->drv[i]) &&
		    strlist_add(&incl, sel->drv[i].def->id) < 0)
			*oom = true;
	}
	strlist_sort(&incl);
	manifest_strings(m, "drivers", &incl, oom);
	strlist_free(&incl);
	a = jsonout_add_arr(m, "optional_drivers_missing", oom);
	for (size_t i = 0; i < sel->ndrv; i++) {
		const struct select_driver *d = &sel->drv[i];
		cJSON *e;

		if (select_included(d))
			continue;
		any_missing = true;
		e = jsonout_add_obj(a, NULL, oom);
		jsonout_add_str(e, "name", d->def->id, oom);
		manifest_targets_array(e, "missing_targets", d, false, oom);
		manifest_errors(e, d, oom);
	}
	jsonout_add_bool(m, "optional_drivers_missing_any", any_missing, oom);
}

static void manifest_checks(cJSON *m, const struct manifest *man, bool *oom)
{
	size_t total = 0, failed = 0;
	cJSON *x;

	for (size_t i = 0; i < man->sel->ndrv; i++)
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			total += man->res[i][t].nchecks;
			failed += man->res[i][t].nfailed;
		}
	x = jsonout_add_obj(m, "checks", oom);
	jsonout_add_num(x, "total", (double)total, oom);
	jsonout_add_num(x, "failed", (double)failed, oom);
}

static void manifest_details(cJSON *e, const struct select_driver *d,
			     const struct inspect_result *res, bool *oom)
{
	cJSON *det = jsonout_add_obj(e, "details", oom);

	for (size_t t = 0; t < SELECT_NTARGETS; t++) {
		const struct select_found *fd = &d->t[t];
		char pack_path[128];
		cJSON *td;

		if (!fd->present)
			continue;
		td = jsonout_add_obj(det,
				     select_target_name((enum select_target)t),
				     oom);
		snprintf(pack_path, sizeof(pack_path), "win7/%s/%s",
			 select_target_arch((enum select_target)t), d->def->id);
		jsonout_add_str(td, "pack_path", pack_path, oom);
		jsonout_add_str(td, "source_path", fd->source_path, oom);
		jsonout_add_str(td, "os_dir", source_node_name(fd->os_node),
				oom);
		jsonout_add_str(td, "arch_dir", source_node_name(fd->arch_node),
				oom);
		jsonout_add(td, "inf", manifest_inf(&res[t], oom), oom);
		jsonout_add(td, "catalog", manifest_catalog(&res[t], oom), oom);
	}
}

static void manifest_driver_results(cJSON *m, const struct manifest *man,
				    bool *oom)
{
	cJSON *a = jsonout_add_arr(m, "driver_results", oom);

	for (size_t i = 0; i < man->sel->ndrv; i++) {
		const struct select_driver *d = &man->sel->drv[i];
		cJSON *e = jsonout_add_obj(a, NULL, oom);

		jsonout_add_str(e, "name", d->def->id, oom);
		jsonout_add_str(e, "upstream", d->def->upstream, oom);
		jsonout_add_bool(e, "required", d->def->required, oom);
		jsonout_add_str(e, "status", select_status_name(d->status),
				oom);
		manifest_targets_array(e, "included_targets", d, true, oom);
		manifest_targets_array(e, "missing_targets", d, false, oom);
		manifest_errors(e, d, oom);
		manifest_details(e, d, man->res[i], oom);
	}
}

/* Where each file's "sha256" value went, for manifest_render(). */
struct manifest_digests {
	const cJSON **item; /* item[i]: files[i]'s "sha256" value */
	uint64_t *at;
	size_t n, next;
};

static void manifest_digest_at(void *ctx, const cJSON *value, size_t offset)
{
	struct manifest_digests *d = ctx;

	/* the values come in text order, and files[] is printed in order */
	if (d->next < d->n && value == d->item[d->next])
		d->at[d->next++] = offset;
}

static void manifest_files(cJSON *m, const struct manifest *man,
			   struct manifest_digests *d, bool *oom)
{
	cJSON *a = jsonout_add_arr(m, "files", oom);

	for (size_t i = 0; i < man->nfiles; i++) {
		cJSON *e = jsonout_add_obj(a, NULL, oom);
		char hex[65];

		for (unsigned k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x",
				 man->files[i].sha256[k]);
		jsonout_add_str(e, "path", man->files[i].path, oom);
		jsonout_add_num(e, "size", (double)man->files[i].size, oom);
		d->item[i] = jsonout_add_str(e, "sha256", hex, oom);
	}
}

char *manifest_render(const struct manifest *man, size_t *len,
		      uint64_t *digest_at)
{
	struct manifest_digests d = { .at = digest_at, .n = man->nfiles };
	cJSON *m = cJSON_CreateObject(), *a;
	bool oom = false;
	char *text = NULL;

	d.item = calloc(man->nfiles ? man->nfiles : 1, sizeof(*d.item));
	if (!m || !d.item) {
		cJSON_Delete(m);
		free(d.item);
		return NULL;
	}
	manifest_header(m, man, &oom);
	manifest_source(m, man, &oom);
	manifest_options(m, man, &oom);
	manifest_drivers(m, man->sel, &oom);
	manifest_strings(m, "warnings", &man->sel->warnings, &oom);
	manifest_checks(m, man, &oom);
	manifest_driver_results(m, man, &oom);
	a = jsonout_add_arr(m, "targets", &oom);
	for (size_t t = 0; t < SELECT_NTARGETS; t++)
		jsonout_add_str(a, NULL,
				select_target_name((enum select_target)t),
				&oom);
	manifest_files(m, man, &d, &oom);
	if (!oom)
		text = digest_at ? jsonout_print_at(m, len, manifest_digest_at,
						    &d) :
				   jsonout_print(m, len);
	cJSON_Delete(m);
	free(d.item);
	if (text && digest_at && d.next != d.n) {
		/* cannot happen: every value is printed, in order */
		free(text);
		return NULL;
	}
	return text;
}
