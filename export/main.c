/*
 * main.c: aerofs-export, which snapshots a profile (by default the Aero
 * Win7 driver pack) of a virtio-win source to a .zip, a directory, or an
 * image in any format of export/image (.iso, ...).
 *
 *   aerofs-export [options] SOURCE OUTPUT
 *
 * SOURCE is anything catalog_build() takes (a virtio-win ISO, its
 * extracted tree, a mounted aerofs tree or an earlier directory export).
 * The output is written atomically: into a temporary file or directory
 * created with O_EXCL next to OUTPUT, synced, then renamed over OUTPUT.
 * On any failure the temporary is removed and OUTPUT is left as it was.
 * An existing directory OUTPUT is replaced only with --force (by an atomic
 * exchange, then removal of the old tree).
 *
 * The process runs in UTC (ZIP DOS times are local times in libarchive)
 * and never calls setlocale(), so the bytes written depend only on the
 * source and the options, not on TZ, LANG or the umask.
 *
 * Not here: what goes in the pack (catalog/), the formats (export/image,
 * export/archive).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/stage/catalog.h"
#include "catalog/stage/profile.h"
#include "catalog/util/io.h"
#include "catalog/util/log.h"
#include "export/archive/tree.h"
#include "export/archive/zip.h"
#include "export/image/chunked.h"
#include "export/image/image.h"

#define PROG "aerofs-export"
#define IMAGE_CHUNK (1 << 20)

/*
 * An output format: a streamed archive, a directory tree, or one of the
 * image formats (export/image/image.h, which the mount serves too).
 */
enum out_kind {
	OUT_ZIP,
	OUT_DIR,
	OUT_IMAGE,
	OUT_CHUNKED
};

struct out_format {
	enum out_kind kind;
	const char *name;		  /* --format */
	const struct image_format *image; /* OUT_IMAGE */
};

static const struct out_format out_zip = { OUT_ZIP, "zip", NULL };
static const struct out_format out_dir = { OUT_DIR, "dir", NULL };
static const struct out_format out_chunked = { OUT_CHUNKED, "chunked", NULL };

enum {
	OPT_DRIVERS = 256,
	OPT_STRICT,
	OPT_DROP_PDB,
	OPT_EPOCH,
	OPT_LABEL,
	OPT_SOURCE_HASH,
	OPT_NO_RR,
	OPT_NO_JOLIET,
	OPT_NO_WINPE,
	OPT_JSON,
	OPT_PROFILE,
	OPT_CHUNK_SIZE,
};

