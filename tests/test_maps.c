/*
 * test_maps.c — the map subsystem: every type's creation checks, update flags and
 * error codes (the kernel's), get_next_key iteration, per-CPU packing, LRU eviction,
 * LPM longest-prefix match (against a brute-force model), queue/stack order,
 * ring-buffer records, headers, consumer and poll, map-in-map shapes and references,
 * PROG_ARRAY, the program-side API, and concurrency (hash, array, LRU, ring buffer
 * from several threads). Run under TSan too (see docs/maps.md).
 *
 * Where bpf() works (root), a differential part runs the same creation cases and
 * random operation scripts on kernel maps and on bpfvm maps and compares every
 * errno, every value read and (where the order is defined) every key returned.
 */
#ifdef __linux__
#include <linux/bpf.h>	/* before bpfvm headers: see bpfvm/insn.h */
#include <sys/syscall.h>
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "maps/map.h"
#include "testlog.h"
#include "testutil.h"

#define ENOTSUPP VM_ENOTSUPP

static int ncpu;

static struct bpfvm_map *mk(enum bpfvm_map_type t, uint32_t ks, uint32_t vs, uint32_t me,
			    uint32_t flags)
{
	struct bpfvm_map_create_opts o = { .sz = sizeof(o), .map_flags = flags };
	struct bpfvm_map *m = bpfvm_map__create(t, "m", ks, vs, me, &o);
	CHECK(m != NULL, "create type %d: %s", (int)t, test_log_last());
	return m;
}

static size_t uvs(const struct bpfvm_map *m)
{
	return m->percpu ? (size_t)m->elem_stride * ncpu : m->value_size;
}

static int upd(struct bpfvm_map *m, const void *k, const void *v, uint64_t f)
{
	return bpfvm_map__update_elem(m, k, m->key_size, v, uvs(m), f);
}

static int lkp(struct bpfvm_map *m, const void *k, void *v)
{
	return bpfvm_map__lookup_elem(m, k, m->key_size, v, uvs(m), 0);
}

static int del(struct bpfvm_map *m, const void *k)
{
	return bpfvm_map__delete_elem(m, k, m->key_size, 0);
}

/* ---- Creation ---------------------------------------------------------------------- */

static void test_create(void)
{
	struct bpfvm_map *arr4 = mk(BPFVM_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	const uint32_t P = (uint32_t)sysconf(_SC_PAGESIZE);
	static const struct {
		enum bpfvm_map_type t;
		uint32_t ks, vs, me, flags;
		bool inner;
		int err;
	} cases[] = {
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 10, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 10, BPFVM_F_MMAPABLE | BPFVM_F_RDONLY_PROG, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 8, 8, 10, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 0, 10, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 0, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_NO_PREALLOC, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_RDONLY | BPFVM_F_WRONLY, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG, 0,
		  -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, 1u << 20, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY, 4, (4u << 20) + 1, 1, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 1u << 31, 1, 0, 0, -E2BIG },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 8, 10, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 8, 10, BPFVM_F_MMAPABLE, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 1, 0, 0, -E2BIG },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPFVM_F_RDONLY_PROG, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 100, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 100, BPFVM_F_NO_PREALLOC, 0, 0 },
		{ BPFVM_MAP_TYPE_HASH, 0, 3, 100, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH, 6, 0, 100, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 0, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 10, BPFVM_F_NO_COMMON_LRU, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 10, BPFVM_F_MMAPABLE, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH, 4u << 20, 3, 10, 0, 0, -E2BIG },
		{ BPFVM_MAP_TYPE_PERCPU_HASH, 4, 8, 10, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_HASH, 4, 40000, 10, 0, 0, -E2BIG },
		{ BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 10, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 10, BPFVM_F_NO_COMMON_LRU, 0, 0 },
		{ BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 10, BPFVM_F_NO_PREALLOC, 0, -ENOTSUPP },
		{ BPFVM_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 10, BPFVM_F_NO_COMMON_LRU, 0, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 10, BPFVM_F_NO_PREALLOC, 0, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 10, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 4, 4, 10, BPFVM_F_NO_PREALLOC, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 261, 4, 10, BPFVM_F_NO_PREALLOC, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 260, 4, 10, BPFVM_F_NO_PREALLOC, 0, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 0, 10, BPFVM_F_NO_PREALLOC, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 0, BPFVM_F_NO_PREALLOC, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_QUEUE, 0, 4, 10, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_QUEUE, 4, 4, 10, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_STACK, 0, 0, 10, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_STACK, 0, 4, 0, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_STACK, 0, 4, 4, BPFVM_F_NO_PREALLOC, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0, 1, 0 },
		{ BPFVM_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0, 0, -EINVAL },
		{ BPFVM_MAP_TYPE_ARRAY_OF_MAPS, 4, 8, 4, 0, 1, -EINVAL },
		{ BPFVM_MAP_TYPE_HASH_OF_MAPS, 8, 4, 4, 0, 1, 0 },
		{ BPFVM_MAP_TYPE_HASH_OF_MAPS, 8, 4, 4, 0, 0, -EINVAL },
		{ 99, 4, 4, 4, 0, 0, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bpfvm_map_create_opts o = { .sz = sizeof(o), .map_flags = cases[i].flags,
						   .inner_map = cases[i].inner ? arr4 : NULL };
		test_log_clear();
		errno = 0;
		struct bpfvm_map *m = bpfvm_map__create(cases[i].t, "c", cases[i].ks, cases[i].vs,
							cases[i].me, &o);
		if (cases[i].err == 0) {
			CHECK(m != NULL, "case %zu: %s", i, test_log_last());
		} else {
			CHECK(m == NULL && errno == -cases[i].err, "case %zu: errno %d, want %d", i,
			      errno, -cases[i].err);
			CHECK(test_log_last()[0] != 0, "case %zu: no log line", i);
		}
		bpfvm_map__free(m);
	}
	/* Ring buffer sizes. */
	struct { uint32_t ks, vs, me, flags; int err; } rb[] = {
		{ 0, 0, P, 0, 0 }, { 0, 0, 4 * P, 0, 0 }, { 0, 0, 3 * P, 0, -EINVAL },
		{ 0, 0, P / 2, 0, -EINVAL }, { 0, 0, 0, 0, -EINVAL }, { 4, 0, P, 0, -EINVAL },
		{ 0, 4, P, 0, -EINVAL }, { 0, 0, P, BPFVM_F_RDONLY, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(rb) / sizeof(rb[0]); i++) {
		struct bpfvm_map_create_opts o = { .sz = sizeof(o), .map_flags = rb[i].flags };
		errno = 0;
		struct bpfvm_map *m = bpfvm_map__create(BPFVM_MAP_TYPE_RINGBUF, "rb", rb[i].ks,
							rb[i].vs, rb[i].me, &o);
		CHECK(rb[i].err ? (!m && errno == -rb[i].err) : m != NULL, "ringbuf case %zu", i);
		bpfvm_map__free(m);
	}
	/* Accessors; NO_COMMON_LRU rounds max_entries up to a multiple of the slots. */
	struct bpfvm_map *m = bpfvm_map__create(BPFVM_MAP_TYPE_LRU_HASH, "lru", 4, 8, 1,
						&(struct bpfvm_map_create_opts){
							.sz = sizeof(struct bpfvm_map_create_opts),
							.map_flags = BPFVM_F_NO_COMMON_LRU });
	CHECK(m && bpfvm_map__max_entries(m) == (uint32_t)ncpu, "NO_COMMON_LRU max_entries");
	bpfvm_map__free(m);
	m = mk(BPFVM_MAP_TYPE_HASH, 6, 3, 100, BPFVM_F_RDONLY_PROG);
	CHECK_STR(bpfvm_map__name(m), "m", "name");
	CHECK(bpfvm_map__type(m) == BPFVM_MAP_TYPE_HASH && bpfvm_map__key_size(m) == 6 &&
	      bpfvm_map__value_size(m) == 3 && bpfvm_map__max_entries(m) == 100 &&
	      bpfvm_map__flags(m) == BPFVM_F_RDONLY_PROG, "accessors");
	bpfvm_map__free(m);
	bpfvm_map__free(NULL);
	bpfvm_map__free(arr4);
}

/* ---- ARRAY / PERCPU_ARRAY --------------------------------------------------------------- */

