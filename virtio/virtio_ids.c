/*
 * virtio_ids.c: virtio PCI identity (virtio 1.2 §4.1.2), the device type
 * names (§5), Windows PCI hardware ids ("Identifiers for PCI Devices" in
 * the Windows driver docs) and the Aero emulator's device table.
 *
 * Identity is read from raw config space bytes with the PCI 3.0 §6.1
 * offsets; nothing here touches hardware or allocates.  Hardware ids are
 * compared the way PnP does: whole strings, case-insensitive.
 */
#include "virtio/virtio_ids.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/virtio_spec.h"

/* PCI 3.0 §6.1: type 0 header offsets */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID 0x2E

/* virtio 1.2 §4.1.2.1 */
#define VIRTIO_PCI_TRANSITIONAL_FIRST 0x1000
#define VIRTIO_PCI_TRANSITIONAL_LAST 0x103F
#define VIRTIO_PCI_MODERN_FIRST 0x1040
#define VIRTIO_PCI_MODERN_LAST 0x107F

/* virtio 1.2 §5 "Device Types"; gaps are reserved ids */
static const char *const type_names[] = {
	[1] = "net",
	[2] = "block",
	[3] = "console",
	[4] = "rng",
	[5] = "balloon",
	[6] = "iomemory",
	[7] = "rpmsg",
	[8] = "scsi",
	[9] = "9p",
	[10] = "mac80211-wlan",
	[11] = "rproc-serial",
	[12] = "caif",
	[13] = "memory-balloon",
	[16] = "gpu",
	[17] = "clock",
	[18] = "input",
	[19] = "vsock",
	[20] = "crypto",
	[21] = "signal-dist",
	[22] = "pstore",
	[23] = "iommu",
	[24] = "mem",
	[25] = "sound",
	[26] = "fs",
	[27] = "pmem",
	[28] = "rpmb",
	[29] = "mac80211-hwsim",
	[30] = "video-encoder",
	[31] = "video-decoder",
	[32] = "scmi",
	[33] = "nitro-sec-mod",
	[34] = "i2c-adapter",
	[35] = "watchdog",
	[36] = "can",
	[38] = "param-server",
	[39] = "audio-policy",
	[40] = "bluetooth",
	[41] = "gpio",
	[42] = "rdma",
};

