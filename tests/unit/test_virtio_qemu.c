/*
 * test_virtio_qemu.c: the virtio core against real QEMU config spaces.
 *
 * Reads the .txt captures of shared/fixtures/qemu-virtio-pci (a Linux
 * guest's sysfs view of QEMU 7.2 virtio-pci functions) at run time:
 * "DEV" gives the identity sysfs reported, "RES" the six BARs (start end
 * flags; 0x100 = I/O, 0x200 = memory), "CFG" the config space in hex.
 * Expectations are derived from the QEMU command line in the file header
 * and QEMU's hw/virtio/virtio-pci.c rules, never copied from a run:
 *  - type from the -device name; disable-modern=on means legacy only,
 *    disable-legacy=on (or a virtio-input device, which QEMU forces to
 *    virtio 1) means modern only, otherwise transitional;
 *  - modern-only ids are 0x1040 + type, revision 1; transitional and
 *    legacy keep the 0x1000-range id, revision 0, subsystem id = type;
 *  - modern structures live in the 64-bit memory BAR 4: common 0x0000,
 *    isr 0x1000, device 0x2000 (0x1000 each), notify 0x3000 with
 *    multiplier 4 and 4 * VIRTIO_QUEUE_MAX (1024) bytes, plus a PCI
 *    access cap; MSI-X (in BAR 1) whenever BAR 1 is implemented.
 * Then >= 100k seeded random mutations of these config spaces go through
 * the parser and identity code, checking invariants of every result (run
 * under ASan to catch out-of-bounds reads: buffers are exact-size).
 *
 * Exits 77 if the fixture directory is absent.
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

#define MAX_FIXTURES 32

struct fixture {
	char name[128];
	char args[512];
	unsigned vendor, device, subsys_vendor, subsys, rev, class_code;
	uint64_t res_start[6], res_end[6], res_flags[6];
	uint8_t cfg[4096];
	size_t cfg_len;
	struct virtio_pci_bar bars[6];
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

		if ((p = strstr(line, "qemu args:"))) {
			snprintf(f->args, sizeof(f->args), "%s", p + 10);
		} else if (!strncmp(line, "DEV ", 4)) {
			if (sscanf(line,
				   "DEV %*s vendor=%x device=%x "
				   "subsys_vendor=%x subsys=%x rev=%x class=%x",
				   &f->vendor, &f->device, &f->subsys_vendor,
				   &f->subsys, &f->rev, &f->class_code) != 6)
				goto bad;
		} else if (!strncmp(line, "RES ", 4) && nres < 6) {
			unsigned long long s, e, fl;

			if (sscanf(line, "RES %llx %llx %llx", &s, &e,
				   &fl) != 3)
				goto bad;
			f->res_start[nres] = s;
			f->res_end[nres] = e;
			f->res_flags[nres] = fl;
			nres++;
		} else if (!strncmp(line, "CFG ", 4)) {
			for (p = line + 4;
			     harness_hexval(p[0]) >= 0 &&
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
	if (nres != 6 || f->cfg_len < 64 || !f->vendor)
		return false;
	for (int i = 0; i < 6; i++) {
		/* sysfs resource: flags 0x100 IORESOURCE_IO, 0x200 MEM */
		f->bars[i].present = (f->res_flags[i] & 0x300) != 0 &&
				     f->res_end[i] > f->res_start[i];
		f->bars[i].space = f->res_flags[i] & 0x100 ?
					   VIRTIO_PCI_SPACE_IO :
					   VIRTIO_PCI_SPACE_MEMORY;
		f->bars[i].length = f->bars[i].present ?
			f->res_end[i] - f->res_start[i] + 1 : 0;
	}
	return true;
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
	int n;

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

		if (len > 4 && !strcmp(nm + len - 4, ".txt") &&
		    nfixtures < MAX_FIXTURES) {
			struct fixture *f = &fixtures[nfixtures];

			snprintf(file, sizeof(file), "%s/%s", path, nm);
			snprintf(f->name, sizeof(f->name), "%s", nm);
			if (load_fixture(file, f))
				nfixtures++;
			else
				fprintf(stderr, "cannot parse %s\n", file);
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

/* ---- what QEMU's rules say a fixture must be ---- */

static int expected_type(const struct fixture *f)
{
	if (strstr(f->args, "virtio-net-pci"))
		return VIRTIO_ID_NET;
	if (strstr(f->args, "virtio-blk-pci"))
		return VIRTIO_ID_BLOCK;
	if (strstr(f->args, "virtio-keyboard-pci") ||
	    strstr(f->args, "virtio-tablet-pci") ||
	    strstr(f->args, "virtio-mouse-pci"))
		return VIRTIO_ID_INPUT;
	return -1;
}

static bool legacy_only(const struct fixture *f)
{
	return strstr(f->args, "disable-modern=on") != NULL;
}

static bool modern_only(const struct fixture *f)
{
	return strstr(f->args, "disable-legacy=on") != NULL ||
	       expected_type(f) == VIRTIO_ID_INPUT;
}

/* QEMU: modern BAR 4, MSI-X BAR 1, legacy I/O BAR 0 */
#define QEMU_MODERN_BAR 4
#define QEMU_MSIX_BAR 1
#define QEMU_LEGACY_BAR 0
#define QEMU_VIRTIO_QUEUE_MAX 1024
#define QEMU_NOTIFY_MULT 4

#define CHECK_REGION_Q(r, off, len_)                                          \
	do {                                                                  \
		CHECK((r).present);                                           \
		CHECK_EQ_UINT(QEMU_MODERN_BAR, (r).bar);                      \
		CHECK((r).space == VIRTIO_PCI_SPACE_MEMORY);                  \
		CHECK_EQ_UINT(off, (r).offset);                               \
		CHECK_EQ_UINT(len_, (r).length);                              \
	} while (0)

static void test_fixtures_present(void)
{
	CHECK(nfixtures >= 1);
	for (size_t i = 0; i < nfixtures; i++)
		CHECK(expected_type(&fixtures[i]) > 0);
}

static void test_identity(void)
{
	for (size_t i = 0; i < nfixtures; i++) {
		const struct fixture *f = &fixtures[i];
		struct virtio_pci_identity id;
		int type = expected_type(f);

		harness_case = f->name;
		CHECK_EQ_INT(0, virtio_pci_identity_read(f->cfg, f->cfg_len,
							 &id));
		/* config bytes agree with what sysfs reported */
		CHECK_EQ_UINT(f->vendor, id.vendor);
		CHECK_EQ_UINT(f->device, id.device);
		CHECK_EQ_UINT(f->subsys_vendor, id.subsys_vendor);
		CHECK_EQ_UINT(f->subsys, id.subsys);
		CHECK_EQ_UINT(f->rev, id.revision);
		CHECK_EQ_UINT(f->class_code, id.class_code);
		/* and with QEMU's id rules for this -device */
		CHECK_EQ_UINT(VIRTIO_PCI_VENDOR, id.vendor);
		CHECK_EQ_INT(type, virtio_pci_device_type(&id));
		CHECK_EQ_INT(modern_only(f), virtio_pci_is_modern(&id));
		if (modern_only(f)) {
			CHECK_EQ_UINT(0x1040 + type, id.device);
			CHECK_EQ_UINT(1, id.revision);
		} else {
			CHECK(id.device >= 0x1000 && id.device <= 0x103F);
			CHECK_EQ_UINT(0, id.revision);
			CHECK_EQ_UINT(type, id.subsys);
		}
		CHECK(virtio_device_type_name((unsigned)type) != NULL);
	}
}

static void test_hwids(void)
{
	for (size_t i = 0; i < nfixtures; i++) {
		const struct fixture *f = &fixtures[i];
		struct virtio_pci_identity id;
		char ids[16][VIRTIO_HWID_MAX], want[VIRTIO_HWID_MAX];

		harness_case = f->name;
		virtio_pci_identity_read(f->cfg, f->cfg_len, &id);
		CHECK_EQ_UINT(11, virtio_hwid_list(&id, ids, 11));
		snprintf(want, sizeof(want),
			 "PCI\\VEN_%04X&DEV_%04X&SUBSYS_%04X%04X&REV_%02X",
			 f->vendor, f->device, f->subsys, f->subsys_vendor,
			 f->rev);
		CHECK_EQ_STR(want, ids[0]);
		CHECK(virtio_hwid_binds(want, &id));
		snprintf(want, sizeof(want), "PCI\\VEN_%04x&DEV_%04x",
			 f->vendor, f->device);
		CHECK(virtio_hwid_binds(want, &id));
		/* Aero's INFs gate on REV_01; QEMU modern devices pass */
		snprintf(want, sizeof(want), "PCI\\VEN_1AF4&DEV_%04X&REV_01",
			 f->device);
		CHECK_EQ_INT(f->rev == 1, virtio_hwid_binds(want, &id));
		/* not an Aero function: subsystem 0x1100 or revision 0 */
		CHECK(virtio_aero_device_find(&id) == NULL);
	}
}

static void test_capabilities(void)
{
	for (size_t i = 0; i < nfixtures; i++) {
		const struct fixture *f = &fixtures[i];
		struct virtio_pci_caps caps, nobars;
		const struct virtio_pci_bar *b = f->bars;
		enum virtio_pci_cap_err err;

		harness_case = f->name;
		err = virtio_pci_cap_parse(f->cfg, f->cfg_len, f->bars, &caps);
		CHECK_EQ_INT(b[QEMU_MSIX_BAR].present, caps.msix_offset != 0);
		CHECK_EQ_INT(!modern_only(f),
			     b[QEMU_LEGACY_BAR].present &&
				     b[QEMU_LEGACY_BAR].space ==
					     VIRTIO_PCI_SPACE_IO);
		if (legacy_only(f)) {
			CHECK_EQ_INT(VIRTIO_PCI_CAP_MISSING_COMMON_CFG, err);
			CHECK_EQ_UINT(0, caps.nvendor);
			CHECK(!caps.common.present && !caps.notify.present &&
			      !caps.isr.present && !caps.device.present &&
			      !caps.notify_io.present && !caps.pci_cfg.present);
			CHECK(!b[QEMU_MODERN_BAR].present);
			continue;
		}
		CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, err);
		CHECK(b[QEMU_MODERN_BAR].present &&
		      b[QEMU_MODERN_BAR].space == VIRTIO_PCI_SPACE_MEMORY);
		CHECK_REGION_Q(caps.common, 0x0000, 0x1000);
		CHECK_REGION_Q(caps.isr, 0x1000, 0x1000);
		CHECK_REGION_Q(caps.device, 0x2000, 0x1000);
		CHECK_REGION_Q(caps.notify, 0x3000,
			       QEMU_NOTIFY_MULT * QEMU_VIRTIO_QUEUE_MAX);
		CHECK_EQ_UINT(QEMU_NOTIFY_MULT, caps.notify.multiplier);
		CHECK(!caps.notify_io.present);
		CHECK(caps.pci_cfg.present);
		CHECK_EQ_UINT(sizeof(struct virtio_pci_cfg_cap),
			      caps.pci_cfg.cap_len);
		CHECK_EQ_UINT(sizeof(struct virtio_pci_notify_cap),
			      caps.notify.cap_len);
		/* five virtio caps; a spec-clean device has no anomalies */
		CHECK_EQ_UINT(5, caps.nvendor);
		CHECK_EQ_UINT(0, caps.anomalies);
		/* BAR 4 is sized to hold the notify area */
		CHECK(b[QEMU_MODERN_BAR].length >=
		      (uint64_t)caps.notify.offset + caps.notify.length);
		/* without BAR knowledge the result is the same */
		CHECK_EQ_INT(VIRTIO_PCI_CAP_OK,
			     virtio_pci_cap_parse(f->cfg, f->cfg_len, NULL,
						  &nobars));
		CHECK_EQ_UINT(caps.notify.offset, nobars.notify.offset);
		CHECK_EQ_UINT(caps.device.offset, nobars.device.offset);
		/* the last queue's notify address is inside the region */
		{
			uint64_t off;

			CHECK_EQ_INT(0, virtio_pci_notify_offset(
						&caps.notify,
						QEMU_VIRTIO_QUEUE_MAX - 1,
						&off));
			CHECK_EQ_UINT(0x3000 + 4 * (QEMU_VIRTIO_QUEUE_MAX - 1),
				      off);
		}
		/*
		 * Valid virtio, but not Aero's layout: modern-only QEMU has
		 * no BAR 0, transitional QEMU has its legacy I/O BAR there.
		 */
		CHECK_EQ_INT(modern_only(f) ?
				     VIRTIO_AERO_LAYOUT_BAR0_MISSING :
				     VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO,
			     virtio_aero_layout_check(&caps, f->bars, NULL));
	}
}

