/*
 * format.c — the kernel's printf dialect for bpf_trace_printk, bpf_trace_vprintk
 * and bpf_snprintf (one engine, vm_format), bpf_strncmp, and the trace stream that
 * receives trace_printk output.
 *
 * The dialect (as the kernel's bpf_bprintf_prepare): conversions %d %i %u %x %X
 * with optional l or ll (without l the argument is a 32-bit int), %c, %s, %p and
 * %px (the pointer in hex), %pks / %pus (strings), %pI4 %pi4 %pI6 %pi6 (IP
 * addresses, read from the pointer), %%; flags "-+ 0#" and a width. Anything else,
 * more conversions than arguments, or a format without its NUL is -EINVAL.
 * Strings are read fault-free; one that cannot be read prints as "".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define MAX_STR 512		/* longest %s the kernel prints */
#define TRACE_LINE 1024
#define MAX_VARARGS 12		/* bpf_trace_vprintk, bpf_snprintf */

static bpfvm_trace_fn trace_fn;
static void *trace_user;

void bpfvm_set_trace(bpfvm_trace_fn fn, void *user)
{
	trace_fn = fn;
	trace_user = user;
}

void vm_trace_emit(const char *text, size_t len)
{
	bpfvm_trace_fn fn = trace_fn;
	while (fn && len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;
		fn(text, n, trace_user);
		n += nl != NULL;
		text += n;
		len -= n;
	}
}

struct out {
	char *buf;
	size_t size, len;	/* len counts everything, even past size */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

/* One conversion with its flags and width, through the C library's printf. */
static void put_conv(struct out *o, const char *spec, size_t spec_len, char conv,
		     const char *len_mod, uint64_t arg, const char *str)
{
	char f[32], tmp[MAX_STR + 64];
	snprintf(f, sizeof(f), "%%%.*s%s%c", (int)spec_len, spec, len_mod, conv);
	int n;
	if (str)
		n = snprintf(tmp, sizeof(tmp), f, str);
	else if (!strcmp(len_mod, "ll"))
		n = snprintf(tmp, sizeof(tmp), f, (long long)arg);
	else if (conv == 'c')
		n = snprintf(tmp, sizeof(tmp), f, (int)(unsigned char)arg);
	else
		n = snprintf(tmp, sizeof(tmp), f, (int)(uint32_t)arg);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_ip(struct out *o, uint64_t ptr, bool v6, bool leading_zeros)
{
	uint8_t a[16];
	char tmp[64];
	if (vm_read_nofault(a, ptr, v6 ? 16 : 4) < 0) {
		put(o, "(efault)", 8);
		return;
	}
	int n = 0;
	if (!v6)
		n = snprintf(tmp, sizeof(tmp), leading_zeros ? "%03u.%03u.%03u.%03u" :
			     "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		for (int i = 0; i < 16; i += 2)
			n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, leading_zeros ?
				      "%02x%02x%s" : "%x%02x%s", a[i], a[i + 1], i < 14 ? ":" : "");
	put(o, tmp, (size_t)n);
}

long vm_format(char *outbuf, size_t outsz, const char *fmt, uint32_t fmt_size,
	       const uint64_t *args, uint32_t nargs)
{
	struct out o = { outbuf, outsz, 0 };
	uint32_t used = 0;
	if (!fmt || strnlen(fmt, fmt_size) == fmt_size)
		return -EINVAL;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, p, 1);
			continue;
		}
		if (p[1] == '%') {
			put(&o, "%", 1);
			p++;
			continue;
		}
		const char *spec = ++p;
		while (*p && strchr("-+ 0#", *p))
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
		size_t spec_len = (size_t)(p - spec);
		if (used == nargs)
			return -EINVAL;
		uint64_t arg = args[used++];
		if (*p == 'c') {
			put_conv(&o, spec, spec_len, 'c', "", arg, NULL);
		} else if (*p == 's' || (*p == 'p' && (p[1] == 'k' || p[1] == 'u') && p[2] == 's')) {
			char str[MAX_STR];
			if (vm_read_str_nofault(str, arg, sizeof(str)) < 0)
				str[0] = 0;
			put_conv(&o, spec, spec_len, 's', "", 0, str);
			p += *p == 'p' ? 2 : 0;
		} else if (*p == 'p' && (p[1] == 'I' || p[1] == 'i') && (p[2] == '4' || p[2] == '6')) {
			put_ip(&o, arg, p[2] == '6', p[1] == 'i' && p[2] == '4');
			p += 2;
		} else if (*p == 'p') {
			char hex[24];
			int n = snprintf(hex, sizeof(hex), "0x%" PRIx64, arg);
			put(&o, hex, (size_t)n);
			p += p[1] == 'x' || p[1] == 'K';
		} else {
			const char *len_mod = "";
			if (p[0] == 'l' && p[1] == 'l')
				len_mod = "ll", p += 2;
			else if (p[0] == 'l')
				len_mod = "ll", p += 1;	/* long is 64 bits, as in eBPF */
			if (!*p || !strchr("diuxX", *p))
				return -EINVAL;
			put_conv(&o, spec, spec_len, *p, len_mod, arg, NULL);
		}
	}
	if (outsz)
		outbuf[o.len < outsz ? o.len : outsz - 1] = 0;
	return (long)o.len;
}

