/*
 * cert.h: the test certificate of the Guest Tools (-o cert=FILE), which
 * setup.cmd adds to the guest's trusted stores so that test-signed
 * drivers load.  Private to catalog/stage.
 *
 * Only a public X.509 certificate is accepted: a file named *.cer or
 * *.crt holding one certificate, DER (RFC 5280) or PEM (RFC 7468
 * "CERTIFICATE"), at most CERT_MAX bytes.  A private key in it (any PEM
 * "PRIVATE KEY" block) is refused: media must never carry one.  The file
 * goes to certs/ with its name and bytes unchanged.
 *
 * Thread-safe: no state.
 */
#ifndef AEROFS_CATALOG_STAGE_CERT_H
#define AEROFS_CATALOG_STAGE_CERT_H

#include <stddef.h>

#include "catalog/util/error.h"

#define CERT_MAX (64u << 10)

/*
 * Reads and checks the certificate at PATH.  Returns 0 with its bytes in
 * *DATA (caller frees), their number in *LEN and its file name in *NAME
 * (caller frees); or -errno with ERR naming the file: the errno of a
 * file that cannot be read, -EINVAL for a wrong name, a private key or
 * something that is not an X.509 certificate, -EFBIG, -ENOMEM.
 */
int cert_load(const char *path, unsigned char **data, size_t *len, char **name,
	      struct aero_error *err);

#endif
