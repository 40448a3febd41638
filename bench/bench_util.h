/*
 * bench_util.h — what the benchmark runners share: the library's last warning
 * (to explain an ERROR cell) and a monotonic clock in nanoseconds.
 */
#ifndef BPFVM_BENCH_UTIL_H
#define BPFVM_BENCH_UTIL_H

#include <stdio.h>
#include <time.h>

#include "bpfvm/bpfvm.h"

static char last_log[512];

static void log_fn(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
