/*
 * cli.h — the bpfvm command's subcommands and the conventions they share:
 * exit status 0 = success, 1 = the work failed (a test failed, a program faulted),
 * 2 = bad usage or bad input; errors go to stderr as "bpfvm: ..."; -j prints JSON.
 */
#ifndef BPFVM_CLI_H
#define BPFVM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpfvm/bpfvm.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Instructions a run may execute unless --budget says otherwise. */
#define CLI_DEFAULT_BUDGET 1000000000ull

int cmd_run(int argc, char **argv);
int cmd_asm(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_conformance(int argc, char **argv);
int cmd_prog(int argc, char **argv);
int cmd_map(int argc, char **argv);

/* Engine names: "interp", "switch" (interpreter with switch dispatch), "jit". */
int parse_engine(const char *name, enum bpfvm_engine *engine);
const char *engine_name(enum bpfvm_engine engine);
/* Prints "bpfvm: <sub>: <msg>" plus a hint to --help, returns EXIT_USAGE. */
int usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s as a JSON string literal. */
void json_string(FILE *f, const char *s);
/* A bpfvm_trace_fn printing "bpf_trace_printk: LINE" as the kernel's trace_pipe
 * tags it: to stdout, or to stderr when user is not NULL (stdout is JSON). */
void trace_print(const char *line, size_t len, void *user);
/* After a run stopped by its budget (-ETIME): how to raise it. */
void run_budget_hint(const char *sub, uint64_t budget);

#endif
