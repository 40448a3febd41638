/*
 * interp_body.h — the interpreter loop, included twice by interp.c (and only by
 * it; no include guard on purpose):
 *   INTERP_FN    name of the function to define
 *   INTERP_GOTO  1: computed-goto dispatch (GNU C); 0: switch dispatch
 * Every instruction's semantics is written here once, through the operation
 * macros of interp.c (ALU results and jump conditions through isa_eval.h); this
 * file only adds the control transfer of its mode:
 *   OP(ROW)      opens the handler of isa.def row ROW
 *   DISPATCH()   runs the slot ip points at (after charging the budget)
 *   NEXT()       runs the following slot
 *   JUMP(rel)    runs the slot rel after the following one
 * and defines, from INTERP_FN's name: the loop itself (INTERP_FN_core, entered
 * at a run's start, at a tail call's target, or for a callback), the
 * callback entry and engine table helpers reach through run->engine, and
 * INTERP_FN, the engine. See interp.c for the design.
 */

#if INTERP_GOTO
#define OP(NAME)	op_##NAME:
#define DISPATCH()	do { \
	if (UNLIKELY(left == 0)) \
		goto fault_budget; \
	left--; \
	goto *labels[ip->code]; \
	} while (0)
#else
#define OP(NAME)	case ISA_##NAME:
#define DISPATCH()	goto dispatch
#endif
#define NEXT()		do { ip++; DISPATCH(); } while (0)
#define JUMP(REL)	do { ip += (ptrdiff_t)(REL) + 1; DISPATCH(); } while (0)

/* Names of this mode's functions: interp_run_core, interp_run_switch_core ... */
#define MODE_(F, SUFFIX)	F##SUFFIX
#define MODE(F, SUFFIX)		MODE_(F, SUFFIX)
#define CORE		MODE(INTERP_FN, _core)
#define CALLBACK_FN	MODE(INTERP_FN, _callback)
#define ENGINE		MODE(INTERP_FN, _engine)

static const struct vm_engine ENGINE;

/* The loop. kind says how it is entered (enum interp_entry): at the start of a
 * run (args: r1, r2), continuing a run at a tail call's target (the same), or
 * for a callback at insn start in the frame below run->depth (args: r1-r5). */