static void test_array(void)
{
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_ARRAY, 4, 12, 5, 0);
	uint8_t v[12], z[12] = { 0 }, w[12];
	uint32_t k = 0, next;

	CHECK(lkp(m, &k, v) == 0 && !memcmp(v, z, 12), "zeroed");
	memset(w, 0xab, sizeof(w));
	CHECK(upd(m, &k, w, BPFVM_ANY) == 0, "update ANY");
	CHECK(upd(m, &k, w, BPFVM_EXIST) == 0, "update EXIST");
	CHECK(upd(m, &k, w, BPFVM_NOEXIST) == -EEXIST, "NOEXIST -> EEXIST");
	CHECK(upd(m, &k, w, 3) == -EINVAL, "flags 3 -> EINVAL");
	CHECK(upd(m, &k, w, BPFVM_F_LOCK) == -EINVAL, "F_LOCK without a spin lock");
	CHECK(lkp(m, &k, v) == 0 && !memcmp(v, w, 12), "read back");
	k = 5;
	CHECK(upd(m, &k, w, BPFVM_ANY) == -E2BIG, "index out of range -> E2BIG");
	CHECK(upd(m, &k, w, BPFVM_NOEXIST) == -E2BIG, "E2BIG before EEXIST");
	CHECK(lkp(m, &k, v) == -ENOENT, "lookup out of range -> ENOENT");
	k = 1;
	CHECK(del(m, &k) == -EINVAL, "delete -> EINVAL");
	CHECK(bpfvm_map__delete_elem(m, &k, 4, 1) == -EINVAL, "delete flags");
	CHECK(bpfvm_map__lookup_and_delete_elem(m, &k, 4, v, 12, 0) == -ENOTSUPP,
	      "lookup_and_delete -> ENOTSUPP");
	CHECK(bpfvm_map__lookup_elem(m, &k, 4, v, 12, 2) == -EINVAL, "lookup flags");
	test_log_clear();
	CHECK(bpfvm_map__lookup_elem(m, &k, 8, v, 12, 0) == -EINVAL, "key size");
	CHECK_CONTAINS(test_log_last(), "key size", "logged");
	CHECK(bpfvm_map__update_elem(m, &k, 4, v, 16, 0) == -EINVAL, "value size");
	CHECK(bpfvm_map__lookup_elem(m, NULL, 4, v, 12, 0) == -EINVAL, "NULL key");

	/* get_next_key: NULL and out of range -> 0; each index once; last -> ENOENT. */
	uint32_t seen = 0, cnt = 0;
	int err = bpfvm_map__get_next_key(m, NULL, &next, 4);
	while (err == 0) {
		CHECK(next < 5 && !(seen & (1u << next)), "next %u", next);
		seen |= 1u << next;
		cnt++;
		k = next;
		err = bpfvm_map__get_next_key(m, &k, &next, 4);
	}
	CHECK(err == -ENOENT && cnt == 5 && seen == 0x1f, "array iteration: %d %u", err, cnt);
	k = 77;
	CHECK(bpfvm_map__get_next_key(m, &k, &next, 4) == 0 && next == 0, "out of range -> 0");

	/* Program side and layout. */
	struct vm_array_layout lay;
	CHECK(vm_map_array_layout(m, &lay) && lay.stride == 16 && lay.max_entries == 5,
	      "layout");
	k = 3;
	uint8_t *p = vm_map_lookup(m, &k);
	CHECK(p == lay.values + 3 * 16 && ((uintptr_t)p & 7) == 0, "lookup pointer");
	p[0] = 42;
	CHECK(lkp(m, &k, v) == 0 && v[0] == 42, "write through pointer");
	k = 9;
	CHECK(vm_map_lookup(m, &k) == NULL, "program lookup out of range");
	CHECK(vm_map_update(m, &k, w, 0) == -E2BIG, "program update E2BIG");
	struct bpfvm_region r = vm_map_value_region(m, p);
	CHECK(r.addr == p && r.len == 12 && r.writable, "value region");
	bpfvm_map__free(m);

	/* Permissions */
	m = mk(BPFVM_MAP_TYPE_ARRAY, 4, 4, 2, BPFVM_F_RDONLY);
	k = 0;
	CHECK(upd(m, &k, &k, 0) == -EPERM && lkp(m, &k, v) == 0 && del(m, &k) == -EPERM,
	      "RDONLY");
	bpfvm_map__free(m);
	m = mk(BPFVM_MAP_TYPE_ARRAY, 4, 4, 2, BPFVM_F_WRONLY | BPFVM_F_RDONLY_PROG);
	CHECK(upd(m, &k, &k, 0) == 0 && lkp(m, &k, v) == -EPERM &&
	      bpfvm_map__get_next_key(m, NULL, &next, 4) == -EPERM, "WRONLY");
	CHECK(!vm_map_value_region(m, vm_map_lookup(m, &k)).writable, "RDONLY_PROG region");
	bpfvm_map__free(m);

	/* BPF_F_LOCK with a spin lock at offset 4: the lock word is never copied. */
	m = mk(BPFVM_MAP_TYPE_ARRAY, 4, 12, 2, 0);
	CHECK(vm_map_set_spin_lock(m, 4) == 0, "set spin lock");
	CHECK(vm_map_set_spin_lock(m, 10) == -EINVAL, "spin lock out of the value");
	uint32_t in[3] = { 1, 0xffffffff, 3 }, out[3];
	CHECK(upd(m, &k, in, BPFVM_F_LOCK) == 0, "update F_LOCK");
	CHECK(bpfvm_map__lookup_elem(m, &k, 4, out, 12, BPFVM_F_LOCK) == 0 && out[0] == 1 &&
	      out[1] == 0 && out[2] == 3, "lookup F_LOCK");
	uint32_t *lockw = (uint32_t *)vm_map_lookup(m, &k) + 1;
	CHECK(*lockw == 0, "lock word untouched by copies");
	vm_spin_lock_value(lockw);
	CHECK(*lockw == 1, "locked");
	vm_spin_unlock_value(lockw);
	bpfvm_map__free(m);
}

static void test_percpu_array(void)
{
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 4, 3, 0);
	size_t n = (size_t)ncpu * 8;
	uint8_t *v = calloc(1, n), *o = calloc(1, n);
	uint32_t k = 1;
	CHECK(bpfvm_map__lookup_elem(m, &k, 4, v, 4, 0) == -EINVAL, "per-CPU needs packed size");
	for (int c = 0; c < ncpu; c++)
		*(uint32_t *)(v + c * 8) = 100 + (uint32_t)c;
	CHECK(upd(m, &k, v, 0) == 0, "update all slots");
	CHECK(upd(m, &k, v, BPFVM_F_LOCK) == -EINVAL, "F_LOCK on per-CPU");
	memset(o, 0xee, n);
	CHECK(lkp(m, &k, o) == 0, "lookup");
	for (int c = 0; c < ncpu; c++) {
		CHECK_U64(*(uint32_t *)(o + c * 8), 100 + c, "slot %d", c);
		CHECK_U64(*(uint32_t *)(o + c * 8 + 4), 0, "padding as written, slot %d", c);
		CHECK_U64(*(uint32_t *)vm_map_lookup_percpu(m, &k, (uint32_t)c), 100 + c,
			  "lookup_percpu %d", c);
	}
	CHECK(vm_map_lookup_percpu(m, &k, (uint32_t)ncpu) == NULL, "cpu out of range");
	uint32_t x = 7;
	CHECK(vm_map_update(m, &k, &x, 0) == 0, "program update");
	int me = vm_cpu_slot();
	CHECK(*(uint32_t *)vm_map_lookup(m, &k) == 7, "own slot");
	for (int c = 0; c < ncpu; c++)
		if (c != me)
			CHECK_U64(*(uint32_t *)vm_map_lookup_percpu(m, &k, (uint32_t)c), 100 + c,
				  "other slot %d untouched", c);
	/* Slots of different CPUs never share a cache line. */
	if (ncpu > 1) {
		uintptr_t a = (uintptr_t)vm_map_lookup_percpu(m, &k, 0);
		uintptr_t b = (uintptr_t)vm_map_lookup_percpu(m, &k, 1);
		CHECK(a / 64 != b / 64, "slots in different cache lines");
	}
	struct bpfvm_map *plain = mk(BPFVM_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	k = 0;
	CHECK(vm_map_lookup_percpu(plain, &k, 0) == NULL, "lookup_percpu on a plain array");
	bpfvm_map__free(plain);
	free(v);
	free(o);
	bpfvm_map__free(m);
	CHECK(bpfvm_num_cpu_slots() == ncpu && ncpu >= 1, "cpu slots");
}

/* ---- HASH family ------------------------------------------------------------------------- */

static long count_cb(struct bpfvm_map *m, const void *key, void *value, void *ctx)
{
	long *c = ctx;
	c[0]++;
	c[1] += *(const uint32_t *)key;
	return c[0] == c[2];
}

static void hash_iterate(struct bpfvm_map *m, uint32_t nkeys)
{
	uint8_t *seen = calloc(nkeys, 1);
	uint32_t key, next, cnt = 0;
	int err = bpfvm_map__get_next_key(m, NULL, &next, 4);
	while (err == 0) {
		CHECK(next < nkeys && !seen[next], "key %u once", next);
		if (next < nkeys)
			seen[next] = 1;
		cnt++;
		key = next;
		err = bpfvm_map__get_next_key(m, &key, &next, 4);
	}
	CHECK(err == -ENOENT && cnt == nkeys, "iteration visited %u of %u", cnt, nkeys);
	key = 123456;
	CHECK(nkeys == 0 ? bpfvm_map__get_next_key(m, &key, &next, 4) == -ENOENT
			 : bpfvm_map__get_next_key(m, &key, &next, 4) == 0,
	      "missing key -> first");
	free(seen);
}