/* The spec structs laid over QEMU's bytes read the same as the parser. */
static void test_struct_overlay(void)
{
	for (size_t i = 0; i < nfixtures; i++) {
		const struct fixture *f = &fixtures[i];
		struct virtio_pci_caps caps;
		struct virtio_pci_notify_cap n;
		struct virtio_pci_cap c;

		if (virtio_pci_cap_parse(f->cfg, f->cfg_len, NULL, &caps))
			continue;
		harness_case = f->name;
		memcpy(&n, f->cfg + caps.notify.cap_offset, sizeof(n));
		CHECK_EQ_UINT(VIRTIO_PCI_CAP_VENDOR_ID, n.cap.cap_vndr);
		CHECK_EQ_UINT(VIRTIO_PCI_CAP_NOTIFY_CFG, n.cap.cfg_type);
		CHECK_EQ_UINT(caps.notify.bar, n.cap.bar);
		CHECK_EQ_UINT(caps.notify.offset,
			      virtio_cpu_le32(n.cap.offset));
		CHECK_EQ_UINT(caps.notify.length,
			      virtio_cpu_le32(n.cap.length));
		CHECK_EQ_UINT(caps.notify.multiplier,
			      virtio_cpu_le32(n.notify_off_multiplier));
		memcpy(&c, f->cfg + caps.common.cap_offset, sizeof(c));
		CHECK_EQ_UINT(VIRTIO_PCI_CAP_COMMON_CFG, c.cfg_type);
		CHECK_EQ_UINT(caps.common.length, virtio_cpu_le32(c.length));
		/* the common structure is at least the 1.0 layout */
		CHECK(caps.common.length >=
		      sizeof(struct virtio_pci_common_cfg));
	}
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
		{ &c->isr, 3 }, { &c->device, 4 },
	};
	size_t limit = len < 256 ? len : 256;

	CHECK(c->common.present && c->isr.present);
	CHECK(c->notify.present || c->notify_io.present);
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
		CHECK_EQ_UINT(r->length,
			      virtio_le32(cfg + r->cap_offset + 12));
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

