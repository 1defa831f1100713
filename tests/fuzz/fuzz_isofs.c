/*
 * fuzz_isofs.c: source_open() over arbitrary bytes as an ISO9660 image.
 *
 * The input (capped at 1 MiB) goes into a memfd that source_open() opens
 * through /proc/self/fd, so the whole image path runs: descriptor checks,
 * tree choice, directory records, Rock Ridge and the name rules.  Besides
 * the sanitizers, the tree must keep its promises: every extent inside the
 * image, sizes equal to the extent sum and never above the image size (a
 * file's parts do not overlap), children sorted without duplicates, names
 * never empty, "." or "..", and never holding '/'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "catalog/util/checked.h"
#include "catalog/util/log.h"
#include "catalog/source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const struct source *s, const struct source_node *n)
{
	const char *prev = NULL;

	for (size_t i = 0; i < source_node_nchildren(n); i++) {
		const struct source_node *c = source_node_child(n, i);
		const char *name = source_node_name(c);
		const struct source_extent *ext;
		uint64_t sum = 0;
		size_t count;

		if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0 || strlen(name) > 255)
			abort();
		if (prev && strcmp(prev, name) >= 0)
			abort();
		if (source_node_find(n, name) != c)
			abort();
		prev = name;
		switch (source_node_type(c)) {
		case SOURCE_NODE_DIR:
			check_tree(s, c);
			break;
		case SOURCE_NODE_FILE:
			if (source_node_extents(c, &ext, &count) != 0)
				abort();
			for (size_t j = 0; j < count; j++) {
				if (range_outside(ext[j].offset, ext[j].length,
						  source_size(s)))
					abort();
				sum += ext[j].length;
			}
			if (sum != source_node_size(c) || sum > source_size(s))
				abort();
			break;
		case SOURCE_NODE_OTHER:
			if (source_node_nchildren(c) != 0)
				abort();
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source_limits lim = { .max_nodes = 20000, .max_depth = 64 };
	struct aero_error err;
	struct source *s;
	char path[64];
	size_t done = 0;
	int fd;

	if (size > (1u << 20))
		return 0;
	log_set_level(LOG_LEVEL_ERR); /* skipped names are expected */
	fd = memfd_create("fuzz_isofs", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);

		if (w <= 0)
			abort();
		done += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (source_open(path, &lim, &s, &err) == 0) {
		if (source_size(s) != size || !source_names(s))
			abort();
		check_tree(s, source_root(s));
		source_close(s);
	} else if (err.code >= 0 || !err.msg[0]) {
		abort(); /* a failure always says why */
	}
	close(fd);
	return 0;
}
