/*
 * prog.c — programs: creation (copy, bind helpers, validate, JIT-compile) and
 * checked runs on the chosen engine, with timing for repeated runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/jit.h"
#include "log.h"
#include "prog.h"


struct bpfvm_prog *bpfvm_prog__new(const struct bpf_insn *insns, size_t cnt,
				   const struct bpfvm_prog_opts *opts)
{
	int err;
	if (!insns && cnt) {
		errno = -vm_err(-EINVAL, "bpfvm_prog__new: no instructions given");
		return NULL;
	}
	if (opts && opts->sz < sizeof(size_t)) {
		errno = -vm_err(-EINVAL, "bpfvm_prog__new: opts.sz is not set");
		return NULL;
	}
	struct bpfvm_prog *prog = calloc(1, sizeof(*prog));
	if (!prog) {
		errno = ENOMEM;
		return NULL;
	}
	const char *name = opts && opts->name ? opts->name : "prog";
	prog->name = strdup(name);
	prog->cnt = cnt;
	prog->insns = malloc((cnt ? cnt : 1) * sizeof(*insns));
	if (!prog->name || !prog->insns) {
		err = vm_err(-ENOMEM, "out of memory creating program");
		goto fail;
	}
	if (cnt)
		memcpy(prog->insns, insns, cnt * sizeof(*insns));
	err = vm_bind_helpers(prog, opts ? opts->helpers : NULL, opts ? opts->helper_cnt : 0);
	if (!err)
		err = vm_validate(prog);
	bool no_jit = opts && opts->sz >= offsetof(struct bpfvm_prog_opts, no_jit) +
		      sizeof(opts->no_jit) && opts->no_jit;
	if (!err && !no_jit && jit_supported())
		err = jit_compile(prog, &prog->jit);	/* logs why it failed */
	if (!err)
		return prog;
fail:
	bpfvm_prog__free(prog);
	errno = -err;
	return NULL;
}

void bpfvm_prog__free(struct bpfvm_prog *prog)
{
	if (!prog)
		return;
	jit_free(prog->jit);
	free(prog->name);
	free(prog->insns);
	free(prog->decoded);
	free(prog->helpers);
	free(prog->helper_fns);
	free(prog);
}

const char *bpfvm_prog__name(const struct bpfvm_prog *prog) { return prog->name; }
size_t bpfvm_prog__insn_cnt(const struct bpfvm_prog *prog) { return prog->cnt; }
const struct bpf_insn *bpfvm_prog__insns(const struct bpfvm_prog *prog) { return prog->insns; }

bool bpfvm_engine_available(enum bpfvm_engine engine)
{
	switch (engine) {
	case BPFVM_ENGINE_DEFAULT:
	case BPFVM_ENGINE_INTERP:
	case BPFVM_ENGINE_INTERP_SWITCH:
		return true;
	case BPFVM_ENGINE_JIT:
		return jit_supported();
	}
	return false;
}

int bpfvm_prog__jited(const struct bpfvm_prog *prog, const void **code, size_t *len,
		      const uint32_t **insn_offsets)
{
	if (!prog || !prog->jit)
		return -ENOENT;
	jit_code(prog->jit, code, len, insn_offsets);
	return 0;
}

static int run_jit(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0)
{
	return jit_run(run->prog->jit, run, r1, r2, r0);
}

int vm_fault_errno(enum bpfvm_fault_kind kind)
{
	switch (kind) {
	case BPFVM_FAULT_NONE: return 0;
	case BPFVM_FAULT_READ:
	case BPFVM_FAULT_WRITE: return -EFAULT;
	case BPFVM_FAULT_BUDGET: return -ETIME;
	case BPFVM_FAULT_CALL_DEPTH: return -E2BIG;
	case BPFVM_FAULT_BAD_CALL: return -EINVAL;
	case BPFVM_FAULT_UNSUPPORTED: return -EOPNOTSUPP;
	}
	return -EINVAL;
}

