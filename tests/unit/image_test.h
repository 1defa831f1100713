/*
 * image_test.h: what the image tests (test_iso_image.c, test_fat_image.c,
 * test_fat_fixture.c) share: writing an image out with plain sequential
 * reads, the reference every reader tool and random-range check is
 * compared with, and reading a file back.  Include after tests/harness.h.
 */
#ifndef AEROFS_TESTS_UNIT_IMAGE_TEST_H
#define AEROFS_TESTS_UNIT_IMAGE_TEST_H

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/image/image.h"

/* Writes IMG to PATH with sequential reads of CHUNK bytes; a read past
 * the end must give 0. */
static inline void write_image(const struct image *img, const char *path,
			       size_t chunk)
{
	unsigned char *buf = malloc(chunk);
	uint64_t off = 0, size = image_size(img);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert(fd >= 0 && buf);
	while (off < size) {
		ssize_t n = image_read(img, buf, chunk, off);

		assert(n > 0);
		assert(write(fd, buf, (size_t)n) == n);
		off += (uint64_t)n;
	}
	CHECK_EQ_INT(0, image_read(img, buf, chunk, off));
	close(fd);
	free(buf);
}

/* The bytes of PATH (malloc'd, *LEN its length), or NULL if it cannot be
 * opened. */
static inline unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	assert(fstat(fd, &st) == 0);
	buf = malloc((size_t)st.st_size + 1);
	assert(buf);
	assert(read(fd, buf, (size_t)st.st_size) == st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

#endif
