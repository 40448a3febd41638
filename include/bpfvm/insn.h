/*
 * bpfvm/insn.h — the eBPF instruction encoding (RFC 9669) and builder macros.
 *
 * struct bpf_insn and the BPF_* constants have the same names and values as the
 * kernel's <linux/bpf.h>, so code written against either reads the same. If you need
 * both headers in one file, include <linux/bpf.h> first: the definitions here are then
 * skipped.
 */
#ifndef BPFVM_INSN_H
#define BPFVM_INSN_H

#include <stdint.h>

#ifndef __LINUX_BPF_H__
#ifndef _UAPI__LINUX_BPF_H__
/* One 64-bit instruction slot. lddw takes two slots (the second holds imm's high half). */
struct bpf_insn {
	uint8_t code;		/* opcode: class | size/mode | source/operation */
	uint8_t dst_reg:4;	/* destination register, 0..10 */
	uint8_t src_reg:4;	/* source register, or pseudo source for lddw / call */
	int16_t off;		/* signed offset: jumps, memory, sdiv/smod, movsx */
	int32_t imm;		/* signed immediate */
};
#endif
#endif

#ifndef BPF_LD
/* Instruction classes */
#define BPF_LD		0x00
#define BPF_LDX		0x01
#define BPF_ST		0x02
#define BPF_STX		0x03
#define BPF_ALU		0x04
#define BPF_JMP		0x05
#define BPF_JMP32	0x06
#define BPF_ALU64	0x07
/* Load/store size */
#define BPF_W		0x00
#define BPF_H		0x08
#define BPF_B		0x10
#define BPF_DW		0x18
/* Load/store mode */
#define BPF_IMM		0x00
#define BPF_ABS		0x20
#define BPF_IND		0x40
#define BPF_MEM		0x60
#define BPF_ATOMIC	0xc0
/* Source */
#define BPF_K		0x00
#define BPF_X		0x08
/* ALU operations */
#define BPF_ADD		0x00
#define BPF_SUB		0x10
#define BPF_MUL		0x20
#define BPF_DIV		0x30
#define BPF_OR		0x40
#define BPF_AND		0x50
#define BPF_LSH		0x60
#define BPF_RSH		0x70
#define BPF_NEG		0x80
#define BPF_MOD		0x90
#define BPF_XOR		0xa0
#define BPF_MOV		0xb0
#define BPF_ARSH	0xc0
#define BPF_END		0xd0
#define BPF_TO_LE	0x00
#define BPF_TO_BE	0x08
/* Jump operations */
#define BPF_JA		0x00
#define BPF_JEQ		0x10
#define BPF_JGT		0x20
#define BPF_JGE		0x30
#define BPF_JSET	0x40
#define BPF_JNE		0x50
#define BPF_JSGT	0x60
#define BPF_JSGE	0x70
#define BPF_CALL	0x80
#define BPF_EXIT	0x90
#define BPF_JLT		0xa0
#define BPF_JLE		0xb0
#define BPF_JSLT	0xc0
#define BPF_JSLE	0xd0
/* Atomic operations (imm of BPF_STX | BPF_ATOMIC) */
#define BPF_FETCH	0x01
#define BPF_XCHG	(0xe0 | BPF_FETCH)
#define BPF_CMPXCHG	(0xf0 | BPF_FETCH)
/* Pseudo sources */
#define BPF_PSEUDO_MAP_FD		1
#define BPF_PSEUDO_MAP_VALUE		2
#define BPF_PSEUDO_BTF_ID		3
#define BPF_PSEUDO_FUNC			4
#define BPF_PSEUDO_CALL			1
#define BPF_PSEUDO_KFUNC_CALL		2
#endif

/* Newer than some distributions' <linux/bpf.h> (Debian 12's lacks them). */
#ifndef BPF_MEMSX
#define BPF_MEMSX	0x80
#endif
#ifndef BPF_PSEUDO_MAP_IDX
#define BPF_PSEUDO_MAP_IDX		5
#define BPF_PSEUDO_MAP_IDX_VALUE	6
#endif

#define BPFVM_INSN(CODE, DST, SRC, OFF, IMM) \
	((struct bpf_insn){ .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM) })

