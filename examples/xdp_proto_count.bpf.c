/*
 * xdp_proto_count.bpf.c — count packets and bytes per IP protocol at XDP.
 *
 * For every Ethernet frame carrying IPv4 (the protocol field) or IPv6 (the next
 * header field of the fixed header), the HASH map proto_stats gets the frame's
 * protocol number as key and {packets, bytes} as value; bytes are the whole
 * frame (data_end - data). Frames that are not IP, or too short to hold the IP
 * header, are not counted. Every frame passes (XDP_PASS).
 *
 *	bpfvm prog run xdp_proto_count.bpf.o xdp_proto_count --data-in pkt.bin
 *	bpfvm map dump xdp_proto_count.bpf.o proto_stats
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct proto_counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);			/* IP protocol number */
	__type(value, struct proto_counters);
} proto_stats SEC(".maps");

/* The IP protocol of the frame in [data, data_end), or -1 if it has none. */
static __always_inline int ip_protocol(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return -1;
		return ip->protocol;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		return ip6->nexthdr;
	}
	return -1;
}

SEC("xdp")
int xdp_proto_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct proto_counters *c;
	__u64 bytes = data_end - data;
	int proto = ip_protocol(data, data_end);
	__u32 key;

	if (proto < 0)
		return XDP_PASS;
	key = proto;
	c = bpf_map_lookup_elem(&proto_stats, &key);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, bytes);
	} else {
		struct proto_counters first = { .packets = 1, .bytes = bytes };

		/* Two CPUs may race to create the entry: the loser adds instead. */
		if (bpf_map_update_elem(&proto_stats, &key, &first, BPF_NOEXIST)) {
			c = bpf_map_lookup_elem(&proto_stats, &key);
			if (c) {
				__sync_fetch_and_add(&c->packets, 1);
				__sync_fetch_and_add(&c->bytes, bytes);
			}
		}
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
