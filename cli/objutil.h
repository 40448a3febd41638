/*
 * objutil.h — what the object subcommands (`bpfvm prog ...`, `bpfvm map ...`)
 * share: opening and loading an object with errors reported the command's way,
 * finding programs and maps by name, type names, hex output, and the description
 * and dump of a map (text or JSON).
 *
 * Functions that fail print "bpfvm SUB: ..." to stderr themselves (SUB is the
 * subcommand, e.g. "prog run"); the library's own log line, if any, precedes it.
 */
#ifndef BPFVM_CLI_OBJUTIL_H
#define BPFVM_CLI_OBJUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bpfvm/bpfvm.h"
#include "json.h"

/* Opens the object at path (btf_path: --btf FILE, or NULL). NULL after a message. */
struct bpfvm_object *obj_open(const char *sub, const char *path, const char *btf_path);
/* Loads obj. 0, or a negative errno after a message. */
int obj_load(const char *sub, struct bpfvm_object *obj);
/* Loads obj if it can; if not, says so on stderr with the reason and what
 * follows from it ("maps are shown by index") and goes on: for commands that
 * show an object, which are still useful when a program is rejected. */
void obj_try_load(const char *sub, struct bpfvm_object *obj, const char *consequence);
/* The program called name, or with name NULL the object's only program. NULL after
 * a message listing the programs there are. */
struct bpfvm_prog *obj_prog(const char *sub, const struct bpfvm_object *obj,
			    const char *name);
/* The map called name; NULL after a message listing the maps there are. */
struct bpfvm_map *obj_map(const char *sub, const struct bpfvm_object *obj, const char *name);

/* bpftool's names: "hash", "array", "percpu_array", "ringbuf", ... */
const char *map_type_name(enum bpfvm_map_type type);
bool map_type_percpu(enum bpfvm_map_type type);
/* The program's type name ("xdp"), or "unknown" before it has one. */
const char *prog_type_str(const struct bpfvm_prog *prog);

/* "2a 00 ff": bytes as hex separated by spaces. */
void print_hex(FILE *f, const void *data, size_t len);
/* bpftool prog run's dump of output data: offset, 16 bytes of hex in pairs, and
 * the printable ones ("0000000\t2a00 0100 ... | *..."). */
void print_hexdump(FILE *f, const void *data, size_t len);

/* One map's shape: a "map NAME: TYPE  key 4B  value 8B  max_entries 1  flags 0x0"
 * line, or with j a JSON object. */
void map_describe(const struct bpfvm_map *map, struct json *j);
/* Every element of map, keys and values formatted from BTF where the object has
 * it, else as hex: "key: K  value: V" lines (per-CPU: a value line per CPU) and
 * "Found N elements", or with j a JSON array of {"key": K, "value": V} (per-CPU:
 * "values": [{"cpu": N, "value": V}]). 0, EXIT_USAGE (after map_dump_check's
 * message), EXIT_FAIL if a lookup failed. */
int map_dump(const char *sub, struct bpfvm_map *map, struct json *j);
/* 0 if map_dump can list map's elements, else EXIT_USAGE after a message (queue,
 * stack: only popping shows them; ring buffer: prog run prints its records). */
int map_dump_check(const char *sub, const struct bpfvm_map *map);

#endif
