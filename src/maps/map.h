/*
 * maps/map.h — eBPF maps: the object, the one ops table every map family fills,
 * and the PROGRAM-SIDE internal API that helpers, the interpreter, the JIT and the
 * checked-mode runtime use.
 *
 * Families (one file each, all behind struct vm_map_ops):
 *   array.c        ARRAY, PERCPU_ARRAY, PROG_ARRAY, ARRAY_OF_MAPS
 *   hash.c         HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, HASH_OF_MAPS
 *   lpm_trie.c     LPM_TRIE
 *   queue_stack.c  QUEUE, STACK
 *   ringbuf.c      RINGBUF (producer side) and the bpfvm_ring_buffer consumer
 * map.c holds what they share: creation dispatch and common checks, refcounting, the
 * user-space API (size/permission/flag checks, per-CPU value packing), CPU slots,
 * value copying (BPF_F_LOCK), the element pool and the key hash.
 *
 * Semantics and error codes are the kernel's (see docs/maps.md). Everything returns
 * 0 or a negative errno; user-space API failures that are the caller's fault are
 * logged with vm_err (an ENOENT lookup is not a failure and is not logged).
 *
 * Memory-lifetime rule, which the program side relies on: a pointer to a value
 * returned by vm_map_lookup / vm_map_lookup_percpu stays valid memory until the map
 * is freed. Elements are never returned to malloc while the map lives: a deleted
 * element goes back to the map's pool and may be reused at once (as the kernel's
 * preallocated maps do), so a program holding a pointer across a delete sees a
 * reused element, never freed memory.
 */
#ifndef BPFVM_MAPS_MAP_H
#define BPFVM_MAPS_MAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

/* The kernel's internal "operation not supported" errno (bpf(2) returns it, e.g.
 * lookup on a RINGBUF, lookup_and_delete on an ARRAY, LRU + BPF_F_NO_PREALLOC).
 * Not in <errno.h>; strerror() calls it "Unknown error 524". */
#define VM_ENOTSUPP 524

/* Map flags the kernel accepts that bpfvm.h does not name (the loader may pass them
 * through from BTF map definitions): accepted where the kernel accepts them. */
#define VM_F_NUMA_NODE		(1u << 2)	/* ignored */
#define VM_F_ZERO_SEED		(1u << 6)	/* hash: ignored (seed is per map) */
#define VM_F_INNER_MAP		(1u << 12)	/* array as inner map: max_entries may differ */
#define VM_F_ACCESS_MASK (BPFVM_F_RDONLY | BPFVM_F_WRONLY | BPFVM_F_RDONLY_PROG | \
			  BPFVM_F_WRONLY_PROG)

/* Ring-buffer flags and queries (bpf_ringbuf_* helpers), kernel values. */
#define VM_RB_NO_WAKEUP		(1u << 0)
#define VM_RB_FORCE_WAKEUP	(1u << 1)
#define VM_RB_AVAIL_DATA	0
#define VM_RB_RING_SIZE		1
#define VM_RB_CONS_POS		2
#define VM_RB_PROD_POS		3
/* Ring-buffer record header (struct bpf_ringbuf_hdr): 8 bytes before each record. */
#define VM_RINGBUF_BUSY_BIT	(1u << 31)
#define VM_RINGBUF_DISCARD_BIT	(1u << 30)
#define VM_RINGBUF_HDR_SZ	8

/* ---- Locks ----------------------------------------------------------------------
 * A small spinlock (test-and-test-and-set, yields after a while) for short critical
 * sections: hash buckets, pool free lists, queue/stack, ring-buffer reservation. */
