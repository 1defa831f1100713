/*
 * extras.c: extra driver packages, checked (extras.h).
 */
#include "catalog/stage/extras.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/formats/inf.h"
#include "catalog/stage/inspect.h"
#include "catalog/util/sbuf.h"
#include "catalog/util/termesc.h"

#define EXTRAS_MAX 32
#define EXTRAS_NAME_MAX 32
#define EXTRAS_DEPTH_MAX 16
#define EXTRAS_FILE_MAX (256u << 20) /* the private-key scan reads it */

struct extras_driver {
	char name[EXTRAS_NAME_MAX + 1];
	const struct source_node *dir[SELECT_NTARGETS];
};

struct extras {
	struct source *src;
	char *root; /* DIR, for messages */
	struct extras_driver drv[EXTRAS_MAX];
	size_t n;
};

/* Sets ERR to "DIR/<N's path>: WHY" (the path escaped); returns -EINVAL. */
static int extras_refuse(const struct extras *x, const struct source_node *n,
			 const char *why, struct aero_error *err)
{
	char path[4096], *e;
	int r;

	source_node_path(n, path, sizeof(path));
	e = termesc_dup(path);
	r = aero_error_set(err, -EINVAL, "extra-drivers: %s%s%s: %s", x->root,
			   *path ? "/" : "", e ? e : "?", why);
	free(e);
	return r;
}

static bool extras_is_arch(const char *name, enum select_target *t)
{
	if (!strcasecmp(name, "x86")) {
		*t = SELECT_X86;
		return true;
	}
	if (!strcasecmp(name, "amd64")) {
		*t = SELECT_AMD64;
		return true;
	}
	return false;
}

static bool extras_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > EXTRAS_NAME_MAX || !strcmp(s, ".") ||
	    !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

/* Notes folder N as driver NAME for target T. */
static int extras_note(struct extras *x, const struct source_node *n,
		       const char *name, enum select_target t,
		       struct aero_error *err)
{
	struct extras_driver *d = NULL;

	if (source_node_type(n) != SOURCE_NODE_DIR)
		return extras_refuse(x, n, "not a folder", err);
	if (!extras_name_ok(name))
		return extras_refuse(x, n,
				     "a driver name is 1 to 32 of "
				     "A-Z a-z 0-9 _ - .",
				     err);
	{
		char lower[EXTRAS_NAME_MAX + 1];
		size_t i;

		for (i = 0; name[i]; i++)
			lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
						  name[i] - 'A' + 'a' :
						  name[i]);
		lower[i] = '\0';
		if (select_driver_def(lower))
			return extras_refuse(x, n,
					     "the name of one of the "
					     "pack's own drivers",
					     err);
	}
	for (size_t i = 0; i < x->n; i++)
		if (!strcasecmp(x->drv[i].name, name))
			d = &x->drv[i];
	if (!d) {
		if (x->n == EXTRAS_MAX)
			return extras_refuse(x, n, "more than 32 drivers", err);
		d = &x->drv[x->n++];
		snprintf(d->name, sizeof(d->name), "%s", name);
	}
	if (d->dir[t])
		return extras_refuse(x, n,
				     "the driver twice for one "
				     "architecture",
				     err);
	d->dir[t] = n;
	return 0;
}

/* <driver>/{x86,amd64}/... or {x86,amd64}/<driver>/... */
static int extras_layout(struct extras *x, struct aero_error *err)
{
	const struct source_node *root = source_root(x->src);
	bool arch_first = false;
	enum select_target t = SELECT_X86;
	int r = 0;

	for (size_t i = 0; i < source_node_nchildren(root); i++) {
		const char *name = source_node_name(source_node_child(root, i));

		if (!select_is_junk_name(name) && extras_is_arch(name, &t))
			arch_first = true;
	}
	for (size_t i = 0; r == 0 && i < source_node_nchildren(root); i++) {
		const struct source_node *c = source_node_child(root, i);
		const char *cn = source_node_name(c);

		if (select_is_junk_name(cn))
			continue;
		if (source_node_type(c) != SOURCE_NODE_DIR)
			return extras_refuse(x, c,
					     "not a folder: the layout "
					     "is <driver>/x86, <driver>/amd64 "
					     "or x86/<driver>, amd64/<driver>",
					     err);
		if (arch_first && !extras_is_arch(cn, &t))
			return extras_refuse(x, c,
					     "not x86 or amd64 beside "
					     "x86 or amd64",
					     err);
		for (size_t k = 0; r == 0 && k < source_node_nchildren(c);
		     k++) {
			const struct source_node *g = source_node_child(c, k);
			const char *gn = source_node_name(g);

			if (select_is_junk_name(gn))
				continue;
			if (arch_first)
				r = extras_note(x, g, gn, t, err);
			else if (extras_is_arch(gn, &t))
				r = extras_note(x, g, cn, t, err);
			else
				r = extras_refuse(x, g,
						  "not x86 or amd64 in "
						  "a driver's folder",
						  err);
		}
	}
	if (r == 0 && x->n == 0)
		return extras_refuse(x, root, "no driver folders", err);
	for (size_t i = 0; r == 0 && i < x->n; i++)
		for (size_t k = 0; k < SELECT_NTARGETS; k++)
			if (!x->drv[i].dir[k]) {
				char why[96];

				snprintf(why, sizeof(why),
					 "%s has no %s "
					 "folder",
					 x->drv[i].name,
					 select_target_arch(
						 (enum select_target)k));
				return extras_refuse(x, x->drv[i].dir[!k], why,
						     err);
			}
	return r;
}

