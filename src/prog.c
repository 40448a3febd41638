/*
 * prog.c — programs: creation (copy, bind helpers and maps, validate, JIT-compile)
 * and checked runs on the chosen engine, with timing for repeated runs; the run's
 * dynamic regions (map values and ring-buffer records helpers hand out, see prog.h)
 * and the one out-of-line region check every engine and vm_mem_ok use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jit/jit.h"
#include "log.h"
#include "maps/map.h"
#include "prog.h"

/* Whether opts (sz bytes of it) has field F. */
#define OPTS_HAS(O, F) ((O) && (O)->sz >= offsetof(__typeof__(*(O)), F) + sizeof((O)->F))


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
	if (!err && OPTS_HAS(opts, map_cnt) && opts->map_cnt) {
		if (!opts->maps)
			err = vm_err(-EINVAL, "bpfvm_prog__new: map_cnt without maps");
		else
			err = vm_prog_bind_maps(prog, opts->maps, opts->map_cnt);
	}
	if (!err)
		err = vm_validate(prog);
	bool no_jit = OPTS_HAS(opts, no_jit) && opts->no_jit;
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
	for (size_t i = 0; i < prog->map_cnt; i++)
		vm_map_put(prog->maps[i]);
	free(prog->maps);
	free(prog);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

int vm_prog_bind_maps(struct bpfvm_prog *prog, struct bpfvm_map *const *maps, size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		if (!maps[i])
			return vm_err(-EINVAL, "%s: map %zu to bind is NULL", prog->name, i);
	if (cnt > SIZE_MAX / sizeof(*maps) - prog->map_cnt)
		return vm_err(-ENOMEM, "%s: too many maps", prog->name);
	struct bpfvm_map **v = realloc(prog->maps, (prog->map_cnt + cnt) * sizeof(*v) + 1);
	if (!v)
		return vm_err(-ENOMEM, "out of memory binding maps");
	prog->maps = v;
	for (size_t i = 0; i < cnt; i++) {
		if (bsearch(&maps[i], v, prog->map_cnt, sizeof(*v), cmp_ptr))
			continue;
		v[prog->map_cnt++] = vm_map_get(maps[i]);
		qsort(v, prog->map_cnt, sizeof(*v), cmp_ptr);
	}
	return 0;
}

struct bpfvm_map *vm_run_map(uint64_t r)
{
	const struct vm_run *run = vm_current_run;
	if (!run || !run->prog->map_cnt)
		return NULL;
	struct bpfvm_map *key = (struct bpfvm_map *)(uintptr_t)r;
	struct bpfvm_map **m = bsearch(&key, run->prog->maps, run->prog->map_cnt,
				       sizeof(key), cmp_ptr);
	return m ? *m : NULL;
}

/* ---- Checked-mode memory: the region check and the dynamic table ----------------- */

void vm_run_init(struct vm_run *run, const struct bpfvm_prog *prog, uint8_t *stack,
		 const struct bpfvm_region *regions, size_t region_cnt, uint64_t budget)
{
	run->prog = prog;
	run->stack = stack;
	run->regions = regions;
	run->region_cnt = region_cnt;
	run->budget = budget;
	run->insn_executed = 0;
	memset(&run->fault, 0, sizeof(run->fault));
	run->stop = false;
	run->stop_retval = 0;
	run->dyn_cnt = 0;
	run->dyn_next = 0;
}

void vm_run_dyn_release(struct vm_run *run)
{
	for (uint32_t i = 0; i < run->dyn_cnt && i < VM_DYN_REGIONS; i++)
		if (run->dyn[i].record)
			vm_ringbuf_discard((void *)(uintptr_t)run->dyn[i].addr, 0);
	run->dyn_cnt = 0;
	run->dyn_next = 0;
}

bool vm_region_ok(const struct vm_run *run, const struct bpfvm_region *r, size_t n,
		  uint64_t addr, uint64_t size, bool write)
{
	for (size_t i = 0; i < n; i++, r++)
		if (r->len >= size && addr - (uint64_t)(uintptr_t)r->addr <= r->len - size &&
		    (!write || r->writable))
			return true;
	const struct vm_dyn_region *d = run->dyn;
	for (uint32_t i = 0; i < run->dyn_cnt; i++, d++)
		if (d->len >= size && addr - d->addr <= d->len - size && (!write || d->writable))
			return true;
	return false;
}

/* Puts e in the table: appended while there is room, else over the oldest entry
 * that is not a record (false if all are records). */
static bool dyn_add(struct vm_run *run, struct vm_dyn_region e)
{
	if (run->dyn_cnt < VM_DYN_REGIONS) {
		run->dyn[run->dyn_cnt++] = e;
		return true;
	}
	for (uint32_t k = 0; k < VM_DYN_REGIONS; k++) {
		uint32_t i = (run->dyn_next + k) % VM_DYN_REGIONS;
		if (!run->dyn[i].record) {
			run->dyn[i] = e;
			run->dyn_next = (i + 1) % VM_DYN_REGIONS;
			return true;
		}
	}
	return false;
}

void vm_run_add_region(void *p, size_t len, bool writable)
{
	struct vm_run *run = vm_current_run;
	if (!run || !p || !len)
		return;
	uint64_t a = (uint64_t)(uintptr_t)p;
	/* A value looked up again (a loop over the same key) is already there. */
	for (uint32_t i = 0; i < run->dyn_cnt; i++) {
		const struct vm_dyn_region *d = &run->dyn[i];
		if (d->addr == a && d->len == len && d->writable == writable && !d->record)
			return;
	}
	dyn_add(run, (struct vm_dyn_region){ a, len, writable, false });
}

bool vm_run_add_record(void *p, size_t len)
{
	struct vm_run *run = vm_current_run;
	if (!run || !p)
		return false;
	return dyn_add(run, (struct vm_dyn_region){ (uint64_t)(uintptr_t)p, len, true, true });
}

bool vm_run_take_record(const void *p)
{
	struct vm_run *run = vm_current_run;
	if (!run || !p)
		return false;
	for (uint32_t i = 0; i < run->dyn_cnt; i++) {
		struct vm_dyn_region *d = &run->dyn[i];
		if (d->record && d->addr == (uint64_t)(uintptr_t)p) {
			*d = (struct vm_dyn_region){ 0 };	/* a free slot */
			return true;
		}
	}
	return false;
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
		vm_run_init(&run, prog, stack, regions, nreg, opts->budget);
		err = jit_run_repeat(prog->jit, &run, (uint64_t)(uintptr_t)opts->mem,
				     opts->mem_len, &r0, repeat);
	}
	for (uint32_t k = 0; engine != run_jit && k < repeat && !err; k++) {
		vm_run_init(&run, prog, stack, regions, nreg, opts->budget);
		err = engine(&run, (uint64_t)(uintptr_t)opts->mem, opts->mem_len, &r0);
		vm_run_dyn_clear(&run);
	}
	if (engine == run_jit)
		vm_run_dyn_clear(&run);
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