static void test_hash_flags(uint32_t flags)
{
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_HASH, 4, 8, 64, flags);
	uint64_t v = 1, o;
	uint32_t k = 5;
	CHECK(lkp(m, &k, &o) == -ENOENT, "empty lookup");
	CHECK(upd(m, &k, &v, BPFVM_EXIST) == -ENOENT, "EXIST on missing -> ENOENT");
	CHECK(upd(m, &k, &v, BPFVM_NOEXIST) == 0, "NOEXIST on missing");
	CHECK(upd(m, &k, &v, BPFVM_NOEXIST) == -EEXIST, "NOEXIST on existing -> EEXIST");
	v = 2;
	CHECK(upd(m, &k, &v, BPFVM_EXIST) == 0, "EXIST on existing");
	CHECK(lkp(m, &k, &o) == 0 && o == 2, "value");
	v = 3;
	CHECK(upd(m, &k, &v, BPFVM_ANY) == 0 && lkp(m, &k, &o) == 0 && o == 3, "ANY replaces");
	CHECK(upd(m, &k, &v, 3) == -EINVAL && upd(m, &k, &v, 8) == -EINVAL, "bad flags");
	CHECK(upd(m, &k, &v, BPFVM_F_LOCK) == -EINVAL, "F_LOCK without spin lock");
	CHECK(del(m, &k) == 0 && del(m, &k) == -ENOENT && lkp(m, &k, &o) == -ENOENT, "delete");
	for (k = 0; k < 64; k++)
		CHECK(upd(m, &k, &(uint64_t){ k * 10 }, BPFVM_NOEXIST) == 0, "fill %u", k);
	CHECK(upd(m, &k, &v, BPFVM_ANY) == -E2BIG, "full -> E2BIG");
	k = 3;
	CHECK(upd(m, &k, &v, BPFVM_ANY) == 0, "replace while full");
	hash_iterate(m, 64);
	CHECK(bpfvm_map__lookup_and_delete_elem(m, &k, 4, &o, 8, 0) == 0 && o == 3,
	      "lookup_and_delete");
	CHECK(bpfvm_map__lookup_and_delete_elem(m, &k, 4, &o, 8, 0) == -ENOENT,
	      "lookup_and_delete missing");
	CHECK(bpfvm_map__lookup_and_delete_elem(m, &k, 4, &o, 8, BPFVM_F_LOCK) == -EINVAL,
	      "lookup_and_delete F_LOCK");
	k = 64;
	CHECK(upd(m, &k, &v, BPFVM_ANY) == 0, "room again after delete");
	/* Program side */
	uint64_t *p = vm_map_lookup(m, &k);
	CHECK(p && *p == 3 && ((uintptr_t)p & 7) == 0, "program lookup");
	*p = 99;
	CHECK(lkp(m, &k, &o) == 0 && o == 99, "in place");
	CHECK(vm_map_delete(m, &k) == 0 && vm_map_lookup(m, &k) == NULL, "program delete");
	long c[3] = { 0, 0, 1000 };
	CHECK(vm_map_for_each(m, count_cb, c, 0) == 63 && c[0] == 63, "for_each all");
	long c2[3] = { 0, 0, 10 };
	CHECK(vm_map_for_each(m, count_cb, c2, 0) == 10, "for_each stops");
	CHECK(vm_map_for_each(m, count_cb, c2, 1) == -EINVAL, "for_each flags");
	for (k = 0; k < 70; k++)
		del(m, &k);
	hash_iterate(m, 0);
	bpfvm_map__free(m);

	/* Odd key sizes: keys compared on all their bytes. */
	m = mk(BPFVM_MAP_TYPE_HASH, 13, 3, 200, flags);
	uint8_t key[13], val[3];
	for (int i = 0; i < 200; i++) {
		memset(key, 0, sizeof(key));
		key[12] = (uint8_t)i;
		key[0] = (uint8_t)(i >> 4);
		val[0] = (uint8_t)i;
		CHECK(upd(m, key, val, BPFVM_NOEXIST) == 0, "odd key %d", i);
	}
	for (int i = 0; i < 200; i++) {
		memset(key, 0, sizeof(key));
		key[12] = (uint8_t)i;
		key[0] = (uint8_t)(i >> 4);
		CHECK(lkp(m, key, val) == 0 && val[0] == (uint8_t)i, "odd key lookup %d", i);
	}
	bpfvm_map__free(m);
}

static void *percpu_thread(void *arg)
{
	struct bpfvm_map *m = arg;
	uint32_t k = 9, v = 55;
	vm_map_update(m, &k, &v, 0);
	return (void *)(intptr_t)vm_cpu_slot();
}

static void test_percpu_hash(enum bpfvm_map_type t)
{
	struct bpfvm_map *m = mk(t, 4, 4, 16, 0);
	size_t n = (size_t)ncpu * 8;
	uint8_t *v = calloc(1, n), *o = calloc(1, n);
	uint32_t k = 1;
	for (int c = 0; c < ncpu; c++)
		*(uint32_t *)(v + c * 8) = 10 + (uint32_t)c;
	CHECK(upd(m, &k, v, 0) == 0 && lkp(m, &k, o) == 0 && !memcmp(v, o, n), "packed");
	CHECK(upd(m, &k, v, BPFVM_F_LOCK) == -EINVAL, "F_LOCK");
	for (int c = 0; c < ncpu; c++)
		CHECK_U64(*(uint32_t *)vm_map_lookup_percpu(m, &k, (uint32_t)c), 10 + c, "slot");
	/* A program on another thread creates a key: only its slot is set. */
	pthread_t th;
	void *slot;
	pthread_create(&th, NULL, percpu_thread, m);
	pthread_join(th, &slot);
	k = 9;
	CHECK(lkp(m, &k, o) == 0, "created by program");
	for (int c = 0; c < ncpu; c++)
		CHECK_U64(*(uint32_t *)(o + c * 8), c == (int)(intptr_t)slot ? 55 : 0, "slot %d", c);
	CHECK(bpfvm_map__lookup_and_delete_elem(m, &k, 4, o, n, 0) == 0 &&
	      lkp(m, &k, o) == -ENOENT, "lookup_and_delete");
	free(v);
	free(o);
	bpfvm_map__free(m);
}

static void test_lru(enum bpfvm_map_type t, uint32_t flags)
{
	uint32_t max = 64;
	struct bpfvm_map *m = mk(t, 4, 8, max, flags);
	max = bpfvm_map__max_entries(m);
	size_t n = uvs(m);
	uint8_t *v = calloc(1, n);
	uint32_t k;
	bool percpu_lru = flags & BPFVM_F_NO_COMMON_LRU;
	/* With per-CPU LRU lists this thread fills (and evicts in) its own share. */
	uint32_t cap = percpu_lru ? max / (uint32_t)ncpu : max;
	for (k = 0; k < cap; k++)
		CHECK(upd(m, &k, v, BPFVM_NOEXIST) == 0, "fill %u", k);
	k = 0;
	CHECK(upd(m, &k, v, BPFVM_NOEXIST) == -EEXIST, "NOEXIST existing");
	for (k = 0; k < cap / 2; k++)
		CHECK(vm_map_lookup(m, &k) != NULL, "touch %u", k);
	for (k = 1000; k < 1000 + cap / 2; k++)
		CHECK(upd(m, &k, v, BPFVM_ANY) == 0, "insert evicts %u", k);
	uint32_t survivors = 0, evicted = 0;
	for (k = 0; k < cap; k++) {
		if (lkp(m, &k, v) == 0)
			survivors += k < cap / 2;
		else
			evicted += k >= cap / 2;
	}
	CHECK(survivors == cap / 2 && evicted == cap / 2,
	      "recently used survive: %u of %u touched kept, %u of %u cold evicted", survivors,
	      cap / 2, evicted, cap / 2);
	for (k = 1000; k < 1000 + cap / 2; k++)
		CHECK(lkp(m, &k, v) == 0, "new key %u present", k);
	free(v);
	bpfvm_map__free(m);
}

/* ---- QUEUE / STACK --------------------------------------------------------------------- */

static void test_queue_stack(void)
{
	for (int s = 0; s < 2; s++) {
		enum bpfvm_map_type t = s ? BPFVM_MAP_TYPE_STACK : BPFVM_MAP_TYPE_QUEUE;
		struct bpfvm_map *m = mk(t, 0, 4, 3, 0);
		uint32_t v, o;
		CHECK(bpfvm_map__lookup_elem(m, NULL, 0, &o, 4, 0) == -ENOENT, "peek empty");
		CHECK(bpfvm_map__lookup_and_delete_elem(m, NULL, 0, &o, 4, 0) == -ENOENT,
		      "pop empty");
		CHECK(vm_map_pop(m, &o) == -ENOENT && vm_map_peek(m, &o) == -ENOENT, "prog empty");
		for (v = 1; v <= 3; v++)
			CHECK(bpfvm_map__update_elem(m, NULL, 0, &v, 4, 0) == 0, "push %u", v);
		CHECK(bpfvm_map__update_elem(m, NULL, 0, &v, 4, 0) == -E2BIG, "full -> E2BIG");
		CHECK(bpfvm_map__update_elem(m, NULL, 0, &v, 4, BPFVM_NOEXIST) == -EINVAL,
		      "NOEXIST -> EINVAL");
		CHECK(bpfvm_map__update_elem(m, NULL, 0, &v, 4, 3) == -EINVAL, "flags 3");
		v = 4;
		CHECK(bpfvm_map__update_elem(m, NULL, 0, &v, 4, BPFVM_EXIST) == 0,
		      "EXIST replaces the oldest");
		CHECK(bpfvm_map__lookup_elem(m, NULL, 0, &o, 4, 0) == 0 && o == (s ? 4u : 2u),
		      "peek: %u", o);
		uint32_t want[2][3] = { { 2, 3, 4 }, { 4, 3, 2 } };
		for (int i = 0; i < 3; i++)
			CHECK(bpfvm_map__lookup_and_delete_elem(m, NULL, 0, &o, 4, 0) == 0 &&
			      o == want[s][i], "%s pop %d: %u", s ? "stack" : "queue", i, o);
		CHECK(bpfvm_map__lookup_and_delete_elem(m, NULL, 0, &o, 4, 0) == -ENOENT,
		      "drained");
		CHECK(bpfvm_map__lookup_and_delete_elem(m, NULL, 0, &o, 4, BPFVM_F_LOCK) == -EINVAL,
		      "pop flags");
		CHECK(bpfvm_map__delete_elem(m, NULL, 0, 0) == -EINVAL, "delete -> EINVAL");
		CHECK(bpfvm_map__get_next_key(m, NULL, &o, 0) == -EINVAL, "get_next_key");
		CHECK(bpfvm_map__update_elem(m, NULL, 0, &v, 8, 0) == -EINVAL, "value size");
		/* Program side */
		for (v = 10; v < 13; v++)
			CHECK(vm_map_push(m, &v, 0) == 0, "prog push");
		CHECK(vm_map_push(m, &v, 0) == -E2BIG, "prog push full");
		CHECK(vm_map_peek(m, &o) == 0 && o == (s ? 12u : 10u), "prog peek");
		CHECK(vm_map_pop(m, &o) == 0 && o == (s ? 12u : 10u), "prog pop");
		CHECK(vm_map_lookup(m, NULL) == NULL, "prog lookup NULL");
		CHECK(vm_map_update(m, NULL, &v, 0) == -EINVAL, "prog update EINVAL");
		bpfvm_map__free(m);
	}
	struct bpfvm_map *h = mk(BPFVM_MAP_TYPE_HASH, 4, 4, 4, 0);
	uint32_t x = 0;
	CHECK(vm_map_push(h, &x, 0) == -EINVAL && vm_map_pop(h, &x) == -EINVAL, "push on hash");
	bpfvm_map__free(h);
}

