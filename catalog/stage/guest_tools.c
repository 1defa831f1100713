/*
 * guest_tools.c: the Guest Tools tree, derived from the driver pack
 * (guest_tools.h).
 *
 * The pack is built first with every check the driver pack has; this
 * module only moves its files to their Guest Tools paths (by reference,
 * pack_builder_add_copy()) and adds what the media has of its own.
 */
#include "catalog/stage/guest_tools.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "catalog/formats/inf.h"
#include "catalog/stage/build_i.h"
#include "catalog/stage/cert.h"
#include "catalog/stage/devices.h"
#include "catalog/stage/inspect.h"
#include "catalog/stage/report.h"
#include "catalog/stage/winscripts.h"
#include "catalog/util/jsonout.h"
#include "catalog/util/sbuf.h"

#define GT_MANIFEST_MAX (64u << 20)
#define GT_INFS_MAX 256

struct gt {
	const struct pack *dp; /* the driver pack */
	struct pack_builder *b;
	struct manifest_file *files;
	size_t nfiles, capfiles;
	struct devices_inf infs[GT_INFS_MAX];
	unsigned char *inf_data[GT_INFS_MAX];
	char *inf_name[GT_INFS_MAX];
	size_t ninfs;
	struct aero_error *err;
};

static int gt_note(struct gt *g, const char *path, uint64_t size,
		   const unsigned char sha[32])
{
	struct manifest_file *f;

	if (g->nfiles == g->capfiles) {
		size_t cap = g->capfiles ? g->capfiles * 2 : 64;

		f = realloc(g->files, cap * sizeof(*f));
		if (!f)
			return catalog_oom(g->err);
		g->files = f;
		g->capfiles = cap;
	}
	f = &g->files[g->nfiles];
	f->path = strdup(path);
	if (!f->path)
		return catalog_oom(g->err);
	f->size = size;
	memcpy(f->sha256, sha, 32);
	g->nfiles++;
	return 0;
}

/* Adds the synthesized TEXT (freed here; NULL is out of memory). */
static int gt_blob(struct gt *g, const char *path, char *text, size_t len)
{
	unsigned char sha[32];
	int r;

	if (!text)
		return catalog_oom(g->err);
	r = pack_builder_add_blob(g->b, path, text, len, sha, g->err);
	free(text);
	return r < 0 ? r : gt_note(g, path, len, sha);
}

static int gt_copy(struct gt *g, const struct pack_node *n, const char *path)
{
	unsigned char sha[32];
	int r = pack_builder_add_copy(g->b, path, g->dp, n, sha, g->err);

	return r < 0 ? r : gt_note(g, path, pack_node_size(n), sha);
}

/* Keeps the bytes of INF N (at PATH of the new tree) for devices.cmd. */
static int gt_keep_inf(struct gt *g, const struct pack_node *n,
		       const char *path, const char *arch, const char *drv)
{
	struct devices_inf *d = &g->infs[g->ninfs];
	uint64_t size = pack_node_size(n);
	unsigned char *buf;
	ssize_t k;

	if (g->ninfs == GT_INFS_MAX)
		return aero_error_set(g->err, -EFBIG, "%s: more than %d INFs",
				      path, GT_INFS_MAX);
	if (size > INF_MAX_SIZE)
		return aero_error_set(g->err, -EFBIG, "%s: INF too large",
				      path);
	buf = malloc(size ? size : 1);
	g->inf_name[g->ninfs] = strdup(path);
	if (!buf || !g->inf_name[g->ninfs]) {
		free(buf);
		free(g->inf_name[g->ninfs]);
		g->inf_name[g->ninfs] = NULL;
		return catalog_oom(g->err);
	}
	k = pack_node_read(g->dp, n, buf, size, 0);
	if (k < 0 || (uint64_t)k != size) {
		free(buf);
		free(g->inf_name[g->ninfs]);
		g->inf_name[g->ninfs] = NULL;
		return aero_error_set(g->err, -EIO, "%s: cannot read it", path);
	}
	g->inf_data[g->ninfs] = buf;
	d->driver = drv; /* the driver pack's node name: lives as dp */
	d->arch = arch;
	d->name = g->inf_name[g->ninfs];
	d->data = buf;
	d->len = size;
	g->ninfs++;
	return 0;
}

