/*
 * cli.h — the bpfvm command's subcommands and the conventions they share:
 * exit status 0 = success, 1 = the work failed (a test failed, a program faulted),
 * 2 = bad usage or bad input; errors go to stderr as "bpfvm: ..."; -j prints JSON.
 */
#ifndef BPFVM_CLI_H
#define BPFVM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "bpfvm/bpfvm.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv);
int cmd_asm(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_conformance(int argc, char **argv);

/* Engine names: "interp", "switch" (interpreter with switch dispatch), "jit". */
int parse_engine(const char *name, enum bpfvm_engine *engine);
const char *engine_name(enum bpfvm_engine engine);
/* Prints "bpfvm: <sub>: <msg>" plus a hint to --help, returns EXIT_USAGE. */
int usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s as a JSON string literal. */
void json_string(FILE *f, const char *s);

#endif
