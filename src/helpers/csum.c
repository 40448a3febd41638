/*
 * csum.c — bpf_csum_diff(from, from_size, to, to_size, seed): the one's complement
 * sum of the negated 32-bit words of from and the words of to, added to seed, folded
 * to 16 bits (not complemented). Sizes must be multiples of 4 and together at most
 * 512 bytes, else -EINVAL.
 *
 * Linux returned csum_partial's 32-bit partial sum, whose exact bits differed
 * between architectures, until it made every architecture return this 16-bit fold
 * (6.13); bpfvm returns what the current kernel does, checked against it by
 * tests/test_helpers.c. Programs fold the result (csum_fold) either way, so both
 * give the same final checksum.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"

#define CSUM_DIFF_MAX 512

uint64_t h_csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size,
		     uint64_t seed)
{
	if (((from_size | to_size) & 3) || from_size > CSUM_DIFF_MAX ||
	    to_size > CSUM_DIFF_MAX - from_size)
		return (uint64_t)-EINVAL;
	if ((from_size && !vm_mem_ok(from, from_size, false)) ||
	    (to_size && !vm_mem_ok(to, to_size, false)))
		return (uint64_t)-EFAULT;
	uint64_t sum = (uint32_t)seed;
	for (uint64_t i = 0; i < from_size; i += 4) {
		uint32_t w;
		memcpy(&w, (const uint8_t *)(uintptr_t)from + i, 4);
		sum += (uint32_t)~w;
	}
	for (uint64_t i = 0; i < to_size; i += 4) {
		uint32_t w;
		memcpy(&w, (const uint8_t *)(uintptr_t)to + i, 4);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return sum;
}