static const struct option long_options[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "drivers", required_argument, NULL, OPT_DRIVERS },
	{ "strict-optional", no_argument, NULL, OPT_STRICT },
	{ "drop-pdb", no_argument, NULL, OPT_DROP_PDB },
	{ "epoch", required_argument, NULL, OPT_EPOCH },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "source-hash", no_argument, NULL, OPT_SOURCE_HASH },
	{ "no-rock-ridge", no_argument, NULL, OPT_NO_RR },
	{ "no-joliet", no_argument, NULL, OPT_NO_JOLIET },
	{ "no-winpe", no_argument, NULL, OPT_NO_WINPE },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
	{ "force", no_argument, NULL, 'F' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Everything main() decides, passed down explicitly. */
struct export
{
	const char *source;
	const char *output;
	const struct out_format *format; /* NULL: from OUTPUT's name */
	struct out_format image_format;	 /* storage for OUT_IMAGE */
	const struct profile *profile;
	struct catalog_options copts;
	struct image_options iopts;
	uint32_t chunk_size; /* OUT_CHUNKED */
	bool force, quiet, json;

	/* the run */
	struct pack *pack;
	struct catalog_report *report;
	char *tmp; /* temporary output, removed on failure */
	bool tmp_is_dir;
	uint64_t size, files;
	unsigned char sha256[32];
	bool have_sha;

	/* progress */
	bool show_progress;
	uint64_t total;
	struct timespec last;
	/* Test hook (AEROFS_TEST_STOP_AT=BYTES): the process stops itself
	 * (SIGSTOP) once, after BYTES of content, so that a test can change
	 * the source at a known point of the export and then continue it. */
	uint64_t stop_at;
};

static volatile sig_atomic_t cancelled;

static void on_signal(int sig)
{
	cancelled = sig;
}

static void usage(FILE *f)
{
	const struct image_format *fmts;
	const struct profile *profs;
	size_t nfmt, nprof;

	fmts = image_formats(&nfmt);
	profs = profiles(&nprof);
	fprintf(f,
		"usage: " PROG " [options] SOURCE OUTPUT\n"
		"\n"
		"Writes a profile (default: the Aero Win7 driver pack) of "
		"SOURCE (a\n"
		"virtio-win ISO, its extracted tree, or a mounted aerofs tree) "
		"to OUTPUT:\n"
		"a .zip, an image, or a directory.  Same source and options, "
		"same bytes.\n"
		"\n"
		"Output:\n"
		"  -f, --format FORMAT       output format (default: from "
		"OUTPUT's suffix,\n"
		"                            a directory otherwise); one of:\n"
		"                              zip   ZIP archive (deflate)\n"
		"                              dir   a directory tree\n"
		"                              chunked  a directory of every "
		"image of the\n"
		"                                    profile as Aero chunks "
		"(manifest.json,\n"
		"                                    chunks/, latest.json), "
		"for a CDN\n");
	for (size_t i = 0; i < nfmt; i++)
		fprintf(f, "                              %-5s %s\n",
			fmts[i].name, fmts[i].what);
	fprintf(f, "      --profile NAME        what to write; one of:\n");
	for (size_t i = 0; i < nprof; i++)
		fprintf(f, "                              %s: %s\n",
			profs[i].name, profs[i].what);
	fprintf(f,
		"  -F, --force               replace an existing directory "
		"OUTPUT\n"
		"      --no-rock-ridge       ISO: leave Rock Ridge out\n"
		"      --no-joliet           ISO: leave Joliet out\n"
		"      --no-winpe            images: no $WinPEDriver$ folder "
		"(the copy of\n"
		"                            the drivers Windows Setup loads "
		"by itself)\n"
		"      --chunk-size BYTES    chunked: chunk size, a multiple "
		"of 512 up to\n"
		"                            64M (default 4M)\n"
		"\n"
		"Pack (also as -o opt[,opt...], e.g. -o "
		"drivers=viostor+netkvm,drop-pdb):\n"
		"      --drivers LIST        driver ids separated by + or , "
		"(default: all\n"
		"                            of "
		"viostor+netkvm+vioinput+viosnd)\n"
		"      --strict-optional     a missing optional driver is an "
		"error\n"
		"      --drop-pdb            leave .pdb debug symbols out\n"
		"      --epoch SECONDS       timestamp of every entry "
		"(default:\n"
		"                            $SOURCE_DATE_EPOCH, else the "
		"source's date)\n"
		"      --label LABEL         volume label "
		"(default " CATALOG_DEFAULT_LABEL ")\n"
		"      --source-hash         record the source's SHA-256 in "
		"manifest.json\n"
		"\n"
		"Reporting:\n"
		"  -q, --quiet               no progress, errors only\n"
		"      --json                print a JSON summary on stdout\n"
		"  -h, --help                this text\n"
		"  -V, --version             the version\n");
}

/* ---- options ----------------------------------------------------------- */

/* A long option as the -o word KEY[=VALUE]: one grammar (catalog.h). */
static int catalog_opt(struct export *x, const char *key, const char *value)
{
	struct aero_error err = { 0 };
	char *s;
	int rc;

	if (value) {
		if (asprintf(&s, "%s=%s", key, value) < 0)
			return -1;
	} else if (!(s = strdup(key))) {
		return -1;
	}
	rc = catalog_option_parse(&x->copts, s, &err); /* copies */
	if (rc == 0)
		catalog_option_unknown(s, NULL, &err);
	free(s);
	if (rc <= 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* The output format named NAME; S is storage for an image format. */
static const struct out_format *find_format(const char *name,
					    struct out_format *s)
{
	const struct image_format *img = image_format_find(name);

	if (strcmp(name, out_zip.name) == 0)
		return &out_zip;
	if (strcmp(name, out_dir.name) == 0)
		return &out_dir;
	if (strcmp(name, out_chunked.name) == 0)
		return &out_chunked;
	if (!img)
		return NULL;
	*s = (struct out_format){ OUT_IMAGE, img->name, img };
	return s;
}

static int parse_format(struct export *x, const char *s)
{
	const struct image_format *fmts;
	size_t n;

	x->format = find_format(s, &x->image_format);
	if (x->format)
		return 0;
	fmts = image_formats(&n);
	fprintf(stderr,
		PROG ": unknown format '%s'; one of: zip, dir, "
		     "chunked",
		s);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, ", %s", fmts[i].name);
	fputc('\n', stderr);
	return -1;
}

static int parse_profile(struct export *x, const char *s)
{
	const struct profile *profs;
	size_t n;

	x->profile = profile_find(s);
	if (x->profile)
		return 0;
	profs = profiles(&n);
	fprintf(stderr, PROG ": unknown profile '%s'; one of:", s);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", profs[i].name);
	fputc('\n', stderr);
	return -1;
}

static int parse_chunk_size(struct export *x, const char *s)
{
	struct aero_error err = { 0 };

	if (chunked_parse_size(s, &x->chunk_size, &err) == 0)
		return 0;
	log_msg(LOG_LEVEL_ERR, "%s", err.msg);
	return -1;
}

/* A -o word that is not the catalog's: 1 if it is ours, else 0. */
static int o_word(void *ctx, const char *word, struct aero_error *err)
{
	struct export *x = ctx;

	if (strcmp(word, "no-rock-ridge") == 0) {
		x->iopts.no_rock_ridge = true;
		return 1;
	}
	if (strcmp(word, "no-joliet") == 0) {
		x->iopts.no_joliet = true;
		return 1;
	}
	if (strcmp(word, "no-winpe") == 0) {
		x->iopts.no_winpe = true;
		return 1;
	}
	/* the parse_*() functions say what is wrong themselves */
	if (strncmp(word, "format=", 7) == 0)
		return parse_format(x, word + 7) < 0 ? -EINVAL : 1;
	if (strncmp(word, "profile=", 8) == 0)
		return parse_profile(x, word + 8) < 0 ? -EINVAL : 1;
	if (strncmp(word, "chunk-size=", 11) == 0)
		return parse_chunk_size(x, word + 11) < 0 ? -EINVAL : 1;
	(void)err;
	return 0;
}

/* -o a,b=c\,d: the catalog's grammar (catalog.h) plus o_word(). */
static int o_list(struct export *x, const char *list)
{
	struct aero_error err = { 0 };
	int rc = catalog_options_parse_list(&x->copts, list, o_word, x,
					    "format=FORMAT, profile=PROFILE, "
					    "chunk-size=SIZE, no-rock-ridge, "
					    "no-joliet, no-winpe",
					    &err);

	if (rc < 0 && err.msg[0])
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
	return rc < 0 ? -1 : 0;
}

/* Returns 0 to run, 1 to exit 0 (help, version), -1 for a usage error. */
static int parse_args(struct export *x, int argc, char **argv)
{
	struct aero_error err = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "f:o:FqhV", long_options, NULL)) !=
	       -1) {
		int rc = 0;

		switch (c) {
		case 'f':
			rc = parse_format(x, optarg);
			break;
		case 'o':
			rc = o_list(x, optarg);
			break;
		case OPT_PROFILE:
			rc = parse_profile(x, optarg);
			break;
		case OPT_DRIVERS:
			rc = catalog_opt(x, "drivers", optarg);
			break;
		case OPT_STRICT:
			rc = catalog_opt(x, "strict-optional", NULL);
			break;
		case OPT_DROP_PDB:
			rc = catalog_opt(x, "drop-pdb", NULL);
			break;
		case OPT_EPOCH:
			rc = catalog_opt(x, "epoch", optarg);
			break;
		case OPT_LABEL:
			rc = catalog_opt(x, "label", optarg);
			break;
		case OPT_SOURCE_HASH:
			rc = catalog_opt(x, "source-hash", NULL);
			break;
		case OPT_NO_RR:
			x->iopts.no_rock_ridge = true;
			break;
		case OPT_NO_JOLIET:
			x->iopts.no_joliet = true;
			break;
		case OPT_NO_WINPE:
			x->iopts.no_winpe = true;
			break;
		case OPT_CHUNK_SIZE:
			rc = parse_chunk_size(x, optarg);
			break;
		case 'F':
			x->force = true;
			break;
		case 'q':
			x->quiet = true;
			break;
		case OPT_JSON:
			x->json = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf(PROG " %s\n", AEROFS_VERSION);
			return 1;
		default:
			rc = -1;
			break;
		}
		if (rc < 0)
			return -1;
	}
	if (argc - optind != 2) {
		log_msg(LOG_LEVEL_ERR, "expected SOURCE and OUTPUT (see "
				       "--help)");
		return -1;
	}
	if (catalog_options_check(&x->copts, &err) < 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		return -1;
	}
	x->source = argv[optind];
	x->output = argv[optind + 1];
	return 0;
}

