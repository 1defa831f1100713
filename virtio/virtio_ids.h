/*
 * virtio_ids.h: virtio device identity on PCI, and the Windows hardware-id
 * strings that bind drivers to it.
 *
 * Vendor 0x1AF4.  Transitional devices use device ids 0x1000..0x103F and
 * take their virtio type from the subsystem id; modern devices use
 * 0x1040..0x107F with type = id - 0x1040 (virtio 1.2 §4.1.2).
 *
 * A hardware id is what Windows matches INF model lines against, e.g.
 * "PCI\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01".  A device presents a
 * list of them, most specific first (see virtio_hwid_list()); an INF model
 * binds if any of its ids equals any id in that list (case-insensitive).
 *
 * Transitional ids of the spec's table (§4.1.2.1: 0x1000 net, 0x1001
 * block, 0x1002 balloon, 0x1003 console, 0x1004 SCSI, 0x1005 entropy,
 * 0x1009 9P) and vendor conventions beyond it (Aero's 0x1000 + type - 1)
 * are all read through the subsystem id, as Linux does.
 *
 * Errors are negative errno values.  Every function is pure on its
 * arguments (no allocation, no globals); the Aero table is static and
 * read-only.  All of it is safe to call from any thread.  Depends on
 * nothing outside libc.
 */
#ifndef AEROFS_VIRTIO_VIRTIO_IDS_H
#define AEROFS_VIRTIO_VIRTIO_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_PCI_VENDOR 0x1AF4

/* Device types (virtio 1.2 §5). */
enum virtio_device_type {
	VIRTIO_ID_NET = 1,
	VIRTIO_ID_BLOCK = 2,
	VIRTIO_ID_CONSOLE = 3,
	VIRTIO_ID_RNG = 4,
	VIRTIO_ID_BALLOON = 5,
	VIRTIO_ID_SCSI = 8,
	VIRTIO_ID_9P = 9,
	VIRTIO_ID_GPU = 16,
	VIRTIO_ID_INPUT = 18,
	VIRTIO_ID_VSOCK = 19,
	VIRTIO_ID_CRYPTO = 20,
	VIRTIO_ID_IOMMU = 23,
	VIRTIO_ID_MEM = 24,
	VIRTIO_ID_SOUND = 25,
	VIRTIO_ID_FS = 26,
	VIRTIO_ID_PMEM = 27,
};

/*
 * Name of a device type ("block", "net"...), NULL if TYPE is reserved,
 * unknown or not positive.  Takes what virtio_pci_device_type() returns,
 * so its -ENODEV gives NULL too.
 */
const char *virtio_device_type_name(int type);

/* What a PCI function says about itself in config space. */
struct virtio_pci_identity {
	uint16_t vendor;
	uint16_t device;
	uint16_t subsys_vendor;
	uint16_t subsys;
	uint8_t revision;
	uint32_t class_code; /* base << 16 | sub << 8 | prog-if */
};

/*
 * Reads the identity from the first LEN bytes of config space.  Returns 0,
 * or -EINVAL if LEN < 0x30 (no subsystem ids).
 */
int virtio_pci_identity_read(const uint8_t *cfg, size_t len,
			     struct virtio_pci_identity *id);

/*
 * The virtio device type of a virtio PCI function: modern ids give
 * id - 0x1040, transitional ids give the subsystem id (§4.1.2.1: a
 * transitional device's subsystem id MUST be its type; Linux reads it
 * there too).  Returns the type (> 0, an enum virtio_device_type value or
 * another §5 id), or -ENODEV if the vendor or device id is not virtio,
 * the modern id is 0x1040 (type 0 is reserved) or a transitional
 * subsystem id is 0.
 */
int virtio_pci_device_type(const struct virtio_pci_identity *id);

/* True for 0x1040..0x107F, false for transitional ids. */
bool virtio_pci_is_modern(const struct virtio_pci_identity *id);

/* A parsed "PCI\VEN_xxxx[&DEV_xxxx[&SUBSYS_xxxxxxxx][&REV_xx]]" string. */
struct virtio_hwid {
	uint16_t vendor;
	bool has_device;
	uint16_t device;
	bool has_subsys;
	uint32_t subsys; /* subsystem id << 16 | subsystem vendor */
	bool has_revision;
	uint8_t revision;
	bool has_class;	       /* &CC_xxxxxx or &CC_xxxx */
	uint32_t class_code;   /* the digits' value: CC_0100 gives 0x0100 */
	unsigned class_digits; /* 4 or 6 */
};

/*
 * Parses S (case-insensitive, leading/trailing blanks ignored).  Returns 0,
 * or -EINVAL for anything that is not a PCI hardware id.
 */
int virtio_hwid_parse(const char *s, struct virtio_hwid *out);

/*
 * Formats H the way Windows does (uppercase hex, fields in the order
 * VEN, DEV, SUBSYS, REV, CC) into BUF.  Returns the length, or -ENOSPC.
 */
int virtio_hwid_format(const struct virtio_hwid *h, char *buf, size_t size);

/* Longest formatted hardware id plus NUL. */
#define VIRTIO_HWID_MAX 64

/* How many ids virtio_hwid_list() produces for any function. */
#define VIRTIO_HWID_LIST_MAX 11

/*
 * The hardware and compatible ids ID presents to Windows, most specific
 * first: VEN&DEV&SUBSYS&REV, VEN&DEV&SUBSYS, VEN&DEV&REV, VEN&DEV,
 * VEN&DEV&CC (6 digits), VEN&DEV&CC (4), VEN&CC (6), VEN&CC (4), VEN,
 * CC (6), CC (4).  Writes the first min(MAX, VIRTIO_HWID_LIST_MAX) of
 * them into IDS (NUL-terminated) and returns how many it wrote: 0 if ID
 * is NULL or MAX is 0 (IDS may then be NULL).
 */
size_t virtio_hwid_list(const struct virtio_pci_identity *id,
			char ids[][VIRTIO_HWID_MAX], size_t max);

/*
 * True if the INF hardware-id string HWID equals (ignoring case and
 * blanks) one of the ids ID presents.
 */
bool virtio_hwid_binds(const char *hwid, const struct virtio_pci_identity *id);

/*
 * The virtio functions the Aero emulator exposes (AERO-W7-VIRTIO v1
 * contract): net, blk, input keyboard/mouse/tablet, snd, each with the
 * Aero driver id that serves it ("netkvm", "viostor", "vioinput",
 * "viosnd").
 */
struct virtio_aero_device {
	const char *name;   /* "virtio-net", "virtio-blk"... */
	const char *driver; /* Aero pack driver id */
	struct virtio_pci_identity id;
};

/* The table, and its length in *N.  Static, never freed. */
const struct virtio_aero_device *virtio_aero_devices(size_t *n);

/*
 * The Aero table entry ID is, matching vendor, device, subsystem vendor,
 * subsystem id and revision exactly (class is not compared: Windows binds
 * on the other four).  Returns a pointer into the static table, or NULL.
 */
const struct virtio_aero_device *virtio_aero_device_find(
	const struct virtio_pci_identity *id);

#endif
