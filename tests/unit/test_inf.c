/*
 * test_inf.c: the INF parser on INFs built like virtio-win's (viostor,
 * netkvm with Ndi\Params, vioinput with a KMDF co-installer), each written
 * in every encoding the parser accepts, plus the quirks seen in real files
 * and garbage that must be refused with a clear message.
 *
 * The encodings are generated here from one UTF-8 text, so every variant
 * is checked against the same expectations, which are read off the text.
 */
#include "tests/harness.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "catalog/formats/inf.h"

/* --- the INFs ----------------------------------------------------------- */

/* OLD Win7/amd64/viostor.inf, abridged (research virtio-win-layout §3). */
static const char viostor_inf[] =
	";---------------------------------------------------------------------"
	"----------\n"
	"; VIOSTOR.INF\n"
	";\n"
	"; VirtIO block device driver\n"
	";\n"
	"; Copyright (c) 2008-2019 Red Hat, Inc.\n"
	";---------------------------------------------------------------------"
	"----------\n"
	"\n"
	"[Version]\n"
	"Signature=\"$WINDOWS NT$\"\n"
	"Class=SCSIAdapter\n"
	"ClassGUID={4D36E97B-E325-11CE-BFC1-08002BE10318}\n"
	"Provider=%VENDOR%\n"
	"DriverVer = 06/07/2019,61.77.104.17200   \n"
	"CatalogFile=viostor.cat\n"
	"DriverPackageType = PlugAndPlay\n"
	"DriverPackageDisplayName = %VioStorScsi.DeviceDesc%\n"
	"\n"
	";\n"
	"; Source file information\n"
	";\n"
	"\n"
	"[SourceDisksNames]\n"
	"1 = %DiskId1%,,,\"\"\n"
	"\n"
	"[SourceDisksFiles]\n"
	"viostor.sys = 1,,\n"
	"\n"
	"[ControlFlags]\n"
	";ExcludeFromSelect = *\n"
	"\n"
	"[DestinationDirs]\n"
	"DefaultDestDir = 10\n"
	"viostor_Files_Driver = 12\n"
	"\n"
	"[Manufacturer]\n"
	"%VENDOR%   = VioStor,NTamd64.6.1\n"
	"\n"
	"[VioStor.NTamd64.6.1]\n"
	"%VioStorScsi.DeviceDesc% = scsi_inst, "
	"PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00, "
	"PCI\\VEN_1AF4&DEV_1001\n"
	"%VioStorScsi.DeviceDesc% = scsi_inst, "
	"PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01, "
	"PCI\\VEN_1AF4&DEV_1042\n"
	";%VioStorScsi.DeviceDesc% = scsi_inst, PCI\\VEN_1AF4&DEV_1004\n"
	"\n"
	"[viostor_Files_Driver]\n"
	"viostor.sys,,,2\n"
	"\n"
	"[scsi_inst]\n"
	"CopyFiles=viostor_Files_Driver\n"
	"\n"
	"[scsi_inst.HW]\n"
	"AddReg = pnpsafe_pci_addreg\n"
	"AddReg = msi_addreg\n"
	"\n"
	"[scsi_inst.Services]\n"
	"AddService = viostor, 0x00000002 , viostor_Service_Inst, "
	"miniport_EventLog_Inst ; boot\n"
	"\n"
	"[viostor_Service_Inst]\n"
	"ServiceType    = %SERVICE_KERNEL_DRIVER%\n"
	"StartType      = %SERVICE_BOOT_START%\n"
	"ErrorControl   = %SERVICE_ERROR_NORMAL%\n"
	"ServiceBinary  = %12%\\viostor.sys\n"
	"LoadOrderGroup = SCSI miniport\n"
	"AddReg         = pnpsafe_pci_addreg\n"
	"\n"
	"[miniport_EventLog_Inst]\n"
	"AddReg = miniport_EventLog_AddReg\n"
	"\n"
	"[miniport_EventLog_AddReg]\n"
	"HKR,,EventMessageFile,%REG_EXPAND_SZ%,\"%%SystemRoot%%"
	"\\System32\\IoLogMsg.dll\"\n"
	"HKR,,TypesSupported,%REG_DWORD%,7\n"
	"\n"
	"[pnpsafe_pci_addreg]\n"
	"HKR, \"Parameters\\PnpInterface\", \"5\", %REG_DWORD%, 0x00000001\n"
	"\n"
	"[msi_addreg]\n"
	"HKR, \"Interrupt Management\", 0x00000010\n"
	"HKR, \"Interrupt Management\\MessageSignaledInterruptProperties\", "
	"0x00000010\n"
	"HKR, \"Interrupt Management\\MessageSignaledInterruptProperties\", "
	"MSISupported, 0x00010001, 1\n"
	"HKR, \"Interrupt Management\\MessageSignaledInterruptProperties\", "
	"MessageNumberLimit, 0x00010001, 2\n"
	"\n"
	"[Strings]\n"
	";\n"
	"; Localizable Strings\n"
	";\n"
	"diskId1 = \"Red Hat VirtIO SCSI controller Installation Disk\"\n"
	"VioStorScsi.DeviceDesc = \"Red Hat VirtIO SCSI controller\"\n"
	"\n"
	";\n"
	"; Non-Localizable Strings\n"
	";\n"
	"REG_EXPAND_SZ  = 0x00020000\n"
	"REG_DWORD      = 0x00010001\n"
	"SERVICE_KERNEL_DRIVER  = 1\n"
	"SERVICE_BOOT_START     = 0\n"
	"SERVICE_ERROR_NORMAL   = 1\n"
	"\n"
	";\n"
	";  Vendor\n"
	";\n"
	"VENDOR = \"Red Hat, Inc.\"\n";

/*
 * OLD Win7/amd64/netkvm.inf, abridged: lowercase [version], spaces around
 * '=', a decorated CatalogFile, mostly Ndi\Params, strings split between
 * [Strings] and [Strings.0409], and an install section given twice.
 */
