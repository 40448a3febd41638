/*
 * conformance.h — runs one conformance .data file on an engine and judges it, for
 * `bpfvm conformance`, `bpfvm run FILE.data` and the tests.
 *
 * Verdicts: a file with "-- error" passes when the program is rejected (at parse,
 * assembly or load) or faults; a file with "-- result" passes when the program runs
 * to exactly that r0. The conformance helper set (helper 5 = "unwind": returns r1,
 * and ends the program with r0 = 0 when r1 is 0) is bound for these programs only.
 */
#ifndef BPFVM_CONFORMANCE_H
#define BPFVM_CONFORMANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

enum conf_stage {
	CONF_OK,		/* ran to completion */
	CONF_BAD_FILE,		/* the .data file itself is malformed */
	CONF_ASM_ERROR,		/* assembling failed */
	CONF_LOAD_ERROR,	/* bpfvm_prog__new rejected it */
	CONF_RUN_ERROR,		/* the run stopped with a fault */
};

struct conf_result {
	bool pass;
	enum conf_stage stage;
	uint64_t retval;	/* CONF_OK: r0 */
	bool has_expected;	/* the file names a result */
	uint64_t expected;
	char message[512];	/* why it failed / what rejected it */
	char expected_error[256];
};

/* Helpers the conformance programs call (helper 5 "unwind"). */
extern const struct bpfvm_helper conf_helpers[];
extern const size_t conf_helper_cnt;

struct datafile;
/* Fills res->pass (and res->message on failure) from res->stage and res->retval,
 * judged against df's expectation. Returns res->pass. */
bool conf_judge(struct conf_result *res, const struct datafile *df);

/* Runs the file at path on engine and fills *res. Returns res->pass. */
bool conf_run_file(const char *path, enum bpfvm_engine engine, struct conf_result *res);

#endif
