/*
 * inspect.c: reads a driver folder's INF and catalog from the source and
 * checks them (inspect.h).  The parsing itself is inf.c and cat.c; this
 * file only decides what a Win7 driver pack needs them to say and phrases
 * the result.  It never fails a build over what upstream shipped.
 */
#include "catalog/stage/inspect.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "catalog/formats/wincat.h"
#include "catalog/util/civil.h"
#include "catalog/util/checked.h"
#include "catalog/formats/inf.h"
#include "catalog/util/jsonout.h"
#include "virtio/virtio_ids.h"

int inspect_read(const struct source *s, const struct source_node *n,
		 size_t max, unsigned char **buf, size_t *len,
		 struct aero_error *err)
{
	uint64_t size = source_node_size(n);
	unsigned char *p;
	size_t got = 0;

	*buf = NULL;
	*len = 0;
	if (size > max)
		return aero_error_set(err, -EFBIG,
				      "%s: file too large (%llu "
				      "bytes, limit %zu)",
				      source_node_name(n),
				      (unsigned long long)size, max);
	p = malloc(size ? (size_t)size : 1);
	if (!p)
		return aero_error_set(err, -ENOMEM, "out of memory");
	if (source_kind(s) == SOURCE_KIND_IMAGE) {
		const struct source_extent *ext;
		size_t count;
		int r = source_node_extents(n, &ext, &count);

		if (r < 0) {
			free(p);
			return aero_error_set(err, r, "%s: no extents",
					      source_node_name(n));
		}
		for (size_t i = 0; i < count && got < size; i++) {
			uint64_t want = ext[i].length;

			if (want > size - got)
				want = size - got;
			for (uint64_t done = 0; done < want;) {
				ssize_t k =
				    pread(source_fd(s), p + got,
					  (size_t)(want - done),
					  (off_t)(ext[i].offset + done));

				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0) {
					free(p);
					return aero_error_set(
					    err, -EIO,
					    "%s: cannot read at offset "
					    "%llu of the image",
					    source_node_name(n),
					    (unsigned long long)(ext[i].offset +
								 done));
				}
				done += (uint64_t)k;
				got += (size_t)k;
			}
		}
	} else {
		int fd = source_node_open(s, n);

		if (fd < 0) {
			free(p);
			return aero_error_set(err, fd, "%s: cannot open: %s",
					      source_node_name(n),
					      strerror(-fd));
		}
		while (got < size) {
			ssize_t k = read(fd, p + got, (size_t)size - got);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			got += (size_t)k;
		}
		close(fd);
	}
	if (got != size) {
		free(p);
		return aero_error_set(err, -EIO,
				      "%s: short read (%zu of %llu "
				      "bytes)",
				      source_node_name(n), got,
				      (unsigned long long)size);
	}
	*buf = p;
	*len = got;
	return 0;
}

void inspect_utc(int64_t t, char *buf, size_t size)
{
	struct civil_time c;

	civil_from_time(t, &c);
	snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
		 (long long)c.year, c.month, c.day, c.hour, c.min, c.sec);
}

/* FILE in DIR ignoring case, or in a subfolder (SourceDisksFiles subdirs). */
static const struct source_node *inspect_find(const struct source_node *dir,
					      const char *name, unsigned depth)
{
	const struct source_node *c = source_node_find(dir, name);

	if (c && source_node_type(c) == SOURCE_NODE_FILE)
		return c;
	if (depth >= 8)
		return NULL;
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *sub = source_node_child(dir, i);

		if (source_node_type(sub) != SOURCE_NODE_DIR)
			continue;
		c = inspect_find(sub, name, depth + 1);
		if (c)
			return c;
	}
	return NULL;
}

