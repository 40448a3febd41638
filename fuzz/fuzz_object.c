/*
 * fuzz_object.c — libFuzzer harness for the object layer end to end: an object
 * file is opened (maps created, global data filled, map-in-map slots set),
 * loaded (every program validated and prepared) and every program test-run on a
 * small packet on the interpreter with an instruction budget, then its maps are
 * walked and printed from BTF the way `bpfvm map dump` does. Errors are expected;
 * a crash, hang or sanitizer report is a finding.
 *
 * Objects whose maps would need more than MAP_BUDGET bytes are skipped (a fuzzer
 * easily asks for a 4 GiB array; that is a resource question, not a bug).
 */
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
/* relative: the replay build has only the public include path */
#include "../src/loader/object.h"

#define MAP_BUDGET (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool too_big(const uint8_t *data, size_t size)
{
	struct ldr_object *obj = NULL;
	if (ldr_object_parse(data, size, NULL, &obj) != 0)
		return true;	/* open will fail the same way */
	uint64_t total = 0;
	for (size_t i = 0; i < obj->map_cnt; i++) {
		const struct ldr_map *m = &obj->maps[i];
		uint64_t per = (uint64_t)m->key_size + m->value_size + 64;
		if (m->type == BPFVM_MAP_TYPE_PERCPU_ARRAY || m->type == BPFVM_MAP_TYPE_PERCPU_HASH ||
		    m->type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH)
			per *= 64;
		total += per * m->max_entries + (m->type == BPFVM_MAP_TYPE_RINGBUF ?
						 m->max_entries : 0);
		if (m->inner)
			total += ((uint64_t)m->inner->key_size + m->inner->value_size + 64) *
				 m->inner->max_entries;
	}
	ldr_object_free(obj);
	return total > MAP_BUDGET;
}

static void dump_maps(struct bpfvm_object *obj)
{
	char buf[512];
	uint8_t key[256], next[256], value[4096];
	for (struct bpfvm_map *m = NULL; (m = bpfvm_object__next_map(obj, m));) {
		uint32_t ks = bpfvm_map__key_size(m), vs = bpfvm_map__value_size(m);
		if (ks > sizeof(key) || vs > sizeof(value) ||
		    bpfvm_map__type(m) == BPFVM_MAP_TYPE_PERCPU_ARRAY)
			continue;
		bool first = true;
		for (int n = 0; n < 16; n++, first = false) {
			if (bpfvm_map__get_next_key(m, first ? NULL : key, next, ks) != 0)
				break;
			memcpy(key, next, ks);
			bpfvm_map__format(m, false, key, ks, 0, buf, sizeof(buf));
			if (bpfvm_map__lookup_elem(m, key, ks, value, vs, 0) == 0)
				bpfvm_map__format(m, true, value, vs, BPFVM_FORMAT_JSON, buf,
						  sizeof(buf));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (too_big(data, size))
		return 0;
	struct bpfvm_object_open_opts o = { .sz = sizeof(o), .no_jit = true };
	struct bpfvm_object *obj = bpfvm_object__open_mem(data, size, &o);
	if (!obj)
		return 0;
	for (struct bpfvm_prog *p = NULL; (p = bpfvm_object__next_program(obj, p));)
		if (bpfvm_prog__type(p) == BPFVM_PROG_TYPE_NONE)
			bpfvm_prog__set_type(p, BPFVM_PROG_TYPE_RAW);
	if (bpfvm_object__load(obj) == 0) {
		static const uint8_t pkt[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5,
						 6, 0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 6 };
		uint8_t out[256];
		for (struct bpfvm_prog *p = NULL; (p = bpfvm_object__next_program(obj, p));) {
			struct bpfvm_test_run_opts t = {
				.sz = sizeof(t), .data_in = pkt, .data_size_in = sizeof(pkt),
				.data_out = out, .data_size_out = sizeof(out),
				.engine = BPFVM_ENGINE_INTERP, .budget = 20000,
			};
			uint32_t type = bpfvm_prog__type(p);
			if (type == BPFVM_PROG_TYPE_KPROBE || type == BPFVM_PROG_TYPE_TRACEPOINT) {
				t.data_in = t.data_out = NULL;
				t.data_size_in = t.data_size_out = 0;
				t.ctx_in = pkt;
				t.ctx_size_in = type == BPFVM_PROG_TYPE_TRACEPOINT ? sizeof(pkt) : 0;
			}
			bpfvm_prog__test_run(p, &t);
		}
	}
	dump_maps(obj);
	bpfvm_object__close(obj);
	return 0;
}
