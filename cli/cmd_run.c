/*
 * cmd_run.c — `bpfvm run`: load a program (bytecode, assembly, or a conformance
 * .data test), run it in checked mode on the chosen engine, print r0 and, with
 * --repeat, the mean time per run. A .data file is judged against its
 * expectation and the exit status says whether it passed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conformance.h"
#include "input.h"
#include "util.h"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm run PROG [--mem HEX | --mem-file FILE] [--interp | --jit]\n"
		"                 [--repeat N] [--budget N] [-j]\n\n"
		"Runs PROG in checked mode and prints r0. PROG is raw bytecode (8-byte slots;\n"
		"*.bin, *.raw or any binary file), text assembly (conformance or pseudo-C\n"
		"syntax), or a conformance test (*.data: its memory and helpers are used and the\n"
		"exit status says whether the result matches). r1 points to the memory, r2 is its\n"
		"length.\n\n"
		"  --mem HEX        memory bytes, e.g. \"aa bb 01 02\"\n"
		"  --mem-file FILE  memory from a file\n"
		"  --jit            the x86-64 JIT (the default where it exists)\n"
		"  --interp         the interpreter (computed-goto dispatch)\n"
		"  --engine NAME    jit, interp, switch (interpreter with switch dispatch)\n"
		"  --repeat N       run N times and print the mean time per run\n"
		"  --budget N       stop after N instructions (default %llu; 0 = no limit)\n"
		"  -j, --json       print JSON\n", CLI_DEFAULT_BUDGET);
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "mem-file", required_argument, NULL, 'f' },
		{ "interp", no_argument, NULL, 'i' },
		{ "jit", no_argument, NULL, 'J' },
		{ "engine", required_argument, NULL, 'e' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum bpfvm_engine engine = BPFVM_ENGINE_DEFAULT;
	const char *mem_hex = NULL, *mem_file = NULL;
	uint64_t repeat = 1, budget = CLI_DEFAULT_BUDGET;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mem_hex = optarg; break;
		case 'f': mem_file = optarg; break;
		case 'i': engine = BPFVM_ENGINE_INTERP; break;
		case 'J': engine = BPFVM_ENGINE_JIT; break;
		case 'e':
			if (parse_engine(optarg, &engine) < 0)
				return usage_error("run", "unknown engine '%s' (interp, switch, jit)", optarg);
			break;
		case 'r':
			if (parse_u64(optarg, &repeat) < 0 || repeat == 0 || repeat > UINT32_MAX)
				return usage_error("run", "--repeat needs a count from 1 to %u, not '%s'",
						   UINT32_MAX, optarg);
			break;
		case 'b':
			if (parse_u64(optarg, &budget) < 0)
				return usage_error("run", "--budget needs a number, not '%s'", optarg);
			break;
		case 'j': json = true; break;
		case 'h': help(stdout); return 0;
		default: return usage_error("run", "bad option");
		}
	}
	if (optind != argc - 1)
		return usage_error("run", optind >= argc ? "missing PROG" : "too many arguments");
	if (mem_hex && mem_file)
		return usage_error("run", "--mem and --mem-file exclude each other");

	const char *path = argv[optind];
	bpfvm_set_trace(trace_print, json ? stderr : NULL);
	struct input in;
	if (input_load(path, &in) < 0)
		return EXIT_USAGE;

	int status = EXIT_FAIL;
	uint8_t *mem = NULL;
	size_t mem_len = 0;
	if (mem_hex) {
		size_t bad;
		if (parse_hex_bytes(mem_hex, &mem, &mem_len, &bad) < 0) {
			fprintf(stderr, "bpfvm run: --mem: bad hex at character %zu of '%s'\n", bad,
				mem_hex);
			status = EXIT_USAGE;
			goto out;
		}
	} else if (mem_file) {
		char *buf = read_file(mem_file, &mem_len);
		if (!buf) {
			fprintf(stderr, "bpfvm run: %s: %s\n", mem_file, strerror(errno));
			status = EXIT_USAGE;
			goto out;
		}
		mem = (uint8_t *)buf;
	} else if (in.kind == INPUT_DATA && in.df.mem_len) {
		mem = malloc(in.df.mem_len);
		if (mem)
			memcpy(mem, in.df.mem, in.df.mem_len);
		mem_len = in.df.mem_len;
	}

	bool is_test = in.kind == INPUT_DATA;
	struct bpfvm_prog_opts popts = { .sz = sizeof(popts), .name = path };
	if (is_test) {
		popts.helpers = conf_helpers;
		popts.helper_cnt = conf_helper_cnt;
	}
	struct conf_result res = { 0 };
	struct bpfvm_run_opts ropts = { .sz = sizeof(ropts), .mem = mem, .mem_len = mem_len,
					.engine = engine, .budget = budget,
					.repeat = (uint32_t)repeat };
	struct bpfvm_prog *prog = bpfvm_prog__new(in.insns, in.cnt, &popts);
	int err = prog ? bpfvm_prog__run_opts(prog, &ropts) : -errno;
	char fault[256] = "";
	if (prog && err && ropts.fault.kind != BPFVM_FAULT_NONE)
		bpfvm_fault__str(&ropts.fault, fault, sizeof(fault));
	if (!prog)
		res.stage = CONF_LOAD_ERROR;
	else
		res.stage = err ? CONF_RUN_ERROR : CONF_OK;
	res.retval = ropts.retval;
	if (is_test)
		conf_judge(&res, &in.df);
	status = is_test ? (res.pass ? 0 : EXIT_FAIL) : !prog ? EXIT_USAGE : err ? EXIT_FAIL : 0;

	if (json) {
		printf("{\"program\":");
		json_string(stdout, path);
		printf(",\"kind\":\"%s\",\"insns\":%zu,\"engine\":\"%s\"", input_kind_name(in.kind),
		       in.cnt, engine_name(err ? engine : ropts.engine_used));
		if (!err)
			printf(",\"retval\":%" PRIu64 ",\"retval_hex\":\"0x%" PRIx64 "\"",
			       ropts.retval, ropts.retval);
		if (prog && !err)
			printf(",\"repeat\":%" PRIu64 ",\"duration_ns\":%" PRIu64
			       ",\"insns_executed\":%" PRIu64, repeat, ropts.duration_ns,
			       ropts.insn_executed);
		if (err) {
			printf(",\"error\":");
			json_string(stdout, fault[0] ? fault : prog ? strerror(-err) : "rejected");
		}
		if (is_test) {
			printf(",\"test\":{\"pass\":%s", res.pass ? "true" : "false");
			if (in.df.has_result)
				printf(",\"expected\":%" PRIu64, in.df.result);
			printf("}");
		}
		printf("}\n");
	} else {
		if (!err) {
			printf("r0 = 0x%" PRIx64 " (%" PRId64 ")\n", ropts.retval, (int64_t)ropts.retval);
			printf("engine: %s\n", engine_name(ropts.engine_used));
			if (repeat > 1)
				printf("time: %" PRIu64 " ns/run (mean of %" PRIu64 " runs, %s)\n",
				       ropts.duration_ns, repeat, engine_name(ropts.engine_used));
		}
		if (err == -ETIME)
			run_budget_hint("run", budget);
		if (is_test)
			printf("%s: %s%s%s\n", res.pass ? "PASS" : "FAIL", path,
			       res.pass || !res.message[0] ? "" : ": ", res.pass ? "" : res.message);
	}
	bpfvm_prog__free(prog);
out:
	free(mem);
	input_free(&in);
	return status;
}
