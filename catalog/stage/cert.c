/*
 * cert.c: the Guest Tools' test certificate, checked (cert.h).
 */
#include "catalog/stage/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "catalog/util/termesc.h"

static int cert_refuse(const char *path, int code, const char *why,
		       struct aero_error *err)
{
	char *e = termesc_dup(path);
	int r = aero_error_set(err, code, "cert: %s: %s", e ? e : "?", why);

	free(e);
	return r;
}

static bool cert_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len < 5 || len > 64 ||
	    (strcasecmp(s + len - 4, ".cer") &&
	     strcasecmp(s + len - 4, ".crt")))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

/* True if BUF[LEN] is exactly one X.509 certificate, PEM or DER. */
static bool cert_is_x509(const unsigned char *buf, size_t len)
{
	X509 *x = NULL;
	bool ok = false;

	if (memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);

		if (bio)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		ok = x != NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = buf;

		x = d2i_X509(NULL, &p, (long)len);
		/* the whole file, not a certificate followed by anything */
		ok = x && p == buf + len;
	}
	X509_free(x);
	return ok;
}

int cert_load(const char *path, unsigned char **data, size_t *len, char **name,
	      struct aero_error *err)
{
	const char *base = strrchr(path, '/');
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, r = 0;

	*data = NULL;
	*name = NULL;
	base = base ? base + 1 : path;
	if (!cert_name_ok(base))
		return cert_refuse(path, -EINVAL,
				   "the name must end in .cer "
				   "or .crt and be at most 64 of A-Z a-z 0-9 "
				   "_ - .",
				   err);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cert_refuse(path, -errno, strerror(errno), err);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cert_refuse(path, -EINVAL, "not a regular file", err);
	}
	if (st.st_size > CERT_MAX) {
		close(fd);
		return cert_refuse(path, -EFBIG,
				   "larger than 64 KiB: not a "
				   "certificate",
				   err);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return aero_error_set(err, -ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = cert_refuse(path, k < 0 ? -errno : -EIO,
					k < 0 ? strerror(errno) :
						"shorter than its size",
					err);
			break;
		}
		got += (size_t)k;
	}
	close(fd);
	if (r == 0 && memmem(buf, got, "PRIVATE KEY-----", 16))
		r = cert_refuse(path, -EINVAL,
				"holds a private key (a PEM "
				"PRIVATE KEY block): give the public "
				"certificate only",
				err);
	if (r == 0 && !cert_is_x509(buf, got))
		r = cert_refuse(path, -EINVAL,
				"not an X.509 certificate "
				"(DER or PEM)",
				err);
	if (r == 0 && !(*name = strdup(base)))
		r = aero_error_set(err, -ENOMEM, "out of memory");
	if (r < 0) {
		free(buf);
		return r;
	}
	*data = buf;
	*len = got;
	return 0;
}
