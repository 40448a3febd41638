/*
 * lowmem.c — memory below 4 GiB for packets.
 *
 * Programs read the 32-bit `data` / `data_end` fields of struct xdp_md and struct
 * __sk_buff and use them as pointers, so a packet must sit at an address that
 * fits in 32 bits. On x86-64 mmap's MAP_32BIT gives such memory (the low 2 GiB);
 * elsewhere, or when that space is used up, we ask for addresses below 4 GiB
 * with MAP_FIXED_NOREPLACE (a hint the kernel must honour or refuse) and check
 * what we got, since kernels older than 4.17 treat the flag as a mere hint.
 *
 * Test runs allocate a frame each time, so every thread keeps the last block it
 * freed (one page-rounded block; its length is written into its first word) and
 * hands it out again, zeroed, to the next allocation of the same size. A
 * thread-exit destructor unmaps it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "progtypes/progtype.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define LOW_LIMIT (UINT64_C(1) << 32)
/* Where the hint search starts and how far it steps: clear of the usual
 * executable and heap addresses of non-PIE binaries. */
#define HINT_START (UINT64_C(1) << 28)
#define HINT_STEP (UINT64_C(1) << 24)

static size_t page_round(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (len + page - 1) / page * page;
}

static bool below_4g(const void *p, size_t len)
{
	return (uint64_t)(uintptr_t)p < LOW_LIMIT && len <= LOW_LIMIT - (uint64_t)(uintptr_t)p;
}

/* A fresh mapping of len bytes (page-rounded) below 4 GiB, or NULL. */
static void *map_low(size_t len)
{
	const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;
#if defined(__x86_64__) && defined(MAP_32BIT)
	p = mmap(NULL, len, prot, flags | MAP_32BIT, -1, 0);
	if (p != MAP_FAILED) {
		if (below_4g(p, len))
			return p;
		munmap(p, len);
	}
#endif
	/* Walk the slots of HINT_STEP bytes from HINT_START up, round-robin from
	 * the one after the last success. */
	const uint64_t slots = (LOW_LIMIT - HINT_START) / HINT_STEP;
	static _Atomic uint64_t next_slot;
	uint64_t first = atomic_load(&next_slot);
	for (uint64_t k = 0; k < slots; k++) {
		uint64_t slot = (first + k) % slots, hint = HINT_START + slot * HINT_STEP;
		if (len > LOW_LIMIT - hint)
			continue;
		p = mmap((void *)(uintptr_t)hint, len, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		if (below_4g(p, len)) {
			atomic_store(&next_slot, slot + 1);
			return p;
		}
		munmap(p, len);
	}
	return NULL;
}

/* The per-thread cache: one free block, its length in its first word. */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static bool key_ok;

static void cache_drop(void *block)
{
	if (block)
		munmap(block, *(size_t *)block);
}

static void key_init(void)
{
	key_ok = pthread_key_create(&cache_key, cache_drop) == 0;
}

void *vm_lowmem_alloc(size_t len)
{
	if (!len || len > LOW_LIMIT / 2)
		return NULL;
	len = page_round(len);
	pthread_once(&key_once, key_init);
	void *cached = key_ok ? pthread_getspecific(cache_key) : NULL;
	if (cached && *(size_t *)cached == len) {
		pthread_setspecific(cache_key, NULL);
		memset(cached, 0, len);
		return cached;
	}
	return map_low(len);
}

void vm_lowmem_free(void *p, size_t len)
{
	if (!p)
		return;
	len = page_round(len);
	void *cached = key_ok ? pthread_getspecific(cache_key) : NULL;
	if (key_ok && !cached) {
		*(size_t *)p = len;
		if (pthread_setspecific(cache_key, p) == 0)
			return;
	}
	munmap(p, len);
}
