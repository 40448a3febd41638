/*
 * fold.c — the JIT's per-block value facts and folding decisions (see fold.h).
 */
#include "fold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "isa.h"
#include "isa_eval.h"

struct facts {
	uint16_t known;		/* bit r: reg r holds val[r] */
	uint16_t zx;		/* bit r: reg r's upper 32 bits are zero */
	uint16_t fp;		/* bit r: reg r holds r10 + val[r] (r10 itself is) */
	uint64_t val[11];
};

#define FP_LIMIT	(1 << 20)	/* offsets from r10 tracked: |off| below this */

static bool has(uint16_t m, unsigned r) { return r <= 10 && (m >> r & 1); }

/* Whether reg r holds r10 + *off. */
static bool fp_of(const struct facts *f, unsigned r, int64_t *off)
{
	if (r == 10 || has(f->fp, r)) {
		*off = r == 10 ? 0 : (int64_t)f->val[r];
		return true;
	}
	return false;
}

static void set_known(struct facts *f, unsigned r, uint64_t v)
{
	f->fp &= (uint16_t)~(1u << r);
	f->known |= (uint16_t)(1u << r);
	f->val[r] = v;
	if (v >> 32)
		f->zx &= (uint16_t)~(1u << r);
	else
		f->zx |= (uint16_t)(1u << r);
}

static void set_unknown(struct facts *f, unsigned r, bool zx)
{
	f->fp &= (uint16_t)~(1u << r);
	f->known &= (uint16_t)~(1u << r);
	if (zx)
		f->zx |= (uint16_t)(1u << r);
	else
		f->zx &= (uint16_t)~(1u << r);
}

/* The immediate form of a register-operand row (ALU_X, JCOND_X), or -1. */
static int imm_row(int row)
{
	const struct isa_row *r = &isa_rows[row];
	return isa_find((uint8_t)(r->opcode & ~0x08), r->selval);
}

/* Whether b can be the immediate of row's immediate form with the same meaning:
 * 32-bit forms use the immediate's low 32 bits, 64-bit ones its sign extension. */
static bool imm_fits(int row, uint64_t b)
{
	return isa_rows[row].bits == 32 || b == (uint64_t)(int64_t)(int32_t)b;
}

/* An ALU instruction with an immediate operand that changes nothing: the 64-bit
 * identities, and the 32-bit ones when dst is zero-extended already. */
static bool alu_identity(int row, int32_t imm, bool dst_zx)
{
	switch (row) {
	case ISA_ADD64_IMM: case ISA_SUB64_IMM: case ISA_OR64_IMM: case ISA_XOR64_IMM:
	case ISA_LSH64_IMM: case ISA_RSH64_IMM: case ISA_ARSH64_IMM:
		return imm == 0;
	case ISA_AND64_IMM:
		return imm == -1;
	case ISA_MUL64_IMM: case ISA_DIV64_IMM:
		return imm == 1;
	case ISA_ADD32_IMM: case ISA_SUB32_IMM: case ISA_OR32_IMM: case ISA_XOR32_IMM:
	case ISA_LSH32_IMM: case ISA_RSH32_IMM: case ISA_ARSH32_IMM:
		return dst_zx && imm == 0;
	case ISA_AND32_IMM:
		return dst_zx && imm == -1;
	case ISA_MUL32_IMM: case ISA_DIV32_IMM:
		return dst_zx && imm == 1;
	case ISA_LE64:
		return !ISA_HOST_BE;
	case ISA_LE32:
		return !ISA_HOST_BE && dst_zx;
	default:
		return false;
	}
}

/* Whether an ALU row's result (unknown value) has its upper 32 bits zero. */
static bool result_zx(const struct bpf_insn *in, int row, const struct facts *f)
{
	const struct isa_row *r = &isa_rows[row];
	switch (r->fmt) {
	case ISA_FMT_ALU_K: case ISA_FMT_ALU_X: case ISA_FMT_NEG:
		if (r->bits == 32)
			return true;
		switch (row) {
		case ISA_AND64_IMM: return has(f->zx, in->dst_reg) || in->imm >= 0;
		case ISA_AND64_REG: return has(f->zx, in->dst_reg) || has(f->zx, in->src_reg);
		case ISA_RSH64_IMM: return (in->imm & 63) >= 32;
		case ISA_MOV64_IMM: return in->imm >= 0;
		case ISA_MOV64_REG: return has(f->zx, in->src_reg);
		default: return false;
		}
	case ISA_FMT_MOVSX:
		return r->bits == 32;
	case ISA_FMT_END:
		return r->bits <= 32;
	default:
		return false;
	}
}