/* ---- RINGBUF ---------------------------------------------------------------------------- */

struct rec_log {
	int n;
	uint32_t vals[64];
	size_t sizes[64];
	int stop_after;
};

static int rec_cb(void *ctx, void *data, size_t size)
{
	struct rec_log *l = ctx;
	if (l->n < 64) {
		l->sizes[l->n] = size;
		memcpy(&l->vals[l->n], data, 4);
	}
	l->n++;
	return l->stop_after && l->n == l->stop_after ? -42 : 0;
}

static void *late_submit(void *arg)
{
	usleep(50 * 1000);
	uint32_t v = 77;
	vm_ringbuf_output(arg, &v, 4, 0);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_ringbuf(void)
{
	const uint32_t P = (uint32_t)sysconf(_SC_PAGESIZE);
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_RINGBUF, 0, 0, P, 0);
	struct rec_log log = { 0 };
	struct bpfvm_ring_buffer *rb = bpfvm_ring_buffer__new(m, rec_cb, &log);
	CHECK(rb != NULL, "ring_buffer__new");
	struct bpfvm_map *h = mk(BPFVM_MAP_TYPE_HASH, 4, 4, 4, 0);
	errno = 0;
	CHECK(bpfvm_ring_buffer__new(h, rec_cb, NULL) == NULL && errno == EINVAL, "not a ringbuf");
	CHECK(vm_ringbuf_reserve(h, 8, 0) == NULL, "reserve on a hash");
	bpfvm_map__free(h);

	CHECK(vm_ringbuf_query(m, VM_RB_RING_SIZE) == P, "RING_SIZE");
	CHECK(vm_ringbuf_query(m, VM_RB_AVAIL_DATA) == 0, "AVAIL_DATA empty");
	CHECK(vm_ringbuf_reserve(m, 8, 1) == NULL, "reserve flags");
	CHECK(vm_ringbuf_output(m, &log, 4, 4) == -EINVAL, "output flags");

	uint32_t *a = vm_ringbuf_reserve(m, 4, 0), *b = vm_ringbuf_reserve(m, 13, 0),
		 *c = vm_ringbuf_reserve(m, 4, 0);
	CHECK(a && b && c, "reserve");
	if (!a || !b || !c)
		return;
	uint32_t *ha = a - 2;
	CHECK(ha[0] == (4u | VM_RINGBUF_BUSY_BIT), "header len BUSY: 0x%x", ha[0]);
	CHECK((uint8_t *)b - (uint8_t *)a == 16 && (uint8_t *)c - (uint8_t *)b == 24,
	      "records 8-byte aligned with 8-byte headers");
	CHECK(ha[1] == 1, "pg_off of the first record (after the control page): %u", ha[1]);
	CHECK(vm_ringbuf_query(m, VM_RB_PROD_POS) == 56 && vm_ringbuf_query(m, VM_RB_CONS_POS) == 0,
	      "positions");
	struct bpfvm_region r = vm_ringbuf_record_region(b, 13);
	CHECK(r.addr == b && r.len == 13 && r.writable, "record region");
	*a = 1;
	*b = 2;
	*c = 3;
	vm_ringbuf_submit(c, 0);
	CHECK(bpfvm_ring_buffer__consume(rb) == 0 && log.n == 0, "busy first record stops");
	vm_ringbuf_submit(a, VM_RB_NO_WAKEUP);
	CHECK(ha[0] == 4, "header after submit");
	CHECK(bpfvm_ring_buffer__consume(rb) == 1 && log.n == 1 && log.vals[0] == 1 &&
	      log.sizes[0] == 4, "first delivered, stops at busy second");
	vm_ringbuf_discard(b, 0);
	CHECK(bpfvm_ring_buffer__consume(rb) == 1 && log.n == 2 && log.vals[1] == 3,
	      "discarded skipped");
	CHECK(vm_ringbuf_query(m, VM_RB_AVAIL_DATA) == 0 && vm_ringbuf_query(m, VM_RB_CONS_POS) == 56,
	      "consumed");
	CHECK(vm_ringbuf_query(m, 99) == 0, "unknown query");

	/* Callback stop */
	log = (struct rec_log){ .stop_after = 2 };
	for (uint32_t i = 0; i < 4; i++)
		CHECK(vm_ringbuf_output(m, &i, 4, 0) == 0, "output");
	CHECK(bpfvm_ring_buffer__consume(rb) == -42 && log.n == 2, "callback stops");
	log.stop_after = 0;
	CHECK(bpfvm_ring_buffer__consume(rb) == 2 && log.n == 4 && log.vals[2] == 2 &&
	      log.vals[3] == 3, "the rest next time");

	/* Full ring: reserve NULL, output EAGAIN; a record never fills the whole ring. */
	CHECK(vm_ringbuf_reserve(m, P, 0) == NULL && vm_ringbuf_reserve(m, P - 8, 0) == NULL,
	      "too big");
	void *big = vm_ringbuf_reserve(m, P - 16, 0);
	CHECK(big != NULL, "large record");
	CHECK(vm_ringbuf_reserve(m, 8, 0) == NULL && vm_ringbuf_output(m, &log, 4, 0) == -EAGAIN,
	      "full");
	vm_ringbuf_discard(big, 0);
	CHECK(bpfvm_ring_buffer__consume(rb) == 0, "discarded big");

	/* Wrap-around: records straddling the end stay contiguous. */
	log = (struct rec_log){ 0 };
	uint8_t buf[1000];
	int bad = 0, total = 0;
	for (int round = 0; round < 40; round++) {
		size_t sz = 100 + (size_t)round * 23;
		uint8_t *p = vm_ringbuf_reserve(m, sz, 0);
		if (!p) {
			bad++;
			break;
		}
		for (size_t i = 0; i < sz; i++)
			p[i] = (uint8_t)(i + round);
		memcpy(buf, p, sz < sizeof(buf) ? sz : sizeof(buf));
		vm_ringbuf_submit(p, 0);
		total += bpfvm_ring_buffer__consume(rb);
		for (size_t i = 0; i < sz; i++)
			bad += buf[i] != (uint8_t)(i + round);
	}
	CHECK(!bad && total == 40, "wrap-around (%d bad, %d records)", bad, total);

	/* poll: timeout, then a wakeup from another thread. */
	double t0 = now_ms();
	CHECK(bpfvm_ring_buffer__poll(rb, 60) == 0, "poll times out");
	CHECK(now_ms() - t0 >= 55, "poll waited %.1f ms", now_ms() - t0);
	CHECK(bpfvm_ring_buffer__poll(rb, 0) == 0, "poll 0 does not wait");
	pthread_t th;
	pthread_create(&th, NULL, late_submit, m);
	log = (struct rec_log){ 0 };
	t0 = now_ms();
	int got = bpfvm_ring_buffer__poll(rb, 5000);
	pthread_join(th, NULL);
	CHECK(got == 1 && log.vals[0] == 77 && now_ms() - t0 < 4000, "poll woken: %d", got);

	/* User-space element calls are not supported on a ring buffer. */
	uint32_t k = 0;
	CHECK(bpfvm_map__lookup_elem(m, NULL, 0, NULL, 0, 0) == -ENOTSUPP &&
	      bpfvm_map__update_elem(m, NULL, 0, NULL, 0, 0) == -ENOTSUPP &&
	      bpfvm_map__delete_elem(m, NULL, 0, 0) == -ENOTSUPP &&
	      bpfvm_map__get_next_key(m, NULL, &k, 0) == -ENOTSUPP, "ENOTSUPP");
	CHECK(vm_map_lookup(m, &k) == NULL, "program lookup NULL");

	/* The consumer holds a reference: the map outlives the caller's. */
	bpfvm_map__free(m);
	CHECK(vm_ringbuf_output(m, &k, 4, 0) == 0 && bpfvm_ring_buffer__consume(rb) == 1,
	      "consumer keeps the map alive");
	bpfvm_ring_buffer__free(rb);
	bpfvm_ring_buffer__free(NULL);
}

/* ---- LPM_TRIE --------------------------------------------------------------------------- */

struct lpm4 {
	uint32_t plen;
	uint8_t a[4];
};

static struct lpm4 k4(uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return (struct lpm4){ plen, { a, b, c, d } };
}

static int lpm_get(struct bpfvm_map *m, struct lpm4 k, uint32_t *v)
{
	return bpfvm_map__lookup_elem(m, &k, 8, v, 4, 0);
}