/* The INF that describes the driver: <id>.inf, <Upstream>.inf, else first. */
static const struct source_node *
inspect_pick_inf(const struct source_node *dir,
		 const struct select_driver_def *def, cJSON *others, bool *oom)
{
	const struct source_node *pick = NULL, *first = NULL;
	char want1[64], want2[64];

	snprintf(want1, sizeof(want1), "%s.inf", def->id);
	snprintf(want2, sizeof(want2), "%s.inf", def->upstream);
	pick = source_node_find(dir, want1);
	if (!pick || source_node_type(pick) != SOURCE_NODE_FILE)
		pick = source_node_find(dir, want2);
	if (pick && source_node_type(pick) != SOURCE_NODE_FILE)
		pick = NULL;
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *c = source_node_child(dir, i);
		const char *name = source_node_name(c);
		size_t len = strlen(name);

		if (source_node_type(c) != SOURCE_NODE_FILE || len < 4 ||
		    strcasecmp(name + len - 4, ".inf"))
			continue;
		if (!first)
			first = c;
		if (pick && c != pick)
			jsonout_add_str(others, NULL, name, oom);
	}
	if (!pick) {
		pick = first;
		/* first is not an "other" INF: rebuild the list without it */
		while (cJSON_GetArraySize(others) > 0)
			cJSON_DeleteItemFromArray(others, 0);
		for (size_t i = 0; i < source_node_nchildren(dir); i++) {
			const struct source_node *c = source_node_child(dir, i);
			const char *name = source_node_name(c);
			size_t len = strlen(name);

			if (c == pick ||
			    source_node_type(c) != SOURCE_NODE_FILE ||
			    len < 4 || strcasecmp(name + len - 4, ".inf"))
				continue;
			jsonout_add_str(others, NULL, name, oom);
		}
	}
	return pick;
}

struct inspect_ctx {
	const struct select_driver_def *def;
	enum select_target t;
	cJSON *checks;
	struct strlist *warnings;
	struct inspect_result *res;
	bool oom; /* an addition to the JSON failed (jsonout_add) */
};

