/*
 * test_virtio_cap.c: the virtio PCI capability parser and the Aero layout
 * check on hand-built config spaces.
 *
 * Covers every case of the Aero reference suite
 * (virtio_pci_cap_parser_test.c, 75 tests), rewritten for the
 * spec-conformant rules of virtio_pci_cap.h; where the expected result
 * differs from the reference the test says why.  Real QEMU config spaces
 * are in test_virtio_qemu.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tests/harness.h"
#include "virtio/virtio_aero_layout.h"
#include "virtio/virtio_pci_cap.h"
#include "virtio/virtio_spec.h"

static uint8_t cfg[4096];
static struct virtio_pci_bar bars[6];
static struct virtio_pci_caps caps;

/* A type 0 header with the capability bit and pointer 0x40. */
static void reset_cfg(void)
{
	memset(cfg, 0, sizeof(cfg));
	virtio_put_le16(cfg + 0x00, 0x1AF4);
	virtio_put_le16(cfg + 0x02, 0x1041);
	virtio_put_le16(cfg + 0x06, 0x0010);
	cfg[0x34] = 0x40;
	memset(bars, 0, sizeof(bars));
}

static void add_cap(unsigned off, unsigned next, unsigned type, unsigned bar,
		    uint32_t roff, uint32_t rlen, unsigned cap_len)
{
	cfg[off] = VIRTIO_PCI_CAP_VENDOR_ID;
	cfg[off + 1] = (uint8_t)next;
	cfg[off + 2] = (uint8_t)cap_len;
	cfg[off + 3] = (uint8_t)type;
	cfg[off + 4] = (uint8_t)bar;
	virtio_put_le32(cfg + off + 8, roff);
	virtio_put_le32(cfg + off + 12, rlen);
}

static void set_mult(unsigned off, uint32_t mult)
{
	virtio_put_le32(cfg + off + 16, mult);
}

/*
 * The reference suite's multi-BAR device: COMMON@0x40 bar0 0x1000/0x100,
 * NOTIFY@0x54 bar2 0x2000/0x200 x4, ISR@0x70 bar1 0x3000/0x10,
 * DEVICE@0x80 bar4 0x4000/0x400.
 */
static void build_multi_bar(void)
{
	reset_cfg();
	add_cap(0x40, 0x54, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x1000, 0x100, 16);
	add_cap(0x54, 0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0x2000, 0x200, 20);
	set_mult(0x54, 4);
	add_cap(0x70, 0x80, VIRTIO_PCI_CAP_ISR_CFG, 1, 0x3000, 0x10, 16);
	add_cap(0x80, 0x00, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x4000, 0x400, 16);
}

static enum virtio_pci_cap_err parse(size_t len)
{
	return virtio_pci_cap_parse(cfg, len, NULL, &caps);
}

static enum virtio_pci_cap_err parse_bars(size_t len)
{
	return virtio_pci_cap_parse(cfg, len, bars, &caps);
}

static void all_bars(uint64_t len)
{
	for (int i = 0; i < 6; i++) {
		bars[i].present = true;
		bars[i].space = VIRTIO_PCI_SPACE_MEMORY;
		bars[i].length = len;
	}
}

#define CHECK_REGION(r, b, off, len_)                                          \
	do {                                                                   \
		CHECK((r).present);                                            \
		CHECK_EQ_UINT(b, (r).bar);                                     \
		CHECK_EQ_UINT(off, (r).offset);                                \
		CHECK_EQ_UINT(len_, (r).length);                               \
	} while (0)

/* ---- success paths ---- */

static void test_multi_bar(void)
{
	build_multi_bar();
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_REGION(caps.common, 0, 0x1000, 0x100);
	CHECK_REGION(caps.notify, 2, 0x2000, 0x200);
	CHECK_REGION(caps.isr, 1, 0x3000, 0x10);
	CHECK_REGION(caps.device, 4, 0x4000, 0x400);
	CHECK_EQ_UINT(4, caps.notify.multiplier);
	CHECK(!caps.notify_io.present);
	CHECK(!caps.pci_cfg.present);
	CHECK_EQ_UINT(4, caps.ncaps);
	CHECK_EQ_UINT(4, caps.nvendor);
	CHECK_EQ_UINT(0, caps.anomalies);
	CHECK_EQ_UINT(0, caps.msix_offset);
}

/* Reference "contract layout": id bytes and cap positions round-trip. */
static void test_ids_and_positions(void)
{
	build_multi_bar();
	cfg[0x40 + 5] = 0x11;
	cfg[0x54 + 5] = 0x22;
	cfg[0x70 + 5] = 0x33;
	cfg[0x80 + 5] = 0x44;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(0x11, caps.common.id);
	CHECK_EQ_UINT(0x22, caps.notify.id);
	CHECK_EQ_UINT(0x33, caps.isr.id);
	CHECK_EQ_UINT(0x44, caps.device.id);
	CHECK_EQ_UINT(0x40, caps.common.cap_offset);
	CHECK_EQ_UINT(0x54, caps.notify.cap_offset);
	CHECK_EQ_UINT(0x70, caps.isr.cap_offset);
	CHECK_EQ_UINT(0x80, caps.device.cap_offset);
	CHECK_EQ_UINT(16, caps.common.cap_len);
	CHECK_EQ_UINT(20, caps.notify.cap_len);
	CHECK_EQ_UINT(16, caps.isr.cap_len);
	CHECK_EQ_UINT(16, caps.device.cap_len);
}

/* §4.1.4.1: the driver MUST accept a larger cap_len. */
static void test_notify_cap_len_24(void)
{
	build_multi_bar();
	cfg[0x54 + 2] = 24;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(24, caps.notify.cap_len);
	CHECK_EQ_UINT(4, caps.notify.multiplier);
}

/* A non-vendor capability (MSI, id 0x05) is walked over. */
static void test_msi_cap_skipped(void)
{
	build_multi_bar();
	/* MSI at 0x40 -> COMMON moved to 0x44 -> 0x54... */
	memmove(cfg + 0x44, cfg + 0x40, 16);
	cfg[0x40] = 0x05;
	cfg[0x41] = 0x44;
	cfg[0x42] = 0x80;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_REGION(caps.common, 0, 0x1000, 0x100);
	CHECK_EQ_UINT(0x44, caps.common.cap_offset);
	CHECK_EQ_UINT(5, caps.ncaps);
	CHECK_EQ_UINT(4, caps.nvendor);
}

