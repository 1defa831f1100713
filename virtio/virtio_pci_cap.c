/*
 * virtio_pci_cap.c: the virtio PCI capability walker (virtio 1.2 §4.1.4).
 *
 * Reads only bytes it has bounds-checked against min(len, 256); every sum
 * of values from config space is done in 64 bits or checked.  It does not
 * look at extended capabilities (0x100+), MSI-X tables or the legacy I/O
 * header; see virtio_pci_cap.h for the rules and our deviations.
 */
#include "virtio/virtio_pci_cap.h"

#include <errno.h>
#include <string.h>

#include "virtio/virtio_spec.h"

/* PCI 3.0 §6.1, §6.7 */
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_STD_HEADER_SIZEOF 0x40
#define PCI_CFG_SPACE_SIZE 0x100
#define PCI_CAP_ID_MSIX 0x11
#define PCI_HEADER_TYPE 0x0E
#define PCI_HEADER_TYPE_MASK 0x7F
#define PCI_BASE_ADDRESS_0 0x10

/* PCI 3.0 §6.2.5.1: low bits of a base address register */
#define PCI_BAR_SPACE_IO 0x01
#define PCI_BAR_MEM_TYPE_MASK 0x06
#define PCI_BAR_MEM_TYPE_64 0x04
#define PCI_BAR_MEM_PREFETCH 0x08
#define PCI_BAR_IO_MASK 0xFFFFFFFCu
#define PCI_BAR_MEM_MASK 0xFFFFFFF0u

/* virtio_pci_cap field offsets (§4.1.4) */
#define CAP_LEN 2
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_ID 5
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16

struct region_rule {
	uint32_t align;	     /* offset alignment */
	uint32_t min_length; /* smallest usable structure */
};

/* Indexed by cfg_type 1..4 (Linux vp_modern_probe uses the same minima) */
static const struct region_rule rules[] = {
	[VIRTIO_PCI_CAP_COMMON_CFG] = { 4, VIRTIO_PCI_COMMON_CFG_MIN },
	[VIRTIO_PCI_CAP_NOTIFY_CFG] = { 2, 2 }, /* one le16 write */
	[VIRTIO_PCI_CAP_ISR_CFG] = { 1, 1 },
	[VIRTIO_PCI_CAP_DEVICE_CFG] = { 4, 1 },
};

/* Slot for a non-NOTIFY type; NOTIFY needs the BAR space first. */
static struct virtio_pci_region *slot_for(struct virtio_pci_caps *out,
					  unsigned type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		return &out->common;
	case VIRTIO_PCI_CAP_ISR_CFG:
		return &out->isr;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		return &out->device;
	default:
		return &out->pci_cfg;
	}
}

static enum virtio_pci_cap_err check_region(const struct virtio_pci_region *r,
					    unsigned type,
					    const struct virtio_pci_bar *bars)
{
	uint64_t end = (uint64_t)r->offset + r->length;

	if (r->offset % rules[type].align)
		return VIRTIO_PCI_CAP_OFFSET_UNALIGNED;
	if (r->length < rules[type].min_length)
		return VIRTIO_PCI_CAP_REGION_TOO_SMALL;
	/* offset and length are le32: the end must be addressable too */
	if (end > UINT32_MAX)
		return VIRTIO_PCI_CAP_REGION_OVERFLOW;
	if (bars && bars[r->bar].length && end > bars[r->bar].length)
		return VIRTIO_PCI_CAP_REGION_OUTSIDE_BAR;
	/*
	 * §4.1.4.4.1: "an even power of 2, or 0".  Read as a power of two
	 * >= 2, so that every queue's le16 notify address stays 2-aligned.
	 */
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && r->multiplier &&
	    (r->multiplier < 2 || (r->multiplier & (r->multiplier - 1))))
		return VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER;
	return VIRTIO_PCI_CAP_OK;
}

/*
 * True if a NOTIFY cap at CUR would only duplicate one already selected:
 * both spaces taken, or (BAR types unknown) the one slot taken, or the
 * slot of its BAR's space taken.  Looks at no more than the bar byte.
 */
static bool notify_taken(const uint8_t *cfg, size_t limit, size_t cur,
			 const struct virtio_pci_bar *bars,
			 const struct virtio_pci_caps *out)
{
	unsigned bar;

	if (cfg[cur + CAP_CFG_TYPE] != VIRTIO_PCI_CAP_NOTIFY_CFG)
		return false;
	if (!bars)
		return out->notify.present;
	if (out->notify.present && out->notify_io.present)
		return true;
	if (cur + CAP_BAR >= limit)
		return false;
	bar = cfg[cur + CAP_BAR];
	if (bar >= VIRTIO_PCI_NUM_BARS || !bars[bar].present)
		return false;
	return bars[bar].space == VIRTIO_PCI_SPACE_IO ? out->notify_io.present :
							out->notify.present;
}

