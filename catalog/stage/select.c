/*
 * select.c: the selection rules of the Aero Win7 driver pack (select.h).
 *
 * Only lookups in the source tree happen here; nothing is read.  Messages
 * keep the content of the reference script's (which driver, which
 * targets, what was tried) so that users of the old pipeline recognise
 * them, in this project's lower-case style.
 */
#include "catalog/stage/select.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct select_driver_def select_defs[SELECT_NDRIVERS] = {
	{ "viostor", "viostor", true },
	{ "netkvm", "NetKVM", true },
	{ "viosnd", "viosnd", false },
	{ "vioinput", "vioinput", false },
};

/* Precedence order: w7_1 is w7.1 as ISO9660 level 1-3 mangles it. */
static const char *const select_os_dirs[] = { "w7.1", "w7_1", "w7", "win7" };
#define SELECT_NOS (sizeof(select_os_dirs) / sizeof(select_os_dirs[0]))

static const char *const select_arch_dirs[SELECT_NTARGETS][2] = {
	[SELECT_X86] = { "x86", "i386" },
	[SELECT_AMD64] = { "amd64", "x64" },
};

const char *select_target_name(enum select_target t)
{
	return t == SELECT_X86 ? "win7-x86" : "win7-amd64";
}

const char *select_target_arch(enum select_target t)
{
	return t == SELECT_X86 ? "x86" : "amd64";
}

const char *select_status_name(enum select_status s)
{
	switch (s) {
	case SELECT_INCLUDED:
		return "included";
	case SELECT_PARTIAL:
		return "partial";
	case SELECT_MISSING:
		break;
	}
	return "missing";
}

const struct select_driver_def *select_driver_defs(size_t *n)
{
	*n = SELECT_NDRIVERS;
	return select_defs;
}

const struct select_driver_def *select_driver_def(const char *id)
{
	for (size_t i = 0; i < SELECT_NDRIVERS; i++)
		if (!strcmp(select_defs[i].id, id))
			return &select_defs[i];
	return NULL;
}

static void select_supported(struct sbuf *sb)
{
	for (size_t i = 0; i < SELECT_NDRIVERS; i++)
		sbuf_printf(sb, "%s%s", i ? ", " : "", select_defs[i].id);
}

static int select_parse(const char *list, const struct select_driver_def **defs,
			size_t *n, bool require, struct aero_error *err)
{
	struct sbuf unknown = SBUF_INIT, missing = SBUF_INIT;
	const char *p = list;
	size_t count = 0;
	int r = 0;

	*n = 0;
	if (!list) {
		for (size_t i = 0; i < SELECT_NDRIVERS; i++)
			defs[i] = &select_defs[i];
		*n = SELECT_NDRIVERS;
		return 0;
	}
	while (*p) {
		const char *start, *end;
		char tok[32];
		size_t len;
		const struct select_driver_def *d;
		bool dup = false;

		start = p;
		end = p + strcspn(p, ",+");
		p = *end ? end + 1 : end;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		len = (size_t)(end - start);
		if (!len)
			continue;
		if (len >= sizeof(tok)) {
			sbuf_printf(&unknown, "%s%.*s...",
				    unknown.len ? ", " : "", (int)sizeof(tok),
				    start);
			continue;
		}
		for (size_t i = 0; i < len; i++)
			tok[i] = (char)tolower((unsigned char)start[i]);
		tok[len] = '\0';
		d = select_driver_def(tok);
		if (!d) {
			sbuf_printf(&unknown, "%s%s", unknown.len ? ", " : "",
				    tok);
			continue;
		}
		for (size_t i = 0; i < count; i++)
			dup |= defs[i] == d;
		if (!dup)
			defs[count++] = d;
	}
	if (unknown.len || unknown.oom) {
		sbuf_puts(&unknown, "; supported: ");
		select_supported(&unknown);
		r = aero_error_set(err, -EINVAL,
				   "unknown driver(s) requested: %s",
				   unknown.oom ? "?" : unknown.buf);
		goto out;
	}
	if (!count && !unknown.len) {
		sbuf_puts(&unknown, "empty drivers= list; supported: ");
		select_supported(&unknown);
		r = aero_error_set(err, -EINVAL, "%s",
				   unknown.oom ? "empty drivers= list" :
						 unknown.buf);
		goto out;
	}
	for (size_t i = 0; require && i < SELECT_NDRIVERS; i++) {
		bool found = false;

		if (!select_defs[i].required)
			continue;
		for (size_t j = 0; j < count; j++)
			found |= defs[j] == &select_defs[i];
		if (!found)
			sbuf_printf(&missing, "%s%s", missing.len ? ", " : "",
				    select_defs[i].id);
	}
	if (missing.len) {
		r = aero_error_set(err, -EINVAL,
				   "this driver pack requires: viostor, "
				   "netkvm; "
				   "missing from drivers=: %s",
				   missing.buf);
		goto out;
	}
	*n = count;
out:
	sbuf_release(&unknown);
	sbuf_release(&missing);
	return r;
}

