/*
 * test_virtio_ids.c: virtio PCI identity, device types, Windows hardware
 * ids and the Aero device table.
 *
 * Expected hardware-id lists are the forms Microsoft documents in
 * "Identifiers for PCI Devices" (hardware ids, then the compatible ids
 * not already listed); the Aero ids are those of the AERO-W7-VIRTIO v1
 * contract and its INF files.  The reference identity tests
 * (virtio_pci_identity.c) are covered where our contract overlaps; the
 * "REV_01 only" and "allowed device list" policy lives in the INF match
 * here, not in the identity reader.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tests/harness.h"
#include "virtio/virtio_ids.h"
#include "virtio/virtio_spec.h"

static void make_cfg(uint8_t *cfg, uint16_t ven, uint16_t dev, uint8_t rev,
		     uint32_t cc, uint16_t ssven, uint16_t ss)
{
	memset(cfg, 0, 256);
	virtio_put_le16(cfg + 0x00, ven);
	virtio_put_le16(cfg + 0x02, dev);
	cfg[0x08] = rev;
	cfg[0x09] = (uint8_t)cc;
	cfg[0x0A] = (uint8_t)(cc >> 8);
	cfg[0x0B] = (uint8_t)(cc >> 16);
	virtio_put_le16(cfg + 0x2C, ssven);
	virtio_put_le16(cfg + 0x2E, ss);
}

static struct virtio_pci_identity ident(uint16_t ven, uint16_t dev, uint16_t ss,
					uint8_t rev)
{
	struct virtio_pci_identity id = {
		.vendor = ven,
		.device = dev,
		.subsys_vendor = 0x1AF4,
		.subsys = ss,
		.revision = rev,
		.class_code = 0x010000,
	};

	return id;
}

/* Reference: 1AF4:1052 rev 1, subsystem 1AF4:0011 read back. */
static void test_identity_read(void)
{
	uint8_t cfg[256];
	struct virtio_pci_identity id;

	make_cfg(cfg, 0x1AF4, 0x1052, 0x01, 0x098000, 0x1AF4, 0x0011);
	CHECK_EQ_INT(0, virtio_pci_identity_read(cfg, 256, &id));
	CHECK_EQ_UINT(0x1AF4, id.vendor);
	CHECK_EQ_UINT(0x1052, id.device);
	CHECK_EQ_UINT(0x01, id.revision);
	CHECK_EQ_UINT(0x098000, id.class_code);
	CHECK_EQ_UINT(0x1AF4, id.subsys_vendor);
	CHECK_EQ_UINT(0x0011, id.subsys);
	/* exactly the subsystem id's end is enough */
	CHECK_EQ_INT(0, virtio_pci_identity_read(cfg, 0x30, &id));
}

/*
 * Short config space: the reference zeroes the subsystem ids for len
 * 0x2F and fails at 8; our contract refuses anything without them.
 */
static void test_identity_short(void)
{
	uint8_t cfg[256];
	struct virtio_pci_identity id;

	make_cfg(cfg, 0x1AF4, 0x1052, 0x01, 0, 0x1AF4, 0x0011);
	CHECK_EQ_INT(-EINVAL, virtio_pci_identity_read(cfg, 0x2F, &id));
	CHECK_EQ_INT(-EINVAL, virtio_pci_identity_read(cfg, 8, &id));
	CHECK_EQ_INT(-EINVAL, virtio_pci_identity_read(NULL, 256, &id));
	CHECK_EQ_INT(-EINVAL, virtio_pci_identity_read(cfg, 256, NULL));
}

