/*
 * virtio_spec.h: wire structures and constants of virtio 1.2 (OASIS
 * virtio-v1.2-csd01) used by the rest of virtio/: the PCI capabilities and
 * common configuration (§4.1.4), the split virtqueue (§2.7), and the
 * request/config layouts of the block (§5.2), network (§5.1), input
 * (§5.8) and sound (§5.14) devices, plus little-endian load/store helpers.
 *
 * Every multi-byte field is little-endian on the wire (§1.4 "le16/le32/
 * le64"); the structs use plain uintN_t and callers go through the
 * virtio_le*() helpers, so the header is right on any host.  Every size and
 * offset is pinned by _Static_assert below, so a compiler that lays a
 * struct out differently fails to build instead of corrupting a ring.
 *
 * Where the Aero reference (aero-virtio-protocol) differs from the spec, we
 * follow the spec and say so next to the field: struct virtio_pci_cap has
 * the 1.2 `id` byte, sound status codes are 0x8000.. and the PCM info
 * header is `hda_fn_nid`.
 *
 * It does not cover the packed ring, MMIO or channel-I/O transports, or the
 * 1.2 net hash-report header extension.
 */
#ifndef AEROFS_VIRTIO_VIRTIO_SPEC_H
#define AEROFS_VIRTIO_VIRTIO_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* ---- little-endian access (§1.4), alignment-free ---- */

static inline uint16_t virtio_le16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t virtio_le32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline uint64_t virtio_le64(const void *p)
{
	const uint8_t *b = p;

	return (uint64_t)virtio_le32(b) | (uint64_t)virtio_le32(b + 4) << 32;
}

static inline void virtio_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void virtio_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void virtio_put_le64(void *p, uint64_t v)
{
	virtio_put_le32(p, (uint32_t)v);
	virtio_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/*
 * Host <-> little-endian for a naturally aligned field that is accessed
 * as a whole (ring indices, which need atomic access and so cannot be
 * assembled byte by byte).
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define virtio_cpu_le16(v) __builtin_bswap16(v)
#define virtio_cpu_le32(v) __builtin_bswap32(v)
#define virtio_cpu_le64(v) __builtin_bswap64(v)
#else
#define virtio_cpu_le16(v) ((uint16_t)(v))
#define virtio_cpu_le32(v) ((uint32_t)(v))
#define virtio_cpu_le64(v) ((uint64_t)(v))
#endif

/* ---- device status (§2.1) ---- */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* ---- reserved (device-independent) feature bits (§6) ---- */
#define VIRTIO_F_NOTIFY_ON_EMPTY 24 /* legacy only */
#define VIRTIO_F_ANY_LAYOUT 27	    /* legacy only */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35
#define VIRTIO_F_ORDER_PLATFORM 36
#define VIRTIO_F_SR_IOV 37
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_NOTIF_CONFIG_DATA 39
#define VIRTIO_F_RING_RESET 40

#define VIRTIO_FEATURE(bit) ((uint64_t)1 << (bit))

/* ---- PCI transport (§4.1.4) ---- */
#define VIRTIO_PCI_CAP_VENDOR_ID 0x09 /* PCI capability id "vendor" */

/* cfg_type values (§4.1.4); the rest are reserved and MUST be ignored */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5
#define VIRTIO_PCI_CAP_SHARED_MEMORY_CFG 8
#define VIRTIO_PCI_CAP_VENDOR_CFG 9

/* §4.1.4: virtio structure PCI capability */
struct virtio_pci_cap {
	uint8_t cap_vndr;   /* 0: 0x09 */
	uint8_t cap_next;   /* 1 */
	uint8_t cap_len;    /* 2: length of this capability, >= 16 */
	uint8_t cfg_type;   /* 3: VIRTIO_PCI_CAP_* */
	uint8_t bar;	    /* 4: 0..5, others reserved */
	uint8_t id;	    /* 5: 1.2; the Aero crate lacks it */
	uint8_t padding[2]; /* 6 */
	uint32_t offset;    /* 8: le32, within the BAR */
	uint32_t length;    /* 12: le32, of the structure */
};

/* §4.1.4.3 with the 1.2 64-bit extension for shared memory */
struct virtio_pci_cap64 {
	struct virtio_pci_cap cap; /* 0 */
	uint32_t offset_hi;	   /* 16 */
	uint32_t length_hi;	   /* 20 */
};

/* §4.1.4.4 */
struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;	/* 0 */
	uint32_t notify_off_multiplier; /* 16: le32 */
};