static void test_msix_cap_recorded(void)
{
	build_multi_bar();
	cfg[0x80 + 1] = 0x90;
	cfg[0x90] = 0x11;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(0x90, caps.msix_offset);
	/* a second MSI-X capability does not move it */
	cfg[0x91] = 0xA0;
	cfg[0xA0] = 0x11;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(0x90, caps.msix_offset);
}

/* §4.1.4.1: reserved cfg_type MUST be ignored, whatever its cap_len. */
static void test_reserved_cfg_type_ignored(void)
{
	static const uint8_t reserved[] = { 0, 6, 7, 10, 0x99, 0xFF };

	for (size_t i = 0; i < sizeof(reserved); i++) {
		build_multi_bar();
		cfg[0x80 + 1] = 0x90;
		add_cap(0x90, 0, reserved[i], 9, 0xFFFFFFFF, 0xFFFFFFFF, 2);
		CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
		CHECK_EQ_UINT(VIRTIO_PCI_ANOM_RESERVED_TYPE, caps.anomalies);
	}
}

/* Shared memory (8) and vendor data (9) are defined; not anomalies. */
static void test_shm_and_vendor_cfg_ignored(void)
{
	build_multi_bar();
	cfg[0x80 + 1] = 0x90;
	add_cap(0x90, 0xA0, VIRTIO_PCI_CAP_SHARED_MEMORY_CFG, 2, 0, 0, 24);
	add_cap(0xA0, 0, VIRTIO_PCI_CAP_VENDOR_CFG, 0, 0, 0, 6);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(0, caps.anomalies);
	CHECK_EQ_UINT(6, caps.nvendor);
}

/*
 * Duplicate NOTIFY 0x100 then 0x200 (mult 8).  The reference keeps the
 * larger (second); §4.1.4.1 says use the first, and Linux does.
 */
static void test_duplicate_first_wins(void)
{
	reset_cfg();
	add_cap(0x40, 0x50, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x1000, 0x100, 16);
	add_cap(0x50, 0x64, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0x2000, 0x100, 20);
	set_mult(0x50, 4);
	add_cap(0x64, 0x78, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0x2100, 0x200, 20);
	set_mult(0x64, 8);
	add_cap(0x78, 0x88, VIRTIO_PCI_CAP_ISR_CFG, 1, 0x3000, 0x10, 16);
	add_cap(0x88, 0x00, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x4000, 0x400, 16);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_REGION(caps.notify, 2, 0x2000, 0x100);
	CHECK_EQ_UINT(4, caps.notify.multiplier);
	CHECK_EQ_UINT(0x50, caps.notify.cap_offset);
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_DUPLICATE, caps.anomalies);
}

/*
 * A malformed later duplicate is never inspected (the reference fails
 * with NOTIFY_CAP_LEN_TOO_SMALL because it checks every instance).
 */
static void test_bad_later_duplicate_ignored(void)
{
	build_multi_bar();
	cfg[0x80 + 1] = 0x90;
	add_cap(0x90, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, 9, 0x2001, 0, 16);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_REGION(caps.notify, 2, 0x2000, 0x200);
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_DUPLICATE, caps.anomalies);
	/* the same with BAR types known: a second memory NOTIFY */
	all_bars(0x10000);
	cfg[0x94] = 3;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_DUPLICATE, caps.anomalies);
	CHECK(!caps.notify_io.present);
	/* in I/O space it is the first of its kind, so it must be valid */
	bars[3].space = VIRTIO_PCI_SPACE_IO;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL, parse_bars(256));
	CHECK_EQ_UINT(0x90, caps.err_offset);
}

/* The first instance is the device's preferred one: if broken, fail. */
static void test_bad_first_notify_fails(void)
{
	reset_cfg();
	add_cap(0x40, 0x50, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x1000, 0x100, 16);
	add_cap(0x50, 0x60, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0x2000, 0x100, 16);
	add_cap(0x60, 0x74, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0x2000, 0x100, 20);
	add_cap(0x74, 0x00, VIRTIO_PCI_CAP_ISR_CFG, 1, 0x3000, 0x10, 16);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL, parse(256));
	CHECK_EQ_UINT(0x50, caps.err_offset);
}

/* ---- header and list walk errors ---- */

static void test_cfg_too_small(void)
{
	build_multi_bar();
	CHECK_EQ_INT(VIRTIO_PCI_CAP_CFG_TOO_SMALL, parse(0x20));
	CHECK_EQ_INT(VIRTIO_PCI_CAP_CFG_TOO_SMALL, parse(0x3F));
	CHECK_EQ_INT(VIRTIO_PCI_CAP_CFG_TOO_SMALL, parse(0));
}

static void test_no_cap_list(void)
{
	build_multi_bar();
	virtio_put_le16(cfg + 0x06, 0x0000);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NO_CAP_LIST, parse(256));
	CHECK_EQ_UINT(0x06, caps.err_offset);
	build_multi_bar();
	cfg[0x34] = 0;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NO_CAP_LIST, parse(256));
	CHECK_EQ_UINT(0x34, caps.err_offset);
	/* reserved low bits only: still no list */
	cfg[0x34] = 0x03;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NO_CAP_LIST, parse(256));
}

/*
 * Pointer 0x41: PCI 3.0 §6.7 says software masks bits 1:0, so this is
 * 0x40 and parses (the reference returns CAP_PTR_UNALIGNED).  The masking
 * is recorded as an anomaly.
 */
static void test_ptr_low_bits_masked(void)
{
	build_multi_bar();
	cfg[0x34] = 0x41;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_PTR_LOW_BITS, caps.anomalies);
	CHECK_REGION(caps.common, 0, 0x1000, 0x100);
}

static void test_ptr_out_of_range(void)
{
	build_multi_bar();
	CHECK_EQ_INT(VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE, parse(0x40));
	cfg[0x34] = 0x3C;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE, parse(256));
	cfg[0x34] = 0x00 + 0x04;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE, parse(256));
	cfg[0x34] = 0x80;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_PTR_OUT_OF_RANGE, parse(0x80));
}