const char *virtio_device_type_name(int type)
{
	if (type <= 0 ||
	    (size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[type];
}

int virtio_pci_identity_read(const uint8_t *cfg, size_t len,
			     struct virtio_pci_identity *id)
{
	if (!cfg || !id || len < PCI_SUBSYSTEM_ID + 2)
		return -EINVAL;
	memset(id, 0, sizeof(*id));
	id->vendor = virtio_le16(cfg + PCI_VENDOR_ID);
	id->device = virtio_le16(cfg + PCI_DEVICE_ID);
	id->revision = cfg[PCI_REVISION_ID];
	/* PCI 3.0 §6.2.1: prog-if 09h, sub-class 0Ah, base class 0Bh */
	id->class_code = (uint32_t)cfg[PCI_CLASS_PROG + 2] << 16 |
			 (uint32_t)cfg[PCI_CLASS_PROG + 1] << 8 |
			 cfg[PCI_CLASS_PROG];
	id->subsys_vendor = virtio_le16(cfg + PCI_SUBSYSTEM_VENDOR_ID);
	id->subsys = virtio_le16(cfg + PCI_SUBSYSTEM_ID);
	return 0;
}

bool virtio_pci_is_modern(const struct virtio_pci_identity *id)
{
	return id && id->vendor == VIRTIO_PCI_VENDOR &&
	       id->device >= VIRTIO_PCI_MODERN_FIRST &&
	       id->device <= VIRTIO_PCI_MODERN_LAST;
}

int virtio_pci_device_type(const struct virtio_pci_identity *id)
{
	if (!id || id->vendor != VIRTIO_PCI_VENDOR)
		return -ENODEV;
	if (virtio_pci_is_modern(id)) {
		/* §4.1.2: 0x1040 itself would be type 0, which is reserved */
		if (id->device == VIRTIO_PCI_MODERN_FIRST)
			return -ENODEV;
		return id->device - VIRTIO_PCI_MODERN_FIRST;
	}
	if (id->device >= VIRTIO_PCI_TRANSITIONAL_FIRST &&
	    id->device <= VIRTIO_PCI_TRANSITIONAL_LAST) {
		/*
		 * §4.1.2.1: a transitional device's subsystem id is its
		 * virtio type; Linux trusts it the same way.
		 */
		if (id->subsys == 0)
			return -ENODEV;
		return id->subsys;
	}
	return -ENODEV;
}

/* ---- hardware ids ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims blanks around S; returns the start and stores the length. */
static const char *trim(const char *s, size_t *len)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	*len = n;
	return s;
}

static bool prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

/* Exactly DIGITS hex digits at S, ending at END or '&'. */
static bool hex_field(const char *s, const char *end, unsigned digits,
		      uint32_t *out)
{
	uint32_t v = 0;

	if ((size_t)(end - s) < digits)
		return false;
	for (unsigned i = 0; i < digits; i++) {
		int c = (unsigned char)s[i];

		if (!isxdigit(c))
			return false;
		v = v << 4 |
		    (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	if (s + digits != end && s[digits] != '&')
		return false;
	*out = v;
	return true;
}

int virtio_hwid_parse(const char *str, struct virtio_hwid *out)
{
	/* Field order Windows uses; each may appear once, in this order. */
	static const struct {
		const char *key;
		unsigned digits;
	} fields[] = {
		{ "DEV_", 4 },
		{ "SUBSYS_", 8 },
		{ "REV_", 2 },
		{ "CC_", 6 },
	};
	const char *s, *end;
	size_t len;
	unsigned next = 0;
	uint32_t v;

	if (!str || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	s = trim(str, &len);
	end = s + len;
	if (!prefix_ci(s, len, "PCI\\VEN_"))
		return -EINVAL;
	s += strlen("PCI\\VEN_");
	if (!hex_field(s, end, 4, &v))
		return -EINVAL;
	out->vendor = (uint16_t)v;
	s += 4;
	while (s < end) {
		unsigned f, digits;

		s++; /* the '&' hex_field() saw */
		for (f = next; f < 4; f++)
			if (prefix_ci(s, (size_t)(end - s), fields[f].key))
				break;
		if (f == 4)
			return -EINVAL;
		s += strlen(fields[f].key);
		digits = fields[f].digits;
		/* CC_ takes base+sub (4 digits) or base+sub+prog-if (6) */
		if (f == 3 && !hex_field(s, end, 6, &v)) {
			if (!hex_field(s, end, 4, &v))
				return -EINVAL;
			digits = 4;
		} else if (f != 3 && !hex_field(s, end, digits, &v)) {
			return -EINVAL;
		}
		switch (f) {
		case 0:
			out->has_device = true;
			out->device = (uint16_t)v;
			break;
		case 1:
			out->has_subsys = true;
			out->subsys = v;
			break;
		case 2:
			out->has_revision = true;
			out->revision = (uint8_t)v;
			break;
		default:
			out->has_class = true;
			out->class_code = v;
			out->class_digits = digits;
			break;
		}
		s += digits;
		next = f + 1;
	}
	/* SUBSYS and REV qualify a device id; alone they name nothing */
	if ((out->has_subsys || out->has_revision) && !out->has_device)
		return -EINVAL;
	return 0;
}

int virtio_hwid_format(const struct virtio_hwid *h, char *buf, size_t size)
{
	char tmp[VIRTIO_HWID_MAX];
	size_t n;

	if (!h || (!buf && size))
		return -EINVAL;
	if (h->has_class && h->class_digits != 4 && h->class_digits != 6)
		return -EINVAL;
	n = (size_t)snprintf(tmp, sizeof(tmp), "PCI\\VEN_%04X", h->vendor);
	if (h->has_device)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "&DEV_%04X",
				      h->device);
	if (h->has_subsys)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "&SUBSYS_%08X",
				      h->subsys);
	if (h->has_revision)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "&REV_%02X",
				      h->revision);
	if (h->has_class)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "&CC_%0*X",
				      (int)h->class_digits,
				      h->class_code & (h->class_digits == 4 ?
							       0xFFFFu :
							       0xFFFFFFu));
	if (n + 1 > size)
		return -ENOSPC;
	memcpy(buf, tmp, n + 1);
	return (int)n;
}

/*
 * The list the Windows PCI bus driver reports: hardware ids then the
 * compatible ids not already in it, from most to least specific.  The
 * last two (class only) have no vendor and so no struct virtio_hwid form.
 */
#define HWID_COUNT VIRTIO_HWID_LIST_MAX

