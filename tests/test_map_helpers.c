/*
 * test_map_helpers.c — the map and ring-buffer helpers (src/helpers/maps.c) called
 * from programs on every available engine, and the checked-mode support they need:
 * counters in ARRAY and HASH maps read back from user space, writes through a
 * looked-up pointer, faults one byte outside a value or a reserved record (and on
 * a BPFVM_F_RDONLY_PROG value), bogus and unbound map pointers, queue and stack
 * order, per-CPU lookups, ring-buffer reserve/submit/discard/output consumed from
 * user space, the dynamic-region table's limit, and bound maps outliving their
 * creator's reference. Every run is repeated on each engine, which must agree on
 * the error, r0 and the fault.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "jit/jit.h"
#include "maps/map.h"
#include "prog.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const enum bpfvm_engine engines[] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_INTERP_SWITCH,
					     BPFVM_ENGINE_JIT };
static const char *const engine_names[] = { "interp", "switch", "jit" };
static int n_engines;

struct res {
	int err;
	uint64_t r0;
	struct bpfvm_fault fault;
};

#define SAME_R0		1u	/* every engine must return the same r0 */
#define ADDR_VARIES	2u	/* the fault's address may differ (a new ring record each run) */

/* Runs insns (bound to maps[0..nm)) once on every available engine; all must agree
 * on err and the fault (and r0 with SAME_R0). Returns the interpreter's result. */
static struct res run_all(const struct bpf_insn *insns, size_t cnt, struct bpfvm_map *const *maps,
			  size_t nm, unsigned flags, const char *what)
{
	struct res first = { -1, 0, { 0 } };
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .maps = maps, .map_cnt = nm };
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, &po);
	CHECK(p != NULL, "%s: program rejected (%d)", what, errno);
	if (!p)
		return first;
	bool have = false;
	for (size_t e = 0; e < N(engines); e++) {
		if (!bpfvm_engine_available(engines[e]))
			continue;
		struct bpfvm_run_opts o = { .sz = sizeof(o), .engine = engines[e], .budget = 100000 };
		struct res r = { bpfvm_prog__run_opts(p, &o), o.retval, o.fault };
		if (!have) {
			first = r;
			have = true;
			continue;
		}
		CHECK(r.err == first.err, "%s: %s err %d, interp %d", what, engine_names[e], r.err,
		      first.err);
		if (flags & SAME_R0)
			CHECK_U64(r.r0, first.r0, "%s: %s r0 differs", what, engine_names[e]);
		if (flags & ADDR_VARIES)
			r.fault.addr = first.fault.addr;
		CHECK(r.fault.kind == first.fault.kind && r.fault.insn == first.fault.insn &&
		      r.fault.addr == first.fault.addr && r.fault.size == first.fault.size,
		      "%s: %s fault {%d insn %u addr %#llx size %u}, interp {%d insn %u addr %#llx "
		      "size %u}", what, engine_names[e], (int)r.fault.kind, r.fault.insn,
		      (unsigned long long)r.fault.addr, r.fault.size, (int)first.fault.kind,
		      first.fault.insn, (unsigned long long)first.fault.addr, first.fault.size);
	}
	bpfvm_prog__free(p);
	return first;
}

static void expect_fault(struct res r, enum bpfvm_fault_kind kind, uint32_t insn, uint64_t addr,
			 uint32_t size, const char *what)
{
	CHECK(r.err == -EFAULT, "%s: err %d, expected -EFAULT", what, r.err);
	CHECK(r.fault.kind == kind, "%s: fault kind %d, expected %d", what, (int)r.fault.kind,
	      (int)kind);
	CHECK_U64(r.fault.insn, insn, "%s: fault insn", what);
	CHECK_U64(r.fault.addr, addr, "%s: fault addr", what);
	CHECK_U64(r.fault.size, size, "%s: fault size", what);
}

#define MAPPTR(m)	((uint64_t)(uintptr_t)(m))

/* r0 = bpf_map_lookup_elem(M, &(u32)KEY), the key at r10-4; if NULL, exit with
 * r0 = 0. 9 slots. */
#define LOOKUP_OR_EXIT(M, KEY) \
	BPF_ST_MEM(BPF_W, 10, -4, KEY), \
	BPF_LD_IMM64(1, MAPPTR(M)), \
	BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4), \
	BPF_CALL_HELPER(1), \
	BPF_JMP_IMM(BPF_JNE, 0, 0, 2), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()

/* Looks up key in m (bound to the program) and makes the access op through the
 * value pointer (insn 9): it must fault at addr, as a read or a write of op's size,
 * on every engine. */
static void lookup_fault(struct bpfvm_map *m, int32_t key, struct bpf_insn op, uint64_t addr,
			 const char *what)
{
	struct bpf_insn p[] = { LOOKUP_OR_EXIT(m, key), op, BPF_EXIT_INSN() };
	int cls = op.code & 0x07, sz = op.code & 0x18;
	bool write = cls == BPF_ST || cls == BPF_STX;
	uint32_t size = sz == BPF_B ? 1 : sz == BPF_H ? 2 : sz == BPF_W ? 4 : 8;
	struct res r = run_all(p, N(p), &m, 1, SAME_R0, what);
	expect_fault(r, write ? BPFVM_FAULT_WRITE : BPFVM_FAULT_READ, 9, addr, size, what);
}

static uint64_t user_u64(struct bpfvm_map *m, uint32_t key)
{
	uint64_t v = 0;
	int err = bpfvm_map__lookup_elem(m, &key, sizeof(key), &v, sizeof(v), 0);
	CHECK(err == 0, "user lookup of key %u: %d", key, err);
	return v;
}

