/*
 * test_virtio_qemu.c: the virtio core against real QEMU config spaces.
 *
 * Reads every .txt capture of shared/fixtures/qemu-virtio-pci (a Linux
 * guest's sysfs view of QEMU virtio-pci functions) at run time: "DEV"
 * gives the identity the guest kernel reported, "RES" the six BARs as the
 * kernel assigned them (start end flags), "CFG" the config space in hex.
 *
 * What each capture must give is derived from the capture itself and the
 * specs, never from a table of known devices or from a previous run:
 *  - the device type from the device id: modern ids 0x1040 + type, the
 *    transitional ids from the virtio 1.2 §4.1.2.1 table (test_trans[]
 *    below, copied from the spec, not from the library); a function that
 *    is neither (another vendor, a PCIe root port) must be refused;
 *  - the BARs from the kernel's sysfs flags and addresses (an independent
 *    reader of the same registers), sizes from sysfs;
 *  - the capabilities from a walk of the capture written here from the
 *    spec rules (oracle_walk()), so any number and order of capabilities,
 *    any BAR, notify multiplier and length are expected as they are;
 *  - the Aero layout mismatches from the AERO-W7-VIRTIO v1 numbers.
 * Then >= 100k seeded random mutations of these config spaces go through
 * the parser, BAR decoder and identity code, checking invariants of every
 * result (run under ASan to catch out-of-bounds reads: buffers are
 * exact-size).  Every random draw is its own statement, so the stream does
 * not depend on a compiler's evaluation order; a digest of the mutated
 * inputs is printed so two builds can be compared.
 *
 * Each check runs once per capture as its own TAP case; a case that cannot
 * run on a capture says "# SKIP" and why.  With no fixture directory the
 * whole program is skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"
#include "virtio/virtio_aero_layout.h"
#include "virtio/virtio_ids.h"
#include "virtio/virtio_pci_cap.h"
#include "virtio/virtio_spec.h"

#define MAX_FIXTURES 64

/* Linux include/linux/ioport.h: flags in sysfs "resource" */
#define IORESOURCE_IO 0x00000100
#define IORESOURCE_MEM 0x00000200
#define IORESOURCE_PREFETCH 0x00002000
#define IORESOURCE_MEM_64 0x00100000

/* PCI 3.0 §6.1, §6.7, §6.8.2 */
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_MSIX 0x11
#define PCI_MSIX_TABLE 4 /* le32: BIR in bits 2:0 */

struct fixture {
	char name[128];
	unsigned vendor, device, subsys_vendor, subsys, rev, class_code;
	uint64_t res_start[6], res_end[6], res_flags[6];
	uint8_t cfg[4096];
	size_t cfg_len;
};

static struct fixture fixtures[MAX_FIXTURES];
static size_t nfixtures;

static bool load_fixture(const char *path, struct fixture *f)
{
	FILE *fp = fopen(path, "r");
	char line[16384];
	int nres = 0;

	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		char *p;

		if (!strncmp(line, "DEV ", 4)) {
			if (sscanf(line,
				   "DEV %*s vendor=%x device=%x "
				   "subsys_vendor=%x subsys=%x rev=%x class=%x",
				   &f->vendor, &f->device, &f->subsys_vendor,
				   &f->subsys, &f->rev, &f->class_code) != 6)
				goto bad;
		} else if (!strncmp(line, "RES ", 4) && nres < 6) {
			unsigned long long s, e, fl;

			if (sscanf(line, "RES %llx %llx %llx", &s, &e, &fl) !=
			    3)
				goto bad;
			f->res_start[nres] = s;
			f->res_end[nres] = e;
			f->res_flags[nres] = fl;
			nres++;
		} else if (!strncmp(line, "CFG ", 4)) {
			for (p = line + 4; harness_hexval(p[0]) >= 0 &&
					   harness_hexval(p[1]) >= 0;
			     p += 2) {
				if (f->cfg_len == sizeof(f->cfg))
					goto bad;
				f->cfg[f->cfg_len++] =
					(uint8_t)(harness_hexval(p[0]) << 4 |
						  harness_hexval(p[1]));
			}
		}
	}
	fclose(fp);
	return nres == 6 && f->cfg_len >= 64 && f->vendor;
bad:
	fclose(fp);
	return false;
}

static int load_all(void)
{
	const char *dir = getenv("AEROFS_SHARED_FIXTURES");
	const char *root = getenv("AEROFS_SOURCE_ROOT");
	char path[4096];
	struct dirent **names;
	int n, bad = 0;

	if (dir)
		snprintf(path, sizeof(path), "%s", dir);
	else
		snprintf(path, sizeof(path),
			 "%s/../shared/fixtures/qemu-virtio-pci",
			 root ? root : ".");
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t len = strlen(nm);
		char file[8192];

		if (len > 4 && !strcmp(nm + len - 4, ".txt")) {
			struct fixture *f = &fixtures[nfixtures];

			if (nfixtures == MAX_FIXTURES) {
				fprintf(stderr, "more than %d captures\n",
					MAX_FIXTURES);
				bad++;
			} else {
				snprintf(file, sizeof(file), "%s/%s", path, nm);
				snprintf(f->name, sizeof(f->name), "%s", nm);
				if (load_fixture(file, f)) {
					nfixtures++;
				} else {
					fprintf(stderr, "cannot parse %s\n",
						file);
					bad++;
				}
			}
		}
		free(names[i]);
	}
	free(names);
	return bad;
}

/* ---- TAP cases per capture ---- */

/*
 * A case that cannot run here: "ok N - NAME # SKIP WHY", never a bare ok.
 * (Kept local until tests/harness.h has its own per-case skip.)
 */