static void test_device_type(void)
{
	static const struct {
		uint16_t ven, dev, ss;
		int type;
	} cases[] = {
		{ 0x1AF4, 0x1041, 0x0001, VIRTIO_ID_NET },
		{ 0x1AF4, 0x1042, 0x1100, VIRTIO_ID_BLOCK }, /* ss ignored */
		{ 0x1AF4, 0x1052, 0x0010, VIRTIO_ID_INPUT },
		{ 0x1AF4, 0x1059, 0x0019, VIRTIO_ID_SOUND },
		{ 0x1AF4, 0x107F, 0x0000, 63 },
		{ 0x1AF4, 0x1040, 0x0001, -ENODEV },	   /* type 0 reserved */
		{ 0x1AF4, 0x1080, 0x0001, -ENODEV },	   /* past the range */
		{ 0x1AF4, 0x1000, 0x0001, VIRTIO_ID_NET }, /* legacy net */
		{ 0x1AF4, 0x1001, 0x0002, VIRTIO_ID_BLOCK },
		{ 0x1AF4, 0x1018, 0x0019, VIRTIO_ID_SOUND }, /* Aero snd */
		{ 0x1AF4, 0x103F, 0x0004, VIRTIO_ID_RNG },
		{ 0x1AF4, 0x1001, 0x0000, -ENODEV }, /* no type */
		{ 0x1AF4, 0x0FFF, 0x0002, -ENODEV },
		{ 0x1234, 0x1041, 0x0001, -ENODEV }, /* reference: vendor */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct virtio_pci_identity id = ident(cases[i].ven,
						      cases[i].dev, cases[i].ss,
						      1);

		CHECK_EQ_INT(cases[i].type, virtio_pci_device_type(&id));
	}
	CHECK_EQ_INT(-ENODEV, virtio_pci_device_type(NULL));
}

static void test_is_modern(void)
{
	struct virtio_pci_identity id = ident(0x1AF4, 0x1040, 0, 1);

	CHECK(virtio_pci_is_modern(&id));
	id.device = 0x107F;
	CHECK(virtio_pci_is_modern(&id));
	id.device = 0x1080;
	CHECK(!virtio_pci_is_modern(&id));
	id.device = 0x1000; /* reference: DEVICE_ID_NOT_MODERN */
	CHECK(!virtio_pci_is_modern(&id));
	id.device = 0x1041;
	id.vendor = 0x1234;
	CHECK(!virtio_pci_is_modern(&id));
	CHECK(!virtio_pci_is_modern(NULL));
}

static void test_type_names(void)
{
	CHECK_EQ_STR("net", virtio_device_type_name(VIRTIO_ID_NET));
	CHECK_EQ_STR("block", virtio_device_type_name(VIRTIO_ID_BLOCK));
	CHECK_EQ_STR("input", virtio_device_type_name(VIRTIO_ID_INPUT));
	CHECK_EQ_STR("sound", virtio_device_type_name(VIRTIO_ID_SOUND));
	CHECK_EQ_STR("gpu", virtio_device_type_name(VIRTIO_ID_GPU));
	CHECK_EQ_STR("fs", virtio_device_type_name(VIRTIO_ID_FS));
	CHECK(virtio_device_type_name(0) == NULL);
	CHECK(virtio_device_type_name(14) == NULL); /* reserved */
	CHECK(virtio_device_type_name(64) == NULL);
	CHECK(virtio_device_type_name(-1) == NULL);
	CHECK(virtio_device_type_name(-ENODEV) == NULL);
	CHECK(virtio_device_type_name(0x7FFFFFFF) == NULL);
	/* the two functions take and give the same type */
	{
		struct virtio_pci_identity id = ident(0x1AF4, 0x1042, 0x1100,
						      0x01);

		CHECK_EQ_STR("block", virtio_device_type_name(
					      virtio_pci_device_type(&id)));
		id.device = 0x1234;
		CHECK(virtio_device_type_name(virtio_pci_device_type(&id)) ==
		      NULL);
	}
}

static void test_hwid_parse_full(void)
{
	struct virtio_hwid h;

	CHECK_EQ_INT(0, virtio_hwid_parse("PCI\\VEN_1AF4&DEV_1042&SUBSYS_"
					  "00021AF4&REV_01",
					  &h));
	CHECK_EQ_UINT(0x1AF4, h.vendor);
	CHECK(h.has_device && h.has_subsys && h.has_revision);
	CHECK(!h.has_class);
	CHECK_EQ_UINT(0x1042, h.device);
	CHECK_EQ_UINT(0x00021AF4, h.subsys);
	CHECK_EQ_UINT(0x01, h.revision);
}

