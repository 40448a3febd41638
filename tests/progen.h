/*
 * progen.h — a generator of random valid eBPF programs, and the differential
 * runner that holds every engine to the reference interpreter on them.
 *
 * Generation. progen_generate() draws its choices either from a seeded PRNG
 * (deterministic tests) or from a byte string (libFuzzer: the input bytes are the
 * choices, and running out of bytes reads as zeros, which yields short programs).
 * The instruction forms come from isa.def: at progen_init() every row is probed
 * with bpfvm_prog__new, and the rows the structural validator accepts are the
 * ones generated, each filled according to its format. Programs are built so that
 * they pass validation (registers written in a prologue and again after every
 * call, jumps kept inside their subprogram, every subprogram ends in exit) and
 * mix in what engines get wrong: interesting operands, forward jumps and
 * backward loops (some endless: the budget stops them), loads, stores and
 * atomics on the stack and the context memory (mostly in bounds, sometimes not),
 * local calls (some recursive past the depth limit), helper calls and callx to
 * known and unknown ids, bpf_loop calls with subprograms as callbacks (nesting,
 * some past the depth limit, some with arguments the helper refuses), and — in
 * about 30% of the programs — bpf_map_lookup_elem on the maps below, in the
 * shapes clang writes (which the JIT inlines) and in near misses (which it must
 * not), with accesses through the result inside the value, in its padding, past
 * it and past the array's end. Each program comes with its context memory (length
 * and contents), also drawn from the choices.
 *
 * Maps. Every program is bound to the same three maps (progen_maps), created
 * once per process: an ARRAY (value 20 bytes: stride 24, padding), a
 * PERCPU_ARRAY and a HASH with a few keys. Programs name them by address (lddw
 * imm64) or by index (lddw src 1/5 = map i of progen_maps, src 2 = a value of the
 * ARRAY).
 *
 * Running. progen_compare() runs one program on the reference engine and on the
 * others, from one call site (so every engine sees the same stack address) with
 * the same context memory and map contents (both restored before each run) and
 * budget, and compares errno, r0, instructions executed, the final memory, the
 * maps' final contents (the arrays' bytes, padding and every CPU slot included;
 * the hash's values) and the fault (kind, insn, addr, size).
 */
#ifndef BPFVM_PROGEN_H
#define BPFVM_PROGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpfvm/bpfvm.h"

#define PROGEN_MAX_INSNS	128	/* slots in one generated program */
#define PROGEN_MEM_MAX		256	/* bytes of context memory */
#define PROGEN_BUDGET		2000	/* instructions per run */
#define PROGEN_MAX_SUBPROGS	4	/* the main program's included */

struct progen {
	/* configuration (progen_init sets defaults): slots in the bodies of the
	 * main program and its subprograms together (default 10..60; at most what
	 * fits PROGEN_MAX_INSNS); prologues and epilogues come on top */
	unsigned min_insns, max_insns;
	/* randomness: the PRNG state (assign to reseed: a program is a function
	 * of the state it starts from), or the byte string being consumed */
	uint64_t state;
	const uint8_t *bytes;
	size_t byte_len, byte_pos;
	/* output: the program (valid until the next generate) and its memory */
	struct bpf_insn insns[PROGEN_MAX_INSNS];
	size_t cnt;
	uint8_t mem[PROGEN_MEM_MAX];
	size_t mem_len;
	/* generation state (private) */
	uint8_t noland[PROGEN_MAX_INSNS];	/* slot must not be a jump target */
	size_t sub_start, cur_sub, sub_cnt, sub_at[PROGEN_MAX_SUBPROGS];
	size_t nfwd, fwd_at[PROGEN_MAX_INSNS], fwd_dist[PROGEN_MAX_INSNS];
	size_t ncall, call_at[PROGEN_MAX_INSNS], call_to[PROGEN_MAX_INSNS];
	unsigned loop_depth;
	bool maps_on;		/* this program may look maps up */
	bool shadow_lookup;	/* its helper 1 is progen_mix, not the map lookup */
	unsigned lookups;	/* helper-1 calls generated (lookup sequences) */
	uint8_t held_reg;	/* r6..r9 that got a lookup's result (0: none) */
	uint8_t held_map;	/* ... from which map (PROGEN_MAP_*) */
	int32_t held_idx;	/* ... at which key (array maps: -1 if unknown) */
};

