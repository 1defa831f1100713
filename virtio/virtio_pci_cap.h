/*
 * virtio_pci_cap.h: finds the virtio 1.x structures of a PCI function by
 * walking its capability list (virtio 1.2 §4.1.4, PCI 3.0 §6.7).
 *
 * Input is raw config space (usually 256 or 4096 bytes; at least the 64
 * byte header) and, optionally, what the caller knows about the six BARs.
 * Output is where the common, notify, ISR, device-specific and PCI-access
 * structures live.  virtio_pci_bars_decode() turns the BAR registers of
 * the same bytes into that BAR description, so callers need not decode
 * BAR flag bits themselves.  Pure: no I/O, no allocation, no globals; safe to call
 * from any thread on any bytes.
 *
 * Driver rules applied (§4.1.4.1), and where we differ from the Aero
 * reference parser (virtio_pci_cap_parser.c):
 *  - the FIRST usable instance of each cfg_type wins, later ones are
 *    ignored without being checked (the reference keeps the largest and
 *    fails on a malformed later duplicate; the spec says devices order
 *    structures by preference and drivers SHOULD use the first, as Linux
 *    does);
 *  - an instance whose bar is reserved (> 5) is ignored, as the spec says
 *    MUST (the reference fails);  so is one whose BAR the caller reports
 *    absent (Linux does the same);
 *  - reserved cfg_type values are ignored; a larger cap_len is accepted;
 *  - the two low bits of the capability pointers are masked as PCI 3.0
 *    §6.7 tells software to (the reference rejects them; Linux masks);
 *    it is recorded in `anomalies` so a validator can still flag it;
 *  - NOTIFY is selected per address space: `notify` is the first in
 *    memory space (or the first of all when the BAR's space is unknown)
 *    and `notify_io` the first in I/O space, and `notify_io_first` says
 *    which of the two the device listed first.  QEMU with
 *    modern-pio-notify=on lists its I/O notify before the memory one; a
 *    driver that maps both uses the first (§4.1.4.1: "the first instance
 *    of each virtio structure type they can support"), one that maps only
 *    memory still finds the other: see virtio_pci_notify_select();
 *  - DEVICE is optional (§4.1.4.6: only for devices with device config);
 *    COMMON, NOTIFY and ISR are required.
 * Checks the reference lacks: offset alignment (common 4, notify 2,
 * device 4: §4.1.4.3.1, 4.1.4.4.1, 4.1.4.6.1), minimum lengths (common 56,
 * notify 2, isr 1, device 1), u32 wrap of offset+length, fit inside the
 * BAR when its length is known, notify_off_multiplier 0 or an even power
 * of two, and overlap between the selected regions of one BAR.
 */
#ifndef AEROFS_VIRTIO_VIRTIO_PCI_CAP_H
#define AEROFS_VIRTIO_VIRTIO_PCI_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_PCI_NUM_BARS 6

/* The address space a BAR decodes (PCI 3.0 §6.2.5.1, bit 0 of the BAR). */
enum virtio_pci_space {
	VIRTIO_PCI_SPACE_UNKNOWN = 0, /* the caller did not say */
	VIRTIO_PCI_SPACE_MEMORY,
	VIRTIO_PCI_SPACE_IO,
};

/*
 * What is known about one BAR slot.  virtio_pci_bars_decode() fills all
 * but `length` from config space; a caller that knows sizes (BAR sizing,
 * or Linux sysfs "resource") adds `length`.  A caller building it by hand
 * sets what it knows and leaves the rest zero.
 */
struct virtio_pci_bar {
	bool present; /* implemented: the register is not 0 */
	enum virtio_pci_space space;
	bool is_64bit;	   /* memory BAR whose upper half is the next slot */
	bool prefetchable; /* memory BAR, bit 3 */
	bool upper_half;   /* this slot is the upper dword of the BAR
				 * before it, not a BAR: never present */
	uint64_t base;	   /* address as programmed, 0 if unassigned */
	uint64_t length;   /* bytes; 0 = unknown, no fit check */
};

/*
 * Decodes the base address registers of a type 0 header (six slots,
 * 0x10..0x27) or a type 1 bridge header (two slots; the other four are
 * written absent) from the first LEN bytes of config space CFG into BARS
 * (six entries, always fully written; `length` is 0 = unknown: config
 * space alone cannot size a BAR, PCI 3.0 §6.2.5.1 sizes by writing ones).
 *
 * Per slot: bit 0 set is I/O space (base = bits 31:2); otherwise memory,
 * bits 2:1 = 10b a 64-bit BAR whose upper 32 address bits are the next
 * slot (marked `upper_half`), bit 3 prefetchable, base = bits 31:4.  A
 * register that reads 0 is an unimplemented BAR (absent); note that an
 * unassigned 32-bit memory BAR also reads 0 and so looks absent too.
 *
 * Returns 0; -EINVAL for NULL arguments or LEN too short for the
 * header's BARs; -ENOTSUP for a header type other than 0 or 1 (all six
 * written absent); -ERANGE if the last slot claims to be 64-bit (it is
 * written absent, the slots before it are decoded).
 */
int virtio_pci_bars_decode(const uint8_t *cfg, size_t len,
			   struct virtio_pci_bar bars[VIRTIO_PCI_NUM_BARS]);

