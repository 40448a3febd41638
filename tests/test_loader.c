/*
 * test_loader.c — the ELF + BTF loader (src/loader/): clang-compiled objects from
 * tests/objs/ (one set per clang version found, see tests/objs/CMakeLists.txt) are
 * parsed and their programs, linked calls, maps, relocation records, CO-RE results
 * and licenses checked; hand-made malformed objects must fail with exact messages;
 * every truncation and many byte flips of real objects must load or fail with a
 * message naming a section or offset — never crash (this test runs under ASan too).
 *
 * Exact instruction counts were read off `llvm-objdump -dr` of the clang-14 objects;
 * for other clang versions the structural checks run and the counts are derived
 * from the ELF symbols.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "loader/object.h"
#include "testlog.h"
#include "testutil.h"
#include "../tests/objs/core_native.h"

static bool clang14;	/* the set being tested was built by clang 14 */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct ldr_object *load_opts(const char *dir, const char *name, const struct ldr_opts *o)
{
	char path[1024];
	size_t len;
	snprintf(path, sizeof(path), "%s/%s.o", dir, name);
	uint8_t *buf = read_file(path, &len);
	CHECK(buf != NULL, "cannot read %s", path);
	if (!buf)
		return NULL;
	struct ldr_object *obj = NULL;
	test_log_clear();
	int err = ldr_object_parse(buf, len, o, &obj);
	CHECK(err == 0, "%s: %d: %s", path, err, test_log_last());
	free(buf);
	return obj;
}

static struct ldr_object *load(const char *dir, const char *name)
{
	return load_opts(dir, name, NULL);
}

static const struct ldr_prog *prog(const struct ldr_object *obj, const char *name)
{
	int i = ldr_object_find_prog(obj, name);
	CHECK(i >= 0, "no program %s", name);
	return i >= 0 ? &obj->progs[i] : NULL;
}

static const struct ldr_map *map(const struct ldr_object *obj, const char *name)
{
	int i = ldr_object_find_map(obj, name);
	CHECK(i >= 0, "no map %s", name);
	return i >= 0 ? &obj->maps[i] : NULL;
}

/* Size in instructions of function symbol name in the ELF file. */
static size_t func_insns(const struct ldr_object *obj, const char *name)
{
	for (uint32_t i = 1; i < obj->elf.sym_cnt; i++)
		if (obj->elf.syms[i].type == ELF_STT_FUNC && strcmp(obj->elf.syms[i].name, name) == 0)
			return obj->elf.syms[i].size / 8;
	return 0;
}

/* Name of the linked function that starts at insn, or NULL. */
static const char *func_starting(const struct ldr_prog *p, int64_t insn)
{
	for (size_t i = 0; i < p->func_cnt; i++)
		if (p->funcs[i].start == insn)
			return p->funcs[i].name;
	return NULL;
}