static void inspect_check(struct inspect_ctx *c, const char *name, bool ok,
			  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void inspect_check(struct inspect_ctx *c, const char *name, bool ok,
			  const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	cJSON *o;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	o = jsonout_add_obj(c->checks, NULL, &c->oom);
	jsonout_add_str(o, "name", name, &c->oom);
	jsonout_add_bool(o, "ok", ok, &c->oom);
	jsonout_add_str(o, "detail", detail, &c->oom);
	c->res->nchecks++;
	if (ok)
		return;
	c->res->nfailed++;
	if (strlist_addf(c->warnings, "%s %s: %s: %s", c->def->id,
			 select_target_name(c->t), name, detail) < 0)
		c->oom = true;
}

/*
 * True if Windows must find FILE in the package: it is a key of
 * [SourceDisksFiles] or [SourceDisksFiles.<arch>], the only way setup
 * copies a file from the source media.  A file named only by ServiceBinary
 * (vioinput's mshidkmdf.sys) is an inbox driver Windows already has.
 */
static bool inspect_shipped(const struct inf *inf, const char *file,
			    enum select_target t)
{
	char sect[64];

	snprintf(sect, sizeof(sect), "SourceDisksFiles.%s",
		 select_target_arch(t));
	return inf_get(inf, "SourceDisksFiles", file) ||
	       inf_get(inf, sect, file);
}

static void inspect_check_files(struct inspect_ctx *c, const struct inf *inf,
				const struct source_node *dir, cJSON *o)
{
	cJSON *files = jsonout_add_arr(o, "referenced_files", &c->oom);
	cJSON *inbox = jsonout_add_arr(o, "files_from_windows", &c->oom);
	struct sbuf missing = SBUF_INIT;
	size_t n = inf_file_count(inf), nmissing = 0, ninbox = 0;

	for (size_t i = 0; i < n; i++) {
		const char *f = inf_file(inf, i);

		jsonout_add_str(files, NULL, f, &c->oom);
		if (inspect_find(dir, f, 0))
			continue;
		if (!inspect_shipped(inf, f, c->t)) {
			jsonout_add_str(inbox, NULL, f, &c->oom);
			ninbox++;
			continue;
		}
		sbuf_printf(&missing, "%s%s", nmissing++ ? ", " : "", f);
	}
	if (missing.oom)
		c->oom = true;
	if (nmissing)
		inspect_check(c, "referenced_files", false,
			      "%zu of %zu referenced files missing from the "
			      "folder: %s",
			      nmissing, n, missing.oom ? "?" : missing.buf);
	else if (ninbox)
		inspect_check(c, "referenced_files", true,
			      "every file to copy is present (%zu); %zu more "
			      "are not in [SourceDisksFiles] and come with "
			      "Windows",
			      n - ninbox, ninbox);
	else
		inspect_check(c, "referenced_files", true,
			      "every referenced file is present (%zu)", n);
	sbuf_release(&missing);
}

/*
 * How a [Manufacturer] decoration fits the Windows 7 SP1 client of one
 * architecture.  INF Manufacturer section, TargetOSVersion:
 *
 *   NT[Architecture][.[OSMajorVersion][.[OSMinorVersion][.[ProductType]
 *     [.[SuiteMask][.[BuildNumber]]]]]]
 *
 * Every field may be empty ("NTamd64.10.0...22000").  Windows uses a
 * decoration when the running system is at least OSMajor.OSMinor, has
 * product type ProductType (VER_NT_WORKSTATION 1, domain controller 2,
 * server 3), has every suite bit of SuiteMask and is at least build
 * BuildNumber.  A Windows 7 SP1 client is 6.1, product type 1, build
 * 7601; its suite bits depend on the edition, so only an empty or zero
 * SuiteMask is one every client satisfies.
 */
enum inspect_dec {
	INSPECT_DEC_FITS,
	INSPECT_DEC_OTHER_ARCH,	/* not this architecture */
	INSPECT_DEC_MALFORMED,
	INSPECT_DEC_TOO_NEW,	/* OS version above 6.1 */
	INSPECT_DEC_PRODUCT,	/* not a workstation */
	INSPECT_DEC_SUITE,	/* needs suite bits */
	INSPECT_DEC_BUILD,	/* build above 7601 */
};

#define INSPECT_WIN7_BUILD 7601ul

/* One numeric field: "" (absent), decimal, or 0x-hex when HEX. */
static bool inspect_dec_field(const char **p, bool hex, bool *present,
			      unsigned long *v)
{
	const char *s = *p;
	unsigned base = 10;
	unsigned long x = 0;
	size_t ndig = 0;

	*present = false;
	*v = 0;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, ndig++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (x > 0xffffffffu / base)
			return false;
		x = x * base + d;
	}
	if (*s && *s != '.')
		return false;
	if (base == 16 && !ndig)
		return false;
	*present = ndig > 0;
	*v = x;
	*p = s;
	return true;
}

static enum inspect_dec inspect_decoration_fits(const char *d,
						const char *arch)
{
	size_t n = strlen(arch);
	unsigned long v[5];
	bool present[5];
	const char *p;

	if (strncasecmp(d, arch, n) || (d[n] != '\0' && d[n] != '.'))
		return INSPECT_DEC_OTHER_ARCH;
	p = d + n;
	for (unsigned i = 0; i < 5; i++) {
		present[i] = false;
		v[i] = 0;
		if (*p != '.')
			continue;
		p++;
		if (!inspect_dec_field(&p, i == 3, &present[i], &v[i]))
			return INSPECT_DEC_MALFORMED;
	}
	if (*p)
		return INSPECT_DEC_MALFORMED;
	if (present[0] && (v[0] > 6 || (v[0] == 6 && v[1] > 1)))
		return INSPECT_DEC_TOO_NEW;
	if (present[2] && v[2] != 1)
		return INSPECT_DEC_PRODUCT;
	if (present[3] && v[3] != 0)
		return INSPECT_DEC_SUITE;
	if (present[4] && v[4] > INSPECT_WIN7_BUILD)
		return INSPECT_DEC_BUILD;
	return INSPECT_DEC_FITS;
}

