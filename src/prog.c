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
#include "progtypes/progtype.h"



struct bpfvm_prog *vm_prog_alloc(const struct bpf_insn *insns, size_t cnt, const char *name)
{
	struct bpfvm_prog *prog = calloc(1, sizeof(*prog));
	if (!prog)
		return NULL;
	prog->name = strdup(name ? name : "prog");
	prog->sec_name = strdup("");
	prog->cnt = cnt;
	prog->insns = malloc((cnt ? cnt : 1) * sizeof(*insns));
	prog->type = vm_prog_type(BPFVM_PROG_TYPE_RAW);
	if (!prog->name || !prog->sec_name || !prog->insns) {
		vm_prog_destroy(prog);
		return NULL;
	}
	if (cnt)
		memcpy(prog->insns, insns, cnt * sizeof(*insns));
	return prog;
}

int vm_prog_prepare(struct bpfvm_prog *prog, const struct vm_prepare *a)
{
	int err;
	if (prog->loaded)
		return vm_err(-EBUSY, "%s: already loaded", prog->name);
	/* Helpers: the caller's, then the type's, then the process-wide ones. */
	const struct vm_prog_type *t = prog->type;
	size_t n = a->helper_cnt + t->helper_cnt;
	struct bpfvm_helper *local = calloc(n ? n : 1, sizeof(*local));
	if (!local)
		return vm_err(-ENOMEM, "out of memory creating program");
	if (a->helper_cnt)
		memcpy(local, a->helpers, a->helper_cnt * sizeof(*local));
	if (t->helper_cnt)
		memcpy(local + a->helper_cnt, t->helpers, t->helper_cnt * sizeof(*local));
	err = vm_bind_helpers(prog, local, n);
	free(local);
	if (!err && a->map_cnt) {
		prog->map_table = calloc(a->map_cnt, sizeof(*prog->map_table));
		if (!prog->map_table)
			return vm_err(-ENOMEM, "out of memory creating program");
		for (size_t i = 0; i < a->map_cnt; i++)
			prog->map_table[prog->map_table_cnt++] = vm_map_get(a->maps[i]);
		err = vm_prog_bind_maps(prog, a->maps, a->map_cnt);
	}
	if (!err)
		err = vm_validate(prog);
	if (!err && !a->no_jit && jit_supported())
		err = jit_compile(prog, &prog->jit);	/* logs why it failed */
	if (!err)
		prog->loaded = true;
	return err;
}

/* Undoes vm_prog_prepare (a failed load). */
void vm_prog_unprepare(struct bpfvm_prog *prog)
{
	jit_free(prog->jit);
	prog->jit = NULL;
	free(prog->decoded);
	free(prog->helpers);
	free(prog->helper_fns);
	for (size_t i = 0; i < prog->map_cnt; i++)
		vm_map_put(prog->maps[i]);
	free(prog->maps);
	for (size_t i = 0; i < prog->map_table_cnt; i++)
		vm_map_put(prog->map_table[i]);
	free(prog->map_table);
	free(prog->static_regions);
	free(prog->func_starts);
	prog->func_starts = NULL;
	prog->func_start_cnt = 0;
	prog->decoded = NULL;
	prog->helpers = NULL;
	prog->helper_fns = NULL;
	prog->maps = prog->map_table = NULL;
	prog->static_regions = NULL;
	prog->helper_cnt = prog->helper_fn_cnt = prog->map_cnt = prog->map_table_cnt = 0;
	prog->static_region_cnt = 0;
	prog->loaded = false;
}

void vm_prog_destroy(struct bpfvm_prog *prog)
{
	if (!prog)
		return;
	vm_prog_unprepare(prog);
	free(prog->name);
	free(prog->sec_name);
	free(prog->insns);
	free(prog);
}

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
	struct vm_prepare a = { 0 };
	if (opts) {
		a.helpers = opts->helpers;
		a.helper_cnt = opts->helper_cnt;
		a.no_jit = OPTS_HAS(opts, no_jit) && opts->no_jit;
	}
	if (OPTS_HAS(opts, map_cnt) && opts->map_cnt) {
		if (!opts->maps) {
			errno = -vm_err(-EINVAL, "bpfvm_prog__new: map_cnt without maps");
			return NULL;
		}
		for (size_t i = 0; i < opts->map_cnt; i++)
			if (!opts->maps[i]) {
				errno = -vm_err(-EINVAL, "bpfvm_prog__new: map %zu is NULL", i);
				return NULL;
			}
		a.maps = opts->maps;
		a.map_cnt = opts->map_cnt;
	}
	uint32_t type = OPTS_HAS(opts, prog_type) ? opts->prog_type : BPFVM_PROG_TYPE_RAW;
	const struct vm_prog_type *t = vm_prog_type(type);
	if (!t) {
		errno = -vm_err(-EINVAL, "bpfvm_prog__new: unknown program type %u", type);
		return NULL;
	}
	struct bpfvm_prog *prog = vm_prog_alloc(insns, cnt, opts ? opts->name : NULL);
	if (!prog) {
		errno = -vm_err(-ENOMEM, "out of memory creating program");
		return NULL;
	}
	prog->type = t;
	err = vm_prog_prepare(prog, &a);
	if (!err)
		return prog;
	vm_prog_destroy(prog);
	errno = -err;
	return NULL;
}

