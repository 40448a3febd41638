/*
 * maps/ringbuf.c — RINGBUF (kernel/bpf/ringbuf.c semantics) and its consumer,
 * struct bpfvm_ring_buffer (libbpf's ring_buffer__* semantics).
 *
 * Memory: one virtual region = a control page, then the data area (max_entries
 * bytes, a power of two) mapped TWICE back to back from one memfd, so a record that
 * wraps past the end is still contiguous in memory — the kernel's trick, which lets
 * reserve hand out one pointer for any record.
 *
 * Records: an 8-byte header { u32 len; u32 pg_off } then the data, the whole rounded
 * up to 8. len is the data size with BUSY (bit 31: reserved, not yet submitted) and
 * DISCARD (bit 30) flags; pg_off is the header's distance in pages from the start of
 * the region, so submit/discard find the ring from the record alone.
 *
 * Producers (any thread) reserve under a spinlock: check room against the consumer
 * position, write the header BUSY, advance producer_pos. Submit/discard need no lock:
 * they flip the header's bits atomically. The consumer walks from consumer_pos to
 * producer_pos, delivering submitted records in reservation order, skipping
 * discarded ones, stopping at a busy one, and publishes consumer_pos after each
 * record (which frees its space for producers).
 *
 * Wakeups: a submit wakes a waiting poll when the record is the one the consumer is
 * at (consumer caught up), or always with BPF_RB_FORCE_WAKEUP, never with
 * BPF_RB_NO_WAKEUP — as the kernel. The position/header accesses that decide this
 * are sequentially consistent, so a consumer that is about to sleep is never missed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maps/map.h"

#define RINGBUF_MAX_RECORD_SZ (UINT32_MAX / 4)

struct rb_hdr {
	uint32_t len;
	uint32_t pg_off;
};

struct rb {
	struct bpfvm_map *map;
	uint8_t *base;			/* the region (this struct lives at its start) */
	uint8_t *data;			/* base + page */
	size_t region_len;
	uint64_t mask;
	size_t page;
	vm_lock_t lock;			/* producers */
	pthread_mutex_t consumer_mu;	/* one consumer at a time */
	pthread_mutex_t wait_mu;
	pthread_cond_t wait_cv;
	uint64_t wake_seq;		/* under wait_mu */
	_Alignas(64) _Atomic uint64_t consumer_pos;
	_Alignas(64) _Atomic uint64_t producer_pos;
};

static struct rb *rb_of(const struct bpfvm_map *m)
{
	return m->priv;
}

static int rb_alloc(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t size = m->max_entries;
	int err = vm_check_map_flags(m, VM_F_NUMA_NODE);
	if (err)
		return err;
	if (m->key_size || m->value_size || !size || (size & (size - 1)) || size % page)
		return vm_err(-EINVAL, "map '%s': RINGBUF needs key_size 0, value_size 0 and "
			      "max_entries a power-of-two multiple of the page size %zu (got "
			      "%u, %u, %u)", m->name, page, m->key_size, m->value_size, size);

	size_t region_len = page + 2 * (size_t)size;
	uint8_t *base = mmap(NULL, region_len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return vm_err(-ENOMEM, "map '%s': cannot map %zu bytes", m->name, region_len);
	int fd = memfd_create("bpfvm-ringbuf", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, size) ||
	    mmap(base + page, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    MAP_FAILED ||
	    mmap(base + page + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 0) == MAP_FAILED) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		munmap(base, region_len);
		return vm_err(err ? err : -ENOMEM, "map '%s': cannot map the ring's data twice",
			      m->name);
	}
	close(fd);

	struct rb *r = (struct rb *)base;
	r->map = m;
	r->base = base;
	r->data = base + page;
	r->region_len = region_len;
	r->mask = size - 1;
	r->page = page;
	pthread_mutex_init(&r->consumer_mu, NULL);
	pthread_mutex_init(&r->wait_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wait_cv, &ca);
	pthread_condattr_destroy(&ca);
	m->priv = r;
	return 0;
}