static void test_header_truncated(void)
{
	build_multi_bar();
	/* pointer 0x40 is inside 0x41 bytes, but the next byte is not */
	CHECK_EQ_INT(VIRTIO_PCI_CAP_HEADER_TRUNCATED, parse(0x41));
	/* vendor cap: cfg_type (byte 3) cut off */
	CHECK_EQ_INT(VIRTIO_PCI_CAP_HEADER_TRUNCATED, parse(0x43));
	CHECK_EQ_UINT(0x40, caps.err_offset);
	/* any cap, not only a vendor one: its next byte (0x41) is missing */
	build_multi_bar();
	cfg[0x40] = 0x05; /* MSI */
	cfg[0x41] = 0x00;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_HEADER_TRUNCATED, parse(0x41));
	CHECK_EQ_UINT(0x40, caps.err_offset);
}

/* next 0x55 masks to 0x54, the NOTIFY cap (reference: NEXT_UNALIGNED). */
static void test_next_low_bits_masked(void)
{
	build_multi_bar();
	cfg[0x41] = 0x55;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_PTR_LOW_BITS, caps.anomalies);
	CHECK(caps.notify.present);
}

static void test_next_out_of_range(void)
{
	build_multi_bar();
	cfg[0x41] = 0xF0;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE, parse(0x80));
	CHECK_EQ_UINT(0x40, caps.err_offset);
	build_multi_bar();
	cfg[0x41] = 0x3C;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE, parse(256));
	/* exactly at the end of a 0x80-byte space is already outside */
	build_multi_bar();
	cfg[0x41] = 0x80;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NEXT_OUT_OF_RANGE, parse(0x80));
	CHECK_EQ_UINT(0x40, caps.err_offset);
}

static void test_list_loops(void)
{
	/* tail loop 0x80 -> 0x54 (the reference's case) */
	build_multi_bar();
	cfg[0x81] = 0x54;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LIST_LOOP, parse(256));
	CHECK_EQ_UINT(0x54, caps.err_offset);
	/* mid-list loop 0x54 -> 0x40 */
	build_multi_bar();
	cfg[0x55] = 0x40;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LIST_LOOP, parse(256));
	/* self loop, through masked bits */
	build_multi_bar();
	cfg[0x41] = 0x43;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LIST_LOOP, parse(256));
}

/* 48 caps fill 0x40..0xFF; the walk visits each once and stops. */
static void test_longest_list(void)
{
	reset_cfg();
	for (unsigned off = 0x40; off < 0x100; off += 4) {
		cfg[off] = 0x0A; /* some non-vendor id */
		cfg[off + 1] = (uint8_t)(off + 4 < 0x100 ? off + 4 : 0);
	}
	CHECK_EQ_INT(VIRTIO_PCI_CAP_MISSING_COMMON_CFG, parse(256));
	CHECK_EQ_UINT(48, caps.ncaps);
	/* and closing the ring makes it a loop, not a hang */
	cfg[0xFD] = 0x40;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LIST_LOOP, parse(4096));
}

/* ---- vendor capability errors ---- */

static void test_cap_len_too_small(void)
{
	build_multi_bar();
	cfg[0x42] = 8;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LEN_TOO_SMALL, parse(256));
	CHECK_EQ_UINT(0x40, caps.err_offset);
}

static void test_notify_cap_len(void)
{
	build_multi_bar();
	cfg[0x56] = 16;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL, parse(256));
	cfg[0x56] = 19;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_NOTIFY_LEN_TOO_SMALL, parse(256));
	/* below the generic 16 the generic error comes first */
	cfg[0x56] = 15;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LEN_TOO_SMALL, parse(256));
	cfg[0x56] = 20;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
}

static void test_cap_truncated(void)
{
	build_multi_bar();
	cfg[0x72] = 80;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_TRUNCATED, parse(0x80));
	CHECK_EQ_UINT(0x70, caps.err_offset);
	/* odd length: DEVICE at 0x80 needs 0x90, 0x8F is one short */
	build_multi_bar();
	CHECK_EQ_INT(VIRTIO_PCI_CAP_TRUNCATED, parse(0x8F));
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(0x90));
}

/*
 * A cap at 0xF8 with cap_len 16 would cross 0x100.  Even with 4096
 * bytes of config space it is truncated: capabilities live in the
 * 256-byte PCI-compatible space (PCI 3.0 §6.7).
 */
static void test_cap_crossing_0x100(void)
{
	build_multi_bar();
	cfg[0x81] = 0xF8;
	add_cap(0xF8, 0, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 20);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_TRUNCATED, parse(4096));
	CHECK_EQ_UINT(0xF8, caps.err_offset);
	/* at 0xFC only the 4-byte header fits; still truncated */
	build_multi_bar();
	cfg[0x83] = 0x77; /* the DEVICE cap at 0xFC is the first */
	cfg[0x81] = 0xFC;
	add_cap(0xFC, 0, VIRTIO_PCI_CAP_DEVICE_CFG, 0, 0, 0, 16);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_TRUNCATED, parse(4096));
}

/*
 * bar 6: §4.1.4.1 says the driver MUST ignore a reserved bar value (the
 * reference fails with BAR_INDEX_OUT_OF_RANGE).  Alone, the type is then
 * missing; with a later valid instance, that one is used.
 */
static void test_reserved_bar_ignored(void)
{
	build_multi_bar();
	cfg[0x44] = 6;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_MISSING_COMMON_CFG, parse(256));
	CHECK(caps.anomalies & VIRTIO_PCI_ANOM_RESERVED_BAR);
	cfg[0x81] = 0x90;
	add_cap(0x90, 0, VIRTIO_PCI_CAP_COMMON_CFG, 3, 0x5000, 0x38, 16);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_REGION(caps.common, 3, 0x5000, 0x38);
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_RESERVED_BAR, caps.anomalies);
}

/*
 * A BAR the caller reports absent: the cap is skipped as Linux's
 * find_capability does (the reference: BAR_ADDRESS_MISSING).
 */
