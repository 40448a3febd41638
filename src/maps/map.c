/*
 * maps/map.c — what every map family shares: creation (type dispatch and the common
 * checks), references, the user-space API of bpfvm.h (key/value sizes, BPFVM_F_RDONLY
 * / WRONLY, flags, per-CPU packing) and the program-side entry points, CPU slots,
 * value copies that respect a bpf_spin_lock, the key hash and the element pool.
 *
 * Order of checks in the user-space calls follows the kernel's syscall handlers
 * (kernel/bpf/syscall.c): flags, then permissions, then the spin lock, then the
 * type's own operation, so the same script gives the same errno sequence.
 */
#include "maps/map.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

size_t vm_round_up(size_t x, size_t to)
{
	return (x + to - 1) & ~(to - 1);
}

/* ---- Locks ----------------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* struct bpf_spin_lock { u32 val; } inside a map value, and vm_lock_t: one
 * test-and-test-and-set loop that yields after a while. */
void vm_spin_lock_value(void *lock)
{
	uint32_t *w = lock;
	for (unsigned spins = 0;; spins++) {
		if (!__atomic_load_n(w, __ATOMIC_RELAXED) &&
		    !__atomic_exchange_n(w, 1, __ATOMIC_ACQUIRE))
			return;
		if (spins >= 64)
			sched_yield();
		else
			cpu_relax();
	}
}

void vm_lock(vm_lock_t *l)
{
	vm_spin_lock_value(&l->v);
}

void vm_spin_unlock_value(void *lock)
{
	__atomic_store_n((uint32_t *)lock, 0, __ATOMIC_RELEASE);
}

/* ---- CPU slots ------------------------------------------------------------------- */

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static int cpu_slots;
static atomic_uint next_slot;
static _Thread_local int my_slot = -1;

static void cpu_init(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	cpu_slots = n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

int bpfvm_num_cpu_slots(void)
{
	pthread_once(&cpu_once, cpu_init);
	return cpu_slots;
}

int vm_cpu_slot(void)
{
	if (my_slot < 0)
		my_slot = (int)(atomic_fetch_add(&next_slot, 1) % (unsigned)bpfvm_num_cpu_slots());
	return my_slot;
}

/* ---- Hash ------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint32_t vm_hash(const void *key, uint32_t len, uint32_t seed)
{
	const uint8_t *p = key;
	uint64_t h = seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull);
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ mix64(w)) * 0x9e3779b97f4a7c15ull;
		h = (h << 27) | (h >> 37);
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ mix64(w)) * 0x9e3779b97f4a7c15ull;
	}
	return (uint32_t)mix64(h);
}

/* ---- Value copies ------------------------------------------------------------------ */

void vm_value_store(const struct bpfvm_map *m, void *dst, const void *src, bool lock)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if (m->lock_off < 0) {
		memcpy(d, s, m->elem_size);
		return;
	}
	size_t off = (size_t)m->lock_off, end = off + 4;
	if (lock)
		vm_spin_lock_value(d + off);
	memcpy(d, s, off);
	memcpy(d + end, s + end, m->elem_size - end);
	if (lock)
		vm_spin_unlock_value(d + off);
}

void vm_value_load(const struct bpfvm_map *m, void *dst, const void *src, bool lock)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if (m->lock_off < 0) {
		memcpy(d, s, m->elem_size);
		return;
	}
	size_t off = (size_t)m->lock_off, end = off + 4;
	if (lock)
		vm_spin_lock_value((void *)(s + off));
	memcpy(d, s, off);
	memset(d + off, 0, 4);
	memcpy(d + end, s + end, m->elem_size - end);
	if (lock)
		vm_spin_unlock_value((void *)(s + off));
}

void vm_pcpu_load(const struct bpfvm_map *m, void *out, const uint8_t *slot0, size_t stride)
{
	uint8_t *o = out;
	size_t vs = m->elem_stride;
	for (int c = 0; c < bpfvm_num_cpu_slots(); c++) {
		memcpy(o + (size_t)c * vs, slot0 + (size_t)c * stride, vs);
	}
}

