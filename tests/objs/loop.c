/* bpf_loop with static callbacks: a callback's address is an lddw against .text
 * (section symbol + byte addend in imm) that the loader turns into src=4
 * (BPF_PSEUDO_FUNC); the second callback sits at a non-zero offset in .text. */
#include "bpf_defs.h"

struct loop_ctx { __u64 sum; };

static int add_one(__u32 index, void *data)
{
	struct loop_ctx *c = data;
	c->sum += index;
	return 0;
}

static int add_two(__u32 index, void *data)
{
	struct loop_ctx *c = data;
	c->sum += 2 * index;
	return index > 100;
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	struct loop_ctx c = { 0 };
	bpf_loop(10, add_one, &c, 0);
	bpf_loop(ctx->rx_queue_index, add_two, &c, 0);
	return c.sum == 45 ? 2 : 1;
}

char LICENSE[] SEC("license") = "GPL";
