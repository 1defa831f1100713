/*
 * virtio_config_check.c: checks the virtio core against config spaces a
 * real Linux guest read from QEMU's virtio PCI functions.
 *
 * Usage: virtio_config_check DUMP BDF=MODEL:MODE[:pcie]...
 *
 * DUMP is the text test_e2e.py writes (the format of
 * shared/fixtures/qemu-virtio-pci): per function a "DEV bdf vendor=..
 * device=.. subsys_vendor=.. subsys=.. rev=.. class=.." line as sysfs has
 * it, six "RES start end flags" lines from sysfs resource, and "CFG hex".
 * Each argument says which QEMU device model sits at BDF (virtio-blk-pci,
 * virtio-net-pci, virtio-scsi-pci, virtio-keyboard-pci, virtio-mouse-pci,
 * virtio-tablet-pci), how QEMU was told to build it (modern, transitional,
 * legacy) and whether it sits behind a PCIe port.  Every expectation below
 * follows from that and from the virtio spec / QEMU's device model, never
 * from a previous run:
 *  - identity (virtio_pci_identity_read) equals what the guest kernel
 *    reported in sysfs, and the ids QEMU gives the model: vendor and
 *    subsystem vendor 0x1AF4; modern: device 0x1040 + type, revision 1,
 *    subsystem 0x1100; transitional and legacy: the transitional device id
 *    (virtio 1.2 §4.1.2.1), revision 0, subsystem id = type;
 *  - virtio_pci_device_type() is the model's type, virtio_pci_is_modern()
 *    matches the mode, and virtio_hwid_list() holds the hardware ids
 *    Windows would see (VEN&DEV&SUBSYS&REV and VEN&DEV);
 *  - virtio_pci_bars_decode() reads the BAR registers the way the guest
 *    kernel did (space, 64-bit, prefetchable, address = sysfs start);
 *  - virtio_pci_cap_parse() with those BARs, sized by sysfs: modern and
 *    transitional functions have common, notify, ISR and device
 *    structures in the 64-bit memory BAR 4 at QEMU's offsets with notify
 *    multiplier 4; legacy-only functions have no virtio capability;
 *  - config space is 4096 bytes with a PCI Express capability behind a
 *    PCIe port, 256 bytes without one elsewhere.
 * Every function in the dump must be expected, and every expectation met.
 *
 * Not here: the guest run itself (test_e2e.py) and synthetic corner cases
 * of the parser (tests/unit).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/harness.h"
#include "virtio/virtio_ids.h"
#include "virtio/virtio_pci_cap.h"

#define MAX_DEVS 64
#define CFG_MAX 4096
#define BDF_MAX 16

/* Linux include/linux/ioport.h: flags in sysfs resource */
#define IORESOURCE_IO 0x00000100
#define IORESOURCE_MEM 0x00000200
#define IORESOURCE_PREFETCH 0x00002000
#define IORESOURCE_MEM_64 0x00100000

#define PCI_CAP_ID_EXP 0x10

/*
 * QEMU hw/virtio/virtio-pci.c (7.2): pure virtio-1 functions get device
 * 0x1040 + type and revision 1; transitional ones keep revision 0
 * (VIRTIO_PCI_ABI_VERSION) and put the type in the subsystem id; the
 * subsystem id of a modern one stays the QEMU default
 * (PCI_SUBDEVICE_ID_QEMU, hw/pci/pci.c).  The modern structures are in
 * memory BAR modern-mem-bar (default 4), 64-bit prefetchable, laid out as
 * common 0x0000, isr 0x1000, device 0x2000, notify 0x3000, each 0x1000
 * long (notify: QEMU_VIRTIO_PCI_QUEUE_MEM_MULT 4 * VIRTIO_QUEUE_MAX 1024),
 * multiplier 4 unless page-per-vq.  The legacy header is I/O BAR 0.
 */