static void counters(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "cnt", 4, 8, 4, NULL);
	struct bpfvm_map *h = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "hcnt", 4, 8, 16, NULL);
	CHECK(a && h, "create counter maps");
	if (!a || !h)
		goto out;
	/* ARRAY: lock xadd 1 into element 2 */
	struct bpf_insn pa[] = {
		LOOKUP_OR_EXIT(a, 2),
		BPF_MOV64_IMM(1, 1),
		BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 0, 1, 0),
		BPF_MOV64_IMM(0, 1),
		BPF_EXIT_INSN(),
	};
	struct res r = run_all(pa, N(pa), &a, 1, SAME_R0, "array counter");
	CHECK(r.err == 0 && r.r0 == 1, "array counter: err %d r0 %llu", r.err,
	      (unsigned long long)r.r0);
	r = run_all(pa, N(pa), &a, 1, SAME_R0, "array counter again");
	CHECK_U64(user_u64(a, 2), 2 * n_engines, "array counter read back");
	CHECK_U64(user_u64(a, 1), 0, "other element untouched");

	/* HASH: lookup, or insert 1 with update (BPF_NOEXIST) */
	struct bpf_insn ph[] = {
		BPF_ST_MEM(BPF_W, 10, -4, 7),
		BPF_LD_IMM64(1, MAPPTR(h)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_CALL_HELPER(1),
		BPF_JMP_IMM(BPF_JNE, 0, 0, 10),
		BPF_ST_MEM(BPF_DW, 10, -16, 1),
		BPF_LD_IMM64(1, MAPPTR(h)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -16),
		BPF_MOV64_IMM(4, BPFVM_NOEXIST),
		BPF_CALL_HELPER(2),
		BPF_EXIT_INSN(),			/* r0 = update's result */
		BPF_MOV64_IMM(1, 1),
		BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 0, 1, 0),
		BPF_MOV64_IMM(0, 100),
		BPF_EXIT_INSN(),
	};
	r = run_all(ph, N(ph), &h, 1, 0, "hash counter");
	CHECK(r.err == 0 && r.r0 == 0, "hash counter inserts first: err %d r0 %llu", r.err,
	      (unsigned long long)r.r0);
	r = run_all(ph, N(ph), &h, 1, SAME_R0, "hash counter again");
	CHECK(r.err == 0 && r.r0 == 100, "hash counter increments: r0 %llu",
	      (unsigned long long)r.r0);
	CHECK_U64(user_u64(h, 7), 2 * n_engines, "hash counter read back");

	/* update with BPF_NOEXIST on the existing key: -EEXIST; delete, then -ENOENT */
	struct bpf_insn pd[] = {
		BPF_ST_MEM(BPF_W, 10, -4, 7),
		BPF_ST_MEM(BPF_DW, 10, -16, 5),
		BPF_LD_IMM64(1, MAPPTR(h)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -16),
		BPF_MOV64_IMM(4, BPFVM_NOEXIST),
		BPF_CALL_HELPER(2),
		BPF_MOV64_REG(6, 0),
		BPF_LD_IMM64(1, MAPPTR(h)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_CALL_HELPER(3),
		BPF_MOV64_REG(7, 0),
		BPF_LD_IMM64(1, MAPPTR(h)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_CALL_HELPER(3),
		/* r0 = (-update) * 10000 + (-delete1) * 100 + (-delete2) */
		BPF_ALU64_IMM(BPF_MUL, 6, -10000),
		BPF_ALU64_IMM(BPF_MUL, 7, -100),
		BPF_ALU64_IMM(BPF_MUL, 0, -1),
		BPF_ALU64_REG(BPF_ADD, 0, 6),
		BPF_ALU64_REG(BPF_ADD, 0, 7),
		BPF_EXIT_INSN(),
	};
	/* interp: EEXIST, 0, ENOENT; later engines find no key: update inserts */
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .maps = &h, .map_cnt = 1, .no_jit = true };
	struct bpfvm_prog *p = bpfvm_prog__new(pd, N(pd), &po);
	CHECK(p != NULL, "delete program");
	if (p) {
		struct bpfvm_run_opts o = { .sz = sizeof(o), .engine = BPFVM_ENGINE_INTERP };
		CHECK(bpfvm_prog__run_opts(p, &o) == 0, "delete program runs");
		CHECK_U64(o.retval, EEXIST * 10000 + ENOENT, "update EEXIST, delete 0, delete ENOENT");
		bpfvm_prog__free(p);
	}
out:
	bpfvm_map__free(a);
	bpfvm_map__free(h);
}