/*
 * Copies directory DIR of the pack, whose Guest Tools path is TO, with
 * everything under it.  ARCH and DRV are set for drivers/<arch>/<drv>/
 * itself (not its subfolders): its INFs are kept for devices.cmd.
 */
static int gt_copy_tree(struct gt *g, const struct pack_node *dir,
			const char *to, const char *arch, const char *drv)
{
	int r = pack_builder_add_dir(g->b, to, g->err);

	for (size_t i = 0; r == 0 && i < pack_node_nchildren(dir); i++) {
		const struct pack_node *c = pack_node_child(dir, i);
		const char *name = pack_node_name(c);
		size_t nlen = strlen(name);
		char path[PATH_MAX];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", to, name) >=
		    sizeof(path))
			return aero_error_set(g->err, -ENAMETOOLONG,
					      "%s/%s: path too long", to, name);
		if (pack_node_is_dir(c)) {
			r = gt_copy_tree(g, c, path, arch, NULL);
			continue;
		}
		r = gt_copy(g, c, path);
		/* the INFs of a driver's own folder, as Windows reads them */
		if (r == 0 && drv && nlen > 4 &&
		    !strcasecmp(name + nlen - 4, ".inf"))
			r = gt_keep_inf(g, c, path, arch, drv);
	}
	return r;
}

/* drivers/<arch>/<drv>/ from the pack's win7/<arch>/<drv>/. */
static int gt_drivers(struct gt *g)
{
	const struct pack_node *win7 = pack_lookup(pack_root(g->dp), "win7");
	int r = 0;

	if (!win7)
		return aero_error_set(g->err, -EINVAL,
				      "the driver pack has no win7 folder");
	for (size_t a = 0; r == 0 && a < pack_node_nchildren(win7); a++) {
		const struct pack_node *arch = pack_node_child(win7, a);

		for (size_t d = 0; r == 0 && d < pack_node_nchildren(arch);
		     d++) {
			const struct pack_node *drv = pack_node_child(arch, d);
			char to[PATH_MAX];

			if (!pack_node_is_dir(drv))
				continue;
			snprintf(to, sizeof(to), "drivers/%s/%s",
				 pack_node_name(arch), pack_node_name(drv));
			r = gt_copy_tree(g, drv, to, pack_node_name(arch),
					 pack_node_name(drv));
		}
	}
	return r;
}

static char *gt_readme(const char *generator, size_t *len)
{
	static const char *const lines[] = {
		"Aero Guest Tools",
		"================",
		"",
		"This media installs the virtio drivers an Aero Windows 7 "
		"guest "
		"needs:",
		"storage (viostor), network (netkvm) and, when present, input "
		"(vioinput)",
		"and sound (viosnd), for x86 and amd64.",
		"",
		"How to use it (in the guest, as Administrator):",
		"",
		"  setup.cmd      installs the drivers and prepares the "
		"boot-critical",
		"                 storage driver, so that the system disk may "
		"move to",
		"                 virtio-blk; reboot afterwards",
		"  verify.cmd     checks every file of this media against "
		"manifest.json",
		"                 and reports what is installed",
		"  uninstall.cmd  removes what setup.cmd installed",
		"",
		"What is where:",
		"",
		"  drivers\\x86\\<driver>\\, drivers\\amd64\\<driver>\\",
		"                 the drivers, unchanged from virtio-win",
		"  config\\devices.cmd",
		"                 the service and hardware ids of each Aero "
		"virtio",
		"                 device, generated from aerofs's device table "
		"and the",
		"                 packaged INFs",
		"  certs\\         certificates to trust; empty when every "
		"driver "
		"is",
		"                 production-signed (signing_policy in "
		"manifest.json)",
		"  licenses\\      upstream license files and the driver "
		"pack's "
		"manifest",
		"  manifest.json  every file with its size and SHA-256",
		"",
	};
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		sbuf_printf(&sb, "%s\r\n", lines[i]);
	sbuf_printf(&sb, "Made by %s.\r\n", generator);
	return sbuf_finish(&sb, len);
}

static int gt_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_file *)a)->path,
		      ((const struct manifest_file *)b)->path);
}

/* PATH as a JSON string (RFC 8259 7): pack names are UTF-8 already. */
static void gt_json_str(struct sbuf *sb, const char *s)
{
	sbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sbuf_printf(sb, "\\%c", c);
		else if (c < 0x20)
			sbuf_printf(sb, "\\u%04x", c);
		else
			sbuf_putc(sb, (char)c);
	}
	sbuf_putc(sb, '"');
}