static void virtio_skip(const char *name, const char *why)
{
	harness_cases++;
	printf("ok %d - %s # SKIP %s\n", harness_cases, name, why);
}

/* Why FN cannot run on F (a static string), or NULL if it can. */
typedef const char *(*fixture_can_fn)(const struct fixture *f);
typedef void (*fixture_fn)(const struct fixture *f);

static void run_fixture_case(const char *what, fixture_fn fn,
			     fixture_can_fn can, const struct fixture *f)
{
	char name[256];
	const char *why = can ? can(f) : NULL;
	int before = harness_failures;

	snprintf(name, sizeof(name), "%.64s %.127s", what, f->name);
	if (why) {
		virtio_skip(name, why);
		return;
	}
	harness_case = name;
	harness_cases++;
	fn(f);
	printf("%s %d - %s\n", harness_failures == before ? "ok" : "not ok",
	       harness_cases, name);
	harness_case = "";
}

#define RUN_EACH(what, fn, can)                                                \
	do {                                                                   \
		for (size_t i_ = 0; i_ < nfixtures; i_++)                      \
			run_fixture_case(what, fn, can, &fixtures[i_]);        \
	} while (0)

/* ---- identity: virtio 1.2 §4.1.2 ---- */

/* §4.1.2.1 "Transitional PCI Device ID" table, from the spec text. */
static const struct {
	uint16_t device;
	int type;
} test_trans[] = {
	{ 0x1000, 1 }, /* network card */
	{ 0x1001, 2 }, /* block device */
	{ 0x1002, 5 }, /* memory ballooning (traditional) */
	{ 0x1003, 3 }, /* console */
	{ 0x1004, 8 }, /* SCSI host */
	{ 0x1005, 4 }, /* entropy source */
	{ 0x1009, 9 }, /* 9P transport */
};

static bool is_virtio_vendor(const struct fixture *f)
{
	return f->vendor == 0x1AF4;
}

static bool is_modern_id(const struct fixture *f)
{
	return is_virtio_vendor(f) && f->device >= 0x1040 &&
	       f->device <= 0x107F;
}

static bool is_transitional_id(const struct fixture *f)
{
	return is_virtio_vendor(f) && f->device >= 0x1000 &&
	       f->device <= 0x103F;
}

/* The type the id says, or -ENODEV for a function that is not virtio. */
static int expected_type(const struct fixture *f)
{
	if (is_modern_id(f))
		return f->device == 0x1040 ? -ENODEV : (int)f->device - 0x1040;
	if (!is_transitional_id(f))
		return -ENODEV;
	for (size_t i = 0; i < sizeof(test_trans) / sizeof(test_trans[0]); i++)
		if (test_trans[i].device == f->device)
			return test_trans[i].type;
	/*
	 * Outside the table (e.g. Aero's 0x1000 + type - 1 ids) only the
	 * subsystem id says: §4.1.2.1 makes it the type for every
	 * transitional device.
	 */
	return f->subsys ? (int)f->subsys : -ENODEV;
}

static void test_identity(const struct fixture *f)
{
	struct virtio_pci_identity id;
	int type = expected_type(f);

	CHECK_EQ_INT(0, virtio_pci_identity_read(f->cfg, f->cfg_len, &id));
	/* config bytes agree with what the guest kernel reported */
	CHECK_EQ_UINT(f->vendor, id.vendor);
	CHECK_EQ_UINT(f->device, id.device);
	CHECK_EQ_UINT(f->subsys_vendor, id.subsys_vendor);
	CHECK_EQ_UINT(f->subsys, id.subsys);
	CHECK_EQ_UINT(f->rev, id.revision);
	CHECK_EQ_UINT(f->class_code, id.class_code);
	/* and the type follows from the id alone */
	CHECK_EQ_INT(type, virtio_pci_device_type(&id));
	CHECK_EQ_INT(is_modern_id(f), virtio_pci_is_modern(&id));
	if (type < 0) {
		CHECK(virtio_device_type_name(virtio_pci_device_type(&id)) ==
		      NULL);
		printf("# %s: not a virtio function (%04x:%04x)\n", f->name,
		       f->vendor, f->device);
		return;
	}
	CHECK(virtio_device_type_name(type) != NULL);
	if (is_transitional_id(f)) {
		/* §4.1.2.1: device requirements of transitional devices */
		CHECK_EQ_UINT(0, id.revision);
		CHECK_EQ_UINT(type, id.subsys);
	}
	printf("# %s: %s, %s\n", f->name, virtio_device_type_name(type),
	       is_modern_id(f) ? "modern only" : "transitional id");
}

static void test_hwids(const struct fixture *f)
{
	struct virtio_pci_identity id;
	char ids[VIRTIO_HWID_LIST_MAX + 1][VIRTIO_HWID_MAX];
	char want[VIRTIO_HWID_MAX];

	memset(ids, 0, sizeof(ids));
	CHECK_EQ_INT(0, virtio_pci_identity_read(f->cfg, f->cfg_len, &id));
	CHECK_EQ_UINT(VIRTIO_HWID_LIST_MAX,
		      virtio_hwid_list(&id, ids, VIRTIO_HWID_LIST_MAX + 1));
	CHECK_EQ_STR("", ids[VIRTIO_HWID_LIST_MAX]);
	snprintf(want, sizeof(want),
		 "PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X&REV_%02X", f->vendor,
		 f->device, f->subsys, f->subsys_vendor, f->rev);
	CHECK_EQ_STR(want, ids[0]);
	CHECK(virtio_hwid_binds(want, &id));
	snprintf(want, sizeof(want), "PCI\\VEN_%04x&DEV_%04x", f->vendor,
		 f->device);
	CHECK(virtio_hwid_binds(want, &id));
	/* Aero's INFs gate on REV_01 */
	snprintf(want, sizeof(want), "PCI\\VEN_%04X&DEV_%04X&REV_01", f->vendor,
		 f->device);
	CHECK_EQ_INT(f->rev == 1, virtio_hwid_binds(want, &id));
	for (size_t i = 0; i < VIRTIO_HWID_LIST_MAX; i++)
		CHECK(virtio_hwid_binds(ids[i], &id));
}