/* Lookup, write through the pointer, out-of-bounds accesses, RDONLY_PROG. */
static void values(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "v", 4, 12, 8, NULL);
	struct bpfvm_map *hm = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "hv", 4, 12, 8, NULL);
	struct bpfvm_map *ro = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "ro", 4, 8, 2,
		&(struct bpfvm_map_create_opts){ .sz = sizeof(struct bpfvm_map_create_opts),
						 .map_flags = BPFVM_F_RDONLY_PROG });
	CHECK(a && hm && ro, "create value maps");
	if (!a || !hm || !ro)
		goto out;
	uint32_t k3 = 3;

	struct bpf_insn w[] = {
		LOOKUP_OR_EXIT(a, 3),
		BPF_ST_MEM(BPF_W, 0, 0, 0x11223344),
		BPF_ST_MEM(BPF_W, 0, 8, 0x55667788),
		BPF_LDX_MEM(BPF_W, 1, 0, 8),		/* read back through the pointer */
		BPF_LDX_MEM(BPF_W, 0, 0, 0),
		BPF_ALU64_REG(BPF_ADD, 0, 1),
		BPF_EXIT_INSN(),
	};
	struct res r = run_all(w, N(w), &a, 1, SAME_R0, "write through pointer");
	CHECK(r.err == 0, "write through pointer: %d", r.err);
	CHECK_U64(r.r0, 0x11223344ull + 0x55667788ull, "values read back in the program");
	uint8_t got[12];
	CHECK(bpfvm_map__lookup_elem(a, &k3, 4, got, sizeof(got), 0) == 0, "user lookup");
	uint32_t w0, w8;
	memcpy(&w0, got, 4);
	memcpy(&w8, got + 8, 4);
	CHECK(w0 == 0x11223344u && w8 == 0x55667788u, "writes visible from user space");

	/* A looked-up hash value is exactly [value, value + value_size): one byte past
	 * it or before it faults. */
	uint8_t hv12[12] = { 1 };
	CHECK(bpfvm_map__update_elem(hm, &k3, 4, hv12, sizeof(hv12), 0) == 0, "hash value");
	uint8_t *h3 = vm_map_lookup(hm, &k3);
	lookup_fault(hm, 3, BPF_LDX_MEM(BPF_B, 0, 0, 12), MAPPTR(h3) + 12, "read past value");
	lookup_fault(hm, 3, BPF_ST_MEM(BPF_W, 0, 9, 1), MAPPTR(h3) + 9, "write straddling the end");
	lookup_fault(hm, 3, BPF_LDX_MEM(BPF_B, 0, 0, -1), MAPPTR(h3) - 1, "read before value");

	/* An ARRAY bound to the program is a static region: all its values, from the
	 * first byte of element 0 to the last byte of the last element's value (8
	 * elements of 12 bytes, 16 apart: [values, values + 124)), whether looked up or
	 * not; a byte outside faults. */
	uint32_t k0 = 0;
	uint8_t *v0 = vm_map_lookup(a, &k0);
	struct bpf_insn ae[] = {
		LOOKUP_OR_EXIT(a, 3),
		BPF_LDX_MEM(BPF_B, 1, 0, 12),		/* element 3's padding */
		BPF_ST_MEM(BPF_W, 0, 16, 9),		/* element 4 */
		BPF_LDX_MEM(BPF_B, 1, 0, 124 - 48 - 1),	/* the last value byte */
		BPF_LDX_MEM(BPF_B, 1, 0, -48),		/* element 0 */
		BPF_MOV64_IMM(0, 1),
		BPF_EXIT_INSN(),
	};
	r = run_all(ae, N(ae), &a, 1, SAME_R0, "array: any element");
	CHECK(r.err == 0 && r.r0 == 1, "array: any element's bytes: err %d", r.err);
	uint32_t k4 = 4;
	uint8_t got4[12];
	CHECK(bpfvm_map__lookup_elem(a, &k4, 4, got4, sizeof(got4), 0) == 0 && got4[0] == 9,
	      "array: the store into element 4 is visible");
	lookup_fault(a, 3, BPF_LDX_MEM(BPF_B, 0, 0, 124 - 48), MAPPTR(v0) + 124,
		     "array: past the last value");
	lookup_fault(a, 7, BPF_ST_MEM(BPF_W, 0, 10, 1), MAPPTR(v0) + 122,
		     "array: straddling the end");
	lookup_fault(a, 0, BPF_LDX_MEM(BPF_B, 0, 0, -1), MAPPTR(v0) - 1,
		     "array: before the first value");
	/* the last byte and an atomic on the value are fine */
	struct bpf_insn lb[] = {
		LOOKUP_OR_EXIT(a, 3),
		BPF_MOV64_IMM(1, 5),
		BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, 0, 1, 0),
		BPF_LDX_MEM(BPF_B, 0, 0, 11),
		BPF_ALU64_REG(BPF_ADD, 0, 1),
		BPF_EXIT_INSN(),
	};
	r = run_all(lb, N(lb), &a, 1, 0, "last byte");
	CHECK(r.err == 0, "last byte and atomic: %d", r.err);

	/* a key that is out of range: NULL */
	struct bpf_insn nk[] = { LOOKUP_OR_EXIT(a, 8), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN() };
	r = run_all(nk, N(nk), &a, 1, SAME_R0, "key out of range");
	CHECK(r.err == 0 && r.r0 == 0, "key 8 of 8: NULL");

	/* BPFVM_F_RDONLY_PROG: reads work, writes fault */
	uint32_t k1 = 1;
	uint64_t seven = 7;
	CHECK(bpfvm_map__update_elem(ro, &k1, 4, &seven, 8, 0) == 0, "user update ro map");
	uint8_t *vro = vm_map_lookup(ro, &k1);
	struct bpf_insn rr[] = { LOOKUP_OR_EXIT(ro, 1), BPF_LDX_MEM(BPF_DW, 0, 0, 0), BPF_EXIT_INSN() };
	r = run_all(rr, N(rr), &ro, 1, SAME_R0, "read ro value");
	CHECK(r.err == 0 && r.r0 == 7, "read ro value: err %d r0 %llu", r.err,
	      (unsigned long long)r.r0);
	struct bpf_insn rw[] = { LOOKUP_OR_EXIT(ro, 1), BPF_ST_MEM(BPF_DW, 0, 0, 1), BPF_EXIT_INSN() };
	r = run_all(rw, N(rw), &ro, 1, SAME_R0, "write ro value");
	expect_fault(r, BPFVM_FAULT_WRITE, 9, MAPPTR(vro), 8, "write ro value");
	CHECK_U64(user_u64(ro, 1), 7, "ro value unchanged");

	/* a looked-up value is memory helpers accept: it is the key of the next lookup */
	uint8_t k5[12] = { 5 };
	CHECK(bpfvm_map__update_elem(a, &k1, 4, k5, sizeof(k5), 0) == 0, "value {5}");
	struct bpf_insn vk[] = {
		LOOKUP_OR_EXIT(a, 1),
		BPF_LD_IMM64(1, MAPPTR(a)),
		BPF_MOV64_REG(2, 0),
		BPF_CALL_HELPER(1),			/* lookup(a, &value) = lookup(a, 5) */
		BPF_JMP_IMM(BPF_JEQ, 0, 0, 1),
		BPF_MOV64_IMM(0, 1),
		BPF_EXIT_INSN(),
	};
	r = run_all(vk, N(vk), &a, 1, SAME_R0, "value as key");
	CHECK(r.err == 0 && r.r0 == 1, "value as key: err %d r0 %llu", r.err,
	      (unsigned long long)r.r0);
