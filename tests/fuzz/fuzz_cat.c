/*
 * fuzz_cat.c: cat_parse() on arbitrary bytes, then every accessor.
 *
 * Input is capped at 1 MiB.  Any crash, sanitizer report or leak is a
 * bug; a parse error is not.
 */
#include <stdint.h>
#include <string.h>

#include "catalog/cat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aero_error err;
	struct cat *cat;
	size_t sum = 0, len;
	int64_t t;

	if (size > (1u << 20))
		return 0;
	if (cat_parse(data, size, &cat, &err) < 0)
		return 0;
	sum += strlen(cat_digest_name(cat_digest(cat)));
	if (cat_signer(cat))
		sum += strlen(cat_signer(cat));
	sum += strlen(cat_time_source_name(cat_signing_time(cat, &t)));
	if (cat_os_attr(cat))
		sum += strlen(cat_os_attr(cat));
	for (size_t i = 0; i < cat_hwid_count(cat); i++)
		sum += strlen(cat_hwid(cat, i));
	for (size_t i = 0; i < cat_member_count(cat); i++) {
		const unsigned char *d = cat_member_digest(cat, i, &len);

		if (cat_member_name(cat, i))
			sum += strlen(cat_member_name(cat, i));
		if (d)
			sum += cat_has_digest(cat, d, len);
	}
	cat_free(cat);
	return sum == (size_t)-1;
}
