/* checksum: the Internet checksum (RFC 1071) of the whole buffer: big-endian 16-bit
 * words summed in 64 bits, folded to 16 and complemented. Byte loads and adds. */
#include "bench_prog.h"

BENCH_PROG(checksum)
{
	uint64_t sum = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)mem[i] << 8 | mem[i + 1];
	if (len & 1)
		sum += (uint64_t)mem[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