static const char netkvm_inf[] =
	"; Copyright (c) 2008-2019 Red Hat, Inc.\n"
	"; Installation file for Red Hat VirtIO Ethernet Adapter\n"
	"\n"
	"[version]\n"
	"Signature   = \"$Windows NT$\"\n"
	"Class       = Net\n"
	"ClassGUID   = {4d36e972-e325-11ce-bfc1-08002be10318}\n"
	"Provider    = %VENDOR%\n"
	"DriverVer   = 06/07/2019,61.77.104.17200\n"
	"CatalogFile = netkvm.cat\n"
	"CatalogFile.NTx86 = netkvm_x86.cat\n"
	"DriverPackageType = PlugAndPlay\n"
	"DriverPackageDisplayName = %NetKVM.PackageName%\n"
	"\n"
	"[Manufacturer]\n"
	"%VENDOR% = NetKVM, NTamd64.6.1, NTx86.6.1\n"
	"\n"
	"[NetKVM.NTamd64.6.1]\n"
	"%NetKVM.DeviceDesc%    = kvmnet6.ndi, "
	"PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00, "
	"PCI\\VEN_1AF4&DEV_1000\n"
	"%NetKVM.DeviceDesc%    = kvmnet6.ndi, "
	"PCI\\VEN_1AF4&DEV_1041&SUBSYS_11001AF4&REV_01, "
	"PCI\\VEN_1AF4&DEV_1041\n"
	"\n"
	"[kvmnet6.ndi]\n"
	"Characteristics = 0x84 ; NCF_PHYSICAL | NCF_HAS_UI\n"
	"BusType         = 5 ; PCI\n"
	"AddReg          = kvmnet6.Reg, Parameters\n"
	"CopyFiles       = kvmnet6.CopyFiles\n"
	"*IfType         = 6\n"
	"*MediaType      = 0\n"
	"*PhysicalMediaType = 0\n"
	"\n"
	"[kvmnet6.ndi.Services]\n"
	"AddService      = netkvm, 2, kvmnet6.Service, kvmnet6.EventLog\n"
	"\n"
	"[kvmnet6.Reg]\n"
	"HKR,    ,                         BusNumber,           0, \"0\"\n"
	"HKR, Ndi,                         Service,             0, \"netkvm\"\n"
	"HKR, Ndi\\Interfaces,              UpperRange,          0, \"ndis5\"\n"
	"HKR, Ndi\\Interfaces,              LowerRange,          0, "
	"\"ethernet\"\n"
	"\n"
	"[Parameters]\n"
	"HKR, Ndi\\params\\ConnectRate,       ParamDesc,  0,          "
	"%ConnectRate%\n"
	"HKR, Ndi\\params\\ConnectRate,       Default,    0,          "
	"\"1001\"\n"
	"HKR, Ndi\\params\\ConnectRate,       type,       0,          "
	"\"enum\"\n"
	"HKR, Ndi\\params\\ConnectRate\\enum,  \"10\",       0,          "
	"%10M%\n"
	"HKR, Ndi\\params\\ConnectRate\\enum,  \"1001\",     0,          "
	"%10G%\n"
	"HKR, Ndi\\params\\*PriorityVLANTag,  ParamDesc,  0,          "
	"%PriorityVlanTag%\n"
	"HKR, Ndi\\params\\*PriorityVLANTag,  Default,    0,          \"3\"\n"
	"HKR, Ndi\\params\\*PriorityVLANTag,  type,       0,          "
	"\"enum\"\n"
	"HKR, Ndi\\params\\*PriorityVLANTag\\enum, \"0\",    0,          "
	"%Disable%\n"
	"HKR, Ndi\\params\\*PriorityVLANTag\\enum, \"3\",    0,          "
	"%PriorityVlan%\n"
	"HKR, Ndi\\params\\MTU,               ParamDesc,  0,          %MTU%\n"
	"HKR, Ndi\\params\\MTU,               type,       0,          "
	"\"long\"\n"
	"HKR, Ndi\\params\\MTU,               default,    0,          "
	"\"1500\"\n"
	"HKR, Ndi\\params\\MTU,               min,        0,          \"576\"\n"
	"HKR, Ndi\\params\\MTU,               max,        0,          "
	"\"65500\"\n"
	"HKR, Ndi\\params\\MTU,               step,       0,          \"1\"\n"
	"\n"
	"[kvmnet6.CopyFiles]\n"
	"netkvm.sys,,,2\n"
	"\n"
	"[kvmnet6.Service]\n"
	"DisplayName     = %NetKVM.Service.DispName%\n"
	"ServiceType     = 1 ;%SERVICE_KERNEL_DRIVER%\n"
	"StartType       = 3 ;%SERVICE_DEMAND_START%\n"
	"ErrorControl    = 1 ;%SERVICE_ERROR_NORMAL%\n"
	"ServiceBinary   = %12%\\netkvm.sys\n"
	"LoadOrderGroup  = NDIS\n"
	"AddReg          = TextModeFlags.Reg\n"
	"\n"
	"[kvmnet6.EventLog]\n"
	"AddReg = kvmnet6.AddEventLog.Reg\n"
	"\n"
	"[kvmnet6.AddEventLog.Reg]\n"
	"HKR, , EventMessageFile, 0x00020000, "
	"\"%%SystemRoot%%\\System32\\netevent.dll\"\n"
	"HKR, , TypesSupported,   0x00010001, 7\n"
	"\n"
	"[TextModeFlags.Reg]\n"
	"HKR, , TextModeFlags,    0x00010001, 0x0001\n"
	"\n"
	"[SourceDisksNames]\n"
	"1 = %DiskId1%,,,\"\"\n"
	"\n"
	"[SourceDisksFiles]\n"
	"netkvm.sys  = 1,,\n"
	"\n"
	"[DestinationDirs]\n"
	"kvmnet6.CopyFiles = 12\n"
	"\n"
	"[kvmnet6.ndi]\n"
	"*NdisDeviceType = 0\n"
	"\n"
	"[Strings]\n"
	"VENDOR = \"Red Hat, Inc.\"\n"
	"NetKVM.DeviceDesc = \"Red Hat VirtIO Ethernet Adapter\"\n"
	"NetKVM.Service.DispName = \"Red Hat VirtIO Ethernet Adapter "
	"Service\"\n"
	"DiskId1 = \"Red Hat VirtIO Ethernet Adapter Driver Disk #1\"\n"
	"\n"
	"[Strings.0409]\n"
	"VENDOR = \"not used: [Strings] comes first\"\n"
	"NetKVM.PackageName = \"Red Hat VirtIO Ethernet Adapter Package\"\n"
	"ConnectRate = \"Link Speed\"\n"
	"10M = \"10M\"\n"
	"10G = \"10G\"\n"
	"PriorityVlanTag = \"Priority and VLAN tagging\"\n"
	"Disable = \"Disabled\"\n"
	"PriorityVlan = \"Priority and VLAN Enabled\"\n"
	"MTU = \"Init.MTUSize\"\n";