/* r <<= 32 followed in its block by r >>= 32 or r s>>= 32. */
static int shift_pair(const struct bpf_insn *code, size_t cnt, const uint8_t *leader, size_t i)
{
	const struct bpf_insn *a = &code[i], *b = a + 1;
	if (a->code != ISA_LSH64_IMM || a->imm != 32 || i + 1 >= cnt || (leader[i + 1] & 1) ||
	    b->dst_reg != a->dst_reg || b->imm != 32)
		return FOLD_NONE;
	return b->code == ISA_RSH64_IMM ? FOLD_ZEXT : b->code == ISA_ARSH64_IMM ? FOLD_SEXT : FOLD_NONE;
}

static void fold_alu(const struct bpf_insn *in, int row, struct facts *f, struct fold *out)
{
	const struct isa_row *r = &isa_rows[row];
	unsigned d = in->dst_reg, s = in->src_reg;
	bool is_mov = row == ISA_MOV64_IMM || row == ISA_MOV64_REG || row == ISA_MOV32_IMM ||
		      row == ISA_MOV32_REG || r->fmt == ISA_FMT_MOVSX;
	bool a_known = is_mov || has(f->known, d);
	uint64_t a = has(f->known, d) ? f->val[d] : 0, b = 0;
	bool b_known = true;
	if (r->fmt == ISA_FMT_ALU_K)
		b = (uint64_t)(int64_t)in->imm;
	else if (r->fmt == ISA_FMT_ALU_X || r->fmt == ISA_FMT_MOVSX) {
		b_known = has(f->known, s);
		b = b_known ? f->val[s] : 0;
	}
	/* r ^= r, r -= r: zero whatever r holds */
	if (r->fmt == ISA_FMT_ALU_X && s == d &&
	    (row == ISA_XOR64_REG || row == ISA_SUB64_REG || row == ISA_XOR32_REG ||
	     row == ISA_SUB32_REG)) {
		a_known = b_known = true;
		a = b = 0;
	}
	if (a_known && b_known) {
		uint64_t v = isa_alu(row, a, b);
		if (row != ISA_MOV64_IMM && row != ISA_MOV32_IMM)
			*out = (struct fold){ .kind = FOLD_CONST, .val = v };
		set_known(f, d, v);
		return;
	}
	if ((row == ISA_MOV64_REG && s == d) ||
	    (row == ISA_MOV32_REG && s == d && has(f->zx, d)) ||
	    ((r->fmt == ISA_FMT_ALU_K || r->fmt == ISA_FMT_END) &&
	     alu_identity(row, in->imm, has(f->zx, d)))) {
		out->kind = FOLD_SKIP;	/* nothing changes, facts included */
		return;
	}
	if (r->fmt == ISA_FMT_ALU_X && b_known && imm_fits(row, b)) {
		int k = imm_row(row);
		if (k >= 0)
			*out = (struct fold){ .kind = FOLD_IMM, .row = (uint8_t)k,
					      .imm = (int32_t)(uint32_t)b };
	}
	set_unknown(f, d, result_zx(in, row, f));
}

static void fold_jump(const struct bpf_insn *in, int row, const struct facts *f, struct fold *out)
{
	unsigned d = in->dst_reg, s = in->src_reg;
	bool x = isa_rows[row].fmt == ISA_FMT_JCOND_X;
	bool b_known = !x || has(f->known, s);
	uint64_t b = x ? (b_known ? f->val[s] : 0) : (uint64_t)(int64_t)in->imm;
	if (has(f->known, d) && b_known) {
		out->kind = isa_cond(row, f->val[d], b) ? FOLD_TAKEN : FOLD_NOT_TAKEN;
	} else if (x && b_known && imm_fits(row, b)) {
		int k = imm_row(row);
		if (k >= 0)
			*out = (struct fold){ .kind = FOLD_IMM, .row = (uint8_t)k,
					      .imm = (int32_t)(uint32_t)b };
	}
}