/* One vendor-specific capability at CUR (its 2-byte header is in range). */
static enum virtio_pci_cap_err vendor_cap(const uint8_t *cfg, size_t limit,
					  size_t cur,
					  const struct virtio_pci_bar *bars,
					  struct virtio_pci_caps *out)
{
	struct virtio_pci_region r, *slot = NULL;
	unsigned cap_len, type, bar;
	enum virtio_pci_cap_err err;

	if (cur + 4 > limit)
		return VIRTIO_PCI_CAP_HEADER_TRUNCATED;
	cap_len = cfg[cur + CAP_LEN];
	type = cfg[cur + CAP_CFG_TYPE];
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
	case VIRTIO_PCI_CAP_ISR_CFG:
	case VIRTIO_PCI_CAP_DEVICE_CFG:
	case VIRTIO_PCI_CAP_PCI_CFG:
		slot = slot_for(out, type);
		break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		break;
	case VIRTIO_PCI_CAP_SHARED_MEMORY_CFG:
	case VIRTIO_PCI_CAP_VENDOR_CFG:
		return VIRTIO_PCI_CAP_OK; /* defined, not used here */
	default:
		/* §4.1.4.1: the driver MUST ignore a reserved cfg_type */
		out->anomalies |= VIRTIO_PCI_ANOM_RESERVED_TYPE;
		return VIRTIO_PCI_CAP_OK;
	}
	/* §4.1.4.1: first instance wins; later ones are never inspected */
	if ((slot && slot->present) ||
	    notify_taken(cfg, limit, cur, bars, out)) {
		out->anomalies |= VIRTIO_PCI_ANOM_DUPLICATE;
		return VIRTIO_PCI_CAP_OK;
	}
	if (cap_len < sizeof(struct virtio_pci_cap))
		return VIRTIO_PCI_CAP_LEN_TOO_SMALL;
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG &&
	    cap_len < sizeof(struct virtio_pci_notify_cap))
		return VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL;
	if (type == VIRTIO_PCI_CAP_PCI_CFG &&
	    cap_len < sizeof(struct virtio_pci_cfg_cap))
		return VIRTIO_PCI_CAP_LEN_TOO_SMALL;
	/* §4.1.4.1: a larger cap_len is fine, as long as it is all there */
	if (cur + cap_len > limit)
		return VIRTIO_PCI_CAP_TRUNCATED;

	memset(&r, 0, sizeof(r));
	r.present = true;
	r.cap_offset = (uint16_t)cur;
	r.cap_len = (uint8_t)cap_len;
	r.bar = cfg[cur + CAP_BAR];
	r.id = cfg[cur + CAP_ID];
	r.offset = virtio_le32(cfg + cur + CAP_OFFSET);
	r.length = virtio_le32(cfg + cur + CAP_LENGTH);
	if (type == VIRTIO_PCI_CAP_PCI_CFG) {
		/*
		 * §4.1.4.9: bar/offset/length here are a window the driver
		 * writes at run time, so they say nothing about the device.
		 */
		*slot = r;
		return VIRTIO_PCI_CAP_OK;
	}
	bar = r.bar;
	if (bar >= VIRTIO_PCI_NUM_BARS) {
		/* §4.1.4.1: the driver MUST ignore a reserved bar value */
		out->anomalies |= VIRTIO_PCI_ANOM_RESERVED_BAR;
		return VIRTIO_PCI_CAP_OK;
	}
	if (bars && !bars[bar].present) {
		out->anomalies |= VIRTIO_PCI_ANOM_ABSENT_BAR;
		return VIRTIO_PCI_CAP_OK;
	}
	r.space = bars ? bars[bar].space : VIRTIO_PCI_SPACE_UNKNOWN;
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		r.multiplier = virtio_le32(cfg + cur + CAP_NOTIFY_MULT);
		/* free: notify_taken() said so */
		slot = r.space == VIRTIO_PCI_SPACE_IO ? &out->notify_io :
							&out->notify;
	}
	err = check_region(&r, type, bars);
	if (err)
		return err;
	/* list order: the I/O one came first if memory is still empty */
	if (slot == &out->notify_io && !out->notify.present)
		out->notify_io_first = true;
	*slot = r;
	return VIRTIO_PCI_CAP_OK;
}

static bool overlap(const struct virtio_pci_region *a,
		    const struct virtio_pci_region *b)
{
	uint64_t a_end = (uint64_t)a->offset + a->length;
	uint64_t b_end = (uint64_t)b->offset + b->length;

	return a->present && b->present && a->bar == b->bar &&
	       a->offset < b_end && b->offset < a_end;
}