/* §4.1.4.9: the driver writes bar/offset/length, then pci_cfg_data */
struct virtio_pci_cfg_cap {
	struct virtio_pci_cap cap; /* 0 */
	uint8_t pci_cfg_data[4];   /* 16 */
};

/* §4.1.4.10: vendor data capability (cfg_type 9) */
struct virtio_pci_vndr_data {
	uint8_t cap_vndr;   /* 0 */
	uint8_t cap_next;   /* 1 */
	uint8_t cap_len;    /* 2 */
	uint8_t cfg_type;   /* 3 */
	uint16_t vendor_id; /* 4: le16, PCI-SIG vendor id */
};

/*
 * §4.1.4.3: common configuration.  1.2 appends queue_notify_data (56) and
 * queue_reset (58), present only with NOTIFICATION_DATA / RING_RESET; the
 * struct stops at the 1.0 end so that 56 stays the minimum a device must
 * offer (Linux's minlen for the common cap).
 */
struct virtio_pci_common_cfg {
	uint32_t device_feature_select; /* 0 */
	uint32_t device_feature;	/* 4 */
	uint32_t driver_feature_select; /* 8 */
	uint32_t driver_feature;	/* 12 */
	uint16_t config_msix_vector;	/* 16 */
	uint16_t num_queues;		/* 18 */
	uint8_t device_status;		/* 20 */
	uint8_t config_generation;	/* 21 */
	uint16_t queue_select;		/* 22 */
	uint16_t queue_size;		/* 24 */
	uint16_t queue_msix_vector;	/* 26 */
	uint16_t queue_enable;		/* 28 */
	uint16_t queue_notify_off;	/* 30 */
	uint64_t queue_desc;		/* 32 */
	uint64_t queue_driver;		/* 40: avail ring */
	uint64_t queue_device;		/* 48: used ring */
};
#define VIRTIO_PCI_COMMON_QUEUE_NOTIFY_DATA 56
#define VIRTIO_PCI_COMMON_QUEUE_RESET 58
#define VIRTIO_PCI_COMMON_CFG_MIN 56

/* §4.1.4.5: ISR status bits (read-to-clear) */
#define VIRTIO_PCI_ISR_QUEUE 0x1
#define VIRTIO_PCI_ISR_CONFIG 0x2

#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* ---- split virtqueue (§2.7) ---- */
#define VIRTQ_MAX_SIZE 32768 /* §2.7: power of 2, at most 32768 */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

/* §2.7.5 */
struct virtq_desc {
	uint64_t addr;	/* 0: le64, device (bus) address */
	uint32_t len;	/* 8 */
	uint16_t flags; /* 12: VIRTQ_DESC_F_* */
	uint16_t next;	/* 14 */
};

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* §2.7.6: followed by le16 used_event when EVENT_IDX is negotiated */
struct virtq_avail {
	uint16_t flags;	 /* 0 */
	uint16_t idx;	 /* 2 */
	uint16_t ring[]; /* 4 */
};

#define VIRTQ_USED_F_NO_NOTIFY 1

/* §2.7.8 */
struct virtq_used_elem {
	uint32_t id;  /* 0: head of the chain, le32 */
	uint32_t len; /* 4: bytes written by the device */
};

/* §2.7.8: followed by le16 avail_event when EVENT_IDX is negotiated */
struct virtq_used {
	uint16_t flags;		       /* 0 */
	uint16_t idx;		       /* 2 */
	struct virtq_used_elem ring[]; /* 4 */
};

/* §2.7 table: alignment and size of each part for queue size N */
#define VIRTQ_DESC_ALIGN 16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN 4
#define VIRTQ_DESC_BYTES(n) (16 * (size_t)(n))
#define VIRTQ_AVAIL_BYTES(n) (6 + 2 * (size_t)(n))
#define VIRTQ_USED_BYTES(n) (6 + 8 * (size_t)(n))

/* ---- block device (§5.2) ---- */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_BLK_F_LIFETIME 15
#define VIRTIO_BLK_F_SECURE_ERASE 16

struct virtio_blk_geometry {
	uint16_t cylinders; /* 0 */
	uint8_t heads;	    /* 2 */
	uint8_t sectors;    /* 3 */
};