/*
 * AERO-W7-VIRTIO v1 §1 (docs/windows7-virtio-driver-contract.md): the
 * functions Aero emulates, all REV_01 with subsystem vendor 0x1AF4.
 */
static const struct {
	uint16_t device, subsys;
} aero_contract[] = {
	{ 0x1041, 0x0001 }, { 0x1042, 0x0002 }, { 0x1052, 0x0010 },
	{ 0x1052, 0x0011 }, { 0x1052, 0x0012 }, { 0x1059, 0x0019 },
};

static void test_aero_identity(const struct fixture *f)
{
	struct virtio_pci_identity id;
	bool aero = false;

	virtio_pci_identity_read(f->cfg, f->cfg_len, &id);
	for (size_t i = 0; i < sizeof(aero_contract) / sizeof(aero_contract[0]);
	     i++)
		if (f->vendor == 0x1AF4 && f->subsys_vendor == 0x1AF4 &&
		    f->rev == 1 && f->device == aero_contract[i].device &&
		    f->subsys == aero_contract[i].subsys)
			aero = true;
	CHECK_EQ_INT(aero, virtio_aero_device_find(&id) != NULL);
}

/* ---- BARs: PCI 3.0 §6.2.5.1, against the kernel's view ---- */

static bool sysfs_present(const struct fixture *f, unsigned i)
{
	return f->res_flags[i] != 0 && f->res_end[i] > f->res_start[i];
}

/* Decoded from the capture's registers, sized from sysfs. */
static void fixture_bars(const struct fixture *f, struct virtio_pci_bar *b)
{
	CHECK_EQ_INT(0, virtio_pci_bars_decode(f->cfg, f->cfg_len, b));
	for (unsigned i = 0; i < VIRTIO_PCI_NUM_BARS; i++)
		if (b[i].present && sysfs_present(f, i))
			b[i].length = f->res_end[i] - f->res_start[i] + 1;
}

static void test_bars(const struct fixture *f)
{
	struct virtio_pci_bar b[VIRTIO_PCI_NUM_BARS];

	fixture_bars(f, b);
	for (unsigned i = 0; i < VIRTIO_PCI_NUM_BARS; i++) {
		uint64_t fl = f->res_flags[i];

		CHECK_EQ_INT(sysfs_present(f, i), b[i].present);
		if (!b[i].present || !sysfs_present(f, i))
			continue;
		CHECK_EQ_UINT(f->res_start[i], b[i].base);
		CHECK_EQ_INT(!!(fl & IORESOURCE_IO),
			     b[i].space == VIRTIO_PCI_SPACE_IO);
		CHECK_EQ_INT(!!(fl & IORESOURCE_MEM),
			     b[i].space == VIRTIO_PCI_SPACE_MEMORY);
		CHECK_EQ_INT(!!(fl & IORESOURCE_MEM_64), b[i].is_64bit);
		CHECK_EQ_INT(!!(fl & IORESOURCE_PREFETCH), b[i].prefetchable);
		if (b[i].is_64bit) {
			CHECK(i + 1 < VIRTIO_PCI_NUM_BARS &&
			      b[i + 1].upper_half);
			CHECK(!sysfs_present(f, i + 1));
		}
	}
	/*
	 * virtio 1.2 §4.1.4 "Legacy Interfaces: A Note on PCI Device
	 * Layout": a transitional device puts its legacy registers in BAR0,
	 * the first I/O region.
	 */
	if (is_transitional_id(f)) {
		CHECK(b[0].present);
		CHECK_EQ_INT(VIRTIO_PCI_SPACE_IO, b[0].space);
	}
}

/* ---- capabilities: an oracle from virtio 1.2 §4.1.4 ---- */

struct oracle {
	bool walk_ok;	 /* the list itself is well formed */
	bool conforming; /* every selected structure obeys §4.1.4 */
	const char *why; /* first non-conformance */
	enum virtio_pci_cap_err missing; /* OK, or MISSING_* */
	struct virtio_pci_caps want;
};

static void oracle_fail(struct oracle *o, const char *why)
{
	if (o->conforming)
		o->why = why;
	o->conforming = false;
}

/* §4.1.4.3.1, 4.1.4.4.1, 4.1.4.6.1 and the parser's stated minima */
static void oracle_region_rules(struct oracle *o, unsigned type,
				const struct virtio_pci_region *r,
				const struct virtio_pci_bar *bars)
{
	static const uint32_t align[] = { 0, 4, 2, 1, 4 };
	static const uint32_t min[] = { 0, 56, 2, 1, 1 };
	uint64_t end = (uint64_t)r->offset + r->length;

	if (r->offset % align[type])
		oracle_fail(o, "structure offset misaligned");
	if (r->length < min[type])
		oracle_fail(o, "structure too short");
	if (end > UINT32_MAX)
		oracle_fail(o, "structure end past 4 GiB");
	if (bars && bars[r->bar].length && end > bars[r->bar].length)
		oracle_fail(o, "structure past the end of its BAR");
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && r->multiplier &&
	    (r->multiplier < 2 || (r->multiplier & (r->multiplier - 1))))
		oracle_fail(o, "notify_off_multiplier not 0 or 2^n");
}