static int CORE(struct vm_run *run, enum interp_entry kind, uint32_t start,
		const uint64_t args[5], uint64_t *r0)
{
#if INTERP_GOTO
	/* One label per isa.def row: a row without a handler below does not compile. */
	static const void *const labels[ISA__COUNT + 1] = {
#define ISA(NAME, ...) [ISA_##NAME] = &&op_##NAME,
#include "isa.def"
#undef ISA
		[ISA_LDDW_HI] = &&op_LDDW_HI,
	};
#endif
	/* The program changes at a tail call. */
	const struct bpfvm_prog *prog = run->prog;
	const struct bpf_insn *code = prog->decoded;
	bpfvm_helper_fn *helper_fns = prog->helper_fns;
	const struct bpf_insn *ip = code + start;
	_Alignas(16) uint64_t reg[16];

	/* Stack: frame k's top is stack_top - k * BPFVM_STACK_SIZE; the addressable
	 * part is [stack_lo, stack_lo + stack_span) = [bottom of the current frame,
	 * top of the main frame). Frames 1.. are zeroed when first reached (the
	 * deepest so far is run->zeroed). A callback's loop starts one frame below
	 * the caller's (base) and returns when that frame exits. */
	uint8_t *const stack = run->stack;
	struct interp_frame frames[BPFVM_MAX_CALL_DEPTH];
	const size_t base = kind == ENTER_CALLBACK ? (size_t)run->depth + 1 : 0;
	size_t depth = base;
	const uint64_t stack_top = (uint64_t)(uintptr_t)(stack + STACK_TOTAL);
	uint64_t stack_span = (base + 1) * BPFVM_STACK_SIZE;
	uint64_t stack_lo = stack_top - stack_span;

	/* Regions: the first one (the context memory) in locals, the rest in a list. */
	const struct bpfvm_region *regions = run->regions;
	size_t nreg = run->region_cnt;
	uint64_t m_base = 0, m_len = 0, m_wlen = 0;

	const uint64_t budget = run->budget ? run->budget : UINT64_MAX;
	uint64_t left = budget;

	struct vm_run *const prev_run = vm_current_run;
	int rc;

	if (nreg) {
		m_base = (uint64_t)(uintptr_t)regions[0].addr;
		m_len = regions[0].len;
		m_wlen = regions[0].writable ? m_len : 0;
		regions++;
		nreg--;
	}
	zero_aligned(reg, sizeof(reg));
	switch (kind) {
	case ENTER_START:
		zero_aligned(stack + STACK_TOTAL - BPFVM_STACK_SIZE, BPFVM_STACK_SIZE);
		run->stop = false;
		memset(&run->fault, 0, sizeof(run->fault));
		vm_run_dyn_clear(run);
		run->zeroed = 0;
		run->tail_cnt = 0;
		run->tail_prog = NULL;
		run->entry_r2 = args[1];
		run->engine = &ENGINE;
		reg[1] = args[0];
		reg[2] = args[1];
		break;
	case ENTER_TAIL:
		run->engine = &ENGINE;
		left = run->left;
		reg[1] = args[0];
		reg[2] = args[1];
		break;
	case ENTER_CALLBACK:
		left = run->left;
		if (depth > run->zeroed) {
			zero_aligned(PTR(stack_lo), BPFVM_STACK_SIZE);
			run->zeroed = (uint32_t)depth;
		}
		memcpy(&reg[1], args, 5 * sizeof(reg[1]));
		break;
	}
	reg[10] = stack_lo + BPFVM_STACK_SIZE;
	vm_current_run = run;

#if INTERP_GOTO
	DISPATCH();
#else
dispatch:
	if (UNLIKELY(left == 0))
		goto fault_budget;
	left--;
	switch (ip->code) {
	default:
#endif
	/* Forms the validator refuses or decodes into others (lddw with a pseudo
	 * source becomes a plain lddw): never executed. */
	OP(LDDW_HI)
	OP(LDDW_MAP_FD) OP(LDDW_MAP_VALUE) OP(LDDW_BTF_VAR) OP(LDDW_FUNC)
	OP(LDDW_MAP_IDX) OP(LDDW_MAP_IDX_VALUE)
	OP(CALL_KFUNC) {
		FAULT(BPFVM_FAULT_UNSUPPORTED, 0, 0);
	}

	/* ---- ALU and ALU64 ---------------------------------------------------------- */
	ALU_OPS(ADD) ALU_OPS(SUB) ALU_OPS(MUL) ALU_OPS(DIV) ALU_OPS(SDIV) ALU_OPS(MOD)
	ALU_OPS(SMOD) ALU_OPS(OR) ALU_OPS(AND) ALU_OPS(XOR) ALU_OPS(LSH) ALU_OPS(RSH)
	ALU_OPS(ARSH) ALU_OPS(MOV)
	ALU_1(NEG64, DST) ALU_1(NEG32, DST)
	ALU_1(MOVSX8_32, SRC) ALU_1(MOVSX16_32, SRC) ALU_1(MOVSX8_64, SRC)
	ALU_1(MOVSX16_64, SRC) ALU_1(MOVSX32_64, SRC)
	ALU_1(LE16, DST) ALU_1(LE32, DST) ALU_1(LE64, DST)
	ALU_1(BE16, DST) ALU_1(BE32, DST) ALU_1(BE64, DST)
	ALU_1(BSWAP16, DST) ALU_1(BSWAP32, DST) ALU_1(BSWAP64, DST)

	/* ---- 64-bit immediate ----------------------------------------------------- */
	OP(LDDW) {
		DST = (uint64_t)(uint32_t)ip[0].imm | (uint64_t)(uint32_t)ip[1].imm << 32;
		ip += 2;
		DISPATCH();
	}

	/* ---- Legacy packet loads: r0 = the packet's big-endian bytes at imm or
	 * src + imm (32-bit); outside the packet the run ends with r0 = 0 ---------- */
	LD_PKT_OP(LDABS_W, 4, ip->imm)
	LD_PKT_OP(LDABS_H, 2, ip->imm)
	LD_PKT_OP(LDABS_B, 1, ip->imm)
	LD_PKT_OP(LDIND_W, 4, (uint32_t)SRC + IMM32)
	LD_PKT_OP(LDIND_H, 2, (uint32_t)SRC + IMM32)
	LD_PKT_OP(LDIND_B, 1, (uint32_t)SRC + IMM32)

	/* ---- Loads and stores ------------------------------------------------------- */
	LDX_OP(LDXB, uint8_t)
	LDX_OP(LDXH, uint16_t)
	LDX_OP(LDXW, uint32_t)
	LDX_OP(LDXDW, uint64_t)
	LDX_OP(LDXSB, int8_t)
	LDX_OP(LDXSH, int16_t)
	LDX_OP(LDXSW, int32_t)

	STORE_OP(STB, uint8_t, IMM64)
	STORE_OP(STH, uint16_t, IMM64)
	STORE_OP(STW, uint32_t, IMM64)
	STORE_OP(STDW, uint64_t, IMM64)
	STORE_OP(STXB, uint8_t, SRC)
	STORE_OP(STXH, uint16_t, SRC)
	STORE_OP(STXW, uint32_t, SRC)
	STORE_OP(STXDW, uint64_t, SRC)

	/* ---- Atomics ---------------------------------------------------------------- */
	ATOMIC_OP(ATOMIC32_ADD, uint32_t, at_add32, 0)
	ATOMIC_OP(ATOMIC32_FETCH_ADD, uint32_t, at_add32, 1)
	ATOMIC_OP(ATOMIC32_OR, uint32_t, at_or32, 0)
	ATOMIC_OP(ATOMIC32_FETCH_OR, uint32_t, at_or32, 1)
	ATOMIC_OP(ATOMIC32_AND, uint32_t, at_and32, 0)
	ATOMIC_OP(ATOMIC32_FETCH_AND, uint32_t, at_and32, 1)
	ATOMIC_OP(ATOMIC32_XOR, uint32_t, at_xor32, 0)
	ATOMIC_OP(ATOMIC32_FETCH_XOR, uint32_t, at_xor32, 1)
	ATOMIC_OP(ATOMIC32_XCHG, uint32_t, at_xchg32, 1)
	CMPXCHG_OP(ATOMIC32_CMPXCHG, uint32_t, at_cmpxchg32)
	ATOMIC_OP(ATOMIC64_ADD, uint64_t, at_add64, 0)
	ATOMIC_OP(ATOMIC64_FETCH_ADD, uint64_t, at_add64, 1)
	ATOMIC_OP(ATOMIC64_OR, uint64_t, at_or64, 0)
	ATOMIC_OP(ATOMIC64_FETCH_OR, uint64_t, at_or64, 1)
	ATOMIC_OP(ATOMIC64_AND, uint64_t, at_and64, 0)
	ATOMIC_OP(ATOMIC64_FETCH_AND, uint64_t, at_and64, 1)
	ATOMIC_OP(ATOMIC64_XOR, uint64_t, at_xor64, 0)
	ATOMIC_OP(ATOMIC64_FETCH_XOR, uint64_t, at_xor64, 1)
	ATOMIC_OP(ATOMIC64_XCHG, uint64_t, at_xchg64, 1)
	CMPXCHG_OP(ATOMIC64_CMPXCHG, uint64_t, at_cmpxchg64)

	/* ---- Jumps ---------------------------------------------------------------------- */
	OP(JA)   { JUMP(ip->off); }
	OP(JA32) { JUMP(ip->imm); }
	JMP_OPS(JEQ) JMP_OPS(JNE) JMP_OPS(JGT) JMP_OPS(JGE) JMP_OPS(JLT) JMP_OPS(JLE)
	JMP_OPS(JSGT) JMP_OPS(JSGE) JMP_OPS(JSLT) JMP_OPS(JSLE) JMP_OPS(JSET)
	JMP_OPS(JEQ32) JMP_OPS(JNE32) JMP_OPS(JGT32) JMP_OPS(JGE32) JMP_OPS(JLT32)
	JMP_OPS(JLE32) JMP_OPS(JSGT32) JMP_OPS(JSGE32) JMP_OPS(JSLT32) JMP_OPS(JSLE32)
	JMP_OPS(JSET32)

	/* ---- Calls and exit ------------------------------------------------------------ */
	OP(CALL) {
		CALL_HELPER(helper_fns[(uint32_t)ip->imm]);
	}
	OP(CALLX) {
		const uint64_t id_ = DST;
		const struct bpfvm_helper *const h_ =
			id_ <= UINT32_MAX ? vm_prog_helper(prog, (uint32_t)id_) : NULL;
		if (UNLIKELY(!h_ || !h_->fn))
			FAULT(BPFVM_FAULT_BAD_CALL, id_, 0);
		CALL_HELPER(h_->fn);
	}
	OP(CALL_LOCAL) {
		if (UNLIKELY(depth + 1 >= BPFVM_MAX_CALL_DEPTH))
			FAULT(BPFVM_FAULT_CALL_DEPTH, 0, 0);
		struct interp_frame *const f_ = &frames[depth++];
		memcpy(f_->saved, &reg[6], sizeof(f_->saved));
		f_->call = ip;
		stack_lo -= BPFVM_STACK_SIZE;
		stack_span += BPFVM_STACK_SIZE;
		reg[10] = stack_lo + BPFVM_STACK_SIZE;
		if (depth > run->zeroed) {
			zero_aligned(PTR(stack_lo), BPFVM_STACK_SIZE);
			run->zeroed = (uint32_t)depth;
		}
		JUMP(ip->imm);
	}
	OP(EXIT) {
		if (depth == base)
			goto done;
		const struct interp_frame *const f_ = &frames[--depth];
		memcpy(&reg[6], f_->saved, sizeof(f_->saved));
		stack_lo += BPFVM_STACK_SIZE;
		stack_span -= BPFVM_STACK_SIZE;
		reg[10] = stack_lo + BPFVM_STACK_SIZE;
		ip = f_->call;
		NEXT();
	}
#if !INTERP_GOTO
	}
#endif

stopped:
	/* After a helper (or packet load) set run->stop: a callback it ran faulted
	 * or found no frame left (the fault is recorded; insn VM_INSN_AT_CALL means
	 * this call), a tail call is to be made, or the run ends with stop_retval. */
	if (UNLIKELY(run->fault.kind != BPFVM_FAULT_NONE)) {
		if (run->fault.insn == VM_INSN_AT_CALL)
			run->fault.insn = (uint32_t)(ip - code);
		rc = vm_fault_errno(run->fault.kind);
		goto out;
	}
	if (run->tail_prog) {
		/* The same frame (bpf_tail_call allows it at depth 0 only), the
		 * target's first instruction; fault indexes are the target's from
		 * now on. */
		prog = run->tail_prog;
		run->prog = prog;
		run->tail_prog = NULL;
		run->stop = false;
		code = prog->decoded;
		helper_fns = prog->helper_fns;
		ip = code;
		zero_aligned(reg, sizeof(reg));
		reg[1] = run->tail_r1;
		reg[2] = run->entry_r2;
		reg[10] = stack_top;
		DISPATCH();
	}
	reg[0] = run->stop_retval;
done:
	*r0 = reg[0];
	rc = 0;
	goto out;
fault_budget:
	FAULT(BPFVM_FAULT_BUDGET, 0, 0);
out:
	run->left = left;
	if (kind == ENTER_START)
		run->insn_executed = budget - left;
	vm_current_run = prev_run;
	return rc;
}

/* vm_engine.callback (prog.h): a new loop one frame below the helper's caller. */
static int CALLBACK_FN(struct vm_run *run, uint32_t k, const uint64_t args[5], uint64_t *r0)
{
	const uint32_t depth = run->depth;
	if (depth + 1 >= BPFVM_MAX_CALL_DEPTH) {
		run->fault = (struct bpfvm_fault){ .kind = BPFVM_FAULT_CALL_DEPTH,
						   .insn = VM_INSN_AT_CALL };
		return vm_fault_errno(BPFVM_FAULT_CALL_DEPTH);
	}
	int rc = CORE(run, ENTER_CALLBACK, run->prog->func_starts[k], args, r0);
	run->depth = depth;	/* the callback's helper calls published theirs */
	return rc;
}

static const struct vm_engine ENGINE = { .callback = CALLBACK_FN, .depth = interp_depth };

int INTERP_FN(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0)
{
	const uint64_t args[5] = { r1, r2 };
	return CORE(run, ENTER_START, 0, args, r0);
}

#undef OP
#undef DISPATCH
#undef NEXT
#undef JUMP
#undef CORE
#undef CALLBACK_FN
#undef ENGINE
#undef MODE
#undef MODE_
