/*
 * test_interp.c — unit tests of the interpreter (src/interp.c), through the public
 * API: programs built with the insn.h macros, created with bpfvm_prog__new() and run
 * with bpfvm_prog__run_opts() on BOTH dispatch modes (computed goto and switch);
 * every case runs on both. Expectations are computed by hand.
 *
 * Covers: ALU/ALU64 corner cases (division and modulo by zero, INT_MIN / -1,
 * masked shifts, zero-extension of every 32-bit op, movsx, neg, arsh, byte swaps),
 * every jump condition in JMP and JMP32 forms, gotol with a large offset, loads
 * (zero- and sign-extending, unaligned), stores, lddw, every atomic in 32 and 64
 * bits, each fault kind with its exact instruction, address and size, local calls
 * (deep recursion, callee-saved registers, separate frames, pointers into the
 * caller's frame, the depth limit), helpers (local, stop, callx, nested runs), the
 * instruction budget and count, and concurrent runs of one program.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "testlog.h"
#include "testutil.h"

/* Every case runs on every engine: the interpreter's two dispatchers and the JIT,
 * all held to the same hand-computed expectations. */
#define NENG 3
static const enum bpfvm_engine engines[NENG] = { BPFVM_ENGINE_INTERP,
						 BPFVM_ENGINE_INTERP_SWITCH, BPFVM_ENGINE_JIT };
static const char *const engine_names[NENG] = { "goto", "switch", "jit" };

/* An array literal of instructions and its length, as two function arguments. */
#define PROG(...) ((const struct bpf_insn[]){ __VA_ARGS__ }), \
	(sizeof((const struct bpf_insn[]){ __VA_ARGS__ }) / sizeof(struct bpf_insn))

/* Forms without a builder macro in insn.h */
#define SDIV64_REG(D, S)	BPFVM_INSN(BPF_ALU64 | BPF_DIV | BPF_X, D, S, 1, 0)
#define SDIV64_IMM(D, I)	BPFVM_INSN(BPF_ALU64 | BPF_DIV | BPF_K, D, 0, 1, I)
#define SMOD64_REG(D, S)	BPFVM_INSN(BPF_ALU64 | BPF_MOD | BPF_X, D, S, 1, 0)
#define SMOD64_IMM(D, I)	BPFVM_INSN(BPF_ALU64 | BPF_MOD | BPF_K, D, 0, 1, I)
#define SDIV32_REG(D, S)	BPFVM_INSN(BPF_ALU | BPF_DIV | BPF_X, D, S, 1, 0)
#define SDIV32_IMM(D, I)	BPFVM_INSN(BPF_ALU | BPF_DIV | BPF_K, D, 0, 1, I)
#define SMOD32_REG(D, S)	BPFVM_INSN(BPF_ALU | BPF_MOD | BPF_X, D, S, 1, 0)
#define SMOD32_IMM(D, I)	BPFVM_INSN(BPF_ALU | BPF_MOD | BPF_K, D, 0, 1, I)
#define MOVSX64(D, S, W)	BPFVM_INSN(BPF_ALU64 | BPF_MOV | BPF_X, D, S, W, 0)
#define MOVSX32(D, S, W)	BPFVM_INSN(BPF_ALU | BPF_MOV | BPF_X, D, S, W, 0)
#define NEG64(D)		BPFVM_INSN(BPF_ALU64 | BPF_NEG, D, 0, 0, 0)
#define NEG32(D)		BPFVM_INSN(BPF_ALU | BPF_NEG, D, 0, 0, 0)
#define LE(D, W)		BPFVM_INSN(BPF_ALU | BPF_END | BPF_TO_LE, D, 0, 0, W)
#define BE(D, W)		BPFVM_INSN(BPF_ALU | BPF_END | BPF_TO_BE, D, 0, 0, W)
#define BSWAP(D, W)		BPFVM_INSN(BPF_ALU64 | BPF_END | BPF_TO_LE, D, 0, 0, W)
#define CALLX(D)		BPFVM_INSN(BPF_JMP | BPF_CALL | BPF_X, D, 0, 0, 0)

#define H32 0xAAAAAAAA00000000ull	/* garbage in the high half of 32-bit operands */

#define ID_ARGS		(BPFVM_HELPER_USER_BASE + 0x101)
#define ID_STOP		(BPFVM_HELPER_USER_BASE + 0x102)
#define ID_NESTED	(BPFVM_HELPER_USER_BASE + 0x103)

/* ---- Harness ------------------------------------------------------------------------ */

static struct bpfvm_prog *mkprog(int line, const char *name, const struct bpf_insn *insns,
				 size_t cnt, const struct bpfvm_prog_opts *opts)
{
	test_log_clear();
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, opts);
	CHECK(p != NULL, "line %d: %s: bpfvm_prog__new: %s", line, name, test_log_last());
	return p;
}

static int run_on(struct bpfvm_prog *p, int e, void *mem, size_t len,
		  const struct bpfvm_region *regs, size_t nregs, uint64_t budget,
		  struct bpfvm_run_opts *o)
{
	*o = (struct bpfvm_run_opts){ .sz = sizeof(*o), .mem = mem, .mem_len = len,
				      .regions = regs, .region_cnt = nregs,
				      .engine = engines[e], .budget = budget };
	return bpfvm_prog__run_opts(p, o);
}

/* Runs the program on both engines with a fresh copy of mem_in each time; checks
 * rc 0, r0 and (when mem_out is set) the memory afterwards. */
static void expect_mem(int line, const char *name, const struct bpf_insn *insns, size_t cnt,
		       const void *mem_in, size_t len, const void *mem_out, uint64_t r0)
{
	struct bpfvm_prog *p = mkprog(line, name, insns, cnt, NULL);
	if (!p)
		return;
	for (int e = 0; e < NENG; e++) {
		uint8_t *buf = malloc(len ? len : 1);
		if (len)
			memcpy(buf, mem_in, len);
		struct bpfvm_run_opts o;
		int rc = run_on(p, e, len ? buf : NULL, len, NULL, 0, 0, &o);
		CHECK_U64(rc, 0, "line %d: %s [%s]: fault kind %d at insn %u", line, name,
			  engine_names[e], o.fault.kind, o.fault.insn);
		CHECK_U64(o.retval, r0, "line %d: %s [%s]", line, name, engine_names[e]);
		if (mem_out)
			for (size_t i = 0; i < len; i++)
				CHECK_U64(buf[i], ((const uint8_t *)mem_out)[i],
					  "line %d: %s [%s]: mem[%zu]", line, name,
					  engine_names[e], i);
		free(buf);
	}
	bpfvm_prog__free(p);
}
#define T(NAME, R0, ...) expect_mem(__LINE__, NAME, PROG(__VA_ARGS__), NULL, 0, NULL, R0)
#define TM(NAME, MEM, R0, ...) \
	expect_mem(__LINE__, NAME, PROG(__VA_ARGS__), MEM, sizeof(MEM), NULL, R0)
#define TMM(NAME, MEM, MEMOUT, R0, ...) \
	expect_mem(__LINE__, NAME, PROG(__VA_ARGS__), MEM, sizeof(MEM), MEMOUT, R0)

static int fault_errno(enum bpfvm_fault_kind k)
{
	switch (k) {
	case BPFVM_FAULT_READ:
	case BPFVM_FAULT_WRITE: return -EFAULT;
	case BPFVM_FAULT_BUDGET: return -ETIME;
	case BPFVM_FAULT_CALL_DEPTH: return -E2BIG;
	case BPFVM_FAULT_BAD_CALL: return -EINVAL;
	case BPFVM_FAULT_UNSUPPORTED: return -EOPNOTSUPP;
	default: return 0;
	}
}

/* Checks a faulted run: errno, kind, instruction, address and size, and that the
 * description names the instruction. */
