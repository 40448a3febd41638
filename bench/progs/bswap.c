/* bswap: byte swaps of every 64-bit word of the buffer at 16, 32 and 64 bits
 * (the be16/be32/be64 instructions in BPF; bswap/rol natively). */
#include "bench_prog.h"

BENCH_PROG(bswap)
{
	uint64_t acc = 0, i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = bench_ld64(mem + i);

		acc += __builtin_bswap64(w);
		acc ^= __builtin_bswap32((uint32_t)(w >> 16));
		acc += __builtin_bswap16((uint16_t)(w >> 8));
		acc = acc << 7 | acc >> 57;
	}
	return acc;
}
