/*
 * prog_run.h — a test run of an object's program, as `bpftool prog run`: the
 * options (shared by `bpfvm prog run` and `bpfvm map dump ... run`), and the run
 * itself with everything it prints: output data and context, the return value
 * and mean duration, ring-buffer records and trace lines as they arrive, and the
 * maps asked for afterwards.
 */
#ifndef BPFVM_CLI_PROG_RUN_H
#define BPFVM_CLI_PROG_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpfvm/bpfvm.h"

#define RUN_MAX_DUMPS 64

struct run_args {
	const char *data_in, *ctx_in;		/* files ("-" = stdin) */
	const char *data_hex, *ctx_hex;		/* the same as hex text */
	const char *data_out, *ctx_out;		/* files ("-" = print) */
	uint32_t data_size_out, ctx_size_out;	/* room for them */
	uint32_t repeat;
	uint64_t budget;
	enum bpfvm_engine engine;
	const char *btf;			/* --btf FILE for CO-RE */
	const char *dumps[RUN_MAX_DUMPS];	/* --dump MAP, after the run */
	size_t dump_cnt;
	bool json, pretty;
	bool run_opts;				/* an option only a run uses was given */
};

/* Parses argv[1..argc) (argv[0] is the subcommand's last word) with getopt_long
 * into *a; the words that are not options are left in argv[*first..argc). 0, 1
 * after --help (printed with help), or EXIT_USAGE after a message naming sub. */
int run_args_parse(const char *sub, int argc, char **argv, struct run_args *a, int *first,
		   void (*help)(FILE *));
/* The run options, for --help texts. */
void run_args_help(FILE *f);

/* Runs prog (of obj, loaded) as a says and prints the results. Returns the exit
 * status: 0, EXIT_FAIL (the run failed or faulted), EXIT_USAGE (bad input). */
int run_exec(const char *sub, struct bpfvm_object *obj, struct bpfvm_prog *prog,
	     const struct run_args *a);

#endif
