/*
 * fuzz_cat.c: wincat_parse() on arbitrary bytes, then every accessor.
 *
 * Input is capped at 1 MiB.  Any crash, sanitizer report or leak is a
 * bug; a parse error is not.
 */
#include <stdint.h>
#include <string.h>

#include "catalog/formats/wincat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aero_error err;
	struct wincat *cat;
	size_t sum = 0, len;
	int64_t t;

	if (size > (1u << 20))
		return 0;
	if (wincat_parse(data, size, &cat, &err) < 0)
		return 0;
	sum += strlen(wincat_digest_name(wincat_digest(cat)));
	if (wincat_signer(cat))
		sum += strlen(wincat_signer(cat));
	sum += strlen(wincat_time_source_name(wincat_signing_time(cat, &t)));
	if (wincat_os_attr(cat))
		sum += strlen(wincat_os_attr(cat));
	for (size_t i = 0; i < wincat_hwid_count(cat); i++)
		sum += strlen(wincat_hwid(cat, i));
	for (size_t i = 0; i < wincat_member_count(cat); i++) {
		const unsigned char *d = wincat_member_digest(cat, i, &len);

		if (wincat_member_name(cat, i))
			sum += strlen(wincat_member_name(cat, i));
		if (d)
			sum += wincat_has_digest(cat, d, len);
	}
	wincat_free(cat);
	return sum == (size_t)-1;
}
