/*
 * example_pkts.c — the packets the examples' tests run on, built byte by byte
 * (no system networking headers: every field's offset is spelled out), and the
 * small helpers test_examples.c and kernel_examples.c share. See example_pkts.h.
 */
#define _POSIX_C_SOURCE 200809L	/* strtok_r */

#include "example_pkts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static void put16(uint8_t *b, uint16_t v)	/* network order */
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

uint16_t inet_csum(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void fill_payload(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + 3);
}

static void eth(struct pkt *p, uint16_t ethertype)
{
	memcpy(p->data, mac_dst, 6);
	memcpy(p->data + 6, mac_src, 6);
	put16(p->data + 12, ethertype);
	p->ethertype = ethertype;
	p->len = 14;
}

/* The L4 header at p->data + off: TCP (20 bytes), UDP (8) or ICMP echo (8),
 * then payload bytes; returns the L4 length. */
static uint32_t l4(struct pkt *p, uint32_t off, uint8_t proto, uint16_t sport,
		   uint16_t dport, uint32_t payload)
{
	uint8_t *b = p->data + off;
	uint32_t hl;

	switch (proto) {
	case 6:		/* TCP: ports, seq 1, ack 0, data offset 5, SYN, window */
		hl = 20;
		memset(b, 0, hl);
		put16(b, sport);
		put16(b + 2, dport);
		put32(b + 4, 1);
		b[12] = 5 << 4;
		b[13] = 0x02;
		put16(b + 14, 65535);
		break;
	case 17:	/* UDP: ports, length, checksum 0 (none) */
		hl = 8;
		put16(b, sport);
		put16(b + 2, dport);
		put16(b + 4, (uint16_t)(8 + payload));
		put16(b + 6, 0);
		break;
	case 1:		/* ICMP echo request, id 0x1234, seq 1 */
	case 58:	/* ICMPv6 echo request (checksum left 0: needs the pseudo header) */
		hl = 8;
		b[0] = proto == 1 ? 8 : 128;
		b[1] = 0;
		put16(b + 2, 0);
		put16(b + 4, 0x1234);
		put16(b + 6, 1);
		break;
	default:	/* anything else: payload only */
		hl = 0;
		break;
	}
	fill_payload(b + hl, payload);
	if (proto == 1)
		put16(b + 2, inet_csum(b, hl + payload));
	p->l4_off = off;
	p->sport = (proto == 6 || proto == 17) ? sport : 0;
	p->dport = (proto == 6 || proto == 17) ? dport : 0;
	return hl + payload;
}

static void ipv4(struct pkt *p, const char *name, uint32_t saddr, uint32_t daddr,
		 uint8_t proto, uint8_t ttl, uint16_t sport, uint16_t dport, uint32_t payload,
		 uint32_t ihl)
{
	uint8_t *ip;
	uint32_t l4_len, hl = ihl * 4;

	memset(p, 0, sizeof(*p));
	p->name = name;
	eth(p, 0x0800);
	ip = p->data + 14;
	if (hl < 20)
		hl = 20;	/* a bad ihl still occupies a normal header */
	memset(ip, 0, hl);
	l4_len = l4(p, 14 + hl, proto, sport, dport, payload);
	ip[0] = (uint8_t)(0x40 | ihl);
	put16(ip + 2, (uint16_t)(hl + l4_len));	/* total length */
	put16(ip + 4, 0x4242);				/* id */
	put16(ip + 6, 0x4000);				/* DF */
	ip[8] = ttl;
	ip[9] = proto;
	put32(ip + 12, saddr);
	put32(ip + 16, daddr);
	for (uint32_t i = 20; i < hl; i++)
		ip[i] = 1;				/* options: NOP */
	put16(ip + 10, inet_csum(ip, hl));
	p->len = 14 + hl + l4_len;
	p->ip_version = 4;
	p->ip_complete = true;
	p->ihl_valid = ihl >= 5;
	p->proto = proto;
	p->ttl = ttl;
	p->saddr = saddr;
	p->daddr = daddr;
}

static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x02 };
static const uint8_t v6_dns[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x53, [15] = 0x53 };