int select_parse_drivers(const char *list,
			 const struct select_driver_def **defs, size_t *n,
			 struct aero_error *err)
{
	return select_parse(list, defs, n, true, err);
}

int select_parse_driver_ids(const char *list,
			    const struct select_driver_def **defs, size_t *n,
			    struct aero_error *err)
{
	return select_parse(list, defs, n, false, err);
}

static bool select_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcasecmp(s + ls - lx, suffix);
}

bool select_has_inf(const struct source_node *dir)
{
	for (size_t i = 0; i < source_node_nchildren(dir); i++) {
		const struct source_node *c = source_node_child(dir, i);

		if (source_node_type(c) == SOURCE_NODE_FILE &&
		    select_ends_with(source_node_name(c), ".inf"))
			return true;
	}
	return false;
}

static const struct source_node *select_find_dir(const struct source_node *d,
						 const char *name)
{
	const struct source_node *c = source_node_find(d, name);

	return c && source_node_type(c) == SOURCE_NODE_DIR ? c : NULL;
}

/* Finds DEF for target T under ROOT, filling F. */
static void select_find(const struct source_node *root,
			const struct select_driver_def *def,
			enum select_target t, struct select_found *f)
{
	const char *const *arch = select_arch_dirs[t];
	const struct source_node *up, *os, *an;
	struct sbuf tried = SBUF_INIT;
	char noinf[256] = "";
	size_t nos = 0;

	memset(f, 0, sizeof(*f));
	up = select_find_dir(root, def->upstream);
	if (!up) {
		snprintf(f->error, sizeof(f->error),
			 "could not find driver directory '%s' in the source "
			 "root",
			 def->upstream);
		return;
	}
	for (size_t i = 0; i < SELECT_NOS; i++) {
		os = select_find_dir(up, select_os_dirs[i]);
		if (!os)
			continue;
		/* w7.1 and w7_1 may name one folder on a case-folding reader */
		if (f->os_node == os)
			continue;
		f->os_node = os;
		nos++;
		sbuf_printf(&tried, "%s'%s/%s'", tried.len ? ", " : "",
			    source_node_name(up), source_node_name(os));
		for (size_t j = 0; j < 2; j++) {
			an = select_find_dir(os, arch[j]);
			if (!an)
				continue;
			if (!select_has_inf(an)) {
				if (!noinf[0])
					snprintf(noinf, sizeof(noinf),
						 "'%s/%s/%s' has no .inf file",
						 source_node_name(up),
						 source_node_name(os),
						 source_node_name(an));
				continue;
			}
			f->present = true;
			f->arch_node = an;
			snprintf(f->source_path, sizeof(f->source_path),
				 "%s/%s/%s", source_node_name(up),
				 source_node_name(os), source_node_name(an));
			goto out;
		}
	}
	f->os_node = NULL;
	if (!nos)
		snprintf(f->error, sizeof(f->error),
			 "could not find an OS directory under '%s'; "
			 "tried: w7.1, w7_1, w7, win7",
			 source_node_name(up));
	else if (noinf[0])
		snprintf(f->error, sizeof(f->error), "%s", noinf);
	else
		snprintf(f->error, sizeof(f->error),
			 "could not find arch directory under %s; tried: %s, "
			 "%s",
			 tried.oom ? "?" : tried.buf, arch[0], arch[1]);
out:
	sbuf_release(&tried);
}

