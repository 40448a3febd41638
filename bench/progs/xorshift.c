/* xorshift: 2,000 rounds of the xorshift64 generator, seeded from mem: a pure 64-bit
 * ALU loop (shifts, xor, add) with no memory traffic. */
#include "bench_prog.h"

BENCH_PROG(xorshift)
{
	uint64_t x = bench_ld64(mem) | 1, sum = len;
	uint32_t i;

	for (i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum += x;
	}
	return sum ^ x;
}