void bpfvm_prog__free(struct bpfvm_prog *prog)
{
	if (prog && !prog->obj)
		vm_prog_destroy(prog);
}

/* Makes [r.addr, r.addr + r.len) a static region of prog: one region per start
 * address, the longest asked for. */
static int add_static_region(struct bpfvm_prog *prog, struct bpfvm_region r)
{
	for (size_t k = 0; k < prog->static_region_cnt; k++)
		if (prog->static_regions[k].addr == r.addr) {
			if (r.len > prog->static_regions[k].len)
				prog->static_regions[k].len = r.len;
			return 0;
		}
	struct bpfvm_region *v = realloc(prog->static_regions,
					 (prog->static_region_cnt + 1) * sizeof(*v));
	if (!v)
		return vm_err(-ENOMEM, "out of memory");
	prog->static_regions = v;
	v[prog->static_region_cnt++] = r;
	return 0;
}

int vm_prog_map_ref(struct bpfvm_prog *prog, size_t i, bool value, uint64_t *out)
{
	const struct bpf_insn *in = &prog->insns[i];
	uint32_t idx = (uint32_t)in->imm;
	if (idx >= prog->map_table_cnt)
		return vm_err(-EINVAL, "insn %zu: lddw refers to map %u, but the program has %zu "
			      "map%s", i, idx, prog->map_table_cnt,
			      prog->map_table_cnt == 1 ? "" : "s");
	struct bpfvm_map *m = prog->map_table[idx];
	if (!value) {
		if (in[1].imm)
			return vm_err(-EINVAL, "insn %zu: lddw of map %u has a non-zero second "
				      "slot", i, idx);
		*out = (uint64_t)(uintptr_t)m;
		return 0;
	}
	uint32_t off = (uint32_t)in[1].imm;
	struct vm_array_layout l;
	if (m->type != BPFVM_MAP_TYPE_ARRAY || !vm_map_array_layout(m, &l))
		return vm_err(-EINVAL, "insn %zu: lddw of a value of map '%s', which is not an "
			      "array (direct value access needs BPF_MAP_TYPE_ARRAY)", i, m->name);
	if (off >= m->value_size)
		return vm_err(-EINVAL, "insn %zu: offset %u is past the %u-byte value of map '%s'",
			      i, off, m->value_size, m->name);
	*out = (uint64_t)(uintptr_t)l.values + off;
	/* The value at index 0 becomes memory the program may use. */
	return add_static_region(prog, (struct bpfvm_region){
		l.values, m->value_size, !(m->map_flags & BPFVM_F_RDONLY_PROG) });
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
		/* An array's values never move: all of them, from the first byte of
		 * element 0 to the last of the last element's value (of the last CPU
		 * slot's: PERCPU_ARRAY), are a static region (lookups then add no
		 * dynamic one, and the JIT can inline them). */
		struct vm_array_layout l;
		int err = vm_map_array_layout(maps[i], &l) ? add_static_region(prog,
			(struct bpfvm_region){ l.values,
					       (size_t)(l.slots - 1) * l.cpu_stride +
					       (size_t)(l.max_entries - 1) * l.stride +
					       maps[i]->value_size,
					       !(maps[i]->map_flags & BPFVM_F_RDONLY_PROG) }) : 0;
		if (err)
			return err;
	}
	return 0;
}

bool vm_prog_has_map(const struct bpfvm_prog *prog, const struct bpfvm_map *m)
{
	return prog->map_cnt && bsearch(&m, prog->maps, prog->map_cnt, sizeof(m), cmp_ptr);
}

