/*
 * interp.c — the eBPF interpreter: the portable engine and the reference semantics
 * (RFC 9669) that the JIT is held to.
 *
 * What it executes. Not the raw instructions but prog->decoded, which the validator
 * filled: the same 8-byte slots with `code` replaced by the isa.def row (enum
 * isa_op; ISA_LDDW_HI on lddw's second slot) and, for helper calls, `imm` replaced
 * by an index into prog->helper_fns. The interpreter never looks at opcode bits, so
 * dispatch is one table lookup, and a row of isa.def that has no handler here is a
 * compile error (the computed-goto table names a label op_<ROW> for every row).
 *
 * Two dispatch modes, one body. interp_body.h holds the whole interpreter loop,
 * written with a handful of macros (OP, NEXT, DISPATCH); this file includes it
 * twice:
 *   - interp_run: computed goto ("threaded code"): a static table of label
 *     addresses expanded from isa.def, and every handler ends in its own indirect
 *     jump, which branch predictors like. GCC and clang only.
 *   - interp_run_switch: a switch in a loop: portable C.
 * The semantics of each instruction are written once, in interp_body.h, through
 * the operation macros below (what ALU instructions compute and when jumps are
 * taken: isa_eval.h, shared with the JIT's constant folding); only the way
 * control reaches the next handler differs. Nothing about an instruction may be
 * written in one mode only.
 *
 * State. Registers, the instruction pointer, the budget countdown and the stack
 * bounds live in locals of the one function (no per-instruction call). r0..r10
 * sit in reg[16] (a 4-bit register field can never index out of bounds even if
 * the validator were wrong). The stack is run->stack (the caller's, so every
 * engine sees the same r10): BPFVM_MAX_CALL_DEPTH frames of BPFVM_STACK_SIZE bytes; frame k (main = 0) occupies the 512 bytes
 * below the top of frame k-1, and its r10 is its top. A frame is zeroed the first
 * time a run reaches its depth, which is the same as zeroing the whole stack at
 * the start (a frame is not addressable before), but costs 512 bytes per run in
 * the common case instead of 16 KiB. So reading uninitialised stack is
 * deterministic.
 *
 * Checked mode (the only mode for now). Every load, store and atomic access
 * [addr, addr+size) must lie inside one of:
 *   - the stack in use: [bottom of the current frame, top of the main frame),
 *     tested first with one subtract-and-compare (addr - lo <= span - size in
 *     unsigned arithmetic also rejects addr < lo, and span >= 512 > size);
 *   - the first region (the context memory, prepared by prog.c), kept in locals;
 *   - any other region, looked up out of line (vm_region_ok, prog.c): the other
 *     static regions, cached in locals at entry, and the run's dynamic regions
 *     (map values and ring-buffer records that helpers added during the run),
 *     read from the run at check time; stores need a writable region.
 * The arithmetic is overflow safe: no addr + size is ever formed. A violation
 * records {READ or WRITE, insn index, addr, size} in run->fault and returns
 * vm_fault_errno(kind). Atomics are checked as writes.
 *
 * Budget. A local countdown starts at run->budget (or UINT64_MAX when the budget
 * is 0 = unlimited) and is tested before every instruction: the instruction that
 * would exceed the budget faults with BPFVM_FAULT_BUDGET without executing.
 * run->insn_executed = start - countdown, so counting costs nothing extra.
 *
 * Calls. Helper calls go straight through prog->helper_fns; afterwards r1-r5 are
 * 0 (the ABI says clobbered: bpfvm defines the value, the same on every engine)
 * and, if the helper set run->stop, the "stopped" path decides: a callback the
 * helper ran faulted (propagate its fault), bpf_tail_call asked for a tail call
 * (continue with the target's code in this frame), or bpfvm_run_stop() ends the
 * run with r0 = run->stop_retval. callx looks the id in dst up
 * among the program's bound helpers (unknown: BPFVM_FAULT_BAD_CALL, with the id in
 * fault.addr). A local call pushes {r6-r9, return slot} on a frame array, moves
 * r10 and the stack bounds one frame down and jumps to pc + imm + 1; exit pops
 * it, or ends the run in the main frame. A call that would put more than
 * BPFVM_MAX_CALL_DEPTH frames in use faults at the call instruction.
 *
 * Atomics use __atomic builtins (sequentially consistent), since mem may be
 * shared by threads running the same program. A misaligned atomic (which the
 * kernel's verifier would refuse) is still bounds-checked and then done as a plain
 * read-modify-write: correct for one thread, not atomic.
 *
 * Callbacks (bpf_loop, bpf_for_each_map_elem; prog.h). Before calling a helper
 * the loop publishes its budget countdown and depth in the run (run->left,
 * run->depth) and takes the countdown back afterwards; the deepest frame zeroed
 * lives in the run (run->zeroed). A helper that runs a callback comes back
 * through run->engine->callback, which enters the same loop function again
 * (ENTER_CALLBACK) at the callback's first instruction one frame down, with the
 * run's countdown, and returns when that frame exits: the callback is a C-level
 * recursion of the loop (each level about 1.5 KiB of the thread's stack, at
 * most BPFVM_MAX_CALL_DEPTH - 1 levels). Its faults land in run->fault, where the
 * caller's stopped path finds them.
 *
 * Legacy packet loads (LD_ABS, LD_IND) call vm_ld_pkt like a helper: r0 = the
 * value, r1-r5 = 0, and outside the packet the run stops with r0 = 0.
 *
 * vm_current_run points at the run for its duration (saved and restored, since a
 * helper may start a nested run) so bpfvm_run_stop() can reach it.
 *
 * Forms the validator refuses (kfunc calls, BTF variables) or decodes into plain
 * lddw (the other pseudo sources) fault with BPFVM_FAULT_UNSUPPORTED if they are
 * ever reached.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "isa.h"
#include "isa_eval.h"
#include "prog.h"

/* Zeroes n bytes (a multiple of 64) at p, 16-byte aligned, with plain vector
 * stores. memset() of these fixed sizes compiles to `rep stos`, whose start-up
 * cost dominated short runs (about 50 of 78 ns for an empty program); the empty
 * asm keeps the compiler from turning this loop back into memset. */
