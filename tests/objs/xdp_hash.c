/* XDP program counting packets per ingress interface in a BTF-defined hash map:
 * one map, one helper call, one lddw map relocation, a GPL license. */
#include "bpf_defs.h"

struct stats { __u64 packets; __u64 bytes; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct stats);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} counts SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	struct stats *s = bpf_map_lookup_elem(&counts, &key);
	if (!s)
		return 2;
	s->packets++;
	s->bytes += ctx->data_end - ctx->data;
	return 2;
}

char LICENSE[] SEC("license") = "GPL";