#define QEMU_SUBSYS_MODERN 0x1100
#define QEMU_MODERN_BAR 4
#define QEMU_REGION_SIZE 0x1000u
#define QEMU_COMMON_OFF 0x0000u
#define QEMU_ISR_OFF 0x1000u
#define QEMU_DEVICE_OFF 0x2000u
#define QEMU_NOTIFY_OFF 0x3000u
#define QEMU_NOTIFY_MULT 4u
#define QEMU_QUEUE_MAX 1024u
#define QEMU_MODERN_BAR_SIZE 0x4000u
#define QEMU_LEGACY_BAR 0

enum mode {
	MODE_MODERN,
	MODE_TRANSITIONAL,
	MODE_LEGACY
};

struct model {
	const char *name;    /* QEMU -device name */
	unsigned type;	     /* virtio 1.2 §5 device id */
	uint32_t class_code; /* what QEMU's model sets */
	uint16_t trans_id;   /* §4.1.2.1 transitional id, 0: none */
};

static const struct model models[] = {
	{ "virtio-net-pci", VIRTIO_ID_NET, 0x020000, 0x1000 },
	{ "virtio-blk-pci", VIRTIO_ID_BLOCK, 0x010000, 0x1001 },
	{ "virtio-scsi-pci", VIRTIO_ID_SCSI, 0x010000, 0x1004 },
	/* virtio-input is virtio-1 only: no transitional id */
	{ "virtio-keyboard-pci", VIRTIO_ID_INPUT, 0x090000, 0 },
	{ "virtio-mouse-pci", VIRTIO_ID_INPUT, 0x090200, 0 },
	{ "virtio-tablet-pci", VIRTIO_ID_INPUT, 0x098000, 0 },
};

struct res {
	uint64_t start, end, flags;
};

struct dev {
	char bdf[BDF_MAX];
	unsigned vendor, device, subsys_vendor, subsys, rev, class_code;
	struct res res[VIRTIO_PCI_NUM_BARS];
	unsigned nres;
	uint8_t cfg[CFG_MAX];
	size_t cfg_len;
	bool expected;
};

struct expect {
	const char *arg;
	char bdf[BDF_MAX];
	const struct model *model;
	enum mode mode;
	bool pcie;
};

static int parse_cfg(const char *hex, struct dev *d)
{
	size_t n = strcspn(hex, " \t\r\n");

	if (n % 2 || n / 2 > CFG_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = harness_hexval(hex[2 * i]),
		    lo = harness_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		d->cfg[i] = (uint8_t)(hi << 4 | lo);
	}
	d->cfg_len = n / 2;
	return 0;
}

/* Reads DUMP into DEVS; returns the count or -1 with a message. */
static int read_dump(const char *path, struct dev *devs, size_t max)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;
	unsigned lineno = 0;

	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		struct dev *d = n ? &devs[n - 1] : NULL;
		bool ok = true;

		lineno++;
		if (!strncmp(line, "DEV ", 4)) {
			if ((size_t)n == max) {
				fprintf(stderr, "%s: too many functions\n",
					path);
				n = -1;
				break;
			}
			d = &devs[n++];
			memset(d, 0, sizeof(*d));
			ok = sscanf(line,
				    "DEV %15s vendor=%x device=%x "
				    "subsys_vendor=%x subsys=%x rev=%x "
				    "class=%x",
				    d->bdf, &d->vendor, &d->device,
				    &d->subsys_vendor, &d->subsys, &d->rev,
				    &d->class_code) == 7;
		} else if (!strncmp(line, "RES ", 4)) {
			ok = d && d->nres < VIRTIO_PCI_NUM_BARS;
			if (ok) {
				struct res *r = &d->res[d->nres++];

				ok = sscanf(line,
					    "RES %" SCNx64 " %" SCNx64
					    " %" SCNx64,
					    &r->start, &r->end, &r->flags) == 3;
			}
		} else if (!strncmp(line, "CFG ", 4)) {
			ok = d && parse_cfg(line + 4, d) == 0;
		}
		if (!ok) {
			fprintf(stderr, "%s:%u: malformed line\n", path,
				lineno);
			n = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return n;
}

