/*
 * main.c: the aerofs command line and the FUSE session ladder.
 *
 *   aerofs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]
 *
 * Arguments are parsed after squashfuse: the first non-option is the
 * source (consumed here), the second the mountpoint (left for
 * fuse_parse_cmdline()), a third is an error.  Catalog options go through
 * catalog_option_parse(); -o notify_pipe=FIFO writes 's' or 'f' once the
 * mount has succeeded or failed; everything else is libfuse's.  The mount
 * is always read-only ("-o ro" is appended).
 *
 * The pack is built before anything is mounted, so an invalid source fails
 * with the catalog's message and nothing is left behind.  Then the usual
 * libfuse low-level ladder (passthrough_ll.c): session, signal handlers,
 * mount, daemonize, loop (multi-threaded unless -s), with a goto ladder to
 * tear down.  All state is in one struct aerofs on main()'s stack.
 *
 * Not here: the operations (ops.c), reload (reload.c).
 */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_log.h>
#include <fuse_opt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/util/log.h"

enum {
	KEY_HELP,
	KEY_VERSION,
};

#define AEROFS_OPT(t, p, v)                                                    \
	{                                                                      \
		t, offsetof(struct aerofs, p), v                               \
	}

static const struct fuse_opt aerofs_opts[] = {
	AEROFS_OPT("notify_pipe=%s", notify_pipe, 0),
	AEROFS_OPT("debounce_ms=%u", debounce_ms, 0),
	AEROFS_OPT("nosplice", no_splice, 1), FUSE_OPT_END
};

static void usage(const char *prog)
{
	printf("usage: %s SOURCE MOUNTPOINT [options]\n"
	       "\n"
	       "Serves the Aero Win7 driver pack synthesized from SOURCE (a\n"
	       "virtio-win ISO image or extracted tree) read-only at\n"
	       "MOUNTPOINT, with its images (CD image aero-win7-drivers.iso\n"
	       "and the other formats) in MOUNTPOINT/" AEROFS_CTL_NAME "/.\n"
	       "\n"
	       "aerofs options:\n"
	       "    -o drivers=LIST        subset of viostor, netkvm, vioinput,"
	       " viosnd,\n"
	       "                           joined with '+': "
	       "drivers=viostor+netkvm\n"
	       "    -o strict-optional     fail if an optional driver is "
	       "missing\n"
	       "    -o drop-pdb            leave .pdb debug symbols out\n"
	       "    -o epoch=SECONDS       timestamp of every file\n"
	       "    -o source-hash         record the source's SHA-256 in "
	       "manifest.json\n"
	       "    -o profile=NAME        the tree at the mount's root: "
	       "driver-pack\n"
	       "                           (default) or guest-tools\n"
	       "    -o label=LABEL         volume label of the CD image\n"
	       "    -o no-winpe            no $WinPEDriver$ folder in the "
	       "images\n"
	       "    -o chunk-size=BYTES    chunk size of " AEROFS_CTL_NAME
	       "/images/ (4M; a\n"
	       "                           multiple of 512, at most 64M)\n"
	       "    -o notify_pipe=FIFO    write 's' (mounted) or 'f' "
	       "(failed) to FIFO\n"
	       "    -o debounce_ms=N       wait N ms after the source changes "
	       "(250)\n"
	       "    -o nosplice            copy file data through a buffer "
	       "instead of\n"
	       "                           splicing it from the source\n"
	       "\n"
	       "Replacing SOURCE (rename over it) or SIGHUP reloads it.\n"
	       "\n",
	       prog);
}

/*
 * libfuse's own messages through our log once daemonized, so that they
 * reach syslog.  (Before that they go to stderr in libfuse's format:
 * some are written in pieces, which a sink without a buffer would split.)
 */
static void aerofs_fuse_log(enum fuse_log_level level, const char *fmt,
			    va_list ap)
{
	char msg[1024];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (!len)
		return;
	/* Same numbers as syslog's; we have nothing above LOG_LEVEL_ERR. */
	log_msg(level < FUSE_LOG_ERR ? LOG_LEVEL_ERR : (enum log_level)level,
		"%s", msg);
}

