/*
 * devices.c: config\devices.cmd from the virtio table and the packaged
 * INFs (devices.h).
 *
 * Windows binds a driver when an INF model's hardware id equals one of the
 * ids the device presents (virtio_hwid_binds()); the scripts need the same
 * facts to pre-seed the boot-critical storage service before the disk
 * moves to virtio-blk, so they are read here from the very INFs that are
 * packaged, per architecture, and the two must agree.
 */
#include "catalog/stage/devices.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/formats/inf.h"
#include "catalog/util/sbuf.h"
#include "virtio/virtio_ids.h"

/* The groups of devices.cmd, by the Aero driver that serves them. */
struct devices_group {
	const char *var;    /* "BLK" */
	const char *driver; /* "viostor" */
	const char *what;   /* "virtio-blk", for messages */
	bool sys;	    /* write AERO_VIRTIO_<G>_SYS */
	int extra_type;	    /* add the INF's ids of this type; 0: no */
};

static const struct devices_group groups[] = {
	{ "BLK", "viostor", "virtio-blk", true, VIRTIO_ID_BLOCK },
	{ "NET", "netkvm", "virtio-net", false, 0 },
	{ "INPUT", "vioinput", "virtio-input", false, 0 },
	{ "SND", "viosnd", "virtio-snd", false, 0 },
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))
#define DEVICES_IDS_MAX 64
#define DEVICES_NAME_MAX 64

/* What one architecture's INFs say about one group. */
struct devices_facts {
	char service[DEVICES_NAME_MAX];
	char sys[DEVICES_NAME_MAX];
	char ids[DEVICES_IDS_MAX][VIRTIO_HWID_MAX];
	size_t nids;
};