/* The "drivers" array: the driver pack's report, then extra-drivers=. */

/* The digest of a driver's catalogs: "sha256" if either architecture's
 * catalog is SHA-256, else the first one's ("sha1"), NULL without any. */
static const char *driver_digest(const struct report_driver *d)
{
	const char *any = NULL;

	for (size_t t = 0; t < SELECT_NTARGETS; t++) {
		const struct inspect_result *r = &d->t[t].res;

		if (!d->t[t].present || !r->has_catalog || !r->digest)
			continue;
		if (strcmp(r->digest, "sha256") == 0)
			return r->digest;
		if (!any)
			any = r->digest;
	}
	return any;
}

static void gt_manifest_drivers(cJSON *m, const struct report *rep,
				const struct pack *dp, bool *oom)
{
	cJSON *arr = jsonout_add_arr(m, "drivers", oom);
	const struct pack_node *xdir = pack_lookup_path(dp, "win7/x86");

	for (size_t k = 0; k < rep->drivers.n; k++)
		for (size_t i = 0; i < rep->ndrv; i++) {
			const struct report_driver *d = &rep->drv[i];
			const struct inspect_result *x86 =
				&d->t[SELECT_X86].res;
			cJSON *o, *paths;
			char path[96];

			if (strcmp(d->name, rep->drivers.v[k]) ||
			    !d->t[SELECT_X86].present)
				continue;
			o = jsonout_add_obj(arr, NULL, oom);
			jsonout_add_str(o, "name", d->name, oom);
			jsonout_add_str(o, "origin", "virtio-win", oom);
			jsonout_add_str(o, "inf", x86->file, oom);
			jsonout_add_str(o, "driver_version",
					x86->driver_version, oom);
			jsonout_add_str(o, "signer",
					x86->has_catalog ? x86->signer : NULL,
					oom);
			/* verify.cmd warns when a catalog needs SHA-2
			 * support: "sha256" if either architecture's does. */
			jsonout_add_str(o, "digest", driver_digest(d), oom);
			paths = jsonout_add_arr(o, "paths", oom);
			for (size_t t = 0; t < SELECT_NTARGETS; t++) {
				if (!d->t[t].present)
					continue;
				snprintf(path, sizeof(path), "drivers/%s/%s",
					 select_target_arch(
						 (enum select_target)t),
					 d->name);
				jsonout_add_str(paths, NULL, path, oom);
			}
		}
	for (size_t i = 0; xdir && i < pack_node_nchildren(xdir); i++) {
		const char *name = pack_node_name(pack_node_child(xdir, i));
		cJSON *o, *paths;
		char path[96];

		if (strlist_has(&rep->drivers, name, false))
			continue;
		o = jsonout_add_obj(arr, NULL, oom);
		jsonout_add_str(o, "name", name, oom);
		jsonout_add_str(o, "origin", "extra-drivers", oom);
		paths = jsonout_add_arr(o, "paths", oom);
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			snprintf(path, sizeof(path), "drivers/%s/%s",
				 select_target_arch((enum select_target)t),
				 name);
			jsonout_add_str(paths, NULL, path, oom);
		}
	}
}

/*
 * HEAD[LEN] with the elements of "drivers" two spaces deeper than
 * jsonout_print() puts them: the scripts take a line that opens with four
 * spaces and '{' for a "files" element, so no other line may (JSON does
 * not care about the indentation).
 */
static void gt_put_head(struct sbuf *sb, const char *head, size_t len)
{
	static const char open[] = "\n  \"drivers\": [\n";
	const char *end = head + len, *p = head;
	bool in = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (in && (!strncmp(p, "  ]", 3)))
			in = false;
		if (in)
			sbuf_puts(sb, "  ");
		sbuf_put(sb, p, n);
		if (p > head && !strncmp(p - 1, open, sizeof(open) - 1))
			in = true;
		p += n;
	}
}