static int lpm_put(struct bpfvm_map *m, struct lpm4 k, uint32_t v, uint64_t f)
{
	return bpfvm_map__update_elem(m, &k, 8, &v, 4, f);
}

/* Brute-force model for random tests: prefixes of 16-byte keys. */
struct pfx {
	uint32_t plen;
	uint8_t d[16];
	uint32_t val;
	bool live, dup;
};

static bool pfx_match(const uint8_t *a, const uint8_t *b, uint32_t bits)
{
	for (uint32_t i = 0; i < bits; i++)
		if (((a[i / 8] ^ b[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static void test_lpm(void)
{
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 8, BPFVM_F_NO_PREALLOC);
	uint32_t v;
	CHECK(lpm_get(m, k4(32, 10, 1, 2, 3), &v) == -ENOENT, "empty");
	CHECK(lpm_put(m, k4(8, 10, 0, 0, 0), 1, 0) == 0, "10/8");
	CHECK(lpm_put(m, k4(16, 10, 1, 0, 0), 2, 0) == 0, "10.1/16");
	CHECK(lpm_put(m, k4(32, 10, 1, 2, 3), 3, 0) == 0, "10.1.2.3/32");
	CHECK(lpm_put(m, k4(24, 192, 168, 1, 0), 4, 0) == 0, "192.168.1/24");
	CHECK(lpm_put(m, k4(24, 192, 168, 2, 0), 5, 0) == 0, "192.168.2/24 (split)");
	CHECK(lpm_get(m, k4(32, 10, 1, 2, 3), &v) == 0 && v == 3, "exact /32: %u", v);
	CHECK(lpm_get(m, k4(32, 10, 1, 2, 4), &v) == 0 && v == 2, "/16 match: %u", v);
	CHECK(lpm_get(m, k4(32, 10, 200, 2, 4), &v) == 0 && v == 1, "/8 match: %u", v);
	CHECK(lpm_get(m, k4(32, 11, 0, 0, 0), &v) == -ENOENT, "no match");
	CHECK(lpm_get(m, k4(12, 10, 1, 2, 3), &v) == 0 && v == 1, "short key prefixlen");
	CHECK(lpm_get(m, k4(32, 192, 168, 2, 9), &v) == 0 && v == 5, "split branch");
	CHECK(lpm_get(m, k4(32, 192, 168, 3, 9), &v) == -ENOENT, "between branches");
	CHECK(lpm_put(m, k4(0, 0, 0, 0, 0), 0xff, 0) == 0, "/0");
	CHECK(lpm_get(m, k4(32, 11, 0, 0, 0), &v) == 0 && v == 0xff, "default route");
	CHECK(lpm_get(m, k4(32, 192, 168, 3, 9), &v) == 0 && v == 0xff, "default route 2");
	/* flags */
	CHECK(lpm_put(m, k4(16, 10, 1, 9, 9), 9, BPFVM_NOEXIST) == -EEXIST, "NOEXIST");
	CHECK(lpm_put(m, k4(16, 10, 1, 0, 0), 22, BPFVM_EXIST) == 0 &&
	      lpm_get(m, k4(32, 10, 1, 7, 7), &v) == 0 && v == 22, "EXIST replaces");
	CHECK(lpm_put(m, k4(20, 10, 1, 0, 0), 9, BPFVM_EXIST) == -ENOENT, "EXIST missing");
	CHECK(lpm_put(m, k4(24, 192, 168, 0, 0), 9, BPFVM_EXIST) == -ENOENT,
	      "EXIST on an intermediate node");
	CHECK(lpm_put(m, k4(33, 10, 1, 0, 0), 9, 0) == -EINVAL, "prefixlen > 32");
	CHECK(lpm_put(m, k4(8, 10, 1, 0, 0), 9, 4) == -EINVAL, "flags");
	CHECK(lpm_put(m, k4(24, 192, 168, 0, 0), 6, 0) == 0, "intermediate becomes an entry");
	CHECK(lpm_put(m, k4(25, 1, 1, 1, 0), 7, 0) == 0, "8th entry");
	CHECK(lpm_put(m, k4(26, 1, 1, 1, 0), 7, 0) == -ENOSPC, "full -> ENOSPC");
	/* iteration: each key once */
	struct lpm4 cur, nx;
	int cnt = 0, err = bpfvm_map__get_next_key(m, NULL, &nx, 8);
	while (!err) {
		cnt++;
		CHECK(lpm_get(m, nx, &v) == 0, "iterated key present");
		cur = nx;
		err = bpfvm_map__get_next_key(m, &cur, &nx, 8);
		if (cnt > 20)
			break;
	}
	CHECK(err == -ENOENT && cnt == 8, "lpm iteration %d", cnt);
	/* deletes */
	struct lpm4 dk = k4(16, 10, 1, 0, 0);
	CHECK(bpfvm_map__delete_elem(m, &dk, 8, 0) == 0, "delete /16");
	CHECK(lpm_get(m, k4(32, 10, 1, 2, 4), &v) == 0 && v == 1, "falls back to /8");
	CHECK(lpm_get(m, k4(32, 10, 1, 2, 3), &v) == 0 && v == 3, "/32 still there");
	CHECK(bpfvm_map__delete_elem(m, &dk, 8, 0) == -ENOENT, "delete again");
	dk = k4(40, 0, 0, 0, 0);
	CHECK(bpfvm_map__delete_elem(m, &dk, 8, 0) == -EINVAL, "delete prefixlen > max");
	dk = k4(0, 0, 0, 0, 0);
	CHECK(bpfvm_map__delete_elem(m, &dk, 8, 0) == 0 &&
	      lpm_get(m, k4(32, 11, 0, 0, 0), &v) == -ENOENT, "delete /0");
	uint8_t *pv = vm_map_lookup(m, &(struct lpm4){ 32, { 10, 1, 2, 3 } });
	CHECK(pv && *(uint32_t *)pv == 3, "program lookup");
	bpfvm_map__free(m);

	/* IPv6-sized keys, random prefixes against the model. */
	enum { N = 300 };
	m = mk(BPFVM_MAP_TYPE_LPM_TRIE, 20, 4, N, BPFVM_F_NO_PREALLOC);
	struct pfx *model = calloc(N, sizeof(*model));
	uint8_t key[20];
	unsigned seed = 12345;
	int mism = 0;
	for (int i = 0; i < N; i++) {
		struct pfx *p = &model[i];
		p->plen = (uint32_t)(rand_r(&seed) % 129);
		/* cluster keys in a few /16s so prefixes nest */
		for (int b = 0; b < 16; b++)
			p->d[b] = (uint8_t)(b < 2 ? 0x20 + rand_r(&seed) % 2 : rand_r(&seed) % 4);
		for (uint32_t bit = p->plen; bit < 128; bit++)
			p->d[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
		p->val = (uint32_t)i;
		bool dup = false;
		for (int j = 0; j < i; j++)
			if (model[j].live && model[j].plen == p->plen && !memcmp(model[j].d, p->d, 16))
				dup = true;
		memcpy(key, &p->plen, 4);
		memcpy(key + 4, p->d, 16);
		int e = bpfvm_map__update_elem(m, key, 20, &p->val, 4, BPFVM_NOEXIST);
		mism += dup ? e != -EEXIST : e != 0;
		p->live = !dup;
		p->dup = dup;
	}
	CHECK(!mism, "random inserts: %d mismatches", mism);
	for (int round = 0; round < 2; round++) {
		for (int q = 0; q < 2000; q++) {
			uint8_t d[16];
			for (int b = 0; b < 16; b++)
				d[b] = (uint8_t)(b < 2 ? 0x20 + rand_r(&seed) % 2 : rand_r(&seed) % 4);
			int best = -1;
			for (int j = 0; j < N; j++)
				if (model[j].live && pfx_match(model[j].d, d, model[j].plen) &&
				    (best < 0 || model[j].plen > model[best].plen))
					best = j;
			uint32_t plen = 128, got;
			memcpy(key, &plen, 4);
			memcpy(key + 4, d, 16);
			int e = bpfvm_map__lookup_elem(m, key, 20, &got, 4, 0);
			mism += best < 0 ? e != -ENOENT : (e != 0 || got != model[best].val);
		}
		CHECK(!mism, "random lookups round %d: %d mismatches", round, mism);
		/* delete half, then check again */
		for (int j = 0; j < N; j += 2) {
			if (model[j].dup)
				continue;	/* its key is another entry's */
			memcpy(key, &model[j].plen, 4);
			memcpy(key + 4, model[j].d, 16);
			int e = bpfvm_map__delete_elem(m, key, 20, 0);
			mism += model[j].live ? e != 0 : e != -ENOENT;
			model[j].live = false;
		}
		CHECK(!mism, "random deletes: %d mismatches", mism);
	}
	int live = 0;
	for (int j = 0; j < N; j++)
		live += model[j].live;
	cnt = 0;
	err = bpfvm_map__get_next_key(m, NULL, key, 20);
	while (!err && cnt <= N) {
		uint8_t cur6[20];
		cnt++;
		memcpy(cur6, key, 20);
		err = bpfvm_map__get_next_key(m, cur6, key, 20);
	}
	CHECK(err == -ENOENT && cnt == live, "ipv6 iteration %d of %d", cnt, live);
	free(model);
	bpfvm_map__free(m);
}

/* ---- Map-in-map and PROG_ARRAY ------------------------------------------------------------ */

static void test_map_in_map(void)
{
	struct bpfvm_map *tmpl = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	struct bpfvm_map_create_opts o = { .sz = sizeof(o), .inner_map = tmpl };
	struct bpfvm_map *outer = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY_OF_MAPS, "aom", 4, 4, 2, &o);
	struct bpfvm_map *hom = bpfvm_map__create(BPFVM_MAP_TYPE_HASH_OF_MAPS, "hom", 4, 4, 2, &o);
	CHECK(outer && hom, "create");
	bpfvm_map__free(tmpl);	/* the outer maps keep only its shape */
	struct bpfvm_map *in1 = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	struct bpfvm_map *bad1 = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 5, 0);
	struct bpfvm_map *bad2 = mk(BPFVM_MAP_TYPE_HASH, 4, 8, 4, 0);
	struct bpfvm_map *bad3 = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, BPFVM_F_RDONLY_PROG);
	uint32_t k = 0, id;
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, bad1, 0) == -EINVAL, "max_entries");
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, bad2, 0) == -EINVAL, "type");
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, bad3, 0) == -EINVAL, "flags");
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, NULL, 0) == -EINVAL, "NULL inner");
	CHECK(bpfvm_map__update_inner_map(in1, &k, 4, in1, 0) == -EINVAL, "not map-in-map");
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, in1, BPFVM_NOEXIST) == -EINVAL,
	      "array of maps takes only BPF_ANY");
	k = 2;
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, in1, 0) == -E2BIG, "index");
	k = 0;
	CHECK(bpfvm_map__lookup_elem(outer, &k, 4, &id, 4, 0) == -ENOENT, "empty slot");
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, in1, 0) == 0, "store");
	CHECK(bpfvm_map__update_inner_map(hom, &k, 4, in1, BPFVM_EXIST) == -ENOENT, "hom EXIST");
	CHECK(bpfvm_map__update_inner_map(hom, &k, 4, in1, BPFVM_NOEXIST) == 0, "hom store");
	CHECK(bpfvm_map__update_inner_map(hom, &k, 4, in1, BPFVM_NOEXIST) == -EEXIST, "hom EEXIST");
	CHECK(atomic_load(&in1->refcnt) == 3, "two slots hold references: %d",
	      atomic_load(&in1->refcnt));
	CHECK(bpfvm_map__lookup_elem(outer, &k, 4, &id, 4, 0) == 0 && id == in1->id, "id");
	CHECK(bpfvm_map__update_elem(outer, &k, 4, &id, 4, 0) == -EINVAL, "update_elem refused");
	CHECK(vm_map_lookup(outer, &k) == in1 && vm_map_lookup(hom, &k) == in1,
	      "program lookup returns the inner map");
	CHECK(vm_map_value_region(outer, in1).len == 0, "an inner map is not memory");
	CHECK(vm_map_update(outer, &k, &id, 0) == -EOPNOTSUPP, "program update refused");
	/* replace in the hash: the old reference is dropped */
	struct bpfvm_map *in2 = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	CHECK(bpfvm_map__update_inner_map(hom, &k, 4, in2, BPFVM_ANY) == 0 &&
	      atomic_load(&in1->refcnt) == 2 && atomic_load(&in2->refcnt) == 2, "replace");
	bpfvm_map__free(in1);	/* the outer array keeps it alive */
	uint64_t val = 5;
	struct bpfvm_map *inner = vm_map_lookup(outer, &k);
	CHECK(inner == in1 && vm_map_update(inner, &k, &val, 0) == 0, "inner usable");
	k = 1;
	CHECK(bpfvm_map__delete_elem(outer, &k, 4, 0) == -ENOENT, "delete empty");
	k = 5;
	CHECK(bpfvm_map__delete_elem(outer, &k, 4, 0) == -E2BIG, "delete out of range");
	k = 0;
	CHECK(bpfvm_map__lookup_and_delete_elem(hom, &k, 4, &id, 4, 0) == -ENOTSUPP,
	      "hash of maps lookup_and_delete");
	CHECK(bpfvm_map__delete_elem(hom, &k, 4, 0) == 0 && atomic_load(&in2->refcnt) == 1,
	      "delete drops the reference");
	CHECK(bpfvm_map__update_inner_map(hom, &k, 4, in2, 0) == 0, "store again");
	bpfvm_map__free(in2);
	bpfvm_map__free(hom);	/* frees in2 (ASan: no leak) */
	bpfvm_map__free(outer);	/* frees in1 */
	bpfvm_map__free(bad1);
	bpfvm_map__free(bad2);
	bpfvm_map__free(bad3);

	/* BPF_F_INNER_MAP: arrays of any max_entries. */
	tmpl = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, VM_F_INNER_MAP);
	o.inner_map = tmpl;
	outer = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY_OF_MAPS, "aom", 4, 4, 2, &o);
	in1 = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, 100, VM_F_INNER_MAP);
	CHECK(bpfvm_map__update_inner_map(outer, &k, 4, in1, 0) == 0, "INNER_MAP sizes");
	bpfvm_map__free(in1);
	bpfvm_map__free(outer);
	bpfvm_map__free(tmpl);

	/* An inner map cannot be a map-in-map or a PROG_ARRAY. */
	tmpl = mk(BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	o.inner_map = tmpl;
	errno = 0;
	CHECK(!bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY_OF_MAPS, "x", 4, 4, 2, &o) && errno == EINVAL,
	      "PROG_ARRAY inner");
	bpfvm_map__free(tmpl);
}