static void test_absent_bar_ignored(void)
{
	build_multi_bar();
	all_bars(0);
	bars[0].present = false;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_MISSING_COMMON_CFG, parse_bars(256));
	CHECK(caps.anomalies & VIRTIO_PCI_ANOM_ABSENT_BAR);
	CHECK(caps.notify.present);
}

/* Reference "base + offset overflow", here the u32 end of the region. */
static void test_region_overflow(void)
{
	build_multi_bar();
	virtio_put_le32(cfg + 0x54 + 8, 0xFFFFFF00);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_REGION_OVERFLOW, parse(256));
	CHECK_EQ_UINT(0x54, caps.err_offset);
	/* ending exactly at 4 GiB wraps a u32 end to 0 */
	virtio_put_le32(cfg + 0x54 + 8, 0xFFFFFE00);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_REGION_OVERFLOW, parse(256));
	virtio_put_le32(cfg + 0x54 + 8, 0xFFFFFC00);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	virtio_put_le32(cfg + 0x54 + 8, 0);
	virtio_put_le32(cfg + 0x54 + 12, 0xFFFFFFFE);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	virtio_put_le32(cfg + 0x54 + 8, 2);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_REGION_OVERFLOW, parse(256));
}

static void test_missing_each(void)
{
	static const struct {
		unsigned off;
		enum virtio_pci_cap_err err;
	} cases[] = {
		{ 0x40, VIRTIO_PCI_CAP_MISSING_COMMON_CFG },
		{ 0x54, VIRTIO_PCI_CAP_MISSING_NOTIFY_CFG },
		{ 0x70, VIRTIO_PCI_CAP_MISSING_ISR_CFG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_multi_bar();
		cfg[cases[i].off + 3] = 0x77; /* reserved: ignored */
		CHECK_EQ_INT(cases[i].err, parse(256));
		CHECK_EQ_UINT(0, caps.err_offset);
	}
}

/*
 * No DEVICE cap: §4.1.4.6 only requires it for devices with device
 * config (the reference makes it mandatory).  Recorded as an anomaly.
 */
static void test_device_cfg_optional(void)
{
	build_multi_bar();
	cfg[0x71] = 0;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK(!caps.device.present);
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_NO_DEVICE_CFG, caps.anomalies);
}

static void test_null_arguments(void)
{
	build_multi_bar();
	memset(&caps, 0xA5, sizeof(caps));
	CHECK_EQ_INT(VIRTIO_PCI_CAP_BAD_ARGUMENT,
		     virtio_pci_cap_parse(NULL, 256, NULL, &caps));
	CHECK(!caps.common.present);
	CHECK_EQ_UINT(0, caps.ncaps);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_BAD_ARGUMENT,
		     virtio_pci_cap_parse(cfg, 256, NULL, NULL));
}

/* ---- checks the reference lacks ---- */

static void test_offset_alignment(void)
{
	static const struct {
		unsigned cap;
		uint32_t off;
		enum virtio_pci_cap_err err;
	} cases[] = {
		{ 0x40, 0x1002, VIRTIO_PCI_CAP_OFFSET_UNALIGNED }, /* 4 */
		{ 0x40, 0x1004, VIRTIO_PCI_CAP_OK },
		{ 0x54, 0x2001, VIRTIO_PCI_CAP_OFFSET_UNALIGNED }, /* 2 */
		{ 0x54, 0x2002, VIRTIO_PCI_CAP_OK },
		{ 0x70, 0x3001, VIRTIO_PCI_CAP_OK },		   /* 1 */
		{ 0x80, 0x4002, VIRTIO_PCI_CAP_OFFSET_UNALIGNED }, /* 4 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_multi_bar();
		virtio_put_le32(cfg + cases[i].cap + 8, cases[i].off);
		CHECK_EQ_INT(cases[i].err, parse(256));
		if (cases[i].err)
			CHECK_EQ_UINT(cases[i].cap, caps.err_offset);
	}
}

static void test_region_minimum_lengths(void)
{
	static const struct {
		unsigned cap;
		uint32_t len;
		enum virtio_pci_cap_err err;
	} cases[] = {
		{ 0x40, 55, VIRTIO_PCI_CAP_REGION_TOO_SMALL },
		{ 0x40, 56, VIRTIO_PCI_CAP_OK },
		{ 0x54, 1, VIRTIO_PCI_CAP_REGION_TOO_SMALL },
		{ 0x54, 2, VIRTIO_PCI_CAP_OK },
		{ 0x70, 0, VIRTIO_PCI_CAP_REGION_TOO_SMALL },
		{ 0x70, 1, VIRTIO_PCI_CAP_OK },
		{ 0x80, 0, VIRTIO_PCI_CAP_REGION_TOO_SMALL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_multi_bar();
		virtio_put_le32(cfg + cases[i].cap + 12, cases[i].len);
		CHECK_EQ_INT(cases[i].err, parse(256));
	}
}

static void test_region_outside_bar(void)
{
	build_multi_bar();
	all_bars(0x10000);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	bars[2].length = 0x2200; /* notify 0x2000 + 0x200: exact fit */
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	bars[2].length = 0x21FF;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_REGION_OUTSIDE_BAR, parse_bars(256));
	CHECK_EQ_UINT(0x54, caps.err_offset);
	bars[2].length = 0; /* unknown: no check */
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
}

static void test_notify_multiplier(void)
{
	static const struct {
		uint32_t mult;
		enum virtio_pci_cap_err err;
	} cases[] = {
		{ 0, VIRTIO_PCI_CAP_OK },
		{ 1, VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER },
		{ 2, VIRTIO_PCI_CAP_OK },
		{ 3, VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER },
		{ 6, VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER },
		{ 0x1000, VIRTIO_PCI_CAP_OK },
		{ 0x80000000, VIRTIO_PCI_CAP_OK },
		{ 0xFFFFFFFF, VIRTIO_PCI_CAP_BAD_NOTIFY_MULTIPLIER },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_multi_bar();
		set_mult(0x54, cases[i].mult);
		CHECK_EQ_INT(cases[i].err, parse(256));
	}
}

