/*
 * datafile.h — reads the conformance suite's .data test files
 * (../shared/conformance/README.md): sections "-- asm", "-- raw", "-- mem",
 * "-- result", "-- error"; informational sections are skipped.
 */
#ifndef BPFVM_DATAFILE_H
#define BPFVM_DATAFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

struct datafile {
	char *path;
	char *asm_text;		/* "-- asm" section, NULL if absent */
	int asm_line;		/* line of the file where the asm section starts */
	struct bpf_insn *raw;	/* "-- raw" section, NULL if absent */
	size_t raw_cnt;
	uint8_t *mem;		/* "-- mem" bytes (may be NULL with mem_len 0) */
	size_t mem_len;
	bool has_result;
	uint64_t result;
	bool has_error;		/* "-- error" present: the program must be rejected */
	char *error;		/* its text, trimmed ("" = any error) */
};

/* Parses path into *df (zeroed first). 0, or -1 with a message naming the file and
 * line in err. datafile_free() is safe on a partially filled df. */
int datafile_parse(const char *path, struct datafile *df, char *err, size_t errlen);
/* Same, from text already in memory (path only names it in messages). */
int datafile_parse_text(const char *text, const char *path, struct datafile *df,
			char *err, size_t errlen);
void datafile_free(struct datafile *df);

/* The program of df: the raw section if present, else the assembled asm section.
 * 0 with *insns (free()) and *cnt, or -1 with the assembler's message in err. */
int datafile_program(const struct datafile *df, struct bpf_insn **insns, size_t *cnt,
		     char *err, size_t errlen);

#endif