static void test_prog_array(void)
{
	struct bpf_insn insns[] = { BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN() };
	struct bpfvm_prog *p = bpfvm_prog__new(insns, 2, &(struct bpfvm_prog_opts){
		.sz = sizeof(struct bpfvm_prog_opts), .no_jit = true });
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	uint32_t k = 1, v;
	CHECK(p != NULL, "prog");
	CHECK(vm_map_prog(m, 1) == NULL, "empty");
	CHECK(bpfvm_map__update_prog(m, 1, p, BPFVM_NOEXIST) == -EINVAL, "flags");
	CHECK(bpfvm_map__update_prog(m, 4, p, 0) == -E2BIG, "index");
	CHECK(bpfvm_map__update_prog(m, 1, NULL, 0) == -EINVAL, "NULL prog");
	CHECK(bpfvm_map__update_prog(m, 1, p, 0) == 0, "store");
	CHECK(vm_map_prog(m, 1) == p && vm_map_prog(m, 0) == NULL && vm_map_prog(m, 9) == NULL,
	      "vm_map_prog");
	CHECK(vm_map_lookup(m, &k) == NULL, "program lookup NULL");
	CHECK(bpfvm_map__lookup_elem(m, &k, 4, &v, 4, 0) == -EOPNOTSUPP, "user lookup");
	CHECK(bpfvm_map__update_elem(m, &k, 4, &v, 4, 0) == -EINVAL, "update_elem");
	struct bpfvm_map *h = mk(BPFVM_MAP_TYPE_HASH, 4, 4, 4, 0);
	CHECK(bpfvm_map__update_prog(h, 1, p, 0) == -EINVAL, "not a prog array");
	CHECK(vm_map_prog(h, 1) == NULL, "vm_map_prog on a hash");
	bpfvm_map__free(h);
	CHECK(bpfvm_map__get_next_key(m, NULL, &v, 4) == 0 && v == 0, "get_next_key");
	CHECK(bpfvm_map__delete_elem(m, &k, 4, 0) == 0 && vm_map_prog(m, 1) == NULL, "delete");
	CHECK(bpfvm_map__delete_elem(m, &k, 4, 0) == -ENOENT, "delete again");
	CHECK(bpfvm_map__update_prog(m, 3, p, 0) == 0, "left in the array at free");
	bpfvm_map__free(m);
	bpfvm_prog__free(p);
}

/* ---- Concurrency ---------------------------------------------------------------------------- */

enum { THREADS = 4, OPS = 20000, KEYS_PER_THREAD = 64, COUNTERS = 8 };

struct conc {
	struct bpfvm_map *hash, *array, *lru;
	int id;
	uint8_t present[KEYS_PER_THREAD];
	uint64_t value[KEYS_PER_THREAD];
	long incs;
};

static void *conc_worker(void *arg)
{
	struct conc *c = arg;
	unsigned seed = (unsigned)c->id * 7919u + 1;
	for (int i = 0; i < OPS; i++) {
		uint32_t slot = (uint32_t)rand_r(&seed) % KEYS_PER_THREAD;
		uint32_t key = (uint32_t)c->id * 1000 + slot;
		uint64_t v = (uint64_t)rand_r(&seed), o;
		switch (rand_r(&seed) % 5) {
		case 0:
		case 1:
			if (bpfvm_map__update_elem(c->hash, &key, 4, &v, 8, BPFVM_ANY) == 0) {
				c->present[slot] = 1;
				c->value[slot] = v;
			}
			break;
		case 2:
			if (bpfvm_map__delete_elem(c->hash, &key, 4, 0) == 0)
				c->present[slot] = 0;
			break;
		case 3: {
			int e = bpfvm_map__lookup_elem(c->hash, &key, 4, &o, 8, 0);
			if (c->present[slot] ? (e != 0 || o != c->value[slot]) : e != -ENOENT)
				c->present[slot] = 2;	/* mismatch, reported at the end */
			break;
		}
		case 4: {
			/* shared counters, as a program would bump them */
			uint32_t ck = 1000000 + slot % COUNTERS;
			uint64_t *p = vm_map_lookup(c->hash, &ck);
			if (p)
				__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
			uint32_t ak = slot % COUNTERS;
			__atomic_fetch_add((uint64_t *)vm_map_lookup(c->array, &ak), 1, __ATOMIC_RELAXED);
			uint64_t one = 1;
			vm_map_update(c->lru, &key, &one, BPFVM_ANY);
			vm_map_lookup(c->lru, &ak);
			c->incs++;
			break;
		}
		}
	}
	return NULL;
}

