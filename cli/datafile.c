/*
 * datafile.c — parser for the conformance suite's .data files (format in
 * ../shared/conformance/README.md).
 *
 * The asm section is kept as the whole file's text with every other line blanked,
 * so the assembler's line numbers are the file's own.
 */
#include "datafile.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum section { S_NONE, S_ASM, S_RAW, S_MEM, S_RESULT, S_ERROR, S_SKIP };

static const struct {
	const char *name;
	enum section sec;
} sections[] = {
	{ "asm", S_ASM }, { "raw", S_RAW }, { "mem", S_MEM }, { "result", S_RESULT },
	{ "error", S_ERROR }, { "c", S_SKIP }, { "no register offset", S_SKIP },
};

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", path, line, msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
	return -1;
}

/* Cuts a '#' comment and trailing blanks off line (in place). */
static char *strip(char *line)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = 0;
	return trim(line);
}

static bool has_error_section(const char *text)
{
	for (const char *p = text; (p = strstr(p, "-- error")); p += 8) {
		const char *end = p + 8;
		bool line_start = p == text || p[-1] == '\n';
		while (*end == ' ' || *end == '\t' || *end == '\r')
			end++;
		if (line_start && (*end == '\n' || !*end))
			return true;
	}
	return false;
}

static int append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *v = realloc(*buf, *len + n + 1);
	if (!v)
		return -1;
	memcpy(v + *len, s, n + 1);
	*buf = v;
	*len += n;
	return 0;
}

static int push_byte(struct datafile *df, uint8_t b)
{
	if ((df->mem_len & 63) == 0) {
		uint8_t *v = realloc(df->mem, df->mem_len + 64);
		if (!v)
			return -1;
		df->mem = v;
	}
	df->mem[df->mem_len++] = b;
	return 0;
}

static int push_insn(struct datafile *df, uint64_t v)
{
	struct bpf_insn *n = realloc(df->raw, (df->raw_cnt + 1) * sizeof(*n));
	if (!n)
		return -1;
	df->raw = n;
	memcpy(&df->raw[df->raw_cnt++], &v, sizeof(v));	/* little-endian host */
	return 0;
}

/* A raw line: "0x<16 hex digits>" (one u64) or eight hex bytes. */
static int parse_raw_line(struct datafile *df, char *s, const char *path, int line, char *err,
			  size_t errlen)
{
	uint8_t bytes[8];
	int n = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		uint64_t v;
		if (parse_u64(s, &v) < 0)
			return fail(err, errlen, path, line, "bad raw instruction '%s'", s);
		return push_insn(df, v) ? fail(err, errlen, path, line, "out of memory") : 0;
	}
	for (char *tok = strtok(s, " \t"); tok; tok = strtok(NULL, " \t")) {
		unsigned v;
		char *end;
		if (n == 8 || strlen(tok) != 2 || (v = (unsigned)strtoul(tok, &end, 16), *end))
			return fail(err, errlen, path, line, "bad raw instruction: expected 8 hex "
				    "bytes or one 0x-prefixed 64-bit word");
		bytes[n++] = (uint8_t)v;
	}
	if (n != 8)
		return fail(err, errlen, path, line, "bad raw instruction: %d bytes, expected 8", n);
	uint64_t v;
	memcpy(&v, bytes, 8);
	return push_insn(df, v) ? fail(err, errlen, path, line, "out of memory") : 0;
}