/* From OUTPUT's suffix: .zip, an image format's extension, else a
 * directory. */
static const struct out_format *guess_format(struct export *x)
{
	const char *out = x->output;
	size_t len = strlen(out);
	const struct image_format *img;

	if (len > 4 && strcasecmp(out + len - 4, ".zip") == 0)
		return &out_zip;
	img = image_format_for_path(out);
	if (!img)
		return &out_dir;
	x->image_format = (struct out_format){ OUT_IMAGE, img->name, img };
	return &x->image_format;
}

/* ---- progress ---------------------------------------------------------- */

static void progress_line(struct export *x, uint64_t done, bool final)
{
	struct timespec now;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - x->last.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - x->last.tv_nsec) / 1e6;
	if (!final && ms < 100)
		return;
	x->last = now;
	fprintf(stderr, "\r" PROG ": %s: %3d%% (%.1f of %.1f MiB)%s", x->output,
		x->total ? (int)(done * 100 / x->total) : 100,
		(double)done / 1048576.0, (double)x->total / 1048576.0,
		final ? "\n" : "");
}

static int progress_cb(void *ctx, uint64_t done)
{
	struct export *x = ctx;

	if (x->show_progress)
		progress_line(x, done, false);
	if (x->stop_at && done >= x->stop_at) {
		x->stop_at = 0;
		raise(SIGSTOP);
	}
	return cancelled != 0;
}