/* What a decoration of the right architecture asks that Windows 7 lacks. */
static const char *inspect_dec_why(enum inspect_dec why)
{
	switch (why) {
	case INSPECT_DEC_MALFORMED:
		return "malformed (not NTArch.Major.Minor.ProductType."
		       "SuiteMask.Build)";
	case INSPECT_DEC_TOO_NEW:
		return "for a Windows version above 6.1";
	case INSPECT_DEC_PRODUCT:
		return "for a product type other than workstation (1)";
	case INSPECT_DEC_SUITE:
		return "for a suite mask that not every Windows 7 client has";
	case INSPECT_DEC_BUILD:
		return "for a build above 7601 (Windows 7 SP1)";
	default:
		return "";
	}
}

/*
 * INF Manufacturer section: "Starting with Windows Server 2003 SP1, INF
 * files must decorate models-section-name entries ... for non-x86 target
 * OS versions"; for x86 the decorations are optional, and an undecorated
 * entry or an architecture-less one (NT, NT.6.1) serves x86.  So the amd64
 * folder needs NTamd64, the x86 folder NTx86, NT or no decoration, each
 * one a Windows 7 SP1 client satisfies.
 */
static void inspect_check_decoration(struct inspect_ctx *c,
				     const struct inf *inf, cJSON *o)
{
	bool x86 = c->t == SELECT_X86;
	const char *want = x86 ? "NTx86" : "NTamd64";
	const char *other = x86 ? "NTamd64" : "NTx86";
	cJSON *decs = jsonout_add_arr(o, "decorations", &c->oom);
	size_t nm = inf_manufacturer_count(inf), ndec = 0;
	bool match = false, has_other = false, undecorated = false;
	enum inspect_dec why = INSPECT_DEC_OTHER_ARCH;
	const char *matched = NULL, *refused = NULL;

	for (size_t i = 0; i < nm; i++) {
		if (!inf_decoration_count(inf, i))
			undecorated = true;
		for (size_t j = 0; j < inf_decoration_count(inf, i); j++) {
			const char *d = inf_decoration(inf, i, j);
			enum inspect_dec f = inspect_decoration_fits(d, want);

			if (f == INSPECT_DEC_OTHER_ARCH && x86)
				f = inspect_decoration_fits(d, "NT");
			jsonout_add_str(decs, NULL, d, &c->oom);
			ndec++;
			if (f == INSPECT_DEC_FITS) {
				match = true;
				if (!matched)
					matched = d;
			} else if (f != INSPECT_DEC_OTHER_ARCH &&
				   (!refused || f == INSPECT_DEC_TOO_NEW)) {
				/* too new first: the usual Win8+ INF */
				why = f;
				refused = d;
			}
			if (!strncasecmp(d, other, strlen(other)))
				has_other = true;
		}
	}
	if (match)
		inspect_check(c, "arch_decoration", true,
			      "[Manufacturer] is decorated %s", matched);
	else if (!nm)
		inspect_check(c, "arch_decoration", false,
			      "the INF has no [Manufacturer] entry");
	else if (x86 && undecorated)
		inspect_check(c, "arch_decoration", true,
			      "[Manufacturer] has an undecorated entry, which "
			      "32-bit Windows 7 uses (only 64-bit Windows "
			      "requires a decoration)");
	else if (!ndec)
		inspect_check(c, "arch_decoration", false,
			      "[Manufacturer] is undecorated; Windows 7 %s "
			      "needs a %s decoration to install it from the %s "
			      "folder",
			      select_target_arch(c->t), want,
			      select_target_arch(c->t));
	else if (why == INSPECT_DEC_TOO_NEW)
		inspect_check(c, "arch_decoration", false,
			      "[Manufacturer] is decorated %s only for a "
			      "Windows version above 6.1: Windows 7 will not "
			      "install it",
			      want);
	else if (refused)
		inspect_check(c, "arch_decoration", false,
			      "[Manufacturer] is decorated %s only %s: "
			      "Windows 7 SP1 (6.1, workstation, build 7601) "
			      "will not install it",
			      refused, inspect_dec_why(why));
	else
		inspect_check(c, "arch_decoration", false,
			      "[Manufacturer] has no %s decoration%s; this is "
			      "the %s folder",
			      want,
			      has_other ? " (it is decorated for the other "
					  "architecture)"
					: "",
			      select_target_arch(c->t));
}