static void check_fault(int line, const char *name, int e, int rc,
			const struct bpfvm_run_opts *o, enum bpfvm_fault_kind kind,
			uint32_t insn, uint64_t addr, uint32_t size)
{
	char buf[256], needle[32];
	CHECK_U64((int64_t)rc, (int64_t)fault_errno(kind), "line %d: %s [%s]: rc", line, name,
		  engine_names[e]);
	CHECK_U64(o->fault.kind, kind, "line %d: %s [%s]: fault kind", line, name,
		  engine_names[e]);
	CHECK_U64(o->fault.insn, insn, "line %d: %s [%s]: fault insn", line, name,
		  engine_names[e]);
	CHECK_U64(o->fault.addr, addr, "line %d: %s [%s]: fault addr", line, name,
		  engine_names[e]);
	CHECK_U64(o->fault.size, size, "line %d: %s [%s]: fault size", line, name,
		  engine_names[e]);
	bpfvm_fault__str(&o->fault, buf, sizeof(buf));
	snprintf(needle, sizeof(needle), "insn %u", insn);
	CHECK_CONTAINS(buf, needle, "line %d: %s [%s]: fault string", line, name,
		       engine_names[e]);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* ---- ALU ------------------------------------------------------------------------------ */

struct alu_case {
	const char *name;
	struct bpf_insn op;	/* dst r0, src r1 */
	uint64_t dst, src, expect;
};

static const struct alu_case alu_cases[] = {
	/* 64-bit */
	{ "add64 reg wraps", BPF_ALU64_REG(BPF_ADD, 0, 1), 0xFFFFFFFFFFFFFFFF, 2, 1 },
	{ "add64 imm sign-extends", BPF_ALU64_IMM(BPF_ADD, 0, -1), 0, 0, 0xFFFFFFFFFFFFFFFF },
	{ "sub64 reg", BPF_ALU64_REG(BPF_SUB, 0, 1), 0, 1, 0xFFFFFFFFFFFFFFFF },
	{ "sub64 imm negative", BPF_ALU64_IMM(BPF_SUB, 0, -2), 5, 0, 7 },
	{ "mul64 reg wraps", BPF_ALU64_REG(BPF_MUL, 0, 1), 0x100000000, 0x100000000, 0 },
	{ "mul64 imm negative", BPF_ALU64_IMM(BPF_MUL, 0, -2), 3, 0, 0xFFFFFFFFFFFFFFFA },
	{ "div64 reg", BPF_ALU64_REG(BPF_DIV, 0, 1), 100, 7, 14 },
	{ "div64 reg unsigned", BPF_ALU64_REG(BPF_DIV, 0, 1), 0x8000000000000000, 2,
	  0x4000000000000000 },
	{ "div64 reg by zero", BPF_ALU64_REG(BPF_DIV, 0, 1), 100, 0, 0 },
	{ "div64 imm by zero", BPF_ALU64_IMM(BPF_DIV, 0, 0), 100, 0, 0 },
	{ "div64 imm -10 is 2^64-10", BPF_ALU64_IMM(BPF_DIV, 0, -10), 0xFFFFFFFFFFFFFFFF, 0, 1 },
	{ "div64 imm -10 small dst", BPF_ALU64_IMM(BPF_DIV, 0, -10), 0xFFFFFFFF, 0, 0 },
	{ "mod64 reg", BPF_ALU64_REG(BPF_MOD, 0, 1), 100, 7, 2 },
	{ "mod64 reg by zero keeps dst", BPF_ALU64_REG(BPF_MOD, 0, 1), 0xDEADBEEF12345678, 0,
	  0xDEADBEEF12345678 },
	{ "mod64 imm by zero keeps dst", BPF_ALU64_IMM(BPF_MOD, 0, 0), 0xDEADBEEF12345678, 0,
	  0xDEADBEEF12345678 },
	{ "mod64 imm -10 is 2^64-10", BPF_ALU64_IMM(BPF_MOD, 0, -10), 0xFFFFFFFFFFFFFFFF, 0, 9 },
	{ "sdiv64 reg", SDIV64_REG(0, 1), (uint64_t)-7, 2, (uint64_t)-3 },
	{ "sdiv64 reg neg by neg", SDIV64_REG(0, 1), (uint64_t)-8, (uint64_t)-2, 4 },
	{ "sdiv64 imm", SDIV64_IMM(0, -3), 9, 0, (uint64_t)-3 },
	{ "sdiv64 reg INT64_MIN / -1", SDIV64_REG(0, 1), 0x8000000000000000, (uint64_t)-1,
	  0x8000000000000000 },
	{ "sdiv64 imm INT64_MIN / -1", SDIV64_IMM(0, -1), 0x8000000000000000, 0,
	  0x8000000000000000 },
	{ "sdiv64 reg by -1", SDIV64_REG(0, 1), 5, (uint64_t)-1, (uint64_t)-5 },
	{ "sdiv64 reg by zero", SDIV64_REG(0, 1), (uint64_t)-7, 0, 0 },
	{ "sdiv64 imm by zero", SDIV64_IMM(0, 0), (uint64_t)-7, 0, 0 },
	{ "smod64 reg neg by pos", SMOD64_REG(0, 1), (uint64_t)-7, 2, (uint64_t)-1 },
	{ "smod64 reg pos by neg", SMOD64_REG(0, 1), 7, (uint64_t)-2, 1 },
	{ "smod64 imm neg by neg", SMOD64_IMM(0, -3), (uint64_t)-7, 0, (uint64_t)-1 },
	{ "smod64 reg INT64_MIN % -1", SMOD64_REG(0, 1), 0x8000000000000000, (uint64_t)-1, 0 },
	{ "smod64 imm INT64_MIN % -1", SMOD64_IMM(0, -1), 0x8000000000000000, 0, 0 },
	{ "smod64 reg by zero keeps dst", SMOD64_REG(0, 1), (uint64_t)-7, 0, (uint64_t)-7 },
	{ "smod64 imm by zero keeps dst", SMOD64_IMM(0, 0), (uint64_t)-7, 0, (uint64_t)-7 },
	{ "or64 reg", BPF_ALU64_REG(BPF_OR, 0, 1), 0xF0F0, 0x0F0F00000000, 0x0F0F0000F0F0 },
	{ "or64 imm sign-extends", BPF_ALU64_IMM(BPF_OR, 0, INT32_MIN), 1, 0,
	  0xFFFFFFFF80000001 },
	{ "and64 reg", BPF_ALU64_REG(BPF_AND, 0, 1), 0xFF00FF00FF00FF00, 0x0FF00FF00FF00FF0,
	  0x0F000F000F000F00 },
	{ "and64 imm -1 keeps all", BPF_ALU64_IMM(BPF_AND, 0, -1), 0x123456789ABCDEF0, 0,
	  0x123456789ABCDEF0 },
	{ "xor64 reg", BPF_ALU64_REG(BPF_XOR, 0, 1), 0xFFFF0000FFFF0000, 0xFF00FF00FF00FF00,
	  0x00FFFF0000FFFF00 },
	{ "xor64 imm", BPF_ALU64_IMM(BPF_XOR, 0, 0x0F), 0xFF, 0, 0xF0 },
	{ "lsh64 reg 63", BPF_ALU64_REG(BPF_LSH, 0, 1), 1, 63, 0x8000000000000000 },
	{ "lsh64 reg 64 masks to 0", BPF_ALU64_REG(BPF_LSH, 0, 1), 0x1234, 64, 0x1234 },
	{ "lsh64 reg 65 masks to 1", BPF_ALU64_REG(BPF_LSH, 0, 1), 1, 65, 2 },
	{ "lsh64 imm 68 masks to 4", BPF_ALU64_IMM(BPF_LSH, 0, 68), 1, 0, 0x10 },
	{ "rsh64 reg 68 masks to 4", BPF_ALU64_REG(BPF_RSH, 0, 1), 0x8000000000000000, 68,
	  0x0800000000000000 },
	{ "rsh64 imm 63", BPF_ALU64_IMM(BPF_RSH, 0, 63), 0x8000000000000000, 0, 1 },
	{ "rsh64 is logical", BPF_ALU64_IMM(BPF_RSH, 0, 4), 0xF000000000000000, 0,
	  0x0F00000000000000 },
	{ "arsh64 imm", BPF_ALU64_IMM(BPF_ARSH, 0, 4), 0xF000000000000000, 0,
	  0xFF00000000000000 },
	{ "arsh64 imm positive", BPF_ALU64_IMM(BPF_ARSH, 0, 4), 0x7000000000000000, 0,
	  0x0700000000000000 },
	{ "arsh64 reg 63", BPF_ALU64_REG(BPF_ARSH, 0, 1), 0x8000000000000000, 63,
	  0xFFFFFFFFFFFFFFFF },
	{ "arsh64 reg 64 masks to 0", BPF_ALU64_REG(BPF_ARSH, 0, 1), 0x8000000000000000, 64,
	  0x8000000000000000 },
	{ "arsh64 reg 65 masks to 1", BPF_ALU64_REG(BPF_ARSH, 0, 1), 0x8000000000000000, 65,
	  0xC000000000000000 },
	{ "neg64 1", NEG64(0), 1, 0, 0xFFFFFFFFFFFFFFFF },
	{ "neg64 INT64_MIN", NEG64(0), 0x8000000000000000, 0, 0x8000000000000000 },
	{ "neg64 0", NEG64(0), 0, 0, 0 },
	{ "mov64 imm sign-extends", BPF_ALU64_IMM(BPF_MOV, 0, -1), 5, 0, 0xFFFFFFFFFFFFFFFF },
	{ "mov64 reg", BPF_ALU64_REG(BPF_MOV, 0, 1), 5, 0xFEDCBA9876543210,
	  0xFEDCBA9876543210 },
	{ "movsx8 64 negative", MOVSX64(0, 1, 8), 0, 0x80, 0xFFFFFFFFFFFFFF80 },
	{ "movsx8 64 positive", MOVSX64(0, 1, 8), 0, 0xFFFFFF7F, 0x7F },
	{ "movsx16 64 negative", MOVSX64(0, 1, 16), 0, 0x8000, 0xFFFFFFFFFFFF8000 },
	{ "movsx16 64 positive", MOVSX64(0, 1, 16), 0, 0xABCD7FFF, 0x7FFF },
	{ "movsx32 64 negative", MOVSX64(0, 1, 32), 0, 0x80000000, 0xFFFFFFFF80000000 },
	{ "movsx32 64 positive", MOVSX64(0, 1, 32), 0, 0x17FFFFFFF, 0x7FFFFFFF },

	/* 32-bit: dst and src carry garbage in their high halves; results zero-extend */
	{ "add32 reg wraps", BPF_ALU32_REG(BPF_ADD, 0, 1), H32 | 0xFFFFFFFF, 2, 1 },
	{ "add32 imm 0 zero-extends", BPF_ALU32_IMM(BPF_ADD, 0, 0), H32 | 5, 0, 5 },
	{ "add32 reg uses src low half", BPF_ALU32_REG(BPF_ADD, 0, 1), 1, 0x100000002, 3 },
	{ "sub32 reg", BPF_ALU32_REG(BPF_SUB, 0, 1), 0x100000000, 1, 0xFFFFFFFF },
	{ "sub32 imm", BPF_ALU32_IMM(BPF_SUB, 0, 1), H32 | 3, 0, 2 },
	{ "mul32 reg", BPF_ALU32_REG(BPF_MUL, 0, 1), H32 | 6, 0xBBBBBBBB00000007, 42 },
	{ "mul32 reg wraps", BPF_ALU32_REG(BPF_MUL, 0, 1), H32 | 0x10000, 0x10000, 0 },
	{ "mul32 imm -1", BPF_ALU32_IMM(BPF_MUL, 0, -1), H32 | 5, 0, 0xFFFFFFFB },
	{ "div32 reg uses low halves", BPF_ALU32_REG(BPF_DIV, 0, 1), H32 | 100,
	  0xFFFFFFFF00000007, 14 },
	{ "div32 reg by zero low half", BPF_ALU32_REG(BPF_DIV, 0, 1), H32 | 100, 0x100000000, 0 },
	{ "div32 imm by zero", BPF_ALU32_IMM(BPF_DIV, 0, 0), H32 | 100, 0, 0 },
	{ "div32 imm -1 is 0xffffffff", BPF_ALU32_IMM(BPF_DIV, 0, -1), H32 | 0xFFFFFFFF, 0, 1 },
	{ "div32 imm -1 smaller dst", BPF_ALU32_IMM(BPF_DIV, 0, -1), H32 | 0xFFFFFFFE, 0, 0 },
	{ "mod32 reg", BPF_ALU32_REG(BPF_MOD, 0, 1), H32 | 100, 7, 2 },
	{ "mod32 imm", BPF_ALU32_IMM(BPF_MOD, 0, 3), 0x100000003, 0, 0 },
	{ "mod32 reg by zero zero-extends dst", BPF_ALU32_REG(BPF_MOD, 0, 1),
	  H32 | 0x12345678, 0xFFFFFFFF00000000, 0x12345678 },
	{ "mod32 imm by zero zero-extends dst", BPF_ALU32_IMM(BPF_MOD, 0, 0), H32 | 0x12345678,
	  0, 0x12345678 },
	{ "sdiv32 reg", SDIV32_REG(0, 1), H32 | 0xFFFFFFF9, 2, 0xFFFFFFFD },
	{ "sdiv32 imm neg by neg", SDIV32_IMM(0, -2), H32 | 0xFFFFFFF8, 0, 4 },
	{ "sdiv32 reg INT32_MIN / -1", SDIV32_REG(0, 1), H32 | 0x80000000, 0xFFFFFFFF,
	  0x80000000 },
	{ "sdiv32 imm INT32_MIN / -1", SDIV32_IMM(0, -1), H32 | 0x80000000, 0, 0x80000000 },
	{ "sdiv32 reg by zero low half", SDIV32_REG(0, 1), H32 | 0xFFFFFFF9, 0x100000000, 0 },
	{ "sdiv32 imm by zero", SDIV32_IMM(0, 0), H32 | 0xFFFFFFF9, 0, 0 },
	{ "smod32 reg neg by pos", SMOD32_REG(0, 1), H32 | 0xFFFFFFF9, 2, 0xFFFFFFFF },
	{ "smod32 reg pos by neg", SMOD32_REG(0, 1), 7, 0xFFFFFFFE, 1 },
	{ "smod32 reg INT32_MIN % -1", SMOD32_REG(0, 1), H32 | 0x80000000, 0xFFFFFFFF, 0 },
	{ "smod32 imm INT32_MIN % -1", SMOD32_IMM(0, -1), H32 | 0x80000000, 0, 0 },
	{ "smod32 reg by zero zero-extends", SMOD32_REG(0, 1), H32 | 0xFFFFFFF9, 0, 0xFFFFFFF9 },
	{ "smod32 imm by zero zero-extends", SMOD32_IMM(0, 0), H32 | 0xFFFFFFF9, 0, 0xFFFFFFF9 },
	{ "or32 reg", BPF_ALU32_REG(BPF_OR, 0, 1), H32 | 0xF0F0, 0xBBBBBBBB00000F0F, 0xFFFF },
	{ "or32 imm", BPF_ALU32_IMM(BPF_OR, 0, INT32_MIN), H32 | 1, 0, 0x80000001 },
	{ "and32 reg", BPF_ALU32_REG(BPF_AND, 0, 1), H32 | 0xFFFF0000, 0xFFFFFFFF0FF00FF0,
	  0x0FF00000 },
	{ "and32 imm -1 zero-extends", BPF_ALU32_IMM(BPF_AND, 0, -1), H32 | 0x12345678, 0,
	  0x12345678 },
	{ "xor32 reg", BPF_ALU32_REG(BPF_XOR, 0, 1), H32 | 0xFFFF0000, 0xBBBBBBBBFF00FF00,
	  0x00FFFF00 },
	{ "xor32 imm", BPF_ALU32_IMM(BPF_XOR, 0, 0xF), H32 | 0xFF, 0, 0xF0 },
	{ "lsh32 reg 31", BPF_ALU32_REG(BPF_LSH, 0, 1), H32 | 1, 31, 0x80000000 },
	{ "lsh32 reg 32 masks to 0", BPF_ALU32_REG(BPF_LSH, 0, 1), H32 | 1, 32, 1 },
	{ "lsh32 reg 33 masks to 1", BPF_ALU32_REG(BPF_LSH, 0, 1), H32 | 1, 33, 2 },
	{ "lsh32 drops bits above 31", BPF_ALU32_IMM(BPF_LSH, 0, 4), 0xF0000001, 0, 0x10 },
	{ "lsh32 imm -4 masks to 28", BPF_ALU32_IMM(BPF_LSH, 0, -4), 0x11, 0, 0x10000000 },
	{ "rsh32 reg uses dst low half", BPF_ALU32_REG(BPF_RSH, 0, 1), 0xFFFFFFFF80000000, 4,
	  0x08000000 },
	{ "rsh32 reg 36 masks to 4", BPF_ALU32_REG(BPF_RSH, 0, 1), 0xFFFFFFFF80000000, 36,
	  0x08000000 },
	{ "rsh32 imm 31", BPF_ALU32_IMM(BPF_RSH, 0, 31), H32 | 0x80000000, 0, 1 },
	{ "arsh32 reg", BPF_ALU32_REG(BPF_ARSH, 0, 1), 0x1234567880000000, 4, 0xF8000000 },
	{ "arsh32 reg 35 masks to 3", BPF_ALU32_REG(BPF_ARSH, 0, 1), 0x1234567880000000, 35,
	  0xF0000000 },
	{ "arsh32 imm 31", BPF_ALU32_IMM(BPF_ARSH, 0, 31), H32 | 0x80000000, 0, 0xFFFFFFFF },
	{ "arsh32 sign is bit 31", BPF_ALU32_IMM(BPF_ARSH, 0, 4), 0x8000000070000000, 0,
	  0x07000000 },
	{ "neg32 1", NEG32(0), H32 | 1, 0, 0xFFFFFFFF },
	{ "neg32 INT32_MIN", NEG32(0), H32 | 0x80000000, 0, 0x80000000 },
	{ "neg32 0", NEG32(0), H32, 0, 0 },
	{ "mov32 reg zero-extends", BPF_ALU32_REG(BPF_MOV, 0, 1), 0xAAAAAAAAAAAAAAAA,
	  0xFFFFFFFF12345678, 0x12345678 },
	{ "mov32 imm -1", BPF_ALU32_IMM(BPF_MOV, 0, -1), 0xAAAAAAAAAAAAAAAA, 0, 0xFFFFFFFF },
	{ "movsx8 32 negative", MOVSX32(0, 1, 8), 0xAAAAAAAAAAAAAAAA, 0x80, 0xFFFFFF80 },
	{ "movsx8 32 positive", MOVSX32(0, 1, 8), 0xAAAAAAAAAAAAAAAA, 0xFFFFFF7F, 0x7F },
	{ "movsx16 32 negative", MOVSX32(0, 1, 16), 0xAAAAAAAAAAAAAAAA, 0xAAAA8001,
	  0xFFFF8001 },
	{ "movsx16 32 positive", MOVSX32(0, 1, 16), 0xAAAAAAAAAAAAAAAA, 0xFFFF7001, 0x7001 },

	/* Byte swaps (little-endian host): le truncates, be and bswap swap */
	{ "le16", LE(0, 16), 0x0123456789ABCDEF, 0, 0xCDEF },
	{ "le32", LE(0, 32), 0x0123456789ABCDEF, 0, 0x89ABCDEF },
	{ "le64", LE(0, 64), 0x0123456789ABCDEF, 0, 0x0123456789ABCDEF },
	{ "be16", BE(0, 16), 0x0123456789ABCDEF, 0, 0xEFCD },
	{ "be32", BE(0, 32), 0x0123456789ABCDEF, 0, 0xEFCDAB89 },
	{ "be64", BE(0, 64), 0x0123456789ABCDEF, 0, 0xEFCDAB8967452301 },
	{ "bswap16", BSWAP(0, 16), 0x0123456789ABCDEF, 0, 0xEFCD },
	{ "bswap32", BSWAP(0, 32), 0x0123456789ABCDEF, 0, 0xEFCDAB89 },
	{ "bswap64", BSWAP(0, 64), 0x0123456789ABCDEF, 0, 0xEFCDAB8967452301 },
};

static void test_alu(void)
{
	for (size_t i = 0; i < sizeof(alu_cases) / sizeof(alu_cases[0]); i++) {
		const struct alu_case *c = &alu_cases[i];
		const struct bpf_insn prog[] = {
			BPF_LD_IMM64(0, c->dst),
			BPF_LD_IMM64(1, c->src),
			c->op,
			BPF_EXIT_INSN(),
		};
		expect_mem(__LINE__, c->name, prog, sizeof(prog) / sizeof(prog[0]), NULL, 0, NULL,
			   c->expect);
	}

	/* The same register as source and destination. */
	T("add64 r0 += r0", 0x2468ACF0,
	  BPF_MOV64_IMM(0, 0x12345678), BPF_ALU64_REG(BPF_ADD, 0, 0), BPF_EXIT_INSN());
	T("sdiv64 r0 /= r0", 1,
	  BPF_MOV64_IMM(0, -5), SDIV64_REG(0, 0), BPF_EXIT_INSN());
	/* Every register r0..r9 holds its own value. */
	T("ten registers", 0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9,
	  BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3), BPF_MOV64_IMM(4, 4),
	  BPF_MOV64_IMM(5, 5), BPF_MOV64_IMM(6, 6), BPF_MOV64_IMM(7, 7), BPF_MOV64_IMM(8, 8),
	  BPF_MOV64_IMM(9, 9), BPF_MOV64_IMM(0, 0),
	  BPF_ALU64_REG(BPF_ADD, 0, 1), BPF_ALU64_REG(BPF_ADD, 0, 2),
	  BPF_ALU64_REG(BPF_ADD, 0, 3), BPF_ALU64_REG(BPF_ADD, 0, 4),
	  BPF_ALU64_REG(BPF_ADD, 0, 5), BPF_ALU64_REG(BPF_ADD, 0, 6),
	  BPF_ALU64_REG(BPF_ADD, 0, 7), BPF_ALU64_REG(BPF_ADD, 0, 8),
	  BPF_ALU64_REG(BPF_ADD, 0, 9), BPF_EXIT_INSN());
}

