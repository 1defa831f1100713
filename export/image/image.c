/*
 * image.c: the format table, and building and reading any image laid out
 * as a region table (see image.h).
 */
#include "export/image/image.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/image/fat_image.h"
#include "export/image/iso_image.h"
#include "export/image/vhd_image.h"

struct image {
	const struct image_format *fmt;
	struct pack *pack; /* one reference */
	struct regions *rs;
	uint64_t size;
};

/* Adding a format: a row here, a layout function in its own module. */
static const struct image_format formats[] = {
	{ "iso", "iso", "ISO9660 + Joliet + Rock Ridge CD image",
	  iso_image_layout },
	{ "img", "img", "raw disk image: MBR + FAT16/FAT32 partition",
	  fat_image_layout },
	{ "vhd", "vhd", "fixed VHD: the raw disk image plus a VHD footer",
	  vhd_image_layout },
};

const struct image_format *image_formats(size_t *n)
{
	*n = sizeof(formats) / sizeof(formats[0]);
	return formats;
}

const struct image_format *image_format_find(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

const struct image_format *image_format_for_path(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return NULL;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcasecmp(formats[i].ext, dot + 1) == 0)
			return &formats[i];
	return NULL;
}

int image_build(const struct image_format *fmt, struct pack *pack,
		const struct image_options *opts, struct image **out,
		struct aero_error *err)
{
	static const struct image_options defaults;
	struct image *img;
	int rc;

	*out = NULL;
	/* The layouts use the digests (ISO sharing, FAT serial) and hold
	 * blobs that quote them. */
	rc = pack_hashed(pack);
	if (rc < 0)
		return aero_error_set(err, rc == -EAGAIN ? rc : -EIO,
				      "the pack's files are %s",
				      rc == -EAGAIN ? "not hashed yet" :
						      "not all readable");
	img = calloc(1, sizeof(*img));
	if (!img || !(img->rs = regions_new())) {
		free(img);
		aero_error_set(err, -ENOMEM,
			       "out of memory laying out the image");
		return -ENOMEM;
	}
	rc = fmt->layout(pack, opts ? opts : &defaults, img->rs, err);
	if (rc < 0) {
		regions_free(img->rs);
		free(img);
		if (rc == -ENOMEM)
			aero_error_set(err, rc,
				       "out of memory laying out the image");
		else if (err && !err->code)
			aero_error_set(err, rc,
				       "cannot lay out the %s image: %s",
				       fmt->name, strerror(-rc));
		return rc;
	}
	img->fmt = fmt;
	img->pack = pack_ref(pack);
	img->size = regions_size(img->rs);
	*out = img;
	return 0;
}

void image_free(struct image *img)
{
	if (!img)
		return;
	regions_free(img->rs);
	pack_unref(img->pack);
	free(img);
}

const struct image_format *image_format_of(const struct image *img)
{
	return img->fmt;
}

uint64_t image_size(const struct image *img)
{
	return img->size;
}

const struct pack *image_pack(const struct image *img)
{
	return img->pack;
}

/* Reads exactly LEN bytes of a file region; a short file is -EIO. */
static int read_file(const struct image *img, const struct region *r,
		     uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t got = pack_node_read(img->pack, r->u.node, buf, len,
					     off);

		if (got < 0)
			return got == -EISDIR ? -EIO : (int)got;
		if (got == 0)
			return -EIO; /* the source shrank under us */
		buf += got;
		off += (uint64_t)got;
		len -= (size_t)got;
	}
	return 0;
}

ssize_t image_read(const struct image *img, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0, i;

	if (off >= img->size)
		return 0;
	if (len > img->size - off)
		len = (size_t)(img->size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	i = regions_find(img->rs, off);
	while (done < len) {
		const struct region *r = regions_get(img->rs, i++);
		uint64_t in = off - r->start;
		size_t n = len - done;
		int rc;

		if (n > r->len - in)
			n = (size_t)(r->len - in);
		switch (r->type) {
		case REGION_DATA:
			memcpy(p + done, (const uint8_t *)r->u.data + in, n);
			break;
		case REGION_ZERO:
			memset(p + done, 0, n);
			break;
		case REGION_FILE:
			if ((rc = read_file(img, r, p + done, n, in)) < 0)
				return rc;
			break;
		}
		done += n;
		off += n;
	}
	return (ssize_t)done;
}

int image_span(const struct image *img, uint64_t off, struct pack_span *span)
{
	const struct region *r;
	struct pack_span ps;
	uint64_t in;

	if (off >= img->size)
		return -EINVAL;
	r = regions_get(img->rs, regions_find(img->rs, off));
	in = off - r->start;
	span->fd = -1;
	span->fd_offset = 0;
	span->mem = NULL;
	span->len = r->len - in;
	switch (r->type) {
	case REGION_DATA:
		span->kind = PACK_SPAN_MEM;
		span->mem = (const uint8_t *)r->u.data + in;
		return 0;
	case REGION_ZERO:
		span->kind = PACK_SPAN_ZERO;
		return 0;
	case REGION_FILE:
		break;
	}
	/* A file region is exactly the file's first r->len bytes, so IN is
	 * inside the file (regions_append_file() with the pack size). */
	if (pack_node_span(img->pack, r->u.node, in, &ps) < 0 || ps.len == 0)
		return -EIO;
	if (ps.len > span->len)
		ps.len = span->len;
	*span = ps;
	return 0;
}