static void inspect_check_binding(struct inspect_ctx *c, const struct inf *inf,
				  cJSON *o)
{
	cJSON *ids = jsonout_add_arr(o, "hardware_ids", &c->oom);
	cJSON *binds = jsonout_add_arr(o, "binds", &c->oom);
	const struct virtio_aero_device *devs;
	struct strlist seen = STRLIST_INIT, bound = STRLIST_INIT;
	struct sbuf meant = SBUF_INIT;
	size_t ndev = 0;

	devs = virtio_aero_devices(&ndev);
	for (size_t i = 0; i < inf_model_count(inf); i++) {
		const struct inf_model *m = inf_model(inf, i);

		if (!m->hardware_id || strlist_has(&seen, m->hardware_id, true))
			continue;
		if (strlist_add(&seen, m->hardware_id) < 0)
			c->oom = true;
		jsonout_add_str(ids, NULL, m->hardware_id, &c->oom);
		for (size_t d = 0; d < ndev; d++) {
			cJSON *b;

			if (strcmp(devs[d].driver, c->def->id) ||
			    !virtio_hwid_binds(m->hardware_id, &devs[d].id))
				continue;
			b = jsonout_add_obj(binds, NULL, &c->oom);
			jsonout_add_str(b, "hardware_id", m->hardware_id,
					&c->oom);
			jsonout_add_str(b, "device", devs[d].name, &c->oom);
			if (!strlist_has(&bound, devs[d].name, false) &&
			    strlist_add(&bound, devs[d].name) < 0)
				c->oom = true;
		}
	}
	for (size_t d = 0; d < ndev; d++)
		if (!strcmp(devs[d].driver, c->def->id))
			sbuf_printf(&meant, "%s%s", meant.len ? ", " : "",
				    devs[d].name);
	if (meant.oom)
		c->oom = true;
	if (bound.n) {
		char *j = strlist_join(&bound, ", ");

		if (!j)
			c->oom = true;
		inspect_check(c, "binds_device", true, "binds to %s",
			      j ? j : "?");
		free(j);
	} else {
		inspect_check(c, "binds_device", false,
			      "none of the INF's %zu hardware ids binds to "
			      "the emulator's %s",
			      seen.n, meant.len ? meant.buf : "devices");
	}
	strlist_free(&seen);
	strlist_free(&bound);
	sbuf_release(&meant);
}