/* ---- lddw ------------------------------------------------------------------------------ */

static void test_lddw(void)
{
	T("lddw", 0x123456789ABCDEF0, BPF_LD_IMM64(0, 0x123456789ABCDEF0), BPF_EXIT_INSN());
	T("lddw low half negative", 0xFFFFFFFF80000000,
	  BPF_LD_IMM64(0, 0xFFFFFFFF80000000), BPF_EXIT_INSN());
	T("lddw low half all ones", 0x00000001FFFFFFFF,
	  BPF_LD_IMM64(0, 0x00000001FFFFFFFF), BPF_EXIT_INSN());
	T("lddw high bit only", 0x8000000000000000,
	  BPF_LD_IMM64(0, 0x8000000000000000), BPF_EXIT_INSN());
	T("lddw then jump over lddw", 7,
	  BPF_LD_IMM64(0, 7), BPF_JMP_A(2), BPF_LD_IMM64(0, 9), BPF_EXIT_INSN());
}

/* ---- Jumps ----------------------------------------------------------------------------- */

struct jmp_case {
	const char *name;
	uint8_t op;
	uint64_t a, b;
	bool t64, t32;		/* taken as JMP, as JMP32 */
};

static const struct jmp_case jmp_cases[] = {
	{ "jeq equal", BPF_JEQ, 5, 5, 1, 1 },
	{ "jeq high half differs", BPF_JEQ, 0x100000005, 5, 0, 1 },
	{ "jeq differs", BPF_JEQ, 5, 6, 0, 0 },
	{ "jeq -1", BPF_JEQ, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 1, 1 },
	{ "jeq imm -1 is sign-extended", BPF_JEQ, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0, 1 },
	{ "jne equal", BPF_JNE, 5, 5, 0, 0 },
	{ "jne high half differs", BPF_JNE, 0x100000005, 5, 1, 0 },
	{ "jne differs", BPF_JNE, 5, 6, 1, 1 },
	{ "jgt", BPF_JGT, 6, 5, 1, 1 },
	{ "jgt high half", BPF_JGT, 0x100000000, 1, 1, 0 },
	{ "jgt low half", BPF_JGT, 1, 0x100000000, 0, 1 },
	{ "jgt unsigned -1", BPF_JGT, 5, 0xFFFFFFFFFFFFFFFF, 0, 0 },
	{ "jgt -1 > -2", BPF_JGT, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 1, 1 },
	{ "jge equal", BPF_JGE, 5, 5, 1, 1 },
	{ "jge less", BPF_JGE, 4, 5, 0, 0 },
	{ "jge high half", BPF_JGE, 0x100000004, 5, 1, 0 },
	{ "jlt", BPF_JLT, 4, 5, 1, 1 },
	{ "jlt high half", BPF_JLT, 0x100000004, 5, 0, 1 },
	{ "jlt equal", BPF_JLT, 5, 5, 0, 0 },
	{ "jlt unsigned 5 < -1", BPF_JLT, 5, 0xFFFFFFFFFFFFFFFF, 1, 1 },
	{ "jle equal", BPF_JLE, 5, 5, 1, 1 },
	{ "jle greater", BPF_JLE, 6, 5, 0, 0 },
	{ "jle high halves", BPF_JLE, 0x100000006, 0x200000005, 1, 0 },
	{ "jsgt -1 > -2", BPF_JSGT, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 1, 1 },
	{ "jsgt -1 > 1", BPF_JSGT, 0xFFFFFFFFFFFFFFFF, 1, 0, 0 },
	{ "jsgt 0xffffffff > 1", BPF_JSGT, 0xFFFFFFFF, 1, 1, 0 },
	{ "jsge equal negative", BPF_JSGE, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFE, 1, 1 },
	{ "jsge -3 >= -2", BPF_JSGE, 0xFFFFFFFFFFFFFFFD, 0xFFFFFFFFFFFFFFFE, 0, 0 },
	{ "jsge 0xffffffff >= 0", BPF_JSGE, 0xFFFFFFFF, 0, 1, 0 },
	{ "jslt -2 < 1", BPF_JSLT, 0xFFFFFFFFFFFFFFFE, 1, 1, 1 },
	{ "jslt 1 < -2", BPF_JSLT, 1, 0xFFFFFFFFFFFFFFFE, 0, 0 },
	{ "jslt 0xffffffff < 0", BPF_JSLT, 0xFFFFFFFF, 0, 0, 1 },
	{ "jsle equal negative", BPF_JSLE, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFE, 1, 1 },
	{ "jsle 0x80000000 <= 0", BPF_JSLE, 0x80000000, 0, 0, 1 },
	{ "jsle 1 <= -1", BPF_JSLE, 1, 0xFFFFFFFFFFFFFFFF, 0, 0 },
	{ "jset", BPF_JSET, 6, 4, 1, 1 },
	{ "jset high half", BPF_JSET, 0x100000000, 0x100000000, 1, 0 },
	{ "jset none", BPF_JSET, 1, 2, 0, 0 },
};

