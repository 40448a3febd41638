/* calls: bpf-to-bpf calls: two levels of non-inlined functions called for every
 * byte of the buffer (clang emits them as src=1 local calls in the same section). */
#include "bench_prog.h"

BENCH_FUNC(calls) uint64_t mix(uint64_t acc, uint64_t b);
BENCH_FUNC(calls) uint64_t rot(uint64_t x, uint64_t n);

BENCH_PROG(calls)
{
	uint64_t acc = 0x9e3779b97f4a7c15ull, i;

	for (i = 0; i < len; i++)
		acc = mix(acc, mem[i]);
	return acc;
}

BENCH_FUNC(calls) uint64_t mix(uint64_t acc, uint64_t b)
{
	return rot(acc ^ b, b & 31) * 0x100000001b3ull;
}

BENCH_FUNC(calls) uint64_t rot(uint64_t x, uint64_t n)
{
	return x << n | x >> ((64 - n) & 63);
}
