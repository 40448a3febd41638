/*
 * probe.c — bpf_probe_read_{user,kernel}[_str] and the legacy bpf_probe_read[_str]:
 * copy from any address of the process without ever faulting. In user space the
 * "kernel" variants read the process's own memory too. A bad source address (or a
 * destination the program may not write) gives -EFAULT with the destination
 * zeroed, as the kernel does.
 *
 * Reads go through process_vm_readv(2) on the process itself, which reports an
 * unmapped or unreadable range as EFAULT instead of delivering SIGSEGV.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

/* Copies len bytes from src to dst; 0 or -EFAULT. */
int vm_read_nofault(void *dst, uint64_t src, size_t len)
{
	if (len == 0)
		return 0;
	struct iovec local = { dst, len }, remote = { (void *)(uintptr_t)src, len };
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static uint64_t probe_read(uint64_t dst, uint64_t size, uint64_t src)
{
	if (!vm_mem_ok(dst, size, true))
		return (uint64_t)-EFAULT;
	void *d = (void *)(uintptr_t)dst;
	if (vm_read_nofault(d, src, size) < 0) {
		memset(d, 0, size);
		return (uint64_t)-EFAULT;
	}
	return 0;
}

long vm_read_str_nofault(char *d, uint64_t src, uint64_t size)
{
	if (size == 0)
		return 0;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), done = 0;
	while (done < size - 1) {
		uint64_t at = src + done;
		uint64_t chunk = page - at % page;
		if (chunk > size - 1 - done)
			chunk = size - 1 - done;
		if (vm_read_nofault(d + done, at, chunk) < 0)
			return -EFAULT;
		char *nul = memchr(d + done, 0, chunk);
		if (nul)
			return (long)(nul - d) + 1;
		done += chunk;
	}
	d[size - 1] = 0;
	return (long)size;
}

static uint64_t probe_read_str(uint64_t dst, uint64_t size, uint64_t src)
{
	if (size == 0)
		return 0;
	if (!vm_mem_ok(dst, size, true))
		return (uint64_t)-EFAULT;
	char *d = (char *)(uintptr_t)dst;
	long n = vm_read_str_nofault(d, src, size);
	if (n < 0)
		memset(d, 0, size);
	return (uint64_t)n;
}

#define PROBE(NAME, IMPL) \
	uint64_t h_##NAME(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) \
	{ \
		(void)r4, (void)r5; \
		return IMPL(r1, r2, r3); \
	}
PROBE(probe_read, probe_read)
PROBE(probe_read_user, probe_read)
PROBE(probe_read_kernel, probe_read)
PROBE(probe_read_str, probe_read_str)
PROBE(probe_read_user_str, probe_read_str)
PROBE(probe_read_kernel_str, probe_read_str)