/* The format of a helper that takes it with its size (trace_printk, vprintk). */
static bool fmt_ok(uint64_t fmt, uint64_t size)
{
	return size && vm_mem_ok(fmt, size, false);
}

/* Variadic arguments of trace_vprintk and snprintf: data_len bytes of u64s. */
static int varargs(uint64_t data, uint64_t data_len, uint64_t *args)
{
	if (data_len % 8 || data_len > MAX_VARARGS * 8 || (data_len && !data))
		return -EINVAL;
	if (data_len && !vm_mem_ok(data, data_len, false))
		return -EFAULT;
	if (data_len)
		memcpy(args, (const void *)(uintptr_t)data, data_len);
	return (int)(data_len / 8);
}

static uint64_t trace(uint64_t fmt, uint64_t fmt_size, const uint64_t *args, uint32_t nargs)
{
	char line[TRACE_LINE];
	if (!fmt_ok(fmt, fmt_size))
		return (uint64_t)-EFAULT;
	long n = vm_format(line, sizeof(line), (const char *)(uintptr_t)fmt, (uint32_t)fmt_size,
			   args, nargs);
	if (n < 0)
		return (uint64_t)n;
	vm_trace_emit(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	return (uint64_t)n;
}

uint64_t h_trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3)
{
	const uint64_t args[3] = { a1, a2, a3 };
	return trace(fmt, fmt_size, args, 3);
}

uint64_t h_trace_vprintk(uint64_t fmt, uint64_t fmt_size, uint64_t data, uint64_t data_len,
			 uint64_t r5)
{
	(void)r5;
	uint64_t args[MAX_VARARGS];
	int n = varargs(data, data_len, args);
	return n < 0 ? (uint64_t)(int64_t)n : trace(fmt, fmt_size, args, (uint32_t)n);
}

/* Length of a NUL-terminated string the program may read, or -1. */
static long const_str_len(uint64_t s)
{
	for (long i = 0; i < TRACE_LINE; i++) {
		if (!vm_mem_ok(s + (uint64_t)i, 1, false))
			return -1;
		if (((const char *)(uintptr_t)s)[i] == 0)
			return i;
	}
	return -1;
}

/* bpf_snprintf: the length of the whole result including its NUL. */
uint64_t h_snprintf(uint64_t str, uint64_t str_size, uint64_t fmt, uint64_t data,
		    uint64_t data_len)
{
	uint64_t args[MAX_VARARGS];
	long flen = const_str_len(fmt);
	if (flen < 0 || (str_size && !vm_mem_ok(str, str_size, true)))
		return (uint64_t)-EFAULT;
	int n = varargs(data, data_len, args);
	if (n < 0)
		return (uint64_t)(int64_t)n;
	long len = vm_format((char *)(uintptr_t)str, str_size, (const char *)(uintptr_t)fmt,
			     (uint32_t)flen + 1, args, (uint32_t)n);
	return len < 0 ? (uint64_t)len : (uint64_t)len + 1;
}

/* bpf_strncmp(s1, s1_sz, s2): as strncmp, the sign as the kernel's (-1, 0, 1). */
uint64_t h_strncmp(uint64_t s1, uint64_t s1_sz, uint64_t s2, uint64_t r4, uint64_t r5)
{
	(void)r4, (void)r5;
	if (!vm_mem_ok(s1, s1_sz, false) || const_str_len(s2) < 0)
		return (uint64_t)-EFAULT;
	const unsigned char *a = (const void *)(uintptr_t)s1, *b = (const void *)(uintptr_t)s2;
	for (uint64_t i = 0; i < s1_sz; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? (uint64_t)-1 : 1;
		if (!a[i])
			break;
	}
	return 0;
}