/*
 * What a driver following §4.1.4.1 finds in CFG, given BARS (or NULL):
 * the first instance of each structure type it can use (NOTIFY once per
 * address space), ignoring reserved types and bars and absent BARs.
 */
static void oracle_walk(const uint8_t *cfg, size_t len,
			const struct virtio_pci_bar *bars, struct oracle *o)
{
	struct virtio_pci_caps *w = &o->want;
	size_t limit = len < 256 ? len : 256;
	unsigned ptr, hops = 0;

	memset(o, 0, sizeof(*o));
	o->conforming = true;
	o->missing = VIRTIO_PCI_CAP_OK;
	if (limit < 0x40 || !(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST) ||
	    !cfg[PCI_CAPABILITY_LIST])
		return; /* walk_ok false: no list */
	ptr = cfg[PCI_CAPABILITY_LIST];
	while (ptr) {
		struct virtio_pci_region r, *slot;
		unsigned type, space_io;

		if (ptr & 3)
			w->anomalies |= VIRTIO_PCI_ANOM_PTR_LOW_BITS;
		ptr &= ~3u;
		/* 48 four-byte slots fit in 0x40..0xFF: more is a loop */
		if (ptr < 0x40 || ptr + 2 > limit || ++hops > 48)
			return;
		w->ncaps++;
		if (cfg[ptr] == PCI_CAP_ID_MSIX && !w->msix_offset)
			w->msix_offset = (uint16_t)ptr;
		if (cfg[ptr] != VIRTIO_PCI_CAP_VENDOR_ID)
			goto next;
		w->nvendor++;
		if (ptr + 16 > limit || ptr + cfg[ptr + 2] > limit ||
		    cfg[ptr + 2] < 16)
			return; /* a capture with a short cap: not modeled */
		type = cfg[ptr + 3];
		memset(&r, 0, sizeof(r));
		r.present = true;
		r.cap_offset = (uint16_t)ptr;
		r.cap_len = cfg[ptr + 2];
		r.bar = cfg[ptr + 4];
		r.id = cfg[ptr + 5];
		r.offset = virtio_le32(cfg + ptr + 8);
		r.length = virtio_le32(cfg + ptr + 12);
		if (r.bar < 6)
			r.space = bars ? bars[r.bar].space :
					 VIRTIO_PCI_SPACE_UNKNOWN;
		space_io = r.space == VIRTIO_PCI_SPACE_IO;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			slot = &w->common;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			/* per space; with no BARs a single slot */
			slot = space_io ? &w->notify_io : &w->notify;
			if (bars && (r.bar >= 6 || !bars[r.bar].present))
				slot = NULL; /* ignored below */
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			slot = &w->isr;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			slot = &w->device;
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			slot = &w->pci_cfg;
			break;
		case VIRTIO_PCI_CAP_SHARED_MEMORY_CFG:
		case VIRTIO_PCI_CAP_VENDOR_CFG:
			goto next;
		default:
			w->anomalies |= VIRTIO_PCI_ANOM_RESERVED_TYPE;
			goto next;
		}
		if (slot && slot->present) {
			w->anomalies |= VIRTIO_PCI_ANOM_DUPLICATE;
			goto next;
		}
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && r.cap_len < 20)
			return;
		if (type == VIRTIO_PCI_CAP_PCI_CFG) {
			/* §4.1.4.9: a window, not a structure */
			if (r.cap_len < 20)
				return;
			r.space = VIRTIO_PCI_SPACE_UNKNOWN;
			*slot = r;
			goto next;
		}
		if (r.bar >= 6) {
			w->anomalies |= VIRTIO_PCI_ANOM_RESERVED_BAR;
			goto next;
		}
		if (bars && !bars[r.bar].present) {
			w->anomalies |= VIRTIO_PCI_ANOM_ABSENT_BAR;
			goto next;
		}
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			r.multiplier = virtio_le32(cfg + ptr + 16);
		oracle_region_rules(o, type, &r, bars);
		if (slot == &w->notify_io && !w->notify.present)
			w->notify_io_first = true;
		*slot = r;
next:
		ptr = cfg[ptr + 1];
	}
	o->walk_ok = true;
	if (!w->common.present)
		o->missing = VIRTIO_PCI_CAP_MISSING_COMMON_CFG;
	else if (!w->notify.present && !w->notify_io.present)
		o->missing = VIRTIO_PCI_CAP_MISSING_NOTIFY_CFG;
	else if (!w->isr.present)
		o->missing = VIRTIO_PCI_CAP_MISSING_ISR_CFG;
	if (!o->missing && !w->device.present)
		w->anomalies |= VIRTIO_PCI_ANOM_NO_DEVICE_CFG;
	{
		const struct virtio_pci_region *rs[] = {
			&w->common, &w->notify, &w->notify_io,
			&w->isr,    &w->device,
		};

		for (size_t i = 0; i < 5; i++)
			for (size_t j = 0; j < i; j++)
				if (rs[i]->present && rs[j]->present &&
				    rs[i]->bar == rs[j]->bar &&
				    (uint64_t)rs[i]->offset <
					    (uint64_t)rs[j]->offset +
						    rs[j]->length &&
				    (uint64_t)rs[j]->offset <
					    (uint64_t)rs[i]->offset +
						    rs[i]->length)
					oracle_fail(o, "structures overlap");
	}
}

