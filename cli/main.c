/*
 * main.c — the bpfvm command: subcommand dispatch, logging to stderr, and the
 * helpers the subcommands share. It uses only the public header.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "run a program (bytecode, assembly or .data test) and print r0" },
	{ "asm", cmd_asm, "assemble text into bytecode" },
	{ "disasm", cmd_disasm, "disassemble a program" },
	{ "conformance", cmd_conformance, "run conformance .data tests and report" },
	{ "prog", cmd_prog, "show, dump or test-run the programs of an object file" },
	{ "map", cmd_map, "show or dump the maps of an object file (after a run)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: bpfvm COMMAND [ARGS...]\n\n"
		"eBPF in user space: assemble, check and run eBPF programs.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'bpfvm COMMAND --help' describes each command.\n"
		"Options: --version, -v (verbose: library info lines on stderr)\n");
}

static int verbose;

static void log_to_stderr(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN || verbose)
		fprintf(stderr, "bpfvm: %s\n", msg);
}

int parse_engine(const char *name, enum bpfvm_engine *engine)
{
	if (strcmp(name, "interp") == 0)
		*engine = BPFVM_ENGINE_INTERP;
	else if (strcmp(name, "switch") == 0)
		*engine = BPFVM_ENGINE_INTERP_SWITCH;
	else if (strcmp(name, "jit") == 0)
		*engine = BPFVM_ENGINE_JIT;
	else if (strcmp(name, "default") == 0)
		*engine = BPFVM_ENGINE_DEFAULT;
	else
		return -1;
	return 0;
}

const char *engine_name(enum bpfvm_engine engine)
{
	switch (engine) {
	case BPFVM_ENGINE_DEFAULT: return "default";
	case BPFVM_ENGINE_INTERP: return "interp";
	case BPFVM_ENGINE_INTERP_SWITCH: return "switch";
	case BPFVM_ENGINE_JIT: return "jit";
	}
	return "?";
}

int usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "bpfvm %s: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'bpfvm %s --help'.\n", sub);
	return EXIT_USAGE;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void trace_print(const char *line, size_t len, void *user)
{
	fprintf(user ? stderr : stdout, "bpf_trace_printk: %.*s\n", (int)len, line);
}

void run_budget_hint(const char *sub, uint64_t budget)
{
	fprintf(stderr, "bpfvm %s: stopped after %llu instructions; raise the limit with "
		"--budget N (0 = none)\n", sub, (unsigned long long)budget);
}

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = 1;
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("bpfvm %s\n", bpfvm_version());
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "bpfvm: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	bpfvm_set_log(log_to_stderr, NULL);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			return commands[k].fn(argc - i, argv + i);
	fprintf(stderr, "bpfvm: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
