/*
 * fuzz_inf.c: inf_parse() on arbitrary bytes, then every accessor.
 *
 * Input is capped at 1 MiB so that runs stay fast; the parser's own
 * limits (INF_MAX_SIZE and the line, section and substitution budgets)
 * are exercised by tests/unit/test_inf.c.  Any crash, sanitizer report
 * or leak is a bug; a parse error is not.
 */
#include <stdint.h>
#include <string.h>

#include "catalog/formats/inf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const arches[] = { "x86", "amd64", "arm64" };
	struct aero_error err;
	struct inf *inf;
	size_t sum = 0;

	if (size > (1u << 20))
		return 0;
	if (inf_parse(data, size, &inf, &err) < 0)
		return 0;
	/* strlen() on everything: the strings must be terminated. */
	sum += strlen(inf_encoding_name(inf_encoding(inf))) + inf_crlf(inf);
	sum += strlen(inf_signature(inf));
	if (inf_class(inf))
		sum += strlen(inf_class(inf));
	if (inf_class_guid(inf))
		sum += strlen(inf_class_guid(inf));
	if (inf_provider(inf))
		sum += strlen(inf_provider(inf));
	if (inf_driver_date(inf))
		sum += strlen(inf_driver_date(inf));
	if (inf_driver_version(inf))
		sum += strlen(inf_driver_version(inf));
	for (size_t i = 0; i < inf_catalog_count(inf); i++)
		sum += strlen(inf_catalog_decoration(inf, i)) +
		       strlen(inf_catalog_file(inf, i));
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (inf_catalog_for_arch(inf, arches[i]))
			sum += strlen(inf_catalog_for_arch(inf, arches[i]));
	for (size_t i = 0; i < inf_manufacturer_count(inf); i++) {
		sum += strlen(inf_manufacturer_name(inf, i)) +
		       strlen(inf_manufacturer_section(inf, i));
		for (size_t j = 0; j < inf_decoration_count(inf, i); j++)
			sum += strlen(inf_decoration(inf, i, j));
	}
	for (size_t i = 0; i < inf_model_count(inf); i++) {
		const struct inf_model *m = inf_model(inf, i);

		sum += strlen(m->description) + strlen(m->install_section) +
		       strlen(m->hardware_id) + strlen(m->decoration);
	}
	for (size_t i = 0; i < inf_service_count(inf); i++)
		sum += strlen(inf_service(inf, i));
	for (size_t i = 0; i < inf_file_count(inf); i++)
		sum += strlen(inf_file(inf, i));
	if (inf_get(inf, "Version", "Signature"))
		sum++;
	inf_free(inf);
	return sum == (size_t)-1;
}