/* Refuses a private key anywhere under N: by name, then by content. */
static int extras_no_keys(struct extras *x, const struct source_node *n,
			  unsigned depth, struct aero_error *err)
{
	static const char *const key_ext[] = { ".pfx", ".p12", ".pvk", ".key" };
	int r = 0;

	if (depth > EXTRAS_DEPTH_MAX)
		return extras_refuse(x, n, "too deep", err);
	for (size_t i = 0; r == 0 && i < source_node_nchildren(n); i++) {
		const struct source_node *c = source_node_child(n, i);
		const char *cn = source_node_name(c);
		size_t len = strlen(cn);
		unsigned char *buf = NULL;
		size_t blen = 0;

		if (source_node_type(c) == SOURCE_NODE_DIR) {
			r = extras_no_keys(x, c, depth + 1, err);
			continue;
		}
		if (source_node_type(c) != SOURCE_NODE_FILE)
			continue;
		for (size_t k = 0; k < 4; k++)
			if (len > 4 && !strcasecmp(cn + len - 4, key_ext[k]))
				return extras_refuse(x, c,
						     "a private key "
						     "file: media never carry "
						     "one",
						     err);
		r = inspect_read(x->src, c, EXTRAS_FILE_MAX, &buf, &blen, err);
		if (r < 0) {
			free(buf);
			if (r == -EFBIG)
				return extras_refuse(x, c,
						     "larger than 256 "
						     "MiB",
						     err);
			return r;
		}
		/* RFC 7468: PRIVATE KEY, RSA/EC PRIVATE KEY, ENCRYPTED ... */
		if (memmem(buf, blen, "PRIVATE KEY-----", 16))
			r = extras_refuse(x, c,
					  "holds a private key (a PEM "
					  "PRIVATE KEY block): media never "
					  "carry one",
					  err);
		free(buf);
	}
	return r;
}

/* The checks a driver of our own must pass (inspect.h's names). */
static bool extras_required_check(const char *name)
{
	return !strcmp(name, "inf_parse") ||
	       !strcmp(name, "referenced_files") ||
	       !strcmp(name, "arch_decoration") ||
	       !strcmp(name, "catalog_present");
}

static int extras_inspect(struct extras *x, struct aero_error *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < x->n; i++)
		for (size_t t = 0; r == 0 && t < SELECT_NTARGETS; t++) {
			const struct extras_driver *d = &x->drv[i];
			struct select_driver_def def = { d->name, d->name,
							 true };
			struct strlist warnings = STRLIST_INIT;
			struct inspect_result res;

			r = inspect_driver(x->src, &def, (enum select_target)t,
					   d->dir[t], &warnings, &res, err);
			if (r == 0 && !res.file[0])
				r = extras_refuse(x, d->dir[t], "no INF", err);
			for (size_t k = 0; r == 0 && k < res.nchecks; k++) {
				const struct inspect_check *c = &res.checks[k];
				char why[400];

				if (c->ok || !extras_required_check(c->name))
					continue;
				snprintf(why, sizeof(why), "%s: %s: %s",
					 res.file, c->name,
					 c->detail ? c->detail : "failed");
				r = extras_refuse(x, d->dir[t], why, err);
			}
			inspect_result_free(&res);
			strlist_free(&warnings);
		}
	return r;
}

static int extras_cmp(const void *a, const void *b)
{
	return strcmp(((const struct extras_driver *)a)->name,
		      ((const struct extras_driver *)b)->name);
}

int extras_open(const char *dir, struct extras **out, struct aero_error *err)
{
	struct extras *x = calloc(1, sizeof(*x));
	int r;

	*out = NULL;
	if (!x || !(x->root = strdup(dir))) {
		free(x);
		return aero_error_set(err, -ENOMEM, "out of memory");
	}
	r = source_open(dir, NULL, &x->src, err);
	if (r < 0) {
		aero_error_prefix(err, "extra-drivers");
		goto fail;
	}
	if (source_kind(x->src) != SOURCE_KIND_DIR) {
		r = aero_error_set(err, -EINVAL,
				   "extra-drivers: %s: not a "
				   "folder",
				   dir);
		goto fail;
	}
	r = extras_no_keys(x, source_root(x->src), 0, err);
	if (r == 0)
		r = extras_layout(x, err);
	if (r == 0)
		r = extras_inspect(x, err);
	if (r < 0)
		goto fail;
	qsort(x->drv, x->n, sizeof(x->drv[0]), extras_cmp);
	*out = x;
	return 0;
fail:
	extras_free(x);
	return r;
}

struct source *extras_source(const struct extras *x)
{
	return x->src;
}

size_t extras_count(const struct extras *x)
{
	return x->n;
}

const char *extras_name(const struct extras *x, size_t i)
{
	return x->drv[i].name;
}

const struct source_node *extras_dir(const struct extras *x, size_t i,
				     enum select_target t)
{
	return x->drv[i].dir[t];
}

void extras_free(struct extras *x)
{
	if (!x)
		return;
	source_close(x->src);
	free(x->root);
	free(x);
}