static void ipv6(struct pkt *p, const char *name, const uint8_t *saddr,
		 const uint8_t *daddr, uint8_t nexthdr, uint8_t hop, uint16_t sport,
		 uint16_t dport, uint32_t payload)
{
	uint8_t *ip;
	uint32_t l4_len;

	memset(p, 0, sizeof(*p));
	p->name = name;
	eth(p, 0x86dd);
	ip = p->data + 14;
	memset(ip, 0, 40);
	l4_len = l4(p, 54, nexthdr, sport, dport, payload);
	put32(ip, 0x60012345);		/* version 6, traffic class 0, flow label */
	put16(ip + 4, (uint16_t)l4_len);
	ip[6] = nexthdr;
	ip[7] = hop;
	memcpy(ip + 8, saddr, 16);
	memcpy(ip + 24, daddr, 16);
	p->len = 54 + l4_len;
	p->ip_version = 6;
	p->ip_complete = true;
	p->ihl_valid = true;
	p->proto = nexthdr;
	p->ttl = hop;
}

/* Cuts the frame to len bytes and updates what is still complete. */
static void truncate_to(struct pkt *p, const char *name, uint32_t len)
{
	p->name = name;
	p->len = len;
	if (len < 14) {
		p->ethertype = 0;
		p->ip_version = 0;
	}
	if (p->ip_version == 4 && len < 14 + 20)
		p->ip_complete = false;
	if (p->ip_version == 6 && len < 14 + 40)
		p->ip_complete = false;
}