struct virtio_blk_topology {
	uint8_t physical_block_exp; /* 0 */
	uint8_t alignment_offset;   /* 1 */
	uint16_t min_io_size;	    /* 2 */
	uint32_t opt_io_size;	    /* 4 */
};

/* §5.2.4 */
struct virtio_blk_config {
	uint64_t capacity;			/* 0: in 512 B */
	uint32_t size_max;			/* 8 */
	uint32_t seg_max;			/* 12 */
	struct virtio_blk_geometry geometry;	/* 16 */
	uint32_t blk_size;			/* 20 */
	struct virtio_blk_topology topology;	/* 24 */
	uint8_t writeback;			/* 32 */
	uint8_t unused0;			/* 33 */
	uint16_t num_queues;			/* 34 */
	uint32_t max_discard_sectors;		/* 36 */
	uint32_t max_discard_seg;		/* 40 */
	uint32_t discard_sector_alignment;	/* 44 */
	uint32_t max_write_zeroes_sectors;	/* 48 */
	uint32_t max_write_zeroes_seg;		/* 52 */
	uint8_t write_zeroes_may_unmap;		/* 56 */
	uint8_t unused1[3];			/* 57 */
	uint32_t max_secure_erase_sectors;	/* 60 */
	uint32_t max_secure_erase_seg;		/* 64 */
	uint32_t secure_erase_sector_alignment; /* 68 */
};

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR_SIZE 512
#define VIRTIO_BLK_ID_BYTES 20

/* §5.2.6: request header; data follows, then a u8 status */
struct virtio_blk_req_hdr {
	uint32_t type;	 /* 0: VIRTIO_BLK_T_* */
	uint32_t ioprio; /* 4: 1.2 "reserved"; legacy name ioprio */
	uint64_t sector; /* 8 */
};

/* ---- network device (§5.1) ---- */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_CTRL_VLAN 19
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2

/* §5.1.4 */
struct virtio_net_config {
	uint8_t mac[6];				   /* 0 */
	uint16_t status;			   /* 6 */
	uint16_t max_virtqueue_pairs;		   /* 8 */
	uint16_t mtu;				   /* 10 */
	uint32_t speed;				   /* 12 */
	uint8_t duplex;				   /* 16 */
	uint8_t rss_max_key_size;		   /* 17 */
	uint16_t rss_max_indirection_table_length; /* 18 */
	uint32_t supported_hash_types;		   /* 20 */
};

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO 4
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/* §5.1.6: legacy header without MRG_RXBUF */
struct virtio_net_hdr {
	uint8_t flags;	      /* 0 */
	uint8_t gso_type;     /* 1 */
	uint16_t hdr_len;     /* 2 */
	uint16_t gso_size;    /* 4 */
	uint16_t csum_start;  /* 6 */
	uint16_t csum_offset; /* 8 */
};

/*
 * §5.1.6: with VERSION_1 the header always carries num_buffers (12 bytes)
 * whether or not MRG_RXBUF was negotiated.
 */
struct virtio_net_hdr_mrg_rxbuf {
	struct virtio_net_hdr hdr; /* 0 */
	uint16_t num_buffers;	   /* 10 */
};

/* ---- input device (§5.8) ---- */
#define VIRTIO_INPUT_CFG_UNSET 0x00
#define VIRTIO_INPUT_CFG_ID_NAME 0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS 0x11
#define VIRTIO_INPUT_CFG_ABS_INFO 0x12

struct virtio_input_absinfo {
	uint32_t min;  /* 0 */
	uint32_t max;  /* 4 */
	uint32_t fuzz; /* 8 */
	uint32_t flat; /* 12 */
	uint32_t res;  /* 16 */
};

struct virtio_input_devids {
	uint16_t bustype; /* 0 */
	uint16_t vendor;  /* 2 */
	uint16_t product; /* 4 */
	uint16_t version; /* 6 */
};

/* §5.8.4: the driver writes select/subsel, then reads size and u */
struct virtio_input_config {
	uint8_t select;	     /* 0 */
	uint8_t subsel;	     /* 1 */
	uint8_t size;	     /* 2 */
	uint8_t reserved[5]; /* 3 */
	union {
		char string[128];
		uint8_t bitmap[128];
		struct virtio_input_absinfo abs;
		struct virtio_input_devids ids;
	} u; /* 8 */
};

/* §5.8.6: evdev event, one per buffer on the event queue */
struct virtio_input_event {
	uint16_t type;	/* 0 */
	uint16_t code;	/* 2 */
	uint32_t value; /* 4 */
};