typedef struct { uint32_t v; } vm_lock_t;
void vm_lock(vm_lock_t *l);
static inline void vm_unlock(vm_lock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---- CPU slots --------------------------------------------------------------------
 * Per-CPU maps keep bpfvm_num_cpu_slots() values per element. A thread gets a slot
 * on first use, round-robin, and keeps it (thread-local): two threads may share a
 * slot when there are more threads than CPUs, so per-CPU values are "per slot",
 * and programs must use atomics on them if several threads may share a slot. */
int vm_cpu_slot(void);		/* this thread's slot, 0 .. bpfvm_num_cpu_slots()-1 */

/* ---- The map object ------------------------------------------------------------ */
struct bpfvm_map;
struct btf;

/* bpf_for_each_map_elem's callback: 0 continues, 1 stops. */
typedef long (*vm_map_each_fn)(struct bpfvm_map *m, const void *key, void *value, void *ctx);

/* Pass as cpu to ops->update for a user-space value (every CPU slot, packed). */
#define VM_CPU_ALL (-1)

/* The one table every family fills. A NULL entry means "not supported by this
 * type"; map.c answers with the kernel's errno for it. Keys and values have already
 * been size-checked; flags are passed as given. */
struct vm_map_ops {
	/* Checks the type-specific creation parameters (m->type, sizes, flags and
	 * opts are set) and allocates the storage. */
	int (*alloc)(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts);
	void (*free)(struct bpfvm_map *m);
	/* Program side: the storage of key's value for CPU slot cpu (ignored by
	 * non-per-CPU maps), NULL when absent. Map-in-map and PROG_ARRAY: the slot
	 * holding the pointer. */
	void *(*lookup)(struct bpfvm_map *m, const void *key, int cpu);
	/* User space: copies key's value out (per-CPU: packed), and deletes the
	 * element afterwards when del (lookup_and_delete). flags: 0 or BPFVM_F_LOCK
	 * (already checked against the map). */
	int (*lookup_user)(struct bpfvm_map *m, const void *key, void *value, uint64_t flags,
			   bool del);
	/* Stores value under key. cpu: VM_CPU_ALL for a packed user-space per-CPU
	 * value, else the program's slot (other slots of a new element are zeroed).
	 * Map-in-map / PROG_ARRAY: value points to the pointer to store (the caller
	 * took the reference; the family drops the replaced one with vm_map_fd_put). */
	int (*update)(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags,
		      int cpu);
	int (*delete)(struct bpfvm_map *m, const void *key);
	int (*get_next_key)(struct bpfvm_map *m, const void *key, void *next);
	/* Calls fn for each element (value: this thread's slot) until it returns
	 * non-zero; returns the number of calls. */
	long (*for_each)(struct bpfvm_map *m, vm_map_each_fn fn, void *ctx);
	/* QUEUE/STACK */
	int (*push)(struct bpfvm_map *m, const void *value, uint64_t flags);
	int (*pop)(struct bpfvm_map *m, void *value, bool peek);
};

/* What a map-in-map / PROG_ARRAY slot holds. */
enum vm_fd_kind { VM_FD_NONE, VM_FD_MAP, VM_FD_PROG };

/* The shape an inner map must have (bpf_map_meta_equal). */
struct vm_map_shape {
	enum bpfvm_map_type type;
	uint32_t key_size, value_size, max_entries, map_flags;
};

struct bpfvm_map {
	enum bpfvm_map_type type;
	char *name;
	uint32_t id;			/* unique, > 0 (what a map-in-map lookup reports) */
	uint32_t key_size;
	uint32_t value_size;		/* as created (map-in-map/PROG_ARRAY: 4) */
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t elem_size;		/* bytes of value storage (fd maps: a pointer) */
	uint32_t elem_stride;		/* elem_size rounded up to 8 */
	bool percpu;
	enum vm_fd_kind fd_kind;
	int32_t lock_off;		/* offset of a struct bpf_spin_lock in the value, or -1 */
	struct vm_map_shape inner;	/* map-in-map: the inner maps' shape */
	atomic_int refcnt;
	const struct vm_map_ops *ops;
	void *priv;			/* the family's state */
	atomic_bool frozen;		/* bpfvm_map__freeze: no more writes from user space */
	/* Set by the object layer for printing (bpfvm_map__format); cleared when the
	 * object, which owns the BTF, is closed. */
	const struct btf *_Atomic btf;
	uint32_t btf_key, btf_value;
};

/* References: programs and objects that keep a map take one. */
struct bpfvm_map *vm_map_get(struct bpfvm_map *m);
void vm_map_put(struct bpfvm_map *m);	/* = bpfvm_map__free */
/* Drops what a map-in-map / PROG_ARRAY slot held (a map reference; nothing for a
 * program). ptr may be NULL. */
void vm_map_fd_put(struct bpfvm_map *m, void *ptr);

/* Declares a struct bpf_spin_lock (4 bytes, 4-aligned) at value offset off, as the
 * loader learns from BTF: enables BPFVM_F_LOCK and makes value copies skip the lock
 * word. Only for ARRAY, HASH and LRU_HASH (-EINVAL otherwise), before use. */
int vm_map_set_spin_lock(struct bpfvm_map *m, uint32_t off);
/* bpf_spin_lock / bpf_spin_unlock on a value's lock word. */
void vm_spin_lock_value(void *lock);
void vm_spin_unlock_value(void *lock);

/* ---- Program-side API (what the helpers call) -------------------------------------
 * No size checks: the verifier (or checked mode) guarantees that key and value point
 * to key_size / value_size readable bytes. Per-CPU maps use this thread's slot.
 * Return values are what the kernel's helpers return to programs. */

/* bpf_map_lookup_elem: the value's storage (writable in place), or NULL. Per-CPU:
 * this thread's slot. ARRAY_OF_MAPS / HASH_OF_MAPS: the inner struct bpfvm_map *
 * (not value memory). QUEUE, STACK, RINGBUF, PROG_ARRAY: NULL. */
void *vm_map_lookup(struct bpfvm_map *m, const void *key);
/* bpf_map_lookup_percpu_elem: slot cpu's value; NULL if cpu >= the slot count or the
 * map is not per-CPU. */
void *vm_map_lookup_percpu(struct bpfvm_map *m, const void *key, uint32_t cpu);
/* bpf_map_update_elem / bpf_map_delete_elem. Map-in-map and PROG_ARRAY:
 * -EOPNOTSUPP (programs cannot store into them; the verifier refuses it anyway). */
int vm_map_update(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags);
int vm_map_delete(struct bpfvm_map *m, const void *key);
/* bpf_map_push_elem / pop / peek (QUEUE, STACK): value is value_size bytes. */
int vm_map_push(struct bpfvm_map *m, const void *value, uint64_t flags);
int vm_map_pop(struct bpfvm_map *m, void *value);
int vm_map_peek(struct bpfvm_map *m, void *value);
/* bpf_for_each_map_elem: number of elements visited, or -EINVAL (flags != 0, or a
 * type without iteration). The callback may update or delete elements of m. */
long vm_map_for_each(struct bpfvm_map *m, vm_map_each_fn fn, void *ctx, uint64_t flags);
/* PROG_ARRAY (bpf_tail_call): the program at index, or NULL. The array stores raw
 * pointers and holds no reference: whoever stores a program (the object layer)
 * keeps it alive while it is in a prog array. */
struct bpfvm_prog *vm_map_prog(struct bpfvm_map *m, uint32_t index);

/* Ring buffer (bpf_ringbuf_*). reserve: size bytes, 8-byte aligned, or NULL (no
 * room, flags != 0, not a RINGBUF). submit/discard find the ring from the record's
 * header, so they take only the pointer reserve returned. output: 0, -EAGAIN (no
 * room), -EINVAL (flags). flags: VM_RB_NO_WAKEUP / VM_RB_FORCE_WAKEUP. */
void *vm_ringbuf_reserve(struct bpfvm_map *m, uint64_t size, uint64_t flags);
void vm_ringbuf_submit(void *data, uint64_t flags);
void vm_ringbuf_discard(void *data, uint64_t flags);
long vm_ringbuf_output(struct bpfvm_map *m, const void *data, uint64_t size, uint64_t flags);
/* VM_RB_AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS; 0 for other flags. */
uint64_t vm_ringbuf_query(struct bpfvm_map *m, uint64_t flags);

/* ---- For the JIT and checked mode ---------------------------------------------------
 * ARRAY value layout (stable, so the JIT can inline a lookup): the values are one
 * contiguous block; index i's value is at values + i * stride, stride = value_size
 * rounded up to 8; values is 8-byte aligned and lives as long as the map. Inlined
 * lookup: idx = *(u32 *)key; idx < max_entries ? values + idx * stride : NULL.
 * Global data (.rodata/.data/.bss) are one-entry ARRAYs: lddw src=2 resolves to
 * values + offset. PERCPU_ARRAY: CPU slot c's value idx is at values + c *
 * cpu_stride + idx * stride, for c < slots. Returns false for any other type. */
struct vm_array_layout {
	uint8_t *values;
	uint32_t stride;
	uint32_t max_entries;
	uint64_t cpu_stride;	/* 0 for ARRAY */
	uint32_t slots;		/* 1 for ARRAY */
};
bool vm_map_array_layout(const struct bpfvm_map *m, struct vm_array_layout *out);

/* Checked mode. A program may touch exactly [value, value + value_size) behind a
 * pointer a lookup returned, and [rec, rec + size) of a ring-buffer record it
 * reserved. The runtime learns these regions when the helper returns:
 *   - vm_map_value_region(m, p): the region for p = vm_map_lookup*(m, ...) (len 0
 *     when p is NULL or m is a map-in-map: an inner map handle is not memory);
 *     writable unless the map is BPFVM_F_RDONLY_PROG;
 *   - vm_ringbuf_record_region(p, size): for p = vm_ringbuf_reserve(m, size, 0).
 * An ARRAY or PERCPU_ARRAY map bound to a program is a static region of it
 * instead (prog.c, vm_prog_bind_maps), from vm_map_array_layout: [values, values +
 * (slots - 1) * cpu_stride + (max_entries - 1) * stride + value_size), global data
 * (lddw src=2) included.
 * Regions stay valid memory until the map is freed (see the lifetime rule above), so
 * the runtime can add them for the rest of the run. */
struct bpfvm_region vm_map_value_region(const struct bpfvm_map *m, void *value);
struct bpfvm_region vm_ringbuf_record_region(void *rec, uint64_t size);

/* ---- Shared by the families (map.c) ------------------------------------------------ */

/* Copies one value (elem_size bytes) into storage dst from src, skipping the spin
 * lock word; with lock, under dst's lock. */
void vm_value_store(const struct bpfvm_map *m, void *dst, const void *src, bool lock);
/* Copies one value out of storage src into dst (the lock word reads as 0); with
 * lock, under src's lock. */
void vm_value_load(const struct bpfvm_map *m, void *dst, const void *src, bool lock);
/* Per-CPU storage is described by slot 0's address and the distance between slots;
 * each slot has elem_stride bytes. Packs every slot's value into out (user-space
 * layout; the padding bytes up to the stride are kept as user space wrote them, as
 * the kernel does)... */
void vm_pcpu_load(const struct bpfvm_map *m, void *out, const uint8_t *slot0, size_t stride);
/* ...and stores a value: cpu VM_CPU_ALL unpacks a user-space value into every slot;
 * otherwise slot cpu gets value and, when fresh, the others are zeroed. */
void vm_pcpu_store(const struct bpfvm_map *m, uint8_t *slot0, size_t stride, const void *value,
		   int cpu, bool fresh);
/* Checks update flags as the kernel: -EINVAL for (flags & ~F_LOCK) > BPFVM_EXIST
 * or for F_LOCK on a map without a spin lock (or when !lock_ok). */
int vm_check_update_flags(const struct bpfvm_map *m, uint64_t flags, bool lock_ok);
/* The key hash (seeded; good avalanche on arbitrary bytes). */
uint32_t vm_hash(const void *key, uint32_t len, uint32_t seed);
/* Checks map_flags against the bits a type allows plus the common rules (RDONLY
 * with WRONLY, RDONLY_PROG with WRONLY_PROG): -EINVAL, logged. */
int vm_check_map_flags(const struct bpfvm_map *m, uint32_t allowed);
size_t vm_round_up(size_t x, size_t to);	/* to: a power of two */

/* Element pool: fixed-size elements, recycled, never freed before the pool.
 * Elements start with struct vm_elem. cap bounds the elements in use; prealloc
 * allocates them all up front, else they are allocated in chunks as needed. With
 * pcpu_stride != 0 every element gets per-CPU value storage (zeroed when the chunk
 * is made): slot c of element e is at e->pcpu + c * e->pcpu_stride, slots of
 * different CPUs in different cache lines. Free lists are sharded by CPU slot
 * (steal when the own one is empty), so pools do not serialise threads. */
struct vm_elem {
	struct vm_elem *next;		/* free list (the owner may reuse it when in use) */
	uint8_t *pcpu;
	size_t pcpu_stride;
};
struct vm_pool_shard;
struct vm_pool {
	size_t elem_size;		/* includes struct vm_elem */
	size_t pcpu_stride;		/* per-CPU bytes per element, 0: none */
	uint32_t cap;
	uint32_t nshards;
	atomic_uint in_use;
	atomic_uint allocated;
	struct vm_pool_shard *shards;
	vm_lock_t chunk_lock;
	struct vm_pool_chunk *chunks;
};
int vm_pool_init(struct vm_pool *p, size_t elem_size, uint32_t cap, bool prealloc,
		 size_t pcpu_stride, uint32_t nshards);
/* An element as its last user left it (callers initialise it); NULL when cap
 * elements are in use (or memory ran out). */
struct vm_elem *vm_pool_get(struct vm_pool *p);
void vm_pool_put(struct vm_pool *p, struct vm_elem *e);
void vm_pool_destroy(struct vm_pool *p);

/* The families' ops tables. */
extern const struct vm_map_ops vm_array_ops;
extern const struct vm_map_ops vm_hash_ops;
extern const struct vm_map_ops vm_lpm_ops;
extern const struct vm_map_ops vm_queue_stack_ops;
extern const struct vm_map_ops vm_ringbuf_ops;

#endif