static void finish_l4(struct pkt *p)
{
	p->ports_complete = p->ip_complete && p->ihl_valid && p->l4_off + 8 <= p->len;
	p->tcp_complete = p->ip_complete && p->ihl_valid && p->l4_off + 20 <= p->len;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct pkt pkts[32];
static size_t npkts;

static struct pkt *next_pkt(void)
{
	if (npkts == sizeof(pkts) / sizeof(pkts[0]))
		abort();
	return &pkts[npkts++];
}

static void build(void)
{
	struct pkt *p;

	p = next_pkt();
	ipv4(p, "runt", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 1, 2, 0, 5);
	truncate_to(p, "runt", 10);
	p = next_pkt();
	ipv4(p, "eth_only", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 1, 2, 0, 5);
	truncate_to(p, "eth_only", 14);
	ipv4(next_pkt(), "ipv4_tcp", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 40000, 80, 16, 5);
	ipv4(next_pkt(), "ipv4_tcp_big", IP4(10, 0, 0, 3), IP4(10, 0, 0, 2), 6, 64, 40001, 443,
	     1000, 5);
	ipv4(next_pkt(), "ipv4_udp", IP4(192, 168, 1, 5), IP4(8, 8, 8, 8), 17, 64, 5353, 53, 20, 5);
	ipv4(next_pkt(), "ipv4_udp_ttl1", IP4(192, 168, 1, 5), IP4(8, 8, 8, 8), 17, 1, 5353, 53,
	     20, 5);
	ipv4(next_pkt(), "ipv4_icmp", IP4(10, 1, 2, 3), IP4(10, 0, 0, 1), 1, 64, 0, 0, 56, 5);
	ipv4(next_pkt(), "ipv4_ssh", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 40002, 22, 0, 5);
	ipv4(next_pkt(), "ipv4_udp_22", IP4(10, 0, 0, 9), IP4(10, 0, 0, 2), 17, 255, 1000, 22, 4, 5);
	ipv4(next_pkt(), "ipv4_blocked_net", IP4(203, 0, 113, 7), IP4(10, 0, 0, 2), 6, 64, 40003,
	     80, 8, 5);
	ipv4(next_pkt(), "ipv4_blocked_host", IP4(198, 51, 100, 42), IP4(10, 0, 0, 2), 17, 64,
	     5000, 53, 8, 5);
	ipv4(next_pkt(), "ipv4_near_blocked", IP4(198, 51, 100, 43), IP4(10, 0, 0, 2), 17, 64,
	     5000, 53, 8, 5);
	ipv4(next_pkt(), "ipv4_options", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 17, 64, 7, 22, 12, 6);
	ipv4(next_pkt(), "ipv4_bad_ihl", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 7, 22, 0, 4);
	ipv4(next_pkt(), "ipv4_gre", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 47, 64, 0, 0, 4, 5);
	p = next_pkt();
	ipv4(p, "ipv4_truncated", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 1, 2, 0, 5);
	truncate_to(p, "ipv4_truncated", 14 + 10);
	p = next_pkt();
	ipv4(p, "ipv4_tcp_cut", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 40004, 22, 0, 5);
	truncate_to(p, "ipv4_tcp_cut", 14 + 20 + 4);
	p = next_pkt();
	ipv4(p, "ipv4_tcp_short", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 6, 64, 40005, 22, 0, 5);
	truncate_to(p, "ipv4_tcp_short", 14 + 20 + 12);
	ipv6(next_pkt(), "ipv6_tcp", v6_a, v6_b, 6, 64, 40000, 443, 10);
	ipv6(next_pkt(), "ipv6_udp", v6_a, v6_dns, 17, 64, 5353, 53, 30);
	ipv6(next_pkt(), "ipv6_udp_hop1", v6_a, v6_dns, 17, 1, 5353, 53, 30);
	ipv6(next_pkt(), "ipv6_icmp6", v6_b, v6_a, 58, 255, 0, 0, 8);
	p = next_pkt();
	ipv6(p, "ipv6_truncated", v6_a, v6_b, 6, 64, 1, 2, 0);
	truncate_to(p, "ipv6_truncated", 14 + 30);
	p = next_pkt();			/* ARP request: who has 10.0.0.2 tell 10.0.0.1 */
	memset(p, 0, sizeof(*p));
	p->name = "arp";
	eth(p, 0x0806);
	put16(p->data + 14, 1);
	put16(p->data + 16, 0x0800);
	p->data[18] = 6;
	p->data[19] = 4;
	put16(p->data + 20, 1);
	memcpy(p->data + 22, mac_src, 6);
	put32(p->data + 28, IP4(10, 0, 0, 1));
	put32(p->data + 38, IP4(10, 0, 0, 2));
	p->len = 42;
	p = next_pkt();			/* 802.1Q-tagged IPv4: not parsed by the examples */
	ipv4(p, "vlan", IP4(10, 0, 0, 1), IP4(10, 0, 0, 2), 17, 64, 1, 53, 4, 5);
	memmove(p->data + 18, p->data + 14, p->len - 14);
	put16(p->data + 12, 0x8100);
	put16(p->data + 14, 42);	/* VLAN id */
	put16(p->data + 16, 0x0800);
	p->len += 4;
	p->ethertype = 0x8100;
	p->ip_version = 0;
	for (size_t i = 0; i < npkts; i++)
		finish_l4(&pkts[i]);
}

const struct pkt *example_packets(size_t *cnt)
{
	if (!npkts)
		build();
	*cnt = npkts;
	return pkts;
}

bool pkt_is_runt(const struct pkt *p)
{
	return p->len < 14;
}

const struct pkt *example_packet(const char *name)
{
	size_t n;
	const struct pkt *all = example_packets(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			return &all[i];
	fprintf(stderr, "example_packet: no packet %s\n", name);
	abort();
}

size_t example_obj_dirs(const char *dirs[], size_t max)
{
#ifdef BPFVM_EXAMPLE_OBJ_DIRS
	static char buf[4096];
	size_t n = 0;
	char *s, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", BPFVM_EXAMPLE_OBJ_DIRS);
	for (s = strtok_r(buf, ":", &save); s && n < max; s = strtok_r(NULL, ":", &save))
		dirs[n++] = s;
	return n;
#else
	(void)dirs;
	(void)max;
	return 0;
#endif
}

const char *example_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

void fw_rodata_fill(uint8_t *rodata, const struct fw_config *c)
{
	memcpy(rodata + FW_RODATA_DROP_IPV6, &c->drop_ipv6, 1);
	memcpy(rodata + FW_RODATA_DEFAULT, &c->default_action, 4);
	memcpy(rodata + FW_RODATA_PORT, &c->blocked_port, 2);
}

static bool fw_blocked(uint32_t saddr)
{
	return (saddr & 0xffffff00u) == FW_BLOCK_NET || saddr == FW_BLOCK_HOST;
}

int fw_model(const struct pkt *p, const struct fw_config *c, int *reason)
{
	*reason = -1;
	if (p->len < 14) {
		*reason = FW_MALFORMED;
		return 1;				/* XDP_DROP */
	}
	if (p->ip_version == 6) {
		if (!p->ip_complete)
			*reason = FW_MALFORMED;
		else
			*reason = c->drop_ipv6 ? FW_IPV6 : FW_DEFAULT;
		return *reason == FW_DEFAULT ? (int)c->default_action : 1;
	}
	if (p->ip_version != 4)
		return 2;				/* XDP_PASS */
	if (!p->ip_complete || !p->ihl_valid || p->l4_off > p->len) {
		*reason = FW_MALFORMED;
		return 1;
	}
	if (fw_blocked(p->saddr)) {
		*reason = FW_BLOCKED;
		return 1;
	}
	if (c->blocked_port && (p->proto == 6 || p->proto == 17)) {
		if (p->proto == 6 ? !p->tcp_complete : !p->ports_complete) {
			*reason = FW_MALFORMED;
			return 1;
		}
		if (p->dport == c->blocked_port) {
			*reason = FW_PORT;
			return 1;
		}
	}
	*reason = FW_DEFAULT;
	return (int)c->default_action;
}
