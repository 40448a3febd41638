/*
 * isa_eval.h — what the ALU instructions compute and when the conditional jumps
 * are taken, written once (RFC 9669's semantics, free of C undefined behaviour):
 * the interpreter executes instructions through these functions, and the JIT folds
 * instructions whose operands it knows through the same ones, so the two cannot
 * disagree on a corner case (division by zero, INT_MIN / -1, shift counts, the
 * 32-bit forms' zero-extension).
 *
 *   isa_alu(row, a, b)   the new dst of an ALU, NEG, MOVSX or END row, from
 *                        dst = a and b = src (register forms) or the immediate
 *                        sign-extended to 64 bits (immediate forms)
 *   isa_cond(row, a, b)  whether a conditional jump row is taken, operands as above
 *
 * Both are always inlined: called with a constant row (as every interpreter
 * handler does) they compile to the operation alone.
 */
#ifndef BPFVM_ISA_EVAL_H
#define BPFVM_ISA_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "isa.h"

#if defined(__GNUC__)
#define ISA_INLINE	static inline __attribute__((always_inline))
#else
#define ISA_INLINE	static inline
#endif

/* Division and modulo: x / 0 = 0, x % 0 = x; signed x / -1 = -x (INT_MIN / -1 =
 * INT_MIN) and x % -1 = 0, computed without the overflowing C division. */
ISA_INLINE uint64_t isa_udiv64(uint64_t a, uint64_t b) { return b ? a / b : 0; }
ISA_INLINE uint64_t isa_umod64(uint64_t a, uint64_t b) { return b ? a % b : a; }
ISA_INLINE uint32_t isa_udiv32(uint32_t a, uint32_t b) { return b ? a / b : 0; }
ISA_INLINE uint32_t isa_umod32(uint32_t a, uint32_t b) { return b ? a % b : a; }
ISA_INLINE uint64_t isa_sdiv64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return 0;
	if (b == UINT64_MAX)
		return 0 - a;
	return (uint64_t)((int64_t)a / (int64_t)b);
}
ISA_INLINE uint64_t isa_smod64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return a;
	if (b == UINT64_MAX)
		return 0;
	return (uint64_t)((int64_t)a % (int64_t)b);
}
ISA_INLINE uint32_t isa_sdiv32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return 0;
	if (b == UINT32_MAX)
		return 0u - a;
	return (uint32_t)((int32_t)a / (int32_t)b);
}
ISA_INLINE uint32_t isa_smod32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return a;
	if (b == UINT32_MAX)
		return 0;
	return (uint32_t)((int32_t)a % (int32_t)b);
}