/* The targets of the n-th (0-based) local call / lddw src=4 in p, by name. */
static const char *nth_target(const struct ldr_prog *p, uint32_t from, int n, bool callback)
{
	for (size_t i = from; i < p->insn_cnt; i++) {
		const struct bpf_insn *in = &p->insns[i];
		bool call = in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL;
		bool cb = in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg == BPF_PSEUDO_FUNC;
		if ((callback ? cb : call) && n-- == 0)
			return func_starting(p, (int64_t)i + 1 + in->imm);
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	return NULL;
}

/* Every local call and callback in p lands on a linked function's first insn. */
static void check_calls_land(const struct ldr_prog *p)
{
	for (size_t i = 0; i < p->insn_cnt; i++) {
		const struct bpf_insn *in = &p->insns[i];
		bool call = in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL;
		bool cb = in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg == BPF_PSEUDO_FUNC;
		if (call || cb)
			CHECK(func_starting(p, (int64_t)i + 1 + in->imm) != NULL,
			      "%s: insn %zu: target %lld is not a function", p->name, i,
			      (long long)i + 1 + in->imm);
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
}

/* The map ref records and the rewritten lddw agree. */
static void check_refs(const struct ldr_object *obj, const struct ldr_prog *p)
{
	for (size_t i = 0; i < p->map_ref_cnt; i++) {
		const struct ldr_map_ref *r = &p->map_refs[i];
		const struct bpf_insn *in = &p->insns[r->insn];
		CHECK(r->insn + 1 < p->insn_cnt && in->code == (BPF_LD | BPF_IMM | BPF_DW),
		      "%s: ref %zu not on lddw", p->name, i);
		CHECK_U64(in->src_reg, r->value ? BPF_PSEUDO_MAP_IDX_VALUE : BPF_PSEUDO_MAP_IDX,
			  "%s ref %zu", p->name, i);
		CHECK_U64(in[0].imm, r->map, "%s ref %zu", p->name, i);
		CHECK_U64(in[1].imm, r->off, "%s ref %zu", p->name, i);
		CHECK(r->map < obj->map_cnt, "%s ref %zu map", p->name, i);
	}
}

static const struct ldr_map_ref *ref_to(const struct ldr_prog *p, uint32_t map, int n)
{
	for (size_t i = 0; i < p->map_ref_cnt; i++)
		if (p->map_refs[i].map == map && n-- == 0)
			return &p->map_refs[i];
	return NULL;
}

static uint64_t sym_value(const struct ldr_object *obj, const char *name)
{
	for (uint32_t i = 1; i < obj->elf.sym_cnt; i++)
		if (strcmp(obj->elf.syms[i].name, name) == 0)
			return obj->elf.syms[i].value;
	CHECK(0, "no symbol %s", name);
	return 0;
}

static void test_xdp_hash(const char *dir)
{
	struct ldr_object *obj = load(dir, "xdp_hash");
	if (!obj)
		return;
	CHECK_STR(obj->license, "GPL", "license");
	CHECK_U64(obj->prog_cnt, 1, "programs");
	const struct ldr_prog *p = prog(obj, "xdp_count");
	const struct ldr_map *m = map(obj, "counts");
	if (p && m) {
		CHECK_STR(p->sec_name, "xdp", "section");
		CHECK_U64(bpfvm_prog_type__from_section(p->sec_name), BPFVM_PROG_TYPE_XDP,
			  "type from SEC()");
		CHECK_U64(p->func_cnt, 1, "no subprograms");
		CHECK_U64(p->insn_cnt, func_insns(obj, "xdp_count"), "insns");
		if (clang14)
			CHECK_U64(p->insn_cnt, 22, "insns (clang 14)");
		CHECK(p->btf_func != 0, "BTF FUNC of the entry");
		CHECK_U64(m->origin, LDR_MAP_BTF, "origin");
		CHECK_U64(m->type, BPFVM_MAP_TYPE_HASH, "type");
		CHECK_U64(m->key_size, 4, "key");
		CHECK_U64(m->value_size, 16, "value");
		CHECK_U64(m->max_entries, 1024, "max_entries");
		CHECK_U64(m->map_flags, BPFVM_F_NO_PREALLOC, "flags");
		CHECK_U64(p->map_ref_cnt, 1, "one map reference");
		const struct ldr_map_ref *r = ref_to(p, 0, 0);
		CHECK(r && !r->value && r->off == 0, "ref to counts");
		if (clang14 && r)
			CHECK_U64(r->insn, 5, "lddw of counts at insn 5");
		check_refs(obj, p);
		/* the helper call stays a helper call */
		int helpers = 0;
		for (size_t i = 0; i < p->insn_cnt; i++)
			helpers += p->insns[i].code == (BPF_JMP | BPF_CALL) && p->insns[i].src_reg == 0 &&
				   p->insns[i].imm == 1;
		CHECK_U64(helpers, 1, "bpf_map_lookup_elem calls");
		/* print a value with the map's BTF */
		uint64_t v[2] = { 3, 1500 };
		char buf[128];
		CHECK(btf_format(obj->btf, m->btf_value, v, sizeof(v), buf, sizeof(buf)) == 0, "fmt");
		CHECK_STR(buf, "{.packets = 3, .bytes = 1500}", "format struct stats");
		uint32_t key = 7;
		CHECK(btf_format(obj->btf, m->btf_key, &key, 4, buf, sizeof(buf)) == 0, "fmt key");
		CHECK_STR(buf, "7", "format key");
		CHECK(btf_format(obj->btf, m->btf_value, v, 8, buf, sizeof(buf)) == -EINVAL,
		      "value too short");
		/* .BTF.ext: func_info and line_info for the program */
		CHECK(obj->ext && obj->ext->func_cnt >= 1 && obj->ext->line_cnt >= 1, "BTF.ext");
		if (obj->ext && obj->ext->func_cnt) {
			CHECK_STR(obj->ext->funcs[0].sec, "xdp", "func_info section");
			CHECK_STR(btf_type(obj->btf, obj->ext->funcs[0].type_id)->name, "xdp_count",
				  "func_info type");
		}
		if (obj->ext && obj->ext->line_cnt)
			CHECK_CONTAINS(obj->ext->lines[0].file, "xdp_hash.c", "line_info file");
	}
	ldr_object_free(obj);
}

static void test_globals(const char *dir)
{
	struct ldr_object *obj = load(dir, "globals");
	if (!obj)
		return;
	CHECK_STR(obj->license, "Dual BSD/GPL", "license");
	const struct ldr_prog *p = prog(obj, "sock_filter");
	const struct ldr_map *ro = map(obj, ".rodata"), *da = map(obj, ".data"),
			     *bss = map(obj, ".bss"), *ex = map(obj, ".data.extra");
	CHECK_U64(obj->map_cnt, 4, "four global-data maps");
	if (!p || !ro || !da || !bss || !ex)
		goto out;
	CHECK_U64(bpfvm_prog_type__from_section(p->sec_name), BPFVM_PROG_TYPE_SOCKET_FILTER,
		  "type from SEC()");
	if (clang14)
		CHECK_U64(p->insn_cnt, 34, "insns (clang 14)");
	CHECK_U64(ro->origin, LDR_MAP_RODATA, ".rodata");
	CHECK(ro->frozen && ro->map_flags == BPFVM_F_RDONLY_PROG, ".rodata read-only, frozen");
	CHECK_U64(ro->type, BPFVM_MAP_TYPE_ARRAY, "array");
	CHECK(ro->key_size == 4 && ro->max_entries == 1 && ro->value_size == 16, ".rodata shape");
	CHECK(da->origin == LDR_MAP_DATA && !da->frozen && da->map_flags == 0, ".data");
	CHECK_U64(da->value_size, 8, ".data size");
	CHECK(bss->origin == LDR_MAP_BSS && bss->init == NULL, ".bss zero");
	CHECK_U64(bss->value_size, 24, ".bss size");
	CHECK(ex->origin == LDR_MAP_DATA && ex->value_size == 4, ".data.extra");
	uint32_t lim;
	uint64_t mask, hits;
	memcpy(&lim, ro->init + sym_value(obj, "cfg_limit"), 4);
	memcpy(&mask, ro->init + sym_value(obj, "cfg_mask"), 8);
	memcpy(&hits, da->init + sym_value(obj, "hits"), 8);
	CHECK_U64(lim, 100, "cfg_limit initial value");
	CHECK_U64(mask, 0xff00, "cfg_mask initial value");
	CHECK_U64(hits, 7, "hits initial value");
	char buf[256];
	CHECK(btf_format(obj->btf, ro->btf_value, ro->init, ro->value_size, buf, sizeof(buf)) == 0,
	      "format .rodata");
	CHECK(strstr(buf, ".cfg_limit = 100") && strstr(buf, ".cfg_mask = 65280"), "%s", buf);
	uint8_t zero[24] = { 0 };
	CHECK(btf_format(obj->btf, bss->btf_value, zero, 24, buf, sizeof(buf)) == 0, "fmt .bss");
	CHECK(strstr(buf, ".last_len = [0, 0, 0, 0]") && strstr(buf, ".misses = 0"), "%s", buf);
	/* one reference per global access: src=6, offset = the variable's */
	int iro = ldr_object_find_map(obj, ".rodata"), ida = ldr_object_find_map(obj, ".data");
	int ibss = ldr_object_find_map(obj, ".bss"), iex = ldr_object_find_map(obj, ".data.extra");
	CHECK_U64(p->map_ref_cnt, 6, "six global references");
	const struct ldr_map_ref *r;
	CHECK((r = ref_to(p, iro, 0)) && r->value, "cfg_limit ref");
	CHECK((r = ref_to(p, iro, 1)) && r->value, "cfg_mask ref");
	bool lim_seen = false, mask_seen = false;
	for (int k = 0; k < 2; k++)
		if ((r = ref_to(p, iro, k))) {
			lim_seen |= r->off == sym_value(obj, "cfg_limit");
			mask_seen |= r->off == sym_value(obj, "cfg_mask");
		}
	CHECK(lim_seen && mask_seen, ".rodata offsets");
	CHECK((r = ref_to(p, ida, 0)) && r->off == sym_value(obj, "hits"), "hits ref");
	CHECK((r = ref_to(p, ibss, 0)) != NULL, "bss ref");
	CHECK((r = ref_to(p, iex, 0)) && r->off == 0, "extra ref");
	if (clang14) {
		CHECK((r = ref_to(p, ibss, 0)) && r->insn == 4 &&
		      r->off == sym_value(obj, "last_len"), "last_len at insn 4");
		CHECK((r = ref_to(p, iro, 0)) && r->insn == 8, "cfg_limit at insn 8");
	}
	check_refs(obj, p);
out:
	ldr_object_free(obj);
}

static void test_calls(const char *dir)
{
	struct ldr_object *obj = load(dir, "calls");
	if (!obj)
		return;
	CHECK_U64(obj->prog_cnt, 2, "two programs (.text functions are not programs)");
	const struct ldr_prog *tc = prog(obj, "tc_main"), *up = prog(obj, "probe_malloc");
	if (tc) {
		CHECK_STR(tc->sec_name, "tc", "section");
		CHECK_U64(bpfvm_prog_type__from_section(tc->sec_name), BPFVM_PROG_TYPE_SCHED_CLS,
			  "type from SEC()");
		CHECK_U64(tc->func_cnt, 4, "tc_main + square, global_sum, add3");
		CHECK_STR(tc->funcs[0].name, "tc_main", "entry");
		if (tc->func_cnt == 4) {
			CHECK_STR(tc->funcs[1].name, "square", "first callee");
			CHECK_STR(tc->funcs[2].name, "global_sum", "second callee");
			CHECK_STR(tc->funcs[3].name, "add3", "callee of global_sum");
		}
		CHECK_U64(tc->insn_cnt, func_insns(obj, "tc_main") + func_insns(obj, "square") +
			  func_insns(obj, "global_sum") + func_insns(obj, "add3"), "linked size");
		if (clang14)
			CHECK_U64(tc->insn_cnt, 22, "8 + 3 + 7 + 4 (clang 14)");
		CHECK_STR(nth_target(tc, 0, 0, false), "square", "1st call (static: section sym)");
		CHECK_STR(nth_target(tc, 0, 1, false), "global_sum", "2nd call (global sym)");
		int gi = -1;
		for (size_t i = 0; i < tc->func_cnt; i++)
			if (strcmp(tc->funcs[i].name, "global_sum") == 0)
				gi = (int)i;
		if (gi >= 0) {	/* calls inside .text, resolved by clang (no relocation) */
			uint32_t from = tc->funcs[gi].start;
			CHECK_STR(nth_target(tc, from, 0, false), "square", "global_sum → square");
			CHECK_STR(nth_target(tc, from, 1, false), "add3", "global_sum → add3");
		}
		check_calls_land(tc);
	}
	if (up) {
		CHECK_STR(up->sec_name, "uprobe/libc.so.6:malloc", "section kept");
		CHECK_U64(bpfvm_prog_type__from_section(up->sec_name), BPFVM_PROG_TYPE_KPROBE,
			  "type from SEC()");
		CHECK_U64(up->func_cnt, 2, "probe_malloc + add3 (own copy)");
		CHECK_STR(nth_target(up, 0, 0, false), "add3", "call add3");
		if (clang14)
			CHECK_U64(up->insn_cnt, 9, "5 + 4 (clang 14)");
		check_calls_land(up);
	}
	ldr_object_free(obj);
}

static void test_legacy(const char *dir)
{
	struct ldr_object *obj = load(dir, "legacy");
	if (!obj)
		return;
	CHECK_U64(obj->kern_version, 0x050a00, "version section");
	const struct ldr_prog *p = prog(obj, "trace_openat");
	const struct ldr_map *a = map(obj, "legacy_array"), *h = map(obj, "legacy_hash");
	if (p && a && h) {
		CHECK_U64(bpfvm_prog_type__from_section(p->sec_name), BPFVM_PROG_TYPE_TRACEPOINT,
			  "type from SEC()");
		CHECK(a->origin == LDR_MAP_LEGACY && a->type == BPFVM_MAP_TYPE_ARRAY &&
		      a->key_size == 4 && a->value_size == 8 && a->max_entries == 16 &&
		      a->map_flags == 0, "legacy_array");
		CHECK(h->origin == LDR_MAP_LEGACY && h->type == BPFVM_MAP_TYPE_HASH &&
		      h->key_size == 8 && h->value_size == 16 && h->max_entries == 64 &&
		      h->map_flags == BPFVM_F_NO_PREALLOC, "legacy_hash");
		CHECK_U64(p->map_ref_cnt, 2, "two references");
		const struct ldr_map_ref *r0 = ref_to(p, (uint32_t)ldr_object_find_map(obj,
								"legacy_array"), 0);
		const struct ldr_map_ref *r1 = ref_to(p, (uint32_t)ldr_object_find_map(obj,
								"legacy_hash"), 0);
		CHECK(r0 && r1 && !r0->value && !r1->value, "map refs");
		if (clang14 && r0 && r1)
			CHECK(r0->insn == 4 && r1->insn == 15, "at insns 4 and 15");
		check_refs(obj, p);
	}
	ldr_object_free(obj);
}

static void test_mapinmap(const char *dir)
{
	struct ldr_object *obj = load(dir, "mapinmap");
	if (!obj)
		return;
	CHECK_U64(obj->prog_cnt, 3, "three programs in one section");
	const struct ldr_map *o = map(obj, "outer"), *j = map(obj, "jumps");
	int ia = ldr_object_find_map(obj, "inner_a"), ib = ldr_object_find_map(obj, "inner_b");
	int ta = ldr_object_find_prog(obj, "tail_a"), tb = ldr_object_find_prog(obj, "tail_b");
	CHECK(ia >= 0 && ib >= 0 && ta >= 0 && tb >= 0, "inner maps and tail programs");
	if (o && j && ia >= 0 && ib >= 0 && ta >= 0 && tb >= 0) {
		CHECK(o->type == BPFVM_MAP_TYPE_ARRAY_OF_MAPS && o->key_size == 4 &&
		      o->value_size == 4 && o->max_entries == 8, "outer");
		CHECK(o->inner && o->inner->type == BPFVM_MAP_TYPE_ARRAY &&
		      o->inner->max_entries == 4 && o->inner->key_size == 4 &&
		      o->inner->value_size == 8, "inner template");
		CHECK_U64(o->slot_cnt, 2, "outer slots");
		if (o->slot_cnt == 2) {
			CHECK(o->slots[0].key == 1 && o->slots[0].target == (uint32_t)ia, "[1] inner_a");
			CHECK(o->slots[1].key == 5 && o->slots[1].target == (uint32_t)ib, "[5] inner_b");
		}
		CHECK(j->type == BPFVM_MAP_TYPE_PROG_ARRAY && j->value_size == 4 &&
		      j->max_entries == 4 && !j->inner, "jumps");
		CHECK_U64(j->slot_cnt, 2, "jumps slots");
		if (j->slot_cnt == 2) {
			CHECK(j->slots[0].key == 0 && j->slots[0].target == (uint32_t)ta, "[0] tail_a");
			CHECK(j->slots[1].key == 2 && j->slots[1].target == (uint32_t)tb, "[2] tail_b");
		}
		const struct ldr_prog *d = prog(obj, "xdp_dispatch");
		if (d) {
			CHECK_U64(d->map_ref_cnt, 2, "outer + jumps");
			check_refs(obj, d);
			CHECK_U64(d->sec_off, sym_value(obj, "xdp_dispatch"), "entry offset");
		}
		CHECK_U64(obj->progs[ta].insn_cnt, func_insns(obj, "tail_a"), "tail_a alone");
	}
	ldr_object_free(obj);
}

static void test_loop(const char *dir)
{
	struct ldr_object *obj = load(dir, "loop");
	if (!obj)
		return;
	const struct ldr_prog *p = prog(obj, "xdp_loop");
	if (p) {
		CHECK_U64(p->func_cnt, 3, "xdp_loop + two callbacks");
		CHECK_STR(nth_target(p, 0, 0, true), "add_one", "1st callback (addend 0)");
		CHECK_STR(nth_target(p, 0, 1, true), "add_two", "2nd callback (byte addend)");
		CHECK_U64(p->insn_cnt, func_insns(obj, "xdp_loop") + func_insns(obj, "add_one") +
			  func_insns(obj, "add_two"), "linked size");
		check_calls_land(p);
		CHECK_U64(p->map_ref_cnt, 0, "no map refs");
	}
	ldr_object_free(obj);
}

/* The CO-RE result for the relocation on the n-th with kind k. */
static const struct ldr_core_res *core_res(const struct ldr_object *obj, uint32_t kind, int n)
{
	for (size_t i = 0; i < obj->core_cnt; i++)
		if (obj->core[i].kind == kind && n-- == 0)
			return &obj->core[i];
	return NULL;
}

static void check_core(const struct ldr_object *obj, uint32_t kind, int n, uint64_t want,
		       const char *what)
{
	const struct ldr_core_res *r = core_res(obj, kind, n);
	CHECK(r != NULL, "no CO-RE result %s", what);
	if (r) {
		CHECK(!r->poisoned, "%s poisoned", what);
		CHECK_U64(r->target, want, "%s", what);
	}
}

static void test_core(const char *dir)
{
	struct ldr_object *obj = load(dir, "core");
	if (!obj)
		return;
	CHECK_U64(obj->core_cnt, 13, "CO-RE relocations");
	check_core(obj, BTF_CORE_FIELD_BYTE_OFFSET, 0, offsetof(struct core_rec, b), "r->b");
	check_core(obj, BTF_CORE_FIELD_BYTE_OFFSET, 1,
		   offsetof(struct core_rec, inner) + offsetof(struct core_inner, y), "inner.y");
	check_core(obj, BTF_CORE_FIELD_BYTE_OFFSET, 2, offsetof(struct core_rec, arr) + 4, "arr[2]");
	check_core(obj, BTF_CORE_FIELD_BYTE_OFFSET, 3, offsetof(struct core_rec, flags), "flags");
	check_core(obj, BTF_CORE_FIELD_BYTE_SIZE, 0, 4, "flags size");
	check_core(obj, BTF_CORE_FIELD_EXISTS, 0, 1, "bits_hi exists");
	check_core(obj, BTF_CORE_FIELD_SIGNED, 0, 1, "bits_hi signed");
	/* bits_hi: bits 3..9 of the int after flags (little endian) */
	uint64_t bit_off = (offsetof(struct core_rec, flags) + 4) * 8 + 3;
	check_core(obj, BTF_CORE_FIELD_LSHIFT_U64, 0,
		   64 - (bit_off + 7 - (offsetof(struct core_rec, flags) + 4) * 8), "lshift");
	check_core(obj, BTF_CORE_FIELD_RSHIFT_U64, 0, 64 - 7, "rshift");
	check_core(obj, BTF_CORE_TYPE_EXISTS, 0, 1, "type exists");
	check_core(obj, BTF_CORE_TYPE_SIZE, 0, sizeof(struct core_rec), "type size");
	check_core(obj, BTF_CORE_ENUMVAL_EXISTS, 0, 1, "enum exists");
	check_core(obj, BTF_CORE_ENUMVAL_VALUE, 0, CORE_BLUE, "enum value");
	const struct ldr_prog *p = prog(obj, "core_read");
	if (p && clang14) {
		CHECK_U64(p->insns[0].off, 8, "ldx r->b patched (same value)");
		CHECK_U64(p->insns[13].imm, 54, "lshift imm");
	}

	/* Against another layout (core_target.o's BTF) */
	struct ldr_object *tobj = load(dir, "core_target");
	if (tobj && tobj->btf) {
		struct ldr_opts o = { .target = tobj->btf };
		struct ldr_object *r = load_opts(dir, "core", &o);
		if (r) {
			check_core(r, BTF_CORE_FIELD_BYTE_OFFSET, 0, 16, "b moved");
			check_core(r, BTF_CORE_FIELD_BYTE_OFFSET, 1, 32, "inner.y moved");
			check_core(r, BTF_CORE_FIELD_BYTE_OFFSET, 2, 44, "arr[2] moved");
			check_core(r, BTF_CORE_FIELD_BYTE_OFFSET, 3, 52, "flags moved");
			check_core(r, BTF_CORE_FIELD_EXISTS, 0, 0, "bits_hi gone");
			const struct ldr_core_res *s = core_res(r, BTF_CORE_FIELD_SIGNED, 0);
			CHECK(s && s->poisoned, "bits_hi signed: poisoned");
			check_core(r, BTF_CORE_TYPE_SIZE, 0, 64, "bigger struct");
			check_core(r, BTF_CORE_ENUMVAL_VALUE, 0, 20, "renumbered enum");
			const struct ldr_prog *rp = prog(r, "core_read");
			if (rp && clang14) {
				CHECK_U64(rp->insns[0].off, 16, "ldx r->b now at 16");
				CHECK_U64(rp->insns[9].imm, 0, "exists → 0");
				CHECK(rp->insns[11].code == (BPF_JMP | BPF_CALL) &&
				      rp->insns[11].imm == 0xbad2310, "poisoned insn");
				CHECK_U64(rp->insns[24].imm, 20, "lddw enum value");
			}
			ldr_object_free(r);
		}
	}

	/* A kernel type needs a target BTF... */
	char path[1024];
	size_t len;
	snprintf(path, sizeof(path), "%s/core_kernel.o", dir);
	uint8_t *buf = read_file(path, &len);
	CHECK(buf != NULL, "%s", path);
	if (buf) {
		struct ldr_object *k = NULL;
		test_log_clear();
		CHECK(ldr_object_parse(buf, len, NULL, &k) == -EINVAL && !k, "kernel type");
		CHECK_CONTAINS(test_log_last(), "CO-RE relocation 0 in section uprobe/kernel needs "
			       "target BTF (--btf FILE)", "message");
		/* ...and resolves against one (here: its own) */
		struct btf *own = NULL;
		struct ldr_object *tmp = NULL;
		/* take the object's .BTF as the target */
		struct elf_file ef;
		if (elf_parse(&ef, buf, len) == 0) {
			const struct elf_sec *s = elf_sec_by_name(&ef, ".BTF");
			own = s ? btf_parse(s->data, s->size, ".BTF") : NULL;
			elf_free(&ef);
		}
		CHECK(own != NULL, "own BTF");
		struct ldr_opts o = { .target = own };
		CHECK(ldr_object_parse(buf, len, &o, &tmp) == 0, "with target: %s", test_log_last());
		if (tmp)
			check_core(tmp, BTF_CORE_FIELD_BYTE_OFFSET, 0, 4, "tgid");
		ldr_object_free(tmp);
		btf_free(own);
		free(buf);
	}
	ldr_object_free(tobj);
	ldr_object_free(obj);
}

/* ---- malformed input ----------------------------------------------------------------- */

static bool names_place(const char *msg)
{
	return strstr(msg, "section") || strstr(msg, "offset");
}

/* Truncations at every length and byte flips over the whole file. */
static void test_mutations(const char *dir, const char *name)
{
	char path[1024];
	size_t len;
	snprintf(path, sizeof(path), "%s/%s.o", dir, name);
	uint8_t *orig = read_file(path, &len);
	CHECK(orig != NULL, "%s", path);
	if (!orig)
		return;
	uint8_t *buf = malloc(len);
	int loaded = 0, failed = 0, unnamed = 0;
	for (size_t n = 0; n < len; n++) {	/* truncate */
		struct ldr_object *obj = NULL;
		test_log_clear();
		int err = ldr_object_parse(orig, n, NULL, &obj);
		if (err == 0) {
			loaded++;
			ldr_object_free(obj);
		} else {
			failed++;
			if (!names_place(test_log_last()) && unnamed++ < 5)
				fprintf(stderr, "truncate %zu: \"%s\"\n", n, test_log_last());
		}
	}
	static const uint8_t xors[] = { 0x01, 0x80, 0xff, 0x10 };
	uint32_t seed = 12345;
	for (size_t i = 0; i < len; i++) {		/* flip */
		memcpy(buf, orig, len);
		seed = seed * 1103515245 + 12345;
		buf[i] ^= xors[(seed >> 16) & 3];
		if ((seed >> 8) % 3 == 0 && i + 1 < len)
			buf[i + 1] ^= (uint8_t)(seed >> 24);
		struct ldr_object *obj = NULL;
		test_log_clear();
		int err = ldr_object_parse(buf, len, NULL, &obj);
		if (err == 0) {
			loaded++;
			ldr_object_free(obj);
		} else {
			failed++;
			if (!names_place(test_log_last()) && unnamed++ < 5)
				fprintf(stderr, "flip %zu: \"%s\"\n", i, test_log_last());
		}
	}
	CHECK(unnamed == 0, "%s: %d errors name no section or offset", name, unnamed);
	CHECK(failed > 0 && loaded > 0, "%s: %d loaded, %d failed", name, loaded, failed);
	printf("mutations of %s: %d loaded, %d rejected\n", name, loaded, failed);
	free(buf);
	free(orig);
}

/* A tiny ELF writer for hand-made objects. */
struct hsec {
	const char *name;
	uint32_t type, link, info;
	uint64_t flags, entsize;
	const void *data;
	size_t size;
};

static size_t put_str(char *tab, size_t *len, const char *s)
{
	size_t off = *len;
	strcpy(tab + off, s);
	*len += strlen(s) + 1;
	return off;
}

static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Writes ELF header + sections (index 1.. = secs[0..n), then .shstrtab) into out
 * (at least 4096 bytes). Returns the length. */
static size_t make_elf(uint8_t *out, const struct hsec *secs, int n)
{
	char names[512] = "";
	size_t nlen = 1, pos = 64;
	uint32_t name_off[16];
	memset(out, 0, 4096);
	for (int i = 0; i < n; i++)
		name_off[i] = (uint32_t)put_str(names, &nlen, secs[i].name);
	uint32_t shstr_name = (uint32_t)put_str(names, &nlen, ".shstrtab");
	uint64_t data_off[16];
	for (int i = 0; i < n; i++) {
		pos = (pos + 7) & ~(size_t)7;
		data_off[i] = pos;
		if (secs[i].type != ELF_SHT_NOBITS)
			memcpy(out + pos, secs[i].data, secs[i].size);
		pos += secs[i].type != ELF_SHT_NOBITS ? secs[i].size : 0;
	}
	size_t shstr_off = pos;
	memcpy(out + pos, names, nlen);
	pos = (pos + nlen + 7) & ~(size_t)7;
	size_t shoff = pos;
	memcpy(out, "\177ELF\2\1\1", 7);
	w16(out + 16, 1);
	w16(out + 18, ELF_EM_BPF);
	w32(out + 20, 1);
	w64(out + 40, shoff);
	w16(out + 52, 64);
	w16(out + 58, 64);
	w16(out + 60, (uint16_t)(n + 2));
	w16(out + 62, (uint16_t)(n + 1));
	for (int i = 0; i <= n; i++) {
		uint8_t *h = out + shoff + (size_t)(i + 1) * 64;
		bool last = i == n;
		w32(h, last ? shstr_name : name_off[i]);
		w32(h + 4, last ? ELF_SHT_STRTAB : secs[i].type);
		w64(h + 8, last ? 0 : secs[i].flags);
		w64(h + 24, last ? shstr_off : data_off[i]);
		w64(h + 32, last ? nlen : secs[i].size);
		w32(h + 40, last ? 0 : secs[i].link);
		w32(h + 44, last ? 0 : secs[i].info);
		w64(h + 48, 8);
		w64(h + 56, last ? 0 : secs[i].entsize);
	}
	return shoff + (size_t)(n + 2) * 64;
}

/* Base object: 1 .strtab, 2 .symtab, 3 xdp (r0 = 0 via lddw, exit), 4 .relxdp,
 * 5 .BTF. mut lets a case change the parts before writing. */
struct base {
	char strtab[64];
	uint8_t syms[3 * 24];
	struct bpf_insn code[3];
	uint8_t rel[16];
	uint8_t btf[256];
	size_t btf_len;
	struct hsec secs[5];
};

static void base_init(struct base *b)
{
	memset(b, 0, sizeof(*b));
	size_t sl = 1;
	uint32_t fname = (uint32_t)put_str(b->strtab, &sl, "prog");
	uint8_t *s1 = b->syms + 24;		/* FUNC prog in section 3 */
	w32(s1, fname);
	s1[4] = ELF_STB_GLOBAL << 4 | ELF_STT_FUNC;
	w16(s1 + 6, 3);
	w64(s1 + 16, sizeof(b->code));
	uint8_t *s2 = b->syms + 48;		/* section symbol of section 3 */
	s2[4] = ELF_STT_SECTION;
	w16(s2 + 6, 3);
	b->code[0] = BPFVM_INSN(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 0);
	b->code[1] = BPFVM_INSN(0, 0, 0, 0, 0);
	b->code[2] = BPFVM_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	w64(b->rel, 0);
	w64(b->rel + 8, (uint64_t)2 << 32 | R_BPF_64_64);	/* lddw → own section: callback */
	/* BTF: header + one INT "int" */
	uint8_t *t = b->btf;
	w16(t, 0xeB9F);
	t[2] = 1;
	w32(t + 4, 24);
	w32(t + 8, 0);
	w32(t + 12, 16);
	w32(t + 16, 16);
	w32(t + 20, 5);
	uint8_t *ty = t + 24;
	w32(ty, 1);				/* name "int" */
	w32(ty + 4, (uint32_t)BTFK_INT << 24);
	w32(ty + 8, 4);
	w32(ty + 12, 32 | BTF_INT_SIGNED << 24);
	memcpy(t + 40, "\0int", 5);
	b->btf_len = 45;
	b->secs[0] = (struct hsec){ ".strtab", ELF_SHT_STRTAB, 0, 0, 0, 0, b->strtab, sl };
	b->secs[1] = (struct hsec){ ".symtab", ELF_SHT_SYMTAB, 1, 0, 0, 24, b->syms, sizeof(b->syms) };
	b->secs[2] = (struct hsec){ "xdp", ELF_SHT_PROGBITS, 0, 0, ELF_SHF_ALLOC | ELF_SHF_EXECINSTR,
				    0, b->code, sizeof(b->code) };
	b->secs[3] = (struct hsec){ ".relxdp", ELF_SHT_REL, 2, 3, 0, 16, b->rel, sizeof(b->rel) };
	b->secs[4] = (struct hsec){ ".BTF", ELF_SHT_PROGBITS, 0, 0, 0, 0, b->btf, b->btf_len };
}

/* Parses the object; expects success (msg NULL) or failure with msg in the log. */
static void expect(const uint8_t *buf, size_t len, const char *msg, const char *what)
{
	struct ldr_object *obj = NULL;
	test_log_clear();
	int err = ldr_object_parse(buf, len, NULL, &obj);
	if (!msg) {
		CHECK(err == 0, "%s: %s", what, test_log_last());
	} else {
		CHECK(err == -EINVAL && obj == NULL, "%s: err %d", what, err);
		CHECK_STR(test_log_last(), msg, "%s", what);
	}
	ldr_object_free(obj);
}

static void test_handmade(void)
{
	static uint8_t out[4096];
	struct base b;
	size_t len;

	base_init(&b);
	len = make_elf(out, b.secs, 5);
	expect(out, len, NULL, "base object loads");
	struct ldr_object *obj = NULL;
	if (ldr_object_parse(out, len, NULL, &obj) == 0) {	/* lddw → own function: src=4 */
		CHECK_U64(obj->prog_cnt, 1, "one program");
		CHECK(obj->progs[0].insns[0].src_reg == BPF_PSEUDO_FUNC && obj->progs[0].insns[0].imm == -1,
		      "callback to itself");
		CHECK_STR(obj->license, "", "no license");
	}
	ldr_object_free(obj);

	w16(out + 62, 99);
	expect(out, len, "elf: offset 0x3e: e_shstrndx 99 is not a section (7 sections)",
	       "bad e_shstrndx");
	w16(out + 62, 2);
	expect(out, len, "elf: e_shstrndx 2 names section of type 2, not a string table",
	       "e_shstrndx not a string table");

	expect(out, 10, "elf: offset 0x0: file is 10 bytes, shorter than the 64-byte ELF header",
	       "short");

	base_init(&b);		/* relocation past the end of its section */
	w64(b.rel, 24);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "elf: section 4 (.relxdp): relocation 0 at offset 0x0 points past the end "
	       "of section 3 (xdp, 24 bytes)", "relocation out of range");

	base_init(&b);		/* relocation symbol out of range */
	w64(b.rel + 8, (uint64_t)9 << 32 | R_BPF_64_64);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "elf: section 4 (.relxdp): relocation 0 at offset 0x0: symbol index 9 is out "
	       "of range (3 symbols)", "relocation symbol");

	base_init(&b);		/* relocation on a non-lddw instruction */
	w64(b.rel, 16);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "loader: section 3 (xdp): instruction 2 (offset 0x10): relocation (type 1, "
	       "symbol '') on an instruction that is neither lddw nor a call", "reloc on exit");

	base_init(&b);		/* symbol name out of the string table */
	w32(b.syms + 24, 60);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "elf: section 2 (.symtab): symbol 1 at offset 0x18: name offset 0x3c is "
	       "outside section 1 (.strtab) (6 bytes)", "symbol name offset");

	base_init(&b);		/* symbol section index out of range */
	w16(b.syms + 24 + 6, 40);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "elf: section 2 (.symtab): symbol 1 (prog) at offset 0x18: section index 40 "
	       "is out of range (7 sections)", "symbol shndx");

	base_init(&b);		/* RELA */
	b.secs[3].type = ELF_SHT_RELA;
	len = make_elf(out, b.secs, 5);
	expect(out, len, "elf: section 4 (.relxdp): RELA relocations are not supported (BPF objects "
	       "use REL)", "RELA");

	base_init(&b);		/* BTF: type id out of range (INT → PTR to 7) */
	w32(b.btf + 24 + 4, (uint32_t)BTFK_PTR << 24);
	w32(b.btf + 24 + 8, 7);
	w32(b.btf + 12, 12);			/* PTR has no extra word */
	memmove(b.btf + 36, b.btf + 40, 5);
	w32(b.btf + 16, 12);
	b.secs[4].size = 41;
	len = make_elf(out, b.secs, 5);
	expect(out, len, "btf: section 5 (.BTF): offset 0x18: type 1 refers to type id 7, out of "
	       "range (1 types)", "BTF type id");

	base_init(&b);		/* BTF: string offset out of range */
	w32(b.btf + 24, 77);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "btf: section 5 (.BTF): offset 0x18: string offset 0x4d is outside the "
	       "string section (5 bytes)", "BTF string offset");

	base_init(&b);		/* BTF: record runs past the type section */
	w32(b.btf + 24 + 4, (uint32_t)BTFK_STRUCT << 24 | 3);
	len = make_elf(out, b.secs, 5);
	expect(out, len, "btf: section 5 (.BTF): offset 0x18: type 1 (STRUCT, 3 items) runs past the "
	       "end of the type section", "BTF record");

	base_init(&b);		/* call into the middle of nowhere */
	b.code[0] = BPFVM_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 5);
	b.secs[3].size = 0;
	len = make_elf(out, b.secs, 5);
	expect(out, len, "loader: section 3 (xdp): instruction 0 (offset 0x0): target offset 48 in "
	       "section 3 (xdp) is not the start of a function", "bad call");
}