/* ---- sound device (§5.14) ---- */
#define VIRTIO_SND_VQ_CONTROL 0
#define VIRTIO_SND_VQ_EVENT 1
#define VIRTIO_SND_VQ_TX 2
#define VIRTIO_SND_VQ_RX 3

#define VIRTIO_SND_R_JACK_INFO 0x0001
#define VIRTIO_SND_R_JACK_REMAP 0x0002
#define VIRTIO_SND_R_PCM_INFO 0x0100
#define VIRTIO_SND_R_PCM_SET_PARAMS 0x0101
#define VIRTIO_SND_R_PCM_PREPARE 0x0102
#define VIRTIO_SND_R_PCM_RELEASE 0x0103
#define VIRTIO_SND_R_PCM_START 0x0104
#define VIRTIO_SND_R_PCM_STOP 0x0105
#define VIRTIO_SND_R_CHMAP_INFO 0x0200

#define VIRTIO_SND_EVT_JACK_CONNECTED 0x1000
#define VIRTIO_SND_EVT_JACK_DISCONNECTED 0x1001
#define VIRTIO_SND_EVT_PCM_PERIOD_ELAPSED 0x1100
#define VIRTIO_SND_EVT_PCM_XRUN 0x1101

/* §5.14.6.1: the Aero crate uses 0..3 here, which is not the spec */
#define VIRTIO_SND_S_OK 0x8000
#define VIRTIO_SND_S_BAD_MSG 0x8001
#define VIRTIO_SND_S_NOT_SUPP 0x8002
#define VIRTIO_SND_S_IO_ERR 0x8003

#define VIRTIO_SND_D_OUTPUT 0
#define VIRTIO_SND_D_INPUT 1

#define VIRTIO_SND_PCM_F_SHMEM_HOST 0
#define VIRTIO_SND_PCM_F_SHMEM_GUEST 1
#define VIRTIO_SND_PCM_F_MSG_POLLING 2
#define VIRTIO_SND_PCM_F_EVT_SHMEM_PERIODS 3
#define VIRTIO_SND_PCM_F_EVT_XRUNS 4

/* §5.14.6.6.3: sample formats (bit numbers in pcm_info.formats) */
#define VIRTIO_SND_PCM_FMT_IMA_ADPCM 0
#define VIRTIO_SND_PCM_FMT_MU_LAW 1
#define VIRTIO_SND_PCM_FMT_A_LAW 2
#define VIRTIO_SND_PCM_FMT_S8 3
#define VIRTIO_SND_PCM_FMT_U8 4
#define VIRTIO_SND_PCM_FMT_S16 5
#define VIRTIO_SND_PCM_FMT_U16 6
#define VIRTIO_SND_PCM_FMT_S24 15
#define VIRTIO_SND_PCM_FMT_S32 17
#define VIRTIO_SND_PCM_FMT_FLOAT 19
#define VIRTIO_SND_PCM_FMT_FLOAT64 20

/* §5.14.6.6.3: frame rates (bit numbers in pcm_info.rates) */
#define VIRTIO_SND_PCM_RATE_5512 0
#define VIRTIO_SND_PCM_RATE_8000 1
#define VIRTIO_SND_PCM_RATE_11025 2
#define VIRTIO_SND_PCM_RATE_16000 3
#define VIRTIO_SND_PCM_RATE_22050 4
#define VIRTIO_SND_PCM_RATE_32000 5
#define VIRTIO_SND_PCM_RATE_44100 6
#define VIRTIO_SND_PCM_RATE_48000 7
#define VIRTIO_SND_PCM_RATE_64000 8
#define VIRTIO_SND_PCM_RATE_88200 9
#define VIRTIO_SND_PCM_RATE_96000 10
#define VIRTIO_SND_PCM_RATE_176400 11
#define VIRTIO_SND_PCM_RATE_192000 12
#define VIRTIO_SND_PCM_RATE_384000 13

/* §5.14.4 */
struct virtio_snd_config {
	uint32_t jacks;	  /* 0 */
	uint32_t streams; /* 4 */
	uint32_t chmaps;  /* 8 */
};

/* §5.14.6.1 */
struct virtio_snd_hdr {
	uint32_t code; /* 0: VIRTIO_SND_R_* or VIRTIO_SND_S_* */
};