/* Builders, as in the kernel's filter.h: dst op= src / imm */
#define BPF_ALU64_REG(OP, DST, SRC)	BPFVM_INSN(BPF_ALU64 | (OP) | BPF_X, DST, SRC, 0, 0)
#define BPF_ALU32_REG(OP, DST, SRC)	BPFVM_INSN(BPF_ALU | (OP) | BPF_X, DST, SRC, 0, 0)
#define BPF_ALU64_IMM(OP, DST, IMM)	BPFVM_INSN(BPF_ALU64 | (OP) | BPF_K, DST, 0, 0, IMM)
#define BPF_ALU32_IMM(OP, DST, IMM)	BPFVM_INSN(BPF_ALU | (OP) | BPF_K, DST, 0, 0, IMM)
#define BPF_MOV64_REG(DST, SRC)		BPF_ALU64_REG(BPF_MOV, DST, SRC)
#define BPF_MOV32_REG(DST, SRC)		BPF_ALU32_REG(BPF_MOV, DST, SRC)
#define BPF_MOV64_IMM(DST, IMM)		BPF_ALU64_IMM(BPF_MOV, DST, IMM)
#define BPF_MOV32_IMM(DST, IMM)		BPF_ALU32_IMM(BPF_MOV, DST, IMM)
/* Two slots: use inside an array initialiser. */
#define BPF_LD_IMM64_RAW(DST, SRC, IMM) \
	BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, DST, SRC, 0, (int32_t)(uint32_t)(uint64_t)(IMM)), \
	BPFVM_INSN(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(IMM) >> 32))
#define BPF_LD_IMM64(DST, IMM)		BPF_LD_IMM64_RAW(DST, 0, IMM)
/* lddw with both immediates given (pseudo sources: map index, value offset). */
#define BPF_LD_IMM64_RAW_FULL(DST, SRC, OFF1, OFF2, IMM1, IMM2) \
	BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, DST, SRC, OFF1, IMM1), \
	BPFVM_INSN(0, 0, 0, OFF2, IMM2)
/* Map references (bpfvm_prog_opts.maps index IDX in place of the kernel's fd):
 * dst = the map; dst = &value[0] + OFF of an ARRAY (global data). */
#define BPF_LD_MAP_FD(DST, IDX)		BPF_LD_IMM64_RAW(DST, BPF_PSEUDO_MAP_FD, IDX)
#define BPF_LD_MAP_VALUE(DST, IDX, OFF) \
	BPF_LD_IMM64_RAW_FULL(DST, BPF_PSEUDO_MAP_VALUE, 0, 0, IDX, OFF)
#define BPF_LDX_MEM(SZ, DST, SRC, OFF)	BPFVM_INSN(BPF_LDX | (SZ) | BPF_MEM, DST, SRC, OFF, 0)
#define BPF_LDX_MEMSX(SZ, DST, SRC, OFF) BPFVM_INSN(BPF_LDX | (SZ) | BPF_MEMSX, DST, SRC, OFF, 0)
#define BPF_STX_MEM(SZ, DST, SRC, OFF)	BPFVM_INSN(BPF_STX | (SZ) | BPF_MEM, DST, SRC, OFF, 0)
#define BPF_ST_MEM(SZ, DST, OFF, IMM)	BPFVM_INSN(BPF_ST | (SZ) | BPF_MEM, DST, 0, OFF, IMM)
#define BPF_ATOMIC_OP(SZ, OP, DST, SRC, OFF) BPFVM_INSN(BPF_STX | (SZ) | BPF_ATOMIC, DST, SRC, OFF, OP)
#define BPF_JMP_REG(OP, DST, SRC, OFF)	BPFVM_INSN(BPF_JMP | (OP) | BPF_X, DST, SRC, OFF, 0)
#define BPF_JMP_IMM(OP, DST, IMM, OFF)	BPFVM_INSN(BPF_JMP | (OP) | BPF_K, DST, 0, OFF, IMM)
#define BPF_JMP32_REG(OP, DST, SRC, OFF) BPFVM_INSN(BPF_JMP32 | (OP) | BPF_X, DST, SRC, OFF, 0)
#define BPF_JMP32_IMM(OP, DST, IMM, OFF) BPFVM_INSN(BPF_JMP32 | (OP) | BPF_K, DST, 0, OFF, IMM)
#define BPF_JMP_A(OFF)			BPFVM_INSN(BPF_JMP | BPF_JA, 0, 0, OFF, 0)
#define BPF_JMP32_A(IMM)		BPFVM_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, IMM)
#define BPF_CALL_HELPER(ID)		BPFVM_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, ID)
#define BPF_CALL_REL(IMM)		BPFVM_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, IMM)
#define BPF_EXIT_INSN()			BPFVM_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#endif /* BPFVM_INSN_H */