/* Every map type/field parses through btf_format for arbitrary values. */
static void test_btf_format(void)
{
	/* types: 1 int, 2 char, 3 char[4], 4 struct {int a; char s[4]; int bf:3}, 5 enum */
	uint8_t raw[512] = { 0 };
	uint8_t *t = raw + 24;
	const char strs[] = "\0int\0char\0s\0a\0bf\0e\0RED\0BLUE";
	size_t tl = 0;
#define TY(name, kind, kflag, vlen, st) do { w32(t + tl, name); \
		w32(t + tl + 4, (uint32_t)(kind) << 24 | (uint32_t)(kflag) << 31 | (vlen)); \
		w32(t + tl + 8, st); tl += 12; } while (0)
#define W(v) do { w32(t + tl, v); tl += 4; } while (0)
	TY(1, BTFK_INT, 0, 0, 4); W(32 | BTF_INT_SIGNED << 24);
	TY(5, BTFK_INT, 0, 0, 1); W(8 | BTF_INT_CHAR << 24);
	TY(0, BTFK_ARRAY, 0, 0, 0); W(2); W(1); W(4);
	TY(10, BTFK_STRUCT, 1, 3, 12);
	W(12); W(1); W(0);
	W(10); W(3); W(32);
	W(14); W(1); W(3u << 24 | 64);
	TY(17, BTFK_ENUM, 0, 2, 4); W(19); W(1); W(23); W(2);
	w16(raw, 0xeB9F);
	raw[2] = 1;
	w32(raw + 4, 24);
	w32(raw + 12, (uint32_t)tl);
	w32(raw + 16, (uint32_t)tl);
	w32(raw + 20, sizeof(strs));
	memcpy(t + tl, strs, sizeof(strs));
	struct btf *btf = btf_parse(raw, 24 + tl + sizeof(strs), "test");
	CHECK(btf != NULL, "parse: %s", test_log_last());
	if (!btf)
		return;
	uint8_t v[12] = { 0xfe, 0xff, 0xff, 0xff, 'h', 'i', 0, 0, 0x05 };
	char buf[128];
	CHECK(btf_format(btf, 4, v, sizeof(v), buf, sizeof(buf)) == 0, "format");
	CHECK_STR(buf, "{.a = -2, .s = \"hi\", .bf = -3}", "struct with bitfield");
	uint32_t e = 2;
	btf_format(btf, 5, &e, 4, buf, sizeof(buf));
	CHECK_STR(buf, "BLUE", "enum");
	e = 7;
	btf_format(btf, 5, &e, 4, buf, sizeof(buf));
	CHECK_STR(buf, "7", "enum value without a name");
	btf_format(btf, 4, v, sizeof(v), buf, 8);
	CHECK_STR(buf, "{.a = -", "truncated output");
	CHECK_U64(btf_find(btf, "e", BTFK_ENUM), 5, "find");
	CHECK_U64(btf_member_index(btf_type(btf, 4), "bf"), 2, "member index");
	uint64_t sz = 0;
	CHECK(btf_type_size(btf, 3, &sz) == 0 && sz == 4, "array size");
	btf_free(btf);
}