static void test_random_mutations(void)
{
	enum { ITERATIONS = 120000 };
	unsigned hits[VIRTIO_PCI_CAP_MISSING_ISR_CFG + 1] = { 0 };
	unsigned distinct = 0;

	if (!nfixtures)
		return;
	for (unsigned it = 0; it < ITERATIONS; it++) {
		const struct fixture *f = &fixtures[rnd_below(
			(unsigned)nfixtures)];
		struct virtio_pci_bar bars[6];
		struct virtio_pci_caps c1, c2;
		struct virtio_pci_identity id;
		const struct virtio_pci_bar *bp = NULL;
		enum virtio_pci_cap_err err;
		unsigned pick = rnd_below(100), nmut;
		size_t len;
		uint8_t *buf;

		len = pick < 70 ? 256 :
		      pick < 85 ? 0x40 + rnd_below(0xC1) : 4096;
		buf = malloc(len);	/* exact size: ASan sees overreads */
		assert(buf);
		for (size_t k = 0; k < len; k++)
			buf[k] = k < f->cfg_len ? f->cfg[k] :
						  (uint8_t)rnd();
		nmut = 1 + rnd_below(6);
		for (unsigned m = 0; m < nmut; m++) {
			size_t at;
			uint8_t v;

			switch (rnd_below(4)) {
			case 0:
				at = 0x34;
				break;
			case 1:
				at = 0x40 + rnd_below(0xC0);
				break;
			default:
				at = rnd_below(256);
				break;
			}
			switch (rnd_below(6)) {
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
				v = (uint8_t)(at < len ? buf[at] ^
					      (1u << rnd_below(8)) : 0);
				break;
			default:
				v = (uint8_t)rnd();
				break;
			}
			if (at < len)
				buf[at] = v;
		}
		if (rnd_below(2)) {
			memcpy(bars, f->bars, sizeof(bars));
			if (rnd_below(4) == 0) {
				unsigned b = rnd_below(6);

				switch (rnd_below(3)) {
				case 0:
					bars[b].present = !bars[b].present;
					break;
				case 1:
					bars[b].space = bars[b].space ==
							VIRTIO_PCI_SPACE_IO ?
						VIRTIO_PCI_SPACE_MEMORY :
						VIRTIO_PCI_SPACE_IO;
					break;
				default:
					bars[b].length = rnd() >> rnd_below(64);
					break;
				}
			}
			bp = bars;
		}
		err = virtio_pci_cap_parse(buf, len, bp, &c1);
		CHECK(err <= VIRTIO_PCI_CAP_MISSING_ISR_CFG);
		CHECK(virtio_pci_cap_strerror(err) != NULL);
		CHECK(c1.err_offset < 256);
		if (err <= VIRTIO_PCI_CAP_MISSING_ISR_CFG && !hits[err]++)
			distinct++;
		if (err == VIRTIO_PCI_CAP_OK) {
			check_ok_result(buf, len, bp, &c1);
			if (bp)
				virtio_aero_layout_check(&c1, bp, NULL);
		}
		/* deterministic, and blind to bytes past 0x100 */
		CHECK_EQ_INT(err, virtio_pci_cap_parse(buf, len, bp, &c2));
		CHECK_EQ_MEM(&c1, &c2, sizeof(c1));
		if (len == 4096) {
			CHECK_EQ_INT(err,
				     virtio_pci_cap_parse(buf, 256, bp, &c2));
			CHECK_EQ_MEM(&c1, &c2, sizeof(c1));
		}
		if (virtio_pci_identity_read(buf, len, &id) == 0) {
			char ids[11][VIRTIO_HWID_MAX];
			int t = virtio_pci_device_type(&id);

			CHECK(t == -ENODEV || t > 0);
			CHECK_EQ_UINT(11, virtio_hwid_list(&id, ids, 11));
			for (size_t k = 0; k < 11; k++)
				CHECK(virtio_hwid_binds(ids[k], &id));
		}
		free(buf);
		if (harness_failures > 20)
			break;	/* enough to debug */
	}
	/* the mutations reached OK and most error kinds */
	CHECK(hits[VIRTIO_PCI_CAP_OK] > 1000);
	CHECK(distinct >= 12);
	printf("# %u iterations, %u distinct results, %u ok\n", ITERATIONS,
	       distinct, hits[VIRTIO_PCI_CAP_OK]);
}

int main(void)
{
	if (load_all() < 0) {
		return harness_skip("qemu-virtio-pci fixtures not found");
	}
	printf("# %zu fixtures\n", nfixtures);
	RUN(test_fixtures_present);
	RUN(test_identity);
	RUN(test_hwids);
	RUN(test_capabilities);
	RUN(test_struct_overlay);
	RUN(test_random_mutations);
	return harness_exit();
}
