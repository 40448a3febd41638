/*
 * test_engines.h — the engines the tests compare, with the names they print:
 * every test that walks all engines by name uses this one table.
 */
#ifndef BPFVM_TEST_ENGINES_H
#define BPFVM_TEST_ENGINES_H

#include "bpfvm/bpfvm.h"

static const struct {
	enum bpfvm_engine engine;
	const char *name;
} engines[] = {
	{ BPFVM_ENGINE_INTERP, "interp" },
	{ BPFVM_ENGINE_INTERP_SWITCH, "interp-switch" },
	{ BPFVM_ENGINE_JIT, "jit" },
};
#define N_ENGINES (sizeof(engines) / sizeof(engines[0]))

#endif