static void test_region_overlap(void)
{
	build_multi_bar();
	/* ISR into bar0 right after common: adjacent is fine */
	cfg[0x74] = 0;
	virtio_put_le32(cfg + 0x78, 0x1100);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	virtio_put_le32(cfg + 0x78, 0x10FC);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_REGION_OVERLAP, parse(256));
	CHECK_EQ_UINT(0x70, caps.err_offset);
	/* same offsets in different BARs do not overlap */
	build_multi_bar();
	virtio_put_le32(cfg + 0x78, 0x1000);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
}

/* On error, what was found before the failure is kept. */
static void test_partial_output_on_error(void)
{
	build_multi_bar();
	virtio_put_le32(cfg + 0x70 + 8, 0x3000);
	cfg[0x82] = 4;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LEN_TOO_SMALL, parse(256));
	CHECK_EQ_UINT(0x80, caps.err_offset);
	CHECK_REGION(caps.common, 0, 0x1000, 0x100);
	CHECK_REGION(caps.notify, 2, 0x2000, 0x200);
	CHECK_REGION(caps.isr, 1, 0x3000, 0x10);
	CHECK(!caps.device.present);
	CHECK_EQ_UINT(4, caps.ncaps);
}

/* QEMU's modern-pio-notify: an I/O notify listed before the memory one. */
static void test_notify_io_and_memory(void)
{
	build_multi_bar();
	all_bars(0x10000);
	bars[3].space = VIRTIO_PCI_SPACE_IO;
	bars[3].length = 4;
	cfg[0x81] = 0x90;
	add_cap(0x90, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, 3, 0, 2, 20);
	set_mult(0x90, 0);
	/* move it in front: pointer -> 0x90 -> 0x40 ... 0x80 -> end */
	cfg[0x34] = 0x90;
	cfg[0x91] = 0x40;
	cfg[0x81] = 0;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK_REGION(caps.notify, 2, 0x2000, 0x200);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_MEMORY, caps.notify.space);
	CHECK_REGION(caps.notify_io, 3, 0, 2);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_IO, caps.notify_io.space);
	CHECK_EQ_UINT(0, caps.anomalies);
	/* both reported, in the device's order: I/O first */
	CHECK(caps.notify_io_first);
	CHECK(virtio_pci_notify_select(&caps, true, true) == &caps.notify_io);
	CHECK(virtio_pci_notify_select(&caps, true, false) == &caps.notify);
	CHECK(virtio_pci_notify_select(&caps, false, true) == &caps.notify_io);
	CHECK(virtio_pci_notify_select(&caps, false, false) == NULL);
	CHECK(virtio_pci_notify_select(NULL, true, true) == NULL);
	/* memory listed first: 0x34 -> 0x40 ... 0x80 -> 0x90 -> end */
	cfg[0x34] = 0x40;
	cfg[0x81] = 0x90;
	cfg[0x91] = 0;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK(caps.notify.present && caps.notify_io.present);
	CHECK(!caps.notify_io_first);
	CHECK(virtio_pci_notify_select(&caps, true, true) == &caps.notify);
	CHECK(virtio_pci_notify_select(&caps, false, true) == &caps.notify_io);
	/* back to I/O first for the rest */
	cfg[0x34] = 0x90;
	cfg[0x91] = 0x40;
	cfg[0x81] = 0;
	/* with both taken, a third NOTIFY (even a broken one) is ignored */
	cfg[0x81] = 0xA4;
	add_cap(0xA4, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, 3, 1, 0, 4);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_DUPLICATE, caps.anomalies);
	cfg[0x81] = 0;
	/* without BAR types both are just NOTIFY caps: first wins */
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK_REGION(caps.notify, 3, 0, 2);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_UNKNOWN, caps.notify.space);
	CHECK(!caps.notify_io.present);
	CHECK(!caps.notify_io_first);
	CHECK_EQ_UINT(VIRTIO_PCI_ANOM_DUPLICATE, caps.anomalies);
	/* unknown space: whatever the driver maps, it is the one to try */
	CHECK(virtio_pci_notify_select(&caps, false, true) == &caps.notify);
	CHECK(virtio_pci_notify_select(&caps, true, false) == &caps.notify);
	/* an I/O notify alone is enough */
	bars[2].present = false;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK(!caps.notify.present);
	CHECK(caps.notify_io.present);
	CHECK(caps.notify_io_first);
	CHECK(virtio_pci_notify_select(&caps, true, false) == NULL);
	CHECK(virtio_pci_notify_select(&caps, true, true) == &caps.notify_io);
}

/* ---- BAR registers (PCI 3.0 §6.2.5.1) ---- */

static void put_bar(unsigned slot, uint32_t v)
{
	virtio_put_le32(cfg + 0x10 + 4 * slot, v);
}

