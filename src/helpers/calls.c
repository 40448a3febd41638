/*
 * calls.c — the helpers that move control inside a run: bpf_loop and
 * bpf_for_each_map_elem (callbacks), bpf_tail_call, and the packet read behind
 * the legacy LD_ABS / LD_IND instructions (the kernel implements those as helper
 * calls too). The engines do the transfers themselves (prog.h, "Callbacks, tail
 * calls and packet loads"); what is here is the same on every engine: the
 * kernel's argument checks, limits and return values, the check that a callback
 * token names a callback of the running program, and the checked-mode memory a
 * callback is given.
 *
 * A callback's failure (a fault inside it, no frame left, bpfvm_run_stop) sets
 * run->stop; the helper then returns at once and the engine's stop path takes
 * over, so nothing here needs to know which engine runs.
 */
#include <errno.h>

#include "helpers.h"
#include "maps/map.h"
#include "prog.h"

#define PTR(x)	((void *)(uintptr_t)(x))
#define U64(p)	((uint64_t)(uintptr_t)(p))
#define RET(v)	((uint64_t)(int64_t)(v))

#define MAX_LOOPS		(1u << 23)	/* the kernel's BPF_MAX_LOOPS */
#define MAX_TAIL_CALLS		33		/* the kernel's MAX_TAIL_CALL_CNT */

/* ---- Callbacks -------------------------------------------------------------------- */