/* "win7-amd64=...; win7-x86=..." sorted by target name, like the reference. */
static void select_details(const struct select_driver *d, struct sbuf *sb,
			   struct sbuf *targets)
{
	/* Bytewise order of the target names: amd64 before x86. */
	static const enum select_target order[] = { SELECT_AMD64, SELECT_X86 };
	bool first = true;

	for (size_t i = 0; i < SELECT_NTARGETS; i++) {
		enum select_target t = (enum select_target)i;

		if (d->t[t].present)
			continue;
		sbuf_printf(targets, "%s%s", targets->len ? ", " : "",
			    select_target_name(t));
	}
	for (size_t i = 0; i < 2; i++) {
		const struct select_found *f = &d->t[order[i]];

		if (f->present || !f->error[0])
			continue;
		sbuf_printf(sb, "%s%s: %s", first ? "" : " | ",
			    select_target_name(order[i]), f->error);
		first = false;
	}
}

int select_run(const struct source_node *root,
	       const struct select_driver_def *const *defs, size_t n,
	       bool strict_optional, struct selection *sel,
	       struct aero_error *err)
{
	struct sbuf strict = SBUF_INIT;
	int r = 0;

	memset(sel, 0, sizeof(*sel));
	for (size_t i = 0; i < n && i < SELECT_NDRIVERS; i++) {
		struct select_driver *d = &sel->drv[sel->ndrv++];
		size_t npresent = 0;

		d->def = defs[i];
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			select_find(root, d->def, (enum select_target)t,
				    &d->t[t]);
			npresent += d->t[t].present;
		}
		d->status = npresent == SELECT_NTARGETS ? SELECT_INCLUDED :
							  SELECT_MISSING;
		if (npresent == SELECT_NTARGETS)
			continue;
		if (d->def->required) {
			struct sbuf det = SBUF_INIT, tg = SBUF_INIT;

			select_details(d, &det, &tg);
			r = aero_error_set(err, -ENOENT,
					   "required driver '%s' (%s) missing "
					   "for: %s; details: %s",
					   d->def->id, d->def->upstream,
					   tg.oom ? "?" : tg.buf,
					   det.oom ? "?" : det.buf);
			sbuf_release(&det);
			sbuf_release(&tg);
			goto out;
		}
		if (npresent && strict_optional) {
			d->status = SELECT_PARTIAL;
		} else if (npresent) {
			/*
			 * A pack that has vioinput for x86 only would install
			 * differently on the two architectures; the reference
			 * (require_optional_drivers_on_all_arches) drops it.
			 */
			for (size_t t = 0; t < SELECT_NTARGETS; t++) {
				struct select_found *f = &d->t[t];

				if (!f->present)
					continue;
				r = strlist_addf(&sel->warnings,
						 "optional driver '%s' (%s) "
						 "was "
						 "present only for %s; "
						 "omitting "
						 "it from all targets "
						 "(require_optional_drivers_on_"
						 "all_arches)",
						 d->def->id, d->def->upstream,
						 select_target_name((
							 enum select_target)t));
				f->present = false;
				snprintf(f->error, sizeof(f->error),
					 "omitted from pack because the "
					 "optional driver was missing for one "
					 "or more other targets");
			}
			d->dropped_partial = true;
		} else if (!strict_optional) {
			struct sbuf det = SBUF_INIT, tg = SBUF_INIT;

			/* one reason, or each target's when they differ */
			if (strcmp(d->t[SELECT_X86].error,
				   d->t[SELECT_AMD64].error))
				select_details(d, &det, &tg);
			r = det.oom || tg.oom ?
				    -ENOMEM :
				    strlist_addf(&sel->warnings,
						 "optional driver '%s' (%s) is "
						 "missing for win7-x86, "
						 "win7-amd64 "
						 "and is left out; %s",
						 d->def->id, d->def->upstream,
						 det.len ? det.buf :
							   d->t[SELECT_X86]
								   .error);
			sbuf_release(&det);
			sbuf_release(&tg);
		}
		if (r < 0)
			goto oom;
		if (strict_optional) {
			struct sbuf det = SBUF_INIT, tg = SBUF_INIT;

			select_details(d, &det, &tg);
			sbuf_printf(&strict,
				    "\n- %s: missing for %s. Details: %s",
				    d->def->id, tg.oom ? "?" : tg.buf,
				    det.oom ? "?" : det.buf);
			sbuf_release(&det);
			sbuf_release(&tg);
		}
	}
	if (strict.len) {
		r = aero_error_set(err, -ENOENT,
				   "one or more optional drivers were "
				   "requested "
				   "but are missing from the virtio-win "
				   "source:%s\nhint: use a fuller virtio-win "
				   "source, drop strict-optional, or pass "
				   "drivers=viostor,netkvm",
				   strict.buf);
		goto out;
	}
	if (strict.oom)
		goto oom;
	goto out;