struct virtio_snd_event {
	struct virtio_snd_hdr hdr; /* 0: VIRTIO_SND_EVT_* */
	uint32_t data;		   /* 4 */
};

/* §5.14.6.1: item query (16 bytes; the Aero crate's is 12) */
struct virtio_snd_query_info {
	struct virtio_snd_hdr hdr; /* 0 */
	uint32_t start_id;	   /* 4 */
	uint32_t count;		   /* 8 */
	uint32_t size;		   /* 12 */
};

struct virtio_snd_info {
	uint32_t hda_fn_nid; /* 0 */
};

/* §5.14.6.4.1 */
struct virtio_snd_jack_info {
	struct virtio_snd_info hdr; /* 0 */
	uint32_t features;	    /* 4 */
	uint32_t hda_reg_defconf;   /* 8 */
	uint32_t hda_reg_caps;	    /* 12 */
	uint8_t connected;	    /* 16 */
	uint8_t padding[7];	    /* 17 */
};

/* §5.14.6.6 */
struct virtio_snd_pcm_hdr {
	struct virtio_snd_hdr hdr; /* 0 */
	uint32_t stream_id;	   /* 4 */
};

/* §5.14.6.6.2: the Aero crate names the first word stream_id */
struct virtio_snd_pcm_info {
	struct virtio_snd_info hdr; /* 0 */
	uint32_t features;	    /* 4: 1 << VIRTIO_SND_PCM_F_* */
	uint64_t formats;	    /* 8: 1 << VIRTIO_SND_PCM_FMT_* */
	uint64_t rates;		    /* 16: 1 << VIRTIO_SND_PCM_RATE_* */
	uint8_t direction;	    /* 24 */
	uint8_t channels_min;	    /* 25 */
	uint8_t channels_max;	    /* 26 */
	uint8_t padding[5];	    /* 27 */
};

/* §5.14.6.6.3 */
struct virtio_snd_pcm_set_params {
	struct virtio_snd_pcm_hdr hdr; /* 0 */
	uint32_t buffer_bytes;	       /* 8 */
	uint32_t period_bytes;	       /* 12 */
	uint32_t features;	       /* 16 */
	uint8_t channels;	       /* 20 */
	uint8_t format;		       /* 21 */
	uint8_t rate;		       /* 22 */
	uint8_t padding;	       /* 23 */
};

/* §5.14.6.8: I/O message header (4 bytes; the Aero crate's is 8) */
struct virtio_snd_pcm_xfer {
	uint32_t stream_id; /* 0 */
};

/* §5.14.6.8: I/O message status, device-writable tail */
struct virtio_snd_pcm_status {
	uint32_t status;	/* 0 */
	uint32_t latency_bytes; /* 4 */
};

/* §5.14.6.9.1 */
struct virtio_snd_chmap_info {
	struct virtio_snd_info hdr; /* 0 */
	uint8_t direction;	    /* 4 */
	uint8_t channels;	    /* 5 */
	uint8_t positions[18];	    /* 6 */
};