static void test_hwid_parse_forms(void)
{
	struct virtio_hwid h;

	/* case and surrounding blanks do not matter */
	CHECK_EQ_INT(0, virtio_hwid_parse(" \tpci\\ven_1af4&dev_1001\r\n", &h));
	CHECK(h.has_device && !h.has_subsys && !h.has_revision);
	CHECK_EQ_UINT(0x1001, h.device);
	CHECK_EQ_INT(0, virtio_hwid_parse("PCI\\VEN_1AF4", &h));
	CHECK(!h.has_device);
	CHECK_EQ_INT(0, virtio_hwid_parse("PCI\\VEN_1AF4&DEV_1052&REV_01", &h));
	CHECK(h.has_revision && !h.has_subsys);
	CHECK_EQ_INT(0, virtio_hwid_parse("PCI\\VEN_1AF4&CC_0100", &h));
	CHECK(h.has_class && !h.has_device);
	CHECK_EQ_UINT(0x0100, h.class_code);
	CHECK_EQ_UINT(4, h.class_digits);
	CHECK_EQ_INT(0,
		     virtio_hwid_parse("PCI\\VEN_1AF4&DEV_1059&CC_040100", &h));
	CHECK_EQ_UINT(0x040100, h.class_code);
	CHECK_EQ_UINT(6, h.class_digits);
}

static void test_hwid_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"PCI",
		"PCI\\",
		"USB\\VID_1AF4&PID_1042",
		"PCI\\VEN_1AF",	  /* 3 digits */
		"PCI\\VEN_1AF4F", /* 5 digits */
		"PCI\\VEN_1AG4",
		"PCI\\VEN_1AF4&", /* dangling & */
		"PCI\\VEN_1AF4&DEV_1042&",
		"PCI\\VEN_1AF4&REV_01&DEV_1042", /* out of order */
		"PCI\\VEN_1AF4&DEV_1042&REV_01&SUBSYS_00021AF4",
		"PCI\\VEN_1AF4&DEV_1042&DEV_1042", /* repeated */
		"PCI\\VEN_1AF4&SUBSYS_00021AF4",   /* no DEV */
		"PCI\\VEN_1AF4&REV_01",
		"PCI\\VEN_1AF4&DEV_1042&SUBSYS_0002", /* short */
		"PCI\\VEN_1AF4&DEV_1042&REV_1",
		"PCI\\VEN_1AF4&CC_01",
		"PCI\\VEN_1AF4&CC_01000",
		"PCI\\VEN_1AF4&DEV_1042 &REV_01", /* inner blank */
		"PCI\\CC_0100", /* no vendor: no struct form */
		"PCI\\VEN_1AF4&FOO_1234",
		"PCI\\VEN_1AF4.DEV_1042", /* not '&' after a field */
		"PCI\\VEN_1AF4&DEV_1042XREV_01",
		"PCI\\VEN_1AF4&DEV_10420&REV_01",
	};
	struct virtio_hwid h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (virtio_hwid_parse(bad[i], &h) != -EINVAL)
			FAIL_AT("accepted \"%s\"", bad[i]);
	}
	CHECK_EQ_INT(-EINVAL, virtio_hwid_parse(NULL, &h));
	CHECK_EQ_INT(-EINVAL, virtio_hwid_parse("PCI\\VEN_1AF4", NULL));
}

static void test_hwid_format(void)
{
	static const char *const ids[] = {
		"PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01",
		"PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4",
		"PCI\\VEN_1AF4&DEV_1042",
		"PCI\\VEN_1AF4&CC_0100",
		"PCI\\VEN_1AF4&DEV_1059&CC_040100",
		"PCI\\VEN_1AF4",
	};
	char buf[VIRTIO_HWID_MAX];
	struct virtio_hwid h;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		CHECK_EQ_INT(0, virtio_hwid_parse(ids[i], &h));
		CHECK_EQ_INT((int)strlen(ids[i]),
			     virtio_hwid_format(&h, buf, sizeof(buf)));
		CHECK_EQ_STR(ids[i], buf);
	}
	/* lower case in, canonical upper case out */
	CHECK_EQ_INT(0, virtio_hwid_parse("pci\\ven_1af4&dev_10ab", &h));
	virtio_hwid_format(&h, buf, sizeof(buf));
	CHECK_EQ_STR("PCI\\VEN_1AF4&DEV_10AB", buf);
	/* exactly fitting and one byte short */
	CHECK_EQ_INT(21, virtio_hwid_format(&h, buf, 22));
	CHECK_EQ_INT(-ENOSPC, virtio_hwid_format(&h, buf, 21));
	CHECK_EQ_INT(-ENOSPC, virtio_hwid_format(&h, buf, 0));
	h.has_class = true;
	h.class_digits = 5;
	CHECK_EQ_INT(-EINVAL, virtio_hwid_format(&h, buf, sizeof(buf)));
}