void vm_pcpu_store(const struct bpfvm_map *m, uint8_t *slot0, size_t stride, const void *value,
		   int cpu, bool fresh)
{
	const uint8_t *v = value;
	for (int c = 0; c < bpfvm_num_cpu_slots(); c++) {
		uint8_t *d = slot0 + (size_t)c * stride;
		if (cpu == VM_CPU_ALL)
			memcpy(d, v + (size_t)c * m->elem_stride, m->elem_stride);
		else if (c == cpu)
			memcpy(d, v, m->value_size);
		else if (fresh)
			memset(d, 0, m->elem_stride);
	}
}

int vm_check_update_flags(const struct bpfvm_map *m, uint64_t flags, bool lock_ok)
{
	if ((flags & ~(uint64_t)BPFVM_F_LOCK) > BPFVM_EXIST)
		return -EINVAL;
	if ((flags & BPFVM_F_LOCK) && (m->lock_off < 0 || !lock_ok))
		return -EINVAL;
	return 0;
}

int vm_check_map_flags(const struct bpfvm_map *m, uint32_t allowed)
{
	uint32_t f = m->map_flags;
	if (f & ~allowed)
		return vm_err(-EINVAL, "map '%s': map_flags 0x%x not allowed for this type "
			      "(allowed 0x%x)", m->name, f, allowed);
	if ((f & BPFVM_F_RDONLY) && (f & BPFVM_F_WRONLY))
		return vm_err(-EINVAL, "map '%s': BPF_F_RDONLY with BPF_F_WRONLY", m->name);
	if ((f & BPFVM_F_RDONLY_PROG) && (f & BPFVM_F_WRONLY_PROG))
		return vm_err(-EINVAL, "map '%s': BPF_F_RDONLY_PROG with BPF_F_WRONLY_PROG",
			      m->name);
	return 0;
}

/* ---- Element pool ------------------------------------------------------------------ */

struct vm_pool_shard {
	vm_lock_t lock;
	_Atomic(struct vm_elem *) head;
} __attribute__((aligned(64)));

struct vm_pool_chunk {
	struct vm_pool_chunk *next;
	uint8_t *pcpu;
	uint8_t mem[];
};

static void push_free(struct vm_pool_shard *sh, struct vm_elem *e)
{
	vm_lock(&sh->lock);
	e->next = atomic_load_explicit(&sh->head, memory_order_relaxed);
	atomic_store_explicit(&sh->head, e, memory_order_relaxed);
	vm_unlock(&sh->lock);
}

/* Allocates n more elements onto the free lists (from shard `first`, round-robin).
 * Called with chunk_lock held, or during init. */
static int pool_grow(struct vm_pool *p, uint32_t n, uint32_t first)
{
	struct vm_pool_chunk *c = malloc(sizeof(*c) + (size_t)n * p->elem_size);
	if (!c)
		return -ENOMEM;
	memset(c->mem, 0, (size_t)n * p->elem_size);
	c->pcpu = NULL;
	size_t cstride = 0;
	if (p->pcpu_stride) {
		cstride = vm_round_up((size_t)n * p->pcpu_stride, 64);
		c->pcpu = aligned_alloc(64, cstride * (size_t)bpfvm_num_cpu_slots());
		if (!c->pcpu) {
			free(c);
			return -ENOMEM;
		}
		memset(c->pcpu, 0, cstride * (size_t)bpfvm_num_cpu_slots());
	}
	for (uint32_t i = 0; i < n; i++) {
		struct vm_elem *e = (struct vm_elem *)(c->mem + (size_t)i * p->elem_size);
		e->pcpu = c->pcpu ? c->pcpu + (size_t)i * p->pcpu_stride : NULL;
		e->pcpu_stride = cstride;
		push_free(&p->shards[(first + i) % p->nshards], e);
	}
	c->next = p->chunks;
	p->chunks = c;
	atomic_fetch_add(&p->allocated, n);
	return 0;
}

