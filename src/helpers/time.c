/*
 * time.c — clock helpers: bpf_ktime_get_ns (CLOCK_MONOTONIC), bpf_ktime_get_boot_ns
 * (CLOCK_BOOTTIME: counts suspend), bpf_ktime_get_coarse_ns
 * (CLOCK_MONOTONIC_COARSE: cheap, tick resolution) and bpf_jiffies64.
 *
 * Jiffies: user space cannot see the kernel's CONFIG_HZ, so bpfvm's jiffy is one
 * millisecond of CLOCK_MONOTONIC_COARSE (HZ = 1000, the common server setting).
 */
#include <time.h>

#include "helpers.h"

#define BPFVM_HZ 1000u

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t h_ktime_get_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t h_ktime_get_boot_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return clock_ns(CLOCK_BOOTTIME);
}

uint64_t h_ktime_get_coarse_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t h_jiffies64(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return clock_ns(CLOCK_MONOTONIC_COARSE) / (1000000000u / BPFVM_HZ);
}