/* The documented Windows list for Aero's virtio-blk, in order. */
static void test_hwid_list(void)
{
	static const char *const want[] = {
		"PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01",
		"PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4",
		"PCI\\VEN_1AF4&DEV_1042&REV_01",
		"PCI\\VEN_1AF4&DEV_1042",
		"PCI\\VEN_1AF4&DEV_1042&CC_010000",
		"PCI\\VEN_1AF4&DEV_1042&CC_0100",
		"PCI\\VEN_1AF4&CC_010000",
		"PCI\\VEN_1AF4&CC_0100",
		"PCI\\VEN_1AF4",
		"PCI\\CC_010000",
		"PCI\\CC_0100",
	};
	struct virtio_pci_identity id = ident(0x1AF4, 0x1042, 0x0002, 0x01);
	char ids[16][VIRTIO_HWID_MAX];

	memset(ids, 0, sizeof(ids));
	CHECK_EQ_UINT(sizeof(want) / sizeof(want[0]), VIRTIO_HWID_LIST_MAX);
	CHECK_EQ_UINT(VIRTIO_HWID_LIST_MAX, virtio_hwid_list(&id, ids, 16));
	for (size_t i = 0; i < VIRTIO_HWID_LIST_MAX; i++)
		CHECK_EQ_STR(want[i], ids[i]);
	CHECK_EQ_STR("", ids[VIRTIO_HWID_LIST_MAX]);
	/* a short array gets the most specific ones, and the count written */
	memset(ids, 0, sizeof(ids));
	CHECK_EQ_UINT(2, virtio_hwid_list(&id, ids, 2));
	CHECK_EQ_STR(want[0], ids[0]);
	CHECK_EQ_STR(want[1], ids[1]);
	CHECK_EQ_STR("", ids[2]);
	memset(ids, 0, sizeof(ids));
	CHECK_EQ_UINT(10, virtio_hwid_list(&id, ids, 10));
	CHECK_EQ_STR(want[9], ids[9]);
	CHECK_EQ_STR("", ids[10]);
	CHECK_EQ_UINT(0, virtio_hwid_list(&id, NULL, 0));
	memset(ids, 0, sizeof(ids));
	CHECK_EQ_UINT(0, virtio_hwid_list(&id, ids, 0));
	CHECK_EQ_STR("", ids[0]);
	CHECK_EQ_UINT(0, virtio_hwid_list(NULL, ids, 16));
}

static void test_hwid_binds(void)
{
	struct virtio_pci_identity blk = ident(0x1AF4, 0x1042, 0x0002, 0x01);
	struct virtio_pci_identity legacy_blk = ident(0x1AF4, 0x1001, 0x0002,
						      0x00);

	CHECK(virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1042&SUBSYS_00021AF4&REV_01",
				&blk));
	CHECK(virtio_hwid_binds("pci\\ven_1af4&dev_1042&rev_01", &blk));
	CHECK(virtio_hwid_binds("  PCI\\VEN_1AF4&DEV_1042  ", &blk));
	CHECK(virtio_hwid_binds("PCI\\CC_0100", &blk));
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1042&REV_00", &blk));
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1041", &blk));
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1042&SUBSYS_00011AF4",
				 &blk));
	/* fields in a different order are a different string to PnP */
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1042&REV_01&SUBSYS_"
				 "00021AF4",
				 &blk));
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_104", &blk));
	CHECK(!virtio_hwid_binds("", &blk));
	CHECK(!virtio_hwid_binds(NULL, &blk));
	/* virtio-win's viostor line binds QEMU's transitional blk */
	CHECK(virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
				&legacy_blk));
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_"
				 "00",
				 &blk));
}

