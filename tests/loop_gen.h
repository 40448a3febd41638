/*
 * loop_gen.h — the loop-shaped programs of test_loops: the generator's interface.
 *
 * Programs (raw type: r1 = memory, r2 = its length; one in ten is a tracepoint
 * program instead, whose context is read-only and whose first instruction sets
 * r2 to the context's fixed length) are built with insn.h's macros from a
 * splitmix64 PRNG seeded from SEED and the program's index, in N_FAMILIES
 * families (program i is of family i % N_FAMILIES; loop_gen.c describes each):
 * the loops clang -O2 writes, and the near misses around them.
 *
 * generate(g, i) builds program i into g: its instructions and family, and what
 * the runner needs to draw its runs: a memory length its bound suggests (hint),
 * a read-only context's length (ro_len), whether memory with equal halves suits
 * it, the fill bytes that give family 8's extreme offsets (hot), the accesses
 * whose address has a loaded term (dacc) and the immediates that test_loops.c's
 * data_fit() may set (fit). The runner then draws from the same PRNG (g->s:
 * rnd(), pct() ...), so a program and its runs are one function of its index.
 */
#ifndef BPFVM_TESTS_LOOP_GEN_H
#define BPFVM_TESTS_LOOP_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

#define SEED		0x100b5eed2024c0deull
#define MEM_MAX		300	/* bytes of context memory, at most */
#define MAX_INSNS	512
#define MAX_LABELS	64
#define MAX_FIXUPS	128

enum { F_COUNTED, F_COPIES, F_POINTER, F_TWO, F_SHAPES, F_CALLS, F_TREES, F_DATA, F_SELECTS,
       N_FAMILIES };
extern const char *const family_names[N_FAMILIES];

/* The helpers family 6 calls (test_loops.c registers them): a deterministic mix
 * of its arguments; one that stops the run when its first two are equal. */
#define H_MIX	(BPFVM_HELPER_USER_BASE + 0x7100u)
#define H_STOP	(BPFVM_HELPER_USER_BASE + 0x7101u)

struct gen {
	uint64_t s;			/* PRNG state */
	int family;
	struct bpf_insn in[MAX_INSNS];
	int cnt;
	int lab[MAX_LABELS], nlab;	/* label -> instruction index (-1: unbound) */
	int fix_at[MAX_FIXUPS], fix_lab[MAX_FIXUPS], nfix;
	uint16_t used;			/* registers taken */
	int hint;			/* a memory length the bound suggests (-1: none) */
	uint32_t ro_len;		/* > 0: tracepoint program, read-only context */
	bool halves;			/* prefers memory whose halves are equal */
	int edge;			/* the length a run's end fault asked for (-1) */
	uint8_t hot[16];		/* fill bytes that give extreme offsets (family 8) */
	int nhot;
	int dacc[8], ndacc;		/* accesses whose address has a loaded term */
	struct {			/* family 8: immediates data_fit() may set */
		int n_at, i0_at, d_at;	/* N += -k; i = i0; D += delta (-1: none) */
		int B, D, I, N;		/* registers */
	} fit;
};

/* The PRNG (splitmix64 on g->s): 64 bits; [0, n) (0 when n = 0); true with
 * probability p%; [lo, hi]. */
uint64_t next64(struct gen *g);
uint64_t rnd(struct gen *g, uint64_t n);
bool pct(struct gen *g, unsigned p);
int32_t rrange(struct gen *g, int32_t lo, int32_t hi);

/* Program index into g (every field reset). */
void generate(struct gen *g, uint64_t index);

#endif
