/*
 * fuzz_asm.c — libFuzzer harness for the assembler and disassembler.
 *
 * Input: text. Whatever assembles must disassemble (in both syntaxes) to text that
 * assembles back to the same bytes; anything else must fail cleanly. A mismatch
 * aborts (a finding), as does any crash or sanitizer report.
 */
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct bpf_insn *insns, size_t cnt, enum bpfvm_syntax syntax)
{
	struct bpfvm_disasm_opts dopts = { .sz = sizeof(dopts), .syntax = syntax };
	char *text = bpfvm_disasm(insns, cnt, &dopts);
	if (!text)
		abort();
	struct bpf_insn *again = NULL;
	size_t n = 0;
	if (bpfvm_asm(text, NULL, &again, &n) < 0 || n != cnt ||
	    memcmp(again, insns, cnt * sizeof(*insns)) != 0)
		abort();
	free(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct bpf_insn *insns = NULL;
	size_t cnt = 0;
	if (bpfvm_asm(text, NULL, &insns, &cnt) == 0) {
		roundtrip(insns, cnt, BPFVM_SYNTAX_KERNEL);
		roundtrip(insns, cnt, BPFVM_SYNTAX_CONFORMANCE);
		free(insns);
	}
	free(text);
	return 0;
}