size_t virtio_hwid_list(const struct virtio_pci_identity *id,
			char ids[][VIRTIO_HWID_MAX], size_t max)
{
	struct virtio_hwid forms[HWID_COUNT - 2];
	uint32_t subsys, cc6, cc4;
	size_t i, k = 0;

	if (!id || !max || !ids)
		return 0;
	subsys = (uint32_t)id->subsys << 16 | id->subsys_vendor;
	cc6 = id->class_code & 0xFFFFFF;
	cc4 = cc6 >> 8;
	memset(forms, 0, sizeof(forms));
	for (i = 0; i < HWID_COUNT - 2; i++)
		forms[i].vendor = id->vendor;
	/* VEN&DEV&SUBSYS&REV, VEN&DEV&SUBSYS, VEN&DEV&REV, VEN&DEV */
	for (i = 0; i < 4; i++) {
		forms[i].has_device = true;
		forms[i].device = id->device;
	}
	forms[0].has_subsys = forms[1].has_subsys = true;
	forms[0].subsys = forms[1].subsys = subsys;
	forms[0].has_revision = forms[2].has_revision = true;
	forms[0].revision = forms[2].revision = id->revision;
	/* VEN&DEV&CC_6, VEN&DEV&CC_4, VEN&CC_6, VEN&CC_4, VEN */
	forms[4].has_device = forms[5].has_device = true;
	forms[4].device = forms[5].device = id->device;
	for (i = 4; i < 8; i++) {
		forms[i].has_class = true;
		forms[i].class_digits = i % 2 ? 4 : 6;
		forms[i].class_code = i % 2 ? cc4 : cc6;
	}
	for (i = 0; i < HWID_COUNT - 2 && k < max; i++, k++)
		virtio_hwid_format(&forms[i], ids[k], VIRTIO_HWID_MAX);
	if (k < max)
		snprintf(ids[k++], VIRTIO_HWID_MAX, "PCI\\CC_%06X", cc6);
	if (k < max)
		snprintf(ids[k++], VIRTIO_HWID_MAX, "PCI\\CC_%04X", cc4);
	return k;
}

bool virtio_hwid_binds(const char *hwid, const struct virtio_pci_identity *id)
{
	char ids[HWID_COUNT][VIRTIO_HWID_MAX];
	const char *s;
	size_t len, n;

	if (!hwid || !id)
		return false;
	s = trim(hwid, &len);
	n = virtio_hwid_list(id, ids, HWID_COUNT);
	for (size_t i = 0; i < n; i++)
		if (strlen(ids[i]) == len && strncasecmp(ids[i], s, len) == 0)
			return true;
	return false;
}

/* ---- the Aero emulator (AERO-W7-VIRTIO v1 contract) ---- */

#define AERO_DEV(nm, drv, dev, ss, cc)                                         \
	{                                                                      \
		.name = nm, .driver = drv,                                     \
		.id = { .vendor = VIRTIO_PCI_VENDOR,                           \
			.device = dev,                                         \
			.subsys_vendor = VIRTIO_PCI_VENDOR,                    \
			.subsys = ss,                                          \
			.revision = 0x01,                                      \
			.class_code = cc },                                    \
	}

/*
 * Contract §1: modern ids only, REV_01 as the contract major version,
 * subsystem id = device role.  The subsystem ids are below 0x40, which
 * §4.1.2 says non-transitional devices SHOULD NOT use (OVMF's
 * Virtio10Dxe refuses them); that is Aero's choice, recorded as is.
 */
static const struct virtio_aero_device aero_devices[] = {
	AERO_DEV("virtio-net", "netkvm", 0x1041, 0x0001, 0x020000),
	AERO_DEV("virtio-blk", "viostor", 0x1042, 0x0002, 0x010000),
	AERO_DEV("virtio-keyboard", "vioinput", 0x1052, 0x0010, 0x098000),
	AERO_DEV("virtio-mouse", "vioinput", 0x1052, 0x0011, 0x098000),
	AERO_DEV("virtio-tablet", "vioinput", 0x1052, 0x0012, 0x098000),
	AERO_DEV("virtio-snd", "viosnd", 0x1059, 0x0019, 0x040100),
};

const struct virtio_aero_device *virtio_aero_devices(size_t *n)
{
	if (n)
		*n = sizeof(aero_devices) / sizeof(aero_devices[0]);
	return aero_devices;
}

const struct virtio_aero_device *virtio_aero_device_find(
	const struct virtio_pci_identity *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < sizeof(aero_devices) / sizeof(aero_devices[0]);
	     i++) {
		const struct virtio_pci_identity *a = &aero_devices[i].id;

		if (a->vendor == id->vendor && a->device == id->device &&
		    a->subsys_vendor == id->subsys_vendor &&
		    a->subsys == id->subsys && a->revision == id->revision)
			return &aero_devices[i];
	}
	return NULL;
}