/* manifest.json (guest_tools.h); the files noted so far are sorted. */
static char *gt_manifest(struct gt *g, const cJSON *source,
			 const struct report *rep, const char *cert,
			 const char *generator, size_t *len)
{
	struct sbuf sb = SBUF_INIT;
	bool oom = false;
	char when[40], *head;
	size_t hlen;
	cJSON *m = cJSON_CreateObject(), *certs;

	inspect_utc(pack_epoch(g->dp), when, sizeof(when));
	jsonout_add_num(m, "schema_version", 1, &oom);
	jsonout_add_str(m, "media", GUEST_TOOLS_MEDIA, &oom);
	jsonout_add_str(m, "generator", generator, &oom);
	jsonout_add_str(m, "created_utc", when, &oom);
	jsonout_add_num(m, "epoch", (double)pack_epoch(g->dp), &oom);
	jsonout_add_str(m, "signing_policy", cert ? "test" : "production",
			&oom);
	certs = jsonout_add_arr(m, "certs", &oom);
	if (cert)
		jsonout_add_str(certs, NULL, cert, &oom);
	if (source)
		jsonout_add(m, "source", cJSON_Duplicate(source, true), &oom);
	else
		jsonout_add_str(m, "source", NULL, &oom);
	gt_manifest_drivers(m, rep, g->dp, &oom);
	head = oom ? NULL : jsonout_print(m, &hlen);
	cJSON_Delete(m);
	/* the object without its closing "\n}\n", then "files" by hand */
	if (!head || hlen < 3 || strcmp(head + hlen - 3, "\n}\n")) {
		free(head);
		return NULL;
	}
	gt_put_head(&sb, head, hlen - 3);
	free(head);
	sbuf_puts(&sb, ",\n  \"files\": [\n");
	qsort(g->files, g->nfiles, sizeof(*g->files), gt_file_cmp);
	for (size_t i = 0; i < g->nfiles; i++) {
		const struct manifest_file *f = &g->files[i];

		sbuf_puts(&sb, "    {\"path\": ");
		gt_json_str(&sb, f->path);
		sbuf_printf(&sb, ", \"size\": %llu, \"sha256\": \"",
			    (unsigned long long)f->size);
		for (size_t k = 0; k < 32; k++)
			sbuf_printf(&sb, "%02x", f->sha256[k]);
		sbuf_printf(&sb, "\"}%s\n", i + 1 < g->nfiles ? "," : "");
	}
	sbuf_puts(&sb, "  ]\n}\n");
	return sbuf_finish(&sb, len);
}

/* The "source" object of the driver pack's manifest (a new tree). */
static cJSON *gt_pack_source(struct gt *g)
{
	const struct pack_node *n = pack_lookup(pack_root(g->dp),
						"manifest.json");
	cJSON *man, *src = NULL;
	char *buf;
	ssize_t k;

	if (!n || pack_node_size(n) > GT_MANIFEST_MAX)
		return NULL;
	buf = malloc(pack_node_size(n) + 1);
	if (!buf)
		return NULL;
	k = pack_node_read(g->dp, n, buf, pack_node_size(n), 0);
	if (k < 0) {
		free(buf);
		return NULL;
	}
	man = cJSON_ParseWithLength(buf, (size_t)k);
	free(buf);
	if (man)
		src = cJSON_DetachItemFromObjectCaseSensitive(man, "source");
	cJSON_Delete(man);
	return src;
}

static int gt_assemble(struct gt *g, const struct report *rep,
		       const struct catalog_options *opts, char **manifest,
		       size_t *mlen)
{
	unsigned char *cert = NULL;
	char *cert_name = NULL;
	size_t cert_len = 0;
	const struct pack_node *root = pack_root(g->dp), *n;
	char generator[64], *text;
	cJSON *source;
	size_t len;
	int r;

	snprintf(generator, sizeof(generator), "aerofs %s", AEROFS_VERSION);
	r = gt_drivers(g);
	if (r < 0)
		return r;
	n = pack_lookup(root, "licenses");
	if (n && pack_node_is_dir(n))
		r = gt_copy_tree(g, n, "licenses", NULL, NULL);
	if (r < 0)
		return r;
	n = pack_lookup(root, "manifest.json");
	if (n)
		r = gt_copy(g, n,
			    "licenses/virtio-win/driver-pack-manifest.json");
	if (r < 0)
		return r;
	n = pack_lookup(root, "THIRD_PARTY_NOTICES.md");
	if (n)
		r = gt_copy(g, n, "THIRD_PARTY_NOTICES.md");
	if (r < 0)
		return r;
	r = devices_cmd_render(g->infs, g->ninfs, generator, &text, &len,
			       g->err);
	if (r < 0)
		return r;
	r = gt_blob(g, "config/devices.cmd", text, len);
	if (r < 0)
		return r;
	text = winscript_setup_cmd(&len);
	r = gt_blob(g, "setup.cmd", text, len);
	if (r < 0)
		return r;
	text = winscript_uninstall_cmd(&len);
	r = gt_blob(g, "uninstall.cmd", text, len);
	if (r < 0)
		return r;
	text = winscript_verify_cmd(&len);
	r = gt_blob(g, "verify.cmd", text, len);
	if (r < 0)
		return r;
	text = gt_readme(generator, &len);
	r = gt_blob(g, "README.txt", text, len);
	if (r < 0)
		return r;
	r = pack_builder_add_dir(g->b, "certs", g->err);
	if (r < 0)
		return r;
	if (opts && opts->cert) {
		char path[96];

		r = cert_load(opts->cert, &cert, &cert_len, &cert_name, g->err);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "certs/%s", cert_name);
		r = gt_blob(g, path, (char *)cert, cert_len);
		if (r < 0) {
			free(cert_name);
			return r;
		}
	}
	source = gt_pack_source(g);
	*manifest = gt_manifest(g, source, rep, cert_name, generator, mlen);
	cJSON_Delete(source);
	free(cert_name);
	if (!*manifest)
		return catalog_oom(g->err);
	return pack_builder_add_blob(g->b, "manifest.json", *manifest, *mlen,
				     NULL, g->err);
}