enum virtio_pci_cap_err virtio_pci_cap_parse(const uint8_t *cfg, size_t len,
					     const struct virtio_pci_bar *bars,
					     struct virtio_pci_caps *out)
{
	uint64_t visited = 0; /* one bit per dword of 0x00..0xFF */
	size_t limit, ptr;
	enum virtio_pci_cap_err err;

	if (!out)
		return VIRTIO_PCI_CAP_BAD_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (!cfg)
		return VIRTIO_PCI_CAP_BAD_ARGUMENT;
	if (len < PCI_STD_HEADER_SIZEOF)
		return VIRTIO_PCI_CAP_CFG_TOO_SMALL;
	/* PCI 3.0 §6.7: the list lives in the first 256 bytes */
	limit = len < PCI_CFG_SPACE_SIZE ? len : PCI_CFG_SPACE_SIZE;

	out->err_offset = PCI_STATUS;
	if (!(virtio_le16(cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return VIRTIO_PCI_CAP_NO_CAP_LIST;
	out->err_offset = PCI_CAPABILITY_LIST;
	ptr = cfg[PCI_CAPABILITY_LIST];
	/* PCI 3.0 §6.7: bits 1:0 are reserved, software masks them */
	if (ptr & 3)
		out->anomalies |= VIRTIO_PCI_ANOM_PTR_LOW_BITS;
	ptr &= ~(size_t)3;
	if (ptr == 0)
		return VIRTIO_PCI_CAP_NO_CAP_LIST;
	if (ptr < PCI_STD_HEADER_SIZEOF || ptr >= limit)
		return VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE;

	while (ptr) {
		size_t next;

		out->err_offset = (uint16_t)ptr;
		/* ptr < 256 and 4-aligned: 64 possible positions */
		if (visited & (uint64_t)1 << (ptr / 4))
			return VIRTIO_PCI_CAP_LIST_LOOP;
		visited |= (uint64_t)1 << (ptr / 4);
		if (ptr + 2 > limit)
			return VIRTIO_PCI_CAP_HEADER_TRUNCATED;
		out->ncaps++;
		/* the capability itself first, then where it points */
		if (cfg[ptr] == VIRTIO_PCI_CAP_VENDOR_ID) {
			out->nvendor++;
			err = vendor_cap(cfg, limit, ptr, bars, out);
			if (err)
				return err;
		} else if (cfg[ptr] == PCI_CAP_ID_MSIX && !out->msix_offset) {
			out->msix_offset = (uint16_t)ptr;
		}
		next = cfg[ptr + 1];
		if (next & 3)
			out->anomalies |= VIRTIO_PCI_ANOM_PTR_LOW_BITS;
		next &= ~(size_t)3;
		if (next && (next < PCI_STD_HEADER_SIZEOF || next >= limit))
			return VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE;
		ptr = next;
	}

	out->err_offset = 0;
	if (!out->common.present)
		return VIRTIO_PCI_CAP_MISSING_COMMON_CFG;
	if (!out->notify.present && !out->notify_io.present)
		return VIRTIO_PCI_CAP_MISSING_NOTIFY_CFG;
	if (!out->isr.present)
		return VIRTIO_PCI_CAP_MISSING_ISR_CFG;
	if (!out->device.present)
		out->anomalies |= VIRTIO_PCI_ANOM_NO_DEVICE_CFG;

	{
		const struct virtio_pci_region *regs[] = {
			&out->common, &out->notify, &out->notify_io,
			&out->isr,    &out->device,
		};
		const size_t n = sizeof(regs) / sizeof(regs[0]);

		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (overlap(regs[i], regs[j])) {
					out->err_offset = regs[j]->cap_offset;
					return VIRTIO_PCI_CAP_REGION_OVERLAP;
				}
	}
	return VIRTIO_PCI_CAP_OK;
}

const char *virtio_pci_cap_strerror(enum virtio_pci_cap_err err)
{
	switch (err) {
	case VIRTIO_PCI_CAP_OK:
		return "success";
	case VIRTIO_PCI_CAP_BAD_ARGUMENT:
		return "bad argument";
	case VIRTIO_PCI_CAP_CFG_TOO_SMALL:
		return "config space shorter than the 64-byte header";
	case VIRTIO_PCI_CAP_NO_CAP_LIST:
		return "no capability list";
	case VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE:
		return "capability pointer out of range";
	case VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE:
		return "next capability pointer out of range";
	case VIRTIO_PCI_CAP_LIST_LOOP:
		return "capability list loops";
	case VIRTIO_PCI_CAP_HEADER_TRUNCATED:
		return "capability header truncated";
	case VIRTIO_PCI_CAP_LEN_TOO_SMALL:
		return "virtio capability cap_len too small";
	case VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL:
		return "notify capability cap_len below 20";
	case VIRTIO_PCI_CAP_TRUNCATED:
		return "virtio capability runs past config space";
	case VIRTIO_PCI_CAP_OFFSET_UNALIGNED:
		return "virtio structure offset misaligned";
	case VIRTIO_PCI_CAP_REGION_TOO_SMALL:
		return "virtio structure length too small";
	case VIRTIO_PCI_CAP_REGION_OVERFLOW:
		return "virtio structure offset+length overflows 32 bits";
	case VIRTIO_PCI_CAP_REGION_OUTSIDE_BAR:
		return "virtio structure extends past its bar";
	case VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER:
		return "notify_off_multiplier not 0 or an even power of 2";
	case VIRTIO_PCI_CAP_REGION_OVERLAP:
		return "virtio structures overlap";
	case VIRTIO_PCI_CAP_MISSING_COMMON_CFG:
		return "no common config capability (not a modern device)";
	case VIRTIO_PCI_CAP_MISSING_NOTIFY_CFG:
		return "no notify capability";
	case VIRTIO_PCI_CAP_MISSING_ISR_CFG:
		return "no isr capability";
	}
	return "unknown error";
}

const struct virtio_pci_region *virtio_pci_notify_select(
	const struct virtio_pci_caps *caps, bool use_memory, bool use_io)
{
	const struct virtio_pci_region *mem, *io;

	if (!caps)
		return NULL;
	mem = &caps->notify;
	io = &caps->notify_io;
	/* UNKNOWN space: the caller cannot tell either, so it may try it */
	if (!mem->present ||
	    (mem->space == VIRTIO_PCI_SPACE_MEMORY && !use_memory))
		mem = NULL;
	if (!io->present || !use_io)
		io = NULL;
	if (mem && io)
		return caps->notify_io_first ? io : mem;
	return mem ? mem : io;
}

int virtio_pci_bars_decode(const uint8_t *cfg, size_t len,
			   struct virtio_pci_bar bars[VIRTIO_PCI_NUM_BARS])
{
	unsigned nbars;

	if (!bars)
		return -EINVAL;
	memset(bars, 0, sizeof(*bars) * VIRTIO_PCI_NUM_BARS);
	if (!cfg || len <= PCI_HEADER_TYPE)
		return -EINVAL;
	/* PCI 3.0 §6.1: type 0 has six BARs, a PCI-to-PCI bridge two */
	switch (cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) {
	case 0:
		nbars = 6;
		break;
	case 1:
		nbars = 2;
		break;
	default:
		return -ENOTSUP;
	}
	if (len < PCI_BASE_ADDRESS_0 + 4 * (size_t)nbars)
		return -EINVAL;
	for (unsigned i = 0; i < nbars; i++) {
		struct virtio_pci_bar *b = &bars[i];
		uint32_t lo = virtio_le32(cfg + PCI_BASE_ADDRESS_0 + 4 * i);

		if (b->upper_half || lo == 0)
			continue; /* consumed, or unimplemented */
		b->present = true;
		if (lo & PCI_BAR_SPACE_IO) {
			b->space = VIRTIO_PCI_SPACE_IO;
			b->base = lo & PCI_BAR_IO_MASK;
			continue;
		}
		b->space = VIRTIO_PCI_SPACE_MEMORY;
		b->prefetchable = (lo & PCI_BAR_MEM_PREFETCH) != 0;
		b->base = lo & PCI_BAR_MEM_MASK;
		/* 01b (PCI 2.x "below 1 MiB") and 11b decode as 32-bit */
		if ((lo & PCI_BAR_MEM_TYPE_MASK) != PCI_BAR_MEM_TYPE_64)
			continue;
		if (i + 1 == nbars) {
			/* no slot left for the upper half */
			memset(b, 0, sizeof(*b));
			return -ERANGE;
		}
		b->is_64bit = true;
		b->base |= (uint64_t)virtio_le32(cfg + PCI_BASE_ADDRESS_0 +
						 4 * (i + 1))
			   << 32;
		bars[i + 1].upper_half = true;
	}
	return 0;
}

int virtio_pci_notify_offset(const struct virtio_pci_region *notify,
			     uint16_t queue_notify_off, uint64_t *bar_offset)
{
	uint64_t rel;

	if (!notify || !notify->present || !bar_offset)
		return -EINVAL;
	/* §4.1.4.4: cap.offset + queue_notify_off * notify_off_multiplier */
	rel = (uint64_t)queue_notify_off * notify->multiplier;
	/* §4.1.4.4.1: length >= queue_notify_off * multiplier + 2 */
	if (rel + 2 > notify->length)
		return -ERANGE;
	*bar_offset = notify->offset + rel;
	return 0;
}