static int parse_expect(const char *arg, struct expect *e)
{
	char buf[128];
	char *model, *mode, *extra;
	const char *eq = strchr(arg, '=');

	if (!eq || (size_t)(eq - arg) >= BDF_MAX || strlen(arg) >= sizeof(buf))
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->arg = arg;
	memcpy(e->bdf, arg, (size_t)(eq - arg));
	strcpy(buf, eq + 1);
	model = buf;
	mode = strchr(model, ':');
	if (!mode)
		return -EINVAL;
	*mode++ = '\0';
	extra = strchr(mode, ':');
	if (extra) {
		*extra++ = '\0';
		if (strcmp(extra, "pcie"))
			return -EINVAL;
		e->pcie = true;
	}
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i].name, model))
			e->model = &models[i];
	if (!e->model)
		return -EINVAL;
	if (!strcmp(mode, "modern"))
		e->mode = MODE_MODERN;
	else if (!strcmp(mode, "transitional"))
		e->mode = MODE_TRANSITIONAL;
	else if (!strcmp(mode, "legacy"))
		e->mode = MODE_LEGACY;
	else
		return -EINVAL;
	/* a model without a transitional id cannot be built that way */
	if (e->mode != MODE_MODERN && !e->model->trans_id)
		return -EINVAL;
	return 0;
}

/* True if the standard capability list has id CAP_ID (bounded walk). */
static bool has_std_cap(const struct dev *d, uint8_t cap_id)
{
	size_t limit = d->cfg_len < 0x100 ? d->cfg_len : 0x100;
	unsigned pos, hops = 0;

	if (limit < 0x40 || !(d->cfg[0x06] & 0x10))
		return false;
	pos = d->cfg[0x34] & ~3u; /* PCI 3.0 §6.7 */
	while (pos >= 0x40 && pos + 2 <= limit && hops++ < 48) {
		if (d->cfg[pos] == cap_id)
			return true;
		pos = d->cfg[pos + 1] & ~3u;
	}
	return false;
}

static bool hwid_listed(char ids[][VIRTIO_HWID_MAX], size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ids[i], want))
			return true;
	return false;
}

static void check_region(const char *what, const struct virtio_pci_region *r,
			 uint32_t offset, uint32_t min_len)
{
	if (!r->present) {
		FAIL_AT("%s structure missing", what);
		return;
	}
	CHECK_EQ_UINT(QEMU_MODERN_BAR, r->bar);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_MEMORY, r->space);
	CHECK_EQ_UINT(offset, r->offset);
	if (r->length < min_len)
		FAIL_AT("%s length %#x < %#x", what, r->length, min_len);
	/* inside the BAR QEMU sizes for the four structures */
	if ((uint64_t)r->offset + r->length > QEMU_MODERN_BAR_SIZE)
		FAIL_AT("%s %#x+%#x past BAR %d", what, r->offset, r->length,
			QEMU_MODERN_BAR);
}

