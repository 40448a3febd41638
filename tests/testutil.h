/*
 * testutil.h — the tests' tiny harness: CHECK macros that count, and a summary line
 * "N passed, M failed" that CTest's output and CI read. A test binary exits 0 only
 * if nothing failed; 77 means skipped (CTest SKIP_RETURN_CODE).
 */
#ifndef BPFVM_TESTUTIL_H
#define BPFVM_TESTUTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TEST_SKIP 77

static int t_pass, t_fail;

#define CHECK(cond, ...) do { \
	if (cond) { t_pass++; } else { \
		t_fail++; \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	} } while (0)

#define CHECK_U64(actual, expected, ...) do { \
	uint64_t a_ = (uint64_t)(actual), e_ = (uint64_t)(expected); \
	if (a_ == e_) { t_pass++; } else { \
		t_fail++; \
		fprintf(stderr, "%s:%d: %s = 0x%" PRIx64 ", expected 0x%" PRIx64 ": ", \
			__FILE__, __LINE__, #actual, a_, e_); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	} } while (0)

#define CHECK_STR(actual, expected, ...) do { \
	const char *a_ = (actual), *e_ = (expected); \
	if (a_ && e_ && strcmp(a_, e_) == 0) { t_pass++; } else { \
		t_fail++; \
		fprintf(stderr, "%s:%d: %s = \"%s\", expected \"%s\": ", __FILE__, __LINE__, \
			#actual, a_ ? a_ : "(null)", e_ ? e_ : "(null)"); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	} } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle, ...) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (h_ && strstr(h_, n_)) { t_pass++; } else { \
		t_fail++; \
		fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\": ", __FILE__, __LINE__, \
			h_ ? h_ : "(null)", n_); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	} } while (0)

static inline int test_summary(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