/* The callback index of token in the running program, or -1. */
static int func_of(const struct vm_run *run, uint64_t token)
{
	if (!run || !run->engine || (token & ~(uint64_t)UINT32_MAX) != VM_FUNC_TOKEN_TAG)
		return -1;
	const struct bpfvm_prog *prog = run->prog;
	uint32_t insn = (uint32_t)token;
	size_t lo = 0, hi = prog->func_start_cnt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (prog->func_starts[mid] == insn)
			return (int)mid;
		if (prog->func_starts[mid] < insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Runs callback k (func_of) of the running program: 0 and *r0, or the run has
 * stopped (run->stop: a fault, no frame left, bpfvm_run_stop) and the helper
 * must return. */
static int callback(struct vm_run *run, int k, const uint64_t args[5], uint64_t *r0)
{
	int rc = run->engine->callback(run, (uint32_t)k, args, r0);
	if (rc)
		run->stop = true;
	return rc || run->stop;
}

/* long bpf_loop(u32 nr_loops, callback_fn, void *callback_ctx, u64 flags):
 * callback(index, callback_ctx) for index 0.. until it returns non-zero; the
 * number of calls made. */
uint64_t h_loop(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r5;
	struct vm_run *run = vm_current_run;
	uint32_t nr = (uint32_t)r1;
	if (r4)
		return RET(-EINVAL);
	if (nr > MAX_LOOPS)
		return RET(-E2BIG);
	int k = func_of(run, r2);
	if (k < 0)
		return RET(-EINVAL);
	for (uint32_t i = 0; i < nr; i++) {
		const uint64_t args[5] = { i, r3 };
		uint64_t ret;
		if (callback(run, k, args, &ret) || ret)
			return i + 1;
	}
	return nr;
}

/* What bpf_for_each_map_elem's iteration carries to each element. */
struct each {
	struct vm_run *run;
	int k;
	uint64_t cb_ctx;
	uint32_t *key_copy;	/* where array keys are shown to the callback */
};

/* [p, p+len) accessible for a callback's duration: true if it had to be added
 * (then the caller drops it afterwards, so iterating a large map does not push
 * the program's own values out of the dynamic table). */
static bool lend(struct vm_run *run, const void *p, size_t len, bool writable)
{
	if (!p || !len || vm_region_ok(run, run->regions, run->region_cnt, U64(p), len, writable))
		return false;
	vm_run_add_region((void *)(uintptr_t)p, len, writable);
	return true;
}

static long each_elem(struct bpfvm_map *m, const void *key, void *value, void *arg)
{
	struct each *e = arg;
	struct vm_run *run = e->run;
	/* An array's iterator passes a key in its own C frame: show the callback a
	 * copy in the run, at the same address on every engine. */
	if (m->type == BPFVM_MAP_TYPE_ARRAY || m->type == BPFVM_MAP_TYPE_PERCPU_ARRAY) {
		*e->key_copy = *(const uint32_t *)key;
		key = e->key_copy;
	}
	struct bpfvm_region v = vm_map_value_region(m, value);
	bool lent_key = lend(run, key, m->key_size, false);
	bool lent_value = lend(run, v.addr, v.len, v.writable);
	const uint64_t args[5] = { U64(m), U64(key), U64(value), e->cb_ctx };
	uint64_t ret = 0;
	int stop = callback(run, e->k, args, &ret);
	if (lent_value)
		vm_run_drop_region(v.addr, v.len, v.writable);
	if (lent_key)
		vm_run_drop_region(key, m->key_size, false);
	return stop || ret;
}

/* long bpf_for_each_map_elem(map, callback_fn, void *callback_ctx, u64 flags):
 * callback(map, key, value, callback_ctx) per element until it returns non-zero;
 * the number of elements visited. ARRAY, PERCPU_ARRAY and the HASH family. */
uint64_t h_for_each_map_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r5;
	struct vm_run *run = vm_current_run;
	struct bpfvm_map *m = vm_run_map(r1);
	if (!m || r4)
		return RET(-EINVAL);
	struct each e = { run, func_of(run, r2), r3, NULL };
	if (e.k < 0)
		return RET(-EINVAL);
	e.key_copy = &run->cb_key[run->engine->depth(run) % BPFVM_MAX_CALL_DEPTH];
	return RET(vm_map_for_each(m, each_elem, &e, 0));
}

/* ---- Tail calls ------------------------------------------------------------------- */

/* long bpf_tail_call(ctx, prog_array, u32 index): on success the engine goes on
 * with the program at index (prog.h) and this returns 0; otherwise the program
 * goes on after the call with r0 = -EINVAL (not a PROG_ARRAY bound to the
 * program, or a target of another program type), -EOPNOTSUPP (called from a
 * subprogram or a callback), -ENOENT (index past the end, empty slot, target not
 * loaded), -E2BIG (33 tail calls made this run). As the kernel, a call that gets
 * past the index check counts toward the 33 even if the slot is empty. */
uint64_t h_tail_call(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r4, (void)r5;
	struct vm_run *run = vm_current_run;
	struct bpfvm_map *m = vm_run_map(r2);
	uint32_t index = (uint32_t)r3;
	if (!run || !run->engine || !m || m->type != BPFVM_MAP_TYPE_PROG_ARRAY)
		return RET(-EINVAL);
	if (run->engine->depth(run) != 0)
		return RET(-EOPNOTSUPP);
	if (index >= m->max_entries)
		return RET(-ENOENT);
	if (run->tail_cnt >= MAX_TAIL_CALLS)
		return RET(-E2BIG);
	run->tail_cnt++;
	const struct bpfvm_prog *t = vm_map_prog(m, index);
	if (!t || !t->loaded)
		return RET(-ENOENT);
	if (t->type != run->prog->type)
		return RET(-EINVAL);
	/* The target's global data, unless the run has it already. */
	for (size_t i = 0; i < t->static_region_cnt; i++) {
		const struct bpfvm_region *r = &t->static_regions[i];
		lend(run, r->addr, r->len, r->writable);
	}
	run->tail_prog = t;
	run->tail_r1 = r1;
	run->stop = true;
	return 0;
}

/* ---- LD_ABS / LD_IND -------------------------------------------------------------- */

uint64_t vm_ld_pkt(struct vm_run *run, int32_t off, uint32_t size)
{
	if (!run->pkt || off < 0 || (uint64_t)off + size > run->pkt_len) {
		run->stop = true;
		run->stop_retval = 0;
		return 0;
	}
	uint64_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v = v << 8 | run->pkt[(uint32_t)off + i];
	return v;
}