out:
	bpfvm_map__free(a);
	bpfvm_map__free(hm);
	bpfvm_map__free(ro);
}

/* Map pointers the program may not use, and key pointers it may not read. */
static void bad_args(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "a", 4, 8, 4, NULL);
	struct bpfvm_map *other = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "other", 4, 8, 4, NULL);
	struct bpfvm_map *q = bpfvm_map__create(BPFVM_MAP_TYPE_QUEUE, "q", 0, 8, 4, NULL);
	CHECK(a && other && q, "create maps");
	if (!a || !other || !q)
		goto out;
	static const uint64_t bogus[] = { 0, 0xdeadbeef, 0x1000, UINT64_MAX };
	for (size_t i = 0; i < N(bogus) + 2; i++) {
		uint64_t m = i < N(bogus) ? bogus[i] : i == N(bogus) ? MAPPTR(other) :
			     MAPPTR(a) + 8;
		/* r0 = lookup == NULL && update == -EINVAL && delete == -EINVAL &&
		 *      push == -EINVAL && pop == -EINVAL && reserve == NULL &&
		 *      output == -EINVAL && query == 0 */
		struct bpf_insn p[] = {
			BPF_ST_MEM(BPF_DW, 10, -8, 0),
			BPF_ST_MEM(BPF_DW, 10, -16, 0),
			BPF_MOV64_IMM(6, 0),
#define CALL_M(ID, WANT) \
			BPF_LD_IMM64(1, m), \
			BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -8), \
			BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -16), \
			BPF_MOV64_IMM(4, 0), \
			BPF_CALL_HELPER(ID), \
			BPF_JMP_IMM(BPF_JEQ, 0, WANT, 1), \
			BPF_ALU64_IMM(BPF_ADD, 6, 1)
			CALL_M(1, 0), CALL_M(2, -EINVAL), CALL_M(3, -EINVAL), CALL_M(87, -EINVAL),
			CALL_M(88, -EINVAL), CALL_M(89, -EINVAL), CALL_M(195, 0),
			CALL_M(130, -EINVAL), CALL_M(134, 0),
#undef CALL_M
			BPF_LD_IMM64(1, m), BPF_MOV64_IMM(2, 8), BPF_MOV64_IMM(3, 0),
			BPF_CALL_HELPER(131),
			BPF_ALU64_REG(BPF_ADD, 0, 6),
			BPF_EXIT_INSN(),
		};
		struct bpfvm_map *bound[] = { a, q };
		struct res r = run_all(p, N(p), bound, N(bound), SAME_R0, "bogus map");
		CHECK(r.err == 0 && r.r0 == 0, "map %#llx: %llu helpers misbehaved (err %d)",
		      (unsigned long long)m, (unsigned long long)r.r0, r.err);
	}
	/* a bound map with a key the program may not read: NULL / -EFAULT */
	static const uint64_t keys[] = { 0, 0x1000, UINT64_MAX - 2 };
	for (size_t i = 0; i < N(keys); i++) {
		struct bpf_insn p[] = {
			BPF_ST_MEM(BPF_DW, 10, -16, 0),
			BPF_LD_IMM64(1, MAPPTR(a)), BPF_LD_IMM64(2, keys[i]),
			BPF_CALL_HELPER(1),
			BPF_MOV64_REG(6, 0),
			BPF_LD_IMM64(1, MAPPTR(a)), BPF_LD_IMM64(2, keys[i]),
			BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -16),
			BPF_MOV64_IMM(4, 0),
			BPF_CALL_HELPER(2),
			BPF_ALU64_IMM(BPF_ADD, 0, EFAULT),	/* 0 if -EFAULT */
			BPF_ALU64_REG(BPF_OR, 0, 6),
			BPF_EXIT_INSN(),
		};
		struct res r = run_all(p, N(p), &a, 1, SAME_R0, "bad key");
		CHECK(r.err == 0 && r.r0 == 0, "key %#llx: r0 %#llx", (unsigned long long)keys[i],
		      (unsigned long long)r.r0);
	}
	/* a value pointer one byte too short for update: -EFAULT, nothing stored */
	struct bpf_insn sv[] = {
		BPF_ST_MEM(BPF_W, 10, -4, 1),
		BPF_LD_IMM64(1, MAPPTR(a)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_MOV64_REG(3, 10), BPF_ALU64_IMM(BPF_ADD, 3, -7),	/* 8 bytes from r10-7 */
		BPF_MOV64_IMM(4, 0),
		BPF_CALL_HELPER(2),
		BPF_EXIT_INSN(),
	};
	struct res r = run_all(sv, N(sv), &a, 1, SAME_R0, "short value");
	CHECK_U64(r.r0, (uint64_t)-EFAULT, "update from past the stack top");
	/* submit and discard of pointers that are not records: ignored */
	uint64_t before = user_u64(a, 0);
	struct bpf_insn sb[] = {
		LOOKUP_OR_EXIT(a, 0),
		BPF_MOV64_REG(6, 0),
		BPF_MOV64_REG(1, 6), BPF_MOV64_IMM(2, 0), BPF_CALL_HELPER(132),
		BPF_MOV64_REG(1, 6), BPF_ALU64_IMM(BPF_ADD, 1, 8), BPF_MOV64_IMM(2, 0),
		BPF_CALL_HELPER(133),
		BPF_MOV64_REG(1, 10), BPF_ALU64_IMM(BPF_ADD, 1, -8), BPF_MOV64_IMM(2, 0),
		BPF_CALL_HELPER(132),
		BPF_LD_IMM64(1, 0x12345678), BPF_MOV64_IMM(2, 0), BPF_CALL_HELPER(133),
		BPF_MOV64_IMM(0, 3),
		BPF_EXIT_INSN(),
	};
	r = run_all(sb, N(sb), &a, 1, SAME_R0, "submit non-records");
	CHECK(r.err == 0 && r.r0 == 3, "submit/discard of non-records ignored");
	CHECK_U64(user_u64(a, 0), before, "value untouched");
out:
	bpfvm_map__free(a);
	bpfvm_map__free(other);
	bpfvm_map__free(q);
}

