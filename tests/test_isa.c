/*
 * test_isa.c — the instruction table against an independent reference.
 *
 * ref_valid() below restates RFC 9669's encoding rules from scratch (class, mode,
 * size, operation and source bits; which fields must be zero). The test sweeps
 * every opcode over many field values and requires isa_decode + isa_check_fields
 * to agree with it exactly, so a missing, extra or mis-specified row in isa.def
 * fails here. It also checks that rows never collide and that register use is as
 * hand-computed for a few instructions.
 */
#include "isa.h"
#include "testutil.h"

static bool in_set(int32_t v, const int32_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

static bool ref_valid(const struct bpf_insn *in)
{
	static const int32_t atomic_ops[] = { 0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1,
					      0xe1, 0xf1 };
	unsigned code = in->code, cls = code & 7, op = code & 0xf0, x = code & 8;
	unsigned mode = code & 0xe0, size = code & 0x18;
	int src = in->src_reg, dst = in->dst_reg, off = in->off, imm = in->imm;

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		switch (op) {
		case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_OR: case BPF_AND:
		case BPF_LSH: case BPF_RSH: case BPF_XOR: case BPF_ARSH:
			return off == 0 && (x ? imm == 0 : src == 0);
		case BPF_DIV: case BPF_MOD:
			return (off == 0 || off == 1) && (x ? imm == 0 : src == 0);
		case BPF_NEG:
			return !x && src == 0 && off == 0 && imm == 0;
		case BPF_MOV:
			if (!x)
				return src == 0 && off == 0;
			return imm == 0 && (off == 0 || off == 8 || off == 16 ||
					    (cls == BPF_ALU64 && off == 32));
		case BPF_END:
			if (cls == BPF_ALU64 && x)
				return false;
			return src == 0 && off == 0 && (imm == 16 || imm == 32 || imm == 64);
		default:
			return false;
		}
	case BPF_JMP:
	case BPF_JMP32:
		switch (op) {
		case BPF_JA:
			if (x)
				return false;
			return dst == 0 && src == 0 && (cls == BPF_JMP ? imm == 0 : off == 0);
		case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET: case BPF_JNE:
		case BPF_JSGT: case BPF_JSGE: case BPF_JLT: case BPF_JLE: case BPF_JSLT:
		case BPF_JSLE:
			return x ? imm == 0 : src == 0;
		case BPF_CALL:
			if (cls == BPF_JMP32)
				return false;
			if (x)	/* callx: the target is in dst */
				return src == 0 && off == 0 && imm == 0;
			if (dst != 0 || src > 2)
				return false;
			return src == 2 || off == 0;	/* kfunc: off = BTF fd index */
		case BPF_EXIT:
			return cls == BPF_JMP && !x && dst == 0 && src == 0 && off == 0 && imm == 0;
		default:
			return false;
		}
	case BPF_LD:
		if (mode == BPF_IMM)
			return size == BPF_DW && off == 0 && src <= 6;
		if (mode == BPF_ABS)
			return size != BPF_DW && dst == 0 && src == 0 && off == 0;
		if (mode == BPF_IND)
			return size != BPF_DW && dst == 0 && off == 0;
		return false;
	case BPF_LDX:
		if (mode == BPF_MEM)
			return imm == 0;
		if (mode == BPF_MEMSX)
			return size != BPF_DW && imm == 0;
		return false;
	case BPF_ST:
		return mode == BPF_MEM && src == 0;
	case BPF_STX:
		if (mode == BPF_MEM)
			return imm == 0;
		if (mode == BPF_ATOMIC)
			return (size == BPF_W || size == BPF_DW) &&
			       in_set(imm, atomic_ops, sizeof(atomic_ops) / sizeof(atomic_ops[0]));
		return false;
	}
	return false;
}

