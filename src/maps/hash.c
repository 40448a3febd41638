/*
 * maps/hash.c — the hash family: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and
 * HASH_OF_MAPS.
 *
 * Layout: a power-of-two array of buckets (max_entries rounded up), each a chain of
 * elements under its own spinlock — there is no map-wide lock, so threads working
 * on different keys do not meet. An element is struct helem + key (rounded up to 8)
 * + value (rounded up to 8; per-CPU maps keep their values in the pool's per-CPU
 * blocks instead, HASH_OF_MAPS a map pointer). Elements come from a struct vm_pool:
 * preallocated unless BPF_F_NO_PREALLOC, recycled on delete, freed only with the
 * map — so a value pointer a program got from a lookup is always valid memory (it
 * may belong to a reused element after a delete, as with the kernel's preallocated
 * maps). An update of an existing key writes the value in place.
 *
 * LRU: elements sit on an LRU list as well as in a bucket. A lookup or update only
 * sets the element's "referenced" bit (no list lock on the fast path); when the pool
 * is empty, an insert evicts from the list's cold end, giving referenced elements a
 * second chance (moved to the hot end, bit cleared) — the kernel's approximation of
 * LRU. With a common LRU there is one list (lock taken only on insert/delete/evict);
 * with BPF_F_NO_COMMON_LRU each CPU slot has its own list and its own share of
 * max_entries (rounded up to a multiple of the slot count, as the kernel does), and
 * an insert evicts from the inserting thread's list. Lock order: LRU list, then a
 * bucket; nothing takes a list lock while holding a bucket lock.
 *
 * Errors as the kernel (kernel/bpf/hashtab.c): NOEXIST on an existing key EEXIST,
 * EXIST on a missing one ENOENT, a full map E2BIG (LRU evicts instead).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maps/map.h"

#define KMALLOC_MAX_SIZE (4u << 20)
#define PCPU_MIN_UNIT_SIZE (32u << 10)
#define FOR_EACH_BATCH 16

struct helem {
	struct vm_elem e;		/* e.next: the bucket chain while in use */
	struct helem *lru_prev, *lru_next;
	uint32_t hash;
	uint16_t lru_shard;
	bool in_bucket;			/* guarded by the bucket's lock */
	atomic_bool ref;		/* LRU: used since the last eviction scan */
};

struct bucket {
	vm_lock_t lock;
	struct helem *head;
};

struct lru_list {
	vm_lock_t lock;
	struct helem head;		/* sentinel: head.lru_next is the hottest */
	struct vm_pool pool;
} __attribute__((aligned(64)));

struct htab {
	struct bucket *buckets;
	uint32_t mask;
	uint32_t seed;
	size_t key_off, val_off;
	struct vm_pool pool;		/* non-LRU maps */
	struct lru_list *lru;		/* LRU maps: nlru lists */
	uint32_t nlru;
};

static struct htab *ht(const struct bpfvm_map *m)
{
	return m->priv;
}

static uint8_t *key_of(const struct htab *h, struct helem *e)
{
	return (uint8_t *)e + h->key_off;
}

/* Slot cpu's value (per-CPU maps), or the value. */
static uint8_t *val_of(const struct bpfvm_map *m, struct helem *e, int cpu)
{
	if (m->percpu)
		return e->e.pcpu + (size_t)cpu * e->e.pcpu_stride;
	return (uint8_t *)e + ht(m)->val_off;
}

static bool is_lru(const struct bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_LRU_HASH || m->type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
}

/* ---- LRU lists ----------------------------------------------------------------------- */