typedef uint64_t zero_vec __attribute__((vector_size(16), aligned(16), may_alias));
static inline void zero_aligned(void *p, size_t n)
{
	const zero_vec z = { 0, 0 };
	for (size_t i = 0; i < n; i += 64) {
		zero_vec *v = (zero_vec *)((uint8_t *)p + i);
		v[0] = z;
		v[1] = z;
		v[2] = z;
		v[3] = z;
		__asm__("" : : "r"(v) : "memory");
	}
}

#if defined(__GNUC__)
#define LIKELY(x)	__builtin_expect(!!(x), 1)
#define UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define ALWAYS_INLINE	inline __attribute__((always_inline))
#define NOINLINE	__attribute__((noinline))
#else
#define LIKELY(x)	(x)
#define UNLIKELY(x)	(x)
#define ALWAYS_INLINE	inline
#define NOINLINE
#endif

#define STACK_TOTAL	VM_STACK_TOTAL

/* After a helper call r1-r5 are 0: the ABI leaves them undefined, and bpfvm
 * defines them so that every engine agrees (the JIT zeroes them too). */
#define CLOBBER_ARGS()	(reg[1] = reg[2] = reg[3] = reg[4] = reg[5] = 0)

/* Calls helper FN with r1-r5, the countdown and depth published for callbacks,
 * and goes on (or to the stopped path). */
#define CALL_HELPER(FN) do { \
	run->left = left; \
	run->depth = (uint32_t)depth; \
	reg[0] = (FN)(reg[1], reg[2], reg[3], reg[4], reg[5]); \
	left = run->left; \
	CLOBBER_ARGS(); \
	if (UNLIKELY(run->stop)) \
		goto stopped; \
	NEXT(); \
	} while (0)

/* LD_ABS / LD_IND of SIZE bytes at packet offset OFF (a 32-bit value). */
#define LD_PKT_OP(NAME, SIZE, OFF) \
	OP(NAME) { \
		reg[0] = vm_ld_pkt(run, (int32_t)(uint32_t)(OFF), SIZE); \
		CLOBBER_ARGS(); \
		if (UNLIKELY(run->stop)) \
			goto stopped; \
		NEXT(); \
	}

/* How the loop is entered (interp_body.h). */
enum interp_entry { ENTER_START, ENTER_TAIL, ENTER_CALLBACK };

/* vm_engine.depth: what the loop published at the helper call. */
static uint32_t interp_depth(const struct vm_run *run)
{
	return run->depth;
}

/* What a local call saves: the callee-saved registers and where to return. */
struct interp_frame {
	uint64_t saved[4];			/* r6..r9 */
	const struct bpf_insn *call;		/* the call instruction */
};

