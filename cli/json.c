/*
 * json.c — see json.h. Strings are escaped by json_string (main.c), the one
 * escaper the command uses.
 */
#include "json.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

void json_init(struct json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
	j->first[0] = true;
}

static void newline(struct json *j)
{
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("    ", j->f);
}

/* Separator and indentation before a value (or a key) at the current depth. */
static void before(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (j->pretty && j->depth > 0)
		newline(j);
}

void json_open(struct json *j, char bracket)
{
	before(j);
	fputc(bracket, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

void json_close(struct json *j, char bracket)
{
	bool empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (j->pretty && !empty)
		newline(j);
	fputc(bracket, j->f);
}

void json_key(struct json *j, const char *key)
{
	before(j);
	json_string(j->f, key);
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

void json_str(struct json *j, const char *s)
{
	before(j);
	json_string(j->f, s);
}

void json_u64(struct json *j, uint64_t v)
{
	before(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, int64_t v)
{
	before(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, bool v)
{
	before(j);
	fputs(v ? "true" : "false", j->f);
}

void json_bytes(struct json *j, const void *data, size_t len, bool hex)
{
	const uint8_t *b = data;
	before(j);
	fputc('[', j->f);
	for (size_t i = 0; i < len; i++)
		fprintf(j->f, hex ? "%s\"0x%02x\"" : "%s%u", i ? (j->pretty ? ", " : ",") : "",
			(unsigned)b[i]);
	fputc(']', j->f);
}

/* Length of the string literal at s (s[0] == '"'), quotes included. */
static size_t string_len(const char *s)
{
	size_t n = 1;
	while (s[n] && s[n] != '"')
		n += s[n] == '\\' && s[n + 1] ? 2 : 1;
	return s[n] ? n + 1 : n;
}

void json_raw(struct json *j, const char *s)
{
	while (*s) {
		if (isspace((unsigned char)*s) || *s == ',' || *s == ':') {
			s++;	/* separators: the writer places its own */
		} else if (*s == '{' || *s == '[') {
			json_open(j, *s++);
		} else if (*s == '}' || *s == ']') {
			json_close(j, *s++);
		} else if (*s == '"') {
			size_t n = string_len(s);
			const char *after = s + n;
			while (isspace((unsigned char)*after))
				after++;
			before(j);
			fwrite(s, 1, n, j->f);
			if (*after == ':') {	/* it was a key */
				fputs(j->pretty ? ": " : ":", j->f);
				j->after_key = true;
				after++;
			}
			s = after;
		} else {			/* number, true, false, null */
			size_t n = strcspn(s, ",:{}[]\" \t\r\n");
			before(j);
			fwrite(s, 1, n ? n : 1, j->f);
			s += n ? n : 1;
		}
	}
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}