oom:
	r = aero_error_set(err, -ENOMEM, "out of memory");
out:
	sbuf_release(&strict);
	return r;
}

void select_free(struct selection *sel)
{
	strlist_free(&sel->warnings);
}

bool select_is_notice_name(const char *name)
{
	static const char *const prefixes[] = {
		"license", "licence", "copying", "copyright", "notice",
		"eula",	   "authors", "credits", "readme",
	};
	char low[256];
	size_t len = strlen(name);

	if (!len || len >= sizeof(low))
		return false;
	for (size_t i = 0; i <= len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(low, prefixes[i], strlen(prefixes[i])))
			return true;
	/* virtio-win_license.txt, the real ISO's notice (anchor §11) */
	return strstr(low, "license") || strstr(low, "licence");
}

bool select_version_from_name(const char *name, char *out, size_t size)
{
	static const char key[] = "virtio-win-";
	size_t klen = sizeof(key) - 1, len;
	const char *v = NULL;

	for (const char *p = name; *p; p++)
		if (!strncasecmp(p, key, klen)) {
			v = p + klen;
			break;
		}
	if (!v || !*v)
		return false;
	len = strlen(v);
	if (select_ends_with(v, ".iso"))
		len -= 4;
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	if (!len || len >= size)
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

bool select_is_junk_name(const char *name)
{
	static const char *const junk[] = {
		".DS_Store",   "Thumbs.db", "ehthumbs.db",
		"desktop.ini", "__MACOSX",
	};

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		if (!strcasecmp(name, junk[i]))
			return true;
	return false;
}

const char *select_windows_name_problem(const char *name)
{
	static const char *const devices[] = { "CON", "PRN", "AUX", "NUL" };
	size_t len = strlen(name);
	size_t base = strcspn(name, ".");

	if (strpbrk(name, "<>:\"\\|?*"))
		return "it contains one of <>:\"\\|?*";
	/* Naming Files, Paths, and Namespaces: 1 through 31 are invalid */
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20)
			return "it contains a control character";
	if (len && (name[len - 1] == '.' || name[len - 1] == ' '))
		return "it ends in a dot or a space";
	/* Win32 also trims blanks before the extension: "CON .txt". */
	while (base > 0 && name[base - 1] == ' ')
		base--;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (base == 3 && !strncasecmp(name, devices[i], 3))
			return "it is a reserved device name";
	if (base == 4 &&
	    (!strncasecmp(name, "COM", 3) || !strncasecmp(name, "LPT", 3)) &&
	    name[3] >= '1' && name[3] <= '9')
		return "it is a reserved device name";
	return NULL;
}