/* ---- Atomics ----------------------------------------------------------------------
 * at_<op><bits>(p, v): performs the operation on *p and returns the old value.
 * Aligned (the normal case): a sequentially consistent __atomic builtin.
 * Misaligned: a plain read-modify-write through memcpy (see the opening comment).
 */
#define AT_RMW(NAME, T, BUILTIN, NEWVAL) \
	static ALWAYS_INLINE T at_##NAME(void *p, T v) \
	{ \
		if (LIKELY(((uintptr_t)p & (sizeof(T) - 1)) == 0)) \
			return BUILTIN((T *)p, v, __ATOMIC_SEQ_CST); \
		T old, nv; \
		memcpy(&old, p, sizeof(T)); \
		nv = (T)(NEWVAL); \
		memcpy(p, &nv, sizeof(T)); \
		return old; \
	}
AT_RMW(add32, uint32_t, __atomic_fetch_add, old + v)
AT_RMW(or32, uint32_t, __atomic_fetch_or, old | v)
AT_RMW(and32, uint32_t, __atomic_fetch_and, old & v)
AT_RMW(xor32, uint32_t, __atomic_fetch_xor, old ^ v)
AT_RMW(xchg32, uint32_t, __atomic_exchange_n, v)
AT_RMW(add64, uint64_t, __atomic_fetch_add, old + v)
AT_RMW(or64, uint64_t, __atomic_fetch_or, old | v)
AT_RMW(and64, uint64_t, __atomic_fetch_and, old & v)
AT_RMW(xor64, uint64_t, __atomic_fetch_xor, old ^ v)
AT_RMW(xchg64, uint64_t, __atomic_exchange_n, v)
#undef AT_RMW

/* Stores desired if *p == expected; returns the old value either way. */
#define AT_CMPXCHG(NAME, T) \
	static ALWAYS_INLINE T at_##NAME(void *p, T expected, T desired) \
	{ \
		if (LIKELY(((uintptr_t)p & (sizeof(T) - 1)) == 0)) { \
			__atomic_compare_exchange_n((T *)p, &expected, desired, false, \
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
			return expected; \
		} \
		T old; \
		memcpy(&old, p, sizeof(T)); \
		if (old == expected) \
			memcpy(p, &desired, sizeof(T)); \
		return old; \
	}
AT_CMPXCHG(cmpxchg32, uint32_t)
AT_CMPXCHG(cmpxchg64, uint64_t)
#undef AT_CMPXCHG

/* ---- Memory checks ------------------------------------------------------------- */

/* The access [A, A+SZ) is allowed: the stack in use, the first region (m_len for
 * reads, m_wlen = its length if writable else 0 for writes), and out of line
 * (prog.c) the other static regions and the run's dynamic ones, which helpers add
 * while the program runs and so are read from the run at check time. */
#define MEM_OK(A, SZ, LEN, WRITE) \
	((A) - stack_lo <= stack_span - (SZ) || \
	 ((LEN) >= (SZ) && (A) - m_base <= (LEN) - (SZ)) || \
	 vm_region_ok(run, regions, nreg, (A), (SZ), (WRITE)))

#define CHECK_LOAD(A, SZ) do { \
	if (UNLIKELY(!MEM_OK(A, SZ, m_len, false))) \
		FAULT(BPFVM_FAULT_READ, A, SZ); \
	} while (0)
#define CHECK_STORE(A, SZ) do { \
	if (UNLIKELY(!MEM_OK(A, SZ, m_wlen, true))) \
		FAULT(BPFVM_FAULT_WRITE, A, SZ); \
	} while (0)

/* Records a fault and returns its errno. Out of line and cold, and called where the
 * fault happens, so that no fault detail is a variable live across the dispatch
 * loop (clang would otherwise thread it through every handler). */
#if defined(__GNUC__)
__attribute__((cold))
#endif
static NOINLINE int set_fault(struct vm_run *run, enum bpfvm_fault_kind kind, uint32_t insn,
			      uint64_t addr, uint32_t size)
{
	run->fault.kind = kind;
	run->fault.insn = insn;
	run->fault.addr = addr;
	run->fault.size = size;
	return vm_fault_errno(kind);
}
#define FAULT(KIND, ADDR, SIZE) do { \
	rc = set_fault(run, KIND, (uint32_t)(ip - code), ADDR, SIZE); \
	goto out; \
	} while (0)

/* ---- Operands -------------------------------------------------------------------- */
#define DST	reg[ip->dst_reg]
#define SRC	reg[ip->src_reg]
#define IMM64	((uint64_t)(int64_t)ip->imm)		/* imm sign-extended */
#define IMM32	((uint32_t)ip->imm)
#define OFF64	((uint64_t)(int64_t)ip->off)
#define PTR(A)	((void *)(uintptr_t)(A))

