/*
 * plugin.c — bpfvm-conformance-plugin: the bpf_conformance suite's plugin protocol,
 * so the suite's own runner can drive bpfvm.
 *
 *   bpfvm-conformance-plugin [MEMORY-HEX] ["--interp | --jit"] [--elf] < PROGRAM-HEX
 *
 * The program arrives on stdin as hex bytes (space-separated); the memory, if any,
 * as the first argument (the upstream runner always passes it, empty when there is
 * none, then its plugin options as one more argument). Prints the final r0 in hex and exits 0, or prints an error
 * to stderr and exits 1. The suite's helpers (helper 5) are bound.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "conformance.h"
#include "util.h"

static void log_to_stderr(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN)
		fprintf(stderr, "%s\n", msg);
}

static int usage(void)
{
	fprintf(stderr, "usage: bpfvm-conformance-plugin [MEMORY-HEX] [--interp | --jit] [--elf]"
		" < PROGRAM-HEX\n");
	return 1;
}

int main(int argc, char **argv)
{
	enum bpfvm_engine engine = BPFVM_ENGINE_DEFAULT;
	const char *mem_hex = NULL;

	bpfvm_set_log(log_to_stderr, NULL);
	/* The upstream runner passes the memory as argv[1] (empty when there is none)
	 * and all plugin options as one argv[2] string (possibly empty), so options
	 * are split on blanks and empty arguments are skipped. */
	for (int i = 1; i < argc; i++) {
		if (i == 1 && strncmp(argv[i], "--", 2) != 0) {
			mem_hex = argv[i];
			continue;
		}
		char *opts = strdup(argv[i]);
		if (!opts)
			return 1;
		for (char *o = strtok(opts, " \t"); o; o = strtok(NULL, " \t")) {
			if (strcmp(o, "--interp") == 0) {
				engine = BPFVM_ENGINE_INTERP;
			} else if (strcmp(o, "--jit") == 0) {
				engine = BPFVM_ENGINE_JIT;
			} else if (strcmp(o, "--elf") == 0) {
				fprintf(stderr, "--elf: ELF input is not supported by this plugin yet\n");
				free(opts);
				return 1;
			} else if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
				usage();
				free(opts);
				return 0;
			} else {
				fprintf(stderr, "unknown option '%s'\n", o);
				free(opts);
				return usage();
			}
		}
		free(opts);
	}

	size_t len, bad;
	char *text = read_file("-", &len);
	if (!text) {
		fprintf(stderr, "reading the program from stdin: %s\n", strerror(errno));
		return 1;
	}
	uint8_t *code = NULL, *mem = NULL;
	size_t code_len = 0, mem_len = 0;
	int status = 1;
	struct bpfvm_prog *prog = NULL;
	if (parse_hex_bytes(text, &code, &code_len, &bad) < 0) {
		fprintf(stderr, "program: bad hex at byte offset %zu of stdin\n", bad);
		goto out;
	}
	if (code_len % sizeof(struct bpf_insn)) {
		fprintf(stderr, "program: %zu bytes is not a multiple of 8\n", code_len);
		goto out;
	}
	if (mem_hex && parse_hex_bytes(mem_hex, &mem, &mem_len, &bad) < 0) {
		fprintf(stderr, "memory: bad hex at character %zu\n", bad);
		goto out;
	}
	struct bpfvm_prog_opts popts = { .sz = sizeof(popts), .name = "plugin",
					 .helpers = conf_helpers, .helper_cnt = conf_helper_cnt };
	prog = bpfvm_prog__new((const struct bpf_insn *)code, code_len / sizeof(struct bpf_insn),
			       &popts);
	if (!prog)
		goto out;	/* the reason was logged */
	struct bpfvm_run_opts ropts = { .sz = sizeof(ropts), .mem = mem, .mem_len = mem_len,
					.engine = engine, .budget = 100000000 };
	if (bpfvm_prog__run_opts(prog, &ropts) == 0) {
		printf("%" PRIx64 "\n", ropts.retval);
		status = 0;
	}
out:
	bpfvm_prog__free(prog);
	free(text);
	free(code);
	free(mem);
	return status;
}
