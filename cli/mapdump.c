/*
 * mapdump.c — map_dump (objutil.h): a map's elements as bpftool prints them.
 * Keys and values go through bpfvm_map__format, which knows the object's BTF;
 * without BTF for them they are printed as hex bytes. Elements are found with
 * get_next_key (at most max_entries of them, so a map changing underneath cannot
 * keep the loop going); a PROG_ARRAY slot's program has no printable form here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "objutil.h"
#include "util.h"

#define FMT_MAX (16u << 20)	/* longest formatted key or value */

struct fmtbuf {
	char *buf;
	size_t cap;
};

/* data formatted from BTF into fb: true, or false when it should be hex. */
static bool format(const struct bpfvm_map *map, bool value, const void *data, size_t size,
		   bool json, struct fmtbuf *fb)
{
	for (;;) {
		int err = fb->buf ? bpfvm_map__format(map, value, data, size,
						      json ? BPFVM_FORMAT_JSON : 0, fb->buf,
						      fb->cap) : -ENOSPC;
		if (err != -ENOSPC)
			return err == 0;
		if (fb->cap >= FMT_MAX)
			return false;
		size_t cap = fb->cap ? fb->cap * 4 : 4096;
		char *b = realloc(fb->buf, cap);
		if (!b)
			return false;
		fb->buf = b;
		fb->cap = cap;
	}
}

/* One key or value: its formatted text, else hex (text) or a hex array (JSON). */
static void put_data(const struct bpfvm_map *map, bool value, const void *data, size_t size,
		     struct json *j, struct fmtbuf *fb)
{
	bool fmt = format(map, value, data, size, j != NULL, fb);
	if (j && fmt)
		json_raw(j, fb->buf);
	else if (j)
		json_bytes(j, data, size, true);
	else if (fmt)
		fputs(fb->buf, stdout);
	else
		print_hex(stdout, data, size);
}

static void put_elem(const struct bpfvm_map *map, const void *key, const void *value,
		     struct json *j, struct fmtbuf *fb)
{
	uint32_t ksz = bpfvm_map__key_size(map), vsz = bpfvm_map__value_size(map);
	bool percpu = map_type_percpu(bpfvm_map__type(map));
	bool prog = bpfvm_map__type(map) == BPFVM_MAP_TYPE_PROG_ARRAY;
	size_t stride = ((size_t)vsz + 7) / 8 * 8;
	if (j) {
		json_open(j, '{');
		json_key(j, "key");
		put_data(map, false, key, ksz, j, fb);
	} else {
		printf("key: ");
		put_data(map, false, key, ksz, NULL, fb);
	}
	if (prog) {
		if (j)
			json_kstr(j, "value", "<program>");
		else
			printf("  value: <program>\n");
	} else if (!percpu) {
		if (j)
			json_key(j, "value");
		else
			printf("  value: ");
		put_data(map, true, value, vsz, j, fb);
		if (!j)
			printf("\n");
	} else {
		int cpus = bpfvm_num_cpu_slots();
		if (j) {
			json_key(j, "values");
			json_open(j, '[');
		} else {
			printf("\n");
		}
		for (int c = 0; c < cpus; c++) {
			const uint8_t *v = (const uint8_t *)value + (size_t)c * stride;
			if (j) {
				json_open(j, '{');
				json_ku64(j, "cpu", (uint64_t)c);
				json_key(j, "value");
				put_data(map, true, v, vsz, j, fb);
				json_close(j, '}');
			} else {
				printf("value (CPU %02d): ", c);
				put_data(map, true, v, vsz, NULL, fb);
				printf("\n");
			}
		}
		if (j)
			json_close(j, ']');
	}
	if (j)
		json_close(j, '}');
}

int map_dump_check(const char *sub, const struct bpfvm_map *map)
{
	enum bpfvm_map_type type = bpfvm_map__type(map);
	if (type != BPFVM_MAP_TYPE_QUEUE && type != BPFVM_MAP_TYPE_STACK &&
	    type != BPFVM_MAP_TYPE_RINGBUF)
		return 0;
	fprintf(stderr, "bpfvm %s: map '%s' is a %s: its elements cannot be listed%s\n", sub,
		bpfvm_map__name(map), map_type_name(type), type == BPFVM_MAP_TYPE_RINGBUF ?
		" (prog run prints its records)" : " without popping them");
	return EXIT_USAGE;
}

int map_dump(const char *sub, struct bpfvm_map *map, struct json *j)
{
	enum bpfvm_map_type type = bpfvm_map__type(map);
	int status = map_dump_check(sub, map);
	if (status)
		return status;
	uint32_t ksz = bpfvm_map__key_size(map), vsz = bpfvm_map__value_size(map);
	size_t vlen = map_type_percpu(type) ? ((size_t)vsz + 7) / 8 * 8 *
		      (size_t)bpfvm_num_cpu_slots() : vsz;
	uint8_t *key = calloc(1, ksz ? ksz : 1), *next = calloc(1, ksz ? ksz : 1);
	uint8_t *value = calloc(1, vlen ? vlen : 1);
	struct fmtbuf fb = { 0 };
	uint64_t found = 0;
	if (!key || !next || !value) {
		fprintf(stderr, "bpfvm %s: out of memory\n", sub);
		status = EXIT_FAIL;
		goto out;
	}
	if (j)
		json_open(j, '[');
	bool first = true;
	for (uint64_t n = 0; n <= bpfvm_map__max_entries(map); n++) {
		int err = bpfvm_map__get_next_key(map, first ? NULL : key, next, ksz);
		if (err == -ENOENT)
			break;
		if (err) {
			fprintf(stderr, "bpfvm %s: map '%s': cannot walk the keys: %s\n", sub,
				bpfvm_map__name(map), strerror(-err));
			status = EXIT_FAIL;
			break;
		}
		first = false;
		memcpy(key, next, ksz);
		/* A PROG_ARRAY lookup of a set slot says it holds a program (with a log
		 * line we don't want); an empty slot is ENOENT, as for the kernel. */
		char ignored[256];
		struct log_capture cap;
		log_capture_begin(&cap, ignored, sizeof(ignored));
		err = bpfvm_map__lookup_elem(map, key, ksz, value, vlen, 0);
		log_capture_end(&cap);
		if (err == -ENOENT)
			continue;
		if (err && !(err == -EOPNOTSUPP && type == BPFVM_MAP_TYPE_PROG_ARRAY)) {
			fprintf(stderr, "bpfvm %s: map '%s': lookup failed: %s\n", sub,
				bpfvm_map__name(map), ignored[0] ? ignored : strerror(-err));
			status = EXIT_FAIL;
			continue;
		}
		put_elem(map, key, value, j, &fb);
		found++;
	}
	if (j)
		json_close(j, ']');
	else
		printf("Found %llu element%s\n", (unsigned long long)found, found == 1 ? "" : "s");
out:
	free(fb.buf);
	free(key);
	free(next);
	free(value);
	return status;
}