/*
 * OLD Win7/amd64/vioinput.inf, abridged: KMDF co-installer in
 * [..NT.CoInstallers], CopyFiles in .NT sections, a child device, a
 * continued model line, and a second co-installer only in a comment.
 */
static const char vioinput_inf[] =
	";/*++\n"
	";Copyright (c) 2016-2019 Red Hat Inc.\n"
	";Module Name:\n"
	";    vioinput.inf\n"
	";--*/\n"
	"\n"
	"[Version]\n"
	"Signature=\"$WINDOWS NT$\"\n"
	"Class=HIDClass\n"
	"ClassGuid={745a17a0-74d3-11d0-b6fe-00a0c90f57da}\n"
	"Provider=%VENDOR%\n"
	"CatalogFile=vioinput.cat\n"
	"DriverVer=06/07/2019,61.77.104.17200\n"
	"PnpLockdown = 1\n"
	"\n"
	"[DestinationDirs]\n"
	"DefaultDestDir = 12\n"
	"VirtioInput_CoInstaller_CopyFiles = 11\n"
	"\n"
	"[SourceDisksNames]\n"
	"1 = %DiskName%,,,\"\"\n"
	"\n"
	"[SourceDisksFiles]\n"
	"vioinput.sys  = 1,,\n"
	"viohidkmdf.sys = 1,,\n"
	"WdfCoInstaller01009.dll=1 ; make sure the number matches with "
	"SourceDisksNames\n"
	"\n"
	"[Manufacturer]\n"
	"%VENDOR%=VirtioInput,NTamd64.6.1\n"
	"\n"
	"[VirtioInput.NTamd64.6.1]\n"
	"%VirtioInput.DeviceDesc%=VirtioInput_Device, \\\n"
	"    PCI\\VEN_1AF4&DEV_1052&SUBSYS_11001AF4&REV_01, "
	"PCI\\VEN_1AF4&DEV_1052\n"
	"%VirtioInputChild.DeviceDesc%=VirtioInputChild_Device, "
	"VIOINPUT\\REV_01\n"
	";%VirtioInput.DeviceDesc%=VirtioInput_Device, PCI\\VEN_1AF4&DEV_1011\n"
	"\n"
	"[VirtioInput_Device.NT]\n"
	"CopyFiles=VirtioInput_CopyFiles\n"
	"\n"
	"[VirtioInput_CopyFiles]\n"
	"vioinput.sys\n"
	"\n"
	"[VirtioInput_Device.NT.HW]\n"
	"AddReg=VirtioInput_AddReg\n"
	"\n"
	"[VirtioInput_AddReg]\n"
	"HKR,Interrupt Management,,0x00000010\n"
	"HKR,Interrupt "
	"Management\\MessageSignaledInterruptProperties,,0x00000010\n"
	"HKR,Interrupt "
	"Management\\MessageSignaledInterruptProperties,MSISupported,"
	"0x00010001,1\n"
	"\n"
	"[VirtioInput_Device.NT.Services]\n"
	"AddService = vioinput,%SPSVCINST_ASSOCSERVICE%, "
	"VirtioInput_Service_Inst\n"
	"\n"
	"[VirtioInput_Service_Inst]\n"
	"DisplayName    = %VirtioInput.SVCDESC%\n"
	"ServiceType    = 1               ; SERVICE_KERNEL_DRIVER\n"
	"StartType      = 3               ; SERVICE_DEMAND_START\n"
	"ErrorControl   = 1               ; SERVICE_ERROR_NORMAL\n"
	"ServiceBinary  = %12%\\vioinput.sys\n"
	"LoadOrderGroup = Extended Base\n"
	"\n"
	"[VirtioInput_Device.NT.CoInstallers]\n"
	"AddReg=VirtioInput_CoInstaller_AddReg\n"
	"CopyFiles=VirtioInput_CoInstaller_CopyFiles\n"
	"\n"
	"[VirtioInput_CoInstaller_AddReg]\n"
	"HKR,,CoInstallers32,0x00010000, "
	"\"WdfCoInstaller01009.dll,WdfCoInstaller\"\n"
	";HKR,,CoInstallers32,0x00010000, "
	"\"WdfCoInstaller01011.dll,WdfCoInstaller\"\n"
	"\n"
	"[VirtioInput_CoInstaller_CopyFiles]\n"
	"WdfCoInstaller01009.dll\n"
	"\n"
	"[VirtioInput_Device.NT.Wdf]\n"
	"KmdfService =  vioinput, VirtioInput_wdfsect\n"
	"\n"
	"[VirtioInput_wdfsect]\n"
	"KmdfLibraryVersion = 1.9\n"
	"\n"
	"[VirtioInputChild_Device.NT]\n"
	"CopyFiles=VirtioInputChild_CopyFiles\n"
	"\n"
	"[VirtioInputChild_CopyFiles]\n"
	"viohidkmdf.sys\n"
	"\n"
	"[VirtioInputChild_Device.NT.HW]\n"
	"AddReg = VirtioInputChild_AddReg\n"
	"\n"
	"[VirtioInputChild_AddReg]\n"
	"HKR,,\"UpperFilters\",0x00010000,\"mshidkmdf\"\n"
	"\n"
	"[VirtioInputChild_Device.NT.Services]\n"
	"AddService = viohidkmdf,%SPSVCINST_ASSOCSERVICE%, "
	"VirtioInputChild_Service_Inst\n"
	"\n"
	"[VirtioInputChild_Service_Inst]\n"
	"DisplayName    = %VirtioInputChild.SVCDESC%\n"
	"ServiceType    = 1\n"
	"StartType      = 3\n"
	"ErrorControl   = 1\n"
	"ServiceBinary  = %12%\\viohidkmdf.sys\n"
	"\n"
	"[Strings]\n"
	"SPSVCINST_ASSOCSERVICE = 0x00000002\n"
	"VENDOR = \"Red Hat, Inc.\"\n"
	"DiskName = \"VirtIO Input Installation Disk\"\n"
	"VirtioInput.DeviceDesc = \"VirtIO Input Driver\"\n"
	"VirtioInputChild.DeviceDesc = \"VirtIO Input Driver Helper\"\n"
	"VirtioInput.SVCDESC = \"VirtIO Input Service\"\n"
	"VirtioInputChild.SVCDESC = \"VirtIO Input Helper Service\"\n";

