/*
 * csum.c — bpf_csum_diff(from, from_size, to, to_size, seed): the 32-bit one's
 * complement sum (as the kernel's csum_partial) of the negated words of from and
 * the words of to, added to seed. Sizes must be multiples of 4 and together at most
 * 512 bytes, else -EINVAL. Programs fold the result to 16 bits (csum_fold) to
 * update an IP or TCP checksum incrementally.
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
	while (sum >> 32)
		sum = (sum & 0xffffffffu) + (sum >> 32);
	return sum;
}
