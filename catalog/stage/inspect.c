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
#include "catalog/util/io.h"
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
			size_t done = 0;

			if (io_pread_full(source_fd(s), p + got, (size_t)want,
					  ext[i].offset, &done) < 0) {
				free(p);
				return aero_error_set(
					err, -EIO,
					"%s: cannot read at "
					"offset %llu of the image",
					source_node_name(n),
					(unsigned long long)(ext[i].offset +
							     done));
			}
			got += (size_t)want;
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

static bool inspect_is_inf(const struct source_node *c)
{
	const char *name = source_node_name(c);
	size_t len = strlen(name);

	return source_node_type(c) == SOURCE_NODE_FILE && len >= 4 &&
	       !strcasecmp(name + len - 4, ".inf");
}

/*
 * The INF that describes the driver: <id>.inf, <Upstream>.inf, else the
 * first; the others go to OTHERS.
 */
static const struct source_node *inspect_pick_inf(
	const struct source_node *dir, const struct select_driver_def *def,
	struct strlist *others, bool *oom)
{
	const struct source_node *pick = NULL;
	char want1[64], want2[64];

	snprintf(want1, sizeof(want1), "%s.inf", def->id);
	snprintf(want2, sizeof(want2), "%s.inf", def->upstream);
	pick = source_node_find(dir, want1);
	if (!pick || source_node_type(pick) != SOURCE_NODE_FILE)
		pick = source_node_find(dir, want2);
	if (pick && source_node_type(pick) != SOURCE_NODE_FILE)
		pick = NULL;
	for (size_t i = 0; !pick && i < source_node_nchildren(dir); i++)
		if (inspect_is_inf(source_node_child(dir, i)))
			pick = source_node_child(dir, i);
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *c = source_node_child(dir, i);

		if (c != pick && inspect_is_inf(c) &&
		    strlist_add(others, source_node_name(c)) < 0)
			*oom = true;
	}
	return pick;
}

struct inspect_ctx {
	const struct select_driver_def *def;
	enum select_target t;
	struct strlist *warnings;
	struct inspect_result *res;
	bool oom; /* an allocation failed: the result is incomplete */
};

/* A copy of S, or NULL for NULL; *OOM when the copy fails. */
static char *inspect_dup(const char *s, bool *oom)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		*oom = true;
	return c;
}

static void inspect_add(struct strlist *l, const char *s, bool *oom)
{
	if (strlist_add(l, s) < 0)
		*oom = true;
}

