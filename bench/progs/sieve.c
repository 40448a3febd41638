/* sieve: the sieve of Eratosthenes over mem (one byte a number): counts the primes
 * below len. Byte stores in a nested loop; the buffer is scratch. */
#include "bench_prog.h"

BENCH_PROG(sieve)
{
	uint64_t i, j, count = 0;

	for (i = 0; i < len; i++)
		mem[i] = 1;
	for (i = 2; i * i < len; i++) {
		if (!mem[i])
			continue;
		for (j = i * i; j < len; j += i)
			mem[j] = 0;
	}
	for (i = 2; i < len; i++)
		count += mem[i];
	return count;
}