static void rb_free(struct bpfvm_map *m)
{
	struct rb *r = rb_of(m);
	pthread_mutex_destroy(&r->consumer_mu);
	pthread_mutex_destroy(&r->wait_mu);
	pthread_cond_destroy(&r->wait_cv);
	munmap(r->base, r->region_len);
}

const struct vm_map_ops vm_ringbuf_ops = {
	.alloc = rb_alloc,
	.free = rb_free,
};

/* ---- Producer side -------------------------------------------------------------------- */

static uint64_t rec_len(uint32_t len)
{
	return vm_round_up((len & ~(VM_RINGBUF_BUSY_BIT | VM_RINGBUF_DISCARD_BIT)) +
			   (uint64_t)VM_RINGBUF_HDR_SZ, 8);
}

void *vm_ringbuf_reserve(struct bpfvm_map *m, uint64_t size, uint64_t flags)
{
	if (flags || m->type != BPFVM_MAP_TYPE_RINGBUF || size > RINGBUF_MAX_RECORD_SZ)
		return NULL;
	struct rb *r = rb_of(m);
	uint64_t len = rec_len((uint32_t)size);
	if (len > r->mask + 1)
		return NULL;
	vm_lock(&r->lock);
	uint64_t cons = atomic_load(&r->consumer_pos);
	uint64_t prod = atomic_load_explicit(&r->producer_pos, memory_order_relaxed);
	if (prod + len - cons > r->mask) {
		vm_unlock(&r->lock);
		return NULL;
	}
	struct rb_hdr *h = (struct rb_hdr *)(r->data + (prod & r->mask));
	h->pg_off = (uint32_t)(((uint8_t *)h - r->base) / r->page);
	__atomic_store_n(&h->len, (uint32_t)size | VM_RINGBUF_BUSY_BIT, __ATOMIC_RELAXED);
	atomic_store_explicit(&r->producer_pos, prod + len, memory_order_release);
	vm_unlock(&r->lock);
	return h + 1;
}

static void wake(struct rb *r)
{
	pthread_mutex_lock(&r->wait_mu);
	r->wake_seq++;
	pthread_cond_broadcast(&r->wait_cv);
	pthread_mutex_unlock(&r->wait_mu);
}

static void commit(void *data, uint64_t flags, bool discard)
{
	struct rb_hdr *h = (struct rb_hdr *)data - 1;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct rb *r = (struct rb *)(((uintptr_t)h & ~(uintptr_t)(page - 1)) -
				     (uintptr_t)h->pg_off * page);
	uint32_t len = __atomic_load_n(&h->len, __ATOMIC_RELAXED) & ~VM_RINGBUF_BUSY_BIT;
	if (discard)
		len |= VM_RINGBUF_DISCARD_BIT;
	__atomic_exchange_n(&h->len, len, __ATOMIC_SEQ_CST);
	uint64_t rec_pos = (uint64_t)((uint8_t *)h - r->data);
	uint64_t cons = atomic_load(&r->consumer_pos) & r->mask;
	if ((flags & VM_RB_FORCE_WAKEUP) || (cons == rec_pos && !(flags & VM_RB_NO_WAKEUP)))
		wake(r);
}

void vm_ringbuf_submit(void *data, uint64_t flags)
{
	commit(data, flags, false);
}

void vm_ringbuf_discard(void *data, uint64_t flags)
{
	commit(data, flags, true);
}

long vm_ringbuf_output(struct bpfvm_map *m, const void *data, uint64_t size, uint64_t flags)
{
	if (flags & ~(uint64_t)(VM_RB_NO_WAKEUP | VM_RB_FORCE_WAKEUP))
		return -EINVAL;
	void *rec = vm_ringbuf_reserve(m, size, 0);
	if (!rec)
		return -EAGAIN;
	memcpy(rec, data, size);
	commit(rec, flags, false);
	return 0;
}