int vm_pool_init(struct vm_pool *p, size_t elem_size, uint32_t cap, bool prealloc,
		 size_t pcpu_stride, uint32_t nshards)
{
	memset(p, 0, sizeof(*p));
	p->elem_size = vm_round_up(elem_size, 8);
	p->pcpu_stride = pcpu_stride;
	p->cap = cap;
	p->nshards = nshards ? nshards : 1;
	p->shards = aligned_alloc(64, sizeof(*p->shards) * p->nshards);
	if (!p->shards)
		return -ENOMEM;
	memset(p->shards, 0, sizeof(*p->shards) * p->nshards);
	if (prealloc && cap) {
		int err = pool_grow(p, cap, 0);
		if (err) {
			vm_pool_destroy(p);
			return err;
		}
	}
	return 0;
}

static struct vm_elem *pop_free(struct vm_pool_shard *sh)
{
	if (!atomic_load_explicit(&sh->head, memory_order_relaxed))
		return NULL;
	vm_lock(&sh->lock);
	struct vm_elem *e = atomic_load_explicit(&sh->head, memory_order_relaxed);
	if (e)
		atomic_store_explicit(&sh->head, e->next, memory_order_relaxed);
	vm_unlock(&sh->lock);
	return e;
}

struct vm_elem *vm_pool_get(struct vm_pool *p)
{
	if (atomic_fetch_add(&p->in_use, 1) >= p->cap) {
		atomic_fetch_sub(&p->in_use, 1);
		return NULL;
	}
	/* A reservation made: an element is free somewhere or may be allocated. */
	uint32_t own = (uint32_t)vm_cpu_slot() % p->nshards;
	for (;;) {
		for (uint32_t i = 0; i < p->nshards; i++) {
			struct vm_elem *e = pop_free(&p->shards[(own + i) % p->nshards]);
			if (e)
				return e;
		}
		vm_lock(&p->chunk_lock);
		uint32_t have = atomic_load(&p->allocated);
		int err = 0;
		if (have < p->cap) {
			uint32_t n = have < 16 ? 16 : have / 2;
			if (n > p->cap - have)
				n = p->cap - have;
			err = pool_grow(p, n, own);
		}
		vm_unlock(&p->chunk_lock);
		if (err) {
			atomic_fetch_sub(&p->in_use, 1);
			return NULL;
		}
		if (have >= p->cap)
			sched_yield();	/* another thread is about to put one back */
	}
}

void vm_pool_put(struct vm_pool *p, struct vm_elem *e)
{
	push_free(&p->shards[(uint32_t)vm_cpu_slot() % p->nshards], e);
	atomic_fetch_sub(&p->in_use, 1);
}

void vm_pool_destroy(struct vm_pool *p)
{
	struct vm_pool_chunk *c = p->chunks, *next;
	for (; c; c = next) {
		next = c->next;
		free(c->pcpu);
		free(c);
	}
	free(p->shards);
	memset(p, 0, sizeof(*p));
}

/* ---- Creation and references ------------------------------------------------------- */

static atomic_uint next_map_id = 1;

static const struct vm_map_ops *ops_for(enum bpfvm_map_type type)
{
	switch (type) {
	case BPFVM_MAP_TYPE_ARRAY:
	case BPFVM_MAP_TYPE_PERCPU_ARRAY:
	case BPFVM_MAP_TYPE_PROG_ARRAY:
	case BPFVM_MAP_TYPE_ARRAY_OF_MAPS:
		return &vm_array_ops;
	case BPFVM_MAP_TYPE_HASH:
	case BPFVM_MAP_TYPE_PERCPU_HASH:
	case BPFVM_MAP_TYPE_LRU_HASH:
	case BPFVM_MAP_TYPE_LRU_PERCPU_HASH:
	case BPFVM_MAP_TYPE_HASH_OF_MAPS:
		return &vm_hash_ops;
	case BPFVM_MAP_TYPE_LPM_TRIE:
		return &vm_lpm_ops;
	case BPFVM_MAP_TYPE_QUEUE:
	case BPFVM_MAP_TYPE_STACK:
		return &vm_queue_stack_ops;
	case BPFVM_MAP_TYPE_RINGBUF:
		return &vm_ringbuf_ops;
	}
	return NULL;
}