static void test_concurrency(void)
{
	struct bpfvm_map *hash = mk(BPFVM_MAP_TYPE_HASH, 4, 8, THREADS * KEYS_PER_THREAD + COUNTERS,
				    0);
	struct bpfvm_map *array = mk(BPFVM_MAP_TYPE_ARRAY, 4, 8, COUNTERS, 0);
	struct bpfvm_map *lru = mk(BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 32, 0);
	struct conc c[THREADS];
	pthread_t th[THREADS];
	uint64_t zero = 0;
	for (uint32_t i = 0; i < COUNTERS; i++) {
		uint32_t ck = 1000000 + i;
		bpfvm_map__update_elem(hash, &ck, 4, &zero, 8, 0);
	}
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct conc){ .hash = hash, .array = array, .lru = lru, .id = i };
		pthread_create(&th[i], NULL, conc_worker, &c[i]);
	}
	long incs = 0;
	int bad = 0, missing = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		incs += c[i].incs;
	}
	uint64_t hsum = 0, asum = 0, v;
	for (uint32_t i = 0; i < COUNTERS; i++) {
		uint32_t ck = 1000000 + i;
		CHECK(bpfvm_map__lookup_elem(hash, &ck, 4, &v, 8, 0) == 0, "counter");
		hsum += v;
		CHECK(bpfvm_map__lookup_elem(array, &i, 4, &v, 8, 0) == 0, "array counter");
		asum += v;
	}
	CHECK_U64(hsum, incs, "hash counters");
	CHECK_U64(asum, incs, "array counters");
	uint32_t total = 0;
	for (int i = 0; i < THREADS; i++)
		for (uint32_t s = 0; s < KEYS_PER_THREAD; s++) {
			uint32_t key = (uint32_t)i * 1000 + s;
			int e = bpfvm_map__lookup_elem(hash, &key, 4, &v, 8, 0);
			bad += c[i].present[s] == 2;
			if (c[i].present[s] == 1) {
				missing += e != 0 || v != c[i].value[s];
				total++;
			} else if (c[i].present[s] == 0) {
				missing += e != -ENOENT;
			}
		}
	CHECK(!bad && !missing, "final contents: %d lookups disagreed, %d wrong at the end", bad,
	      missing);
	uint32_t key, next, cnt = 0;
	int err = bpfvm_map__get_next_key(hash, NULL, &next, 4);
	for (; !err; err = bpfvm_map__get_next_key(hash, &key, &next, 4)) {
		key = next;
		cnt++;
	}
	CHECK(cnt == total + COUNTERS, "iteration count %u, want %u", cnt, total + COUNTERS);
	cnt = 0;
	err = bpfvm_map__get_next_key(lru, NULL, &next, 4);
	for (; !err && cnt < 1000; err = bpfvm_map__get_next_key(lru, &key, &next, 4)) {
		key = next;
		cnt++;
	}
	CHECK(cnt > 0 && cnt <= 32, "LRU bounded: %u", cnt);
	bpfvm_map__free(hash);
	bpfvm_map__free(array);
	bpfvm_map__free(lru);
}

enum { PRODUCERS = 4, RECORDS = 20000 };

struct rb_seen {
	uint32_t next[PRODUCERS];
	long total;
	int bad;
};

static int rb_conc_cb(void *ctx, void *data, size_t size)
{
	struct rb_seen *s = ctx;
	uint32_t rec[2];
	memcpy(rec, data, 8);
	if (size != 8 + rec[1] % 24 || rec[0] >= PRODUCERS || rec[1] != s->next[rec[0]])
		s->bad++;
	else
		s->next[rec[0]]++;
	s->total++;
	return 0;
}

static void *rb_producer(void *arg)
{
	struct bpfvm_map *m = ((void **)arg)[0];
	uint32_t id = (uint32_t)(uintptr_t)((void **)arg)[1];
	bool again = false;
	for (uint32_t i = 0; i < RECORDS;) {
		uint32_t size = 8 + i % 24;
		uint32_t *p = vm_ringbuf_reserve(m, size, 0);
		if (!p) {
			sched_yield();
			continue;
		}
		p[0] = id;
		p[1] = i;
		if (i % 7 == 3 && !again) {
			vm_ringbuf_discard(p, 0);	/* discarded: sent again */
			again = true;
			continue;
		}
		again = false;
		vm_ringbuf_submit(p, i % 5 == 0 ? VM_RB_FORCE_WAKEUP : 0);
		i++;
	}
	return NULL;
}

static void test_ringbuf_concurrency(void)
{
	struct bpfvm_map *m = mk(BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4 * (uint32_t)sysconf(_SC_PAGESIZE),
				 0);
	struct rb_seen seen = { 0 };
	struct bpfvm_ring_buffer *rb = bpfvm_ring_buffer__new(m, rb_conc_cb, &seen);
	pthread_t th[PRODUCERS];
	void *args[PRODUCERS][2];
	for (uintptr_t i = 0; i < PRODUCERS; i++) {
		args[i][0] = m;
		args[i][1] = (void *)i;
		pthread_create(&th[i], NULL, rb_producer, args[i]);
	}
	double t0 = now_ms();
	while (seen.total < (long)PRODUCERS * RECORDS && now_ms() - t0 < 60000)
		bpfvm_ring_buffer__poll(rb, 100);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	bpfvm_ring_buffer__consume(rb);
	CHECK(seen.total == (long)PRODUCERS * RECORDS && !seen.bad,
	      "ringbuf: %ld records, %d out of order or malformed", seen.total, seen.bad);
	bpfvm_ring_buffer__free(rb);
	bpfvm_map__free(m);
}

/* ---- Kernel differential ---------------------------------------------------------------- */

#ifdef __linux__
static int kbpf(int cmd, union bpf_attr *a)
{
	long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
	return r < 0 ? -errno : (int)r;
}

static int k_create(enum bpfvm_map_type t, uint32_t ks, uint32_t vs, uint32_t me, uint32_t flags,
		    int inner_fd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = t;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = me;
	a.map_flags = flags;
	a.inner_map_fd = inner_fd > 0 ? (uint32_t)inner_fd : 0;
	return kbpf(BPF_MAP_CREATE, &a);
}

static int k_elem(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;	/* next_key for GET_NEXT_KEY */
	a.flags = flags;
	return kbpf(cmd, &a);
}

static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int lo = 0, hi = -1;
	if (f) {
		if (fscanf(f, "%d-%d", &lo, &hi) == 1)
			hi = lo;
		fclose(f);
	}
	return hi + 1;
}

struct dcfg {
	enum bpfvm_map_type t;
	uint32_t ks, vs, me, flags;
	uint32_t keys;		/* key domain: indexes / ids 0..keys-1 */
	bool ordered;		/* get_next_key order is defined (arrays, LPM) */
};

static void make_key(const struct dcfg *c, uint32_t id, uint8_t *key)
{
	memset(key, 0, 64);
	if (c->t == BPFVM_MAP_TYPE_LPM_TRIE) {
		static const uint32_t plens[] = { 0, 8, 16, 24, 32, 33, 12 };
		uint32_t plen = plens[id % 7];
		memcpy(key, &plen, 4);
		key[4] = 10;
		key[5] = (uint8_t)(id / 7 % 3);
		key[6] = (uint8_t)(id / 21);
	} else if (c->ks) {
		memcpy(key, &id, 4);
	}
}

static void diff_script(const struct dcfg *c, unsigned seed, int *mism)
{
	int fd = k_create(c->t, c->ks, c->vs, c->me, c->flags, -1);
	struct bpfvm_map_create_opts o = { .sz = sizeof(o), .map_flags = c->flags };
	struct bpfvm_map *m = bpfvm_map__create(c->t, "d", c->ks, c->vs, c->me, &o);
	if (fd < 0 || !m) {
		CHECK(0, "differential: create type %d: kernel %d, bpfvm %s", (int)c->t, fd,
		      test_log_last());
		if (fd >= 0)
			close(fd);
		bpfvm_map__free(m);
		return;
	}
	size_t vsz = m->percpu ? (size_t)m->elem_stride * ncpu : c->vs;
	uint8_t key[64], kv[4096], uv[4096], knext[64], unext[64];
	const void *kkey = c->ks ? key : NULL;
	static const uint64_t uflags[] = { 0, 1, 2, 3, 4, 0, 0, 2 };
	for (int i = 0; i < 400; i++) {
		uint32_t id = (uint32_t)rand_r(&seed) % c->keys;
		int op = rand_r(&seed) % 6, kr = 0, ur = 0;
		uint64_t fl = uflags[rand_r(&seed) % 8];
		make_key(c, id, key);
		for (size_t b = 0; b < vsz; b++)
			kv[b] = uv[b] = (uint8_t)rand_r(&seed);
		memset(knext, 0xcc, sizeof(knext));
		memset(unext, 0xcc, sizeof(unext));
		switch (op) {
		case 0:
		case 1:
			if (m->fd_kind != VM_FD_NONE)
				continue;	/* the kernel takes an fd here */
			kr = k_elem(BPF_MAP_UPDATE_ELEM, fd, kkey, kv, fl);
			ur = bpfvm_map__update_elem(m, kkey, c->ks, uv, vsz, fl);
			break;
		case 2:
			fl &= 4;
			kr = k_elem(BPF_MAP_LOOKUP_ELEM, fd, kkey, kv, fl);
			ur = bpfvm_map__lookup_elem(m, kkey, c->ks, uv, vsz, fl);
			if (!kr && !ur && memcmp(kv, uv, vsz)) {
				CHECK(0, "type %d op %d: lookup values differ", (int)c->t, i);
				++*mism;
			}
			break;
		case 3:
			fl &= 1;
			kr = k_elem(BPF_MAP_DELETE_ELEM, fd, kkey, NULL, fl);
			ur = bpfvm_map__delete_elem(m, kkey, c->ks, fl);
			break;
		case 4:
			fl &= 4;
			kr = k_elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, kkey, kv, fl);
			ur = bpfvm_map__lookup_and_delete_elem(m, kkey, c->ks, uv, vsz, fl);
			if (!kr && !ur && memcmp(kv, uv, vsz)) {
				CHECK(0, "type %d op %d: lookup_and_delete values differ", (int)c->t, i);
				++*mism;
			}
			break;
		case 5: {
			bool null = !c->ordered || rand_r(&seed) % 4 == 0;
			kr = k_elem(BPF_MAP_GET_NEXT_KEY, fd, null ? NULL : kkey, knext, 0);
			ur = bpfvm_map__get_next_key(m, null ? NULL : kkey, unext, c->ks);
			if (c->ordered && !kr && !ur && memcmp(knext, unext, c->ks)) {
				CHECK(0, "type %d op %d: next keys differ: kernel %02x%02x%02x%02x/%u, "
				      "bpfvm %02x%02x%02x%02x/%u (after %s)", (int)c->t, i, knext[4],
				      knext[5], knext[6], knext[7], knext[0], unext[4], unext[5],
				      unext[6], unext[7], unext[0], null ? "NULL" : "a key");
				++*mism;
			}
			break;
		}
		}
		if (kr != ur) {
			CHECK(0, "type %d flags 0x%x op #%d (kind %d, key id %u, flags %llu): kernel %d, "
			      "bpfvm %d", (int)c->t, c->flags, i, op, id, (unsigned long long)fl, kr,
			      ur);
			++*mism;
		}
		if (*mism > 5)
			break;
	}
	close(fd);
	bpfvm_map__free(m);
}

