/*
 * xdp_firewall.bpf.c — an XDP firewall: an LPM_TRIE blocklist of IPv4 source
 * prefixes, a blocked destination port, and read-only configuration.
 *
 * Configuration lives in .rodata (`const volatile` globals): user space sets it
 * after opening the object and before loading it (libbpf: skel->rodata->x = ...;
 * bpfvm: bpfvm_map__update_elem on the ".rodata" map), and the program then sees
 * constants. Verdicts, in order:
 *  1. frame too short for Ethernet + the IP header it announces: XDP_DROP (STAT_MALFORMED)
 *  2. not IPv4 nor IPv6 (ARP, ...): XDP_PASS, not counted
 *  3. IPv6: drop_ipv6 ? XDP_DROP (STAT_IPV6) : default_action (STAT_DEFAULT)
 *  4. IPv4 source in the blocklist: XDP_DROP (STAT_BLOCKED); the matching
 *     prefix's value (a hit counter) is incremented
 *  5. TCP or UDP to blocked_port (when non-zero): XDP_DROP (STAT_PORT); a TCP/UDP
 *     header cut short is malformed (1)
 *  6. anything else: default_action (STAT_DEFAULT)
 * stats[reason] counts packets per verdict reason.
 *
 *	bpfvm prog run xdp_firewall.bpf.o xdp_firewall --data-in pkt.bin
 *	bpfvm map dump xdp_firewall.bpf.o stats
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

/* Configuration: set before load. */
const volatile __u8 drop_ipv6 = 0;
const volatile __u32 default_action = XDP_PASS;
const volatile __u16 blocked_port = 0;		/* host byte order; 0: none */

enum stat_reason {
	STAT_DEFAULT,
	STAT_BLOCKED,
	STAT_PORT,
	STAT_IPV6,
	STAT_MALFORMED,
	STAT_MAX,
};

/* An LPM_TRIE key: the prefix length in bits, then the address (network order). */
struct ipv4_lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* required for LPM_TRIE */
	__type(key, struct ipv4_lpm_key);
	__type(value, __u64);			/* hits of this prefix */
} blocklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline int verdict(__u32 reason, int action)
{
	__u64 *n = bpf_map_lookup_elem(&stats, &reason);

	if (n)
		__sync_fetch_and_add(n, 1);
	return action;
}

static __always_inline int check_ipv4(struct iphdr *ip, void *data_end)
{
	struct ipv4_lpm_key key = { .prefixlen = 32, .addr = ip->saddr };
	__u32 hdr_len = ip->ihl * 4;
	__u64 *hits;
	void *l4;

	if (hdr_len < sizeof(*ip) || (void *)ip + hdr_len > data_end)
		return verdict(STAT_MALFORMED, XDP_DROP);
	hits = bpf_map_lookup_elem(&blocklist, &key);
	if (hits) {
		__sync_fetch_and_add(hits, 1);
		return verdict(STAT_BLOCKED, XDP_DROP);
	}
	if (!blocked_port || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return verdict(STAT_DEFAULT, default_action);
	/* Both headers start with source and destination port. */
	l4 = (void *)ip + hdr_len;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return verdict(STAT_MALFORMED, XDP_DROP);
		if (tcp->dest == bpf_htons(blocked_port))
			return verdict(STAT_PORT, XDP_DROP);
	} else {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return verdict(STAT_MALFORMED, XDP_DROP);
		if (udp->dest == bpf_htons(blocked_port))
			return verdict(STAT_PORT, XDP_DROP);
	}
	return verdict(STAT_DEFAULT, default_action);
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return verdict(STAT_MALFORMED, XDP_DROP);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return verdict(STAT_MALFORMED, XDP_DROP);
		return check_ipv4(ip, data_end);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)eth + sizeof(*eth) + sizeof(struct ipv6hdr) > data_end)
			return verdict(STAT_MALFORMED, XDP_DROP);
		if (drop_ipv6)
			return verdict(STAT_IPV6, XDP_DROP);
		return verdict(STAT_DEFAULT, default_action);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