static void test_bars_decode(void)
{
	struct virtio_pci_bar b[6];

	reset_cfg();
	put_bar(0, 0x0000C001); /* I/O at 0xC000 */
	put_bar(1, 0xFEBF1000); /* 32-bit memory */
	put_bar(2, 0xE000000C); /* 64-bit prefetchable ... */
	put_bar(3, 0x00000001); /* ... at 0x1_E0000000 */
	put_bar(4, 0x00000000); /* unimplemented */
	put_bar(5, 0xFD000008); /* 32-bit prefetchable */
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, b));
	CHECK(b[0].present && b[0].space == VIRTIO_PCI_SPACE_IO);
	CHECK_EQ_UINT(0xC000, b[0].base);
	CHECK(!b[0].is_64bit && !b[0].prefetchable);
	CHECK(b[1].present && b[1].space == VIRTIO_PCI_SPACE_MEMORY);
	CHECK_EQ_UINT(0xFEBF1000, b[1].base);
	CHECK(!b[1].is_64bit && !b[1].prefetchable);
	CHECK(b[2].present && b[2].space == VIRTIO_PCI_SPACE_MEMORY);
	CHECK(b[2].is_64bit && b[2].prefetchable);
	CHECK_EQ_UINT(0x1E0000000ull, b[2].base);
	CHECK(!b[3].present && b[3].upper_half);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_UNKNOWN, b[3].space);
	CHECK(!b[4].present && !b[4].upper_half);
	CHECK(b[5].present && b[5].prefetchable && !b[5].is_64bit);
	for (int i = 0; i < 6; i++)
		CHECK_EQ_UINT(0, b[i].length); /* not in config space */
	/* a 64-bit BAR with base 0 (unassigned) is still implemented */
	put_bar(2, 0x00000004);
	put_bar(3, 0);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, b));
	CHECK(b[2].present && b[2].is_64bit && !b[2].prefetchable);
	CHECK_EQ_UINT(0, b[2].base);
	CHECK(b[3].upper_half);
	/* I/O bit 1 is reserved, not part of the address */
	put_bar(0, 0x0000C003);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, b));
	CHECK_EQ_UINT(0xC000, b[0].base);
	/* 64-bit in the last slot: no upper half, written absent */
	put_bar(5, 0xFD00000C);
	CHECK_EQ_INT(-ERANGE, virtio_pci_bars_decode(cfg, 256, b));
	CHECK(!b[5].present && !b[5].is_64bit);
	CHECK(b[0].present && b[2].present);
	/* the parser takes the decoded BARs: a cap in an upper half is
	 * in no BAR, as is one in an unimplemented slot */
	build_multi_bar();
	put_bar(0, 0xFE000004);
	put_bar(1, 0);
	put_bar(2, 0xFD000000);
	put_bar(3, 0xFC000000);
	put_bar(4, 0xFB00000C);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, bars));
	CHECK(bars[1].upper_half && !bars[1].present);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_MISSING_ISR_CFG, parse_bars(256));
	CHECK(caps.anomalies & VIRTIO_PCI_ANOM_ABSENT_BAR);
	CHECK(!caps.isr.present); /* ISR is in bar 1 */
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_MEMORY, caps.common.space);
	CHECK_EQ_INT(VIRTIO_PCI_SPACE_MEMORY, caps.notify.space);
	/* bar 1 as its own 32-bit BAR: all four found */
	put_bar(0, 0xFE000000);
	put_bar(1, 0xFA000000);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, bars));
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK_EQ_UINT(0, caps.anomalies);
	CHECK(caps.isr.present && caps.device.present);
}

/* BAR decoding: header types and short config spaces. */
static void test_bars_decode_headers(void)
{
	struct virtio_pci_bar b[6];

	reset_cfg();
	put_bar(0, 0xFEBF0000);
	put_bar(1, 0xFEBE0000);
	put_bar(2, 0xFEBD0000); /* a bridge's bus numbers, not a BAR */
	cfg[0x0E] = 0x81;	/* multi-function bridge: type 1 */
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, b));
	CHECK(b[0].present && b[1].present);
	for (int i = 2; i < 6; i++)
		CHECK(!b[i].present);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 0x18, b));
	CHECK_EQ_INT(-EINVAL, virtio_pci_bars_decode(cfg, 0x17, b));
	cfg[0x0E] = 0x80; /* multi-function type 0 */
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 0x28, b));
	CHECK(b[2].present);
	CHECK_EQ_INT(-EINVAL, virtio_pci_bars_decode(cfg, 0x27, b));
	cfg[0x0E] = 0x02; /* CardBus */
	CHECK_EQ_INT(-ENOTSUP, virtio_pci_bars_decode(cfg, 256, b));
	for (int i = 0; i < 6; i++)
		CHECK(!b[i].present);
	CHECK_EQ_INT(-EINVAL, virtio_pci_bars_decode(NULL, 256, b));
	CHECK_EQ_INT(-EINVAL, virtio_pci_bars_decode(cfg, 256, NULL));
}

/* §4.1.4.9: the PCI access cap's bar/offset/length are driver-written. */
static void test_pci_cfg_cap(void)
{
	build_multi_bar();
	cfg[0x81] = 0x90;
	add_cap(0x90, 0, VIRTIO_PCI_CAP_PCI_CFG, 7, 0x3, 0xFFFFFFFF, 20);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	CHECK(caps.pci_cfg.present);
	CHECK_EQ_UINT(0x90, caps.pci_cfg.cap_offset);
	CHECK_EQ_UINT(20, caps.pci_cfg.cap_len);
	CHECK_EQ_UINT(0, caps.anomalies);
	cfg[0x92] = 16;
	CHECK_EQ_INT(VIRTIO_PCI_CAP_LEN_TOO_SMALL, parse(256));
}

/* Bytes past 0x100 of a 4096-byte config space do not matter. */
static void test_extended_config_space(void)
{
	struct virtio_pci_caps small;

	build_multi_bar();
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(256));
	small = caps;
	memset(cfg + 0x100, 0x09, 4096 - 0x100);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse(4096));
	CHECK_EQ_MEM(&small, &caps, sizeof(caps));
}

static void test_notify_offset(void)
{
	struct virtio_pci_region r = {
		.present = true,
		.offset = 0x3000,
		.length = 0x1000,
		.multiplier = 4,
	};
	uint64_t off = 0;

	CHECK_EQ_INT(0, virtio_pci_notify_offset(&r, 0, &off));
	CHECK_EQ_UINT(0x3000, off);
	CHECK_EQ_INT(0, virtio_pci_notify_offset(&r, 5, &off));
	CHECK_EQ_UINT(0x3014, off);
	/* 1023 * 4 + 2 = 0xFFE <= 0x1000; 1024 * 4 + 2 is not */
	CHECK_EQ_INT(0, virtio_pci_notify_offset(&r, 1023, &off));
	CHECK_EQ_UINT(0x3FFC, off);
	CHECK_EQ_INT(-ERANGE, virtio_pci_notify_offset(&r, 1024, &off));
	/* the whole le16 must fit: 0xFFC + 2 needs 0xFFE bytes */
	r.length = 0xFFD;
	CHECK_EQ_INT(-ERANGE, virtio_pci_notify_offset(&r, 1023, &off));
	r.length = 0xFFE;
	CHECK_EQ_INT(0, virtio_pci_notify_offset(&r, 1023, &off));
	r.length = 0x1000;
	r.multiplier = 0; /* every queue shares one address */
	CHECK_EQ_INT(0, virtio_pci_notify_offset(&r, 0xFFFF, &off));
	CHECK_EQ_UINT(0x3000, off);
	r.multiplier = 0x80000000;
	r.length = 0xFFFFFFFF;
	CHECK_EQ_INT(-ERANGE, virtio_pci_notify_offset(&r, 2, &off));
	r.present = false;
	CHECK_EQ_INT(-EINVAL, virtio_pci_notify_offset(&r, 0, &off));
}

