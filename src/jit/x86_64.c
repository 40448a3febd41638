/*
 * x86_64.c — the x86-64 instruction encoder (see x86_64.h).
 *
 * Encoding in brief: [F0 lock] [66 opsize] [REX 0100WRXB] opcode ModRM [SIB] [disp]
 * [imm]. REX.W selects 64-bit operands, R/X/B extend the reg, index and base fields
 * to r8-r15; a REX byte is also needed to name sil/dil/spl/bpl as byte registers.
 * ModRM: mod (11 register, 00 [base], 01 [base+disp8], 10 [base+disp32]), reg, rm.
 * rm = 100 (rsp, r12) needs a SIB byte (0x24: no index, that base); mod 00 with
 * rm = 101 (rbp, r13) means rip-relative, so those bases always carry a disp8.
 * Writing a 32-bit register zero-extends into the full 64 bits, which the eBPF
 * ALU32 semantics want for free.
 */
#include <errno.h>
#include <string.h>

#include "x86_64.h"

/* Flags of an instruction form. */
#define F_W	1u	/* REX.W: 64-bit operand */
#define F_66	2u	/* 16-bit operand */
#define F_LOCK	4u	/* lock prefix */
#define F_B8R	8u	/* the reg field names a byte register */
#define F_B8M	16u	/* the rm field names a byte register */

