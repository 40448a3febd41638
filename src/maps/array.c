/*
 * maps/array.c — the array family: ARRAY, PERCPU_ARRAY, and the two arrays whose
 * slots hold pointers, PROG_ARRAY (programs, for tail calls) and ARRAY_OF_MAPS.
 *
 * Keys are u32 indexes. Storage is one anonymous mapping, zeroed at creation (pages
 * are committed when first written, so value_size up to INT_MAX is accepted, as the
 * kernel does) and never moves, so lookups are lock-free pointer arithmetic:
 *   ARRAY / PROG_ARRAY / ARRAY_OF_MAPS: values + idx * stride (stride = the value
 *     size rounded up to 8; this layout is the stable contract vm_map_array_layout
 *     hands to the JIT);
 *   PERCPU_ARRAY: values + cpu * cpu_stride + idx * stride: each CPU slot's values
 *     are one block of their own (cache-line aligned), so threads on different slots
 *     never share a line.
 * Pointer slots are read and exchanged atomically; replacing or deleting a map-in-map
 * slot drops the reference it held.
 *
 * Errors as the kernel (kernel/bpf/arraymap.c): update of idx >= max_entries is
 * E2BIG, lookup ENOENT, NOEXIST EEXIST, delete EINVAL; pointer arrays take only
 * BPF_ANY, delete empties a slot (ENOENT if empty, E2BIG out of range).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "maps/map.h"

#define PCPU_MIN_UNIT_SIZE (32u << 10)	/* the kernel's bound on per-CPU value sizes */

struct array {
	uint8_t *values;		/* page-aligned (mmap) */
	size_t size;
	size_t cpu_stride;	/* PERCPU_ARRAY: bytes between CPU slots' blocks */
};

static struct array *arr(const struct bpfvm_map *m)
{
	return m->priv;
}

static uint8_t *slot_of(const struct bpfvm_map *m, uint32_t idx, int cpu)
{
	struct array *a = arr(m);
	return a->values + (m->percpu ? (size_t)cpu * a->cpu_stride : 0) +
	       (size_t)idx * m->elem_stride;
}

static int array_alloc(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts)
{
	uint32_t allowed = VM_F_ACCESS_MASK | VM_F_NUMA_NODE;
	int err;

	if (m->type == BPFVM_MAP_TYPE_ARRAY)
		allowed |= BPFVM_F_MMAPABLE | VM_F_INNER_MAP;
	if (m->type == BPFVM_MAP_TYPE_PERCPU_ARRAY)
		allowed &= ~VM_F_NUMA_NODE;
	if (m->fd_kind != VM_FD_NONE)
		allowed &= ~(BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG);
	if ((err = vm_check_map_flags(m, allowed)))
		return err;
	if (m->max_entries == 0 || m->key_size != 4 || m->value_size == 0)
		return vm_err(-EINVAL, "map '%s': arrays need key_size 4, value_size > 0 and "
			      "max_entries > 0 (got %u, %u, %u)", m->name, m->key_size,
			      m->value_size, m->max_entries);
	if (m->value_size > INT32_MAX ||
	    (m->percpu && m->elem_stride > PCPU_MIN_UNIT_SIZE))
		return vm_err(-E2BIG, "map '%s': value_size %u too large", m->name,
			      m->value_size);

	size_t block = (size_t)m->max_entries * m->elem_stride, total = block, cpu_stride = 0;
	if (m->percpu) {
		cpu_stride = vm_round_up(block, 64);
		total = cpu_stride * (size_t)bpfvm_num_cpu_slots();
	}
	/* Zero pages on demand, as the kernel's vmalloc'ed arrays: a large array
	 * costs memory only where it is written. */
	struct array *a = calloc(1, sizeof(*a));
	void *v = a ? mmap(NULL, total, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) : MAP_FAILED;
	if (v == MAP_FAILED) {
		free(a);
		return vm_err(-ENOMEM, "map '%s': cannot allocate %zu bytes of values", m->name,
			      total);
	}
	a->size = total;
	a->values = v;
	a->cpu_stride = cpu_stride;
	m->priv = a;
	return 0;
}

static void array_free(struct bpfvm_map *m)
{
	struct array *a = arr(m);
	if (m->fd_kind != VM_FD_NONE) {
		for (uint32_t i = 0; i < m->max_entries; i++)
			vm_map_fd_put(m, *(void **)slot_of(m, i, 0));
	}
	munmap(a->values, a->size);
	free(a);
}