static void check_region(const char *what, const struct virtio_pci_region *w,
			 const struct virtio_pci_region *g)
{
	if (w->present != g->present) {
		FAIL_AT("%s: expected %s, parser says %s", what,
			w->present ? "present" : "absent",
			g->present ? "present" : "absent");
		return;
	}
	if (!w->present)
		return;
	if (w->bar != g->bar || w->id != g->id || w->cap_len != g->cap_len ||
	    w->cap_offset != g->cap_offset || w->space != g->space ||
	    w->offset != g->offset || w->length != g->length ||
	    w->multiplier != g->multiplier)
		FAIL_AT("%s: expected cap@%#x bar %u+%#x len %#x mult %u "
			"space %d, got cap@%#x bar %u+%#x len %#x mult %u "
			"space %d",
			what, w->cap_offset, w->bar, w->offset, w->length,
			w->multiplier, (int)w->space, g->cap_offset, g->bar,
			g->offset, g->length, g->multiplier, (int)g->space);
}

static void check_against_oracle(const struct fixture *f,
				 const struct virtio_pci_bar *bars)
{
	struct oracle o;
	struct virtio_pci_caps c;
	enum virtio_pci_cap_err err;
	const struct virtio_pci_caps *w = &o.want;

	oracle_walk(f->cfg, f->cfg_len, bars, &o);
	err = virtio_pci_cap_parse(f->cfg, f->cfg_len, bars, &c);
	if (!o.walk_ok) {
		/* a malformed or absent list: only "not OK" is expected */
		CHECK(err != VIRTIO_PCI_CAP_OK);
		return;
	}
	if (!o.conforming) {
		printf("# %s: not spec-conforming: %s\n", f->name, o.why);
		CHECK(err != VIRTIO_PCI_CAP_OK);
		return;
	}
	CHECK_EQ_STR(virtio_pci_cap_strerror(o.missing),
		     virtio_pci_cap_strerror(err));
	CHECK_EQ_UINT(w->ncaps, c.ncaps);
	CHECK_EQ_UINT(w->nvendor, c.nvendor);
	CHECK_EQ_UINT(w->msix_offset, c.msix_offset);
	if (err != VIRTIO_PCI_CAP_OK)
		return;
	check_region("common", &w->common, &c.common);
	check_region("notify", &w->notify, &c.notify);
	check_region("notify_io", &w->notify_io, &c.notify_io);
	check_region("isr", &w->isr, &c.isr);
	check_region("device", &w->device, &c.device);
	check_region("pci_cfg", &w->pci_cfg, &c.pci_cfg);
	CHECK_EQ_INT(w->notify_io_first, c.notify_io_first);
	CHECK_EQ_UINT(w->anomalies, c.anomalies);
	CHECK_EQ_UINT(0, c.err_offset);
}

/* §4.1.4.4: every queue_notify_off up to the region's end, and no more. */
static void check_notify_offsets(const struct virtio_pci_region *n)
{
	uint64_t off = 0, last;

	if (!n->present)
		return;
	if (n->multiplier == 0) {
		/* one address for all queues */
		CHECK_EQ_INT(0, virtio_pci_notify_offset(n, 0xFFFF, &off));
		CHECK_EQ_UINT(n->offset, off);
		return;
	}
	last = (n->length - 2) / n->multiplier; /* length >= 2 checked */
	if (last > 0xFFFF)
		last = 0xFFFF;
	CHECK_EQ_INT(0, virtio_pci_notify_offset(n, (uint16_t)last, &off));
	CHECK_EQ_UINT(n->offset + last * n->multiplier, off);
	if (last < 0xFFFF)
		CHECK_EQ_INT(-ERANGE,
			     virtio_pci_notify_offset(n, (uint16_t)(last + 1),
						      &off));
	printf("# notify bar %u+%#x len %#x multiplier %u: queue_notify_off "
	       "0..%llu\n",
	       n->bar, n->offset, n->length, n->multiplier,
	       (unsigned long long)last);
}

static const char *can_caps(const struct fixture *f)
{
	/* a capture read without privilege holds the 64-byte header only */
	if (f->cfg_len < 256)
		return "capture lacks the capability area (< 256 bytes)";
	return NULL;
}

static void test_capabilities(const struct fixture *f)
{
	struct virtio_pci_bar b[VIRTIO_PCI_NUM_BARS];
	struct virtio_pci_caps c;
	const struct virtio_pci_region *sel;

	fixture_bars(f, b);
	/* with decoded, sized BARs and without any BAR knowledge */
	check_against_oracle(f, b);
	check_against_oracle(f, NULL);

	if (virtio_pci_cap_parse(f->cfg, f->cfg_len, b, &c) !=
	    VIRTIO_PCI_CAP_OK) {
		/* a modern-only id has no legacy interface to fall back on */
		CHECK(!is_modern_id(f));
		return;
	}
	CHECK(expected_type(f) > 0);
	check_notify_offsets(&c.notify);
	check_notify_offsets(&c.notify_io);
	/* a driver that maps both uses the one listed first */
	sel = virtio_pci_notify_select(&c, true, true);
	CHECK(sel == (c.notify_io_first ? &c.notify_io : &c.notify));
	/* one that maps only memory still finds a memory notify */
	sel = virtio_pci_notify_select(&c, true, false);
	CHECK(sel == (c.notify.present ? &c.notify : NULL));
	/* PCI 3.0 §6.8.2.4: the MSI-X table BIR names an implemented BAR */
	if (c.msix_offset) {
		unsigned bir = virtio_le32(f->cfg + c.msix_offset +
					   PCI_MSIX_TABLE) &
			       7;

		CHECK(bir < 6 && b[bir].present);
	}
}

