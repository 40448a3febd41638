/*
 * isa.c — the instruction table as data, and the rules every instruction obeys on
 * its own (decode, reserved fields, registers read and written).
 *
 * isa_rows[] is expanded from isa.def. Decoding goes through a per-opcode index
 * built once (rows sharing an opcode differ in their selector field: off for
 * sdiv/smod/movsx, imm for byte swaps and atomics, src for lddw and call).
 * Field rules follow RFC 9669 and the kernel: a field an instruction does not use
 * must be zero.
 */
#include "isa.h"

#include <pthread.h>
#include <stdio.h>

const struct isa_row isa_rows[ISA__COUNT] = {
#define ISA(NAME, OPC, SEL, SELVAL, FMT, BITS, CONF, KOP) \
	[ISA_##NAME] = { #NAME, CONF, KOP, SELVAL, OPC, ISA_SEL_##SEL, ISA_FMT_##FMT, BITS },
#include "isa.def"
#undef ISA
};

/* Rows of each opcode, in table order: first[opc] .. first[opc] + count[opc] in
 * by_opcode[]. */
static uint16_t by_opcode[ISA__COUNT];
static uint16_t first[256], count[256];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
	uint16_t n = 0;
	for (int opc = 0; opc < 256; opc++) {
		first[opc] = n;
		for (int r = 0; r < ISA__COUNT; r++)
			if (isa_rows[r].opcode == opc)
				by_opcode[n++] = (uint16_t)r;
		count[opc] = (uint16_t)(n - first[opc]);
	}
}

static int32_t selector_value(const struct bpf_insn *insn, int sel)
{
	switch (sel) {
	case ISA_SEL_OFF: return insn->off;
	case ISA_SEL_IMM: return insn->imm;
	case ISA_SEL_SRC: return insn->src_reg;
	default: return 0;
	}
}

int isa_find(uint8_t opcode, int32_t sv)
{
	pthread_once(&index_once, build_index);
	for (unsigned k = 0; k < count[opcode]; k++) {
		int r = by_opcode[first[opcode] + k];
		if (isa_rows[r].sel == ISA_SEL_NONE || isa_rows[r].selval == sv)
			return r;
	}
	return -1;
}

void isa_set_row(struct bpf_insn *insn, int row)
{
	const struct isa_row *r = &isa_rows[row];
	insn->code = r->opcode;
	switch (r->sel) {
	case ISA_SEL_OFF: insn->off = (int16_t)r->selval; break;
	case ISA_SEL_IMM: insn->imm = r->selval; break;
	case ISA_SEL_SRC: insn->src_reg = (uint8_t)r->selval; break;
	default: break;
	}
}

int isa_decode(const struct bpf_insn *insn)
{
	pthread_once(&index_once, build_index);
	uint8_t opc = insn->code;
	for (unsigned k = 0; k < count[opc]; k++) {
		int r = by_opcode[first[opc] + k];
		if (isa_rows[r].sel == ISA_SEL_NONE ||
		    isa_rows[r].selval == selector_value(insn, isa_rows[r].sel))
			return r;
	}
	return -1;
}

/* Which fields a format leaves unused (they must be zero). The selector field is
 * checked by decoding itself. */
enum { F_DST = 1, F_SRC = 2, F_OFF = 4, F_IMM = 8 };

static unsigned unused_fields(int fmt)
{
	switch (fmt) {
	case ISA_FMT_ALU_K:	return F_SRC;			/* off is the selector */
	case ISA_FMT_ALU_X:	return F_IMM;
	case ISA_FMT_MOVSX:	return F_IMM;
	case ISA_FMT_NEG:	return F_SRC | F_OFF | F_IMM;
	case ISA_FMT_END:	return F_SRC | F_OFF;
	case ISA_FMT_LDDW:	return F_OFF;
	case ISA_FMT_LDABS:	return F_DST | F_SRC | F_OFF;
	case ISA_FMT_LDIND:	return F_DST | F_OFF;
	case ISA_FMT_LDX:	return F_IMM;
	case ISA_FMT_ST:	return F_SRC;
	case ISA_FMT_STX:	return F_IMM;
	case ISA_FMT_ATOMIC:	return 0;
	case ISA_FMT_JA:	return F_DST | F_SRC | F_IMM;
	case ISA_FMT_JA32:	return F_DST | F_SRC | F_OFF;
	case ISA_FMT_JCOND_K:	return F_SRC;
	case ISA_FMT_JCOND_X:	return F_IMM;
	case ISA_FMT_CALL:	return F_DST | F_OFF;
	case ISA_FMT_CALL_LOCAL: return F_DST | F_OFF;
	case ISA_FMT_CALL_KFUNC: return F_DST;
	case ISA_FMT_CALLX:	return F_SRC | F_OFF | F_IMM;
	case ISA_FMT_EXIT:	return F_DST | F_SRC | F_OFF | F_IMM;
	}
	return 0;
}

