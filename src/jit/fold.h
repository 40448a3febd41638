/*
 * fold.h — what the JIT knows about register values inside a basic block, and
 * what it does with that: constant folding, immediate operands for registers
 * holding constants, known jump outcomes, and zero-extensions and moves that
 * need no code.
 *
 * One forward pass per basic block (fold.c; at each block's first instruction
 * nothing is known) tracks, per BPF register, whether its value is a known
 * constant (from lddw, mov imm, and ALU instructions on known values, computed
 * with isa_eval.h, the interpreter's own semantics), whether its upper 32 bits
 * are known to be zero (32-bit results, byte/half/word loads, masks, right shifts
 * by 32 or more), and whether it is r10 plus a known offset (r2 = r10; r2 += -4).
 * Each instruction then gets one decision:
 *
 *   FOLD_CONST   an ALU instruction whose result is known: mov dst, value
 *   FOLD_IMM     a register operand holding a known constant that the
 *                instruction's immediate form can carry: emitted as that form
 *                (cmp r, imm instead of cmp r, r; add r, imm ...)
 *   FOLD_TAKEN / FOLD_NOT_TAKEN   a conditional jump on known values: jmp / nothing
 *   FOLD_SKIP    no effect on any register: r = r, w = w of a zero-extended
 *                value, + - | ^ << >> by 0, le64, le32 of a zero-extended value,
 *                the second half of a pair below
 *   FOLD_ZEXT    r <<= 32; r >>= 32 (clang's zero-extension without alu32):
 *                one mov r32, r32 (nothing if r is already zero-extended)
 *   FOLD_SEXT    r <<= 32; r s>>= 32 (its sign-extension): one movsxd
 *   FOLD_CALL_ARGS  a helper call with r1 = val (a constant: a map) and r2 =
 *                r10 + imm (a key on the stack): a fact the JIT may use to inline
 *                the call (bpf_map_lookup_elem in an ARRAY); the code is otherwise
 *                the call's own
 *   FOLD_DEAD    (set by the JIT, not here) a register computation nothing reads
 *                before an inlined call clobbers it: no code
 *
 * Nothing observable changes: instruction counts, budget stops and faults are
 * per instruction and unaffected (no instruction disappears from the count, only
 * its code), and every copy of a block (the exact-budget copy, a group check's
 * fall-back copy, a loop's fast copy) runs the same instructions from the same
 * facts, so the decisions hold in all of them.
 */
#ifndef BPFVM_JIT_FOLD_H
#define BPFVM_JIT_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/insn.h"

enum fold_kind {
	FOLD_NONE, FOLD_CONST, FOLD_IMM, FOLD_TAKEN, FOLD_NOT_TAKEN, FOLD_SKIP, FOLD_ZEXT,
	FOLD_SEXT, FOLD_CALL_ARGS, FOLD_DEAD,
};

struct fold {
	uint8_t kind;		/* enum fold_kind */
	uint8_t row;		/* FOLD_IMM: the immediate form's row */
	int32_t imm;		/* FOLD_IMM: its immediate; FOLD_CALL_ARGS: r2 - r10 */
	uint64_t val;		/* FOLD_CONST: the value; FOLD_CALL_ARGS: r1 */
};

/* Decisions for the decoded program (code, cnt) whose basic blocks start where
 * leader[i] & 1: *out gets cnt entries (free() it). 0 or -ENOMEM. */
int jit_fold(const struct bpf_insn *code, size_t cnt, const uint8_t *leader, struct fold **out);

#endif
