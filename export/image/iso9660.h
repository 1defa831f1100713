/*
 * iso9660.h: the on-disk structures of ECMA-119 (ISO 9660), Joliet and the
 * SUSP/RRIP (Rock Ridge) entries that iso_image.c writes, plus the byte
 * encoders they need.
 *
 * Every structure is made of uint8_t arrays only, so there is no padding
 * and no alignment to worry about; the offset of each field is commented
 * and the total size asserted.  Multi-byte numbers are encoded with the
 * helpers below (ECMA-119 7.2/7.3): little-endian, big-endian or both.
 *
 * Not here: layout policy (iso_image.c), reading images (catalog/isofs.c).
 */
#ifndef AEROFS_EXPORT_IMAGE_ISO9660_H
#define AEROFS_EXPORT_IMAGE_ISO9660_H

#include <stdint.h>

#define ISO_SECTOR 2048u
#define ISO_SYSTEM_AREA_SECTORS 16u /* ECMA-119 6.2.1 */

/* ECMA-119 8.4 (PVD) and 8.5 (SVD, which Joliet uses), 2048 bytes. */
struct iso_volume_descriptor {
	uint8_t type;			/*    0: 1 PVD, 2 SVD, 255 end */
	uint8_t id[5];			/*    1: "CD001" */
	uint8_t version;		/*    6: 1 */
	uint8_t flags;			/*    7: SVD volume flags, 0 */
	uint8_t system_id[32];		/*    8 */
	uint8_t volume_id[32];		/*   40 */
	uint8_t unused1[8];		/*   72 */
	uint8_t space_size[8];		/*   80: 7.3.3, in sectors */
	uint8_t escapes[32];		/*   88: SVD escape sequences */
	uint8_t set_size[4];		/*  120: 7.2.3 */
	uint8_t seq_number[4];		/*  124: 7.2.3 */
	uint8_t block_size[4];		/*  128: 7.2.3 */
	uint8_t path_table_size[8];	/*  132: 7.3.3 */
	uint8_t l_path_table[4];	/*  140: 7.3.1 */
	uint8_t l_path_table_opt[4];	/*  144 */
	uint8_t m_path_table[4];	/*  148: 7.3.2 */
	uint8_t m_path_table_opt[4];	/*  152 */
	uint8_t root[34];		/*  156: directory record of root */
	uint8_t set_id[128];		/*  190 */
	uint8_t publisher_id[128];	/*  318 */
	uint8_t preparer_id[128];	/*  446 */
	uint8_t application_id[128];	/*  574 */
	uint8_t copyright_file[37];	/*  702 */
	uint8_t abstract_file[37];	/*  739 */
	uint8_t bibliographic_file[37]; /*  776 */
	uint8_t created[17];		/*  813: 8.4.26.1 */
	uint8_t modified[17];		/*  830 */
	uint8_t expires[17];		/*  847 */
	uint8_t effective[17];		/*  864 */
	uint8_t structure_version;	/*  881: 1 */
	uint8_t reserved1;		/*  882 */
	uint8_t application_use[512];	/*  883 */
	uint8_t reserved2[653];		/* 1395 */
};
_Static_assert(sizeof(struct iso_volume_descriptor) == ISO_SECTOR,
	       "ECMA-119 8.4: a volume descriptor is one sector");

/* ECMA-119 9.1: the fixed part of a directory record. */
struct iso_dirrec {
	uint8_t len_dr;	       /*  0: total length, even */
	uint8_t ext_attr_len;  /*  1 */
	uint8_t extent[8];     /*  2: 7.3.3 */
	uint8_t size[8];       /* 10: 7.3.3 */
	uint8_t date[7];       /* 18: 9.1.5 */
	uint8_t flags;	       /* 25: 9.1.6 */
	uint8_t unit_size;     /* 26 */
	uint8_t gap;	       /* 27 */
	uint8_t seq_number[4]; /* 28: 7.2.3 */
	uint8_t len_fi;	       /* 32 */
	/* 33: file identifier, a pad byte if len_fi is even, system use */
};
_Static_assert(sizeof(struct iso_dirrec) == 33,
	       "ECMA-119 9.1: 33 bytes before the file identifier");

#define ISO_DIRREC_MAX 255 /* len_dr is one byte */
#define ISO_FLAG_DIR 0x02  /* ECMA-119 9.1.6 */

/* ECMA-119 9.4: the fixed part of a path table record. */
struct iso_path_rec {
	uint8_t len_di;	      /* 0 */
	uint8_t ext_attr_len; /* 1 */
	uint8_t extent[4];    /* 2: 7.3.1 (L) or 7.3.2 (M) */
	uint8_t parent[2];    /* 6: 7.2.1 (L) or 7.2.2 (M) */
	/* 8: directory identifier, a pad byte if len_di is odd */
};
_Static_assert(sizeof(struct iso_path_rec) == 8, "ECMA-119 9.4");

/* SUSP 4.1: every System Use entry starts with this header. */
struct susp_hdr {
	uint8_t sig[2];	 /* 0 */
	uint8_t len;	 /* 2: entry length, header included */
	uint8_t version; /* 3: 1 */
};
_Static_assert(sizeof(struct susp_hdr) == 4, "SUSP 4.1");

#define SUSP_SP_LEN 7			/* SUSP 5.3: SP, check bytes, skip */
#define SUSP_CE_LEN 28			/* SUSP 5.1: CE, 3 x 7.3.3 */
#define RRIP_RR_LEN 5			/* RRIP 1991A 4.1.7: RR (flags) */
#define RRIP_PX_LEN 44			/* RRIP 4.1.1: mode nlink uid gid ino */
#define RRIP_TF_LEN 26			/* RRIP 4.1.6: flags + 3 short dates */
#define RRIP_NM_HDR 5			/* RRIP 4.1.4: header + flags */
#define RRIP_NM_MAX (255 - RRIP_NM_HDR) /* name bytes per NM entry */

/* RRIP 1991A 4.1.7: which RRIP entries a record carries. */
#define RRIP_RR_PX 0x01
#define RRIP_RR_NM 0x08
#define RRIP_RR_TF 0x80
/* RRIP 4.1.6: TF flags (modify, access, attributes), 7-byte form. */
#define RRIP_TF_MAT 0x0e
#define RRIP_NM_CONTINUE 0x01

static inline void iso_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static inline void iso_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void iso_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static inline void iso_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[3 - i] = (v >> (8 * i)) & 0xff;
}

/* ECMA-119 7.2.3: 16-bit both-byte orders. */
static inline void iso_put_both16(uint8_t *p, uint16_t v)
{
	iso_put_le16(p, v);
	iso_put_be16(p + 2, v);
}

/* ECMA-119 7.3.3: 32-bit both-byte orders. */
static inline void iso_put_both32(uint8_t *p, uint32_t v)
{
	iso_put_le32(p, v);
	iso_put_be32(p + 4, v);
}

#endif
