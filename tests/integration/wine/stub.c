/*
 * stub.c: one Windows program that stands in for pnputil, bcdedit,
 * certutil and fltmc in tests/integration/test_wine_scripts.py.
 *
 * Named after the tool it replaces (pnputil.exe...), it appends its name,
 * its own path and its arguments to the file named by AERO_STUB_LOG and exits with
 * AERO_STUB_RC_<NAME> (decimal, may be negative; 0 when unset).  As
 * certutil it really hashes: "certutil -hashfile FILE [SHA1|SHA256]"
 * prints what Windows 7's certutil prints, the digest as spaced byte
 * pairs between a header line and a status line.  As pnputil -a it prints
 * a "Published name : oemN.inf" line like Windows 7's, N being
 * AERO_STUB_OEM (default 7) plus a hash of the INF path.  Built with
 * mingw-w64; uses CryptoAPI, which Wine implements.
 */
#include <windows.h>
#include <wincrypt.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char name[64];

static int env_rc(void)
{
	char var[128];
	const char *v;

	snprintf(var, sizeof(var), "AERO_STUB_RC_%s", name);
	for (char *p = var; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	v = getenv(var);
	return v ? atoi(v) : 0;
}

static int hashfile(const char *path, const char *alg)
{
	HCRYPTPROV prov;
	HCRYPTHASH h;
	BYTE buf[65536], out[32];
	DWORD n = sizeof(out), got;
	ALG_ID id = CALG_SHA1;
	HANDLE f;

	if (alg && !_stricmp(alg, "SHA256"))
		id = CALG_SHA_256;
	else if (alg && _stricmp(alg, "SHA1"))
		return 2;
	f = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL,
			OPEN_EXISTING, 0, NULL);
	if (f == INVALID_HANDLE_VALUE) {
		printf("CertUtil: -hashfile command FAILED: 0x80070002\r\n");
		return 2;
	}
	/* Wine's provider can fail to start when the machine is busy (seen
	 * once in CI-like runs): try again before giving up, and say so. */
	for (int tries = 0;; tries++) {
		if (CryptAcquireContextA(&prov, NULL, NULL, PROV_RSA_AES,
					 CRYPT_VERIFYCONTEXT)) {
			if (CryptCreateHash(prov, id, 0, 0, &h))
				break;
			CryptReleaseContext(prov, 0);
		}
		if (tries == 20) {
			printf("CertUtil: -hashfile command FAILED: "
			       "0x%08lx\r\n",
			       (unsigned long)GetLastError());
			CloseHandle(f);
			return 3;
		}
		Sleep(50);
	}
	while (ReadFile(f, buf, sizeof(buf), &got, NULL) && got)
		CryptHashData(h, buf, got, 0);
	CloseHandle(f);
	CryptGetHashParam(h, HP_HASHVAL, out, &n, 0);
	printf("%s hash of file %s:\r\n", id == CALG_SHA1 ? "SHA1" : "SHA256",
	       path);
	for (DWORD i = 0; i < n; i++)
		printf(i ? " %02x" : "%02x", out[i]);
	printf("\r\nCertUtil: -hashfile command completed successfully.\r\n");
	return 0;
}

int main(int argc, char **argv)
{
	char self[MAX_PATH], full[MAX_PATH], *base, *dot;
	const char *log = getenv("AERO_STUB_LOG");
	FILE *f;

	GetModuleFileNameA(NULL, self, sizeof(self));
	snprintf(full, sizeof(full), "%s", self);
	base = strrchr(self, '\\');
	base = base ? base + 1 : self;
	dot = strrchr(base, '.');
	if (dot)
		*dot = 0;
	snprintf(name, sizeof(name), "%s", base);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (log && (f = fopen(log, "ab"))) {
		fprintf(f, "%s|%s", name, full);
		for (int i = 1; i < argc; i++)
			fprintf(f, "|%s", argv[i]);
		fprintf(f, "\n");
		fclose(f);
	}
	if (!strcmp(name, "certutil") && argc >= 3 &&
	    !_stricmp(argv[1], "-hashfile"))
		return hashfile(argv[2], argc > 3 ? argv[3] : NULL);
	if (!strcmp(name, "pnputil") && argc >= 3 &&
	    (!_stricmp(argv[1], "-a") || !_stricmp(argv[2], "-a"))) {
		/* like Windows, the same package gets the same oemN.inf */
		const char *s = getenv("AERO_STUB_OEM");
		unsigned serial = s ? (unsigned)atoi(s) : 7, h = 0;

		for (const char *p = argv[argc - 1]; *p; p++)
			h = h * 31 + (unsigned char)tolower((unsigned char)*p);
		serial += h % 1000;
		printf("Microsoft PnP Utility\r\n\r\n");
		printf("Processing inf :            %s\r\n", argv[argc - 1]);
		printf("Driver package added successfully.\r\n");
		printf("Published name :            oem%u.inf\r\n", serial);
	}
	if (!strcmp(name, "bcdedit") && argc >= 2 &&
	    !_stricmp(argv[1], "/enum")) {
		const char *t = getenv("AERO_STUB_TESTSIGNING");

		printf("Windows Boot Loader\r\n-------------------\r\n");
		printf("identifier              {current}\r\n");
		printf("testsigning             %s\r\n",
		       t && *t == '1' ? "Yes" : "No");
	}
	return env_rc();
}