/* ---- Operation macros used by interp_body.h --------------------------------------
 * OP(ROW) opens the handler of an isa.def row, NEXT() goes on with the following
 * slot, JUMP(rel) to the slot rel after the following one; interp_body.h defines
 * them for the dispatch mode it is compiled for.
 */

/* ALU and conditional jumps compute through isa_eval.h (the JIT's constant folding
 * uses the same functions): b is src, or imm sign-extended to 64 bits (the 32-bit
 * forms take its low half). */
#define ALU_OPS(NAME) \
	OP(NAME##64_IMM) { DST = isa_alu(ISA_##NAME##64_IMM, DST, IMM64); NEXT(); } \
	OP(NAME##64_REG) { DST = isa_alu(ISA_##NAME##64_REG, DST, SRC); NEXT(); } \
	OP(NAME##32_IMM) { DST = isa_alu(ISA_##NAME##32_IMM, DST, IMM64); NEXT(); } \
	OP(NAME##32_REG) { DST = isa_alu(ISA_##NAME##32_REG, DST, SRC); NEXT(); }
/* NEG, MOVSX, END: one operand (B: what isa_alu reads as b) */
#define ALU_1(NAME, B) \
	OP(NAME) { DST = isa_alu(ISA_##NAME, DST, B); NEXT(); }
#define JMP_OPS(NAME) \
	OP(NAME##_IMM) { JUMP_IF(isa_cond(ISA_##NAME##_IMM, DST, IMM64)); } \
	OP(NAME##_REG) { JUMP_IF(isa_cond(ISA_##NAME##_REG, DST, SRC)); }
#define JUMP_IF(COND) do { \
	ip += (COND) ? (ptrdiff_t)ip->off + 1 : 1; \
	DISPATCH(); } while (0)

/* dst = *(T *)(src + off), sign- or zero-extended by T's signedness. */
#define LDX_OP(NAME, T) \
	OP(NAME) { \
		const uint64_t a_ = SRC + OFF64; \
		T v_; \
		CHECK_LOAD(a_, sizeof(T)); \
		memcpy(&v_, PTR(a_), sizeof(T)); \
		DST = (uint64_t)(int64_t)v_; \
		NEXT(); \
	}
/* *(T *)(dst + off) = VAL */
#define STORE_OP(NAME, T, VAL) \
	OP(NAME) { \
		const uint64_t a_ = DST + OFF64; \
		const T v_ = (T)(VAL); \
		CHECK_STORE(a_, sizeof(T)); \
		memcpy(PTR(a_), &v_, sizeof(T)); \
		NEXT(); \
	}
/* Atomic read-modify-write on *(T *)(dst + off) with src; FETCH: src = old value
 * (zero-extended for 32 bits). */
#define ATOMIC_OP(NAME, T, FN, FETCH) \
	OP(NAME) { \
		const uint64_t a_ = DST + OFF64; \
		CHECK_STORE(a_, sizeof(T)); \
		const T old_ = FN(PTR(a_), (T)SRC); \
		if (FETCH) \
			SRC = old_; \
		else \
			(void)old_; \
		NEXT(); \
	}
/* r0 = old value of *(T *)(dst + off); it is replaced by src if it equalled r0. */
#define CMPXCHG_OP(NAME, T, FN) \
	OP(NAME) { \
		const uint64_t a_ = DST + OFF64; \
		CHECK_STORE(a_, sizeof(T)); \
		reg[0] = FN(PTR(a_), (T)reg[0], (T)SRC); \
		NEXT(); \
	}

/* ---- The two engines --------------------------------------------------------------- */
#if defined(__GNUC__)
#define INTERP_FN	interp_run
#define INTERP_GOTO	1
#include "interp_body.h"
#undef INTERP_FN
#undef INTERP_GOTO
#endif

#define INTERP_FN	interp_run_switch
#define INTERP_GOTO	0
#include "interp_body.h"
#undef INTERP_FN
#undef INTERP_GOTO

#if !defined(__GNUC__)
/* Without computed goto, both engines are the switch. */
int interp_run(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0)
{
	return interp_run_switch(run, r1, r2, r0);
}
#define interp_run_core interp_run_switch_core
#endif

int interp_run_tail(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0)
{
	const uint64_t args[5] = { r1, r2 };
	return interp_run_core(run, ENTER_TAIL, 0, args, r0);
}
