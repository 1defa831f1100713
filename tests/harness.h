/*
 * harness.h: the unit-test harness, after squashfuse's EXPECT_EQ and
 * libarchive's assertEqualInt/failure().
 *
 * A test program is a main() that calls RUN(test_fn) for each case; checks
 * print "file:line: expected X got Y" and count failures; main returns
 * harness_exit(), or harness_skip() when the program cannot run here.  A
 * case that cannot run here (a reader tool missing) says so with
 * SKIP_CASE("why") and is reported "ok N - name # SKIP why", like
 * libarchive's skipping(): never a plain "ok" that checked nothing.
 * NDEBUG is undefined so assert() stays strong in release builds.
 */
#ifndef AEROFS_TESTS_HARNESS_H
#define AEROFS_TESTS_HARNESS_H

#undef NDEBUG
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int harness_failures __attribute__((unused));
static int harness_cases __attribute__((unused));
static const char *harness_case __attribute__((unused)) = "";
static char harness_skipped[256] __attribute__((unused));

#define FAIL_AT(...)                                                           \
	do {                                                                   \
		fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__,             \
			harness_case);                                         \
		fprintf(stderr, __VA_ARGS__);                                  \
		fputc('\n', stderr);                                           \
		harness_failures++;                                            \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			FAIL_AT("check failed: %s", #cond);                    \
	} while (0)

#define CHECK_EQ_INT(expected, got)                                            \
	do {                                                                   \
		long long e_ = (long long)(expected);                          \
		long long g_ = (long long)(got);                               \
		if (e_ != g_)                                                  \
			FAIL_AT("expected %s == %lld, got %lld", #got, e_,     \
				g_);                                           \
	} while (0)

#define CHECK_EQ_UINT(expected, got)                                           \
	do {                                                                   \
		unsigned long long e_ = (unsigned long long)(expected);        \
		unsigned long long g_ = (unsigned long long)(got);             \
		if (e_ != g_)                                                  \
			FAIL_AT("expected %s == %#llx, got %#llx", #got, e_,   \
				g_);                                           \
	} while (0)

#define CHECK_EQ_STR(expected, got)                                            \
	do {                                                                   \
		const char *e_ = (expected);                                   \
		const char *g_ = (got);                                        \
		if (!e_ || !g_ || strcmp(e_, g_) != 0)                         \
			FAIL_AT("expected %s == \"%s\", got \"%s\"", #got,     \
				e_ ? e_ : "(null)", g_ ? g_ : "(null)");       \
	} while (0)

#define CHECK_EQ_MEM(expected, got, len)                                       \
	do {                                                                   \
		if (memcmp((expected), (got), (len)) != 0)                     \
			FAIL_AT("%s differs from %s in its first %zu bytes",   \
				#got, #expected, (size_t)(len));               \
	} while (0)

/*
 * Ends the current case as skipped, with a printf-style reason.  Checks
 * that failed before it still fail the case.  Use it only in the case
 * function itself (it returns from it).
 */
#define SKIP_CASE(...)                                                         \
	do {                                                                   \
		snprintf(harness_skipped, sizeof(harness_skipped),             \
			 __VA_ARGS__);                                         \
		return;                                                        \
	} while (0)

/* Skips the current case unless TOOL is on PATH. */
#define REQUIRE_TOOL(tool)                                                     \
	do {                                                                   \
		if (!harness_have(tool))                                       \
			SKIP_CASE("%s is not installed", (tool));              \
	} while (0)

#define RUN(fn)                                                                \
	do {                                                                   \
		int before_ = harness_failures;                                \
		harness_case = #fn;                                            \
		harness_cases++;                                               \
		harness_skipped[0] = '\0';                                     \
		fn();                                                          \
		printf("%s %d - %s%s%s\n",                                     \
		       harness_failures == before_ ? "ok" : "not ok",          \
		       harness_cases, #fn,                                     \
		       harness_skipped[0] ? " # SKIP " : "", harness_skipped); \
	} while (0)

/*
 * Skips the whole program: under meson's TAP protocol a "1..0 # SKIP" plan
 * with exit status 0 is a skip, while status 77 would be an error.
 */
static inline bool harness_have(const char *tool);

static inline int harness_skip(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	return 0;
}

/* A deterministic byte pattern (xorshift32), different per SEED. */
static inline void harness_fill(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

/* Value of hex digit C, or -1 (for config-space dumps and the like). */
static inline int harness_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Runs a shell command (printf-style); its exit status, or -1. */
static inline int harness_sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int harness_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* True if TOOL is on PATH: tests of independent readers skip without. */
static inline bool harness_have(const char *tool)
{
	return harness_sh("command -v %s >/dev/null 2>&1", tool) == 0;
}

/*
 * Runs a shell command and returns its stdout, malloc'd and
 * NUL-terminated; NUL bytes in the output become blanks so that the text
 * stays searchable (isoinfo -debug prints some).
 */
static inline char *harness_capture(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline char *harness_capture(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *f;
	char *out;
	size_t len = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert(f);
	out = malloc(1);
	assert(out);
	for (;;) {
		char buf[4096];
		size_t n = fread(buf, 1, sizeof(buf), f);

		if (n == 0)
			break;
		out = realloc(out, len + n + 1);
		assert(out);
		for (size_t i = 0; i < n; i++)
			out[len++] = buf[i] ? buf[i] : ' ';
	}
	out[len] = '\0';
	pclose(f);
	return out;
}

static inline int harness_exit(void)
{
	printf("1..%d\n", harness_cases);
	if (harness_failures)
		fprintf(stderr, "%d check(s) failed\n", harness_failures);
	return harness_failures ? 1 : 0;
}

#endif