static void inspect_catalog(struct inspect_ctx *c, const struct source *s,
			    const struct inf *inf, const unsigned char *infbuf,
			    size_t inflen, const struct source_node *dir,
			    cJSON **out, struct aero_error *err)
{
	const char *arch = select_target_arch(c->t);
	const char *name = inf_catalog_for_arch(inf, arch);
	const struct source_node *n;
	unsigned char *buf = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct aero_error perr = {0, ""};
	struct wincat *cat = NULL;
	enum wincat_digest dg;
	enum wincat_time_source ts;
	int64_t t = 0;
	size_t len = 0;
	bool covered = false;
	cJSON *o;
	char when[40];

	if (!name) {
		inspect_check(c, "catalog_present", false,
			      "the INF names no CatalogFile for %s; Windows 7 "
			      "will not treat the package as signed",
			      arch);
		return;
	}
	n = inspect_find(dir, name, 0);
	if (!n) {
		inspect_check(c, "catalog_present", false,
			      "the INF names %s but it is not in the folder",
			      name);
		return;
	}
	inspect_check(c, "catalog_present", true, "%s is present",
		      source_node_name(n));
	if (inspect_read(s, n, WINCAT_MAX_SIZE, &buf, &len, &perr) < 0 ||
	    wincat_parse(buf, len, &cat, &perr) < 0) {
		if (perr.code == -ENOMEM)
			c->oom = true;
		if (perr.code == -EIO)
			*err = perr;
		inspect_check(c, "catalog_parse", false, "%s: %s",
			      source_node_name(n), perr.msg);
		free(buf);
		return;
	}
	free(buf);
	inspect_check(c, "catalog_parse", true, "%s decodes",
		      source_node_name(n));
	o = cJSON_CreateObject();
	*out = o;
	if (!o)
		c->oom = true;
	dg = wincat_digest(cat);
	jsonout_add_str(o, "file", source_node_name(n), &c->oom);
	jsonout_add_str(o, "digest", wincat_digest_name(dg), &c->oom);
	jsonout_add_str(o, "signer", wincat_signer(cat), &c->oom);
	ts = wincat_signing_time(cat, &t);
	if (ts != WINCAT_TIME_NONE) {
		inspect_utc(t, when, sizeof(when));
		jsonout_add_str(o, "signing_time", when, &c->oom);
		c->res->has_time = true;
		c->res->time = t;
	} else {
		jsonout_add_str(o, "signing_time", NULL, &c->oom);
	}
	jsonout_add_str(o, "signing_time_source", wincat_time_source_name(ts),
			&c->oom);
	jsonout_add_str(o, "os", wincat_os_attr(cat), &c->oom);
	jsonout_add_num(o, "members", (double)wincat_member_count(cat), &c->oom);
	/* Flat files are hashed whole (cat.h); members match by digest. */
	if (dg != WINCAT_DIGEST_SHA256 &&
	    EVP_Digest(infbuf, inflen, md, &mdlen, EVP_sha1(), NULL))
		covered |= wincat_has_digest(cat, md, mdlen);
	if (dg != WINCAT_DIGEST_SHA1 &&
	    EVP_Digest(infbuf, inflen, md, &mdlen, EVP_sha256(), NULL))
		covered |= wincat_has_digest(cat, md, mdlen);
	jsonout_add_bool(o, "covers_inf", covered, &c->oom);
	if (covered)
		inspect_check(c, "catalog_covers_inf", true,
			      "%s lists the INF's %s hash", source_node_name(n),
			      wincat_digest_name(dg));
	else
		inspect_check(c, "catalog_covers_inf", false,
			      "%s does not list the INF's hash: the INF was "
			      "changed after signing or belongs to another "
			      "catalog",
			      source_node_name(n));
	if (dg == WINCAT_DIGEST_SHA1)
		inspect_check(c, "catalog_win7_digest", true,
			      "sha1 catalog, verifiable by Windows 7 as "
			      "shipped");
	else if (dg == WINCAT_DIGEST_SHA256)
		inspect_check(c, "catalog_win7_digest", false,
			      "sha256-only catalog: Windows 7 verifies it only "
			      "with KB3033929 (SHA-2 code signing support) "
			      "installed");
	else
		inspect_check(c, "catalog_win7_digest", false,
			      "unknown member digest algorithm");
	wincat_free(cat);
}

int inspect_driver(const struct source *s, const struct select_driver_def *def,
		   enum select_target t, const struct source_node *arch_dir,
		   struct strlist *warnings, struct inspect_result *res,
		   struct aero_error *err)
{
	struct inspect_ctx c = {def, t, NULL, warnings, res, false};
	struct aero_error perr = {0, ""};
	const struct source_node *infn;
	struct inf *inf = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	cJSON *o, *others;
	const char *v;
	int r = 0;

