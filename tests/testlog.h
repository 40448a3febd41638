/*
 * testlog.h — captures the library's log lines so tests can assert error messages.
 * test_log_capture() installs the capture; test_log_last() is the most recent line.
 */
#ifndef BPFVM_TESTLOG_H
#define BPFVM_TESTLOG_H

#include <stdio.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

static char t_log_last[1024];

static void t_log_fn(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN)
		snprintf(t_log_last, sizeof(t_log_last), "%s", msg);
}
static inline void test_log_capture(void) { bpfvm_set_log(t_log_fn, NULL); }
static inline void test_log_clear(void) { t_log_last[0] = 0; }
static inline const char *test_log_last(void) { return t_log_last; }

#endif
