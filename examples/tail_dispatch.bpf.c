/*
 * tail_dispatch.bpf.c — a tail-call dispatcher: xdp_dispatch parses the IP header
 * and jumps, with bpf_tail_call, to the program for the packet's protocol, found
 * in the PROG_ARRAY `handlers`. The array is filled when the object loads, from
 * its `.values` initialiser (libbpf's `__array(values, ...)` syntax):
 *
 *	TCP  (6)  handle_tcp:  swaps the Ethernet addresses and sends it back (XDP_TX)
 *	UDP  (17) handle_udp:  decrements the TTL / hop limit, fixing the IPv4 header
 *	                       checksum incrementally (XDP_PASS; XDP_DROP at TTL <= 1)
 *	ICMP (1)  handle_icmp: XDP_DROP
 *
 * A tail call does not return: when it happens, the handler's verdict is the
 * packet's. With no program in the slot (any other protocol) bpf_tail_call
 * returns and the dispatcher counts a miss (`misses`, in .bss) and passes the
 * packet. Each handler counts its packets in hits[protocol]. Frames that are not
 * IP, or too short, pass untouched.
 *
 *	bpfvm prog run tail_dispatch.bpf.o xdp_dispatch --data-in pkt.bin
 *	bpfvm map dump tail_dispatch.bpf.o hits
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

__u64 misses;

int handle_tcp(struct xdp_md *ctx);
int handle_udp(struct xdp_md *ctx);
int handle_icmp(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 256);
	__uint(key_size, sizeof(__u32));	/* not __type: no BTF for prog arrays */
	__array(values, int (void *));
} handlers SEC(".maps") = {
	.values = {
		[IPPROTO_ICMP] = (void *)&handle_icmp,
		[IPPROTO_TCP] = (void *)&handle_tcp,
		[IPPROTO_UDP] = (void *)&handle_udp,
	},
};

static __always_inline void count(__u32 proto)
{
	__u64 *n = bpf_map_lookup_elem(&hits, &proto);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	count(IPPROTO_TCP);
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int handle_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	count(IPPROTO_UDP);
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 check;

		if ((void *)(ip + 1) > data_end)
			return XDP_ABORTED;
		if (ip->ttl <= 1)
			return XDP_DROP;
		/* As the kernel's ip_decrease_ttl: the TTL is the high byte of its
		 * 16-bit word, so the sum drops by 0x0100; add it to the complement. */
		check = ip->check;
		check += bpf_htons(0x0100);
		ip->check = (__u16)(check + (check >= 0xFFFF));
		ip->ttl--;
		return XDP_PASS;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_ABORTED;
		if (ip6->hop_limit <= 1)
			return XDP_DROP;
		ip6->hop_limit--;
		return XDP_PASS;
	}
	return XDP_ABORTED;
}

SEC("xdp")
int handle_icmp(struct xdp_md *ctx)
{
	count(IPPROTO_ICMP);
	return XDP_DROP;
}

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 proto;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		proto = ip6->nexthdr;
	} else {
		return XDP_PASS;
	}
	bpf_tail_call(ctx, &handlers, proto);
	/* Only reached when handlers[proto] is empty. */
	__sync_fetch_and_add(&misses, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
