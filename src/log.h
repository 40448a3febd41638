/*
 * log.h — the library's only way to say anything: one line to the embedder's
 * callback (bpfvm_set_log). Never prints, never exits.
 */
#ifndef BPFVM_LOG_H
#define BPFVM_LOG_H

#include "bpfvm/bpfvm.h"

#if defined(__GNUC__)
#define BPFVM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BPFVM_PRINTF(a, b)
#endif

void vm_log(enum bpfvm_log_level level, const char *fmt, ...) BPFVM_PRINTF(2, 3);
/* Logs at WARN and returns err (a negative errno): return vm_err(-EINVAL, "..."). */
int vm_err(int err, const char *fmt, ...) BPFVM_PRINTF(2, 3);

#endif