/* push 10, 20, 30; pop three times; a fourth pop is -ENOENT; peek on empty too. */
static void queue_stack(enum bpfvm_map_type type, uint64_t want)
{
	struct bpfvm_map *q = bpfvm_map__create(type, "qs", 0, 8, 8, NULL);
	CHECK(q != NULL, "create queue/stack");
	if (!q)
		return;
#define PUSH(V) \
	BPF_ST_MEM(BPF_DW, 10, -8, V), \
	BPF_LD_IMM64(1, MAPPTR(q)), BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -8), \
	BPF_MOV64_IMM(3, 0), BPF_CALL_HELPER(87)
#define POP(ID, R) \
	BPF_LD_IMM64(1, MAPPTR(q)), BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -16), \
	BPF_CALL_HELPER(ID), BPF_MOV64_REG(9, 0), BPF_LDX_MEM(BPF_DW, R, 10, -16)
	struct bpf_insn p[] = {
		PUSH(10), PUSH(20), PUSH(30),
		POP(89, 8),			/* peek */
		POP(88, 6), POP(88, 7),
		BPF_ALU64_IMM(BPF_MUL, 6, 100),
		BPF_ALU64_REG(BPF_ADD, 6, 7),
		BPF_ALU64_IMM(BPF_MUL, 6, 100),
		POP(88, 7),
		BPF_ALU64_REG(BPF_ADD, 6, 7),
		BPF_ALU64_IMM(BPF_MUL, 6, 100),
		BPF_ALU64_REG(BPF_ADD, 6, 8),	/* the peeked one */
		POP(88, 7),
		BPF_JMP_IMM(BPF_JEQ, 9, -ENOENT, 2),
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN(),
		POP(89, 7),
		BPF_JMP_IMM(BPF_JEQ, 9, -ENOENT, 2),
		BPF_MOV64_IMM(0, 1),
		BPF_EXIT_INSN(),
		BPF_MOV64_REG(0, 6),
		BPF_EXIT_INSN(),
	};
#undef PUSH
#undef POP
	struct res r = run_all(p, N(p), &q, 1, SAME_R0, "queue/stack");
	CHECK(r.err == 0, "queue/stack run: %d", r.err);
	CHECK_U64(r.r0, want, "pop order (map type %d)", (int)type);
	bpfvm_map__free(q);
}