/* ---- temporary outputs ------------------------------------------------- */

/* "DIR/.BASE.aerofs-XXXXXX" next to OUTPUT, so rename() stays in place. */
static char *temp_template(const char *output)
{
	char *d = strdup(output), *b = strdup(output), *t = NULL;

	if (d && b &&
	    asprintf(&t, "%s/.%s.aerofs-XXXXXX", dirname(d), basename(b)) < 0)
		t = NULL;
	free(d);
	free(b);
	return t;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* our files are 0644 and dirs 0755; remove() needs no chmod */
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

static void remove_tree(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 &&
	    errno != ENOENT)
		log_msg(LOG_LEVEL_WARNING, "cannot remove %s: %s", path,
			strerror(errno));
}

static void remove_temp(struct export *x)
{
	if (!x->tmp)
		return;
	if (x->tmp_is_dir)
		remove_tree(x->tmp);
	else
		unlink(x->tmp);
	free(x->tmp);
	x->tmp = NULL;
}

static int sync_parent(const char *output)
{
	char *d = strdup(output);
	int fd, rc = 0;

	if (!d)
		return -ENOMEM;
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(d);
	return rc;
}

/*
 * The point of no return.  With the signals blocked, an interrupt either
 * came before, and the export fails with OUTPUT untouched, or stays
 * pending until OUTPUT is in place, and then changes nothing: the export
 * is complete.  Without this, a signal after the last progress check would
 * leave a new OUTPUT behind a failing exit status.
 */
static int commit_begin(sigset_t *old, struct aero_error *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
	if (cancelled) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return aero_error_set(err, -ECANCELED, "interrupted");
	}
	return 0;
}

/* ---- refusing to clobber ---------------------------------------------- */

/* True if path A is B or lies below it (both absolute, canonical). */
static bool path_within(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strncmp(a, b, n) == 0 &&
	       (a[n] == '\0' || a[n] == '/' || (n == 1 && b[0] == '/'));
}

/* OUTPUT as a canonical absolute path, whether or not it exists yet. */
static char *canonical_output(const char *output)
{
	char *d, *b, *dir, *out = NULL;

	if ((out = realpath(output, NULL)) != NULL)
		return out;
	d = strdup(output);
	b = strdup(output);
	if (d && b && (dir = realpath(dirname(d), NULL)) != NULL) {
		const char *base = basename(b);

		if (asprintf(&out, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
			     base) < 0)
			out = NULL;
		free(dir);
	}
	free(d);
	free(b);
	return out;
}

/*
 * Refuses an OUTPUT that would destroy the input or something that is not
 * ours to replace: the source itself, a path inside the source tree or
 * containing it (a directory export with --force would wipe it), and an
 * existing OUTPUT that is neither a regular file nor (directory exports)
 * a directory: a device node or FIFO (as root, `-f zip SRC /dev/null`
 * would otherwise replace /dev/null), a socket.
 */
