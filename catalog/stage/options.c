/*
 * options.c: catalog_option_parse() and the epoch from the environment
 * (catalog.h).  Kept apart from catalog.c so that option handling links
 * without the source readers.
 */
#include "catalog/stage/catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/stage/select.h"

/*
 * Years 1..9999: what "created_utc" can spell.  ISO 9660 clamps dates to
 * 1900..2155 and ZIP to 1980..2107 by themselves (export/).
 */
#define CATALOG_EPOCH_MIN (-62135596800LL)
#define CATALOG_EPOCH_MAX 253402300799LL

int catalog_parse_epoch(const char *s, int64_t *out, struct aero_error *err)
{
	const char *p = s;
	bool neg = false;
	int64_t v = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		if (v > CATALOG_EPOCH_MAX / 10 + 1)
			goto range;
		v = v * 10 + (*p - '0');
	}
	if (neg)
		v = -v;
	if (v < CATALOG_EPOCH_MIN || v > CATALOG_EPOCH_MAX)
		goto range;
	*out = v;
	return 0;
bad:
	return aero_error_set(err, -EINVAL,
			      "invalid epoch '%s': expected "
			      "seconds since 1970-01-01 UTC",
			      s);
range:
	return aero_error_set(err, -ERANGE,
			      "epoch '%s' out of range (years "
			      "1 to 9999)",
			      s);
}

bool catalog_label_valid(const char *label)
{
	size_t len = strlen(label);

	if (len < 1 || len > 16)
		return false;
	for (const char *p = label; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		      *p == '-'))
			return false;
	return true;
}

static bool catalog_flag(const char *opt, const char *name)
{
	return !strcmp(opt, name);
}

int catalog_option_parse(struct catalog_options *opts, const char *opt,
			 struct aero_error *err)
{
	const struct select_driver_def *defs[SELECT_NDRIVERS];
	size_t n;
	int r;

	if (!strncmp(opt, "drivers=", 8)) {
		r = select_parse_drivers(opt + 8, defs, &n, err);
		if (r < 0)
			return r;
		opts->drivers = opt + 8;
		return 1;
	}
	if (!strncmp(opt, "epoch=", 6)) {
		r = catalog_parse_epoch(opt + 6, &opts->epoch, err);
		if (r < 0) {
			aero_error_prefix(err, "epoch=");
			return -EINVAL;
		}
		opts->epoch_set = true;
		return 1;
	}
	if (!strncmp(opt, "label=", 6)) {
		if (!catalog_label_valid(opt + 6))
			return aero_error_set(
			    err, -EINVAL,
			    "label=: invalid volume label '%s': use 1 to "
			    "16 characters of A-Z a-z 0-9 _ . - (Joliet "
			    "keeps only 16)",
			    opt + 6);
		opts->label = opt + 6;
		return 1;
	}
	if (catalog_flag(opt, "strict-optional")) {
		opts->strict_optional = true;
		return 1;
	}
	if (catalog_flag(opt, "drop-pdb")) {
		opts->drop_pdb = true;
		return 1;
	}
	if (catalog_flag(opt, "source-hash")) {
		opts->source_hash = true;
		return 1;
	}
	return 0;
}

int catalog_epoch_from_env(int64_t *out, struct aero_error *err)
{
	const char *v = getenv("SOURCE_DATE_EPOCH");
	const char *p;

	if (!v)
		return 0;
	/* reproducible-builds.org: an empty value means unset */
	for (p = v; *p == ' ' || *p == '\t'; p++)
		;
	if (!*p)
		return 0;
	if (catalog_parse_epoch(v, out, err) < 0) {
		aero_error_prefix(err, "SOURCE_DATE_EPOCH");
		return -EINVAL;
	}
	return 1;
}