/* The profile names joined with ", " into NAMES (SIZE > 0). */
static const char *aerofs_profile_names(char *names, size_t size)
{
	const struct profile *p;
	size_t n, used = 0;

	p = profiles(&n);
	names[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(names + used, size - used, "%s%s",
					 i ? ", " : "", p[i].name);
	return names;
}

/*
 * fuse_opt callback: 0 consumes ARG, 1 keeps it for libfuse, -1 fails.
 * fuse_opt hands us each -o option on its own, in a buffer it frees.
 */
static int aerofs_opt_proc(void *data, const char *arg, int key,
			   struct fuse_args *outargs)
{
	struct aerofs *a = data;
	struct aero_error err = { 0 };
	int r;

	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT) {
		switch (a->nonopts++) {
		case 0:
			a->source = strdup(arg);
			return a->source ? 0 : -1;
		case 1:
			a->mountpoint = strdup(arg);
			return a->mountpoint ? 1 : -1;
		default:
			log_msg(LOG_LEVEL_ERR, "unexpected argument: %s", arg);
			a->opt_error = 1;
			return -1;
		}
	}
	if (key != FUSE_OPT_KEY_OPT || arg[0] == '-')
		return 1;
	if (strncmp(arg, "fsname=", 7) == 0)
		a->have_fsname = true;
	if (strncmp(arg, "profile=", 8) == 0) {
		char names[256];

		a->profile = profile_find(arg + 8);
		if (!a->profile) {
			log_msg(LOG_LEVEL_ERR,
				"unknown profile '%s'; one of: "
				"%s",
				arg + 8,
				aerofs_profile_names(names, sizeof(names)));
			a->opt_error = 1;
			return -1;
		}
		return 0;
	}
	if (strcmp(arg, "no-winpe") == 0) {
		a->iopts.no_winpe = true;
		return 0;
	}
	if (strncmp(arg, "chunk-size=", 11) == 0) {
		r = chunked_parse_size(arg + 11, &a->chunk_size, &err);
		if (r < 0) {
			log_msg(LOG_LEVEL_ERR, "invalid option %s: %s", arg,
				err.msg);
			a->opt_error = 1;
			return -1;
		}
		return 0;
	}
	/* the options copy what they keep (catalog_options_free()) */
	r = catalog_option_parse(&a->copts, arg, &err);
	if (r < 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		a->opt_error = 1;
		return -1;
	}
	return r == 1 ? 0 : 1;
}

static void notify(const char *fifo, char c)
{
	int fd;

	if (!fifo)
		return;
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		log_msg(LOG_LEVEL_ERR, "notify_pipe %s: %s", fifo,
			strerror(errno));
		return;
	}
	if (write(fd, &c, 1) != 1)
		log_msg(LOG_LEVEL_ERR, "notify_pipe %s: %s", fifo,
			strerror(errno));
	close(fd);
}

/* Adds "-oNAME=VALUE" with VALUE escaped for fuse_opt's comma lists. */
static int add_escaped_opt(struct fuse_args *args, const char *name,
			   const char *value)
{
	char *opts = NULL;
	char *s = NULL;
	char *arg = NULL;
	int r = -1;

	if (asprintf(&s, "%s=%s", name, value) < 0)
		return -1;
	if (fuse_opt_add_opt_escaped(&opts, s) == 0 &&
	    asprintf(&arg, "-o%s", opts) >= 0)
		r = fuse_opt_add_arg(args, arg);
	free(opts);
	free(s);
	free(arg);
	return r;
}

