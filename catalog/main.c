/*
 * main.c: aerofs-catalog, which builds the pack of a virtio-win source in
 * memory and reports on it: what was selected from where, the INF and
 * catalog checks, the pack tree, or the manifest.  It writes nothing; use
 * aerofs-export for that and aerofs to mount.
 *
 * The summary is printed from the report's structs (report.h), never from
 * the manifest text, and every string in it is escaped for the terminal
 * (termesc.h): they come from the source.
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

#include "catalog/stage/catalog.h"
#include "catalog/stage/inspect.h"
#include "catalog/stage/report.h"
#include "catalog/stage/select.h"
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
	fprintf(f,
		"Usage: " PROG
		" [-o OPTION[,OPTION...]] [--json | --tree] [--check] SOURCE\n"
		"\n"
		"Builds the Aero Windows 7 driver pack of SOURCE (a virtio-win "
		"ISO, an\n"
		"extracted virtio-win tree, or a pack) in memory and reports "
		"on "
		"it.\n"
		"\n"
		"  -o, --options LIST  catalog options, comma-separated:\n"
		"        drivers=ID+...   viostor+netkvm (required), viosnd, "
		"vioinput\n"
		"        strict-optional  a missing optional driver is an "
		"error\n"
		"        drop-pdb         leave .pdb debug symbols out\n"
		"        epoch=SECONDS    time of every file (default: "
		"SOURCE_DATE_EPOCH,\n"
		"                         the ISO volume time, the newest "
		"catalog\n"
		"                         signing time, 0)\n"
		"        source-hash      record the SHA-256 of the whole "
		"source "
		"ISO\n"
		"        label=LABEL      volume label of images (1-16 of A-Z "
		"a-z "
		"0-9 _ . -)\n"
		"  --json              print manifest.json instead of the "
		"summary\n"
		"  --tree              print the pack tree with file sizes\n"
		"  --check             exit 1 if any INF or catalog check "
		"failed\n"
		"  -v, --verbose       log more to stderr\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"Exit status: 0 ok, 1 checks failed (--check), 2 usage, 3 "
		"source "
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

static const char * or (const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* The summary, from the report's structs (report.h). */
static void print_summary(const struct catalog_report *rep,
			  const struct pack *p)
{
	const struct report *r = catalog_report_details(rep);
	struct strlist keep = STRLIST_INIT, *k = &keep;
	char when[40];

	printf("source:   %s (%s, %s names", safe(k, or (r->source.name, "?")),
	       or (r->source.kind, "?"), safe(k, or (r->source.names, "?")));
	if (r->source.volume_label)
		printf(", volume label \"%s\"",
		       safe(k, r->source.volume_label));
	printf(")\n");
	printf("version:  %s\n", safe(k, or (r->source.version, "unknown")));
	inspect_utc(r->epoch, when, sizeof(when));
	printf("epoch:    %s (%s)\n", when, safe(k, or (r->epoch_source, "?")));
	printf("label:    %s\n", safe(k, catalog_report_label(rep)));
	printf("drivers:  ");
	for (size_t i = 0; i < r->drivers.n; i++)
		printf("%s%s", i ? ", " : "", r->drivers.v[i]);
	printf("%s\n", r->drivers.n ? "" : "none");
	for (size_t i = 0; i < r->ndrv; i++) {
		const struct report_driver *d = &r->drv[i];
		bool any = false;

		printf("  %-9s %-8s %-8s", d->name,
		       d->required ? "required" : "optional", d->status);
		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			if (!d->t[t].present)
				continue;
			printf("  %s <- %s",
			       select_target_name((enum select_target)t),
			       safe(k, or (d->t[t].source_path, "?")));
			any = true;
		}
		/* the first reason, sorted by target like the manifest */
		if (!any && d->error_target)
			printf("  (%s: %s)", d->error_target,
			       safe(k, or (d->error, "")));
		printf("\n");
	}
	printf("checks:\n");
	for (size_t i = 0; i < r->ndrv; i++) {
		const struct report_driver *d = &r->drv[i];

		for (size_t t = 0; t < SELECT_NTARGETS; t++) {
			const struct inspect_result *res = &d->t[t].res;

			if (!d->t[t].present)
				continue;
			printf("  %s %s: %s", d->name,
			       select_target_name((enum select_target)t),
			       safe(k, or (res->file, "?")));
			if (res->driver_version)
				printf(" %s", safe(k, res->driver_version));
			if (res->has_catalog)
				printf(", %s %s catalog signed by %s",
				       safe(k, or (res->cat_file, "?")),
				       or (res->digest, "?"),
				       safe(k, or (res->signer, "unknown")));
			printf("\n");
			for (size_t c = 0; c < res->nchecks; c++)
				printf("    %s %s: %s\n",
				       res->checks[c].ok ? "PASS" : "FAIL",
				       res->checks[c].name,
				       safe(k, or (res->checks[c].detail, "")));
		}
	}
	if (r->warnings.n) {
		printf("warnings:\n");
		for (size_t i = 0; i < r->warnings.n; i++)
			printf("  - %s\n", safe(k, r->warnings.v[i]));
	}
	/*
	 * The report's counts: for an imported pack the checks ran again,
	 * and the files that no longer match it count, as with --check.
	 */
	printf("pack:     %zu nodes, %" PRIu64 " bytes; %zu checks, %zu "
	       "failed; %zu warnings\n",
	       pack_node_count(p), pack_content_bytes(p),
	       catalog_report_checks(rep), catalog_report_failed_checks(rep),
	       catalog_report_warnings(rep));
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
		{ "options", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "tree", no_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct catalog_options opts = { 0 };
	struct aero_error err = { 0, "" };
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
			if (catalog_options_parse_list(&opts, optarg, NULL,
						       NULL, NULL, &err) < 0) {
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
			printf(PROG " %s\n", AEROFS_VERSION);
			goto out;
		default:
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": error: %s\n",
			optind >= argc ? "missing SOURCE" :
					 "too many arguments");
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
		print_summary(rep, pack);
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
