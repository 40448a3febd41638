/*
 * objutil.c — see objutil.h: objects opened, loaded and searched with the
 * command's error messages; names and hex output for programs and maps.
 */
#include "objutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct bpfvm_object *obj_open(const char *sub, const char *path, const char *btf_path)
{
	struct bpfvm_object_open_opts opts = { .sz = sizeof(opts), .btf_custom_path = btf_path };
	struct bpfvm_object *obj = bpfvm_object__open_file(path, &opts);
	if (!obj)
		fprintf(stderr, "bpfvm %s: %s: cannot open the object: %s\n", sub, path,
			strerror(errno));
	return obj;
}

int obj_load(const char *sub, struct bpfvm_object *obj)
{
	int err = bpfvm_object__load(obj);
	if (err)
		fprintf(stderr, "bpfvm %s: %s: cannot load the object: %s\n", sub,
			bpfvm_object__name(obj), strerror(-err));
	return err;
}

void obj_try_load(const char *sub, struct bpfvm_object *obj, const char *consequence)
{
	char why[256];
	struct log_capture cap;
	log_capture_begin(&cap, why, sizeof(why));
	int err = bpfvm_object__load(obj);
	log_capture_end(&cap);
	if (err)
		fprintf(stderr, "bpfvm %s: %s: not loaded (%s): %s\n", sub, bpfvm_object__name(obj),
			why[0] ? why : strerror(-err), consequence);
}

/* "a, b, c" (at most len bytes) of the object's program or map names. */
static void list_names(const struct bpfvm_object *obj, bool maps, char *buf, size_t len)
{
	size_t pos = 0;
	buf[0] = 0;
	if (maps) {
		for (struct bpfvm_map *m = bpfvm_object__next_map(obj, NULL); m && pos < len;
		     m = bpfvm_object__next_map(obj, m))
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "",
						bpfvm_map__name(m));
	} else {
		for (struct bpfvm_prog *p = bpfvm_object__next_program(obj, NULL); p && pos < len;
		     p = bpfvm_object__next_program(obj, p))
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "",
						bpfvm_prog__name(p));
	}
}

struct bpfvm_prog *obj_prog(const char *sub, const struct bpfvm_object *obj, const char *name)
{
	char names[512];
	const char *path = bpfvm_object__name(obj);
	if (name) {
		struct bpfvm_prog *p = bpfvm_object__find_program_by_name(obj, name);
		if (p)
			return p;
		list_names(obj, false, names, sizeof(names));
		fprintf(stderr, "bpfvm %s: %s has no program '%s' (programs: %s)\n", sub, path,
			name, names[0] ? names : "none");
		return NULL;
	}
	struct bpfvm_prog *first = bpfvm_object__next_program(obj, NULL);
	if (first && !bpfvm_object__next_program(obj, first))
		return first;
	list_names(obj, false, names, sizeof(names));
	if (first)
		fprintf(stderr, "bpfvm %s: %s has several programs (%s): name the one to run\n",
			sub, path, names);
	else
		fprintf(stderr, "bpfvm %s: %s has no programs\n", sub, path);
	return NULL;
}

struct bpfvm_map *obj_map(const char *sub, const struct bpfvm_object *obj, const char *name)
{
	struct bpfvm_map *m = bpfvm_object__find_map_by_name(obj, name);
	if (m)
		return m;
	char names[512];
	list_names(obj, true, names, sizeof(names));
	fprintf(stderr, "bpfvm %s: %s has no map '%s' (maps: %s)\n", sub, bpfvm_object__name(obj),
		name, names[0] ? names : "none");
	return NULL;
}

const char *map_type_name(enum bpfvm_map_type type)
{
	switch (type) {
	case BPFVM_MAP_TYPE_HASH: return "hash";
	case BPFVM_MAP_TYPE_ARRAY: return "array";
	case BPFVM_MAP_TYPE_PROG_ARRAY: return "prog_array";
	case BPFVM_MAP_TYPE_PERCPU_HASH: return "percpu_hash";
	case BPFVM_MAP_TYPE_PERCPU_ARRAY: return "percpu_array";
	case BPFVM_MAP_TYPE_LRU_HASH: return "lru_hash";
	case BPFVM_MAP_TYPE_LRU_PERCPU_HASH: return "lru_percpu_hash";
	case BPFVM_MAP_TYPE_LPM_TRIE: return "lpm_trie";
	case BPFVM_MAP_TYPE_ARRAY_OF_MAPS: return "array_of_maps";
	case BPFVM_MAP_TYPE_HASH_OF_MAPS: return "hash_of_maps";
	case BPFVM_MAP_TYPE_QUEUE: return "queue";
	case BPFVM_MAP_TYPE_STACK: return "stack";
	case BPFVM_MAP_TYPE_RINGBUF: return "ringbuf";
	}
	return "unknown";
}

bool map_type_percpu(enum bpfvm_map_type type)
{
	return type == BPFVM_MAP_TYPE_PERCPU_HASH || type == BPFVM_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
}

const char *prog_type_str(const struct bpfvm_prog *prog)
{
	const char *name = bpfvm_prog_type__name(bpfvm_prog__type(prog));
	return name ? name : "unknown";
}

void print_hex(FILE *f, const void *data, size_t len)
{
	const uint8_t *b = data;
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%s%02x", i ? " " : "", b[i]);
}

void print_hexdump(FILE *f, const void *data, size_t len)
{
	const uint8_t *b = data;
	for (size_t i = 0; i < len; i += 16) {
		size_t j;
		fprintf(f, "%07zx\t", i);
		for (j = i; j < i + 16 && j < len; j++)
			fprintf(f, "%02x%s", b[j], j % 2 ? " " : "");
		for (; j < i + 16; j++)
			fprintf(f, "  %s", j % 2 ? " " : "");
		fprintf(f, "| ");
		for (j = i; j < i + 16 && j < len; j++)
			fprintf(f, "%c%s", b[j] >= ' ' && b[j] <= '~' ? b[j] : '.',
				j == i + 7 ? " " : "");
		fprintf(f, "\n");
	}
}

void map_describe(const struct bpfvm_map *map, struct json *j)
{
	const char *type = map_type_name(bpfvm_map__type(map));
	if (!j) {
		printf("map %s: %s  key %" PRIu32 "B  value %" PRIu32 "B  max_entries %" PRIu32
		       "  flags 0x%" PRIx32 "\n", bpfvm_map__name(map), type,
		       bpfvm_map__key_size(map), bpfvm_map__value_size(map),
		       bpfvm_map__max_entries(map), bpfvm_map__flags(map));
		return;
	}
	json_open(j, '{');
	json_kstr(j, "name", bpfvm_map__name(map));
	json_kstr(j, "type", type);
	json_ku64(j, "bytes_key", bpfvm_map__key_size(map));
	json_ku64(j, "bytes_value", bpfvm_map__value_size(map));
	json_ku64(j, "max_entries", bpfvm_map__max_entries(map));
	json_ku64(j, "flags", bpfvm_map__flags(map));
	json_close(j, '}');
}
