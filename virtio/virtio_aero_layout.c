/*
 * virtio_aero_layout.c: the Aero fixed-layout check (see the header).
 * It only compares numbers the spec parser already validated; it reads no
 * config space itself.
 */
#include "virtio/virtio_aero_layout.h"

#include <stddef.h>

struct expect {
	uint32_t offset;
	uint32_t min_length;
	enum virtio_aero_layout_err err;
};

/* BAR0_LEN 0 = unknown: the BAR0 checks report that, not every region */
static bool region_ok(const struct virtio_pci_region *r, const struct expect *e,
		      uint64_t bar0_len)
{
	return r->present && r->bar == 0 && r->offset == e->offset &&
	       r->length >= e->min_length &&
	       (!bar0_len || (uint64_t)r->offset + r->length <= bar0_len);
}

enum virtio_aero_layout_err virtio_aero_layout_check(
	const struct virtio_pci_caps *caps, const struct virtio_pci_bar *bars,
	unsigned *mismatches)
{
	/* AERO-W7-VIRTIO v1 "Transport": one 0x1000 page per structure */
	static const struct expect common = {
		0x0000, 0x100, VIRTIO_AERO_LAYOUT_COMMON_MISMATCH
	};
	static const struct expect notify = {
		0x1000, 0x100, VIRTIO_AERO_LAYOUT_NOTIFY_MISMATCH
	};
	static const struct expect isr = { 0x2000, 0x20,
					   VIRTIO_AERO_LAYOUT_ISR_MISMATCH };
	static const struct expect device = {
		0x3000, 0x100, VIRTIO_AERO_LAYOUT_DEVICE_MISMATCH
	};
	struct {
		const struct virtio_pci_region *r;
		const struct expect *e;
	} checks[4];
	unsigned set = 0;
	uint64_t bar0_len;

	if (!caps || !bars) {
		if (mismatches)
			*mismatches = VIRTIO_AERO_LAYOUT_BIT(
				VIRTIO_AERO_LAYOUT_BAD_ARGUMENT);
		return VIRTIO_AERO_LAYOUT_BAD_ARGUMENT;
	}
	checks[0].r = &caps->common;
	checks[0].e = &common;
	checks[1].r = &caps->notify;
	checks[1].e = &notify;
	checks[2].r = &caps->isr;
	checks[2].e = &isr;
	checks[3].r = &caps->device;
	checks[3].e = &device;
	if (!bars[0].present) {
		set |= VIRTIO_AERO_LAYOUT_BIT(VIRTIO_AERO_LAYOUT_BAR0_MISSING);
	} else {
		if (bars[0].space != VIRTIO_PCI_SPACE_MEMORY)
			set |= VIRTIO_AERO_LAYOUT_BIT(
				VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO);
		if (bars[0].length < VIRTIO_AERO_BAR0_MIN)
			set |= VIRTIO_AERO_LAYOUT_BIT(
				VIRTIO_AERO_LAYOUT_BAR0_TOO_SMALL);
	}
	bar0_len = bars[0].present ? bars[0].length : 0;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!region_ok(checks[i].r, checks[i].e, bar0_len))
			set |= VIRTIO_AERO_LAYOUT_BIT(checks[i].e->err);
	/* notify_off = queue index, so queue q rings at 0x1000 + 4q */
	if (caps->notify.present && caps->notify.multiplier != 4)
		set |= VIRTIO_AERO_LAYOUT_BIT(
			VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH);
	if (mismatches)
		*mismatches = set;
	for (unsigned e = 0; e < 32; e++)
		if (set & VIRTIO_AERO_LAYOUT_BIT(e))
			return (enum virtio_aero_layout_err)e;
	return VIRTIO_AERO_LAYOUT_OK;
}

const char *virtio_aero_layout_strerror(enum virtio_aero_layout_err err)
{
	switch (err) {
	case VIRTIO_AERO_LAYOUT_OK:
		return "success";
	case VIRTIO_AERO_LAYOUT_BAD_ARGUMENT:
		return "bad argument";
	case VIRTIO_AERO_LAYOUT_BAR0_MISSING:
		return "bar0 missing";
	case VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO:
		return "bar0 is not memory space";
	case VIRTIO_AERO_LAYOUT_BAR0_TOO_SMALL:
		return "bar0 smaller than 0x4000 bytes";
	case VIRTIO_AERO_LAYOUT_COMMON_MISMATCH:
		return "common config not at bar0+0x0000 (>= 0x100 bytes)";
	case VIRTIO_AERO_LAYOUT_NOTIFY_MISMATCH:
		return "notify not at bar0+0x1000 (>= 0x100 bytes)";
	case VIRTIO_AERO_LAYOUT_ISR_MISMATCH:
		return "isr not at bar0+0x2000 (>= 0x20 bytes)";
	case VIRTIO_AERO_LAYOUT_DEVICE_MISMATCH:
		return "device config not at bar0+0x3000 (>= 0x100 bytes)";
	case VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH:
		return "notify_off_multiplier is not 4";
	}
	return "unknown error";
}