/* The spec structs laid over QEMU's bytes read the same as the parser. */
static const char *can_overlay(const struct fixture *f)
{
	struct virtio_pci_caps c;

	if (can_caps(f))
		return can_caps(f);
	if (expected_type(f) < 0)
		return "not a virtio function";
	if (virtio_pci_cap_parse(f->cfg, f->cfg_len, NULL, &c))
		return "no modern virtio structures (legacy-only function)";
	return NULL;
}

static void test_struct_overlay(const struct fixture *f)
{
	struct virtio_pci_caps caps;
	struct virtio_pci_notify_cap n;
	struct virtio_pci_cap c;

	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK,
		     virtio_pci_cap_parse(f->cfg, f->cfg_len, NULL, &caps));
	memcpy(&n, f->cfg + caps.notify.cap_offset, sizeof(n));
	CHECK_EQ_UINT(VIRTIO_PCI_CAP_VENDOR_ID, n.cap.cap_vndr);
	CHECK_EQ_UINT(VIRTIO_PCI_CAP_NOTIFY_CFG, n.cap.cfg_type);
	CHECK_EQ_UINT(caps.notify.bar, n.cap.bar);
	CHECK_EQ_UINT(caps.notify.offset, virtio_cpu_le32(n.cap.offset));
	CHECK_EQ_UINT(caps.notify.length, virtio_cpu_le32(n.cap.length));
	CHECK_EQ_UINT(caps.notify.multiplier,
		      virtio_cpu_le32(n.notify_off_multiplier));
	memcpy(&c, f->cfg + caps.common.cap_offset, sizeof(c));
	CHECK_EQ_UINT(VIRTIO_PCI_CAP_COMMON_CFG, c.cfg_type);
	CHECK_EQ_UINT(caps.common.length, virtio_cpu_le32(c.length));
	/* the common structure is at least the 1.0 layout */
	CHECK(caps.common.length >= sizeof(struct virtio_pci_common_cfg));
}

/* ---- the Aero layout (AERO-W7-VIRTIO v1 "Transport") ---- */

static void test_aero_layout(const struct fixture *f)
{
	static const struct {
		uint32_t offset, min;
		enum virtio_aero_layout_err err;
	} page[] = {
		{ 0x0000, 0x100, VIRTIO_AERO_LAYOUT_COMMON_MISMATCH },
		{ 0x1000, 0x100, VIRTIO_AERO_LAYOUT_NOTIFY_MISMATCH },
		{ 0x2000, 0x20, VIRTIO_AERO_LAYOUT_ISR_MISMATCH },
		{ 0x3000, 0x100, VIRTIO_AERO_LAYOUT_DEVICE_MISMATCH },
	};
	struct virtio_pci_bar b[VIRTIO_PCI_NUM_BARS];
	struct virtio_pci_caps c;
	const struct virtio_pci_region *r[4];
	unsigned want = 0, got = 0;
	enum virtio_aero_layout_err first;

	fixture_bars(f, b);
	virtio_pci_cap_parse(f->cfg, f->cfg_len, b, &c);
	r[0] = &c.common;
	r[1] = &c.notify;
	r[2] = &c.isr;
	r[3] = &c.device;
	if (!b[0].present)
		want |= VIRTIO_AERO_LAYOUT_BIT(VIRTIO_AERO_LAYOUT_BAR0_MISSING);
	else if (b[0].space != VIRTIO_PCI_SPACE_MEMORY)
		want |= VIRTIO_AERO_LAYOUT_BIT(
			VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO);
	if (b[0].present && b[0].length < 0x4000)
		want |= VIRTIO_AERO_LAYOUT_BIT(
			VIRTIO_AERO_LAYOUT_BAR0_TOO_SMALL);
	for (size_t i = 0; i < 4; i++)
		if (!r[i]->present || r[i]->bar != 0 ||
		    r[i]->offset != page[i].offset ||
		    r[i]->length < page[i].min ||
		    (b[0].present && b[0].length &&
		     (uint64_t)r[i]->offset + r[i]->length > b[0].length))
			want |= VIRTIO_AERO_LAYOUT_BIT(page[i].err);
	if (c.notify.present && c.notify.multiplier != 4)
		want |= VIRTIO_AERO_LAYOUT_BIT(
			VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH);
	first = virtio_aero_layout_check(&c, b, &got);
	CHECK_EQ_UINT(want, got);
	CHECK_EQ_UINT(want & -want, first == VIRTIO_AERO_LAYOUT_OK ?
					    0 :
					    VIRTIO_AERO_LAYOUT_BIT(first));
	printf("# %s: %s", f->name, got ? "not Aero:" : "Aero layout");
	for (unsigned e = 0; e < 32; e++)
		if (got & VIRTIO_AERO_LAYOUT_BIT(e))
			printf(" [%s]", virtio_aero_layout_strerror((
						enum virtio_aero_layout_err)e));
	putchar('\n');
}

/* ---- seeded random mutation ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, so failures reproduce */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* FNV-1a 64 over what the stream produced, to compare two builds. */
static uint64_t digest = 0xCBF29CE484222325ull;

static void digest_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		digest ^= b[i];
		digest *= 0x100000001B3ull;
	}
}

static void digest_u64(uint64_t v)
{
	uint8_t b[8];

	virtio_put_le64(b, v);
	digest_bytes(b, 8);
}

static const uint32_t align_of[] = { 0, 4, 2, 1, 4 };
static const uint32_t min_of[] = { 0, 56, 2, 1, 1 };

