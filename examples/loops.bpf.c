/*
 * loops.bpf.c — three ways to loop in eBPF, one XDP program each; results go to
 * the global `results` (.bss) and every frame passes (XDP_PASS).
 *
 *  xdp_sum_bytes  a bounded loop the verifier walks (kernel >= 5.3): a weighted
 *                 sum of the frame's first MAX_BYTES bytes, sum of (i + 1) * byte[i]
 *                 (results.byte_sum, results.bytes_seen), kept a real loop with
 *                 `#pragma clang loop unroll(disable)`; and a loop clang unrolls
 *                 completely (`#pragma unroll`): the XOR of the 12 address bytes
 *                 of the Ethernet header (results.mac_xor).
 *  xdp_bpf_loop   bpf_loop (kernel >= 5.17) with a callback: the sum of i * i for
 *                 i = 0, 1, ... below the frame length (at most 4096), stopping
 *                 early once it passes SQUARES_LIMIT (results.squares;
 *                 results.loop_iters is what bpf_loop returned: the callback's
 *                 calls, the one that stopped it included).
 *  xdp_for_each   bpf_for_each_map_elem (kernel >= 5.13) over the ARRAY `weights`
 *                 user space fills: sums the values, stopping after the first one
 *                 above WEIGHT_STOP (results.each_sum, results.each_visited =
 *                 what the helper returned: the elements visited).
 *
 *	bpfvm prog run loops.bpf.o xdp_bpf_loop --data-in pkt.bin
 *	bpfvm map dump loops.bpf.o .bss
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_BYTES	64
#define SQUARES_LIMIT	100000
#define WEIGHT_STOP	1000

struct loop_results {
	__u64 byte_sum;
	__u32 bytes_seen;
	__u32 mac_xor;
	__u64 squares;
	__u32 loop_iters;
	__u32 each_visited;
	__u64 each_sum;
};

struct loop_results results;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} weights SEC(".maps");

SEC("xdp")
int xdp_sum_bytes(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	__u64 sum = 0;
	__u32 i, x = 0;

#pragma clang loop unroll(disable)
	for (i = 0; i < MAX_BYTES; i++) {
		if ((void *)(p + i + 1) > data_end)
			break;
		sum += (__u64)(i + 1) * p[i];
	}
	results.byte_sum = sum;
	results.bytes_seen = i;

	if (data + 12 <= data_end) {
#pragma unroll
		for (int j = 0; j < 12; j++)
			x ^= p[j];
	}
	results.mac_xor = x;
	return XDP_PASS;
}

struct squares_ctx {
	__u64 sum;
};

static int add_square(__u32 index, void *data)
{
	struct squares_ctx *c = data;

	c->sum += (__u64)index * index;
	return c->sum > SQUARES_LIMIT;		/* 1: stop */
}

SEC("xdp")
int xdp_bpf_loop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct squares_ctx c = { 0 };
	__u64 n = data_end - data;	/* 64-bit: the verifier refuses 32-bit
					 * arithmetic on packet pointers */
	long iters;

	iters = bpf_loop(n > 4096 ? 4096 : n, add_square, &c, 0);
	results.squares = c.sum;
	results.loop_iters = iters;
	return XDP_PASS;
}

struct each_ctx {
	__u64 sum;
};

static long add_weight(void *map, __u32 *key, __u64 *value, struct each_ctx *c)
{
	c->sum += *value;
	return *value > WEIGHT_STOP;		/* 1: stop */
}

SEC("xdp")
int xdp_for_each(struct xdp_md *ctx)
{
	struct each_ctx c = { 0 };
	long visited;

	visited = bpf_for_each_map_elem(&weights, add_weight, &c, 0);
	results.each_sum = c.sum;
	results.each_visited = visited;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
