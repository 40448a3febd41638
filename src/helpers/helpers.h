/*
 * helpers.h — the kernel helpers bpfvm provides (kernel.def) and what they share:
 * the check that a pointer a program passed is memory it may use, and one
 * printf engine for bpf_trace_printk, bpf_trace_vprintk and bpf_snprintf.
 *
 * Helpers run on the thread of the program that called them; vm_current_run is
 * that run. They never crash the host: every pointer argument is checked (in
 * checked mode) or read fault-free (probe_read_*), and a bad one gives -EFAULT.
 */
#ifndef BPFVM_HELPERS_H
#define BPFVM_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

#define HELPER(ID, NAME, RET, A1, A2, A3, A4, A5) \
	uint64_t h_##NAME(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
#include "kernel.def"
#undef HELPER

/* The kernel helpers, sorted by id. */
extern const struct bpfvm_helper vm_kernel_helpers[];
extern const size_t vm_kernel_helper_cnt;

/* Whether [addr, addr+len) is memory the running program may read (write:
 * write): its stack or one of its regions. True when no program is running on
 * this thread (the host called the helper itself). */
bool vm_mem_ok(uint64_t addr, uint64_t len, bool write);

/* Fault-free reads of the process's memory (probe.c): len bytes, 0 or -EFAULT;
 * a string of at most size - 1 characters plus NUL into d (size > 0), its length
 * with the NUL, or -EFAULT. A string is read page by page, so one that ends just
 * before an unmapped page is still read. */
int vm_read_nofault(void *dst, uint64_t src, size_t len);
long vm_read_str_nofault(char *d, uint64_t src, uint64_t size);

/* Kernel-style printf: fmt (fmt_size bytes, NUL-terminated within them) with
 * nargs 64-bit arguments. Writes at most outsz bytes including a NUL (outsz may
 * be 0) and returns the length of the full result without the NUL, or -EINVAL
 * for a format the kernel would refuse (unknown conversion, too many or too few
 * arguments, no NUL). %s arguments the program may not read print as "". */
long vm_format(char *out, size_t outsz, const char *fmt, uint32_t fmt_size,
	       const uint64_t *args, uint32_t nargs);

/* Sends text to the trace stream (bpfvm_set_trace), one callback per line. */
void vm_trace_emit(const char *text, size_t len);

#endif