/* Everything a successful parse promises, re-derived from the bytes. */
static void check_ok_result(const uint8_t *cfg, size_t len,
			    const struct virtio_pci_bar *bars,
			    const struct virtio_pci_caps *c)
{
	const struct {
		const struct virtio_pci_region *r;
		unsigned type;
	} regs[] = {
		{ &c->common, 1 }, { &c->notify, 2 }, { &c->notify_io, 2 },
		{ &c->isr, 3 },	   { &c->device, 4 },
	};
	size_t limit = len < 256 ? len : 256;

	CHECK(c->common.present && c->isr.present);
	CHECK(c->notify.present || c->notify_io.present);
	CHECK(!c->notify_io.present ||
	      c->notify_io.space == VIRTIO_PCI_SPACE_IO);
	CHECK(!c->notify.present || c->notify.space != VIRTIO_PCI_SPACE_IO);
	CHECK(!c->notify_io_first || c->notify_io.present);
	CHECK(c->notify_io_first || c->notify.present);
	for (size_t i = 0; i < 5; i++) {
		const struct virtio_pci_region *r = regs[i].r;
		unsigned t = regs[i].type;
		uint64_t end;

		if (!r->present)
			continue;
		end = (uint64_t)r->offset + r->length;
		CHECK(r->cap_offset >= 0x40 &&
		      r->cap_offset + (size_t)r->cap_len <= limit);
		CHECK_EQ_UINT(VIRTIO_PCI_CAP_VENDOR_ID, cfg[r->cap_offset]);
		CHECK_EQ_UINT(t, cfg[r->cap_offset + 3]);
		CHECK_EQ_UINT(r->cap_len, cfg[r->cap_offset + 2]);
		CHECK_EQ_UINT(r->bar, cfg[r->cap_offset + 4]);
		CHECK_EQ_UINT(r->offset, virtio_le32(cfg + r->cap_offset + 8));
		CHECK_EQ_UINT(r->length, virtio_le32(cfg + r->cap_offset + 12));
		CHECK(r->cap_len >= (t == 2 ? 20 : 16));
		CHECK(r->bar < 6);
		CHECK(r->offset % align_of[t] == 0);
		CHECK(r->length >= min_of[t]);
		CHECK(end <= UINT32_MAX);
		if (bars) {
			CHECK(bars[r->bar].present);
			CHECK_EQ_INT(bars[r->bar].space, r->space);
			CHECK(!bars[r->bar].length ||
			      end <= bars[r->bar].length);
		} else {
			CHECK_EQ_INT(VIRTIO_PCI_SPACE_UNKNOWN, r->space);
		}
		if (t == 2) {
			CHECK_EQ_UINT(r->multiplier,
				      virtio_le32(cfg + r->cap_offset + 16));
			CHECK(r->multiplier == 0 ||
			      (r->multiplier >= 2 &&
			       !(r->multiplier & (r->multiplier - 1))));
		}
		for (size_t j = 0; j < i; j++) {
			const struct virtio_pci_region *o = regs[j].r;

			if (o->present && o->bar == r->bar)
				CHECK(end <= o->offset ||
				      (uint64_t)o->offset + o->length <=
					      r->offset);
		}
	}
}

/* The decoder's promises on any bytes. */
static void check_decoded(int rc, const struct virtio_pci_bar *d)
{
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP || rc == -ERANGE);
	for (int i = 0; i < VIRTIO_PCI_NUM_BARS; i++) {
		CHECK(!(d[i].present && d[i].upper_half));
		CHECK(!d[i].is_64bit || (i < 5 && d[i + 1].upper_half));
		CHECK(d[i].present || d[i].space == VIRTIO_PCI_SPACE_UNKNOWN);
		CHECK(d[i].space != VIRTIO_PCI_SPACE_IO ||
		      (!d[i].is_64bit && !d[i].prefetchable));
		CHECK_EQ_UINT(0, d[i].length);
	}
}

/* Mutates one BAR description: every draw is its own statement. */
static void mutate_bar(struct virtio_pci_bar *bars)
{
	unsigned b = rnd_below(6);
	unsigned how = rnd_below(4);
	unsigned shift;
	uint64_t v;

	switch (how) {
	case 0:
		bars[b].present = !bars[b].present;
		break;
	case 1:
		bars[b].space = (enum virtio_pci_space)rnd_below(3);
		break;
	default:
		v = rnd();
		shift = rnd_below(64);
		bars[b].length = v >> shift;
		break;
	}
}

/* Changes 1..6 bytes of the first 256, biased to the list pointers. */
static void mutate_bytes(uint8_t *buf, size_t len)
{
	unsigned nmut = 1 + rnd_below(6);

	for (unsigned m = 0; m < nmut; m++) {
		unsigned where = rnd_below(4);
		unsigned what;
		size_t at;
		uint8_t v;

		if (where == 0)
			at = 0x34;
		else if (where == 1)
			at = 0x40 + rnd_below(0xC0);
		else
			at = rnd_below(256);
		what = rnd_below(6);
		switch (what) {
		case 0:
			v = 0;
			break;
		case 1:
			v = 0xFF;
			break;
		case 2:
			v = (uint8_t)(1 + rnd_below(9));
			break;
		case 3:
			v = (uint8_t)(1u << rnd_below(8));
			v = at < len ? (uint8_t)(buf[at] ^ v) : 0;
			break;
		default:
			v = (uint8_t)rnd();
			break;
		}
		if (at < len)
			buf[at] = v;
	}
}

