/*
 * test_differential.c — random valid programs (tests/progen.c) run on every engine
 * and held to the reference interpreter.
 *
 * 100,000 programs from fixed seeds (program i is generated from seed
 * SEED_BASE + i). Each one that the validator accepts runs on
 * BPFVM_ENGINE_INTERP and on each other engine bpfvm_engine_available() reports
 * (the switch interpreter, the JIT), from one call site, on the same context
 * memory, map contents and budget; errno, r0, the instructions executed, the
 * final memory, the maps' final contents and the fault (kind, insn, addr, size)
 * must be identical. Every program is bound to progen's three maps (an ARRAY, a
 * PERCPU_ARRAY, a HASH), whose contents are restored before each run of a
 * program that names them; about 30% of the programs look them up (progen.h).
 * A mismatch prints the seed, the program, its memory and both outcomes. A
 * program valid without the JIT that the JIT fails to compile is a failure too.
 *
 * Also checked, so that the generator keeps its reach: at least 95% of programs
 * are accepted, every isa.def row the validator accepts appears, every fault
 * kind a raw program can hit occurs, at least 20% of the programs look a map up
 * (and some change one), and (with the JIT) at least 5% have a lookup the JIT
 * inlines (jit_inlined_calls; the summary also counts the inlined call sites,
 * the programs that also have a loop the JIT versioned, and the programs whose
 * reference run changed a map).
 *
 * Usage: test_differential [--count N] [--seed S] [--verbose]
 *   --seed S   only the program of seed S (as a mismatch report names it),
 *              printed with every engine's outcome
 *   (other arguments, such as the conformance directory CTest passes, are ignored)
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "isa.h"
#include "jit/jit.h"
#include "prog.h"
#include "progen.h"
#include "testutil.h"

#define SEED_BASE	0x5eed000000000000ull
#define DEFAULT_COUNT	100000
#define MAX_REPORTS	3	/* mismatches printed in full */

static const char *const fault_names[] = {
	[BPFVM_FAULT_NONE] = "none", [BPFVM_FAULT_READ] = "read",
	[BPFVM_FAULT_WRITE] = "write", [BPFVM_FAULT_BUDGET] = "budget",
	[BPFVM_FAULT_CALL_DEPTH] = "call-depth", [BPFVM_FAULT_BAD_CALL] = "bad-call",
	[BPFVM_FAULT_UNSUPPORTED] = "unsupported",
};
#define N_FAULTS (sizeof(fault_names) / sizeof(fault_names[0]))

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

struct stats {
	uint64_t programs, accepted, mismatches, jit_failures;
	uint64_t faults[N_FAULTS];	/* the reference's outcomes */
	uint64_t row_hits[ISA__COUNT];	/* in accepted programs */
	uint64_t row_run[ISA__COUNT];	/* executed (sampled, see trace_rows) */
	/* accepted programs with a lookup sequence, with one the JIT inlined (and
	 * the inlined call sites), whose reference run changed a map */
	uint64_t lookup_progs, inlined_progs, inlined_calls, map_writers;
	uint64_t inlined_versioned;	/* ... and a loop the JIT versioned */
};

static void count_rows(struct stats *st, const struct progen *g)
{
	for (size_t i = 0; i < g->cnt; i++) {
		int row = isa_decode(&g->insns[i]);
		if (row >= 0)
			st->row_hits[row]++;
		if (row >= 0 && isa_rows[row].fmt == ISA_FMT_LDDW)
			i++;
	}
}

/* Rows the reference interpreter executes, for one program in TRACE_EVERY, over
 * its first TRACE_MAX steps: a run with budget k stops with fault.insn = the
 * slot of step k + 1. (Approximate: these runs start from another call site, so
 * a program whose branches depend on r10's value may take other paths.) */
#define TRACE_EVERY	50
#define TRACE_MAX	200
static void trace_rows(struct bpfvm_prog *prog, const struct progen *g, uint64_t *hits)
{
	_Alignas(64) uint8_t work[PROGEN_MEM_MAX];
	for (uint64_t k = 1; k <= TRACE_MAX; k++) {
		memcpy(work, g->mem, g->mem_len);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = work, .mem_len = g->mem_len,
					    .engine = BPFVM_ENGINE_INTERP, .budget = k };
		bpfvm_prog__run_opts(prog, &o);
		if (o.fault.kind == BPFVM_FAULT_NONE || o.fault.insn >= g->cnt)
			break;
		int row = isa_decode(&g->insns[o.fault.insn]);
		if (row >= 0)
			hits[row]++;
		if (o.fault.kind != BPFVM_FAULT_BUDGET)
			break;
	}
}

/* Generates, validates, runs and compares the program of one seed. */
static void one(struct progen *g, uint64_t seed, const enum bpfvm_engine *eng, size_t neng,
		struct stats *st, bool verbose)
{
	struct bpf_insn *insns;
	size_t cnt;
	bool jit_failed;

	g->state = seed;
	progen_generate(g, NULL, 0, &insns, &cnt);
	st->programs++;
	struct bpfvm_prog *prog = progen_load(g, &jit_failed);
	if (!prog) {
		if (jit_failed && st->jit_failures++ < MAX_REPORTS) {
			fprintf(stderr, "seed 0x%" PRIx64 ": valid, but the JIT failed to compile it\n",
				seed);
			progen_print(stderr, g);
		}
		if (verbose)
			printf("seed 0x%" PRIx64 ": rejected\n", seed);
		return;
	}
	st->accepted++;
	count_rows(st, g);
	st->lookup_progs += g->lookups > 0;
	size_t inlined = jit_inlined_calls(prog->jit);
	st->inlined_progs += inlined > 0;
	st->inlined_calls += inlined;
	st->inlined_versioned += inlined && jit_versioned_loops(prog->jit);
	if (st->accepted % TRACE_EVERY == 0)
		trace_rows(prog, g, st->row_run);

