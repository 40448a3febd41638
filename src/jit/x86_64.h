/*
 * x86_64.h — an x86-64 instruction encoder: the byte-level half of the JIT.
 *
 * Every function appends one machine instruction to a struct x86_buf, in its
 * shortest encoding (REX only when needed, disp8 and imm8 forms where they fit),
 * and carries its assembly in a comment. While the JIT sizes the image the buffer
 * is NULL: the functions then only advance pos, so one code path both measures and
 * writes. The first error (an out-of-range operand, a full buffer) sticks in err;
 * the JIT checks it once per pass. Nothing here knows about eBPF.
 */
#ifndef BPFVM_JIT_X86_64_H
#define BPFVM_JIT_X86_64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum x86_reg {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
};

/* Condition codes (the low nibble of Jcc / SETcc). */
enum x86_cc {
	CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* Group-1 ALU operations: the /digit of 81/83 and (digit << 3 | 1) as op r/m, r. */
enum x86_alu { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
/* Group-2 shifts (/digit of C1, D1, D3). */
enum x86_shift { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };
/* Group-3 unary operations (/digit of F7). */
enum x86_unary { UN_NOT = 2, UN_NEG = 3, UN_MUL = 4, UN_DIV = 6, UN_IDIV = 7 };

/* Loads: how a value of 1, 2, 4 or 8 bytes becomes a 64-bit register. */
enum x86_load {
	LD_ZX8,		/* movzx r32, byte [m] */
	LD_ZX16,	/* movzx r32, word [m] */
	LD_32,		/* mov r32, [m]        (zero-extends) */
	LD_64,		/* mov r64, [m] */
	LD_SX8,		/* movsx r64, byte [m] */
	LD_SX16,	/* movsx r64, word [m] */
	LD_SX32,	/* movsxd r64, dword [m] */
};

struct x86_buf {
	uint8_t *buf;	/* NULL: size only */
	size_t pos;
	size_t cap;
	int err;	/* first error, a negative errno */
};

void x86_byte(struct x86_buf *b, uint8_t v);
void x86_u32(struct x86_buf *b, uint32_t v);
void x86_fail(struct x86_buf *b, int err);

static inline bool x86_is_imm8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool x86_is_imm32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Register-to-register and register-immediate arithmetic. w64: REX.W form. */
void x86_mov_rr(struct x86_buf *b, bool w64, int dst, int src);
void x86_alu_rr(struct x86_buf *b, bool w64, enum x86_alu op, int dst, int src);
void x86_test_rr(struct x86_buf *b, bool w64, int dst, int src);
void x86_alu_ri(struct x86_buf *b, bool w64, enum x86_alu op, int dst, int32_t imm);
void x86_test_ri(struct x86_buf *b, bool w64, int dst, int32_t imm);
void x86_mov_ri(struct x86_buf *b, int dst, uint64_t imm);	/* shortest form */
void x86_mov_ri32(struct x86_buf *b, int dst, uint32_t imm);	/* zero-extends */
void x86_imul_rr(struct x86_buf *b, bool w64, int dst, int src);
void x86_imul_rri(struct x86_buf *b, bool w64, int dst, int src, int32_t imm);
void x86_shift_ri(struct x86_buf *b, bool w64, enum x86_shift op, int dst, uint8_t n);
void x86_shift_cl(struct x86_buf *b, bool w64, enum x86_shift op, int dst);
/* BMI2 shlx / shrx / sarx dst, src, cnt (op: SH_SHL, SH_SHR or SH_SAR) */
void x86_shiftx(struct x86_buf *b, bool w64, enum x86_shift op, int dst, int src, int cnt);
void x86_unary(struct x86_buf *b, bool w64, enum x86_unary op, int dst);
void x86_movzx16_rr(struct x86_buf *b, int dst, int src);
void x86_movsx_rr(struct x86_buf *b, bool w64, int bits, int dst, int src);
void x86_bswap(struct x86_buf *b, bool w64, int r);
void x86_rol16_8(struct x86_buf *b, int r);
void x86_cqo(struct x86_buf *b, bool w64);

/* Memory operands are [base + disp]. */
void x86_lea(struct x86_buf *b, int dst, int base, int32_t disp);
/* lea dst, [base + index + disp] (index < 0: none); !w64: the 32-bit sum, zero-extended */
void x86_lea_bi(struct x86_buf *b, bool w64, int dst, int base, int index, int32_t disp);
void x86_load(struct x86_buf *b, enum x86_load kind, int dst, int base, int32_t disp);
void x86_store_r(struct x86_buf *b, int size, int base, int32_t disp, int src);
void x86_store_i(struct x86_buf *b, int size, int base, int32_t disp, int32_t imm);
void x86_alu_rm(struct x86_buf *b, bool w64, enum x86_alu op, int dst, int base, int32_t disp);
void x86_alu_mi(struct x86_buf *b, bool w64, enum x86_alu op, int base, int32_t disp, int32_t imm);
void x86_cmp_m8i(struct x86_buf *b, int base, int32_t disp, int8_t imm);
void x86_incdec_m32(struct x86_buf *b, bool dec, int base, int32_t disp);
/* lock add/or/and/xor [m], r */
void x86_lock_alu_mr(struct x86_buf *b, bool w64, enum x86_alu op, int base, int32_t disp, int src);
void x86_lock_xadd(struct x86_buf *b, bool w64, int base, int32_t disp, int src);
void x86_xchg_mr(struct x86_buf *b, bool w64, int base, int32_t disp, int src);
void x86_lock_cmpxchg(struct x86_buf *b, bool w64, int base, int32_t disp, int src);

/* Control flow. rel is from the end of the instruction. */
void x86_jcc8(struct x86_buf *b, enum x86_cc cc, int8_t rel);
void x86_jcc32(struct x86_buf *b, enum x86_cc cc, int32_t rel);
void x86_jmp8(struct x86_buf *b, int8_t rel);
void x86_jmp32(struct x86_buf *b, int32_t rel);
void x86_call32(struct x86_buf *b, int32_t rel);
void x86_call_r(struct x86_buf *b, int r);
void x86_ret(struct x86_buf *b);
void x86_nop(struct x86_buf *b, size_t n);	/* n bytes of as few NOPs as possible */
void x86_push(struct x86_buf *b, int r);
void x86_pop(struct x86_buf *b, int r);

/* Zeroes the 512 bytes below rbp with SSE stores; clobbers r10, xmm0. */
void x86_zero_below_rbp(struct x86_buf *b, int bytes);

/* Lengths the JIT needs to reason about branches. */
#define X86_JCC8_LEN	2
#define X86_JCC32_LEN	6
#define X86_JMP8_LEN	2
#define X86_JMP32_LEN	5
#define X86_CALL32_LEN	5

#endif