/* Runs everything on one mutant; returns the parse result. */
static enum virtio_pci_cap_err check_mutant(const uint8_t *buf, size_t len,
					    const struct virtio_pci_bar *bp)
{
	struct virtio_pci_caps c1, c2;
	struct virtio_pci_bar dec[VIRTIO_PCI_NUM_BARS];
	struct virtio_pci_identity id;
	enum virtio_pci_cap_err err;

	err = virtio_pci_cap_parse(buf, len, bp, &c1);
	CHECK(err <= VIRTIO_PCI_CAP_MISSING_ISR_CFG);
	CHECK(virtio_pci_cap_strerror(err) != NULL);
	CHECK(c1.err_offset < 256);
	if (err == VIRTIO_PCI_CAP_OK) {
		check_ok_result(buf, len, bp, &c1);
		CHECK(virtio_pci_notify_select(&c1, true, true) ==
		      (c1.notify_io_first ? &c1.notify_io : &c1.notify));
		if (bp) {
			unsigned all;
			enum virtio_aero_layout_err e1 =
				virtio_aero_layout_check(&c1, bp, &all);

			CHECK(e1 == VIRTIO_AERO_LAYOUT_OK ?
				      all == 0 :
				      (all & -all) ==
					      VIRTIO_AERO_LAYOUT_BIT(e1));
		}
	}
	/* deterministic, and blind to bytes past 0x100 */
	CHECK_EQ_INT(err, virtio_pci_cap_parse(buf, len, bp, &c2));
	CHECK_EQ_MEM(&c1, &c2, sizeof(c1));
	if (len == 4096) {
		CHECK_EQ_INT(err, virtio_pci_cap_parse(buf, 256, bp, &c2));
		CHECK_EQ_MEM(&c1, &c2, sizeof(c1));
	}
	check_decoded(virtio_pci_bars_decode(buf, len, dec), dec);
	if (virtio_pci_identity_read(buf, len, &id) == 0) {
		char ids[VIRTIO_HWID_LIST_MAX][VIRTIO_HWID_MAX];
		int t = virtio_pci_device_type(&id);

		CHECK(t == -ENODEV || t > 0);
		CHECK_EQ_UINT(VIRTIO_HWID_LIST_MAX,
			      virtio_hwid_list(&id, ids, VIRTIO_HWID_LIST_MAX));
		for (size_t k = 0; k < VIRTIO_HWID_LIST_MAX; k++)
			CHECK(virtio_hwid_binds(ids[k], &id));
	}
	return err;
}

static const char *can_mutate(void)
{
	return nfixtures ? NULL : "no capture could be read";
}

static void test_random_mutations(void)
{
	enum {
		ITERATIONS = 120000
	};
	unsigned hits[VIRTIO_PCI_CAP_MISSING_ISR_CFG + 1] = { 0 };
	unsigned distinct = 0;

	for (unsigned it = 0; it < ITERATIONS; it++) {
		const struct fixture *f;
		struct virtio_pci_bar bars[VIRTIO_PCI_NUM_BARS];
		const struct virtio_pci_bar *bp = NULL;
		enum virtio_pci_cap_err err;
		unsigned pick, which, bar_mode;
		size_t len;
		uint8_t *buf;

		which = rnd_below((unsigned)nfixtures);
		f = &fixtures[which];
		pick = rnd_below(100);
		if (pick < 70)
			len = 256;
		else if (pick < 85)
			len = 0x40 + rnd_below(0xC1);
		else
			len = 4096;
		buf = malloc(len); /* exact size: ASan sees overreads */
		assert(buf);
		for (size_t k = 0; k < len; k++)
			buf[k] = k < f->cfg_len ? f->cfg[k] : (uint8_t)rnd();
		mutate_bytes(buf, len);
		/* BARs: none, the capture's (decoded and sized), mutated */
		bar_mode = rnd_below(4);
		if (bar_mode >= 1) {
			fixture_bars(f, bars);
			if (bar_mode == 3)
				mutate_bar(bars);
			bp = bars;
		}
		/* the stream, as the code under test sees it */
		digest_u64(len);
		digest_bytes(buf, len);
		digest_u64(bp != NULL);
		for (unsigned i = 0; bp && i < VIRTIO_PCI_NUM_BARS; i++) {
			digest_u64(bars[i].present);
			digest_u64((uint64_t)bars[i].space);
			digest_u64(bars[i].length);
		}
		err = check_mutant(buf, len, bp);
		digest_u64((uint64_t)err);
		if (err <= VIRTIO_PCI_CAP_MISSING_ISR_CFG && !hits[err]++)
			distinct++;
		free(buf);
		if (harness_failures > 20)
			break; /* enough to debug */
	}
	/* the mutations reached OK and most error kinds */
	CHECK(hits[VIRTIO_PCI_CAP_OK] > 1000);
	CHECK(distinct >= 12);
	printf("# %u iterations, %u distinct results, %u ok\n", ITERATIONS,
	       distinct, hits[VIRTIO_PCI_CAP_OK]);
	/* equal in every build (gcc, clang, sanitizers) of the same tree */
	printf("# mutation stream digest %016llx\n",
	       (unsigned long long)digest);
}

static void test_fixtures_read(void)
{
	CHECK(nfixtures >= 1);
}

int main(void)
{
	int bad = load_all();

	if (bad < 0)
		return harness_skip("qemu-virtio-pci fixtures not found");
	printf("# %zu captures\n", nfixtures);
	/* a capture that does not parse is a broken fixture, not a skip */
	CHECK_EQ_INT(0, bad);
	RUN(test_fixtures_read);
	RUN_EACH("identity", test_identity, NULL);
	RUN_EACH("hwids", test_hwids, NULL);
	RUN_EACH("aero identity", test_aero_identity, NULL);
	RUN_EACH("bars", test_bars, NULL);
	RUN_EACH("capabilities", test_capabilities, can_caps);
	RUN_EACH("struct overlay", test_struct_overlay, can_overlay);
	RUN_EACH("aero layout", test_aero_layout, can_caps);
	if (can_mutate())
		virtio_skip("test_random_mutations", can_mutate());
	else
		RUN(test_random_mutations);
	return harness_exit();
}
