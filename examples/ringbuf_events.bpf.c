/*
 * ringbuf_events.bpf.c — one ring-buffer event per packet, both ways of producing:
 *
 *  - IPv4 and IPv6 frames: bpf_ringbuf_reserve a struct pkt_event in the ring
 *    buffer, fill it in place, bpf_ringbuf_submit it. An IP header cut short is
 *    noticed only after reserving: the record is bpf_ringbuf_discard'ed (the
 *    consumer never sees it) and counted in `discarded`.
 *  - other frames: a struct other_event built on the stack and copied in with
 *    bpf_ringbuf_output.
 *
 * Every event carries a sequence number (the global `seq`, in .bss) so user space
 * can tell it missed one; `lost` counts reservations that failed (buffer full).
 * Every frame passes (XDP_PASS).
 *
 *	bpfvm prog run ringbuf_events.bpf.o xdp_events --data-in pkt.bin
 *	bpfvm map dump ringbuf_events.bpf.o .bss
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum event_kind {
	EVENT_IPV4 = 1,
	EVENT_IPV6 = 2,
	EVENT_OTHER = 3,
};

/* Shared with user space (same layout on both sides: no implicit padding). */
struct pkt_event {
	__u32 kind;		/* EVENT_IPV4 / EVENT_IPV6 */
	__u32 seq;
	__u32 len;		/* frame length */
	__u8 proto;		/* IP protocol / next header */
	__u8 ttl;		/* TTL / hop limit */
	__u16 pad;
	__u8 saddr[16];		/* IPv4: first 4 bytes */
	__u8 daddr[16];
};

struct other_event {
	__u32 kind;		/* EVENT_OTHER */
	__u32 seq;
	__u32 len;
	__u16 ethertype;	/* host order; 0 for a frame shorter than Ethernet */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

__u32 seq;		/* events produced */
__u32 discarded;	/* records reserved, then discarded */
__u32 lost;		/* reservations or outputs that failed */

static __always_inline void copy16(__u8 *dst, const __u8 *src, int n)
{
	for (int i = 0; i < 16; i++)
		dst[i] = i < n ? src[i] : 0;
}

SEC("xdp")
int xdp_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 ethertype = 0;
	struct pkt_event *e;

	if ((void *)(eth + 1) <= data_end)
		ethertype = bpf_ntohs(eth->h_proto);
	if (ethertype == ETH_P_IP || ethertype == ETH_P_IPV6) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			__sync_fetch_and_add(&lost, 1);
			return XDP_PASS;
		}
		e->len = data_end - data;
		e->pad = 0;
		if (ethertype == ETH_P_IP) {
			struct iphdr *ip = (void *)(eth + 1);

			if ((void *)(ip + 1) > data_end)
				goto discard;
			e->kind = EVENT_IPV4;
			e->proto = ip->protocol;
			e->ttl = ip->ttl;
			copy16(e->saddr, (const __u8 *)&ip->saddr, 4);
			copy16(e->daddr, (const __u8 *)&ip->daddr, 4);
		} else {
			struct ipv6hdr *ip6 = (void *)(eth + 1);

			if ((void *)(ip6 + 1) > data_end)
				goto discard;
			e->kind = EVENT_IPV6;
			e->proto = ip6->nexthdr;
			e->ttl = ip6->hop_limit;
			copy16(e->saddr, ip6->saddr.in6_u.u6_addr8, 16);
			copy16(e->daddr, ip6->daddr.in6_u.u6_addr8, 16);
		}
		e->seq = __sync_fetch_and_add(&seq, 1);
		bpf_ringbuf_submit(e, 0);
		return XDP_PASS;
discard:
		bpf_ringbuf_discard(e, 0);
		__sync_fetch_and_add(&discarded, 1);
		return XDP_PASS;
	} else {
		struct other_event o = {
			.kind = EVENT_OTHER,
			.len = data_end - data,
			.ethertype = ethertype,
		};

		o.seq = __sync_fetch_and_add(&seq, 1);
		if (bpf_ringbuf_output(&events, &o, sizeof(o), 0))
			__sync_fetch_and_add(&lost, 1);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