static int check_mountpoint(const char *mnt)
{
	struct stat st;

	if (stat(mnt, &st) < 0) {
		log_msg(LOG_LEVEL_ERR, "mountpoint %s: %s", mnt,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_msg(LOG_LEVEL_ERR, "mountpoint %s: not a directory", mnt);
		return -1;
	}
	return 0;
}

/* True if the command line asks for --help or --version. */
static bool wants_info(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
		    !strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return true;
	return false;
}

static void aerofs_fini(struct aerofs *a)
{
	aerofs_dirs_free(a);
	aerofs_gen_free_all(a);
	aerofs_snaps_free(a);
	catalog_options_free(&a->copts);
	free(a->source);
	free(a->mountpoint);
	free(a->notify_pipe);
	free(a->last_reload_error);
	free(a->last_read_error);
	pthread_mutex_destroy(&a->lock);
}

/* True if canonical path SOURCE lies under directory DIR (canonical). */
static bool source_under(const char *source, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(source, dir, n) == 0 && source[n] == '/';
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct fuse_loop_config *cfg = NULL;
	struct aero_error err = { 0 };
	struct fuse_session *se;
	struct aerofs a = { 0 };
	struct aerofs_gen *g;
	char *real = NULL;
	sigset_t hup;
	int ret = 1, r;

	log_set_program("aerofs");
	pthread_mutex_init(&a.lock, NULL);
	a.profile = profile_default();
	a.uid = getuid();
	a.gid = getgid();
	a.debounce_ms = 250;
	a.chunk_size = CHUNKED_SIZE_DEFAULT;

	/* SIGHUP means reload: blocked in every thread, read by the
	 * watcher's signalfd.  Must precede all threads and fork. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);

	if (fuse_opt_parse(&args, &a, aerofs_opts, aerofs_opt_proc) == -1) {
		if (!a.opt_error)
			log_msg(LOG_LEVEL_ERR, "cannot parse options");
		ret = 2; /* a usage error (aerofs(1)) */
		goto out_args;
	}
	a.build_cancel = (struct pack_cancel){ aerofs_build_should_stop, &a };
	a.copts.cancel = &a.build_cancel;
	if (catalog_options_check(&a.copts, &err) < 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		ret = 2;
		goto out_args;
	}
	if (a.source && !a.have_fsname &&
	    add_escaped_opt(&args, "fsname", a.source) != 0)
		goto out_args;
	if (fuse_opt_add_arg(&args, "-osubtype=aerofs") != 0 ||
	    fuse_opt_add_arg(&args, "-oro") != 0)
		goto out_args;
	/* Before fuse_parse_cmdline(), whose realpath() would fail first
	 * with a less helpful message. */
	if (a.mountpoint && !wants_info(argc, argv) &&
	    check_mountpoint(a.mountpoint) != 0)
		goto out_opts;
	if (fuse_parse_cmdline(&args, &opts) != 0) {
		ret = 2;
		goto out_args;
	}
	if (opts.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		/* "<program> <version>" like aerofs-export and
		 * aerofs-catalog; flushed first because libfuse's lines
		 * come partly from a fusermount3 child. */
		printf("aerofs %s\n", AEROFS_VERSION);
		fflush(stdout);
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	}
	if (!a.source || !opts.mountpoint) {
		log_msg(LOG_LEVEL_ERR,
			"usage: %s SOURCE MOUNTPOINT "
			"[options] (--help for more)",
			argv[0]);
		ret = 2;
		goto out_opts;
	}
	if (opts.debug)
		log_set_level(LOG_LEVEL_DEBUG);
	/* The FIFO is opened after fuse_daemonize() has moved to "/". */
	if (a.notify_pipe && a.notify_pipe[0] != '/') {
		real = realpath(a.notify_pipe, NULL);
		if (real) {
			free(a.notify_pipe);
			a.notify_pipe = real;
		}
	}
	/* fuse_daemonize() moves to "/": keep an absolute source path. */
	real = realpath(a.source, NULL);
	if (!real) {
		log_msg(LOG_LEVEL_ERR, "source %s: %s", a.source,
			strerror(errno));
		goto out_opts;
	}
	free(a.source);
	a.source = real;
	real = realpath(opts.mountpoint, NULL);
	if (real) {
		free(a.mountpoint);
		a.mountpoint = real;
	}
	/*
	 * A source under the mountpoint would be reached through the mount
	 * itself: the watcher's inotify_add_watch() and every reload would
	 * look it up through a mount that only this process serves, and
	 * wait forever (uninterruptibly, in the kernel) for its own answer.
	 */
	if (real && source_under(a.source, real)) {
		log_msg(LOG_LEVEL_ERR,
			"source %s lies under the mountpoint "
			"%s: it would be read through the mount itself",
			a.source, real);
		goto out_opts;
	}

	r = aerofs_gen_build(&a, true, &g, &err);
	if (r < 0) {
		log_msg(LOG_LEVEL_ERR, "%s", err.msg);
		goto out_opts;
	}
	aerofs_gen_install(&a, g);
	aerofs_gen_announce(&a, g);

	se = fuse_session_new(&args, &aerofs_ll_ops, sizeof(aerofs_ll_ops), &a);
	if (!se)
		goto out_opts;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	a.se = se;
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	if (!opts.foreground) {
		log_use_syslog();
		/* stderr is /dev/null now; before, libfuse's own format. */
		fuse_set_log_func(aerofs_fuse_log);
	}
	log_msg(LOG_LEVEL_INFO, "%s mounted on %s", a.source, opts.mountpoint);
	notify(a.notify_pipe, 's');
	free(a.notify_pipe);
	a.notify_pipe = NULL;
	/* After the fork of fuse_daemonize(), like every thread. */
	aerofs_gen_hash_start(&a, a.cur);
	if (aerofs_reload_start(&a) != 0)
		log_msg(LOG_LEVEL_WARNING, "live reload disabled: cannot "
					   "start the watcher");

	if (opts.singlethread) {
		r = fuse_session_loop(se);
	} else {
		cfg = fuse_loop_cfg_create();
		if (!cfg) {
			r = -ENOMEM;
		} else {
			fuse_loop_cfg_set_clone_fd(cfg,
						   (unsigned)opts.clone_fd);
			fuse_loop_cfg_set_max_threads(cfg, opts.max_threads);
			/* UINT_MAX means unset; libfuse warns about it. */
			if (opts.max_idle_threads != UINT_MAX)
				fuse_loop_cfg_set_idle_threads(
					cfg, opts.max_idle_threads);
			r = fuse_session_loop_mt(se, cfg);
		}
	}
	atomic_store(&a.loop_done, true);
	/* A positive result is the signal that ended the loop: a clean
	 * shutdown.  Negative is an error. */
	ret = r < 0 ? 1 : 0;
	if (r < 0)
		log_msg(LOG_LEVEL_ERR, "session loop: %s", strerror(-r));

	aerofs_reload_stop(&a);
	fuse_loop_cfg_destroy(cfg);
out_unmount:
	a.se = NULL;
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_opts:
	free(opts.mountpoint);
out_args:
	/* Any failure, bad options too: a mount helper waits on the FIFO.
	 * (Once mounted, notify_pipe is NULL.) */
	if (ret != 0)
		notify(a.notify_pipe, 'f');
	fuse_opt_free_args(&args);
	aerofs_fini(&a);
	return ret;
}
