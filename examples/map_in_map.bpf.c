/*
 * map_in_map.bpf.c — maps of maps, filled from `.values` when the object loads:
 *
 *  by_version  ARRAY_OF_MAPS: slot 0 = v4_protos, slot 1 = v6_protos, two
 *              ARRAYs of 256 counters indexed by IP protocol.
 *  by_proto    HASH_OF_MAPS keyed by IP protocol: 6 (TCP) = tcp_ports,
 *              17 (UDP) = udp_ports, two HASHes of destination port (host
 *              order) -> packets.
 *
 * xdp_mim looks the inner map up in the outer one, then the counter in the inner
 * map, for each IPv4 / IPv6 packet (IPv6 extension headers are not followed); a
 * TCP/UDP header cut short is not counted in by_proto. Every frame passes
 * (XDP_PASS). User space reads the inner maps by name (they are the object's maps
 * too), or swaps them: bpfvm_map__update_inner_map / bpf_map_update_elem with an fd.
 *
 *	bpfvm prog run map_in_map.bpf.o xdp_mim --data-in pkt.bin
 *	bpfvm map dump map_in_map.bpf.o tcp_ports
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct proto_counts {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
};
struct proto_counts v4_protos SEC(".maps"), v6_protos SEC(".maps");

struct port_counts {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
};
struct port_counts tcp_ports SEC(".maps"), udp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct proto_counts);
} by_version SEC(".maps") = {
	.values = { [0] = &v4_protos, [1] = &v6_protos },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 16);
	__type(key, __u32);
	__array(values, struct port_counts);
} by_proto SEC(".maps") = {
	.values = { [IPPROTO_TCP] = &tcp_ports, [IPPROTO_UDP] = &udp_ports },
};

static __always_inline void count_port(__u32 proto, __u32 port)
{
	void *ports = bpf_map_lookup_elem(&by_proto, &proto);
	__u64 one = 1, *n;

	if (!ports)
		return;
	n = bpf_map_lookup_elem(ports, &port);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(ports, &port, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_mim(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 version, proto;
	void *protos, *l4;
	__u64 *n;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return XDP_PASS;
		version = 0;
		proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		version = 1;
		proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		return XDP_PASS;
	}

	protos = bpf_map_lookup_elem(&by_version, &version);
	if (protos) {
		n = bpf_map_lookup_elem(protos, &proto);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	/* TCP and UDP headers both start with the source and destination ports. */
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		struct udphdr *ports = l4;

		if ((void *)(ports + 1) <= data_end)
			count_port(proto, bpf_ntohs(ports->dest));
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
