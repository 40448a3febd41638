/*
 * cmd_asm.c — `bpfvm asm` (text → bytecode) and `bpfvm disasm` (any program →
 * text in the kernel verifier log's syntax or the conformance syntax; with
 * --jited, the JIT's native code interleaved with the instruction each range of
 * it came from, decoded by objdump when it is installed).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conformance.h"
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
		"Usage: bpfvm disasm IN [--syntax kernel|conformance] [--opcodes] [--no-index]\n"
		"                     [--jited]\n\n"
		"Prints the program IN (bytecode, assembly or a .data test) one instruction a\n"
		"line, in the kernel verifier log's syntax (default) or the conformance suite's.\n\n"
		"  --syntax S   kernel or conformance\n"
		"  --opcodes    show each instruction's opcode byte, as the verifier log does\n"
		"  --no-index   omit the instruction index\n"
		"  --jited      compile IN with the JIT and show its x86-64 code under each\n"
		"               instruction (decoded with objdump when installed, else hex)\n");
}

/* Native code disassembled by objdump: one line per instruction, by offset. */
struct nat_line {
	size_t off;
	char *text;
};

static size_t objdump_code(const void *code, size_t len, struct nat_line **out)
{
	char path[] = "/tmp/bpfvm-jited-XXXXXX";
	int fd = mkstemp(path);
	size_t n = 0, cap = 0;
	*out = NULL;
	if (fd < 0)
		return 0;
	FILE *f = fdopen(fd, "wb");
	bool ok = f && fwrite(code, 1, len, f) == len;
	if (f)
		fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "objdump -D -b binary -m i386:x86-64 -M intel %s 2>/dev/null",
		 path);
	FILE *p = ok ? popen(cmd, "r") : NULL;
	char line[512];
	while (p && fgets(line, sizeof(line), p)) {
		char *end;
		size_t off = strtoul(line, &end, 16);
		if (end == line || *end != ':' || end[1] != '\t')
			continue;
		line[strcspn(line, "\n")] = 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct nat_line *v = realloc(*out, cap * sizeof(*v));
			if (!v)
				break;
			*out = v;
		}
		(*out)[n].off = off;
		(*out)[n++].text = strdup(end + 2);
	}
	if (p)
		pclose(p);
	unlink(path);
	return n;
}

/* The native code [lo, hi): objdump's lines, else offsets and hex bytes. */
static void print_native(const uint8_t *code, size_t lo, size_t hi, const struct nat_line *nl,
			 size_t nn, size_t *k)
{
	if (nn) {
		while (*k < nn && nl[*k].off < lo)
			(*k)++;
		for (; *k < nn && nl[*k].off < hi; (*k)++)
			printf("    %6zx:  %s\n", nl[*k].off, nl[*k].text ? nl[*k].text : "");
		return;
	}
	for (size_t o = lo; o < hi; o += 16) {
		printf("    %6zx: ", o);
		for (size_t j = o; j < hi && j < o + 16; j++)
			printf(" %02x", code[j]);
		printf("\n");
	}
}

static int disasm_jited(const struct input *in, const struct bpfvm_disasm_opts *opts)
{
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .name = "disasm" };
	if (in->kind == INPUT_DATA) {
		po.helpers = conf_helpers;
		po.helper_cnt = conf_helper_cnt;
	}
	struct bpfvm_prog *prog = bpfvm_prog__new(in->insns, in->cnt, &po);
	if (!prog) {
		fprintf(stderr, "bpfvm disasm: the program cannot be loaded: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	const void *code;
	size_t len;
	const uint32_t *offs;
	int err = bpfvm_prog__jited(prog, &code, &len, &offs);
	if (err) {
		fprintf(stderr, "bpfvm disasm: no native code: %s\n",
			bpfvm_engine_available(BPFVM_ENGINE_JIT) ? strerror(-err) :
			"the JIT needs an x86-64 machine");
		bpfvm_prog__free(prog);
		return EXIT_FAIL;
	}
	struct nat_line *nl;
	size_t nn = objdump_code(code, len, &nl), k = 0;
	printf("; %zu bytes of x86-64 code for %zu instructions%s\n", len, in->cnt,
	       nn ? "" : " (objdump not found: hex)");
	printf("; entry\n");
	print_native(code, 0, offs[0], nl, nn, &k);
	for (size_t i = 0; i < in->cnt;) {
		char line[256];
		int used = bpfvm_disasm_insn(in->insns, in->cnt, i, line, sizeof(line), opts);
		size_t next = i + (used == 2 ? 2 : 1);
		printf("%s\n", line);
		print_native(code, offs[i], offs[next < in->cnt ? next : in->cnt], nl, nn, &k);
		i = next;
	}
	size_t rest = offs[in->cnt];
	const uint32_t *copy;
	int loops = bpfvm_prog__jited_loops(prog, &copy);
	if (loops > 0) {
		/* The fast copies follow the body: each instruction of a copy, in the
		 * order of their code (blocks ascending, loop by loop). */
		printf("; fast copies of %d loop%s (run once a loop's entry check passes: no "
		       "bounds checks for what it covered, no budget tests)\n", loops,
		       loops == 1 ? "" : "s");
		size_t prev = SIZE_MAX;
		for (;;) {
			/* the next (offset, index) after prev's */
			size_t best = SIZE_MAX;
			for (size_t i = 0; i < in->cnt; i++) {
				if (copy[i] == UINT32_MAX || (prev != SIZE_MAX &&
				    (copy[i] < copy[prev] || (copy[i] == copy[prev] && i <= prev))))
					continue;
				if (best == SIZE_MAX || copy[i] < copy[best] ||
				    (copy[i] == copy[best] && i < best))
					best = i;
			}
			if (best == SIZE_MAX)
				break;
			size_t end = copy[in->cnt];
			for (size_t i = 0; i < in->cnt; i++)
				if (copy[i] != UINT32_MAX && (copy[i] > copy[best] ||
				    (copy[i] == copy[best] && i > best)) && copy[i] < end)
					end = copy[i];
			char line[256];
			bpfvm_disasm_insn(in->insns, in->cnt, best, line, sizeof(line), opts);
			printf("%s\n", line);
			print_native(code, copy[best], end, nl, nn, &k);
			prev = best;
		}
		rest = copy[in->cnt];
	}
	printf("; out of line: shared routines, checks' slow paths, budget copies\n");
	print_native(code, rest, len, nl, nn, &k);
	for (size_t j = 0; j < nn; j++)
		free(nl[j].text);
	free(nl);
	bpfvm_prog__free(prog);
	return 0;
}

int cmd_disasm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "syntax", required_argument, NULL, 's' },
		{ "opcodes", no_argument, NULL, 'O' },
		{ "no-index", no_argument, NULL, 'N' },
		{ "jited", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bpfvm_disasm_opts opts = { .sz = sizeof(opts), .syntax = BPFVM_SYNTAX_KERNEL };
	bool jited = false;
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
		case 'J': jited = true; break;
		case 'h': disasm_help(stdout); return 0;
		default: return usage_error("disasm", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("disasm", optind >= argc ? "missing IN" : "too many arguments");

	struct input in;
	if (input_load(argv[optind], &in) < 0)
		return EXIT_USAGE;
	if (jited) {
		int st = disasm_jited(&in, &opts);
		input_free(&in);
		return st;
	}
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
