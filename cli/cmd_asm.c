/*
 * cmd_asm.c — `bpfvm asm` (text → bytecode) and `bpfvm disasm` (any program →
 * text in the kernel verifier log's syntax or the conformance syntax).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "util.h"

static void asm_help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm asm IN [-o OUT] [--hex]\n\n"
		"Assembles IN (conformance or pseudo-C syntax, mixed freely; '-' = stdin) into\n"
		"raw bytecode, 8 bytes per instruction slot. Without -o, or with --hex, prints\n"
		"the instructions as hex, one slot a line (the .data '-- raw' form).\n\n"
		"  -o, --output OUT  write bytecode to OUT\n"
		"  --hex             write hex text instead of binary\n");
}

int cmd_asm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL;
	bool hex = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'x': hex = true; break;
		case 'h': asm_help(stdout); return 0;
		default: return usage_error("asm", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("asm", optind >= argc ? "missing IN" : "too many arguments");

	const char *path = argv[optind];
	char msg[512];
	char *text = read_text_file(path, NULL, msg, sizeof(msg));
	if (!text) {
		fprintf(stderr, "bpfvm asm: %s\n", msg);
		return EXIT_USAGE;
	}
	struct bpfvm_asm_opts opts = { .sz = sizeof(opts), .filename = path };
	struct bpf_insn *insns = NULL;
	size_t cnt = 0;
	int err = bpfvm_asm(text, &opts, &insns, &cnt);
	free(text);
	if (err < 0)
		return EXIT_USAGE;	/* the library printed file:line:col: reason */

	int status = 0;
	FILE *f = out ? fopen(out, hex ? "w" : "wb") : stdout;
	if (!f) {
		fprintf(stderr, "bpfvm asm: %s: %s\n", out, strerror(errno));
		free(insns);
		return EXIT_FAIL;
	}
	if (hex || !out) {
		for (size_t i = 0; i < cnt; i++) {
			const uint8_t *b = (const uint8_t *)&insns[i];
			fprintf(f, "%02x %02x %02x %02x %02x %02x %02x %02x\n", b[0], b[1], b[2], b[3],
				b[4], b[5], b[6], b[7]);
		}
	} else if (fwrite(insns, sizeof(*insns), cnt, f) != cnt) {
		status = EXIT_FAIL;
	}
	if (out && fclose(f) != 0)
		status = EXIT_FAIL;
	if (status)
		fprintf(stderr, "bpfvm asm: writing %s: %s\n", out, strerror(errno));
	free(insns);
	return status;
}

static void disasm_help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm disasm IN [--syntax kernel|conformance] [--opcodes] [--no-index]\n\n"
		"Prints the program IN (bytecode, assembly or a .data test) one instruction a\n"
		"line, in the kernel verifier log's syntax (default) or the conformance suite's.\n\n"
		"  --syntax S   kernel or conformance\n"
		"  --opcodes    show each instruction's opcode byte, as the verifier log does\n"
		"  --no-index   omit the instruction index\n");
}

int cmd_disasm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "syntax", required_argument, NULL, 's' },
		{ "opcodes", no_argument, NULL, 'O' },
		{ "no-index", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bpfvm_disasm_opts opts = { .sz = sizeof(opts), .syntax = BPFVM_SYNTAX_KERNEL };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strcmp(optarg, "kernel") == 0)
				opts.syntax = BPFVM_SYNTAX_KERNEL;
			else if (strcmp(optarg, "conformance") == 0)
				opts.syntax = BPFVM_SYNTAX_CONFORMANCE;
			else
				return usage_error("disasm", "unknown syntax '%s' (kernel, conformance)",
						   optarg);
			break;
		case 'O': opts.opcodes = true; break;
		case 'N': opts.no_index = true; break;
		case 'h': disasm_help(stdout); return 0;
		default: return usage_error("disasm", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("disasm", optind >= argc ? "missing IN" : "too many arguments");

	struct input in;
	if (input_load(argv[optind], &in) < 0)
		return EXIT_USAGE;
	char *text = bpfvm_disasm(in.insns, in.cnt, &opts);
	int status = 0;
	if (!text) {
		fprintf(stderr, "bpfvm disasm: %s\n", strerror(errno));
		status = EXIT_FAIL;
	} else {
		fputs(text, stdout);
		if (*text && text[strlen(text) - 1] != '\n')
			fputc('\n', stdout);
	}
	free(text);
	input_free(&in);
	return status;
}