int datafile_parse_text(const char *text, const char *path, struct datafile *df, char *err,
			size_t errlen)
{
	memset(df, 0, sizeof(*df));
	df->path = strdup(path);
	char *copy = strdup(text);
	size_t asm_len = 0, err_len = 0;
	enum section sec = S_NONE;
	bool seen_asm = false, seen_raw = false;
	int line = 0, rc = 0;

	if (!df->path || !copy) {
		free(copy);
		return fail(err, errlen, path, 0, "out of memory");
	}
	for (char *p = copy; p && !rc;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		char *raw = p;
		p = nl ? nl + 1 : NULL;
		line++;
		char *dash = strstr(raw, "--");
		bool header = dash && (dash == raw || trim_left(raw) == dash);
		if (header) {
			const char *name = trim(dash + 2);
			sec = S_NONE;
			for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
				if (strcmp(name, sections[k].name) == 0)
					sec = sections[k].sec;
			if (sec == S_NONE) {
				rc = fail(err, errlen, path, line, "unknown section '-- %s'", name);
				break;
			}
			if (sec == S_ASM) {
				seen_asm = true;
				df->asm_line = line + 1;
			}
			if (sec == S_RAW)
				seen_raw = true;
			if (sec == S_ERROR)
				df->has_error = true;
			if (append(&df->asm_text, &asm_len, "\n"))
				rc = fail(err, errlen, path, line, "out of memory");
			continue;
		}
		/* The asm text keeps every line, blank outside the section. */
		if (append(&df->asm_text, &asm_len, sec == S_ASM ? raw : "") ||
		    append(&df->asm_text, &asm_len, "\n")) {
			rc = fail(err, errlen, path, line, "out of memory");
			break;
		}
		if (sec == S_ASM || sec == S_SKIP)
			continue;
		if (sec == S_ERROR) {
			/* The expected message, verbatim (no comment stripping). */
			char *t = trim(raw);
			if (*t && (append(&df->error, &err_len, err_len ? " " : "") ||
				   append(&df->error, &err_len, t)))
				rc = fail(err, errlen, path, line, "out of memory");
			continue;
		}
		char *s = strip(raw);
		if (!*s)
			continue;
		switch (sec) {
		case S_NONE:
			rc = fail(err, errlen, path, line, "text outside any section: '%s'", s);
			break;
		case S_RAW:
			rc = parse_raw_line(df, s, path, line, err, errlen);
			break;
		case S_MEM:
			for (char *tok = strtok(s, " \t"); tok && !rc; tok = strtok(NULL, " \t")) {
				char *end;
				unsigned long v = strtoul(tok, &end, 16);
				if (*end || strlen(tok) > 2)
					rc = fail(err, errlen, path, line, "bad memory byte '%s'", tok);
				else if (push_byte(df, (uint8_t)v))
					rc = fail(err, errlen, path, line, "out of memory");
			}
			break;
		case S_RESULT:
			if (df->has_result)
				rc = fail(err, errlen, path, line, "more than one result");
			else if (parse_u64(s, &df->result) < 0)
				rc = fail(err, errlen, path, line, "bad result '%s'", s);
			else
				df->has_result = true;
			break;
		default:
			break;
		}
	}
	free(copy);
	if (rc) {
		/* A malformed file that expects an error has what it asked for: say so. */
		df->has_error = df->has_error || has_error_section(text);
		return rc;
	}
	if (!seen_asm) {
		free(df->asm_text);
		df->asm_text = NULL;
	}
	if (df->has_error && !df->error && !(df->error = strdup("")))
		return fail(err, errlen, path, 0, "out of memory");
	if (!seen_asm && !seen_raw)
		return fail(err, errlen, path, 0, "no program: the file has neither '-- asm' "
			    "nor '-- raw'");
	if (!df->has_result && !df->has_error)
		return fail(err, errlen, path, 0, "no expectation: the file has neither "
			    "'-- result' nor '-- error'");
	return 0;
}

int datafile_parse(const char *path, struct datafile *df, char *err, size_t errlen)
{
	char *text = read_text_file(path, NULL, err, errlen);
	if (!text) {
		memset(df, 0, sizeof(*df));
		return -1;
	}
	int rc = datafile_parse_text(text, path, df, err, errlen);
	free(text);
	return rc;
}

void datafile_free(struct datafile *df)
{
	free(df->path);
	free(df->asm_text);
	free(df->raw);
	free(df->mem);
	free(df->error);
	memset(df, 0, sizeof(*df));
}

int datafile_program(const struct datafile *df, struct bpf_insn **insns, size_t *cnt,
		     char *err, size_t errlen)
{
	if (df->raw) {
		*insns = malloc(df->raw_cnt * sizeof(**insns));
		if (!*insns)
			return fail(err, errlen, df->path, 0, "out of memory");
		memcpy(*insns, df->raw, df->raw_cnt * sizeof(**insns));
		*cnt = df->raw_cnt;
		return 0;
	}
	if (!df->asm_text)
		return fail(err, errlen, df->path, 0, "no program");
	struct bpfvm_asm_opts opts = { .sz = sizeof(opts), .filename = df->path };
	char msg[512] = "";
	struct log_capture cap;
	log_capture_begin(&cap, msg, sizeof(msg));
	int rc = bpfvm_asm(df->asm_text, &opts, insns, cnt);
	log_capture_end(&cap);
	if (rc < 0) {
		snprintf(err, errlen, "%s", msg[0] ? msg : strerror(-rc));
		return -1;
	}
	return 0;
}
