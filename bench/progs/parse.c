/* parse: Ethernet / IPv4 / TCP header parsing, as an XDP filter does it, over a
 * buffer of 64-byte frames: ethertype, IP version and header length (options
 * included), protocol, addresses, ports and TCP flags, with every length checked.
 * Returns a hash of the TCP flows seen, the count of SYNs and of dropped frames. */
#include "bench_prog.h"

#define FRAME 64

BENCH_PROG(parse)
{
	uint64_t hash = 0xcbf29ce484222325ull, syn = 0, drop = 0, off;

	for (off = 0; off + FRAME <= len; off += FRAME) {
		const uint8_t *eth = mem + off, *ip, *tcp;
		uint32_t ihl, tot, saddr, daddr;
		uint16_t sport, dport;
		uint8_t flags;

		if (bench_be16(eth + 12) != 0x0800) {		/* not IPv4 */
			drop++;
			continue;
		}
		ip = eth + 14;
		if ((ip[0] >> 4) != 4) {
			drop++;
			continue;
		}
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		tot = bench_be16(ip + 2);
		if (ihl < 20 || tot < ihl + 20 || 14 + ihl + 20 > FRAME) {
			drop++;
			continue;
		}
		if (ip[9] != 6) {				/* not TCP */
			drop++;
			continue;
		}
		if (bench_be16(ip + 6) & 0x3fff) {		/* a fragment */
			drop++;
			continue;
		}
		saddr = bench_be32(ip + 12);
		daddr = bench_be32(ip + 16);
		tcp = ip + ihl;
		sport = bench_be16(tcp);
		dport = bench_be16(tcp + 2);
		flags = tcp[13];
		if ((tcp[12] >> 4) < 5) {			/* bad data offset */
			drop++;
			continue;
		}
		if ((flags & 0x12) == 0x02)			/* SYN without ACK */
			syn++;
		hash = (hash ^ saddr) * 0x100000001b3ull;
		hash = (hash ^ daddr) * 0x100000001b3ull;
		hash = (hash ^ ((uint32_t)sport << 16 | dport)) * 0x100000001b3ull;
	}
	return hash ^ syn << 32 ^ drop;
}
