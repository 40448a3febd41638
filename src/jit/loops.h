/*
 * loops.h — loop versioning for the JIT's checked mode: which loops can run, once
 * a check at their entry has passed, in a copy without per-access bounds checks
 * and without per-block budget tests.
 *
 * The analysis (loops.c) finds the innermost natural loops of the control-flow
 * graph (dominators; a loop may be entered in the middle of its instructions, as
 * clang's rotated loops are), and runs each loop body once
 * symbolically: every register and 8-byte stack slot is an affine form of at most
 * two values the loop had on entry to its header (a register, or a stack slot the
 * loop never writes) plus a constant. From the state at the back edges it sorts
 * the registers into invariants (unchanged), induction variables (+ a constant
 * step, or + an invariant register), and copies of an induction variable (clang
 * keeps two registers that advance together), and it looks for the controlling
 * test: a conditional jump that every iteration passes and that leaves the loop
 * unless  iv + a < B,  iv + a <= B  (signed or not) or  iv + a != B  (step 1)
 * holds, with a and B invariant. If iteration k + 1 runs, iteration k passed that
 * test, so every value the induction variable takes is at most
 *
 *     max(iv0, B - a + step - 1)      (<=: B - a + step; !=: B - a, with x0 <= B)
 *
 * and the loop runs at most (that - iv0) / step + 1 iterations. The memory
 * accesses whose address is  invariant + iv + c  (either part optional) are then
 * covered by one range per (invariant, iv, read/write): [inv + iv0 + lo,
 * inv + ivmax + hi). The JIT emits, in front of the header, code that checks at run
 * time what the analysis assumed — copies equal, every value in (-2^47, 2^47) so
 * that no sum wraps, the ranges inside the context memory (or the stack in use,
 * for ranges based on r10), the budget left at least the iteration bound times the
 * longest path through the body — and enters the fast copy only if all of it
 * holds. Otherwise the loop runs as before, fully checked. The fast copy still
 * charges the budget exactly, but not block by block: a block that every path
 * from its immediate dominator reaches (inside the iteration) is charged ahead by
 * that dominator's charge, so a skip-one diamond costs one subtraction, not three;
 * an exit from the copy, a fault and a fall-back to the checked code give back
 * what was charged ahead. Its uncovered accesses check themselves as usual.
 *
 * The fast copy also skips a test that repeats the one just before it with nothing
 * in between that changes its registers (clang lowers two selects on one condition
 * to two such skip-one diamonds): the first test's taken edge goes past the second,
 * its fall-through path falls past it, and the instruction is still counted; and
 * a conditional jump over a goto is inverted to go where the goto went.
 *
 * Stack slots are tracked only when no store in the loop could alias the stack:
 * every store not through r10 must be covered by a context-memory range (the
 * analysis retries without slots when one is not).
 */
#ifndef BPFVM_JIT_LOOPS_H
#define BPFVM_JIT_LOOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/insn.h"

/* Symbols: the value on entry to the header of BPF register 0-10, or of the stack
 * slot at r10 - 8 * (k + 1) (LV_SLOT0 + k). */
#define LV_NONE		(-1)
#define LV_SLOT0	16
#define LV_NSLOT	64
static inline int32_t lv_slot_off(int sym) { return -8 * (sym - LV_SLOT0 + 1); }

enum lv_cmp { LV_LT, LV_LE, LV_NE };

/* A loop-invariant value: sym + c (sym LV_NONE: the constant c). */
struct lv_val {
	int8_t sym;
	int32_t c;
};

/* Memory the loop's covered accesses may touch: inv + iv + [lo, hi) for every
 * value iv takes (LV_NONE: that part is absent). */
struct lv_range {
	int8_t inv, iv;
	bool write;
	int32_t lo, hi;
};

/* At entry: reg d == reg q + delta (a copy of an induction variable). */
struct lv_eq {
	int8_t d, q;
	int32_t delta;
};

#define LV_MAX_RANGES	8
#define LV_MAX_IVS	10

struct lv_loop {
	size_t header;
	uint32_t *blocks;	/* the leaders of its blocks, ascending */
	size_t nblocks;
	uint32_t maxlen;	/* instructions on the longest path through one iteration */
	/* the controlling test:  q + a  cmp  b  */
	int8_t q;
	enum lv_cmp cmp;
	bool sgn;		/* signed comparison */
	struct lv_val a, b;
	int8_t step_reg;	/* LV_NONE: the step is step_c */
	int32_t step_c;
	uint8_t step_shift;	/* floor(log2(step)) for a constant step, else 0 */
	struct lv_eq eq[LV_MAX_IVS];
	size_t neq;
	int8_t ivs[LV_MAX_IVS];	/* other induction variables the ranges use */
	size_t nivs;
	struct lv_range ranges[LV_MAX_RANGES];
	size_t nranges;
	/* Per block (as blocks[]): what the fast copy subtracts from the budget on
	 * entry (0: nothing) and the instructions charged ahead once the block has
	 * run (see plan_charges in loops.c); exits and fault paths give these back. */
	uint32_t *charge;
	int32_t *ahead;		/* < 0: instructions run but not yet charged */
	/* The loop calls (a helper, a subprogram, a packet load): its iterations
	 * cannot be bounded in instructions, so the fast copy keeps the per-block
	 * budget tests and only the bounds checks go; stack slots are not tracked
	 * (a callee may write the caller's stack). charge[] is then each block's
	 * own length and ahead[] 0. */
	bool calls;
	bool owed;		/* charged by the decision-tree plan (ahead <= 0) */
	/* Repeated tests the fast copy skips (thread_tests in loops.c), per block:
	 * LV_AS_IS, LV_DEAD (never reached in the copy: not emitted), or the
	 * instruction that the block's last jump (when it ends in a conditional
	 * jump) or its fall-through (otherwise) goes to instead. */
	int32_t *thread;
	uint8_t *invert;	/* per block: its last jump is inverted to go where the
				 * skipped goto after it went, falling into its target */
	size_t nthreaded;	/* blocks made LV_DEAD */
};
#define LV_AS_IS	(-1)
#define LV_DEAD		(-2)

struct lv_info {
	struct lv_loop *loops;
	size_t nloops;
	uint8_t *covered;	/* per instruction: access covered by its loop's ranges */
	int32_t *loop_of;	/* per instruction: the versioned loop it belongs to, or -1 */
	int32_t *header_of;	/* per instruction: the loop it is the header of, or -1 */
	uint8_t *head;		/* per instruction: heads a natural loop (versioned or not) */
	size_t nheads;
};

/* Analyses the decoded program (code, cnt) whose basic blocks start where
 * leader[i] & 1 and hold blk[i] instructions (lddw counts once); inlined[i] (or
 * NULL) marks helper calls the JIT emits inline (an array lookup: it writes r0-r5
 * and nothing else, and never leaves the code), which do not make a loop one that
 * calls; roots[] are the instructions entered from outside (0, subprograms,
 * callbacks). 0, or -ENOMEM. */
int lv_analyse(const struct bpf_insn *code, size_t cnt, const uint8_t *leader,
	       const uint32_t *blk, const uint8_t *inlined, const size_t *roots, size_t nroots,
	       struct lv_info *out);
void lv_free(struct lv_info *info);

/* Index of the block starting at leader t in loop l, or -1. */
int lv_block_index(const struct lv_loop *l, size_t t);

#endif