/* AERO-W7-VIRTIO v1 §6 table, and the INF lines that must bind it. */
static void test_aero_table(void)
{
	static const struct {
		const char *name, *driver;
		uint16_t dev, ss;
		uint32_t cc;
		int type;
		const char *inf_id;
	} want[] = {
		{ "virtio-net", "netkvm", 0x1041, 0x0001, 0x020000,
		  VIRTIO_ID_NET, "PCI\\VEN_1AF4&DEV_1041&REV_01" },
		{ "virtio-blk", "viostor", 0x1042, 0x0002, 0x010000,
		  VIRTIO_ID_BLOCK, "PCI\\VEN_1AF4&DEV_1042&REV_01" },
		{ "virtio-keyboard", "vioinput", 0x1052, 0x0010, 0x098000,
		  VIRTIO_ID_INPUT,
		  "PCI\\VEN_1AF4&DEV_1052&SUBSYS_00101AF4&REV_01" },
		{ "virtio-mouse", "vioinput", 0x1052, 0x0011, 0x098000,
		  VIRTIO_ID_INPUT,
		  "PCI\\VEN_1AF4&DEV_1052&SUBSYS_00111AF4&REV_01" },
		{ "virtio-tablet", "vioinput", 0x1052, 0x0012, 0x098000,
		  VIRTIO_ID_INPUT,
		  "PCI\\VEN_1AF4&DEV_1052&SUBSYS_00121AF4&REV_01" },
		{ "virtio-snd", "viosnd", 0x1059, 0x0019, 0x040100,
		  VIRTIO_ID_SOUND, "PCI\\VEN_1AF4&DEV_1059&REV_01" },
	};
	const struct virtio_aero_device *t;
	size_t n = 0;

	t = virtio_aero_devices(&n);
	CHECK_EQ_UINT(6, n);
	for (size_t i = 0; i < n && i < 6; i++) {
		const struct virtio_pci_identity *id = &t[i].id;
		struct virtio_pci_identity rev0 = *id;

		harness_case = want[i].name;
		CHECK_EQ_STR(want[i].name, t[i].name);
		CHECK_EQ_STR(want[i].driver, t[i].driver);
		CHECK_EQ_UINT(0x1AF4, id->vendor);
		CHECK_EQ_UINT(want[i].dev, id->device);
		CHECK_EQ_UINT(0x1AF4, id->subsys_vendor);
		CHECK_EQ_UINT(want[i].ss, id->subsys);
		CHECK_EQ_UINT(0x01, id->revision);
		CHECK_EQ_UINT(want[i].cc, id->class_code);
		CHECK(virtio_pci_is_modern(id));
		CHECK_EQ_INT(want[i].type, virtio_pci_device_type(id));
		CHECK(virtio_hwid_binds(want[i].inf_id, id));
		CHECK(virtio_aero_device_find(id) == &t[i]);
		/* QEMU's default REV_00 is not the contract */
		rev0.revision = 0;
		CHECK(!virtio_hwid_binds(want[i].inf_id, &rev0));
		CHECK(virtio_aero_device_find(&rev0) == NULL);
	}
	/* the keyboard INF line binds only the keyboard function */
	CHECK(!virtio_hwid_binds("PCI\\VEN_1AF4&DEV_1052&SUBSYS_00101AF4&REV_"
				 "01",
				 &t[3].id));
	CHECK(virtio_aero_device_find(NULL) == NULL);
	CHECK(virtio_aero_devices(NULL) == t);
}

int main(void)
{
	RUN(test_identity_read);
	RUN(test_identity_short);
	RUN(test_device_type);
	RUN(test_is_modern);
	RUN(test_type_names);
	RUN(test_hwid_parse_full);
	RUN(test_hwid_parse_forms);
	RUN(test_hwid_parse_rejects);
	RUN(test_hwid_format);
	RUN(test_hwid_list);
	RUN(test_hwid_binds);
	RUN(test_aero_table);
	return harness_exit();
}
