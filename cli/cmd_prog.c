/*
 * cmd_prog.c — `bpfvm prog show | dump | run`: the programs of an eBPF object
 * file, as bpftool shows, dumps and test-runs loaded programs. `show` lists each
 * program (type, section, size, native code size, the maps its lddw instructions
 * refer to) and the object's maps; `dump` prints the instructions as the
 * verifier log does, with maps and helpers by name (an object that does not
 * load is still dumped); `run` is in prog_run.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "objutil.h"
#include "prog_run.h"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm prog show OBJ [-j | -p] [--btf FILE]\n"
		"       bpfvm prog dump OBJ [PROG] [--opcodes] [-j | -p] [--btf FILE]\n"
		"       bpfvm prog run OBJ [PROG] [OPTIONS]\n\n"
		"The programs of an eBPF object file (clang -O2 -g -target bpf).\n"
		"  show   each program's type, section, instructions, native code size, maps\n"
		"         and license, then the object's maps\n"
		"  dump   the instructions as the verifier log prints them (all programs, or\n"
		"         PROG), maps and helpers by name; --opcodes shows each opcode byte\n"
		"  run    a test run, as bpftool prog run ('bpfvm prog run --help')\n\n"
		"  -j, --json    print JSON\n"
		"  -p, --pretty  print indented JSON (implies -j)\n"
		"  --btf FILE    BTF to resolve CO-RE relocations against\n");
}

static void run_help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm prog run OBJ [PROG] [OPTIONS]\n\n"
		"Loads OBJ and test-runs PROG (which may be left out when OBJ has one program)\n"
		"the way the kernel's BPF_PROG_TEST_RUN does: the packet and context are built\n"
		"from --data-in / --ctx-in as the program type builds them. Prints\n"
		"\"Return value: N, duration: Mns\", the output packet and context if asked,\n"
		"ring-buffer records (\"ringbuf MAP: hex bytes\") and bpf_trace_printk lines as\n"
		"they arrive, and the maps given with --dump.\n\n");
	run_args_help(f);
}

/* Options of show and dump. 0, 1 after --help, or EXIT_USAGE. */
static int parse_opts(const char *sub, int argc, char **argv, bool *json, bool *pretty,
		      const char **btf, bool *opcodes)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "btf", required_argument, NULL, 'B' },
		{ "opcodes", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jph", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': *pretty = true; /* fall through */
		case 'j': *json = true; break;
		case 'B': *btf = optarg; break;
		case 'O':
			if (!opcodes)
				return usage_error(sub, "bad option '--opcodes'");
			*opcodes = true;
			break;
		case 'h': help(stdout); return 1;
		default: return usage_error(sub, "bad option");
		}
	}
	return 0;
}