void x86_fail(struct x86_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

void x86_byte(struct x86_buf *b, uint8_t v)
{
	if (b->buf) {
		if (b->pos >= b->cap) {
			x86_fail(b, -ENOSPC);
			return;
		}
		b->buf[b->pos] = v;
	}
	b->pos++;
}

void x86_u32(struct x86_buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		x86_byte(b, (uint8_t)(v >> (8 * i)));
}

static void u16(struct x86_buf *b, uint16_t v)
{
	x86_byte(b, (uint8_t)v);
	x86_byte(b, (uint8_t)(v >> 8));
}

static void prefixes(struct x86_buf *b, unsigned f, int reg, int rm)
{
	if (f & F_LOCK)
		x86_byte(b, 0xf0);
	if (f & F_66)
		x86_byte(b, 0x66);
	uint8_t rex = (uint8_t)(0x40 | (f & F_W ? 8 : 0) | (reg & 8 ? 4 : 0) | (rm & 8 ? 1 : 0));
	if (rex != 0x40 || ((f & F_B8R) && reg >= 4 && reg <= 7) ||
	    ((f & F_B8M) && rm >= 4 && rm <= 7))
		x86_byte(b, rex);
}

static void opcode(struct x86_buf *b, unsigned opc)
{
	if (opc > 0xffff)
		x86_byte(b, (uint8_t)(opc >> 16));
	if (opc > 0xff)
		x86_byte(b, (uint8_t)(opc >> 8));
	x86_byte(b, (uint8_t)opc);
}

/* op reg, rm (register direct) */
static void op_rr(struct x86_buf *b, unsigned f, unsigned opc, int reg, int rm)
{
	prefixes(b, f, reg, rm);
	opcode(b, opc);
	x86_byte(b, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* op reg, [base + disp] */
static void op_rm(struct x86_buf *b, unsigned f, unsigned opc, int reg, int base, int32_t disp)
{
	int rm = base & 7;
	int mod = disp == 0 && rm != 5 ? 0 : x86_is_imm8(disp) ? 1 : 2;
	prefixes(b, f, reg, base);
	opcode(b, opc);
	x86_byte(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | rm));
	if (rm == 4)
		x86_byte(b, 0x24);			/* SIB: [base] */
	if (mod == 1)
		x86_byte(b, (uint8_t)disp);
	else if (mod == 2)
		x86_u32(b, (uint32_t)disp);
}

static unsigned w(bool w64) { return w64 ? F_W : 0; }

void x86_mov_rr(struct x86_buf *b, bool w64, int dst, int src)
{
	op_rr(b, w(w64), 0x89, src, dst);		/* mov dst, src */
}

void x86_alu_rr(struct x86_buf *b, bool w64, enum x86_alu op, int dst, int src)
{
	op_rr(b, w(w64), (unsigned)op << 3 | 1, src, dst);	/* add/or/and/sub/xor/cmp dst, src */
}

void x86_test_rr(struct x86_buf *b, bool w64, int dst, int src)
{
	op_rr(b, w(w64), 0x85, src, dst);		/* test dst, src */
}

void x86_alu_ri(struct x86_buf *b, bool w64, enum x86_alu op, int dst, int32_t imm)
{
	if (x86_is_imm8(imm)) {
		op_rr(b, w(w64), 0x83, op, dst);	/* op dst, imm8 (sign-extended) */
		x86_byte(b, (uint8_t)imm);
	} else if (dst == RAX) {
		prefixes(b, w(w64), 0, 0);
		x86_byte(b, (uint8_t)((unsigned)op << 3 | 5));	/* op eax/rax, imm32 */
		x86_u32(b, (uint32_t)imm);
	} else {
		op_rr(b, w(w64), 0x81, op, dst);	/* op dst, imm32 */
		x86_u32(b, (uint32_t)imm);
	}
}

void x86_test_ri(struct x86_buf *b, bool w64, int dst, int32_t imm)
{
	if (imm >= 0 && imm <= 0xff) {
		/* test dst8, imm8: the same flags for a mask that fits a byte
		 * (sil/dil need a REX byte, which F_B8M adds) */
		op_rr(b, F_B8M, 0xf6, 0, dst);
		x86_byte(b, (uint8_t)imm);
		return;
	}
	op_rr(b, w(w64), 0xf7, 0, dst);			/* test dst, imm32 */
	x86_u32(b, (uint32_t)imm);
}

void x86_mov_ri32(struct x86_buf *b, int dst, uint32_t imm)
{
	if (imm == 0) {
		op_rr(b, 0, 0x31, dst, dst);		/* xor dst32, dst32 */
		return;
	}
	prefixes(b, 0, 0, dst);
	x86_byte(b, (uint8_t)(0xb8 + (dst & 7)));	/* mov dst32, imm32 */
	x86_u32(b, imm);
}

void x86_mov_ri(struct x86_buf *b, int dst, uint64_t imm)
{
	if (imm <= UINT32_MAX) {
		x86_mov_ri32(b, dst, (uint32_t)imm);
	} else if (x86_is_imm32((int64_t)imm)) {
		op_rr(b, F_W, 0xc7, 0, dst);		/* mov dst, simm32 */
		x86_u32(b, (uint32_t)imm);
	} else {
		prefixes(b, F_W, 0, dst);
		x86_byte(b, (uint8_t)(0xb8 + (dst & 7)));	/* movabs dst, imm64 */
		x86_u32(b, (uint32_t)imm);
		x86_u32(b, (uint32_t)(imm >> 32));
	}
}

void x86_imul_rr(struct x86_buf *b, bool w64, int dst, int src)
{
	op_rr(b, w(w64), 0x0faf, dst, src);		/* imul dst, src */
}

void x86_imul_rri(struct x86_buf *b, bool w64, int dst, int src, int32_t imm)
{
	if (x86_is_imm8(imm)) {
		op_rr(b, w(w64), 0x6b, dst, src);	/* imul dst, src, imm8 */
		x86_byte(b, (uint8_t)imm);
	} else {
		op_rr(b, w(w64), 0x69, dst, src);	/* imul dst, src, imm32 */
		x86_u32(b, (uint32_t)imm);
	}
}

void x86_shift_ri(struct x86_buf *b, bool w64, enum x86_shift op, int dst, uint8_t n)
{
	if (n == 1) {
		op_rr(b, w(w64), 0xd1, op, dst);	/* shl/shr/sar dst, 1 */
	} else {
		op_rr(b, w(w64), 0xc1, op, dst);	/* shl/shr/sar dst, imm8 */
		x86_byte(b, n);
	}
}

void x86_shift_cl(struct x86_buf *b, bool w64, enum x86_shift op, int dst)
{
	op_rr(b, w(w64), 0xd3, op, dst);		/* shl/shr/sar dst, cl */
}

void x86_shiftx(struct x86_buf *b, bool w64, enum x86_shift op, int dst, int src, int cnt)
{
	/* VEX.LZ.{66,F2,F3}.0F38.W F7 /r (BMI2): the count in vvvv, no flags */
	unsigned pp = op == SH_SHL ? 1 : op == SH_SAR ? 2 : 3;
	x86_byte(b, 0xc4);
	x86_byte(b, (uint8_t)((dst & 8 ? 0 : 0x80) | 0x40 | (src & 8 ? 0 : 0x20) | 0x02));
	x86_byte(b, (uint8_t)((w64 ? 0x80 : 0) | (unsigned)(~cnt & 15) << 3 | pp));
	x86_byte(b, 0xf7);
	x86_byte(b, (uint8_t)(0xc0 | (dst & 7) << 3 | (src & 7)));	/* shlx/shrx/sarx dst, src, cnt */
}

void x86_unary(struct x86_buf *b, bool w64, enum x86_unary op, int dst)
{
	op_rr(b, w(w64), 0xf7, op, dst);		/* neg/div/idiv dst */
}

void x86_movzx16_rr(struct x86_buf *b, int dst, int src)
{
	op_rr(b, 0, 0x0fb7, dst, src);			/* movzx dst32, src16 */
}

void x86_movsx_rr(struct x86_buf *b, bool w64, int bits, int dst, int src)
{
	if (bits == 8)
		op_rr(b, w(w64) | F_B8M, 0x0fbe, dst, src);	/* movsx dst, src8 */
	else if (bits == 16)
		op_rr(b, w(w64), 0x0fbf, dst, src);		/* movsx dst, src16 */
	else
		op_rr(b, F_W, 0x63, dst, src);			/* movsxd dst, src32 */
}

void x86_bswap(struct x86_buf *b, bool w64, int r)
{
	prefixes(b, w(w64), 0, r);
	x86_byte(b, 0x0f);
	x86_byte(b, (uint8_t)(0xc8 + (r & 7)));		/* bswap r */
}

void x86_rol16_8(struct x86_buf *b, int r)
{
	op_rr(b, F_66, 0xc1, SH_ROL, r);		/* rol r16, 8 */
	x86_byte(b, 8);
}

void x86_cqo(struct x86_buf *b, bool w64)
{
	prefixes(b, w(w64), 0, 0);
	x86_byte(b, 0x99);				/* cqo / cdq */
}

void x86_lea(struct x86_buf *b, int dst, int base, int32_t disp)
{
	op_rm(b, F_W, 0x8d, dst, base, disp);		/* lea dst, [base + disp] */
}

void x86_lea_bi(struct x86_buf *b, bool w64, int dst, int base, int index, int32_t disp)
{
	if (index < 0 || (index & 15) == RSP) {
		if (index < 0 && w64) {
			x86_lea(b, dst, base, disp);
			return;
		}
		if (index >= 0) {
			x86_fail(b, -EINVAL);		/* rsp cannot be an index */
			return;
		}
	}
	uint8_t rex = (uint8_t)(0x40 | (w64 ? 8 : 0) | (dst & 8 ? 4 : 0) |
				(index >= 0 && (index & 8) ? 2 : 0) | (base & 8 ? 1 : 0));
	if (rex != 0x40)
		x86_byte(b, rex);
	x86_byte(b, 0x8d);
	int mod = disp == 0 && (base & 7) != 5 ? 0 : x86_is_imm8(disp) ? 1 : 2;
	if (index >= 0) {
		x86_byte(b, (uint8_t)(mod << 6 | (dst & 7) << 3 | 4));	/* ModRM: SIB follows */
		x86_byte(b, (uint8_t)((index & 7) << 3 | (base & 7)));	/* SIB: scale 1 */
	} else {
		x86_byte(b, (uint8_t)(mod << 6 | (dst & 7) << 3 | (base & 7)));
		if ((base & 7) == 4)
			x86_byte(b, 0x24);			/* SIB: [base] */
	}
	if (mod == 1)
		x86_byte(b, (uint8_t)disp);
	else if (mod == 2)
		x86_u32(b, (uint32_t)disp);
}

void x86_load(struct x86_buf *b, enum x86_load kind, int dst, int base, int32_t disp)
{
	switch (kind) {
	case LD_ZX8:  op_rm(b, 0, 0x0fb6, dst, base, disp); break;	/* movzx dst32, byte [m] */
	case LD_ZX16: op_rm(b, 0, 0x0fb7, dst, base, disp); break;	/* movzx dst32, word [m] */
	case LD_32:   op_rm(b, 0, 0x8b, dst, base, disp); break;	/* mov dst32, [m] */
	case LD_64:   op_rm(b, F_W, 0x8b, dst, base, disp); break;	/* mov dst, [m] */
	case LD_SX8:  op_rm(b, F_W, 0x0fbe, dst, base, disp); break;	/* movsx dst, byte [m] */
	case LD_SX16: op_rm(b, F_W, 0x0fbf, dst, base, disp); break;	/* movsx dst, word [m] */
	case LD_SX32: op_rm(b, F_W, 0x63, dst, base, disp); break;	/* movsxd dst, dword [m] */
	}
}

void x86_store_r(struct x86_buf *b, int size, int base, int32_t disp, int src)
{
	switch (size) {
	case 1: op_rm(b, F_B8R, 0x88, src, base, disp); break;	/* mov byte [m], src8 */
	case 2: op_rm(b, F_66, 0x89, src, base, disp); break;	/* mov word [m], src16 */
	case 4: op_rm(b, 0, 0x89, src, base, disp); break;	/* mov dword [m], src32 */
	default: op_rm(b, F_W, 0x89, src, base, disp); break;	/* mov qword [m], src */
	}
}

void x86_store_i(struct x86_buf *b, int size, int base, int32_t disp, int32_t imm)
{
	switch (size) {
	case 1:
		op_rm(b, 0, 0xc6, 0, base, disp);		/* mov byte [m], imm8 */
		x86_byte(b, (uint8_t)imm);
		break;
	case 2:
		op_rm(b, F_66, 0xc7, 0, base, disp);		/* mov word [m], imm16 */
		u16(b, (uint16_t)imm);
		break;
	default:
		op_rm(b, size == 8 ? F_W : 0, 0xc7, 0, base, disp);	/* mov [m], simm32 */
		x86_u32(b, (uint32_t)imm);
		break;
	}
}

void x86_alu_rm(struct x86_buf *b, bool w64, enum x86_alu op, int dst, int base, int32_t disp)
{
	op_rm(b, w(w64), (unsigned)op << 3 | 3, dst, base, disp);	/* op dst, [m] */
}

void x86_alu_mi(struct x86_buf *b, bool w64, enum x86_alu op, int base, int32_t disp, int32_t imm)
{
	if (x86_is_imm8(imm)) {
		op_rm(b, w(w64), 0x83, op, base, disp);	/* op [m], imm8 */
		x86_byte(b, (uint8_t)imm);
	} else {
		op_rm(b, w(w64), 0x81, op, base, disp);	/* op [m], imm32 */
		x86_u32(b, (uint32_t)imm);
	}
}

void x86_cmp_m8i(struct x86_buf *b, int base, int32_t disp, int8_t imm)
{
	op_rm(b, 0, 0x80, ALU_CMP, base, disp);		/* cmp byte [m], imm8 */
	x86_byte(b, (uint8_t)imm);
}

void x86_incdec_m32(struct x86_buf *b, bool dec, int base, int32_t disp)
{
	op_rm(b, 0, 0xff, dec ? 1 : 0, base, disp);	/* inc/dec dword [m] */
}

void x86_lock_alu_mr(struct x86_buf *b, bool w64, enum x86_alu op, int base, int32_t disp, int src)
{
	op_rm(b, F_LOCK | w(w64), (unsigned)op << 3 | 1, src, base, disp);	/* lock op [m], src */
}

void x86_lock_xadd(struct x86_buf *b, bool w64, int base, int32_t disp, int src)
{
	op_rm(b, F_LOCK | w(w64), 0x0fc1, src, base, disp);	/* lock xadd [m], src */
}

void x86_xchg_mr(struct x86_buf *b, bool w64, int base, int32_t disp, int src)
{
	op_rm(b, w(w64), 0x87, src, base, disp);	/* xchg [m], src (implicitly locked) */
}

void x86_lock_cmpxchg(struct x86_buf *b, bool w64, int base, int32_t disp, int src)
{
	op_rm(b, F_LOCK | w(w64), 0x0fb1, src, base, disp);	/* lock cmpxchg [m], src */
}

void x86_jcc8(struct x86_buf *b, enum x86_cc cc, int8_t rel)
{
	x86_byte(b, (uint8_t)(0x70 + cc));		/* jcc rel8 */
	x86_byte(b, (uint8_t)rel);
}

void x86_jcc32(struct x86_buf *b, enum x86_cc cc, int32_t rel)
{
	x86_byte(b, 0x0f);
	x86_byte(b, (uint8_t)(0x80 + cc));		/* jcc rel32 */
	x86_u32(b, (uint32_t)rel);
}

void x86_jmp8(struct x86_buf *b, int8_t rel)
{
	x86_byte(b, 0xeb);				/* jmp rel8 */
	x86_byte(b, (uint8_t)rel);
}

void x86_jmp32(struct x86_buf *b, int32_t rel)
{
	x86_byte(b, 0xe9);				/* jmp rel32 */
	x86_u32(b, (uint32_t)rel);
}

void x86_call32(struct x86_buf *b, int32_t rel)
{
	x86_byte(b, 0xe8);				/* call rel32 */
	x86_u32(b, (uint32_t)rel);
}

void x86_call_r(struct x86_buf *b, int r)
{
	op_rr(b, 0, 0xff, 2, r);			/* call r */
}

void x86_ret(struct x86_buf *b)
{
	x86_byte(b, 0xc3);				/* ret */
}

void x86_nop(struct x86_buf *b, size_t n)
{
	/* The recommended multi-byte NOPs (0f 1f /0 with growing operands). */
	static const uint8_t nops[9][9] = {
		{ 0x90 },
		{ 0x66, 0x90 },
		{ 0x0f, 0x1f, 0x00 },
		{ 0x0f, 0x1f, 0x40, 0x00 },
		{ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	};
	while (n) {
		size_t k = n > 9 ? 9 : n;
		for (size_t j = 0; j < k; j++)
			x86_byte(b, nops[k - 1][j]);		/* nop (k bytes) */
		n -= k;
	}
}

void x86_push(struct x86_buf *b, int r)
{
	prefixes(b, 0, 0, r);
	x86_byte(b, (uint8_t)(0x50 + (r & 7)));		/* push r */
}

void x86_pop(struct x86_buf *b, int r)
{
	prefixes(b, 0, 0, r);
	x86_byte(b, (uint8_t)(0x58 + (r & 7)));		/* pop r */
}

void x86_zero_below_rbp(struct x86_buf *b, int bytes)
{
	static const uint8_t pxor[] = { 0x66, 0x0f, 0xef, 0xc0 };	/* pxor xmm0, xmm0 */
	static const uint8_t movups[] = { 0x42, 0x0f, 0x11, 0x44, 0x15, 0x00 };
						/* movups [rbp + r10], xmm0 */
	for (size_t i = 0; i < sizeof(pxor); i++)
		x86_byte(b, pxor[i]);
	x86_mov_ri(b, R10, (uint64_t)(int64_t)-bytes);	/* mov r10, -bytes */
	size_t loop = b->pos;
	for (size_t i = 0; i < sizeof(movups); i++)
		x86_byte(b, movups[i]);
	x86_alu_ri(b, true, ALU_ADD, R10, 16);		/* add r10, 16 */
	x86_jcc8(b, CC_NE, (int8_t)((int64_t)loop - (int64_t)(b->pos + 2)));	/* jnz loop */
}