/* Appends s to the string table tab (len bytes so far): its offset. */
static uint32_t str_add(char *tab, size_t *len, const char *s)
{
	uint32_t off = (uint32_t)*len;
	memcpy(tab + *len, s, strlen(s) + 1);
	*len += strlen(s) + 1;
	return off;
}

/* btf_format_json: every kind in both notations, escaping, anonymous members,
 * truncation (the C notation must not change). */
static void test_btf_format_json(void)
{
	uint8_t raw[1024] = { 0 };
	uint8_t *t = raw + 24;
	char strs[256] = "";
	size_t sl = 1, tl = 0;
#define S(s) str_add(strs, &sl, s)
	TY(S("int"), BTFK_INT, 0, 0, 4); W(32 | BTF_INT_SIGNED << 24);		/* 1 */
	TY(S("char"), BTFK_INT, 0, 0, 1); W(8 | BTF_INT_CHAR << 24);		/* 2 */
	TY(0, BTFK_ARRAY, 0, 0, 0); W(2); W(1); W(4);				/* 3 char[4] */
	TY(S("e"), BTFK_ENUM, 0, 2, 4); W(S("RED")); W(1); W(S("BLUE")); W(2);	/* 4 */
	TY(S("_Bool"), BTFK_INT, 0, 0, 1); W(8 | BTF_INT_BOOL << 24);		/* 5 */
	TY(0, BTFK_PTR, 0, 0, 1);						/* 6 int * */
	TY(S("double"), BTFK_FLOAT, 0, 0, 8);					/* 7 */
	TY(0, BTFK_UNION, 0, 2, 4);						/* 8 anon */
	W(S("x")); W(1); W(0);
	W(S("y")); W(1); W(0);
	TY(S("s"), BTFK_STRUCT, 1, 10, 40);					/* 9 */
	W(S("a")); W(1); W(0);
	W(S("s")); W(3); W(32);
	W(0); W(8); W(64);			/* anonymous union */
	W(0); W(1); W(3u << 24 | 96);		/* anonymous bitfield: padding */
	W(S("bf")); W(1); W(3u << 24 | 99);
	W(S("b")); W(5); W(104);
	W(S("c")); W(2); W(112);
	W(S("col")); W(4); W(128);
	W(S("p")); W(6); W(192);
	W(S("f")); W(7); W(256);
	TY(S("v1"), BTFK_VAR, 0, 0, 1); W(1);					/* 10 */
	TY(S("v2"), BTFK_VAR, 0, 0, 3); W(1);					/* 11 */
	TY(S(".data"), BTFK_DATASEC, 0, 2, 8);					/* 12 */
	W(10); W(0); W(4);
	W(11); W(4); W(4);
	TY(S("__int128"), BTFK_INT, 0, 0, 16); W(128);				/* 13 */
	TY(S("q\"t"), BTFK_ENUM, 0, 1, 4); W(S("A\"B")); W(0);			/* 14 */
#undef S
	w16(raw, 0xeB9F);
	raw[2] = 1;
	w32(raw + 4, 24);
	w32(raw + 12, (uint32_t)tl);
	w32(raw + 16, (uint32_t)tl);
	w32(raw + 20, (uint32_t)sl);
	memcpy(t + tl, strs, sl);
	struct btf *btf = btf_parse(raw, 24 + tl + sl, "test");
	CHECK(btf != NULL, "parse: %s", test_log_last());
	if (!btf)
		return;

	uint8_t v[40] = { 0xfe, 0xff, 0xff, 0xff, 'h', 'i', 0, 0, 7, 0, 0, 0, 0x28, 1, 'q' };
	uint32_t col = 2;
	uint64_t ptr = 0x1000;
	double f = 1.5;
	memcpy(v + 16, &col, 4);
	memcpy(v + 24, &ptr, 8);
	memcpy(v + 32, &f, 8);
	char buf[256];
	CHECK(btf_format_json(btf, 9, v, sizeof(v), buf, sizeof(buf)) == 0, "json struct");
	CHECK_STR(buf, "{\"a\": -2, \"s\": \"hi\", \"x\": 7, \"y\": 7, \"bf\": -3, \"b\": true, "
		  "\"c\": \"q\", \"col\": \"BLUE\", \"p\": 4096, \"f\": 1.5}", "json struct");
	CHECK(btf_format(btf, 9, v, sizeof(v), buf, sizeof(buf)) == 0, "C struct");
	CHECK_STR(buf, "{.a = -2, .s = \"hi\", {.x = 7, .y = 7}, 0, .bf = -3, .b = true, "
		  ".c = 'q', .col = BLUE, .p = 0x1000, .f = 1.5}", "C struct unchanged");
	CHECK(btf_format_value(btf, 9, v, sizeof(v), false, buf, sizeof(buf)) == 0, "value C");

	/* escapes: JSON's \u00XX where C has \xXX; a non-printable char; no name */
	memcpy(v + 4, "h\"\n\x01", 4);
	v[14] = 1;
	col = 7;
	memcpy(v + 16, &col, 4);
	CHECK(btf_format_json(btf, 9, v, sizeof(v), buf, sizeof(buf)) == 0, "json escapes");
	CHECK_CONTAINS(buf, "\"s\": \"h\\\"\\n\\u0001\", ", "json string escapes");
	CHECK_CONTAINS(buf, "\"c\": \"\\u0001\", \"col\": 7, ", "json char and enum number");
	btf_format(btf, 9, v, sizeof(v), buf, sizeof(buf));
	CHECK_CONTAINS(buf, ".s = \"h\\\"\\n\\x01\", ", "C string escapes");
	CHECK_CONTAINS(buf, ".c = 1, .col = 7, ", "C char and enum number");

	/* global data, a wide int, a quoted name, a non-finite float */
	uint8_t d[8] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b', 0, 0 };
	CHECK(btf_format_json(btf, 12, d, sizeof(d), buf, sizeof(buf)) == 0, "json datasec");
	CHECK_STR(buf, "{\"v1\": -1, \"v2\": \"ab\"}", "json datasec");
	btf_format(btf, 12, d, sizeof(d), buf, sizeof(buf));
	CHECK_STR(buf, "{.v1 = -1, .v2 = \"ab\"}", "C datasec");
	uint8_t wide[16] = { 1, [15] = 0x80 };
	btf_format_json(btf, 13, wide, sizeof(wide), buf, sizeof(buf));
	CHECK_STR(buf, "\"0x80000000000000000000000000000001\"", "json int128");
	uint32_t zero = 0;
	btf_format_json(btf, 14, &zero, 4, buf, sizeof(buf));
	CHECK_STR(buf, "\"A\\\"B\"", "json enumerator name escaped");
	uint64_t inf = 0x7ff0000000000000ull;
	btf_format_json(btf, 7, &inf, 8, buf, sizeof(buf));
	CHECK_STR(buf, "\"inf\"", "json infinity");
	btf_format(btf, 7, &inf, 8, buf, sizeof(buf));
	CHECK_STR(buf, "inf", "C infinity");

	/* errors: too small, cut */
	CHECK(btf_format_json(btf, 9, v, 39, buf, sizeof(buf)) == -EINVAL, "json size too small");
	CHECK(btf_format_json(btf, 9, v, sizeof(v), buf, 8) == -ENOSPC, "json cut");
	CHECK_STR(buf, "{\"a\": -", "json cut text");
	CHECK(btf_format(btf, 9, v, sizeof(v), buf, 8) == 0, "C cut is not an error");
	CHECK(btf_format_value(btf, 9, v, sizeof(v), false, buf, 8) == -ENOSPC, "value C cut");
	btf_free(btf);
}

