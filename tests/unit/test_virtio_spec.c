/*
 * test_virtio_spec.c: the little-endian helpers of virtio_spec.h and the
 * wire structs against byte images written by hand from the spec text
 * (sizes and offsets are already pinned by _Static_assert).
 */
#include <stdint.h>
#include <string.h>

#include "tests/harness.h"
#include "virtio/virtio_spec.h"

static void test_le_helpers(void)
{
	uint8_t b[8];
	static const uint8_t want[8] = { 0x08, 0x07, 0x06, 0x05,
					 0x04, 0x03, 0x02, 0x01 };

	virtio_put_le64(b, 0x0102030405060708ull);
	CHECK_EQ_MEM(want, b, 8);
	CHECK_EQ_UINT(0x0102030405060708ull, virtio_le64(b));
	CHECK_EQ_UINT(0x05060708, virtio_le32(b));
	CHECK_EQ_UINT(0x0708, virtio_le16(b));
	virtio_put_le32(b + 1, 0xA1B2C3D4); /* unaligned */
	CHECK_EQ_UINT(0xD4, b[1]);
	CHECK_EQ_UINT(0xA1, b[4]);
	CHECK_EQ_UINT(0xA1B2C3D4, virtio_le32(b + 1));
	virtio_put_le16(b + 3, 0xBEEF);
	CHECK_EQ_UINT(0xEF, b[3]);
	CHECK_EQ_UINT(0xBEEF, virtio_le16(b + 3));
}

/* §5.2.6: type IN, ioprio 0, sector 0x1122334455667788 */
static void test_blk_header_bytes(void)
{
	static const uint8_t img[16] = {
		0,    0,    0,	  0,	7,    0,    0,	  0,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	};
	struct virtio_blk_req_hdr h;

	memcpy(&h, img, sizeof(h));
	CHECK_EQ_UINT(VIRTIO_BLK_T_IN, virtio_cpu_le32(h.type));
	CHECK_EQ_UINT(7, virtio_cpu_le32(h.ioprio));
	CHECK_EQ_UINT(0x1122334455667788ull, virtio_cpu_le64(h.sector));
}

/* §2.7.5: a descriptor image, and the avail/used event fields */
static void test_ring_bytes(void)
{
	static const uint8_t img[16] = {
		0x00,
		0x10,
		0,
		0,
		0,
		0,
		0,
		0,
		0x00,
		0x02,
		0,
		0,
		VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
		0,
		5,
		0,
	};
	struct virtq_desc d;
	union {
		struct virtq_avail a;
		uint16_t raw[2 + 8 + 1];
	} avail;

	memcpy(&d, img, sizeof(d));
	CHECK_EQ_UINT(0x1000, virtio_cpu_le64(d.addr));
	CHECK_EQ_UINT(0x200, virtio_cpu_le32(d.len));
	CHECK_EQ_UINT(3, virtio_cpu_le16(d.flags));
	CHECK_EQ_UINT(5, virtio_cpu_le16(d.next));
	/* used_event is the le16 right after ring[size - 1] */
	memset(&avail, 0, sizeof(avail));
	avail.a.ring[8] = virtio_cpu_le16(0x1234);
	CHECK_EQ_UINT(0x1234, virtio_le16((uint8_t *)&avail + 4 + 2 * 8));
	CHECK_EQ_UINT(6 + 2 * 8, VIRTQ_AVAIL_BYTES(8));
	CHECK_EQ_UINT(6 + 8 * 8, VIRTQ_USED_BYTES(8));
	CHECK_EQ_UINT(16 * 8, VIRTQ_DESC_BYTES(8));
}

/* §5.14.6.6.3: set_params for stream 1, S16, 48 kHz, 2 channels */
static void test_snd_set_params_bytes(void)
{
	static const uint8_t img[24] = {
		0x01,
		0x01,
		0,
		0,
		1,
		0,
		0,
		0, /* hdr, stream 1 */
		0x00,
		0x10,
		0,
		0,
		0x00,
		0x04,
		0,
		0, /* 4096, 1024 */
		0,
		0,
		0,
		0,
		2,
		VIRTIO_SND_PCM_FMT_S16,
		VIRTIO_SND_PCM_RATE_48000,
		0,
	};
	struct virtio_snd_pcm_set_params p;

	memcpy(&p, img, sizeof(p));
	CHECK_EQ_UINT(VIRTIO_SND_R_PCM_SET_PARAMS,
		      virtio_cpu_le32(p.hdr.hdr.code));
	CHECK_EQ_UINT(1, virtio_cpu_le32(p.hdr.stream_id));
	CHECK_EQ_UINT(4096, virtio_cpu_le32(p.buffer_bytes));
	CHECK_EQ_UINT(1024, virtio_cpu_le32(p.period_bytes));
	CHECK_EQ_UINT(2, p.channels);
	CHECK_EQ_UINT(5, p.format);
	CHECK_EQ_UINT(7, p.rate);
	/* spec status codes, not the Aero crate's 0..3 */
	CHECK_EQ_UINT(0x8000, VIRTIO_SND_S_OK);
	CHECK_EQ_UINT(0x8003, VIRTIO_SND_S_IO_ERR);
}

int main(void)
{
	RUN(test_le_helpers);
	RUN(test_blk_header_bytes);
	RUN(test_ring_bytes);
	RUN(test_snd_set_params_bytes);
	return harness_exit();
}
