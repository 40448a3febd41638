/*
 * input.h — reads a program for the bpfvm command from a file of any of the forms
 * it accepts: raw bytecode (8-byte slots), text assembly (either syntax), or a
 * conformance .data file (program plus its memory and expectation).
 */
#ifndef BPFVM_CLI_INPUT_H
#define BPFVM_CLI_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "bpfvm/bpfvm.h"
#include "datafile.h"

enum input_kind { INPUT_RAW, INPUT_ASM, INPUT_DATA };

struct input {
	enum input_kind kind;
	struct bpf_insn *insns;
	size_t cnt;
	struct datafile df;	/* INPUT_DATA only */
};

/* Loads path (or "-" for stdin). 0, or -1 after printing an error naming the file
 * (and line, column or byte offset) to stderr. */
int input_load(const char *path, struct input *in);
void input_free(struct input *in);
const char *input_kind_name(enum input_kind kind);

#endif
