/*
 * fuzz_virtio_cap.c: libFuzzer target for the virtio PCI capability
 * parser, the identity/hardware-id code and the Aero layout check.
 *
 * Input: byte 0 bit 0 says whether BAR descriptions follow; if so, six
 * records of 5 bytes (flags: bit 0 present, bit 1 I/O; then le32 length)
 * come next.  The rest (at most 4096 bytes) is config space, passed in
 * place so reads past its end hit the end of the fuzzer's buffer.  The
 * same bytes, NUL-terminated, also go through virtio_hwid_parse().
 *
 * Beyond "no crash", a successful parse must satisfy the promises of
 * virtio_pci_cap.h; a broken promise aborts, so the fuzzer reports it.
 * The seed corpus is the QEMU captures of shared/fixtures/qemu-virtio-pci
 * (with and without BAR records) plus three hardware ids.
 * tests/hostile/virtio_cap/ holds hand-made edge cases: a ring of 48
 * capabilities, a cap crossing 0x100 in a 4 KiB space, every region at
 * the 4 GiB boundary, a 0x41-byte config space.  No libFuzzer crash has
 * been found so far; a crasher goes there with a note on the bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtio_aero_layout.h"
#include "virtio/virtio_ids.h"
#include "virtio/virtio_pci_cap.h"
#include "virtio/virtio_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                         \
	do {                                                                  \
		if (!(cond))                                                  \
			abort();                                              \
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
	if (bars) {
		REQUIRE(bars[r->bar].present);
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
			bars[i].present = cfg[i * 5] & 1;
			bars[i].is_io = cfg[i * 5] & 2;
			bars[i].length = virtio_le32(cfg + i * 5 + 1);
		}
		bp = bars;
		cfg += 30;
		len -= 30;
	}
	if (len > 4096)
		return 0;

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
		if (bp)
			virtio_aero_layout_check(&caps, bp);
	}

	if (virtio_pci_identity_read(cfg, len, &id) == 0) {
		char ids[11][VIRTIO_HWID_MAX];

		virtio_pci_device_type(&id);
		REQUIRE(virtio_hwid_list(&id, ids, 11) == 11);
		for (int i = 0; i < 11; i++)
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