/* bpf_get_smp_processor_id + bpf_map_lookup_percpu_elem on this thread's slot. */
static void percpu(void)
{
	int ncpu = bpfvm_num_cpu_slots();
	struct bpfvm_map *m = bpfvm_map__create(BPFVM_MAP_TYPE_PERCPU_ARRAY, "pc", 4, 8, 2, NULL);
	CHECK(m != NULL && ncpu > 0, "create per-CPU array");
	if (!m || ncpu <= 0)
		return;
	struct bpf_insn p[] = {
		BPF_CALL_HELPER(8),
		BPF_MOV64_REG(6, 0),
		LOOKUP_OR_EXIT(m, 1),
		BPF_MOV64_REG(7, 0),
		BPF_LD_IMM64(1, MAPPTR(m)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_MOV64_REG(3, 6),
		BPF_CALL_HELPER(195),
		BPF_JMP_REG(BPF_JEQ, 0, 7, 2),	/* the slot lookup uses */
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN(),
		BPF_LDX_MEM(BPF_DW, 1, 0, 0),
		BPF_ALU64_IMM(BPF_ADD, 1, 1),
		BPF_STX_MEM(BPF_DW, 0, 1, 0),
		/* slot ncpu does not exist: NULL */
		BPF_LD_IMM64(1, MAPPTR(m)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_MOV64_IMM(3, ncpu),
		BPF_CALL_HELPER(195),
		BPF_JMP_IMM(BPF_JEQ, 0, 0, 2),
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN(),
		BPF_MOV64_REG(0, 6),
		BPF_ALU64_IMM(BPF_ADD, 0, 1),
		BPF_EXIT_INSN(),
	};
	struct res r = run_all(p, N(p), &m, 1, SAME_R0, "percpu");
	int slot = vm_cpu_slot();
	CHECK(r.err == 0 && r.r0 == (uint64_t)slot + 1, "percpu: err %d r0 %llu, slot %d", r.err,
	      (unsigned long long)r.r0, slot);
	uint64_t *all = calloc((size_t)ncpu, 8);
	uint32_t k1 = 1;
	CHECK(bpfvm_map__lookup_elem(m, &k1, 4, all, (size_t)ncpu * 8, 0) == 0, "user lookup");
	for (int c = 0; c < ncpu; c++)
		CHECK_U64(all[c], c == slot ? (uint64_t)n_engines : 0, "slot %d", c);
	free(all);
	bpfvm_map__free(m);
}

/* ---- Ring buffer ------------------------------------------------------------------- */

struct rec_log {
	int n;
	size_t size[8];
	uint64_t first[8];
};

static int rec_cb(void *ctx, void *data, size_t size)
{
	struct rec_log *l = ctx;
	if (l->n < 8) {
		l->size[l->n] = size;
		l->first[l->n] = 0;
		memcpy(&l->first[l->n], data, size < 8 ? size : 8);
	}
	l->n++;
	return 0;
}

static void ringbuf(void)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	struct bpfvm_map *rb = bpfvm_map__create(BPFVM_MAP_TYPE_RINGBUF, "rb", 0, 0, page, NULL);
	struct rec_log log = { 0 };
	struct bpfvm_ring_buffer *c = rb ? bpfvm_ring_buffer__new(rb, rec_cb, &log) : NULL;
	CHECK(rb && c, "create ring buffer and consumer");
	if (!rb || !c)
		goto out;
	/* reserve 16, write, submit; reserve 8, discard; output 8 from the stack */
	struct bpf_insn p[] = {
		BPF_LD_IMM64(1, MAPPTR(rb)), BPF_MOV64_IMM(2, 16), BPF_MOV64_IMM(3, 0),
		BPF_CALL_HELPER(131),
		BPF_JMP_IMM(BPF_JNE, 0, 0, 2), BPF_MOV64_IMM(0, 100), BPF_EXIT_INSN(),
		BPF_MOV64_REG(6, 0),
		BPF_ST_MEM(BPF_DW, 6, 0, 0xabc),
		BPF_ST_MEM(BPF_DW, 6, 8, 0xdef),
		BPF_MOV64_REG(1, 6), BPF_MOV64_IMM(2, 0), BPF_CALL_HELPER(132),
		BPF_LD_IMM64(1, MAPPTR(rb)), BPF_MOV64_IMM(2, 8), BPF_MOV64_IMM(3, 0),
		BPF_CALL_HELPER(131),
		BPF_JMP_IMM(BPF_JNE, 0, 0, 2), BPF_MOV64_IMM(0, 200), BPF_EXIT_INSN(),
		BPF_ST_MEM(BPF_DW, 0, 0, 0x999),
		BPF_MOV64_REG(1, 0), BPF_MOV64_IMM(2, 0), BPF_CALL_HELPER(133),
		BPF_ST_MEM(BPF_DW, 10, -8, 0x77),
		BPF_LD_IMM64(1, MAPPTR(rb)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -8),
		BPF_MOV64_IMM(3, 8), BPF_MOV64_IMM(4, 0),
		BPF_CALL_HELPER(130),
		BPF_MOV64_REG(7, 0),
		/* query: the ring's size */
		BPF_LD_IMM64(1, MAPPTR(rb)), BPF_MOV64_IMM(2, VM_RB_RING_SIZE),
		BPF_CALL_HELPER(134),
		BPF_ALU64_REG(BPF_ADD, 0, 7),
		BPF_EXIT_INSN(),
	};
	struct res r = run_all(p, N(p), &rb, 1, SAME_R0, "ringbuf");
	CHECK(r.err == 0 && r.r0 == page, "ringbuf: err %d r0 %llu", r.err,
	      (unsigned long long)r.r0);
	int n = bpfvm_ring_buffer__consume(c);
	CHECK(n == 2 * n_engines && log.n == 2 * n_engines, "consumed %d (log %d), expected %d",
	      n, log.n, 2 * n_engines);
	for (int i = 0; i < log.n && i < 8; i++) {
		CHECK_U64(log.size[i], i % 2 ? 8 : 16, "record %d size", i);
		CHECK_U64(log.first[i], i % 2 ? 0x77 : 0xabc, "record %d data", i);
	}

	/* writing one byte past a reserved record faults; the record is discarded at
	 * the end of the run, so the ring does not stall */
	struct bpf_insn past[] = {
		BPF_LD_IMM64(1, MAPPTR(rb)), BPF_MOV64_IMM(2, 12), BPF_MOV64_IMM(3, 0),
		BPF_CALL_HELPER(131),
		BPF_JMP_IMM(BPF_JNE, 0, 0, 1), BPF_EXIT_INSN(),
		BPF_ST_MEM(BPF_W, 0, 8, 1),		/* the last 4 bytes: fine */
		BPF_ST_MEM(BPF_B, 0, 12, 1),		/* insn 8: one past */
		BPF_EXIT_INSN(),
	};
	r = run_all(past, N(past), &rb, 1, ADDR_VARIES, "write past record");
	CHECK(r.err == -EFAULT && r.fault.kind == BPFVM_FAULT_WRITE && r.fault.insn == 8 &&
	      r.fault.size == 1, "write past record: err %d kind %d insn %u", r.err,
	      (int)r.fault.kind, r.fault.insn);
	/* after submit the record is no longer the program's */
	struct bpf_insn after[] = {
		BPF_LD_IMM64(1, MAPPTR(rb)), BPF_MOV64_IMM(2, 8), BPF_MOV64_IMM(3, 0),
		BPF_CALL_HELPER(131),
		BPF_JMP_IMM(BPF_JNE, 0, 0, 1), BPF_EXIT_INSN(),
		BPF_MOV64_REG(6, 0),
		BPF_ST_MEM(BPF_DW, 6, 0, 0x55),
		BPF_MOV64_REG(1, 6), BPF_MOV64_IMM(2, 0), BPF_CALL_HELPER(132),
		BPF_ST_MEM(BPF_DW, 6, 0, 0x66),		/* insn 12: faults */
		BPF_EXIT_INSN(),
	};
	r = run_all(after, N(after), &rb, 1, ADDR_VARIES, "write after submit");
	CHECK(r.err == -EFAULT && r.fault.kind == BPFVM_FAULT_WRITE && r.fault.insn == 12,
	      "write after submit: err %d kind %d insn %u", r.err, (int)r.fault.kind, r.fault.insn);
	log.n = 0;
	n = bpfvm_ring_buffer__consume(c);
	CHECK(n == n_engines && log.n == n_engines, "only the submitted records: %d", n);
	for (int i = 0; i < log.n && i < 8; i++)
		CHECK_U64(log.first[i], 0x55, "submitted before the fault");
	/* and the ring still works */
	log.n = 0;
	r = run_all(p, N(p), &rb, 1, SAME_R0, "ringbuf again");
	CHECK(r.err == 0 && r.r0 == page, "ringbuf again: r0 %llu", (unsigned long long)r.r0);
	CHECK(bpfvm_ring_buffer__consume(c) == 2 * n_engines, "ring not stalled");
out:
	bpfvm_ring_buffer__free(c);
	bpfvm_map__free(rb);
}

/* The dynamic table keeps VM_DYN_REGIONS value regions (of maps other than
 * arrays, whose values are static regions): after that many other lookups the
 * first pointer is no longer accessible (and faults); one fewer and it still is. */
static void table_limit(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "big", 4, 8, 200, NULL);
	CHECK(a != NULL, "create hash");
	if (!a)
		return;
	for (uint32_t k = 0; k < 200; k++) {
		uint64_t v = k;
		CHECK(bpfvm_map__update_elem(a, &k, 4, &v, 8, 0) == 0, "insert %u", k);
	}
	uint32_t k0 = 0;
	uint8_t *v0 = vm_map_lookup(a, &k0);
	for (int others = VM_DYN_REGIONS - 1; others <= VM_DYN_REGIONS; others++) {
		struct bpf_insn p[] = {
			LOOKUP_OR_EXIT(a, 0),
			BPF_MOV64_REG(7, 0),
			BPF_MOV64_IMM(8, 1),
			/* loop: lookup keys 1..others (the same key twice adds nothing) */
			BPF_STX_MEM(BPF_W, 10, 8, -4),
			BPF_LD_IMM64(1, MAPPTR(a)),
			BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
			BPF_CALL_HELPER(1),
			BPF_LD_IMM64(1, MAPPTR(a)),
			BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
			BPF_CALL_HELPER(1),
			BPF_ALU64_IMM(BPF_ADD, 8, 1),
			BPF_JMP_IMM(BPF_JLE, 8, others, -13),
			BPF_LDX_MEM(BPF_DW, 0, 7, 0),	/* insn 24 */
			BPF_EXIT_INSN(),
		};
		struct res r = run_all(p, N(p), &a, 1, SAME_R0, "table limit");
		if (others < VM_DYN_REGIONS)
			CHECK(r.err == 0, "%d other lookups: first value still accessible (%d)", others,
			      r.err);
		else
			expect_fault(r, BPFVM_FAULT_READ, 24, MAPPTR(v0), 8, "oldest value replaced");
	}
	bpfvm_map__free(a);
}