/*
 * The Guest Tools pack of the driver pack DP, whose report is REP, in
 * *OUT; its manifest.json text in *MANIFEST (caller frees).
 */
static int gt_make(const struct pack *dp, const struct catalog_report *rep,
		   const struct catalog_options *opts, struct pack **out,
		   char **manifest, size_t *mlen, struct aero_error *err)
{
	struct gt g = { .dp = dp, .err = err };
	const char *label = opts && opts->label ? opts->label :
						  GUEST_TOOLS_LABEL;
	int r;

	*out = NULL;
	*manifest = NULL;
	g.b = pack_builder_new(pack_epoch(dp));
	if (!g.b)
		return catalog_oom(err);
	r = gt_assemble(&g, catalog_report_details(rep), opts, manifest, mlen);
	if (r == 0 && (r = pack_builder_set_label(g.b, label)) < 0)
		aero_error_set(err, r, "invalid volume label");
	if (r == 0) {
		r = pack_builder_finish(g.b, out);
		g.b = NULL;
		if (r < 0)
			aero_error_set(err, r,
				       "cannot finish the Guest Tools: %s",
				       strerror(-r));
	}
	pack_builder_free(g.b);
	for (size_t i = 0; i < g.nfiles; i++)
		free(g.files[i].path);
	free(g.files);
	for (size_t i = 0; i < g.ninfs; i++) {
		free(g.inf_data[i]);
		free(g.inf_name[i]);
	}
	if (r < 0) {
		free(*manifest);
		*manifest = NULL;
	}
	return r;
}

int guest_tools_build(const char *source_path,
		      const struct catalog_options *opts, struct pack **out,
		      struct catalog_report **report, struct aero_error *err)
{
	/* The media quotes the driver pack's digests: it needs them now. */
	struct catalog_options hashed = { 0 };
	struct catalog_report *rep = NULL;
	struct pack *dp = NULL;
	char *manifest = NULL;
	size_t mlen = 0;
	int r;

	*out = NULL;
	if (report)
		*report = NULL;
	if (opts)
		hashed = *opts;
	hashed.defer_hashes = false;
	r = catalog_build(source_path, &hashed, &dp, &rep, err);
	if (r < 0)
		return r;
	r = gt_make(dp, rep, opts, out, &manifest, &mlen, err);
	pack_unref(dp);
	if (r < 0 || !report) {
		free(manifest);
		catalog_report_free(rep);
		return r;
	}
	/* the report speaks for this tree: its manifest, its label */
	free(rep->json);
	rep->json = manifest;
	rep->json_len = mlen;
	catalog_set_report(rep, pack_label(*out));
	*report = rep;
	return 0;
}

int guest_tools_derive(const struct pack *base,
		       const struct catalog_report *base_report,
		       const struct catalog_options *opts, struct pack **out,
		       struct aero_error *err)
{
	char *manifest = NULL;
	size_t mlen = 0;
	int r = gt_make(base, base_report, opts, out, &manifest, &mlen, err);

	free(manifest);
	return r;
}