static void test_strerror(void)
{
	const char *seen[VIRTIO_PCI_CAP_MISSING_ISR_CFG + 1];

	for (int e = 0; e <= VIRTIO_PCI_CAP_MISSING_ISR_CFG; e++) {
		seen[e] = virtio_pci_cap_strerror(e);
		CHECK(seen[e] != NULL);
		CHECK(strcmp(seen[e], "unknown error") != 0);
		for (int k = 0; k < e; k++)
			CHECK(strcmp(seen[k], seen[e]) != 0);
	}
	CHECK_EQ_STR("unknown error", virtio_pci_cap_strerror(1000));
}

/* ---- Aero strict layout (reference "Layout" cases) ---- */

static struct virtio_pci_caps aero_caps;
static struct virtio_pci_bar aero_bars[6];

static void build_aero_caps(void)
{
	static const struct {
		struct virtio_pci_region *r;
		uint32_t off, len;
	} * p, regions[] = {
		{ &aero_caps.common, 0x0000, 0x100 },
		{ &aero_caps.notify, 0x1000, 0x100 },
		{ &aero_caps.isr, 0x2000, 0x20 },
		{ &aero_caps.device, 0x3000, 0x100 },
	};

	memset(&aero_caps, 0, sizeof(aero_caps));
	memset(aero_bars, 0, sizeof(aero_bars));
	for (p = regions; p < regions + 4; p++) {
		p->r->present = true;
		p->r->offset = p->off;
		p->r->length = p->len;
	}
	aero_caps.notify.multiplier = 4;
	aero_bars[0].present = true;
	aero_bars[0].space = VIRTIO_PCI_SPACE_MEMORY;
	aero_bars[0].length = 0x4000;
}

/* Every mismatch of the last aero_check(), as VIRTIO_AERO_LAYOUT_BIT()s. */
static unsigned aero_all;

static enum virtio_aero_layout_err aero_check(void)
{
	enum virtio_aero_layout_err first;

	aero_all = 0xDEAD;
	first = virtio_aero_layout_check(&aero_caps, aero_bars, &aero_all);
	/* the first is the lowest bit of the set, and the same without it */
	CHECK_EQ_INT(first,
		     virtio_aero_layout_check(&aero_caps, aero_bars, NULL));
	if (first == VIRTIO_AERO_LAYOUT_OK)
		CHECK_EQ_UINT(0, aero_all);
	else
		CHECK_EQ_UINT(VIRTIO_AERO_LAYOUT_BIT(first),
			      aero_all & -aero_all);
	return first;
}

#define BIT(e) VIRTIO_AERO_LAYOUT_BIT(VIRTIO_AERO_LAYOUT_##e)

static void test_aero_layout_exact(void)
{
	build_aero_caps();
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_OK, aero_check());
	aero_caps.common.length = 0x1000;
	aero_caps.notify.length = 0x1000;
	aero_caps.isr.length = 0x1000;
	aero_caps.device.length = 0x1000;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_OK, aero_check());
	aero_caps.common.length = 0x5000;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_COMMON_MISMATCH, aero_check());
	CHECK_EQ_UINT(BIT(COMMON_MISMATCH), aero_all);
	aero_bars[0].length = 0x10000;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_OK, aero_check());
}

static void test_aero_layout_regions(void)
{
	struct {
		struct virtio_pci_region *r;
		uint32_t min;
		enum virtio_aero_layout_err err;
	} cases[] = {
		{ &aero_caps.common, 0x100,
		  VIRTIO_AERO_LAYOUT_COMMON_MISMATCH },
		{ &aero_caps.notify, 0x100,
		  VIRTIO_AERO_LAYOUT_NOTIFY_MISMATCH },
		{ &aero_caps.isr, 0x20, VIRTIO_AERO_LAYOUT_ISR_MISMATCH },
		{ &aero_caps.device, 0x100,
		  VIRTIO_AERO_LAYOUT_DEVICE_MISMATCH },
	};

	for (size_t i = 0; i < 4; i++) {
		build_aero_caps();
		cases[i].r->length = cases[i].min - 1;
		CHECK_EQ_INT(cases[i].err, aero_check());
		CHECK_EQ_UINT(VIRTIO_AERO_LAYOUT_BIT(cases[i].err), aero_all);
		build_aero_caps();
		cases[i].r->bar = 1;
		CHECK_EQ_INT(cases[i].err, aero_check());
		build_aero_caps();
		cases[i].r->offset += 0x100;
		CHECK_EQ_INT(cases[i].err, aero_check());
		build_aero_caps();
		cases[i].r->present = false;
		CHECK_EQ_INT(cases[i].err, aero_check());
	}
	/* all shifted: the first is COMMON, and all four are reported */
	build_aero_caps();
	for (size_t i = 0; i < 4; i++)
		cases[i].r->offset += 0x100;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_COMMON_MISMATCH, aero_check());
	CHECK_EQ_UINT(BIT(COMMON_MISMATCH) | BIT(NOTIFY_MISMATCH) |
			      BIT(ISR_MISMATCH) | BIT(DEVICE_MISMATCH),
		      aero_all);
	/* ISR and the multiplier wrong at once: both */
	build_aero_caps();
	aero_caps.isr.bar = 2;
	aero_caps.notify.multiplier = 0x1000;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_ISR_MISMATCH, aero_check());
	CHECK_EQ_UINT(BIT(ISR_MISMATCH) | BIT(NOTIFY_MULTIPLIER_MISMATCH),
		      aero_all);
}