/* --- encodings ---------------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert(b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_unit(struct buf *b, unsigned u, bool be)
{
	unsigned char c[2];

	c[be ? 0 : 1] = (unsigned char)(u >> 8);
	c[be ? 1 : 0] = (unsigned char)u;
	buf_put(b, c, 2);
}

/* Decodes one code point of valid UTF-8 (the test's own text). */
static unsigned next_cp(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned c = p[0];

	if (c < 0x80) {
		*s += 1;
		return c;
	}
	if (c < 0xe0) {
		*s += 2;
		return (c & 0x1f) << 6 | (p[1] & 0x3f);
	}
	if (c < 0xf0) {
		*s += 3;
		return (c & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	}
	*s += 4;
	return (c & 0x07) << 18 | (p[1] & 0x3f) << 12 | (p[2] & 0x3f) << 6 |
	       (p[3] & 0x3f);
}

static const enum inf_encoding all_encodings[] = {
	INF_ENC_ASCII,	 INF_ENC_UTF8_BOM,    INF_ENC_UTF16LE_BOM,
	INF_ENC_UTF16LE, INF_ENC_UTF16BE_BOM,
};

/*
 * Encodes TEXT (UTF-8, LF) as ENC, with CRLF line ends when CRLF.  ANSI
 * turns code points below 256 into single bytes.
 */
static struct buf encode(const char *text, enum inf_encoding enc, bool crlf)
{
	struct buf b = { NULL, 0 };
	const unsigned char *s = (const unsigned char *)text;
	bool be = enc == INF_ENC_UTF16BE_BOM;
	bool wide = enc >= INF_ENC_UTF16LE_BOM;

	buf_put(&b, "", 0);
	if (enc == INF_ENC_UTF8_BOM)
		buf_put(&b, "\xef\xbb\xbf", 3);
	if (enc == INF_ENC_UTF16LE_BOM || enc == INF_ENC_UTF16BE_BOM)
		put_unit(&b, 0xfeff, be);
	while (*s) {
		const unsigned char *start = s;
		unsigned cp = next_cp(&s);

		if (cp == '\n' && crlf) {
			if (wide)
				put_unit(&b, '\r', be);
			else
				buf_put(&b, "\r", 1);
		}
		if (wide) {
			if (cp >= 0x10000) {
				put_unit(&b, 0xd800 + ((cp - 0x10000) >> 10),
					 be);
				put_unit(&b, 0xdc00 + ((cp - 0x10000) & 0x3ff),
					 be);
			} else {
				put_unit(&b, cp, be);
			}
		} else if (enc == INF_ENC_ANSI) {
			unsigned char c = (unsigned char)cp;

			assert(cp < 256);
			buf_put(&b, &c, 1);
		} else {
			buf_put(&b, start, (size_t)(s - start));
		}
	}
	return b;
}

static struct inf *parse_ok(const struct buf *b)
{
	struct aero_error err = { 0, "" };
	struct inf *inf = NULL;
	int rc = inf_parse(b->p, b->len, &inf, &err);

	if (rc != 0)
		FAIL_AT("inf_parse failed: %d %s", rc, err.msg);
	return inf;
}

static bool has_file(const struct inf *inf, const char *name)
{
	for (size_t i = 0; i < inf_file_count(inf); i++)
		if (strcmp(inf_file(inf, i), name) == 0)
			return true;
	return false;
}

/* --- per-driver expectations, read off the texts above ------------------ */

static void check_model(const struct inf *inf, size_t i, const char *desc,
			const char *sect, const char *hwid, const char *dec)
{
	const struct inf_model *m = inf_model(inf, i);

	if (!m) {
		FAIL_AT("no model %zu", i);
		return;
	}
	CHECK_EQ_STR(desc, m->description);
	CHECK_EQ_STR(sect, m->install_section);
	CHECK_EQ_STR(hwid, m->hardware_id);
	CHECK_EQ_STR(dec, m->decoration);
}

static void check_viostor(const struct inf *inf)
{
	const char *desc = "Red Hat VirtIO SCSI controller";

	CHECK_EQ_STR("$WINDOWS NT$", inf_signature(inf));
	CHECK_EQ_STR("SCSIAdapter", inf_class(inf));
	CHECK_EQ_STR("{4D36E97B-E325-11CE-BFC1-08002BE10318}",
		     inf_class_guid(inf));
	CHECK_EQ_STR("Red Hat, Inc.", inf_provider(inf));
	CHECK_EQ_STR("06/07/2019", inf_driver_date(inf));
	CHECK_EQ_STR("61.77.104.17200", inf_driver_version(inf));
	CHECK_EQ_UINT(1, inf_catalog_count(inf));
	CHECK_EQ_STR("", inf_catalog_decoration(inf, 0));
	CHECK_EQ_STR("viostor.cat", inf_catalog_file(inf, 0));
	CHECK_EQ_STR("viostor.cat", inf_catalog_for_arch(inf, "amd64"));
	CHECK_EQ_STR("viostor.cat", inf_catalog_for_arch(inf, "x86"));

	CHECK_EQ_UINT(1, inf_manufacturer_count(inf));
	CHECK_EQ_STR("Red Hat, Inc.", inf_manufacturer_name(inf, 0));
	CHECK_EQ_STR("VioStor", inf_manufacturer_section(inf, 0));
	CHECK_EQ_UINT(1, inf_decoration_count(inf, 0));
	CHECK_EQ_STR("NTamd64.6.1", inf_decoration(inf, 0, 0));

	/* The DEV_1004 line is a comment. */
	CHECK_EQ_UINT(4, inf_model_count(inf));
	check_model(inf, 0, desc, "scsi_inst",
		    "PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00",
		    "NTamd64.6.1");
	check_model(inf, 1, desc, "scsi_inst", "PCI\\VEN_1AF4&DEV_1001",
		    "NTamd64.6.1");
	check_model(inf, 2, desc, "scsi_inst",
		    "PCI\\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01",
		    "NTamd64.6.1");
	check_model(inf, 3, desc, "scsi_inst", "PCI\\VEN_1AF4&DEV_1042",
		    "NTamd64.6.1");

	CHECK_EQ_UINT(1, inf_service_count(inf));
	CHECK_EQ_STR("viostor", inf_service(inf, 0));
	/* SourceDisksFiles, the file list and ServiceBinary name one file. */
	CHECK_EQ_UINT(1, inf_file_count(inf));
	CHECK_EQ_STR("viostor.sys", inf_file(inf, 0));

	CHECK_EQ_STR("0", inf_get(inf, "viostor_service_inst", "starttype"));
	CHECK_EQ_STR("%12%\\viostor.sys",
		     inf_get(inf, "viostor_Service_Inst", "ServiceBinary"));
	CHECK_EQ_STR("SCSI miniport",
		     inf_get(inf, "viostor_Service_Inst", "LoadOrderGroup"));
	CHECK_EQ_STR("06/07/2019,61.77.104.17200",
		     inf_get(inf, "VERSION", "driverver"));
	CHECK_EQ_STR(desc, inf_get(inf, "Version", "DriverPackageDisplayName"));
	CHECK_EQ_STR("1,,", inf_get(inf, "SourceDisksFiles", "viostor.sys"));
	CHECK_EQ_STR("Red Hat, Inc.", inf_get(inf, "Strings", "vendor"));
	CHECK(inf_get(inf, "Version", "ExcludeFromSelect") == NULL);
	CHECK(inf_get(inf, "ControlFlags", "ExcludeFromSelect") == NULL);
	CHECK(inf_get(inf, "NoSuchSection", "Class") == NULL);
}

static void check_netkvm(const struct inf *inf)
{
	const char *desc = "Red Hat VirtIO Ethernet Adapter";

	CHECK_EQ_STR("$Windows NT$", inf_signature(inf));
	CHECK_EQ_STR("Net", inf_class(inf));
	CHECK_EQ_STR("{4d36e972-e325-11ce-bfc1-08002be10318}",
		     inf_class_guid(inf));
	CHECK_EQ_STR("Red Hat, Inc.", inf_provider(inf));
	CHECK_EQ_STR("06/07/2019", inf_driver_date(inf));
	CHECK_EQ_STR("61.77.104.17200", inf_driver_version(inf));
	CHECK_EQ_UINT(2, inf_catalog_count(inf));
	CHECK_EQ_STR("", inf_catalog_decoration(inf, 0));
	CHECK_EQ_STR("netkvm.cat", inf_catalog_file(inf, 0));
	CHECK_EQ_STR("NTx86", inf_catalog_decoration(inf, 1));
	CHECK_EQ_STR("netkvm_x86.cat", inf_catalog_file(inf, 1));
	CHECK_EQ_STR("netkvm.cat", inf_catalog_for_arch(inf, "amd64"));
	CHECK_EQ_STR("netkvm_x86.cat", inf_catalog_for_arch(inf, "x86"));
	/* Only in [Strings.0409]. */
	CHECK_EQ_STR("Red Hat VirtIO Ethernet Adapter Package",
		     inf_get(inf, "version", "DriverPackageDisplayName"));

	CHECK_EQ_UINT(1, inf_manufacturer_count(inf));
	CHECK_EQ_STR("NetKVM", inf_manufacturer_section(inf, 0));
	CHECK_EQ_UINT(2, inf_decoration_count(inf, 0));
	CHECK_EQ_STR("NTamd64.6.1", inf_decoration(inf, 0, 0));
	CHECK_EQ_STR("NTx86.6.1", inf_decoration(inf, 0, 1));
	CHECK(inf_decoration(inf, 0, 2) == NULL);

	/* [NetKVM.NTx86.6.1] does not exist in the amd64 file. */
	CHECK_EQ_UINT(4, inf_model_count(inf));
	check_model(inf, 0, desc, "kvmnet6.ndi",
		    "PCI\\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00",
		    "NTamd64.6.1");
	check_model(inf, 3, desc, "kvmnet6.ndi", "PCI\\VEN_1AF4&DEV_1041",
		    "NTamd64.6.1");

	CHECK_EQ_UINT(1, inf_service_count(inf));
	CHECK_EQ_STR("netkvm", inf_service(inf, 0));
	/* netkvmco.dll ships beside the INF but is not named by it. */
	CHECK_EQ_UINT(1, inf_file_count(inf));
	CHECK_EQ_STR("netkvm.sys", inf_file(inf, 0));

	/* The two [kvmnet6.ndi] blocks merge. */
	CHECK_EQ_STR("0x84", inf_get(inf, "kvmnet6.ndi", "Characteristics"));
	CHECK_EQ_STR("6", inf_get(inf, "KVMNET6.NDI", "*IfType"));
	CHECK_EQ_STR("0", inf_get(inf, "kvmnet6.ndi", "*NdisDeviceType"));
	CHECK_EQ_STR("kvmnet6.Reg,Parameters",
		     inf_get(inf, "kvmnet6.ndi", "AddReg"));
	CHECK_EQ_STR("3", inf_get(inf, "kvmnet6.Service", "StartType"));
	CHECK_EQ_STR("Red Hat VirtIO Ethernet Adapter Service",
		     inf_get(inf, "kvmnet6.Service", "DisplayName"));
	CHECK_EQ_STR("Link Speed", inf_get(inf, "Strings.0409", "ConnectRate"));
}

static void check_vioinput(const struct inf *inf)
{
	const char *desc = "VirtIO Input Driver";

	CHECK_EQ_STR("$WINDOWS NT$", inf_signature(inf));
	CHECK_EQ_STR("HIDClass", inf_class(inf));
	CHECK_EQ_STR("{745a17a0-74d3-11d0-b6fe-00a0c90f57da}",
		     inf_class_guid(inf));
	CHECK_EQ_STR("Red Hat, Inc.", inf_provider(inf));
	CHECK_EQ_STR("06/07/2019", inf_driver_date(inf));
	CHECK_EQ_STR("61.77.104.17200", inf_driver_version(inf));
	CHECK_EQ_STR("vioinput.cat", inf_catalog_for_arch(inf, "amd64"));
	CHECK_EQ_STR("1", inf_get(inf, "Version", "PnpLockdown"));

	CHECK_EQ_UINT(1, inf_manufacturer_count(inf));
	CHECK_EQ_STR("VirtioInput", inf_manufacturer_section(inf, 0));
	/* The first model line is continued; DEV_1011 is a comment. */
	CHECK_EQ_UINT(3, inf_model_count(inf));
	check_model(inf, 0, desc, "VirtioInput_Device",
		    "PCI\\VEN_1AF4&DEV_1052&SUBSYS_11001AF4&REV_01",
		    "NTamd64.6.1");
	check_model(inf, 1, desc, "VirtioInput_Device",
		    "PCI\\VEN_1AF4&DEV_1052", "NTamd64.6.1");
	check_model(inf, 2, "VirtIO Input Driver Helper",
		    "VirtioInputChild_Device", "VIOINPUT\\REV_01",
		    "NTamd64.6.1");

	CHECK_EQ_UINT(2, inf_service_count(inf));
	CHECK_EQ_STR("vioinput", inf_service(inf, 0));
	CHECK_EQ_STR("viohidkmdf", inf_service(inf, 1));

	/* WdfCoInstaller01011.dll appears only in a comment. */
	CHECK_EQ_UINT(3, inf_file_count(inf));
	CHECK_EQ_STR("vioinput.sys", inf_file(inf, 0));
	CHECK_EQ_STR("viohidkmdf.sys", inf_file(inf, 1));
	CHECK_EQ_STR("WdfCoInstaller01009.dll", inf_file(inf, 2));
	CHECK(!has_file(inf, "WdfCoInstaller01011.dll"));
	CHECK_EQ_STR("1.9",
		     inf_get(inf, "VirtioInput_wdfsect", "KmdfLibraryVersion"));
	CHECK_EQ_STR("0x00000002,VirtioInput_Service_Inst",
		     inf_get(inf, "VirtioInput_Device.NT.Services",
			     "AddService") +
			     strlen("vioinput,"));
}

struct driver {
	const char *name;
	const char *text;
	void (*check)(const struct inf *inf);
};

static const struct driver drivers[] = {
	{ "viostor", viostor_inf, check_viostor },
	{ "netkvm", netkvm_inf, check_netkvm },
	{ "vioinput", vioinput_inf, check_vioinput },
};

/* Every driver in every encoding, with CRLF (Win7) and LF (Win8) ends. */
static void test_encodings(void)
{
	for (size_t d = 0; d < sizeof(drivers) / sizeof(drivers[0]); d++) {
		for (size_t e = 0;
		     e < sizeof(all_encodings) / sizeof(all_encodings[0]);
		     e++) {
			for (int crlf = 0; crlf < 2; crlf++) {
				enum inf_encoding enc = all_encodings[e];
				struct buf b = encode(drivers[d].text, enc,
						      crlf);
				struct inf *inf = parse_ok(&b);

				harness_case = drivers[d].name;
				if (inf) {
					enum inf_encoding got = inf_encoding(
						inf);

					if (got != enc)
						FAIL_AT("%s: encoding %s, got "
							"%s",
							drivers[d].name,
							inf_encoding_name(enc),
							inf_encoding_name(got));
					CHECK_EQ_INT(crlf, inf_crlf(inf));
					drivers[d].check(inf);
				}
				inf_free(inf);
				free(b.p);
			}
		}
	}
	harness_case = "test_encodings";
}

/* Non-ASCII text: UTF-8 without BOM, ANSI (Latin-1) and UTF-16. */
static void test_non_ascii(void)
{
	static const char text[] = "; Copyright \xc2\xa9 Red Hat\n"
				   "[Version]\n"
				   "Signature=\"$WINDOWS NT$\"\n"
				   "Provider=%VENDOR%\n"
				   "[Strings]\n"
				   "VENDOR=\"Caf\xc3\xa9 \xc2\xb5Soft\"\n";
	static const enum inf_encoding encs[] = {
		INF_ENC_UTF8,	 INF_ENC_ANSI,	      INF_ENC_UTF8_BOM,
		INF_ENC_UTF16LE, INF_ENC_UTF16BE_BOM,
	};

	for (size_t e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
		struct buf b = encode(text, encs[e], true);
		struct inf *inf = parse_ok(&b);

		if (inf) {
			CHECK_EQ_STR(inf_encoding_name(encs[e]),
				     inf_encoding_name(inf_encoding(inf)));
			CHECK_EQ_STR("Caf\xc3\xa9 \xc2\xb5Soft",
				     inf_provider(inf));
		}
		inf_free(inf);
		free(b.p);
	}
}

/* The quirks of anchor-packaging §10 items 3 and 6 and research §6. */
static const char quirks_inf[] =
	"; quirks\r\n"
	"[version]\n"
	"signature = $Chicago$\r\n"
	"CLASS = System   \t\r\n"
	"DriverVer =    01/02/2020 ,  100.1.2.3   ; inline comment\r\n"
	"Provider = \"%VENDOR%\"\n"
	"CatalogFile.NTamd64 = quirk64.cat\r\n"
	"CatalogFile.ntx86 = quirk32.cat\r\n"
	"CatalogFiles = not_a_catalog.cat\r\n"
	"[Manufacturer]\r\n"
	"%MISSING_TOKEN% = Models,NTamd64\r\n"
	"%MISSING_TOKEN% = Models,NTamd64 ; same section again, read once\r\n"
	"[Models]\r\n"
	"\"Desc, with comma\" = inst, PCI\\VEN_1AF4&DEV_1059 ; "
	"PCI\\VEN_1AF4&DEV_1018\r\n"
	"[Models.NTamd64]\r\n"
	"%Desc%=inst,PCI\\VEN_1AF4&DEV_1059&REV_01\r\n"
	"[inst]\r\n"
	"CopyFiles = @quirk.sys, quirk_files, missing.sys, NoSuchList\r\n"
	"CopyINF = sub\\extra.inf, \"second.inf\"\r\n"
	"[inst.Services]\r\n"
	"AddService = viostor; comment\r\n"
	"AddService = \"netkvm\", 2, x\r\n"
	"AddService = VIOSTOR, 2\r\n"
	"[quirk_files]\r\n"
	"dest.sys, src.sys\r\n"
	"plain.dll\r\n"
	"%UNKNOWN%.dll\r\n"
	"[values]\r\n"
	"percent = \"100%% sure\"\r\n"
	"quoted = \"a \"\"quoted\"\" word; not a comment\"\r\n"
	"missing = %NOPE%\\file\r\n"
	"continued = one, \\\r\n"
	"  two ; comment\r\n"
	"lone = 50% off\r\n"
	"[SourceDisksFiles.amd64]\r\n"
	"quirk.sys = 1\r\n"
	"[Strings]\r\n"
	"Desc = \"Quirk device\"\r\n"
	"VENDOR = \"Quirk Corp, Ltd.\"\r\n";

static void test_quirks(void)
{
	struct buf b = encode(quirks_inf, INF_ENC_ASCII, false);
	struct inf *inf = parse_ok(&b);
	static const char *const files[] = {
		"quirk.sys",   "src.sys",   "plain.dll",
		"missing.sys", "extra.inf", "second.inf",
	};

	if (!inf) {
		free(b.p);
		return;
	}
	CHECK(inf_crlf(inf)); /* mostly CRLF */
	CHECK_EQ_STR("$Chicago$", inf_signature(inf));
	CHECK_EQ_STR("System", inf_class(inf));
	CHECK_EQ_STR("01/02/2020", inf_driver_date(inf));
	CHECK_EQ_STR("100.1.2.3", inf_driver_version(inf));
	CHECK_EQ_STR("Quirk Corp, Ltd.", inf_provider(inf));
	CHECK(inf_class_guid(inf) == NULL);

	CHECK_EQ_UINT(2, inf_catalog_count(inf));
	CHECK_EQ_STR("NTamd64", inf_catalog_decoration(inf, 0));
	CHECK_EQ_STR("ntx86", inf_catalog_decoration(inf, 1));
	CHECK_EQ_STR("quirk64.cat", inf_catalog_for_arch(inf, "amd64"));
	CHECK_EQ_STR("quirk32.cat", inf_catalog_for_arch(inf, "x86"));
	CHECK(inf_catalog_for_arch(inf, "arm64") == NULL);

	CHECK_EQ_UINT(2, inf_manufacturer_count(inf));
	CHECK_EQ_STR("%MISSING_TOKEN%", inf_manufacturer_name(inf, 0));
	CHECK_EQ_STR("Models", inf_manufacturer_section(inf, 0));
	CHECK_EQ_UINT(2, inf_model_count(inf));
	check_model(inf, 0, "Desc, with comma", "inst",
		    "PCI\\VEN_1AF4&DEV_1059", "");
	check_model(inf, 1, "Quirk device", "inst",
		    "PCI\\VEN_1AF4&DEV_1059&REV_01", "NTamd64");

	CHECK_EQ_UINT(2, inf_service_count(inf));
	CHECK_EQ_STR("viostor", inf_service(inf, 0));
	CHECK_EQ_STR("netkvm", inf_service(inf, 1));

	CHECK_EQ_UINT(sizeof(files) / sizeof(files[0]), inf_file_count(inf));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		CHECK_EQ_STR(files[i], inf_file(inf, i));
	CHECK(!has_file(inf, "dest.sys"));

	CHECK_EQ_STR("100% sure", inf_get(inf, "values", "percent"));
	CHECK_EQ_STR("a \"quoted\" word; not a comment",
		     inf_get(inf, "values", "quoted"));
	CHECK_EQ_STR("%NOPE%\\file", inf_get(inf, "values", "missing"));
	CHECK_EQ_STR("one,two", inf_get(inf, "values", "continued"));
	CHECK_EQ_STR("50% off", inf_get(inf, "values", "lone"));
	inf_free(inf);
	free(b.p);
}

/*
 * [Strings*] sections hold strings, not fields; naming one as a models
 * section or a file list (found by libFuzzer) must still be safe.
 */
static void test_strings_section_named(void)
{
	static const char text[] =
		"[Version]\nSignature=x\n[Manufacturer]\nx=Strings\n"
		"[a]\nCopyFiles=Strings.0409\n[Strings]\na=b\nkeyless\n"
		"[Strings.0409]\nk=\"v, w\"\n";
	struct buf b = encode(text, INF_ENC_ASCII, false);
	struct inf *inf = parse_ok(&b);

	if (inf) {
		CHECK_EQ_UINT(1, inf_manufacturer_count(inf));
		CHECK_EQ_UINT(0, inf_model_count(inf));
		CHECK_EQ_UINT(1, inf_file_count(inf));
		CHECK_EQ_STR("v, w", inf_file(inf, 0));
		CHECK_EQ_STR("b", inf_get(inf, "strings", "A"));
	}
	inf_free(inf);
	free(b.p);
}

/* --- refusals ----------------------------------------------------------- */

static void expect_error(const void *p, size_t len, int code,
			 const char *needle)
{
	struct aero_error err = { 0, "" };
	struct inf *inf = (struct inf *)&err; /* must be reset to NULL */
	int rc = inf_parse(p, len, &inf, &err);

	CHECK_EQ_INT(code, rc);
	CHECK_EQ_INT(code, err.code);
	CHECK(inf == NULL);
	if (!strstr(err.msg, needle))
		FAIL_AT("message \"%s\" lacks \"%s\"", err.msg, needle);
	inf_free(rc == 0 ? inf : NULL);
}

/*
 * Issue 15: BOM-less UTF-16BE passed, but SetupAPI reads an INF without a
 * BOM as ANSI or UTF-16LE only, so Windows would not read it.  Every
 * driver text, swapped to big-endian without a BOM, must be refused; with
 * the BOM it stays accepted (test_encodings).
 */
static void test_utf16be_without_bom(void)
{
	for (size_t d = 0; d < sizeof(drivers) / sizeof(drivers[0]); d++) {
		struct buf b = encode(drivers[d].text, INF_ENC_UTF16LE, true);

		for (size_t i = 0; i + 1 < b.len; i += 2) {
			unsigned char t = b.p[i];

			b.p[i] = b.p[i + 1];
			b.p[i + 1] = t;
		}
		expect_error(b.p, b.len, -EINVAL,
			     "UTF-16BE without a byte order mark");
		free(b.p);
	}
}

static void test_garbage(void)
{
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0,	   0,	 0,
		13,   'I', 'H', 'D', 'R',  0,	 0,    1,    0,	   0,	 0,
		1,    0,   8,	6,   0,	   0,	 0,    0x5c, 0x72, 0xa8, 0x66,
	};
	unsigned char noise[4096];
	uint32_t x = 2463534242u;
	size_t big = 5u << 20;
	char *huge;

	expect_error("", 0, -EINVAL, "empty");
	expect_error(png, sizeof(png), -EINVAL, "binary");
	for (size_t i = 0; i < sizeof(noise); i++) {
		x ^= x << 13; /* xorshift32: fixed, reproducible noise */
		x ^= x >> 17;
		x ^= x << 5;
		noise[i] = (unsigned char)x;
	}
	expect_error(noise, sizeof(noise), -EINVAL, "not ");
	/* The same noise without NUL bytes decodes as ANSI text. */
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] |= 1;
	expect_error(noise, sizeof(noise), -EINVAL, "no [Version] section");
	expect_error("hello\n", strlen("hello\n"), -EINVAL,
		     "no [Version] section");
	expect_error("[Version]\nClass=Net\n", strlen("[Version]\nClass=Net\n"),
		     -EINVAL, "no Signature");
	expect_error("Signature=x\n[Strings]\n",
		     strlen("Signature=x\n[Strings]\n"), -EINVAL,
		     "no [Version] section");

	huge = malloc(big);
	assert(huge);
	memset(huge, ' ', big);
	memcpy(huge, "[Version]\nSignature=x\n", 22);
	expect_error(huge, big, -EFBIG, "MiB");
	free(huge);
}