	memset(res, 0, sizeof(*res));
	o = res->inf = cJSON_CreateObject();
	res->catalog = NULL;
	if (!o)
		return aero_error_set(err, -ENOMEM, "out of memory");
	/* attached last, to keep the key order of the manifest */
	others = cJSON_CreateArray();
	c.checks = cJSON_CreateArray();
	infn = inspect_pick_inf(arch_dir, def, others, &c.oom);
	jsonout_add_str(o, "file", infn ? source_node_name(infn) : "", &c.oom);
	if (!infn) {
		/* select_has_inf() made sure there is one */
		goto done;
	}
	snprintf(res->inf_file, sizeof(res->inf_file), "%s",
		 source_node_name(infn));
	r = inspect_read(s, infn, INF_MAX_SIZE, &buf, &len, &perr);
	if (r == 0)
		r = inf_parse(buf, len, &inf, &perr);
	if (r == -ENOMEM || r == -EIO) {
		*err = perr;
		cJSON_Delete(others);
		cJSON_Delete(c.checks);
		free(buf);
		return r;
	}
	if (r < 0) {
		inspect_check(&c, "inf_parse", false, "%s: %s",
			      source_node_name(infn), perr.msg);
		perr.code = 0;
		goto done;
	}
	jsonout_add_str(o, "encoding", inf_encoding_name(inf_encoding(inf)),
			&c.oom);
	jsonout_add_str(o, "line_endings", inf_crlf(inf) ? "crlf" : "lf",
			&c.oom);
	jsonout_add_str(o, "class", inf_class(inf), &c.oom);
	jsonout_add_str(o, "class_guid", inf_class_guid(inf), &c.oom);
	jsonout_add_str(o, "provider", inf_provider(inf), &c.oom);
	jsonout_add_str(o, "driver_date", inf_driver_date(inf), &c.oom);
	jsonout_add_str(o, "driver_version", inf_driver_version(inf), &c.oom);
	jsonout_add_str(o, "catalog_file",
			inf_catalog_for_arch(inf, select_target_arch(t)),
			&c.oom);
	if (inf_driver_date(inf) || inf_driver_version(inf))
		snprintf(
		    res->driver_ver, sizeof(res->driver_ver), "%s%s%s",
		    inf_driver_date(inf) ? inf_driver_date(inf) : "",
		    inf_driver_date(inf) && inf_driver_version(inf) ? "," : "",
		    inf_driver_version(inf) ? inf_driver_version(inf) : "");
	v = inf_provider(inf);
	snprintf(res->provider, sizeof(res->provider), "%s", v ? v : "");
	{
		cJSON *sv = jsonout_add_arr(o, "services", &c.oom);

		for (size_t i = 0; i < inf_service_count(inf); i++)
			jsonout_add_str(sv, NULL, inf_service(inf, i), &c.oom);
	}
	inspect_check(&c, "inf_parse", true, "%s (%s)", source_node_name(infn),
		      inf_encoding_name(inf_encoding(inf)));
	inspect_check_files(&c, inf, arch_dir, o);
	inspect_check_decoration(&c, inf, o);
	inspect_check_binding(&c, inf, o);
	inspect_catalog(&c, s, inf, buf, len, arch_dir, &res->catalog, &perr);
	inf_free(inf);
done:
	free(buf);
	if (!res->catalog && !(res->catalog = cJSON_CreateNull()))
		c.oom = true;
	jsonout_add(o, "other_inf_files", others, &c.oom);
	jsonout_add(o, "checks", c.checks, &c.oom);
	if (perr.code == -EIO) {
		*err = perr;
		return perr.code;
	}
	if (c.oom)
		return aero_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

void inspect_result_free(struct inspect_result *res)
{
	cJSON_Delete(res->inf);
	cJSON_Delete(res->catalog);
	res->inf = res->catalog = NULL;
}
