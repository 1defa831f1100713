/*
 * main.c: aerofs-catalog, which builds the pack of a virtio-win source in
 * memory and reports on it: what was selected from where, the INF and
 * catalog checks, the pack tree, or the manifest.  It writes nothing; use
 * aerofs-export for that and aerofs to mount.
 *
 * Exit codes: 0 ok, 1 checks failed (with --check), 2 usage, 3 the source
 * could not be read or the selection failed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "catalog/stage/catalog.h"
#include "catalog/util/log.h"
#include "catalog/util/sbuf.h"
#include "catalog/util/termesc.h"

#define PROG "aerofs-catalog"

enum {
	EXIT_CHECKS = 1,
	EXIT_USAGE = 2,
	EXIT_SOURCE = 3,
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: " PROG
	    " [-o OPTION[,OPTION...]] [--json | --tree] [--check] SOURCE\n"
	    "\n"
	    "Builds the Aero Windows 7 driver pack of SOURCE (a virtio-win "
	    "ISO, an\n"
	    "extracted virtio-win tree, or a pack) in memory and reports on "
	    "it.\n"
	    "\n"
	    "  -o, --options LIST  catalog options, comma-separated:\n"
	    "        drivers=ID+...   viostor+netkvm (required), viosnd, "
	    "vioinput\n"
	    "        strict-optional  a missing optional driver is an error\n"
	    "        drop-pdb         leave .pdb debug symbols out\n"
	    "        epoch=SECONDS    time of every file (default: "
	    "SOURCE_DATE_EPOCH,\n"
	    "                         the ISO volume time, the newest catalog\n"
	    "                         signing time, 0)\n"
	    "        source-hash      record the SHA-256 of the whole source "
	    "ISO\n"
	    "        label=LABEL      volume label of images (1-16 of A-Z a-z "
	    "0-9 _ . -)\n"
	    "  --json              print manifest.json instead of the summary\n"
	    "  --tree              print the pack tree with file sizes\n"
	    "  --check             exit 1 if any INF or catalog check failed\n"
	    "  -v, --verbose       log more to stderr\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n"
	    "\n"
	    "Exit status: 0 ok, 1 checks failed (--check), 2 usage, 3 source "
	    "error.\n");
}

/*
 * Every string printed for a human comes from the source (INF values,
 * names): escaped, so that it cannot drive the terminal (termesc.h).  The
 * copies live in KEEP until the caller frees it.
 */
static const char *safe(struct strlist *keep, const char *s)
{
	char *e;

	if (!s || !termesc_needed(s))
		return s;
	e = termesc_dup(s);
	if (!e || strlist_add(keep, e) < 0) {
		free(e);
		return "?";
	}
	free(e);
	return keep->v[keep->n - 1];
}

static const char *jstr(struct strlist *k, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? safe(k, v->valuestring) : NULL;
}

static const char *jstr_or(struct strlist *k, const cJSON *o,
			   const char *key, const char *d)
{
	const char *s = jstr(k, o, key);

	return s ? s : d;
}

static void print_list(struct strlist *k, const cJSON *a)
{
	const cJSON *e;
	bool first = true;

	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e))
			printf("%s%s", first ? "" : ", ",
			       safe(k, e->valuestring));
		first = false;
	}
	if (first)
		printf("none");
}

static void print_summary(const cJSON *m, const struct pack *p,
			  const struct catalog_report *rep)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(m, "image");
	const cJSON *results, *d, *w;
	size_t nfailed = 0, ntotal = 0, nwarn = 0;
	struct strlist keep = STRLIST_INIT, *k = &keep;

	printf("source:   %s (%s, %s names", jstr_or(k, src, "name", "?"),
	       jstr_or(k, src, "kind", "?"), jstr_or(k, src, "names", "?"));
	if (jstr(k, src, "volume_label"))
		printf(", volume label \"%s\"", jstr(k, src, "volume_label"));
	printf(")\n");
	printf("version:  %s\n", jstr_or(k, src, "derived_version", "unknown"));
	printf("epoch:    %s (%s)\n", jstr_or(k, m, "created_utc", "?"),
	       jstr_or(k, m, "epoch_source", "?"));
	printf("label:    %s\n", jstr_or(k, img, "label", "?"));
	printf("drivers:  ");
	print_list(k, cJSON_GetObjectItemCaseSensitive(m, "drivers"));
	printf("\n");
	results = cJSON_GetObjectItemCaseSensitive(m, "driver_results");
	cJSON_ArrayForEach(d, results)
	{
		const cJSON *det =
		    cJSON_GetObjectItemCaseSensitive(d, "details");
		const cJSON *t;

		const cJSON *errs =
		    cJSON_GetObjectItemCaseSensitive(d, "errors");
		bool req = cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(d, "required"));

		printf("  %-9s %-8s %-8s", jstr_or(k, d, "name", "?"),
		       req ? "required" : "optional",
		       jstr_or(k, d, "status", "?"));
		cJSON_ArrayForEach(t, det)
		{
			printf("  %s <- %s", safe(k, t->string),
			       jstr_or(k, t, "source_path", "?"));
		}
		/* the first reason, sorted by target like the manifest */
		if (!cJSON_GetArraySize(det) && cJSON_GetArraySize(errs) > 0 &&
		    cJSON_IsString(errs->child))
			printf("  (%s: %s)", safe(k, errs->child->string),
			       safe(k, errs->child->valuestring));
		printf("\n");
	}
	printf("checks:\n");
	cJSON_ArrayForEach(d, results)
	{
		const cJSON *det =
		    cJSON_GetObjectItemCaseSensitive(d, "details");
		const cJSON *t;

		cJSON_ArrayForEach(t, det)
		{
			const cJSON *inf =
			    cJSON_GetObjectItemCaseSensitive(t, "inf");
			const cJSON *cat =
			    cJSON_GetObjectItemCaseSensitive(t, "catalog");
			const cJSON *c;

			printf("  %s %s: %s", jstr_or(k, d, "name", "?"),
			       safe(k, t->string), jstr_or(k, inf, "file", "?"));
			if (jstr(k, inf, "driver_version"))
				printf(" %s", jstr(k, inf, "driver_version"));
			if (cJSON_IsObject(cat))
				printf(", %s %s catalog signed by %s",
				       jstr_or(k, cat, "file", "?"),
				       jstr_or(k, cat, "digest", "?"),
				       jstr_or(k, cat, "signer", "unknown"));
			printf("\n");
			cJSON_ArrayForEach(
			    c, cJSON_GetObjectItemCaseSensitive(inf, "checks"))
			{
				bool ok = cJSON_IsTrue(
				    cJSON_GetObjectItemCaseSensitive(c, "ok"));

				ntotal++;
				printf("    %s %s: %s\n", ok ? "PASS" : "FAIL",
				       jstr_or(k, c, "name", "?"),
				       jstr_or(k, c, "detail", ""));
			}
		}
	}
	w = cJSON_GetObjectItemCaseSensitive(m, "warnings");
	if (cJSON_GetArraySize(w) > 0) {
		const cJSON *e;

		printf("warnings:\n");
		cJSON_ArrayForEach(e, w)
		{
			if (cJSON_IsString(e))
				printf("  - %s\n", safe(k, e->valuestring));
		}
	}
	/*
	 * The report's counts, not the manifest's: for an imported pack the
	 * checks ran again, and the files that no longer match it count, as
	 * with --check.
	 */
	ntotal = catalog_report_checks(rep);
	nfailed = catalog_report_failed_checks(rep);
	nwarn = catalog_report_warnings(rep);
	printf("pack:     %zu nodes, %" PRIu64 " bytes; %zu checks, %zu "
	       "failed; %zu warnings\n",
	       pack_node_count(p), pack_content_bytes(p), ntotal, nfailed,
	       nwarn);
	strlist_free(&keep);
}