/* A program keeps its maps alive; bad bindings are refused. */
static void lifetime(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "life", 4, 8, 1, NULL);
	CHECK(a != NULL, "create");
	if (!a)
		return;
	struct bpf_insn p[] = {
		LOOKUP_OR_EXIT(a, 0),
		BPF_ST_MEM(BPF_DW, 0, 0, 42),
		BPF_LDX_MEM(BPF_DW, 0, 0, 0),
		BPF_EXIT_INSN(),
	};
	struct bpfvm_map *twice[] = { a, a };
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .maps = twice, .map_cnt = 2 };
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), &po);
	CHECK(prog != NULL, "bound twice");
	bpfvm_map__free(a);			/* the program's reference remains */
	if (prog) {
		struct bpfvm_run_opts o = { .sz = sizeof(o) };
		CHECK(bpfvm_prog__run_opts(prog, &o) == 0 && o.retval == 42, "map alive");
		bpfvm_prog__free(prog);
	}
	struct bpfvm_prog_opts bad = { .sz = sizeof(bad), .map_cnt = 1 };
	errno = 0;
	CHECK(bpfvm_prog__new(p, N(p), &bad) == NULL && errno == EINVAL, "map_cnt without maps");
	struct bpfvm_map *none[] = { NULL };
	bad.maps = none;
	errno = 0;
	CHECK(bpfvm_prog__new(p, N(p), &bad) == NULL && errno == EINVAL, "NULL map");
	/* opts from before the field existed: no maps */
	struct bpfvm_prog_opts old = { .sz = offsetof(struct bpfvm_prog_opts, maps) };
	struct bpfvm_prog *q = bpfvm_prog__new(p, N(p), &old);
	CHECK(q != NULL, "old opts");
	bpfvm_prog__free(q);
}

/* The JIT inlines bpf_map_lookup_elem on a bound ARRAY with the key on the stack
 * (r2 = r10 + off, off in [-512, -4]); every other lookup calls the helper. Both
 * must give what the interpreter gives, for every key. */