static void check_dev(const struct dev *d, const struct expect *e)
{
	const struct model *m = e->model;
	bool modern = e->mode == MODE_MODERN;
	uint16_t want_dev = modern ? (uint16_t)(0x1040 + m->type) : m->trans_id;
	uint16_t want_subsys = modern ? QEMU_SUBSYS_MODERN : (uint16_t)m->type;
	uint8_t want_rev = modern ? 1 : 0;
	struct virtio_pci_identity id;
	struct virtio_pci_bar bars[VIRTIO_PCI_NUM_BARS];
	struct virtio_pci_caps caps;
	enum virtio_pci_cap_err err;
	char ids[VIRTIO_HWID_LIST_MAX][VIRTIO_HWID_MAX], want[VIRTIO_HWID_MAX];
	size_t nids;

	/* config space size: PCIe extended space only behind the port */
	CHECK_EQ_UINT(e->pcie ? 4096 : 256, d->cfg_len);
	CHECK_EQ_INT(e->pcie, has_std_cap(d, PCI_CAP_ID_EXP));

	/* identity from config bytes == what the guest kernel saw */
	CHECK_EQ_INT(0, virtio_pci_identity_read(d->cfg, d->cfg_len, &id));
	CHECK_EQ_UINT(d->vendor, id.vendor);
	CHECK_EQ_UINT(d->device, id.device);
	CHECK_EQ_UINT(d->subsys_vendor, id.subsys_vendor);
	CHECK_EQ_UINT(d->subsys, id.subsys);
	CHECK_EQ_UINT(d->rev, id.revision);
	CHECK_EQ_UINT(d->class_code, id.class_code);

	/* ... == what the model should present */
	CHECK_EQ_UINT(VIRTIO_PCI_VENDOR, id.vendor);
	CHECK_EQ_UINT(want_dev, id.device);
	CHECK_EQ_UINT(VIRTIO_PCI_VENDOR, id.subsys_vendor);
	CHECK_EQ_UINT(want_subsys, id.subsys);
	CHECK_EQ_UINT(want_rev, id.revision);
	CHECK_EQ_UINT(m->class_code, id.class_code);
	CHECK_EQ_INT(m->type, virtio_pci_device_type(&id));
	CHECK_EQ_INT(modern, virtio_pci_is_modern(&id));
	CHECK(virtio_device_type_name(m->type) != NULL);

	/* hardware ids Windows matches INF lines against */
	nids = virtio_hwid_list(&id, ids, VIRTIO_HWID_LIST_MAX);
	CHECK_EQ_UINT(VIRTIO_HWID_LIST_MAX, nids);
	snprintf(want, sizeof(want),
		 "PCI\\VEN_1AF4&DEV_%04X&SUBSYS_%04X1AF4&REV_%02X", want_dev,
		 want_subsys, want_rev);
	if (!hwid_listed(ids, nids, want))
		FAIL_AT("hardware id %s not listed", want);
	CHECK(virtio_hwid_binds(want, &id));
	snprintf(want, sizeof(want), "PCI\\VEN_1AF4&DEV_%04X", want_dev);
	if (!hwid_listed(ids, nids, want))
		FAIL_AT("hardware id %s not listed", want);
	CHECK(nids > 0);

	/*
	 * BARs decoded from the registers agree with what the guest kernel
	 * made of them; sysfs adds the sizes config space cannot give.
	 */
	CHECK_EQ_UINT(VIRTIO_PCI_NUM_BARS, d->nres);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(d->cfg, d->cfg_len, bars));
	for (unsigned i = 0; i < VIRTIO_PCI_NUM_BARS; i++) {
		const struct res *r = &d->res[i];
		bool in_sysfs = r->flags != 0 && r->end > r->start;

		CHECK_EQ_INT(in_sysfs, bars[i].present);
		if (!in_sysfs || !bars[i].present)
			continue;
		CHECK_EQ_UINT(r->start, bars[i].base);
		CHECK_EQ_INT(!!(r->flags & IORESOURCE_IO),
			     bars[i].space == VIRTIO_PCI_SPACE_IO);
		CHECK_EQ_INT(!!(r->flags & IORESOURCE_MEM),
			     bars[i].space == VIRTIO_PCI_SPACE_MEMORY);
		CHECK_EQ_INT(!!(r->flags & IORESOURCE_MEM_64),
			     bars[i].is_64bit);
		CHECK_EQ_INT(!!(r->flags & IORESOURCE_PREFETCH),
			     bars[i].prefetchable);
		bars[i].length = r->end - r->start + 1;
	}
	CHECK_EQ_INT(!modern, bars[QEMU_LEGACY_BAR].present);
	if (!modern)
		CHECK_EQ_INT(VIRTIO_PCI_SPACE_IO, bars[QEMU_LEGACY_BAR].space);

	err = virtio_pci_cap_parse(d->cfg, d->cfg_len, bars, &caps);
	if (e->mode == MODE_LEGACY) {
		CHECK_EQ_STR(virtio_pci_cap_strerror(
				     VIRTIO_PCI_CAP_MISSING_COMMON_CFG),
			     virtio_pci_cap_strerror(err));
		CHECK_EQ_UINT(0, caps.nvendor);
		CHECK(!caps.common.present && !caps.notify.present &&
		      !caps.isr.present && !caps.device.present);
		CHECK(!bars[QEMU_MODERN_BAR].present);
		return;
	}
	CHECK_EQ_STR(virtio_pci_cap_strerror(VIRTIO_PCI_CAP_OK),
		     virtio_pci_cap_strerror(err));

	/* the memory BAR: 64-bit prefetchable, 16 KiB */
	CHECK(bars[QEMU_MODERN_BAR].present);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_MEMORY, bars[QEMU_MODERN_BAR].space);
	CHECK(bars[QEMU_MODERN_BAR].is_64bit);
	CHECK(bars[QEMU_MODERN_BAR].prefetchable);
	CHECK(bars[QEMU_MODERN_BAR + 1].upper_half);
	CHECK_EQ_UINT(QEMU_MODERN_BAR_SIZE, bars[QEMU_MODERN_BAR].length);

	check_region("common", &caps.common, QEMU_COMMON_OFF, QEMU_REGION_SIZE);
	check_region("isr", &caps.isr, QEMU_ISR_OFF, QEMU_REGION_SIZE);
	check_region("device", &caps.device, QEMU_DEVICE_OFF, QEMU_REGION_SIZE);
	check_region("notify", &caps.notify, QEMU_NOTIFY_OFF,
		     QEMU_NOTIFY_MULT * QEMU_QUEUE_MAX);
	CHECK_EQ_UINT(QEMU_NOTIFY_MULT, caps.notify.multiplier);
	CHECK(!caps.notify_io.present); /* modern-pio-notify is off */
	CHECK(caps.pci_cfg.present);	/* QEMU always adds VIRTIO_PCI_CFG */
	CHECK(caps.msix_offset != 0);	/* every model asks for vectors */
	CHECK(!(caps.anomalies & ~VIRTIO_PCI_ANOM_DUPLICATE));

	/* §4.1.4.4: queue q notifies at cap.offset + q * multiplier */
	if (caps.notify.present) {
		uint64_t off = 0;

		CHECK_EQ_INT(0,
			     virtio_pci_notify_offset(&caps.notify, 0, &off));
		CHECK_EQ_UINT(QEMU_NOTIFY_OFF, off);
		CHECK_EQ_INT(0, virtio_pci_notify_offset(&caps.notify,
							 QEMU_QUEUE_MAX - 1,
							 &off));
		CHECK_EQ_UINT(QEMU_NOTIFY_OFF +
				      QEMU_NOTIFY_MULT * (QEMU_QUEUE_MAX - 1),
			      off);
		CHECK_EQ_INT(-ERANGE,
			     virtio_pci_notify_offset(&caps.notify,
						      QEMU_QUEUE_MAX, &off));
	}
}