/* "PROG: error: MSG" on stderr, MSG escaped: it may quote the source. */
static void print_error(const char *msg)
{
	struct strlist keep = STRLIST_INIT;

	fprintf(stderr, PROG ": error: %s\n", safe(&keep, msg));
	strlist_free(&keep);
}

static void print_tree(const struct pack *p, const struct pack_node *n)
{
	for (size_t i = 0; i < pack_node_nchildren(n); i++) {
		const struct pack_node *c = pack_node_child(n, i);

		struct strlist keep = STRLIST_INIT;
		const char *path = safe(&keep, pack_node_path(c));

		if (pack_node_is_dir(c)) {
			printf("%12s  %s/\n", "-", path);
			print_tree(p, c);
		} else {
			printf("%12" PRIu64 "  %s\n", pack_node_size(c), path);
		}
		strlist_free(&keep);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"options", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {"tree", no_argument, NULL, 't'},
	    {"check", no_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct catalog_options opts = {0};
	struct aero_error err = {0, ""};
	struct catalog_report *rep = NULL;
	struct pack *pack = NULL;
	bool json = false, tree = false, check = false;
	int c, rc = 0, r;
	int64_t ignored;

	log_set_program(PROG);
	log_set_level(LOG_LEVEL_ERR);
	while ((c = getopt_long(argc, argv, "o:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (catalog_options_parse_list(&opts, optarg, NULL, NULL,
						       NULL, &err) < 0) {
				print_error(err.msg);
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'j':
			json = true;
			break;
		case 't':
			tree = true;
			break;
		case 'c':
			check = true;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_INFO);
			break;
		case 'h':
			usage(stdout);
			goto out;
		case 'V':
			printf(PROG " (aerofs) %s\n", AEROFS_VERSION);
			goto out;
		default:
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": error: %s\n",
			optind >= argc ? "missing SOURCE"
				       : "too many arguments");
		usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (json && tree) {
		fprintf(stderr, PROG ": error: --json and --tree do not "
				     "combine\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (catalog_options_check(&opts, &err) < 0) {
		print_error(err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!opts.epoch_set && catalog_epoch_from_env(&ignored, &err) < 0) {
		print_error(err.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	r = catalog_build(argv[optind], &opts, &pack, &rep, &err);
	if (r < 0) {
		print_error(err.msg[0] ? err.msg : strerror(-r));
		rc = EXIT_SOURCE;
		goto out;
	}
	if (json) {
		char *text = catalog_report_json(rep);

		if (text) {
			fputs(text, stdout);
		} else {
			fprintf(stderr, PROG ": error: out of memory\n");
			rc = EXIT_SOURCE;
		}
		free(text);
	} else if (tree) {
		print_tree(pack, pack_root(pack));
	} else {
		char *text = catalog_report_json(rep);
		cJSON *m = text ? cJSON_Parse(text) : NULL;

		if (m) {
			print_summary(m, pack, rep);
		} else {
			fprintf(stderr, PROG ": error: cannot read the "
					     "manifest back\n");
			rc = EXIT_SOURCE;
		}
		cJSON_Delete(m);
		free(text);
	}
	if (check && !rc && catalog_report_failed_checks(rep) > 0) {
		fprintf(stderr, PROG ": %zu check(s) failed\n",
			catalog_report_failed_checks(rep));
		rc = EXIT_CHECKS;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": error: cannot write the output\n");
		rc = EXIT_SOURCE;
	}
out:
	catalog_report_free(rep);
	pack_unref(pack);
	catalog_options_free(&opts);
	return rc;
}
