/* switch: a 16-way switch on every byte of the buffer, each case a different
 * operation on an accumulator: natively a jump table, in BPF a tree of compares. */
#include "bench_prog.h"

BENCH_PROG(switch)
{
	uint64_t acc = 0x12345678, i;

	for (i = 0; i < len; i++) {
		uint64_t b = mem[i];

		switch (b & 15) {
		case 0: acc += b; break;
		case 1: acc ^= acc << 3; break;
		case 2: acc = acc * 33 + 1; break;
		case 3: acc -= b << 2; break;
		case 4: acc = acc >> 5 | acc << 59; break;
		case 5: acc |= b << 9; break;
		case 6: acc &= ~(b << 1); break;
		case 7: acc ^= acc >> 11; break;
		case 8: acc += i; break;
		case 9: acc = acc * 5 - b; break;
		case 10: acc ^= b * 0x9e3779b9u; break;
		case 11: acc = ~acc; break;
		case 12: acc += acc >> 32; break;
		case 13: acc -= i ^ b; break;
		case 14: acc = acc << 1 | acc >> 63; break;
		default: acc++; break;
		}
	}
	return acc;
}