static void test_kernel_differential(void)
{
	int probe = k_create(BPFVM_MAP_TYPE_ARRAY, 4, 4, 1, 0, -1);
	if (probe < 0) {
		printf("kernel differential skipped: bpf(BPF_MAP_CREATE) failed: %s\n",
		       strerror(-probe));
		return;
	}
	close(probe);
	const uint32_t P = (uint32_t)sysconf(_SC_PAGESIZE);
	/* Creation: the same parameters give the same errno. */
	int inner_fd = k_create(BPFVM_MAP_TYPE_ARRAY, 4, 4, 4, 0, -1);
	struct bpfvm_map *inner = mk(BPFVM_MAP_TYPE_ARRAY, 4, 4, 4, 0);
	static const struct { enum bpfvm_map_type t; uint32_t ks, vs, me, flags; bool inner; } cc[] = {
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 10, 0, 0 }, { BPFVM_MAP_TYPE_ARRAY, 8, 8, 10, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 0, 10, 0, 0 }, { BPFVM_MAP_TYPE_ARRAY, 4, 8, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_MMAPABLE, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_RDONLY | BPFVM_F_WRONLY, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, (4u << 20) + 1, 1, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 1u << 31, 1, 0, 0 },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 1, 1u << 11, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, 1u << 12, 0 },
		{ BPFVM_MAP_TYPE_QUEUE, 0, (4u << 20) + 1, 1, 0, 0 },
		{ BPFVM_MAP_TYPE_HASH, 4, 8, 1, 1u << 6, 0 },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 1, 1u << 11, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, (4u << 20) - 300, 1, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 4u << 20, 1, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_HASH, 4, 32769, 1, 0, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 32768, 1, 0, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 8, 10, BPFVM_F_MMAPABLE, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 1, 0, 0 },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0, 0 },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPFVM_F_RDONLY_PROG, 0 },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 100, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_HASH, 0, 3, 100, 0, 0 }, { BPFVM_MAP_TYPE_HASH, 6, 0, 100, 0, 0 },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 0, 0, 0 },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 10, BPFVM_F_NO_COMMON_LRU, 0 },
		{ BPFVM_MAP_TYPE_HASH, 6, 3, 10, BPFVM_F_MMAPABLE, 0 },
		{ BPFVM_MAP_TYPE_HASH, 4u << 20, 3, 10, 0, 0 },
		{ BPFVM_MAP_TYPE_PERCPU_HASH, 4, 40000, 10, 0, 0 },
		{ BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 10, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_LRU_HASH, 4, 8, 10, BPFVM_F_NO_COMMON_LRU, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 10, 0, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 4, 4, 10, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 261, 4, 10, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 0, 10, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_QUEUE, 4, 4, 10, 0, 0 }, { BPFVM_MAP_TYPE_STACK, 0, 0, 10, 0, 0 },
		{ BPFVM_MAP_TYPE_STACK, 0, 4, 4, BPFVM_F_NO_PREALLOC, 0 },
		{ BPFVM_MAP_TYPE_RINGBUF, 0, 0, 3 * 4096, 0, 0 },
		{ BPFVM_MAP_TYPE_RINGBUF, 4, 0, 4096, 0, 0 },
		{ BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, BPFVM_F_RDONLY, 0 },
		{ BPFVM_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0, 1 },
		{ BPFVM_MAP_TYPE_ARRAY_OF_MAPS, 4, 8, 4, 0, 1 },
		{ BPFVM_MAP_TYPE_HASH_OF_MAPS, 8, 4, 4, 0, 1 },
		{ BPFVM_MAP_TYPE_HASH_OF_MAPS, 8, 4, 4, BPFVM_F_NO_COMMON_LRU, 1 },
	};
	for (size_t i = 0; i < sizeof(cc) / sizeof(cc[0]); i++) {
		struct bpfvm_map_create_opts o = { .sz = sizeof(o), .map_flags = cc[i].flags,
						   .inner_map = cc[i].inner ? inner : NULL };
		int kfd = k_create(cc[i].t, cc[i].ks, cc[i].vs, cc[i].me, cc[i].flags,
				   cc[i].inner ? inner_fd : -1);
		errno = 0;
		struct bpfvm_map *m = bpfvm_map__create(cc[i].t, "c", cc[i].ks, cc[i].vs, cc[i].me, &o);
		int kerr = kfd < 0 ? kfd : 0, uerr = m ? 0 : -errno;
		CHECK(kerr == uerr, "create case %zu (type %d): kernel %d, bpfvm %d", i, (int)cc[i].t,
		      kerr, uerr);
		if (kfd >= 0)
			close(kfd);
		bpfvm_map__free(m);
	}
	close(inner_fd);
	bpfvm_map__free(inner);
	(void)P;

	/* Operation scripts. */
	struct dcfg cfgs[] = {
		{ BPFVM_MAP_TYPE_ARRAY, 4, 8, 4, 0, 6, true },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 3, 4, BPFVM_F_RDONLY, 6, true },
		{ BPFVM_MAP_TYPE_ARRAY, 4, 3, 4, BPFVM_F_WRONLY, 6, true },
		{ BPFVM_MAP_TYPE_HASH, 4, 8, 4, 0, 7, false },
		{ BPFVM_MAP_TYPE_HASH, 4, 5, 4, BPFVM_F_NO_PREALLOC, 7, false },
		{ BPFVM_MAP_TYPE_LPM_TRIE, 8, 4, 6, BPFVM_F_NO_PREALLOC, 63, true },
		{ BPFVM_MAP_TYPE_QUEUE, 0, 4, 3, 0, 1, false },
		{ BPFVM_MAP_TYPE_STACK, 0, 4, 3, 0, 1, false },
		{ BPFVM_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 6, true },
		{ BPFVM_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 1, false },
		{ BPFVM_MAP_TYPE_PERCPU_ARRAY, 4, 4, 4, 0, 6, true },
		{ BPFVM_MAP_TYPE_PERCPU_HASH, 4, 12, 4, 0, 7, false },
	};
	size_t ncfg = sizeof(cfgs) / sizeof(cfgs[0]);
	if (possible_cpus() != ncpu) {
		printf("kernel differential: %d possible CPUs, %d slots: per-CPU maps skipped\n",
		       possible_cpus(), ncpu);
		ncfg -= 2;
	}
	for (size_t i = 0; i < ncfg; i++) {
		int mism = 0;
		for (unsigned seed = 1; seed <= 5 && !mism; seed++)
			diff_script(&cfgs[i], seed * 7919u + (unsigned)i, &mism);
		CHECK(!mism, "differential script for type %d: %d mismatches", (int)cfgs[i].t, mism);
	}
}
#else
static void test_kernel_differential(void)
{
}
#endif

int main(void)
{
	test_log_capture();
	ncpu = bpfvm_num_cpu_slots();
	test_create();
	test_array();
	test_percpu_array();
	test_hash_flags(0);
	test_hash_flags(BPFVM_F_NO_PREALLOC);
	test_percpu_hash(BPFVM_MAP_TYPE_PERCPU_HASH);
	test_percpu_hash(BPFVM_MAP_TYPE_LRU_PERCPU_HASH);
	test_lru(BPFVM_MAP_TYPE_LRU_HASH, 0);
	test_lru(BPFVM_MAP_TYPE_LRU_HASH, BPFVM_F_NO_COMMON_LRU);
	test_lru(BPFVM_MAP_TYPE_LRU_PERCPU_HASH, 0);
	test_queue_stack();
	test_ringbuf();
	test_lpm();
	test_map_in_map();
	test_prog_array();
	test_concurrency();
	test_ringbuf_concurrency();
	test_kernel_differential();
	return test_summary();
}