const char *isa_check_fields(const struct bpf_insn *insn, int row, char *buf, size_t len)
{
	unsigned unused = unused_fields(isa_rows[row].fmt);
	if ((unused & F_DST) && insn->dst_reg) {
		snprintf(buf, len, "reserved field 'dst' is r%u, must be r0", insn->dst_reg);
		return buf;
	}
	if ((unused & F_SRC) && insn->src_reg) {
		snprintf(buf, len, "reserved field 'src' is r%u, must be r0", insn->src_reg);
		return buf;
	}
	if ((unused & F_OFF) && insn->off) {
		snprintf(buf, len, "reserved field 'off' is %d, must be 0", insn->off);
		return buf;
	}
	if ((unused & F_IMM) && insn->imm) {
		snprintf(buf, len, "reserved field 'imm' is %d, must be 0", insn->imm);
		return buf;
	}
	return NULL;
}

#define R(n) ((uint16_t)(1u << (n)))
#define ARGS (R(1) | R(2) | R(3) | R(4) | R(5))

uint16_t isa_regs_read(const struct bpf_insn *insn, int row)
{
	const struct isa_row *r = &isa_rows[row];
	switch (r->fmt) {
	case ISA_FMT_ALU_K:
		/* mov reads nothing; everything else reads dst */
		return (row == ISA_MOV32_IMM || row == ISA_MOV64_IMM) ? 0 : R(insn->dst_reg);
	case ISA_FMT_ALU_X:
		if (row == ISA_MOV32_REG || row == ISA_MOV64_REG)
			return R(insn->src_reg);
		return R(insn->dst_reg) | R(insn->src_reg);
	case ISA_FMT_MOVSX:	return R(insn->src_reg);
	case ISA_FMT_NEG:
	case ISA_FMT_END:	return R(insn->dst_reg);
	case ISA_FMT_LDDW:	return 0;
	case ISA_FMT_LDABS:	return R(6);		/* the skb context lives in r6 */
	case ISA_FMT_LDIND:	return R(6) | R(insn->src_reg);
	case ISA_FMT_LDX:	return R(insn->src_reg);
	case ISA_FMT_ST:	return R(insn->dst_reg);
	case ISA_FMT_STX:	return R(insn->dst_reg) | R(insn->src_reg);
	case ISA_FMT_ATOMIC:
		if (row == ISA_ATOMIC32_CMPXCHG || row == ISA_ATOMIC64_CMPXCHG)
			return R(insn->dst_reg) | R(insn->src_reg) | R(0);
		return R(insn->dst_reg) | R(insn->src_reg);
	case ISA_FMT_JA:
	case ISA_FMT_JA32:	return 0;
	case ISA_FMT_JCOND_K:	return R(insn->dst_reg);
	case ISA_FMT_JCOND_X:	return R(insn->dst_reg) | R(insn->src_reg);
	case ISA_FMT_CALL:
	case ISA_FMT_CALL_LOCAL:
	case ISA_FMT_CALL_KFUNC: return 0;	/* arguments are checked by the verifier */
	case ISA_FMT_CALLX:	return R(insn->dst_reg);
	case ISA_FMT_EXIT:	return R(0);
	}
	return 0;
}

uint16_t isa_regs_written(const struct bpf_insn *insn, int row)
{
	const struct isa_row *r = &isa_rows[row];
	switch (r->fmt) {
	case ISA_FMT_ALU_K:
	case ISA_FMT_ALU_X:
	case ISA_FMT_MOVSX:
	case ISA_FMT_NEG:
	case ISA_FMT_END:
	case ISA_FMT_LDDW:
	case ISA_FMT_LDX:	return R(insn->dst_reg);
	case ISA_FMT_LDABS:
	case ISA_FMT_LDIND:	return R(0) | ARGS;	/* as the kernel: r1-r5 clobbered */
	case ISA_FMT_ATOMIC:
		if (row == ISA_ATOMIC32_CMPXCHG || row == ISA_ATOMIC64_CMPXCHG)
			return R(0);
		return (insn->imm & BPF_FETCH) ? R(insn->src_reg) : 0;
	case ISA_FMT_CALL:
	case ISA_FMT_CALL_LOCAL:
	case ISA_FMT_CALL_KFUNC:
	case ISA_FMT_CALLX:	return R(0) | ARGS;
	default:		return 0;
	}
}