/* Runs "if a OP b goto taken" in the given class and source form; r0 = taken. */
static void jmp_run(const struct jmp_case *c, uint8_t cls, bool imm, bool expect)
{
	char name[128];
	snprintf(name, sizeof(name), "%s (%s %s)", c->name, cls == BPF_JMP ? "jmp" : "jmp32",
		 imm ? "imm" : "reg");
	const struct bpf_insn jmp = imm ?
		BPFVM_INSN(cls | c->op | BPF_K, 1, 0, 1, (int32_t)(uint32_t)c->b) :
		BPFVM_INSN(cls | c->op | BPF_X, 1, 2, 1, 0);
	const struct bpf_insn prog[] = {
		BPF_LD_IMM64(1, c->a),
		BPF_LD_IMM64(2, c->b),
		BPF_MOV64_IMM(0, 0),
		jmp,
		BPF_EXIT_INSN(),
		BPF_MOV64_IMM(0, 1),
		BPF_EXIT_INSN(),
	};
	expect_mem(__LINE__, name, prog, sizeof(prog) / sizeof(prog[0]), NULL, 0, NULL, expect);
}

static void test_jumps(void)
{
	for (size_t i = 0; i < sizeof(jmp_cases) / sizeof(jmp_cases[0]); i++) {
		const struct jmp_case *c = &jmp_cases[i];
		jmp_run(c, BPF_JMP, false, c->t64);
		jmp_run(c, BPF_JMP32, false, c->t32);
		jmp_run(c, BPF_JMP32, true, c->t32);
		/* A 64-bit immediate form exists when b is a sign-extended int32. */
		if (c->b == (uint64_t)(int64_t)(int32_t)(uint32_t)c->b)
			jmp_run(c, BPF_JMP, true, c->t64);
	}

	/* ja forward and backward: a loop summing 1..10 */
	T("loop with ja", 55,
	  BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(1, 10),
	  BPF_JMP_IMM(BPF_JEQ, 1, 0, 3),
	  BPF_ALU64_REG(BPF_ADD, 0, 1), BPF_ALU64_IMM(BPF_SUB, 1, 1), BPF_JMP_A(-4),
	  BPF_EXIT_INSN());
	T("ja +0", 3, BPF_MOV64_IMM(0, 3), BPF_JMP_A(0), BPF_EXIT_INSN());

	/* gotol (JA32) with offsets beyond int16, forward then backward, with the
	 * instruction count checked. */
	enum { N = 40000 };
	size_t cnt = N + 4;
	struct bpf_insn *p = calloc(cnt, sizeof(*p));
	p[0] = BPF_MOV64_IMM(0, 1);
	p[1] = BPF_JMP32_A(N);			/* -> N + 2 */
	p[2] = BPF_EXIT_INSN();
	for (size_t i = 3; i < N + 2; i++)
		p[i] = BPF_MOV64_IMM(0, 2);
	p[N + 2] = BPF_ALU64_IMM(BPF_ADD, 0, 10);
	p[N + 3] = BPF_JMP32_A(-(N + 2));		/* -> 2 */
	struct bpfvm_prog *prog = mkprog(__LINE__, "ja32 large", p, cnt, NULL);
	for (int e = 0; prog && e < NENG; e++) {
		struct bpfvm_run_opts o;
		int rc = run_on(prog, e, NULL, 0, NULL, 0, 0, &o);
		CHECK_U64(rc, 0, "ja32 large [%s]", engine_names[e]);
		CHECK_U64(o.retval, 11, "ja32 large [%s]", engine_names[e]);
		CHECK_U64(o.insn_executed, 5, "ja32 large [%s]: insn_executed", engine_names[e]);
	}
	bpfvm_prog__free(prog);
	free(p);
}

