/* bits: bit tricks on every 64-bit word of the buffer: population count (SWAR),
 * floor(log2) by binary search, count of trailing zeros, parity. */
#include "bench_prog.h"

BENCH_INLINE uint64_t popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

BENCH_INLINE uint64_t log2_64(uint64_t x)	/* x != 0 */
{
	uint64_t r = 0;

	if (x >> 32) { x >>= 32; r += 32; }
	if (x >> 16) { x >>= 16; r += 16; }
	if (x >> 8) { x >>= 8; r += 8; }
	if (x >> 4) { x >>= 4; r += 4; }
	if (x >> 2) { x >>= 2; r += 2; }
	if (x >> 1) r += 1;
	return r;
}

BENCH_PROG(bits)
{
	uint64_t acc = 0, i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = bench_ld64(mem + i), p;

		if (!w)
			continue;
		p = popcount64(w);
		acc += p;
		acc += log2_64(w) << 8;
		acc += log2_64(w & -w) << 16;		/* trailing zeros */
		acc ^= (p & 1) << 24;			/* parity */
	}
	return acc;
}
