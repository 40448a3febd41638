/*
 * maps/queue_stack.c — QUEUE (FIFO) and STACK (LIFO): bounded rings of values
 * without keys, as kernel/bpf/queue_stack_maps.c.
 *
 * The ring has max_entries + 1 slots (one stays empty to tell full from empty),
 * guarded by one spinlock: push copies in, pop/peek copy out, so no pointer into the
 * ring ever escapes. A push on a full map fails with E2BIG unless BPFVM_EXIST, which
 * overwrites the oldest value (for both types: the tail end). Pop/peek on an empty
 * map: ENOENT. Lookup, update-by-key, delete and get_next_key are EINVAL, as in the
 * kernel; user space pushes with update, peeks with lookup and pops with
 * lookup_and_delete (map.c routes those).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maps/map.h"

#define KMALLOC_MAX_SIZE (4u << 20)

struct qs {
	vm_lock_t lock;
	uint32_t head, tail, size;	/* head: next free slot; tail: oldest value */
	uint8_t *slots;
};

static int qs_alloc(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts)
{
	int err = vm_check_map_flags(m, VM_F_NUMA_NODE | VM_F_ACCESS_MASK);
	if (err)
		return err;
	if (m->max_entries == 0 || m->key_size != 0 || m->value_size == 0)
		return vm_err(-EINVAL, "map '%s': QUEUE/STACK need key_size 0, value_size > 0 "
			      "and max_entries > 0 (got %u, %u, %u)", m->name, m->key_size,
			      m->value_size, m->max_entries);
	if (m->value_size > KMALLOC_MAX_SIZE)
		return vm_err(-E2BIG, "map '%s': value_size %u too large", m->name,
			      m->value_size);
	struct qs *q = calloc(1, sizeof(*q));
	uint64_t bytes = ((uint64_t)m->max_entries + 1) * m->value_size;
	if (q && bytes < (1ull << 32))
		q->slots = calloc(1, (size_t)bytes);
	if (!q || !q->slots) {
		free(q);
		return vm_err(-ENOMEM, "map '%s': out of memory", m->name);
	}
	q->size = m->max_entries + 1;
	m->priv = q;
	return 0;
}

static void qs_free(struct bpfvm_map *m)
{
	struct qs *q = m->priv;
	free(q->slots);
	free(q);
}

static int qs_push(struct bpfvm_map *m, const void *value, uint64_t flags)
{
	struct qs *q = m->priv;
	if ((flags & BPFVM_NOEXIST) || flags > BPFVM_EXIST)
		return -EINVAL;
	vm_lock(&q->lock);
	if ((q->head + 1) % q->size == q->tail) {
		if (!(flags & BPFVM_EXIST)) {
			vm_unlock(&q->lock);
			return -E2BIG;
		}
		q->tail = (q->tail + 1) % q->size;	/* drop the oldest */
	}
	memcpy(q->slots + (size_t)q->head * m->value_size, value, m->value_size);
	q->head = (q->head + 1) % q->size;
	vm_unlock(&q->lock);
	return 0;
}

static int qs_pop(struct bpfvm_map *m, void *value, bool peek)
{
	struct qs *q = m->priv;
	vm_lock(&q->lock);
	if (q->head == q->tail) {
		vm_unlock(&q->lock);
		return -ENOENT;
	}
	uint32_t idx;
	if (m->type == BPFVM_MAP_TYPE_QUEUE) {
		idx = q->tail;
		if (!peek)
			q->tail = (q->tail + 1) % q->size;
	} else {
		idx = (q->head + q->size - 1) % q->size;
		if (!peek)
			q->head = idx;
	}
	memcpy(value, q->slots + (size_t)idx * m->value_size, m->value_size);
	vm_unlock(&q->lock);
	return 0;
}

static int qs_update(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags,
		     int cpu)
{
	return -EINVAL;
}

static int qs_delete(struct bpfvm_map *m, const void *key)
{
	return -EINVAL;
}

static int qs_get_next_key(struct bpfvm_map *m, const void *key, void *next)
{
	return -EINVAL;
}

const struct vm_map_ops vm_queue_stack_ops = {
	.alloc = qs_alloc,
	.free = qs_free,
	.update = qs_update,
	.delete = qs_delete,
	.get_next_key = qs_get_next_key,
	.push = qs_push,
	.pop = qs_pop,
};
