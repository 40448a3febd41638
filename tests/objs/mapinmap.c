/* Map-in-map with a `values` template and .values initialisers, and a PROG_ARRAY
 * whose slots are initialised with programs (tail calls). */
#include "bpf_defs.h"

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
};
struct inner inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [1] = &inner_a, [5] = &inner_b },
};

int tail_a(struct xdp_md *ctx);
int tail_b(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [0] = (void *)&tail_a, [2] = (void *)&tail_b },
};

SEC("xdp")
int tail_a(struct xdp_md *ctx) { return 1; }

SEC("xdp")
int tail_b(struct xdp_md *ctx) { return 3; }

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	__u32 k = 1, i = 0;
	void *m = bpf_map_lookup_elem(&outer, &k);
	if (m) {
		__u64 *v = bpf_map_lookup_elem(m, &i);
		if (v)
			*v += 1;
	}
	bpf_tail_call(ctx, &jumps, ctx->rx_queue_index & 3);
	return 2;
}

char LICENSE[] SEC("license") = "GPL";