uint64_t vm_ringbuf_query(struct bpfvm_map *m, uint64_t flags)
{
	if (m->type != BPFVM_MAP_TYPE_RINGBUF)
		return 0;
	struct rb *r = rb_of(m);
	switch (flags) {
	case VM_RB_AVAIL_DATA:
		return atomic_load(&r->producer_pos) - atomic_load(&r->consumer_pos);
	case VM_RB_RING_SIZE:
		return r->mask + 1;
	case VM_RB_CONS_POS:
		return atomic_load(&r->consumer_pos);
	case VM_RB_PROD_POS:
		return atomic_load(&r->producer_pos);
	}
	return 0;
}

/* ---- Consumer ---------------------------------------------------------------------------- */

struct bpfvm_ring_buffer {
	struct bpfvm_map *map;
	bpfvm_ring_buffer_sample_fn fn;
	void *ctx;
};

struct bpfvm_ring_buffer *bpfvm_ring_buffer__new(struct bpfvm_map *ringbuf,
						 bpfvm_ring_buffer_sample_fn fn, void *ctx)
{
	if (!ringbuf || ringbuf->type != BPFVM_MAP_TYPE_RINGBUF || !fn) {
		errno = -vm_err(-EINVAL, "ring_buffer__new: %s", !fn ? "no callback" :
				"map is not a RINGBUF");
		return NULL;
	}
	struct bpfvm_ring_buffer *rb = calloc(1, sizeof(*rb));
	if (!rb) {
		errno = -vm_err(-ENOMEM, "ring_buffer__new: out of memory");
		return NULL;
	}
	rb->map = vm_map_get(ringbuf);
	rb->fn = fn;
	rb->ctx = ctx;
	return rb;
}

void bpfvm_ring_buffer__free(struct bpfvm_ring_buffer *rb)
{
	if (!rb)
		return;
	vm_map_put(rb->map);
	free(rb);
}

int bpfvm_ring_buffer__consume(struct bpfvm_ring_buffer *rb)
{
	if (!rb)
		return vm_err(-EINVAL, "ring_buffer__consume: NULL");
	struct rb *r = rb_of(rb->map);
	int64_t cnt = 0;
	int ret = 0;
	pthread_mutex_lock(&r->consumer_mu);
	uint64_t cons = atomic_load(&r->consumer_pos);
	for (bool got = true; got && !ret;) {
		got = false;
		uint64_t prod = atomic_load(&r->producer_pos);
		while (cons < prod) {
			struct rb_hdr *h = (struct rb_hdr *)(r->data + (cons & r->mask));
			uint32_t len = __atomic_load_n(&h->len, __ATOMIC_SEQ_CST);
			if ((len & VM_RINGBUF_BUSY_BIT) || rec_len(len) > prod - cons)
				break;
			got = true;
			cons += rec_len(len);
			if (!(len & VM_RINGBUF_DISCARD_BIT)) {
				ret = rb->fn(rb->ctx, h + 1, len & ~VM_RINGBUF_DISCARD_BIT);
				cnt++;
			}
			atomic_store(&r->consumer_pos, cons);
			if (ret)
				break;
		}
	}
	pthread_mutex_unlock(&r->consumer_mu);
	if (ret)
		return ret;
	return cnt > INT32_MAX ? INT32_MAX : (int)cnt;
}

int bpfvm_ring_buffer__poll(struct bpfvm_ring_buffer *rb, int timeout_ms)
{
	if (!rb)
		return vm_err(-EINVAL, "ring_buffer__poll: NULL");
	struct rb *r = rb_of(rb->map);
	pthread_mutex_lock(&r->wait_mu);
	uint64_t seq = r->wake_seq;
	pthread_mutex_unlock(&r->wait_mu);
	int n = bpfvm_ring_buffer__consume(rb);
	if (n != 0 || timeout_ms == 0)
		return n;

	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&r->wait_mu);
	while (r->wake_seq == seq) {
		if (timeout_ms < 0)
			pthread_cond_wait(&r->wait_cv, &r->wait_mu);
		else if (pthread_cond_timedwait(&r->wait_cv, &r->wait_mu, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&r->wait_mu);
	return bpfvm_ring_buffer__consume(rb);
}
