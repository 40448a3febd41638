/*
 * isa.h — the instruction table (isa.def) as data: decode, field rules, names.
 *
 * Every consumer — validator, interpreter, assembler, disassembler, JIT, verifier —
 * works from enum isa_op (one value per isa.def row) and struct isa_row, never from
 * raw opcode bits of its own.
 */
#ifndef BPFVM_ISA_H
#define BPFVM_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/insn.h"

enum isa_sel { ISA_SEL_NONE, ISA_SEL_OFF, ISA_SEL_IMM, ISA_SEL_SRC };

enum isa_fmt {
	ISA_FMT_ALU_K,		/* dst op= imm           (src = 0)            */
	ISA_FMT_ALU_X,		/* dst op= src           (imm = 0)            */
	ISA_FMT_MOVSX,		/* dst = (sN)src         (imm = 0, off = N)   */
	ISA_FMT_NEG,		/* dst = -dst            (src = off = imm = 0) */
	ISA_FMT_END,		/* dst = le/be/bswapN dst (src = off = 0, imm = N) */
	ISA_FMT_LDDW,		/* dst = imm64, two slots (off = 0)            */
	ISA_FMT_LDABS,		/* r0 = *(uN *)skb[imm]  (dst = src = off = 0) */
	ISA_FMT_LDIND,		/* r0 = *(uN *)skb[src + imm] (dst = off = 0)  */
	ISA_FMT_LDX,		/* dst = *(uN *)(src + off)  (imm = 0)         */
	ISA_FMT_ST,		/* *(uN *)(dst + off) = imm  (src = 0)         */
	ISA_FMT_STX,		/* *(uN *)(dst + off) = src  (imm = 0)         */
	ISA_FMT_ATOMIC,		/* atomic op on *(uN *)(dst + off) with src    */
	ISA_FMT_JA,		/* goto +off             (dst = src = imm = 0) */
	ISA_FMT_JA32,		/* gotol +imm            (dst = src = off = 0) */
	ISA_FMT_JCOND_K,	/* if dst op imm goto +off  (src = 0)          */
	ISA_FMT_JCOND_X,	/* if dst op src goto +off  (imm = 0)          */
	ISA_FMT_CALL,		/* call helper imm       (dst = off = 0)       */
	ISA_FMT_CALL_LOCAL,	/* call pc+imm+1         (dst = off = 0)       */
	ISA_FMT_CALL_KFUNC,	/* call kfunc BTF id imm (dst = 0; off = BTF fd index) */
	ISA_FMT_CALLX,		/* call helper whose id is in dst (src = off = imm = 0) */
	ISA_FMT_EXIT,		/* return r0             (all zero)            */
};

enum isa_op {
#define ISA(NAME, OPC, SEL, SELVAL, FMT, BITS, CONF, KOP) ISA_##NAME,
#include "isa.def"
#undef ISA
	ISA__COUNT,
	ISA_LDDW_HI = ISA__COUNT,	/* second slot of lddw, in decoded programs */
};

/* Decoded programs keep the row in the 8-bit opcode field. */
_Static_assert(ISA_LDDW_HI < 256, "isa.def rows must fit in a byte");

struct isa_row {
	const char *name;	/* "ADD32_IMM" */
	const char *conf;	/* conformance mnemonic */
	const char *kop;	/* pseudo-C operator / size / swap kind */
	int32_t selval;
	uint8_t opcode;
	uint8_t sel;		/* enum isa_sel */
	uint8_t fmt;		/* enum isa_fmt */
	uint8_t bits;
};
extern const struct isa_row isa_rows[ISA__COUNT];

/* Row of insn, or -1 if no row has its opcode and selector value. */
int isa_decode(const struct bpf_insn *insn);
/* Row for opcode with the selector value sv (ignored for SEL_NONE rows), or -1. */
int isa_find(uint8_t opcode, int32_t sv);
/* Puts row's opcode and selector value (off, imm or src) into *insn, leaving the
 * other fields as they are: with them zero, the row's canonical encoding. */
void isa_set_row(struct bpf_insn *insn, int row);
/* NULL if insn's fields obey row's rules, else a description of the first
 * violation ("reserved field 'imm' is 5, must be 0"), written into buf. */
const char *isa_check_fields(const struct bpf_insn *insn, int row, char *buf, size_t len);

/* Properties of formats */
static inline bool isa_is_cond_jump(int row)
{
	return isa_rows[row].fmt == ISA_FMT_JCOND_K || isa_rows[row].fmt == ISA_FMT_JCOND_X;
}
static inline bool isa_is_jump(int row)	/* any transfer inside the program but calls */
{
	int f = isa_rows[row].fmt;
	return f == ISA_FMT_JA || f == ISA_FMT_JA32 || isa_is_cond_jump(row);
}
/* Branch target of a jump or local call at index i (may be out of range). */
static inline int64_t isa_target(const struct bpf_insn *insn, int row, size_t i)
{
	int f = isa_rows[row].fmt;
	int64_t rel = (f == ISA_FMT_JA32 || f == ISA_FMT_CALL_LOCAL) ? insn->imm : insn->off;
	return (int64_t)i + 1 + rel;
}
/* Bit i set: register ri is read / written by insn (r10 counts as read for memory). */
uint16_t isa_regs_read(const struct bpf_insn *insn, int row);
uint16_t isa_regs_written(const struct bpf_insn *insn, int row);

#endif
