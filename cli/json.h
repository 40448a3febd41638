/*
 * json.h — a small streaming JSON writer for the bpfvm command's -j / -p output:
 * it places commas, and with pretty set indents by four spaces as bpftool -p
 * does. Values are written in order; objects take json_key before each value.
 */
#ifndef BPFVM_CLI_JSON_H
#define BPFVM_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

struct json {
	FILE *f;
	bool pretty;
	int depth;
	bool after_key;			/* the next value completes "key": */
	bool first[JSON_MAX_DEPTH];	/* nothing written yet at this depth */
};

void json_init(struct json *j, FILE *f, bool pretty);
void json_open(struct json *j, char bracket);	/* '{' or '[' */
void json_close(struct json *j, char bracket);	/* '}' or ']' */
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
/* Bytes as an array on one line: [1, 2] (numbers, as bpftool's data_out), or with
 * hex ["0x01", "0x02"] (as bpftool's map keys and values without BTF). */
void json_bytes(struct json *j, const void *data, size_t len, bool hex);
/* A complete JSON value given as text (e.g. from bpfvm_map__format), re-laid out
 * to match the writer's style. */
void json_raw(struct json *j, const char *text);
/* Ends the document with a newline. */
void json_end(struct json *j);

/* Shorthands for "key": value. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_ku64(struct json *j, const char *key, uint64_t v);

#endif
