/*
 * fuzz_virtio_cap.c: libFuzzer target for the virtio PCI capability
 * parser, the identity/hardware-id code and the Aero layout check.
 *
 * Input: byte 0 bit 0 says whether BAR descriptions follow; if so, six
 * records of 5 bytes (flags: bit 0 present, bit 1 I/O, else bit 2 space
 * unknown, else memory; then le32 length) come next; byte 0 bit 1 says to
 * take the BARs from the config space's own registers instead
 * (virtio_pci_bars_decode(), lengths still from the records).  The rest
 * (at most 4096 bytes) is config space, passed in place so reads past
 * its end hit the end of the fuzzer's buffer.  The
 * same bytes, NUL-terminated, also go through virtio_hwid_parse().
 *
 * Beyond "no crash", a successful parse must satisfy the promises of
 * virtio_pci_cap.h; a broken promise aborts, so the fuzzer reports it.
 * The seed corpus is the QEMU captures of shared/fixtures/qemu-virtio-pci
 * (with and without BAR records; *-decoded.bin with BARs taken from the
 * registers) plus three hardware ids.
 * tests/hostile/virtio_cap/ holds hand-made edge cases: a ring of 48
 * capabilities, a cap crossing 0x100 in a 4 KiB space, every region at
 * the 4 GiB boundary, a 0x41-byte config space.  No libFuzzer crash has
 * been found so far; a crasher goes there with a note on the bug.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtio_aero_layout.h"
#include "virtio/virtio_ids.h"
#include "virtio/virtio_pci_cap.h"
#include "virtio/virtio_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static void check_region(const struct virtio_pci_region *r, unsigned type,
			 const uint8_t *cfg, size_t len,
			 const struct virtio_pci_bar *bars)
{
	static const uint32_t align[] = { 0, 4, 2, 1, 4 };
	static const uint32_t min[] = { 0, 56, 2, 1, 1 };
	size_t limit = len < 256 ? len : 256;
	uint64_t end = (uint64_t)r->offset + r->length;

	if (!r->present)
		return;
	REQUIRE(r->cap_offset >= 0x40 && r->cap_offset + r->cap_len <= limit);
	REQUIRE(cfg[r->cap_offset] == VIRTIO_PCI_CAP_VENDOR_ID);
	REQUIRE(cfg[r->cap_offset + 3] == type);
	REQUIRE(r->offset == virtio_le32(cfg + r->cap_offset + 8));
	REQUIRE(r->length == virtio_le32(cfg + r->cap_offset + 12));
	REQUIRE(r->bar < 6 && r->offset % align[type] == 0);
	REQUIRE(r->length >= min[type] && end <= UINT32_MAX);
	REQUIRE(bars || r->space == VIRTIO_PCI_SPACE_UNKNOWN);
	if (bars) {
		REQUIRE(bars[r->bar].present);
		REQUIRE(r->space == bars[r->bar].space);
		REQUIRE(!bars[r->bar].length || end <= bars[r->bar].length);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_pci_bar bars[6];
	const struct virtio_pci_bar *bp = NULL;
	struct virtio_pci_caps caps;
	struct virtio_pci_identity id;
	struct virtio_hwid hw;
	char str[VIRTIO_HWID_MAX * 2];
	const uint8_t *cfg;
	size_t len;

	if (size < 1)
		return 0;
	cfg = data + 1;
	len = size - 1;
	if (data[0] & 1) {
		if (len < 30)
			return 0;
		for (int i = 0; i < 6; i++) {
			uint8_t fl = cfg[i * 5];

			memset(&bars[i], 0, sizeof(bars[i]));
			bars[i].present = fl & 1;
			bars[i].space = fl & 2 ? VIRTIO_PCI_SPACE_IO :
					fl & 4 ? VIRTIO_PCI_SPACE_UNKNOWN :
						 VIRTIO_PCI_SPACE_MEMORY;
			bars[i].length = virtio_le32(cfg + i * 5 + 1);
		}
		bp = bars;
		cfg += 30;
		len -= 30;
	}
	if (len > 4096)
		return 0;

	{
		struct virtio_pci_bar dec[6];
		int rc = virtio_pci_bars_decode(cfg, len, dec);

		REQUIRE(rc == 0 || rc == -EINVAL || rc == -ENOTSUP ||
			rc == -ERANGE);
		for (int i = 0; i < 6; i++) {
			REQUIRE(!(dec[i].present && dec[i].upper_half));
			REQUIRE(!dec[i].is_64bit ||
				(i < 5 && dec[i + 1].upper_half));
			REQUIRE(dec[i].present ||
				dec[i].space == VIRTIO_PCI_SPACE_UNKNOWN);
			REQUIRE(dec[i].length == 0);
			if (data[0] & 2 && bp) {
				/* the registers, sized by the records */
				uint64_t l = bars[i].length;

				bars[i] = dec[i];
				bars[i].length = l;
			}
		}
	}

	if (virtio_pci_cap_parse(cfg, len, bp, &caps) == VIRTIO_PCI_CAP_OK) {
		uint64_t off;

		REQUIRE(caps.common.present && caps.isr.present);
		REQUIRE(caps.notify.present || caps.notify_io.present);
		check_region(&caps.common, 1, cfg, len, bp);
		check_region(&caps.notify, 2, cfg, len, bp);
		check_region(&caps.notify_io, 2, cfg, len, bp);
		check_region(&caps.isr, 3, cfg, len, bp);
		check_region(&caps.device, 4, cfg, len, bp);
		if (caps.notify.present &&
		    virtio_pci_notify_offset(&caps.notify, 7, &off) == 0)
			REQUIRE(off + 2 <= (uint64_t)caps.notify.offset +
						   caps.notify.length);
		REQUIRE(!caps.notify_io.present ||
			caps.notify_io.space == VIRTIO_PCI_SPACE_IO);
		REQUIRE(!caps.notify.present ||
			caps.notify.space != VIRTIO_PCI_SPACE_IO);
		REQUIRE(!caps.notify_io_first || caps.notify_io.present);
		REQUIRE(virtio_pci_notify_select(&caps, true, true) ==
			(caps.notify_io_first ? &caps.notify_io :
						&caps.notify));
		if (bp) {
			enum virtio_aero_layout_err first;
			unsigned all;

			first = virtio_aero_layout_check(&caps, bp, &all);
			REQUIRE(first == VIRTIO_AERO_LAYOUT_OK ?
					all == 0 :
					(all & -all) ==
						VIRTIO_AERO_LAYOUT_BIT(first));
		}
	}

	if (virtio_pci_identity_read(cfg, len, &id) == 0) {
		char ids[VIRTIO_HWID_LIST_MAX][VIRTIO_HWID_MAX];
		int type = virtio_pci_device_type(&id);

		REQUIRE(type > 0 || type == -ENODEV);
		REQUIRE(type > 0 || !virtio_device_type_name(type));
		REQUIRE(virtio_hwid_list(&id, ids, VIRTIO_HWID_LIST_MAX) ==
			VIRTIO_HWID_LIST_MAX);
		for (int i = 0; i < VIRTIO_HWID_LIST_MAX; i++)
			REQUIRE(virtio_hwid_binds(ids[i], &id));
		virtio_aero_device_find(&id);
	}

	/* the same bytes as an INF hardware id */
	len = len < sizeof(str) - 1 ? len : sizeof(str) - 1;
	memcpy(str, cfg, len);
	str[len] = '\0';
	if (virtio_hwid_parse(str, &hw) == 0) {
		char out[VIRTIO_HWID_MAX];
		struct virtio_hwid again;

		/* what parses formats, and formats back to the same id */
		REQUIRE(virtio_hwid_format(&hw, out, sizeof(out)) > 0);
		REQUIRE(virtio_hwid_parse(out, &again) == 0);
		REQUIRE(memcmp(&hw, &again, sizeof(hw)) == 0);
	}
	return 0;
}