/* Byte order conversions of the END instructions on this host: le/be convert to
 * that byte order (truncating to the width), bswap always swaps. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ISA_HOST_BE	1
#else
#define ISA_HOST_BE	0
#endif
ISA_INLINE uint64_t isa_swap(uint64_t a, int bits)
{
	return bits == 16 ? __builtin_bswap16((uint16_t)a) :
	       bits == 32 ? __builtin_bswap32((uint32_t)a) : __builtin_bswap64(a);
}
ISA_INLINE uint64_t isa_trunc(uint64_t a, int bits)
{
	return bits == 16 ? (uint16_t)a : bits == 32 ? (uint32_t)a : a;
}

#define ISA_KX(NAME)	case ISA_##NAME##_IMM: case ISA_##NAME##_REG
ISA_INLINE uint64_t isa_alu(int row, uint64_t a, uint64_t b)
{
	const uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
	switch (row) {
	ISA_KX(ADD64):	return a + b;
	ISA_KX(SUB64):	return a - b;
	ISA_KX(MUL64):	return a * b;
	ISA_KX(DIV64):	return isa_udiv64(a, b);
	ISA_KX(SDIV64):	return isa_sdiv64(a, b);
	ISA_KX(MOD64):	return isa_umod64(a, b);
	ISA_KX(SMOD64):	return isa_smod64(a, b);
	ISA_KX(OR64):	return a | b;
	ISA_KX(AND64):	return a & b;
	ISA_KX(XOR64):	return a ^ b;
	ISA_KX(LSH64):	return a << (b & 63);
	ISA_KX(RSH64):	return a >> (b & 63);
	ISA_KX(ARSH64):	return (uint64_t)((int64_t)a >> (b & 63));
	ISA_KX(MOV64):	return b;
	ISA_KX(ADD32):	return (uint32_t)(a32 + b32);
	ISA_KX(SUB32):	return (uint32_t)(a32 - b32);
	ISA_KX(MUL32):	return (uint32_t)(a32 * b32);
	ISA_KX(DIV32):	return isa_udiv32(a32, b32);
	ISA_KX(SDIV32):	return isa_sdiv32(a32, b32);
	ISA_KX(MOD32):	return isa_umod32(a32, b32);
	ISA_KX(SMOD32):	return isa_smod32(a32, b32);
	ISA_KX(OR32):	return a32 | b32;
	ISA_KX(AND32):	return a32 & b32;
	ISA_KX(XOR32):	return a32 ^ b32;
	ISA_KX(LSH32):	return (uint32_t)(a32 << (b32 & 31));
	ISA_KX(RSH32):	return a32 >> (b32 & 31);
	ISA_KX(ARSH32):	return (uint32_t)((int32_t)a32 >> (b32 & 31));
	ISA_KX(MOV32):	return b32;
	case ISA_NEG64:		return 0 - a;
	case ISA_NEG32:		return (uint32_t)(0u - a32);
	case ISA_MOVSX8_32:	return (uint32_t)(int32_t)(int8_t)b;
	case ISA_MOVSX16_32:	return (uint32_t)(int32_t)(int16_t)b;
	case ISA_MOVSX8_64:	return (uint64_t)(int64_t)(int8_t)b;
	case ISA_MOVSX16_64:	return (uint64_t)(int64_t)(int16_t)b;
	case ISA_MOVSX32_64:	return (uint64_t)(int64_t)(int32_t)b;
	case ISA_LE16:	return ISA_HOST_BE ? isa_swap(a, 16) : isa_trunc(a, 16);
	case ISA_LE32:	return ISA_HOST_BE ? isa_swap(a, 32) : isa_trunc(a, 32);
	case ISA_LE64:	return ISA_HOST_BE ? isa_swap(a, 64) : a;
	case ISA_BE16:	return ISA_HOST_BE ? isa_trunc(a, 16) : isa_swap(a, 16);
	case ISA_BE32:	return ISA_HOST_BE ? isa_trunc(a, 32) : isa_swap(a, 32);
	case ISA_BE64:	return ISA_HOST_BE ? a : isa_swap(a, 64);
	case ISA_BSWAP16:	return isa_swap(a, 16);
	case ISA_BSWAP32:	return isa_swap(a, 32);
	case ISA_BSWAP64:	return isa_swap(a, 64);
	default:	return a;	/* not an ALU row */
	}
}

ISA_INLINE bool isa_cond(int row, uint64_t a, uint64_t b)
{
	const uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
	switch (row) {
	ISA_KX(JEQ):	return a == b;
	ISA_KX(JNE):	return a != b;
	ISA_KX(JGT):	return a > b;
	ISA_KX(JGE):	return a >= b;
	ISA_KX(JLT):	return a < b;
	ISA_KX(JLE):	return a <= b;
	ISA_KX(JSGT):	return (int64_t)a > (int64_t)b;
	ISA_KX(JSGE):	return (int64_t)a >= (int64_t)b;
	ISA_KX(JSLT):	return (int64_t)a < (int64_t)b;
	ISA_KX(JSLE):	return (int64_t)a <= (int64_t)b;
	ISA_KX(JSET):	return (a & b) != 0;
	ISA_KX(JEQ32):	return a32 == b32;
	ISA_KX(JNE32):	return a32 != b32;
	ISA_KX(JGT32):	return a32 > b32;
	ISA_KX(JGE32):	return a32 >= b32;
	ISA_KX(JLT32):	return a32 < b32;
	ISA_KX(JLE32):	return a32 <= b32;
	ISA_KX(JSGT32):	return (int32_t)a32 > (int32_t)b32;
	ISA_KX(JSGE32):	return (int32_t)a32 >= (int32_t)b32;
	ISA_KX(JSLT32):	return (int32_t)a32 < (int32_t)b32;
	ISA_KX(JSLE32):	return (int32_t)a32 <= (int32_t)b32;
	ISA_KX(JSET32):	return (a32 & b32) != 0;
	default:	return false;	/* not a conditional jump row */
	}
}
#undef ISA_KX

#endif
