/*
 * util.c — see util.h.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *trim_left(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

char *trim(char *s)
{
	s = trim_left(s);
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

int parse_u64(const char *s, uint64_t *v)
{
	bool neg = false;
	char *end;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!isxdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long x = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		? strtoull(s + 2, &end, 16) : strtoull(s, &end, 10);
	if (errno || *end || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && !s[2]))
		return -1;
	*v = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int parse_hex_bytes(const char *s, uint8_t **out, size_t *len, size_t *bad)
{
	size_t n = 0, cap = strlen(s) / 2 + 1;
	uint8_t *v = malloc(cap);
	if (!v)
		return -1;
	for (size_t i = 0; s[i];) {
		if (isspace((unsigned char)s[i]) || s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
			i += 2;
		int hi = hexval((unsigned char)s[i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0) {
			*bad = hi < 0 ? i : i + 1;
			free(v);
			return -1;
		}
		v[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	*out = v;
	*len = n;
	return 0;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return NULL;
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap) {
			if (ferror(f)) {
				int e = errno ? errno : EIO;
				free(buf);
				buf = NULL;
				errno = e;
			}
			break;
		}
		cap *= 2;
		char *nb = realloc(buf, cap + 1);
		if (!nb)
			free(buf);
		buf = nb;
	}
	if (f != stdin)
		fclose(f);
	if (!buf) {
		if (!errno)
			errno = ENOMEM;
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

char *read_text_file(const char *path, size_t *len, char *err, size_t errlen)
{
	size_t n;
	char *text = read_file(path, &n);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	const char *nul = memchr(text, 0, n);
	if (nul) {
		snprintf(err, errlen, "%s: not a text file (NUL byte at offset %zu)", path,
			 (size_t)(nul - text));
		free(text);
		return NULL;
	}
	if (len)
		*len = n;
	return text;
}

static void capture_fn(enum bpfvm_log_level level, const char *msg, void *user)
{
	struct log_capture *c = user;
	if (level == BPFVM_LOG_WARN)
		snprintf(c->buf, c->len, "%s", msg);
}

void log_capture_begin(struct log_capture *c, char *buf, size_t len)
{
	c->buf = buf;
	c->len = len;
	if (len)
		buf[0] = 0;
	bpfvm_get_log(&c->prev_fn, &c->prev_user);
	bpfvm_set_log(capture_fn, c);
}

void log_capture_end(struct log_capture *c)
{
	bpfvm_set_log(c->prev_fn, c->prev_user);
}