/* One virtio structure found through a capability. */
struct virtio_pci_region {
	bool present;
	uint8_t bar; /* 0..5 */
	uint8_t id;  /* the 1.2 cap id byte */
	uint8_t cap_len;
	uint16_t cap_offset; /* where the capability is in config space */
	enum virtio_pci_space space; /* of its BAR; UNKNOWN without BARS */
	uint32_t offset;	     /* within the BAR */
	uint32_t length;
	uint32_t multiplier; /* notify_off_multiplier, NOTIFY only */
};

/* Things the parser tolerated, as bits in virtio_pci_caps.anomalies. */
#define VIRTIO_PCI_ANOM_PTR_LOW_BITS 0x01  /* masked pointer bits */
#define VIRTIO_PCI_ANOM_DUPLICATE 0x02	   /* later instance ignored */
#define VIRTIO_PCI_ANOM_RESERVED_TYPE 0x04 /* reserved cfg_type */
#define VIRTIO_PCI_ANOM_RESERVED_BAR 0x08  /* bar > 5 ignored */
#define VIRTIO_PCI_ANOM_ABSENT_BAR 0x10	   /* BAR not present */
#define VIRTIO_PCI_ANOM_NO_DEVICE_CFG 0x20 /* no DEVICE structure */

struct virtio_pci_caps {
	struct virtio_pci_region common;
	struct virtio_pci_region notify;    /* memory or unknown space */
	struct virtio_pci_region notify_io; /* I/O space */
	bool notify_io_first; /* notify_io is listed before notify (or
				 * notify is absent): the device prefers it */
	struct virtio_pci_region isr;
	struct virtio_pci_region device;  /* optional */
	struct virtio_pci_region pci_cfg; /* only cap position/len */
	unsigned ncaps;			  /* capabilities walked, all kinds */
	unsigned nvendor;		  /* of which vendor-specific (0x09) */
	uint16_t msix_offset; /* MSI-X capability position, 0 if none */
	unsigned anomalies;   /* VIRTIO_PCI_ANOM_* */
	uint16_t err_offset;  /* config offset the error is about */
};

enum virtio_pci_cap_err {
	VIRTIO_PCI_CAP_OK = 0,
	VIRTIO_PCI_CAP_BAD_ARGUMENT,
	VIRTIO_PCI_CAP_CFG_TOO_SMALL,	 /* < 64 bytes */
	VIRTIO_PCI_CAP_NO_CAP_LIST,	 /* status bit 4 or ptr 0 */
	VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE, /* < 0x40 or past the end */
	VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE,
	VIRTIO_PCI_CAP_LIST_LOOP,
	VIRTIO_PCI_CAP_HEADER_TRUNCATED,     /* id/next/len/type cut off */
	VIRTIO_PCI_CAP_LEN_TOO_SMALL,	     /* cap_len < 16 */
	VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL, /* cap_len < 20 */
	VIRTIO_PCI_CAP_TRUNCATED,	     /* runs past 0x100 / len */
	VIRTIO_PCI_CAP_OFFSET_UNALIGNED,
	VIRTIO_PCI_CAP_REGION_TOO_SMALL,
	VIRTIO_PCI_CAP_REGION_OVERFLOW, /* end past 0xFFFFFFFF */
	VIRTIO_PCI_CAP_REGION_OUTSIDE_BAR,
	VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER,
	VIRTIO_PCI_CAP_REGION_OVERLAP,
	VIRTIO_PCI_CAP_MISSING_COMMON_CFG, /* not a modern device */
	VIRTIO_PCI_CAP_MISSING_NOTIFY_CFG,
	VIRTIO_PCI_CAP_MISSING_ISR_CFG,
};

/*
 * Parses the capability list of CFG (LEN bytes, LEN >= 64; only the
 * first 256 bytes hold capabilities, PCI 3.0 §6.7).  BARS is NULL (BARs
 * unknown: all assumed present, space unknown, no fit check) or six
 * entries, e.g. from virtio_pci_bars_decode() plus sizes.  OUT is always
 * fully written: on success with every region found; on error with what
 * was found before the failure, and out->err_offset set to the
 * capability (or pointer byte) at fault.
 * Returns VIRTIO_PCI_CAP_OK or the first problem found.
 */
enum virtio_pci_cap_err virtio_pci_cap_parse(const uint8_t *cfg, size_t len,
					     const struct virtio_pci_bar *bars,
					     struct virtio_pci_caps *out);

/* A static lower-case message for ERR, never NULL. */
const char *virtio_pci_cap_strerror(enum virtio_pci_cap_err err);

/*
 * The NOTIFY region a driver uses (§4.1.4.1: the first instance it can
 * support, in capability-list order), given whether it can access memory
 * and I/O space.  A region whose space is UNKNOWN (no BARS were given)
 * counts as usable by either.  Returns a pointer into CAPS, or NULL if no
 * usable NOTIFY region was found or CAPS is NULL.
 */
const struct virtio_pci_region *virtio_pci_notify_select(
	const struct virtio_pci_caps *caps, bool use_memory, bool use_io);

/*
 * Where queue notifications for QUEUE_NOTIFY_OFF go (§4.1.4.4): the byte
 * offset in NOTIFY's BAR, checked so that the 2-byte write fits inside
 * the region (offset*multiplier + 2 <= length).  Returns 0, or -ERANGE.
 */
int virtio_pci_notify_offset(const struct virtio_pci_region *notify,
			     uint16_t queue_notify_off, uint64_t *bar_offset);

#endif
