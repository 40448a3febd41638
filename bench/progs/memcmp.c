/* memcmp: compares the two halves of the buffer byte by byte, as memcmp() does;
 * the runner makes them equal up to the last byte. Returns the index of the first
 * difference and its sign. */
#include "bench_prog.h"

BENCH_PROG(memcmp)
{
	uint64_t half = len / 2, i;
	const uint8_t *a = mem, *b = mem + half;

	for (i = 0; i < half; i++) {
		if (a[i] != b[i])
			return i << 1 | (a[i] < b[i]);
	}
	return half << 1;
}