static bool is_map_in_map(enum bpfvm_map_type t)
{
	return t == BPFVM_MAP_TYPE_ARRAY_OF_MAPS || t == BPFVM_MAP_TYPE_HASH_OF_MAPS;
}

/* The inner-map template of a map-in-map (bpf_map_meta_alloc). */
static int set_inner_shape(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts)
{
	const struct bpfvm_map *in = opts ? opts->inner_map : NULL;
	if (!in)
		return vm_err(-EINVAL, "map '%s': a map-in-map needs opts.inner_map", m->name);
	if (is_map_in_map(in->type) || in->type == BPFVM_MAP_TYPE_PROG_ARRAY)
		return vm_err(-EINVAL, "map '%s': inner map '%s' cannot be a map-in-map or "
			      "PROG_ARRAY", m->name, in->name);
	m->inner = (struct vm_map_shape){ in->type, in->key_size, in->value_size,
					  in->max_entries, in->map_flags };
	return 0;
}

struct bpfvm_map *bpfvm_map__create(enum bpfvm_map_type type, const char *name,
				    uint32_t key_size, uint32_t value_size, uint32_t max_entries,
				    const struct bpfvm_map_create_opts *opts)
{
	const struct vm_map_ops *ops = ops_for(type);
	int err;

	if (opts && opts->sz < sizeof(size_t)) {
		errno = -vm_err(-EINVAL, "bpfvm_map__create: opts.sz is not set");
		return NULL;
	}
	if (!ops) {
		errno = -vm_err(-EINVAL, "map '%s': unknown map type %d", name ? name : "",
				(int)type);
		return NULL;
	}
	struct bpfvm_map *m = calloc(1, sizeof(*m));
	if (!m || !(m->name = strdup(name ? name : ""))) {
		free(m);
		errno = -vm_err(-ENOMEM, "map '%s': out of memory", name ? name : "");
		return NULL;
	}
	m->type = type;
	m->id = atomic_fetch_add(&next_map_id, 1);
	m->key_size = key_size;
	m->value_size = value_size;
	m->max_entries = max_entries;
	m->map_flags = opts ? opts->map_flags : 0;
	m->elem_size = value_size;
	m->lock_off = -1;
	m->percpu = type == BPFVM_MAP_TYPE_PERCPU_ARRAY || type == BPFVM_MAP_TYPE_PERCPU_HASH ||
		    type == BPFVM_MAP_TYPE_LRU_PERCPU_HASH;
	if (type == BPFVM_MAP_TYPE_PROG_ARRAY)
		m->fd_kind = VM_FD_PROG;
	else if (is_map_in_map(type))
		m->fd_kind = VM_FD_MAP;
	if (m->fd_kind != VM_FD_NONE) {
		if (value_size != 4) {
			err = vm_err(-EINVAL, "map '%s': value_size must be 4 for map-in-map "
				     "and PROG_ARRAY (got %u)", m->name, value_size);
			goto fail;
		}
		m->elem_size = sizeof(void *);
	}
	m->elem_stride = (uint32_t)vm_round_up(m->elem_size, 8);
	if (is_map_in_map(type) && (err = set_inner_shape(m, opts)))
		goto fail;
	atomic_init(&m->refcnt, 1);
	m->ops = ops;
	if ((err = ops->alloc(m, opts)))
		goto fail;
	return m;
fail:
	free(m->name);
	free(m);
	errno = -err;
	return NULL;
}

struct bpfvm_map *vm_map_get(struct bpfvm_map *m)
{
	if (m)
		atomic_fetch_add_explicit(&m->refcnt, 1, memory_order_relaxed);
	return m;
}

