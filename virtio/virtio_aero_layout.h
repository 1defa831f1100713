/*
 * virtio_aero_layout.h: the strict BAR layout of the Aero emulator's
 * virtio functions (AERO-W7-VIRTIO v1 contract, transport section), as a
 * check on top of the spec parser in virtio_pci_cap.h.
 *
 * The spec lets a device put its structures anywhere; Aero's Windows 7
 * drivers assume one fixed layout in BAR0 (64-bit MMIO, 0x4000 bytes):
 * common 0x0000 (>= 0x100), notify 0x1000 (>= 0x100, multiplier 4), ISR
 * 0x2000 (>= 0x20), device 0x3000 (>= 0x100).  QEMU's layout (BAR4,
 * device at 0x2000, notify at 0x3000) is valid virtio and fails here, on
 * purpose.  Pure; no state, no allocation: safe from any thread.
 */
#ifndef AEROFS_VIRTIO_VIRTIO_AERO_LAYOUT_H
#define AEROFS_VIRTIO_VIRTIO_AERO_LAYOUT_H

#include "virtio/virtio_pci_cap.h"

enum virtio_aero_layout_err {
	VIRTIO_AERO_LAYOUT_OK = 0,
	VIRTIO_AERO_LAYOUT_BAD_ARGUMENT,
	VIRTIO_AERO_LAYOUT_BAR0_MISSING,
	VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO,
	VIRTIO_AERO_LAYOUT_BAR0_TOO_SMALL, /* < 0x4000 or unknown */
	VIRTIO_AERO_LAYOUT_COMMON_MISMATCH,
	VIRTIO_AERO_LAYOUT_NOTIFY_MISMATCH,
	VIRTIO_AERO_LAYOUT_ISR_MISMATCH,
	VIRTIO_AERO_LAYOUT_DEVICE_MISMATCH,
	VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH,
};

#define VIRTIO_AERO_BAR0_MIN 0x4000

/* The bit of ERR in the mismatch set virtio_aero_layout_check() returns. */
#define VIRTIO_AERO_LAYOUT_BIT(err) (1u << (err))

/*
 * Checks CAPS (from a successful virtio_pci_cap_parse()) and BARS (six
 * entries, required here: the contract is about BAR0's type and size)
 * against the contract, and reports every mismatch, not only the first:
 *  - BAR0: missing; or present but not memory space (UNKNOWN space does
 *    not pass); or shorter than VIRTIO_AERO_BAR0_MIN (unknown length 0
 *    does not pass either);
 *  - each of common, notify, ISR and device: present, in BAR0, at exactly
 *    its offset, at least its minimum length and, when BAR0's length is
 *    known, inside BAR0.  Only `notify` (memory or unknown space) counts;
 *    an extra I/O notify is allowed;
 *  - notify_off_multiplier 4, checked when a notify region is present.
 * Not checked: that BAR0 is 64-bit and non-prefetchable, as the contract
 * also says; a hand-built BAR description may not know (look at
 * is_64bit and prefetchable of virtio_pci_bars_decode() for that).
 * Each region is checked even when BAR0 failed, so one call lists all
 * that a fix must touch.
 *
 * Returns VIRTIO_AERO_LAYOUT_OK, or the first mismatch in enum order (for
 * a one-line message).  MISMATCHES, if not NULL, receives the set of all
 * of them as VIRTIO_AERO_LAYOUT_BIT(err) bits (0 when OK;
 * BIT(BAD_ARGUMENT) alone for NULL CAPS or BARS).
 */
enum virtio_aero_layout_err virtio_aero_layout_check(
	const struct virtio_pci_caps *caps, const struct virtio_pci_bar *bars,
	unsigned *mismatches);

/* A static lower-case message for ERR, never NULL. */
const char *virtio_aero_layout_strerror(enum virtio_aero_layout_err err);

#endif