static void test_aero_layout_bar0(void)
{
	build_aero_caps();
	aero_bars[0].present = false;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAR0_MISSING, aero_check());
	CHECK_EQ_UINT(BIT(BAR0_MISSING), aero_all);
	build_aero_caps();
	aero_bars[0].space = VIRTIO_PCI_SPACE_IO;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO, aero_check());
	CHECK_EQ_UINT(BIT(BAR0_NOT_MMIO), aero_all);
	/* the contract needs memory: "not said" does not pass */
	aero_bars[0].space = VIRTIO_PCI_SPACE_UNKNOWN;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO, aero_check());
	/* I/O and too small: both */
	aero_bars[0].space = VIRTIO_PCI_SPACE_IO;
	aero_bars[0].length = 0x100;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAR0_NOT_MMIO, aero_check());
	CHECK(aero_all & BIT(BAR0_TOO_SMALL));
	build_aero_caps();
	aero_bars[0].length = 0x3000;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAR0_TOO_SMALL, aero_check());
	/* and the device page at 0x3000 is outside such a BAR0 */
	CHECK_EQ_UINT(BIT(BAR0_TOO_SMALL) | BIT(DEVICE_MISMATCH), aero_all);
	aero_bars[0].length = 0; /* unknown is not enough here */
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAR0_TOO_SMALL, aero_check());
	CHECK_EQ_UINT(BIT(BAR0_TOO_SMALL), aero_all);
}

static void test_aero_layout_multiplier(void)
{
	build_aero_caps();
	aero_caps.notify.multiplier = 8;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH,
		     aero_check());
	aero_caps.notify.multiplier = 0;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH,
		     aero_check());
	CHECK_EQ_UINT(BIT(NOTIFY_MULTIPLIER_MISMATCH), aero_all);
	/* no notify region: that mismatch, not a multiplier one */
	aero_caps.notify.present = false;
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_NOTIFY_MISMATCH, aero_check());
	CHECK_EQ_UINT(BIT(NOTIFY_MISMATCH), aero_all);
}

static void test_aero_layout_arguments(void)
{
	unsigned all = 0;

	build_aero_caps();
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAD_ARGUMENT,
		     virtio_aero_layout_check(NULL, aero_bars, &all));
	CHECK_EQ_UINT(BIT(BAD_ARGUMENT), all);
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_BAD_ARGUMENT,
		     virtio_aero_layout_check(&aero_caps, NULL, NULL));
	for (int e = 0; e <= VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH; e++)
		CHECK(strcmp(virtio_aero_layout_strerror(e), "unknown error") !=
		      0);
}

/*
 * The config space the Aero emulator builds (crates/aero-virtio
 * tests/pci_profile.rs): caps at 0x40(16) -> 0x50(20) -> 0x64 -> 0x74 ->
 * MSI-X@0x84, BAR0 64-bit MMIO of 0x4000.  Through the spec parser, then
 * the strict layout.
 */
static void test_aero_profile_end_to_end(void)
{
	reset_cfg();
	add_cap(0x40, 0x50, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x0000, 0x100, 16);
	add_cap(0x50, 0x64, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0x1000, 0x100, 20);
	set_mult(0x50, 4);
	add_cap(0x64, 0x74, VIRTIO_PCI_CAP_ISR_CFG, 0, 0x2000, 0x20, 16);
	add_cap(0x74, 0x84, VIRTIO_PCI_CAP_DEVICE_CFG, 0, 0x3000, 0x100, 16);
	cfg[0x84] = 0x11;
	virtio_put_le32(cfg + 0x88, 0x3100); /* table: BIR 0 + 0x3100 */
	virtio_put_le32(cfg + 0x8C, 0x3130);
	/* BAR0: 64-bit non-prefetchable memory at 0xFEB00000 */
	virtio_put_le32(cfg + 0x10, 0xFEB00004);
	CHECK_EQ_INT(0, virtio_pci_bars_decode(cfg, 256, bars));
	CHECK(bars[0].is_64bit && !bars[0].prefetchable);
	bars[0].length = 0x4000; /* sizing, which config space lacks */
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK_EQ_UINT(0x84, caps.msix_offset);
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_OK,
		     virtio_aero_layout_check(&caps, bars, NULL));
	/* QEMU-style notify multiplier 0x1000 would not be Aero */
	set_mult(0x50, 0x1000);
	CHECK_EQ_INT(VIRTIO_PCI_CAP_OK, parse_bars(256));
	CHECK_EQ_INT(VIRTIO_AERO_LAYOUT_NOTIFY_MULTIPLIER_MISMATCH,
		     virtio_aero_layout_check(&caps, bars, NULL));
}

int main(void)
{
	RUN(test_multi_bar);
	RUN(test_ids_and_positions);
	RUN(test_notify_cap_len_24);
	RUN(test_msi_cap_skipped);
	RUN(test_msix_cap_recorded);
	RUN(test_reserved_cfg_type_ignored);
	RUN(test_shm_and_vendor_cfg_ignored);
	RUN(test_duplicate_first_wins);
	RUN(test_bad_later_duplicate_ignored);
	RUN(test_bad_first_notify_fails);
	RUN(test_cfg_too_small);
	RUN(test_no_cap_list);
	RUN(test_ptr_low_bits_masked);
	RUN(test_ptr_out_of_range);
	RUN(test_header_truncated);
	RUN(test_next_low_bits_masked);
	RUN(test_next_out_of_range);
	RUN(test_list_loops);
	RUN(test_longest_list);
	RUN(test_cap_len_too_small);
	RUN(test_notify_cap_len);
	RUN(test_cap_truncated);
	RUN(test_cap_crossing_0x100);
	RUN(test_reserved_bar_ignored);
	RUN(test_absent_bar_ignored);
	RUN(test_region_overflow);
	RUN(test_missing_each);
	RUN(test_device_cfg_optional);
	RUN(test_null_arguments);
	RUN(test_offset_alignment);
	RUN(test_region_minimum_lengths);
	RUN(test_region_outside_bar);
	RUN(test_notify_multiplier);
	RUN(test_region_overlap);
	RUN(test_partial_output_on_error);
	RUN(test_notify_io_and_memory);
	RUN(test_bars_decode);
	RUN(test_bars_decode_headers);
	RUN(test_pci_cfg_cap);
	RUN(test_extended_config_space);
	RUN(test_notify_offset);
	RUN(test_strerror);
	RUN(test_aero_layout_exact);
	RUN(test_aero_layout_regions);
	RUN(test_aero_layout_bar0);
	RUN(test_aero_layout_multiplier);
	RUN(test_aero_layout_arguments);
	RUN(test_aero_profile_end_to_end);
	return harness_exit();
}
