/*
 * log.c — the embedder's log callback. The library reports every failure here, as
 * one line, and nowhere else.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static bpfvm_log_fn log_fn;
static void *log_user;

bpfvm_log_fn bpfvm_set_log(bpfvm_log_fn fn, void *user)
{
	bpfvm_log_fn prev = log_fn;
	log_fn = fn;
	log_user = user;
	return prev;
}

void bpfvm_get_log(bpfvm_log_fn *fn, void **user)
{
	*fn = log_fn;
	*user = log_user;
}

static void vlog(enum bpfvm_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	if (!log_fn)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_fn(level, buf, log_user);
}

void vm_log(enum bpfvm_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

int vm_err(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(BPFVM_LOG_WARN, fmt, ap);
	va_end(ap);
	return err;
}

const char *bpfvm_version(void)
{
	return "0.1.0";
}