int main(int argc, char **argv)
{
	static struct dev devs[MAX_DEVS];
	struct expect e;
	int n;

	if (argc < 3) {
		fprintf(stderr, "usage: virtio_config_check DUMP "
				"BDF=MODEL:MODE[:pcie]...\n");
		return 2;
	}
	n = read_dump(argv[1], devs, MAX_DEVS);
	if (n < 0)
		return 1;
	for (int i = 2; i < argc; i++) {
		struct dev *d = NULL;
		int before = harness_failures;

		harness_case = argv[i];
		harness_cases++;
		if (parse_expect(argv[i], &e)) {
			FAIL_AT("bad expectation (BDF=MODEL:MODE[:pcie])");
		} else {
			for (int j = 0; j < n; j++)
				if (!strcmp(devs[j].bdf, e.bdf))
					d = &devs[j];
			if (!d)
				FAIL_AT("no function %s in %s", e.bdf, argv[1]);
			else if (d->expected)
				FAIL_AT("%s expected twice", e.bdf);
			else {
				d->expected = true;
				check_dev(d, &e);
			}
		}
		printf("%s %d - %s\n",
		       harness_failures == before ? "ok" : "not ok",
		       harness_cases, argv[i]);
	}
	/* nothing QEMU added behind our back */
	{
		int before = harness_failures;

		harness_case = "no unexpected function";
		harness_cases++;
		for (int j = 0; j < n; j++)
			if (!devs[j].expected)
				FAIL_AT("unexpected virtio function %s",
					devs[j].bdf);
		printf("%s %d - %s\n",
		       harness_failures == before ? "ok" : "not ok",
		       harness_cases, harness_case);
	}
	return harness_exit();
}