bool vm_run_static(const struct vm_run *run, const void *addr, size_t len, bool write)
{
	const struct bpfvm_prog *p = run->prog;
	return vm_region_find(p->static_regions, p->static_region_cnt,
			      (uint64_t)(uintptr_t)addr, len, write) != NULL;
}

struct bpfvm_map *vm_run_map(uint64_t r)
{
	const struct vm_run *run = vm_current_run;
	if (!run)
		return NULL;
	struct bpfvm_map *key = (struct bpfvm_map *)(uintptr_t)r;
	struct bpfvm_map **m = run->prog->map_cnt ? bsearch(&key, run->prog->maps,
							   run->prog->map_cnt, sizeof(key),
							   cmp_ptr) : NULL;
	if (m)
		return *m;
	for (uint32_t i = 0; i < run->held_cnt; i++)
		if (run->held[i] == key)
			return key;
	return NULL;
}

/* ---- Checked-mode memory: the region check and the dynamic table ----------------- */

void vm_run_init(struct vm_run *run, const struct bpfvm_prog *prog, uint8_t *stack,
		 const struct bpfvm_region *regions, size_t region_cnt, uint64_t budget)
{
	run->prog = prog;
	run->stack = stack;
	run->regions = regions;
	run->region_cnt = region_cnt;
	run->hot = 0;
	run->budget = budget;
	run->insn_executed = 0;
	memset(&run->fault, 0, sizeof(run->fault));
	run->stop = false;
	run->stop_retval = 0;
	run->ctx = NULL;
	run->pkt = NULL;
	run->pkt_len = 0;
	run->dyn_cnt = 0;
	run->dyn_next = 0;
	run->held_cnt = 0;
}

void vm_run_dyn_release(struct vm_run *run)
{
	for (uint32_t i = 0; i < run->dyn_cnt && i < VM_DYN_REGIONS; i++)
		if (run->dyn[i].record)
			vm_ringbuf_discard((void *)(uintptr_t)run->dyn[i].addr, 0);
	run->dyn_cnt = 0;
	run->dyn_next = 0;
	for (uint32_t i = 0; i < run->held_cnt; i++)
		vm_map_put(run->held[i]);
	run->held_cnt = 0;
}

bool vm_run_hold_map(struct bpfvm_map *inner)
{
	struct vm_run *run = vm_current_run;
	if (!run || !inner)
		return false;
	for (uint32_t i = 0; i < run->held_cnt; i++)
		if (run->held[i] == inner)
			return true;
	if (run->held_cnt == VM_HELD_MAPS)
		return false;
	run->held[run->held_cnt++] = vm_map_get(inner);
	return true;
}

const struct bpfvm_region *vm_region_find(const struct bpfvm_region *r, size_t n, uint64_t addr,
					  uint64_t size, bool write)
{
	for (size_t i = 0; i < n; i++, r++)
		if (r->len >= size && addr - (uint64_t)(uintptr_t)r->addr <= r->len - size &&
		    (!write || r->writable))
			return r;
	return NULL;
}

