/*
 * options.c: catalog_option_parse() and the epoch from the environment
 * (catalog.h).  Kept apart from catalog.c so that option handling links
 * without the source readers.
 */
#include "catalog/stage/catalog.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
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

/* The words of the grammar (catalog.h), and how each is spelled. */
static const struct catalog_word {
	const char *name;
	bool value; /* name=value, else a bare flag */
	const char *spelling;
} catalog_words[] = {
	{ "drivers", true, "drivers=ID+ID..." },
	{ "strict-optional", false, "strict-optional" },
	{ "drop-pdb", false, "drop-pdb" },
	{ "epoch", true, "epoch=SECONDS" },
	{ "source-hash", false, "source-hash" },
	{ "label", true, "label=LABEL" },
	{ "extra-drivers", true, "extra-drivers=DIR" },
	{ "cert", true, "cert=FILE" },
};

#define CATALOG_NWORDS (sizeof(catalog_words) / sizeof(catalog_words[0]))
#define CATALOG_KEY_MAX 32

/* Levenshtein distance of two short keys (both < CATALOG_KEY_MAX). */
static size_t catalog_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[CATALOG_KEY_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The word of the grammar that the key of WORD (before any '=') is close
 * to: the same ignoring case and '_' for '-', or within two typos of a
 * name of five letters or more.  No libfuse option is that close to one.
 */
static const struct catalog_word *catalog_near(const char *word, size_t klen)
{
	const struct catalog_word *best = NULL;
	size_t best_d = 3;
	char key[CATALOG_KEY_MAX];

	if (!klen || klen >= sizeof(key))
		return NULL;
	for (size_t i = 0; i < klen; i++)
		key[i] = word[i] == '_' ? '-' :
					  (char)tolower((unsigned char)word[i]);
	key[klen] = '\0';
	for (size_t i = 0; i < CATALOG_NWORDS; i++) {
		size_t d = catalog_distance(key, catalog_words[i].name);

		if (d < best_d &&
		    (d == 0 || strlen(catalog_words[i].name) >= 5)) {
			best = &catalog_words[i];
			best_d = d;
		}
	}
	return best;
}

/* True if WORD is a driver id, in any case. */
static bool catalog_is_driver_id(const char *word)
{
	char id[16];
	size_t len = strlen(word);

	if (!len || len >= sizeof(id))
		return false;
	for (size_t i = 0; i <= len; i++)
		id[i] = (char)tolower((unsigned char)word[i]);
	return select_driver_def(id) != NULL;
}

static int catalog_oom_err(struct aero_error *err)
{
	return aero_error_set(err, -ENOMEM, "out of memory");
}

static int catalog_set_drivers(struct catalog_options *opts, const char *list,
			       bool append, struct aero_error *err)
{
	const struct select_driver_def *defs[SELECT_NDRIVERS];
	char *copy;
	size_t n;
	int r;

	r = select_parse_driver_ids(list, defs, &n, err);
	if (r < 0) {
		aero_error_prefix(err, "drivers=");
		return r;
	}
	if (append && opts->drivers) {
		if (asprintf(&copy, "%s,%s", opts->drivers, list) < 0)
			copy = NULL;
	} else {
		copy = strdup(list);
	}
	if (!copy)
		return catalog_oom_err(err);
	free(opts->drivers);
	opts->drivers = copy;
	opts->in_drivers = true;
	return 1;
}

/*
 * extra-drivers=DIR, cert=FILE: resolved now, since the daemon runs in /
 * and the source may be reloaded long after the command line was read.
 */
static int catalog_set_path(struct catalog_options *opts, char **dst,
			    const char *word, const char *val,
			    struct aero_error *err)
{
	char *real;

	if (!*val)
		return aero_error_set(err, -EINVAL, "%.*s=: empty path",
				      (int)(strchr(word, '=') - word), word);
	real = realpath(val, NULL);
	if (!real) {
		int e = errno;

		return aero_error_set(err, e == ENOMEM ? -ENOMEM : -EINVAL,
				      "%s: %s", word, strerror(e));
	}
	free(*dst);
	*dst = real;
	opts->in_drivers = false;
	return 1;
}

int catalog_option_parse(struct catalog_options *opts, const char *word,
			 struct aero_error *err)
{
	const char *eq = strchr(word, '=');
	const char *val = eq ? eq + 1 : NULL;
	size_t klen = eq ? (size_t)(eq - word) : strlen(word);
	const struct catalog_word *near;
	int r;

	if (!eq && opts->in_drivers && catalog_is_driver_id(word))
		return catalog_set_drivers(opts, word, true, err);
	if (val && klen == 7 && !strncmp(word, "drivers", 7))
		return catalog_set_drivers(opts, val, false, err);
	if (val && klen == 5 && !strncmp(word, "epoch", 5)) {
		r = catalog_parse_epoch(val, &opts->epoch, err);
		if (r < 0) {
			aero_error_prefix(err, "epoch=");
			return -EINVAL;
		}
		opts->epoch_set = true;
		opts->in_drivers = false;
		return 1;
	}
	if (val && klen == 5 && !strncmp(word, "label", 5)) {
		char *copy;

		if (!catalog_label_valid(val))
			return aero_error_set(err, -EINVAL,
					      "label=: invalid volume label "
					      "'%s': use 1 to "
					      "16 characters of A-Z a-z 0-9 _ "
					      ". - (Joliet "
					      "keeps only 16)",
					      val);
		copy = strdup(val);
		if (!copy)
			return catalog_oom_err(err);
		free(opts->label);
		opts->label = copy;
		opts->in_drivers = false;
		return 1;
	}
	if (val && ((klen == 13 && !strncmp(word, "extra-drivers", 13)) ||
		    (klen == 4 && !strncmp(word, "cert", 4))))
		return catalog_set_path(opts,
					klen == 4 ? &opts->cert :
						    &opts->extra_drivers,
					word, val, err);
	if (!strcmp(word, "strict-optional")) {
		opts->strict_optional = true;
		opts->in_drivers = false;
		return 1;
	}
	if (!strcmp(word, "drop-pdb")) {
		opts->drop_pdb = true;
		opts->in_drivers = false;
		return 1;
	}
	if (!strcmp(word, "source-hash")) {
		opts->source_hash = true;
		opts->in_drivers = false;
		return 1;
	}
	near = catalog_near(word, klen);
	if (near)
		return aero_error_set(err, -EINVAL,
				      "unknown option '%s'; the spelling "
				      "is %s",
				      word, near->spelling);
	return 0;
}

int catalog_option_unknown(const char *word, const char *other_spelling,
			   struct aero_error *err)
{
	return aero_error_set(err, -EINVAL,
			      "unknown option '%s'; accepted: "
			      "drivers=ID+ID..., strict-optional, drop-pdb, "
			      "epoch=SECONDS, source-hash, label=LABEL, "
			      "extra-drivers=DIR, cert=FILE%s%s",
			      word, other_spelling ? ", " : "",
			      other_spelling ? other_spelling : "");
}

int catalog_options_parse_list(struct catalog_options *opts, const char *list,
			       catalog_option_fn other, void *ctx,
			       const char *other_spelling,
			       struct aero_error *err)
{
	char *buf = malloc(strlen(list) + 1), *w = buf;
	int r = 0;

	if (!buf)
		return catalog_oom_err(err);
	for (const char *p = list;; p++) {
		if (*p == '\\' && p[1] == ',') {
			*w++ = ',';
			p++;
			continue;
		}
		if (*p && *p != ',') {
			*w++ = *p;
			continue;
		}
		*w = '\0';
		if (*buf) {
			r = catalog_option_parse(opts, buf, err);
			if (r == 0 && other)
				r = other(ctx, buf, err);
			if (r == 0)
				r = catalog_option_unknown(buf, other_spelling,
							   err);
			if (r < 0)
				break;
			r = 0;
		}
		w = buf;
		if (!*p)
			break;
	}
	free(buf);
	return r;
}

int catalog_options_check(const struct catalog_options *opts,
			  struct aero_error *err)
{
	const struct select_driver_def *defs[SELECT_NDRIVERS];
	size_t n;

	return select_parse_drivers(opts->drivers, defs, &n, err);
}

void catalog_options_free(struct catalog_options *opts)
{
	free(opts->drivers);
	free(opts->label);
	free(opts->extra_drivers);
	free(opts->cert);
	memset(opts, 0, sizeof(*opts));
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
