/*
 * virtio_pci_cap.h: finds the virtio 1.x structures of a PCI function by
 * walking its capability list (virtio 1.2 §4.1.4, PCI 3.0 §6.7).
 *
 * Input is raw config space (usually 256 or 4096 bytes; at least the 64
 * byte header) and, optionally, what the caller knows about the six BARs.
 * Output is where the common, notify, ISR, device-specific and PCI-access
 * structures live.  Pure: no I/O, no allocation, no globals; safe to call
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
 *    memory space (or the first of all if BAR types are unknown) and
 *    `notify_io` the first in I/O space, because QEMU with
 *    modern-pio-notify=on lists its I/O notify before the memory one and
 *    a driver that only maps memory must still find the latter;
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

/* What the caller knows about one BAR (from sizing, or sysfs resource). */
struct virtio_pci_bar {
	bool present;		/* implemented and assigned */
	bool is_io;		/* I/O space; memory otherwise */
	uint64_t length;	/* bytes; 0 = unknown, no fit check */
};

/* One virtio structure found through a capability. */
struct virtio_pci_region {
	bool present;
	uint8_t bar;		/* 0..5 */
	uint8_t id;		/* the 1.2 cap id byte */
	uint8_t cap_len;
	uint16_t cap_offset;	/* where the capability is in config space */
	bool is_io;		/* BAR in I/O space (false if unknown) */
	uint32_t offset;	/* within the BAR */
	uint32_t length;
	uint32_t multiplier;	/* notify_off_multiplier, NOTIFY only */
};

/* Things the parser tolerated, as bits in virtio_pci_caps.anomalies. */
#define VIRTIO_PCI_ANOM_PTR_LOW_BITS 0x01	/* masked pointer bits */
#define VIRTIO_PCI_ANOM_DUPLICATE 0x02		/* later instance ignored */
#define VIRTIO_PCI_ANOM_RESERVED_TYPE 0x04	/* reserved cfg_type */
#define VIRTIO_PCI_ANOM_RESERVED_BAR 0x08	/* bar > 5 ignored */
#define VIRTIO_PCI_ANOM_ABSENT_BAR 0x10		/* BAR not present */
#define VIRTIO_PCI_ANOM_NO_DEVICE_CFG 0x20	/* no DEVICE structure */

struct virtio_pci_caps {
	struct virtio_pci_region common;
	struct virtio_pci_region notify;	/* memory (or unknown) */
	struct virtio_pci_region notify_io;	/* I/O space, if any */
	struct virtio_pci_region isr;
	struct virtio_pci_region device;	/* optional */
	struct virtio_pci_region pci_cfg;	/* only cap position/len */
	unsigned ncaps;		/* capabilities walked, all kinds */
	unsigned nvendor;	/* of which vendor-specific (0x09) */
	uint16_t msix_offset;	/* MSI-X capability position, 0 if none */
	unsigned anomalies;	/* VIRTIO_PCI_ANOM_* */
	uint16_t err_offset;	/* config offset the error is about */
};

enum virtio_pci_cap_err {
	VIRTIO_PCI_CAP_OK = 0,
	VIRTIO_PCI_CAP_BAD_ARGUMENT,
	VIRTIO_PCI_CAP_CFG_TOO_SMALL,		/* < 64 bytes */
	VIRTIO_PCI_CAP_NO_CAP_LIST,		/* status bit 4 or ptr 0 */
	VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE,	/* < 0x40 or past the end */
	VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE,
	VIRTIO_PCI_CAP_LIST_LOOP,
	VIRTIO_PCI_CAP_HEADER_TRUNCATED,	/* id/next/len/type cut off */
	VIRTIO_PCI_CAP_LEN_TOO_SMALL,		/* cap_len < 16 */
	VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL,	/* cap_len < 20 */
	VIRTIO_PCI_CAP_TRUNCATED,		/* runs past 0x100 / len */
	VIRTIO_PCI_CAP_OFFSET_UNALIGNED,
	VIRTIO_PCI_CAP_REGION_TOO_SMALL,
	VIRTIO_PCI_CAP_REGION_OVERFLOW,		/* end past 0xFFFFFFFF */
	VIRTIO_PCI_CAP_REGION_OUTSIDE_BAR,
	VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER,
	VIRTIO_PCI_CAP_REGION_OVERLAP,
	VIRTIO_PCI_CAP_MISSING_COMMON_CFG,	/* not a modern device */
	VIRTIO_PCI_CAP_MISSING_NOTIFY_CFG,
	VIRTIO_PCI_CAP_MISSING_ISR_CFG,
};

/*
 * Parses the capability list of CFG (LEN bytes, LEN >= 64; only the
 * first 256 bytes hold capabilities, PCI 3.0 §6.7).  BARS is NULL (BARs
 * unknown: all assumed present, space unknown, no fit check) or six
 * entries.  OUT is always fully written: on success with every region
 * found; on error with what was found before the failure, and
 * out->err_offset set to the capability (or pointer byte) at fault.
 * Returns VIRTIO_PCI_CAP_OK or the first problem found.
 */
enum virtio_pci_cap_err
virtio_pci_cap_parse(const uint8_t *cfg, size_t len,
		     const struct virtio_pci_bar *bars,
		     struct virtio_pci_caps *out);

/* A static lower-case message for ERR, never NULL. */
const char *virtio_pci_cap_strerror(enum virtio_pci_cap_err err);

/*
 * Where queue notifications for QUEUE_NOTIFY_OFF go (§4.1.4.4): the byte
 * offset in NOTIFY's BAR, checked so that the 2-byte write fits inside
 * the region (offset*multiplier + 2 <= length).  Returns 0, or -ERANGE.
 */
int virtio_pci_notify_offset(const struct virtio_pci_region *notify,
			     uint16_t queue_notify_off, uint64_t *bar_offset);

#endif