/* ---- layout pins ---- */
#define VIRTIO_PIN(type, field, off)                                           \
	_Static_assert(offsetof(struct type, field) == (off),                  \
		       #type "." #field " is at " #off)
#define VIRTIO_SIZE(type, size)                                                \
	_Static_assert(sizeof(struct type) == (size),                          \
		       "sizeof " #type " is " #size)

VIRTIO_SIZE(virtio_pci_cap, 16);
VIRTIO_PIN(virtio_pci_cap, cfg_type, 3);
VIRTIO_PIN(virtio_pci_cap, bar, 4);
VIRTIO_PIN(virtio_pci_cap, id, 5);
VIRTIO_PIN(virtio_pci_cap, offset, 8);
VIRTIO_PIN(virtio_pci_cap, length, 12);
VIRTIO_SIZE(virtio_pci_cap64, 24);
VIRTIO_PIN(virtio_pci_cap64, offset_hi, 16);
VIRTIO_PIN(virtio_pci_cap64, length_hi, 20);
VIRTIO_SIZE(virtio_pci_notify_cap, 20);
VIRTIO_PIN(virtio_pci_notify_cap, notify_off_multiplier, 16);
VIRTIO_SIZE(virtio_pci_cfg_cap, 20);
VIRTIO_PIN(virtio_pci_cfg_cap, pci_cfg_data, 16);
VIRTIO_SIZE(virtio_pci_vndr_data, 6);
VIRTIO_PIN(virtio_pci_vndr_data, vendor_id, 4);

VIRTIO_SIZE(virtio_pci_common_cfg, 56);
VIRTIO_PIN(virtio_pci_common_cfg, device_feature, 4);
VIRTIO_PIN(virtio_pci_common_cfg, driver_feature_select, 8);
VIRTIO_PIN(virtio_pci_common_cfg, driver_feature, 12);
VIRTIO_PIN(virtio_pci_common_cfg, config_msix_vector, 16);
VIRTIO_PIN(virtio_pci_common_cfg, num_queues, 18);
VIRTIO_PIN(virtio_pci_common_cfg, device_status, 20);
VIRTIO_PIN(virtio_pci_common_cfg, config_generation, 21);
VIRTIO_PIN(virtio_pci_common_cfg, queue_select, 22);
VIRTIO_PIN(virtio_pci_common_cfg, queue_size, 24);
VIRTIO_PIN(virtio_pci_common_cfg, queue_msix_vector, 26);
VIRTIO_PIN(virtio_pci_common_cfg, queue_enable, 28);
VIRTIO_PIN(virtio_pci_common_cfg, queue_notify_off, 30);
VIRTIO_PIN(virtio_pci_common_cfg, queue_desc, 32);
VIRTIO_PIN(virtio_pci_common_cfg, queue_driver, 40);
VIRTIO_PIN(virtio_pci_common_cfg, queue_device, 48);

VIRTIO_SIZE(virtq_desc, 16);
VIRTIO_PIN(virtq_desc, len, 8);
VIRTIO_PIN(virtq_desc, flags, 12);
VIRTIO_PIN(virtq_desc, next, 14);
VIRTIO_SIZE(virtq_avail, 4);
VIRTIO_PIN(virtq_avail, idx, 2);
VIRTIO_PIN(virtq_avail, ring, 4);
VIRTIO_SIZE(virtq_used_elem, 8);
VIRTIO_PIN(virtq_used_elem, len, 4);
VIRTIO_SIZE(virtq_used, 4);
VIRTIO_PIN(virtq_used, idx, 2);
VIRTIO_PIN(virtq_used, ring, 4);

VIRTIO_SIZE(virtio_blk_geometry, 4);
VIRTIO_SIZE(virtio_blk_topology, 8);
VIRTIO_SIZE(virtio_blk_config, 72);
VIRTIO_PIN(virtio_blk_config, size_max, 8);
VIRTIO_PIN(virtio_blk_config, seg_max, 12);
VIRTIO_PIN(virtio_blk_config, geometry, 16);
VIRTIO_PIN(virtio_blk_config, blk_size, 20);
VIRTIO_PIN(virtio_blk_config, topology, 24);
VIRTIO_PIN(virtio_blk_config, writeback, 32);
VIRTIO_PIN(virtio_blk_config, num_queues, 34);
VIRTIO_PIN(virtio_blk_config, max_discard_sectors, 36);
VIRTIO_PIN(virtio_blk_config, max_write_zeroes_sectors, 48);
VIRTIO_PIN(virtio_blk_config, write_zeroes_may_unmap, 56);
VIRTIO_PIN(virtio_blk_config, max_secure_erase_sectors, 60);
VIRTIO_PIN(virtio_blk_config, secure_erase_sector_alignment, 68);
VIRTIO_SIZE(virtio_blk_req_hdr, 16);
VIRTIO_PIN(virtio_blk_req_hdr, ioprio, 4);
VIRTIO_PIN(virtio_blk_req_hdr, sector, 8);

VIRTIO_SIZE(virtio_net_config, 24);
VIRTIO_PIN(virtio_net_config, status, 6);
VIRTIO_PIN(virtio_net_config, max_virtqueue_pairs, 8);
VIRTIO_PIN(virtio_net_config, mtu, 10);
VIRTIO_PIN(virtio_net_config, speed, 12);
VIRTIO_PIN(virtio_net_config, duplex, 16);
VIRTIO_PIN(virtio_net_config, supported_hash_types, 20);
VIRTIO_SIZE(virtio_net_hdr, 10);
VIRTIO_PIN(virtio_net_hdr, gso_type, 1);
VIRTIO_PIN(virtio_net_hdr, hdr_len, 2);
VIRTIO_PIN(virtio_net_hdr, gso_size, 4);
VIRTIO_PIN(virtio_net_hdr, csum_start, 6);
VIRTIO_PIN(virtio_net_hdr, csum_offset, 8);
VIRTIO_SIZE(virtio_net_hdr_mrg_rxbuf, 12);
VIRTIO_PIN(virtio_net_hdr_mrg_rxbuf, num_buffers, 10);

VIRTIO_SIZE(virtio_input_absinfo, 20);
VIRTIO_SIZE(virtio_input_devids, 8);
VIRTIO_SIZE(virtio_input_config, 136);
VIRTIO_PIN(virtio_input_config, size, 2);
VIRTIO_PIN(virtio_input_config, u, 8);
VIRTIO_SIZE(virtio_input_event, 8);
VIRTIO_PIN(virtio_input_event, code, 2);
VIRTIO_PIN(virtio_input_event, value, 4);

VIRTIO_SIZE(virtio_snd_config, 12);
VIRTIO_PIN(virtio_snd_config, chmaps, 8);
VIRTIO_SIZE(virtio_snd_hdr, 4);
VIRTIO_SIZE(virtio_snd_event, 8);
VIRTIO_SIZE(virtio_snd_query_info, 16);
VIRTIO_PIN(virtio_snd_query_info, size, 12);
VIRTIO_SIZE(virtio_snd_info, 4);
VIRTIO_SIZE(virtio_snd_jack_info, 24);
VIRTIO_PIN(virtio_snd_jack_info, connected, 16);
VIRTIO_SIZE(virtio_snd_pcm_hdr, 8);
VIRTIO_SIZE(virtio_snd_pcm_info, 32);
VIRTIO_PIN(virtio_snd_pcm_info, formats, 8);
VIRTIO_PIN(virtio_snd_pcm_info, rates, 16);
VIRTIO_PIN(virtio_snd_pcm_info, direction, 24);
VIRTIO_PIN(virtio_snd_pcm_info, channels_max, 26);
VIRTIO_SIZE(virtio_snd_pcm_set_params, 24);
VIRTIO_PIN(virtio_snd_pcm_set_params, buffer_bytes, 8);
VIRTIO_PIN(virtio_snd_pcm_set_params, features, 16);
VIRTIO_PIN(virtio_snd_pcm_set_params, channels, 20);
VIRTIO_PIN(virtio_snd_pcm_set_params, rate, 22);
VIRTIO_SIZE(virtio_snd_pcm_xfer, 4);
VIRTIO_SIZE(virtio_snd_pcm_status, 8);
VIRTIO_SIZE(virtio_snd_chmap_info, 24);
VIRTIO_PIN(virtio_snd_chmap_info, positions, 6);

VIRTIO_PIN(virtio_pci_cap, cap_vndr, 0);
VIRTIO_PIN(virtio_pci_cap, cap_next, 1);
VIRTIO_PIN(virtio_pci_cap, cap_len, 2);
VIRTIO_PIN(virtio_pci_cap, padding, 6);
VIRTIO_PIN(virtio_pci_cap64, cap, 0);
VIRTIO_PIN(virtio_pci_notify_cap, cap, 0);
VIRTIO_PIN(virtio_pci_cfg_cap, cap, 0);
VIRTIO_PIN(virtio_pci_vndr_data, cap_vndr, 0);
VIRTIO_PIN(virtio_pci_vndr_data, cap_next, 1);
VIRTIO_PIN(virtio_pci_vndr_data, cap_len, 2);
VIRTIO_PIN(virtio_pci_vndr_data, cfg_type, 3);
VIRTIO_PIN(virtio_pci_common_cfg, device_feature_select, 0);
VIRTIO_PIN(virtq_desc, addr, 0);
VIRTIO_PIN(virtq_avail, flags, 0);
VIRTIO_PIN(virtq_used_elem, id, 0);
VIRTIO_PIN(virtq_used, flags, 0);
VIRTIO_PIN(virtio_blk_geometry, cylinders, 0);
VIRTIO_PIN(virtio_blk_geometry, heads, 2);
VIRTIO_PIN(virtio_blk_geometry, sectors, 3);
VIRTIO_PIN(virtio_blk_topology, physical_block_exp, 0);
VIRTIO_PIN(virtio_blk_topology, alignment_offset, 1);
VIRTIO_PIN(virtio_blk_topology, min_io_size, 2);
VIRTIO_PIN(virtio_blk_topology, opt_io_size, 4);
VIRTIO_PIN(virtio_blk_config, capacity, 0);
VIRTIO_PIN(virtio_blk_config, unused0, 33);
VIRTIO_PIN(virtio_blk_config, max_discard_seg, 40);
VIRTIO_PIN(virtio_blk_config, discard_sector_alignment, 44);
VIRTIO_PIN(virtio_blk_config, max_write_zeroes_seg, 52);
VIRTIO_PIN(virtio_blk_config, unused1, 57);
VIRTIO_PIN(virtio_blk_config, max_secure_erase_seg, 64);
VIRTIO_PIN(virtio_blk_req_hdr, type, 0);
VIRTIO_PIN(virtio_net_config, mac, 0);
VIRTIO_PIN(virtio_net_config, rss_max_key_size, 17);
VIRTIO_PIN(virtio_net_config, rss_max_indirection_table_length, 18);
VIRTIO_PIN(virtio_net_hdr, flags, 0);
VIRTIO_PIN(virtio_net_hdr_mrg_rxbuf, hdr, 0);
VIRTIO_PIN(virtio_input_absinfo, min, 0);
VIRTIO_PIN(virtio_input_absinfo, max, 4);
VIRTIO_PIN(virtio_input_absinfo, fuzz, 8);
VIRTIO_PIN(virtio_input_absinfo, flat, 12);
VIRTIO_PIN(virtio_input_absinfo, res, 16);
VIRTIO_PIN(virtio_input_devids, bustype, 0);
VIRTIO_PIN(virtio_input_devids, vendor, 2);
VIRTIO_PIN(virtio_input_devids, product, 4);
VIRTIO_PIN(virtio_input_devids, version, 6);
VIRTIO_PIN(virtio_input_config, select, 0);
VIRTIO_PIN(virtio_input_config, subsel, 1);
VIRTIO_PIN(virtio_input_config, reserved, 3);
VIRTIO_PIN(virtio_input_event, type, 0);
VIRTIO_PIN(virtio_snd_config, jacks, 0);
VIRTIO_PIN(virtio_snd_config, streams, 4);
VIRTIO_PIN(virtio_snd_hdr, code, 0);
VIRTIO_PIN(virtio_snd_event, hdr, 0);
VIRTIO_PIN(virtio_snd_event, data, 4);
VIRTIO_PIN(virtio_snd_query_info, hdr, 0);
VIRTIO_PIN(virtio_snd_query_info, start_id, 4);
VIRTIO_PIN(virtio_snd_query_info, count, 8);
VIRTIO_PIN(virtio_snd_info, hda_fn_nid, 0);
VIRTIO_PIN(virtio_snd_jack_info, hdr, 0);
VIRTIO_PIN(virtio_snd_jack_info, features, 4);
VIRTIO_PIN(virtio_snd_jack_info, hda_reg_defconf, 8);
VIRTIO_PIN(virtio_snd_jack_info, hda_reg_caps, 12);
VIRTIO_PIN(virtio_snd_jack_info, padding, 17);
VIRTIO_PIN(virtio_snd_pcm_hdr, hdr, 0);
VIRTIO_PIN(virtio_snd_pcm_hdr, stream_id, 4);
VIRTIO_PIN(virtio_snd_pcm_info, hdr, 0);
VIRTIO_PIN(virtio_snd_pcm_info, features, 4);
VIRTIO_PIN(virtio_snd_pcm_info, channels_min, 25);
VIRTIO_PIN(virtio_snd_pcm_info, padding, 27);
VIRTIO_PIN(virtio_snd_pcm_set_params, hdr, 0);
VIRTIO_PIN(virtio_snd_pcm_set_params, period_bytes, 12);
VIRTIO_PIN(virtio_snd_pcm_set_params, format, 21);
VIRTIO_PIN(virtio_snd_pcm_set_params, padding, 23);
VIRTIO_PIN(virtio_snd_pcm_xfer, stream_id, 0);
VIRTIO_PIN(virtio_snd_pcm_status, status, 0);
VIRTIO_PIN(virtio_snd_pcm_status, latency_bytes, 4);
VIRTIO_PIN(virtio_snd_chmap_info, hdr, 0);
VIRTIO_PIN(virtio_snd_chmap_info, direction, 4);
VIRTIO_PIN(virtio_snd_chmap_info, channels, 5);

#undef VIRTIO_PIN
#undef VIRTIO_SIZE

#endif