static void sweep(void)
{
	static const int16_t offs[] = { 0, 1, 8, 16, 32, -1, 5 };
	static const int32_t imms[] = { 0, 1, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1,
					0xe1, 0xf1, 0xe0, 0xf0, -1, 7, 0x10 };
	size_t checked = 0, valid = 0, mismatches = 0;
	for (int code = 0; code < 256; code++)
		for (int src = 0; src < 16; src++)
			for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
				for (size_t m = 0; m < sizeof(imms) / sizeof(imms[0]); m++)
					for (int dst = 0; dst < 2; dst++) {
		struct bpf_insn in = { .code = (uint8_t)code, .dst_reg = (uint8_t)dst,
				       .src_reg = (uint8_t)src, .off = offs[o], .imm = imms[m] };
		char buf[128];
		int row = isa_decode(&in);
		bool ours = row >= 0 && !isa_check_fields(&in, row, buf, sizeof(buf));
		bool ref = ref_valid(&in);
		checked++;
		valid += ref;
		if (ours != ref && mismatches++ < 20)
			CHECK(ours == ref, "code 0x%02x dst %d src %d off %d imm %d: table says %s, "
			      "RFC says %s", code, dst, src, offs[o], imms[m],
			      ours ? "valid" : "invalid", ref ? "valid" : "invalid");
	}
	CHECK(mismatches == 0, "%zu encodings disagree with the reference", mismatches);
	printf("isa sweep: %zu encodings checked, %zu valid\n", checked, valid);
}

static void rows(void)
{
	/* Every row decodes from its own canonical encoding, and no two rows share an
	 * opcode and selector value. */
	for (int r = 0; r < ISA__COUNT; r++) {
		const struct isa_row *row = &isa_rows[r];
		struct bpf_insn in = { .code = row->opcode };
		if (row->sel == ISA_SEL_OFF)
			in.off = (int16_t)row->selval;
		else if (row->sel == ISA_SEL_IMM)
			in.imm = row->selval;
		else if (row->sel == ISA_SEL_SRC)
			in.src_reg = (uint8_t)row->selval;
		CHECK(isa_decode(&in) == r, "row %s does not decode from its own encoding", row->name);
		CHECK(isa_find(row->opcode, row->selval) == r, "isa_find misses row %s", row->name);
		CHECK(row->conf && row->conf[0] && row->kop, "row %s lacks a mnemonic", row->name);
		for (int q = r + 1; q < ISA__COUNT; q++)
			CHECK(!(isa_rows[q].opcode == row->opcode && isa_rows[q].selval == row->selval),
			      "rows %s and %s collide", row->name, isa_rows[q].name);
	}
	CHECK(ISA__COUNT == 171, "isa.def has %d rows; update this test when adding rows",
	      ISA__COUNT);
}

static void regs(void)
{
	struct bpf_insn add = BPF_ALU64_REG(BPF_ADD, 3, 4);
	int r = isa_decode(&add);
	CHECK_U64(isa_regs_read(&add, r), (1 << 3) | (1 << 4), "r3 += r4 reads r3, r4");
	CHECK_U64(isa_regs_written(&add, r), 1 << 3, "r3 += r4 writes r3");
	struct bpf_insn mov = BPF_MOV64_IMM(2, 7);
	r = isa_decode(&mov);
	CHECK_U64(isa_regs_read(&mov, r), 0, "r2 = 7 reads nothing");
	struct bpf_insn cx = BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, 1, 2, 0);
	r = isa_decode(&cx);
	CHECK_U64(isa_regs_read(&cx, r), 1 | (1 << 1) | (1 << 2), "cmpxchg reads r0, dst, src");
	CHECK_U64(isa_regs_written(&cx, r), 1, "cmpxchg writes r0");
	struct bpf_insn fa = BPF_ATOMIC_OP(BPF_W, BPF_ADD | BPF_FETCH, 1, 2, 0);
	r = isa_decode(&fa);
	CHECK_U64(isa_regs_written(&fa, r), 1 << 2, "fetch_add writes src");
	struct bpf_insn st = BPF_STX_MEM(BPF_DW, 10, 1, -8);
	r = isa_decode(&st);
	CHECK_U64(isa_regs_written(&st, r), 0, "a store writes no register");
	struct bpf_insn call = BPF_CALL_HELPER(1);
	r = isa_decode(&call);
	CHECK_U64(isa_regs_written(&call, r), 0x3f, "a call writes r0-r5");
	struct bpf_insn ex = BPF_EXIT_INSN();
	r = isa_decode(&ex);
	CHECK_U64(isa_regs_read(&ex, r), 1, "exit reads r0");
}

int main(void)
{
	sweep();
	rows();
	regs();
	return test_summary();
}