static int check_output(const struct export *x, struct aero_error *err)
{
	struct stat src, out;
	char *rsrc, *rout;
	int rc = 0;

	if (stat(x->source, &src) < 0)
		return 0; /* the catalog says what is wrong with it */
	if (stat(x->output, &out) == 0) {
		if (out.st_dev == src.st_dev && out.st_ino == src.st_ino)
			return aero_error_set(err, -EINVAL,
					      "OUTPUT %s is "
					      "the source; refusing to "
					      "overwrite it",
					      x->output);
		if (!S_ISREG(out.st_mode) && !S_ISDIR(out.st_mode))
			return aero_error_set(err, -EINVAL,
					      "OUTPUT %s exists "
					      "and is not a regular file or a "
					      "directory; refusing to replace "
					      "it",
					      x->output);
	}
	rsrc = realpath(x->source, NULL);
	rout = canonical_output(x->output);
	if (!rsrc || !rout)
		rc = aero_error_set(err, -errno ? -errno : -ENOMEM,
				    "cannot resolve %s: %s",
				    rsrc ? x->output : x->source,
				    strerror(errno ? errno : ENOMEM));
	else if (S_ISDIR(src.st_mode) && path_within(rout, rsrc))
		rc = aero_error_set(err, -EINVAL,
				    "OUTPUT %s is inside the "
				    "source tree %s",
				    x->output, x->source);
	else if (path_within(rsrc, rout))
		rc = aero_error_set(err, -EINVAL,
				    "OUTPUT %s contains the "
				    "source %s",
				    x->output, x->source);
	free(rsrc);
	free(rout);
	return rc;
}

/* ---- the formats ------------------------------------------------------- */

