/*
 * progtype.h — program types: what r1 is when a program runs, what memory that
 * gives the program, which helpers its programs see, and how a test run builds a
 * context from data_in / ctx_in (BPF_PROG_TEST_RUN semantics).
 *
 * One table of types (progtype.c): the built-in ones (raw.c, xdp.c, skb.c,
 * trace.c) and the embedders' (bpfvm_prog_type__register). Everything else asks
 * here: the validator (entry registers, LD_ABS), prog.c (regions for a run),
 * the object layer (SEC() → type), the CLI (names).
 *
 * Packet memory lives below 4 GiB (lowmem.c) so the 32-bit data / data_end fields
 * of struct xdp_md and struct __sk_buff hold real addresses: programs read them
 * exactly as they do in the kernel and no instruction needs rewriting.
 */
#ifndef BPFVM_PROGTYPES_PROGTYPE_H
#define BPFVM_PROGTYPES_PROGTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

struct vm_run;

/* At most this many regions come from a context. */
#define VM_CTX_REGIONS 4

struct vm_prog_type {
	uint32_t type;			/* enum bpfvm_prog_type or an embedder's */
	const char *name;		/* "xdp" */
	/* SEC() prefixes that imply the type: "xdp" matches "xdp" and "xdp/..." and
	 * "xdp.frags..." (NULL-terminated). */
	const char *const *sec_prefixes;
	uint32_t ctx_size;		/* bytes at r1 (RAW: 0, the caller's mem_len) */
	bool ctx_writable;
	bool raw;			/* r1 = mem, r2 = mem_len: both set at entry */
	bool ld_abs;			/* LD_ABS / LD_IND allowed (packet in run->pkt) */
	/* Type-specific helpers (before the process-wide ones). */
	const struct bpfvm_helper *helpers;
	size_t helper_cnt;
	/* Regions the context points to (the packet), besides the context. */
	size_t (*ctx_regions)(const void *ctx, struct bpfvm_region *regions, size_t max);
	/* The packet LD_ABS / LD_IND read, from the context: *pkt, *len. NULL
	 * when ld_abs is false. */
	void (*ctx_packet)(const void *ctx, const uint8_t **pkt, uint64_t *len);
	/* BPF_PROG_TEST_RUN for this type: builds the context, runs (through
	 * vm_test_run_ctx) and fills the outputs. NULL: the generic one (ctx_in is
	 * the context, ctx_size bytes; no data). */
	int (*test_run)(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts);
};

/* The type with number type, or NULL. */
const struct vm_prog_type *vm_prog_type(uint32_t type);
/* The type a section name implies, or NULL. */
const struct vm_prog_type *vm_prog_type_of_section(const char *sec_name);

/* Runs prog with r1 = ctx (context memory ctx_len bytes; for RAW r2 = ctx_len)
 * with opts' repeat/engine/budget, filling retval/duration/fault/engine_used.
 * The building block of every test_run. */
int vm_test_run_ctx(struct bpfvm_prog *prog, void *ctx, size_t ctx_len,
		    struct bpfvm_test_run_opts *opts);

/* Copies src[0..n) to the caller's out buffer as BPF_PROG_TEST_RUN does: what
 * fits in *out_size bytes; *out_size = n; -ENOSPC if it did not fit. out NULL:
 * nothing copied, *out_size = n, 0. */
int vm_test_copy_out(void *out, uint32_t *out_size, const void *src, size_t n);

/* Built-in types, one per file. */
extern const struct vm_prog_type vm_prog_type_raw;		/* raw.c */
extern const struct vm_prog_type vm_prog_type_xdp;		/* xdp.c */
extern const struct vm_prog_type vm_prog_type_socket_filter;	/* skb.c */
extern const struct vm_prog_type vm_prog_type_sched_cls;	/* skb.c */
extern const struct vm_prog_type vm_prog_type_kprobe;		/* trace.c */
extern const struct vm_prog_type vm_prog_type_tracepoint;	/* trace.c */

/* Memory below 4 GiB for packets (lowmem.c): len bytes, page-aligned, zeroed; NULL
 * when none can be had. Freed with vm_lowmem_free(p, len). */
void *vm_lowmem_alloc(size_t len);
void vm_lowmem_free(void *p, size_t len);

/* ---- Packet and trace types (xdp.c, skb.c, trace.c) ---------------------------------
 * Contract extension: a type with ctx_size 0 that is not raw has a context of
 * VARIABLE size (tracepoint records): its length is the caller's — run_opts.mem_len
 * (required) or the test run's ctx_size_in — and r1 alone is set at entry.
 */
#include <errno.h>
#include <string.h>

#define VM_ETH_HLEN 14			/* Ethernet header: the smallest test-run packet */
#define VM_LOOPBACK_IFINDEX 1		/* the device kernel test runs use */
#define VM_PKT_PAGE 4096		/* a test-run packet buffer: one page, as the kernel's */
#define VM_SHINFO_ROOM 320		/* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), 64-bit */

/* Reads opts->ctx_in into ctx (size bytes, zeroed first) as the kernel's
 * bpf_ctx_init does: a shorter ctx_in fills the start, a longer one must be zero
 * past size. 0, or -E2BIG (not logged). */
static inline int vm_test_ctx_in(const struct bpfvm_test_run_opts *opts, void *ctx, size_t size)
{
	const uint8_t *in = (const uint8_t *)opts->ctx_in;
	memset(ctx, 0, size);
	if (!in)
		return 0;
	for (size_t i = size; i < opts->ctx_size_in; i++)
		if (in[i])
			return -E2BIG;
	memcpy(ctx, in, opts->ctx_size_in < size ? opts->ctx_size_in : size);
	return 0;
}

#endif