/* The maps every generated program is bound to (bpfvm_prog_opts.maps, in this
 * order), created by the first progen_init. */
enum { PROGEN_MAP_ARRAY, PROGEN_MAP_PERCPU, PROGEN_MAP_HASH, PROGEN_MAPS };
extern struct bpfvm_map *progen_maps[PROGEN_MAPS];
/* The CPU slot the thread that called progen_init first gets for per-CPU maps
 * (progen_init makes it 1 where there are two slots or more, so that a lookup
 * that forgets the slot reads slot 0's values, which differ). */
extern int progen_cpu_slot;
/* Restores the maps' contents to their fixed initial values (array padding and
 * every CPU slot included). progen_compare calls it before each run. */
void progen_maps_reset(void);

/* Sets defaults and seeds the PRNG. */
void progen_init(struct progen *g, uint64_t seed);
/* Generates one program into g->insns / g->cnt and its context memory into g->mem /
 * g->mem_len; *out and *cnt are set to g->insns and g->cnt. The choices come from
 * rand[0..rand_len) if rand is not NULL, else from g's PRNG. Returns 0. */
int progen_generate(struct progen *g, const uint8_t *rand, size_t rand_len,
		    struct bpf_insn **out, size_t *cnt);

/* The helpers generated programs call: pass as bpfvm_prog_opts.helpers. Pure and
 * deterministic; one calls bpfvm_run_stop() for some argument values. */
extern const struct bpfvm_helper progen_helpers[];
extern const size_t progen_helper_cnt;
/* How many times the stopping helper has stopped a run (all engines counted). */
extern uint64_t progen_stops;

/* Whether progen generates isa.def row `row` (the validator accepts it). */
bool progen_row_enabled(int row);

/* The engines to compare: BPFVM_ENGINE_INTERP first (the reference), then each
 * of BPFVM_ENGINE_INTERP_SWITCH and BPFVM_ENGINE_JIT that bpfvm_engine_available()
 * reports. Returns how many were written to out[0..3). */
size_t progen_engines(enum bpfvm_engine out[3]);

/* Creates g's program with progen_helpers (and, for a program with
 * shadow_lookup, progen_mix as helper 1) and progen_maps bound (compiled by the
 * JIT where there is one). NULL if it is rejected; *jit_failed (may be NULL) is
 * then set when the program is valid without the JIT but failed to compile with
 * it. */
struct bpfvm_prog *progen_load(const struct progen *g, bool *jit_failed);

/* One run's observable outcome. */
struct progen_outcome {
	enum bpfvm_engine engine;
	int err;
	uint64_t retval;
	uint64_t insn_executed;
	struct bpfvm_fault fault;
	uint8_t mem[PROGEN_MEM_MAX];
	/* The maps' contents after the run (for a program that names a map; else
	 * maps_len is 0): the ARRAY's values block, the PERCPU_ARRAY's (all CPU
	 * slots), then per HASH key a found byte and the value, and the number of
	 * keys. Points into a buffer of progen's, one per engine index, valid until
	 * the next progen_compare. */
	const uint8_t *maps;
	size_t maps_len;
	bool maps_changed;	/* maps differ from their initial contents */
};

/* Runs prog on engines[0] (the reference) and each other engine in
 * engines[1..n) with g's memory and the maps' initial contents; out[0..n) get
 * the outcomes. Returns the index of the first engine that disagrees with
 * engines[0], or 0 if all agree. */
size_t progen_compare(struct bpfvm_prog *prog, const struct progen *g,
		      const enum bpfvm_engine *engines, size_t n, struct progen_outcome *out);
/* Prints an outcome (with "label: " in front): one line, the memory and the
 * maps' contents. */
void progen_outcome_print(FILE *f, const char *label, const struct progen_outcome *o,
			  size_t mem_len);
/* Prints the program (kernel syntax, indexed) and its memory. */
void progen_print(FILE *f, const struct progen *g);
const char *progen_engine_name(enum bpfvm_engine e);

#endif
