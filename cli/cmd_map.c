/*
 * cmd_map.c — `bpfvm map show | dump`: the maps of an eBPF object file, as
 * bpftool shows and dumps maps. Each command line is a fresh process, so to see
 * what a program does to a map, `map dump OBJ MAP run [PROG] [OPTIONS]` first
 * test-runs the program (as `prog run`, whose output it prints) and then dumps
 * the map — the same as `prog run OBJ PROG --dump MAP`.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "objutil.h"
#include "prog_run.h"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm map show OBJ [-j | -p] [--btf FILE]\n"
		"       bpfvm map dump OBJ MAP [-j | -p] [--btf FILE] [run [PROG] [OPTIONS]]\n\n"
		"The maps of an eBPF object file (clang -O2 -g -target bpf).\n"
		"  show   each map's name, type, key and value size, max_entries and flags\n"
		"  dump   MAP's elements: \"key: K  value: V\" lines, formatted from the\n"
		"         object's BTF where it has the types (else hex bytes), per CPU for\n"
		"         per-CPU maps; with -j an array of {\"key\": K, \"value\": V}\n"
		"  run    before the dump, a test run of PROG as 'bpfvm prog run' does it, with\n"
		"         its options and output (with -j: prog run's object, the dump in its\n"
		"         \"maps\")\n\n"
		"  -j, --json    print JSON\n"
		"  -p, --pretty  print indented JSON (implies -j)\n"
		"  --btf FILE    BTF to resolve CO-RE relocations against\n\n"
		"Run options ('bpfvm prog run --help'):\n");
	run_args_help(f);
}

static int map_show(int argc, char **argv)
{
	const char *sub = "map show";
	struct run_args a;
	int first;
	int st = run_args_parse(sub, argc, argv, &a, &first, help);
	if (st)
		return st == 1 ? 0 : st;
	if (a.run_opts)
		return usage_error(sub, "only -j, -p and --btf apply to map show");
	if (first != argc - 1)
		return usage_error(sub, first >= argc ? "missing OBJ" : "too many arguments");
	struct bpfvm_object *obj = obj_open(sub, argv[first], a.btf);
	if (!obj)
		return EXIT_USAGE;
	struct json jw, *j = a.json ? &jw : NULL;
	if (j) {
		json_init(j, stdout, a.pretty);
		json_open(j, '[');
	}
	for (struct bpfvm_map *m = bpfvm_object__next_map(obj, NULL); m;
	     m = bpfvm_object__next_map(obj, m))
		map_describe(m, j);
	if (j) {
		json_close(j, ']');
		json_end(j);
	}
	bpfvm_object__close(obj);
	return 0;
}

static int map_dump_cmd(int argc, char **argv)
{
	const char *sub = "map dump";
	struct run_args a;
	int first;
	int st = run_args_parse(sub, argc, argv, &a, &first, help);
	if (st)
		return st == 1 ? 0 : st;
	int npos = argc - first;
	bool run = npos >= 3 && !strcmp(argv[first + 2], "run");
	if (npos < 2)
		return usage_error(sub, npos ? "missing MAP" : "missing OBJ and MAP");
	if (npos > (run ? 4 : 2))
		return usage_error(sub, "too many arguments%s", run ? "" : " (a run is 'run [PROG]')");
	if (a.run_opts && !run)
		return usage_error(sub, "run options need 'run [PROG]' after MAP");
	if (run && a.dump_cnt)
		return usage_error(sub, "--dump belongs to prog run; map dump prints MAP");
	struct bpfvm_object *obj = obj_open(sub, argv[first], a.btf);
	if (!obj)
		return EXIT_USAGE;
	struct bpfvm_map *map = obj_map(sub, obj, argv[first + 1]);
	if (!map || map_dump_check(sub, map)) {
		st = EXIT_USAGE;
	} else if (run) {
		struct bpfvm_prog *prog = NULL;
		if (obj_load(sub, obj) == 0)
			prog = obj_prog(sub, obj, npos == 4 ? argv[first + 3] : NULL);
		a.dumps[a.dump_cnt++] = argv[first + 1];
		st = prog ? run_exec(sub, obj, prog, &a) : EXIT_USAGE;
	} else {
		/* as a run would start from it: .rodata frozen, PROG_ARRAY slots filled */
		obj_try_load(sub, obj, "the maps are shown as opened");
		struct json jw, *j = a.json ? &jw : NULL;
		if (j)
			json_init(j, stdout, a.pretty);
		st = map_dump(sub, map, j);
		if (j)
			json_end(j);
	}
	bpfvm_object__close(obj);
	return st;
}

int cmd_map(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "show") || !strcmp(argv[1], "list"))
		return map_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return map_dump_cmd(argc - 1, argv + 1);
	return usage_error("map", "unknown subcommand '%s' (show, dump)", argv[1]);
}
