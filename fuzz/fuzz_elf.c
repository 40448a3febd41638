/*
 * fuzz_elf.c — libFuzzer harness for the ELF + BTF loader: the whole parse of an
 * object (ELF, .BTF, .BTF.ext, maps, program linking, CO-RE) and, when it loads,
 * every walk over the result a tool would make: each map's BTF key/value printed
 * with btf_format, each program's linked calls checked to land on a function.
 * Input: an object file. Any crash, sanitizer report or inconsistent result
 * (abort) is a finding.
 */
#include <stdlib.h>
#include <string.h>

/* relative: the replay build (tests/CMakeLists.txt) has only the public include path */
#include "../src/loader/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_prog(const struct ldr_prog *p, size_t map_cnt)
{
	for (size_t i = 0; i < p->insn_cnt; i++) {
		const struct bpf_insn *in = &p->insns[i];
		bool call = in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL;
		bool cb = in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg == BPF_PSEUDO_FUNC;
		if (call || cb) {
			int64_t t = (int64_t)i + 1 + in->imm;
			bool ok = false;
			for (size_t f = 0; f < p->func_cnt; f++)
				ok |= p->funcs[f].start == t;
			if (!ok)
				abort();
		}
	}
	for (size_t i = 0; i < p->map_ref_cnt; i++)
		if (p->map_refs[i].insn + 1 >= p->insn_cnt || p->map_refs[i].map >= map_cnt)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldr_object *obj = NULL;
	if (ldr_object_parse(data, size, NULL, &obj) != 0)
		return 0;
	for (size_t i = 0; i < obj->prog_cnt; i++)
		check_prog(&obj->progs[i], obj->map_cnt);
	static uint8_t zero[4096];
	char buf[256];
	for (size_t i = 0; i < obj->map_cnt; i++) {
		const struct ldr_map *m = &obj->maps[i];
		if (!obj->btf)
			break;
		if (m->btf_key)
			btf_format(obj->btf, m->btf_key, zero, m->key_size < sizeof(zero) ?
				   m->key_size : sizeof(zero), buf, sizeof(buf));
		if (m->btf_value && m->init)
			btf_format(obj->btf, m->btf_value, m->init, m->value_size, buf, sizeof(buf));
		else if (m->btf_value)
			btf_format(obj->btf, m->btf_value, zero, m->value_size < sizeof(zero) ?
				   m->value_size : sizeof(zero), buf, sizeof(buf));
		for (size_t s = 0; s < m->slot_cnt; s++)
			if (m->slots[s].key >= m->max_entries && m->type != 13 /* HASH_OF_MAPS */)
				abort();
	}
	/* the object's own BTF as a CO-RE target: exercises the by-name matching */
	if (obj->btf && obj->ext && obj->ext->core_cnt) {
		struct ldr_opts o = { .target = obj->btf };
		struct ldr_object *again = NULL;
		if (ldr_object_parse(data, size, &o, &again) == 0)
			ldr_object_free(again);
	}
	ldr_object_free(obj);
	return 0;
}