bool vm_region_ok(const struct vm_run *run, const struct bpfvm_region *r, size_t n,
		  uint64_t addr, uint64_t size, bool write)
{
	if (vm_region_find(r, n, addr, size, write))
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

void vm_run_drop_region(const void *p, size_t len, bool writable)
{
	struct vm_run *run = vm_current_run;
	if (!run)
		return;
	for (uint32_t i = run->dyn_cnt; i-- > 0;) {
		struct vm_dyn_region *d = &run->dyn[i];
		if (!d->record && d->addr == (uint64_t)(uintptr_t)p && d->len == len &&
		    d->writable == writable) {
			memmove(d, d + 1, (run->dyn_cnt - i - 1) * sizeof(*d));
			run->dyn_cnt--;
			if (run->dyn_next > i)
				run->dyn_next--;
			return;
		}
	}
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

int bpfvm_prog__jited_loops(const struct bpfvm_prog *prog, const uint32_t **copy_offsets)
{
	if (!prog || !prog->jit)
		return -ENOENT;
	if (copy_offsets)
		*copy_offsets = jit_copy_offsets(prog->jit);
	return (int)jit_versioned_loops(prog->jit);
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

/* The engine function for an engine choice; NULL + error logged. */
static int pick_engine(const struct bpfvm_prog *prog, enum bpfvm_engine want,
		       int (**engine)(struct vm_run *, uint64_t, uint64_t, uint64_t *),
		       enum bpfvm_engine *used)
{
	switch (want) {
	case BPFVM_ENGINE_DEFAULT:
		if (prog->jit) {
			*engine = run_jit;
			*used = BPFVM_ENGINE_JIT;
			return 0;
		}
		/* fall through */
	case BPFVM_ENGINE_INTERP:
		*engine = interp_run;
		*used = BPFVM_ENGINE_INTERP;
		return 0;
	case BPFVM_ENGINE_INTERP_SWITCH:
		*engine = interp_run_switch;
		*used = BPFVM_ENGINE_INTERP_SWITCH;
		return 0;
	case BPFVM_ENGINE_JIT:
		if (!prog->jit)
			return vm_err(-EOPNOTSUPP, "%s: not JIT-compiled (%s)", prog->name,
				      jit_supported() ? "created with no_jit" :
				      "the JIT needs an x86-64 machine");
		*engine = run_jit;
		*used = BPFVM_ENGINE_JIT;
		return 0;
	}
	return vm_err(-EINVAL, "unknown engine %d", (int)want);
}

/* Starts a run: the table of regions and the context's packet. */
static void start_run(struct vm_run *run, const struct bpfvm_prog *prog, uint8_t *stack,
		      const struct bpfvm_region *regions, size_t nreg, uint64_t budget, void *ctx)
{
	vm_run_init(run, prog, stack, regions, nreg, budget);
	run->ctx = ctx;
	if (prog->type->ctx_packet && ctx)
		prog->type->ctx_packet(ctx, &run->pkt, &run->pkt_len);
}

int bpfvm_prog__run_opts(struct bpfvm_prog *prog, struct bpfvm_run_opts *opts)
{
	int (*engine)(struct vm_run *, uint64_t, uint64_t, uint64_t *) = NULL;
	enum bpfvm_engine used = BPFVM_ENGINE_DEFAULT;

	if (!prog || !opts || opts->sz < offsetof(struct bpfvm_run_opts, fault) +
				sizeof(opts->fault))
		return vm_err(-EINVAL, "bpfvm_prog__run_opts: needs a program and opts with sz set");
	if (!prog->loaded)
		return vm_err(-ENOENT, "%s: not loaded (load its object first)", prog->name);
	if (opts->mem_len && !opts->mem)
		return vm_err(-EINVAL, "bpfvm_prog__run_opts: mem_len %zu without mem", opts->mem_len);
	if (opts->region_cnt && !opts->regions)
		return vm_err(-EINVAL, "bpfvm_prog__run_opts: region_cnt without regions");
	const struct vm_prog_type *t = prog->type;
	size_t ctx_len = opts->mem_len;
	if (!t->raw) {
		if (!opts->mem)
			return vm_err(-EINVAL, "%s: a %s program needs its context (mem)",
				      prog->name, t->name);
		if (t->ctx_size) {
			if (opts->mem_len && opts->mem_len != t->ctx_size)
				return vm_err(-EINVAL, "%s: context of %zu bytes, a %s context is "
					      "%u", prog->name, opts->mem_len, t->name, t->ctx_size);
			ctx_len = t->ctx_size;
		} else if (!opts->mem_len) {
			return vm_err(-EINVAL, "%s: a %s context varies in size: give its length "
				      "(mem_len)", prog->name, t->name);
		}
	}
	int err = pick_engine(prog, opts->engine, &engine, &used);
	if (err)
		return err;

	/* Regions: the context memory first, then the embedder's, the program's
	 * global data, and what the context points to. */
	struct bpfvm_region ctx_reg[VM_CTX_REGIONS];
	size_t nctx = t->ctx_regions && opts->mem ?
		      t->ctx_regions(opts->mem, ctx_reg, VM_CTX_REGIONS) : 0;
	size_t nreg = 1 + opts->region_cnt + prog->static_region_cnt + nctx;
	struct bpfvm_region small[8], *regions = small;
	if (nreg > 8 && !(regions = malloc(nreg * sizeof(*regions))))
		return vm_err(-ENOMEM, "out of memory");
	regions[0] = (struct bpfvm_region){ opts->mem, ctx_len, t->raw || t->ctx_writable };
	size_t k = 1;
	if (opts->region_cnt)
		memcpy(regions + k, opts->regions, opts->region_cnt * sizeof(*regions));
	k += opts->region_cnt;
	if (prog->static_region_cnt)
		memcpy(regions + k, prog->static_regions,
		       prog->static_region_cnt * sizeof(*regions));
	k += prog->static_region_cnt;
	if (nctx)
		memcpy(regions + k, ctx_reg, nctx * sizeof(*regions));

	uint32_t repeat = opts->repeat ? opts->repeat : 1;
	uint64_t r0 = 0, t0 = now_ns();
	uint64_t r1 = (uint64_t)(uintptr_t)opts->mem, r2 = t->raw ? opts->mem_len : 0;
	struct vm_run run;
	_Alignas(16) uint8_t stack[VM_STACK_TOTAL];
	if (engine == run_jit) {
		/* One set-up for all the runs: the lean path timing loops want. */
		start_run(&run, prog, stack, regions, nreg, opts->budget, opts->mem);
		if (nctx)
			run.hot = (uint32_t)(nreg - nctx);	/* the packet */
		err = jit_run_repeat(prog->jit, &run, r1, r2, &r0, repeat);
	}
	for (uint32_t i = 0; engine != run_jit && i < repeat && !err; i++) {
		start_run(&run, prog, stack, regions, nreg, opts->budget, opts->mem);
		err = engine(&run, r1, r2, &r0);
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
	if (OPTS_HAS(opts, engine_used))
		opts->engine_used = used;
	if (err) {
		char msg[256];
		bpfvm_fault__str(&run.fault, msg, sizeof(msg));
		const struct bpf_insn *at = run.fault.insn < prog->cnt &&
			run.fault.kind == BPFVM_FAULT_UNSUPPORTED ? &prog->insns[run.fault.insn] : NULL;
		if (at && at->code == (BPF_JMP | BPF_CALL) && (uint32_t)at->imm == VM_CORE_POISON)
			snprintf(msg, sizeof(msg), "insn %u: reached an instruction whose CO-RE "
				 "relocation failed (call 0x%x)", run.fault.insn, VM_CORE_POISON);
		vm_err(err, "%s: %s", prog->name, msg);
	}
	return err;
}

int bpfvm_prog__run(struct bpfvm_prog *prog, void *ctx, uint64_t *retval)
{
	if (!prog)
		return vm_err(-EINVAL, "bpfvm_prog__run: no program");
	if (!prog->loaded)
		return vm_err(-ENOENT, "%s: not loaded (load its object first)", prog->name);
	if (prog->type->raw || !prog->type->ctx_size)
		return vm_err(-EINVAL, "%s: %s programs need the context's length: use "
			      "bpfvm_prog__run_opts", prog->name, prog->type->name);
	struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = ctx };
	int err = bpfvm_prog__run_opts(prog, &o);
	if (!err && retval)
		*retval = o.retval;
	return err;
}

uint32_t bpfvm_prog__type(const struct bpfvm_prog *prog)
{
	return prog->type ? prog->type->type : BPFVM_PROG_TYPE_NONE;
}
const char *bpfvm_prog__section_name(const struct bpfvm_prog *prog) { return prog->sec_name; }
bool bpfvm_prog__loaded(const struct bpfvm_prog *prog) { return prog && prog->loaded; }
/* The map table: the program's own once loaded; before, its object's maps. */
static struct bpfvm_map *const *map_table(const struct bpfvm_prog *prog, size_t *cnt)
{
	if (prog->loaded || !prog->obj) {
		*cnt = prog->map_table_cnt;
		return prog->map_table;
	}
	return vm_object_maps(prog->obj, cnt);
}

size_t bpfvm_prog__map_cnt(const struct bpfvm_prog *prog)
{
	size_t n = 0;
	map_table(prog, &n);
	return n;
}

struct bpfvm_map *bpfvm_prog__map(const struct bpfvm_prog *prog, size_t idx)
{
	size_t n = 0;
	struct bpfvm_map *const *v = prog ? map_table(prog, &n) : NULL;
	return idx < n ? v[idx] : NULL;
}

int bpfvm_prog__set_type(struct bpfvm_prog *prog, uint32_t type)
{
	if (!prog)
		return vm_err(-EINVAL, "bpfvm_prog__set_type: no program");
	if (prog->loaded)
		return vm_err(-EBUSY, "%s: the type cannot change once loaded", prog->name);
	const struct vm_prog_type *t = vm_prog_type(type);
	if (!t)
		return vm_err(-EINVAL, "%s: unknown program type %u", prog->name, type);
	prog->type = t;
	return 0;
}
