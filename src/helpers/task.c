/*
 * task.c — helpers about the running thread: bpf_get_current_pid_tgid,
 * bpf_get_current_uid_gid, bpf_get_current_comm, bpf_get_numa_node_id and
 * bpf_get_prandom_u32 (a per-thread xorshift generator, seeded from the kernel's
 * random pool: fast, not for cryptography — as the kernel's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

uint64_t h_get_current_pid_tgid(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	uint64_t tgid = (uint32_t)getpid(), tid = (uint32_t)syscall(SYS_gettid);
	return tgid << 32 | tid;
}

uint64_t h_get_current_uid_gid(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return (uint64_t)(uint32_t)getgid() << 32 | (uint32_t)getuid();
}

/* bpf_get_current_comm(buf, size): the thread's name, NUL-terminated and
 * zero-padded to size (as the kernel's strscpy_pad). */
uint64_t h_get_current_comm(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	char comm[17] = "";
	if (r2 == 0 || !vm_mem_ok(r1, r2, true))
		return (uint64_t)-EFAULT;
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	char *buf = (char *)(uintptr_t)r1;
	size_t n = strnlen(comm, sizeof(comm) - 1);
	if (n > r2 - 1)
		n = r2 - 1;
	memcpy(buf, comm, n);
	memset(buf + n, 0, r2 - n);
	return 0;
}

uint64_t h_get_numa_node_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	unsigned cpu = 0, node = 0;
	if (syscall(SYS_getcpu, &cpu, &node, NULL) != 0)
		return 0;
	return node;
}

uint64_t h_get_prandom_u32(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	static _Thread_local uint64_t state;
	if (!state) {
		if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state))
			state = (uint64_t)time(NULL) ^ (uint64_t)syscall(SYS_gettid) << 32;
		state |= 1;	/* xorshift must not start at 0 */
	}
	/* xorshift64* (Vigna) */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 0x2545f4914f6cdd1dull) >> 32);
}