/* ---- Loads and stores ----------------------------------------------------------------- */

static void test_memory(void)
{
	static const uint8_t m[16] = { 0x80, 0xFF, 0x01, 0x80, 0x00, 0x00, 0x00, 0x80,
				       0x7F, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };

	TM("ldxb", m, 0x80, BPF_LDX_MEM(BPF_B, 0, 1, 0), BPF_EXIT_INSN());
	TM("ldxh", m, 0xFF80, BPF_LDX_MEM(BPF_H, 0, 1, 0), BPF_EXIT_INSN());
	TM("ldxw", m, 0x8001FF80, BPF_LDX_MEM(BPF_W, 0, 1, 0), BPF_EXIT_INSN());
	TM("ldxdw", m, 0x800000008001FF80, BPF_LDX_MEM(BPF_DW, 0, 1, 0), BPF_EXIT_INSN());
	TM("ldxw unaligned", m, 0x008001FF, BPF_LDX_MEM(BPF_W, 0, 1, 1), BPF_EXIT_INSN());
	TM("ldxdw unaligned", m, 0x443322117F800000, BPF_LDX_MEM(BPF_DW, 0, 1, 5),
	   BPF_EXIT_INSN());
	TM("ldxsb negative", m, 0xFFFFFFFFFFFFFF80, BPF_LDX_MEMSX(BPF_B, 0, 1, 0),
	   BPF_EXIT_INSN());
	TM("ldxsb positive", m, 0x7F, BPF_LDX_MEMSX(BPF_B, 0, 1, 8), BPF_EXIT_INSN());
	TM("ldxsh negative", m, 0xFFFFFFFFFFFFFF80, BPF_LDX_MEMSX(BPF_H, 0, 1, 0),
	   BPF_EXIT_INSN());
	TM("ldxsh negative unaligned", m, 0xFFFFFFFFFFFF8001, BPF_LDX_MEMSX(BPF_H, 0, 1, 2),
	   BPF_EXIT_INSN());
	TM("ldxsh positive", m, 0x2211, BPF_LDX_MEMSX(BPF_H, 0, 1, 9), BPF_EXIT_INSN());
	TM("ldxsw negative", m, 0xFFFFFFFF8001FF80, BPF_LDX_MEMSX(BPF_W, 0, 1, 0),
	   BPF_EXIT_INSN());
	TM("ldxsw 0x80000000", m, 0xFFFFFFFF80000000, BPF_LDX_MEMSX(BPF_W, 0, 1, 4),
	   BPF_EXIT_INSN());
	TM("ldxsw positive", m, 0x3322117F, BPF_LDX_MEMSX(BPF_W, 0, 1, 8), BPF_EXIT_INSN());
	TM("ldx negative offset", m, 0x7F,
	   BPF_MOV64_REG(3, 1), BPF_ALU64_IMM(BPF_ADD, 3, 16),
	   BPF_LDX_MEM(BPF_B, 0, 3, -8), BPF_EXIT_INSN());
	TM("ldx into its own base register", m, 0x800000008001FF80,
	   BPF_LDX_MEM(BPF_DW, 1, 1, 0), BPF_MOV64_REG(0, 1), BPF_EXIT_INSN());
	TM("r2 is the memory length", m, 16, BPF_MOV64_REG(0, 2), BPF_EXIT_INSN());
	TM("last byte of mem", m, 0x77, BPF_LDX_MEM(BPF_B, 0, 1, 15), BPF_EXIT_INSN());
	TM("last dword of mem", m, 0x776655443322117F, BPF_LDX_MEM(BPF_DW, 0, 1, 8),
	   BPF_EXIT_INSN());

	/* Stores of immediates: sizes, sign extension of imm, neighbours untouched. */
	uint8_t z[24];
	memset(z, 0xAA, sizeof(z));
	static const uint8_t st_out[24] = {
		0x11, 0xAA, 0x33, 0x22, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00 };
	TMM("st imm", z, st_out, 0,
	    BPF_ST_MEM(BPF_B, 1, 0, 0x11), BPF_ST_MEM(BPF_H, 1, 2, 0x2233),
	    BPF_ST_MEM(BPF_W, 1, 4, -1), BPF_ST_MEM(BPF_DW, 1, 8, -2),
	    BPF_ST_MEM(BPF_DW, 1, 16, 0x12345678),
	    BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN());

	/* Stores of registers: truncation, neighbours untouched, unaligned. */
	static const uint8_t stx_out[24] = {
		0x08, 0xAA, 0x08, 0x07, 0x08, 0x07, 0x06, 0x05,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0xAA, 0x08, 0x07, 0x06, 0x07, 0x06, 0x05, 0x04 };
	TMM("stx", z, stx_out, 0x0102030405060708,
	    BPF_LD_IMM64(2, 0x0102030405060708),
	    BPF_STX_MEM(BPF_B, 1, 2, 0), BPF_STX_MEM(BPF_H, 1, 2, 2),
	    BPF_STX_MEM(BPF_W, 1, 2, 4), BPF_STX_MEM(BPF_DW, 1, 2, 8),
	    BPF_STX_MEM(BPF_W, 1, 2, 17), BPF_ALU64_IMM(BPF_RSH, 2, 8),
	    BPF_STX_MEM(BPF_W, 1, 2, 20),
	    BPF_LDX_MEM(BPF_DW, 0, 1, 8), BPF_EXIT_INSN());

	/* The stack: round trip, zero at the start of each run, the whole frame. */
	T("stack round trip", 0xCD,
	  BPF_ST_MEM(BPF_DW, 10, -16, 0xAB), BPF_ST_MEM(BPF_DW, 10, -8, 0xCD),
	  BPF_LDX_MEM(BPF_DW, 0, 10, -8), BPF_EXIT_INSN());
	T("stack bottom of the frame reads zero", 0,
	  BPF_LDX_MEM(BPF_DW, 0, 10, -512), BPF_EXIT_INSN());
	T("stack top byte", 0x5A,
	  BPF_ST_MEM(BPF_B, 10, -1, 0x5A), BPF_LDX_MEM(BPF_B, 0, 10, -1), BPF_EXIT_INSN());

	/* Each run starts with a zeroed stack even after a run that dirtied it. */
	struct bpfvm_prog *p = mkprog(__LINE__, "stack zeroed per run", PROG(
		BPF_LDX_MEM(BPF_DW, 0, 10, -8),
		BPF_ST_MEM(BPF_DW, 10, -8, 7),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		for (int k = 0; k < 2; k++) {
			struct bpfvm_run_opts o;
			int rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
			CHECK_U64(rc, 0, "stack zeroed per run [%s] run %d", engine_names[e], k);
			CHECK_U64(o.retval, 0, "stack zeroed per run [%s] run %d", engine_names[e], k);
		}
	}
	bpfvm_prog__free(p);

	/* A second, writable region reached through a pointer stored in mem. */
	uint64_t extra = 0x1000;
	uint8_t mem[8];
	wr64(mem, (uint64_t)(uintptr_t)&extra);
	struct bpfvm_region reg = { &extra, sizeof(extra), true };
	p = mkprog(__LINE__, "writable region", PROG(
		BPF_LDX_MEM(BPF_DW, 3, 1, 0),
		BPF_LDX_MEM(BPF_DW, 0, 3, 0),
		BPF_ALU64_IMM(BPF_ADD, 0, 1),
		BPF_STX_MEM(BPF_DW, 3, 0, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		struct bpfvm_run_opts o;
		int rc = run_on(p, e, mem, sizeof(mem), &reg, 1, 0, &o);
		CHECK_U64(rc, 0, "writable region [%s]", engine_names[e]);
		CHECK_U64(o.retval, 0x1001 + (uint64_t)e, "writable region [%s]", engine_names[e]);
	}
	CHECK_U64(extra, 0x1000 + NENG, "writable region written by every run");
	bpfvm_prog__free(p);
}

/* ---- Atomics ------------------------------------------------------------------------------ */

struct atomic_case {
	const char *name;
	struct bpf_insn op;	/* on [r1+0] with src r2 */
	uint64_t mem, src, r0;	/* before */
	uint64_t mem_after, src_after, r0_after;
};

#define A32(OP)	BPF_ATOMIC_OP(BPF_W, OP, 1, 2, 0)
#define A64(OP)	BPF_ATOMIC_OP(BPF_DW, OP, 1, 2, 0)
#define M32 0x1111111180000005ull	/* the op touches the low 4 bytes only */
#define S32 0xAAAAAAAA00000003ull
#define M64 0x8000000000000005ull
#define S64 0x0000000100000003ull

static const struct atomic_case atomic_cases[] = {
	{ "add32", A32(BPF_ADD), M32, S32, 0x42, 0x1111111180000008, S32, 0x42 },
	{ "fetch add32", A32(BPF_ADD | BPF_FETCH), M32, S32, 0x42, 0x1111111180000008,
	  0x80000005, 0x42 },
	{ "or32", A32(BPF_OR), M32, S32, 0x42, 0x1111111180000007, S32, 0x42 },
	{ "fetch or32", A32(BPF_OR | BPF_FETCH), M32, S32, 0x42, 0x1111111180000007,
	  0x80000005, 0x42 },
	{ "and32", A32(BPF_AND), M32, S32, 0x42, 0x1111111100000001, S32, 0x42 },
	{ "fetch and32", A32(BPF_AND | BPF_FETCH), M32, S32, 0x42, 0x1111111100000001,
	  0x80000005, 0x42 },
	{ "xor32", A32(BPF_XOR), M32, S32, 0x42, 0x1111111180000006, S32, 0x42 },
	{ "fetch xor32", A32(BPF_XOR | BPF_FETCH), M32, S32, 0x42, 0x1111111180000006,
	  0x80000005, 0x42 },
	{ "xchg32", A32(BPF_XCHG), M32, S32, 0x42, 0x1111111100000003, 0x80000005, 0x42 },
	{ "cmpxchg32 success (low half of r0 compared)", A32(BPF_CMPXCHG), M32, S32,
	  0xFFFFFFFF80000005, 0x1111111100000003, S32, 0x80000005 },
	{ "cmpxchg32 failure", A32(BPF_CMPXCHG), M32, S32, 0x80000006, M32, S32, 0x80000005 },
	{ "add64", A64(BPF_ADD), M64, S64, 0x42, 0x8000000100000008, S64, 0x42 },
	{ "fetch add64", A64(BPF_ADD | BPF_FETCH), M64, S64, 0x42, 0x8000000100000008, M64,
	  0x42 },
	{ "or64", A64(BPF_OR), M64, S64, 0x42, 0x8000000100000007, S64, 0x42 },
	{ "fetch or64", A64(BPF_OR | BPF_FETCH), M64, S64, 0x42, 0x8000000100000007, M64, 0x42 },
	{ "and64", A64(BPF_AND), M64, S64, 0x42, 0x0000000000000001, S64, 0x42 },
	{ "fetch and64", A64(BPF_AND | BPF_FETCH), M64, S64, 0x42, 0x0000000000000001, M64,
	  0x42 },
	{ "xor64", A64(BPF_XOR), M64, S64, 0x42, 0x8000000100000006, S64, 0x42 },
	{ "fetch xor64", A64(BPF_XOR | BPF_FETCH), M64, S64, 0x42, 0x8000000100000006, M64,
	  0x42 },
	{ "xchg64", A64(BPF_XCHG), M64, S64, 0x42, S64, M64, 0x42 },
	{ "cmpxchg64 success", A64(BPF_CMPXCHG), M64, S64, M64, S64, S64, M64 },
	{ "cmpxchg64 failure (only low half equal)", A64(BPF_CMPXCHG), M64, S64, 5, M64, S64,
	  M64 },
};

static void test_atomics(void)
{
	for (size_t i = 0; i < sizeof(atomic_cases) / sizeof(atomic_cases[0]); i++) {
		const struct atomic_case *c = &atomic_cases[i];
		const struct bpf_insn prog[] = {
			BPF_LD_IMM64(2, c->src),
			BPF_LD_IMM64(0, c->r0),
			c->op,
			BPF_STX_MEM(BPF_DW, 1, 2, 8),
			BPF_STX_MEM(BPF_DW, 1, 0, 16),
			BPF_EXIT_INSN(),
		};
		uint8_t in[24] = { 0 }, out[24];
		wr64(in, c->mem);
		wr64(out, c->mem_after);
		wr64(out + 8, c->src_after);
		wr64(out + 16, c->r0_after);
		expect_mem(__LINE__, c->name, prog, sizeof(prog) / sizeof(prog[0]), in, sizeof(in),
			   out, c->r0_after);
	}

	T("atomic add on the stack", 15,
	  BPF_ST_MEM(BPF_DW, 10, -8, 10), BPF_MOV64_IMM(2, 5),
	  BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 10, 2, -8),
	  BPF_LDX_MEM(BPF_DW, 0, 10, -8), BPF_EXIT_INSN());
	T("atomic fetch add32 on the stack zero-extends", 0xFFFFFFFF,
	  BPF_ST_MEM(BPF_W, 10, -4, -1), BPF_MOV64_IMM(0, -1),
	  BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, 10, 0, -4), BPF_EXIT_INSN());

	/* A misaligned atomic still computes the right result. */
	uint8_t mis[16] = { 0 };
	TM("misaligned fetch add32", mis, 0x02040608,
	   BPF_MOV64_IMM(2, 0x01020304),
	   BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, 1, 2, 1),
	   BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, 1, 2, 1),
	   BPF_LDX_MEM(BPF_W, 0, 1, 1), BPF_ALU64_REG(BPF_ADD, 0, 2), BPF_EXIT_INSN());
	TM("misaligned cmpxchg64", mis, 9,
	   BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(2, 9),
	   BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, 1, 2, 3),
	   BPF_LDX_MEM(BPF_DW, 0, 1, 3), BPF_EXIT_INSN());
}