void vm_map_put(struct bpfvm_map *m)
{
	if (!m || atomic_fetch_sub_explicit(&m->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	m->ops->free(m);
	free(m->name);
	free(m);
}

void bpfvm_map__free(struct bpfvm_map *map)
{
	vm_map_put(map);
}

void vm_map_fd_put(struct bpfvm_map *m, void *ptr)
{
	if (ptr && m->fd_kind == VM_FD_MAP)
		vm_map_put(ptr);
}

int vm_map_set_spin_lock(struct bpfvm_map *m, uint32_t off)
{
	if (m->type != BPFVM_MAP_TYPE_ARRAY && m->type != BPFVM_MAP_TYPE_HASH &&
	    m->type != BPFVM_MAP_TYPE_LRU_HASH)
		return vm_err(-EINVAL, "map '%s': bpf_spin_lock in this map type", m->name);
	if (off % 4 || (uint64_t)off + 4 > m->value_size)
		return vm_err(-EINVAL, "map '%s': bpf_spin_lock at offset %u", m->name, off);
	m->lock_off = (int32_t)off;
	return 0;
}

const char *bpfvm_map__name(const struct bpfvm_map *map) { return map->name; }
enum bpfvm_map_type bpfvm_map__type(const struct bpfvm_map *map) { return map->type; }
uint32_t bpfvm_map__key_size(const struct bpfvm_map *map) { return map->key_size; }
uint32_t bpfvm_map__value_size(const struct bpfvm_map *map) { return map->value_size; }
uint32_t bpfvm_map__max_entries(const struct bpfvm_map *map) { return map->max_entries; }
uint32_t bpfvm_map__flags(const struct bpfvm_map *map) { return map->map_flags; }

/* ---- User-space API ---------------------------------------------------------------- */

/* The size of a value as user space sees it. */
static size_t user_value_size(const struct bpfvm_map *m)
{
	if (m->percpu)
		return (size_t)m->elem_stride * (size_t)bpfvm_num_cpu_slots();
	return m->value_size;
}

static bool is_queue_stack(const struct bpfvm_map *m)
{
	return m->type == BPFVM_MAP_TYPE_QUEUE || m->type == BPFVM_MAP_TYPE_STACK;
}

/* Common checks: map, permissions, key and value sizes. */
static int check_call(const struct bpfvm_map *m, const char *what, bool rd, bool wr,
		      const void *key, size_t key_sz, const void *value, size_t value_sz,
		      bool has_value)
{
	if (!m)
		return vm_err(-EINVAL, "%s: map is NULL", what);
	if ((rd && (m->map_flags & BPFVM_F_WRONLY)) || (wr && (m->map_flags & BPFVM_F_RDONLY)))
		return vm_err(-EPERM, "%s: map '%s' is %s from user space", what, m->name,
			      m->map_flags & BPFVM_F_WRONLY ? "write-only" : "read-only");
	if (wr && atomic_load(&m->frozen))
		return vm_err(-EPERM, "%s: map '%s' is frozen", what, m->name);
	if (key_sz != m->key_size)
		return vm_err(-EINVAL, "%s: map '%s': key size %zu, map's is %u", what, m->name,
			      key_sz, m->key_size);
	if (m->key_size && !key)
		return vm_err(-EINVAL, "%s: map '%s': key is NULL", what, m->name);
	if (has_value) {
		if (value_sz != user_value_size(m))
			return vm_err(-EINVAL, "%s: map '%s': value size %zu, expected %zu%s",
				      what, m->name, value_sz, user_value_size(m),
				      m->percpu ? " (per-CPU: value size rounded up to 8, "
						  "times bpfvm_num_cpu_slots())" : "");
		if (!value && value_sz)
			return vm_err(-EINVAL, "%s: map '%s': value is NULL", what, m->name);
	}
	return 0;
}

static int check_lock_flag(const struct bpfvm_map *m, const char *what, uint64_t flags)
{
	if (flags & ~(uint64_t)BPFVM_F_LOCK)
		return vm_err(-EINVAL, "%s: map '%s': flags 0x%llx (only BPF_F_LOCK)", what,
			      m->name, (unsigned long long)flags);
	return 0;
}

static int check_lock_supported(const struct bpfvm_map *m, const char *what, uint64_t flags)
{
	if ((flags & BPFVM_F_LOCK) && m->lock_off < 0)
		return vm_err(-EINVAL, "%s: map '%s': BPF_F_LOCK but the value has no "
			      "bpf_spin_lock", what, m->name);
	return 0;
}

/* Map-in-map lookups report the inner map's id; PROG_ARRAY would report a program
 * id, which bpfvm does not have. */
static int lookup_fd_slot(struct bpfvm_map *m, const void *key, void *value)
{
	void **slot = m->ops->lookup(m, key, 0);
	void *p = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
	if (!p)
		return -ENOENT;
	if (m->fd_kind == VM_FD_PROG)
		return vm_err(-EOPNOTSUPP, "lookup: map '%s': PROG_ARRAY slots hold programs, "
			      "which have no ids here", m->name);
	uint32_t id = ((struct bpfvm_map *)p)->id;
	memcpy(value, &id, 4);
	return 0;
}

int bpfvm_map__lookup_elem(const struct bpfvm_map *map, const void *key, size_t key_sz,
			   void *value, size_t value_sz, uint64_t flags)
{
	struct bpfvm_map *m = (struct bpfvm_map *)map;
	int err;
	if (!m)
		return vm_err(-EINVAL, "lookup: map is NULL");
	if ((err = check_lock_flag(m, "lookup", flags)) ||
	    (err = check_call(m, "lookup", true, false, key, key_sz, value, value_sz, true)) ||
	    (err = check_lock_supported(m, "lookup", flags)))
		return err;
	if (is_queue_stack(m))
		return m->ops->pop(m, value, true);
	if (m->fd_kind != VM_FD_NONE)
		return lookup_fd_slot(m, key, value);
	if (!m->ops->lookup_user)
		return -VM_ENOTSUPP;
	return m->ops->lookup_user(m, key, value, flags, false);
}

int bpfvm_map__update_elem(struct bpfvm_map *m, const void *key, size_t key_sz,
			   const void *value, size_t value_sz, uint64_t flags)
{
	int err;
	if ((err = check_call(m, "update", false, true, key, key_sz, value, value_sz, true)) ||
	    (err = check_lock_supported(m, "update", flags)))
		return err;
	if (m->fd_kind != VM_FD_NONE)
		return vm_err(-EINVAL, "update: map '%s' holds %s: use bpfvm_map__update_%s",
			      m->name, m->fd_kind == VM_FD_MAP ? "maps" : "programs",
			      m->fd_kind == VM_FD_MAP ? "inner_map" : "prog");
	if (is_queue_stack(m))
		return m->ops->push(m, value, flags);
	if (!m->ops->update)
		return -VM_ENOTSUPP;
	return m->ops->update(m, key, value, flags, VM_CPU_ALL);
}

int bpfvm_map__delete_elem(struct bpfvm_map *m, const void *key, size_t key_sz, uint64_t flags)
{
	int err;
	if (m && flags)
		return vm_err(-EINVAL, "delete: map '%s': flags must be 0", m->name);
	if ((err = check_call(m, "delete", false, true, key, key_sz, NULL, 0, false)))
		return err;
	if (!m->ops->delete)
		return -VM_ENOTSUPP;
	return m->ops->delete(m, key);
}

int bpfvm_map__lookup_and_delete_elem(struct bpfvm_map *m, const void *key, size_t key_sz,
				      void *value, size_t value_sz, uint64_t flags)
{
	int err;
	if (!m)
		return vm_err(-EINVAL, "lookup_and_delete: map is NULL");
	if ((err = check_lock_flag(m, "lookup_and_delete", flags)) ||
	    (err = check_call(m, "lookup_and_delete", true, true, key, key_sz, value, value_sz,
			      true)))
		return err;
	if (flags && is_queue_stack(m))
		return vm_err(-EINVAL, "lookup_and_delete: map '%s': no flags for QUEUE/STACK",
			      m->name);
	if ((err = check_lock_supported(m, "lookup_and_delete", flags)))
		return err;
	switch (m->type) {
	case BPFVM_MAP_TYPE_QUEUE:
	case BPFVM_MAP_TYPE_STACK:
		return m->ops->pop(m, value, false);
	case BPFVM_MAP_TYPE_HASH:
	case BPFVM_MAP_TYPE_PERCPU_HASH:
	case BPFVM_MAP_TYPE_LRU_HASH:
	case BPFVM_MAP_TYPE_LRU_PERCPU_HASH:
		return m->ops->lookup_user(m, key, value, flags, true);
	default:
		return vm_err(-VM_ENOTSUPP, "lookup_and_delete: not supported by map '%s'",
			      m->name);
	}
}

int bpfvm_map__get_next_key(const struct bpfvm_map *map, const void *cur_key, void *next_key,
			    size_t key_sz)
{
	struct bpfvm_map *m = (struct bpfvm_map *)map;
	int err;
	if ((err = check_call(m, "get_next_key", true, false, next_key, key_sz, NULL, 0, false)))
		return err;
	if (!m->ops->get_next_key)
		return -VM_ENOTSUPP;
	return m->ops->get_next_key(m, cur_key, next_key);
}

static bool shape_ok(const struct bpfvm_map *outer, const struct bpfvm_map *in)
{
	const struct vm_map_shape *s = &outer->inner;
	bool any_size = (s->map_flags & VM_F_INNER_MAP) &&
			(s->type == BPFVM_MAP_TYPE_ARRAY || s->type == BPFVM_MAP_TYPE_PERCPU_ARRAY);
	return in->type == s->type && in->key_size == s->key_size &&
	       in->value_size == s->value_size &&
	       (in->map_flags & ~VM_F_INNER_MAP) == (s->map_flags & ~VM_F_INNER_MAP) &&
	       (any_size || in->max_entries == s->max_entries);
}

int bpfvm_map__update_inner_map(struct bpfvm_map *outer, const void *key, size_t key_sz,
				struct bpfvm_map *inner, uint64_t flags)
{
	int err;
	if ((err = check_call(outer, "update_inner_map", false, true, key, key_sz, NULL, 0,
			      false)))
		return err;
	if (outer->fd_kind != VM_FD_MAP)
		return vm_err(-EINVAL, "update_inner_map: map '%s' is not a map-in-map",
			      outer->name);
	if (!inner)
		return vm_err(-EINVAL, "update_inner_map: inner map is NULL");
	if (!shape_ok(outer, inner))
		return vm_err(-EINVAL, "update_inner_map: map '%s' does not have the inner map "
			      "shape of '%s' (type %d, key %u, value %u, max_entries %u, "
			      "flags 0x%x)", inner->name, outer->name, (int)outer->inner.type,
			      outer->inner.key_size, outer->inner.value_size,
			      outer->inner.max_entries, outer->inner.map_flags);
	vm_map_get(inner);
	err = outer->ops->update(outer, key, &inner, flags, VM_CPU_ALL);
	if (err)
		vm_map_put(inner);
	return err;
}

int bpfvm_map__update_prog(struct bpfvm_map *prog_array, uint32_t index, struct bpfvm_prog *prog,
			   uint64_t flags)
{
	int err;
	if ((err = check_call(prog_array, "update_prog", false, true, &index, 4, NULL, 0,
			      false)))
		return err;
	if (prog_array->fd_kind != VM_FD_PROG)
		return vm_err(-EINVAL, "update_prog: map '%s' is not a PROG_ARRAY",
			      prog_array->name);
	if (!prog)
		return vm_err(-EINVAL, "update_prog: program is NULL");
	return prog_array->ops->update(prog_array, &index, &prog, flags, VM_CPU_ALL);
}

/* ---- Program-side API -------------------------------------------------------------- */

void *vm_map_lookup(struct bpfvm_map *m, const void *key)
{
	if (!m->ops->lookup || m->fd_kind == VM_FD_PROG)
		return NULL;
	void *p = m->ops->lookup(m, key, m->percpu ? vm_cpu_slot() : 0);
	if (p && m->fd_kind == VM_FD_MAP)
		return __atomic_load_n((void **)p, __ATOMIC_ACQUIRE);
	return p;
}

void *vm_map_lookup_percpu(struct bpfvm_map *m, const void *key, uint32_t cpu)
{
	if (!m->percpu || cpu >= (uint32_t)bpfvm_num_cpu_slots())
		return NULL;
	return m->ops->lookup(m, key, (int)cpu);
}

int vm_map_update(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags)
{
	if (m->fd_kind != VM_FD_NONE)
		return -EOPNOTSUPP;
	if (!m->ops->update)
		return -VM_ENOTSUPP;
	return m->ops->update(m, key, value, flags, m->percpu ? vm_cpu_slot() : 0);
}

int vm_map_delete(struct bpfvm_map *m, const void *key)
{
	if (m->fd_kind != VM_FD_NONE)
		return -EOPNOTSUPP;
	if (!m->ops->delete)
		return -VM_ENOTSUPP;
	return m->ops->delete(m, key);
}

int vm_map_push(struct bpfvm_map *m, const void *value, uint64_t flags)
{
	return m->ops->push ? m->ops->push(m, value, flags) : -EINVAL;
}

int vm_map_pop(struct bpfvm_map *m, void *value)
{
	return m->ops->pop ? m->ops->pop(m, value, false) : -EINVAL;
}

int vm_map_peek(struct bpfvm_map *m, void *value)
{
	return m->ops->pop ? m->ops->pop(m, value, true) : -EINVAL;
}

long vm_map_for_each(struct bpfvm_map *m, vm_map_each_fn fn, void *ctx, uint64_t flags)
{
	if (flags || !m->ops->for_each)
		return -EINVAL;
	return m->ops->for_each(m, fn, ctx);
}

struct bpfvm_prog *vm_map_prog(struct bpfvm_map *m, uint32_t index)
{
	if (m->fd_kind != VM_FD_PROG)
		return NULL;
	void **slot = m->ops->lookup(m, &index, 0);
	return slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
}

struct bpfvm_region vm_map_value_region(const struct bpfvm_map *m, void *value)
{
	struct bpfvm_region r = { 0 };
	if (!value || m->fd_kind != VM_FD_NONE)
		return r;
	r.addr = value;
	r.len = m->value_size;
	r.writable = !(m->map_flags & BPFVM_F_RDONLY_PROG);
	return r;
}

struct bpfvm_region vm_ringbuf_record_region(void *rec, uint64_t size)
{
	struct bpfvm_region r = { rec, rec ? (size_t)size : 0, true };
	return r;
}

int bpfvm_map__freeze(struct bpfvm_map *m)
{
	if (!m)
		return vm_err(-EINVAL, "freeze: map is NULL");
	if (m->map_flags & BPFVM_F_WRONLY_PROG)
		return vm_err(-EPERM, "freeze: map '%s' is write-only for programs", m->name);
	if (m->fd_kind != VM_FD_NONE || m->type == BPFVM_MAP_TYPE_RINGBUF)
		return vm_err(-ENOTSUP, "freeze: map '%s' cannot be frozen", m->name);
	bool was = atomic_exchange(&m->frozen, true);
	return was ? vm_err(-EBUSY, "freeze: map '%s' is already frozen", m->name) : 0;
}

struct bpfvm_map *bpfvm_map__ref(struct bpfvm_map *map)
{
	return map ? vm_map_get(map) : NULL;
}
