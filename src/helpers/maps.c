/*
 * maps.c — the map and ring-buffer helpers: bpf_map_lookup_elem, _update_elem,
 * _delete_elem, _push_elem, _pop_elem, _peek_elem, _lookup_percpu_elem,
 * bpf_get_smp_processor_id and bpf_ringbuf_output, _reserve, _submit, _discard,
 * _query. They are thin: the semantics are the maps' program-side API
 * (maps/map.h); what they add is checked mode.
 *
 *  - The map argument must be a map bound to the running program, or an inner map
 *    a map-in-map lookup handed it this run (vm_run_map, vm_run_hold_map);
 *    anything else gives NULL (lookups, reserve), -EINVAL (the rest) or 0 (query),
 *    and is never dereferenced.
 *  - Maps created BPFVM_F_RDONLY_PROG (.rodata) refuse update, delete, push and
 *    pop with -EPERM (the kernel's verifier refuses such programs).
 *  - Key and value pointers must be key_size / value_size bytes the program may
 *    read (pop/peek: write) (vm_mem_ok); otherwise lookups return NULL and the
 *    others -EFAULT, touching nothing.
 *  - A lookup adds the value it returns to the run's dynamic regions ([value,
 *    value + value_size), writable unless BPFVM_F_RDONLY_PROG) unless a static
 *    region of the program holds it (an ARRAY or PERCPU_ARRAY map's values),
 *    reserve adds the record ([rec, rec + size)); submit and discard take the
 *    record back out, and accept only a record this run reserved and still holds
 *    (anything else is ignored, as the kernel's verifier would have refused it).
 *    The memory itself
 *    stays valid until the map is freed (maps/map.h's lifetime rule), so a pointer
 *    the table no longer lists only faults; it never reaches freed memory.
 */
#include <errno.h>

#include "helpers.h"
#include "maps/map.h"
#include "prog.h"

#define PTR(x)	((void *)(uintptr_t)(x))
#define RET(v)	((uint64_t)(int64_t)(v))

/* The lookups' common end: the value becomes accessible for the rest of the run. */
static uint64_t found(struct bpfvm_map *m, void *value)
{
	struct bpfvm_region r = vm_map_value_region(m, value);
	if (r.len && !vm_run_static(vm_current_run, r.addr, r.len, r.writable))
		vm_run_add_region(r.addr, r.len, r.writable);
	return (uint64_t)(uintptr_t)value;
}

uint64_t h_map_lookup_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	struct bpfvm_map *m = vm_run_map(r1);
	if (!m || !vm_mem_ok(r2, m->key_size, false))
		return 0;
	void *v = vm_map_lookup(m, PTR(r2));
	if (v && m->fd_kind == VM_FD_MAP)	/* an inner map: a map for the rest of the run */
		return vm_run_hold_map(v) ? (uint64_t)(uintptr_t)v : 0;
	return found(m, v);
}

uint64_t h_map_lookup_percpu_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				  uint64_t r5)
{
	(void)r4, (void)r5;
	struct bpfvm_map *m = vm_run_map(r1);
	if (!m || !vm_mem_ok(r2, m->key_size, false) || r3 > UINT32_MAX)
		return 0;
	return found(m, vm_map_lookup_percpu(m, PTR(r2), (uint32_t)r3));
}

/* The map r names if the program may change it: NULL and *err otherwise
 * (BPFVM_F_RDONLY_PROG: -EPERM, as the kernel's verifier forbids the write). */
static struct bpfvm_map *writable_map(uint64_t r, int *err)
{
	struct bpfvm_map *m = vm_run_map(r);
	*err = !m ? -EINVAL : (m->map_flags & BPFVM_F_RDONLY_PROG) ? -EPERM : 0;
	return *err ? NULL : m;
}

uint64_t h_map_update_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r5;
	int err;
	struct bpfvm_map *m = writable_map(r1, &err);
	if (!m)
		return RET(err);
	if (!vm_mem_ok(r2, m->key_size, false) || !vm_mem_ok(r3, m->value_size, false))
		return RET(-EFAULT);
	return RET(vm_map_update(m, PTR(r2), PTR(r3), r4));
}

uint64_t h_map_delete_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	int err;
	struct bpfvm_map *m = writable_map(r1, &err);
	if (!m)
		return RET(err);
	if (!vm_mem_ok(r2, m->key_size, false))
		return RET(-EFAULT);
	return RET(vm_map_delete(m, PTR(r2)));
}

uint64_t h_map_push_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r4, (void)r5;
	int err;
	struct bpfvm_map *m = writable_map(r1, &err);
	if (!m)
		return RET(err);
	if (!vm_mem_ok(r2, m->value_size, false))
		return RET(-EFAULT);
	return RET(vm_map_push(m, PTR(r2), r3));
}

/* pop and peek write value_size bytes at r2. */
static uint64_t pop_peek(uint64_t r1, uint64_t r2, bool peek)
{
	int err;
	struct bpfvm_map *m = peek ? vm_run_map(r1) : writable_map(r1, &err);
	if (!m)
		return RET(peek ? -EINVAL : err);
	if (!vm_mem_ok(r2, m->value_size, true))
		return RET(-EFAULT);
	return RET(peek ? vm_map_peek(m, PTR(r2)) : vm_map_pop(m, PTR(r2)));
}

uint64_t h_map_pop_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	return pop_peek(r1, r2, false);
}

uint64_t h_map_peek_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	return pop_peek(r1, r2, true);
}

/* The CPU slot, which is what per-CPU maps index by (maps/map.h). */
uint64_t h_get_smp_processor_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return (uint64_t)vm_cpu_slot();
}

/* ---- Ring buffer ---------------------------------------------------------------------- */

static struct bpfvm_map *ringbuf(uint64_t r)
{
	struct bpfvm_map *m = vm_run_map(r);
	return m && m->type == BPFVM_MAP_TYPE_RINGBUF ? m : NULL;
}

uint64_t h_ringbuf_output(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r5;
	struct bpfvm_map *m = ringbuf(r1);
	if (!m)
		return RET(-EINVAL);
	if (!vm_mem_ok(r2, r3, false))
		return RET(-EFAULT);
	return RET(vm_ringbuf_output(m, PTR(r2), r3, r4));
}

uint64_t h_ringbuf_reserve(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r4, (void)r5;
	struct bpfvm_map *m = ringbuf(r1);
	if (!m)
		return 0;
	void *rec = vm_ringbuf_reserve(m, r2, r3);
	if (!rec)
		return 0;
	struct bpfvm_region reg = vm_ringbuf_record_region(rec, r2);
	if (!vm_run_add_record(reg.addr, reg.len)) {
		/* No room to track it (VM_DYN_REGIONS records held): as if the ring
		 * were full. */
		vm_ringbuf_discard(rec, VM_RB_NO_WAKEUP);
		return 0;
	}
	return (uint64_t)(uintptr_t)rec;
}

uint64_t h_ringbuf_submit(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	if (vm_run_take_record(PTR(r1)))
		vm_ringbuf_submit(PTR(r1), r2);
	return 0;
}

uint64_t h_ringbuf_discard(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	if (vm_run_take_record(PTR(r1)))
		vm_ringbuf_discard(PTR(r1), r2);
	return 0;
}

uint64_t h_ringbuf_query(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	struct bpfvm_map *m = ringbuf(r1);
	return m ? vm_ringbuf_query(m, r2) : 0;
}