static int write_image(struct export *x, int fd, struct aero_error *err)
{
	struct image *img = NULL;
	unsigned char *buf = malloc(IMAGE_CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t off = 0, size;
	int rc;

	if (!buf || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = image_build(x->format->image, x->pack, &x->iopts, &img, err);
	if (rc < 0)
		goto out;
	size = image_size(img);
	x->total = size;
	while (off < size) {
		ssize_t n = image_read(img, buf, IMAGE_CHUNK, off);

		if (n <= 0) {
			rc = aero_error_set(err, n < 0 ? (int)n : -EIO,
					    "cannot read the source at image "
					    "offset %llu: %s",
					    (unsigned long long)off,
					    strerror(n < 0 ? (int)-n : EIO));
			goto out;
		}
		if ((rc = io_write_full(fd, buf, (size_t)n)) < 0) {
			aero_error_set(err, rc, "write %s: %s", x->tmp,
				       strerror(-rc));
			goto out;
		}
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += (uint64_t)n;
		if (progress_cb(x, off)) {
			rc = aero_error_set(err, -ECANCELED, "cancelled");
			goto out;
		}
	}
	EVP_DigestFinal_ex(md, x->sha256, NULL);
	x->have_sha = true;
	x->size = size;
	rc = 0;
out:
	image_free(img);
	EVP_MD_CTX_free(md);
	free(buf);
	return rc;
}

/*
 * Before OUTPUT is published: every file read for it must still be what
 * the pack's hashes (and so its manifest.json) say.  A source rewritten in
 * place while we wrote would otherwise give an output that contradicts its
 * own manifest, with success.
 */
static int verify_source(struct export *x, struct aero_error *err)
{
	int rc = pack_verify(x->pack, err);

	if (rc < 0)
		aero_error_prefix(err, "%s", x->source);
	return rc;
}

/* Counts files for the summary (ZIP and directory know it already). */
static uint64_t count_files(const struct pack *p)
{
	uint64_t n = 0;

	for (uint64_t i = 1; i <= pack_node_count(p); i++)
		n += !pack_node_is_dir(pack_node_by_ino(p, i));
	return n;
}

/* ---- chunked: every image of the profile as Aero chunks ---------------- */

/*
 * The tree of the mount's .aerofs/images/, for an object store or a CDN:
 * for every image format, <imageId>/latest.json and
 * <imageId>/<version>/{manifest.json, <imageId>.<ext>, chunks/NNNNNNNN.bin}
 * (export/image/chunked.h).  One read of each image writes the whole
 * image, its chunks and their hashes; the version directory gets its
 * name (the image's SHA-256) once that pass is over.
 */
struct chunk_writer {
	struct export *x;
	const struct chunked *c;
	int chunks_fd; /* <imageId>/.partial/chunks */
	int image_fd;  /* <imageId>/.partial/<imageId>.<ext> */
	int chunk_fd;  /* the chunk being written, or -1 */
	uint64_t base; /* bytes of the earlier images */
	struct tree_result *tr;
	struct aero_error *err;
};

static int chunk_sink(void *ctx, uint32_t chunk, uint64_t off, const void *data,
		      size_t len)
{
	struct chunk_writer *w = ctx;
	char name[CHUNKED_NAME_LEN];
	uint64_t start, clen;
	int rc;

	chunked_chunk_range(w->c, chunk, &start, &clen);
	chunked_chunk_name(chunk, name);
	if (off == start) {
		w->chunk_fd = openat(w->chunks_fd, name,
				     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				     0644);
		if (w->chunk_fd < 0)
			return aero_error_set(w->err, -errno,
					      "create chunks/"
					      "%s: %s",
					      name, strerror(errno));
	}
	if ((rc = io_write_full(w->chunk_fd, data, len)) < 0 ||
	    (rc = io_write_full(w->image_fd, data, len)) < 0)
		return aero_error_set(w->err, rc, "write: %s", strerror(-rc));
	w->tr->bytes += 2 * (uint64_t)len;
	if (off + len == start + clen) {
		rc = close(w->chunk_fd);
		w->chunk_fd = -1;
		if (rc < 0)
			return aero_error_set(w->err, -errno,
					      "close chunks/"
					      "%s: %s",
					      name, strerror(errno));
		w->tr->files++;
	}
	if (progress_cb(w->x, w->base + off + len))
		return aero_error_set(w->err, -ECANCELED, "cancelled");
	return 0;
}

static int write_text(int dirfd, const char *name, const char *text, size_t len,
		      struct aero_error *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0644);
	int rc;

	if (fd < 0)
		return aero_error_set(err, -errno, "create %s: %s", name,
				      strerror(errno));
	rc = io_write_full(fd, text, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		return aero_error_set(err, rc, "write %s: %s", name,
				      strerror(-rc));
	return 0;
}

/* mkdirat() and open the new directory; -errno with ERR. */
static int make_dir(int dirfd, const char *name, struct aero_error *err)
{
	int fd;

	if (mkdirat(dirfd, name, 0755) < 0 ||
	    (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return aero_error_set(err, -errno, "mkdir %s: %s", name,
				      strerror(errno));
	return fd;
}

static int write_chunked_image(struct export *x, int dirfd,
			       const struct image_format *fmt,
			       struct tree_result *tr, struct aero_error *err)
{
	struct chunk_writer w = { .x = x,
				  .chunks_fd = -1,
				  .image_fd = -1,
				  .chunk_fd = -1,
				  .tr = tr,
				  .err = err };
	char id[128], file[160];
	struct chunked *c = NULL;
	struct image *img = NULL;
	int id_fd = -1, part_fd = -1, rc;
	char *text = NULL;
	size_t len;

	snprintf(id, sizeof(id), "%s-%s", x->profile->image_name, fmt->name);
	snprintf(file, sizeof(file), "%s.%s", id, fmt->ext);
	if ((rc = image_build(fmt, x->pack, &x->iopts, &img, err)) < 0 ||
	    (rc = chunked_new(img, x->chunk_size, &c, err)) < 0) {
		aero_error_prefix(err, "%s", id);
		goto out;
	}
	w.c = c;
	w.base = x->total;
	x->total += image_size(img);
	if ((rc = id_fd = make_dir(dirfd, id, err)) < 0 ||
	    (rc = part_fd = make_dir(id_fd, ".partial", err)) < 0 ||
	    (rc = w.chunks_fd = make_dir(part_fd, "chunks", err)) < 0)
		goto out;
	w.image_fd = openat(part_fd, file,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w.image_fd < 0) {
		rc = aero_error_set(err, -errno, "create %s: %s", file,
				    strerror(errno));
		goto out;
	}
	tr->dirs += 3;
	tr->files += 3; /* image, manifest, latest; chunk_sink() the chunks */
	if ((rc = chunked_hash(c, chunk_sink, &w, err)) < 0)
		goto out;
	if (!(text = chunked_manifest_json(c, id, &len))) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = write_text(part_fd, "manifest.json", text, len, err)) < 0)
		goto out;
	free(text);
	text = NULL;
	if (renameat(id_fd, ".partial", id_fd, chunked_version(c)) < 0) {
		rc = aero_error_set(err, -errno, "rename to %s/%s: %s", id,
				    chunked_version(c), strerror(errno));
		goto out;
	}
	if (!(text = chunked_latest_json(c, id, &len))) {
		rc = aero_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = write_text(id_fd, "latest.json", text, len, err);
out:
	free(text);
	if (w.chunk_fd >= 0)
		close(w.chunk_fd);
	if (w.image_fd >= 0 && close(w.image_fd) < 0 && rc == 0)
		rc = aero_error_set(err, -errno, "close %s: %s", file,
				    strerror(errno));
	if (w.chunks_fd >= 0)
		close(w.chunks_fd);
	if (part_fd >= 0)
		close(part_fd);
	if (id_fd >= 0)
		close(id_fd);
	chunked_free(c);
	image_free(img);
	return rc;
}

static int write_chunked(struct export *x, int dirfd, struct tree_result *tr,
			 struct aero_error *err)
{
	const struct image_format *fmts;
	size_t n;
	int rc = 0;

	memset(tr, 0, sizeof(*tr));
	x->total = 0;
	fmts = image_formats(&n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = write_chunked_image(x, dirfd, &fmts[i], tr, err);
	return rc;
}

static int export_file(struct export *x, struct aero_error *err)
{
	struct stat st;
	sigset_t old;
	int fd, rc;
	mode_t mask;

	if (stat(x->output, &st) == 0 && S_ISDIR(st.st_mode))
		return aero_error_set(err, -EISDIR,
				      "%s is a directory; "
				      "give a file name ending in .%s",
				      x->output,
				      x->format->image ? x->format->image->ext :
							 "zip");
	if (!(x->tmp = temp_template(x->output)))
		return aero_error_set(err, -ENOMEM, "out of memory");
	fd = mkostemp(x->tmp, O_CLOEXEC); /* O_EXCL, mode 0600 */
	if (fd < 0) {
		rc = -errno;
		free(x->tmp);
		x->tmp = NULL;
		return aero_error_set(err, rc,
				      "cannot create a temporary "
				      "file next to %s: %s",
				      x->output, strerror(-rc));
	}
	x->total = pack_content_bytes(x->pack);
	if (x->format->kind == OUT_ZIP) {
		struct zip_result zr;

		rc = zip_write(x->pack, fd, progress_cb, x, &zr, err);
		if (rc == 0) {
			x->size = zr.bytes;
			x->files = zr.files;
			memcpy(x->sha256, zr.sha256, 32);
			x->have_sha = true;
		}
	} else {
		rc = write_image(x, fd, err);
		x->files = count_files(x->pack);
	}
	mask = umask(0);
	umask(mask);
	/* the usual mode of a new file; mkstemp made it 0600 */
	if (rc == 0 && (fchmod(fd, 0666 & ~mask) < 0 || fsync(fd) < 0))
		rc = aero_error_set(err, -errno, "sync %s: %s", x->tmp,
				    strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = aero_error_set(err, -errno, "close %s: %s", x->tmp,
				    strerror(errno));
	if (rc < 0 || (rc = verify_source(x, err)) < 0 ||
	    (rc = commit_begin(&old, err)) < 0)
		return rc;
	if (rename(x->tmp, x->output) < 0)
		rc = aero_error_set(err, -errno, "rename to %s: %s", x->output,
				    strerror(errno));
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return rc;
	free(x->tmp);
	x->tmp = NULL;
	sync_parent(x->output);
	return 0;
}

static int export_dir(struct export *x, struct aero_error *err)
{
	struct tree_result tr;
	struct stat st;
	sigset_t old;
	bool exists = lstat(x->output, &st) == 0;
	int fd, rc;

	if (exists && !x->force)
		return aero_error_set(err, -EEXIST,
				      "%s exists; use --force "
				      "to replace it",
				      x->output);
	if (exists && !S_ISDIR(st.st_mode))
		return aero_error_set(err, -ENOTDIR,
				      "%s exists and is not a "
				      "directory",
				      x->output);
	if (!(x->tmp = temp_template(x->output)))
		return aero_error_set(err, -ENOMEM, "out of memory");
	if (!mkdtemp(x->tmp)) {
		rc = -errno;
		free(x->tmp);
		x->tmp = NULL;
		return aero_error_set(err, rc,
				      "cannot create a temporary "
				      "directory next to %s: %s",
				      x->output, strerror(-rc));
	}
	x->tmp_is_dir = true;
	fd = open(x->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return aero_error_set(err, -errno, "open %s: %s", x->tmp,
				      strerror(errno));
	x->total = pack_content_bytes(x->pack);
	if (x->format->kind == OUT_CHUNKED)
		rc = write_chunked(x, fd, &tr, err);
	else
		rc = tree_write(x->pack, fd, progress_cb, x, &tr, err);
	if (rc == 0 && syncfs(fd) < 0)
		rc = aero_error_set(err, -errno, "sync %s: %s", x->tmp,
				    strerror(errno));
	close(fd);
	if (rc < 0 || (rc = verify_source(x, err)) < 0 ||
	    (rc = commit_begin(&old, err)) < 0)
		return rc;
	x->files = tr.files;
	x->size = tr.bytes;
	if (exists) {
		/* swap atomically, then the old tree is the temporary */
		if (renameat2(AT_FDCWD, x->tmp, AT_FDCWD, x->output,
			      RENAME_EXCHANGE) < 0)
			rc = aero_error_set(err, -errno, "replace %s: %s",
					    x->output, strerror(errno));
	} else if (rename(x->tmp, x->output) < 0) {
		rc = aero_error_set(err, -errno, "rename to %s: %s", x->output,
				    strerror(errno));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return rc;
	if (exists)
		remove_temp(x);
	free(x->tmp);
	x->tmp = NULL;
	sync_parent(x->output);
	return 0;
}

static void print_json(const struct export *x)
{
	cJSON *j = cJSON_CreateObject();
	char hex[65];
	char *s;

	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", x->sha256[i]);
	cJSON_AddStringToObject(j, "output", x->output);
	cJSON_AddStringToObject(j, "format", x->format->name);
	cJSON_AddStringToObject(j, "profile", x->profile->name);
	cJSON_AddNumberToObject(j, "size", (double)x->size);
	if (x->have_sha)
		cJSON_AddStringToObject(j, "sha256", hex);
	else
		cJSON_AddNullToObject(j, "sha256");
	cJSON_AddNumberToObject(j, "files", (double)x->files);
	cJSON_AddNumberToObject(j, "epoch", (double)pack_epoch(x->pack));
	cJSON_AddStringToObject(j, "label",
				x->iopts.label ? x->iopts.label :
						 pack_label(x->pack));
	s = cJSON_Print(j);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
}

static int run(struct export *x)
{
	struct aero_error err = { 0 };
	int rc;

	if (!x->format)
		x->format = guess_format(x);
	if (check_output(x, &err) < 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		return 1;
	}
	rc = x->profile->build(x->source, &x->copts, &x->pack, &x->report,
			       &err);
	if (rc < 0) {
		size_t n = strlen(x->source);

		/* Name the source once: opening it names it already. */
		if (strncmp(err.msg, x->source, n) == 0 && err.msg[n] == ':')
			log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		else
			log_msg(LOG_LEVEL_ERR, "%s: %s", x->source,
				err.msg[0] ? err.msg : strerror(-rc));
		return 1;
	}
	if (x->report && catalog_report_stray_files(x->report)) {
		/* Its manifest would contradict its files: a pack changed
		 * since it was made, or a mount read while it reloaded. */
		log_msg(LOG_LEVEL_ERR,
			"%s: %zu file(s) differ from the pack's "
			"manifest.json (changed, missing or not listed; a "
			"mount that reloaded while it was read?): not "
			"exporting it",
			x->source, catalog_report_stray_files(x->report));
		return 1;
	}
	if (cancelled) {
		log_msg(LOG_LEVEL_ERR, "interrupted");
		return 1;
	}
	x->show_progress = !x->quiet && isatty(STDERR_FILENO);
	if (getenv("AEROFS_TEST_STOP_AT"))
		x->stop_at = strtoull(getenv("AEROFS_TEST_STOP_AT"), NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &x->last);
	rc = x->format->kind == OUT_DIR || x->format->kind == OUT_CHUNKED ?
		     export_dir(x, &err) :
		     export_file(x, &err);
	if (x->show_progress)
		progress_line(x, rc == 0 ? x->total : 0, true);
	if (rc == -EIO) {
		/* A read failed: say so if the source changed under us. */
		struct aero_error why = { 0 };

		if (verify_source(x, &why) < 0)
			err = why;
	}
	if (rc < 0) {
		remove_temp(x);
		log_msg(LOG_LEVEL_ERR, "%s",
			err.msg[0] ? err.msg : strerror(-rc));
		return 1;
	}
	if (x->json)
		print_json(x);
	return 0;
}

int main(int argc, char **argv)
{
	struct export x = { .profile = profile_default(),
			    .chunk_size = CHUNKED_SIZE_DEFAULT };
	struct sigaction sa = { .sa_handler = on_signal };
	int rc;

	/* libarchive writes ZIP DOS times in local time: make that UTC */
	setenv("TZ", "UTC0", 1);
	tzset();
	log_set_program(PROG);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	rc = parse_args(&x, argc, argv);
	if (rc != 0) {
		catalog_options_free(&x.copts);
		return rc > 0 ? 0 : 2;
	}
	if (x.quiet)
		log_set_level(LOG_LEVEL_ERR);
	/* 0 only once OUTPUT is in place: a later signal changes nothing */
	rc = run(&x);
	remove_temp(&x);
	catalog_report_free(x.report);
	pack_unref(x.pack);
	catalog_options_free(&x.copts);
	return rc;
}
