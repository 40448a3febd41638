/*
 * util.h — small pieces shared by the bpfvm command, the conformance plugin and the
 * tests: text trimming, number and hex parsing, whole-file reading, and capture of
 * the library's log lines.
 */
#ifndef BPFVM_CLI_UTIL_H
#define BPFVM_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

char *trim_left(char *s);
char *trim(char *s);	/* both ends, in place */
/* "0x..." hex or decimal, optionally negative (two's complement). 0 or -1. */
int parse_u64(const char *s, uint64_t *v);
/* Space-separated (or contiguous) hex bytes: "aa bb 11" or "aabb11". 0 or -1 with
 * the byte offset of the bad character in *bad. *out is malloc'd. */
int parse_hex_bytes(const char *s, uint8_t **out, size_t *len, size_t *bad);
/* Whole file, NUL-terminated, malloc'd; NULL + errno. "-" reads stdin. */
char *read_file(const char *path, size_t *len);

/* read_file() for text: also refuses NUL bytes. NULL with "PATH: reason" in err. */
char *read_text_file(const char *path, size_t *len, char *err, size_t errlen);

/* Captures the library's WARN lines into buf (the last one wins) between begin and
 * end; the previous callback is restored by end. */
struct log_capture {
	char *buf;
	size_t len;
	bpfvm_log_fn prev_fn;
	void *prev_user;
};
void log_capture_begin(struct log_capture *c, char *buf, size_t len);
void log_capture_end(struct log_capture *c);

#endif