	struct progen_outcome out[3];
	size_t bad = progen_compare(prog, g, eng, neng, out);
	st->faults[out[0].fault.kind < N_FAULTS ? out[0].fault.kind : 0]++;
	st->map_writers += out[0].maps_changed;
	if (bad && st->mismatches++ < MAX_REPORTS) {
		fprintf(stderr, "MISMATCH: seed 0x%" PRIx64 " (replay: test_differential --seed "
			"0x%" PRIx64 ")\n", seed, seed);
		progen_print(stderr, g);
		progen_outcome_print(stderr, "reference", &out[0], g->mem_len);
		progen_outcome_print(stderr, "differs", &out[bad], g->mem_len);
	}
	if (verbose) {
		progen_print(stdout, g);
		for (size_t e = 0; e < neng; e++)
			progen_outcome_print(stdout, e ? "engine" : "reference", &out[e], g->mem_len);
	}
	bpfvm_prog__free(prog);
}

int main(int argc, char **argv)
{
	uint64_t count = DEFAULT_COUNT, seed = 0;
	bool single = false, verbose = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0), single = true;
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
	}

	enum bpfvm_engine eng[3];
	size_t neng = progen_engines(eng);
	printf("differential: comparing interp (the reference)");
	for (size_t e = 1; e < neng; e++)
		printf("%s%s", e == 1 ? " with " : ", ", progen_engine_name(eng[e]));
	printf("%s\n", bpfvm_engine_available(BPFVM_ENGINE_JIT) ? "" :
	       "; jit: not available in this build");

	static struct progen g;
	progen_init(&g, 0);
	static struct stats st;
	double t0 = now_s();
	if (single)
		one(&g, seed, eng, neng, &st, true);
	else
		for (uint64_t i = 0; i < count; i++)
			one(&g, SEED_BASE + i, eng, neng, &st, verbose);
	double dt = now_s() - t0;

	printf("differential: %" PRIu64 " programs (%" PRIu64 " accepted), engines: interp",
	       st.programs, st.accepted);
	for (size_t e = 1; e < neng; e++)
		printf(", %s", progen_engine_name(eng[e]));
	printf(", faults:");
	for (size_t k = 0; k < N_FAULTS; k++)
		printf(" %" PRIu64 " %s%s", st.faults[k], fault_names[k], k + 1 < N_FAULTS ? "," : "");
	printf("\n");
	printf("differential: acceptance %.2f%%, %.0f programs/s (%.2f s), helper stops %" PRIu64
	       "\n", st.programs ? 100.0 * (double)st.accepted / (double)st.programs : 0.0,
	       dt > 0 ? (double)st.programs / dt : 0.0, dt, progen_stops / neng);
	printf("differential: map lookups in %" PRIu64 " programs (%.1f%%), inlined by the JIT in %"
	       PRIu64 " (%.1f%%; %" PRIu64 " call sites; %" PRIu64 " with a versioned loop), maps "
	       "changed by %" PRIu64 "; per-CPU slot %d of %d\n", st.lookup_progs,
	       pct(st.lookup_progs, st.programs), st.inlined_progs,
	       pct(st.inlined_progs, st.programs), st.inlined_calls, st.inlined_versioned,
	       st.map_writers, progen_cpu_slot, bpfvm_num_cpu_slots());
	size_t on = 0, hit = 0, run = 0;
	for (int r = 0; r < ISA__COUNT; r++) {
		if (!progen_row_enabled(r))
			continue;
		on++;
		hit += st.row_hits[r] > 0;
		run += st.row_run[r] > 0;
		if (!single && !st.row_hits[r])
			printf("differential: row %s never generated\n", isa_rows[r].name);
		else if (!single && !st.row_run[r])
			printf("differential: row %s never seen executing\n", isa_rows[r].name);
	}
	printf("differential: rows: of the %zu of isa.def's %d that the validator accepts, %zu "
	       "generated, %zu seen executing (sampled)\n", on, ISA__COUNT, hit, run);

	CHECK(st.mismatches == 0, "%" PRIu64 " programs ran differently on some engine",
	      st.mismatches);
	CHECK(st.jit_failures == 0, "%" PRIu64 " valid programs failed to JIT-compile",
	      st.jit_failures);
	CHECK(st.accepted * 100 >= st.programs * 95, "acceptance %" PRIu64 " of %" PRIu64,
	      st.accepted, st.programs);
	if (!single && count >= 10000) {
		CHECK(hit == on, "%zu accepted rows never generated", on - hit);
		for (size_t k = 0; k < N_FAULTS; k++)
			if (k != BPFVM_FAULT_UNSUPPORTED)
				CHECK(st.faults[k] > 0, "no run ended with fault kind %s",
				      fault_names[k]);
		CHECK(st.lookup_progs * 100 >= st.programs * 20 && st.map_writers > 0,
		      "map lookups in only %" PRIu64 " of %" PRIu64 " programs (%" PRIu64
		      " changed a map)", st.lookup_progs, st.programs, st.map_writers);
		if (bpfvm_engine_available(BPFVM_ENGINE_JIT))
			CHECK(st.inlined_progs * 100 >= st.programs * 5, "the JIT inlined a lookup "
			      "in only %" PRIu64 " of %" PRIu64 " programs", st.inlined_progs,
			      st.programs);
	}
	return test_summary();
}