static void inlined(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "il", 4, 24, 5, NULL);
	struct bpfvm_map *h = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "ih", 4, 24, 5, NULL);
	CHECK(a && h, "create maps");
	if (!a || !h)
		goto out;
	for (uint32_t k = 0; k < 5; k++) {
		uint8_t v[24] = { (uint8_t)(10 + k) };
		CHECK(bpfvm_map__update_elem(a, &k, 4, v, 24, 0) == 0 &&
		      bpfvm_map__update_elem(h, &k, 4, v, 24, 0) == 0, "fill %u", k);
	}
	struct { struct bpfvm_map *m; int16_t off; int32_t key; size_t want_inl; uint64_t r0; } c[] = {
		{ a, -4, 3, 1, 13 },		/* element 3: its first byte */
		{ a, -512, 0, 1, 10 },		/* the frame's lowest word */
		{ a, -8, 4, 1, 14 },		/* the last element */
		{ a, -4, 5, 1, 0 },		/* one past: NULL */
		{ a, -4, -1, 1, 0 },		/* 0xffffffff: NULL */
		{ a, -2, 3, 0, 0 },		/* the key runs past the frame: the helper, NULL */
		{ h, -4, 3, 0, 13 },		/* a hash: the helper */
	};
	for (size_t k = 0; k < N(c); k++) {
		/* *(u32 *)(r10 + off) = key (two stores when it straddles the top) */
		struct bpf_insn p[] = {
			BPF_ST_MEM(BPF_W, 10, c[k].off < -4 ? c[k].off : -4, c[k].key),
			BPF_ST_MEM(BPF_W, 10, -8, c[k].key),
			BPF_LD_IMM64(1, MAPPTR(c[k].m)),
			BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, c[k].off),
			BPF_CALL_HELPER(1),
			BPF_JMP_IMM(BPF_JEQ, 0, 0, 1),
			BPF_LDX_MEM(BPF_B, 0, 0, 0),
			BPF_EXIT_INSN(),
		};
		char what[64];
		snprintf(what, sizeof(what), "lookup case %zu", k);
		struct res r = run_all(p, N(p), &c[k].m, 1, SAME_R0, what);
		CHECK(r.err == 0 && r.r0 == c[k].r0, "%s: err %d r0 %llu, want %llu", what, r.err,
		      (unsigned long long)r.r0, (unsigned long long)c[k].r0);
		struct bpfvm_prog_opts po = { .sz = sizeof(po), .maps = &c[k].m, .map_cnt = 1 };
		struct bpfvm_prog *pr = bpfvm_prog__new(p, N(p), &po);
		if (pr && pr->jit) {
			CHECK_U64(jit_inlined_calls(pr->jit), c[k].want_inl, "%s: inlined", what);
			/* r1 = map, r2 = r10, r2 += off: no code when inlined */
			CHECK_U64(jit_folded_insns(pr->jit), 3 * c[k].want_inl, "%s: dead set-up",
				  what);
		}
		bpfvm_prog__free(pr);
	}
	/* PERCPU_ARRAY: this thread's CPU slot's value (each slot's value differs) */
	struct bpfvm_map *pa = bpfvm_map__create(BPFVM_MAP_TYPE_PERCPU_ARRAY, "ipa", 4, 16, 5, NULL);
	int slots = bpfvm_num_cpu_slots();
	CHECK(pa != NULL, "create percpu array");
	uint8_t *all = calloc((size_t)slots, 16);
	for (uint32_t k = 0; pa && all && k < 5; k++) {
		for (int cpu = 0; cpu < slots; cpu++)
			all[16 * cpu] = (uint8_t)(100 + 10 * cpu + k);
		CHECK(bpfvm_map__update_elem(pa, &k, 4, all, (size_t)16 * (size_t)slots, 0) == 0,
		      "percpu fill %u", k);
	}
	free(all);
	for (int32_t key = 0; pa && key <= 5; key++) {
		struct bpf_insn p[] = {
			BPF_ST_MEM(BPF_W, 10, -4, key),
			BPF_LD_IMM64(1, MAPPTR(pa)),
			BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
			BPF_CALL_HELPER(1),
			BPF_JMP_IMM(BPF_JEQ, 0, 0, 1),
			BPF_LDX_MEM(BPF_B, 0, 0, 0),
			BPF_EXIT_INSN(),
		};
		char what[64];
		snprintf(what, sizeof(what), "percpu lookup of %d", key);
		struct res r = run_all(p, N(p), &pa, 1, SAME_R0, what);
		uint64_t want = key < 5 ? (uint64_t)(100 + 10 * vm_cpu_slot() + key) : 0;
		CHECK(r.err == 0 && r.r0 == want, "%s: err %d r0 %llu, want %llu", what, r.err,
		      (unsigned long long)r.r0, (unsigned long long)want);
		struct bpfvm_prog_opts po = { .sz = sizeof(po), .maps = &pa, .map_cnt = 1 };
		struct bpfvm_prog *pr = bpfvm_prog__new(p, N(p), &po);
		if (pr && pr->jit)
			CHECK_U64(jit_inlined_calls(pr->jit), 1, "%s: inlined", what);
		bpfvm_prog__free(pr);
	}
	bpfvm_map__free(pa);

	/* a map that is not bound: no inlining, the helper's NULL */
	struct bpf_insn nb[] = {
		BPF_ST_MEM(BPF_W, 10, -4, 1),
		BPF_LD_IMM64(1, MAPPTR(a)),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_CALL_HELPER(1),
		BPF_EXIT_INSN(),
	};
	struct res r = run_all(nb, N(nb), &h, 1, SAME_R0, "unbound array");
	CHECK(r.err == 0 && r.r0 == 0, "unbound array: NULL (err %d)", r.err);
out:
	bpfvm_map__free(a);
	bpfvm_map__free(h);
}

int main(void)
{
	for (size_t e = 0; e < N(engines); e++)
		n_engines += bpfvm_engine_available(engines[e]);
	counters();
	values();
	bad_args();
	queue_stack(BPFVM_MAP_TYPE_QUEUE, 102030 * 100 + 10);
	queue_stack(BPFVM_MAP_TYPE_STACK, 302010 * 100 + 30);
	percpu();
	ringbuf();
	table_limit();
	lifetime();
	inlined();
	return test_summary();
}