/*
 * Writes an INF of about SIZE bytes to T whose [Strings] keys ("k" and
 * three 5-character blocks) all have FNV-1a hashes equal in their low 18
 * bits.  FNV-1a's low bits depend only on the low bits of its state, so a
 * block that brings them back to where they were can be repeated at will.
 * Returns the length; *FIRST gets the first key.
 */
static size_t fnv_flood(char *t, size_t size, char first[17])
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	const uint32_t mask = (1u << 18) - 1,
		       s0 = (2166136261u ^ 'k') * 16777619u;
	char blk[64][6];
	unsigned nb = 0, i = 0;
	size_t n;

	for (uint32_t x = 0; x < 36u * 36 * 36 * 36 * 36 && nb < 64; x++) {
		uint32_t h = s0, y = x;
		char b[6];

		for (int k = 0; k < 5; k++, y /= 36) {
			b[k] = al[y % 36];
			h = (h ^ (uint32_t)b[k]) * 16777619u;
		}
		b[5] = '\0';
		if (((h ^ s0) & mask) == 0)
			memcpy(blk[nb++], b, 6);
	}
	assert(nb == 64);
	n = (size_t)sprintf(t, "[Version]\nSignature=x\n[Strings]\n");
	for (; n + 32 < size && i < 64 * 64 * 64; i++)
		n += (size_t)sprintf(t + n, "k%s%s%s=v\n", blk[i / 4096],
				     blk[i / 64 % 64], blk[i % 64]);
	snprintf(first, 17, "k%s%s%s", blk[0], blk[0], blk[0]);
	return n;
}