static void inspect_check(struct inspect_ctx *c, const char *name, bool ok,
			  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void inspect_check(struct inspect_ctx *c, const char *name, bool ok,
			  const char *fmt, ...)
{
	struct inspect_result *res = c->res;
	struct inspect_check *v;
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	v = realloc(res->checks, (res->nchecks + 1) * sizeof(*v));
	if (!v) {
		c->oom = true;
		return;
	}
	res->checks = v;
	v[res->nchecks] = (struct inspect_check){
		.name = name,
		.ok = ok,
		.detail = inspect_dup(detail, &c->oom),
	};
	if (!v[res->nchecks].detail)
		return;
	res->nchecks++;
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
				const struct source_node *dir)
{
	struct strlist *files = &c->res->referenced_files;
	struct strlist *inbox = &c->res->files_from_windows;
	struct sbuf missing = SBUF_INIT;
	size_t n = inf_file_count(inf), nmissing = 0, ninbox = 0;

	for (size_t i = 0; i < n; i++) {
		const char *f = inf_file(inf, i);

		inspect_add(files, f, &c->oom);
		if (inspect_find(dir, f, 0))
			continue;
		if (!inspect_shipped(inf, f, c->t)) {
			inspect_add(inbox, f, &c->oom);
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
	INSPECT_DEC_OTHER_ARCH, /* not this architecture */
	INSPECT_DEC_MALFORMED,
	INSPECT_DEC_TOO_NEW, /* OS version above 6.1 */
	INSPECT_DEC_PRODUCT, /* not a workstation */
	INSPECT_DEC_SUITE,   /* needs suite bits */
	INSPECT_DEC_BUILD,   /* build above 7601 */
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

static enum inspect_dec inspect_decoration_fits(const char *d, const char *arch)
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
				     const struct inf *inf)
{
	bool x86 = c->t == SELECT_X86;
	const char *want = x86 ? "NTx86" : "NTamd64";
	const char *other = x86 ? "NTamd64" : "NTx86";
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
			inspect_add(&c->res->decorations, d, &c->oom);
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
					  "architecture)" :
					  "",
			      select_target_arch(c->t));
}

static void inspect_check_binding(struct inspect_ctx *c, const struct inf *inf)
{
	struct inspect_result *res = c->res;
	const struct virtio_aero_device *devs;
	struct strlist seen = STRLIST_INIT, bound = STRLIST_INIT;
	struct sbuf meant = SBUF_INIT;
	size_t ndev = 0;

	devs = virtio_aero_devices(&ndev);
	for (size_t i = 0; i < inf_model_count(inf); i++) {
		const struct inf_model *m = inf_model(inf, i);

		if (!m->hardware_id || strlist_has(&seen, m->hardware_id, true))
			continue;
		inspect_add(&seen, m->hardware_id, &c->oom);
		inspect_add(&res->hardware_ids, m->hardware_id, &c->oom);
		for (size_t d = 0; d < ndev; d++) {
			struct inspect_bind *b;

			if (strcmp(devs[d].driver, c->def->id) ||
			    !virtio_hwid_binds(m->hardware_id, &devs[d].id))
				continue;
			b = realloc(res->binds, (res->nbinds + 1) * sizeof(*b));
			if (!b) {
				c->oom = true;
				continue;
			}
			res->binds = b;
			b[res->nbinds].hardware_id = inspect_dup(m->hardware_id,
								 &c->oom);
			b[res->nbinds].device = devs[d].name;
			if (b[res->nbinds].hardware_id)
				res->nbinds++;
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
			    struct aero_error *err)
{
	const char *arch = select_target_arch(c->t);
	const char *name = inf_catalog_for_arch(inf, arch);
	const struct source_node *n;
	unsigned char *buf = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct aero_error perr = { 0, "" };
	struct wincat *cat = NULL;
	enum wincat_digest dg;
	enum wincat_time_source ts;
	int64_t t = 0;
	size_t len = 0;
	bool covered = false;
	struct inspect_result *res = c->res;

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
	dg = wincat_digest(cat);
	res->has_catalog = true;
	res->cat_file = inspect_dup(source_node_name(n), &c->oom);
	res->digest = wincat_digest_name(dg);
	res->signer = inspect_dup(wincat_signer(cat), &c->oom);
	ts = wincat_signing_time(cat, &t);
	if (ts != WINCAT_TIME_NONE) {
		res->has_time = true;
		res->time = t;
	}
	res->time_source = wincat_time_source_name(ts);
	res->os = inspect_dup(wincat_os_attr(cat), &c->oom);
	res->members = wincat_member_count(cat);
	/* Flat files are hashed whole (cat.h); members match by digest. */
	if (dg != WINCAT_DIGEST_SHA256 &&
	    EVP_Digest(infbuf, inflen, md, &mdlen, EVP_sha1(), NULL))
		covered |= wincat_has_digest(cat, md, mdlen);
	if (dg != WINCAT_DIGEST_SHA1 &&
	    EVP_Digest(infbuf, inflen, md, &mdlen, EVP_sha256(), NULL))
		covered |= wincat_has_digest(cat, md, mdlen);
	res->covers_inf = covered;
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
	struct inspect_ctx c = { def, t, warnings, res, false };
	struct aero_error perr = { 0, "" };
	const struct source_node *infn;
	struct inf *inf = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	const char *v;
	int r = 0;

	memset(res, 0, sizeof(*res));
	infn = inspect_pick_inf(arch_dir, def, &res->other_inf_files, &c.oom);
	res->file = inspect_dup(infn ? source_node_name(infn) : "", &c.oom);
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
		free(buf);
		return r;
	}
	if (r < 0) {
		inspect_check(&c, "inf_parse", false, "%s: %s",
			      source_node_name(infn), perr.msg);
		perr.code = 0;
		goto done;
	}
	res->parsed = true;
	res->encoding = inf_encoding_name(inf_encoding(inf));
	res->crlf = inf_crlf(inf);
	res->class_name = inspect_dup(inf_class(inf), &c.oom);
	res->class_guid = inspect_dup(inf_class_guid(inf), &c.oom);
	res->provider_name = inspect_dup(inf_provider(inf), &c.oom);
	res->driver_date = inspect_dup(inf_driver_date(inf), &c.oom);
	res->driver_version = inspect_dup(inf_driver_version(inf), &c.oom);
	res->catalog_file =
		inspect_dup(inf_catalog_for_arch(inf, select_target_arch(t)),
			    &c.oom);
	if (inf_driver_date(inf) || inf_driver_version(inf))
		snprintf(res->driver_ver, sizeof(res->driver_ver), "%s%s%s",
			 inf_driver_date(inf) ? inf_driver_date(inf) : "",
			 inf_driver_date(inf) && inf_driver_version(inf) ? "," :
									   "",
			 inf_driver_version(inf) ? inf_driver_version(inf) :
						   "");
	v = inf_provider(inf);
	snprintf(res->provider, sizeof(res->provider), "%s", v ? v : "");
	for (size_t i = 0; i < inf_service_count(inf); i++)
		inspect_add(&res->services, inf_service(inf, i), &c.oom);
	inspect_check(&c, "inf_parse", true, "%s (%s)", source_node_name(infn),
		      inf_encoding_name(inf_encoding(inf)));
	inspect_check_files(&c, inf, arch_dir);
	inspect_check_decoration(&c, inf);
	inspect_check_binding(&c, inf);
	inspect_catalog(&c, s, inf, buf, len, arch_dir, &perr);
	inf_free(inf);
done:
	free(buf);
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
	free(res->file);
	free(res->class_name);
	free(res->class_guid);
	free(res->provider_name);
	free(res->driver_date);
	free(res->driver_version);
	free(res->catalog_file);
	strlist_free(&res->services);
	strlist_free(&res->referenced_files);
	strlist_free(&res->files_from_windows);
	strlist_free(&res->decorations);
	strlist_free(&res->hardware_ids);
	for (size_t i = 0; i < res->nbinds; i++)
		free(res->binds[i].hardware_id);
	free(res->binds);
	strlist_free(&res->other_inf_files);
	for (size_t i = 0; i < res->nchecks; i++)
		free(res->checks[i].detail);
	free(res->checks);
	free(res->cat_file);
	free(res->signer);
	free(res->os);
	memset(res, 0, sizeof(*res));
}