static bool is_lddw(const struct bpf_insn *in)
{
	return in->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static bool is_map_src(int src)
{
	return src == BPF_PSEUDO_MAP_FD || src == BPF_PSEUDO_MAP_VALUE ||
	       src == BPF_PSEUDO_MAP_IDX || src == BPF_PSEUDO_MAP_IDX_VALUE;
}

/* The map instruction idx (a lddw) refers to, or NULL. */
static struct bpfvm_map *insn_map(const struct bpfvm_prog *prog, size_t idx)
{
	const struct bpf_insn *in = bpfvm_prog__insns(prog);
	if (!in || idx + 1 >= bpfvm_prog__insn_cnt(prog) || !is_lddw(&in[idx]) ||
	    !is_map_src(in[idx].src_reg))
		return NULL;
	return bpfvm_prog__map(prog, (uint32_t)in[idx].imm);
}

/* The maps prog refers to, in the object's order, without repeats. */
static void print_prog_maps(const struct bpfvm_prog *prog, struct json *j)
{
	size_t n = bpfvm_prog__map_cnt(prog), cnt = bpfvm_prog__insn_cnt(prog), shown = 0;
	bool *used = calloc(n ? n : 1, 1);
	const struct bpf_insn *in = bpfvm_prog__insns(prog);
	for (size_t i = 0; used && in && i + 1 < cnt; i++)
		if (is_lddw(&in[i]) && is_map_src(in[i].src_reg) && (uint32_t)in[i].imm < n)
			used[(uint32_t)in[i].imm] = true;
	if (j) {
		json_key(j, "maps");
		json_open(j, '[');
	}
	for (size_t k = 0; used && k < n; k++) {
		struct bpfvm_map *m = bpfvm_prog__map(prog, k);
		if (!used[k] || !m)
			continue;
		if (j)
			json_str(j, bpfvm_map__name(m));
		else
			printf("%s%s", shown++ ? "," : "  maps ", bpfvm_map__name(m));
	}
	if (j)
		json_close(j, ']');
	free(used);
}

static void show_prog(const struct bpfvm_object *obj, const struct bpfvm_prog *prog,
		      struct json *j)
{
	const char *type = prog_type_str(prog);
	const char *license = bpfvm_object__license(obj);
	const void *code;
	size_t jited = 0;
	bool has_code = bpfvm_prog__loaded(prog) &&
			bpfvm_prog__jited(prog, &code, &jited, NULL) == 0;
	if (j) {
		json_open(j, '{');
		json_kstr(j, "name", bpfvm_prog__name(prog));
		json_kstr(j, "type", type);
		json_kstr(j, "section", bpfvm_prog__section_name(prog));
		json_kstr(j, "license", license ? license : "");
		json_ku64(j, "insns", bpfvm_prog__insn_cnt(prog));
		json_ku64(j, "bytes_xlated", bpfvm_prog__insn_cnt(prog) * sizeof(struct bpf_insn));
		json_key(j, "loaded");
		json_bool(j, bpfvm_prog__loaded(prog));
		if (has_code)
			json_ku64(j, "bytes_jited", jited);
		print_prog_maps(prog, j);
		json_close(j, '}');
		return;
	}
	printf("prog %s: %s  section %s", bpfvm_prog__name(prog), type,
	       bpfvm_prog__section_name(prog));
	if (license && *license)
		printf("  license %s", license);
	printf("\n\tinsns %zu", bpfvm_prog__insn_cnt(prog));
	if (has_code)
		printf("  jited %zuB", jited);
	else if (!bpfvm_prog__loaded(prog))
		printf("  not loaded");
	print_prog_maps(prog, NULL);
	printf("\n");
}

static int prog_show(int argc, char **argv)
{
	const char *sub = "prog show", *btf = NULL;
	bool json = false, pretty = false;
	int st = parse_opts(sub, argc, argv, &json, &pretty, &btf, NULL);
	if (st)
		return st == 1 ? 0 : st;
	if (optind != argc - 1)
		return usage_error(sub, optind >= argc ? "missing OBJ" : "too many arguments");
	struct bpfvm_object *obj = obj_open(sub, argv[optind], btf);
	if (!obj)
		return EXIT_USAGE;
	obj_try_load(sub, obj, "shown as opened");
	struct json jw, *j = json ? &jw : NULL;
	if (j) {
		const char *license = bpfvm_object__license(obj);
		json_init(j, stdout, pretty);
		json_open(j, '{');
		json_kstr(j, "object", bpfvm_object__name(obj));
		json_kstr(j, "license", license ? license : "");
		json_key(j, "programs");
		json_open(j, '[');
	}
	for (struct bpfvm_prog *p = bpfvm_object__next_program(obj, NULL); p;
	     p = bpfvm_object__next_program(obj, p))
		show_prog(obj, p, j);
	if (j) {
		json_close(j, ']');
		json_key(j, "maps");
		json_open(j, '[');
	}
	for (struct bpfvm_map *m = bpfvm_object__next_map(obj, NULL); m;
	     m = bpfvm_object__next_map(obj, m))
		map_describe(m, j);
	if (j) {
		json_close(j, ']');
		json_close(j, '}');
		json_end(j);
	}
	bpfvm_object__close(obj);
	return 0;
}

/* Instruction idx of prog as one line into buf: the disassembler's, with maps by
 * name. The slots it used (1 or 2), as bpfvm_disasm_insn. */
static int dump_insn(const struct bpfvm_prog *prog, size_t idx, bool opcodes, char *buf,
		     size_t len)
{
	const struct bpf_insn *in = bpfvm_prog__insns(prog);
	size_t cnt = bpfvm_prog__insn_cnt(prog);
	struct bpfvm_map *m = insn_map(prog, idx);
	int pos = opcodes ? snprintf(buf, len, "(%02x) ", in[idx].code) : 0;
	if (m) {
		int src = in[idx].src_reg;
		bool value = src == BPF_PSEUDO_MAP_VALUE || src == BPF_PSEUDO_MAP_IDX_VALUE;
		if (value && in[idx + 1].imm)
			snprintf(buf + pos, len - (size_t)pos, "r%d = map[%s]+%u", in[idx].dst_reg,
				 bpfvm_map__name(m), (uint32_t)in[idx + 1].imm);
		else
			snprintf(buf + pos, len - (size_t)pos, "r%d = map[%s]", in[idx].dst_reg,
				 bpfvm_map__name(m));
		return 2;
	}
	struct bpfvm_disasm_opts o = { .sz = sizeof(o), .syntax = BPFVM_SYNTAX_KERNEL,
				       .opcodes = opcodes, .no_index = true };
	int used = bpfvm_disasm_insn(in, cnt, idx, buf, len, &o);
	return used == 2 ? 2 : 1;
}

/* Marks in starts[] the first instruction of every subprogram (targets of local
 * calls and of callback addresses). */
static void find_subprogs(const struct bpf_insn *in, size_t cnt, bool *starts)
{
	for (size_t i = 0; i < cnt; i++) {
		bool call = in[i].code == (BPF_JMP | BPF_CALL) && in[i].src_reg == BPF_PSEUDO_CALL;
		bool func = is_lddw(&in[i]) && in[i].src_reg == BPF_PSEUDO_FUNC;
		int64_t target = (int64_t)i + 1 + in[i].imm;
		if ((call || func) && target > 0 && (uint64_t)target < cnt)
			starts[target] = true;
	}
}

static void dump_prog(const struct bpfvm_prog *prog, bool opcodes, struct json *j, bool first)
{
	const struct bpf_insn *in = bpfvm_prog__insns(prog);
	size_t cnt = in ? bpfvm_prog__insn_cnt(prog) : 0, sub = 0;
	bool *starts = calloc(cnt ? cnt : 1, 1);
	if (starts && in)
		find_subprogs(in, cnt, starts);
	if (j) {
		json_open(j, '{');
		json_kstr(j, "name", bpfvm_prog__name(prog));
		json_key(j, "insns");
		json_open(j, '[');
	} else {
		printf("%s%s:\n", first ? "" : "\n", bpfvm_prog__name(prog));
	}
	for (size_t i = 0; i < cnt;) {
		char line[512];
		int used = dump_insn(prog, i, opcodes, line, sizeof(line));
		bool subprog = starts && starts[i];
		sub += subprog;
		if (j) {
			json_open(j, '{');
			json_ku64(j, "idx", i);
			json_kstr(j, "text", line);
			if (subprog)
				json_ku64(j, "subprog", sub);
			json_close(j, '}');
		} else {
			if (subprog)
				printf("; subprogram %zu\n", sub);
			printf("%4zu: %s\n", i, line);
		}
		i += (size_t)used;
	}
	if (j) {
		json_close(j, ']');
		json_close(j, '}');
	}
	free(starts);
}

static int prog_dump(int argc, char **argv)
{
	const char *sub = "prog dump", *btf = NULL;
	bool json = false, pretty = false, opcodes = false;
	int st = parse_opts(sub, argc, argv, &json, &pretty, &btf, &opcodes);
	if (st)
		return st == 1 ? 0 : st;
	if (optind >= argc || argc - optind > 2)
		return usage_error(sub, optind >= argc ? "missing OBJ" : "too many arguments");
	struct bpfvm_object *obj = obj_open(sub, argv[optind], btf);
	if (!obj)
		return EXIT_USAGE;
	/* Loaded, the programs know their maps by name; a program that is rejected
	 * can still be listed (maps then by index). */
	obj_try_load(sub, obj, "maps are shown by index");
	struct bpfvm_prog *one = NULL;
	if (argc - optind == 2 && !(one = obj_prog(sub, obj, argv[optind + 1]))) {
		bpfvm_object__close(obj);
		return EXIT_USAGE;
	}
	struct json jw, *j = json ? &jw : NULL;
	if (j) {
		json_init(j, stdout, pretty);
		json_open(j, '[');
	}
	bool first = true;
	for (struct bpfvm_prog *p = bpfvm_object__next_program(obj, NULL); p;
	     p = bpfvm_object__next_program(obj, p)) {
		if (!one || p == one) {
			dump_prog(p, opcodes, j, first);
			first = false;
		}
	}
	if (j) {
		json_close(j, ']');
		json_end(j);
	}
	bpfvm_object__close(obj);
	return 0;
}

static int prog_run(int argc, char **argv)
{
	const char *sub = "prog run";
	struct run_args a;
	int first;
	int st = run_args_parse(sub, argc, argv, &a, &first, run_help);
	if (st)
		return st == 1 ? 0 : st;
	if (first >= argc || argc - first > 2)
		return usage_error(sub, first >= argc ? "missing OBJ" : "too many arguments");
	struct bpfvm_object *obj = obj_open(sub, argv[first], a.btf);
	if (!obj)
		return EXIT_USAGE;
	struct bpfvm_prog *prog = NULL;
	if (obj_load(sub, obj) == 0)
		prog = obj_prog(sub, obj, argc - first == 2 ? argv[first + 1] : NULL);
	st = prog ? run_exec(sub, obj, prog, &a) : EXIT_USAGE;
	bpfvm_object__close(obj);
	return st;
}

int cmd_prog(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "show") || !strcmp(argv[1], "list"))
		return prog_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return prog_dump(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return prog_run(argc - 1, argv + 1);
	return usage_error("prog", "unknown subcommand '%s' (show, dump, run)", argv[1]);
}