/* btf_format_json on clang's BTF: a map value struct and a .rodata DATASEC. */
static void test_btf_json_objects(const char *dir)
{
	char buf[256];
	struct ldr_object *obj = load(dir, "xdp_hash");
	const struct ldr_map *m = obj ? map(obj, "counts") : NULL;
	if (m) {
		uint64_t v[2] = { 3, 1500 };
		CHECK(btf_format_json(obj->btf, m->btf_value, v, sizeof(v), buf, sizeof(buf)) == 0,
		      "json counts");
		CHECK_STR(buf, "{\"packets\": 3, \"bytes\": 1500}", "json struct stats");
	}
	ldr_object_free(obj);
	obj = load(dir, "globals");
	m = obj ? map(obj, ".rodata") : NULL;
	if (m) {
		CHECK(btf_format_json(obj->btf, m->btf_value, m->init, m->value_size, buf,
				      sizeof(buf)) == 0, "json .rodata");
		CHECK_CONTAINS(buf, "\"cfg_limit\": 100", "json .rodata");
		CHECK_CONTAINS(buf, "\"cfg_mask\": 65280", "json .rodata");
	}
	ldr_object_free(obj);
}

int main(int argc, char **argv)
{
	test_log_capture();
	test_handmade();
	test_btf_format();
	test_btf_format_json();
#ifdef BPFVM_LOADER_OBJ_DIRS
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s", BPFVM_LOADER_OBJ_DIRS);
	for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		clang14 = strstr(dir, "clang-14") != NULL;
		printf("objects in %s\n", dir);
		test_xdp_hash(dir);
		test_globals(dir);
		test_calls(dir);
		test_legacy(dir);
		test_mapinmap(dir);
		test_loop(dir);
		test_core(dir);
		test_btf_json_objects(dir);
		test_mutations(dir, "xdp_hash");
		test_mutations(dir, "core");
	}
#else
	printf("no BPF test objects (no clang with the BPF target): object tests skipped\n");
#endif
	return test_summary();
}