static void lru_unlink(struct helem *e)
{
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_hot(struct lru_list *l, struct helem *e)
{
	e->lru_next = l->head.lru_next;
	e->lru_prev = &l->head;
	l->head.lru_next->lru_prev = e;
	l->head.lru_next = e;
}

static struct helem *find(struct htab *h, struct bucket *b, const void *key, uint32_t hash,
			  uint32_t key_size, struct helem ***pprev)
{
	struct helem **pp = &b->head;
	for (struct helem *e = *pp; e; pp = (struct helem **)&e->e.next, e = *pp) {
		if (e->hash == hash && !memcmp(key_of(h, e), key, key_size)) {
			if (pprev)
				*pprev = pp;
			return e;
		}
	}
	return NULL;
}

/* Removes e from its bucket; the caller holds the bucket's lock. */
static void bucket_unlink(struct htab *h, struct bucket *b, struct helem *e)
{
	struct helem **pp = &b->head;
	while (*pp != e)
		pp = (struct helem **)&(*pp)->e.next;
	*pp = (struct helem *)e->e.next;
	e->in_bucket = false;
}

/* The list lock is held: takes the coldest element that is in a bucket out of it
 * (second chance for referenced ones). NULL if none can be evicted. */
static struct helem *lru_evict(struct htab *h, struct lru_list *l, uint32_t budget)
{
	struct helem *e = l->head.lru_prev;
	while (e != &l->head && budget--) {
		struct helem *prev = e->lru_prev;
		if (atomic_exchange_explicit(&e->ref, false, memory_order_relaxed)) {
			lru_unlink(e);
			lru_push_hot(l, e);
			e = prev;
			continue;
		}
		struct bucket *b = &h->buckets[e->hash & h->mask];
		vm_lock(&b->lock);
		bool take = e->in_bucket;
		if (take)
			bucket_unlink(h, b, e);
		vm_unlock(&b->lock);
		if (take) {
			lru_unlink(e);
			return e;
		}
		e = prev;	/* being inserted or deleted right now */
	}
	return NULL;
}

/* ---- Elements ---------------------------------------------------------------------- */

static struct helem *elem_alloc(struct bpfvm_map *m, uint32_t hash)
{
	struct htab *h = ht(m);
	if (!h->lru) {
		struct helem *e = (struct helem *)vm_pool_get(&h->pool);
		if (e) {
			e->hash = hash;
			e->in_bucket = false;
		}
		return e;
	}
	uint32_t shard = h->nlru == 1 ? 0 : (uint32_t)vm_cpu_slot() % h->nlru;
	struct lru_list *l = &h->lru[shard];
	vm_lock(&l->lock);
	struct helem *e = (struct helem *)vm_pool_get(&l->pool);
	if (!e)
		e = lru_evict(h, l, 2 * l->pool.cap + 2);
	if (e) {
		e->hash = hash;
		e->in_bucket = false;
		e->lru_shard = (uint16_t)shard;
		atomic_store_explicit(&e->ref, false, memory_order_relaxed);
		lru_push_hot(l, e);
	}
	vm_unlock(&l->lock);
	return e;
}

/* e is in no bucket any more. */
static void elem_free(struct bpfvm_map *m, struct helem *e)
{
	struct htab *h = ht(m);
	if (!h->lru) {
		vm_pool_put(&h->pool, &e->e);
		return;
	}
	struct lru_list *l = &h->lru[e->lru_shard];
	vm_lock(&l->lock);
	lru_unlink(e);
	vm_pool_put(&l->pool, &e->e);
	vm_unlock(&l->lock);
}

static void touch(const struct bpfvm_map *m, struct helem *e)
{
	if (ht(m)->lru && !atomic_load_explicit(&e->ref, memory_order_relaxed))
		atomic_store_explicit(&e->ref, true, memory_order_relaxed);
}

/* ---- Creation ------------------------------------------------------------------------- */

static int htab_check(struct bpfvm_map *m)
{
	bool lru = is_lru(m), percpu_lru = m->map_flags & BPFVM_F_NO_COMMON_LRU;
	bool prealloc = !(m->map_flags & BPFVM_F_NO_PREALLOC);
	int err;
	if ((err = vm_check_map_flags(m, BPFVM_F_NO_PREALLOC | BPFVM_F_NO_COMMON_LRU |
					 VM_F_NUMA_NODE | VM_F_ACCESS_MASK | VM_F_ZERO_SEED)))
		return err;
	if (!lru && percpu_lru)
		return vm_err(-EINVAL, "map '%s': BPF_F_NO_COMMON_LRU without an LRU type",
			      m->name);
	if (lru && !prealloc)
		return vm_err(-VM_ENOTSUPP, "map '%s': LRU maps cannot be BPF_F_NO_PREALLOC",
			      m->name);
	if ((m->map_flags & VM_F_NUMA_NODE) && (m->percpu || percpu_lru))
		return vm_err(-EINVAL, "map '%s': BPF_F_NUMA_NODE with a per-CPU map", m->name);
	if (m->max_entries == 0 || m->key_size == 0 || m->value_size == 0)
		return vm_err(-EINVAL, "map '%s': hash maps need key_size, value_size and "
			      "max_entries > 0 (got %u, %u, %u)", m->name, m->key_size,
			      m->value_size, m->max_entries);
	if ((uint64_t)m->key_size + m->value_size >= KMALLOC_MAX_SIZE - sizeof(struct helem) ||
	    (m->percpu && m->elem_stride > PCPU_MIN_UNIT_SIZE))
		return vm_err(-E2BIG, "map '%s': key_size + value_size too large", m->name);
	return 0;
}

static int htab_alloc(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts)
{
	int err = htab_check(m);
	if (err)
		return err;
	uint32_t nslots = (uint32_t)bpfvm_num_cpu_slots();
	bool percpu_lru = m->map_flags & BPFVM_F_NO_COMMON_LRU;
	if (percpu_lru) {
		uint64_t r = ((uint64_t)m->max_entries + nslots - 1) / nslots * nslots;
		m->max_entries = r > UINT32_MAX ? m->max_entries / nslots * nslots : (uint32_t)r;
	}
	uint64_t nb = 1;
	while (nb < m->max_entries)
		nb <<= 1;
	if (nb > (1u << 31))
		return vm_err(-E2BIG, "map '%s': max_entries %u too large", m->name,
			      m->max_entries);

	struct htab *h = calloc(1, sizeof(*h));
	if (!h)
		return vm_err(-ENOMEM, "map '%s': out of memory", m->name);
	m->priv = h;
	h->mask = (uint32_t)nb - 1;
	h->seed = (uint32_t)((m->id * 0x9e3779b9u) ^ (uint32_t)(uintptr_t)h);
	h->key_off = vm_round_up(sizeof(struct helem), 8);
	h->val_off = h->key_off + vm_round_up(m->key_size, 8);
	size_t esize = h->val_off + (m->percpu ? 0 : m->elem_stride);
	size_t pstride = m->percpu ? m->elem_stride : 0;
	h->buckets = calloc(nb, sizeof(*h->buckets));
	if (!h->buckets)
		goto nomem;
	if (is_lru(m)) {
		h->nlru = percpu_lru ? nslots : 1;
		h->lru = aligned_alloc(64, sizeof(*h->lru) * h->nlru);
		if (!h->lru)
			goto nomem;
		memset(h->lru, 0, sizeof(*h->lru) * h->nlru);
		for (uint32_t i = 0; i < h->nlru; i++) {
			struct lru_list *l = &h->lru[i];
			l->head.lru_next = l->head.lru_prev = &l->head;
			if (vm_pool_init(&l->pool, esize, m->max_entries / h->nlru, true, pstride, 1)) {
				h->nlru = i;
				goto nomem;
			}
		}
	} else if (vm_pool_init(&h->pool, esize, m->max_entries,
				!(m->map_flags & BPFVM_F_NO_PREALLOC), pstride, nslots > 64 ? 64 : nslots)) {
		goto nomem;
	}
	return 0;
nomem:
	m->ops->free(m);
	return vm_err(-ENOMEM, "map '%s': out of memory", m->name);
}

static void htab_free(struct bpfvm_map *m)
{
	struct htab *h = ht(m);
	if (m->fd_kind != VM_FD_NONE && h->buckets) {
		for (uint32_t i = 0; i <= h->mask; i++)
			for (struct helem *e = h->buckets[i].head; e; e = (struct helem *)e->e.next)
				vm_map_fd_put(m, *(void **)val_of(m, e, 0));
	}
	for (uint32_t i = 0; i < h->nlru; i++)
		vm_pool_destroy(&h->lru[i].pool);
	free(h->lru);
	vm_pool_destroy(&h->pool);
	free(h->buckets);
	free(h);
}

/* ---- Operations ------------------------------------------------------------------------ */

static struct bucket *bucket_of(struct htab *h, uint32_t hash)
{
	return &h->buckets[hash & h->mask];
}

static void *htab_lookup(struct bpfvm_map *m, const void *key, int cpu)
{
	struct htab *h = ht(m);
	uint32_t hash = vm_hash(key, m->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	vm_lock(&b->lock);
	struct helem *e = find(h, b, key, hash, m->key_size, NULL);
	void *v = NULL;
	if (e) {
		touch(m, e);
		v = val_of(m, e, cpu);
	}
	vm_unlock(&b->lock);
	return v;
}

static int htab_lookup_user(struct bpfvm_map *m, const void *key, void *value, uint64_t flags,
			    bool del)
{
	struct htab *h = ht(m);
	uint32_t hash = vm_hash(key, m->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	vm_lock(&b->lock);
	struct helem *e = find(h, b, key, hash, m->key_size, NULL);
	if (!e) {
		vm_unlock(&b->lock);
		return -ENOENT;
	}
	if (m->percpu)
		vm_pcpu_load(m, value, e->e.pcpu, e->e.pcpu_stride);
	else
		vm_value_load(m, value, val_of(m, e, 0), flags & BPFVM_F_LOCK);
	if (del)
		bucket_unlink(h, b, e);	/* (a user-space lookup does not count as a use
					 * for the LRU, as the kernel's) */
	vm_unlock(&b->lock);
	if (del)
		elem_free(m, e);
	return 0;
}

/* Writes value into e (the bucket lock is held). Returns the map pointer a
 * HASH_OF_MAPS slot held before, to drop after unlocking. */
static void *store(struct bpfvm_map *m, struct helem *e, const void *value, uint64_t flags,
		   int cpu, bool fresh)
{
	void *old = NULL, *p;
	if (m->fd_kind != VM_FD_NONE) {
		memcpy(&p, value, sizeof(p));
		old = __atomic_exchange_n((void **)val_of(m, e, 0), p, __ATOMIC_ACQ_REL);
		return fresh ? NULL : old;
	}
	if (m->percpu) {
		vm_pcpu_store(m, e->e.pcpu, e->e.pcpu_stride, value, cpu, fresh);
		return NULL;
	}
	if (fresh)
		memset(val_of(m, e, 0), 0, m->elem_size);
	vm_value_store(m, val_of(m, e, 0), value, !fresh && (flags & BPFVM_F_LOCK));
	return NULL;
}

static int htab_update(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags,
		       int cpu)
{
	struct htab *h = ht(m);
	int err = vm_check_update_flags(m, flags, !m->percpu && m->fd_kind == VM_FD_NONE);
	if (err)
		return err;
	uint64_t mode = flags & ~(uint64_t)BPFVM_F_LOCK;
	uint32_t hash = vm_hash(key, m->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	struct helem *e, *fresh = NULL;
	void *old = NULL;

	for (;;) {
		vm_lock(&b->lock);
		e = find(h, b, key, hash, m->key_size, NULL);
		if (e) {
			if (mode == BPFVM_NOEXIST) {
				err = -EEXIST;
			} else {
				old = store(m, e, value, flags, cpu, false);
				touch(m, e);
			}
			break;
		}
		if (mode == BPFVM_EXIST) {
			err = -ENOENT;
			break;
		}
		if (fresh) {
			memcpy(key_of(h, fresh), key, m->key_size);
			store(m, fresh, value, flags, cpu, true);
			fresh->e.next = (struct vm_elem *)b->head;
			b->head = fresh;
			fresh->in_bucket = true;
			fresh = NULL;
			break;
		}
		/* Allocate without the bucket lock (an LRU eviction takes others). */
		vm_unlock(&b->lock);
		fresh = elem_alloc(m, hash);
		if (!fresh)
			return -E2BIG;
	}
	vm_unlock(&b->lock);
	if (fresh)
		elem_free(m, fresh);	/* another thread inserted the key meanwhile */
	vm_map_fd_put(m, old);
	return err;
}

static int htab_delete(struct bpfvm_map *m, const void *key)
{
	struct htab *h = ht(m);
	uint32_t hash = vm_hash(key, m->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	void *old = NULL;
	vm_lock(&b->lock);
	struct helem *e = find(h, b, key, hash, m->key_size, NULL);
	if (e) {
		bucket_unlink(h, b, e);
		if (m->fd_kind != VM_FD_NONE)
			old = __atomic_exchange_n((void **)val_of(m, e, 0), NULL, __ATOMIC_ACQ_REL);
	}
	vm_unlock(&b->lock);
	if (!e)
		return -ENOENT;
	elem_free(m, e);
	vm_map_fd_put(m, old);
	return 0;
}

static int htab_get_next_key(struct bpfvm_map *m, const void *key, void *next)
{
	struct htab *h = ht(m);
	uint32_t i = 0;
	if (key) {
		uint32_t hash = vm_hash(key, m->key_size, h->seed);
		struct bucket *b = bucket_of(h, hash);
		vm_lock(&b->lock);
		struct helem *e = find(h, b, key, hash, m->key_size, NULL);
		if (e && e->e.next) {
			memcpy(next, key_of(h, (struct helem *)e->e.next), m->key_size);
			vm_unlock(&b->lock);
			return 0;
		}
		vm_unlock(&b->lock);
		if (e)
			i = (hash & h->mask) + 1;
	}
	for (; i <= h->mask; i++) {
		struct bucket *b = &h->buckets[i];
		vm_lock(&b->lock);
		if (b->head) {
			memcpy(next, key_of(h, b->head), m->key_size);
			vm_unlock(&b->lock);
			return 0;
		}
		vm_unlock(&b->lock);
	}
	return -ENOENT;
}

static long htab_for_each(struct bpfvm_map *m, vm_map_each_fn fn, void *ctx)
{
	struct htab *h = ht(m);
	int cpu = m->percpu ? vm_cpu_slot() : 0;
	struct helem *batch[FOR_EACH_BATCH];
	long n = 0;
	if (m->fd_kind != VM_FD_NONE)
		return -EINVAL;
	/* The callback may update or delete: call it with no lock held, on batches
	 * taken from each bucket. */
	for (uint32_t i = 0; i <= h->mask; i++) {
		struct bucket *b = &h->buckets[i];
		for (uint32_t skip = 0;; skip += FOR_EACH_BATCH) {
			uint32_t cnt = 0, pos = 0;
			vm_lock(&b->lock);
			for (struct helem *e = b->head; e && cnt < FOR_EACH_BATCH;
			     e = (struct helem *)e->e.next, pos++)
				if (pos >= skip)
					batch[cnt++] = e;
			vm_unlock(&b->lock);
			for (uint32_t k = 0; k < cnt; k++) {
				n++;
				if (fn(m, key_of(h, batch[k]), val_of(m, batch[k], cpu), ctx))
					return n;
			}
			if (cnt < FOR_EACH_BATCH)
				break;
		}
	}
	return n;
}

const struct vm_map_ops vm_hash_ops = {
	.alloc = htab_alloc,
	.free = htab_free,
	.lookup = htab_lookup,
	.lookup_user = htab_lookup_user,
	.update = htab_update,
	.delete = htab_delete,
	.get_next_key = htab_get_next_key,
	.for_each = htab_for_each,
};