void bpfvm_fault__str(const struct bpfvm_fault *f, char *buf, size_t len)
{
	switch (f->kind) {
	case BPFVM_FAULT_NONE:
		snprintf(buf, len, "no fault");
		break;
	case BPFVM_FAULT_READ:
	case BPFVM_FAULT_WRITE:
		snprintf(buf, len, "insn %u: %s of %u byte%s at 0x%" PRIx64 " outside the "
			 "program's %smemory", f->insn, f->kind == BPFVM_FAULT_READ ? "read" : "write",
			 f->size, f->size == 1 ? "" : "s", f->addr,
			 f->kind == BPFVM_FAULT_WRITE ? "writable " : "");
		break;
	case BPFVM_FAULT_BUDGET:
		snprintf(buf, len, "insn %u: instruction budget exhausted", f->insn);
		break;
	case BPFVM_FAULT_CALL_DEPTH:
		snprintf(buf, len, "insn %u: call stack deeper than %d frames", f->insn,
			 BPFVM_MAX_CALL_DEPTH);
		break;
	case BPFVM_FAULT_BAD_CALL:
		snprintf(buf, len, "insn %u: callx to helper id 0x%" PRIx64 ", which is unknown",
			 f->insn, f->addr);
		break;
	case BPFVM_FAULT_UNSUPPORTED:
		snprintf(buf, len, "insn %u: instruction not supported by this engine", f->insn);
		break;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bpfvm_prog__run_opts(struct bpfvm_prog *prog, struct bpfvm_run_opts *opts)
{
	int (*engine)(struct vm_run *, uint64_t, uint64_t, uint64_t *);
	enum bpfvm_engine used;

	if (!prog || !opts || opts->sz < offsetof(struct bpfvm_run_opts, fault) +
				sizeof(opts->fault))
		return vm_err(-EINVAL, "bpfvm_prog__run_opts: needs a program and opts with sz set");
	if (opts->mem_len && !opts->mem)
		return vm_err(-EINVAL, "bpfvm_prog__run_opts: mem_len %zu without mem", opts->mem_len);
	if (opts->region_cnt && !opts->regions)
		return vm_err(-EINVAL, "bpfvm_prog__run_opts: region_cnt without regions");
	switch (opts->engine) {
	case BPFVM_ENGINE_DEFAULT:
		if (prog->jit) {
			engine = run_jit;
			used = BPFVM_ENGINE_JIT;
			break;
		}
		/* fall through */
	case BPFVM_ENGINE_INTERP:
		engine = interp_run;
		used = BPFVM_ENGINE_INTERP;
		break;
	case BPFVM_ENGINE_INTERP_SWITCH:
		engine = interp_run_switch;
		used = BPFVM_ENGINE_INTERP_SWITCH;
		break;
	case BPFVM_ENGINE_JIT:
		if (!prog->jit)
			return vm_err(-EOPNOTSUPP, "%s: not JIT-compiled (%s)", prog->name,
				      jit_supported() ? "created with no_jit" :
				      "the JIT needs an x86-64 machine");
		engine = run_jit;
		used = BPFVM_ENGINE_JIT;
		break;
	default:
		return vm_err(-EINVAL, "unknown engine %d", (int)opts->engine);
	}

	/* Regions: the context memory first, then the embedder's. */
	size_t nreg = opts->region_cnt + 1;
	struct bpfvm_region small[8], *regions = small;
	if (nreg > 8 && !(regions = malloc(nreg * sizeof(*regions))))
		return vm_err(-ENOMEM, "out of memory");
	regions[0] = (struct bpfvm_region){ opts->mem, opts->mem_len, true };
	if (opts->region_cnt)
		memcpy(regions + 1, opts->regions, opts->region_cnt * sizeof(*regions));

	uint32_t repeat = opts->repeat ? opts->repeat : 1;
	uint64_t r0 = 0, t0 = now_ns();
	int err = 0;
	struct vm_run run;
	_Alignas(16) uint8_t stack[VM_STACK_TOTAL];
	if (engine == run_jit) {
		/* One set-up for all the runs: the lean path timing loops want. */
		run = (struct vm_run){ .prog = prog, .stack = stack, .regions = regions,
				       .region_cnt = nreg, .budget = opts->budget };
		err = jit_run_repeat(prog->jit, &run, (uint64_t)(uintptr_t)opts->mem,
				     opts->mem_len, &r0, repeat);
	}
	for (uint32_t k = 0; engine != run_jit && k < repeat && !err; k++) {
		run = (struct vm_run){ .prog = prog, .stack = stack, .regions = regions,
				       .region_cnt = nreg, .budget = opts->budget };
		err = engine(&run, (uint64_t)(uintptr_t)opts->mem, opts->mem_len, &r0);
	}
	uint64_t t1 = now_ns();
	if (regions != small)
		free(regions);

	opts->retval = err ? 0 : r0;
	opts->duration_ns = (t1 - t0) / repeat;
	opts->insn_executed = run.insn_executed;
	opts->fault = run.fault;
	if (opts->sz >= offsetof(struct bpfvm_run_opts, engine_used) + sizeof(opts->engine_used))
		opts->engine_used = used;
	if (err) {
		char msg[256];
		bpfvm_fault__str(&run.fault, msg, sizeof(msg));
		vm_err(err, "%s: %s", prog->name, msg);
	}
	return err;
}