/*
 * Inputs built to be expensive: one string substituted into itself many
 * times, many manufacturers naming one big models section, many CopyFiles
 * naming one big file list, a single line continued 100000 times.  Each
 * must either parse or fail with EFBIG; each is linear, so the whole test
 * takes about a second, and a quadratic regression hits meson's timeout.
 */
static void test_hostile(void)
{
	size_t cap = 4u << 20, n;
	char *t = malloc(cap);
	struct aero_error err;
	struct inf *inf;
	int rc;

	assert(t);
	/* Substitution bomb: 64 KiB string, ~1M references. */
	n = (size_t)sprintf(t, "[Version]\nSignature=x\n[a]\n");
	while (n < cap / 2 - 16)
		n += (size_t)sprintf(t + n, "k=%%B%%,%%B%%,%%B%%\n");
	n += (size_t)sprintf(t + n, "[Strings]\nB=\"");
	memset(t + n, 'x', 60000);
	n += 60000;
	n += (size_t)sprintf(t + n, "\"\n");
	rc = inf_parse(t, n, &inf, &err);
	CHECK_EQ_INT(-EFBIG, rc);
	CHECK(strstr(err.msg, "budget") != NULL);

	/* Field longer than the limit after substitution. */
	n = (size_t)sprintf(t, "[Version]\nSignature=x\n[a]\nk=");
	for (int i = 0; i < 3; i++)
		n += (size_t)sprintf(t + n, "%%B%%");
	n += (size_t)sprintf(t + n, "\n[Strings]\nB=\"");
	memset(t + n, 'y', 30000);
	n += 30000;
	n += (size_t)sprintf(t + n, "\"\n");
	rc = inf_parse(t, n, &inf, &err);
	CHECK_EQ_INT(-EFBIG, rc);
	CHECK(strstr(err.msg, "line 4") != NULL);

	/* 20000 manufacturers x one 20000-line models section. */
	n = (size_t)sprintf(t, "[Version]\nSignature=x\n[Manufacturer]\n");
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(t + n, "M%d=Big,NTamd64\n", i);
	n += (size_t)sprintf(t + n, "[Big]\n");
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(t + n, "d=i,PCI\\VEN_%04X\n", i);
	n += (size_t)sprintf(t + n, "[i]\n");
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(t + n, "CopyFiles=Big\n");
	rc = inf_parse(t, n, &inf, &err);
	CHECK_EQ_INT(0, rc);
	if (rc == 0) {
		CHECK_EQ_UINT(20000, inf_manufacturer_count(inf));
		CHECK_EQ_UINT(20000, inf_model_count(inf));
		/* Lines "d=i,..." list source i: one file. */
		CHECK_EQ_UINT(1, inf_file_count(inf));
		inf_free(inf);
	}

	/* One logical line continued over 100000 physical lines. */
	n = (size_t)sprintf(t, "[Version]\nSignature=x\n[a]\nk=");
	for (int i = 0; i < 100000; i++)
		n += (size_t)sprintf(t + n, "v%d,\\\n", i);
	n += (size_t)sprintf(t + n, "end\n");
	rc = inf_parse(t, n, &inf, &err);
	CHECK_EQ_INT(0, rc);
	if (rc == 0) {
		const char *v = inf_get(inf, "a", "k");

		CHECK(v && strncmp(v, "v0,v1,", 6) == 0);
		CHECK(v && strcmp(v + strlen(v) - 10, "v99999,end") == 0);
		inf_free(inf);
	}

	/*
	 * 116000 [Strings] keys made to collide in an unkeyed FNV-1a table:
	 * 14 s with one (-O0), 121 s under ASan; the keyed table takes a
	 * fraction of a second.  No timed assertion (machines are shared and
	 * noisy): a regression shows as the test's meson timeout.
	 */
	{
		char first[17];

		n = fnv_flood(t, 2u << 20, first);
		rc = inf_parse(t, n, &inf, &err);
		CHECK_EQ_INT(0, rc);
		if (rc == 0) {
			const char *v = inf_get(inf, "strings", first);

			CHECK(v && strcmp(v, "v") == 0);
			CHECK(inf_get(inf, "strings", "kmissing") == NULL);
			inf_free(inf);
		}
	}

	/* 300000 one-line sections: over the line limit. */
	n = (size_t)sprintf(t, "[Version]\nSignature=x\n");
	for (int i = 0; n < cap - 32; i++)
		n += (size_t)sprintf(t + n, "[s%d]\nk=v\n", i % 50000);
	rc = inf_parse(t, n, &inf, &err);
	CHECK(rc == 0 || rc == -EFBIG);
	if (rc == 0)
		inf_free(inf);

	free(t);
}

int main(void)
{
	RUN(test_encodings);
	RUN(test_utf16be_without_bom);
	RUN(test_non_ascii);
	RUN(test_quirks);
	RUN(test_strings_section_named);
	RUN(test_garbage);
	RUN(test_hostile);
	return harness_exit();
}
