/*
 * fuzz_run.c — libFuzzer harness for raw bytecode: structural validation, then a
 * checked run on every engine.
 *
 * Input: [1 byte: memory length L (0..63)] [L bytes of memory] [instructions].
 * Whatever validation accepts must run without crashing the host (checked mode
 * stops bad accesses); the interpreter's two dispatchers and the JIT must agree on
 * errno, r0, the final memory and where a fault stopped the run. The kernel helpers
 * are bound, so arbitrary calls to them are fuzzed too. A disagreement aborts.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t helper_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a ^ b ^ c ^ d ^ e;
}

/* What one run did. */
struct outcome {
	int err;
	struct bpfvm_run_opts o;
	uint8_t mem[64];
};

/* Runs prog on engine over a fresh copy of the input memory, always in the same
 * buffer, and always called from the same frame of LLVMFuzzerTestOneInput, so
 * every run sees the same memory and stack addresses: even a program that leaks
 * r1 or r10 must give equal results. */
static void run_once(struct bpfvm_prog *prog, enum bpfvm_engine engine, const uint8_t *init,
		     size_t mem_len, struct outcome *out)
{
	static uint8_t mem[64];
	memcpy(mem, init, mem_len);
	out->o = (struct bpfvm_run_opts){ .sz = sizeof(out->o), .mem = mem, .mem_len = mem_len,
					  .engine = engine, .budget = 4096 };
	out->err = bpfvm_prog__run_opts(prog, &out->o);
	memcpy(out->mem, mem, mem_len);
}

static bool same(const struct outcome *a, const struct outcome *b, size_t mem_len)
{
	return a->err == b->err && a->o.retval == b->o.retval &&
	       memcmp(a->mem, b->mem, mem_len) == 0 && a->o.fault.kind == b->o.fault.kind &&
	       a->o.fault.insn == b->o.fault.insn && a->o.fault.size == b->o.fault.size &&
	       a->o.fault.addr == b->o.fault.addr;
}

/* Whether the program calls a helper whose result varies from run to run (by
 * kernel id: ktime_get_ns, get_prandom_u32, get_smp_processor_id, jiffies64,
 * ktime_get_boot_ns, ktime_get_coarse_ns) or any helper through callx. */
static bool varies(const struct bpf_insn *insns, size_t cnt)
{
	static const int32_t ids[] = { 5, 7, 8, 118, 125, 160 };
	for (size_t i = 0; i < cnt; i++) {
		if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 0)
			for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
				if (insns[i].imm == ids[k])
					return true;
		if (insns[i].code == (BPF_JMP | BPF_CALL | BPF_X))
			return true;
	}
	return false;
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
		/* A program whose result depends on when it runs (it calls a clock,
		 * bpf_get_prandom_u32 or the CPU id helper, or calls through callx) is
		 * not compared: two equal reference runs around the others do not
		 * prove they saw the same value (ktime % 2 is equal half the time). The
		 * reference still runs before and after the others as a second guard. */
		struct outcome ref, again;
		run_once(prog, BPFVM_ENGINE_INTERP, data + 1, mem_len, &ref);
		struct outcome others[2];
		static const enum bpfvm_engine engines[] = { BPFVM_ENGINE_INTERP_SWITCH,
							     BPFVM_ENGINE_JIT };
		for (size_t e = 0; e < 2; e++)
			if (bpfvm_engine_available(engines[e]))
				run_once(prog, engines[e], data + 1, mem_len, &others[e]);
			else
				others[e] = ref;
		run_once(prog, BPFVM_ENGINE_INTERP, data + 1, mem_len, &again);
		if (!varies(insns, cnt) && same(&ref, &again, mem_len))
			for (size_t e = 0; e < 2; e++)
				if (!same(&ref, &others[e], mem_len))
					abort();
		bpfvm_prog__free(prog);
	}
	free(insns);
	return 0;
}
