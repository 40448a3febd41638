/*
 * fuzz_diff.c — libFuzzer harness for engine agreement: the input bytes are the
 * choices of the program generator (tests/progen.c), so every input is a valid
 * program of the shape the differential test makes, with its context memory —
 * map lookups included: every program is bound to progen's three maps (ARRAY,
 * PERCPU_ARRAY, HASH, created at the first input), whose contents progen_compare
 * restores before each run. The program runs on the reference interpreter and on
 * every other available engine (switch interpreter, JIT); any difference in
 * errno, r0, instructions executed, final memory, the maps' final contents or
 * fault — or a valid program the JIT fails to compile — prints the program and
 * both outcomes and aborts. The generator (tests/progen.c) is linked in.
 */
#include <stdlib.h>

#include "progen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct progen g;
	static enum bpfvm_engine eng[3];
	static size_t neng;
	struct bpf_insn *insns;
	size_t cnt;
	bool jit_failed;

	if (!neng) {
		progen_init(&g, 0);
		neng = progen_engines(eng);
	}
	progen_generate(&g, data, size, &insns, &cnt);
	struct bpfvm_prog *prog = progen_load(&g, &jit_failed);
	if (!prog) {
		if (jit_failed) {
			fprintf(stderr, "fuzz_diff: valid program failed to JIT-compile\n");
			progen_print(stderr, &g);
			abort();
		}
		return 0;
	}
	struct progen_outcome out[3];
	size_t bad = progen_compare(prog, &g, eng, neng, out);
	if (bad) {
		fprintf(stderr, "fuzz_diff: engines disagree\n");
		progen_print(stderr, &g);
		progen_outcome_print(stderr, "reference", &out[0], g.mem_len);
		progen_outcome_print(stderr, "differs", &out[bad], g.mem_len);
		abort();
	}
	bpfvm_prog__free(prog);
	return 0;
}