/* A name cmd.exe keeps as it is inside set "VAR=value". */
static bool devices_name_ok(const char *s)
{
	if (!*s || strlen(s) >= DEVICES_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

static void devices_add_id(struct devices_facts *f, const char *id)
{
	for (size_t i = 0; i < f->nids; i++)
		if (!strcasecmp(f->ids[i], id))
			return;
	if (f->nids < DEVICES_IDS_MAX)
		snprintf(f->ids[f->nids++], VIRTIO_HWID_MAX, "%s", id);
}

/*
 * The virtio type a PCI hardware id names, or 0: modern ids by their
 * device id (virtio 1.2 4.1.2), transitional ones by the subsystem id
 * when the id has one, else by the spec's transitional table
 * (4.1.2.1: 0x1000 net, 0x1001 block, ...).
 */
static int devices_id_type(const struct virtio_hwid *h)
{
	static const int transitional[] = {
		VIRTIO_ID_NET,	   VIRTIO_ID_BLOCK, VIRTIO_ID_BALLOON,
		VIRTIO_ID_CONSOLE, VIRTIO_ID_SCSI,  VIRTIO_ID_RNG,
	};

	if (h->vendor != VIRTIO_PCI_VENDOR || !h->has_device)
		return 0;
	if (h->device >= 0x1041 && h->device <= 0x107f)
		return h->device - 0x1040;
	if (h->device < 0x1000 || h->device > 0x103f)
		return 0;
	if (h->has_subsys && (h->subsys >> 16))
		return (int)(h->subsys >> 16);
	if (h->device - 0x1000u < sizeof(transitional) / sizeof(int))
		return transitional[h->device - 0x1000];
	return 0;
}

/* True if model id HWID binds one of group G's Aero devices. */
static bool devices_binds(const struct devices_group *g, const char *hwid)
{
	const struct virtio_aero_device *dev;
	size_t n;

	dev = virtio_aero_devices(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(dev[i].driver, g->driver) &&
		    virtio_hwid_binds(hwid, &dev[i].id))
			return true;
	return false;
}

/*
 * The service of install section INST for ARCH: the Services section
 * Windows reads is that of the most specific install section present
 * ([inst.NTamd64], [inst.NT], [inst]); its first AddService.
 */
static void devices_service(const struct inf *inf, const char *inst,
			    const char *arch, struct devices_facts *f)
{
	const char *dec[3] = { !strcmp(arch, "x86") ? ".NTx86" : ".NTamd64",
			       ".NT", "" };
	const char *add = NULL, *bin;
	char sec[300], svc[DEVICES_NAME_MAX * 4], *comma, *sect;

	for (size_t i = 0; i < 3 && !add; i++) {
		snprintf(sec, sizeof(sec), "%s%s.Services", inst, dec[i]);
		add = inf_get(inf, sec, "AddService");
	}
	if (!add)
		return;
	snprintf(svc, sizeof(svc), "%s", add);
	comma = strchr(svc, ',');
	if (comma)
		*comma = '\0';
	if (!devices_name_ok(svc))
		return;
	/* devices_name_ok(): shorter than DEVICES_NAME_MAX */
	memcpy(f->service, svc, strlen(svc) + 1);
	/* the third field: the service-install section */
	sect = NULL;
	if (comma) {
		char *second = strchr(comma + 1, ',');

		if (second) {
			sect = second + 1;
			if ((comma = strchr(sect, ',')))
				*comma = '\0';
		}
	}
	bin = sect && *sect ? inf_get(inf, sect, "ServiceBinary") : NULL;
	if (bin) {
		const char *base = bin;

		for (const char *p = bin; *p; p++)
			if (*p == '\\' || *p == '/')
				base = p + 1;
		if (devices_name_ok(base))
			snprintf(f->sys, sizeof(f->sys), "%s", base);
	}
}

/* The facts of group G from ARCH's INFs; 0 with *FOUND false: none. */
static int devices_facts(const struct devices_group *g, const char *arch,
			 const struct devices_inf *infs, size_t n,
			 struct devices_facts *f, bool *found,
			 struct aero_error *err)
{
	const struct virtio_aero_device *dev;
	bool bound = false;
	size_t ndev;
	int r = 0;

	memset(f, 0, sizeof(*f));
	*found = false;
	dev = virtio_aero_devices(&ndev);
	for (size_t i = 0; i < ndev; i++) {
		char ids[VIRTIO_HWID_LIST_MAX][VIRTIO_HWID_MAX];
		/* the four hardware ids; the rest are compatible ids */
		size_t k = virtio_hwid_list(&dev[i].id, ids, 4);

		if (strcmp(dev[i].driver, g->driver))
			continue;
		for (size_t j = 0; j < k; j++)
			devices_add_id(f, ids[j]);
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		struct inf *inf = NULL;

		if (strcmp(infs[i].driver, g->driver) ||
		    strcmp(infs[i].arch, arch))
			continue;
		*found = true;
		r = inf_parse(infs[i].data, infs[i].len, &inf, err);
		if (r < 0) {
			aero_error_prefix(err, "%s", infs[i].name);
			break;
		}
		for (size_t m = 0; m < inf_model_count(inf); m++) {
			const struct inf_model *mo = inf_model(inf, m);
			struct virtio_hwid h;

			if (!bound && devices_binds(g, mo->hardware_id)) {
				bound = true;
				devices_service(inf, mo->install_section, arch,
						f);
			}
			if (g->extra_type &&
			    virtio_hwid_parse(mo->hardware_id, &h) == 0 &&
			    !h.has_class &&
			    devices_id_type(&h) == g->extra_type) {
				char id[VIRTIO_HWID_MAX];

				if (virtio_hwid_format(&h, id, sizeof(id)) > 0)
					devices_add_id(f, id);
			}
		}
		inf_free(inf);
	}
	/*
	 * INFs that bind none of the devices, or name no service or binary:
	 * the INF checks (inspect.h) report that as a failed check and a
	 * warning; here the group is left empty, as if not packaged.
	 */
	if (r == 0 && *found &&
	    (!bound || !f->service[0] || (g->sys && !f->sys[0]))) {
		memset(f, 0, sizeof(*f));
		*found = false;
	}
	return r;
}

static bool devices_same(const struct devices_facts *a,
			 const struct devices_facts *b)
{
	if (strcmp(a->service, b->service) || strcasecmp(a->sys, b->sys) ||
	    a->nids != b->nids)
		return false;
	for (size_t i = 0; i < a->nids; i++)
		if (strcasecmp(a->ids[i], b->ids[i]))
			return false;
	return true;
}

int devices_cmd_render(const struct devices_inf *infs, size_t n,
		       const char *generator, char **out, size_t *len,
		       struct aero_error *err)
{
	struct devices_facts *f = calloc(2, sizeof(*f));
	struct sbuf sb = SBUF_INIT;
	int r = 0;

	*out = NULL;
	if (!f)
		return aero_error_set(err, -ENOMEM, "out of memory");
	sbuf_printf(&sb,
		    "@rem config\\devices.cmd: generated by %s from the "
		    "virtio device table and the packaged INFs. Do not "
		    "edit.\r\n",
		    generator);
	for (size_t g = 0; g < NGROUPS && r == 0; g++) {
		const struct devices_group *gr = &groups[g];
		bool x86, amd64;

		r = devices_facts(gr, "x86", infs, n, &f[0], &x86, err);
		if (r == 0)
			r = devices_facts(gr, "amd64", infs, n, &f[1], &amd64,
					  err);
		if (r < 0)
			break;
		if (x86 != amd64) {
			r = aero_error_set(err, -EINVAL,
					   "%s: packaged for %s only",
					   gr->driver, x86 ? "x86" : "amd64");
			break;
		}
		if (x86 && !devices_same(&f[0], &f[1])) {
			r = aero_error_set(err, -EINVAL,
					   "%s: the x86 and amd64 INFs "
					   "disagree on the service (%s, %s), "
					   "its binary or the %s ids",
					   gr->driver, f[0].service,
					   f[1].service, gr->what);
			break;
		}
		sbuf_printf(&sb, "set \"AERO_VIRTIO_%s_SERVICE=%s\"\r\n",
			    gr->var, x86 ? f[0].service : "");
		if (gr->sys)
			sbuf_printf(&sb, "set \"AERO_VIRTIO_%s_SYS=%s\"\r\n",
				    gr->var, x86 ? f[0].sys : "");
		sbuf_printf(&sb, "set AERO_VIRTIO_%s_HWIDS=", gr->var);
		for (size_t i = 0; x86 && i < f[0].nids; i++)
			sbuf_printf(&sb, "%s\"%s\"", i ? " " : "", f[0].ids[i]);
		sbuf_puts(&sb, "\r\n");
	}
	free(f);
	if (r < 0) {
		sbuf_release(&sb);
		return r;
	}
	*out = sbuf_finish(&sb, len);
	if (!*out)
		return aero_error_set(err, -ENOMEM, "out of memory");
	return 0;
}
