/*
 * input.c — see input.h. The kind is decided from the content, not only the name:
 * an ELF object is refused with a pointer to the command that loads objects, a
 * file with NUL bytes or a .bin/.raw name is bytecode, ".data" is a conformance
 * test, anything else is assembly text.
 */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *input_kind_name(enum input_kind kind)
{
	switch (kind) {
	case INPUT_RAW: return "bytecode";
	case INPUT_ASM: return "assembly";
	case INPUT_DATA: return "conformance test";
	}
	return "?";
}

int input_load(const char *path, struct input *in)
{
	size_t len;
	memset(in, 0, sizeof(*in));
	char *buf = read_file(path, &len);
	if (!buf) {
		fprintf(stderr, "bpfvm: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	if (len >= 4 && memcmp(buf, "\x7f" "ELF", 4) == 0) {
		fprintf(stderr, "bpfvm: %s: is an ELF object; raw bytecode, assembly or a .data "
			"file was expected\n", path);
		rc = -1;
	} else if (ends_with(path, ".data")) {
		char err[512];
		in->kind = INPUT_DATA;
		if (datafile_parse_text(buf, path, &in->df, err, sizeof(err)) < 0 ||
		    datafile_program(&in->df, &in->insns, &in->cnt, err, sizeof(err)) < 0) {
			fprintf(stderr, "bpfvm: %s\n", err);
			rc = -1;
		}
	} else if (memchr(buf, 0, len) || ends_with(path, ".bin") || ends_with(path, ".raw")) {
		in->kind = INPUT_RAW;
		if (len % sizeof(struct bpf_insn)) {
			fprintf(stderr, "bpfvm: %s: bytecode size %zu is not a multiple of 8 "
				"(the last instruction, at byte offset %zu, is cut short)\n", path,
				len, len - len % 8);
			rc = -1;
		} else if ((in->cnt = len / sizeof(struct bpf_insn)) &&
			   !(in->insns = malloc(len))) {
			fprintf(stderr, "bpfvm: out of memory\n");
			rc = -1;
		} else if (in->cnt) {
			memcpy(in->insns, buf, len);
		}
	} else {
		in->kind = INPUT_ASM;
		struct bpfvm_asm_opts opts = { .sz = sizeof(opts), .filename = path };
		if (bpfvm_asm(buf, &opts, &in->insns, &in->cnt) < 0)
			rc = -1;	/* the library's message names file:line:col */
	}
	free(buf);
	if (rc)
		input_free(in);
	return rc;
}

void input_free(struct input *in)
{
	free(in->insns);
	datafile_free(&in->df);
	memset(in, 0, sizeof(*in));
}
