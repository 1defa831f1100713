/*
 * vhd_image.c: a fixed VHD, the FAT disk plus a footer (see vhd_image.h).
 */
#include "export/image/vhd_image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/util/civil.h"
#include "export/image/fat_image.h"
#include "export/image/regions.h"

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* Seconds since 2000-01-01T00:00:00Z (the VHD epoch), clamped. */
static uint32_t vhd_time(int64_t epoch)
{
	int64_t t = epoch - civil_days(2000, 1, 1) * 86400;

	if (t < 0)
		return 0;
	return t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static uint8_t *make_footer(const struct fat_image_info *fi, int64_t epoch)
{
	uint8_t *f = calloc(1, VHD_FOOTER_SIZE);
	uint32_t sum = 0;

	if (!f)
		return NULL;
	memcpy(f, "conectix", 8);
	put_be32(f + 8, 2);	      /* features: reserved bit, always set */
	put_be32(f + 12, 0x00010000); /* format version 1.0 */
	put_be64(f + 16, UINT64_MAX); /* data offset: fixed disk */
	put_be32(f + 24, vhd_time(epoch));
	memcpy(f + 28, "aero", 4);	  /* creator application */
	put_be32(f + 32, 0x00010000);	  /* creator version */
	memcpy(f + 36, "Wi2k", 4);	  /* creator host OS */
	put_be64(f + 40, fi->disk_bytes); /* original size */
	put_be64(f + 48, fi->disk_bytes); /* current size */
	put_be16(f + 56, fi->chs.cylinders);
	f[58] = (uint8_t)fi->chs.heads;
	f[59] = (uint8_t)fi->chs.sectors;
	put_be32(f + 60, 2);		     /* disk type: fixed */
	memcpy(f + 68, fi->digest + 16, 16); /* unique id */
	f[68 + 6] = (uint8_t)((f[68 + 6] & 0x0f) | 0x40);
	f[68 + 8] = (uint8_t)((f[68 + 8] & 0x3f) | 0x80);
	/* one's complement of the byte sum, checksum field as zero */
	for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
		sum += f[i];
	put_be32(f + 64, ~sum);
	return f;
}

int vhd_image_layout(struct pack *pack, const struct image_options *opts,
		     struct regions *rs, struct aero_error *err)
{
	struct fat_image_info fi;
	uint8_t *footer;
	int rc;

	if ((rc = fat_image_layout_info(pack, opts, rs, err, &fi)) < 0)
		return rc;
	/* fat_image.c makes the disk a whole CHS geometry; say so loudly
	 * if it ever does not, rather than write a disk readers disagree on */
	if (regions_size(rs) != fi.disk_bytes ||
	    fi.disk_bytes != (uint64_t)fi.chs.cylinders * fi.chs.heads *
				     fi.chs.sectors * 512)
		return aero_error_set(err, -EINVAL,
				      "VHD: the disk is not a whole CHS "
				      "geometry (layout bug)");
	if (!(footer = make_footer(&fi, pack_epoch(pack))))
		return -ENOMEM;
	return regions_append_data(rs, footer, VHD_FOOTER_SIZE, true);
}