static uint32_t index_of(const void *key)
{
	uint32_t idx;
	memcpy(&idx, key, 4);
	return idx;
}

static void *array_lookup(struct bpfvm_map *m, const void *key, int cpu)
{
	uint32_t idx = index_of(key);
	return idx < m->max_entries ? slot_of(m, idx, cpu) : NULL;
}

static int array_lookup_user(struct bpfvm_map *m, const void *key, void *value, uint64_t flags,
			     bool del)
{
	uint32_t idx = index_of(key);
	if (idx >= m->max_entries)
		return -ENOENT;
	if (m->percpu)
		vm_pcpu_load(m, value, slot_of(m, idx, 0), arr(m)->cpu_stride);
	else
		vm_value_load(m, value, slot_of(m, idx, 0), flags & BPFVM_F_LOCK);
	return 0;
}

/* PROG_ARRAY / ARRAY_OF_MAPS: value points to the pointer to store. */
static int fd_array_update(struct bpfvm_map *m, uint32_t idx, const void *value, uint64_t flags)
{
	void *p;
	if (flags != BPFVM_ANY)
		return -EINVAL;
	if (idx >= m->max_entries)
		return -E2BIG;
	memcpy(&p, value, sizeof(p));
	void *old = __atomic_exchange_n((void **)slot_of(m, idx, 0), p, __ATOMIC_ACQ_REL);
	vm_map_fd_put(m, old);
	return 0;
}

static int array_update(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags,
			int cpu)
{
	uint32_t idx = index_of(key);
	int err;
	if (m->fd_kind != VM_FD_NONE)
		return fd_array_update(m, idx, value, flags);
	if ((err = vm_check_update_flags(m, flags, !m->percpu)))
		return err;
	if (idx >= m->max_entries)
		return -E2BIG;
	if (flags & BPFVM_NOEXIST)
		return -EEXIST;
	if (m->percpu)
		vm_pcpu_store(m, slot_of(m, idx, 0), arr(m)->cpu_stride, value, cpu, false);
	else
		vm_value_store(m, slot_of(m, idx, 0), value, flags & BPFVM_F_LOCK);
	return 0;
}

static int array_delete(struct bpfvm_map *m, const void *key)
{
	uint32_t idx = index_of(key);
	if (m->fd_kind == VM_FD_NONE)
		return -EINVAL;
	if (idx >= m->max_entries)
		return -E2BIG;
	void *old = __atomic_exchange_n((void **)slot_of(m, idx, 0), NULL, __ATOMIC_ACQ_REL);
	if (!old)
		return -ENOENT;
	vm_map_fd_put(m, old);
	return 0;
}

static int array_get_next_key(struct bpfvm_map *m, const void *key, void *next)
{
	uint32_t idx = key ? index_of(key) : UINT32_MAX, n;
	if (idx >= m->max_entries)
		n = 0;
	else if (idx == m->max_entries - 1)
		return -ENOENT;
	else
		n = idx + 1;
	memcpy(next, &n, 4);
	return 0;
}

static long array_for_each(struct bpfvm_map *m, vm_map_each_fn fn, void *ctx)
{
	int cpu = m->percpu ? vm_cpu_slot() : 0;
	long n = 0;
	if (m->fd_kind != VM_FD_NONE)
		return -EINVAL;
	for (uint32_t i = 0; i < m->max_entries; i++) {
		n++;
		if (fn(m, &i, slot_of(m, i, cpu), ctx))
			break;
	}
	return n;
}

bool vm_map_array_layout(const struct bpfvm_map *m, struct vm_array_layout *out)
{
	if (m->type != BPFVM_MAP_TYPE_ARRAY && m->type != BPFVM_MAP_TYPE_PERCPU_ARRAY)
		return false;
	out->values = arr(m)->values;
	out->stride = m->elem_stride;
	out->max_entries = m->max_entries;
	out->cpu_stride = arr(m)->cpu_stride;
	out->slots = m->percpu ? (uint32_t)bpfvm_num_cpu_slots() : 1;
	return true;
}

const struct vm_map_ops vm_array_ops = {
	.alloc = array_alloc,
	.free = array_free,
	.lookup = array_lookup,
	.lookup_user = array_lookup_user,
	.update = array_update,
	.delete = array_delete,
	.get_next_key = array_get_next_key,
	.for_each = array_for_each,
};
