/*
 * example_pkts.h — what test_examples.c and kernel_examples.c share: the packets
 * the example programs run on (hand-built Ethernet frames: IPv4 TCP/UDP/ICMP,
 * IPv6, ARP, VLAN, truncated and runt frames, blocked and allowed addresses), a
 * reference parser for them, the object directories, and the layouts the
 * examples share with user space.
 */
#ifndef BPFVM_TESTS_EXAMPLE_PKTS_H
#define BPFVM_TESTS_EXAMPLE_PKTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 1600

struct pkt {
	const char *name;
	uint8_t data[PKT_MAX];
	uint32_t len;
	/* What a correct parser finds (filled by the builders, for the models). */
	int ip_version;		/* 4, 6, or 0 (not IP) */
	bool ip_complete;	/* the fixed IP header (20 / 40 bytes) fits */
	bool ihl_valid;		/* IPv4: ihl >= 5 */
	uint8_t proto;		/* IP protocol / IPv6 next header */
	uint8_t ttl;
	uint32_t saddr, daddr;	/* IPv4, host order */
	uint32_t l4_off;	/* offset of the TCP/UDP/ICMP header */
	bool ports_complete;	/* the 4 port bytes + 4 more (8 bytes) fit */
	bool tcp_complete;	/* a 20-byte TCP header fits */
	uint16_t sport, dport;	/* host order */
	uint16_t ethertype;	/* host order; 0 if the frame is under 14 bytes */
};

/* The standard set: *cnt packets, in a static array. Runt frames (under 14
 * bytes, which the kernel's test run refuses with EINVAL) are flagged by
 * pkt_is_runt. */
const struct pkt *example_packets(size_t *cnt);
bool pkt_is_runt(const struct pkt *p);
/* The packet called name in the standard set (aborts if there is none). */
const struct pkt *example_packet(const char *name);

/* The Internet checksum of buf[0..len) (folded, complemented). */
uint16_t inet_csum(const void *buf, size_t len);

/* The directories of compiled examples (clang-14/, clang-19/ ...), from
 * BPFVM_EXAMPLE_OBJ_DIRS (colon-separated), or 0 if the build has none. */
size_t example_obj_dirs(const char *dirs[], size_t max);
/* dir/name into buf. */
const char *example_path(char *buf, size_t len, const char *dir, const char *name);

/* ---- Layouts shared with the example programs --------------------------------- */

/* xdp_proto_count.bpf.c */
struct proto_counters {
	uint64_t packets;
	uint64_t bytes;
};

/* xdp_firewall.bpf.c: .rodata (drop_ipv6 u8 at 0, default_action u32 at 4,
 * blocked_port u16 at 8: clang's order and alignment, checked by the tests
 * through BTF), stats reasons, blocklist key. */
#define FW_RODATA_DROP_IPV6	0
#define FW_RODATA_DEFAULT	4
#define FW_RODATA_PORT		8
#define FW_RODATA_SIZE		10
enum { FW_DEFAULT, FW_BLOCKED, FW_PORT, FW_IPV6, FW_MALFORMED, FW_STAT_MAX };
struct fw_config {
	uint8_t drop_ipv6;
	uint32_t default_action;
	uint16_t blocked_port;
};
struct ipv4_lpm_key {
	uint32_t prefixlen;
	uint32_t addr;		/* network order */
};
/* The blocklist both sides load: 203.0.113.0/24 and 198.51.100.42/32. */
#define FW_BLOCK_NET	0xcb007100u	/* 203.0.113.0 */
#define FW_BLOCK_HOST	0xc633642au	/* 198.51.100.42 */
void fw_rodata_fill(uint8_t *rodata, const struct fw_config *c);
/* The verdict the firewall must give, and the stats reason (-1: none). */
int fw_model(const struct pkt *p, const struct fw_config *c, int *reason);

/* ringbuf_events.bpf.c */
struct pkt_event {
	uint32_t kind, seq, len;
	uint8_t proto, ttl;
	uint16_t pad;
	uint8_t saddr[16], daddr[16];
};
struct other_event {
	uint32_t kind, seq, len;
	uint16_t ethertype, pad;
};

/* loops.bpf.c */
struct loop_results {
	uint64_t byte_sum;
	uint32_t bytes_seen;
	uint32_t mac_xor;
	uint64_t squares;
	uint32_t loop_iters;
	uint32_t each_visited;
	uint64_t each_sum;
};

#endif
