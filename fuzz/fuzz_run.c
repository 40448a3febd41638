/*
 * fuzz_run.c — libFuzzer harness for raw bytecode: structural validation, then a
 * checked run on both interpreter dispatchers.
 *
 * Input: [1 byte: memory length L (0..63)] [L bytes of memory] [instructions].
 * Whatever validation accepts must run without crashing the host (checked mode
 * stops bad accesses), both dispatchers must agree on r0, on the final memory and
 * on where a fault stopped the run. A disagreement aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t helper_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a ^ b ^ c ^ d ^ e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t mem_len = data[0] & 63;
	if (size < 1 + mem_len)
		return 0;
	const uint8_t *code = data + 1 + mem_len;
	size_t cnt = (size - 1 - mem_len) / sizeof(struct bpf_insn);
	struct bpf_insn *insns = malloc(cnt * sizeof(*insns) + 1);
	if (!insns)
		return 0;
	memcpy(insns, code, cnt * sizeof(*insns));

	static const struct bpfvm_helper helpers[] = { { .id = 1, .name = "sum", .fn = helper_sum } };
	struct bpfvm_prog_opts popts = { .sz = sizeof(popts), .helpers = helpers, .helper_cnt = 1 };
	struct bpfvm_prog *prog = bpfvm_prog__new(insns, cnt, &popts);
	if (prog) {
		/* Both dispatchers run on the same buffer, restored in between. */
		uint8_t mem[64], after_a[64];
		memcpy(mem, data + 1, mem_len);
		struct bpfvm_run_opts a = { .sz = sizeof(a), .mem = mem, .mem_len = mem_len,
					    .engine = BPFVM_ENGINE_INTERP, .budget = 4096 };
		struct bpfvm_run_opts b = a;
		b.engine = BPFVM_ENGINE_INTERP_SWITCH;
		int ea = bpfvm_prog__run_opts(prog, &a);
		memcpy(after_a, mem, mem_len);
		memcpy(mem, data + 1, mem_len);
		int eb = bpfvm_prog__run_opts(prog, &b);
		/* Both runs start from the same frame here, so they share the stack
		 * address: even a program that leaks r10 must give equal results. */
		if (ea != eb || a.retval != b.retval || memcmp(after_a, mem, mem_len) != 0 ||
		    a.fault.kind != b.fault.kind || a.fault.insn != b.fault.insn ||
		    a.fault.size != b.fault.size || a.fault.addr != b.fault.addr)
			abort();
		bpfvm_prog__free(prog);
	}
	free(insns);
	return 0;
}