int jit_fold(const struct bpf_insn *code, size_t cnt, const uint8_t *leader, struct fold **out)
{
	struct fold *fo = calloc(cnt + 1, sizeof(*fo));
	struct facts f = { 0 };
	if (!fo)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &code[i];
		int row = in->code;
		if (leader[i] & 1)
			f.known = f.zx = f.fp = 0;
		if (row >= ISA__COUNT)
			continue;	/* the second slot of lddw */
		unsigned d = in->dst_reg;
		switch (isa_rows[row].fmt) {
		case ISA_FMT_ALU_K: case ISA_FMT_ALU_X: case ISA_FMT_NEG: case ISA_FMT_MOVSX:
		case ISA_FMT_END: {
			int pair = has(f.known, d) ? FOLD_NONE : shift_pair(code, cnt, leader, i);
			if (pair != FOLD_NONE) {
				bool zx = has(f.zx, d);
				fo[i].kind = pair == FOLD_ZEXT && zx ? FOLD_SKIP : (uint8_t)pair;
				fo[i + 1].kind = FOLD_SKIP;
				set_unknown(&f, d, pair == FOLD_ZEXT);
				i++;
			} else {
				/* r = r10 + c: mov from such a register, add or sub imm */
				int64_t off = 0;
				bool fp = (row == ISA_MOV64_REG && fp_of(&f, in->src_reg, &off)) ||
					  ((row == ISA_ADD64_IMM || row == ISA_SUB64_IMM) &&
					   fp_of(&f, d, &off));
				off += row == ISA_ADD64_IMM ? in->imm : row == ISA_SUB64_IMM ?
				       -(int64_t)in->imm : 0;
				fold_alu(in, row, &f, &fo[i]);
				if (fp && !has(f.known, d) && off > -FP_LIMIT && off < FP_LIMIT) {
					f.fp |= (uint16_t)(1u << d);
					f.val[d] = (uint64_t)off;
				}
			}
			break;
		}
		case ISA_FMT_LDDW:
			if (row == ISA_LDDW && i + 1 < cnt)
				set_known(&f, d, (uint64_t)(uint32_t)in[0].imm |
						 (uint64_t)(uint32_t)in[1].imm << 32);
			else
				set_unknown(&f, d, false);
			break;
		case ISA_FMT_LDX:
			set_unknown(&f, d, row == ISA_LDXB || row == ISA_LDXH || row == ISA_LDXW);
			break;
		case ISA_FMT_JCOND_K: case ISA_FMT_JCOND_X:
			fold_jump(in, row, &f, &fo[i]);
			break;
		default: {
			/* stores change no register; atomics, calls and packet loads
			 * leave what they write (and r0-r5 after a call) unknown. A
			 * helper call whose r1 is a constant and r2 r10 + c says so (the
			 * JIT may inline a map lookup). */
			uint16_t w = isa_regs_written(in, row);
			int fmt = isa_rows[row].fmt;
			int64_t off;
			if (fmt == ISA_FMT_CALL && has(f.known, 1) && fp_of(&f, 2, &off))
				fo[i] = (struct fold){ .kind = FOLD_CALL_ARGS, .imm = (int32_t)off,
						       .val = f.val[1] };
			if (fmt == ISA_FMT_CALL || fmt == ISA_FMT_CALLX || fmt == ISA_FMT_CALL_LOCAL ||
			    fmt == ISA_FMT_CALL_KFUNC || fmt == ISA_FMT_LDABS || fmt == ISA_FMT_LDIND)
				w |= 0x3f;
			f.known &= (uint16_t)~w;
			f.zx &= (uint16_t)~w;
			f.fp &= (uint16_t)~w;
			break;
		}
		}
	}
	*out = fo;
	return 0;
}