/* ---- Faults ------------------------------------------------------------------------------- */

static void test_faults(void)
{
	struct bpfvm_run_opts o;
	struct bpfvm_prog *p;
	uint8_t *mem = calloc(1, 32);	/* heap: far from the interpreter's stack */
	int rc;

	/* Read below the main frame: r10 is saved to mem first. */
	p = mkprog(__LINE__, "read below frame", PROG(
		BPF_STX_MEM(BPF_DW, 1, 10, 0),
		BPF_LDX_MEM(BPF_DW, 0, 10, -520),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "read below frame", e, rc, &o, BPFVM_FAULT_READ, 1,
			    rd64(mem) - 520, 8);
		CHECK_U64(o.insn_executed, 2, "read below frame [%s]", engine_names[e]);
	}
	bpfvm_prog__free(p);

	/* Straddling the bottom of the frame, and the byte at r10 itself. */
	p = mkprog(__LINE__, "read straddling frame bottom", PROG(
		BPF_STX_MEM(BPF_DW, 1, 10, 0),
		BPF_LDX_MEM(BPF_DW, 0, 10, -512),
		BPF_LDX_MEM(BPF_W, 0, 10, -514),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "read straddling frame bottom", e, rc, &o, BPFVM_FAULT_READ,
			    2, rd64(mem) - 514, 4);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "write at r10", PROG(
		BPF_STX_MEM(BPF_DW, 1, 10, 0),
		BPF_ST_MEM(BPF_B, 10, 0, 1),
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "write at r10", e, rc, &o, BPFVM_FAULT_WRITE, 1, rd64(mem),
			    1);
	}
	bpfvm_prog__free(p);

	/* Read below the current (callee's) frame: the callee's r10 is 512 below the
	 * caller's, and its frame ends 512 below that. */
	p = mkprog(__LINE__, "read below callee frame", PROG(
		BPF_STX_MEM(BPF_DW, 1, 10, 8),
		BPF_CALL_REL(1),
		BPF_EXIT_INSN(),
		BPF_STX_MEM(BPF_DW, 1, 10, 0),
		BPF_LDX_MEM(BPF_DW, 0, 10, -513),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "read below callee frame", e, rc, &o, BPFVM_FAULT_READ, 4,
			    rd64(mem) - 513, 8);
		CHECK_U64(rd64(mem + 8) - rd64(mem), 512, "callee r10 [%s]", engine_names[e]);
	}
	bpfvm_prog__free(p);

	/* Past the end of mem by one byte; the last byte is fine. */
	memset(mem, 0, 32);
	mem[15] = 0x99;
	p = mkprog(__LINE__, "read past mem", PROG(
		BPF_LDX_MEM(BPF_B, 0, 1, 15),
		BPF_LDX_MEM(BPF_B, 3, 1, 16),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "read past mem", e, rc, &o, BPFVM_FAULT_READ, 1,
			    (uint64_t)(uintptr_t)mem + 16, 1);
		CHECK_U64(o.retval, 0, "read past mem: no retval on fault [%s]", engine_names[e]);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "dword straddling mem end", PROG(
		BPF_LDX_MEM(BPF_DW, 0, 1, 8),
		BPF_LDX_MEM(BPF_DW, 0, 1, 9),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "dword straddling mem end", e, rc, &o, BPFVM_FAULT_READ, 1,
			    (uint64_t)(uintptr_t)mem + 9, 8);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "read before mem", PROG(
		BPF_LDX_MEM(BPF_B, 0, 1, -1),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "read before mem", e, rc, &o, BPFVM_FAULT_READ, 0,
			    (uint64_t)(uintptr_t)mem - 1, 1);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "write past mem", PROG(
		BPF_ST_MEM(BPF_H, 1, 14, 1),
		BPF_ST_MEM(BPF_H, 1, 15, 1),
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "write past mem", e, rc, &o, BPFVM_FAULT_WRITE, 1,
			    (uint64_t)(uintptr_t)mem + 15, 2);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "atomic past mem", PROG(
		BPF_MOV64_IMM(2, 1),
		BPF_ATOMIC_OP(BPF_W, BPF_ADD, 1, 2, 12),
		BPF_ATOMIC_OP(BPF_W, BPF_ADD, 1, 2, 13),
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "atomic past mem", e, rc, &o, BPFVM_FAULT_WRITE, 2,
			    (uint64_t)(uintptr_t)mem + 13, 4);
	}
	bpfvm_prog__free(p);
	/* Addresses near 2^64: addr + size wraps. */
	p = mkprog(__LINE__, "address wraps", PROG(
		BPF_MOV64_IMM(3, -2),
		BPF_LDX_MEM(BPF_DW, 0, 3, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, NULL, 0, 0, &o);
		check_fault(__LINE__, "address wraps", e, rc, &o, BPFVM_FAULT_READ, 1,
			    0xFFFFFFFFFFFFFFFE, 8);
	}
	bpfvm_prog__free(p);
	/* No mem at all: r1 = 0 and nothing is addressable but the stack. */
	p = mkprog(__LINE__, "null mem", PROG(
		BPF_LDX_MEM(BPF_B, 0, 1, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		check_fault(__LINE__, "null mem", e, rc, &o, BPFVM_FAULT_READ, 0, 0, 1);
	}
	bpfvm_prog__free(p);

	/* A read-only region: reads work, stores and atomics fault. */
	uint64_t *ro = malloc(16);
	ro[0] = 0x1122334455667788;
	ro[1] = 0;
	struct bpfvm_region region = { ro, 8, false };
	p = mkprog(__LINE__, "read-only region", PROG(
		BPF_LDX_MEM(BPF_DW, 3, 1, 0),
		BPF_LDX_MEM(BPF_DW, 0, 3, 0),
		BPF_STX_MEM(BPF_DW, 1, 0, 8),
		BPF_STX_MEM(BPF_DW, 3, 0, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		memset(mem, 0, 32);
		wr64(mem, (uint64_t)(uintptr_t)ro);
		rc = run_on(p, e, mem, 16, &region, 1, 0, &o);
		check_fault(__LINE__, "read-only region", e, rc, &o, BPFVM_FAULT_WRITE, 3,
			    (uint64_t)(uintptr_t)ro, 8);
		CHECK_U64(rd64(mem + 8), 0x1122334455667788, "read-only region read [%s]",
			  engine_names[e]);
		CHECK_U64(ro[0], 0x1122334455667788, "read-only region unchanged [%s]",
			  engine_names[e]);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "atomic on read-only region", PROG(
		BPF_LDX_MEM(BPF_DW, 3, 1, 0),
		BPF_MOV64_IMM(2, 1),
		BPF_ATOMIC_OP(BPF_DW, BPF_XCHG, 3, 2, 0),
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, &region, 1, 0, &o);
		check_fault(__LINE__, "atomic on read-only region", e, rc, &o, BPFVM_FAULT_WRITE,
			    2, (uint64_t)(uintptr_t)ro, 8);
		CHECK_U64(ro[0], 0x1122334455667788, "read-only region unchanged [%s]",
			  engine_names[e]);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "read past read-only region", PROG(
		BPF_LDX_MEM(BPF_DW, 3, 1, 0),
		BPF_LDX_MEM(BPF_B, 0, 3, 7),
		BPF_LDX_MEM(BPF_B, 0, 3, 8),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, mem, 16, &region, 1, 0, &o);
		check_fault(__LINE__, "read past read-only region", e, rc, &o, BPFVM_FAULT_READ,
			    2, (uint64_t)(uintptr_t)ro + 8, 1);
	}
	bpfvm_prog__free(p);
	free(ro);

	/* Budget on an endless loop: 100 instructions run, the 101st faults. */
	p = mkprog(__LINE__, "budget", PROG(
		BPF_MOV64_IMM(0, 0),
		BPF_JMP_A(-1),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, NULL, 0, NULL, 0, 100, &o);
		check_fault(__LINE__, "budget", e, rc, &o, BPFVM_FAULT_BUDGET, 1, 0, 0);
		CHECK_U64(o.insn_executed, 100, "budget [%s]", engine_names[e]);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "budget exact", PROG(
		BPF_MOV64_IMM(0, 1),
		BPF_MOV64_IMM(0, 2),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, NULL, 0, NULL, 0, 3, &o);
		CHECK_U64(rc, 0, "budget exact [%s]", engine_names[e]);
		CHECK_U64(o.retval, 2, "budget exact [%s]", engine_names[e]);
		CHECK_U64(o.insn_executed, 3, "budget exact [%s]", engine_names[e]);
		rc = run_on(p, e, NULL, 0, NULL, 0, 2, &o);
		check_fault(__LINE__, "budget one short", e, rc, &o, BPFVM_FAULT_BUDGET, 2, 0, 0);
		CHECK_U64(o.insn_executed, 2, "budget one short [%s]", engine_names[e]);
		rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		CHECK_U64(o.insn_executed, 3, "no budget [%s]", engine_names[e]);
	}
	bpfvm_prog__free(p);

	/* Call depth: endless recursion faults at the call once 32 frames are in use:
	 * insn 0 runs once, insn 2 runs 31 times (frames 2..32) and faults on the 32nd. */
	p = mkprog(__LINE__, "call depth", PROG(
		BPF_CALL_REL(1),
		BPF_EXIT_INSN(),
		BPF_CALL_REL(-1),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		check_fault(__LINE__, "call depth", e, rc, &o, BPFVM_FAULT_CALL_DEPTH, 2, 0, 0);
		CHECK_U64(o.insn_executed, 32, "call depth [%s]", engine_names[e]);
	}
	bpfvm_prog__free(p);
	free(mem);
}

/* ---- Local calls ------------------------------------------------------------------------- */

/* count(n) = n == 0 ? 0 : 1 + count(n - 1), called from main with n in r1:
 * n + 2 frames. */
static void depth_run(int32_t n, bool ok)
{
	struct bpfvm_prog *p = mkprog(__LINE__, "count recursion", PROG(
		BPF_MOV64_IMM(1, n),
		BPF_CALL_REL(1),			/* -> 3 */
		BPF_EXIT_INSN(),
		BPF_JMP_IMM(BPF_JNE, 1, 0, 2),		/* 3: -> 6 */
		BPF_MOV64_IMM(0, 0),
		BPF_EXIT_INSN(),
		BPF_ALU64_IMM(BPF_SUB, 1, 1),		/* 6 */
		BPF_CALL_REL(-5),			/* -> 3 */
		BPF_ALU64_IMM(BPF_ADD, 0, 1),
		BPF_EXIT_INSN()), NULL);
	for (int e = 0; p && e < NENG; e++) {
		struct bpfvm_run_opts o;
		int rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		if (ok) {
			CHECK_U64(rc, 0, "recursion %d [%s]", n, engine_names[e]);
			CHECK_U64(o.retval, (uint64_t)n, "recursion %d [%s]", n, engine_names[e]);
		} else {
			check_fault(__LINE__, "recursion too deep", e, rc, &o,
				    BPFVM_FAULT_CALL_DEPTH, 7, 0, 0);
		}
	}
	bpfvm_prog__free(p);
}

static void test_calls(void)
{
	/* sum(n) = n + sum(n - 1), 11 frames deep below main; each frame keeps n in r6
	 * and in its own [r10-8] and checks both after the call; the callee clobbers
	 * r6-r9; main checks r6-r9 and its own [r10-8] afterwards. */
	uint8_t mem[32] = { 0 }, out[32];
	wr64(out, 0x77);
	wr64(out + 8, 0x88);
	wr64(out + 16, 0x99);
	wr64(out + 24, 0x1234);
	TMM("recursion keeps r6-r9 and frames", mem, out, 55,
	    BPF_MOV64_REG(6, 1),			/* 0: r6 = mem */
	    BPF_MOV64_IMM(7, 0x77),
	    BPF_MOV64_IMM(8, 0x88),
	    BPF_MOV64_IMM(9, 0x99),
	    BPF_ST_MEM(BPF_DW, 10, -8, 0x1234),
	    BPF_MOV64_IMM(1, 10),
	    BPF_CALL_REL(6),				/* 6: -> 13 */
	    BPF_STX_MEM(BPF_DW, 6, 7, 0),
	    BPF_STX_MEM(BPF_DW, 6, 8, 8),
	    BPF_STX_MEM(BPF_DW, 6, 9, 16),
	    BPF_LDX_MEM(BPF_DW, 2, 10, -8),
	    BPF_STX_MEM(BPF_DW, 6, 2, 24),
	    BPF_EXIT_INSN(),				/* 12 */
	    BPF_JMP_IMM(BPF_JNE, 1, 0, 2),		/* 13: -> 16 */
	    BPF_MOV64_IMM(0, 0),
	    BPF_EXIT_INSN(),
	    BPF_MOV64_REG(6, 1),			/* 16 */
	    BPF_MOV64_REG(7, 1),
	    BPF_MOV64_REG(8, 1),
	    BPF_MOV64_REG(9, 1),
	    BPF_STX_MEM(BPF_DW, 10, 1, -8),
	    BPF_ALU64_IMM(BPF_SUB, 1, 1),
	    BPF_CALL_REL(-10),				/* 22: -> 13 */
	    BPF_LDX_MEM(BPF_DW, 2, 10, -8),
	    BPF_JMP_REG(BPF_JNE, 2, 6, 2),		/* 24: -> 27 */
	    BPF_ALU64_REG(BPF_ADD, 0, 6),
	    BPF_EXIT_INSN(),
	    BPF_MOV64_IMM(0, 0x100000),		/* 27: frame clobbered */
	    BPF_EXIT_INSN());

	/* Arguments r1-r5 reach the callee; r0 comes back. */
	T("call local args", 1 + 2 + 3 + 4 + 5,
	  BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3),
	  BPF_MOV64_IMM(4, 4), BPF_MOV64_IMM(5, 5),
	  BPF_CALL_REL(1),
	  BPF_EXIT_INSN(),
	  BPF_MOV64_REG(0, 1), BPF_ALU64_REG(BPF_ADD, 0, 2), BPF_ALU64_REG(BPF_ADD, 0, 3),
	  BPF_ALU64_REG(BPF_ADD, 0, 4), BPF_ALU64_REG(BPF_ADD, 0, 5),
	  BPF_EXIT_INSN());

	/* A pointer into the caller's frame is readable and writable by the callee. */
	T("callee uses caller's stack", 15,
	  BPF_ST_MEM(BPF_DW, 10, -16, 5),
	  BPF_MOV64_REG(1, 10),
	  BPF_ALU64_IMM(BPF_ADD, 1, -16),
	  BPF_CALL_REL(2),				/* -> 6 */
	  BPF_LDX_MEM(BPF_DW, 0, 10, -16),
	  BPF_EXIT_INSN(),
	  BPF_LDX_MEM(BPF_DW, 2, 1, 0),		/* 6 */
	  BPF_ALU64_IMM(BPF_ADD, 2, 10),
	  BPF_STX_MEM(BPF_DW, 1, 2, 0),
	  BPF_MOV64_IMM(0, 0),
	  BPF_EXIT_INSN());

	/* The callee's frame starts zeroed and is separate from the caller's. */
	T("callee frame separate", 0x11,
	  BPF_ST_MEM(BPF_DW, 10, -8, 0x11),
	  BPF_CALL_REL(3),				/* -> 5 */
	  BPF_LDX_MEM(BPF_DW, 1, 10, -8),		/* 0x11 */
	  BPF_ALU64_REG(BPF_ADD, 0, 1),
	  BPF_EXIT_INSN(),
	  BPF_LDX_MEM(BPF_DW, 0, 10, -8),		/* 5: 0 */
	  BPF_ST_MEM(BPF_DW, 10, -8, 0x22),
	  BPF_LDX_MEM(BPF_DW, 1, 10, -512),		/* bottom of the callee's frame */
	  BPF_ALU64_REG(BPF_ADD, 0, 1),
	  BPF_EXIT_INSN());
	T("callee r10 is 512 below caller's", 512,
	  BPF_MOV64_REG(6, 10),
	  BPF_CALL_REL(3),				/* -> 5 */
	  BPF_ALU64_REG(BPF_SUB, 6, 0),
	  BPF_MOV64_REG(0, 6), BPF_EXIT_INSN(),
	  BPF_MOV64_REG(0, 10),			/* 5 */
	  BPF_EXIT_INSN());

	/* Recursion 10 deep and to the exact limit: n + 2 frames. */
	depth_run(10, true);
	depth_run(BPFVM_MAX_CALL_DEPTH - 2, true);
	depth_run(BPFVM_MAX_CALL_DEPTH - 1, false);
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static uint64_t h_args(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + b * 10 + c * 100 + d * 1000 + e * 10000;
}

static uint64_t h_stop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	bpfvm_run_stop(a + 1000);
	return 7;
}

/* Runs nested_prog on nested_engine from inside a helper, then stops the outer run
 * with the inner result + 100: the outer run must be the one stopped. */
static struct bpfvm_prog *nested_prog;
static int nested_engine;
static uint64_t h_nested(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	struct bpfvm_run_opts o;
	int rc = run_on(nested_prog, nested_engine, NULL, 0, NULL, 0, 0, &o);
	if (rc)
		return 0xBAD;
	bpfvm_run_stop(o.retval + 100);
	return 1;
}

static const struct bpfvm_helper local_helpers[] = {
	{ .id = ID_ARGS, .name = "test_args", .fn = h_args },
	{ .id = ID_STOP, .name = "test_stop", .fn = h_stop },
	{ .id = ID_NESTED, .name = "test_nested", .fn = h_nested },
};
static const struct bpfvm_prog_opts helper_opts = {
	.sz = sizeof(helper_opts), .name = "helpers",
	.helpers = local_helpers, .helper_cnt = 3,
};

static void expect_helper_prog(int line, const char *name, const struct bpf_insn *insns,
			       size_t cnt, int rc_want, uint64_t r0, uint64_t executed)
{
	struct bpfvm_prog *p = mkprog(line, name, insns, cnt, &helper_opts);
	for (int e = 0; p && e < NENG; e++) {
		struct bpfvm_run_opts o;
		nested_engine = e;
		int rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		CHECK_U64((int64_t)rc, (int64_t)rc_want, "line %d: %s [%s]", line, name,
			  engine_names[e]);
		CHECK_U64(o.retval, r0, "line %d: %s [%s]", line, name, engine_names[e]);
		if (executed)
			CHECK_U64(o.insn_executed, executed, "line %d: %s [%s]: insn_executed",
				  line, name, engine_names[e]);
	}
	bpfvm_prog__free(p);
}

static void test_helpers(void)
{
	expect_helper_prog(__LINE__, "local helper, 5 args", PROG(
		BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3),
		BPF_MOV64_IMM(4, 4), BPF_MOV64_IMM(5, 5),
		BPF_CALL_HELPER(ID_ARGS),
		BPF_EXIT_INSN()), 0, 54321, 7);
	expect_helper_prog(__LINE__, "helper stops the run", PROG(
		BPF_MOV64_IMM(1, 5),
		BPF_CALL_HELPER(ID_STOP),
		BPF_MOV64_IMM(0, 99),
		BPF_EXIT_INSN()), 0, 1005, 2);
	expect_helper_prog(__LINE__, "helper stops the run from a callee", PROG(
		BPF_CALL_REL(2),
		BPF_MOV64_IMM(0, 99),
		BPF_EXIT_INSN(),
		BPF_MOV64_IMM(1, 6),
		BPF_CALL_HELPER(ID_STOP),
		BPF_EXIT_INSN()), 0, 1006, 3);
	expect_helper_prog(__LINE__, "callx known id", PROG(
		BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3),
		BPF_MOV64_IMM(4, 4), BPF_MOV64_IMM(5, 5),
		BPF_MOV64_IMM(6, ID_ARGS),
		CALLX(6),
		BPF_EXIT_INSN()), 0, 54321, 8);
	expect_helper_prog(__LINE__, "callx stop", PROG(
		BPF_MOV64_IMM(1, 9),
		BPF_MOV64_IMM(6, ID_STOP),
		CALLX(6),
		BPF_MOV64_IMM(0, 99),
		BPF_EXIT_INSN()), 0, 1009, 3);

	/* Nested run from a helper: vm_current_run is restored for the outer run. */
	nested_prog = mkprog(__LINE__, "nested inner", PROG(
		BPF_MOV64_IMM(0, 5), BPF_EXIT_INSN()), NULL);
	if (nested_prog)
		expect_helper_prog(__LINE__, "nested run in a helper", PROG(
			BPF_CALL_HELPER(ID_NESTED),
			BPF_MOV64_IMM(0, 99),
			BPF_EXIT_INSN()), 0, 105, 1);
	bpfvm_prog__free(nested_prog);
	nested_prog = NULL;

	/* callx to unknown ids: one not bound, one that only matches in its low 32 bits. */
	struct bpfvm_prog *p = mkprog(__LINE__, "callx unknown", PROG(
		BPF_MOV64_IMM(6, 12345),
		BPF_MOV64_IMM(0, 0),
		CALLX(6),
		BPF_EXIT_INSN()), &helper_opts);
	for (int e = 0; p && e < NENG; e++) {
		struct bpfvm_run_opts o;
		int rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		check_fault(__LINE__, "callx unknown", e, rc, &o, BPFVM_FAULT_BAD_CALL, 2, 12345,
			    0);
	}
	bpfvm_prog__free(p);
	p = mkprog(__LINE__, "callx id above 32 bits", PROG(
		BPF_LD_IMM64(6, 0x100000000ull | ID_ARGS),
		BPF_MOV64_IMM(0, 0),
		CALLX(6),
		BPF_EXIT_INSN()), &helper_opts);
	for (int e = 0; p && e < NENG; e++) {
		struct bpfvm_run_opts o;
		int rc = run_on(p, e, NULL, 0, NULL, 0, 0, &o);
		check_fault(__LINE__, "callx id above 32 bits", e, rc, &o, BPFVM_FAULT_BAD_CALL,
			    3, 0x100000000ull | ID_ARGS, 0);
	}
	bpfvm_prog__free(p);
}

/* ---- Threads ------------------------------------------------------------------------------- */

/* Sums mem[8..len) and atomically counts its runs in a shared counter whose address
 * is in mem[0..8). */
#define THREAD_RUNS 3000
#define THREAD_BYTES 200

struct thread_arg {
	struct bpfvm_prog *prog;
	struct bpfvm_region *counter;
	uint8_t fill;
	int bad;
};

static void *thread_main(void *argp)
{
	struct thread_arg *a = argp;
	uint8_t mem[8 + THREAD_BYTES];
	wr64(mem, (uint64_t)(uintptr_t)a->counter->addr);
	memset(mem + 8, a->fill, THREAD_BYTES);
	for (int k = 0; k < THREAD_RUNS; k++) {
		struct bpfvm_run_opts o;
		int rc = run_on(a->prog, k % NENG, mem, sizeof(mem), a->counter, 1, 0, &o);
		if (rc || o.retval != (uint64_t)a->fill * THREAD_BYTES)
			a->bad++;
	}
	return NULL;
}

static void test_threads(void)
{
	struct bpfvm_prog *p = mkprog(__LINE__, "threads", PROG(
		BPF_LDX_MEM(BPF_DW, 6, 1, 0),
		BPF_MOV64_IMM(7, 1),
		BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 6, 7, 0),
		BPF_MOV64_IMM(0, 0),
		BPF_MOV64_IMM(3, 8),
		BPF_JMP_REG(BPF_JGE, 3, 2, 6),		/* 5: -> 12 */
		BPF_MOV64_REG(4, 1),
		BPF_ALU64_REG(BPF_ADD, 4, 3),
		BPF_LDX_MEM(BPF_B, 5, 4, 0),
		BPF_ALU64_REG(BPF_ADD, 0, 5),
		BPF_ALU64_IMM(BPF_ADD, 3, 1),
		BPF_JMP_A(-7),				/* -> 5 */
		BPF_EXIT_INSN()), NULL);
	if (!p)
		return;
	uint64_t counter = 0;
	struct bpfvm_region region = { &counter, sizeof(counter), true };
	struct thread_arg args[2] = { { p, &region, 1, 0 }, { p, &region, 3, 0 } };
	pthread_t th[2];
	int started = 0;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, thread_main, &args[i]) == 0)
			started++;
	CHECK_U64(started, 2, "threads started");
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	CHECK_U64(args[0].bad, 0, "thread 1 wrong results");
	CHECK_U64(args[1].bad, 0, "thread 2 wrong results");
	CHECK_U64(counter, (uint64_t)started * THREAD_RUNS, "shared atomic counter");
	bpfvm_prog__free(p);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_log_capture();
	test_alu();
	test_lddw();
	test_jumps();
	test_memory();
	test_atomics();
	test_faults();
	test_calls();
	test_helpers();
	test_threads();
	return test_summary();
}
